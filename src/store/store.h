/*
 * store.h - catalog metadata persistence behind one interface.
 *
 * A struct store is one backend instance shared by every thread (SQLite or
 * PostgreSQL). Each thread opens its own struct store_conn and never
 * shares it. All names are plain bytes: a namespace is stored as its levels
 * joined by the unit separator 0x1F ("a\x1fb"), which no level may contain.
 *
 * Every write is one store transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL:
 * READ COMMITTED with row locks), so a failed call leaves nothing
 * half-written. Statuses:
 *   ST_NOT_FOUND  - err->type says what is missing: ET_NO_SUCH_NAMESPACE,
 *                   ET_NO_SUCH_TABLE (a tabular object, table or view) or
 *                   ET_NO_SUCH_WAREHOUSE;
 *   ST_EXISTS     - the name is taken (see *existing_kind where offered);
 *   ST_CONFLICT   - a compare-and-swap lost or a namespace is not empty;
 *   ST_INVALID    - a malformed argument, or a value the database cannot
 *                   store (PostgreSQL: text that is not UTF-8, a name too
 *                   long for an index);
 *   ST_UNAVAILABLE- the database is busy or unreachable, or a statement ran
 *                   past the deadline (retry later); the outcome of a write
 *                   whose connection broke while committing is unknown;
 *   ST_INTERNAL   - anything else.
 * The store sets err->status/type; callers rewrite messages for users.
 */
#ifndef SERAC_STORE_STORE_H
#define SERAC_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define STORE_NS_SEP '\x1f'

enum store_kind { STORE_TABLE = 1, STORE_VIEW = 2 };

struct store;
struct store_conn;

struct store_warehouse {
    int64_t id;
    char *name;
    char *location; /* base location, e.g. "file:///srv/serac-data/warehouse" */
    char *storage;  /* its storage settings: a JSON object as text ("{}" when none) */
    int64_t created_ms;
};

/* A tabular object (table or view) row. */
struct store_obj {
    int64_t id;
    enum store_kind kind;
    char *ns; /* 0x1F-joined levels */
    char *name;
    char *metadata_location; /* the current metadata file */
    char *metadata;          /* the JSON text of that file */
    int64_t version;         /* bumped on every pointer move */
};

/* One pointer move of a (possibly multi-table) commit. */
struct store_cas {
    int64_t warehouse_id;
    enum store_kind kind;
    const char *ns;
    const char *name;
    const char *old_location; /* NULL: create (the name must be free in ns) */
    const char *new_location;
    const char *new_metadata; /* JSON text */
};

/* A page of names. */
struct store_page {
    char **names; /* owned; namespace names are 0x1F-joined */
    size_t n;
    char *next_token; /* owned: the raw key to pass as `after` for the next page; NULL on
                         the last page. Callers encode it before showing it to clients. */
};

/*
 * store_open opens the backend named by url and applies pending migrations.
 * url forms: "sqlite:PATH", "sqlite://PATH" or a bare path ending in ".db"
 * or ".sqlite"; "postgres://..." or "postgresql://..." (a libpq connection
 * URI: user, password, host, port, database and libpq parameters such as
 * ?sslmode=require or ?options=-csearch_path%3Dserac). ST_INVALID for an
 * unknown scheme or a malformed URL, ST_UNAVAILABLE when the database cannot
 * be opened or reached.
 */
enum status store_open(const char *url, struct store **out, struct error *err);
/* store_close frees the backend; every connection must be closed first. */
void store_close(struct store *st);

/* store_connect opens a connection for the calling thread. */
enum status store_connect(struct store *st, struct store_conn **out, struct error *err);
/* store_disconnect closes c (NULL is fine). */
void store_disconnect(struct store_conn *c);
/* store_ping checks the database answers (for /health/ready). */
enum status store_ping(struct store_conn *c, struct error *err);
/*
 * store_set_deadline bounds every statement c runs from now on to timeout_ms
 * milliseconds (0 = no bound), lock waits included; a statement that runs
 * longer is cancelled and its call returns ST_UNAVAILABLE ("database
 * statement timed out") with nothing written. The setting is applied lazily,
 * before c's next call, and only when it changed. PostgreSQL:
 * statement_timeout; SQLite: a no-op (ST_OK; its busy timeout applies).
 */
enum status store_set_deadline(struct store_conn *c, int64_t timeout_ms, struct error *err);

/* --- coordination between nodes (PostgreSQL; trivial on SQLite) --- */

/*
 * store_try_lease tries to take the lease key for the whole life of c's
 * database session (a session-level advisory lock on PostgreSQL): *held
 * says whether c holds it now. Calling again while c holds it keeps it and
 * says held again; the lease ends when c is disconnected or its session dies
 * (a reconnected c must take it again, and this call does so). Keys share one
 * 64-bit space with the per-object locks of multi-item commits, which are
 * 64-bit hashes, so a fixed small key is safe. SQLite (one node) always holds
 * every lease. ST_UNAVAILABLE while the database is unreachable.
 */
enum status store_try_lease(struct store_conn *c, int64_t key, bool *held, struct error *err);
/*
 * store_listen subscribes c to the change hints that every committed
 * mutation publishes (PostgreSQL LISTEN serac_changes); a reconnected c
 * subscribes again by itself, but hints sent while it was disconnected are
 * lost, so a listener treats ST_UNAVAILABLE as "anything may have changed".
 * ST_UNSUPPORTED on SQLite.
 *
 * A hint is "<kind>:<warehouse id>:<namespace, hex>:<name, hex>" with kind
 * one of "namespace" (name empty), "table", "view" or "warehouse" (namespace
 * and name empty); names are hex-encoded bytes, lowercase. A hint whose
 * names would not fit in a notification has them empty: anything in that
 * warehouse may have changed. A rename publishes the old and the new name.
 */
enum status store_listen(struct store_conn *c, struct error *err);
/*
 * store_poll_changes waits up to timeout_ms (0 = do not wait) for hints on a
 * connection that called store_listen (it calls it if not) and returns the
 * ones that arrived, oldest first: *payloads (owned array of owned strings,
 * NULL when *n is 0). Hints that arrived while c ran other calls are returned
 * too. ST_UNSUPPORTED on SQLite, ST_UNAVAILABLE when the database is
 * unreachable.
 */
enum status store_poll_changes(struct store_conn *c, int timeout_ms, char ***payloads, size_t *n,
                               struct error *err);

/* --- warehouses --- */

/*
 * store_warehouse_ensure returns the warehouse called name, creating it with
 * location and storage (JSON object text; NULL = "{}") if absent. An
 * existing warehouse keeps its location and storage.
 */
enum status store_warehouse_ensure(struct store_conn *c, const char *name, const char *location,
                                   const char *storage, struct store_warehouse *out,
                                   struct error *err);
/*
 * store_warehouse_create creates a warehouse; ST_EXISTS (ET_ALREADY_EXISTS,
 * "Warehouse already exists: <name>") when the name is taken. Publishes a
 * "warehouse" change hint.
 */
enum status store_warehouse_create(struct store_conn *c, const char *name, const char *location,
                                   const char *storage, struct store_warehouse *out,
                                   struct error *err);
/* store_warehouse_list returns every warehouse ordered by name (free with
 * store_warehouse_list_free). */
enum status store_warehouse_list(struct store_conn *c, struct store_warehouse **out, size_t *n,
                                 struct error *err);
void store_warehouse_list_free(struct store_warehouse *list, size_t n);
/*
 * store_warehouse_set_storage replaces the storage settings of warehouse
 * name; ST_NOT_FOUND (ET_NO_SUCH_WAREHOUSE). Publishes a change hint.
 */
enum status store_warehouse_set_storage(struct store_conn *c, const char *name, const char *storage,
                                        struct error *err);
/*
 * store_warehouse_delete deletes an empty warehouse (and its idempotency
 * records); ST_NOT_FOUND (ET_NO_SUCH_WAREHOUSE), or ST_CONFLICT
 * (ET_WAREHOUSE_NOT_EMPTY, "Warehouse is not empty: <name>") while it holds a
 * namespace. Publishes a change hint.
 */
enum status store_warehouse_delete(struct store_conn *c, const char *name, struct error *err);
/* store_warehouse_get finds a warehouse by name; ST_NOT_FOUND (ET_NO_SUCH_WAREHOUSE). */
enum status store_warehouse_get(struct store_conn *c, const char *name, struct store_warehouse *out,
                                struct error *err);
/* store_warehouse_cleanup frees the strings of w. */
void store_warehouse_cleanup(struct store_warehouse *w);

/* --- namespaces --- */

/*
 * store_ns_create creates namespace ns with properties (JSON object text).
 * A multi-level namespace needs its parent: ST_NOT_FOUND (ET_NO_SUCH_NAMESPACE)
 * otherwise. ST_EXISTS when ns exists.
 */
enum status store_ns_create(struct store_conn *c, int64_t wh, const char *ns,
                            const char *properties, struct error *err);
/* store_ns_get returns the properties (JSON object text, owned) of ns, or ST_NOT_FOUND. */
enum status store_ns_get(struct store_conn *c, int64_t wh, const char *ns, char **properties,
                         struct error *err);
/*
 * store_ns_list lists the direct children of parent (NULL or "" = top level)
 * in byte order of name, at most limit (>= 1) of them, after page token after
 * (NULL = from the start). ST_NOT_FOUND when parent does not exist. Listing
 * cost does not depend on the catalog's size (keyset pagination).
 */
enum status store_ns_list(struct store_conn *c, int64_t wh, const char *parent, const char *after,
                          size_t limit, struct store_page *out, struct error *err);
/*
 * store_ns_drop drops an empty namespace. ST_NOT_FOUND when absent;
 * ST_CONFLICT when it still holds tables, views or child namespaces, with
 * the counts in *tables, *views, *children (each may be NULL).
 */
enum status store_ns_drop(struct store_conn *c, int64_t wh, const char *ns, int64_t *tables,
                          int64_t *views, int64_t *children, struct error *err);
/*
 * store_ns_update_props atomically merges updates (JSON object text of
 * strings, may be NULL) into ns's properties and removes the keys in removals
 * (JSON array text of strings, may be NULL). *old_props receives the
 * properties as they were before (owned JSON text). ST_NOT_FOUND when absent.
 */
enum status store_ns_update_props(struct store_conn *c, int64_t wh, const char *ns,
                                  const char *updates, const char *removals, char **old_props,
                                  struct error *err);

/* --- tables and views (one name space per namespace) --- */

/*
 * store_obj_get loads the object called ns.name, of either kind (check
 * out->kind). ST_NOT_FOUND (ET_NO_SUCH_TABLE) when there is none.
 */
enum status store_obj_get(struct store_conn *c, int64_t wh, const char *ns, const char *name,
                          struct store_obj *out, struct error *err);
/*
 * store_obj_head is store_obj_get without the metadata text (out->metadata
 * NULL, out->version 0): the cheap read for loads served from a cache and
 * for existence checks. The stored text of a big table is megabytes.
 */
enum status store_obj_head(struct store_conn *c, int64_t wh, const char *ns, const char *name,
                           struct store_obj *out, struct error *err);
/* store_obj_cleanup frees the strings of o. */
void store_obj_cleanup(struct store_obj *o);

/* An object's name: warehouse, namespace key (0x1F-joined levels) and name. */
struct store_key {
    int64_t wh;
    const char *ns;
    const char *name;
};

/*
 * store_batches_reads says whether st reads several objects' heads in one
 * round trip (store_prefetch_heads): true where a round trip is costly (a
 * PostgreSQL server), false where a read is a function call (SQLite).
 */
bool store_batches_reads(const struct store *st);
/*
 * store_prefetch_heads reads the heads of the n objects named by keys in one
 * round trip and keeps them on c; until store_prefetch_clear, store_obj_head
 * answers each of those names once from what was read (found or not) instead
 * of asking the store. What is kept is the state when this call ran: use it
 * only for requests that had arrived before (a read that began after a commit
 * was acknowledged then sees it). Duplicate keys are read once per copy. A
 * backend without batching keeps nothing and returns ST_OK; on failure
 * nothing is kept and each read goes to the store as usual.
 */
enum status store_prefetch_heads(struct store_conn *c, const struct store_key *keys, size_t n,
                                 struct error *err);
/* store_prefetch_clear drops what store_prefetch_heads kept on c and did not use. */
void store_prefetch_clear(struct store_conn *c);

/*
 * store_obj_list lists the names of objects of kind in ns, keyset-paged as
 * store_ns_list. ST_NOT_FOUND (ET_NO_SUCH_NAMESPACE) when ns does not exist.
 */
enum status store_obj_list(struct store_conn *c, int64_t wh, const char *ns, enum store_kind kind,
                           const char *after, size_t limit, struct store_page *out,
                           struct error *err);

/*
 * store_obj_commit applies n pointer moves atomically: all or none.
 * For each item with old_location set, the object must exist with that kind
 * and exactly that metadata_location, else ST_NOT_FOUND (ET_NO_SUCH_TABLE) or
 * ST_CONFLICT; with old_location NULL it is created, and its namespace must
 * exist (ST_NOT_FOUND, ET_NO_SUCH_NAMESPACE) and the name must be free
 * (ST_EXISTS). *failed (may be NULL) gets the index of the item that failed;
 * *existing_kind (may be NULL) the kind found when ST_EXISTS.
 * Items are applied in the order given; callers sort them to avoid deadlocks.
 */
enum status store_obj_commit(struct store_conn *c, const struct store_cas *items, size_t n,
                             size_t *failed, enum store_kind *existing_kind, struct error *err);

/*
 * store_obj_drop removes ns.name if it is of kind; *metadata_location (may be
 * NULL) receives its last location (owned) for purging. ST_NOT_FOUND when
 * absent or of the other kind.
 */
enum status store_obj_drop(struct store_conn *c, int64_t wh, const char *ns, const char *name,
                           enum store_kind kind, char **metadata_location, struct error *err);

/*
 * store_obj_rename renames an object of kind. ST_NOT_FOUND with
 * ET_NO_SUCH_TABLE when the source is absent (or of the other kind), with
 * ET_NO_SUCH_NAMESPACE when the destination namespace is absent; ST_EXISTS
 * when the destination name is taken, with *existing_kind (may be NULL) set.
 */
enum status store_obj_rename(struct store_conn *c, int64_t wh, enum store_kind kind,
                             const char *src_ns, const char *src_name, const char *dst_ns,
                             const char *dst_name, enum store_kind *existing_kind,
                             struct error *err);

/* --- idempotency keys (DESIGN.md invariant 3) --- */

/*
 * The record of one Idempotency-Key. While a mutation runs, its record has
 * status 0 ("applied, response not recorded yet"); the response is filled in
 * by store_idem_finish right after.
 */
struct store_idem {
    int64_t warehouse_id;
    char *key;
    char *fingerprint; /* what the key was used for: method, path, body hash */
    int status;        /* HTTP status of the first response; 0 while pending */
    char *body;        /* its body (NULL for none) */
    char *etag;        /* its ETag header (NULL for none) */
    int64_t expires_ms;
};

/*
 * store_conn_set_idem arms c with a pending record (copied; NULL disarms):
 * the next mutating transaction on c inserts the record {warehouse_id, key,
 * fingerprint, status 0, expires_ms} first, in that same transaction, and a
 * commit ends the arming. A transaction that fails or rolls back takes the
 * record with it and leaves c armed. If the key is already recorded (and
 * not expired), the transaction stops before the mutation and returns
 * ST_REPLAY: another request with the key did it.
 */
void store_conn_set_idem(struct store_conn *c, const struct store_idem *pending);
/* store_conn_idem_consumed says whether the armed record was inserted by a commit. */
bool store_conn_idem_consumed(const struct store_conn *c);

/*
 * store_idem_get loads the record of key in warehouse wh. ST_NOT_FOUND when
 * there is none or it has expired (now_ms >= expires_ms). Free with
 * store_idem_cleanup.
 */
enum status store_idem_get(struct store_conn *c, int64_t wh, const char *key, int64_t now_ms,
                           struct store_idem *out, struct error *err);
/*
 * store_idem_finish records the response of key: it completes the pending
 * record that a mutation on this same connection inserted, or inserts a
 * complete record when the request changed nothing (a 4xx). ST_REPLAY when
 * the key is recorded by another request (complete, or pending on another
 * connection): that request's response is the one to replay.
 */
enum status store_idem_finish(struct store_conn *c, const struct store_idem *rec,
                              struct error *err);
/* store_idem_purge deletes records expired at now_ms; *deleted (may be NULL) counts them. */
enum status store_idem_purge(struct store_conn *c, int64_t now_ms, int64_t *deleted,
                             struct error *err);
/* store_idem_cleanup frees the strings of r. */
void store_idem_cleanup(struct store_idem *r);

/* store_page_cleanup frees a page. */
void store_page_cleanup(struct store_page *p);

#endif
