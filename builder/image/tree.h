/* builder/image/tree.h — the file tree of one layer: built up in memory, then written by layer.c.
 *
 * Lifecycle:
 *     struct tree *t = tree_new();
 *     tree_add_dir / tree_add_file / tree_add_data / tree_add_symlink /
 *     tree_add_hostdir / tree_add_archive ...    (later adds replace earlier ones at the same path)
 *     tree_set_first(t, paths, n, e)            optional: these go first in the layer
 *     layer_write(t, ...)  or  tree_write_dir(t, "/rootfs", ...)
 *     tree_free(t);
 *
 * Paths are image paths ("/usr/bin/x" or "usr/bin/x": both mean the same node). Missing
 * parent folders are created as 0755 root:root. A path with ".." components, or an
 * archive entry that would land outside its DEST, is refused. Nodes keep owner and mode
 * exactly as given: no umask, no host owner leaks in. Content of FILE nodes is either a
 * host path (read when the layer is written) or bytes owned by the tree.
 */
#ifndef ARMLET_TREE_H
#define ARMLET_TREE_H
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

enum tree_kind { TREE_FILE, TREE_DIR, TREE_SYMLINK, TREE_HARDLINK };

struct tree_node {
    char *path;            /* normalised, no leading or trailing '/': "usr/bin/x" */
    enum tree_kind kind;
    unsigned mode;         /* permission bits incl. setuid/sticky (07777) */
    unsigned uid, gid;
    char *src;             /* FILE: host path to read, or NULL when data is set */
    unsigned char *data;   /* FILE: owned content */
    uint64_t size;         /* FILE: content size */
    char *target;          /* SYMLINK: link target; HARDLINK: image path it links to */
};

struct tree;

struct tree *tree_new(void);                     /* NULL only on out of memory */
void tree_free(struct tree *t);

int tree_add_dir(struct tree *t, const char *path, unsigned mode, unsigned uid, unsigned gid,
                 struct err *e);
/* Host file src, copied when written. Size is taken now (stat); errors name src. */
int tree_add_file(struct tree *t, const char *path, const char *src, unsigned mode,
                  unsigned uid, unsigned gid, struct err *e);
/* Inline bytes (copied). */
int tree_add_data(struct tree *t, const char *path, const void *data, size_t n, unsigned mode,
                  unsigned uid, unsigned gid, struct err *e);
int tree_add_symlink(struct tree *t, const char *path, const char *target, unsigned uid,
                     unsigned gid, struct err *e);
/* Recursively add host folder hostdir at dest (files, dirs, symlinks), owners set to
 * uid:gid, modes kept from the host (e.g. /usr/share/zoneinfo). */
int tree_add_hostdir(struct tree *t, const char *dest, const char *hostdir, unsigned uid,
                     unsigned gid, struct err *e);
/* Unpack an archive (any format/compression libarchive reads) under dest; entry owners
 * and modes kept from the archive; entries escaping dest are an error naming them. */
int tree_add_archive(struct tree *t, const char *dest, const char *archive_path,
                     struct err *e);

/* Remove the node at path and, for a folder, everything below it. Returns 1 when
 * something was removed, 0 when nothing is at path, ERR on out of memory. */
int tree_remove(struct tree *t, const char *path, struct err *e);

/* Nodes sorted by path (byte order), parents before children. Valid until the next add. */
int tree_sorted(struct tree *t, const struct tree_node ***nodes, size_t *n, struct err *e);
/* A node of the image as the layers stack it, and whether the base layer holds it. */
struct tree_stacked { const struct tree_node *n; int in_base; };
/* base's and app's nodes merged as the layers stack them: path order (tree_sorted's), the
 * app's node where both trees have one (a later layer hides an earlier one's path). base
 * may be NULL. *out is malloc'd (the caller frees it); its nodes live as long as the
 * trees and until their next add. ERR only on out of memory. */
int tree_stack(struct tree *base, struct tree *app, struct tree_stacked **out, size_t *n,
               struct err *e);
/* The order layer_write writes entries in: the paths given to tree_set_first, in that
 * order, each preceded by those of its parent folders not written yet; then every other
 * node in tree_sorted order. A first path with no node in the tree is skipped. Without
 * first paths it is tree_sorted's view. Valid until the next add or tree_set_first. */
int tree_ordered(struct tree *t, const struct tree_node ***nodes, size_t *n, struct err *e);
/* Set the paths tree_ordered puts first (copied, normalised; replaces an earlier set;
 * n 0 clears it). ERR on a ".." path or out of memory. Nodes need not exist yet. */
int tree_set_first(struct tree *t, const char *const *paths, size_t n, struct err *e);
/* Look a node up, or NULL. */
const struct tree_node *tree_get(const struct tree *t, const char *path);

/* Write the tree as a folder (for --rootfs): owners applied when running as root. */
int tree_write_dir(struct tree *t, const char *root, int64_t mtime, struct err *e);

#endif
