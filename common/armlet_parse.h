/* common/armlet_parse.h — the values armlet-init's options take, parsed by one piece of
 * code on both sides: the init (init/util.c instantiates every one of them, once, and
 * exports it through util.h) and the recipe's `init`, `health`, `user` and `stop-signal`
 * lines (builder/recipe/recipe.c). So a recipe accepts exactly what the init accepts, and
 * stores it in a form the init reads back (tests/unit/values_table.h feeds the same
 * values to both).
 *
 *   armlet_parse_u64       "0".."max", digits only
 *   armlet_parse_duration  "10s", "500ms", "2.5s", "1m", "1h", "250us", "100ns", "3"
 *                          (seconds); at most 9 fraction digits and 10^6 s
 *   armlet_parse_signal    "TERM", "SIGTERM", "sigterm", "15", "0", "RTMIN", "RTMIN+3",
 *                          "RTMAX-2": 0..64, RT signals counted as glibc, bash, systemd
 *                          and Docker do (RTMIN = 34; musl's own SIGRTMIN is 35)
 *   armlet_signal_name     15 -> "SIGTERM", 37 -> "SIGRTMIN+3", 32 -> "SIG32"
 *   armlet_parse_rewrite   "FROM:TO" for --rewrite: TO may be 0 (drop); FROM not 0,
 *                          KILL, STOP or CHLD
 *   armlet_parse_ratio_ppm "0.9", "1", ".5": (0, 1] in millionths, integers only
 *   armlet_parse_ids       "root", "nonroot", "UID", "UID:GID" (not 4294967295)
 *   armlet_env_name_ok     [A-Za-z_][A-Za-z0-9_]*
 *   armlet_parse_probe_url http://HOST[:PORT][/PATH] or tcp://HOST:PORT
 *
 * Each returns 0 (or the value) on success and -1 on a bad value; none allocates,
 * prints, or touches errno. Header-only, static inline: the init is a static musl binary
 * that links nothing else, and must not carry two copies (hence one instantiation there).
 * Integers only: on arm/v6 a double would drag in ~1.4 KiB of soft-float routines, and
 * signed 64-bit division another libgcc routine.
 */
#ifndef ARMLET_PARSE_H
#define ARMLET_PARSE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "armlet_shared.h"

static inline int armlet_parse_u64(const char *s, uint64_t max, uint64_t *v)
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

static inline int armlet_parse_duration(const char *s, int64_t *ns)
{
    static const struct { char unit[3]; uint64_t ns; } units[] = {
        { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
        { "m", 60000000000 }, { "h", 3600000000000 }, { "", 1000000000 },
    };
    const uint64_t max_ns = (uint64_t)1000000 * 1000000000; /* 10^6 s: ~11.5 days */
    uint64_t whole = 0, frac = 0, frac_scale = 1;
    int digits = 0;
    if (!s)
        return -1;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        whole = whole * 10 + (uint64_t)(*s - '0');
        if (whole > max_ns)
            return -1;
    }
    if (*s == '.') {
        s++;
        for (int k = 0; *s >= '0' && *s <= '9'; s++, k++, digits++) {
            if (k >= 9)
                return -1;
            frac = frac * 10 + (uint64_t)(*s - '0');
            frac_scale *= 10;
        }
    }
    if (digits == 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(s, units[i].unit) != 0)
            continue;
        uint64_t u = units[i].ns;
        if (whole > max_ns / u)
            return -1;
        /* frac < frac_scale <= 10^9 and u <= 3.6e12: the fraction in two steps, so the
         * product never overflows. */
        uint64_t r = whole * u + (u / frac_scale) * frac + (u % frac_scale) * frac / frac_scale;
        if (r > max_ns)
            return -1;
        *ns = (int64_t)r;
        return 0;
    }
    return -1;
}

/* Linux's generic signal numbers (x86-64, arm and arm64 agree), 1..31, NUL-separated. */
#define ARMLET_SIG_NAMES                                                                  \
    "HUP\0INT\0QUIT\0ILL\0TRAP\0ABRT\0BUS\0FPE\0KILL\0USR1\0SEGV\0USR2\0PIPE\0ALRM\0TERM\0" \
    "STKFLT\0CHLD\0CONT\0STOP\0TSTP\0TTIN\0TTOU\0URG\0XCPU\0XFSZ\0VTALRM\0PROF\0WINCH\0IO\0" \
    "PWR\0SYS"
#define ARMLET_SIG_RTMIN 34 /* glibc's SIGRTMIN: the kernel's 32 and 33 are its threads' */
#define ARMLET_SIG_RTMAX 64
#define ARMLET_SIG_KILL 9
#define ARMLET_SIG_CHLD 17
#define ARMLET_SIG_STOP 19

/* Case does not matter: the name is compared upper-cased. */
static inline int armlet_parse_signal(const char *s)
{
    char up[16];
    uint64_t n;
    size_t i = 0;
    if (!s)
        return -1;
    if (armlet_parse_u64(s, ARMLET_SIG_RTMAX, &n) == 0)
        return (int)n;
    for (; i < sizeof up - 1 && s[i]; i++)
        up[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
    if (s[i])
        return -1;
    up[i] = '\0';
    const char *u = up;
    if (!strncmp(u, "SIG", 3))
        u += 3;
    const char *name = ARMLET_SIG_NAMES;
    for (int k = 1; k < 32; k++, name += strlen(name) + 1)
        if (!strcmp(u, name))
            return k;
    int base, dir;
    if (!strncmp(u, "RTMIN", 5))
        base = ARMLET_SIG_RTMIN, dir = 1;
    else if (!strncmp(u, "RTMAX", 5))
        base = ARMLET_SIG_RTMAX, dir = -1;
    else
        return -1;
    u += 5;
    if (!*u)
        return base;
    if (*u != (dir > 0 ? '+' : '-') ||
        armlet_parse_u64(u + 1, ARMLET_SIG_RTMAX - ARMLET_SIG_RTMIN, &n) != 0)
        return -1;
    return base + dir * (int)n;
}

/* "SIGTERM", "SIGRTMIN+3", or "SIG<n>" (0..99) for sig, into buf. Returns buf. */
static inline char *armlet_signal_name(char buf[16], int sig)
{
    const char *name = ARMLET_SIG_NAMES;
    char *p = buf + 3;
    unsigned v = (unsigned)sig, tens = 0;
    memcpy(buf, "SIG", 3);
    if (v - 1 < 31) {
        while (--v)
            name += strlen(name) + 1;
    } else {
        if (v - ARMLET_SIG_RTMIN <= ARMLET_SIG_RTMAX - ARMLET_SIG_RTMIN)
            memcpy(p, "RTMIN+", 6), p += 6, v -= ARMLET_SIG_RTMIN;
        /* 0..99 by subtraction: a division is a libgcc call on 32-bit ARM */
        for (; v >= 10 && tens < 9; v -= 10)
            tens++;
        if (tens)
            *p++ = (char)('0' + tens);
        *p++ = (char)('0' + (v > 9 ? 9 : v));
        name = "";
    }
    size_t n = strlen(name);
    memcpy(p, name, n + 1);
    return buf;
}

/* --rewrite FROM:TO into *from, *to. Returns 0, -1 not of the form FROM:TO, -2 an unknown
 * signal, -3 FROM may not be rewritten (0; KILL and STOP never reach a process; the init
 * keeps CHLD for itself). */
static inline int armlet_parse_rewrite(const char *v, int *from, int *to)
{
    char head[24];
    const char *colon = v;
    while (*colon && *colon != ':')
        colon++;
    size_t n = (size_t)(colon - v);
    if (!*colon || !colon[1] || n == 0 || n >= sizeof head)
        return -1;
    memcpy(head, v, n);
    head[n] = '\0';
    *from = armlet_parse_signal(head);
    *to = armlet_parse_signal(colon + 1);
    if (*from < 0 || *to < 0)
        return -2;
    if (*from == 0 || *from == ARMLET_SIG_KILL || *from == ARMLET_SIG_STOP ||
        *from == ARMLET_SIG_CHLD)
        return -3;
    return 0;
}

/* Digits are collected as an integer and scaled up by multiplying: no division, which on
 * arm/v6 (Thumb-1) would be a call into a 500-byte libgcc routine. Digits past
 * millionths are read and dropped. */
static inline int armlet_parse_ratio_ppm(const char *v, uint32_t *ppm)
{
    uint32_t x = 0;
    int digits = 0, frac = -1; /* fraction digits kept; -1 before the '.' */
    for (;; v++) {
        if (*v == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*v < '0' || *v > '9')
            break;
        digits++;
        if (frac >= 6)
            continue;
        x = x * 10 + (uint32_t)(*v - '0');
        if (frac >= 0)
            frac++;
        else if (x > 1)
            return -1;
    }
    for (frac = frac < 0 ? 0 : frac; frac < 6; frac++)
        x *= 10;
    if (*v || !digits || x == 0 || x > 1000000)
        return -1;
    *ppm = x;
    return 0;
}

/* (uid_t)-1 means "unchanged" to setuid(): 4294967295 is refused. A lone UID gives
 * GID = UID. */
static inline int armlet_parse_ids(const char *v, uint32_t *uid, uint32_t *gid)
{
    char head[24];
    uint64_t u, g;
    if (!strcmp(v, "root")) {
        *uid = *gid = 0;
        return 0;
    }
    if (!strcmp(v, "nonroot")) {
        *uid = ARMLET_NONROOT_UID;
        *gid = ARMLET_NONROOT_GID;
        return 0;
    }
    const char *colon = v;
    while (*colon && *colon != ':')
        colon++;
    size_t n = (size_t)(colon - v);
    if (n >= sizeof head)
        return -1;
    memcpy(head, v, n);
    head[n] = '\0';
    if (armlet_parse_u64(head, 0xfffffffe, &u) != 0 ||
        (*colon && armlet_parse_u64(colon + 1, 0xfffffffe, &g) != 0))
        return -1;
    *uid = (uint32_t)u;
    *gid = *colon ? (uint32_t)g : (uint32_t)u;
    return 0;
}

static inline int armlet_env_name_ok(const char *s)
{
    const char *p = s;
    for (; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
           (p > s && *p >= '0' && *p <= '9');
         p++)
        ;
    return p > s && !*p ? 0 : -1;
}

struct armlet_url {
    int http;        /* 1 http://, 0 tcp:// */
    char host[64];   /* as written, without brackets */
    unsigned port;   /* http: 80 when absent */
    const char *path; /* http: "/..." (points into the URL), "/" when absent */
};

/* Length of s's start without any character of stop. */
static inline size_t armlet_span_to(const char *s, const char *stop)
{
    size_t n = 0;
    for (; s[n]; n++)
        for (const char *q = stop; *q; q++)
            if (*q == s[n])
                return n;
    return n;
}

/* Split URL into *t. Returns 0, or -1 with *why set. The HOST is not looked at here:
 * the probe accepts a numeric IPv4, a bracketed IPv6 or localhost when it connects. */
static inline int armlet_parse_probe_url(const char *url, struct armlet_url *t, const char **why)
{
    const char *s;
    if (!strncmp(url, "http://", 7)) {
        t->http = 1, s = url + 7, t->port = 80;
    } else if (!strncmp(url, "tcp://", 6)) {
        t->http = 0, s = url + 6, t->port = 0;
    } else {
        *why = "expected http://HOST:PORT/PATH or tcp://HOST:PORT";
        return -1;
    }
    const char *host = s, *end;
    if (*s == '[') {
        host = s + 1;
        for (end = host; *end && *end != ']'; end++)
            ;
        if (!*end) {
            *why = "unclosed [ in the IPv6 address";
            return -1;
        }
        s = end + 1;
    } else {
        end = s + armlet_span_to(s, ":/?#");
        s = end;
    }
    size_t hl = (size_t)(end - host);
    if (hl == 0 || hl >= sizeof t->host) {
        *why = "missing or overlong host";
        return -1;
    }
    memcpy(t->host, host, hl);
    t->host[hl] = '\0';
    if (*s == ':') {
        char num[8];
        size_t pl = armlet_span_to(s + 1, "/?#");
        uint64_t port;
        if (pl == 0 || pl >= sizeof num) {
            *why = "bad port";
            return -1;
        }
        memcpy(num, s + 1, pl);
        num[pl] = '\0';
        if (armlet_parse_u64(num, 65535, &port) < 0 || port == 0) {
            *why = "bad port";
            return -1;
        }
        t->port = (unsigned)port;
        s += 1 + pl;
    }
    if (!t->port) {
        *why = "tcp:// needs a port";
        return -1;
    }
    t->path = *s == '/' ? s : "/";
    if (*s && (*s != '/' || !t->http)) {
        *why = "after the port: /PATH for http://, nothing for tcp://";
        return -1;
    }
    /* The request line carries PATH verbatim: no spaces or control characters. */
    for (const char *p = t->path; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            *why = "the path has a space or control character";
            return -1;
        }
    }
    return 0;
}

#endif
