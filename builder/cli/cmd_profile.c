/* builder/cli/cmd_profile.c — `armlet profile`: record which parts of a rootfs's files a
 * program reads while it starts, as a preload list for armlet-init.
 *
 *   armlet profile ROOTFS [--url URL] [--seconds N] [-o FILE] [--drop-caches]
 *                  [--readahead-kb N|keep] [--runs N [--quantum B]] [--entrypoint-only]
 *                  -- ENTRYPOINT [ARGS...]
 *
 * 1. Evict: every regular file under ROOTFS is synced and dropped from the page cache
 *    (posix_fadvise DONTNEED; --drop-caches drops the whole cache instead), and its atime
 *    is set to 0 so the kernel's relatime rule stamps the time of its first read.
 *    The block device's read_ahead_kb is set to 0 (--readahead-kb) for the run and
 *    restored after it, so what becomes resident is what the program touched, not the
 *    kernel's readahead around it.
 * 2. Run: ENTRYPOINT in a sandbox (sandbox.h): ROOTFS as its root through pivot_root,
 *    new user/mount/PID/network/IPC/UTS namespaces, the image's user (--user, default
 *    nonroot; image root is the host's nobody), the image's environment only (--env),
 *    no capabilities, no_new_privs; stdout sent to our stderr. A foreign-platform
 *    program runs through qemu binfmt (the F flag keeps the interpreter reachable).
 * 3. Wait until URL answers (any HTTP response; libcurl, from inside the program's
 *    network namespace: the URL names the program's own loopback) or N seconds pass
 *    (default 10, or 30 as the limit for the URL).
 * 4. Scan: mmap every regular file and mincore() it; resident pages become ranges.
 * 5. Stop the program (SIGKILL to the PID namespace) and write the list.
 *    Interrupted (SIGINT, SIGTERM, SIGHUP), it restores read_ahead_kb and kills the
 *    program's group before it exits.
 *
 * Order: mincore says what, not when. The list starts with the entrypoint program, then
 * the files in order of their first read (the atime stamped in step 1; the kernel's
 * coarse clock makes ties, broken by path), then files with resident pages but no new
 * atime (noatime mounts, or pages brought in without a read, e.g. readahead of a
 * neighbour) by path.
 *
 * --entrypoint-only runs nothing: it writes the list `armlet build` makes for
 * `init preload=entrypoint` (the program's loadable segments, in ranges of at most
 * PRELOAD_CHUNK_BYTES; without the recipe it cannot know of `libs`, so no libraries).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "armlet_shared.h"
#include "util/cleanup.h"
#include "cli/commands.h"
#include "util/error.h"
#include "image/preload_profile.h"
#include "image/profile_record.h"
#include "recipe/recipe.h"
#include "util/strlist.h"

static const char usage_text[] =
    "usage: armlet profile ROOTFS [--url URL] [--seconds N] [-o FILE] [--drop-caches]\n"
    "                      [--readahead-kb N|keep] [--user U[:G]] [--env K=V]...\n"
    "                      [--workdir DIR] [--runs N [--quantum BYTES]] [--entrypoint-only]\n"
    "                      -- ENTRYPOINT [ARGS...]\n"
    "\n"
    "Runs ENTRYPOINT in a sandbox rooted at ROOTFS (its own user, mount, PID and network\n"
    "namespaces; see docs/README-coldstart.md) with the page cache of ROOTFS's files evicted,\n"
    "until URL answers or N seconds pass (default 10; with --url, N is the limit, default\n"
    "30), then writes the parts of each file that were read as a preload list\n"
    "(PATH OFFSET:LENGTH ...; entrypoint first, then in order of first read) to FILE or\n"
    "stdout. Use it as `init preload=FILE` in a recipe.\n"
    "\n"
    "  --drop-caches      evict with /proc/sys/vm/drop_caches instead of per file\n"
    "  --readahead-kb N   the disk's read_ahead_kb during the run (default 0: record only\n"
    "                     what the program touched; restored after); keep: leave it\n"
    "  --user U[:G]       the image's user: root, nonroot (default) or UID[:GID]; image\n"
    "                     root runs as the host's nobody (65534)\n"
    "  --env NAME=VALUE   the image's environment (repeat); nothing of armlet's own is\n"
    "                     passed (default: PATH only)\n"
    "  --workdir DIR      the image's working folder (default /)\n"
    "  --runs N           record N runs and keep the quanta at least half touched in\n"
    "                     more than half of them, files in a fixed order: a list\n"
    "                     that mostly comes out the same from run to run\n"
    "  --quantum BYTES    with --runs: the unit of the list (default 65536)\n"
    "  --entrypoint-only  run nothing; write the entrypoint's loadable segments\n"
    "\n"
    "Exit status: 0 list written, 1 failure (program did not start, URL never answered),\n"
    "2 usage.\n";

static int write_list(const char *out, const char *text, size_t len, struct err *e)
{
    if (!out || !strcmp(out, "-"))
        return fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0
                   ? 0 : err_sys(e, errno, "stdout");
    cleanup_file FILE *f = fopen(out, "w");
    if (!f)
        return err_sys(e, errno, "%s", out);
    if (fwrite(text, 1, len, f) != len || fclose(steal_pointer(&f)) != 0)
        return err_sys(e, errno, "%s", out);
    return 0;
}

int cmd_profile(int argc, char **argv)
{
    const char *root = NULL;
    struct profile_opts o = {.seconds = -1, .readahead_kb = 0, .uid = ARMLET_NONROOT_UID,
                             .gid = ARMLET_NONROOT_GID};
    const char *out = NULL;
    int i;
    struct err e = {0};

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *end;
        if (!strcmp(a, "--")) {
            i++;
            break;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "--url") && i + 1 < argc) {
            o.url = argv[++i];
        } else if (!strcmp(a, "--seconds") && i + 1 < argc) {
            o.seconds = strtod(argv[++i], &end);
            if (*end || !(o.seconds > 0) || o.seconds > 3600) {
                fprintf(stderr, "armlet: profile: --seconds: expected 0 < N <= 3600, got '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--readahead-kb") && i + 1 < argc) {
            if (!strcmp(argv[++i], "keep")) {
                o.readahead_kb = -1;
            } else {
                o.readahead_kb = strtol(argv[i], &end, 10);
                if (*end || argv[i][0] == '\0' || o.readahead_kb < 0 || o.readahead_kb > 1048576) {
                    fprintf(stderr, "armlet: profile: --readahead-kb: expected KiB or keep, "
                            "got '%s'\n", argv[i]);
                    return 2;
                }
            }
        } else if (!strcmp(a, "--runs") && i + 1 < argc) {
            long n = strtol(argv[++i], &end, 10);
            if (*end || argv[i][0] == '\0' || n < 1 || n > 99) {
                fprintf(stderr, "armlet: profile: --runs: expected 1 to 99, got '%s'\n", argv[i]);
                return 2;
            }
            o.stable = 1;
            o.runs = (int)n;
        } else if (!strcmp(a, "--quantum") && i + 1 < argc) {
            unsigned long long q = strtoull(argv[++i], &end, 10);
            if (*end || argv[i][0] == '\0' || q < 4096 || q > (64u << 20) || q % 4096) {
                fprintf(stderr, "armlet: profile: --quantum: expected a multiple of 4096 up "
                        "to 64 MiB, got '%s'\n", argv[i]);
                return 2;
            }
            o.quantum = q;
        } else if (!strcmp(a, "--user") && i + 1 < argc) {
            if (recipe_parse_ids(argv[++i], &o.uid, &o.gid) < 0) {
                fprintf(stderr, "armlet: profile: --user: expected root, nonroot or "
                        "UID[:GID], got '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--env") && i + 1 < argc) {
            const char *kv = argv[++i];
            if (!strchr(kv, '=') || kv[0] == '=') {
                fprintf(stderr, "armlet: profile: --env: expected NAME=VALUE, got '%s'\n", kv);
                strlist_free(&o.env);
                return 2;
            }
            if (strlist_add(&o.env, kv, &e) < 0) {
                err_print(&e);
                strlist_free(&o.env);
                return 1;
            }
        } else if (!strcmp(a, "--workdir") && i + 1 < argc) {
            o.workdir = argv[++i];
        } else if (!strcmp(a, "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(a, "--drop-caches")) {
            o.drop_caches = 1;
        } else if (!strcmp(a, "--entrypoint-only")) {
            o.entry_only = 1;
        } else if (a[0] != '-' && !root) {
            root = a;
        } else {
            fprintf(stderr, "armlet: profile: unexpected argument '%s'\n%s", a, usage_text);
            strlist_free(&o.env);
            return 2;
        }
    }
    if (!root || i >= argc) {
        fputs(usage_text, stderr);
        strlist_free(&o.env);
        return 2;
    }
    if (o.seconds < 0)
        o.seconds = o.url ? 30 : 10;
    if (o.stable && !o.quantum)
        o.quantum = PRELOAD_VOTE_QUANTUM;
    cleanup_free char *text = NULL;
    size_t len = 0;
    int rc = profile_record(root, argv + i, &o, &text, &len, &e);
    if (rc == 0)
        rc = write_list(out, text, len, &e);
    strlist_free(&o.env);
    if (rc < 0) {
        err_print(&e);
        return 1;
    }
    return 0;
}
