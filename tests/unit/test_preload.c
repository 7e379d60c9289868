/* tests/unit/test_preload.c — preload lists (builder/image/preload.c): add, merge, format and
 * parse agree with each other and with the init's reading of the format (absolute paths,
 * OFFSET:LENGTH decimals, lines of at most 4096 bytes with the newline); errors name
 * the list's file, line and column; paths are looked up in the image's tree through its
 * symlinks, for the entrypoint list and for the layer order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "armlet_shared.h"
#include "image/preload.h"
#include "recipe/recipe.h"
#include "image/tree.h"
#include "unit.h"

/* The list l as text (NULL on error). Caller frees. */
static char *format(const struct preload_list *l)
{
    struct err e = {0};
    char *text = NULL;
    size_t len = 0;
    CHECK(preload_list_format(l, &text, &len, &e) == 0);
    CHECK(text && strlen(text) == len);
    return text;
}

/* Parse text as "x.preload"; returns the rc, e gets the error. */
static int parse(const char *text, size_t len, struct preload_list *l, struct err *e)
{
    memset(e, 0, sizeof *e);
    return preload_list_parse("x.preload", text, len, l, e);
}

/* text parsed, merged and formatted again (NULL if it did not parse). Caller frees. */
static char *reformat(const char *text, size_t len)
{
    struct preload_list l = {0};
    struct err e;
    char *out = NULL;
    if (parse(text, len, &l, &e) == 0) {
        CHECK(preload_list_merge(&l, &e) == 0);
        out = format(&l);
    } else {
        fprintf(stderr, "parse: %s\n", e.msg);
    }
    preload_list_free(&l);
    return out;
}

static void test_merge_sorts_and_joins_ranges_format_and_parse_round_trip(void)
{
    struct preload_list l = {0};
    struct err e = {0};
    CHECK(preload_list_add(&l, "/app", 8192, 4096, &e) == 0);
    CHECK(preload_list_add(&l, "/app", 0, 4096, &e) == 0);
    CHECK(preload_list_add(&l, "/etc/app.conf", 0, 0, &e) == 0);
    CHECK(preload_list_add(&l, "/app", 4096, 100, &e) == 0);    /* touches 0:4096 */
    CHECK(preload_list_add(&l, "/app", 20000, 10, &e) == 0);
    CHECK(preload_list_add(&l, "/app", 20002, 3, &e) == 0);     /* inside 20000:10 */
    CHECK(preload_list_add(&l, "/lib/x.so", 100, 50, &e) == 0);
    CHECK(preload_list_add(&l, "/lib/x.so", 0, 0, &e) == 0);    /* whole: absorbs ranges */
    CHECK(preload_list_add(&l, "/lib/x.so", 5, 5, &e) == 0);
    CHECK(preload_list_merge(&l, &e) == 0);
    CHECK(preload_list_bytes(&l) == 4196 + 4096 + 10);
    char *text = format(&l);
    /* entries in the order added (/app again after /etc/app.conf), ranges in offset order */
    CHECK_STR(text, "/app 0:4096 8192:4096\n/etc/app.conf\n/app 4096:100 20000:10\n/lib/x.so\n");
    char *again = reformat(text, strlen(text));
    CHECK_STR(again, text);
    free(again);
    free(text);
    preload_list_free(&l);
    CHECK(l.files == NULL && l.nfiles == 0);
}

static void test_comments_blank_lines_tabs_crlf_and_repeated_paths(void)
{
    const char *in = "# recorded by armlet profile\n"
                     "\n"
                     "   \t\n"
                     "  /a 0:10\r\n"
                     "\t# an indented comment\n"
                     "/b\n"
                     "/a\t20:5   10:10";             /* no newline at the end */
    char *out = reformat(in, strlen(in));
    CHECK_STR(out, "/a 0:10\n/b\n/a 10:15\n");   /* /a again after /b, without 0:10 */
    free(out);
    /* an empty list is a list with no files */
    out = reformat("", 0);
    CHECK_STR(out, "");
    free(out);
}

/* A recording in first-touch order lists a file more than once: each entry keeps its
 * place, reads only what no earlier entry of the file reads, and one listed whole is read
 * whole where it first appears. */
static void test_repeated_paths_keep_their_place_and_read_nothing_twice(void)
{
    const char *in = "/app 0:8192 65536:4096\n"
                     "/lib/libc.so 0:4096\n"
                     "/app 4096:8192 131072:4096 60000:10000\n"   /* overlaps the first /app */
                     "/etc/x 0:1\n"
                     "/app 0:4096\n"                              /* read already: dropped */
                     "/etc/x\n"                                   /* whole, at /etc/x's first */
                     "/lib/libc.so 8192:4096\n"
                     "/lib/libc.so 4096:4096\n";                  /* the same entry: joined */
    char *out = reformat(in, strlen(in));
    CHECK_STR(out, "/app 0:8192 65536:4096\n"
                   "/lib/libc.so 0:4096\n"
                   "/app 8192:4096 60000:5536 69632:368 131072:4096\n"
                   "/etc/x\n"
                   "/lib/libc.so 4096:8192\n");
    free(out);
    /* the entry between two of one file emptied: they join, as their text would */
    out = reformat("/a 0:10\n/b 0:5\n/b 0:5\n/a 20:5\n/b 0:1\n/a 30:5\n", 45);
    CHECK_STR(out, "/a 0:10\n/b 0:5\n/a 20:5 30:5\n");
    free(out);
}

static void test_many_ranges_continue_on_lines_within_the_limit(void)
{
    struct preload_list l = {0};
    struct err e = {0};
    char path[2049];
    /* the longest path allowed, and 500 ranges with 10-digit offsets */
    path[0] = '/';
    memset(path + 1, 'p', sizeof path - 2);
    path[sizeof path - 1] = '\0';
    for (uint64_t i = 0; i < 500; i++)
        CHECK(preload_list_add(&l, path, 1000000000ull + i * 8192, 4096, &e) == 0);
    CHECK(preload_list_add(&l, "/next", 0, 1, &e) == 0);
    CHECK(preload_list_merge(&l, &e) == 0);
    char *text = format(&l);
    size_t lines = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        CHECK(nl != NULL);
        if (!nl)
            break;
        CHECK((size_t)(nl - p) + 1 <= ARMLET_PRELOAD_MAX_LINE);
        CHECK(strncmp(p, path, strlen(path)) == 0 || strncmp(p, "/next ", 6) == 0);
        lines++;
        p = nl + 1;
    }
    CHECK(lines > 2);
    struct preload_list back = {0};
    CHECK(parse(text, strlen(text), &back, &e) == 0);
    CHECK(back.nfiles == 2);
    CHECK(back.nfiles == 2 && back.files[0].nranges == 500 && back.files[1].nranges == 1);
    CHECK(preload_list_bytes(&back) == 500 * 4096 + 1);
    preload_list_free(&back);
    free(text);
    preload_list_free(&l);
}

static void test_malformed_lines_name_file_line_and_column(void)
{
    static const struct { const char *text, *want; } cases[] = {
        {"/a 0:1\n/b 12:\n", "x.preload:2:4: expected OFFSET:LENGTH"},
        {"/a 1:0\n", "x.preload:1:4: expected OFFSET:LENGTH (decimal bytes, length > 0), got \"1:0\""},
        {"/a 0x10:5\n", "x.preload:1:4:"},
        {"/a -1:5\n", "x.preload:1:4:"},
        {"/a 1:2:3\n", "x.preload:1:4:"},
        {"/a b\n", "x.preload:1:4: expected OFFSET:LENGTH"},
        {"/a 0:1 :7\n", "x.preload:1:8:"},
        {"/a 99999999999999999999:1\n", "x.preload:1:4:"},          /* 20 digits */
        {"/a 9223372036854775807:1\n", "x.preload:1:4: range \"9223372036854775807:1\" ends beyond"},
        {"/a 1:9223372036854775807\n", "ends beyond 9223372036854775807"},
        {"# c\n\nrel/path 0:1\n", "x.preload:3: path \"rel/path\" is not absolute"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct preload_list l = {0};
        struct err e;
        CHECK(parse(cases[i].text, strlen(cases[i].text), &l, &e) < 0);
        if (!strstr(e.msg, cases[i].want))
            fprintf(stderr, "case %zu: \"%s\" not in \"%s\"\n", i, cases[i].want, e.msg);
        CHECK(strstr(e.msg, cases[i].want) != NULL);
        preload_list_free(&l);
    }
    /* the largest range the init reads: its end is INT64_MAX */
    struct preload_list l = {0};
    struct err e;
    CHECK(parse("/a 9223372036854775806:1\n", 25, &l, &e) == 0);
    preload_list_free(&l);
    /* a NUL byte */
    CHECK(parse("/a\0b 0:1\n", 9, &l, &e) < 0);
    CHECK(strstr(e.msg, "x.preload:1: NUL byte") != NULL);
    preload_list_free(&l);
}

/* The init reads lines of up to 4096 bytes with their newline: 4095 characters and a
 * newline pass, one more does not, with or without a newline. */
static void test_line_length_limit_is_the_inits(void)
{
    size_t max = ARMLET_PRELOAD_MAX_LINE;
    char *buf = malloc(max + 2);
    struct preload_list l = {0};
    struct err e;
    memset(buf, ' ', max + 2);
    memcpy(buf, "/x 0:1", 6);
    buf[max - 1] = '\n';                       /* 4095 bytes and '\n' */
    CHECK(parse(buf, max, &l, &e) == 0);
    CHECK(l.nfiles == 1);
    preload_list_free(&l);
    buf[max - 1] = ' ';
    buf[max] = '\n';                           /* 4096 bytes and '\n' */
    CHECK(parse(buf, max + 1, &l, &e) < 0);
    CHECK(strstr(e.msg, "x.preload:1: line longer than 4096 bytes") != NULL);
    preload_list_free(&l);
    CHECK(parse(buf, max, &l, &e) < 0);        /* 4096 bytes, no newline */
    preload_list_free(&l);
    free(buf);
}

static void test_add_refuses_relative_paths_spaces_long_paths_and_overflowing_ranges(void)
{
    struct preload_list l = {0};
    struct err e = {0};
    CHECK(preload_list_add(&l, "app", 0, 1, &e) < 0 && strstr(e.msg, "\"app\"") != NULL);
    CHECK(preload_list_add(&l, "/my app", 0, 1, &e) < 0);
    CHECK(preload_list_add(&l, "/a\tb", 0, 0, &e) < 0);
    char path[2051];
    path[0] = '/';
    memset(path + 1, 'p', sizeof path - 2);
    path[sizeof path - 1] = '\0';              /* 2050 bytes: more than 4096 / 2 */
    CHECK(preload_list_add(&l, path, 0, 1, &e) < 0);
    CHECK(preload_list_add(&l, "/a", UINT64_MAX - 1, 1, &e) < 0 && strstr(e.msg, "beyond"));
    CHECK(preload_list_add(&l, "/a", 1, UINT64_MAX, &e) < 0);
    CHECK(preload_list_add(&l, "/a", (uint64_t)INT64_MAX - 5, 5, &e) == 0);
    CHECK(l.nfiles == 1);
    preload_list_free(&l);
}

/* A tree like an image's: a program behind a symlink, a loader behind an absolute and
 * a relative link, a link loop. */
static struct tree *linked_tree(const char *program)
{
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_file(t, "/bin/busybox", program, 0755, 0, 0, &e) == 0);
    CHECK(tree_add_symlink(t, "/bin/httpd", "busybox", 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/lib/ld.so", "LD", 2, 0755, 0, 0, &e) == 0);
    CHECK(tree_add_symlink(t, "/usr/lib64", "../lib", 0, 0, &e) == 0);
    CHECK(tree_add_symlink(t, "/lib64", "/usr/lib64", 0, 0, &e) == 0);
    CHECK(tree_add_symlink(t, "/loop", "loop", 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/www/index.html", "hi", 2, 0644, 0, 0, &e) == 0);
    return t;
}

static void test_layer_order_follows_the_trees_symlinks_and_skips_other_layers_files(void)
{
    struct err e = {0};
    struct tree *t = linked_tree("/proc/self/exe");
    const char *list = "/bin/httpd 0:10\n"
                       "/lib64/ld.so\n"         /* /usr/lib64 -> ../lib: /lib/ld.so */
                       "/loop\n"                /* never resolves */
                       "/etc/passwd\n"          /* a file of the base layer */
                       "/www/index.html\n"
                       "/bin/busybox 20:10\n";  /* already placed through /bin/httpd */
    CHECK(preload_layer_order(t, list, strlen(list), &e) == 0);
    const struct tree_node **nodes;
    size_t n;
    CHECK(tree_ordered(t, &nodes, &n, &e) == 0);
    const char *want[] = {"bin", "bin/busybox", "lib", "lib/ld.so", "www", "www/index.html",
                          "bin/httpd", "lib64", "loop", "usr", "usr/lib64"};
    CHECK(n == sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n && i < sizeof want / sizeof want[0]; i++)
        CHECK_STR(nodes[i]->path, want[i]);
    /* a malformed list is an error, not a silent order */
    CHECK(preload_layer_order(t, "/a 0:\n", 6, &e) < 0);
    CHECK(strstr(e.msg, "preload list:1:4") != NULL);
    tree_free(t);
}

static struct recipe *recipe_with_entrypoint(const char *ep)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "name x\nplatforms linux/amd64\nentrypoint [\"%s\"]\n", ep);
    struct recipe *r = NULL;
    struct err e = {0};
    CHECK(recipe_parse_buffer("/tmp/app.recipe", buf, (size_t)n, &r, &e) == 0);
    return r;
}

static void test_entrypoint_behind_a_symlink_lists_the_file_it_names(void)
{
    struct err e = {0};
    struct tree *t = linked_tree("/proc/self/exe");
    struct recipe *r = recipe_with_entrypoint("/bin/httpd");
    char *text = NULL;
    size_t len = 0;
    CHECK(r && preload_for_build(r, NULL, NULL, t, "entrypoint", &text, &len, &e) == 0);
    /* the same as listing this (ELF) program's segments under the file's own path */
    struct preload_list l = {0};
    CHECK(preload_entrypoint(&l, "/bin/busybox", "/proc/self/exe", &e) == 0);
    CHECK(preload_list_merge(&l, &e) == 0);
    CHECK(l.nfiles == 1 && l.files[0].nranges > 0);
    CHECK(preload_list_split(&l, PRELOAD_CHUNK_BYTES, &e) == 0);
    char *want = format(&l);
    CHECK_STR(text, want);
    CHECK(text && strncmp(text, "/bin/busybox 0:", 15) == 0);
    free(want);
    free(text);
    preload_list_free(&l);
    /* none: no list */
    text = (char *)"x";
    CHECK(preload_for_build(r, NULL, NULL, t, "none", &text, &len, &e) == 0 && text == NULL);
    recipe_free(r);
    /* a program that is not ELF is listed whole; one that is not in the tree gives none */
    r = recipe_with_entrypoint("/www/index.html");
    CHECK(r && preload_for_build(r, NULL, NULL, t, "entrypoint", &text, &len, &e) == 0);
    CHECK_STR(text, "/www/index.html\n");
    free(text);
    recipe_free(r);
    r = recipe_with_entrypoint("/loop");
    CHECK(r && preload_for_build(r, NULL, NULL, t, "entrypoint", &text, &len, &e) == 0 && text == NULL);
    recipe_free(r);
    tree_free(t);
}

static void test_a_list_file_is_checked_and_errors_name_it(void)
{
    struct err e = {0};
    struct tree *t = linked_tree("/proc/self/exe");
    struct recipe *r = recipe_with_entrypoint("/bin/httpd");
    char dir[64], path[96];
    CHECK(unit_tmpdir(dir, sizeof dir, "test_preload") != NULL);
    snprintf(path, sizeof path, "%s/bad.preload", dir);
    unit_write_text(path, "/bin/httpd 0:4096\n/x 5\n");
    char *text = NULL;
    size_t len = 0;
    CHECK(r && preload_for_build(r, NULL, NULL, t, path, &text, &len, &e) < 0);
    CHECK(strstr(e.msg, "bad.preload:2:4: expected OFFSET:LENGTH") != NULL);
    CHECK(strstr(e.msg, "init preload=") != NULL);
    unit_write_text(path, "/bin/httpd 4096:10 0:4096\n");
    CHECK(preload_for_build(r, NULL, NULL, t, path, &text, &len, &e) == 0);
    CHECK_STR(text, "/bin/httpd 0:4106\n");   /* kept as listed, merged */
    free(text);
    remove(path);
    remove(dir);
    recipe_free(r);
    tree_free(t);
}

/* Ranges longer than the chunk become chunks, in order, covering the same bytes; a file
 * of the tree listed whole gets its size as ranges (a file of another layer stays whole). */
static void test_build_splits_long_ranges_and_whole_files_into_chunks(void)
{
    struct err e = {0};
    struct preload_list l = {0};
    CHECK(preload_list_add(&l, "/a", 10, 300, &e) == 0);
    CHECK(preload_list_add(&l, "/a", 1000, 100, &e) == 0);
    CHECK(preload_list_add(&l, "/b", 0, 0, &e) == 0);
    CHECK(preload_list_split(&l, 128, &e) == 0);
    char *text = format(&l);
    CHECK_STR(text, "/a 10:128 138:128 266:44 1000:100\n/b\n");
    free(text);
    preload_list_free(&l);

    char dir[64], big[96], list[96];
    CHECK(unit_tmpdir(dir, sizeof dir, "test_preload") != NULL);
    snprintf(big, sizeof big, "%s/big", dir);
    snprintf(list, sizeof list, "%s/big.preload", dir);
    FILE *f = fopen(big, "w");
    CHECK(f && ftruncate(fileno(f), 3 * PRELOAD_CHUNK_BYTES + 5) == 0);
    fclose(f);
    struct tree *t = tree_new();
    CHECK(t && tree_add_file(t, "/data/big", big, 0644, 0, 0, &e) == 0);
    struct recipe *r = recipe_with_entrypoint("/data/big");
    unit_write_text(list, "/data/big\n/etc/passwd\n/data/big 0:1\n");
    size_t len = 0;
    text = NULL;
    CHECK(r && preload_for_build(r, NULL, NULL, t, list, &text, &len, &e) == 0);
    CHECK_STR(text, "/data/big 0:131072 131072:131072 262144:131072 393216:5\n/etc/passwd\n");
    free(text);
    remove(big);
    remove(list);
    remove(dir);
    recipe_free(r);
    tree_free(t);
}

int main(void)
{
    RUN(test_build_splits_long_ranges_and_whole_files_into_chunks);
    RUN(test_merge_sorts_and_joins_ranges_format_and_parse_round_trip);
    RUN(test_comments_blank_lines_tabs_crlf_and_repeated_paths);
    RUN(test_repeated_paths_keep_their_place_and_read_nothing_twice);
    RUN(test_many_ranges_continue_on_lines_within_the_limit);
    RUN(test_malformed_lines_name_file_line_and_column);
    RUN(test_line_length_limit_is_the_inits);
    RUN(test_add_refuses_relative_paths_spaces_long_paths_and_overflowing_ranges);
    RUN(test_layer_order_follows_the_trees_symlinks_and_skips_other_layers_files);
    RUN(test_entrypoint_behind_a_symlink_lists_the_file_it_names);
    RUN(test_a_list_file_is_checked_and_errors_name_it);
    return unit_done();
}
