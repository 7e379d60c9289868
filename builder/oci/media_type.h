/* builder/oci/media_type.h — every media type string armlet writes or recognises, in one place.
 *
 * Plain string macros (usable in string concatenation, e.g. push's Accept header). The
 * OCI types are what armlet writes; the Docker types are only recognised: in layouts
 * made by other tools (garbage collection walks them) and in registry answers. */
#ifndef ARMLET_MEDIA_TYPE_H
#define ARMLET_MEDIA_TYPE_H

#define OCI_MT_INDEX      "application/vnd.oci.image.index.v1+json"
#define OCI_MT_MANIFEST   "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_CONFIG     "application/vnd.oci.image.config.v1+json"
#define OCI_MT_ARTIFACT   "application/vnd.oci.artifact.manifest.v1+json"
#define OCI_MT_LAYER_PREFIX "application/vnd.oci.image.layer."
#define OCI_MT_LAYER_TAR  "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

#define DOCKER_MT_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
/* schema1 manifests ("...v1+json", "...v1+prettyjws"): matched by this prefix. */
#define DOCKER_MT_SCHEMA1_PREFIX "application/vnd.docker.distribution.manifest.v1+"
#define DOCKER_MT_CONFIG   "application/vnd.docker.container.image.v1+json"
#define DOCKER_MT_LAYER_PREFIX "application/vnd.docker.image.rootfs."

/* Raw bytes (blob uploads). */
#define MT_OCTET_STREAM "application/octet-stream"

#endif
