/* builder/image/build.c — see build.h. */
#include "image/build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "armlet_shared.h"
#include "image/annotations.h"
#include "image/base.h"
#include "util/cleanup.h"
#include "image/docker_archive.h"
#include "image/dpkgdb.h"
#include "image/elfcheck.h"
#include "util/fdio.h"
#include "image/initdir.h"
#include "oci/layout.h"
#include "image/libs.h"
#include "image/preload.h"
#include "image/preload_profile.h"
#include "image/provenance.h"
#include "recipe/recipe.h"
#include "image/sbom.h"
#include "seccomp/seccomp_compile.h"
#include "util/strlist.h"
#include "image/tree.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CA_BUNDLE_ENV "SSL_CERT_FILE=" BASE_SSL_CERT_FILE

static void cleanup_treep(struct tree **t) { tree_free(*t); }
static void cleanup_recipep(struct recipe **r) { recipe_free(*r); }
static void cleanup_sbomp(struct sbom **s) { sbom_free(*s); }
#define cleanup_tree __attribute__((cleanup(cleanup_treep)))
#define cleanup_recipe __attribute__((cleanup(cleanup_recipep)))
#define cleanup_sbom __attribute__((cleanup(cleanup_sbomp)))

int build_epoch_from_env(const char *value, int64_t *epoch, struct err *e)
{
    *epoch = 0;
    if (!value || !*value)
        return 0;
    /* Digits only: strtoll would also take " 12", "+5" and "-0", which the
     * reproducible-builds definition (a decimal count of seconds) does not allow. */
    long long v = 0;
    const char *c = value;
    for (; *c >= '0' && *c <= '9' && v <= 253402300799LL; c++)   /* up to 9999-12-31 */
        v = v * 10 + (*c - '0');
    if (*c || v > 253402300799LL)
        return err_set(e, "SOURCE_DATE_EPOCH=\"%.64s\": expected decimal digits only, seconds "
                          "since 1970 (0..253402300799)", value);
    *epoch = v;
    return 0;
}

/* ------------------------------------------------------------------ platforms */

/* Platforms to build, in the fixed table order: the --platform list (each must be
 * known and in the recipe) or the recipe's own. */
static int pick_platforms(const struct recipe *r, const char *list,
                          const struct platform **out, size_t *n, struct err *e)
{
    int want[PLATFORM_COUNT] = {0};
    if (list) {
        cleanup_free char *copy = strdup(list);
        if (!copy)
            return err_set(e, "out of memory");
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            const struct platform *p = platform_lookup(tok);
            if (!p)
                return err_set(e, "--platform: unknown platform \"%s\" (known: "
                                  PLATFORM_NAMES ")", tok);
            int in_recipe = 0;
            for (size_t i = 0; i < r->nplatforms; i++)
                in_recipe |= r->platforms[i] == p;
            if (!in_recipe)
                return err_set(e, "--platform: %s is not among the platforms of %s", tok, r->path);
            want[p - platform_table] = 1;
        }
    } else {
        for (size_t i = 0; i < r->nplatforms; i++)
            want[r->platforms[i] - platform_table] = 1;
    }
    *n = 0;
    for (size_t i = 0; i < platform_count; i++)
        if (want[i])
            out[(*n)++] = &platform_table[i];
    if (*n == 0)
        return err_set(e, "--platform: no platform selected");
    return 0;
}

/* ------------------------------------------------------------------ the app tree */

/* Source path of an entry (r is already expanded for the platform: recipe_for_platform),
 * relative to the recipe's folder. */
static char *entry_source(const struct recipe *r, const char *src, struct err *e)
{
    char *path = NULL;
    if (src[0] == '/' || !r->dir || !*r->dir)
        path = strdup(src);
    else if (asprintf(&path, "%s/%s", r->dir, src) < 0)
        path = NULL;
    if (!path)
        err_set(e, "out of memory");
    return path;
}

static int add_file_entry(struct tree *t, const struct recipe *r, const struct recipe_entry *en,
                          const struct platform *p, const char *sysroot, const char *dest,
                          struct err *e)
{
    const char *shown = en->src;
    cleanup_free char *src = entry_source(r, en->src, e);
    if (!src)
        return ERR;
    struct stat st;
    if (stat(src, &st) < 0)
        return err_set(e, "source \"%s\" %s", shown,
                       errno == ENOENT ? "not found" : strerror(errno));
    if (!S_ISREG(st.st_mode))
        return err_set(e, "source \"%s\" is not a regular file", shown);
    struct elf_info info;
    if (elf_check(src, p, en->libs, &info, e) < 0)
        return ERR;
    unsigned mode = en->has_mode ? en->mode : (info.is_elf || (st.st_mode & 0111)) ? 0755 : 0644;
    if (tree_add_file(t, dest, src, mode, en->has_owner ? en->uid : 0,
                      en->has_owner ? en->gid : 0, e) < 0)
        return ERR;
    return en->libs && libs_add(t, src, dest, p, sysroot, e) < 0 ? ERR : 0;
}

static const char *entry_kind_name(enum recipe_entry_kind k)
{
    switch (k) {
    case ENTRY_FILE: return "file";
    case ENTRY_DIR: return "dir";
    case ENTRY_SYMLINK: return "symlink";
    case ENTRY_ARCHIVE: return "archive";
    }
    return "entry";
}

static int add_entry(struct tree *t, const struct recipe *r, const struct recipe_entry *en,
                     const struct platform *p, const char *sysroot, struct err *e)
{
    const char *dest = en->dest;
    unsigned uid = en->has_owner ? en->uid : 0, gid = en->has_owner ? en->gid : 0;
    switch (en->kind) {
    case ENTRY_FILE:
        return add_file_entry(t, r, en, p, sysroot, dest, e);
    case ENTRY_DIR:
        return tree_add_dir(t, dest, en->has_mode ? en->mode : 0755, uid, gid, e);
    case ENTRY_SYMLINK:
        return tree_add_symlink(t, dest, en->src, uid, gid, e);
    case ENTRY_ARCHIVE: {
        cleanup_free char *src = entry_source(r, en->src, e);
        if (!src)
            return ERR;
        if (access(src, R_OK) < 0)
            return err_set(e, "source \"%s\" %s", en->src,
                           errno == ENOENT ? "not found" : strerror(errno));
        return tree_add_archive(t, dest, src, e);
    }
    }
    return err_set(e, "unknown entry kind");
}

/* The recipe's entries for p into t (`libs` from sysroot); errors carry
 * "recipe:line:col: kind: ". */
static int add_app(struct tree *t, const struct recipe *r, const struct platform *p,
                   const char *sysroot, struct err *e)
{
    for (size_t i = 0; i < r->nentries; i++) {
        const struct recipe_entry *en = &r->entries[i];
        if (add_entry(t, r, en, p, sysroot, e) < 0)
            return err_ctx(e, "%s:%d:%d: %s", en->loc.file, en->loc.line, en->loc.col,
                           entry_kind_name(en->kind));
    }
    return 0;
}

/* Side files of the init for one platform (docs/DESIGN.md: /etc/armlet/). */
struct side {
    int seccomp, preload;    /* the file is in the tree: emit its flag */
    int go_minor;            /* the entrypoint is a Go 1.<go_minor> program; -1: not Go
                              * (or older than 1.18, or not in the image's app layer) */
};

/* The recipe's init key `key` (its loc for errors), or NULL. */
static const struct recipe_kv *init_kv(const struct recipe *r, const char *key)
{
    for (size_t i = 0; i < r->ninit; i++)
        if (!strcmp(r->init[i].key, key))
            return &r->init[i];
    return NULL;
}

/* init seccomp=default|unconfined|PATH -> /etc/armlet/seccomp.bpf compiled for p. */
static int side_seccomp(const struct recipe *r, const struct platform *p, struct tree *t,
                        struct side *sd, struct err *e)
{
    const struct recipe_kv *kv = init_kv(r, "seccomp");
    if (!kv || !kv->value || !strcmp(kv->value, "unconfined"))
        return 0;
    cleanup_free char *profile = NULL;
    if (!strcmp(kv->value, "default") || kv->value[0] == '/')
        profile = strdup(kv->value);
    else if (asprintf(&profile, "%s/%s", r->dir && *r->dir ? r->dir : ".", kv->value) < 0)
        profile = NULL;
    if (!profile)
        return err_set(e, "out of memory");
    cleanup_free unsigned char *bpf = NULL;
    size_t len = 0;
    if (seccomp_compile_mem(profile, p, 0, &bpf, &len, e) < 0 ||
        tree_add_data(t, ARMLET_SECCOMP_PATH, bpf, len, 0644, 0, 0, e) < 0)
        return err_ctx(e, "%s:%d:%d: init seccomp=%s (%s)", kv->loc.file, kv->loc.line,
                       kv->loc.col, kv->value, p->oci);
    sd->seccomp = 1;
    return 0;
}

/* What `preload=profile` becomes with --no-profile: none, because the entrypoint list
 * (every loadable byte of the program and its libraries) was slower than no list on the SD model for all three servers of
 * bench-coldstart (docs/README-coldstart.md, "Measured"). */
#define PRELOAD_FALLBACK "none"

/* Profiled lists of this build, by platform, so that the image and --rootfs of one
 * build carry the same list (a second recording could differ), and a fresh recording is
 * kept only once the build has succeeded (keep_profiled). Emptied by build_run. */
static struct profiled {
    const struct platform *p;
    struct preload_profiled pr;
} profiled[PLATFORM_COUNT];

static void profiled_clear(void)
{
    for (size_t i = 0; i < sizeof profiled / sizeof profiled[0]; i++)
        preload_profiled_free(&profiled[i].pr);
    memset(profiled, 0, sizeof profiled);
}

static void keep_profiled(void)
{
    for (size_t i = 0; i < sizeof profiled / sizeof profiled[0] && profiled[i].p; i++)
        preload_profile_keep(&profiled[i].pr, profiled[i].p);
}

static int config_env(const struct recipe *r, struct strlist *env, struct err *e);

/* The profiled list for p: kept or recorded (preload_profile.h), then from the cache;
 * *name names it in errors (the kept list's path). */
static int profiled_list(const struct build_opts *o, const struct recipe *r,
                         const struct platform *p, struct tree *base, struct tree *app,
                         const char **text, size_t *len, const char **name, struct err *e)
{
    size_t i = 0;
    while (i < sizeof profiled / sizeof profiled[0] && profiled[i].p && profiled[i].p != p)
        i++;
    if (i == sizeof profiled / sizeof profiled[0])
        return err_set(e, "profile: too many platforms");
    if (!profiled[i].p) {
        struct strlist env = {0};
        const char *near = o->oci_dir ? o->oci_dir : o->rootfs ? o->rootfs : o->docker_archive;
        int rc = config_env(r, &env, e);
        if (rc == 0)
            rc = preload_profile(r, p, base, app, &env, near, o->profile_mode, &profiled[i].pr, e);
        strlist_free(&env);
        if (rc < 0)
            return ERR;
        profiled[i].p = p;
    }
    *text = profiled[i].pr.text;
    *len = profiled[i].pr.len;
    *name = profiled[i].pr.recorded ? "profiled list" : profiled[i].pr.path;
    return 0;
}

/* init preload=entrypoint|none|PATH|profile -> /etc/armlet/preload (see preload_for_build),
 * and the listed files first in the layer (preload_layer_order). profile records the list
 * by running the program (preload_profile.h) and fails the build when it cannot;
 * --no-profile makes it PRELOAD_FALLBACK without running anything. base is NULL when t
 * holds the whole image (--rootfs). */
static int side_preload(const struct build_opts *o, const struct recipe *r,
                        const struct platform *p, struct tree *base, struct tree *t,
                        struct side *sd, struct err *e)
{
    const struct recipe_kv *kv = init_kv(r, "preload");
    if (!kv)
        return 0;
    const char *value = kv->value;
    cleanup_free char *text = NULL;
    size_t len = 0;
    int rc = 0;
    if (!strcmp(value, "profile")) {
        const char *rec = NULL, *name = NULL;
        size_t reclen = 0;
        value = PRELOAD_FALLBACK;
        if (!o->no_profile &&
            (rc = profiled_list(o, r, p, base, t, &rec, &reclen, &name, e)) == 0)
            rc = preload_normalize(t, name, rec, reclen, &text, &len, e);
    }
    if (rc == 0 && !text)
        rc = preload_for_build(r, p, libs_sysroot(&o->sysroots, p), t, value, &text, &len, e);
    if (rc < 0 ||
        (text && (tree_add_data(t, ARMLET_PRELOAD_PATH, text, len, 0644, 0, 0, e) < 0 ||
                  preload_layer_order(t, text, len, e) < 0)))
        return err_ctx(e, "%s:%d:%d: %s", kv->loc.file, kv->loc.line, kv->loc.col, p->oci);
    sd->preload = text != NULL;
    return 0;
}

/* The Go minor version of the entrypoint in tree t (symlinks followed), or -1. Inline
 * bytes (unpacked from an archive) are read through a memfd. Unreadable is "not Go":
 * the init then sets GOMAXPROCS as for any program. */
static int entrypoint_go_minor(const struct recipe *r, struct tree *t)
{
    if (r->nentrypoint == 0 || r->entrypoint[0][0] != '/')
        return -1;
    const struct tree_node *n = tree_resolve(t, r->entrypoint[0]);
    if (!n || n->kind != TREE_FILE)
        return -1;
    char fdpath[40];
    const char *src = n->src;
    int fd = -1;
    if (!src) {
        fd = memfd_create("armlet-entrypoint", MFD_CLOEXEC);
        if (fd < 0 || write(fd, n->data, (size_t)n->size) != (ssize_t)n->size) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
        src = fdpath;
    }
    struct elf_info info;
    struct err ignored = {0};
    int minor = elf_read(src, &info, &ignored) == 0 ? info.go_minor : -1;
    if (fd >= 0)
        close(fd);
    return minor;
}

static int add_side_files(const struct build_opts *o, const struct recipe *r,
                          const struct platform *p, struct tree *base, struct tree *t,
                          struct side *sd, struct err *e)
{
    memset(sd, 0, sizeof *sd);
    sd->go_minor = entrypoint_go_minor(r, t);
    if (side_seccomp(r, p, t, sd, e) < 0 || side_preload(o, r, p, base, t, sd, e) < 0)
        return ERR;
    return 0;
}

/* The init's --cpu value for the recipe's cpu=: Go >= 1.25 sets GOMAXPROCS from the
 * cgroup itself, and follows the limit as it changes unless GOMAXPROCS is set, so for
 * such an entrypoint floor/ceil become go-floor/go-ceil (the init sets GOMAXPROCS only
 * where its number differs from the runtime's own); force/force-ceil always set it. */
static const char *build_init_cpu(const char *value, int go_minor)
{
    if (!strcmp(value, "force"))
        return "floor";
    if (!strcmp(value, "force-ceil"))
        return "ceil";
    if (go_minor >= 25 && !strcmp(value, "floor"))
        return "go-floor";
    if (go_minor >= 25 && !strcmp(value, "ceil"))
        return "go-ceil";
    return value;
}

/* Init flags from the recipe's init line ("--cpu=floor", "--pgroup"), in its order;
 * seccomp and preload become the paths of their side files when those were made, cpu
 * follows the entrypoint's Go version (build_init_cpu). */
static int init_flags(const struct recipe *r, const struct side *sd, struct strlist *argv,
                      struct err *e)
{
    for (size_t i = 0; i < r->ninit; i++) {
        const struct recipe_kv *kv = &r->init[i];
        int rc;
        if (!strcmp(kv->key, "seccomp"))
            rc = sd->seccomp ? strlist_addf(argv, e, "--seccomp=%s", ARMLET_SECCOMP_PATH) : 0;
        else if (!strcmp(kv->key, "preload"))
            rc = sd->preload ? strlist_addf(argv, e, "--preload=%s", ARMLET_PRELOAD_PATH) : 0;
        else if (!strcmp(kv->key, "cpu") && kv->value)
            rc = strlist_addf(argv, e, "--cpu=%s", build_init_cpu(kv->value, sd->go_minor));
        else if (kv->value && *kv->value)
            rc = strlist_addf(argv, e, "--%s=%s", kv->key, kv->value);
        else
            rc = strlist_addf(argv, e, "--%s", kv->key);
        if (rc < 0)
            return ERR;
    }
    return 0;
}

/* ------------------------------------------------------------------ one platform */

struct plat_build {
    struct side side;
    struct layer_result layers[2];
    const char *history[2];
    size_t nlayers;
    struct oci_desc config;
};

static int has_env(const struct recipe *r, const char *key)
{
    for (size_t i = 0; i < r->nenv; i++)
        if (!strcmp(r->env[i].key, key))
            return 1;
    return 0;
}

/* The config's Env: a default PATH and SSL_CERT_FILE unless the recipe sets them, then
 * the recipe's env lines. */
static int config_env(const struct recipe *r, struct strlist *env, struct err *e)
{
    if ((!has_env(r, "PATH") && strlist_add(env, DEFAULT_PATH, e) < 0) ||
        (r->base == BASE_STATIC && !has_env(r, "SSL_CERT_FILE") &&
         strlist_add(env, CA_BUNDLE_ENV, e) < 0))
        return ERR;
    for (size_t i = 0; i < r->nenv; i++)
        if (strlist_addf(env, e, "%s=%s", r->env[i].key, r->env[i].value) < 0)
            return ERR;
    return 0;
}

static int write_config(const struct recipe *r, const struct platform *p, int64_t epoch,
                        const char *blobs, struct plat_build *pb, struct err *e)
{
    struct strlist ep = {0}, env = {0}, health = {0}, labk = {0}, labv = {0};
    cleanup_json json_t *cfg = NULL;
    int rc = ERR;
    char user[32] = "";
    const char *diff[2];
    if (strlist_add(&ep, ARMLET_INIT_PATH, e) < 0 || init_flags(r, &pb->side, &ep, e) < 0 ||
        strlist_add(&ep, "--", e) < 0)
        goto out;
    for (size_t i = 0; i < r->nentrypoint; i++)
        if (strlist_add(&ep, r->entrypoint[i], e) < 0)
            goto out;
    if (config_env(r, &env, e) < 0)
        goto out;
    for (size_t i = 0; i < r->nlabels; i++)
        if (strlist_add(&labk, r->labels[i].key, e) < 0 ||
            strlist_add(&labv, r->labels[i].value, e) < 0)
            goto out;
    if (r->health.url && (strlist_add(&health, "CMD", e) < 0 ||
                          strlist_add(&health, ARMLET_INIT_PATH, e) < 0 ||
                          strlist_add(&health, "probe", e) < 0 ||
                          strlist_add(&health, r->health.url, e) < 0 ||
                          /* 9/10 of the engine's timeout: the probe gives up first and
                           * its reason ("timed out after ...") reaches the health log. */
                          strlist_add(&health, "--timeout", e) < 0 ||
                          strlist_addf(&health, e, "%lldms",
                                       (long long)(r->health.timeout_ns / 1000000 * 9 / 10)) < 0))
        goto out;
    if (r->has_user)
        snprintf(user, sizeof user, "%u:%u", r->uid, r->gid);
    for (size_t i = 0; i < pb->nlayers; i++)
        diff[i] = pb->layers[i].diff_id;
    struct oci_config c = {
        .platform = p, .created = epoch,
        .entrypoint = (const char *const *)ep.v, .nentrypoint = ep.n,
        .cmd = (const char *const *)r->cmd, .ncmd = r->ncmd,
        .env = (const char *const *)env.v, .nenv = env.n,
        .user = user, .workdir = r->workdir,
        .exposed = (const char *const *)r->expose, .nexposed = r->nexpose,
        .label_keys = (const char *const *)labk.v,
        .label_values = (const char *const *)labv.v, .nlabels = labk.n,
        .stop_signal = r->stop_signal,
        .health_test = (const char *const *)health.v, .nhealth_test = health.n,
        .health_interval_ns = r->health.interval_ns, .health_timeout_ns = r->health.timeout_ns,
        .health_retries = r->health.retries,
        .diff_ids = diff, .history = pb->history, .nlayers = pb->nlayers,
    };
    cfg = oci_config_new(&c, e);
    pb->config.media_type = OCI_MT_CONFIG;
    if (cfg && oci_json_blob_write(blobs, cfg, &pb->config, e) == 0)
        rc = 0;
out:
    strlist_free(&ep);
    strlist_free(&env);
    strlist_free(&health);
    strlist_free(&labk);
    strlist_free(&labv);
    return rc;
}

/* Base and app trees for p (app may come out empty); side files go into app. */
static int make_trees(const struct build_opts *o, const struct recipe *r,
                      const struct platform *p, const char *init, struct tree **base,
                      struct tree **app, struct side *sd, struct err *e)
{
    *base = tree_new();
    *app = tree_new();
    if (!*base || !*app)
        return err_set(e, "out of memory");
    if (base_add(*base, r->base, p, init, e) < 0)
        return err_ctx(e, "%s: base", p->oci);
    if (add_app(*app, r, p, libs_sysroot(&o->sysroots, p), e) < 0)
        return ERR;
    return add_side_files(o, r, p, *base, *app, sd, e);
}

static int tree_empty(struct tree *t, struct err *e)
{
    const struct tree_node **nodes = NULL;
    size_t n = 0;
    if (tree_sorted(t, &nodes, &n, e) < 0)
        return ERR;
    return n == 0;
}

/* The layer descriptors (and diff_ids, when diff is non-NULL) of a built platform. */
static void layer_descs(const struct plat_build *pb, struct oci_desc *ld, const char **diff)
{
    for (size_t i = 0; i < pb->nlayers; i++) {
        snprintf(ld[i].digest, sizeof ld[i].digest, "%s", pb->layers[i].digest);
        ld[i].size = pb->layers[i].size;
        ld[i].media_type = pb->layers[i].media_type;
        if (diff)
            diff[i] = pb->layers[i].diff_id;
    }
}

/* One --progress plain line for a blob just written. */
static void say_blob(const struct build_opts *o, const struct platform *p, const char *what,
                     const char *digest, uint64_t size)
{
    err_say(&o->steps, "armlet: build: %s: %s %s (%llu bytes)\n", p->oci, what, digest, (unsigned long long)size);
}

/* Layers, config and manifest of p into blobs; the manifest descriptor into *man. */
static int build_image(const struct build_opts *o, struct dpkgdb_set *dbs,
                       const struct recipe *recipe,
                       const struct platform *p, const char *init, const char *blobs,
                       const json_t *annots, struct plat_build *pb, struct oci_desc *man,
                       struct err *e)
{
    cleanup_recipe struct recipe *r = NULL;   /* the recipe with p's ${arch}... */
    if (recipe_for_platform(recipe, p, &r, e) < 0)
        return ERR;
    cleanup_tree struct tree *base = NULL;
    cleanup_tree struct tree *app = NULL;
    if (make_trees(o, r, p, init, &base, &app, &pb->side, e) < 0)
        return ERR;
    /* The SBOM's package lookups and status.d entries change the trees: before the layers. */
    cleanup_sbom struct sbom *sb = NULL;
    struct sbom_opts so = {.name = r->name, .p = p, .epoch = o->epoch, .status_d = 1,
                           .sysroot = libs_sysroot(&o->sysroots, p), .dbs = dbs};
    if (!o->no_sbom && !r->sbom_off && sbom_prepare(&so, base, app, &sb, e) < 0)
        return ERR;
    pb->nlayers = 0;
    if (layer_write(base, o->compress, o->epoch, blobs, &pb->layers[0], e) < 0)
        return err_ctx(e, "%s: base layer", p->oci);
    say_blob(o, p, "base layer", pb->layers[0].digest, pb->layers[0].size);
    pb->history[pb->nlayers++] = r->base == BASE_STATIC ? "armlet: base static" : "armlet: base scratch";
    int empty = tree_empty(app, e);
    if (empty < 0)
        return ERR;
    if (!empty) {
        if (layer_write(app, o->compress, o->epoch, blobs, &pb->layers[1], e) < 0)
            return err_ctx(e, "%s: app layer", p->oci);
        say_blob(o, p, "app layer", pb->layers[1].digest, pb->layers[1].size);
        pb->history[pb->nlayers++] = "armlet: recipe files";
    }
    if (write_config(r, p, o->epoch, blobs, pb, e) < 0)
        return err_ctx(e, "%s: image config", p->oci);
    say_blob(o, p, "config", pb->config.digest, pb->config.size);
    struct oci_desc ld[2];
    layer_descs(pb, ld, NULL);
    cleanup_json json_t *m = oci_manifest_new(&pb->config, ld, pb->nlayers, e);
    man->media_type = OCI_MT_MANIFEST;
    if (!m || oci_set_annotations(m, annots, e) < 0 || oci_json_blob_write(blobs, m, man, e) < 0)
        return err_ctx(e, "%s: manifest", p->oci);
    say_blob(o, p, "manifest", man->digest, man->size);
    if (sb && sbom_attach(sb, base, app, man, blobs, e) < 0)
        return ERR;
    struct provenance_opts po = {.r = r, .p = p, .compress = o->compress, .epoch = o->epoch,
                                 .sysroot = libs_sysroot(&o->sysroots, p)};
    return sb && !o->no_provenance ? provenance_attach(&po, base, app, man, blobs, e) : 0;
}

/* What a build publishes besides the layout: written under temporary names first,
 * renamed into place at the commit (fdio.h, "pending"). */
struct outputs {
    struct fdio_pending archive, rootfs;
};

static int write_docker_archive(const struct build_opts *o, const struct recipe *r,
                                const char *blobs, const struct plat_build *pb,
                                struct fdio_pending *out, struct err *e)
{
    struct oci_desc ld[2];
    const char *diff[2];
    layer_descs(pb, ld, diff);
    cleanup_free char *repo_tag = NULL;
    if (asprintf(&repo_tag, "%s:%s", r->name ? r->name : "armlet", o->tag) < 0)
        return err_set(e, "out of memory");
    return docker_archive_write(o->docker_archive, blobs, &pb->config, ld, diff, pb->nlayers,
                                repo_tag, o->epoch, out, e);
}

/* --rootfs: base + app in one tree, written as a folder beside DIR, renamed at the
 * commit. */
static int write_rootfs(const struct build_opts *o, struct dpkgdb_set *dbs,
                        const struct recipe *recipe,
                        const struct platform *p, const char *init, struct fdio_pending *out,
                        struct err *e)
{
    cleanup_recipe struct recipe *r = NULL;   /* the recipe with p's ${arch}... */
    if (recipe_for_platform(recipe, p, &r, e) < 0)
        return ERR;
    cleanup_tree struct tree *t = tree_new();
    if (!t)
        return err_set(e, "out of memory");
    if (base_add(t, r->base, p, init, e) < 0)
        return err_ctx(e, "%s: base", p->oci);
    struct side sd;
    if (add_app(t, r, p, libs_sysroot(&o->sysroots, p), e) < 0 ||
        add_side_files(o, r, p, NULL, t, &sd, e) < 0)
        return ERR;
    /* The image's status.d entries too: the rootfs is the image's file tree. */
    cleanup_sbom struct sbom *sb = NULL;
    struct sbom_opts so = {.name = r->name, .p = p, .epoch = o->epoch, .status_d = 1,
                           .sysroot = libs_sysroot(&o->sysroots, p), .dbs = dbs};
    if (!o->no_sbom && !r->sbom_off && sbom_prepare(&so, t, t, &sb, e) < 0)
        return ERR;
    if (fdio_pending_dir(out, o->rootfs) < 0)
        return err_sys(e, errno, "--rootfs %s", o->rootfs);
    if (tree_write_dir(t, out->path, o->epoch, e) < 0)
        return err_ctx(e, "--rootfs %s", o->rootfs);
    return 0;
}

/* --rootfs DIR must not exist or be empty: never mix an image into someone's files. */
static int check_rootfs(const char *dir, struct err *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : err_sys(e, errno, "--rootfs %s", dir);
    struct dirent *de;
    int empty = 1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty ? 0 : err_set(e, "--rootfs %s: folder is not empty", dir);
}

/* Scratch layout for a --docker-archive without --oci. */
static char *scratch_dir(struct err *e)
{
    const char *tmp = getenv("TMPDIR");
    char *d = NULL;
    if (asprintf(&d, "%s/armlet-build.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
        return err_set(e, "out of memory"), NULL;
    if (!mkdtemp(d)) {
        err_sys(e, errno, "cannot create a temporary folder %s", d);
        free(d);
        return NULL;
    }
    return d;
}

static int check_outputs(const struct build_opts *o, size_t nplat, struct err *e)
{
    if (nplat > 1 && o->rootfs)
        return err_set(e, "--rootfs needs exactly one platform (give --platform)");
    if (nplat > 1 && o->docker_archive)
        return err_set(e, "--docker-archive holds one platform (give --platform)");
    if (!layout_tag_valid(o->tag))
        return err_set(e, "--tag \"%s\": expected letters, digits, '_', '.', '-'", o->tag);
    if (o->rootfs && check_rootfs(o->rootfs, e) < 0)
        return ERR;
    return 0;
}

/* Every platform's blobs into l's staging folder, the tag set in memory, and the docker
 * archive written aside. Nothing is visible yet: see commit(). */
static int build_images(const struct build_opts *o, struct dpkgdb_set *dbs,
                        const struct recipe *r, const struct platform **plats, char **inits, size_t nplat,
                        struct layout *l, struct build_result *res, struct outputs *out,
                        struct err *e)
{
    cleanup_json json_t *index = oci_index_new();
    if (!index)
        return err_set(e, "out of memory");
    const char *stage = layout_stage_dir(l, e);
    if (!stage)
        return ERR;
    /* the annotations (annotations.h): the same for every platform's manifest */
    cleanup_json json_t *idx_a = json_object(), *man_a = json_object();
    if (!idx_a || !man_a)
        return err_set(e, "out of memory");
    if (annotations_defaults(r, o->epoch, idx_a, man_a, e) < 0 ||
        annotations_apply_recipe(r, idx_a, man_a, e) < 0 ||
        annotations_apply_args(o->annotations, o->nannotations, idx_a, man_a, e) < 0 ||
        oci_set_annotations(index, idx_a, e) < 0)
        return ERR;
    struct plat_build pb;
    for (size_t i = 0; i < nplat; i++) {
        struct oci_desc *man = &res->plat[i].manifest;
        res->plat[i].platform = plats[i];
        if (build_image(o, dbs, r, plats[i], inits[i], stage, man_a, &pb, man, e) < 0 ||
            oci_index_add(index, man, plats[i], e) < 0)
            return ERR;
        res->nplat = i + 1;
    }
    res->index.media_type = OCI_MT_INDEX;
    if (oci_json_blob_write(stage, index, &res->index, e) < 0)
        return err_ctx(e, "image index");
    err_say(&o->steps, "armlet: build: image index %s (%llu bytes)\n", res->index.digest,
            (unsigned long long)res->index.size);
    if (o->docker_archive && write_docker_archive(o, r, stage, &pb, &out->archive, e) < 0)
        return ERR;
    return layout_set_tag(l, o->tag, &res->index, e);
}

/* The one commit point of a build. Everything that can fail (layers, configs, the
 * archive, the rootfs) is finished before this; here the layout's blobs move into place,
 * then the rootfs and the archive are renamed, then index.json: that last rename is the
 * commit. A failure before it undoes what was published (the caller discards the
 * layout); after it nothing fails (garbage collection only reports). */
static int commit(const struct build_opts *o, struct layout *l, struct outputs *out,
                  struct build_result *res, struct err *e)
{
    if (l && layout_prepare(l, e) < 0)
        return ERR;
    if (o->rootfs && fdio_pending_publish(&out->rootfs) < 0)
        return err_sys(e, errno, "--rootfs %s: cannot move the new tree into place", o->rootfs);
    if (o->docker_archive && fdio_pending_publish(&out->archive) < 0) {
        int saved = errno;
        fdio_pending_unpublish(&out->rootfs);
        return err_sys(e, saved, "cannot rename %s to %s", out->archive.path, o->docker_archive);
    }
    if (l && layout_commit(l, &res->gc_removed, e) < 0) {
        fdio_pending_unpublish(&out->archive);
        fdio_pending_unpublish(&out->rootfs);
        return ERR;
    }
    if (l)
        snprintf(res->gc_note, sizeof res->gc_note, "%s", layout_gc_note(l));
    return 0;
}

int build_run(const struct build_opts *o, struct build_result *res, struct err *e)
{
    cleanup_recipe struct recipe *r = NULL;
    const struct platform *plats[PLATFORM_COUNT];
    char *inits[PLATFORM_COUNT] = {0};
    size_t nplat = 0;
    int rc = ERR;
    struct outputs out = {.archive = {.dirfd = -1}, .rootfs = {.dirfd = -1}};
    struct layout *l = NULL;
    cleanup_free char *scratch = NULL;
    struct dpkgdb_set dbs = {0};   /* the SBOM's dpkg databases, read once for all platforms */
    memset(res, 0, sizeof *res);
    profiled_clear();
    if (recipe_parse_file(o->recipe, &r, e) < 0)
        return ERR;
    if (pick_platforms(r, o->platforms, plats, &nplat, e) < 0 || check_outputs(o, nplat, e) < 0)
        return ERR;
    for (size_t i = 0; i < nplat; i++)
        if (!(inits[i] = initdir_find(o->init_dir, o->init_dir_env, plats[i], e)))
            goto out;
    if (o->oci_dir || o->docker_archive) {
        if (!o->oci_dir && !(scratch = scratch_dir(e)))
            goto out;
        if (layout_open(o->oci_dir ? o->oci_dir : scratch, 1, &l, e) < 0)
            goto out;
        if (build_images(o, &dbs, r, plats, inits, nplat, l, res, &out, e) < 0)
            goto out;
    }
    if (o->rootfs && write_rootfs(o, &dbs, r, plats[0], inits[0], &out.rootfs, e) < 0)
        goto out;
    /* A scratch layout is never committed: it only fed the archive. */
    rc = commit(o, o->oci_dir ? l : NULL, &out, res, e);
    if (rc == 0)
        keep_profiled();
out:
    layout_close(l);   /* before a commit: the layout's blobs as they were */
    fdio_pending_finish(&out.archive);
    fdio_pending_finish(&out.rootfs);
    if (scratch)
        fdio_remove_tree_at(AT_FDCWD, scratch);
    for (size_t i = 0; i < nplat; i++)
        free(inits[i]);
    dpkgdb_set_free(&dbs);
    profiled_clear();
    return rc;
}
