/* builder/layout.c — see layout.h. */
#include "layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fdio.h"
#include "strlist.h"

#define LAYOUT_JSON_MAX (16u << 20)   /* index/manifest/config blobs are small */

struct layout {
    char *dir;
    char *blobs;
    int dirfd;        /* holds the flock */
    int writable;
    json_t *index;
};

const char *layout_dir(const struct layout *l) { return l->dir; }
const char *layout_blobs_dir(const struct layout *l) { return l->blobs; }
json_t *layout_index(const struct layout *l) { return l->index; }

/* mkdir -p; 0 or -1 with errno. */
static int mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Read a whole regular file of at most max bytes. Returns malloc'd bytes (NUL-terminated,
 * *n = length) or NULL with e set. */
static char *read_file(const char *path, size_t max, size_t *n, struct err *e)
{
    char *buf = NULL;
    int rc = fdio_read_file(path, max, &buf, n);
    if (rc == FDIO_NOT_REGULAR)
        err_set(e, "%s: not a regular file of at most %zu bytes", path, max);
    else if (rc < 0 && errno == ENOMEM)
        err_set(e, "out of memory reading %s", path);
    else if (rc < 0)
        err_sys(e, errno, "cannot read %s", path);
    return buf;
}

/* Write bytes to dir/name atomically: name.tmp, fsync, rename, fsync dir. */
static int write_atomic(const struct layout *l, const char *name, const char *data,
                        struct err *e)
{
    char path[4096], tmp[4096];
    snprintf(path, sizeof path, "%s/%s", l->dir, name);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", l->dir, name);
    cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_sys(e, errno, "cannot write %s", tmp);
    if (fdio_write_all(fd, data, strlen(data)) < 0) {
        int saved = errno;
        unlink(tmp);
        return err_sys(e, saved, "cannot write %s", tmp);
    }
    if (fsync(fd) < 0 || rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        return err_sys(e, saved, "cannot replace %s", path);
    }
    fsync(l->dirfd);
    return 0;
}

/* 1 when dir has no entries but . and .., 0 otherwise. */
static int dir_empty(int dirfd)
{
    int fd = dup(dirfd);
    if (fd < 0)
        return 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    int empty = 1;
    struct dirent *de;
    while (empty && (de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

static int load_index(struct layout *l, struct err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.json", l->dir);
    size_t n = 0;
    cleanup_free char *buf = read_file(path, LAYOUT_JSON_MAX, &n, e);
    if (!buf)
        return ERR;
    json_error_t je;
    json_t *idx = json_loadb(buf, n, 0, &je);
    if (!idx || !json_is_array(json_object_get(idx, "manifests"))) {
        json_decref(idx);
        return err_set(e, "%s: not an OCI image index (%s)", path, idx ? "no manifests" : je.text);
    }
    json_decref(l->index);
    l->index = idx;
    return 0;
}

/* Create oci-layout, an empty index.json and blobs/sha256 in an empty folder. */
static int layout_init(struct layout *l, struct err *e)
{
    if (!dir_empty(l->dirfd))
        return err_set(e, "%s exists, is not empty and is not an OCI layout (no oci-layout "
                          "file); refusing to write into it", l->dir);
    if (mkdir_p(l->blobs) < 0)
        return err_sys(e, errno, "cannot create %s", l->blobs);
    cleanup_json json_t *idx = oci_index_new();
    cleanup_free char *s = idx ? oci_json_dump(idx, e) : NULL;
    if (!s)
        return err_set(e, "out of memory");
    if (write_atomic(l, "index.json", s, e) < 0 ||
        write_atomic(l, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", e) < 0)
        return ERR;
    return 0;
}

int layout_open(const char *dir, int writable, struct layout **out, struct err *e)
{
    struct layout *l = calloc(1, sizeof *l);
    if (!l)
        return err_set(e, "out of memory");
    l->dirfd = -1;
    l->writable = writable;
    l->dir = strdup(dir);
    if (!l->dir || asprintf(&l->blobs, "%s/blobs/sha256", dir) < 0) {
        l->blobs = NULL;
        layout_close(l);
        return err_set(e, "out of memory");
    }
    if (writable && mkdir_p(dir) < 0) {
        err_sys(e, errno, "cannot create OCI layout folder %s", dir);
        goto fail;
    }
    l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->dirfd < 0) {
        err_sys(e, errno, "cannot open OCI layout %s", dir);
        goto fail;
    }
    if (flock(l->dirfd, writable ? LOCK_EX : LOCK_SH) < 0) {
        err_sys(e, errno, "cannot lock %s", dir);
        goto fail;
    }
    if (faccessat(l->dirfd, "oci-layout", F_OK, 0) < 0) {
        if (!writable) {
            err_set(e, "%s is not an OCI layout (no oci-layout file)", dir);
            goto fail;
        }
        if (layout_init(l, e) < 0)
            goto fail;
    }
    if (writable && mkdir_p(l->blobs) < 0) {
        err_sys(e, errno, "cannot create %s", l->blobs);
        goto fail;
    }
    if (load_index(l, e) < 0)
        goto fail;
    *out = l;
    return 0;
fail:
    layout_close(l);
    return ERR;
}

void layout_close(struct layout *l)
{
    if (!l)
        return;
    if (l->dirfd >= 0)
        close(l->dirfd);
    json_decref(l->index);
    free(l->dir);
    free(l->blobs);
    free(l);
}

int layout_tag_valid(const char *tag)
{
    size_t n = strlen(tag);
    if (n == 0 || n > 128 || tag[0] == '.' || tag[0] == '-')
        return 0;
    for (const char *c = tag; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '.' || *c == '-'))
            return 0;
    return 1;
}

static const char *entry_tag(const json_t *entry)
{
    return json_string_value(json_object_get(json_object_get(entry, "annotations"), OCI_REF_NAME));
}

int layout_set_tag(struct layout *l, const char *tag, const struct oci_desc *d, struct err *e)
{
    if (!layout_tag_valid(tag))
        return err_set(e, "tag \"%s\": expected letters, digits, '_', '.', '-' (at most 128, "
                          "not starting with '.' or '-')", tag);
    json_t *arr = json_object_get(l->index, "manifests");
    json_t *entry = oci_descriptor(d);
    if (!entry || json_object_set_new(entry, "annotations",
                                      json_pack("{s:s}", OCI_REF_NAME, tag)) < 0) {
        json_decref(entry);
        return err_set(e, "out of memory");
    }
    /* Drop the old entry of this tag, insert before the first later tag. */
    for (size_t i = 0; i < json_array_size(arr);) {
        const char *t = entry_tag(json_array_get(arr, i));
        if (t && strcmp(t, tag) == 0)
            json_array_remove(arr, i);
        else
            i++;
    }
    size_t at = 0;
    while (at < json_array_size(arr)) {
        const char *t = entry_tag(json_array_get(arr, at));
        if (t && strcmp(t, tag) > 0)
            break;
        at++;
    }
    if (json_array_insert_new(arr, at, entry) < 0)
        return err_set(e, "out of memory");
    return 0;
}

json_t *layout_find_tag(const struct layout *l, const char *tag, struct err *e)
{
    json_t *arr = json_object_get(l->index, "manifests");
    char tags[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *entry = json_array_get(arr, i);
        const char *t = entry_tag(entry);
        if (t && strcmp(t, tag) == 0)
            return entry;
        if (t && used < sizeof tags)
            used += (size_t)snprintf(tags + used, sizeof tags - used, "%s%s", used ? ", " : "", t);
    }
    err_set(e, "%s: tag \"%s\" not found (tags: %s)", l->dir, tag, used ? tags : "none");
    return NULL;
}

json_t *layout_read_json(const struct layout *l, const char *digest, struct err *e)
{
    if (!oci_digest_valid(digest)) {
        err_set(e, "%s: invalid digest \"%s\"", l->dir, digest ? digest : "(none)");
        return NULL;
    }
    char path[4096], got[OCI_DIGEST_LEN + 1];
    snprintf(path, sizeof path, "%s/%s", l->blobs, digest + 7);
    size_t n = 0;
    cleanup_free char *buf = read_file(path, LAYOUT_JSON_MAX, &n, e);
    if (!buf)
        return NULL;
    if (digest_buffer(buf, n, got, e) < 0)
        return NULL;
    if (strcmp(got, digest) != 0) {
        err_set(e, "%s: content does not match its digest (%s)", path, got);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(buf, n, 0, &je);
    if (!j)
        err_set(e, "%s: invalid JSON: %s", path, je.text);
    return j;
}

long long layout_blob_size(const struct layout *l, const char *digest, struct err *e)
{
    char path[4096];
    struct stat st;
    if (!oci_digest_valid(digest)) {
        err_set(e, "%s: invalid digest \"%s\"", l->dir, digest ? digest : "(none)");
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", l->blobs, digest + 7);
    if (stat(path, &st) < 0) {
        err_sys(e, errno, "blob %s", path);
        return -1;
    }
    return (long long)st.st_size;
}

/* ------------------------------------------------------------------ garbage collection */

/* Reachable blobs collect in r as hex digests (sha256 only). */
static int mark_descs(const struct layout *l, struct strlist *r, const json_t *arr, int depth,
                      struct err *e);

/* Mark descriptor d; when it is an index or a manifest, mark what it references. */
static int mark_desc(const struct layout *l, struct strlist *r, const json_t *d, int depth,
                     struct err *e)
{
    const char *digest = json_string_value(json_object_get(d, "digest"));
    const char *mt = json_string_value(json_object_get(d, "mediaType"));
    if (!oci_digest_valid(digest))
        return 0;   /* another algorithm or garbage: we only ever collect sha256 blobs */
    if (strlist_has(r, digest + 7))
        return 0;
    if (strlist_add(r, digest + 7, e) < 0)
        return ERR;
    if (!mt || depth > 8)
        return 0;
    int is_index = !strcmp(mt, OCI_MT_INDEX) ||
                   !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json");
    int is_manifest = !strcmp(mt, OCI_MT_MANIFEST) ||
                      !strcmp(mt, "application/vnd.docker.distribution.manifest.v2+json");
    if (!is_index && !is_manifest)
        return 0;
    cleanup_json json_t *doc = layout_read_json(l, digest, e);
    if (!doc)
        return ERR;
    if (mark_descs(l, r, json_object_get(doc, "manifests"), depth + 1, e) < 0 ||
        mark_descs(l, r, json_object_get(doc, "layers"), depth + 1, e) < 0)
        return ERR;
    const json_t *cfg = json_object_get(doc, "config"), *subject = json_object_get(doc, "subject");
    if ((cfg && mark_desc(l, r, cfg, depth + 1, e) < 0) ||
        (subject && mark_desc(l, r, subject, depth + 1, e) < 0))
        return ERR;
    return 0;
}

static int mark_descs(const struct layout *l, struct strlist *r, const json_t *arr, int depth,
                      struct err *e)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (mark_desc(l, r, json_array_get(arr, i), depth, e) < 0)
            return ERR;
    return 0;
}

int layout_gc(struct layout *l, size_t *removed, struct err *e)
{
    struct strlist r = {0};
    size_t count = 0;
    if (removed)
        *removed = 0;
    if (!l->writable)
        return err_set(e, "%s: opened read-only", l->dir);
    if (mark_descs(l, &r, json_object_get(l->index, "manifests"), 0, e) < 0) {
        strlist_free(&r);
        return err_ctx(e, "garbage collection skipped, nothing removed");
    }
    DIR *d = opendir(l->blobs);
    if (!d) {
        strlist_free(&r);
        return err_sys(e, errno, "cannot list %s", l->blobs);
    }
    int bfd = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
            continue;
        if (fstatat(bfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
            continue;
        if (!strlist_has(&r, de->d_name) && unlinkat(bfd, de->d_name, 0) == 0)
            count++;
    }
    closedir(d);
    strlist_free(&r);
    if (removed)
        *removed = count;
    return 0;
}

int layout_commit(struct layout *l, size_t *removed, struct err *e)
{
    if (!l->writable)
        return err_set(e, "%s: opened read-only", l->dir);
    cleanup_free char *s = oci_json_dump(l->index, e);
    if (!s || write_atomic(l, "index.json", s, e) < 0)
        return ERR;
    if (layout_gc(l, removed, e) < 0)
        return err_ctx(e, "%s/index.json written", l->dir);
    return 0;
}

int layout_discard(struct layout *l, struct err *e)
{
    if (load_index(l, e) < 0)
        return ERR;
    return layout_gc(l, NULL, e);
}
