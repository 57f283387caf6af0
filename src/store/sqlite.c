/*
 * sqlite.c - the SQLite store backend.
 *
 * One sqlite3 handle per thread (SQLITE_OPEN_NOMUTEX), WAL journal,
 * synchronous=NORMAL, foreign keys on, a 5 s busy timeout. Every transaction
 * that may write starts with BEGIN IMMEDIATE: a deferred transaction that
 * reads and then writes fails at once with SQLITE_BUSY_SNAPSHOT when another
 * connection committed in between, and the busy timeout cannot help it.
 * Multi-statement reads use a plain BEGIN for one consistent snapshot.
 * Statements are prepared once per connection and reset after every use, so
 * no statement keeps a read snapshot open between calls.
 *
 * Idempotency-Key records (DESIGN.md invariant 3): every mutation opens its
 * transaction with tx_begin_mutation, which inserts the armed connection's
 * pending record first, and tx_finish's commit consumes the arming.
 */
#include "store/backend.h"
#include "store/common.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/clock.h"

#define SQ_BUSY_TIMEOUT_MS 5000
/* Expired idempotency records are purged this many per transaction, so a backlog never holds
   the write lock for long. */
#define SQ_PURGE_BATCH 1000

extern const struct store_migration store_migrations_sqlite[];

enum stmt_id {
    S_BEGIN_WRITE,
    S_BEGIN_READ,
    S_COMMIT,
    S_ROLLBACK,
    S_PING,
    S_WH_GET,
    S_WH_INSERT,
    S_WH_EXISTS,
    S_WH_LIST,
    S_WH_SET_STORAGE,
    S_WH_HAS_NS,
    S_WH_DELETE_IDEM,
    S_WH_DELETE,
    S_NS_GET,
    S_NS_INSERT,
    S_NS_LIST,
    S_NS_CHILDREN,
    S_NS_OBJECTS,
    S_NS_DELETE,
    S_NS_SET_PROPS,
    S_OBJ_GET,
    S_OBJ_HEAD,
    S_OBJ_LIST,
    S_OBJ_CAS,
    S_OBJ_INSERT,
    S_OBJ_DELETE,
    S_OBJ_RENAME,
    S_IDEM_GET,
    S_IDEM_DELETE_EXPIRED,
    S_IDEM_INSERT,
    S_IDEM_FINISH,
    S_IDEM_PURGE,
    S__COUNT
};

static const char *const stmt_sql[S__COUNT] = {
    [S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_PING] = "SELECT 1",
    [S_WH_GET] = "SELECT id, name, location, storage, created_ms FROM warehouses WHERE name = ?1",
    [S_WH_INSERT] = "INSERT OR IGNORE INTO warehouses (name, location, storage, created_ms) "
                    "VALUES (?1, ?2, ?3, ?4)",
    [S_WH_EXISTS] = "SELECT 1 FROM warehouses WHERE id = ?1",
    [S_WH_LIST] = "SELECT id, name, location, storage, created_ms FROM warehouses ORDER BY name",
    [S_WH_SET_STORAGE] = "UPDATE warehouses SET storage = ?2 WHERE name = ?1",
    [S_WH_HAS_NS] = "SELECT 1 FROM namespaces WHERE warehouse_id = ?1 LIMIT 1",
    [S_WH_DELETE_IDEM] = "DELETE FROM idempotency WHERE warehouse_id = ?1",
    [S_WH_DELETE] = "DELETE FROM warehouses WHERE id = ?1",
    [S_NS_GET] = "SELECT properties FROM namespaces WHERE warehouse_id = ?1 AND name = ?2",
    [S_NS_INSERT] = "INSERT INTO namespaces (warehouse_id, name, parent, properties, created_ms) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_NS_LIST] = "SELECT name FROM namespaces WHERE warehouse_id = ?1 AND parent = ?2 "
                  "AND name > ?3 ORDER BY name LIMIT ?4",
    [S_NS_CHILDREN] = "SELECT count(*) FROM namespaces WHERE warehouse_id = ?1 AND parent = ?2",
    [S_NS_OBJECTS] = "SELECT count(*) FROM objects WHERE warehouse_id = ?1 AND namespace = ?2 "
                     "AND kind = ?3",
    [S_NS_DELETE] = "DELETE FROM namespaces WHERE warehouse_id = ?1 AND name = ?2",
    [S_NS_SET_PROPS] = "UPDATE namespaces SET properties = ?3 WHERE warehouse_id = ?1 "
                       "AND name = ?2",
    [S_OBJ_GET] = "SELECT id, kind, metadata_location, metadata, version FROM objects "
                  "WHERE warehouse_id = ?1 AND namespace = ?2 AND name = ?3",
    /* Columns before metadata only: reading past it would walk its overflow pages. */
    [S_OBJ_HEAD] = "SELECT id, kind, metadata_location FROM objects "
                   "WHERE warehouse_id = ?1 AND namespace = ?2 AND name = ?3",
    [S_OBJ_LIST] = "SELECT name FROM objects WHERE warehouse_id = ?1 AND namespace = ?2 "
                   "AND kind = ?3 AND name > ?4 ORDER BY name LIMIT ?5",
    [S_OBJ_CAS] = "UPDATE objects SET metadata_location = ?1, metadata = ?2, "
                  "version = version + 1, updated_ms = ?3 WHERE warehouse_id = ?4 "
                  "AND namespace = ?5 AND name = ?6 AND kind = ?7 AND metadata_location = ?8",
    [S_OBJ_INSERT] = "INSERT INTO objects (warehouse_id, namespace, name, kind, "
                     "metadata_location, metadata, version, created_ms, updated_ms) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)",
    [S_OBJ_DELETE] = "DELETE FROM objects WHERE id = ?1",
    [S_OBJ_RENAME] = "UPDATE objects SET namespace = ?2, name = ?3, updated_ms = ?4 "
                     "WHERE id = ?1",
    [S_IDEM_GET] = "SELECT id, fingerprint, status, body, etag, expires_ms FROM idempotency "
                   "WHERE warehouse_id = ?1 AND key = ?2",
    [S_IDEM_DELETE_EXPIRED] = "DELETE FROM idempotency WHERE warehouse_id = ?1 AND key = ?2 "
                              "AND expires_ms <= ?3",
    [S_IDEM_INSERT] = "INSERT INTO idempotency (warehouse_id, key, fingerprint, status, body, "
                      "etag, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_IDEM_FINISH] = "UPDATE idempotency SET status = ?2, body = ?3, etag = ?4 WHERE id = ?1",
    [S_IDEM_PURGE] = "DELETE FROM idempotency WHERE id IN (SELECT id FROM idempotency "
                     "WHERE expires_ms <= ?1 LIMIT ?2)",
};

struct sq_store {
    struct store base;
    char *path;
};

struct sq_conn {
    struct store_conn base;
    sqlite3 *db;
    sqlite3_stmt *stmts[S__COUNT];
    /* The idempotency row the open transaction inserted (tx_begin_mutation), 0 if none. */
    int64_t idem_claim;
    /* The idempotency row a committed mutation on this connection inserted last, 0 if none:
       only that pending row may be completed by sq_idem_finish on this connection. */
    int64_t idem_owned;
};

/* A compact description of one object row, for the checks inside transactions. */
struct obj_row {
    int64_t id;
    enum store_kind kind;
};

static const struct store_backend_ops sq_ops;

/* --- errors, statements, transactions --- */

/*
 * sq_fail turns a failed SQLite result code into a status: busy or locked
 * (after the busy timeout) is ST_UNAVAILABLE, everything else ST_INTERNAL.
 */
static enum status sq_fail(sqlite3 *db, int rc, const char *what, struct error *err)
{
    int primary = rc & 0xff;

    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                         "The catalog database is busy (%s); retry later", what);
    if (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR || primary == SQLITE_FULL)
        return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                         "The catalog database is unavailable (%s): %s", what,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    return error_set(err, ST_INTERNAL, ET_INTERNAL, "Catalog database error (%s): %s", what,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* stmt gets the cached statement id, preparing it on first use; it comes back reset. */
static enum status stmt(struct sq_conn *c, enum stmt_id id, sqlite3_stmt **out, struct error *err)
{
    int rc;

    *out = NULL; /* set on every path, which also lets the optimiser see callers' uses are safe */
    if (!c->stmts[id]) {
        rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id],
                                NULL);
        if (rc != SQLITE_OK)
            return sq_fail(c->db, rc, "prepare", err);
    } else {
        sqlite3_reset(c->stmts[id]);
        sqlite3_clear_bindings(c->stmts[id]);
    }
    *out = c->stmts[id];
    return ST_OK;
}

/* Strings stay alive for the whole call, so SQLite need not copy them. */
static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/*
 * step_row steps s once: ST_OK with a row to read, ST_NOT_FOUND when there is
 * none (err untouched, s reset), or an error (s reset). The caller resets s
 * after reading a row.
 */
static enum status step_row(struct sq_conn *c, sqlite3_stmt *s, struct error *err)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        return ST_OK;
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return ST_NOT_FOUND;
    return sq_fail(c->db, rc, "query", err);
}

/* step_done runs a statement that returns no rows and resets it. */
static enum status step_done(struct sq_conn *c, sqlite3_stmt *s, struct error *err)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ST_OK : sq_fail(c->db, rc, "update", err);
}

static enum status run(struct sq_conn *c, enum stmt_id id, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc = stmt(c, id, &s, err);

    return rc ? rc : step_done(c, s, err);
}

/* tx_begin starts a write (BEGIN IMMEDIATE) or read (BEGIN) transaction. */
static enum status tx_begin(struct sq_conn *c, bool write, struct error *err)
{
    return run(c, write ? S_BEGIN_WRITE : S_BEGIN_READ, err);
}

/* tx_rollback undoes the open transaction, if any; its own failure changes nothing. */
static void tx_rollback(struct sq_conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        run(c, S_ROLLBACK, NULL);
}

/*
 * tx_finish commits when rc is ST_OK and rolls back otherwise (also when the
 * commit fails), returning the final status. When the transaction carried the
 * connection's idempotency record (tx_begin_mutation), a commit consumes it.
 */
static enum status tx_finish(struct sq_conn *c, enum status rc, struct error *err)
{
    int64_t claim = c->idem_claim;

    c->idem_claim = 0;
    if (rc == ST_OK && (rc = run(c, S_COMMIT, err)) == ST_OK) {
        if (claim) {
            c->idem_owned = claim;
            store_conn_idem_done(&c->base);
        }
        return ST_OK;
    }
    tx_rollback(c);
    return rc;
}

/* col_dup_null copies text column i, or returns NULL for an SQL NULL. */
static char *col_dup_null(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t ? xstrdup((const char *)t) : NULL;
}

/* bind_text_null binds v, or SQL NULL when v is NULL. */
static void bind_text_null(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        bind_text(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

/*
 * idem_insert inserts rec into idempotency, deleting first a record of the
 * same key that has expired at now. ST_REPLAY when the key is recorded and
 * not expired; *id gets the new row's id.
 */
static enum status idem_insert(struct sq_conn *c, const struct store_idem *rec, int64_t now,
                               int64_t *id, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;
    int src;

    if ((rc = stmt(c, S_IDEM_DELETE_EXPIRED, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, rec->warehouse_id);
    bind_text(s, 2, rec->key);
    sqlite3_bind_int64(s, 3, now);
    if ((rc = step_done(c, s, err)) || (rc = stmt(c, S_IDEM_INSERT, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, rec->warehouse_id);
    bind_text(s, 2, rec->key);
    bind_text(s, 3, rec->fingerprint);
    sqlite3_bind_int(s, 4, rec->status);
    bind_text_null(s, 5, rec->body);
    bind_text_null(s, 6, rec->etag);
    sqlite3_bind_int64(s, 7, now);
    sqlite3_bind_int64(s, 8, rec->expires_ms);
    src = sqlite3_step(s);
    sqlite3_reset(s);
    if (src == SQLITE_CONSTRAINT_UNIQUE)
        return error_set(err, ST_REPLAY, ET_NONE,
                         "The idempotency key was used already by another request");
    if (src != SQLITE_DONE)
        return sq_fail(c->db, src, "idempotency", err);
    *id = sqlite3_last_insert_rowid(c->db);
    return ST_OK;
}

/*
 * tx_begin_mutation starts the write transaction of a mutation that an
 * Idempotency-Key can guard (DESIGN.md invariant 3). When c is armed, the
 * key's pending record (status 0) is inserted first, inside the same
 * transaction: a key recorded already (and not expired) makes the call fail
 * with ST_REPLAY before the mutation runs, with nothing written, so a retry
 * is answered as a replay rather than with the error its own mutation would
 * meet (say ST_EXISTS for a namespace the first attempt created). Because the
 * record shares the transaction, any failure of the mutation rolls it back
 * too, and c stays armed; only tx_finish's commit consumes it.
 */
static enum status tx_begin_mutation(struct sq_conn *c, struct error *err)
{
    enum status rc;

    c->idem_claim = 0;
    if ((rc = tx_begin(c, true, err)) || !c->base.idem_armed)
        return rc;
    if ((rc = idem_insert(c, &c->base.idem, clock_now_ms(), &c->idem_claim, err))) {
        c->idem_claim = 0;
        tx_rollback(c);
    }
    return rc;
}

/* col_dup copies text column i (never NULL: an SQL NULL becomes ""). */
static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return xstrdup(t ? (const char *)t : "");
}

/* --- opening, migrations, connections --- */

/* mkdir_parents creates every missing directory above the file at path (mode 0755). */
static void mkdir_parents(const char *path)
{
    char *p = xstrdup(path), *s;

    for (s = p + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            break;
        *s = '/';
    }
    free(p);
}

static enum status exec_sql(sqlite3 *db, const char *sql, const char *what, struct error *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? ST_OK : sq_fail(db, rc, what, err);
}

/*
 * db_open opens path with this module's settings. Switching a new file to WAL
 * needs an exclusive lock and does not always wait on the busy handler, so
 * that pragma is retried while other processes open the same file.
 */
static enum status db_open(const char *path, sqlite3 **out, struct error *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int64_t deadline = clock_mono_ns() + (int64_t)SQ_BUSY_TIMEOUT_MS * 1000000;
    sqlite3 *db = NULL;
    enum status rc;
    int src;

    *out = NULL;
    src = sqlite3_open_v2(path, &db, flags, NULL);
    if (src != SQLITE_OK) {
        rc = error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                       "Cannot open the catalog database %s: %s", path,
                       db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
        sqlite3_close(db);
        return rc;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
    while ((rc = exec_sql(db, "PRAGMA journal_mode=WAL", "journal mode", err)) == ST_UNAVAILABLE &&
           clock_mono_ns() < deadline)
        clock_sleep_ms(10);
    if (rc == ST_OK)
        rc = exec_sql(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", "pragmas", err);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return ST_OK;
}

/* migration_applied says whether version v is recorded in schema_migrations. */
static enum status migration_applied(sqlite3 *db, int v, bool *applied, struct error *err)
{
    sqlite3_stmt *s = NULL;
    int rc =
        sqlite3_prepare_v2(db, "SELECT 1 FROM schema_migrations WHERE version = ?1", -1, &s, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int(s, 1, v);
        rc = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(db, rc, "migrations", err);
    *applied = rc == SQLITE_ROW;
    return ST_OK;
}

static enum status migration_record(sqlite3 *db, int v, struct error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(
        db, "INSERT INTO schema_migrations (version, applied_ms) VALUES (?1, ?2)", -1, &s, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int(s, 1, v);
        sqlite3_bind_int64(s, 2, clock_now_ms());
        rc = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? ST_OK : sq_fail(db, rc, "migrations", err);
}

/*
 * migrate applies every pending migration in one BEGIN IMMEDIATE
 * transaction, so processes starting together apply each version once: the
 * second waits for the first's commit and then finds nothing to do.
 */
static enum status migrate(sqlite3 *db, struct error *err)
{
    const struct store_migration *m;
    enum status rc;
    bool applied = false;

    if ((rc = exec_sql(db, "BEGIN IMMEDIATE", "migrations", err)))
        return rc;
    rc = exec_sql(db,
                  "CREATE TABLE IF NOT EXISTS schema_migrations "
                  "(version INTEGER PRIMARY KEY, applied_ms INTEGER)",
                  "migrations", err);
    for (m = store_migrations_sqlite; rc == ST_OK && m->sql; m++) {
        if ((rc = migration_applied(db, m->version, &applied, err)) || applied)
            continue;
        if ((rc = exec_sql(db, m->sql, "migration", err))) {
            error_set(err, ST_INTERNAL, ET_INTERNAL, "Store migration %d failed: %s", m->version,
                      sqlite3_errmsg(db));
            break;
        }
        rc = migration_record(db, m->version, err);
    }
    if (rc == ST_OK)
        rc = exec_sql(db, "COMMIT", "migrations", err);
    if (rc)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

enum status store_sqlite_open(const char *path, struct store **out, struct error *err)
{
    struct sq_store *st;
    sqlite3 *db;
    enum status rc;

    *out = NULL;
    mkdir_parents(path);
    if ((rc = db_open(path, &db, err)))
        return rc;
    rc = migrate(db, err);
    sqlite3_close(db);
    if (rc)
        return rc;
    st = xcalloc(1, sizeof(*st));
    st->base.ops = &sq_ops;
    st->path = xstrdup(path);
    *out = &st->base;
    return ST_OK;
}

static void sq_close(struct store *base)
{
    struct sq_store *st = (struct sq_store *)base;

    free(st->path);
    free(st);
}

static enum status sq_connect(struct store *base, struct store_conn **out, struct error *err)
{
    struct sq_store *st = (struct sq_store *)base;
    struct sq_conn *c;
    sqlite3 *db;
    enum status rc;

    if ((rc = db_open(st->path, &db, err)))
        return rc;
    c = xcalloc(1, sizeof(*c));
    c->base.st = base;
    c->db = db;
    *out = &c->base;
    return ST_OK;
}

static void sq_disconnect(struct store_conn *base)
{
    struct sq_conn *c = (struct sq_conn *)base;
    int i;

    for (i = 0; i < S__COUNT; i++)
        sqlite3_finalize(c->stmts[i]);
    sqlite3_close(c->db);
    free(c);
}

static enum status sq_ping(struct store_conn *base, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_PING, &s, err)) || (rc = step_row(c, s, err)))
        return rc == ST_NOT_FOUND ? sq_fail(c->db, SQLITE_ERROR, "ping", err) : rc;
    sqlite3_reset(s);
    return ST_OK;
}

/* --- warehouses --- */

/* wh_fill copies the warehouse row s is on (the columns of S_WH_GET) into out. */
static void wh_fill(sqlite3_stmt *s, struct store_warehouse *out)
{
    out->id = sqlite3_column_int64(s, 0);
    out->name = col_dup(s, 1);
    out->location = col_dup(s, 2);
    out->storage = col_dup(s, 3);
    out->created_ms = sqlite3_column_int64(s, 4);
}

/* wh_read reads the warehouse called name; ST_NOT_FOUND (err untouched) when absent. */
static enum status wh_read(struct sq_conn *c, const char *name, struct store_warehouse *out,
                           struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_WH_GET, &s, err)))
        return rc;
    bind_text(s, 1, name);
    if ((rc = step_row(c, s, err)))
        return rc;
    wh_fill(s, out);
    sqlite3_reset(s);
    return ST_OK;
}

/*
 * wh_insert_read inserts the warehouse unless its name is taken (*inserted
 * says which) and reads the row that has the name now.
 */
static enum status wh_insert_read(struct sq_conn *c, const char *name, const char *location,
                                  const char *storage, bool *inserted, struct store_warehouse *out,
                                  struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_WH_INSERT, &s, err)))
        return rc;
    bind_text(s, 1, name);
    bind_text(s, 2, location);
    bind_text(s, 3, storage);
    sqlite3_bind_int64(s, 4, clock_now_ms());
    if ((rc = step_done(c, s, err)))
        return rc;
    *inserted = sqlite3_changes(c->db) == 1;
    rc = wh_read(c, name, out, err);
    return rc == ST_NOT_FOUND ? sq_fail(c->db, SQLITE_ERROR, "warehouse", err) : rc;
}

static enum status sq_warehouse_ensure(struct store_conn *base, const char *name,
                                       const char *location, const char *storage,
                                       struct store_warehouse *out, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    bool inserted;
    enum status rc;

    /* The common case, an existing warehouse, needs no write lock. */
    rc = wh_read(c, name, out, err);
    if (rc != ST_NOT_FOUND)
        return rc;
    if ((rc = tx_begin(c, true, err)))
        return rc;
    rc = tx_finish(c, wh_insert_read(c, name, location, storage, &inserted, out, err), err);
    if (rc)
        store_warehouse_cleanup(out);
    return rc;
}

static enum status wh_create_tx(struct sq_conn *c, const char *name, const char *location,
                                const char *storage, struct store_warehouse *out, struct error *err)
{
    bool inserted = false;
    enum status rc = wh_insert_read(c, name, location, storage, &inserted, out, err);

    if (rc == ST_OK && !inserted) {
        store_warehouse_cleanup(out);
        rc = storecommon_warehouse_taken(name, err);
    }
    return rc;
}

static enum status sq_warehouse_create(struct store_conn *base, const char *name,
                                       const char *location, const char *storage,
                                       struct store_warehouse *out, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin(c, true, err)))
        return rc;
    rc = tx_finish(c, wh_create_tx(c, name, location, storage, out, err), err);
    if (rc)
        store_warehouse_cleanup(out);
    return rc;
}

/* One statement reads every row from one snapshot, so the listing needs no transaction. */
static enum status sq_warehouse_list(struct store_conn *base, struct store_warehouse **out,
                                     size_t *n, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_WH_LIST, &s, err)))
        return rc;
    while ((rc = step_row(c, s, err)) == ST_OK) {
        if ((*n & (*n - 1)) == 0) /* grow at 0, 1, 2, 4, 8, ... */
            *out = xrealloc(*out, (*n ? *n * 2 : 1) * sizeof(**out));
        memset(&(*out)[*n], 0, sizeof(**out));
        wh_fill(s, &(*out)[(*n)++]);
    }
    return rc == ST_NOT_FOUND ? ST_OK : rc;
}

static enum status wh_set_storage_tx(struct sq_conn *c, const char *name, const char *storage,
                                     struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_WH_SET_STORAGE, &s, err)))
        return rc;
    bind_text(s, 1, name);
    bind_text(s, 2, storage);
    if ((rc = step_done(c, s, err)))
        return rc;
    return sqlite3_changes(c->db) == 1 ? ST_OK : storecommon_no_warehouse_named(name, err);
}

static enum status sq_warehouse_set_storage(struct store_conn *base, const char *name,
                                            const char *storage, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin(c, true, err)))
        return rc;
    return tx_finish(c, wh_set_storage_tx(c, name, storage, err), err);
}

/* wh_run_id runs statement id, which takes the warehouse id as its only parameter. */
static enum status wh_run_id(struct sq_conn *c, enum stmt_id id, int64_t wh, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, id, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    return step_done(c, s, err);
}

static enum status wh_delete_tx(struct sq_conn *c, const char *name, struct error *err)
{
    struct store_warehouse w = {0};
    sqlite3_stmt *s;
    enum status rc;

    rc = wh_read(c, name, &w, err);
    if (rc == ST_NOT_FOUND)
        rc = storecommon_no_warehouse_named(name, err);
    if (rc || (rc = stmt(c, S_WH_HAS_NS, &s, err)))
        goto out;
    sqlite3_bind_int64(s, 1, w.id);
    rc = step_row(c, s, err);
    if (rc == ST_OK) {
        sqlite3_reset(s);
        rc = storecommon_warehouse_not_empty(name, err);
        goto out;
    }
    if (rc != ST_NOT_FOUND)
        goto out;
    /* No namespace means no table or view either: objects need their namespace (a foreign key). */
    if ((rc = wh_run_id(c, S_WH_DELETE_IDEM, w.id, err)) == ST_OK)
        rc = wh_run_id(c, S_WH_DELETE, w.id, err);
out:
    store_warehouse_cleanup(&w);
    return rc;
}

static enum status sq_warehouse_delete(struct store_conn *base, const char *name, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin(c, true, err)))
        return rc;
    return tx_finish(c, wh_delete_tx(c, name, err), err);
}

static enum status sq_warehouse_get(struct store_conn *base, const char *name,
                                    struct store_warehouse *out, struct error *err)
{
    enum status rc = wh_read((struct sq_conn *)base, name, out, err);

    if (rc == ST_NOT_FOUND)
        storecommon_no_warehouse_named(name, err);
    return rc;
}

static enum status wh_check(struct sq_conn *c, int64_t wh, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_WH_EXISTS, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    rc = step_row(c, s, err);
    sqlite3_reset(s);
    if (rc == ST_NOT_FOUND)
        storecommon_no_warehouse(wh, err);
    return rc;
}

/* --- namespaces --- */

/*
 * ns_read reads ns's properties into *props (owned; may be NULL to only check
 * existence). ST_NOT_FOUND (err untouched) when absent.
 */
static enum status ns_read(struct sq_conn *c, int64_t wh, const char *ns, char **props,
                           struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_NS_GET, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    bind_text(s, 2, ns);
    if ((rc = step_row(c, s, err)))
        return rc;
    if (props)
        *props = col_dup(s, 0);
    sqlite3_reset(s);
    return ST_OK;
}

/* ns_props is ns_read reporting an absent namespace as ET_NO_SUCH_NAMESPACE. */
static enum status ns_props(struct sq_conn *c, int64_t wh, const char *ns, char **props,
                            struct error *err)
{
    enum status rc = ns_read(c, wh, ns, props, err);

    return rc == ST_NOT_FOUND ? storecommon_no_namespace(ns, err) : rc;
}

static enum status ns_insert(struct sq_conn *c, int64_t wh, const char *ns, const char *parent,
                             const char *props, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = wh_check(c, wh, err)))
        return rc;
    rc = ns_read(c, wh, ns, NULL, err);
    if (rc != ST_NOT_FOUND && rc != ST_OK)
        return rc;
    if (rc == ST_OK)
        return storecommon_ns_taken(ns, err);
    if (*parent && (rc = ns_props(c, wh, parent, NULL, err)))
        return rc;
    if ((rc = stmt(c, S_NS_INSERT, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    bind_text(s, 2, ns);
    bind_text(s, 3, parent);
    bind_text(s, 4, props);
    sqlite3_bind_int64(s, 5, clock_now_ms());
    return step_done(c, s, err);
}

static enum status sq_ns_create(struct store_conn *base, int64_t wh, const char *ns,
                                const char *properties, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    char *props = NULL, *parent = NULL;
    enum status rc;

    if ((rc = storecommon_props_normalize(properties, &props, err)))
        return rc;
    parent = storecommon_ns_parent(ns);
    if ((rc = tx_begin_mutation(c, err)) == ST_OK)
        rc = tx_finish(c, ns_insert(c, wh, ns, parent, props, err), err);
    free(parent);
    free(props);
    return rc;
}

static enum status sq_ns_get(struct store_conn *base, int64_t wh, const char *ns, char **properties,
                             struct error *err)
{
    return ns_props((struct sq_conn *)base, wh, ns, properties, err);
}

/*
 * page_fill reads up to limit names from s (which was bound to ask for
 * limit + 1 rows); a row beyond limit means there is a next page, whose token
 * is the last name returned.
 */
static enum status page_fill(struct sq_conn *c, sqlite3_stmt *s, size_t limit,
                             struct store_page *out, struct error *err)
{
    enum status rc;

    while ((rc = step_row(c, s, err)) == ST_OK) {
        if (!storecommon_page_add(out, limit, col_dup(s, 0))) {
            sqlite3_reset(s);
            return ST_OK;
        }
    }
    return rc == ST_NOT_FOUND ? ST_OK : rc;
}

static enum status ns_list_tx(struct sq_conn *c, int64_t wh, const char *parent, const char *after,
                              size_t limit, struct store_page *out, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if (*parent && (rc = ns_props(c, wh, parent, NULL, err)))
        return rc;
    if ((rc = stmt(c, S_NS_LIST, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    bind_text(s, 2, parent);
    bind_text(s, 3, after);
    sqlite3_bind_int64(s, 4, storecommon_page_limit(limit));
    return page_fill(c, s, limit, out, err);
}

static enum status sq_ns_list(struct store_conn *base, int64_t wh, const char *parent,
                              const char *after, size_t limit, struct store_page *out,
                              struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin(c, false, err)))
        return rc;
    rc = tx_finish(c, ns_list_tx(c, wh, parent, after, limit, out, err), err);
    if (rc)
        store_page_cleanup(out);
    return rc;
}

/* count_one runs a count(*) statement bound to (wh, ns[, kind]). */
static enum status count_one(struct sq_conn *c, enum stmt_id id, int64_t wh, const char *ns,
                             int kind, int64_t *n, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, id, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    bind_text(s, 2, ns);
    if (kind)
        sqlite3_bind_int(s, 3, kind);
    if ((rc = step_row(c, s, err)))
        return rc == ST_NOT_FOUND ? sq_fail(c->db, SQLITE_ERROR, "count", err) : rc;
    *n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return ST_OK;
}

static enum status ns_drop_tx(struct sq_conn *c, int64_t wh, const char *ns, int64_t *tables,
                              int64_t *views, int64_t *children, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = ns_props(c, wh, ns, NULL, err)) ||
        (rc = count_one(c, S_NS_OBJECTS, wh, ns, STORE_TABLE, tables, err)) ||
        (rc = count_one(c, S_NS_OBJECTS, wh, ns, STORE_VIEW, views, err)) ||
        (rc = count_one(c, S_NS_CHILDREN, wh, ns, 0, children, err)))
        return rc;
    if (*tables || *views || *children)
        return storecommon_ns_not_empty(ns, *tables, *views, *children, err);
    if ((rc = stmt(c, S_NS_DELETE, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    bind_text(s, 2, ns);
    return step_done(c, s, err);
}

static enum status sq_ns_drop(struct store_conn *base, int64_t wh, const char *ns, int64_t *tables,
                              int64_t *views, int64_t *children, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin_mutation(c, err)))
        return rc;
    return tx_finish(c, ns_drop_tx(c, wh, ns, tables, views, children, err), err);
}

static enum status ns_update_tx(struct sq_conn *c, int64_t wh, const char *ns, const char *updates,
                                const char *removals, char **old_props, struct error *err)
{
    char *merged = NULL;
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = ns_props(c, wh, ns, old_props, err)) ||
        (rc = storecommon_props_merge(*old_props, updates, removals, &merged, err)) ||
        (rc = stmt(c, S_NS_SET_PROPS, &s, err)))
        goto out;
    sqlite3_bind_int64(s, 1, wh);
    bind_text(s, 2, ns);
    bind_text(s, 3, merged);
    rc = step_done(c, s, err);
out:
    free(merged);
    return rc;
}

static enum status sq_ns_update_props(struct store_conn *base, int64_t wh, const char *ns,
                                      const char *updates, const char *removals, char **old_props,
                                      struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin_mutation(c, err)))
        return rc;
    rc = tx_finish(c, ns_update_tx(c, wh, ns, updates, removals, old_props, err), err);
    if (rc) {
        free(*old_props);
        *old_props = NULL;
    }
    return rc;
}

/* --- tables and views --- */

/*
 * obj_find reads ns.name's row: its id and kind always, the rest when full is
 * given. ST_NOT_FOUND (err untouched) when absent.
 */
static enum status obj_find(struct sq_conn *c, int64_t wh, const char *ns, const char *name,
                            struct obj_row *row, struct store_obj *full, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_OBJ_GET, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    bind_text(s, 2, ns);
    bind_text(s, 3, name);
    if ((rc = step_row(c, s, err)))
        return rc;
    row->id = sqlite3_column_int64(s, 0);
    row->kind = (enum store_kind)sqlite3_column_int(s, 1);
    if (full) {
        full->id = row->id;
        full->kind = row->kind;
        full->ns = xstrdup(ns);
        full->name = xstrdup(name);
        full->metadata_location = col_dup(s, 2);
        full->metadata = col_dup(s, 3);
        full->version = sqlite3_column_int64(s, 4);
    }
    sqlite3_reset(s);
    return ST_OK;
}

static enum status sq_obj_get(struct store_conn *base, int64_t wh, const char *ns, const char *name,
                              struct store_obj *out, struct error *err)
{
    struct obj_row row;
    enum status rc = obj_find((struct sq_conn *)base, wh, ns, name, &row, out, err);

    return rc == ST_NOT_FOUND ? storecommon_no_object(ns, name, err) : rc;
}

static enum status sq_obj_head(struct store_conn *base, int64_t wh, const char *ns,
                               const char *name, struct store_obj *out, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_OBJ_HEAD, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    bind_text(s, 2, ns);
    bind_text(s, 3, name);
    if ((rc = step_row(c, s, err)))
        return rc == ST_NOT_FOUND ? storecommon_no_object(ns, name, err) : rc;
    out->id = sqlite3_column_int64(s, 0);
    out->kind = (enum store_kind)sqlite3_column_int(s, 1);
    out->ns = xstrdup(ns);
    out->name = xstrdup(name);
    out->metadata_location = col_dup(s, 2);
    sqlite3_reset(s);
    return ST_OK;
}

static enum status obj_list_tx(struct sq_conn *c, int64_t wh, const char *ns, enum store_kind kind,
                               const char *after, size_t limit, struct store_page *out,
                               struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = ns_props(c, wh, ns, NULL, err)) || (rc = stmt(c, S_OBJ_LIST, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    bind_text(s, 2, ns);
    sqlite3_bind_int(s, 3, (int)kind);
    bind_text(s, 4, after);
    sqlite3_bind_int64(s, 5, storecommon_page_limit(limit));
    return page_fill(c, s, limit, out, err);
}

static enum status sq_obj_list(struct store_conn *base, int64_t wh, const char *ns,
                               enum store_kind kind, const char *after, size_t limit,
                               struct store_page *out, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin(c, false, err)))
        return rc;
    rc = tx_finish(c, obj_list_tx(c, wh, ns, kind, after, limit, out, err), err);
    if (rc)
        store_page_cleanup(out);
    return rc;
}

/* obj_free_name checks ns exists and name is free in it (ST_EXISTS with *existing). */
static enum status obj_free_name(struct sq_conn *c, int64_t wh, const char *ns, const char *name,
                                 enum store_kind *existing, struct error *err)
{
    struct obj_row row;
    enum status rc;

    if ((rc = ns_props(c, wh, ns, NULL, err)))
        return rc;
    rc = obj_find(c, wh, ns, name, &row, NULL, err);
    if (rc == ST_NOT_FOUND)
        return ST_OK;
    if (rc)
        return rc;
    if (existing)
        *existing = row.kind;
    return storecommon_name_taken(ns, name, row.kind, err);
}

static enum status obj_create(struct sq_conn *c, const struct store_cas *it, int64_t now,
                              enum store_kind *existing, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = obj_free_name(c, it->warehouse_id, it->ns, it->name, existing, err)) ||
        (rc = stmt(c, S_OBJ_INSERT, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, it->warehouse_id);
    bind_text(s, 2, it->ns);
    bind_text(s, 3, it->name);
    sqlite3_bind_int(s, 4, (int)it->kind);
    bind_text(s, 5, it->new_location);
    bind_text(s, 6, it->new_metadata);
    sqlite3_bind_int64(s, 7, now);
    return step_done(c, s, err);
}

/*
 * obj_swap moves one pointer with a compare-and-swap UPDATE; when no row
 * changed it finds out whether the object is missing or has moved on.
 */
static enum status obj_swap(struct sq_conn *c, const struct store_cas *it, int64_t now,
                            struct error *err)
{
    struct obj_row row;
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_OBJ_CAS, &s, err)))
        return rc;
    bind_text(s, 1, it->new_location);
    bind_text(s, 2, it->new_metadata);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, it->warehouse_id);
    bind_text(s, 5, it->ns);
    bind_text(s, 6, it->name);
    sqlite3_bind_int(s, 7, (int)it->kind);
    bind_text(s, 8, it->old_location);
    if ((rc = step_done(c, s, err)))
        return rc;
    if (sqlite3_changes(c->db) == 1)
        return ST_OK;
    rc = obj_find(c, it->warehouse_id, it->ns, it->name, &row, NULL, err);
    if (rc == ST_NOT_FOUND || (rc == ST_OK && row.kind != it->kind))
        return storecommon_no_object(it->ns, it->name, err);
    if (rc)
        return rc;
    return error_set(err, ST_CONFLICT, ET_COMMIT_FAILED,
                     "Commit failed: %s was changed by another commit (expected metadata %s)",
                     it->name, it->old_location);
}

static enum status obj_commit_tx(struct sq_conn *c, const struct store_cas *items, size_t n,
                                 size_t *failed, enum store_kind *existing, struct error *err)
{
    int64_t now = clock_now_ms();
    enum status rc = ST_OK;
    size_t i;

    for (i = 0; i < n && rc == ST_OK; i++) {
        if (items[i].old_location)
            rc = obj_swap(c, &items[i], now, err);
        else
            rc = obj_create(c, &items[i], now, existing, err);
        if (rc && failed)
            *failed = i;
    }
    return rc;
}

static enum status sq_obj_commit(struct store_conn *base, const struct store_cas *items, size_t n,
                                 size_t *failed, enum store_kind *existing_kind, struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin_mutation(c, err)))
        return rc;
    return tx_finish(c, obj_commit_tx(c, items, n, failed, existing_kind, err), err);
}

static enum status obj_drop_tx(struct sq_conn *c, int64_t wh, const char *ns, const char *name,
                               enum store_kind kind, char **metadata_location, struct error *err)
{
    struct store_obj o = {0};
    struct obj_row row;
    sqlite3_stmt *s;
    enum status rc;

    rc = obj_find(c, wh, ns, name, &row, &o, err);
    if (rc == ST_NOT_FOUND || (rc == ST_OK && row.kind != kind))
        rc = storecommon_no_object(ns, name, err);
    if (rc || (rc = stmt(c, S_OBJ_DELETE, &s, err)))
        goto out;
    sqlite3_bind_int64(s, 1, row.id);
    if ((rc = step_done(c, s, err)))
        goto out;
    if (metadata_location) {
        *metadata_location = o.metadata_location;
        o.metadata_location = NULL;
    }
out:
    store_obj_cleanup(&o);
    return rc;
}

static enum status sq_obj_drop(struct store_conn *base, int64_t wh, const char *ns,
                               const char *name, enum store_kind kind, char **metadata_location,
                               struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin_mutation(c, err)))
        return rc;
    rc = tx_finish(c, obj_drop_tx(c, wh, ns, name, kind, metadata_location, err), err);
    if (rc && metadata_location) {
        free(*metadata_location);
        *metadata_location = NULL;
    }
    return rc;
}

static enum status obj_rename_tx(struct sq_conn *c, int64_t wh, enum store_kind kind,
                                 const char *src_ns, const char *src_name, const char *dst_ns,
                                 const char *dst_name, enum store_kind *existing, struct error *err)
{
    struct obj_row row;
    sqlite3_stmt *s;
    enum status rc;

    rc = obj_find(c, wh, src_ns, src_name, &row, NULL, err);
    if (rc == ST_NOT_FOUND || (rc == ST_OK && row.kind != kind))
        return storecommon_no_object(src_ns, src_name, err);
    /* Renaming onto itself finds its own name taken: ST_EXISTS, as for any taken name. */
    if (rc || (rc = obj_free_name(c, wh, dst_ns, dst_name, existing, err)) ||
        (rc = stmt(c, S_OBJ_RENAME, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, row.id);
    bind_text(s, 2, dst_ns);
    bind_text(s, 3, dst_name);
    sqlite3_bind_int64(s, 4, clock_now_ms());
    return step_done(c, s, err);
}

static enum status sq_obj_rename(struct store_conn *base, int64_t wh, enum store_kind kind,
                                 const char *src_ns, const char *src_name, const char *dst_ns,
                                 const char *dst_name, enum store_kind *existing_kind,
                                 struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin_mutation(c, err)))
        return rc;
    return tx_finish(
        c, obj_rename_tx(c, wh, kind, src_ns, src_name, dst_ns, dst_name, existing_kind, err), err);
}

/* --- idempotency records --- */

/*
 * idem_read reads the record of key in wh into *out (owned) and its row id
 * into *id, expired or not. ST_NOT_FOUND (err untouched) when there is none.
 */
static enum status idem_read(struct sq_conn *c, int64_t wh, const char *key, int64_t *id,
                             struct store_idem *out, struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_IDEM_GET, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, wh);
    bind_text(s, 2, key);
    if ((rc = step_row(c, s, err)))
        return rc;
    *id = sqlite3_column_int64(s, 0);
    out->warehouse_id = wh;
    out->key = xstrdup(key);
    out->fingerprint = col_dup(s, 1);
    out->status = sqlite3_column_int(s, 2);
    out->body = col_dup_null(s, 3);
    out->etag = col_dup_null(s, 4);
    out->expires_ms = sqlite3_column_int64(s, 5);
    sqlite3_reset(s);
    return ST_OK;
}

static enum status sq_idem_get(struct store_conn *base, int64_t wh, const char *key, int64_t now_ms,
                               struct store_idem *out, struct error *err)
{
    int64_t id;
    enum status rc = idem_read((struct sq_conn *)base, wh, key, &id, out, err);

    if (rc == ST_OK && out->expires_ms <= now_ms) {
        store_idem_cleanup(out);
        rc = ST_NOT_FOUND;
    }
    if (rc == ST_NOT_FOUND)
        error_set(err, ST_NOT_FOUND, ET_NONE, "No record of this idempotency key");
    return rc;
}

static enum status idem_replay(struct error *err)
{
    return error_set(err, ST_REPLAY, ET_NONE,
                     "Another request with this idempotency key finished first");
}

/*
 * idem_finish_tx fills in the response of rec's key. Only the pending record
 * that a mutation committed on this connection inserted is completed in
 * place: a pending record of another request (which applied its mutation and
 * has yet to record the response) is that request's to finish, so a request
 * that changed nothing must not overwrite it and gets ST_REPLAY, as it does
 * for a complete record. An absent or expired record is replaced by rec.
 */
static enum status idem_finish_tx(struct sq_conn *c, const struct store_idem *rec,
                                  struct error *err)
{
    struct store_idem cur = {0};
    int64_t id = 0, now = clock_now_ms();
    sqlite3_stmt *s;
    enum status rc;

    rc = idem_read(c, rec->warehouse_id, rec->key, &id, &cur, err);
    if (rc == ST_NOT_FOUND || (rc == ST_OK && cur.expires_ms <= now)) {
        rc = idem_insert(c, rec, now, &id, err);
        goto out;
    }
    if (rc)
        goto out;
    if (cur.status != 0 || id != c->idem_owned) {
        rc = idem_replay(err);
        goto out;
    }
    if ((rc = stmt(c, S_IDEM_FINISH, &s, err)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, rec->status);
    bind_text_null(s, 3, rec->body);
    bind_text_null(s, 4, rec->etag);
    rc = step_done(c, s, err);
out:
    store_idem_cleanup(&cur);
    return rc;
}

static enum status sq_idem_finish(struct store_conn *base, const struct store_idem *rec,
                                  struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;

    if ((rc = tx_begin(c, true, err)))
        return rc;
    rc = tx_finish(c, idem_finish_tx(c, rec, err), err);
    if (rc == ST_OK)
        c->idem_owned = 0;
    return rc;
}

static enum status idem_purge_batch(struct sq_conn *c, int64_t now_ms, int64_t *n,
                                    struct error *err)
{
    sqlite3_stmt *s;
    enum status rc;

    if ((rc = stmt(c, S_IDEM_PURGE, &s, err)))
        return rc;
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_int(s, 2, SQ_PURGE_BATCH);
    if ((rc = step_done(c, s, err)))
        return rc;
    *n = sqlite3_changes(c->db);
    return ST_OK;
}

static enum status sq_idem_purge(struct store_conn *base, int64_t now_ms, int64_t *deleted,
                                 struct error *err)
{
    struct sq_conn *c = (struct sq_conn *)base;
    enum status rc;
    int64_t n;

    do {
        n = 0;
        if ((rc = tx_begin(c, true, err)) ||
            (rc = tx_finish(c, idem_purge_batch(c, now_ms, &n, err), err)))
            return rc;
        *deleted += n;
    } while (n == SQ_PURGE_BATCH);
    return ST_OK;
}

/* --- coordination between nodes: SQLite serves one node --- */

static enum status sq_set_deadline(struct store_conn *base, int64_t timeout_ms, struct error *err)
{
    (void)base;
    (void)timeout_ms;
    (void)err;
    return ST_OK;
}

static enum status sq_try_lease(struct store_conn *base, int64_t key, bool *held, struct error *err)
{
    (void)base;
    (void)key;
    (void)err;
    *held = true;
    return ST_OK;
}

static enum status sq_no_hints(struct error *err)
{
    return error_set(err, ST_UNSUPPORTED, ET_UNSUPPORTED_OPERATION,
                     "Change hints need a PostgreSQL store; SQLite serves one node");
}

static enum status sq_listen(struct store_conn *base, struct error *err)
{
    (void)base;
    return sq_no_hints(err);
}

static enum status sq_poll_changes(struct store_conn *base, int timeout_ms, char ***payloads,
                                   size_t *n, struct error *err)
{
    (void)base;
    (void)timeout_ms;
    (void)payloads;
    (void)n;
    return sq_no_hints(err);
}

static const struct store_backend_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .ping = sq_ping,
    .set_deadline = sq_set_deadline,
    .try_lease = sq_try_lease,
    .listen = sq_listen,
    .poll_changes = sq_poll_changes,
    .warehouse_ensure = sq_warehouse_ensure,
    .warehouse_create = sq_warehouse_create,
    .warehouse_list = sq_warehouse_list,
    .warehouse_set_storage = sq_warehouse_set_storage,
    .warehouse_delete = sq_warehouse_delete,
    .warehouse_get = sq_warehouse_get,
    .ns_create = sq_ns_create,
    .ns_get = sq_ns_get,
    .ns_list = sq_ns_list,
    .ns_drop = sq_ns_drop,
    .ns_update_props = sq_ns_update_props,
    .obj_get = sq_obj_get,
    .obj_head = sq_obj_head,
    .obj_list = sq_obj_list,
    .obj_commit = sq_obj_commit,
    .obj_drop = sq_obj_drop,
    .obj_rename = sq_obj_rename,
    .idem_get = sq_idem_get,
    .idem_finish = sq_idem_finish,
    .idem_purge = sq_idem_purge,
};
