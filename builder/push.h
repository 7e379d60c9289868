/* builder/push.h — publish one tag of an OCI image layout to a registry.
 *
 * push_layout(dir, tag, ref, &opts, e) reads DIR/index.json, finds the entry whose
 * org.opencontainers.image.ref.name is TAG (an image index, or a single manifest),
 * and pushes, in this order, so the tag never names something incomplete:
 *   1. every blob (configs and layers) of every platform manifest, in parallel
 *      (opts.jobs workers): HEAD -> skip when present; cross-repository mount from
 *      opts.from when given; else POST + monolithic PUT, or chunked PATCHes with
 *      Content-Range for blobs over opts.chunk_size or when the registry refuses a
 *      monolithic upload with 413 (chunks honour OCI-Chunk-Min-Length). 5xx, 429 and
 *      dropped connections are retried with backoff, re-HEADing first.
 *   2. every platform manifest, by digest, Content-Type = its media type; the
 *      registry's Docker-Content-Digest must equal ours.
 *   3. the index, under the tag (bytes unchanged, so its digest is the layout's).
 * Already-present manifests and an up-to-date tag are detected with HEAD and not sent
 * again, so a second push sends only HEAD requests.
 *
 * The destination tag is REF's tag, else TAG. A progress line goes to stderr when it is
 * a terminal; the result line "pushed HOST/REPO:TAG@sha256:..." goes to stdout. */
#ifndef ARMLET_PUSH_H
#define ARMLET_PUSH_H
#include <stdbool.h>
#include "error.h"

struct push_opts {
    const char *ca_cert;     /* --ca-cert FILE, or NULL for the system store */
    bool insecure;           /* --insecure: plain http */
    bool verbose;            /* --verbose: one line per request (never secrets) */
    const char *creds;       /* --creds USER:PASS, or NULL: env / docker config */
    const char *from;        /* --from REPO: mount blobs from this repository, or NULL */
    int jobs;                /* parallel blob uploads (0 = 4) */
    int retries;             /* per request/blob (0 = 5; negative = none) */
    long long chunk_size;    /* chunked upload for blobs larger than this (0 = never) */
    long timeout;            /* seconds a request may make no progress (0 = 60) */
};

/* Push TAG of the layout at oci_dir (tag NULL: the layout's only tag) to ref.
 * o may be NULL for defaults. Returns 0, or ERR with e naming what failed. */
__attribute__((warn_unused_result))
int push_layout(const char *oci_dir, const char *tag, const char *ref, const struct push_opts *o,
                struct err *e);

#endif
