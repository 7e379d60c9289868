/* builder/image/touch_order.h — which block of which file a program touched first, over
 * several recording runs: the order of a preload list (profile_record.c).
 *
 *     struct touch_order *o = touch_order_new(n, inos, sizes, 128 * 1024, e);
 *     touch_order_add_run(o, events, nevents);       // once per run (pagetrace.h)
 *     float r = touch_order_rank(o, file, block);    // 0 = first; > 1: never touched
 *     touch_order_free(o);
 *
 * A run ranks the blocks it touched by their first insertion, scaled to [0, 1) by the
 * number of blocks it touched (runs that touch more or fewer blocks stay comparable).
 * A block's rank is the smallest over the runs: the earliest any run needed it, which is
 * how early the list must read it. Files are given by inode (one device); events of other
 * inodes (the host's qemu, files outside the image) are ignored.
 */
#ifndef ARMLET_TOUCH_ORDER_H
#define ARMLET_TOUCH_ORDER_H
#include <stddef.h>
#include <stdint.h>
#include "image/pagetrace.h"
#include "util/error.h"

struct touch_order;

#define TOUCH_NEVER 2.0f

/* For n files with these inode numbers and sizes, blocks of `block` bytes (> 0). */
struct touch_order *touch_order_new(size_t n, const uint64_t *inos, const uint64_t *sizes,
                                    uint64_t block, struct err *e);
/* One run's insertions, in kernel order. */
void touch_order_add_run(struct touch_order *o, const struct pagetrace_event *ev, size_t n);
/* The rank of block `block` of file `file` (indices as given to touch_order_new). */
float touch_order_rank(const struct touch_order *o, size_t file, uint64_t block);
uint64_t touch_order_block(const struct touch_order *o);
void touch_order_free(struct touch_order *o);

#endif
