/* tests/unit/test_strlist.c — the string list behind argv/env in image configs, the
 * library search and the layout's garbage collection: copies, NULL end, lookup, reuse. */
#include <stdlib.h>
#include <string.h>

#include "util/strlist.h"
#include "unit.h"

static void test_strings_are_copies_and_the_array_ends_with_null(void)
{
    struct err e = {0};
    struct strlist l = {0};
    char word[] = "probe";
    CHECK(strlist_add(&l, word, &e) == 0);
    word[0] = 'X';
    CHECK(strlist_addf(&l, &e, "--timeout=%dms", 900) == 0);
    CHECK(l.n == 2);
    CHECK_STR(l.v[0], "probe");
    CHECK_STR(l.v[1], "--timeout=900ms");
    CHECK(l.v[2] == NULL);
    strlist_free(&l);
}

static void test_many_strings_keep_their_order(void)
{
    struct err e = {0};
    struct strlist l = {0};
    for (int i = 0; i < 1000; i++)
        CHECK(strlist_addf(&l, &e, "s%d", i) == 0);
    CHECK(l.n == 1000 && l.v[1000] == NULL);
    CHECK_STR(l.v[0], "s0");
    CHECK_STR(l.v[16], "s16");
    CHECK_STR(l.v[999], "s999");
    strlist_free(&l);
}

static void test_has_matches_whole_strings_only(void)
{
    struct err e = {0};
    struct strlist l = {0};
    CHECK(!strlist_has(&l, "/lib"));
    CHECK(strlist_add(&l, "/lib", &e) == 0 && strlist_add(&l, "/usr/lib", &e) == 0);
    CHECK(strlist_has(&l, "/lib") && strlist_has(&l, "/usr/lib"));
    CHECK(!strlist_has(&l, "/li") && !strlist_has(&l, "/lib/") && !strlist_has(&l, ""));
    strlist_free(&l);
}

static void test_free_empties_the_list_for_reuse(void)
{
    struct err e = {0};
    struct strlist l = {0};
    strlist_free(&l);   /* an empty list frees to itself */
    CHECK(strlist_add(&l, "a", &e) == 0);
    strlist_free(&l);
    CHECK(l.v == NULL && l.n == 0 && l.cap == 0);
    strlist_free(&l);
    CHECK(strlist_add(&l, "b", &e) == 0 && l.n == 1);
    CHECK_STR(l.v[0], "b");
    strlist_free(&l);
}

int main(void)
{
    RUN(test_strings_are_copies_and_the_array_ends_with_null);
    RUN(test_many_strings_keep_their_order);
    RUN(test_has_matches_whole_strings_only);
    RUN(test_free_empties_the_list_for_reuse);
    return unit_done();
}
