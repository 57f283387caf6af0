/* namespaces.c - namespace handlers. */
#include <string.h>

#include "api/internal.h"
#include "core/jsonx.h"

void api_ns_list(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *parent = NULL, *out = NULL;
    const char *token;
    size_t size;

    if (!api_begin(req, res, &c, 0))
        goto out;
    if (api_parse_page(req, &token, &size, &c.err) ||
        api_parse_parent(http_query(req, "parent"), c.ctx->cat->opts.namespace_separator, &parent,
                         &c.err) ||
        catalog_ns_list(c.ctx, &c.wh, parent, token, size, &out, &c.err)) {
        api_fail(res, &c);
        goto out;
    }
    http_response_json(res, 200, out);
out:
    json_decref(parent);
    api_end(&c);
}

void api_ns_create(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *levels = NULL, *props = NULL, *out = NULL;
    const char *what = "CreateNamespaceRequest";

    if (!api_begin(req, res, &c, CALL_BODY))
        goto out;
    if (jsonx_get_arr(c.body, what, "namespace", true, &levels, &c.err) ||
        catalog_check_namespace(levels, &c.err) ||
        jsonx_get_str_map(c.body, what, "properties", false, &props, &c.err)) {
        api_fail(res, &c);
        goto out;
    }
    if (!props)
        props = json_object();
    else
        json_incref(props);
    if (catalog_ns_create(c.ctx, &c.wh, levels, props, &out, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 200, out);
    json_decref(props);
out:
    api_end(&c);
}

void api_ns_load(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *out = NULL;

    if (!api_begin(req, res, &c, CALL_NS))
        goto out;
    if (catalog_ns_load(c.ctx, &c.wh, c.ns, &out, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 200, out);
out:
    api_end(&c);
}

void api_ns_exists(struct http_request *req, struct http_response *res)
{
    struct api_call c;

    if (!api_begin(req, res, &c, CALL_NS))
        goto out;
    if (catalog_ns_exists(c.ctx, &c.wh, c.ns, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 204, NULL);
out:
    api_end(&c);
}

void api_ns_drop(struct http_request *req, struct http_response *res)
{
    struct api_call c;

    if (!api_begin(req, res, &c, CALL_NS))
        goto out;
    if (catalog_ns_drop(c.ctx, &c.wh, c.ns, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 204, NULL);
out:
    api_end(&c);
}

void api_ns_props(struct http_request *req, struct http_response *res)
{
    struct api_call c;
    json_t *out = NULL;

    if (!api_begin(req, res, &c, CALL_NS | CALL_BODY))
        goto out;
    if (catalog_ns_update_props(c.ctx, &c.wh, c.ns, c.body, &out, &c.err))
        api_fail(res, &c);
    else
        http_response_json(res, 200, out);
out:
    api_end(&c);
}
