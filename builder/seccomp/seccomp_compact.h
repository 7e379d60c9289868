/* builder/seccomp/seccomp_compact.h — a shorter, equivalent seccomp filter for faster loading.
 *
 * Why: the kernel's cost of installing a filter (check, convert to eBPF, JIT, and one
 * emulated run per syscall number per arch for its allow-bitmap) grows with the
 * program's length, and armlet-init pays it on every container start. libseccomp's
 * binary tree spends one comparison and one return per syscall rule: Docker's default
 * profile is 1,209 instructions on amd64 (x86_64 + x86 + x32). But most neighbouring
 * syscall numbers share an action, so what the program decides is a short list of
 * number ranges per arch: 64 on x86_64, 115 on x86, 95 for x32.
 *
 * How: partial evaluation of libseccomp's program, no knowledge of how it was laid out.
 *   1. Every constant the program compares the raw arch or syscall number with splits
 *      the 32-bit arch and nr spaces into intervals inside which every such comparison
 *      comes out the same way.
 *   2. For each (arch interval, nr interval), the program is run abstractly with arch
 *      and nr known and ip/args unknown: comparisons on known values are decided, the
 *      rest kept. If every path reaches the same RET, the interval's leaf is that RET;
 *      otherwise (rules with argument conditions) the leaf is the residual program —
 *      the original's own instructions on the reachable paths, decided jumps removed.
 *   3. Neighbouring intervals with equal leaves merge, and a lone number between two
 *      equal intervals becomes a one-"jeq" exception of the merged one. The output is a
 *      "jeq" chain on the arch (64-bit native first; a search when the shape is other)
 *      and per arch a binary search on nr (JGE) whose single-RET leaves are jumps to
 *      shared RETs at the end of each subtree of at most 256 instructions.
 * Only LD of nr/arch, JEQ/JGT/JGE and RET sit on the path of an argument-free syscall,
 * so the kernel's allow-bitmap still caches every always-allowed syscall. The kernel
 * also emulates the filter once per syscall number per arch at load, so the layout
 * keeps the steps each number walks few, not only the instructions. Docker's default on
 * amd64: 1,209 instructions from libseccomp, 297 here; loaded in 80 us instead of 247.
 * (With the ENOSYS prelude of seccomp_enosys.h in front, which this folds in like any
 * other comparisons: 1,383 in, 317 out.)
 *
 * Safety: before returning, both programs are run (common/bpf_eval.h) on every interval
 * edge of every arch edge, with argument vectors built from the program's own
 * constants; any difference is reported as an internal error and the caller keeps
 * libseccomp's program. A program the evaluator cannot reason about (ALU on nr or
 * arch, JSET on them, RET A of them) is returned unchanged.
 */
#ifndef ARMLET_SECCOMP_COMPACT_H
#define ARMLET_SECCOMP_COMPACT_H
#include <stddef.h>

#include "util/error.h"

/* bpf/len: raw classic-BPF records (8 bytes each, little-endian) as
 * seccomp_export_bpf() writes them.
 * Returns 1 with *out (malloc'd, *out_len bytes) set to the compact program;
 * 0 with *out NULL when the input should be kept (nothing to gain, or a construct the
 * analysis does not handle); ERR on allocation failure or when the self-check finds a
 * difference (a bug here: the message names the arch, nr and arguments). */
__attribute__((warn_unused_result))
int seccomp_compact(const unsigned char *bpf, size_t len, unsigned char **out, size_t *out_len,
                    struct err *e);

#endif
