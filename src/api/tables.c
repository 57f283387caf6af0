/* tables.c - table handlers. */
#include <string.h>

#include "api/internal.h"
#include "core/jsonx.h"

void api_table_list(struct http_request *req, struct http_response *res)
{
    api_run_list(req, res, catalog_table_list);
}

void api_table_create(struct http_request *req, struct http_response *res)
{
    api_run_ns_body(req, res, catalog_table_create);
}

void api_table_load(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    struct catalog_table_result r = {0};
    const char *mode = http_query(req, "snapshots");
    bool refs = false, not_modified = false;

    if (!api_begin(req, res, &c, CALL_NS | CALL_NAME))
        goto out;
    if (mode && strcmp(mode, "refs") == 0) {
        refs = true;
    } else if (mode && strcmp(mode, "all") != 0) {
        error_set(&c.err, ST_INVALID, ET_BAD_REQUEST,
                  "Invalid value for snapshots: '%.32s' (expected all or refs)", mode);
        api_fail(res, &c);
        goto out;
    }
    if (catalog_table_load(c.ctx, &c.wh, c.ns, c.name, refs, http_header(req, "If-None-Match"),
                           &not_modified, &r, &c.err)) {
        api_fail(res, &c);
    } else if (not_modified) {
        res->status = 304;
        http_response_header(res, "ETag", r.etag);
    } else {
        api_send_table(res, &r);
    }
out:
    catalog_table_result_cleanup(&r);
    api_end(&c);
}

void api_table_exists(struct http_request *req, struct http_response *res)
{
    api_run_name_204(req, res, 0, catalog_table_exists);
}

void api_table_commit(struct http_request *req, struct http_response *res)
{
    api_run_name_body(req, res, 0, catalog_table_commit);
}

void api_table_drop(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    bool purge = false;

    if (!api_begin(req, res, &c, CALL_NS | CALL_NAME))
        goto out;
    if (api_parse_bool(http_query(req, "purgeRequested"), "purgeRequested", &purge, &c.err) ||
        catalog_table_drop(c.ctx, &c.wh, c.ns, c.name, purge, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 204, NULL);
out:
    api_end(&c);
}

void api_table_register(struct http_request *req, struct http_response *res)
{
    api_run_ns_body(req, res, catalog_table_register);
}

void api_table_rename(struct http_request *req, struct http_response *res)
{
    api_run_body_204(req, res, catalog_table_rename);
}

void api_table_metrics(struct http_request *req, struct http_response *res)
{
    struct api_call c;

    if (!api_begin(req, res, &c, CALL_NS | CALL_NAME | CALL_BODY))
        goto out;
    if (catalog_table_metrics(c.ctx, &c.wh, c.ns, c.name, c.body, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 204, NULL);
out:
    api_end(&c);
}

void api_table_credentials(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *out = NULL;

    if (!api_begin(req, res, &c, CALL_NS | CALL_NAME))
        goto out;
    if (catalog_table_credentials(c.ctx, &c.wh, c.ns, c.name, &out, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 200, out);
out:
    api_end(&c);
}

void api_table_sign(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *out = NULL;

    if (!api_begin(req, res, &c, CALL_NS | CALL_NAME | CALL_BODY))
        goto out;
    if (catalog_table_sign(c.ctx, &c.wh, c.ns, c.name, c.body, &out, &c.err)) {
        api_fail(res, &c);
    } else {
        http_response_json(res, 200, out);
        /* A signature is for one request at one time (spec: private or no-cache). */
        http_response_header(res, "Cache-Control", "no-cache");
    }
out:
    api_end(&c);
}
