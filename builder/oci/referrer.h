/* builder/oci/referrer.h — artifacts attached to an image manifest (OCI 1.1 "referrers"):
 * the SBOM and the provenance of each platform image, in a layout.
 *
 * Writing (build): referrer_write puts the payload blob, the empty config blob ("{}")
 * and the referrer manifest into a build's staging folder. The manifest is an OCI 1.1
 * image manifest with artifactType set, the empty config
 * (application/vnd.oci.empty.v1+json), the payload as its one layer and subject = the
 * platform manifest: the form image-spec 1.1 settled on for artifacts (the draft's
 * separate artifact manifest type was dropped), which registries without OCI 1.1
 * support (docker-registry 2.8) still store. No tag names it: layout garbage collection
 * keeps a blob whose subject it keeps (layout_gc.h), and drops it with its subject.
 *
 * Reading (sbom, push): referrer_list scans the layout's blobs for manifests whose
 * subject is a given manifest, as the referrers API would answer, in digest order.
 */
#ifndef ARMLET_REFERRER_H
#define ARMLET_REFERRER_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "util/error.h"
#include "oci/layout.h"
#include "oci/oci.h"

#define OCI_MT_EMPTY "application/vnd.oci.empty.v1+json"
#define OCI_EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/* Write data (n bytes, media type artifact_type) and its referrer manifest for subject
 * into blobs_dir; created (epoch seconds) becomes org.opencontainers.image.created.
 * *out gets the referrer manifest's descriptor. 0 or ERR. */
int referrer_write(const char *blobs_dir, const char *artifact_type, const void *data, size_t n,
                   const struct oci_desc *subject, int64_t created, struct oci_desc *out,
                   struct err *e);

/* The descriptors ({mediaType, digest, size, artifactType, annotations?}) of every
 * manifest in l whose subject.digest is subject and, when artifact_type is not NULL,
 * whose artifactType is that. New array (caller decrefs), or NULL with e set. */
json_t *referrer_list(const struct layout *l, const char *subject, const char *artifact_type,
                      struct err *e);

#endif
