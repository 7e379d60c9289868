/* builder/fdio.h — file-descriptor I/O that finishes the job.
 *
 *     if (fdio_write_all(fd, buf, n) < 0)
 *         return err_sys(e, errno, "cannot write %s", path);   // the caller names the file
 *
 *     char *text; size_t n;
 *     int rc = fdio_read_file(path, 1 << 20, &text, &n);    // text is malloc'd: free(text)
 *     if (rc == FDIO_NOT_REGULAR) ...                        // a folder, a FIFO, or too big
 *     else if (rc < 0) ... errno ...
 *
 *     char target[PATH_MAX];
 *     if (fdio_readlink(path, target, sizeof target) < 0) ... errno ...
 *
 * write(2) may write less than asked (pipes, signals, full disks on the way), read(2) may
 * return less, and both may be interrupted; callers want all of it or an errno. No struct
 * err: the caller knows what the bytes are and words the message.
 */
#ifndef ARMLET_FDIO_H
#define ARMLET_FDIO_H
#include <stddef.h>

/* Write all n bytes of buf to fd, retrying short writes and EINTR.
 * 0, or -1 with errno set by the failing write(2). The fd stays open. */
__attribute__((warn_unused_result))
int fdio_write_all(int fd, const void *buf, size_t n);

#define FDIO_NOT_REGULAR (-2)
/* Read the whole regular file at path, at most max bytes, into *data (malloc'd, with a NUL
 * after the last byte; the caller frees it) and its size into *len.
 * 0; FDIO_NOT_REGULAR when path is not a regular file or is larger than max (errno
 * untouched); or -1 with errno set: from open(2)/fstat(2)/read(2), ENOMEM, or EIO when the
 * file shrank while being read. *data and *len are untouched on failure. */
__attribute__((warn_unused_result))
int fdio_read_file(const char *path, size_t max, char **data, size_t *len);

/* readlink(2) into buf (size bytes), NUL-terminated. The target's length, or -1 with
 * errno set: from readlink(2), or ENAMETOOLONG when it does not fit. */
__attribute__((warn_unused_result))
long fdio_readlink(const char *path, char *buf, size_t size);

#endif
