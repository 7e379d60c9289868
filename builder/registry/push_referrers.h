/* builder/registry/push_referrers.h — referrers (SBOM, provenance) on a registry: pushed after
 * their subjects by `armlet push`, read back by `armlet sbom REF`.
 *
 * Push (push_referrers, called by push.c once the tag is up): for each pushed manifest,
 * every referrer the layout holds for it (referrer.h) is sent — its blobs, then the
 * manifest by digest. A registry with the OCI 1.1 referrers API
 * (GET /v2/<repo>/referrers/<digest> answers 200) indexes them itself. Otherwise the
 * distribution-spec 1.1 fallback: the image index tagged sha256-<hex of the subject> is
 * read, our descriptors merged in (entries already there are kept, so other tools'
 * signatures and attestations survive: updated, never overwritten) and put back when it
 * changed.
 *
 * Read (referrers_print_sbom): the tag or digest, the platform's manifest, its
 * referrers (API, else the fallback tag), the SPDX artifact's manifest and blob; every
 * document checked against its digest. Blobs are read in 64 KiB ranges (the registry
 * client keeps 64 KiB of a reply body).
 */
#ifndef ARMLET_PUSH_REFERRERS_H
#define ARMLET_PUSH_REFERRERS_H
#include <stddef.h>
#include <curl/curl.h>
#include <jansson.h>
#include "util/error.h"
#include "util/platform.h"
#include "registry/registry.h"

/* Push the layout's referrers of each of the n subject digests to repo. 0 or ERR. */
int push_referrers(struct registry *reg, CURL *h, const char *oci_dir, const char *repo,
                   const char *const *subjects, size_t n, struct err *e);

/* Print the SBOM of ref's platform want (NULL: the only one) on stdout. 0 or ERR. */
int referrers_print_sbom(const char *ref, const struct platform *want, int insecure,
                         struct err *e);

/* The manifest descriptor of platform want in image index idx (borrowed), or NULL with e
 * set (no such platform, or several and want is NULL); where names the image. */
const json_t *referrers_pick_platform(const json_t *idx, const struct platform *want,
                                      const char *where, struct err *e);

#endif
