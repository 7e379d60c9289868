/* builder/registry/push.c — the push algorithm; see push.h for the order and the guarantees. */
#include "registry/push.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "registry/auth.h"
#include "registry/blobxfer.h"
#include "util/cleanup.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/media_type.h"
#include "registry/push_referrers.h"
#include "registry/reference.h"
#include "registry/registry.h"
#include "util/safetext.h"

#define ACCEPT_ALL      OCI_MT_INDEX ", " OCI_MT_MANIFEST ", " DOCKER_MT_LIST ", " DOCKER_MT_MANIFEST

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
    struct blobset blobs;    /* unique blobs of every manifest, each opened and verified */
};

static void plan_free(struct plan *pl)
{
    free(pl->top.bytes);
    for (size_t i = 0; i < pl->nman; i++)
        free(pl->mans[i].bytes);
    free(pl->mans);
    blobset_free(&pl->blobs);
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
    struct blobxfer_blob *b;
    int rc = blobset_add(&pl->blobs, digest, (long long)json_integer_value(size), where, &b, e);
    if (rc <= 0)
        return rc;
    b->fd = layout_blob_open(l, digest, b->size, e);
    if (b->fd < 0)
        return err_ctx(e, "%s", where);
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

/* ---------------------------------------------------------------- the destination */

struct pusher {
    struct registry *reg;
    const struct plan *pl;
    const char *dir;
    const char *repo;
    struct err_out steps;      /* say NULL: no step lines */
    struct timespec started;
};

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static int check_digest(const struct reg_resp *resp, const char *want, const char *what, struct err *e)
{
    char q[300];
    if (resp->digest[0] && strcmp(resp->digest, want) != 0)
        return err_set(e, "%s: registry computed %s, expected %s", what,
                       safetext_escape(resp->digest, q, sizeof q), want);
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
    /* same sizes, NUL-terminated: copied whole (snprintf here draws a false
     * -Wformat-truncation once inlined into push_layout) */
    _Static_assert(sizeof res->media == sizeof pl->top.media, "media sizes");
    _Static_assert(sizeof res->digest == sizeof pl->top.digest, "digest sizes");
    memcpy(res->media, pl->top.media, sizeof res->media);
    memcpy(res->digest, pl->top.digest, sizeof res->digest);
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
            dest_tag, p->pl->blobs.n, (double)p->pl->blobs.total / 1048576.0, p->pl->nman);
    struct blobxfer_opts xo = {
        .reg = p->reg, .repo = p->repo, .jobs = o->jobs, .chunk_size = o->chunk_size, .label = "push",
        .steps = o->steps, .progress = o->progress,
    };
    struct blobxfer_result xr;
    if (blobxfer_run(&p->pl->blobs, &xo, &xr, e) < 0)
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
    res->uploaded = xr.uploaded;
    res->mounted = xr.mounted;
    res->present = xr.present;
    res->sent = xr.sent;
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
        for (size_t i = 0; i < pl.blobs.n; i++)
            pl.blobs.v[i].from = o->from;
    }
    struct registry_opts ro = {
        .ca_cert = o->ca_cert, .insecure = o->insecure, .verbose = o->verbose,
        .retries = o->retries == 0 ? 5 : (o->retries < 0 ? 0 : o->retries),
        .extra_scope = extra[0] ? extra : NULL, .timeout = o->timeout,
    };
    struct registry *reg = NULL;
    int rc = registry_open_user(&r, o->creds, &ro, &reg, e);
    bool opened = rc == 0;
    if (opened) {
        struct pusher p = {.reg = reg, .pl = &pl, .dir = oci_dir, .repo = r.repo, .steps = o->steps};
        rc = push_plan(&p, o, dest_tag, &r, res, e);
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
