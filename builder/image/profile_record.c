/* builder/image/profile_record.c — record what a program reads while it starts (see
 * profile_record.h for the steps and the order of the list). */
#include "image/profile_record.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
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
#include "image/preload.h"
#include "image/sandbox.h"
#include "util/strlist.h"

struct pfile {
    char *path;              /* image path "/usr/bin/x" */
    dev_t dev;
    ino_t ino;
    uint64_t size;
    int64_t atime_ns;        /* after the run */
    int first;               /* the entrypoint */
    struct preload_range *ranges;
    size_t nranges;
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
    f->size = (uint64_t)st->st_size;
    w->n++;
    return 0;
}

static void walk_free(struct pwalk *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->files[i].path);
        free(w->files[i].ranges);
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


/* Resident ranges of the files, in first-use order, as list text. */
static int build_list(struct pwalk *w, const char *root, long entry, uint64_t quantum,
                      char **text, size_t *len, uint64_t *files, uint64_t *bytes, struct err *e)
{
    struct preload_list l = {0};
    int rc = 0;
    for (size_t i = 0; i < w->n; i++) {
        struct pfile *f = &w->files[i];
        char host[PATH_MAX * 2];
        struct stat st;
        snprintf(host, sizeof host, "%s%s", root, f->path);
        if (lstat(host, &st) == 0)
            f->atime_ns = (int64_t)st.st_atim.tv_sec * 1000000000 + st.st_atim.tv_nsec;
        f->first = (long)i == entry;
        (void)resident(root, f, 1);
    }
    qsort(w->files, w->n, sizeof *w->files, order_cmp);
    for (size_t i = 0; i < w->n && rc == 0; i++) {
        const struct pfile *f = &w->files[i];
        if (f->nranges && strpbrk(f->path, " \t\r\n")) {
            fprintf(stderr, "armlet: profile: %s: a path with spaces cannot be listed, skipped\n",
                    f->path);
            continue;
        }
        for (size_t j = 0; j < f->nranges && rc == 0; j++) {
            /* Quantised outward to whole quanta (within the file): a page more or less,
             * as cold runs differ, then does not change the list, nor the image digest. */
            uint64_t off = f->ranges[j].off, end = off + f->ranges[j].len;
            if (quantum > 1) {
                off -= off % quantum;
                end = end % quantum ? end + (quantum - end % quantum) : end;
                if (end > f->size)
                    end = f->size;
            }
            rc = preload_list_add(&l, f->path, off, end - off, e);
        }
    }
    if (rc == 0) {
        preload_list_merge(&l);
        *files = l.nfiles;
        *bytes = preload_list_bytes(&l);
        rc = preload_list_format(&l, text, len, e);
    }
    preload_list_free(&l);
    return rc;
}

/* What an interrupted run (SIGINT, SIGTERM, SIGHUP) must undo: the device's
 * read_ahead_kb and the program's process group. These stay file-scope globals on
 * purpose, unlike the walk's state: a signal handler gets no user pointer, so they are
 * its only way to reach them, and it reads them in async-signal context (set before the
 * handler can fire, pid as sig_atomic_t). on_signal only makes syscalls. */
static char undo_ra_path[128], undo_ra_value[24];
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

static int record(struct pwalk *w, const char *root, char **prog, const struct profile_opts *o,
                  char **text, size_t *len, struct err *e)
{
    uint64_t files = 0, bytes = 0;
    if (walk_root(w, root, e) < 0)
        return ERR;
    long entry = find_program(w, root, prog[0]);
    if (entry < 0)
        return err_set(e, "%s: no program %s in it", root, prog[0]);

    if (o->entry_only) {
        struct preload_list l = {0};
        char host[PATH_MAX * 2];
        snprintf(host, sizeof host, "%s%s", root, w->files[entry].path);
        int rc = preload_entrypoint(&l, w->files[entry].path, host, e);
        if (rc == 0) {
            preload_list_merge(&l);
            rc = preload_list_split(&l, PRELOAD_CHUNK_BYTES, e);
        }
        if (rc == 0)
            rc = preload_list_format(&l, text, len, e);
        preload_list_free(&l);
        return rc;
    }

    /* Eviction re-stamps every file's atime and empties its cache: never on the host's
     * own root. */
    struct stat rs, hs;
    if (stat(*root ? root : "/", &rs) == 0 && stat("/", &hs) == 0 && rs.st_dev == hs.st_dev &&
        rs.st_ino == hs.st_ino)
        return err_set(e, "%s is the host's root: profile an unpacked rootfs "
                       "(armlet build --rootfs DIR)", *root ? root : "/");

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
    long left = evict(w, root, o->drop_caches);
    if (left > 0 && o->require_evicted) {
        if (ra_old >= 0)
            readahead_swap(ra_path, ra_old);
        undo_ra_len = 0;
        return err_set(e, "%ld pages of %s stay resident after eviction (mapped by a running "
                       "program, or not a disk filesystem): the list would not be what the "
                       "program reads", left, root);
    }
    if (left > 0)
        fprintf(stderr, "armlet: profile: %ld pages of %s stay resident after eviction "
                "(mapped by a running program, or not a disk filesystem)\n", left, root);
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    struct sandbox_opts so = {.root = *root ? root : "/", .argv = prog,
                              .envp = o->env.n ? o->env.v : NULL, .uid = o->uid,
                              .gid = o->gid, .workdir = o->workdir};
    pid_t pid = sandbox_start(&so, e);
    if (pid < 0) {
        if (ra_old >= 0)
            readahead_swap(ra_path, ra_old);
        undo_ra_len = 0;
        return ERR;
    }
    undo_pid = pid;

    /* The program has a network of its own: the readiness check runs in it. */
    int host_net = -1;
    if (o->url && sandbox_enter_net(pid, &host_net, e) < 0) {
        stop_program(pid);
        if (ra_old >= 0)
            readahead_swap(ra_path, ra_old);
        undo_pid = 0;
        undo_ra_len = 0;
        return ERR;
    }
    CURL *c = o->url ? curl_easy_init() : NULL;
    int ready = !o->url, exited = 0, status = 0;
    int64_t limit = t0 + (int64_t)(o->seconds * 1e9);
    while (now_ns(CLOCK_MONOTONIC) < limit) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = 1;
            break;
        }
        if (c && url_answers(c, o->url)) {
            ready = 1;
            break;
        }
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    if (c)
        curl_easy_cleanup(c);
    sandbox_leave_net(host_net);
    int64_t t_ready = now_ns(CLOCK_MONOTONIC);

    int rc = build_list(w, root, entry, o->quantum, text, len, &files, &bytes, e);
    if (!exited)
        stop_program(pid);
    undo_pid = 0;
    if (ra_old >= 0)
        readahead_swap(ra_path, ra_old);
    undo_ra_len = 0;
    if (rc < 0)
        return ERR;
    if (o->url && !ready)
        return err_set(e, "%s %s before %s answered", prog[0],
                       exited ? "exited" : "timed out", o->url);
    fprintf(stderr, "armlet: profile: %llu files, %llu bytes resident %s after %.0f ms\n",
            (unsigned long long)files, (unsigned long long)bytes,
            o->url ? "when the URL answered" : exited ? "when the program exited" : "",
            (double)(t_ready - t0) / 1e6);
    return 0;
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
    int lock = -1;
    if (!o->entry_only && o->readahead_kb >= 0) {
        lock = open(access("/run/lock", W_OK) == 0 ? "/run/lock/armlet-profile.lock"
                                                   : "/tmp/armlet-profile.lock",
                    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0) {
            fprintf(stderr, "armlet: profile: waiting for another profile run to finish\n");
            (void)flock(lock, LOCK_EX);
        }
    }
    int rc = record(&w, rootp, prog, o, text, len, e);
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
