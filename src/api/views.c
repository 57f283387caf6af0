/* views.c - view and multi-table transaction handlers. */
#include <string.h>

#include "api/internal.h"

void api_view_list(struct http_request *req, struct http_response *res)
{
    api_run_list(req, res, catalog_view_list);
}

void api_view_create(struct http_request *req, struct http_response *res)
{
    api_run_ns_body(req, res, catalog_view_create);
}

void api_view_register(struct http_request *req, struct http_response *res)
{
    api_run_ns_body(req, res, catalog_view_register);
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
    api_run_name_body(req, res, CALL_VIEW, catalog_view_commit);
}

void api_view_exists(struct http_request *req, struct http_response *res)
{
    api_run_name_204(req, res, CALL_VIEW, catalog_view_exists);
}

void api_view_drop(struct http_request *req, struct http_response *res)
{
    api_run_name_204(req, res, CALL_VIEW, catalog_view_drop);
}

void api_view_rename(struct http_request *req, struct http_response *res)
{
    api_run_body_204(req, res, catalog_view_rename);
}

void api_transaction_commit(struct http_request *req, struct http_response *res)
{
    api_run_body_204(req, res, catalog_transaction_commit);
}
