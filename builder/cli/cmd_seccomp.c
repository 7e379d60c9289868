/* builder/cli/cmd_seccomp.c — `armlet seccomp compile PROFILE.json|default --platform P -o FILE`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "cli/commands.h"
#include "util/error.h"
#include "util/platform.h"
#include "seccomp/seccomp_compile.h"

static void usage(FILE *f)
{
    fputs("usage: armlet seccomp compile PROFILE.json|default --platform P -o FILE\n"
          "                              [--native-only] [--no-compact] [--no-optimize]\n"
          "                              [--verbose]\n"
          "\n"
          "Compiles a Docker/OCI seccomp profile into the raw BPF program armlet-init\n"
          "installs with --seccomp (the image's /etc/armlet/seccomp.bpf), for platform P\n"
          "(" PLATFORM_NAMES ") and its compat arches.\n"
          "'default' is Docker's default profile for a process without capabilities.\n"
          "Syscall numbers libseccomp has no name for answer ENOSYS (unless the default\n"
          "action allows, logs or traces), so programs fall back on newer kernels.\n"
          "\n"
          "  --platform P     target platform (required)\n"
          "  -o FILE          output file (required; replaced atomically)\n"
          "  --native-only    leave out the compat arches (x86/x32 on amd64, arm on arm64):\n"
          "                   their syscalls are killed; a third of the length, loads faster\n"
          "  --no-compact     libseccomp's binary tree as is, not armlet's range search\n"
          "                   (same decisions, about twice as long: loads slower)\n"
          "  --no-optimize    libseccomp's linear filter (implies --no-compact)\n"
          "  --verbose        print the instruction count (and the uncompacted one)\n"
          "\n"
          "Exit status: 0 written, 1 bad profile or I/O error, 2 usage.\n",
          f);
}

int cmd_seccomp(int argc, char **argv)
{
    const char *profile = NULL, *plat = NULL, *out = NULL;
    unsigned flags = 0;
    int verbose = 0;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "compile") != 0) {
        fprintf(stderr, "armlet: seccomp: expected 'compile' (try armlet seccomp --help)\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "--platform") || !strcmp(a, "-o")) && i + 1 < argc) {
            *(a[1] == 'o' ? &out : &plat) = argv[++i];
        } else if (!strncmp(a, "--platform=", 11)) {
            plat = a + 11;
        } else if (!strcmp(a, "--native-only")) {
            flags |= SECCOMP_COMPILE_NATIVE_ONLY;
        } else if (!strcmp(a, "--no-compact")) {
            flags |= SECCOMP_COMPILE_NO_COMPACT;
        } else if (!strcmp(a, "--no-optimize")) {
            flags |= SECCOMP_COMPILE_NO_OPTIMIZE;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            verbose = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "armlet: seccomp compile: unknown option or missing value '%s'\n", a);
            return 2;
        } else if (!profile) {
            profile = a;
        } else {
            fprintf(stderr, "armlet: seccomp compile: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!profile || !plat || !out) {
        fprintf(stderr, "armlet: seccomp compile: %s is required (try --help)\n",
                !profile ? "PROFILE" : !plat ? "--platform" : "-o FILE");
        return 2;
    }
    const struct platform *p = platform_lookup(plat);
    if (!p) {
        fprintf(stderr, "armlet: seccomp compile: --platform: unknown platform '%s'\n", plat);
        return 2;
    }
    struct err e;
    err_clear(&e);
    cleanup_free unsigned char *bpf = NULL;
    size_t len = 0;
    int rc = seccomp_compile_mem(profile, p, flags, &bpf, &len, &e);
    err_print_warnings(&e);
    if (rc < 0 || seccomp_write_bpf(out, bpf, len, &e) < 0) {
        err_ctx(&e, "seccomp compile");
        err_print(&e);
        return 1;
    }
    if (verbose) {
        /* the uncompacted length (libseccomp's own plus the ENOSYS prelude) beside ours, so
         * what each step costs or saves is visible */
        cleanup_free unsigned char *full = NULL, *raw = NULL;
        size_t full_len = 0, raw_len = 0;
        if (!(flags & (SECCOMP_COMPILE_NO_COMPACT | SECCOMP_COMPILE_NO_OPTIMIZE)) &&
            seccomp_compile_mem(profile, p, flags | SECCOMP_COMPILE_NO_COMPACT, &full, &full_len, &e) == 0 &&
            seccomp_compile_mem(profile, p, flags | SECCOMP_COMPILE_NO_COMPACT | SECCOMP_COMPILE_NO_ENOSYS,
                                &raw, &raw_len, &e) == 0)
            fprintf(stderr, "armlet: seccomp: %s for %s: %zu instructions (uncompacted: %zu = "
                            "libseccomp's tree %zu + ENOSYS prelude %zu) -> %s\n",
                    profile, p->oci, len / 8, full_len / 8, raw_len / 8, (full_len - raw_len) / 8, out);
        else
            fprintf(stderr, "armlet: seccomp: %s for %s: %zu instructions -> %s\n", profile, p->oci,
                    len / 8, out);
    }
    return 0;
}
