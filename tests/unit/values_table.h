/* tests/unit/values_table.h — one table of option values fed to both sides of
 * common/armlet_parse.h: test_recipe.c (test_shared_values_table) writes each row into a
 * recipe, test_init_options.c (test_shared_values_table) gives it to armlet-init's own
 * parser. Both must say the same: `ok` 1 accepted, 0 refused. The recipe writes
 *   key "user"    -> `user VALUE`           the init: --user=VALUE
 *   key "health"  -> `health VALUE`         the init: probe's URL parser
 *   any other     -> `init KEY=VALUE`       the init: --KEY=VALUE
 * (`cpu` is not here: the recipe's values are mapped by the builder, see
 * docs/README-limits.md.) */
#ifndef ARMLET_VALUES_TABLE_H
#define ARMLET_VALUES_TABLE_H

static const struct value_case {
    const char *key, *value;
    int ok;
} value_cases[] = {
    /* durations */
    {"grace", "10s", 1}, {"grace", "2.5s", 1}, {"grace", "250us", 1}, {"grace", "100ns", 1},
    {"grace", "3", 1}, {"grace", ".5s", 1}, {"grace", "1h", 1}, {"stop-delay", "1000000s", 1},
    {"stop-delay", "1000001s", 0}, {"grace", "1.0000000001s", 0}, {"grace", "10x", 0},
    {"grace", "s", 0}, {"grace", "-1s", 0}, {"grace", "1 s", 0},
    /* signals */
    {"rewrite", "TERM:RTMIN+1", 1}, {"rewrite", "USR1:TERM", 1}, {"rewrite", "HUP:0", 1},
    {"rewrite", "sigint:sigquit", 1}, {"rewrite", "15:3", 1}, {"rewrite", "RTMAX-2:TERM", 1},
    {"rewrite", "RTMIN:RTMAX", 1}, {"rewrite", "SIGWINCH:SIGUSR2", 1}, {"rewrite", "34:64", 1},
    {"rewrite", "KILL:TERM", 0}, {"rewrite", "STOP:TERM", 0}, {"rewrite", "CHLD:TERM", 0},
    {"rewrite", "0:TERM", 0}, {"rewrite", "TERM", 0}, {"rewrite", "TERM:", 0},
    {"rewrite", ":TERM", 0}, {"rewrite", "TERM:FOO", 0}, {"rewrite", "RTMIN+31:TERM", 0},
    {"rewrite", "TERM:65", 0}, {"rewrite", "RTMAX+1:TERM", 0}, {"rewrite", "IOT:TERM", 0},
    /* ratios */
    {"memory", "0.9", 1}, {"memory", ".5", 1}, {"memory", "1", 1}, {"memory", "1.0", 1},
    {"memory", "0.0000001", 0}, {"memory", "1.0000001", 1}, {"memory", "off", 1},
    {"memory", "0", 0}, {"memory", "1.5", 0}, {"memory", "-0.5", 0}, {"memory", "50%", 0},
    /* environment variable names */
    {"cpu-env", "UV_THREADPOOL_SIZE", 1}, {"cpu-env", "_x1", 1}, {"cpu-env", "1X", 0},
    {"cpu-env", "A-B", 0}, {"cpu-env", "A B", 0},
    /* numbers */
    {"exit-zero", "143", 1}, {"exit-zero", "0", 1}, {"exit-zero", "256", 0},
    {"nofile", "4096", 1}, {"nofile", "max", 1}, {"nofile", "off", 1},
    {"nofile", "2000000000", 1}, {"nofile", "0", 0}, {"nofile", "-1", 0},
    /* users */
    {"user", "1000", 1}, {"user", "1000:2000", 1}, {"user", "root", 1}, {"user", "nonroot", 1},
    {"user", "4294967294:0", 1}, {"user", "4294967295", 0}, {"user", "0:4294967295", 0},
    {"user", "app", 0}, {"user", "1000:", 0}, {"user", ":1000", 0}, {"user", "1000:x", 0},
    /* probe URLs */
    {"health", "http://127.0.0.1:8080/healthz", 1}, {"health", "http://[::1]/", 1},
    {"health", "http://localhost", 1}, {"health", "tcp://10.0.0.1:5432", 1},
    {"health", "http://x/", 1}, {"health", "tcp://10.0.0.1", 0}, {"health", "tcp://h:80/x", 0},
    {"health", "http://h:0/", 0}, {"health", "http://h:65536/", 0}, {"health", "http://[::1/", 0},
    {"health", "http:///x", 0}, {"health", "https://h/", 0}, {"health", "http://h/a b", 0},
    {"health", "http://h:80x/", 0}, {"health", "http://h?x", 0},
};

#endif
