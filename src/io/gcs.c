/*
 * gcs.c - fileio for Google Cloud Storage over the JSON API (see gcs.h for
 * the choices). Requests go through io/httpc; this file builds URLs, adds the
 * Authorization header, retries, maps answers to statuses, and keeps the
 * service-account access token.
 *
 * JSON API reference: cloud.google.com/storage/docs/json_api/v1 (objects:
 * get, insert, delete, list, rewrite; batch requests:
 * cloud.google.com/storage/docs/batch). Token: developers.google.com/identity/
 * protocols/oauth2/service-account ("Preparing to make an authorized API
 * call"), RFC 7523 section 2.1.
 */
#include "io/gcs.h"

#include <inttypes.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/pct.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "io/httpc.h"

#define GCS_DEFAULT_ENDPOINT "https://storage.googleapis.com"
#define GCS_SCOPE "https://www.googleapis.com/auth/devstorage.read_write"
#define GCS_JWT_GRANT                                                                              \
    "urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer" /* printf format */
#define GCS_JWT_LIFETIME_S 3600
#define GCS_TOKEN_MARGIN_MS 60000
#define GCS_DEFAULT_ATTEMPTS 4
#define GCS_BACKOFF_BASE_MS 100
#define GCS_BACKOFF_MAX_MS 3000
#define GCS_PAGE_MAX 1000        /* GCS's largest maxResults */
#define GCS_BATCH_MAX 100        /* GCS's largest batch */
#define GCS_NAME_MAX 1024        /* bytes of UTF-8 in an object name */
#define GCS_BUCKET_MAX 222       /* characters of a bucket name */
#define GCS_SMALL_MAX (1u << 20) /* metadata, error and token answers */
#define GCS_LIST_MAX (64u << 20) /* one listing page or one batch answer */
#define GCS_REWRITE_CALLS_MAX 10000
#define GCS_MSG_MAX 300 /* bytes of Google's message quoted in ours */

enum gcs_auth { GCS_ANONYMOUS, GCS_BEARER, GCS_SERVICE_ACCOUNT };

struct gcs {
    struct fileio io;
    char *endpoint;  /* "scheme://host[:port][/path]", no trailing '/' */
    char *base_path; /* the endpoint's path part ("" usually), for batch parts */
    char *who;       /* "GCS warehouse 'x'", the subject of every message */
    long connect_timeout_ms, timeout_ms;
    unsigned max_attempts, page_size;
    enum gcs_auth auth;
    char *bearer; /* GCS_BEARER */
    /* GCS_SERVICE_ACCOUNT: what the key JSON said (the key itself only parsed). */
    char *client_email, *key_id, *token_uri;
    EVP_PKEY *key;
    pthread_mutex_t token_lock; /* protects token and token_expires_ms */
    char *token;
    int64_t token_expires_ms;
};

/* An object location split into its bucket and object name (both owned). */
struct gcs_loc {
    char *bucket;
    char *name;
};

static const struct fileio_ops gcs_ops;

/* --- small helpers --- */

static void loc_cleanup(struct gcs_loc *l)
{
    free(l->bucket);
    free(l->name);
    l->bucket = l->name = NULL;
}

static bool bucket_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/*
 * gcs_parse splits "gs://bucket/name" into loc. With need_name the object
 * name must be present and valid (at most 1,024 bytes, no CR or LF, not "."
 * or ".."), as GCS requires; without it, an empty name is fine (a prefix).
 */
static enum status gcs_parse(const char *location, bool need_name, struct gcs_loc *loc,
                             struct error *err)
{
    const char *b, *slash;
    size_t blen;

    loc->bucket = loc->name = NULL;
    if (!location || strncmp(location, "gs://", 5) != 0)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid location %s: not a gs:// URI",
                         location ? location : "(null)");
    b = location + 5;
    slash = strchr(b, '/');
    blen = slash ? (size_t)(slash - b) : strlen(b);
    if (blen == 0 || blen > GCS_BUCKET_MAX)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid location %s: bad bucket name",
                         location);
    for (size_t i = 0; i < blen; i++)
        if (!bucket_char(b[i]))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid location %s: bad bucket name", location);
    const char *name = slash ? slash + 1 : "";
    if (need_name) {
        if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid location %s: no object name",
                             location);
        if (strlen(name) > GCS_NAME_MAX || strpbrk(name, "\r\n"))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid location %s: GCS object names are at most %d bytes "
                             "without CR or LF",
                             location, GCS_NAME_MAX);
    }
    loc->bucket = xstrndup(b, blen);
    loc->name = xstrdup(name);
    return ST_OK;
}

/* object_path appends "/storage/v1/b/{bucket}/o/{name}" (both encoded). */
static void object_path(struct buf *b, const struct gcs_loc *l)
{
    (void)buf_puts(b, "/storage/v1/b/");
    (void)pct_puts(b, l->bucket);
    (void)buf_puts(b, "/o/");
    (void)pct_puts(b, l->name);
}

/* object_url returns endpoint + object_path + suffix (owned). */
static char *object_url(const struct gcs *g, const struct gcs_loc *l, const char *suffix)
{
    struct buf b;

    buf_init(&b, 0);
    (void)buf_puts(&b, g->endpoint);
    object_path(&b, l);
    (void)buf_puts(&b, suffix);
    return buf_take(&b);
}

/* clean_text copies at most max bytes of s with control characters replaced by spaces. */
static char *clean_text(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *out = xstrndup(s, n);

    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    while (n && out[n - 1] == ' ')
        out[--n] = '\0';
    return out;
}

/*
 * google_message returns (owned) the human message of a JSON API error
 * answer: error.message of {"error": {...}}, or the OAuth form "error:
 * error_description", else the start of the body, else the HTTP status.
 */
static char *google_message(const struct httpc_response *resp)
{
    json_t *root = NULL, *e;
    const char *m = NULL, *desc = NULL;
    char *out = NULL;

    if (resp->body && resp->body_len)
        root = json_loadb(resp->body, resp->body_len, 0, NULL);
    e = json_object_get(root, "error");
    if (json_is_object(e)) {
        m = json_string_value(json_object_get(e, "message"));
    } else if (json_is_string(e)) {
        m = json_string_value(e);
        desc = json_string_value(json_object_get(root, "error_description"));
    }
    if (m && desc) {
        char *both = xasprintf("%s: %s", m, desc);

        out = clean_text(both, GCS_MSG_MAX);
        free(both);
    } else if (m && *m) {
        out = clean_text(m, GCS_MSG_MAX);
    } else if (!root && resp->body && resp->body_len) {
        out = clean_text(resp->body, GCS_MSG_MAX);
    } else {
        out = xasprintf("HTTP %ld", resp->status);
    }
    json_decref(root);
    return out;
}

static bool retryable(long status)
{
    return status == 429 || status >= 500;
}

/* --- the service-account token --- */

/* b64url appends n bytes of p in unpadded base64url (RFC 7515 section 2). */
static void b64url(struct buf *b, const unsigned char *p, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        char q[4] = {al[p[i] >> 2], al[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
                     al[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)], al[p[i + 2] & 63]};

        (void)buf_append(b, q, 4);
    }
    if (n - i == 1) {
        char q[2] = {al[p[i] >> 2], al[(p[i] & 3) << 4]};

        (void)buf_append(b, q, 2);
    } else if (n - i == 2) {
        char q[3] = {al[p[i] >> 2], al[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
                     al[(p[i + 1] & 15) << 2]};

        (void)buf_append(b, q, 3);
    }
}

static void b64url_json(struct buf *b, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

    b64url(b, (const unsigned char *)s, strlen(s));
    free(s);
    json_decref(v);
}

/*
 * jwt_new returns (owned) the signed JWT assertion for a token request at
 * now_s: header {alg RS256, typ JWT, kid}, claims {iss, scope, aud, iat, exp}.
 */
static enum status jwt_new(struct gcs *g, int64_t now_s, char **jwt, struct error *err)
{
    json_t *hdr = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    struct buf b;
    enum status rc = ST_OK;

    if (g->key_id)
        json_object_set_new(hdr, "kid", json_string(g->key_id));
    buf_init(&b, 0);
    b64url_json(&b, hdr);
    (void)buf_puts(&b, ".");
    b64url_json(&b, json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", g->client_email, "scope",
                              GCS_SCOPE, "aud", g->token_uri, "iat", (json_int_t)now_s, "exp",
                              (json_int_t)(now_s + GCS_JWT_LIFETIME_S)));
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, g->key) != 1 ||
        EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *)b.data, b.len) != 1) {
        rc = ST_INTERNAL;
    } else {
        sig = xmalloc(sig_len);
        if (EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)b.data, b.len) != 1)
            rc = ST_INTERNAL;
    }
    EVP_MD_CTX_free(md);
    if (rc) {
        ERR_clear_error();
        free(sig);
        buf_cleanup(&b);
        error_set(err, ST_INTERNAL, ET_INTERNAL,
                  "%s: cannot sign the token request with the service-account key", g->who);
        return ST_INTERNAL;
    }
    (void)buf_puts(&b, ".");
    b64url(&b, sig, sig_len);
    free(sig);
    *jwt = buf_take(&b);
    return ST_OK;
}

/* free_secret wipes and frees a string that holds a credential. */
static void free_secret(char *s)
{
    if (s)
        OPENSSL_clear_free(s, strlen(s));
}

/* token_parse takes access_token and expires_in from a 200 answer of the token endpoint. */
static enum status token_parse(struct gcs *g, const struct httpc_response *resp, int64_t now_ms,
                               struct error *err)
{
    json_t *root = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
    const char *tok = json_string_value(json_object_get(root, "access_token"));
    json_t *exp = json_object_get(root, "expires_in");
    int64_t secs = 3600;

    if (json_is_integer(exp))
        secs = json_integer_value(exp);
    if (!tok || !*tok || secs <= 0 || secs > 7 * 24 * 3600) {
        json_decref(root);
        return error_set(err, ST_IO, ET_NONE,
                         "%s: the token endpoint %s answered without a usable access_token and "
                         "expires_in",
                         g->who, g->token_uri);
    }
    free_secret(g->token);
    g->token = xstrdup(tok);
    g->token_expires_ms = now_ms + secs * 1000;
    json_decref(root);
    return ST_OK;
}

static enum status gcs_send(struct gcs *g, bool with_auth, const char *method, const char *url,
                            const struct httpc_header *hdrs, size_t n_hdrs, const void *body,
                            size_t body_len, size_t max_resp, struct httpc_response *resp,
                            unsigned *attempts, struct error *err);

/*
 * token_fetch trades a fresh JWT for an access token (RFC 7523 section 2.1)
 * and stores it in g. Called with token_lock held.
 */
static enum status token_fetch(struct gcs *g, struct error *err)
{
    static const struct httpc_header hdrs[] = {
        {"Content-Type", "application/x-www-form-urlencoded"},
        {"Accept", "application/json"},
    };
    struct httpc_response resp = {0};
    int64_t now_ms = clock_now_ms();
    char *jwt = NULL, *body = NULL, *msg;
    enum status rc;

    if ((rc = jwt_new(g, now_ms / 1000, &jwt, err)))
        return rc;
    body = xasprintf("grant_type=" GCS_JWT_GRANT "&assertion=%s", jwt);
    rc = gcs_send(g, false, "POST", g->token_uri, hdrs, 2, body, strlen(body), GCS_SMALL_MAX, &resp,
                  NULL, err);
    free_secret(jwt);
    free_secret(body);
    if (rc)
        goto out;
    if (resp.status == 200) {
        rc = token_parse(g, &resp, now_ms, err);
        if (rc == ST_OK)
            log_debug("GCS access token for %s fetched, valid %" PRId64 " s", g->client_email,
                      (g->token_expires_ms - now_ms) / 1000);
        goto out;
    }
    msg = google_message(&resp);
    rc = error_set(err, retryable(resp.status) ? ST_UNAVAILABLE : ST_IO,
                   retryable(resp.status) ? ET_SERVICE_UNAVAILABLE : ET_NONE,
                   "%s: the token request for %s to %s failed (HTTP %ld): %s", g->who,
                   g->client_email, g->token_uri, resp.status, msg);
    free(msg);
out:
    httpc_response_cleanup(&resp);
    return rc;
}

/*
 * token_get returns a copy of the current token (fetching one when there is
 * none or it expires within GCS_TOKEN_MARGIN_MS). One thread fetches while
 * the others wait for its token.
 */
static enum status token_get(struct gcs *g, char **token, int64_t *expires_ms, struct error *err)
{
    enum status rc = ST_OK;

    pthread_mutex_lock(&g->token_lock);
    if (!g->token || clock_now_ms() >= g->token_expires_ms - GCS_TOKEN_MARGIN_MS)
        rc = token_fetch(g, err);
    if (rc == ST_OK) {
        *token = xstrdup(g->token);
        if (expires_ms)
            *expires_ms = g->token_expires_ms;
    }
    pthread_mutex_unlock(&g->token_lock);
    return rc;
}

/* token_drop forgets the cached token if it is still stale (a 401 answered it). */
static void token_drop(struct gcs *g, const char *stale)
{
    pthread_mutex_lock(&g->token_lock);
    if (g->token && strcmp(g->token, stale) == 0) {
        free_secret(g->token);
        g->token = NULL;
    }
    pthread_mutex_unlock(&g->token_lock);
}

/* --- sending --- */

/*
 * gcs_send sends one request, with the Authorization header when with_auth,
 * retrying (after httpc_backoff_ms) on an unreachable server, 429 and 5xx,
 * up to max_attempts tries; a 401 with a cached service-account token drops
 * the token and tries once more at once. ST_OK when an answer arrived (any
 * status: the last one is in resp, which the caller cleans up);
 * ST_UNAVAILABLE when the server was never reached. *attempts (may be NULL)
 * gets the number of tries made.
 */
static enum status gcs_send(struct gcs *g, bool with_auth, const char *method, const char *url,
                            const struct httpc_header *hdrs, size_t n_hdrs, const void *body,
                            size_t body_len, size_t max_resp, struct httpc_response *resp,
                            unsigned *attempts, struct error *err)
{
    struct httpc_header all[8];
    struct error herr;
    bool refreshed = false;
    enum status rc = ST_INTERNAL;
    unsigned attempt;

    memset(resp, 0, sizeof(*resp));
    if (n_hdrs > 6)
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "gcs_send: too many headers");
    error_clear(&herr);
    for (attempt = 1;; attempt++) {
        char *token = NULL, *auth = NULL;
        size_t n = n_hdrs;

        if (n_hdrs)
            memcpy(all, hdrs, n_hdrs * sizeof(*hdrs));
        /* A failed token request is reported as it is: it made its own retries. */
        if (with_auth && g->auth == GCS_SERVICE_ACCOUNT && (rc = token_get(g, &token, NULL, err)))
            return rc;
        if (with_auth && g->auth != GCS_ANONYMOUS) {
            auth = xasprintf("Bearer %s", token ? token : g->bearer);
            all[n++] = (struct httpc_header){"Authorization", auth};
        }
        struct httpc_request req = {
            .method = method,
            .url = url,
            .headers = all,
            .n_headers = n,
            .body = body,
            .body_len = body_len,
            .connect_timeout_ms = g->connect_timeout_ms,
            .timeout_ms = g->timeout_ms,
            .max_response_bytes = max_resp,
        };
        httpc_response_cleanup(resp);
        error_clear(&herr);
        rc = httpc_do(&req, resp, &herr);
        free_secret(auth);
        if (rc == ST_OK && resp->status == 401 && token && !refreshed) {
            /* The token may have been revoked or rotated early: get a new one, once. */
            token_drop(g, token);
            refreshed = true;
            attempt--;
            free_secret(token);
            continue;
        }
        free_secret(token);
        bool again = rc == ST_UNAVAILABLE || (rc == ST_OK && retryable(resp->status));
        if (!again || attempt >= g->max_attempts)
            break;
        clock_sleep_ms(httpc_backoff_ms(attempt, GCS_BACKOFF_BASE_MS, GCS_BACKOFF_MAX_MS));
    }
    if (attempts)
        *attempts = attempt;
    if (rc == ST_OK)
        return ST_OK;
    if (rc == ST_UNAVAILABLE)
        return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                         "%s: %s unreachable after %u attempts: %s", g->who,
                         with_auth ? "storage" : "token endpoint", attempt, herr.msg);
    return error_set(err, rc, herr.type, "%s: %s", g->who, herr.msg);
}

/* bucket_error reports a missing bucket (404) or refused access (401/403) to it. */
static enum status bucket_error(struct gcs *g, const char *bucket,
                                const struct httpc_response *resp, struct error *err)
{
    char *msg = google_message(resp);
    const char *what = resp->status == 404   ? "does not exist"
                       : resp->status == 401 ? "refused the credentials"
                                             : "denied access";

    error_set(err, ST_IO, ET_NONE, "%s: bucket '%s' %s (HTTP %ld): %s", g->who, bucket, what,
              resp->status, msg);
    free(msg);
    return ST_IO;
}

/*
 * http_error maps an unexpected answer to a status: 401/403 name the bucket,
 * 429/503 after the retries are ST_UNAVAILABLE, the rest ST_IO. what says
 * which operation failed ("write gs://b/k").
 */
static enum status http_error(struct gcs *g, const char *what, const char *bucket,
                              const struct httpc_response *resp, struct error *err)
{
    char *msg;
    enum status rc;

    if (resp->status == 401 || resp->status == 403)
        return bucket_error(g, bucket, resp, err);
    msg = google_message(resp);
    if (resp->status == 429 || resp->status == 503)
        rc = error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                       "%s: %s: storage busy (HTTP %ld) after %u attempts: %s", g->who, what,
                       resp->status, g->max_attempts, msg);
    else
        rc = error_set(err, ST_IO, ET_NONE, "%s: %s failed (HTTP %ld): %s", g->who, what,
                       resp->status, msg);
    free(msg);
    return rc;
}

/*
 * not_found_or_bucket decides what a 404 on an object means. Google says "No
 * such object: b/o" for a missing object and "The specified bucket does not
 * exist." for a missing bucket; when the message says neither (emulators),
 * the bucket is looked up.
 */
static enum status not_found_or_bucket(struct gcs *g, const char *location, const char *bucket,
                                       const struct httpc_response *resp, struct error *err)
{
    char *msg = google_message(resp);
    bool obj_missing = strncmp(msg, "No such object", 14) == 0;
    bool bucket_missing = strstr(msg, "bucket does not exist") != NULL;
    enum status rc;

    free(msg);
    if (!obj_missing && !bucket_missing) {
        struct httpc_response br;
        struct buf u;

        buf_init(&u, 0);
        (void)buf_puts(&u, g->endpoint);
        (void)buf_puts(&u, "/storage/v1/b/");
        (void)pct_puts(&u, bucket);
        (void)buf_puts(&u, "?fields=name");
        rc = gcs_send(g, true, "GET", u.data, NULL, 0, NULL, 0, GCS_SMALL_MAX, &br, NULL, NULL);
        buf_cleanup(&u);
        if (rc == ST_OK && br.status == 404)
            rc = bucket_error(g, bucket, &br, err);
        else
            rc = ST_OK;
        httpc_response_cleanup(&br);
        if (rc)
            return rc;
    } else if (bucket_missing) {
        return bucket_error(g, bucket, resp, err);
    }
    return error_set(err, ST_NOT_FOUND, ET_NOT_FOUND, "File does not exist: %s", location);
}

/* --- the fileio operations --- */

static enum status gcs_read(struct fileio *io, const char *location, size_t max_bytes, char **data,
                            size_t *len, struct error *err)
{
    struct gcs *g = io->impl;
    struct gcs_loc l;
    struct httpc_response resp;
    char *url, *what;
    enum status rc;

    if ((rc = gcs_parse(location, true, &l, err)))
        return rc;
    url = object_url(g, &l, "?alt=media");
    /* Error answers are small but may exceed a tiny max_bytes: judge the size after. */
    rc = gcs_send(g, true, "GET", url, NULL, 0, NULL, 0,
                  max_bytes < GCS_SMALL_MAX ? GCS_SMALL_MAX : max_bytes, &resp, NULL, err);
    if (rc == ST_INVALID)
        rc = error_set(err, ST_INVALID, ET_NONE, "File too large: %s is bigger than %zu bytes",
                       location, max_bytes);
    if (rc)
        goto out;
    if (resp.status == 200) {
        if (resp.body_len > max_bytes) {
            rc = error_set(err, ST_INVALID, ET_NONE, "File too large: %s is bigger than %zu bytes",
                           location, max_bytes);
            goto out;
        }
        *data = resp.body ? resp.body : xstrdup("");
        *len = resp.body_len;
        resp.body = NULL;
    } else if (resp.status == 404) {
        rc = not_found_or_bucket(g, location, l.bucket, &resp, err);
    } else {
        what = xasprintf("read %s", location);
        rc = http_error(g, what, l.bucket, &resp, err);
        free(what);
    }
out:
    httpc_response_cleanup(&resp);
    free(url);
    loc_cleanup(&l);
    return rc;
}

/*
 * same_content says whether the object at l holds exactly data (after a
 * create-only write whose earlier try may have landed before its answer was
 * lost).
 */
static bool same_content(struct gcs *g, const char *location, const void *data, size_t len)
{
    char *got = NULL;
    size_t got_len = 0;
    bool same;

    if (gcs_read(&g->io, location, len, &got, &got_len, NULL))
        return false;
    same = got_len == len && memcmp(got, data, len) == 0;
    free(got);
    return same;
}

static enum status gcs_write(struct fileio *io, const char *location, const void *data, size_t len,
                             bool create_only, struct error *err)
{
    static const struct httpc_header hdrs[] = {{"Content-Type", "application/octet-stream"}};
    struct gcs *g = io->impl;
    struct gcs_loc l;
    struct httpc_response resp;
    struct buf u;
    unsigned attempts = 0;
    char *what;
    enum status rc;

    if ((rc = gcs_parse(location, true, &l, err)))
        return rc;
    buf_init(&u, 0);
    (void)buf_puts(&u, g->endpoint);
    (void)buf_puts(&u, "/upload/storage/v1/b/");
    (void)pct_puts(&u, l.bucket);
    (void)buf_puts(&u, "/o?uploadType=media&name=");
    (void)pct_puts(&u, l.name);
    /* A generation precondition of 0 means "only if no live object has this name". */
    if (create_only)
        (void)buf_puts(&u, "&ifGenerationMatch=0");
    rc =
        gcs_send(g, true, "POST", u.data, hdrs, 1, data, len, GCS_SMALL_MAX, &resp, &attempts, err);
    if (rc)
        goto out;
    if (resp.status == 200 || resp.status == 201) {
        rc = ST_OK;
    } else if (resp.status == 412 && create_only) {
        /* After a retry, the object may be our own earlier try. */
        if (attempts > 1 && same_content(g, location, data, len))
            rc = ST_OK;
        else
            rc = error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "File already exists: %s", location);
    } else if (resp.status == 404) {
        rc = bucket_error(g, l.bucket, &resp, err);
    } else {
        what = xasprintf("write %s", location);
        rc = http_error(g, what, l.bucket, &resp, err);
        free(what);
    }
out:
    httpc_response_cleanup(&resp);
    buf_cleanup(&u);
    loc_cleanup(&l);
    return rc;
}

static enum status gcs_exists(struct fileio *io, const char *location, struct error *err)
{
    struct gcs *g = io->impl;
    struct gcs_loc l;
    struct httpc_response resp;
    char *url, *what;
    enum status rc;

    if ((rc = gcs_parse(location, true, &l, err)))
        return rc;
    url = object_url(g, &l, "?fields=name");
    if ((rc = gcs_send(g, true, "GET", url, NULL, 0, NULL, 0, GCS_SMALL_MAX, &resp, NULL, err)))
        goto out;
    if (resp.status == 200) {
        rc = ST_OK;
    } else if (resp.status == 404) {
        rc = not_found_or_bucket(g, location, l.bucket, &resp, err);
    } else {
        what = xasprintf("look up %s", location);
        rc = http_error(g, what, l.bucket, &resp, err);
        free(what);
    }
out:
    httpc_response_cleanup(&resp);
    free(url);
    loc_cleanup(&l);
    return rc;
}

static enum status gcs_remove(struct fileio *io, const char *location, struct error *err)
{
    struct gcs *g = io->impl;
    struct gcs_loc l;
    struct httpc_response resp;
    char *url, *what, *msg;
    enum status rc;

    if ((rc = gcs_parse(location, true, &l, err)))
        return rc;
    url = object_url(g, &l, "");
    if ((rc = gcs_send(g, true, "DELETE", url, NULL, 0, NULL, 0, GCS_SMALL_MAX, &resp, NULL, err)))
        goto out;
    if (resp.status == 200 || resp.status == 204) {
        rc = ST_OK;
    } else if (resp.status == 404) {
        /* A missing object is fine; a missing bucket is a misconfiguration worth saying. */
        msg = google_message(&resp);
        rc = strstr(msg, "bucket does not exist") ? bucket_error(g, l.bucket, &resp, err) : ST_OK;
        free(msg);
    } else {
        what = xasprintf("delete %s", location);
        rc = http_error(g, what, l.bucket, &resp, err);
        free(what);
    }
out:
    httpc_response_cleanup(&resp);
    free(url);
    loc_cleanup(&l);
    return rc;
}

/*
 * list_page parses one listing answer: calls fn for each item and sets *next
 * to the nextPageToken (owned) or NULL. *stop is set when fn asked to stop.
 */
static enum status list_page(struct gcs *g, const char *bucket, const struct httpc_response *resp,
                             fileio_list_fn fn, void *ud, char **next, bool *stop,
                             struct error *err)
{
    json_t *root = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
    json_t *items = json_object_get(root, "items"), *it;
    const char *tok = json_string_value(json_object_get(root, "nextPageToken"));
    size_t i;

    *next = NULL;
    if (!json_is_object(root) || (items && !json_is_array(items))) {
        json_decref(root);
        return error_set(err, ST_IO, ET_NONE, "%s: bad listing answer for bucket '%s'", g->who,
                         bucket);
    }
    json_array_foreach(items, i, it)
    {
        const char *name = json_string_value(json_object_get(it, "name"));
        json_t *sz = json_object_get(it, "size");
        int64_t size = -1;
        char *loc;

        if (!name)
            continue;
        /* The JSON API writes uint64 values as strings. */
        if (json_is_string(sz))
            size = strtoll(json_string_value(sz), NULL, 10);
        else if (json_is_integer(sz))
            size = json_integer_value(sz);
        loc = xasprintf("gs://%s/%s", bucket, name);
        *stop = fn(loc, size, ud) != 0;
        free(loc);
        if (*stop)
            break;
    }
    if (tok && *tok)
        *next = xstrdup(tok);
    json_decref(root);
    return ST_OK;
}

static enum status gcs_list(struct fileio *io, const char *prefix, fileio_list_fn fn, void *ud,
                            struct error *err)
{
    struct gcs *g = io->impl;
    struct gcs_loc l;
    struct httpc_response resp = {0};
    char *token = NULL, *next = NULL, *dir;
    bool stop = false;
    enum status rc;

    if ((rc = gcs_parse(prefix, false, &l, err)))
        return rc;
    /* The prefix names a directory: "t" must not list "t2/x". */
    size_t n = strlen(l.name);
    dir = (n && l.name[n - 1] != '/') ? xasprintf("%s/", l.name) : xstrdup(l.name);
    for (;;) {
        struct buf u;

        buf_init(&u, 0);
        (void)buf_printf(&u, "%s/storage/v1/b/", g->endpoint);
        (void)pct_puts(&u, l.bucket);
        (void)buf_printf(&u, "/o?maxResults=%u&fields=items%%28name%%2Csize%%29%%2CnextPageToken",
                         g->page_size);
        if (*dir) {
            (void)buf_puts(&u, "&prefix=");
            (void)pct_puts(&u, dir);
        }
        if (token) {
            (void)buf_puts(&u, "&pageToken=");
            (void)pct_puts(&u, token);
        }
        httpc_response_cleanup(&resp);
        rc = gcs_send(g, true, "GET", u.data, NULL, 0, NULL, 0, GCS_LIST_MAX, &resp, NULL, err);
        buf_cleanup(&u);
        if (rc)
            break;
        if (resp.status == 404) {
            rc = bucket_error(g, l.bucket, &resp, err);
            break;
        }
        if (resp.status != 200) {
            char *what = xasprintf("list %s", prefix);

            rc = http_error(g, what, l.bucket, &resp, err);
            free(what);
            break;
        }
        if ((rc = list_page(g, l.bucket, &resp, fn, ud, &next, &stop, err)) || stop || !next)
            break;
        if (token && strcmp(token, next) == 0) {
            rc = error_set(err, ST_IO, ET_NONE, "%s: listing %s did not advance", g->who, prefix);
            break;
        }
        free(token);
        token = next;
        next = NULL;
    }
    httpc_response_cleanup(&resp);
    free(token);
    free(next);
    free(dir);
    loc_cleanup(&l);
    return rc;
}

/* --- batch delete (cloud.google.com/storage/docs/batch) --- */

/* One delete of a batch: where, and what happened (0 = not answered yet). */
struct batch_item {
    struct gcs_loc loc;
    const char *location;
    long status;
    char *msg; /* Google's message for a failure, owned */
};

/* batch_body builds the multipart/mixed request deleting items[idx[0..n)]. */
static char *batch_body(struct gcs *g, const char *boundary, struct batch_item *items,
                        const size_t *idx, size_t n)
{
    struct buf b;

    buf_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        (void)buf_printf(&b,
                         "--%s\r\nContent-Type: application/http\r\n"
                         "Content-Transfer-Encoding: binary\r\nContent-ID: <item-%zu>\r\n\r\n"
                         "DELETE %s",
                         boundary, idx[i], g->base_path);
        object_path(&b, &items[idx[i]].loc);
        /* The CRLF before the next delimiter belongs to the delimiter (RFC 2046 5.1.1). */
        (void)buf_puts(&b, " HTTP/1.1\r\nContent-Length: 0\r\n\r\n\r\n");
    }
    (void)buf_printf(&b, "--%s--\r\n", boundary);
    return buf_take(&b);
}

/* content_boundary extracts the boundary parameter of a multipart Content-Type (owned). */
static char *content_boundary(const char *ctype)
{
    const char *p = ctype ? strstr(ctype, "boundary=") : NULL;
    size_t n;

    if (!p)
        return NULL;
    p += 9;
    if (*p == '"') {
        p++;
        n = strcspn(p, "\"");
    } else {
        n = strcspn(p, "; \t");
    }
    return n ? xstrndup(p, n) : NULL;
}

/*
 * batch_part reads one part of a batch answer: the item number from its
 * Content-ID ("<response-item-N>") and the inner HTTP status and message.
 */
static void batch_part(const char *p, size_t len, struct batch_item *items, size_t n_items)
{
    const char *hdr_end, *id, *st;
    char *part = xstrndup(p, len);

    hdr_end = strstr(part, "\r\n\r\n");
    id = strstr(part, "item-");
    st = hdr_end ? strstr(hdr_end, "HTTP/1.") : NULL;
    if (id && st && id < hdr_end) {
        size_t k = strtoul(id + 5, NULL, 10);
        const char *sp = strchr(st, ' ');
        const char *body = strstr(st, "\r\n\r\n");

        if (k < n_items && sp) {
            items[k].status = strtol(sp + 1, NULL, 10);
            free(items[k].msg);
            items[k].msg = NULL;
            if (items[k].status >= 300 && body) {
                struct httpc_response r = {.status = items[k].status,
                                           .body = (char *)body + 4,
                                           .body_len = strlen(body + 4)};

                items[k].msg = google_message(&r);
            }
        }
    }
    free(part);
}

/* batch_parse splits a multipart/mixed answer into its parts. */
static enum status batch_parse(struct gcs *g, const struct httpc_response *resp,
                               struct batch_item *items, size_t n_items, struct error *err)
{
    char *boundary = content_boundary(httpc_response_header(resp, "Content-Type"));
    char *delim;
    const char *p, *q, *end = resp->body + resp->body_len;

    if (!boundary || !resp->body)
        return error_set(err, ST_IO, ET_NONE, "%s: batch delete answer is not multipart", g->who);
    delim = xasprintf("--%s", boundary);
    p = strstr(resp->body, delim);
    while (p && p < end) {
        p += strlen(delim);
        if (strncmp(p, "--", 2) == 0)
            break;
        q = strstr(p, delim);
        if (!q)
            q = end;
        batch_part(p, (size_t)(q - p), items, n_items);
        p = q;
    }
    free(delim);
    free(boundary);
    return ST_OK;
}

/*
 * batch_round sends one batch request for items[idx[0..n)] and records each
 * item's status. A store without the batch endpoint (404, 405, 501) gets one
 * DELETE per object instead.
 */
static enum status batch_round(struct gcs *g, struct batch_item *items, size_t n_items,
                               const size_t *idx, size_t n, struct error *err)
{
    static unsigned long seq;
    char boundary[64], ctype[96];
    struct httpc_response resp;
    char *body, *url, *what;
    enum status rc;

    /*
     * No line of a part starts with "--" (the lines are an encoded request
     * line, MIME headers and blanks), so no part can hold the delimiter.
     */
    snprintf(boundary, sizeof(boundary), "serac_batch_%lx_%lx", (unsigned long)clock_mono_ns(),
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    snprintf(ctype, sizeof(ctype), "multipart/mixed; boundary=%s", boundary);
    struct httpc_header hdrs[] = {{"Content-Type", ctype}};
    body = batch_body(g, boundary, items, idx, n);
    url = xasprintf("%s/batch/storage/v1", g->endpoint);
    rc =
        gcs_send(g, true, "POST", url, hdrs, 1, body, strlen(body), GCS_LIST_MAX, &resp, NULL, err);
    free(body);
    free(url);
    if (rc)
        goto out;
    if (resp.status == 404 || resp.status == 405 || resp.status == 501) {
        for (size_t i = 0; i < n && rc == ST_OK; i++) {
            rc = gcs_remove(&g->io, items[idx[i]].location, err);
            items[idx[i]].status = 204;
        }
    } else if (resp.status != 200) {
        what = xasprintf("batch delete of %zu objects", n);
        rc = http_error(g, what, items[idx[0]].loc.bucket, &resp, err);
        free(what);
    } else {
        rc = batch_parse(g, &resp, items, n_items, err);
    }
out:
    httpc_response_cleanup(&resp);
    return rc;
}

/* batch_chunk deletes items[first..first+n) with batches, retrying the parts that got 429/5xx. */
static enum status batch_chunk(struct gcs *g, struct batch_item *items, size_t n_items,
                               size_t first, size_t n, struct error *err)
{
    size_t idx[GCS_BATCH_MAX], m = n;
    enum status rc = ST_OK;

    for (size_t i = 0; i < n; i++)
        idx[i] = first + i;
    for (unsigned round = 1; m > 0; round++) {
        for (size_t i = 0; i < m; i++)
            items[idx[i]].status = 0;
        if ((rc = batch_round(g, items, n_items, idx, m, err)))
            return rc;
        size_t k = 0;
        for (size_t i = 0; i < m; i++) {
            struct batch_item *it = &items[idx[i]];

            if (it->status == 0 || retryable(it->status))
                idx[k++] = idx[i];
            else if (it->status >= 300 && it->status != 404 && rc == ST_OK)
                rc = error_set(err, ST_IO, ET_NONE, "%s: delete %s failed (HTTP %ld): %s", g->who,
                               it->location, it->status, it->msg ? it->msg : "");
        }
        m = k;
        if (m == 0 || rc)
            break;
        if (round >= g->max_attempts) {
            struct batch_item *it = &items[idx[0]];

            return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                             "%s: %zu deletes still failing after %u attempts, e.g. %s (HTTP "
                             "%ld): %s",
                             g->who, m, round, it->location, it->status,
                             it->msg ? it->msg : "no answer");
        }
        clock_sleep_ms(httpc_backoff_ms(round, GCS_BACKOFF_BASE_MS, GCS_BACKOFF_MAX_MS));
    }
    return rc;
}

static enum status gcs_remove_many(struct fileio *io, const char *const *locations, size_t n,
                                   struct error *err)
{
    struct gcs *g = io->impl;
    struct batch_item *items = xcalloc(n ? n : 1, sizeof(*items));
    enum status rc = ST_OK;
    size_t i;

    for (i = 0; i < n && rc == ST_OK; i++) {
        items[i].location = locations[i];
        rc = gcs_parse(locations[i], true, &items[i].loc, err);
    }
    for (size_t first = 0; first < n && rc == ST_OK; first += GCS_BATCH_MAX) {
        size_t m = n - first < GCS_BATCH_MAX ? n - first : GCS_BATCH_MAX;

        rc = batch_chunk(g, items, n, first, m, err);
    }
    for (i = 0; i < n; i++) {
        loc_cleanup(&items[i].loc);
        free(items[i].msg);
    }
    free(items);
    return rc;
}

/* --- copy (objects: rewrite) --- */

/* rewrite_url returns (owned) the rewriteTo URL from s to d, resuming at token if given. */
static char *rewrite_url(const struct gcs *g, const struct gcs_loc *s, const struct gcs_loc *d,
                         const char *token)
{
    struct buf u;

    buf_init(&u, 0);
    (void)buf_puts(&u, g->endpoint);
    object_path(&u, s);
    (void)buf_puts(&u, "/rewriteTo/b/");
    (void)pct_puts(&u, d->bucket);
    (void)buf_puts(&u, "/o/");
    (void)pct_puts(&u, d->name);
    if (token) {
        (void)buf_puts(&u, "?rewriteToken=");
        (void)pct_puts(&u, token);
    }
    return buf_take(&u);
}

/*
 * rewrite_step reads one rewrite answer: *done when the copy is complete,
 * else *token (owned) to resume with.
 */
static enum status rewrite_step(struct gcs *g, const char *what, const struct httpc_response *resp,
                                bool *done, char **token, struct error *err)
{
    json_t *root = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
    const char *t = json_string_value(json_object_get(root, "rewriteToken"));

    *done = json_is_true(json_object_get(root, "done"));
    *token = !*done && t && *t ? xstrdup(t) : NULL;
    json_decref(root);
    if (!*done && !*token)
        return error_set(err, ST_IO, ET_NONE, "%s: %s: answer neither done nor resumable", g->who,
                         what);
    return ST_OK;
}

static enum status gcs_copy(struct fileio *io, const char *from, const char *to, struct error *err)
{
    static const struct httpc_header hdrs[] = {{"Content-Type", "application/json"}};
    struct gcs *g = io->impl;
    struct gcs_loc s = {0}, d = {0};
    struct httpc_response resp = {0};
    char *token = NULL, *what = NULL, *url;
    bool done = false;
    enum status rc;

    if ((rc = gcs_parse(from, true, &s, err)) || (rc = gcs_parse(to, true, &d, err)))
        goto out;
    what = xasprintf("copy %s to %s", from, to);
    /* A large or cross-location copy takes several calls, each resuming with rewriteToken. */
    for (unsigned calls = 0; !done; calls++) {
        if (calls == GCS_REWRITE_CALLS_MAX) {
            rc = error_set(err, ST_IO, ET_NONE, "%s: %s did not finish", g->who, what);
            break;
        }
        url = rewrite_url(g, &s, &d, token);
        free(token);
        token = NULL;
        httpc_response_cleanup(&resp);
        rc = gcs_send(g, true, "POST", url, hdrs, 1, "{}", 2, GCS_SMALL_MAX, &resp, NULL, err);
        free(url);
        if (rc)
            break;
        if (resp.status == 404) {
            /* Either the source is missing (or its bucket), or else the target's bucket. */
            rc = gcs_exists(io, from, err);
            if (rc == ST_OK)
                rc = bucket_error(g, d.bucket, &resp, err);
            break;
        }
        if (resp.status != 200) {
            rc = http_error(g, what, s.bucket, &resp, err);
            break;
        }
        if ((rc = rewrite_step(g, what, &resp, &done, &token, err)))
            break;
    }
out:
    httpc_response_cleanup(&resp);
    free(token);
    free(what);
    loc_cleanup(&s);
    loc_cleanup(&d);
    return rc;
}

/* --- construction --- */

static void gcs_free(struct fileio *io)
{
    struct gcs *g = io->impl;

    pthread_mutex_destroy(&g->token_lock);
    free_secret(g->token);
    free_secret(g->bearer);
    EVP_PKEY_free(g->key);
    free(g->client_email);
    free(g->key_id);
    free(g->token_uri);
    free(g->endpoint);
    free(g->base_path);
    free(g->who);
    free(g);
}

static const struct fileio_ops gcs_ops = {
    .read = gcs_read,
    .write = gcs_write,
    .exists = gcs_exists,
    .remove = gcs_remove,
    .list = gcs_list,
    .remove_many = gcs_remove_many,
    .copy = gcs_copy,
    .free = gcs_free,
};

/* no_passphrase refuses to prompt for an encrypted key's passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static bool http_url(const char *s)
{
    return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
           s[strcspn(s, ":") + 3] != '\0' && !strpbrk(s, " \t\r\n");
}

/*
 * load_key takes what serac needs from a service-account key. Messages name
 * the field at fault, never a value of the key.
 */
static enum status load_key(struct gcs *g, const char *text, struct error *err)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    const char *type, *email, *pem, *uri, *kid;
    BIO *bio;
    enum status rc = ST_INVALID;

    if (!json_is_object(root)) {
        /* jansson's text may quote the key: report only the position. */
        error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                  "%s: the service-account key is not a JSON object (line %d, column %d)", g->who,
                  root ? 1 : jerr.line, root ? 1 : jerr.column);
        goto out;
    }
    type = json_string_value(json_object_get(root, "type"));
    email = json_string_value(json_object_get(root, "client_email"));
    pem = json_string_value(json_object_get(root, "private_key"));
    uri = json_string_value(json_object_get(root, "token_uri"));
    kid = json_string_value(json_object_get(root, "private_key_id"));
    if (!type || strcmp(type, "service_account") != 0) {
        error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                  "%s: the key's \"type\" must be \"service_account\"", g->who);
        goto out;
    }
    if (!email || !*email || strpbrk(email, "\r\n")) {
        error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                  "%s: the service-account key has no \"client_email\"", g->who);
        goto out;
    }
    if (!http_url(uri)) {
        error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                  "%s: the service-account key's \"token_uri\" is missing or not an http(s) URL",
                  g->who);
        goto out;
    }
    bio = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    g->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!g->key || EVP_PKEY_base_id(g->key) != EVP_PKEY_RSA) {
        error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                  "%s: the service-account key's \"private_key\" is missing or not an "
                  "unencrypted PEM RSA private key",
                  g->who);
        goto out;
    }
    g->client_email = xstrdup(email);
    g->token_uri = xstrdup(uri);
    g->key_id = kid && *kid ? xstrdup(kid) : NULL;
    g->auth = GCS_SERVICE_ACCOUNT;
    rc = ST_OK;
out:
    json_decref(root);
    return rc;
}

enum status fileio_gcs_new(const struct gcs_config *cfg, struct fileio **out, struct error *err)
{
    struct gcs *g;
    const char *ep = cfg->endpoint ? cfg->endpoint : GCS_DEFAULT_ENDPOINT;
    size_t n;

    *out = NULL;
    g = xcalloc(1, sizeof(*g));
    g->io.ops = &gcs_ops;
    g->io.impl = g;
    pthread_mutex_init(&g->token_lock, NULL);
    g->who = cfg->label ? xasprintf("GCS warehouse '%s'", cfg->label) : xstrdup("GCS");
    if (!http_url(ep)) {
        error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                  "%s: endpoint %s is not an http:// or https:// URL", g->who, ep);
        goto fail;
    }
    n = strlen(ep);
    while (n && ep[n - 1] == '/')
        n--;
    g->endpoint = xstrndup(ep, n);
    const char *path = strchr(strstr(g->endpoint, "://") + 3, '/');
    g->base_path = xstrdup(path ? path : "");
    g->connect_timeout_ms = cfg->connect_timeout_ms;
    g->timeout_ms = cfg->timeout_ms;
    g->max_attempts = cfg->max_attempts ? cfg->max_attempts : GCS_DEFAULT_ATTEMPTS;
    g->page_size = cfg->list_page_size && cfg->list_page_size < GCS_PAGE_MAX ? cfg->list_page_size
                                                                             : GCS_PAGE_MAX;
    if (cfg->credentials_json && cfg->bearer_token) {
        error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                  "%s: give a service-account key or a bearer token, not both", g->who);
        goto fail;
    }
    if (cfg->credentials_json) {
        if (load_key(g, cfg->credentials_json, err))
            goto fail;
    } else if (cfg->bearer_token && *cfg->bearer_token) {
        g->bearer = xstrdup(cfg->bearer_token);
        g->auth = GCS_BEARER;
    }
    *out = &g->io;
    return ST_OK;
fail:
    gcs_free(&g->io);
    return ST_INVALID;
}

enum status gcs_access_token(struct fileio *io, char **token, int64_t *expires_ms,
                             struct error *err)
{
    struct gcs *g;

    *token = NULL;
    *expires_ms = 0;
    if (!io || io->ops != &gcs_ops)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Not a GCS file I/O");
    g = io->impl;
    if (g->auth == GCS_ANONYMOUS)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "%s: no credentials configured, so there is no token to give", g->who);
    if (g->auth == GCS_BEARER) {
        *token = xstrdup(g->bearer);
        return ST_OK;
    }
    return token_get(g, token, expires_ms, err);
}
