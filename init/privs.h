/* init/privs.h — --user: drop to UID:GID in the child, just before seccomp and exec.
 *
 * Order matters: supplementary groups first (needs CAP_SETGID), then the gid (needs
 * CAP_SETGID), the uid last (after it no capability is left to do the rest). Groups are
 * cleared to none: the image's /etc/group is not read (no heap, no NSS in the init).
 * Raw setres[ug]id syscalls: musl's setuid() goes through its all-threads machinery,
 * which the single-threaded child does not need and which would grow the init.
 */
#ifndef ARMLET_INIT_PRIVS_H
#define ARMLET_INIT_PRIVS_H
#include <stdint.h>

/* Become uid:gid (real, effective, saved) with no supplementary groups. When already
 * exactly that user, does nothing. On failure prints why and _exit(126). */
void privs_drop(uint32_t uid, uint32_t gid);

#endif
