/* tests/unit/test_fdio.c — fdio_write_all hands over every byte (more than a pipe holds at
 * once) and reports a failing write with its errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

int main(void)
{
    RUN(test_all_bytes_reach_a_slow_reader_through_a_pipe);
    RUN(test_a_failing_write_returns_minus_one_with_errno);
    return unit_done();
}
