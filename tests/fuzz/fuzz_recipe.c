/* tests/fuzz/fuzz_recipe.c — libFuzzer harness for the recipe parser and its expansion.
 *
 * Any bytes go to recipe_parse_buffer() (the lexer, every directive, the JSON exec form
 * with its continuation lines). A recipe that parses is then
 *   - run through recipe_expand() string by string for every platform, which must
 *     succeed (the parser has already checked each ${...});
 *   - parsed again for every platform with recipe_for_platform(), which either fails
 *     with a message (a value that is bad only once expanded, e.g. a ".wh." name made by
 *     an empty ${variant}) or gives a recipe of the same shape with no "${" left in any
 *     value;
 * and everything is freed. ASan/LSan/UBSan report any crash, overflow or leak. Seeds:
 * tests/fuzz/corpus/fuzz_recipe/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recipe/recipe.h"

static void expand_all(const char *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < platform_count; i++) {
        struct err e;
        char *x = recipe_expand(s, &platform_table[i], &e);
        if (!x)
            abort();   /* the parser let through a ${...} that expand refuses */
        free(x);
    }
}

/* Call fn on every string the recipe carries. */
static void each_string(const struct recipe *r, void (*fn)(const char *))
{
    for (size_t i = 0; i < r->nentries; i++) {
        fn(r->entries[i].dest);
        fn(r->entries[i].src);
    }
    const struct recipe_kv *lists[] = {r->env, r->labels, r->init};
    size_t counts[] = {r->nenv, r->nlabels, r->ninit};
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            fn(lists[l][i].key);
            fn(lists[l][i].value);
        }
    for (size_t i = 0; i < r->nentrypoint; i++)
        fn(r->entrypoint[i]);
    for (size_t i = 0; i < r->ncmd; i++)
        fn(r->cmd[i]);
    for (size_t i = 0; i < r->nexpose; i++)
        fn(r->expose[i]);
    fn(r->workdir);
    fn(r->health.url);
    fn(r->stop_signal);
}

static void no_variable_left(const char *s)
{
    if (s && strstr(s, "${"))
        abort();   /* recipe_for_platform left a ${...} unexpanded */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct recipe *r = NULL;
    struct err e;
    if (recipe_parse_buffer("fuzz.recipe", (const char *)data, size, &r, &e) < 0) {
        if (r || !e.msg[0] || strlen(e.msg) >= sizeof e.msg)
            abort();   /* an error must come with a message and no recipe */
        return 0;
    }
    each_string(r, expand_all);
    (void)recipe_init_get(r, "cpu");
    for (size_t i = 0; i < platform_count; i++) {
        struct recipe *x = NULL;
        if (recipe_for_platform(r, &platform_table[i], &x, &e) < 0) {
            if (x || !e.msg[0])
                abort();
            continue;
        }
        if (x->nentries != r->nentries || x->nenv != r->nenv || x->nlabels != r->nlabels ||
            x->nentrypoint != r->nentrypoint || x->ncmd != r->ncmd || x->ninit != r->ninit)
            abort();   /* expansion changed the recipe's shape */
        each_string(x, no_variable_left);
        recipe_free(x);
    }
    recipe_free(r);
    return 0;
}
