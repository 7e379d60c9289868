/* init/seccomp_load.h — --seccomp FILE: a raw BPF program (what `armlet seccomp compile`
 * and seccomp_export_bpf write) read and checked before fork, installed in the child.
 *
 *     bpf_file_read(path);      // parent, before fork: into a static buffer, then
 *                               // bpf_check(). A bad file prints why (naming the file)
 *                               // and exits 2: no child is started with a filter the
 *                               // kernel would refuse, or one for another architecture.
 *     bpf_install();            // child, after --user, right before exec: no_new_privs,
 *                               // then seccomp(SET_MODE_FILTER), or prctl(PR_SET_SECCOMP)
 *                               // on kernels older than 3.17. Fails closed: on any error
 *                               // a message and _exit(126). Only where the kernel (or
 *                               // qemu-user, which refuses guest filters) has no seccomp
 *                               // at all -- PR_GET_SECCOMP is EINVAL too -- a warning and
 *                               // the child runs unfiltered, as Docker does there.
 *
 * No heap: the buffer is ARMLET_BPF_MAX_INSNS instructions of BSS.
 */
#ifndef ARMLET_INIT_SECCOMP_LOAD_H
#define ARMLET_INIT_SECCOMP_LOAD_H
#include <stddef.h>
#include <stdint.h>

#include "bpf_eval.h" /* struct bpf_eval_insn: struct sock_filter, and its record codec */

/* Check n instructions as the kernel will before loading them (bpf_check_classic and
 * seccomp's own list): every opcode one seccomp accepts, loads inside seccomp_data,
 * scratch memory M[0..15] written on every path before it is read, no division by a
 * constant zero nor shift by 32 or more, every jump inside, a return at the end; and, for
 * a program that reads seccomp_data at all, an architecture check at its head (load of
 * the arch, then a chain of jeq) that names this init's own architecture.
 * Returns NULL when sound, else what is wrong. */
const char *bpf_check(const struct bpf_eval_insn *prog, size_t n);
/* Returns the number of instructions read. Exits 2 on any problem. */
size_t bpf_file_read(const char *path);
void bpf_install(void);

#endif
