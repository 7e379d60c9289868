/* builder/registry/blobxfer.c — the parallel blob transfer; see blobxfer.h for the
 * requests and the guarantees. */
#include "registry/blobxfer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oci/media_type.h"
#include "util/safetext.h"

#define DEFAULT_CHUNK (8LL << 20)   /* chunk size after a 413 when none was asked for */
#define MAX_JOBS      64

/* ---------------------------------------------------------------- the set */

int blobset_add(struct blobset *s, const char *digest, long long size, const char *where,
                struct blobxfer_blob **out, struct err *e)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].digest, digest)) {
            *out = &s->v[i];
            return 0;
        }
    struct blobxfer_blob *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    if (!nv)
        return err_set(e, "out of memory");
    s->v = nv;
    struct blobxfer_blob *b = &s->v[s->n++];
    memset(b, 0, sizeof *b);
    b->fd = -1;
    snprintf(b->digest, sizeof b->digest, "%s", digest);
    snprintf(b->where, sizeof b->where, "%s", where);
    b->size = size;
    s->total += size;
    *out = b;
    return 1;
}

void blobset_free(struct blobset *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].fd >= 0)
            close(s->v[i].fd);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------- the workers' shared state */

struct xfer {
    const struct blobset *set;
    const struct blobxfer_opts *o;

    pthread_mutex_t mu;       /* guards next, failed, err, the progress line */
    pthread_mutex_t open_mu;  /* o->open is called one at a time */
    size_t next;
    bool failed;
    struct err err;
    atomic_uint present, mounted, uploaded;
    atomic_llong sent;
    struct timespec started, last_print;
};

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void progress_print(struct xfer *x, bool final)
{
    double el = since(&x->started);
    long long s = atomic_load(&x->sent);
    err_say(&x->o->progress, "\rarmlet: %s: %.1f / %.1f MiB sent, %.1f MiB/s%s", x->o->label,
            (double)s / 1048576.0, (double)x->set->total / 1048576.0,
            el > 0 ? (double)s / 1048576.0 / el : 0.0, final ? "\n" : "   ");
}

/* libcurl read n more bytes of a body: count them, and update the progress line unless
 * another thread is doing so (trylock: the upload never waits for the line). */
static void on_read(void *arg, size_t n)
{
    struct xfer *x = arg;
    atomic_fetch_add(&x->sent, (long long)n);
    if (!x->o->progress.say || pthread_mutex_trylock(&x->mu) != 0)
        return;
    if (since(&x->last_print) >= 0.2) {
        clock_gettime(CLOCK_MONOTONIC, &x->last_print);
        progress_print(x, false);
    }
    pthread_mutex_unlock(&x->mu);
}

/* ---------------------------------------------------------------- one blob */

enum { TRY_DONE = 0, TRY_AGAIN = 1, TRY_NOW = 2 };

/* A worker's blob: the set's entry, its bytes once needed, whether to send chunks. */
struct job {
    const struct blobxfer_blob *b;
    int fd;                   /* b->fd, or what o->open gave (then own_fd) */
    bool own_fd;
    bool chunked;
};

/* Count a finished blob and say how it got there (one step line). */
static void blob_done(struct xfer *x, const struct blobxfer_blob *b, atomic_uint *count, const char *how)
{
    atomic_fetch_add(count, 1);
    err_say(&x->o->steps, "armlet: %s: blob %s (%s, %lld bytes): %s\n", x->o->label, b->digest, b->where,
            b->size, how);
}

/* Fatal unless transient: returns TRY_AGAIN for a transient failure, ERR otherwise. */
static int step_failed(const struct reg_resp *resp, const char *what, const struct blobxfer_blob *b,
                       struct err *e)
{
    char d[600];
    if (resp->status)
        err_set(e, "blob %s (%s, %lld bytes): %s: %s", b->digest, b->where, b->size, what,
                registry_describe(resp, d, sizeof d));
    else
        err_ctx(e, "blob %s (%s, %lld bytes): %s", b->digest, b->where, b->size, what);
    return resp->transient ? TRY_AGAIN : ERR;
}

static void url_with_digest(const char *loc, const char *digest, char *out, size_t cap)
{
    snprintf(out, cap, "%s%sdigest=sha256%%3A%s", loc, strchr(loc, '?') ? "&" : "?", digest + 7);
}

static int check_digest(const struct reg_resp *resp, const char *want, struct err *e)
{
    char q[300];
    if (resp->digest[0] && strcmp(resp->digest, want) != 0)
        return err_set(e, "%s: registry computed %s, expected %s", want,
                       safetext_escape(resp->digest, q, sizeof q), want);
    return 0;
}

/* The blob's bytes: its own fd, or one o->open hands out (once per blob, kept across
 * attempts). */
static int job_fd(struct xfer *x, struct job *j, struct err *e)
{
    if (j->fd >= 0)
        return 0;
    if (!x->o->open)
        return err_set(e, "blob %s (%s, %lld bytes): no file to read it from", j->b->digest, j->b->where,
                       j->b->size);
    pthread_mutex_lock(&x->open_mu);
    j->fd = x->o->open(x->o->open_arg, j->b, e);
    pthread_mutex_unlock(&x->open_mu);
    if (j->fd < 0)
        return err_ctx(e, "blob %s (%s, %lld bytes)", j->b->digest, j->b->where, j->b->size);
    j->own_fd = true;
    return 0;
}

static int upload_chunked(struct xfer *x, CURL *h, const struct job *j, char *loc, long chunk_min,
                          struct reg_resp *resp, struct err *e)
{
    const struct blobxfer_blob *b = j->b;
    long long chunk = x->o->chunk_size > 0 ? x->o->chunk_size : DEFAULT_CHUNK;
    if (chunk < chunk_min)
        chunk = chunk_min;
    for (long long off = 0; off < b->size;) {
        long long n = b->size - off < chunk ? b->size - off : chunk;
        char range[64];
        snprintf(range, sizeof range, "%lld-%lld", off, off + n - 1);
        struct reg_body body = {.fd = j->fd, .off = off, .len = n, .on_read = on_read, .arg = x};
        struct reg_req req = {.content_type = MT_OCTET_STREAM, .content_range = range, .body = &body};
        if (registry_do(x->o->reg, h, "PATCH", loc, &req, resp, e) < 0 || resp->status != 202)
            return step_failed(resp, "chunk upload (PATCH)", b, e);
        if (resp->location[0])
            snprintf(loc, REG_URL_MAX, "%s", resp->location);
        off += n;
    }
    char url[REG_URL_MAX + 128];
    url_with_digest(loc, b->digest, url, sizeof url);
    if (registry_do(x->o->reg, h, "PUT", url, NULL, resp, e) < 0 || resp->status != 201)
        return step_failed(resp, "closing chunked upload (PUT)", b, e);
    return check_digest(resp, b->digest, e) < 0 ? ERR : TRY_DONE;
}

/* One attempt at getting the blob into the repository. */
static int try_blob(struct xfer *x, CURL *h, struct job *j, struct reg_resp *resp, struct err *e)
{
    const struct blobxfer_blob *b = j->b;
    const char *repo = x->o->repo;
    char url[REG_URL_MAX + 128];
    snprintf(url, sizeof url, "/v2/%s/blobs/%s", repo, b->digest);
    if (registry_do(x->o->reg, h, "HEAD", url, NULL, resp, e) < 0)
        return step_failed(resp, "HEAD", b, e);
    if (resp->status == 200) {
        blob_done(x, b, &x->present, "already present");
        return TRY_DONE;
    }
    if (resp->status != 404)
        return step_failed(resp, "HEAD", b, e);

    if (b->from)
        snprintf(url, sizeof url, "/v2/%s/blobs/uploads/?mount=sha256%%3A%s&from=%s", repo, b->digest + 7,
                 b->from);
    else
        snprintf(url, sizeof url, "/v2/%s/blobs/uploads/", repo);
    if (registry_do(x->o->reg, h, "POST", url, NULL, resp, e) < 0)
        return step_failed(resp, "starting upload (POST)", b, e);
    if (resp->status == 201 && b->from) {
        blob_done(x, b, &x->mounted, "mounted");
        return TRY_DONE;
    }
    if (resp->status != 202 || !resp->location[0])
        return step_failed(resp, "starting upload (POST)", b, e);
    char loc[REG_URL_MAX];
    snprintf(loc, sizeof loc, "%s", resp->location);
    long chunk_min = resp->chunk_min;
    if (job_fd(x, j, e) < 0)
        return ERR;

    if (j->chunked && b->size > 0) {
        int rc = upload_chunked(x, h, j, loc, chunk_min, resp, e);
        if (rc == TRY_DONE)
            blob_done(x, b, &x->uploaded, "uploaded in chunks");
        return rc;
    }
    url_with_digest(loc, b->digest, url, sizeof url);
    struct reg_body body = {.fd = j->fd, .off = 0, .len = b->size, .on_read = on_read, .arg = x};
    struct reg_req req = {.content_type = MT_OCTET_STREAM, .body = &body};
    if (registry_do(x->o->reg, h, "PUT", url, &req, resp, e) < 0)
        return step_failed(resp, "upload (PUT)", b, e);
    if (resp->status == 413) {
        /* Too large for one request: the registry wants chunks. */
        j->chunked = true;
        return TRY_NOW;
    }
    if (resp->status != 201)
        return step_failed(resp, "upload (PUT)", b, e);
    if (check_digest(resp, b->digest, e) < 0)
        return ERR;
    blob_done(x, b, &x->uploaded, "uploaded");
    return TRY_DONE;
}

static int xfer_blob(struct xfer *x, CURL *h, const struct blobxfer_blob *b, struct err *e)
{
    struct job j = {.b = b, .fd = b->fd, .chunked = x->o->chunk_size > 0 && b->size > x->o->chunk_size};
    struct reg_resp *resp = malloc(sizeof *resp);
    if (!resp)
        return err_set(e, "out of memory");
    int rc;
    for (int attempt = 0;; attempt++) {
        rc = try_blob(x, h, &j, resp, e);
        if (rc == TRY_DONE || rc == ERR)
            break;
        if (attempt >= registry_retries(x->o->reg)) {
            err_ctx(e, "giving up after %d retries", attempt);
            rc = ERR;
            break;
        }
        if (rc == TRY_AGAIN)
            registry_backoff(attempt + 1, resp->retry_after);
    }
    free(resp);
    if (j.own_fd)
        close(j.fd);
    return rc;
}

/* ---------------------------------------------------------------- the workers */

static void fail_once(struct xfer *x, const struct err *e)
{
    pthread_mutex_lock(&x->mu);
    if (!x->failed) {
        x->failed = true;
        x->err = *e;
    }
    pthread_mutex_unlock(&x->mu);
}

/* Take the next blob until none is left or one failed (here or in another worker). */
static void *worker(void *arg)
{
    struct xfer *x = arg;
    struct err e;
    err_clear(&e);
    CURL *h = registry_conn(x->o->reg, &e);
    if (!h)
        fail_once(x, &e);
    for (;;) {
        pthread_mutex_lock(&x->mu);
        size_t i = x->next++;
        bool stop = x->failed || i >= x->set->n;
        pthread_mutex_unlock(&x->mu);
        if (stop)
            break;
        if (xfer_blob(x, h, &x->set->v[i], &e) < 0) {
            fail_once(x, &e);
            break;
        }
    }
    if (h)
        curl_easy_cleanup(h);
    return NULL;
}

int blobxfer_run(const struct blobset *s, const struct blobxfer_opts *o, struct blobxfer_result *r,
                 struct err *e)
{
    struct xfer x = {.set = s, .o = o};
    pthread_mutex_init(&x.mu, NULL);
    pthread_mutex_init(&x.open_mu, NULL);
    clock_gettime(CLOCK_MONOTONIC, &x.started);
    size_t jobs = o->jobs > 0 ? (size_t)o->jobs : 4;
    if (jobs > MAX_JOBS)
        jobs = MAX_JOBS;
    if (jobs > s->n)
        jobs = s->n;
    pthread_t tids[MAX_JOBS];
    size_t started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&tids[started], NULL, worker, &x) != 0)
            break;
    if (started == 0 && s->n > 0)   /* no thread could start: do the work here */
        worker(&x);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    if (o->progress.say && s->total > 0)
        progress_print(&x, true);
    r->present = atomic_load(&x.present);
    r->mounted = atomic_load(&x.mounted);
    r->uploaded = atomic_load(&x.uploaded);
    r->sent = atomic_load(&x.sent);
    pthread_mutex_destroy(&x.mu);
    pthread_mutex_destroy(&x.open_mu);
    if (x.failed) {
        *e = x.err;
        return ERR;
    }
    return 0;
}
