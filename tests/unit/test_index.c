/* tests/unit/test_index.c — what `armlet index` and the annotations parse: DEST/SRC
 * locations (builder/registry/imgsrc.c), git remote URLs without credentials and --annotation
 * arguments (builder/image/annotations.c). */
#include "image/annotations.h"
#include "registry/imgsrc.h"
#include "../unit/unit.h"

static void test_layout_locations(void)
{
    struct imgloc l;
    struct err e;
    err_clear(&e);
    CHECK(imgloc_parse("oci:out/amd64:app", &l, &e) == 0);
    CHECK(l.kind == IMGLOC_LAYOUT);
    CHECK_STR("out/amd64", l.dir);
    CHECK_STR("app", l.tag);
    CHECK(imgloc_parse("oci:/abs/dir", &l, &e) == 0);
    CHECK_STR("/abs/dir", l.dir);
    CHECK_STR("", l.tag);
    /* a colon followed by a path belongs to the folder */
    CHECK(imgloc_parse("oci:a:b/c", &l, &e) == 0);
    CHECK_STR("a:b/c", l.dir);
    CHECK_STR("", l.tag);
    CHECK(imgloc_parse("oci:", &l, &e) < 0);
    CHECK(imgloc_parse("oci:dir:bad tag", &l, &e) < 0);
    CHECK(strstr(e.msg, "not a valid tag") != NULL);
}

static void test_registry_locations(void)
{
    struct imgloc l;
    struct err e;
    err_clear(&e);
    CHECK(imgloc_parse("docker://127.0.0.1:5000/team/app:1.0", &l, &e) == 0);
    CHECK(l.kind == IMGLOC_REGISTRY);
    CHECK_STR("127.0.0.1:5000", l.ref.host);
    CHECK_STR("team/app", l.ref.repo);
    CHECK_STR("1.0", l.tag);
    CHECK(imgloc_parse("ghcr.io/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                       &l, &e) == 0);
    CHECK_STR("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", l.ref.digest);
    CHECK_STR("", l.tag);
    CHECK(imgloc_parse("Upper/Case", &l, &e) < 0);
}

static void clean(const char *url, const char *want)
{
    char out[512];
    annotations_clean_url(url, out, sizeof out);
    CHECK_STR(want, out);
}

static void test_remote_urls_lose_their_credentials(void)
{
    clean("https://github.com/acme/app.git", "https://github.com/acme/app.git");
    clean("https://ci-bot:ghp_token@github.com/acme/app.git", "https://github.com/acme/app.git");
    clean("https://user:p@ss@gitlab.example.com:8443/g/app", "https://gitlab.example.com:8443/g/app");
    clean("ssh://git@host.example/org/app.git", "ssh://host.example/org/app.git");
    clean("git@github.com:acme/app.git", "https://github.com/acme/app.git");
    clean("github.com:acme/app.git", "https://github.com/acme/app.git");
    clean("/srv/git/app.git", "");
    clean("file:///srv/git/app.git", "");
    clean("../relative/app", "");
}

static void test_annotation_arguments(void)
{
    struct err e;
    err_clear(&e);
    json_t *idx = json_object(), *man = json_object();
    const char *ok[] = {"a=1", "index:b=2", "manifest:c=3", "d==x=y", "e="};
    CHECK(annotations_apply_args(ok, 5, idx, man, &e) == 0);
    CHECK_STR("1", json_string_value(json_object_get(idx, "a")));
    CHECK_STR("1", json_string_value(json_object_get(man, "a")));
    CHECK_STR("2", json_string_value(json_object_get(idx, "b")));
    CHECK(json_object_get(man, "b") == NULL);
    CHECK(json_object_get(idx, "c") == NULL);
    CHECK_STR("3", json_string_value(json_object_get(man, "c")));
    CHECK_STR("=x=y", json_string_value(json_object_get(idx, "d")));
    CHECK_STR("", json_string_value(json_object_get(idx, "e")));
    const char *bad[][1] = {{"=v"}, {"novalue"}, {"sp ace=v"}, {"index:=v"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(annotations_apply_args(bad[i], 1, idx, man, &e) < 0);
    const char *m[] = {"manifest:x=y"};
    CHECK(annotations_apply_index(idx, m, 1, &e) < 0);
    CHECK(strstr(e.msg, "armlet index writes only the index") != NULL);
    const char *inv[] = {"k=\xff"};
    CHECK(annotations_apply_args(inv, 1, idx, man, &e) < 0);
    json_decref(idx);
    json_decref(man);
}

int main(void)
{
    RUN(test_layout_locations);
    RUN(test_registry_locations);
    RUN(test_remote_urls_lose_their_credentials);
    RUN(test_annotation_arguments);
    return unit_done();
}
