/* common/bpf_eval.h — a classic-BPF interpreter for seccomp filters: the builder's check
 * that a compacted filter decides as libseccomp's does (seccomp_compact.c), and the tests.
 *
 * qemu-user does not enforce a guest's seccomp filter, so the tests run the exported
 * program here on a seccomp_data of the target's arch (AUDIT_ARCH_*) and syscall
 * numbers. Implements what the kernel's seccomp accepts: LD/LDX (W ABS on seccomp_data,
 * IMM, MEM, LEN), ST/STX, ALU, JMP, RET, TAX/TXA. Little-endian seccomp_data layout:
 * nr (u32) @0, arch (u32) @4, instruction_pointer (u64) @8, args[6] (u64) @16.
 *
 * bpf_eval() returns the filter's 32-bit return value, or BPF_EVAL_BAD for a program
 * the kernel would reject (jump out of range, load outside seccomp_data, no RET).
 * Header-only (static functions) so the builder, the CLI tool and the unit tests share
 * it, with the record codec bpf_insn_decode/bpf_insn_encode. */
#ifndef ARMLET_BPF_EVAL_H
#define ARMLET_BPF_EVAL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BPF_EVAL_BAD 0xdeadbeefu

struct bpf_eval_data {
    uint32_t nr, arch;
    uint64_t ip;
    uint64_t args[6];
};

struct bpf_eval_insn {
    uint16_t code;
    uint8_t jt, jf;
    uint32_t k;
};

/* One raw record (struct sock_filter, little-endian) to and from its fields. */
static inline struct bpf_eval_insn bpf_insn_decode(const unsigned char *r)
{
    struct bpf_eval_insn in = {(uint16_t)(r[0] | r[1] << 8), r[2], r[3],
                               (uint32_t)r[4] | (uint32_t)r[5] << 8 | (uint32_t)r[6] << 16 |
                                   (uint32_t)r[7] << 24};
    return in;
}

static inline void bpf_insn_encode(struct bpf_eval_insn in, unsigned char *r)
{
    r[0] = (unsigned char)in.code;
    r[1] = (unsigned char)(in.code >> 8);
    r[2] = in.jt;
    r[3] = in.jf;
    for (int b = 0; b < 4; b++)
        r[4 + b] = (unsigned char)(in.k >> (8 * b));
}

static inline uint32_t bpf_eval_word(const struct bpf_eval_data *d, uint32_t k, int *bad)
{
    unsigned char raw[64];
    if (k % 4 != 0 || k + 4 > sizeof raw) {
        *bad = 1;
        return 0;
    }
    memset(raw, 0, sizeof raw);
    /* little-endian, as on every armlet platform */
    for (int i = 0; i < 4; i++) {
        raw[0 + i] = (unsigned char)(d->nr >> (8 * i));
        raw[4 + i] = (unsigned char)(d->arch >> (8 * i));
    }
    for (int i = 0; i < 8; i++)
        raw[8 + i] = (unsigned char)(d->ip >> (8 * i));
    for (int a = 0; a < 6; a++)
        for (int i = 0; i < 8; i++)
            raw[16 + 8 * a + i] = (unsigned char)(d->args[a] >> (8 * i));
    return (uint32_t)raw[k] | (uint32_t)raw[k + 1] << 8 | (uint32_t)raw[k + 2] << 16 |
           (uint32_t)raw[k + 3] << 24;
}

/* Run n instructions (raw 8-byte records as exported) on d. */
static inline uint32_t bpf_eval(const unsigned char *prog, size_t n, const struct bpf_eval_data *d)
{
    uint32_t A = 0, X = 0, M[16] = {0};
    int bad = 0;
    for (size_t pc = 0; pc < n; pc++) {
        struct bpf_eval_insn in = bpf_insn_decode(prog + 8 * pc);
        uint32_t cls = in.code & 0x07, src = in.code & 0x08 ? X : in.k;
        switch (cls) {
        case 0x00: /* LD */
        case 0x01: /* LDX */ {
            uint32_t v;
            switch (in.code & 0xe0) {
            case 0x20: v = bpf_eval_word(d, in.k, &bad); break;    /* ABS */
            case 0x00: v = in.k; break;                            /* IMM */
            case 0x60: if (in.k >= 16) return BPF_EVAL_BAD; v = M[in.k]; break; /* MEM */
            case 0x80: v = 64; break;                              /* LEN */
            default: return BPF_EVAL_BAD;
            }
            if (bad || (in.code & 0x18) != 0x00) /* only W size */
                return BPF_EVAL_BAD;
            if (cls == 0x00) A = v; else X = v;
            break;
        }
        case 0x02: /* ST */
        case 0x03: /* STX */
            if (in.k >= 16) return BPF_EVAL_BAD;
            M[in.k] = cls == 0x02 ? A : X;
            break;
        case 0x04: /* ALU */
            switch (in.code & 0xf0) {
            case 0x00: A += src; break;
            case 0x10: A -= src; break;
            case 0x20: A *= src; break;
            case 0x30: if (!src) return 0; A /= src; break; /* kernel: div by 0 returns 0 */
            case 0x90: if (!src) return 0; A %= src; break;
            case 0x40: A |= src; break;
            case 0x50: A &= src; break;
            case 0xa0: A ^= src; break;
            case 0x60: A = src >= 32 ? 0 : A << src; break;
            case 0x70: A = src >= 32 ? 0 : A >> src; break;
            case 0x80: A = (uint32_t)-A; break;
            default: return BPF_EVAL_BAD;
            }
            break;
        case 0x05: { /* JMP */
            size_t off;
            int taken;
            switch (in.code & 0xf0) {
            case 0x00: off = in.k; taken = 1; break; /* JA */
            case 0x10: taken = A == src; break;
            case 0x20: taken = A > src; break;
            case 0x30: taken = A >= src; break;
            case 0x40: taken = (A & src) != 0; break;
            default: return BPF_EVAL_BAD;
            }
            if ((in.code & 0xf0) != 0x00)
                off = taken ? in.jt : in.jf;
            if (pc + 1 + off >= n)
                return BPF_EVAL_BAD;
            pc += off;
            break;
        }
        case 0x06: /* RET */
            return (in.code & 0x18) == 0x10 ? A : in.k;
        case 0x07: /* MISC */
            if ((in.code & 0xf8) == 0x00) X = A;      /* TAX */
            else if ((in.code & 0xf8) == 0x80) A = X; /* TXA */
            else return BPF_EVAL_BAD;
            break;
        }
    }
    return BPF_EVAL_BAD; /* fell off the end: the kernel rejects such a program */
}

/* "ALLOW", "ERRNO 1", "KILL_THREAD" ... into buf. */
static inline const char *bpf_eval_action(uint32_t ret, char *buf, size_t n)
{
    static const struct { uint32_t act; const char *name; } acts[] = {
        {0x80000000u, "KILL_PROCESS"}, {0x00000000u, "KILL_THREAD"}, {0x00030000u, "TRAP"},
        {0x00050000u, "ERRNO"},        {0x7fc00000u, "USER_NOTIF"},  {0x7ff00000u, "TRACE"},
        {0x7ffc0000u, "LOG"},          {0x7fff0000u, "ALLOW"},
    };
    if (ret == BPF_EVAL_BAD) {
        snprintf(buf, n, "BAD_PROGRAM");
        return buf;
    }
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if ((ret & 0xffff0000u) == acts[i].act) {
            if (acts[i].act == 0x00050000u || acts[i].act == 0x7ff00000u)
                snprintf(buf, n, "%s %u", acts[i].name, ret & 0xffffu);
            else
                snprintf(buf, n, "%s", acts[i].name);
            return buf;
        }
    snprintf(buf, n, "UNKNOWN 0x%08x", ret);
    return buf;
}

/* AUDIT_ARCH_* by the names libseccomp uses; 0 if unknown. */
static inline uint32_t bpf_eval_arch(const char *name)
{
    static const struct { const char *name; uint32_t audit; } arches[] = {
        {"x86_64", 0xc000003eu}, {"x86", 0x40000003u}, {"x32", 0xc000003eu},
        {"aarch64", 0xc00000b7u}, {"arm", 0x40000028u},
    };
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
        if (!strcmp(arches[i].name, name))
            return arches[i].audit;
    return 0;
}
#endif
