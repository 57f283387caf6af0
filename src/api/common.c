/* common.c - request parsing shared by every handler, /v1/config and health. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "core/jsonx.h"
#include "core/pct.h"

bool api_worker(struct http_request *req, struct http_response *res, struct api_call *c)
{
    memset(c, 0, sizeof(*c));
    c->ctx = req->worker;
    if (!c->ctx) {
        error_set(&c->err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                  "The catalog store is not available");
        http_response_error(res, &c->err);
        http_response_header(res, "Retry-After", "1");
        return false;
    }
    /* Every store statement of this request must finish within the request deadline. */
    store_set_deadline(c->ctx->conn, c->ctx->cat->opts.request_timeout_ms, NULL);
    return true;
}

bool api_prefixed(const struct http_request *req)
{
    return strncmp(req->route, "/v1/{prefix}/", 13) == 0;
}

bool api_begin(struct http_request *req, struct http_response *res, struct api_call *c, int flags)
{
    size_t p = 0;
    enum status rc = ST_OK;

    if (!api_worker(req, res, c))
        return false;
    if (api_prefixed(req))
        p++;
    rc = api_resolve_warehouse(req, c->ctx, &c->wh, &c->err);
    catalog_set_delegation(c->ctx, http_header(req, "X-Iceberg-Access-Delegation"));
    if (!rc && (flags & CALL_NS))
        rc = api_decode_namespace(req->params[p++], c->ctx->cat->opts.namespace_separator, &c->ns,
                                  &c->err);
    if (!rc && (flags & CALL_NAME))
        rc = api_decode_name(flags & CALL_VIEW ? "view" : "table", req->params[p++], &c->name,
                             &c->err);
    if (!rc && (flags & CALL_BODY))
        rc = jsonx_parse_object(req->body, req->body_len, &c->body, &c->err);
    if (rc) {
        http_response_error(res, &c->err);
        return false;
    }
    return true;
}

enum status api_resolve_warehouse(struct http_request *req, struct catalog_ctx *ctx,
                                  struct catalog_wh *wh, struct error *err)
{
    char *decoded = NULL;
    enum status rc;

    if (!api_prefixed(req))
        return catalog_wh_resolve(ctx, NULL, wh, err);
    if (pct_decode(req->params[0], strlen(req->params[0]), false, &decoded))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid prefix");
    rc = catalog_wh_resolve(ctx, decoded, wh, err);
    free(decoded);
    return rc;
}

void api_end(struct api_call *c)
{
    catalog_wh_cleanup(&c->wh);
    json_decref(c->ns);
    json_decref(c->body);
    free(c->name);
}

void api_fail(struct http_response *res, struct api_call *c)
{
    http_response_error(res, &c->err);
    if (c->err.status == ST_UNAVAILABLE)
        http_response_header(res, "Retry-After", "1");
}

enum status api_parse_bool(const char *value, const char *name, bool *out, struct error *err)
{
    if (!value)
        return ST_OK;
    if (strcasecmp(value, "true") == 0)
        *out = true;
    else if (strcasecmp(value, "false") == 0)
        *out = false;
    else
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid value for %s: '%.64s' (expected true or false)", name, value);
    return ST_OK;
}

enum status api_parse_page(struct http_request *req, const char **token, size_t *size,
                           struct error *err)
{
    const char *s = http_query(req, "pageSize");
    char *end = NULL;
    long long v;

    *token = http_query(req, "pageToken");
    *size = 0;
    if (!s)
        return ST_OK;
    v = strtoll(s, &end, 10);
    if (!*s || *end || v < 1 || v > 1000000)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid pageSize: '%.32s' (expected a positive integer)", s);
    *size = (size_t)v;
    /* A page size alone also asks for a paged answer. */
    if (!*token)
        *token = "";
    return ST_OK;
}

void api_send_table(struct http_response *res, struct catalog_table_result *r)
{
    res->status = 200;
    res->body = r->body;
    res->body_len = strlen(r->body);
    r->body = NULL;
    if (r->etag[0])
        http_response_header(res, "ETag", r->etag);
}

void api_config(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *cfg = NULL;

    if (!api_worker(req, res, &c))
        return;
    if (catalog_config(c.ctx, http_query(req, "warehouse"), &cfg, &c.err)) {
        api_fail(res, &c);
        return;
    }
    json_object_set_new(cfg, "endpoints", api_endpoints());
    http_response_json(res, 200, cfg);
}

void api_health_live(struct http_request *req, struct http_response *res)
{
    {
        bool lease = false;
        int64_t hints = 0;
        catalog_jobs_state(((struct catalog_ctx *)req->worker)->cat, &lease, &hints);
        http_response_json(res, 200,
                           json_pack("{s:s, s:b, s:I}", "status", "ok", "jobs_lease", lease,
                                     "change_hints", (json_int_t)hints));
    }
}

void api_health_ready(struct http_request *req, struct http_response *res)
{
    struct error err;

    error_clear(&err);
    if (!req->worker || catalog_ready(req->worker, &err)) {
        http_response_json(res, 503,
                           json_pack("{s:s, s:s}", "status", "unavailable", "reason",
                                     err.msg[0] ? err.msg : "no store connection"));
        http_response_header(res, "Retry-After", "1");
        return;
    }
    {
        bool lease = false;
        int64_t hints = 0;
        catalog_jobs_state(((struct catalog_ctx *)req->worker)->cat, &lease, &hints);
        http_response_json(res, 200,
                           json_pack("{s:s, s:b, s:I}", "status", "ok", "jobs_lease", lease,
                                     "change_hints", (json_int_t)hints));
    }
}
