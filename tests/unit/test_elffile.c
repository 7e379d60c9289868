/* tests/unit/test_elffile.c — the one ELF reader (builder/image/elffile.c) on its own: the
 * dynamic section and its strings of a real dynamic program as readelf sees them, the
 * answers for files that are not ELF or not little-endian, strings that run past their
 * table; and path_dir (builder/util/path.c), which libs.c and recipe.c share. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/elffile.h"
#include "util/path.h"
#include "unit.h"

static char dir[64];

/* The DT_NEEDED names of path, read through elffile as libs.c reads them, joined by ' '. */
static int needed_names(const char *path, char *out, size_t size)
{
    struct err e = {0};
    struct elf_file f;
    unsigned char *ph = NULL;
    struct elf_dyn *dyn = NULL;
    size_t n = 0;
    int ok = 0;
    out[0] = '\0';
    if (elf_file_open(&f, path, &e) != 1 || elf_file_phdrs(&f, &ph, &e) < 0)
        goto out;
    for (uint32_t i = 0; i < f.phnum; i++) {
        struct elf_phdr p = elf_phdr_at(&f, ph, i);
        if (p.type == PT_DYNAMIC && elf_file_dynamic(&f, &p, &dyn, &n, &e) < 0)
            goto out;
    }
    uint64_t strtab = UINT64_MAX, strsz = 0;
    for (size_t i = 0; i < n; i++) {
        if (dyn[i].tag == DT_STRTAB)
            strtab = elf_vaddr_offset(&f, ph, dyn[i].val);
        else if (dyn[i].tag == DT_STRSZ)
            strsz = dyn[i].val;
    }
    for (size_t i = 0; i < n; i++) {
        char s[256];
        if (dyn[i].tag != DT_NEEDED)
            continue;
        if (strtab == UINT64_MAX ||
            elf_file_string(&f, strtab + dyn[i].val, strsz - dyn[i].val, s, sizeof s, &e) != 0)
            goto out;
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s", used ? " " : "", s);
    }
    ok = 1;
out:
    free(ph);
    free(dyn);
    elf_file_close(&f);
    return ok;
}

static void test_needed_libraries_match_readelf(void)
{
    char cmd[512], path[128], want[1024] = "", got[1024];
    snprintf(path, sizeof path, "%s/hello-dyn", dir);
    snprintf(cmd, sizeof cmd, "printf 'int main(void){return 0;}\\n' | gcc -x c -o %s - "
             "-Wl,--no-as-needed -lm", path);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "readelf -d %s | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p' | paste -sd' '", path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p)
        return;
    if (!fgets(want, sizeof want, p))
        want[0] = '\0';
    pclose(p);
    want[strcspn(want, "\n")] = '\0';
    CHECK(strstr(want, "libc.so.6") != NULL);
    CHECK(needed_names(path, got, sizeof got));
    CHECK_STR(got, want);
}

static void test_not_elf_and_foreign_elf_are_told_apart(void)
{
    char path[128];
    struct err e = {0};
    struct elf_file f;
    snprintf(path, sizeof path, "%s/script", dir);
    unit_write_text(path, "#!/bin/sh\necho hi\n");
    CHECK(elf_file_open(&f, path, &e) == 0);
    elf_file_close(&f);
    snprintf(path, sizeof path, "%s/short", dir);
    unit_write_text(path, "\177ELF");
    CHECK(elf_file_open(&f, path, &e) == 0);   /* shorter than e_ident: not ELF */
    elf_file_close(&f);
    unsigned char be[sizeof(Elf64_Ehdr)] = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2MSB, 1};
    snprintf(path, sizeof path, "%s/be", dir);
    unit_write_file(path, be, sizeof be);
    CHECK(elf_file_open(&f, path, &e) == ELF_FOREIGN);
    CHECK(strstr(e.msg, "big-endian") != NULL);
    elf_file_close(&f);
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK(elf_file_open(&f, path, &e) == ERR);
    CHECK(strstr(e.msg, path) != NULL && strstr(e.msg, "No such file") != NULL);
    elf_file_close(&f);
    CHECK(elf_file_open(&f, dir, &e) == ERR);   /* a folder */
    CHECK(strstr(e.msg, "not a regular file") != NULL);
    elf_file_close(&f);
}

static void test_strings_stay_inside_their_table_and_the_file(void)
{
    char path[128], buf[16];
    struct err e = {0};
    struct elf_file f;
    /* A minimal ELF header followed by "abc\0defgh" (no NUL after defgh). */
    unsigned char img[sizeof(Elf64_Ehdr) + 9] = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, 1};
    memcpy(img + sizeof(Elf64_Ehdr), "abc\0defgh", 9);
    snprintf(path, sizeof path, "%s/strings", dir);
    unit_write_file(path, img, sizeof img);
    CHECK(elf_file_open(&f, path, &e) == 1);
    uint64_t at = sizeof(Elf64_Ehdr);
    CHECK(elf_file_string(&f, at, 9, buf, sizeof buf, &e) == 0);
    CHECK_STR(buf, "abc");
    CHECK(elf_file_string(&f, at, 3, buf, sizeof buf, &e) == 1);      /* NUL past the table */
    CHECK(elf_file_string(&f, at + 4, 100, buf, sizeof buf, &e) == 1); /* runs off the file */
    CHECK(elf_file_string(&f, at, 9, buf, 3, &e) == 1);               /* longer than buf */
    CHECK(elf_file_string(&f, at + 100, 9, buf, sizeof buf, &e) == 1);/* past the end */
    elf_file_close(&f);
    elf_file_close(&f);   /* idempotent */
}

static void test_path_dir(void)
{
    static const char *const cases[][2] = {
        {"/a/b", "/a"}, {"a/b", "a"}, {"b", "."}, {"/a", "/"}, {"a/b/c.recipe", "a/b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *d = path_dir(cases[i][0]);
        CHECK_STR(d, cases[i][1]);
        free(d);
    }
}

int main(void)
{
    if (!unit_tmpdir(dir, sizeof dir, "test-elffile")) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_needed_libraries_match_readelf);
    RUN(test_not_elf_and_foreign_elf_are_told_apart);
    RUN(test_strings_stay_inside_their_table_and_the_file);
    RUN(test_path_dir);
    unit_rm_tree(dir);
    return unit_done();
}
