/*
 * test_store_postgres.c - the store interface on its PostgreSQL backend: the
 * store.h contract (store_contract.c), then what only PostgreSQL does:
 * migrations under the advisory lock, names it cannot store, the statement
 * timeout, lost sessions, leases and change hints (LISTEN/NOTIFY).
 *
 * Needs a server: SERAC_TEST_PG_URL (scripts/pg-test-server.sh prints it).
 * Without it the binary exits 77, which ctest reports as skipped. Every test
 * runs in a fresh schema of that database (search_path set through the URL),
 * dropped afterwards, so tests never see each other's rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "store/backend.h"
#include "store/pg_internal.h"
#include "store/store.h"
#include "store_contract.h"

/* The migrations this build embeds (cmake/embed_migrations.cmake), to make older schemas. */
extern const struct store_migration store_migrations_postgres[];

#define NS_SEP "\x1f"
/* The number of files in src/store/migrations/postgres. */
#define N_MIGRATIONS 3

static const char *base_url;
static PGconn *admin; /* the test's own connection, for setup and checks */
static int schema_seq;

/* What the opener keeps per test: a fresh schema and the URL that selects it. */
struct pg_ctx {
    char schema[64];
    char *url;
};

/* pgx returns the opener's state of f. */
static struct pg_ctx *pgx(struct sc_fx *f)
{
    return f->ctx;
}

/* --- raw SQL on the test's own connection --- */

static PGresult *admin_query(const char *schema, const char *sql)
{
    char *set = xasprintf("SET search_path TO %s", schema ? schema : "public");
    PGresult *r = PQexec(admin, set);

    free(set);
    PQclear(r);
    r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(admin));
    return r;
}

static void admin_exec(const char *schema, const char *sql)
{
    PQclear(admin_query(schema, sql));
}

static int64_t query_int(const char *schema, const char *sql)
{
    PGresult *r = admin_query(schema, sql);
    int64_t v = -1;

    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* schema_url returns the base URL with search_path set to schema (owned). */
static char *schema_url(const char *schema)
{
    return xasprintf("%s%coptions=-csearch_path%%3D%s", base_url, strchr(base_url, '?') ? '&' : '?',
                     schema);
}

static void new_schema(char *out, size_t n)
{
    char *sql;

    snprintf(out, n, "t_%d_%d", (int)getpid(), ++schema_seq);
    sql = xasprintf("CREATE SCHEMA %s", out);
    admin_exec(NULL, sql);
    free(sql);
}

static void drop_schema(const char *schema)
{
    char *sql = xasprintf("DROP SCHEMA IF EXISTS %s CASCADE", schema);

    admin_exec(NULL, sql);
    free(sql);
}

/* raw_connect opens a plain libpq connection on f's schema (for lock holders). */
static PGconn *raw_connect(struct sc_fx *f)
{
    PGconn *pg = PQconnectdb(pgx(f)->url);

    if (PQstatus(pg) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(pg));
    return pg;
}

static void raw_exec(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);

    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(pg));
    PQclear(r);
}

/* --- the opener the contract runs through --- */

static void *pg_open(struct store **st)
{
    struct pg_ctx *x = xcalloc(1, sizeof(*x));
    struct error err = {0};

    new_schema(x->schema, sizeof(x->schema));
    x->url = schema_url(x->schema);
    if (store_open(x->url, st, &err) != ST_OK)
        fail_msg("store_open: %s", err.msg);
    return x;
}

static void pg_close(void *ctx)
{
    struct pg_ctx *x = ctx;

    drop_schema(x->schema);
    free(x->url);
    free(x);
}

static int64_t pg_query_int(void *ctx, const char *sql)
{
    return query_int(((struct pg_ctx *)ctx)->schema, sql);
}

static void pg_exec(void *ctx, const char *sql)
{
    admin_exec(((struct pg_ctx *)ctx)->schema, sql);
}

static const struct sc_backend pg_backend = {pg_open, pg_close, pg_query_int, pg_exec};

static int64_t elapsed_ms(int64_t since_ns)
{
    return (clock_mono_ns() - since_ns) / 1000000;
}

/* --- opening and migrations --- */

static void test_open_url_forms(void **state)
{
    struct sc_fx *f = *state;
    struct store *st = NULL;
    struct error err = {0};
    char *url;

    /* Both schemes name the PostgreSQL backend. */
    assert_true(strncmp(pgx(f)->url, "postgres", 8) == 0);
    if (strncmp(pgx(f)->url, "postgresql://", 13) == 0)
        url = xasprintf("postgres://%s", pgx(f)->url + 13);
    else
        url = xasprintf("postgresql://%s", strstr(pgx(f)->url, "://") + 3);
    assert_int_equal(store_open(url, &st, &err), ST_OK);
    store_close(st);
    free(url);

    /* A malformed URL is the caller's mistake; an unreachable server is unavailable. */
    assert_int_equal(store_open("postgres://localhost/db?no_such_parameter=1", &st, &err),
                     ST_INVALID);
    assert_null(st);
    assert_int_equal(store_open("postgresql://127.0.0.1:1/db?connect_timeout=2", &st, &err),
                     ST_UNAVAILABLE);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "database unavailable"));
    assert_null(st);
    assert_int_equal(store_open("mysql://localhost/db", &st, &err), ST_INVALID);
}

static void test_migrations_applied_once(void **state)
{
    struct sc_fx *f = *state;
    struct store *st2 = NULL;
    struct error err = {0};
    int64_t applied;
    char *props = NULL;

    sc_ns_new(f, "kept");
    assert_int_equal(query_int(pgx(f)->schema, "SELECT count(*) FROM schema_migrations"),
                     N_MIGRATIONS);
    applied =
        query_int(pgx(f)->schema, "SELECT applied_ms FROM schema_migrations WHERE version = 1");
    assert_true(applied > 0);
    clock_sleep_ms(5);

    assert_int_equal(store_open(pgx(f)->url, &st2, &err), ST_OK);
    store_close(st2);
    assert_int_equal(query_int(pgx(f)->schema, "SELECT count(*) FROM schema_migrations"),
                     N_MIGRATIONS);
    assert_int_equal(
        query_int(pgx(f)->schema, "SELECT applied_ms FROM schema_migrations WHERE version = 1"),
        applied);
    assert_int_equal(store_ns_get(f->c, f->wh, "kept", &props, &err), ST_OK);
    free(props);
    /* Names compare as bytes whatever the database's locale. */
    assert_int_equal(query_int(pgx(f)->schema,
                               "SELECT count(*) FROM information_schema.columns "
                               "WHERE table_schema = current_schema() AND column_name = 'name' "
                               "AND collation_name = 'C'"),
                     3);
}

struct opener {
    const char *url;
    pthread_barrier_t *bar;
    enum status rc;
    char msg[ERROR_MSG_MAX];
};

static void *open_one(void *arg)
{
    struct opener *o = arg;
    struct store *st = NULL;
    struct error err = {0};

    pthread_barrier_wait(o->bar);
    o->rc = store_open(o->url, &st, &err);
    snprintf(o->msg, sizeof(o->msg), "%s", err.msg);
    store_close(st);
    return NULL;
}

static void test_concurrent_open_migrates_once(void **state)
{
    struct sc_fx *f = *state;
    char schema[64], *url;
    struct opener o[4];
    pthread_barrier_t bar;
    pthread_t th[4];
    int i;

    /* Several nodes start at once on an empty schema: each opens fine, migrations run once. */
    (void)f;
    new_schema(schema, sizeof(schema));
    url = schema_url(schema);
    pthread_barrier_init(&bar, NULL, 4);
    for (i = 0; i < 4; i++) {
        o[i] = (struct opener){url, &bar, ST_INTERNAL, ""};
        assert_int_equal(pthread_create(&th[i], NULL, open_one, &o[i]), 0);
    }
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    for (i = 0; i < 4; i++)
        if (o[i].rc != ST_OK)
            fail_msg("opener %d: %d %s", i, o[i].rc, o[i].msg);
    assert_int_equal(query_int(schema, "SELECT count(*) FROM schema_migrations"), N_MIGRATIONS);
    assert_int_equal(query_int(schema, "SELECT count(*) FROM warehouses"), 0);
    drop_schema(schema);
    free(url);
}

/*
 * make_schema_at creates a schema as a build whose newest migration was
 * version v left it: the embedded migrations up to v, applied and recorded
 * as store_open does. Returns the URL that selects it (owned).
 */
static char *make_schema_at(char *schema, size_t n, int v)
{
    const struct store_migration *m;

    new_schema(schema, n);
    admin_exec(schema, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                       "applied_ms BIGINT NOT NULL)");
    for (m = store_migrations_postgres; m->sql && m->version <= v; m++) {
        char *rec = xasprintf("INSERT INTO schema_migrations VALUES (%d, 1)", m->version);

        admin_exec(schema, m->sql);
        admin_exec(schema, rec);
        free(rec);
    }
    assert_int_equal(query_int(schema, "SELECT max(version) FROM schema_migrations"), v);
    return schema_url(schema);
}

static void test_upgrade_from_version_2(void **state)
{
    struct store_warehouse w, *list = NULL;
    struct store *st = NULL;
    struct store_conn *c = NULL;
    struct error err = {0};
    struct store_idem r;
    char schema[64], *url, *props = NULL;
    size_t n = 0;

    /* A catalog written by a build before warehouses had storage settings. */
    (void)state;
    url = make_schema_at(schema, sizeof(schema), 2);
    admin_exec(schema,
               "INSERT INTO warehouses (id, name, location, created_ms) "
               "VALUES (7, 'old', 'file:///old', 1234);"
               "SELECT setval('warehouses_id_seq', 7);"
               "INSERT INTO namespaces (warehouse_id, name, parent, properties, created_ms) "
               "VALUES (7, 'db', '', '{\"k\":\"v\"}', 5);"
               "INSERT INTO idempotency (warehouse_id, key, fingerprint, status, "
               "created_ms, expires_ms) VALUES (7, 'key', 'fp', 201, 5, "
               "9223372036854775807)");
    assert_int_equal(query_int(schema, "SELECT count(*) FROM information_schema.columns "
                                       "WHERE table_schema = current_schema() "
                                       "AND table_name = 'warehouses' AND column_name = 'storage'"),
                     0);

    assert_int_equal(store_open(url, &st, &err), ST_OK);
    assert_int_equal(store_connect(st, &c, &err), ST_OK);
    assert_int_equal(query_int(schema, "SELECT max(version) FROM schema_migrations"), N_MIGRATIONS);
    /* The old warehouse is all there, with no storage settings. */
    assert_int_equal(store_warehouse_get(c, "old", &w, &err), ST_OK);
    assert_int_equal(w.id, 7);
    assert_string_equal(w.location, "file:///old");
    assert_string_equal(w.storage, "{}");
    assert_int_equal(w.created_ms, 1234);
    store_warehouse_cleanup(&w);
    assert_int_equal(store_ns_get(c, 7, "db", &props, &err), ST_OK);
    sc_assert_json_eq(props, "{\"k\":\"v\"}");
    free(props);
    assert_int_equal(store_idem_get(c, 7, "key", clock_now_ms(), &r, &err), ST_OK);
    assert_int_equal(r.status, 201);
    store_idem_cleanup(&r);

    /* And the new operations work on it. */
    assert_int_equal(store_warehouse_set_storage(c, "old", "{\"type\":\"s3\"}", &err), ST_OK);
    assert_int_equal(store_warehouse_ensure(c, "old", "file:///x", NULL, &w, &err), ST_OK);
    assert_string_equal(w.storage, "{\"type\":\"s3\"}");
    store_warehouse_cleanup(&w);
    assert_int_equal(store_warehouse_delete(c, "old", &err), ST_CONFLICT);
    assert_int_equal(store_warehouse_create(c, "new", "file:///new", NULL, &w, &err), ST_OK);
    assert_true(w.id != 7);
    store_warehouse_cleanup(&w);
    assert_int_equal(store_warehouse_list(c, &list, &n, &err), ST_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "new");
    assert_string_equal(list[1].name, "old");
    store_warehouse_list_free(list, n);
    store_disconnect(c);
    store_close(st);
    drop_schema(schema);
    free(url);
}

/* --- names PostgreSQL cannot store --- */

static void test_unstorable_names_are_invalid(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char *huge = xmalloc(20001), *props = NULL;
    uint32_t x = 12345;
    int i;

    /* Text must be UTF-8 in PostgreSQL; an index entry has a size limit. */
    assert_int_equal(store_ns_create(f->c, f->wh, "bad\xff", "{}", &err), ST_INVALID);
    assert_int_equal(store_ns_get(f->c, f->wh, "bad\xff", &props, &err), ST_INVALID);
    for (i = 0; i < 20000; i++) {
        x = x * 1103515245 + 12345;
        huge[i] = (char)('a' + (x >> 16) % 26);
    }
    huge[20000] = '\0';
    assert_int_equal(store_ns_create(f->c, f->wh, huge, "{}", &err), ST_INVALID);
    free(huge);
    /* The connection is fine afterwards. */
    sc_ns_new(f, "good");
}

/* --- deadlines, faults --- */

static void test_statement_timeout_is_unavailable(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char *old = NULL, *props = NULL;
    PGconn *holder;
    int64_t t0;

    sc_ns_new(f, "db");
    assert_int_equal(store_set_deadline(f->c, 200, &err), ST_OK);
    assert_int_equal(store_set_deadline(f->c, -1, &err), ST_INVALID);
    /* Another session holds the namespace's row: the update waits on it, past the deadline. */
    holder = raw_connect(f);
    raw_exec(holder, "BEGIN");
    raw_exec(holder, "SELECT * FROM namespaces WHERE name = 'db' FOR UPDATE");
    t0 = clock_mono_ns();
    assert_int_equal(store_ns_update_props(f->c, f->wh, "db", "{\"k\":\"v\"}", NULL, &old, &err),
                     ST_UNAVAILABLE);
    assert_true(elapsed_ms(t0) < 2000);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    assert_string_equal(err.msg, "database statement timed out");
    assert_null(old);
    /* Reads need no row lock. */
    assert_int_equal(store_ns_get(f->c, f->wh, "db", &props, &err), ST_OK);
    sc_assert_json_eq(props, "{}");
    free(props);
    raw_exec(holder, "ROLLBACK");
    PQfinish(holder);

    /* The connection is fine afterwards, and the deadline can be lifted. */
    assert_int_equal(store_ns_update_props(f->c, f->wh, "db", "{\"k\":\"v\"}", NULL, &old, &err),
                     ST_OK);
    free(old);
    assert_int_equal(store_set_deadline(f->c, 0, &err), ST_OK);
    assert_int_equal(store_ping(f->c, &err), ST_OK);
    assert_int_equal(store_ns_get(f->c, f->wh, "db", &props, &err), ST_OK);
    sc_assert_json_eq(props, "{\"k\":\"v\"}");
    free(props);
}

/* backend_pid_of returns the pid of the session holding advisory lock key, or 0. */
static int backend_pid_of(struct sc_fx *f, int64_t key)
{
    char *sql = xasprintf("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                          "AND objsubid = 1 AND objid = %lld",
                          (long long)key);
    int64_t pid = query_int(pgx(f)->schema, sql);

    free(sql);
    return pid > 0 ? (int)pid : 0;
}

static void terminate(struct sc_fx *f, int pid)
{
    char *sql = xasprintf("SELECT pg_terminate_backend(%d)::int", pid);

    assert_int_equal(query_int(pgx(f)->schema, sql), 1);
    free(sql);
    /* pg_terminate_backend only signals: wait until the session is gone. */
    sql = xasprintf("SELECT count(*) FROM pg_stat_activity WHERE pid = %d", pid);
    while (query_int(pgx(f)->schema, sql) != 0)
        clock_sleep_ms(10);
    free(sql);
}

static void test_killed_session_reconnects(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char *props = NULL;
    bool held = false;
    int pid;

    sc_ns_new(f, "db");
    assert_int_equal(store_try_lease(f->c, 77, &held, &err), ST_OK);
    assert_true(held);
    pid = backend_pid_of(f, 77);
    assert_true(pid > 0);
    terminate(f, pid);
    /* The next call finds the idle connection dead before doing anything: it reconnects and
     * answers, with no error to the caller. */
    assert_int_equal(store_ns_get(f->c, f->wh, "db", &props, &err), ST_OK);
    free(props);
    assert_int_equal(backend_pid_of(f, 77), 0);
    /* Writes too. */
    assert_int_equal(store_try_lease(f->c, 78, &held, &err), ST_OK);
    assert_true(held);
    terminate(f, backend_pid_of(f, 78));
    assert_int_equal(store_ns_create(f->c, f->wh, "db2", "{}", &err), ST_OK);
    assert_int_equal(store_ns_create(f->c2, f->wh, "db3", "{}", &err), ST_OK);
    assert_int_equal(store_ping(f->c, &err), ST_OK);
    assert_int_equal(store_ping(f->c2, &err), ST_OK);
}

static void test_schema_change_under_prepared_statements(void **state)
{
    struct sc_fx *f = *state;
    struct store_warehouse w;
    struct error err = {0};

    /* A newer node migrates while this one holds prepared statements on the old shape: its
     * next call prepares them again instead of failing ("cached plan must not change"). */
    assert_int_equal(store_warehouse_get(f->c, "wh", &w, &err), ST_OK);
    store_warehouse_cleanup(&w);
    admin_exec(pgx(f)->schema, "ALTER TABLE warehouses ALTER COLUMN location TYPE varchar(1000)");
    assert_int_equal(store_warehouse_get(f->c, "wh", &w, &err), ST_OK);
    assert_string_equal(w.location, "file:///srv/wh");
    store_warehouse_cleanup(&w);
    sc_ns_new(f, "still_fine");
}

/*
 * plan_counts sums, over the statements prepared on c's session whose text
 * starts with prefix, how often PostgreSQL ran a generic and a custom plan.
 */
static void plan_counts(struct store_conn *c, const char *prefix, long *generic, long *custom)
{
    PGconn *pg = ((struct pg_conn *)c)->pg;
    const char *v[1] = {prefix};
    PGresult *r = PQexecParams(pg,
                               "SELECT coalesce(sum(generic_plans), 0), "
                               "coalesce(sum(custom_plans), 0) FROM pg_prepared_statements "
                               "WHERE starts_with(statement, $1)",
                               1, NULL, v, NULL, NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("pg_prepared_statements: %s", PQerrorMessage(pg));
    *generic = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    *custom = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
}

static void test_pages_keep_a_generic_plan(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char sql[640];
    long generic, custom;

    /* One namespace holds almost every row: the shape that kept PostgreSQL planning a
     * "LIMIT $n" page again at every read (its generic plan reckons 10% of the rows). */
    sc_ns_new(f, "big");
    sc_ns_new(f, "small");
    snprintf(
        sql, sizeof(sql),
        "INSERT INTO objects (warehouse_id, namespace, name, kind, metadata_location, metadata, "
        "version, created_ms, updated_ms) SELECT %lld, CASE WHEN i < 40 THEN 'small' "
        "ELSE 'big' END, 't' || lpad(i::text, 6, '0'), 1, 'l', '{}', 1, 0, 0 "
        "FROM generate_series(0, 39999) AS i",
        (long long)f->wh);
    admin_exec(pgx(f)->schema, sql);
    admin_exec(pgx(f)->schema, "ANALYZE objects");
    for (int i = 0; i < 12; i++) {
        struct store_page p;

        assert_int_equal(store_obj_list(f->c, f->wh, "small", STORE_TABLE, NULL, 10, &p, &err),
                         ST_OK);
        assert_int_equal(p.n, 10);
        assert_string_equal(p.names[0], "t000000");
        store_page_cleanup(&p);
    }
    plan_counts(f->c, "SELECT name FROM objects", &generic, &custom);
    /* PostgreSQL tries five custom plans before it weighs the generic one. */
    assert_true(custom <= 5);
    assert_int_equal(generic + custom, 12);
}

/* --- leases --- */

static void test_lease_exclusive_until_holder_goes(void **state)
{
    struct sc_fx *f = *state;
    struct store_conn *c3 = NULL;
    struct error err = {0};
    bool held = false;

    assert_int_equal(store_try_lease(f->c, 42, &held, &err), ST_OK);
    assert_true(held);
    /* Asking again keeps it, without stacking a second lock to release. */
    assert_int_equal(store_try_lease(f->c, 42, &held, &err), ST_OK);
    assert_true(held);
    assert_int_equal(query_int(pgx(f)->schema,
                               "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                               "AND objid = 42 AND objsubid = 1"),
                     1);
    assert_int_equal(store_try_lease(f->c2, 42, &held, &err), ST_OK);
    assert_false(held);
    /* Other keys are other leases; negative keys work too. */
    assert_int_equal(store_try_lease(f->c2, 43, &held, &err), ST_OK);
    assert_true(held);
    assert_int_equal(store_try_lease(f->c2, -5, &held, &err), ST_OK);
    assert_true(held);
    assert_int_equal(store_try_lease(f->c2, -5, &held, &err), ST_OK);
    assert_true(held);
    assert_int_equal(store_try_lease(f->c, -5, &held, &err), ST_OK);
    assert_false(held);

    /* The lease ends with its holder's connection. */
    store_disconnect(f->c);
    f->c = NULL;
    assert_int_equal(store_connect(f->st, &c3, &err), ST_OK);
    f->c = c3;
    held = false;
    for (int i = 0; i < 100 && !held; i++) {
        assert_int_equal(store_try_lease(f->c2, 42, &held, &err), ST_OK);
        if (!held)
            clock_sleep_ms(10); /* the server notices the closed session shortly */
    }
    assert_true(held);
    assert_int_equal(store_try_lease(f->c, 42, &held, &err), ST_OK);
    assert_false(held);
}

static void test_lease_after_session_loss(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    bool held = false;

    assert_int_equal(store_try_lease(f->c, 50, &held, &err), ST_OK);
    assert_true(held);
    terminate(f, backend_pid_of(f, 50));
    /* Another node takes it while the first one's session is gone... */
    assert_int_equal(store_try_lease(f->c2, 50, &held, &err), ST_OK);
    assert_true(held);
    /* ...so the first one, reconnected, does not hold it any more. */
    assert_int_equal(store_try_lease(f->c, 50, &held, &err), ST_OK);
    assert_false(held);
    terminate(f, backend_pid_of(f, 50));
    /* With the holder gone too, asking again takes it on the new session. */
    assert_int_equal(store_try_lease(f->c, 50, &held, &err), ST_OK);
    assert_true(held);
}

/* --- change hints --- */

static char *hex(const char *s)
{
    char *out = xmalloc(2 * strlen(s) + 1), *p = out;

    for (; *s; s++)
        p += sprintf(p, "%02x", (unsigned char)*s);
    *p = '\0';
    return out;
}

/* hint returns the payload a change of (kind, ns, name) in f's warehouse publishes. */
static char *hint(struct sc_fx *f, const char *kind, const char *ns, const char *name)
{
    char *h1 = hex(ns ? ns : ""), *h2 = hex(name ? name : "");
    char *s = xasprintf("%s:%lld:%s:%s", kind, (long long)f->wh, h1, h2);

    free(h1);
    free(h2);
    return s;
}

/* collect polls c for up to ms and returns how many of the hints received were want. */
static int collect(struct store_conn *c, int ms, const char *want, int *others)
{
    int64_t t0 = clock_mono_ns();
    int found = 0;

    do {
        struct error err = {0};
        char **got = NULL;
        size_t n = 0, i;

        assert_int_equal(store_poll_changes(c, 50, &got, &n, &err), ST_OK);
        for (i = 0; i < n; i++) {
            if (strcmp(got[i], want) == 0)
                found++;
            else if (others)
                (*others)++;
            free(got[i]);
        }
        free(got);
    } while (elapsed_ms(t0) < ms);
    return found;
}

static void test_change_hints_on_commit(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char ns[80], *h, *old = NULL;

    /* The schema name keeps this test's hints apart from any other database user's. */
    snprintf(ns, sizeof(ns), "hints_%s", pgx(f)->schema);
    assert_int_equal(store_listen(f->c2, &err), ST_OK);
    assert_int_equal(store_ns_create(f->c, f->wh, ns, "{}", &err), ST_OK);
    h = hint(f, "namespace", ns, NULL);
    assert_int_equal(collect(f->c2, 300, h, NULL), 1);

    /* A failed mutation rolls back, and publishes nothing. */
    assert_int_equal(store_ns_create(f->c, f->wh, ns, "{}", &err), ST_EXISTS);
    assert_int_equal(collect(f->c2, 200, h, NULL), 0);

    /* Nothing leaves before COMMIT: the update waits on a row lock held elsewhere. */
    {
        PGconn *holder = raw_connect(f);
        char *sql = xasprintf("SELECT 1 FROM namespaces WHERE name = '%s' FOR UPDATE", ns);
        struct store_conn *c3 = NULL;

        raw_exec(holder, "BEGIN");
        raw_exec(holder, sql);
        free(sql);
        assert_int_equal(store_connect(f->st, &c3, &err), ST_OK);
        assert_int_equal(store_set_deadline(c3, 400, &err), ST_OK);
        /* It times out while waiting: rolled back, so no hint ever. */
        assert_int_equal(store_ns_update_props(c3, f->wh, ns, "{\"a\":\"b\"}", NULL, &old, &err),
                         ST_UNAVAILABLE);
        raw_exec(holder, "ROLLBACK");
        PQfinish(holder);
        assert_int_equal(collect(f->c2, 200, h, NULL), 0);
        assert_int_equal(store_ns_update_props(c3, f->wh, ns, "{\"a\":\"b\"}", NULL, &old, &err),
                         ST_OK);
        free(old);
        store_disconnect(c3);
        assert_int_equal(collect(f->c2, 300, h, NULL), 1);
    }
    free(h);

    /* Tables: one hint per item of a multi-item commit, and both names of a rename. */
    {
        struct store_cas items[] = {
            {f->wh, STORE_TABLE, ns, "t1", NULL, "a", "{}"},
            {f->wh, STORE_VIEW, ns, "v1", NULL, "b", "{}"},
        };
        char *ht = hint(f, "table", ns, "t1"), *hv = hint(f, "view", ns, "v1");
        char *hr = hint(f, "table", ns, "t2");

        assert_int_equal(store_obj_commit(f->c, items, 2, NULL, NULL, &err), ST_OK);
        assert_int_equal(store_obj_rename(f->c, f->wh, STORE_TABLE, ns, "t1", ns, "t2", NULL, &err),
                         ST_OK);
        {
            char **got = NULL;
            size_t n = 0, i;
            int seen_t = 0, seen_v = 0, seen_r = 0;
            int64_t t0 = clock_mono_ns();

            while (elapsed_ms(t0) < 500 && (seen_t < 2 || !seen_v || !seen_r)) {
                assert_int_equal(store_poll_changes(f->c2, 100, &got, &n, &err), ST_OK);
                for (i = 0; i < n; i++) {
                    seen_t += strcmp(got[i], ht) == 0;
                    seen_v += strcmp(got[i], hv) == 0;
                    seen_r += strcmp(got[i], hr) == 0;
                    free(got[i]);
                }
                free(got);
            }
            assert_int_equal(seen_t, 2); /* created, then renamed away */
            assert_int_equal(seen_v, 1);
            assert_int_equal(seen_r, 1);
        }
        free(ht);
        free(hv);
        free(hr);
    }
}

static void test_warehouse_changes_publish_hints(void **state)
{
    struct sc_fx *f = *state;
    struct store_warehouse w;
    struct error err = {0};
    char name[80], *h;

    /* The schema name keeps this warehouse apart from any other database user's. */
    snprintf(name, sizeof(name), "wh_%s", pgx(f)->schema);
    assert_int_equal(store_listen(f->c2, &err), ST_OK);
    assert_int_equal(store_warehouse_create(f->c, name, "file:///w", NULL, &w, &err), ST_OK);
    h = xasprintf("warehouse:%lld::", (long long)w.id);
    store_warehouse_cleanup(&w);
    assert_int_equal(collect(f->c2, 300, h, NULL), 1);

    /* Failures change nothing and publish nothing. */
    assert_int_equal(store_warehouse_create(f->c, name, "file:///w", NULL, &w, &err), ST_EXISTS);
    assert_int_equal(store_warehouse_set_storage(f->c, "nope", "{}", &err), ST_NOT_FOUND);
    assert_int_equal(store_warehouse_delete(f->c, "nope", &err), ST_NOT_FOUND);
    assert_int_equal(collect(f->c2, 200, h, NULL), 0);

    assert_int_equal(store_warehouse_set_storage(f->c, name, "{\"type\":\"s3\"}", &err), ST_OK);
    assert_int_equal(collect(f->c2, 300, h, NULL), 1);
    assert_int_equal(store_warehouse_delete(f->c, name, &err), ST_OK);
    assert_int_equal(collect(f->c2, 300, h, NULL), 1);
    free(h);

    /* A delete refused because of a namespace publishes nothing either. */
    h = xasprintf("warehouse:%lld::", (long long)f->wh);
    sc_ns_new(f, "db");
    assert_int_equal(store_warehouse_delete(f->c, "wh", &err), ST_CONFLICT);
    assert_int_equal(collect(f->c2, 200, h, NULL), 0);
    free(h);
}

static void test_change_hint_too_long_names_whole_warehouse(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char *name = xmalloc(2001), *prefix, *wild;
    char **got = NULL;
    size_t n = 0, i;
    int64_t t0 = clock_mono_ns();
    bool seen = false;

    /* 2 x 2000 hex digits fit; namespace "db..." plus a name of 4000 bytes would not. */
    snprintf(name, 2001, "%s", pgx(f)->schema);
    memset(name + strlen(name), 'n', 2000 - strlen(name));
    name[2000] = '\0';
    assert_int_equal(store_listen(f->c2, &err), ST_OK);
    sc_ns_new(f, name);
    {
        char *big = xmalloc(4001);

        memset(big, 'x', 4000);
        big[4000] = '\0';
        assert_int_equal(sc_obj_new(f, name, big, STORE_TABLE, "l", NULL, &err), ST_OK);
        free(big);
    }
    prefix = hint(f, "namespace", name, NULL);
    wild = xasprintf("table:%lld::", (long long)f->wh);
    while (elapsed_ms(t0) < 500 && !seen) {
        assert_int_equal(store_poll_changes(f->c2, 100, &got, &n, &err), ST_OK);
        for (i = 0; i < n; i++) {
            assert_true(strlen(got[i]) < 8000);
            seen = seen || strcmp(got[i], wild) == 0;
            free(got[i]);
        }
        free(got);
    }
    assert_true(seen);
    free(prefix);
    free(wild);
    free(name);
}

static void test_poll_waits_and_returns_empty(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char **got = (char **)1;
    size_t n = 99;
    int64_t t0;

    /* Polling subscribes by itself; with nothing to report it waits the time given. */
    t0 = clock_mono_ns();
    assert_int_equal(store_poll_changes(f->c2, 0, &got, &n, &err), ST_OK);
    assert_true(elapsed_ms(t0) < 200);
    got = (char **)1;
    t0 = clock_mono_ns();
    do {
        size_t i;

        n = 99;
        assert_int_equal(store_poll_changes(f->c2, 150, &got, &n, &err), ST_OK);
        for (i = 0; i < n; i++)
            free(got[i]);
        free(got);
    } while (n > 0 && elapsed_ms(t0) < 2000); /* other users of the database may send hints */
    assert_int_equal(n, 0);
    assert_true(elapsed_ms(t0) >= 140);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, sc_setup, sc_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_url_forms),
        T(test_migrations_applied_once),
        T(test_concurrent_open_migrates_once),
        T(test_upgrade_from_version_2),
        T(test_unstorable_names_are_invalid),
        T(test_statement_timeout_is_unavailable),
        T(test_killed_session_reconnects),
        T(test_schema_change_under_prepared_statements),
        T(test_pages_keep_a_generic_plan),
        T(test_lease_exclusive_until_holder_goes),
        T(test_lease_after_session_loss),
        T(test_change_hints_on_commit),
        T(test_warehouse_changes_publish_hints),
        T(test_change_hint_too_long_names_whole_warehouse),
        T(test_poll_waits_and_returns_empty),
    };
    int rc;

    base_url = getenv("SERAC_TEST_PG_URL");
    if (!base_url || !*base_url) {
        printf("SERAC_TEST_PG_URL not set: start scripts/pg-test-server.sh\n");
        return 77;
    }
    admin = PQconnectdb(base_url);
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to SERAC_TEST_PG_URL: %s", PQerrorMessage(admin));
        PQfinish(admin);
        return 1;
    }
    PQclear(PQexec(admin, "SET client_min_messages = warning"));
    sc_use(&pg_backend);
    rc = cmocka_run_group_tests_name("postgres", tests, NULL, NULL);
    rc += sc_run(&pg_backend);
    PQfinish(admin);
    return rc;
}
