/* init/privs.c — see privs.h. */
#include "privs.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "exit_codes.h"
#include "util.h"

/* 32-bit ARM has 16-bit id syscalls under the plain names; the 32 variants take uid_t. */
#ifdef SYS_setresuid32
#define SYS_SETRESUID SYS_setresuid32
#define SYS_SETRESGID SYS_setresgid32
#define SYS_SETGROUPS SYS_setgroups32
#else
#define SYS_SETRESUID SYS_setresuid
#define SYS_SETRESGID SYS_setresgid
#define SYS_SETGROUPS SYS_setgroups
#endif

void privs_drop(uint32_t uid, uint32_t gid)
{
    char a[21], b[21];
    if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid)
        return;
    const char *step = "setgroups";
    if (syscall(SYS_SETGROUPS, 0, (void *)0) != 0 ||
        (step = "setresgid", syscall(SYS_SETRESGID, gid, gid, gid)) != 0 ||
        (step = "setresuid", syscall(SYS_SETRESUID, uid, uid, uid)) != 0) {
        SAY_ERRNO("--user ", fmt_i64(a, uid), ":", fmt_i64(b, gid), ": ", step);
        _exit(EXIT_NOEXEC);
    }
}
