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
    {"GET", P "/namespaces", api_ns_list, false},                                                  \
        {"POST", P "/namespaces", api_ns_create_idem, false}, {"GET", P NS, api_ns_load, false},   \
        {"HEAD", P NS, api_ns_exists, false}, {"DELETE", P NS, api_ns_drop_idem, false},           \
        {"POST", P NS "/properties", api_ns_props_idem, false},                                    \
        {"GET", P NS "/tables", api_table_list, false},                                            \
        {"POST", P NS "/tables", api_table_create_idem, false},                                    \
        {"POST", P NS "/register", api_table_register_idem, false},                                \
        {"GET", P TBL, api_table_load, true}, {"POST", P TBL, api_table_commit_idem, false},       \
        {"DELETE", P TBL, api_table_drop_idem, false}, {"HEAD", P TBL, api_table_exists, true},    \
        {"GET", P TBL "/credentials", api_table_credentials, false},                               \
        {"POST", P TBL "/sign", api_table_sign, false},                                            \
        {"POST", P "/tables/rename", api_table_rename_idem, false},                                \
        {"POST", P TBL "/metrics", api_table_metrics, false},                                      \
        {"POST", P "/transactions/commit", api_transaction_commit_idem, false},                    \
        {"GET", P NS "/views", api_view_list, false},                                              \
        {"POST", P NS "/views", api_view_create_idem, false},                                      \
        {"GET", P VIEW, api_view_load, false}, {"POST", P VIEW, api_view_replace_idem, false},     \
        {"DELETE", P VIEW, api_view_drop_idem, false}, {"HEAD", P VIEW, api_view_exists, false},   \
        {"POST", P "/views/rename", api_view_rename_idem, false},                                  \
    {                                                                                              \
        "POST", P NS "/register-view", api_view_register_idem, false                               \
    }

static const struct http_route routes[] = {
    {"GET", "/v1/config", api_config, false},
    {"GET", "/health/live", api_health_live, false},
    {"GET", "/health/ready", api_health_ready, false},
    {"GET", "/management/v1/warehouses", api_wh_list, false},
    {"POST", "/management/v1/warehouses", api_wh_create, false},
    {"GET", "/management/v1/warehouses/{warehouse}", api_wh_get, false},
    {"DELETE", "/management/v1/warehouses/{warehouse}", api_wh_delete, false},
    {"PUT", "/management/v1/warehouses/{warehouse}/storage", api_wh_set_storage, false},
    ICEBERG_ROUTES("/v1"),
    ICEBERG_ROUTES("/v1/{prefix}"),
    {NULL, NULL, NULL, false},
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

void api_batch_begin(void *worker, struct http_request *const *reqs, size_t n)
{
    struct catalog_ctx *ctx = worker;
    struct catalog_table_ref *refs;
    struct catalog_wh *whs;
    json_t **nss;
    char **names;
    size_t k = 0;

    if (!store_batches_reads(ctx->cat->store))
        return;
    refs = xcalloc(n, sizeof(*refs));
    whs = xcalloc(n, sizeof(*whs));
    nss = xcalloc(n, sizeof(*nss));
    names = xcalloc(n, sizeof(*names));

    /* Only well-formed table reads are read ahead; the others fail in their handler. */
    for (size_t i = 0; i < n; i++) {
        struct http_request *req = reqs[i];
        size_t p = api_prefixed(req);
        struct error err;

        error_clear(&err);
        if (api_resolve_warehouse(req, ctx, &whs[k], &err))
            continue;
        if (api_decode_namespace(req->params[p], ctx->cat->opts.namespace_separator, &nss[k],
                                 &err) ||
            api_decode_name("table", req->params[p + 1], &names[k], &err)) {
            catalog_wh_cleanup(&whs[k]);
            json_decref(nss[k]);
            nss[k] = NULL;
            continue;
        }
        refs[k] = (struct catalog_table_ref){.wh = whs[k].id, .ns = nss[k], .name = names[k]};
        k++;
    }
    if (k)
        catalog_prefetch_tables(ctx, refs, k);
    for (size_t i = 0; i < k; i++) {
        catalog_wh_cleanup(&whs[i]);
        json_decref(nss[i]);
        free(names[i]);
    }
    free(refs);
    free(whs);
    free(nss);
    free(names);
}

void api_batch_end(void *worker)
{
    catalog_prefetch_end(worker);
}
