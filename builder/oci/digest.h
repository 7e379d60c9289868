/* builder/oci/digest.h — sha256 over a stream or a buffer (libcrypto EVP).
 *
 *     struct digest d;
 *     if (digest_init(&d, e) < 0) ...
 *     digest_update(&d, buf, n);  ...
 *     char hex[DIGEST_HEX_LEN + 1];
 *     digest_final_hex(&d, hex);          // frees the context: call exactly once
 *                                         // (or digest_final: "sha256:<hex>")
 *
 * or in one call: digest_buffer(buf, n, "sha256:<hex>" out, e); digest_valid(s) checks
 * that form. No errno is set; the only failure is libcrypto running out of memory,
 * reported through e.
 */
#ifndef ARMLET_DIGEST_H
#define ARMLET_DIGEST_H
#include <stdbool.h>
#include <stddef.h>
#include "util/error.h"

#define DIGEST_HEX_LEN 64
#define DIGEST_PREFIXED_LEN (7 + DIGEST_HEX_LEN)   /* "sha256:" + hex */

struct digest {
    void *ctx;   /* EVP_MD_CTX, owned until digest_final_hex / digest_abort */
};

__attribute__((warn_unused_result))
int digest_init(struct digest *d, struct err *e);
void digest_update(struct digest *d, const void *buf, size_t n);
/* Writes 64 lowercase hex digits and a NUL to hex, and frees the context. */
void digest_final_hex(struct digest *d, char hex[DIGEST_HEX_LEN + 1]);
/* The same as "sha256:<hex>" into out (DIGEST_PREFIXED_LEN + 1 bytes). */
void digest_final(struct digest *d, char out[DIGEST_PREFIXED_LEN + 1]);
/* Frees the context without a result (error paths). Safe on an unused or final digest. */
void digest_abort(struct digest *d);
/* "sha256:<hex>" of buf into out (DIGEST_PREFIXED_LEN + 1 bytes). */
int digest_buffer(const void *buf, size_t n, char out[DIGEST_PREFIXED_LEN + 1], struct err *e);
/* True when s is "sha256:" followed by exactly 64 lowercase hex digits (the only digest
 * form armlet writes or accepts: layouts, references, registry answers). NULL is false. */
bool digest_valid(const char *s);
/* The same for the 64 hex digits alone (a blob's file name under blobs/sha256/). */
bool digest_hex_valid(const char *hex);

#endif
