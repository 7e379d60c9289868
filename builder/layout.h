/* builder/layout.h — an OCI image layout on disk: oci-layout, index.json, blobs/sha256/.
 *
 * Writing (armlet build):
 *     struct layout *l = NULL;
 *     layout_open(dir, 1, &l, e);          // creates DIR if needed, takes an exclusive lock
 *     ... write blobs into layout_blobs_dir(l) (content-addressed, temp + rename) ...
 *     layout_set_tag(l, "latest", &index_desc, e);   // replaces that tag's entry, in memory
 *     layout_commit(l, &removed, e);       // index.json.tmp -> index.json, then GC
 *     layout_close(l);
 *
 * Nothing a reader sees changes until the rename of index.json: a build that fails or is
 * killed before it leaves the previous index.json and every blob it references intact
 * (new blobs are only added, never overwritten with other bytes). The garbage collector
 * runs after the rename and removes only blobs unreachable from the new index.json, plus
 * leftover temporary files. The lock (flock on the layout folder) keeps two builds into
 * one layout from collecting each other's blobs.
 *
 * Reading (armlet inspect): layout_open(dir, 0, ...) takes a shared lock and creates
 * nothing; layout_find_tag / layout_read_json look things up.
 */
#ifndef ARMLET_LAYOUT_H
#define ARMLET_LAYOUT_H
#include <stddef.h>
#include <jansson.h>
#include "error.h"
#include "oci.h"

struct layout;

/* Open (writable: create when missing) the layout at dir. A folder that exists, is not
 * empty and has no oci-layout file is refused, so a typo cannot collect someone's files.
 * Returns 0 and *out (free with layout_close) or ERR. */
int layout_open(const char *dir, int writable, struct layout **out, struct err *e);
void layout_close(struct layout *l);

const char *layout_dir(const struct layout *l);
const char *layout_blobs_dir(const struct layout *l);     /* DIR/blobs/sha256 */
/* The top-level index.json document (borrowed; valid until layout_close). */
json_t *layout_index(const struct layout *l);

/* 1 when tag is a valid reference name ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}), else 0. */
int layout_tag_valid(const char *tag);
/* Point tag at d (an image index or manifest), replacing any entry of that tag. Entries
 * stay sorted by tag so index.json does not depend on build order. In memory only. */
int layout_set_tag(struct layout *l, const char *tag, const struct oci_desc *d,
                   struct err *e);
/* The index.json entry of tag (borrowed), or NULL with e set ("tag X not found; tags: ..."). */
json_t *layout_find_tag(const struct layout *l, const char *tag, struct err *e);

/* Write index.json atomically (temp, fsync, rename, fsync folder), then remove every
 * blob unreachable from it. *removed (may be NULL) gets the number of files removed. */
int layout_commit(struct layout *l, size_t *removed, struct err *e);
/* The GC alone: walk index.json -> indexes -> manifests -> config/layers, remove the
 * rest of blobs/sha256. Needs a writable layout. */
int layout_gc(struct layout *l, size_t *removed, struct err *e);

/* After a failed build: forget the in-memory changes, re-read index.json from disk and
 * remove the blobs this build added that it does not reference. */
int layout_discard(struct layout *l, struct err *e);

/* Read blob digest and parse it as JSON; checks that the bytes hash to digest.
 * New reference or NULL with e set. */
json_t *layout_read_json(const struct layout *l, const char *digest, struct err *e);
/* Size in bytes of blob digest, or -1 with e set. */
long long layout_blob_size(const struct layout *l, const char *digest, struct err *e);

#endif
