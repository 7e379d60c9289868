/* init/util.c — messages, integers, durations and signal names for armlet-init.
 * See util.h. Deliberately no stdio: printf and its locale/float machinery would be the
 * largest part of a static musl binary this small. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "armlet-init: "

int write_all(int fd, const char *buf, unsigned long len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (unsigned long)n;
    }
    return 0;
}

static size_t vjoin(char *buf, size_t cap, const char *s, va_list ap)
{
    size_t n = 0;
    for (; s; s = va_arg(ap, const char *))
        for (; *s && n + 1 < cap; s++)
            buf[n++] = *s;
    buf[n] = '\0';
    return n;
}

size_t join(char *buf, size_t cap, const char *s, ...)
{
    va_list ap;
    va_start(ap, s);
    size_t n = vjoin(buf, cap, s, ap);
    va_end(ap);
    return n;
}

/* Build one line on the stack (the text cut at 512 bytes) and write it once, only when
 * stderr can take it now. PID 1 must never block on, spin on or die of its stderr: a
 * pipe nobody reads would block the write once full, and one whose reader has gone
 * answers EPIPE plus a SIGPIPE (which main.c drops as self-raised). So a zero-timeout
 * ppoll first; a full, closed or broken stderr loses the message. Control bytes in the
 * text (from a file name, a list, argv) go out as \xNN: the line cannot play tricks on
 * a terminal or forge a second line. */
static void vsay(const char *s, va_list ap, const char *tail)
{
    char raw[512], line[sizeof raw * 4 + sizeof PREFIX];
    size_t r = vjoin(raw, sizeof raw, s, ap), n = sizeof PREFIX - 1;
    if (tail)
        r += JOIN(raw + r, sizeof raw - r, ": ", tail);
    memcpy(line, PREFIX, n);
    for (size_t i = 0; i < r; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c < ' ' || c == 0x7f) {
            line[n++] = '\\';
            line[n++] = 'x';
            line[n++] = (char)('0' + (c >> 4)); /* 0, 1 or 7 */
            c &= 15;
            c = (unsigned char)(c < 10 ? '0' + c : 'a' - 10 + c);
        }
        line[n++] = (char)c;
    }
    line[n++] = '\n';
    struct { int fd; short events, revents; } pf = { 2, POLLOUT, 0 };
    struct { long sec, nsec; } now = { 0, 0 };
    if (syscall(SYS_ppoll, &pf, 1, &now, NULL, 0) == 1 && pf.revents == POLLOUT)
        (void)write(2, line, n);
}

void say(const char *s, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, s);
    vsay(s, ap, NULL);
    va_end(ap);
    errno = saved;
}

/* musl's own wording for the errnos a user of the init meets; any other prints as
 * "errno N". strerror() would bring musl's whole message table: ~2 KiB of the binary. */
static const unsigned char errno_codes[] = {
    EPERM, ENOENT, EACCES, ENOTDIR, EISDIR, EINVAL, ENOEXEC, E2BIG, ENOMEM, ETXTBSY, ELOOP,
    EMFILE, ENOSYS, ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENETUNREACH, EHOSTUNREACH,
    EADDRNOTAVAIL,
};
static const char errno_texts[] =
    "Operation not permitted\0No such file or directory\0Permission denied\0"
    "Not a directory\0Is a directory\0Invalid argument\0Exec format error\0"
    "Argument list too long\0Out of memory\0Text file busy\0Symbolic link loop\0"
    "No file descriptors available\0Function not implemented\0Connection refused\0"
    "Connection reset by peer\0Operation timed out\0Network unreachable\0"
    "Host is unreachable\0Address not available";

const char *errno_text(char buf[32], int e)
{
    const char *t = errno_texts;
    for (size_t i = 0; i < sizeof errno_codes; i++, t += strlen(t) + 1)
        if (errno_codes[i] == e)
            return t;
    char num[21];
    memcpy(buf, "errno ", 6);
    const char *d = fmt_i64(num, e);
    memcpy(buf + 6, d, (size_t)(num + 21 - d));
    return buf;
}

char *str_chr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

const char *env_get(const char *name)
{
    extern char **environ;
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

int open_ro(const char *path, int flags)
{
    return (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_LARGEFILE | flags);
}

int sigmask_set(const sigset_t *set, sigset_t *old)
{
    return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, set, old, 8);
}

int fork_raw(void)
{
    /* clone's other arguments are in a different order per arch; all zero here. */
    return (int)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
}

#if (defined(__thumb__) && !defined(__thumb2__)) || defined(__aarch64__)
/* Our memcpy and memset in place of musl's unrolled assembly, where the size budget
 * needs the bytes: on arm/v6 (the Thumb-1 build; ~1 KiB together, musl's start-up code
 * uses them too) byte by byte, on arm64 (~650 bytes of text, ~350 gzipped) 8 bytes a
 * step, as arm64 allows unaligned loads and stores to normal memory. The init's largest
 * copies and fills are a few KiB (cgroup.c's buffers): about a microsecond. The
 * attribute keeps gcc from turning the loops back into calls to themselves; may_alias
 * because these copy and fill objects of any type. */
#ifdef __aarch64__
typedef uint64_t __attribute__((may_alias)) word64;
#endif
__attribute__((used, optimize("no-tree-loop-distribute-patterns")))
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
#ifdef __aarch64__
    for (; n >= 8; n -= 8, d += 8, s += 8)
        *(word64 *)d = *(const word64 *)s;
#endif
    while (n--)
        *d++ = *s++;
    return dst;
}

__attribute__((used, optimize("no-tree-loop-distribute-patterns")))
void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
#ifdef __aarch64__
    word64 w = (unsigned char)c * 0x0101010101010101u;
    for (; n >= 8; n -= 8, d += 8)
        *(word64 *)d = w;
#endif
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

/* And strlen/strncmp: musl's go a word at a time, several times the code of a byte loop
 * for the init's short strings. */
__attribute__((used, optimize("no-tree-loop-distribute-patterns")))
size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

__attribute__((used))
int strncmp(const char *a, const char *b, size_t n)
{
    for (; n && *a && *a == *b; n--, a++, b++)
        ;
    return n ? (unsigned char)*a - (unsigned char)*b : 0;
}
#endif

#ifdef __arm__
/* libgcc's division routines call these on a division by zero; its own versions raise
 * SIGFPE through musl's raise() and signal-blocking code. The init never divides by
 * zero (every divisor is checked or constant), so the ARM run-time ABI's permitted
 * "return the quotient as 0" will do. */
int __aeabi_idiv0(int r);
long long __aeabi_ldiv0(long long r);
__attribute__((used)) int __aeabi_idiv0(int r)
{
    (void)r;
    return 0;
}
__attribute__((used)) long long __aeabi_ldiv0(long long r)
{
    (void)r;
    return 0;
}
#endif

int64_t mono_ns(void)
{
    /* The raw syscall: clock_gettime() looks up the vDSO, code the init does not need for
     * its few clock reads. */
    /* The kernel's own timespec: two longs (musl's 32-bit one has a 64-bit tv_sec). A
     * monotonic clock does not overflow a 32-bit second count. */
    struct { long sec, nsec; } t;
#ifdef SYS_clock_gettime32
    syscall(SYS_clock_gettime32, CLOCK_MONOTONIC, &t); /* musl's name on 32-bit ARM */
#else
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
#endif
    return (int64_t)t.sec * 1000000000 + t.nsec;
}

void say_errno(const char *s, ...)
{
    int saved = errno;
    char buf[32];
    va_list ap;
    va_start(ap, s);
    vsay(s, ap, errno_text(buf, saved));
    va_end(ap);
    errno = saved;
}

void die(int code, const char *s, ...)
{
    va_list ap;
    va_start(ap, s);
    vsay(s, ap, NULL);
    va_end(ap);
    _exit(code);
}

char *fmt_i64(char buf[21], int64_t v)
{
    /* Work on the magnitude as unsigned so INT64_MIN does not overflow. */
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    char *p = buf + 20;
    *p = '\0';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return p;
}

/* The shared value parsers (common/armlet_parse.h), instantiated here once for the
 * whole init: the other files call these, never the armlet_* functions themselves. */
int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
    return armlet_parse_u64(s, max, v);
}

int parse_duration(const char *s, int64_t *ns)
{
    return armlet_parse_duration(s, ns);
}

int sig_parse(const char *s)
{
    return armlet_parse_signal(s);
}

char *sig_name(char buf[16], int sig)
{
    return armlet_signal_name(buf, sig);
}

int parse_rewrite(const char *v, int *from, int *to)
{
    return armlet_parse_rewrite(v, from, to);
}

int parse_ratio_ppm(const char *v, uint32_t *ppm)
{
    return armlet_parse_ratio_ppm(v, ppm);
}

int parse_ids(const char *v, uint32_t *uid, uint32_t *gid)
{
    return armlet_parse_ids(v, uid, gid);
}

int env_name_ok(const char *s)
{
    return armlet_env_name_ok(s);
}

int probe_url_parse(const char *url, struct armlet_url *t, const char **why)
{
    return armlet_parse_probe_url(url, t, why);
}

size_t span_to(const char *s, const char *stop)
{
    return armlet_span_to(s, stop);
}
