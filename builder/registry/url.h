/* builder/registry/url.h — URLs a registry hands armlet (upload Locations, token realms).
 *
 * Lifecycle: none; functions on caller-owned buffers, parsing with libcurl's URL API
 * (CURLU), the same parser that later sends the request.
 *
 *     char loc[4096];
 *     if (url_resolve(request_url, location_header, "upload Location", loc, sizeof loc, e) < 0)
 *         ...                                   // "upload Location \"file:///x\" is not http or https"
 *     if (url_same_origin(loc, registry_base)) ... // only then may credentials go with it
 *
 * The rules: a URL armlet follows is http or https, has a host, carries no
 * user:password part and no control character or space; a relative reference is resolved
 * against the URL of the request that returned it (RFC 3986, section 5). Error messages
 * quote the offending value escaped (safetext.h), never raw. */
#ifndef ARMLET_URL_H
#define ARMLET_URL_H
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* Resolve ref against base (an absolute http(s) URL, or NULL when ref must be absolute),
 * check it by the rules above, and write the normalised absolute URL into out (cap bytes).
 * what names the source in messages ("upload Location", "token realm"). Returns 0, or
 * ERR with e set: "<what> \"<escaped ref>\" is not http or https" (or not a valid URL, has
 * no host, carries credentials, is too long). Sets no errno. */
__attribute__((warn_unused_result))
int url_resolve(const char *base, const char *ref, const char *what, char *out, size_t cap,
                struct err *e);

/* Where a URL points: scheme (https or not), host as the URL writes it ("[::1]" for
 * IPv6) lower-cased, and port (the scheme's default when absent). */
struct url_origin {
    bool https;
    char host[256];
    long port;
};

/* Parse an absolute http(s) URL's origin into *o. Returns 0, or -1 when url is not one. */
int url_origin(const char *url, struct url_origin *o);

/* True when a and b are absolute http(s) URLs with the same scheme, host and port. */
bool url_same_origin(const char *a, const char *b);

/* True when a and b name the same host (ports and schemes may differ). */
bool url_same_host(const char *a, const char *b);

#endif
