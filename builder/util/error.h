/* builder/util/error.h — the one error idiom of the builder.
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
 *
 * What the user must hear that is not an error follows the same rule, library modules
 * never print:
 *   - a warning (the work went on, differently) is collected in the err with err_warn();
 *     the command prints the collected warnings with err_print_warnings(), success or not;
 *   - output the user asked for while work runs (--verbose traces, a progress line) goes
 *     to a struct err_out callback the command hands down (err_out_stderr: as is, to
 *     stderr); results are returned in the module's result struct.
 */
#ifndef ARMLET_ERROR_H
#define ARMLET_ERROR_H
#include <stddef.h>

#define ERR (-1)

struct err {
    int errnum;          /* errno of the root cause, or 0 */
    char msg[4096];
    char warnings[1024]; /* err_warn lines, each ending in '\n'; kept by err_set/sys/ctx */
};

/* Where a module sends text for the user while it works. say(arg, text) gets one
 * complete piece of text (a line with its '\n', or a progress update starting with
 * '\r'); it may be called from several threads at once. say NULL: the text is dropped. */
struct err_out {
    void (*say)(void *arg, const char *text);
    void *arg;
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
/* Clear to "no error" and no warnings. Must precede err_warn on that err. */
void err_clear(struct err *e);
/* Collect a warning (without "armlet: warning: " and newline) in e; an overlong one is
 * cut, warnings past the buffer are dropped. Returns nothing: the work goes on. */
__attribute__((format(printf, 2, 3)))
void err_warn(struct err *e, const char *fmt, ...);
/* Print each collected warning as "armlet: warning: <text>" on stderr, then forget them. */
void err_print_warnings(struct err *e);

/* Format and hand the text to o->say; nothing when o or o->say is NULL. */
__attribute__((format(printf, 2, 3)))
void err_say(const struct err_out *o, const char *fmt, ...);
/* An err_out say() for commands: writes text to stderr as is. */
void err_out_stderr(void *arg, const char *text);

#endif
