/* builder/image/preload.c — preload lists: build, merge, format, parse (see preload.h). */
#include "image/preload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "armlet_shared.h"
#include "util/cleanup.h"
#include "image/elfcheck.h"
#include "util/fdio.h"
#include "image/libs.h"
#include "recipe/recipe.h"
#include "util/strlist.h"
#include "image/tree.h"

/* The end of a range (OFFSET + LENGTH) may not pass the largest off_t: then no sum or
 * merge overflows, and every value fits the init's parser (at most UINT64_MAX / 2). */
#define RANGE_MAX ((uint64_t)INT64_MAX)

static void entry_free(struct preload_file *f);

void preload_list_free(struct preload_list *l)
{
    for (size_t i = 0; i < l->nfiles; i++)
        entry_free(&l->files[i]);
    free(l->files);
    memset(l, 0, sizeof *l);
}

/* Grow *arr (of *cap elements of size sz) to hold at least need. 0 or -1 (ENOMEM). */
static int grow(void *arr, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*(void **)arr, ncap * sz);
    if (!p)
        return -1;
    *(void **)arr = p;
    *cap = ncap;
    return 0;
}

static int valid_path(const char *p)
{
    if (p[0] != '/' || strlen(p) > ARMLET_PRELOAD_MAX_LINE / 2)
        return 0;
    for (; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            return 0;
    return 1;
}

/* Append [off, off+len) to entry f (unless f is listed whole). */
static int entry_add(struct preload_file *f, uint64_t off, uint64_t len, struct err *e)
{
    if (f->whole)
        return 0;
    if (grow(&f->ranges, &f->cap, f->nranges + 1, sizeof *f->ranges) < 0)
        return err_sys(e, ENOMEM, "preload");
    f->ranges[f->nranges++] = (struct preload_range){off, len};
    return 0;
}

int preload_list_add(struct preload_list *l, const char *path, uint64_t off, uint64_t len,
                     struct err *e)
{
    if (!valid_path(path))
        return err_set(e, "preload: \"%s\": not an absolute path without spaces", path);
    if (off > RANGE_MAX || len > RANGE_MAX - off)
        return err_set(e, "preload: \"%s\": range %llu:%llu ends beyond %llu", path,
                       (unsigned long long)off, (unsigned long long)len,
                       (unsigned long long)RANGE_MAX);
    struct preload_file *f = l->nfiles ? &l->files[l->nfiles - 1] : NULL;
    if (!f || strcmp(f->path, path) != 0) {
        if (grow(&l->files, &l->cap, l->nfiles + 1, sizeof *l->files) < 0)
            return err_sys(e, ENOMEM, "preload");
        f = &l->files[l->nfiles];
        memset(f, 0, sizeof *f);
        if (!(f->path = strdup(path)))
            return err_sys(e, ENOMEM, "preload");
        l->nfiles++;
    }
    if (len == 0) {
        f->whole = 1;
        f->nranges = 0;
    }
    return entry_add(f, off, len, e);
}

static int range_cmp(const void *a, const void *b)
{
    const struct preload_range *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Sort f's ranges and join the ones that overlap or touch. */
static void entry_merge(struct preload_file *f)
{
    if (f->nranges < 2)
        return;
    qsort(f->ranges, f->nranges, sizeof *f->ranges, range_cmp);
    size_t out = 0;
    for (size_t j = 1; j < f->nranges; j++) {
        struct preload_range *last = &f->ranges[out], *r = &f->ranges[j];
        if (r->off <= last->off + last->len) {
            uint64_t end = r->off + r->len;
            if (end > last->off + last->len)
                last->len = end - last->off;
        } else {
            f->ranges[++out] = *r;
        }
    }
    f->nranges = out + 1;
}

static void entry_free(struct preload_file *f)
{
    free(f->path);
    free(f->ranges);
}

/* Entries by path, then by position: one file's entries in a row, in list order. */
static const struct preload_list *sort_list;   /* qsort has no user pointer */

static int entry_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(sort_list->files[x].path, sort_list->files[y].path);
    return c ? c : x < y ? -1 : x > y;
}

/* A range of entry `pos`, for the sweep. */
struct owned { uint64_t off, end; size_t pos; };

static int owned_cmp(const void *a, const void *b)
{
    const struct owned *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Min-heap of ranges by entry position: the earliest entry that covers a byte reads it. */
static void heap_push(struct owned *h, size_t *n, struct owned v)
{
    size_t i = (*n)++;
    for (; i > 0 && h[(i - 1) / 2].pos > v.pos; i = (i - 1) / 2)
        h[i] = h[(i - 1) / 2];
    h[i] = v;
}

static void heap_pop(struct owned *h, size_t *n)
{
    struct owned v = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1].pos < h[c].pos)
            c++;
        if (h[c].pos >= v.pos)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = v;
}

/* The entries idx[0..n) of one file (list order, none whole, each merged): every byte goes
 * to the first entry that lists it, the others lose it. One sweep over the ranges by
 * offset, O(R log R): a hostile list that names one file a million times stays cheap. */
static int give_to_first(struct preload_list *l, const size_t *idx, size_t n, struct err *e)
{
    size_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += l->files[idx[k]].nranges;
    cleanup_free struct owned *all = malloc((total ? total : 1) * sizeof *all);
    cleanup_free struct owned *heap = malloc((total ? total : 1) * sizeof *heap);
    if (!all || !heap)
        return err_sys(e, ENOMEM, "preload");
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        struct preload_file *f = &l->files[idx[k]];
        for (size_t j = 0; j < f->nranges; j++)
            all[m++] = (struct owned){f->ranges[j].off, f->ranges[j].off + f->ranges[j].len,
                                      idx[k]};
        f->nranges = 0;      /* refilled below, in offset order */
    }
    qsort(all, m, sizeof *all, owned_cmp);
    size_t i = 0, nh = 0;
    uint64_t cur = 0;
    while (i < m || nh) {
        if (!nh)
            cur = all[i].off > cur ? all[i].off : cur;
        while (i < m && all[i].off <= cur)
            heap_push(heap, &nh, all[i++]);
        while (nh && heap[0].end <= cur)
            heap_pop(heap, &nh);
        if (!nh)
            continue;
        uint64_t next = heap[0].end;
        if (i < m && all[i].off < next)
            next = all[i].off;   /* an earlier entry may start there */
        struct preload_file *f = &l->files[heap[0].pos];
        struct preload_range *last = f->nranges ? &f->ranges[f->nranges - 1] : NULL;
        if (last && last->off + last->len == cur)
            last->len += next - cur;
        else if (entry_add(f, cur, next - cur, e) < 0)
            return ERR;
        cur = next;
    }
    return 0;
}

int preload_list_merge(struct preload_list *l, struct err *e)
{
    for (size_t i = 0; i < l->nfiles; i++)
        entry_merge(&l->files[i]);
    /* Each file's entries together (sorted by path, then position). */
    cleanup_free size_t *idx = malloc((l->nfiles ? l->nfiles : 1) * sizeof *idx);
    if (!idx)
        return err_sys(e, ENOMEM, "preload");
    for (size_t i = 0; i < l->nfiles; i++)
        idx[i] = i;
    sort_list = l;
    qsort(idx, l->nfiles, sizeof *idx, entry_cmp);
    sort_list = NULL;
    for (size_t g = 0; g < l->nfiles;) {
        size_t h = g + 1, whole = SIZE_MAX;
        while (h < l->nfiles && !strcmp(l->files[idx[h]].path, l->files[idx[g]].path))
            h++;
        for (size_t k = g; whole == SIZE_MAX && k < h; k++)
            if (l->files[idx[k]].whole)
                whole = k;
        if (whole != SIZE_MAX) {
            /* a file listed whole anywhere is read whole where it first appears */
            for (size_t k = g; k < h; k++) {
                l->files[idx[k]].whole = k == g;
                l->files[idx[k]].nranges = 0;
            }
        } else if (h - g > 1 && give_to_first(l, idx + g, h - g, e) < 0) {
            return ERR;
        }
        g = h;
    }
    /* Drop what is left empty, and join neighbours that name the same file (the list's
     * text could not tell them apart: lines of one path in a row are one entry). */
    size_t out = 0;
    for (size_t i = 0; i < l->nfiles; i++) {
        struct preload_file *f = &l->files[i];
        if (!f->whole && !f->nranges) {
            entry_free(f);
            continue;
        }
        struct preload_file *prev = out ? &l->files[out - 1] : NULL;
        if (prev && !strcmp(prev->path, f->path)) {
            for (size_t j = 0; j < f->nranges; j++)
                if (entry_add(prev, f->ranges[j].off, f->ranges[j].len, e) < 0)
                    return ERR;
            entry_free(f);
            continue;
        }
        l->files[out++] = *f;
    }
    l->nfiles = out;
    /* joined entries: their pieces in offset order again (each once, not per join) */
    for (size_t i = 0; i < l->nfiles; i++)
        entry_merge(&l->files[i]);
    return 0;
}

int preload_list_split(struct preload_list *l, uint64_t chunk, struct err *e)
{
    for (size_t i = 0; chunk > 0 && i < l->nfiles; i++) {
        struct preload_file *f = &l->files[i];
        size_t need = 0;
        for (size_t j = 0; j < f->nranges; j++)
            need += (size_t)((f->ranges[j].len + chunk - 1) / chunk);
        if (need == f->nranges)
            continue;
        struct preload_range *out = calloc(need, sizeof *out);
        if (!out)
            return err_sys(e, ENOMEM, "preload");
        size_t k = 0;
        for (size_t j = 0; j < f->nranges; j++)
            for (uint64_t off = 0; off < f->ranges[j].len; off += chunk) {
                uint64_t left = f->ranges[j].len - off;
                out[k++] = (struct preload_range){f->ranges[j].off + off,
                                                  left < chunk ? left : chunk};
            }
        free(f->ranges);
        f->ranges = out;
        f->nranges = f->cap = need;
    }
    return 0;
}

uint64_t preload_list_bytes(const struct preload_list *l)
{
    uint64_t n = 0;
    for (size_t i = 0; i < l->nfiles; i++)
        for (size_t j = 0; j < l->files[i].nranges; j++)
            n += l->files[i].ranges[j].len;
    return n;
}

int preload_list_format(const struct preload_list *l, char **text, size_t *len, struct err *e)
{
    cleanup_free char *buf = NULL;
    size_t size = 0;
    cleanup_file FILE *f = open_memstream(&buf, &size);
    if (!f)
        return err_sys(e, errno, "preload: format");
    for (size_t i = 0; i < l->nfiles; i++) {
        const struct preload_file *pf = &l->files[i];
        /* A line may not exceed ARMLET_PRELOAD_MAX_LINE: a file with more ranges than fit
         * continues on further lines of the same path. */
        size_t linelen = (size_t)fprintf(f, "%s", pf->path);
        for (size_t j = 0; j < pf->nranges; j++) {
            char r[48];
            int n = snprintf(r, sizeof r, " %llu:%llu", (unsigned long long)pf->ranges[j].off,
                             (unsigned long long)pf->ranges[j].len);
            if (linelen + (size_t)n + 1 > ARMLET_PRELOAD_MAX_LINE)
                linelen = (size_t)fprintf(f, "\n%s", pf->path) - 1;
            fputs(r, f);
            linelen += (size_t)n;
        }
        fputc('\n', f);
    }
    if (fclose(steal_pointer(&f)) != 0)
        return err_sys(e, errno, "preload: format");
    *len = size;
    *text = steal_pointer(&buf);
    return 0;
}

/* Whole decimal unsigned integer. 0 or -1. */
static int parse_dec(const char *s, size_t n, uint64_t *v)
{
    if (n == 0 || n > 19)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *v = x;
    return 0;
}

/* One line (no newline, n bytes) into l. */
static int parse_line(const char *name, int lineno, const char *s, size_t n,
                      struct preload_list *l, struct err *e)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
    if (i == n || s[i] == '#')
        return 0;
    size_t p0 = i;
    while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
        i++;
    char path[ARMLET_PRELOAD_MAX_LINE + 1];
    memcpy(path, s + p0, i - p0);
    path[i - p0] = '\0';
    if (path[0] != '/')
        return err_set(e, "%s:%d: path \"%s\" is not absolute", name, lineno, path);
    int ranges = 0;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
            i++;
        if (i == n)
            break;
        size_t t0 = i;
        while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            i++;
        const char *colon = memchr(s + t0, ':', i - t0);
        uint64_t off, len;
        if (!colon || parse_dec(s + t0, (size_t)(colon - s - t0), &off) < 0 ||
            parse_dec(colon + 1, (size_t)(s + i - colon - 1), &len) < 0 || len == 0)
            return err_set(e, "%s:%d:%zu: expected OFFSET:LENGTH (decimal bytes, length > 0), "
                           "got \"%.*s\"", name, lineno, t0 + 1, (int)(i - t0), s + t0);
        if (off > RANGE_MAX || len > RANGE_MAX - off)
            return err_set(e, "%s:%d:%zu: range \"%.*s\" ends beyond %llu", name, lineno,
                           t0 + 1, (int)(i - t0), s + t0, (unsigned long long)RANGE_MAX);
        if (preload_list_add(l, path, off, len, e) < 0)
            return err_ctx(e, "%s:%d", name, lineno);
        ranges++;
    }
    if (!ranges && preload_list_add(l, path, 0, 0, e) < 0)
        return err_ctx(e, "%s:%d", name, lineno);
    return 0;
}

int preload_list_parse(const char *name, const char *buf, size_t len, struct preload_list *l,
                       struct err *e)
{
    int lineno = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - buf - i) : len - i;
        lineno++;
        if (n + 1 > ARMLET_PRELOAD_MAX_LINE)   /* the init reads lines of 4096 with '\n' */
            return err_set(e, "%s:%d: line longer than %d bytes with its newline", name, lineno,
                           ARMLET_PRELOAD_MAX_LINE);
        if (memchr(buf + i, '\0', n))
            return err_set(e, "%s:%d: NUL byte in a text list", name, lineno);
        if (parse_line(name, lineno, buf + i, n, l, e) < 0)
            return ERR;
        i += n + 1;
    }
    return 0;
}

int preload_entrypoint(struct preload_list *l, const char *image_path, const char *host_path,
                       struct err *e)
{
    struct elf_segment segs[32];
    size_t n = 0;
    struct elf_info info;
    if (elf_read(host_path, &info, e) < 0 || !info.is_elf) {
        err_clear(e);
        return preload_list_add(l, image_path, 0, 0, e);   /* a script: the whole file */
    }
    if (elf_load_segments(host_path, segs, sizeof segs / sizeof segs[0], &n, e) < 0)
        return err_ctx(e, "preload");
    if (n > sizeof segs / sizeof segs[0])
        n = sizeof segs / sizeof segs[0];
    for (size_t i = 0; i < n; i++)
        if (segs[i].filesz > 0 &&
            preload_list_add(l, image_path, segs[i].offset, segs[i].filesz, e) < 0)
            return ERR;
    return 0;
}

/* Read a whole file into a malloc'd buffer. */
static int read_file(const char *path, char **data, size_t *len, struct err *e)
{
    int rc = fdio_read_file(path, 64 * 1024 * 1024, data, len);
    if (rc == FDIO_NOT_REGULAR)
        return err_set(e, "%s: not a regular file of at most 64 MiB", path);
    return rc < 0 ? err_sys(e, errno, "%s", path) : 0;
}

/* Collapse "//", "." and ".." of an absolute path in place ("/a/../b" -> "/b"). */
static void normalize(char *p)
{
    char *out = p, *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        char *e = s;
        while (*e && *e != '/')
            e++;
        size_t n = (size_t)(e - s);
        if (n == 0 || (n == 1 && s[0] == '.')) {
            /* nothing */
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (out > p && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, s, n);
            out += n;
        }
        s = e;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

/* The FILE node that path names in the tree, following symlinks (and hardlinks) in any
 * component, as the kernel would in the image (at most 40 links). NULL if none. */
const struct tree_node *tree_resolve(struct tree *t, const char *path)
{
    char cur[PATH_MAX], next[PATH_MAX];
    snprintf(cur, sizeof cur, "/%s", path);
    normalize(cur);
    for (int hop = 0; hop < 40; hop++) {
        const struct tree_node *n = NULL;
        size_t len = strlen(cur), j = 0;
        for (;;) {
            while (j < len && cur[j] == '/')
                j++;
            if (j == len)
                return n && n->kind == TREE_FILE ? n : NULL;
            while (j < len && cur[j] != '/')
                j++;
            char save = cur[j];
            cur[j] = '\0';
            n = tree_get(t, cur);
            cur[j] = save;
            if (!n)
                return NULL;
            if (n->kind == TREE_SYMLINK || n->kind == TREE_HARDLINK)
                break;
        }
        /* cur[0..j) is a link: its target, then the rest of the path */
        int w;
        if (n->target[0] == '/' || n->kind == TREE_HARDLINK) {
            w = snprintf(next, sizeof next, "/%s%s", n->target, cur + j);
        } else {
            const char *slash = strrchr(n->path, '/');
            int dirlen = slash ? (int)(slash - n->path) : 0;
            w = snprintf(next, sizeof next, "/%.*s/%s%s", dirlen, n->path, n->target, cur + j);
        }
        if (w < 0 || (size_t)w >= sizeof next)
            return NULL;
        normalize(next);
        memcpy(cur, next, sizeof cur);
    }
    return NULL;
}

/* Add the loadable segments of the tree's file at prog (symlinks followed) under its
 * image path; nothing when prog is not a file of the tree. With interp, also returns the
 * program's PT_INTERP there ("" when static or not ELF). */
static int add_tree_program(struct preload_list *l, struct tree *t, const char *prog,
                            char interp[256], struct err *e)
{
    const struct tree_node *n = tree_resolve(t, prog);
    if (!n)
        return 0;
    char image_path[PATH_MAX], tmp[] = "/tmp/armlet-preload-XXXXXX";
    snprintf(image_path, sizeof image_path, "/%s", n->path);
    const char *host = n->src;
    if (!host) {
        /* inline bytes (e.g. unpacked from an archive): through a temporary file */
        int fd = mkstemp(tmp);
        if (fd < 0)
            return err_sys(e, errno, "preload: temporary file");
        ssize_t w = write(fd, n->data, (size_t)n->size);
        int werr = errno;
        close(fd);
        if (w != (ssize_t)n->size) {
            unlink(tmp);
            return err_sys(e, werr, "preload: %s", tmp);
        }
        host = tmp;
    }
    int rc = preload_entrypoint(l, image_path, host, e);
    struct elf_info info;
    if (rc == 0 && interp && elf_read(host, &info, e) == 0)
        snprintf(interp, 256, "%s", info.interp);
    if (!n->src)
        unlink(tmp);
    return rc;
}

/* What every list written into an image goes through: a file listed whole gets its size
 * as a range, so that it is split too (files the tree does not hold, e.g. the base
 * layer's small /etc files, stay whole); merged; split into PRELOAD_CHUNK_BYTES; text. */
static int finish(struct preload_list *l, struct tree *t, char **text, size_t *len,
                  struct err *e)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l->nfiles; i++) {
        const struct tree_node *nd = l->files[i].whole ? tree_resolve(t, l->files[i].path) : NULL;
        if (nd && nd->size > PRELOAD_CHUNK_BYTES) {
            l->files[i].whole = 0;
            rc = entry_add(&l->files[i], 0, nd->size, e);
        }
    }
    if (rc == 0)
        rc = preload_list_merge(l, e);
    if (rc == 0)
        rc = preload_list_split(l, PRELOAD_CHUNK_BYTES, e);
    return rc == 0 ? preload_list_format(l, text, len, e) : ERR;
}

int preload_normalize(struct tree *t, const char *name, const char *data, size_t n,
                      char **text, size_t *len, struct err *e)
{
    struct preload_list l = {0};
    int rc = preload_list_parse(name, data, n, &l, e);
    if (rc == 0)
        rc = finish(&l, t, text, len, e);
    preload_list_free(&l);
    return rc;
}

/* The shared libraries of the entrypoint prog when the recipe carried them (`file DEST
 * SRC libs` whose DEST is the tree's file at prog), each listed as a program (PT_LOAD
 * ranges), in the loader's order. libs_add_ordered finds them in the tree, which already
 * holds them, so it adds nothing. Nothing without p (unit tests) or without `libs`. */
static int add_tree_libs(struct preload_list *l, const struct recipe *r, struct tree *t,
                         const struct platform *p, const char *sysroot, const char *prog,
                         struct err *e)
{
    const struct tree_node *n = tree_resolve(t, prog);
    const struct recipe_entry *en = NULL;
    for (size_t i = 0; p && n && n->src && !en && i < r->nentries; i++)
        if (r->entries[i].kind == ENTRY_FILE && r->entries[i].libs &&
            tree_resolve(t, r->entries[i].dest) == n)
            en = &r->entries[i];
    if (!en)
        return 0;
    struct strlist order = {0};
    char dest[PATH_MAX];
    snprintf(dest, sizeof dest, "/%s", n->path);
    int rc = libs_add_ordered(t, n->src, dest, p, sysroot ? sysroot : "/", &order, e) < 0 ? ERR : 0;
    for (size_t i = 0; rc == 0 && i < order.n; i++)
        rc = add_tree_program(l, t, order.v[i], NULL, e);
    strlist_free(&order);
    return rc;
}

int preload_for_build(const struct recipe *r, const struct platform *p, const char *sysroot,
                      struct tree *t,
                      const char *value, char **text, size_t *len, struct err *e)
{
    struct preload_list l = {0};
    int rc = 0;
    *text = NULL;
    *len = 0;
    if (!value || !strcmp(value, "none"))
        return 0;
    if (!strcmp(value, "entrypoint")) {
        /* The program, then its loader when the image carries one (`file ... libs`),
         * then its shared libraries in the order the loader maps them. */
        char interp[256] = "";
        if (r->nentrypoint > 0 && r->entrypoint[0][0] == '/')
            rc = add_tree_program(&l, t, r->entrypoint[0], interp, e);
        if (rc == 0 && interp[0])
            rc = add_tree_program(&l, t, interp, NULL, e);
        if (rc == 0 && interp[0])
            rc = add_tree_libs(&l, r, t, p, sysroot, r->entrypoint[0], e);
        if (rc == 0 && l.nfiles == 0)
            return 0;                 /* no program file in this layer: no list */
    } else {
        cleanup_free char *path = NULL, *data = NULL;
        size_t n = 0;
        if (value[0] == '/')
            path = strdup(value);
        else if (asprintf(&path, "%s/%s", r->dir ? r->dir : ".", value) < 0)
            path = NULL;
        if (!path)
            return err_sys(e, ENOMEM, "preload");
        rc = read_file(path, &data, &n, e);
        if (rc == 0)
            rc = preload_list_parse(path, data, n, &l, e);
    }
    if (rc == 0)
        rc = finish(&l, t, text, len, e);
    preload_list_free(&l);
    return rc < 0 ? err_ctx(e, "init preload=%s", value) : 0;
}

int preload_layer_order(struct tree *t, const char *text, size_t len, struct err *e)
{
    struct preload_list l = {0};
    const char **paths = NULL;
    size_t n = 0;
    int rc = preload_list_parse("preload list", text, len, &l, e);
    if (rc == 0 && l.nfiles && !(paths = calloc(l.nfiles, sizeof *paths)))
        rc = err_sys(e, ENOMEM, "preload");
    for (size_t i = 0; rc == 0 && i < l.nfiles; i++) {
        const struct tree_node *nd = tree_resolve(t, l.files[i].path);
        if (nd)
            paths[n++] = nd->path;
    }
    if (rc == 0)
        rc = tree_set_first(t, paths, n, e);
    free(paths);
    preload_list_free(&l);
    return rc < 0 ? err_ctx(e, "preload: layer order") : 0;
}
