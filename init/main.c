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
 *      original signal mask back, setup_child() (user, seccomp), exec; the parent reads
 *      the cgroups meanwhile when a filter is loaded (setup.h);
 *   5. loop, as tini's: wait for one signal, at most until the nearer clock
 *      (time_to_next_deadline); SIGCHLD -> reap() everything that has exited; any other
 *      signal -> handle_signal() (--rewrite, --stop-delay, forward); then
 *      run_due_timers() (the held TERM, the --grace kill);
 *   6. when the main child has exited, exit_code(): its status (128+N for signal N,
 *      --exit-zero).
 * Nothing is allocated after option parsing; there is no heap use at all.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exit_codes.h"
#include "options.h"
#include "preload.h"
#include "probe.h"
#include "setup.h"
#include "util.h"


/* Static rather than on main's stack: struct options holds an NSIG-sized table, and the
 * child needs it after fork. */
static struct options opts;
static sigset_t orig_mask;          /* the mask we were started with, for the child */
/* The kernel's struct sigaction (handler, flags, restorer, 64-bit mask as two longs on
 * every armlet arch): rt_sigaction directly, because musl's sigaction() brings its abort
 * lock and signal-blocking machinery (~1.5 KiB). Only SIG_DFL/SIG_IGN go through it. */
struct ksigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask[2];
};
static struct ksigaction orig_chld; /* SIGCHLD's inherited disposition, for the child */

static void sig_action(int sig, const struct ksigaction *set, struct ksigaction *old)
{
    syscall(SYS_rt_sigaction, sig, set, old, 8);
}
static pid_t child, self;

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

/* execvp(): a name with a '/' is run as it is, any other is looked up in $PATH (musl's
 * default path when unset; an empty entry is "."); EACCES from any candidate wins over ENOENT at the end, as
 * in musl. Smaller than musl's, which copies through a variable-length array.
 * Returns only on failure, with errno set. */
static void exec_path(const char *file, char **argv)
{
    extern char **environ;
    static char buf[4096];
    const char *path = env_get("PATH");
    int eacces = 0;
    if (!*file) {
        errno = ENOENT;
        return;
    }
    if (str_chr(file, '/')) {
        execve(file, argv, environ);
        return;
    }
    if (!path)
        path = "/usr/local/bin:/bin:/usr/bin";
    size_t fl = strlen(file);
    for (const char *p = path;; p++) {
        const char *end = str_chr(p, ':');
        size_t dl = end ? (size_t)(end - p) : strlen(p);
        /* An empty entry is the current folder, as in musl, glibc and every shell. */
        const char *dir = dl ? p : ".";
        dl += !dl;
        if (dl + fl + 2 <= sizeof buf) {
            memcpy(buf, dir, dl);
            buf[dl] = '/';
            memcpy(buf + dl + 1, file, fl + 1);
            execve(buf, argv, environ);
            if (errno == EACCES)
                eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR)
                return;
        }
        if (!end)
            break;
        p = end;
    }
    errno = eacces ? EACCES : ENOENT;
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
    sig_action(SIGCHLD, &orig_chld, NULL);
    /* A message written here to a stderr whose reader has gone left a SIGPIPE pending,
     * which the unblocking below would deliver: the program would die before it ran.
     * Setting SIG_IGN discards a pending signal; the inherited disposition then comes
     * back (the init never changes SIGPIPE's). */
    struct ksigaction pipe_old;
    static const struct ksigaction ign = { SIG_IGN, 0, 0, {0, 0} };
    sig_action(SIGPIPE, &ign, &pipe_old);
    sig_action(SIGPIPE, &pipe_old, NULL);
    sigmask_set(&orig_mask, NULL);
    exec_path(opts.argv[0], opts.argv);
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
    while ((p = waitpid(-1, &st, WNOHANG | WUNTRACED)) > 0) {
        if (WIFSTOPPED(st)) {
            /* Job control, as dumb-init: the child stopped (Ctrl-Z, or a read of the
             * terminal from the background), so the init stops too, and the shell that
             * started it sees its job stop and takes the terminal back. Its `fg` sends
             * SIGCONT, which main() passes on. Only with a terminal: PID 1 of a container
             * cannot be stopped from inside, and without one nobody waits for a prompt. */
            if (p == child && tty_pgrp() >= 0)
                kill(self, SIGSTOP);
        } else if (p == child) {
            *status = st;
            found = 1;
        } else {
            verbose("reaped orphan pid ", fmt_i64(num, p));
        }
    }
    return found;
}

/* The main loop's two clocks (CLOCK_MONOTONIC ns), -1 while not running. */
static int64_t hold_until = -1; /* --stop-delay: a held TERM goes out at this time */
static int64_t kill_at = -1;    /* --grace: the child's group gets SIGKILL at this time */

/* Forward sig (after --rewrite: to) to the child, or drop it when to is 0; a TERM/INT
 * forwarded (after the rewrite) starts the --grace clock. what prefixes the verbose line. */
static void forward(const char *what, int sig, int to)
{
    char name[16];
    if (!to) {
        if (opts.verbose)
            SAY(what, "dropped ", sig_name(name, sig), " (--rewrite)");
        return;
    }
    if (opts.verbose)
        SAY(what, "forwarding ", sig_name(name, to));
    /* ESRCH just means the child has exited and SIGCHLD is on its way. */
    kill(opts.pgroup ? -child : child, to);
    /* What the child got decides: a USR1 rewritten to TERM asks it to stop. */
    if ((to == SIGINT || to == SIGTERM) && opts.grace_ns > 0 && kill_at < 0)
        kill_at = mono_ns() + opts.grace_ns;
}

/* The kernel's timespec (two longs) for the raw rt_sigtimedwait: musl's sigtimedwait
 * carries a time64 fallback on 32-bit ARM. */
struct ktimespec {
    long sec, nsec;
};

/* How long to wait for a signal: until the nearer running clock (into *ts), or forever
 * (NULL) when neither runs. */
static struct ktimespec *time_to_next_deadline(struct ktimespec *ts)
{
    int64_t next = hold_until;
    if (kill_at >= 0 && (next < 0 || kill_at < next))
        next = kill_at;
    if (next < 0)
        return NULL;
    int64_t left = next - mono_ns();
    uint64_t d = left > 0 ? (uint64_t)left : 0; /* unsigned: see parse_duration */
    ts->sec = (long)(d / 1000000000);
    ts->nsec = (long)(d % 1000000000);
    return ts;
}

/* Raised by the kernel on the init itself: SIGPIPE from a write to a stderr whose reader
 * has gone, SIGXFSZ from one past RLIMIT_FSIZE (send_sig: the sender is the current
 * process). Not the child's business, and forwarding it would kill the child; a message
 * about it would raise another. */
static int self_raised(const siginfo_t *si)
{
    return si->si_pid == self && si->si_code == SI_USER;
}

/* A signal for the child: the terminal's foreground back on `fg`, TERM held for
 * --stop-delay, anything else forwarded after --rewrite. */
static void handle_signal(int sig)
{
    char name[16];
    /* Continued in the terminal's foreground (`fg`): the child's group gets it back for
     * the SIGCONT below. Continued in the background (`bg`): it stays. */
    if (sig == SIGCONT && tty_pgrp() == getpgrp())
        tty_set_pgrp(child);
    if (sig == SIGTERM && opts.stop_delay_ns > 0) {
        /* Hold TERM while a load balancer drains; a second TERM changes nothing. */
        if (hold_until < 0) {
            hold_until = mono_ns() + opts.stop_delay_ns;
            if (opts.verbose)
                SAY("holding ", sig_name(name, sig), " (--stop-delay)");
        }
    } else {
        forward("", sig, opts.rewrite[sig]);
    }
}

/* Fire the clocks that are due: the held TERM goes out (and may start the grace clock),
 * then the grace kill. */
static void run_due_timers(void)
{
    char num[21];
    int64_t now = mono_ns();
    if (hold_until >= 0 && now >= hold_until) {
        hold_until = -1;
        forward("stop delay over, ", SIGTERM, opts.rewrite[SIGTERM]);
    }
    if (kill_at >= 0 && now >= kill_at) {
        kill_at = -1;
        verbose("grace over: SIGKILL to group ", fmt_i64(num, child));
        /* The group gets the child's helpers; the pid catches a child that left it. */
        kill(-child, SIGKILL);
        kill(child, SIGKILL);
    }
}

/* The init's exit code for the child's wait status: its exit code, or EXIT_SIGNALED + N
 * for signal N; a code --exit-zero names is reported as 0. */
static int exit_code(int status)
{
    char num[21], name[16];
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_SIGNALED + WTERMSIG(status);
    if (opts.verbose) {
        if (WIFEXITED(status))
            SAY(opts.argv[0], " exited with status ", fmt_i64(num, code));
        else
            SAY(opts.argv[0], " killed by ", sig_name(name, WTERMSIG(status)), ", exit status ", fmt_i64(num, code));
    }
    if (opts.exit_zero[code >> 5] >> (code & 31) & 1) {
        verbose("--exit-zero: reporting 0 for ", fmt_i64(num, code));
        code = 0;
    }
    return code;
}

int main(int argc, char **argv)
{
    sigset_t all;
    static const struct ksigaction dfl; /* all zero: SIG_DFL */
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
    sigmask_set(&all, &orig_mask);

    /* An inherited SIG_IGN on SIGCHLD would make the kernel reap for us and we would
     * never learn the child's status. */
    sig_action(SIGCHLD, &dfl, &orig_chld);
    self = getpid();

    if (getpid() == 1) {
        verbose("running as PID 1", "");
    } else if (syscall(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1) == 0) {
        verbose("child subreaper", "");
    } else if (opts.verbose) {
        /* Only with --verbose: qemu-user (7.2) refuses this prctl, and a warning on every
         * emulated run would pollute the child's stderr. The child still runs. */
        SAY_ERRNO("cannot become a child subreaper");
    }

    /* Hand the terminal over only when it is ours and we hold its foreground: stealing it
     * from a shell that started us in the background would be rude. */
    int tty = tty_pgrp() == getpgrp();

    setup_parent(&opts);

    /* Not fork(), nor even _Fork(): we have no atfork handlers and no threads, and musl's
     * versions add their locking machinery to a static binary. */
    child = fork_raw();
    if (child < 0) {
        SAY_ERRNO("fork");
        return EXIT_SYSTEM;
    }
    if (child == 0)
        run_child(tty);
    setup_parent_forked(&opts); /* first: the child may be waiting for its environment */
    setpgid(child, child);
    if (tty)
        tty_set_pgrp(child);
    preload_start(&opts); /* after the fork: the child's exec never waits for it */
    if (opts.verbose)
        SAY("started ", opts.argv[0], " as pid ", fmt_i64(num, child), tty ? " (terminal foreground)" : "");

    /* The loop: one signal at a time, each wait bounded by the nearer clock. */
    int status = 0;
    for (;;) {
        struct ktimespec ts;
        siginfo_t si;
        int sig = (int)syscall(SYS_rt_sigtimedwait, &all, &si, time_to_next_deadline(&ts), 8);
        if (sig == SIGCHLD) {
            if (reap(&status))
                break;
        } else if (sig > 0 && !self_raised(&si)) {
            handle_signal(sig);
        } else if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            SAY_ERRNO("sigtimedwait");
            return EXIT_SYSTEM;
        }
        run_due_timers();
    }
    return exit_code(status);
}
