/* builder/image/gobuildinfo.c — see gobuildinfo.h. */
#include "image/gobuildinfo.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "image/elfcheck.h"

#define GO_MAGIC "\xff Go buildinf:"
#define GO_HEADER 32
#define GO_FLAG_INLINE 2

/* An unsigned LEB128 varint (Go's uvarint) at *p; 0 when it runs past end or overflows. */
static int uvarint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* A length-prefixed string at *p into a new C string; 0 when malformed, ERR on OOM. */
static int lp_string(const unsigned char **p, const unsigned char *end, char **out,
                     size_t *n, struct err *e)
{
    uint64_t len;
    if (!uvarint(p, end, &len) || len > (uint64_t)(end - *p))
        return 0;
    *out = strndup((const char *)*p, (size_t)len);
    if (!*out)
        return err_set(e, "out of memory");
    *n = (size_t)len;
    *p += len;
    return 1;
}

static void mod_free(struct gomod *m)
{
    free(m->path), free(m->version), free(m->sum);
    free(m->rpath), free(m->rversion), free(m->rsum);
    memset(m, 0, sizeof *m);
}

void gobuildinfo_free(struct gobuildinfo *bi)
{
    free(bi->go_version);
    free(bi->path);
    mod_free(&bi->main);
    for (size_t i = 0; i < bi->ndeps; i++)
        mod_free(&bi->deps[i]);
    free(bi->deps);
    memset(bi, 0, sizeof *bi);
}

/* "PATH\tVERSION[\tSUM]" fields of one line into the three strings (NULL when absent). */
static int fields(char *rest, char **path, char **version, char **sum, struct err *e)
{
    char *f[3] = {0};
    size_t n = 0;
    for (char *tok = rest; tok && n < 3; n++) {
        char *tab = strchr(tok, '\t');
        if (tab)
            *tab = '\0';
        f[n] = tok;
        tok = tab ? tab + 1 : NULL;
    }
    *path = f[0] && *f[0] ? strdup(f[0]) : NULL;
    *version = f[1] && *f[1] ? strdup(f[1]) : NULL;
    *sum = f[2] && *f[2] ? strdup(f[2]) : NULL;
    if ((f[0] && *f[0] && !*path) || (f[1] && *f[1] && !*version) || (f[2] && *f[2] && !*sum))
        return err_set(e, "out of memory");
    return *path ? 1 : 0;
}

/* The module-info text, line by line. */
static int parse_modinfo(char *text, struct gobuildinfo *bi, struct err *e)
{
    struct gomod *last = NULL;
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(ln, "path\t", 5)) {
            free(bi->path);
            if (!(bi->path = strdup(ln + 5)))
                return err_set(e, "out of memory");
        } else if (!strncmp(ln, "mod\t", 4)) {
            mod_free(&bi->main);
            if (fields(ln + 4, &bi->main.path, &bi->main.version, &bi->main.sum, e) < 0)
                return ERR;
            last = &bi->main;
        } else if (!strncmp(ln, "dep\t", 4)) {
            struct gomod *nd = realloc(bi->deps, (bi->ndeps + 1) * sizeof *nd);
            if (!nd)
                return err_set(e, "out of memory");
            bi->deps = nd;
            last = &nd[bi->ndeps++];
            memset(last, 0, sizeof *last);
            int rc = fields(ln + 4, &last->path, &last->version, &last->sum, e);
            if (rc < 0)
                return ERR;
            if (rc == 0)
                mod_free(last), bi->ndeps--, last = NULL;
        } else if (!strncmp(ln, "=>\t", 3) && last) {
            free(last->rpath), free(last->rversion), free(last->rsum);
            if (fields(ln + 3, &last->rpath, &last->rversion, &last->rsum, e) < 0)
                return ERR;
        }
    }
    return 0;
}

int gobuildinfo_parse(const unsigned char *buf, size_t len, struct gobuildinfo *bi,
                      struct err *e)
{
    memset(bi, 0, sizeof *bi);
    if (len < GO_HEADER || memcmp(buf, GO_MAGIC, sizeof GO_MAGIC - 1) ||
        !(buf[15] & GO_FLAG_INLINE))
        return 0;
    const unsigned char *p = buf + GO_HEADER, *end = buf + len;
    cleanup_free char *mod = NULL;
    size_t vlen = 0, mlen = 0;
    int rc = lp_string(&p, end, &bi->go_version, &vlen, e);
    if (rc > 0)
        rc = lp_string(&p, end, &mod, &mlen, e);
    if (rc <= 0 || !vlen) {
        gobuildinfo_free(bi);
        return rc;
    }
    /* The module text sits between two 16-byte sentinels (cmd/go's modinfo framing). */
    char *text = mod;
    if (mlen >= 33 && mod[mlen - 17] == '\n') {
        mod[mlen - 16] = '\0';
        text = mod + 16;
    }
    if (parse_modinfo(text, bi, e) < 0) {
        gobuildinfo_free(bi);
        return ERR;
    }
    return 1;
}

int gobuildinfo_read(const char *path, struct gobuildinfo *bi, struct err *e)
{
    memset(bi, 0, sizeof *bi);
    cleanup_free unsigned char *buf = NULL;
    size_t len = 0;
    int rc = elf_section_read(path, ".go.buildinfo", &buf, &len, e);
    if (rc <= 0)
        return rc;
    return gobuildinfo_parse(buf, len, bi, e);
}
