/*
 * pg_conn.c - PostgreSQL store connections.
 *
 * Each store_conn owns one PGconn (one per worker thread, c-stack.md 5.1).
 * Statements are prepared lazily, once per session. Every call goes through
 * pgstore_run, which
 *   - reconnects a broken connection first, at most PG_RESET_MS long and then
 *     only after a backoff, so a caller never waits long on a dead database;
 *   - applies the session settings (statement_timeout, LISTEN) that the
 *     connection's owner asked for and a new session lacks;
 *   - wraps writes in READ COMMITTED transactions that record the armed
 *     Idempotency-Key first (DESIGN.md invariant 3) and publish their change
 *     hints with pg_notify just before COMMIT, so hints leave only with it;
 *   - runs a transaction again after a deadlock or serialization failure,
 *     and a call again after finding its connection dead before doing
 *     anything (the server restarted while the connection sat idle).
 * Errors are classified once, in pgstore_fail: a lost connection (SQLSTATE
 * class 08, admin or crash shutdown, no SQLSTATE at all) is ST_UNAVAILABLE and
 * marks the connection for a reset; a statement timeout is ST_UNAVAILABLE.
 */
#include "store/pg_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"

#define PG_OPEN_MS 10000 /* connecting in store_open and store_connect */
#define PG_RESET_MS 1000 /* one reconnect attempt inside a call */
#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000
#define PG_TX_RETRIES 3
/* A notification payload must be shorter than 8000 bytes. */
#define PG_NOTIFY_MAX 7999
/* Migrations run under this advisory lock. It uses the two-key form, a lock space apart from
   the one-key locks of leases and multi-item commits. ("sera", 1) */
#define PG_MIGRATION_LOCK "SELECT pg_advisory_xact_lock(1936028257, 1)"

extern const struct store_migration store_migrations_postgres[];

/* --- messages and error classification --- */

/* flatten copies msg into dst (size n) on one line, without trailing blanks. */
static void flatten(char *dst, size_t n, const char *msg)
{
    size_t i = 0;

    for (; msg && *msg && i + 1 < n; msg++)
        dst[i++] = (*msg == '\n' || *msg == '\r' || *msg == '\t') ? ' ' : *msg;
    while (i > 0 && dst[i - 1] == ' ')
        i--;
    dst[i] = '\0';
    if (!*dst)
        snprintf(dst, n, "connection lost");
}

/* conn_lost marks c for a reset; the first attempt may come at once. */
static void conn_lost(struct pg_conn *c, const char *why)
{
    flatten(c->why, sizeof(c->why), why);
    if (!c->broken) {
        c->broken = true;
        c->retry_at_ns = clock_mono_ns();
        log_warn("store: lost the PostgreSQL connection: %s", c->why);
    }
    c->listen_set = false;
}

static enum status unavailable(struct pg_conn *c, struct error *err)
{
    return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE, "database unavailable: %s",
                     c->why);
}

static bool state_is(const char *state, const char *code)
{
    return strcmp(state, code) == 0;
}

/*
 * connection_gone says whether state (may be NULL) means the session is over
 * or useless: connection failures, shutdowns, and a server that turned
 * read-only (25006: a failover demoted it; a new connection finds the
 * primary).
 */
static bool connection_gone(const char *state)
{
    return !state || strncmp(state, "08", 2) == 0 || state_is(state, "57P01") ||
           state_is(state, "57P02") || state_is(state, "57P03") || state_is(state, "25006");
}

/*
 * pgstore_fail classifies a failed statement (res may be NULL) and returns
 * its status, recording the SQLSTATE in c->sqlstate and what pgstore_run
 * should do next in c->retry_tx and c->retry_conn.
 */
static enum status pgstore_fail(struct pg_conn *c, PGresult *res, struct error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    char text[512];

    flatten(text, sizeof(text), msg && *msg ? msg : PQerrorMessage(c->pg));
    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "");
    if (PQstatus(c->pg) != CONNECTION_OK || connection_gone(state)) {
        if (c->round_trips == 0)
            c->retry_conn = true;
        conn_lost(c, text);
        return unavailable(c, err);
    }
    /* Prepared statements gone (26000) or outdated by a schema change (0A000, "cached plan must
       not change result type"): prepare them again, then run the transaction again. */
    if (state_is(state, "26000") || state_is(state, "0A000")) {
        c->stale_plans = true;
        c->retry_tx = true;
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "Catalog database error: %s", text);
    }
    if (state_is(state, "57014"))
        return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                         "database statement timed out");
    if (state_is(state, "40001") || state_is(state, "40P01")) {
        c->retry_tx = true;
        return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                         "database busy: concurrent transactions kept conflicting (%s)", text);
    }
    if (state_is(state, "23505"))
        return error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "The name is taken");
    if (state_is(state, "23503"))
        return error_set(err, ST_NOT_FOUND, ET_NONE, "A referenced row does not exist");
    if (state_is(state, "22021") || state_is(state, "22P05") || state_is(state, "54000"))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "The catalog cannot store this: %s",
                         text);
    if (strncmp(state, "53", 2) == 0 || state_is(state, "55P03"))
        return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE, "database unavailable: %s",
                         text);
    return error_set(err, ST_INTERNAL, ET_INTERNAL, "Catalog database error: %s", text);
}

/* --- statements --- */

void pgstore_param_text(struct pg_params *p, const char *v)
{
    if (p->n >= PG_MAX_PARAMS)
        abort();
    p->v[p->n++] = v;
}

void pgstore_param_int(struct pg_params *p, int64_t v)
{
    if (p->n >= PG_MAX_PARAMS)
        abort();
    snprintf(p->num[p->n], sizeof(p->num[p->n]), "%" PRId64, v);
    p->v[p->n] = p->num[p->n];
    p->n++;
}

static bool result_ok(PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* simple runs sql (one or more statements, no parameters) and discards its result. */
static enum status simple(struct pg_conn *c, const char *sql, struct error *err)
{
    PGresult *res = PQexec(c->pg, sql);
    enum status rc = ST_OK;

    if (result_ok(res))
        c->round_trips++;
    else
        rc = pgstore_fail(c, res, err);
    PQclear(res);
    return rc;
}

static enum status prepare_named(struct pg_conn *c, const char *name, const char *sql,
                                 struct error *err)
{
    PGresult *res = PQprepare(c->pg, name, sql, 0, NULL);
    enum status rc = result_ok(res) ? ST_OK : pgstore_fail(c, res, err);

    PQclear(res);
    return rc;
}

static enum status exec_named(struct pg_conn *c, const char *name, const struct pg_params *p,
                              PGresult **res, struct error *err)
{
    enum status rc;
    PGresult *r;

    *res = NULL;
    r = PQexecPrepared(c->pg, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0);
    if (!result_ok(r)) {
        rc = pgstore_fail(c, r, err);
        PQclear(r);
        return rc;
    }
    c->round_trips++;
    *res = r;
    return ST_OK;
}

static void forget_prepared(struct pg_conn *c)
{
    memset(c->prepared, 0, sizeof(c->prepared));
    c->n_page_stmts = 0;
}

enum status pgstore_exec(struct pg_conn *c, enum pg_stmt id, const struct pg_params *p,
                         PGresult **res, struct error *err)
{
    char name[16];
    enum status rc;

    *res = NULL;
    snprintf(name, sizeof(name), "s%d", (int)id);
    if (!c->prepared[id]) {
        if ((rc = prepare_named(c, name, pgstore_sql[id], err)))
            return rc;
        c->prepared[id] = true;
    }
    return exec_named(c, name, p, res, err);
}

/* page_sql returns statement id's text with its trailing "LIMIT $n" made "LIMIT limit". */
static char *page_sql(enum pg_stmt id, int64_t limit)
{
    const char *sql = pgstore_sql[id], *cut = NULL, *at;

    for (at = strstr(sql, "LIMIT $"); at; at = strstr(at + 1, "LIMIT $"))
        cut = at;
    if (!cut)
        abort(); /* not a page statement: a programming error */
    return xasprintf("%.*sLIMIT %" PRId64, (int)(cut - sql), sql, limit);
}

enum status pgstore_exec_page(struct pg_conn *c, enum pg_stmt id, struct pg_params *p,
                              int64_t limit, PGresult **res, struct error *err)
{
    char name[48];
    size_t i;

    *res = NULL;
    for (i = 0; i < c->n_page_stmts; i++)
        if (c->page_stmts[i].id == id && c->page_stmts[i].limit == limit)
            break;
    snprintf(name, sizeof(name), "s%d_%" PRId64, (int)id, limit);
    if (i == c->n_page_stmts) {
        char *sql;
        enum status rc;

        if (i == PG_PAGE_STMTS) {
            /* Enough limits kept: this one goes as a parameter (planned each time). */
            pgstore_param_int(p, limit);
            return pgstore_exec(c, id, p, res, err);
        }
        sql = page_sql(id, limit);
        rc = prepare_named(c, name, sql, err);
        free(sql);
        if (rc)
            return rc;
        c->page_stmts[i].id = id;
        c->page_stmts[i].limit = limit;
        c->n_page_stmts++;
    }
    return exec_named(c, name, p, res, err);
}

enum status pgstore_exec_done(struct pg_conn *c, enum pg_stmt id, const struct pg_params *p,
                              struct error *err)
{
    PGresult *res;
    enum status rc = pgstore_exec(c, id, p, &res, err);

    PQclear(res);
    return rc;
}

int64_t pgstore_changed(PGresult *res)
{
    const char *n = PQcmdTuples(res);

    return n && *n ? strtoll(n, NULL, 10) : 0;
}

int64_t pgstore_int(PGresult *res, int r, int col)
{
    return PQgetisnull(res, r, col) ? 0 : strtoll(PQgetvalue(res, r, col), NULL, 10);
}

char *pgstore_dup(PGresult *res, int r, int col, bool null_ok)
{
    if (PQgetisnull(res, r, col))
        return null_ok ? NULL : xstrdup("");
    return xstrndup(PQgetvalue(res, r, col), (size_t)PQgetlength(res, r, col));
}

/* --- change hints --- */

const char *pgstore_kind_name(enum store_kind kind)
{
    return kind == STORE_VIEW ? "view" : "table";
}

static char *hex_put(char *p, const char *s, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        *p++ = digits[(unsigned char)s[i] >> 4];
        *p++ = digits[(unsigned char)s[i] & 15];
    }
    return p;
}

void pgstore_note(struct pg_conn *c, const char *kind, int64_t wh, const char *ns, const char *name)
{
    size_t nl = ns ? strlen(ns) : 0, ml = name ? strlen(name) : 0;
    size_t head = strlen(kind) + 24, need;
    char *note, *p;

    /* Too long to send: an empty namespace and name stand for "anything in the warehouse". */
    if (head + 2 * (nl + ml) + 2 > PG_NOTIFY_MAX)
        nl = ml = 0;
    need = head + 2 * (nl + ml) + 3;
    note = xmalloc(need);
    p = note + snprintf(note, head, "%s:%" PRId64 ":", kind, wh);
    p = hex_put(p, ns, nl);
    *p++ = ':';
    p = hex_put(p, name, ml);
    *p = '\0';
    c->notes = xrealloc(c->notes, (c->n_notes + 1) * sizeof(*c->notes));
    c->notes[c->n_notes++] = note;
}

static void notes_clear(struct pg_conn *c)
{
    size_t i;

    for (i = 0; i < c->n_notes; i++)
        free(c->notes[i]);
    free(c->notes);
    c->notes = NULL;
    c->n_notes = 0;
}

/*
 * commit_sql returns (owned) the statements that end a transaction: one
 * pg_notify per queued hint, then COMMIT, sent in one round trip. Hints hold
 * only [a-z0-9:-], so they are safe inside a literal.
 */
static char *commit_sql(struct pg_conn *c)
{
    size_t i, len = 16;
    char *sql, *p;

    for (i = 0; i < c->n_notes; i++)
        len += strlen(c->notes[i]) + sizeof("pg_notify('" PGSTORE_CHANNEL "', ''),");
    sql = p = xmalloc(len + 16);
    if (c->n_notes) {
        p += sprintf(p, "SELECT ");
        for (i = 0; i < c->n_notes; i++)
            p += sprintf(p, "%spg_notify('" PGSTORE_CHANNEL "', '%s')", i ? ", " : "", c->notes[i]);
        p += sprintf(p, "; ");
    }
    strcpy(p, "COMMIT");
    return sql;
}

/* --- connecting --- */

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/*
 * conn_wait drives a started connection (or reset) to its end; false when it
 * failed or deadline_ns passed first, with the reason in why.
 */
static bool conn_wait(PGconn *pg, bool reset, int64_t deadline_ns, char *why, size_t n)
{
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;

    while (ps != PGRES_POLLING_OK) {
        struct pollfd pfd = {PQsocket(pg), 0, 0};
        int64_t left_ms = (deadline_ns - clock_mono_ns()) / 1000000;
        int ready;

        if (ps == PGRES_POLLING_FAILED || pfd.fd < 0) {
            flatten(why, n, PQerrorMessage(pg));
            return false;
        }
        if (left_ms <= 0) {
            snprintf(why, n, "timed out connecting to the server");
            return false;
        }
        pfd.events = ps == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        ready = poll(&pfd, 1, (int)left_ms);
        if (ready < 0 && errno != EINTR) {
            snprintf(why, n, "poll: %s", strerror(errno));
            return false;
        }
        if (ready > 0)
            ps = reset ? PQresetPoll(pg) : PQconnectPoll(pg);
    }
    return true;
}

/*
 * conn_open connects to url within ms milliseconds. Defaults come first, so
 * the URL's own parameters override them. TCP keepalives and a user timeout
 * notice a server that vanished without closing the connection (a network
 * partition) within about 20 s, instead of the kernel's two hours.
 */
static enum status conn_open(const char *url, int64_t ms, PGconn **out, struct error *err)
{
    static const char *const keys[] = {"application_name", "client_encoding",
                                       "connect_timeout",  "keepalives",
                                       "keepalives_idle",  "keepalives_interval",
                                       "keepalives_count", "tcp_user_timeout",
                                       "dbname",           NULL};
    const char *values[] = {"serac", "UTF8", "10", "1", "10", "5", "2", "20000", url, NULL};
    PGconn *pg = PQconnectStartParams(keys, values, 1);
    char why[256];

    *out = NULL;
    if (!pg)
        abort();
    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    if (PQstatus(pg) == CONNECTION_BAD) {
        flatten(why, sizeof(why), PQerrorMessage(pg));
    } else if (conn_wait(pg, false, clock_mono_ns() + ms * 1000000, why, sizeof(why))) {
        *out = pg;
        return ST_OK;
    }
    PQfinish(pg);
    return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE, "database unavailable: %s", why);
}

/* conn_reset tries once to reconnect c, at most PG_RESET_MS long. */
static bool conn_reset(struct pg_conn *c)
{
    char why[256];

    if (!PQresetStart(c->pg)) {
        flatten(c->why, sizeof(c->why), PQerrorMessage(c->pg));
        return false;
    }
    if (!conn_wait(c->pg, true, clock_mono_ns() + (int64_t)PG_RESET_MS * 1000000, why,
                   sizeof(why))) {
        flatten(c->why, sizeof(c->why), why);
        return false;
    }
    return true;
}

/* rollback ends the open transaction, if any; a failure only marks the connection. */
static void rollback(struct pg_conn *c)
{
    PGTransactionStatusType ts = PQtransactionStatus(c->pg);
    PGresult *res;

    if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
        return;
    res = PQexec(c->pg, "ROLLBACK");
    if (!result_ok(res))
        conn_lost(c, PQerrorMessage(c->pg));
    PQclear(res);
}

/*
 * ready makes c usable for a call: a broken connection is reset (when its
 * backoff allows), then the session gets the settings c's owner asked for.
 */
static enum status ready(struct pg_conn *c, struct error *err)
{
    enum status rc;

    if (!c->broken && PQstatus(c->pg) != CONNECTION_OK)
        conn_lost(c, PQerrorMessage(c->pg));
    if (c->broken) {
        int64_t now = clock_mono_ns();

        if (now < c->retry_at_ns)
            return unavailable(c, err);
        c->reset_in_call = true;
        if (!conn_reset(c)) {
            /* Jitter spreads the workers' next attempts. */
            int64_t wait_ms =
                c->backoff_ms / 2 + (int64_t)(ids_random_u64() % (uint64_t)c->backoff_ms);

            c->retry_at_ns = clock_mono_ns() + wait_ms * 1000000;
            c->backoff_ms *= 2;
            if (c->backoff_ms > PG_BACKOFF_MAX_MS)
                c->backoff_ms = PG_BACKOFF_MAX_MS;
            return unavailable(c, err);
        }
        c->broken = false;
        c->stale_plans = false;
        c->backoff_ms = PG_BACKOFF_MIN_MS;
        forget_prepared(c);
        c->timeout_set_ms = 0;
        c->listen_set = false;
        log_info("store: reconnected to PostgreSQL");
    }
    c->round_trips = 0;
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        rollback(c);
    if (c->stale_plans) {
        if ((rc = simple(c, "DEALLOCATE ALL", err)))
            return rc;
        forget_prepared(c);
        c->stale_plans = false;
    }
    if (c->timeout_want_ms != c->timeout_set_ms) {
        char sql[64];

        if (c->timeout_want_ms)
            snprintf(sql, sizeof(sql), "SET statement_timeout = %" PRId64, c->timeout_want_ms);
        else
            snprintf(sql, sizeof(sql), "SET statement_timeout TO DEFAULT");
        if ((rc = simple(c, sql, err)))
            return rc;
        c->timeout_set_ms = c->timeout_want_ms;
    }
    if (c->listen_want && !c->listen_set) {
        if ((rc = simple(c, "LISTEN " PGSTORE_CHANNEL, err)))
            return rc;
        c->listen_set = true;
    }
    c->round_trips = 0;
    return ST_OK;
}

/* --- transactions --- */

/*
 * finish commits (publishing the queued hints) when rc is ST_OK and rolls
 * back otherwise, returning the final status. A commit consumes the armed
 * idempotency record the transaction inserted.
 */
static enum status finish(struct pg_conn *c, enum status rc, struct error *err)
{
    int64_t claim = c->idem_claim;

    c->idem_claim = 0;
    if (rc == ST_OK) {
        char *sql = commit_sql(c);

        rc = simple(c, sql, err);
        free(sql);
        notes_clear(c);
        if (rc == ST_OK) {
            if (claim) {
                c->idem_owned = claim;
                store_conn_idem_done(&c->base);
            }
            return ST_OK;
        }
        if (c->broken)
            /* The COMMIT may or may not have taken effect. Still a 503 to clients, like every
               outage: Iceberg clients treat a 5xx answer to a commit as "state unknown". */
            return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                             "database unavailable while committing, the outcome is unknown: %s",
                             c->why);
    }
    notes_clear(c);
    rollback(c);
    return rc;
}

static enum status attempt(struct pg_conn *c, enum pg_tx tx, pgstore_body body, void *arg,
                           struct error *err)
{
    enum status rc;

    if ((rc = ready(c, err)))
        return rc;
    if (tx == PG_READ)
        return body(c, arg, err);
    notes_clear(c);
    c->idem_claim = 0;
    if ((rc = simple(c, "BEGIN ISOLATION LEVEL READ COMMITTED", err)))
        return rc;
    if (tx == PG_MUTATION && c->base.idem_armed)
        rc = pgstore_idem_insert(c, &c->base.idem, clock_now_ms(), &c->idem_claim, err);
    if (rc == ST_OK)
        rc = body(c, arg, err);
    return finish(c, rc, err);
}

enum status pgstore_run(struct pg_conn *c, enum pg_tx tx, pgstore_body body, void *arg,
                        void (*undo)(void *arg), struct error *err)
{
    bool conn_retried = false;
    int tx_retries = 0;
    enum status rc;

    c->reset_in_call = false;
    for (;;) {
        c->retry_tx = false;
        c->retry_conn = false;
        c->sqlstate[0] = '\0';
        rc = attempt(c, tx, body, arg, err);
        if (rc == ST_OK)
            return ST_OK;
        if (undo)
            undo(arg);
        if (c->retry_tx && tx_retries < PG_TX_RETRIES) {
            tx_retries++;
            /* A short jittered pause lets the other transaction finish. */
            clock_sleep_ms(1 + (int64_t)(ids_random_u64() % (uint64_t)(5 * tx_retries)));
        } else if (c->retry_conn && !conn_retried && !c->reset_in_call) {
            conn_retried = true;
        } else {
            return rc;
        }
    }
}

/* --- opening and migrations --- */

/* raw runs sql on pg outside any store_conn (migrations); failures say which step. */
static enum status raw(PGconn *pg, const char *sql, int version, PGresult **out, struct error *err)
{
    PGresult *res = PQexec(pg, sql);
    char text[512];

    if (out)
        *out = NULL;
    if (result_ok(res)) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return ST_OK;
    }
    flatten(text, sizeof(text), res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
    if (PQstatus(pg) != CONNECTION_OK ||
        connection_gone(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL)) {
        PQclear(res);
        return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE, "database unavailable: %s",
                         text);
    }
    PQclear(res);
    if (version)
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "Store migration %d failed: %s", version,
                         text);
    return error_set(err, ST_INTERNAL, ET_INTERNAL, "Store migrations failed: %s", text);
}

/* applied_versions returns the highest migration version recorded in schema_migrations. */
static enum status applied_versions(PGconn *pg, bool *done, size_t n, struct error *err)
{
    PGresult *res;
    enum status rc = raw(pg, "SELECT version FROM schema_migrations", 0, &res, err);
    int i;

    if (rc)
        return rc;
    for (i = 0; i < PQntuples(res); i++) {
        long v = strtol(PQgetvalue(res, i, 0), NULL, 10);

        if (v > 0 && (size_t)v < n)
            done[v] = true;
    }
    PQclear(res);
    return ST_OK;
}

/*
 * migrate applies every pending migration in one transaction that first
 * takes an advisory lock: nodes starting together queue on the lock, and
 * each later one finds the versions recorded and applies nothing.
 */
static enum status migrate(PGconn *pg, struct error *err)
{
    const struct store_migration *m;
    size_t n = 1;
    bool *done;
    enum status rc;

    for (m = store_migrations_postgres; m->sql; m++)
        if ((size_t)m->version >= n)
            n = (size_t)m->version + 1;
    done = xcalloc(n, sizeof(*done));
    if ((rc = raw(pg, "BEGIN", 0, NULL, err)) || (rc = raw(pg, PG_MIGRATION_LOCK, 0, NULL, err)) ||
        (rc = raw(pg,
                  "CREATE TABLE IF NOT EXISTS schema_migrations "
                  "(version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
                  0, NULL, err)) ||
        (rc = applied_versions(pg, done, n, err)))
        goto out;
    for (m = store_migrations_postgres; m->sql; m++) {
        char *record;

        if (done[m->version])
            continue;
        if ((rc = raw(pg, m->sql, m->version, NULL, err)))
            goto out;
        record = xasprintf("INSERT INTO schema_migrations (version, applied_ms) "
                           "VALUES (%d, %" PRId64 ")",
                           m->version, clock_now_ms());
        rc = raw(pg, record, m->version, NULL, err);
        free(record);
        if (rc)
            goto out;
    }
    rc = raw(pg, "COMMIT", 0, NULL, err);
out:
    if (rc && PQstatus(pg) == CONNECTION_OK)
        PQclear(PQexec(pg, "ROLLBACK"));
    free(done);
    return rc;
}

enum status store_postgres_open(const char *url, struct store **out, struct error *err)
{
    PQconninfoOption *opts;
    struct pg_store *st;
    char *msg = NULL;
    PGconn *pg;
    enum status rc;

    *out = NULL;
    opts = PQconninfoParse(url, &msg);
    if (!opts) {
        char text[512];

        flatten(text, sizeof(text), msg ? msg : "out of memory");
        PQfreemem(msg);
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Invalid PostgreSQL store URL: %s",
                         text);
    }
    PQconninfoFree(opts);
    if ((rc = conn_open(url, PG_OPEN_MS, &pg, err)))
        return rc;
    rc = migrate(pg, err);
    PQfinish(pg);
    if (rc)
        return rc;
    st = xcalloc(1, sizeof(*st));
    st->base.ops = &pgstore_ops;
    st->url = xstrdup(url);
    *out = &st->base;
    return ST_OK;
}

void pgstore_close(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;

    free(st->url);
    free(st);
}

enum status pgstore_connect(struct store *base, struct store_conn **out, struct error *err)
{
    struct pg_store *st = (struct pg_store *)base;
    struct pg_conn *c;
    PGconn *pg;
    enum status rc;

    if ((rc = conn_open(st->url, PG_OPEN_MS, &pg, err)))
        return rc;
    c = xcalloc(1, sizeof(*c));
    c->base.st = base;
    c->pg = pg;
    c->backoff_ms = PG_BACKOFF_MIN_MS;
    *out = &c->base;
    return ST_OK;
}

void pgstore_disconnect(struct store_conn *base)
{
    struct pg_conn *c = (struct pg_conn *)base;

    PQfinish(c->pg);
    notes_clear(c);
    free(c);
}

/* --- health, deadlines, leases --- */

static enum status ping_body(struct pg_conn *c, void *arg, struct error *err)
{
    (void)arg;
    return pgstore_exec_done(c, P_PING, NULL, err);
}

enum status pgstore_ping(struct store_conn *base, struct error *err)
{
    return pgstore_run((struct pg_conn *)base, PG_READ, ping_body, NULL, NULL, err);
}

enum status pgstore_set_deadline(struct store_conn *base, int64_t timeout_ms, struct error *err)
{
    struct pg_conn *c = (struct pg_conn *)base;

    (void)err;
    /* statement_timeout is an int of milliseconds: a longer bound is no bound in practice. */
    c->timeout_want_ms = timeout_ms > INT32_MAX ? INT32_MAX : timeout_ms;
    return ST_OK;
}

struct lease_args {
    int64_t key;
    bool *held;
};

static enum status lease_body(struct pg_conn *c, void *arg, struct error *err)
{
    struct lease_args *a = arg;
    struct pg_params p = {0};
    PGresult *res;
    enum status rc;

    pgstore_param_int(&p, a->key);
    if ((rc = pgstore_exec(c, P_LEASE, &p, &res, err)))
        return rc;
    *a->held = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return ST_OK;
}

enum status pgstore_try_lease(struct store_conn *base, int64_t key, bool *held, struct error *err)
{
    struct lease_args a = {key, held};

    return pgstore_run((struct pg_conn *)base, PG_READ, lease_body, &a, NULL, err);
}

/* --- change hints --- */

static enum status noop_body(struct pg_conn *c, void *arg, struct error *err)
{
    (void)c;
    (void)arg;
    (void)err;
    return ST_OK;
}

enum status pgstore_listen(struct store_conn *base, struct error *err)
{
    struct pg_conn *c = (struct pg_conn *)base;

    c->listen_want = true;
    return pgstore_run(c, PG_READ, noop_body, NULL, NULL, err);
}

/* take_notes moves the notifications libpq has read into *out (grown as needed). */
static void take_notes(struct pg_conn *c, char ***out, size_t *n)
{
    PGnotify *note;

    while ((note = PQnotifies(c->pg))) {
        if (strcmp(note->relname, PGSTORE_CHANNEL) == 0) {
            *out = xrealloc(*out, (*n + 1) * sizeof(**out));
            (*out)[(*n)++] = xstrdup(note->extra ? note->extra : "");
        }
        PQfreemem(note);
    }
}

enum status pgstore_poll_changes(struct store_conn *base, int timeout_ms, char ***payloads,
                                 size_t *n, struct error *err)
{
    struct pg_conn *c = (struct pg_conn *)base;
    int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * 1000000;
    enum status rc;

    c->listen_want = true;
    if ((rc = pgstore_run(c, PG_READ, noop_body, NULL, NULL, err)))
        return rc;
    for (;;) {
        struct pollfd pfd = {PQsocket(c->pg), POLLIN, 0};
        int64_t left_ms;

        if (!PQconsumeInput(c->pg)) {
            conn_lost(c, PQerrorMessage(c->pg));
            break;
        }
        take_notes(c, payloads, n);
        left_ms = (deadline - clock_mono_ns() + 999999) / 1000000;
        if (*n || left_ms <= 0)
            return ST_OK;
        if (poll(&pfd, 1, (int)left_ms) < 0 && errno != EINTR) {
            conn_lost(c, strerror(errno));
            break;
        }
    }
    /* Hints read before the connection broke are still worth returning. */
    if (*n)
        return ST_OK;
    return unavailable(c, err);
}
