/* init/setup.c — fitting the child to its container; see setup.h. One concern per file:
 * cgroup.c reads the limits, rlimit.c the FD limit, privs.c the user, seccomp_load.c the
 * filter; this file decides and says what it did.
 *
 * The child's environment: GOMAXPROCS, GOMEMLIMIT and the --cpu-env names are added to a
 * static copy of environ (pointers to the inherited strings plus our few own), and
 * environ is pointed at it, so execvp() passes it on. setenv() would allocate. A variable
 * the user set is never overridden: they know something we do not.
 */
#include "setup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "privs.h"
#include "rlimit.h"
#include "seccomp_load.h"
#include "util.h"

extern char **environ;

#define ENV_MAX 2048                      /* inherited entries we can pass on */
#define ENV_ADD (OPT_MAX_CPU_ENV + 2)     /* GOMAXPROCS, GOMEMLIMIT, --cpu-env names */

static char *child_env[ENV_MAX + ENV_ADD + 1];
static char env_text[ENV_ADD][112];
static int n_add;

/* Queue NAME=value for the child, unless NAME is set already. */
static void export_var(const char *name, const char *value, int verbose)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (env_get(name)) {
        if (verbose)
            SAY(name, " is set already");
        return;
    }
    if (n_add >= ENV_ADD || nl + vl + 2 > sizeof env_text[0]) {
        SAY("cannot export ", name, ": name too long");
        return;
    }
    memcpy(env_text[n_add], name, nl);
    env_text[n_add][nl] = '=';
    memcpy(env_text[n_add] + nl + 1, value, vl + 1);
    n_add++;
}

static void install_env(void)
{
    size_t n = 0;
    if (!n_add)
        return;
    for (char **e = environ; e && *e; e++) {
        if (n >= ENV_MAX) {
            SAY("over 2048 variables: nothing exported");
            return;
        }
        child_env[n++] = *e;
    }
    for (int i = 0; i < n_add; i++)
        child_env[n++] = env_text[i];
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

/* CPUs this process may run on; 0 if unknown. The raw syscall, which returns how many
 * mask bytes it wrote, and a bit count: musl's wrapper and CPU_COUNT cost more. */
static unsigned affinity_count(void)
{
    static unsigned char mask[128]; /* 1024 CPUs */
    long n = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    unsigned count = 0;
    for (long i = 0; i < n; i++)
        for (unsigned b = mask[i]; b; b &= b - 1)
            count++;
    return count;
}

static void fit_cpu(const struct options *o, const struct cgroup_limits *l)
{
    unsigned aff = affinity_count();
    unsigned n = cgroup_cpus(l, aff, o->cpu == CPU_CEIL);
    char num[21], a[21], c[21], q[32];
    const char *val = fmt_i64(num, n);
    if (o->verbose)
        SAY("cpu: affinity ", fmt_i64(a, aff), ", cpuset ", l->cpuset ? fmt_i64(c, l->cpuset) : "none",
            ", quota ", l->quota ? fmt_ratio(q, l->quota, l->period) : "none",
            l->quota ? " (cgroup " : "", l->quota ? l->quota_at : "", l->quota ? ")" : "",
            " -> GOMAXPROCS=", val, o->cpu == CPU_CEIL ? " (ceil)" : " (floor)");
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

void setup_parent(const struct options *o)
{
    int want_mem = !o->memory_off && o->memory_ppm > 0;
    if (o->cpu != CPU_OFF || want_mem) {
        struct cgroup_limits l;
        cgroup_limits_read("/proc/self/cgroup", "/proc/self/mountinfo", "",
                           (o->cpu != CPU_OFF ? CGROUP_CPU : 0) | (want_mem ? CGROUP_MEMORY : 0), &l);
        if (o->cpu != CPU_OFF)
            fit_cpu(o, &l);
        if (want_mem)
            fit_memory(o, &l);
        install_env();
    }
    rlimit_nofile(o->nofile_mode, o->nofile, o->verbose);
    if (o->seccomp) {
        char n[21];
        size_t insns = bpf_file_read(o->seccomp);
        if (o->verbose)
            SAY("seccomp: ", o->seccomp, ": ", fmt_i64(n, (int64_t)insns), " instructions");
    }
}

void setup_child(const struct options *o)
{
    if (o->has_user)
        privs_drop(o->uid, o->gid);
    if (o->seccomp)
        bpf_install();
}
