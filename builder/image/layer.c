/* builder/image/layer.c — see layer.h.
 *
 * One pass over the data, spread over threads like a shell pipeline:
 *
 *   caller's thread:   tree (sorted) -> libarchive tar writer -> on_write()
 *                        -> sha256 (diff_id) -> a ring of 1 MiB blocks
 *   worker thread(s):  gzip: any worker compresses any block into a gzip member of its
 *                        own (header, deflate, crc32, length); written in order
 *                      zstd / none: one worker streams the blocks in order
 *                        -> sha256 (digest) -> temp file in blobs_dir
 *
 * The bytes never depend on the number of threads or CPUs: gzip blocks are cut at fixed
 * 1 MiB offsets of the tar and each is a complete member that depends on nothing but
 * its own bytes, so the blob is the members concatenated (RFC 1952 2.2: a gzip file is
 * a series of members; gzip, zlib's gunzip loop, Go's compress/gzip as used by
 * containerd, docker, podman, skopeo and umoci, python's gzip and libarchive read them
 * all). zstd runs with a FIXED two workers (never the CPU count): libzstd's
 * multi-threaded format cuts jobs by size, not by thread, so the bytes are the same
 * whether one CPU or sixteen run them (tested with taskset).
 *
 * Compression is done here with libdeflate and libzstd rather than libarchive's filters
 * so every setting that changes the bytes is pinned in this file: libdeflate level 6
 * (no dictionary, whole block at once: libdeflate has no streaming API, and is about
 * twice as fast as zlib at level 6 with a smaller output); each member's header has
 * mtime 0, no name, XFL 0, OS 3 (Unix); zstd level 3, nbWorkers 2 (fixed), checksum on,
 * no content size. The libdeflate version pins the gzip bytes as the zlib version did.
 */
#include "image/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zstd.h>

#include "util/cleanup.h"
#include "oci/digest.h"
#include "util/fdio.h"
#include "oci/media_type.h"

#define OUT_BUF (1u << 20)    /* streamed output gathered before a write(2) */
#define READ_BUF (1u << 20)   /* host file content read per call */
#define BLOCK (1u << 20)      /* tar bytes per ring slot, and per gzip member */
#define GZIP_LEVEL 6          /* libdeflate level: see docs/README-layers.md */
#define GZIP_HEAD 10          /* member header bytes */
#define GZIP_TAIL 8           /* member trailer: crc32, length */
#define MAX_WORKERS 8

int layer_compress_parse(const char *s, enum compress *c, struct err *e)
{
    if (strcmp(s, "gzip") == 0)
        *c = COMPRESS_GZIP;
    else if (strcmp(s, "zstd") == 0)
        *c = COMPRESS_ZSTD;
    else if (strcmp(s, "none") == 0)
        *c = COMPRESS_NONE;
    else
        return err_set(e, "compression \"%s\": expected gzip, zstd or none", s);
    return 0;
}

/* ------------------------------------------------------------------ the sink */

struct slot {
    unsigned char *in;           /* BLOCK bytes of tar */
    size_t in_len;
    unsigned char *out;          /* gzip: the block as one gzip member */
    size_t out_len, out_cap;
    int ready;                   /* gzip: deflated, waiting to be written */
};

struct sink {
    enum compress c;
    int fd;
    const char *dir;             /* blobs_dir, for messages */
    struct digest tar_d, blob_d;
    uint64_t tar_size, blob_size;
    ZSTD_CCtx *zc;               /* zstd: the one stream */
    unsigned char *obuf;         /* zstd/none: output gathered, olen used */
    size_t olen;
    struct err *pe;              /* the tar side's errors: the caller's */
    /* The ring: the tar side fills slot[produced % nslots]; workers take slots in
     * order (claimed) and output is written in order (written). A slot is free again
     * once written. Counters and flags under mu, every change broadcast on cv. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int sync_ready;
    pthread_t threads[MAX_WORKERS];
    int nthreads;
    struct slot *slots;
    size_t nslots;
    uint64_t produced, claimed, written;
    int writing;                 /* a gzip worker is writing output */
    int done;                    /* the tar side will submit nothing more */
    int cancel;                  /* ...and the stream is abandoned */
    int failed;                  /* a worker failed: cerr holds its error */
    struct err cerr;
    /* tar side only */
    size_t fill;                 /* bytes in the slot being filled */
    int relay_failed;            /* cerr was copied to pe */
};

/* Output bytes, in order: file, digest, size. One writer at a time. */
static int write_blob(struct sink *s, const unsigned char *buf, size_t n, struct err *e)
{
    digest_update(&s->blob_d, buf, n);
    s->blob_size += n;
    if (fdio_write_all(s->fd, buf, n) < 0)
        return err_sys(e, errno, "writing a blob into %s", s->dir);
    return 0;
}

static int flush_out(struct sink *s, struct err *e)
{
    int rc = write_blob(s, s->obuf, s->olen, e);
    s->olen = 0;
    return rc;
}

static int feed_zstd(struct sink *s, const void *buf, size_t n, int finish, struct err *e)
{
    ZSTD_inBuffer in = {buf, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {s->obuf + s->olen, OUT_BUF - s->olen, 0};
        size_t rem = ZSTD_compressStream2(s->zc, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(rem))
            return err_set(e, "zstd: %s", ZSTD_getErrorName(rem));
        s->olen += out.pos;
        if (s->olen == OUT_BUF && flush_out(s, e) < 0)
            return ERR;
        if (finish ? rem == 0 : in.pos == in.size)
            return 0;
    }
}

static int feed_none(struct sink *s, const void *buf, size_t n, struct err *e)
{
    const unsigned char *p = buf;
    while (n) {
        size_t k = OUT_BUF - s->olen < n ? OUT_BUF - s->olen : n;
        memcpy(s->obuf + s->olen, p, k);
        s->olen += k;
        p += k;
        n -= k;
        if (s->olen == OUT_BUF && flush_out(s, e) < 0)
            return ERR;
    }
    return 0;
}

/* Record a worker's failure (the first one wins). Called with mu held. */
static void worker_failed(struct sink *s, const struct err *e)
{
    if (!s->failed) {
        s->cerr = *e;
        s->failed = 1;
    }
    pthread_cond_broadcast(&s->cv);
}

/* zstd / none: the only worker, streaming every block in order. */
static void *stream_worker(void *arg)
{
    struct sink *s = arg;
    struct err e = {0};
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->written == s->produced && !s->done)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->cancel || s->written == s->produced)
            break;
        const struct slot *sl = &s->slots[s->written % s->nslots];
        pthread_mutex_unlock(&s->mu);
        rc = s->c == COMPRESS_ZSTD ? feed_zstd(s, sl->in, sl->in_len, 0, &e)
                                   : feed_none(s, sl->in, sl->in_len, &e);
        pthread_mutex_lock(&s->mu);
        if (rc < 0)
            break;
        s->written++;
        pthread_cond_broadcast(&s->cv);
    }
    int finish = rc == 0 && !s->cancel;
    pthread_mutex_unlock(&s->mu);
    if (finish && s->c == COMPRESS_ZSTD)
        rc = feed_zstd(s, NULL, 0, 1, &e);
    if (finish && rc == 0)
        rc = flush_out(s, &e);
    pthread_mutex_lock(&s->mu);
    if (rc < 0)
        worker_failed(s, &e);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Header of every gzip member: no name, no comment, mtime 0, XFL 0, OS 3 (Unix). */
static const unsigned char GZIP_HEADER[GZIP_HEAD] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* in[0..n) as one whole gzip member into out (room for libdeflate's bound plus header
 * and trailer). Depends on nothing but the bytes. Returns its length, 0 on failure. */
static size_t gzip_member(struct libdeflate_compressor *c, const unsigned char *in, size_t n,
                          unsigned char *out, size_t cap)
{
    memcpy(out, GZIP_HEADER, GZIP_HEAD);
    size_t k = libdeflate_deflate_compress(c, in, n, out + GZIP_HEAD, cap - GZIP_HEAD - GZIP_TAIL);
    if (k == 0)
        return 0;
    put_le32(out + GZIP_HEAD + k, libdeflate_crc32(0, in, n));
    put_le32(out + GZIP_HEAD + k + 4, (uint32_t)n);
    return GZIP_HEAD + k + GZIP_TAIL;
}

static int deflate_block(struct libdeflate_compressor *c, struct slot *sl, struct err *e)
{
    sl->out_len = gzip_member(c, sl->in, sl->in_len, sl->out, sl->out_cap);
    return sl->out_len ? 0 : err_set(e, "gzip: libdeflate failed on a %zu-byte block", sl->in_len);
}

/* Write every deflated block that is next in order, unless another worker already is.
 * Called and returns with mu held. */
static int write_ready(struct sink *s, struct err *e)
{
    while (!s->writing && s->written < s->claimed && s->slots[s->written % s->nslots].ready) {
        struct slot *sl = &s->slots[s->written % s->nslots];
        s->writing = 1;
        pthread_mutex_unlock(&s->mu);
        int rc = write_blob(s, sl->out, sl->out_len, e);
        pthread_mutex_lock(&s->mu);
        s->writing = 0;
        if (rc < 0)
            return ERR;
        sl->ready = 0;
        s->written++;
        pthread_cond_broadcast(&s->cv);
    }
    return 0;
}

static void *gzip_worker(void *arg)
{
    struct sink *s = arg;
    struct err e = {0};
    struct libdeflate_compressor *z = libdeflate_alloc_compressor(GZIP_LEVEL);
    int rc = z ? 0 : err_set(&e, "gzip: cannot allocate a libdeflate compressor");
    pthread_mutex_lock(&s->mu);
    while (rc == 0) {
        while (s->claimed == s->produced && !s->done && !s->failed)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->failed || s->cancel || s->claimed == s->produced)
            break;
        struct slot *sl = &s->slots[s->claimed++ % s->nslots];
        pthread_mutex_unlock(&s->mu);
        rc = deflate_block(z, sl, &e);
        pthread_mutex_lock(&s->mu);
        if (rc == 0) {
            sl->ready = 1;
            rc = write_ready(s, &e);
        }
    }
    if (rc < 0)
        worker_failed(s, &e);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    libdeflate_free_compressor(z);
    return NULL;
}

/* Tar side: hand the filled slot to the workers; wait while every slot is in flight.
 * Returns ERR (the worker's error copied into pe) once a worker failed. */
static int relay_submit(struct sink *s)
{
    struct slot *sl = &s->slots[s->produced % s->nslots];
    sl->in_len = s->fill;
    s->fill = 0;
    pthread_mutex_lock(&s->mu);
    s->produced++;
    pthread_cond_broadcast(&s->cv);
    while (s->produced - s->written >= s->nslots && !s->failed)
        pthread_cond_wait(&s->cv, &s->mu);
    int failed = s->failed;
    if (failed && !s->relay_failed) {
        *s->pe = s->cerr;
        s->relay_failed = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return failed ? ERR : 0;
}

static int online_cpus(void)
{
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : n;
}

static int relay_start(struct sink *s, struct err *e)
{
    void *(*fn)(void *) = s->c == COMPRESS_GZIP ? gzip_worker : stream_worker;
    int want = s->c == COMPRESS_GZIP ? online_cpus() : 1;
    for (int i = 0; i < want; i++) {
        if (pthread_create(&s->threads[i], NULL, fn, s) != 0)
            return err_set(e, "cannot start a compressor thread");
        s->nthreads++;
    }
    return 0;
}

/* Tar side: no more data (cancel: abandon the stream). Joins the workers. A gzip
 * stream of no block at all (never from tar, which ends in zero records) is one empty
 * member, so the blob is still valid gzip. */
static int relay_end(struct sink *s, int cancel)
{
    int rc = 0;
    if (s->nthreads && !cancel && s->fill)
        rc = relay_submit(s);
    if (s->sync_ready) {
        pthread_mutex_lock(&s->mu);
        s->done = 1;
        s->cancel = cancel || rc < 0;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    for (int i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    int had_threads = s->nthreads;
    s->nthreads = 0;
    if (cancel || rc < 0 || !had_threads)
        return rc;
    if (s->failed) {
        if (!s->relay_failed)
            *s->pe = s->cerr;
        return ERR;
    }
    if (s->written != s->produced)
        return err_set(s->pe, "layer: %llu of %llu blocks written",
                       (unsigned long long)s->written, (unsigned long long)s->produced);
    if (s->c == COMPRESS_GZIP && s->produced == 0) {
        unsigned char m[GZIP_HEAD + 2 + GZIP_TAIL] = {0};
        memcpy(m, GZIP_HEADER, GZIP_HEAD);
        m[GZIP_HEAD] = 0x03;   /* empty final fixed-Huffman block; crc 0, length 0 */
        return write_blob(s, m, sizeof m, s->pe);
    }
    return 0;
}

static la_ssize_t on_write(struct archive *a, void *ud, const void *buf, size_t n)
{
    struct sink *s = ud;
    const unsigned char *p = buf;
    digest_update(&s->tar_d, buf, n);
    s->tar_size += n;
    for (size_t left = n; left;) {
        size_t k = BLOCK - s->fill < left ? BLOCK - s->fill : left;
        memcpy(s->slots[s->produced % s->nslots].in + s->fill, p, k);
        s->fill += k;
        p += k;
        left -= k;
        if (s->fill == BLOCK && relay_submit(s) < 0) {
            archive_set_error(a, EIO, "%s", s->pe->msg);
            return -1;
        }
    }
    return (la_ssize_t)n;
}

static int sink_open(struct sink *s, enum compress c, struct err *e)
{
    s->c = c;
    s->pe = e;
    if (digest_init(&s->tar_d, e) < 0 || digest_init(&s->blob_d, e) < 0)
        return ERR;
    s->nslots = c == COMPRESS_GZIP ? 2 * (size_t)online_cpus() + 2 : 4;
    if (!(s->slots = calloc(s->nslots, sizeof *s->slots)))
        return err_set(e, "out of memory");
    for (size_t i = 0; i < s->nslots; i++) {
        struct slot *sl = &s->slots[i];
        if (!(sl->in = malloc(BLOCK)))
            return err_set(e, "out of memory");
        if (c == COMPRESS_GZIP) {
            sl->out_cap = libdeflate_deflate_compress_bound(NULL, BLOCK) + GZIP_HEAD + GZIP_TAIL;
            if (!(sl->out = malloc(sl->out_cap)))
                return err_set(e, "out of memory");
        }
    }
    if (c != COMPRESS_GZIP && !(s->obuf = malloc(OUT_BUF)))
        return err_set(e, "out of memory");
    if (c == COMPRESS_ZSTD) {
        if (!(s->zc = ZSTD_createCCtx()))
            return err_set(e, "zstd: out of memory");
        size_t r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, 3);
        if (!ZSTD_isError(r))
            r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_nbWorkers, 2);
        if (!ZSTD_isError(r))
            r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, 1);
        if (!ZSTD_isError(r))
            r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_contentSizeFlag, 0);
        if (ZSTD_isError(r))
            return err_set(e, "zstd: %s", ZSTD_getErrorName(r));
    }
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return err_set(e, "cannot create a mutex");
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        return err_set(e, "cannot create a condition variable");
    }
    s->sync_ready = 1;
    return 0;
}

static void sink_close(struct sink *s)
{
    relay_end(s, 1);
    if (s->sync_ready) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
    }
    for (size_t i = 0; s->slots && i < s->nslots; i++) {
        free(s->slots[i].in);
        free(s->slots[i].out);
    }
    free(s->slots);
    ZSTD_freeCCtx(s->zc);
    digest_abort(&s->tar_d);
    digest_abort(&s->blob_d);
    free(s->obuf);
}

/* ------------------------------------------------------------------ hard links */

/* A tar hard link must name a file written before it. Of every group of names for one
 * file, the one written first (the smallest path, unless tree_set_first moved another
 * ahead) carries the content and the others link to it, wherever the tree's link
 * target is written. */
struct hl_group {
    const struct tree_node *file;   /* the TREE_FILE node holding content and metadata */
    const char *first;              /* path of the group written first */
};

static int cmp_group(const void *a, const void *b)
{
    const struct hl_group *x = a, *y = b;
    return x->file < y->file ? -1 : x->file > y->file;
}

static const struct hl_group *hl_find(const struct hl_group *g, size_t ng,
                                      const struct tree_node *file)
{
    struct hl_group key = {file, NULL};
    return ng ? bsearch(&key, g, ng, sizeof *g, cmp_group) : NULL;
}

/* nodes: in the order they are written. */
static int hl_groups(struct tree *t, const struct tree_node **nodes, size_t n,
                     struct hl_group **out, size_t *nout, struct err *e)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += nodes[i]->kind == TREE_HARDLINK;
    *out = NULL;
    *nout = 0;
    if (!k)
        return 0;
    struct hl_group *g = calloc(k, sizeof *g);
    if (!g)
        return err_set(e, "out of memory");
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        if (nodes[i]->kind != TREE_HARDLINK)
            continue;
        const struct tree_node *f = tree_get(t, nodes[i]->target);
        if (!f || f->kind != TREE_FILE) {
            free(g);
            return err_set(e, "\"/%s\": hard link target \"/%s\" is no longer a file",
                           nodes[i]->path, nodes[i]->target);
        }
        size_t j = 0;
        while (j < ng && g[j].file != f)
            j++;
        if (j == ng)
            g[ng++] = (struct hl_group){f, NULL};
    }
    qsort(g, ng, sizeof *g, cmp_group);
    /* the first name of each group in write order, the file itself or one of its links */
    for (size_t i = 0; i < n; i++) {
        const struct tree_node *f = nodes[i]->kind == TREE_FILE ? nodes[i]
                                    : nodes[i]->kind == TREE_HARDLINK ? tree_get(t, nodes[i]->target)
                                    : NULL;
        struct hl_group key = {f, NULL};
        struct hl_group *grp = f ? bsearch(&key, g, ng, sizeof *g, cmp_group) : NULL;
        if (grp && !grp->first)
            grp->first = nodes[i]->path;
    }
    *out = g;
    *nout = ng;
    return 0;
}

/* ------------------------------------------------------------------ entries */

static int ar_check(struct archive *a, int r, const char *what, const char *path, struct sink *s)
{
    if (r == ARCHIVE_OK || r == ARCHIVE_WARN)   /* WARN: written (e.g. a charset note) */
        return 0;
    if (s->relay_failed)   /* the compressor's error, already in pe */
        return err_ctx(s->pe, "\"/%s\"", path);
    return err_set(s->pe, "\"/%s\": tar %s: %s", path, what, archive_error_string(a));
}

static int write_file_data(struct archive *a, const struct tree_node *f, const char *path,
                           unsigned char *buf, struct sink *s)
{
    if (!f->src) {
        la_ssize_t w = f->size ? archive_write_data(a, f->data, (size_t)f->size) : 0;
        return w < 0 || (uint64_t)w != f->size ? ar_check(a, ARCHIVE_FATAL, "data", path, s) : 0;
    }
    cleanup_close int fd = open(f->src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(s->pe, errno, "%s", f->src);
    uint64_t left = f->size;
    while (left) {
        ssize_t r = read(fd, buf, left < READ_BUF ? (size_t)left : READ_BUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return err_sys(s->pe, errno, "%s", f->src);
        if (r == 0)
            return err_set(s->pe, "%s: shrank since it was added to the image", f->src);
        la_ssize_t w = archive_write_data(a, buf, (size_t)r);
        if (w != r)
            return ar_check(a, ARCHIVE_FATAL, "data", path, s);
        left -= (uint64_t)r;
    }
    char probe;
    if (read(fd, &probe, 1) > 0)
        return err_set(s->pe, "%s: grew since it was added to the image", f->src);
    return 0;
}

static int write_entry(struct archive *a, struct archive_entry *ent, struct tree *t,
                       const struct tree_node *nd, const struct hl_group *g, size_t ng,
                       int64_t epoch, unsigned char *buf, struct sink *s)
{
    const struct tree_node *meta = nd;   /* whose content, mode and owner go in */
    const char *link = NULL;             /* tar hard link target, if any */
    if (nd->kind == TREE_FILE || nd->kind == TREE_HARDLINK) {
        const struct tree_node *f = nd->kind == TREE_FILE ? nd : tree_get(t, nd->target);
        const struct hl_group *grp = hl_find(g, ng, f);
        meta = f;
        if (grp && strcmp(grp->first, nd->path) != 0)
            link = grp->first;
    }
    archive_entry_clear(ent);
    size_t len = strlen(nd->path);
    if (nd->kind == TREE_DIR) {
        /* "usr/bin/": folders carry a trailing slash, as tar writes them */
        char *name = malloc(len + 2);
        if (!name)
            return err_set(s->pe, "out of memory");
        memcpy(name, nd->path, len);
        memcpy(name + len, "/", 2);
        archive_entry_copy_pathname(ent, name);
        free(name);
    } else {
        archive_entry_copy_pathname(ent, nd->path);
    }
    archive_entry_set_mtime(ent, (time_t)epoch, 0);
    archive_entry_set_uid(ent, meta->uid);
    archive_entry_set_gid(ent, meta->gid);
    archive_entry_set_perm(ent, meta->mode);
    switch (nd->kind) {
    case TREE_DIR:
        archive_entry_set_filetype(ent, AE_IFDIR);
        break;
    case TREE_SYMLINK:
        archive_entry_set_filetype(ent, AE_IFLNK);
        archive_entry_copy_symlink(ent, nd->target);
        break;
    case TREE_FILE:
    case TREE_HARDLINK:
        archive_entry_set_filetype(ent, AE_IFREG);
        if (link)
            archive_entry_copy_hardlink(ent, link);
        else
            archive_entry_set_size(ent, (la_int64_t)meta->size);
        break;
    }
    if (ar_check(a, archive_write_header(a, ent), "header", nd->path, s) < 0)
        return ERR;
    if ((nd->kind == TREE_FILE || nd->kind == TREE_HARDLINK) && !link)
        return write_file_data(a, meta, nd->path, buf, s);
    return 0;
}

/* The tar stream of the whole tree into the sink. */
static int write_tar(struct tree *t, int64_t epoch, struct sink *s)
{
    struct err *e = s->pe;
    const struct tree_node **nodes;
    size_t n, ng = 0;
    if (tree_ordered(t, &nodes, &n, e) < 0)
        return ERR;
    cleanup_free struct hl_group *g = NULL;
    if (hl_groups(t, nodes, n, &g, &ng, e) < 0)
        return ERR;
    cleanup_free unsigned char *buf = malloc(READ_BUF);
    cleanup_archive_write struct archive *a = archive_write_new();
    struct archive_entry *ent = archive_entry_new();
    if (!buf || !a || !ent) {
        archive_entry_free(ent);
        return err_set(e, "out of memory");
    }
    /* pax restricted = ustar headers, with a pax extension only for what ustar cannot
     * say (long names, big ids or sizes); GNU tar's 10240-byte records. */
    int rc = 0;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 10240) != ARCHIVE_OK ||
        archive_write_open(a, s, NULL, on_write, NULL) != ARCHIVE_OK)
        rc = err_set(e, "tar: %s", archive_error_string(a));
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = write_entry(a, ent, t, nodes[i], g, ng, epoch, buf, s);
    archive_entry_free(ent);
    if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
        rc = s->relay_failed ? ERR : err_set(e, "tar: %s", archive_error_string(a));
    return rc;
}

int layer_write(struct tree *t, enum compress c, int64_t epoch, const char *blobs_dir,
                struct layer_result *out, struct err *e)
{
    if (epoch < 0)
        return err_set(e, "layer: negative mtime %lld", (long long)epoch);
    size_t dl = strlen(blobs_dir);
    cleanup_free char *tmp = malloc(dl + 32);
    cleanup_free char *final = malloc(dl + DIGEST_HEX_LEN + 2);
    if (!tmp || !final)
        return err_set(e, "out of memory");
    struct sink s = {.fd = -1};
    int rc = sink_open(&s, c, e);
    snprintf(tmp, dl + 32, "%s/.tmp-layer-XXXXXX", blobs_dir);
    s.dir = blobs_dir;
    if (rc == 0 && (s.fd = mkostemp(tmp, O_CLOEXEC)) < 0)
        rc = err_sys(e, errno, "%s", blobs_dir);
    if (s.fd < 0)
        tmp[0] = '\0';   /* nothing to remove */
    if (rc == 0)
        rc = relay_start(&s, e);
    if (rc == 0)
        rc = write_tar(t, epoch, &s);
    int rc_end = relay_end(&s, rc < 0);   /* the workers finish the stream */
    if (rc == 0)
        rc = rc_end;
    if (rc == 0 && (fchmod(s.fd, 0644) < 0 || fsync(s.fd) < 0))
        rc = err_sys(e, errno, "%s", tmp);
    if (s.fd >= 0 && close(s.fd) < 0 && rc == 0)
        rc = err_sys(e, errno, "%s", tmp);
    if (rc == 0) {
        char hex[DIGEST_HEX_LEN + 1];
        digest_final_hex(&s.tar_d, hex);
        snprintf(out->diff_id, sizeof out->diff_id, "sha256:%s", hex);
        digest_final_hex(&s.blob_d, hex);
        snprintf(out->digest, sizeof out->digest, "sha256:%s", hex);
        snprintf(final, dl + DIGEST_HEX_LEN + 2, "%s/%s", blobs_dir, hex);
        out->size = s.blob_size;
        out->media_type = c == COMPRESS_GZIP ? OCI_MT_LAYER_GZIP : c == COMPRESS_ZSTD ? OCI_MT_LAYER_ZSTD : OCI_MT_LAYER_TAR;
        if (rename(tmp, final) < 0)
            rc = err_sys(e, errno, "%s", final);
    }
    if (rc < 0 && tmp[0])
        unlink(tmp);
    sink_close(&s);
    return rc < 0 ? err_ctx(e, "layer") : 0;
}
