/* init/preload.c — --preload FILE: read ahead what the child is about to fault in.
 *
 * Why a forked helper and posix_fadvise(WILLNEED): see docs/README-coldstart.md for the
 * measurements. In short, WILLNEED (readahead(2) and madvise(WILLNEED) take the same
 * kernel path) only queues the reads and returns, so the whole list is in flight within
 * milliseconds, in list order, in large requests, and the child's own page faults then
 * find the pages already read or in flight. Queuing still costs page allocation and
 * block-layer time (tens of ms for 20 MB, more when the disk queue is full), which is
 * why it runs in a helper process: the init goes straight back to its signal loop.
 *
 * The method can be changed at build time for measurement (tests/bench/bench-coldstart):
 * -DPRELOAD_METHOD=PRELOAD_READ reads each range with pread() (synchronous, the kernel's
 * readahead window ahead), -DPRELOAD_METHOD=PRELOAD_POPULATE maps it with MAP_POPULATE,
 * -DPRELOAD_HELPER=0 does the work in the init itself right after the fork,
 * -DPRELOAD_NICE=0 keeps the helper at the init's CPU priority (default 19: the child
 * wins a contended core; the helper runs while the child waits on the disk),
 * -DPRELOAD_CHUNK=N splits each range into fadvise calls of N bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "armlet_shared.h"
#include "preload.h"
#include "util.h"

#define PRELOAD_FADVISE  1
#define PRELOAD_READ     2
#define PRELOAD_POPULATE 3
#ifndef PRELOAD_METHOD
#define PRELOAD_METHOD PRELOAD_FADVISE
#endif
#ifndef PRELOAD_HELPER
#define PRELOAD_HELPER 1
#endif
#ifndef PRELOAD_NICE
#define PRELOAD_NICE 19
#endif
#ifndef PRELOAD_CHUNK
#define PRELOAD_CHUNK 0        /* bytes per fadvise call; 0: the whole range */
#endif

static int verbose;
static uint64_t bytes_asked;

/* Ask the kernel for [off, off+len) of fd. */
static void read_ahead(int fd, uint64_t off, uint64_t len)
{
    if (len == 0)
        return;
    bytes_asked += len;
#if PRELOAD_METHOD == PRELOAD_FADVISE
    /* One call per range queues it all at once, as large requests. Smaller calls
     * (-DPRELOAD_CHUNK) give the scheduler a point to switch back to the child (the kernel
     * queues a range without one on a PREEMPT_NONE kernel: 2-5 ms of CPU for 32 MB), but
     * measured slower: a starved helper's chunks queue up behind the child's own faults. */
    while (len > 0) {
        uint64_t n = PRELOAD_CHUNK && len > PRELOAD_CHUNK ? PRELOAD_CHUNK : len;
        (void)posix_fadvise(fd, (off_t)off, (off_t)n, POSIX_FADV_WILLNEED);
        off += n;
        len -= n;
    }
#elif PRELOAD_METHOD == PRELOAD_READ
    static char sink[128 * 1024];
    while (len > 0) {
        size_t n = len < sizeof sink ? (size_t)len : sizeof sink;
        ssize_t got = pread(fd, sink, n, (off_t)off);
        if (got <= 0)
            break;
        off += (uint64_t)got;
        len -= (uint64_t)got;
    }
#elif PRELOAD_METHOD == PRELOAD_POPULATE
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), start = off & ~(page - 1);
    void *p = mmap(NULL, (size_t)(off + len - start), PROT_READ, MAP_SHARED | MAP_POPULATE,
                   fd, (off_t)start);
    if (p != MAP_FAILED)
        munmap(p, (size_t)(off + len - start));
#else
#error "unknown PRELOAD_METHOD"
#endif
}

/* Next space-separated word of *s (modified in place), or NULL at the end. */
static char *word(char **s)
{
    char *p = *s, *w;
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    if (!*p)
        return NULL;
    for (w = p; *p && *p != ' ' && *p != '\t' && *p != '\r'; p++)
        ;
    if (*p)
        *p++ = '\0';
    *s = p;
    return w;
}

/* The size of fd when it is a regular file, else -1: a device (/dev/zero, a disk), FIFO
 * or folder in the list is skipped, never read ahead nor read from. statx rather than
 * fstat, whose time64 conversion costs 1 KiB in the 32-bit ARM inits; its layout is the
 * same on every arch. */
static int64_t regular_size(int fd)
{
    struct {
        uint32_t mask, blksize;
        uint64_t attributes;
        uint32_t nlink, uid, gid;
        uint16_t mode, spare;
        uint64_t ino, size, rest[26];
    } st;
    if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, 0x201u /* TYPE, SIZE */, &st) != 0 ||
        (st.mode & S_IFMT) != S_IFREG)
        return -1;
    return (int64_t)st.size;
}

/* Open path for reading; -1 (said with --verbose) when it cannot be or is not a regular
 * file. Sets *size. */
static int open_regular(const char *path, int64_t *size)
{
    int fd = open_ro(path, O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (verbose)
            SAY_ERRNO("preload: ", path);
    } else if ((*size = regular_size(fd)) < 0) {
        if (verbose)
            SAY("preload: ", path, ": not a regular file, skipped");
        close(fd);
        fd = -1;
    }
    return fd;
}

/* One line "PATH [OFFSET:LENGTH ...]", NUL-terminated, modified in place. Returns 1 when
 * the file was read ahead, 0 when skipped. */
static int preload_line(char *line)
{
    char *path = word(&line), *tok;
    int64_t size;
    if (!path || path[0] == '#')
        return 0;
    int fd = open_regular(path, &size);
    if (fd < 0)
        return 0;
    if (!(tok = word(&line)))
        read_ahead(fd, 0, (uint64_t)size);
    for (; tok; tok = word(&line)) {
        char *colon = str_chr(tok, ':');
        uint64_t off, len;
        if (colon)
            *colon = '\0';
        if (!colon || parse_u64(tok, UINT64_MAX / 2, &off) < 0 ||
            parse_u64(colon + 1, UINT64_MAX / 2, &len) < 0) {
            if (colon)
                *colon = ':';
            if (verbose)
                SAY("preload: ", path, ": bad range '", tok, "' skipped");
            continue;
        }
        read_ahead(fd, off, len);
    }
    close(fd);
    return 1;
}

/* The helper's work: read the list at path and read ahead every range, in order.
 * Returns the number of files read ahead. */
static int preload_run(const char *path, int verb)
{
    static char buf[ARMLET_PRELOAD_MAX_LINE + 1];
    int files = 0, skipping = 0;
    ssize_t n;

    int64_t size;
    verbose = verb;
    bytes_asked = 0;
    int fd = open_regular(path, &size); /* /dev/zero as the list would never end */
    if (fd < 0)
        return 0;
    /* Take whole lines from each read; seek back over a partial last line so the next
     * read starts with it (no memmove). A line that does not fit is skipped. */
    while ((n = read(fd, buf, sizeof buf - 1)) > 0) {
        char *p = buf, *end = buf + n, *nl;
        for (;;) {
            for (nl = p; nl < end && *nl != '\n'; nl++)
                ; /* memchr, without musl's word-at-a-time version */
            if (nl == end)
                break;
            *nl = '\0';
            if (!skipping)
                files += preload_line(p);
            else if (verbose)
                SAY("preload: ", path, ": line over 4096 bytes skipped");
            skipping = 0;
            p = nl + 1;
        }
        if (p == buf && n == (ssize_t)sizeof buf - 1)
            skipping = 1;                   /* no newline in a full buffer */
        else if (p < end && n == (ssize_t)sizeof buf - 1)
            syscall(SYS_lseek, fd, (long)(p - end), SEEK_CUR); /* musl's is _llseek on arm */
        else if (p < end && !skipping) {    /* last line without a newline */
            *end = '\0';
            files += preload_line(p);
        }
    }
    close(fd);
    if (verbose) {
        char nf[21], nb[21];
        SAY("preload: ", fmt_i64(nf, files), " files, ", fmt_i64(nb, (int64_t)bytes_asked),
            " bytes read ahead from ", path);
    }
    return files;
}

void preload_start(const struct options *o)
{
    if (!o->preload)
        return;
#if PRELOAD_HELPER
    pid_t pid = fork_raw();   /* as main.c */
    if (pid < 0) {
        if (o->verbose)
            SAY_ERRNO("preload: fork");
        return;
    }
    if (pid > 0)
        return;
    /* The helper: die with the init, and take signals again (the init blocks them all
     * and waits for them with sigtimedwait; it installs no handlers). */
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
    /* Low CPU priority, so a child that needs a contended core gets it between ranges. */
    if (PRELOAD_NICE)
        setpriority(PRIO_PROCESS, 0, PRELOAD_NICE);
    static sigset_t none; /* all zero: the empty set (BSS: no bytes in the file) */
    sigmask_set(&none, NULL);
    preload_run(o->preload, o->verbose);
    _exit(0);
#else
    preload_run(o->preload, o->verbose);
#endif
}
