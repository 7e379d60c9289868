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

void dpkgdb_free(struct dpkgdb *db)
{
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
    struct dpkg_pkg *nv = realloc(db->pkgs, (db->n + 1) * sizeof *nv);
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

int dpkgdb_load(const char *root, struct dpkgdb *db, struct err *e)
{
    memset(db, 0, sizeof *db);
    size_t rl = strlen(root);
    while (rl && root[rl - 1] == '/')
        rl--;
    if (!(db->root = strndup(root, rl)))
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

int dpkgdb_owners(const struct dpkgdb *db, const char *const *paths, size_t n,
                  const struct dpkg_pkg **owners, struct err *e)
{
    for (size_t i = 0; i < n; i++)
        owners[i] = NULL;
    if (!db->n || !n)
        return 0;
    cleanup_json json_t *want = json_object();   /* merged path -> index into paths */
    if (!want)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (json_object_set_new(want, merged(paths[i]), json_integer((json_int_t)i)) < 0)
            return err_set(e, "out of memory");
    cleanup_free char *info = NULL;
    if (asprintf(&info, "%s/var/lib/dpkg/info", db->root) < 0)
        return err_set(e, "out of memory");
    DIR *d = opendir(info);
    if (!d)
        return err_sys(e, errno, "%s", info);
    /* readdir order differs between machines: sort the names so that when two packages
     * list one path (diversions), the same one wins everywhere. */
    struct dirent *de;
    struct strlist names = {0};
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".list") && strlist_add(&names, de->d_name, e) < 0) {
            closedir(d);
            strlist_free(&names);
            return ERR;
        }
    }
    closedir(d);
    qsort(names.v, names.n, sizeof *names.v, cmp_str);
    int rc = 0;
    for (size_t k = 0; k < names.n; k++) {
        const struct dpkg_pkg *pkg = list_owner(db, names.v[k]);
        cleanup_free char *lp = NULL, *text = NULL;
        size_t len = 0;
        if (!pkg || asprintf(&lp, "%s/%s", info, names.v[k]) < 0 ||
            fdio_read_file(lp, LIST_MAX, &text, &len) != 0)
            continue;
        char *save = NULL;
        for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
            json_t *ix = json_object_get(want, merged(ln));
            if (ix && !owners[json_integer_value(ix)])
                owners[json_integer_value(ix)] = pkg;
        }
    }
    strlist_free(&names);
    return rc;
}
