/* tests/tools/getpid_bench.c — nanoseconds per syscall under a seccomp BPF file.
 *
 *   cc -O2 -o getpid_bench tests/tools/getpid_bench.c
 *   getpid_bench [FILE.bpf|-] [N] [getpid|personality]      "-": no filter
 *   getpid_bench FILE.bpf N install      microseconds to install the filter (min of N
 *                                        forked children): the kernel's load cost
 *
 * Installs the raw filter (as armlet-init does: no_new_privs, seccomp(SET_MODE_FILTER)),
 * then times N raw syscalls (best of 5 rounds) and prints "NS_PER_CALL INSNS".
 * Since Linux 5.11 the kernel caches "always allowed" syscalls in a bitmap when the
 * filter is installed and then skips the filter for them: getpid() shows that path.
 * personality(0xffffffff) is allowed by Docker's profile only for certain arguments, so
 * the filter really runs on every call: that shows the layout's cost. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sock_filter prog[4096];

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* Min over n forked children of the time prctl(NO_NEW_PRIVS) + seccomp() takes. */
static int install_time(size_t insns, long n)
{
    double best = 1e18;
    for (long i = 0; i < n; i++) {
        int p[2];
        double d = -1;
        if (pipe(p))
            return 1;
        pid_t c = fork();
        if (c == 0) {
            struct sock_fprog fp = {(unsigned short)insns, prog};
            double a = now_us();
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp))
                _exit(1);
            d = now_us() - a;
            _exit(write(p[1], &d, sizeof d) == sizeof d ? 0 : 1);
        }
        if (read(p[0], &d, sizeof d) != sizeof d || d < 0)
            return 1;
        close(p[0]);
        close(p[1]);
        waitpid(c, NULL, 0);
        if (d < best)
            best = d;
    }
    printf("%.1f %zu\n", best, insns);
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[2]) : 2000000;
    int pers = argc > 3 && argv[3][0] == 'p';
    size_t insns = 0;
    if (argc > 1 && argv[1][0] != '-') {
        FILE *f = fopen(argv[1], "rb");
        if (!f) {
            perror(argv[1]);
            return 2;
        }
        insns = fread(prog, sizeof prog[0], 4096, f);
        fclose(f);
        if (argc > 3 && argv[3][0] == 'i')
            return install_time(insns, n);
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
        if (pers)
            for (long i = 0; i < n; i++)
                syscall(SYS_personality, 0xffffffffUL);
        else
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
