/* tests/unit/test_recipe.c — the recipe parser: every directive of docs/DESIGN.md, the
 * defaults, shell-like word splitting, the JSON exec form, ${os}/${arch}/${variant},
 * and every error with its "file:line:col: directive:" prefix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "armlet_parse.h"
#include "recipe/recipe.h"
#include "unit.h"
#include "values_table.h"

static struct err last_err;

/* Parse text as "t/app.recipe"; NULL on error (message in last_err). */
static struct recipe *parse(const char *text)
{
    struct recipe *r = NULL;
    memset(&last_err, 0, sizeof last_err);
    if (recipe_parse_buffer("t/app.recipe", text, strlen(text), &r, &last_err) < 0) {
        CHECK(r == NULL);
        return NULL;
    }
    return r;
}

/* The error message for text, which must fail. */
static const char *error_of(const char *text)
{
    struct recipe *r = parse(text);
    if (r) {
        fprintf(stderr, "parsed but should not have: %s\n", text);
        recipe_free(r);
        return "(parsed)";
    }
    return last_err.msg;
}

#define CHECK_ERR(text, want) do { const char *m_ = error_of(text); \
    if (!strstr(m_, want)) { fprintf(stderr, "%s:%d: error for %s\n   is: %s\n want: %s\n", \
        __FILE__, __LINE__, #text, m_, want); unit_failures++; unit_current_failed = 1; } } while (0)

#define MIN "name app\nentrypoint /app\n"

static void test_design_example_sets_every_field(void)
{
    struct recipe *r = parse(
        "name        hello\n"
        "platforms   linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6\n"
        "base        static                    # or: scratch\n"
        "file        /app  dist/hello-${arch}${variant}  mode=0755\n"
        "dir         /data mode=0750 owner=65532:65532\n"
        "symlink     /usr/bin/hello /app\n"
        "archive     /opt/tool dist/tool_${arch}.tar.gz   # unpacked with libarchive\n"
        "env         TZ=UTC\n"
        "user        nonroot                   # root | nonroot | UID[:GID]\n"
        "workdir     /home/nonroot\n"
        "entrypoint  /app --listen :8080       # or exec form\n"
        "cmd         --verbose\n"
        "expose      8080/tcp\n"
        "label       org.opencontainers.image.source=https://example.com/hello\n"
        "stop-signal SIGTERM\n"
        "health      http://127.0.0.1:8080/healthz interval=10s timeout=2s retries=3\n"
        "init        cpu=floor memory=0.9 nofile=max seccomp=default preload=entrypoint grace=10s\n");
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "%s\n", last_err.msg);
        return;
    }
    CHECK_STR(r->name, "hello");
    CHECK_STR(r->path, "t/app.recipe");
    CHECK_STR(r->dir, "t");
    CHECK(r->nplatforms == 4);
    CHECK_STR(r->platforms[0]->oci, "linux/amd64");
    CHECK_STR(r->platforms[3]->oci, "linux/arm/v6");
    CHECK(r->base == BASE_STATIC);
    CHECK(r->nentries == 4);
    CHECK(r->entries[0].kind == ENTRY_FILE);
    CHECK_STR(r->entries[0].dest, "/app");
    CHECK_STR(r->entries[0].src, "dist/hello-${arch}${variant}");
    CHECK(r->entries[0].has_mode && r->entries[0].mode == 0755);
    CHECK(!r->entries[0].has_owner && !r->entries[0].libs);
    CHECK(r->entries[0].loc.line == 4 && r->entries[0].loc.col == 13);
    CHECK_STR(r->entries[0].loc.file, "t/app.recipe");
    CHECK(r->entries[1].kind == ENTRY_DIR && r->entries[1].src == NULL);
    CHECK(r->entries[1].mode == 0750 && r->entries[1].has_owner);
    CHECK(r->entries[1].uid == 65532 && r->entries[1].gid == 65532);
    CHECK(r->entries[2].kind == ENTRY_SYMLINK);
    CHECK_STR(r->entries[2].dest, "/usr/bin/hello");
    CHECK_STR(r->entries[2].src, "/app");
    CHECK(r->entries[3].kind == ENTRY_ARCHIVE);
    CHECK_STR(r->entries[3].src, "dist/tool_${arch}.tar.gz");
    CHECK(r->nenv == 1);
    CHECK_STR(r->env[0].key, "TZ");
    CHECK_STR(r->env[0].value, "UTC");
    CHECK(r->has_user && r->uid == 65532 && r->gid == 65532);
    CHECK_STR(r->workdir, "/home/nonroot");
    CHECK(r->nentrypoint == 3);
    CHECK_STR(r->entrypoint[0], "/app");
    CHECK_STR(r->entrypoint[2], ":8080");
    CHECK(r->entrypoint[3] == NULL);
    CHECK(r->ncmd == 1);
    CHECK_STR(r->cmd[0], "--verbose");
    CHECK(r->nexpose == 1);
    CHECK_STR(r->expose[0], "8080/tcp");
    CHECK(r->nlabels == 1);
    CHECK_STR(r->labels[0].key, "org.opencontainers.image.source");
    CHECK_STR(r->labels[0].value, "https://example.com/hello");
    CHECK_STR(r->stop_signal, "SIGTERM");
    CHECK_STR(r->health.url, "http://127.0.0.1:8080/healthz");
    CHECK(r->health.interval_ns == 10000000000LL);
    CHECK(r->health.timeout_ns == 2000000000LL);
    CHECK(r->health.retries == 3);
    CHECK(r->ninit == 6);
    CHECK_STR(r->init[5].key, "grace");
    CHECK_STR(recipe_init_get(r, "grace"), "10s");
    CHECK_STR(recipe_init_get(r, "cpu"), "floor");
    recipe_free(r);
}

static void test_defaults_without_optional_lines(void)
{
    struct recipe *r = parse(MIN);
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK(r->nplatforms == 4);
    for (size_t i = 0; i < 4 && i < r->nplatforms; i++)
        CHECK(r->platforms[i] == &platform_table[i]);
    CHECK(r->base == BASE_STATIC);
    CHECK(!r->has_user);
    CHECK(r->workdir == NULL && r->stop_signal == NULL && r->health.url == NULL);
    CHECK(r->health.interval_ns == 30000000000LL && r->health.timeout_ns == 30000000000LL);
    CHECK(r->health.retries == 3);
    CHECK(r->ncmd == 0 && r->nentries == 0);
    /* the init defaults, in this order */
    const char *want[][2] = {{"cpu", "floor"}, {"memory", "0.9"}, {"nofile", "max"},
                             {"seccomp", "default"}, {"preload", "none"}};
    CHECK(r->ninit == 5);
    for (size_t i = 0; i < 5 && i < r->ninit; i++) {
        CHECK_STR(r->init[i].key, want[i][0]);
        CHECK_STR(r->init[i].value, want[i][1]);
        CHECK_STR(r->init[i].loc.file, "t/app.recipe");   /* a default: file, line 0 */
        CHECK(r->init[i].loc.line == 0);
    }
    CHECK(recipe_init_get(r, "grace") == NULL);
    recipe_free(r);
}

static void test_recipe_dir_for_relative_sources(void)
{
    struct recipe *r = NULL;
    struct err e;
    const char *cases[][2] = {{"app.recipe", "."}, {"/app.recipe", "/"}, {"a/b/c.recipe", "a/b"},
                              {"/srv/x/r", "/srv/x"}};
    for (size_t i = 0; i < 4; i++) {
        CHECK(recipe_parse_buffer(cases[i][0], MIN, strlen(MIN), &r, &e) == 0);
        if (r)
            CHECK_STR(r->dir, cases[i][1]);
        recipe_free(r);
    }
}

static void test_words_split_like_a_shell(void)
{
    struct recipe *r = parse(
        "name app\n"
        "entrypoint /app 'single # quoted' \"dq \\\"esc\\\" \\$x \\\\ \\n\" back\\ slash a#b \"\" # comment\n"
        "cmd --one \\\n"
        "    --two  'it'\"'\"'s'\n"
        "\t# an indented comment line\n"
        "\n"
        "env A=\"x y\" B='$HOME' C=\n");
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "%s\n", last_err.msg);
        return;
    }
    CHECK(r->nentrypoint == 6);
    if (r->nentrypoint == 6) {
        CHECK_STR(r->entrypoint[1], "single # quoted");
        CHECK_STR(r->entrypoint[2], "dq \"esc\" $x \\ \\n");   /* \n is not an escape in "" */
        CHECK_STR(r->entrypoint[3], "back slash");
        CHECK_STR(r->entrypoint[4], "a#b");                     /* '#' inside a word is text */
        CHECK_STR(r->entrypoint[5], "");                        /* "" is an empty word */
    }
    CHECK(r->ncmd == 3);   /* backslash-newline joined the two lines */
    if (r->ncmd == 3) {
        CHECK_STR(r->cmd[0], "--one");
        CHECK_STR(r->cmd[1], "--two");
        CHECK_STR(r->cmd[2], "it's");   /* 'it' "'" 's' make one word */
    }
    recipe_free(r);
    r = parse("name app\r\nentrypoint /app\r\nenv A=\"x y\" B='$HOME' C=\r\n");
    CHECK(r && r->nenv == 3);   /* CRLF files work */
    if (r && r->nenv == 3) {
        CHECK_STR(r->env[0].value, "x y");
        CHECK_STR(r->env[1].value, "$HOME");
        CHECK_STR(r->env[2].value, "");
    }
    recipe_free(r);
    /* a UTF-8 byte order mark before the first directive is ignored */
    r = parse("\xef\xbb\xbfname app\nentrypoint /app\n");
    CHECK(r != NULL);
    recipe_free(r);
}

static void test_entrypoint_and_cmd_json_exec_form(void)
{
    struct recipe *r = parse("name app\n"
                             "entrypoint [\"/app\", \"--listen\", \":8080\"]   # exec form\n"
                             "cmd [\"say \\\"hi\\\"\", \"caf\\u00e9\", \"#not a comment\"]\n");
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "%s\n", last_err.msg);
        return;
    }
    CHECK(r->nentrypoint == 3);
    CHECK_STR(r->entrypoint[0], "/app");
    CHECK_STR(r->entrypoint[2], ":8080");
    CHECK(r->ncmd == 3);
    CHECK_STR(r->cmd[0], "say \"hi\"");
    CHECK_STR(r->cmd[1], "caf\xc3\xa9");
    CHECK_STR(r->cmd[2], "#not a comment");
    CHECK(r->cmd[3] == NULL);
    recipe_free(r);
    /* a quoted '[' is a plain word, not JSON */
    r = parse("name app\nentrypoint '[' x\n");
    CHECK(r && r->nentrypoint == 2);
    if (r)
        CHECK_STR(r->entrypoint[0], "[");
    recipe_free(r);
    CHECK_ERR("name app\nentrypoint [\"/app\", 3]\n", "t/app.recipe:2:12: entrypoint: element 2 of the JSON array is not a string");
    CHECK_ERR("name app\nentrypoint []\n", "t/app.recipe:2:12: entrypoint: expected a non-empty JSON array of strings");
    CHECK_ERR("name app\ncmd [\"/app\",\n", "t/app.recipe:2:12: cmd: bad JSON exec form: ']' expected");
    CHECK_ERR("name app\ncmd [\"/app\"] extra\n", "t/app.recipe:2:");
    CHECK_ERR("name app\ncmd [\"/app\", \"\\u0000\"]\n", "cmd: bad JSON exec form");
}

static void test_user_forms_are_numeric(void)
{
    const struct { const char *v; unsigned uid, gid; } ok[] = {
        {"root", 0, 0}, {"nonroot", 65532, 65532}, {"1000", 1000, 1000}, {"1000:2000", 1000, 2000},
        {"0:0", 0, 0}, {"4294967294:7", 4294967294u, 7},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, MIN "user %s\n", ok[i].v);
        struct recipe *r = parse(text);
        CHECK(r && r->has_user && r->uid == ok[i].uid && r->gid == ok[i].gid);
        recipe_free(r);
    }
    const char *bad[] = {"nobody", "-1", "4294967295", "1000:", ":1000", "1:2:3", "0x10", " 1", "1 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, MIN "user '%s'\n", bad[i]);
        CHECK_ERR(text, "t/app.recipe:3:6: user: bad user");
    }
}

static void test_file_dir_options(void)
{
    struct recipe *r = parse(MIN "file /bin/app ./app mode=755 owner=1:2 libs\n"
                                 "file /etc/conf conf owner=nonroot\n"
                                 "dir /var/x mode=1777\n"
                                 "dir / mode=0755\n"
                                 "archive / rootfs.tar\n");
    CHECK(r && r->nentries == 5);
    if (!r || r->nentries != 5) {
        recipe_free(r);
        return;
    }
    CHECK(r->entries[0].mode == 0755 && r->entries[0].uid == 1 && r->entries[0].gid == 2 &&
          r->entries[0].libs == 1);
    CHECK(!r->entries[1].has_mode && r->entries[1].uid == 65532);
    CHECK(r->entries[2].mode == 01777);
    recipe_free(r);
    CHECK_ERR(MIN "file /a b mode=0999\n", "t/app.recipe:3:11: file: bad mode \"0999\": expected octal digits, at most 07777");
    CHECK_ERR(MIN "file /a b mode=17777\n", "t/app.recipe:3:11: file: bad mode");
    CHECK_ERR(MIN "file /a b mode=\n", "file: bad mode \"\"");
    CHECK_ERR(MIN "file /a b mode=0755 mode=0644\n", "t/app.recipe:3:21: file: mode given twice");
    CHECK_ERR(MIN "file /a b owner=bob\n", "t/app.recipe:3:11: file: bad owner \"bob\"");
    CHECK_ERR(MIN "file /a b owner=1:x\n", "file: bad owner");
    CHECK_ERR(MIN "file /a b static\n", "t/app.recipe:3:11: file: unexpected argument \"static\": expected DEST SRC");
    CHECK_ERR(MIN "dir /a libs\n", "t/app.recipe:3:8: dir: unexpected argument \"libs\"");
    CHECK_ERR(MIN "file /a b mode=0755 owner=0 libs extra\n", "t/app.recipe:3:34: file: unexpected argument \"extra\"");
    CHECK_ERR(MIN "file /a\n", "t/app.recipe:3:1: file: missing argument: expected DEST SRC");
    CHECK_ERR(MIN "file /a ''\n", "t/app.recipe:3:9: file: empty source");
    CHECK_ERR(MIN "symlink /a\n", "t/app.recipe:3:1: symlink: missing argument: expected LINK TARGET");
    CHECK_ERR(MIN "symlink /a b mode=0777\n", "t/app.recipe:3:14: symlink: unexpected argument");
    CHECK_ERR(MIN "archive /a b owner=0\n", "t/app.recipe:3:14: archive: unexpected argument");
    CHECK_ERR(MIN "dir\n", "t/app.recipe:3:1: dir: missing argument");
}

static void test_destinations_absolute_without_dotdot(void)
{
    CHECK_ERR(MIN "file app dist/app\n", "t/app.recipe:3:6: file: destination \"app\" must be an absolute path");
    CHECK_ERR(MIN "dir  data\n", "t/app.recipe:3:6: dir: destination \"data\" must be an absolute path");
    CHECK_ERR(MIN "file /app/../etc/passwd x\n", "t/app.recipe:3:6: file: destination \"/app/../etc/passwd\" must not contain \"..\"");
    CHECK_ERR(MIN "archive /opt/.. x.tar\n", "archive: destination \"/opt/..\" must not contain \"..\"");
    CHECK_ERR(MIN "symlink ../x /app\n", "symlink: destination \"../x\" must be an absolute path");
    CHECK_ERR(MIN "file /usr/bin/ x\n", "file: destination \"/usr/bin/\" must name a file");
    CHECK_ERR(MIN "workdir srv\n", "t/app.recipe:3:9: workdir: destination \"srv\" must be an absolute path");
    /* ".." inside a name is just a name; a symlink target may be relative */
    struct recipe *r = parse(MIN "file /a/..b/c.. x\nsymlink /usr/bin/x ../lib/x\n");
    CHECK(r != NULL);
    recipe_free(r);
}

static void test_platforms_list(void)
{
    struct recipe *r = parse(MIN "platforms linux/arm/v6 linux/arm64\n");
    CHECK(r && r->nplatforms == 2);
    if (r && r->nplatforms == 2) {
        CHECK_STR(r->platforms[0]->oci, "linux/arm/v6");
        CHECK_STR(r->platforms[1]->oci, "linux/arm64");
    }
    recipe_free(r);
    CHECK_ERR(MIN "platforms linux/amd64 linux/riscv64\n",
              "t/app.recipe:3:23: platforms: unknown platform \"linux/riscv64\": expected linux/amd64, linux/arm64, linux/arm/v7 or linux/arm/v6");
    CHECK_ERR(MIN "platforms linux/arm/v7 linux/arm/v7\n", "t/app.recipe:3:24: platforms: platform \"linux/arm/v7\" listed twice");
    CHECK_ERR(MIN "platforms\n", "t/app.recipe:3:1: platforms: missing argument");
    CHECK_ERR(MIN "platforms linux/amd64\nplatforms linux/arm64\n", "t/app.recipe:4:1: platforms: given twice (first on line 3)");
}

static void test_single_valued_directives_refuse_a_second_line(void)
{
    CHECK_ERR("name a\nname b\nentrypoint /x\n", "t/app.recipe:2:1: name: given twice (first on line 1)");
    CHECK_ERR(MIN "base static\nbase scratch\n", "t/app.recipe:4:1: base: given twice (first on line 3)");
    CHECK_ERR(MIN "user root\nuser nonroot\n", "t/app.recipe:4:1: user: given twice (first on line 3)");
    CHECK_ERR(MIN "entrypoint /b\n", "t/app.recipe:3:1: entrypoint: given twice (first on line 2)");
    CHECK_ERR(MIN "cmd a\ncmd b\n", "t/app.recipe:4:1: cmd: given twice");
    CHECK_ERR(MIN "workdir /a\nworkdir /b\n", "t/app.recipe:4:1: workdir: given twice");
    CHECK_ERR(MIN "stop-signal TERM\nstop-signal INT\n", "t/app.recipe:4:1: stop-signal: given twice");
    CHECK_ERR(MIN "health http://x/\nhealth http://y/\n", "t/app.recipe:4:1: health: given twice");
}

static void test_base_and_name_values(void)
{
    struct recipe *r = parse(MIN "base scratch\n");
    CHECK(r && r->base == BASE_SCRATCH);
    recipe_free(r);
    CHECK_ERR(MIN "base alpine\n", "t/app.recipe:3:6: base: unknown base \"alpine\": expected static or scratch");
    CHECK_ERR("name Hello\nentrypoint /x\n", "t/app.recipe:1:6: name: bad name \"Hello\"");
    CHECK_ERR("name -x\nentrypoint /x\n", "name: bad name");
    CHECK_ERR("name x/\nentrypoint /x\n", "name: bad name \"x/\"");
    CHECK_ERR("name a b\nentrypoint /x\n", "t/app.recipe:1:8: name: unexpected argument \"b\": expected an image name");
    r = parse("name ghcr.io/me/hello_world-2\nentrypoint /x\n");
    CHECK(r != NULL);
    recipe_free(r);
}

static void test_env_and_labels(void)
{
    struct recipe *r = parse(MIN "env A=1 B=x=y\nenv _C9=\nlabel a.b=\"two words\" c=\n");
    CHECK(r && r->nenv == 3 && r->nlabels == 2);
    if (r && r->nenv == 3) {
        CHECK_STR(r->env[1].key, "B");
        CHECK_STR(r->env[1].value, "x=y");
        CHECK_STR(r->env[2].key, "_C9");
        CHECK(r->env[2].loc.line == 4 && r->env[2].loc.col == 5);
        CHECK_STR(r->labels[0].value, "two words");
    }
    recipe_free(r);
    CHECK_ERR(MIN "env A\n", "t/app.recipe:3:5: env: expected KEY=VALUE, got \"A\"");
    CHECK_ERR(MIN "env =x\n", "t/app.recipe:3:5: env: expected KEY=VALUE");
    CHECK_ERR(MIN "env 9A=x\n", "t/app.recipe:3:5: env: bad variable name \"9A\"");
    CHECK_ERR(MIN "env A-B=x\n", "env: bad variable name \"A-B\"");
    CHECK_ERR(MIN "env A=1\nenv A=2\n", "t/app.recipe:4:5: env: \"A\" already set on line 3");
    CHECK_ERR(MIN "label x=1 x=2\n", "t/app.recipe:3:11: label: \"x\" already set on line 3");
    CHECK_ERR(MIN "label\n", "t/app.recipe:3:1: label: missing argument: expected KEY=VALUE");
}

static void test_expose_ports(void)
{
    struct recipe *r = parse(MIN "expose 8080 53/udp 9000/TCP\nexpose 132/sctp 65535\n");
    CHECK(r && r->nexpose == 5);
    if (r && r->nexpose == 5) {
        CHECK_STR(r->expose[0], "8080/tcp");
        CHECK_STR(r->expose[1], "53/udp");
        CHECK_STR(r->expose[2], "9000/tcp");
        CHECK_STR(r->expose[3], "132/sctp");
        CHECK_STR(r->expose[4], "65535/tcp");
    }
    recipe_free(r);
    CHECK_ERR(MIN "expose 0\n", "t/app.recipe:3:8: expose: bad port \"0\": expected 1-65535");
    CHECK_ERR(MIN "expose 65536\n", "expose: bad port");
    CHECK_ERR(MIN "expose 80/http\n", "t/app.recipe:3:8: expose: bad protocol \"http\": expected tcp, udp or sctp");
    CHECK_ERR(MIN "expose http\n", "expose: bad port");
    CHECK_ERR(MIN "expose 80 80/tcp\n", "t/app.recipe:3:11: expose: port 80/tcp exposed twice");
}

static void test_stop_signal_canonical(void)
{
    const char *forms[][2] = {{"SIGTERM", "SIGTERM"}, {"TERM", "SIGTERM"}, {"15", "SIGTERM"},
                              {"sigint", "SIGINT"}, {"quit", "SIGQUIT"}, {"10", "SIGUSR1"},
                              {"SIGWINCH", "SIGWINCH"}, {"IOT", "SIGABRT"}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, MIN "stop-signal %s\n", forms[i][0]);
        struct recipe *r = parse(text);
        CHECK(r != NULL);
        if (r)
            CHECK_STR(r->stop_signal, forms[i][1]);
        recipe_free(r);
    }
    CHECK_ERR(MIN "stop-signal SIGFOO\n", "t/app.recipe:3:13: stop-signal: unknown signal \"SIGFOO\"");
    CHECK_ERR(MIN "stop-signal 0\n", "stop-signal: unknown signal \"0\"");
    CHECK_ERR(MIN "stop-signal 32\n", "stop-signal: unknown signal");
    CHECK_ERR(MIN "stop-signal\n", "t/app.recipe:3:1: stop-signal: missing argument");
}

static void test_health_line(void)
{
    struct recipe *r = parse(MIN "health http://127.0.0.1:8080/ready retries=5 interval=500ms\n");
    CHECK(r != NULL);
    if (r) {
        CHECK_STR(r->health.url, "http://127.0.0.1:8080/ready");
        CHECK(r->health.retries == 5 && r->health.interval_ns == 500000000LL);
        CHECK(r->health.timeout_ns == 30000000000LL);
    }
    recipe_free(r);
    r = parse(MIN "health http://x/ timeout=1.5s interval=2m\n");
    CHECK(r && r->health.timeout_ns == 1500000000LL && r->health.interval_ns == 120000000000LL);
    recipe_free(r);
    CHECK_ERR(MIN "health localhost:8080\n", "t/app.recipe:3:8: health: bad URL \"localhost:8080\": expected http://");
    CHECK_ERR(MIN "health http://x/ interval=10x\n", "t/app.recipe:3:18: health: bad duration \"10x\"");
    CHECK_ERR(MIN "health http://x/ timeout=0s\n", "health: bad duration \"0s\"");
    CHECK_ERR(MIN "health http://x/ retries=-1\n", "health: bad retries \"-1\"");
    CHECK_ERR(MIN "health http://x/ every=5s\n", "t/app.recipe:3:18: health: unexpected argument \"every=5s\"");
    CHECK_ERR(MIN "health http://x/ retries=1 retries=2\n", "t/app.recipe:3:28: health: retries given twice");
}

/* tcp://HOST:PORT is the probe's other form (init/probe.c): healthy when it connects. */
static void test_health_tcp_url(void)
{
    static const char *const good[] = {"tcp://127.0.0.1:5432", "tcp://localhost:1", "tcp://[::1]:65535"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, MIN "health %s timeout=2s\n", good[i]);
        struct recipe *r = parse(text);
        CHECK(r != NULL);
        if (r) {
            CHECK_STR(r->health.url, good[i]);
            CHECK(r->health.timeout_ns == 2000000000LL && r->health.retries == 3);
        }
        recipe_free(r);
    }
    /* No port, port 0 or past 65535, a path or junk in the host: the probe would refuse them. */
    CHECK_ERR(MIN "health tcp://127.0.0.1\n",
              "t/app.recipe:3:8: health: bad URL \"tcp://127.0.0.1\": expected http://HOST[:PORT]/PATH or tcp://HOST:PORT");
    CHECK_ERR(MIN "health tcp://db:0\n", "health: bad URL \"tcp://db:0\"");
    CHECK_ERR(MIN "health tcp://db:65536\n", "health: bad URL \"tcp://db:65536\"");
    CHECK_ERR(MIN "health tcp://db:80/x\n", "health: bad URL \"tcp://db:80/x\"");
    CHECK_ERR(MIN "health tcp://:80\n", "health: bad URL \"tcp://:80\"");
    CHECK_ERR(MIN "health tcp://a/b:80\n", "health: bad URL \"tcp://a/b:80\"");
    CHECK_ERR(MIN "health tcp://::1:80\n", "health: bad URL \"tcp://::1:80\"");
    CHECK_ERR(MIN "health tcp://[::1:80\n", "health: bad URL \"tcp://[::1:80\"");
    CHECK_ERR(MIN "health udp://db:53\n", "health: bad URL \"udp://db:53\"");
}

static void test_init_line_overrides_defaults_key_by_key(void)
{
    struct recipe *r = parse(MIN "init grace=10s cpu=off pgroup rewrite=TERM:quit rewrite=hup:0\n"
                                 "init exit-zero=143 exit-zero=130 verbose=no memory=.5 nofile=4096\n"
                                 "init stop-delay=2 cpu-env=NPROC seccomp=unconfined preload=none\n");
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "%s\n", last_err.msg);
        return;
    }
    /* defaults keep their place; the rest follow in recipe order */
    const char *want[][2] = {
        {"cpu", "off"}, {"memory", ".5"}, {"nofile", "4096"}, {"seccomp", "unconfined"},
        {"preload", "none"}, {"grace", "10s"}, {"pgroup", ""}, {"rewrite", "SIGTERM:SIGQUIT"},
        {"rewrite", "SIGHUP:0"}, {"exit-zero", "143"}, {"exit-zero", "130"},
        {"stop-delay", "2"}, {"cpu-env", "NPROC"},
    };
    size_t nwant = sizeof want / sizeof want[0];
    CHECK(r->ninit == nwant);
    for (size_t i = 0; i < nwant && i < r->ninit; i++) {
        CHECK_STR(r->init[i].key, want[i][0]);
        CHECK_STR(r->init[i].value, want[i][1]);
    }
    CHECK(recipe_init_get(r, "verbose") == NULL);   /* verbose=no: no flag */
    recipe_free(r);
    /* a partial init line keeps every other default */
    r = parse(MIN "init grace=5s\n");
    CHECK(r && r->ninit == 6);
    if (r)
        CHECK_STR(recipe_init_get(r, "seccomp"), "default");
    recipe_free(r);
}

static void test_init_errors(void)
{
    CHECK_ERR(MIN "init cpus=2\n", "t/app.recipe:3:6: init: unknown key \"cpus\": expected pgroup, grace");
    CHECK_ERR(MIN "init user=0\n", "t/app.recipe:3:6: init: set the init's user with the \"user\" directive");
    CHECK_ERR(MIN "init cpu=half\n", "t/app.recipe:3:6: init: bad cpu \"half\": expected floor, ceil, off, force or force-ceil");
    CHECK_ERR(MIN "init cpu\n", "init: bad cpu \"\"");
    CHECK_ERR(MIN "init memory=1.5\n", "init: bad memory \"1.5\": expected a ratio 0 < R <= 1, or off");
    CHECK_ERR(MIN "init memory=0\n", "init: bad memory \"0\"");
    CHECK_ERR(MIN "init memory=0.0000001\n", "init: bad memory");   /* below a millionth */
    CHECK_ERR(MIN "init memory=1e-1\n", "init: bad memory");
    CHECK_ERR(MIN "init nofile=0\n", "init: bad nofile \"0\": expected a number, max or off");
    CHECK_ERR(MIN "init nofile=lots\n", "init: bad nofile");
    CHECK_ERR(MIN "init grace=10\xc2\xb5s\n", "init: bad grace");
    CHECK_ERR(MIN "init grace=1m30s\n", "init: bad grace \"1m30s\": expected a duration");
    CHECK_ERR(MIN "init grace=-1s\n", "init: bad grace");
    CHECK_ERR(MIN "init stop-delay=2000000s\n", "init: bad stop-delay");
    CHECK_ERR(MIN "init rewrite=TERM\n", "init: bad rewrite \"TERM\"");
    CHECK_ERR(MIN "init rewrite=KILL:TERM\n", "init: bad rewrite \"KILL:TERM\"");
    CHECK_ERR(MIN "init rewrite=TERM:FOO\n", "init: bad rewrite");
    CHECK_ERR(MIN "init exit-zero=256\n", "init: bad exit-zero \"256\": expected an exit code 0-255");
    CHECK_ERR(MIN "init cpu-env=1X\n", "init: bad cpu-env \"1X\"");
    CHECK_ERR(MIN "init pgroup=maybe\n", "init: bad pgroup \"maybe\"");
    CHECK_ERR(MIN "init seccomp=\n", "init: bad seccomp \"\"");
    CHECK_ERR(MIN "init grace=1s grace=2s\n", "t/app.recipe:3:15: init: grace given twice (first on line 3)");
    CHECK_ERR(MIN "init cpu=ceil\ninit cpu=floor\n", "t/app.recipe:4:6: init: cpu given twice (first on line 3)");
    CHECK_ERR(MIN "init\n", "t/app.recipe:3:1: init: missing argument");
}

/* The preload default follows the recipe's readiness signal: an http:// health URL (or
 * url=/seconds= on the init line) makes it profile, kept as a default (line 0: the build
 * falls back to none where it cannot record); url=/seconds= ask for it (their line); no
 * signal, or a tcp:// one, keeps none; an explicit preload= wins. */
static void test_preload_default_is_none_and_url_or_seconds_ask_for_profile(void)
{
    static const struct { const char *text, *want; int line; } cases[] = {
        {MIN, "none", 0},
        {MIN "health http://127.0.0.1:8080/healthz\n", "none", 0},   /* opt-in: see recipe.c */
        {MIN "health tcp://127.0.0.1:5432\n", "none", 0},
        {MIN "health http://127.0.0.1:8080/healthz\ninit preload=none\n", "none", 4},
        {MIN "health http://127.0.0.1:8080/healthz\ninit preload=entrypoint\n", "entrypoint", 4},
        {MIN "init url=http://127.0.0.1:9/ready\n", "profile", 3},
        {MIN "init grace=1s seconds=2.5\n", "profile", 3},
        {MIN "init preload=profile url=http://127.0.0.1:9/ seconds=20\n", "profile", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct recipe *r = parse(cases[i].text);
        CHECK(r != NULL);
        if (!r) {
            fprintf(stderr, "%s\n", last_err.msg);
            continue;
        }
        CHECK_STR(recipe_init_get(r, "preload"), cases[i].want);
        for (size_t k = 0; k < r->ninit; k++)
            if (!strcmp(r->init[k].key, "preload") && r->init[k].loc.line != cases[i].line) {
                fprintf(stderr, "case %zu: preload from line %d, want %d\n", i,
                        r->init[k].loc.line, cases[i].line);
                CHECK(0);
            }
        CHECK(recipe_init_get(r, "url") == NULL && recipe_init_get(r, "seconds") == NULL);
        recipe_free(r);
    }
    struct recipe *r = parse(MIN "init preload=profile url=http://127.0.0.1:9/r seconds=20\n");
    CHECK(r && r->profile.url && !strcmp(r->profile.url, "http://127.0.0.1:9/r") &&
          r->profile.seconds == 20 && r->profile.loc.line == 3 && r->profile.loc.col == 22);
    recipe_free(r);
    CHECK_ERR(MIN "init preload=profile url=ftp://x/\n",
              "t/app.recipe:3:22: init: bad url \"ftp://x/\": expected an http://HOST[:PORT]/PATH URL");
    CHECK_ERR(MIN "init url=tcp://127.0.0.1:80\n", "t/app.recipe:3:6: init: bad url");
    CHECK_ERR(MIN "init seconds=0\n", "t/app.recipe:3:6: init: bad seconds \"0\": expected seconds");
    CHECK_ERR(MIN "init seconds=4000\n", "init: bad seconds \"4000\"");
    CHECK_ERR(MIN "init seconds=5s\n", "init: bad seconds \"5s\"");
    CHECK_ERR(MIN "init seconds=1 seconds=2\n", "t/app.recipe:3:16: init: seconds given twice");
    CHECK_ERR(MIN "init preload=entrypoint url=http://127.0.0.1:9/\n",
              "t/app.recipe:3:25: init: url= goes with preload=profile, not preload=entrypoint (line 3)");
    CHECK_ERR(MIN "init seconds=3\ninit preload=app.list\n",
              "t/app.recipe:3:6: init: seconds= goes with preload=profile, not preload=app.list (line 4)");
}

static void test_errors_name_file_line_and_column(void)
{
    CHECK_ERR(MIN "  copy /a b\n", "t/app.recipe:3:3: unknown directive \"copy\": expected name, platforms");
    CHECK_ERR(MIN "FILE /a b\n", "t/app.recipe:3:1: unknown directive \"FILE\"");
    CHECK_ERR(MIN "env A='open\n", "t/app.recipe:3:7: unterminated single quote");
    CHECK_ERR(MIN "cmd \"open\n", "t/app.recipe:3:5: unterminated double quote");
    CHECK_ERR(MIN "cmd \"a\\\"\n", "t/app.recipe:3:5: unterminated double quote");
    CHECK_ERR(MIN "cmd a\\", "t/app.recipe:3:6: backslash at end of file");
    CHECK_ERR("entrypoint /app\n", "t/app.recipe: missing \"name\" line");
    CHECK_ERR("name app\n", "t/app.recipe: missing \"entrypoint\" (or \"cmd\") line");
    CHECK_ERR("", "t/app.recipe: missing \"name\" line");
    CHECK_ERR(MIN "file /app dist/app-${ARCH}\n", "t/app.recipe:3:20: file: unknown variable \"${ARCH}\" (expected ${os}, ${arch} or ${variant})");
    CHECK_ERR(MIN "file /app dist/app-${arch\n", "t/app.recipe:3:20: file: unterminated \"${\"");
    CHECK_ERR(MIN "env PATH=/bin:${PATH}\n", "t/app.recipe:3:15: env: unknown variable \"${PATH}\"");
    /* a recipe that only cmd's is fine: the image's entrypoint is the init + cmd */
    struct recipe *r = parse("name app\ncmd /app\n");
    CHECK(r != NULL);
    recipe_free(r);
}

/* NUL-containing input must be passed with its length: error_of uses strlen. */
static void test_nul_byte_is_an_error(void)
{
    static const char text[] = "name app\nentrypoint /app\ncmd a\0b\n";
    struct recipe *r = NULL;
    struct err e;
    CHECK(recipe_parse_buffer("t/app.recipe", text, sizeof text - 1, &r, &e) == ERR);
    CHECK(strstr(e.msg, "t/app.recipe:3:6: NUL byte in recipe") != NULL);
    CHECK(r == NULL);
    static const char in_comment[] = "name app\nentrypoint /app # a\0b\n";
    CHECK(recipe_parse_buffer("t/app.recipe", in_comment, sizeof in_comment - 1, &r, &e) == ERR);
    CHECK(strstr(e.msg, "t/app.recipe:2:20: NUL byte in recipe") != NULL);
    static const char between[] = "name app\nentrypoint /app \0\n";
    CHECK(recipe_parse_buffer("t/app.recipe", between, sizeof between - 1, &r, &e) == ERR);
    CHECK(strstr(e.msg, "t/app.recipe:2:17: NUL byte in recipe") != NULL);
}

static void test_expand_per_platform(void)
{
    struct err e;
    const char *want[] = {"linux/amd64/", "linux/arm64/", "linux/arm/v7", "linux/arm/v6"};
    for (size_t i = 0; i < platform_count; i++) {
        char *s = recipe_expand("${os}/${arch}/${variant}", &platform_table[i], &e);
        CHECK_STR(s, want[i]);
        free(s);
    }
    char *s = recipe_expand("dist/hello-${arch}${variant} $HOME $ {x} $", platform_lookup("linux/arm/v7"), &e);
    CHECK_STR(s, "dist/hello-armv7 $HOME $ {x} $");
    free(s);
    CHECK(recipe_expand("a-${cpu}", &platform_table[0], &e) == NULL);
    CHECK(strstr(e.msg, "unknown variable \"${cpu}\"") != NULL);
    CHECK(recipe_expand("a-${arch", &platform_table[0], &e) == NULL);
    CHECK(strstr(e.msg, "unterminated") != NULL);
    s = recipe_expand("", &platform_table[0], &e);
    CHECK_STR(s, "");
    free(s);
}

/* Every directive that carries a value into the image gets ${os} ${arch} ${variant}
 * through recipe_for_platform, on every platform; name, platforms and base do not. */
static void test_for_platform_expands_every_value(void)
{
    struct recipe *r = parse(
        "name app\n"
        "file /app-${arch} dist/app-${arch}${variant} mode=0755\n"
        "dir /d/${os}\n"
        "symlink /l-${arch} /app-${arch}\n"
        "archive /opt/${arch} t-${arch}.tar\n"
        "env A=${arch}${variant} B=x\n"
        "label k-${arch}=v-${os}-${variant}\n"
        "workdir /w/${arch}\n"
        "entrypoint /app-${arch} --os=${os}\n"
        "cmd [\"--arch\", \"${arch}${variant}\"]\n"
        "health http://127.0.0.1:8080/${arch} interval=5s\n"
        "init seccomp=prof-${arch}.json preload=list-${arch}${variant}.txt\n");
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "%s\n", last_err.msg);
        return;
    }
    CHECK_STR(r->entrypoint[0], "/app-${arch}");   /* the parsed recipe stays as written */
    const char *av[] = {"amd64", "arm64", "armv7", "armv6"};
    for (size_t i = 0; i < platform_count; i++) {
        const struct platform *pl = &platform_table[i];
        struct recipe *x = NULL;
        struct err e;
        CHECK(recipe_for_platform(r, pl, &x, &e) == 0);
        if (!x)
            continue;
        char want[128];
        CHECK_STR(x->name, "app");
        snprintf(want, sizeof want, "/app-%s", pl->arch);
        CHECK_STR(x->entries[0].dest, want);
        CHECK_STR(x->entrypoint[0], want);
        CHECK_STR(x->entries[2].src, want);           /* symlink target */
        snprintf(want, sizeof want, "dist/app-%s", av[i]);
        CHECK_STR(x->entries[0].src, want);
        CHECK_STR(x->entries[1].dest, "/d/linux");
        snprintf(want, sizeof want, "/l-%s", pl->arch);
        CHECK_STR(x->entries[2].dest, want);
        snprintf(want, sizeof want, "t-%s.tar", pl->arch);
        CHECK_STR(x->entries[3].src, want);
        CHECK_STR(x->env[0].value, av[i]);
        snprintf(want, sizeof want, "k-%s", pl->arch);
        CHECK_STR(x->labels[0].key, want);
        snprintf(want, sizeof want, "v-linux-%s", pl->variant);
        CHECK_STR(x->labels[0].value, want);
        snprintf(want, sizeof want, "/w/%s", pl->arch);
        CHECK_STR(x->workdir, want);
        CHECK_STR(x->entrypoint[1], "--os=linux");
        CHECK_STR(x->cmd[1], av[i]);
        snprintf(want, sizeof want, "http://127.0.0.1:8080/%s", pl->arch);
        CHECK_STR(x->health.url, want);
        CHECK(x->health.interval_ns == 5000000000LL);
        snprintf(want, sizeof want, "prof-%s.json", pl->arch);
        CHECK_STR(recipe_init_get(x, "seccomp"), want);
        snprintf(want, sizeof want, "list-%s.txt", av[i]);
        CHECK_STR(recipe_init_get(x, "preload"), want);
        CHECK(x->entries[0].loc.line == 2 && x->entries[0].loc.col == 6);
        recipe_free(x);
    }
    recipe_free(r);
    CHECK_ERR(MIN "label ${cpu}=1\n", "t/app.recipe:3:7: label: unknown variable \"${cpu}\"");
    CHECK_ERR(MIN "user ${nope}\n", "t/app.recipe:3:6: user: unknown variable");
}

/* A JSON exec form continued with backslash-newline is one array; errors in it point at
 * the line and column where the JSON goes wrong. */
static void test_json_exec_form_continuation_lines(void)
{
    struct recipe *r = parse("name app\n"
                             "entrypoint [\"/app\", \\\n"
                             "            \"--listen\", \\\r\n"
                             "            \":8080\"]\n"
                             "cmd [\"a\\\n"
                             "b\"]\n");
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "%s\n", last_err.msg);
        return;
    }
    CHECK(r->nentrypoint == 3);
    CHECK_STR(r->entrypoint[1], "--listen");
    CHECK_STR(r->entrypoint[2], ":8080");
    CHECK(r->ncmd == 1);
    CHECK_STR(r->cmd[0], "ab");
    recipe_free(r);
    CHECK_ERR("name app\nentrypoint [\"/app\", \\\n   \"x\" \"y\"]\n",
              "t/app.recipe:3:10: entrypoint: bad JSON exec form: ']' expected");
    CHECK_ERR("name app\nentrypoint [\"/app\", \\\n   \"x\",]\n",
              "t/app.recipe:3:8: entrypoint: bad JSON exec form");
    CHECK_ERR("name app\ncmd [\"/app\" \\\n\n", "t/app.recipe:2:");
    CHECK_ERR("name app\ncmd [\"/app\" \\\n\n", "expected [\"PROGRAM\", \"ARG\", ...]");
}

/* Text that goes into the image config must be UTF-8: an error with file:line:col of
 * the bad byte, for each directive that carries text there. */
static void test_non_utf8_text_is_an_error_with_its_place(void)
{
    CHECK_ERR(MIN "label a=b\xff\n", "t/app.recipe:3:10: label: text is not UTF-8 (byte 0xff)");
    CHECK_ERR(MIN "env A=\xc3\n", "t/app.recipe:3:7: env: text is not UTF-8 (byte 0xc3)");
    CHECK_ERR("name app\ncmd x \xe9t\xe9\n", "t/app.recipe:2:7: cmd: text is not UTF-8 (byte 0xe9)");
    CHECK_ERR("name app\nentrypoint /app-\xc0\xaf\n", "t/app.recipe:2:17: entrypoint: text is not UTF-8 (byte 0xc0)");
    CHECK_ERR(MIN "workdir /w\xed\xa0\x80\n", "t/app.recipe:3:11: workdir: text is not UTF-8 (byte 0xed)");
    CHECK_ERR(MIN "health http://h/\xf5\x80\x80\x80\n", "t/app.recipe:3:17: health: text is not UTF-8 (byte 0xf5)");
    CHECK_ERR("name app\nentrypoint [\"/app\xff\"]\n", "t/app.recipe:2:18: entrypoint: text is not UTF-8");
    CHECK_ERR(MIN "init seccomp=p\xff\n", "t/app.recipe:3:15: init: text is not UTF-8");
    /* valid multi-byte text is fine, and file names may be any bytes */
    struct recipe *r = parse(MIN "label t=caf\xc3\xa9 e=\xf0\x9f\x93\xa6 k=\xe2\x82\xac\n"
                             "file /data-\xff src\n");
    CHECK(r && r->nlabels == 3);
    recipe_free(r);
}

/* Duplicates are found through a hash: 100,000 keys parse, the 100,001st repeats one. */
static void test_many_keys_and_a_late_duplicate(void)
{
    size_t n = 100000, cap = n * 24 + 64, len = 0;
    char *text = malloc(cap);
    if (!text)
        return;
    len += (size_t)snprintf(text, cap, "name app\nentrypoint /app\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "env K%zu=v\n", i);
    struct recipe *r = NULL;
    struct err e;
    CHECK(recipe_parse_buffer("t/app.recipe", text, len, &r, &e) == 0);
    CHECK(r && r->nenv == n);
    recipe_free(r);
    len += (size_t)snprintf(text + len, cap - len, "env K4242=again\n");
    CHECK(recipe_parse_buffer("t/app.recipe", text, len, &r, &e) == ERR);
    CHECK(strstr(e.msg, "t/app.recipe:100003:5: env: \"K4242\" already set on line 4245") != NULL);
    free(text);
}

static void test_parse_file_reads_and_names_the_file(void)
{
    char dir[64];
    CHECK(unit_tmpdir(dir, sizeof dir, "test-recipe") != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/hello.recipe", dir);
    if (unit_write_text(path, "name hello\n# comment\nentrypoint /app\nfile /app app bad=1\n") < 0)
        return;
    struct recipe *r = NULL;
    struct err e;
    CHECK(recipe_parse_file(path, &r, &e) == ERR);
    char want[256];
    snprintf(want, sizeof want, "%s:4:15: file: unexpected argument \"bad=1\"", path);
    CHECK(strstr(e.msg, want) != NULL);
    unit_write_text(path, "name hello\nentrypoint /app\n");
    CHECK(recipe_parse_file(path, &r, &e) == 0);
    if (r) {
        CHECK_STR(r->dir, dir);
        CHECK_STR(r->path, path);
    }
    recipe_free(r);
    unlink(path);
    CHECK(recipe_parse_file(path, &r, &e) == ERR);
    CHECK(strstr(e.msg, path) && strstr(e.msg, "cannot open recipe") && strstr(e.msg, "No such file"));
    CHECK(recipe_parse_file(dir, &r, &e) == ERR);
    CHECK(strstr(e.msg, "not a regular file") != NULL);
    rmdir(dir);
}

/* The recipe accepts exactly the values armlet-init accepts (the same rows are given to
 * the init in test_init_options.c), and stores a --rewrite the init reads back as the
 * same signals. */
static void test_shared_values_table(void)
{
    for (size_t i = 0; i < sizeof value_cases / sizeof value_cases[0]; i++) {
        const struct value_case *c = &value_cases[i];
        char text[256];
        if (!strcmp(c->key, "user") || !strcmp(c->key, "health"))
            snprintf(text, sizeof text, MIN "%s \"%s\"\n", c->key, c->value);
        else
            snprintf(text, sizeof text, MIN "init \"%s=%s\"\n", c->key, c->value);
        struct recipe *r = parse(text);
        if ((r != NULL) != c->ok) {
            fprintf(stderr, "recipe %s %s for %s=%s (%s)\n", r ? "accepts" : "refuses",
                    c->ok ? "(the init accepts)" : "(the init refuses)", c->key, c->value,
                    r ? "" : last_err.msg);
            unit_failures++;
            unit_current_failed = 1;
        }
        if (r && !strcmp(c->key, "rewrite")) {
            int a, b, a2, b2;
            const char *stored = recipe_init_get(r, "rewrite");
            CHECK(stored && armlet_parse_rewrite(c->value, &a, &b) == 0 &&
                  armlet_parse_rewrite(stored, &a2, &b2) == 0 && a == a2 && b == b2);
        }
        recipe_free(r);
    }
}

int main(void)
{
    RUN(test_design_example_sets_every_field);
    RUN(test_defaults_without_optional_lines);
    RUN(test_recipe_dir_for_relative_sources);
    RUN(test_words_split_like_a_shell);
    RUN(test_entrypoint_and_cmd_json_exec_form);
    RUN(test_user_forms_are_numeric);
    RUN(test_file_dir_options);
    RUN(test_destinations_absolute_without_dotdot);
    RUN(test_platforms_list);
    RUN(test_single_valued_directives_refuse_a_second_line);
    RUN(test_base_and_name_values);
    RUN(test_env_and_labels);
    RUN(test_expose_ports);
    RUN(test_stop_signal_canonical);
    RUN(test_health_line);
    RUN(test_health_tcp_url);
    RUN(test_init_line_overrides_defaults_key_by_key);
    RUN(test_init_errors);
    RUN(test_preload_default_is_none_and_url_or_seconds_ask_for_profile);
    RUN(test_errors_name_file_line_and_column);
    RUN(test_nul_byte_is_an_error);
    RUN(test_expand_per_platform);
    RUN(test_for_platform_expands_every_value);
    RUN(test_json_exec_form_continuation_lines);
    RUN(test_non_utf8_text_is_an_error_with_its_place);
    RUN(test_many_keys_and_a_late_duplicate);
    RUN(test_parse_file_reads_and_names_the_file);
    RUN(test_shared_values_table);
    return unit_done();
}
