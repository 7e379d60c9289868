/* builder/registry/index.c — see index.h for the steps and the guarantees. */
#include "registry/index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "image/annotations.h"
#include "registry/blobxfer.h"
#include "util/cleanup.h"
#include "util/fdio.h"
#include "oci/layout.h"
#include "oci/media_type.h"
#include "oci/oci.h"
#include "util/platform.h"
#include "registry/registry.h"
#include "util/safetext.h"

#define ACCEPT_ALL  OCI_MT_INDEX ", " OCI_MT_MANIFEST ", " DOCKER_MT_LIST ", " DOCKER_MT_MANIFEST

struct entry {
    char platform[96];          /* "linux/arm/v7" */
    int rank;                   /* canonical order */
    json_t *pjson;              /* the descriptor's platform object (owned) */
    struct imgdoc man;          /* the manifest's bytes, digest, media type */
    struct imgsrc *src;         /* where its blobs are */
    bool in_dest;               /* already at DEST (index add) */
};

struct merge {
    const struct index_opts *o;
    struct entry *ents;
    size_t n;
    json_t *annots;             /* the index's annotations so far (owned), or NULL */
    bool annots_set;            /* create: the first SRC set them */
};

static void entry_free(struct entry *en)
{
    json_decref(en->pjson);
    imgdoc_free(&en->man);
}

static void merge_free(struct merge *m)
{
    for (size_t i = 0; i < m->n; i++)
        entry_free(&m->ents[i]);
    free(m->ents);
    json_decref(m->annots);
}

/* ---------------------------------------------------------------- platforms */

static int platform_rank(const char *key)
{
    for (size_t i = 0; i < platform_count; i++)
        if (!strcmp(platform_table[i].oci, key))
            return (int)i;
    return 100;
}

/* os/architecture[/variant] of a platform object into key; ERR when os or
 * architecture is missing. */
static int platform_key(const json_t *p, char *key, size_t cap)
{
    const char *os = json_string_value(json_object_get(p, "os"));
    const char *arch = json_string_value(json_object_get(p, "architecture"));
    const char *var = json_string_value(json_object_get(p, "variant"));
    if (!os || !arch || !os[0] || !arch[0])
        return ERR;
    snprintf(key, cap, "%s/%s%s%s", os, arch, var && var[0] ? "/" : "", var && var[0] ? var : "");
    return 0;
}

/* The platform object from a manifest's config: os, architecture, variant, os.version
 * and os.features where the config has them. */
static json_t *platform_from_config(struct imgsrc *src, const struct imgdoc *man, struct err *e)
{
    json_error_t je;
    cleanup_json json_t *doc = json_loadb(man->bytes, man->len, 0, &je);
    json_t *cd = json_object_get(doc, "config");
    const char *digest = json_string_value(json_object_get(cd, "digest"));
    json_t *size = json_object_get(cd, "size");
    if (!digest || !json_is_integer(size)) {
        err_set(e, "manifest %s has no config descriptor: its platform is unknown", man->digest);
        return NULL;
    }
    struct imgdoc cfg;
    if (imgsrc_blob_mem(src, digest, json_integer_value(size), &cfg, e) < 0) {
        err_ctx(e, "config of manifest %s", man->digest);
        return NULL;
    }
    cleanup_json json_t *c = json_loadb(cfg.bytes, cfg.len, 0, &je);
    imgdoc_free(&cfg);
    json_t *p = json_object();
    static const char *const keys[] = {"architecture", "os", "variant", "os.version", "os.features"};
    for (size_t i = 0; p && i < sizeof keys / sizeof *keys; i++) {
        json_t *v = json_object_get(c, keys[i]);
        if (v && !(json_is_string(v) && !json_string_value(v)[0]))
            json_object_set(p, keys[i], v);
    }
    char key[96];
    if (!p || platform_key(p, key, sizeof key) < 0) {
        json_decref(p);
        err_set(e, "config %s of manifest %s names no os and architecture", digest, man->digest);
        return NULL;
    }
    return p;
}

/* ---------------------------------------------------------------- gathering */

static int add_entry(struct merge *m, struct entry *en, const char *origin, struct err *e)
{
    for (size_t i = 0; i < m->n; i++) {
        struct entry *old = &m->ents[i];
        if (strcmp(old->platform, en->platform) != 0)
            continue;
        if (!strcmp(old->man.digest, en->man.digest)) {
            entry_free(en);      /* the same manifest twice: kept once */
            return 0;
        }
        if (!m->o->replace) {
            char d[72];
            snprintf(d, sizeof d, "%s", old->man.digest);
            entry_free(en);
            return err_set(e, "%s: platform %s is already %s (%s); pass --replace to replace it",
                           origin, old->platform, old->in_dest ? "in DEST" : "given by an earlier SRC", d);
        }
        entry_free(old);
        *old = *en;
        return 0;
    }
    if (m->n >= INDEX_MAX_MANIFESTS) {
        entry_free(en);
        return err_set(e, "more than %d platform manifests", INDEX_MAX_MANIFESTS);
    }
    struct entry *ne = realloc(m->ents, (m->n + 1) * sizeof *ne);
    if (!ne) {
        entry_free(en);
        return err_set(e, "out of memory");
    }
    m->ents = ne;
    m->ents[m->n++] = *en;
    return 0;
}

/* One manifest (its bytes in man, taken over) with the descriptor's platform (or NULL). */
static int take_manifest(struct merge *m, struct imgsrc *src, struct imgdoc *man, const json_t *plat,
                         bool in_dest, struct err *e)
{
    const char *origin = imgsrc_loc(src)->text;
    struct entry en = {.src = src, .in_dest = in_dest, .man = *man};
    memset(man, 0, sizeof *man);
    if (plat && platform_key(plat, en.platform, sizeof en.platform) == 0)
        en.pjson = json_deep_copy(plat);
    else
        en.pjson = platform_from_config(src, &en.man, e);
    if (!en.pjson) {
        entry_free(&en);
        return err_ctx(e, "%s", origin);
    }
    if (platform_key(en.pjson, en.platform, sizeof en.platform) < 0) {
        entry_free(&en);
        return err_set(e, "%s: manifest without os and architecture", origin);
    }
    en.rank = platform_rank(en.platform);
    return add_entry(m, &en, origin, e);
}

/* create: keep only the annotations every SRC's top document has with the same value. */
static void meet_annotations(struct merge *m, const json_t *top)
{
    json_t *a = json_object_get(top, "annotations");
    if (!m->annots_set) {
        m->annots_set = true;
        m->annots = json_is_object(a) ? json_deep_copy(a) : json_object();
        json_object_del(m->annots, OCI_REF_NAME);
        return;
    }
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(m->annots, tmp, k, v) {
        if (!json_equal(v, json_object_get(a, k)))
            json_object_del(m->annots, k);
    }
}

/* Every platform manifest of src's top document. */
static int take_source(struct merge *m, struct imgsrc *src, bool in_dest, struct err *e)
{
    const char *origin = imgsrc_loc(src)->text;
    struct imgdoc top;
    if (imgsrc_top(src, &top, NULL, e) < 0)
        return ERR;
    json_error_t je;
    cleanup_json json_t *doc = json_loadb(top.bytes, top.len, 0, &je);
    if (!doc) {
        imgdoc_free(&top);
        return err_set(e, "%s: %s is not JSON: %s", origin, top.digest, je.text);
    }
    if (in_dest || !m->o->add)   /* add: DEST's annotations; create: the SRCs' shared ones */
        meet_annotations(m, doc);
    if (!imgsrc_is_index(top.media))
        return take_manifest(m, src, &top, NULL, in_dest, e);
    imgdoc_free(&top);
    json_t *mans = json_object_get(doc, "manifests");
    size_t i;
    json_t *d;
    json_array_foreach(mans, i, d) {
        const char *digest = json_string_value(json_object_get(d, "digest"));
        const char *mt = json_string_value(json_object_get(d, "mediaType"));
        json_t *size = json_object_get(d, "size");
        json_t *plat = json_object_get(d, "platform");
        if (!digest || !json_is_integer(size))
            return err_set(e, "%s: index entry %zu lacks a digest or size", origin, i);
        const char *os = json_string_value(json_object_get(plat, "os"));
        if (os && !strcmp(os, "unknown"))
            continue;   /* attestations and other non-runnable entries */
        if (mt && imgsrc_is_index(mt))
            return err_set(e, "%s: entry %zu is itself an index: nested indexes are not merged", origin, i);
        struct imgdoc man;
        if (imgsrc_manifest(src, digest, json_integer_value(size), mt, &man, e) < 0)
            return ERR;
        if (take_manifest(m, src, &man, plat, in_dest, e) < 0)
            return ERR;
    }
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    int c = strcmp(x->platform, y->platform);
    return c ? c : strcmp(x->man.digest, y->man.digest);
}

/* The new index document. */
static json_t *index_doc(struct merge *m, struct err *e)
{
    json_t *idx = oci_index_new();
    if (!idx) {
        err_set(e, "out of memory");
        return NULL;
    }
    json_t *arr = json_object_get(idx, "manifests");
    for (size_t i = 0; i < m->n; i++) {
        const struct entry *en = &m->ents[i];
        json_t *d = json_pack("{s:s,s:s,s:I,s:O}", "mediaType", en->man.media, "digest", en->man.digest,
                              "size", (json_int_t)en->man.len, "platform", en->pjson);
        if (!d || json_array_append_new(arr, d) < 0) {
            json_decref(idx);
            err_set(e, "out of memory");
            return NULL;
        }
    }
    if (m->annots && json_object_size(m->annots) > 0)
        json_object_set(idx, "annotations", m->annots);
    return idx;
}

/* ---------------------------------------------------------------- to a layout */

/* Copy fd (size bytes) into stagefd/<hex>: a fresh temporary, then a rename. */
static int stage_copy(int stagefd, const char *stage, int fd, const char *digest, long long size,
                      struct err *e)
{
    char tmp[64];
    cleanup_close int out = fdio_create_tmp_at(stagefd, ".tmp-blob-", tmp, sizeof tmp, 0644);
    if (out < 0)
        return err_sys(e, errno, "cannot create a blob in %s", stage);
    char buf[1 << 16];
    for (long long off = 0; off < size;) {
        ssize_t n = pread(fd, buf, sizeof buf, off);
        if (n <= 0 || fdio_write_all(out, buf, (size_t)n) < 0) {
            int saved = n < 0 ? errno : EIO;
            unlinkat(stagefd, tmp, 0);
            return err_sys(e, saved, "cannot copy blob %s into %s", digest, stage);
        }
        off += n;
    }
    if (fsync(out) < 0 || renameat(stagefd, tmp, stagefd, digest + 7) < 0) {
        int saved = errno;
        unlinkat(stagefd, tmp, 0);
        return err_sys(e, saved, "cannot write blob %s into %s", digest, stage);
    }
    return 0;
}

static bool layout_has(const struct layout *l, const char *digest, long long size)
{
    struct err ignored;
    int fd = layout_blob_open(l, digest, size, &ignored);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* The config and layers of a manifest: (digest, size) pairs through cb. */
static int manifest_blobs(const struct imgdoc *man, int (*cb)(void *arg, const char *digest,
                          long long size, const char *what, struct err *e), void *arg, struct err *e)
{
    json_error_t je;
    cleanup_json json_t *doc = json_loadb(man->bytes, man->len, 0, &je);
    if (!doc)
        return err_set(e, "manifest %s: %s", man->digest, je.text);
    json_t *cd = json_object_get(doc, "config");
    json_t *layers = json_object_get(doc, "layers");
    size_t n = json_array_size(layers);
    for (size_t i = 0; i <= n; i++) {
        json_t *d = i == 0 ? cd : json_array_get(layers, i - 1);
        const char *digest = json_string_value(json_object_get(d, "digest"));
        json_t *size = json_object_get(d, "size");
        if (!digest || !digest_valid(digest) || !json_is_integer(size) || json_integer_value(size) < 0)
            return err_set(e, "manifest %s: %s %zu lacks a valid digest or size", man->digest,
                           i ? "layer" : "config", i);
        char what[64];
        snprintf(what, sizeof what, i ? "layer %zu" : "config", i);
        if (cb(arg, digest, json_integer_value(size), what, e) < 0)
            return ERR;
    }
    return 0;
}

/* The step lines (index.h); a registry DEST's blob lines come from blobxfer.c in the
 * same format, with the label "index". */
static void blob_step(const struct err_out *steps, const char *digest, const char *platform, long long size,
                      const char *how)
{
    err_say(steps, "armlet: index: blob %s (%s, %lld bytes): %s\n", digest, platform, size, how);
}

static void manifest_step(const struct err_out *steps, const struct entry *en, const char *how)
{
    err_say(steps, "armlet: index: manifest %s (%s): %s\n", en->man.digest, en->platform, how);
}

static void tag_step(const struct err_out *steps, const char *tag, const char *digest, bool written)
{
    err_say(steps, "armlet: index: tag %s -> %s: %s\n", tag, digest, written ? "updated" : "already up to date");
}

struct to_layout {
    struct layout *l;
    const char *stage;
    int stagefd;
    struct imgsrc *src;
    struct index_result *res;
    const struct err_out *steps;
    const char *platform;
};

static int layout_blob_cb(void *arg, const char *digest, long long size, const char *what, struct err *e)
{
    struct to_layout *t = arg;
    /* staged by an earlier manifest of this run: counted and reported then (a blob
     * shared by several platforms is one blob, as for a registry DEST) */
    if (faccessat(t->stagefd, digest + 7, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    if (layout_has(t->l, digest, size)) {   /* in DEST already */
        t->res->blobs_present++;
        blob_step(t->steps, digest, t->platform, size, "already present");
        return 0;
    }
    cleanup_close int fd = imgsrc_blob_fd(t->src, digest, size, e);
    if (fd < 0 || stage_copy(t->stagefd, t->stage, fd, digest, size, e) < 0)
        return err_ctx(e, "%s %s", what, digest);
    t->res->blobs_copied++;
    t->res->bytes_sent += size;
    blob_step(t->steps, digest, t->platform, size, "copied");
    return 0;
}

static int write_layout(struct layout *l, const char *tag, struct merge *m, const char *bytes,
                        size_t len, struct index_result *res, struct err *e)
{
    const char *stage = layout_stage_dir(l, e);
    if (!stage)
        return ERR;
    cleanup_close int stagefd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (stagefd < 0)
        return err_sys(e, errno, "cannot open %s", stage);
    for (size_t i = 0; i < m->n; i++) {
        struct entry *en = &m->ents[i];
        struct to_layout t = {l, stage, stagefd, en->src, res, &m->o->steps, en->platform};
        if (manifest_blobs(&en->man, layout_blob_cb, &t, e) < 0)
            return err_ctx(e, "%s (%s)", imgsrc_loc(en->src)->text, en->platform);
        if (layout_has(l, en->man.digest, (long long)en->man.len)) {
            res->mans_present++;
            manifest_step(&m->o->steps, en, "already present");
            continue;
        }
        struct oci_desc d;
        if (oci_blob_write(stage, en->man.bytes, en->man.len, &d, e) < 0)
            return ERR;
        res->mans_written++;
        manifest_step(&m->o->steps, en, "written");
    }
    struct oci_desc idx = {.media_type = OCI_MT_INDEX};
    if (oci_blob_write(stage, bytes, len, &idx, e) < 0)
        return ERR;
    json_t *cur = json_object_get(layout_index(l), "manifests");
    size_t i;
    json_t *d;
    res->tag_written = true;
    json_array_foreach(cur, i, d) {
        const char *name = json_string_value(json_object_get(json_object_get(d, "annotations"), OCI_REF_NAME));
        if (name && !strcmp(name, tag) && json_is_string(json_object_get(d, "digest")) &&
            !strcmp(json_string_value(json_object_get(d, "digest")), idx.digest))
            res->tag_written = false;
    }
    if (layout_set_tag(l, tag, &idx, e) < 0)
        return ERR;
    /* The commit: index.json renamed into place, after every blob is there. */
    if (layout_prepare(l, e) < 0 || layout_commit(l, NULL, e) < 0)
        return err_ctx(e, "%s", layout_dir(l));
    tag_step(&m->o->steps, tag, idx.digest, res->tag_written);
    return 0;
}

/* ---------------------------------------------------------------- to a registry */

/* The registry DEST, for the manifests and the tag. */
struct to_reg {
    struct registry *reg;
    CURL *h;
    const char *repo;
    struct reg_resp *resp;
    const struct err_out *steps;
};

/* PUT a manifest (or the index) under name unless the registry has it already. */
static int reg_put(struct to_reg *t, const char *name, const struct imgdoc *doc, bool *sent, struct err *e)
{
    char url[800], d[600];
    snprintf(url, sizeof url, "/v2/%s/manifests/%s", t->repo, name);
    struct reg_req head = {.accept = ACCEPT_ALL};
    *sent = false;
    if (registry_do_retry(t->reg, t->h, "HEAD", url, &head, t->resp, e) < 0)
        return err_ctx(e, "HEAD %s", url);
    if (t->resp->status == 200 && !strcmp(t->resp->digest, doc->digest))
        return 0;
    struct reg_body body = {.mem = doc->bytes, .fd = -1, .len = (off_t)doc->len};
    struct reg_req req = {.content_type = doc->media, .body = &body};
    if (registry_do_retry(t->reg, t->h, "PUT", url, &req, t->resp, e) < 0)
        return err_ctx(e, "PUT %s", url);
    if (t->resp->status != 201)
        return err_set(e, "PUT %s: %s", url, registry_describe(t->resp, d, sizeof d));
    if (t->resp->digest[0] && strcmp(t->resp->digest, doc->digest) != 0)
        return err_set(e, "PUT %s: the registry computed another digest", url);
    *sent = true;
    return 0;
}

/* Collecting the blobs of the new entries for a registry DEST: each once, with the SRC it
 * comes from (blob.arg) and, when that SRC is another repository of DEST's registry, the
 * repository to mount it from. */
struct collect {
    struct blobset set;
    struct imgsrc *src;          /* the current entry's */
    const char *platform;
    const char *host, *repo;     /* DEST's */
};

static int collect_cb(void *arg, const char *digest, long long size, const char *what, struct err *e)
{
    struct collect *c = arg;
    (void)what;
    struct blobxfer_blob *b;
    int rc = blobset_add(&c->set, digest, size, c->platform, &b, e);
    if (rc <= 0)
        return rc;
    const struct imgloc *sl = imgsrc_loc(c->src);
    b->arg = c->src;
    if (sl->kind == IMGLOC_REGISTRY && !strcmp(sl->ref.host, c->host) && strcmp(sl->ref.repo, c->repo) != 0)
        b->from = sl->ref.repo;
    return 0;
}

/* A blob's bytes from its SRC (read from a layout, or downloaded from another registry),
 * only for the blobs DEST neither has nor could mount. */
static int open_from_src(void *arg, const struct blobxfer_blob *b, struct err *e)
{
    (void)arg;
    struct imgsrc *src = b->arg;
    int fd = imgsrc_blob_fd(src, b->digest, b->size, e);
    if (fd < 0)
        err_ctx(e, "%s", imgsrc_loc(src)->text);
    return fd;
}

/* Every blob of the new entries into DEST, 4 at a time (mounts are one request each, so
 * the registry's round trips, not bytes, are what a merge waits for). */
static int reg_blobs(struct to_reg *t, const char *host, struct merge *m, struct index_result *res,
                     struct err *e)
{
    struct collect c = {.host = host, .repo = t->repo};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->n; i++) {
        struct entry *en = &m->ents[i];
        if (en->in_dest)
            continue;
        c.src = en->src;
        c.platform = en->platform;
        if (manifest_blobs(&en->man, collect_cb, &c, e) < 0)
            rc = err_ctx(e, "%s (%s)", imgsrc_loc(en->src)->text, en->platform);
    }
    struct blobxfer_opts xo = {
        .reg = t->reg, .repo = t->repo, .jobs = 4, .label = "index", .steps = *t->steps,
        .open = open_from_src,
    };
    struct blobxfer_result xr = {0};
    if (rc == 0)
        rc = blobxfer_run(&c.set, &xo, &xr, e);
    res->blobs_present = xr.present;
    res->blobs_mounted = xr.mounted;
    res->blobs_copied = xr.uploaded;
    res->bytes_sent = xr.sent;
    blobset_free(&c.set);
    return rc;
}

static int write_registry(struct imgsrc *dest, const char *tag, struct merge *m, const struct imgdoc *idx,
                          struct index_result *res, struct err *e)
{
    struct to_reg t = {.reg = imgsrc_registry(dest), .repo = imgsrc_loc(dest)->ref.repo, .steps = &m->o->steps};
    t.resp = malloc(sizeof *t.resp);
    int rc = t.resp ? 0 : err_set(e, "out of memory");
    if (rc == 0 && !(t.h = registry_conn(t.reg, e)))
        rc = ERR;
    /* 1. blobs, 2. manifests by digest: nothing names them yet */
    if (rc == 0)
        rc = reg_blobs(&t, imgsrc_loc(dest)->ref.host, m, res, e);
    for (size_t i = 0; rc == 0 && i < m->n; i++) {
        struct entry *en = &m->ents[i];
        bool sent;
        if (reg_put(&t, en->man.digest, &en->man, &sent, e) < 0)
            rc = err_ctx(e, "manifest of %s", en->platform);
        else if (sent)
            res->mans_written++;
        else
            res->mans_present++;
        if (rc == 0)
            manifest_step(t.steps, en, sent ? "sent" : "already present");
    }
    /* 3. the tag, last */
    if (rc == 0 && reg_put(&t, tag, idx, &res->tag_written, e) < 0)
        rc = ERR;
    if (rc == 0)
        tag_step(t.steps, tag, idx->digest, res->tag_written);
    if (t.h)
        curl_easy_cleanup(t.h);
    free(t.resp);
    return rc;
}

/* ---------------------------------------------------------------- the command */

static bool same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Scopes for mounting: repository:<repo>:pull of every SRC on DEST's registry. */
static void mount_scopes(const struct imgloc *dest, const struct imgloc *locs, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (locs[i].kind != IMGLOC_REGISTRY || strcmp(locs[i].ref.host, dest->ref.host) != 0 ||
            !strcmp(locs[i].ref.repo, dest->ref.repo))
            continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%srepository:%s:pull", len ? " " : "", locs[i].ref.repo);
    }
}

int index_run(const char *dest_s, const char *const *srcs, size_t nsrc, const struct index_opts *o,
              struct index_result *res, struct err *e)
{
    memset(res, 0, sizeof *res);
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    struct imgloc dest;
    if (imgloc_parse(dest_s, &dest, e) < 0)
        return err_ctx(e, "DEST");
    if (dest.kind == IMGLOC_REGISTRY && dest.ref.digest[0])
        return err_set(e, "DEST \"%s\": a digest cannot be written to: give a tag", dest_s);
    if (!dest.tag[0]) {   /* DEST without a tag is DEST:latest, read (add) and written */
        snprintf(dest.tag, sizeof dest.tag, "latest");
        if (dest.kind == IMGLOC_REGISTRY)
            snprintf(dest.ref.tag, sizeof dest.ref.tag, "latest");
    }
    const char *tag = dest.tag;
    cleanup_json json_t *check = json_object();   /* bad --annotation: before any work */
    if (!check || annotations_apply_index(check, o->annotations, o->nannotations, e) < 0)
        return ERR;
    struct imgloc *locs = calloc(nsrc ? nsrc : 1, sizeof *locs);
    struct imgsrc **open = calloc(nsrc + 1, sizeof *open);
    struct merge m = {.o = o};
    struct layout *dl = NULL;
    struct imgsrc *ds = NULL;
    cleanup_json json_t *doc = NULL;
    struct imgdoc idx = {0};
    int rc = 0;
    if (!locs || !open)
        rc = err_set(e, "out of memory");
    for (size_t i = 0; rc == 0 && i < nsrc; i++)
        if (imgloc_parse(srcs[i], &locs[i], e) < 0)
            rc = err_ctx(e, "SRC");

    /* DEST first: a layout DEST is opened writable (exclusive lock) for the whole run */
    struct imgsrc_opts reach = o->reach;
    char scopes[2048];
    if (rc == 0 && dest.kind == IMGLOC_LAYOUT) {
        if (layout_open(dest.dir, 1, &dl, e) < 0)
            rc = ERR;
        else
            rc = imgsrc_open(&dest, &reach, dl, &ds, e);
    } else if (rc == 0) {
        mount_scopes(&dest, locs, nsrc, scopes, sizeof scopes);
        reach.extra_scope = scopes[0] ? scopes : NULL;
        rc = imgsrc_open(&dest, &reach, NULL, &ds, e);
        reach.extra_scope = o->reach.extra_scope;
    }
    if (rc == 0 && o->add) {
        if (take_source(&m, ds, true, e) < 0)
            rc = err_ctx(e, "index add reads DEST first (a new DEST: use index create)");
    }
    for (size_t i = 0; rc == 0 && i < nsrc; i++) {
        struct layout *shared = NULL;
        if (locs[i].kind == IMGLOC_LAYOUT && dl && same_dir(locs[i].dir, dest.dir))
            shared = dl;
        rc = imgsrc_open(&locs[i], &reach, shared, &open[i], e);
        if (rc == 0)
            rc = take_source(&m, open[i], false, e);
    }
    if (rc == 0 && m.n == 0)
        rc = err_set(e, "the sources hold no platform manifest");
    if (rc == 0) {
        qsort(m.ents, m.n, sizeof *m.ents, entry_cmp);
        if (!m.annots)
            m.annots = json_object();
        rc = annotations_apply_index(m.annots, o->annotations, o->nannotations, e);
    }
    if (rc == 0 && !(doc = index_doc(&m, e)))
        rc = ERR;
    if (rc == 0 && !(idx.bytes = oci_json_dump(doc, e)))
        rc = ERR;
    if (rc == 0) {
        idx.len = strlen(idx.bytes);
        snprintf(idx.media, sizeof idx.media, "%s", OCI_MT_INDEX);
        rc = digest_buffer(idx.bytes, idx.len, idx.digest, e);
    }
    if (rc == 0)
        rc = dl ? write_layout(dl, tag, &m, idx.bytes, idx.len, res, e)
                : write_registry(ds, tag, &m, &idx, res, e);
    if (rc == 0) {
        if (dest.kind == IMGLOC_LAYOUT)
            snprintf(res->dest, sizeof res->dest, "oci:%s:%s", dest.dir, tag);
        else
            snprintf(res->dest, sizeof res->dest, "%s/%s:%s", dest.ref.domain, dest.ref.repo, tag);
        if (dest.kind == IMGLOC_LAYOUT)
            snprintf(res->layout, sizeof res->layout, "%s", dest.dir);
        snprintf(res->tag, sizeof res->tag, "%s", tag);
        snprintf(res->digest, sizeof res->digest, "%s", idx.digest);
        res->size = (long long)idx.len;
        for (size_t i = 0; i < m.n && i < INDEX_MAX_MANIFESTS; i++) {
            snprintf(res->mans[i].platform, sizeof res->mans[i].platform, "%s", m.ents[i].platform);
            snprintf(res->mans[i].digest, sizeof res->mans[i].digest, "%s", m.ents[i].man.digest);
            snprintf(res->mans[i].media, sizeof res->mans[i].media, "%s", m.ents[i].man.media);
            res->mans[i].size = (long long)m.ents[i].man.len;
        }
        res->nman = m.n;
        res->seconds = since(&started);
    }
    imgdoc_free(&idx);
    merge_free(&m);
    for (size_t i = 0; open && i < nsrc; i++)
        imgsrc_close(open[i]);
    imgsrc_close(ds);
    layout_close(dl);   /* without a commit: the layout as it was */
    free(open);
    free(locs);
    if (rc < 0)
        return err_ctx(e, "index %s %s (tag not updated)", o->add ? "add" : "create", dest_s);
    return 0;
}
