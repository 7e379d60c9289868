/* builder/util/fdio.h — file-descriptor I/O that finishes the job.
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
 *     int fd = fdio_open_dir_beneath(layoutfd, "blobs/sha256", 0);  // no symlink on the way
 *     int bfd = fdio_open_regular_at(fd, hex, &st);                // never blocks on a FIFO
 *     int tfd = fdio_create_tmp_at(fd, "index.json.", name, sizeof name, 0644);
 *     fdio_publish(fd, name, fd, "index.json", &swapped);          // undo: fdio_unpublish
 *
 * write(2) may write less than asked (pipes, signals, full disks on the way), read(2) may
 * return less, and both may be interrupted; callers want all of it or an errno. No struct
 * err: the caller knows what the bytes are and words the message.
 *
 * The *_at functions treat the folder they are given as untrusted (an OCI layout someone
 * else wrote): they never follow a symlink below it, never open a FIFO or device in a way
 * that blocks, and never create a file through an existing name.
 */
#ifndef ARMLET_FDIO_H
#define ARMLET_FDIO_H
#include <dirent.h>
#include <stddef.h>
#include <sys/stat.h>

/* Write all n bytes of buf to fd, retrying short writes and EINTR.
 * 0, or -1 with errno set by the failing write(2). The fd stays open. */
__attribute__((warn_unused_result))
int fdio_write_all(int fd, const void *buf, size_t n);

#define FDIO_NOT_REGULAR (-2)
/* Read the whole regular file at path (opened with O_NONBLOCK: a FIFO is refused, never
 * waited on), at most max bytes, into *data (malloc'd, with a NUL
 * after the last byte; the caller frees it) and its size into *len.
 * 0; FDIO_NOT_REGULAR when path is not a regular file or is larger than max (errno
 * untouched); or -1 with errno set: from open(2)/fstat(2)/read(2), ENOMEM, or EIO when the
 * file shrank while being read. *data and *len are untouched on failure. */
__attribute__((warn_unused_result))
int fdio_read_file(const char *path, size_t max, char **data, size_t *len);

/* fdio_read_file on an open fd (regular file check, at most max bytes, read from offset 0
 * with pread). Same results. The fd stays open. */
__attribute__((warn_unused_result))
int fdio_read_fd(int fd, size_t max, char **data, size_t *len);

/* Open name (one component, no '/') in dirfd for reading, as a regular file that is not a
 * symlink: O_RDONLY|O_NOFOLLOW|O_NONBLOCK (a FIFO or device never blocks the open), then
 * fstat into *st (may be NULL). The fd; FDIO_NOT_REGULAR (after closing it) when it is a
 * FIFO, device, socket or folder; -1 with errno (ELOOP: a symlink, ENOENT ...). */
__attribute__((warn_unused_result))
int fdio_open_regular_at(int dirfd, const char *name, struct stat *st);

/* fdio_read_file for name in dirfd, opened with fdio_open_regular_at (a symlink gives -1
 * with errno ELOOP). */
__attribute__((warn_unused_result))
int fdio_read_at(int dirfd, const char *name, size_t max, char **data, size_t *len);

/* A short description of what dirfd/name is when it is not a regular file ("a symbolic
 * link", "a FIFO", "a folder", "a device", "a socket", "missing"), for messages. */
const char *fdio_kind_at(int dirfd, const char *name);

/* A DIR stream over folder fd, from its first entry, that leaves fd itself open (it
 * reads a dup). NULL with errno. Close with closedir. */
DIR *fdio_opendir_fd(int fd);

/* Open the folder relpath ("blobs/sha256": components separated by '/', none of them "..",
 * "." or empty) below dirfd, with no symlink on the way: openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) where the kernel has it, else one openat(O_NOFOLLOW|O_DIRECTORY)
 * per component. create: missing components are made (0755) first. The fd (O_DIRECTORY,
 * close-on-exec), or -1 with errno: ELOOP for a symlink, ENOTDIR for a file on the way,
 * EINVAL for a bad relpath. */
__attribute__((warn_unused_result))
int fdio_open_dir_beneath(int dirfd, const char *relpath, int create);

/* Create a new file dirfd/<prefix><6 random characters> with O_CREAT|O_EXCL|O_NOFOLLOW
 * (so never through an existing name or a planted symlink), mode before umask. Its name
 * goes to name (size bytes, at least strlen(prefix) + 7). The fd (O_WRONLY, close-on-exec),
 * or -1 with errno. */
__attribute__((warn_unused_result))
int fdio_create_tmp_at(int dirfd, const char *prefix, char *name, size_t size, unsigned mode);
/* The same for a new folder (mode 0700); 0 or -1 with errno. */
__attribute__((warn_unused_result))
int fdio_mkdir_tmp_at(int dirfd, const char *prefix, char *name, size_t size);

/* Move fromdir/from to todir/to. When to does not exist: renameat2(RENAME_NOREPLACE),
 * *swapped = 0. When it does: renameat2(RENAME_EXCHANGE), so the old entry now sits at
 * fromdir/from, *swapped = 1, and fdio_unpublish can put it back. Where the filesystem has
 * no renameat2 flags, a plain renameat: *swapped = -1 when an old entry was replaced for
 * good (nothing to put back), else 0. 0, or -1 with errno (nothing moved). */
__attribute__((warn_unused_result))
int fdio_publish(int fromdir, const char *from, int todir, const char *to, int *swapped);
/* Undo fdio_publish: exchange back when swapped is 1, move todir/to back to fromdir/from
 * when 0, nothing when -1. 0 or -1 with errno. */
int fdio_unpublish(int fromdir, const char *from, int todir, const char *to, int swapped);

/* Remove dirfd/name and, when it is a folder, everything below it, never following a
 * symlink (each folder is opened with O_NOFOLLOW relative to its parent). A missing name
 * is success. 0, or -1 with errno of the first failure (the rest is still attempted). */
int fdio_remove_tree_at(int dirfd, const char *name);

/* An output that appears all at once or not at all (a docker archive, a rootfs folder):
 * made under a fresh temporary name beside its final path, published by one rename when
 * everything else has succeeded, and undoable until fdio_pending_finish.
 *
 *     struct fdio_pending p;
 *     int fd = fdio_pending_file(&p, "out/img.tar", e_errno);   // out/img.tar.tmp.XXXXXX
 *     ... write fd ...; or fdio_pending_dir(&p, "out/rootfs") and fill fdio_pending_path
 *     fdio_pending_publish(&p);     // rename (exchange with an existing entry)
 *     fdio_pending_unpublish(&p);   // on a later failure: the old entry comes back
 *     fdio_pending_finish(&p);      // removes the temporary name (and what it holds now)
 */
struct fdio_pending {
    int dirfd;                /* the final path's folder, -1 when unused */
    char name[256];           /* final name in it */
    char tmp[280];            /* temporary name in it */
    char path[4096 + 280];    /* folder/tmp, for writers that need a path */
    int swapped, published;
};
/* Create the temporary file for path (O_EXCL|O_NOFOLLOW, mode 0644). fd, or -1 with errno
 * (p is then finished already). */
__attribute__((warn_unused_result))
int fdio_pending_file(struct fdio_pending *p, const char *path);
/* Create the temporary folder for path (mode 0755). 0 or -1 with errno. */
__attribute__((warn_unused_result))
int fdio_pending_dir(struct fdio_pending *p, const char *path);
/* 0 or -1 with errno (nothing published). */
__attribute__((warn_unused_result))
int fdio_pending_publish(struct fdio_pending *p);
void fdio_pending_unpublish(struct fdio_pending *p);
/* Remove the temporary name and everything under it; close. Safe to call twice. */
void fdio_pending_finish(struct fdio_pending *p);

/* readlink(2) into buf (size bytes), NUL-terminated. The target's length, or -1 with
 * errno set: from readlink(2), or ENAMETOOLONG when it does not fit. */
__attribute__((warn_unused_result))
long fdio_readlink(const char *path, char *buf, size_t size);

#endif
