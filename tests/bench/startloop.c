/* tests/bench/startloop.c — start cost of a command: runs `PROGRAM ARGS...` N times
 * (posix_spawn + waitpid, stdio to /dev/null) and prints the mean microseconds per run.
 *   startloop N PROGRAM [ARGS...]
 * Exits 1 if any run fails, so a broken init cannot post a fast time. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: startloop N PROGRAM [ARGS...]\n");
        return 2;
    }
    int n = atoi(argv[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        pid_t pid;
        int st;
        if (posix_spawn(&pid, argv[2], &fa, NULL, argv + 2, environ) != 0 || waitpid(pid, &st, 0) != pid ||
            !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "startloop: run %d of %s failed\n", i, argv[2]);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / n;
    printf("%.1f\n", us);
    return 0;
}
