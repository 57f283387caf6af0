/*
 * test_store_sqlite.c - the store interface on its SQLite backend: the
 * store.h contract (store_contract.c) through a fresh database file per test,
 * then what only SQLite does: URL forms, file behaviour, migrations, the busy
 * timeout, trivial node coordination.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "store/backend.h"
#include "store/store.h"
#include "store_contract.h"

/* The migrations this build embeds (cmake/embed_migrations.cmake), to make older databases. */
extern const struct store_migration store_migrations_sqlite[];

/* The number of files in src/store/migrations/sqlite. */
#define N_MIGRATIONS 3
#define HOUR_MS (3600 * 1000)

/* What the opener keeps per test: a fresh database in a fresh temp directory. */
struct sq_ctx {
    char dir[4096];
    char *db_path;
};

static void make_dirs(const char *path)
{
    char *p = xstrdup(path), *s;

    for (s = p + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    mkdir(p, 0755);
    free(p);
}

/* tmp_dir creates a unique directory under $SERAC_TEST_TMP (or $TMPDIR, or /tmp). */
static void tmp_dir(char *out, size_t n)
{
    const char *base = getenv("SERAC_TEST_TMP");

    if (!base || !*base)
        base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    make_dirs(base);
    snprintf(out, n, "%s/store-XXXXXX", base);
    assert_non_null(mkdtemp(out));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int64_t query_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int64_t v = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void exec_raw(const char *path, const char *sql)
{
    sqlite3 *db;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* --- the opener the contract runs through --- */

static void *sq_open(struct store **st)
{
    struct sq_ctx *x = xcalloc(1, sizeof(*x));
    struct error err = {0};

    tmp_dir(x->dir, sizeof(x->dir));
    x->db_path = xasprintf("%s/catalog.db", x->dir);
    if (store_open(x->db_path, st, &err) != ST_OK)
        fail_msg("store_open: %s", err.msg);
    return x;
}

static void sq_close(void *ctx)
{
    struct sq_ctx *x = ctx;

    rm_tree(x->dir);
    free(x->db_path);
    free(x);
}

static int64_t sq_query_int(void *ctx, const char *sql)
{
    return query_int(((struct sq_ctx *)ctx)->db_path, sql);
}

static void sq_exec(void *ctx, const char *sql)
{
    exec_raw(((struct sq_ctx *)ctx)->db_path, sql);
}

static const struct sc_backend sqlite_backend = {sq_open, sq_close, sq_query_int, sq_exec};

/* sq returns the opener's state of f. */
static struct sq_ctx *sq(struct sc_fx *f)
{
    return f->ctx;
}

/* --- opening and migrations --- */

static void test_open_url_forms(void **state)
{
    struct sc_fx *f = *state;
    struct store *st = NULL;
    struct error err = {0};
    struct stat sb;
    char *url, *path;

    /* sqlite:///abs names an absolute path, and missing parent directories are created. */
    path = xasprintf("%s/deep/er/a.db", sq(f)->dir);
    url = xasprintf("sqlite://%s", path);
    assert_int_equal(store_open(url, &st, &err), ST_OK);
    assert_int_equal(stat(path, &sb), 0);
    store_close(st);
    free(url);
    free(path);

    path = xasprintf("%s/b.db", sq(f)->dir);
    url = xasprintf("sqlite:%s", path);
    assert_int_equal(store_open(url, &st, &err), ST_OK);
    assert_int_equal(stat(path, &sb), 0);
    store_close(st);
    free(url);
    free(path);

    /* postgres:// and postgresql:// name the PostgreSQL backend (test_store_postgres.c). */
    assert_int_equal(store_open("mysql://localhost/db", &st, &err), ST_INVALID);
    assert_null(st);
    assert_int_equal(store_open("sqlite:", &st, &err), ST_INVALID);
    assert_int_equal(store_open("", &st, &err), ST_INVALID);
}

static void test_open_unopenable_is_unavailable(void **state)
{
    struct sc_fx *f = *state;
    struct store *st = NULL;
    struct error err = {0};
    char *path = xasprintf("%s/file", sq(f)->dir);
    char *db = xasprintf("%s/file/x.db", sq(f)->dir);
    FILE *fp = fopen(path, "w");

    /* The parent "directory" is a regular file: the database cannot be created. */
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(store_open(db, &st, &err), ST_UNAVAILABLE);
    assert_null(st);
    free(db);
    free(path);
}

static void test_migrations_applied_once(void **state)
{
    struct sc_fx *f = *state;
    struct store *st2 = NULL;
    struct error err = {0};
    int64_t applied;
    char *props = NULL;

    sc_ns_new(f, "kept");
    assert_int_equal(query_int(sq(f)->db_path, "SELECT count(*) FROM schema_migrations"),
                     N_MIGRATIONS);
    applied = query_int(sq(f)->db_path, "SELECT applied_ms FROM schema_migrations WHERE version=1");
    assert_true(applied > 0);
    clock_sleep_ms(5);

    assert_int_equal(store_open(sq(f)->db_path, &st2, &err), ST_OK);
    store_close(st2);
    assert_int_equal(query_int(sq(f)->db_path, "SELECT count(*) FROM schema_migrations"),
                     N_MIGRATIONS);
    assert_int_equal(
        query_int(sq(f)->db_path, "SELECT applied_ms FROM schema_migrations WHERE version=1"),
        applied);
    /* Data written before the second open is still there. */
    assert_int_equal(store_ns_get(f->c, f->wh, "kept", &props, &err), ST_OK);
    free(props);
    /* The journal mode is persistent: WAL is what a plain open finds. */
    {
        sqlite3 *db;
        sqlite3_stmt *s;

        assert_int_equal(sqlite3_open(sq(f)->db_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
        sqlite3_finalize(s);
        sqlite3_close(db);
    }
}

static void test_concurrent_open_migrates_once(void **state)
{
    struct sc_fx *f = *state;
    char *path = xasprintf("%s/fresh.db", sq(f)->dir);
    pid_t pids[4];
    int i, status;

    /* Several processes start at once on a new file: each opens fine, migrations run once. */
    for (i = 0; i < 4; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct store *st = NULL;
            struct error err = {0};

            if (store_open(path, &st, &err) != ST_OK) {
                fprintf(stderr, "child %d: %s\n", i, err.msg);
                _exit(1);
            }
            store_close(st);
            _exit(0);
        }
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(query_int(path, "SELECT count(*) FROM schema_migrations"), N_MIGRATIONS);
    free(path);
}

/* --- locking --- */

static void test_busy_database_is_unavailable(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char *props = NULL;
    sqlite3 *db;

    sc_ns_new(f, "db");
    /* Another writer holds the write lock longer than the busy timeout. */
    assert_int_equal(sqlite3_open(sq(f)->db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(store_ns_create(f->c, f->wh, "blocked", "{}", &err), ST_UNAVAILABLE);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    /* Readers are not blocked by a writer under WAL. */
    assert_int_equal(store_ns_get(f->c, f->wh, "db", &props, &err), ST_OK);
    free(props);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(store_ns_get(f->c, f->wh, "blocked", &props, &err), ST_NOT_FOUND);
    assert_int_equal(store_ns_create(f->c, f->wh, "blocked", "{}", &err), ST_OK);
}

/* --- schema --- */

static void test_upgrade_from_first_schema(void **state)
{
    struct sc_fx *f = *state;
    struct store *st = NULL;
    struct store_conn *c = NULL;
    struct error err = {0};
    struct store_idem rec = {.warehouse_id = f->wh,
                             .key = "k",
                             .fingerprint = "fp",
                             .status = 204,
                             .expires_ms = clock_now_ms() + HOUR_MS};
    struct store_idem r;

    /* A database made by a build without this migration gets the table on open. */
    store_disconnect(f->c2);
    f->c2 = NULL;
    exec_raw(sq(f)->db_path,
             "DROP TABLE idempotency; DELETE FROM schema_migrations WHERE version = 2");
    assert_int_equal(query_int(sq(f)->db_path, "SELECT count(*) FROM sqlite_master "
                                               "WHERE name = 'idempotency'"),
                     0);
    assert_int_equal(store_open(sq(f)->db_path, &st, &err), ST_OK);
    assert_int_equal(store_connect(st, &c, &err), ST_OK);
    assert_int_equal(query_int(sq(f)->db_path, "SELECT max(version) FROM schema_migrations"),
                     N_MIGRATIONS);
    assert_int_equal(store_idem_finish(c, &rec, &err), ST_OK);
    assert_int_equal(store_idem_get(f->c, f->wh, "k", clock_now_ms(), &r, &err), ST_OK);
    assert_int_equal(r.status, 204);
    assert_string_equal(r.fingerprint, "fp");
    store_idem_cleanup(&r);
    store_disconnect(c);
    store_close(st);
}

/*
 * make_db_at creates the database file path as a build whose newest
 * migration was version v left it: the embedded migrations up to v, applied
 * and recorded as store_open does.
 */
static void make_db_at(const char *path, int v)
{
    const struct store_migration *m;

    exec_raw(path, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_ms "
                   "INTEGER)");
    for (m = store_migrations_sqlite; m->sql && m->version <= v; m++) {
        char *rec = xasprintf("INSERT INTO schema_migrations VALUES (%d, 1)", m->version);

        exec_raw(path, m->sql);
        exec_raw(path, rec);
        free(rec);
    }
    assert_int_equal(query_int(path, "SELECT max(version) FROM schema_migrations"), v);
}

static void test_upgrade_from_version_2(void **state)
{
    struct sc_fx *f = *state;
    char *path = xasprintf("%s/v2.db", sq(f)->dir);
    struct store_warehouse w, *list = NULL;
    struct store *st = NULL;
    struct store_conn *c = NULL;
    struct store_idem r;
    struct error err = {0};
    char *props = NULL;
    size_t n = 0;

    /* A catalog written by a build before warehouses had storage settings. */
    make_db_at(path, 2);
    exec_raw(path, "INSERT INTO warehouses (id, name, location, created_ms) "
                   "VALUES (7, 'old', 'file:///old', 1234);"
                   "INSERT INTO namespaces (warehouse_id, name, parent, properties, created_ms) "
                   "VALUES (7, 'db', '', '{\"k\":\"v\"}', 5);"
                   "INSERT INTO idempotency (warehouse_id, key, fingerprint, status, created_ms, "
                   "expires_ms) VALUES (7, 'key', 'fp', 201, 5, 9223372036854775807)");
    assert_int_equal(query_int(path, "SELECT count(*) FROM pragma_table_info('warehouses') "
                                     "WHERE name = 'storage'"),
                     0);

    assert_int_equal(store_open(path, &st, &err), ST_OK);
    assert_int_equal(store_connect(st, &c, &err), ST_OK);
    assert_int_equal(query_int(path, "SELECT max(version) FROM schema_migrations"), N_MIGRATIONS);
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
    free(path);
}

/* --- node coordination: trivial on one file --- */

static void test_coordination_is_trivial(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char **got = NULL;
    size_t n = 5;
    bool held = false;

    /* One process owns the file: every lease is held, and there are no change hints. */
    assert_int_equal(store_set_deadline(f->c, 100, &err), ST_OK);
    assert_int_equal(store_try_lease(f->c, 1, &held, &err), ST_OK);
    assert_true(held);
    held = false;
    assert_int_equal(store_try_lease(f->c2, 1, &held, &err), ST_OK);
    assert_true(held);
    assert_int_equal(store_listen(f->c, &err), ST_UNSUPPORTED);
    assert_int_equal(store_poll_changes(f->c, 10, &got, &n, &err), ST_UNSUPPORTED);
    assert_null(got);
    assert_int_equal(n, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, sc_setup, sc_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_url_forms),
        T(test_open_unopenable_is_unavailable),
        T(test_migrations_applied_once),
        T(test_concurrent_open_migrates_once),
        T(test_busy_database_is_unavailable),
        T(test_upgrade_from_first_schema),
        T(test_upgrade_from_version_2),
        T(test_coordination_is_trivial),
    };
    int failed;

    sc_use(&sqlite_backend);
    failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    return failed + sc_run(&sqlite_backend);
}
