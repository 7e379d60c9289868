/* builder/image/libs.h — a dynamic program's shared-library closure, carried into an image.
 *
 * Lifecycle:
 *     struct libs_sysroots roots = {0};                             // every platform: "/"
 *     libs_sysroot_set(&roots, "linux/arm64=/srv/arm64-root", e);   // --sysroot, optional
 *     ...
 *     const struct platform *p = platform_lookup("linux/arm64");
 *     tree_add_file(t, "/usr/bin/jq", "dist/jq-arm64", 0755, 0, 0, e);
 *     libs_add(t, "dist/jq-arm64", "/usr/bin/jq", p, libs_sysroot(&roots, p), e);
 *
 * libs_add reads the program's PT_INTERP and DT_NEEDED (and DT_RUNPATH, or DT_RPATH when
 * there is no RUNPATH, with $ORIGIN), resolves every library recursively the way glibc's
 * loader does without an ld.so.cache: RPATH/RUNPATH, then the Debian multiarch folders
 * /lib/<triplet>, /usr/lib/<triplet>, then /lib, /usr/lib — all inside the platform's
 * sysroot ("/" unless --sysroot set one). A candidate of the wrong machine or class is
 * skipped, as the loader skips it.
 *
 * Each library and the loader land in the image at the path they have in the sysroot,
 * with every symlink met on the way kept as a symlink: on a merged-/usr system
 * /lib/aarch64-linux-gnu/libc.so.6 gives the nodes /lib -> usr/lib and
 * /usr/lib/aarch64-linux-gnu/libc.so.6; libfoo.so.6 -> libfoo.so.6.0.1 stays a link.
 * So the loader in the image finds them exactly where it would on the host. Absolute
 * symlink targets are read inside the sysroot, never on the host.
 *
 * Errors name the library and the object that needs it ("libonig.so.5 (needed by
 * /usr/lib/aarch64-linux-gnu/libjq.so.1) not found in sysroot / for linux/arm64 ...");
 * the caller adds the recipe's file:line:col. No function sets errno for the caller.
 */
#ifndef ARMLET_LIBS_H
#define ARMLET_LIBS_H
#include "util/error.h"
#include "util/platform.h"
#include "image/tree.h"

/* Each platform's sysroot (the --sysroot options), indexed like platform_table; NULL
 * stands for "/". Zero-initialised: every platform's is "/". */
struct libs_sysroots {
    const char *dir[PLATFORM_COUNT];
};

/* Parse "PLATFORM=DIR" (PLATFORM as linux/arm64 or linux-arm64) and set DIR as that
 * platform's sysroot in *s. DIR must be a folder. The string is kept by pointer (argv
 * lives long enough). Returns 0 or ERR. */
int libs_sysroot_set(struct libs_sysroots *s, const char *spec, struct err *e);

/* The sysroot for p in s: what libs_sysroot_set gave, else "/" (also when s is NULL).
 * Never NULL. */
const char *libs_sysroot(const struct libs_sysroots *s, const struct platform *p);

/* Carry the closure of the ELF program at host path src, which the image has at dest,
 * into t (see above), with the libraries and the loader taken from sysroot (a folder,
 * "/" for the host's own). A static program adds nothing. Returns the number of nodes
 * added (files and symlinks), or ERR with e naming the missing/broken library and who
 * needs it. */
int libs_add(struct tree *t, const char *src, const char *dest, const struct platform *p,
             const char *sysroot, struct err *e);
/* libs_add, and appends to order (when not NULL) each library's image path in the order
 * the loader maps them (breadth-first over DT_NEEDED). Run again on a tree that already
 * holds the closure, it adds nothing: the preload list uses it that way. */
struct strlist;
int libs_add_ordered(struct tree *t, const char *src, const char *dest,
                     const struct platform *p, const char *sysroot, struct strlist *order,
                     struct err *e);

#endif
