/* builder/util/safetext.h — text that came from a server, made safe to print or to send.
 *
 * Lifecycle: none; pure functions on caller-owned buffers.
 *
 * A registry (or anything on the path to it) chooses the bytes of its error messages,
 * headers and token replies. Two rules keep those bytes from doing harm:
 *   - before server text reaches the terminal (an error message, a --verbose line) it
 *     goes through safetext_escape(): a terminal escape sequence, a carriage return or a
 *     newline cannot repaint the screen or forge a line of armlet's output;
 *   - before a server value is put into a request header (a Bearer token) it must pass
 *     safetext_is_token(): no CR/LF (header injection), no other control byte.
 * Every place that prints or forwards server text uses these; nothing else does. */
#ifndef ARMLET_SAFETEXT_H
#define ARMLET_SAFETEXT_H
#include <stdbool.h>
#include <stddef.h>

/* Copy s into buf (cap bytes, cap >= 8), NUL-terminated, with every byte outside printable
 * ASCII (0x20-0x7e) written as \xHH and '\' as \\. When the result does not fit it is cut
 * at an escape boundary and ends in "...". Returns buf. s NULL is taken as "". */
const char *safetext_escape(const char *s, char *buf, size_t cap);

/* True when s[0..n) is non-empty and only printable ASCII without spaces (0x21-0x7e):
 * what a Bearer token (RFC 6750 b64token, or a JWT) may hold, and never CR or LF. */
bool safetext_is_token(const char *s, size_t n);

#endif
