/* init/rlimit.h — --nofile: fit RLIMIT_NOFILE before the child starts (it inherits it).
 *
 *     rlimit_nofile(mode, n, verbose);   // parent, before fork
 *
 * mode 1 (N): soft limit = N, but never lower than it is (a program may rely on what it
 * inherited). When N is above the hard limit the init tries to raise the hard limit too
 * (needs CAP_SYS_RESOURCE), to at most fs.nr_open (says so when N is above it); when it
 * may not, it warns and sets the soft limit to the hard limit instead: like tini users
 * expect, a limit that cannot be had is a warning, never a failure. mode 2 (max): soft =
 * hard. mode 0: nothing.
 */
#ifndef ARMLET_INIT_RLIMIT_H
#define ARMLET_INIT_RLIMIT_H
#include <stdint.h>

/* Returns the soft limit in force afterwards (0 if it could not be read). */
uint64_t rlimit_nofile(int mode, uint64_t n, int verbose);

#endif
