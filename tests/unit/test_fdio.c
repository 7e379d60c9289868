/* tests/unit/test_fdio.c — fdio_write_all hands over every byte (more than a pipe holds at
 * once) and reports a failing write with its errno; fdio_read_file reads a whole regular
 * file with a NUL after it and refuses folders and files over its limit; fdio_readlink
 * gives a NUL-terminated target or ENAMETOOLONG, never a silently cut one. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
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

int main(void)
{
    RUN(test_all_bytes_reach_a_slow_reader_through_a_pipe);
    RUN(test_a_failing_write_returns_minus_one_with_errno);
    RUN(test_read_file_gives_the_bytes_and_a_nul_after_them);
    RUN(test_read_file_refuses_folders_and_files_over_the_limit);
    RUN(test_readlink_terminates_and_refuses_to_truncate);
    return unit_done();
}
