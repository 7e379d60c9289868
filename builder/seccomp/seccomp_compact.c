/* builder/seccomp/seccomp_compact.c — see seccomp_compact.h. */
#include "seccomp/seccomp_compact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_eval.h"
#include "util/cleanup.h"

#define MAX_INSNS 4096 /* BPF_MAXINSNS */
#define OFF_NR 0       /* offsetof(struct seccomp_data, nr) */
#define OFF_ARCH 4     /* offsetof(struct seccomp_data, arch) */

/* classic BPF encoding (linux/bpf_common.h) */
enum { C_LD = 0, C_LDX = 1, C_ST = 2, C_STX = 3, C_ALU = 4, C_JMP = 5, C_RET = 6, C_MISC = 7 };
enum { J_JA = 0x00, J_JEQ = 0x10, J_JGT = 0x20, J_JGE = 0x30, J_JSET = 0x40 };
#define CLS(c) ((c) & 0x07)
#define SRC_X 0x08
#define LD_W_ABS 0x20 /* BPF_LD | BPF_W | BPF_ABS */
#define RET_K 0x06
#define JGE_K (C_JMP | J_JGE)
#define JA (C_JMP | J_JA)


/* What the abstract run knows of a register. NR and ARCH are the raw loaded values
 * (known in the second pass); MIXED is anything computed from them or merged from
 * paths that disagree about them: deciding a jump on it would not hold for a whole
 * interval, so meeting one makes the analysis give up. ARG depends only on ip/args. */
enum kind { K_CONST, K_NR, K_ARCH, K_ARG, K_MIXED };
struct aval {
    uint8_t kind;
    uint32_t v;
};
struct state {
    struct aval a, x, m[16];
};

enum { RES_NONE, RES_CONST, RES_VARIES };

struct u32s {
    uint32_t *v;
    size_t n, cap;
};

struct ctx {
    const struct bpf_eval_insn *p;
    size_t n;
    struct state *st; /* per pc: the joined state on entry */
    unsigned *gen;    /* per pc: == cur when reached in this run */
    signed char *dec; /* per pc: decided jump: 1 taken, 0 not, -1 undecided */
    unsigned cur;
    int known;        /* second pass: nr and arch are known */
    uint32_t nr, arch;
    struct u32s nr_points, arch_points; /* first pass: interval starts */
    int res;                            /* RES_* of this run */
    uint32_t res_value;
    int oom;
};

static int push(struct u32s *s, uint32_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        uint32_t *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void sort_unique(struct u32s *s)
{
    size_t w = 0;
    qsort(s->v, s->n, sizeof *s->v, cmp_u32);
    for (size_t i = 0; i < s->n; i++)
        if (w == 0 || s->v[w - 1] != s->v[i])
            s->v[w++] = s->v[i];
    s->n = w;
}

static int depends_on_key(const struct aval *v)
{
    return v->kind == K_NR || v->kind == K_ARCH || v->kind == K_MIXED;
}

static struct aval join1(struct aval a, struct aval b)
{
    if (a.kind == b.kind && a.v == b.v)
        return a;
    struct aval r = {depends_on_key(&a) || depends_on_key(&b) ? K_MIXED : K_ARG, 0};
    return r;
}

/* Carry state s into pc t. Returns -1 on a jump out of the program. */
static int flow(struct ctx *c, size_t t, const struct state *s)
{
    if (t >= c->n)
        return -1;
    if (c->gen[t] != c->cur) {
        c->gen[t] = c->cur;
        c->st[t] = *s;
        return 0;
    }
    struct state *d = &c->st[t];
    d->a = join1(d->a, s->a);
    d->x = join1(d->x, s->x);
    for (int i = 0; i < 16; i++)
        d->m[i] = join1(d->m[i], s->m[i]);
    return 0;
}

static void note_ret(struct ctx *c, int varies, uint32_t v)
{
    if (varies || (c->res == RES_CONST && c->res_value != v))
        c->res = RES_VARIES;
    else if (c->res == RES_NONE) {
        c->res = RES_CONST;
        c->res_value = v;
    }
}

/* A constant ALU result, as the kernel computes it. Returns -1 for what we do not fold. */
static int alu_const(uint16_t op, uint32_t a, uint32_t b, uint32_t *r)
{
    switch (op) {
    case 0x00: *r = a + b; return 0;
    case 0x10: *r = a - b; return 0;
    case 0x20: *r = a * b; return 0;
    case 0x30: if (!b) return -1; *r = a / b; return 0;
    case 0x90: if (!b) return -1; *r = a % b; return 0;
    case 0x40: *r = a | b; return 0;
    case 0x50: *r = a & b; return 0;
    case 0xa0: *r = a ^ b; return 0;
    case 0x60: *r = b >= 32 ? 0 : a << b; return 0;
    case 0x70: *r = b >= 32 ? 0 : a >> b; return 0;
    case 0x80: *r = (uint32_t)-a; return 0;
    default: return -1;
    }
}

/* A comparison on a raw key in the first pass: its constant bounds an interval. */
static int note_point(struct ctx *c, enum kind key, uint32_t k)
{
    struct u32s *s = key == K_NR ? &c->nr_points : &c->arch_points;
    if (push(s, k) < 0 || (k != UINT32_MAX && push(s, k + 1) < 0)) {
        c->oom = 1;
        return -1;
    }
    return 0;
}

/* One abstract run over the whole program (forward jumps only, so pc order is a
 * topological order). Returns 0, or -1 when the program is outside what we handle. */
static int run(struct ctx *c)
{
    c->cur++;
    c->res = RES_NONE;
    struct state s0;
    memset(&s0, 0, sizeof s0); /* A, X and M start known as 0 (M is never read unset) */
    if (flow(c, 0, &s0) < 0)
        return -1;
    for (size_t pc = 0; pc < c->n; pc++) {
        if (c->gen[pc] != c->cur)
            continue;
        struct state s = c->st[pc];
        const struct bpf_eval_insn *in = &c->p[pc];
        uint16_t cls = CLS(in->code), op = in->code & 0xf0;
        c->dec[pc] = -1;
        switch (cls) {
        case C_LD:
        case C_LDX: {
            struct aval v = {K_CONST, 0};
            if ((in->code & 0x18) != 0) /* W only */
                return -1;
            switch (in->code & 0xe0) {
            case 0x20: /* ABS */
                if (in->k == OFF_NR)
                    v = (struct aval){K_NR, c->known ? c->nr : 0};
                else if (in->k == OFF_ARCH)
                    v = (struct aval){K_ARCH, c->known ? c->arch : 0};
                else
                    v.kind = K_ARG;
                break;
            case 0x00: v.v = in->k; break;                       /* IMM */
            case 0x60: if (in->k >= 16) return -1; v = s.m[in->k]; break; /* MEM */
            case 0x80: v.v = 64; break;                          /* LEN */
            default: return -1;
            }
            *(cls == C_LD ? &s.a : &s.x) = v;
            break;
        }
        case C_ST:
        case C_STX:
            if (in->k >= 16)
                return -1;
            s.m[in->k] = cls == C_ST ? s.a : s.x;
            break;
        case C_ALU: {
            struct aval b = in->code & SRC_X ? s.x : (struct aval){K_CONST, in->k};
            uint32_t r;
            if (s.a.kind == K_CONST && (op == 0x80 || b.kind == K_CONST)) {
                if (alu_const(op, s.a.v, b.v, &r) < 0)
                    return -1;
                s.a = (struct aval){K_CONST, r};
            } else {
                s.a.kind = depends_on_key(&s.a) || (op != 0x80 && depends_on_key(&b)) ? K_MIXED : K_ARG;
                s.a.v = 0;
            }
            break;
        }
        case C_JMP: {
            if (op == J_JA) {
                if (flow(c, pc + 1 + in->k, &s) < 0)
                    return -1;
                continue;
            }
            if (op != J_JEQ && op != J_JGT && op != J_JGE && op != J_JSET)
                return -1;
            struct aval b = in->code & SRC_X ? s.x : (struct aval){K_CONST, in->k};
            if (s.a.kind == K_MIXED || depends_on_key(&b))
                return -1;
            int decided = 0, taken = 0;
            if (s.a.kind == K_CONST && b.kind == K_CONST) {
                decided = 1;
            } else if ((s.a.kind == K_NR || s.a.kind == K_ARCH) && b.kind == K_CONST) {
                if (op == J_JSET) /* not monotonic: intervals would not hold */
                    return -1;
                if (c->known)
                    decided = 1;
                else if (note_point(c, (enum kind)s.a.kind, b.v) < 0)
                    return -1;
            }
            if (decided) {
                uint32_t a = s.a.v;
                taken = op == J_JEQ ? a == b.v : op == J_JGT ? a > b.v : op == J_JGE ? a >= b.v : (a & b.v) != 0;
                c->dec[pc] = (signed char)taken;
                if (flow(c, pc + 1 + (taken ? in->jt : in->jf), &s) < 0)
                    return -1;
            } else if (flow(c, pc + 1 + in->jt, &s) < 0 || flow(c, pc + 1 + in->jf, &s) < 0) {
                return -1;
            }
            continue;
        }
        case C_RET:
            if ((in->code & 0x18) == 0x00)
                note_ret(c, 0, in->k);
            else if ((in->code & 0x18) == 0x10 && s.a.kind == K_CONST)
                note_ret(c, 0, s.a.v);
            else if ((in->code & 0x18) == 0x10 && s.a.kind == K_ARG)
                note_ret(c, 1, 0);
            else
                return -1;
            continue;
        case C_MISC:
            if ((in->code & 0xf8) == 0x00)
                s.x = s.a; /* TAX */
            else if ((in->code & 0xf8) == 0x80)
                s.a = s.x; /* TXA */
            else
                return -1;
            break;
        }
        if (flow(c, pc + 1, &s) < 0)
            return -1;
    }
    return c->res == RES_NONE ? -1 : 0;
}

/* A leaf of the search: the instructions run for one interval. */
struct leaf {
    uint32_t start;
    struct bpf_eval_insn *code;
    size_t n;
    size_t nexc; /* an exceptions leaf (see with_exceptions): this many "jeq; ret" pairs */
};
struct leaves {
    struct leaf *v;
    size_t n, cap;
};

static void leaves_free(struct leaves *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].code);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Append a leaf (taking code), or merge it into the previous one when equal. */
static int leaves_add(struct leaves *l, uint32_t start, struct bpf_eval_insn *code, size_t n)
{
    if (l->n && l->v[l->n - 1].n == n && !memcmp(l->v[l->n - 1].code, code, n * sizeof *code)) {
        free(code);
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct leaf *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            free(code);
            return -1;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = (struct leaf){start, code, n, 0};
    return 0;
}

/* The run's residual program: reachable instructions in order; decided jumps become JA,
 * or vanish when nothing kept lies between them and their target; dead loads vanish.
 * Jumps only get shorter, so every offset still fits. */
static struct bpf_eval_insn *residual(const struct ctx *c, size_t *n_out)
{
    cleanup_free char *keep = calloc(c->n, 1);
    cleanup_free size_t *idx = malloc(c->n * sizeof *idx);
    if (!keep || !idx)
        return NULL;
    for (size_t pc = 0; pc < c->n; pc++)
        keep[pc] = c->gen[pc] == c->cur;
    /* Drop what no longer does anything, until nothing changes: a decided jump with
     * nothing kept before its target, and a load into A whose next kept instruction
     * loads A again (the arch and nr loads ahead of an argument check). */
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t pc = c->n; pc-- > 0;) {
            const struct bpf_eval_insn *in = &c->p[pc];
            size_t t, q = pc + 1;
            if (!keep[pc])
                continue;
            if (CLS(in->code) == C_LD) {
                while (q < c->n && !keep[q])
                    q++;
                if (q < c->n && CLS(c->p[q].code) == C_LD)
                    keep[pc] = 0, changed = 1;
                continue;
            }
            if (CLS(in->code) != C_JMP || ((in->code & 0xf0) != J_JA && c->dec[pc] < 0))
                continue;
            t = pc + 1 + ((in->code & 0xf0) == J_JA ? in->k : c->dec[pc] ? in->jt : in->jf);
            while (q < t && !keep[q])
                q++;
            if (q == t)
                keep[pc] = 0, changed = 1;
        }
    }
    /* idx[pc]: where the first kept instruction at or after pc lands. A dropped jump
     * at pc had nothing kept before its target, so jumping to it means landing there. */
    size_t m = 0;
    for (size_t pc = 0; pc < c->n; pc++)
        if (keep[pc])
            m++;
    for (size_t pc = c->n, k = m; pc-- > 0;)
        idx[pc] = keep[pc] ? --k : k;
    struct bpf_eval_insn *out = malloc(m * sizeof *out);
    if (!out)
        return NULL;
    for (size_t pc = 0; pc < c->n; pc++) {
        if (!keep[pc])
            continue;
        struct bpf_eval_insn in = c->p[pc];
        if (CLS(in.code) == C_JMP) {
            int ja = (in.code & 0xf0) == J_JA;
            if (ja || c->dec[pc] >= 0) {
                size_t t = pc + 1 + (ja ? in.k : c->dec[pc] ? in.jt : in.jf);
                in = (struct bpf_eval_insn){JA, 0, 0, (uint32_t)(idx[t] - idx[pc] - 1)};
            } else {
                in.jt = (uint8_t)(idx[pc + 1 + in.jt] - idx[pc] - 1);
                in.jf = (uint8_t)(idx[pc + 1 + in.jf] - idx[pc] - 1);
            }
        }
        out[idx[pc]] = in;
    }
    *n_out = m;
    return out;
}

/* The leaf for the current run: one RET, or the residual program. */
static struct bpf_eval_insn *leaf_code(const struct ctx *c, size_t *n)
{
    if (c->res == RES_CONST) {
        struct bpf_eval_insn *r = malloc(sizeof *r);
        if (r)
            *r = (struct bpf_eval_insn){RET_K, 0, 0, c->res_value};
        *n = 1;
        return r;
    }
    return residual(c, n);
}

/* Binary search over leaves [i, j] on the value in A (JGE on each leaf's start).
 *
 * A leaf that is a single RET costs nothing where a jump can reach a shared copy: a
 * subtree of at most 256 instructions is laid out as its comparisons (and any residual
 * leaves) in pre-order followed by a pool with one RET per distinct value, and its
 * jumps go straight to the pool. That halves the length (k leaves: k-1 comparisons
 * plus a few RETs instead of 2k-1). A bigger tree is split at its root, a left half
 * beyond a conditional jump's 255 reach stepped over by a JA. */
#define POOL_MAX 16
#define POOLED_MAX 256 /* first comparison to last pool RET: an offset of at most 255 */

struct pool {
    uint32_t v[POOL_MAX];
    size_t n, at; /* at: index of the first pool RET */
};

static int is_ret(const struct leaf *f)
{
    return f->n == 1 && f->code[0].code == RET_K;
}

/* Comparisons and residual leaves of [i, j], without pool. */
static size_t nodes_size(const struct leaves *l, size_t i, size_t j)
{
    if (i == j)
        return is_ret(&l->v[i]) ? 0 : l->v[i].nexc ? l->v[i].nexc : l->v[i].n;
    size_t m = (i + j + 1) / 2;
    return 1 + nodes_size(l, i, m - 1) + nodes_size(l, m, j);
}

static int pool_add(struct pool *p, uint32_t v)
{
    size_t y = 0;
    while (y < p->n && p->v[y] != v)
        y++;
    if (y == p->n) {
        if (p->n == POOL_MAX)
            return -1;
        p->v[p->n++] = v;
    }
    return 0;
}

/* The distinct RET values of [i, j] (RET leaves, and the exceptions' values); -1 if over
 * POOL_MAX. */
static int pool_of(const struct leaves *l, size_t i, size_t j, struct pool *p)
{
    p->n = 0;
    for (size_t x = i; x <= j; x++) {
        const struct leaf *f = &l->v[x];
        if ((is_ret(f) || f->nexc) && pool_add(p, f->code[f->n - 1].k) < 0)
            return -1;
        for (size_t e = 0; e < f->nexc; e++)
            if (pool_add(p, f->code[2 * e + 1].k) < 0)
                return -1;
    }
    return 0;
}

static size_t pooled_size(const struct leaves *l, size_t i, size_t j, struct pool *p)
{
    if (pool_of(l, i, j, p) < 0)
        return SIZE_MAX;
    return nodes_size(l, i, j) + p->n;
}

static size_t pool_slot(const struct pool *p, uint32_t v)
{
    size_t y = 0;
    while (p->v[y] != v)
        y++;
    return p->at + y;
}

/* Pre-order comparisons of [i, j] at out[pos...]; returns the next free index. */
static size_t nodes_emit(const struct leaves *l, size_t i, size_t j, struct bpf_eval_insn *out, size_t pos,
                         const struct pool *p)
{
    const struct leaf *f = &l->v[i];
    if (i == j && f->nexc) { /* each "jeq nr" straight to the pool, the last one's else too */
        for (size_t e = 0; e < f->nexc; e++, pos++) {
            size_t other = e + 1 < f->nexc ? pos + 1 : pool_slot(p, f->code[f->n - 1].k);
            out[pos] = (struct bpf_eval_insn){C_JMP | J_JEQ, (uint8_t)(pool_slot(p, f->code[2 * e + 1].k) - pos - 1),
                                     (uint8_t)(other - pos - 1), f->code[2 * e].k};
        }
        return pos;
    }
    if (i == j) {
        if (!is_ret(f)) {
            memcpy(out + pos, f->code, f->n * sizeof *out);
            pos += f->n;
        }
        return pos;
    }
    size_t m = (i + j + 1) / 2, at = pos++, lt, rt;
    if (i == m - 1 && is_ret(&l->v[i])) {
        lt = pool_slot(p, l->v[i].code[0].k);
    } else {
        lt = pos;
        pos = nodes_emit(l, i, m - 1, out, pos, p);
    }
    if (m == j && is_ret(&l->v[j])) {
        rt = pool_slot(p, l->v[j].code[0].k);
    } else {
        rt = pos;
        pos = nodes_emit(l, m, j, out, pos, p);
    }
    out[at] = (struct bpf_eval_insn){JGE_K, (uint8_t)(rt - at - 1), (uint8_t)(lt - at - 1), l->v[m].start};
    return pos;
}

static size_t tree_size(const struct leaves *l, size_t i, size_t j)
{
    struct pool p;
    if (i == j)
        return l->v[i].n;
    size_t ps = pooled_size(l, i, j, &p);
    if (ps <= POOLED_MAX)
        return ps;
    size_t m = (i + j + 1) / 2, left = tree_size(l, i, m - 1);
    return 1 + (left > 255) + left + tree_size(l, m, j);
}

static struct bpf_eval_insn *tree_emit(const struct leaves *l, size_t i, size_t j, struct bpf_eval_insn *o)
{
    struct pool p;
    if (i == j) {
        memcpy(o, l->v[i].code, l->v[i].n * sizeof *o);
        return o + l->v[i].n;
    }
    size_t ps = pooled_size(l, i, j, &p);
    if (ps <= POOLED_MAX) {
        p.at = nodes_size(l, i, j);
        nodes_emit(l, i, j, o, 0, &p);
        for (size_t y = 0; y < p.n; y++)
            o[p.at + y] = (struct bpf_eval_insn){RET_K, 0, 0, p.v[y]};
        return o + ps;
    }
    size_t m = (i + j + 1) / 2, left = tree_size(l, i, m - 1);
    if (left <= 255) {
        *o++ = (struct bpf_eval_insn){JGE_K, (uint8_t)left, 0, l->v[m].start};
    } else {
        *o++ = (struct bpf_eval_insn){JGE_K, 0, 1, l->v[m].start};
        *o++ = (struct bpf_eval_insn){JA, 0, 0, (uint32_t)left};
    }
    o = tree_emit(l, i, m - 1, o);
    return tree_emit(l, m, j, o);
}

/* A syscall number alone between two intervals with the same RET (one call denied
 * among allowed neighbours, or the reverse) costs the search two boundaries. As an
 * exception of the merged interval it costs one "jeq nr" instead: the leaf becomes
 *     jeq #nr1 -> ret v1; jeq #nr2 -> ret v2; ...; ret base
 * (stored as standalone code, "jeq #nr, 0, 1; ret v" per exception; in a pooled
 * subtree each jeq goes straight to the pool, and the last one's else to the base's
 * RET there: nexc instructions where the intervals took 2 * nexc comparisons). At most
 * EXC_MAX per leaf: the kernel's allow-bitmap emulates the filter once per syscall
 * number per arch at load, so every step a number walks costs the load too. Measured on
 * amd64's default (min of 400 loads, before the arch chain below): 1 exception per leaf
 * 300 instructions 82 us, 2: 290 / 86 us, 8: 284 / 89 us, none: 359 / 100 us. */
#define EXC_MAX 1

static int leaf_base(const struct leaf *f, uint32_t *v)
{
    if (!is_ret(f) && !f->nexc)
        return 0;
    *v = f->code[f->n - 1].k;
    return 1;
}

static int with_exceptions(struct leaves *l)
{
    struct leaves out = {0};
    for (size_t i = 0; i < l->n;) {
        struct leaf cur = l->v[i];
        l->v[i].code = NULL;
        uint32_t base, next;
        size_t j = i + 1;
        /* absorb "single RET, then the base again" pairs */
        while (leaf_base(&cur, &base) && cur.nexc < EXC_MAX && j + 1 < l->n && is_ret(&l->v[j]) &&
               l->v[j + 1].start - l->v[j].start == 1 && is_ret(&l->v[j + 1]) &&
               leaf_base(&l->v[j + 1], &next) && next == base) {
            size_t n = 2 * (cur.nexc + 1) + 1;
            struct bpf_eval_insn *code = malloc(n * sizeof *code);
            if (!code) {
                free(cur.code);
                leaves_free(&out);
                return -1;
            }
            memcpy(code, cur.code, 2 * cur.nexc * sizeof *code);
            code[2 * cur.nexc] = (struct bpf_eval_insn){C_JMP | J_JEQ, 0, 1, l->v[j].start};
            code[2 * cur.nexc + 1] = l->v[j].code[0];
            code[n - 1] = (struct bpf_eval_insn){RET_K, 0, 0, base};
            free(cur.code);
            cur.code = code;
            cur.n = n;
            cur.nexc++;
            j += 2;
        }
        if (leaves_add(&out, cur.start, cur.code, cur.n) < 0) {
            leaves_free(&out);
            return -1;
        }
        out.v[out.n - 1].nexc = cur.nexc;
        i = j;
    }
    leaves_free(l);
    *l = out;
    return 0;
}

/* "LD key; search" as a new code block; a single leaf is just that leaf, unless it is an
 * exceptions leaf, which compares the key. */
static struct bpf_eval_insn *search_code(const struct leaves *l, uint32_t key_off, size_t *n)
{
    if (l->n == 1 && !l->v[0].nexc) { /* a RET, or a residual that loads what it needs */
        struct bpf_eval_insn *r = malloc(l->v[0].n * sizeof *r);
        if (r)
            memcpy(r, l->v[0].code, l->v[0].n * sizeof *r);
        *n = l->v[0].n;
        return r;
    }
    size_t sz = 1 + tree_size(l, 0, l->n - 1);
    struct bpf_eval_insn *r = malloc(sz * sizeof *r);
    if (!r)
        return NULL;
    r[0] = (struct bpf_eval_insn){LD_W_ABS, 0, 0, key_off};
    tree_emit(l, 0, l->n - 1, r + 1);
    *n = sz;
    return r;
}

/* The top of the program: which arch. The usual shape (a few single arch values with a
 * search each, every other arch one RET) is a chain of "jeq" in descending order, so
 * that a 64-bit native arch (AUDIT_ARCH_64BIT set) is tested first: two steps to its
 * search instead of a tree's three or four, for each of the ~450 numbers the kernel
 * emulates per arch at load. Any other shape: the tree. */
static struct bpf_eval_insn *arch_dispatch(const struct leaves *l, size_t *n)
{
    size_t blocks[16], nb = 0, other = SIZE_MAX;
    for (size_t i = 0; i < l->n; i++) {
        uint32_t end = i + 1 < l->n ? l->v[i + 1].start - 1 : UINT32_MAX;
        if (is_ret(&l->v[i]) && (other == SIZE_MAX || l->v[other].code[0].k == l->v[i].code[0].k))
            other = i;
        else if (end == l->v[i].start && nb < 16)
            blocks[nb++] = i;
        else
            return search_code(l, OFF_ARCH, n);
    }
    if (other == SIZE_MAX || nb == 0)
        return search_code(l, OFF_ARCH, n);
    for (size_t a = 1; a < nb; a++) /* descending arch value, by insertion */
        for (size_t b = a; b > 0 && l->v[blocks[b]].start > l->v[blocks[b - 1]].start; b--) {
            size_t t = blocks[b];
            blocks[b] = blocks[b - 1];
            blocks[b - 1] = t;
        }
    /* ld; per arch "jeq a, jt=block" (or "jeq a, 0, 1; ja block" when too far); ret
     * other; the blocks. A trampoline shifts every block after it, so the far flags are
     * settled by repeating the layout until they stop changing (they only ever turn on). */
    unsigned char far[16] = {0};
    size_t size = 0;
    for (int changed = 1; changed;) {
        size_t pos = 1, at;
        changed = 0;
        for (size_t a = 0; a < nb; a++)
            pos += 1 + far[a];
        at = pos + 1;
        pos = 1;
        for (size_t a = 0; a < nb; a++) {
            if (!far[a] && at - pos - 1 > 255)
                far[a] = 1, changed = 1;
            pos += 1 + far[a];
            at += l->v[blocks[a]].n;
        }
        size = at;
    }
    struct bpf_eval_insn *r = malloc(size * sizeof *r);
    if (!r)
        return NULL;
    size_t pos = 0, at = 2;
    for (size_t a = 0; a < nb; a++)
        at += 1 + far[a];
    r[pos++] = (struct bpf_eval_insn){LD_W_ABS, 0, 0, OFF_ARCH};
    for (size_t a = 0; a < nb; a++) {
        if (!far[a]) {
            r[pos] = (struct bpf_eval_insn){C_JMP | J_JEQ, (uint8_t)(at - pos - 1), 0, l->v[blocks[a]].start};
            pos++;
        } else {
            r[pos] = (struct bpf_eval_insn){C_JMP | J_JEQ, 0, 1, l->v[blocks[a]].start};
            r[pos + 1] = (struct bpf_eval_insn){JA, 0, 0, (uint32_t)(at - pos - 2)};
            pos += 2;
        }
        at += l->v[blocks[a]].n;
    }
    r[pos++] = l->v[other].code[0];
    for (size_t a = 0; a < nb; a++) {
        memcpy(r + pos, l->v[blocks[a]].code, l->v[blocks[a]].n * sizeof *r);
        pos += l->v[blocks[a]].n;
    }
    *n = pos;
    return r;
}

/* Edges of the intervals: where a difference would show. */
static int sample_values(const struct u32s *points, struct u32s *out)
{
    for (size_t i = 0; i < points->n; i++) {
        uint32_t b = points->v[i];
        if ((b && push(out, b - 1) < 0) || push(out, b) < 0 || (b != UINT32_MAX && push(out, b + 1) < 0))
            return -1;
    }
    if (push(out, UINT32_MAX) < 0)
        return -1;
    sort_unique(out);
    return 0;
}

/* Both programs on every sample (arch, nr); where the original's answer may depend on
 * the arguments (it differs between all-zero and all-one arguments, or the abstract run
 * finds more than one RET), on argument vectors made of every constant it compares with. */
static int self_check(struct ctx *c, const unsigned char *a, size_t na, const unsigned char *b,
                      size_t nb, struct err *e)
{
    struct u32s archs = {0}, nrs = {0}, ks = {0};
    int rc = -2;
    if (sample_values(&c->arch_points, &archs) < 0 || sample_values(&c->nr_points, &nrs) < 0)
        goto out;
    if (push(&ks, 0) < 0 || push(&ks, UINT32_MAX) < 0)
        goto out;
    for (size_t i = 0; i < c->n; i++)
        if (CLS(c->p[i].code) == C_JMP && (c->p[i].code & 0xf0) != J_JA && push(&ks, c->p[i].k) < 0)
            goto out;
    sort_unique(&ks);
    rc = 0;
    for (size_t ai = 0; ai < archs.n && rc == 0; ai++)
        for (size_t ni = 0; ni < nrs.n && rc == 0; ni++) {
            struct bpf_eval_data d = {.nr = nrs.v[ni], .arch = archs.v[ai]};
            uint32_t r0 = bpf_eval(a, na, &d);
            memset(d.args, 0xff, sizeof d.args);
            d.ip = UINT64_MAX;
            c->arch = d.arch;
            c->nr = d.nr;
            int full = bpf_eval(a, na, &d) != r0 || run(c) < 0 || c->res != RES_CONST;
            for (size_t ki = 0; ki < (full ? 3 * ks.n : 1) && rc == 0; ki++) {
                uint64_t k = ks.v[ki % ks.n], v = ki / ks.n == 0 ? k : ki / ks.n == 1 ? k << 32 | k : k << 32;
                for (int x = 0; x < 6; x++)
                    d.args[x] = full ? v : 0;
                d.ip = full ? v : 0;
                uint32_t ra = bpf_eval(a, na, &d), rb = bpf_eval(b, nb, &d);
                if (ra != rb) {
                    rc = err_set(e, "seccomp: internal error: compacted filter returns 0x%08x where "
                                    "libseccomp's returns 0x%08x (arch 0x%08x, nr %u, args 0x%llx); "
                                    "compile with --no-compact",
                                 rb, ra, d.arch, d.nr, (unsigned long long)d.args[0]);
                }
            }
        }
out:
    free(archs.v);
    free(nrs.v);
    free(ks.v);
    if (rc == -2)
        rc = err_set(e, "seccomp: out of memory");
    return rc;
}

/* Pass 1 (the interval starts) and pass 2 (a leaf per interval, equal neighbours
 * merged, per arch, then over arches) into *archs. Returns 0, 1 when the program is
 * outside what we handle, -1 when out of memory. */
static int analyse(struct ctx *c, struct leaves *archs)
{
    struct leaves nrs = {0};
    if (push(&c->nr_points, 0) < 0 || push(&c->arch_points, 0) < 0)
        return -1;
    if (run(c) < 0)
        return c->oom ? -1 : 1;
    sort_unique(&c->nr_points);
    sort_unique(&c->arch_points);
    c->known = 1;
    for (size_t ai = 0; ai < c->arch_points.n; ai++) {
        c->arch = c->arch_points.v[ai];
        for (size_t ni = 0; ni < c->nr_points.n; ni++) {
            size_t ln = 0;
            struct bpf_eval_insn *code;
            c->nr = c->nr_points.v[ni];
            if (run(c) < 0) {
                leaves_free(&nrs);
                return 1;
            }
            if (!(code = leaf_code(c, &ln)) || leaves_add(&nrs, c->nr, code, ln) < 0) {
                leaves_free(&nrs);
                return -1;
            }
        }
        size_t sn = 0;
        if (with_exceptions(&nrs) < 0) {
            leaves_free(&nrs);
            return -1;
        }
        struct bpf_eval_insn *code = search_code(&nrs, OFF_NR, &sn);
        leaves_free(&nrs);
        if (!code || leaves_add(archs, c->arch, code, sn) < 0)
            return -1;
    }
    return 0;
}

int seccomp_compact(const unsigned char *bpf, size_t len, unsigned char **out, size_t *out_len,
                    struct err *e)
{
    *out = NULL;
    *out_len = 0;
    err_clear(e);
    size_t n = len / 8, total = 0;
    if (n == 0 || n > MAX_INSNS || len % 8)
        return 0;
    cleanup_free struct bpf_eval_insn *p = malloc(n * sizeof *p);
    cleanup_free struct state *st = malloc(n * sizeof *st);
    cleanup_free unsigned *gen = calloc(n, sizeof *gen);
    cleanup_free signed char *dec = malloc(n);
    cleanup_free struct bpf_eval_insn *prog = NULL;
    cleanup_free unsigned char *raw = NULL;
    if (!p || !st || !gen || !dec)
        return err_set(e, "seccomp: out of memory");
    for (size_t i = 0; i < n; i++)
        p[i] = bpf_insn_decode(bpf + 8 * i);
    struct ctx c = {.p = p, .n = n, .st = st, .gen = gen, .dec = dec};
    struct leaves archs = {0};
    int rc = analyse(&c, &archs);
    if (rc == 0 && !(prog = arch_dispatch(&archs, &total)))
        rc = -1;
    leaves_free(&archs);
    if (rc == 0 && total < n) { /* else nothing to gain: keep libseccomp's */
        if (!(raw = malloc(total * 8))) {
            rc = -1;
        } else {
            for (size_t i = 0; i < total; i++)
                bpf_insn_encode(prog[i], raw + 8 * i);
            rc = self_check(&c, bpf, n, raw, total, e);
            if (rc == 0) {
                *out = steal_pointer(&raw);
                *out_len = total * 8;
                rc = 1;
            }
        }
    } else if (rc == 1) {
        rc = 0;
    }
    free(c.nr_points.v);
    free(c.arch_points.v);
    if (rc == -1 && !e->msg[0])
        return err_set(e, "seccomp: out of memory");
    return rc;
}
