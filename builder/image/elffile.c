/* builder/image/elffile.c — see elffile.h. Parses with <elf.h> structs by hand (no libelf). */
#include "image/elffile.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The one entry decoder for every table (program and section headers, dynamic
 * entries): the entry at `at` as the class's struct (T64 or T32; memcpy, as tables are
 * not aligned), widened into `out` by WIDEN(h). The field names are the same in both
 * layouts, only their widths and order differ. */
#define ELF_ENTRY(f, at, T64, T32, WIDEN, out)                              \
    do {                                                                    \
        if ((f)->cls == ELFCLASS64) {                                       \
            T64 h_;                                                         \
            memcpy(&h_, (at), sizeof h_);                                   \
            (out) = WIDEN(h_);                                              \
        } else {                                                            \
            T32 h_;                                                         \
            memcpy(&h_, (at), sizeof h_);                                   \
            (out) = WIDEN(h_);                                              \
        }                                                                   \
    } while (0)
#define PHDR_OF(h) ((struct elf_phdr){h.p_type, h.p_flags, h.p_offset, h.p_vaddr, h.p_filesz, h.p_memsz})
#define SHDR_OF(h) ((struct elf_shdr){h.sh_name, h.sh_type, h.sh_link, h.sh_info, h.sh_offset, h.sh_size})
#define DYN_OF(h)  ((struct elf_dyn){h.d_tag, h.d_un.d_val})

int elf_file_read(const struct elf_file *f, uint64_t off, void *buf, uint64_t len,
                  const char *what, struct err *e)
{
    if (off > f->size || len > f->size - off)
        return err_set(e, "%s: not a valid ELF file: %s (%llu bytes at offset %llu) lies "
                       "beyond the end of the file (%llu bytes; truncated?)", f->path, what,
                       (unsigned long long)len, (unsigned long long)off,
                       (unsigned long long)f->size);
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(f->fd, (char *)buf + done, (size_t)len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_sys(e, errno, "%s: cannot read", f->path);
        if (n == 0)
            return err_set(e, "%s: not a valid ELF file: file shrank while being read", f->path);
        done += (size_t)n;
    }
    return 0;
}

int elf_file_table(const struct elf_file *f, uint64_t off, uint64_t count, uint64_t entsize,
                   const char *what, void **out, struct err *e)
{
    *out = NULL;
    if (count == 0)
        return 0;
    if (entsize == 0 || count > ELF_MAX_TABLE / entsize)
        return err_set(e, "%s: not a valid ELF file: %s too large (%llu entries of %llu bytes)",
                       f->path, what, (unsigned long long)count, (unsigned long long)entsize);
    void *buf = malloc((size_t)(count * entsize));
    if (!buf) {
        e->errnum = ENOMEM;
        return err_set(e, "%s: out of memory", f->path);
    }
    if (elf_file_read(f, off, buf, count * entsize, what, e) < 0) {
        free(buf);
        return ERR;
    }
    *out = buf;
    return 0;
}

int elf_file_open(struct elf_file *f, const char *path, struct err *e)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return err_sys(e, errno, "%s: cannot open", path);
    struct stat st;
    if (fstat(f->fd, &st) < 0)
        return err_sys(e, errno, "%s: cannot stat", path);
    if (!S_ISREG(st.st_mode))
        return err_set(e, "%s: not a regular file", path);
    f->size = (uint64_t)st.st_size;
    unsigned char ident[EI_NIDENT];
    if (f->size < EI_NIDENT)
        return 0;
    if (elf_file_read(f, 0, ident, EI_NIDENT, "ELF identification", e) < 0)
        return ERR;
    if (memcmp(ident, ELFMAG, SELFMAG) != 0)
        return 0;
    if (ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64) {
        err_set(e, "%s: not a valid ELF file: unknown class %u", path, ident[EI_CLASS]);
        return ELF_FOREIGN;
    }
    if (ident[EI_DATA] != ELFDATA2LSB) {
        if (ident[EI_DATA] == ELFDATA2MSB)
            err_set(e, "%s: ELF is big-endian; every armlet platform is little-endian", path);
        else
            err_set(e, "%s: not a valid ELF file: unknown byte order %u", path, ident[EI_DATA]);
        return ELF_FOREIGN;
    }
    f->cls = ident[EI_CLASS];
    /* The same fields from either header layout, widened. */
#define ELF_TAKE_HEADER(T)                                                 \
    do {                                                                   \
        T h;                                                               \
        if (elf_file_read(f, 0, &h, sizeof h, "ELF header", e) < 0)        \
            return ERR;                                                    \
        f->type = h.e_type, f->machine = h.e_machine, f->flags = h.e_flags; \
        f->phoff = h.e_phoff, f->shoff = h.e_shoff;                        \
        f->phentsize = h.e_phentsize, f->shentsize = h.e_shentsize;        \
        f->phnum = h.e_phnum, f->shnum = h.e_shnum;                        \
        f->shstrndx = h.e_shstrndx;                                        \
    } while (0)
    if (f->cls == ELFCLASS64)
        ELF_TAKE_HEADER(Elf64_Ehdr);
    else
        ELF_TAKE_HEADER(Elf32_Ehdr);
#undef ELF_TAKE_HEADER
    size_t need_ph = f->cls == ELFCLASS64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    size_t need_sh = f->cls == ELFCLASS64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    if (f->phnum && f->phentsize < need_ph)
        return err_set(e, "%s: not a valid ELF file: program header entries of %u bytes",
                       path, f->phentsize);
    if (f->shoff && f->shentsize < need_sh)
        return err_set(e, "%s: not a valid ELF file: section header entries of %u bytes",
                       path, f->shentsize);
    /* Over 0xfffe entries, the real counts live in section header 0. */
    if (f->shoff && (f->shnum == 0 || f->phnum == PN_XNUM || f->shstrndx == SHN_XINDEX)) {
        unsigned char raw[sizeof(Elf64_Shdr)];
        if (elf_file_read(f, f->shoff, raw, need_sh, "section header 0", e) < 0)
            return ERR;
        struct elf_shdr sh0 = elf_shdr_at(f, raw, 0);   /* entry 0: shentsize not used */
        if (f->shnum == 0)
            f->shnum = sh0.size > UINT32_MAX ? UINT32_MAX : (uint32_t)sh0.size;
        if (f->phnum == PN_XNUM)
            f->phnum = sh0.info;
        if (f->shstrndx == SHN_XINDEX)
            f->shstrndx = sh0.link;
    }
    return 1;
}

void elf_file_close(struct elf_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

struct elf_phdr elf_phdr_at(const struct elf_file *f, const unsigned char *table, uint32_t i)
{
    struct elf_phdr p;
    ELF_ENTRY(f, table + (size_t)i * f->phentsize, Elf64_Phdr, Elf32_Phdr, PHDR_OF, p);
    return p;
}

struct elf_shdr elf_shdr_at(const struct elf_file *f, const unsigned char *table, uint32_t i)
{
    struct elf_shdr r;
    ELF_ENTRY(f, table + (size_t)i * f->shentsize, Elf64_Shdr, Elf32_Shdr, SHDR_OF, r);
    return r;
}

int elf_file_phdrs(const struct elf_file *f, unsigned char **table, struct err *e)
{
    return elf_file_table(f, f->phoff, f->phnum, f->phentsize, "program header table",
                          (void **)table, e);
}

int elf_file_shdrs(const struct elf_file *f, unsigned char **table, struct err *e)
{
    return elf_file_table(f, f->shoff, f->shnum, f->shentsize, "section header table",
                          (void **)table, e);
}

int elf_phdr_in_file(const struct elf_file *f, const struct elf_phdr *p, uint32_t i,
                     struct err *e)
{
    if (p->offset > f->size || p->filesz > f->size - p->offset)
        return err_set(e, "%s: not a valid ELF file: segment %u (%llu bytes at offset %llu) lies "
                       "beyond the end of the file (%llu bytes; truncated?)", f->path, i,
                       (unsigned long long)p->filesz, (unsigned long long)p->offset,
                       (unsigned long long)f->size);
    return 0;
}

uint64_t elf_vaddr_offset(const struct elf_file *f, const unsigned char *phdrs, uint64_t vaddr)
{
    for (uint32_t i = 0; phdrs && i < f->phnum; i++) {
        struct elf_phdr p = elf_phdr_at(f, phdrs, i);
        if (p.type == PT_LOAD && vaddr >= p.vaddr && vaddr - p.vaddr < p.filesz)
            return p.offset + (vaddr - p.vaddr);
    }
    return UINT64_MAX;
}

int elf_file_dynamic(const struct elf_file *f, const struct elf_phdr *p, struct elf_dyn **out,
                     size_t *n, struct err *e)
{
    *out = NULL;
    *n = 0;
    uint64_t ent = f->cls == ELFCLASS64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
    unsigned char *raw = NULL;
    uint64_t count = p->filesz / ent;
    if (elf_file_table(f, p->offset, count, ent, "dynamic section", (void **)&raw, e) < 0)
        return ERR;
    struct elf_dyn *d = count ? malloc((size_t)count * sizeof *d) : NULL;
    if (count && !d) {
        free(raw);
        e->errnum = ENOMEM;
        return err_set(e, "%s: out of memory", f->path);
    }
    size_t k = 0;
    for (uint64_t i = 0; i < count; i++) {
        struct elf_dyn x;
        ELF_ENTRY(f, raw + i * ent, Elf64_Dyn, Elf32_Dyn, DYN_OF, x);
        if (x.tag == DT_NULL)
            break;
        d[k++] = x;
    }
    free(raw);
    *out = d;
    *n = k;
    return 0;
}

int elf_file_string(const struct elf_file *f, uint64_t off, uint64_t limit, char *buf,
                    size_t size, struct err *e)
{
    if (off >= f->size || size == 0)
        return 1;
    uint64_t len = f->size - off;
    if (len > limit)
        len = limit;
    if (len > size)
        len = size;
    if (elf_file_read(f, off, buf, len, "string", e) < 0)
        return ERR;
    return memchr(buf, '\0', (size_t)len) ? 0 : 1;
}
