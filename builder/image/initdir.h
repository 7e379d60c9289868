/* builder/image/initdir.h — where the armlet-init binary for a platform comes from.
 *
 * Search order (docs/DESIGN.md, "Layout (top level)"; rule 5 is armlet's addition,
 * docs/README-build.md "Where the init comes from"), first hit wins:
 *   1. --init-dir DIR           DIR/<platform-dir>/armlet-init   (only this, when given)
 *   2. $ARMLET_INIT_DIR          same layout                       (only this, when set)
 *   3. beside the executable     dirname(/proc/self/exe)/<platform-dir>/armlet-init
 *                                (the build tree: out/armlet next to out/linux-arm64/)
 *   4. the install prefix        dirname(/proc/self/exe)/../lib/armlet/<platform-dir>/armlet-init
 *   5. one folder up             dirname(/proc/self/exe)/../<platform-dir>/armlet-init
 *                                (the ASan builder out/asan/armlet finds out/linux-arm64/)
 * <platform-dir> is platform->dir ("linux-arm-v7").
 * The module reads no environment: the command reads $ARMLET_INIT_DIR and passes it in
 * (build_opts.init_dir_env).
 */
#ifndef ARMLET_INITDIR_H
#define ARMLET_INITDIR_H
#include "util/error.h"
#include "util/platform.h"

/* Path of p's init (malloc'd, caller frees), or NULL with e naming every place tried.
 * init_dir is --init-dir and env_dir $ARMLET_INIT_DIR, each NULL (or "") when not given. */
char *initdir_find(const char *init_dir, const char *env_dir, const struct platform *p, struct err *e);

#endif
