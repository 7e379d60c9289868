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

#endif
