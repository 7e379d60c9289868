/* builder/image/dpkgdb.h — which installed Debian package owns a file, from a root's dpkg
 * database, read without dpkg (the root may be a foreign-architecture sysroot).
 *
 *     struct dpkgdb db;
 *     dpkgdb_load("/srv/arm64-root", &db, e);           // ROOT/var/lib/dpkg/status
 *     const char *paths[] = {"/usr/lib/aarch64-linux-gnu/libjq.so.1.0.4"};
 *     const struct dpkg_pkg *own[1];
 *     dpkgdb_owners(&db, paths, 1, own, e);             // `dpkg -S` over info/ *.list
 *     ... own[0]->package "libjq1", own[0]->version, own[0]->source "jq" ...
 *     dpkgdb_free(&db);
 *
 * Only packages whose Status is "install ok installed" count. Paths match the way they
 * do on a merged-/usr system: /lib/x, /usr/lib/x (and bin, sbin, lib*) are one file, so
 * a library found at /usr/lib/<triplet> is owned by the package that lists
 * /lib/<triplet>. A root without a dpkg database is an empty database, not an error:
 * its files are simply of unknown origin. Files are read capped; a malformed stanza is
 * skipped, never guessed at.
 */
#ifndef ARMLET_DPKGDB_H
#define ARMLET_DPKGDB_H
#include <stddef.h>
#include "util/error.h"

struct dpkg_pkg {
    char *package, *arch, *version;
    char *source, *source_version;   /* Source: field ("src (ver)"), else package/version */
    char *stanza;                    /* the status stanza without its Status line, ending "\n" */
};

struct dpkg_owned;

struct dpkgdb {
    char *root;                      /* without a trailing '/': "" for "/" */
    struct dpkg_pkg *pkgs; size_t n;
    /* info/ *.list, read at the first dpkgdb_owners and kept: the lines, sorted */
    int indexed;
    char **texts; size_t ntexts;
    struct dpkg_owned *owned; size_t nowned;
};

/* Read ROOT/var/lib/dpkg/status. 0 (an absent file gives n = 0), or ERR. */
int dpkgdb_load(const char *root, struct dpkgdb *db, struct err *e);
void dpkgdb_free(struct dpkgdb *db);
/* The databases of a build by root, each loaded once (every platform shares the host's;
 * a sysroot serves its platforms): zero-initialise, get, free at the end. */
struct dpkgdb_set {
    struct dpkgdb **v; size_t n;
};
/* The database of root (loaded at the first call for it) in *db. 0 or ERR. */
int dpkgdb_set_get(struct dpkgdb_set *set, const char *root, struct dpkgdb **db,
                   struct err *e);
void dpkgdb_set_free(struct dpkgdb_set *set);
/* The installed package of that name (and architecture, unless arch is NULL), or NULL. */
const struct dpkg_pkg *dpkgdb_package(const struct dpkgdb *db, const char *name,
                                      const char *arch);
/* For each absolute path (as inside the root), its owner or NULL, from the info/ *.list
 * files, which the first call reads and indexes for the later ones. 0 or ERR (out of
 * memory, an unreadable info folder). */
int dpkgdb_owners(struct dpkgdb *db, const char *const *paths, size_t n,
                  const struct dpkg_pkg **owners, struct err *e);

#endif
