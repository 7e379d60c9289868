/* tests/unit/unit.h — the test harness for the C unit tests, and their temp-file helpers.
 *
 * Each test file defines `static void test_x(void)` functions and a main() that calls
 * RUN(test_x) for each, then returns unit_done(). CHECK(cond) records a failure with
 * file:line and carries on, so one run shows every broken expectation. */
#ifndef ARMLET_TESTS_UNIT_H
#define ARMLET_TESTS_UNIT_H
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int unit_failures, unit_current_failed;
#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    unit_failures++; unit_current_failed = 1; } } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) { \
    fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    unit_failures++; unit_current_failed = 1; } } while (0)
/* One line per case, "ok test_x" or "not ok test_x": tests/run records each as its own
 * result. Flushed at once, so the cases before a sanitizer abort or a crash still count. */
#define RUN(fn) do { unit_current_failed = 0; fn(); \
    printf("%s %s\n", unit_current_failed ? "not ok" : "ok", #fn); fflush(stdout); } while (0)
static inline int unit_done(void) { return unit_failures ? 1 : 0; }

/* Files for the tests that need a folder of their own:
 *     if (!unit_tmpdir(root, sizeof root, "test_tree")) return 2;   // /tmp/armlet-test_tree.XXXXXX
 *     unit_write_text(path, "hello");        // a failed write counts as a failed check
 *     buf = unit_read_file(path, &len);      // malloc'd, NUL after the end; NULL if unreadable
 *     unit_rm_tree(root);                    // at the end of main() */

/* A new folder /tmp/armlet-<tag>.XXXXXX, its path in buf (n bytes). buf, or NULL (errno). */
static inline char *unit_tmpdir(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/armlet-%s.XXXXXX", tag);
    return mkdtemp(buf);
}

static inline int unit_remove_entry(const char *path, const struct stat *st, int flag,
                                    struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Remove path and everything below it (symlinks are removed, never followed). */
static inline void unit_rm_tree(const char *path)
{
    if (nftw(path, unit_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "cleanup of %s failed\n", path);
}

/* Create or truncate path with len bytes of data. 0, or -1 counted as a failed check. */
static inline int unit_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "cannot write %s\n", path);
        unit_failures++;
        unit_current_failed = 1;
    }
    return ok ? 0 : -1;
}

static inline int unit_write_text(const char *path, const char *text)
{
    return unit_write_file(path, text, strlen(text));
}

/* The whole of path, malloc'd with a NUL after its last byte; *len its size.
 * NULL when it cannot be opened or read. */
static inline unsigned char *unit_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}
#endif
