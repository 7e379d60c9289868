/* builder/recipe/recipe.h — a recipe file parsed into a struct (docs/DESIGN.md, "Recipes").
 *
 * Lifecycle:
 *     struct recipe *r = NULL;
 *     if (recipe_parse_file("hello.recipe", &r, e) < 0) ...   // e: "hello.recipe:7:12: ..."
 *     ... per platform: recipe_for_platform(r, plat, &rp, e): r with ${os} ${arch}
 *         ${variant} expanded everywhere; recipe_free(rp) ...
 *     recipe_free(r);
 *
 * The parser checks syntax and values (modes, owners, users, durations, signals,
 * platform names, init keys); it does not touch the sources (the build does, and names
 * the entry's loc in its errors). Strings are stored unexpanded (recipe_for_platform
 * gives the expanded copy for one platform); relative sources stay
 * relative (resolve against r->dir). Everything is owned by the recipe.
 */
#ifndef ARMLET_RECIPE_H
#define ARMLET_RECIPE_H
#include <stddef.h>
#include "util/error.h"
#include "util/platform.h"

struct recipe_loc {
    const char *file;    /* points at recipe->path */
    int line, col;       /* 1-based; col of the directive's first value */
};

enum recipe_entry_kind { ENTRY_FILE, ENTRY_DIR, ENTRY_SYMLINK, ENTRY_ARCHIVE };

struct recipe_entry {
    enum recipe_entry_kind kind;
    char *dest;          /* absolute path in the image (may contain ${arch}...) */
    char *src;           /* FILE/ARCHIVE: source path; SYMLINK: link target; DIR: NULL */
    int has_mode;        /* mode=0755 given */
    unsigned mode;
    int has_owner;       /* owner=UID:GID given */
    unsigned uid, gid;
    int libs;            /* FILE: carry the shared-library closure */
    struct recipe_loc loc;
};

struct recipe_kv { char *key, *value; struct recipe_loc loc; };   /* init defaults: line 0 */

enum recipe_base { BASE_STATIC, BASE_SCRATCH };

struct recipe_health {
    char *url;               /* NULL when no health line */
    long long interval_ns, timeout_ns;   /* defaults 30s / 30s as Docker */
    int retries;             /* default 3 */
};

/* `init preload=profile url=URL seconds=N`: how `armlet build` tells the entrypoint is up
 * while it records the preload list (docs/README-coldstart.md). */
struct recipe_profile {
    char *url;               /* url=: readiness, instead of the health URL; or NULL */
    double seconds;          /* seconds=: run time without a URL, limit with one; 0: unset */
    struct recipe_loc loc;   /* the first of the two keys, for errors */
};

struct recipe {
    char *path;              /* as given */
    char *text; size_t text_len;   /* the recipe's bytes, for recipe_for_platform */
    char *dir;               /* folder of the recipe, for relative sources */
    char *name;
    const struct platform **platforms; size_t nplatforms;   /* default: all four */
    enum recipe_base base;   /* default BASE_STATIC */
    int sbom_off;            /* `sbom off`: no SBOM, status.d or provenance (default on) */
    struct recipe_entry *entries; size_t nentries;          /* in recipe order */
    struct recipe_kv *env; size_t nenv;                     /* env KEY=VALUE */
    struct recipe_kv *labels; size_t nlabels;
    struct recipe_kv *annotations; size_t nannotations;     /* annotation KEY=VALUE */
    char **expose; size_t nexpose;                          /* "8080/tcp" (proto defaulted) */
    int has_user; unsigned uid, gid;                        /* user: numeric */
    char *workdir;
    char **entrypoint; size_t nentrypoint;                  /* NULL-terminated too */
    char **cmd; size_t ncmd;                                /* NULL-terminated too */
    char *stop_signal;       /* canonical "SIGTERM", or NULL */
    struct recipe_health health;
    struct recipe_profile profile;
    /* init line: key=value pairs in order, defaults filled in when the recipe has no
     * init line (cpu=floor memory=0.9 nofile=max seccomp=default preload=none).
     * An init line overrides the defaults key by key (the others stay), and appends its
     * other keys in order. Keys are armlet-init's long option names; a flag (pgroup,
     * verbose) has value "" (emit "--pgroup" alone) and is absent when set to no.
     * rewrite is stored canonical ("SIGTERM:SIGQUIT", "SIGHUP:0"); rewrite, exit-zero
     * and cpu-env may repeat. seccomp is default|unconfined|PATH and preload
     * profile|entrypoint|none|PATH: the build turns them into --seccomp/--preload files.
     * The preload default is none; url= and seconds= (in r->profile, not here: they are
     * no init flags) make it profile, and go with preload=profile only. */
    struct recipe_kv *init; size_t ninit;
};

/* Parse a file (a regular file of at most 4 MiB, read with fdio_read_file: a FIFO is
 * refused, never waited on). Returns 0 and *out, or ERR with e = "PATH:LINE:COL: what was
 * expected" ("PATH: cannot open recipe: ...", "PATH: not a recipe (...)"). */
int recipe_parse_file(const char *path, struct recipe **out, struct err *e);
/* Parse a buffer (len bytes, need not be NUL-terminated); `path` names it in errors and
 * its folder becomes r->dir. Same contract as recipe_parse_file. Used by the fuzzer. */
int recipe_parse_buffer(const char *path, const char *buf, size_t len,
                        struct recipe **out, struct err *e);
void recipe_free(struct recipe *r);
/* A `user`/owner value: "root", "nonroot", "UID" or "UID:GID" (numeric; a lone UID gives
 * GID = UID; 4294967295 refused). 0, or ERR. */
int recipe_parse_ids(const char *s, unsigned *uid, unsigned *gid);

/* The recipe as platform p sees it: r parsed again from its text with ${os} ${arch}
 * ${variant} expanded in every value that carries them (file/dir/symlink/archive, env,
 * label, user, workdir, entrypoint, cmd in both forms, expose, stop-signal, health, init
 * values: everything but name, platforms and base). Returns 0 and *out (free it with
 * recipe_free), or ERR with e set ("linux/arm64: PATH:LINE:COL: ..."; only out of memory
 * or a value that is bad once expanded). This is the one place variables expand. */
int recipe_for_platform(const struct recipe *r, const struct platform *p, struct recipe **out,
                        struct err *e);

/* Expand ${os} ${arch} ${variant} in s for platform p. Returns a malloc'd string
 * (caller frees) or NULL with e set (unknown ${name}, unterminated ${). */
char *recipe_expand(const char *s, const struct platform *p, struct err *e);
/* Value of init key k ("cpu", "seccomp", ...) or NULL. */
const char *recipe_init_get(const struct recipe *r, const char *key);

#endif
