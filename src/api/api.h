/*
 * api.h - the Iceberg REST request handlers and their route table.
 *
 * Handlers parse the path, query and body, call one catalog/ operation and
 * render its result or the Iceberg ErrorModel. The HTTP layer calls them on
 * worker threads whose context is a struct catalog_ctx (api_worker_init).
 */
#ifndef SERAC_API_API_H
#define SERAC_API_API_H

#include <jansson.h>

#include "catalog/catalog.h"
#include "http/http.h"

/* api_routes returns the route table, terminated by an entry with method NULL. */
const struct http_route *api_routes(void);

/* api_worker_init opens a worker's catalog context; app is the struct catalog. */
void *api_worker_init(void *app);
/*
 * api_batch_begin / api_batch_end are the HTTP batch hooks for the table
 * reads marked batch in the route table: on a store that reads several
 * pointers at once (store_batches_reads), the pointers of all the tables of a
 * round are read in one store round trip (catalog_prefetch_tables); on the
 * others they do nothing and each read reads its own.
 */
void api_batch_begin(void *worker, struct http_request *const *reqs, size_t n);
void api_batch_end(void *worker);
/* api_worker_fini closes a context from api_worker_init. */
void api_worker_fini(void *worker);

/*
 * api_endpoints returns the `endpoints` list of /v1/config (new reference):
 * "VERB /v1/{prefix}/..." for every Iceberg route served.
 */
json_t *api_endpoints(void);

/*
 * api_decode_namespace turns a raw {namespace} path segment into a level
 * array (new reference): split on %1F (either case) if the segment has one,
 * otherwise on sep (the advertised separator, one character, or NULL/"\x1f"
 * for none), matched percent-encoded; then percent-decode each level ('+' is
 * a space, as Java's URLEncoder writes it) and validate it (rest-spec.md §3).
 * ST_INVALID for an empty level, a bad escape or an invalid name.
 */
enum status api_decode_namespace(const char *raw, const char *sep, json_t **levels,
                                 struct error *err);

/* api_decode_name percent-decodes a raw {table} / {view} segment and validates it. */
enum status api_decode_name(const char *what, const char *raw, char **name, struct error *err);

/*
 * api_parse_parent splits a decoded `parent` query value on 0x1F (or, when
 * it has none, on the advertised separator sep) into a level array (new
 * reference); NULL or "" gives an empty array (top level).
 */
enum status api_parse_parent(const char *parent, const char *sep, json_t **levels,
                             struct error *err);

#endif
