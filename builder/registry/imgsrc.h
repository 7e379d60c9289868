/* builder/registry/imgsrc.h — where `armlet index` reads images from: an OCI layout or a
 * repository of a registry, behind one small interface.
 *
 * Lifecycle:
 *     struct imgloc loc;
 *     imgloc_parse("oci:out/amd64:app", &loc, e);        // or "127.0.0.1:5000/app:1@sha256:..."
 *     struct imgsrc *s = NULL;
 *     imgsrc_open(&loc, &opts, shared_layout, &s, e);    // layout: shared lock; registry: ping + auth
 *     imgsrc_top(s, &doc, e);                            // what the tag (or digest) names
 *     imgsrc_manifest(s, digest, size, &doc, e);         // a manifest, by digest, verified
 *     imgsrc_blob_mem(s, digest, size, &bytes, &n, e);   // a config, verified
 *     int fd = imgsrc_blob_fd(s, digest, size, e);        // a layer, as a verified file
 *     imgsrc_close(s);
 *
 * Every byte read is checked against the digest that named it (and the size, when one
 * is given) before it is used: a registry or a layout cannot substitute content.
 * A layout is opened read-only with a shared lock; when it is also the destination
 * (index add oci:dir:tag oci:dir:other) the caller passes its own writable handle as
 * `shared`, so the process does not wait on its own exclusive lock. A registry source
 * gets its own struct registry (its own token, scope repository:<repo>:pull,push).
 * Manifests read from a registry are limited to 64 KiB (what registry.h keeps of a
 * body); configs to 16 MiB; layers are downloaded into an unlinked file under $TMPDIR.
 */
#ifndef ARMLET_IMGSRC_H
#define ARMLET_IMGSRC_H
#include <stdbool.h>
#include <stddef.h>
#include "oci/digest.h"
#include "util/error.h"
#include "oci/layout.h"
#include "registry/reference.h"
#include "registry/registry.h"

enum imgloc_kind { IMGLOC_LAYOUT = 1, IMGLOC_REGISTRY };

struct imgloc {
    enum imgloc_kind kind;
    char text[1200];      /* as the user wrote it, for messages */
    char dir[4096];       /* layout folder */
    char tag[129];        /* layout tag or registry tag; "" = layout's only tag / "latest" */
    struct ref ref;       /* registry reference (digest may be set) */
};

/* "oci:DIR[:TAG]" -> layout; "docker://REF" or "REF" -> registry (Docker's grammar,
 * "@sha256:..." accepted). 0 or ERR naming the argument. */
__attribute__((warn_unused_result))
int imgloc_parse(const char *s, struct imgloc *loc, struct err *e);

/* How registries are reached (the same options for every registry named). */
struct imgsrc_opts {
    const char *ca_cert;
    bool insecure;
    const char *creds;          /* USER:PASS for every registry, or NULL: env / docker config */
    struct err_out verbose;
    long timeout;
    int retries;
    const char *extra_scope;    /* scopes asked besides the repository's own, or NULL */
};

/* A document read from a source: its exact bytes, digest and media type. */
struct imgdoc {
    char *bytes;                /* malloc'd, NUL-terminated; imgdoc_free */
    size_t len;
    char digest[DIGEST_PREFIXED_LEN + 1];
    char media[128];
};
void imgdoc_free(struct imgdoc *d);

struct imgsrc;

/* Open loc. For a layout, shared (may be NULL) is a handle of the same folder already
 * open in this process; it is borrowed. 0 with *out, or ERR. */
__attribute__((warn_unused_result))
int imgsrc_open(const struct imgloc *loc, const struct imgsrc_opts *o, struct layout *shared,
                struct imgsrc **out, struct err *e);
void imgsrc_close(struct imgsrc *s);

const struct imgloc *imgsrc_loc(const struct imgsrc *s);
/* The registry of a registry source (borrowed), or NULL for a layout. */
struct registry *imgsrc_registry(const struct imgsrc *s);

/* What the location names: the layout's tag entry, or the registry's tag / digest.
 * ERR when it does not exist (missing is 1 in *missing then, may be NULL). */
int imgsrc_top(struct imgsrc *s, struct imgdoc *d, bool *missing, struct err *e);
/* A manifest by digest (size < 0: unknown). */
int imgsrc_manifest(struct imgsrc *s, const char *digest, long long size, const char *media,
                    struct imgdoc *d, struct err *e);
/* A small blob (a config) by digest into memory. */
int imgsrc_blob_mem(struct imgsrc *s, const char *digest, long long size, struct imgdoc *d,
                    struct err *e);
/* A blob as a verified read-only file descriptor (caller closes; read with pread), or -1
 * with e set. */
int imgsrc_blob_fd(struct imgsrc *s, const char *digest, long long size, struct err *e);

/* The media type a manifest document declares, or the one its shape implies ("manifests"
 * = an index), into out. */
void imgsrc_media_of(const char *bytes, size_t len, const char *hint, char *out, size_t cap);
/* True for an OCI index or a Docker manifest list. */
bool imgsrc_is_index(const char *media);

#endif
