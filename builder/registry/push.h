/* builder/registry/push.h — publish one tag of an OCI image layout to a registry.
 *
 * push_layout(dir, tag, ref, &opts, &res, e) reads DIR/index.json, finds the entry whose
 * org.opencontainers.image.ref.name is TAG, or with TAG NULL the layout's only entry
 * (layout_find_tag; an image index, or a single manifest), and pushes, in this order, so
 * the tag never names something incomplete:
 *   1. every blob (configs and layers) of every platform manifest, in parallel
 *      (opts.jobs workers, blobxfer.h): HEAD -> skip when present; cross-repository
 *      mount from opts.from when given; else POST + monolithic PUT, or chunked PATCHes
 *      with Content-Range for blobs over opts.chunk_size or when the registry refuses a
 *      monolithic upload with 413 (chunks honour OCI-Chunk-Min-Length). 5xx, 429 and
 *      dropped connections are retried with backoff, re-HEADing first.
 *   2. every platform manifest, by digest, Content-Type = its media type; the
 *      registry's Docker-Content-Digest must equal ours.
 *   3. the index, under the tag (bytes unchanged, so its digest is the layout's).
 * Already-present manifests and an up-to-date tag are detected with HEAD and not sent
 * again, so a second push sends only HEAD requests.
 *
 * The destination tag is REF's tag, else TAG. Nothing is printed: progress updates, step
 * lines (--progress plain: one per blob, manifest and the tag, from any thread) and
 * --verbose lines go to the callbacks in opts (the command's), what was done is returned
 * in struct push_result (free it with push_result_free), and the command reports it. */
#ifndef ARMLET_PUSH_H
#define ARMLET_PUSH_H
#include <stdbool.h>
#include "util/error.h"

struct push_opts {
    const char *ca_cert;     /* --ca-cert FILE, or NULL for the system store */
    bool insecure;           /* --insecure: plain http */
    struct err_out verbose;  /* --verbose: one line per request (never secrets); say NULL: none */
    struct err_out progress; /* "\rarmlet: push: X / Y MiB sent ..." updates; say NULL: none */
    struct err_out steps;    /* "armlet: push: blob sha256:... (...): uploaded\n" ...; say NULL: none */
    const char *creds;       /* --creds USER:PASS, or NULL: env / docker config */
    const char *from;        /* --from REPO: mount blobs from this repository, or NULL */
    int jobs;                /* parallel blob uploads (0 = 4) */
    int retries;             /* per request/blob (0 = 5; negative = none) */
    long long chunk_size;    /* chunked upload for blobs larger than this (0 = never) */
    long timeout;            /* seconds a request may make no progress (0 = 60) */
};

/* A platform manifest of the pushed image. */
struct push_manifest {
    char platform[64];                  /* "linux/arm/v7", or "manifest" when unknown */
    char media[128];
    char digest[72];
    long long size;
};

/* What a successful push did. */
struct push_result {
    char pushed[1024];                  /* "HOST/REPO:TAG@sha256:..." */
    char tag[136];                      /* TAG, the destination tag */
    char media[128];                    /* what the tag names: index (or manifest) media type, */
    char digest[72];                    /* digest */
    long long size;                     /* and size */
    struct push_manifest *mans;         /* the index's manifests (or the one manifest) */
    size_t nman;
    unsigned uploaded, mounted, present; /* blobs */
    long long sent;                     /* bytes of blob bodies sent */
    double seconds;                     /* from the first blob to the tag */
    unsigned mans_sent;                 /* platform manifests sent ... */
    size_t mans_present;                /* ... and found already there */
    bool tag_sent;                      /* false: the tag was already up to date */
};

/* Free what *res holds (not res itself); a zeroed result is fine. */
void push_result_free(struct push_result *res);

/* Push TAG of the layout at oci_dir (tag NULL: the layout's only tag) to ref.
 * o may be NULL for defaults. Returns 0 with *res filled, or ERR with e naming what
 * failed (*res then zero). */
__attribute__((warn_unused_result))
int push_layout(const char *oci_dir, const char *tag, const char *ref, const struct push_opts *o,
                struct push_result *res, struct err *e);

#endif
