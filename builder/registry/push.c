/* builder/registry/push.c — the push algorithm; see push.h for the order and the guarantees. */
#include "registry/push.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "registry/auth.h"
#include "util/cleanup.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/media_type.h"
#include "registry/push_referrers.h"
#include "registry/reference.h"
#include "registry/registry.h"
#include "util/safetext.h"

#define ACCEPT_ALL      OCI_MT_INDEX ", " OCI_MT_MANIFEST ", " DOCKER_MT_LIST ", " DOCKER_MT_MANIFEST
#define DEFAULT_CHUNK   (8LL << 20)

struct blob {
    char digest[DIGEST_PREFIXED_LEN + 1];
    long long size;
    char where[96];          /* "config of linux/arm64", for messages */
    int fd;                  /* verified when the plan was read; uploads read this fd */
};

struct manifest {
    char digest[DIGEST_PREFIXED_LEN + 1];
    char media[128];
    char platform[64];
    char *bytes;
    size_t len;
};

struct plan {
    struct manifest top;     /* what the tag names: an index, or a single manifest */
    bool top_is_index;
    struct manifest *mans;   /* the index's manifests (none when top is a manifest) */
    size_t nman;
    struct blob *blobs;      /* unique blobs of every manifest */
    size_t nblob;
    long long total;         /* their total size */
};

static void plan_free(struct plan *pl)
{
    free(pl->top.bytes);
    for (size_t i = 0; i < pl->nman; i++)
        free(pl->mans[i].bytes);
    free(pl->mans);
    for (size_t i = 0; i < pl->nblob; i++)
        if (pl->blobs[i].fd >= 0)
            close(pl->blobs[i].fd);
    free(pl->blobs);
}

/* ---------------------------------------------------------------- reading the layout */

/* The layout is read through layout.h: blobs/sha256 must be a real folder of it, every
 * blob a regular file (no symlink, FIFO or device), and each blob's size and digest are
 * checked as it is read, before anything is sent. */

static void cleanup_layoutp(struct layout **l) { layout_close(*l); }

/* A small JSON blob (manifest or index): its exact bytes, size and digest checked. */
static int read_json_blob(const struct layout *l, const char *digest, long long size,
                          struct manifest *m, struct err *e)
{
    if (!digest_valid(digest))
        return err_set(e, "digest \"%s\" is not sha256:<64 hex>", digest);
    if (size < 0 || size > (16 << 20))
        return err_set(e, "%s/%s: size %lld out of range for a manifest", layout_blobs_dir(l),
                       digest + 7, size);
    m->bytes = layout_read_blob(l, digest, size, &m->len, e);
    if (!m->bytes)
        return ERR;
    snprintf(m->digest, sizeof m->digest, "%s", digest);
    return 0;
}

static int add_blob(struct plan *pl, const struct layout *l, json_t *desc, const char *where,
                    struct err *e)
{
    const char *digest = json_string_value(json_object_get(desc, "digest"));
    json_t *size = json_object_get(desc, "size");
    if (!digest || !digest_valid(digest) || !json_is_integer(size) || json_integer_value(size) < 0)
        return err_set(e, "%s: descriptor without a valid digest and size", where);
    for (size_t i = 0; i < pl->nblob; i++)
        if (!strcmp(pl->blobs[i].digest, digest))
            return 0;
    struct blob *nb = realloc(pl->blobs, (pl->nblob + 1) * sizeof *nb);
    if (!nb)
        return err_set(e, "out of memory");
    pl->blobs = nb;
    int fd = layout_blob_open(l, digest, (long long)json_integer_value(size), e);
    if (fd < 0)
        return err_ctx(e, "%s", where);
    struct blob *b = &pl->blobs[pl->nblob++];
    memset(b, 0, sizeof *b);
    b->fd = fd;
    snprintf(b->digest, sizeof b->digest, "%s", digest);
    snprintf(b->where, sizeof b->where, "%s", where);
    b->size = (long long)json_integer_value(size);
    pl->total += b->size;
    return 0;
}

/* Collect the config and layers of manifest m. */
static int add_manifest_blobs(struct plan *pl, const struct layout *l, const struct manifest *m,
                              struct err *e)
{
    json_error_t je;
    cleanup_json json_t *doc = json_loadb(m->bytes, m->len, 0, &je);
    if (!doc)
        return err_set(e, "manifest %s: %s", m->digest, je.text);
    char where[96];
    snprintf(where, sizeof where, "config of %s", m->platform);
    if (add_blob(pl, l, json_object_get(doc, "config"), where, e) < 0)
        return ERR;
    json_t *layers = json_object_get(doc, "layers");
    size_t i;
    json_t *lay;
    json_array_foreach(layers, i, lay) {
        snprintf(where, sizeof where, "layer %zu of %s", i + 1, m->platform);
        if (add_blob(pl, l, lay, where, e) < 0)
            return ERR;
    }
    return 0;
}

static void platform_name(json_t *desc, char *out, size_t cap)
{
    json_t *p = json_object_get(desc, "platform");
    const char *os = json_string_value(json_object_get(p, "os"));
    const char *arch = json_string_value(json_object_get(p, "architecture"));
    const char *var = json_string_value(json_object_get(p, "variant"));
    if (os && arch)
        snprintf(out, cap, "%s/%s%s%s", os, arch, var ? "/" : "", var ? var : "");
    else
        snprintf(out, cap, "%s", "manifest");
}

static bool is_index_type(const char *mt)
{
    return !strcmp(mt, OCI_MT_INDEX) || !strcmp(mt, DOCKER_MT_LIST);
}

static int plan_read(const struct layout *l, const char **tag, struct plan *pl, struct err *e)
{
    const char *dir = layout_dir(l);
    char path[4200];
    snprintf(path, sizeof path, "%s/index.json", dir);
    json_error_t je;
    json_t *entry = layout_find_tag(l, *tag, e);
    if (!entry)
        return ERR;
    *tag = layout_entry_tag(entry);
    const char *digest = json_string_value(json_object_get(entry, "digest"));
    const char *mt = json_string_value(json_object_get(entry, "mediaType"));
    json_t *size = json_object_get(entry, "size");
    if (!digest || !mt || !json_is_integer(size))
        return err_set(e, "%s: entry for tag \"%s\" lacks digest, mediaType or size", path, *tag ? *tag : "");
    if (read_json_blob(l, digest, json_integer_value(size), &pl->top, e) < 0)
        return err_ctx(e, "%s: tag \"%s\"", dir, *tag ? *tag : "");
    snprintf(pl->top.media, sizeof pl->top.media, "%s", mt);
    pl->top_is_index = is_index_type(mt);
    if (!pl->top_is_index) {
        platform_name(entry, pl->top.platform, sizeof pl->top.platform);
        return add_manifest_blobs(pl, l, &pl->top, e);
    }
    cleanup_json json_t *idx = json_loadb(pl->top.bytes, pl->top.len, 0, &je);
    json_t *mans = json_object_get(idx, "manifests");
    if (!json_is_array(mans) || json_array_size(mans) == 0)
        return err_set(e, "%s: index %s lists no manifests", dir, digest);
    pl->mans = calloc(json_array_size(mans), sizeof *pl->mans);
    if (!pl->mans)
        return err_set(e, "out of memory");
    size_t i;
    json_t *d;
    json_array_foreach(mans, i, d) {
        struct manifest *m = &pl->mans[pl->nman++];
        const char *md = json_string_value(json_object_get(d, "digest"));
        const char *mmt = json_string_value(json_object_get(d, "mediaType"));
        json_t *msize = json_object_get(d, "size");
        platform_name(d, m->platform, sizeof m->platform);
        if (!md || !mmt || !json_is_integer(msize))
            return err_set(e, "%s: index %s: entry %zu lacks digest, mediaType or size", dir, digest, i);
        snprintf(m->media, sizeof m->media, "%s", mmt);
        if (read_json_blob(l, md, json_integer_value(msize), m, e) < 0)
            return err_ctx(e, "%s: manifest of %s", dir, m->platform);
        if (add_manifest_blobs(pl, l, m, e) < 0)
            return err_ctx(e, "%s", dir);
    }
    return 0;
}

/* ---------------------------------------------------------------- blob upload */

struct pusher {
    struct registry *reg;
    const struct plan *pl;
    const char *dir;
    const char *repo;
    const char *from;
    long long chunk_size;
    struct err_out progress;   /* say NULL: no progress line */
    struct err_out steps;      /* say NULL: no step lines */

    pthread_mutex_t mu;      /* guards next, failed, err, the progress line */
    size_t next;
    bool failed;
    struct err err;
    atomic_uint uploaded, mounted, present;
    atomic_llong sent;
    struct timespec started, last_print;
};

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void progress_print(struct pusher *p, bool final)
{
    double el = since(&p->started);
    long long s = atomic_load(&p->sent);
    err_say(&p->progress, "\rarmlet: push: %.1f / %.1f MiB sent, %.1f MiB/s%s", (double)s / 1048576.0,
            (double)p->pl->total / 1048576.0, el > 0 ? (double)s / 1048576.0 / el : 0.0, final ? "\n" : "   ");
}

static void on_read(void *arg, size_t n)
{
    struct pusher *p = arg;
    atomic_fetch_add(&p->sent, (long long)n);
    if (!p->progress.say || pthread_mutex_trylock(&p->mu) != 0)
        return;
    if (since(&p->last_print) >= 0.2) {
        clock_gettime(CLOCK_MONOTONIC, &p->last_print);
        progress_print(p, false);
    }
    pthread_mutex_unlock(&p->mu);
}

enum { TRY_DONE = 0, TRY_AGAIN = 1, TRY_NOW = 2 };

/* Count a finished blob and say how it got there (one step line). */
static void blob_done(struct pusher *p, const struct blob *b, atomic_uint *count, const char *how)
{
    atomic_fetch_add(count, 1);
    err_say(&p->steps, "armlet: push: blob %s (%s, %lld bytes): %s\n", b->digest, b->where, b->size, how);
}

/* Fatal unless transient: returns TRY_AGAIN for a transient failure, ERR otherwise. */
static int step_failed(const struct reg_resp *resp, const char *what, const struct blob *b, struct err *e)
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

static int check_digest(const struct reg_resp *resp, const char *want, const char *what, struct err *e)
{
    char q[300];
    if (resp->digest[0] && strcmp(resp->digest, want) != 0)
        return err_set(e, "%s: registry computed %s, expected %s", what,
                       safetext_escape(resp->digest, q, sizeof q), want);
    return 0;
}

static int upload_chunked(struct pusher *p, CURL *h, const struct blob *b, int fd, char *loc,
                          long chunk_min, struct reg_resp *resp, struct err *e)
{
    long long chunk = p->chunk_size > 0 ? p->chunk_size : DEFAULT_CHUNK;
    if (chunk < chunk_min)
        chunk = chunk_min;
    for (long long off = 0; off < b->size;) {
        long long n = b->size - off < chunk ? b->size - off : chunk;
        char range[64];
        snprintf(range, sizeof range, "%lld-%lld", off, off + n - 1);
        struct reg_body body = {.fd = fd, .off = off, .len = n, .on_read = on_read, .arg = p};
        struct reg_req req = {.content_type = MT_OCTET_STREAM, .content_range = range, .body = &body};
        if (registry_do(p->reg, h, "PATCH", loc, &req, resp, e) < 0 || resp->status != 202)
            return step_failed(resp, "chunk upload (PATCH)", b, e);
        if (resp->location[0])
            snprintf(loc, REG_URL_MAX, "%s", resp->location);
        off += n;
    }
    char url[REG_URL_MAX + 128];
    url_with_digest(loc, b->digest, url, sizeof url);
    if (registry_do(p->reg, h, "PUT", url, NULL, resp, e) < 0 || resp->status != 201)
        return step_failed(resp, "closing chunked upload (PUT)", b, e);
    return check_digest(resp, b->digest, b->digest, e) < 0 ? ERR : TRY_DONE;
}

/* One attempt at getting blob b into the repository. */
static int try_blob(struct pusher *p, CURL *h, const struct blob *b, bool *chunked, struct reg_resp *resp,
                    struct err *e)
{
    char url[REG_URL_MAX + 128];
    snprintf(url, sizeof url, "/v2/%s/blobs/%s", p->repo, b->digest);
    if (registry_do(p->reg, h, "HEAD", url, NULL, resp, e) < 0)
        return step_failed(resp, "HEAD", b, e);
    if (resp->status == 200) {
        blob_done(p, b, &p->present, "already present");
        return TRY_DONE;
    }
    if (resp->status != 404)
        return step_failed(resp, "HEAD", b, e);

    if (p->from)
        snprintf(url, sizeof url, "/v2/%s/blobs/uploads/?mount=sha256%%3A%s&from=%s", p->repo, b->digest + 7, p->from);
    else
        snprintf(url, sizeof url, "/v2/%s/blobs/uploads/", p->repo);
    if (registry_do(p->reg, h, "POST", url, NULL, resp, e) < 0)
        return step_failed(resp, "starting upload (POST)", b, e);
    if (resp->status == 201 && p->from) {
        blob_done(p, b, &p->mounted, "mounted");
        return TRY_DONE;
    }
    if (resp->status != 202 || !resp->location[0])
        return step_failed(resp, "starting upload (POST)", b, e);
    char loc[REG_URL_MAX];
    snprintf(loc, sizeof loc, "%s", resp->location);
    long chunk_min = resp->chunk_min;

    int fd = b->fd;   /* the file whose size and digest were checked; read with pread */
    if (*chunked && b->size > 0) {
        int rc = upload_chunked(p, h, b, fd, loc, chunk_min, resp, e);
        if (rc == TRY_DONE)
            blob_done(p, b, &p->uploaded, "uploaded in chunks");
        return rc;
    }
    url_with_digest(loc, b->digest, url, sizeof url);
    struct reg_body body = {.fd = fd, .off = 0, .len = b->size, .on_read = on_read, .arg = p};
    struct reg_req req = {.content_type = MT_OCTET_STREAM, .body = &body};
    if (registry_do(p->reg, h, "PUT", url, &req, resp, e) < 0)
        return step_failed(resp, "upload (PUT)", b, e);
    if (resp->status == 413) {
        /* Too large for one request: the registry wants chunks. */
        *chunked = true;
        return TRY_NOW;
    }
    if (resp->status != 201)
        return step_failed(resp, "upload (PUT)", b, e);
    if (check_digest(resp, b->digest, b->digest, e) < 0)
        return ERR;
    blob_done(p, b, &p->uploaded, "uploaded");
    return TRY_DONE;
}

static int push_blob(struct pusher *p, CURL *h, const struct blob *b, struct err *e)
{
    bool chunked = p->chunk_size > 0 && b->size > p->chunk_size;
    struct reg_resp *resp = malloc(sizeof *resp);
    if (!resp)
        return err_set(e, "out of memory");
    int rc;
    for (int attempt = 0;; attempt++) {
        rc = try_blob(p, h, b, &chunked, resp, e);
        if (rc == TRY_DONE || rc == ERR)
            break;
        if (attempt >= registry_retries(p->reg)) {
            err_ctx(e, "giving up after %d retries", attempt);
            rc = ERR;
            break;
        }
        if (rc == TRY_AGAIN)
            registry_backoff(attempt + 1, resp->retry_after);
    }
    free(resp);
    return rc;
}

static void *worker(void *arg)
{
    struct pusher *p = arg;
    struct err e;
    err_clear(&e);
    CURL *h = registry_conn(p->reg, &e);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (!h && !p->failed) {
            p->failed = true;
            p->err = e;
        }
        size_t i = p->next++;
        bool stop = p->failed || i >= p->pl->nblob;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        if (push_blob(p, h, &p->pl->blobs[i], &e) < 0) {
            pthread_mutex_lock(&p->mu);
            if (!p->failed) {
                p->failed = true;
                p->err = e;
            }
            pthread_mutex_unlock(&p->mu);
            break;
        }
    }
    if (h)
        curl_easy_cleanup(h);
    return NULL;
}

static int push_blobs(struct pusher *p, int jobs, struct err *e)
{
    size_t n = (size_t)jobs < p->pl->nblob ? (size_t)jobs : p->pl->nblob;
    pthread_t tids[64];
    size_t started = 0;
    for (; started < n && started < 64; started++)
        if (pthread_create(&tids[started], NULL, worker, p) != 0)
            break;
    if (started == 0 && p->pl->nblob > 0)
        worker(p);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    if (p->progress.say && p->pl->total > 0)
        progress_print(p, true);
    if (p->failed) {
        *e = p->err;
        return ERR;
    }
    return 0;
}

/* ---------------------------------------------------------------- manifests */

/* PUT m under name (its digest, or the tag) unless the registry already has it. */
static int put_manifest(struct pusher *p, CURL *h, const struct manifest *m, const char *name, bool *sent,
                        struct err *e)
{
    char url[1200], d[600], what[256];
    snprintf(what, sizeof what, "manifest %s (%s)", name, m->platform[0] ? m->platform : "index");
    snprintf(url, sizeof url, "/v2/%s/manifests/%s", p->repo, name);
    struct reg_resp *resp = malloc(sizeof *resp);
    if (!resp)
        return err_set(e, "out of memory");
    struct reg_req head = {.accept = ACCEPT_ALL};
    int rc = registry_do_retry(p->reg, h, "HEAD", url, &head, resp, e);
    *sent = false;
    if (rc < 0)
        err_ctx(e, "HEAD %s", what);
    if (rc == 0 && resp->status == 200 && !strcmp(resp->digest, m->digest))
        goto out;
    if (rc == 0 && resp->status != 200 && resp->status != 404)
        rc = err_set(e, "HEAD %s: %s", what, registry_describe(resp, d, sizeof d));
    if (rc < 0)
        goto out;
    struct reg_body body = {.mem = m->bytes, .fd = -1, .len = (off_t)m->len};
    struct reg_req req = {.content_type = m->media, .body = &body};
    rc = registry_do_retry(p->reg, h, "PUT", url, &req, resp, e);
    if (rc < 0)
        err_ctx(e, "PUT %s", what);
    if (rc == 0 && resp->status != 201)
        rc = err_set(e, "PUT %s: %s", what, registry_describe(resp, d, sizeof d));
    if (rc == 0)
        rc = check_digest(resp, m->digest, what, e);
    *sent = rc == 0;
out:
    free(resp);
    if (rc == 0 && m == &p->pl->top)
        err_say(&p->steps, "armlet: push: tag %s -> %s: %s\n", name, m->digest, *sent ? "updated" : "already up to date");
    else if (rc == 0)
        err_say(&p->steps, "armlet: push: %s: %s\n", what, *sent ? "sent" : "already present");
    return rc;
}

/* ---------------------------------------------------------------- the whole push */

void push_result_free(struct push_result *res)
{
    free(res->mans);
    res->mans = NULL;
    res->nman = 0;
}

static void result_manifest(const struct manifest *m, struct push_manifest *out)
{
    snprintf(out->platform, sizeof out->platform, "%s", m->platform);
    snprintf(out->media, sizeof out->media, "%s", m->media);
    snprintf(out->digest, sizeof out->digest, "%s", m->digest);
    out->size = (long long)m->len;
}

/* What the tag names and its manifests, for the command's --metadata-file. */
static int result_images(const struct plan *pl, struct push_result *res, struct err *e)
{
    snprintf(res->media, sizeof res->media, "%s", pl->top.media);
    snprintf(res->digest, sizeof res->digest, "%s", pl->top.digest);
    res->size = (long long)pl->top.len;
    size_t n = pl->top_is_index ? pl->nman : 1;
    res->mans = calloc(n, sizeof *res->mans);
    if (!res->mans)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < n; i++)
        result_manifest(pl->top_is_index ? &pl->mans[i] : &pl->top, &res->mans[i]);
    res->nman = n;
    return 0;
}

static int push_plan(struct pusher *p, const struct push_opts *o, const char *dest_tag, const struct ref *r,
                     struct push_result *res, struct err *e)
{
    if (result_images(p->pl, res, e) < 0)
        return ERR;
    clock_gettime(CLOCK_MONOTONIC, &p->started);
    err_say(&p->steps, "armlet: push: %s/%s:%s: %zu blobs (%.1f MiB), %zu manifests\n", r->domain, r->repo,
            dest_tag, p->pl->nblob, (double)p->pl->total / 1048576.0, p->pl->nman);
    if (push_blobs(p, o->jobs > 0 ? o->jobs : 4, e) < 0)
        return ERR;
    CURL *h = registry_conn(p->reg, e);
    if (!h)
        return ERR;
    unsigned mans_sent = 0;
    int rc = 0;
    for (size_t i = 0; i < p->pl->nman && rc == 0; i++) {
        bool sent;
        rc = put_manifest(p, h, &p->pl->mans[i], p->pl->mans[i].digest, &sent, e);
        mans_sent += sent;
    }
    if (rc == 0) {   /* referrers (SBOM, provenance) after their subjects, before the tag */
        const char *subj[64];
        size_t ns = 0;
        for (size_t i = 0; i < p->pl->nman && ns < 63; i++)
            subj[ns++] = p->pl->mans[i].digest;
        if (!p->pl->top_is_index)
            subj[ns++] = p->pl->top.digest;
        rc = push_referrers(p->reg, h, p->dir, p->repo, subj, ns, e);
    }
    bool tag_sent = false;
    if (rc == 0)
        rc = put_manifest(p, h, &p->pl->top, dest_tag, &tag_sent, e);
    curl_easy_cleanup(h);
    if (rc < 0)
        return ERR;
    snprintf(res->pushed, sizeof res->pushed, "%s/%s:%s@%s", r->domain, r->repo, dest_tag, p->pl->top.digest);
    res->uploaded = atomic_load(&p->uploaded);
    res->mounted = atomic_load(&p->mounted);
    res->present = atomic_load(&p->present);
    res->sent = atomic_load(&p->sent);
    res->seconds = since(&p->started);
    res->mans_sent = mans_sent;
    res->mans_present = p->pl->nman - mans_sent;
    res->tag_sent = tag_sent;
    return 0;
}

int push_layout(const char *oci_dir, const char *tag, const char *refstr, const struct push_opts *o,
                struct push_result *res, struct err *e)
{
    static const struct push_opts defaults = {0};
    if (!o)
        o = &defaults;
    memset(res, 0, sizeof *res);
    struct ref r;
    if (ref_parse(refstr, &r, e) < 0)
        return ERR;
    if (r.digest[0])
        return err_set(e, "reference \"%s\": push needs a tag, not a digest", refstr);
    char path[4200];
    snprintf(path, sizeof path, "%s/oci-layout", oci_dir);
    if (access(path, R_OK) < 0)
        return err_sys(e, errno, "%s: not an OCI image layout (%s)", oci_dir, path);
    /* The shared lock, held to the end: no build changes the layout while its blobs are
     * read and sent. */
    __attribute__((cleanup(cleanup_layoutp))) struct layout *l = NULL;
    if (layout_open(oci_dir, 0, &l, e) < 0)
        return ERR;
    if (!tag && r.tag[0]) {
        /* "push DIR host/app:1.0": use tag 1.0 of the layout if it has one */
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(layout_index(l), "manifests"), i, d) {
            const char *n = json_string_value(json_object_get(json_object_get(d, "annotations"),
                                                              "org.opencontainers.image.ref.name"));
            if (n && !strcmp(n, r.tag))
                tag = r.tag;
        }
    }
    struct plan pl;
    memset(&pl, 0, sizeof pl);
    const char *layout_tag = tag;
    if (plan_read(l, &layout_tag, &pl, e) < 0) {
        plan_free(&pl);
        return ERR;
    }
    const char *dest_tag = r.tag[0] ? r.tag : layout_tag;
    if (!dest_tag || !ref_tag_valid(dest_tag)) {
        plan_free(&pl);
        return err_set(e, "no tag to push to: give REF as HOST/REPO:TAG");
    }

    struct auth_creds creds;
    int found = o->creds ? auth_creds_parse(o->creds, "--creds", &creds, e) : auth_creds_find(r.domain, &creds, e);
    if (found < 0) {
        plan_free(&pl);
        return ERR;
    }
    char extra[600] = "";
    if (o->from) {
        struct ref fr;
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s/%s", r.domain, o->from);
        if (ref_parse(tmp, &fr, e) < 0 || fr.tag[0] || fr.digest[0]) {
            plan_free(&pl);
            return err_set(e, "--from \"%s\": expected a repository name on the same registry", o->from);
        }
        snprintf(extra, sizeof extra, "repository:%s:pull", o->from);
    }
    struct registry_opts ro = {
        .ca_cert = o->ca_cert, .insecure = o->insecure, .verbose = o->verbose,
        .retries = o->retries == 0 ? 5 : (o->retries < 0 ? 0 : o->retries),
        .creds = &creds, .extra_scope = extra[0] ? extra : NULL, .timeout = o->timeout,
    };
    struct registry *reg = NULL;
    int rc = registry_open(&r, &ro, &reg, e);
    explicit_bzero(&creds, sizeof creds);
    bool opened = rc == 0;
    if (opened) {
        struct pusher p = {
            .reg = reg, .pl = &pl, .dir = oci_dir, .repo = r.repo, .from = o->from,
            .chunk_size = o->chunk_size, .progress = o->progress, .steps = o->steps,
        };
        pthread_mutex_init(&p.mu, NULL);
        rc = push_plan(&p, o, dest_tag, &r, res, e);
        pthread_mutex_destroy(&p.mu);
    }
    registry_close(reg);
    plan_free(&pl);
    if (rc < 0)
        push_result_free(res);
    else
        snprintf(res->tag, sizeof res->tag, "%s", dest_tag);
    if (rc < 0)
        return err_ctx(e, "push %s/%s:%s%s", r.domain, r.repo, dest_tag,
                       opened ? " (tag not updated)" : "");
    return 0;
}
