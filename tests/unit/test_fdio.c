/* tests/unit/test_fdio.c — fdio_write_all hands over every byte (more than a pipe holds at
 * once) and reports a failing write with its errno; fdio_read_file reads a whole regular
 * file with a NUL after it and refuses folders and files over its limit; fdio_readlink
 * gives a NUL-terminated target or ENAMETOOLONG, never a silently cut one. The *_at
 * functions treat a folder as hostile: FIFOs and symlinks refused without blocking or
 * following, temp files under fresh names, publish undoable, tree removal not following. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fdio.h"
#include "unit.h"

#define BIG (4u << 20)   /* 4 MiB: 64 pipe buffers of 64 KiB, so write(2) returns early */

static void test_all_bytes_reach_a_slow_reader_through_a_pipe(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    unsigned char *buf = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        buf[i] = (unsigned char)(i * 131u >> 3);
    pid_t pid = fork();
    if (pid == 0) {   /* child: read in small gulps, exit 0 when every byte matched */
        close(p[1]);
        unsigned char chunk[1000];
        size_t got = 0;
        ssize_t r;
        while ((r = read(p[0], chunk, sizeof chunk)) > 0)
            for (ssize_t k = 0; k < r; k++, got++)
                if (got >= BIG || chunk[k] != (unsigned char)(got * 131u >> 3))
                    _exit(2);
        _exit(got == BIG ? 0 : 3);
    }
    close(p[0]);
    CHECK(fdio_write_all(p[1], buf, BIG) == 0);
    close(p[1]);
    int st = -1;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(buf);
}

static void test_a_failing_write_returns_minus_one_with_errno(void)
{
    int fd = open("/dev/null", O_RDONLY);
    errno = 0;
    CHECK(fdio_write_all(fd, "x", 1) == -1 && errno == EBADF);
    close(fd);
    CHECK(fdio_write_all(-1, "x", 1) == -1 && errno == EBADF);
    int full = open("/dev/full", O_WRONLY);
    if (full >= 0) {
        CHECK(fdio_write_all(full, "x", 1) == -1 && errno == ENOSPC);
        close(full);
    }
    CHECK(fdio_write_all(-1, "", 0) == 0);   /* nothing to write: nothing to fail */
}

static void test_read_file_gives_the_bytes_and_a_nul_after_them(void)
{
    char dir[64], path[96];
    CHECK(unit_tmpdir(dir, sizeof dir, "test_fdio") != NULL);
    snprintf(path, sizeof path, "%s/f", dir);
    unit_write_file(path, "ab\0cd", 5);
    char *data = NULL;
    size_t len = 0;
    CHECK(fdio_read_file(path, 5, &data, &len) == 0);
    CHECK(data && len == 5 && !memcmp(data, "ab\0cd", 5) && data[5] == '\0');
    free(data);
    unit_write_text(path, "");
    CHECK(fdio_read_file(path, 0, &data, &len) == 0 && len == 0 && data && data[0] == '\0');
    free(data);
    unit_rm_tree(dir);
}

static void test_read_file_refuses_folders_and_files_over_the_limit(void)
{
    char dir[64], path[96];
    CHECK(unit_tmpdir(dir, sizeof dir, "test_fdio") != NULL);
    char *data = (char *)"untouched";
    size_t len = 7;
    CHECK(fdio_read_file(dir, 100, &data, &len) == FDIO_NOT_REGULAR);
    snprintf(path, sizeof path, "%s/six", dir);
    unit_write_text(path, "123456");
    CHECK(fdio_read_file(path, 5, &data, &len) == FDIO_NOT_REGULAR);
    snprintf(path, sizeof path, "%s/missing", dir);
    errno = 0;
    CHECK(fdio_read_file(path, 100, &data, &len) == -1 && errno == ENOENT);
    CHECK_STR(data, "untouched");
    CHECK(len == 7);
    unit_rm_tree(dir);
}

static void test_readlink_terminates_and_refuses_to_truncate(void)
{
    char dir[64], path[96], buf[32];
    CHECK(unit_tmpdir(dir, sizeof dir, "test_fdio") != NULL);
    snprintf(path, sizeof path, "%s/link", dir);
    CHECK(symlink("lib/ld-musl.so.1", path) == 0); /* 16 bytes */
    memset(buf, 'x', sizeof buf);
    CHECK(fdio_readlink(path, buf, sizeof buf) == 16);
    CHECK_STR(buf, "lib/ld-musl.so.1");
    CHECK(fdio_readlink(path, buf, 17) == 16); /* exactly room for it and the NUL */
    errno = 0;
    CHECK(fdio_readlink(path, buf, 16) == -1 && errno == ENAMETOOLONG);
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK(fdio_readlink(path, buf, sizeof buf) == -1 && errno == ENOENT);
    unit_rm_tree(dir);
}

/* A FIFO, a symlink and a folder where a file is expected: refused at once, never
 * followed or waited on (no writer ever opens the FIFO: a blocking open would hang). */
static void test_open_regular_at_refuses_fifos_symlinks_and_folders(void)
{
    char dir[64], path[128];
    CHECK(unit_tmpdir(dir, sizeof dir, "test_fdio") != NULL);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "%s/fifo", dir);
    CHECK(mkfifo(path, 0600) == 0);
    snprintf(path, sizeof path, "%s/file", dir);
    unit_write_text(path, "12345");
    snprintf(path, sizeof path, "%s/link", dir);
    CHECK(symlink("file", path) == 0);
    CHECK(mkdirat(dfd, "sub", 0700) == 0);
    CHECK(fdio_open_regular_at(dfd, "fifo", NULL) == FDIO_NOT_REGULAR);
    CHECK(fdio_open_regular_at(dfd, "sub", NULL) == FDIO_NOT_REGULAR);
    errno = 0;
    CHECK(fdio_open_regular_at(dfd, "link", NULL) == -1 && errno == ELOOP);
    char *data = NULL;
    size_t len = 0;
    CHECK(fdio_read_at(dfd, "fifo", 100, &data, &len) == FDIO_NOT_REGULAR);
    CHECK(fdio_read_at(dfd, "file", 100, &data, &len) == 0 && len == 5);
    free(data);
    snprintf(path, sizeof path, "%s/fifo", dir);
    CHECK(fdio_read_file(path, 100, &data, &len) == FDIO_NOT_REGULAR);   /* no hang either */
    CHECK_STR(fdio_kind_at(dfd, "fifo"), "a FIFO");
    CHECK_STR(fdio_kind_at(dfd, "link"), "a symbolic link");
    CHECK_STR(fdio_kind_at(dfd, "nope"), "missing");
    close(dfd);
    unit_rm_tree(dir);
}

/* blobs/sha256 as a symlink (to a folder outside) or a file is refused, with and without
 * create; real folders open, and are made when asked. */
static void test_open_dir_beneath_follows_no_symlink(void)
{
    char dir[64], out[96], path[160];
    CHECK(unit_tmpdir(dir, sizeof dir, "test_fdio") != NULL);
    snprintf(out, sizeof out, "%s/outside", dir);
    CHECK(mkdir(out, 0700) == 0);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(mkdirat(dfd, "l", 0700) == 0);
    int lfd = openat(dfd, "l", O_RDONLY | O_DIRECTORY);
    CHECK(mkdirat(lfd, "blobs", 0700) == 0);
    snprintf(path, sizeof path, "%s/l/blobs/sha256", dir);
    CHECK(symlink(out, path) == 0);
    errno = 0;
    CHECK(fdio_open_dir_beneath(lfd, "blobs/sha256", 0) == -1 && errno == ELOOP);
    CHECK(fdio_open_dir_beneath(lfd, "blobs/sha256", 1) == -1 && errno == ELOOP);
    CHECK(fdio_open_dir_beneath(lfd, "blobs/../blobs", 0) == -1);
    CHECK(fdio_open_dir_beneath(lfd, "/etc", 0) == -1 && errno == EINVAL);
    int fd = fdio_open_dir_beneath(lfd, "new/sha256", 1);   /* made */
    CHECK(fd >= 0);
    close(fd);
    fd = fdio_open_dir_beneath(lfd, "new/sha256", 0);
    CHECK(fd >= 0);
    close(fd);
    struct stat st;
    CHECK(stat(out, &st) == 0 && st.st_nlink == 2);   /* nothing made outside */
    close(lfd);
    close(dfd);
    unit_rm_tree(dir);
}

/* A planted symlink at the temporary name is never followed: new files get fresh names
 * (O_EXCL); publish exchanges with an existing entry and unpublish puts it back. */
static void test_temp_files_never_follow_and_publish_is_undoable(void)
{
    char dir[64], path[160], name[64];
    CHECK(unit_tmpdir(dir, sizeof dir, "test_fdio") != NULL);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "%s/victim", dir);
    unit_write_text(path, "precious");
    snprintf(path, sizeof path, "%s/out.tar", dir);
    unit_write_text(path, "old archive");
    struct fdio_pending p;
    snprintf(path, sizeof path, "%s/out.tar", dir);
    int fd = fdio_pending_file(&p, path);
    CHECK(fd >= 0 && strncmp(p.tmp, "out.tar.tmp.", 12) == 0);
    CHECK(fdio_write_all(fd, "new archive", 11) == 0);
    close(fd);
    CHECK(fdio_pending_publish(&p) == 0 && p.swapped == 1);
    size_t len = 0;
    unsigned char *b = unit_read_file(path, &len);
    CHECK(b && len == 11 && !memcmp(b, "new archive", 11));
    free(b);
    fdio_pending_unpublish(&p);
    b = unit_read_file(path, &len);
    CHECK(b && len == 11 && !memcmp(b, "old archive", 11));
    free(b);
    fdio_pending_finish(&p);   /* removes the unpublished new one */
    CHECK(faccessat(dfd, p.tmp, F_OK, AT_SYMLINK_NOFOLLOW) == -1);
    /* A symlink planted at every name a temp file could get would make creation fail,
     * never write through: here one planted link and a fresh name. */
    snprintf(path, sizeof path, "%s/victim", dir);
    CHECK(symlinkat(path, dfd, "x.tmp.AAAAAA") == 0);
    fd = fdio_create_tmp_at(dfd, "x.tmp.", name, sizeof name, 0600);
    CHECK(fd >= 0 && strcmp(name, "x.tmp.AAAAAA") != 0);
    CHECK(fdio_write_all(fd, "junk", 4) == 0);
    close(fd);
    b = unit_read_file(path, &len);
    CHECK(b && len == 8 && !memcmp(b, "precious", 8));
    free(b);
    close(dfd);
    unit_rm_tree(dir);
}

/* remove_tree removes a symlink to a folder outside, never what it points at. */
static void test_remove_tree_never_follows_symlinks(void)
{
    char dir[64], path[160], out[96];
    CHECK(unit_tmpdir(dir, sizeof dir, "test_fdio") != NULL);
    snprintf(out, sizeof out, "%s/outside", dir);
    CHECK(mkdir(out, 0700) == 0);
    snprintf(path, sizeof path, "%s/keep", out);
    unit_write_text(path, "keep");
    snprintf(path, sizeof path, "%s/t/a/b", dir);
    CHECK(mkdir(path, 0755) == -1);   /* parents missing */
    snprintf(path, sizeof path, "%s/t", dir);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/t/a", dir);
    CHECK(mkdir(path, 0555) == 0);   /* read-only: root removes it anyway */
    snprintf(path, sizeof path, "%s/t/link", dir);
    CHECK(symlink(out, path) == 0);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(fdio_remove_tree_at(dfd, "t") == 0);
    CHECK(faccessat(dfd, "t", F_OK, AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT);
    snprintf(path, sizeof path, "%s/keep", out);
    CHECK(access(path, F_OK) == 0);
    CHECK(fdio_remove_tree_at(dfd, "t") == 0);   /* missing: success */
    close(dfd);
    unit_rm_tree(dir);
}

int main(void)
{
    RUN(test_all_bytes_reach_a_slow_reader_through_a_pipe);
    RUN(test_a_failing_write_returns_minus_one_with_errno);
    RUN(test_read_file_gives_the_bytes_and_a_nul_after_them);
    RUN(test_read_file_refuses_folders_and_files_over_the_limit);
    RUN(test_readlink_terminates_and_refuses_to_truncate);
    RUN(test_open_regular_at_refuses_fifos_symlinks_and_folders);
    RUN(test_open_dir_beneath_follows_no_symlink);
    RUN(test_temp_files_never_follow_and_publish_is_undoable);
    RUN(test_remove_tree_never_follows_symlinks);
    return unit_done();
}
