/* init/util.h — the init's few text helpers: messages on stderr, integers, signal names,
 * and (util.c) the one instance of the value parsers shared with the recipe. No stdio, no heap: everything writes into the caller's or a stack buffer.
 *
 * Messages:  say("started ", prog, (char *)0) writes "armlet-init: started PROG\n" to
 * stderr in one write(2), so lines from the init never interleave mid-line with the
 * child's output. Use the SAY / DIE macros, which add the terminating NULL.
 */
#ifndef ARMLET_INIT_UTIL_H
#define ARMLET_INIT_UTIL_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include "armlet_parse.h"

/* Concatenate the strings up to a NULL into buf (cap >= 1 bytes): cut to fit, always
 * NUL-terminated. Returns the length written. The one string builder of the init. */
size_t join(char *buf, size_t cap, const char *s, ...);
#define JOIN(buf, cap, ...) join(buf, cap, __VA_ARGS__, (const char *)0)

/* Write "armlet-init: " + the strings up to a NULL + "\n" to fd 2. Keeps errno. */
void say(const char *s, ...);
/* As say(), then ": <strerror(errno)>". errno is read first. Keeps errno. */
void say_errno(const char *s, ...);
/* say() then _exit(code): nothing is buffered, nothing registered with atexit. */
noreturn void die(int code, const char *s, ...);
#define SAY(...) say(__VA_ARGS__, (const char *)0)
#define SAY_ERRNO(...) say_errno(__VA_ARGS__, (const char *)0)
#define DIE(code, ...) die(code, __VA_ARGS__, (const char *)0)

/* musl's text for the common errnos, "errno N" (written into buf) for the rest. */
const char *errno_text(char buf[32], int e);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t mono_ns(void);

/* strchr(): musl's goes through a word-at-a-time strchrnul, more code than the init's
 * short strings need. */
char *str_chr(const char *s, int c);

/* getenv(), without musl's strchrnul-based scan. Returns the value or NULL. */
const char *env_get(const char *name);

/* open(path, O_RDONLY | flags) as the raw openat syscall: musl's open() brings its
 * cancellation point, stack protector and an fcntl for old kernels' O_CLOEXEC. Returns
 * the fd or -1 (errno). */
int open_ro(const char *path, int flags);

/* fork() as a bare clone(SIGCHLD): no atfork handlers, no locks (the init has no
 * threads). The child must only exec or _exit, after async-signal-safe calls. */
int fork_raw(void);

/* sigprocmask(SIG_SETMASK, set, old) as the raw syscall (the kernel's 64-bit mask; musl's
 * wrapper goes through pthread_sigmask). Returns 0 or -1 (errno). */
int sigmask_set(const sigset_t *set, sigset_t *old);

/* Write the whole buffer to fd (retries short writes and EINTR). Returns 0 or -1 (errno). */
int write_all(int fd, const char *buf, unsigned long len);

/* Decimal text of v in buf (at least 21 bytes). Returns a pointer into buf. */
char *fmt_i64(char buf[21], int64_t v);

/* The value parsers the recipe shares (common/armlet_parse.h has their contracts),
 * instantiated once in util.c; the init calls these names, never the armlet_* ones.
 * Each returns 0 (sig_parse: the signal) or -1 (parse_rewrite: -1/-2/-3, see there). */
int parse_u64(const char *s, uint64_t max, uint64_t *v);
int parse_duration(const char *s, int64_t *ns);
int sig_parse(const char *s);          /* 0..64, RTMIN = 34 as glibc counts */
char *sig_name(char buf[16], int sig); /* "SIGTERM", "SIGRTMIN+2", "SIG<n>"; returns buf */
int parse_rewrite(const char *v, int *from, int *to);
int parse_ratio_ppm(const char *v, uint32_t *ppm);
int parse_ids(const char *v, uint32_t *uid, uint32_t *gid);
int env_name_ok(const char *s);
int probe_url_parse(const char *url, struct armlet_url *t, const char **why);
size_t span_to(const char *s, const char *stop); /* strcspn, without musl's table */

#endif
