/* init/exit_codes.h — armlet-init's own exit statuses, one name each; every _exit, DIE
 * and return of a status in the init uses these (start.c's ARMv6 check too, through the
 * string form). --help and docs/README-init.md ("Exit status") list the same table.
 *
 *   0-125          the child's status (after --exit-zero)
 *   EXIT_USAGE     2    bad option or value, no PROGRAM, a bad --seccomp file: no child
 *   EXIT_SYSTEM    111  the init itself failed (fork, sigtimedwait)
 *   EXIT_NOEXEC    126  PROGRAM cannot run: exec failed, --user or --seccomp failed in the
 *                       child, or the arm/v7 init on an ARMv6 CPU
 *   EXIT_NOTFOUND  127  PROGRAM was not found
 *   EXIT_SIGNALED  128  + N: the child was killed by signal N
 *
 * `armlet-init probe` answers PROBE_HEALTHY (0) or PROBE_UNHEALTHY (1), never 2 (Docker
 * reserves it for HEALTHCHECK commands). Macros, not an enum: start.c's assembly needs
 * the number as text (EXIT_NOEXEC_STR).
 */
#ifndef ARMLET_INIT_EXIT_CODES_H
#define ARMLET_INIT_EXIT_CODES_H

#define EXIT_USAGE 2
#define EXIT_SYSTEM 111
#define EXIT_NOEXEC 126
#define EXIT_NOEXEC_STR "126"
#define EXIT_NOTFOUND 127
#define EXIT_SIGNALED 128

#define PROBE_HEALTHY 0
#define PROBE_UNHEALTHY 1

#endif
