/* builder/util/error.c — see error.h for the idiom. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->errnum = 0;
    return ERR;
}

int err_sys(struct err *e, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof e->msg)
        snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(errnum));
    e->errnum = errnum;
    return ERR;
}

int err_ctx(struct err *e, const char *fmt, ...)
{
    char prev[sizeof e->msg];
    memcpy(prev, e->msg, sizeof prev);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    /* Append ": <prev>" by hand: the result may be cut at the buffer's end on purpose,
     * and gcc's -Wformat-truncation would object to snprintf doing it. */
    if (n >= 0 && (size_t)n < sizeof e->msg) {
        size_t at = (size_t)n, room = sizeof e->msg - at - 1;
        size_t plen = strlen(prev);
        const char sep[] = ": ";
        size_t k = room < 2 ? room : 2;
        memcpy(e->msg + at, sep, k);
        at += k, room -= k;
        if (plen > room)
            plen = room;
        memcpy(e->msg + at, prev, plen);
        e->msg[at + plen] = '\0';
    }
    return ERR;
}

void err_print(const struct err *e)
{
    fprintf(stderr, "armlet: %s\n", e->msg[0] ? e->msg : "unknown error");
}

void err_clear(struct err *e)
{
    e->errnum = 0;
    e->msg[0] = '\0';
    e->warnings[0] = '\0';
}

void err_warn(struct err *e, const char *fmt, ...)
{
    size_t at = strnlen(e->warnings, sizeof e->warnings);
    if (at + 2 >= sizeof e->warnings)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->warnings + at, sizeof e->warnings - at - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        e->warnings[at] = '\0';
        return;
    }
    at += strlen(e->warnings + at);
    e->warnings[at] = '\n';
    e->warnings[at + 1] = '\0';
}

void err_print_warnings(struct err *e)
{
    for (char *l = e->warnings, *nl; *l; l = nl + 1) {
        nl = strchr(l, '\n');
        fprintf(stderr, "armlet: warning: %.*s\n", (int)(nl - l), l);
    }
    e->warnings[0] = '\0';
}

void err_say(const struct err_out *o, const char *fmt, ...)
{
    if (!o || !o->say)
        return;
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    o->say(o->arg, text);
}

void err_out_stderr(void *arg, const char *text)
{
    (void)arg;
    fputs(text, stderr);
    fflush(stderr);
}
