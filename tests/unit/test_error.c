/* tests/unit/test_error.c — warnings collect in struct err across errors; err_say reaches
 * the command's callback, or nothing. */
#include "util/error.h"
#include "unit.h"

static void test_warnings_collect_in_order_and_survive_errors(void)
{
    struct err e;
    err_clear(&e);
    err_warn(&e, "first %d", 1);
    err_set(&e, "a later failure");
    err_ctx(&e, "context");
    err_warn(&e, "second");
    CHECK_STR(e.warnings, "first 1\nsecond\n");
    CHECK_STR(e.msg, "context: a later failure");
    err_clear(&e);
    CHECK_STR(e.warnings, "");
}

static void test_overlong_warnings_are_cut_not_overflowed(void)
{
    struct err e;
    err_clear(&e);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 3; i++)
        err_warn(&e, "%s", big);
    size_t n = strlen(e.warnings);
    CHECK(n < sizeof e.warnings);
    CHECK(n > 0 && e.warnings[n - 1] == '\n');
}

static void collect(void *arg, const char *text)
{
    strcat((char *)arg, text);
}

static void test_say_goes_to_the_callback_or_nowhere(void)
{
    char got[64] = "";
    struct err_out o = {.say = collect, .arg = got};
    err_say(&o, "GET %s -> %d\n", "/v2/", 200);
    err_say(NULL, "dropped\n");
    err_say(&(struct err_out){0}, "dropped\n");
    CHECK_STR(got, "GET /v2/ -> 200\n");
}

int main(void)
{
    RUN(test_warnings_collect_in_order_and_survive_errors);
    RUN(test_overlong_warnings_are_cut_not_overflowed);
    RUN(test_say_goes_to_the_callback_or_nowhere);
    return unit_done();
}
