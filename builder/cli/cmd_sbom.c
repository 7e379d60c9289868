/* builder/cli/cmd_sbom.c — `armlet sbom OCI_DIR[:TAG]|REF [--platform P]`: print the SPDX
 * document attached to one platform image, from a layout or from a registry. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "cli/commands.h"
#include "oci/layout.h"
#include "oci/media_type.h"
#include "util/platform.h"
#include "registry/push_referrers.h"
#include "oci/referrer.h"
#include "image/sbom.h"

static void usage(FILE *f)
{
    fputs("usage: armlet sbom OCI_DIR[:TAG]|REF [--platform P] [--insecure]\n"
          "\n"
          "Prints the SPDX 2.3 JSON document (SBOM) attached to one platform image of a tag:\n"
          "from an OCI image layout (TAG defaults to the layout's only tag, else latest), or\n"
          "from a registry (HOST/REPO:TAG or @sha256:...), found through the referrers API or\n"
          "its fallback tag sha256-<hex>. Every document read is checked against its digest.\n"
          "\n"
          "  --platform P   linux/amd64, linux/arm64, linux/arm/v7 or linux/arm/v6; needed\n"
          "                 when the tag holds more than one platform\n"
          "  --insecure     plain http to the registry\n"
          "\n"
          "Exit status: 0 printed, 1 failure (no such tag or platform, no SBOM), 2 usage.\n", f);
}

/* A layout argument: "DIR:TAG" or "DIR" where DIR holds an oci-layout file. */
static int layout_arg(const char *arg, char **dir, const char **tag)
{
    char probe[4200];
    *tag = NULL;
    snprintf(probe, sizeof probe, "%s/oci-layout", arg);
    if (access(probe, F_OK) == 0)
        return (*dir = strdup(arg)) ? 1 : -1;
    const char *colon = strrchr(arg, ':');
    if (!colon || !layout_tag_valid(colon + 1))
        return 0;
    snprintf(probe, sizeof probe, "%.*s/oci-layout", (int)(colon - arg), arg);
    if (access(probe, F_OK) < 0)
        return 0;
    *tag = colon + 1;
    return (*dir = strndup(arg, (size_t)(colon - arg))) ? 1 : -1;
}

/* The only tag of the layout, else "latest". */
static const char *default_tag(const struct layout *l)
{
    json_t *m = json_object_get(layout_index(l), "manifests");
    if (json_array_size(m) == 1) {
        const char *t = json_string_value(json_object_get(
            json_object_get(json_array_get(m, 0), "annotations"), OCI_REF_NAME));
        if (t)
            return t;
    }
    return "latest";
}

static int from_layout(const char *dir, const char *tag, const struct platform *want,
                       struct err *e)
{
    struct layout *l = NULL;
    if (layout_open(dir, 0, &l, e) < 0)
        return ERR;
    int rc = ERR;
    cleanup_json json_t *top = NULL, *refs = NULL, *art = NULL;
    cleanup_free char *text = NULL;
    size_t n = 0;
    if (!tag)
        tag = default_tag(l);
    json_t *entry = layout_find_tag(l, tag, e);
    if (!entry || !(top = layout_read_json_desc(l, entry, e)))
        goto out;
    const char *mt = json_string_value(json_object_get(entry, "mediaType"));
    const json_t *man = mt && !strcmp(mt, OCI_MT_INDEX)
                            ? referrers_pick_platform(top, want, dir, e) : entry;
    if (!man)
        goto out;
    const char *digest = json_string_value(json_object_get(man, "digest"));
    if (!(refs = referrer_list(l, digest, SBOM_ARTIFACT_TYPE, e)))
        goto out;
    if (!json_array_size(refs)) {
        err_set(e, "%s:%s: no SBOM is attached to %s (built with --no-sbom or `sbom off`?)",
                dir, tag, digest);
        goto out;
    }
    /* The newest attachment last in digest order is arbitrary; all of ours are equal for
     * one manifest (reproducible), so the first one stands for them. */
    json_t *ref = json_array_get(refs, 0);
    if (!(art = layout_read_json_desc(l, ref, e)))
        goto out;
    json_t *layer = json_array_get(json_object_get(art, "layers"), 0);
    const char *ld = json_string_value(json_object_get(layer, "digest"));
    json_int_t ls = json_integer_value(json_object_get(layer, "size"));
    if (!ld || !(text = layout_read_blob(l, ld, ls, &n, e)))
        goto out;
    rc = fwrite(text, 1, n, stdout) == n && fputc('\n', stdout) != EOF ? 0 : err_set(e, "stdout: write failed");
out:
    layout_close(l);
    return rc;
}

int cmd_sbom(int argc, char **argv)
{
    static const struct option opts[] = {
        {"platform", required_argument, NULL, 'p'},
        {"insecure", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct platform *want = NULL;
    int insecure = 0, c;
    struct err e;
    err_clear(&e);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (!(want = platform_lookup(optarg))) {
                fprintf(stderr, "armlet: sbom: --platform \"%s\": expected linux/amd64, linux/arm64, "
                                "linux/arm/v7 or linux/arm/v6\n", optarg);
                return 2;
            }
            break;
        case 'k': insecure = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "armlet: sbom: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fputs("armlet: sbom: expected one OCI_DIR[:TAG] or REF\n", stderr);
        usage(stderr);
        return 2;
    }
    cleanup_free char *dir = NULL;
    const char *tag = NULL;
    int is_layout = layout_arg(argv[optind], &dir, &tag);
    int rc = is_layout < 0 ? err_set(&e, "out of memory")
             : is_layout ? from_layout(dir, tag, want, &e)
                         : referrers_print_sbom(argv[optind], want, insecure, &e);
    fflush(stdout);
    if (rc < 0) {
        err_print(&e);
        return 1;
    }
    return 0;
}
