/*
 * management.c - /management/v1/warehouses: create, list, inspect, change the
 * storage of, and delete warehouses. Not part of the Iceberg REST spec;
 * errors use the same ErrorModel.
 */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/jsonx.h"
#include "http/http.h"
#include "core/pct.h"

/* mgmt_begin gets the worker, the decoded {warehouse} (when want_name) and the body (when
 * want_body). */
static bool mgmt_begin(struct http_request *req, struct http_response *res, struct api_call *c,
                       bool want_name, bool want_body)
{
    enum status rc = ST_OK;

    if (!api_worker(req, res, c))
        return false;
    if (want_name && pct_decode(req->params[0], strlen(req->params[0]), false, &c->name))
        rc = error_set(&c->err, ST_INVALID, ET_BAD_REQUEST, "Invalid warehouse name in path");
    if (!rc && want_body)
        rc = jsonx_parse_object(req->body, req->body_len, &c->body, &c->err);
    if (rc) {
        http_response_error(res, &c->err);
        return false;
    }
    return true;
}

/* probe_wanted reads ?probe= (default true). */
static bool probe_wanted(struct http_request *req, struct api_call *c, bool *probe)
{
    *probe = true;
    const char *v = http_query(req, "probe");
    return !v || api_parse_bool(v, "probe", probe, &c->err) == ST_OK;
}

void api_wh_list(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *out = NULL;

    if (!mgmt_begin(req, res, &c, false, false))
        goto out;
    if (catalog_wh_list(c.ctx, &out, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 200, out);
out:
    api_end(&c);
}

void api_wh_create(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *out = NULL;
    bool probe;

    if (!mgmt_begin(req, res, &c, false, true))
        goto out;
    if (!probe_wanted(req, &c, &probe) || catalog_wh_create(c.ctx, c.body, probe, &out, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 201, out);
out:
    api_end(&c);
}

void api_wh_get(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *out = NULL;

    if (!mgmt_begin(req, res, &c, true, false))
        goto out;
    if (catalog_wh_get(c.ctx, c.name, &out, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 200, out);
out:
    api_end(&c);
}

void api_wh_set_storage(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *out = NULL;
    bool probe;

    if (!mgmt_begin(req, res, &c, true, true))
        goto out;
    if (!probe_wanted(req, &c, &probe) ||
        catalog_wh_set_storage(c.ctx, c.name, c.body, probe, &out, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 200, out);
out:
    api_end(&c);
}

void api_wh_delete(struct http_request *req, struct http_response *res)
{
    struct api_call c;

    if (!mgmt_begin(req, res, &c, true, false))
        goto out;
    if (catalog_wh_delete(c.ctx, c.name, &c.err))
        api_fail(res, &c);
    else
        res->status = 204;
out:
    api_end(&c);
}
