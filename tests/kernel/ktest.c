/* tests/kernel/ktest.c — the small static program the kernel checks run under armlet-init
 * on a real ARM kernel (tests/kernel/check.sh). Cross-compiled with the init's own musl
 * toolchains for linux-arm64, linux-arm-v7 and linux-arm-v6 (tests/kernel/kernel_lib.sh),
 * so a 32-bit build makes its syscalls with the arm numbers and AUDIT_ARCH_ARM.
 *
 *   ktest sys NAME|NR      makes that syscall with harmless arguments and prints
 *                          "NAME ok" or "NAME E<name>" (EPERM, ENOSYS, ...); exit 0.
 *                          NAME "gap": an unallocated number below the highest one
 *                          (arm64 244, the first of the arch-specific block no arch uses;
 *                          arm 31, the removed stty)
 *   ktest exit N           exits N
 *   ktest raise N          kills itself with signal N (default action restored first)
 *   ktest catch            blocks every signal, prints "ready", then "got N" per signal;
 *                          exits 0 after SIGTERM
 *   ktest orphans N [PPID] forks N children that each fork a grandchild and exit, so the
 *                          grandchildren are orphaned onto PPID (default: our parent, the
 *                          init under test); the grandchildren block reading a pipe. It
 *                          counts the live processes whose parent is PPID (itself aside),
 *                          closes the pipe so they exit, and waits (at most 30 s, only to
 *                          bound a hang) until PPID has reaped them all.
 *                          Prints "adopted=A reaped=yes|no"
 *   ktest children PPID    prints the pids whose parent is PPID, one a line
 *   ktest env NAME...      prints NAME=value or "NAME unset" per name
 *   ktest id               prints "uid=U gid=G"
 *   ktest nofile           prints "soft=S hard=H" (RLIMIT_NOFILE)
 *   ktest watchdog SECS PID  sleeps SECS; if PID is then still there, prints one line per
 *                          process ("KTEST diag pid ppid state wchan cmdline") and kills
 *                          PID with SIGKILL. check.sh's `run` starts one per command and
 *                          kills it when the command ends: it only ends a hang, and says
 *                          where everything was waiting
 *   ktest work             ordinary work a program does (files, a pipe, fork/wait, mmap,
 *                          time, a directory listing); prints "work ok" or what failed
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const struct {
    const char *name;
    long nr;
} calls[] = {
    { "mount", SYS_mount },       { "umount2", SYS_umount2 },     { "unshare", SYS_unshare },
    { "setns", SYS_setns },       { "keyctl", SYS_keyctl },       { "add_key", SYS_add_key },
    { "kexec_load", SYS_kexec_load }, { "init_module", SYS_init_module },
    { "bpf", SYS_bpf },           { "pivot_root", SYS_pivot_root }, { "swapon", SYS_swapon },
    { "reboot", SYS_reboot },     { "ptrace", SYS_ptrace },       { "getpid", SYS_getpid },
};

static const char *errno_name(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case ENOTDIR: return "ENOTDIR";
    case EBUSY: return "EBUSY";
    default: {
        static char buf[24];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

/* Every syscall gets arguments that cannot change the machine even where it is allowed:
 * NULL paths, an invalid reboot magic, an unknown unshare flag, PTRACE_PEEKUSER on pid 0. */
static int cmd_sys(const char *what)
{
    long nr = -1, a0 = 0, a1 = 0;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (strcmp(calls[i].name, what) == 0)
            nr = calls[i].nr;
#if defined(__aarch64__)
    if (strcmp(what, "gap") == 0)
        nr = 244;
#elif defined(__arm__)
    if (strcmp(what, "gap") == 0)
        nr = 31;
#endif
    if (nr < 0)
        nr = strtol(what, NULL, 0);
    if (strcmp(what, "ptrace") == 0)
        a0 = 3; /* PTRACE_PEEKUSER, pid 0: ESRCH */
    else if (strcmp(what, "unshare") == 0)
        a0 = 0x1; /* not a namespace flag: EINVAL */
    else if (strcmp(what, "setns") == 0)
        a0 = -1; /* bad fd: EBADF */
    else if (strcmp(what, "reboot") == 0)
        a0 = 1, a1 = 2; /* bad magic: EINVAL */
    errno = 0;
    long r = syscall(nr, a0, a1, 0L, 0L, 0L, 0L);
    printf("%s %s\n", what, r >= 0 ? "ok" : errno_name(errno));
    return 0;
}

static int cmd_catch(void)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int sig = sigwaitinfo(&all, NULL);
        if (sig < 0)
            continue;
        printf("got %d\n", sig);
        fflush(stdout);
        if (sig == SIGTERM)
            return 0;
    }
}

/* Processes whose parent is ppid, this one and its parent aside (when ppid is PID 1 of the
 * system, the shell that started us is one of its children too); live ones only unless
 * with_zombies. */
static int count_children(int ppid, int with_zombies, int print)
{
    int n = 0, self = (int)getpid(), parent = (int)getppid();
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], stat[512];
        int pid = atoi(e->d_name), pp;
        char state;
        if (pid <= 0 || pid == self || pid == parent)
            continue;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[len] = '\0';
        char *p = strrchr(stat, ')');
        if (p && sscanf(p + 1, " %c %d", &state, &pp) == 2 && pp == ppid && (with_zombies || state != 'Z')) {
            n++;
            if (print)
                printf("%d\n", pid);
        }
    }
    if (d)
        closedir(d);
    return n;
}

static int cmd_orphans(int n, int ppid)
{
    int fds[2];
    if (pipe(fds) < 0)
        return perror("pipe"), 1;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            if (fork() == 0) {
                char c;
                close(fds[1]);
                while (read(fds[0], &c, 1) > 0) /* EOF when the test closes the pipe */
                    ;
                _exit(0);
            }
            _exit(0);
        }
        if (p < 0 || waitpid(p, NULL, 0) != p)
            return perror("fork/waitpid"), 1;
    }
    /* The children have been reaped, so their children have been re-parented already. */
    int adopted = count_children(ppid, 0, 0);
    close(fds[1]);
    struct timespec tick = { 0, 2000000 }, t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int left;
    do {
        left = count_children(ppid, 1, 0);
        if (left == 0)
            break;
        nanosleep(&tick, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < 30);
    printf("adopted=%d reaped=%s\n", adopted, left == 0 ? "yes" : "no");
    return 0;
}

static void read_small(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t len = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++) /* cmdline: NUL-separated */
        if (buf[i] == '\0' || buf[i] == '\n')
            buf[i] = ' ';
}

static int cmd_watchdog(int secs, int pid)
{
    struct timespec t = { secs, 0 };
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
    if (kill(pid, 0) < 0)
        return 0;
    printf("KTEST diag hang: pid %d still running after %d s; processes (pid ppid state wchan cmdline):\n", pid, secs);
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int p = atoi(e->d_name), pp = 0;
        char path[64], stat[512], wchan[64], cmd[160], state = '?';
        if (p <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%d/cmdline", p);
        read_small(path, cmd, sizeof cmd);
        if (!cmd[0])
            continue; /* kernel threads */
        snprintf(path, sizeof path, "/proc/%d/stat", p);
        read_small(path, stat, sizeof stat);
        char *r = strrchr(stat, ')');
        if (r)
            sscanf(r + 1, " %c %d", &state, &pp);
        snprintf(path, sizeof path, "/proc/%d/wchan", p);
        read_small(path, wchan, sizeof wchan);
        printf("KTEST diag %d %d %c %s %s\n", p, pp, state, wchan[0] ? wchan : "-", cmd);
    }
    if (d)
        closedir(d);
    kill(pid, SIGKILL);
    return 0;
}

static int cmd_work(void)
{
    const char *path = "/tmp/ktest-work";
    char buf[16] = "";
    int fds[2], st;
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    if (fd < 0 || write(fd, "hello", 5) != 5 || lseek(fd, 0, SEEK_SET) != 0 || read(fd, buf, 5) != 5)
        return printf("work failed: file: %s\n", strerror(errno)), 1;
    close(fd);
    unlink(path);
    if (pipe(fds) < 0 || write(fds[1], "x", 1) != 1 || read(fds[0], buf, 1) != 1)
        return printf("work failed: pipe: %s\n", strerror(errno)), 1;
    pid_t p = fork();
    if (p == 0)
        _exit(5);
    if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 5)
        return printf("work failed: fork: %s\n", strerror(errno)), 1;
    void *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return printf("work failed: mmap: %s\n", strerror(errno)), 1;
    memset(m, 1, 65536);
    munmap(m, 65536);
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || nanosleep(&(struct timespec){ 0, 1000 }, NULL) < 0)
        return printf("work failed: time: %s\n", strerror(errno)), 1;
    DIR *d = opendir("/");
    if (!d || !readdir(d))
        return printf("work failed: readdir: %s\n", strerror(errno)), 1;
    closedir(d);
    printf("work ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "sys") == 0 && argc > 2)
        return cmd_sys(argv[2]);
    if (strcmp(cmd, "exit") == 0 && argc > 2)
        return atoi(argv[2]);
    if (strcmp(cmd, "raise") == 0 && argc > 2) {
        int sig = atoi(argv[2]);
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, sig);
        signal(sig, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &s, NULL);
        raise(sig);
        return 100;
    }
    if (strcmp(cmd, "catch") == 0)
        return cmd_catch();
    if (strcmp(cmd, "orphans") == 0 && argc > 2)
        return cmd_orphans(atoi(argv[2]), argc > 3 ? atoi(argv[3]) : (int)getppid());
    if (strcmp(cmd, "children") == 0 && argc > 2)
        return count_children(atoi(argv[2]), 0, 1) > 0 ? 0 : 1;
    if (strcmp(cmd, "env") == 0) {
        for (int i = 2; i < argc; i++) {
            const char *v = getenv(argv[i]);
            if (v)
                printf("%s=%s\n", argv[i], v);
            else
                printf("%s unset\n", argv[i]);
        }
        return 0;
    }
    if (strcmp(cmd, "id") == 0)
        return printf("uid=%d gid=%d\n", (int)getuid(), (int)getgid()) < 0;
    if (strcmp(cmd, "nofile") == 0) {
        struct rlimit r;
        getrlimit(RLIMIT_NOFILE, &r);
        return printf("soft=%llu hard=%llu\n", (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max) < 0;
    }
    if (strcmp(cmd, "work") == 0)
        return cmd_work();
    if (strcmp(cmd, "watchdog") == 0 && argc > 3)
        return cmd_watchdog(atoi(argv[2]), atoi(argv[3]));
    fprintf(stderr, "usage: ktest sys|exit|raise|catch|orphans|children|env|id|nofile|work|watchdog ...\n");
    return 2;
}
