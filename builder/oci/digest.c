/* builder/oci/digest.c — see digest.h. */
#include "oci/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int digest_init(struct digest *d, struct err *e)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c)
        return err_set(e, "sha256: out of memory");
    if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return err_set(e, "sha256: cannot initialise");
    }
    d->ctx = c;
    return 0;
}

void digest_update(struct digest *d, const void *buf, size_t n)
{
    /* EVP_DigestUpdate on an initialised sha256 context cannot fail. */
    EVP_DigestUpdate(d->ctx, buf, n);
}

void digest_final_hex(struct digest *d, char hex[DIGEST_HEX_LEN + 1])
{
    static const char xd[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(d->ctx, md, &len);
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = xd[md[i] >> 4];
        hex[2 * i + 1] = xd[md[i] & 15];
    }
    hex[DIGEST_HEX_LEN] = '\0';
    digest_abort(d);
}

void digest_final(struct digest *d, char out[DIGEST_PREFIXED_LEN + 1])
{
    memcpy(out, "sha256:", 7);
    digest_final_hex(d, out + 7);
}

void digest_abort(struct digest *d)
{
    EVP_MD_CTX_free(d->ctx);
    d->ctx = NULL;
}

int digest_buffer(const void *buf, size_t n, char out[DIGEST_PREFIXED_LEN + 1], struct err *e)
{
    struct digest d;
    if (digest_init(&d, e) < 0)
        return ERR;
    digest_update(&d, buf, n);
    digest_final(&d, out);
    return 0;
}

bool digest_hex_valid(const char *hex)
{
    if (!hex || strlen(hex) != DIGEST_HEX_LEN)
        return false;
    for (const char *c = hex; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return false;
    return true;
}

bool digest_valid(const char *s)
{
    return s && strncmp(s, "sha256:", 7) == 0 && digest_hex_valid(s + 7);
}
