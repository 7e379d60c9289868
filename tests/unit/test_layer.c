/* tests/unit/test_layer.c — layer blobs: byte-identical across runs, source paths and
 * host metadata; digest and diff_id right; the tar as a reader sees it; compressor
 * headers pinned; failures leave nothing behind. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "oci/digest.h"
#include "image/layer.h"
#include "image/tree.h"
#include "unit.h"

static char tmp_root[256];

static char *path_of(const char *name)
{
    char *p = malloc(strlen(tmp_root) + strlen(name) + 2);
    sprintf(p, "%s/%s", tmp_root, name);
    return p;
}

/* blobs_dir/<hex of digest> */
static unsigned char *read_blob(const char *blobs, const struct layer_result *r, size_t *n)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", blobs, r->digest + 7);
    return unit_read_file(p, n);
}

/* A host folder with text, a 3 MiB pseudo-random file, a symlink and a subfolder. */
static void make_source(const char *dir)
{
    char p[600];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/sub", dir);
    mkdir(p, 0750);
    snprintf(p, sizeof p, "%s/sub/readme.txt", dir);
    unit_write_file(p, "hello layer\n", 12);
    snprintf(p, sizeof p, "%s/big.bin", dir);
    size_t n = 3u << 20;
    unsigned char *big = malloc(n);
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (unsigned char)(i % 7 == 0 ? (x >> 16) : 'a' + i % 26);
    }
    unit_write_file(p, big, n);
    free(big);
    chmod(p, 0755);
    snprintf(p, sizeof p, "%s/link", dir);
    symlink("sub/readme.txt", p);
}

static struct tree *tree_from(const char *dir)
{
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_hostdir(t, "/srv", dir, 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/etc/passwd", "root:x:0:0::/:/x\n", 17, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_dir(t, "/home/nonroot", 0700, 65532, 65532, &e) == 0);
    return t;
}

static void layer(struct tree *t, enum compress c, const char *blobs, struct layer_result *r)
{
    struct err e = {0};
    memset(r, 0, sizeof *r);
    int rc = layer_write(t, c, 0, blobs, r, &e);
    if (rc < 0)
        fprintf(stderr, "layer_write: %s\n", e.msg);
    CHECK(rc == 0);
}

static void test_same_tree_gives_identical_blobs_in_every_compression(void)
{
    char *src = path_of("src"), *blobs = path_of("blobs");
    make_source(src);
    mkdir(blobs, 0755);
    struct tree *t = tree_from(src);
    for (int c = 0; c < 3; c++) {
        struct layer_result a, b;
        layer(t, (enum compress)c, blobs, &a);
        layer(t, (enum compress)c, blobs, &b);
        CHECK_STR(a.digest, b.digest);
        CHECK_STR(a.diff_id, b.diff_id);
        CHECK(a.size == b.size && a.size > 0);
    }
    tree_free(t);
    free(src);
    free(blobs);
}

static void test_source_path_owner_and_times_do_not_matter(void)
{
    char *s1 = path_of("src-one"), *s2 = path_of("elsewhere-two"), *blobs = path_of("blobs2");
    make_source(s1);
    make_source(s2);
    mkdir(blobs, 0755);
    /* different owners and times on disk for the second copy */
    char p[600];
    snprintf(p, sizeof p, "%s/big.bin", s2);
    struct timeval tv[2] = {{100000, 0}, {200000, 0}};
    utimes(p, tv);
    if (geteuid() == 0)
        CHECK(chown(p, 4242, 4242) == 0);
    snprintf(p, sizeof p, "%s/sub", s2);
    utimes(p, tv);
    struct tree *t1 = tree_from(s1), *t2 = tree_from(s2);
    struct layer_result a, b;
    layer(t1, COMPRESS_GZIP, blobs, &a);
    layer(t2, COMPRESS_GZIP, blobs, &b);
    CHECK_STR(a.digest, b.digest);
    layer(t1, COMPRESS_ZSTD, blobs, &a);
    layer(t2, COMPRESS_ZSTD, blobs, &b);
    CHECK_STR(a.digest, b.digest);
    /* ...while a change of content does matter */
    snprintf(p, sizeof p, "%s/sub/readme.txt", s2);
    unit_write_file(p, "hello LAYER\n", 12);
    tree_free(t2);
    t2 = tree_from(s2);
    layer(t2, COMPRESS_ZSTD, blobs, &b);
    CHECK(strcmp(a.digest, b.digest) != 0);
    tree_free(t1);
    tree_free(t2);
    free(s1);
    free(s2);
    free(blobs);
}

static void sha256_prefixed(const void *buf, size_t n, char out[DIGEST_PREFIXED_LEN + 1])
{
    struct err e = {0};
    CHECK(digest_buffer(buf, n, out, &e) == 0);
}

/* zlib's gunzip of every member in turn (inflateReset after each, as gzip -d does);
 * *members: how many there were. Every input byte must belong to a member. */
static unsigned char *gunzip_members(const unsigned char *in, size_t n, size_t *outn,
                                     int *members)
{
    size_t cap = n * 8 + 1024, len = 0;
    unsigned char *out = malloc(cap);
    z_stream z = {0};
    inflateInit2(&z, 15 + 16);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    int r = Z_BUF_ERROR;
    *members = 0;
    for (;;) {
        if (len == cap) {
            unsigned char *bigger = realloc(out, cap *= 2);
            if (!bigger)
                break;
            out = bigger;
        }
        z.next_out = out + len;
        z.avail_out = (uInt)(cap - len);
        r = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
        if (r == Z_STREAM_END) {
            ++*members;
            if (z.avail_in == 0)
                break;
            inflateReset(&z);
        } else if (r != Z_OK) {
            break;
        }
    }
    CHECK(r == Z_STREAM_END && z.avail_in == 0);
    inflateEnd(&z);
    *outn = len;
    return out;
}

static unsigned char *gunzip(const unsigned char *in, size_t n, size_t *outn)
{
    int members;
    return gunzip_members(in, n, outn, &members);
}

static unsigned char *unzstd(const unsigned char *in, size_t n, size_t *outn)
{
    size_t cap = n * 8 + 1024, len = 0;
    unsigned char *out = malloc(cap);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer ib = {in, n, 0};
    size_t r = 1;
    while (ib.pos < ib.size || r != 0) {
        if (len == cap) {
            unsigned char *bigger = realloc(out, cap *= 2);
            if (!bigger)
                break;
            out = bigger;
        }
        ZSTD_outBuffer ob = {out + len, cap - len, 0};
        r = ZSTD_decompressStream(d, &ob, &ib);
        CHECK(!ZSTD_isError(r));
        if (ZSTD_isError(r))
            break;
        len += ob.pos;
        if (ob.pos == 0 && ib.pos == ib.size)
            break;
    }
    CHECK(r == 0);
    ZSTD_freeDCtx(d);
    *outn = len;
    return out;
}

static void test_digests_match_blob_and_decompressed_tar(void)
{
    char *src = path_of("src3"), *blobs = path_of("blobs3");
    make_source(src);
    mkdir(blobs, 0755);
    struct tree *t = tree_from(src);
    struct layer_result g, z, n;
    layer(t, COMPRESS_GZIP, blobs, &g);
    layer(t, COMPRESS_ZSTD, blobs, &z);
    layer(t, COMPRESS_NONE, blobs, &n);
    CHECK_STR(g.media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
    CHECK_STR(z.media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
    CHECK_STR(n.media_type, "application/vnd.oci.image.layer.v1.tar");
    CHECK_STR(n.digest, n.diff_id);
    CHECK_STR(g.diff_id, n.diff_id);
    CHECK_STR(z.diff_id, n.diff_id);
    size_t bn, tn;
    char d[DIGEST_PREFIXED_LEN + 1];
    unsigned char *blob = read_blob(blobs, &g, &bn);
    CHECK(blob && bn == g.size);
    sha256_prefixed(blob, bn, d);
    CHECK_STR(d, g.digest);
    unsigned char *tar = gunzip(blob, bn, &tn);
    sha256_prefixed(tar, tn, d);
    CHECK_STR(d, g.diff_id);
    CHECK(tn % 10240 == 0);   /* whole tar records */
    /* gzip header: magic, deflate, no flags (no name/comment), mtime 0, OS Unix */
    CHECK(blob[0] == 0x1f && blob[1] == 0x8b && blob[2] == 8 && blob[3] == 0);
    CHECK(blob[4] == 0 && blob[5] == 0 && blob[6] == 0 && blob[7] == 0 && blob[9] == 3);
    free(blob);
    free(tar);
    blob = read_blob(blobs, &z, &bn);
    CHECK(blob && bn == z.size);
    sha256_prefixed(blob, bn, d);
    CHECK_STR(d, z.digest);
    /* zstd frame header: magic, then a descriptor with the checksum flag (bit 2) */
    CHECK(blob[0] == 0x28 && blob[1] == 0xb5 && blob[2] == 0x2f && blob[3] == 0xfd);
    CHECK((blob[4] & 0x04) != 0);
    tar = unzstd(blob, bn, &tn);
    sha256_prefixed(tar, tn, d);
    CHECK_STR(d, z.diff_id);
    free(blob);
    free(tar);
    tree_free(t);
    free(src);
    free(blobs);
}

/* A 3 MiB file makes a tar of a little over 3 MiB: four 1 MiB blocks, each its own
 * gzip member with the fixed header, which a multi-member gunzip (zlib inflateReset
 * loop, as gzip -d, Go's compress/gzip and python do) turns back into the exact tar. */
static void test_multi_block_gzip_is_members_that_decode_to_the_exact_tar(void)
{
    char *blobs = path_of("blobs8");
    mkdir(blobs, 0755);
    size_t big = 3u << 20;
    unsigned char *data = malloc(big);
    uint32_t x = 12345;
    for (size_t i = 0; i < big; i++) {   /* half text-like, half noise: real deflate work */
        x = x * 1103515245u + 12345u;
        data[i] = (i / 4096) % 2 ? (unsigned char)(x >> 24) : (unsigned char)('a' + (x >> 28));
    }
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_data(t, "/big", data, big, 0644, 0, 0, &e) == 0);
    struct layer_result g, n;
    layer(t, COMPRESS_GZIP, blobs, &g);
    layer(t, COMPRESS_NONE, blobs, &n);
    size_t bn, tn, rn;
    unsigned char *blob = read_blob(blobs, &g, &bn);
    unsigned char *raw = read_blob(blobs, &n, &rn);
    CHECK(blob && raw && bn == g.size && rn > big && rn < big + (1u << 20));
    int members = 0;
    unsigned char *tar = gunzip_members(blob, bn, &tn, &members);
    CHECK(members == (int)((rn + (1u << 20) - 1) >> 20));
    CHECK(tn == rn && memcmp(tar, raw, rn) == 0);
    CHECK_STR(g.diff_id, n.diff_id);
    /* every member starts with the same pinned header: count them at those bytes */
    static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    int heads = 0;
    for (size_t i = 0; i + sizeof head <= bn; i++)
        heads += memcmp(blob + i, head, sizeof head) == 0;
    CHECK(heads >= members && memcmp(blob, head, sizeof head) == 0);
    /* ...and the last 4 bytes are the last member's ISIZE: the bytes after 3 MiB */
    uint32_t isize = (uint32_t)blob[bn - 4] | (uint32_t)blob[bn - 3] << 8 |
                     (uint32_t)blob[bn - 2] << 16 | (uint32_t)blob[bn - 1] << 24;
    CHECK(isize == rn - (size_t)(members - 1) * (1u << 20));
    free(blob);
    free(raw);
    free(tar);
    free(data);
    tree_free(t);
    free(blobs);
}

static void test_tar_entries_sorted_numeric_epoch_no_atime(void)
{
    char *src = path_of("src4"), *blobs = path_of("blobs4");
    make_source(src);
    mkdir(blobs, 0755);
    struct tree *t = tree_from(src);
    struct err e = {0};
    char longname[300];
    memset(longname, 'n', sizeof longname);
    memcpy(longname, "/deep/", 6);
    longname[sizeof longname - 1] = '\0';
    CHECK(tree_add_data(t, longname, "L", 1, 0644, 70000, 70000, &e) == 0);
    struct layer_result r;
    memset(&r, 0, sizeof r);
    CHECK(layer_write(t, COMPRESS_GZIP, 1700000000, blobs, &r, &e) == 0);
    char p[600];
    snprintf(p, sizeof p, "%s/%s", blobs, r.digest + 7);
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    CHECK(archive_read_open_filename(a, p, 65536) == ARCHIVE_OK);
    const char *want[] = {"deep/", longname + 1, "etc/", "etc/passwd", "home/", "home/nonroot/",
                          "srv/", "srv/big.bin", "srv/link", "srv/sub/", "srv/sub/readme.txt"};
    size_t i = 0;
    struct archive_entry *ent;
    while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(ent);
        CHECK(i < 11);
        if (i < 11)
            CHECK_STR(name, want[i]);
        CHECK(archive_entry_mtime(ent) == 1700000000);
        CHECK(!archive_entry_atime_is_set(ent) && !archive_entry_ctime_is_set(ent));
        CHECK(archive_entry_uname(ent) == NULL || archive_entry_uname(ent)[0] == '\0');
        CHECK(archive_entry_gname(ent) == NULL || archive_entry_gname(ent)[0] == '\0');
        CHECK(archive_entry_xattr_count(ent) == 0);
        if (strcmp(name, "home/nonroot/") == 0)
            CHECK(archive_entry_uid(ent) == 65532 && archive_entry_perm(ent) == 0700);
        if (strcmp(name, "srv/big.bin") == 0)
            CHECK(archive_entry_size(ent) == (3 << 20) && archive_entry_perm(ent) == 0755);
        if (strcmp(name, "srv/link") == 0)
            CHECK_STR(archive_entry_symlink(ent), "sub/readme.txt");
        if (i == 1)
            CHECK(archive_entry_uid(ent) == 70000);   /* beyond ustar's octal: pax */
        i++;
    }
    CHECK(i == 11);
    archive_read_free(a);
    tree_free(t);
    free(src);
    free(blobs);
}

/* An archive with z/file holding the content and a/alias, a hard link to it that sorts
 * first, unpacked into a new tree. */
static struct tree *hardlink_tree(const char *arch)
{
    struct archive *w = archive_write_new();
    archive_write_set_format_pax_restricted(w);
    archive_write_open_filename(w, arch);
    struct archive_entry *ent = archive_entry_new();
    archive_entry_set_pathname(ent, "z/file");
    archive_entry_set_filetype(ent, AE_IFREG);
    archive_entry_set_perm(ent, 0644);
    archive_entry_set_size(ent, 5);
    archive_write_header(w, ent);
    archive_write_data(w, "hello", 5);
    archive_entry_clear(ent);
    archive_entry_set_pathname(ent, "a/alias");
    archive_entry_set_filetype(ent, AE_IFREG);
    archive_entry_set_perm(ent, 0644);
    archive_entry_set_hardlink(ent, "z/file");
    archive_write_header(w, ent);
    archive_entry_free(ent);
    archive_write_close(w);
    archive_write_free(w);
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_archive(t, "/", arch, &e) == 0);
    return t;
}

/* In the tar of blob r: the entry holding content must be `content`, and `link` a hard
 * link to it. */
static void check_hardlink_pair(const char *blobs, const struct layer_result *r,
                                const char *content, const char *link)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", blobs, r->digest + 7);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    CHECK(archive_read_open_filename(a, p, 65536) == ARCHIVE_OK);
    int seen = 0;
    struct archive_entry *ent;
    while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(ent);
        if (strcmp(name, content) == 0) {
            CHECK(seen == 0);   /* the content comes before the link to it */
            CHECK(archive_entry_hardlink(ent) == NULL && archive_entry_size(ent) == 5);
            seen++;
        } else if (strcmp(name, link) == 0) {
            CHECK_STR(archive_entry_hardlink(ent), content);
            seen++;
        }
    }
    CHECK(seen == 2);
    archive_read_free(a);
}

static void test_hardlink_sorting_before_its_file_carries_the_content(void)
{
    char *blobs = path_of("blobs5"), *arch = path_of("hl.tar");
    mkdir(blobs, 0755);
    struct tree *t = hardlink_tree(arch);
    struct layer_result r;
    layer(t, COMPRESS_NONE, blobs, &r);
    check_hardlink_pair(blobs, &r, "a/alias", "z/file");
    tree_free(t);
    free(blobs);
    free(arch);
}

/* The entry names of blob r's tar, in order, into names (at most max; longer lists are
 * counted but not stored) and their content sizes into sizes. Returns the count. */
static size_t tar_names(const char *blobs, const struct layer_result *r, char names[][64],
                        long long *sizes, size_t max)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", blobs, r->digest + 7);
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    CHECK(archive_read_open_filename(a, p, 65536) == ARCHIVE_OK);
    size_t n = 0;
    struct archive_entry *ent;
    while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
        if (n < max) {
            snprintf(names[n], 64, "%s", archive_entry_pathname(ent));
            sizes[n] = archive_entry_size(ent);
        }
        n++;
    }
    archive_read_free(a);
    return n;
}

static void test_first_paths_come_first_in_list_order_after_their_folders_then_sorted(void)
{
    char *src = path_of("src8"), *blobs = path_of("blobs8");
    make_source(src);
    mkdir(blobs, 0755);
    struct err e = {0};
    struct tree *t = tree_from(src);
    CHECK(tree_add_data(t, "/usr/bin/app", "APP", 3, 0755, 0, 0, &e) == 0);
    CHECK(tree_add_data(t, "/usr/lib/x/libz.so", "LIBZ!", 5, 0644, 0, 0, &e) == 0);
    struct layer_result sorted, ordered;
    layer(t, COMPRESS_GZIP, blobs, &sorted);
    /* a path of another layer and a repeat are skipped; "srv//sub/./readme.txt" is
     * normalised */
    const char *first[] = {"/usr/lib/x/libz.so", "srv//sub/./readme.txt", "/etc/not-here",
                           "/usr/bin/app", "/usr/lib/x/libz.so"};
    CHECK(tree_set_first(t, first, 5, &e) == 0);
    layer(t, COMPRESS_GZIP, blobs, &ordered);
    const char *want[] = {"usr/", "usr/lib/", "usr/lib/x/", "usr/lib/x/libz.so",
                          "srv/", "srv/sub/", "srv/sub/readme.txt",
                          "usr/bin/", "usr/bin/app",
                          "etc/", "etc/passwd", "home/", "home/nonroot/", "srv/big.bin",
                          "srv/link"};
    const long long want_size[] = {0, 0, 0, 5, 0, 0, 12, 0, 3, 0, 17, 0, 0, 3 << 20, 0};
    char names[20][64];
    long long sizes[20];
    size_t n = tar_names(blobs, &ordered, names, sizes, 20);
    CHECK(n == 15);
    for (size_t i = 0; i < n && i < 15; i++) {
        CHECK_STR(names[i], want[i]);
        CHECK(sizes[i] == want_size[i]);
    }
    /* the same entries, so the same files once unpacked, but other bytes */
    CHECK(strcmp(sorted.diff_id, ordered.diff_id) != 0);
    CHECK(tar_names(blobs, &sorted, names, sizes, 20) == 15);
    /* clearing the first paths gives the sorted layer back */
    CHECK(tree_set_first(t, NULL, 0, &e) == 0);
    struct layer_result again;
    layer(t, COMPRESS_GZIP, blobs, &again);
    CHECK_STR(again.digest, sorted.digest);
    tree_free(t);
    free(src);
    free(blobs);
}

/* Same tree and same first paths: same bytes, whether the paths were set before or
 * after the files were added, in every compression. */
static void test_ordered_layer_is_reproducible(void)
{
    char *src = path_of("src9"), *blobs = path_of("blobs9");
    make_source(src);
    mkdir(blobs, 0755);
    struct err e = {0};
    const char *first[] = {"/srv/link", "/srv/sub/readme.txt", "/srv/big.bin"};
    struct tree *t1 = tree_from(src);
    CHECK(tree_set_first(t1, first, 3, &e) == 0);
    struct tree *t2 = tree_new();
    CHECK(tree_set_first(t2, first, 3, &e) == 0);
    CHECK(tree_add_hostdir(t2, "/srv", src, 0, 0, &e) == 0);
    CHECK(tree_add_data(t2, "/etc/passwd", "root:x:0:0::/:/x\n", 17, 0644, 0, 0, &e) == 0);
    CHECK(tree_add_dir(t2, "/home/nonroot", 0700, 65532, 65532, &e) == 0);
    for (int c = 0; c < 3; c++) {
        struct layer_result a, b, a2;
        layer(t1, (enum compress)c, blobs, &a);
        layer(t2, (enum compress)c, blobs, &b);
        layer(t1, (enum compress)c, blobs, &a2);
        CHECK_STR(a.digest, b.digest);
        CHECK_STR(a.digest, a2.digest);
    }
    char names[20][64];
    long long sizes[20];
    struct layer_result r;
    layer(t2, COMPRESS_NONE, blobs, &r);
    CHECK(tar_names(blobs, &r, names, sizes, 20) == 9);
    CHECK_STR(names[0], "srv/");
    CHECK_STR(names[1], "srv/link");
    CHECK_STR(names[2], "srv/sub/");
    CHECK_STR(names[3], "srv/sub/readme.txt");
    CHECK_STR(names[4], "srv/big.bin");
    CHECK_STR(names[5], "etc/");
    tree_free(t1);
    tree_free(t2);
    free(src);
    free(blobs);
}

/* A listed file written before the hard link that sorts ahead of it carries the
 * content; listing the link instead moves the content to the link. */
static void test_hardlink_group_content_goes_with_the_name_written_first(void)
{
    char *blobs = path_of("blobs10"), *arch = path_of("hl2.tar");
    mkdir(blobs, 0755);
    struct err e = {0};
    struct tree *t = hardlink_tree(arch);
    const char *file_first[] = {"/z/file"}, *link_first[] = {"/a/alias"};
    struct layer_result r;
    CHECK(tree_set_first(t, file_first, 1, &e) == 0);
    layer(t, COMPRESS_NONE, blobs, &r);
    check_hardlink_pair(blobs, &r, "z/file", "a/alias");
    CHECK(tree_set_first(t, link_first, 1, &e) == 0);
    layer(t, COMPRESS_NONE, blobs, &r);
    check_hardlink_pair(blobs, &r, "a/alias", "z/file");
    tree_free(t);
    free(blobs);
    free(arch);
}

static void test_bytes_do_not_depend_on_cpu_count(void)
{
    char *src = path_of("src7"), *blobs = path_of("blobs7");
    make_source(src);
    mkdir(blobs, 0755);
    char p[600];
    /* four 3 MiB files: a 12 MiB tar, so a dozen gzip blocks spread over the workers */
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/copy%d", src, i);
        make_source(p);
    }
    struct tree *t = tree_from(src);
    cpu_set_t all, one;
    CHECK(sched_getaffinity(0, sizeof all, &all) == 0);
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all)) {
            CPU_SET(c, &one);
            break;
        }
    for (int c = 0; c < 2; c++) {
        struct layer_result many, single;
        layer(t, (enum compress)c, blobs, &many);
        CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
        layer(t, (enum compress)c, blobs, &single);
        CHECK(sched_setaffinity(0, sizeof all, &all) == 0);
        CHECK_STR(many.digest, single.digest);
    }
    tree_free(t);
    free(src);
    free(blobs);
}

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    const struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.' || strncmp(de->d_name, ".tmp", 4) == 0;
    closedir(d);
    return n;
}

static void test_failures_name_the_cause_and_leave_no_blob(void)
{
    char *blobs = path_of("blobs6"), *f = path_of("vanishing");
    mkdir(blobs, 0755);
    unit_write_file(f, "soon gone", 9);
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(tree_add_file(t, "/app", f, 0755, 0, 0, &e) == 0);
    unlink(f);
    struct layer_result r;
    CHECK(layer_write(t, COMPRESS_GZIP, 0, blobs, &r, &e) < 0);
    CHECK(strstr(e.msg, "vanishing") != NULL);
    CHECK(count_entries(blobs) == 0);
    /* a file that changed size since it was added */
    unit_write_file(f, "longer than before", 18);
    CHECK(layer_write(t, COMPRESS_ZSTD, 0, blobs, &r, &e) < 0);
    CHECK(strstr(e.msg, "grew") != NULL);
    CHECK(count_entries(blobs) == 0);
    char *missing = path_of("no-such-dir/blobs");
    CHECK(layer_write(t, COMPRESS_NONE, 0, missing, &r, &e) < 0);
    CHECK(strstr(e.msg, "no-such-dir") != NULL);
    enum compress c;
    CHECK(layer_compress_parse("zstd", &c, &e) == 0 && c == COMPRESS_ZSTD);
    CHECK(layer_compress_parse("xz", &c, &e) < 0 && strstr(e.msg, "xz") != NULL);
    tree_free(t);
    free(blobs);
    free(f);
    free(missing);
}

int main(void)
{
    if (!unit_tmpdir(tmp_root, sizeof tmp_root, "test_layer"))
        return 2;
    RUN(test_same_tree_gives_identical_blobs_in_every_compression);
    RUN(test_source_path_owner_and_times_do_not_matter);
    RUN(test_digests_match_blob_and_decompressed_tar);
    RUN(test_tar_entries_sorted_numeric_epoch_no_atime);
    RUN(test_multi_block_gzip_is_members_that_decode_to_the_exact_tar);
    RUN(test_hardlink_sorting_before_its_file_carries_the_content);
    RUN(test_failures_name_the_cause_and_leave_no_blob);
    RUN(test_bytes_do_not_depend_on_cpu_count);
    RUN(test_first_paths_come_first_in_list_order_after_their_folders_then_sorted);
    RUN(test_ordered_layer_is_reproducible);
    RUN(test_hardlink_group_content_goes_with_the_name_written_first);
    unit_rm_tree(tmp_root);
    return unit_done();
}
