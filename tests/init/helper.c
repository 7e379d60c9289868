/* tests/init/helper.c — the child program the init tests run under armlet-init.
 * Host-native (built with cc by tests/init/init_lib.sh): the init is what is under test.
 *
 *   helper catch [stubborn]
 *       Blocks every catchable signal and prints "ready PID PGID", then one line
 *       "got N" per signal it receives. Exits 0 on SIGTERM, unless stubborn.
 *   helper storm NCHILD NSIG SIGNO
 *       Forks NCHILD children, each of which forks a grandchild and exits at once, so
 *       NCHILD orphans land on the init, while it counts the SIGNO signals it receives.
 *       When all children are forked and NSIG signals have arrived, it waits until no
 *       other process has its own parent (the init) as parent (30 s at most: an init that
 *       does not reap leaves them as zombies), counts those zombies, prints
 *       "got=G children=C zombies=Z" and exits 42.
 *   helper orphans N
 *       For the benchmark, run as the child of a PID 1 in its own PID namespace: orphans N
 *       grandchildren onto PID 1 as fast as it can fork, waits until PID 1 has reaped them
 *       all (no process left in /proc but PID 1 and itself) and prints
 *       "orphans=N ms=T per_second=R".
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void line(const char *s)
{
    if (write(1, s, strlen(s)) < 0)
        _exit(99);
}

static int catch(int stubborn)
{
    sigset_t all;
    char buf[64];
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    snprintf(buf, sizeof buf, "ready %d %d\n", (int)getpid(), (int)getpgrp());
    line(buf);
    for (;;) {
        int sig = sigwaitinfo(&all, NULL);
        if (sig < 0)
            continue;
        snprintf(buf, sizeof buf, "got %d\n", sig);
        line(buf);
        if (sig == SIGTERM && !stubborn)
            return 0;
    }
}

/* Processes other than ourselves whose parent is ppid: all of them, or only zombies. */
static int children_of(pid_t ppid, int zombies_only)
{
    int n = 0, self = (int)getpid();
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], stat[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == self)
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[len] = '\0';
        char *p = strrchr(stat, ')');
        char state;
        int pp;
        if (p && sscanf(p + 1, " %c %d", &state, &pp) == 2 && pp == ppid && (state == 'Z' || !zombies_only))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static int storm(int nchild, int nsig, int signo)
{
    sigset_t all;
    struct timespec zero = { 0, 0 }, tick = { 0, 100000000 };
    int got = 0, children = 0;
    char buf[96];
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    line("ready\n");
    while (children < nchild || got < nsig) {
        if (children < nchild) {
            pid_t p = fork();
            if (p == 0) {
                if (fork() == 0) {
                    usleep((useconds_t)(children % 10) * 200);
                    _exit(0);
                }
                _exit(0);
            }
            if (p > 0) {
                waitpid(p, NULL, 0);
                children++;
            }
        }
        /* Drain what has arrived; block a little once there is nothing left to fork. */
        for (int s; (s = sigtimedwait(&all, NULL, children < nchild ? &zero : &tick)) > 0;)
            if (s == signo)
                got++;
    }
    /* The last orphans finish and the init reaps them: a positive event, not a nap long
     * enough. 3000 x 10 ms only bounds an init that never reaps. */
    for (int i = 0; i < 3000 && children_of(getppid(), 0) > 0; i++)
        usleep(10000);
    snprintf(buf, sizeof buf, "got=%d children=%d zombies=%d\n", got, children, children_of(getppid(), 1));
    line(buf);
    return 42;
}

/* Processes in /proc other than PID 1 and ourselves. */
static int others(void)
{
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    int self = (int)getpid();
    while (d && (e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid > 1 && pid != self)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static int orphans(int n)
{
    struct timespec t0, t1, nap = { 0, 200000 };
    char buf[96];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            if (fork() == 0)
                _exit(0);
            _exit(0);
        }
        if (p > 0)
            waitpid(p, NULL, 0);
    }
    while (others() > 0)
        nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    snprintf(buf, sizeof buf, "orphans=%d ms=%.1f per_second=%.0f\n", n, ms, n / (ms / 1e3));
    line(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "catch") == 0)
        return catch(argc >= 3 && strcmp(argv[2], "stubborn") == 0);
    if (argc >= 5 && strcmp(argv[1], "storm") == 0)
        return storm(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    if (argc >= 3 && strcmp(argv[1], "orphans") == 0)
        return orphans(atoi(argv[2]));
    fprintf(stderr, "usage: helper catch [stubborn] | helper storm NCHILD NSIG SIGNO | helper orphans N\n");
    return 2;
}
