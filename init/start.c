/* init/start.c — the process start-up between musl's crt1.o and main(), trimmed to what
 * the init needs (size: the 16 KiB budget, docs/README-init.md "Size").
 *
 * musl's own __libc_start_main (src/env/__libc_start_main.c) also runs .init_array
 * constructors and _init (the init has none), sets the stack protector's canary (the init
 * is built without the stack protector), __progname (for err()/warn(), unused), the page
 * size (for malloc and sysconf, unused) and, for a set-uid start, reopens closed fds 0-2
 * on /dev/null (the init is never set-uid). What is left: environ, the hardware
 * capabilities (arm's __set_thread_area picks its TLS method by them) and the thread
 * pointer (errno lives in the thread's struct), then main, then _exit with its status:
 * nothing is buffered (no stdio) and nothing is registered with atexit. And the
 * auxiliary vector's address in musl's struct __libc: arm/v6's __set_thread_area reads
 * AT_PLATFORM from it to tell an ARMv6 from a later CPU.
 *
 * Linking ours keeps musl's object out (a static link takes an archive member only for a
 * symbol still undefined). Written against musl 1.2.3 (Debian 12), whose internal
 * __init_tls(aux) takes the auxiliary vector indexed by AT_* type, AUX_CNT entries.
 * The host's unit tests link the init modules against glibc: there this file is empty.
 */
#include <features.h>
#ifndef __GLIBC__
#include <elf.h>
#include <stddef.h>
#include <unistd.h>

#define AUX_CNT 38 /* as musl's start-up */

extern char **__environ;
extern size_t __hwcap;
/* The head of musl 1.2.3's struct __libc (src/internal/libc.h), up to auxv. */
extern struct {
    char can_do_threads, threaded, secure;
    signed char need_locks;
    int threads_minus_1;
    size_t *auxv;
} __libc;
void __init_tls(size_t *aux);
int __libc_start_main(int (*main_fn)(int, char **, char **), int argc, char **argv);

__attribute__((used)) int __libc_start_main(int (*main_fn)(int, char **, char **), int argc, char **argv)
{
    char **envp = argv + argc + 1;
    size_t i, *auxv, aux[AUX_CNT] = {0};
    __environ = envp;
    for (i = 0; envp[i]; i++)
        ;
    __libc.auxv = auxv = (size_t *)(envp + i + 1);
    for (i = 0; auxv[i]; i += 2)
        if (auxv[i] < AUX_CNT)
            aux[auxv[i]] = auxv[i + 1];
    __hwcap = aux[AT_HWCAP];
    __init_tls(aux);
    _exit(main_fn(argc, argv, envp));
}
#endif
