/* builder/image/annotations.h — OCI annotations of built and merged images.
 *
 *     cleanup_json json_t *idx = json_object(), *man = json_object();
 *     annotations_defaults(recipe_dir, epoch, labels..., idx, man, e);  // created, revision, source, title ...
 *     annotations_apply_recipe(r, idx, man, e);                         // `annotation KEY=VALUE` lines
 *     annotations_apply_args(args, n, idx, man, e);                     // --annotation [index:|manifest:]K=V
 *
 * Precedence, lowest first: the defaults, the recipe's `annotation` lines, the
 * command line. Defaults:
 *   - org.opencontainers.image.created: SOURCE_DATE_EPOCH (the build's epoch), RFC 3339,
 *     so a rebuild gives the same bytes;
 *   - org.opencontainers.image.revision and .source when the recipe's folder is in a git
 *     checkout: the HEAD commit and the `origin` remote's URL with any user:password@
 *     removed (an scp-like git@host:path becomes https://host/path; a local path is not
 *     used). Both come from
 *     running `git` (the same commit always gives the same values: rebuilds of one
 *     checkout stay byte-identical); no git, no checkout or no origin: not set;
 *   - every recipe label named org.opencontainers.image.* (title, description, version,
 *     licenses, url, source ...) is mirrored as an annotation, on the manifests and on the
 *     index: GHCR shows a multi-platform image's description from the index only.
 * Recipe annotations and unprefixed --annotation go to both the manifests and the index;
 * "index:" or "manifest:" picks one. Keys: non-empty, no whitespace or control bytes. */
#ifndef ARMLET_ANNOTATIONS_H
#define ARMLET_ANNOTATIONS_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "util/error.h"
#include "recipe/recipe.h"

/* The defaults above into idx and man (both JSON objects). dir: the recipe's folder.
 * Returns 0 or ERR (out of memory, a bad epoch); a failing git only means no git values. */
int annotations_defaults(const struct recipe *r, int64_t epoch, json_t *idx, json_t *man,
                         struct err *e);
/* The recipe's `annotation` lines into both. */
int annotations_apply_recipe(const struct recipe *r, json_t *idx, json_t *man, struct err *e);
/* "[index:|manifest:]KEY=VALUE" arguments. man NULL (armlet index): "manifest:" is an
 * error and unprefixed ones go to idx. 0 or ERR naming the argument. */
int annotations_apply_args(const char *const *args, size_t n, json_t *idx, json_t *man,
                           struct err *e);
/* For armlet index: annotations_apply_args(args, n, idx, NULL, e). */
int annotations_apply_index(json_t *idx, const char *const *args, size_t n, struct err *e);

/* A git remote URL without credentials, into out: "https://u:p@h/x" -> "https://h/x",
 * "git@h:o/r.git" -> "https://h/o/r.git"; a local path or file:// URL -> "" (it means
 * nothing to the image's users and differs from machine to machine). */
void annotations_clean_url(const char *url, char *out, size_t cap);

#endif
