/*
 * sigv4.c - AWS Signature Version 4 for serac's S3 and STS requests and for
 * remote signing of clients' S3 requests.
 *
 * The steps follow AWS's "Create a signed AWS API request": canonical request,
 * string to sign, signing key (kDate, kRegion, kService, kSigning) and the
 * Authorization header. Canonicalisation is S3's (see sigv4.h); the vectors in
 * tests/unit/data/sigv4_vectors.json come from botocore and pin it down.
 */
#include "io/sigv4.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/alloc.h"
#include "core/pct.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
/* Caps on what one request may make us build (URLs and headers come from clients); a URL
 * under SIGV4_MAX_URL always encodes within SIGV4_MAX_TEXT. */
#define SIGV4_MAX_URL (64 * 1024)
#define SIGV4_MAX_TEXT (1024 * 1024)
#define SIGV4_MAX_HEADERS 256

/* One header as it goes into the canonical request. */
struct canon_header {
    char *name;  /* lower case, owned */
    char *value; /* trimmed, inner blanks collapsed, owned */
    size_t order;
};

/* One query parameter, both halves already encoded. */
struct canon_param {
    char *name;
    char *value;
};

/* The parts of a URL the signature covers. */
struct url_parts {
    char *host;  /* lower case, default port dropped, owned */
    char *path;  /* canonical URI, owned */
    char *query; /* canonical query, owned */
};

/* RFC 9110 token characters, the only ones a header name or method may hold. */
static bool is_tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

void sigv4_uri_encode(struct buf *b, const char *s, size_t n, bool keep_slash)
{
    (void)pct_encode(b, s, n, keep_slash);
}

/*
 * reencode decodes s[0..n) (%XX escapes, and '+' as a space when plus_space)
 * and appends its canonical encoding to b. ST_INVALID for a malformed escape.
 */
static enum status reencode(struct buf *b, const char *s, size_t n, bool keep_slash,
                            bool plus_space)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c == '%') {
            int hi = i + 2 < n ? pct_hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? pct_hexval((unsigned char)s[i + 2]) : -1;

            if (hi < 0 || lo < 0)
                return ST_INVALID;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        sigv4_uri_encode(b, &c, 1, keep_slash);
    }
    return ST_OK;
}

static int param_cmp(const void *a, const void *b)
{
    const struct canon_param *x = a, *y = b;
    int r = strcmp(x->name, y->name);

    return r ? r : strcmp(x->value, y->value);
}

/*
 * S3 and MinIO read a query as form data, so '+' stands for a space there
 * (MinIO: url.Query() then Encode with '+' turned back into %20); a literal
 * plus must travel as %2B. Empty segments ("a&&b") carry no parameter.
 */
enum status sigv4_canonical_query(const char *query, char **out, struct error *err)
{
    enum status rc = ST_INVALID;
    struct canon_param *params = NULL;
    size_t n = 0, cap = 0;
    struct buf b;
    const char *p = query ? query : "";

    *out = NULL;
    if (strlen(p) > SIGV4_MAX_URL)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "query too long to sign");
    buf_init(&b, SIGV4_MAX_TEXT);
    while (*p) {
        size_t seg = strcspn(p, "&");
        const char *eq = memchr(p, '=', seg);
        size_t nlen = eq ? (size_t)(eq - p) : seg;

        if (seg > 0) {
            struct buf nb, vb;

            buf_init(&nb, SIGV4_MAX_TEXT);
            buf_init(&vb, SIGV4_MAX_TEXT);
            if (reencode(&nb, p, nlen, false, true) ||
                (eq && reencode(&vb, eq + 1, seg - nlen - 1, false, true))) {
                buf_cleanup(&nb);
                buf_cleanup(&vb);
                error_set(err, ST_INVALID, ET_BAD_REQUEST, "malformed %%-escape in query");
                goto out;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                params = xrealloc(params, cap * sizeof(*params));
            }
            params[n].name = buf_take(&nb);
            params[n].value = buf_take(&vb);
            n++;
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    if (n)
        qsort(params, n, sizeof(*params), param_cmp);
    buf_puts(&b, "");
    for (size_t i = 0; i < n; i++) {
        if (buf_printf(&b, "%s%s=%s", i ? "&" : "", params[i].name, params[i].value)) {
            error_set(err, ST_INVALID, ET_BAD_REQUEST, "query too long to sign");
            goto out;
        }
    }
    *out = buf_take(&b);
    rc = ST_OK;
out:
    for (size_t i = 0; i < n; i++) {
        free(params[i].name);
        free(params[i].value);
    }
    free(params);
    buf_cleanup(&b);
    return rc;
}

void sigv4_sha256_hex(const void *data, size_t n, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != 32)
        abort(); /* libcrypto cannot fail on SHA-256 short of a broken install */
    for (unsigned int i = 0; i < len; i++) {
        hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    hex[64] = '\0';
}

static void hmac_sha256(const void *key, size_t klen, const char *msg, unsigned char mac[32])
{
    unsigned int len = 0;

    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), mac, &len) ||
        len != 32)
        abort();
}

static void url_parts_cleanup(struct url_parts *u)
{
    free(u->host);
    free(u->path);
    free(u->query);
}

/* parse_host lower-cases the authority and drops a default port, as botocore and curl do. */
static enum status parse_host(const char *a, size_t n, bool https, char **host, struct error *err)
{
    const char *close = n && a[0] == '[' ? memchr(a, ']', n) : NULL;
    const char *colon;
    size_t hlen = n;

    if (n == 0 || memchr(a, '@', n))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "URL has no host, or has user info");
    if (a[0] == '[' && (!close || (close + 1 < a + n && close[1] != ':')))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "URL has a bad IPv6 host");
    colon = memchr(close ? close : a, ':', n - (size_t)((close ? close : a) - a));
    if (colon == a || (close && close == a + 1))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "URL has no host name");
    if (colon) {
        const char *port = colon + 1;
        size_t plen = n - (size_t)(port - a);

        if (plen == 0 || plen > 5 || strspn(port, "0123456789") < plen)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "URL has a bad port");
        if ((https && plen == 3 && memcmp(port, "443", 3) == 0) ||
            (!https && plen == 2 && memcmp(port, "80", 2) == 0))
            hlen = (size_t)(colon - a);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];

        if (c <= ' ' || c >= 0x7f || strchr("/?#\\\"<>", c))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "URL host has a bad character");
    }
    *host = xstrndup(a, hlen);
    for (char *p = *host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return ST_OK;
}

/* parse_url splits "scheme://authority/path?query" and canonicalises each part. */
static enum status parse_url(const char *url, struct url_parts *u, struct error *err)
{
    enum status rc;
    bool https;
    const char *a, *path, *q;
    struct buf pb;

    if (!url || strlen(url) > SIGV4_MAX_URL)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "no URL to sign, or a URL too long");
    if (strncasecmp(url, "https://", 8) == 0)
        https = true;
    else if (strncasecmp(url, "http://", 7) == 0)
        https = false;
    else
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "URL to sign is not http(s)");
    if (strchr(url, '#'))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "URL to sign has a fragment");
    a = url + (https ? 8 : 7);
    path = a + strcspn(a, "/?");
    if ((rc = parse_host(a, (size_t)(path - a), https, &u->host, err)))
        return rc;
    q = strchr(path, '?');
    buf_init(&pb, SIGV4_MAX_TEXT);
    if (*path != '/')
        buf_puts(&pb, "/");
    /* S3 keys are taken as they are: no "." or ".." removal, no "//" merging. */
    if (reencode(&pb, path, q ? (size_t)(q - path) : strlen(path), true, false)) {
        buf_cleanup(&pb);
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "malformed %%-escape in URL path");
    }
    u->path = buf_take(&pb);
    return sigv4_canonical_query(q ? q + 1 : NULL, &u->query, err);
}

/* canon_value trims a header value and collapses inner runs of blanks to one space. */
static char *canon_value(const char *v)
{
    char *out = xmalloc(strlen(v) + 1), *w = out;
    bool blank = false;

    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            blank = w != out;
            continue;
        }
        if (blank)
            *w++ = ' ';
        blank = false;
        *w++ = *v;
    }
    *w = '\0';
    return out;
}

static int header_cmp(const void *a, const void *b)
{
    const struct canon_header *x = a, *y = b;
    int r = strcmp(x->name, y->name);

    if (r)
        return r;
    return x->order < y->order ? -1 : x->order > y->order;
}

static bool value_ok(const char *v)
{
    for (; *v; v++)
        if (*v == '\r' || *v == '\n')
            return false;
    return true;
}

/* Headers the signer writes itself; a caller passing one would sign it twice. */
static bool is_own_header(const char *lname)
{
    static const char *const own[] = {"host", "x-amz-date", "x-amz-content-sha256",
                                      "x-amz-security-token", "authorization"};

    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (strcmp(lname, own[i]) == 0)
            return true;
    return false;
}

static void add_header(struct canon_header *h, size_t *n, const char *lname, const char *value)
{
    h[*n].name = xstrdup(lname);
    h[*n].value = canon_value(value);
    h[*n].order = *n;
    (*n)++;
}

/*
 * collect_headers validates the caller's headers and adds them, lower-cased,
 * with the ones the signer writes itself, to h (room for n_headers + 4).
 */
static enum status collect_headers(const struct sigv4_input *in, const struct sigv4_credentials *c,
                                   const char *host, const char *amz_date, const char *payload,
                                   struct canon_header *h, size_t *n, struct error *err)
{
    for (size_t i = 0; i < in->n_headers; i++) {
        const struct sigv4_header *src = &in->headers[i];
        char *lname;
        bool own;

        if (!is_token(src->name) || !src->value || !value_ok(src->value))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "header %zu cannot be signed", i);
        lname = xstrdup(src->name);
        for (char *p = lname; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        own = is_own_header(lname);
        if (!own)
            add_header(h, n, lname, src->value);
        free(lname);
        if (own)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "header %zu is the signer's to set",
                             i);
    }
    add_header(h, n, "host", host);
    add_header(h, n, "x-amz-date", amz_date);
    if (strcmp(in->service, "s3") == 0)
        add_header(h, n, "x-amz-content-sha256", payload);
    if (c->session_token)
        add_header(h, n, "x-amz-security-token", c->session_token);
    return ST_OK;
}

/*
 * write_headers sorts h by name only (so "x-amz-meta-a" comes before
 * "x-amz-meta-a-b" whatever the values, and repeated names keep their order)
 * and writes the canonical header block and the signed-header list.
 */
static enum status write_headers(struct canon_header *h, size_t n, struct buf *block,
                                 char **signed_headers, struct error *err)
{
    enum status rc = ST_OK;
    struct buf sh;

    qsort(h, n, sizeof(*h), header_cmp);
    buf_init(&sh, SIGV4_MAX_TEXT);
    for (size_t i = 0; i < n && !rc; i++) {
        bool same = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;

        /* Repeated headers become one line, values joined by ',' in order. */
        if (same)
            rc = buf_printf(block, ",%s", h[i].value);
        else
            rc = buf_printf(block, "%s%s:%s", i ? "\n" : "", h[i].name, h[i].value);
        if (!rc && !same)
            rc = buf_printf(&sh, "%s%s", i ? ";" : "", h[i].name);
    }
    if (!rc)
        rc = buf_puts(block, "\n");
    if (rc) {
        buf_cleanup(&sh);
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "headers too long to sign");
    }
    *signed_headers = buf_take(&sh);
    return ST_OK;
}

static enum status build_headers(const struct sigv4_input *in, const struct sigv4_credentials *c,
                                 const char *host, const char *amz_date, const char *payload,
                                 struct buf *block, char **signed_headers, struct error *err)
{
    enum status rc;
    size_t n = 0;
    struct canon_header *h;

    if (in->n_headers > SIGV4_MAX_HEADERS)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "too many headers to sign");
    h = xcalloc(in->n_headers + 4, sizeof(*h));
    if (!(rc = collect_headers(in, c, host, amz_date, payload, h, &n, err)))
        rc = write_headers(h, n, block, signed_headers, err);
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    return rc;
}

static bool scope_part_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s) || *s == '/')
            return false;
    return true;
}

static bool is_lower_hex64(const char *s)
{
    size_t i = 0;

    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == 64;
}

static enum status check_input(const struct sigv4_input *in, const struct sigv4_credentials *c,
                               struct error *err)
{
    const char *ph = in->payload_hash;

    if (!is_token(in->method))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "bad method to sign");
    if (!scope_part_ok(in->region) || !scope_part_ok(in->service))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "bad signing region or service");
    if (!c || !c->access_key_id || !*c->access_key_id || !scope_part_ok(c->access_key_id) ||
        !c->secret_access_key)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "no usable signing credentials");
    if (c->session_token && (!*c->session_token || !value_ok(c->session_token)))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "bad session token");
    if (ph && !is_lower_hex64(ph) && strcmp(ph, SIGV4_UNSIGNED_PAYLOAD) != 0 &&
        strcmp(ph, SIGV4_STREAMING_UNSIGNED_TRAILER) != 0)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "bad payload hash");
    if (in->n_headers && !in->headers)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "headers missing");
    return ST_OK;
}

/* signature computes the hex signature of sts with the key derived for date/region/service. */
static void signature(const struct sigv4_credentials *c, const char *date, const char *region,
                      const char *service, const char *sts, char hex[65])
{
    unsigned char k[32], sig[32];
    char *secret = xasprintf("AWS4%s", c->secret_access_key);

    hmac_sha256(secret, strlen(secret), date, k);
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    hmac_sha256(k, sizeof(k), region, k);
    hmac_sha256(k, sizeof(k), service, k);
    hmac_sha256(k, sizeof(k), "aws4_request", k);
    hmac_sha256(k, sizeof(k), sts, sig);
    OPENSSL_cleanse(k, sizeof(k));
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = "0123456789abcdef"[sig[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[sig[i] & 15];
    }
    hex[64] = '\0';
}

enum status sigv4_sign(const struct sigv4_input *in, const struct sigv4_credentials *creds,
                       struct sigv4_output *out, struct error *err)
{
    enum status rc;
    struct url_parts u = {0};
    struct buf cr, block;
    struct tm tm;
    char date[9], hash[65], sig[65];

    memset(out, 0, sizeof(*out));
    buf_init(&cr, SIGV4_MAX_TEXT);
    buf_init(&block, SIGV4_MAX_TEXT);
    if (!in)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "nothing to sign");
    if ((rc = check_input(in, creds, err)) || (rc = parse_url(in->url, &u, err)))
        goto out;
    rc = ST_INVALID;
    if (!gmtime_r(&in->now, &tm) ||
        strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16) {
        error_set(err, ST_INVALID, ET_BAD_REQUEST, "signing time out of range");
        goto out;
    }
    memcpy(date, out->amz_date, 8);
    date[8] = '\0';
    snprintf(out->payload_hash, sizeof(out->payload_hash), "%s",
             in->payload_hash ? in->payload_hash : SIGV4_EMPTY_SHA256);
    if ((rc = build_headers(in, creds, u.host, out->amz_date, out->payload_hash, &block,
                            &out->signed_headers, err)))
        goto out;
    rc = ST_INVALID;
    if (buf_printf(&cr, "%s\n%s\n%s\n%s\n%s\n%s", in->method, u.path, u.query, block.data,
                   out->signed_headers, out->payload_hash)) {
        error_set(err, ST_INVALID, ET_BAD_REQUEST, "request too large to sign");
        goto out;
    }
    out->canonical_request = buf_take(&cr);
    sigv4_sha256_hex(out->canonical_request, strlen(out->canonical_request), hash);
    out->string_to_sign = xasprintf(ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", out->amz_date,
                                    date, in->region, in->service, hash);
    signature(creds, date, in->region, in->service, out->string_to_sign, sig);
    out->authorization =
        xasprintf(ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                  creds->access_key_id, date, in->region, in->service, out->signed_headers, sig);
    rc = ST_OK;
out:
    if (rc)
        sigv4_output_cleanup(out);
    url_parts_cleanup(&u);
    buf_cleanup(&cr);
    buf_cleanup(&block);
    return rc;
}

void sigv4_output_cleanup(struct sigv4_output *out)
{
    if (!out)
        return;
    free(out->authorization);
    free(out->signed_headers);
    free(out->canonical_request);
    free(out->string_to_sign);
    out->authorization = out->signed_headers = NULL;
    out->canonical_request = out->string_to_sign = NULL;
}

/*
 * Remote signing (REST spec 1.11, POST .../tables/{table}/sign).
 *
 * What the clients do, read from their sources:
 * - Iceberg Java, S3V4RestSignerClient (aws module): sends the AWS SDK v2
 *   request's headers as they are before signing (User-Agent,
 *   amz-sdk-invocation-id, amz-sdk-request, Range, Content-Type,
 *   Content-Length, checksum headers...), a body only for DeleteObjects
 *   (POST ?delete), and applies the answer by putting every returned header
 *   on the request and then its own headers over them (reconstructHeaders):
 *   a client header always wins. It may cache an answer for 30 s by method,
 *   region and URI when the answer says "Cache-Control: private", so a
 *   cached signature meets another Range or amz-sdk-request value.
 * - The reference signer, S3SignerServlet (aws/src/integration, test
 *   code): drops range, x-amz-date, amz-sdk-invocation-id and amz-sdk-retry
 *   before signing with the SDK's AwsS3V4Signer (which itself never signs
 *   connection, x-amzn-trace-id, user-agent or expect), payload signing off,
 *   so the payload hash is UNSIGNED-PAYLOAD; it answers with the signed
 *   request's headers (Host, X-Amz-Date, x-amz-content-sha256,
 *   Authorization and the client's signed ones) plus the dropped ones.
 * - PyIceberg, S3V4RestSigner (pyiceberg/io/fsspec.py): a botocore
 *   before-sign hook with signing disabled; sends {name: [value]} for each
 *   header, no body, and add_header()s every returned header, joining the
 *   values with ", ". botocore builds the wire headers through its
 *   case-insensitive HeadersDict, so a returned header replaces the
 *   client's one of the same name (the last one wins). botocore never signs
 *   its SIGNED_HEADERS_BLACKLIST (hop-by-hop and tracing headers,
 *   user-agent, expect, transfer-encoding), which its HTTP stack may change.
 *
 * So we leave out of the signature the union of those lists: nothing S3
 * needs signed (host and every x-amz-* header are always signed), only
 * headers that proxies, HTTP stacks, retries or the Java client's cache may
 * change after signing. The answer echoes every header the client sent,
 * unchanged and spelled as sent (signed or not, as the reference does), so
 * a client that replaces its headers with the answer loses nothing and one
 * that merges sees identical values; it adds Host, X-Amz-Date,
 * x-amz-content-sha256 (when the client sent none), X-Amz-Security-Token
 * and Authorization, dropping any of those the client sent itself.
 *
 * Neither client sends the body of an upload, so without the client's own
 * x-amz-content-sha256 the payload is UNSIGNED-PAYLOAD (as the reference
 * signs), STREAMING-UNSIGNED-PAYLOAD-TRAILER for an aws-chunked body with
 * trailing checksums (botocore and newer SDKs upload so over HTTPS), or the
 * SHA-256 of the body the client did send (DeleteObjects): that ties the
 * signature to the keys the client asked to delete.
 */
static const char *const unsigned_headers[] = {
    /* S3SignerServlet.UNSIGNED_HEADERS */
    "range", "amz-sdk-invocation-id", "amz-sdk-retry",
    /* retry counter, changes between attempts and cached answers */
    "amz-sdk-request",
    /* AWS SDK v2 (AbstractAws4Signer, HeaderTransformsHelper) and botocore's
     * SIGNED_HEADERS_BLACKLIST */
    "baggage", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "traceparent", "tracestate", "trailer", "transfer-encoding", "upgrade", "user-agent",
    "x-amzn-trace-id",
    /* proxies and CDNs rewrite it (Cloudflare sends "gzip" upstream for "gzip, br") */
    "accept-encoding"};

/* Headers the signer answers with itself; a client's own copy is neither signed nor echoed. */
static const char *const replaced_headers[] = {"host", "authorization", "x-amz-date",
                                               "x-amz-security-token"};

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, list[i]) == 0)
            return true;
    return false;
}

#define IN_LIST(name, list) in_list(name, list, sizeof(list) / sizeof(list[0]))

/* value_count returns how many strings a multimap entry holds (a lone string counts as one),
 * or -1 when it is neither a string nor an array of strings. */
static long value_count(json_t *v)
{
    size_t i;
    json_t *e;

    if (json_is_string(v))
        return 1;
    if (!json_is_array(v))
        return -1;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return -1;
    }
    return (long)json_array_size(v);
}

static const char *value_at(json_t *v, size_t i)
{
    return json_string_value(json_is_array(v) ? json_array_get(v, i) : v);
}

/* has_value_token reports whether a comma-separated header value lists tok. */
static bool has_value_token(json_t *v, const char *tok)
{
    size_t tlen = strlen(tok);

    for (long i = 0; i < value_count(v); i++) {
        const char *p = value_at(v, (size_t)i);

        while (*p) {
            size_t skip = strspn(p, " \t,"), len;

            p += skip;
            len = strcspn(p, ",");
            while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
                len--;
            if (len == tlen && strncasecmp(p, tok, tlen) == 0)
                return true;
            p += strcspn(p, ",");
        }
    }
    return false;
}

/* multimap_collect turns the client's headers into sigv4_headers (borrowing their strings). */
static enum status multimap_collect(const json_t *headers, struct sigv4_header **out, size_t *n,
                                    const char **client_hash, bool *chunked, bool *trailer,
                                    struct error *err)
{
    const char *name;
    json_t *v;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    if (!headers)
        return ST_OK;
    if (!json_is_object(headers))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "headers must be an object");
    json_object_foreach((json_t *)headers, name, v)
    {
        long nv = value_count(v);

        if (nv < 0)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "header values must be arrays of strings");
        if (!is_token(name))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "bad header name");
        if (strcasecmp(name, "content-encoding") == 0)
            *chunked = *chunked || has_value_token(v, "aws-chunked");
        if (strcasecmp(name, "x-amz-trailer") == 0)
            *trailer = true;
        if (IN_LIST(name, unsigned_headers) || IN_LIST(name, replaced_headers))
            continue;
        if (strcasecmp(name, "x-amz-content-sha256") == 0) {
            /* Its value is the payload hash; the signer writes that header itself. */
            if (!*client_hash && nv > 0)
                *client_hash = value_at(v, 0);
            continue;
        }
        /* A name with no values is not sent, so it is not signed either. */
        for (size_t i = 0; i < (size_t)nv; i++) {
            if (*n == SIGV4_MAX_HEADERS)
                return error_set(err, ST_INVALID, ET_BAD_REQUEST, "too many headers to sign");
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                *out = xrealloc(*out, cap * sizeof(**out));
            }
            (*out)[*n].name = name;
            (*out)[*n].value = value_at(v, i);
            (*n)++;
        }
    }
    return ST_OK;
}

static void set1(json_t *obj, const char *name, const char *value)
{
    json_t *a = json_array();

    json_array_append_new(a, json_string(value));
    json_object_set_new(obj, name, a);
}

enum status sigv4_sign_multimap(const char *method, const char *url, const json_t *headers,
                                const char *body, const char *region, const char *service,
                                const struct sigv4_credentials *creds, time_t now, json_t **out,
                                struct error *err)
{
    enum status rc;
    struct sigv4_header *hs = NULL;
    size_t n = 0;
    const char *client_hash = NULL, *name;
    bool chunked = false, trailer = false;
    char body_hash[65];
    struct sigv4_input in = {0};
    struct sigv4_output o = {0};
    struct url_parts u = {0};
    json_t *res, *v;

    *out = NULL;
    if ((rc = multimap_collect(headers, &hs, &n, &client_hash, &chunked, &trailer, err)))
        goto out;
    in.method = method;
    in.url = url;
    in.headers = hs;
    in.n_headers = n;
    in.region = region;
    in.service = service;
    in.now = now;
    if (client_hash) {
        in.payload_hash = client_hash;
    } else if (chunked && trailer) {
        in.payload_hash = SIGV4_STREAMING_UNSIGNED_TRAILER;
    } else if (body) {
        sigv4_sha256_hex(body, strlen(body), body_hash);
        in.payload_hash = body_hash;
    } else {
        in.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
    }
    if ((rc = sigv4_sign(&in, creds, &o, err)) || (rc = parse_url(url, &u, err)))
        goto out;
    res = json_object();
    json_object_foreach((json_t *)headers, name, v)
    {
        if (IN_LIST(name, replaced_headers))
            continue;
        if (json_is_array(v))
            json_object_set_new(res, name, json_deep_copy(v));
        else
            set1(res, name, value_at(v, 0));
    }
    set1(res, "Host", u.host);
    set1(res, "X-Amz-Date", o.amz_date);
    if (!client_hash && strcmp(service, "s3") == 0)
        set1(res, "x-amz-content-sha256", o.payload_hash);
    if (creds->session_token)
        set1(res, "X-Amz-Security-Token", creds->session_token);
    set1(res, "Authorization", o.authorization);
    *out = res;
    rc = ST_OK;
out:
    free(hs);
    sigv4_output_cleanup(&o);
    url_parts_cleanup(&u);
    return rc;
}
