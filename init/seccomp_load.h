/* init/seccomp_load.h — --seccomp FILE: a raw BPF program (what `armlet seccomp compile`
 * and seccomp_export_bpf write) read before fork, installed in the child.
 *
 *     bpf_file_read(path);      // parent, before fork: into a static buffer; checks it is
 *                               // whole 8-byte instructions, 1..4096 of them, that every
 *                               // jump lands inside, loads stay in seccomp_data, and it
 *                               // ends in RET. Else prints why (naming the file), exit(2):
 *                               // the child is never started with a broken filter.
 *     bpf_install();            // child, after --user, right before exec: no_new_privs,
 *                               // then seccomp(SET_MODE_FILTER), or prctl(PR_SET_SECCOMP)
 *                               // on kernels older than 3.17. On failure: message, _exit(126);
 *                               // where neither exists (no CONFIG_SECCOMP_FILTER, or
 *                               // qemu-user, which refuses guest filters) a warning and
 *                               // the child runs unfiltered, as Docker does there.
 *
 * No heap: the buffer is ARMLET_BPF_MAX_INSNS instructions of BSS.
 */
#ifndef ARMLET_INIT_SECCOMP_LOAD_H
#define ARMLET_INIT_SECCOMP_LOAD_H
#include <stddef.h>

/* Check n instructions at prog (raw records). Returns NULL when sound, else what is wrong. */
const char *bpf_check(const unsigned char *prog, size_t n);
/* Returns the number of instructions read. Exits 2 on any problem. */
size_t bpf_file_read(const char *path);
void bpf_install(void);

#endif
