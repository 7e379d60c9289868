/* builder/image/elffile.h — the one ELF reader: bounds-checked reads of an ELF file's headers,
 * tables and strings. elfcheck.c (what a program is built for) and libs.c (the shared
 * libraries it needs) are its users.
 *
 * Lifecycle:
 *     struct elf_file f;
 *     int rc = elf_file_open(&f, path, e);        // 1 ELF, 0 not ELF, ELF_FOREIGN, ERR
 *     if (rc == 1) {
 *         unsigned char *ph, *sh;
 *         elf_file_phdrs(&f, &ph, e);             // malloc'd table, free() it
 *         struct elf_phdr p = elf_phdr_at(&f, ph, 0);
 *         elf_file_shdrs(&f, &sh, e);             // the same for section headers
 *         struct elf_shdr s = elf_shdr_at(&f, sh, 1);
 *         ...
 *     }
 *     elf_file_close(&f);                         // always, whatever open returned
 *
 * The file is never mapped or read whole: each structure is read with pread() after
 * checking that its range lies inside the file, and every table is capped
 * (ELF_MAX_TABLE), so a truncated, corrupt or hostile file costs at most a few MiB of
 * memory and never reads out of bounds. Only little-endian ELF is read (every armlet
 * platform is little-endian). Errors name the path and what is wrong ("not a valid ELF
 * file: ... lies beyond the end of the file (N bytes; truncated?)"); no function sets
 * errno for the caller (e->errnum has the cause).
 *
 * Named elffile.h, not elf.h: a header of that name on an -I path (the builds use
 * -Ibuilder) would shadow the system <elf.h> this reader is written against.
 */
#ifndef ARMLET_ELFFILE_H
#define ARMLET_ELFFILE_H
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

/* Caps for what is read into memory: far above anything a real program has. */
#define ELF_MAX_TABLE (4u << 20)

/* elf_file_open's answer for a file with the ELF magic that this reader cannot read (a
 * big-endian or unknown class / byte order): e says which. */
#define ELF_FOREIGN 2

/* An open ELF file and its header, widened to 64-bit fields. */
struct elf_file {
    const char *path;             /* kept by pointer, for messages */
    int fd;                       /* -1 when closed */
    uint64_t size;
    int cls;                      /* ELFCLASS32 / ELFCLASS64 */
    uint16_t type, machine;
    uint32_t flags;
    uint64_t phoff, shoff;
    uint16_t phentsize, shentsize;
    uint32_t phnum, shnum;        /* the real counts, also over 0xfffe entries */
    uint32_t shstrndx;            /* section holding section names, or 0 */
};

/* Open path and read its ELF header into *f. Returns 1 for a little-endian ELF file, 0
 * when the file does not start with the ELF magic (too short, script, data),
 * ELF_FOREIGN (e set) for an ELF file of another byte order or an unknown class, or ERR
 * (cannot open, not a regular file, corrupt header). f->fd may be open whatever the
 * result: call elf_file_close. */
int elf_file_open(struct elf_file *f, const char *path, struct err *e);

/* Close f's descriptor (idempotent). */
void elf_file_close(struct elf_file *f);

/* Read len bytes at file offset off into buf; the range must lie inside the file (what
 * names it in the error). Returns 0 or ERR. */
int elf_file_read(const struct elf_file *f, uint64_t off, void *buf, uint64_t len,
                  const char *what, struct err *e);

/* Read a table of count entries of entsize bytes at off into a malloc'd *out (NULL when
 * count is 0; the caller frees it). At most ELF_MAX_TABLE bytes. Returns 0 or ERR. */
int elf_file_table(const struct elf_file *f, uint64_t off, uint64_t count, uint64_t entsize,
                   const char *what, void **out, struct err *e);

/* One program header, widened. */
struct elf_phdr { uint32_t type, flags; uint64_t offset, vaddr, filesz, memsz; };

/* The program header table, malloc'd into *table (the caller frees it). Returns 0 or ERR. */
int elf_file_phdrs(const struct elf_file *f, unsigned char **table, struct err *e);

/* Entry i (< f->phnum) of a table from elf_file_phdrs. */
struct elf_phdr elf_phdr_at(const struct elf_file *f, const unsigned char *table, uint32_t i);

/* ERR (naming segment i) unless all of p's file bytes lie inside the file: a truncated
 * program fails here. */
int elf_phdr_in_file(const struct elf_file *f, const struct elf_phdr *p, uint32_t i,
                     struct err *e);

/* File offset of virtual address vaddr inside a PT_LOAD's file range, or UINT64_MAX. */
uint64_t elf_vaddr_offset(const struct elf_file *f, const unsigned char *phdrs, uint64_t vaddr);

/* One section header, widened. */
struct elf_shdr { uint32_t name, type, link, info; uint64_t offset, size; };

/* The section header table, malloc'd into *table (the caller frees it; NULL when the
 * file has none). Returns 0 or ERR. */
int elf_file_shdrs(const struct elf_file *f, unsigned char **table, struct err *e);

/* Entry i (< f->shnum) of a table from elf_file_shdrs. */
struct elf_shdr elf_shdr_at(const struct elf_file *f, const unsigned char *table, uint32_t i);

/* One dynamic section entry, widened. */
struct elf_dyn { int64_t tag; uint64_t val; };

/* The entries of the dynamic section that program header p (PT_DYNAMIC) points at, up to
 * DT_NULL, malloc'd into *out (the caller frees it; NULL when none), their count in *n.
 * Returns 0 or ERR. */
int elf_file_dynamic(const struct elf_file *f, const struct elf_phdr *p, struct elf_dyn **out,
                     size_t *n, struct err *e);

/* The NUL-terminated string at file offset off, which must end before off + limit (its
 * table's end) and fit in buf (size bytes). Returns 0, 1 when it does not (runs past its
 * table or the file, or is longer than size - 1), or ERR when the file cannot be read. */
int elf_file_string(const struct elf_file *f, uint64_t off, uint64_t limit, char *buf,
                    size_t size, struct err *e);

#endif
