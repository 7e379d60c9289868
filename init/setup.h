/* init/setup.h — fitting the child to its container (cgroup CPU/memory, FD limit, user,
 * seccomp). Called by main.c around fork:
 *
 *     setup_parent(&opts);          // before fork: raise RLIMIT_NOFILE, read+validate the
 *                                   // seccomp file into a static buffer (exits 2 with a
 *                                   // message on a malformed one: child not started), then
 *                                   // compute GOMAXPROCS/GOMEMLIMIT into the environment
 *                                   // -- unless a filter is to be loaded too: then it only
 *                                   // opens a pipe (O_CLOEXEC) and the cgroup work waits
 *                                   // for setup_parent_forked(), to overlap the filter load.
 *     pid = fork();
 *     child: setup_child(&opts);    // after setpgid/tty: drop groups/gid/uid (--user), then
 *                                   // no_new_privs + install the BPF; with the pipe, then
 *                                   // reads the variables from it until EOF into the
 *                                   // environment (so the profile must allow read). Right
 *                                   // before exec. On failure prints why and _exit(126).
 *     parent: setup_parent_forked(&opts); // at once after fork: with the pipe, moves
 *                                   // itself off the child's CPU (affinity, put back
 *                                   // after), reads the cgroups, writes the variables in
 *                                   // one write, closes both ends. Without it, nothing.
 *
 * No heap: buffers are static, sized by ARMLET_BPF_MAX_INSNS and the few variables.
 */
#ifndef ARMLET_INIT_SETUP_H
#define ARMLET_INIT_SETUP_H
#include "options.h"

void setup_parent(const struct options *o);
void setup_parent_forked(const struct options *o);
void setup_child(const struct options *o);

#endif
