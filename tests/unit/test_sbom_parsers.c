/* tests/unit/test_sbom_parsers.c — the SBOM's parsers of untrusted input: Go build info
 * (builder/image/gobuildinfo.c) and a root's dpkg database (builder/image/dpkgdb.c). */
#include <stdlib.h>
#include <string.h>

#include "image/dpkgdb.h"
#include "image/gobuildinfo.h"
#include "../unit/unit.h"

/* A .go.buildinfo section in the inline form: header, version, framed module text. */
static size_t make_buildinfo(unsigned char *buf, const char *version, const char *mod)
{
    memset(buf, 0, 32);
    memcpy(buf, "\xff Go buildinf:", 14);
    buf[14] = 8;
    buf[15] = 2;
    size_t n = 32, vl = strlen(version), ml = strlen(mod) + 32;
    buf[n++] = (unsigned char)vl;
    memcpy(buf + n, version, vl);
    n += vl;
    buf[n++] = (unsigned char)(ml | 0x80);   /* two-byte varint */
    buf[n++] = (unsigned char)(ml >> 7);
    memset(buf + n, 'S', 16);
    memcpy(buf + n + 16, mod, ml - 32);
    memset(buf + n + ml - 16, 'E', 16);
    return n + ml;
}

static void test_go_modules_and_replacements(void)
{
    unsigned char buf[4096];
    size_t n = make_buildinfo(buf, "go1.19.8",
                              "path\texample.com/app\n"
                              "mod\texample.com/app\t(devel)\t\n"
                              "dep\texample.com/greet\tv1.2.3\th1:nkfTyfSo4Ucy0vyDG8k53X91Ew4sP1xzVckNqo7jvW4=\n"
                              "dep\texample.com/local\tv0.0.0\n"
                              "=>\t../local\t\n"
                              "build\tGOARCH=arm64\n");
    struct gobuildinfo bi;
    struct err e;
    err_clear(&e);
    CHECK(gobuildinfo_parse(buf, n, &bi, &e) == 1);
    CHECK_STR("go1.19.8", bi.go_version);
    CHECK_STR("example.com/app", bi.path);
    CHECK_STR("example.com/app", bi.main.path);
    CHECK_STR("(devel)", bi.main.version);
    CHECK(bi.main.sum == NULL);
    CHECK(bi.ndeps == 2);
    if (bi.ndeps == 2) {
        CHECK_STR("v1.2.3", bi.deps[0].version);
        CHECK_STR("h1:nkfTyfSo4Ucy0vyDG8k53X91Ew4sP1xzVckNqo7jvW4=", bi.deps[0].sum);
        CHECK_STR("../local", bi.deps[1].rpath);
        CHECK(bi.deps[1].rversion == NULL);
    }
    gobuildinfo_free(&bi);
}

static void test_go_buildinfo_truncated_or_foreign_is_not_go(void)
{
    unsigned char buf[4096];
    struct gobuildinfo bi;
    struct err e;
    err_clear(&e);
    size_t n = make_buildinfo(buf, "go1.19.8", "path\tx\n");
    for (size_t cut = 0; cut < n; cut++) {   /* every truncation: 0 or 1, never an overread */
        unsigned char *copy = malloc(cut + !cut);   /* exactly cut bytes: ASan sees an overread */
        if (!copy)
            continue;
        memcpy(copy, buf, cut);
        CHECK(gobuildinfo_parse(copy, cut, &bi, &e) >= 0);
        gobuildinfo_free(&bi);
        free(copy);
    }
    buf[15] = 0;   /* the pre-1.18 pointer form: not read, not guessed */
    CHECK(gobuildinfo_parse(buf, n, &bi, &e) == 0);
    buf[15] = 2;
    buf[32] = 0xff;   /* a varint running past the end */
    memset(buf + 33, 0xff, 10);
    CHECK(gobuildinfo_parse(buf, 43, &bi, &e) == 0);
}

static void test_dpkg_status_and_lists(void)
{
    char root[256], path[512];
    if (!unit_tmpdir(root, sizeof root, "test_sbom_parsers")) {
        CHECK(0);
        return;
    }
    snprintf(path, sizeof path, "%s/var", root), mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/var/lib", root), mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/var/lib/dpkg", root), mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/var/lib/dpkg/info", root), mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/var/lib/dpkg/status", root);
    unit_write_text(path,
                    "Package: libc6\nStatus: install ok installed\nArchitecture: arm64\n"
                    "Multi-Arch: same\nSource: glibc (2.36-9)\nVersion: 2.36-9+deb12u4\n"
                    "Description: GNU C Library\n shared libraries\n\n"
                    "Package: gone\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1\n\n"
                    "Package: broken\nStatus: install ok installed\n\n"
                    "Package: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2024a-0\n");
    snprintf(path, sizeof path, "%s/var/lib/dpkg/info/libc6:arm64.list", root);
    unit_write_text(path, "/.\n/lib\n/lib/aarch64-linux-gnu\n/lib/aarch64-linux-gnu/libc.so.6\n");
    snprintf(path, sizeof path, "%s/var/lib/dpkg/info/tzdata.list", root);
    unit_write_text(path, "/usr/share/zoneinfo/UTC\n");
    struct dpkgdb db;
    struct err e;
    err_clear(&e);
    CHECK(dpkgdb_load(root, &db, &e) == 0);
    CHECK(db.n == 2);   /* not installed and incomplete stanzas skipped */
    const struct dpkg_pkg *c = dpkgdb_package(&db, "libc6", NULL);
    CHECK(c != NULL);
    if (c) {
        CHECK_STR("glibc", c->source);
        CHECK_STR("2.36-9", c->source_version);
        CHECK_STR("2.36-9+deb12u4", c->version);
        CHECK(strstr(c->stanza, "Status:") == NULL);
        CHECK(strstr(c->stanza, " shared libraries\n") != NULL);
    }
    /* merged /usr: the library found under /usr/lib is the package's /lib one */
    const char *paths[] = {"/usr/lib/aarch64-linux-gnu/libc.so.6", "/usr/share/zoneinfo/UTC",
                           "/app"};
    const struct dpkg_pkg *own[3];
    CHECK(dpkgdb_owners(&db, paths, 3, own, &e) == 0);
    CHECK(own[0] == c);
    CHECK(own[1] && !strcmp(own[1]->package, "tzdata"));
    CHECK(own[2] == NULL);
    dpkgdb_free(&db);
    /* no database at all: empty, not an error */
    CHECK(dpkgdb_load("/nonexistent-root", &db, &e) == 0 && db.n == 0);
    dpkgdb_free(&db);
    unit_rm_tree(root);
}

int main(void)
{
    RUN(test_go_modules_and_replacements);
    RUN(test_go_buildinfo_truncated_or_foreign_is_not_go);
    RUN(test_dpkg_status_and_lists);
    return unit_done();
}
