/* builder/image/docker_archive.h — one image as a `docker save` tar, for `docker load` and
 * `podman load`.
 *
 *     docker_archive_write("hello.tar", blobs_dir, &config, layers, diff_ids, n,
 *                          "hello:latest", epoch, e);
 *
 * Layout of the tar (the format docker save has written since 1.10):
 *     <config-hex>.json            the image config, byte for byte the OCI config blob
 *     <diff-id-hex>/layer.tar      each layer, uncompressed (gzip/zstd blobs are inflated
 *                                  and checked against their diff_id)
 *     manifest.json                [{"Config":..., "RepoTags":[repo_tag], "Layers":[...]}]
 * Entries are deterministic (mtime = epoch, owner 0:0, mode 0644, fixed order), so the
 * archive is reproducible too.
 *
 * Nothing appears at PATH until the caller publishes: the archive is written to a fresh
 * PATH.tmp.XXXXXX (O_EXCL|O_NOFOLLOW: a planted PATH.tmp symlink redirects nothing) and
 * handed back as a struct fdio_pending, which the build renames over PATH at its commit
 * (fdio_pending_publish), undoes, or drops (fdio_pending_finish). Blobs are read with
 * O_NOFOLLOW|O_NONBLOCK and must be regular files.
 */
#ifndef ARMLET_DOCKER_ARCHIVE_H
#define ARMLET_DOCKER_ARCHIVE_H
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"
#include "util/fdio.h"
#include "oci/oci.h"

/* Returns 0 with *out pending (publish or finish it), or ERR with e naming path and
 * nothing left behind. Reads blobs from blobs_dir; writes nothing else. */
int docker_archive_write(const char *path, const char *blobs_dir, const struct oci_desc *config,
                         const struct oci_desc *layers, const char *const *diff_ids,
                         size_t nlayers, const char *repo_tag, int64_t epoch,
                         struct fdio_pending *out, struct err *e);

#endif
