/* tests/fuzz/fuzz_seccomp_profile.c — libFuzzer harness for the seccomp profile compiler.
 * The first byte picks the platform; the rest is the profile's JSON. Every input must
 * either compile to whole instructions or fail with a message, without leaks or UB; the
 * ENOSYS prelude (seccomp_enosys.h) must pass its check against libseccomp's table; and
 * the compaction of the result (seccomp_compact.h) must pass its own check that it
 * decides as its input does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/platform.h"
#include "seccomp/seccomp_compact.h"
#include "seccomp/seccomp_compile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct platform *p = &platform_table[data[0] % platform_count];
    unsigned char *bpf = NULL;
    size_t len = 0;
    struct err e;
    int rc = seccomp_compile_json((const char *)data + 1, size - 1, "fuzz.json", p,
                                  SECCOMP_COMPILE_NO_COMPACT |
                                      (data[0] & 0x80 ? SECCOMP_COMPILE_NO_OPTIMIZE : 0),
                                  &bpf, &len, &e);
    if (rc == 0 && (bpf == NULL || len == 0 || len % 8 != 0))
        abort();
    if (rc < 0 && (bpf != NULL || e.msg[0] == '\0'))
        abort();
    /* the ENOSYS prelude's own check found a difference: a bug (the prefix, because a
     * profile's own strings can appear later in a message) */
    if (rc < 0 && !strncmp(e.msg, "fuzz.json: internal error:", 26))
        abort();
    if (rc == 0) {
        unsigned char *small = NULL;
        size_t n = 0;
        if (seccomp_compact(bpf, len, &small, &n, &e) < 0)
            abort(); /* the self-check found a difference (or out of memory) */
        free(small);
    }
    free(bpf);
    return 0;
}
