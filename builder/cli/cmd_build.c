/* builder/cli/cmd_build.c — `armlet build`: the command line of the build pipeline (build.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/build.h"
#include "util/cleanup.h"
#include "cli/commands.h"
#include "image/libs.h"
#include "image/preload_profile.h"
#include "cli/metadata.h"
#include "cli/progress.h"
#include "registry/push.h"

static void usage(FILE *f)
{
    fputs("usage: armlet build RECIPE [--platform LIST] [--oci DIR] [--tag TAG] [--rootfs DIR]\n"
          "                    [--docker-archive FILE] [--compress gzip|zstd|none]\n"
          "                    [--init-dir DIR] [--push REF] [--sysroot PLATFORM=DIR]...\n"
          "                    [--annotation [index:|manifest:]KEY=VALUE]...\n"
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
          "  --no-profile           never run the entrypoint to record a preload list\n"
          "                         (`init preload=profile` then gives no list)\n"
          "  --profile MODE         `init preload=profile` and its list kept beside the recipe\n"
          "                         (RECIPE.preload/<os>-<arch>): auto (default: reuse it when\n"
          "                         its key matches, else record and keep), reuse (never\n"
          "                         record: a missing or stale kept list is an error, for CI),\n"
          "                         record (record again); default: $ARMLET_PROFILE, else auto\n"
          "  --annotation [index:|manifest:]KEY=VALUE\n"
          "                         an OCI annotation on the index and the manifests (or the\n"
          "                         one named); over the recipe's `annotation` lines and the\n"
          "                         defaults (created, git revision and source, OCI labels)\n"
          "  --push REF             then push the tag to a registry (as `armlet push DIR:TAG REF`;\n"
          "                         the layout is --oci DIR, default ./oci)\n"
          "  --progress MODE        auto (default: plain unless stderr is a terminal), plain (one\n"
          "                         line per blob and per step, no control characters), quiet\n"
          "  --metadata-file FILE   write the result as JSON to FILE (tag, index and manifest\n"
          "                         digests and sizes, pushed ref), atomically\n"
          "  --no-sbom              no SPDX SBOM, status.d entries or provenance (as the\n"
          "                         recipe's `sbom off`); see docs/README-sbom.md\n"
          "  --no-provenance        no SLSA provenance attached\n"
          "\n"
          "SOURCE_DATE_EPOCH sets every timestamp (default 0): same inputs, same digests.\n"
          "Exit status: 0 built, 1 failed (an earlier layout is left as it was), 2 usage.\n",
          f);
}

/* The --metadata-file document of a finished build (metadata.h), or NULL. */
static json_t *build_metadata(const struct build_opts *o, const struct build_result *res)
{
    json_t *md = metadata_new("build", o->tag);
    int rc = md ? 0 : ERR;
    if (rc == 0 && o->oci_dir)
        rc = metadata_set_layout(md, o->oci_dir);
    if (rc == 0)
        rc = metadata_set_image(md, res->index.media_type, res->index.digest, (long long)res->index.size);
    for (size_t i = 0; rc == 0 && i < res->nplat; i++)
        rc = metadata_add_manifest(md, res->plat[i].platform->oci, res->plat[i].manifest.media_type,
                                   res->plat[i].manifest.digest, (long long)res->plat[i].manifest.size);
    if (rc < 0) {
        json_decref(md);
        return NULL;
    }
    return md;
}

static int build_main(int argc, char **argv, const char **annots)
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
        {"no-profile", no_argument, NULL, 'N'},
        {"profile", required_argument, NULL, 'R'},
        {"annotation", required_argument, NULL, 'a'},
        {"progress", required_argument, NULL, 'g'},
        {"metadata-file", required_argument, NULL, 'm'},
        {"no-sbom", no_argument, NULL, 'B'},
        {"no-provenance", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct build_opts o = {.tag = "latest", .compress = COMPRESS_GZIP, .annotations = annots};
    const char *push = NULL, *metadata_file = NULL;
    enum progress_mode mode = PROGRESS_AUTO;
    struct err e;
    err_clear(&e);
    if (preload_profile_mode(getenv("ARMLET_PROFILE"), &o.profile_mode, &e) < 0) {
        err_ctx(&e, "ARMLET_PROFILE");
        err_print(&e);
        return 2;
    }
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
        case 'N': o.no_profile = 1; break;
        case 'R':
            if (preload_profile_mode(optarg, &o.profile_mode, &e) < 0) {
                err_ctx(&e, "--profile");
                err_print(&e);
                return 2;
            }
            break;
        case 'a': annots[o.nannotations++] = optarg; break;
        case 'm': metadata_file = optarg; break;
        case 'g':
            if (progress_parse(optarg, &mode, &e) < 0) {
                err_print(&e);
                return 2;
            }
            break;
        case 'B': o.no_sbom = 1; break;
        case 'V': o.no_provenance = 1; break;
        case 'S':
            if (libs_sysroot_set(&o.sysroots, optarg, &e) < 0) {
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
    o.init_dir_env = getenv("ARMLET_INIT_DIR");   /* the environment is read here, once */
    if (build_epoch_from_env(getenv("SOURCE_DATE_EPOCH"), &o.epoch, &e) < 0) {
        err_print(&e);
        return 1;
    }
    mode = progress_resolve(mode);
    o.steps = progress_lines(mode);
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
    cleanup_json json_t *md = metadata_file ? build_metadata(&o, &res) : NULL;
    if (metadata_file && !md) {
        fputs("armlet: build: --metadata-file: out of memory\n", stderr);
        return 1;
    }
    if (push && cmd_push_layout(o.oci_dir, o.tag, push, NULL, mode, md, &e) < 0) {
        err_ctx(&e, "built %s:%s, but push to %s failed", o.oci_dir, o.tag, push);
        err_print(&e);
        return 1;
    }
    if (md && metadata_write(md, metadata_file, &e) < 0) {
        err_print(&e);
        return 1;
    }
    return 0;
}

int cmd_build(int argc, char **argv)
{
    const char **annots = calloc((size_t)argc, sizeof *annots);   /* at most one per argument */
    if (!annots) {
        fputs("armlet: build: out of memory\n", stderr);
        return 1;
    }
    int rc = build_main(argc, argv, annots);
    free(annots);
    return rc;
}
