/* builder/image/pagetrace.c — page-cache insertions in order, from tracefs (see
 * pagetrace.h). */
#include "image/pagetrace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"

#define EVENT "events/filemap/mm_filemap_add_to_page_cache"

struct pagetrace {
    char dir[192];      /* the instance folder */
    pid_t helper;       /* the process whose mount namespace has tracefs, or 0 */
    int hold;           /* its pipe: closing it ends the helper */
};

const char *pagetrace_dir(const struct pagetrace *t)
{
    return t->dir;
}

/* Write value to the instance's file rel. */
static int put(const struct pagetrace *t, const char *rel, const char *value, int trunc,
               struct err *e)
{
    char path[320];
    snprintf(path, sizeof path, "%s/%s", t->dir, rel);
    cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC | (trunc ? O_TRUNC : 0));
    size_t n = strlen(value);
    if (fd < 0 || (n && write(fd, value, n) != (ssize_t)n))
        return err_sys(e, errno, "tracefs: %s", path);
    return 0;
}

/* A helper that mounts tracefs in a mount namespace of its own and waits until its pipe
 * closes: the host's mounts stay as they were. Only system calls run in the child (the
 * builder may have threads). Returns the tracefs path through /proc/PID/root. */
static int start_helper(struct pagetrace *t, char *base, size_t n, struct err *e)
{
    int ready[2], hold[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return err_sys(e, errno, "tracefs: pipe");
    if (pipe2(hold, O_CLOEXEC) < 0) {
        close(ready[0]);
        close(ready[1]);
        return err_sys(e, errno, "tracefs: pipe");
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        int err = 0;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) < 0)
            err = errno;
        (void)!write(ready[1], &err, sizeof err);
        char c;
        (void)!read(hold[0], &c, 1);
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    int err = EIO;
    if (pid < 0) {
        err = errno;
        close(hold[1]);
    } else if (read(ready[0], &err, sizeof err) != (ssize_t)sizeof err || err != 0) {
        if (err == 0)
            err = EIO;
        close(hold[1]);
        waitpid(pid, NULL, 0);
    } else {
        t->helper = pid;
        t->hold = hold[1];
    }
    close(ready[0]);
    if (!t->helper)
        return err_sys(e, err, "tracefs: cannot mount it in a mount namespace of our own");
    snprintf(base, n, "/proc/%d/root/sys/kernel/tracing", (int)pid);
    return 0;
}

int pagetrace_open(struct pagetrace **tp, dev_t dev, struct err *e)
{
    static const char *const mounted[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
    *tp = NULL;
    struct pagetrace *t = calloc(1, sizeof *t);
    if (!t)
        return err_sys(e, ENOMEM, "tracefs");
    t->hold = -1;
    char base[96] = "", path[256];
    for (size_t i = 0; !base[0] && i < sizeof mounted / sizeof mounted[0]; i++) {
        snprintf(path, sizeof path, "%s/instances", mounted[i]);
        if (access(path, W_OK) == 0)
            snprintf(base, sizeof base, "%s", mounted[i]);
    }
    if (!base[0] && start_helper(t, base, sizeof base, e) < 0) {
        free(t);
        return ERR;
    }
    snprintf(t->dir, sizeof t->dir, "%s/instances/armlet-profile-%d", base, (int)getpid());
    /* a folder of this name is one a killed run of an earlier process with our pid left */
    if (mkdir(t->dir, 0700) < 0 && (errno != EEXIST || rmdir(t->dir) < 0 || mkdir(t->dir, 0700) < 0)) {
        int err = errno;
        t->dir[0] = '\0';
        pagetrace_close(t);
        return err_sys(e, err, "tracefs: %s/instances: cannot make an instance", base);
    }
    /* 4 MiB a CPU: a server's start inserts a few thousand pages, about 100 bytes each */
    char filter[64];
    snprintf(filter, sizeof filter, "s_dev == %u", (major(dev) << 20) | minor(dev));
    if (put(t, "buffer_size_kb", "4096", 0, e) < 0 || put(t, EVENT "/filter", filter, 0, e) < 0) {
        pagetrace_close(t);
        return err_ctx(e, "tracefs: no tracepoint filemap:mm_filemap_add_to_page_cache");
    }
    *tp = t;
    return 0;
}

int pagetrace_start(struct pagetrace *t, struct err *e)
{
    if (put(t, "trace", "", 1, e) < 0)
        return ERR;
    return put(t, EVENT "/enable", "1", 0, e);
}

int pagetrace_parse_line(const char *line, struct pagetrace_event *ev)
{
    const char *p = strstr(line, "mm_filemap_add_to_page_cache:");
    const char *ino = p ? strstr(p, " ino ") : NULL, *ofs = p ? strstr(p, " ofs=") : NULL;
    const char *order = p ? strstr(p, " order=") : NULL;
    unsigned long long i, o;
    unsigned ord = 0;
    if (!ino || !ofs || sscanf(ino, " ino %llx", &i) != 1 || sscanf(ofs, " ofs=%llu", &o) != 1)
        return 0;
    /* kernels before 6.1 have no order field: one page an event */
    if (order && (sscanf(order, " order=%u", &ord) != 1 || ord > 20))
        return 0;
    *ev = (struct pagetrace_event){(uint64_t)i, (uint64_t)o, 1u << ord};
    return 1;
}

int pagetrace_stop(struct pagetrace *t, struct pagetrace_event **evp, size_t *np, int *lost,
                   struct err *e)
{
    *evp = NULL;
    *np = 0;
    *lost = 0;
    if (put(t, EVENT "/enable", "0", 0, e) < 0)
        return ERR;
    char path[320];
    snprintf(path, sizeof path, "%s/trace", t->dir);
    cleanup_file FILE *f = fopen(path, "re");
    if (!f)
        return err_sys(e, errno, "tracefs: %s", path);
    cleanup_free char *line = NULL;
    size_t cap = 0, n = 0, size = 0;
    struct pagetrace_event *ev = NULL, one;
    while (getline(&line, &cap, f) > 0) {
        unsigned long long in_buffer, written;
        /* "# entries-in-buffer/entries-written: 1720/1720   #P:2": fewer kept than
         * written means the buffer ran over */
        if (line[0] == '#') {
            if (sscanf(line, "# entries-in-buffer/entries-written: %llu/%llu", &in_buffer,
                       &written) == 2 && in_buffer < written)
                *lost = 1;
            continue;
        }
        if (!pagetrace_parse_line(line, &one))
            continue;
        if (n == size) {
            size_t nsize = size ? size * 2 : 1024;
            struct pagetrace_event *p = realloc(ev, nsize * sizeof *p);
            if (!p) {
                free(ev);
                return err_sys(e, ENOMEM, "tracefs");
            }
            ev = p;
            size = nsize;
        }
        ev[n++] = one;
    }
    *evp = ev;
    *np = n;
    return 0;
}

void pagetrace_close(struct pagetrace *t)
{
    if (!t)
        return;
    if (t->dir[0]) {
        struct err ignored = {0};
        (void)put(t, EVENT "/enable", "0", 0, &ignored);
        (void)rmdir(t->dir);
    }
    if (t->helper) {
        close(t->hold);
        waitpid(t->helper, NULL, 0);
    }
    free(t);
}
