/* builder/fdio.c — see fdio.h. */
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

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

int fdio_read_file(const char *path, size_t max, char **data, size_t *len)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
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
        ssize_t r = read(fd, buf + got, size - got);
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
