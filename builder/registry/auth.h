/* builder/registry/auth.h — registry authentication: challenges, credentials, headers.
 *
 * Lifecycle: nothing to open or close. A registry request that gets 401 hands the
 * WWW-Authenticate value to auth_parse_challenge(); the registry module then either
 * sends Basic credentials or fetches a Bearer token from the challenge's realm (that
 * HTTP exchange lives in registry.c). Credentials come from, first match wins:
 *   1. --creds USER:PASS                     (auth_creds_parse)
 *   2. $ARMLET_REGISTRY_CREDS = USER:PASS    (auth_creds_find, from here on)
 *   3. $REGISTRY_AUTH_FILE (podman/skopeo/buildah's --authfile), when set
 *   4. $DOCKER_CONFIG/config.json, else ~/.docker/config.json
 *   5. ${XDG_RUNTIME_DIR}/containers/auth.json (podman login's default)
 *   6. ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json
 * In each file, as Docker reads it: a "credHelpers" entry for the registry runs that
 * helper (credhelper.h); else a "credsStore" runs that one; when the helper has nothing
 * for the registry, or there is no helper, the "auths" entry: "registrytoken" (a Bearer
 * token sent as is), "identitytoken" (an OAuth2 refresh token), "auth" (base64 of
 * USER:PASS) or "username" + "password". A file with nothing for the registry passes
 * the question on to the next one.
 * Passwords and tokens may be up to 64 KiB (ECR's are 2-3 KB, OAuth tokens more).
 * Secrets live only in struct auth_creds and in the Authorization header string; no
 * function here prints them, and error messages never quote them. */
#ifndef ARMLET_AUTH_H
#define ARMLET_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include "util/error.h"

enum auth_scheme { AUTH_NONE = 0, AUTH_BASIC, AUTH_BEARER };

struct auth_challenge {
    enum auth_scheme scheme;
    char realm[1024];
    char service[256];
    char scope[1024];
    char error[64];      /* Bearer error="insufficient_scope" etc., or "" */
};

/* Longest password or token accepted, in bytes. */
#define AUTH_SECRET_MAX 65536

enum auth_kind {
    AUTH_PASSWORD = 0,   /* user + pass: Basic, or Basic to the token realm */
    AUTH_IDENTITY_TOKEN, /* pass is an OAuth2 refresh token: POSTed to the realm */
    AUTH_REGISTRY_TOKEN, /* pass is a Bearer token: sent to the registry as is */
};

struct auth_creds {
    bool set;
    enum auth_kind kind;
    char user[256];                /* "" for the token kinds */
    char pass[AUTH_SECRET_MAX + 1]; /* password or token (secret) */
    char source[512];    /* where they came from, for messages: "--creds", a file path */
};

/* Parse a WWW-Authenticate header value (RFC 7235: scheme, then comma-separated
 * name=token or name="quoted" parameters; several challenges may follow each other).
 * Picks Bearer when offered, else Basic. Returns 0, or -1 when no supported scheme is
 * found (c->scheme = AUTH_NONE). Never reads past the terminating NUL. */
int auth_parse_challenge(const char *hdr, struct auth_challenge *c);

/* "USER:PASS" -> *c (source = what, e.g. "--creds"). Returns 0 or ERR (no ':'/empty
 * user/too long) without quoting the secret. */
__attribute__((warn_unused_result))
int auth_creds_parse(const char *userpass, const char *what, struct auth_creds *c, struct err *e);

/* Look up credentials for registry domain (as written in the reference, e.g.
 * "127.0.0.1:5000", "docker.io") in $ARMLET_REGISTRY_CREDS then the files above.
 * Returns 1 found, 0 none, ERR when a file exists but is malformed or a credential
 * helper fails (the message names the file or the helper, never a secret). */
__attribute__((warn_unused_result))
int auth_creds_find(const char *domain, struct auth_creds *c, struct err *e);

/* Base64 of in[0..n) into a new string (caller frees), or NULL on ENOMEM. */
char *auth_base64(const void *in, size_t n);
/* Decode base64 into a new NUL-terminated buffer (caller frees), length in *outn.
 * Returns NULL when the input is not base64. */
char *auth_unbase64(const char *in, size_t *outn);

/* Fill *c with a secret of the given kind: user (ulen bytes) may be empty only for the
 * token kinds; pass at most AUTH_SECRET_MAX bytes. Returns 0 or ERR naming `what`. */
__attribute__((warn_unused_result))
int auth_creds_set(struct auth_creds *c, enum auth_kind kind, const char *user, size_t ulen,
                   const char *pass, const char *what, struct err *e);

/* What kind of secret c holds, for messages: "credentials", "identity token",
 * "registry token". */
const char *auth_kind_name(const struct auth_creds *c);

/* "Authorization: Basic <base64(user:pass)>" (caller frees), or NULL on ENOMEM. */
char *auth_basic_header(const struct auth_creds *c);

#endif
