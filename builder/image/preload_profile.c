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

int preload_profile(const struct recipe *r, struct tree *base, struct tree *app,
                    const struct strlist *env, const char *near, char **text, size_t *len,
                    struct err *e)
{
    *text = NULL;
    *len = 0;
    if (r->nentrypoint == 0)
        return err_set(e, "profile: the recipe has no entrypoint to run");
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

    struct strlist argv = {0};
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
    if (rc == 0) {
        struct profile_opts o = {
            .url = url, .seconds = r->profile.seconds > 0 ? r->profile.seconds : url ? 30 : 10,
            .readahead_kb = 0, .uid = r->has_user ? r->uid : 0, .gid = r->has_user ? r->gid : 0,
            .workdir = r->workdir, .quantum = PRELOAD_PROFILE_QUANTUM, .require_evicted = 1,
            .stable = 1, .runs = PRELOAD_PROFILE_RUNS,
            .env = *env,
        };
        rc = profile_record(dir, argv.v, &o, text, len, e);
        if (rc < 0)
            err_ctx(e, "profile");
    }
    strlist_free(&argv);
    if (fdio_remove_tree_at(AT_FDCWD, dir) < 0)
        fprintf(stderr, "armlet: build: cannot remove %s: %s\n", dir, strerror(errno));
    return rc;
}
