/* test_store_idem.c - Idempotency-Key records in the store (SQLite backend). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "store/store.h"

#define HOUR_MS (3600 * 1000)

/* Per-test state: a fresh database with one warehouse and two connections. */
struct fx {
    char dir[4096];
    char *db_path;
    struct store *st;
    struct store_conn *c;  /* the "first request" */
    struct store_conn *c2; /* another worker */
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
    snprintf(out, n, "%s/store-idem-XXXXXX", base);
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

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    struct store_warehouse w;
    struct error err = {0};

    tmp_dir(f->dir, sizeof(f->dir));
    f->db_path = xasprintf("%s/catalog.db", f->dir);
    assert_int_equal(store_open(f->db_path, &f->st, &err), ST_OK);
    assert_int_equal(store_connect(f->st, &f->c, &err), ST_OK);
    assert_int_equal(store_connect(f->st, &f->c2, &err), ST_OK);
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
    store_disconnect(f->c2);
    store_close(f->st);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f->db_path);
    free(f);
    return 0;
}

/* --- helpers --- */

/* arm arms c with key (fingerprint fp) in f's warehouse, expiring at expires_ms. */
static void arm(struct fx *f, struct store_conn *c, const char *key, const char *fp,
                int64_t expires_ms)
{
    struct store_idem rec = {0};

    rec.warehouse_id = f->wh;
    rec.key = (char *)key;
    rec.fingerprint = (char *)fp;
    rec.expires_ms = expires_ms;
    store_conn_set_idem(c, &rec);
}

static enum status finish(struct fx *f, struct store_conn *c, const char *key, const char *fp,
                          int status, const char *body, const char *etag, int64_t expires_ms)
{
    struct store_idem rec = {.warehouse_id = f->wh,
                             .key = (char *)key,
                             .fingerprint = (char *)fp,
                             .status = status,
                             .body = (char *)body,
                             .etag = (char *)etag,
                             .expires_ms = expires_ms};
    struct error err = {0};
    enum status rc = store_idem_finish(c, &rec, &err);

    assert_int_equal(err.status, rc);
    return rc;
}

static int64_t later(void)
{
    return clock_now_ms() + HOUR_MS;
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

static int64_t n_records(struct fx *f)
{
    return query_int(f->db_path, "SELECT count(*) FROM idempotency");
}

/* assert_record checks key's live record has status and fingerprint fp. */
static void assert_record(struct fx *f, const char *key, int status, const char *fp)
{
    struct store_idem r;
    struct error err = {0};

    assert_int_equal(store_idem_get(f->c, f->wh, key, clock_now_ms(), &r, &err), ST_OK);
    assert_int_equal(r.status, status);
    assert_string_equal(r.fingerprint, fp);
    assert_string_equal(r.key, key);
    assert_int_equal(r.warehouse_id, f->wh);
    store_idem_cleanup(&r);
}

static void assert_no_record(struct fx *f, const char *key)
{
    struct store_idem r;
    struct error err = {0};

    assert_int_equal(store_idem_get(f->c, f->wh, key, clock_now_ms(), &r, &err), ST_NOT_FOUND);
    assert_null(r.key);
}

static bool ns_exists(struct fx *f, const char *ns)
{
    struct error err = {0};
    char *props = NULL;
    enum status rc = store_ns_get(f->c, f->wh, ns, &props, &err);

    free(props);
    assert_true(rc == ST_OK || rc == ST_NOT_FOUND);
    return rc == ST_OK;
}

static enum status table_new(struct store_conn *c, int64_t wh, const char *name, const char *loc)
{
    struct store_cas it = {wh, STORE_TABLE, "db", name, NULL, loc, "{}"};
    struct error err = {0};

    return store_obj_commit(c, &it, 1, NULL, NULL, &err);
}

static char *location_of(struct fx *f, const char *name)
{
    struct store_obj o;
    struct error err = {0};
    char *loc;

    if (store_obj_get(f->c, f->wh, "db", name, &o, &err) != ST_OK)
        return NULL;
    loc = xstrdup(o.metadata_location);
    store_obj_cleanup(&o);
    return loc;
}

static void assert_location(struct fx *f, const char *name, const char *want)
{
    char *loc = location_of(f, name);

    assert_non_null(loc);
    assert_string_equal(loc, want);
    free(loc);
}

/* --- mutations record the key in their own transaction --- */

static void test_armed_create_records_pending(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    struct store_idem r;
    int64_t exp = later();

    arm(f, f->c, "k1", "POST /v1/namespaces abc", exp);
    assert_false(store_conn_idem_consumed(f->c));
    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{}", &err), ST_OK);
    assert_true(store_conn_idem_consumed(f->c));
    assert_true(ns_exists(f, "a"));

    assert_int_equal(store_idem_get(f->c2, f->wh, "k1", clock_now_ms(), &r, &err), ST_OK);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.fingerprint, "POST /v1/namespaces abc");
    assert_null(r.body);
    assert_null(r.etag);
    assert_int_equal(r.expires_ms, exp);
    store_idem_cleanup(&r);

    /* The arming ended with that commit: the next mutation records nothing more. */
    assert_int_equal(store_ns_create(f->c, f->wh, "b", "{}", &err), ST_OK);
    assert_true(store_conn_idem_consumed(f->c));
    assert_int_equal(n_records(f), 1);

    /* Arming again starts over: not consumed until a commit. */
    arm(f, f->c, "k2", "fp", exp);
    assert_false(store_conn_idem_consumed(f->c));
    store_conn_set_idem(f->c, NULL);
    assert_false(store_conn_idem_consumed(f->c));
    assert_int_equal(store_ns_create(f->c, f->wh, "c", "{}", &err), ST_OK);
    assert_false(store_conn_idem_consumed(f->c));
    assert_int_equal(n_records(f), 1);
}

static void test_second_request_with_key_replays(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    struct store_cas it = {f->wh, STORE_TABLE, "a", "t", NULL, "loc", "{}"};
    struct store_idem rec = {0, "k", "fp", 0, NULL, NULL, later()};
    struct store_warehouse w;
    struct store_obj o;

    arm(f, f->c, "k", "fp", later());
    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{}", &err), ST_OK);

    /* Another connection with the key: its own (different) mutation does not happen. */
    arm(f, f->c2, "k", "fp", later());
    assert_int_equal(store_ns_create(f->c2, f->wh, "b", "{}", &err), ST_REPLAY);
    assert_int_equal(err.status, ST_REPLAY);
    assert_false(ns_exists(f, "b"));
    assert_false(store_conn_idem_consumed(f->c2));
    assert_int_equal(store_obj_commit(f->c2, &it, 1, NULL, NULL, &err), ST_REPLAY);
    assert_int_equal(store_obj_get(f->c, f->wh, "a", "t", &o, &err), ST_NOT_FOUND);

    /* The replay wins over the error the retried mutation itself would meet. */
    assert_int_equal(store_ns_create(f->c2, f->wh, "a", "{}", &err), ST_REPLAY);
    assert_int_equal(n_records(f), 1);
    assert_record(f, "k", 0, "fp");

    /* Keys belong to a warehouse: the same key elsewhere is a different key. */
    assert_int_equal(store_warehouse_ensure(f->c2, "wh2", "file:///srv/wh2", &w, &err), ST_OK);
    rec.warehouse_id = w.id;
    store_conn_set_idem(f->c2, &rec);
    assert_int_equal(store_ns_create(f->c2, w.id, "a", "{}", &err), ST_OK);
    assert_true(store_conn_idem_consumed(f->c2));
    assert_int_equal(n_records(f), 2);
    store_warehouse_cleanup(&w);
}

static void test_failed_mutation_records_nothing(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    char *old = NULL;

    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{}", &err), ST_OK);
    arm(f, f->c, "k", "fp", later());
    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{}", &err), ST_EXISTS);
    assert_no_record(f, "k");
    assert_false(store_conn_idem_consumed(f->c));
    assert_int_equal(store_ns_drop(f->c, f->wh, "nope", NULL, NULL, NULL, &err), ST_NOT_FOUND);
    assert_int_equal(store_ns_update_props(f->c, f->wh, "nope", "{}", NULL, &old, &err),
                     ST_NOT_FOUND);
    assert_null(old);
    assert_int_equal(n_records(f), 0);

    /* Still armed: the next mutation that commits records the key. */
    assert_int_equal(store_ns_create(f->c, f->wh, "b", "{}", &err), ST_OK);
    assert_true(store_conn_idem_consumed(f->c));
    assert_record(f, "k", 0, "fp");
}

static void test_failed_multi_commit_records_nothing(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    size_t failed = 99;
    struct store_cas stale[] = {
        {f->wh, STORE_TABLE, "db", "t1", "a1", "a2", "{}"},
        {f->wh, STORE_TABLE, "db", "t2", "stale", "b2", "{}"},
    };
    struct store_cas good[] = {
        {f->wh, STORE_TABLE, "db", "t1", "a1", "a2", "{}"},
        {f->wh, STORE_TABLE, "db", "t2", "b1", "b2", "{}"},
    };

    assert_int_equal(store_ns_create(f->c, f->wh, "db", "{}", &err), ST_OK);
    assert_int_equal(table_new(f->c, f->wh, "t1", "a1"), ST_OK);
    assert_int_equal(table_new(f->c, f->wh, "t2", "b1"), ST_OK);

    arm(f, f->c, "k", "fp", later());
    assert_int_equal(store_obj_commit(f->c, stale, 2, &failed, NULL, &err), ST_CONFLICT);
    assert_int_equal(failed, 1);
    assert_location(f, "t1", "a1");
    assert_location(f, "t2", "b1");
    assert_no_record(f, "k");
    assert_false(store_conn_idem_consumed(f->c));

    /* The engine's retry on the same armed connection records it with the pointer moves. */
    assert_int_equal(store_obj_commit(f->c, good, 2, &failed, NULL, &err), ST_OK);
    assert_true(store_conn_idem_consumed(f->c));
    assert_location(f, "t1", "a2");
    assert_location(f, "t2", "b2");
    assert_record(f, "k", 0, "fp");
}

static void test_every_mutation_records(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    char *old = NULL, *loc = NULL;
    enum status rc;
    int step;

    assert_int_equal(store_ns_create(f->c, f->wh, "db", "{}", &err), ST_OK);
    assert_int_equal(store_ns_create(f->c, f->wh, "gone", "{}", &err), ST_OK);
    for (step = 0; step < 6; step++) {
        char key[16];

        snprintf(key, sizeof(key), "k%d", step);
        arm(f, f->c, key, "fp", later());
        switch (step) {
        case 0:
            rc = table_new(f->c, f->wh, "t", "l1");
            break;
        case 1: {
            struct store_cas it = {f->wh, STORE_TABLE, "db", "t", "l1", "l2", "{}"};

            rc = store_obj_commit(f->c, &it, 1, NULL, NULL, &err);
            break;
        }
        case 2:
            rc = store_obj_rename(f->c, f->wh, STORE_TABLE, "db", "t", "db", "u", NULL, &err);
            break;
        case 3:
            rc = store_obj_drop(f->c, f->wh, "db", "u", STORE_TABLE, &loc, &err);
            break;
        case 4:
            rc = store_ns_update_props(f->c, f->wh, "db", "{\"a\":\"b\"}", NULL, &old, &err);
            break;
        default:
            rc = store_ns_drop(f->c, f->wh, "gone", NULL, NULL, NULL, &err);
            break;
        }
        if (rc != ST_OK)
            fail_msg("step %d: %s", step, err.msg);
        assert_true(store_conn_idem_consumed(f->c));
        assert_record(f, key, 0, "fp");
    }
    assert_string_equal(loc, "l2");
    free(loc);
    free(old);
    assert_int_equal(n_records(f), 6);
}

static void test_reads_do_not_consume(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    struct store_warehouse w;
    struct store_page p;
    struct store_obj o;
    char *props = NULL;

    assert_int_equal(store_ns_create(f->c, f->wh, "db", "{}", &err), ST_OK);
    assert_int_equal(table_new(f->c, f->wh, "t", "l1"), ST_OK);
    arm(f, f->c, "k", "fp", later());
    assert_int_equal(store_ns_get(f->c, f->wh, "db", &props, &err), ST_OK);
    free(props);
    assert_int_equal(store_ns_list(f->c, f->wh, NULL, NULL, 10, &p, &err), ST_OK);
    store_page_cleanup(&p);
    assert_int_equal(store_obj_list(f->c, f->wh, "db", STORE_TABLE, NULL, 10, &p, &err), ST_OK);
    store_page_cleanup(&p);
    assert_int_equal(store_obj_get(f->c, f->wh, "db", "t", &o, &err), ST_OK);
    store_obj_cleanup(&o);
    /* Creating a warehouse writes, but it is not the mutation the key guards. */
    assert_int_equal(store_warehouse_ensure(f->c, "wh2", "file:///srv/wh2", &w, &err), ST_OK);
    store_warehouse_cleanup(&w);
    assert_false(store_conn_idem_consumed(f->c));
    assert_int_equal(n_records(f), 0);
}

static void *create_with_key(void *arg)
{
    struct fx *f = arg;
    struct store_conn *c = NULL;
    struct error err = {0};
    char name[32];
    enum status *rc = xmalloc(sizeof(*rc));

    snprintf(name, sizeof(name), "ns%p", (void *)&name);
    if (store_connect(f->st, &c, &err) != ST_OK) {
        *rc = ST_INTERNAL;
        return rc;
    }
    arm(f, c, "race", "fp", later());
    *rc = store_ns_create(c, f->wh, name, "{}", &err);
    store_disconnect(c);
    return rc;
}

static void test_racing_requests_apply_once(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    struct store_page p;
    pthread_t th[4];
    int i, ok = 0, replay = 0;

    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, create_with_key, f), 0);
    for (i = 0; i < 4; i++) {
        void *res;

        assert_int_equal(pthread_join(th[i], &res), 0);
        ok += *(enum status *)res == ST_OK;
        replay += *(enum status *)res == ST_REPLAY;
        free(res);
    }
    assert_int_equal(ok, 1);
    assert_int_equal(replay, 3);
    assert_int_equal(store_ns_list(f->c, f->wh, NULL, NULL, 10, &p, &err), ST_OK);
    assert_int_equal(p.n, 1);
    store_page_cleanup(&p);
}

/* --- recording the response --- */

static void test_finish_completes_own_pending(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    struct store_idem r;

    arm(f, f->c, "k", "fp", later());
    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{}", &err), ST_OK);
    /* The API disarms right after the handler, before recording the response. */
    store_conn_set_idem(f->c, NULL);
    assert_int_equal(finish(f, f->c, "k", "fp", 200, "{\"namespace\":[\"a\"]}", "\"e1\"", later()),
                     ST_OK);
    assert_int_equal(store_idem_get(f->c, f->wh, "k", clock_now_ms(), &r, &err), ST_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"namespace\":[\"a\"]}");
    assert_string_equal(r.etag, "\"e1\"");
    store_idem_cleanup(&r);

    /* A second response for the key is refused, and the first stays. */
    assert_int_equal(finish(f, f->c, "k", "fp", 409, "{}", NULL, later()), ST_REPLAY);
    assert_int_equal(finish(f, f->c2, "k", "fp", 409, "{}", NULL, later()), ST_REPLAY);
    assert_int_equal(store_idem_get(f->c, f->wh, "k", clock_now_ms(), &r, &err), ST_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.etag, "\"e1\"");
    store_idem_cleanup(&r);
    assert_int_equal(n_records(f), 1);
}

static void test_finish_inserts_when_nothing_changed(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    struct store_idem r;

    assert_int_equal(finish(f, f->c, "k", "fp", 404, "{\"error\":{}}", NULL, later()), ST_OK);
    assert_int_equal(store_idem_get(f->c2, f->wh, "k", clock_now_ms(), &r, &err), ST_OK);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.fingerprint, "fp");
    assert_string_equal(r.body, "{\"error\":{}}");
    assert_null(r.etag);
    store_idem_cleanup(&r);
    assert_int_equal(finish(f, f->c2, "k", "fp", 200, NULL, NULL, later()), ST_REPLAY);

    /* A request with the key after the 4xx was recorded changes nothing either. */
    arm(f, f->c2, "k", "fp", later());
    assert_int_equal(store_ns_create(f->c2, f->wh, "a", "{}", &err), ST_REPLAY);
    assert_false(ns_exists(f, "a"));
    assert_record(f, "k", 404, "fp");
}

static void test_finish_leaves_other_requests_pending(void **state)
{
    struct fx *f = *state;
    struct error err = {0};

    arm(f, f->c, "k", "fp", later());
    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{}", &err), ST_OK);
    store_conn_set_idem(f->c, NULL);

    /* A retry that raced the first and failed (it changed nothing) must not record its 409. */
    assert_int_equal(finish(f, f->c2, "k", "fp", 409, "{}", NULL, later()), ST_REPLAY);
    assert_record(f, "k", 0, "fp");
    assert_int_equal(finish(f, f->c, "k", "fp", 200, "{}", NULL, later()), ST_OK);
    assert_record(f, "k", 200, "fp");
}

static void test_finish_rejects_bad_records(void **state)
{
    struct fx *f = *state;

    assert_int_equal(finish(f, f->c, "k", "fp", 0, NULL, NULL, later()), ST_INVALID);
    assert_int_equal(finish(f, f->c, "k", "fp", 1000, NULL, NULL, later()), ST_INVALID);
    assert_int_equal(finish(f, f->c, "", "fp", 200, NULL, NULL, later()), ST_INVALID);
    assert_int_equal(finish(f, f->c, "k", NULL, 200, NULL, NULL, later()), ST_INVALID);
    assert_int_equal(n_records(f), 0);
}

/* --- expiry --- */

static void test_expired_records_are_gone(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    struct store_idem r;
    int64_t now = clock_now_ms();

    assert_int_equal(finish(f, f->c, "k", "old", 201, "{}", NULL, now - 1000), ST_OK);
    assert_no_record(f, "k");
    /* Expiry is judged at the time given: at now_ms == expires_ms the record is gone. */
    assert_int_equal(store_idem_get(f->c, f->wh, "k", now - 1001, &r, &err), ST_OK);
    assert_int_equal(r.status, 201);
    store_idem_cleanup(&r);
    assert_int_equal(store_idem_get(f->c, f->wh, "k", now - 1000, &r, &err), ST_NOT_FOUND);

    /* An armed mutation reuses the expired key: it runs and replaces the record. */
    arm(f, f->c2, "k", "new", later());
    assert_int_equal(store_ns_create(f->c2, f->wh, "a", "{}", &err), ST_OK);
    assert_true(store_conn_idem_consumed(f->c2));
    assert_true(ns_exists(f, "a"));
    assert_record(f, "k", 0, "new");
    assert_int_equal(n_records(f), 1);

    /* A response for an expired key replaces it too. */
    assert_int_equal(finish(f, f->c, "k2", "old", 400, "{}", NULL, now - 1), ST_OK);
    assert_int_equal(finish(f, f->c, "k2", "new", 404, "{}", NULL, later()), ST_OK);
    assert_record(f, "k2", 404, "new");
}

static void test_purge_deletes_only_expired(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    struct store_idem r;
    int64_t deleted = -1;

    assert_int_equal(finish(f, f->c, "k1", "fp", 200, NULL, NULL, 1000), ST_OK);
    assert_int_equal(finish(f, f->c, "k2", "fp", 200, NULL, NULL, 2000), ST_OK);
    arm(f, f->c, "k3", "fp", later());
    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{}", &err), ST_OK);

    assert_int_equal(store_idem_purge(f->c, 1500, &deleted, &err), ST_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(store_idem_get(f->c, f->wh, "k1", 0, &r, &err), ST_NOT_FOUND);
    assert_int_equal(store_idem_get(f->c, f->wh, "k2", 0, &r, &err), ST_OK);
    store_idem_cleanup(&r);

    assert_int_equal(store_idem_purge(f->c, clock_now_ms(), &deleted, &err), ST_OK);
    assert_int_equal(deleted, 1);
    assert_record(f, "k3", 0, "fp");
    assert_int_equal(store_idem_purge(f->c, clock_now_ms(), NULL, &err), ST_OK);
    assert_int_equal(n_records(f), 1);
}

static void test_purge_large_backlog(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    int64_t deleted = 0;
    char *sql = xasprintf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                          "WHERE i < 2500) INSERT INTO idempotency (warehouse_id, key, "
                          "fingerprint, status, created_ms, expires_ms) "
                          "SELECT %lld, 'k' || i, 'fp', 200, 0, i FROM n",
                          (long long)f->wh);

    /* More than one purge batch: every expired record goes, the live one stays. */
    exec_raw(f->db_path, sql);
    free(sql);
    assert_int_equal(finish(f, f->c, "live", "fp", 200, NULL, NULL, later()), ST_OK);
    assert_int_equal(store_idem_purge(f->c, 2501, &deleted, &err), ST_OK);
    assert_int_equal(deleted, 2500);
    assert_int_equal(n_records(f), 1);
    assert_record(f, "live", 200, "fp");
}

/* --- schema --- */

static void test_upgrade_from_first_schema(void **state)
{
    struct fx *f = *state;
    struct store *st = NULL;
    struct store_conn *c = NULL;
    struct error err = {0};

    /* A database made by a build without this migration gets the table on open. */
    store_disconnect(f->c2);
    f->c2 = NULL;
    exec_raw(f->db_path, "DROP TABLE idempotency; DELETE FROM schema_migrations WHERE version = 2");
    assert_int_equal(query_int(f->db_path, "SELECT count(*) FROM sqlite_master "
                                           "WHERE name = 'idempotency'"),
                     0);
    assert_int_equal(store_open(f->db_path, &st, &err), ST_OK);
    assert_int_equal(store_connect(st, &c, &err), ST_OK);
    assert_int_equal(query_int(f->db_path, "SELECT max(version) FROM schema_migrations"), 2);
    assert_int_equal(finish(f, c, "k", "fp", 204, NULL, NULL, later()), ST_OK);
    assert_record(f, "k", 204, "fp");
    store_disconnect(c);
    store_close(st);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_armed_create_records_pending),
        T(test_second_request_with_key_replays),
        T(test_failed_mutation_records_nothing),
        T(test_failed_multi_commit_records_nothing),
        T(test_every_mutation_records),
        T(test_reads_do_not_consume),
        T(test_racing_requests_apply_once),
        T(test_finish_completes_own_pending),
        T(test_finish_inserts_when_nothing_changed),
        T(test_finish_leaves_other_requests_pending),
        T(test_finish_rejects_bad_records),
        T(test_expired_records_are_gone),
        T(test_purge_deletes_only_expired),
        T(test_purge_large_backlog),
        T(test_upgrade_from_first_schema),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
