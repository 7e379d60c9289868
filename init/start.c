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

#include "exit_codes.h"

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

#if defined(__arm__) && __ARM_ARCH >= 7
/* The arm/v7 init's entry point (the Makefile links it with -e armlet_v7_entry). Some
 * runtimes offer the linux/arm/v7 image to an ARMv6 CPU (Raspberry Pi Zero/1), where the
 * first Thumb-2 instruction -- musl's _start has one -- would die of SIGILL with no word
 * said. So this runs first, in ARM state with ARMv5 instructions only: it finds
 * AT_PLATFORM ("v6l", "v7l", "v8l") in the auxiliary vector above argv and envp, and on a
 * digit below 7 writes why and exits 126 (the program cannot be executed here); else, or
 * without AT_PLATFORM, it goes on to musl's _start with the stack untouched. */
__asm__(
    ".pushsection .text.armlet_v7_entry, \"ax\", %progbits\n"
    ".arm\n"
    ".globl armlet_v7_entry\n"
    ".type armlet_v7_entry, %function\n"
    "armlet_v7_entry:\n"
    "    ldr r0, [sp]\n"              /* argc */
    "    add r1, sp, r0, lsl #2\n"
    "    add r1, r1, #4\n"            /* &argv[argc], the NULL */
    "1:  ldr r2, [r1, #4]!\n"         /* the environment, up to its NULL */
    "    cmp r2, #0\n"
    "    bne 1b\n"
    "2:  ldr r2, [r1, #4]!\n"         /* auxv: type ... */
    "    cmp r2, #0\n"
    "    beq 3f\n"                    /* AT_NULL: nothing known, go on */
    "    ldr r3, [r1, #4]!\n"         /* ... value */
    "    cmp r2, #15\n"               /* AT_PLATFORM */
    "    bne 2b\n"
    "    ldrb r3, [r3, #1]\n"         /* the digit of \"v6l\" */
    "    cmp r3, #'7'\n"
    "    blo 4f\n"
    "3:  ldr r12, =_start\n"
    "    bx r12\n"
    "4:  mov r0, #2\n"
    "    adr r1, 5f\n"
    "    mov r2, #(6f - 5f)\n"
    "    mov r7, #4\n"                /* write */
    "    svc #0\n"
    "    mov r0, #" EXIT_NOEXEC_STR "\n"
    "    mov r7, #248\n"              /* exit_group */
    "    svc #0\n"
    "5:  .ascii \"armlet-init: this CPU is ARMv6: use the linux/arm/v6 image\\n\"\n"
    "6:  .align 2\n"
    "    .ltorg\n"
    ".thumb\n"
    ".popsection\n");
#endif
#endif /* __GLIBC__ */
