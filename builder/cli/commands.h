/* builder/cli/commands.h — one function per `armlet` subcommand, one file each (cmd_*.c).
 * Each takes the arguments after the subcommand name (argv[0] = the subcommand),
 * prints its own errors (err_print) and returns the process exit status:
 * 0 success, 1 failure, 2 usage error. */
#ifndef ARMLET_COMMANDS_H
#define ARMLET_COMMANDS_H
#include <jansson.h>
#include "cli/progress.h"

int cmd_build(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_seccomp(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_sbom(int argc, char **argv);

/* push_layout (push.h) with the commands' output, for `push` and `build --push`:
 * progress as mode says (progress.h: the in-place line on a terminal, one line per blob
 * and step in plain mode, nothing when quiet), then "pushed HOST/REPO:TAG@DIGEST" on
 * stdout and the counts on stderr (not when quiet). md (metadata.h) may be NULL; else
 * the pushed ref is added to it, and what the tag names and its manifests when md has
 * none yet. o may be NULL. Returns 0 or ERR with e set (not printed). */
struct err;
struct push_opts;
int cmd_push_layout(const char *dir, const char *tag, const char *ref, const struct push_opts *o,
                    enum progress_mode mode, json_t *md, struct err *e);

#endif
