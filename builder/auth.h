/* builder/auth.h — registry authentication: challenges, credentials, headers.
 *
 * Lifecycle: nothing to open or close. A registry request that gets 401 hands the
 * WWW-Authenticate value to auth_parse_challenge(); the registry module then either
 * sends Basic credentials or fetches a Bearer token from the challenge's realm (that
 * HTTP exchange lives in registry.c). Credentials come from, first match wins:
 *   1. --creds USER:PASS                     (auth_creds_parse)
 *   2. $ARMLET_REGISTRY_CREDS = USER:PASS    (auth_creds_find)
 *   3. $DOCKER_CONFIG/config.json, else ~/.docker/config.json: "auths" entry for the
 *      registry, with "auth" (base64 of USER:PASS) or "username" + "password".
 * Secrets live only in struct auth_creds and in the Authorization header string; no
 * function here prints them, and error messages never quote them. */
#ifndef ARMLET_AUTH_H
#define ARMLET_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

enum auth_scheme { AUTH_NONE = 0, AUTH_BASIC, AUTH_BEARER };

struct auth_challenge {
    enum auth_scheme scheme;
    char realm[1024];
    char service[256];
    char scope[1024];
    char error[64];      /* Bearer error="insufficient_scope" etc., or "" */
};

struct auth_creds {
    bool set;
    char user[256];
    char pass[1024];
    char source[320];    /* where they came from, for messages: "--creds", a file path */
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
 * "127.0.0.1:5000", "docker.io") in $ARMLET_REGISTRY_CREDS then the Docker config.
 * Returns 1 found, 0 none, ERR when the config file exists but is malformed. */
__attribute__((warn_unused_result))
int auth_creds_find(const char *domain, struct auth_creds *c, struct err *e);

/* Base64 of in[0..n) into a new string (caller frees), or NULL on ENOMEM. */
char *auth_base64(const void *in, size_t n);
/* Decode base64 into a new NUL-terminated buffer (caller frees), length in *outn.
 * Returns NULL when the input is not base64. */
char *auth_unbase64(const char *in, size_t *outn);

/* "Authorization: Basic <base64(user:pass)>" (caller frees), or NULL on ENOMEM. */
char *auth_basic_header(const struct auth_creds *c);

#endif
