/* pct.c - percent-encoding and decoding (see pct.h). */
#include "core/pct.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

static const char upper_hex[] = "0123456789ABCDEF";

int pct_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum status pct_decode(const char *s, size_t len, bool plus_space, char **out)
{
    char *dst = xmalloc(len + 1);
    size_t n = 0;

    *out = NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            int hi = len - i >= 3 ? pct_hexval((unsigned char)s[i + 1]) : -1;
            int lo = len - i >= 3 ? pct_hexval((unsigned char)s[i + 2]) : -1;

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(dst);
                return ST_INVALID;
            }
            dst[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            dst[n++] = ' ';
        } else if (c == '\0') {
            free(dst);
            return ST_INVALID;
        } else {
            dst[n++] = (char)c;
        }
    }
    dst[n] = '\0';
    *out = dst;
    return ST_OK;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

enum status pct_encode(struct buf *b, const char *s, size_t n, bool keep_slash)
{
    size_t run = 0; /* bytes of s before i still to append as they are */

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (unreserved(c) || (keep_slash && c == '/'))
            continue;
        char esc[3] = {'%', upper_hex[c >> 4], upper_hex[c & 15]};
        if (buf_append(b, s + run, i - run) || buf_append(b, esc, 3))
            return ST_INVALID;
        run = i + 1;
    }
    return buf_append(b, s + run, n - run);
}

enum status pct_puts(struct buf *b, const char *s)
{
    return pct_encode(b, s, strlen(s), false);
}
