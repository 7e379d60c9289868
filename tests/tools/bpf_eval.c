/* tests/tools/bpf_eval.c — evaluate an exported seccomp BPF program on one syscall.
 *
 *   cc -O2 -o bpf_eval tests/tools/bpf_eval.c
 *   bpf_eval FILE ARCH NR [ARG0 ... ARG5]     ARCH: x86_64 x86 x32 aarch64 arm, or 0xHEX
 *
 * Prints the action ("ALLOW", "ERRNO 1", "KILL_THREAD" ...) and exits 0; 2 on bad usage
 * or an unreadable file. For x32, add 0x40000000 to NR yourself (as the kernel sees it). */
#include <stdio.h>
#include <stdlib.h>

#include "bpf_eval.h"

int main(int argc, char **argv)
{
    static unsigned char prog[4096 * 8 + 1];
    if (argc < 4 || argc > 10) {
        fprintf(stderr, "usage: bpf_eval FILE ARCH NR [ARG0 ... ARG5]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    size_t len = fread(prog, 1, sizeof prog, f);
    fclose(f);
    if (len == 0 || len % 8 || len > 4096 * 8) {
        fprintf(stderr, "bpf_eval: %s: %zu bytes is not a BPF program\n", argv[1], len);
        return 2;
    }
    struct bpf_eval_data d = {0};
    d.arch = bpf_eval_arch(argv[2]);
    if (!d.arch)
        d.arch = (uint32_t)strtoul(argv[2], NULL, 0);
    d.nr = (uint32_t)strtoul(argv[3], NULL, 0);
    for (int i = 4; i < argc; i++)
        d.args[i - 4] = strtoull(argv[i], NULL, 0);
    char buf[64];
    puts(bpf_eval_action(bpf_eval(prog, len / 8, &d), buf, sizeof buf));
    return 0;
}
