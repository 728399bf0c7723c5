/* SPDX-License-Identifier: MIT */
/* UTF-8 validation: what JSON (jansson) accepts, checked before it is asked
 * to, so that text a caller sent cannot make an encoding fail later. */
#include <string.h>

#include "base/base.h"

size_t base_utf8_seq(const void *data, size_t len)
{
    /* RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
    const uint8_t *p = data;
    if (len == 0) {
        return 0;
    }
    uint8_t c = p[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
        cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (len <= n) {
        return 0;
    }
    for (size_t i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n + 1;
}

bool base_utf8_ok(const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t i = 0;
    while (i < len) {
        size_t n = base_utf8_seq(p + i, len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

void base_utf8_clean(char *s)
{
    size_t len = strlen(s);
    size_t i = 0;
    while (i < len) {
        size_t n = base_utf8_seq(s + i, len - i);
        if (n == 0) {
            s[i] = '?';
            n = 1;
        }
        i += n;
    }
}
