/* builder/util/safetext.c — see safetext.h. */
#include "util/safetext.h"

#include <string.h>

/* The escaped form of byte c into one[], its length returned. */
static size_t escape_one(unsigned char c, char one[4])
{
    static const char hex[] = "0123456789abcdef";
    if (c == '\\') {
        one[0] = one[1] = '\\';
        return 2;
    }
    if (c >= 0x20 && c < 0x7f) {
        one[0] = (char)c;
        return 1;
    }
    one[0] = '\\', one[1] = 'x', one[2] = hex[c >> 4], one[3] = hex[c & 15];
    return 4;
}

const char *safetext_escape(const char *s, char *buf, size_t cap)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    char one[4];
    size_t total = 0;
    for (const unsigned char *q = p; *q; q++)
        total += escape_one(*q, one);
    /* Everything when it fits; else as much as fits before "...", whole escapes only. */
    size_t limit = total < cap ? total : cap - 4;
    size_t o = 0;
    for (; *p; p++) {
        size_t k = escape_one(*p, one);
        if (o + k > limit)
            break;
        memcpy(buf + o, one, k);
        o += k;
    }
    if (total >= cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

bool safetext_is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}
