/* builder/image/gobuildinfo.h — the Go version and module list a Go program carries.
 *
 *     struct gobuildinfo bi;
 *     int rc = gobuildinfo_read("dist/app-arm64", &bi, e);   // 1 Go, 0 not Go, ERR
 *     ... bi.go_version "go1.19.8", bi.main.path, bi.deps[i].version, bi.deps[i].sum ...
 *     gobuildinfo_free(&bi);
 *
 * Read from the ELF section .go.buildinfo (elf_section_read), in the form Go 1.18 and
 * later write (strings inline after the 32-byte header: flags bit 2): the version
 * string, then the module info that `go version -m` prints ("path", "mod", "dep", "=>"
 * replacement and "build" lines). Older programs (pointers into the data segment) and
 * programs without the section give 0: nothing is guessed. The section is untrusted:
 * lengths are checked against it and a malformed one is 0 too, never an overread.
 */
#ifndef ARMLET_GOBUILDINFO_H
#define ARMLET_GOBUILDINFO_H
#include <stddef.h>
#include "util/error.h"

struct gomod {
    char *path, *version, *sum;     /* sum "h1:..." or NULL (a replaced dir module) */
    char *rpath, *rversion, *rsum;  /* the "=>" replacement, or NULL */
};

struct gobuildinfo {
    char *go_version;       /* "go1.19.8" */
    char *path;             /* main package path ("example.com/hello" or "command-line-arguments") */
    struct gomod main;      /* main module; path NULL when built outside a module */
    struct gomod *deps; size_t ndeps;   /* in the order the program lists them */
};

/* 1 with *bi filled (free with gobuildinfo_free), 0 when path is no Go program of a
 * known build-info form (*bi zeroed), ERR when the file cannot be read. */
int gobuildinfo_read(const char *path, struct gobuildinfo *bi, struct err *e);
/* Parse a .go.buildinfo section's bytes. 1, 0 (not of the inline form, malformed) or ERR
 * (out of memory). */
int gobuildinfo_parse(const unsigned char *buf, size_t len, struct gobuildinfo *bi,
                      struct err *e);
void gobuildinfo_free(struct gobuildinfo *bi);

#endif
