/* builder/cli/progress.h — --progress auto|plain|quiet for the commands that move images.
 *
 * Lifecycle (in a cmd_*.c; library modules only get the err_out callbacks):
 *     enum progress_mode m = PROGRESS_AUTO;
 *     if (progress_parse(optarg, &m, e) < 0) ... usage error
 *     m = progress_resolve(m);                 // auto: a terminal on stderr? TTY : PLAIN
 *     opts.steps = progress_lines(m);          // PLAIN: one line per blob and per step
 *     opts.progress = progress_bar(m);         // TTY: the line rewritten in place
 *     if (progress_summary(m)) fprintf(stderr, "...summary...\n");
 *
 * Modes: TTY (what auto gives on a terminal) keeps the in-place line ("\r..."); PLAIN (what
 * auto gives otherwise: CI logs, pipes) writes one complete line per event, each made
 * safe by progress_lines' writer: every byte outside printable ASCII but the final
 * newline is written as \xHH (safetext.h), so a log never gets a control byte, whatever
 * a layout or a registry named; QUIET writes neither, nor the summary (errors and
 * warnings are still printed, and stdout's results too). */
#ifndef ARMLET_PROGRESS_H
#define ARMLET_PROGRESS_H
#include <stdbool.h>
#include "util/error.h"

enum progress_mode { PROGRESS_AUTO = 0, PROGRESS_PLAIN, PROGRESS_QUIET, PROGRESS_TTY };

/* "auto", "plain" or "quiet" into *m. 0, or ERR naming the option and the word. */
__attribute__((warn_unused_result))
int progress_parse(const char *arg, enum progress_mode *m, struct err *e);
/* AUTO -> TTY when stderr is a terminal, else PLAIN; other modes unchanged. */
enum progress_mode progress_resolve(enum progress_mode m);
/* The step-line writer for PLAIN (escaped, to stderr), else a say-NULL err_out. */
struct err_out progress_lines(enum progress_mode m);
/* The in-place line writer for TTY (stderr as is), else a say-NULL err_out. */
struct err_out progress_bar(enum progress_mode m);
/* Whether the command's closing summary line is printed (not in QUIET). */
bool progress_summary(enum progress_mode m);

#endif
