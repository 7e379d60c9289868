/* tests/unit/test_seccomp_compact.c — builder/seccomp/seccomp_compact.c: the compact filter decides
 * exactly what libseccomp's does, for Docker's profiles on every platform, and leaves
 * alone what it cannot reason about.
 *
 * Equivalence is checked independently of the compactor's own self-check: every arch
 * the platforms use (and a foreign one), every syscall number 0..1199, the x32 range,
 * the ARM private range and far numbers, with argument vectors made of the values the
 * profile compares with. And the ENOSYS prelude (seccomp_enosys.h) against a model read
 * from libseccomp's table directly: ENOSYS exactly where it has no name, on the arches
 * of the filter, else libseccomp's own answer. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <seccomp.h>

#include "bpf_eval.h"
#include "util/platform.h"
#include "seccomp/seccomp_compact.h"
#include "seccomp/seccomp_compile.h"
#include "unit.h"

static const uint32_t arches[] = {0xc000003eu /* x86_64, x32 */, 0x40000003u /* x86 */,
                                  0xc00000b7u /* aarch64 */, 0x40000028u /* arm */,
                                  0x80000016u /* s390x: foreign everywhere */, 0};
static const char *platforms[] = {"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6"};

/* Argument values worth trying: what Docker's profiles compare with (personality's
 * values, clone's flag masks, socket's AF_VSOCK) and the extremes. */
static const uint64_t argvals[] = {0, 1, 8, 40, 0x20000, 0x20008, 0xffffffff, 0x7e020000,
                                   0x10000000, 0x100000000ull, UINT64_MAX};

/* The syscall numbers tried on every arch: the whole of today's tables and beyond, x32's
 * range, the ARM private range (0x0f0000..0x0f080f), and a few far ones. */
#define N_NRS (1200 + 1200 + 0x810 + 10)
static uint32_t nrs[N_NRS];

static void nrs_init(void)
{
    static const uint32_t far[10] = {0x0effff, 0x100000, 0x3fffffff, 0x7fffffff, 0x80000000,
                                     0xbfffffff, 0xc0000000, 0xfffffffe, 0xffffffff, 0x0f07ff};
    size_t k = 0;
    for (uint32_t i = 0; i < 1200; i++)
        nrs[k++] = i;
    for (uint32_t i = 0; i < 1200; i++)
        nrs[k++] = 0x40000000u + i;
    for (uint32_t i = 0; i < 0x810; i++) /* the kernel's ENOSYS range ends at 0x0f07ff */
        nrs[k++] = 0x0f0000u + i;
    for (size_t i = 0; i < 10; i++)
        nrs[k++] = far[i];
}

static int same_everywhere(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
    int diffs = 0;
    for (size_t ai = 0; ai < sizeof arches / sizeof arches[0]; ai++)
        for (size_t i = 0; i < N_NRS; i++) {
            uint32_t nr = nrs[i];
            /* every argument vector where rules with arguments live, two elsewhere */
            size_t nv = nr % 0x40000000u < 1200 ? sizeof argvals / sizeof argvals[0] : 2;
            for (size_t v = 0; v < nv; v++) {
                struct bpf_eval_data d = {.nr = nr, .arch = arches[ai]};
                for (int x = 0; x < 6; x++)
                    d.args[x] = nv == 2 ? (v ? UINT64_MAX : 0)
                                        : argvals[(v + (size_t)x) % (sizeof argvals / sizeof argvals[0])];
                uint32_t ra = bpf_eval(a, na, &d), rb = bpf_eval(b, nb, &d);
                if (ra != rb && diffs++ < 5)
                    fprintf(stderr, "  arch 0x%08x nr %u arg0 0x%llx: uncompacted 0x%08x, compact 0x%08x\n",
                            d.arch, nr, (unsigned long long)d.args[0], ra, rb);
            }
        }
    return diffs == 0;
}

/* The model of seccomp_enosys.h, from libseccomp's table directly: is nr unknown on the
 * arch the kernel reports as `audit` (x86_64's x32 half by x32's table)? Cached. */
static int unknown_nr(size_t ai, size_t i)
{
    static signed char cache[sizeof arches / sizeof arches[0]][N_NRS];
    static int filled;
    if (!filled) {
        for (size_t a = 0; a < sizeof arches / sizeof arches[0]; a++)
            for (size_t k = 0; k < N_NRS; k++) {
                uint32_t tok = arches[a] == SCMP_ARCH_X86_64 && nrs[k] >= 0x40000000u ? SCMP_ARCH_X32 : arches[a];
                char *name = nrs[k] <= INT32_MAX ? seccomp_syscall_resolve_num_arch(tok, (int)nrs[k]) : NULL;
                cache[a][k] = name == NULL;
                free(name);
            }
        filled = 1;
    }
    return cache[ai][i];
}

/* Does the profile ask for the ENOSYS prelude (its default neither lets calls through
 * nor is ENOSYS already)? */
static int wants_enosys(const char *json, size_t n)
{
    json_t *root = json_loadb(json, n, 0, NULL);
    const char *act = json_string_value(json_object_get(root, "defaultAction"));
    json_int_t eret = json_integer_value(json_object_get(root, "defaultErrnoRet"));
    int r = act && strcmp(act, "SCMP_ACT_ALLOW") && strcmp(act, "SCMP_ACT_LOG") && strcmp(act, "SCMP_ACT_TRACE") &&
            !(!strcmp(act, "SCMP_ACT_ERRNO") && eret == 38);
    json_decref(root);
    return r;
}

/* The compiled program `got` against libseccomp's own `raw` (no prelude, not compacted),
 * on every arch and number: where libseccomp has no name for the number on an arch of
 * the filter, ENOSYS; everywhere else libseccomp's answer. An arch (or x86_64's x32
 * half) is in the filter when libseccomp's program answers anything but its bad-arch
 * kill for one of its numbers (every profile tried here allows something). */
static int enosys_where_libseccomp_knows_no_name(const unsigned char *raw, size_t nr_, const unsigned char *got,
                                                 size_t ng, int wanted)
{
    int diffs = 0;
    for (size_t ai = 0; ai < sizeof arches / sizeof arches[0]; ai++) {
        int in[2] = {0, 0}; /* [0] the arch, [1] its x32 half */
        for (size_t i = 0; i < N_NRS; i++) {
            struct bpf_eval_data d = {.nr = nrs[i], .arch = arches[ai]};
            /* (libseccomp answers -1 = 0xffffffff apart: not a sign of x32) */
            if (bpf_eval(raw, nr_, &d) != 0 && nrs[i] < 0x40000000u + 1200)
                in[nrs[i] >= 0x40000000u && arches[ai] == SCMP_ARCH_X86_64] = 1;
        }
        for (size_t i = 0; i < N_NRS; i++) {
            struct bpf_eval_data d = {.nr = nrs[i], .arch = arches[ai]};
            int half = nrs[i] >= 0x40000000u && arches[ai] == SCMP_ARCH_X86_64;
            uint32_t want = bpf_eval(raw, nr_, &d), r = bpf_eval(got, ng, &d);
            if (wanted && (half ? in[1] : in[0]) && unknown_nr(ai, i))
                want = 0x00050000u | 38;
            if (want != r && diffs++ < 5)
                fprintf(stderr, "  arch 0x%08x nr 0x%x: due 0x%08x, compiled 0x%08x\n", d.arch, d.nr, want, r);
        }
    }
    return diffs == 0;
}

/* Compile json both ways for every platform; the compact one must be no longer and
 * decide the same everywhere. */
static void check_profile(const char *json, size_t n, const char *name)
{
    for (size_t pi = 0; pi < sizeof platforms / sizeof platforms[0]; pi++) {
        for (unsigned native = 0; native <= SECCOMP_COMPILE_NATIVE_ONLY; native += SECCOMP_COMPILE_NATIVE_ONLY) {
            const struct platform *p = platform_lookup(platforms[pi]);
            unsigned char *full = NULL, *small = NULL;
            size_t nf = 0, ns = 0;
            struct err e;
            int rf = seccomp_compile_json(json, n, name, p, native | SECCOMP_COMPILE_NO_COMPACT, &full, &nf, &e);
            int rs = seccomp_compile_json(json, n, name, p, native, &small, &ns, &e);
            /* example.json's errnoRet 12345 is refused (libseccomp's limit is 4095)
             * either way; everything else compiles */
            CHECK((rf == 0) == (rs == 0));
            CHECK(rf == 0 || strstr(e.msg, "errnoRet") != NULL);
            if (rf == 0 && rs == 0) {
                CHECK(ns <= nf); /* never longer: when nothing is gained the input is kept */
                /* and its self-check never had to fall back to libseccomp's program */
                unsigned char *again = NULL;
                size_t na = 0;
                int rc = seccomp_compact(full, nf, &again, &na, &e);
                if (rc < 0)
                    fprintf(stderr, "%s %s: %s\n", name, platforms[pi], e.msg);
                CHECK(rc >= 0);
                free(again);
                if (!same_everywhere(full, nf / 8, small, ns / 8)) {
                    fprintf(stderr, "%s %s%s: decisions differ\n", name, platforms[pi], native ? " native-only" : "");
                    CHECK(0);
                }
                unsigned char *raw = NULL;
                size_t nraw = 0;
                CHECK(seccomp_compile_json(json, n, name, p, native | SECCOMP_COMPILE_NO_COMPACT |
                                           SECCOMP_COMPILE_NO_ENOSYS, &raw, &nraw, &e) == 0);
                if (!enosys_where_libseccomp_knows_no_name(raw, nraw / 8, small, ns / 8, wants_enosys(json, n))) {
                    fprintf(stderr, "%s %s%s: not ENOSYS exactly where libseccomp has no name\n", name,
                            platforms[pi], native ? " native-only" : "");
                    CHECK(0);
                }
                free(raw);
            }
            free(full);
            free(small);
        }
    }
}

static void test_default_profile_same_decisions_shorter(void)
{
    check_profile(seccomp_default_json, seccomp_default_json_len, "default");
    /* the figures the README quotes (libseccomp: 1,209 / 806 / 456 instructions) */
    static const size_t most[] = {400, 300, 200, 200};
    for (size_t pi = 0; pi < sizeof platforms / sizeof platforms[0]; pi++) {
        unsigned char *b = NULL;
        size_t n = 0;
        struct err e;
        CHECK(seccomp_compile_json(seccomp_default_json, seccomp_default_json_len, "default",
                                   platform_lookup(platforms[pi]), 0, &b, &n, &e) == 0);
        CHECK(n / 8 <= most[pi]);
        free(b);
    }
}

/* Small profiles: one rule, one arch, argument conditions, an exception-only search. */
static void test_small_profiles(void)
{
    static const char *profiles[] = {
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"archMap\":[{\"architecture\":\"SCMP_ARCH_AARCH64\","
        "\"subArchitectures\":[\"SCMP_ARCH_ARM\"]},{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":"
        "[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]}],\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],"
        "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}",
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"syscalls\":[{\"names\":[\"personality\"],"
        "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},"
        "{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\","
        "\"args\":[{\"index\":0,\"value\":2114060288,\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}",
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\",\"write\",\"close\",\"getpid\","
        "\"exit_group\",\"gettid\",\"tgkill\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"kill\"],"
        "\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}",
    };
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
        check_profile(profiles[i], strlen(profiles[i]), "small");
}

/* Docker's own profiles, as the repository carries them (tests/fixtures/seccomp; the
 * unit tests run from the top of the clone). */
static void test_docker_profiles_same_decisions_shorter(void)
{
    const char *dir = "tests/fixtures/seccomp";
    DIR *d = opendir(dir);
    int seen = 0;
    CHECK(d != NULL); /* part of the clone: a missing folder is a failure */
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json"))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t n = 0;
        char *json = (char *)unit_read_file(path, &n);
        CHECK(json != NULL);
        if (json)
            check_profile(json, n, de->d_name);
        free(json);
        seen++;
    }
    if (d)
        closedir(d);
    CHECK(seen >= 3);
}

/* Every syscall its own errno: more distinct RETs than a pool holds and a tree longer
 * than a conditional jump reaches, so the split-and-JA layout is used; still the same
 * decisions. */
static void test_many_actions_use_far_jumps(void)
{
    static char json[1 << 16];
    size_t o = (size_t)snprintf(json, sizeof json, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[");
    int k = 0;
    for (int nr = 0; nr < 450; nr++) {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
        if (name)
            o += (size_t)snprintf(json + o, sizeof json - o,
                                  "%s{\"names\":[\"%s\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":%d}",
                                  k++ ? "," : "", name, 1 + nr % 4000);
        free(name);
    }
    snprintf(json + o, sizeof json - o, "]}");
    CHECK(k > 300);
    check_profile(json, strlen(json), "many-errnos");
    unsigned char *b = NULL;
    size_t n = 0, ja = 0;
    struct err e;
    CHECK(seccomp_compile_json(json, strlen(json), "many-errnos", platform_lookup("linux/amd64"),
                               SECCOMP_COMPILE_NATIVE_ONLY, &b, &n, &e) == 0);
    for (size_t i = 0; b && i < n; i += 8)
        ja += b[i] == 0x05 && b[i + 1] == 0; /* BPF_JMP|BPF_JA */
    CHECK(ja > 0);
    unsigned char *full = NULL;
    size_t nf = 0;
    CHECK(seccomp_compile_json(json, strlen(json), "many-errnos", platform_lookup("linux/amd64"),
                               SECCOMP_COMPILE_NATIVE_ONLY | SECCOMP_COMPILE_NO_COMPACT, &full, &nf, &e) == 0);
    CHECK(n < nf); /* the compact layout (with its JAs) was used */
    free(b);
    free(full);
}

static size_t put(unsigned char *raw, size_t i, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
    bpf_insn_encode((struct bpf_eval_insn){code, jt, jf, k}, raw + 8 * i);
    return i + 1;
}

/* Hand-made programs the analysis must not touch: a JSET on the syscall number (not
 * monotonic, so intervals would lie) and arithmetic on it. */
static void test_unhandled_programs_are_kept(void)
{
    unsigned char raw[8 * 8], *out = NULL;
    size_t n = 0, len = 0;
    struct err e;
    n = put(raw, n, 0x20, 0, 0, 0);          /* ld [0] (nr) */
    n = put(raw, n, 0x45, 0, 1, 1);          /* jset #1 */
    n = put(raw, n, 0x06, 0, 0, 0x7fff0000); /* ret ALLOW */
    n = put(raw, n, 0x06, 0, 0, 0x00050001); /* ret ERRNO(1) */
    CHECK(seccomp_compact(raw, n * 8, &out, &len, &e) == 0);
    CHECK(out == NULL);
    n = 0;
    n = put(raw, n, 0x20, 0, 0, 0);          /* ld [0] */
    n = put(raw, n, 0x04, 0, 0, 1);          /* add #1 */
    n = put(raw, n, 0x15, 0, 1, 60);         /* jeq #60 */
    n = put(raw, n, 0x06, 0, 0, 0x7fff0000);
    n = put(raw, n, 0x06, 0, 0, 0x00050001);
    CHECK(seccomp_compact(raw, n * 8, &out, &len, &e) == 0);
    CHECK(out == NULL);
    /* already minimal: nothing to gain, kept */
    n = 0;
    n = put(raw, n, 0x06, 0, 0, 0x7fff0000);
    CHECK(seccomp_compact(raw, n * 8, &out, &len, &e) == 0);
    CHECK(out == NULL);
}

int main(void)
{
    nrs_init();
    RUN(test_default_profile_same_decisions_shorter);
    RUN(test_docker_profiles_same_decisions_shorter);
    RUN(test_small_profiles);
    RUN(test_many_actions_use_far_jumps);
    RUN(test_unhandled_programs_are_kept);
    return unit_done();
}
