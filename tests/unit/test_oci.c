/* tests/unit/test_oci.c — the OCI documents are canonical and carry what the spec asks. */
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "oci/digest.h"
#include "oci/oci.h"
#include "unit.h"

static void test_digest_validation(void)
{
    char d[DIGEST_PREFIXED_LEN + 1];
    struct err e;
    CHECK(digest_buffer("abc", 3, d, &e) == 0);
    CHECK_STR(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(digest_valid(d));
    CHECK(!digest_valid("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(!digest_valid("sha256:abc"));
    CHECK(!digest_valid("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(!digest_valid(NULL));
    CHECK(digest_hex_valid(d + 7));
    CHECK(!digest_hex_valid(d));
    CHECK(!digest_hex_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"));
    CHECK(!digest_hex_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag"));
}

static void test_rfc3339_of_epoch(void)
{
    char b[32];
    struct err e;
    CHECK(oci_rfc3339(0, b, sizeof b, &e) == 0);
    CHECK_STR(b, "1970-01-01T00:00:00Z");
    CHECK(oci_rfc3339(1700000000, b, sizeof b, &e) == 0);
    CHECK_STR(b, "2023-11-14T22:13:20Z");
}

static void test_dump_is_compact_and_sorted(void)
{
    struct err e;
    cleanup_json json_t *j = json_pack("{s:i, s:s, s:{s:i, s:i}}", "z", 1, "a", "x/y", "m", "b", 2, "a", 1);
    cleanup_free char *s = oci_json_dump(j, &e);
    CHECK_STR(s, "{\"a\":\"x/y\",\"m\":{\"a\":1,\"b\":2},\"z\":1}");
}

static const struct platform *v7(void) { return platform_lookup("linux/arm/v7"); }

static struct oci_config sample(void)
{
    static const char *const ep[] = {"/sbin/armlet-init", "--cpu=floor", "--", "/app"};
    static const char *const env[] = {"PATH=/usr/bin:/bin", "TZ=UTC"};
    static const char *const ports[] = {"8080/tcp"};
    static const char *const lk[] = {"org.opencontainers.image.source"};
    static const char *const lv[] = {"https://example.com"};
    static const char *const diff[] = {
        "sha256:0000000000000000000000000000000000000000000000000000000000000001",
        "sha256:0000000000000000000000000000000000000000000000000000000000000002"};
    static const char *const hist[] = {"armlet base static", "armlet recipe hello"};
    struct oci_config c = {0};
    c.platform = v7();
    c.created = 0;
    c.entrypoint = ep; c.nentrypoint = 4;
    c.env = env; c.nenv = 2;
    c.user = "65532:65532";
    c.workdir = "/home/nonroot";
    c.exposed = ports; c.nexposed = 1;
    c.label_keys = lk; c.label_values = lv; c.nlabels = 1;
    c.stop_signal = "SIGTERM";
    c.diff_ids = diff; c.history = hist; c.nlayers = 2;
    return c;
}

static void test_config_has_platform_and_process_fields(void)
{
    struct err e;
    struct oci_config c = sample();
    cleanup_json json_t *cfg = oci_config_new(&c, &e);
    CHECK(cfg != NULL);
    CHECK_STR(json_string_value(json_object_get(cfg, "architecture")), "arm");
    CHECK_STR(json_string_value(json_object_get(cfg, "variant")), "v7");
    CHECK_STR(json_string_value(json_object_get(cfg, "os")), "linux");
    CHECK_STR(json_string_value(json_object_get(cfg, "created")), "1970-01-01T00:00:00Z");
    json_t *pc = json_object_get(cfg, "config");
    CHECK_STR(json_string_value(json_array_get(json_object_get(pc, "Entrypoint"), 0)), "/sbin/armlet-init");
    CHECK_STR(json_string_value(json_array_get(json_object_get(pc, "Entrypoint"), 2)), "--");
    CHECK(json_object_get(pc, "Cmd") == NULL);   /* absent, not [] */
    CHECK_STR(json_string_value(json_object_get(pc, "User")), "65532:65532");
    CHECK(json_is_object(json_object_get(json_object_get(pc, "ExposedPorts"), "8080/tcp")));
    CHECK_STR(json_string_value(json_object_get(json_object_get(pc, "Labels"), "org.opencontainers.image.source")),
              "https://example.com");
    json_t *rootfs = json_object_get(cfg, "rootfs");
    CHECK_STR(json_string_value(json_object_get(rootfs, "type")), "layers");
    CHECK(json_array_size(json_object_get(rootfs, "diff_ids")) == 2);
    CHECK(json_array_size(json_object_get(cfg, "history")) == 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(cfg, "history"), 1), "created_by")),
              "armlet recipe hello");
}

static void test_amd64_config_has_no_variant(void)
{
    struct err e;
    struct oci_config c = sample();
    c.platform = platform_lookup("linux/amd64");
    cleanup_json json_t *cfg = oci_config_new(&c, &e);
    CHECK(cfg && json_object_get(cfg, "variant") == NULL);
}

static void test_same_config_gives_same_bytes(void)
{
    struct err e;
    struct oci_config c = sample();
    cleanup_json json_t *a = oci_config_new(&c, &e);
    cleanup_json json_t *b = oci_config_new(&c, &e);
    cleanup_free char *sa = oci_json_dump(a, &e);
    cleanup_free char *sb = oci_json_dump(b, &e);
    CHECK(sa && sb && strcmp(sa, sb) == 0);
    c.created = 1;
    cleanup_json json_t *d = oci_config_new(&c, &e);
    cleanup_free char *sd = oci_json_dump(d, &e);
    CHECK(sd && strcmp(sa, sd) != 0);
}

static void test_manifest_and_index_descriptors(void)
{
    struct err e;
    struct oci_desc cfg = {.size = 10, .media_type = OCI_MT_CONFIG};
    struct oci_desc layers[2] = {{.size = 20, .media_type = OCI_MT_LAYER_GZIP},
                                 {.size = 30, .media_type = OCI_MT_LAYER_ZSTD}};
    CHECK(digest_buffer("c", 1, cfg.digest, &e) == 0);
    CHECK(digest_buffer("l1", 2, layers[0].digest, &e) == 0);
    CHECK(digest_buffer("l2", 2, layers[1].digest, &e) == 0);
    cleanup_json json_t *m = oci_manifest_new(&cfg, layers, 2, &e);
    CHECK(m != NULL);
    CHECK(json_integer_value(json_object_get(m, "schemaVersion")) == 2);
    CHECK_STR(json_string_value(json_object_get(m, "mediaType")), OCI_MT_MANIFEST);
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "config"), "digest")), cfg.digest);
    CHECK(json_integer_value(json_object_get(json_array_get(json_object_get(m, "layers"), 1), "size")) == 30);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(m, "layers"), 1), "mediaType")),
              OCI_MT_LAYER_ZSTD);

    cleanup_json json_t *idx = oci_index_new();
    struct oci_desc md = {.size = 5, .media_type = OCI_MT_MANIFEST};
    CHECK(digest_buffer("m", 1, md.digest, &e) == 0);
    CHECK(oci_index_add(idx, &md, platform_lookup("linux/arm64"), &e) == 0);
    CHECK(oci_index_add(idx, &md, platform_lookup("linux/arm/v6"), &e) == 0);
    json_t *ms = json_object_get(idx, "manifests");
    CHECK(json_array_size(ms) == 2);
    json_t *p0 = json_object_get(json_array_get(ms, 0), "platform");
    json_t *p1 = json_object_get(json_array_get(ms, 1), "platform");
    CHECK_STR(json_string_value(json_object_get(p0, "architecture")), "arm64");
    CHECK(json_object_get(p0, "variant") == NULL);
    CHECK_STR(json_string_value(json_object_get(p1, "variant")), "v6");
}

int main(void)
{
    RUN(test_digest_validation);
    RUN(test_rfc3339_of_epoch);
    RUN(test_dump_is_compact_and_sorted);
    RUN(test_config_has_platform_and_process_fields);
    RUN(test_amd64_config_has_no_variant);
    RUN(test_same_config_gives_same_bytes);
    RUN(test_manifest_and_index_descriptors);
    return unit_done();
}
