/* routes.c - the route table, /v1/config's endpoint list, and worker contexts. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/alloc.h"
#include "core/log.h"

#define NS "/namespaces/{namespace}"
#define TBL NS "/tables/{table}"
#define VIEW NS "/views/{view}"

/*
 * Every Iceberg route twice: under /v1/{prefix}/ (what /v1/config tells
 * clients to use) and without a prefix, for the default warehouse. The
 * unprefixed forms come first so "/v1/namespaces/x" is never read as a
 * warehouse called "namespaces" (such warehouse names are refused).
 */
/* Mutating handlers run through api_with_idempotency. */
#define IDEMPOTENT(fn)                                                                             \
    static void fn##_idem(struct http_request *req, struct http_response *res)                     \
    {                                                                                              \
        api_with_idempotency(req, res, fn);                                                        \
    }
IDEMPOTENT(api_ns_create)
IDEMPOTENT(api_ns_drop)
IDEMPOTENT(api_ns_props)
IDEMPOTENT(api_table_create)
IDEMPOTENT(api_table_register)
IDEMPOTENT(api_table_commit)
IDEMPOTENT(api_table_drop)
IDEMPOTENT(api_table_rename)
IDEMPOTENT(api_transaction_commit)
IDEMPOTENT(api_view_create)
IDEMPOTENT(api_view_replace)
IDEMPOTENT(api_view_drop)
IDEMPOTENT(api_view_rename)
IDEMPOTENT(api_view_register)

#define ICEBERG_ROUTES(P)                                                                          \
    {"GET", P "/namespaces", api_ns_list}, {"POST", P "/namespaces", api_ns_create_idem},          \
        {"GET", P NS, api_ns_load}, {"HEAD", P NS, api_ns_exists},                                 \
        {"DELETE", P NS, api_ns_drop_idem}, {"POST", P NS "/properties", api_ns_props_idem},       \
        {"GET", P NS "/tables", api_table_list}, {"POST", P NS "/tables", api_table_create_idem},  \
        {"POST", P NS "/register", api_table_register_idem}, {"GET", P TBL, api_table_load},       \
        {"POST", P TBL, api_table_commit_idem}, {"DELETE", P TBL, api_table_drop_idem},            \
        {"HEAD", P TBL, api_table_exists}, {"GET", P TBL "/credentials", api_table_credentials},   \
        {"POST", P TBL "/sign", api_table_sign},                                                   \
        {"POST", P "/tables/rename", api_table_rename_idem},                                       \
        {"POST", P TBL "/metrics", api_table_metrics},                                             \
        {"POST", P "/transactions/commit", api_transaction_commit_idem},                           \
        {"GET", P NS "/views", api_view_list}, {"POST", P NS "/views", api_view_create_idem},      \
        {"GET", P VIEW, api_view_load}, {"POST", P VIEW, api_view_replace_idem},                   \
        {"DELETE", P VIEW, api_view_drop_idem}, {"HEAD", P VIEW, api_view_exists},                 \
        {"POST", P "/views/rename", api_view_rename_idem},                                         \
    {                                                                                              \
        "POST", P NS "/register-view", api_view_register_idem                                      \
    }

static const struct http_route routes[] = {
    {"GET", "/v1/config", api_config},
    {"GET", "/health/live", api_health_live},
    {"GET", "/health/ready", api_health_ready},
    {"GET", "/management/v1/warehouses", api_wh_list},
    {"POST", "/management/v1/warehouses", api_wh_create},
    {"GET", "/management/v1/warehouses/{warehouse}", api_wh_get},
    {"DELETE", "/management/v1/warehouses/{warehouse}", api_wh_delete},
    {"PUT", "/management/v1/warehouses/{warehouse}/storage", api_wh_set_storage},
    ICEBERG_ROUTES("/v1"),
    ICEBERG_ROUTES("/v1/{prefix}"),
    {NULL, NULL, NULL},
};

const struct http_route *api_routes(void)
{
    return routes;
}

json_t *api_endpoints(void)
{
    json_t *list = json_array();

    for (const struct http_route *r = routes; r->method; r++) {
        if (strncmp(r->tmpl, "/v1/{prefix}/", 13) != 0)
            continue;
        char *s = xasprintf("%s %s", r->method, r->tmpl);
        json_array_append_new(list, json_string(s));
        free(s);
    }
    return list;
}

void *api_worker_init(void *app)
{
    struct catalog_ctx *ctx = NULL;
    struct error err;

    error_clear(&err);
    if (catalog_ctx_open(app, &ctx, &err)) {
        /* Handlers answer 503 for a worker without a store connection. */
        log_error("worker cannot open the store: %s", err.msg);
        return NULL;
    }
    return ctx;
}

void api_worker_fini(void *worker)
{
    catalog_ctx_close(worker);
}
