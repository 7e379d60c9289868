/* tests/fuzz/fuzz_recipe.c — libFuzzer harness for the recipe parser.
 *
 * Any bytes go to recipe_parse_buffer(); a recipe that parses has every stored string
 * run through recipe_expand() for every platform (which must then succeed: the parser
 * has already checked each ${...}), and is freed. ASan/LSan/UBSan report any crash,
 * overflow or leak. Seeds: tests/fuzz/corpus/fuzz_recipe/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recipe.h"

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
    for (size_t i = 0; i < r->nentries; i++) {
        expand_all(r->entries[i].dest);
        expand_all(r->entries[i].src);
    }
    for (size_t i = 0; i < r->nenv; i++)
        expand_all(r->env[i].value);
    for (size_t i = 0; i < r->nlabels; i++)
        expand_all(r->labels[i].value);
    for (size_t i = 0; i < r->nentrypoint; i++)
        expand_all(r->entrypoint[i]);
    for (size_t i = 0; i < r->ncmd; i++)
        expand_all(r->cmd[i]);
    for (size_t i = 0; i < r->ninit; i++)
        expand_all(r->init[i].value);
    expand_all(r->workdir);
    expand_all(r->health.url);
    (void)recipe_init_get(r, "cpu");
    recipe_free(r);
    return 0;
}
