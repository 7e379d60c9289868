/* tests/unit/test_base.c — `base static` has what distroless/static has, `base scratch`
 * only the init, and the base layer depends on nothing but the host packages and init. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/base.h"
#include "image/layer.h"
#include "unit.h"

static char tmp_root[256];
static char init_a[300], init_b[300], blobs[300];

static int has_text(const struct tree_node *nd, const char *needle)
{
    if (!nd || nd->kind != TREE_FILE || !nd->data)
        return 0;
    char *s = strndup((const char *)nd->data, (size_t)nd->size);
    int r = strstr(s, needle) != NULL;
    free(s);
    return r;
}

static const struct platform *plat(const char *oci)
{
    return platform_lookup(oci);
}

static void test_static_has_users_dirs_certs_and_zoneinfo(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    int rc = base_add(t, BASE_STATIC, plat("linux/arm64"), init_a, &e);
    if (rc < 0)
        fprintf(stderr, "base_add: %s\n", e.msg);
    CHECK(rc == 0);
    const struct tree_node *nd = tree_get(t, "/sbin/armlet-init");
    CHECK(nd && nd->kind == TREE_FILE && nd->mode == 0755 && nd->uid == 0);
    nd = tree_get(t, "/etc/passwd");
    CHECK(has_text(nd, "root:x:0:0:root:/root:/sbin/nologin\n"));
    CHECK(has_text(nd, "nobody:x:65534:65534:"));
    CHECK(has_text(nd, "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"));
    nd = tree_get(t, "/etc/group");
    CHECK(has_text(nd, "root:x:0:\n") && has_text(nd, "nonroot:x:65532:\n") &&
          has_text(nd, "nobody:x:65534:\n"));
    CHECK(has_text(tree_get(t, "/etc/nsswitch.conf"), "hosts:          files dns\n"));
    CHECK(has_text(tree_get(t, "/etc/os-release"), "ID=armlet\n"));
    nd = tree_get(t, "/home/nonroot");
    CHECK(nd && nd->kind == TREE_DIR && nd->mode == 0700 && nd->uid == 65532 && nd->gid == 65532);
    nd = tree_get(t, "/root");
    CHECK(nd && nd->kind == TREE_DIR && nd->mode == 0700 && nd->uid == 0);
    nd = tree_get(t, "/tmp");
    CHECK(nd && nd->kind == TREE_DIR && nd->mode == 01777);
    nd = tree_get(t, "/etc/armlet");
    CHECK(nd && nd->kind == TREE_DIR);
    nd = tree_get(t, BASE_SSL_CERT_FILE);
    struct stat st;
    CHECK(stat("/etc/ssl/certs/ca-certificates.crt", &st) == 0);
    CHECK(nd && nd->kind == TREE_FILE && nd->size == (uint64_t)st.st_size && nd->size > 100000);
    CHECK(nd && nd->mode == 0644);
    nd = tree_get(t, "/usr/share/zoneinfo/Europe/Berlin");
    CHECK(nd && nd->kind == TREE_FILE);
    CHECK(tree_get(t, "/usr/share/zoneinfo/UTC") != NULL);
    CHECK(tree_get(t, "/usr/share/zoneinfo/right") == NULL);
    CHECK(tree_get(t, "/usr/share/zoneinfo/right/UTC") == NULL);
    nd = tree_get(t, "/usr/share/zoneinfo");
    CHECK(nd && nd->mode == 0755 && nd->uid == 0);
    tree_free(t);
}

static void test_scratch_has_only_the_init(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    CHECK(base_add(t, BASE_SCRATCH, plat("linux/amd64"), init_a, &e) == 0);
    const struct tree_node **v;
    size_t n;
    CHECK(tree_sorted(t, &v, &n, &e) == 0);
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STR(v[0]->path, "sbin");
        CHECK_STR(v[1]->path, "sbin/armlet-init");
    }
    tree_free(t);
}

static void base_digest(enum recipe_base b, const char *oci, const char *init, char out[80])
{
    struct err e = {0};
    struct tree *t = tree_new();
    struct layer_result r;
    memset(&r, 0, sizeof r);
    CHECK(base_add(t, b, plat(oci), init, &e) == 0);
    CHECK(layer_write(t, COMPRESS_GZIP, 0, blobs, &r, &e) == 0);
    snprintf(out, 80, "%s", r.digest);
    tree_free(t);
}

static void test_layer_depends_on_the_init_only_not_the_platform(void)
{
    char a[80], b[80], c[80];
    base_digest(BASE_STATIC, "linux/amd64", init_a, a);
    base_digest(BASE_STATIC, "linux/arm/v6", init_a, b);
    CHECK_STR(a, b);
    base_digest(BASE_STATIC, "linux/arm/v6", init_b, c);
    CHECK(strcmp(a, c) != 0);
    base_digest(BASE_SCRATCH, "linux/amd64", init_a, a);
    base_digest(BASE_SCRATCH, "linux/arm64", init_a, b);
    CHECK_STR(a, b);
}

static void test_missing_host_files_name_the_package(void)
{
    struct err e = {0};
    struct tree *t = tree_new();
    struct base_sources src = {.ca_bundle = "/nonexistent/ca.crt", .zoneinfo = "/usr/share/zoneinfo"};
    CHECK(base_add_from(t, BASE_STATIC, plat("linux/arm64"), init_a, &src, &e) < 0);
    CHECK(strstr(e.msg, "/nonexistent/ca.crt") && strstr(e.msg, "ca-certificates"));
    src = (struct base_sources){.ca_bundle = BASE_SSL_CERT_FILE, .zoneinfo = "/nonexistent/zi"};
    CHECK(base_add_from(t, BASE_STATIC, plat("linux/arm64"), init_a, &src, &e) < 0);
    CHECK(strstr(e.msg, "/nonexistent/zi") && strstr(e.msg, "tzdata"));
    /* scratch needs neither */
    CHECK(base_add_from(t, BASE_SCRATCH, plat("linux/arm64"), init_a, &src, &e) == 0);
    CHECK(base_add(t, BASE_SCRATCH, plat("linux/arm/v7"), "/nonexistent/armlet-init", &e) < 0);
    CHECK(strstr(e.msg, "linux/arm/v7") && strstr(e.msg, "/nonexistent/armlet-init"));
    tree_free(t);
}

int main(void)
{
    if (!unit_tmpdir(tmp_root, sizeof tmp_root, "test_base"))
        return 2;
    snprintf(init_a, sizeof init_a, "%s/init-a", tmp_root);
    snprintf(init_b, sizeof init_b, "%s/init-b", tmp_root);
    snprintf(blobs, sizeof blobs, "%s/blobs", tmp_root);
    unit_write_text(init_a, "\177ELF pretend init A");
    unit_write_text(init_b, "\177ELF pretend init B");
    mkdir(blobs, 0755);
    RUN(test_static_has_users_dirs_certs_and_zoneinfo);
    RUN(test_scratch_has_only_the_init);
    RUN(test_layer_depends_on_the_init_only_not_the_platform);
    RUN(test_missing_host_files_name_the_package);
    unit_rm_tree(tmp_root);
    return unit_done();
}
