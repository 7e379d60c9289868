/* builder/image/build.h — the `armlet build` pipeline, apart from its command line.
 *
 *     struct build_opts o = {.recipe = "hello.recipe", .oci_dir = "oci", .tag = "latest",
 *                            .compress = COMPRESS_GZIP, .epoch = 0};
 *     struct build_result res;
 *     if (build_run(&o, &res, e) < 0) ...   // e: "hello.recipe:7:12: file: ..."
 *
 * Steps: parse the recipe; pick the platforms (--platform ∩ the recipe's, always in the
 * fixed order amd64, arm64, arm/v7, arm/v6); per platform build the base layer (init,
 * users, certs, zoneinfo: base_add) and the app layer (the recipe's entries), the
 * config and the manifest; then the image index, written under the tag into the OCI
 * layout (atomically, old blobs collected), and/or the --rootfs folder and the
 * --docker-archive file. One commit point (the rename of index.json): everything that can
 * fail is done before it, under temporary names; on failure the layout, the rootfs folder
 * and the archive path are byte for byte as before (see layout.h).
 */
#ifndef ARMLET_BUILD_H
#define ARMLET_BUILD_H
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"
#include "image/layer.h"
#include "image/libs.h"
#include "oci/oci.h"
#include "util/platform.h"

struct build_opts {
    const char *recipe;          /* path of the recipe */
    const char *platforms;       /* comma list ("linux/arm64,linux/arm/v7"), NULL = recipe's */
    const char *oci_dir;         /* OCI layout to write, or NULL */
    const char *tag;             /* ref name in index.json ("latest") */
    const char *rootfs;          /* folder for the file tree (one platform), or NULL */
    const char *docker_archive;  /* docker-save tar (one platform), or NULL */
    enum compress compress;
    const char *init_dir;        /* --init-dir, or NULL (see initdir.h) */
    const char *init_dir_env;    /* $ARMLET_INIT_DIR as the command read it, or NULL */
    struct libs_sysroots sysroots;  /* --sysroot: where `libs` finds each platform's */
    int64_t epoch;               /* SOURCE_DATE_EPOCH or 0 */
    int no_profile;              /* --no-profile: never run the entrypoint for a preload list */
    int profile_mode;            /* --profile: kept lists (PRELOAD_KEEP_*, preload_profile.h) */
    const char *const *annotations; size_t nannotations;   /* --annotation (annotations.h) */
    struct err_out steps;        /* one line per blob and step (--progress plain), or say NULL */
    int no_sbom;                 /* --no-sbom: no SBOM, status.d, provenance (sbom.h) */
    int no_provenance;           /* --no-provenance */
};

struct build_platform_result {
    const struct platform *platform;
    struct oci_desc manifest;
};

struct build_result {
    struct oci_desc index;                   /* the tag's image index */
    struct build_platform_result plat[PLATFORM_COUNT];
    size_t nplat;
    size_t gc_removed;                       /* blobs the layout GC removed */
    char gc_note[600];                       /* why the GC removed nothing, or "" */
};

/* Parse SOURCE_DATE_EPOCH (NULL or "" -> 0). Returns 0 or ERR for a non-number. */
int build_epoch_from_env(const char *value, int64_t *epoch, struct err *e);
/* Run the whole build. Returns 0 and fills *res, or ERR with e set. */
int build_run(const struct build_opts *o, struct build_result *res, struct err *e);

#endif
