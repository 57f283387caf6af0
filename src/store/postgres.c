/*
 * postgres.c - the PostgreSQL store backend: the catalog operations.
 *
 * Every operation is a body run by pgstore_run (pg_conn.c), which owns the
 * connection, the transaction, retries and the Idempotency-Key record. The
 * statuses are those of the SQLite backend, operation by operation; how they
 * are reached differs:
 *   - Reads run without a transaction, one statement in the common case.
 *     A listing that comes back empty checks afterwards that its namespace
 *     exists (rows imply it does: namespaces with children or objects cannot
 *     be dropped).
 *   - Writes run in READ COMMITTED transactions. A namespace's row is the
 *     lock that orders everything inside it: dropping it takes it FOR UPDATE;
 *     creating a child namespace or moving an object into it takes it FOR KEY
 *     SHARE (object inserts get the same lock from their foreign key). A drop
 *     therefore never misses a child that a concurrent transaction is adding.
 *     Property updates take it FOR NO KEY UPDATE: they queue behind each other
 *     (no lost update) but not behind object creates.
 *   - A pointer move is a compare-and-swap UPDATE ... WHERE
 *     metadata_location = $old that must change exactly one row; creates are
 *     INSERT ... ON CONFLICT DO NOTHING, so a taken name is found without
 *     aborting the transaction. Multi-item commits first take a transaction
 *     advisory lock per item in one global order, so two of them never wait
 *     on each other's rows in opposite orders.
 *   - Each committed write publishes change hints (pgstore_note).
 */
#include "store/pg_internal.h"
#include "store/common.h"

#include <jansson.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"

/* Expired idempotency records are purged this many per transaction. */
#define PG_PURGE_BATCH 1000

const char *const pgstore_sql[P__COUNT] = {
    [P_PING] = "SELECT 1",
    [P_WH_GET] = "SELECT id, name, location, storage, created_ms FROM warehouses WHERE name = $1",
    [P_WH_INSERT] = "INSERT INTO warehouses (name, location, storage, created_ms) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING id",
    [P_WH_EXISTS] = "SELECT 1 FROM warehouses WHERE id = $1",
    [P_WH_LIST] = "SELECT id, name, location, storage, created_ms FROM warehouses ORDER BY name",
    [P_WH_SET_STORAGE] = "UPDATE warehouses SET storage = $2 WHERE name = $1 RETURNING id",
    /* The row lock a delete holds: namespace and idempotency inserts (their foreign keys take
       FOR KEY SHARE on it) wait for the delete and then find the warehouse gone. */
    [P_WH_FOR_UPDATE] = "SELECT id FROM warehouses WHERE name = $1 FOR UPDATE",
    [P_WH_HAS_NS] = "SELECT 1 FROM namespaces WHERE warehouse_id = $1 LIMIT 1",
    [P_WH_DELETE_IDEM] = "DELETE FROM idempotency WHERE warehouse_id = $1",
    [P_WH_DELETE] = "DELETE FROM warehouses WHERE id = $1",
    [P_NS_GET] = "SELECT properties FROM namespaces WHERE warehouse_id = $1 AND name = $2",
    [P_NS_SHARE] = "SELECT 1 FROM namespaces WHERE warehouse_id = $1 AND name = $2 "
                   "FOR KEY SHARE",
    [P_NS_FOR_UPDATE] = "SELECT properties FROM namespaces WHERE warehouse_id = $1 AND name = $2 "
                        "FOR UPDATE",
    /* Changing properties leaves the key alone: objects may still be added meanwhile. */
    [P_NS_FOR_PROPS] = "SELECT properties FROM namespaces WHERE warehouse_id = $1 AND name = $2 "
                       "FOR NO KEY UPDATE",
    [P_NS_INSERT] = "INSERT INTO namespaces (warehouse_id, name, parent, properties, created_ms) "
                    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (warehouse_id, name) DO NOTHING",
    [P_NS_LIST] = "SELECT name FROM namespaces WHERE warehouse_id = $1 AND parent = $2 "
                  "AND name > $3 ORDER BY name LIMIT $4",
    [P_NS_CONTENTS] =
        "SELECT (SELECT count(*) FROM objects WHERE warehouse_id = $1 AND namespace = $2 "
        "AND kind = 1), (SELECT count(*) FROM objects WHERE warehouse_id = $1 "
        "AND namespace = $2 AND kind = 2), (SELECT count(*) FROM namespaces "
        "WHERE warehouse_id = $1 AND parent = $2)",
    [P_NS_DELETE] = "DELETE FROM namespaces WHERE warehouse_id = $1 AND name = $2",
    [P_NS_SET_PROPS] = "UPDATE namespaces SET properties = $3 WHERE warehouse_id = $1 "
                       "AND name = $2",
    [P_OBJ_GET] = "SELECT id, kind, metadata_location, metadata, version FROM objects "
                  "WHERE warehouse_id = $1 AND namespace = $2 AND name = $3",
    [P_OBJ_HEAD] = "SELECT id, kind, metadata_location, NULL, 0 FROM objects "
                   "WHERE warehouse_id = $1 AND namespace = $2 AND name = $3",
    /*
     * $1..$3: arrays of warehouse ids, namespace keys and names; k.i is the 1-based key
     * index. The LIMIT keeps the subquery from being flattened into a join, so the plan
     * stays one unique-index probe per key (a hash join could scan the whole table).
     */
    [P_OBJ_HEAD_MANY] = "SELECT k.i, o.id, o.kind, o.metadata_location "
                        "FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY "
                        "AS k(wh, ns, name, i) CROSS JOIN LATERAL (SELECT id, kind, "
                        "metadata_location FROM objects WHERE warehouse_id = k.wh "
                        "AND namespace = k.ns AND name = k.name LIMIT 1) o",
    [P_OBJ_KIND] = "SELECT id, kind FROM objects WHERE warehouse_id = $1 AND namespace = $2 "
                   "AND name = $3",
    [P_OBJ_KIND_FOR_UPDATE] = "SELECT id, kind FROM objects WHERE warehouse_id = $1 "
                              "AND namespace = $2 AND name = $3 FOR UPDATE",
    [P_OBJ_LIST] = "SELECT name FROM objects WHERE warehouse_id = $1 AND namespace = $2 "
                   "AND kind = $3 AND name > $4 ORDER BY name LIMIT $5",
    [P_OBJ_CAS] = "UPDATE objects SET metadata_location = $1, metadata = $2, "
                  "version = version + 1, updated_ms = $3 WHERE warehouse_id = $4 "
                  "AND namespace = $5 AND name = $6 AND kind = $7 AND metadata_location = $8",
    [P_OBJ_INSERT] = "INSERT INTO objects (warehouse_id, namespace, name, kind, "
                     "metadata_location, metadata, version, created_ms, updated_ms) "
                     "VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) "
                     "ON CONFLICT (warehouse_id, namespace, name) DO NOTHING",
    [P_OBJ_DELETE] = "DELETE FROM objects WHERE warehouse_id = $1 AND namespace = $2 "
                     "AND name = $3 AND kind = $4 RETURNING metadata_location",
    [P_OBJ_RENAME] = "UPDATE objects SET namespace = $2, name = $3, updated_ms = $4 "
                     "WHERE id = $1",
    [P_XACT_LOCK] = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
    [P_IDEM_GET] = "SELECT id, fingerprint, status, body, etag, expires_ms FROM idempotency "
                   "WHERE warehouse_id = $1 AND key = $2",
    [P_IDEM_GET_FOR_UPDATE] = "SELECT id, fingerprint, status, body, etag, expires_ms "
                              "FROM idempotency WHERE warehouse_id = $1 AND key = $2 "
                              "FOR UPDATE",
    [P_IDEM_INSERT] = "INSERT INTO idempotency (warehouse_id, key, fingerprint, status, body, "
                      "etag, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                      "ON CONFLICT (warehouse_id, key) DO NOTHING RETURNING id",
    [P_IDEM_DELETE_EXPIRED] = "DELETE FROM idempotency WHERE warehouse_id = $1 AND key = $2 "
                              "AND expires_ms <= $3",
    [P_IDEM_FINISH] = "UPDATE idempotency SET status = $2, body = $3, etag = $4 WHERE id = $1",
    [P_IDEM_PURGE] = "DELETE FROM idempotency WHERE id IN (SELECT id FROM idempotency "
                     "WHERE expires_ms <= $1 LIMIT $2)",
    /* A lease this session holds already is kept, not taken twice (advisory locks stack). */
    [P_LEASE] = "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
                "AND classid = (($1::bigint >> 32) & 4294967295)::oid "
                "AND objid = ($1::bigint & 4294967295)::oid) "
                "THEN true ELSE pg_try_advisory_lock($1::bigint) END",
};

/* --- small query helpers --- */

/* query_rows runs id and says through *found whether it returned a row. */
static enum status query_found(struct pg_conn *c, enum pg_stmt id, const struct pg_params *p,
                               bool *found, struct error *err)
{
    PGresult *res;
    enum status rc = pgstore_exec(c, id, p, &res, err);

    if (rc == ST_OK)
        *found = PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

/* ns_check says whether ns exists in wh (taking lock id's row lock when it is a FOR ... one). */
static enum status ns_check(struct pg_conn *c, enum pg_stmt id, int64_t wh, const char *ns,
                            struct error *err)
{
    struct pg_params p = {0};
    bool found = false;
    enum status rc;

    pgstore_param_int(&p, wh);
    pgstore_param_text(&p, ns);
    if ((rc = query_found(c, id, &p, &found, err)))
        return rc;
    return found ? ST_OK : storecommon_no_namespace(ns, err);
}

/* obj_kind reads the id and kind of ns.name; ST_NOT_FOUND (err untouched) when absent. */
static enum status obj_kind(struct pg_conn *c, enum pg_stmt id, int64_t wh, const char *ns,
                            const char *name, int64_t *row, enum store_kind *kind,
                            struct error *err)
{
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_int(&p, wh);
    pgstore_param_text(&p, ns);
    pgstore_param_text(&p, name);
    if ((rc = pgstore_exec(c, id, &p, &res, err)))
        return rc;
    if (PQntuples(res) == 0) {
        rc = ST_NOT_FOUND;
    } else {
        *row = pgstore_int(res, 0, 0);
        *kind = (enum store_kind)pgstore_int(res, 0, 1);
    }
    PQclear(res);
    return rc;
}

/*
 * page_fill moves up to limit names from res (asked for limit + 1 rows) into
 * out; a row beyond limit means there is a next page.
 */
static void page_fill(PGresult *res, size_t limit, struct store_page *out)
{
    int rows = PQntuples(res), i;

    for (i = 0; i < rows; i++)
        if (!storecommon_page_add(out, limit, pgstore_dup(res, i, 0, false)))
            break;
}

static void page_undo(void *arg);

/* --- warehouses --- */

struct wh_args {
    const char *name;
    const char *location;
    const char *storage;
    struct store_warehouse *out;
    bool created;                  /* create: the name was free */
    struct store_warehouse **list; /* list */
    size_t *n;                     /* list */
};

static void wh_undo(void *arg)
{
    store_warehouse_cleanup(((struct wh_args *)arg)->out);
}

/* wh_fill copies row r of res (the columns of P_WH_GET) into out. */
static void wh_fill(PGresult *res, int r, struct store_warehouse *out)
{
    out->id = pgstore_int(res, r, 0);
    out->name = pgstore_dup(res, r, 1, false);
    out->location = pgstore_dup(res, r, 2, false);
    out->storage = pgstore_dup(res, r, 3, false);
    out->created_ms = pgstore_int(res, r, 4);
}

/* wh_read reads the warehouse called a->name; ST_NOT_FOUND (err untouched) when absent. */
static enum status wh_read(struct pg_conn *c, void *arg, struct error *err)
{
    struct wh_args *a = arg;
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_text(&p, a->name);
    if ((rc = pgstore_exec(c, P_WH_GET, &p, &res, err)))
        return rc;
    if (PQntuples(res) == 0)
        rc = ST_NOT_FOUND;
    else
        wh_fill(res, 0, a->out);
    PQclear(res);
    return rc;
}

/* wh_insert_read inserts the warehouse unless its name is taken (a->created says which). */
static enum status wh_insert_read(struct pg_conn *c, void *arg, struct error *err)
{
    struct wh_args *a = arg;
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_text(&p, a->name);
    pgstore_param_text(&p, a->location);
    pgstore_param_text(&p, a->storage);
    pgstore_param_int(&p, clock_now_ms());
    if ((rc = pgstore_exec(c, P_WH_INSERT, &p, &res, err)))
        return rc;
    a->created = PQntuples(res) == 1;
    if (a->created)
        pgstore_note(c, "warehouse", pgstore_int(res, 0, 0), NULL, NULL);
    PQclear(res);
    rc = wh_read(c, a, err);
    if (rc == ST_NOT_FOUND)
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "Warehouse %s vanished while created",
                         a->name);
    return rc;
}

static enum status pg_warehouse_ensure(struct store_conn *base, const char *name,
                                       const char *location, const char *storage,
                                       struct store_warehouse *out, struct error *err)
{
    struct pg_conn *c = (struct pg_conn *)base;
    struct wh_args a = {.name = name, .location = location, .storage = storage, .out = out};
    enum status rc;

    /* The common case, an existing warehouse, is one read. */
    rc = pgstore_run(c, PG_READ, wh_read, &a, wh_undo, err);
    if (rc != ST_NOT_FOUND)
        return rc;
    return pgstore_run(c, PG_WRITE, wh_insert_read, &a, wh_undo, err);
}

static enum status wh_create_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct wh_args *a = arg;
    enum status rc;

    /* ON CONFLICT DO NOTHING: a taken name is found without aborting the transaction. */
    if ((rc = wh_insert_read(c, a, err)))
        return rc;
    return a->created ? ST_OK : storecommon_warehouse_taken(a->name, err);
}

static enum status pg_warehouse_create(struct store_conn *base, const char *name,
                                       const char *location, const char *storage,
                                       struct store_warehouse *out, struct error *err)
{
    struct wh_args a = {.name = name, .location = location, .storage = storage, .out = out};
    enum status rc =
        pgstore_run((struct pg_conn *)base, PG_WRITE, wh_create_body, &a, wh_undo, err);

    if (rc)
        store_warehouse_cleanup(out);
    return rc;
}

static void wh_list_undo(void *arg)
{
    struct wh_args *a = arg;

    store_warehouse_list_free(*a->list, *a->n);
    *a->list = NULL;
    *a->n = 0;
}

static enum status wh_list_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct wh_args *a = arg;
    PGresult *res;
    enum status rc;
    int rows, i;

    if ((rc = pgstore_exec(c, P_WH_LIST, NULL, &res, err)))
        return rc;
    rows = PQntuples(res);
    if (rows > 0) {
        *a->list = xcalloc((size_t)rows, sizeof(**a->list));
        for (i = 0; i < rows; i++)
            wh_fill(res, i, &(*a->list)[i]);
        *a->n = (size_t)rows;
    }
    PQclear(res);
    return ST_OK;
}

static enum status pg_warehouse_list(struct store_conn *base, struct store_warehouse **out,
                                     size_t *n, struct error *err)
{
    struct wh_args a = {.list = out, .n = n};

    return pgstore_run((struct pg_conn *)base, PG_READ, wh_list_body, &a, wh_list_undo, err);
}

static enum status wh_set_storage_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct wh_args *a = arg;
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_text(&p, a->name);
    pgstore_param_text(&p, a->storage);
    if ((rc = pgstore_exec(c, P_WH_SET_STORAGE, &p, &res, err)))
        return rc;
    if (PQntuples(res) == 0)
        rc = storecommon_no_warehouse_named(a->name, err);
    else
        pgstore_note(c, "warehouse", pgstore_int(res, 0, 0), NULL, NULL);
    PQclear(res);
    return rc;
}

static enum status pg_warehouse_set_storage(struct store_conn *base, const char *name,
                                            const char *storage, struct error *err)
{
    struct wh_args a = {.name = name, .storage = storage};

    return pgstore_run((struct pg_conn *)base, PG_WRITE, wh_set_storage_body, &a, NULL, err);
}

static enum status wh_delete_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct wh_args *a = arg;
    struct pg_params p = {0}, q = {0};
    PGresult *res;
    enum status rc;
    int64_t id;
    bool found = false;

    /* The row lock first: no namespace can be added until this transaction ends. */
    pgstore_param_text(&p, a->name);
    if ((rc = pgstore_exec(c, P_WH_FOR_UPDATE, &p, &res, err)))
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return storecommon_no_warehouse_named(a->name, err);
    }
    id = pgstore_int(res, 0, 0);
    PQclear(res);
    pgstore_param_int(&q, id);
    if ((rc = query_found(c, P_WH_HAS_NS, &q, &found, err)))
        return rc;
    if (found)
        return storecommon_warehouse_not_empty(a->name, err);
    /* No namespace means no table or view either: objects need their namespace (a foreign key). */
    if ((rc = pgstore_exec_done(c, P_WH_DELETE_IDEM, &q, err)) ||
        (rc = pgstore_exec_done(c, P_WH_DELETE, &q, err)))
        return rc;
    pgstore_note(c, "warehouse", id, NULL, NULL);
    return ST_OK;
}

static enum status pg_warehouse_delete(struct store_conn *base, const char *name, struct error *err)
{
    struct wh_args a = {.name = name};

    return pgstore_run((struct pg_conn *)base, PG_WRITE, wh_delete_body, &a, NULL, err);
}

static enum status pg_warehouse_get(struct store_conn *base, const char *name,
                                    struct store_warehouse *out, struct error *err)
{
    struct wh_args a = {.name = name, .out = out};
    enum status rc = pgstore_run((struct pg_conn *)base, PG_READ, wh_read, &a, wh_undo, err);

    if (rc == ST_NOT_FOUND)
        storecommon_no_warehouse_named(name, err);
    return rc;
}

/* --- namespace properties --- */

/* --- namespaces --- */

struct ns_args {
    int64_t wh;
    const char *ns;
    const char *parent;     /* create */
    const char *props;      /* create: normalized */
    const char *updates;    /* update_props */
    const char *removals;   /* update_props */
    char **old_props;       /* get, update_props */
    int64_t *counts;        /* drop: tables, views, children */
    const char *after;      /* list */
    size_t limit;           /* list */
    struct store_page *out; /* list */
};

static enum status ns_create_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct ns_args *a = arg;
    struct pg_params p = {0};
    PGresult *res;
    bool found = false;
    enum status rc;
    int64_t n;

    pgstore_param_int(&p, a->wh);
    if ((rc = query_found(c, P_WH_EXISTS, &p, &found, err)))
        return rc;
    if (!found)
        return storecommon_no_warehouse(a->wh, err);
    if (*a->parent && (rc = ns_check(c, P_NS_SHARE, a->wh, a->parent, err)))
        return rc;
    pgstore_param_text(&p, a->ns);
    pgstore_param_text(&p, a->parent);
    pgstore_param_text(&p, a->props);
    pgstore_param_int(&p, clock_now_ms());
    rc = pgstore_exec(c, P_NS_INSERT, &p, &res, err);
    if (rc == ST_NOT_FOUND) /* the warehouse went away meanwhile */
        return storecommon_no_warehouse(a->wh, err);
    if (rc)
        return rc;
    n = pgstore_changed(res);
    PQclear(res);
    if (n == 0)
        return storecommon_ns_taken(a->ns, err);
    pgstore_note(c, "namespace", a->wh, a->ns, NULL);
    return ST_OK;
}

static enum status pg_ns_create(struct store_conn *base, int64_t wh, const char *ns,
                                const char *properties, struct error *err)
{
    struct ns_args a = {.wh = wh, .ns = ns};
    char *props = NULL, *parent;
    enum status rc;

    if ((rc = storecommon_props_normalize(properties, &props, err)))
        return rc;
    parent = storecommon_ns_parent(ns);
    a.parent = parent;
    a.props = props;
    rc = pgstore_run((struct pg_conn *)base, PG_MUTATION, ns_create_body, &a, NULL, err);
    free(parent);
    free(props);
    return rc;
}

static void ns_props_undo(void *arg)
{
    struct ns_args *a = arg;

    free(*a->old_props);
    *a->old_props = NULL;
}

/* ns_read_props reads ns's properties with statement id (a plain or a locking read). */
static enum status ns_read_props(struct pg_conn *c, enum pg_stmt id, struct ns_args *a,
                                 struct error *err)
{
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_int(&p, a->wh);
    pgstore_param_text(&p, a->ns);
    if ((rc = pgstore_exec(c, id, &p, &res, err)))
        return rc;
    if (PQntuples(res) == 0)
        rc = storecommon_no_namespace(a->ns, err);
    else
        *a->old_props = pgstore_dup(res, 0, 0, false);
    PQclear(res);
    return rc;
}

static enum status ns_get_body(struct pg_conn *c, void *arg, struct error *err)
{
    return ns_read_props(c, P_NS_GET, arg, err);
}

static enum status pg_ns_get(struct store_conn *base, int64_t wh, const char *ns, char **properties,
                             struct error *err)
{
    struct ns_args a = {.wh = wh, .ns = ns, .old_props = properties};

    return pgstore_run((struct pg_conn *)base, PG_READ, ns_get_body, &a, ns_props_undo, err);
}

static enum status ns_list_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct ns_args *a = arg;
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_int(&p, a->wh);
    pgstore_param_text(&p, a->parent);
    pgstore_param_text(&p, a->after);
    if ((rc = pgstore_exec_page(c, P_NS_LIST, &p, storecommon_page_limit(a->limit), &res, err)))
        return rc;
    page_fill(res, a->limit, a->out);
    PQclear(res);
    if (a->out->n == 0 && *a->parent)
        return ns_check(c, P_NS_GET, a->wh, a->parent, err);
    return ST_OK;
}

static void page_undo(void *arg)
{
    store_page_cleanup(((struct ns_args *)arg)->out);
}

static enum status pg_ns_list(struct store_conn *base, int64_t wh, const char *parent,
                              const char *after, size_t limit, struct store_page *out,
                              struct error *err)
{
    struct ns_args a = {.wh = wh, .parent = parent, .after = after, .limit = limit, .out = out};

    return pgstore_run((struct pg_conn *)base, PG_READ, ns_list_body, &a, page_undo, err);
}

static enum status ns_drop_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct ns_args *a = arg;
    struct pg_params p = {0};
    char *props = NULL;
    PGresult *res;
    enum status rc;
    int i;

    /* The row lock first: no child or object can be added until this transaction ends. */
    a->old_props = &props;
    rc = ns_read_props(c, P_NS_FOR_UPDATE, a, err);
    free(props);
    a->old_props = NULL;
    if (rc)
        return rc;
    pgstore_param_int(&p, a->wh);
    pgstore_param_text(&p, a->ns);
    if ((rc = pgstore_exec(c, P_NS_CONTENTS, &p, &res, err)))
        return rc;
    for (i = 0; i < 3; i++)
        a->counts[i] = pgstore_int(res, 0, i);
    PQclear(res);
    if (a->counts[0] || a->counts[1] || a->counts[2])
        return storecommon_ns_not_empty(a->ns, a->counts[0], a->counts[1], a->counts[2], err);
    if ((rc = pgstore_exec_done(c, P_NS_DELETE, &p, err)))
        return rc;
    pgstore_note(c, "namespace", a->wh, a->ns, NULL);
    return ST_OK;
}

static enum status pg_ns_drop(struct store_conn *base, int64_t wh, const char *ns, int64_t *tables,
                              int64_t *views, int64_t *children, struct error *err)
{
    int64_t counts[3] = {0, 0, 0};
    struct ns_args a = {.wh = wh, .ns = ns, .counts = counts};
    enum status rc = pgstore_run((struct pg_conn *)base, PG_MUTATION, ns_drop_body, &a, NULL, err);

    *tables = counts[0];
    *views = counts[1];
    *children = counts[2];
    return rc;
}

static enum status ns_update_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct ns_args *a = arg;
    struct pg_params p = {0};
    char *merged = NULL;
    enum status rc;

    if ((rc = ns_read_props(c, P_NS_FOR_PROPS, a, err)) ||
        (rc = storecommon_props_merge(*a->old_props, a->updates, a->removals, &merged, err)))
        goto out;
    pgstore_param_int(&p, a->wh);
    pgstore_param_text(&p, a->ns);
    pgstore_param_text(&p, merged);
    if ((rc = pgstore_exec_done(c, P_NS_SET_PROPS, &p, err)))
        goto out;
    pgstore_note(c, "namespace", a->wh, a->ns, NULL);
out:
    free(merged);
    return rc;
}

static enum status pg_ns_update_props(struct store_conn *base, int64_t wh, const char *ns,
                                      const char *updates, const char *removals, char **old_props,
                                      struct error *err)
{
    struct ns_args a = {
        .wh = wh, .ns = ns, .updates = updates, .removals = removals, .old_props = old_props};

    return pgstore_run((struct pg_conn *)base, PG_MUTATION, ns_update_body, &a, ns_props_undo, err);
}

/* --- tables and views: reads --- */

struct obj_args {
    int64_t wh;
    const char *ns;
    const char *name;
    enum store_kind kind;
    struct store_obj *out;   /* get */
    bool head;               /* get: without the metadata text */
    const char *after;       /* list */
    size_t limit;            /* list */
    struct store_page *page; /* list */
};

static enum status obj_get_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct obj_args *a = arg;
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_int(&p, a->wh);
    pgstore_param_text(&p, a->ns);
    pgstore_param_text(&p, a->name);
    if ((rc = pgstore_exec(c, a->head ? P_OBJ_HEAD : P_OBJ_GET, &p, &res, err)))
        return rc;
    if (PQntuples(res) == 0) {
        rc = storecommon_no_object(a->ns, a->name, err);
    } else {
        a->out->id = pgstore_int(res, 0, 0);
        a->out->kind = (enum store_kind)pgstore_int(res, 0, 1);
        a->out->ns = xstrdup(a->ns);
        a->out->name = xstrdup(a->name);
        a->out->metadata_location = pgstore_dup(res, 0, 2, false);
        a->out->metadata = a->head ? NULL : pgstore_dup(res, 0, 3, false);
        a->out->version = pgstore_int(res, 0, 4);
    }
    PQclear(res);
    return rc;
}

static void obj_get_undo(void *arg)
{
    store_obj_cleanup(((struct obj_args *)arg)->out);
}

static enum status pg_obj_get(struct store_conn *base, int64_t wh, const char *ns, const char *name,
                              struct store_obj *out, struct error *err)
{
    struct obj_args a = {.wh = wh, .ns = ns, .name = name, .out = out};

    return pgstore_run((struct pg_conn *)base, PG_READ, obj_get_body, &a, obj_get_undo, err);
}

static enum status pg_obj_head(struct store_conn *base, int64_t wh, const char *ns,
                               const char *name, struct store_obj *out, struct error *err)
{
    struct obj_args a = {.wh = wh, .ns = ns, .name = name, .out = out, .head = true};

    return pgstore_run((struct pg_conn *)base, PG_READ, obj_get_body, &a, obj_get_undo, err);
}

/* array_text appends the PostgreSQL array literal of a text element: quoted, \ and " escaped. */
static void array_text(struct buf *b, const char *v)
{
    buf_putc(b, '"');
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *v);
    }
    buf_putc(b, '"');
}

struct head_many_args {
    const struct store_key *keys;
    size_t n;
    struct store_obj *outs;
    bool *found;
};

static enum status head_many_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct head_many_args *a = arg;
    struct buf whs, nss, names;
    struct pg_params p = {0};
    PGresult *res = NULL;
    enum status rc;

    buf_init(&whs, 0);
    buf_init(&nss, 0);
    buf_init(&names, 0);
    buf_putc(&whs, '{');
    buf_putc(&nss, '{');
    buf_putc(&names, '{');
    for (size_t i = 0; i < a->n; i++) {
        if (i) {
            buf_putc(&whs, ',');
            buf_putc(&nss, ',');
            buf_putc(&names, ',');
        }
        buf_printf(&whs, "%" PRId64, a->keys[i].wh);
        array_text(&nss, a->keys[i].ns);
        array_text(&names, a->keys[i].name);
    }
    buf_putc(&whs, '}');
    buf_putc(&nss, '}');
    buf_putc(&names, '}');
    pgstore_param_text(&p, whs.data);
    pgstore_param_text(&p, nss.data);
    pgstore_param_text(&p, names.data);
    rc = pgstore_exec(c, P_OBJ_HEAD_MANY, &p, &res, err);
    for (int r = 0; rc == ST_OK && r < PQntuples(res); r++) {
        int64_t i = pgstore_int(res, r, 0) - 1;
        struct store_obj *o;

        if (i < 0 || (size_t)i >= a->n || a->found[i])
            continue;
        o = &a->outs[i];
        a->found[i] = true;
        o->id = pgstore_int(res, r, 1);
        o->kind = (enum store_kind)pgstore_int(res, r, 2);
        o->ns = xstrdup(a->keys[i].ns);
        o->name = xstrdup(a->keys[i].name);
        o->metadata_location = pgstore_dup(res, r, 3, false);
    }
    PQclear(res);
    buf_cleanup(&whs);
    buf_cleanup(&nss);
    buf_cleanup(&names);
    return rc;
}

static void head_many_undo(void *arg)
{
    struct head_many_args *a = arg;

    for (size_t i = 0; i < a->n; i++) {
        store_obj_cleanup(&a->outs[i]);
        a->found[i] = false;
    }
}

static enum status pg_obj_head_many(struct store_conn *base, const struct store_key *keys, size_t n,
                                    struct store_obj *outs, bool *found, struct error *err)
{
    struct head_many_args a = {.keys = keys, .n = n, .outs = outs, .found = found};

    return pgstore_run((struct pg_conn *)base, PG_READ, head_many_body, &a, head_many_undo, err);
}

static enum status obj_list_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct obj_args *a = arg;
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_int(&p, a->wh);
    pgstore_param_text(&p, a->ns);
    pgstore_param_int(&p, a->kind);
    pgstore_param_text(&p, a->after);
    if ((rc = pgstore_exec_page(c, P_OBJ_LIST, &p, storecommon_page_limit(a->limit), &res, err)))
        return rc;
    page_fill(res, a->limit, a->page);
    PQclear(res);
    /* Objects imply their namespace (a foreign key); an empty page must look. */
    if (a->page->n == 0)
        return ns_check(c, P_NS_GET, a->wh, a->ns, err);
    return ST_OK;
}

static void obj_list_undo(void *arg)
{
    store_page_cleanup(((struct obj_args *)arg)->page);
}

static enum status pg_obj_list(struct store_conn *base, int64_t wh, const char *ns,
                               enum store_kind kind, const char *after, size_t limit,
                               struct store_page *out, struct error *err)
{
    struct obj_args a = {
        .wh = wh, .ns = ns, .kind = kind, .after = after, .limit = limit, .page = out};

    return pgstore_run((struct pg_conn *)base, PG_READ, obj_list_body, &a, obj_list_undo, err);
}

/* --- tables and views: commits --- */

struct commit_args {
    const struct store_cas *items;
    size_t n;
    size_t *failed;
    enum store_kind *existing;
};

/* cas_order compares two items by (namespace, name, warehouse): the global lock order. */
static int cas_order(const void *x, const void *y)
{
    const struct store_cas *a = *(const struct store_cas *const *)x;
    const struct store_cas *b = *(const struct store_cas *const *)y;
    int d = strcmp(a->ns, b->ns);

    if (!d)
        d = strcmp(a->name, b->name);
    if (!d)
        d = (a->warehouse_id > b->warehouse_id) - (a->warehouse_id < b->warehouse_id);
    return d;
}

/* lock_items takes the transaction advisory lock of every item, in cas_order. */
static enum status lock_items(struct pg_conn *c, const struct store_cas *items, size_t n,
                              struct error *err)
{
    const struct store_cas **sorted = xcalloc(n, sizeof(*sorted));
    enum status rc = ST_OK;
    size_t i;

    for (i = 0; i < n; i++)
        sorted[i] = &items[i];
    qsort(sorted, n, sizeof(*sorted), cas_order);
    for (i = 0; i < n && rc == ST_OK; i++) {
        struct pg_params p = {0};
        /* Lengths first keep the key unambiguous whatever bytes the names hold. */
        char *key = xasprintf("%lld:%zu:%s:%s", (long long)sorted[i]->warehouse_id,
                              strlen(sorted[i]->ns), sorted[i]->ns, sorted[i]->name);

        pgstore_param_text(&p, key);
        rc = pgstore_exec_done(c, P_XACT_LOCK, &p, err);
        free(key);
    }
    free(sorted);
    return rc;
}

static enum status obj_create(struct pg_conn *c, const struct store_cas *it, int64_t now,
                              enum store_kind *existing, struct error *err)
{
    struct pg_params p = {0};
    enum store_kind kind = STORE_TABLE;
    PGresult *res;
    enum status rc;
    int64_t n, id;

    pgstore_param_int(&p, it->warehouse_id);
    pgstore_param_text(&p, it->ns);
    pgstore_param_text(&p, it->name);
    pgstore_param_int(&p, it->kind);
    pgstore_param_text(&p, it->new_location);
    pgstore_param_text(&p, it->new_metadata);
    pgstore_param_int(&p, now);
    rc = pgstore_exec(c, P_OBJ_INSERT, &p, &res, err);
    if (rc == ST_NOT_FOUND) /* the foreign key: no such namespace */
        return storecommon_no_namespace(it->ns, err);
    if (rc)
        return rc;
    n = pgstore_changed(res);
    PQclear(res);
    if (n == 1)
        return ST_OK;
    rc = obj_kind(c, P_OBJ_KIND, it->warehouse_id, it->ns, it->name, &id, &kind, err);
    if (rc == ST_NOT_FOUND) {
        /* The conflicting row went away between the two statements: start over. */
        c->retry_tx = true;
        return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                         "database busy: %s kept changing", it->name);
    }
    if (rc)
        return rc;
    if (existing)
        *existing = kind;
    return storecommon_name_taken(it->ns, it->name, kind, err);
}

/*
 * obj_swap moves one pointer with a compare-and-swap UPDATE; when no row
 * changed it finds out whether the object is missing or has moved on.
 */
static enum status obj_swap(struct pg_conn *c, const struct store_cas *it, int64_t now,
                            struct error *err)
{
    struct pg_params p = {0};
    enum store_kind kind = STORE_TABLE;
    PGresult *res;
    enum status rc;
    int64_t n, id;

    pgstore_param_text(&p, it->new_location);
    pgstore_param_text(&p, it->new_metadata);
    pgstore_param_int(&p, now);
    pgstore_param_int(&p, it->warehouse_id);
    pgstore_param_text(&p, it->ns);
    pgstore_param_text(&p, it->name);
    pgstore_param_int(&p, it->kind);
    pgstore_param_text(&p, it->old_location);
    if ((rc = pgstore_exec(c, P_OBJ_CAS, &p, &res, err)))
        return rc;
    n = pgstore_changed(res);
    PQclear(res);
    if (n == 1)
        return ST_OK;
    rc = obj_kind(c, P_OBJ_KIND, it->warehouse_id, it->ns, it->name, &id, &kind, err);
    if (rc == ST_NOT_FOUND || (rc == ST_OK && kind != it->kind))
        return storecommon_no_object(it->ns, it->name, err);
    if (rc)
        return rc;
    return error_set(err, ST_CONFLICT, ET_COMMIT_FAILED,
                     "Commit failed: %s was changed by another commit (expected metadata %s)",
                     it->name, it->old_location);
}

static enum status obj_commit_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct commit_args *a = arg;
    int64_t now = clock_now_ms();
    enum status rc = ST_OK;
    size_t i;

    *a->failed = SIZE_MAX;
    *a->existing = 0;
    if (a->n > 1 && (rc = lock_items(c, a->items, a->n, err)))
        return rc;
    for (i = 0; i < a->n && rc == ST_OK; i++) {
        const struct store_cas *it = &a->items[i];

        if (it->old_location)
            rc = obj_swap(c, it, now, err);
        else
            rc = obj_create(c, it, now, a->existing, err);
        if (rc && a->failed)
            *a->failed = i;
        if (rc == ST_OK)
            pgstore_note(c, pgstore_kind_name(it->kind), it->warehouse_id, it->ns, it->name);
    }
    return rc;
}

static enum status pg_obj_commit(struct store_conn *base, const struct store_cas *items, size_t n,
                                 size_t *failed, enum store_kind *existing_kind, struct error *err)
{
    size_t failed_at = SIZE_MAX;
    enum store_kind found = 0;
    struct commit_args a = {items, n, &failed_at, &found};
    enum status rc;

    /* Attempts report into locals; only the last one's answer reaches the caller. */
    rc = pgstore_run((struct pg_conn *)base, PG_MUTATION, obj_commit_body, &a, NULL, err);
    if (rc && failed && failed_at != SIZE_MAX)
        *failed = failed_at;
    if (rc && existing_kind && found)
        *existing_kind = found;
    return rc;
}

struct drop_args {
    int64_t wh;
    const char *ns;
    const char *name;
    enum store_kind kind;
    char **location;
};

static enum status obj_drop_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct drop_args *a = arg;
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_int(&p, a->wh);
    pgstore_param_text(&p, a->ns);
    pgstore_param_text(&p, a->name);
    pgstore_param_int(&p, a->kind);
    if ((rc = pgstore_exec(c, P_OBJ_DELETE, &p, &res, err)))
        return rc;
    if (PQntuples(res) == 0) {
        rc = storecommon_no_object(a->ns, a->name, err);
    } else {
        if (a->location)
            *a->location = pgstore_dup(res, 0, 0, false);
        pgstore_note(c, pgstore_kind_name(a->kind), a->wh, a->ns, a->name);
    }
    PQclear(res);
    return rc;
}

static void obj_drop_undo(void *arg)
{
    struct drop_args *a = arg;

    if (a->location) {
        free(*a->location);
        *a->location = NULL;
    }
}

static enum status pg_obj_drop(struct store_conn *base, int64_t wh, const char *ns,
                               const char *name, enum store_kind kind, char **metadata_location,
                               struct error *err)
{
    struct drop_args a = {wh, ns, name, kind, metadata_location};

    return pgstore_run((struct pg_conn *)base, PG_MUTATION, obj_drop_body, &a, obj_drop_undo, err);
}

struct rename_args {
    int64_t wh;
    enum store_kind kind;
    const char *src_ns, *src_name, *dst_ns, *dst_name;
    enum store_kind *existing;
};

static enum status obj_rename_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct rename_args *a = arg;
    enum store_kind kind = STORE_TABLE;
    struct pg_params p = {0};
    int64_t id = 0, other;
    enum status rc;

    rc = obj_kind(c, P_OBJ_KIND_FOR_UPDATE, a->wh, a->src_ns, a->src_name, &id, &kind, err);
    if (rc == ST_NOT_FOUND || (rc == ST_OK && kind != a->kind))
        return storecommon_no_object(a->src_ns, a->src_name, err);
    if (rc || (rc = ns_check(c, P_NS_SHARE, a->wh, a->dst_ns, err)))
        return rc;
    /* Renaming onto itself finds its own name taken: ST_EXISTS, as for any taken name. */
    rc = obj_kind(c, P_OBJ_KIND, a->wh, a->dst_ns, a->dst_name, &other, &kind, err);
    if (rc == ST_OK) {
        if (a->existing)
            *a->existing = kind;
        return storecommon_name_taken(a->dst_ns, a->dst_name, kind, err);
    }
    if (rc != ST_NOT_FOUND)
        return rc;
    pgstore_param_int(&p, id);
    pgstore_param_text(&p, a->dst_ns);
    pgstore_param_text(&p, a->dst_name);
    pgstore_param_int(&p, clock_now_ms());
    rc = pgstore_exec_done(c, P_OBJ_RENAME, &p, err);
    if (rc == ST_EXISTS) /* created meanwhile: the next attempt reports its kind */
        c->retry_tx = true;
    if (rc == ST_NOT_FOUND) /* the foreign key */
        return storecommon_no_namespace(a->dst_ns, err);
    if (rc)
        return rc;
    pgstore_note(c, pgstore_kind_name(a->kind), a->wh, a->src_ns, a->src_name);
    pgstore_note(c, pgstore_kind_name(a->kind), a->wh, a->dst_ns, a->dst_name);
    return ST_OK;
}

static enum status pg_obj_rename(struct store_conn *base, int64_t wh, enum store_kind kind,
                                 const char *src_ns, const char *src_name, const char *dst_ns,
                                 const char *dst_name, enum store_kind *existing_kind,
                                 struct error *err)
{
    struct rename_args a = {wh, kind, src_ns, src_name, dst_ns, dst_name, existing_kind};

    return pgstore_run((struct pg_conn *)base, PG_MUTATION, obj_rename_body, &a, NULL, err);
}

/* --- idempotency records --- */

static void idem_params(struct pg_params *p, const struct store_idem *rec, int64_t now)
{
    pgstore_param_int(p, rec->warehouse_id);
    pgstore_param_text(p, rec->key);
    pgstore_param_text(p, rec->fingerprint);
    pgstore_param_int(p, rec->status);
    pgstore_param_text(p, rec->body);
    pgstore_param_text(p, rec->etag);
    pgstore_param_int(p, now);
    pgstore_param_int(p, rec->expires_ms);
}

/* idem_try_insert inserts rec; *id is 0 when the key is taken. */
static enum status idem_try_insert(struct pg_conn *c, const struct store_idem *rec, int64_t now,
                                   int64_t *id, struct error *err)
{
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    idem_params(&p, rec, now);
    rc = pgstore_exec(c, P_IDEM_INSERT, &p, &res, err);
    if (rc == ST_NOT_FOUND)
        return storecommon_no_warehouse(rec->warehouse_id, err);
    if (rc)
        return rc;
    *id = PQntuples(res) == 1 ? pgstore_int(res, 0, 0) : 0;
    PQclear(res);
    return ST_OK;
}

enum status pgstore_idem_insert(struct pg_conn *c, const struct store_idem *rec, int64_t now,
                                int64_t *id, struct error *err)
{
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;
    int64_t deleted;

    *id = 0;
    if ((rc = idem_try_insert(c, rec, now, id, err)) || *id)
        return rc;
    /* Taken: by a record that has expired, it gives way. */
    pgstore_param_int(&p, rec->warehouse_id);
    pgstore_param_text(&p, rec->key);
    pgstore_param_int(&p, now);
    if ((rc = pgstore_exec(c, P_IDEM_DELETE_EXPIRED, &p, &res, err)))
        return rc;
    deleted = pgstore_changed(res);
    PQclear(res);
    if (deleted && (rc = idem_try_insert(c, rec, now, id, err)))
        return rc;
    if (*id)
        return ST_OK;
    return error_set(err, ST_REPLAY, ET_NONE,
                     "The idempotency key was used already by another request");
}

struct idem_args {
    int64_t wh;
    const char *key;
    struct store_idem *out;
    int64_t id;
    const struct store_idem *rec; /* finish */
    int64_t now;                  /* purge */
    int64_t deleted;              /* purge */
};

/* idem_read reads the record of a->key into a->out and its id into a->id, expired or not. */
static enum status idem_read(struct pg_conn *c, enum pg_stmt id, struct idem_args *a,
                             struct error *err)
{
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_int(&p, a->wh);
    pgstore_param_text(&p, a->key);
    if ((rc = pgstore_exec(c, id, &p, &res, err)))
        return rc;
    if (PQntuples(res) == 0) {
        rc = ST_NOT_FOUND;
    } else {
        a->id = pgstore_int(res, 0, 0);
        a->out->warehouse_id = a->wh;
        a->out->key = xstrdup(a->key);
        a->out->fingerprint = pgstore_dup(res, 0, 1, false);
        a->out->status = (int)pgstore_int(res, 0, 2);
        a->out->body = pgstore_dup(res, 0, 3, true);
        a->out->etag = pgstore_dup(res, 0, 4, true);
        a->out->expires_ms = pgstore_int(res, 0, 5);
    }
    PQclear(res);
    return rc;
}

static enum status idem_get_body(struct pg_conn *c, void *arg, struct error *err)
{
    return idem_read(c, P_IDEM_GET, arg, err);
}

static void idem_undo(void *arg)
{
    store_idem_cleanup(((struct idem_args *)arg)->out);
}

static enum status pg_idem_get(struct store_conn *base, int64_t wh, const char *key, int64_t now_ms,
                               struct store_idem *out, struct error *err)
{
    struct idem_args a = {.wh = wh, .key = key, .out = out};
    enum status rc =
        pgstore_run((struct pg_conn *)base, PG_READ, idem_get_body, &a, idem_undo, err);

    if (rc == ST_OK && out->expires_ms <= now_ms) {
        store_idem_cleanup(out);
        rc = ST_NOT_FOUND;
    }
    if (rc == ST_NOT_FOUND)
        error_set(err, ST_NOT_FOUND, ET_NONE, "No record of this idempotency key");
    return rc;
}

/*
 * idem_finish_body fills in the response of the key, as the SQLite backend
 * does: only the pending record that a mutation committed on this connection
 * inserted is completed in place; any other live record means another
 * request answers for the key (ST_REPLAY); an absent or expired one is
 * replaced by rec.
 */
static enum status idem_finish_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct idem_args *a = arg;
    struct store_idem cur = {0};
    struct pg_params p = {0};
    int64_t now = clock_now_ms(), id = 0;
    enum status rc;

    a->out = &cur;
    rc = idem_read(c, P_IDEM_GET_FOR_UPDATE, a, err);
    if (rc == ST_NOT_FOUND || (rc == ST_OK && cur.expires_ms <= now)) {
        rc = pgstore_idem_insert(c, a->rec, now, &id, err);
        goto out;
    }
    if (rc)
        goto out;
    if (cur.status != 0 || a->id != c->idem_owned) {
        rc = error_set(err, ST_REPLAY, ET_NONE,
                       "Another request with this idempotency key finished first");
        goto out;
    }
    pgstore_param_int(&p, a->id);
    pgstore_param_int(&p, a->rec->status);
    pgstore_param_text(&p, a->rec->body);
    pgstore_param_text(&p, a->rec->etag);
    rc = pgstore_exec_done(c, P_IDEM_FINISH, &p, err);
out:
    store_idem_cleanup(&cur);
    a->out = NULL;
    return rc;
}

static enum status pg_idem_finish(struct store_conn *base, const struct store_idem *rec,
                                  struct error *err)
{
    struct pg_conn *c = (struct pg_conn *)base;
    struct idem_args a = {.wh = rec->warehouse_id, .key = rec->key, .rec = rec};
    enum status rc = pgstore_run(c, PG_WRITE, idem_finish_body, &a, NULL, err);

    if (rc == ST_OK)
        c->idem_owned = 0;
    return rc;
}

static enum status idem_purge_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct idem_args *a = arg;
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_int(&p, a->now);
    pgstore_param_int(&p, PG_PURGE_BATCH);
    if ((rc = pgstore_exec(c, P_IDEM_PURGE, &p, &res, err)))
        return rc;
    a->deleted = pgstore_changed(res);
    PQclear(res);
    return ST_OK;
}

static enum status pg_idem_purge(struct store_conn *base, int64_t now_ms, int64_t *deleted,
                                 struct error *err)
{
    struct idem_args a = {.now = now_ms};
    enum status rc;

    do {
        a.deleted = 0;
        if ((rc = pgstore_run((struct pg_conn *)base, PG_WRITE, idem_purge_body, &a, NULL, err)))
            return rc;
        *deleted += a.deleted;
    } while (a.deleted == PG_PURGE_BATCH);
    return ST_OK;
}

const struct store_backend_ops pgstore_ops = {
    .name = "postgres",
    .close = pgstore_close,
    .connect = pgstore_connect,
    .disconnect = pgstore_disconnect,
    .ping = pgstore_ping,
    .set_deadline = pgstore_set_deadline,
    .try_lease = pgstore_try_lease,
    .listen = pgstore_listen,
    .poll_changes = pgstore_poll_changes,
    .warehouse_ensure = pg_warehouse_ensure,
    .warehouse_create = pg_warehouse_create,
    .warehouse_list = pg_warehouse_list,
    .warehouse_set_storage = pg_warehouse_set_storage,
    .warehouse_delete = pg_warehouse_delete,
    .warehouse_get = pg_warehouse_get,
    .ns_create = pg_ns_create,
    .ns_get = pg_ns_get,
    .ns_list = pg_ns_list,
    .ns_drop = pg_ns_drop,
    .ns_update_props = pg_ns_update_props,
    .obj_get = pg_obj_get,
    .obj_head = pg_obj_head,
    .obj_head_many = pg_obj_head_many,
    .obj_list = pg_obj_list,
    .obj_commit = pg_obj_commit,
    .obj_drop = pg_obj_drop,
    .obj_rename = pg_obj_rename,
    .idem_get = pg_idem_get,
    .idem_finish = pg_idem_finish,
    .idem_purge = pg_idem_purge,
};
