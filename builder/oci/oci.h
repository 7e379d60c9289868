/* builder/oci/oci.h — the OCI image JSON documents: config, manifest, image index, descriptors.
 *
 * Lifecycle of one platform's image:
 *     struct oci_config c = {...};                    // plain C arrays, nothing owned
 *     cleanup_json json_t *cfg = oci_config_new(&c, e);
 *     oci_json_blob_write(blobs, cfg, &cfg_desc, e);  // canonical bytes -> blobs/sha256/<hex>
 *     cleanup_json json_t *man = oci_manifest_new(&cfg_desc, layers, nlayers, e);
 *     oci_json_blob_write(blobs, man, &man_desc, e);
 *     oci_index_add(index, &man_desc, platform, e);   // index = oci_index_new()
 *
 * Every document is serialised canonically (oci_json_dump: compact, keys sorted, no
 * trailing newline), so the same inputs always give the same bytes and digests.
 * json_t results are new references the caller json_decref()s.
 */
#ifndef ARMLET_OCI_H
#define ARMLET_OCI_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "oci/digest.h"
#include "util/error.h"
#include "oci/media_type.h"
#include "util/platform.h"

#define OCI_REF_NAME    "org.opencontainers.image.ref.name"

/* A content descriptor: what a manifest or index says about a blob. */
struct oci_desc {
    char digest[DIGEST_PREFIXED_LEN + 1];
    uint64_t size;
    const char *media_type;     /* static string, not owned */
};

/* What goes into one image config. Arrays are borrowed; NULL/0 means "absent". */
struct oci_config {
    const struct platform *platform;
    int64_t created;                    /* epoch seconds: config.created and history */
    const char *const *entrypoint; size_t nentrypoint;
    const char *const *cmd; size_t ncmd;
    const char *const *env; size_t nenv;           /* "KEY=VALUE", in order */
    const char *user;                              /* "UID:GID" or NULL */
    const char *workdir;
    const char *const *exposed; size_t nexposed;   /* "8080/tcp" */
    const char *const *label_keys;
    const char *const *label_values; size_t nlabels;
    const char *stop_signal;
    /* Docker-style Healthcheck (ignored by OCI runtimes): test argv + durations in ns. */
    const char *const *health_test; size_t nhealth_test;
    long long health_interval_ns, health_timeout_ns;
    int health_retries;
    const char *const *diff_ids; size_t nlayers;   /* "sha256:<hex>" of each layer tar */
    const char *const *history;                    /* created_by of each layer, nlayers */
};

/* RFC 3339 UTC ("1970-01-01T00:00:00Z") of epoch seconds into buf. Returns 0 or ERR. */
int oci_rfc3339(int64_t epoch, char *buf, size_t n, struct err *e);

/* Canonical bytes of j: compact, sorted keys. Returns a malloc'd NUL-terminated string
 * (caller frees) or NULL with e set. */
char *oci_json_dump(const json_t *j, struct err *e);

/* Write n bytes as blobs_dir/<hex>: temporary file (fresh name, O_EXCL|O_NOFOLLOW),
 * fsync, rename. An existing file of that name is replaced, never trusted (it may be
 * corrupt). Builds write into their layout's staging folder (layout_stage_dir).
 * Fills d->digest and d->size (media_type untouched). Returns 0 or ERR. */
int oci_blob_write(const char *blobs_dir, const void *buf, size_t n, struct oci_desc *d,
                   struct err *e);
/* oci_json_dump + oci_blob_write. */
int oci_json_blob_write(const char *blobs_dir, const json_t *j, struct oci_desc *d,
                        struct err *e);

/* {"mediaType","digest","size"} of d. New reference or NULL on out of memory. */
json_t *oci_descriptor(const struct oci_desc *d);
/* The image config document, or NULL with e set. */
json_t *oci_config_new(const struct oci_config *c, struct err *e);
/* The image manifest: config descriptor + layer descriptors, or NULL with e set. */
json_t *oci_manifest_new(const struct oci_desc *config, const struct oci_desc *layers,
                         size_t nlayers, struct err *e);
/* Set doc's "annotations" to a copy of the object annots when it has any key (an empty or
 * NULL annots leaves doc as it is, so images without annotations keep their bytes).
 * 0 or ERR (out of memory). */
int oci_set_annotations(json_t *doc, const json_t *annots, struct err *e);
/* An empty image index {"schemaVersion":2,"mediaType":...,"manifests":[]}, or NULL. */
json_t *oci_index_new(void);
/* Append a manifest descriptor with its platform (variant only when non-empty). */
int oci_index_add(json_t *index, const struct oci_desc *manifest, const struct platform *p,
                  struct err *e);

#endif
