/* init/probe.c — see probe.h. One connection, one deadline, no heap.
 *
 * Every blocking step (connect, send, the status line) waits in poll() for what is left
 * of the one deadline, so a listener that accepts and never answers, or a SYN that is
 * dropped, ends as "timed out after D" rather than hanging the health check.
 */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "exit_codes.h"
#include "options.h"
#include "util.h"

#define DEFAULT_TIMEOUT_NS 5000000000LL

/* Wait for events on fd until the deadline. Returns 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ns();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        /* Raw ppoll with the kernel's timespec: musl's poll() is ppoll plus a time64
         * conversion on every arch but amd64. */
        uint64_t l = (uint64_t)left;
        struct { long sec, nsec; } ts = {(long)(l / 1000000000), (long)(l % 1000000000)};
        int r = (int)syscall(SYS_ppoll, &p, 1, &ts, NULL, 0);
        if (r > 0)
            return 1;
        if (r == 0)
            continue;   /* recheck the clock */
        if (errno != EINTR)
            return -1;
    }
}

/* Non-blocking connect to addr, finished within the deadline. Returns the socket, or -1
 * with *why set (errno-based text, or "timeout" as NULL why and *timed_out = 1). */
static int connect_to(const struct sockaddr *sa, socklen_t len, int64_t deadline,
                      int *timed_out, int *err)
{
    int fd = (int)syscall(SYS_socket, sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (connect(fd, sa, len) < 0) {
        if (errno != EINPROGRESS) {
            *err = errno;
            close(fd);
            return -1;
        }
        int r = wait_fd(fd, POLLOUT, deadline);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (r == 0) {
            *timed_out = 1;
            close(fd);
            return -1;
        }
        if (r < 0 || syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
            *err = r < 0 ? errno : soerr ? soerr : errno;
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* Hand-written parsers for numeric hosts: musl's inet_pton (with the memmove it calls)
 * costs more than these two. Dotted-quad IPv4 only (no octal, no short forms); IPv6 as
 * hex groups with at most one "::" (no embedded IPv4 tail, no %zone). Return 0 or -1. */
static int parse_ipv4(const char *s, unsigned char a[4])
{
    for (int i = 0;; i++) {
        unsigned v = 0, d = 0;
        for (; d < 4 && *s >= '0' && *s <= '9'; s++, d++)
            v = v * 10 + (unsigned)(*s - '0');
        if (!d || d > 3 || v > 255)
            return -1;
        a[i] = (unsigned char)v;
        if (i == 3)
            return *s ? -1 : 0;
        if (*s++ != '.')
            return -1;
    }
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 32);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse_ipv6(const char *s, unsigned char a[16])
{
    unsigned w[8];
    int n = 0, gap = -1, h;
    if (s[0] == ':' && s[1] == ':')
        gap = 0, s += 2;
    while (*s) {
        unsigned v = 0, d = 0;
        for (; d < 5 && (h = hex_digit(*s)) >= 0; s++, d++)
            v = v * 16 + (unsigned)h;
        if (!d || d > 4 || n == 8)
            return -1;
        w[n++] = v;
        if (!*s)
            break;
        if (*s++ != ':' || !*s)
            return -1;
        if (*s == ':') {
            if (gap >= 0)
                return -1;
            gap = n;
            s++;
        }
    }
    if (gap < 0 ? n != 8 : n > 7)
        return -1;
    memset(a, 0, 16);
    for (int i = 0; i < n; i++) {
        int j = gap >= 0 && i >= gap ? i + 8 - n : i;
        a[2 * j] = (unsigned char)(w[i] >> 8);
        a[2 * j + 1] = (unsigned char)w[i];
    }
    return 0;
}

/* Connect to t's host: a numeric address, or localhost as 127.0.0.1 then ::1. */
static int open_conn(const struct armlet_url *t, int64_t deadline, int *timed_out, int *err,
                     const char **why)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t->port)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)t->port)};
    int is_local = !strcmp(t->host, "localhost");
    if (is_local || parse_ipv4(t->host, (unsigned char *)&v4.sin_addr) == 0) {
        if (is_local)
            memcpy(&v4.sin_addr, "\177\0\0\1", 4);
        int fd = connect_to((struct sockaddr *)&v4, sizeof v4, deadline, timed_out, err);
        if (fd >= 0 || !is_local || *timed_out)
            return fd;
        ((unsigned char *)&v6.sin6_addr)[15] = 1; /* ::1 */
    } else if (parse_ipv6(t->host, (unsigned char *)&v6.sin6_addr) != 0) {
        *why = "host: IPv4, [IPv6] or localhost (no DNS in the init)";
        return -1;
    }
    return connect_to((struct sockaddr *)&v6, sizeof v6, deadline, timed_out, err);
}

static int send_all(int fd, const char *buf, size_t n, int64_t deadline, int *timed_out)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w > 0) {
            buf += w, n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        int r = wait_fd(fd, POLLOUT, deadline);
        if (r <= 0) {
            *timed_out = r == 0;
            return -1;
        }
    }
    return 0;
}

/* Send the GET and read the status line into line. Returns the status code, or -1
 * (*timed_out, or errno / *why). */
static int http_status(int fd, const struct armlet_url *t, int64_t deadline, char *line, size_t cap,
                       int *timed_out, const char **why)
{
    char req[1024], port[21];
    int v6 = str_chr(t->host, ':') != NULL;
    size_t n = JOIN(req, sizeof req, "GET ", t->path, " HTTP/1.0\r\nHost: ", v6 ? "[" : "", t->host,
                    v6 ? "]:" : ":", fmt_i64(port, t->port),
                    "\r\nUser-Agent: armlet-init-probe\r\nConnection: close\r\n\r\n");
    if (n == sizeof req - 1) {
        *why = "URL too long";
        return -1;
    }
    if (send_all(fd, req, n, deadline, timed_out) < 0)
        return -1;
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, line + got, cap - 1 - got, 0);
        if (r > 0) {
            got += (size_t)r;
            line[got] = '\0';
            char *eol = line + span_to(line, "\r\n");
            if (!*eol)
                eol = NULL;
            if (eol || got == cap - 1) {
                if (eol)
                    *eol = '\0';
                break;
            }
            continue;
        }
        if (r == 0) {
            line[got] = '\0';
            if (!got) {
                *why = "connection closed without an answer";
                return -1;
            }
            break;
        }
        if (errno != EAGAIN && errno != EINTR)
            return -1;
        int w = wait_fd(fd, POLLIN, deadline);
        if (w <= 0) {
            *timed_out = w == 0;
            return -1;
        }
    }
    /* "HTTP/1.x NNN Reason" */
    const char *sp = str_chr(line, ' ');
    if (strncmp(line, "HTTP/", 5) || !sp || sp[1] < '1' || sp[1] > '5' || sp[2] < '0' ||
        sp[2] > '9' || sp[3] < '0' || sp[3] > '9' || (sp[4] && sp[4] != ' ')) {
        *why = "not an HTTP status line";
        return -1;
    }
    return (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
}

/* "probe: URL: text" on fd 1 (healthy) or as an init message on fd 2. */
static int report(int healthy, const char *url, const char *a, const char *b)
{
    if (healthy) {
        char buf[512];
        write_all(1, buf, JOIN(buf, sizeof buf, "probe: ", url, ": ", a, b, "\n"));
        return PROBE_HEALTHY;
    }
    SAY("probe: ", url, ": ", a, b);
    return PROBE_UNHEALTHY;
}

int probe_main(int argc, char **argv)
{
    static const char default_timeout[] = "5s";
    const char *url = NULL, *timeout_text = default_timeout;
    int64_t timeout = DEFAULT_TIMEOUT_NS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--timeout") && i + 1 < argc) {
            timeout_text = argv[++i];
        } else if (!strncmp(a, "--timeout=", 10)) {
            timeout_text = a + 10;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            options_usage(); /* one help text, the init's: it documents probe too */
            return PROBE_HEALTHY;
        } else if (a[0] == '-' || url) {
            SAY("probe: unexpected argument '", a, "' (see --help)");
            return PROBE_UNHEALTHY;
        } else {
            url = a;
        }
    }
    if (timeout_text != default_timeout && (parse_duration(timeout_text, &timeout) < 0 || timeout <= 0)) {
        SAY("probe: --timeout '", timeout_text, "': expected a duration like 2s or 500ms");
        return PROBE_UNHEALTHY;
    }
    if (!url) {
        SAY("probe: missing URL (see --help)");
        return PROBE_UNHEALTHY;
    }
    struct armlet_url t;
    const char *why = NULL;
    char ebuf[32];
    if (probe_url_parse(url, &t, &why) < 0)
        return report(0, url, why, "");

    int64_t deadline = mono_ns() + timeout;
    int timed_out = 0, err = 0;
    int fd = open_conn(&t, deadline, &timed_out, &err, &why);
    if (fd < 0) {
        if (timed_out)
            return report(0, url, "timed out after ", timeout_text);
        return report(0, url, why ? why : errno_text(ebuf, err), "");
    }
    if (!t.http) {
        close(fd);
        return report(1, url, "connected", "");
    }
    char line[256];
    errno = 0;
    int code = http_status(fd, &t, deadline, line, sizeof line, &timed_out, &why);
    int saved = errno;
    close(fd);
    if (code < 0) {
        if (timed_out)
            return report(0, url, "timed out after ", timeout_text);
        return report(0, url, why ? why : errno_text(ebuf, saved), "");
    }
    /* The status line without "HTTP/1.x ": "404 Not Found". */
    const char *status = str_chr(line, ' ') + 1;
    return report(code >= 200 && code < 400, url, status, "");
}
