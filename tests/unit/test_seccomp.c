/* tests/unit/test_seccomp.c — builder/seccomp/seccomp_compile.c: profiles in, BPF out, evaluated
 * with the test suite's own BPF interpreter on each arch's seccomp_data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_eval.h"
#include "util/platform.h"
#include "seccomp/seccomp_compile.h"
#include "unit.h"

#define AUDIT_X86_64 0xc000003eu
#define AUDIT_I386 0x40000003u
#define AUDIT_AARCH64 0xc00000b7u
#define AUDIT_ARM 0x40000028u
#define ACT_ALLOW 0x7fff0000u
#define ACT_ERRNO(e) (0x00050000u | (e))
#define ACT_KILL_THREAD 0u

struct compiled {
    unsigned char *bpf;
    size_t len;
    int rc;
    struct err e;
};

static struct compiled compile(const char *json, const char *plat, unsigned flags)
{
    struct compiled c;
    memset(&c, 0, sizeof c);
    c.rc = seccomp_compile_json(json, strlen(json), "p.json", platform_lookup(plat), flags, &c.bpf,
                                &c.len, &c.e);
    return c;
}

static uint32_t run(const struct compiled *c, uint32_t arch, uint32_t nr, uint64_t a0)
{
    struct bpf_eval_data d = {.nr = nr, .arch = arch, .args = {a0}};
    return c->bpf ? bpf_eval(c->bpf, c->len / 8, &d) : BPF_EVAL_BAD;
}

static void expect_error(const char *json, const char *msg)
{
    struct compiled c = compile(json, "linux/amd64", 0);
    CHECK(c.rc < 0);
    CHECK(c.bpf == NULL);
    CHECK_STR(c.e.msg, msg);
}

static void test_malformed_profiles_name_the_field(void)
{
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                 "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                 "{\"names\":[\"gettid\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"write\"],\"action\":\"SCMP_ACT_FOO\"}]}",
                 "p.json: syscalls[3].action: unknown action \"SCMP_ACT_FOO\"");
    expect_error("{\"syscalls\":[]}", "p.json: defaultAction: missing");
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"action\":\"SCMP_ACT_ALLOW\"}]}",
                 "p.json: syscalls[0]: no \"names\" (or \"name\")");
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                 "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":7,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                 "p.json: syscalls[0].args[0].index: expected 0..5");
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                 "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ABOUT\"}]}]}",
                 "p.json: syscalls[0].args[0].op: unknown operator \"SCMP_CMP_ABOUT\"");
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":\"one\"}",
                 "p.json: defaultErrnoRet: expected an errno number 0..4095");
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":{}}",
                 "p.json: archMap: expected an array");
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                 "\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":\"CAP_SYS_ADMIN\"}}]}",
                 "p.json: syscalls[0].includes.caps: expected an array");
    expect_error("[1]", "p.json: expected a JSON object at the top");
    struct compiled c = compile("{\"defaultAction\":", "linux/amd64", 0);
    CHECK(c.rc < 0);
    CHECK(strncmp(c.e.msg, "p.json:1:", 9) == 0 && strstr(c.e.msg, "invalid JSON"));
}

#define DENY_MKDIR                                                                                 \
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"archMap\":["                                          \
    "{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]}," \
    "{\"architecture\":\"SCMP_ARCH_AARCH64\",\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],"         \
    "\"syscalls\":["                                                                                \
    "{\"names\":[\"mkdir\",\"mkdirat\",\"breakpoint\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}"

static void test_errno_rule_on_each_arch_with_its_own_numbers(void)
{
    struct compiled x = compile(DENY_MKDIR, "linux/amd64", 0);
    CHECK(x.rc == 0);
    CHECK(run(&x, AUDIT_X86_64, 83, 0) == ACT_ERRNO(38));     /* mkdir */
    CHECK(run(&x, AUDIT_X86_64, 258, 0) == ACT_ERRNO(38));    /* mkdirat */
    CHECK(run(&x, AUDIT_X86_64, 39, 0) == ACT_ALLOW);         /* getpid */
    CHECK(run(&x, AUDIT_I386, 39, 0) == ACT_ERRNO(38));       /* mkdir on i386 is 39 */
    CHECK(run(&x, AUDIT_X86_64, 0x40000000u | 83, 0) == ACT_ERRNO(38)); /* x32 mkdir */
    CHECK(run(&x, AUDIT_AARCH64, 34, 0) == ACT_KILL_THREAD);  /* foreign arch */
    struct compiled a = compile(DENY_MKDIR, "linux/arm64", 0);
    CHECK(a.rc == 0);
    CHECK(run(&a, AUDIT_AARCH64, 34, 0) == ACT_ERRNO(38));    /* mkdirat */
    CHECK(run(&a, AUDIT_AARCH64, 39, 0) == ACT_ALLOW);        /* umount2 on arm64 */
    CHECK(run(&a, AUDIT_ARM, 323, 0) == ACT_ERRNO(38));       /* compat arm mkdirat */
    CHECK(run(&a, AUDIT_ARM, 39, 0) == ACT_ERRNO(38));        /* compat arm mkdir */
    CHECK(run(&a, AUDIT_X86_64, 83, 0) == ACT_KILL_THREAD);
    struct compiled r = compile(DENY_MKDIR, "linux/arm/v6", 0);
    CHECK(r.rc == 0);
    CHECK(run(&r, AUDIT_ARM, 323, 0) == ACT_ERRNO(38));
    CHECK(run(&r, AUDIT_AARCH64, 34, 0) == ACT_KILL_THREAD);  /* arm has no compat arch */
    /* without an archMap only the target's own arch is in the filter, as with runc */
    struct compiled n = compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdirat\"],"
                                "\"action\":\"SCMP_ACT_ERRNO\"}]}", "linux/arm64", 0);
    CHECK(run(&n, AUDIT_AARCH64, 34, 0) == ACT_ERRNO(EPERM));
    CHECK(run(&n, AUDIT_ARM, 323, 0) == ACT_KILL_THREAD);
    /* --native-only drops the compat arch even when the archMap names it */
    struct compiled o = compile(DENY_MKDIR, "linux/arm64", SECCOMP_COMPILE_NATIVE_ONLY);
    CHECK(run(&o, AUDIT_AARCH64, 34, 0) == ACT_ERRNO(38));
    CHECK(run(&o, AUDIT_ARM, 323, 0) == ACT_KILL_THREAD);
    CHECK(o.len < a.len);
    free(o.bpf);
    free(x.bpf);
    free(a.bpf);
    free(r.bpf);
    free(n.bpf);
}

static void test_args_conditions_and_same_index_or(void)
{
    /* personality(0), personality(8) allowed, as in Docker's default: two rules, OR */
    const char *p = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"syscalls\":["
                    "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                    "{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},"
                    "{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},"
                    "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                    "{\"index\":0,\"value\":2114060288,\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}";
    struct compiled c = compile(p, "linux/amd64", 0);
    CHECK(c.rc == 0);
    CHECK(run(&c, AUDIT_X86_64, 135, 0) == ACT_ALLOW);
    CHECK(run(&c, AUDIT_X86_64, 135, 8) == ACT_ALLOW);
    CHECK(run(&c, AUDIT_X86_64, 135, 9) == ACT_ERRNO(1));
    CHECK(run(&c, AUDIT_X86_64, 56, 0x11) == ACT_ALLOW);          /* clone(SIGCHLD) */
    CHECK(run(&c, AUDIT_X86_64, 56, 0x10000000) == ACT_ERRNO(1)); /* CLONE_NEWUSER */
    free(c.bpf);
}

static void test_caps_and_arches_gate_rules(void)
{
    const char *p = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                    "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
                    "{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
                    "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"arm64\"]}},"
                    "{\"names\":[\"gettid\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"arches\":[\"arm64\"]},"
                    "\"includes\":{\"minKernel\":\"4.8\"}}]}";
    struct compiled x = compile(p, "linux/amd64", 0);
    CHECK(run(&x, AUDIT_X86_64, 165, 0) == ACT_ERRNO(EPERM)); /* mount: needs a cap */
    CHECK(run(&x, AUDIT_X86_64, 101, 0) == ACT_ALLOW);        /* ptrace: excludes a cap */
    CHECK(run(&x, AUDIT_X86_64, 39, 0) == ACT_ERRNO(EPERM));  /* getpid: arm64 only */
    CHECK(run(&x, AUDIT_X86_64, 186, 0) == ACT_ALLOW);        /* gettid: not on arm64 */
    struct compiled a = compile(p, "linux/arm64", 0);
    CHECK(run(&a, AUDIT_AARCH64, 172, 0) == ACT_ALLOW);       /* getpid */
    CHECK(run(&a, AUDIT_AARCH64, 178, 0) == ACT_ERRNO(EPERM));/* gettid */
    free(x.bpf);
    free(a.bpf);
}

static void test_arch_map_restricted_to_target(void)
{
    /* old format: architectures list; for arm64 none of them apply, aarch64 is still added */
    const char *p = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
                    "\"syscalls\":[{\"name\":\"getpid\",\"action\":\"SCMP_ACT_ALLOW\",\"args\":[]}]}";
    struct compiled x = compile(p, "linux/amd64", 0);
    CHECK(run(&x, AUDIT_I386, 20, 0) == ACT_ALLOW);           /* x86 listed */
    CHECK(run(&x, AUDIT_X86_64, 0x40000000u | 39, 0) != ACT_ALLOW); /* x32 not listed */
    struct compiled a = compile(p, "linux/arm64", 0);
    CHECK(run(&a, AUDIT_AARCH64, 172, 0) == ACT_ALLOW);
    CHECK(run(&a, AUDIT_ARM, 20, 0) == ACT_KILL_THREAD);      /* arm not listed */
    free(x.bpf);
    free(a.bpf);
}

static void test_default_is_docker_default_without_caps(void)
{
    struct compiled d = compile(seccomp_default_json, "linux/arm64", 0);
    CHECK(d.rc == 0);
    CHECK(run(&d, AUDIT_AARCH64, 34, 0) == ACT_ALLOW);        /* mkdirat */
    CHECK(run(&d, AUDIT_AARCH64, 40, 0) == ACT_ERRNO(1));     /* mount: CAP_SYS_ADMIN only */
    CHECK(run(&d, AUDIT_AARCH64, 142, 0) == ACT_ERRNO(1));    /* reboot */
    CHECK(run(&d, AUDIT_AARCH64, 435, 0) == ACT_ERRNO(38));   /* clone3 -> ENOSYS */
    CHECK(run(&d, AUDIT_ARM, 20, 0) == ACT_ALLOW);            /* getpid, compat arm */
    CHECK(run(&d, AUDIT_ARM, 983045, 0) == ACT_ALLOW);        /* ARM set_tls */
    /* the linear layout (no binary tree) decides the same */
    struct compiled l = compile(seccomp_default_json, "linux/arm64", SECCOMP_COMPILE_NO_OPTIMIZE);
    CHECK(l.rc == 0);
    CHECK(l.len != d.len);
    for (uint32_t nr = 0; nr < 500; nr++) {
        CHECK(run(&l, AUDIT_AARCH64, nr, 0) == run(&d, AUDIT_AARCH64, nr, 0));
        CHECK(run(&l, AUDIT_ARM, nr, 0) == run(&d, AUDIT_ARM, nr, 0));
    }
    free(d.bpf);
    free(l.bpf);
}

/* A syscall name no architecture has is a typo: an error naming the file, the rule and
 * the name, even in a rule that does not apply to the target; real names of another arch
 * (Docker's old format names arm's "send" under x86 arches) and syscalls newer than
 * libseccomp's table (Docker's default names "mseal") are not. */
static void test_unknown_syscall_name_is_an_error_naming_the_rule(void)
{
    struct compiled c = compile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],"
                                "\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"mkdir\",\"mkdri\"],\"action\":"
                                "\"SCMP_ACT_ALLOW\"}]}", "linux/amd64", 0);
    CHECK(c.rc < 0);
    CHECK(strncmp(c.e.msg, "p.json: syscalls[1].names[1]: unknown syscall \"mkdri\" (not a syscall of any "
                           "architecture libseccomp ", 79) == 0);
    c = compile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"name\":\"getpidd\",\"action\":"
                "\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}", "linux/arm64", 0);
    CHECK(c.rc < 0 && strstr(c.e.msg, "p.json: syscalls[0].name: unknown syscall \"getpidd\""));
    struct compiled ok = compile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
                                 "\"syscalls\":[{\"names\":[\"send\",\"recv\",\"mseal\",\"listmount\","
                                 "\"s390_runtime_instr\",\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
                                 "linux/amd64", 0);
    CHECK(ok.rc == 0);
    CHECK(run(&ok, AUDIT_X86_64, 39, 0) == ACT_ALLOW);
    free(ok.bpf);
}

/* An architecture name outside the OCI spec's list is an error naming it and where; one
 * in the list that concerns another target (or that this libseccomp lacks) is fine. */
static void test_unknown_architecture_is_an_error_naming_it(void)
{
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\","
                 "\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X23\"]}]}",
                 "p.json: archMap[0].subArchitectures[1]: unknown architecture \"SCMP_ARCH_X23\"");
    /* in an entry for another target too */
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":\"SCMP_ARCH_S390X\","
                 "\"subArchitectures\":[\"SCMP_ARCH_S390\"]},{\"architecture\":\"SCMP_ARCH_RISCV\"}]}",
                 "p.json: archMap[1].architecture: unknown architecture \"SCMP_ARCH_RISCV\"");
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_AMD64\"]}",
                 "p.json: architectures[1]: unknown architecture \"SCMP_ARCH_AMD64\"");
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"x86_64\"]}",
                 "p.json: architectures[0]: unknown architecture \"x86_64\"");
    struct compiled ok = compile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":"
                                 "\"SCMP_ARCH_LOONGARCH64\"},{\"architecture\":\"SCMP_ARCH_AARCH64\","
                                 "\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],\"syscalls\":[{\"names\":[\"getpid\"],"
                                 "\"action\":\"SCMP_ACT_ALLOW\"}]}", "linux/arm64", 0);
    CHECK(ok.rc == 0);
    CHECK(run(&ok, AUDIT_ARM, 20, 0) == ACT_ALLOW);
    free(ok.bpf);
}

/* Docker's values are uint64: 2^63..2^64-1 are taken exactly (jansson alone refuses them
 * or, as reals, rounds them), with EQ and MASKED_EQ; beyond 2^64-1, negative, or a big
 * number where none belongs is an error; line:column stay right after a rewritten one. */
static void test_argument_values_up_to_2_pow_64_minus_1(void)
{
    const char *p = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                    "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
                    "\"value\":18446744073709551615,\"op\":\"SCMP_CMP_EQ\"}]},"
                    "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
                    "\"value\":9223372036854775808,\"valueTwo\":9223372036854775808,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
                    "{\"names\":[\"gettid\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
                    "\"value\":18446744073709551614,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,"
                    "\"value\":9223372036854775807,\"op\":\"SCMP_CMP_EQ\"}]}]}";
    struct compiled c = compile(p, "linux/amd64", 0);
    CHECK(c.rc == 0);
    CHECK(run(&c, AUDIT_X86_64, 135, UINT64_MAX) == ACT_ALLOW);
    CHECK(run(&c, AUDIT_X86_64, 135, 0xffffffffu) == ACT_ERRNO(EPERM));
    CHECK(run(&c, AUDIT_X86_64, 135, 0xffffffff00000000u) == ACT_ERRNO(EPERM));
    CHECK(run(&c, AUDIT_X86_64, 135, UINT64_MAX - 1) == ACT_ERRNO(EPERM));
    CHECK(run(&c, AUDIT_X86_64, 39, 1ull << 63) == ACT_ALLOW);
    CHECK(run(&c, AUDIT_X86_64, 39, (1ull << 63) | 5) == ACT_ALLOW);
    CHECK(run(&c, AUDIT_X86_64, 39, INT64_MAX) == ACT_ERRNO(EPERM));
    CHECK(run(&c, AUDIT_X86_64, 39, 0x80000000u) == ACT_ERRNO(EPERM));
    CHECK(run(&c, AUDIT_X86_64, 186, UINT64_MAX - 1) == ACT_ALLOW);
    CHECK(run(&c, AUDIT_X86_64, 186, INT64_MAX) == ACT_ALLOW);
    CHECK(run(&c, AUDIT_X86_64, 186, UINT64_MAX) == ACT_ERRNO(EPERM));
    free(c.bpf);
    /* arm's arguments are 32 bits: libseccomp compares the low word */
    c = compile(p, "linux/arm/v7", 0);
    CHECK(c.rc == 0);
    CHECK(run(&c, AUDIT_ARM, 136, 0xffffffffu) == ACT_ALLOW);
    CHECK(run(&c, AUDIT_ARM, 136, 0xfffffffeu) == ACT_ERRNO(EPERM));
    free(c.bpf);
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                 "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":-1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                 "p.json: syscalls[0].args[0].value: expected an unsigned integer");
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                 "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":18446744073709551615,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                 "p.json: syscalls[0].args[0].index: expected 0..5");
    expect_error("{\"defaultAction\":9223372036854775808}",
                 "p.json: defaultAction: expected an action string \"SCMP_ACT_...\"");
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                 "\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1.5,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                 "p.json: syscalls[0].args[0].value: expected an unsigned integer");
    c = compile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"x\":[18446744073709551616]}", "linux/amd64", 0);
    CHECK(c.rc < 0 && strstr(c.e.msg, "p.json:1:") && strstr(c.e.msg, "too big integer"));
    /* "\u0000" in a string is refused (it marks the rewritten values) */
    expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"x\":\"a\\u0000\"}",
                 "p.json:1:41: invalid JSON: \\u0000 is not allowed");
    /* the same column as without the big number before it: the rewrite keeps lengths */
    expect_error("{\"a\":[18446744073709551615,9223372036854775808],\n \"defaultAction\": ]}",
                 "p.json:2:19: invalid JSON: unexpected token near ']'");
    expect_error("{\"a\":[1,2],\n \"defaultAction\": ]}", "p.json:2:19: invalid JSON: unexpected token near ']'");
}

/* Numbers libseccomp has no name for answer ENOSYS on every arch of the filter; known
 * ones keep the profile's decision, its default action included. (The exhaustive check
 * against libseccomp's table is in test_seccomp_compact.) */
static void test_unknown_numbers_get_enosys_known_ones_the_profiles_answer(void)
{
    struct compiled x = compile(seccomp_default_json, "linux/amd64", 0);
    CHECK(run(&x, AUDIT_X86_64, 999, 0) == ACT_ERRNO(ENOSYS));
    CHECK(run(&x, AUDIT_X86_64, 335, 0) == ACT_ERRNO(ENOSYS));        /* x86_64's hole 335..423 */
    CHECK(run(&x, AUDIT_X86_64, 0xffffffffu, 0) == ACT_ERRNO(ENOSYS));
    CHECK(run(&x, AUDIT_X86_64, 169, 0) == ACT_ERRNO(1));              /* reboot: known, denied */
    CHECK(run(&x, AUDIT_X86_64, 39, 0) == ACT_ALLOW);
    CHECK(run(&x, AUDIT_X86_64, 0x40000000u + 16, 0) == ACT_ERRNO(ENOSYS)); /* x32: 64-bit-only ioctl */
    CHECK(run(&x, AUDIT_X86_64, 0x40000000u + 514, 0) == ACT_ALLOW);  /* x32's own ioctl */
    CHECK(run(&x, AUDIT_I386, 222, 0) == ACT_ERRNO(ENOSYS));           /* i386's unused 222 */
    CHECK(run(&x, AUDIT_AARCH64, 999, 0) == ACT_KILL_THREAD);          /* not an arch of it */
    struct compiled n = compile(seccomp_default_json, "linux/amd64", SECCOMP_COMPILE_NATIVE_ONLY);
    CHECK(run(&n, AUDIT_X86_64, 999, 0) == ACT_ERRNO(ENOSYS));
    CHECK(run(&n, AUDIT_X86_64, 0x40000000u + 39, 0) == ACT_KILL_THREAD); /* x32 left out */
    CHECK(run(&n, AUDIT_X86_64, 0x40000000u + 999, 0) == ACT_KILL_THREAD);
    struct compiled a = compile(seccomp_default_json, "linux/arm64", 0);
    CHECK(run(&a, AUDIT_AARCH64, 999, 0) == ACT_ERRNO(ENOSYS));
    CHECK(run(&a, AUDIT_AARCH64, 244, 0) == ACT_ERRNO(ENOSYS));        /* arch-specific, none */
    CHECK(run(&a, AUDIT_ARM, 0xf0005, 0) == ACT_ALLOW);                /* set_tls */
    CHECK(run(&a, AUDIT_ARM, 0xf0006, 0) == ACT_ERRNO(1));             /* get_tls: known, denied */
    CHECK(run(&a, AUDIT_ARM, 0xf0007, 0) == ACT_ERRNO(ENOSYS));
    CHECK(run(&a, AUDIT_ARM, 0xf0800, 0) == ACT_ERRNO(ENOSYS));
    CHECK(run(&a, AUDIT_ARM, 17, 0) == ACT_ERRNO(ENOSYS));             /* removed OABI call */
    free(x.bpf);
    free(n.bpf);
    free(a.bpf);
    /* a kill default: unknown numbers answer ENOSYS, known unlisted ones are killed */
    struct compiled k = compile("{\"defaultAction\":\"SCMP_ACT_KILL_PROCESS\",\"syscalls\":[{\"names\":"
                                "[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"}]}", "linux/arm/v7", 0);
    CHECK(run(&k, AUDIT_ARM, 20, 0) == ACT_ALLOW);
    CHECK(run(&k, AUDIT_ARM, 21, 0) == 0x80000000u);
    CHECK(run(&k, AUDIT_ARM, 999, 0) == ACT_ERRNO(ENOSYS));
    free(k.bpf);
    /* no prelude where the default lets calls through or already is ENOSYS */
    static const char *const same[] = {
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
        "{\"defaultAction\":\"SCMP_ACT_LOG\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
        "{\"defaultAction\":\"SCMP_ACT_TRACE\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"syscalls\":[{\"names\":[\"getpid\"],"
        "\"action\":\"SCMP_ACT_ALLOW\"}]}",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        struct compiled w = compile(same[i], "linux/amd64", SECCOMP_COMPILE_NO_COMPACT);
        struct compiled wo = compile(same[i], "linux/amd64", SECCOMP_COMPILE_NO_COMPACT | SECCOMP_COMPILE_NO_ENOSYS);
        CHECK(w.rc == 0 && wo.rc == 0 && w.len == wo.len && !memcmp(w.bpf, wo.bpf, w.len));
        free(w.bpf);
        free(wo.bpf);
    }
}

static void test_notify_is_refused(void)
{
    expect_error("{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}",
                 "p.json: defaultAction: SCMP_ACT_NOTIFY needs a runtime listener; armlet-init has none");
}

int main(void)
{
    RUN(test_malformed_profiles_name_the_field);
    RUN(test_errno_rule_on_each_arch_with_its_own_numbers);
    RUN(test_args_conditions_and_same_index_or);
    RUN(test_caps_and_arches_gate_rules);
    RUN(test_arch_map_restricted_to_target);
    RUN(test_default_is_docker_default_without_caps);
    RUN(test_notify_is_refused);
    RUN(test_unknown_numbers_get_enosys_known_ones_the_profiles_answer);
    RUN(test_unknown_syscall_name_is_an_error_naming_the_rule);
    RUN(test_unknown_architecture_is_an_error_naming_it);
    RUN(test_argument_values_up_to_2_pow_64_minus_1);
    return unit_done();
}
