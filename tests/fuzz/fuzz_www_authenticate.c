/* tests/fuzz/fuzz_www_authenticate.c — libFuzzer harness for auth_parse_challenge():
 * any bytes as a WWW-Authenticate value must parse without reading or writing out of
 * bounds, and every field must come back NUL-terminated inside its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct auth_challenge c;
    int rc = auth_parse_challenge(s, &c);
    if (memchr(c.realm, 0, sizeof c.realm) == NULL || memchr(c.service, 0, sizeof c.service) == NULL ||
        memchr(c.scope, 0, sizeof c.scope) == NULL || memchr(c.error, 0, sizeof c.error) == NULL)
        abort();
    if ((rc == 0) != (c.scheme == AUTH_BASIC || c.scheme == AUTH_BEARER))
        abort();
    free(s);
    return 0;
}
