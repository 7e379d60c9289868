/* builder/image/elfcheck.h — what an ELF file is built for, and whether it fits an image platform.
 *
 * Lifecycle: none; each call opens the file, reads what it needs through elffile.h (bounds
 * checks on every offset: files may be truncated, corrupt or hostile), and closes it.
 *
 *     struct elf_info info;
 *     if (elf_check("dist/hello-arm64", platform_lookup("linux/arm/v7"), 0, &info, e) < 0)
 *         // e: "dist/hello-arm64: ELF is linux/arm64 (aarch64, 64-bit), image platform
 *         //     is linux/arm/v7"
 *
 * Only little-endian ELF is understood (every armlet platform is little-endian); a
 * big-endian ELF is refused with a message saying so. Only elf_section_read allocates
 * on the caller's behalf (*buf); no function sets errno for the caller (e->errnum has
 * the cause).
 *
 * Named elfcheck.h, not elf.h: a header of that name on an -I path (the builds use
 * -Ibuilder) would shadow the system <elf.h> that this module and util/platform.c include.
 */
#ifndef ARMLET_ELFCHECK_H
#define ARMLET_ELFCHECK_H
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"
#include "util/platform.h"

struct elf_info {
    int is_elf;          /* 0: not an ELF file (script, data); other fields are 0/-1/"" */
    int machine;         /* e_machine: EM_X86_64, EM_AARCH64, EM_ARM, ... */
    int elf_class;       /* ELFCLASS32 or ELFCLASS64 */
    int is_dynamic;      /* has PT_INTERP or DT_NEEDED: needs a loader / shared libraries */
    int arm_arch;        /* .ARM.attributes Tag_CPU_arch (6 = v6, 7 = v6KZ, 8 = v6T2,
                          * 9 = v6K, 10 = v7, 14 = v8), or -1 when absent / not ARM */
    int arm_fp_arch;     /* Tag_FP_arch (2 = VFPv2, 3 = VFPv3, ...), or -1 */
    int arm_simd_arch;   /* Tag_Advanced_SIMD_arch (0 none, 1+ NEON), or -1 */
    int arm_thumb;       /* Tag_THUMB_ISA_use (1 = Thumb-1, 2 = Thumb-2), or -1 */
    int go_arm;          /* a Go program's GOARM (5, 6, 7) from .go.buildinfo, or -1; Go
                          * emits no .ARM.attributes, so arm_arch is derived from it
                          * (5 -> 4 ARMv5TE, 6 -> 6 ARMv6, 7 -> 10 ARMv7) */
    char go_version[32]; /* a Go program's version from .go.buildinfo ("go1.25.0"), or "" */
    int go_minor;        /* its minor number (25 for go1.25.0), or -1: not Go, or a Go
                          * older than 1.18 (whose build info has no inline version) */
    char interp[256];    /* PT_INTERP, or "" */
};

/* Read the ELF header, program headers, dynamic section, a Go program's .go.buildinfo
 * and (ARM) .ARM.attributes of path into *out. Returns 0 for an ELF file (out->is_elf = 1), or ERR when it is not a
 * readable ELF file (cannot open, no ELF magic, truncated, corrupt, big-endian), with e
 * naming the path and what is wrong. */
int elf_read(const char *path, struct elf_info *out, struct err *e);

/* Check that path fits platform p: machine, class, and for 32-bit ARM the architecture
 * level (arm/v6 is an ARM1176, ARMv6KZ: v6T2 and v7+ code, VFPv3 and NEON are refused),
 * and that it is static unless allow_dynamic. A file that is not ELF (script, data)
 * passes: returns 0 with out->is_elf = 0. An ELF file that cannot be parsed is an error.
 * Error text names the file and both platforms. out may be NULL. */
int elf_check(const char *path, const struct platform *p, int allow_dynamic,
              struct elf_info *out, struct err *e);

/* One PT_LOAD segment: where its bytes are in the file, and where they are mapped. */
struct elf_segment {
    uint64_t offset, filesz;   /* file range */
    uint64_t vaddr, memsz;
    uint32_t flags;            /* PF_R | PF_W | PF_X */
};

/* List the PT_LOAD segments of ELF file path, in program-header order, into segs (room
 * for max); *n gets the total count (which may exceed max: only max are written).
 * Every segment's file range lies inside the file (checked). Returns 0 or ERR (not ELF,
 * corrupt). */
int elf_load_segments(const char *path, struct elf_segment *segs, size_t max, size_t *n,
                      struct err *e);

/* "aarch64", "x86-64", "arm", ... for an e_machine value; "machine 243" style for others
 * (written into buf, which must hold 32 bytes). */
const char *elf_machine_name(int machine, char buf[32]);

/* The bytes of section `name` (".go.buildinfo") of ELF file path: 1 and *buf (malloc'd,
 * caller frees) with *len, 0 when path is not ELF or has no such section, or it is empty
 * (or there are no section headers), ERR when the file is unreadable or corrupt.
 * Sections over 1 MiB are refused as corrupt. */
int elf_section_read(const char *path, const char *name, unsigned char **buf, size_t *len,
                     struct err *e);

#endif
