/* builder/image/provenance.c — see provenance.h. */
#include "image/provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "oci/digest.h"
#include "image/libs.h"
#include "oci/referrer.h"
#include "image/sbom.h"

static const char *compress_name(enum compress c)
{
    return c == COMPRESS_ZSTD ? "zstd" : c == COMPRESS_NONE ? "none" : "gzip";
}

/* resolvedDependencies entries of every host file of t, in path order. */
static int add_inputs(json_t *deps, struct tree *t, const char *dir, struct err *e)
{
    const struct tree_node **nodes = NULL;
    size_t n = 0;
    if (tree_sorted(t, &nodes, &n, e) < 0)
        return ERR;
    size_t dl = dir ? strlen(dir) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct tree_node *node = nodes[i];
        if (node->kind != TREE_FILE || !node->src)
            continue;
        char hex[DIGEST_HEX_LEN + 1], name[4200], uri[4200];
        if (sbom_node_sha256(node, hex, e) < 0)
            return ERR;
        const char *src = node->src;
        if (dl && !strncmp(src, dir, dl) && src[dl] == '/')
            src += dl + 1;   /* below the recipe's folder: the same on every checkout */
        while (!strncmp(src, "./", 2))
            src += 2;
        snprintf(name, sizeof name, "/%s", node->path);
        snprintf(uri, sizeof uri, "file:%s", src);
        if (json_array_append_new(deps, json_pack("{s:s,s:s,s:{s:s}}", "name", name, "uri", uri,
                                                  "digest", "sha256", hex)) < 0)
            return err_set(e, "out of memory");
    }
    return 0;
}

int provenance_attach(const struct provenance_opts *po, struct tree *base, struct tree *app,
                      const struct oci_desc *man, const char *blobs, struct err *e)
{
    const struct recipe *r = po->r;
    char recipe_digest[DIGEST_PREFIXED_LEN + 1];
    if (digest_buffer(r->text, r->text_len, recipe_digest, e) < 0)
        return ERR;
    cleanup_json json_t *deps = json_array();
    if (!deps)
        return err_set(e, "out of memory");
    /* The recipe by file name: where the checkout lives is no input of the image. */
    const char *slash = strrchr(r->path, '/');
    const char *recipe_name = slash ? slash + 1 : r->path;
    cleanup_free char *recipe_uri = NULL;
    if (asprintf(&recipe_uri, "file:%s", recipe_name) < 0)
        return err_set(e, "out of memory");
    json_array_append_new(deps, json_pack("{s:s,s:s,s:{s:s}}", "name", "recipe", "uri",
                                          recipe_uri, "digest", "sha256", recipe_digest + 7));
    if (add_inputs(deps, base, r->dir, e) < 0 || add_inputs(deps, app, r->dir, e) < 0)
        return err_ctx(e, "%s: provenance", po->p->oci);
    const char *name = r->name && *r->name ? r->name : "armlet-image";
    cleanup_json json_t *st = json_pack(
        "{s:s,s:[{s:s,s:{s:s}}],s:s,s:{s:{s:s,s:{s:{s:s,s:{s:s}},s:s,s:s,s:b},"
        "s:{s:I,s:s},s:O},s:{s:{s:s,s:{s:s}},s:{}}}}",
        "_type", "https://in-toto.io/Statement/v1",
        "subject", "name", name, "digest", "sha256", man->digest + 7,
        "predicateType", "https://slsa.dev/provenance/v1",
        "predicate",
        "buildDefinition",
        "buildType", "urn:armlet:build:v1",
        "externalParameters",
        "recipe", "path", recipe_name, "digest", "sha256", recipe_digest + 7,
        "platform", po->p->oci, "compress", compress_name(po->compress),
        "statusD", 1,
        "internalParameters", "SOURCE_DATE_EPOCH", (json_int_t)po->epoch,
        "sysroot", po->sysroot ? po->sysroot : "/",
        "resolvedDependencies", deps,
        "runDetails",
        "builder", "id", "urn:armlet:armlet@" ARMLET_VERSION,
        "version", "armlet", ARMLET_VERSION,
        "metadata");
    cleanup_free char *text = st ? oci_json_dump(st, e) : NULL;
    struct oci_desc ref;
    if (!st)
        err_set(e, "out of memory");
    if (!text || referrer_write(blobs, PROVENANCE_ARTIFACT_TYPE, text, strlen(text), man,
                                po->epoch, &ref, e) < 0)
        return err_ctx(e, "%s: provenance", po->p->oci);
    return 0;
}
