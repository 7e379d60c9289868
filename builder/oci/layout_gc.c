/* builder/oci/layout_gc.c — see layout_gc.h. */
#include "oci/layout_gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "oci/digest.h"
#include "util/fdio.h"
#include "oci/layout.h"
#include "oci/oci.h"

#define GC_DEPTH 64   /* JSON nesting, counted across documents that reference documents */

struct gc {
    int blobsfd;
    const char *blobs;       /* for messages */
    json_t *keep;            /* hex -> true */
    int incomplete;
    char *why;
    size_t whysize;
};

__attribute__((format(printf, 2, 3)))
static void incomplete(struct gc *g, const char *fmt, ...)
{
    if (g->incomplete++)
        return;   /* the first reason is the one worth reading */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->why, g->whysize, fmt, ap);
    va_end(ap);
}

static int has_prefix(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

/* Types whose blobs reference nothing and need not be read: layers and image configs. */
static int leaf_type(const char *mt)
{
    return mt && (has_prefix(mt, OCI_MT_LAYER_PREFIX) ||
                  has_prefix(mt, DOCKER_MT_LAYER_PREFIX) ||
                  !strcmp(mt, OCI_MT_CONFIG) ||
                  !strcmp(mt, DOCKER_MT_CONFIG));
}

/* schema1 manifests: their digest covers the payload without the JWS signatures, so the
 * stored bytes need not hash to the name. */
static int schema1_type(const char *mt)
{
    return mt && has_prefix(mt, DOCKER_MT_SCHEMA1_PREFIX);
}

/* Types that are documents referencing blobs: they must be walked. */
static int manifest_type(const char *mt)
{
    return mt && (!strcmp(mt, OCI_MT_INDEX) || !strcmp(mt, OCI_MT_MANIFEST) ||
                  !strcmp(mt, OCI_MT_ARTIFACT) ||
                  !strcmp(mt, DOCKER_MT_MANIFEST) ||
                  !strcmp(mt, DOCKER_MT_LIST) ||
                  schema1_type(mt));
}

static void mark(struct gc *g, const char *digest, const char *mt, int leaf, int depth);

/* Follow every descriptor in JSON value v. */
static void walk(struct gc *g, const json_t *v, int depth)
{
    if (depth > GC_DEPTH) {
        incomplete(g, "documents nested deeper than %d levels", GC_DEPTH);
        return;
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            walk(g, json_array_get(v, i), depth + 1);
        return;
    }
    if (!json_is_object(v))
        return;
    const char *digest = json_string_value(json_object_get(v, "digest"));
    if (digest)
        mark(g, digest, json_string_value(json_object_get(v, "mediaType")), 0, depth);
    const char *blobsum = json_string_value(json_object_get(v, "blobSum"));
    if (blobsum)
        mark(g, blobsum, NULL, 1, depth);   /* schema1 fsLayers[].blobSum: a layer */
    for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it))
        walk(g, json_object_iter_value(it), depth + 1);
}

/* The blob's bytes when it is a document to walk; NULL when it is not (a leaf: data that
 * is not JSON) or cannot be read (then g is incomplete). */
static char *read_doc(struct gc *g, const char *digest, const char *mt, size_t *n)
{
    const char *hex = digest + 7;
    struct stat st;
    cleanup_close int fd = fdio_open_regular_at(g->blobsfd, hex, &st);
    if (fd < 0) {
        incomplete(g, "blob %s (%s) is %s", digest, mt ? mt : "no media type",
                   fdio_kind_at(g->blobsfd, hex));
        return NULL;
    }
    char first = 0;
    if (st.st_size > 0 && pread(fd, &first, 1, 0) != 1) {
        incomplete(g, "blob %s: cannot read it", digest);
        return NULL;
    }
    int jsonish = first == '{' || first == '[' || first == ' ' || first == '\n';
    if (!jsonish && !manifest_type(mt))
        return NULL;   /* data, e.g. an artifact's payload: references nothing */
    if ((size_t)st.st_size > LAYOUT_JSON_MAX) {
        incomplete(g, "blob %s (%s) is over %u bytes: not walked", digest,
                   mt ? mt : "no media type", LAYOUT_JSON_MAX);
        return NULL;
    }
    char *buf = NULL;
    if (fdio_read_fd(fd, LAYOUT_JSON_MAX, &buf, n) < 0) {
        incomplete(g, "blob %s: cannot read it", digest);
        return NULL;
    }
    char got[DIGEST_PREFIXED_LEN + 1];
    struct err e;
    if (!schema1_type(mt) && (digest_buffer(buf, *n, got, &e) < 0 || strcmp(got, digest))) {
        incomplete(g, "blob %s does not hash to its name", digest);
        free(buf);
        return NULL;
    }
    return buf;
}

static void mark(struct gc *g, const char *digest, const char *mt, int leaf, int depth)
{
    if (!digest_valid(digest))
        return;   /* other algorithms (or garbage) name no file we would ever remove */
    const char *hex = digest + 7;
    if (json_object_get(g->keep, hex))
        return;
    if (json_object_set_new(g->keep, hex, json_true()) < 0) {
        incomplete(g, "out of memory");
        return;
    }
    if (leaf || leaf_type(mt))
        return;
    size_t n = 0;
    cleanup_free char *buf = read_doc(g, digest, mt, &n);
    if (!buf)
        return;
    json_error_t je;
    cleanup_json json_t *doc = json_loadb(buf, n, 0, &je);
    if (!doc) {
        if (manifest_type(mt))
            incomplete(g, "blob %s (%s) is not JSON: %s", digest, mt, je.text);
        return;
    }
    walk(g, doc, depth + 1);
}

/* One unkept JSON blob with a subject: a referrer, kept when its subject is. */
struct referrer {
    char hex[DIGEST_HEX_LEN + 1];
    char subject[DIGEST_HEX_LEN + 1];
    char media[128];
    int kept;
};

/* The referrer candidates: blobs not kept yet whose JSON has subject.digest (sha256). */
static struct referrer *find_referrers(struct gc *g, size_t *count)
{
    *count = 0;
    DIR *d = fdio_opendir_fd(g->blobsfd);
    if (!d) {
        incomplete(g, "cannot list %s", g->blobs);
        return NULL;
    }
    struct referrer *v = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!digest_hex_valid(de->d_name) || json_object_get(g->keep, de->d_name))
            continue;
        cleanup_close int bfd = fdio_open_regular_at(g->blobsfd, de->d_name, NULL);
        char first = 0;
        if (bfd < 0 || pread(bfd, &first, 1, 0) != 1 || first != '{')
            continue;
        cleanup_free char *buf = NULL;
        size_t len = 0;
        if (fdio_read_fd(bfd, LAYOUT_JSON_MAX, &buf, &len) < 0)
            continue;
        cleanup_json json_t *doc = json_loadb(buf, len, 0, NULL);
        const char *subject = json_string_value(
            json_object_get(json_object_get(doc, "subject"), "digest"));
        if (!digest_valid(subject))
            continue;
        struct referrer *nv = realloc(v, (n + 1) * sizeof *v);
        if (!nv) {
            incomplete(g, "out of memory");
            break;
        }
        v = nv;
        struct referrer *r = &v[n++];
        memset(r, 0, sizeof *r);
        memcpy(r->hex, de->d_name, sizeof r->hex);   /* digest_hex_valid: exactly 64 + NUL */
        snprintf(r->subject, sizeof r->subject, "%s", subject + 7);
        const char *mt = json_string_value(json_object_get(doc, "mediaType"));
        snprintf(r->media, sizeof r->media, "%s", mt ? mt : OCI_MT_MANIFEST);
    }
    closedir(d);
    *count = n;
    return v;
}

int layout_gc_mark(int blobsfd, const char *blobs_path, const json_t *index, json_t **keep,
                   char *why, size_t whysize)
{
    struct gc g = {.blobsfd = blobsfd, .blobs = blobs_path, .keep = json_object(),
                   .why = why, .whysize = whysize};
    why[0] = '\0';
    *keep = g.keep;
    if (!g.keep) {
        snprintf(why, whysize, "out of memory");
        return 0;
    }
    if (blobsfd < 0) {
        incomplete(&g, "no blobs folder");
        return 0;
    }
    walk(&g, index, 0);
    if (g.incomplete)
        return 0;
    size_t n = 0;
    struct referrer *r = find_referrers(&g, &n);
    for (int changed = 1; changed && !g.incomplete;) {
        changed = 0;
        for (size_t i = 0; i < n; i++) {
            if (r[i].kept || !json_object_get(g.keep, r[i].subject))
                continue;
            char digest[DIGEST_PREFIXED_LEN + 1];
            snprintf(digest, sizeof digest, "sha256:%s", r[i].hex);
            r[i].kept = changed = 1;
            mark(&g, digest, r[i].media, 0, 1);
        }
    }
    free(r);
    return !g.incomplete;
}

size_t layout_gc_sweep(int blobsfd, const json_t *keep)
{
    DIR *d = fdio_opendir_fd(blobsfd);
    if (!d)
        return 0;
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (fstatat(blobsfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
            continue;
        if (!json_object_get(keep, de->d_name) && unlinkat(blobsfd, de->d_name, 0) == 0)
            count++;
    }
    closedir(d);
    return count;
}
