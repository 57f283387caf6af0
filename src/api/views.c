/* views.c - view and multi-table transaction handlers. */
#include <string.h>

#include "api/internal.h"

void api_view_list(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *out = NULL;
    const char *token;
    size_t size;

    if (!api_begin(req, res, &c, CALL_NS))
        goto out;
    if (api_parse_page(req, &token, &size, &c.err) ||
        catalog_view_list(c.ctx, &c.wh, c.ns, token, size, &out, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 200, out);
out:
    api_end(&c);
}

/* The handlers below share one shape: parse, call, render a LoadViewResult or 204. */
typedef enum status (*view_body_fn)(struct catalog_ctx *, const struct catalog_wh *, const json_t *,
                                    const json_t *, struct catalog_table_result *, struct error *);

static void with_body(struct http_request *req, struct http_response *res, view_body_fn fn)
{
    struct api_call c;
    struct catalog_table_result r = {0};

    if (!api_begin(req, res, &c, CALL_NS | CALL_BODY))
        goto out;
    if (fn(c.ctx, &c.wh, c.ns, c.body, &r, &c.err))
        api_fail(res, &c);
    else
        api_send_table(res, &r);
out:
    catalog_table_result_cleanup(&r);
    api_end(&c);
}

void api_view_create(struct http_request *req, struct http_response *res)
{
    with_body(req, res, catalog_view_create);
}

void api_view_register(struct http_request *req, struct http_response *res)
{
    with_body(req, res, catalog_view_register);
}

void api_view_load(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    struct catalog_table_result r = {0};

    if (!api_begin(req, res, &c, CALL_NS | CALL_NAME | CALL_VIEW))
        goto out;
    if (catalog_view_load(c.ctx, &c.wh, c.ns, c.name, &r, &c.err))
        api_fail(res, &c);
    else
        api_send_table(res, &r);
out:
    catalog_table_result_cleanup(&r);
    api_end(&c);
}

void api_view_replace(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    struct catalog_table_result r = {0};

    if (!api_begin(req, res, &c, CALL_NS | CALL_NAME | CALL_VIEW | CALL_BODY))
        goto out;
    if (catalog_view_commit(c.ctx, &c.wh, c.ns, c.name, c.body, &r, &c.err))
        api_fail(res, &c);
    else
        api_send_table(res, &r);
out:
    catalog_table_result_cleanup(&r);
    api_end(&c);
}

void api_view_exists(struct http_request *req, struct http_response *res)
{
    struct api_call c;

    if (!api_begin(req, res, &c, CALL_NS | CALL_NAME | CALL_VIEW))
        goto out;
    if (catalog_view_exists(c.ctx, &c.wh, c.ns, c.name, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 204, NULL);
out:
    api_end(&c);
}

void api_view_drop(struct http_request *req, struct http_response *res)
{
    struct api_call c;

    if (!api_begin(req, res, &c, CALL_NS | CALL_NAME | CALL_VIEW))
        goto out;
    if (catalog_view_drop(c.ctx, &c.wh, c.ns, c.name, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 204, NULL);
out:
    api_end(&c);
}

void api_view_rename(struct http_request *req, struct http_response *res)
{
    struct api_call c;

    if (!api_begin(req, res, &c, CALL_BODY))
        goto out;
    if (catalog_view_rename(c.ctx, &c.wh, c.body, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 204, NULL);
out:
    api_end(&c);
}

void api_transaction_commit(struct http_request *req, struct http_response *res)
{
    struct api_call c;

    if (!api_begin(req, res, &c, CALL_BODY))
        goto out;
    if (catalog_transaction_commit(c.ctx, &c.wh, c.body, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 204, NULL);
out:
    api_end(&c);
}
