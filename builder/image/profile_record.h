/* builder/image/profile_record.h — record what a program reads while it starts, as a preload
 * list: the engine of `armlet profile` (cmd_profile.c) and of `armlet build`'s profiled
 * lists (build.c, docs/README-coldstart.md).
 *
 *     struct profile_opts o = {.url = "http://127.0.0.1:8080/healthz", .seconds = 30,
 *                              .uid = 65532, .gid = 65532, .quantum = 65536};
 *     char *text; size_t len;
 *     profile_record("/tmp/rootfs", argv, &o, &text, &len, e);   // list text, caller frees
 *
 * 1. Evict: every regular file under ROOT is synced and dropped from the page cache
 *    (posix_fadvise DONTNEED; drop_caches drops the whole cache instead), and its atime
 *    set to 0 so the kernel's relatime rule stamps the time of its first read. The block
 *    device's read_ahead_kb is set to readahead_kb (0: none; -1 keeps it) for the run and
 *    restored after it, so what becomes resident is what the program touched.
 * 2. Run: argv in a sandbox (sandbox.h) rooted at ROOT, as uid:gid, with env only. A
 *    foreign-platform program runs through qemu binfmt (the F flag keeps the interpreter
 *    reachable); qemu's own files are the host's, outside ROOT, so never listed.
 * 3. Wait until url answers (any HTTP response, asked inside the program's network
 *    namespace) or `seconds` pass; with url, not answering in time is an error.
 * 4. Freeze: SIGSTOP to every process of its PID namespace, waited for; then scan: mmap
 *    every regular file and mincore() it; resident pages become ranges.
 * 5. Stop the program (SIGKILL to its PID namespace).
 * First-touch order: where this kernel can trace (pagetrace.h: tracefs, root), every run
 * also records the order in which the program's pages entered the page cache, and the
 * list is in that order, in blocks of 128 KiB (touch_order.h: each block at the earliest
 * any run touched it; blocks of one file in a row are one entry, and a file touched again
 * later comes back on a later line). Without tracing, the file orders below.
 * One run (stable 0, `armlet profile` without --runs): ranges rounded outward to
 * `quantum` bytes (within the file); the list starts with the entrypoint program, then
 * files in order of first read (atime; ties by path), then files with resident pages but
 * no new atime, by path. Within a file, offset order.
 * stable (`armlet build`, `armlet profile --runs N`): steps 1-5 `runs` times; a quantum
 * (`quantum` bytes of a file) is listed when at least half of its pages were resident in
 * more than half of the runs; files in a fixed order: the entrypoint, its ELF
 * interpreter, shared libraries (".so" names), every other file, by path within each
 * group. A Go entrypoint runs with GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1 added
 * (the recording only). Together these make the list, and so the image digest, the same
 * from build to build (docs/README-coldstart.md, "Reproducible recording").
 * stable + any_run (`armlet build`, whose lists are kept and reused: preload_keep.h): a
 * quantum is listed when any of its pages was resident in any of the runs (full
 * coverage; quantum 0 = whole pages), the same fixed file order, no Go settings.
 *
 * The trace's tracing instance is removed after the runs, and by the signal handling
 * below. Runs are serialised host-wide (flock on /run/lock/armlet-profile.lock, else /tmp): each
 * saves and restores read_ahead_kb, which overlapping runs would leave at 0.
 * SIGINT, SIGTERM and SIGHUP during a run restore read_ahead_kb, kill the program, remove
 * the tracing instance and exit 128+N (handlers stay installed afterwards). entry_only: run nothing, list the
 * entrypoint's loadable segments. ROOT may not be the host's /. Needs root.
 */
#ifndef ARMLET_PROFILE_RECORD_H
#define ARMLET_PROFILE_RECORD_H
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"
#include "util/strlist.h"

struct profile_opts {
    const char *url;              /* readiness: any HTTP answer, from the program's network */
    double seconds;
    int drop_caches, entry_only;
    int require_evicted;          /* pages left resident after eviction: an error */
    long readahead_kb;            /* -1: keep the device's setting */
    unsigned uid, gid;            /* the image's user, inside the sandbox */
    const char *workdir;
    uint64_t quantum;             /* ranges rounded outward to multiples of this (0, 1: pages) */
    int stable;                   /* reproducible list: votes over `runs` runs (below) */
    int runs;                     /* stable: recording runs (1 when below 2) */
    int any_run;                  /* stable: every quantum touched in any run (above) */
    struct strlist env;           /* the image's environment (--env), nothing of ours */
};

/* Record the list for program argv (argv[0] an image path) in ROOT. 0 with *text (malloc'd,
 * caller frees) and *len, or ERR. */
int profile_record(const char *root, char **prog, const struct profile_opts *o, char **text,
                   size_t *len, struct err *e);

#endif
