/* builder/seccomp/seccomp_enosys.c — see seccomp_enosys.h. */
#include "seccomp/seccomp_enosys.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "armlet_shared.h"
#include "bpf_eval.h"
#include "util/cleanup.h"

#define OFF_NR 0   /* offsetof(struct seccomp_data, nr) */
#define OFF_ARCH 4 /* offsetof(struct seccomp_data, arch) */
#define LD_W_ABS 0x20
#define JEQ_K 0x15
#define JGE_K 0x35
#define JA 0x05
#define RET_K 0x06
#define RET_ENOSYS SCMP_ACT_ERRNO(ENOSYS)
#define X32_BIT 0x40000000u
#define ARM_PRIVATE 0x0f0000u
#define WINDOW 2048u /* numbers read from libseccomp's table above each base */
#define MAX_BLOCKS 4

/* A run of numbers from `start` up to the next run's start: ENOSYS, or on to the filter. */
struct run {
    uint32_t start;
    int enosys;
};

/* One AUDIT_ARCH value of the filter and the runs covering its whole number space. */
struct block {
    uint32_t audit;
    int has_x32;     /* x86_64: the x32 numbers are part of the filter */
    struct run *r;
    size_t n, cap;
};

int seccomp_enosys_wanted(uint32_t def_act)
{
    uint32_t act = def_act & 0xffff0000u;
    return !(def_act == SCMP_ACT_ALLOW || def_act == SCMP_ACT_LOG || act == SCMP_ACT_TRACE(0) ||
             def_act == RET_ENOSYS);
}

/* Does libseccomp have a name for nr on arch (its token)? */
static int known(uint32_t arch, uint32_t nr)
{
    if (nr > INT32_MAX)
        return 0; /* libseccomp's numbers are ints; negative ones are its pseudo numbers */
    char *s = seccomp_syscall_resolve_num_arch(arch, (int)nr);
    free(s);
    return s != NULL;
}

/* The libseccomp token whose numbers `nr` of block b are, or 0 where the prelude leaves
 * nr to the filter (x32 numbers when x32 is not in it). */
static uint32_t token_of(const struct block *b, uint32_t nr)
{
    if (b->audit == AUDIT_ARCH_X86_64)
        return nr < X32_BIT ? SCMP_ARCH_X86_64 : b->has_x32 ? SCMP_ARCH_X32 : 0;
    return b->audit; /* x86, aarch64, arm: token and AUDIT_ARCH are the same value */
}

static int run_add(struct block *b, uint32_t start, int enosys)
{
    if (b->n && b->r[b->n - 1].enosys == enosys)
        return 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        struct run *nr = realloc(b->r, cap * sizeof *nr);
        if (!nr)
            return -1;
        b->r = nr;
        b->cap = cap;
    }
    b->r[b->n++] = (struct run){start, enosys};
    return 0;
}

/* Where block b's numbers are read from libseccomp's table: 0, and x32's or arm's
 * private base. Returns how many. */
static size_t block_bases(const struct block *b, uint32_t bases[2])
{
    size_t nb = 0;
    bases[nb++] = 0;
    if (b->audit == AUDIT_ARCH_X86_64)
        bases[nb++] = X32_BIT;
    else if (b->audit == AUDIT_ARCH_ARM)
        bases[nb++] = ARM_PRIVATE;
    return nb;
}

/* The runs of block b over 0..UINT32_MAX: libseccomp's table read in each window, the
 * numbers between and beyond the windows unknown. */
static int block_runs(struct block *b)
{
    uint32_t bases[2];
    size_t nb = block_bases(b, bases);
    for (size_t w = 0; w < nb; w++) {
        uint32_t tok = token_of(b, bases[w]);
        if (!tok) /* x32 left to the filter: the rest of the space too */
            return run_add(b, bases[w], 0);
        for (uint32_t nr = bases[w]; nr < bases[w] + WINDOW; nr++)
            if (run_add(b, nr, !known(tok, nr)) < 0)
                return -1;
        if (run_add(b, bases[w] + WINDOW, 1) < 0)
            return -1;
    }
    return 0;
}

/* Instructions of the JGE search over runs [i, j]. */
static size_t tree_size(const struct block *b, size_t i, size_t j)
{
    if (i == j)
        return 1;
    size_t m = (i + j + 1) / 2, left = tree_size(b, i, m - 1);
    return 1 + (left > 255) + left + tree_size(b, m, j);
}

/* Emit the search over runs [i, j] at o[pc...]; `filter` is the index of libseccomp's
 * first instruction. Returns the next free index. */
static size_t tree_emit(const struct block *b, size_t i, size_t j, struct bpf_eval_insn *o,
                        size_t pc, size_t filter)
{
    if (i == j) {
        o[pc] = b->r[i].enosys ? (struct bpf_eval_insn){RET_K, 0, 0, RET_ENOSYS}
                               : (struct bpf_eval_insn){JA, 0, 0, (uint32_t)(filter - pc - 1)};
        return pc + 1;
    }
    size_t m = (i + j + 1) / 2, left = tree_size(b, i, m - 1);
    if (left <= 255) {
        o[pc++] = (struct bpf_eval_insn){JGE_K, (uint8_t)left, 0, b->r[m].start};
    } else { /* too far for a conditional jump: the true branch steps over by JA */
        o[pc++] = (struct bpf_eval_insn){JGE_K, 0, 1, b->r[m].start};
        o[pc++] = (struct bpf_eval_insn){JA, 0, 0, (uint32_t)left};
    }
    pc = tree_emit(b, i, m - 1, o, pc, filter);
    return tree_emit(b, m, j, o, pc, filter);
}

/* The prelude's answer for nr on block b's arch must be what libseccomp's table says
 * directly (not the runs): ENOSYS where it has no name, else the filter's answer. */
static int check_one(const struct block *b, uint32_t nr, const unsigned char *p, size_t np,
                     const unsigned char *orig, size_t n, const char *name, struct err *e)
{
    struct bpf_eval_data d = {.nr = nr, .arch = b->audit};
    uint32_t tok = token_of(b, nr);
    uint32_t want = tok && !known(tok, nr) ? RET_ENOSYS : bpf_eval(orig, n, &d);
    uint32_t got = bpf_eval(p, np, &d);
    if (want != got)
        return err_set(e, "%s: internal error: the ENOSYS prelude answers 0x%08x where 0x%08x is "
                          "due (arch 0x%08x, nr %u)", name, got, want, b->audit, nr);
    return 0;
}

/* The check of seccomp_enosys.h on the new program p (np records): every number of the
 * windows, each side of every run's edge, and the top. */
static int check(const struct block *blk, size_t nblk, const unsigned char *p, size_t np,
                 const unsigned char *orig, size_t n, const char *name, struct err *e)
{
    for (size_t k = 0; k < nblk; k++) {
        const struct block *b = &blk[k];
        uint32_t bases[2];
        size_t nb = block_bases(b, bases);
        for (size_t w = 0; w < nb; w++)
            for (uint32_t nr = bases[w]; nr < bases[w] + WINDOW; nr++)
                if (check_one(b, nr, p, np, orig, n, name, e) < 0)
                    return ERR;
        for (size_t r = 0; r < b->n; r++) {
            uint32_t s = b->r[r].start;
            if ((s && check_one(b, s - 1, p, np, orig, n, name, e) < 0) ||
                check_one(b, s, p, np, orig, n, name, e) < 0 ||
                (s < UINT32_MAX && check_one(b, s + 1, p, np, orig, n, name, e) < 0))
                return ERR;
        }
        if (check_one(b, UINT32_MAX, p, np, orig, n, name, e) < 0)
            return ERR;
    }
    return 0;
}

int seccomp_enosys_prepend(const uint32_t *arches, int n, unsigned char **bpf, size_t *len,
                           const char *name, struct err *e)
{
    struct block blk[MAX_BLOCKS];
    size_t nblk = 0, norig = *len / ARMLET_BPF_INSN_SIZE;
    int rc = 0;
    memset(blk, 0, sizeof blk);
    for (int i = 0; i < n; i++) { /* x32 shares x86_64's AUDIT_ARCH: one block for both */
        uint32_t audit = arches[i] == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arches[i];
        size_t k = 0;
        while (k < nblk && blk[k].audit != audit)
            k++;
        if (k == nblk && nblk < MAX_BLOCKS)
            blk[nblk++].audit = audit;
        if (k < nblk && arches[i] == SCMP_ARCH_X32)
            blk[k].has_x32 = 1;
    }
    /* layout: ld arch; 2 per block; ja filter; the blocks; the filter */
    size_t total = 1 + 2 * nblk + 1, at[MAX_BLOCKS];
    for (size_t k = 0; k < nblk && rc == 0; k++) {
        if (block_runs(&blk[k]) < 0) {
            rc = err_sys(e, ENOMEM, "%s", name);
            break;
        }
        at[k] = total;
        total += 1 + tree_size(&blk[k], 0, blk[k].n - 1);
    }
    size_t filter = total;
    total += norig;
    cleanup_free struct bpf_eval_insn *o = NULL;
    cleanup_free unsigned char *raw = NULL;
    if (rc == 0 && total > ARMLET_BPF_MAX_INSNS)
        rc = err_set(e, "%s: filter has %zu instructions with the ENOSYS prelude, more than the "
                        "kernel's %d", name, total, ARMLET_BPF_MAX_INSNS);
    if (rc == 0 && (!(o = malloc(total * sizeof *o)) || !(raw = malloc(total * ARMLET_BPF_INSN_SIZE))))
        rc = err_sys(e, ENOMEM, "%s", name);
    if (rc == 0) {
        size_t pc = 0;
        o[pc++] = (struct bpf_eval_insn){LD_W_ABS, 0, 0, OFF_ARCH};
        for (size_t k = 0; k < nblk; k++, pc += 2) {
            o[pc] = (struct bpf_eval_insn){JEQ_K, 0, 1, blk[k].audit};
            o[pc + 1] = (struct bpf_eval_insn){JA, 0, 0, (uint32_t)(at[k] - pc - 2)};
        }
        o[pc] = (struct bpf_eval_insn){JA, 0, 0, (uint32_t)(filter - pc - 1)}; /* other arches */
        for (size_t k = 0; k < nblk; k++) {
            o[at[k]] = (struct bpf_eval_insn){LD_W_ABS, 0, 0, OFF_NR};
            tree_emit(&blk[k], 0, blk[k].n - 1, o, at[k] + 1, filter);
        }
        for (size_t i = 0; i < filter; i++)
            bpf_insn_encode(o[i], raw + ARMLET_BPF_INSN_SIZE * i);
        memcpy(raw + ARMLET_BPF_INSN_SIZE * filter, *bpf, *len);
        rc = check(blk, nblk, raw, total, *bpf, norig, name, e);
    }
    for (size_t k = 0; k < nblk; k++)
        free(blk[k].r);
    if (rc < 0)
        return rc;
    free(*bpf);
    *bpf = steal_pointer(&raw);
    *len = total * ARMLET_BPF_INSN_SIZE;
    return 0;
}
