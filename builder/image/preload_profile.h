/* builder/image/preload_profile.h — `armlet build`'s profiled preload lists: the image's own
 * entrypoint, run cold in the sandbox until it is ready, tells what to read ahead.
 *
 *     char *text; size_t len;
 *     preload_profile(r, base, app, env, "oci", &text, &len, e);  // list text, caller frees
 *
 * The image's tree (base then app; base may be NULL when app holds both) is written to a
 * temporary folder `.armlet-profile.XXXXXX` beside `near` (the build's output, so on a
 * disk filesystem the page cache can be emptied for; a tmpfs is refused), the recipe's
 * entrypoint and cmd run there through profile_record (profile_record.h: sandbox, as the
 * recipe's user, with env, the device's readahead off, files evicted first) until the
 * recipe's `health` URL answers (limit 30 s) or, without one, for 10 s; the folder is
 * removed afterwards, whatever happened. Ranges are rounded out to PRELOAD_PROFILE_QUANTUM,
 * 4 KiB: coarser quanta were measured to buy no digest stability (a C server gave the same
 * digest 10 times in 10 at 4 and 16 KiB; a Go server a new one every build at 4, 16 and
 * 64 KiB) while 64 KiB doubled a Go server's list, which the SD-card model pays for
 * (docs/README-coldstart.md, "Measured").
 * A foreign platform's program runs through qemu-user binfmt. Needs root.
 */
#ifndef ARMLET_PRELOAD_PROFILE_H
#define ARMLET_PRELOAD_PROFILE_H
#include <stddef.h>
#include "util/error.h"
#include "util/strlist.h"
#include "image/tree.h"

#ifndef PRELOAD_PROFILE_QUANTUM   /* -D for measurements (docs/README-coldstart.md) */
#define PRELOAD_PROFILE_QUANTUM 4096u   /* a page: see the header comment */
#endif

struct recipe;

/* 0 with *text (malloc'd) and *len, or ERR naming the step that failed. */
int preload_profile(const struct recipe *r, struct tree *base, struct tree *app,
                    const struct strlist *env, const char *near, char **text, size_t *len,
                    struct err *e);

#endif
