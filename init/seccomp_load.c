/* init/seccomp_load.c — see seccomp_load.h. The kernel's uapi structs are spelled out
 * here: the musl cross sysroots carry no linux uapi headers. */
#include "seccomp_load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "armlet_shared.h"
#include "exit_codes.h"
#include "util.h"

_Static_assert(sizeof(struct bpf_eval_insn) == ARMLET_BPF_INSN_SIZE, "struct sock_filter");

struct sock_fprog_ { /* struct sock_fprog */
    unsigned short len;
    struct bpf_eval_insn *filter;
};
#define SECCOMP_SET_MODE_FILTER_ 1
#define SECCOMP_MODE_FILTER_ 2

/* The AUDIT_ARCH_* value the kernel puts in seccomp_data.arch for this init's own
 * system calls (an arm init on an arm64 kernel is AUDIT_ARCH_ARM too). */
#if defined(__x86_64__)
#define ARCH_NATIVE 0xc000003eu
#define ARCH_NAME "x86_64"
#elif defined(__aarch64__)
#define ARCH_NATIVE 0xc00000b7u
#define ARCH_NAME "aarch64"
#else
#define ARCH_NATIVE 0x40000028u
#define ARCH_NAME "arm"
#endif

static struct bpf_eval_insn prog[ARMLET_BPF_MAX_INSNS];
static size_t prog_len;

/* The opcodes seccomp accepts, a bit each: LD/LDX IMM, MEM and W LEN, LD W ABS, ST, STX,
 * ALU ADD SUB MUL DIV OR AND LSH RSH XOR (K and X) and NEG, JA, JEQ JGT JGE JSET (K and
 * X), RET K and A, TAX, TXA. No MOD, no byte/half or indirect loads. */
static const uint32_t ok_codes[8] = {
    0x307010ff, 0x30303031, 0x10103030, 0x10101013, 0x00000093, 0x00001010, 0, 0,
};

const char *bpf_check(const struct bpf_eval_insn *p, size_t n)
{
    unsigned loads = 0;
    if (n == 0)
        return "empty";
    for (size_t pc = 0; pc < n; pc++) {
        unsigned c = p[pc].code;
        uint32_t k = p[pc].k;
        size_t left = n - pc - 1, t = p[pc].jt, f = p[pc].jf;
        if (c > 0xff || !(ok_codes[c >> 5] >> (c & 31) & 1))
            return "an opcode seccomp refuses";
        if (c == 0x20) { /* LD W ABS */
            loads = 1;
            if (k & 3 || k >= 64)
                return "a load outside seccomp_data";
        }
        /* ST, STX, LD MEM, LDX MEM. (The kernel also refuses a read of a cell not
         * written on every path before; compilers of seccomp filters use no M[].) */
        if ((c < 4 && c > 1) || (c | 1) == 0x61) {
            if (k >= 16)
                return "M[k] out of range";
        }
        if (c == 0x34 && !k)
            return "a division by zero";
        if ((c == 0x64 || c == 0x74) && k >= 32)
            return "a shift over 31";
        if (c == 5) /* JA jumps k, the other jumps jt or jf */
            t = f = k;
        if ((c & 7) == 5 && (t >= left || f >= left))
            return "a jump out of it";
    }
    if ((p[n - 1].code & 7) != 6)
        return "no return at its end";
    if (!loads)
        return NULL; /* decides without looking at the call: same on every arch */
    if (p[0].code != 0x20 || p[0].k != 4)
        return "no architecture check first";
    for (size_t pc = 1; p[pc].code == 0x15; pc += 1u + p[pc].jf)
        if (p[pc].k == ARCH_NATIVE)
            return NULL;
    return "for another architecture (not " ARCH_NAME ")";
}

static void bad_file(const char *path, const char *why)
{
    DIE(EXIT_USAGE, "--seccomp ", path, ": ", why);
}

size_t bpf_file_read(const char *path)
{
    int fd = open_ro(path, O_CLOEXEC);
    size_t len = 0;
    ssize_t k;
    if (fd < 0) {
        SAY_ERRNO("--seccomp ", path);
        _exit(EXIT_USAGE);
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
        _exit(EXIT_USAGE);
    }
    if (k > 0)
        bad_file(path, "over 4096 instructions");
    if (len == 0 || len % ARMLET_BPF_INSN_SIZE)
        bad_file(path, "not raw BPF (size)");
    /* The file's records, decoded where they lie into the struct sock_filter the kernel
     * takes (on these little-endian targets the same bytes: the codec is the shared one). */
    for (size_t i = 0; i < len / ARMLET_BPF_INSN_SIZE; i++)
        prog[i] = bpf_insn_decode((const unsigned char *)&prog[i]);
    const char *why = bpf_check(prog, len / ARMLET_BPF_INSN_SIZE);
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
    /* EINVAL: either there are no seccomp filters here at all, or the kernel refused
     * this program (and seccomp(2) answered ENOSYS because an outer filter says so).
     * The first must run, the second must not: a kernel with seccomp answers
     * PR_GET_SECCOMP (0, or 2 under an outer filter); one without it, and qemu-user,
     * which refuses guest filters, answer EINVAL there too. Then, as Docker on such a
     * kernel, run unfiltered -- but say so: an emulated foreign-arch container must
     * still start. */
    if (errno == EINVAL && syscall(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
        SAY("--seccomp: no seccomp here (kernel without it, or qemu-user): running WITHOUT the filter");
        return;
    }
fail:
    SAY_ERRNO("--seccomp: installing the filter");
    _exit(EXIT_NOEXEC);
}
