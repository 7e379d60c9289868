/* init/rlimit.c — see rlimit.h. The raw prlimit64 syscall rather than setrlimit():
 * musl's setrlimit applies the change to every thread through its __synccall machinery,
 * which the single-threaded init does not need and which costs ~2 KiB of the binary. */
#include "rlimit.h"

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

uint64_t rlimit_nofile(int mode, uint64_t n, int verbose)
{
    struct rlimit64_ cur, want;
    char a[21], b[21], c[21];
    if (mode == 0 || prlimit_nofile(NULL, &cur) != 0)
        return 0;
    want.max = cur.max;
    want.cur = mode == 2 ? cur.max : n;
    if (want.cur > cur.max) {
        want.max = want.cur;
        if (prlimit_nofile(&want, NULL) == 0)
            goto done;
        /* EPERM: no CAP_SYS_RESOURCE, or above fs.nr_open. Carry on with the most we may. */
        SAY("nofile: ", fmt_i64(a, (int64_t)n), " is above the hard limit ", fmt_i64(b, (int64_t)cur.max),
            " (raising it needs CAP_SYS_RESOURCE): using it");
        want.cur = want.max = cur.max;
    }
    if (prlimit_nofile(&want, NULL) != 0) {
        SAY_ERRNO("nofile: setting the limit");
        return cur.cur;
    }
done:
    if (verbose)
        SAY("nofile: soft limit ", fmt_i64(a, (int64_t)cur.cur), " -> ", fmt_i64(b, (int64_t)want.cur),
            " (hard ", fmt_i64(c, (int64_t)want.max), ")");
    return want.cur;
}
