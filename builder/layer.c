/* builder/layer.c — see layer.h.
 *
 * One pass over the data, in two threads like a shell pipeline:
 *
 *   caller's thread:  tree (sorted) -> libarchive tar writer -> on_write() -> sha256 (diff_id)
 *                                                                   |  ring of 1 MiB buffers
 *   compressor thread:                          deflate / zstd / copy <-'
 *                                                 -> sha256 (digest) -> temp file in blobs_dir
 *
 * The thread only overlaps reading and hashing the tar with compressing it; the bytes
 * are the same as one thread would write (one compressor, fed in order).
 *
 * Compression is done here with zlib and libzstd rather than libarchive's filters so
 * every setting that changes the bytes is pinned in this file: gzip level 6 with a
 * header of mtime 0, no name and OS 3 (Unix); zstd level 3, no worker threads (the
 * output of multi-threaded zstd depends on the job layout), checksum on.
 */
#include "layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "cleanup.h"
#include "digest.h"

#define OUT_BUF (1u << 20)    /* compressed bytes gathered before a write(2) */
#define READ_BUF (1u << 20)   /* host file content read per call */
#define RING 4                /* tar buffers in flight between the two threads */
#define RING_BUF (1u << 20)

static const char MT_TAR[] = "application/vnd.oci.image.layer.v1.tar";
static const char MT_GZIP[] = "application/vnd.oci.image.layer.v1.tar+gzip";
static const char MT_ZSTD[] = "application/vnd.oci.image.layer.v1.tar+zstd";

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

struct sink {
    enum compress c;
    struct digest tar_d, blob_d;
    z_stream z;
    gz_header gzh;         /* zlib keeps a pointer to it until the stream ends */
    int z_ready;
    ZSTD_CCtx *zc;
    int fd;
    unsigned char *obuf;   /* OUT_BUF bytes, olen used */
    size_t olen;
    uint64_t blob_size;
    struct err *e;         /* the compressor's errors: &cerr */
    struct err cerr;
    struct err *pe;        /* the tar side's errors: the caller's */
    /* hand-off: the tar side fills ring[produced % RING], the compressor thread drains
     * ring[consumed % RING]; both counters under mu, changes signalled on cv. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int sync_ready, thread_started;
    pthread_t thread;
    unsigned char *ring[RING];
    size_t ring_len[RING];
    size_t fill;           /* tar side: bytes in the buffer being filled */
    uint64_t produced, consumed;
    int done;              /* no more buffers will come */
    int cancel;            /* ...and the stream is abandoned: do not finish it */
    int failed;            /* the compressor thread stopped with cerr set */
    int relay_failed;      /* tar side: relay_submit saw that and copied cerr to pe */
};

static int flush_out(struct sink *s)
{
    size_t off = 0;
    while (off < s->olen) {
        ssize_t w = write(s->fd, s->obuf + off, s->olen - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return err_sys(s->e, errno, "writing layer blob");
        }
        off += (size_t)w;
    }
    digest_update(&s->blob_d, s->obuf, s->olen);
    s->blob_size += s->olen;
    s->olen = 0;
    return 0;
}

static int feed_gzip(struct sink *s, const void *buf, size_t n, int finish)
{
    s->z.next_in = (Bytef *)(uintptr_t)buf;
    s->z.avail_in = (uInt)n;
    for (;;) {
        s->z.next_out = s->obuf + s->olen;
        s->z.avail_out = (uInt)(OUT_BUF - s->olen);
        int r = deflate(&s->z, finish ? Z_FINISH : Z_NO_FLUSH);
        if (r == Z_STREAM_ERROR)
            return err_set(s->e, "gzip: deflate failed");
        s->olen = OUT_BUF - s->z.avail_out;
        if (s->olen == OUT_BUF && flush_out(s) < 0)
            return ERR;
        if (finish ? r == Z_STREAM_END : s->z.avail_in == 0)
            return 0;
    }
}

static int feed_zstd(struct sink *s, const void *buf, size_t n, int finish)
{
    ZSTD_inBuffer in = {buf, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {s->obuf + s->olen, OUT_BUF - s->olen, 0};
        size_t rem = ZSTD_compressStream2(s->zc, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(rem))
            return err_set(s->e, "zstd: %s", ZSTD_getErrorName(rem));
        s->olen += out.pos;
        if (s->olen == OUT_BUF && flush_out(s) < 0)
            return ERR;
        if (finish ? rem == 0 : in.pos == in.size)
            return 0;
    }
}

static int feed_none(struct sink *s, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n) {
        size_t k = OUT_BUF - s->olen < n ? OUT_BUF - s->olen : n;
        memcpy(s->obuf + s->olen, p, k);
        s->olen += k;
        p += k;
        n -= k;
        if (s->olen == OUT_BUF && flush_out(s) < 0)
            return ERR;
    }
    return 0;
}

/* Uncompressed tar bytes in (finish: end of stream). */
static int feed(struct sink *s, const void *buf, size_t n, int finish)
{
    switch (s->c) {
    case COMPRESS_GZIP: return feed_gzip(s, buf, n, finish);
    case COMPRESS_ZSTD: return feed_zstd(s, buf, n, finish);
    case COMPRESS_NONE: return feed_none(s, buf, n);
    }
    return err_set(s->e, "unknown compression");
}

/* Compressor thread: drain the ring in order, then end the stream. */
static void *compress_main(void *arg)
{
    struct sink *s = arg;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->consumed == s->produced && !s->done)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->consumed == s->produced || s->cancel)
            break;
        size_t i = (size_t)(s->consumed % RING);
        pthread_mutex_unlock(&s->mu);
        rc = feed(s, s->ring[i], s->ring_len[i], 0);
        pthread_mutex_lock(&s->mu);
        if (rc < 0)
            break;
        s->consumed++;
        pthread_cond_broadcast(&s->cv);
    }
    int finish = rc == 0 && !s->cancel;
    pthread_mutex_unlock(&s->mu);
    if (finish && (rc = feed(s, NULL, 0, 1)) == 0)
        rc = flush_out(s);
    pthread_mutex_lock(&s->mu);
    s->failed = rc < 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Tar side: pass the filled buffer on; wait while every buffer is in flight.
 * Returns ERR (compressor's error copied into pe) when the compressor stopped. */
static int relay_submit(struct sink *s)
{
    pthread_mutex_lock(&s->mu);
    s->ring_len[s->produced % RING] = s->fill;
    s->produced++;
    pthread_cond_broadcast(&s->cv);
    while (s->produced - s->consumed >= RING && !s->failed)
        pthread_cond_wait(&s->cv, &s->mu);
    int failed = s->failed;
    pthread_mutex_unlock(&s->mu);
    s->fill = 0;
    if (failed) {
        *s->pe = s->cerr;   /* the thread set cerr before failed, under mu */
        s->relay_failed = 1;
    }
    return failed ? ERR : 0;
}

/* Tar side: no more data; cancel abandons the stream. Joins the thread. */
static int relay_end(struct sink *s, int cancel)
{
    if (!s->thread_started)
        return 0;
    int rc = 0;
    if (!cancel && s->fill)
        rc = relay_submit(s);
    pthread_mutex_lock(&s->mu);
    s->done = 1;
    s->cancel = cancel || rc < 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->thread_started = 0;
    if (rc == 0 && !cancel && s->failed) {
        *s->pe = s->cerr;
        rc = ERR;
    }
    return rc;
}

static la_ssize_t on_write(struct archive *a, void *ud, const void *buf, size_t n)
{
    struct sink *s = ud;
    const unsigned char *p = buf;
    digest_update(&s->tar_d, buf, n);
    for (size_t left = n; left;) {
        size_t k = RING_BUF - s->fill < left ? RING_BUF - s->fill : left;
        memcpy(s->ring[s->produced % RING] + s->fill, p, k);
        s->fill += k;
        p += k;
        left -= k;
        if (s->fill == RING_BUF && relay_submit(s) < 0) {
            archive_set_error(a, EIO, "%s", s->pe->msg);
            return -1;
        }
    }
    return (la_ssize_t)n;
}

static int sink_open(struct sink *s, enum compress c, struct err *e)
{
    s->c = c;
    s->e = &s->cerr;
    s->pe = e;
    if (!(s->obuf = malloc(OUT_BUF)))
        return err_set(e, "out of memory");
    for (int i = 0; i < RING; i++)
        if (!(s->ring[i] = malloc(RING_BUF)))
            return err_set(e, "out of memory");
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return err_set(e, "cannot create a mutex");
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        return err_set(e, "cannot create a condition variable");
    }
    s->sync_ready = 1;
    if (digest_init(&s->tar_d, e) < 0 || digest_init(&s->blob_d, e) < 0)
        return ERR;
    if (c == COMPRESS_GZIP) {
        /* windowBits 15 + 16: a gzip wrapper; memLevel 8 is gzip's default. */
        if (deflateInit2(&s->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return err_set(e, "gzip: cannot initialise zlib");
        s->z_ready = 1;
        /* zeroed: no name, no comment, mtime 0; OS 3 (Unix) whatever zlib was built for */
        memset(&s->gzh, 0, sizeof s->gzh);
        s->gzh.os = 3;
        if (deflateSetHeader(&s->z, &s->gzh) != Z_OK)
            return err_set(e, "gzip: cannot set header");
    } else if (c == COMPRESS_ZSTD) {
        if (!(s->zc = ZSTD_createCCtx()))
            return err_set(e, "zstd: out of memory");
        size_t r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, 3);
        if (!ZSTD_isError(r))
            r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_nbWorkers, 0);
        if (!ZSTD_isError(r))
            r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, 1);
        if (!ZSTD_isError(r))
            r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_contentSizeFlag, 0);
        if (ZSTD_isError(r))
            return err_set(e, "zstd: %s", ZSTD_getErrorName(r));
    }
    return 0;
}

static void sink_close(struct sink *s)
{
    relay_end(s, 1);
    if (s->sync_ready) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
    }
    for (int i = 0; i < RING; i++)
        free(s->ring[i]);
    if (s->z_ready)
        deflateEnd(&s->z);
    ZSTD_freeCCtx(s->zc);
    digest_abort(&s->tar_d);
    digest_abort(&s->blob_d);
    free(s->obuf);
}

/* ------------------------------------------------------------------ hard links */

/* A tar hard link must name a file written before it. Entries are sorted, so of every
 * group of names for one file the smallest is written with the content and the others
 * link to it, wherever the tree's link target sorts. */
struct hl_group {
    const struct tree_node *file;   /* the TREE_FILE node holding content and metadata */
    const char *first;              /* smallest path of the group */
};

static int cmp_group(const void *a, const void *b)
{
    const struct hl_group *x = a, *y = b;
    return x->file < y->file ? -1 : x->file > y->file;
}

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
            g[ng++] = (struct hl_group){f, f->path};
        /* nodes are sorted: the first link seen is the smallest link of the group */
        if (strcmp(nodes[i]->path, g[j].first) < 0)
            g[j].first = nodes[i]->path;
    }
    qsort(g, ng, sizeof *g, cmp_group);
    *out = g;
    *nout = ng;
    return 0;
}

static const struct hl_group *hl_find(const struct hl_group *g, size_t ng,
                                      const struct tree_node *file)
{
    struct hl_group key = {file, NULL};
    return ng ? bsearch(&key, g, ng, sizeof *g, cmp_group) : NULL;
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
    if (tree_sorted(t, &nodes, &n, e) < 0)
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
    if (rc == 0 && (s.fd = mkostemp(tmp, O_CLOEXEC)) < 0)
        rc = err_sys(e, errno, "%s", blobs_dir);
    if (s.fd < 0)
        tmp[0] = '\0';   /* nothing to remove */
    if (rc == 0) {
        if (pthread_create(&s.thread, NULL, compress_main, &s) != 0)
            rc = err_set(e, "cannot start the compressor thread");
        else
            s.thread_started = 1;
    }
    if (rc == 0)
        rc = write_tar(t, epoch, &s);
    int rc_end = relay_end(&s, rc < 0);   /* the compressor finishes the stream */
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
        out->media_type = c == COMPRESS_GZIP ? MT_GZIP : c == COMPRESS_ZSTD ? MT_ZSTD : MT_TAR;
        if (rename(tmp, final) < 0)
            rc = err_sys(e, errno, "%s", final);
    }
    if (rc < 0 && tmp[0])
        unlink(tmp);
    sink_close(&s);
    return rc < 0 ? err_ctx(e, "layer") : 0;
}
