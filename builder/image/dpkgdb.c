/* builder/image/dpkgdb.c — see dpkgdb.h. */
#include "image/dpkgdb.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fdio.h"
#include "util/strlist.h"

#define STATUS_MAX (64u << 20)
#define LIST_MAX (16u << 20)

static void pkg_free(struct dpkg_pkg *p)
{
    free(p->package), free(p->arch), free(p->version);
    free(p->source), free(p->source_version), free(p->stanza);
}

static void index_free(struct dpkgdb *db);

void dpkgdb_free(struct dpkgdb *db)
{
    index_free(db);
    for (size_t i = 0; i < db->n; i++)
        pkg_free(&db->pkgs[i]);
    free(db->pkgs);
    free(db->root);
    memset(db, 0, sizeof *db);
}

/* Value of field `name` in stanza [s, end) (first line only, trimmed), malloc'd, or NULL. */
static char *field(const char *s, const char *end, const char *name)
{
    size_t nl = strlen(name);
    for (const char *ln = s; ln < end;) {
        const char *eol = memchr(ln, '\n', (size_t)(end - ln));
        if (!eol)
            eol = end;
        if ((size_t)(eol - ln) > nl && !strncmp(ln, name, nl) && ln[nl] == ':') {
            const char *v = ln + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
                ve--;
            return strndup(v, (size_t)(ve - v));
        }
        ln = eol + 1;
    }
    return NULL;
}

/* The stanza without its Status line (distroless's status.d entries have none). */
static char *stanza_copy(const char *s, const char *end)
{
    size_t n = (size_t)(end - s);
    char *out = malloc(n + 2), *o = out;
    if (!out)
        return NULL;
    for (const char *ln = s; ln < end;) {
        const char *eol = memchr(ln, '\n', (size_t)(end - ln));
        const char *next = eol ? eol + 1 : end;
        if (strncmp(ln, "Status:", 7)) {
            memcpy(o, ln, (size_t)(next - ln));
            o += next - ln;
        }
        ln = next;
    }
    if (o == out || o[-1] != '\n')
        *o++ = '\n';
    *o = '\0';
    return out;
}

/* One stanza; 1 when it is an installed package (appended), 0 when skipped, ERR on OOM. */
static int add_stanza(struct dpkgdb *db, const char *s, const char *end, struct err *e)
{
    cleanup_free char *status = field(s, end, "Status");
    if (!status || strcmp(status, "install ok installed"))
        return 0;
    struct dpkg_pkg p = {
        .package = field(s, end, "Package"), .arch = field(s, end, "Architecture"),
        .version = field(s, end, "Version"), .source = field(s, end, "Source"),
    };
    if (!p.package || !p.version || !p.arch) {
        pkg_free(&p);
        return 0;
    }
    /* "Source: glibc (2.36-9)": the source version differs from the binary's. */
    char *paren = p.source ? strchr(p.source, '(') : NULL;
    if (paren) {
        char *close = strchr(paren, ')');
        p.source_version = close ? strndup(paren + 1, (size_t)(close - paren - 1)) : NULL;
        while (paren > p.source && paren[-1] == ' ')
            paren--;
        *paren = '\0';
    }
    if (!p.source)
        p.source = strdup(p.package);
    if (!p.source_version)
        p.source_version = strdup(p.version);
    p.stanza = stanza_copy(s, end);
    /* The array doubles (64, 128, 256...: full exactly when n is one of them): growing it
     * one element at a time copied it ~1700 times per status file. */
    int full = db->n == 0 || (db->n >= 64 && !(db->n & (db->n - 1)));
    struct dpkg_pkg *nv = full ? realloc(db->pkgs, (db->n ? 2 * db->n : 64) * sizeof *nv) : db->pkgs;
    if (!p.source || !p.source_version || !p.stanza || !nv) {
        if (nv)
            db->pkgs = nv;
        pkg_free(&p);
        return err_set(e, "out of memory");
    }
    db->pkgs = nv;
    db->pkgs[db->n++] = p;
    return 1;
}

/* root without its trailing '/'s, as dpkgdb_load keeps it */
static size_t root_len(const char *root)
{
    size_t rl = strlen(root);
    while (rl && root[rl - 1] == '/')
        rl--;
    return rl;
}

int dpkgdb_load(const char *root, struct dpkgdb *db, struct err *e)
{
    memset(db, 0, sizeof *db);
    if (!(db->root = strndup(root, root_len(root))))
        return err_set(e, "out of memory");
    cleanup_free char *path = NULL, *text = NULL;
    size_t len = 0;
    if (asprintf(&path, "%s/var/lib/dpkg/status", db->root) < 0)
        return err_set(e, "out of memory");
    int rc = fdio_read_file(path, STATUS_MAX, &text, &len);
    if (rc < 0 && errno == ENOENT)
        return 0;
    if (rc < 0)
        return err_sys(e, errno, "%s", path);
    if (rc > 0)
        return err_set(e, "%s: not a regular file of at most %u bytes", path, STATUS_MAX);
    const char *end = text + len;
    for (const char *s = text; s < end;) {
        const char *blank = s;
        /* A stanza ends at an empty line (or the end). */
        const char *stop = end;
        while ((blank = memchr(blank, '\n', (size_t)(end - blank)))) {
            if (blank + 1 < end && blank[1] == '\n') {
                stop = blank + 1;
                break;
            }
            blank++;
        }
        if (add_stanza(db, s, stop, e) < 0)
            return ERR;
        s = stop;
        while (s < end && *s == '\n')
            s++;
    }
    return 0;
}

int dpkgdb_set_get(struct dpkgdb_set *set, const char *root, struct dpkgdb **db,
                   struct err *e)
{
    size_t rl = root_len(root);
    for (size_t i = 0; i < set->n; i++)
        if (strlen(set->v[i]->root) == rl && !strncmp(set->v[i]->root, root, rl)) {
            *db = set->v[i];
            return 0;
        }
    struct dpkgdb **nv = realloc(set->v, (set->n + 1) * sizeof *nv);
    if (!nv)
        return err_set(e, "out of memory");
    set->v = nv;
    if (!(nv[set->n] = calloc(1, sizeof **nv)))
        return err_set(e, "out of memory");
    if (dpkgdb_load(root, nv[set->n], e) < 0) {
        dpkgdb_free(nv[set->n]);
        free(nv[set->n]);
        return ERR;
    }
    *db = nv[set->n++];
    return 0;
}

void dpkgdb_set_free(struct dpkgdb_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        dpkgdb_free(set->v[i]);
        free(set->v[i]);
    }
    free(set->v);
    set->v = NULL, set->n = 0;
}

const struct dpkg_pkg *dpkgdb_package(const struct dpkgdb *db, const char *name,
                                      const char *arch)
{
    const struct dpkg_pkg *found = NULL;
    for (size_t i = 0; i < db->n; i++)
        if (!strcmp(db->pkgs[i].package, name) && (!arch || !strcmp(db->pkgs[i].arch, arch))) {
            if (found && !arch)
                return NULL;   /* several architectures: the .list name must say which */
            found = &db->pkgs[i];
        }
    return found;
}

/* The merged-/usr form of an absolute path: "/usr/lib/x" and "/lib/x" both "/lib/x". */
static const char *merged(const char *p)
{
    static const char *const dirs[] = {"/usr/bin/", "/usr/sbin/", "/usr/lib"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (!strncmp(p, dirs[i], strlen(dirs[i])))
            return p + 4;
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The package a "<pkg>[:<arch>].list" file belongs to, or NULL. */
static const struct dpkg_pkg *list_owner(const struct dpkgdb *db, const char *fname)
{
    size_t n = strlen(fname) - 5;   /* without ".list" */
    char name[256];
    if (n >= sizeof name)
        return NULL;
    memcpy(name, fname, n);
    name[n] = '\0';
    char *colon = strchr(name, ':');
    if (colon)
        *colon++ = '\0';
    return dpkgdb_package(db, name, colon);
}

/* One line of a .list file: a path (merged form, pointing into the list's text) and the
 * position of its list in name order (which package wins a path listed twice). */
struct dpkg_owned {
    const char *path;
    const struct dpkg_pkg *pkg;
    size_t list;
};

static int cmp_owned(const void *a, const void *b)
{
    const struct dpkg_owned *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->list > y->list) - (x->list < y->list);
}

static void index_free(struct dpkgdb *db)
{
    for (size_t i = 0; i < db->ntexts; i++)
        free(db->texts[i]);
    free(db->texts);
    free(db->owned);
    db->texts = NULL, db->ntexts = 0;
    db->owned = NULL, db->nowned = 0;
}

/* The names of info/ *.list, sorted: readdir order differs between machines, and when two
 * packages list one path (diversions) the same one must win everywhere. */
static int list_names(const char *info, struct strlist *names, struct err *e)
{
    DIR *d = opendir(info);
    if (!d)
        return err_sys(e, errno, "%s", info);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".list") && strlist_add(names, de->d_name, e) < 0) {
            closedir(d);
            return ERR;
        }
    }
    closedir(d);
    qsort(names->v, names->n, sizeof *names->v, cmp_str);
    return 0;
}

/* Read every info/ *.list once and sort its lines: a build asks for owners once per tree
 * and platform, and rescanning ~1000 files each time was most of a build's time. */
static int index_build(struct dpkgdb *db, struct err *e)
{
    cleanup_free char *info = NULL;
    if (asprintf(&info, "%s/var/lib/dpkg/info", db->root) < 0)
        return err_set(e, "out of memory");
    struct strlist names = {0};
    int rc = list_names(info, &names, e);
    size_t cap = 0;
    if (rc == 0 && names.n && !(db->texts = calloc(names.n, sizeof *db->texts)))
        rc = err_set(e, "out of memory");
    for (size_t k = 0; rc == 0 && k < names.n; k++) {
        const struct dpkg_pkg *pkg = list_owner(db, names.v[k]);
        cleanup_free char *lp = NULL;
        char *text = NULL;
        size_t len = 0;
        if (!pkg || asprintf(&lp, "%s/%s", info, names.v[k]) < 0 ||
            fdio_read_file(lp, LIST_MAX, &text, &len) != 0)
            continue;
        db->texts[db->ntexts++] = text;
        char *save = NULL;
        for (char *ln = strtok_r(text, "\n", &save); rc == 0 && ln; ln = strtok_r(NULL, "\n", &save)) {
            if (db->nowned == cap) {
                size_t ncap = cap ? 2 * cap : 4096;
                struct dpkg_owned *nv = realloc(db->owned, ncap * sizeof *nv);
                if (!nv) {
                    rc = err_set(e, "out of memory");
                    break;
                }
                db->owned = nv, cap = ncap;
            }
            db->owned[db->nowned++] = (struct dpkg_owned){merged(ln), pkg, k};
        }
    }
    strlist_free(&names);
    if (rc < 0) {
        index_free(db);
        return ERR;
    }
    if (db->nowned)
        qsort(db->owned, db->nowned, sizeof *db->owned, cmp_owned);
    db->indexed = 1;
    return 0;
}

/* The owner of merged path p: the first entry of p's run in the sorted index. */
static const struct dpkg_pkg *index_find(const struct dpkgdb *db, const char *p)
{
    size_t lo = 0, hi = db->nowned;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(db->owned[mid].path, p) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < db->nowned && !strcmp(db->owned[lo].path, p) ? db->owned[lo].pkg : NULL;
}

int dpkgdb_owners(struct dpkgdb *db, const char *const *paths, size_t n,
                  const struct dpkg_pkg **owners, struct err *e)
{
    for (size_t i = 0; i < n; i++)
        owners[i] = NULL;
    if (!db->n || !n)
        return 0;
    if (!db->indexed && index_build(db, e) < 0)
        return ERR;
    for (size_t i = 0; i < n; i++)
        owners[i] = index_find(db, merged(paths[i]));
    return 0;
}
