/*
 * catalog.h - the catalog's use cases: warehouses, namespaces, tables and the
 * commit engine. Handlers in api/ parse requests and call exactly one of
 * these; everything here works through the store/ and io/ interfaces.
 *
 * A struct catalog is shared by every thread. Each worker thread owns a
 * struct catalog_ctx holding its own store connection. Results are new JSON
 * trees (or text) in the shapes of the REST spec's response schemas; errors
 * carry the Iceberg exception type and Java's wording (rest-spec.md §12).
 */
#ifndef SERAC_CATALOG_CATALOG_H
#define SERAC_CATALOG_CATALOG_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "io/fileio.h"
#include "store/store.h"

#define CATALOG_COMMIT_LOCKS 256
#define CATALOG_WH_TTL_MS 1000

struct catalog_options {
    const char *store_url;           /* e.g. "sqlite:serac-data/catalog.db" */
    const char *warehouse_name;      /* the default warehouse's name, "default" */
    const char *warehouse_location;  /* its base location, e.g. "file:///srv/serac/warehouse" */
    const char *warehouse_storage;   /* its storage settings (JSON object text); NULL = as stored */
    size_t max_metadata_bytes;       /* cap on metadata files read (register, load) */
    unsigned commit_attempts;        /* compare-and-swap attempts per commit (>= 1) */
    unsigned default_page_size;      /* page size when a client sends pageToken but no pageSize */
    unsigned max_page_size;          /* the largest page served */
    int64_t idempotency_lifetime_ms; /* how long Idempotency-Key records live; 0 = off */
    int64_t job_interval_ms;         /* how often background jobs run (default 60 s) */
    const char *namespace_separator; /* one character advertised to clients; NULL = 0x1F */
    int64_t request_timeout_ms;      /* store statements of one request; 0 = no limit */
};

struct storage_registry;
struct imm_cache;
struct storage_entry;

struct catalog {
    struct catalog_options opts;
    struct store *store;
    struct storage_registry *storage; /* a fileio per warehouse, built from its settings */
    /*
     * Resolved warehouses, kept for CATALOG_WH_TTL_MS: every request names
     * one, and they change rarely. Cleared by this node's warehouse changes
     * and by "warehouse" change hints from other nodes; the TTL bounds what
     * a missed hint (or `serac admin` on the store) can leave stale.
     */
    /* snapshots=refs forms of metadata files, by location (immutable, so never stale). */
    struct imm_cache *refs_cache;
    /* each table's newest known metadata text with its location (catalog_text_get) */
    struct imm_cache *text_cache;
    /* each table's newest parsed metadata tree with its location, shared read-only by commits */
    struct imm_cache *meta_cache;
    pthread_rwlock_t wh_cache_lock;
    struct wh_cache_entry *wh_cache;
    size_t wh_cache_n;
    /*
     * Commits to one table within this process run one at a time: the stripe
     * of hash(warehouse, namespace, name) is held across read, apply, write
     * and compare-and-swap, so local writers queue instead of racing. Other
     * nodes still race through the store's compare-and-swap.
     */
    pthread_mutex_t commit_locks[CATALOG_COMMIT_LOCKS];
    /*
     * Background threads, stopped by catalog_close: the job runner (expired
     * idempotency records; with PostgreSQL only on the node holding the jobs
     * lease) and the change listener (PostgreSQL LISTEN/NOTIFY hints).
     */
    pthread_t jobs, listener;
    bool jobs_running, listener_running;
    pthread_mutex_t jobs_lock; /* protects jobs_stop, lease_held, changes_seen */
    pthread_cond_t jobs_wake;
    bool jobs_stop;
    bool lease_held;      /* this node runs the periodic jobs */
    int64_t changes_seen; /* change hints received from other nodes (and this one) */
};

/* Per-worker state. */
struct catalog_ctx {
    struct catalog *cat;
    struct store_conn *conn;
    /* Per request: */
    struct fileio *io;   /* the resolved warehouse's storage (catalog_wh_resolve sets it) */
    unsigned delegation; /* X-Iceberg-Access-Delegation modes (catalog_set_delegation) */
};

/* A resolved warehouse (borrowed strings valid for the request). */
struct catalog_wh {
    int64_t id;
    char *name;
    char *location;
    struct storage_entry *storage; /* borrowed from the catalog; valid until catalog_close */
};

/*
 * catalog_open opens the store (applying migrations), makes sure the default
 * warehouse exists, and returns the shared catalog in *out.
 */
enum status catalog_open(const struct catalog_options *opts, struct catalog **out,
                         struct error *err);
/*
 * catalog_start_jobs starts the background job thread (idempotency record
 * cleanup every job_interval_ms). catalog_close stops it.
 */
enum status catalog_start_jobs(struct catalog *cat, struct error *err);
/* catalog_run_jobs runs every background job once on ctx (also used by tests). */
void catalog_run_jobs(struct catalog_ctx *ctx);
/* catalog_stop_jobs stops the background threads (catalog_close calls it). */
void catalog_stop_jobs(struct catalog *cat);
/* catalog_jobs_state reports whether this node holds the jobs lease and how many hints it saw. */
void catalog_jobs_state(struct catalog *cat, bool *lease_held, int64_t *changes_seen);

/* catalog_close frees cat; every ctx must be closed first. */
void catalog_close(struct catalog *cat);

/* catalog_ctx_open opens a worker's context (its own store connection). */
enum status catalog_ctx_open(struct catalog *cat, struct catalog_ctx **out, struct error *err);
/* catalog_ctx_close frees ctx (NULL is fine). */
void catalog_ctx_close(struct catalog_ctx *ctx);

/* catalog_ready checks the store answers (for /health/ready). */
enum status catalog_ready(struct catalog_ctx *ctx, struct error *err);

/*
 * catalog_wh_resolve finds a warehouse by name; name NULL or "" means the
 * default. ST_NOT_FOUND (ET_NO_SUCH_WAREHOUSE) otherwise. Free with
 * catalog_wh_cleanup.
 */
enum status catalog_wh_resolve(struct catalog_ctx *ctx, const char *name, struct catalog_wh *out,
                               struct error *err);
void catalog_wh_cleanup(struct catalog_wh *wh);
/* catalog_wh_invalidate forgets every resolved warehouse (after a warehouse changed). */
void catalog_wh_invalidate(struct catalog *cat);

/*
 * catalog_set_delegation records the request's X-Iceberg-Access-Delegation
 * header (NULL = none) for the table results that follow on ctx.
 */
void catalog_set_delegation(struct catalog_ctx *ctx, const char *header);

/* --- warehouse management (/management/v1/warehouses) --- */

/*
 * catalog_wh_create creates a warehouse from {"name", "location",
 * "storage"?}: the settings are validated and the storage probed (an object
 * written, read and deleted under location) unless probe is false. Returns
 * the warehouse as catalog_wh_get does.
 */
enum status catalog_wh_create(struct catalog_ctx *ctx, const json_t *request, bool probe,
                              json_t **out, struct error *err);
/* catalog_wh_list returns {"warehouses": [...]}, secrets redacted. */
enum status catalog_wh_list(struct catalog_ctx *ctx, json_t **out, struct error *err);
/* catalog_wh_get returns {"name", "location", "storage" (redacted), "created-at-ms", "default"}. */
enum status catalog_wh_get(struct catalog_ctx *ctx, const char *name, json_t **out,
                           struct error *err);
/* catalog_wh_set_storage replaces a warehouse's storage settings (validated and probed like
 * create). */
enum status catalog_wh_set_storage(struct catalog_ctx *ctx, const char *name, const json_t *storage,
                                   bool probe, json_t **out, struct error *err);
/* catalog_wh_delete deletes an empty warehouse other than the default one. */
enum status catalog_wh_delete(struct catalog_ctx *ctx, const char *name, struct error *err);

/* catalog_config returns the CatalogConfig for warehouse (NULL = default). */
enum status catalog_config(struct catalog_ctx *ctx, const char *warehouse, json_t **out,
                           struct error *err);

/*
 * Identifiers. A namespace is a JSON array of level strings; ns_key is its
 * store form (levels joined by 0x1F). Names are validated by the api layer.
 */

/* --- namespaces --- */
enum status catalog_ns_create(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *levels, const json_t *properties, json_t **out,
                              struct error *err);
enum status catalog_ns_load(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                            const json_t *levels, json_t **out, struct error *err);
enum status catalog_ns_exists(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *levels, struct error *err);
/*
 * catalog_ns_list lists the children of parent (NULL or empty = top level).
 * page_token NULL: everything in one response, no next-page-token. Otherwise
 * ("" opens a paged listing) at most page_size (0 = the default) per page.
 */
enum status catalog_ns_list(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                            const json_t *parent, const char *page_token, size_t page_size,
                            json_t **out, struct error *err);
enum status catalog_ns_drop(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                            const json_t *levels, struct error *err);
enum status catalog_ns_update_props(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                    const json_t *levels, const json_t *request, json_t **out,
                                    struct error *err);

/* --- tables --- */

/* The body of a LoadTableResult and its ETag, as text (the metadata is spliced in unparsed). */
struct catalog_table_result {
    char *body; /* owned JSON text */
    char etag[40];
};

void catalog_table_result_cleanup(struct catalog_table_result *r);

enum status catalog_table_create(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                 const json_t *ns, const json_t *request,
                                 struct catalog_table_result *out, struct error *err);
/*
 * catalog_table_load loads ns.name. refs_only filters snapshots to those a
 * ref points at. When if_none_match equals the current ETag, returns ST_OK
 * with *not_modified set and no body.
 */
enum status catalog_table_load(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               const json_t *ns, const char *name, bool refs_only,
                               const char *if_none_match, bool *not_modified,
                               struct catalog_table_result *out, struct error *err);
/* A table named by a request: its warehouse, namespace levels and name. */
struct catalog_table_ref {
    int64_t wh;
    const json_t *ns;
    const char *name;
};
/*
 * catalog_prefetch_tables reads the pointers of n tables in one store round
 * trip for the loads and existence checks about to run on ctx, all of which
 * arrived before this call (see store_prefetch_heads); catalog_prefetch_end
 * drops what they did not use. A failure only costs the batching: each load
 * then reads the store itself and reports what it finds.
 */
void catalog_prefetch_tables(struct catalog_ctx *ctx, const struct catalog_table_ref *refs,
                             size_t n);
void catalog_prefetch_end(struct catalog_ctx *ctx);
enum status catalog_table_exists(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                 const json_t *ns, const char *name, struct error *err);
enum status catalog_table_list(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               const json_t *ns, const char *page_token, size_t page_size,
                               json_t **out, struct error *err);
enum status catalog_table_drop(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               const json_t *ns, const char *name, bool purge, struct error *err);
enum status catalog_table_register(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                   const json_t *ns, const json_t *request,
                                   struct catalog_table_result *out, struct error *err);
enum status catalog_table_rename(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                 const json_t *request, struct error *err);
/*
 * catalog_table_commit runs the commit protocol for ns.name with a
 * CommitTableRequest: requirements checked against the newest metadata,
 * updates applied, a new metadata file written, the pointer swapped; on a
 * lost compare-and-swap it starts over from the newest metadata (bounded).
 * Returns a CommitTableResponse.
 */
enum status catalog_table_commit(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                 const json_t *ns, const char *name, const json_t *request,
                                 struct catalog_table_result *out, struct error *err);
/*
 * catalog_transaction_commit commits a CommitTransactionRequest: every
 * table's requirements are checked against its newest metadata and every
 * pointer moves in one store transaction, or none does (rest-spec.md §14).
 */
enum status catalog_transaction_commit(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                       const json_t *request, struct error *err);
/*
 * catalog_table_credentials returns a LoadCredentialsResponse: credentials
 * for the table's location when its warehouse vends them, else empty.
 */
enum status catalog_table_credentials(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                      const json_t *ns, const char *name, json_t **out,
                                      struct error *err);
/*
 * catalog_table_sign signs a RemoteSignRequest for the table ns.name (or,
 * while it does not exist yet, for its default location: staged creates
 * write data before the table exists). Requests outside that location are
 * 403 ForbiddenException.
 */
enum status catalog_table_sign(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               const json_t *ns, const char *name, const json_t *request,
                               json_t **out, struct error *err);
/* catalog_table_metrics accepts a ReportMetricsRequest for an existing table. */
enum status catalog_table_metrics(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                  const json_t *ns, const char *name, const json_t *report,
                                  struct error *err);

/*
 * catalog_check_name validates one name (a table, view or namespace level):
 * non-empty, at most 255 bytes, valid UTF-8 without control characters and
 * without '/'. ST_INVALID (ET_BAD_REQUEST) naming `what` otherwise.
 */
enum status catalog_check_name(const char *what, const char *name, struct error *err);
/* catalog_check_namespace validates a level array: 1 to 16 valid names. */
enum status catalog_check_namespace(const json_t *levels, struct error *err);

/* --- views (one name space with tables per namespace) --- */

/* Results are LoadViewResult bodies as text, like tables'. */
enum status catalog_view_create(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                const json_t *ns, const json_t *request,
                                struct catalog_table_result *out, struct error *err);
enum status catalog_view_load(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *ns, const char *name, struct catalog_table_result *out,
                              struct error *err);
enum status catalog_view_exists(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                const json_t *ns, const char *name, struct error *err);
enum status catalog_view_list(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *ns, const char *page_token, size_t page_size,
                              json_t **out, struct error *err);
enum status catalog_view_drop(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *ns, const char *name, struct error *err);
enum status catalog_view_rename(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                const json_t *request, struct error *err);
enum status catalog_view_register(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                  const json_t *ns, const json_t *request,
                                  struct catalog_table_result *out, struct error *err);
/* catalog_view_commit replaces a view with a CommitViewRequest (the commit engine). */
enum status catalog_view_commit(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                const json_t *ns, const char *name, const json_t *request,
                                struct catalog_table_result *out, struct error *err);

/* --- helpers shared by the catalog modules --- */

/* catalog_ns_key returns the store key of levels (0x1F-joined, owned). */
char *catalog_ns_key(const json_t *levels);
/* catalog_ns_dotted returns levels joined with '.' for messages (owned). */
char *catalog_ns_dotted(const json_t *levels);
/* catalog_ns_from_key turns a store key back into a level array (new reference). */
json_t *catalog_ns_from_key(const char *key);
/* catalog_page_encode / decode turn a store key into an opaque token and back (owned). */
char *catalog_page_encode(const char *key);
enum status catalog_page_decode(const char *token, char **key, struct error *err);

#endif
