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
 * removed afterwards, whatever happened. The list is reproducible (the image digest stable
 * from build to build): PRELOAD_PROFILE_RUNS cold runs, and a PRELOAD_PROFILE_QUANTUM
 * quantum is listed when at least half of its pages were touched in more than half of
 * the runs; files in a fixed order (entrypoint, its interpreter, libraries, others, by
 * path); a Go entrypoint records with GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1
 * (profile_record.h). Measured: 10 builds of Debian's docker-registry, one digest
 * (docs/README-coldstart.md, "Reproducible recording").
 * A foreign platform's program runs through qemu-user binfmt. Needs root.
 */
#ifndef ARMLET_PRELOAD_PROFILE_H
#define ARMLET_PRELOAD_PROFILE_H
#include <stddef.h>
#include "util/error.h"
#include "util/strlist.h"
#include "image/tree.h"

#ifndef PRELOAD_PROFILE_QUANTUM   /* -D for measurements (docs/README-coldstart.md) */
#define PRELOAD_PROFILE_QUANTUM 65536u  /* see the header comment */
#endif
#ifndef PRELOAD_PROFILE_RUNS
#define PRELOAD_PROFILE_RUNS 3
#endif

struct recipe;

/* 0 with *text (malloc'd) and *len, or ERR naming the step that failed. */
int preload_profile(const struct recipe *r, struct tree *base, struct tree *app,
                    const struct strlist *env, const char *near, char **text, size_t *len,
                    struct err *e);

#endif
