/* tests/fuzz/fuzz_url_resolve.c — libFuzzer harness for the URLs a registry hands out:
 * url_resolve() (Location and realm resolution and checks), url_origin(),
 * ref_host_is_loopback() and safetext_escape().
 *
 * Input: "BASE\nREF" (resolve REF against BASE), or just REF, resolved against a fixed
 * upload URL. Whatever the bytes, nothing may read or write out of bounds, and:
 *   - an accepted URL is NUL-terminated, http:// or https://, free of control bytes,
 *     spaces and non-ASCII, has an origin, and resolves to itself again (idempotent);
 *   - a refusal's message holds no raw control byte (server text is escaped);
 *   - the escaped form of any text is printable ASCII and fits its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/reference.h"
#include "util/safetext.h"
#include "registry/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = strndup((const char *)data, size);   /* as C text: up to a NUL byte */
    if (!in)
        return 0;
    const char *base = "http://127.0.0.1:5000/v2/app/blobs/uploads/";
    char *ref = in;
    char *nl = strchr(in, '\n');
    if (nl) {
        *nl = '\0';
        base = in;
        ref = nl + 1;
    }
    char out[512], again[512];
    struct err e;
    err_clear(&e);
    if (url_resolve(base, ref, "Location header", out, sizeof out, &e) == 0) {
        if (!memchr(out, '\0', sizeof out))
            abort();
        if (strncmp(out, "http://", 7) != 0 && strncmp(out, "https://", 8) != 0)
            abort();
        for (const char *p = out; *p; p++)
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                abort();
        struct url_origin o;
        if (url_origin(out, &o) != 0 || !memchr(o.host, '\0', sizeof o.host))
            abort();
        if (url_resolve(NULL, out, "again", again, sizeof again, &e) != 0 || strcmp(out, again) != 0)
            abort();
        (void)ref_host_is_loopback(o.host);
    } else {
        check_printable(e.msg);
    }
    (void)ref_host_is_loopback(ref);
    (void)safetext_is_token(ref, strlen(ref));
    char esc[64];
    safetext_escape(ref, esc, sizeof esc);
    if (!memchr(esc, '\0', sizeof esc))
        abort();
    check_printable(esc);
    free(in);
    return 0;
}
