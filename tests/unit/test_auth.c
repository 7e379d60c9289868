/* tests/unit/test_auth.c — WWW-Authenticate parsing, base64, credential sources
 * (builder/registry/auth.c). */
#include <stdlib.h>
#include <unistd.h>

#include "registry/auth.h"
#include "../unit/unit.h"

static void test_bearer_challenge_with_quoted_params(void)
{
    struct auth_challenge c;
    CHECK(auth_parse_challenge("Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\","
                               "scope=\"repository:team/app:pull,push\"", &c) == 0);
    CHECK(c.scheme == AUTH_BEARER);
    CHECK_STR("https://auth.example.com/token", c.realm);
    CHECK_STR("registry.example.com", c.service);
    CHECK_STR("repository:team/app:pull,push", c.scope);
    /* case-insensitive scheme and names, spaces, an error param, an escaped quote */
    CHECK(auth_parse_challenge("bearer  REALM = \"http://t/a\\\"b\" , error=\"insufficient_scope\"", &c) == 0);
    CHECK(c.scheme == AUTH_BEARER);
    CHECK_STR("http://t/a\"b", c.realm);
    CHECK_STR("insufficient_scope", c.error);
}

static void test_basic_and_multiple_challenges(void)
{
    struct auth_challenge c;
    CHECK(auth_parse_challenge("Basic realm=\"armlet-test\"", &c) == 0);
    CHECK(c.scheme == AUTH_BASIC);
    CHECK_STR("armlet-test", c.realm);
    /* Bearer preferred whichever order they come in */
    CHECK(auth_parse_challenge("Basic realm=\"b\", Bearer realm=\"https://t\",service=\"s\"", &c) == 0);
    CHECK(c.scheme == AUTH_BEARER);
    CHECK_STR("https://t", c.realm);
    CHECK_STR("s", c.service);
    CHECK(auth_parse_challenge("Bearer realm=\"https://t\", Basic realm=\"b\"", &c) == 0);
    CHECK(c.scheme == AUTH_BEARER);
    CHECK_STR("https://t", c.realm);
    /* token (unquoted) values */
    CHECK(auth_parse_challenge("Bearer realm=https://t/token,service=reg", &c) == 0);
    CHECK_STR("https://t/token", c.realm);
    CHECK_STR("reg", c.service);
}

static void test_unsupported_or_garbage_challenges(void)
{
    struct auth_challenge c;
    CHECK(auth_parse_challenge("", &c) < 0);
    CHECK(auth_parse_challenge("Negotiate", &c) < 0);
    CHECK(auth_parse_challenge("Digest realm=\"x\", nonce=\"y\"", &c) < 0);
    CHECK(auth_parse_challenge("\"\"\"===,,,", &c) < 0);
    CHECK(auth_parse_challenge("Bearer realm=\"unterminated", &c) == 0);
    CHECK_STR("unterminated", c.realm);
}

static void test_base64_round_trip(void)
{
    char *b = auth_base64("armlet:s3cret", 13);
    CHECK_STR("YXJtbGV0OnMzY3JldA==", b);
    size_t n = 0;
    char *d = auth_unbase64(b, &n);
    CHECK_STR("armlet:s3cret", d);
    CHECK(n == 13);
    free(b);
    free(d);
    CHECK(auth_unbase64("not base64!", &n) == NULL);
    CHECK(auth_unbase64("abc", &n) == NULL);
    char *h = NULL;
    struct auth_creds c;
    struct err e;
    CHECK(auth_creds_parse("u:p:with:colons", "--creds", &c, &e) == 0);
    CHECK_STR("u", c.user);
    CHECK_STR("p:with:colons", c.pass);
    h = auth_basic_header(&c);
    CHECK_STR("Authorization: Basic dTpwOndpdGg6Y29sb25z", h);
    free(h);
}

static void test_creds_parse_errors_do_not_quote_secret(void)
{
    struct auth_creds c;
    struct err e;
    err_clear(&e);
    CHECK(auth_creds_parse("nocolonsecret", "--creds", &c, &e) < 0);
    CHECK(strstr(e.msg, "USER:PASS") != NULL);
    CHECK(strstr(e.msg, "nocolonsecret") == NULL);
    CHECK(auth_creds_parse(":pw", "--creds", &c, &e) < 0);
    CHECK(strstr(e.msg, "user name is empty") != NULL);
}

static void test_creds_from_docker_config_and_env(void)
{
    char dir[64];
    CHECK(unit_tmpdir(dir, sizeof dir, "auth") != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", dir);
    /* "auth" is base64("alice:pw1"); the docker.io entry uses Docker Hub's legacy key */
    unit_write_text(path, "{\"auths\":{\"https://reg.example.com:5000\":{\"auth\":\"YWxpY2U6cHcx\"},"
                          "\"https://index.docker.io/v1/\":{\"username\":\"bob\",\"password\":\"pw2\"},"
                          "\"bad.example.com\":{\"auth\":\"!!!\"}}}");
    setenv("DOCKER_CONFIG", dir, 1);
    unsetenv("ARMLET_REGISTRY_CREDS");
    struct auth_creds c;
    struct err e;
    err_clear(&e);
    CHECK(auth_creds_find("reg.example.com:5000", &c, &e) == 1);
    CHECK_STR("alice", c.user);
    CHECK_STR("pw1", c.pass);
    CHECK_STR(path, c.source);
    CHECK(auth_creds_find("docker.io", &c, &e) == 1);
    CHECK_STR("bob", c.user);
    CHECK(auth_creds_find("reg.example.com", &c, &e) == 0);   /* port differs */
    CHECK(auth_creds_find("other.io", &c, &e) == 0);
    CHECK(auth_creds_find("bad.example.com", &c, &e) < 0);
    CHECK(strstr(e.msg, "not base64") != NULL);
    setenv("ARMLET_REGISTRY_CREDS", "carol:pw3", 1);
    CHECK(auth_creds_find("reg.example.com:5000", &c, &e) == 1);
    CHECK_STR("carol", c.user);
    CHECK_STR("ARMLET_REGISTRY_CREDS", c.source);
    unsetenv("ARMLET_REGISTRY_CREDS");
    unit_write_text(path, "{\"auths\": ");
    CHECK(auth_creds_find("reg.example.com:5000", &c, &e) < 0);
    CHECK(strstr(e.msg, path) != NULL);
    unlink(path);
    CHECK(auth_creds_find("reg.example.com:5000", &c, &e) == 0);   /* no file: anonymous */
    rmdir(dir);
    unsetenv("DOCKER_CONFIG");
}

/* Tokens in "auths", their precedence over "auth", the 64 KiB limit, REGISTRY_AUTH_FILE
 * before the Docker config. */
static void test_tokens_limits_and_auth_files(void)
{
    char dir[64];
    CHECK(unit_tmpdir(dir, sizeof dir, "auth2") != NULL);
    char docker[256], authfile[256];
    snprintf(docker, sizeof docker, "%s/config.json", dir);
    snprintf(authfile, sizeof authfile, "%s/auth.json", dir);
    unit_write_text(docker, "{\"auths\":{\"r.example\":{\"auth\":\"YWxpY2U6cHcx\",\"identitytoken\":\"idt\"},"
                            "\"t.example\":{\"registrytoken\":\"rt\",\"identitytoken\":\"idt\"}}}");
    unsetenv("ARMLET_REGISTRY_CREDS");
    unsetenv("REGISTRY_AUTH_FILE");
    setenv("DOCKER_CONFIG", dir, 1);
    struct auth_creds *c = malloc(sizeof *c);
    struct err e;
    err_clear(&e);
    CHECK(auth_creds_find("r.example", c, &e) == 1);
    CHECK(c->kind == AUTH_IDENTITY_TOKEN);
    CHECK_STR("idt", c->pass);
    CHECK(auth_creds_find("t.example", c, &e) == 1);
    CHECK(c->kind == AUTH_REGISTRY_TOKEN);
    CHECK_STR("rt", c->pass);
    unit_write_text(authfile, "{\"auths\":{\"r.example\":{\"username\":\"u\",\"password\":\"p\"}}}");
    setenv("REGISTRY_AUTH_FILE", authfile, 1);
    CHECK(auth_creds_find("r.example", c, &e) == 1);
    CHECK(c->kind == AUTH_PASSWORD);
    CHECK_STR(authfile, c->source);
    unsetenv("REGISTRY_AUTH_FILE");
    /* 64 KiB of password is fine, one byte more is not (and is not quoted) */
    char *big = malloc(AUTH_SECRET_MAX + 4);
    memset(big, 'x', AUTH_SECRET_MAX + 3);
    big[0] = 'u';
    big[1] = ':';
    big[AUTH_SECRET_MAX + 2] = '\0';
    CHECK(auth_creds_parse(big, "--creds", c, &e) == 0);
    CHECK(strlen(c->pass) == AUTH_SECRET_MAX);
    char *h = auth_basic_header(c);
    CHECK(h && strlen(h) > AUTH_SECRET_MAX);
    free(h);
    big[AUTH_SECRET_MAX + 2] = 'x';
    big[AUTH_SECRET_MAX + 3] = '\0';
    CHECK(auth_creds_parse(big, "--creds", c, &e) < 0);
    CHECK(strstr(e.msg, "longer than 64 KiB") != NULL);
    CHECK(strstr(e.msg, "xxxx") == NULL);
    free(big);
    free(c);
    unlink(docker);
    unlink(authfile);
    rmdir(dir);
    unsetenv("DOCKER_CONFIG");
}

int main(void)
{
    RUN(test_bearer_challenge_with_quoted_params);
    RUN(test_basic_and_multiple_challenges);
    RUN(test_unsupported_or_garbage_challenges);
    RUN(test_base64_round_trip);
    RUN(test_creds_parse_errors_do_not_quote_secret);
    RUN(test_creds_from_docker_config_and_env);
    RUN(test_tokens_limits_and_auth_files);
    return unit_done();
}
