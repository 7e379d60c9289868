/* builder/commands.h — one function per `armlet` subcommand, one file each (cmd_*.c).
 * Each takes the arguments after the subcommand name (argv[0] = the subcommand),
 * prints its own errors (err_print) and returns the process exit status:
 * 0 success, 1 failure, 2 usage error. */
#ifndef ARMLET_COMMANDS_H
#define ARMLET_COMMANDS_H

int cmd_build(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_seccomp(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_sbom(int argc, char **argv);

/* push_layout (push.h) with the commands' output, for `push` and `build --push`: the
 * progress line on stderr when it is a terminal, then "pushed HOST/REPO:TAG@DIGEST" on
 * stdout and the counts on stderr. o may be NULL. Returns 0 or ERR with e set (not
 * printed). */
struct err;
struct push_opts;
int cmd_push_layout(const char *dir, const char *tag, const char *ref, const struct push_opts *o,
                    struct err *e);

#endif
