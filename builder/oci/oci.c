/* builder/oci/oci.c — see oci.h. */
#include "oci/oci.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "oci/digest.h"
#include "util/fdio.h"

int oci_rfc3339(int64_t epoch, char *buf, size_t n, struct err *e)
{
    struct tm tm;
    time_t t = (time_t)epoch;
    if (!gmtime_r(&t, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return err_set(e, "timestamp %lld cannot be written as RFC 3339", (long long)epoch);
    return 0;
}

char *oci_json_dump(const json_t *j, struct err *e)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        err_set(e, "cannot serialise JSON document");
    return s;
}

int oci_blob_write(const char *blobs_dir, const void *buf, size_t n, struct oci_desc *d,
                   struct err *e)
{
    if (digest_buffer(buf, n, d->digest, e) < 0)
        return ERR;
    d->size = n;
    /* Always written, even when a blob of that name exists: an existing file is not
     * trusted to hold these bytes (a corrupt same-size copy would be reused for ever).
     * The rename replaces it with the right bytes. */
    cleanup_close int dirfd = open(blobs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return err_sys(e, errno, "cannot open %s", blobs_dir);
    char tmp[64];
    cleanup_close int fd = fdio_create_tmp_at(dirfd, ".tmp-blob-", tmp, sizeof tmp, 0644);
    if (fd < 0)
        return err_sys(e, errno, "cannot create blob in %s", blobs_dir);
    if (fdio_write_all(fd, buf, n) < 0 || fsync(fd) < 0) {
        int saved = errno;
        unlinkat(dirfd, tmp, 0);
        return err_sys(e, saved, "cannot write blob %s/%s", blobs_dir, tmp);
    }
    if (renameat(dirfd, tmp, dirfd, d->digest + 7) < 0) {
        int saved = errno;
        unlinkat(dirfd, tmp, 0);
        return err_sys(e, saved, "cannot rename blob into %s/%s", blobs_dir, d->digest + 7);
    }
    return 0;
}

int oci_json_blob_write(const char *blobs_dir, const json_t *j, struct oci_desc *d,
                        struct err *e)
{
    cleanup_free char *s = oci_json_dump(j, e);
    if (!s)
        return ERR;
    return oci_blob_write(blobs_dir, s, strlen(s), d, e);
}

json_t *oci_descriptor(const struct oci_desc *d)
{
    return json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest", d->digest,
                     "size", (json_int_t)d->size);
}

/* A JSON array of n strings, or NULL on out of memory. */
static json_t *str_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Set key to an array of strings when n > 0; 0 or -1 on out of memory. */
static int set_array(json_t *obj, const char *key, const char *const *v, size_t n)
{
    if (n == 0)
        return 0;
    return json_object_set_new(obj, key, str_array(v, n));
}

/* Set key to a string when s is non-empty. */
static int set_str(json_t *obj, const char *key, const char *s)
{
    if (!s || !*s)
        return 0;
    return json_object_set_new(obj, key, json_string(s));
}

/* {k: {}} sets such as ExposedPorts, or k: {key: value} maps such as Labels. */
static int set_map(json_t *obj, const char *key, const char *const *keys,
                   const char *const *values, size_t n)
{
    if (n == 0)
        return 0;
    json_t *m = json_object();
    if (!m)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (json_object_set_new(m, keys[i], values ? json_string(values[i]) : json_object()) < 0) {
            json_decref(m);
            return -1;
        }
    return json_object_set_new(obj, key, m);
}

static int set_health(json_t *cfg, const struct oci_config *c)
{
    if (c->nhealth_test == 0)
        return 0;
    return json_object_set_new(
        cfg, "Healthcheck",
        json_pack("{s:o, s:I, s:I, s:i}", "Test", str_array(c->health_test, c->nhealth_test),
                  "Interval", (json_int_t)c->health_interval_ns, "Timeout",
                  (json_int_t)c->health_timeout_ns, "Retries", c->health_retries));
}

json_t *oci_config_new(const struct oci_config *c, struct err *e)
{
    char created[32];
    if (oci_rfc3339(c->created, created, sizeof created, e) < 0)
        return NULL;
    cleanup_json json_t *cfg = json_object();
    cleanup_json json_t *doc = json_object();
    cleanup_json json_t *history = json_array();
    if (!cfg || !doc || !history)
        goto oom;
    if (set_array(cfg, "Entrypoint", c->entrypoint, c->nentrypoint) < 0 ||
        set_array(cfg, "Cmd", c->cmd, c->ncmd) < 0 || set_array(cfg, "Env", c->env, c->nenv) < 0 ||
        set_str(cfg, "User", c->user) < 0 || set_str(cfg, "WorkingDir", c->workdir) < 0 ||
        set_map(cfg, "ExposedPorts", c->exposed, NULL, c->nexposed) < 0 ||
        set_map(cfg, "Labels", c->label_keys, c->label_values, c->nlabels) < 0 ||
        set_str(cfg, "StopSignal", c->stop_signal) < 0 || set_health(cfg, c) < 0)
        goto oom;
    for (size_t i = 0; i < c->nlayers; i++) {
        json_t *h = json_pack("{s:s, s:s}", "created", created, "created_by",
                              c->history && c->history[i] ? c->history[i] : "armlet build");
        if (json_array_append_new(history, h) < 0)
            goto oom;
    }
    json_t *rootfs = json_pack("{s:s, s:o}", "type", "layers", "diff_ids",
                               str_array(c->diff_ids, c->nlayers));
    if (json_object_set_new(doc, "rootfs", rootfs) < 0 ||
        json_object_set_new(doc, "created", json_string(created)) < 0 ||
        set_str(doc, "architecture", c->platform->arch) < 0 ||
        set_str(doc, "os", c->platform->os) < 0 ||
        set_str(doc, "variant", c->platform->variant) < 0 ||
        json_object_set(doc, "config", cfg) < 0 || json_object_set(doc, "history", history) < 0)
        goto oom;
    return steal_pointer(&doc);
oom:
    err_set(e, "out of memory building the image config");
    return NULL;
}

json_t *oci_manifest_new(const struct oci_desc *config, const struct oci_desc *layers,
                         size_t nlayers, struct err *e)
{
    cleanup_json json_t *arr = json_array();
    for (size_t i = 0; arr && i < nlayers; i++)
        if (json_array_append_new(arr, oci_descriptor(&layers[i])) < 0)
            goto oom;
    json_t *m = json_pack("{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType",
                          OCI_MT_MANIFEST, "config", oci_descriptor(config), "layers", arr);
    if (m)
        return m;
oom:
    err_set(e, "out of memory building the image manifest");
    return NULL;
}

int oci_set_annotations(json_t *doc, const json_t *annots, struct err *e)
{
    if (!annots || json_object_size(annots) == 0)
        return 0;
    if (json_object_set_new(doc, "annotations", json_deep_copy(annots)) < 0)
        return err_set(e, "out of memory setting annotations");
    return 0;
}

json_t *oci_index_new(void)
{
    return json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", OCI_MT_INDEX,
                     "manifests");
}

int oci_index_add(json_t *index, const struct oci_desc *manifest, const struct platform *p,
                  struct err *e)
{
    json_t *arr = json_object_get(index, "manifests");
    json_t *d = oci_descriptor(manifest);
    json_t *plat = json_pack("{s:s, s:s}", "architecture", p->arch, "os", p->os);
    if (!arr || !d || !plat || set_str(plat, "variant", p->variant) < 0 ||
        json_object_set_new(d, "platform", plat) < 0 || json_array_append_new(arr, d) < 0) {
        json_decref(d);
        return err_set(e, "out of memory building the image index");
    }
    return 0;
}
