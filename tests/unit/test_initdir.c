/* tests/unit/test_initdir.c — where the builder takes each platform's armlet-init from
 * (builder/image/initdir.c): --init-dir before $ARMLET_INIT_DIR, each the only place
 * tried when given, and the module itself reads no environment (the command passes
 * $ARMLET_INIT_DIR in). The places beside the executable are tested end to end in
 * tests/builder/t_build.sh (test_init_found_beside_the_executable_under_the_prefix_and_one_up). */
#include "image/initdir.h"
#include "../unit/unit.h"

static char root[256];

/* root/<name>/linux-amd64/armlet-init, an empty regular file; its path in out. */
static void make_init(const char *name, char *out, size_t cap)
{
    char d[512];
    snprintf(d, sizeof d, "%s/%s", root, name);
    mkdir(d, 0755);
    snprintf(d, sizeof d, "%s/%s/linux-amd64", root, name);
    mkdir(d, 0755);
    snprintf(out, cap, "%s/armlet-init", d);
    unit_write_file(out, "", 0);
}

static void test_init_dir_wins_over_the_environment_value(void)
{
    const struct platform *p = platform_lookup("linux/amd64");
    char flag[600], env[600], d1[512], d2[512];
    make_init("flag", flag, sizeof flag);
    make_init("env", env, sizeof env);
    snprintf(d1, sizeof d1, "%s/flag", root);
    snprintf(d2, sizeof d2, "%s/env", root);
    struct err e;
    err_clear(&e);
    char *got = initdir_find(d1, d2, p, &e);
    CHECK_STR(flag, got);
    free(got);
    got = initdir_find(NULL, d2, p, &e);
    CHECK_STR(env, got);
    free(got);
}

static void test_a_given_folder_is_the_only_place_tried(void)
{
    const struct platform *p = platform_lookup("linux/arm64");   /* none under root */
    char d1[512], d2[512], want[600];
    snprintf(d1, sizeof d1, "%s/flag", root);
    snprintf(d2, sizeof d2, "%s/env", root);
    struct err e;
    err_clear(&e);
    CHECK(initdir_find(d1, d2, p, &e) == NULL);
    snprintf(want, sizeof want, "looked for %s/linux-arm64/armlet-init (--init-dir)", d1);
    CHECK(strstr(e.msg, want) != NULL);
    CHECK(strstr(e.msg, "/../") == NULL);
    CHECK(initdir_find(NULL, d2, p, &e) == NULL);
    snprintf(want, sizeof want, "looked for %s/linux-arm64/armlet-init ($ARMLET_INIT_DIR)", d2);
    CHECK(strstr(e.msg, want) != NULL);
}

static void test_the_module_does_not_read_the_environment(void)
{
    const struct platform *p = platform_lookup("linux/amd64");
    char d2[512];
    snprintf(d2, sizeof d2, "%s/env", root);
    setenv("ARMLET_INIT_DIR", d2, 1);
    struct err e;
    err_clear(&e);
    /* neither given: beside the executable, under the prefix, one up; never root/env */
    char *got = initdir_find(NULL, NULL, p, &e);
    CHECK(got == NULL || strncmp(got, root, strlen(root)) != 0);
    if (!got)
        CHECK(strstr(e.msg, root) == NULL && strstr(e.msg, "/../lib/armlet/linux-amd64/armlet-init") != NULL);
    free(got);
    got = initdir_find(NULL, "", p, &e);   /* an empty value counts as unset */
    CHECK(got == NULL || strncmp(got, root, strlen(root)) != 0);
    free(got);
    unsetenv("ARMLET_INIT_DIR");
}

int main(void)
{
    if (!unit_tmpdir(root, sizeof root, "test_initdir"))
        return 2;
    RUN(test_init_dir_wins_over_the_environment_value);
    RUN(test_a_given_folder_is_the_only_place_tried);
    RUN(test_the_module_does_not_read_the_environment);
    unit_rm_tree(root);
    return unit_done();
}
