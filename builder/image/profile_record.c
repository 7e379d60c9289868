/* builder/image/profile_record.c — record what a program reads while it starts (see
 * profile_record.h for the steps and the order of the list). */
#include "image/profile_record.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "armlet_shared.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "image/elfcheck.h"
#include "image/preload.h"
#include "image/pagetrace.h"
#include "image/sandbox.h"
#include "image/touch_order.h"
#include "util/strlist.h"

struct pfile {
    char *path;              /* image path "/usr/bin/x" */
    dev_t dev;
    ino_t ino;
    uint64_t size;
    int64_t atime_ns;        /* after the run */
    int first;               /* the entrypoint */
    struct preload_range *ranges;    /* the last run's resident pages, offset order */
    size_t nranges;
    unsigned char *votes;    /* stable: per quantum, the runs it was dense in */
    int group;               /* stable: entrypoint, interpreter, libraries, others */
    size_t idx;              /* its index in the walk (touch_order's file number) */
    struct preload_range *sel;   /* what the list reads of it, offset order */
    size_t nsel;
};

/* Every regular file of the image root, as the walk found it; owned by cmd_profile,
 * passed to each step, freed by walk_free. */
struct pwalk {
    struct pfile *files;
    size_t n, cap;
    size_t rootlen;          /* strlen(root): host path = root + image path */
    int failed;              /* errno that stopped the walk, or 0 */
};

/* nftw has no user pointer: walk_root points this at its struct pwalk for the length of
 * the nftw call only (one walk at a time; the builder walks from one thread). */
static struct pwalk *walk_into;


static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    struct pwalk *w = walk_into;
    if (type != FTW_F || !S_ISREG(st->st_mode))
        return 0;
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 256;
        struct pfile *p = realloc(w->files, ncap * sizeof *p);
        if (!p) {
            w->failed = ENOMEM;
            return 1;
        }
        w->files = p;
        w->cap = ncap;
    }
    struct pfile *f = &w->files[w->n];
    memset(f, 0, sizeof *f);
    const char *rel = path + w->rootlen;
    if (!(f->path = *rel == '/' ? strdup(rel) : NULL)) {
        w->failed = ENOMEM;
        return 1;
    }
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->idx = w->n;
    f->size = (uint64_t)st->st_size;
    w->n++;
    return 0;
}

static void walk_free(struct pwalk *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->files[i].path);
        free(w->files[i].ranges);
        free(w->files[i].votes);
        free(w->files[i].sel);
    }
    free(w->files);
    w->files = NULL;
    w->n = w->cap = 0;
}

/* Every regular file under root (not crossing mounts), into w->files. */
static int walk_root(struct pwalk *w, const char *root, struct err *e)
{
    /* root has no trailing '/' ("" for the host's "/"): host path = root + image path */
    w->rootlen = strlen(root);
    w->failed = 0;
    walk_into = w;
    int rc = nftw(*root ? root : "/", walk_cb, 32, FTW_PHYS | FTW_MOUNT);
    int saved = errno;
    walk_into = NULL;
    if (rc != 0 || w->failed)
        return err_sys(e, w->failed ? w->failed : saved, "%s", root);
    return 0;
}

/* Count resident pages of file f (host path root+f->path); with record, also keep them
 * as f->ranges. Returns pages, or -1 when the file cannot be mapped. */
static long resident(const char *root, struct pfile *f, int record)
{
    char host[PATH_MAX * 2];
    snprintf(host, sizeof host, "%s%s", root, f->path);
    if (f->size == 0)
        return 0;
    /* O_NOATIME: mmap would stamp the atime that orders the list (EPERM when we do not
     * own the file and are not root: then without) */
    int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    cleanup_close int fd = open(host, flags | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = open(host, flags);
    if (fd < 0)
        return -1;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), npages = (f->size + page - 1) / page;
    void *map = mmap(NULL, (size_t)f->size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return -1;
    cleanup_free unsigned char *vec = malloc(npages);
    long count = 0;
    if (vec && mincore(map, (size_t)f->size, vec) == 0) {
        for (size_t i = 0; i < npages;) {
            if (!(vec[i] & 1)) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < npages && (vec[j] & 1))
                j++;
            count += (long)(j - i);
            if (record) {
                struct preload_range *r = realloc(f->ranges, (f->nranges + 1) * sizeof *r);
                if (r) {
                    uint64_t off = (uint64_t)i * page, end = (uint64_t)j * page;
                    f->ranges = r;
                    f->ranges[f->nranges++] =
                        (struct preload_range){off, (end > f->size ? f->size : end) - off};
                }
            }
            i = j;
        }
    } else {
        count = -1;
    }
    munmap(map, (size_t)f->size);
    return count;
}

/* Sync, drop from the cache and set atime to 0 (mtime kept) for every file. Returns the
 * pages still resident afterwards (mapped by running programs, or a tmpfs). */
static long evict(const struct pwalk *w, const char *root, int drop_caches)
{
    char host[PATH_MAX * 2];
    long left = 0;
    for (size_t i = 0; i < w->n; i++) {
        snprintf(host, sizeof host, "%s%s", root, w->files[i].path);
        int fd = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
            continue;
        const struct timespec ts[2] = {{0, 0}, {0, UTIME_OMIT}};
        (void)futimens(fd, ts);
        if (!drop_caches) {
            (void)fdatasync(fd);
            (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        }
        close(fd);
    }
    if (drop_caches) {
        sync();
        int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "3\n", 2) != 2)
            fprintf(stderr, "armlet: profile: /proc/sys/vm/drop_caches: %s\n", strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    for (size_t i = 0; i < w->n; i++) {
        long n = resident(root, &w->files[i], 0);
        if (n > 0)
            left += n;
    }
    return left;
}

/* The file the program path resolves to inside root (symlinks followed as the chroot
 * would), as an index into w->files, or -1. Bare names are looked up in a default PATH. */
static long find_program(const struct pwalk *w, const char *root, const char *prog)
{
    static const char *const dirs[] = {"", "/usr/local/sbin/", "/usr/local/bin/", "/usr/sbin/",
                                       "/usr/bin/", "/sbin/", "/bin/"};
    cleanup_close int rootfd = open(*root ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return -1;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        if ((d == 0) != (prog[0] == '/' || strchr(prog, '/') != NULL))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s%s", dirs[d], prog);
        struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
        int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
        if (fd < 0)
            continue;
        struct stat st;
        int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
        close(fd);
        for (size_t i = 0; ok && i < w->n; i++)
            if (w->files[i].dev == st.st_dev && w->files[i].ino == st.st_ino)
                return (long)i;
    }
    return -1;
}

static int order_cmp(const void *a, const void *b)
{
    const struct pfile *x = a, *y = b;
    if (x->first != y->first)
        return y->first - x->first;
    int xt = x->atime_ns > 0, yt = y->atime_ns > 0;
    if (xt != yt)
        return yt - xt;
    if (xt && x->atime_ns != y->atime_ns)
        return x->atime_ns < y->atime_ns ? -1 : 1;
    return strcmp(x->path, y->path);
}

static size_t discard(char *ptr, size_t size, size_t n, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * n;
}

/* 1 when url answers with any HTTP response. */
static int url_answers(CURL *c, const char *url)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    return curl_easy_perform(c) == CURLE_OK;
}

/* The program is PID 1 of its PID namespace: SIGKILL to it ends everything it started
 * (a SIGTERM from outside would be ignored by a PID 1 without a handler). */
static void stop_program(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}


/* 1 when every thread of process n is stopped (state T or t in /proc/N/task/T/stat), or
 * gone. */
static int all_threads_stopped(const char *n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%.16s/task", n);
    DIR *d = opendir(path);
    if (!d)
        return 1;
    int stopped = 1;
    for (struct dirent *t; stopped && (t = readdir(d));) {
        if (t->d_name[0] == '.')
            continue;
        char sp[96], buf[256];
        snprintf(sp, sizeof sp, "/proc/%.16s/task/%.16s/stat", n, t->d_name);
        int fd = open(sp, O_RDONLY | O_CLOEXEC);
        ssize_t k = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (k <= 0)
            continue;
        buf[k] = '\0';
        const char *rp = strrchr(buf, ')');   /* "PID (comm) S ...": comm may hold spaces */
        stopped = rp && rp[1] == ' ' && (rp[2] == 'T' || rp[2] == 't' || rp[2] == 'Z' ||
                                         rp[2] == 'X');
    }
    closedir(d);
    return stopped;
}

/* Freeze everything in pid's PID namespace (SIGSTOP to each process whose
 * /proc/N/ns/pid is pid's; allowed from the parent namespace even for its PID 1) and wait,
 * at most about a second, until all their threads are stopped: the scan then sees the
 * pages touched up to readiness, not whatever the program goes on doing while mincore
 * walks the files (a source of differences between recordings, docs/README-coldstart.md).
 * Returns the number of processes stopped. */
static int freeze_program(pid_t pid)
{
    char path[64], ns[64], other[64];
    snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
    ssize_t nl = readlink(path, ns, sizeof ns - 1);
    if (nl <= 0)
        return 0;
    ns[nl] = '\0';
    int frozen = 0;
    for (int pass = 0; pass < 100; pass++) {
        DIR *d = opendir("/proc");
        if (!d)
            return frozen;
        int waiting = 0;
        for (struct dirent *de; (de = readdir(d));) {
            if (de->d_name[0] < '1' || de->d_name[0] > '9')
                continue;
            snprintf(path, sizeof path, "/proc/%.16s/ns/pid", de->d_name);
            ssize_t ol = readlink(path, other, sizeof other - 1);
            if (ol != nl || memcmp(other, ns, (size_t)nl) != 0)
                continue;
            if (pass == 0) {
                kill((pid_t)atoi(de->d_name), SIGSTOP);
                frozen++;
            }
            waiting += !all_threads_stopped(de->d_name);
        }
        closedir(d);
        if (!waiting)
            break;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    return frozen;
}

/* Each file's resident pages as its ranges (offset order) and its atime, after a run;
 * the ranges of an earlier run are dropped first. */
static void scan_files(struct pwalk *w, const char *root, long entry)
{
    for (size_t i = 0; i < w->n; i++) {
        struct pfile *f = &w->files[i];
        char host[PATH_MAX * 2];
        struct stat st;
        snprintf(host, sizeof host, "%s%s", root, f->path);
        if (lstat(host, &st) == 0)
            f->atime_ns = (int64_t)st.st_atim.tv_sec * 1000000000 + st.st_atim.tv_nsec;
        f->first = (long)i == entry;
        free(f->ranges);
        f->ranges = NULL;
        f->nranges = 0;
        (void)resident(root, f, 1);
    }
}

/* 0 (with a warning) for a file the list reads whose path it cannot hold. */
static int listable(const struct pfile *f)
{
    if (f->nsel && strpbrk(f->path, " \t\r\n")) {
        fprintf(stderr, "armlet: profile: %s: a path with spaces cannot be listed, skipped\n",
                f->path);
        return 0;
    }
    return 1;
}

/* Append [off, end) to f's selection, joined to the last range when they touch. */
static int select_add(struct pfile *f, uint64_t off, uint64_t end, struct err *e)
{
    if (f->nsel && f->sel[f->nsel - 1].off + f->sel[f->nsel - 1].len >= off) {
        struct preload_range *last = &f->sel[f->nsel - 1];
        if (end > last->off + last->len)
            last->len = end - last->off;
        return 0;
    }
    struct preload_range *r = realloc(f->sel, (f->nsel + 1) * sizeof *r);
    if (!r)
        return err_set(e, "out of memory");
    f->sel = r;
    f->sel[f->nsel++] = (struct preload_range){off, end - off};
    return 0;
}

/* One run: the resident ranges, rounded outward to `quantum` bytes (within the file). */
static int select_run(struct pfile *f, uint64_t quantum, struct err *e)
{
    for (size_t j = 0; j < f->nranges; j++) {
        uint64_t off = f->ranges[j].off, end = off + f->ranges[j].len;
        if (quantum > 1) {
            off -= off % quantum;
            end = end % quantum ? end + (quantum - end % quantum) : end;
            if (end > f->size)
                end = f->size;
        }
        if (select_add(f, off, end, e) < 0)
            return ERR;
    }
    return 0;
}

/* Several runs: the quanta voted in by more than half of `runs` runs (any_run: by any). */
static int select_voted(struct pfile *f, uint64_t quantum, int runs, int any_run,
                        struct err *e)
{
    size_t nq = (size_t)((f->size + quantum - 1) / quantum);
    for (size_t q = 0; f->votes && q < nq; q++) {
        uint64_t off = q * quantum, end = off + quantum > f->size ? f->size : off + quantum;
        int in = any_run ? f->votes[q] > 0 : f->votes[q] * 2 > runs;
        if (in && select_add(f, off, end, e) < 0)
            return ERR;
    }
    return 0;
}

/* Every file's selection, files in the order w->files has. */
static int emit_by_file(const struct pwalk *w, struct preload_list *l, struct err *e)
{
    for (size_t i = 0; i < w->n; i++) {
        const struct pfile *f = &w->files[i];
        if (!listable(f))
            continue;
        for (size_t j = 0; j < f->nsel; j++)
            if (preload_list_add(l, f->path, f->sel[j].off, f->sel[j].len, e) < 0)
                return ERR;
    }
    return 0;
}

struct block_item {
    const struct pfile *f;
    uint64_t block;
    float rank;
};

/* First touch first; blocks no traced run touched (the trace lost them) after all the
 * others, in the fixed order: group, path, offset. */
static int block_cmp(const void *a, const void *b)
{
    const struct block_item *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->f->group != y->f->group)
        return x->f->group - y->f->group;
    int c = strcmp(x->f->path, y->f->path);
    return c ? c : x->block < y->block ? -1 : x->block > y->block;
}

/* Every file's selection in blocks of touch_order_block(t) bytes, the blocks in the order
 * the traced runs first touched them (touch_order.h). Blocks of one file in a row form
 * one entry of the list; a file touched again later gets another. */
static int emit_by_touch(const struct pwalk *w, const struct touch_order *t,
                         struct preload_list *l, struct err *e)
{
    uint64_t bs = touch_order_block(t);
    size_t n = 0, cap = 0;
    cleanup_free struct block_item *items = NULL;
    for (size_t i = 0; i < w->n; i++) {
        const struct pfile *f = &w->files[i];
        uint64_t last = UINT64_MAX;
        if (!listable(f))
            continue;
        for (size_t j = 0; j < f->nsel; j++) {
            uint64_t end = f->sel[j].off + f->sel[j].len;
            for (uint64_t b = f->sel[j].off / bs; b * bs < end; b++) {
                if (b == last)
                    continue;
                if (n == cap) {
                    size_t ncap = cap ? cap * 2 : 256;
                    struct block_item *p = realloc(items, ncap * sizeof *p);
                    if (!p)
                        return err_set(e, "out of memory");
                    items = p;
                    cap = ncap;
                }
                items[n++] = (struct block_item){f, b, touch_order_rank(t, f->idx, b)};
                last = b;
            }
        }
    }
    qsort(items, n, sizeof *items, block_cmp);
    for (size_t k = 0; k < n; k++) {
        const struct pfile *f = items[k].f;
        uint64_t lo = items[k].block * bs, hi = lo + bs;
        for (size_t j = 0; j < f->nsel; j++) {
            uint64_t off = f->sel[j].off, end = off + f->sel[j].len;
            off = off > lo ? off : lo;
            end = end < hi ? end : hi;
            if (off < end && preload_list_add(l, f->path, off, end - off, e) < 0)
                return ERR;
        }
    }
    return 0;
}

/* The last run's resident ranges as list: in first-touch order when traced, else files
 * in first-use order (order_cmp). */
static int one_run_list(struct pwalk *w, uint64_t quantum, const struct touch_order *t,
                        struct preload_list *l, struct err *e)
{
    qsort(w->files, w->n, sizeof *w->files, order_cmp);
    for (size_t i = 0; i < w->n; i++) {
        w->files[i].group = 0;
        if (select_run(&w->files[i], quantum, e) < 0)
            return ERR;
    }
    return t ? emit_by_touch(w, t, l, e) : emit_by_file(w, l, e);
}

/* One run's vote for each quantum of each file: a quantum votes "in" when at least half
 * of its pages (those within the file) were resident. A quantum only partly touched is
 * where runs differ (a Go runtime touches scattered pages of .rodata and .gopclntab
 * depending on timing), so a sparse one stays out in every run rather than flip.
 * any_run: a quantum votes "in" when any of its pages was resident (full coverage). */
static int vote_add(struct pwalk *w, uint64_t quantum, int any_run, struct err *e)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < w->n; i++) {
        struct pfile *f = &w->files[i];
        size_t nq = (size_t)((f->size + quantum - 1) / quantum);
        if (!f->nranges || !nq)
            continue;
        if (!f->votes && !(f->votes = calloc(nq, 1)))
            return err_set(e, "out of memory");
        cleanup_free uint32_t *pages = calloc(nq, sizeof *pages);
        if (!pages)
            return err_set(e, "out of memory");
        for (size_t j = 0; j < f->nranges; j++)
            for (uint64_t p = f->ranges[j].off; p < f->ranges[j].off + f->ranges[j].len;
                 p += page)
                pages[p / quantum]++;
        for (size_t q = 0; q < nq; q++) {
            uint64_t bytes = f->size - q * quantum < quantum ? f->size - q * quantum : quantum;
            uint64_t in_file = (bytes + page - 1) / page;
            if ((any_run ? pages[q] > 0 : pages[q] * 2 >= in_file) && f->votes[q] < UCHAR_MAX)
                f->votes[q]++;
        }
    }
    return 0;
}

/* Deterministic order of the voted list: the entrypoint, its ELF interpreter, shared
 * libraries (".so" names), then every other file; within a group by path. Timestamps
 * (the first-use order of one run) are left out: files read within one tick of the
 * kernel's clock tie, and which tick a read falls in differs from run to run. */
static int group_of(const struct pfile *f, long idx, long interp)
{
    if (f->first)
        return 0;
    if (idx == interp)
        return 1;
    const char *base = strrchr(f->path, '/'), *so = strstr(base ? base : f->path, ".so");
    return so && (so[3] == '\0' || so[3] == '.') ? 2 : 3;
}

static int stable_cmp(const void *a, const void *b)
{
    const struct pfile *x = a, *y = b;
    if (x->group != y->group)
        return x->group - y->group;
    return strcmp(x->path, y->path);
}

/* The quanta voted in by more than half of `runs` runs (any_run: by any run): in
 * first-touch order when traced, else in the deterministic order (stable_cmp). */
static int voted_list(struct pwalk *w, long entry, long interp, uint64_t quantum, int runs,
                      int any_run, const struct touch_order *t, struct preload_list *l,
                      struct err *e)
{
    for (size_t i = 0; i < w->n; i++) {
        w->files[i].first = (long)i == entry;
        w->files[i].group = group_of(&w->files[i], (long)i, interp);
    }
    qsort(w->files, w->n, sizeof *w->files, stable_cmp);
    for (size_t i = 0; i < w->n; i++)
        if (select_voted(&w->files[i], quantum, runs, any_run, e) < 0)
            return ERR;
    return t ? emit_by_touch(w, t, l, e) : emit_by_file(w, l, e);
}

/* The list as text; files with spaces in their path are left out (the format splits on
 * them), with a warning. */
static int list_text(struct preload_list *l, char **text, size_t *len, uint64_t *files,
                     uint64_t *bytes, struct err *e)
{
    if (preload_list_merge(l, e) < 0)
        return ERR;
    /* files, not entries: in first-touch order a file can have several */
    *files = 0;
    for (size_t i = 0; i < l->nfiles; i++) {
        size_t j = 0;
        while (j < i && strcmp(l->files[j].path, l->files[i].path) != 0)
            j++;
        *files += j == i;
    }
    *bytes = preload_list_bytes(l);
    return preload_list_format(l, text, len, e);
}

/* What an interrupted run (SIGINT, SIGTERM, SIGHUP) must undo: the device's
 * read_ahead_kb and the program's process group. These stay file-scope globals on
 * purpose, unlike the walk's state: a signal handler gets no user pointer, so they are
 * its only way to reach them, and it reads them in async-signal context (set before the
 * handler can fire, pid as sig_atomic_t). on_signal only makes syscalls. */
static char undo_ra_path[128], undo_ra_value[24], undo_trace_dir[192];
static size_t undo_ra_len;
static volatile sig_atomic_t undo_pid;

static void on_signal(int sig)
{
    if (undo_ra_len) {
        int fd = open(undo_ra_path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            (void)!write(fd, undo_ra_value, undo_ra_len);
            close(fd);
        }
    }
    if (undo_pid > 0)
        kill(-undo_pid, SIGKILL);
    if (undo_trace_dir[0])
        (void)rmdir(undo_trace_dir);   /* tracefs keeps an instance until it is removed */
    _exit(128 + sig);
}

static void undo_on_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}


/* The writable read_ahead_kb file of the block device that holds root, or "" (no block
 * device: tmpfs, overlay...; or not root). */
static void readahead_file(const char *root, char *path, size_t n)
{
    /* a whole disk has queue/ itself; a partition's is in its parent disk's folder */
    static const char *const sub[] = {"queue/read_ahead_kb", "../queue/read_ahead_kb"};
    struct stat st;
    if (stat(*root ? root : "/", &st) == 0 && major(st.st_dev) != 0)
        for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
            snprintf(path, n, "/sys/dev/block/%u:%u/%s", major(st.st_dev), minor(st.st_dev),
                     sub[i]);
            if (access(path, W_OK) == 0)
                return;
        }
    path[0] = '\0';
}

/* Write kb to a read_ahead_kb file; returns the value it had, or -1. */
static long readahead_swap(const char *path, long kb)
{
    long old = -1;
    FILE *f = fopen(path, "r+");
    if (!f)
        return -1;
    if (fscanf(f, "%ld", &old) != 1 || fseek(f, 0, SEEK_SET) != 0 || fprintf(f, "%ld\n", kb) < 0)
        old = -1;
    if (fclose(f) != 0)
        old = -1;
    return old;
}

/* A Go program's runtime does timing-dependent work while it starts (garbage collection
 * scans stacks through .gopclntab, asynchronous preemption looks up the interrupted PC,
 * several Ps run goroutines in varying order), touching scattered pages that differ from
 * run to run. For a recording run only, env gets GOMAXPROCS=1, GOGC=off and
 * asyncpreemptoff=1 added to GODEBUG (the recipe's own values of the first two replaced):
 * measured on Debian's docker-registry, pages touched by some but not all of 10 runs fell
 * from 296 to 89 (docs/README-coldstart.md). */
static int go_quiet_env(const struct strlist *in, struct strlist *out, struct err *e)
{
    const char *godebug = NULL;
    for (size_t i = 0; i < in->n; i++) {
        const char *s = in->v[i];
        if (!strncmp(s, "GODEBUG=", 8)) {
            godebug = s + 8;
            continue;
        }
        if (!strncmp(s, "GOMAXPROCS=", 11) || !strncmp(s, "GOGC=", 5))
            continue;
        if (strlist_add(out, s, e) < 0)
            return ERR;
    }
    if (strlist_add(out, "GOMAXPROCS=1", e) < 0 || strlist_add(out, "GOGC=off", e) < 0)
        return ERR;
    if (godebug && *godebug)
        return strlist_addf(out, e, "GODEBUG=%s,asyncpreemptoff=1", godebug);
    return strlist_add(out, "GODEBUG=asyncpreemptoff=1", e);
}

/* The first-touch order of the runs, when this kernel can trace (pagetrace.h). */
struct touch_rec {
    struct pagetrace *trace;
    struct touch_order *order;
};

static void touch_drop(struct touch_rec *tr)
{
    pagetrace_close(tr->trace);
    touch_order_free(tr->order);
    tr->trace = NULL;
    tr->order = NULL;
    undo_trace_dir[0] = '\0';
}

/* Go on without the order (files in the fixed order), saying why. */
static void touch_fail(struct touch_rec *tr, const char *why)
{
    fprintf(stderr, "armlet: profile: no first-touch order (%s): files in a fixed order\n", why);
    touch_drop(tr);
}

/* Set up tracing for the device of root, ranks in blocks of PRELOAD_CHUNK_BYTES (or of the
 * quantum when larger: one read of the init each). Without it the list keeps the fixed
 * order, and says why. */
static void touch_open(struct touch_rec *tr, const struct pwalk *w, const char *root,
                       uint64_t quantum)
{
    struct stat st;
    struct err e = {0};
    memset(tr, 0, sizeof *tr);
    uint64_t block = quantum > PRELOAD_CHUNK_BYTES
                         ? quantum : PRELOAD_CHUNK_BYTES - PRELOAD_CHUNK_BYTES % quantum;
    cleanup_free uint64_t *inos = calloc(w->n ? w->n : 1, sizeof *inos);
    cleanup_free uint64_t *sizes = calloc(w->n ? w->n : 1, sizeof *sizes);
    if (!inos || !sizes) {
        err_set(&e, "out of memory");
    } else if (stat(*root ? root : "/", &st) < 0) {
        err_sys(&e, errno, "%s", root);
    } else if (pagetrace_open(&tr->trace, st.st_dev, &e) == 0) {
        snprintf(undo_trace_dir, sizeof undo_trace_dir, "%s", pagetrace_dir(tr->trace));
        for (size_t i = 0; i < w->n; i++) {
            inos[w->files[i].idx] = (uint64_t)w->files[i].ino;
            sizes[w->files[i].idx] = w->files[i].size;
        }
        tr->order = touch_order_new(w->n, inos, sizes, block, &e);
    }
    if (!tr->order)
        touch_fail(tr, e.msg);
}

/* After a run: its insertions into the ranks; a trace that fails drops the order. */
static void touch_end(struct touch_rec *tr)
{
    struct pagetrace_event *ev = NULL;
    size_t n = 0;
    int lost = 0;
    struct err e = {0};
    if (!tr->trace)
        return;
    if (pagetrace_stop(tr->trace, &ev, &n, &lost, &e) < 0 || lost) {
        free(ev);
        touch_fail(tr, lost ? "the trace buffer ran over" : e.msg);
        return;
    }
    touch_order_add_run(tr->order, ev, n);
    free(ev);
}

struct run_result {
    int ready, exited;
    double ms;             /* from the start to readiness (or the limit, or the exit) */
};

/* One recording run: evict, run the program in the sandbox until ready (or exited, or
 * the limit), freeze it, scan every file's resident pages (scan_files), kill it. */
static int run_once(struct pwalk *w, const char *root, char **prog,
                    const struct profile_opts *o, char **envp, long entry, int first_run,
                    struct touch_rec *tr, struct run_result *res, struct err *e)
{
    memset(res, 0, sizeof *res);
    /* After a run a page can stay referenced a while: a file the server sent with
     * sendfile() is held by socket buffers until the dead network namespace is cleaned
     * up (asynchronously; seen here as one page of busybox httpd's health file, still
     * there after 5 s in 2 builds of 8). Try again for about 0.5 s, then go on. */
    long left = evict(w, root, o->drop_caches);
    for (int tries = 0; left > 0 && tries < 5; tries++) {
        nanosleep(&(struct timespec){0, 100000000}, NULL);
        left = evict(w, root, o->drop_caches);
    }
    if (left > 0 && o->require_evicted && !first_run) {
        /* the tree was evicted before the first run, so this is what a run left
         * behind: those pages count as read in the next run; the vote still decides */
        fprintf(stderr, "armlet: profile: %ld pages left resident by the previous run\n", left);
        left = 0;
    }
    if (left > 0 && o->require_evicted)
        return err_set(e, "%ld pages of %s stay resident after eviction (mapped by a running "
                       "program, or not a disk filesystem): the list would not be what the "
                       "program reads", left, root);
    if (left > 0)
        fprintf(stderr, "armlet: profile: %ld pages of %s stay resident after eviction "
                "(mapped by a running program, or not a disk filesystem)\n", left, root);
    struct err te = {0};
    if (tr->trace && pagetrace_start(tr->trace, &te) < 0)
        touch_fail(tr, te.msg);
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    struct sandbox_opts so = {.root = *root ? root : "/", .argv = prog, .envp = envp,
                              .uid = o->uid, .gid = o->gid, .workdir = o->workdir};
    pid_t pid = sandbox_start(&so, e);
    if (pid < 0)
        return ERR;      /* (record() ends the trace) */
    undo_pid = pid;

    /* The program has a network of its own: the readiness check runs in it. */
    int host_net = -1;
    if (o->url && sandbox_enter_net(pid, &host_net, e) < 0) {
        stop_program(pid);
        undo_pid = 0;
        return ERR;
    }
    CURL *c = o->url ? curl_easy_init() : NULL;
    int status = 0;
    res->ready = !o->url;
    int64_t limit = t0 + (int64_t)(o->seconds * 1e9);
    while (now_ns(CLOCK_MONOTONIC) < limit) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            res->exited = 1;
            break;
        }
        if (c && url_answers(c, o->url)) {
            res->ready = 1;
            break;
        }
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    if (c)
        curl_easy_cleanup(c);
    sandbox_leave_net(host_net);
    res->ms = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e6;
    if (!res->exited)
        (void)freeze_program(pid);
    touch_end(tr);
    scan_files(w, root, entry);
    if (!res->exited)
        stop_program(pid);
    undo_pid = 0;
    return 0;
}

/* What can be refused without running anything: done before the host-wide lock, so a
 * wrong call fails at once rather than after someone else's recording. *entry: the
 * program's index in the walk. */
static int record_check(struct pwalk *w, const char *root, char **prog,
                        const struct profile_opts *o, long *entry, struct err *e)
{
    /* Eviction re-stamps every file's atime and empties its cache: never on the host's
     * own root. Checked before the walk, which on the host's root would read every
     * folder of the machine (17 s here) only to be refused. */
    struct stat rs, hs;
    if (!o->entry_only && stat(*root ? root : "/", &rs) == 0 && stat("/", &hs) == 0 &&
        rs.st_dev == hs.st_dev && rs.st_ino == hs.st_ino)
        return err_set(e, "%s is the host's root: profile an unpacked rootfs "
                       "(armlet build --rootfs DIR)", *root ? root : "/");
    if (walk_root(w, root, e) < 0)
        return ERR;
    *entry = find_program(w, root, prog[0]);
    if (*entry < 0)
        return err_set(e, "%s: no program %s in it", root, prog[0]);
    return 0;
}

static int record(struct pwalk *w, const char *root, char **prog, long entry,
                  const struct profile_opts *o, char **text, size_t *len, struct err *e)
{
    uint64_t files = 0, bytes = 0;
    char host[PATH_MAX * 2];
    snprintf(host, sizeof host, "%s%s", root, w->files[entry].path);

    if (o->entry_only) {
        struct preload_list l = {0};
        int rc = preload_entrypoint(&l, w->files[entry].path, host, e);
        if (rc == 0)
            rc = preload_list_merge(&l, e);
        if (rc == 0)
            rc = preload_list_split(&l, PRELOAD_CHUNK_BYTES, e);
        if (rc == 0)
            rc = preload_list_format(&l, text, len, e);
        preload_list_free(&l);
        return rc;
    }

    struct elf_info info;
    struct err ignored = {0};
    if (elf_read(host, &info, &ignored) < 0)
        memset(&info, 0, sizeof info), info.go_minor = -1;
    long interp = info.interp[0] ? find_program(w, root, info.interp) : -1;
    struct strlist env = {0};
    /* any_run wants every page a real start may touch, timing-dependent ones included:
     * the program runs as it will in the image, without the quieting settings */
    int go = o->stable && !o->any_run && info.go_minor >= 0;
    if (go && go_quiet_env(&o->env, &env, e) < 0) {
        strlist_free(&env);
        return ERR;
    }
    char **envp = go ? env.v : o->env.n ? o->env.v : NULL;
    if (go)
        fprintf(stderr, "armlet: profile: %s is a Go program (%s): recording with "
                "GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1\n", prog[0], info.go_version);

    /* The kernel reads ahead around every page fault (read_ahead_kb, 128 KiB on an SD
     * card, often megabytes on a server disk); mincore cannot tell those pages from the
     * ones the program touched. With readahead off during the run, what is resident is
     * what was touched. */
    char ra_path[128] = "";
    long ra_old = -1;
    if (o->readahead_kb >= 0) {
        readahead_file(root, ra_path, sizeof ra_path);
        undo_on_signals();
        if (ra_path[0] && (ra_old = readahead_swap(ra_path, o->readahead_kb)) >= 0) {
            snprintf(undo_ra_path, sizeof undo_ra_path, "%s", ra_path);
            undo_ra_len = (size_t)snprintf(undo_ra_value, sizeof undo_ra_value, "%ld\n", ra_old);
            fprintf(stderr, "armlet: profile: %s set to %ld during the run (was %ld)\n",
                    ra_path, o->readahead_kb, ra_old);
        } else
            fprintf(stderr, "armlet: profile: cannot set the device's read_ahead_kb: the "
                    "list also holds what the kernel read ahead\n");
    }
    int runs = o->stable && o->runs > 1 ? o->runs : 1, rc = 0;
    uint64_t quantum = o->quantum > 1 ? o->quantum : (uint64_t)sysconf(_SC_PAGESIZE);
    struct run_result res = {0};
    struct touch_rec tr;
    touch_open(&tr, w, root, quantum);
    for (int i = 0; rc == 0 && i < runs; i++) {
        rc = run_once(w, root, prog, o, envp, entry, i == 0, &tr, &res, e);
        if (rc == 0 && o->url && !res.ready)
            rc = err_set(e, "%s %s before %s answered", prog[0],
                         res.exited ? "exited" : "timed out", o->url);
        if (rc == 0) {
            uint64_t pages = 0;
            for (size_t k = 0; k < w->n; k++)
                for (size_t j = 0; j < w->files[k].nranges; j++)
                    pages += w->files[k].ranges[j].len;
            char which[32] = "";
            if (runs > 1)
                snprintf(which, sizeof which, "run %d of %d: ", i + 1, runs);
            fprintf(stderr, "armlet: profile: %s%llu bytes resident%s after %.0f ms\n",
                    which, (unsigned long long)pages,
                    o->url ? " when the URL answered" : res.exited ? " when the program exited"
                                                                   : "",
                    res.ms);
        }
        if (rc == 0 && o->stable)
            rc = vote_add(w, quantum, o->any_run, e);
    }
    if (ra_old >= 0)
        readahead_swap(ra_path, ra_old);
    undo_ra_len = 0;
    strlist_free(&env);
    if (rc < 0) {
        touch_drop(&tr);
        return ERR;
    }
    struct preload_list l = {0};
    rc = o->stable ? voted_list(w, entry, interp, quantum, runs, o->any_run, tr.order, &l, e)
                   : one_run_list(w, o->quantum, tr.order, &l, e);
    touch_drop(&tr);
    if (rc == 0)
        rc = list_text(&l, text, len, &files, &bytes, e);
    size_t entries = l.nfiles;
    preload_list_free(&l);
    if (rc == 0)
        fprintf(stderr, "armlet: profile: list: %llu files in %zu entries, %llu bytes%s\n",
                (unsigned long long)files, entries, (unsigned long long)bytes,
                !o->stable ? ""
                : o->any_run ? " (every page touched in any run)"
                             : " (quanta at least half touched in more than half of the runs)");
    return rc;
}

int profile_record(const char *root, char **prog, const struct profile_opts *o, char **text,
                   size_t *len, struct err *e)
{
    char rootp[PATH_MAX];
    snprintf(rootp, sizeof rootp, "%s", root);
    for (size_t n = strlen(rootp); n > 0 && rootp[n - 1] == '/';)
        rootp[--n] = '\0';
    struct pwalk w = {0};
    *text = NULL;
    *len = 0;
    if (o->url)
        curl_global_init(CURL_GLOBAL_DEFAULT);
    /* One run at a time on this host: each saves the device's read_ahead_kb, sets it, and
     * puts back what it saved, so two overlapping runs would leave the second's saved
     * value (the first's 0) for good. The lock dies with the process. */
    long entry = -1;
    int rc = record_check(&w, rootp, prog, o, &entry, e);
    int lock = -1;
    if (rc == 0 && !o->entry_only && o->readahead_kb >= 0) {
        lock = open(access("/run/lock", W_OK) == 0 ? "/run/lock/armlet-profile.lock"
                                                   : "/tmp/armlet-profile.lock",
                    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0) {
            fprintf(stderr, "armlet: profile: waiting for another profile run to finish\n");
            (void)flock(lock, LOCK_EX);
        }
    }
    if (rc == 0)
        rc = record(&w, rootp, prog, entry, o, text, len, e);
    if (lock >= 0)
        close(lock);
    walk_free(&w);
    if (o->url)
        curl_global_cleanup();
    if (rc < 0) {
        free(*text);
        *text = NULL;
    }
    return rc;
}
