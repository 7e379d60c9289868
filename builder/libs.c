/* builder/libs.c — see libs.h. */
#include "libs.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "elfcheck.h"
#include "fdio.h"
#include "strlist.h"

#define MAX_SYMLINK_HOPS 40
#define MAX_PLATFORMS 8

static const char *sysroots[MAX_PLATFORMS];

int libs_sysroot_set(const char *spec, struct err *e)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return err_set(e, "--sysroot \"%s\": expected PLATFORM=DIR (e.g. linux/arm64=/srv/arm64)",
                       spec);
    size_t n = (size_t)(eq - spec);
    for (size_t i = 0; i < platform_count && i < MAX_PLATFORMS; i++) {
        const struct platform *p = &platform_table[i];
        if ((strlen(p->oci) == n && !strncmp(p->oci, spec, n)) ||
            (strlen(p->dir) == n && !strncmp(p->dir, spec, n))) {
            struct stat st;
            if (stat(eq + 1, &st) < 0)
                return err_sys(e, errno, "--sysroot %s: \"%s\"", p->oci, eq + 1);
            if (!S_ISDIR(st.st_mode))
                return err_set(e, "--sysroot %s: \"%s\" is not a folder", p->oci, eq + 1);
            sysroots[i] = eq + 1;
            return 0;
        }
    }
    return err_set(e, "--sysroot \"%s\": unknown platform \"%.*s\" (known: linux/amd64, "
                      "linux/arm64, linux/arm/v7, linux/arm/v6)", spec, (int)n, spec);
}

const char *libs_sysroot(const struct platform *p)
{
    size_t i = (size_t)(p - platform_table);
    return i < MAX_PLATFORMS && sysroots[i] ? sysroots[i] : "/";
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

static uint64_t rd(const unsigned char *b, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--)
        v = v << 8 | b[i - 1];
    return v;
}

/* The mapped file, with every read bounds-checked. */
struct image {
    const unsigned char *b;
    size_t size;
    int is64;
};

static int in_file(const struct image *im, uint64_t off, uint64_t len)
{
    return off <= im->size && len <= im->size - off;
}

/* File offset of virtual address vaddr (inside a PT_LOAD's file range), or UINT64_MAX. */
static uint64_t vaddr_to_off(const struct image *im, uint64_t phoff, uint64_t phnum,
                             uint64_t phentsize, uint64_t vaddr)
{
    for (uint64_t i = 0; i < phnum; i++) {
        const unsigned char *ph = im->b + phoff + i * phentsize;
        uint64_t type = rd(ph, 4), off, va, filesz;
        if (im->is64) {
            off = rd(ph + 8, 8), va = rd(ph + 16, 8), filesz = rd(ph + 32, 8);
        } else {
            off = rd(ph + 4, 4), va = rd(ph + 8, 4), filesz = rd(ph + 16, 4);
        }
        if (type == PT_LOAD && vaddr >= va && vaddr - va < filesz)
            return off + (vaddr - va);
    }
    return UINT64_MAX;
}

/* NUL-terminated string at strtab offset idx, bounded by the table and the file. */
static const char *dyn_str(const struct image *im, uint64_t strtab, uint64_t strsz, uint64_t idx)
{
    if (strtab == UINT64_MAX || idx >= strsz || !in_file(im, strtab, strsz))
        return NULL;
    const char *s = (const char *)im->b + strtab + idx;
    return memchr(s, '\0', strsz - idx) ? s : NULL;
}

static int parse_dynamic(const struct image *im, const char *path, struct dyn *d, struct err *e)
{
    const unsigned char *h = im->b;
    size_t ehsize = im->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (im->size < ehsize)
        return err_set(e, "%s: ELF header truncated", path);
    d->machine = (int)rd(h + 18, 2);
    uint64_t phoff = im->is64 ? rd(h + 32, 8) : rd(h + 28, 4);
    uint64_t phentsize = im->is64 ? rd(h + 54, 2) : rd(h + 42, 2);
    uint64_t phnum = im->is64 ? rd(h + 56, 2) : rd(h + 44, 2);
    size_t want = im->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (phnum && (phentsize < want || !in_file(im, phoff, phnum * phentsize)))
        return err_set(e, "%s: program headers outside the file (truncated?)", path);
    uint64_t dynoff = 0, dynsz = 0;
    int have_dyn = 0;
    for (uint64_t i = 0; i < phnum; i++) {
        const unsigned char *ph = im->b + phoff + i * phentsize;
        if (rd(ph, 4) != PT_DYNAMIC)
            continue;
        dynoff = im->is64 ? rd(ph + 8, 8) : rd(ph + 4, 4);
        dynsz = im->is64 ? rd(ph + 32, 8) : rd(ph + 16, 4);
        have_dyn = 1;
    }
    if (!have_dyn)
        return 0;
    if (!in_file(im, dynoff, dynsz))
        return err_set(e, "%s: dynamic section outside the file (truncated?)", path);
    size_t entsz = im->is64 ? 16 : 8, half = entsz / 2;
    uint64_t strtab_va = UINT64_MAX, strsz = 0;
    /* First pass: the string table; second: the names in it. */
    for (uint64_t o = 0; o + entsz <= dynsz; o += entsz) {
        uint64_t tag = rd(im->b + dynoff + o, half), val = rd(im->b + dynoff + o + half, half);
        if (tag == DT_NULL)
            break;
        if (tag == DT_STRTAB)
            strtab_va = val;
        else if (tag == DT_STRSZ)
            strsz = val;
    }
    uint64_t strtab = strtab_va == UINT64_MAX ? UINT64_MAX
                                              : vaddr_to_off(im, phoff, phnum, phentsize, strtab_va);
    for (uint64_t o = 0; o + entsz <= dynsz; o += entsz) {
        uint64_t tag = rd(im->b + dynoff + o, half), val = rd(im->b + dynoff + o + half, half);
        if (tag == DT_NULL)
            break;
        if (tag != DT_NEEDED && tag != DT_RUNPATH && tag != DT_RPATH)
            continue;
        const char *s = dyn_str(im, strtab, strsz, val);
        if (!s)
            return err_set(e, "%s: dynamic entry points outside its string table (corrupt?)", path);
        if (tag == DT_NEEDED) {
            if (strlist_add(&d->needed, s, e) < 0)
                return ERR;
        } else {
            char **slot = tag == DT_RUNPATH ? &d->runpath : &d->rpath;
            free(*slot);
            if (!(*slot = strdup(s)))
                return err_set(e, "out of memory");
        }
    }
    return 0;
}

/* Read the dynamic information of the ELF file at host path `path`. Returns 0, 1 when the
 * file is not a little-endian ELF object (a candidate to skip), or ERR. */
static int dyn_read(const char *path, struct dyn *d, struct err *e)
{
    memset(d, 0, sizeof *d);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(e, errno, "%s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_sys(e, errno, "%s", path);
    if (!S_ISREG(st.st_mode) || st.st_size < EI_NIDENT)
        return 1;
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return err_sys(e, errno, "%s: mmap", path);
    struct image im = {.b = map, .size = (size_t)st.st_size};
    int rc = 1;
    if (!memcmp(im.b, ELFMAG, SELFMAG) && im.b[EI_DATA] == ELFDATA2LSB &&
        (im.b[EI_CLASS] == ELFCLASS64 || im.b[EI_CLASS] == ELFCLASS32)) {
        im.is64 = im.b[EI_CLASS] == ELFCLASS64;
        d->elf_class = im.b[EI_CLASS];
        rc = parse_dynamic(&im, path, d, e);
    }
    munmap(map, (size_t)st.st_size);
    if (rc != 0)
        dyn_free(d);
    return rc;
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

static const char *deb_arch(const struct platform *p)
{
    if (!strcmp(p->oci, "linux/arm/v7"))
        return "armhf";
    if (!strcmp(p->oci, "linux/arm/v6"))
        return "armel";
    return p->arch;
}

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

/* $PLATFORM as the loader sees it: the kernel's AT_PLATFORM on the platform's CPU
 * (an ARMv7 or ARMv6 kernel; under a 64-bit ARM kernel 32-bit programs see "v8l"). */
static const char *dst_platform(const struct platform *p)
{
    if (!strcmp(p->oci, "linux/amd64"))
        return "x86_64";
    if (!strcmp(p->oci, "linux/arm64"))
        return "aarch64";
    return !strcmp(p->oci, "linux/arm/v6") ? "v6l" : "v7l";
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
    const char *values[] = {origin, lib, dst_platform(p)};
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
                    c->program, name, root, c->p->oci, list, deb_arch(c->p), c->p->oci);
        else
            err_set(e, "%s: shared library \"%s\" (needed by %s) not found in sysroot %s for %s "
                       "(searched %s); install its :%s package or pass --sysroot %s=DIR",
                    c->program, name, o->shown, root, c->p->oci, list, deb_arch(c->p), c->p->oci);
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

/* Folder part of path ("/a/b" -> "/a", "b" -> "."), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("");
    return strndup(path, (size_t)(slash - path));
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
                                    (struct obj){.host = strdup(nd->src), .origin = dir_of(img),
                                                 .origin_host = strcmp(nd->src, in_root)
                                                                    ? dir_of(nd->src) : NULL,
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
             struct err *e)
{
    return libs_add_ordered(t, src, dest, p, NULL, e);
}

int libs_add_ordered(struct tree *t, const char *src, const char *dest,
                     const struct platform *p, struct strlist *order, struct err *e)
{
    const char *sr = libs_sysroot(p);
    cleanup_free char *root = strdup(sr);
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
                           p->oci, deb_arch(p), p->oci);
    }

    struct obj *q = NULL;
    size_t nq = 0, cap = 0;
    struct strlist seen = {0};
    cleanup_free char *real_src = realpath(src, NULL);
    struct obj prog = {.host = strdup(src), .origin = dir_of(dest),
                       .origin_host = real_src ? dir_of(real_src) : dir_of(src),
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
