/* builder/image/initdir.c — see initdir.h. */
#include "image/initdir.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fdio.h"

/* 1 when path is a regular file. */
static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *initdir_find(const char *init_dir, const char *env_dir, const struct platform *p, struct err *e)
{
    char cand[3][PATH_MAX + 64];
    size_t n = 0;
    const char *fixed = init_dir ? init_dir : (env_dir && *env_dir ? env_dir : NULL);
    if (fixed) {
        snprintf(cand[n++], sizeof cand[0], "%s/%s/armlet-init", fixed, p->dir);
    } else {
        char exe[PATH_MAX];
        if (fdio_readlink("/proc/self/exe", exe, sizeof exe) < 0)
            return err_sys(e, errno, "cannot find armlet's own path (/proc/self/exe)"), NULL;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(cand[n++], sizeof cand[0], "%s/%s/armlet-init", exe, p->dir);
        snprintf(cand[n++], sizeof cand[0], "%s/../lib/armlet/%s/armlet-init", exe, p->dir);
        snprintf(cand[n++], sizeof cand[0], "%s/../%s/armlet-init", exe, p->dir);
    }
    for (size_t i = 0; i < n; i++)
        if (is_file(cand[i])) {
            char *path = strdup(cand[i]);
            if (!path)
                err_set(e, "out of memory");
            return path;
        }
    err_set(e, "no armlet-init for %s: looked for %s%s%s%s%s%s (build it with `make inits`, "
               "or give --init-dir DIR / ARMLET_INIT_DIR)",
            p->oci, cand[0], n > 1 ? ", " : "", n > 1 ? cand[1] : "", n > 2 ? ", " : "",
            n > 2 ? cand[2] : "", init_dir ? " (--init-dir)" : fixed ? " ($ARMLET_INIT_DIR)" : "");
    return NULL;
}
