/* builder/registry/imgsrc.c — see imgsrc.h. */
#include "registry/imgsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "registry/auth.h"
#include "util/cleanup.h"
#include "util/fdio.h"
#include "oci/media_type.h"

#define ACCEPT_ALL  OCI_MT_INDEX ", " OCI_MT_MANIFEST ", " DOCKER_MT_LIST ", " DOCKER_MT_MANIFEST
#define CONFIG_MAX  ((size_t)16 << 20)

struct imgsrc {
    struct imgloc loc;
    struct layout *l;         /* layout source */
    bool own_layout;          /* opened here (else borrowed) */
    struct registry *reg;     /* registry source */
    CURL *h;
};

void imgdoc_free(struct imgdoc *d)
{
    free(d->bytes);
    memset(d, 0, sizeof *d);
}

bool imgsrc_is_index(const char *media)
{
    return !strcmp(media, OCI_MT_INDEX) || !strcmp(media, DOCKER_MT_LIST);
}

void imgsrc_media_of(const char *bytes, size_t len, const char *hint, char *out, size_t cap)
{
    cleanup_json json_t *doc = json_loadb(bytes, len, 0, NULL);
    const char *mt = json_string_value(json_object_get(doc, "mediaType"));
    if (!mt)
        mt = hint && hint[0] ? hint : json_object_get(doc, "manifests") ? OCI_MT_INDEX : OCI_MT_MANIFEST;
    snprintf(out, cap, "%s", mt);
}

int imgloc_parse(const char *s, struct imgloc *loc, struct err *e)
{
    memset(loc, 0, sizeof *loc);
    snprintf(loc->text, sizeof loc->text, "%s", s);
    if (!strncmp(s, "oci:", 4)) {
        loc->kind = IMGLOC_LAYOUT;
        const char *rest = s + 4;
        const char *colon = strrchr(rest, ':');
        /* "oci:DIR:TAG"; a colon followed by a path ("oci:a:b/c") belongs to DIR */
        size_t dlen = colon && !strchr(colon, '/') ? (size_t)(colon - rest) : strlen(rest);
        if (dlen == 0 || dlen >= sizeof loc->dir)
            return err_set(e, "\"%s\": expected oci:DIR[:TAG]", s);
        memcpy(loc->dir, rest, dlen);
        if (rest[dlen] == ':') {
            snprintf(loc->tag, sizeof loc->tag, "%s", rest + dlen + 1);
            if (!layout_tag_valid(loc->tag))
                return err_set(e, "\"%s\": \"%s\" is not a valid tag", s, rest + dlen + 1);
        }
        return 0;
    }
    loc->kind = IMGLOC_REGISTRY;
    if (!strncmp(s, "docker://", 9))
        s += 9;
    if (ref_parse(s, &loc->ref, e) < 0)
        return err_ctx(e, "\"%s\"", loc->text);
    snprintf(loc->tag, sizeof loc->tag, "%s", loc->ref.tag);
    return 0;
}


int imgsrc_open(const struct imgloc *loc, const struct imgsrc_opts *o, struct layout *shared,
                struct imgsrc **out, struct err *e)
{
    struct imgsrc *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(e, "out of memory");
    s->loc = *loc;
    if (loc->kind == IMGLOC_LAYOUT) {
        if (shared) {
            s->l = shared;
        } else {
            char path[4200];
            snprintf(path, sizeof path, "%s/oci-layout", loc->dir);
            if (access(path, R_OK) < 0) {
                free(s);
                return err_sys(e, errno, "%s: not an OCI image layout (%s)", loc->dir, path);
            }
            if (layout_open(loc->dir, 0, &s->l, e) < 0) {
                free(s);
                return ERR;
            }
            s->own_layout = true;
        }
        *out = s;
        return 0;
    }
    struct registry_opts ro = {
        .ca_cert = o->ca_cert, .insecure = o->insecure, .verbose = o->verbose,
        .retries = o->retries, .extra_scope = o->extra_scope, .timeout = o->timeout,
    };
    int rc = registry_open_user(&loc->ref, o->creds, &ro, &s->reg, e);
    if (rc == 0 && !(s->h = registry_conn(s->reg, e)))
        rc = ERR;
    if (rc < 0) {
        imgsrc_close(s);
        return ERR;
    }
    *out = s;
    return 0;
}

void imgsrc_close(struct imgsrc *s)
{
    if (!s)
        return;
    if (s->own_layout)
        layout_close(s->l);
    if (s->h)
        curl_easy_cleanup(s->h);
    registry_close(s->reg);
    free(s);
}

const struct imgloc *imgsrc_loc(const struct imgsrc *s) { return &s->loc; }
struct registry *imgsrc_registry(const struct imgsrc *s) { return s->reg; }

/* ---------------------------------------------------------------- layout */

static int layout_top(struct imgsrc *s, struct imgdoc *d, bool *missing, struct err *e)
{
    json_t *entries = json_object_get(layout_index(s->l), "manifests");
    json_t *entry = NULL;
    if (s->loc.tag[0]) {
        entry = layout_find_tag(s->l, s->loc.tag, e);
        if (!entry) {
            if (missing)
                *missing = true;
            return err_ctx(e, "%s", s->loc.text);
        }
    } else if (json_array_size(entries) == 1) {
        entry = json_array_get(entries, 0);
    } else {
        return err_set(e, "%s holds %zu images: name one as oci:%s:TAG", s->loc.text,
                       json_array_size(entries), s->loc.dir);
    }
    const char *digest = json_string_value(json_object_get(entry, "digest"));
    const char *mt = json_string_value(json_object_get(entry, "mediaType"));
    json_t *size = json_object_get(entry, "size");
    if (!digest || !digest_valid(digest) || !json_is_integer(size))
        return err_set(e, "%s/index.json: the entry of %s lacks a valid digest or size", s->loc.dir,
                       s->loc.text);
    d->bytes = layout_read_blob(s->l, digest, json_integer_value(size), &d->len, e);
    if (!d->bytes)
        return err_ctx(e, "%s", s->loc.text);
    snprintf(d->digest, sizeof d->digest, "%s", digest);
    imgsrc_media_of(d->bytes, d->len, mt, d->media, sizeof d->media);
    return 0;
}

/* ---------------------------------------------------------------- registry */

struct sink {
    char *mem;               /* into memory (cap bytes at most) ... */
    size_t len, cap;
    int fd;                  /* ... or into this file */
    long long written;
    long long limit;         /* the descriptor's size: no more than that is accepted */
    struct digest dg;
};

static int sink_cb(void *arg, const void *data, size_t n)
{
    struct sink *k = arg;
    if (k->written + (long long)n > k->limit)
        return -1;
    if (k->mem) {
        memcpy(k->mem + k->len, data, n);
        k->len += n;
    } else if (fdio_write_all(k->fd, data, n) < 0) {
        return -1;
    }
    k->written += (long long)n;
    digest_update(&k->dg, data, n);
    return 0;
}

/* GET url into the sink, following one Location (a blob store) when the registry
 * redirects; the bytes must hash to digest. */
static int get_into(struct imgsrc *s, const char *url, const char *accept, struct sink *k,
                    const char *digest, struct err *e)
{
    struct reg_resp *resp = malloc(sizeof *resp);
    if (!resp)
        return err_set(e, "out of memory");
    if (digest_init(&k->dg, e) < 0) {
        free(resp);
        return ERR;
    }
    struct reg_req req = {.accept = accept, .sink = sink_cb, .sink_arg = k};
    char target[REG_URL_MAX];
    snprintf(target, sizeof target, "%s", url);
    int rc = 0;
    for (int hop = 0; hop < 2 && rc == 0; hop++) {
        /* not retried: bytes already hashed could not be taken back */
        rc = registry_do(s->reg, s->h, "GET", target, &req, resp, e);
        if (rc == 0 && (resp->status == 301 || resp->status == 302 || resp->status == 303 ||
                        resp->status == 307 || resp->status == 308) && resp->location[0] && hop == 0) {
            snprintf(target, sizeof target, "%s", resp->location);
            continue;
        }
        break;
    }
    char d[600];
    if (rc == 0 && resp->status != 200)
        rc = err_set(e, "GET %s: %s", url, registry_describe(resp, d, sizeof d));
    free(resp);
    char hex[DIGEST_HEX_LEN + 1];
    digest_final_hex(&k->dg, hex);
    if (rc < 0)
        return ERR;
    if (strcmp(hex, digest + 7) != 0)
        return err_set(e, "GET %s: the registry's bytes hash to sha256:%s, not %s", url, hex, digest);
    return 0;
}

static int registry_doc(struct imgsrc *s, const char *kind, const char *digest, long long size,
                        size_t max, const char *accept, struct imgdoc *d, struct err *e)
{
    if (size > (long long)max)
        return err_set(e, "%s %s is %lld bytes: more than armlet reads (%zu)", kind, digest, size, max);
    struct sink k = {.cap = max, .fd = -1, .limit = size >= 0 ? size : (long long)max};
    k.mem = malloc(max + 1);
    if (!k.mem)
        return err_set(e, "out of memory");
    char url[800];
    snprintf(url, sizeof url, "/v2/%s/%s/%s", s->loc.ref.repo, kind, digest);
    if (get_into(s, url, accept, &k, digest, e) < 0 || (size >= 0 && k.written != size)) {
        if (size >= 0 && k.written != size)
            err_set(e, "GET %s: %lld bytes, the descriptor says %lld", url, k.written, size);
        free(k.mem);
        return err_ctx(e, "%s", s->loc.text);
    }
    k.mem[k.len] = '\0';
    d->bytes = k.mem;
    d->len = k.len;
    snprintf(d->digest, sizeof d->digest, "%s", digest);
    return 0;
}

static int registry_top(struct imgsrc *s, struct imgdoc *d, bool *missing, struct err *e)
{
    const struct ref *r = &s->loc.ref;
    const char *name = r->digest[0] ? r->digest : r->tag[0] ? r->tag : "latest";
    char url[800], q[600];
    snprintf(url, sizeof url, "/v2/%s/manifests/%s", r->repo, name);
    struct reg_resp *resp = malloc(sizeof *resp);
    if (!resp)
        return err_set(e, "out of memory");
    struct reg_req req = {.accept = ACCEPT_ALL};
    int rc = registry_do_retry(s->reg, s->h, "GET", url, &req, resp, e);
    if (rc == 0 && resp->status == 404 && missing)
        *missing = true;
    if (rc == 0 && resp->status != 200)
        rc = err_set(e, "GET %s: %s", url, registry_describe(resp, q, sizeof q));
    if (rc == 0 && resp->body_cut)
        rc = err_set(e, "GET %s: manifest larger than 64 KiB", url);
    if (rc == 0 && !(d->bytes = malloc(resp->body_len + 1)))
        rc = err_set(e, "out of memory");
    if (rc == 0) {
        memcpy(d->bytes, resp->body, resp->body_len);
        d->bytes[resp->body_len] = '\0';
        d->len = resp->body_len;
        rc = digest_buffer(d->bytes, d->len, d->digest, e);
    }
    free(resp);
    if (rc == 0 && r->digest[0] && strcmp(r->digest, d->digest) != 0)
        rc = err_set(e, "GET %s: the registry's bytes hash to %s", url, d->digest);
    if (rc < 0) {
        imgdoc_free(d);
        return err_ctx(e, "%s", s->loc.text);
    }
    imgsrc_media_of(d->bytes, d->len, NULL, d->media, sizeof d->media);
    return 0;
}

/* ---------------------------------------------------------------- both */

int imgsrc_top(struct imgsrc *s, struct imgdoc *d, bool *missing, struct err *e)
{
    memset(d, 0, sizeof *d);
    if (missing)
        *missing = false;
    return s->l ? layout_top(s, d, missing, e) : registry_top(s, d, missing, e);
}

/* A JSON document by digest: from the layout, or GET /v2/<repo>/<kind>/<digest>. */
static int read_doc(struct imgsrc *s, const char *kind, const char *digest, long long size, size_t max,
                    const char *accept, struct imgdoc *d, struct err *e)
{
    memset(d, 0, sizeof *d);
    if (!digest_valid(digest))
        return err_set(e, "%s: digest \"%s\" is not sha256:<64 hex>", s->loc.text, digest);
    if (!s->l)
        return registry_doc(s, kind, digest, size, max, accept, d, e);
    d->bytes = layout_read_blob(s->l, digest, size, &d->len, e);
    if (!d->bytes)
        return err_ctx(e, "%s", s->loc.text);
    snprintf(d->digest, sizeof d->digest, "%s", digest);
    return 0;
}

int imgsrc_manifest(struct imgsrc *s, const char *digest, long long size, const char *media,
                    struct imgdoc *d, struct err *e)
{
    if (read_doc(s, "manifests", digest, size, 64 << 10, ACCEPT_ALL, d, e) < 0)
        return ERR;
    imgsrc_media_of(d->bytes, d->len, media, d->media, sizeof d->media);
    return 0;
}

int imgsrc_blob_mem(struct imgsrc *s, const char *digest, long long size, struct imgdoc *d,
                    struct err *e)
{
    return read_doc(s, "blobs", digest, size, CONFIG_MAX, NULL, d, e);
}

int imgsrc_blob_fd(struct imgsrc *s, const char *digest, long long size, struct err *e)
{
    if (!digest_valid(digest)) {
        err_set(e, "%s: digest \"%s\" is not sha256:<64 hex>", s->loc.text, digest);
        return -1;
    }
    if (s->l) {
        int fd = layout_blob_open(s->l, digest, size, e);
        if (fd < 0)
            err_ctx(e, "%s", s->loc.text);
        return fd;
    }
    /* An unlinked file: nothing is left behind whatever happens. */
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !tmp[0])
        tmp = "/tmp";
    int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        err_sys(e, errno, "cannot create a temporary file in %s", tmp);
        return -1;
    }
    struct sink k = {.fd = fd, .limit = size >= 0 ? size : (long long)1 << 62};
    char url[800];
    snprintf(url, sizeof url, "/v2/%s/blobs/%s", s->loc.ref.repo, digest);
    if (get_into(s, url, NULL, &k, digest, e) < 0 || (size >= 0 && k.written != size)) {
        if (size >= 0 && k.written != size)
            err_set(e, "GET %s: %lld bytes, the descriptor says %lld", url, k.written, size);
        close(fd);
        err_ctx(e, "%s", s->loc.text);
        return -1;
    }
    return fd;
}
