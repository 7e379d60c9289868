/* builder/seccomp/seccomp_enosys.h — ENOSYS for the syscall numbers a profile cannot know.
 *
 * Why: a profile denies what it does not list, with its default action (EPERM in
 * Docker's). But a filter compiled today runs on kernels of the next ten years, whose new
 * syscalls no profile or libseccomp table names yet; glibc, musl and Go fall back to an
 * older call only on ENOSYS, so EPERM there breaks programs (clone3, faccessat2 and
 * fchmodat2 each did: moby #42680; runc answers ENOSYS above the profile's highest
 * number since runc PR #2750). Here every number libseccomp has no name for on an arch
 * of the filter answers SECCOMP_RET_ERRNO | ENOSYS, exactly what a kernel without the
 * call answers, above the highest known number and in the holes below it alike, while
 * every number libseccomp knows keeps the profile's decision (its default action
 * included: a known syscall the profile does not allow still gets EPERM).
 *
 * Per architecture (libseccomp's numbering of the build host's libseccomp):
 *   - x86_64: the 64-bit numbers 0..0x3fffffff; with x32 in the filter also the x32
 *     numbers (0x40000000 and up, same AUDIT_ARCH); without x32 (--native-only, or a
 *     profile not naming it) those stay libseccomp's bad-arch kill: an ABI the filter
 *     leaves out is not "a newer kernel".
 *   - x86, aarch64: the whole 32-bit range.
 *   - arm: the whole range, the ARM private calls included (0x0f0000..: breakpoint,
 *     cacheflush, usr26, usr32, set_tls, get_tls are known; the kernel itself answers
 *     ENOSYS for an unknown one up to 0x0f07ff and SIGILL above, where ENOSYS is as good).
 * libseccomp's tables are read for 0..2047 above each base (0; x32 0x40000000; arm's
 * 0x0f0000): kernel numbers are below 500 today. Nothing changes when the default
 * action lets calls through anyway (ALLOW, LOG, TRACE: a tracer handles new calls
 * itself, as runc reasons) or already is ERRNO(ENOSYS).
 *
 * How: a prelude before libseccomp's program, which stays as exported:
 *     ld arch; per arch "jeq AUDIT_ARCH; ja its block"; ja filter
 *     block: ld nr; a JGE search over the known/unknown runs whose leaves are
 *            "ret ERRNO(ENOSYS)" or "ja filter"
 *     filter: libseccomp's program (it loads arch and nr again)
 * seccomp_compact.h then folds prelude and program into one search per arch (the
 * unknown runs become intervals like any other), and its self-check runs against this
 * program. Before returning, the prelude itself is checked: on every number of the
 * tables' windows and on each side of every run edge, the result must be libseccomp's
 * answer where libseccomp has a name and ENOSYS elsewhere.
 */
#ifndef ARMLET_SECCOMP_ENOSYS_H
#define ARMLET_SECCOMP_ENOSYS_H
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Does a filter with default action def_act (a libseccomp SCMP_ACT_* value) need the
 * prelude? 0 for ALLOW, LOG, TRACE and ERRNO(ENOSYS), else 1. */
int seccomp_enosys_wanted(uint32_t def_act);

/* Prepend the prelude for the n libseccomp arch tokens in arches (SCMP_ARCH_X86_64,
 * _X86, _X32, _AARCH64, _ARM) to *bpf (raw records, *len bytes, as exported; replaced
 * by a new malloc'd buffer, the old one freed, on success). `name` prefixes messages.
 * Returns 0, or ERR (out of memory; longer than the kernel's 4096 instructions; the
 * check failed: a bug, the message names arch and number) with *bpf unchanged. */
__attribute__((warn_unused_result))
int seccomp_enosys_prepend(const uint32_t *arches, int n, unsigned char **bpf, size_t *len,
                           const char *name, struct err *e);

#endif
