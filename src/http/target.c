/*
 * target.c - request-target parsing: the raw path, the decoded query, and
 * percent-decoding (RFC 3986 section 2.1).
 *
 * The path is kept exactly as received: namespaces are split on a literal
 * "%1F" and names may contain "%2F", so decoding belongs to whoever knows
 * what a segment means. The query is decoded here, with '+' as a space
 * (HTML form encoding, which Java's URLEncoder produces).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/pct.h"
#include "http/http.h"

void http_kv_free(struct http_kv *kv, size_t n)
{
    if (!kv)
        return;
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

/*
 * target_char_ok says whether byte c may appear in a request target. RFC 3986
 * allows only printable ASCII; spaces, controls and raw non-ASCII bytes must
 * arrive percent-encoded.
 */
static bool target_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* check_escapes verifies that every '%' in s[0..len) starts a valid %XX escape. */
static bool check_escapes(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%')
            continue;
        if (len - i < 3 || pct_hexval((unsigned char)s[i + 1]) < 0 ||
            pct_hexval((unsigned char)s[i + 2]) < 0)
            return false;
        i += 2;
    }
    return true;
}

/* parse_query decodes "a=1&b&c=" into pairs; empty pieces ("a=1&&b=2") are skipped. */
static enum status parse_query(const char *q, size_t len, struct http_kv **out, size_t *nout,
                               struct error *err)
{
    struct http_kv *kv = NULL;
    size_t n = 0, cap = 0;
    size_t start = 0;

    while (start <= len) {
        const char *piece = q + start;
        const char *amp = memchr(piece, '&', len - start);
        size_t plen = amp ? (size_t)(amp - piece) : len - start;
        const char *eq = memchr(piece, '=', plen);
        size_t nlen = eq ? (size_t)(eq - piece) : plen;
        char *name = NULL, *value = NULL;

        if (plen > 0) {
            if (pct_decode(piece, nlen, true, &name) ||
                (eq && pct_decode(eq + 1, plen - nlen - 1, true, &value))) {
                free(name);
                http_kv_free(kv, n);
                return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                                 "Malformed query string: invalid percent escape");
            }
            if (!value)
                value = xstrdup("");
            if (n == cap) {
                cap = cap ? cap * 2 : 4;
                kv = xrealloc(kv, cap * sizeof(*kv));
            }
            kv[n].name = name;
            kv[n].value = value;
            n++;
        }
        start += plen + 1;
    }
    *out = kv;
    *nout = n;
    return ST_OK;
}

enum status http_parse_target(const char *target, size_t len, char **path, struct http_kv **query,
                              size_t *nquery, struct error *err)
{
    const char *qmark;
    size_t plen;

    *path = NULL;
    *query = NULL;
    *nquery = 0;
    if (len == 0 || target[0] != '/')
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Malformed request target: must start with '/'");
    for (size_t i = 0; i < len; i++)
        if (!target_char_ok((unsigned char)target[i]))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Malformed request target: invalid character at offset %zu", i);
    qmark = memchr(target, '?', len);
    plen = qmark ? (size_t)(qmark - target) : len;
    if (!check_escapes(target, plen))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Malformed request target: invalid percent escape in the path");
    if (qmark && parse_query(qmark + 1, len - plen - 1, query, nquery, err))
        return ST_INVALID;
    *path = xstrndup(target, plen);
    return ST_OK;
}
