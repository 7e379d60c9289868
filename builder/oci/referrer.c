/* builder/oci/referrer.c — see referrer.h. */
#include "oci/referrer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "oci/digest.h"
#include "util/fdio.h"

int referrer_write(const char *blobs_dir, const char *artifact_type, const void *data, size_t n,
                   const struct oci_desc *subject, int64_t created, struct oci_desc *out,
                   struct err *e)
{
    struct oci_desc payload = {.media_type = artifact_type};
    struct oci_desc empty = {.media_type = OCI_MT_EMPTY};
    char when[32];
    if (oci_blob_write(blobs_dir, data, n, &payload, e) < 0 ||
        oci_blob_write(blobs_dir, "{}", 2, &empty, e) < 0 ||
        oci_rfc3339(created, when, sizeof when, e) < 0)
        return ERR;
    cleanup_json json_t *m = json_pack(
        "{s:i,s:s,s:s,s:o,s:[o],s:o,s:{s:s}}", "schemaVersion", 2, "mediaType", OCI_MT_MANIFEST,
        "artifactType", artifact_type, "config", oci_descriptor(&empty), "layers",
        oci_descriptor(&payload), "subject", oci_descriptor(subject), "annotations",
        "org.opencontainers.image.created", when);
    if (!m)
        return err_set(e, "out of memory");
    out->media_type = OCI_MT_MANIFEST;
    return oci_json_blob_write(blobs_dir, m, out, e);
}

static int cmp_digest(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "digest")),
                  json_string_value(json_object_get(*(json_t *const *)b, "digest")));
}

/* The descriptor of blob hex when it is a manifest referring to subject, else NULL. */
static json_t *as_referrer(const struct layout *l, int dirfd, const char *hex,
                           const char *subject, const char *artifact_type)
{
    cleanup_close int fd = fdio_open_regular_at(dirfd, hex, NULL);
    char first = 0;
    if (fd < 0 || pread(fd, &first, 1, 0) != 1 || first != '{')
        return NULL;   /* layers (gzip, zstd, tar) and anything unreadable */
    char digest[DIGEST_PREFIXED_LEN + 1];
    snprintf(digest, sizeof digest, "sha256:%s", hex);
    struct err ignored;
    size_t n = 0;
    cleanup_free char *buf = layout_read_blob(l, digest, -1, &n, &ignored);
    cleanup_json json_t *doc = buf ? json_loadb(buf, n, 0, NULL) : NULL;
    const char *mt = json_string_value(json_object_get(doc, "mediaType"));
    const char *subj = json_string_value(json_object_get(json_object_get(doc, "subject"), "digest"));
    const char *at = json_string_value(json_object_get(doc, "artifactType"));
    if (!mt || !subj || strcmp(subj, subject) ||
        (strcmp(mt, OCI_MT_MANIFEST) && strcmp(mt, OCI_MT_ARTIFACT)))
        return NULL;
    if (!at)   /* image-spec: else the config's media type */
        at = json_string_value(json_object_get(json_object_get(doc, "config"), "mediaType"));
    if (artifact_type && (!at || strcmp(at, artifact_type)))
        return NULL;
    json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", mt, "digest", digest, "size", (json_int_t)n);
    if (d && at)
        json_object_set_new(d, "artifactType", json_string(at));
    json_t *ann = json_object_get(doc, "annotations");
    if (d && json_is_object(ann))
        json_object_set(d, "annotations", ann);
    return d;
}

json_t *referrer_list(const struct layout *l, const char *subject, const char *artifact_type,
                      struct err *e)
{
    const char *blobs = layout_blobs_dir(l);
    cleanup_close int dirfd = open(blobs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dirfd >= 0 ? fdio_opendir_fd(dirfd) : NULL;
    if (!d)
        return err_sys(e, errno, "%s", blobs), NULL;
    json_t *out = json_array();
    struct dirent *de;
    while (out && (de = readdir(d))) {
        if (!digest_hex_valid(de->d_name))
            continue;
        json_t *desc = as_referrer(l, dirfd, de->d_name, subject, artifact_type);
        if (desc && json_array_append_new(out, desc) < 0) {
            json_decref(out);
            out = NULL;
        }
    }
    closedir(d);
    if (!out)
        return err_set(e, "out of memory"), NULL;
    /* readdir's order is the file system's: sort, so answers are the same everywhere. */
    size_t n = json_array_size(out);
    json_t **v = calloc(n + 1, sizeof *v);
    if (!v) {
        json_decref(out);
        return err_set(e, "out of memory"), NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(out, i));
    qsort(v, n, sizeof *v, cmp_digest);
    json_array_clear(out);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
    free(v);
    return out;
}
