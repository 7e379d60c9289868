/* builder/cli/main.c — `armlet SUBCOMMAND ...`: dispatch only; each subcommand is cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "armlet_shared.h"
#include "cli/commands.h"

static void usage(FILE *f)
{
    fputs("usage: armlet COMMAND [ARGS...]\n"
          "\n"
          "  build RECIPE [--platform LIST] [--oci DIR] [--tag TAG] [--rootfs DIR]\n"
          "               [--docker-archive FILE] [--compress gzip|zstd|none] [--push REF]\n"
          "  push OCI_DIR[:TAG] REF [--insecure]\n"
          "  inspect OCI_DIR[:TAG]\n"
          "  seccomp compile PROFILE.json|default --platform P -o FILE\n"
          "  profile ROOTFS [--url URL] [--seconds N] [-o FILE] -- ENTRYPOINT...\n"
          "  sbom OCI_DIR[:TAG]|REF [--platform P]\n"
          "\n"
          "Each command has --help. Exit status: 0 ok, 1 failure, 2 usage.\n", f);
}

int main(int argc, char **argv)
{
    static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
        {"build", cmd_build}, {"push", cmd_push},
        {"inspect", cmd_inspect}, {"seccomp", cmd_seccomp},
        {"profile", cmd_profile}, {"index", cmd_index},
        {"sbom", cmd_sbom},
    };
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("armlet %s\n", ARMLET_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "armlet: unknown command '%s' (try armlet --help)\n", argv[1]);
    return 2;
}
