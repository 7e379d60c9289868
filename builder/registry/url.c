/* builder/registry/url.c — see url.h for the rules. */
#include "registry/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "util/safetext.h"

static void cleanup_urlp(CURLU **u)
{
    if (*u)
        curl_url_cleanup(*u);
}
#define cleanup_url __attribute__((cleanup(cleanup_urlp)))

static void cleanup_curl_strp(char **s)
{
    if (*s)
        curl_free(*s);
}
#define cleanup_curl_str __attribute__((cleanup(cleanup_curl_strp)))

/* Control bytes and spaces never belong in a URL; CURLU refuses most of them too, but
 * the rule should not depend on a libcurl version or flag. Bytes >= 0x80 are refused as
 * well: a registry sends percent-encoded URLs. */
static bool url_bytes_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

static bool scheme_is_http(const char *scheme)
{
    return scheme && (!strcasecmp(scheme, "http") || !strcasecmp(scheme, "https"));
}

/* The scheme a reference names explicitly (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-"
 * / "." ) ":"), into out; false for a relative reference, which names none. */
static bool explicit_scheme(const char *ref, char *out, size_t cap)
{
    size_t n = strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
    if (n == 0 || n >= cap || ref[n] != ':' || !((ref[0] | 0x20) >= 'a' && (ref[0] | 0x20) <= 'z'))
        return false;
    memcpy(out, ref, n);
    out[n] = '\0';
    return true;
}

int url_resolve(const char *base, const char *ref, const char *what, char *out, size_t cap, struct err *e)
{
    char q[600];
    safetext_escape(ref, q, sizeof q);
    if (!*ref)
        return err_set(e, "%s is empty", what);
    if (!url_bytes_ok(ref))
        return err_set(e, "%s \"%s\" holds a control character, a space or a non-ASCII byte", what, q);
    char scheme0[32];
    bool has_scheme = explicit_scheme(ref, scheme0, sizeof scheme0);
    if (has_scheme && !scheme_is_http(scheme0))
        return err_set(e, "%s \"%s\" is not http or https: armlet follows no other scheme", what, q);
    if (!has_scheme && !base)
        return err_set(e, "%s \"%s\" is not an absolute http or https URL", what, q);
    cleanup_url CURLU *u = curl_url();
    if (!u)
        return err_set(e, "out of memory");
    if (base && curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
        return err_set(e, "%s \"%s\": the request URL it is relative to is not valid", what, q);
    /* With a base set, CURLU resolves a relative reference against it (RFC 3986); an
     * absolute one replaces it. CURLU_NON_SUPPORT_SCHEME lets an unknown scheme parse,
     * so that it is refused below by name like every other non-http scheme. */
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, ref, CURLU_NON_SUPPORT_SCHEME);
    if (rc != CURLUE_OK)
        return err_set(e, "%s \"%s\" is not a valid URL (%s)", what, q, curl_url_strerror(rc));
    cleanup_curl_str char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL, *full = NULL;
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (!scheme_is_http(scheme))
        return err_set(e, "%s \"%s\" is not http or https: armlet follows no other scheme", what, q);
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
        return err_set(e, "%s \"%s\" names no host", what, q);
    if (strlen(host) >= sizeof ((struct url_origin *)0)->host)
        return err_set(e, "%s \"%s\": host name longer than 255 bytes", what, q);
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK)
        return err_set(e, "%s \"%s\" carries a user name or password: refused", what, q);
    if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK || !full)
        return err_set(e, "%s \"%s\" is not a valid URL", what, q);
    /* libcurl normalises a host in steps ("//8%38" -> "88" -> "0.0.0.88"): parse the
     * result again until it stays the same, so what is checked is what gets requested. */
    for (int round = 0;; round++) {
        cleanup_url CURLU *v = curl_url();
        char *again = NULL;
        if (!v || curl_url_set(v, CURLUPART_URL, full, 0) != CURLUE_OK ||
            curl_url_get(v, CURLUPART_URL, &again, 0) != CURLUE_OK || !again)
            return err_set(e, "%s \"%s\" is not a valid URL", what, q);
        if (!strcmp(again, full)) {
            curl_free(again);
            break;
        }
        curl_free(full);
        full = again;
        if (round == 2)
            return err_set(e, "%s \"%s\" has no stable normal form", what, q);
    }
    /* The normalised form is checked again: resolution must not bring anything back. */
    if (!url_bytes_ok(full))
        return err_set(e, "%s \"%s\" resolves to a URL with a control character", what, q);
    if (strlen(full) >= cap)
        return err_set(e, "%s \"%s\" is longer than %zu bytes", what, q, cap - 1);
    memcpy(out, full, strlen(full) + 1);
    return 0;
}

int url_origin(const char *url, struct url_origin *o)
{
    memset(o, 0, sizeof *o);
    cleanup_url CURLU *u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        return -1;
    cleanup_curl_str char *scheme = NULL, *host = NULL, *port = NULL;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || !scheme_is_http(scheme) ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK || !port)
        return -1;
    if (strlen(host) >= sizeof o->host)
        return -1;
    o->https = !strcasecmp(scheme, "https");
    for (size_t i = 0; host[i]; i++)
        o->host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] - 'A' + 'a' : host[i]);
    o->port = strtol(port, NULL, 10);
    return 0;
}

bool url_same_host(const char *a, const char *b)
{
    struct url_origin oa, ob;
    return url_origin(a, &oa) == 0 && url_origin(b, &ob) == 0 && !strcmp(oa.host, ob.host);
}

bool url_same_origin(const char *a, const char *b)
{
    struct url_origin oa, ob;
    return url_origin(a, &oa) == 0 && url_origin(b, &ob) == 0 && oa.https == ob.https &&
           oa.port == ob.port && !strcmp(oa.host, ob.host);
}
