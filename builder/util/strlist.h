/* builder/util/strlist.h — a growable list of owned strings (argv, env, names seen).
 *
 * Lifecycle:
 *     struct strlist l = {0};                       // empty, nothing allocated
 *     strlist_add(&l, "probe", e);                  // a copy of the string
 *     strlist_addf(&l, e, "--timeout=%lldms", t);   // a formatted string
 *     if (strlist_has(&l, "probe")) ...
 *     use l.v[0 .. l.n-1]                           // l.v[l.n] is NULL: usable as argv
 *     strlist_free(&l);                             // back to empty; safe to call twice
 *
 * The list owns its strings and the array; callers only read them. After an empty list
 * (n == 0) v may be NULL. Lookups are linear: meant for a few dozen entries. No function
 * sets errno for the caller.
 */
#ifndef ARMLET_STRLIST_H
#define ARMLET_STRLIST_H
#include <stddef.h>

#include "util/error.h"

struct strlist {
    char **v;          /* n strings, then NULL (when v is not NULL) */
    size_t n, cap;     /* cap counts the NULL slot */
};

/* Append a copy of str. 0, or ERR ("out of memory") with the list unchanged. */
__attribute__((warn_unused_result))
int strlist_add(struct strlist *l, const char *str, struct err *e);
/* Append a printf-formatted string. 0, or ERR ("out of memory") with the list unchanged. */
__attribute__((format(printf, 3, 4), warn_unused_result))
int strlist_addf(struct strlist *l, struct err *e, const char *fmt, ...);
/* 1 when a string equal to str is in the list, else 0. */
int strlist_has(const struct strlist *l, const char *str);
/* Free every string and the array; the list is empty again. */
void strlist_free(struct strlist *l);

#endif
