/* builder/image/sbom.h — what an image is made of: Debian package data in the image
 * (distroless's /var/lib/dpkg/status.d/) and its SPDX 2.3 document.
 *
 * Lifecycle, per platform image (build.c):
 *     struct sbom *s = NULL;
 *     sbom_prepare(&o, base, app, &s, e);     // owners of the trees' host files, looked up
 *                                             // in the host's / the sysroot's dpkg database;
 *                                             // status.d entries added (o.status_d)
 *     ... layers, config and manifest written ...
 *     json_t *doc = sbom_document(s, base, app, &manifest_desc, e);   // SPDX 2.3
 *     sbom_free(s);
 *
 * What the document holds (docs/README-sbom.md): one package for the image (purpose
 * CONTAINER); every regular file of both layers with its SHA-256 (a later layer's file
 * hides an earlier one at the same path, as in the running container); every Debian
 * package a file comes from (name, version, architecture, source package and version,
 * pkg:deb purl) CONTAINS its files; each Go program as a package (main module, pkg:golang
 * purl) that DEPENDS_ON its Go standard library ("stdlib", the Go version) and every
 * module it lists (version, go.sum h1: hash as a SHA256 checksum and in the comment);
 * armlet-init as a package of armlet's version. A file whose origin is not known
 * (the user's program, files armlet generates) is a file of the image only: nothing is
 * guessed from names.
 *
 * Reproducible: no clock, no randomness. created is o.epoch (SOURCE_DATE_EPOCH); the
 * document namespace is derived from the platform manifest's digest; every list is in
 * a fixed order (paths sorted, packages as met in path order); the JSON is written with
 * oci_json_dump (sorted keys, compact).
 */
#ifndef ARMLET_SBOM_H
#define ARMLET_SBOM_H
#include <stdint.h>
#include <jansson.h>
#include "util/error.h"
#include "oci/oci.h"
#include "util/platform.h"
#include "image/tree.h"

struct dpkgdb_set;

#define SBOM_ARTIFACT_TYPE "application/spdx+json"
#define SBOM_STATUS_D "/var/lib/dpkg/status.d"

struct sbom_opts {
    const char *name;              /* the recipe's name (the image package's name) */
    const struct platform *p;
    int64_t epoch;                 /* creationInfo.created */
    int status_d;                  /* add status.d entries to the trees */
    const char *host_root;         /* "/" (tests may point elsewhere); NULL = "/" */
    const char *sysroot;           /* p's --sysroot; NULL = "/" (the host's) */
    struct dpkgdb_set *dbs;        /* the build's dpkg databases (dpkgdb.h), shared */
};

struct sbom;

/* Look up the trees' host files (see above) and, with o->status_d, add one
 * status.d/<package> entry per Debian package: to base for the host's packages (the CA
 * bundle, zoneinfo), to app for the others (`libs`). 0 and *out, or ERR. */
int sbom_prepare(const struct sbom_opts *o, struct tree *base, struct tree *app,
                 struct sbom **out, struct err *e);
/* The SPDX 2.3 document of the image whose manifest is man (the trees as they were
 * written). New reference, or NULL with e set (a file that cannot be read). */
json_t *sbom_document(struct sbom *s, struct tree *base, struct tree *app,
                      const struct oci_desc *man, struct err *e);
/* sbom_document, written as a referrer of man into blobs (referrer.h, artifactType
 * SBOM_ARTIFACT_TYPE). 0 or ERR. */
int sbom_attach(struct sbom *s, struct tree *base, struct tree *app, const struct oci_desc *man,
                const char *blobs, struct err *e);
void sbom_free(struct sbom *s);
/* SHA-256 (64 hex digits) of a FILE node's content (its host file or its bytes). 0 or
 * ERR naming the host file. */
int sbom_node_sha256(const struct tree_node *n, char hex[DIGEST_HEX_LEN + 1], struct err *e);

#endif
