/* builder/util/platform.h — the four platforms armlet builds for, and what each implies.
 *
 * A table, read-only, no allocation. platform_lookup("linux/arm/v7") returns the entry
 * or NULL for an unknown string. `dir` is the name used on disk for per-platform files
 * (out/<dir>/armlet-init, $PREFIX/lib/armlet/<dir>/, --sysroot keys).
 */
#ifndef ARMLET_PLATFORM_H
#define ARMLET_PLATFORM_H
#include <stddef.h>

struct platform {
    const char *oci;        /* "linux/arm/v7" */
    const char *os;         /* "linux" */
    const char *arch;       /* "arm" (GOARCH / OCI architecture) */
    const char *variant;    /* "v7", "v6" or "" */
    const char *dir;        /* "linux-arm-v7" */
    int elf_machine;        /* EM_X86_64, EM_AARCH64, EM_ARM */
    int elf_class;          /* ELFCLASS64 or ELFCLASS32 */
    int arm_arch_max;       /* highest Tag_CPU_arch allowed (ARM only; 0 = n/a) */
    const char *multiarch;  /* Debian triplet: "arm-linux-gnueabihf" */
    const char *qemu;       /* binfmt name: "qemu-arm", or NULL for native amd64 */
    const char *deb_arch;   /* Debian architecture: "armhf" (packages libc6:armhf) */
    const char *at_platform;/* the kernel's AT_PLATFORM on the platform's CPU, the loader's
                             * $PLATFORM: "v7l" (an ARMv7 kernel; a 64-bit ARM kernel shows
                             * 32-bit programs "v8l") */
};

/* How many platforms armlet builds for: the length of platform_table. For array sizes
 * known at compile time; loops use platform_count. */
#define PLATFORM_COUNT 4

/* platform_table's names, in its order, for messages ("known: " PLATFORM_NAMES). */
#define PLATFORM_NAMES "linux/amd64, linux/arm64, linux/arm/v7, linux/arm/v6"

extern const struct platform platform_table[];   /* PLATFORM_COUNT entries */
extern const size_t platform_count;   /* == PLATFORM_COUNT */

/* Entry for an OCI platform string, or NULL. */
const struct platform *platform_lookup(const char *oci);

#endif
