/* builder/image/preload_keep.c — kept preload lists (see preload_keep.h). */
#include "image/preload_keep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "armlet_shared.h"
#include "image/tree.h"
#include "util/cleanup.h"
#include "util/fdio.h"

#define KEY_LINE "# armlet-preload-key "
#define KEEP_MAX (64u * 1024 * 1024)   /* as preload=PATH reads a list */

/* ------------------------------------------------------------------ the key */

/* One field: its bytes and a NUL (no field holds a NUL, so fields cannot run together). */
static void put(struct digest *d, const char *s)
{
    digest_update(d, s ? s : "", strlen(s ? s : "") + 1);
}

static void putf(struct digest *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct digest *d, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(d, buf);
}

/* The content of a FILE node into d: its inline bytes, or its host file, exactly size
 * bytes (a file that changed size since the tree took it is an error). */
static int put_content(struct digest *d, const struct tree_node *n, struct err *e)
{
    if (!n->src) {
        if (n->size)
            digest_update(d, n->data, (size_t)n->size);
        return 0;
    }
    int fd = open(n->src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(e, errno, "%s", n->src);
    static char buf[1 << 16];
    uint64_t left = n->size;
    while (left > 0) {
        ssize_t got = read(fd, buf, left < sizeof buf ? (size_t)left : sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            int saved = got < 0 ? errno : EIO;
            close(fd);
            return err_sys(e, saved, "%s (changed while being read?)", n->src);
        }
        digest_update(d, buf, (size_t)got);
        left -= (uint64_t)got;
    }
    close(fd);
    return 0;
}

/* Not part of the key: written by armlet itself, never used by the recording. */
static int left_out(const char *path)
{
    return !strcmp(path, &ARMLET_INIT_PATH[1]) || !strcmp(path, "etc/armlet") ||
           !strncmp(path, "etc/armlet/", 11);
}

/* The tree's nodes as the layers stack them (tree_stack), less what left_out names. */
static int put_tree(struct digest *d, struct tree *base, struct tree *app, struct err *e)
{
    cleanup_free struct tree_stacked *all = NULL;
    size_t n = 0;
    if (tree_stack(base, app, &all, &n, e) < 0)
        return ERR;
    for (size_t i = 0; i < n; i++) {
        const struct tree_node *t = all[i].n;
        if (left_out(t->path))
            continue;
        switch (t->kind) {
        case TREE_DIR:
            put(d, "D");
            put(d, t->path);
            break;
        case TREE_FILE:
            put(d, "F");
            put(d, t->path);
            putf(d, "%o %u %u %llu", t->mode, t->uid, t->gid, (unsigned long long)t->size);
            if (put_content(d, t, e) < 0)
                return ERR;
            break;
        case TREE_SYMLINK:
        case TREE_HARDLINK:
            put(d, t->kind == TREE_SYMLINK ? "S" : "H");
            put(d, t->path);
            put(d, t->target);
            break;
        }
    }
    return 0;
}

int preload_keep_key(const struct preload_key_in *in, char key[DIGEST_PREFIXED_LEN + 1],
                     struct err *e)
{
    struct digest d;
    if (digest_init(&d, e) < 0)
        return ERR;
    putf(&d, "armlet-preload-key %d", PRELOAD_KEEP_FORMAT);
    put(&d, in->p->oci);
    size_t n = 0;
    while (in->argv && in->argv[n])
        n++;
    putf(&d, "argv %zu", n);
    for (size_t i = 0; i < n; i++)
        put(&d, in->argv[i]);
    putf(&d, "env %zu", in->env ? in->env->n : 0);
    for (size_t i = 0; in->env && i < in->env->n; i++)
        put(&d, in->env->v[i]);
    putf(&d, "user %u:%u", in->uid, in->gid);
    put(&d, in->workdir);
    put(&d, in->url);
    putf(&d, "seconds %.17g runs %d quantum %llu", in->seconds, in->runs,
         (unsigned long long)in->quantum);
    if (put_tree(&d, in->base, in->app, e) < 0) {
        digest_abort(&d);
        return ERR;
    }
    digest_final(&d, key);
    return 0;
}

/* ------------------------------------------------------------------ the file */

/* path "DIR/app.recipe.preload/linux-arm64" -> *parent "DIR" ("." without one), *sub
 * "app.recipe.preload", *name "linux-arm64", all pointing into the malloc'd *buf. */
static int split(const char *path, char **buf, const char **parent, const char **sub,
                 const char **name, struct err *e)
{
    if (!(*buf = strdup(path)))
        return err_set(e, "out of memory");
    char *slash = strrchr(*buf, '/');      /* path always has one: preload_keep_read */
    *slash = '\0';
    *name = slash + 1;
    char *s2 = strrchr(*buf, '/');
    if (!s2) {
        *parent = ".";
        *sub = *buf;
    } else {
        *s2 = '\0';
        *parent = s2 == *buf ? "/" : *buf;
        *sub = s2 + 1;
    }
    return 0;
}

/* The ".preload" folder of path, never through a symlink; create: made when missing.
 * The fd, or -1 with errno. */
static int open_keep_dir(const char *parent, const char *sub, int create)
{
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return -1;
    int fd = fdio_open_dir_beneath(pfd, sub, create);
    int saved = errno;
    close(pfd);
    errno = saved;
    return fd;
}

static int is_hex64(const char *s)
{
    for (int i = 0; i < DIGEST_HEX_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int preload_keep_read(const char *recipe_path, const struct platform *p, const char *key,
                      char **path, char **text, size_t *len, struct err *e)
{
    *text = NULL;
    *len = 0;
    if (asprintf(path, "%s.preload/%s", recipe_path, p->dir) < 0) {
        *path = NULL;
        return err_set(e, "out of memory");
    }
    cleanup_free char *buf = NULL;
    const char *parent, *sub, *name;
    if (split(*path, &buf, &parent, &sub, &name, e) < 0)
        return ERR;
    int dfd = open_keep_dir(parent, sub, 0);
    if (dfd < 0 && errno == ENOENT)
        return KEEP_MISSING;
    if (dfd < 0 && errno == ELOOP)
        return err_set(e, "%s.preload: a symbolic link: kept lists are read and written in "
                          "a plain folder only", recipe_path);
    if (dfd < 0)
        return err_sys(e, errno, "%s.preload", recipe_path);
    char *data = NULL;
    size_t n = 0;
    int rc = fdio_read_at(dfd, name, KEEP_MAX, &data, &n);
    int saved = errno;
    const char *kind = rc == FDIO_NOT_REGULAR || (rc < 0 && saved == ELOOP)
                           ? fdio_kind_at(dfd, name) : NULL;
    close(dfd);
    if (rc < 0 && !kind && saved == ENOENT)
        return KEEP_MISSING;
    if (kind)
        return err_set(e, "%s: %s: armlet build reads and replaces a kept list only as a "
                          "regular file (at most 64 MiB), never through a link", *path, kind);
    if (rc < 0)
        return err_sys(e, saved, "%s", *path);
    const char *k = data + strlen(KEY_LINE);
    if (n < strlen(KEY_LINE) + DIGEST_PREFIXED_LEN + 1 ||
        strncmp(data, KEY_LINE, strlen(KEY_LINE)) || strncmp(k, "sha256:", 7) ||
        !is_hex64(k + 7) || (k[DIGEST_PREFIXED_LEN] != ' ' && k[DIGEST_PREFIXED_LEN] != '\n')) {
        free(data);
        return err_set(e, "%s:1: not a list kept by armlet build (its first line is \"" KEY_LINE
                          "sha256:<64 hex> PLATFORM\"): move it away to record a new one, or "
                          "name it with preload=PATH", *path);
    }
    if (strncmp(k, key, DIGEST_PREFIXED_LEN)) {
        free(data);
        return KEEP_STALE;
    }
    *text = data;
    *len = n;
    return KEEP_FRESH;
}

int preload_keep_write(const char *path, const char *key, const struct platform *p,
                       const char *body, size_t n, struct err *e)
{
    cleanup_free char *buf = NULL;
    const char *parent, *sub, *name;
    if (split(path, &buf, &parent, &sub, &name, e) < 0)
        return ERR;
    int dfd = open_keep_dir(parent, sub, 1);
    if (dfd < 0)
        return err_sys(e, errno, "%s/%s", parent, sub);
    char prefix[64], tmp[80];
    snprintf(prefix, sizeof prefix, ".%s.", name);
    int fd = fdio_create_tmp_at(dfd, prefix, tmp, sizeof tmp, 0644);
    if (fd < 0) {
        int saved = errno;
        close(dfd);
        return err_sys(e, saved, "%s/%s", parent, sub);
    }
    char head[160];
    int hn = snprintf(head, sizeof head, KEY_LINE "%s %s\n", key, p->oci);
    int swapped = 0, rc = 0;
    if (fdio_write_all(fd, head, (size_t)hn) < 0 || fdio_write_all(fd, body, n) < 0 ||
        fsync(fd) < 0)
        rc = err_sys(e, errno, "%s", path);
    if (close(fd) < 0 && rc == 0)
        rc = err_sys(e, errno, "%s", path);
    if (rc == 0 && fdio_publish(dfd, tmp, dfd, name, &swapped) < 0)
        rc = err_sys(e, errno, "%s", path);
    /* the temporary name: the new file after a failure, the old one after an exchange */
    if (rc < 0 || swapped == 1)
        (void)unlinkat(dfd, tmp, 0);
    close(dfd);
    return rc;
}
