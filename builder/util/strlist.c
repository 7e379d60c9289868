/* builder/util/strlist.c — see strlist.h. */
#include "util/strlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Make room for one more string and the NULL after it. */
static int reserve_one(struct strlist *l, struct err *e)
{
    if (l->n + 1 < l->cap)
        return 0;
    size_t cap = l->cap ? l->cap * 2 : 16;
    char **v = realloc(l->v, cap * sizeof *v);
    if (!v)
        return err_set(e, "out of memory");
    l->v = v;
    l->cap = cap;
    return 0;
}

/* Take ownership of s (NULL: allocation failed) as the last string. */
static int append_owned(struct strlist *l, char *s, struct err *e)
{
    if (!s)
        return err_set(e, "out of memory");
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
    return 0;
}

int strlist_add(struct strlist *l, const char *str, struct err *e)
{
    if (reserve_one(l, e) < 0)
        return ERR;
    return append_owned(l, strdup(str), e);
}

int strlist_addf(struct strlist *l, struct err *e, const char *fmt, ...)
{
    if (reserve_one(l, e) < 0)
        return ERR;
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&s, fmt, ap);
    va_end(ap);
    return append_owned(l, rc < 0 ? NULL : s, e);
}

int strlist_has(const struct strlist *l, const char *str)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], str))
            return 1;
    return 0;
}

void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}
