/* init/preload.h — --preload FILE: warm the page cache for the child while it starts.
 *
 *     pid = fork();                 // the child execs the program at once
 *     parent: preload_start(&opts); // returns at once
 *
 * preload_start() forks a short-lived helper that reads the list (format in
 * common/armlet_shared.h, ARMLET_PRELOAD_PATH) and asks the kernel to read each listed
 * range ahead, in list order, then exits. The init never waits for it: its signal loop
 * is never blocked by I/O, and the helper is reaped like any other child. The child's
 * exec is never held back: it was forked before. A missing or unreadable listed file,
 * or a malformed line, is reported with --verbose and skipped; nothing here is fatal.
 *
 * No heap: the helper reads the list through static buffers.
 */
#ifndef ARMLET_INIT_PRELOAD_H
#define ARMLET_INIT_PRELOAD_H
#include "options.h"

/* Does nothing when o->preload is NULL. Never fails (a failed fork is reported with
 * --verbose and the start continues without a preload). */
void preload_start(const struct options *o);

#endif
