/* builder/image/layer.h — one reproducible layer blob from a tree.
 *
 *     struct layer_result res;
 *     layer_write(t, COMPRESS_GZIP, epoch, "oci/blobs/sha256", &res, e);
 *     // res.digest "sha256:<hex>" of the compressed blob (now at blobs/sha256/<hex>),
 *     // res.diff_id "sha256:<hex>" of the uncompressed tar, res.size compressed bytes.
 *
 * Entries go in tree_ordered() order: sorted by path, or, after tree_set_first(), the
 * tree's first paths (each after its folders) and then the rest sorted, so a reader
 * that streams the layer gets those files first (as eStargz does prioritized files).
 *
 * Deterministic: the same tree and first paths give the same bytes; mtimes = epoch
 * (SOURCE_DATE_EPOCH or 0), numeric owners only (no uname/gname), no atime/ctime, no
 * xattrs, pax where needed, gzip with no name and no timestamp, fixed levels (gzip 6 by
 * libdeflate, zstd 3 with a fixed 2 workers). gzip is one member per 1 MiB of tar (RFC
 * 1952 multi-member; gunzip readers take all). Digest and diff_id are computed in the one
 * pass that writes the blob. The blob is written to a temporary file in blobs_dir and
 * renamed into place, so a failed write leaves nothing.
 */
#ifndef ARMLET_LAYER_H
#define ARMLET_LAYER_H
#include <stdint.h>
#include "util/error.h"
#include "image/tree.h"

enum compress { COMPRESS_GZIP, COMPRESS_ZSTD, COMPRESS_NONE };

struct layer_result {
    char digest[72];       /* "sha256:" + 64 hex */
    char diff_id[72];
    uint64_t size;
    const char *media_type;  /* application/vnd.oci.image.layer.v1.tar(+gzip|+zstd) */
};

int layer_write(struct tree *t, enum compress c, int64_t epoch, const char *blobs_dir,
                struct layer_result *out, struct err *e);
/* "gzip" / "zstd" / "none" -> enum, or ERR naming the value. */
int layer_compress_parse(const char *s, enum compress *c, struct err *e);

#endif
