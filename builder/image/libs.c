/* builder/image/libs.c — see libs.h. */
#include "image/libs.h"

#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "image/elfcheck.h"
#include "image/elffile.h"
#include "util/fdio.h"
#include "util/path.h"
#include "util/strlist.h"

#define MAX_SYMLINK_HOPS 40

int libs_sysroot_set(struct libs_sysroots *s, const char *spec, struct err *e)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return err_set(e, "--sysroot \"%s\": expected PLATFORM=DIR (e.g. linux/arm64=/srv/arm64)",
                       spec);
    size_t n = (size_t)(eq - spec);
    for (size_t i = 0; i < PLATFORM_COUNT; i++) {
        const struct platform *p = &platform_table[i];
        if ((strlen(p->oci) == n && !strncmp(p->oci, spec, n)) ||
            (strlen(p->dir) == n && !strncmp(p->dir, spec, n))) {
            struct stat st;
            if (stat(eq + 1, &st) < 0)
                return err_sys(e, errno, "--sysroot %s: \"%s\"", p->oci, eq + 1);
            if (!S_ISDIR(st.st_mode))
                return err_set(e, "--sysroot %s: \"%s\" is not a folder", p->oci, eq + 1);
            s->dir[i] = eq + 1;
            return 0;
        }
    }
    return err_set(e, "--sysroot \"%s\": unknown platform \"%.*s\" (known: "
                      PLATFORM_NAMES ")", spec, (int)n, spec);
}

const char *libs_sysroot(const struct libs_sysroots *s, const struct platform *p)
{
    size_t i = (size_t)(p - platform_table);
    return s && i < PLATFORM_COUNT && s->dir[i] ? s->dir[i] : "/";
}

/* ------------------------------------------------------------------ ELF dynamic section */

/* What the loader needs to know about one object. */
struct dyn {
    int machine, elf_class;
    struct strlist needed;
    char *runpath, *rpath;     /* NULL when absent */
};

static void dyn_free(struct dyn *d)
{
    strlist_free(&d->needed);
    free(d->runpath);
    free(d->rpath);
}

/* Read the dynamic information of the ELF file at host path `path`. Returns 0, 1 when the
 * file is not a little-endian ELF object (a candidate to skip), or ERR. */
static int dyn_read(const char *path, struct dyn *d, struct err *e)
{
    memset(d, 0, sizeof *d);
    struct elf_file f;
    cleanup_free unsigned char *ph = NULL;
    cleanup_free struct elf_dyn *dyn = NULL;
    size_t ndyn = 0;
    int rc = elf_file_open(&f, path, e);
    if (rc == ELF_FOREIGN) {
        err_clear(e);
        rc = 0;
    }
    if (rc <= 0) {
        elf_file_close(&f);
        return rc < 0 ? ERR : 1;
    }
    d->machine = f.machine;
    d->elf_class = f.cls;
    rc = elf_file_phdrs(&f, &ph, e);
    for (uint32_t i = 0; rc == 0 && i < f.phnum; i++) {
        struct elf_phdr p = elf_phdr_at(&f, ph, i);
        if (p.type == PT_DYNAMIC) {   /* one per object; should there be more, the last */
            free(dyn);
            dyn = NULL;
            rc = elf_file_dynamic(&f, &p, &dyn, &ndyn, e);
        }
    }
    /* First the string table; then the names in it. */
    uint64_t strtab_va = UINT64_MAX, strsz = 0;
    for (size_t i = 0; rc == 0 && i < ndyn; i++) {
        if (dyn[i].tag == DT_STRTAB)
            strtab_va = dyn[i].val;
        else if (dyn[i].tag == DT_STRSZ)
            strsz = dyn[i].val;
    }
    uint64_t strtab = strtab_va == UINT64_MAX ? UINT64_MAX
                                              : elf_vaddr_offset(&f, ph, strtab_va);
    for (size_t i = 0; rc == 0 && i < ndyn; i++) {
        int64_t tag = dyn[i].tag;
        if (tag != DT_NEEDED && tag != DT_RUNPATH && tag != DT_RPATH)
            continue;
        char s[PATH_MAX];
        int got = strtab == UINT64_MAX || dyn[i].val >= strsz ? 1
                  : elf_file_string(&f, strtab + dyn[i].val, strsz - dyn[i].val, s, sizeof s, e);
        if (got != 0) {
            rc = got < 0 ? ERR
                         : err_set(e, "%s: dynamic entry points outside its string table "
                                      "(corrupt?)", path);
        } else if (tag == DT_NEEDED) {
            rc = strlist_add(&d->needed, s, e);
        } else {
            char **slot = tag == DT_RUNPATH ? &d->runpath : &d->rpath;
            free(*slot);
            if (!(*slot = strdup(s)))
                rc = err_set(e, "out of memory");
        }
    }
    elf_file_close(&f);
    if (rc != 0)
        dyn_free(d);
    return rc < 0 ? ERR : 0;
}

/* ------------------------------------------------------------------ copying paths */

struct ctx {
    struct tree *t;
    const struct platform *p;
    const char *root;         /* sysroot without trailing '/': "" for "/" */
    const char *program;      /* host path of the program, for messages */
    int added;
    struct strlist *order;    /* when set: each library's image path, in closure order */
};

/* Host path of image path img (absolute) in the sysroot. */
static int host_path(const struct ctx *c, const char *img, char out[PATH_MAX], struct err *e)
{
    if (snprintf(out, PATH_MAX, "%s%s", c->root, img) >= PATH_MAX)
        return err_set(e, "path too long: %s%s", c->root, img);
    return 0;
}

/* Carry image path img from the sysroot into the tree: every symlink on the way becomes
 * a symlink node, the file at the end a file node (only when add; otherwise nothing is
 * added and the path is only resolved, symlinks read inside the sysroot). resolved gets
 * the file's real image path. Returns 0, 1 when img does not lead to a regular file in
 * the sysroot, or ERR. */
static int carry_path(struct ctx *c, const char *img, int add, char resolved[PATH_MAX],
                      struct err *e)
{
    char path[PATH_MAX], done[PATH_MAX], host[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", img) >= (int)sizeof path)
        return err_set(e, "path too long: %s", img);
    int hops = 0;
restart:
    done[0] = '\0';
    for (const char *s = path; *s;) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        size_t len = strcspn(s, "/");
        const char *next = s + len;
        if (len == 1 && s[0] == '.') {
            s = next;
            continue;
        }
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            char *slash = strrchr(done, '/');
            if (slash)
                *slash = '\0';
            s = next;
            continue;
        }
        size_t dl = strlen(done);
        if (dl + 1 + len >= sizeof done)
            return err_set(e, "path too long: %s", img);
        done[dl] = '/';
        memcpy(done + dl + 1, s, len);
        done[dl + 1 + len] = '\0';
        for (s = next; *s == '/';)
            s++;
        if (host_path(c, done, host, e) < 0)
            return ERR;
        struct stat st;
        if (lstat(host, &st) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                return 1;
            return err_sys(e, errno, "%s", host);
        }
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            if (fdio_readlink(host, target, sizeof target) < 0)
                return err_sys(e, errno, "%s", host);
            if (++hops > MAX_SYMLINK_HOPS)
                return err_set(e, "%s: too many levels of symbolic links", img);
            const struct tree_node *nd = add ? tree_get(c->t, done) : NULL;
            if (nd && nd->kind != TREE_SYMLINK)
                return err_set(e, "%s: the image has a %s at %s where sysroot %s has a symlink "
                                  "(-> %s)", img, nd->kind == TREE_DIR ? "folder" : "file", done,
                               c->root[0] ? c->root : "/", target);
            if (add && !nd) {
                if (tree_add_symlink(c->t, done, target, 0, 0, e) < 0)
                    return ERR;
                c->added++;
            }
            /* Continue from the link's target with the rest of the path. */
            char np[PATH_MAX];
            int w;
            if (target[0] == '/')
                w = snprintf(np, sizeof np, "%s/%s", target, s);
            else {
                char *slash = strrchr(done, '/');
                *slash = '\0';
                w = snprintf(np, sizeof np, "%s/%s/%s", done, target, s);
            }
            if (w < 0 || w >= (int)sizeof np)
                return err_set(e, "path too long: %s", img);
            memcpy(path, np, (size_t)w + 1);
            goto restart;
        }
        if (S_ISDIR(st.st_mode))
            continue;
        if (!S_ISREG(st.st_mode) || *s)
            return 1;
        if (add && !tree_get(c->t, done)) {
            if (tree_add_file(c->t, done, host, st.st_mode & 07755, 0, 0, e) < 0)
                return ERR;
            c->added++;
        }
        memcpy(resolved, done, strlen(done) + 1);
        return 0;
    }
    return 1;   /* a folder */
}

/* ------------------------------------------------------------------ the closure */

/* One object whose DT_NEEDED are still to be resolved. */
struct obj {
    char *host;       /* host path to read */
    char *origin;     /* image folder of the object ($ORIGIN) */
    char *origin_host;/* host folder matching origin (the program lives outside the sysroot) */
    char *shown;      /* name in messages */
};

/* Try image folder dir (already $ORIGIN-free, in the sysroot) for name. Returns 0 found
 * (carried), 1 not there, ERR. */
static int try_sysroot_dir(struct ctx *c, const char *dir, const char *name, char out[PATH_MAX],
                           struct err *e)
{
    char img[PATH_MAX], real[PATH_MAX], host[PATH_MAX];
    if (snprintf(img, sizeof img, "%s/%s", dir, name) >= (int)sizeof img)
        return 1;
    int rc = carry_path(c, img, 0, real, e);
    if (rc != 0)
        return rc;
    if (host_path(c, real, host, e) < 0)
        return ERR;
    struct dyn d;
    rc = dyn_read(host, &d, e);
    if (rc < 0) {
        if (e->errnum == ENOENT || e->errnum == ENOTDIR || e->errnum == EACCES) {
            err_clear(e);
            return 1;
        }
        return ERR;
    }
    if (rc > 0)
        return 1;
    int fits = d.machine == c->p->elf_machine && d.elf_class == c->p->elf_class;
    dyn_free(&d);
    if (!fits)
        return 1;   /* another architecture's library: the loader skips it too */
    return carry_path(c, img, 1, out, e);
}

/* A library found beside the program through $ORIGIN (outside the sysroot): copied to
 * its image folder as a plain file. Returns 0, 1 not there, ERR. */
static int try_origin_dir(struct ctx *c, const char *host_dir, const char *img_dir,
                          const char *name, char out[PATH_MAX], struct err *e)
{
    char host[PATH_MAX];
    if (snprintf(host, sizeof host, "%s/%s", host_dir, name) >= (int)sizeof host ||
        snprintf(out, PATH_MAX, "%s/%s", img_dir, name) >= PATH_MAX)
        return 1;
    struct dyn d;
    int rc = dyn_read(host, &d, e);
    if (rc < 0) {
        err_clear(e);
        return 1;
    }
    if (rc > 0)
        return 1;
    int fits = d.machine == c->p->elf_machine && d.elf_class == c->p->elf_class;
    dyn_free(&d);
    if (!fits)
        return 1;
    struct stat st;
    if (stat(host, &st) < 0)
        return 1;
    if (!tree_get(c->t, out)) {
        if (tree_add_file(c->t, out, host, st.st_mode & 07755, 0, 0, e) < 0)
            return ERR;
        c->added++;
    }
    return 0;
}

/* If s starts with the dynamic string token name ($NAME or ${NAME}), its length. */
static size_t dst_len(const char *s, const char *name)
{
    size_t n = strlen(name);
    if (s[0] != '$')
        return 0;
    if (s[1] == '{')
        return !strncmp(s + 2, name, n) && s[2 + n] == '}' ? n + 3 : 0;
    if (strncmp(s + 1, name, n) != 0)
        return 0;
    char c = s[1 + n];   /* $ORIGINAL is not $ORIGIN */
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
               ? 0 : n + 1;
}

/* Expand the tokens glibc's loader expands in a search path: $ORIGIN (origin: the
 * object's image folder), $LIB (Debian's glibc: lib/<triplet>) and $PLATFORM, each
 * also as ${NAME}. Others stay as written. Returns 0, or 1 when it does not fit. */
static int dst_expand(const char *in, const char *origin, const struct platform *p,
                      char out[PATH_MAX])
{
    char lib[64];
    snprintf(lib, sizeof lib, "lib/%s", p->multiarch);
    const char *names[] = {"ORIGIN", "LIB", "PLATFORM"};
    const char *values[] = {origin, lib, p->at_platform};
    size_t n = 0;
    while (*in) {
        size_t k, tl = 0;
        for (k = 0; k < 3 && !(tl = dst_len(in, names[k])); k++)
            ;
        const char *v = k < 3 ? values[k] : in;
        size_t vl = k < 3 ? strlen(v) : 1;
        if (n + vl >= PATH_MAX)
            return 1;
        memcpy(out + n, v, vl);
        n += vl;
        in += k < 3 ? tl : 1;
    }
    out[n] = '\0';
    return 0;
}

/* The image folder and the host folder for "$ORIGIN" + rel of an object that lives
 * outside the sysroot: the host folder of the object stands for its image folder, and
 * both walk rel together. ".." leaves a folder in both, and stops at the image's root
 * as the kernel's ".." stops at "/", so the host side never climbs above the folder
 * that stands for the image root. Returns 0, or 1 when a path does not fit. */
static int origin_walk(const char *img, const char *host, const char *rel,
                       char img_out[PATH_MAX], char host_out[PATH_MAX])
{
    if (snprintf(img_out, PATH_MAX, "%s", img) >= PATH_MAX ||
        snprintf(host_out, PATH_MAX, "%s", host) >= PATH_MAX)
        return 1;
    for (const char *s = rel; *s;) {
        while (*s == '/')
            s++;
        size_t len = strcspn(s, "/");
        if (!len)
            break;
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            char *a = strrchr(img_out, '/'), *b = strrchr(host_out, '/');
            if (a && b) {   /* at the image root ("" has no '/'): stay */
                *a = '\0';
                *(b == host_out ? b + 1 : b) = '\0';
            }
        } else if (!(len == 1 && s[0] == '.')) {
            size_t il = strlen(img_out), hl = strlen(host_out);
            if (il + len + 2 > PATH_MAX || hl + len + 2 > PATH_MAX)
                return 1;
            snprintf(img_out + il, PATH_MAX - il, "/%.*s", (int)len, s);
            snprintf(host_out + hl, PATH_MAX - hl, "/%.*s", (int)len, s);
        }
        s += len;
    }
    return 0;
}

/* Search a colon list (RUNPATH/RPATH) of object o for name, with $ORIGIN, $LIB and
 * $PLATFORM expanded and ".." resolved inside the sysroot (carry_path), or beside an
 * object outside it (origin_walk). searched collects the folders tried, for the error
 * message. */
static int try_path_list(struct ctx *c, const struct obj *o, const char *list, const char *name,
                         char out[PATH_MAX], struct strlist *searched, struct err *e)
{
    for (const char *s = list; s && *s;) {
        size_t len = strcspn(s, ":");
        char dir[PATH_MAX], full[PATH_MAX];
        if (len >= sizeof dir)
            return err_set(e, "%s: search path too long", o->shown);
        memcpy(dir, s, len);
        dir[len] = '\0';
        s += len + (s[len] == ':');
        size_t ol = dst_len(dir, "ORIGIN");
        if (dst_expand(dir, o->origin, c->p, full) != 0)
            continue;
        if (full[0] != '/')
            continue;   /* relative entries depend on the working folder: ignored */
        int rc = 1;
        if (ol && o->origin_host) {
            char rel[PATH_MAX], img[PATH_MAX], host[PATH_MAX];
            if (dst_expand(dir + ol, o->origin, c->p, rel) != 0 ||
                origin_walk(o->origin, o->origin_host, rel, img, host) != 0)
                continue;
            rc = try_origin_dir(c, host, img, name, out, e);
            memcpy(full, img, strlen(img) + 1);
        }
        if (rc > 0)   /* in the sysroot, at the image path (carry_path resolves "..") */
            rc = try_sysroot_dir(c, full, name, out, e);
        if (rc <= 0)
            return rc;
        if (!strlist_has(searched, full[0] ? full : "/") &&
            strlist_add(searched, full[0] ? full : "/", e) < 0)
            return ERR;
    }
    return 1;
}

/* Resolve name needed by o; out gets its image path. */
static int resolve(struct ctx *c, const struct obj *o, const struct dyn *d, const char *name,
                   char out[PATH_MAX], struct err *e)
{
    struct strlist searched = {0};
    int rc = 1;
    if (strchr(name, '/')) {
        rc = name[0] == '/' ? try_sysroot_dir(c, "", name + 1, out, e) : 1;
    } else {
        if (!d->runpath && d->rpath)
            rc = try_path_list(c, o, d->rpath, name, out, &searched, e);
        if (rc > 0 && d->runpath)
            rc = try_path_list(c, o, d->runpath, name, out, &searched, e);
        char multi_lib[64], multi_usr[64];
        snprintf(multi_lib, sizeof multi_lib, "/lib/%s", c->p->multiarch);
        snprintf(multi_usr, sizeof multi_usr, "/usr/lib/%s", c->p->multiarch);
        const char *defaults[] = {multi_lib, multi_usr, "/lib", "/usr/lib"};
        for (size_t i = 0; rc > 0 && i < sizeof defaults / sizeof defaults[0]; i++) {
            rc = try_sysroot_dir(c, defaults[i], name, out, e);
            if (rc > 0 && strlist_add(&searched, defaults[i], e) < 0)
                rc = ERR;
        }
    }
    if (rc > 0) {
        /* One line: the library, who needs it, where it was looked for, what to do. */
        char list[1024] = "";
        size_t used = 0;
        for (size_t i = 0; i < searched.n && used < sizeof list; i++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "", searched.v[i]);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        const char *root = c->root[0] ? c->root : "/";
        if (!strcmp(o->host, c->program))
            err_set(e, "%s: shared library \"%s\" not found in sysroot %s for %s (searched %s); "
                       "install its :%s package or pass --sysroot %s=DIR",
                    c->program, name, root, c->p->oci, list, c->p->deb_arch, c->p->oci);
        else
            err_set(e, "%s: shared library \"%s\" (needed by %s) not found in sysroot %s for %s "
                       "(searched %s); install its :%s package or pass --sysroot %s=DIR",
                    c->program, name, o->shown, root, c->p->oci, list, c->p->deb_arch, c->p->oci);
        rc = ERR;
    }
    strlist_free(&searched);
    return rc;
}

static void obj_free(struct obj *o)
{
    free(o->host);
    free(o->origin);
    free(o->origin_host);
    free(o->shown);
}

/* An object's folder as $ORIGIN stands for it, malloc'd: "/a/b" -> "/a", "b" -> ".", and
 * the root as "" (so "$ORIGIN/x" is "/x", and origin_walk's ".." stops there). */
static char *origin_of(const char *path)
{
    char *d = path_dir(path);
    if (d && !strcmp(d, "/"))
        d[0] = '\0';
    return d;
}

static int queue_push(struct obj **q, size_t *n, size_t *cap, struct obj o, struct err *e)
{
    if (!o.host || !o.origin || !o.shown) {
        obj_free(&o);
        return err_set(e, "out of memory");
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct obj *v = realloc(*q, nc * sizeof *v);
        if (!v) {
            obj_free(&o);
            return err_set(e, "out of memory");
        }
        *q = v;
        *cap = nc;
    }
    (*q)[(*n)++] = o;
    return 0;
}

/* Breadth-first over the objects: the program, then each library once (by name). */
static int closure(struct ctx *c, struct obj **q, size_t *nq, size_t *cap, struct strlist *seen,
                   struct err *e)
{
    for (size_t i = 0; i < *nq; i++) {
        struct dyn d;
        int rc = dyn_read((*q)[i].host, &d, e);
        if (rc != 0)
            return rc < 0 ? ERR : err_set(e, "%s: not an ELF object", (*q)[i].shown);
        for (size_t k = 0; k < d.needed.n && rc == 0; k++) {
            const char *name = d.needed.v[k];
            if (strlist_has(seen, name))
                continue;
            char img[PATH_MAX];
            rc = resolve(c, &(*q)[i], &d, name, img, e);
            if (rc == 0)
                rc = strlist_add(seen, name, e);
            if (rc == 0 && c->order)
                rc = strlist_add(c->order, img, e);
            if (rc == 0) {
                /* Read it from where the tree copies it: the sysroot, or beside the
                 * program for a $ORIGIN library, or the recipe's own file at that path. */
                const struct tree_node *nd = tree_get(c->t, img);
                char in_root[PATH_MAX];
                if (!nd || !nd->src)
                    rc = err_set(e, "%s: %s is in the image but not as a file", c->program, img);
                else if (host_path(c, img, in_root, e) < 0)
                    rc = ERR;
                else   /* a library from outside the sysroot finds its $ORIGIN beside it */
                    rc = queue_push(q, nq, cap,
                                    (struct obj){.host = strdup(nd->src), .origin = origin_of(img),
                                                 .origin_host = strcmp(nd->src, in_root)
                                                                    ? origin_of(nd->src) : NULL,
                                                 .shown = strdup(img)},
                                    e);
            }
        }
        dyn_free(&d);
        if (rc < 0)
            return ERR;
    }
    return 0;
}

int libs_add(struct tree *t, const char *src, const char *dest, const struct platform *p,
             const char *sysroot, struct err *e)
{
    return libs_add_ordered(t, src, dest, p, sysroot, NULL, e);
}

int libs_add_ordered(struct tree *t, const char *src, const char *dest,
                     const struct platform *p, const char *sysroot, struct strlist *order,
                     struct err *e)
{
    cleanup_free char *root = strdup(sysroot);
    if (!root)
        return err_set(e, "out of memory");
    for (size_t n = strlen(root); n > 0 && root[n - 1] == '/';)
        root[--n] = '\0';
    struct ctx c = {.t = t, .p = p, .root = root, .program = src, .order = order};

    struct elf_info info;
    if (elf_read(src, &info, e) < 0)
        return ERR;
    if (info.interp[0]) {
        char real[PATH_MAX];
        int rc = info.interp[0] == '/' ? carry_path(&c, info.interp, 1, real, e) : 1;
        if (rc < 0)
            return ERR;
        if (rc > 0)
            return err_set(e, "%s: loader %s not found in sysroot %s for %s; install libc6:%s "
                              "or pass --sysroot %s=DIR", src, info.interp, root[0] ? root : "/",
                           p->oci, p->deb_arch, p->oci);
    }

    struct obj *q = NULL;
    size_t nq = 0, cap = 0;
    struct strlist seen = {0};
    cleanup_free char *real_src = realpath(src, NULL);
    struct obj prog = {.host = strdup(src), .origin = origin_of(dest),
                       .origin_host = real_src ? origin_of(real_src) : origin_of(src),
                       .shown = strdup(src)};
    int rc = queue_push(&q, &nq, &cap, prog, e);
    if (rc == 0)
        rc = closure(&c, &q, &nq, &cap, &seen, e);
    for (size_t i = 0; i < nq; i++)
        obj_free(&q[i]);
    free(q);
    strlist_free(&seen);
    return rc < 0 ? ERR : c.added;
}
