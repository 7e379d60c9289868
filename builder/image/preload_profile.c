/* builder/image/preload_profile.c — record a profiled preload list at build time (see
 * preload_profile.h). */
#include "image/preload_profile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fdio.h"
#include "image/preload_keep.h"
#include "image/profile_record.h"
#include "recipe/recipe.h"

#define TMPFS_MAGIC_ 0x01021994   /* linux/magic.h TMPFS_MAGIC */

/* A new folder beside path near ("oci" -> "./.armlet-profile.XXXXXX"), malloc'd. */
static char *scratch_beside(const char *near, struct err *e)
{
    cleanup_free char *dir = strdup(near && *near ? near : ".");
    if (!dir)
        return err_set(e, "out of memory"), NULL;
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/';)
        dir[--n] = '\0';
    char *slash = strrchr(dir, '/');
    const char *parent = !slash ? "." : slash == dir ? "/" : (*slash = '\0', dir);
    char *d = NULL;
    if (asprintf(&d, "%s/.armlet-profile.XXXXXX", parent) < 0)
        return err_set(e, "out of memory"), NULL;
    /* 0755 as an image's / (mkdtemp gives 0700): the program runs as the image's user */
    if (!mkdtemp(d) || chmod(d, 0755) < 0) {
        err_sys(e, errno, "cannot create a temporary folder %s", d);
        free(d);
        return NULL;
    }
    return d;
}

int preload_profile_mode(const char *s, int *mode, struct err *e)
{
    if (!s || !*s || !strcmp(s, "auto"))
        *mode = PRELOAD_KEEP_AUTO;
    else if (!strcmp(s, "reuse"))
        *mode = PRELOAD_KEEP_REUSE;
    else if (!strcmp(s, "record"))
        *mode = PRELOAD_KEEP_RECORD;
    else
        return err_set(e, "profile mode \"%.64s\": expected auto, reuse or record", s);
    return 0;
}

void preload_profiled_free(struct preload_profiled *pr)
{
    free(pr->text);
    free(pr->path);
    memset(pr, 0, sizeof *pr);
}

/* Record the list for r in a temporary copy of the image's tree (see the header). */
static int record(const struct recipe *r, struct tree *base, struct tree *app,
                  struct strlist *argv, const struct strlist *env, const char *url,
                  double seconds, const char *near, char **text, size_t *len, struct err *e)
{
    cleanup_free char *dir = scratch_beside(near, e);
    if (!dir)
        return ERR;
    int rc = 0;
    struct statfs fs;
    if (statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC_)
        rc = err_set(e, "profile: %s is on a tmpfs, whose pages cannot be evicted: build "
                        "to a disk folder, or give --no-profile", dir);
    if (rc == 0 && base && tree_write_dir(base, dir, 0, e) < 0)
        rc = err_ctx(e, "profile: writing the image's tree");
    if (rc == 0 && tree_write_dir(app, dir, 0, e) < 0)
        rc = err_ctx(e, "profile: writing the image's tree");
    if (rc == 0) {
        struct profile_opts o = {
            .url = url, .seconds = seconds, .readahead_kb = 0,
            .uid = r->has_user ? r->uid : 0, .gid = r->has_user ? r->gid : 0,
            .workdir = r->workdir, .quantum = PRELOAD_PROFILE_QUANTUM, .require_evicted = 1,
            .stable = 1, .runs = PRELOAD_PROFILE_RUNS, .any_run = 1, .env = *env,
        };
        rc = profile_record(dir, argv->v, &o, text, len, e);
        if (rc < 0)
            err_ctx(e, "profile");
    }
    if (fdio_remove_tree_at(AT_FDCWD, dir) < 0)
        fprintf(stderr, "armlet: build: cannot remove %s: %s\n", dir, strerror(errno));
    return rc;
}

int preload_profile(const struct recipe *r, const struct platform *p, struct tree *base,
                    struct tree *app, const struct strlist *env, const char *near, int mode,
                    struct preload_profiled *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (r->nentrypoint == 0)
        return err_set(e, "profile: the recipe has no entrypoint to run");
    struct strlist argv = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->nentrypoint; i++)
        rc = strlist_add(&argv, r->entrypoint[i], e);
    for (size_t i = 0; rc == 0 && i < r->ncmd; i++)
        rc = strlist_add(&argv, r->cmd[i], e);
    /* readiness: url= of the init line, else the health URL (http:// only: a tcp:// one
     * cannot be asked over HTTP); with seconds= and no URL, the run time */
    const char *url = r->profile.url ? r->profile.url
                      : r->profile.seconds > 0 ? NULL
                      : r->health.url && !strncmp(r->health.url, "http://", 7) ? r->health.url
                                                                              : NULL;
    double seconds = r->profile.seconds > 0 ? r->profile.seconds : url ? 30 : 10;
    struct preload_key_in in = {
        .p = p, .base = base, .app = app, .argv = argv.v, .env = env,
        .uid = r->has_user ? r->uid : 0, .gid = r->has_user ? r->gid : 0,
        .workdir = r->workdir, .url = url, .seconds = seconds,
        .runs = PRELOAD_PROFILE_RUNS, .quantum = PRELOAD_PROFILE_QUANTUM,
    };
    int st = 0;
    if (rc == 0 && (rc = preload_keep_key(&in, out->key, e)) < 0)
        err_ctx(e, "profile: the kept list's key");
    if (rc == 0 && (st = preload_keep_read(r->path, p, out->key, &out->path, &out->text,
                                           &out->len, e)) < 0)
        rc = ERR;
    if (rc == 0 && st == KEEP_FRESH && mode != PRELOAD_KEEP_RECORD) {
        fprintf(stderr, "armlet: profile: %s: reused the list kept in %s (key %.19s...): "
                "nothing run\n", p->oci, out->path, out->key);
    } else if (rc == 0 && mode == PRELOAD_KEEP_REUSE) {
        rc = err_set(e, st == KEEP_MISSING
                            ? "profile: %s: no kept list for %s, and --profile=reuse records "
                              "none: build once without it, and commit the file"
                            : "profile: %s: the kept list for %s is stale (the image's files, "
                              "entrypoint, cmd, env, user, workdir or readiness changed), and "
                              "--profile=reuse records none: build once without it",
                     out->path, p->oci);
    } else if (rc == 0) {
        free(out->text);
        out->text = NULL;
        fprintf(stderr, "armlet: profile: %s: %s: recording\n", p->oci,
                st == KEEP_FRESH ? "--profile=record"
                : st == KEEP_STALE ? "the kept list is stale (its key differs)"
                                   : "no kept list");
        rc = record(r, base, app, &argv, env, url, seconds, near, &out->text, &out->len, e);
        out->recorded = rc == 0;
    }
    strlist_free(&argv);
    if (rc < 0)
        preload_profiled_free(out);
    return rc;
}

void preload_profile_keep(const struct preload_profiled *pr, const struct platform *p)
{
    if (!pr->recorded)
        return;
    struct err e = {0};
    if (preload_keep_write(pr->path, pr->key, p, pr->text, pr->len, &e) < 0)
        fprintf(stderr, "armlet: profile: warning: cannot keep the %s list (%s): the image "
                "has the fresh recording, the next build records again\n", p->oci, e.msg);
    else
        fprintf(stderr, "armlet: profile: recorded %s list, kept in %s\n", p->oci, pr->path);
}
