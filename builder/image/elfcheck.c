/* builder/image/elfcheck.c — see elfcheck.h. Reads through elffile.h (bounds-checked pread of
 * each structure, every table capped); this file interprets what it reads: the dynamic
 * section, .ARM.attributes, .go.buildinfo, and the platform checks.
 */
#include "image/elfcheck.h"

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "image/elffile.h"

/* Cap for a section read into memory: far above anything a real program has. */
#define ELF_MAX_ATTRS (1u << 20)

/* Does the dynamic section p points at have a DT_NEEDED entry? */
static int has_needed(const struct elf_file *f, const struct elf_phdr *p, struct err *e)
{
    cleanup_free struct elf_dyn *dyn = NULL;
    size_t n;
    if (elf_file_dynamic(f, p, &dyn, &n, e) < 0)
        return ERR;
    for (size_t i = 0; i < n; i++)
        if (dyn[i].tag == DT_NEEDED)
            return 1;
    return 0;
}

/* ULEB128 at *p (bounded by end); returns ERR when it runs off the end or overflows. */
static int uleb(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; *p < end; shift += 7) {
        unsigned char b = *(*p)++;
        if (shift >= 64 || (shift == 63 && (b & 0x7e)))
            return ERR;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return ERR;
}

/* Skip a NUL-terminated string at *p; ERR when unterminated. */
static int skip_ntbs(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *nul = memchr(*p, '\0', (size_t)(end - *p));
    if (!nul)
        return ERR;
    *p = nul + 1;
    return 0;
}

/* Parse the attributes of one "aeabi" File sub-subsection [p, end). */
static int arm_file_attrs(const unsigned char *p, const unsigned char *end, struct elf_info *out)
{
    while (p < end) {
        uint64_t tag, val;
        if (uleb(&p, end, &tag) < 0)
            return ERR;
        /* Tag_CPU_raw_name (4) and Tag_CPU_name (5) are strings, Tag_compatibility (32)
         * is a number then a string; from 32 on, odd tags are strings, even numbers. */
        if (tag == 4 || tag == 5 || (tag > 32 && (tag & 1))) {
            if (skip_ntbs(&p, end) < 0)
                return ERR;
            continue;
        }
        if (uleb(&p, end, &val) < 0)
            return ERR;
        if (tag == 32 && skip_ntbs(&p, end) < 0)
            return ERR;
        int v = val > 1000 ? 1000 : (int)val;
        if (tag == 6)
            out->arm_arch = v;
        else if (tag == 10)
            out->arm_fp_arch = v;
        else if (tag == 12)
            out->arm_simd_arch = v;
        else if (tag == 9)
            out->arm_thumb = v;
    }
    return 0;
}

/* Parse a .ARM.attributes section: 'A', then subsections (u32 length, vendor name,
 * then sub-subsections: ULEB tag, u32 length, attributes). Only "aeabi" File
 * attributes (tag 1) are read: they describe the whole file. */
static int arm_attributes(const unsigned char *buf, size_t len, struct elf_info *out)
{
    if (len < 1 || buf[0] != 'A')
        return ERR;
    const unsigned char *p = buf + 1, *end = buf + len;
    while (p < end) {
        uint32_t slen;
        if ((size_t)(end - p) < 4)
            return ERR;
        memcpy(&slen, p, 4);
        if (slen < 4 || slen > (size_t)(end - p))
            return ERR;
        const unsigned char *sub = p + 4, *send = p + slen;
        p = send;
        const unsigned char *vendor = sub;
        if (skip_ntbs(&sub, send) < 0)
            return ERR;
        if (strcmp((const char *)vendor, "aeabi") != 0)
            continue;
        while (sub < send) {
            const unsigned char *start = sub;
            uint64_t tag;
            uint32_t ssl;
            if (uleb(&sub, send, &tag) < 0 || (size_t)(send - sub) < 4)
                return ERR;
            memcpy(&ssl, sub, 4);
            sub += 4;
            if (ssl < (size_t)(sub - start) || ssl > (size_t)(send - start))
                return ERR;
            const unsigned char *aend = start + ssl;
            if (tag == 1 && arm_file_attrs(sub, aend, out) < 0)
                return ERR;
            sub = aend;
        }
    }
    return 0;
}

/* .go.buildinfo (Go 1.18+, "inline" format: flag 0x2 at byte 15): a 32-byte header,
 * then the Go version and the module info as varint-length strings; the build settings
 * inside the latter ("build\tGOARM=7\n"). Go programs carry no .ARM.attributes, so their
 * ARM level comes from GOARM. Sets out->go_version ("go1.25.0"; "" when not found),
 * out->go_minor (25; -1) and out->go_arm (the GOARM digit; -1). Older formats (pointers
 * into the data segment) are left unknown. */
static void go_buildinfo(const unsigned char *buf, size_t len, struct elf_info *out)
{
    static const char magic[] = "\xff Go buildinf:", key[] = "\tGOARM=";
    if (len < 33 || memcmp(buf, magic, 14) != 0 || !(buf[15] & 2))
        return;
    size_t vlen = buf[32]; /* one varint byte: a version is shorter than 128 */
    if (vlen < 128 && vlen < sizeof out->go_version && 33 + vlen <= len &&
        !memchr(buf + 33, '\0', vlen)) {
        memcpy(out->go_version, buf + 33, vlen);
        out->go_version[vlen] = '\0';
        /* "go1.25.0", "go1.26rc1", "devel go1.26-abcdef ...": the number after "go1." */
        const char *g = strstr(out->go_version, "go1.");
        if (g && g[4] >= '0' && g[4] <= '9')
            out->go_minor = (int)strtol(g + 4, NULL, 10);
    }
    for (size_t i = 33; i + sizeof key - 1 < len; i++)
        if (!memcmp(buf + i, key, sizeof key - 1)) {
            unsigned char d = buf[i + sizeof key - 1];
            out->go_arm = d >= '5' && d <= '9' ? d - '0' : -1;
            return;
        }
}

/* Read a section's bytes (at most ELF_MAX_ATTRS) into a malloc'd buffer. */
static int read_section(const struct elf_file *f, const struct elf_shdr *sh, const char *what,
                        unsigned char **out, struct err *e)
{
    if (sh->size > ELF_MAX_ATTRS)
        return err_set(e, "%s: not a valid ELF file: %s of %llu bytes", f->path, what,
                       (unsigned long long)sh->size);
    return elf_file_table(f, sh->offset, sh->size, 1, what, (void **)out, e);
}

/* The section header table and the section name table (NULL, 0 when the file names
 * none) of f, which has section headers. Both malloc'd; the caller frees them. */
static int read_section_headers(const struct elf_file *f, unsigned char **sh, unsigned char **names,
                                size_t *names_len, struct err *e)
{
    *names_len = 0;
    if (elf_file_shdrs(f, sh, e) < 0)
        return ERR;
    if (f->shstrndx && f->shstrndx < f->shnum) {
        struct elf_shdr ns = elf_shdr_at(f, *sh, f->shstrndx);
        if (read_section(f, &ns, "section name table", names, e) < 0)
            return ERR;
        *names_len = (size_t)ns.size;
    }
    return 0;
}

/* True when section s is called name (its NUL included in the name table). */
static bool section_named(const struct elf_shdr *s, const unsigned char *names, size_t names_len,
                          const char *name)
{
    size_t want = strlen(name) + 1;
    return names && s->name < names_len && names_len - s->name >= want &&
           !memcmp(names + s->name, name, want);
}

/* A Go program's .go.buildinfo (any machine), and on ARM SHT_ARM_ATTRIBUTES; without
 * those, an ARM level from a Go program's GOARM (5 -> ARMv5TE, 6 -> ARMv6, 7 -> ARMv7).
 * Missing sections are no error. */
static int read_sections(const struct elf_file *f, struct elf_info *out, struct err *e)
{
    if (!f->shoff || !f->shnum)
        return 0;
    cleanup_free unsigned char *sh = NULL;
    cleanup_free unsigned char *names = NULL;
    size_t names_len;
    if (read_section_headers(f, &sh, &names, &names_len, e) < 0)
        return ERR;
    for (uint32_t i = 0; i < f->shnum; i++) {
        struct elf_shdr s = elf_shdr_at(f, sh, i);
        static const char go_name[] = ".go.buildinfo";
        cleanup_free unsigned char *buf = NULL;
        if (s.type == SHT_ARM_ATTRIBUTES && f->machine == EM_ARM) {
            if (read_section(f, &s, ".ARM.attributes", &buf, e) < 0)
                return ERR;
            if (s.size && arm_attributes(buf, (size_t)s.size, out) < 0)
                return err_set(e, "%s: not a valid ELF file: malformed .ARM.attributes", f->path);
        } else if (s.type == SHT_PROGBITS && section_named(&s, names, names_len, go_name)) {
            if (read_section(f, &s, go_name, &buf, e) < 0)
                return ERR;
            go_buildinfo(buf, (size_t)s.size, out);
        }
    }
    if (f->machine == EM_ARM && out->arm_arch < 0 && out->go_arm >= 5)
        out->arm_arch = out->go_arm == 5 ? 4 : out->go_arm == 6 ? 6 : 10;
    return 0;
}

static int read_info(struct elf_file *f, const char *path, struct elf_info *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->arm_arch = out->arm_fp_arch = out->arm_simd_arch = out->arm_thumb = out->go_arm = -1;
    out->go_minor = -1;
    int rc = elf_file_open(f, path, e);
    if (rc == ELF_FOREIGN)
        return ERR;
    if (rc <= 0)
        return rc;
    out->is_elf = 1;
    out->machine = f->machine;
    out->elf_class = f->cls;
    cleanup_free unsigned char *ph = NULL;
    if (elf_file_phdrs(f, &ph, e) < 0)
        return ERR;
    for (uint32_t i = 0; i < f->phnum; i++) {
        struct elf_phdr p = elf_phdr_at(f, ph, i);
        if (p.type == PT_LOAD && elf_phdr_in_file(f, &p, i, e) < 0)
            return ERR;
        if (p.type == PT_INTERP) {
            if (p.filesz == 0 || p.filesz > sizeof out->interp)
                return err_set(e, "%s: not a valid ELF file: interpreter name of %llu bytes", path,
                               (unsigned long long)p.filesz);
            if (elf_file_read(f, p.offset, out->interp, p.filesz, "interpreter name", e) < 0)
                return ERR;
            out->interp[sizeof out->interp - 1] = '\0';
            if (memchr(out->interp, '\0', (size_t)p.filesz) == NULL)
                return err_set(e, "%s: not a valid ELF file: interpreter name not terminated", path);
            out->is_dynamic = 1;
        } else if (p.type == PT_DYNAMIC && !out->is_dynamic) {
            int needed = has_needed(f, &p, e);
            if (needed < 0)
                return ERR;
            out->is_dynamic = needed;
        }
    }
    if (f->shoff && f->shnum &&
        (f->shoff > f->size || (uint64_t)f->shnum * f->shentsize > f->size - f->shoff))
        return err_set(e, "%s: not a valid ELF file: section header table lies beyond the end "
                       "of the file (%llu bytes; truncated?)", path, (unsigned long long)f->size);
    if (read_sections(f, out, e) < 0)
        return ERR;
    return 1;
}

int elf_read(const char *path, struct elf_info *out, struct err *e)
{
    struct elf_file f;
    int rc = read_info(&f, path, out, e);
    elf_file_close(&f);
    if (rc == 0)
        return err_set(e, "%s: not an ELF file", path);
    return rc < 0 ? ERR : 0;
}

const char *elf_machine_name(int machine, char buf[32])
{
    switch (machine) {
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "aarch64";
    case EM_ARM: return "arm";
    case EM_386: return "i386";
    case EM_RISCV: return "riscv";
    case EM_PPC64: return "ppc64";
    case EM_PPC: return "ppc";
    case EM_S390: return "s390x";
    case EM_MIPS: return "mips";
    case EM_LOONGARCH: return "loongarch";
    default:
        snprintf(buf, 32, "machine %d", machine);
        return buf;
    }
}

/* ARM architecture names by Tag_CPU_arch. */
static const char *arm_arch_name(int tag)
{
    static const char *const names[] = {
        "pre-ARMv4", "ARMv4", "ARMv4T", "ARMv5T", "ARMv5TE", "ARMv5TEJ", "ARMv6", "ARMv6KZ",
        "ARMv6T2", "ARMv6K", "ARMv7", "ARMv6-M", "ARMv6S-M", "ARMv7E-M", "ARMv8-A",
        "ARMv8-R", "ARMv8-M.base", "ARMv8-M.main", "ARMv8.1-M.main", "ARMv9-A",
    };
    if (tag >= 0 && (size_t)tag < sizeof names / sizeof names[0])
        return names[tag];
    return "a newer ARM architecture";
}

/* "linux/arm64 (aarch64, 64-bit)": the platform an ELF is built for, in words. */
static void describe(const struct elf_info *in, char *buf, size_t len)
{
    char mb[32];
    const char *bits = in->elf_class == ELFCLASS64 ? "64-bit" : "32-bit";
    const char *plat = NULL;
    if (in->machine == EM_X86_64 && in->elf_class == ELFCLASS64)
        plat = "linux/amd64";
    else if (in->machine == EM_AARCH64 && in->elf_class == ELFCLASS64)
        plat = "linux/arm64";
    else if (in->machine == EM_386)
        plat = "linux/386";
    if (in->machine == EM_ARM) {
        /* v6T2 and v7+ need an ARMv7 board; up to v6K an ARM1176 runs it */
        const char *p = in->arm_arch < 0 ? "linux/arm" :
                        in->arm_arch <= 7 || in->arm_arch == 9 ? "linux/arm/v6" : "linux/arm/v7";
        if (in->arm_arch < 0)
            snprintf(buf, len, "%s (arm, %s, no .ARM.attributes)", p, bits);
        else if (in->go_arm >= 0)
            snprintf(buf, len, "%s (Go GOARM=%d, %s, %s)", p, in->go_arm,
                     arm_arch_name(in->arm_arch), bits);
        else
            snprintf(buf, len, "%s (%s, %s)", p, arm_arch_name(in->arm_arch), bits);
    } else if (plat) {
        snprintf(buf, len, "%s (%s, %s)", plat, elf_machine_name(in->machine, mb), bits);
    } else {
        snprintf(buf, len, "%s, %s", elf_machine_name(in->machine, mb), bits);
    }
}

/* Why an ARM ELF does not run on an ARM1176 (ARMv6KZ, VFPv2, no NEON), or NULL.
 * Tag_THUMB_ISA_use is not checked: toolchains mark plain ARMv6 code (Debian's musl for
 * armel included) "Thumb-2 permitted", so it does not say Thumb-2 code is there. */
static const char *arm_v6_misfit(const struct elf_info *in, char *buf, size_t len)
{
    if (in->arm_arch == 8 || in->arm_arch > 9) {
        snprintf(buf, len, "%s code", arm_arch_name(in->arm_arch));
        return buf;
    }
    if (in->arm_fp_arch >= 3)
        return "VFPv3 or newer floating point";
    if (in->arm_simd_arch >= 1)
        return "NEON (Advanced SIMD) code";
    return NULL;
}

int elf_check(const char *path, const struct platform *p, int allow_dynamic,
              struct elf_info *out, struct err *e)
{
    struct elf_info local = {0};
    struct elf_info *in = out ? out : &local;
    struct elf_file f;
    int rc = read_info(&f, path, in, e);
    elf_file_close(&f);
    if (rc <= 0)
        return rc;   /* 0: not ELF, passes */
    char what[128];
    describe(in, what, sizeof what);
    if (in->machine != p->elf_machine || in->elf_class != p->elf_class)
        return err_set(e, "%s: ELF is %s, image platform is %s", path, what, p->oci);
    if (p->elf_machine == EM_ARM && in->arm_arch >= 0) {
        char why[64];
        const char *misfit = NULL;
        if (p->arm_arch_max && in->arm_arch > p->arm_arch_max) {
            snprintf(why, sizeof why, "%s code", arm_arch_name(in->arm_arch));
            misfit = why;
        } else if (!strcmp(p->variant, "v6"))
            misfit = arm_v6_misfit(in, why, sizeof why);
        if (misfit)
            return err_set(e, "%s: ELF is %s, image platform is %s (%s, which it cannot run: %s)",
                           path, what, p->oci,
                           !strcmp(p->variant, "v6") ? "ARM1176, ARMv6KZ" : "ARMv7", misfit);
    }
    if (in->is_dynamic && !allow_dynamic) {
        if (in->interp[0])
            return err_set(e, "%s: ELF for %s is dynamically linked (interpreter %s); add \"libs\" "
                           "to carry its libraries", path, p->oci, in->interp);
        return err_set(e, "%s: ELF for %s is dynamically linked (needs shared libraries); add "
                       "\"libs\" to carry its libraries", path, p->oci);
    }
    return 0;
}

int elf_load_segments(const char *path, struct elf_segment *segs, size_t max, size_t *n,
                      struct err *e)
{
    struct elf_file f;
    cleanup_free unsigned char *ph = NULL;
    *n = 0;
    int rc = elf_file_open(&f, path, e);
    if (rc == 0)
        rc = err_set(e, "%s: not an ELF file", path);
    else if (rc == ELF_FOREIGN)
        rc = ERR;
    if (rc > 0)
        rc = elf_file_phdrs(&f, &ph, e);
    for (uint32_t i = 0; rc >= 0 && i < f.phnum; i++) {
        struct elf_phdr p = elf_phdr_at(&f, ph, i);
        if (p.type != PT_LOAD)
            continue;
        if ((rc = elf_phdr_in_file(&f, &p, i, e)) < 0)
            break;
        if (*n < max)
            segs[*n] = (struct elf_segment){p.offset, p.filesz, p.vaddr, p.memsz, p.flags};
        (*n)++;
    }
    elf_file_close(&f);
    return rc < 0 ? ERR : 0;
}

int elf_section_read(const char *path, const char *name, unsigned char **buf, size_t *len,
                     struct err *e)
{
    struct elf_file f;
    cleanup_free unsigned char *sh = NULL;
    cleanup_free unsigned char *names = NULL;
    *buf = NULL;
    *len = 0;
    size_t names_len = 0;
    int rc = elf_file_open(&f, path, e);
    if (rc == ELF_FOREIGN) {   /* big-endian or unknown class: no section to read here */
        err_clear(e);
        rc = 0;
    }
    if (rc > 0 && (!f.shoff || !f.shnum || !f.shstrndx || f.shstrndx >= f.shnum))
        rc = 0;   /* no section headers (stripped with sstrip): nothing to find */
    if (rc > 0 && read_section_headers(&f, &sh, &names, &names_len, e) < 0)
        rc = ERR;
    for (uint32_t i = 0; rc > 0 && i < f.shnum; i++) {
        struct elf_shdr s = elf_shdr_at(&f, sh, i);
        if (s.type == SHT_NOBITS || !section_named(&s, names, names_len, name))
            continue;
        if (read_section(&f, &s, name, buf, e) < 0)
            rc = ERR;
        else
            *len = (size_t)s.size;
        break;
    }
    if (rc > 0 && !*buf)
        rc = 0;
    elf_file_close(&f);
    return rc;
}
