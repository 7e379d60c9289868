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
 * -DPRELOAD_HELPER=0 does the work in the init itself right after the fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
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

static int verbose;
static uint64_t bytes_asked;

/* Ask the kernel for [off, off+len) of fd. */
static void read_ahead(int fd, uint64_t off, uint64_t len)
{
    if (len == 0)
        return;
    bytes_asked += len;
#if PRELOAD_METHOD == PRELOAD_FADVISE
    (void)posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
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

/* One line "PATH [OFFSET:LENGTH ...]", NUL-terminated, modified in place. Returns 1 when
 * the file was read ahead, 0 when skipped. */
static int preload_line(char *line)
{
    char *save = NULL, *path = strtok_r(line, " \t\r", &save);
    if (!path || path[0] == '#')
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (verbose)
            SAY_ERRNO("preload: ", path);
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (verbose)
            SAY("preload: ", path, ": not a regular file");
        close(fd);
        return 0;
    }
    char *tok = strtok_r(NULL, " \t\r", &save);
    if (!tok)
        read_ahead(fd, 0, (uint64_t)st.st_size);
    for (; tok; tok = strtok_r(NULL, " \t\r", &save)) {
        char *colon = strchr(tok, ':');
        uint64_t off, len;
        if (colon)
            *colon = '\0';
        if (!colon || parse_u64(tok, UINT64_MAX / 2, &off) < 0 ||
            parse_u64(colon + 1, UINT64_MAX / 2, &len) < 0) {
            if (verbose)
                SAY("preload: ", path, ": bad range '", tok, colon ? ":" : "",
                    colon ? colon + 1 : "", "' skipped");
            continue;
        }
        read_ahead(fd, off, len);
    }
    close(fd);
    return 1;
}

int preload_run(const char *path, int verb)
{
    static char buf[ARMLET_PRELOAD_MAX_LINE + 1];
    size_t have = 0;
    int files = 0, skipping = 0, eof = 0;

    verbose = verb;
    bytes_asked = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (verbose)
            SAY_ERRNO("preload: ", path);
        return 0;
    }
    while (!eof || have > 0) {
        if (!eof && have < sizeof buf - 1) {
            ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                eof = 1;
            else
                have += (size_t)n;
        }
        char *nl = memchr(buf, '\n', have);
        if (!nl && !eof && have < sizeof buf - 1)
            continue;                       /* read more before taking a line */
        size_t len = nl ? (size_t)(nl - buf) : have, used = nl ? len + 1 : have;
        if (!nl && !eof) {
            /* A line longer than the limit: drop it up to its newline. */
            skipping = 1;
            have = 0;
            continue;
        }
        buf[len] = '\0';
        if (skipping) {
            if (verbose)
                SAY("preload: ", path, ": line longer than 4096 bytes skipped");
            skipping = 0;
        } else {
            files += preload_line(buf);
        }
        memmove(buf, buf + used, have - used);
        have -= used;
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
    pid_t pid = fork();
    if (pid < 0) {
        if (o->verbose)
            SAY_ERRNO("preload: fork");
        return;
    }
    if (pid > 0)
        return;
    /* The helper: die with the init; default signal handling and an empty mask, so the
     * init's handlers (and any self-pipe they write to) never run in here. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    preload_run(o->preload, o->verbose);
    _exit(0);
#else
    preload_run(o->preload, o->verbose);
#endif
}
