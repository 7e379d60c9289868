/* init/setup.c — fitting the child to its container; see setup.h. One concern per file:
 * cgroup.c reads the limits, rlimit.c the FD limit, privs.c the user, seccomp_load.c the
 * filter; this file decides and says what it did.
 *
 * The child's environment: GOMAXPROCS, GOMEMLIMIT and the --cpu-env names are added to a
 * static copy of environ (pointers to the inherited strings plus our few own), and
 * environ is pointed at it, so execvp() passes it on. setenv() would allocate. A variable
 * the user set is never overridden: they know something we do not.
 *
 * The two biggest start-up costs are the kernel's load of a Docker-sized filter in the
 * child (100-250 us on amd64) and the cgroup reads (~75 us). With both to do they run
 * side by side: the parent forks first and reads the cgroups on another CPU while the
 * child loads its filter, then sends the variables through a pipe as
 * "NAME=value\0NAME=value\0" (at most ENV_ADD of them, under PIPE_BUF in all: one write,
 * which the kernel keeps whole). Without a filter there is nothing to overlap, and the
 * work is done before fork as it always was.
 */
#include "setup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "exit_codes.h"
#include "privs.h"
#include "rlimit.h"
#include "seccomp_load.h"
#include "util.h"

extern char **environ;

#define ENV_MAX 2048                      /* inherited entries we can pass on */
#define ENV_ADD (OPT_MAX_CPU_ENV + 2)     /* GOMAXPROCS, GOMEMLIMIT, --cpu-env names: the
                                           * most export_var() calls, so entries */

static char *child_env[ENV_MAX + ENV_ADD + 1];
/* One object, so that the variables and the CPU mask share a page or two: a fresh page
 * costs the start-up a page fault, two when it is read before it is written. */
static struct {
    unsigned char cpu_mask[128]; /* 1024 CPUs: sched_getaffinity's, as fit_env() read it */
    long cpu_mask_len;           /* bytes of it the kernel wrote, or -1 */
    size_t len;
    char text[ENV_ADD * 112]; /* "NAME=value\0" each: what the pipe carries */
} env;
static int env_pipe[2] = {-1, -1}; /* open only while the cgroup work overlaps the fork */
_Static_assert(sizeof env.text <= PIPE_BUF, "the environment must go in one atomic write");

/* Queue NAME=value for the child, unless NAME is set already. */
static void export_var(const char *name, const char *value, int verbose)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (env_get(name)) {
        if (verbose)
            SAY(name, " is set already");
        return;
    }
    if (env.len + nl + vl + 2 > sizeof env.text) {
        SAY("cannot export ", name, ": name too long");
        return;
    }
    char *t = env.text + env.len;
    memcpy(t, name, nl);
    t[nl] = '=';
    memcpy(t + nl + 1, value, vl + 1);
    env.len += nl + vl + 2;
}

static void install_env(void)
{
    size_t n = 0;
    if (!env.len)
        return;
    for (char **e = environ; e && *e; e++) {
        if (n >= ENV_MAX) {
            SAY("over 2048 variables: nothing exported");
            return;
        }
        child_env[n++] = *e;
    }
    for (char *t = env.text; t < env.text + env.len; t += strlen(t) + 1)
        child_env[n++] = t;
    child_env[n] = NULL;
    environ = child_env;
}

/* num/den as decimal text with up to 3 decimals, trailing zeros cut: "1.5", "0.9". */
static char *fmt_ratio(char buf[32], uint64_t num, uint64_t den)
{
    char *p = fmt_i64(buf, (int64_t)(num / den)); /* writes the end of buf[0..20] */
    uint64_t milli = num % den * 1000 / den;
    if (milli) {
        char *end = buf + 20; /* where fmt_i64 put the NUL */
        end[0] = '.';
        end[1] = (char)('0' + milli / 100);
        end[2] = (char)('0' + milli / 10 % 10);
        end[3] = (char)('0' + milli % 10);
        for (end += 3; *end == '0'; end--)
            ;
        end[1] = '\0';
    }
    return p;
}

/* How many CPUs env.cpu_mask holds; 0 if unknown. A bit count: musl's sched_getaffinity
 * wrapper and CPU_COUNT cost more than the raw syscall and this. */
static unsigned affinity_count(void)
{
    unsigned count = 0;
    for (long i = 0; i < env.cpu_mask_len; i++)
        for (unsigned b = env.cpu_mask[i]; b; b &= b - 1)
            count++;
    return count;
}

static void fit_cpu(const struct options *o, const struct cgroup_limits *l)
{
    unsigned aff = affinity_count();
    unsigned n = cgroup_cpus(l, aff, o->cpu == CPU_CEIL);
    /* Go >= 1.25 picks min(affinity, max(2, leaf quota rounded up)) itself and follows
     * the limit as it changes, unless GOMAXPROCS is set: so with --cpu go-..., set it
     * only where that number is not ours. */
    unsigned go = l->leaf_cpus < 2 ? 2 : l->leaf_cpus;
    int own = o->cpu_go && n == (go < aff && l->leaf_cpus ? go : aff);
    char num[21], a[21], c[21], q[32];
    const char *val = fmt_i64(num, n);
    if (o->verbose)
        SAY("cpu: affinity ", fmt_i64(a, aff), ", cpuset ", l->cpuset ? fmt_i64(c, l->cpuset) : "none",
            ", quota ", l->quota ? fmt_ratio(q, l->quota, l->period) : "none",
            l->quota ? " (cgroup " : "", l->quota ? l->quota_at : "", l->quota ? ")" : "",
            " -> GOMAXPROCS=", val, o->cpu == CPU_CEIL ? " (ceil" : " (floor",
            own ? "; Go's own: not set)" : ")");
    if (!own)
        export_var("GOMAXPROCS", val, o->verbose);
    for (int i = 0; i < o->n_cpu_env; i++)
        export_var(o->cpu_env[i], val, o->verbose);
}

static void fit_memory(const struct options *o, const struct cgroup_limits *l)
{
    char lim[21], v[21], r[32];
    if (!l->memory) {
        if (o->verbose)
            SAY("memory: no cgroup limit");
        return;
    }
    const char *val = fmt_i64(v, (int64_t)cgroup_scale(l->memory, o->memory_ppm));
    if (o->verbose)
        SAY("memory: limit ", fmt_i64(lim, (int64_t)l->memory), " (cgroup ", l->memory_at, ") x ",
            fmt_ratio(r, o->memory_ppm, 1000000), " -> GOMEMLIMIT=", val);
    export_var("GOMEMLIMIT", val, o->verbose);
}

/* The cgroup controllers the flags need: 0 when --cpu and --memory are both off. */
static unsigned cgroup_want(const struct options *o)
{
    return (o->cpu != CPU_OFF ? CGROUP_CPU : 0) | (!o->memory_off && o->memory_ppm > 0 ? CGROUP_MEMORY : 0);
}

/* Read the limits and queue the variables. With move (the parent, just after fork): a
 * forked child is queued on its parent's CPU (fork balancing goes by load history, and a
 * just-started init has none) and waits there until the parent blocks: measured, the
 * child started only after the cgroup reads in 9 runs of 10, so nothing overlapped. The
 * parent steps aside to its other CPUs for the while (its mask is put back after),
 * leaving the child its warm CPU for the longer job, the filter load. */
static void fit_env(const struct options *o, int move)
{
    struct cgroup_limits l;
    unsigned want = cgroup_want(o), cpu = 0;
    env.cpu_mask_len = syscall(SYS_sched_getaffinity, 0, sizeof env.cpu_mask, env.cpu_mask);
    int moved = move && syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 && (long)(cpu / 8) < env.cpu_mask_len;
    if (moved) {
        /* With no other CPU the mask is empty and the kernel refuses it: no move. */
        env.cpu_mask[cpu / 8] ^= (unsigned char)(1u << cpu % 8);
        moved = syscall(SYS_sched_setaffinity, 0, env.cpu_mask_len, env.cpu_mask) == 0;
        env.cpu_mask[cpu / 8] ^= (unsigned char)(1u << cpu % 8);
    }
    cgroup_limits_read("/proc/self/cgroup", "/proc/self/mountinfo", "", want, &l);
    if (want & CGROUP_CPU)
        fit_cpu(o, &l);
    if (want & CGROUP_MEMORY)
        fit_memory(o, &l);
    if (moved)
        syscall(SYS_sched_setaffinity, 0, env.cpu_mask_len, env.cpu_mask);
}

void setup_parent(const struct options *o)
{
    rlimit_nofile(o->nofile_mode, o->nofile, o->verbose);
    if (o->seccomp) {
        char n[21];
        size_t insns = bpf_file_read(o->seccomp);
        if (o->verbose)
            SAY("seccomp: ", o->seccomp, ": ", fmt_i64(n, (int64_t)insns), " instructions");
    }
    if (!cgroup_want(o))
        return;
    /* No filter, nothing to overlap: a pipe would only add cost. Nor if the pipe cannot
     * be had: the work is then done here, as without a filter. */
    if (o->seccomp && syscall(SYS_pipe2, env_pipe, O_CLOEXEC) == 0)
        return;
    fit_env(o, 0);
    install_env();
}

void setup_parent_forked(const struct options *o)
{
    if (env_pipe[1] < 0)
        return;
    fit_env(o, 1);
    /* Our read end stays open until after the write: with a reader left, a child that
     * died before reading cannot turn the write into EPIPE plus a SIGPIPE left pending
     * (all signals are blocked here) for the main loop to forward. Under PIPE_BUF into
     * an empty pipe, the write neither blocks nor is split. */
    (void)write_all(env_pipe[1], env.text, env.len);
    close(env_pipe[1]);
    close(env_pipe[0]);
}

void setup_child(const struct options *o)
{
    int fd = env_pipe[0];
    /* Our copy of the write end would keep the read below from ever seeing EOF; closed
     * before the filter, so the profile need not allow close. */
    if (fd >= 0)
        close(env_pipe[1]);
    if (o->has_user)
        privs_drop(o->uid, o->gid);
    if (o->seccomp)
        bpf_install();
    /* Without the pipe the parent set the environment up before fork. */
    for (ssize_t k; fd >= 0 && (k = read(fd, env.text + env.len, sizeof env.text - env.len)) != 0;) {
        if (k > 0) {
            env.len += (size_t)k;
        } else if (errno != EINTR) {
            /* The filter is already in force: a profile that denies read ends here. */
            SAY_ERRNO("--seccomp: cannot receive the environment from the init (the profile must allow read): read");
            _exit(EXIT_NOEXEC);
        }
    }
    if (fd >= 0)
        install_env();
}
