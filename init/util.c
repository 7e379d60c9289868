/* init/util.c — messages, integers, durations and signal names for armlet-init.
 * See util.h. Deliberately no stdio: printf and its locale/float machinery would be the
 * largest part of a static musl binary this small. */
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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

/* Build one line in a stack buffer (truncated at 512 bytes) so it goes out in one write. */
static void vsay(const char *s, va_list ap, const char *tail)
{
    char line[512];
    size_t n = sizeof PREFIX - 1;
    memcpy(line, PREFIX, n);
    for (; s; s = va_arg(ap, const char *)) {
        size_t l = strlen(s);
        if (l > sizeof line - 1 - n)
            l = sizeof line - 1 - n;
        memcpy(line + n, s, l);
        n += l;
    }
    if (tail) {
        size_t l = strlen(tail);
        if (n + 2 + l < sizeof line - 1) {
            memcpy(line + n, ": ", 2);
            memcpy(line + n + 2, tail, l);
            n += 2 + l;
        }
    }
    line[n++] = '\n';
    (void)write_all(2, line, n);
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

void say_errno(const char *s, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, s);
    vsay(s, ap, strerror(saved));
    va_end(ap);
    errno = saved;
}

void die(int code, const char *s, ...)
{
    va_list ap;
    va_start(ap, s);
    vsay(s, ap, NULL);
    va_end(ap);
    exit(code);
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

int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
    uint64_t r = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (d > 9 || r > (max - d) / 10)
            return -1;
        r = r * 10 + d;
    }
    *v = r;
    return 0;
}

int parse_duration(const char *s, int64_t *ns)
{
    static const struct { char unit[3]; int64_t ns; } units[] = {
        { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
        { "m", 60000000000 }, { "h", 3600000000000 }, { "", 1000000000 },
    };
    const int64_t max_ns = (int64_t)1000000 * 1000000000; /* 10^6 s: ~11.5 days */
    int64_t whole = 0, frac = 0, frac_scale = 1;
    int digits = 0;
    if (!s)
        return -1;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        whole = whole * 10 + (*s - '0');
        if (whole > max_ns)
            return -1;
    }
    if (*s == '.') {
        s++;
        for (int k = 0; *s >= '0' && *s <= '9'; s++, k++, digits++) {
            if (k >= 9)
                return -1;
            frac = frac * 10 + (*s - '0');
            frac_scale *= 10;
        }
    }
    if (digits == 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(s, units[i].unit) != 0)
            continue;
        int64_t u = units[i].ns;
        if (whole > max_ns / u)
            return -1;
        /* frac < frac_scale <= 10^9 and u <= 3.6e12: do the fraction in two steps so the
         * product never overflows. */
        int64_t r = whole * u + (u / frac_scale) * frac + (u % frac_scale) * frac / frac_scale;
        if (r > max_ns)
            return -1;
        *ns = r;
        return 0;
    }
    return -1;
}

/* Names by number, filled by the platform's own macros (numbers differ on some arches). */
static const char *const sig_names[] = {
    [SIGHUP] = "HUP",   [SIGINT] = "INT",       [SIGQUIT] = "QUIT",   [SIGILL] = "ILL",
    [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",     [SIGBUS] = "BUS",     [SIGFPE] = "FPE",
    [SIGKILL] = "KILL", [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV",   [SIGUSR2] = "USR2",
    [SIGPIPE] = "PIPE", [SIGALRM] = "ALRM",     [SIGTERM] = "TERM",   [SIGSTKFLT] = "STKFLT",
    [SIGCHLD] = "CHLD", [SIGCONT] = "CONT",     [SIGSTOP] = "STOP",   [SIGTSTP] = "TSTP",
    [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",     [SIGURG] = "URG",     [SIGXCPU] = "XCPU",
    [SIGXFSZ] = "XFSZ", [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",   [SIGWINCH] = "WINCH",
    [SIGIO] = "IO",     [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};
#define N_SIG_NAMES ((int)(sizeof sig_names / sizeof sig_names[0]))

static int upper_eq(const char *a, const char *upper)
{
    for (; *a && *upper; a++, upper++) {
        char c = *a >= 'a' && *a <= 'z' ? (char)(*a - 32) : *a;
        if (c != *upper)
            return 0;
    }
    return *a == *upper;
}

int sig_parse(const char *s)
{
    uint64_t n;
    if (!s)
        return -1;
    if (parse_u64(s, NSIG - 1, &n) == 0)
        return (int)n;
    if ((s[0] == 'S' || s[0] == 's') && (s[1] == 'I' || s[1] == 'i') && (s[2] == 'G' || s[2] == 'g'))
        s += 3;
    for (int i = 1; i < N_SIG_NAMES; i++)
        if (sig_names[i] && upper_eq(s, sig_names[i]))
            return i;
    /* Real-time signals: RTMIN, RTMIN+n, RTMAX, RTMAX-n (their numbers are libc's). */
    int base, dir;
    if (strncmp(s, "RTMIN", 5) == 0 || strncmp(s, "rtmin", 5) == 0)
        base = SIGRTMIN, dir = 1;
    else if (strncmp(s, "RTMAX", 5) == 0 || strncmp(s, "rtmax", 5) == 0)
        base = SIGRTMAX, dir = -1;
    else
        return -1;
    s += 5;
    if (!*s)
        return base;
    if (*s != (dir > 0 ? '+' : '-') || parse_u64(s + 1, (uint64_t)(SIGRTMAX - SIGRTMIN), &n) != 0)
        return -1;
    return base + dir * (int)n;
}

char *sig_name(char buf[16], int sig)
{
    char num[21], *p;
    const char *name = NULL;
    strcpy(buf, "SIG");
    if (sig > 0 && sig < N_SIG_NAMES)
        name = sig_names[sig];
    if (name) {
        strcpy(buf + 3, name);
    } else if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        strcpy(buf + 3, "RTMIN+");
        p = fmt_i64(num, sig - SIGRTMIN);
        strcpy(buf + 9, p);
    } else {
        p = fmt_i64(num, sig);
        strcpy(buf + 3, p);
    }
    return buf;
}
