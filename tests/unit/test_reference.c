/* tests/unit/test_reference.c — image reference parsing (builder/registry/reference.c). */
#include "registry/reference.h"
#include "../unit/unit.h"

static struct ref parse_ok(const char *s)
{
    struct ref r;
    struct err e;
    err_clear(&e);
    int rc = ref_parse(s, &r, &e);
    if (rc != 0)
        fprintf(stderr, "ref_parse(%s): %s\n", s, e.msg);
    CHECK(rc == 0);
    return r;
}

static int parse_fails(const char *s, const char *needle)
{
    struct ref r;
    struct err e;
    err_clear(&e);
    if (ref_parse(s, &r, &e) == 0)
        return 0;
    return strstr(e.msg, needle) != NULL;
}

static void test_docker_hub_defaults(void)
{
    struct ref r = parse_ok("busybox");
    CHECK_STR("docker.io", r.domain);
    CHECK_STR("registry-1.docker.io", r.host);
    CHECK_STR("library/busybox", r.repo);
    CHECK_STR("", r.tag);
    r = parse_ok("team/app:1.2");
    CHECK_STR("team/app", r.repo);
    CHECK_STR("1.2", r.tag);
    r = parse_ok("docker.io/alpine:3");
    CHECK_STR("library/alpine", r.repo);
    r = parse_ok("index.docker.io/x/y");
    CHECK_STR("docker.io", r.domain);
    CHECK_STR("x/y", r.repo);
}

static void test_hosts_ports_localhost_ipv6(void)
{
    struct ref r = parse_ok("127.0.0.1:5000/team/app:v1");
    CHECK_STR("127.0.0.1:5000", r.host);
    CHECK_STR("team/app", r.repo);
    CHECK_STR("v1", r.tag);
    r = parse_ok("localhost/app");
    CHECK_STR("localhost", r.host);
    CHECK_STR("app", r.repo);
    r = parse_ok("ghcr.io/o/r");
    CHECK_STR("ghcr.io", r.host);
    r = parse_ok("[::1]:5000/app:latest");
    CHECK_STR("[::1]:5000", r.host);
    CHECK_STR("latest", r.tag);
    /* "localhost:5000/app" — the colon belongs to the host, not a tag */
    r = parse_ok("localhost:5000/app");
    CHECK_STR("localhost:5000", r.host);
    CHECK_STR("", r.tag);
}

static void test_digest_and_tag(void)
{
    const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char s[200];
    snprintf(s, sizeof s, "reg.io/app:1@%s", d);
    struct ref r = parse_ok(s);
    CHECK_STR("1", r.tag);
    CHECK_STR(d, r.digest);
    CHECK(parse_fails("reg.io/app@sha256:abc", "digest"));
    CHECK(parse_fails("reg.io/app@md5:0123456789abcdef0123456789abcdef", "digest"));
}

static void test_invalid_names_are_refused(void)
{
    CHECK(parse_fails("", "empty"));
    CHECK(parse_fails("reg.io/App", "repository \"App\""));
    CHECK(parse_fails("reg.io/a//b", "repository"));
    CHECK(parse_fails("reg.io/-a", "repository"));
    CHECK(parse_fails("reg.io/a-", "repository"));
    CHECK(parse_fails("reg.io/a:", "tag"));
    CHECK(parse_fails("reg.io/a:.x", "tag"));
    CHECK(parse_fails("reg.io:port/a", "registry host"));
    CHECK(parse_fails("reg.io:99999999/a", "registry host"));
    char longtag[200];
    memset(longtag, 0, sizeof longtag);
    strcpy(longtag, "r.io/a:");
    memset(longtag + 7, 'x', 129);
    CHECK(parse_fails(longtag, "tag"));
    parse_ok("reg.io/a__b/c-d/e.f/g--h");
    CHECK(parse_fails("reg.io/a___b", "repository"));
}

static void test_loopback_detection(void)
{
    CHECK(ref_host_is_loopback("localhost"));
    CHECK(ref_host_is_loopback("localhost:5000"));
    CHECK(ref_host_is_loopback("127.0.0.1:5000"));
    CHECK(ref_host_is_loopback("127.1.2.3"));
    CHECK(ref_host_is_loopback("[::1]:5000"));
    CHECK(!ref_host_is_loopback("localhost.example.com"));
    CHECK(!ref_host_is_loopback("127example.com"));
    CHECK(!ref_host_is_loopback("10.0.0.1:5000"));
    CHECK(!ref_host_is_loopback("[::2]:5000"));
    CHECK(ref_host_is_loopback("127.255.255.254:1"));
    CHECK(ref_host_is_loopback("[0:0:0:0:0:0:0:1]"));
    CHECK(ref_host_is_loopback("LOCALHOST"));
}

/* Loopback means a literal loopback address, never a name that starts like one. */
static void test_loopback_is_never_a_name_prefix(void)
{
    CHECK(!ref_host_is_loopback("127.evil.example.com"));
    CHECK(!ref_host_is_loopback("127.evil.example.com:5000"));
    CHECK(!ref_host_is_loopback("127.0.0.1.evil.example.com"));
    CHECK(!ref_host_is_loopback("127.0.0.1.nip.io:5000"));
    CHECK(!ref_host_is_loopback("localhost.evil.example.com"));
    CHECK(!ref_host_is_loopback("localhostx"));
    CHECK(!ref_host_is_loopback("127.1"));             /* shorthand: not a dotted quad */
    CHECK(!ref_host_is_loopback("127.0.0.256"));
    CHECK(!ref_host_is_loopback("127.0.0.1:"));
    CHECK(!ref_host_is_loopback("127.0.0.1:5000x"));
    CHECK(!ref_host_is_loopback("127.0.0.1:123456"));
    CHECK(!ref_host_is_loopback("[::1].evil.example.com"));
    CHECK(!ref_host_is_loopback("[::1"));
    CHECK(!ref_host_is_loopback("[::ffff:127.0.0.1]"));  /* not in the list: stricter is safe */
    CHECK(!ref_host_is_loopback("128.0.0.1"));
    CHECK(!ref_host_is_loopback(""));
}

int main(void)
{
    RUN(test_docker_hub_defaults);
    RUN(test_hosts_ports_localhost_ipv6);
    RUN(test_digest_and_tag);
    RUN(test_invalid_names_are_refused);
    RUN(test_loopback_detection);
    RUN(test_loopback_is_never_a_name_prefix);
    return unit_done();
}
