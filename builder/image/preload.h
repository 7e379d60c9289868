/* builder/image/preload.h — preload lists: what armlet-init reads ahead at start
 * (format: common/armlet_shared.h, ARMLET_PRELOAD_PATH).
 *
 * Lifecycle:
 *     struct preload_list l = {0};
 *     preload_list_add(&l, "/app", 0, 4096, e) ...     // or preload_list_parse(), or
 *     preload_entrypoint(&l, "/app", "dist/app", e)    // the program's PT_LOAD ranges
 *     preload_list_merge(&l, e);                        // sort + merge, drop repeats
 *     preload_list_format(&l, &text, &len, e);          // text, caller frees
 *     preload_list_free(&l);
 *
 * The list is a sequence of entries (one path and its ranges each), in the order the
 * init reads them ahead, so callers add in first-use order. A path may have several
 * entries: a recording in first-touch order reads part of a program, then a library,
 * then more of the program. Ranges added for the path of the last entry join it; any
 * other path starts a new entry. An entry with no ranges means "the whole file".
 * Everything is owned by the list.
 */
#ifndef ARMLET_PRELOAD_H
#define ARMLET_PRELOAD_H
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

struct tree;
struct recipe;
struct platform;

struct preload_range { uint64_t off, len; };

struct preload_file {
    char *path;                      /* absolute image path, no spaces */
    struct preload_range *ranges;    /* none = whole file */
    size_t nranges, cap;
    int whole;                       /* listed whole: ranges added later are ignored */
};

struct preload_list {
    struct preload_file *files;
    size_t nfiles, cap;
};

void preload_list_free(struct preload_list *l);
/* Add [off, off+len) of path (len 0: the whole file, which after merging absorbs every
 * range of path, earlier or later), to the last entry when it names path, else as a new
 * entry. ERR when path is not absolute, has
 * whitespace or is longer than ARMLET_PRELOAD_MAX_LINE / 2, when off + len passes
 * INT64_MAX (the largest file offset), or on out of memory. */
int preload_list_add(struct preload_list *l, const char *path, uint64_t off, uint64_t len,
                     struct err *e);
/* Sort each entry's ranges and merge the ones that overlap or touch; remove from each
 * entry what an earlier entry of the same path covers (a path listed whole anywhere is
 * read whole at its first entry); drop emptied entries and join neighbours of one path.
 * ERR only on out of memory. */
int preload_list_merge(struct preload_list *l, struct err *e);
/* The list as text, one line an entry (more when its ranges pass the line limit). *text is malloc'd (caller frees), *len its size. */
int preload_list_format(const struct preload_list *l, char **text, size_t *len,
                        struct err *e);
/* Parse list text (len bytes); `name` names it in errors: "NAME:LINE: ...". Lines are
 * checked as the init reads them (absolute path, OFFSET:LENGTH decimals, line length). */
int preload_list_parse(const char *name, const char *buf, size_t len, struct preload_list *l,
                       struct err *e);
/* Add the loadable segments (PT_LOAD file ranges) of the ELF program at host_path,
 * listed under image_path. */
int preload_entrypoint(struct preload_list *l, const char *image_path, const char *host_path,
                       struct err *e);
/* The largest range the builder writes into an image's list: one
 * posix_fadvise(WILLNEED) reads at most max(read_ahead_kb, max_sectors_kb) of the
 * file's device (the kernel's force_page_cache_ra caps it there; 128 KiB is an SD card's
 * read_ahead_kb), so a longer range would be read only in part. */
#define PRELOAD_CHUNK_BYTES (128u * 1024)
/* Split every range longer than chunk into ranges of chunk bytes (the last shorter), in
 * offset order. Call after preload_list_merge, which would join them again. */
int preload_list_split(struct preload_list *l, uint64_t chunk, struct err *e);
/* Total bytes listed (whole-file entries count as 0). */
uint64_t preload_list_bytes(const struct preload_list *l);

/* For `armlet build`: the list for the recipe's `init preload=` value, for one platform.
 *   "none"        -> 0, *text = NULL (no list, no flag)
 *   "entrypoint"  -> the entrypoint program's PT_LOAD ranges (the program is looked up in
 *                    tree t, following symlinks in the tree), then its loader's and, when
 *                    the recipe carries them (`libs`), its shared libraries' for platform
 *                    p (p NULL: no libraries)
 *   PATH          -> a list recorded earlier (`armlet profile -o PATH`), relative to the
 *                    recipe's folder, checked and normalised
 * Whole-file entries naming a file of t get the range of its size, and every range is
 * split into PRELOAD_CHUNK_BYTES pieces (preload_list_split), so the init reads all of it.
 * On success with *text set, the caller adds *text at ARMLET_PRELOAD_PATH to the tree and
 * adds "--preload=" ARMLET_PRELOAD_PATH to the init flags. *text is malloc'd. sysroot
 * (NULL: "/") is where a `libs` entrypoint's libraries came from. */
int preload_for_build(const struct recipe *r, const struct platform *p, const char *sysroot,
                      struct tree *t, const char *value, char **text, size_t *len,
                      struct err *e);
/* List text data (n bytes, `name` in errors) as preload_for_build writes a PATH list:
 * checked, whole files of t given their size, merged, split. *text malloc'd. */
int preload_normalize(struct tree *t, const char *name, const char *data, size_t n,
                      char **text, size_t *len, struct err *e);
/* Make the files of list text (len bytes, as preload_for_build gives it) go first in
 * t's layer, in list order (tree_set_first): each path is looked up in t following
 * symlinks in the tree, so a listed link puts the file it names first; paths that name
 * no file of t (e.g. files of the base layer) are left out. ERR on a malformed list or
 * out of memory. */
int preload_layer_order(struct tree *t, const char *text, size_t len, struct err *e);

/* The FILE node that path names in tree t, following symlinks (and hardlinks) in any
 * component, as the kernel would in the image (at most 40 links). NULL if none. */
struct tree;
const struct tree_node *tree_resolve(struct tree *t, const char *path);

#endif
