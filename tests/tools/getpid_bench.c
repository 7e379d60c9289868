/* tests/tools/getpid_bench.c — nanoseconds per getpid() under a seccomp BPF file.
 *
 *   cc -O2 -o getpid_bench tests/tools/getpid_bench.c
 *   getpid_bench [FILE.bpf] [N]       no FILE (or "-"): no filter
 *
 * Installs the raw filter (as armlet-init does: no_new_privs, seccomp(SET_MODE_FILTER)),
 * then times N raw getpid syscalls (best of 5 rounds) and prints "NS_PER_CALL INSNS". */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct sock_filter prog[4096];

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[2]) : 2000000;
    size_t insns = 0;
    if (argc > 1 && argv[1][0] != '-') {
        FILE *f = fopen(argv[1], "rb");
        if (!f) {
            perror(argv[1]);
            return 2;
        }
        insns = fread(prog, sizeof prog[0], 4096, f);
        fclose(f);
        struct sock_fprog fp = {(unsigned short)insns, prog};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp)) {
            perror("seccomp");
            return 1;
        }
    }
    double best = 1e18;
    for (int round = 0; round < 5; round++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (long i = 0; i < n; i++)
            syscall(SYS_getpid);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n;
        if (ns < best)
            best = ns;
    }
    printf("%.1f %zu\n", best, insns);
    return 0;
}
