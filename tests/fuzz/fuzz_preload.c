/* tests/fuzz/fuzz_preload.c — libFuzzer harness for the preload list parser.
 *
 * Any bytes go to preload_list_parse(). A list that parses is merged and formatted; that
 * text must parse again, format to the same bytes (format and parse agree), keep every
 * line within ARMLET_PRELOAD_MAX_LINE with its newline, and hold each file's ranges
 * sorted, apart and ending by INT64_MAX. The bytes also go through preload_layer_order()
 * over a small tree with symlinks (relative, absolute, a loop), so every listed path is
 * looked up through them. A failed parse must say where. ASan/LSan/UBSan report any
 * crash, overflow or leak. Seeds: tests/fuzz/corpus/fuzz_preload/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "armlet_shared.h"
#include "image/preload.h"
#include "image/tree.h"

static struct tree *linked_tree(void)
{
    static const char *const links[][2] = {
        {"/bin/httpd", "busybox"},    {"/usr/lib64", "../lib"}, {"/lib64", "/usr/lib64"},
        {"/loop", "loop"},            {"/up", "../../.."},      {"/bin/sh", "/bin/httpd"},
        {"/deep", "deep/deep/deep"},
    };
    struct err e;
    struct tree *t = tree_new();
    if (!t || tree_add_data(t, "/bin/busybox", "B", 1, 0755, 0, 0, &e) < 0 ||
        tree_add_data(t, "/lib/ld.so", "L", 1, 0755, 0, 0, &e) < 0 ||
        tree_add_data(t, "/www/index.html", "W", 1, 0644, 0, 0, &e) < 0)
        abort();
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (tree_add_symlink(t, links[i][0], links[i][1], 0, 0, &e) < 0)
            abort();
    return t;
}

static void check_list(const struct preload_list *l)
{
    for (size_t i = 0; i < l->nfiles; i++) {
        const struct preload_file *f = &l->files[i];
        if (f->path[0] != '/' || (f->whole && f->nranges))
            abort();
        for (size_t j = 0; j < f->nranges; j++) {
            const struct preload_range *r = &f->ranges[j];
            if (r->len == 0 || r->off > (uint64_t)INT64_MAX - r->len)
                abort();
            if (j && r->off <= f->ranges[j - 1].off + f->ranges[j - 1].len)
                abort();   /* merge left two ranges that overlap or touch */
        }
        if (i && !strcmp(l->files[i - 1].path, f->path))
            abort();   /* neighbours of one path: their text would read back as one entry */
        if (!f->whole && !f->nranges)
            abort();   /* an emptied entry would read back as "the whole file" */
        for (size_t k = 0; k < i; k++) {
            const struct preload_file *g = &l->files[k];
            if (strcmp(g->path, f->path))
                continue;
            if (g->whole || f->whole)
                abort();   /* a file listed whole has one entry */
            for (size_t a = 0; a < f->nranges; a++)
                for (size_t b = 0; b < g->nranges; b++)
                    if (f->ranges[a].off < g->ranges[b].off + g->ranges[b].len &&
                        g->ranges[b].off < f->ranges[a].off + f->ranges[a].len)
                        abort();   /* read twice */
        }
    }
}

static void check_lines(const char *text, size_t len)
{
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        if (!nl || (size_t)(nl - text - i) + 1 > ARMLET_PRELOAD_MAX_LINE)
            abort();
        i = (size_t)(nl - text) + 1;
    }
}

/* The write order holds every node of the tree exactly once. */
static void check_order(struct tree *t)
{
    const struct tree_node **sorted, **ordered;
    size_t ns, n;
    struct err e;
    if (tree_sorted(t, &sorted, &ns, &e) < 0 || tree_ordered(t, &ordered, &n, &e) < 0 ||
        n != ns)
        abort();
    for (size_t i = 0; i < n; i++) {
        size_t seen = 0;
        for (size_t j = 0; j < n; j++)
            seen += ordered[j] == sorted[i];
        if (seen != 1)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tree *t;
    struct preload_list l = {0}, back = {0};
    struct err e;
    char *text = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    memset(&e, 0, sizeof e);
    if (preload_list_parse("fuzz.preload", (const char *)data, size, &l, &e) < 0) {
        if (strncmp(e.msg, "fuzz.preload:", 13) != 0)
            abort();   /* an error must name the list and line */
        preload_list_free(&l);
        return 0;
    }
    if (preload_list_merge(&l, &e) < 0)
        abort();
    check_list(&l);
    if (preload_list_format(&l, &text, &len, &e) < 0)
        abort();
    check_lines(text, len);
    if (preload_list_parse("formatted", text, len, &back, &e) < 0)
        abort();   /* the builder wrote a list it cannot read */
    if (preload_list_merge(&back, &e) < 0)
        abort();
    if (back.nfiles != l.nfiles || preload_list_bytes(&back) != preload_list_bytes(&l) ||
        preload_list_format(&back, &again, &len2, &e) < 0 || len2 != len ||
        memcmp(again, text, len) != 0)
        abort();   /* format and parse disagree */
    if (!t)
        t = linked_tree();
    if (preload_layer_order(t, text, len, &e) < 0)
        abort();
    check_order(t);
    free(text);
    free(again);
    preload_list_free(&l);
    preload_list_free(&back);
    return 0;
}
