/* tests/unit/test_tree.c — the in-memory tree: replacement, parents, refusals, archives,
 * host folders and the --rootfs writer. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/tree.h"
#include "unit.h"

static char tmp_root[256];

/* A path under the test's temp folder; valid until 16 more calls. */
static const char *tmp_path(const char *name)
{
    static char buf[16][512];
    static int k;
    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_root, name);
    return buf[k];
}

/* A tar.gz at path with entries given as (type, name, content-or-target) triples. */
struct ent { int type; const char *name; const char *data; };
static void make_archive(const char *path, const struct ent *ents, size_t n, int zip)
{
    struct archive *a = archive_write_new();
    if (zip) {
        archive_write_set_format_zip(a);
    } else {
        archive_write_set_format_pax_restricted(a);
        archive_write_add_filter_gzip(a);
    }
    archive_write_open_filename(a, path);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, ents[i].name);
        archive_entry_set_uid(e, 7);
        archive_entry_set_gid(e, 8);
        if (ents[i].type == 'd') {
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0711);
        } else if (ents[i].type == 'l') {
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_perm(e, 0777);
            archive_entry_set_symlink(e, ents[i].data);
        } else if (ents[i].type == 'h') {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0640);
            archive_entry_set_hardlink(e, ents[i].data);
        } else {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0640);
            archive_entry_set_size(e, (la_int64_t)strlen(ents[i].data));
        }
        archive_write_header(a, e);
        if (ents[i].type == 'f')
            archive_write_data(a, ents[i].data, strlen(ents[i].data));
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static void test_later_add_replaces_earlier_at_same_path(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_data(t, "/etc/motd", "one", 3, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "etc/motd", "second", 6, 0600, 5, 6, &e) == 0);
    const struct tree_node *nd = tree_get(t, "/etc/motd");
    CHECK(nd && nd->size == 6 && memcmp(nd->data, "second", 6) == 0);
    CHECK(nd && nd->mode == 0600 && nd->uid == 5 && nd->gid == 6);
    /* a folder replaced by a file takes its children with it */
    CHECK(tree_add_data(t, "/opt/app/bin/x", "x", 1, 0755, 0, 0, &e) == 0);
    CHECK(tree_add_symlink(t, "/opt/app", "/usr", 0, 0, &e) == 0);
    CHECK(tree_get(t, "/opt/app/bin/x") == NULL);
    CHECK(tree_get(t, "/opt/app/bin") == NULL);
    nd = tree_get(t, "/opt/app");
    CHECK(nd && nd->kind == TREE_SYMLINK);
    CHECK_STR(nd ? nd->target : NULL, "/usr");
    const struct tree_node **v;
    size_t n;
    CHECK(tree_sorted(t, &v, &n, &e) == 0);
    CHECK(n == 4);   /* etc, etc/motd, opt, opt/app */
    tree_free(t);
}

static void test_missing_parents_are_0755_root_and_explicit_dir_wins(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_data(t, "/a/b/c/file", "z", 1, 0644, 1000, 1000, &e) == 0);
    const struct tree_node *nd = tree_get(t, "/a/b");
    CHECK(nd && nd->kind == TREE_DIR && nd->mode == 0755 && nd->uid == 0 && nd->gid == 0);
    CHECK(tree_add_dir(t, "/a/b/", 0750, 65532, 65532, &e) == 0);
    nd = tree_get(t, "a/b");
    CHECK(nd && nd->mode == 0750 && nd->uid == 65532);
    CHECK(tree_get(t, "/a/b/c/file") != NULL);   /* a dir over a dir keeps the children */
    tree_free(t);
}

static void test_paths_normalise_and_dotdot_is_refused(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_data(t, "//usr/./bin//x/", "1", 1, 0755, 0, 0, &e) == 0);
    CHECK(tree_get(t, "usr/bin/x") != NULL);
    CHECK_STR(tree_get(t, "/usr/bin/x")->path, "usr/bin/x");
    CHECK(tree_add_data(t, "/usr/../etc/x", "1", 1, 0644, 0, 0, &e) < 0);
    CHECK(strstr(e.msg, "..") != NULL);
    CHECK(tree_get(t, "/etc/x") == NULL);
    CHECK(tree_add_data(t, "/", "1", 1, 0644, 0, 0, &e) < 0);
    CHECK(tree_add_dir(t, "/x", 010000, 0, 0, &e) < 0);
    tree_free(t);
}

static void test_adding_beneath_a_symlink_or_file_is_refused(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_symlink(t, "/etc", "/tmp/host-etc", 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/etc/passwd", "x", 1, 0644, 0, 0, &e) < 0);
    CHECK(strstr(e.msg, "symlink") != NULL);
    CHECK(tree_add_data(t, "/bin", "x", 1, 0755, 0, 0, &e) == 0);
    CHECK(tree_add_dir(t, "/bin/sub", 0755, 0, 0, &e) < 0);
    CHECK(strstr(e.msg, "not a directory") != NULL);
    tree_free(t);
}

static void test_sorted_is_byte_order_parents_first(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_data(t, "/b/z", "1", 1, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/a-b", "1", 1, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/a/c", "1", 1, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/B", "1", 1, 0644, 0, 0, &e) == 0);
    const struct tree_node **v;
    size_t n;
    CHECK(tree_sorted(t, &v, &n, &e) == 0);
    const char *want[] = {"B", "a", "a-b", "a/c", "b", "b/z"};
    CHECK(n == 6);
    for (size_t i = 0; i < n && i < 6; i++)
        CHECK_STR(v[i]->path, want[i]);
    tree_free(t);
}

/* The image as the layers stack it: one node per path in path order, the app layer's
 * where both layers have the path (the SBOM and the kept preload list's key read this). */
static void test_stack_merges_layers_and_the_app_hides_the_base(void)
{
    struct err e = {0};
    struct tree *base = tree_new(), *app = tree_new();
    CHECK(tree_add_data(base, "/etc/passwd", "root", 4, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_data(base, "/etc/zz", "1", 1, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_data(app, "/etc/passwd", "app", 3, 0600, 0, 0, &e) == 0);
    CHECK(tree_add_data(app, "/app", "1", 1, 0755, 0, 0, &e) == 0);
    CHECK(tree_add_symlink(app, "/etc/zz", "passwd", 0, 0, &e) == 0);
    struct tree_stacked *v = NULL;
    size_t n = 0;
    CHECK(tree_stack(base, app, &v, &n, &e) == 0);
    const char *want[] = {"app", "etc", "etc/passwd", "etc/zz"};
    const int in_base[] = {0, 0, 0, 0};
    CHECK(n == 4);
    for (size_t i = 0; i < n && i < 4; i++) {
        CHECK_STR(v[i].n->path, want[i]);
        CHECK(v[i].in_base == in_base[i]);
    }
    CHECK(n == 4 && v[2].n->mode == 0600 && v[3].n->kind == TREE_SYMLINK);
    free(v);
    /* Only the base has a path: it stays, marked as the base's. */
    CHECK(tree_remove(app, "/etc/zz", &e) == 1);
    CHECK(tree_stack(base, app, &v, &n, &e) == 0);
    CHECK(n == 4 && !strcmp(v[3].n->path, "etc/zz") && v[3].in_base == 1);
    free(v);
    /* No base: the app's nodes alone. */
    CHECK(tree_stack(NULL, app, &v, &n, &e) == 0);
    CHECK(n == 3 && !strcmp(v[0].n->path, "app") && !v[0].in_base);
    free(v);
    tree_free(base);
    tree_free(app);
}

static void test_remove_takes_folder_and_children(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_data(t, "/z/right/UTC", "1", 1, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/z/rightish", "1", 1, 0644, 0, 0, &e) == 0);
    CHECK(tree_remove(t, "/z/right", &e) == 1);
    CHECK(tree_remove(t, "/z/right", &e) == 0);
    CHECK(tree_get(t, "/z/right/UTC") == NULL);
    CHECK(tree_get(t, "/z/rightish") != NULL);
    tree_free(t);
}

static void test_archive_unpacks_with_owners_modes_and_hardlinks(void)
{
    struct err e = {0};
    const struct ent ents[] = {
        {'d', "./bin/", NULL},
        {'f', "./bin/tool", "#!tool\n"},
        {'h', "./bin/tool-alias", "./bin/tool"},
        {'l', "./bin/t", "tool"},
    };
    const char *arch = tmp_path("a.tar.gz");
    make_archive(arch, ents, 4, 0);
    struct tree *t = tree_new();
    CHECK(tree_add_archive(t, "/opt/tool", arch, &e) == 0);
    const struct tree_node *nd = tree_get(t, "/opt/tool/bin");
    CHECK(nd && nd->kind == TREE_DIR && nd->mode == 0711 && nd->uid == 7 && nd->gid == 8);
    nd = tree_get(t, "/opt/tool/bin/tool");
    /* archive entries are spooled to a file (bounded memory), not held in the node */
    CHECK(nd && nd->kind == TREE_FILE && nd->size == 7 && nd->src && !nd->data);
    size_t len = 0;
    unsigned char *got = nd && nd->src ? unit_read_file(nd->src, &len) : NULL;
    CHECK(got && len == 7 && memcmp(got, "#!tool\n", 7) == 0);
    free(got);
    CHECK(nd && nd->mode == 0640);
    nd = tree_get(t, "/opt/tool/bin/tool-alias");
    CHECK(nd && nd->kind == TREE_HARDLINK);
    CHECK_STR(nd ? nd->target : NULL, "opt/tool/bin/tool");
    nd = tree_get(t, "/opt/tool/bin/t");
    CHECK(nd && nd->kind == TREE_SYMLINK);
    CHECK_STR(nd ? nd->target : NULL, "tool");
    tree_free(t);
    /* zip too: every format libarchive reads */
    const char *zip = tmp_path("a.zip");
    make_archive(zip, ents, 2, 1);
    t = tree_new();
    CHECK(tree_add_archive(t, "/z", zip, &e) == 0);
    CHECK(tree_get(t, "/z/bin/tool") != NULL);
    tree_free(t);
}

static void expect_archive_refused(const struct ent *ents, size_t n, const char *name,
                                   const char *needle)
{
    struct err e = {0};
    const char *arch = tmp_path("bad.tar.gz");
    make_archive(arch, ents, n, 0);
    struct tree *t = tree_new();
    int rc = tree_add_archive(t, "/opt/x", arch, &e);
    CHECK(rc < 0);
    if (rc < 0 && !strstr(e.msg, needle))
        fprintf(stderr, "  message for %s: %s\n", name, e.msg);
    CHECK(rc < 0 && strstr(e.msg, needle) != NULL);
    CHECK(tree_get(t, "/etc/passwd") == NULL);
    tree_free(t);
}

static void test_archive_entries_escaping_dest_are_refused(void)
{
    const struct ent dotdot[] = {{'f', "../../etc/passwd", "pwned"}};
    expect_archive_refused(dotdot, 1, "dotdot", "../../etc/passwd");
    const struct ent abs[] = {{'f', "/etc/passwd", "pwned"}};
    expect_archive_refused(abs, 1, "absolute", "/etc/passwd");
    /* symlink then write through it */
    const struct ent via_link[] = {{'l', "escape", "/etc"}, {'f', "escape/passwd", "pwned"}};
    expect_archive_refused(via_link, 2, "symlink", "symlink");
    const struct ent hl_out[] = {{'h', "x", "../../etc/shadow"}};
    expect_archive_refused(hl_out, 1, "hardlink", "..");
}

static void test_whiteout_names_are_refused_everywhere(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    const char *bad[] = {"/etc/.wh.passwd", "/.wh..wh..opq", "/a/.wh.b/c", ".wh."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(tree_add_data(t, bad[i], "1", 1, 0644, 0, 0, &e) < 0);
        CHECK(strstr(e.msg, "is an OCI whiteout name") != NULL);
        CHECK(tree_add_dir(t, bad[i], 0755, 0, 0, &e) < 0);
        CHECK(tree_add_symlink(t, bad[i], "x", 0, 0, &e) < 0);
    }
    /* only a name that starts with ".wh." */
    CHECK(tree_add_data(t, "/etc/x.wh.y", "1", 1, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/etc/.whx", "1", 1, 0644, 0, 0, &e) == 0);
    tree_free(t);
    const struct ent opq[] = {{'d', "etc/", NULL}, {'f', "etc/.wh..wh..opq", ""}};
    expect_archive_refused(opq, 2, "opaque", "entry \"etc/.wh..wh..opq\": path");
    const struct ent wh[] = {{'f', ".wh.passwd", "x"}};
    expect_archive_refused(wh, 1, "whiteout", "\".wh.passwd\" is an OCI whiteout name");
    const struct ent hl[] = {{'f', "a", "x"}, {'h', "b", ".wh.a"}};
    expect_archive_refused(hl, 2, "hardlink", "OCI whiteout");
}

/* Archive entries go through a spool folder under $TMPDIR; tree_free removes it. */
static void test_archive_spool_is_removed_with_the_tree(void)
{
    struct err e = {0};
    const char *spool_tmp = tmp_path("spooltmp");
    mkdir(spool_tmp, 0700);
    char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", spool_tmp, 1);
    const struct ent ents[] = {{'f', "a", "aaaa"}, {'f', "b", "bb"}, {'f', "a", "again"}};
    const char *arch = tmp_path("spool.tar.gz");
    make_archive(arch, ents, 3, 0);
    struct tree *t = tree_new();
    CHECK(tree_add_archive(t, "/x", arch, &e) == 0);
    const struct tree_node *nd = tree_get(t, "/x/a");
    CHECK(nd && nd->size == 5 && nd->src && strncmp(nd->src, spool_tmp, strlen(spool_tmp)) == 0);
    tree_free(t);
    CHECK(rmdir(spool_tmp) == 0);   /* empty again: every spool file and the folder gone */
    if (old)
        setenv("TMPDIR", old, 1);
    else
        unsetenv("TMPDIR");
    free(old);
}

static void test_archive_missing_or_corrupt_names_the_file(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_archive(t, "/x", tmp_path("nope.tar"), &e) < 0);
    CHECK(strstr(e.msg, "nope.tar") != NULL);
    const char *junk = tmp_path("junk.tar.gz");
    unit_write_text(junk, "this is not an archive at all, not even close................");
    CHECK(tree_add_archive(t, "/x", junk, &e) < 0);
    CHECK(strstr(e.msg, "junk.tar.gz") != NULL);
    tree_free(t);
}

static void test_hostdir_keeps_symlinks_modes_and_sets_owner(void)
{
    struct err e = {0};
    const char *d = tmp_path("host");
    mkdir(d, 0755);
    mkdir(tmp_path("host/sub"), 0750);
    unit_write_text(tmp_path("host/sub/f"), "hello");
    chmod(tmp_path("host/sub/f"), 0604);
    symlink("sub/f", tmp_path("host/link"));
    link(tmp_path("host/sub/f"), tmp_path("host/hard"));
    struct tree *t = tree_new();
    CHECK(tree_add_hostdir(t, "/srv", d, 10, 20, &e) == 0);
    const struct tree_node *nd = tree_get(t, "/srv/sub");
    CHECK(nd && nd->kind == TREE_DIR && nd->mode == 0750 && nd->uid == 10 && nd->gid == 20);
    nd = tree_get(t, "/srv/sub/f");
    const struct tree_node *h = tree_get(t, "/srv/hard");
    /* one of the two names holds the content, the other links to it */
    CHECK(nd && h && ((nd->kind == TREE_FILE && h->kind == TREE_HARDLINK) ||
                      (h->kind == TREE_FILE && nd->kind == TREE_HARDLINK)));
    const struct tree_node *f = nd && nd->kind == TREE_FILE ? nd : h;
    CHECK(f && f->mode == 0604 && f->size == 5 && f->src != NULL);
    nd = tree_get(t, "/srv/link");
    CHECK(nd && nd->kind == TREE_SYMLINK);
    CHECK_STR(nd ? nd->target : NULL, "sub/f");
    CHECK(tree_add_hostdir(t, "/srv", tmp_path("missing"), 0, 0, &e) < 0);
    CHECK(strstr(e.msg, "missing") != NULL);
    tree_free(t);
}

static void test_write_dir_exact_modes_owners_mtime_despite_umask(void)
{
    struct err e = {0};
    mode_t old = umask(077);
    struct tree *t = tree_new();
    unit_write_text(tmp_path("src-file"), "content\n");
    CHECK(tree_add_file(t, "/app", tmp_path("src-file"), 04755, 0, 0, &e) == 0);
    CHECK(tree_add_dir(t, "/tmp", 01777, 0, 0, &e) == 0);
    CHECK(tree_add_dir(t, "/home/nonroot", 0700, 65532, 65532, &e) == 0);
    CHECK(tree_add_data(t, "/etc/passwd", "root:x:0:0::/:/x\n", 17, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_symlink(t, "/usr/bin/app", "/app", 0, 0, &e) == 0);
    CHECK(tree_add_dir(t, "/ro", 0500, 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/ro/f", "x", 1, 0400, 0, 0, &e) == 0);
    const char *root = tmp_path("rootfs");
    CHECK(tree_write_dir(t, root, 1234, &e) == 0);
    umask(old);
    struct stat st;
    CHECK(stat(root, &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_mtime == 1234);
    CHECK(stat(tmp_path("rootfs/app"), &st) == 0 && (st.st_mode & 07777) == 04755);
    CHECK(st.st_mtime == 1234 && st.st_size == 8);
    CHECK(stat(tmp_path("rootfs/tmp"), &st) == 0 && (st.st_mode & 07777) == 01777);
    CHECK(st.st_mtime == 1234);
    CHECK(stat(tmp_path("rootfs/home/nonroot"), &st) == 0 && (st.st_mode & 07777) == 0700);
    if (geteuid() == 0)
        CHECK(st.st_uid == 65532 && st.st_gid == 65532);
    CHECK(stat(tmp_path("rootfs/home"), &st) == 0 && (st.st_mode & 07777) == 0755);
    CHECK(st.st_mtime == 1234);
    CHECK(lstat(tmp_path("rootfs/usr/bin/app"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(st.st_mtime == 1234);
    CHECK(stat(tmp_path("rootfs/ro"), &st) == 0 && (st.st_mode & 07777) == 0500);
    CHECK(stat(tmp_path("rootfs/ro/f"), &st) == 0 && (st.st_mode & 07777) == 0400);
    tree_free(t);
}

static void test_write_dir_never_writes_through_a_symlink_on_disk(void)
{
    struct err e = {0};
    const char *root = tmp_path("rootfs2");
    const char *outside = tmp_path("outside");
    mkdir(root, 0755);
    mkdir(outside, 0755);
    /* a leftover symlink where the tree has a folder, and one where it has a file */
    symlink(outside, tmp_path("rootfs2/etc"));
    unit_write_text(tmp_path("outside/victim"), "keep");
    symlink(tmp_path("outside/victim"), tmp_path("rootfs2/victim"));
    struct tree *t = tree_new();
    CHECK(tree_add_data(t, "/etc/passwd", "new", 3, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/victim", "new", 3, 0644, 0, 0, &e) == 0);
    CHECK(tree_write_dir(t, root, 0, &e) == 0);
    struct stat st;
    CHECK(access(tmp_path("outside/passwd"), F_OK) != 0);
    CHECK(lstat(tmp_path("rootfs2/etc"), &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat(tmp_path("rootfs2/etc/passwd"), &st) == 0 && st.st_size == 3);
    CHECK(lstat(tmp_path("rootfs2/victim"), &st) == 0 && S_ISREG(st.st_mode));
    char buf[8] = {0};
    FILE *f = fopen(tmp_path("outside/victim"), "r");
    CHECK(f && fread(buf, 1, sizeof buf - 1, f) == 4);
    if (f)
        fclose(f);
    CHECK_STR(buf, "keep");
    tree_free(t);
}

static void test_write_dir_hardlinks_share_an_inode(void)
{
    struct err e = {0};
    const struct ent ents[] = {{'f', "z-first", "data"}, {'h', "a-link", "z-first"}};
    const char *arch = tmp_path("hl.tar.gz");
    make_archive(arch, ents, 2, 0);
    struct tree *t = tree_new();
    CHECK(tree_add_archive(t, "/", arch, &e) == 0);
    const char *root = tmp_path("rootfs3");
    CHECK(tree_write_dir(t, root, 0, &e) == 0);
    struct stat a, b;
    CHECK(stat(tmp_path("rootfs3/z-first"), &a) == 0 && stat(tmp_path("rootfs3/a-link"), &b) == 0);
    CHECK(a.st_ino == b.st_ino && a.st_nlink == 2);
    tree_free(t);
}

int main(void)
{
    if (!unit_tmpdir(tmp_root, sizeof tmp_root, "test_tree"))
        return 2;
    RUN(test_later_add_replaces_earlier_at_same_path);
    RUN(test_missing_parents_are_0755_root_and_explicit_dir_wins);
    RUN(test_paths_normalise_and_dotdot_is_refused);
    RUN(test_adding_beneath_a_symlink_or_file_is_refused);
    RUN(test_sorted_is_byte_order_parents_first);
    RUN(test_stack_merges_layers_and_the_app_hides_the_base);
    RUN(test_remove_takes_folder_and_children);
    RUN(test_archive_unpacks_with_owners_modes_and_hardlinks);
    RUN(test_archive_entries_escaping_dest_are_refused);
    RUN(test_archive_missing_or_corrupt_names_the_file);
    RUN(test_whiteout_names_are_refused_everywhere);
    RUN(test_archive_spool_is_removed_with_the_tree);
    RUN(test_hostdir_keeps_symlinks_modes_and_sets_owner);
    RUN(test_write_dir_exact_modes_owners_mtime_despite_umask);
    RUN(test_write_dir_never_writes_through_a_symlink_on_disk);
    RUN(test_write_dir_hardlinks_share_an_inode);
    unit_rm_tree(tmp_root);
    return unit_done();
}
