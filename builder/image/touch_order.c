/* builder/image/touch_order.c — first-touch ranks of file blocks (see touch_order.h). */
#include "image/touch_order.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct tfile {
    uint64_t ino, nblocks;
    float *rank;              /* per block: the smallest scaled rank so far */
    uint32_t *run_seq;        /* per block: 1 + its first-touch number in this run, or 0 */
};

struct touch_order {
    struct tfile *files;
    size_t n;
    size_t *by_ino;           /* indices into files, by inode */
    uint64_t block, page;
};

static const struct touch_order *sort_into;   /* qsort has no user pointer */

static int ino_cmp(const void *a, const void *b)
{
    uint64_t x = sort_into->files[*(const size_t *)a].ino;
    uint64_t y = sort_into->files[*(const size_t *)b].ino;
    return x < y ? -1 : x > y;
}

struct touch_order *touch_order_new(size_t n, const uint64_t *inos, const uint64_t *sizes,
                                    uint64_t block, struct err *e)
{
    struct touch_order *o = calloc(1, sizeof *o);
    if (!o || !(o->files = calloc(n ? n : 1, sizeof *o->files)) ||
        !(o->by_ino = calloc(n ? n : 1, sizeof *o->by_ino))) {
        touch_order_free(o);
        err_sys(e, ENOMEM, "touch order");
        return NULL;
    }
    o->n = n;
    o->block = block;
    o->page = (uint64_t)sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < n; i++) {
        struct tfile *f = &o->files[i];
        f->ino = inos[i];
        f->nblocks = (sizes[i] + block - 1) / block;
        o->by_ino[i] = i;
        if (!f->nblocks)
            continue;
        if (!(f->rank = malloc(f->nblocks * sizeof *f->rank)) ||
            !(f->run_seq = calloc(f->nblocks, sizeof *f->run_seq))) {
            touch_order_free(o);
            err_sys(e, ENOMEM, "touch order");
            return NULL;
        }
        for (uint64_t b = 0; b < f->nblocks; b++)
            f->rank[b] = TOUCH_NEVER;
    }
    sort_into = o;
    qsort(o->by_ino, n, sizeof *o->by_ino, ino_cmp);
    sort_into = NULL;
    return o;
}

/* The file with inode ino (the first of hard links to it), or NULL. */
static struct tfile *find(const struct touch_order *o, uint64_t ino)
{
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->files[o->by_ino[mid]].ino < ino)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < o->n && o->files[o->by_ino[lo]].ino == ino ? &o->files[o->by_ino[lo]] : NULL;
}

void touch_order_add_run(struct touch_order *o, const struct pagetrace_event *ev, size_t n)
{
    uint32_t seq = 0;
    for (size_t i = 0; i < n; i++) {
        struct tfile *f = find(o, ev[i].ino);
        if (!f)
            continue;
        /* a large folio (order > 0) may span blocks: each one it reaches counts */
        uint64_t end = ev[i].off + (uint64_t)ev[i].pages * o->page;
        for (uint64_t b = ev[i].off / o->block; b < f->nblocks && b * o->block < end; b++)
            if (!f->run_seq[b])
                f->run_seq[b] = ++seq;
    }
    for (size_t i = 0; i < o->n; i++) {
        struct tfile *f = &o->files[i];
        for (uint64_t b = 0; b < f->nblocks; b++) {
            if (!f->run_seq[b])
                continue;
            float r = (float)(f->run_seq[b] - 1) / (float)seq;
            if (r < f->rank[b])
                f->rank[b] = r;
            f->run_seq[b] = 0;
        }
    }
}

float touch_order_rank(const struct touch_order *o, size_t file, uint64_t block)
{
    if (file >= o->n || block >= o->files[file].nblocks)
        return TOUCH_NEVER;
    return o->files[file].rank[block];
}

uint64_t touch_order_block(const struct touch_order *o)
{
    return o->block;
}

void touch_order_free(struct touch_order *o)
{
    if (!o)
        return;
    for (size_t i = 0; o->files && i < o->n; i++) {
        free(o->files[i].rank);
        free(o->files[i].run_seq);
    }
    free(o->files);
    free(o->by_ino);
    free(o);
}
