/* tests/unit/test_layout.c — the OCI layout: tags, atomic index, garbage collection
 * (referrers kept, nothing removed when a document cannot be read), prepare/discard
 * restoring replaced blobs byte for byte, symlinked blob folders refused. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "oci/layout.h"
#include "unit.h"

static char parent[64];
static char root[256];

static void mkroot(void)
{
    snprintf(root, sizeof root, "%s/t.XXXXXX", parent);
    if (!mkdtemp(root))
        abort();
}

static int blob_exists(const char *digest)
{
    char p[512];
    snprintf(p, sizeof p, "%s/oci/blobs/sha256/%s", root, digest + 7);
    return access(p, F_OK) == 0;
}

static size_t count_blobs(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/oci/blobs/sha256", root);
    DIR *d = opendir(p);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

/* One tiny image: a config blob, a "layer" blob, a manifest and an index; returns the
 * index descriptor. `salt` makes the content differ. */
static struct oci_desc image(struct layout *l, const char *salt)
{
    struct err e;
    struct oci_desc cfg = {.media_type = OCI_MT_CONFIG}, lay = {.media_type = OCI_MT_LAYER_TAR};
    struct oci_desc man = {.media_type = OCI_MT_MANIFEST}, idx = {.media_type = OCI_MT_INDEX};
    char buf[64];
    const char *stage = layout_stage_dir(l, &e);
    CHECK(stage != NULL);
    snprintf(buf, sizeof buf, "{\"salt\":\"%s\"}", salt);
    CHECK(oci_blob_write(stage, buf, strlen(buf), &cfg, &e) == 0);
    snprintf(buf, sizeof buf, "layer %s", salt);
    CHECK(oci_blob_write(stage, buf, strlen(buf), &lay, &e) == 0);
    cleanup_json json_t *m = oci_manifest_new(&cfg, &lay, 1, &e);
    CHECK(oci_json_blob_write(stage, m, &man, &e) == 0);
    cleanup_json json_t *i = oci_index_new();
    CHECK(oci_index_add(i, &man, platform_lookup("linux/arm64"), &e) == 0);
    CHECK(oci_json_blob_write(stage, i, &idx, &e) == 0);
    return idx;
}

/* A fresh root with a writable layout at root/oci (path in dir). */
static struct layout *fresh(char *dir, size_t n)
{
    struct err e;
    struct layout *l = NULL;
    mkroot();
    snprintf(dir, n, "%s/oci", root);
    CHECK(layout_open(dir, 1, &l, &e) == 0);
    return l;
}

static void test_new_layout_is_valid_and_empty(void)
{
    char dir[300];
    struct err e;
    struct layout *l = fresh(dir, sizeof dir);
    CHECK(json_array_size(json_object_get(layout_index(l), "manifests")) == 0);
    CHECK(layout_commit(l, NULL, &e) == 0);
    layout_close(l);
    char p[400];
    snprintf(p, sizeof p, "%s/oci-layout", dir);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof p, "%s/index.json", dir);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof p, "%s/blobs/sha256", dir);
    CHECK(access(p, F_OK) == 0);
}

/* A new layout that never sees a commit (the first build failed) is taken away again:
 * the folder is left empty. */
static void test_uncommitted_new_layout_leaves_an_empty_folder(void)
{
    struct err e;
    char dir[300];
    struct layout *l = fresh(dir, sizeof dir);
    struct oci_desc a = image(l, "a");
    CHECK(layout_set_tag(l, "latest", &a, &e) == 0);
    layout_close(l);                 /* no commit */
    DIR *d = opendir(dir);
    size_t n = 0;
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    CHECK(d != NULL && n == 2);      /* . and .. */
}

static void test_refuses_non_layout_folder_with_files(void)
{
    struct err e;
    struct layout *l = NULL;
    char p[400];
    mkroot();
    snprintf(p, sizeof p, "%s/precious", root);
    FILE *f = fopen(p, "w");
    if (f)
        fclose(f);
    CHECK(layout_open(root, 1, &l, &e) < 0);
    CHECK(strstr(e.msg, "not an OCI layout") != NULL);
    CHECK(access(p, F_OK) == 0);
}

static void test_retag_replaces_entry_and_collects_old_blobs(void)
{
    struct err e;
    char dir[300];
    struct layout *l = fresh(dir, sizeof dir);
    struct oci_desc a = image(l, "a");
    CHECK(layout_set_tag(l, "latest", &a, &e) == 0);
    size_t removed = 99;
    CHECK(layout_commit(l, &removed, &e) == 0);
    CHECK(removed == 0);
    CHECK(count_blobs() == 4);

    struct oci_desc b = image(l, "b");
    CHECK(layout_set_tag(l, "latest", &b, &e) == 0);
    CHECK(layout_commit(l, &removed, &e) == 0);
    CHECK(removed == 4);
    CHECK(count_blobs() == 4);
    CHECK(!blob_exists(a.digest));
    CHECK(blob_exists(b.digest));
    CHECK(json_array_size(json_object_get(layout_index(l), "manifests")) == 1);
    layout_close(l);
}

static void test_two_tags_coexist_sorted(void)
{
    struct err e;
    char dir[300];
    struct layout *l = fresh(dir, sizeof dir);
    struct oci_desc a = image(l, "a"), b = image(l, "b");
    CHECK(layout_set_tag(l, "v2", &b, &e) == 0);
    CHECK(layout_set_tag(l, "v1", &a, &e) == 0);
    CHECK(layout_commit(l, NULL, &e) == 0);
    layout_close(l);

    l = NULL;
    CHECK(layout_open(dir, 0, &l, &e) == 0);
    json_t *ms = json_object_get(layout_index(l), "manifests");
    CHECK(json_array_size(ms) == 2);
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_array_get(ms, 0), "annotations"), OCI_REF_NAME)), "v1");
    json_t *t = layout_find_tag(l, "v2", &e);
    CHECK(t && strcmp(json_string_value(json_object_get(t, "digest")), b.digest) == 0);
    CHECK(layout_find_tag(l, "v3", &e) == NULL);
    CHECK(strstr(e.msg, "tags: v1, v2") != NULL);
    CHECK(count_blobs() == 8);
    cleanup_json json_t *doc = layout_read_json(l, a.digest, &e);
    CHECK(doc && json_is_array(json_object_get(doc, "manifests")));
    layout_close(l);
}

static void test_discard_keeps_old_index_and_drops_new_blobs(void)
{
    struct err e;
    char dir[300];
    struct layout *l = fresh(dir, sizeof dir);
    struct oci_desc a = image(l, "a");
    CHECK(layout_set_tag(l, "latest", &a, &e) == 0);
    CHECK(layout_commit(l, NULL, &e) == 0);
    struct oci_desc b = image(l, "b");           /* a build that then fails */
    CHECK(layout_set_tag(l, "latest", &b, &e) == 0);
    CHECK(layout_discard(l, &e) == 0);
    CHECK(blob_exists(a.digest));
    CHECK(!blob_exists(b.digest));
    json_t *t = layout_find_tag(l, "latest", &e);
    CHECK(t && strcmp(json_string_value(json_object_get(t, "digest")), a.digest) == 0);
    layout_close(l);
}

static void test_tag_validation(void)
{
    CHECK(layout_tag_valid("latest"));
    CHECK(layout_tag_valid("v1.2.3-rc_1"));
    CHECK(!layout_tag_valid(""));
    CHECK(!layout_tag_valid("-x"));
    CHECK(!layout_tag_valid("a:b"));
    CHECK(!layout_tag_valid("a/b"));
}

/* "DIR[:TAG]" as inspect and push read it. */
static void test_dir_tag_arguments(void)
{
    char *dir = NULL, odd[600];
    const char *tag = NULL;
    CHECK(layout_arg_split("out/oci:v1", &dir, &tag) == 0);
    CHECK_STR("out/oci", dir);
    CHECK_STR("v1", tag);
    free(dir);
    CHECK(layout_arg_split("out/oci", &dir, &tag) == 0);
    CHECK_STR("out/oci", dir);
    CHECK(tag == NULL);
    free(dir);
    /* not a tag after the ':' : all of it is the folder */
    const char *whole[] = {"a:b/c", "dir:", "dir:bad tag", "dir:-x"};
    for (size_t i = 0; i < sizeof whole / sizeof *whole; i++) {
        CHECK(layout_arg_split(whole[i], &dir, &tag) == 0);
        CHECK_STR(whole[i], dir);
        CHECK(tag == NULL);
        free(dir);
    }
    /* an existing folder whose name ends in ":v1" is that folder */
    snprintf(odd, sizeof odd, "%s/odd:v1", parent);
    CHECK(mkdir(odd, 0755) == 0);
    CHECK(layout_arg_split(odd, &dir, &tag) == 0);
    CHECK_STR(odd, dir);
    CHECK(tag == NULL);
    free(dir);
}

static void test_corrupt_blob_is_detected(void)
{
    struct err e;
    char dir[300], p[500];
    struct layout *l = fresh(dir, sizeof dir);
    struct oci_desc a = image(l, "a");
    CHECK(layout_set_tag(l, "latest", &a, &e) == 0);
    CHECK(layout_commit(l, NULL, &e) == 0);
    snprintf(p, sizeof p, "%s/%s", layout_blobs_dir(l), a.digest + 7);
    FILE *f = fopen(p, "a");
    if (f) {
        fputs(" ", f);
        fclose(f);
    }
    CHECK(layout_read_json(l, a.digest, &e) == NULL);
    CHECK(strstr(e.msg, "does not match its digest") != NULL);
    layout_close(l);
}

/* A blob written straight into blobs/sha256 (as another tool would); its digest. */
static struct oci_desc put(const char *dir, const char *text, const char *mt)
{
    struct err e;
    struct oci_desc d = {.media_type = mt};
    char blobs[400];
    snprintf(blobs, sizeof blobs, "%s/blobs/sha256", dir);
    CHECK(oci_blob_write(blobs, text, strlen(text), &d, &e) == 0);
    return d;
}

/* Referrers (a manifest whose subject is kept) survive, and so does what they reference;
 * a referrer of nothing kept does not. */
static void test_gc_keeps_referrers_of_kept_manifests(void)
{
    struct err e;
    char dir[300], buf[1024];
    struct layout *l = fresh(dir, sizeof dir);
    struct oci_desc a = image(l, "a");
    CHECK(layout_set_tag(l, "latest", &a, &e) == 0);
    CHECK(layout_commit(l, NULL, &e) == 0);
    struct oci_desc sig = put(dir, "signature", "application/x-sig");
    snprintf(buf, sizeof buf, "{\"mediaType\":\"%s\",\"layers\":[{\"digest\":\"%s\",\"size\":9}],"
             "\"subject\":{\"digest\":\"%s\",\"size\":1}}", OCI_MT_MANIFEST, sig.digest, a.digest);
    struct oci_desc ref = put(dir, buf, OCI_MT_MANIFEST);
    snprintf(buf, sizeof buf, "{\"subject\":{\"digest\":\"sha256:%064d\"}}", 7);
    struct oci_desc orphan = put(dir, buf, OCI_MT_MANIFEST);
    size_t removed = 99;
    CHECK(layout_gc(l, &removed, &e) == 0);
    CHECK(removed == 1);
    CHECK(blob_exists(ref.digest) && blob_exists(sig.digest) && !blob_exists(orphan.digest));
    layout_close(l);
}

/* A tag whose manifest is missing: the marks are incomplete, nothing is removed, the
 * commit still succeeds and says why. */
static void test_gc_removes_nothing_when_a_document_cannot_be_read(void)
{
    struct err e;
    char dir[300], p[500];
    struct layout *l = fresh(dir, sizeof dir);
    struct oci_desc a = image(l, "a"), b = image(l, "b");
    CHECK(layout_set_tag(l, "a", &a, &e) == 0);
    CHECK(layout_set_tag(l, "b", &b, &e) == 0);
    CHECK(layout_commit(l, NULL, &e) == 0);
    snprintf(p, sizeof p, "%s/%s", layout_blobs_dir(l), b.digest + 7);
    CHECK(unlink(p) == 0);
    struct oci_desc stray = put(dir, "stray", "application/octet-stream");
    struct oci_desc c = image(l, "c");
    CHECK(layout_set_tag(l, "a", &c, &e) == 0);   /* a's old blobs: unreferenced now */
    size_t removed = 99;
    CHECK(layout_commit(l, &removed, &e) == 0);
    CHECK(removed == 0);
    CHECK(strstr(layout_gc_note(l), b.digest) != NULL);
    CHECK(strstr(layout_gc_note(l), "missing") != NULL);
    CHECK(blob_exists(a.digest) && blob_exists(stray.digest) && blob_exists(c.digest));
    CHECK(layout_gc(l, &removed, &e) < 0 && strstr(e.msg, "garbage collection skipped") != NULL);
    layout_close(l);
}

/* prepare moves blobs in (repairing a corrupt same-name blob); discard before the commit
 * puts the corrupt bytes back exactly and removes what was new. */
static void test_discard_after_prepare_restores_replaced_blobs(void)
{
    struct err e;
    char dir[300], p[500];
    struct layout *l = fresh(dir, sizeof dir);
    struct oci_desc a = image(l, "a");
    CHECK(layout_set_tag(l, "latest", &a, &e) == 0);
    CHECK(layout_commit(l, NULL, &e) == 0);
    snprintf(p, sizeof p, "%s/%s", layout_blobs_dir(l), a.digest + 7);
    size_t len = 0;
    unsigned char *good = unit_read_file(p, &len);
    CHECK(good && len > 2);
    if (!good)
        return;
    good[1] ^= 1;                                 /* corrupt, same size */
    unit_write_file(p, good, len);
    struct oci_desc again = image(l, "a"), b = image(l, "b");
    CHECK(strcmp(again.digest, a.digest) == 0);
    CHECK(layout_set_tag(l, "latest", &b, &e) == 0);
    CHECK(layout_prepare(l, &e) == 0);
    CHECK(blob_exists(b.digest));
    cleanup_json json_t *fixed = layout_read_json(l, a.digest, &e);   /* repaired in place */
    CHECK(fixed != NULL);
    CHECK(layout_discard(l, &e) == 0);
    size_t n2 = 0;
    unsigned char *back = unit_read_file(p, &n2);
    CHECK(back && n2 == len && memcmp(back, good, len) == 0);   /* the corrupt bytes, exactly */
    CHECK(!blob_exists(b.digest));
    free(back);
    free(good);
    layout_close(l);
}

/* blobs/sha256 as a symlink to a folder outside: refused for writing and reading, and
 * nothing is written there. */
static void test_symlinked_blobs_folder_is_refused(void)
{
    struct err e;
    char dir[300], p[500], out[400];
    struct layout *l = fresh(dir, sizeof dir);
    CHECK(layout_commit(l, NULL, &e) == 0);
    layout_close(l);
    snprintf(out, sizeof out, "%s/outside", root);
    CHECK(mkdir(out, 0700) == 0);
    snprintf(p, sizeof p, "%s/blobs/sha256", dir);
    CHECK(rmdir(p) == 0 && symlink(out, p) == 0);
    l = NULL;
    CHECK(layout_open(dir, 1, &l, &e) < 0);
    CHECK(strstr(e.msg, "symbolic link") != NULL);
    CHECK(layout_open(dir, 0, &l, &e) < 0);
    DIR *d = opendir(out);
    size_t n = 0;
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    CHECK(n == 2);   /* . and .. */
}

int main(void)
{
    if (!unit_tmpdir(parent, sizeof parent, "unit-layout"))
        return 1;
    RUN(test_new_layout_is_valid_and_empty);
    RUN(test_refuses_non_layout_folder_with_files);
    RUN(test_uncommitted_new_layout_leaves_an_empty_folder);
    RUN(test_retag_replaces_entry_and_collects_old_blobs);
    RUN(test_two_tags_coexist_sorted);
    RUN(test_discard_keeps_old_index_and_drops_new_blobs);
    RUN(test_tag_validation);
    RUN(test_dir_tag_arguments);
    RUN(test_corrupt_blob_is_detected);
    RUN(test_gc_keeps_referrers_of_kept_manifests);
    RUN(test_gc_removes_nothing_when_a_document_cannot_be_read);
    RUN(test_discard_after_prepare_restores_replaced_blobs);
    RUN(test_symlinked_blobs_folder_is_refused);
    unit_rm_tree(parent);
    return unit_done();
}
