/* init/setup.h — fitting the child to its container (cgroup CPU/memory, FD limit, user,
 * seccomp). Called by main.c around fork:
 *
 *     setup_parent(&opts);          // before fork: compute GOMAXPROCS/GOMEMLIMIT into the
 *                                   // environment, raise RLIMIT_NOFILE, read+validate the
 *                                   // seccomp file into a static buffer. Exits 2 with a
 *                                   // message on a malformed seccomp file (child not started).
 *     pid = fork();
 *     child: setup_child(&opts);    // after setsid/tty: drop groups/gid/uid (--user), then
 *                                   // no_new_privs + install the BPF, right before exec.
 *                                   // On failure prints why and _exit(126).
 *
 * No heap: buffers are static, sized by ARMLET_BPF_MAX_INSNS.
 */
#ifndef ARMLET_INIT_SETUP_H
#define ARMLET_INIT_SETUP_H
#include "options.h"

void setup_parent(const struct options *o);
void setup_child(const struct options *o);

#endif
