/* builder/recipe/recipe.c — the recipe parser (see recipe.h and docs/README-recipe.md).
 *
 * Two stages. The lexer cuts the buffer into logical lines of words the way a POSIX
 * shell splits words (quotes, backslashes, '#' comments at the start of a word,
 * backslash-newline continuation), keeping for each word its line, column and raw
 * byte span. The parser then dispatches on the first word through a table of
 * directives; each handler checks its arguments and stores them in struct recipe.
 * Every error carries "PATH:LINE:COL: DIRECTIVE:" with the column of the word at fault.
 */
#include "recipe/recipe.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "armlet_parse.h"
#include "armlet_shared.h"
#include "util/fdio.h"
#include "util/path.h"

/* A recipe bigger than this is certainly not a recipe. */
#define RECIPE_MAX_BYTES (4u << 20)

/* ------------------------------------------------------------------ lexer */

struct word {
    char *s;              /* unquoted text, NUL-terminated (never contains NUL) */
    int line, col;        /* where the word starts */
    size_t raw_start;     /* byte offsets of the word in the buffer */
    size_t raw_end;
    int bare_bracket;     /* first character is an unquoted '[' (JSON exec form) */
};

struct line {
    struct word *w;
    size_t n, cap;
};

struct lexer {
    const char *path;
    const char *buf;
    size_t len, pos;
    int line, col;
};

/* A backslash-newline the lexer removed: where (offset of the backslash) and how long
 * (2, or 3 for backslash-CR-LF). The JSON exec form re-reads the line's raw bytes and
 * drops these too, so a continued JSON array parses as the joined line. */
struct cont { size_t at, len; };

/* Keys seen in one list (env, label, expose), for duplicates in linear time: an open
 * addressing table of pointers to the stored keys (owned by the recipe) and the line
 * where each was set. */
struct keyset {
    struct keyslot { const char *key; int line; } *slot;
    size_t nslots, n;        /* nslots: 0 or a power of two, at most half full */
};

struct parser {
    struct lexer lx;
    struct recipe *r;
    struct err *e;
    const struct platform *plat;   /* expand ${os} ${arch} ${variant} for it, or NULL */
    const char *directive;  /* for error messages */
    struct cont *cont;      /* continuations of the current logical line */
    size_t ncont;
    struct keyset env_keys, label_keys, ports, annot_keys;
    /* Lines where single-valued directives were first seen (0 = not yet). */
    int seen_name, seen_platforms, seen_base, seen_user, seen_workdir, seen_entrypoint,
        seen_cmd, seen_stop_signal, seen_health, seen_sbom;
    int init_set[16];       /* line where each init key was set, by key index */
};

/* Grow *arr (of *n elements of size sz) by one zeroed element; returns it or NULL.
 * The capacity is implied: the next power of two >= *n, so the array is reallocated
 * only when *n is 0 or a power of two (amortised O(1) per element). */
static void *push(void *arrp, size_t *n, size_t sz)
{
    void **arr = arrp;
    if (*n >= SIZE_MAX / sz / 2)
        return NULL;
    char *a = *arr;
    if ((*n & (*n - 1)) == 0) {   /* 0, 1, 2, 4, ...: full */
        a = realloc(*arr, (*n ? *n * 2 : 1) * sz);
        if (!a)
            return NULL;
    }
    *arr = a;
    memset(a + *n * sz, 0, sz);
    return a + (*n)++ * sz;
}

/* Error at (line, col) of the recipe: "PATH:LINE:COL: DIRECTIVE: <fmt>". */
__attribute__((format(printf, 4, 5)))
static int perr_at(struct parser *p, int line, int col, const char *fmt, ...)
{
    char what[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (p->directive && p->plat)   /* an error only the expanded value has */
        return err_set(p->e, "%s:%d:%d: %s (%s): %s", p->lx.path, line, col, p->directive,
                       p->plat->oci, what);
    if (p->directive)
        return err_set(p->e, "%s:%d:%d: %s: %s", p->lx.path, line, col, p->directive, what);
    return err_set(p->e, "%s:%d:%d: %s", p->lx.path, line, col, what);
}
#define perr(p, w, ...) perr_at((p), (w)->line, (w)->col, __VA_ARGS__)

static int oom(struct parser *p)
{
    p->e->errnum = ENOMEM;
    return err_set(p->e, "%s: out of memory", p->lx.path);
}

static void line_clear(struct line *ln)
{
    for (size_t i = 0; i < ln->n; i++)
        free(ln->w[i].s);
    ln->n = 0;
}

static void line_free(struct line *ln)
{
    line_clear(ln);
    free(ln->w);
    ln->w = NULL;
    ln->cap = 0;
}

/* A growable string for the word being read. */
struct sbuf { char *s; size_t n, cap; };

static int sbuf_put(struct sbuf *b, char c)
{
    if (b->n + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        char *s = realloc(b->s, cap);
        if (!s)
            return ERR;
        b->s = s;
        b->cap = cap;
    }
    b->s[b->n++] = c;
    b->s[b->n] = '\0';
    return 0;
}

static int lx_peek(const struct lexer *lx, size_t ahead)
{
    return lx->pos + ahead < lx->len ? (unsigned char)lx->buf[lx->pos + ahead] : -1;
}

static void lx_advance(struct lexer *lx)
{
    if (lx->buf[lx->pos] == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->pos++;
}

/* At a backslash followed by a newline (or CR-LF): consume both and remember where they
 * were. Returns 1 when consumed, 0 when not at one, ERR on out of memory. */
static int lex_continuation(struct parser *p)
{
    struct lexer *lx = &p->lx;
    size_t len = lx_peek(lx, 1) == '\n' ? 2 : lx_peek(lx, 1) == '\r' && lx_peek(lx, 2) == '\n' ? 3 : 0;
    if (lx_peek(lx, 0) != '\\' || !len)
        return 0;
    struct cont *c = push(&p->cont, &p->ncont, sizeof *c);
    if (!c)
        return oom(p);
    *c = (struct cont){lx->pos, len};
    while (len--)
        lx_advance(lx);
    return 1;
}

/* Read one word starting at lx->pos (not whitespace, not '#', not EOF). */
static int lex_word(struct parser *p, struct word *w)
{
    struct lexer *lx = &p->lx;
    struct sbuf b = {0};
    w->line = lx->line;
    w->col = lx->col;
    w->raw_start = lx->pos;
    w->bare_bracket = lx_peek(lx, 0) == '[';
    if (sbuf_put(&b, '\0') < 0)    /* an empty word ("") is still a word */
        return oom(p);
    b.n = 0;
    for (;;) {
        int c = lx_peek(lx, 0);
        if (c < 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n')
            break;
        if (c == '\0') {
            free(b.s);
            return perr_at(p, lx->line, lx->col, "NUL byte in recipe");
        }
        if (c == '\\') {
            int d = lx_peek(lx, 1), k = lex_continuation(p);
            if (k != 0) {
                if (k < 0)
                    goto fail;
                continue;
            }
            if (d < 0) {
                free(b.s);
                return perr_at(p, lx->line, lx->col, "backslash at end of file");
            }
            if (d == '\0') {
                free(b.s);
                return perr_at(p, lx->line, lx->col + 1, "NUL byte in recipe");
            }
            lx_advance(lx);
            if (sbuf_put(&b, (char)d) < 0)
                goto nomem;
            lx_advance(lx);
            continue;
        }
        if (c == '\'' || c == '"') {
            int qline = lx->line, qcol = lx->col;
            lx_advance(lx);
            for (;;) {
                int d = lx_peek(lx, 0);
                if (d < 0 || d == '\n') {   /* quotes do not span lines */
                    free(b.s);
                    return perr_at(p, qline, qcol, "unterminated %s quote",
                                   c == '\'' ? "single" : "double");
                }
                if (d == '\0') {
                    free(b.s);
                    return perr_at(p, lx->line, lx->col, "NUL byte in recipe");
                }
                if (d == c) {
                    lx_advance(lx);
                    break;
                }
                if (c == '"' && d == '\\') {
                    int x = lx_peek(lx, 1), k = lex_continuation(p);
                    if (k != 0) {               /* continuation inside double quotes */
                        if (k < 0)
                            goto fail;
                        continue;
                    }
                    if (x == '$' || x == '`' || x == '"' || x == '\\') {
                        lx_advance(lx);
                        d = x;
                    }
                }
                if (sbuf_put(&b, (char)d) < 0)
                    goto nomem;
                lx_advance(lx);
            }
            continue;
        }
        if (sbuf_put(&b, (char)c) < 0)
            goto nomem;
        lx_advance(lx);
    }
    w->raw_end = lx->pos;
    w->s = b.s;
    return 0;
nomem:
    oom(p);
fail:
    free(b.s);
    return ERR;
}

/* Read the next logical line into ln (cleared first). Returns 1 when a line was read
 * (it may have no words), 0 at end of input, ERR on a lexical error. */
static int lex_line(struct parser *p, struct line *ln)
{
    struct lexer *lx = &p->lx;
    line_clear(ln);
    p->ncont = 0;
    if (lx->pos >= lx->len)
        return 0;
    for (;;) {
        int c = lx_peek(lx, 0);
        if (c < 0)
            return 1;
        if (c == '\n') {
            lx_advance(lx);
            return 1;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            lx_advance(lx);
            continue;
        }
        if (c == '#') {
            for (int d; (d = lx_peek(lx, 0)) >= 0 && d != '\n'; lx_advance(lx))
                if (d == '\0')
                    return perr_at(p, lx->line, lx->col, "NUL byte in recipe");
            continue;
        }
        if (c == '\0')
            return perr_at(p, lx->line, lx->col, "NUL byte in recipe");
        int k = lex_continuation(p);
        if (k < 0)
            return ERR;
        if (k > 0)
            continue;
        if (ln->n == ln->cap) {
            size_t cap = ln->cap ? ln->cap * 2 : 8;
            struct word *nw = realloc(ln->w, cap * sizeof *nw);
            if (!nw)
                return oom(p);
            ln->w = nw;
            ln->cap = cap;
        }
        struct word w = {0};
        if (lex_word(p, &w) < 0)
            return ERR;
        ln->w[ln->n++] = w;
    }
}

/* ------------------------------------------------------------------ value checks */

static char *xstrdup(struct parser *p, const char *s)
{
    char *d = strdup(s);
    if (!d)
        oom(p);
    return d;
}

/* Check the ${...} references of s: only ${os} ${arch} ${variant}. */
static int check_vars(struct parser *p, const char *s, int line, int col)
{
    for (const char *q = s; (q = strstr(q, "${")) != NULL; q += 2) {
        const char *end = strchr(q + 2, '}');
        int c = col + (int)(q - s);
        if (!end)
            return perr_at(p, line, c, "unterminated \"${\" (expected ${os}, ${arch} or ${variant})");
        size_t n = (size_t)(end - (q + 2));
        if (!((n == 2 && !strncmp(q + 2, "os", 2)) || (n == 4 && !strncmp(q + 2, "arch", 4)) ||
              (n == 7 && !strncmp(q + 2, "variant", 7))))
            return perr_at(p, line, c, "unknown variable \"%.*s\" (expected ${os}, ${arch} or ${variant})",
                           (int)(n + 3 > 200 ? 200 : n + 3), q);
    }
    return 0;
}

/* Parse a decimal unsigned number in [0, max]; the whole string. */
static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;
    if (!*s)
        return ERR;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return ERR;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return ERR;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* "root", "nonroot", "UID" or "UID:GID" (numeric; a lone UID gives GID = UID): the
 * init's --user grammar (common/armlet_parse.h). */
int recipe_parse_ids(const char *s, unsigned *uid, unsigned *gid)
{
    uint32_t u, g;
    if (armlet_parse_ids(s, &u, &g) != 0)
        return ERR;
    *uid = u;
    *gid = g;
    return 0;
}

/* Octal mode, at most 07777. */
static int parse_mode(const char *s, unsigned *mode)
{
    unsigned long long v = 0;
    if (!*s || strlen(s) > 5)
        return ERR;
    for (; *s; s++) {
        if (*s < '0' || *s > '7')
            return ERR;
        v = v * 8 + (unsigned)(*s - '0');
    }
    if (v > 07777)
        return ERR;
    *mode = (unsigned)v;
    return 0;
}

/* Durations, ratios and signals are read by armlet-init's own parsers
 * (common/armlet_parse.h): the recipe accepts exactly what the init does. */
static int parse_duration(const char *s, long long *ns)
{
    int64_t v;
    if (armlet_parse_duration(s, &v) != 0)
        return ERR;
    *ns = v;
    return 0;
}

/* A signal for stop-signal: the init's names and numbers, and the aliases Docker also
 * knows (IOT, CLD, POLL); 0 and the kernel's 32 and 33 are no stop signal. Returns 0
 * when unknown. */
static int parse_stop_signal(const char *s)
{
    static const struct { const char *name; int sig; } aliases[] = {
        {"IOT", 6}, {"SIGIOT", 6}, {"CLD", 17}, {"SIGCLD", 17}, {"POLL", 29}, {"SIGPOLL", 29},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcasecmp(s, aliases[i].name))
            return aliases[i].sig;
    int sig = armlet_parse_signal(s);
    return sig < 1 || (sig > 31 && sig < ARMLET_SIG_RTMIN) ? 0 : sig;
}

/* Absolute path in the image without a ".." component. */
static int check_dest(struct parser *p, const struct word *w, int may_be_root)
{
    const char *s = w->s;
    if (s[0] != '/')
        return perr(p, w, "destination \"%s\" must be an absolute path", s);
    for (const char *c = s; (c = strstr(c, "..")) != NULL; c += 2)
        if ((c == s || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
            return perr(p, w, "destination \"%s\" must not contain \"..\"", s);
    /* ".wh.NAME" in a layer is an OCI whiteout: unpacked, it deletes NAME (".wh..wh..opq"
     * a whole folder) instead of being a file. The tree refuses these too, after ${...}. */
    const char *wh = strstr(s, "/.wh.");
    if (wh)
        return perr_at(p, w->line, w->col + (int)(wh + 1 - s),
                       "destination \"%s\": \".wh.\" names are OCI whiteouts (unpacking would "
                       "delete files instead of adding this one)", s);
    if (!may_be_root) {
        size_t n = strlen(s);
        if (s[n - 1] == '/')
            return perr(p, w, "destination \"%s\" must name a file, not end in \"/\"", s);
    }
    return check_vars(p, s, w->line, w->col);
}

static int check_env_name(const char *s)
{
    return armlet_env_name_ok(s) == 0 ? 0 : ERR;
}

/* ------------------------------------------------------------------ storage helpers */

static struct recipe_loc loc_of(const struct parser *p, const struct word *w)
{
    struct recipe_loc l = {p->r->path, w->line, w->col};
    return l;
}

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    /* FNV's low bits (the ones a power-of-two table uses) barely depend on the last
     * characters of keys like K1..K120000: mix the high bits down (murmur3's finalizer). */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h;
}

/* The slot of key in ks: its entry, or the empty slot where it would go. */
static struct keyslot *keyset_slot(const struct keyset *ks, const char *key)
{
    size_t m = ks->nslots - 1;
    for (size_t i = hash_str(key) & m;; i = (i + 1) & m)
        if (!ks->slot[i].key || !strcmp(ks->slot[i].key, key))
            return &ks->slot[i];
}

/* Line where key was added to ks, or 0. */
static int keyset_line(const struct keyset *ks, const char *key)
{
    return ks->nslots ? keyset_slot(ks, key)->line : 0;
}

/* Add key (a string that outlives ks, not in ks yet) set on line. ERR on out of memory. */
static int keyset_add(struct keyset *ks, const char *key, int line)
{
    if ((ks->n + 1) * 2 > ks->nslots) {
        struct keyset big = {.nslots = ks->nslots ? ks->nslots * 2 : 64};
        if (!(big.slot = calloc(big.nslots, sizeof *big.slot)))
            return ERR;
        for (size_t i = 0; i < ks->nslots; i++)
            if (ks->slot[i].key)
                *keyset_slot(&big, ks->slot[i].key) = ks->slot[i];
        big.n = ks->n;
        free(ks->slot);
        *ks = big;
    }
    *keyset_slot(ks, key) = (struct keyslot){key, line};
    ks->n++;
    return 0;
}

static int need_args(struct parser *p, const struct line *ln, size_t min, size_t max,
                     const char *expected)
{
    size_t nargs = ln->n - 1;
    if (nargs < min)
        return perr(p, &ln->w[0], "missing argument: expected %s", expected);
    if (nargs > max)
        return perr(p, &ln->w[max + 1], "unexpected argument \"%s\": expected %s",
                    ln->w[max + 1].s, expected);
    return 0;
}

static int once(struct parser *p, const struct word *w, int *seen)
{
    if (*seen)
        return perr(p, w, "given twice (first on line %d)", *seen);
    *seen = w->line;
    return 0;
}

/* ------------------------------------------------------------------ directives */

static int d_name(struct parser *p, const struct line *ln)
{
    if (need_args(p, ln, 1, 1, "an image name") < 0 || once(p, &ln->w[0], &p->seen_name) < 0)
        return ERR;
    const struct word *w = &ln->w[1];
    const char *s = w->s;
    int ok = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9');
    for (; ok && *s; s++)
        ok = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' ||
             *s == '_' || *s == '-' || *s == '/';
    char last = s > w->s ? s[-1] : '\0';
    if (!ok || !((last >= 'a' && last <= 'z') || (last >= '0' && last <= '9')))
        return perr(p, w, "bad name \"%s\": expected lowercase letters, digits, '.', '_', '-', '/', "
                    "starting and ending with a letter or digit", w->s);
    return (p->r->name = xstrdup(p, w->s)) ? 0 : ERR;
}

static int d_platforms(struct parser *p, const struct line *ln)
{
    if (need_args(p, ln, 1, SIZE_MAX - 1, "one or more of linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6") < 0 ||
        once(p, &ln->w[0], &p->seen_platforms) < 0)
        return ERR;
    struct recipe *r = p->r;
    free(r->platforms);
    r->platforms = NULL;
    r->nplatforms = 0;
    for (size_t i = 1; i < ln->n; i++) {
        const struct platform *pl = platform_lookup(ln->w[i].s);
        if (!pl)
            return perr(p, &ln->w[i], "unknown platform \"%s\": expected linux/amd64, linux/arm64, "
                        "linux/arm/v7 or linux/arm/v6", ln->w[i].s);
        for (size_t j = 0; j < r->nplatforms; j++)
            if (r->platforms[j] == pl)
                return perr(p, &ln->w[i], "platform \"%s\" listed twice", ln->w[i].s);
        const struct platform **slot = push(&r->platforms, &r->nplatforms, sizeof *slot);
        if (!slot)
            return oom(p);
        *slot = pl;
    }
    return 0;
}

static int d_base(struct parser *p, const struct line *ln)
{
    if (need_args(p, ln, 1, 1, "static or scratch") < 0 || once(p, &ln->w[0], &p->seen_base) < 0)
        return ERR;
    if (!strcmp(ln->w[1].s, "static"))
        p->r->base = BASE_STATIC;
    else if (!strcmp(ln->w[1].s, "scratch"))
        p->r->base = BASE_SCRATCH;
    else
        return perr(p, &ln->w[1], "unknown base \"%s\": expected static or scratch", ln->w[1].s);
    return 0;
}

/* sbom on|off: the SPDX document, status.d entries and provenance (docs/README-sbom.md). */
static int d_sbom(struct parser *p, const struct line *ln)
{
    if (need_args(p, ln, 1, 1, "on or off") < 0 || once(p, &ln->w[0], &p->seen_sbom) < 0)
        return ERR;
    if (strcmp(ln->w[1].s, "on") && strcmp(ln->w[1].s, "off"))
        return perr(p, &ln->w[1], "\"%.100s\": expected on or off", ln->w[1].s);
    p->r->sbom_off = !strcmp(ln->w[1].s, "off");
    return 0;
}

/* file/dir/symlink/archive: DEST [SRC] then options allowed for the kind. */
static int add_entry(struct parser *p, const struct line *ln, enum recipe_entry_kind kind)
{
    static const char *const usage[] = {
        [ENTRY_FILE] = "DEST SRC [mode=OCTAL] [owner=UID:GID] [libs]",
        [ENTRY_DIR] = "DEST [mode=OCTAL] [owner=UID:GID]",
        [ENTRY_SYMLINK] = "LINK TARGET",
        [ENTRY_ARCHIVE] = "DEST SRC",
    };
    size_t npos = kind == ENTRY_DIR ? 1 : 2;
    size_t nopt = kind == ENTRY_FILE ? 3 : kind == ENTRY_DIR ? 2 : 0;
    if (need_args(p, ln, npos, npos + nopt, usage[kind]) < 0)
        return ERR;
    if (check_dest(p, &ln->w[1], kind == ENTRY_DIR || kind == ENTRY_ARCHIVE) < 0)
        return ERR;
    if (npos == 2) {
        const struct word *w = &ln->w[2];
        if (!w->s[0])
            return perr(p, w, "empty %s", kind == ENTRY_SYMLINK ? "link target" : "source");
        if (check_vars(p, w->s, w->line, w->col) < 0)
            return ERR;
    }
    struct recipe_entry ent = {.kind = kind, .loc = loc_of(p, &ln->w[1])};
    for (size_t i = npos + 1; i < ln->n; i++) {
        const struct word *w = &ln->w[i];
        if (!strncmp(w->s, "mode=", 5)) {
            if (ent.has_mode)
                return perr(p, w, "mode given twice");
            if (parse_mode(w->s + 5, &ent.mode) < 0)
                return perr(p, w, "bad mode \"%s\": expected octal digits, at most 07777", w->s + 5);
            ent.has_mode = 1;
        } else if (!strncmp(w->s, "owner=", 6)) {
            if (ent.has_owner)
                return perr(p, w, "owner given twice");
            if (recipe_parse_ids(w->s + 6, &ent.uid, &ent.gid) < 0)
                return perr(p, w, "bad owner \"%s\": expected UID:GID (numbers), UID, root or nonroot",
                            w->s + 6);
            ent.has_owner = 1;
        } else if (kind == ENTRY_FILE && !strcmp(w->s, "libs")) {
            if (ent.libs)
                return perr(p, w, "libs given twice");
            ent.libs = 1;
        } else {
            return perr(p, w, "unexpected argument \"%s\": expected %s", w->s, usage[kind]);
        }
    }
    struct recipe_entry *slot = push(&p->r->entries, &p->r->nentries, sizeof *slot);
    if (!slot)
        return oom(p);
    ent.dest = strdup(ln->w[1].s);
    ent.src = npos == 2 ? strdup(ln->w[2].s) : NULL;
    *slot = ent;
    if (!slot->dest || (npos == 2 && !slot->src))
        return oom(p);
    return 0;
}

static int d_file(struct parser *p, const struct line *ln) { return add_entry(p, ln, ENTRY_FILE); }
static int d_dir(struct parser *p, const struct line *ln) { return add_entry(p, ln, ENTRY_DIR); }
static int d_symlink(struct parser *p, const struct line *ln) { return add_entry(p, ln, ENTRY_SYMLINK); }
static int d_archive(struct parser *p, const struct line *ln) { return add_entry(p, ln, ENTRY_ARCHIVE); }

/* KEY=VALUE words into a kv list; keys unique within the list. */
static int add_kvs(struct parser *p, const struct line *ln, struct recipe_kv **list, size_t *n,
                   struct keyset *seen, int env_names)
{
    if (need_args(p, ln, 1, SIZE_MAX - 1, "KEY=VALUE ...") < 0)
        return ERR;
    for (size_t i = 1; i < ln->n; i++) {
        const struct word *w = &ln->w[i];
        const char *eq = strchr(w->s, '=');
        if (!eq || eq == w->s)
            return perr(p, w, "expected KEY=VALUE, got \"%s\"", w->s);
        size_t klen = (size_t)(eq - w->s);
        char *key = strndup(w->s, klen);
        if (!key)
            return oom(p);
        if (env_names && check_env_name(key) < 0) {
            int rc = perr(p, w, "bad variable name \"%s\": expected letters, digits and '_', "
                          "not starting with a digit", key);
            free(key);
            return rc;
        }
        int first = keyset_line(seen, key);
        if (first) {
            int rc = perr(p, w, "\"%s\" already set on line %d", key, first);
            free(key);
            return rc;
        }
        if (check_vars(p, eq + 1, w->line, w->col + (int)klen + 1) < 0) {
            free(key);
            return ERR;
        }
        struct recipe_kv *kv = push(list, n, sizeof *kv);
        if (!kv) {
            free(key);
            return oom(p);
        }
        kv->key = key;
        kv->loc = loc_of(p, w);
        if (!(kv->value = strdup(eq + 1)) || keyset_add(seen, key, w->line) < 0)
            return oom(p);
    }
    return 0;
}

static int d_env(struct parser *p, const struct line *ln)
{
    return add_kvs(p, ln, &p->r->env, &p->r->nenv, &p->env_keys, 1);
}

static int d_label(struct parser *p, const struct line *ln)
{
    return add_kvs(p, ln, &p->r->labels, &p->r->nlabels, &p->label_keys, 0);
}

/* annotation KEY=VALUE ...: OCI annotations of the manifests and the index (annotations.h) */
static int d_annotation(struct parser *p, const struct line *ln)
{
    return add_kvs(p, ln, &p->r->annotations, &p->r->nannotations, &p->annot_keys, 0);
}

static int d_user(struct parser *p, const struct line *ln)
{
    if (need_args(p, ln, 1, 1, "root, nonroot or UID[:GID]") < 0 || once(p, &ln->w[0], &p->seen_user) < 0)
        return ERR;
    if (recipe_parse_ids(ln->w[1].s, &p->r->uid, &p->r->gid) < 0)
        return perr(p, &ln->w[1], "bad user \"%s\": expected root, nonroot or UID[:GID] (numbers)",
                    ln->w[1].s);
    p->r->has_user = 1;
    return 0;
}

static int d_workdir(struct parser *p, const struct line *ln)
{
    if (need_args(p, ln, 1, 1, "an absolute path") < 0 || once(p, &ln->w[0], &p->seen_workdir) < 0)
        return ERR;
    if (check_dest(p, &ln->w[1], 1) < 0)
        return ERR;
    return (p->r->workdir = xstrdup(p, ln->w[1].s)) ? 0 : ERR;
}

/* The raw bytes [start, end) of the current line with its backslash-newlines removed
 * (the JSON exec form reads them: a continued array is one array). *len gets the length;
 * NULL on out of memory. */
static char *join_raw(const struct parser *p, size_t start, size_t end, size_t *len)
{
    char *out = malloc(end - start + 1);
    if (!out)
        return NULL;
    size_t n = 0, at = start;
    for (size_t i = 0; i < p->ncont; i++) {
        const struct cont *c = &p->cont[i];
        if (c->at < at || c->at >= end)
            continue;
        memcpy(out + n, p->lx.buf + at, c->at - at);
        n += c->at - at;
        at = c->at + c->len;
    }
    memcpy(out + n, p->lx.buf + at, end - at);
    n += end - at;
    out[n] = '\0';
    *len = n;
    return out;
}

/* Line and column in the file of the byte at buffer offset raw, in word w or after it. */
static void raw_pos(const struct parser *p, const struct word *w, size_t raw, int *line, int *col)
{
    if (raw > p->lx.len)
        raw = p->lx.len;
    *line = w->line;
    *col = w->col;
    for (size_t i = w->raw_start; i < raw; i++) {
        if (p->lx.buf[i] == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}

/* Line and column in the file of byte off of join_raw's text that starts at word w. */
static void raw_line_col(const struct parser *p, const struct word *w, size_t off, int *line,
                         int *col)
{
    size_t raw = w->raw_start + off;
    for (size_t i = 0; i < p->ncont; i++)   /* in order: each one moves the rest on */
        if (p->cont[i].at >= w->raw_start && p->cont[i].at <= raw)
            raw += p->cont[i].len;
    raw_pos(p, w, raw, line, col);
}

static char *expand_or_oom(struct parser *p, const char *s)
{
    struct err ignored;
    char *x = recipe_expand(s, p->plat, &ignored);
    if (!x)   /* check_vars has passed: only out of memory is left */
        oom(p);
    return x;
}

/* Allocate a NULL-terminated array for count strings; filled by the caller. */
static int store_argv(struct parser *p, char ***dst, size_t *n, size_t count)
{
    *dst = calloc(count + 1, sizeof **dst);
    if (!*dst)
        return oom(p);
    *n = 0;
    return 0;
}

/* entrypoint/cmd: JSON exec form ["/app","--x"] or shell words. */
static int d_argv(struct parser *p, const struct line *ln, char ***dst, size_t *n, int *seen)
{
    if (need_args(p, ln, 1, SIZE_MAX - 1, "PROGRAM [ARGS...] or [\"PROGRAM\", \"ARG\", ...]") < 0 ||
        once(p, &ln->w[0], seen) < 0)
        return ERR;
    const struct word *first = &ln->w[1];
    if (first->bare_bracket) {
        const struct word *last = &ln->w[ln->n - 1];
        size_t len = 0;
        char *text = join_raw(p, first->raw_start, last->raw_end, &len);
        if (!text)
            return oom(p);
        json_error_t je;
        json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        free(text);
        if (!doc) {
            int line, col;
            raw_line_col(p, first, je.position > 0 ? (size_t)je.position - 1 : 0, &line, &col);
            return perr_at(p, line, col, "bad JSON exec form: %s (expected [\"PROGRAM\", \"ARG\", ...])",
                           je.text);
        }
        if (!json_is_array(doc) || json_array_size(doc) == 0) {
            json_decref(doc);
            return perr(p, first, "expected a non-empty JSON array of strings");
        }
        size_t count = json_array_size(doc);
        if (store_argv(p, dst, n, count) < 0) {
            json_decref(doc);
            return ERR;
        }
        for (size_t i = 0; i < count; i++) {
            json_t *v = json_array_get(doc, i);
            if (!json_is_string(v)) {
                json_decref(doc);
                return perr(p, first, "element %zu of the JSON array is not a string", i + 1);
            }
            if (check_vars(p, json_string_value(v), first->line, first->col) < 0 ||
                !((*dst)[i] = p->plat ? expand_or_oom(p, json_string_value(v))
                                      : xstrdup(p, json_string_value(v)))) {
                json_decref(doc);
                return ERR;
            }
            (*n)++;
        }
        json_decref(doc);
        return 0;
    }
    if (store_argv(p, dst, n, ln->n - 1) < 0)
        return ERR;
    for (size_t i = 1; i < ln->n; i++) {
        if (check_vars(p, ln->w[i].s, ln->w[i].line, ln->w[i].col) < 0)
            return ERR;
        if (!((*dst)[i - 1] = xstrdup(p, ln->w[i].s)))
            return ERR;
        (*n)++;
    }
    return 0;
}

static int d_entrypoint(struct parser *p, const struct line *ln)
{
    return d_argv(p, ln, &p->r->entrypoint, &p->r->nentrypoint, &p->seen_entrypoint);
}

static int d_cmd(struct parser *p, const struct line *ln)
{
    return d_argv(p, ln, &p->r->cmd, &p->r->ncmd, &p->seen_cmd);
}

static int d_expose(struct parser *p, const struct line *ln)
{
    if (need_args(p, ln, 1, SIZE_MAX - 1, "PORT[/tcp|/udp|/sctp] ...") < 0)
        return ERR;
    for (size_t i = 1; i < ln->n; i++) {
        const struct word *w = &ln->w[i];
        char num[16], out[32];
        const char *slash = strchr(w->s, '/');
        const char *proto = slash ? slash + 1 : "tcp";
        size_t nlen = slash ? (size_t)(slash - w->s) : strlen(w->s);
        unsigned long long port;
        if (nlen >= sizeof num)
            return perr(p, w, "bad port \"%s\": expected 1-65535", w->s);
        memcpy(num, w->s, nlen);
        num[nlen] = '\0';
        if (parse_uint(num, 65535, &port) < 0 || port == 0)
            return perr(p, w, "bad port \"%s\": expected 1-65535", w->s);
        if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp"))
            return perr(p, w, "bad protocol \"%s\": expected tcp, udp or sctp", proto);
        snprintf(out, sizeof out, "%llu/%c%c%c%s", port, proto[0] | 0x20, proto[1] | 0x20,
                 proto[2] | 0x20, proto[3] ? "p" : "");
        int first = keyset_line(&p->ports, out);
        if (first)
            return perr(p, w, "port %s exposed twice (first on line %d)", out, first);
        char **slot = push(&p->r->expose, &p->r->nexpose, sizeof *slot);
        if (!slot || !(*slot = strdup(out)) || keyset_add(&p->ports, *slot, w->line) < 0)
            return oom(p);
    }
    return 0;
}

static int d_stop_signal(struct parser *p, const struct line *ln)
{
    if (need_args(p, ln, 1, 1, "a signal (SIGTERM, TERM or 15)") < 0 ||
        once(p, &ln->w[0], &p->seen_stop_signal) < 0)
        return ERR;
    int sig = parse_stop_signal(ln->w[1].s);
    if (sig <= 0)
        return perr(p, &ln->w[1], "unknown signal \"%s\": expected a name like SIGTERM, TERM or "
                    "RTMIN+3, or 1-31, 34-64", ln->w[1].s);
    char canon[16];
    return (p->r->stop_signal = xstrdup(p, armlet_signal_name(canon, sig))) ? 0 : ERR;
}

/* The URLs armlet-init's probe takes, by its own parser: http://HOST[:PORT][/PATH] and
 * tcp://HOST:PORT (the HOST is checked when the probe connects). */
static int health_url_ok(const char *url, const char **why)
{
    struct armlet_url t;
    return armlet_parse_probe_url(url, &t, why) == 0;
}

static int d_health(struct parser *p, const struct line *ln)
{
    if (need_args(p, ln, 1, 4, "URL [interval=DURATION] [timeout=DURATION] [retries=N]") < 0 ||
        once(p, &ln->w[0], &p->seen_health) < 0)
        return ERR;
    struct recipe_health *h = &p->r->health;
    const struct word *u = &ln->w[1];
    const char *why = "";
    if (!health_url_ok(u->s, &why))
        return perr(p, u, "bad URL \"%s\": expected http://HOST[:PORT]/PATH or tcp://HOST:PORT (%s)",
                    u->s, why);
    if (check_vars(p, u->s, u->line, u->col) < 0)
        return ERR;
    int got[3] = {0, 0, 0};
    for (size_t i = 2; i < ln->n; i++) {
        const struct word *w = &ln->w[i];
        const char *v = strchr(w->s, '=');
        int k = !v ? -1 : !strncmp(w->s, "interval=", 9) ? 0 : !strncmp(w->s, "timeout=", 8) ? 1
                : !strncmp(w->s, "retries=", 8) ? 2 : -1;
        if (k < 0)
            return perr(p, w, "unexpected argument \"%s\": expected interval=, timeout= or retries=", w->s);
        if (got[k]++)
            return perr(p, w, "%.*s given twice", (int)(v - w->s), w->s);
        v++;
        if (k == 2) {
            unsigned long long n;
            if (parse_uint(v, 1000000, &n) < 0)
                return perr(p, w, "bad retries \"%s\": expected a whole number", v);
            h->retries = (int)n;
        } else {
            long long ns;
            if (parse_duration(v, &ns) < 0 || ns <= 0)
                return perr(p, w, "bad duration \"%s\": expected e.g. 10s, 500ms, 1m, 2.5s", v);
            if (k == 0)
                h->interval_ns = ns;
            else
                h->timeout_ns = ns;
        }
    }
    return (h->url = xstrdup(p, u->s)) ? 0 : ERR;
}

/* init keys: armlet-init's long options (docs/DESIGN.md). */
enum init_value { IV_FLAG, IV_DURATION, IV_REWRITE, IV_EXITCODE, IV_CPU, IV_ENVNAME, IV_RATIO,
                  IV_NOFILE, IV_SECCOMP, IV_PRELOAD, IV_PROFILE_URL, IV_PROFILE_SECONDS };
static const struct init_key {
    const char *key;
    enum init_value type;
    int repeatable;
    const char *expected;
} init_keys[] = {
    {"pgroup", IV_FLAG, 0, "nothing, or yes/no"},
    {"grace", IV_DURATION, 0, "a duration (10s, 500ms)"},
    {"stop-delay", IV_DURATION, 0, "a duration (10s, 500ms)"},
    {"rewrite", IV_REWRITE, 1, "FROM:TO signals (e.g. TERM:QUIT, HUP:0; not KILL, STOP or CHLD)"},
    {"exit-zero", IV_EXITCODE, 1, "an exit code 0-255"},
    {"cpu", IV_CPU, 0, "floor, ceil, off, force or force-ceil"},
    {"cpu-env", IV_ENVNAME, 1, "an environment variable name"},
    {"memory", IV_RATIO, 0, "a ratio 0 < R <= 1, or off"},
    {"nofile", IV_NOFILE, 0, "a number, max or off"},
    {"seccomp", IV_SECCOMP, 0, "default, unconfined or a profile PATH"},
    {"preload", IV_PRELOAD, 0, "profile, entrypoint, none or a list PATH"},
    {"verbose", IV_FLAG, 0, "nothing, or yes/no"},
    /* not init flags: how the build's recording run tells the program is up */
    {"url", IV_PROFILE_URL, 0, "an http://HOST[:PORT]/PATH URL"},
    {"seconds", IV_PROFILE_SECONDS, 0, "seconds, 0 < N <= 3600 (e.g. 5, 2.5)"},
};
#define N_INIT_KEYS (sizeof init_keys / sizeof init_keys[0])
_Static_assert(N_INIT_KEYS <= sizeof ((struct parser *)0)->init_set / sizeof(int),
               "parser.init_set has a slot per init key");

static const struct { const char *key, *value; } init_defaults[] = {
    {"cpu", "floor"}, {"memory", "0.9"}, {"nofile", "max"}, {"seccomp", "default"},
    {"preload", "none"},
};
#define N_INIT_DEFAULTS (sizeof init_defaults / sizeof init_defaults[0])

/* Validate one init value; writes the value to store in *store (may point into v, or a
 * canonical constant/buffer) or NULL to store nothing (a flag set to "no"). */
static int check_init_value(const struct init_key *k, const char *v, char *buf, size_t bufsz,
                            const char **store)
{
    *store = v;
    switch (k->type) {
    case IV_FLAG:
        if (!v || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1")) {
            *store = "";
            return 0;
        }
        if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0")) {
            *store = NULL;
            return 0;
        }
        return ERR;
    case IV_DURATION: {
        long long ns;
        return v && parse_duration(v, &ns) == 0 ? 0 : ERR;
    }
    case IV_REWRITE: {
        int a, b;
        char from[16], to[16];
        if (!v || armlet_parse_rewrite(v, &a, &b) != 0)
            return ERR;
        snprintf(buf, bufsz, "%s:%s", armlet_signal_name(from, a), b ? armlet_signal_name(to, b) : "0");
        *store = buf;
        return 0;
    }
    case IV_EXITCODE: {
        uint64_t n;
        return v && armlet_parse_u64(v, 255, &n) == 0 ? 0 : ERR;
    }
    case IV_CPU:
        return v && (!strcmp(v, "floor") || !strcmp(v, "ceil") || !strcmp(v, "off") ||
                     !strcmp(v, "force") || !strcmp(v, "force-ceil")) ? 0 : ERR;
    case IV_ENVNAME:
        return v && check_env_name(v) == 0 ? 0 : ERR;
    case IV_RATIO: {
        uint32_t ppm;
        return v && (!strcmp(v, "off") || armlet_parse_ratio_ppm(v, &ppm) == 0) ? 0 : ERR;
    }
    case IV_NOFILE: {
        if (!v)
            return ERR;
        if (!strcmp(v, "max") || !strcmp(v, "off"))
            return 0;
        /* as the init: any count (above fs.nr_open it uses nr_open and says so) */
        uint64_t n;
        return armlet_parse_u64(v, UINT64_MAX, &n) == 0 && n > 0 ? 0 : ERR;
    }
    case IV_SECCOMP:
    case IV_PRELOAD:
        return v && *v ? 0 : ERR;
    case IV_PROFILE_URL: {
        struct armlet_url t;
        const char *why;
        return v && !strncmp(v, "http://", 7) && armlet_parse_probe_url(v, &t, &why) == 0
                   ? 0 : ERR;
    }
    case IV_PROFILE_SECONDS: {
        char *end;
        double d = v && *v ? strtod(v, &end) : 0;
        return v && *v && !*end && d > 0 && d <= 3600 ? 0 : ERR;
    }
    }
    return ERR;
}

static int set_init(struct parser *p, const char *key, const char *value, const struct word *w)
{
    struct recipe *r = p->r;
    struct recipe_kv *kv = NULL;
    /* The defaults are the first entries and keep their places: only those are looked
     * at, so a long init line stays linear. */
    for (size_t i = 0; i < r->ninit && i < N_INIT_DEFAULTS; i++)
        if (!strcmp(r->init[i].key, key) && r->init[i].loc.line == 0) {
            kv = &r->init[i];   /* a default: replaced in place, keeps its position */
            break;
        }
    if (!value) {               /* a flag turned off: nothing to pass */
        return 0;
    }
    if (kv) {
        char *v = strdup(value);
        if (!v)
            return oom(p);
        free(kv->value);
        kv->value = v;
    } else {
        kv = push(&r->init, &r->ninit, sizeof *kv);
        if (!kv)
            return oom(p);
        kv->key = strdup(key);
        kv->value = strdup(value);
        if (!kv->key || !kv->value)
            return oom(p);
    }
    if (w)
        kv->loc = loc_of(p, w);
    else
        kv->loc.file = r->path;   /* a default: line 0, col 0 */
    return 0;
}

static int d_init(struct parser *p, const struct line *ln)
{
    if (need_args(p, ln, 1, SIZE_MAX - 1, "KEY=VALUE ... (cpu= memory= nofile= seccomp= preload= grace= ...)") < 0)
        return ERR;
    for (size_t i = 1; i < ln->n; i++) {
        const struct word *w = &ln->w[i];
        const char *eq = strchr(w->s, '=');
        size_t klen = eq ? (size_t)(eq - w->s) : strlen(w->s);
        const char *val = eq ? eq + 1 : NULL;
        size_t k;
        for (k = 0; k < N_INIT_KEYS; k++)
            if (strlen(init_keys[k].key) == klen && !strncmp(init_keys[k].key, w->s, klen))
                break;
        if (k == N_INIT_KEYS) {
            if (klen == 4 && !strncmp(w->s, "user", 4))
                return perr(p, w, "set the init's user with the \"user\" directive");
            return perr(p, w, "unknown key \"%.*s\": expected pgroup, grace, stop-delay, rewrite, "
                        "exit-zero, cpu, cpu-env, memory, nofile, seccomp, preload, verbose, "
                        "url or seconds",
                        (int)(klen > 100 ? 100 : klen), w->s);
        }
        const struct init_key *ik = &init_keys[k];
        if (!ik->repeatable && p->init_set[k])
            return perr(p, w, "%s given twice (first on line %d)", ik->key, p->init_set[k]);
        p->init_set[k] = w->line;
        char buf[64];
        const char *store;
        if (check_init_value(ik, val, buf, sizeof buf, &store) < 0)
            return perr(p, w, "bad %s \"%s\": expected %s", ik->key, val ? val : "", ik->expected);
        if (val && check_vars(p, val, w->line, w->col + (int)klen + 1) < 0)
            return ERR;
        if (ik->type == IV_PROFILE_URL || ik->type == IV_PROFILE_SECONDS) {
            struct recipe_profile *pr = &p->r->profile;
            if (!pr->url && pr->seconds == 0)
                pr->loc = loc_of(p, w);
            if (ik->type == IV_PROFILE_SECONDS)
                pr->seconds = strtod(store, NULL);
            else if (!(pr->url = xstrdup(p, store)))
                return ERR;
            continue;
        }
        if (set_init(p, ik->key, store, w) < 0)
            return ERR;
    }
    return 0;
}

/* After the last line: url= and seconds= go with preload=profile, and ask for it when
 * preload= is not given (then failing to record fails the build, as with preload=profile
 * written out). Without them the default stays none, health URL or not: a recorded list
 * is opt-in because it is not reproducible for every program and did not make the SD
 * model faster (docs/README-coldstart.md, "Why the default is none"). */
static int profile_keys_ask_for_profile(struct parser *p)
{
    struct recipe *r = p->r;
    struct recipe_kv *kv = NULL;
    for (size_t i = 0; i < r->ninit && !kv; i++)
        if (!strcmp(r->init[i].key, "preload"))
            kv = &r->init[i];
    if (!kv)
        return 0;
    const struct recipe_profile *pr = &r->profile;
    int asked = pr->url || pr->seconds > 0;
    if (asked && kv->loc.line != 0 && strcmp(kv->value, "profile") != 0)
        return perr_at(p, pr->loc.line, pr->loc.col, "init: %s= goes with preload=profile, not "
                       "preload=%s (line %d)", pr->url ? "url" : "seconds", kv->value,
                       kv->loc.line);
    if (kv->loc.line != 0 || !asked)
        return 0;
    char *v = strdup("profile");
    if (!v)
        return oom(p);
    free(kv->value);
    kv->value = v;
    kv->loc = pr->loc;   /* asked for on the init line: failing to record is an error */
    return 0;
}

/* What happens to a directive's words before its handler sees them. */
enum {
    W_EXPAND = 1,   /* ${os} ${arch} ${variant} checked, and expanded for a platform */
    W_UTF8 = 2,     /* goes into the image config (JSON): must be UTF-8 */
};

static const struct directive {
    const char *name;
    int (*fn)(struct parser *, const struct line *);
    int words;
} directives[] = {
    {"name", d_name, 0}, {"platforms", d_platforms, 0}, {"base", d_base, 0},
    {"file", d_file, W_EXPAND}, {"dir", d_dir, W_EXPAND}, {"symlink", d_symlink, W_EXPAND},
    {"archive", d_archive, W_EXPAND}, {"env", d_env, W_EXPAND | W_UTF8},
    {"user", d_user, W_EXPAND | W_UTF8}, {"workdir", d_workdir, W_EXPAND | W_UTF8},
    {"entrypoint", d_entrypoint, W_EXPAND | W_UTF8}, {"cmd", d_cmd, W_EXPAND | W_UTF8},
    {"expose", d_expose, W_EXPAND | W_UTF8}, {"label", d_label, W_EXPAND | W_UTF8},
    {"annotation", d_annotation, W_EXPAND | W_UTF8},
    {"stop-signal", d_stop_signal, W_EXPAND | W_UTF8},
    {"health", d_health, W_EXPAND | W_UTF8}, {"init", d_init, W_EXPAND | W_UTF8},
    {"sbom", d_sbom, 0},
};

/* Offset of the first byte of s that is not part of a valid UTF-8 sequence (overlong
 * forms, surrogates and code points past U+10FFFF are invalid, as JSON requires), or
 * SIZE_MAX when s is valid. */
static size_t utf8_invalid_at(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; s[i];) {
        unsigned c = s[i];
        size_t n;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return i;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += n + 1;
    }
    return SIZE_MAX;
}

/* Error for word w, whose text is not UTF-8, at its first bad byte in the file (found in
 * the raw bytes: quotes and backslashes are ASCII and do not move it). */
static int not_utf8(struct parser *p, const struct word *w)
{
    size_t n = w->raw_end - w->raw_start, bad = SIZE_MAX;
    char *raw = strndup(p->lx.buf + w->raw_start, n);
    if (!raw)
        return oom(p);
    bad = utf8_invalid_at(raw);
    unsigned char byte = bad != SIZE_MAX ? (unsigned char)raw[bad] : 0;
    free(raw);
    int line = w->line, col = w->col;
    if (bad != SIZE_MAX)
        raw_pos(p, w, w->raw_start + bad, &line, &col);
    return perr_at(p, line, col, "text is not UTF-8 (byte 0x%02x): the image config holds UTF-8 only",
                   byte);
}

/* The checks and the expansion every word of a directive gets (see W_*). */
static int prepare_words(struct parser *p, const struct directive *d, struct line *ln)
{
    for (size_t i = 1; i < ln->n; i++) {
        struct word *w = &ln->w[i];
        if ((d->words & W_UTF8) && utf8_invalid_at(w->s) != SIZE_MAX)
            return not_utf8(p, w);
        if (!(d->words & W_EXPAND))
            continue;
        if (check_vars(p, w->s, w->line, w->col) < 0)
            return ERR;
        if (p->plat && strstr(w->s, "${")) {
            char *x = expand_or_oom(p, w->s);
            if (!x)
                return ERR;
            free(w->s);
            w->s = x;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ public */

void recipe_free(struct recipe *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->text);
    free(r->dir);
    free(r->name);
    free(r->platforms);
    for (size_t i = 0; i < r->nentries; i++) {
        free(r->entries[i].dest);
        free(r->entries[i].src);
    }
    free(r->entries);
    struct recipe_kv *lists[] = {r->env, r->labels, r->init, r->annotations};
    size_t counts[] = {r->nenv, r->nlabels, r->ninit, r->nannotations};
    for (size_t l = 0; l < 4; l++) {
        for (size_t i = 0; i < counts[l]; i++) {
            free(lists[l][i].key);
            free(lists[l][i].value);
        }
        free(lists[l]);
    }
    char **arrays[] = {r->expose, r->entrypoint, r->cmd};
    size_t acounts[] = {r->nexpose, r->nentrypoint, r->ncmd};
    for (size_t l = 0; l < 3; l++) {
        for (size_t i = 0; i < acounts[l]; i++)
            free(arrays[l][i]);
        free(arrays[l]);
    }
    free(r->workdir);
    free(r->stop_signal);
    free(r->health.url);
    free(r->profile.url);
    free(r);
}

static int parse_all(struct parser *p)
{
    struct line ln = {0};
    int rc;
    while ((rc = lex_line(p, &ln)) > 0) {
        if (ln.n == 0)
            continue;
        const struct directive *d = NULL;
        for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++)
            if (!strcmp(directives[i].name, ln.w[0].s))
                d = &directives[i];
        if (!d) {
            rc = perr(p, &ln.w[0], "unknown directive \"%.100s\": expected name, platforms, base, file, "
                      "dir, symlink, archive, env, user, workdir, entrypoint, cmd, expose, label, annotation, "
                      "stop-signal, health, init or sbom", ln.w[0].s);
            break;
        }
        p->directive = d->name;
        rc = prepare_words(p, d, &ln);
        if (rc == 0)
            rc = d->fn(p, &ln);
        p->directive = NULL;
        if (rc < 0)
            break;
    }
    line_free(&ln);
    return rc < 0 ? ERR : 0;
}

/* Parse buf; with plat, every ${...} of the words that carry them is expanded for plat
 * (recipe_for_platform), without, they are only checked. */
static int parse(const char *path, const char *buf, size_t len, const struct platform *plat,
                 struct recipe **out, struct err *e)
{
    *out = NULL;
    if (len > RECIPE_MAX_BYTES)   /* also keeps line and column numbers in an int */
        return err_set(e, "%s: not a recipe (bigger than 4 MiB)", path);
    struct recipe *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path)) || !(r->dir = path_dir(path)) ||
        !(r->text = malloc(len ? len : 1))) {
        recipe_free(r);
        e->errnum = ENOMEM;
        return err_set(e, "%s: out of memory", path);
    }
    if (len)
        memcpy(r->text, buf, len);
    r->text_len = len;
    struct parser p = {.lx = {.path = path, .buf = buf, .len = len, .line = 1, .col = 1},
                       .r = r, .e = e, .plat = plat};
    int rc = ERR;
    /* A UTF-8 byte-order mark is not part of the first directive. */
    if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
        p.lx.pos = 3;
    r->base = BASE_STATIC;
    r->health.interval_ns = 30000000000LL;
    r->health.timeout_ns = 30000000000LL;
    r->health.retries = 3;
    for (size_t i = 0; i < sizeof init_defaults / sizeof init_defaults[0]; i++)
        if (set_init(&p, init_defaults[i].key, init_defaults[i].value, NULL) < 0)
            goto fail;
    if (parse_all(&p) < 0 || profile_keys_ask_for_profile(&p) < 0)
        goto fail;
    if (!r->name) {
        err_set(e, "%s: missing \"name\" line: every recipe names its image", path);
        goto fail;
    }
    if (!r->nentrypoint && !r->ncmd) {
        err_set(e, "%s: missing \"entrypoint\" (or \"cmd\") line: what should the image run?", path);
        goto fail;
    }
    if (!r->nplatforms) {
        r->platforms = calloc(platform_count, sizeof *r->platforms);
        if (!r->platforms) {
            oom(&p);
            goto fail;
        }
        for (size_t i = 0; i < platform_count; i++)
            r->platforms[i] = &platform_table[i];
        r->nplatforms = platform_count;
    }
    *out = r;
    r = NULL;
    rc = 0;
fail:
    recipe_free(r);
    free(p.cont);
    free(p.env_keys.slot);
    free(p.label_keys.slot);
    free(p.annot_keys.slot);
    free(p.ports.slot);
    return rc;
}

int recipe_parse_buffer(const char *path, const char *buf, size_t len, struct recipe **out,
                        struct err *e)
{
    return parse(path, buf, len, NULL, out, e);
}

int recipe_for_platform(const struct recipe *r, const struct platform *p, struct recipe **out,
                        struct err *e)
{
    return parse(r->path, r->text, r->text_len, p, out, e);
}

int recipe_parse_file(const char *path, struct recipe **out, struct err *e)
{
    *out = NULL;
    char *buf;
    size_t n;
    int rc = fdio_read_file(path, RECIPE_MAX_BYTES, &buf, &n);
    if (rc == FDIO_NOT_REGULAR) {
        struct stat st;
        return err_set(e, "%s: not a recipe (%s)", path,
                       stat(path, &st) == 0 && S_ISREG(st.st_mode) ? "bigger than 4 MiB"
                                                                   : "not a regular file");
    }
    if (rc < 0)   /* EIO: the file shrank while being read */
        return err_sys(e, errno, "%s: cannot %s recipe", path, errno == EIO ? "read" : "open");
    rc = recipe_parse_buffer(path, buf, n, out, e);
    free(buf);
    return rc;
}

char *recipe_expand(const char *s, const struct platform *p, struct err *e)
{
    size_t cap = strlen(s) + 1, n = 0;
    for (const char *q = s; (q = strstr(q, "${")) != NULL; q += 2)
        cap += 16;   /* the longest value ("linux", "amd64", "arm64", "v7") fits */
    char *out = malloc(cap);
    if (!out) {
        e->errnum = ENOMEM;
        err_set(e, "out of memory");
        return NULL;
    }
    while (*s) {
        if (s[0] == '$' && s[1] == '{') {
            const char *end = strchr(s + 2, '}');
            const char *val = NULL;
            size_t klen = end ? (size_t)(end - (s + 2)) : 0;
            if (end && klen == 2 && !strncmp(s + 2, "os", 2))
                val = p->os;
            else if (end && klen == 4 && !strncmp(s + 2, "arch", 4))
                val = p->arch;
            else if (end && klen == 7 && !strncmp(s + 2, "variant", 7))
                val = p->variant;
            if (!val) {
                free(out);
                if (!end)
                    err_set(e, "unterminated \"${\" (expected ${os}, ${arch} or ${variant})");
                else
                    err_set(e, "unknown variable \"%.*s\" (expected ${os}, ${arch} or ${variant})",
                            (int)(klen + 3 > 200 ? 200 : klen + 3), s);
                return NULL;
            }
            size_t vl = strlen(val);
            memcpy(out + n, val, vl);
            n += vl;
            s = end + 1;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    return out;
}

const char *recipe_init_get(const struct recipe *r, const char *key)
{
    for (size_t i = 0; i < r->ninit; i++)
        if (!strcmp(r->init[i].key, key))
            return r->init[i].value;
    return NULL;
}
