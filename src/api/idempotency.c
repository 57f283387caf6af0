/*
 * idempotency.c - the Idempotency-Key header on mutating routes
 * (rest-spec.md §11, DESIGN.md invariant 3).
 *
 * Before the handler runs, a recorded key is replayed: the first response's
 * status, body and ETag, without running anything again. Otherwise the
 * store connection is armed with the key, so the handler's mutation inserts
 * the record in its own store transaction; right after, the response is
 * filled in. A 4xx that changed nothing is recorded in a transaction of its
 * own; a 5xx is never recorded. Two requests racing with one key execute
 * once: the loser's store transaction rolls back on the key and it replays
 * the winner's response.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"

#define IDEM_KEY_MAX 128
#define IDEM_WAIT_MS 10000

static bool valid_key(const char *key)
{
    size_t n = strlen(key);

    if (n == 0 || n > IDEM_KEY_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (*p <= 0x20 || *p >= 0x7F)
            return false;
    return true;
}

/* What a key was used for: method, raw path and a hash of the body. */
static char *fingerprint(const struct http_request *req)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < req->body_len; i++)
        h = (h ^ (unsigned char)req->body[i]) * 1099511628211ULL;
    return xasprintf("%s %s %016llx", req->method, req->raw_path, (unsigned long long)h);
}

static void replay(struct http_response *res, const struct store_idem *rec)
{
    res->status = rec->status;
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
    if (rec->body) {
        res->body = xstrdup(rec->body);
        res->body_len = strlen(rec->body);
    }
    if (rec->etag)
        http_response_header(res, "ETag", rec->etag);
    http_response_header(res, "Idempotency-Replayed", "true");
}

static void fail(struct http_response *res, enum status st, enum errtype type, const char *msg)
{
    struct error err;

    error_set(&err, st, type, "%s", msg);
    http_response_error(res, &err);
}

/*
 * Answers from the record of key, waiting a bounded time while another
 * request with the key is still finishing. Returns false when there is none.
 */
static bool answer_recorded(struct catalog_ctx *ctx, int64_t wh, const char *key, const char *fp,
                            struct http_response *res)
{
    struct store_idem rec = {0};
    struct error err;
    int64_t waited = 0;

    for (;;) {
        error_clear(&err);
        enum status rc = store_idem_get(ctx->conn, wh, key, clock_now_ms(), &rec, &err);
        if (rc == ST_NOT_FOUND)
            return false;
        if (rc) {
            http_response_error(res, &err);
            return true;
        }
        if (strcmp(rec.fingerprint, fp) != 0) {
            fail(res, ST_INVALID, ET_UNPROCESSABLE,
                 "Idempotency-Key was already used for a different request");
            break;
        }
        if (rec.status != 0) {
            replay(res, &rec);
            break;
        }
        if (waited >= IDEM_WAIT_MS) {
            /* Applied, but its response was never recorded (a crash, or still running). */
            fail(res, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                 "A request with this Idempotency-Key was applied but its response is not "
                 "available yet; retry later");
            http_response_header(res, "Retry-After", "1");
            break;
        }
        store_idem_cleanup(&rec);
        clock_sleep_ms(20);
        waited += 20;
    }
    store_idem_cleanup(&rec);
    return true;
}

static const char *response_etag(const struct http_response *res)
{
    for (size_t i = 0; i < res->nheaders; i++)
        if (strcasecmp(res->headers[i].name, "ETag") == 0)
            return res->headers[i].value;
    return NULL;
}

void api_with_idempotency(struct http_request *req, struct http_response *res,
                          http_handler_fn handler)
{
    struct catalog_ctx *ctx = req->worker;
    const char *key = http_header(req, "Idempotency-Key");
    struct catalog_wh wh = {0};
    struct store_idem rec = {0};
    struct error err;
    char *fp = NULL;
    bool consumed;
    enum status rc;

    if (!key || !ctx || ctx->cat->opts.idempotency_lifetime_ms <= 0) {
        handler(req, res);
        return;
    }
    error_clear(&err);
    if (!valid_key(key)) {
        fail(res, ST_INVALID, ET_BAD_REQUEST,
             "Invalid Idempotency-Key: expected 1 to 128 visible ASCII characters");
        return;
    }
    if (api_resolve_warehouse(req, ctx, &wh, &err)) {
        http_response_error(res, &err);
        return;
    }
    fp = fingerprint(req);
    if (answer_recorded(ctx, wh.id, key, fp, res))
        goto out;
    rec.warehouse_id = wh.id;
    rec.key = (char *)key;
    rec.fingerprint = fp;
    rec.expires_ms = clock_now_ms() + ctx->cat->opts.idempotency_lifetime_ms;
    store_conn_set_idem(ctx->conn, &rec);
    handler(req, res);
    consumed = store_conn_idem_consumed(ctx->conn);
    store_conn_set_idem(ctx->conn, NULL);
    if (!consumed && res->status >= 500) {
        /* Our mutation may have lost to another request with the key: answer as it did. */
        struct http_response theirs = {0};
        if (answer_recorded(ctx, wh.id, key, fp, &theirs)) {
            free(res->body);
            for (size_t i = 0; i < res->nheaders; i++) {
                free(res->headers[i].name);
                free(res->headers[i].value);
            }
            *res = theirs;
        }
        goto out;
    }
    if (res->status >= 500)
        goto out; /* a 5xx is never recorded: the client may retry with the key */
    rec.status = res->status;
    rec.body = res->body;
    rec.etag = (char *)response_etag(res);
    rc = store_idem_finish(ctx->conn, &rec, &err);
    if (rc == ST_REPLAY && !consumed) {
        /* Another request with the key finished first; ours changed nothing. */
        struct http_response theirs = {0};
        if (answer_recorded(ctx, wh.id, key, fp, &theirs)) {
            free(res->body);
            for (size_t i = 0; i < res->nheaders; i++) {
                free(res->headers[i].name);
                free(res->headers[i].value);
            }
            *res = theirs;
        }
    } else if (rc) {
        log_warn("cannot record the response of Idempotency-Key %.40s: %s", key, err.msg);
    }
out:
    free(fp);
    catalog_wh_cleanup(&wh);
}
