/* builder/oci/layout.c — see layout.h. */
#include "oci/layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "oci/digest.h"
#include "util/fdio.h"
#include "oci/layout_gc.h"

#define STAGE_PREFIX ".armlet-build-"   /* DIR/blobs/.armlet-build-XXXXXX: a build's blobs */
#define STAGE_INDEX "index.json"          /* the new index.json, inside the staging folder */

/* A staged blob moved into blobs/sha256 by layout_prepare, for layout_discard. */
struct moved {
    char hex[DIGEST_HEX_LEN + 1];
    int swapped;        /* 1: an entry of that name was there and now sits in the stage;
                         * -1: it was replaced for good (no renameat2 here) */
};

struct layout {
    char *dir;
    char *blobs;        /* DIR/blobs/sha256, for messages */
    int dirfd;          /* DIR; holds the flock */
    int parentfd;       /* DIR/blobs (writable only) */
    int blobsfd;        /* DIR/blobs/sha256, or -1 when a read-only layout has none */
    int writable;
    json_t *index;      /* in memory, with this build's changes */
    json_t *committed;  /* index.json as on disk, for layout_discard */
    /* this build's staging folder under DIR/blobs */
    int stagefd;
    char stage_name[sizeof STAGE_PREFIX + 8];
    char *stage_path;
    /* layout_prepare's work, undone by layout_discard */
    int prepared;
    struct moved *moved;
    size_t nmoved;
    json_t *keep;       /* GC marks (complete) or NULL */
    int created;        /* this open made oci-layout and index.json; no commit since */
    char gc_note[600];
};

const char *layout_dir(const struct layout *l) { return l->dir; }
const char *layout_blobs_dir(const struct layout *l) { return l->blobs; }
json_t *layout_index(const struct layout *l) { return l->index; }
const char *layout_gc_note(const struct layout *l) { return l->gc_note; }

/* mkdir -p of the user's path (the layout folder itself); 0 or -1 with errno. */
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

/* Error for a file of the layout that could not be read: names what it is instead. */
static int read_failed(struct err *e, int rc, int dirfd, const char *name, const char *shown,
                       size_t max)
{
    const char *kind = fdio_kind_at(dirfd, name);
    if (rc == FDIO_NOT_REGULAR && !strcmp(kind, "a regular file"))
        return err_set(e, "%s: larger than %zu bytes", shown, max);
    if (rc == FDIO_NOT_REGULAR || (rc < 0 && errno == ELOOP))
        return err_set(e, "%s is %s, not a regular file; refusing to read it", shown, kind);
    if (errno == ENOMEM)
        return err_set(e, "out of memory reading %s", shown);
    return err_sys(e, errno, "cannot read %s", shown);
}

/* Write data as dirfd/name: a fresh temporary name (O_EXCL|O_NOFOLLOW), fsync, rename. */
static int write_atomic(const struct layout *l, const char *name, const char *data,
                        struct err *e)
{
    char tmp[64];
    cleanup_close int fd = fdio_create_tmp_at(l->dirfd, ".armlet-tmp-", tmp, sizeof tmp, 0644);
    if (fd < 0)
        return err_sys(e, errno, "cannot write %s/%s: creating a temporary file", l->dir, name);
    if (fdio_write_all(fd, data, strlen(data)) < 0 || fsync(fd) < 0 ||
        renameat(l->dirfd, tmp, l->dirfd, name) < 0) {
        int saved = errno;
        unlinkat(l->dirfd, tmp, 0);
        return err_sys(e, saved, "cannot write %s/%s", l->dir, name);
    }
    fsync(l->dirfd);
    return 0;
}

/* 1 when dir has no entries but . and .., 0 otherwise. */
static int dir_empty(int dirfd)
{
    DIR *d = fdio_opendir_fd(dirfd);
    if (!d)
        return 0;
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
    char shown[4200];
    snprintf(shown, sizeof shown, "%s/index.json", l->dir);
    size_t n = 0;
    cleanup_free char *buf = NULL;
    int rc = fdio_read_at(l->dirfd, "index.json", LAYOUT_JSON_MAX, &buf, &n);
    if (rc < 0)
        return read_failed(e, rc, l->dirfd, "index.json", shown, LAYOUT_JSON_MAX);
    json_error_t je;
    json_t *idx = json_loadb(buf, n, 0, &je);
    if (!idx || !json_is_array(json_object_get(idx, "manifests"))) {
        json_decref(idx);
        return err_set(e, "%s: not an OCI image index (%s)", shown, idx ? "no manifests" : je.text);
    }
    json_t *copy = json_deep_copy(idx);
    if (!copy) {
        json_decref(idx);
        return err_set(e, "out of memory");
    }
    json_decref(l->index);
    json_decref(l->committed);
    l->index = idx;
    l->committed = copy;
    return 0;
}

/* Create oci-layout and an empty index.json in an empty folder. */
static int layout_init(struct layout *l, struct err *e)
{
    if (!dir_empty(l->dirfd))
        return err_set(e, "%s exists, is not empty and is not an OCI layout (no oci-layout "
                          "file); refusing to write into it", l->dir);
    cleanup_json json_t *idx = oci_index_new();
    cleanup_free char *s = idx ? oci_json_dump(idx, e) : NULL;
    if (!s)
        return err_set(e, "out of memory");
    if (write_atomic(l, "index.json", s, e) < 0 ||
        write_atomic(l, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", e) < 0)
        return ERR;
    return 0;
}

/* DIR/blobs and DIR/blobs/sha256 as real folders of the layout (created when writable). */
static int open_blobs(struct layout *l, struct err *e)
{
    int fd = fdio_open_dir_beneath(l->dirfd, "blobs", l->writable);
    if (fd >= 0) {
        if (l->writable)
            l->parentfd = fd;
        l->blobsfd = fdio_open_dir_beneath(fd, "sha256", l->writable);
        if (!l->writable)
            close(fd);
        if (l->blobsfd >= 0)
            return 0;
    }
    if (!l->writable && errno == ENOENT)
        return 0;   /* a layout with no blobs yet: every blob lookup says missing */
    if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV)
        return err_set(e, "%s: blobs/ or blobs/sha256 is a symbolic link or not a folder; "
                          "a layout's folders must be real folders inside it: refusing to use it",
                       l->dir);
    return err_sys(e, errno, "cannot %s %s", l->writable ? "create" : "open", l->blobs);
}

int layout_open(const char *dir, int writable, struct layout **out, struct err *e)
{
    struct layout *l = calloc(1, sizeof *l);
    if (!l)
        return err_set(e, "out of memory");
    l->dirfd = l->parentfd = l->blobsfd = l->stagefd = -1;
    l->writable = writable;
    l->dir = strdup(dir);
    if (!l->dir || asprintf(&l->blobs, "%s/blobs/sha256", dir) < 0) {
        l->blobs = NULL;
        layout_close(l);
        return err_set(e, "out of memory");
    }
    struct stat st;
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
    if (fstatat(l->dirfd, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (!writable) {
            err_set(e, "%s is not an OCI layout (no oci-layout file)", dir);
            goto fail;
        }
        l->created = 1;
        if (layout_init(l, e) < 0)
            goto fail;
    }
    if (open_blobs(l, e) < 0 || load_index(l, e) < 0)
        goto fail;
    *out = l;
    return 0;
fail:
    layout_close(l);
    return ERR;
}

static void drop_stage(struct layout *l)
{
    if (l->stagefd >= 0) {
        close(l->stagefd);
        l->stagefd = -1;
        fdio_remove_tree_at(l->parentfd, l->stage_name);
    }
    free(l->stage_path);
    l->stage_path = NULL;
    l->stage_name[0] = '\0';
}

/* A layout this open created and nothing committed to: take the skeleton away again, so
 * a failed first build leaves at most the (empty) folder. The folder itself stays: a
 * build waiting for the lock holds it open. */
static void uncreate(struct layout *l)
{
    unlinkat(l->dirfd, "index.json", 0);
    unlinkat(l->dirfd, "oci-layout", 0);
    if (l->blobsfd >= 0)
        unlinkat(l->parentfd, "sha256", AT_REMOVEDIR);   /* only when empty */
    if (l->parentfd >= 0)
        unlinkat(l->dirfd, "blobs", AT_REMOVEDIR);
}

void layout_close(struct layout *l)
{
    if (!l)
        return;
    if (l->stagefd >= 0 || l->prepared) {
        struct err ignored = {0};
        layout_discard(l, &ignored);
    }
    if (l->created && l->dirfd >= 0)
        uncreate(l);
    json_decref(l->keep);
    free(l->moved);
    if (l->blobsfd >= 0)
        close(l->blobsfd);
    if (l->parentfd >= 0)
        close(l->parentfd);
    if (l->dirfd >= 0)
        close(l->dirfd);
    json_decref(l->index);
    json_decref(l->committed);
    free(l->dir);
    free(l->blobs);
    free(l);
}

const char *layout_stage_dir(struct layout *l, struct err *e)
{
    if (l->stage_path)
        return l->stage_path;
    if (!l->writable || l->parentfd < 0) {
        err_set(e, "%s: opened read-only", l->dir);
        return NULL;
    }
    if (fdio_mkdir_tmp_at(l->parentfd, STAGE_PREFIX, l->stage_name, sizeof l->stage_name) < 0) {
        err_sys(e, errno, "cannot create a staging folder in %s/blobs", l->dir);
        return NULL;
    }
    l->stagefd = openat(l->parentfd, l->stage_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (l->stagefd < 0 || asprintf(&l->stage_path, "%s/blobs/%s", l->dir, l->stage_name) < 0) {
        err_sys(e, errno, "cannot open %s/blobs/%s", l->dir, l->stage_name);
        l->stage_path = NULL;
        drop_stage(l);
        return NULL;
    }
    return l->stage_path;
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

int layout_arg_split(const char *arg, char **dir, const char **tag)
{
    const char *colon = strrchr(arg, ':');
    struct stat st;
    *tag = NULL;
    if (colon && layout_tag_valid(colon + 1) && !(stat(arg, &st) == 0 && S_ISDIR(st.st_mode))) {
        *dir = strndup(arg, (size_t)(colon - arg));
        *tag = colon + 1;
    } else {
        *dir = strdup(arg);
    }
    return *dir ? 0 : ERR;
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

const char *layout_entry_tag(const json_t *entry)
{
    return entry_tag(entry);
}

json_t *layout_find_tag(const struct layout *l, const char *tag, struct err *e)
{
    json_t *arr = json_object_get(l->index, "manifests");
    size_t count = json_array_size(arr);
    if (!tag && count == 1)
        return json_array_get(arr, 0);
    char tags[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *entry = json_array_get(arr, i);
        const char *t = entry_tag(entry);
        if (t && tag && strcmp(t, tag) == 0)
            return entry;
        if (t && used < sizeof tags)
            used += (size_t)snprintf(tags + used, sizeof tags - used, "%s%s", used ? ", " : "", t);
    }
    if (!tag)
        err_set(e, "%s holds %zu images (tags: %s): name one as %s:TAG", l->dir, count,
                used ? tags : "none", l->dir);
    else
        err_set(e, "%s has no tag \"%s\" (tags: %s)", l->dir, tag, used ? tags : "none");
    return NULL;
}

/* ------------------------------------------------------------------ reading blobs */

/* Open blob digest as a regular file (no symlink, FIFO, device). fd or -1 with e set. */
static int blob_fd(const struct layout *l, const char *digest, struct stat *st, struct err *e)
{
    if (!digest_valid(digest))
        return err_set(e, "%s: invalid digest \"%s\"", l->dir, digest ? digest : "(none)");
    const char *hex = digest + 7;
    int fd = l->blobsfd >= 0 ? fdio_open_regular_at(l->blobsfd, hex, st) : -1;
    if (l->blobsfd < 0)
        return err_set(e, "blob %s/%s is missing (the layout has no blobs folder)", l->blobs, hex);
    if (fd == FDIO_NOT_REGULAR || (fd < 0 && errno == ELOOP))
        return err_set(e, "blob %s/%s is %s, not a regular file; refusing to read it", l->blobs,
                       hex, fdio_kind_at(l->blobsfd, hex));
    if (fd < 0)
        return err_sys(e, errno, "blob %s/%s", l->blobs, hex);
    return fd;
}

static int size_mismatch(const struct layout *l, const char *digest, long long have,
                         long long want, struct err *e)
{
    return err_set(e, "blob %s/%s is %lld bytes, the descriptor says %lld", l->blobs, digest + 7,
                   have, want);
}

static int hash_mismatch(const struct layout *l, const char *digest, const char *got,
                         struct err *e)
{
    return err_set(e, "blob %s/%s: content does not match its digest (it hashes to %s)",
                   l->blobs, digest + 7, got);
}

int layout_blob_open(const struct layout *l, const char *digest, long long size,
                     struct err *e)
{
    struct stat st;
    cleanup_close int fd = blob_fd(l, digest, &st, e);
    if (fd < 0)
        return ERR;
    if (size >= 0 && st.st_size != size)
        return size_mismatch(l, digest, (long long)st.st_size, size, e);
    struct digest d;
    if (digest_init(&d, e) < 0)
        return ERR;
    char buf[1 << 16];
    off_t off = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int saved = errno;
            digest_abort(&d);
            return err_sys(e, saved, "cannot read blob %s/%s", l->blobs, digest + 7);
        }
        if (r == 0)
            break;
        digest_update(&d, buf, (size_t)r);
        off += r;
    }
    char got[DIGEST_PREFIXED_LEN + 1];
    digest_final(&d, got);
    if (off != st.st_size)   /* changed while being read: not the file we checked */
        return size_mismatch(l, digest, (long long)off, (long long)st.st_size, e);
    if (strcmp(got, digest) != 0)
        return hash_mismatch(l, digest, got, e);
    return steal_fd(&fd);
}

char *layout_read_blob(const struct layout *l, const char *digest, long long size, size_t *n,
                       struct err *e)
{
    struct stat st;
    cleanup_close int fd = blob_fd(l, digest, &st, e);
    if (fd < 0)
        return NULL;
    if (size >= 0 && st.st_size != size)
        return size_mismatch(l, digest, (long long)st.st_size, size, e), NULL;
    char *buf = NULL;
    if (fdio_read_fd(fd, LAYOUT_JSON_MAX, &buf, n) < 0) {
        if (errno == ENOMEM || (size_t)st.st_size <= LAYOUT_JSON_MAX)
            err_sys(e, errno, "cannot read blob %s/%s", l->blobs, digest + 7);
        else
            err_set(e, "blob %s/%s: larger than %u bytes", l->blobs, digest + 7, LAYOUT_JSON_MAX);
        return NULL;
    }
    char got[DIGEST_PREFIXED_LEN + 1];
    if (digest_buffer(buf, *n, got, e) < 0 || strcmp(got, digest) != 0) {
        if (strcmp(got, digest) != 0)
            hash_mismatch(l, digest, got, e);
        free(buf);
        return NULL;
    }
    return buf;
}

static json_t *read_json(const struct layout *l, const char *digest, long long size,
                         struct err *e)
{
    size_t n = 0;
    cleanup_free char *buf = layout_read_blob(l, digest, size, &n, e);
    if (!buf)
        return NULL;
    json_error_t je;
    json_t *j = json_loadb(buf, n, 0, &je);
    if (!j)
        err_set(e, "blob %s/%s: invalid JSON: %s", l->blobs, digest + 7, je.text);
    return j;
}

json_t *layout_read_json(const struct layout *l, const char *digest, struct err *e)
{
    return read_json(l, digest, -1, e);
}

json_t *layout_read_json_desc(const struct layout *l, const json_t *desc, struct err *e)
{
    const json_t *size = json_object_get(desc, "size");
    if (!json_is_integer(size) || json_integer_value(size) < 0) {
        err_set(e, "%s: descriptor of %s without a valid size", l->dir,
                json_string_value(json_object_get(desc, "digest")) ? json_string_value(json_object_get(desc, "digest")) : "(no digest)");
        return NULL;
    }
    return read_json(l, json_string_value(json_object_get(desc, "digest")),
                     (long long)json_integer_value(size), e);
}

long long layout_blob_size(const struct layout *l, const char *digest, struct err *e)
{
    struct stat st;
    cleanup_close int fd = blob_fd(l, digest, &st, e);
    return fd < 0 ? -1 : (long long)st.st_size;
}

/* ------------------------------------------------------------------ commit */

/* Names of the staged blobs (64 hex), malloc'd array of n; NULL with e set on failure. */
static char (*staged_names(struct layout *l, size_t *n, struct err *e))[DIGEST_HEX_LEN + 1]
{
    *n = 0;
    DIR *d = fdio_opendir_fd(l->stagefd);
    if (!d) {
        err_sys(e, errno, "cannot list %s", l->stage_path);
        return NULL;
    }
    char (*v)[DIGEST_HEX_LEN + 1] = malloc(sizeof *v);
    size_t cap = 1;
    struct dirent *de;
    while (v && (de = readdir(d))) {
        if (!digest_hex_valid(de->d_name))
            continue;   /* "index.json", a layer writer's leftover temp file */
        if (*n == cap) {
            void *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        memcpy(v[(*n)++], de->d_name, DIGEST_HEX_LEN + 1);
    }
    closedir(d);
    if (!v)
        err_set(e, "out of memory");
    return v;
}

/* Move every staged blob into blobs/sha256, recording each move for layout_discard. */
static int move_staged(struct layout *l, struct err *e)
{
    size_t n = 0;
    cleanup_free char (*names)[DIGEST_HEX_LEN + 1] = staged_names(l, &n, e);
    if (!names)
        return ERR;
    /* A folder with a blob's name cannot be replaced by a file: say so before moving. */
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (fstatat(l->blobsfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            return err_set(e, "%s/%s is a folder, not a blob; remove it", l->blobs, names[i]);
    }
    l->moved = calloc(n ? n : 1, sizeof *l->moved);
    if (!l->moved)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct moved *m = &l->moved[l->nmoved];
        /* Same name, same bytes: the existing blob is exchanged for this build's copy,
         * which also repairs a corrupt one; the old entry waits in the stage. */
        if (fdio_publish(l->stagefd, names[i], l->blobsfd, names[i], &m->swapped) < 0)
            return err_sys(e, errno, "cannot move blob %s into %s", names[i], l->blobs);
        memcpy(m->hex, names[i], sizeof m->hex);
        l->nmoved++;
    }
    if (fsync(l->blobsfd) < 0)
        return err_sys(e, errno, "cannot sync %s", l->blobs);
    return 0;
}

int layout_prepare(struct layout *l, struct err *e)
{
    if (l->prepared)
        return 0;
    if (!layout_stage_dir(l, e))
        return ERR;
    cleanup_free char *s = oci_json_dump(l->index, e);
    if (!s)
        return ERR;
    cleanup_close int fd = openat(l->stagefd, STAGE_INDEX,
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || fdio_write_all(fd, s, strlen(s)) < 0 || fsync(fd) < 0)
        return err_sys(e, errno, "cannot write %s/%s (the new %s/index.json)", l->stage_path,
                       STAGE_INDEX, l->dir);
    l->prepared = 1;
    if (move_staged(l, e) < 0) {
        struct err ignored = {0};
        layout_discard(l, &ignored);
        return ERR;
    }
    /* The marks are taken now, with this build's blobs in place; the sweep waits for the
     * commit. An incomplete mark only means no collection this time. */
    char why[512];
    json_decref(l->keep);
    l->keep = NULL;
    json_t *keep = NULL;
    if (layout_gc_mark(l->blobsfd, l->blobs, l->index, &keep, why, sizeof why))
        l->keep = keep;
    else
        json_decref(keep);
    snprintf(l->gc_note, sizeof l->gc_note, "%s", l->keep ? "" : why);
    return 0;
}

/* Remove staging folders of builds that were killed (we hold the exclusive lock, so
 * no other build is running). */
static void remove_stale_stages(struct layout *l)
{
    DIR *d = fdio_opendir_fd(l->parentfd);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)))
            fdio_remove_tree_at(l->parentfd, de->d_name);
    closedir(d);
}

int layout_commit(struct layout *l, size_t *removed, struct err *e)
{
    if (removed)
        *removed = 0;
    if (!l->writable)
        return err_set(e, "%s: opened read-only", l->dir);
    if (layout_prepare(l, e) < 0)
        return ERR;
    if (renameat(l->stagefd, STAGE_INDEX, l->dirfd, "index.json") < 0)
        return err_sys(e, errno, "cannot replace %s/index.json", l->dir);
    /* Committed. From here on nothing fails: the rest is tidying up. */
    fsync(l->dirfd);
    l->created = 0;
    l->prepared = 0;
    l->nmoved = 0;
    free(l->moved);
    l->moved = NULL;
    json_t *copy = json_deep_copy(l->index);
    if (copy) {
        json_decref(l->committed);
        l->committed = copy;
    }
    size_t n = l->keep ? layout_gc_sweep(l->blobsfd, l->keep) : 0;
    json_decref(l->keep);
    l->keep = NULL;
    drop_stage(l);   /* holds the entries the moves replaced */
    remove_stale_stages(l);
    if (removed)
        *removed = n;
    return 0;
}

int layout_gc(struct layout *l, size_t *removed, struct err *e)
{
    if (removed)
        *removed = 0;
    if (!l->writable)
        return err_set(e, "%s: opened read-only", l->dir);
    json_t *keep = NULL;
    char why[512];
    int complete = layout_gc_mark(l->blobsfd, l->blobs, l->committed, &keep, why, sizeof why);
    size_t n = complete ? layout_gc_sweep(l->blobsfd, keep) : 0;
    json_decref(keep);
    if (!complete)
        return err_set(e, "garbage collection skipped, nothing removed: %s", why);
    if (removed)
        *removed = n;
    return 0;
}

int layout_discard(struct layout *l, struct err *e)
{
    int rc = 0;
    for (size_t i = l->nmoved; i-- > 0;) {
        const struct moved *m = &l->moved[i];
        int r = m->swapped ? fdio_unpublish(l->stagefd, m->hex, l->blobsfd, m->hex, m->swapped)
                           : unlinkat(l->blobsfd, m->hex, 0);
        if (r < 0 && rc == 0)
            rc = err_sys(e, errno, "cannot put back blob %s/%s", l->blobs, m->hex);
    }
    l->nmoved = 0;
    free(l->moved);
    l->moved = NULL;
    l->prepared = 0;
    json_decref(l->keep);
    l->keep = NULL;
    drop_stage(l);
    json_t *copy = l->committed ? json_deep_copy(l->committed) : NULL;
    if (copy) {
        json_decref(l->index);
        l->index = copy;
    } else if (l->committed && rc == 0) {
        rc = err_set(e, "out of memory");
    }
    if (l->blobsfd >= 0)
        fsync(l->blobsfd);
    return rc;
}
