/* builder/image/tree.c — see tree.h.
 *
 * Nodes live in an array of pointers (stable addresses) with an open-addressing hash
 * from normalised path to index. The sorted view is built on demand and cached until
 * the next change. Two invariants keep archives and --rootfs safe:
 *   - every ancestor of a node is a TREE_DIR node (adding beneath a file or a symlink
 *     is refused, so nothing can be written "through" a symlink of the tree);
 *   - a path never contains "." or ".." components or empty ones.
 */
#include "image/tree.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fdio.h"

struct tree {
    struct tree_node **nodes;
    size_t n, cap;
    size_t *slots;      /* index + 1 into nodes, 0 = empty; nslots is a power of two */
    size_t nslots;
    const struct tree_node **sorted;   /* cache for tree_sorted, NULL when stale */
    char **first;       /* tree_set_first: normalised paths written first, in order */
    size_t nfirst;
    const struct tree_node **ordered;  /* cache for tree_ordered, NULL when stale */
    char *spool;        /* private folder holding archive entries' bytes, or NULL */
    unsigned long nspool;   /* files made in it: "0", "1", ... */
};

static const char *kind_name(enum tree_kind k)
{
    switch (k) {
    case TREE_FILE: return "file";
    case TREE_DIR: return "directory";
    case TREE_SYMLINK: return "symlink";
    case TREE_HARDLINK: return "hard link";
    }
    return "node";
}

/* ------------------------------------------------------------------ paths */

/* Why path_norm refused a path. */
enum bad_path { PATH_OK, PATH_DOTDOT, PATH_WHITEOUT };

/* A name starting with ".wh." is an OCI/AUFS whiteout: in a layer it deletes the lower
 * layers' file of the rest of the name (".wh..wh..opq" empties a folder), so a file of
 * that name would silently remove files of the image (the init, the CA bundle). */
static int is_whiteout(const char *name, size_t n)
{
    return n >= 4 && !memcmp(name, ".wh.", 4);
}

/* "/usr//bin/./x/" -> "usr/bin/x"; "/" -> "". Returns a malloc'd string, or NULL with e
 * set (and *why, when why is not NULL) when the path has a ".." component or a whiteout
 * name (or on out of memory). */
static char *path_norm_why(const char *path, enum bad_path *why, struct err *e)
{
    size_t len = strlen(path);
    char *out = malloc(len + 1);
    if (!out) {
        err_set(e, "out of memory");
        return NULL;
    }
    size_t o = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 1 && s[0] == '.')
            continue;
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            free(out);
            if (why)
                *why = PATH_DOTDOT;
            err_set(e, "path \"%s\": \"..\" is not allowed", path);
            return NULL;
        }
        if (is_whiteout(s, n)) {
            free(out);
            if (why)
                *why = PATH_WHITEOUT;
            err_set(e, "path \"%s\": \"%.*s\" is an OCI whiteout name (\".wh.\" prefix), "
                       "which would delete files of the image when unpacked: not allowed",
                    path, (int)(n > 200 ? 200 : n), s);
            return NULL;
        }
        if (o)
            out[o++] = '/';
        memcpy(out + o, s, n);
        o += n;
    }
    out[o] = '\0';
    return out;
}

static char *path_norm(const char *path, struct err *e)
{
    return path_norm_why(path, NULL, e);
}

/* Normalised "dest/rel" (rel relative, already checked by the caller). */
static char *path_join(const char *dest, const char *rel, enum bad_path *why, struct err *e)
{
    size_t a = strlen(dest), b = strlen(rel);
    cleanup_free char *s = malloc(a + b + 2);
    if (!s) {
        err_set(e, "out of memory");
        return NULL;
    }
    memcpy(s, dest, a);
    s[a] = '/';
    memcpy(s + a + 1, rel, b + 1);
    return path_norm_why(s, why, e);
}

/* ------------------------------------------------------------------ hash */

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static size_t find(const struct tree *t, const char *path)
{
    if (!t->nslots)
        return SIZE_MAX;
    size_t m = t->nslots - 1;
    for (size_t i = hash_str(path) & m;; i = (i + 1) & m) {
        size_t v = t->slots[i];
        if (!v)
            return SIZE_MAX;
        if (strcmp(t->nodes[v - 1]->path, path) == 0)
            return v - 1;
    }
}

static void slot_put(struct tree *t, size_t idx)
{
    size_t m = t->nslots - 1;
    size_t i = hash_str(t->nodes[idx]->path) & m;
    while (t->slots[i])
        i = (i + 1) & m;
    t->slots[i] = idx + 1;
}

static int rehash(struct tree *t, size_t want, struct err *e)
{
    size_t ns = 64;
    while (ns < want * 2)
        ns *= 2;
    size_t *slots = calloc(ns, sizeof *slots);
    if (!slots)
        return err_set(e, "out of memory");
    free(t->slots);
    t->slots = slots;
    t->nslots = ns;
    for (size_t i = 0; i < t->n; i++)
        slot_put(t, i);
    return 0;
}

/* ------------------------------------------------------------------ nodes */

static void node_clear(struct tree_node *nd)
{
    free(nd->src);
    free(nd->data);
    free(nd->target);
    nd->src = NULL;
    nd->data = NULL;
    nd->target = NULL;
    nd->size = 0;
}

static void node_free(struct tree_node *nd)
{
    if (!nd)
        return;
    node_clear(nd);
    free(nd->path);
    free(nd);
}

struct tree *tree_new(void)
{
    return calloc(1, sizeof(struct tree));
}

void tree_free(struct tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        node_free(t->nodes[i]);
    free(t->nodes);
    free(t->slots);
    free(t->sorted);
    free(t->ordered);
    for (size_t i = 0; i < t->nfirst; i++)
        free(t->first[i]);
    free(t->first);
    if (t->spool) {
        char p[PATH_MAX];
        for (unsigned long i = 0; i < t->nspool; i++) {
            snprintf(p, sizeof p, "%s/%lu", t->spool, i);
            unlink(p);
        }
        rmdir(t->spool);
        free(t->spool);
    }
    free(t);
}

static void invalidate(struct tree *t)
{
    free(t->sorted);
    t->sorted = NULL;
    free(t->ordered);
    t->ordered = NULL;
}

/* Append a node that is known not to exist. Takes ownership of nd (freed on error). */
static int append(struct tree *t, struct tree_node *nd, struct err *e)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct tree_node **nn = realloc(t->nodes, cap * sizeof *nn);
        if (!nn) {
            node_free(nd);
            return err_set(e, "out of memory");
        }
        t->nodes = nn;
        t->cap = cap;
    }
    t->nodes[t->n++] = nd;
    if ((t->n) * 2 > t->nslots) {
        if (rehash(t, t->n, e) < 0)
            return ERR;   /* the node stays in the array and is freed by tree_free */
    } else {
        slot_put(t, t->n - 1);
    }
    invalidate(t);
    return 0;
}

/* Drop every node below dir path p (when p stops being a folder), then rebuild the hash. */
static int remove_below(struct tree *t, const char *p, struct err *e)
{
    size_t len = strlen(p), o = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct tree_node *nd = t->nodes[i];
        if (strncmp(nd->path, p, len) == 0 && nd->path[len] == '/')
            node_free(nd);
        else
            t->nodes[o++] = nd;
    }
    t->n = o;
    invalidate(t);
    return rehash(t, t->n, e);
}

/* Every ancestor of path must be a folder: missing ones are created 0755 0:0, a file or
 * symlink on the way is refused (this is what stops writes through a symlink). */
static int make_parents(struct tree *t, const char *path, struct err *e)
{
    size_t len = strlen(path);
    cleanup_free char *buf = malloc(len + 1);
    if (!buf)
        return err_set(e, "out of memory");
    memcpy(buf, path, len + 1);
    for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        size_t i = find(t, buf);
        if (i != SIZE_MAX) {
            if (t->nodes[i]->kind != TREE_DIR)
                return err_set(e, "\"/%s\": \"/%s\" is a %s, not a directory", path, buf,
                               kind_name(t->nodes[i]->kind));
        } else {
            struct tree_node *nd = calloc(1, sizeof *nd);
            if (!nd || !(nd->path = strdup(buf))) {
                free(nd);
                return err_set(e, "out of memory");
            }
            nd->kind = TREE_DIR;
            nd->mode = 0755;
            if (append(t, nd, e) < 0)
                return ERR;
        }
        *s = '/';
    }
    return 0;
}

/* Add or replace the node at normalised path `path` (owned, freed here on every path).
 * tmpl's src/data/target are owned too and move into the tree. */
static int put(struct tree *t, char *path, struct tree_node *tmpl, struct err *e)
{
    cleanup_free char *p = path;
    struct tree_node tm = *tmpl;
    memset(tmpl, 0, sizeof *tmpl);
    if (!p[0]) {
        node_clear(&tm);
        if (tm.kind == TREE_DIR)
            return 0;   /* the root folder itself is never an entry */
        return err_set(e, "\"/\": the root can only be a directory");
    }
    if (make_parents(t, p, e) < 0) {
        node_clear(&tm);
        return ERR;
    }
    size_t i = find(t, p);
    if (i == SIZE_MAX) {
        struct tree_node *nd = malloc(sizeof *nd);
        if (!nd) {
            node_clear(&tm);
            return err_set(e, "out of memory");
        }
        *nd = tm;
        nd->path = steal_pointer(&p);
        return append(t, nd, e);
    }
    struct tree_node *old = t->nodes[i];
    if (old->kind == TREE_DIR && tm.kind != TREE_DIR) {
        if (remove_below(t, p, e) < 0) {
            node_clear(&tm);
            return ERR;
        }
    }
    node_clear(old);
    tm.path = old->path;
    *old = tm;
    invalidate(t);
    return 0;
}

static int check_mode(const char *path, unsigned mode, struct err *e)
{
    if (mode & ~07777u)
        return err_set(e, "\"%s\": mode %o has bits beyond 07777", path, mode);
    return 0;
}

int tree_add_dir(struct tree *t, const char *path, unsigned mode, unsigned uid, unsigned gid,
                 struct err *e)
{
    if (check_mode(path, mode, e) < 0)
        return ERR;
    char *p = path_norm(path, e);
    if (!p)
        return ERR;
    struct tree_node tm = {.kind = TREE_DIR, .mode = mode, .uid = uid, .gid = gid};
    return put(t, p, &tm, e);
}

int tree_add_file(struct tree *t, const char *path, const char *src, unsigned mode,
                  unsigned uid, unsigned gid, struct err *e)
{
    struct stat st;
    if (check_mode(path, mode, e) < 0)
        return ERR;
    if (stat(src, &st) < 0)
        return err_sys(e, errno, "%s", src);
    if (!S_ISREG(st.st_mode))
        return err_set(e, "%s: not a regular file", src);
    char *p = path_norm(path, e);
    if (!p)
        return ERR;
    struct tree_node tm = {.kind = TREE_FILE, .mode = mode, .uid = uid, .gid = gid,
                           .src = strdup(src), .size = (uint64_t)st.st_size};
    if (!tm.src) {
        free(p);
        return err_set(e, "out of memory");
    }
    return put(t, p, &tm, e);
}

/* Takes ownership of data (malloc'd, n bytes). */
static int add_owned_data(struct tree *t, char *p, unsigned char *data, size_t n, unsigned mode,
                          unsigned uid, unsigned gid, struct err *e)
{
    struct tree_node tm = {.kind = TREE_FILE, .mode = mode, .uid = uid, .gid = gid,
                           .data = data, .size = n};
    return put(t, p, &tm, e);
}

int tree_add_data(struct tree *t, const char *path, const void *data, size_t n, unsigned mode,
                  unsigned uid, unsigned gid, struct err *e)
{
    if (check_mode(path, mode, e) < 0)
        return ERR;
    char *p = path_norm(path, e);
    if (!p)
        return ERR;
    unsigned char *copy = malloc(n ? n : 1);
    if (!copy) {
        free(p);
        return err_set(e, "out of memory");
    }
    if (n)
        memcpy(copy, data, n);
    return add_owned_data(t, p, copy, n, mode, uid, gid, e);
}

int tree_add_symlink(struct tree *t, const char *path, const char *target, unsigned uid,
                     unsigned gid, struct err *e)
{
    if (!target[0])
        return err_set(e, "\"%s\": empty symlink target", path);
    char *p = path_norm(path, e);
    if (!p)
        return ERR;
    struct tree_node tm = {.kind = TREE_SYMLINK, .mode = 0777, .uid = uid, .gid = gid,
                           .target = strdup(target)};
    if (!tm.target) {
        free(p);
        return err_set(e, "out of memory");
    }
    return put(t, p, &tm, e);
}

/* A hard link at p (owned) to the FILE at target (normalised image path). */
static int add_hardlink(struct tree *t, char *p, const char *target, unsigned mode, unsigned uid,
                        unsigned gid, struct err *e)
{
    size_t i = find(t, target);
    if (i != SIZE_MAX && t->nodes[i]->kind == TREE_HARDLINK)
        target = t->nodes[i]->target;   /* link to the file itself, never to a link */
    else if (i == SIZE_MAX || t->nodes[i]->kind != TREE_FILE) {
        err_set(e, "\"/%s\": hard link target \"/%s\" is not a file added before it", p,
                target);
        free(p);
        return ERR;
    }
    if (strcmp(p, target) == 0) {
        free(p);
        return 0;   /* a link to itself changes nothing */
    }
    struct tree_node tm = {.kind = TREE_HARDLINK, .mode = mode, .uid = uid, .gid = gid,
                           .target = strdup(target)};
    if (!tm.target) {
        free(p);
        return err_set(e, "out of memory");
    }
    return put(t, p, &tm, e);
}

/* ------------------------------------------------------------------ host folders */

struct inode_seen {
    dev_t dev;
    ino_t ino;
    char *path;   /* image path of the first name seen */
};

struct walk {
    struct tree *t;
    unsigned uid, gid;
    struct inode_seen *seen;
    size_t nseen, capseen;
};

static int walk_dir(struct walk *w, const char *host, const char *img, struct err *e);

static int walk_entry(struct walk *w, const char *host, const char *img, struct err *e)
{
    struct stat st;
    if (lstat(host, &st) < 0)
        return err_sys(e, errno, "%s", host);
    unsigned mode = (unsigned)st.st_mode & 07777u;
    if (S_ISDIR(st.st_mode)) {
        if (tree_add_dir(w->t, img, mode, w->uid, w->gid, e) < 0)
            return ERR;
        return walk_dir(w, host, img, e);
    }
    if (S_ISLNK(st.st_mode)) {
        char buf[PATH_MAX];
        if (fdio_readlink(host, buf, sizeof buf) < 0)
            return err_sys(e, errno, "%s", host);
        return tree_add_symlink(w->t, img, buf, w->uid, w->gid, e);
    }
    if (!S_ISREG(st.st_mode))
        return err_set(e, "%s: not a file, folder or symlink", host);
    if (st.st_nlink > 1) {
        for (size_t i = 0; i < w->nseen; i++) {
            if (w->seen[i].dev == st.st_dev && w->seen[i].ino == st.st_ino) {
                char *p = path_norm(img, e);
                return p ? add_hardlink(w->t, p, w->seen[i].path, mode, w->uid, w->gid, e)
                         : ERR;
            }
        }
        if (w->nseen == w->capseen) {
            size_t cap = w->capseen ? w->capseen * 2 : 16;
            struct inode_seen *ns = realloc(w->seen, cap * sizeof *ns);
            if (!ns)
                return err_set(e, "out of memory");
            w->seen = ns;
            w->capseen = cap;
        }
        char *p = path_norm(img, e);
        if (!p)
            return ERR;
        w->seen[w->nseen++] = (struct inode_seen){st.st_dev, st.st_ino, p};
    }
    return tree_add_file(w->t, img, host, mode, w->uid, w->gid, e);
}

static int walk_dir(struct walk *w, const char *host, const char *img, struct err *e)
{
    DIR *d = opendir(host);
    if (!d)
        return err_sys(e, errno, "%s", host);
    int rc = 0;
    for (;;) {
        errno = 0;
        const struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                rc = err_sys(e, errno, "%s", host);
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        size_t hl = strlen(host), il = strlen(img), nl = strlen(de->d_name);
        cleanup_free char *h = malloc(hl + nl + 2);
        cleanup_free char *i = malloc(il + nl + 2);
        if (!h || !i) {
            rc = err_set(e, "out of memory");
            break;
        }
        memcpy(h, host, hl);
        h[hl] = '/';
        memcpy(h + hl + 1, de->d_name, nl + 1);
        memcpy(i, img, il);
        i[il] = '/';
        memcpy(i + il + 1, de->d_name, nl + 1);
        if ((rc = walk_entry(w, h, i, e)) < 0)
            break;
    }
    closedir(d);
    return rc;
}

int tree_add_hostdir(struct tree *t, const char *dest, const char *hostdir, unsigned uid,
                     unsigned gid, struct err *e)
{
    struct stat st;
    if (stat(hostdir, &st) < 0)
        return err_sys(e, errno, "%s", hostdir);
    if (!S_ISDIR(st.st_mode))
        return err_set(e, "%s: not a directory", hostdir);
    cleanup_free char *d = path_norm(dest, e);
    if (!d)
        return ERR;
    struct walk w = {.t = t, .uid = uid, .gid = gid};
    int rc = tree_add_dir(t, d, (unsigned)st.st_mode & 07777u, uid, gid, e);
    if (rc == 0)
        rc = walk_dir(&w, hostdir, d, e);
    for (size_t i = 0; i < w.nseen; i++)
        free(w.seen[i].path);
    free(w.seen);
    return rc;
}

/* ------------------------------------------------------------------ archives */

/* Entry name -> normalised image path under dest, refusing anything that escapes. */
static char *entry_path(const char *dest, const char *name, const char *archive_path,
                        struct err *e)
{
    if (name[0] == '/') {
        err_set(e, "%s: entry \"%s\" is an absolute path", archive_path, name);
        return NULL;
    }
    enum bad_path why = PATH_OK;
    char *p = path_join(dest, name, &why, e);
    if (!p && why == PATH_DOTDOT)
        err_ctx(e, "%s: entry escapes its destination", archive_path);
    else if (!p)
        err_ctx(e, "%s: entry \"%s\"", archive_path, name);
    return p;
}

/* A new empty file in the tree's spool folder (made on first use, 0700, under $TMPDIR or
 * /tmp): its path in path, an fd open for writing returned, or -1 with e set. */
static int spool_open(struct tree *t, char path[PATH_MAX], struct err *e)
{
    if (!t->spool) {
        const char *tmp = getenv("TMPDIR");
        char dir[PATH_MAX];
        if (snprintf(dir, sizeof dir, "%s/armlet-spool.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
            (int)sizeof dir)
            return err_set(e, "TMPDIR too long");
        if (!mkdtemp(dir))
            return err_sys(e, errno, "cannot create a temporary folder %s", dir);
        if (!(t->spool = strdup(dir))) {
            rmdir(dir);
            return err_set(e, "out of memory");
        }
    }
    snprintf(path, PATH_MAX, "%s/%lu", t->spool, t->nspool);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_sys(e, errno, "%s", path);
    t->nspool++;
    return fd;
}

/* Copy the current entry's data into a spool file, block by block as libarchive hands
 * them over: memory stays bounded whatever the entry's size, and each block lands at its
 * offset, so the holes of a sparse entry stay holes (no bytes written, none read back
 * but zeros). The file gets the entry's size even when it ends in a hole, or is all hole.
 * Returns 0 with the file's path (malloc'd) and size, or ERR naming the entry. */
static int spool_entry(struct tree *t, struct archive *a, struct archive_entry *ent,
                       const char *archive_path, char **src, uint64_t *size, struct err *e)
{
    char path[PATH_MAX];
    cleanup_close int fd = spool_open(t, path, e);
    if (fd < 0)
        return err_ctx(e, "%s: entry \"%s\"", archive_path, archive_entry_pathname(ent));
    uint64_t end = 0;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r == ARCHIVE_RETRY)
            continue;
        if (r < ARCHIVE_WARN || off < 0)   /* FAILED, FATAL; WARN: the block is usable */
            return err_set(e, "%s: entry \"%s\": %s", archive_path, archive_entry_pathname(ent),
                           r < ARCHIVE_WARN ? archive_error_string(a) : "negative offset");
        for (size_t done = 0; done < len;) {
            ssize_t w = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return err_sys(e, errno, "%s: entry \"%s\": writing %s", archive_path,
                               archive_entry_pathname(ent), path);
            done += (size_t)w;
        }
        if ((uint64_t)off + len > end)
            end = (uint64_t)off + len;
    }
    if (archive_entry_size_is_set(ent) && archive_entry_size(ent) > 0 &&
        (uint64_t)archive_entry_size(ent) > end)
        end = (uint64_t)archive_entry_size(ent);   /* a trailing hole, or only a hole */
    if (ftruncate(fd, (off_t)end) < 0)
        return err_sys(e, errno, "%s: entry \"%s\": %s", archive_path,
                       archive_entry_pathname(ent), path);
    if (!(*src = strdup(path)))
        return err_set(e, "out of memory");
    *size = end;
    return 0;
}

static int add_entry(struct tree *t, struct archive *a, struct archive_entry *ent,
                     const char *dest, const char *archive_path, struct err *e)
{
    const char *name = archive_entry_pathname(ent);
    if (!name || !name[0])
        return err_set(e, "%s: entry without a name", archive_path);
    char *p = entry_path(dest, name, archive_path, e);
    if (!p)
        return ERR;
    unsigned mode = (unsigned)archive_entry_perm(ent) & 07777u;
    la_int64_t uid = archive_entry_uid(ent), gid = archive_entry_gid(ent);
    if (uid < 0 || gid < 0 || uid > UINT_MAX || gid > UINT_MAX) {
        free(p);
        return err_set(e, "%s: entry \"%s\": owner out of range", archive_path, name);
    }
    const char *hl = archive_entry_hardlink(ent);
    int rc;
    if (hl) {
        char *target = entry_path(dest, hl, archive_path, e);
        if (!target) {
            free(p);
            return ERR;
        }
        rc = add_hardlink(t, p, target, mode, (unsigned)uid, (unsigned)gid, e);
        free(target);
    } else {
        struct tree_node tm = {.mode = mode, .uid = (unsigned)uid, .gid = (unsigned)gid};
        switch (archive_entry_filetype(ent)) {
        case AE_IFDIR:
            tm.kind = TREE_DIR;
            return put(t, p, &tm, e) < 0 ? err_ctx(e, "%s", archive_path) : 0;
        case AE_IFLNK: {
            const char *target = archive_entry_symlink(ent);
            if (!target || !target[0]) {
                free(p);
                return err_set(e, "%s: symlink \"%s\" without a target", archive_path, name);
            }
            tm.kind = TREE_SYMLINK;
            tm.mode = 0777;
            if (!(tm.target = strdup(target))) {
                free(p);
                return err_set(e, "out of memory");
            }
            rc = put(t, p, &tm, e);
            break;
        }
        case AE_IFREG:
            tm.kind = TREE_FILE;
            if (spool_entry(t, a, ent, archive_path, &tm.src, &tm.size, e) < 0) {
                free(p);
                return ERR;
            }
            rc = put(t, p, &tm, e);
            break;
        default:
            free(p);
            return err_set(e, "%s: entry \"%s\": device, fifo or socket entries are not supported",
                           archive_path, name);
        }
    }
    return rc < 0 ? err_ctx(e, "%s", archive_path) : 0;
}

int tree_add_archive(struct tree *t, const char *dest, const char *archive_path,
                     struct err *e)
{
    cleanup_free char *d = path_norm(dest, e);
    if (!d)
        return ERR;
    cleanup_archive_read struct archive *a = archive_read_new();
    if (!a)
        return err_set(e, "out of memory");
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    if (archive_read_open_filename(a, archive_path, 1 << 16) != ARCHIVE_OK) {
        int en = archive_errno(a);
        return en > 0 ? err_sys(e, en, "%s", archive_path)
                      : err_set(e, "%s: %s", archive_path, archive_error_string(a));
    }
    /* dest may exist already with its own mode: only create it when missing. */
    if (d[0] && find(t, d) == SIZE_MAX && tree_add_dir(t, d, 0755, 0, 0, e) < 0)
        return ERR;
    for (;;) {
        struct archive_entry *ent;
        int r = archive_read_next_header(a, &ent);
        if (r == ARCHIVE_EOF)
            break;
        if (r == ARCHIVE_RETRY)
            continue;
        if (r == ARCHIVE_FATAL || r == ARCHIVE_FAILED)
            return err_set(e, "%s: %s", archive_path, archive_error_string(a));
        /* ARCHIVE_WARN: the header is usable (e.g. a name charset warning). */
        if (add_entry(t, a, ent, d, archive_path, e) < 0)
            return ERR;
    }
    return 0;
}

int tree_remove(struct tree *t, const char *path, struct err *e)
{
    cleanup_free char *p = path_norm(path, e);
    if (!p)
        return ERR;
    size_t i = find(t, p);
    if (i == SIZE_MAX)
        return 0;
    node_free(t->nodes[i]);
    t->nodes[i] = t->nodes[--t->n];
    /* remove_below rebuilds the hash, which also drops the slot of node i */
    return remove_below(t, p, e) < 0 ? ERR : 1;
}

/* ------------------------------------------------------------------ views */

static int cmp_node(const void *a, const void *b)
{
    const struct tree_node *x = *(const struct tree_node *const *)a;
    const struct tree_node *y = *(const struct tree_node *const *)b;
    return strcmp(x->path, y->path);
}

int tree_sorted(struct tree *t, const struct tree_node ***nodes, size_t *n, struct err *e)
{
    if (!t->sorted) {
        t->sorted = malloc((t->n ? t->n : 1) * sizeof *t->sorted);
        if (!t->sorted)
            return err_set(e, "out of memory");
        for (size_t i = 0; i < t->n; i++)
            t->sorted[i] = t->nodes[i];
        qsort(t->sorted, t->n, sizeof *t->sorted, cmp_node);
    }
    *nodes = t->sorted;
    *n = t->n;
    return 0;
}

int tree_stack(struct tree *base, struct tree *app, struct tree_stacked **out, size_t *n,
               struct err *e)
{
    const struct tree_node **bn = NULL, **an = NULL;
    size_t nb = 0, na = 0;
    if ((base && tree_sorted(base, &bn, &nb, e) < 0) || tree_sorted(app, &an, &na, e) < 0)
        return ERR;
    struct tree_stacked *v = malloc((nb + na + 1) * sizeof *v);
    if (!v)
        return err_set(e, "out of memory");
    size_t i = 0, j = 0, k = 0;
    while (i < nb || j < na) {
        int c = i == nb ? 1 : j == na ? -1 : strcmp(bn[i]->path, an[j]->path);
        if (c < 0) {
            v[k++] = (struct tree_stacked){bn[i++], 1};
            continue;
        }
        if (c == 0)
            i++;                                 /* the app's node hides the base's */
        v[k++] = (struct tree_stacked){an[j++], 0};
    }
    *out = v;
    *n = k;
    return 0;
}

int tree_set_first(struct tree *t, const char *const *paths, size_t n, struct err *e)
{
    char **v = n ? calloc(n, sizeof *v) : NULL;
    if (n && !v)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = path_norm(paths[i], e))) {
            while (i-- > 0)
                free(v[i]);
            free(v);
            return ERR;
        }
    for (size_t i = 0; i < t->nfirst; i++)
        free(t->first[i]);
    free(t->first);
    t->first = v;
    t->nfirst = n;
    invalidate(t);
    return 0;
}

/* Index in sorted[0..n) of the node at normalised path p, or SIZE_MAX. */
static size_t sorted_index(const struct tree_node **sorted, size_t n, const char *p)
{
    struct tree_node key = {.path = (char *)p};
    const struct tree_node *kp = &key;
    const struct tree_node **hit = bsearch(&kp, sorted, n, sizeof *sorted, cmp_node);
    return hit ? (size_t)(hit - sorted) : SIZE_MAX;
}

/* Append sorted[i] to out (at *k) unless it is already there. */
static void take(const struct tree_node **sorted, size_t i, unsigned char *taken,
                 const struct tree_node **out, size_t *k)
{
    if (i != SIZE_MAX && !taken[i]) {
        taken[i] = 1;
        out[(*k)++] = sorted[i];
    }
}

int tree_ordered(struct tree *t, const struct tree_node ***nodes, size_t *n, struct err *e)
{
    const struct tree_node **sorted;
    size_t ns;
    if (tree_sorted(t, &sorted, &ns, e) < 0)
        return ERR;
    if (!t->nfirst) {
        *nodes = sorted;
        *n = ns;
        return 0;
    }
    if (!t->ordered) {
        const struct tree_node **out = malloc((ns ? ns : 1) * sizeof *out);
        cleanup_free unsigned char *taken = calloc(ns ? ns : 1, 1);
        if (!out || !taken) {
            free(out);
            return err_set(e, "out of memory");
        }
        size_t k = 0;
        for (size_t f = 0; f < t->nfirst; f++) {
            char *p = t->first[f];
            if (!*p || sorted_index(sorted, ns, p) == SIZE_MAX)
                continue;   /* not in this tree (e.g. a file of another layer) */
            /* its folders first, outermost first: a reader creates them before it */
            for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                take(sorted, sorted_index(sorted, ns, p), taken, out, &k);
                *s = '/';
            }
            take(sorted, sorted_index(sorted, ns, p), taken, out, &k);
        }
        for (size_t i = 0; i < ns; i++)
            take(sorted, i, taken, out, &k);
        t->ordered = out;
    }
    *nodes = t->ordered;
    *n = ns;
    return 0;
}

const struct tree_node *tree_get(const struct tree *t, const char *path)
{
    struct err e = {0};
    cleanup_free char *p = path_norm(path, &e);
    if (!p)
        return NULL;
    size_t i = find(t, p);
    return i == SIZE_MAX ? NULL : t->nodes[i];
}

/* ------------------------------------------------------------------ writing a folder */

/* The open folder of the last parent looked up: nodes come sorted, so siblings share it. */
struct pcache {
    int rootfd;
    int fd;        /* -1, rootfd or an fd owned by the cache */
    char *dir;     /* its image path, "" for the root */
};

static void pcache_drop(struct pcache *c)
{
    if (c->fd >= 0 && c->fd != c->rootfd)
        close(c->fd);
    c->fd = -1;
    free(c->dir);
    c->dir = NULL;
}

/* fd of the folder holding image path p, opened component by component from the root
 * with O_NOFOLLOW, so no symlink on disk is ever followed; *name gets p's last part.
 * The fd belongs to the cache. Returns -1 with e set. */
static int pcache_open(struct pcache *c, const char *p, const char **name, struct err *e)
{
    const char *slash = strrchr(p, '/');
    size_t dl = slash ? (size_t)(slash - p) : 0;
    *name = slash ? slash + 1 : p;
    if (c->dir && strlen(c->dir) == dl && strncmp(c->dir, p, dl) == 0)
        return c->fd;
    pcache_drop(c);
    char *dir = strndup(p, dl);
    if (!dir)
        return err_set(e, "out of memory");
    int fd = c->rootfd;
    char *save = NULL;
    cleanup_free char *walk = strdup(dir);
    if (!walk) {
        free(dir);
        return err_set(e, "out of memory");
    }
    for (char *comp = strtok_r(walk, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int en = errno;
        if (fd != c->rootfd)
            close(fd);
        if (nfd < 0) {
            free(dir);
            if (en == ELOOP || en == ENOTDIR)
                return err_set(e, "\"/%s\": a part of the path is a symlink or file on disk; "
                               "refusing to write through it", p);
            return err_sys(e, en, "\"/%s\"", p);
        }
        fd = nfd;
    }
    c->fd = fd;
    c->dir = dir;
    return fd;
}

static int all_zero(const unsigned char *b, size_t n)
{
    return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

/* The file's bytes into fd: inline data, or the host file read in large blocks; a block
 * of zeros is skipped with lseek, so a sparse file (an archive's) stays sparse on disk. */
static int write_content(int fd, const struct tree_node *nd, unsigned char *buf, size_t bufsz,
                         struct err *e)
{
    if (!nd->src)
        return fdio_write_all(fd, nd->data, (size_t)nd->size) < 0
                   ? err_sys(e, errno, "\"/%s\"", nd->path) : 0;
    cleanup_close int in = open(nd->src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return err_sys(e, errno, "%s", nd->src);
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(in, buf, bufsz);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return err_sys(e, errno, "%s", nd->src);
        }
        if (r == 0)
            break;
        total += (uint64_t)r;
        if (total > nd->size)
            break;
        if (all_zero(buf, (size_t)r) ? lseek(fd, r, SEEK_CUR) < 0
                                     : fdio_write_all(fd, buf, (size_t)r) < 0)
            return err_sys(e, errno, "\"/%s\"", nd->path);
    }
    if (total != nd->size)
        return err_set(e, "%s: changed size since it was added to the image", nd->src);
    if (ftruncate(fd, (off_t)total) < 0)   /* the size, when it ends in skipped zeros */
        return err_sys(e, errno, "\"/%s\"", nd->path);
    return 0;
}

/* Remove what is on disk at (pfd, name) unless it is a folder (refused). */
static int clear_leaf(int pfd, const char *name, const char *path, struct err *e)
{
    if (unlinkat(pfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno == EISDIR || errno == EPERM)
        return err_set(e, "\"/%s\": a folder is in the way on disk", path);
    return err_sys(e, errno, "\"/%s\"", path);
}

static int write_node(struct pcache *c, const struct tree_node *nd, int as_root,
                      const struct timespec ts[2], unsigned char *buf, size_t bufsz,
                      struct err *e)
{
    const char *name;
    int pfd = pcache_open(c, nd->path, &name, e);
    if (pfd < 0)
        return ERR;
    if (nd->kind == TREE_DIR) {
        struct stat st;
        if (mkdirat(pfd, name, 0700) == 0)
            return 0;
        if (errno != EEXIST)
            return err_sys(e, errno, "\"/%s\"", nd->path);
        if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return err_sys(e, errno, "\"/%s\"", nd->path);
        if (S_ISDIR(st.st_mode))
            return as_root || fchmodat(pfd, name, (st.st_mode | 0700) & 07777, 0) == 0
                       ? 0 : err_sys(e, errno, "\"/%s\"", nd->path);
        /* A file or symlink in the way: replace it (never follow it). */
        if (unlinkat(pfd, name, 0) < 0 || mkdirat(pfd, name, 0700) < 0)
            return err_sys(e, errno, "\"/%s\"", nd->path);
        return 0;
    }
    if (clear_leaf(pfd, name, nd->path, e) < 0)
        return ERR;
    if (nd->kind == TREE_SYMLINK) {
        if (symlinkat(nd->target, pfd, name) < 0 ||
            (as_root && fchownat(pfd, name, nd->uid, nd->gid, AT_SYMLINK_NOFOLLOW) < 0) ||
            utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
            return err_sys(e, errno, "\"/%s\"", nd->path);
        return 0;
    }
    cleanup_close int fd =
        openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_sys(e, errno, "\"/%s\"", nd->path);
    if (write_content(fd, nd, buf, bufsz, e) < 0)
        return ERR;
    /* chown before chmod: chown clears setuid/setgid bits. */
    if ((as_root && fchown(fd, nd->uid, nd->gid) < 0) || fchmod(fd, nd->mode) < 0 ||
        futimens(fd, ts) < 0)
        return err_sys(e, errno, "\"/%s\"", nd->path);
    return 0;
}

static int write_hardlink(struct pcache *c, struct pcache *tc, const struct tree_node *nd,
                          struct err *e)
{
    const char *name, *tname;
    int pfd = pcache_open(c, nd->path, &name, e);
    if (pfd < 0)
        return ERR;
    int tfd = pcache_open(tc, nd->target, &tname, e);
    if (tfd < 0)
        return ERR;
    if (clear_leaf(pfd, name, nd->path, e) < 0)
        return ERR;
    if (linkat(tfd, tname, pfd, name, 0) < 0)
        return err_sys(e, errno, "\"/%s\": hard link to \"/%s\"", nd->path, nd->target);
    return 0;
}

/* Owner, exact mode and mtime of a folder, once everything inside it is written. */
static int finish_dir(struct pcache *c, const struct tree_node *nd, int as_root,
                      const struct timespec ts[2], struct err *e)
{
    const char *name;
    int pfd = pcache_open(c, nd->path, &name, e);
    if (pfd < 0)
        return ERR;
    cleanup_close int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || (as_root && fchown(fd, nd->uid, nd->gid) < 0) || fchmod(fd, nd->mode) < 0 ||
        futimens(fd, ts) < 0)
        return err_sys(e, errno, "\"/%s\"", nd->path);
    return 0;
}

int tree_write_dir(struct tree *t, const char *root, int64_t mtime, struct err *e)
{
    const struct tree_node **nodes;
    size_t n;
    if (tree_sorted(t, &nodes, &n, e) < 0)
        return ERR;
    int created = mkdir(root, 0755) == 0;
    if (!created && errno != EEXIST)
        return err_sys(e, errno, "%s", root);
    cleanup_close int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return err_sys(e, errno, "%s", root);
    if (created && fchmod(rootfd, 0755) < 0)   /* an image's / is 0755, whatever the umask */
        return err_sys(e, errno, "%s", root);
    const size_t bufsz = 1 << 20;
    cleanup_free unsigned char *buf = malloc(bufsz);
    if (!buf)
        return err_set(e, "out of memory");
    const struct timespec ts[2] = {{.tv_sec = (time_t)mtime}, {.tv_sec = (time_t)mtime}};
    int as_root = geteuid() == 0;
    struct pcache c = {.rootfd = rootfd, .fd = -1}, tc = {.rootfd = rootfd, .fd = -1};
    int rc = 0;
    /* 1: folders (owner-writable for now), files and symlinks, parents first. */
    for (size_t i = 0; i < n && rc == 0; i++)
        if (nodes[i]->kind != TREE_HARDLINK)
            rc = write_node(&c, nodes[i], as_root, ts, buf, bufsz, e);
    /* 2: hard links, now that every file they name exists. */
    for (size_t i = 0; i < n && rc == 0; i++)
        if (nodes[i]->kind == TREE_HARDLINK)
            rc = write_hardlink(&c, &tc, nodes[i], e);
    /* 3: folders' final owner, mode and mtime, deepest first so that a read-only folder
     * is sealed only after its children, and adding children does not touch an mtime
     * already set. */
    for (size_t i = n; i-- > 0 && rc == 0;)
        if (nodes[i]->kind == TREE_DIR)
            rc = finish_dir(&c, nodes[i], as_root, ts, e);
    if (rc == 0 && futimens(rootfd, ts) < 0)
        rc = err_sys(e, errno, "%s", root);
    pcache_drop(&c);
    pcache_drop(&tc);
    return rc < 0 ? err_ctx(e, "writing %s", root) : 0;
}
