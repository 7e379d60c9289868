/* builder/registry/auth.c — see auth.h. */
#include "registry/auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "util/cleanup.h"
#include "registry/credhelper.h"

/* ---------------------------------------------------------------- WWW-Authenticate */

static bool is_tchar(char ch)
{
    return isalnum((unsigned char)ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Read a token or quoted-string at *pp into out (truncated to cap-1). Advances *pp. */
static void read_value(const char **pp, char *out, size_t cap)
{
    const char *p = *pp;
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 < cap)
                out[n++] = *p;
            p++;
        }
        if (*p == '"')
            p++;
    } else {
        /* token68 may end with '=' padding */
        while (is_tchar(*p) || *p == '/' || *p == '=' || *p == ':') {
            if (n + 1 < cap)
                out[n++] = *p;
            p++;
        }
    }
    out[n] = '\0';
    *pp = p;
}

int auth_parse_challenge(const char *hdr, struct auth_challenge *c)
{
    memset(c, 0, sizeof *c);
    struct auth_challenge cur;
    memset(&cur, 0, sizeof cur);
    bool have_cur = false, in_params = false;
    const char *p = hdr;
    for (;;) {
        p = skip_ws(p);
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (is_tchar(*p))
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0) {           /* garbage: skip one char */
            p++;
            continue;
        }
        const char *q = skip_ws(p);
        if (*q == '=' && in_params) {
            char name[32] = "";
            if (n < sizeof name)
                memcpy(name, start, n);
            q = skip_ws(q + 1);
            char val[1024];
            read_value(&q, val, sizeof val);
            p = q;
            if (!have_cur)
                continue;
            if (!strcasecmp(name, "realm"))
                snprintf(cur.realm, sizeof cur.realm, "%.*s", (int)sizeof cur.realm - 1, val);
            else if (!strcasecmp(name, "service"))
                snprintf(cur.service, sizeof cur.service, "%.*s", (int)sizeof cur.service - 1, val);
            else if (!strcasecmp(name, "scope"))
                snprintf(cur.scope, sizeof cur.scope, "%.*s", (int)sizeof cur.scope - 1, val);
            else if (!strcasecmp(name, "error"))
                snprintf(cur.error, sizeof cur.error, "%.*s", (int)sizeof cur.error - 1, val);
            continue;
        }
        /* A new challenge's scheme: keep the best seen so far. */
        if (have_cur && (cur.scheme == AUTH_BEARER || (cur.scheme == AUTH_BASIC && c->scheme == AUTH_NONE)))
            *c = cur;
        memset(&cur, 0, sizeof cur);
        have_cur = true;
        in_params = true;
        if (n == 6 && !strncasecmp(start, "bearer", 6))
            cur.scheme = AUTH_BEARER;
        else if (n == 5 && !strncasecmp(start, "basic", 5))
            cur.scheme = AUTH_BASIC;
        else
            cur.scheme = AUTH_NONE;
        if (c->scheme == AUTH_BEARER)
            have_cur = false;   /* already have the preferred scheme */
    }
    if (have_cur && (cur.scheme == AUTH_BEARER || (cur.scheme == AUTH_BASIC && c->scheme == AUTH_NONE)))
        *c = cur;
    return c->scheme == AUTH_NONE ? -1 : 0;
}

/* ---------------------------------------------------------------- base64 */

char *auth_base64(const void *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

char *auth_unbase64(const char *in, size_t *outn)
{
    size_t n = strlen(in);
    if (n == 0 || n % 4 != 0 || n > 1 << 20)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)in[i]) || in[i] == '+' || in[i] == '/' || (in[i] == '=' && i >= n - 2)))
            return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return NULL;
    int m = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (m < 0) {
        free(out);
        return NULL;
    }
    size_t len = (size_t)m;
    if (in[n - 1] == '=')
        len--;
    if (in[n - 2] == '=')
        len--;
    out[len] = '\0';
    *outn = len;
    return (char *)out;
}

char *auth_basic_header(const struct auth_creds *c)
{
    size_t ul = strlen(c->user), pl = strlen(c->pass);
    char *pair = malloc(ul + pl + 2);
    if (!pair)
        return NULL;
    memcpy(pair, c->user, ul);
    pair[ul] = ':';
    memcpy(pair + ul + 1, c->pass, pl + 1);
    char *b64 = auth_base64(pair, ul + pl + 1);
    explicit_bzero(pair, ul + pl + 1);
    free(pair);
    if (!b64)
        return NULL;
    char *h = NULL;
    if (asprintf(&h, "Authorization: Basic %s", b64) < 0)
        h = NULL;
    explicit_bzero(b64, strlen(b64));
    free(b64);
    return h;
}

/* ---------------------------------------------------------------- credentials */

int auth_creds_set(struct auth_creds *c, enum auth_kind kind, const char *user, size_t ulen,
                   const char *pass, const char *what, struct err *e)
{
    memset(c, 0, sizeof *c);
    if (ulen == 0 && kind == AUTH_PASSWORD)
        return err_set(e, "credentials from %s: user name is empty", what);
    if (ulen >= sizeof c->user)
        return err_set(e, "credentials from %s: user name longer than %zu bytes", what, sizeof c->user - 1);
    size_t pl = strlen(pass);
    if (pl == 0 && kind != AUTH_PASSWORD)
        return err_set(e, "%s from %s: empty", kind == AUTH_IDENTITY_TOKEN ? "identity token" : "registry token",
                       what);
    if (pl >= sizeof c->pass)
        return err_set(e, "credentials from %s: password or token longer than %d KiB", what, AUTH_SECRET_MAX >> 10);
    memcpy(c->user, user, ulen);
    c->user[ulen] = '\0';
    memcpy(c->pass, pass, pl + 1);
    snprintf(c->source, sizeof c->source, "%s", what);
    c->kind = kind;
    c->set = true;
    return 0;
}

const char *auth_kind_name(const struct auth_creds *c)
{
    return c->kind == AUTH_IDENTITY_TOKEN ? "identity token" : c->kind == AUTH_REGISTRY_TOKEN ? "registry token"
                                                                                              : "credentials";
}

int auth_creds_parse(const char *userpass, const char *what, struct auth_creds *c, struct err *e)
{
    memset(c, 0, sizeof *c);
    const char *colon = strchr(userpass, ':');
    if (!colon)
        return err_set(e, "credentials from %s: expected USER:PASS", what);
    return auth_creds_set(c, AUTH_PASSWORD, userpass, (size_t)(colon - userpass), colon + 1, what, e);
}

/* Does a config.json "auths" key name this registry? Keys come as "host[:port]",
 * "https://host[:port]", "https://index.docker.io/v1/". */
static bool key_matches(const char *key, const char *domain)
{
    if (!strncmp(key, "https://", 8))
        key += 8;
    else if (!strncmp(key, "http://", 7))
        key += 7;
    size_t n = strcspn(key, "/");
    if (strlen(domain) == n && !strncmp(key, domain, n))
        return true;
    if (!strcmp(domain, "docker.io"))
        return (n == 15 && !strncmp(key, "index.docker.io", n)) ||
               (n == 20 && !strncmp(key, "registry-1.docker.io", n));
    return false;
}

/* A JSON string value without NUL bytes inside, or NULL. */
static const char *json_clean_string(json_t *v)
{
    const char *s = json_string_value(v);
    return s && strlen(s) == json_string_length(v) ? s : NULL;
}

/* An "auths" entry: registrytoken, identitytoken, auth or username + password, in the
 * order Docker prefers them. Returns 1, 0 (nothing usable) or ERR. */
static int creds_from_entry(json_t *entry, const char *path, struct auth_creds *c, struct err *e)
{
    const char *tok = json_clean_string(json_object_get(entry, "registrytoken"));
    if (tok && *tok)
        return auth_creds_set(c, AUTH_REGISTRY_TOKEN, "", 0, tok, path, e) < 0 ? ERR : 1;
    tok = json_clean_string(json_object_get(entry, "identitytoken"));
    if (tok && *tok)
        return auth_creds_set(c, AUTH_IDENTITY_TOKEN, "", 0, tok, path, e) < 0 ? ERR : 1;
    const char *auth = json_clean_string(json_object_get(entry, "auth"));
    if (auth && *auth) {
        size_t n = 0;
        char *dec = auth_unbase64(auth, &n);
        if (!dec || strlen(dec) != n) {
            free(dec);
            return err_set(e, "%s: \"auth\" is not base64 of USER:PASS", path);
        }
        int rc = auth_creds_parse(dec, path, c, e);
        explicit_bzero(dec, n);
        free(dec);
        return rc < 0 ? ERR : 1;
    }
    const char *user = json_clean_string(json_object_get(entry, "username"));
    const char *pass = json_clean_string(json_object_get(entry, "password"));
    if (user && pass && *pass)
        return auth_creds_set(c, AUTH_PASSWORD, user, strlen(user), pass, path, e) < 0 ? ERR : 1;
    return 0;
}

/* The address a credential helper is asked about: Docker Hub's legacy index URL, as
 * `docker login` stores it, else the registry's host[:port]. */
static const char *helper_server(const char *domain)
{
    return strcmp(domain, "docker.io") == 0 ? "https://index.docker.io/v1/" : domain;
}

/* Credentials for domain from one Docker-format file (config.json or auth.json).
 * Returns 1 found, 0 nothing there (or no such file), ERR. */
static int creds_from_file(const char *path, const char *domain, struct auth_creds *c, struct err *e)
{
    cleanup_file FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT || errno == ENOTDIR ? 0 : err_sys(e, errno, "%s", path);
    json_error_t je;
    cleanup_json json_t *doc = json_loadf(f, 0, &je);
    if (!doc)
        return err_set(e, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    char what[512];
    const char *key;
    json_t *v;
    /* credHelpers: one helper per registry; credsStore: the helper for the rest. */
    const char *helper = NULL, *field = "credsStore";
    json_object_foreach(json_object_get(doc, "credHelpers"), key, v) {
        if (key_matches(key, domain) && json_clean_string(v) && *json_string_value(v)) {
            helper = json_string_value(v);
            field = "credHelpers";
            break;
        }
    }
    if (!helper) {
        helper = json_clean_string(json_object_get(doc, "credsStore"));
        if (helper && !*helper)
            helper = NULL;
    }
    if (helper) {
        snprintf(what, sizeof what, "docker-credential-%.64s (%s of %.400s)", helper, field, path);
        int rc = credhelper_get(helper, helper_server(domain), what, c, e);
        if (rc != 0)
            return rc;
    }
    json_object_foreach(json_object_get(doc, "auths"), key, v) {
        if (!key_matches(key, domain) || !json_is_object(v))
            continue;
        int rc = creds_from_entry(v, path, c, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int auth_creds_find(const char *domain, struct auth_creds *c, struct err *e)
{
    memset(c, 0, sizeof *c);
    const char *env = getenv("ARMLET_REGISTRY_CREDS");
    if (env && *env)
        return auth_creds_parse(env, "ARMLET_REGISTRY_CREDS", c, e) < 0 ? ERR : 1;

    /* The search order of auth.h; an unset variable skips its file. */
    char paths[4][4096];
    size_t n = 0;
    const char *authfile = getenv("REGISTRY_AUTH_FILE");
    const char *dir = getenv("DOCKER_CONFIG");
    const char *home = getenv("HOME");
    const char *run = getenv("XDG_RUNTIME_DIR");
    const char *cfg = getenv("XDG_CONFIG_HOME");
    if (authfile && *authfile)
        snprintf(paths[n++], sizeof paths[0], "%s", authfile);
    if (dir && *dir)
        snprintf(paths[n++], sizeof paths[0], "%s/config.json", dir);
    else if (home && *home)
        snprintf(paths[n++], sizeof paths[0], "%s/.docker/config.json", home);
    if (run && *run)
        snprintf(paths[n++], sizeof paths[0], "%s/containers/auth.json", run);
    if (cfg && *cfg)
        snprintf(paths[n++], sizeof paths[0], "%s/containers/auth.json", cfg);
    else if (home && *home)
        snprintf(paths[n++], sizeof paths[0], "%s/.config/containers/auth.json", home);
    for (size_t i = 0; i < n; i++) {
        int rc = creds_from_file(paths[i], domain, c, e);
        if (rc != 0)
            return rc;
    }
    memset(c, 0, sizeof *c);
    return 0;
}
