/*
 * pg_internal.h - what the PostgreSQL store's files share (store/ internal).
 *
 * pg_conn.c owns connections: opening and migrations, reconnecting with
 * backoff, prepared statements, classifying errors, the transaction runner
 * and the cross-node calls (leases, change hints). postgres.c holds the
 * catalog operations, written as transaction bodies run by pgstore_run.
 */
#ifndef SERAC_STORE_PG_INTERNAL_H
#define SERAC_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/backend.h"

/* The channel of change hints (store_listen). */
#define PGSTORE_CHANNEL "serac_changes"

/* The prepared statements; their SQL is pgstore_sql[id] (postgres.c). */
enum pg_stmt {
    P_PING,
    P_WH_GET,
    P_WH_INSERT,
    P_WH_EXISTS,
    P_WH_LIST,
    P_WH_SET_STORAGE,
    P_WH_FOR_UPDATE,
    P_WH_HAS_NS,
    P_WH_DELETE_IDEM,
    P_WH_DELETE,
    P_NS_GET,
    P_NS_SHARE,
    P_NS_FOR_UPDATE,
    P_NS_FOR_PROPS,
    P_NS_INSERT,
    P_NS_LIST,
    P_NS_CONTENTS,
    P_NS_DELETE,
    P_NS_SET_PROPS,
    P_OBJ_GET,
    P_OBJ_HEAD,
    P_OBJ_HEAD_MANY,
    P_OBJ_KIND,
    P_OBJ_KIND_FOR_UPDATE,
    P_OBJ_LIST,
    P_OBJ_CAS,
    P_OBJ_INSERT,
    P_OBJ_DELETE,
    P_OBJ_RENAME,
    P_XACT_LOCK,
    P_IDEM_GET,
    P_IDEM_GET_FOR_UPDATE,
    P_IDEM_INSERT,
    P_IDEM_DELETE_EXPIRED,
    P_IDEM_FINISH,
    P_IDEM_PURGE,
    P_LEASE,
    P__COUNT
};

extern const char *const pgstore_sql[P__COUNT];

struct pg_store {
    struct store base;
    char *url; /* the libpq connection URI; may hold a password: never logged */
};

/* The most parameters any statement takes. */
#define PG_MAX_PARAMS 10

/* Text parameters of one statement; numbers are formatted into num. */
struct pg_params {
    const char *v[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][24];
    int n;
};

/* Limits a connection keeps page statements for (pgstore_exec_page); others are parameters. */
#define PG_PAGE_STMTS 8

/* How pgstore_run wraps a body. */
enum pg_tx {
    PG_READ,    /* no transaction: the body's statements autocommit (reads only) */
    PG_WRITE,   /* a READ COMMITTED transaction */
    PG_MUTATION /* a transaction that records an armed Idempotency-Key first */
};

struct pg_conn {
    struct store_conn base;
    PGconn *pg;
    bool prepared[P__COUNT];
    /* Page statements prepared with their LIMIT written in (pgstore_exec_page). */
    struct {
        enum pg_stmt id;
        int64_t limit;
    } page_stmts[PG_PAGE_STMTS];
    size_t n_page_stmts;
    bool stale_plans; /* the session's prepared statements must be dropped and made again */

    /* Reconnecting: while broken, calls fail at once until retry_at_ns (monotonic), then one
       reset is tried, at most PG_RESET_MS long; each failure doubles backoff_ms. */
    bool broken;
    int64_t retry_at_ns;
    int64_t backoff_ms;
    char why[256]; /* the last connection error, for messages while broken */

    int64_t timeout_want_ms; /* store_set_deadline */
    int64_t timeout_set_ms;  /* what the session has; -1 unknown (after a reconnect) */
    bool listen_want;        /* store_listen was called */
    bool listen_set;         /* the session runs LISTEN */

    /* The call in progress (pgstore_run). */
    int round_trips;    /* statements that succeeded in this attempt */
    bool reset_in_call; /* this call reconnected already */
    bool retry_tx;      /* a deadlock or serialization failure: run the body again */
    bool retry_conn;    /* the connection was found dead before anything was done */
    char sqlstate[6];   /* of the last failed statement, "" if none */
    char **notes;       /* change hints to publish at commit (owned) */
    size_t n_notes;

    /* The idempotency row the open transaction inserted, 0 if none. */
    int64_t idem_claim;
    /* The idempotency row a committed mutation on this connection inserted last, 0 if none:
       only that pending row may be completed by idem_finish on this connection. */
    int64_t idem_owned;
};

/* pgstore_param_text appends a text parameter (NULL = SQL NULL, borrowed). */
void pgstore_param_text(struct pg_params *p, const char *v);
/* pgstore_param_int appends an integer parameter. */
void pgstore_param_int(struct pg_params *p, int64_t v);

/*
 * pgstore_exec runs prepared statement id (preparing it on this connection
 * first if needed) with p's parameters. ST_OK with *res (owned, PQclear it)
 * holding the rows or the command status; otherwise *res is NULL and the
 * failure is classified (pgstore_fail): a unique violation is ST_EXISTS, a
 * foreign-key violation ST_NOT_FOUND, both with a generic message that
 * callers replace; c->sqlstate has the SQLSTATE.
 */
enum status pgstore_exec(struct pg_conn *c, enum pg_stmt id, const struct pg_params *p,
                         PGresult **res, struct error *err);
/*
 * pgstore_exec_page is pgstore_exec for a page statement, one whose text
 * ends in "LIMIT $n" with n its last parameter: p holds the other
 * parameters, limit the row cap. Where it can, it runs a copy of the
 * statement with limit written in. PostgreSQL plans a LIMIT it cannot see as
 * 10% of the rows the generic plan expects; where one namespace holds most
 * rows that estimate makes every execution plan again (a custom plan), which
 * costs more than executing the page read. With the limit a constant the
 * generic plan is as cheap as a custom one and is kept.
 */
enum status pgstore_exec_page(struct pg_conn *c, enum pg_stmt id, struct pg_params *p,
                              int64_t limit, PGresult **res, struct error *err);
/* pgstore_exec_done is pgstore_exec for a statement whose result is not needed. */
enum status pgstore_exec_done(struct pg_conn *c, enum pg_stmt id, const struct pg_params *p,
                              struct error *err);
/* pgstore_changed returns the number of rows the command of res changed. */
int64_t pgstore_changed(PGresult *res);
/* pgstore_int reads row r, column col of res as an integer (0 for NULL). */
int64_t pgstore_int(PGresult *res, int r, int col);
/* pgstore_dup copies row r, column col of res; NULL for SQL NULL when null_ok, else "". */
char *pgstore_dup(PGresult *res, int r, int col, bool null_ok);

/*
 * pgstore_note queues a change hint for the open transaction (published just
 * before its COMMIT): kind ("namespace", "table", "view", "warehouse"), the
 * warehouse id and the namespace and name (NULL or "" for none).
 */
void pgstore_note(struct pg_conn *c, const char *kind, int64_t wh, const char *ns,
                  const char *name);
/* pgstore_kind_name returns "table" or "view". */
const char *pgstore_kind_name(enum store_kind kind);

/*
 * pgstore_idem_insert inserts rec into idempotency inside the open
 * transaction, replacing a record of the same key that expired at now.
 * ST_REPLAY when the key is recorded and not expired; *id gets the new row's
 * id. (postgres.c)
 */
enum status pgstore_idem_insert(struct pg_conn *c, const struct store_idem *rec, int64_t now,
                                int64_t *id, struct error *err);

typedef enum status (*pgstore_body)(struct pg_conn *c, void *arg, struct error *err);

/*
 * pgstore_run runs body(c, arg) the way tx says: after reconnecting c if it
 * is broken (ST_UNAVAILABLE when it cannot), inside a transaction for
 * PG_WRITE and PG_MUTATION (the latter inserting c's armed idempotency record
 * first: ST_REPLAY when the key is taken), committing when body returns ST_OK
 * and rolling back otherwise. A deadlock or serialization failure runs the
 * whole transaction again (up to 3 times), as does a connection found dead at
 * the first statement (once, after a reconnect); undo (may be NULL) frees
 * what a failed attempt of body left in arg first.
 */
enum status pgstore_run(struct pg_conn *c, enum pg_tx tx, pgstore_body body, void *arg,
                        void (*undo)(void *arg), struct error *err);

/* Connections, leases and change hints (pg_conn.c); contracts as in store.h. */
void pgstore_close(struct store *st);
enum status pgstore_connect(struct store *st, struct store_conn **out, struct error *err);
void pgstore_disconnect(struct store_conn *c);
enum status pgstore_ping(struct store_conn *c, struct error *err);
enum status pgstore_set_deadline(struct store_conn *c, int64_t timeout_ms, struct error *err);
enum status pgstore_try_lease(struct store_conn *c, int64_t key, bool *held, struct error *err);
enum status pgstore_listen(struct store_conn *c, struct error *err);
enum status pgstore_poll_changes(struct store_conn *c, int timeout_ms, char ***payloads, size_t *n,
                                 struct error *err);

/* The backend's vtable (postgres.c), for store_postgres_open. */
extern const struct store_backend_ops pgstore_ops;

#endif
