/* builder/util/platform.c — see platform.h. */
#include "util/platform.h"

#include <elf.h>
#include <string.h>

/* Tag_CPU_arch values from the ARM ABI addenda: 6 = v6, 7 = v6KZ, 8 = v6T2, 9 = v6K,
 * 10 = v7, 13 = v7E-M... An arm/v6 image (ARM1176 = v6KZ) must refuse v6T2 and v7+
 * code, so its ceiling is 9 (v6K) with v6T2 (8) checked separately by the ELF module. */
const struct platform platform_table[PLATFORM_COUNT] = {
    {"linux/amd64", "linux", "amd64", "", "linux-amd64", EM_X86_64, ELFCLASS64, 0,
     "x86_64-linux-gnu", NULL, "amd64", "x86_64"},
    {"linux/arm64", "linux", "arm64", "", "linux-arm64", EM_AARCH64, ELFCLASS64, 0,
     "aarch64-linux-gnu", "qemu-aarch64", "arm64", "aarch64"},
    {"linux/arm/v7", "linux", "arm", "v7", "linux-arm-v7", EM_ARM, ELFCLASS32, 10,
     "arm-linux-gnueabihf", "qemu-arm", "armhf", "v7l"},
    {"linux/arm/v6", "linux", "arm", "v6", "linux-arm-v6", EM_ARM, ELFCLASS32, 9,
     "arm-linux-gnueabi", "qemu-arm", "armel", "v6l"},
};
const size_t platform_count = PLATFORM_COUNT;

const struct platform *platform_lookup(const char *oci)
{
    for (size_t i = 0; i < platform_count; i++)
        if (strcmp(platform_table[i].oci, oci) == 0)
            return &platform_table[i];
    return NULL;
}
