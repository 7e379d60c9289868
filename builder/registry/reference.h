/* builder/registry/reference.h — image references: [host[:port]/]repo[:tag|@digest].
 *
 * Lifecycle: none. ref_parse() fills a caller-owned struct ref (fixed buffers, no heap),
 * then the fields are read directly. Rules follow Docker's reference grammar:
 *   - the first path component is a registry host when it contains '.' or ':', is
 *     "localhost", or is a bracketed IPv6 address; otherwise the host is docker.io;
 *   - docker.io is reached at registry-1.docker.io, and a one-component repository
 *     there gets "library/" (busybox -> docker.io/library/busybox);
 *   - repository components are lowercase [a-z0-9] joined by '.', '_', '__' or '-';
 *   - a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a digest is sha256:<64 hex>.
 * No tag and no digest leaves both empty: the caller picks the default. */
#ifndef ARMLET_REFERENCE_H
#define ARMLET_REFERENCE_H
#include <stdbool.h>
#include "oci/digest.h"
#include "util/error.h"

struct ref {
    char domain[256];   /* as the user wrote it, or "docker.io": "127.0.0.1:5000" */
    char host[256];     /* where the API lives: "registry-1.docker.io", "127.0.0.1:5000" */
    char repo[256];     /* "library/busybox", "team/app" */
    char tag[129];      /* "" when not given */
    char digest[DIGEST_PREFIXED_LEN + 1];   /* "sha256:..." or "" */
};

/* Parse s into *r. Returns 0, or ERR with e naming what is wrong. Sets no errno. */
__attribute__((warn_unused_result))
int ref_parse(const char *s, struct ref *r, struct err *e);

/* True when host (with or without ":port") is a literal loopback: "localhost", a dotted
 * quad in 127.0.0.0/8, or "[::1]". Never by prefix: "127.evil.example.com" and
 * "localhost.example.com" are not loopback. */
bool ref_host_is_loopback(const char *host);

/* True when t is a valid tag. Digests: digest_valid (digest.h). */
bool ref_tag_valid(const char *t);

#endif
