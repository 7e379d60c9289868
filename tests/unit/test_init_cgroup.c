/* tests/unit/test_init_cgroup.c — init/cgroup.c on fake /proc/self/cgroup, mountinfo and
 * cgroup trees built in a temporary directory (the `root` prefix points the code there). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "unit.h"

static char top[256];

/* Write text to top/rel, creating the directories on the way. */
static void put(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", top, rel);
    for (char *p = path + strlen(top) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* A fresh tree for each test. */
static void fresh(const char *name)
{
    snprintf(top, sizeof top, "/tmp/armlet-unit-cgroup-%d-%s", (int)getpid(), name);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    if (system(cmd) != 0 || mkdir(top, 0755) != 0)
        exit(1);
}

static void cleanup(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    if (system(cmd) != 0)
        exit(1);
}

static void read_limits(struct cgroup_limits *l)
{
    char cg[512], mi[512];
    snprintf(cg, sizeof cg, "%s/proc/cgroup", top);
    snprintf(mi, sizeof mi, "%s/proc/mountinfo", top);
    cgroup_limits_read(cg, mi, top, CGROUP_CPU | CGROUP_MEMORY, l);
}

/* Read the tree and check the quota found, where, and the CPUs it gives of 8. */
static void expect_cpu(struct cgroup_limits *l, uint64_t q, uint64_t p, const char *at,
                       unsigned floor_n, unsigned ceil_n)
{
    read_limits(l);
    CHECK(l->quota == q && l->period == p);
    CHECK_STR(l->quota_at, at);
    CHECK(cgroup_cpus(l, 8, 0) == floor_n);
    CHECK(cgroup_cpus(l, 8, 1) == ceil_n);
}

#define V1_MOUNTS                                                                                  \
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"                          \
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n" \
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"                  \
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"

static void test_v1_tightest_quota_on_the_path_wins(void)
{
    struct cgroup_limits l;
    fresh("v1");
    put("proc/cgroup", "5:memory:/a/b\n3:cpuset:/a/b\n2:cpu,cpuacct:/a/b\n1:name=systemd:/x\n");
    put("proc/mountinfo", V1_MOUNTS);
    put("sys/fs/cgroup/cpu,cpuacct/a/b/cpu.cfs_quota_us", "150000\n");
    put("sys/fs/cgroup/cpu,cpuacct/a/b/cpu.cfs_period_us", "100000\n");
    put("sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_quota_us", "-1\n");
    put("sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_period_us", "100000\n");
    put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    put("sys/fs/cgroup/memory/a/b/memory.limit_in_bytes", "9223372036854771712\n");
    put("sys/fs/cgroup/memory/a/memory.limit_in_bytes", "536870912\n");
    put("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    put("sys/fs/cgroup/cpuset/a/b/cpuset.effective_cpus", "0-3\n");
    expect_cpu(&l, 150000, 100000, "/a/b cpu.cfs_quota_us", 1, 2);
    CHECK(l.cpuset == 4);
    /* the leaf is unlimited, its parent is not: the parent wins */
    CHECK(l.memory == 536870912);
    CHECK_STR(l.memory_at, "/a memory.limit_in_bytes");

    /* a parent tighter than the leaf (0.5 CPU, other period) wins, and floor stays >= 1 */
    put("sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_quota_us", "25000\n");
    put("sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_period_us", "50000\n");
    expect_cpu(&l, 25000, 50000, "/a cpu.cfs_quota_us", 1, 1);
    CHECK(l.leaf_cpus == 2); /* what Go >= 1.25 sees: the leaf's 1.5, rounded up */

    /* only what is asked for is read */
    char cg[512], mi[512];
    snprintf(cg, sizeof cg, "%s/proc/cgroup", top);
    snprintf(mi, sizeof mi, "%s/proc/mountinfo", top);
    cgroup_limits_read(cg, mi, top, CGROUP_MEMORY, &l);
    CHECK(l.quota == 0 && l.cpuset == 0 && l.memory == 536870912);
    cgroup_limits_read(cg, mi, top, CGROUP_CPU, &l);
    CHECK(l.quota == 25000 && l.cpuset == 4 && l.memory == 0);
    cleanup();
}

static void test_v2_namespace_root_is_the_container_cgroup(void)
{
    struct cgroup_limits l;
    fresh("v2ns");
    /* inside a cgroup namespace: path "/" and the mount's root "/" */
    put("proc/cgroup", "0::/\n");
    put("proc/mountinfo", "40 31 0:38 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    put("sys/fs/cgroup/cpu.max", "250000 100000\n");
    put("sys/fs/cgroup/memory.max", "1073741824\n");
    put("sys/fs/cgroup/cpuset.cpus.effective", "0-2,5\n");
    expect_cpu(&l, 250000, 100000, "/ cpu.max", 2, 3);
    CHECK(l.memory == 1073741824);
    CHECK(l.cpuset == 4);
    cleanup();
}

static void test_v2_nested_limits_and_max(void)
{
    struct cgroup_limits l;
    fresh("v2nest");
    put("proc/cgroup", "0::/kubepods/pod1/ctr\n");
    put("proc/mountinfo", "40 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    put("sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "max 100000\n");
    put("sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "max\n");
    put("sys/fs/cgroup/kubepods/pod1/cpu.max", "300000 100000\n");
    put("sys/fs/cgroup/kubepods/pod1/memory.max", "268435456\n");
    put("sys/fs/cgroup/kubepods/cpu.max", "150000 100000\n");
    put("sys/fs/cgroup/kubepods/memory.max", "536870912\n");
    read_limits(&l);
    CHECK(l.quota == 150000 && l.period == 100000);
    CHECK_STR(l.quota_at, "/kubepods cpu.max");
    CHECK(l.leaf_cpus == 0); /* the leaf says max: Go >= 1.25 would see no limit */
    CHECK(l.memory == 268435456);
    CHECK_STR(l.memory_at, "/kubepods/pod1 memory.max");
    CHECK(cgroup_cpus(&l, 2, 1) == 2);
    CHECK(cgroup_cpus(&l, 1, 1) == 1); /* affinity narrower than the quota */
    cleanup();
}

static void test_mount_root_is_honoured(void)
{
    struct cgroup_limits l;
    fresh("root");
    /* Docker v1 without a cgroup namespace: the hierarchy mounted from /docker/abc */
    put("proc/cgroup", "4:cpu:/docker/abc\n5:memory:/elsewhere\n");
    put("proc/mountinfo",
        "50 40 0:29 /docker/abc /sys/fs/cgroup/cpu ro - cgroup cgroup rw,cpu\n"
        "51 40 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n");
    put("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "50000\n");
    put("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
    put("sys/fs/cgroup/memory/memory.limit_in_bytes", "1000\n");
    read_limits(&l);
    CHECK(l.quota == 50000);
    CHECK_STR(l.quota_at, "/ cpu.cfs_quota_us");
    CHECK(cgroup_cpus(&l, 4, 0) == 1);
    /* /elsewhere is outside the memory mount's root: not reachable, no limit */
    CHECK(l.memory == 0);
    /* a cgroup above the namespace's root ("/../x") is under no mount */
    put("proc/cgroup", "4:cpu:/../x\n");
    put("proc/mountinfo", "50 40 0:29 / /sys/fs/cgroup/cpu ro - cgroup cgroup rw,cpu\n");
    put("sys/fs/cgroup/x/cpu.cfs_quota_us", "50000\n");
    put("sys/fs/cgroup/x/cpu.cfs_period_us", "100000\n");
    read_limits(&l);
    CHECK(l.quota == 0);
    cleanup();
}

static void test_escaped_mount_point_and_hybrid(void)
{
    struct cgroup_limits l;
    fresh("esc");
    put("proc/cgroup", "1:cpu:/\n0::/x\n");
    put("proc/mountinfo",
        "32 31 0:29 / /cg\\040v1 rw - cgroup cgroup rw,cpu\n"
        "41 31 0:38 / /cg2 rw - cgroup2 cgroup2 rw\n");
    put("cg v1/cpu.cfs_quota_us", "400000\n");
    put("cg v1/cpu.cfs_period_us", "100000\n");
    put("cg2/x/cpu.max", "120000 100000\n");
    read_limits(&l);
    /* both hierarchies count on a hybrid host: v2's 1.2 beats v1's 4 */
    CHECK(l.quota == 120000);
    CHECK_STR(l.quota_at, "/x cpu.max");
    cleanup();
}

static void test_missing_files_mean_no_limit(void)
{
    struct cgroup_limits l;
    fresh("none");
    read_limits(&l);
    CHECK(l.quota == 0 && l.memory == 0 && l.cpuset == 0);
    CHECK(cgroup_cpus(&l, 3, 0) == 3);
    CHECK(cgroup_cpus(&l, 0, 0) >= 1);
    cleanup();
}

static void test_cpulist_and_scale(void)
{
    CHECK(cgroup_cpulist_count("0-3,8,10-11\n") == 7);
    CHECK(cgroup_cpulist_count("5") == 1);
    CHECK(cgroup_cpulist_count("") == 0);
    CHECK(cgroup_cpulist_count("3-1") == 0);
    CHECK(cgroup_cpulist_count("1,x") == 0);
    CHECK(cgroup_scale(1073741824, 900000) == 966367641);
    CHECK(cgroup_scale(1000000, 1000000) == 1000000);
    CHECK(cgroup_scale(((uint64_t)1 << 62) - 1, 999999) == (((uint64_t)1 << 62) - 1) / 1000000 * 999999 +
                                                              (((uint64_t)1 << 62) - 1) % 1000000 * 999999 / 1000000);
}

int main(void)
{
    RUN(test_v1_tightest_quota_on_the_path_wins);
    RUN(test_v2_namespace_root_is_the_container_cgroup);
    RUN(test_v2_nested_limits_and_max);
    RUN(test_mount_root_is_honoured);
    RUN(test_escaped_mount_point_and_hybrid);
    RUN(test_missing_files_mean_no_limit);
    RUN(test_cpulist_and_scale);
    return unit_done();
}
