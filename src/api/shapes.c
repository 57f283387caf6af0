/*
 * shapes.c - the few shapes every handler has: parse the parts a route
 * names, call one catalog function, render its result or the ErrorModel.
 */
#include "api/internal.h"

void api_run_list(struct http_request *req, struct http_response *res, api_list_fn fn)
{
    struct api_call c;
    json_t *out = NULL;
    const char *token;
    size_t size;

    if (!api_begin(req, res, &c, CALL_NS))
        goto out;
    if (api_parse_page(req, &token, &size, &c.err) ||
        fn(c.ctx, &c.wh, c.ns, token, size, &out, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 200, out);
out:
    api_end(&c);
}

void api_run_ns_body(struct http_request *req, struct http_response *res, api_ns_body_fn fn)
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

void api_run_name_body(struct http_request *req, struct http_response *res, int flags,
                       api_name_body_fn fn)
{
    struct api_call c;
    struct catalog_table_result r = {0};

    if (!api_begin(req, res, &c, flags | CALL_NS | CALL_NAME | CALL_BODY))
        goto out;
    if (fn(c.ctx, &c.wh, c.ns, c.name, c.body, &r, &c.err))
        api_fail(res, &c);
    else
        api_send_table(res, &r);
out:
    catalog_table_result_cleanup(&r);
    api_end(&c);
}

void api_run_name_204(struct http_request *req, struct http_response *res, int flags,
                      api_name_fn fn)
{
    struct api_call c;

    if (!api_begin(req, res, &c, flags | CALL_NS | CALL_NAME))
        goto out;
    if (fn(c.ctx, &c.wh, c.ns, c.name, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 204, NULL);
out:
    api_end(&c);
}

void api_run_body_204(struct http_request *req, struct http_response *res, api_body_fn fn)
{
    struct api_call c;

    if (!api_begin(req, res, &c, CALL_BODY))
        goto out;
    if (fn(c.ctx, &c.wh, c.body, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 204, NULL);
out:
    api_end(&c);
}
