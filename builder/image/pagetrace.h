/* builder/image/pagetrace.h — the order in which a program's file pages enter the page
 * cache, from the kernel's tracepoint filemap:mm_filemap_add_to_page_cache (tracefs).
 *
 * mincore() tells which pages of a file are resident after a run, not when each was read;
 * a preload list read in the program's own order lets the program find each page read
 * before it faults on it (docs/README-coldstart.md, "First-touch order"). With the
 * device's read-ahead off during the run, each insertion is a page the program touched.
 *
 *     struct pagetrace *t;
 *     if (pagetrace_open(&t, st.st_dev, e) < 0) ...       // no tracefs: go without order
 *     pagetrace_start(t, e);  run the program;  pagetrace_stop(t, &ev, &n, e);
 *     pagetrace_close(t);
 *
 * The trace goes to a tracing instance of our own (instances/armlet-profile-PID), so the
 * host's own tracing is left alone, filtered in the kernel to one block device. Where
 * tracefs is not mounted, a helper process mounts it in a mount namespace of its own and
 * the instance is reached through /proc/HELPER/root: nothing is mounted on the host.
 * pagetrace_close removes the instance (tracefs keeps instances until removed) and ends
 * the helper. Needs root (CAP_SYS_ADMIN) and a kernel with tracefs and the tracepoint.
 */
#ifndef ARMLET_PAGETRACE_H
#define ARMLET_PAGETRACE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/error.h"

struct pagetrace;

/* One insertion: `pages` pages from byte offset off of inode ino, in kernel order. */
struct pagetrace_event {
    uint64_t ino, off;
    uint32_t pages;
};

/* Set up a trace of insertions on block device dev. ERR (with the reason) when this
 * kernel or this process cannot trace; *t is then NULL. */
int pagetrace_open(struct pagetrace **t, dev_t dev, struct err *e);
/* Empty the buffer and start recording. */
int pagetrace_start(struct pagetrace *t, struct err *e);
/* Stop recording; *ev (malloc'd, caller frees) gets the events since pagetrace_start in
 * the order the kernel inserted the pages, *n their count, *lost whether the buffer ran
 * over (then the earliest events are missing). */
int pagetrace_stop(struct pagetrace *t, struct pagetrace_event **ev, size_t *n, int *lost,
                   struct err *e);
/* The instance folder, for a signal handler to rmdir (async-signal-safe). */
const char *pagetrace_dir(const struct pagetrace *t);
/* Remove the instance and end the helper; NULL is allowed. */
void pagetrace_close(struct pagetrace *t);

/* One line of the trace file into ev: 1 for an insertion, 0 for any other line. */
int pagetrace_parse_line(const char *line, struct pagetrace_event *ev);

#endif
