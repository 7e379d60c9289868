/* init/main.c — armlet-init, a tiny PID 1: run one program, reap every zombie, forward
 * signals, exit with the program's status.
 *
 * The whole init is this file's main(), read top to bottom:
 *   1. parse options (options.c) — the only place that may fail with a usage error;
 *   2. block every signal, so nothing is delivered asynchronously: the main loop picks
 *      them up one at a time with sigtimedwait(), so there are no handlers, no races
 *      between a handler and waitpid(), and no self-pipe;
 *   3. become a child subreaper unless we are PID 1 (PID 1 gets orphans anyway);
 *   4. fork the child: own process group, terminal foreground if we have one, the
 *      original signal mask back, setup_child() (user, seccomp), exec;
 *   5. loop: SIGCHLD -> reap everything that has exited; any other signal -> forward
 *      (after --rewrite and --stop-delay); timeouts serve --stop-delay and --grace;
 *   6. when the main child has exited, exit with its status (128+N for signal N).
 * Nothing is allocated after option parsing; there is no heap use at all.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "preload.h"
#include "probe.h"
#include "setup.h"
#include "util.h"

enum { EXIT_NOEXEC = 126, EXIT_NOTFOUND = 127, EXIT_SYSTEM = 111 };

/* Static rather than on main's stack: struct options holds an NSIG-sized table, and the
 * child needs it after fork. */
static struct options opts;
static sigset_t orig_mask;          /* the mask we were started with, for the child */
static struct sigaction orig_chld;  /* SIGCHLD's inherited disposition, for the child */
static pid_t child;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* tcgetpgrp/tcsetpgrp as raw ioctls: musl's ioctl() wrapper carries a time64 conversion
 * table for 32-bit ARM that costs more than a kilobyte of the init's size. */
static pid_t tty_pgrp(void)
{
    pid_t pg;
    return syscall(SYS_ioctl, 0, TIOCGPGRP, &pg) == 0 ? pg : -1;
}

static void tty_set_pgrp(pid_t pg)
{
    syscall(SYS_ioctl, 0, TIOCSPGRP, &pg);
}

static void verbose(const char *what, const char *arg)
{
    if (opts.verbose)
        SAY(what, arg);
}

static void verbose_sig(const char *what, int sig, const char *tail)
{
    char name[16];
    if (opts.verbose)
        SAY(what, sig_name(name, sig), tail);
}

/* In the child, between fork and exec. Every signal is still blocked here, which is what
 * makes tcsetpgrp() safe: a background process calling it gets SIGTTOU unless SIGTTOU is
 * blocked or ignored, and ours is blocked until just before exec. */
static noreturn void run_child(int tty)
{
    /* Own process group: --pgroup, --grace and a terminal's Ctrl-C then address the
     * child's whole tree and never the init. The parent does the same (whichever runs
     * first wins), so the group exists before the parent signals it. */
    setpgid(0, 0);
    if (tty)
        tty_set_pgrp(getpid());
    setup_child(&opts);
    sigaction(SIGCHLD, &orig_chld, NULL);
    sigprocmask(SIG_SETMASK, &orig_mask, NULL);
    execvp(opts.argv[0], opts.argv);
    /* Report from here, where errno is known; the exit code carries the verdict to the
     * parent, which passes it on as its own. */
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
        SAY_ERRNO(opts.argv[0], ": not found");
    else
        SAY_ERRNO(opts.argv[0], ": cannot execute");
    _exit(e == ENOENT || e == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

/* Reap every child that has exited, the main one and orphans alike, until waitpid says
 * none is left (0: some still run; -1/ECHILD: none at all). SIGCHLD is not queued per
 * child, so one signal may stand for many exits: hence the loop.
 * Returns 1 and sets *status when the main child was among them. */
static int reap(int *status)
{
    int st, found = 0;
    pid_t p;
    char num[21];
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (p == child) {
            *status = st;
            found = 1;
        } else {
            verbose("reaped orphan pid ", fmt_i64(num, p));
        }
    }
    return found;
}

static void send_to_child(int sig)
{
    /* ESRCH just means the child has exited and SIGCHLD is on its way. */
    kill(opts.pgroup ? -child : child, sig);
}

int main(int argc, char **argv)
{
    sigset_t all;
    struct sigaction dfl;
    char num[21];

    /* `armlet-init probe URL`: the image's HEALTHCHECK, not an init run (probe.h). */
    if (argc > 1 && !strcmp(argv[1], "probe"))
        return probe_main(argc - 1, argv + 1);

    options_parse(&opts, argc, argv);

    /* Block everything (memset rather than sigfillset: musl's sigfillset leaves out its
     * internal signals 32-34, which would then kill us). KILL and STOP cannot be blocked;
     * a fault (SEGV...) raised by our own code still kills us, the kernel sees to that.
     * Blocked signals are queued even for PID 1, whose default-action signals the kernel
     * would otherwise discard. */
    memset(&all, 0xff, sizeof all);
    sigprocmask(SIG_SETMASK, &all, &orig_mask);

    /* An inherited SIG_IGN on SIGCHLD would make the kernel reap for us and we would
     * never learn the child's status. */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, &orig_chld);

    if (getpid() == 1) {
        verbose("running as PID 1", "");
    } else if (prctl(PR_SET_CHILD_SUBREAPER, 1) == 0) {
        verbose("not PID 1: made myself a child subreaper", "");
    } else if (opts.verbose) {
        /* Only with --verbose: qemu-user (7.2) refuses this prctl, and a warning on every
         * emulated run would pollute the child's stderr. The child still runs. */
        SAY_ERRNO("cannot become a child subreaper, orphans will not be reaped");
    }

    /* Hand the terminal over only when it is ours and we hold its foreground: stealing it
     * from a shell that started us in the background would be rude. */
    int tty = tty_pgrp() == getpgrp();

    setup_parent(&opts);

    /* _Fork, not fork: we have no atfork handlers and no threads, and musl's fork() adds
     * their locking machinery to a static binary. */
    child = _Fork();
    if (child < 0) {
        SAY_ERRNO("fork");
        return EXIT_SYSTEM;
    }
    if (child == 0)
        run_child(tty);
    setpgid(child, child);
    if (tty)
        tty_set_pgrp(child);
    preload_start(&opts); /* after the fork: the child's exec never waits for it */
    if (opts.verbose)
        SAY("started ", opts.argv[0], " as pid ", fmt_i64(num, child), tty ? " (terminal foreground)" : "");

    int64_t hold_until = -1; /* --stop-delay: a held TERM goes out at this time */
    int64_t kill_at = -1;    /* --grace: the child's group gets SIGKILL at this time */
    int status = 0;
    for (;;) {
        struct timespec ts, *timeout = NULL;
        int64_t next = hold_until;
        if (kill_at >= 0 && (next < 0 || kill_at < next))
            next = kill_at;
        if (next >= 0) {
            int64_t d = next - now_ns();
            if (d < 0)
                d = 0;
            ts.tv_sec = (time_t)(d / 1000000000);
            ts.tv_nsec = (long)(d % 1000000000);
            timeout = &ts;
        }

        siginfo_t si;
        int sig = sigtimedwait(&all, &si, timeout);
        if (sig == SIGCHLD) {
            if (reap(&status))
                break;
        } else if (sig > 0) {
            int to = opts.rewrite[sig];
            if (sig == SIGTERM && opts.stop_delay_ns > 0) {
                /* Hold TERM while a load balancer drains; a second TERM changes nothing. */
                if (hold_until < 0) {
                    hold_until = now_ns() + opts.stop_delay_ns;
                    verbose_sig("holding ", sig, " (--stop-delay)");
                }
            } else if (to == 0) {
                verbose_sig("dropped ", sig, " (--rewrite)");
            } else {
                verbose_sig("forwarding ", to, "");
                send_to_child(to);
                if ((sig == SIGINT || sig == SIGTERM) && opts.grace_ns > 0 && kill_at < 0)
                    kill_at = now_ns() + opts.grace_ns;
            }
        } else if (errno != EAGAIN && errno != EINTR) {
            SAY_ERRNO("sigtimedwait");
            return EXIT_SYSTEM;
        }

        int64_t now = now_ns();
        if (hold_until >= 0 && now >= hold_until) {
            hold_until = -1;
            int to = opts.rewrite[SIGTERM];
            if (to) {
                verbose_sig("stop delay over, forwarding ", to, "");
                send_to_child(to);
                if (opts.grace_ns > 0 && kill_at < 0)
                    kill_at = now + opts.grace_ns;
            } else {
                verbose_sig("stop delay over, dropped ", SIGTERM, " (--rewrite)");
            }
        }
        if (kill_at >= 0 && now >= kill_at) {
            kill_at = -1;
            verbose("grace period over: SIGKILL to process group ", fmt_i64(num, child));
            /* The group gets the child's helpers; the pid catches a child that left it. */
            kill(-child, SIGKILL);
            kill(child, SIGKILL);
        }
    }

    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (opts.verbose) {
        char name[16];
        if (WIFEXITED(status))
            SAY(opts.argv[0], " exited with status ", fmt_i64(num, code));
        else
            SAY(opts.argv[0], " killed by ", sig_name(name, WTERMSIG(status)), ", exit status ", fmt_i64(num, code));
    }
    for (int i = 0; i < opts.n_exit_zero; i++) {
        if (code == opts.exit_zero[i]) {
            verbose("--exit-zero: reporting 0 for ", fmt_i64(num, code));
            code = 0;
            break;
        }
    }
    return code;
}
