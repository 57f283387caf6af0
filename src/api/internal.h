/* internal.h - what the api/ handler files share. */
#ifndef SERAC_API_INTERNAL_H
#define SERAC_API_INTERNAL_H

#include "api/api.h"

enum {
    CALL_NS = 1,   /* the route has {namespace} */
    CALL_NAME = 2, /* the route has {table} or {view} */
    CALL_BODY = 4, /* the request needs a JSON object body */
    CALL_VIEW = 8, /* with CALL_NAME: the name is a view's (for messages) */
};

/* The parsed parts of one request, for one handler. */
struct api_call {
    struct catalog_ctx *ctx;
    struct catalog_wh wh;
    json_t *ns;   /* level array, with CALL_NS */
    char *name;   /* decoded name, with CALL_NAME */
    json_t *body; /* parsed object, with CALL_BODY */
    struct error err;
};

/*
 * api_worker starts c on the request's worker context (503 with
 * Retry-After when the worker has no store connection) and sets the
 * request's store deadline. api_begin starts with it.
 */
bool api_worker(struct http_request *req, struct http_response *res, struct api_call *c);
/* api_prefixed says whether req came through a /v1/{prefix}/ route (params[0] is the prefix). */
bool api_prefixed(const struct http_request *req);
/*
 * api_begin resolves the warehouse from {prefix} (or the default), decodes
 * the parts flags ask for, and on failure renders the error into res and
 * returns false. Always pair with api_end.
 */
bool api_begin(struct http_request *req, struct http_response *res, struct api_call *c, int flags);
/*
 * api_resolve_warehouse resolves the warehouse a request names by {prefix}
 * (or the default warehouse for unprefixed routes).
 */
enum status api_resolve_warehouse(struct http_request *req, struct catalog_ctx *ctx,
                                  struct catalog_wh *wh, struct error *err);

/*
 * api_with_idempotency runs handler honouring the request's Idempotency-Key
 * (record, replay, execute once); without a key it just runs handler.
 */
void api_with_idempotency(struct http_request *req, struct http_response *res,
                          http_handler_fn handler);

/* api_end frees what api_begin made. */
void api_end(struct api_call *c);

/* api_fail renders c->err (set by a failed catalog call) into res. */
void api_fail(struct http_response *res, struct api_call *c);

/* api_parse_bool parses a boolean query value case-insensitively ("true"/"false"). */
enum status api_parse_bool(const char *value, const char *name, bool *out, struct error *err);
/* api_parse_page reads pageToken and pageSize. */
enum status api_parse_page(struct http_request *req, const char **token, size_t *size,
                           struct error *err);
/* api_send_table renders a LoadTableResult-like body with its ETag. */
void api_send_table(struct http_response *res, struct catalog_table_result *r);

/* Catalog call shapes, and runners that parse, call and render them (shapes.c). */
typedef enum status (*api_list_fn)(struct catalog_ctx *, const struct catalog_wh *,
                                   const json_t *ns, const char *token, size_t size, json_t **out,
                                   struct error *);
typedef enum status (*api_ns_body_fn)(struct catalog_ctx *, const struct catalog_wh *,
                                      const json_t *ns, const json_t *body,
                                      struct catalog_table_result *, struct error *);
typedef enum status (*api_name_body_fn)(struct catalog_ctx *, const struct catalog_wh *,
                                        const json_t *ns, const char *name, const json_t *body,
                                        struct catalog_table_result *, struct error *);
typedef enum status (*api_name_fn)(struct catalog_ctx *, const struct catalog_wh *,
                                   const json_t *ns, const char *name, struct error *);
typedef enum status (*api_body_fn)(struct catalog_ctx *, const struct catalog_wh *,
                                   const json_t *body, struct error *);

/* GET a list: ListTablesResponse-like output, 200. */
void api_run_list(struct http_request *req, struct http_response *res, api_list_fn fn);
/* POST to a namespace with a body: a LoadTableResult/LoadViewResult, 200. */
void api_run_ns_body(struct http_request *req, struct http_response *res, api_ns_body_fn fn);
/* POST to a named object with a body: a result with ETag, 200. flags may add CALL_VIEW. */
void api_run_name_body(struct http_request *req, struct http_response *res, int flags,
                       api_name_body_fn fn);
/* A named object, no body: 204. flags may add CALL_VIEW. */
void api_run_name_204(struct http_request *req, struct http_response *res, int flags,
                      api_name_fn fn);
/* A body, no path parts: 204. */
void api_run_body_204(struct http_request *req, struct http_response *res, api_body_fn fn);

void api_config(struct http_request *req, struct http_response *res);
void api_health_live(struct http_request *req, struct http_response *res);
void api_health_ready(struct http_request *req, struct http_response *res);

void api_ns_list(struct http_request *req, struct http_response *res);
void api_ns_create(struct http_request *req, struct http_response *res);
void api_ns_load(struct http_request *req, struct http_response *res);
void api_ns_exists(struct http_request *req, struct http_response *res);
void api_ns_drop(struct http_request *req, struct http_response *res);
void api_ns_props(struct http_request *req, struct http_response *res);

void api_table_list(struct http_request *req, struct http_response *res);
void api_table_create(struct http_request *req, struct http_response *res);
void api_table_load(struct http_request *req, struct http_response *res);
void api_table_exists(struct http_request *req, struct http_response *res);
void api_table_commit(struct http_request *req, struct http_response *res);
void api_table_drop(struct http_request *req, struct http_response *res);
void api_table_register(struct http_request *req, struct http_response *res);
void api_table_rename(struct http_request *req, struct http_response *res);
void api_table_metrics(struct http_request *req, struct http_response *res);
void api_table_credentials(struct http_request *req, struct http_response *res);
void api_table_sign(struct http_request *req, struct http_response *res);
void api_transaction_commit(struct http_request *req, struct http_response *res);

void api_wh_list(struct http_request *req, struct http_response *res);
void api_wh_create(struct http_request *req, struct http_response *res);
void api_wh_get(struct http_request *req, struct http_response *res);
void api_wh_delete(struct http_request *req, struct http_response *res);
void api_wh_set_storage(struct http_request *req, struct http_response *res);

void api_view_list(struct http_request *req, struct http_response *res);
void api_view_create(struct http_request *req, struct http_response *res);
void api_view_load(struct http_request *req, struct http_response *res);
void api_view_exists(struct http_request *req, struct http_response *res);
void api_view_replace(struct http_request *req, struct http_response *res);
void api_view_drop(struct http_request *req, struct http_response *res);
void api_view_rename(struct http_request *req, struct http_response *res);
void api_view_register(struct http_request *req, struct http_response *res);

#endif
