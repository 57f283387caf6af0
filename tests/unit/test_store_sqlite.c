/* test_store_sqlite.c - the store interface on its SQLite backend. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "store/store.h"

#define NS_SEP "\x1f"
/* The number of files in src/store/migrations/sqlite. */
#define N_MIGRATIONS 2

/* Per-test state: a fresh database in a fresh temp directory. */
struct fx {
    char dir[4096];
    char *db_path;
    struct store *st;
    struct store_conn *c;
    int64_t wh;
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

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    struct store_warehouse w;
    struct error err = {0};

    tmp_dir(f->dir, sizeof(f->dir));
    f->db_path = xasprintf("%s/catalog.db", f->dir);
    assert_int_equal(store_open(f->db_path, &f->st, &err), ST_OK);
    assert_int_equal(store_connect(f->st, &f->c, &err), ST_OK);
    assert_int_equal(store_warehouse_ensure(f->c, "wh", "file:///srv/wh", &w, &err), ST_OK);
    f->wh = w.id;
    store_warehouse_cleanup(&w);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_disconnect(f->c);
    store_close(f->st);
    rm_tree(f->dir);
    free(f->db_path);
    free(f);
    return 0;
}

/* --- helpers --- */

static void ns_new(struct fx *f, const char *ns)
{
    struct error err = {0};

    assert_int_equal(store_ns_create(f->c, f->wh, ns, "{}", &err), ST_OK);
}

static enum status obj_new(struct fx *f, const char *ns, const char *name, enum store_kind kind,
                           const char *loc, enum store_kind *existing, struct error *err)
{
    struct store_cas it = {f->wh, kind, ns, name, NULL, loc, "{\"v\":1}"};
    size_t failed = 99;

    return store_obj_commit(f->c, &it, 1, &failed, existing, err);
}

static enum status cas(struct fx *f, const char *ns, const char *name, const char *from,
                       const char *to, struct error *err)
{
    struct store_cas it = {f->wh, STORE_TABLE, ns, name, from, to, "{\"v\":2}"};

    return store_obj_commit(f->c, &it, 1, NULL, NULL, err);
}

static char *location_of(struct fx *f, const char *ns, const char *name)
{
    struct store_obj o;
    struct error err = {0};
    char *loc;

    if (store_obj_get(f->c, f->wh, ns, name, &o, &err) != ST_OK)
        return NULL;
    loc = xstrdup(o.metadata_location);
    store_obj_cleanup(&o);
    return loc;
}

static void assert_location(struct fx *f, const char *ns, const char *name, const char *want)
{
    char *loc = location_of(f, ns, name);

    if (!want) {
        assert_null(loc);
        return;
    }
    assert_non_null(loc);
    assert_string_equal(loc, want);
    free(loc);
}

static void assert_page(const struct store_page *p, const char *const *want, size_t n,
                        const char *token)
{
    size_t i;

    assert_int_equal(p->n, n);
    for (i = 0; i < n; i++)
        assert_string_equal(p->names[i], want[i]);
    if (token) {
        assert_non_null(p->next_token);
        assert_string_equal(p->next_token, token);
    } else {
        assert_null(p->next_token);
    }
}

static void assert_json_eq(const char *got, const char *want)
{
    json_t *a = json_loads(got, 0, NULL), *b = json_loads(want, 0, NULL);

    assert_non_null(a);
    assert_non_null(b);
    if (!json_equal(a, b))
        fail_msg("JSON differs: got %s, want %s", got, want);
    json_decref(a);
    json_decref(b);
}

/* --- opening and migrations --- */

static void test_open_url_forms(void **state)
{
    struct fx *f = *state;
    struct store *st = NULL;
    struct error err = {0};
    struct stat sb;
    char *url, *path;

    /* sqlite:///abs names an absolute path, and missing parent directories are created. */
    path = xasprintf("%s/deep/er/a.db", f->dir);
    url = xasprintf("sqlite://%s", path);
    assert_int_equal(store_open(url, &st, &err), ST_OK);
    assert_int_equal(stat(path, &sb), 0);
    store_close(st);
    free(url);
    free(path);

    path = xasprintf("%s/b.db", f->dir);
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
    struct fx *f = *state;
    struct store *st = NULL;
    struct error err = {0};
    char *path = xasprintf("%s/file", f->dir);
    char *db = xasprintf("%s/file/x.db", f->dir);
    FILE *fp = fopen(path, "w");

    /* The parent "directory" is a regular file: the database cannot be created. */
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(store_open(db, &st, &err), ST_UNAVAILABLE);
    assert_null(st);
    free(db);
    free(path);
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

static void test_migrations_applied_once(void **state)
{
    struct fx *f = *state;
    struct store *st2 = NULL;
    struct error err = {0};
    int64_t applied;
    char *props = NULL;

    ns_new(f, "kept");
    assert_int_equal(query_int(f->db_path, "SELECT count(*) FROM schema_migrations"), N_MIGRATIONS);
    applied = query_int(f->db_path, "SELECT applied_ms FROM schema_migrations WHERE version=1");
    assert_true(applied > 0);
    clock_sleep_ms(5);

    assert_int_equal(store_open(f->db_path, &st2, &err), ST_OK);
    store_close(st2);
    assert_int_equal(query_int(f->db_path, "SELECT count(*) FROM schema_migrations"), N_MIGRATIONS);
    assert_int_equal(
        query_int(f->db_path, "SELECT applied_ms FROM schema_migrations WHERE version=1"), applied);
    /* Data written before the second open is still there. */
    assert_int_equal(store_ns_get(f->c, f->wh, "kept", &props, &err), ST_OK);
    free(props);
    /* The journal mode is persistent: WAL is what a plain open finds. */
    {
        sqlite3 *db;
        sqlite3_stmt *s;

        assert_int_equal(sqlite3_open(f->db_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
        sqlite3_finalize(s);
        sqlite3_close(db);
    }
}

static void test_concurrent_open_migrates_once(void **state)
{
    struct fx *f = *state;
    char *path = xasprintf("%s/fresh.db", f->dir);
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

static void test_ping(void **state)
{
    struct fx *f = *state;
    struct error err = {0};

    assert_int_equal(store_ping(f->c, &err), ST_OK);
}

/* --- warehouses --- */

static void test_warehouse_ensure_and_get(void **state)
{
    struct fx *f = *state;
    struct store_warehouse w;
    struct error err = {0};

    /* ensure on an existing name keeps the original location. */
    assert_int_equal(store_warehouse_ensure(f->c, "wh", "file:///other", &w, &err), ST_OK);
    assert_int_equal(w.id, f->wh);
    assert_string_equal(w.location, "file:///srv/wh");
    store_warehouse_cleanup(&w);

    assert_int_equal(store_warehouse_ensure(f->c, "wh2", "file:///srv/wh2", &w, &err), ST_OK);
    assert_true(w.id != f->wh);
    assert_string_equal(w.name, "wh2");
    store_warehouse_cleanup(&w);

    assert_int_equal(store_warehouse_get(f->c, "wh2", &w, &err), ST_OK);
    assert_string_equal(w.location, "file:///srv/wh2");
    store_warehouse_cleanup(&w);

    assert_int_equal(store_warehouse_get(f->c, "nope", &w, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);
    assert_null(w.name);
}

/* --- namespaces --- */

static void test_ns_create_get(void **state)
{
    struct fx *f = *state;
    struct store_warehouse w2;
    struct error err = {0};
    char *props = NULL;

    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{\"owner\":\"me\"}", &err), ST_OK);
    assert_int_equal(store_ns_get(f->c, f->wh, "a", &props, &err), ST_OK);
    assert_json_eq(props, "{\"owner\":\"me\"}");
    free(props);

    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{}", &err), ST_EXISTS);
    assert_int_equal(err.type, ET_ALREADY_EXISTS);

    /* A nested namespace needs its parent. */
    assert_int_equal(store_ns_create(f->c, f->wh, "x" NS_SEP "y", "{}", &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
    assert_int_equal(store_ns_get(f->c, f->wh, "x" NS_SEP "y", &props, &err), ST_NOT_FOUND);
    assert_int_equal(store_ns_create(f->c, f->wh, "a" NS_SEP "b", NULL, &err), ST_OK);
    assert_int_equal(store_ns_get(f->c, f->wh, "a" NS_SEP "b", &props, &err), ST_OK);
    assert_json_eq(props, "{}");
    free(props);

    assert_int_equal(store_ns_get(f->c, f->wh, "missing", &props, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
    assert_null(props);

    assert_int_equal(store_ns_create(f->c, f->wh, "bad", "[1]", &err), ST_INVALID);
    assert_int_equal(store_ns_create(f->c, f->wh, "bad", "{", &err), ST_INVALID);
    assert_int_equal(store_ns_create(f->c, f->wh, "", "{}", &err), ST_INVALID);
    assert_int_equal(store_ns_create(f->c, f->wh + 100, "a", "{}", &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);

    /* Warehouses are separate name spaces. */
    assert_int_equal(store_warehouse_ensure(f->c, "other", "file:///o", &w2, &err), ST_OK);
    assert_int_equal(store_ns_get(f->c, w2.id, "a", &props, &err), ST_NOT_FOUND);
    assert_int_equal(store_ns_create(f->c, w2.id, "a", "{}", &err), ST_OK);
    store_warehouse_cleanup(&w2);
}

static void test_ns_list_children_only(void **state)
{
    struct fx *f = *state;
    static const char *const top[] = {"a", "ab", "b"};
    static const char *const under_a[] = {"a" NS_SEP "b", "a" NS_SEP "c"};
    static const char *const under_ab[] = {"a" NS_SEP "b" NS_SEP "d"};
    struct store_page p;
    struct error err = {0};

    ns_new(f, "b");
    ns_new(f, "a");
    ns_new(f, "ab");
    ns_new(f, "a" NS_SEP "c");
    ns_new(f, "a" NS_SEP "b");
    ns_new(f, "a" NS_SEP "b" NS_SEP "d");
    ns_new(f, "ab" NS_SEP "z");

    assert_int_equal(store_ns_list(f->c, f->wh, NULL, NULL, 100, &p, &err), ST_OK);
    assert_page(&p, top, 3, NULL);
    store_page_cleanup(&p);
    assert_int_equal(store_ns_list(f->c, f->wh, "", NULL, 100, &p, &err), ST_OK);
    assert_page(&p, top, 3, NULL);
    store_page_cleanup(&p);

    /* Children of "a": not the grandchild a.b.d, not the prefix-sharing sibling's ab.z. */
    assert_int_equal(store_ns_list(f->c, f->wh, "a", NULL, 100, &p, &err), ST_OK);
    assert_page(&p, under_a, 2, NULL);
    store_page_cleanup(&p);

    assert_int_equal(store_ns_list(f->c, f->wh, "a" NS_SEP "b", NULL, 100, &p, &err), ST_OK);
    assert_page(&p, under_ab, 1, NULL);
    store_page_cleanup(&p);

    assert_int_equal(store_ns_list(f->c, f->wh, "a" NS_SEP "c", NULL, 100, &p, &err), ST_OK);
    assert_page(&p, NULL, 0, NULL);
    store_page_cleanup(&p);

    assert_int_equal(store_ns_list(f->c, f->wh, "nope", NULL, 100, &p, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
    assert_int_equal(p.n, 0);
}

static void test_ns_list_paging(void **state)
{
    struct fx *f = *state;
    static const char *const p1[] = {"n1", "n2"}, *const p2[] = {"n3", "n4"}, *const p3[] = {"n5"};
    struct store_page p;
    struct error err = {0};
    char *token;

    ns_new(f, "n3");
    ns_new(f, "n1");
    ns_new(f, "n5");
    ns_new(f, "n2");
    ns_new(f, "n4");

    assert_int_equal(store_ns_list(f->c, f->wh, NULL, NULL, 2, &p, &err), ST_OK);
    assert_page(&p, p1, 2, "n2");
    token = xstrdup(p.next_token);
    store_page_cleanup(&p);

    assert_int_equal(store_ns_list(f->c, f->wh, NULL, token, 2, &p, &err), ST_OK);
    assert_page(&p, p2, 2, "n4");
    free(token);
    token = xstrdup(p.next_token);
    store_page_cleanup(&p);

    assert_int_equal(store_ns_list(f->c, f->wh, NULL, token, 2, &p, &err), ST_OK);
    assert_page(&p, p3, 1, NULL);
    free(token);
    store_page_cleanup(&p);

    /* A page that ends exactly at the last name has no next token. */
    assert_int_equal(store_ns_list(f->c, f->wh, NULL, "n1", 4, &p, &err), ST_OK);
    assert_int_equal(p.n, 4);
    assert_null(p.next_token);
    store_page_cleanup(&p);

    assert_int_equal(store_ns_list(f->c, f->wh, NULL, NULL, 0, &p, &err), ST_INVALID);
}

static void test_ns_drop(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    int64_t t = -1, v = -1, ch = -1;
    char *props = NULL;

    ns_new(f, "db");
    ns_new(f, "db" NS_SEP "kid");
    assert_int_equal(obj_new(f, "db", "t1", STORE_TABLE, "l1", NULL, &err), ST_OK);
    assert_int_equal(obj_new(f, "db", "t2", STORE_TABLE, "l2", NULL, &err), ST_OK);
    assert_int_equal(obj_new(f, "db", "v1", STORE_VIEW, "l3", NULL, &err), ST_OK);

    assert_int_equal(store_ns_drop(f->c, f->wh, "db", &t, &v, &ch, &err), ST_CONFLICT);
    assert_int_equal(err.type, ET_NAMESPACE_NOT_EMPTY);
    assert_int_equal(t, 2);
    assert_int_equal(v, 1);
    assert_int_equal(ch, 1);
    assert_int_equal(store_ns_get(f->c, f->wh, "db", &props, &err), ST_OK);
    free(props);

    assert_int_equal(store_obj_drop(f->c, f->wh, "db", "t1", STORE_TABLE, NULL, &err), ST_OK);
    assert_int_equal(store_obj_drop(f->c, f->wh, "db", "t2", STORE_TABLE, NULL, &err), ST_OK);
    assert_int_equal(store_ns_drop(f->c, f->wh, "db", &t, &v, NULL, &err), ST_CONFLICT);
    assert_int_equal(t, 0);
    assert_int_equal(v, 1);
    assert_int_equal(store_obj_drop(f->c, f->wh, "db", "v1", STORE_VIEW, NULL, &err), ST_OK);
    assert_int_equal(store_ns_drop(f->c, f->wh, "db", NULL, NULL, &ch, &err), ST_CONFLICT);
    assert_int_equal(ch, 1);

    assert_int_equal(store_ns_drop(f->c, f->wh, "db" NS_SEP "kid", NULL, NULL, NULL, &err), ST_OK);
    assert_int_equal(store_ns_drop(f->c, f->wh, "db", &t, &v, &ch, &err), ST_OK);
    assert_int_equal(store_ns_get(f->c, f->wh, "db", &props, &err), ST_NOT_FOUND);

    assert_int_equal(store_ns_drop(f->c, f->wh, "db", NULL, NULL, NULL, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
}

static void test_ns_update_props(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    char *old = NULL, *props = NULL;

    assert_int_equal(store_ns_create(f->c, f->wh, "p", "{\"a\":\"1\",\"b\":\"2\"}", &err), ST_OK);
    assert_int_equal(store_ns_update_props(f->c, f->wh, "p", "{\"b\":\"3\",\"c\":\"4\"}",
                                           "[\"a\",\"zz\"]", &old, &err),
                     ST_OK);
    assert_json_eq(old, "{\"a\":\"1\",\"b\":\"2\"}");
    free(old);
    assert_int_equal(store_ns_get(f->c, f->wh, "p", &props, &err), ST_OK);
    assert_json_eq(props, "{\"b\":\"3\",\"c\":\"4\"}");
    free(props);

    /* NULL updates and removals change nothing. */
    assert_int_equal(store_ns_update_props(f->c, f->wh, "p", NULL, NULL, &old, &err), ST_OK);
    assert_json_eq(old, "{\"b\":\"3\",\"c\":\"4\"}");
    free(old);

    /* A malformed update is refused and leaves the properties as they were. */
    assert_int_equal(store_ns_update_props(f->c, f->wh, "p", "{\"x\":1}", "[\"b\"]", &old, &err),
                     ST_INVALID);
    assert_null(old);
    assert_int_equal(store_ns_update_props(f->c, f->wh, "p", NULL, "{}", &old, &err), ST_INVALID);
    assert_int_equal(store_ns_get(f->c, f->wh, "p", &props, &err), ST_OK);
    assert_json_eq(props, "{\"b\":\"3\",\"c\":\"4\"}");
    free(props);

    assert_int_equal(store_ns_update_props(f->c, f->wh, "nope", "{}", NULL, &old, &err),
                     ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
    assert_null(old);
}

/* --- tables and views --- */

static void test_obj_create_get(void **state)
{
    struct fx *f = *state;
    struct store_obj o;
    struct error err = {0};
    enum store_kind existing = 0;
    struct store_cas it = {f->wh, STORE_TABLE, "nope", "t", NULL, "l", "{}"};
    size_t failed = 99;

    ns_new(f, "db");
    assert_int_equal(obj_new(f, "db", "t", STORE_TABLE, "loc1", NULL, &err), ST_OK);
    assert_int_equal(store_obj_get(f->c, f->wh, "db", "t", &o, &err), ST_OK);
    assert_int_equal(o.kind, STORE_TABLE);
    assert_string_equal(o.ns, "db");
    assert_string_equal(o.name, "t");
    assert_string_equal(o.metadata_location, "loc1");
    assert_string_equal(o.metadata, "{\"v\":1}");
    assert_int_equal(o.version, 1);
    store_obj_cleanup(&o);

    assert_int_equal(store_obj_get(f->c, f->wh, "db", "none", &o, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_TABLE);
    assert_int_equal(store_obj_get(f->c, f->wh, "nons", "t", &o, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_TABLE);

    /* The namespace must exist. */
    assert_int_equal(store_obj_commit(f->c, &it, 1, &failed, NULL, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
    assert_int_equal(failed, 0);

    /* Tables and views share one name space: a view cannot take a table's name. */
    assert_int_equal(obj_new(f, "db", "t", STORE_VIEW, "vloc", &existing, &err), ST_EXISTS);
    assert_int_equal(err.type, ET_ALREADY_EXISTS);
    assert_int_equal(existing, STORE_TABLE);
    assert_int_equal(obj_new(f, "db", "v", STORE_VIEW, "vloc", NULL, &err), ST_OK);
    existing = 0;
    assert_int_equal(obj_new(f, "db", "v", STORE_TABLE, "x", &existing, &err), ST_EXISTS);
    assert_int_equal(existing, STORE_VIEW);
    assert_int_equal(store_obj_get(f->c, f->wh, "db", "v", &o, &err), ST_OK);
    assert_int_equal(o.kind, STORE_VIEW);
    assert_string_equal(o.metadata_location, "vloc");
    store_obj_cleanup(&o);
}

static void test_obj_cas(void **state)
{
    struct fx *f = *state;
    struct store_obj o;
    struct error err = {0};
    struct store_cas wrong_kind = {f->wh, STORE_VIEW, "db", "t", "loc2", "x", "{}"};

    ns_new(f, "db");
    assert_int_equal(obj_new(f, "db", "t", STORE_TABLE, "loc1", NULL, &err), ST_OK);
    assert_int_equal(cas(f, "db", "t", "loc1", "loc2", &err), ST_OK);
    assert_int_equal(store_obj_get(f->c, f->wh, "db", "t", &o, &err), ST_OK);
    assert_string_equal(o.metadata_location, "loc2");
    assert_string_equal(o.metadata, "{\"v\":2}");
    assert_int_equal(o.version, 2);
    store_obj_cleanup(&o);

    /* A stale expected location loses and changes nothing. */
    assert_int_equal(cas(f, "db", "t", "loc1", "loc3", &err), ST_CONFLICT);
    assert_int_equal(err.type, ET_COMMIT_FAILED);
    assert_int_equal(store_obj_get(f->c, f->wh, "db", "t", &o, &err), ST_OK);
    assert_string_equal(o.metadata_location, "loc2");
    assert_int_equal(o.version, 2);
    store_obj_cleanup(&o);

    assert_int_equal(cas(f, "db", "gone", "loc1", "loc3", &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_TABLE);
    assert_int_equal(store_obj_commit(f->c, &wrong_kind, 1, NULL, NULL, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_TABLE);
    assert_location(f, "db", "t", "loc2");
}

static void test_obj_multi_commit_all_or_nothing(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    size_t failed = 99;
    enum store_kind existing = 0;

    ns_new(f, "db");
    assert_int_equal(obj_new(f, "db", "t1", STORE_TABLE, "a1", NULL, &err), ST_OK);
    assert_int_equal(obj_new(f, "db", "t2", STORE_TABLE, "b1", NULL, &err), ST_OK);

    {
        struct store_cas items[] = {
            {f->wh, STORE_TABLE, "db", "t1", "a1", "a2", "{}"},
            {f->wh, STORE_TABLE, "db", "t2", "stale", "b2", "{}"},
        };
        assert_int_equal(store_obj_commit(f->c, items, 2, &failed, NULL, &err), ST_CONFLICT);
        assert_int_equal(failed, 1);
        assert_location(f, "db", "t1", "a1");
        assert_location(f, "db", "t2", "b1");
    }
    {
        struct store_cas items[] = {
            {f->wh, STORE_TABLE, "db", "t3", NULL, "c1", "{}"},
            {f->wh, STORE_VIEW, "db", "t1", NULL, "v1", "{}"},
        };
        assert_int_equal(store_obj_commit(f->c, items, 2, &failed, &existing, &err), ST_EXISTS);
        assert_int_equal(failed, 1);
        assert_int_equal(existing, STORE_TABLE);
        assert_location(f, "db", "t3", NULL);
    }
    {
        struct store_cas items[] = {
            {f->wh, STORE_TABLE, "db", "t1", "a1", "a2", "{}"},
            {f->wh, STORE_TABLE, "db", "t2", "b1", "b2", "{}"},
            {f->wh, STORE_TABLE, "db", "t4", NULL, "d1", "{}"},
        };
        failed = 99;
        assert_int_equal(store_obj_commit(f->c, items, 3, &failed, NULL, &err), ST_OK);
        assert_int_equal(failed, 99);
        assert_location(f, "db", "t1", "a2");
        assert_location(f, "db", "t2", "b2");
        assert_location(f, "db", "t4", "d1");
    }
}

static void test_obj_list(void **state)
{
    struct fx *f = *state;
    static const char *const tp1[] = {"ta", "tb"}, *const tp2[] = {"tc"};
    static const char *const views[] = {"va"};
    struct store_page p;
    struct error err = {0};

    ns_new(f, "db");
    ns_new(f, "db2");
    assert_int_equal(obj_new(f, "db", "tc", STORE_TABLE, "l", NULL, &err), ST_OK);
    assert_int_equal(obj_new(f, "db", "ta", STORE_TABLE, "l", NULL, &err), ST_OK);
    assert_int_equal(obj_new(f, "db", "va", STORE_VIEW, "l", NULL, &err), ST_OK);
    assert_int_equal(obj_new(f, "db", "tb", STORE_TABLE, "l", NULL, &err), ST_OK);
    assert_int_equal(obj_new(f, "db2", "other", STORE_TABLE, "l", NULL, &err), ST_OK);

    assert_int_equal(store_obj_list(f->c, f->wh, "db", STORE_TABLE, NULL, 2, &p, &err), ST_OK);
    assert_page(&p, tp1, 2, "tb");
    store_page_cleanup(&p);
    assert_int_equal(store_obj_list(f->c, f->wh, "db", STORE_TABLE, "tb", 2, &p, &err), ST_OK);
    assert_page(&p, tp2, 1, NULL);
    store_page_cleanup(&p);
    assert_int_equal(store_obj_list(f->c, f->wh, "db", STORE_VIEW, NULL, 10, &p, &err), ST_OK);
    assert_page(&p, views, 1, NULL);
    store_page_cleanup(&p);
    assert_int_equal(store_obj_list(f->c, f->wh, "db2", STORE_VIEW, NULL, 10, &p, &err), ST_OK);
    assert_page(&p, NULL, 0, NULL);
    store_page_cleanup(&p);

    assert_int_equal(store_obj_list(f->c, f->wh, "nope", STORE_TABLE, NULL, 10, &p, &err),
                     ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
}

static void test_obj_drop(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    char *loc = NULL;

    ns_new(f, "db");
    assert_int_equal(obj_new(f, "db", "t", STORE_TABLE, "tloc", NULL, &err), ST_OK);
    assert_int_equal(obj_new(f, "db", "v", STORE_VIEW, "vloc", NULL, &err), ST_OK);

    assert_int_equal(store_obj_drop(f->c, f->wh, "db", "t", STORE_VIEW, &loc, &err), ST_NOT_FOUND);
    assert_null(loc);
    assert_location(f, "db", "t", "tloc");

    assert_int_equal(store_obj_drop(f->c, f->wh, "db", "t", STORE_TABLE, &loc, &err), ST_OK);
    assert_non_null(loc);
    assert_string_equal(loc, "tloc");
    free(loc);
    assert_location(f, "db", "t", NULL);

    assert_int_equal(store_obj_drop(f->c, f->wh, "db", "t", STORE_TABLE, &loc, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_TABLE);
    assert_int_equal(store_obj_drop(f->c, f->wh, "db", "v", STORE_VIEW, NULL, &err), ST_OK);
}

static void test_obj_rename(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    enum store_kind existing = 0;

    ns_new(f, "a");
    ns_new(f, "b");
    assert_int_equal(obj_new(f, "a", "t", STORE_TABLE, "tloc", NULL, &err), ST_OK);
    assert_int_equal(obj_new(f, "a", "v", STORE_VIEW, "vloc", NULL, &err), ST_OK);
    assert_int_equal(obj_new(f, "b", "bt", STORE_TABLE, "btloc", NULL, &err), ST_OK);

    assert_int_equal(store_obj_rename(f->c, f->wh, STORE_TABLE, "a", "x", "b", "y", NULL, &err),
                     ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_TABLE);
    /* A view is not a table to rename. */
    assert_int_equal(store_obj_rename(f->c, f->wh, STORE_TABLE, "a", "v", "b", "y", NULL, &err),
                     ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_TABLE);
    assert_int_equal(store_obj_rename(f->c, f->wh, STORE_TABLE, "a", "t", "c", "y", NULL, &err),
                     ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
    assert_int_equal(
        store_obj_rename(f->c, f->wh, STORE_TABLE, "a", "t", "a", "v", &existing, &err), ST_EXISTS);
    assert_int_equal(existing, STORE_VIEW);
    assert_int_equal(
        store_obj_rename(f->c, f->wh, STORE_TABLE, "a", "t", "b", "bt", &existing, &err),
        ST_EXISTS);
    assert_int_equal(existing, STORE_TABLE);
    assert_int_equal(store_obj_rename(f->c, f->wh, STORE_TABLE, "a", "t", "a", "t", NULL, &err),
                     ST_EXISTS);
    assert_location(f, "a", "t", "tloc");

    assert_int_equal(store_obj_rename(f->c, f->wh, STORE_TABLE, "a", "t", "b", "moved", NULL, &err),
                     ST_OK);
    assert_location(f, "a", "t", NULL);
    assert_location(f, "b", "moved", "tloc");
    assert_int_equal(store_obj_rename(f->c, f->wh, STORE_VIEW, "a", "v", "a", "v2", NULL, &err),
                     ST_OK);
    assert_location(f, "a", "v2", "vloc");
}

/* --- concurrency --- */

#define ROUNDS 20

struct racer {
    struct fx *f;
    pthread_barrier_t *bar;
    int id;
    enum status results[ROUNDS];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct store_conn *c = NULL;
    struct error err = {0};
    int i;

    if (store_connect(r->f->st, &c, &err) != ST_OK)
        return NULL;
    for (i = 0; i < ROUNDS; i++) {
        struct store_obj o;
        char loc[64];
        struct store_cas it = {r->f->wh, STORE_TABLE, "db", "t", NULL, loc, "{}"};

        pthread_barrier_wait(r->bar);
        r->results[i] = store_obj_get(c, r->f->wh, "db", "t", &o, &err);
        pthread_barrier_wait(r->bar); /* both have read the same location */
        if (r->results[i] == ST_OK) {
            snprintf(loc, sizeof(loc), "r%d-t%d", i, r->id);
            it.old_location = o.metadata_location;
            r->results[i] = store_obj_commit(c, &it, 1, NULL, NULL, &err);
        }
        store_obj_cleanup(&o);
        pthread_barrier_wait(r->bar);
    }
    store_disconnect(c);
    return NULL;
}

static void test_concurrent_cas_one_winner(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    pthread_barrier_t bar;
    struct racer r[2];
    pthread_t th[2];
    int i, k;

    ns_new(f, "db");
    assert_int_equal(obj_new(f, "db", "t", STORE_TABLE, "start", NULL, &err), ST_OK);
    pthread_barrier_init(&bar, NULL, 2);
    for (k = 0; k < 2; k++) {
        r[k].f = f;
        r[k].bar = &bar;
        r[k].id = k;
        for (i = 0; i < ROUNDS; i++)
            r[k].results[i] = ST_INTERNAL;
        assert_int_equal(pthread_create(&th[k], NULL, race, &r[k]), 0);
    }
    for (k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&bar);
    for (i = 0; i < ROUNDS; i++) {
        enum status a = r[0].results[i], b = r[1].results[i];

        if (!((a == ST_OK && b == ST_CONFLICT) || (a == ST_CONFLICT && b == ST_OK)))
            fail_msg("round %d: statuses %d and %d, want exactly one winner", i, a, b);
    }
    {
        struct store_obj o;

        assert_int_equal(store_obj_get(f->c, f->wh, "db", "t", &o, &err), ST_OK);
        assert_int_equal(o.version, ROUNDS + 1);
        store_obj_cleanup(&o);
    }
}

#define WRITES 40

struct writer {
    struct fx *f;
    int id;
    int failures;
};

static void *write_many(void *arg)
{
    struct writer *w = arg;
    struct store_conn *c = NULL;
    struct error err = {0};
    int i;

    if (store_connect(w->f->st, &c, &err) != ST_OK) {
        w->failures = WRITES;
        return NULL;
    }
    for (i = 0; i < WRITES; i++) {
        char name[32], upd[64], *old = NULL;
        struct store_cas it = {w->f->wh, STORE_TABLE, "db", name, NULL, "l", "{}"};

        snprintf(name, sizeof(name), "t%d_%d", w->id, i);
        snprintf(upd, sizeof(upd), "{\"%s\":\"x\"}", name);
        if (store_obj_commit(c, &it, 1, NULL, NULL, &err) != ST_OK)
            w->failures++;
        if (store_ns_update_props(c, w->f->wh, "db", upd, NULL, &old, &err) != ST_OK)
            w->failures++;
        free(old);
    }
    store_disconnect(c);
    return NULL;
}

static void test_concurrent_read_then_write(void **state)
{
    struct fx *f = *state;
    struct writer w[2] = {{f, 0, 0}, {f, 1, 0}};
    struct store_page p;
    struct error err = {0};
    pthread_t th[2];
    char *props = NULL;
    json_t *j;
    int k;

    /* Each write reads first (namespace, name, properties), then writes: no write may fail
     * and no property update may be lost while another connection commits in between. */
    ns_new(f, "db");
    for (k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&th[k], NULL, write_many, &w[k]), 0);
    for (k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    assert_int_equal(w[0].failures, 0);
    assert_int_equal(w[1].failures, 0);
    assert_int_equal(store_obj_list(f->c, f->wh, "db", STORE_TABLE, NULL, 1000, &p, &err), ST_OK);
    assert_int_equal(p.n, 2 * WRITES);
    store_page_cleanup(&p);
    assert_int_equal(store_ns_get(f->c, f->wh, "db", &props, &err), ST_OK);
    j = json_loads(props, 0, NULL);
    assert_int_equal(json_object_size(j), 2 * WRITES);
    json_decref(j);
    free(props);
}

static void test_busy_database_is_unavailable(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    char *props = NULL;
    sqlite3 *db;

    ns_new(f, "db");
    /* Another writer holds the write lock longer than the busy timeout. */
    assert_int_equal(sqlite3_open(f->db_path, &db), SQLITE_OK);
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_url_forms),
        T(test_open_unopenable_is_unavailable),
        T(test_migrations_applied_once),
        T(test_concurrent_open_migrates_once),
        T(test_ping),
        T(test_warehouse_ensure_and_get),
        T(test_ns_create_get),
        T(test_ns_list_children_only),
        T(test_ns_list_paging),
        T(test_ns_drop),
        T(test_ns_update_props),
        T(test_obj_create_get),
        T(test_obj_cas),
        T(test_obj_multi_commit_all_or_nothing),
        T(test_obj_list),
        T(test_obj_drop),
        T(test_obj_rename),
        T(test_concurrent_cas_one_winner),
        T(test_concurrent_read_then_write),
        T(test_busy_database_is_unavailable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
