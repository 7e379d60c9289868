/* builder/util/fdio.c — see fdio.h. */
#include "util/fdio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "util/cleanup.h"

int fdio_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int fdio_read_fd(int fd, size_t max, char **data, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
        return FDIO_NOT_REGULAR;
    size_t size = (size_t)st.st_size, got = 0;
    cleanup_free char *buf = malloc(size + 1);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    while (got < size) {
        ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    *len = got;
    *data = steal_pointer(&buf);
    return 0;
}

int fdio_read_file(const char *path, size_t max, char **data, size_t *len)
{
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer */
    cleanup_close int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    return fdio_read_fd(fd, max, data, len);
}

int fdio_open_regular_at(int dirfd, const char *name, struct stat *st)
{
    struct stat local;
    if (!st)
        st = &local;
    /* Look before opening: opening a device can have effects of its own (a tape
     * rewinds), so a non-regular name is refused without an open. The open below (no
     * symlink, no blocking) and fstat cover an entry swapped in between. */
    if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    if (S_ISLNK(st->st_mode)) {
        errno = ELOOP;
        return -1;
    }
    if (!S_ISREG(st->st_mode))
        return FDIO_NOT_REGULAR;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return FDIO_NOT_REGULAR;
    }
    return fd;
}

int fdio_read_at(int dirfd, const char *name, size_t max, char **data, size_t *len)
{
    cleanup_close int fd = fdio_open_regular_at(dirfd, name, NULL);
    if (fd < 0)
        return fd;
    return fdio_read_fd(fd, max, data, len);
}

const char *fdio_kind_at(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? "missing" : "unreadable";
    switch (st.st_mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFLNK: return "a symbolic link";
    case S_IFIFO: return "a FIFO";
    case S_IFDIR: return "a folder";
    case S_IFSOCK: return "a socket";
    default: return "a device";
    }
}

DIR *fdio_opendir_fd(int fd)
{
    int copy = dup(fd);
    DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
    if (!d) {
        int saved = errno;
        if (copy >= 0)
            close(copy);
        errno = saved;
        return NULL;
    }
    rewinddir(d);   /* the dup shares the offset: an earlier listing may have moved it */
    return d;
}

/* One path component that may be looked up: not empty, ".", "..", nor containing '/'. */
static int component_ok(const char *c, size_t n)
{
    return n > 0 && !(n == 1 && c[0] == '.') && !(n == 2 && c[0] == '.' && c[1] == '.');
}

/* The per-component fallback of fdio_open_dir_beneath (and its create path). */
static int open_dir_steps(int dirfd, const char *relpath, int create)
{
    char comp[256];
    int cur = -1;
    for (const char *p = relpath; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!component_ok(p, n) || n >= sizeof comp) {
            if (cur >= 0)
                close(cur);
            errno = EINVAL;
            return -1;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        int base = cur >= 0 ? cur : dirfd;
        if (create && mkdirat(base, comp, 0755) < 0 && errno != EEXIST) {
            int saved = errno;
            if (cur >= 0)
                close(cur);
            errno = saved;
            return -1;
        }
        int next = openat(base, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        struct stat st;   /* O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a symlink: say ELOOP */
        if (next < 0 && saved == ENOTDIR && fstatat(base, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
            saved = ELOOP;
        if (cur >= 0)
            close(cur);
        if (next < 0) {
            errno = saved;
            return -1;
        }
        cur = next;
        p += n;
        if (*p == '/')
            p++;
    }
    if (cur < 0)
        errno = EINVAL;
    return cur;
}

int fdio_open_dir_beneath(int dirfd, const char *relpath, int create)
{
    int ok = relpath && *relpath;
    for (const char *p = relpath; ok && *p;) {
        size_t n = strcspn(p, "/");
        ok = component_ok(p, n);
        p += n;
        if (*p == '/')
            p++;
    }
    if (!ok) {   /* also refuses a leading or doubled '/' */
        errno = EINVAL;
        return -1;
    }
    if (create)
        return open_dir_steps(dirfd, relpath, 1);
#ifdef SYS_openat2
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dirfd, relpath, &how, sizeof how);
    if (fd >= 0)
        return (int)fd;
    /* ENOSYS: kernel before 5.6; EPERM: a seccomp filter refusing it. Anything else
     * is the answer (ELOOP for a symlink, EXDEV for "..", ENOTDIR, ENOENT). */
    if (errno != ENOSYS && errno != EPERM)
        return -1;
#endif
    return open_dir_steps(dirfd, relpath, 0);
}

/* Six random characters from [A-Za-z0-9] into out (no NUL). */
static void random_suffix(char *out)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[6];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^ (uint64_t)(uintptr_t)out;
        for (size_t i = 0; i < sizeof r; i++, x >>= 7)
            r[i] = (unsigned char)x;
    }
    for (size_t i = 0; i < sizeof r; i++)
        out[i] = set[r[i] % (sizeof set - 1)];
}

/* Try make(dirfd, name) with fresh random names until it does not fail with EEXIST. */
static int with_tmp_name(int dirfd, const char *prefix, char *name, size_t size, unsigned mode,
                         int is_dir)
{
    size_t pl = strlen(prefix);
    if (pl + 7 > size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        memcpy(name, prefix, pl);
        random_suffix(name + pl);
        name[pl + 6] = '\0';
        int rc = is_dir ? mkdirat(dirfd, name, 0700)
                        : openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                 (mode_t)mode);
        if (rc >= 0 || errno != EEXIST)
            return rc;
    }
    errno = EEXIST;
    return -1;
}

int fdio_create_tmp_at(int dirfd, const char *prefix, char *name, size_t size, unsigned mode)
{
    return with_tmp_name(dirfd, prefix, name, size, mode, 0);
}

int fdio_mkdir_tmp_at(int dirfd, const char *prefix, char *name, size_t size)
{
    return with_tmp_name(dirfd, prefix, name, size, 0700, 1) < 0 ? -1 : 0;
}

int fdio_publish(int fromdir, const char *from, int todir, const char *to, int *swapped)
{
    *swapped = 0;
    if (renameat2(fromdir, from, todir, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST) {
        if (renameat2(fromdir, from, todir, to, RENAME_EXCHANGE) == 0) {
            *swapped = 1;
            return 0;
        }
        if (errno != EINVAL && errno != ENOSYS)
            return -1;
    } else if (errno != EINVAL && errno != ENOSYS) {
        return -1;
    }
    /* No renameat2 flags on this filesystem: an old entry is replaced for good. */
    struct stat st;
    *swapped = fstatat(todir, to, &st, AT_SYMLINK_NOFOLLOW) == 0 ? -1 : 0;
    return renameat(fromdir, from, todir, to);
}

int fdio_unpublish(int fromdir, const char *from, int todir, const char *to, int swapped)
{
    if (swapped < 0)
        return 0;   /* replaced for good: nothing to put back, and the name must stay */
    if (swapped)
        return renameat2(fromdir, from, todir, to, RENAME_EXCHANGE);
    return renameat(todir, to, fromdir, from);
}

int fdio_remove_tree_at(int parent, const char *name)
{
    if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)   /* Linux says EISDIR; POSIX allows EPERM */
        return -1;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    int rc = 0, first = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (component_ok(de->d_name, strlen(de->d_name)) &&
            fdio_remove_tree_at(dirfd(d), de->d_name) < 0 && rc == 0) {
            rc = -1;
            first = errno;
        }
    closedir(d);
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && rc == 0) {
        rc = -1;
        first = errno;
    }
    if (rc < 0)
        errno = first;
    return rc;
}

/* Split path into its folder (opened into p->dirfd) and final name, and pick the prefix of
 * the temporary name. 0 or -1 with errno. */
static int pending_init(struct fdio_pending *p, const char *path, char *prefix, size_t n)
{
    memset(p, 0, sizeof *p);
    p->dirfd = -1;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[4096];
    if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if (slash && (size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else if (slash) {
        errno = ENAMETOOLONG;
        return -1;
    } else
        snprintf(dir, sizeof dir, ".");
    if (!component_ok(base, strlen(base)) || strlen(base) >= sizeof p->name) {
        errno = EINVAL;
        return -1;
    }
    snprintf(p->name, sizeof p->name, "%s", base);
    snprintf(prefix, n, "%.240s.tmp.", base);
    p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dirfd < 0)
        return -1;
    return 0;
}

static void pending_path(struct fdio_pending *p, const char *path)
{
    const char *slash = strrchr(path, '/');
    snprintf(p->path, sizeof p->path, "%.*s%s", slash ? (int)(slash - path + 1) : 0, path, p->tmp);
}

int fdio_pending_file(struct fdio_pending *p, const char *path)
{
    char prefix[256];
    if (pending_init(p, path, prefix, sizeof prefix) < 0) {
        int saved = errno;
        fdio_pending_finish(p);
        errno = saved;
        return -1;
    }
    int fd = fdio_create_tmp_at(p->dirfd, prefix, p->tmp, sizeof p->tmp, 0644);
    if (fd < 0) {
        int saved = errno;
        p->tmp[0] = '\0';
        fdio_pending_finish(p);
        errno = saved;
        return -1;
    }
    pending_path(p, path);
    return fd;
}

int fdio_pending_dir(struct fdio_pending *p, const char *path)
{
    char prefix[256];
    int rc = pending_init(p, path, prefix, sizeof prefix);
    if (rc == 0 && (rc = fdio_mkdir_tmp_at(p->dirfd, prefix, p->tmp, sizeof p->tmp)) < 0)
        p->tmp[0] = '\0';
    if (rc == 0 && (rc = fchmodat(p->dirfd, p->tmp, 0755, 0)) == 0) {
        pending_path(p, path);
        return 0;
    }
    int saved = errno;
    fdio_pending_finish(p);
    errno = saved;
    return -1;
}

int fdio_pending_publish(struct fdio_pending *p)
{
    if (fdio_publish(p->dirfd, p->tmp, p->dirfd, p->name, &p->swapped) < 0)
        return -1;
    p->published = 1;
    if (fsync(p->dirfd) < 0 && errno != EINVAL && errno != EROFS) {
        int saved = errno;
        fdio_pending_unpublish(p);
        errno = saved;
        return -1;
    }
    return 0;
}

void fdio_pending_unpublish(struct fdio_pending *p)
{
    if (p->published && fdio_unpublish(p->dirfd, p->tmp, p->dirfd, p->name, p->swapped) == 0)
        p->published = 0;
}

void fdio_pending_finish(struct fdio_pending *p)
{
    if (p->dirfd < 0)
        return;
    /* Not published: tmp holds our output, all of it ours to remove. Published with an
     * exchange: tmp holds the entry that was replaced, removed only when it is a file or
     * an empty folder (never the contents of someone's folder). */
    if (p->tmp[0] && !p->published)
        fdio_remove_tree_at(p->dirfd, p->tmp);
    else if (p->tmp[0] && p->swapped == 1 && unlinkat(p->dirfd, p->tmp, 0) < 0)
        unlinkat(p->dirfd, p->tmp, AT_REMOVEDIR);
    close(p->dirfd);
    p->dirfd = -1;
}

long fdio_readlink(const char *path, char *buf, size_t size)
{
    /* readlink neither terminates nor says it cut: a target that fills all of buf
     * leaves no room for the NUL, and may have been longer */
    ssize_t n = readlink(path, buf, size);
    if (n < 0)
        return -1;
    if ((size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    buf[n] = '\0';
    return (long)n;
}
