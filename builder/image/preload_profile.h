/* builder/image/preload_profile.h — `armlet build`'s profiled preload lists: the image's own
 * entrypoint, run cold in the sandbox until it is ready, tells what to read ahead; the
 * list is recorded once and kept beside the recipe (preload_keep.h), then reused.
 *
 *     struct preload_profiled pr;
 *     preload_profile(r, p, base, app, env, "oci", PRELOAD_KEEP_AUTO, &pr, e);
 *     ... pr.text, pr.len: the list (parse it with preload_normalize, naming pr.path) ...
 *     preload_profile_keep(&pr, p);     // once the build has succeeded
 *     preload_profiled_free(&pr);
 *
 * First the key of everything the recording depends on (preload_keep_key) and the kept
 * list "<recipe>.preload/<platform dir>". Its key matches (AUTO, REUSE): that list, and
 * nothing runs. Missing or stale (AUTO), or RECORD: record; REUSE: an error naming the
 * file. Recording: the image's tree (base then app; base may be NULL when app holds both)
 * is written to a temporary folder `.armlet-profile.XXXXXX` beside `near` (the build's
 * output, so on a disk filesystem the page cache can be emptied for; a tmpfs is
 * refused), the recipe's entrypoint and cmd run there through profile_record
 * (profile_record.h: sandbox, as the recipe's user, with env, the device's readahead off,
 * files evicted first) until the readiness URL answers (url=, else the http:// health
 * URL; limit seconds=, default 30) or for seconds= (default 10); the folder is removed
 * afterwards, whatever happened. Full coverage: PRELOAD_PROFILE_RUNS cold runs, every
 * page touched in any of them, whole pages merged to ranges, files in a fixed order
 * (entrypoint, its interpreter, libraries, others, by path). Reproducibility comes from
 * reuse, not from the recording: a recording differs from run to run (a Go runtime's
 * timing), a kept list does not (docs/README-coldstart.md, "Kept lists").
 * preload_profile_keep writes a fresh recording as the kept list (temp file + rename;
 * "armlet: profile: recorded linux/arm64 list, kept in X" on stderr), or warns when the
 * folder is not writable (the image keeps the fresh recording). A foreign platform's
 * program runs through qemu-user binfmt. Recording needs root.
 */
#ifndef ARMLET_PRELOAD_PROFILE_H
#define ARMLET_PRELOAD_PROFILE_H
#include <stddef.h>
#include "util/error.h"
#include "util/strlist.h"
#include "image/tree.h"
#include "oci/digest.h"

/* Recorder settings, part of every key. Quantum 0: whole pages (the kernel's page size). */
#ifndef PRELOAD_PROFILE_QUANTUM   /* -D for measurements (docs/README-coldstart.md) */
#define PRELOAD_PROFILE_QUANTUM 0u
#endif
/* `armlet profile --runs N`: the unit its vote keeps or leaves out (profile_record.h). */
#define PRELOAD_VOTE_QUANTUM 65536u
#ifndef PRELOAD_PROFILE_RUNS
#define PRELOAD_PROFILE_RUNS 3
#endif

struct recipe;
struct platform;

/* --profile=MODE / ARMLET_PROFILE: what a build does about kept lists. */
enum { PRELOAD_KEEP_AUTO, PRELOAD_KEEP_REUSE, PRELOAD_KEEP_RECORD };
/* "auto" (or NULL/""), "reuse", "record" -> *mode, or ERR naming s. */
int preload_profile_mode(const char *s, int *mode, struct err *e);

struct preload_profiled {
    char *text;                 /* the list (a kept one: its key line first), malloc'd */
    size_t len;
    char *path;                 /* the kept list's path, malloc'd */
    char key[DIGEST_PREFIXED_LEN + 1];
    int recorded;               /* recorded by this build: preload_profile_keep writes it */
};

/* 0 with *out filled, or ERR naming the step that failed (out emptied). */
int preload_profile(const struct recipe *r, const struct platform *p, struct tree *base,
                    struct tree *app, const struct strlist *env, const char *near, int mode,
                    struct preload_profiled *out, struct err *e);
/* Keep a fresh recording (out->recorded) as the kept list; warns on failure. */
void preload_profile_keep(const struct preload_profiled *pr, const struct platform *p);
void preload_profiled_free(struct preload_profiled *pr);

#endif
