/* builder/image/preload_keep.h — kept preload lists: `armlet build` records a profiled list
 * once per platform and keeps it beside the recipe, like a lock file; a later build whose
 * inputs give the same key reuses it and runs nothing (docs/README-coldstart.md, "Kept
 * lists").
 *
 *     char key[DIGEST_PREFIXED_LEN + 1], *path, *text; size_t len;
 *     preload_keep_key(&in, key, e);                          // what the recording depends on
 *     int st = preload_keep_read(recipe, p, key, &path, &text, &len, e);
 *     // KEEP_FRESH: text is the kept list (the key line first); KEEP_MISSING, KEEP_STALE:
 *     // record, then after the build succeeded:
 *     preload_keep_write(path, key, p, body, n, e);           // temp file + rename
 *
 * Where: "<recipe file>.preload/<platform dir>" ("app.recipe.preload/linux-arm64",
 * "linux-arm-v7"): one file a platform, next to the recipe it belongs to, so it is
 * committed and reviewed with it.
 * Format: a preload list (preload.h) whose first line is the key line
 *     # armlet-preload-key sha256:<64 hex> linux/arm64
 * The file is read like `preload=PATH` (the caller parses it with preload_normalize, so
 * errors name the file and line); a first line that is not a key line is an error
 * (FILE:1), never overwritten: it is not a list this module wrote.
 * Never through a symlink: the ".preload" folder is opened with no symlink on the way and
 * the list with O_NOFOLLOW (a symlink at either is an error naming it); the list is
 * written to a new temporary file in that folder (O_EXCL|O_NOFOLLOW) and renamed over
 * the old one, so a link planted at the path is replaced, its target never written.
 */
#ifndef ARMLET_PRELOAD_KEEP_H
#define ARMLET_PRELOAD_KEEP_H
#include <stddef.h>
#include <stdint.h>
#include "oci/digest.h"
#include "util/error.h"
#include "util/platform.h"
#include "util/strlist.h"

struct tree;

/* Bump when what the recorder writes for the same inputs changes (rule, quantum, runs,
 * order): every kept list then records again. 2: first-touch order (pagetrace.h). */
#define PRELOAD_KEEP_FORMAT 2

/* Everything that determines what a recording lists. */
struct preload_key_in {
    const struct platform *p;
    struct tree *base, *app;     /* the image's tree as built (base NULL: app holds all) */
    char *const *argv;           /* entrypoint + cmd, NULL-terminated */
    const struct strlist *env;   /* the config's Env */
    unsigned uid, gid;
    const char *workdir;         /* or NULL */
    const char *url;             /* readiness URL, or NULL */
    double seconds;              /* run time (no URL) or limit (URL) */
    int runs;                    /* recorder settings, in the key besides the format */
    uint64_t quantum;
};

/* "sha256:<hex>" over in: the format number, the platform, argv, env, user, workdir, url,
 * seconds, runs, quantum, and every node of the tree merged as the image's layers
 * stack (app over base; path, kind, mode, owner, size and content sha256, link target;
 * folders by path only, as the base and app layers give their shared folders different
 * modes). Left out: ARMLET_INIT_PATH and /etc/armlet/ (the recording runs the entrypoint
 * directly, never the init or its side files, and a new armlet must not make every kept
 * list stale). 0, or ERR (a file of the tree unreadable, out of memory). */
int preload_keep_key(const struct preload_key_in *in, char key[DIGEST_PREFIXED_LEN + 1],
                     struct err *e);

enum { KEEP_FRESH = 1, KEEP_MISSING = 2, KEEP_STALE = 3 };

/* Look for the kept list of recipe_path for p. *path (malloc'd, always set on success) is
 * where it is or goes. KEEP_FRESH with *text (malloc'd, the whole file) and *len when its
 * key line carries key; KEEP_STALE when it carries another key; KEEP_MISSING when there
 * is none; ERR for a symlink, something not a regular file, an unreadable file, or a
 * first line that is not a key line (FILE:1). */
int preload_keep_read(const char *recipe_path, const struct platform *p, const char *key,
                      char **path, char **text, size_t *len, struct err *e);

/* Write the key line and body (n bytes, a list) to path (as preload_keep_read gave it):
 * the ".preload" folder made if missing (0755), a temporary file beside the list, fsync,
 * renamed over it. 0, or ERR (e.g. a read-only folder); nothing changed on ERR. */
int preload_keep_write(const char *path, const char *key, const struct platform *p,
                       const char *body, size_t n, struct err *e);

#endif
