/* init/cgroup.h — the CPU and memory limits of the cgroups the init runs in, v1 and v2.
 *
 * Lifecycle: one call at start-up, before fork:
 *
 *     struct cgroup_limits l;
 *     cgroup_limits_read("/proc/self/cgroup", "/proc/self/mountinfo", "", CGROUP_CPU | CGROUP_MEMORY, &l);
 *     n = cgroup_cpus(&l, affinity_count, round_up);
 *
 * The process's cgroup per controller comes from the cgroup file, the mount of each
 * hierarchy from mountinfo (v1: the mounts whose super options name cpu, cpuset, memory;
 * v2: the cgroup2 mount). A mount's root field is honoured: inside a cgroup namespace the
 * container's cgroup is "/" and the mount's root too; a cgroup outside a mount's root is
 * not reachable through it and that mount is skipped. From the cgroup's directory up to
 * the mount's top, the tightest limit wins: v1 cpu.cfs_quota_us / cpu.cfs_period_us and
 * memory.limit_in_bytes (the "unlimited" 2^63-page value ignored), v2 cpu.max and
 * memory.max ("max" = none). cpuset: the leaf's effective CPU list. On a hybrid host v1
 * and v2 both count. `root` is prefixed to every mount point: "" in production, a fake
 * tree in unit tests.
 *
 * No heap, no stdio: a few kilobytes of stack. Unreadable files just mean "no limit".
 */
#ifndef ARMLET_INIT_CGROUP_H
#define ARMLET_INIT_CGROUP_H
#include <stdint.h>

#define CGROUP_WHERE 128

struct cgroup_limits {
    uint64_t quota, period;        /* tightest CPU quota on the path; quota 0 = none */
    unsigned leaf_cpus;            /* the leaf cgroup's own quota in CPUs, rounded up (what
                                    * Go >= 1.25 reads: the leaf only); 0 = none */
    char quota_at[CGROUP_WHERE];   /* where: "/a/b cpu.max" (cgroup path, file) */
    unsigned cpuset;               /* CPUs of the leaf's effective cpuset; 0 = unknown */
    uint64_t memory;               /* tightest memory limit in bytes; 0 = none */
    char memory_at[CGROUP_WHERE];
};

#define CGROUP_CPU 1u    /* quota and cpuset */
#define CGROUP_MEMORY 2u /* memory limit */

/* Fill *l (zeroed first) from the files named, reading only what `what` (CGROUP_CPU,
 * CGROUP_MEMORY) asks for. Never fails: what cannot be read is no limit. */
void cgroup_limits_read(const char *cgroup_file, const char *mountinfo_file, const char *root,
                        unsigned what, struct cgroup_limits *l);

/* Effective CPUs: min(affinity, cpuset, quota/period rounded down (at least 1) or, with
 * round_up, up). affinity 0 = unknown. Always >= 1. */
unsigned cgroup_cpus(const struct cgroup_limits *l, unsigned affinity, int round_up);

/* floor(limit * ppm / 1000000) without overflow. */
uint64_t cgroup_scale(uint64_t limit, uint32_t ppm);

/* Number of CPUs in a kernel CPU list ("0-3,8,10-11\n"); 0 if malformed or empty. */
unsigned cgroup_cpulist_count(const char *list);

#endif
