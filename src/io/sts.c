/*
 * sts.c - STS AssumeRole over httpc, signed by sigv4 (see sts.h).
 *
 * The answer holds a secret key and a session token: its body is wiped
 * before it is freed, and nothing of it but Code and Message of an error
 * ever reaches a message.
 */
#include "io/sts.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "io/httpc.h"
#include "io/sigv4.h"

#define STS_DEFAULT_REGION "us-east-1"
#define STS_DEFAULT_TIMEOUT_MS 10000L
#define STS_ATTEMPTS 3
#define STS_BACKOFF_BASE_MS 100
#define STS_BACKOFF_MAX_MS 1000
#define STS_MAX_ANSWER ((size_t)64 << 10)
#define STS_MAX_STORE_MESSAGE 300

static void wipe(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
}

void sts_credentials_cleanup(struct sts_credentials *c)
{
    if (!c)
        return;
    wipe(c->secret_access_key);
    wipe(c->session_token);
    free(c->access_key_id);
    free(c->secret_access_key);
    free(c->session_token);
    memset(c, 0, sizeof(*c));
}

/* digits reads exactly n decimal digits at *p into *v and moves *p past them. */
static bool digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return false;
        *v = *v * 10 + (**p - '0');
    }
    return true;
}

enum status sts_parse_time(const char *text, int64_t *ms)
{
    struct tm tm = {0};
    const char *p = text;
    int y, mo, d, h, mi, s, frac_ms = 0, off = 0;
    time_t t;

    if (!p || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
        return ST_INVALID;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &s))
        return ST_INVALID;
    if (*p == '.') {
        int scale = 100, n = 0;

        for (p++; isdigit((unsigned char)*p); p++, n++) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
        }
        if (n == 0)
            return ST_INVALID;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;

        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
            return ST_INVALID;
        off = sign * (oh * 60 + om);
    } else {
        return ST_INVALID;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return ST_INVALID;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    t = timegm(&tm);
    *ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac_ms;
    return ST_OK;
}

/* add_param appends "&name=value" (the '&' only after the first), form-encoded. */
static void add_param(struct buf *b, const char *name, const char *value)
{
    buf_printf(b, "%s%s=", b->len ? "&" : "", name);
    sigv4_uri_encode(b, value, strlen(value), false);
}

/* The parameters sorted by name, as AWS's SDKs send them (the order does not matter to STS). */
static char *assume_role_form(const char *role_arn, const char *session_name,
                              const char *policy_json, int duration_s)
{
    struct buf b;
    char dur[16];

    buf_init(&b, 0);
    add_param(&b, "Action", "AssumeRole");
    if (duration_s > 0) {
        snprintf(dur, sizeof(dur), "%d", duration_s);
        add_param(&b, "DurationSeconds", dur);
    }
    if (policy_json)
        add_param(&b, "Policy", policy_json);
    add_param(&b, "RoleArn", role_arn);
    add_param(&b, "RoleSessionName", session_name);
    add_param(&b, "Version", "2011-06-15");
    return buf_take(&b);
}

/* sts_url returns where to POST (the endpoint with a path, at least "/"), owned. */
static char *sts_url(const struct sts_config *cfg, const char *region)
{
    const char *ep = cfg->endpoint && *cfg->endpoint ? cfg->endpoint : NULL;
    const char *auth;

    if (!ep)
        return xasprintf("https://sts.%s.amazonaws.com/", region);
    auth = strstr(ep, "://");
    if (auth && !strchr(auth + 3, '/'))
        return xasprintf("%s/", ep);
    return xstrdup(ep);
}

/* send_signed signs and sends the form once. */
static enum status send_signed(const struct sts_config *cfg, const char *region, const char *url,
                               const char *form, struct httpc_response *resp, struct error *err)
{
    const struct sigv4_header ct[] = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    struct sigv4_credentials creds = {cfg->access_key_id ? cfg->access_key_id : "",
                                      cfg->secret_access_key ? cfg->secret_access_key : "",
                                      cfg->session_token && *cfg->session_token ? cfg->session_token
                                                                                : NULL};
    struct sigv4_output out = {0};
    char hash[65];
    struct sigv4_input in = {.method = "POST",
                             .url = url,
                             .headers = ct,
                             .n_headers = 1,
                             .payload_hash = hash,
                             .region = region,
                             .service = "sts",
                             .now = time(NULL)};
    struct httpc_header h[4];
    struct httpc_request req = {.method = "POST",
                                .url = url,
                                .headers = h,
                                .body = form,
                                .body_len = strlen(form),
                                .timeout_ms =
                                    cfg->timeout_ms > 0 ? cfg->timeout_ms : STS_DEFAULT_TIMEOUT_MS,
                                .max_response_bytes = STS_MAX_ANSWER};
    enum status rc;
    size_t n = 0;

    memset(resp, 0, sizeof(*resp));
    sigv4_sha256_hex(form, strlen(form), hash);
    if ((rc = sigv4_sign(&in, &creds, &out, err)))
        return rc;
    h[n++] = (struct httpc_header){ct[0].name, ct[0].value};
    h[n++] = (struct httpc_header){"X-Amz-Date", out.amz_date};
    if (creds.session_token)
        h[n++] = (struct httpc_header){"X-Amz-Security-Token", creds.session_token};
    h[n++] = (struct httpc_header){"Authorization", out.authorization};
    req.n_headers = n;
    rc = httpc_do(&req, resp, err);
    sigv4_output_cleanup(&out);
    return rc;
}

static void response_wipe(struct httpc_response *resp)
{
    wipe(resp->body);
    httpc_response_cleanup(resp);
}

static bool retryable(const struct httpc_response *resp, const char *code)
{
    return resp->status >= 500 || resp->status == 429 ||
           (code && (strcmp(code, "Throttling") == 0 || strcmp(code, "ServiceUnavailable") == 0 ||
                     strcmp(code, "RequestExpired") == 0));
}

/* refused turns an STS error answer into a status. */
static enum status refused(const struct httpc_response *resp, const char *code,
                           const char *role_arn, struct error *err)
{
    char *msg = resp->body ? httpc_xml_value(resp->body, "Message", NULL) : NULL;
    enum status rc;

    if (retryable(resp, code))
        rc = error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                       "STS cannot assume role %s now: HTTP %ld, %.60s: %.*s", role_arn,
                       resp->status, code ? code : "no code", STS_MAX_STORE_MESSAGE,
                       msg ? msg : "no message");
    else
        rc = error_set(err, ST_IO, ET_NONE, "STS refused to assume role %s: HTTP %ld, %.60s: %.*s",
                       role_arn, resp->status, code ? code : "no code", STS_MAX_STORE_MESSAGE,
                       msg ? msg : "no message");
    free(msg);
    return rc;
}

/* take_credentials fills out from a successful answer. */
static enum status take_credentials(const char *body, const char *role_arn,
                                    struct sts_credentials *out, struct error *err)
{
    char *expiration;
    enum status rc = ST_OK;

    out->access_key_id = httpc_xml_value(body, "AccessKeyId", NULL);
    out->secret_access_key = httpc_xml_value(body, "SecretAccessKey", NULL);
    out->session_token = httpc_xml_value(body, "SessionToken", NULL);
    expiration = httpc_xml_value(body, "Expiration", NULL);
    if (!out->access_key_id || !*out->access_key_id || !out->secret_access_key ||
        !*out->secret_access_key || !out->session_token || !expiration ||
        sts_parse_time(expiration, &out->expiration_ms)) {
        sts_credentials_cleanup(out);
        rc = error_set(err, ST_IO, ET_NONE,
                       "STS answered AssumeRole of %s without usable credentials", role_arn);
    }
    free(expiration);
    return rc;
}

enum status sts_assume_role(const struct sts_config *cfg, const char *role_arn,
                            const char *session_name, const char *policy_json, int duration_s,
                            struct sts_credentials *out, struct error *err)
{
    const char *region = cfg->region && *cfg->region ? cfg->region : STS_DEFAULT_REGION;
    struct httpc_response resp = {0};
    char *url, *form, *code = NULL;
    enum status rc = ST_INTERNAL;
    struct error e;

    memset(out, 0, sizeof(*out));
    if (!role_arn || !*role_arn || !session_name || !*session_name)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "AssumeRole needs a role ARN and a session name");
    url = sts_url(cfg, region);
    form = assume_role_form(role_arn, session_name, policy_json, duration_s);
    for (unsigned attempt = 1;; attempt++) {
        rc = send_signed(cfg, region, url, form, &resp, &e);
        if (rc == ST_OK) {
            free(code);
            code = resp.status == 200 ? NULL : httpc_xml_value(resp.body, "Code", NULL);
            if (resp.status == 200 || !retryable(&resp, code) || attempt >= STS_ATTEMPTS)
                break;
            response_wipe(&resp);
        } else if (rc != ST_UNAVAILABLE || attempt >= STS_ATTEMPTS) {
            if (rc == ST_UNAVAILABLE)
                rc = error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                               "STS is unreachable (%u attempts): %s", attempt, e.msg);
            else if (err)
                *err = e;
            goto out;
        }
        clock_sleep_ms(httpc_backoff_ms(attempt, STS_BACKOFF_BASE_MS, STS_BACKOFF_MAX_MS));
    }
    if (resp.status == 200)
        rc = take_credentials(resp.body, role_arn, out, err);
    else
        rc = refused(&resp, code, role_arn, err);
out:
    response_wipe(&resp);
    free(code);
    free(url);
    free(form);
    return rc;
}
