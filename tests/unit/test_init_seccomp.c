/* tests/unit/test_init_seccomp.c — bpf_check(), the init's pre-fork check of a --seccomp
 * program: everything the kernel would refuse (opcodes seccomp does not take, loads
 * outside seccomp_data, M[] out of range, a constant division by zero, shifts over 31,
 * jumps out, no return at the end) and a program for another architecture are refused
 * with a reason; sound programs, with or without a look at seccomp_data, pass. Built for
 * the host (x86_64): "this architecture" is AUDIT_ARCH_X86_64 here. */
#include "seccomp_load.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ARCH_X86_64 0xc000003eu
#define ARCH_AARCH64 0xc00000b7u
#define LD_ABS(k) { 0x20, 0, 0, k }
#define JEQ(k, t, f) { 0x15, t, f, k }
#define RET(k) { 0x06, 0, 0, k }
#define ALLOW 0x7fff0000u
#define KILL 0u

static void test_sound_programs_pass(void)
{
    /* The shape libseccomp and `armlet seccomp compile` write: arch chain, nr, rules. */
    const struct bpf_eval_insn arch_chain[] = {
        LD_ABS(4), JEQ(0x40000003u, 2, 0), JEQ(ARCH_X86_64, 1, 0), RET(KILL),
        LD_ABS(0), JEQ(59, 0, 1), RET(0x00050001u), RET(ALLOW),
    };
    CHECK(bpf_check(arch_chain, N(arch_chain)) == NULL);
    /* Scratch memory, ALU, TAX/TXA, LEN and every jump kind, all in range. */
    const struct bpf_eval_insn busy[] = {
        LD_ABS(4), JEQ(ARCH_X86_64, 1, 0), RET(KILL),
        { 0x20, 0, 0, 16 },      /* ld args[0] */
        { 0x02, 0, 0, 15 },      /* st M[15] */
        { 0x61, 0, 0, 15 },      /* ldx M[15] */
        { 0x34, 0, 0, 3 },       /* div #3 */
        { 0x74, 0, 0, 31 },      /* rsh #31 */
        { 0x07, 0, 0, 0 },       /* tax */
        { 0x80, 0, 0, 0 },       /* ld len */
        { 0x45, 0, 1, 1 },       /* jset #1 */
        { 0x05, 0, 0, 1 },       /* ja +1 */
        RET(KILL), { 0x16, 0, 0, 0 }, /* ret a */
    };
    CHECK(bpf_check(busy, N(busy)) == NULL);
    /* A program that never reads seccomp_data is the same on every arch. */
    const struct bpf_eval_insn allow[] = { RET(ALLOW) };
    CHECK(bpf_check(allow, 1) == NULL);
}

static void test_what_the_kernel_refuses_is_refused_before_fork(void)
{
    const struct bpf_eval_insn head[] = { LD_ABS(4), JEQ(ARCH_X86_64, 1, 0), RET(KILL) };
    struct bpf_eval_insn p[8];
    static const struct { struct bpf_eval_insn ins; const char *why; } bad[] = {
        { { 0x30, 0, 0, 0 }, "an opcode seccomp refuses" },       /* ld b abs */
        { { 0x94, 0, 0, 7 }, "an opcode seccomp refuses" },       /* mod #7 */
        { { 0x0e, 0, 0, 0 }, "an opcode seccomp refuses" },       /* ret x */
        { { 0x115, 0, 0, 0 }, "an opcode seccomp refuses" },      /* over 8 bits */
        { { 0x20, 0, 0, 64 }, "a load outside seccomp_data" },
        { { 0x20, 0, 0, 2 }, "a load outside seccomp_data" },     /* unaligned */
        { { 0x02, 0, 0, 16 }, "M[k] out of range" },              /* st M[16] */
        { { 0x60, 0, 0, 99 }, "M[k] out of range" },              /* ld M[99] */
        { { 0x34, 0, 0, 0 }, "a division by zero" },
        { { 0x64, 0, 0, 32 }, "a shift over 31" },
        { { 0x05, 0, 0, 1 }, "a jump out of it" },                /* ja past the end */
        { { 0x15, 1, 0, 0 }, "a jump out of it" },
        { { 0x1d, 0, 200, 0 }, "a jump out of it" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        memcpy(p, head, sizeof head);
        p[3] = bad[i].ins;
        p[4] = (struct bpf_eval_insn)RET(ALLOW);
        const char *why = bpf_check(p, 5);
        if (!why || strcmp(why, bad[i].why)) {
            fprintf(stderr, "case %zu: got %s\n", i, why ? why : "(sound)");
            CHECK(0);
        }
    }
    const struct bpf_eval_insn no_ret[] = { LD_ABS(4), JEQ(ARCH_X86_64, 0, 0), LD_ABS(0) };
    CHECK_STR(bpf_check(no_ret, N(no_ret)), "no return at its end");
    CHECK_STR(bpf_check(no_ret, 0), "empty");
}

static void test_a_filter_for_another_architecture_is_refused(void)
{
    const struct bpf_eval_insn arm64[] = {
        LD_ABS(4), JEQ(ARCH_AARCH64, 2, 0), JEQ(0x40000028u, 1, 0), RET(KILL),
        LD_ABS(0), RET(ALLOW),
    };
    CHECK_STR(bpf_check(arm64, N(arm64)), "for another architecture (not x86_64)");
    /* Reads the syscall number without looking at the arch first. */
    const struct bpf_eval_insn no_arch[] = { LD_ABS(0), JEQ(59, 0, 1), RET(KILL), RET(ALLOW) };
    CHECK_STR(bpf_check(no_arch, N(no_arch)), "no architecture check first");
}

int main(void)
{
    RUN(test_sound_programs_pass);
    RUN(test_what_the_kernel_refuses_is_refused_before_fork);
    RUN(test_a_filter_for_another_architecture_is_refused);
    return unit_done();
}
