/* init/seccomp_load.c — see seccomp_load.h. The kernel's uapi structs are spelled out
 * here: the musl cross sysroots carry no linux uapi headers. */
#include "seccomp_load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "armlet_shared.h"
#include "util.h"

struct sock_filter_ { /* struct sock_filter */
    uint16_t code;
    uint8_t jt, jf;
    uint32_t k;
};
struct sock_fprog_ { /* struct sock_fprog */
    unsigned short len;
    struct sock_filter_ *filter;
};
#define SECCOMP_SET_MODE_FILTER_ 1
#define SECCOMP_MODE_FILTER_ 2
#define SECCOMP_DATA_SIZE 64 /* sizeof(struct seccomp_data) */

static struct sock_filter_ prog[ARMLET_BPF_MAX_INSNS];
static size_t prog_len;

const char *bpf_check(const unsigned char *raw, size_t n)
{
    if (n == 0)
        return "empty";
    for (size_t pc = 0; pc < n; pc++) {
        const unsigned char *r = raw + pc * ARMLET_BPF_INSN_SIZE;
        unsigned code = (unsigned)(r[0] | r[1] << 8), cls = code & 7;
        uint32_t k = (uint32_t)r[4] | (uint32_t)r[5] << 8 | (uint32_t)r[6] << 16 | (uint32_t)r[7] << 24;
        size_t left = n - pc - 1;
        if (cls == 5) { /* JMP: JA jumps k, the rest jt/jf */
            if ((code & 0xf0) == 0 ? k >= left : (r[2] >= left || r[3] >= left))
                return "a jump leaves the program";
        } else if (cls <= 1 && (code & 0xe0) == 0x20) { /* LD/LDX ABS */
            if (k % 4 || k + 4 > SECCOMP_DATA_SIZE)
                return "a load outside seccomp_data";
        }
    }
    if ((raw[(n - 1) * ARMLET_BPF_INSN_SIZE] & 7) != 6)
        return "the last instruction is not a return";
    return NULL;
}

static void bad_file(const char *path, const char *why)
{
    DIE(2, "--seccomp ", path, ": ", why);
}

size_t bpf_file_read(const char *path)
{
    int fd = open_ro(path, O_CLOEXEC);
    size_t len = 0;
    ssize_t k;
    if (fd < 0) {
        SAY_ERRNO("--seccomp ", path);
        exit(2);
    }
    char *buf = (char *)prog, extra;
    k = 0;
    while (len < sizeof prog && (k = read(fd, buf + len, sizeof prog - len)) > 0)
        len += (size_t)k;
    if (k >= 0 && len == sizeof prog)
        k = read(fd, &extra, 1); /* one more byte: too big */
    close(fd);
    if (k < 0) {
        SAY_ERRNO("--seccomp ", path);
        exit(2);
    }
    if (k > 0)
        bad_file(path, "over 4096 instructions (the kernel's limit)");
    if (len == 0 || len % ARMLET_BPF_INSN_SIZE)
        bad_file(path, "not raw BPF (size not a multiple of 8)");
    const char *why = bpf_check((const unsigned char *)prog, len / ARMLET_BPF_INSN_SIZE);
    if (why)
        bad_file(path, why);
    prog_len = len / ARMLET_BPF_INSN_SIZE;
    return prog_len;
}

void bpf_install(void)
{
    struct sock_fprog_ fp = {(unsigned short)prog_len, prog};
    if (!prog_len)
        return;
    /* no_new_privs: required to install a filter without CAP_SYS_ADMIN, and it keeps a
     * setuid program from escaping the filter. */
    if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        goto fail;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER_, 0, &fp) == 0)
        return;
    if (errno != ENOSYS)
        goto fail;
    /* Kernels before 3.17 have only the prctl. */
    if (syscall(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER_, &fp, 0, 0) == 0)
        return;
    if (errno == EINVAL) {
        /* Neither call exists: a kernel built without seccomp filters, or qemu-user,
         * which refuses guest filters. Like Docker on such a kernel, run unfiltered —
         * but say so: an emulated foreign-arch container must still start. */
        SAY("--seccomp: no seccomp filters here (kernel without CONFIG_SECCOMP_FILTER, "
            "or qemu-user): running WITHOUT the filter");
        return;
    }
fail:
    SAY_ERRNO("--seccomp: installing the filter");
    _exit(126);
}
