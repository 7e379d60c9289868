/* builder/cmd_build.c — `armlet build`: the command line of the build pipeline (build.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "commands.h"
#include "libs.h"
#include "push.h"

static void usage(FILE *f)
{
    fputs("usage: armlet build RECIPE [--platform LIST] [--oci DIR] [--tag TAG] [--rootfs DIR]\n"
          "                    [--docker-archive FILE] [--compress gzip|zstd|none]\n"
          "                    [--init-dir DIR] [--push REF] [--sysroot PLATFORM=DIR]...\n"
          "                    [--no-sbom] [--no-provenance]\n"
          "\n"
          "Builds the recipe into a reproducible multi-platform OCI image.\n"
          "\n"
          "  --platform LIST        comma list of linux/amd64 linux/arm64 linux/arm/v7\n"
          "                         linux/arm/v6, each one of the recipe's (default: all of them)\n"
          "  --oci DIR              OCI image layout to write the image index into (created when\n"
          "                         missing; default ./oci when no other output is given)\n"
          "  --tag TAG              its org.opencontainers.image.ref.name (default latest);\n"
          "                         rebuilding a tag replaces it and removes unreferenced blobs\n"
          "  --rootfs DIR           also write the image's file tree into DIR (empty or new;\n"
          "                         exactly one platform), e.g. for Docker's COPY --from\n"
          "  --docker-archive FILE  also write a `docker save` tar (one platform) for\n"
          "                         docker load / podman load\n"
          "  --compress C           layer compression: gzip (default), zstd, none\n"
          "  --init-dir DIR         where DIR/<os>-<arch>[-<variant>]/armlet-init are\n"
          "                         (default: $ARMLET_INIT_DIR, beside armlet, ../lib/armlet)\n"
          "  --sysroot P=DIR        where `file ... libs` finds platform P's shared libraries\n"
          "                         and loader (default /, Debian multiarch folders)\n"
          "  --push REF             then push the tag to a registry (as `armlet push DIR:TAG REF`;\n"
          "                         the layout is --oci DIR, default ./oci)\n"
          "  --no-sbom              no SPDX SBOM, status.d entries or provenance (as the\n"
          "                         recipe's `sbom off`); see docs/README-sbom.md\n"
          "  --no-provenance        no SLSA provenance attached\n"
          "\n"
          "SOURCE_DATE_EPOCH sets every timestamp (default 0): same inputs, same digests.\n"
          "Exit status: 0 built, 1 failed (an earlier layout is left as it was), 2 usage.\n",
          f);
}

int cmd_build(int argc, char **argv)
{
    static const struct option opts[] = {
        {"platform", required_argument, NULL, 'p'},
        {"oci", required_argument, NULL, 'o'},
        {"tag", required_argument, NULL, 't'},
        {"rootfs", required_argument, NULL, 'r'},
        {"docker-archive", required_argument, NULL, 'd'},
        {"compress", required_argument, NULL, 'c'},
        {"init-dir", required_argument, NULL, 'i'},
        {"push", required_argument, NULL, 'P'},
        {"sysroot", required_argument, NULL, 'S'},
        {"no-sbom", no_argument, NULL, 'N'},
        {"no-provenance", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct build_opts o = {.tag = "latest", .compress = COMPRESS_GZIP};
    const char *push = NULL;
    struct err e;
    err_clear(&e);
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': o.platforms = optarg; break;
        case 'o': o.oci_dir = optarg; break;
        case 't': o.tag = optarg; break;
        case 'r': o.rootfs = optarg; break;
        case 'd': o.docker_archive = optarg; break;
        case 'i': o.init_dir = optarg; break;
        case 'P': push = optarg; break;
        case 'N': o.no_sbom = 1; break;
        case 'V': o.no_provenance = 1; break;
        case 'S':
            if (libs_sysroot_set(optarg, &e) < 0) {
                err_print(&e);
                return 2;
            }
            break;
        case 'c':
            if (layer_compress_parse(optarg, &o.compress, &e) < 0) {
                err_print(&e);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "armlet: build: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fputs(optind >= argc ? "armlet: build: missing RECIPE\n"
                             : "armlet: build: one RECIPE only\n", stderr);
        usage(stderr);
        return 2;
    }
    o.recipe = argv[optind];
    if (!o.oci_dir && (push || (!o.rootfs && !o.docker_archive)))
        o.oci_dir = "oci";
    if (build_epoch_from_env(getenv("SOURCE_DATE_EPOCH"), &o.epoch, &e) < 0) {
        err_print(&e);
        return 1;
    }
    struct build_result res;
    int rc = build_run(&o, &res, &e);
    err_print_warnings(&e);   /* e.g. a seccomp filter left uncompacted */
    if (rc < 0) {
        err_print(&e);
        return 1;
    }
    if (o.oci_dir || o.docker_archive) {
        printf("%s:%s %s\n", o.oci_dir ? o.oci_dir : o.docker_archive, o.tag, res.index.digest);
        for (size_t i = 0; i < res.nplat; i++)
            printf("  %-13s %s\n", res.plat[i].platform->oci, res.plat[i].manifest.digest);
    }
    if (res.gc_note[0])
        fprintf(stderr, "armlet: warning: %s: garbage collection skipped, nothing removed: %s\n",
                o.oci_dir, res.gc_note);
    if (o.docker_archive)
        printf("docker archive %s\n", o.docker_archive);
    if (o.rootfs)
        printf("rootfs %s\n", o.rootfs);
    fflush(stdout);
    if (push && cmd_push_layout(o.oci_dir, o.tag, push, NULL, &e) < 0) {
        err_ctx(&e, "built %s:%s, but push to %s failed", o.oci_dir, o.tag, push);
        err_print(&e);
        return 1;
    }
    return 0;
}
