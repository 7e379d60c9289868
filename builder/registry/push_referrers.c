/* builder/registry/push_referrers.c — see push_referrers.h. */
#include "registry/push_referrers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/auth.h"
#include "util/cleanup.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/media_type.h"
#include "oci/oci.h"
#include "registry/reference.h"
#include "oci/referrer.h"
#include "image/sbom.h"

#define ACCEPT_MANIFESTS OCI_MT_INDEX ", " OCI_MT_MANIFEST ", " DOCKER_MT_LIST ", " DOCKER_MT_MANIFEST
#define RANGE_STEP 65536

struct rr {
    struct registry *reg;
    CURL *h;
    const char *repo;
    struct reg_resp *resp;   /* one reply buffer (64 KiB body): heap, not stack */
};

static int fail(struct rr *r, const char *what, struct err *e)
{
    char d[600];
    return err_set(e, "%s: %s", what, registry_describe(r->resp, d, sizeof d));
}

/* ------------------------------------------------------------------ platform */

const json_t *referrers_pick_platform(const json_t *idx, const struct platform *want,
                                      const char *where, struct err *e)
{
    const json_t *found = NULL, *d;
    size_t i, n = 0;
    json_array_foreach(json_object_get(idx, "manifests"), i, d) {
        const json_t *p = json_object_get(d, "platform");
        const char *os = json_string_value(json_object_get(p, "os"));
        const char *arch = json_string_value(json_object_get(p, "architecture"));
        const char *var = json_string_value(json_object_get(p, "variant"));
        if (!os || !arch)
            continue;   /* not a platform image (an attestation, ...) */
        n++;
        if (!want ? !found
                  : !strcmp(os, want->os) && !strcmp(arch, want->arch) &&
                        !strcmp(var ? var : "", want->variant))
            found = d;
    }
    if (!found)
        return err_set(e, "%s: no %s image in the index", where, want ? want->oci : "platform"), NULL;
    if (!want && n > 1)
        return err_set(e, "%s holds %zu platforms: give --platform", where, n), NULL;
    return found;
}

/* ------------------------------------------------------------------ requests */

/* GET a manifest (tag or digest). 1 with *doc and its bytes' digest, 0 on 404, ERR. */
static int get_manifest(struct rr *r, const char *name, json_t **doc, char *digest,
                        struct err *e)
{
    char url[1200];
    snprintf(url, sizeof url, "/v2/%s/manifests/%s", r->repo, name);
    struct reg_req req = {.accept = ACCEPT_MANIFESTS};
    *doc = NULL;
    if (registry_do_retry(r->reg, r->h, "GET", url, &req, r->resp, e) < 0)
        return err_ctx(e, "GET manifest %s", name);
    if (r->resp->status == 404)
        return 0;
    if (r->resp->status != 200)
        return fail(r, name, e);
    if (r->resp->body_cut)
        return err_set(e, "manifest %s: larger than 64 KiB", name);
    if (digest_buffer(r->resp->body, r->resp->body_len, digest, e) < 0)
        return ERR;
    if (!strncmp(name, "sha256:", 7) && strcmp(name, digest))
        return err_set(e, "manifest %s: the registry's bytes hash to %s", name, digest);
    if (!(*doc = json_loadb(r->resp->body, r->resp->body_len, 0, NULL)))
        return err_set(e, "manifest %s: not JSON", name);
    return 1;
}

/* GET blob digest of size bytes, in ranges. *out malloc'd (NUL after the end). */
static int get_blob(struct rr *r, const char *digest, long long size, char **out, struct err *e)
{
    char url[1200], range[64];
    if (size < 0 || size > LAYOUT_JSON_MAX)
        return err_set(e, "blob %s: size %lld out of range", digest, size);
    cleanup_free char *buf = malloc((size_t)size + 1);
    if (!buf)
        return err_set(e, "out of memory");
    snprintf(url, sizeof url, "/v2/%s/blobs/%s", r->repo, digest);
    long long got = 0;
    int rc = 0;
    while (rc == 0 && got < size) {
        long long last = got + RANGE_STEP - 1 < size - 1 ? got + RANGE_STEP - 1 : size - 1;
        snprintf(range, sizeof range, "%lld-%lld", got, last);
        struct reg_req req = {.range = range};
        rc = registry_do_retry(r->reg, r->h, "GET", url, &req, r->resp, e);
        if (rc < 0)
            return err_ctx(e, "GET blob %s", digest);
        long want = (long)(last - got + 1);
        size_t n = r->resp->body_len;
        /* 206 with our range, or 200 with the whole (short) blob */
        if ((r->resp->status != 206 && r->resp->status != 200) || r->resp->body_cut ||
            (r->resp->status == 206 && (long)n != want) ||
            (r->resp->status == 200 && (got != 0 || (long long)n != size)))
            return r->resp->status == 206 || r->resp->status == 200
                       ? err_set(e, "blob %s: the registry sent %zu bytes for range %s", digest, n, range)
                       : fail(r, digest, e);
        memcpy(buf + got, r->resp->body, n);
        got += (long long)n;
    }
    buf[size] = '\0';
    char check[DIGEST_PREFIXED_LEN + 1];
    if (digest_buffer(buf, (size_t)size, check, e) < 0)
        return ERR;
    if (strcmp(check, digest))
        return err_set(e, "blob %s: the registry's bytes hash to %s", digest, check);
    *out = steal_pointer(&buf);
    return 0;
}

/* Put bytes as blob digest unless the registry has it. */
static int put_blob(struct rr *r, const char *digest, const char *data, size_t n, struct err *e)
{
    char url[REG_URL_MAX + 128];
    snprintf(url, sizeof url, "/v2/%s/blobs/%s", r->repo, digest);
    if (registry_do_retry(r->reg, r->h, "HEAD", url, NULL, r->resp, e) < 0)
        return err_ctx(e, "HEAD blob %s", digest);
    if (r->resp->status == 200)
        return 0;
    snprintf(url, sizeof url, "/v2/%s/blobs/uploads/", r->repo);
    if (registry_do(r->reg, r->h, "POST", url, NULL, r->resp, e) < 0)
        return err_ctx(e, "POST upload of %s", digest);
    if (r->resp->status != 202 || !r->resp->location[0])
        return fail(r, "starting upload", e);
    const char *loc = r->resp->location;
    char put[REG_URL_MAX + 128];
    snprintf(put, sizeof put, "%s%sdigest=sha256%%3A%s", loc, strchr(loc, '?') ? "&" : "?",
             digest + 7);
    struct reg_body body = {.mem = data, .fd = -1, .len = (off_t)n};
    struct reg_req req = {.content_type = MT_OCTET_STREAM, .body = &body};
    if (registry_do(r->reg, r->h, "PUT", put, &req, r->resp, e) < 0)
        return err_ctx(e, "PUT blob %s", digest);
    return r->resp->status == 201 ? 0 : fail(r, digest, e);
}

static int put_manifest(struct rr *r, const char *name, const char *media, const char *data,
                        size_t n, struct err *e)
{
    char url[1200];
    snprintf(url, sizeof url, "/v2/%s/manifests/%s", r->repo, name);
    struct reg_body body = {.mem = data, .fd = -1, .len = (off_t)n};
    struct reg_req req = {.content_type = media, .body = &body};
    if (registry_do_retry(r->reg, r->h, "PUT", url, &req, r->resp, e) < 0)
        return err_ctx(e, "PUT manifest %s", name);
    return r->resp->status == 201 ? 0 : fail(r, name, e);
}

/* 1 when the registry answers the referrers API for digest (*list its index), else 0. */
static int referrers_api(struct rr *r, const char *digest, json_t **list, struct err *e)
{
    char url[1200];
    *list = NULL;
    snprintf(url, sizeof url, "/v2/%s/referrers/%s", r->repo, digest);
    struct reg_req req = {.accept = OCI_MT_INDEX};
    if (registry_do_retry(r->reg, r->h, "GET", url, &req, r->resp, e) < 0)
        return err_ctx(e, "GET referrers of %s", digest);
    if (r->resp->status != 200 || r->resp->body_cut)
        return 0;
    *list = json_loadb(r->resp->body, r->resp->body_len, 0, NULL);
    return *list && json_is_array(json_object_get(*list, "manifests"));
}

/* ------------------------------------------------------------------ push */

/* One referrer of the layout: its blobs, then itself by digest. */
static int push_one(struct rr *r, const struct layout *l, const json_t *desc, struct err *e)
{
    const char *digest = json_string_value(json_object_get(desc, "digest"));
    size_t n = 0;
    cleanup_free char *bytes = layout_read_blob(l, digest, -1, &n, e);
    cleanup_json json_t *m = bytes ? json_loadb(bytes, n, 0, NULL) : NULL;
    if (!m)
        return bytes ? err_set(e, "referrer %s: not JSON", digest) : ERR;
    json_t *parts = json_pack("[O]", json_object_get(m, "config"));
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(m, "layers"), i, d) {
        json_array_append(parts, d);
    }
    int rc = parts ? 0 : err_set(e, "out of memory");
    json_array_foreach(parts, i, d) {
        const char *bd = json_string_value(json_object_get(d, "digest"));
        size_t bn = 0;
        cleanup_free char *blob = rc == 0 && bd ? layout_read_blob(
            l, bd, json_integer_value(json_object_get(d, "size")), &bn, e) : NULL;
        if (rc == 0 && (!blob || put_blob(r, bd, blob, bn, e) < 0))
            rc = ERR;
    }
    json_decref(parts);
    if (rc == 0)
        rc = put_manifest(r, digest, OCI_MT_MANIFEST, bytes, n, e);
    return rc < 0 ? err_ctx(e, "referrer %s", digest) : 0;
}

/* The fallback tag's index with refs merged in; PUT when something was added. */
static int update_fallback(struct rr *r, const char *subject, const json_t *refs, struct err *e)
{
    char tag[80], have_digest[DIGEST_PREFIXED_LEN + 1];
    snprintf(tag, sizeof tag, "sha256-%s", subject + 7);
    cleanup_json json_t *idx = NULL;
    int rc = get_manifest(r, tag, &idx, have_digest, e);
    if (rc < 0)
        return ERR;
    if (rc == 0 && !(idx = oci_index_new()))
        return err_set(e, "out of memory");
    json_t *mans = json_object_get(idx, "manifests");
    if (!json_is_array(mans))
        return err_set(e, "fallback tag %s: not an image index", tag);
    int added = 0;
    size_t i, j;
    json_t *d, *have;
    json_array_foreach(refs, i, d) {
        int present = 0;
        json_array_foreach(mans, j, have) {
            present |= json_equal(json_object_get(have, "digest"), json_object_get(d, "digest"));
        }
        if (!present) {
            if (json_array_append(mans, d) < 0)
                return err_set(e, "out of memory");
            added = 1;
        }
    }
    if (!added)
        return 0;
    cleanup_free char *text = oci_json_dump(idx, e);
    return text ? put_manifest(r, tag, OCI_MT_INDEX, text, strlen(text), e) : ERR;
}

int push_referrers(struct registry *reg, CURL *h, const char *oci_dir, const char *repo,
                   const char *const *subjects, size_t n, struct err *e)
{
    struct layout *l = NULL;
    if (layout_open(oci_dir, 0, &l, e) < 0)
        return ERR;
    struct rr r = {.reg = reg, .h = h, .repo = repo, .resp = malloc(sizeof *r.resp)};
    int rc = r.resp ? 0 : err_set(e, "out of memory");
    for (size_t k = 0; rc == 0 && k < n; k++) {
        cleanup_json json_t *refs = referrer_list(l, subjects[k], NULL, e);
        if (!refs) {
            rc = ERR;
            break;
        }
        size_t i;
        json_t *d;
        json_array_foreach(refs, i, d) {
            if (rc == 0)
                rc = push_one(&r, l, d, e);
        }
        cleanup_json json_t *api = NULL;
        int has_api = rc == 0 && json_array_size(refs) ? referrers_api(&r, subjects[k], &api, e) : 1;
        if (has_api < 0)
            rc = ERR;
        else if (!has_api)
            rc = update_fallback(&r, subjects[k], refs, e);
    }
    free(r.resp);
    layout_close(l);
    return rc < 0 ? err_ctx(e, "referrers") : 0;
}

/* ------------------------------------------------------------------ read back */

static int print_sbom(struct rr *r, const char *name, const struct platform *want,
                      const char *shown, struct err *e)
{
    char digest[DIGEST_PREFIXED_LEN + 1];
    cleanup_json json_t *top = NULL, *refs = NULL, *art = NULL;
    int rc = get_manifest(r, name, &top, digest, e);
    if (rc <= 0)
        return rc < 0 ? ERR : err_set(e, "%s: not found", shown);
    const char *mt = json_string_value(json_object_get(top, "mediaType"));
    if (mt && (!strcmp(mt, OCI_MT_INDEX) || !strcmp(mt, DOCKER_MT_LIST))) {
        const json_t *m = referrers_pick_platform(top, want, shown, e);
        if (!m)
            return ERR;
        snprintf(digest, sizeof digest, "%s", json_string_value(json_object_get(m, "digest")));
    }
    char tag[80], ignored[DIGEST_PREFIXED_LEN + 1];
    rc = referrers_api(r, digest, &refs, e);
    if (rc == 0) {
        snprintf(tag, sizeof tag, "sha256-%s", digest + 7);
        rc = get_manifest(r, tag, &refs, ignored, e);
    }
    if (rc < 0)
        return ERR;
    const json_t *pick = NULL, *d;
    size_t i;
    json_array_foreach(json_object_get(refs, "manifests"), i, d) {
        const char *at = json_string_value(json_object_get(d, "artifactType"));
        if (!pick && at && !strcmp(at, SBOM_ARTIFACT_TYPE))
            pick = d;
    }
    if (!pick)
        return err_set(e, "%s: no SBOM is attached to %s", shown, digest);
    const char *ad = json_string_value(json_object_get(pick, "digest"));
    if (!ad || !digest_valid(ad) || get_manifest(r, ad, &art, ignored, e) <= 0)
        return err_set(e, "%s: SBOM manifest %s cannot be read", shown, ad ? ad : "?");
    json_t *layer = json_array_get(json_object_get(art, "layers"), 0);
    const char *ld = json_string_value(json_object_get(layer, "digest"));
    cleanup_free char *text = NULL;
    json_int_t size = json_integer_value(json_object_get(layer, "size"));
    if (!ld || !digest_valid(ld) || get_blob(r, ld, size, &text, e) < 0)
        return err_ctx(e, "%s: SBOM", shown);
    if (fwrite(text, 1, (size_t)size, stdout) != (size_t)size || fputc('\n', stdout) == EOF)
        return err_set(e, "stdout: write failed");
    return 0;
}

int referrers_print_sbom(const char *refstr, const struct platform *want, int insecure,
                         struct err *e)
{
    struct ref ref;
    if (ref_parse(refstr, &ref, e) < 0)
        return ERR;
    struct registry_opts ro = {.insecure = insecure, .retries = 3};
    struct registry *reg = NULL;
    int rc = registry_open_user(&ref, NULL, &ro, &reg, e);
    if (rc < 0)
        return ERR;
    struct rr r = {.reg = reg, .repo = ref.repo, .resp = malloc(sizeof *r.resp)};
    r.h = registry_conn(reg, e);
    rc = !r.resp ? err_set(e, "out of memory") : !r.h ? ERR
         : print_sbom(&r, ref.digest[0] ? ref.digest : ref.tag[0] ? ref.tag : "latest", want,
                      refstr, e);
    if (r.h)
        curl_easy_cleanup(r.h);
    free(r.resp);
    registry_close(reg);
    return rc;
}
