/* init/rlimit.c — see rlimit.h. The raw prlimit64 syscall rather than setrlimit():
 * musl's setrlimit applies the change to every thread through its __synccall machinery,
 * which the single-threaded init does not need and which costs ~2 KiB of the binary. */
#include "rlimit.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#define RLIMIT_NOFILE_ 7 /* same number on every armlet arch */

struct rlimit64_ {
    uint64_t cur, max;
};

static int prlimit_nofile(const struct rlimit64_ *set, struct rlimit64_ *old)
{
    return (int)syscall(SYS_prlimit64, 0, RLIMIT_NOFILE_, set, old);
}

/* fs.nr_open, the most any process may have (even with CAP_SYS_RESOURCE); 0 if unknown. */
static uint64_t nr_open(void)
{
    char buf[24];
    uint64_t v = 0;
    int fd = open_ro("/proc/sys/fs/nr_open", O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    buf[n > 0 ? n : 0] = '\0';
    return parse_u64(buf, UINT64_MAX, &v) == 0 ? v : 0;
}

uint64_t rlimit_nofile(int mode, uint64_t n, int verbose)
{
    struct rlimit64_ cur, want;
    char a[21], b[21], c[21];
    if (mode == 0 || prlimit_nofile(NULL, &cur) != 0)
        return 0;
    want.max = cur.max;
    want.cur = mode == 2 ? cur.max : n;
    if (want.cur > cur.max) {
        /* Above the hard limit: only CAP_SYS_RESOURCE may raise it, and never past
         * fs.nr_open (EPERM either way): ask for the most the kernel allows. */
        uint64_t nr = nr_open();
        if (nr && want.cur > nr) {
            SAY("nofile: ", fmt_i64(a, (int64_t)n), " is above fs.nr_open: using ", fmt_i64(b, (int64_t)nr));
            want.cur = nr;
        }
        want.max = want.cur;
        if (prlimit_nofile(&want, NULL) != 0) {
            SAY("nofile: ", fmt_i64(a, (int64_t)want.cur), " is above the hard limit ",
                fmt_i64(b, (int64_t)cur.max), " (raising it needs CAP_SYS_RESOURCE): using it");
            want.cur = want.max = cur.max;
        }
    }
    /* Only ever raise: a lower limit would break a program that has more files open. */
    if (want.cur < cur.cur)
        want.cur = cur.cur;
    if (want.cur != cur.cur && prlimit_nofile(&want, NULL) != 0) {
        SAY_ERRNO("nofile: setting the limit");
        return cur.cur;
    }
    if (verbose)
        SAY("nofile: soft limit ", fmt_i64(a, (int64_t)cur.cur), " -> ", fmt_i64(b, (int64_t)want.cur),
            " (hard ", fmt_i64(c, (int64_t)want.max), ")");
    return want.cur;
}
