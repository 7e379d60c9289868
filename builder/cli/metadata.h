/* builder/cli/metadata.h — the --metadata-file JSON: what a build, push or index produced.
 *
 * Lifecycle (any command that makes or publishes an image):
 *     json_t *md = metadata_new("push", tag);                  // NULL: out of memory
 *     metadata_set_layout(md, "oci");                           // when a layout was involved
 *     metadata_set_image(md, OCI_MT_INDEX, "sha256:...", 1234); // what the tag names
 *     metadata_add_manifest(md, "linux/arm64", OCI_MT_MANIFEST, "sha256:...", 567);
 *     metadata_add_pushed(md, "127.0.0.1:5000/app:1@sha256:..."); // one per pushed ref
 *     if (metadata_write(md, path, e) < 0) ...                  // atomic: all or nothing
 *     json_decref(md);
 *
 * The document (schema: tests/fixtures/metadata/metadata.schema.json, version 1):
 *     {"version": 1, "command": "build"|"push"|"index", "tag": "...",
 *      "layout": "DIR",                                   (optional)
 *      "index": {"mediaType","digest","size"},            (when the tag names an index)
 *      "manifest": {"mediaType","digest","size"},         (when it names one manifest)
 *      "manifests": [{"platform","mediaType","digest","size"}...],   platform may be ""
 *      "pushed": ["HOST/REPO:TAG@sha256:..."...],
 *      "containerimage.digest": "sha256:...",  "image.name": "HOST/REPO:TAG,..."}
 * The last two keys are the ones `docker buildx build --metadata-file` writes, so CI steps
 * that read buildx's file (the digest of what was pushed) read armlet's too.
 * The setters return 0, or ERR only when out of memory (nothing to name); they keep
 * copies of their strings. metadata_write names the file in its errors. */
#ifndef ARMLET_METADATA_H
#define ARMLET_METADATA_H
#include <jansson.h>
#include "util/error.h"

json_t *metadata_new(const char *command, const char *tag);
int metadata_set_tag(json_t *md, const char *tag);
int metadata_set_layout(json_t *md, const char *dir);
int metadata_set_image(json_t *md, const char *media_type, const char *digest, long long size);
int metadata_add_manifest(json_t *md, const char *platform, const char *media_type, const char *digest,
                          long long size);
int metadata_add_pushed(json_t *md, const char *ref_with_digest);

/* Write md to path atomically: a temporary file in the same folder, fsync'd, renamed
 * over path. On failure path is as before and the temporary file is gone. 0 or ERR. */
__attribute__((warn_unused_result))
int metadata_write(const json_t *md, const char *path, struct err *e);

#endif
