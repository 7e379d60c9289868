/* init/cgroup.c — see cgroup.h. Files are read with open/read into stack buffers; paths
 * are built with bounded copies (no stdio in the init). */
#include "cgroup.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* Files are opened without O_CLOEXEC: the init is single-threaded and closes each one
 * before it forks. open_ro() (util.h) is the raw openat syscall. */

#define CG_PATH 1024
/* musl's "unlimited" v1 memory limit is PAGE_COUNTER_MAX pages: about 2^63. Anything past
 * 2^62 bytes is no limit. */
#define MEM_UNLIMITED ((uint64_t)1 << 62)

enum { C_CPU, C_CPUSET, C_MEM, C_V2, C_N };
static const char *const ctl_names[C_V2] = {"cpu", "cpuset", "memory"};

struct rd {
    int fd;
    size_t pos, len;
    char buf[4096]; /* mountinfo is generated per read(): fewer, larger reads */
};

/* Next line of r into line (NUL-terminated, no '\n'; longer lines are cut to cap-1).
 * Returns 0, or -1 at end of file. */
static int rd_line(struct rd *r, char *line, size_t cap)
{
    size_t n = 0;
    int any = 0;
    for (;;) {
        if (r->pos == r->len) {
            ssize_t k = read(r->fd, r->buf, sizeof r->buf);
            if (k <= 0) {
                if (!any)
                    return -1;
                break;
            }
            r->pos = 0;
            r->len = (size_t)k;
        }
        char c = r->buf[r->pos++];
        any = 1;
        if (c == '\n')
            break;
        if (n + 1 < cap)
            line[n++] = c;
    }
    line[n] = '\0';
    return 0;
}

/* First line of dir/name into buf, trailing whitespace cut. Returns 0, or -1. */
static int read_value(const char *dir, const char *name, char *buf, size_t cap)
{
    char path[CG_PATH + 64];
    int fd = (JOIN(path, sizeof path, dir, "/", name), open_ro(path, 0));
    if (fd < 0)
        return -1;
    ssize_t k = read(fd, buf, cap - 1);
    close(fd);
    if (k <= 0)
        return -1;
    while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == ' '))
        k--;
    buf[k] = '\0';
    return 0;
}

static int read_u64(const char *dir, const char *name, uint64_t *v)
{
    char buf[32];
    return read_value(dir, name, buf, sizeof buf) < 0 ? -1 : parse_u64(buf, UINT64_MAX, v);
}

/* Does the comma-separated list contain word? */
static int has_word(const char *list, const char *word)
{
    size_t w = strlen(word);
    for (const char *p = list; *p;) {
        const char *end = str_chr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == w && !strncmp(p, word, w))
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. In place. */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
            s += 3;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* Split line at spaces into at most max fields. Returns the count. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    for (char *p = line; *p && n < max;) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        f[n++] = p;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

struct hier {
    int in;              /* the process is in this hierarchy (from the cgroup file) */
    int mounted;         /* a mount reaching its cgroup was found */
    char path[CG_PATH];  /* cgroup path, then the directory on disk */
    size_t top;          /* length of the mount point part of the directory */
    int up;              /* walk() has left the leaf */
};

/* Record where cgroup path `cg` lives on disk, if mount (root, mnt) reaches it. */
static void place(struct hier *h, const char *root, const char *prefix, const char *mnt)
{
    size_t rl = strlen(root);
    const char *rest = h->path;
    if (h->mounted || !h->in || !strncmp(h->path, "/..", 3))
        return; /* "/../x": a cgroup above our namespace's root, not under any mount */
    if (strcmp(root, "/") != 0) {
        if (strncmp(h->path, root, rl) != 0 || (h->path[rl] != '/' && h->path[rl] != '\0'))
            return; /* the cgroup is outside this mount's root */
        rest = h->path + rl;
    }
    char dir[CG_PATH];
    JOIN(dir, sizeof dir, prefix, mnt);
    h->top = strlen(dir);
    if (h->top > 1 && dir[h->top - 1] == '/')
        dir[--h->top] = '\0';
    JOIN(dir + h->top, sizeof dir - h->top, strcmp(rest, "/") ? rest : "");
    memcpy(h->path, dir, sizeof dir);
    h->mounted = 1;
}

static void read_cgroup_file(const char *file, struct hier *h)
{
    struct rd r = {.fd = open_ro(file, 0)};
    char line[CG_PATH + 64];
    if (r.fd < 0)
        return;
    while (rd_line(&r, line, sizeof line) == 0) {
        char *c1 = str_chr(line, ':');
        char *c2 = c1 ? str_chr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctls = c1 + 1, *path = c2 + 1;
        for (int i = 0; i < C_N; i++) {
            int match = i == C_V2 ? (line[0] == '0' && c1 == line + 1 && !*ctls)
                                  : has_word(ctls, ctl_names[i]);
            if (match && !h[i].in) {
                h[i].in = 1;
                JOIN(h[i].path, sizeof h[i].path, path);
            }
        }
    }
    close(r.fd);
}

static void read_mountinfo(const char *file, const char *prefix, struct hier *h)
{
    struct rd r = {.fd = open_ro(file, 0)};
    char line[2 * CG_PATH];
    if (r.fd < 0)
        return;
    while (rd_line(&r, line, sizeof line) == 0) {
        /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
        char *f[32];
        int n = split(line, f, 32), sep = 6;
        while (sep < n && strcmp(f[sep], "-") != 0)
            sep++;
        if (sep + 3 >= n)
            continue;
        const char *fstype = f[sep + 1], *super = f[sep + 3];
        unescape(f[3]);
        unescape(f[4]);
        if (!strcmp(fstype, "cgroup2")) {
            place(&h[C_V2], f[3], prefix, f[4]);
        } else if (!strcmp(fstype, "cgroup")) {
            for (int i = 0; i < C_V2; i++)
                if (has_word(super, ctl_names[i]))
                    place(&h[i], f[3], prefix, f[4]);
        }
    }
    close(r.fd);
}

/* Remember "<cgroup path> <file>" of a limit for the verbose message. */
static void note(char at[CGROUP_WHERE], const struct hier *h, const char *dir, const char *file)
{
    JOIN(at, CGROUP_WHERE, dir[h->top] ? dir + h->top : "/", " ", file);
}

static void consider_quota(struct cgroup_limits *l, uint64_t q, uint64_t p, const struct hier *h,
                           const char *dir, const char *file)
{
    /* Compare in milli-CPUs: quota <= 2^44 us and period <= 1 s, so no overflow. */
    if (q == 0 || p == 0 || q > ((uint64_t)1 << 50) || p > 100000000)
        return;
    /* walk() starts at the leaf (v1 before v2): Go >= 1.25 reads that one alone. */
    if (!l->leaf_cpus && !h->up)
        l->leaf_cpus = (unsigned)((q + p - 1) / p);
    if (l->quota == 0 || q * 1000 / p < l->quota * 1000 / l->period) {
        l->quota = q;
        l->period = p;
        note(l->quota_at, h, dir, file);
    }
}

static void consider_memory(struct cgroup_limits *l, uint64_t m, const struct hier *h,
                            const char *dir, const char *file)
{
    if (m == 0 || m >= MEM_UNLIMITED)
        return;
    if (l->memory == 0 || m < l->memory) {
        l->memory = m;
        note(l->memory_at, h, dir, file);
    }
}

/* Visit the directory of one cgroup and each parent up to the mount's top. */
static void walk(struct hier *h, int ctl, unsigned what, struct cgroup_limits *l)
{
    char *dir = h->path;
    char buf[64];
    uint64_t a, b;
    for (;;) {
        if (ctl == C_CPU && read_u64(dir, "cpu.cfs_quota_us", &a) == 0 &&
            read_u64(dir, "cpu.cfs_period_us", &b) == 0)
            consider_quota(l, a, b, h, dir, "cpu.cfs_quota_us");
        if (ctl == C_MEM && read_u64(dir, "memory.limit_in_bytes", &a) == 0)
            consider_memory(l, a, h, dir, "memory.limit_in_bytes");
        if (ctl == C_V2) {
            char *sp;
            if ((what & CGROUP_CPU) && read_value(dir, "cpu.max", buf, sizeof buf) == 0 &&
                (sp = str_chr(buf, ' '))) {
                *sp = '\0';
                if (parse_u64(buf, UINT64_MAX, &a) == 0 && parse_u64(sp + 1, UINT64_MAX, &b) == 0)
                    consider_quota(l, a, b, h, dir, "cpu.max");
            }
            if ((what & CGROUP_MEMORY) && read_u64(dir, "memory.max", &a) == 0)
                consider_memory(l, a, h, dir, "memory.max");
        }
        size_t len = strlen(dir);
        if (len <= h->top)
            break;
        while (len > h->top && dir[len] != '/')
            len--;
        dir[len] = '\0'; /* up one level, never above the mount's top */
        h->up = 1;
    }
}

unsigned cgroup_cpulist_count(const char *s)
{
    unsigned count = 0;
    while (*s && *s != '\n') {
        unsigned a = 0, b;
        int digits = 0;
        for (; *s >= '0' && *s <= '9'; s++, digits++)
            a = a * 10 + (unsigned)(*s - '0');
        b = a;
        if (*s == '-') {
            b = 0;
            s++;
            for (digits = 0; *s >= '0' && *s <= '9'; s++, digits++)
                b = b * 10 + (unsigned)(*s - '0');
        }
        if (!digits || b < a || (*s && *s != ',' && *s != '\n') || a > 65535 || b > 65535)
            return 0;
        count += b - a + 1;
        if (*s == ',')
            s++;
    }
    return count;
}

static void cpuset_count(const char *dir, const char *file, struct cgroup_limits *l)
{
    char buf[512];
    unsigned n;
    if (read_value(dir, file, buf, sizeof buf) == 0 && (n = cgroup_cpulist_count(buf)) > 0 &&
        (l->cpuset == 0 || n < l->cpuset))
        l->cpuset = n;
}

void cgroup_limits_read(const char *cgroup_file, const char *mountinfo_file, const char *root,
                        unsigned what, struct cgroup_limits *l)
{
    struct hier h[C_N];
    memset(h, 0, sizeof h);
    memset(l, 0, sizeof *l);
    read_cgroup_file(cgroup_file, h);
    /* Forget the hierarchies not asked about: no mount lookup, no files read. */
    if (!(what & CGROUP_CPU))
        h[C_CPU].in = h[C_CPUSET].in = 0;
    if (!(what & CGROUP_MEMORY))
        h[C_MEM].in = 0;
    read_mountinfo(mountinfo_file, root, h);
    for (int i = 0; i < C_N; i++) {
        if (!h[i].mounted)
            continue;
        if (i == C_CPUSET) {
            /* effective_cpus already accounts for the ancestors; cpus is the older name */
            unsigned before = l->cpuset;
            cpuset_count(h[i].path, "cpuset.effective_cpus", l);
            if (l->cpuset == before)
                cpuset_count(h[i].path, "cpuset.cpus", l);
        } else if (i == C_V2) {
            if (what & CGROUP_CPU)
                cpuset_count(h[i].path, "cpuset.cpus.effective", l);
            walk(&h[i], i, what, l);
        } else {
            walk(&h[i], i, what, l);
        }
    }
}

unsigned cgroup_cpus(const struct cgroup_limits *l, unsigned affinity, int round_up)
{
    unsigned n = affinity ? affinity : 0xffffu;
    if (l->cpuset && l->cpuset < n)
        n = l->cpuset;
    if (l->quota) {
        uint64_t q = round_up ? (l->quota + l->period - 1) / l->period : l->quota / l->period;
        if (q < n)
            n = (unsigned)q;
    }
    return n ? n : 1;
}

uint64_t cgroup_scale(uint64_t limit, uint32_t ppm)
{
    return limit / 1000000 * ppm + limit % 1000000 * ppm / 1000000;
}
