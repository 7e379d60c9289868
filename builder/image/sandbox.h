/* builder/image/sandbox.h — run a program from an unpacked image rootfs, contained.
 *
 * `armlet profile` runs images other people built, as root, on a build machine that may
 * hold registry credentials. A chroot contains nothing (a root program leaves it with a
 * second chroot; it sees the host's network, processes and environment). The sandbox
 * gives the program what a container runtime gives it, with no runtime installed:
 *
 *   - new user, mount, PID, network, IPC and UTS namespaces;
 *   - the image's user: inside UID/GID are the image's; outside they are the same
 *     numbers, except image root (0), which is the unprivileged 65534 (nobody) on the
 *     host, so no image program is ever host root; no supplementary groups;
 *     no_new_privs;
 *   - the rootfs bind-mounted and made the root with pivot_root, the old root detached
 *     (no path leads out, chroot or not); fresh /proc for the PID namespace, a tmpfs
 *     /dev with null, zero, full, random, urandom and tty bound from the host, a tmpfs
 *     /tmp; the rootfs stays writable to the owners of its files, as in Docker (a
 *     read-only root would stop the kernel stamping atimes, which profile reads);
 *   - only the loopback interface, up; the host's network is unreachable. The caller
 *     reaches the program's ports by entering its network namespace
 *     (sandbox_enter_net);
 *   - exactly the environment given (the image's), never the caller's.
 *
 * Mount points the rootfs lacks (/proc, /dev) are created in it first, as runc does.
 * Where the kernel refuses a namespace (user namespaces disabled, a seccomp profile
 * around armlet) sandbox_start fails with a message saying so: it never falls back to
 * running the program unconfined.
 */
#ifndef ARMLET_SANDBOX_H
#define ARMLET_SANDBOX_H
#include <sys/types.h>

#include "util/error.h"

struct sandbox_opts {
    const char *root;       /* the rootfs folder on the host */
    char *const *argv;      /* argv[0] is searched in the image's PATH (envp) */
    char *const *envp;      /* the program's whole environment (NULL: PATH only) */
    uid_t uid;              /* inside the sandbox: the image's user */
    gid_t gid;
    const char *workdir;    /* inside; NULL or "" = "/" */
};

/* Starts the program; returns its host PID, which is also its process group and the
 * PID 1 of its PID namespace (so one SIGKILL ends everything it started), or ERR with
 * *e set (an exec failure inside is reported here too). stdin is /dev/null, stdout goes
 * to the caller's stderr. */
pid_t sandbox_start(const struct sandbox_opts *o, struct err *e);

/* Moves the calling thread into the network namespace of sandbox PID pid; *saved gets a
 * handle to the previous one for sandbox_leave_net. */
int sandbox_enter_net(pid_t pid, int *saved, struct err *e);
void sandbox_leave_net(int saved);

#endif
