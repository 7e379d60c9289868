/* builder/cli/cmd_inspect.c — `armlet inspect OCI_DIR[:TAG] [--json]`: what a tag holds. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "util/cleanup.h"
#include "cli/commands.h"
#include "oci/layout.h"

static void usage(FILE *f)
{
    fputs("usage: armlet inspect OCI_DIR[:TAG] [--json]\n"
          "\n"
          "Shows one tag of an OCI image layout: the image index digest, each platform's\n"
          "manifest digest, its config (entrypoint, cmd, user, workdir, env) and its layers\n"
          "with their sizes. TAG defaults to the layout's only tag, else latest.\n"
          "Every index, manifest and config it reads is checked against its digest and size;\n"
          "each layer must be a regular file of its size (symlinks and FIFOs are refused).\n"
          "\n"
          "  --json   print the tag's image index as JSON instead (compact, keys sorted)\n"
          "\n"
          "Exit status: 0 ok, 1 failure (no such layout, tag or blob), 2 usage.\n", f);
}

static void print_strings(const char *label, const json_t *arr)
{
    if (!json_array_size(arr))
        return;
    printf("    %-11s", label);
    for (size_t i = 0; i < json_array_size(arr); i++)
        printf(" %s", json_string_value(json_array_get(arr, i)));
    putchar('\n');
}

static void print_config(const json_t *cfg)
{
    const json_t *c = json_object_get(cfg, "config");
    print_strings("entrypoint:", json_object_get(c, "Entrypoint"));
    print_strings("cmd:", json_object_get(c, "Cmd"));
    const char *user = json_string_value(json_object_get(c, "User"));
    const char *wd = json_string_value(json_object_get(c, "WorkingDir"));
    printf("    %-11s %s\n", "user:", user && *user ? user : "0:0 (root)");
    if (wd)
        printf("    %-11s %s\n", "workdir:", wd);
    const json_t *env = json_object_get(c, "Env");
    for (size_t i = 0; i < json_array_size(env); i++)
        printf("    %-11s %s\n", i ? "" : "env:", json_string_value(json_array_get(env, i)));
    json_t *ports = json_object_get(c, "ExposedPorts"), *labels = json_object_get(c, "Labels");
    for (void *it = json_object_iter(ports); it; it = json_object_iter_next(ports, it))
        printf("    %-11s %s\n", "expose:", json_object_iter_key(it));
    for (void *it = json_object_iter(labels); it; it = json_object_iter_next(labels, it))
        printf("    %-11s %s=%s\n", "label:", json_object_iter_key(it),
               json_string_value(json_object_iter_value(it)));
}

/* One platform manifest: digest, config summary, layers. */
static int print_manifest(const struct layout *l, const json_t *desc, struct err *e)
{
    const char *digest = json_string_value(json_object_get(desc, "digest"));
    const json_t *p = json_object_get(desc, "platform");
    char plat[64] = "";
    if (p) {
        const char *variant = json_string_value(json_object_get(p, "variant"));
        snprintf(plat, sizeof plat, "%s/%s%s%s", json_string_value(json_object_get(p, "os")),
                 json_string_value(json_object_get(p, "architecture")), variant ? "/" : "",
                 variant ? variant : "");
    }
    cleanup_json json_t *man = layout_read_json_desc(l, desc, e);
    if (!man)
        return ERR;
    const json_t *cd = json_object_get(man, "config");
    cleanup_json json_t *cfg = layout_read_json_desc(l, cd, e);
    if (!cfg)
        return ERR;
    if (!p)
        snprintf(plat, sizeof plat, "%s/%s", json_string_value(json_object_get(cfg, "os")),
                 json_string_value(json_object_get(cfg, "architecture")));
    printf("%s\n    %-11s %s\n    %-11s %s\n", plat, "manifest:", digest, "config:",
           json_string_value(json_object_get(cd, "digest")));
    print_config(cfg);
    const json_t *layers = json_object_get(man, "layers");
    long long total = 0;
    for (size_t i = 0; i < json_array_size(layers); i++) {
        const json_t *ld = json_array_get(layers, i);
        long long size = (long long)json_integer_value(json_object_get(ld, "size"));
        const char *ldig = json_string_value(json_object_get(ld, "digest"));
        /* Layers are not hashed here (they can be large), but each must be a regular file
         * of the size its descriptor says: a symlink, FIFO or short file is reported. */
        long long have = layout_blob_size(l, ldig, e);
        if (have < 0)
            return ERR;
        if (have != size)
            return err_set(e, "blob %s/%s is %lld bytes, the descriptor says %lld",
                           layout_blobs_dir(l), ldig + 7, have, size);
        const char *mt = json_string_value(json_object_get(ld, "mediaType"));
        const char *suffix = mt && strrchr(mt, '.') ? strrchr(mt, '.') + 1 : "?";
        total += size;
        printf("    %-11s %s %lld bytes (%s)\n", i ? "" : "layers:",
               json_string_value(json_object_get(ld, "digest")), size, suffix);
    }
    printf("    %-11s %lld bytes compressed\n", "total:", total);
    return 0;
}

static int inspect(const char *arg, int as_json, struct err *e)
{
    cleanup_free char *dir = NULL;
    const char *tag = NULL;
    if (layout_arg_split(arg, &dir, &tag) < 0)
        return err_set(e, "out of memory");
    struct layout *l = NULL;
    if (layout_open(dir, 0, &l, e) < 0)
        return ERR;
    int rc = ERR;
    if (!tag && json_array_size(json_object_get(layout_index(l), "manifests")) != 1)
        tag = "latest";   /* else the only image */
    json_t *entry = layout_find_tag(l, tag, e);
    if (entry && !tag && !(tag = layout_entry_tag(entry))) {
        err_set(e, "%s: its only image has no tag", dir);
        entry = NULL;
    }
    const char *digest = json_string_value(json_object_get(entry, "digest"));
    const char *mt = json_string_value(json_object_get(entry, "mediaType"));
    cleanup_json json_t *doc = entry ? layout_read_json_desc(l, entry, e) : NULL;
    if (!doc)
        goto out;
    if (as_json) {
        cleanup_free char *s = oci_json_dump(doc, e);
        if (!s)
            goto out;
        puts(s);
        rc = 0;
        goto out;
    }
    printf("%s:%s\n%s %s (%lld bytes)\n", dir, tag,
           mt && !strcmp(mt, OCI_MT_MANIFEST) ? "manifest" : "index", digest,
           (long long)json_integer_value(json_object_get(entry, "size")));
    if (mt && !strcmp(mt, OCI_MT_MANIFEST)) {
        rc = print_manifest(l, entry, e);
        goto out;
    }
    const json_t *ms = json_object_get(doc, "manifests");
    for (size_t i = 0; i < json_array_size(ms); i++)
        if (print_manifest(l, json_array_get(ms, i), e) < 0)
            goto out;
    rc = 0;
out:
    layout_close(l);
    return rc;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "armlet: inspect: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    struct err e;
    err_clear(&e);
    if (inspect(argv[optind], as_json, &e) < 0) {
        err_print(&e);
        return 1;
    }
    return 0;
}
