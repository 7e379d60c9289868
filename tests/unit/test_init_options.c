/* tests/unit/test_init_options.c — armlet-init's option parser and text helpers:
 * durations, signal names, integers, flags vs ARMLET_INIT_* variables, and that every bad
 * value exits 2 (checked in a forked child, since options_parse exits). */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "options.h"
#include "unit.h"
#include "util.h"
#include "values_table.h"

static struct options o;

/* Parse a NULL-terminated argument list (argv[0] is added). */
#define PARSE(...) parse_args((char *[]){ "armlet-init", __VA_ARGS__, NULL })
static void parse_args(char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    options_parse(&o, argc, argv);
}

/* Exit status of parsing these arguments in a child (stderr silenced). */
#define PARSE_STATUS(...) parse_status((char *[]){ "armlet-init", __VA_ARGS__, NULL })
static int parse_status(char **argv)
{
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        freopen("/dev/null", "w", stderr);
        freopen("/dev/null", "w", stdout);
        parse_args(argv);
        _exit(0);
    }
    int st = 0;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int64_t dur(const char *s)
{
    int64_t ns = -42;
    return parse_duration(s, &ns) == 0 ? ns : -1;
}

static void test_durations_accept_units_fractions_and_plain_seconds(void)
{
    CHECK(dur("10s") == 10000000000LL);
    CHECK(dur("500ms") == 500000000LL);
    CHECK(dur("1m") == 60000000000LL);
    CHECK(dur("2.5s") == 2500000000LL);
    CHECK(dur("1.5m") == 90000000000LL);
    CHECK(dur("3") == 3000000000LL);
    CHECK(dur("0.25") == 250000000LL);
    CHECK(dur("1h") == 3600000000000LL);
    CHECK(dur("250us") == 250000LL);
    CHECK(dur("7ns") == 7);
    CHECK(dur("0") == 0);
    CHECK(dur("1000000s") == 1000000000000000LL);
}

static void test_durations_reject_garbage_negative_and_huge(void)
{
    const char *bad[] = { "", "s", "-1s", "10x", "1.2.3s", "1e3", "10 s", ".s", "1000001s",
                          "99999999999999999999", "0.1234567891s", "5sec" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (dur(bad[i]) != -1)
            fprintf(stderr, "accepted duration '%s'\n", bad[i]);
        CHECK(dur(bad[i]) == -1);
    }
}

static void test_signal_names_and_numbers_round_trip(void)
{
    char buf[16];
    CHECK(sig_parse("TERM") == SIGTERM);
    CHECK(sig_parse("SIGTERM") == SIGTERM);
    CHECK(sig_parse("sigusr1") == SIGUSR1);
    CHECK(sig_parse("winch") == SIGWINCH);
    CHECK(sig_parse("15") == 15);
    CHECK(sig_parse("0") == 0);
    /* Real-time signals as glibc, bash (`kill -l RTMIN+3` is 37) and systemd number
     * them: RTMIN is 34, whatever the libc the init is built with says. */
    CHECK(sig_parse("RTMIN") == 34);
    CHECK(sig_parse("RTMIN+3") == 37);
    CHECK(sig_parse("RTMAX") == 64);
    CHECK(sig_parse("RTMAX-1") == 63);
    CHECK(sig_parse("RTMIN+31") == -1);
    CHECK(sig_parse("NOPE") == -1);
    CHECK(sig_parse("65") == -1);
    CHECK(sig_parse("") == -1);
    CHECK(sig_parse("RTMIN-1") == -1);
    CHECK_STR(sig_name(buf, SIGTERM), "SIGTERM");
    CHECK_STR(sig_name(buf, SIGWINCH), "SIGWINCH");
    for (int s = 1; s < 32; s++)
        CHECK(sig_parse(sig_name(buf, s)) == s);
    CHECK(sig_parse(sig_name(buf, 37)) == 37);
    CHECK_STR(sig_name(buf, 37), "SIGRTMIN+3");
    CHECK_STR(sig_name(buf, 33), "SIG33");
}

static void test_integers_parse_and_format(void)
{
    uint64_t v = 0;
    char buf[21];
    CHECK(parse_u64("255", 255, &v) == 0 && v == 255);
    CHECK(parse_u64("256", 255, &v) == -1);
    CHECK(parse_u64("18446744073709551615", UINT64_MAX, &v) == 0 && v == UINT64_MAX);
    CHECK(parse_u64("18446744073709551616", UINT64_MAX, &v) == -1);
    CHECK(parse_u64("", 10, &v) == -1);
    CHECK(parse_u64("+1", 10, &v) == -1);
    CHECK_STR(fmt_i64(buf, 0), "0");
    CHECK_STR(fmt_i64(buf, -143), "-143");
    CHECK_STR(fmt_i64(buf, INT64_MIN), "-9223372036854775808");
}

static void test_defaults_are_off_and_rewrite_is_identity(void)
{
    PARSE("prog");
    CHECK(o.pgroup == 0 && o.grace_ns == 0 && o.stop_delay_ns == 0 && o.verbose == 0);
    CHECK(o.cpu == CPU_OFF && o.memory_ppm == 0 && o.nofile_mode == 0 && !o.has_user);
    CHECK(o.seccomp == NULL && o.preload == NULL && o.n_cpu_env == 0);
    for (int c = 0; c < 256; c++)
        CHECK(!(o.exit_zero[c >> 5] >> (c & 31) & 1));
    for (int s = 0; s < NSIG; s++)
        CHECK(o.rewrite[s] == s);
    CHECK_STR(o.argv[0], "prog");
    CHECK(o.argv[1] == NULL);
}

static void test_every_option_parses_in_both_spellings(void)
{
    PARSE("--pgroup", "--grace", "5s", "--stop-delay=1.5s", "--rewrite", "TERM:QUIT",
          "--rewrite=USR1:0", "--exit-zero", "143", "--exit-zero=130,2", "--cpu", "ceil",
          "--cpu-env", "NPROC", "--memory=0.9", "--nofile", "max", "--user", "1000:2000",
          "--seccomp", "/etc/armlet/seccomp.bpf", "--preload=/etc/armlet/preload", "--verbose",
          "--", "prog", "--not-an-option");
    CHECK(o.pgroup == 1 && o.verbose == 1);
    CHECK(o.grace_ns == 5000000000LL && o.stop_delay_ns == 1500000000LL);
    CHECK(o.rewrite[SIGTERM] == SIGQUIT && o.rewrite[SIGUSR1] == 0 && o.rewrite[SIGINT] == SIGINT);
    CHECK(o.exit_zero[143 >> 5] >> (143 & 31) & 1 && o.exit_zero[130 >> 5] >> (130 & 31) & 1);
    CHECK(o.exit_zero[0] == 1u << 2);
    CHECK(o.cpu == CPU_CEIL && o.n_cpu_env == 1);
    CHECK_STR(o.cpu_env[0], "NPROC");
    CHECK(o.memory_ppm == 900000);
    CHECK(o.nofile_mode == 2);
    CHECK(o.has_user && o.uid == 1000 && o.gid == 2000);
    CHECK_STR(o.seccomp, "/etc/armlet/seccomp.bpf");
    CHECK_STR(o.preload, "/etc/armlet/preload");
    CHECK_STR(o.argv[0], "prog");
    CHECK_STR(o.argv[1], "--not-an-option");
}

static void test_user_forms(void)
{
    PARSE("--user", "nonroot", "p");
    CHECK(o.uid == 65532 && o.gid == 65532);
    PARSE("--user", "root", "p");
    CHECK(o.has_user && o.uid == 0 && o.gid == 0);
    PARSE("--user", "1234", "p");
    CHECK(o.uid == 1234 && o.gid == 1234);
    PARSE("--nofile", "4096", "--memory", "off", "--cpu", "floor", "p");
    CHECK(o.nofile_mode == 1 && o.nofile == 4096 && o.memory_off && o.cpu == CPU_FLOOR);
    PARSE("--memory", "1", "p");
    CHECK(o.memory_ppm == 1000000);
    PARSE("--memory", ".5", "p");
    CHECK(o.memory_ppm == 500000);
}

static void test_environment_applies_and_flags_win(void)
{
    setenv("ARMLET_INIT_GRACE", "5s", 1);
    setenv("ARMLET_INIT_VERBOSE", "1", 1);
    setenv("ARMLET_INIT_EXIT_ZERO", "143,130", 1);
    setenv("ARMLET_INIT_STOP_DELAY", "2s", 1);
    setenv("ARMLET_INIT_REWRITE", "TERM:QUIT", 1);
    setenv("ARMLET_INIT_DIR", "/not/an/init/option", 1); /* the builder's: ignored */
    setenv("ARMLET_INIT_PGROUP", "", 1);                 /* empty bool: off */
    PARSE("--grace", "1s", "--rewrite", "TERM:INT", "p");
    CHECK(o.grace_ns == 1000000000LL);     /* flag wins */
    CHECK(o.stop_delay_ns == 2000000000LL); /* env applies */
    CHECK(o.verbose == 1 && o.pgroup == 0);
    CHECK(o.rewrite[SIGTERM] == SIGINT);
    CHECK(o.exit_zero[143 >> 5] >> (143 & 31) & 1 && o.exit_zero[130 >> 5] >> (130 & 31) & 1);
    CHECK(o.exit_zero[0] == 0);
    setenv("ARMLET_INIT_VERBOSE", "0", 1);
    PARSE("p");
    CHECK(o.verbose == 0);
    unsetenv("ARMLET_INIT_GRACE");
    unsetenv("ARMLET_INIT_VERBOSE");
    unsetenv("ARMLET_INIT_EXIT_ZERO");
    unsetenv("ARMLET_INIT_STOP_DELAY");
    unsetenv("ARMLET_INIT_REWRITE");
    unsetenv("ARMLET_INIT_DIR");
    unsetenv("ARMLET_INIT_PGROUP");
}

static void test_bad_options_and_values_exit_2(void)
{
    CHECK(PARSE_STATUS("--bogus", "p") == 2);
    CHECK(PARSE_STATUS("-x", "p") == 2);
    CHECK(PARSE_STATUS("--grace", "soon", "p") == 2);
    CHECK(PARSE_STATUS("--grace") == 2);
    CHECK(PARSE_STATUS("--pgroup=1", "p") == 2);
    CHECK(PARSE_STATUS("--rewrite", "TERM", "p") == 2);
    CHECK(PARSE_STATUS("--rewrite", "TERM:NOPE", "p") == 2);
    CHECK(PARSE_STATUS("--rewrite", "KILL:TERM", "p") == 2);
    CHECK(PARSE_STATUS("--rewrite", "CHLD:TERM", "p") == 2);
    CHECK(PARSE_STATUS("--exit-zero", "256", "p") == 2);
    CHECK(PARSE_STATUS("--exit-zero", "1,,2", "p") == 2);
    CHECK(PARSE_STATUS("--cpu", "half", "p") == 2);
    CHECK(PARSE_STATUS("--cpu-env", "1BAD", "p") == 2);
    CHECK(PARSE_STATUS("--memory", "1.5", "p") == 2);
    CHECK(PARSE_STATUS("--memory", "0", "p") == 2);
    CHECK(PARSE_STATUS("--nofile", "lots", "p") == 2);
    CHECK(PARSE_STATUS("--nofile", "0", "p") == 2);
    CHECK(PARSE_STATUS("--user", "bob", "p") == 2);
    CHECK(PARSE_STATUS("--user", "1:x", "p") == 2);
    CHECK(PARSE_STATUS("--user", "4294967295", "p") == 2);
    CHECK(PARSE_STATUS("--seccomp=", "p") == 2);
    CHECK(PARSE_STATUS("--verbose") == 2); /* no PROGRAM */
    CHECK(PARSE_STATUS("--") == 2);
    setenv("ARMLET_INIT_GRACE", "soon", 1);
    CHECK(PARSE_STATUS("p") == 2);
    unsetenv("ARMLET_INIT_GRACE");
    setenv("ARMLET_INIT_VERBOSE", "maybe", 1);
    CHECK(PARSE_STATUS("p") == 2);
    unsetenv("ARMLET_INIT_VERBOSE");
}

static void test_help_and_version_exit_0(void)
{
    CHECK(PARSE_STATUS("--help") == 0);
    CHECK(PARSE_STATUS("-h") == 0);
    CHECK(PARSE_STATUS("--version") == 0);
}

static void test_exit_zero_takes_every_code(void)
{
    char list[256 * 4 + 1], *p = list;
    for (int c = 0; c < 256; c++)
        p += sprintf(p, "%s%d", c ? "," : "", c);
    PARSE("--exit-zero", list, "p");
    for (int c = 0; c < 256; c++)
        CHECK(o.exit_zero[c >> 5] >> (c & 31) & 1);
}

/* armlet-init accepts exactly the values the recipe accepts (the same rows are written
 * into recipes in test_recipe.c): --KEY=VALUE, and probe's URL parser for "health". */
static void test_shared_values_table(void)
{
    for (size_t i = 0; i < sizeof value_cases / sizeof value_cases[0]; i++) {
        const struct value_case *c = &value_cases[i];
        int ok;
        if (!strcmp(c->key, "health")) {
            struct armlet_url t;
            const char *why = NULL;
            ok = probe_url_parse(c->value, &t, &why) == 0;
        } else {
            char arg[256];
            snprintf(arg, sizeof arg, "--%s=%s", c->key, c->value);
            ok = PARSE_STATUS(arg, "p") == 0;
        }
        if (ok != c->ok) {
            fprintf(stderr, "the init %s %s=%s, the table says %s\n", ok ? "accepts" : "refuses",
                    c->key, c->value, c->ok ? "accepted" : "refused");
            unit_failures++;
            unit_current_failed = 1;
        }
    }
}

int main(void)
{
    RUN(test_durations_accept_units_fractions_and_plain_seconds);
    RUN(test_durations_reject_garbage_negative_and_huge);
    RUN(test_signal_names_and_numbers_round_trip);
    RUN(test_integers_parse_and_format);
    RUN(test_defaults_are_off_and_rewrite_is_identity);
    RUN(test_every_option_parses_in_both_spellings);
    RUN(test_user_forms);
    RUN(test_environment_applies_and_flags_win);
    RUN(test_bad_options_and_values_exit_2);
    RUN(test_help_and_version_exit_0);
    RUN(test_exit_zero_takes_every_code);
    RUN(test_shared_values_table);
    return unit_done();
}
