/* builder/docker_archive.c — see docker_archive.h. */
#include "docker_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"

static void cleanup_entryp(struct archive_entry **p) { if (*p) archive_entry_free(*p); }
static void cleanup_digestp(struct digest *d) { digest_abort(d); }

/* Write one regular-file header; data follows with archive_write_data. */
static int put_header(struct archive *a, const char *name, int64_t size, int64_t epoch,
                      struct err *e)
{
    __attribute__((cleanup(cleanup_entryp))) struct archive_entry *en = archive_entry_new();
    if (!en)
        return err_set(e, "out of memory");
    archive_entry_set_pathname(en, name);
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0644);
    archive_entry_set_size(en, size);
    archive_entry_set_mtime(en, epoch, 0);
    archive_entry_set_uid(en, 0);
    archive_entry_set_gid(en, 0);
    int r = archive_write_header(a, en);
    if (r == ARCHIVE_WARN)
        return 0;   /* e.g. a field truncated in the header: the entry is still written */
    if (r != ARCHIVE_OK)
        return err_set(e, "writing %s: %s", name, archive_error_string(a));
    return 0;
}

static int put_data(struct archive *a, const char *name, const void *buf, size_t n,
                    struct err *e)
{
    la_ssize_t w = archive_write_data(a, buf, n);
    if (w < 0 || (size_t)w != n)
        return err_set(e, "writing %s: %s", name, archive_error_string(a));
    return 0;
}

static int put_buffer(struct archive *a, const char *name, const void *buf, size_t n,
                      int64_t epoch, struct err *e)
{
    if (put_header(a, name, (int64_t)n, epoch, e) < 0)
        return ERR;
    return put_data(a, name, buf, n, e);
}

/* Inflate blob into tmp (any compression libarchive reads), checking its sha256 is
 * diff_id. Returns the uncompressed size, or -1 with e set. */
static int64_t inflate_blob(const char *blob, const char *diff_id, FILE *tmp, struct err *e)
{
    cleanup_archive_read struct archive *r = archive_read_new();
    __attribute__((cleanup(cleanup_digestp))) struct digest md = {0};
    struct archive_entry *en;
    if (!r)
        return err_set(e, "out of memory"), -1;
    if (digest_init(&md, e) < 0)
        return -1;
    archive_read_support_filter_all(r);
    archive_read_support_format_raw(r);
    if (archive_read_open_filename(r, blob, 1 << 16) != ARCHIVE_OK ||
        archive_read_next_header(r, &en) != ARCHIVE_OK)
        return err_set(e, "reading layer %s: %s", blob, archive_error_string(r)), -1;
    int64_t total = 0;
    char buf[1 << 16];
    for (;;) {
        la_ssize_t n = archive_read_data(r, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0)
            return err_set(e, "reading layer %s: %s", blob, archive_error_string(r)), -1;
        digest_update(&md, buf, (size_t)n);
        if (fwrite(buf, 1, (size_t)n, tmp) != (size_t)n)
            return err_sys(e, errno, "writing temporary layer copy"), -1;
        total += n;
    }
    char got[OCI_DIGEST_LEN + 1] = "sha256:";
    digest_final_hex(&md, got + 7);
    if (strcmp(got, diff_id) != 0)
        return err_set(e, "layer %s: uncompressed content is %s, expected diff_id %s", blob,
                       got, diff_id), -1;
    return total;
}

static int put_layer(struct archive *a, const char *blob, const char *diff_id, int64_t epoch,
                     struct err *e)
{
    char name[128];
    snprintf(name, sizeof name, "%s/layer.tar", diff_id + 7);
    cleanup_file FILE *tmp = tmpfile();
    if (!tmp)
        return err_sys(e, errno, "cannot create a temporary file");
    int64_t size = inflate_blob(blob, diff_id, tmp, e);
    if (size < 0)
        return ERR;
    rewind(tmp);
    if (put_header(a, name, size, epoch, e) < 0)
        return ERR;
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, tmp)) > 0)
        if (put_data(a, name, buf, n, e) < 0)
            return ERR;
    if (ferror(tmp))
        return err_sys(e, EIO, "reading temporary layer copy");
    return 0;
}

/* Read a small blob into memory (the config). malloc'd, *n its size, or NULL. */
static char *slurp(const char *path, size_t *n, struct err *e)
{
    cleanup_file FILE *f = fopen(path, "rb");
    if (!f)
        return err_sys(e, errno, "cannot read %s", path), NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb)
            free(buf);
        buf = nb;
    }
    if (!buf || ferror(f)) {
        free(buf);
        return err_set(e, "cannot read %s", path), NULL;
    }
    *n = len;
    return buf;
}

static int write_entries(struct archive *a, const char *blobs_dir, const struct oci_desc *config,
                         const struct oci_desc *layers, const char *const *diff_ids,
                         size_t nlayers, const char *repo_tag, int64_t epoch, struct err *e)
{
    char path[4096], name[128];
    cleanup_json json_t *layer_names = json_array();
    for (size_t i = 0; i < nlayers; i++) {
        snprintf(name, sizeof name, "%s/layer.tar", diff_ids[i] + 7);
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= !strcmp(diff_ids[i], diff_ids[j]);
        json_array_append_new(layer_names, json_string(name));
        if (seen)
            continue;
        snprintf(path, sizeof path, "%s/%s", blobs_dir, layers[i].digest + 7);
        if (put_layer(a, path, diff_ids[i], epoch, e) < 0)
            return ERR;
    }
    snprintf(path, sizeof path, "%s/%s", blobs_dir, config->digest + 7);
    size_t n = 0;
    cleanup_free char *cfg = slurp(path, &n, e);
    if (!cfg)
        return ERR;
    snprintf(name, sizeof name, "%s.json", config->digest + 7);
    if (put_buffer(a, name, cfg, n, epoch, e) < 0)
        return ERR;
    cleanup_json json_t *man = json_pack("[{s:s, s:[s], s:O}]", "Config", name, "RepoTags",
                                         repo_tag, "Layers", layer_names);
    cleanup_free char *s = man ? oci_json_dump(man, e) : NULL;
    if (!s)
        return err_set(e, "out of memory");
    return put_buffer(a, "manifest.json", s, strlen(s), epoch, e);
}

int docker_archive_write(const char *path, const char *blobs_dir, const struct oci_desc *config,
                         const struct oci_desc *layers, const char *const *diff_ids,
                         size_t nlayers, const char *repo_tag, int64_t epoch, struct err *e)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cleanup_archive_write struct archive *a = archive_write_new();
    if (!a)
        return err_set(e, "out of memory");
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_add_filter_none(a) != ARCHIVE_OK ||
        archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
        if (archive_errno(a) > 0)
            return err_sys(e, archive_errno(a), "cannot write docker archive %s", tmp);
        return err_set(e, "cannot write docker archive %s: %s", tmp, archive_error_string(a));
    }
    int rc = write_entries(a, blobs_dir, config, layers, diff_ids, nlayers, repo_tag, epoch, e);
    if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
        rc = err_set(e, "%s", archive_error_string(a) ? archive_error_string(a) : "write failed");
    if (rc < 0) {
        unlink(tmp);
        return err_ctx(e, "docker archive %s", path);
    }
    if (rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        return err_sys(e, saved, "cannot rename %s to %s", tmp, path);
    }
    return 0;
}
