/*
 * s3.c - fileio over the S3 REST API (see s3.h for the contract).
 *
 * One request goes through s3_send: build the URL, sign (sigv4.c), send
 * (httpc.c), and retry what a later attempt may fix. The operations turn the
 * answer into a status with s3_fail, which alone decides what a store's
 * error means to serac.
 */
#include "io/s3.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "io/httpc.h"
#include "io/sigv4.h"

#define S3_DEFAULT_REGION "us-east-1"
#define S3_DEFAULT_ATTEMPTS 4
#define S3_BACKOFF_BASE_MS 100
#define S3_BACKOFF_MAX_MS 2000
#define S3_MAX_XML_ANSWER ((size_t)16 << 20) /* listings and error documents */
#define S3_MIN_READ_CAP ((size_t)64 << 10)   /* room for an error document on small reads */
#define S3_DELETE_BATCH 1000                 /* DeleteObjects' maximum */
#define S3_MAX_SIGNED_HEADERS 4
#define S3_MAX_STORE_MESSAGE 300

struct s3 {
    struct fileio io; /* first: io.impl points back here */
    /* The endpoint's parts; scheme is NULL when the configured endpoint is unusable. */
    char *scheme, *authority, *base_path, *endpoint_text;
    char *region, *access_key_id, *secret_access_key, *session_token, *label;
    bool path_style;
    long connect_timeout_ms, timeout_ms;
    unsigned max_attempts;
    /* Set once the store answered that it does not implement If-None-Match (read by all threads).
     */
    atomic_bool no_conditional_put;
};

/* One request and what s3_send learnt while sending it. */
struct s3_call {
    const char *method;
    const char *bucket;
    const char *key;                    /* NULL for a request on the bucket itself */
    const char *query;                  /* encoded, without '?'; may be NULL */
    const struct sigv4_header *headers; /* signed and sent */
    size_t n_headers;
    const void *body;
    size_t body_len;
    size_t max_bytes;  /* 0 = S3_MAX_XML_ANSWER */
    bool error_in_200; /* CopyObject: a 200 answer may still carry an <Error> */
    bool ambiguous;    /* out: an earlier attempt failed in a way that may have taken effect */
    bool too_large;    /* out: the answer was larger than max_bytes */
};

/* ---- locations and URLs ---- */

static bool bucket_name_ok(const char *b, size_t n)
{
    if (n == 0 || n > 255 || b[0] == '.' || b[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return false;
        if (c == '.' && i + 1 < n && b[i + 1] == '.')
            return false;
    }
    return true;
}

enum status s3_parse_location(const char *location, char **bucket, char **key, size_t *scheme_len,
                              struct error *err)
{
    static const char *const schemes[] = {"s3://", "s3a://", "s3n://"};
    const char *p = NULL, *slash;
    size_t slen = 0, blen;

    *bucket = *key = NULL;
    for (size_t i = 0; location && i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);

        if (strncmp(location, schemes[i], n) == 0) {
            p = location + n;
            slen = n - 3;
            break;
        }
    }
    if (!p)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid location %s: expected s3://bucket/key",
                         location ? location : "(null)");
    slash = strchr(p, '/');
    blen = slash ? (size_t)(slash - p) : strlen(p);
    if (!bucket_name_ok(p, blen))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid location %s: '%.*s' is not a bucket name", location, (int)blen,
                         p);
    *bucket = xstrndup(p, blen);
    *key = xstrdup(slash ? slash + 1 : "");
    if (scheme_len)
        *scheme_len = slen;
    return ST_OK;
}

/* parse_object is s3_parse_location for operations on one object: the key must not be empty. */
static enum status parse_object(const char *location, char **bucket, char **key, struct error *err)
{
    enum status rc = s3_parse_location(location, bucket, key, NULL, err);

    if (rc == ST_OK && !**key) {
        free(*bucket);
        free(*key);
        *bucket = *key = NULL;
        rc = error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid location %s: no object key",
                       location);
    }
    return rc;
}

/*
 * parse_endpoint splits "http[s]://authority[/path]" into s's parts, dropping
 * a default port (curl leaves it out of the Host header, so it must not be
 * signed) and a trailing '/'. Leaves s->scheme NULL when the text is unusable.
 */
static void parse_endpoint(struct s3 *s, const char *text)
{
    const char *p, *auth_end;
    size_t alen;

    s->endpoint_text = xstrdup(text);
    if (strncmp(text, "https://", 8) == 0)
        p = text + 8;
    else if (strncmp(text, "http://", 7) == 0)
        p = text + 7;
    else
        return;
    auth_end = p + strcspn(p, "/");
    alen = (size_t)(auth_end - p);
    if (alen == 0 || memchr(p, '@', alen) || strpbrk(auth_end, "?#"))
        return;
    if (p == text + 8 && alen > 4 && memcmp(auth_end - 4, ":443", 4) == 0)
        alen -= 4;
    else if (p == text + 7 && alen > 3 && memcmp(auth_end - 3, ":80", 3) == 0)
        alen -= 3;
    s->scheme = xstrndup(text, (size_t)(p - text) - 3);
    s->authority = xstrndup(p, alen);
    s->base_path = xstrdup(auth_end);
    for (size_t n = strlen(s->base_path); n > 0 && s->base_path[n - 1] == '/'; n--)
        s->base_path[n - 1] = '\0';
}

/*
 * build_url returns the URL of (bucket, key, query), owned. Virtual-hosted
 * unless path-style was asked for, or the bucket has a '.' and the store
 * speaks TLS (the wildcard certificate covers one label only).
 */
static char *build_url(const struct s3 *s, const char *bucket, const char *key, const char *query)
{
    bool path_style = s->path_style || (strchr(bucket, '.') && strcmp(s->scheme, "https") == 0);
    struct buf b;

    buf_init(&b, 0);
    if (path_style)
        buf_printf(&b, "%s://%s%s/%s", s->scheme, s->authority, s->base_path, bucket);
    else
        buf_printf(&b, "%s://%s.%s%s", s->scheme, bucket, s->authority, s->base_path);
    if (key) {
        buf_puts(&b, "/");
        sigv4_uri_encode(&b, key, strlen(key), true);
    } else if (!path_style) {
        buf_puts(&b, "/");
    }
    if (query && *query)
        buf_printf(&b, "?%s", query);
    return buf_take(&b);
}

/* ---- sending ---- */

static bool code_is(const char *code, const char *name)
{
    return code && strcmp(code, name) == 0;
}

/* error_code returns the <Code> of an error document in resp, owned, or NULL. */
static char *error_code(const struct httpc_response *resp, bool error_in_200)
{
    if (!resp->body || !resp->body_len)
        return NULL;
    if (resp->status < 300 && !(error_in_200 && strstr(resp->body, "<Error>")))
        return NULL;
    return httpc_xml_value(resp->body, "Code", NULL);
}

/* retryable says whether a later attempt may get a better answer than resp. */
static bool retryable(const struct httpc_response *resp, const char *code)
{
    static const char *const codes[] = {"SlowDown",         "RequestTimeout",
                                        "InternalError",    "ServiceUnavailable",
                                        "OperationAborted", "ConditionalRequestConflict"};

    if (resp->status >= 500 || resp->status == 429)
        return true;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (code_is(code, codes[i]))
            return true;
    return false;
}

/*
 * send_once signs and sends c to url once. Returns what httpc_do returns
 * (ST_INVALID also for a request the signer refuses).
 */
static enum status send_once(struct s3 *s, struct s3_call *c, const char *url,
                             const char *payload_hash, struct httpc_response *resp,
                             struct error *err)
{
    struct sigv4_credentials creds = {s->access_key_id, s->secret_access_key, s->session_token};
    struct sigv4_input in = {
        .method = c->method,
        .url = url,
        .headers = c->headers,
        .n_headers = c->n_headers,
        .payload_hash = payload_hash,
        .region = s->region,
        .service = "s3",
        .now = time(NULL),
    };
    struct httpc_header h[S3_MAX_SIGNED_HEADERS + 4];
    struct sigv4_output out = {0};
    struct httpc_request req = {
        .method = c->method,
        .url = url,
        .headers = h,
        .body = c->body,
        .body_len = c->body_len,
        .connect_timeout_ms = s->connect_timeout_ms,
        .timeout_ms = s->timeout_ms,
        .max_response_bytes = c->max_bytes ? c->max_bytes : S3_MAX_XML_ANSWER,
    };
    enum status rc;
    size_t n = 0;

    memset(resp, 0, sizeof(*resp));
    if ((rc = sigv4_sign(&in, &creds, &out, err)))
        return rc;
    for (size_t i = 0; i < c->n_headers; i++)
        h[n++] = (struct httpc_header){c->headers[i].name, c->headers[i].value};
    h[n++] = (struct httpc_header){"x-amz-date", out.amz_date};
    h[n++] = (struct httpc_header){"x-amz-content-sha256", out.payload_hash};
    if (s->session_token)
        h[n++] = (struct httpc_header){"x-amz-security-token", s->session_token};
    h[n++] = (struct httpc_header){"Authorization", out.authorization};
    req.n_headers = n;
    rc = httpc_do(&req, resp, err);
    c->too_large = rc == ST_INVALID; /* httpc's one ST_INVALID */
    sigv4_output_cleanup(&out);
    return rc;
}

/*
 * s3_send sends c, retrying unreachable stores and answers retryable() likes
 * up to s->max_attempts in all. ST_OK with *resp filled when an answer
 * arrived (whatever its status: the last one when retries ran out);
 * ST_UNAVAILABLE when the store could not be reached; ST_INVALID for a bad
 * endpoint, an unsignable request or an answer over the size cap.
 */
static enum status s3_send(struct s3 *s, struct s3_call *c, struct httpc_response *resp,
                           struct error *err)
{
    char hash[65], *url, *code;
    const char *payload_hash = NULL;
    enum status rc = ST_INTERNAL;
    struct error e;

    memset(resp, 0, sizeof(*resp));
    c->ambiguous = c->too_large = false;
    if (!s->scheme)
        return error_set(err, ST_INVALID, ET_NONE,
                         "The S3 endpoint of warehouse %s is not an http(s) URL: %s", s->label,
                         s->endpoint_text);
    if (c->n_headers > S3_MAX_SIGNED_HEADERS)
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "s3_send: too many headers");
    if (c->body || strcmp(c->method, "PUT") == 0 || strcmp(c->method, "POST") == 0) {
        sigv4_sha256_hex(c->body ? c->body : "", c->body_len, hash);
        payload_hash = hash;
    }
    url = build_url(s, c->bucket, c->key, c->query);
    for (unsigned attempt = 1;; attempt++) {
        rc = send_once(s, c, url, payload_hash, resp, &e);
        if (rc == ST_OK) {
            code = error_code(resp, c->error_in_200);
            if (!retryable(resp, code) || attempt >= s->max_attempts) {
                free(code);
                break;
            }
            /* A 5xx may come after the store acted; a throttle or a conflict never does. */
            if (resp->status >= 500 && !code_is(code, "SlowDown"))
                c->ambiguous = true;
            free(code);
            httpc_response_cleanup(resp);
        } else if (rc == ST_UNAVAILABLE) {
            c->ambiguous = true;
            if (attempt >= s->max_attempts) {
                rc = error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                               "S3 store of warehouse %s is unreachable (%u attempts): %s",
                               s->label, attempt, e.msg);
                break;
            }
        } else {
            if (err)
                *err = e;
            break;
        }
        clock_sleep_ms(httpc_backoff_ms(attempt, S3_BACKOFF_BASE_MS, S3_BACKOFF_MAX_MS));
    }
    free(url);
    return rc;
}

/*
 * s3_fail turns an unwanted answer into a status: what went wrong doing op
 * ("read", "write", ...) on location in bucket. The store's Code and Message
 * go into the message; nothing of the request does.
 */
static enum status s3_fail(const struct s3 *s, const char *op, const char *location,
                           const char *bucket, const struct httpc_response *resp, bool error_in_200,
                           struct error *err)
{
    static const char *const refused[] = {
        "AccessDenied",         "InvalidAccessKeyId",   "SignatureDoesNotMatch", "InvalidToken",
        "ExpiredToken",         "TokenRefreshRequired", "AllAccessDisabled",     "AccountProblem",
        "RequestTimeTooSkewed", "InvalidSecurity",
    };
    char *code = error_code(resp, error_in_200);
    char *msg = code ? httpc_xml_value(resp->body, "Message", NULL) : NULL;
    char what[96];
    bool is_refused = resp->status == 401 || resp->status == 403;
    enum status rc;

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        is_refused = is_refused || code_is(code, refused[i]);
    if (code)
        snprintf(what, sizeof(what), "%.60s", code);
    else
        snprintf(what, sizeof(what), "HTTP %ld", resp->status);
    if (!msg)
        msg = xstrdup(resp->status == 404 ? "Not Found" : "no message");

    if (code_is(code, "NoSuchBucket"))
        rc = error_set(err, ST_IO, ET_NONE, "S3 bucket %s of warehouse %s does not exist: %s: %.*s",
                       bucket, s->label, what, S3_MAX_STORE_MESSAGE, msg);
    else if (resp->status == 404 && (!code || code_is(code, "NoSuchKey")))
        rc = error_set(err, ST_NOT_FOUND, ET_NOT_FOUND, "File does not exist: %s", location);
    else if (is_refused)
        rc = error_set(err, ST_IO, ET_NONE,
                       "S3 request to bucket %s for warehouse %s was refused: %s: %.*s", bucket,
                       s->label, what, S3_MAX_STORE_MESSAGE, msg);
    else if (resp->status >= 500 || resp->status == 429 || retryable(resp, code))
        rc = error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                       "S3 store of warehouse %s is unavailable: cannot %s %s: %s: %.*s", s->label,
                       op, location, what, S3_MAX_STORE_MESSAGE, msg);
    else
        rc = error_set(err, ST_IO, ET_NONE,
                       "Cannot %s %s (bucket %s, warehouse %s): HTTP %ld, %s: %.*s", op, location,
                       bucket, s->label, resp->status, what, S3_MAX_STORE_MESSAGE, msg);
    free(code);
    free(msg);
    return rc;
}

/* ---- single objects ---- */

static enum status s3_read(struct fileio *io, const char *location, size_t max_bytes, char **data,
                           size_t *len, struct error *err)
{
    struct s3 *s = io->impl;
    struct httpc_response resp = {0};
    char *bucket = NULL, *key = NULL;
    struct s3_call c = {.method = "GET"};
    enum status rc;

    if ((rc = parse_object(location, &bucket, &key, err)))
        return rc;
    c.bucket = bucket;
    c.key = key;
    /* Leave room for an error document, then hold the object to max_bytes below. */
    c.max_bytes = max_bytes < S3_MIN_READ_CAP ? S3_MIN_READ_CAP : max_bytes;
    rc = s3_send(s, &c, &resp, err);
    if (c.too_large)
        rc = error_set(err, ST_INVALID, ET_NONE, "File too large: %s is bigger than %zu bytes",
                       location, max_bytes);
    if (rc)
        goto out;
    if (resp.status != 200) {
        rc = s3_fail(s, "read", location, bucket, &resp, false, err);
        goto out;
    }
    if (resp.body_len > max_bytes) {
        rc = error_set(err, ST_INVALID, ET_NONE, "File too large: %s is bigger than %zu bytes",
                       location, max_bytes);
        goto out;
    }
    *data = resp.body;
    *len = resp.body_len;
    resp.body = NULL;
out:
    httpc_response_cleanup(&resp);
    free(bucket);
    free(key);
    return rc;
}

/* same_bytes says whether location holds exactly data (for a create-only retry). */
static bool same_bytes(struct fileio *io, const char *location, const void *data, size_t len)
{
    size_t got_len = 0;
    char *got = NULL;
    bool same;

    if (s3_read(io, location, len, &got, &got_len, NULL) != ST_OK)
        return false;
    same = got_len == len && (len == 0 || memcmp(got, data, len) == 0);
    free(got);
    return same;
}

static enum status s3_head(struct s3 *s, const char *location, const char *bucket, const char *key,
                           struct error *err)
{
    struct httpc_response resp;
    struct s3_call c = {.method = "HEAD", .bucket = bucket, .key = key};
    enum status rc;

    if ((rc = s3_send(s, &c, &resp, err)))
        return rc;
    rc = resp.status == 200 ? ST_OK : s3_fail(s, "check", location, bucket, &resp, false, err);
    httpc_response_cleanup(&resp);
    return rc;
}

/* put_object PUTs data, with If-None-Match: * when conditional. */
static enum status put_object(struct s3 *s, const char *bucket, const char *key, const void *data,
                              size_t len, bool conditional, struct httpc_response *resp,
                              bool *ambiguous, struct error *err)
{
    const struct sigv4_header cond[] = {{"If-None-Match", "*"}};
    struct s3_call c = {
        .method = "PUT", .bucket = bucket, .key = key, .body = data, .body_len = len};
    enum status rc;

    if (conditional) {
        c.headers = cond;
        c.n_headers = 1;
    }
    rc = s3_send(s, &c, resp, err);
    *ambiguous = c.ambiguous;
    return rc;
}

static bool not_implemented(const struct httpc_response *resp)
{
    char *code = error_code(resp, false);
    bool ni = resp->status == 501 || code_is(code, "NotImplemented");

    free(code);
    return ni;
}

/*
 * conditional_put writes with If-None-Match: *. Sets *unsupported (and
 * remembers it for this fileio) when the store does not implement the header.
 */
static enum status conditional_put(struct fileio *io, const char *location, const char *bucket,
                                   const char *key, const void *data, size_t len, bool *unsupported,
                                   struct error *err)
{
    struct s3 *s = io->impl;
    struct httpc_response resp;
    bool ambiguous;
    enum status rc;

    *unsupported = false;
    if ((rc = put_object(s, bucket, key, data, len, true, &resp, &ambiguous, err)))
        return rc;
    if (not_implemented(&resp)) {
        atomic_store(&s->no_conditional_put, true);
        *unsupported = true;
    } else if (resp.status == 412) {
        /* Our own earlier attempt may be what is there now. */
        if (!ambiguous || !same_bytes(io, location, data, len))
            rc = error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "File already exists: %s", location);
    } else if (resp.status != 200) {
        rc = s3_fail(s, "write", location, bucket, &resp, false, err);
    }
    httpc_response_cleanup(&resp);
    return rc;
}

static enum status s3_write(struct fileio *io, const char *location, const void *data, size_t len,
                            bool create_only, struct error *err)
{
    struct s3 *s = io->impl;
    struct httpc_response resp = {0};
    char *bucket = NULL, *key = NULL;
    bool unsupported, ambiguous;
    enum status rc;

    if ((rc = parse_object(location, &bucket, &key, err)))
        return rc;
    if (create_only && !atomic_load(&s->no_conditional_put)) {
        rc = conditional_put(io, location, bucket, key, data, len, &unsupported, err);
        if (rc || !unsupported)
            goto out;
    }
    if (create_only) {
        /* The store cannot put conditionally: check, then put (not atomic, the best it has). */
        rc = s3_head(s, location, bucket, key, err);
        if (rc == ST_OK)
            rc = error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "File already exists: %s", location);
        if (rc != ST_NOT_FOUND)
            goto out;
    }
    if ((rc = put_object(s, bucket, key, data, len, false, &resp, &ambiguous, err)))
        goto out;
    rc = resp.status == 200 ? ST_OK : s3_fail(s, "write", location, bucket, &resp, false, err);
out:
    httpc_response_cleanup(&resp);
    free(bucket);
    free(key);
    return rc;
}

static enum status s3_exists(struct fileio *io, const char *location, struct error *err)
{
    char *bucket, *key;
    enum status rc;

    if ((rc = parse_object(location, &bucket, &key, err)))
        return rc;
    rc = s3_head(io->impl, location, bucket, key, err);
    free(bucket);
    free(key);
    return rc;
}

static enum status s3_remove(struct fileio *io, const char *location, struct error *err)
{
    struct s3 *s = io->impl;
    struct httpc_response resp;
    char *bucket, *key, *code;
    struct s3_call c = {.method = "DELETE"};
    enum status rc;

    if ((rc = parse_object(location, &bucket, &key, err)))
        return rc;
    c.bucket = bucket;
    c.key = key;
    if ((rc = s3_send(s, &c, &resp, err)))
        goto out;
    code = error_code(&resp, false);
    /* S3 answers 204 for a missing key; other stores say 404 NoSuchKey. */
    if (resp.status == 200 || resp.status == 204 ||
        (resp.status == 404 && !code_is(code, "NoSuchBucket")))
        rc = ST_OK;
    else
        rc = s3_fail(s, "delete", location, bucket, &resp, false, err);
    free(code);
    httpc_response_cleanup(&resp);
out:
    free(bucket);
    free(key);
    return rc;
}

static enum status s3_copy(struct fileio *io, const char *from, const char *to, struct error *err)
{
    struct s3 *s = io->impl;
    char *fb = NULL, *fk = NULL, *tb = NULL, *tk = NULL;
    struct httpc_response resp = {0};
    struct sigv4_header h[1];
    struct s3_call c = {.method = "PUT", .headers = h, .n_headers = 1, .error_in_200 = true};
    struct buf source;
    enum status rc;
    char *code;

    buf_init(&source, 0);
    if ((rc = parse_object(from, &fb, &fk, err)) || (rc = parse_object(to, &tb, &tk, err)))
        goto out;
    /* x-amz-copy-source is "/bucket/key", URL-encoded. */
    buf_printf(&source, "/%s/", fb);
    sigv4_uri_encode(&source, fk, strlen(fk), true);
    h[0] = (struct sigv4_header){"x-amz-copy-source", source.data};
    c.bucket = tb;
    c.key = tk;
    if ((rc = s3_send(s, &c, &resp, err)))
        goto out;
    code = error_code(&resp, true);
    if (resp.status == 200 && !code)
        rc = ST_OK;
    else if (resp.status == 404 && (!code || code_is(code, "NoSuchKey")))
        rc = error_set(err, ST_NOT_FOUND, ET_NOT_FOUND, "File does not exist: %s", from);
    else
        rc = s3_fail(s, "copy to", to, code_is(code, "NoSuchBucket") ? fb : tb, &resp, true, err);
    free(code);
out:
    httpc_response_cleanup(&resp);
    buf_cleanup(&source);
    free(fb);
    free(fk);
    free(tb);
    free(tk);
    return rc;
}

/* ---- listing ---- */

/*
 * next_block returns the raw text between the next <tag> and </tag> at or
 * after *p (owned, entities still encoded) and moves *p past it; NULL when
 * there is none.
 */
static char *next_block(const char **p, const char *tag)
{
    char open[32], close[32];
    const char *a, *b;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    if (!*p || !(a = strstr(*p, open)) || !(b = strstr(a, close)))
        return NULL;
    a += strlen(open);
    *p = b + strlen(close);
    return xstrndup(a, (size_t)(b - a));
}

/* list_query returns the ListObjectsV2 query for prefix and token (may be NULL), owned. */
static char *list_query(const char *prefix, const char *token)
{
    struct buf q;

    buf_init(&q, 0);
    buf_puts(&q, "");
    if (token) {
        buf_puts(&q, "continuation-token=");
        sigv4_uri_encode(&q, token, strlen(token), false);
        buf_puts(&q, "&");
    }
    buf_puts(&q, "list-type=2&max-keys=1000&prefix=");
    sigv4_uri_encode(&q, prefix, strlen(prefix), false);
    return buf_take(&q);
}

/* What one listing page handed back. */
struct list_page {
    char *token;  /* NextContinuationToken when truncated, owned */
    bool stopped; /* the callback asked to stop */
};

/* list_emit calls fn for each <Contents> of a page body. */
static enum status list_emit(const char *body, const char *scheme, size_t scheme_len,
                             const char *bucket, const char *prefix, fileio_list_fn fn, void *ud,
                             struct list_page *page, const char *where, struct error *err)
{
    const char *p = body;
    char *block, *key, *size;

    while ((block = next_block(&p, "Contents"))) {
        enum status rc = ST_OK;
        int stop = 0;

        key = httpc_xml_value(block, "Key", NULL);
        size = httpc_xml_value(block, "Size", NULL);
        if (!key || !size) {
            rc = error_set(err, ST_IO, ET_NONE, "Listing %s: an entry without Key or Size", where);
        } else if (strncmp(key, prefix, strlen(prefix)) == 0) {
            char *loc = xasprintf("%.*s://%s/%s", (int)scheme_len, scheme, bucket, key);

            stop = fn(loc, strtoll(size, NULL, 10), ud);
            free(loc);
        }
        free(key);
        free(size);
        free(block);
        if (rc)
            return rc;
        if (stop) {
            page->stopped = true;
            return ST_OK;
        }
    }
    return ST_OK;
}

static enum status s3_list(struct fileio *io, const char *prefix_loc, fileio_list_fn fn, void *ud,
                           struct error *err)
{
    struct s3 *s = io->impl;
    char *bucket = NULL, *key = NULL, *prefix = NULL, *token = NULL, *query, *truncated;
    struct httpc_response resp = {0};
    struct list_page page = {0};
    size_t scheme_len, klen;
    enum status rc;

    if ((rc = s3_parse_location(prefix_loc, &bucket, &key, &scheme_len, err)))
        return rc;
    /* The prefix names a directory: "t" must not list "t2/x". */
    klen = strlen(key);
    prefix = klen && key[klen - 1] != '/' ? xasprintf("%s/", key) : xstrdup(key);
    for (;;) {
        struct s3_call c = {.method = "GET", .bucket = bucket};

        c.query = query = list_query(prefix, token);
        rc = s3_send(s, &c, &resp, err);
        free(query);
        if (rc)
            break;
        if (resp.status != 200) {
            rc = s3_fail(s, "list", prefix_loc, bucket, &resp, false, err);
            break;
        }
        if ((rc = list_emit(resp.body, prefix_loc, scheme_len, bucket, prefix, fn, ud, &page,
                            prefix_loc, err)) ||
            page.stopped)
            break;
        truncated = httpc_xml_value(resp.body, "IsTruncated", NULL);
        free(token);
        token = truncated && strcmp(truncated, "true") == 0
                    ? httpc_xml_value(resp.body, "NextContinuationToken", NULL)
                    : NULL;
        if (truncated && strcmp(truncated, "true") == 0 && !token)
            rc = error_set(err, ST_IO, ET_NONE,
                           "Listing %s: the store cut the listing short without a "
                           "continuation token",
                           prefix_loc);
        free(truncated);
        httpc_response_cleanup(&resp);
        if (rc || !token)
            break;
    }
    httpc_response_cleanup(&resp);
    free(token);
    free(prefix);
    free(bucket);
    free(key);
    return rc;
}

/* ---- batch delete ---- */

static void xml_escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_puts(b, "&amp;");
            break;
        case '<':
            buf_puts(b, "&lt;");
            break;
        case '>':
            buf_puts(b, "&gt;");
            break;
        case '"':
            buf_puts(b, "&quot;");
            break;
        case '\'':
            buf_puts(b, "&apos;");
            break;
        default:
            buf_append(b, s, 1);
        }
    }
}

/* content_md5 writes the base64 MD5 of data (Content-MD5, RFC 1864) to out. */
static void content_md5(const void *data, size_t len, char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL))
        abort(); /* only a broken libcrypto fails here */
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

/*
 * delete_errors reports the <Error> entries of a DeleteObjects answer: a
 * missing key is fine, anything else is ST_IO naming the first failure.
 */
static enum status delete_errors(const struct s3 *s, const char *body, const char *scheme,
                                 const char *bucket, struct error *err)
{
    const char *p = body;
    char *block, *first = NULL;
    size_t failed = 0;
    enum status rc = ST_OK;

    while ((block = next_block(&p, "Error"))) {
        char *code = httpc_xml_value(block, "Code", NULL);

        if (!code_is(code, "NoSuchKey")) {
            if (!failed++) {
                char *key = httpc_xml_value(block, "Key", NULL);
                char *msg = httpc_xml_value(block, "Message", NULL);

                first = xasprintf("%s://%s/%s: %.60s: %.*s", scheme, bucket, key ? key : "?",
                                  code ? code : "?", S3_MAX_STORE_MESSAGE, msg ? msg : "");
                free(key);
                free(msg);
            }
        }
        free(code);
        free(block);
    }
    if (failed)
        rc = error_set(err, ST_IO, ET_NONE,
                       "Cannot delete %zu object(s) in bucket %s of warehouse %s; the first: %s",
                       failed, bucket, s->label, first);
    free(first);
    return rc;
}

/* delete_batch deletes keys[0..n) of one bucket with one DeleteObjects request. */
static enum status delete_batch(struct s3 *s, const char *scheme, const char *bucket,
                                char *const *keys, size_t n, struct error *err)
{
    struct httpc_response resp = {0};
    char md5[32], *where;
    struct sigv4_header h[2] = {{"Content-MD5", md5}, {"Content-Type", "application/xml"}};
    struct s3_call c = {
        .method = "POST", .bucket = bucket, .query = "delete", .headers = h, .n_headers = 2};
    enum status rc;
    struct buf x;

    buf_init(&x, 0);
    buf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                 "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        buf_puts(&x, "<Object><Key>");
        xml_escape(&x, keys[i]);
        buf_puts(&x, "</Key></Object>");
    }
    buf_puts(&x, "</Delete>");
    content_md5(x.data, x.len, md5);
    c.body = x.data;
    c.body_len = x.len;
    if ((rc = s3_send(s, &c, &resp, err)))
        goto out;
    if (resp.status != 200) {
        where = xasprintf("%s://%s/", scheme, bucket);
        rc = s3_fail(s, "delete objects in", where, bucket, &resp, false, err);
        free(where);
        goto out;
    }
    rc = delete_errors(s, resp.body, scheme, bucket, err);
out:
    httpc_response_cleanup(&resp);
    buf_cleanup(&x);
    return rc;
}

static enum status s3_remove_many(struct fileio *io, const char *const *locations, size_t n,
                                  struct error *err)
{
    char **buckets = xcalloc(n, sizeof(*buckets)), **keys = xcalloc(n, sizeof(*keys));
    enum status rc = ST_OK, one;
    size_t i, start, scheme_len = 0;
    char scheme[4];

    for (i = 0; i < n && rc == ST_OK; i++)
        rc = parse_object(locations[i], &buckets[i], &keys[i], err);
    /* Consecutive keys of one bucket go together, up to the store's batch size. */
    for (start = 0; rc == ST_OK && start < n; start = i) {
        scheme_len = (size_t)(strstr(locations[start], "://") - locations[start]);
        snprintf(scheme, sizeof(scheme), "%.*s", (int)scheme_len, locations[start]);
        for (i = start + 1;
             i < n && i - start < S3_DELETE_BATCH && strcmp(buckets[i], buckets[start]) == 0; i++)
            ;
        one = delete_batch(io->impl, scheme, buckets[start], keys + start, i - start, err);
        /* Keep deleting past a failed batch; report the first failure. */
        if (one && rc == ST_OK) {
            rc = one;
            err = NULL;
        }
        if (rc && one == ST_UNAVAILABLE)
            break;
    }
    for (i = 0; i < n; i++) {
        free(buckets[i]);
        free(keys[i]);
    }
    free(buckets);
    free(keys);
    return rc;
}

/* ---- construction ---- */

static void s3_free(struct fileio *io)
{
    struct s3 *s = io->impl;

    free(s->scheme);
    free(s->authority);
    free(s->base_path);
    free(s->endpoint_text);
    free(s->region);
    free(s->access_key_id);
    if (s->secret_access_key) {
        /* Do not leave the secret in freed memory. */
        memset(s->secret_access_key, 0, strlen(s->secret_access_key));
        free(s->secret_access_key);
    }
    free(s->session_token);
    free(s->label);
    free(s);
}

static const struct fileio_ops s3_ops = {
    .read = s3_read,
    .write = s3_write,
    .exists = s3_exists,
    .remove = s3_remove,
    .list = s3_list,
    .remove_many = s3_remove_many,
    .copy = s3_copy,
    .free = s3_free,
};

struct fileio *fileio_s3_new(const struct s3_config *cfg)
{
    struct s3 *s = xcalloc(1, sizeof(*s));
    char *endpoint;

    s->io.ops = &s3_ops;
    s->io.impl = s;
    s->region = xstrdup(cfg->region && *cfg->region ? cfg->region : S3_DEFAULT_REGION);
    endpoint = cfg->endpoint && *cfg->endpoint
                   ? xstrdup(cfg->endpoint)
                   : xasprintf("https://s3.%s.amazonaws.com", s->region);
    parse_endpoint(s, endpoint);
    free(endpoint);
    s->path_style = cfg->path_style;
    s->access_key_id = xstrdup(cfg->access_key_id ? cfg->access_key_id : "");
    s->secret_access_key = xstrdup(cfg->secret_access_key ? cfg->secret_access_key : "");
    s->session_token =
        cfg->session_token && *cfg->session_token ? xstrdup(cfg->session_token) : NULL;
    s->connect_timeout_ms = cfg->connect_timeout_ms;
    s->timeout_ms = cfg->timeout_ms;
    s->max_attempts = cfg->max_attempts ? cfg->max_attempts : S3_DEFAULT_ATTEMPTS;
    s->label = xstrdup(cfg->label && *cfg->label ? cfg->label : "s3");
    atomic_init(&s->no_conditional_put, false);
    return &s->io;
}
