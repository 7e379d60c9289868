/* tests/unit/unit.h — a dozen lines of test harness for the C unit tests.
 *
 * Each test file defines `static void test_x(void)` functions and a main() that calls
 * RUN(test_x) for each, then returns unit_done(). CHECK(cond) records a failure with
 * file:line and carries on, so one run shows every broken expectation. */
#ifndef ARMLET_TESTS_UNIT_H
#define ARMLET_TESTS_UNIT_H
#include <stdio.h>
#include <string.h>

static int unit_failures, unit_current_failed;
#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    unit_failures++; unit_current_failed = 1; } } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) { \
    fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    unit_failures++; unit_current_failed = 1; } } while (0)
#define RUN(fn) do { unit_current_failed = 0; fn(); \
    printf("%s %s\n", unit_current_failed ? "not ok" : "ok", #fn); } while (0)
static inline int unit_done(void) { return unit_failures ? 1 : 0; }
#endif
