/* common/armlet_shared.h — the formats and paths the builder and armlet-init share.
 *
 * Both sides include this one header, so a path or a format changes in one place.
 * Nothing here allocates or needs a library: the init includes it under static musl.
 *
 * Side files (written by `armlet build`, read by armlet-init at start-up):
 *
 *   ARMLET_SECCOMP_PATH  raw classic-BPF program, exactly what seccomp_export_bpf()
 *                        writes: an array of struct sock_filter (8 bytes each, the
 *                        target's byte order: every armlet platform is little-endian).
 *                        Length must be a non-zero multiple of 8 and at most
 *                        ARMLET_BPF_MAX_INSNS instructions.
 *
 *   ARMLET_PRELOAD_PATH  text, a line:  PATH [OFFSET:LENGTH ...]
 *                        PATH is absolute, has no spaces; OFFSET and LENGTH are
 *                        decimal bytes; no ranges means the whole file. '#' starts a
 *                        comment line. Lines are in first-use order: the init reads
 *                        ahead in that order, so a path may come back on a later line
 *                        (part of a program, a library, more of the program).
 *                        At most ARMLET_PRELOAD_MAX_LINE bytes a line.
 */
#ifndef ARMLET_SHARED_H
#define ARMLET_SHARED_H

#define ARMLET_INIT_PATH     "/sbin/armlet-init"
#define ARMLET_SIDE_DIR      "/etc/armlet"
#define ARMLET_SECCOMP_PATH  "/etc/armlet/seccomp.bpf"
#define ARMLET_PRELOAD_PATH  "/etc/armlet/preload"

#define ARMLET_BPF_INSN_SIZE 8
#define ARMLET_BPF_MAX_INSNS 4096   /* BPF_MAXINSNS in the kernel */
#define ARMLET_PRELOAD_MAX_LINE 4096

/* Environment prefix for init options: --grace -> ARMLET_INIT_GRACE. */
#define ARMLET_INIT_ENV_PREFIX "ARMLET_INIT_"

/* The nonroot user of base static (as distroless). */
#define ARMLET_NONROOT_UID 65532
#define ARMLET_NONROOT_GID 65532

#ifndef ARMLET_VERSION
#define ARMLET_VERSION "0.1"
#endif

#endif
