/* builder/error.h — the one error idiom of the builder.
 *
 * Every function that can fail takes `struct err *e` as its last argument and returns
 * a negative value (ERR, -1) on failure after filling *e; 0 (or a count) on success.
 * Callers add context on the way up with err_ctx(), and only the command (cmd_*.c)
 * prints, once, with err_print(). So a user sees
 *     armlet: recipe.txt:7:12: file: source "dist/app-arm64" not found
 * and never a bare ENOENT.
 *
 *     if (recipe_parse_file(path, &r, e) < 0)
 *         return err_ctx(e, "build");            // optional extra context
 *
 * struct err holds a fixed buffer: no allocation, nothing to free. errnum keeps the
 * errno of the first failure (0 when not a system error) for callers that branch on it.
 */
#ifndef ARMLET_ERROR_H
#define ARMLET_ERROR_H
#include <stddef.h>

#define ERR (-1)

struct err {
    int errnum;          /* errno of the root cause, or 0 */
    char msg[4096];
};

/* Set the error: "<fmt>" — returns ERR. Does not change errno. */
__attribute__((format(printf, 2, 3)))
int err_set(struct err *e, const char *fmt, ...);
/* Like err_set, then appends ": strerror(errnum)". Returns ERR. */
__attribute__((format(printf, 3, 4)))
int err_sys(struct err *e, int errnum, const char *fmt, ...);
/* Prepend context: "<fmt>: <previous message>". Returns ERR. */
__attribute__((format(printf, 2, 3)))
int err_ctx(struct err *e, const char *fmt, ...);
/* Print "armlet: <msg>" on stderr. */
void err_print(const struct err *e);
/* Clear to "no error". */
void err_clear(struct err *e);

#endif
