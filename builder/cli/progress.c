/* builder/cli/progress.c — see progress.h. */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/safetext.h"

int progress_parse(const char *arg, enum progress_mode *m, struct err *e)
{
    if (!strcmp(arg, "auto"))
        *m = PROGRESS_AUTO;
    else if (!strcmp(arg, "plain"))
        *m = PROGRESS_PLAIN;
    else if (!strcmp(arg, "quiet"))
        *m = PROGRESS_QUIET;
    else {
        char q[200];
        return err_set(e, "--progress: \"%s\" is not auto, plain or quiet", safetext_escape(arg, q, sizeof q));
    }
    return 0;
}

enum progress_mode progress_resolve(enum progress_mode m)
{
    if (m != PROGRESS_AUTO)
        return m;
    return isatty(STDERR_FILENO) == 1 ? PROGRESS_TTY : PROGRESS_PLAIN;
}

/* One line to stderr with every byte but the closing newline made printable: one
 * fputs of the whole line, so lines from several threads never mix. */
static void say_line(void *arg, const char *text)
{
    (void)arg;
    char buf[2048];
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)n, text);
    safetext_escape(line, buf, sizeof buf - 1);
    size_t len = strlen(buf);
    buf[len] = '\n';
    buf[len + 1] = '\0';
    fputs(buf, stderr);
    fflush(stderr);
}

struct err_out progress_lines(enum progress_mode m)
{
    return (struct err_out){.say = m == PROGRESS_PLAIN ? say_line : NULL};
}

struct err_out progress_bar(enum progress_mode m)
{
    return (struct err_out){.say = m == PROGRESS_TTY ? err_out_stderr : NULL};
}

bool progress_summary(enum progress_mode m)
{
    return m != PROGRESS_QUIET;
}
