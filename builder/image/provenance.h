/* builder/image/provenance.h — how an image was built: an in-toto Statement v1 with an SLSA
 * Provenance v1 predicate, attached to the platform manifest as a referrer
 * (referrer.h, artifactType PROVENANCE_ARTIFACT_TYPE), as the SBOM is.
 *
 *     provenance_attach(&po, base, app, &manifest_desc, blobs, e);
 *
 * subject: the platform manifest (name = the recipe's name, digest.sha256). The
 * predicate's buildDefinition holds the recipe (its file name, its sha256) and the
 * build parameters (platform, compression, whether status.d was written; not the tag:
 * one image gets one provenance whatever it is tagged) as
 * externalParameters, SOURCE_DATE_EPOCH and the sysroot as internalParameters, and every
 * input file — each host file a layer was made from: the recipe's sources, the
 * libraries `libs` carried, the init, the CA bundle, zoneinfo — as resolvedDependencies
 * {name: image path, uri: file:<host path, relative to the recipe's folder when below
 * it>, digest.sha256}. runDetails.builder.id names armlet and its version. Nothing in it
 * depends on the clock or the machine's randomness: the same inputs give the same bytes.
 */
#ifndef ARMLET_PROVENANCE_H
#define ARMLET_PROVENANCE_H
#include <stdint.h>
#include "util/error.h"
#include "image/layer.h"
#include "oci/oci.h"
#include "util/platform.h"
#include "recipe/recipe.h"
#include "image/tree.h"

#define PROVENANCE_ARTIFACT_TYPE "application/vnd.in-toto+json"

struct provenance_opts {
    const struct recipe *r;      /* path, dir, name and text (for its digest) */
    const struct platform *p;
    enum compress compress;
    int64_t epoch;
    const char *sysroot;         /* p's --sysroot ("/": the host's) */
};

/* Write the statement for man and its referrer manifest into blobs. 0 or ERR. */
int provenance_attach(const struct provenance_opts *po, struct tree *base, struct tree *app,
                      const struct oci_desc *man, const char *blobs, struct err *e);

#endif
