/* builder/fdio.h — file-descriptor I/O that finishes the job.
 *
 *     if (fdio_write_all(fd, buf, n) < 0)
 *         return err_sys(e, errno, "cannot write %s", path);   // the caller names the file
 *
 * write(2) may write less than asked (pipes, signals, full disks on the way) and may be
 * interrupted; callers want all of it or an errno. No allocation, no struct err: the
 * caller knows what the bytes are and adds that to the message.
 */
#ifndef ARMLET_FDIO_H
#define ARMLET_FDIO_H
#include <stddef.h>

/* Write all n bytes of buf to fd, retrying short writes and EINTR.
 * 0, or -1 with errno set by the failing write(2). The fd stays open. */
__attribute__((warn_unused_result))
int fdio_write_all(int fd, const void *buf, size_t n);

#endif
