/* init/options.h — armlet-init's settings, from flags and ARMLET_INIT_<NAME> variables.
 *
 * options_parse() fills a struct options once at start-up (flags win over the
 * environment); nothing here allocates. argv entries are pointed at, not copied.
 * A bad option or value prints "armlet-init: <what>" and exits 2 before any child
 * is started.
 */
#ifndef ARMLET_INIT_OPTIONS_H
#define ARMLET_INIT_OPTIONS_H
#include <signal.h>
#include <stdint.h>

#define OPT_MAX_CPU_ENV   8

enum cpu_mode { CPU_FLOOR, CPU_CEIL, CPU_OFF };

struct options {
    int pgroup;                       /* --pgroup: signal the child's process group */
    int64_t grace_ns;                 /* --grace: SIGKILL the group this long after a forwarded TERM/INT; 0 = never */
    int64_t stop_delay_ns;            /* --stop-delay: hold TERM back this long */
    int rewrite[NSIG];                /* --rewrite FROM:TO; rewrite[s] = signal to send, 0 = drop; init: identity */
    uint32_t exit_zero[8];            /* --exit-zero CODE (repeatable): a bit per status 0-255 */
    enum cpu_mode cpu;                /* --cpu [go-]floor|ceil|off */
    int cpu_go;                       /* --cpu go-...: GOMAXPROCS only where Go >= 1.25's own
                                       * default differs (setup.c fit_cpu) */
    const char *cpu_env[OPT_MAX_CPU_ENV]; /* --cpu-env NAME (repeatable), besides GOMAXPROCS */
    int n_cpu_env;
    int memory_off;                   /* --memory off */
    uint32_t memory_ppm;              /* --memory RATIO (0 < r <= 1) in millionths (1..1000000);
                                       * 0 = not set. Integer, not double: on arm/v6 a double
                                       * drags in ~1.4 KiB of soft-float routines. */
    int nofile_mode;                  /* 0 = off, 1 = N, 2 = max */
    uint64_t nofile;                  /* --nofile N */
    int has_user;                     /* --user UID[:GID] | nonroot */
    uint32_t uid, gid;
    const char *seccomp;              /* --seccomp FILE */
    const char *preload;              /* --preload FILE */
    int verbose;                      /* --verbose */
    char **argv;                      /* PROGRAM [ARGS...] (NULL-terminated) */
};

/* Parse argv/environ into *o. Handles --help/--version itself (exit 0). On a bad option
 * prints a message naming it and exits 2. Returns only with o->argv set. */
void options_parse(struct options *o, int argc, char **argv);

/* Write the --help text (which also documents `probe`) to stdout. */
void options_usage(void);

#endif
