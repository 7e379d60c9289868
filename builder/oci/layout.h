/* builder/oci/layout.h — an OCI image layout on disk: oci-layout, index.json, blobs/sha256/.
 *
 * Writing (armlet build):
 *     struct layout *l = NULL;
 *     layout_open(dir, 1, &l, e);             // creates DIR if needed, exclusive lock
 *     const char *stage = layout_stage_dir(l, e);   // DIR/blobs/.armlet-build-XXXXXX
 *     ... write this build's blobs into stage (content-addressed: stage/<hex>) ...
 *     layout_set_tag(l, "latest", &index_desc, e);  // in memory
 *     layout_prepare(l, e);      // can fail: staged blobs move into blobs/sha256 (each
 *                                // move undoable), the new index.json is written aside
 *     ... publish other outputs (rootfs, docker archive), undoably ...
 *     layout_commit(l, &removed, e);   // THE commit point: rename over index.json; then
 *                                      // garbage collection, which never fails
 *     layout_close(l);   // without a commit: undoes prepare, removes the staging folder
 *                        // (and the skeleton of a layout this open created)
 *
 * One commit point. Everything that can fail happens before the rename of index.json;
 * layout_discard (or layout_close) before it puts every blob back as it was: a blob this
 * build added is removed, a blob it replaced (same name: same bytes, or a corrupt copy it
 * repaired) is exchanged back (renameat2 RENAME_EXCHANGE). Blobs no tag references are
 * left alone. Garbage collection happens only after the commit, and only when it could
 * read every document that may reference a blob (see layout_gc.h); otherwise it removes
 * nothing and layout_gc_note() says why.
 *
 * The layout is untrusted input (another job may have written it): blobs/ and
 * blobs/sha256 must be real folders below DIR (openat2 RESOLVE_BENEATH|NO_SYMLINKS, or
 * O_NOFOLLOW per component); index.json and blobs are opened with O_NOFOLLOW|O_NONBLOCK
 * and must be regular files (a symlink, FIFO or device is refused, never followed or
 * waited on); reads are capped; temporary files are created O_EXCL|O_NOFOLLOW under fresh
 * names, so a planted symlink (index.json.tmp ...) never redirects a write. The lock is
 * flock on DIR: exclusive for a build, shared for inspect and push.
 *
 * Reading (inspect, push): layout_open(dir, 0, ...) creates nothing; layout_find_tag,
 * layout_read_json_desc (digest AND size checked), layout_blob_open (a verified fd).
 */
#ifndef ARMLET_LAYOUT_H
#define ARMLET_LAYOUT_H
#include <stddef.h>
#include <jansson.h>
#include "util/error.h"
#include "oci/oci.h"

#define LAYOUT_JSON_MAX (16u << 20)   /* cap on index.json and every JSON blob read */

struct layout;

/* Open (writable: create when missing) the layout at dir. A folder that exists, is not
 * empty and has no oci-layout file is refused, so a typo cannot collect someone's files.
 * Returns 0 and *out (free with layout_close) or ERR. */
int layout_open(const char *dir, int writable, struct layout **out, struct err *e);
/* Closes; before a commit this is layout_discard. NULL is fine. */
void layout_close(struct layout *l);

const char *layout_dir(const struct layout *l);
const char *layout_blobs_dir(const struct layout *l);     /* DIR/blobs/sha256, for messages */
/* The folder where this build writes its new blobs (created on first use), or NULL with
 * e set (read-only layout, cannot create). Blobs there are seen by nobody until
 * layout_prepare. */
const char *layout_stage_dir(struct layout *l, struct err *e);
/* The top-level index.json document (borrowed; valid until layout_close). */
json_t *layout_index(const struct layout *l);

/* 1 when tag is a valid reference name ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}), else 0. */
int layout_tag_valid(const char *tag);
/* A command's "DIR[:TAG]" argument: TAG is what follows the last ':' when that is a valid
 * tag and arg itself is not an existing folder (so "out/oci:v1" is out/oci, tag v1, and a
 * folder named "a:b" stays whole). *dir is malloc'd (the caller frees it), *tag points
 * into arg or is NULL. 0, or ERR when out of memory. */
int layout_arg_split(const char *arg, char **dir, const char **tag);
/* Point tag at d (an image index or manifest), replacing any entry of that tag. Entries
 * stay sorted by tag so index.json does not depend on build order. In memory only. */
int layout_set_tag(struct layout *l, const char *tag, const struct oci_desc *d,
                   struct err *e);
/* The index.json entry of tag (borrowed); with tag NULL, the only entry. NULL with e set:
 * "DIR has no tag "X" (tags: a, b)", or for NULL "DIR holds 2 images (tags: a, b): name
 * one as DIR:TAG". */
json_t *layout_find_tag(const struct layout *l, const char *tag, struct err *e);
/* The tag (ref name annotation) of an index.json entry (borrowed), or NULL. */
const char *layout_entry_tag(const json_t *entry);

/* Everything of the commit that can fail: the new index.json written (temp in the staging
 * folder, fsync), staged blobs moved into blobs/sha256, the garbage collector's marks
 * taken. 0, or ERR with the layout as it was (the moves undone). */
int layout_prepare(struct layout *l, struct err *e);
/* The commit (layout_prepare first when not done): rename the new index.json into place,
 * fsync; then garbage collection (only when the marks were complete) and the staging
 * folders' removal. ERR only when the rename fails (call layout_discard then); after it,
 * 0 whatever happens. *removed (may be NULL): files removed. Writing more blobs after a
 * commit starts a new staging folder. */
int layout_commit(struct layout *l, size_t *removed, struct err *e);
/* Why the last commit's garbage collection removed nothing ("" when it ran). */
const char *layout_gc_note(const struct layout *l);
/* The GC alone, on the committed index.json. ERR (nothing removed) when a document that
 * may reference blobs cannot be read. Needs a writable layout. */
int layout_gc(struct layout *l, size_t *removed, struct err *e);

/* Before a commit: forget the in-memory changes, undo layout_prepare's moves, remove the
 * staging folder. Blobs that were there before (referenced or not) stay byte for byte. */
int layout_discard(struct layout *l, struct err *e);

/* Read blob digest (at most LAYOUT_JSON_MAX bytes) and parse it as JSON; the bytes must
 * hash to digest. New reference or NULL with e set. */
json_t *layout_read_json(const struct layout *l, const char *digest, struct err *e);
/* The same for a descriptor {"digest","size",...}: the size must match too. */
json_t *layout_read_json_desc(const struct layout *l, const json_t *desc, struct err *e);
/* The bytes of blob digest (malloc'd, NUL after the end, *n its size; caller frees):
 * a regular file of exactly size bytes (size < 0: any, up to LAYOUT_JSON_MAX) that hashes
 * to digest. NULL with e naming the blob. */
char *layout_read_blob(const struct layout *l, const char *digest, long long size, size_t *n,
                       struct err *e);
/* Open blob digest as a verified regular file: not a symlink, FIFO or device, exactly
 * size bytes (size < 0: any), and its bytes (all read once here) hash to digest. The fd
 * (caller closes; read it with pread), or -1 with e naming the blob. */
int layout_blob_open(const struct layout *l, const char *digest, long long size,
                     struct err *e);
/* Size in bytes of blob digest (a regular file, not a symlink), or -1 with e set. */
long long layout_blob_size(const struct layout *l, const char *digest, struct err *e);

#endif
