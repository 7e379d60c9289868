/* init/options.c — armlet-init's command line and ARMLET_INIT_<NAME> variables.
 *
 * One table names every option once; the same apply() handles a flag and its variable,
 * so they cannot drift apart. Variables are applied first and flags after, which is how
 * "flags win" falls out: a later value overwrites an earlier one. Repeatable options
 * (--exit-zero, --rewrite, --cpu-env) accumulate, and accept a comma-separated list, so
 * ARMLET_INIT_EXIT_ZERO=130,143 works. Unknown ARMLET_INIT_* variables are left alone:
 * the builder owns ARMLET_INIT_DIR. Nothing here allocates.
 */
#include "options.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "armlet_shared.h"
#include "exit_codes.h"
#include "util.h"


enum opt_id {
    O_PGROUP, O_GRACE, O_STOP_DELAY, O_REWRITE, O_EXIT_ZERO, O_CPU, O_CPU_ENV, O_MEMORY,
    O_NOFILE, O_USER, O_SECCOMP, O_PRELOAD, O_VERBOSE, O_VERSION, O_HELP,
};
/* kind: 0 = flag without value, 1 = takes a value, 2 = takes a repeatable value list.
 * env: 0 = also read from ARMLET_INIT_<NAME>, 1 = command line only. */
static const struct { char name[11]; unsigned char kind, cli_only; } opt_table[] = {
    [O_PGROUP] = { "pgroup", 0, 0 },   [O_GRACE] = { "grace", 1, 0 },
    [O_STOP_DELAY] = { "stop-delay", 1, 0 }, [O_REWRITE] = { "rewrite", 2, 0 },
    [O_EXIT_ZERO] = { "exit-zero", 2, 0 }, [O_CPU] = { "cpu", 1, 0 },
    [O_CPU_ENV] = { "cpu-env", 2, 0 }, [O_MEMORY] = { "memory", 1, 0 },
    [O_NOFILE] = { "nofile", 1, 0 },   [O_USER] = { "user", 1, 0 },
    [O_SECCOMP] = { "seccomp", 1, 0 }, [O_PRELOAD] = { "preload", 1, 0 },
    [O_VERBOSE] = { "verbose", 0, 0 }, [O_VERSION] = { "version", 0, 1 },
    [O_HELP] = { "help", 0, 1 },
};
#define N_OPTS ((int)(sizeof opt_table / sizeof opt_table[0]))

static const char usage_text[] =
    "usage: armlet-init [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "Runs PROGRAM, reaps zombies, forwards signals. Options also as ARMLET_INIT_<NAME>\n"
    "(lists with ,); flags win. D: 10s, 500ms, 2.5s, 1m, 1h. *: repeatable\n"
    "  --pgroup            signal the child's process group\n"
    "  --grace D           SIGKILL it D after TERM/INT\n"
    "  --stop-delay D      hold TERM back for D\n"
    "  --rewrite SIG:SIG*  forward as (:0 drops)\n"
    "  --exit-zero CODE*   report CODE as 0\n"
    "  --cpu [go-]floor|ceil|off  GOMAXPROCS from the cgroups\n"
    "  --cpu-env NAME*     export that as NAME too\n"
    "  --memory RATIO|off  GOMEMLIMIT = RATIO x cgroup limit\n"
    "  --nofile N|max|off  raise the soft FD limit\n"
    "  --user UID[:GID]    run as (or root, nonroot)\n"
    "  --seccomp FILE|off  BPF filter (ARMLET_INIT_SECCOMP=off wins)\n"
    "  --preload FILE      read ahead the files listed\n"
    "  --verbose, --version, --help\n"
    "Exit:  0-125 the child's,  126 cannot execute,  127 not found,\n"
    "  128+N killed by signal N,  2 usage,  111 system error\n"
    "armlet-init probe URL [--timeout D]: 0 healthy, 1 not. URL: http://HOST[:PORT]/PATH\n"
    "  or tcp://HOST:PORT; HOST: IPv4, [IPv6], localhost\n";

void options_usage(void)
{
    (void)write_all(1, usage_text, sizeof usage_text - 1);
}

/* Print "armlet-init: <where>: <what> '<value>'" and exit 2. */
static _Noreturn void bad(const char *where, const char *what, const char *value)
{
    if (value)
        DIE(EXIT_USAGE, where, ": ", what, " '", value, "' (see --help)");
    DIE(EXIT_USAGE, where, ": ", what, " (see --help)");
}

/* "armlet-init: <where>: expected <what>, got '<value>'" and exit 2. */
static _Noreturn void expect(const char *where, const char *what, const char *value)
{
    DIE(EXIT_USAGE, where, ": expected ", what, ", got '", value, "' (see --help)");
}

static int parse_bool(const char *v)
{
    static const char *const words[] = { "0", "false", "no", "off", "", "1", "true", "yes", "on" };
    for (int i = 0; i < 9; i++)
        if (strcmp(v, words[i]) == 0)
            return i >= 5;
    return -1;
}

static void apply_rewrite(struct options *o, const char *where, const char *v)
{
    int from, to, rc = parse_rewrite(v, &from, &to);
    if (rc == -1)
        expect(where, "SIG:SIG", v);
    if (rc == -2)
        bad(where, "unknown signal in", v);
    if (rc == -3)
        bad(where, "cannot rewrite that signal:", v);
    o->rewrite[from] = to;
}

static void apply_cpu_env(struct options *o, const char *where, const char *v)
{
    if (o->n_cpu_env >= OPT_MAX_CPU_ENV)
        bad(where, "too many names at", v);
    if (env_name_ok(v) != 0)
        bad(where, "not a variable name:", v);
    o->cpu_env[o->n_cpu_env++] = v;
}

/* One element of a repeatable option. v points into argv/environ or at a copy made by
 * apply_list(); cpu-env names are kept by pointer, so apply_list() keeps them whole. */
static void apply_one(struct options *o, int id, const char *where, const char *v)
{
    uint64_t n;
    if (id == O_REWRITE) {
        apply_rewrite(o, where, v);
    } else if (id == O_EXIT_ZERO) {
        if (parse_u64(v, 255, &n) != 0)
            expect(where, "an exit status 0-255", v);
        o->exit_zero[n >> 5] |= 1u << (n & 31);
    } else {
        apply_cpu_env(o, where, v);
    }
}

/* Split a repeatable value on commas. Elements are copied into a static pool so the
 * pointers kept for --cpu-env stay valid (argv and environ are not written to). */
static void apply_list(struct options *o, int id, const char *where, const char *v)
{
    static char pool[1024];
    static size_t used;
    for (;;) {
        const char *comma = str_chr(v, ',');
        size_t len = comma ? (size_t)(comma - v) : strlen(v);
        if (len == 0)
            bad(where, "empty element in", v);
        if (!comma) {
            apply_one(o, id, where, v);
            return;
        }
        if (len + 1 > sizeof pool - used)
            bad(where, "value too long:", v);
        char *copy = pool + used;
        memcpy(copy, v, len);
        copy[len] = '\0';
        used += len + 1;
        apply_one(o, id, where, copy);
        v = comma + 1;
    }
}

/* Apply option id with value v (NULL for a flag without value); where names the source
 * for messages. */
static void apply(struct options *o, int id, const char *where, const char *v)
{
    uint64_t n;
    int b;
    switch (id) {
    case O_PGROUP:
    case O_VERBOSE:
        b = v ? parse_bool(v) : 1;
        if (b < 0)
            expect(where, "1 or 0", v);
        *(id == O_PGROUP ? &o->pgroup : &o->verbose) = b;
        break;
    case O_GRACE:
    case O_STOP_DELAY:
        if (parse_duration(v, id == O_GRACE ? &o->grace_ns : &o->stop_delay_ns) != 0)
            expect(where, "a duration (10s, 500ms)", v);
        break;
    case O_REWRITE:
    case O_EXIT_ZERO:
    case O_CPU_ENV:
        apply_list(o, id, where, v);
        break;
    case O_CPU: {
        /* "go-floor": the builder's choice for a Go >= 1.25 program (docs/README-limits.md) */
        o->cpu_go = !strncmp(v, "go-", 3);
        const char *m = v + o->cpu_go * 3;
        if (strcmp(m, "floor") == 0)
            o->cpu = CPU_FLOOR;
        else if (strcmp(m, "ceil") == 0)
            o->cpu = CPU_CEIL;
        else if (strcmp(m, "off") == 0)
            o->cpu = CPU_OFF;
        else
            expect(where, "[go-]floor, ceil or off", v);
        break;
    }
    case O_MEMORY:
        o->memory_off = strcmp(v, "off") == 0;
        o->memory_ppm = 0;
        if (!o->memory_off && parse_ratio_ppm(v, &o->memory_ppm) != 0)
            expect(where, "a ratio in (0, 1] or off", v);
        break;
    case O_NOFILE:
        if (strcmp(v, "off") == 0) {
            o->nofile_mode = 0;
        } else if (strcmp(v, "max") == 0) {
            o->nofile_mode = 2;
        } else {
            if (parse_u64(v, UINT64_MAX, &n) != 0 || n == 0)
                expect(where, "a number, max or off", v);
            o->nofile_mode = 1;
            o->nofile = n;
        }
        break;
    case O_USER:
        if (parse_ids(v, &o->uid, &o->gid) != 0)
            expect(where, "root, nonroot or UID[:GID]", v);
        o->has_user = 1;
        break;
    case O_SECCOMP:
    case O_PRELOAD:
        if (!*v)
            expect(where, "a file name", v);
        *(id == O_SECCOMP ? &o->seccomp : &o->preload) = v;
        break;
    case O_VERSION:
        (void)write_all(1, "armlet-init " ARMLET_VERSION "\n", sizeof "armlet-init " ARMLET_VERSION "\n" - 1);
        _exit(0);
    default: /* O_HELP */
        options_usage();
        _exit(0);
    }
}

/* Apply option id with value v (NULL for a flag without value); where names the source
 * ("--grace" or "ARMLET_INIT_GRACE"), len bytes of it, for messages. */
static void apply_named(struct options *o, int id, const char *name, size_t len, const char *v)
{
    char where[40];
    if (len >= sizeof where)
        len = sizeof where - 1;
    memcpy(where, name, len);
    where[len] = '\0';
    apply(o, id, where, v);
}

/* Does the variable name (len bytes, after the prefix) spell option name in upper case
 * with '_' for '-'? */
static int env_name_is(const char *var, size_t len, const char *name)
{
    size_t i = 0;
    for (; i < len && name[i]; i++) {
        char want = name[i] == '-' ? '_' : (char)(name[i] - 'a' + 'A');
        if (var[i] != want)
            return 0;
    }
    return i == len && !name[i];
}

static void parse_environ(struct options *o)
{
    extern char **environ;
    const size_t plen = sizeof ARMLET_INIT_ENV_PREFIX - 1;
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, ARMLET_INIT_ENV_PREFIX, plen) != 0)
            continue;
        const char *name = *e + plen, *eq = str_chr(name, '=');
        if (!eq)
            continue;
        for (int id = 0; id < N_OPTS; id++) {
            if (opt_table[id].cli_only || !env_name_is(name, (size_t)(eq - name), opt_table[id].name))
                continue;
            /* An empty value means "not set" (bool variables: false). */
            if (eq[1] || opt_table[id].kind == 0)
                apply_named(o, id, *e, (size_t)(eq - *e), eq + 1);
            break;
        }
    }
}

void options_parse(struct options *o, int argc, char **argv)
{
    int i;
    memset(o, 0, sizeof *o);
    o->cpu = CPU_OFF;
    for (i = 0; i < NSIG; i++)
        o->rewrite[i] = i;

    parse_environ(o);

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-')
            break; /* PROGRAM */
        if (strcmp(a, "-h") == 0)
            a = "--help";
        if (a[1] != '-')
            bad(a, "unknown option", NULL);
        const char *name = a + 2, *eq = str_chr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int id;
        for (id = 0; id < N_OPTS; id++)
            if (strlen(opt_table[id].name) == len && strncmp(opt_table[id].name, name, len) == 0)
                break;
        if (id == N_OPTS)
            bad(a, "unknown option", NULL);
        const char *v = NULL;
        if (opt_table[id].kind == 0) {
            if (eq)
                bad(a, "takes no value", NULL);
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            bad(a, "needs a value", NULL);
        }
        /* Name the flag alone in messages, without "=value". */
        apply_named(o, id, a, (size_t)(name - a) + len, v);
    }
    if (i >= argc)
        DIE(EXIT_USAGE, "no PROGRAM given (see --help)");
    /* The one variable that wins over its flag: an operator's opt-out for one run
     * (`docker run -e ARMLET_INIT_SECCOMP=off`, as `--security-opt seccomp=unconfined`)
     * of the filter the image's Entrypoint names. `--seccomp off` is no filter too. */
    const char *e = env_get(ARMLET_INIT_ENV_PREFIX "SECCOMP");
    if (o->seccomp && (!strcmp(o->seccomp, "off") || (e && !strcmp(e, "off")))) {
        if (strcmp(o->seccomp, "off"))
            SAY("ARMLET_INIT_SECCOMP=off: running WITHOUT the filter ", o->seccomp);
        o->seccomp = NULL;
    }
    o->argv = argv + i;
}
