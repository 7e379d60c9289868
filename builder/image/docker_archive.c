/* builder/image/docker_archive.c — see docker_archive.h. */
#include "image/docker_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "oci/digest.h"

#define CONFIG_MAX (16u << 20)   /* an image config is a few KiB */

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

/* Open blobs_dir/<hex of digest> as a regular file (no symlink, FIFO or device). */
static int open_blob(int blobsfd, const char *blobs_dir, const char *digest, struct err *e)
{
    int fd = fdio_open_regular_at(blobsfd, digest + 7, NULL);
    if (fd == FDIO_NOT_REGULAR || (fd < 0 && errno == ELOOP))
        return err_set(e, "blob %s/%s is %s, not a regular file", blobs_dir, digest + 7,
                       fdio_kind_at(blobsfd, digest + 7));
    if (fd < 0)
        return err_sys(e, errno, "cannot read blob %s/%s", blobs_dir, digest + 7);
    return fd;
}

/* Inflate blob fd into tmp (any compression libarchive reads), checking its sha256 is
 * diff_id. Returns the uncompressed size, or -1 with e set. */
static int64_t inflate_blob(int fd, const char *blob, const char *diff_id, FILE *tmp,
                            struct err *e)
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
    if (archive_read_open_fd(r, fd, 1 << 16) != ARCHIVE_OK ||
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
    char got[DIGEST_PREFIXED_LEN + 1];
    digest_final(&md, got);
    if (strcmp(got, diff_id) != 0)
        return err_set(e, "layer %s: uncompressed content is %s, expected diff_id %s", blob,
                       got, diff_id), -1;
    return total;
}

static int put_layer(struct archive *a, int blobsfd, const char *blobs_dir, const char *digest,
                     const char *diff_id, int64_t epoch, struct err *e)
{
    char name[128], blob[4200];
    snprintf(name, sizeof name, "%s/layer.tar", diff_id + 7);
    snprintf(blob, sizeof blob, "%s/%s", blobs_dir, digest + 7);
    cleanup_close int fd = open_blob(blobsfd, blobs_dir, digest, e);
    if (fd < 0)
        return ERR;
    cleanup_file FILE *tmp = tmpfile();
    if (!tmp)
        return err_sys(e, errno, "cannot create a temporary file");
    int64_t size = inflate_blob(fd, blob, diff_id, tmp, e);
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

static int write_entries(struct archive *a, const char *blobs_dir, const struct oci_desc *config,
                         const struct oci_desc *layers, const char *const *diff_ids,
                         size_t nlayers, const char *repo_tag, int64_t epoch, struct err *e)
{
    char name[128];
    cleanup_close int blobsfd = open(blobs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (blobsfd < 0)
        return err_sys(e, errno, "cannot open %s", blobs_dir);
    cleanup_json json_t *layer_names = json_array();
    for (size_t i = 0; i < nlayers; i++) {
        snprintf(name, sizeof name, "%s/layer.tar", diff_ids[i] + 7);
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= !strcmp(diff_ids[i], diff_ids[j]);
        json_array_append_new(layer_names, json_string(name));
        if (seen)
            continue;
        if (put_layer(a, blobsfd, blobs_dir, layers[i].digest, diff_ids[i], epoch, e) < 0)
            return ERR;
    }
    size_t n = 0;
    cleanup_free char *cfg = NULL;
    cleanup_close int cfd = open_blob(blobsfd, blobs_dir, config->digest, e);
    if (cfd < 0)
        return ERR;
    if (fdio_read_fd(cfd, CONFIG_MAX, &cfg, &n) < 0)
        return err_set(e, "cannot read config blob %s/%s (at most %u bytes)", blobs_dir,
                       config->digest + 7, CONFIG_MAX);
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
                         size_t nlayers, const char *repo_tag, int64_t epoch,
                         struct fdio_pending *out, struct err *e)
{
    /* A fresh temporary name (O_EXCL|O_NOFOLLOW): a planted FILE.tmp symlink is never
     * followed, an existing file never truncated. */
    cleanup_close int fd = fdio_pending_file(out, path);
    if (fd < 0)
        return err_sys(e, errno, "cannot write docker archive %s.tmp", path);
    struct stat st;
    if (fstatat(out->dirfd, out->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        fdio_pending_finish(out);
        return err_set(e, "docker archive %s is a folder; give a file name", path);
    }
    cleanup_archive_write struct archive *a = archive_write_new();
    int rc = a ? 0 : err_set(e, "out of memory");
    if (rc == 0 && (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
                    archive_write_add_filter_none(a) != ARCHIVE_OK ||
                    archive_write_open_fd(a, fd) != ARCHIVE_OK))
        rc = archive_errno(a) > 0
                 ? err_sys(e, archive_errno(a), "cannot write docker archive %s", out->path)
                 : err_set(e, "cannot write docker archive %s: %s", out->path,
                           archive_error_string(a));
    if (rc == 0)
        rc = write_entries(a, blobs_dir, config, layers, diff_ids, nlayers, repo_tag, epoch, e);
    if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
        rc = err_set(e, "%s", archive_error_string(a) ? archive_error_string(a) : "write failed");
    if (rc == 0 && fsync(fd) < 0)
        rc = err_sys(e, errno, "cannot write %s", out->path);
    if (rc < 0) {
        fdio_pending_finish(out);
        return err_ctx(e, "docker archive %s", path);
    }
    return 0;
}
