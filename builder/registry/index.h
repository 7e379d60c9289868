/* builder/registry/index.h — `armlet index create|add`: merge images into one multi-platform index.
 *
 *     const char *srcs[] = {"oci:out/amd64:app", "127.0.0.1:5000/app-arm64:1"};
 *     struct index_opts o = {.add = false, .replace = false};
 *     struct index_result res;
 *     index_run("127.0.0.1:5000/app:1", srcs, 2, &o, &res, e);
 *
 * DEST and each SRC are an OCI layout ("oci:DIR[:TAG]") or a registry reference
 * ("[docker://]HOST/REPO[:TAG][@sha256:...]"), see imgsrc.h. Steps:
 *   1. read every SRC: an index gives its platform manifests (entries whose platform is
 *      unknown/unknown, such as attestations, are skipped), a single manifest gives
 *      itself; a descriptor without a platform gets it from the manifest's config.
 *      `add` starts from DEST's current index. Two different manifests for one platform
 *      are an error unless opts.replace (then the later one wins: SRC over DEST, a later
 *      SRC over an earlier one); the same manifest twice is kept once.
 *   2. sort the descriptors in the canonical platform order (linux/amd64, linux/arm64,
 *      linux/arm/v7, linux/arm/v6, then any other by name; equal platforms by digest), so
 *      the same inputs in any order give byte-identical indexes. Descriptors carry
 *      mediaType, digest, size and platform only.
 *   3. make every manifest and blob exist at DEST: a layout DEST gets them copied into its
 *      staging folder; a registry DEST gets each blob it lacks (4 at a time, blobxfer.h,
 *      the transfer push uses) mounted from the SRC's repository when that is on the
 *      same registry (POST ?mount=&from=), otherwise uploaded (from the SRC layout, or
 *      downloaded from the other registry first, only then), then each manifest PUT by
 *      digest.
 *   4. only then the tag: the layout's index.json renamed into place (layout.h's single
 *      commit point), or the registry's PUT of the index under the tag. A failure before
 *      it leaves DEST's tag as it was.
 *
 * Index annotations: with `create`, those every SRC's top document (index or manifest)
 * has with the same value (so per-platform builds of one commit keep their created,
 * revision, source, title ...); with `add`, DEST's; then opts.annotations (KEY=VALUE or
 * index:KEY=VALUE) set or override them.
 *
 * opts.steps gets one line per blob ("armlet: index: blob sha256:... (PLATFORM, N bytes):
 * copied|uploaded|mounted|already present"), per manifest ("manifest sha256:... (PLATFORM):
 * written|sent|already present") and for the tag ("tag T -> sha256:...: updated|already up
 * to date"); the blob lines may come from several threads at once. */
#ifndef ARMLET_INDEX_H
#define ARMLET_INDEX_H
#include <stdbool.h>
#include <stddef.h>
#include "oci/digest.h"
#include "util/error.h"
#include "registry/imgsrc.h"

struct index_opts {
    bool add;                      /* index add: keep DEST's manifests */
    bool replace;                  /* a platform given twice: the later wins */
    const char *const *annotations; size_t nannotations;   /* "[index:]KEY=VALUE" */
    struct imgsrc_opts reach;      /* how registries are reached */
    struct err_out steps;          /* one line per blob, manifest and the tag; say NULL: none */
};

#define INDEX_MAX_MANIFESTS 64

struct index_result {
    char dest[4400];                         /* "oci:DIR:TAG" or "HOST/REPO:TAG" */
    char layout[4096];                       /* DEST's folder, "" for a registry DEST */
    char tag[129];                           /* DEST's tag */
    struct oci_index_entry {
        char platform[96];
        char media[128];
        char digest[DIGEST_PREFIXED_LEN + 1];
        long long size;
    } mans[INDEX_MAX_MANIFESTS];
    size_t nman;
    char digest[DIGEST_PREFIXED_LEN + 1];    /* the new index */
    long long size;
    unsigned blobs_present, blobs_mounted, blobs_copied;
    long long bytes_sent;                    /* blob bytes uploaded or copied */
    unsigned mans_written, mans_present;
    bool tag_written;                        /* false: DEST's tag already named this index */
    double seconds;
};

__attribute__((warn_unused_result))
int index_run(const char *dest, const char *const *srcs, size_t nsrc, const struct index_opts *o,
              struct index_result *res, struct err *e);

#endif
