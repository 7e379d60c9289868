/* tests/unit/test_elf.c — the ELF platform check on real binaries built at test time
 * with the cross compilers (static musl for all four platforms, dynamic glibc for amd64
 * and arm64), on hand-made ARM files whose .ARM.attributes say v6T2 / VFPv3 / NEON, and on
 * truncated, corrupted and hostile files (which must be clear errors, never crashes). */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/elfcheck.h"
#include "unit.h"

static char dir[64];
static char path_buf[8][256];

/* The test programs: each built for one platform; oci = the platform it is for. */
static const struct prog {
    const char *name, *oci, *cc;
    int dynamic;
} progs[] = {
    {"hello-amd64", "linux/amd64", "musl-gcc -static", 0},
    {"hello-arm64", "linux/arm64",
     "aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs -static", 0},
    {"hello-armv7", "linux/arm/v7",
     "arm-linux-gnueabihf-gcc -specs /usr/lib/arm-linux-musleabihf/musl-gcc.specs "
     "-march=armv7-a+fp -static", 0},
    {"hello-armv6", "linux/arm/v6",
     "arm-linux-gnueabi-gcc -specs /usr/lib/arm-linux-musleabi/musl-gcc.specs "
     "-march=armv6 -marm -mfloat-abi=soft -static", 0},
    {"hello-dyn-amd64", "linux/amd64", "gcc", 1},
    {"hello-dyn-arm64", "linux/arm64", "aarch64-linux-gnu-gcc", 1},
};
#define NPROGS (sizeof progs / sizeof progs[0])
static int built[NPROGS];

static const char *prog_path(size_t i)
{
    snprintf(path_buf[i], sizeof path_buf[i], "%s/%s", dir, progs[i].name);
    return path_buf[i];
}

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

static void build_all(void)
{
    char cmd[1024];
    if (!unit_tmpdir(dir, sizeof dir, "test-elf")) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(cmd, sizeof cmd, "printf '#include <stdio.h>\\nint main(void){puts(\"hi\");return 0;}\\n' > %s/hello.c", dir);
    if (sh(cmd) < 0)
        exit(1);
    for (size_t i = 0; i < NPROGS; i++) {
        snprintf(cmd, sizeof cmd, "%s -o %s %s/hello.c", progs[i].cc, prog_path(i), dir);
        built[i] = sh(cmd) == 0;
        if (!built[i])
            fprintf(stderr, "cannot build %s with: %s (run ci/install-deps)\n", progs[i].name, cmd);
    }
}

static void test_every_static_binary_fits_its_own_platform(void)
{
    for (size_t i = 0; i < NPROGS; i++) {
        if (progs[i].dynamic)
            continue;
        CHECK(built[i]);
        if (!built[i])
            continue;
        struct err e = {0};
        struct elf_info info;
        int rc = elf_check(prog_path(i), platform_lookup(progs[i].oci), 0, &info, &e);
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", progs[i].name, e.msg);
        CHECK(rc == 0);
        CHECK(info.is_elf == 1);
        CHECK(info.is_dynamic == 0);
        CHECK_STR(info.interp, "");
    }
}

/* Each static binary is refused by every platform it cannot run on, with a message that
 * names the file, what the ELF is and the image platform. An ARMv6 binary runs on an
 * ARMv7 board, so that one pair is accepted. */
static void test_static_binary_refused_for_other_platforms_naming_both(void)
{
    for (size_t i = 0; i < NPROGS; i++) {
        if (progs[i].dynamic || !built[i])
            continue;
        for (size_t k = 0; k < platform_count; k++) {
            const struct platform *p = &platform_table[k];
            if (!strcmp(p->oci, progs[i].oci))
                continue;
            struct err e = {0};
            int rc = elf_check(prog_path(i), p, 0, NULL, &e);
            if (!strcmp(progs[i].oci, "linux/arm/v6") && !strcmp(p->oci, "linux/arm/v7")) {
                CHECK(rc == 0);
                continue;
            }
            CHECK(rc == ERR);
            char want[128];
            snprintf(want, sizeof want, "%s: ELF is %s (", prog_path(i), progs[i].oci);
            if (!strstr(e.msg, want) || !strstr(e.msg, p->oci))
                fprintf(stderr, "unexpected message for %s on %s: %s\n", progs[i].name, p->oci, e.msg);
            CHECK(strstr(e.msg, want) != NULL);
            snprintf(want, sizeof want, "image platform is %s", p->oci);
            CHECK(strstr(e.msg, want) != NULL);
        }
    }
}

static void test_arm64_message_reads_like_the_docs(void)
{
    if (!built[1])
        { CHECK(built[1]); return; }
    struct err e = {0};
    CHECK(elf_check(prog_path(1), platform_lookup("linux/arm/v7"), 0, NULL, &e) == ERR);
    char want[512];
    snprintf(want, sizeof want, "%s: ELF is linux/arm64 (aarch64, 64-bit), image platform is linux/arm/v7",
             prog_path(1));
    CHECK_STR(e.msg, want);
}

static void test_armv7_binary_refused_for_arm_v6_board(void)
{
    if (!built[2])
        { CHECK(built[2]); return; }
    struct err e = {0};
    struct elf_info info;
    CHECK(elf_check(prog_path(2), platform_lookup("linux/arm/v6"), 0, &info, &e) == ERR);
    CHECK(info.arm_arch == 10);
    CHECK(strstr(e.msg, "ELF is linux/arm/v7 (ARMv7, 32-bit)") != NULL);
    CHECK(strstr(e.msg, "image platform is linux/arm/v6") != NULL);
    CHECK(strstr(e.msg, "ARM1176") != NULL);
}

static void test_armv6_binary_reads_as_v6_and_runs_on_v7(void)
{
    if (!built[3])
        { CHECK(built[3]); return; }
    struct err e = {0};
    struct elf_info info;
    CHECK(elf_check(prog_path(3), platform_lookup("linux/arm/v7"), 0, &info, &e) == 0);
    CHECK(info.arm_arch == 6);
    CHECK(info.machine == EM_ARM && info.elf_class == ELFCLASS32);
}

static void test_dynamic_binary_refused_without_libs_and_accepted_with(void)
{
    static const char *const interp[] = {"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"};
    for (size_t i = 4; i < 6; i++) {
        CHECK(built[i]);
        if (!built[i])
            continue;
        struct err e = {0};
        struct elf_info info;
        const struct platform *p = platform_lookup(progs[i].oci);
        CHECK(elf_check(prog_path(i), p, 0, &info, &e) == ERR);
        char want[512];
        snprintf(want, sizeof want, "%s: ELF for %s is dynamically linked (interpreter %s); "
                 "add \"libs\" to carry its libraries", prog_path(i), p->oci, interp[i - 4]);
        CHECK_STR(e.msg, want);
        CHECK(elf_check(prog_path(i), p, 1, &info, &e) == 0);
        CHECK(info.is_dynamic == 1);
        CHECK_STR(info.interp, interp[i - 4]);
    }
}

static void test_scripts_and_data_pass_as_not_elf(void)
{
    char p[128];
    const char *bodies[] = {"#!/bin/sh\necho hi\n", "", "\x7f" "EL", "plain text that is long enough to have a header\n"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/notelf%zu", dir, i);
        unit_write_text(p, bodies[i]);
        struct err e = {0};
        struct elf_info info;
        CHECK(elf_check(p, platform_lookup("linux/arm/v6"), 0, &info, &e) == 0);
        CHECK(info.is_elf == 0);
        /* elf_read, which promises an ELF, says it is not one */
        CHECK(elf_read(p, &info, &e) == ERR);
        CHECK(strstr(e.msg, "not an ELF file") != NULL);
    }
}

static void test_missing_file_is_an_error_naming_it(void)
{
    struct err e = {0};
    char p[128];
    snprintf(p, sizeof p, "%s/does-not-exist", dir);
    CHECK(elf_check(p, platform_lookup("linux/amd64"), 0, NULL, &e) == ERR);
    CHECK(strstr(e.msg, p) != NULL && strstr(e.msg, "No such file") != NULL);
}

static void test_truncated_elf_is_a_clear_error(void)
{
    if (!built[1])
        { CHECK(built[1]); return; }
    size_t len;
    unsigned char *buf = unit_read_file(prog_path(1), &len);
    CHECK(buf != NULL);
    if (!buf)
        return;
    char p[128];
    snprintf(p, sizeof p, "%s/truncated", dir);
    const size_t cuts[] = {20, 63, 100, 300};
    for (size_t i = 0; i < 4; i++) {
        unit_write_file(p, buf, cuts[i]);
        struct err e = {0};
        CHECK(elf_check(p, platform_lookup("linux/arm64"), 0, NULL, &e) == ERR);
        CHECK(strstr(e.msg, p) != NULL);
        CHECK(strstr(e.msg, "not a valid ELF file") != NULL);
    }
    free(buf);
}

static void test_big_endian_elf_refused(void)
{
    unsigned char h[sizeof(Elf64_Ehdr)] = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2MSB, 1};
    char p[128];
    snprintf(p, sizeof p, "%s/be", dir);
    unit_write_file(p, h, sizeof h);
    struct err e = {0};
    CHECK(elf_check(p, platform_lookup("linux/arm64"), 0, NULL, &e) == ERR);
    CHECK(strstr(e.msg, "big-endian") != NULL);
}

/* A minimal 32-bit ARM ELF: header, one PT_LOAD, and a section table with a
 * .ARM.attributes section holding attrs (the File attributes' tag/value bytes). */
static size_t make_arm_elf(unsigned char *out, const unsigned char *attrs, size_t alen)
{
    memset(out, 0, 1024);
    Elf32_Ehdr eh = {0};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_ARM;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof eh;
    eh.e_phentsize = sizeof(Elf32_Phdr);
    eh.e_phnum = 1;
    eh.e_shentsize = sizeof(Elf32_Shdr);
    eh.e_shnum = 2;
    Elf32_Phdr ph = {.p_type = PT_LOAD, .p_offset = 0, .p_filesz = 84, .p_memsz = 84,
                     .p_flags = PF_R | PF_X};
    /* attributes: 'A', u32 len, "aeabi\0", tag 1, u32 len, attrs */
    unsigned char sec[256];
    size_t n = 0;
    uint32_t sublen = (uint32_t)(4 + 6 + 1 + 4 + alen), filelen = (uint32_t)(1 + 4 + alen);
    sec[n++] = 'A';
    memcpy(sec + n, &sublen, 4), n += 4;
    memcpy(sec + n, "aeabi", 6), n += 6;
    sec[n++] = 1;
    memcpy(sec + n, &filelen, 4), n += 4;
    memcpy(sec + n, attrs, alen), n += alen;
    size_t secoff = sizeof eh + sizeof ph;
    size_t shoff = (secoff + n + 3) & ~(size_t)3;
    Elf32_Shdr sh[2] = {{0}, {.sh_type = SHT_ARM_ATTRIBUTES, .sh_offset = (Elf32_Off)secoff,
                              .sh_size = (Elf32_Word)n}};
    eh.e_shoff = (Elf32_Off)shoff;
    memcpy(out, &eh, sizeof eh);
    memcpy(out + sizeof eh, &ph, sizeof ph);
    memcpy(out + secoff, sec, n);
    memcpy(out + shoff, sh, sizeof sh);
    return shoff + sizeof sh;
}

static int check_attrs(const unsigned char *attrs, size_t alen, const char *oci, struct elf_info *info,
                       struct err *e)
{
    unsigned char buf[1024];
    char p[128];
    size_t n = make_arm_elf(buf, attrs, alen);
    snprintf(p, sizeof p, "%s/arm-attrs", dir);
    unit_write_file(p, buf, n);
    return elf_check(p, platform_lookup(oci), 0, info, e);
}

static void test_arm_v6t2_vfpv3_and_neon_refused_for_arm_v6(void)
{
    struct err e = {0};
    struct elf_info info;
    /* Tag_CPU_name "6T2" (string), Tag_CPU_arch 8 (v6T2) */
    const unsigned char v6t2[] = {5, '6', 'T', '2', 0, 6, 8};
    CHECK(check_attrs(v6t2, sizeof v6t2, "linux/arm/v6", &info, &e) == ERR);
    CHECK(info.arm_arch == 8);
    CHECK(strstr(e.msg, "ARMv6T2") != NULL);
    CHECK(check_attrs(v6t2, sizeof v6t2, "linux/arm/v7", &info, &e) == 0);
    /* v6KZ (7) is the ARM1176 itself; with VFPv2 (Tag_FP_arch 2) it fits */
    const unsigned char v6kz[] = {6, 7, 10, 2};
    CHECK(check_attrs(v6kz, sizeof v6kz, "linux/arm/v6", &info, &e) == 0);
    CHECK(info.arm_fp_arch == 2);
    /* ARMv6 code but VFPv3 floating point: not on an ARM1176 */
    const unsigned char vfp3[] = {6, 6, 10, 3};
    CHECK(check_attrs(vfp3, sizeof vfp3, "linux/arm/v6", &info, &e) == ERR);
    CHECK(strstr(e.msg, "VFPv3") != NULL);
    /* NEON (Tag_Advanced_SIMD_arch 1), after a Tag_compatibility (32: number + string)
     * and an odd high tag (67, Tag_conformance: string) the parser must step over */
    const unsigned char neon[] = {32, 1, 'x', 0, 67, '2', '.', '0', '9', 0, 6, 6, 12, 1};
    CHECK(check_attrs(neon, sizeof neon, "linux/arm/v6", &info, &e) == ERR);
    CHECK(info.arm_simd_arch == 1);
    CHECK(strstr(e.msg, "NEON") != NULL);
    /* ARMv8 AArch32 code is refused for arm/v7 as well */
    const unsigned char v8[] = {6, 14};
    CHECK(check_attrs(v8, sizeof v8, "linux/arm/v7", &info, &e) == ERR);
    CHECK(strstr(e.msg, "ARMv8-A") != NULL);
}

/* Go writes no .ARM.attributes; the level comes from GOARM in .go.buildinfo. */
static void test_go_goarm7_refused_for_arm_v6_and_goarm6_accepted(void)
{
    char cmd[1024], p6[128], p7[128];
    snprintf(cmd, sizeof cmd, "printf 'package main\\nfunc main() { println(\"hi\") }\\n' > %s/main.go", dir);
    CHECK(sh(cmd) == 0);
    snprintf(p6, sizeof p6, "%s/hello-go-arm6", dir);
    snprintf(p7, sizeof p7, "%s/hello-go-arm7", dir);
    for (int arm = 6; arm <= 7; arm++) {
        snprintf(cmd, sizeof cmd, "cd %s && GO111MODULE=off "
                 "CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=%d go build -trimpath -o %s main.go",
                 dir, arm, arm == 6 ? p6 : p7);
        int ok = sh(cmd) == 0;
        if (!ok)
            fprintf(stderr, "cannot build a Go program with: %s (run ci/install-deps)\n", cmd);
        CHECK(ok);
        if (!ok)
            return;
    }
    struct err e = {0};
    struct elf_info info;
    CHECK(elf_check(p6, platform_lookup("linux/arm/v6"), 0, &info, &e) == 0);
    CHECK(info.go_arm == 6 && info.arm_arch == 6);
    /* the Go version from the same build info (Debian 12's golang-go is 1.19) */
    CHECK(info.go_minor == 19 && !strncmp(info.go_version, "go1.19", 6));
    CHECK(elf_check(p7, platform_lookup("linux/arm/v7"), 0, &info, &e) == 0);
    CHECK(info.go_arm == 7);
    CHECK(elf_check(p7, platform_lookup("linux/arm/v6"), 0, &info, &e) == ERR);
    CHECK(strstr(e.msg, "ELF is linux/arm/v7 (Go GOARM=7, ARMv7, 32-bit), image platform is linux/arm/v6") != NULL);
}

static void test_malformed_arm_attributes_are_an_error(void)
{
    struct err e = {0};
    struct elf_info info;
    const unsigned char unterminated[] = {5, '7', '-', 'A'};          /* string runs off */
    CHECK(check_attrs(unterminated, sizeof unterminated, "linux/arm/v7", &info, &e) == ERR);
    CHECK(strstr(e.msg, "malformed .ARM.attributes") != NULL);
    const unsigned char bad_uleb[] = {6, 0x80, 0x80};                 /* ULEB runs off */
    CHECK(check_attrs(bad_uleb, sizeof bad_uleb, "linux/arm/v7", &info, &e) == ERR);
}

static void test_load_segments_match_readelf(void)
{
    for (size_t i = 0; i < 4; i++) {
        if (!built[i])
            continue;
        char cmd[512];
        snprintf(cmd, sizeof cmd, "readelf -lW %s | grep -c ' LOAD '", prog_path(i));
        FILE *f = popen(cmd, "r");
        int want = -1;
        CHECK(f && fscanf(f, "%d", &want) == 1);
        if (f)
            pclose(f);
        struct elf_segment segs[16];
        size_t n = 0;
        struct err e = {0};
        struct stat st;
        CHECK(stat(prog_path(i), &st) == 0);
        CHECK(elf_load_segments(prog_path(i), segs, 16, &n, &e) == 0);
        CHECK((int)n == want && n >= 1);
        for (size_t k = 0; k < n && k < 16; k++)
            CHECK(segs[k].offset + segs[k].filesz <= (uint64_t)st.st_size);
        CHECK(segs[0].offset == 0 && (segs[0].flags & PF_R));
        /* room for one: the count is still the total */
        size_t n1 = 0;
        CHECK(elf_load_segments(prog_path(i), segs, 1, &n1, &e) == 0 && n1 == n);
    }
    struct err e = {0};
    size_t n;
    struct elf_segment s;
    char p[128];
    snprintf(p, sizeof p, "%s/notelf0", dir);
    CHECK(elf_load_segments(p, &s, 1, &n, &e) == ERR);
}

/* Thousands of corrupted copies of real binaries: every one either passes or fails
 * with a message; ASan/UBSan catch any out-of-bounds read. */
static void test_corrupted_binaries_never_crash(void)
{
    unsigned seed = 12345;
    char p[128];
    snprintf(p, sizeof p, "%s/corrupt", dir);
    for (size_t i = 0; i < 4; i++) {
        if (!built[i])
            continue;
        size_t len;
        unsigned char *orig = unit_read_file(prog_path(i), &len);
        CHECK(orig != NULL);
        if (!orig)
            continue;
        unsigned char *buf = malloc(len);
        for (int round = 0; round < 400; round++) {
            memcpy(buf, orig, len);
            int flips = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 8;
            for (int k = 0; k < flips; k++) {
                seed = seed * 1103515245u + 12345u;
                /* aim at the headers (first 256 bytes) half of the time */
                size_t at = (seed >> 8) % ((seed & 1) ? 256 : len);
                seed = seed * 1103515245u + 12345u;
                buf[at] = (unsigned char)(seed >> 16);
            }
            unit_write_file(p, buf, len);
            struct err e = {0};
            struct elf_info info;
            struct elf_segment segs[8];
            size_t n;
            if (elf_check(p, platform_lookup(progs[i].oci), 0, &info, &e) < 0)
                CHECK(e.msg[0] != '\0');
            (void)elf_load_segments(p, segs, 8, &n, &e);
        }
        free(buf);
        free(orig);
    }
}

int main(void)
{
    build_all();
    RUN(test_every_static_binary_fits_its_own_platform);
    RUN(test_static_binary_refused_for_other_platforms_naming_both);
    RUN(test_arm64_message_reads_like_the_docs);
    RUN(test_armv7_binary_refused_for_arm_v6_board);
    RUN(test_armv6_binary_reads_as_v6_and_runs_on_v7);
    RUN(test_dynamic_binary_refused_without_libs_and_accepted_with);
    RUN(test_scripts_and_data_pass_as_not_elf);
    RUN(test_missing_file_is_an_error_naming_it);
    RUN(test_truncated_elf_is_a_clear_error);
    RUN(test_big_endian_elf_refused);
    RUN(test_arm_v6t2_vfpv3_and_neon_refused_for_arm_v6);
    RUN(test_go_goarm7_refused_for_arm_v6_and_goarm6_accepted);
    RUN(test_malformed_arm_attributes_are_an_error);
    RUN(test_load_segments_match_readelf);
    RUN(test_corrupted_binaries_never_crash);
    unit_rm_tree(dir);
    return unit_done();
}
