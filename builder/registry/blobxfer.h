/* builder/registry/blobxfer.h — bring a set of blobs into one repository of a registry,
 * several at a time: the blob transfer `armlet push` and `armlet index` share.
 *
 * Lifecycle:
 *     struct blobset set = {0};
 *     struct blobxfer_blob *b;
 *     if (blobset_add(&set, digest, size, "config of linux/arm64", &b, e) == 1)
 *         b->fd = ...;          // new: say where its bytes are (fd, or arg for opts.open)
 *     ...                       // and from which repository it may be mounted (b->from)
 *     struct blobxfer_opts o = {.reg = reg, .repo = "team/app", .label = "push"};
 *     struct blobxfer_result r;
 *     blobxfer_run(&set, &o, &r, e);
 *     blobset_free(&set);       // closes the fds the set holds
 *
 * The set keeps each digest once, in the order first added; the first add's where, fd,
 * arg and from are the ones used.
 *
 * blobxfer_run gives every blob of the set to one of opts.jobs workers (0 = 4, at most
 * 64), each with its own connection, and for each blob:
 *   1. HEAD /v2/<repo>/blobs/<digest>: 200 -> "already present";
 *   2. POST /v2/<repo>/blobs/uploads/, with ?mount=<digest>&from=<b->from> when the blob
 *      names a repository to mount from: 201 to a mount -> "mounted";
 *   3. otherwise (202 with a Location) its bytes: b->fd, or the fd opts.open(opts.open_arg,
 *      b) returns (called only now, so nothing is read or downloaded for a blob that is
 *      present or mounted; one call at a time; the fd is closed after the blob). One
 *      monolithic PUT ?digest=, or PATCHes with Content-Range then a closing PUT when the
 *      blob is larger than opts.chunk_size or the registry refused the monolithic PUT
 *      with 413 (chunks honour OCI-Chunk-Min-Length) -> "uploaded" / "uploaded in chunks".
 *      The registry's Docker-Content-Digest, when it sends one, must equal the blob's.
 * A transient failure (5xx, 429, a dropped connection) retries the blob from its HEAD
 * after registry_backoff(), at most registry_retries(reg) times. The first failure stops
 * every worker and is returned: "blob <digest> (<where>, <size> bytes): <request>: <why>".
 *
 * Nothing is printed: one step line per blob, "armlet: <label>: blob <digest> (<where>,
 * <size> bytes): <how>\n", goes to opts.steps (from any worker thread), and progress
 * updates "\rarmlet: <label>: X / Y MiB sent, Z MiB/s" (at most every 0.2 s, a last one
 * ending in "\n") to opts.progress. */
#ifndef ARMLET_BLOBXFER_H
#define ARMLET_BLOBXFER_H
#include <stddef.h>
#include "oci/digest.h"
#include "registry/registry.h"
#include "util/error.h"

struct blobxfer_blob {
    char digest[DIGEST_PREFIXED_LEN + 1];
    long long size;
    char where[96];       /* "config of linux/arm64", "linux/arm/v7": for step lines and errors */
    int fd;               /* its verified bytes (owned by the set, read with pread), or -1: opts.open */
    void *arg;            /* for opts.open (borrowed) */
    const char *from;     /* a repository of the same registry to mount it from, or NULL (borrowed) */
};

struct blobset {
    struct blobxfer_blob *v;
    size_t n;
    long long total;      /* the sizes of the blobs, summed */
};

/* Add digest (size bytes) to the set unless it is there: 1 with *out the new blob (fd -1,
 * arg and from NULL: the caller fills them), 0 with *out the blob already there, or ERR
 * (out of memory). *out is valid until the next add. */
__attribute__((warn_unused_result))
int blobset_add(struct blobset *s, const char *digest, long long size, const char *where,
                struct blobxfer_blob **out, struct err *e);
/* Close the fds the set holds and free it; a zeroed set is fine. */
void blobset_free(struct blobset *s);

struct blobxfer_opts {
    struct registry *reg;     /* the destination (borrowed; shared by the workers) */
    const char *repo;         /* its repository */
    int jobs;                 /* parallel blobs (0 = 4, at most 64) */
    long long chunk_size;     /* chunked upload for blobs larger than this (0 = only after a 413) */
    const char *label;        /* "push", "index": the word after "armlet: " in lines */
    struct err_out steps;     /* one line per blob; say NULL: none */
    struct err_out progress;  /* "\r..." updates; say NULL: none */
    /* For a blob without an fd: a read-only fd of its verified bytes (the caller's to
     * close after), or -1 with e set. NULL: every blob has an fd. */
    int (*open)(void *open_arg, const struct blobxfer_blob *b, struct err *e);
    void *open_arg;
};

struct blobxfer_result {
    unsigned present, mounted, uploaded;   /* blobs */
    long long sent;                        /* bytes of blob bodies sent */
};

/* Bring every blob of s into opts.repo (see above). 0 with *r filled, or ERR with e
 * naming the first blob that failed (*r then holds what was done before). */
__attribute__((warn_unused_result))
int blobxfer_run(const struct blobset *s, const struct blobxfer_opts *o, struct blobxfer_result *r,
                 struct err *e);

#endif
