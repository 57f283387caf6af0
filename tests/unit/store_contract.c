/*
 * store_contract.c - the store.h contract as cmocka tests, run on every
 * backend through its own opener (see store_contract.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "store/store.h"
#include "store_contract.h"

#define NS_SEP "\x1f"
#define HOUR_MS (3600 * 1000)

/* The backend sc_setup opens: set once by sc_use before the tests run. */
static const struct sc_backend *backend;

/* --- the fixture --- */

void sc_use(const struct sc_backend *b)
{
    backend = b;
}

int sc_setup(void **state)
{
    struct sc_fx *f = xcalloc(1, sizeof(*f));
    struct store_warehouse w;
    struct error err = {0};

    f->ctx = backend->open(&f->st);
    assert_int_equal(store_connect(f->st, &f->c, &err), ST_OK);
    assert_int_equal(store_connect(f->st, &f->c2, &err), ST_OK);
    assert_int_equal(store_warehouse_ensure(f->c, "wh", "file:///srv/wh", NULL, &w, &err), ST_OK);
    f->wh = w.id;
    store_warehouse_cleanup(&w);
    *state = f;
    return 0;
}

int sc_teardown(void **state)
{
    struct sc_fx *f = *state;

    store_disconnect(f->c);
    store_disconnect(f->c2);
    store_close(f->st);
    backend->close(f->ctx);
    free(f);
    return 0;
}

int64_t sc_query_int(struct sc_fx *f, const char *sql)
{
    return backend->query_int(f->ctx, sql);
}

void sc_exec(struct sc_fx *f, const char *sql)
{
    backend->exec(f->ctx, sql);
}

/* --- helpers --- */

void sc_ns_new(struct sc_fx *f, const char *ns)
{
    struct error err = {0};

    if (store_ns_create(f->c, f->wh, ns, "{}", &err) != ST_OK)
        fail_msg("create %s: %s", ns, err.msg);
}

enum status sc_obj_new(struct sc_fx *f, const char *ns, const char *name, enum store_kind kind,
                       const char *loc, enum store_kind *existing, struct error *err)
{
    struct store_cas it = {f->wh, kind, ns, name, NULL, loc, "{\"v\":1}"};
    size_t failed = 99;

    return store_obj_commit(f->c, &it, 1, &failed, existing, err);
}

static enum status cas(struct sc_fx *f, const char *ns, const char *name, const char *from,
                       const char *to, struct error *err)
{
    struct store_cas it = {f->wh, STORE_TABLE, ns, name, from, to, "{\"v\":2}"};

    return store_obj_commit(f->c, &it, 1, NULL, NULL, err);
}

static char *location_of(struct sc_fx *f, const char *ns, const char *name)
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

static void assert_location(struct sc_fx *f, const char *ns, const char *name, const char *want)
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

void sc_assert_json_eq(const char *got, const char *want)
{
    json_t *a = json_loads(got, 0, NULL), *b = json_loads(want, 0, NULL);

    assert_non_null(a);
    assert_non_null(b);
    if (!json_equal(a, b))
        fail_msg("JSON differs: got %s, want %s", got, want);
    json_decref(a);
    json_decref(b);
}

static void test_ping(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};

    assert_int_equal(store_ping(f->c, &err), ST_OK);
}

/* --- warehouses --- */

static void test_warehouse_ensure_and_get(void **state)
{
    struct sc_fx *f = *state;
    struct store_warehouse w;
    struct error err = {0};
    int64_t t0, created;

    /* ensure on an existing name keeps the original location. */
    assert_int_equal(store_warehouse_ensure(f->c, "wh", "file:///other", NULL, &w, &err), ST_OK);
    assert_int_equal(w.id, f->wh);
    assert_string_equal(w.location, "file:///srv/wh");
    store_warehouse_cleanup(&w);

    t0 = clock_now_ms();
    assert_int_equal(store_warehouse_ensure(f->c2, "wh2", "file:///srv/wh2", NULL, &w, &err),
                     ST_OK);
    assert_true(w.id != f->wh);
    assert_string_equal(w.name, "wh2");
    assert_string_equal(w.storage, "{}");
    assert_in_range(w.created_ms, t0, clock_now_ms());
    created = w.created_ms;
    store_warehouse_cleanup(&w);

    assert_int_equal(store_warehouse_get(f->c, "wh2", &w, &err), ST_OK);
    assert_string_equal(w.location, "file:///srv/wh2");
    assert_string_equal(w.storage, "{}");
    assert_int_equal(w.created_ms, created);
    store_warehouse_cleanup(&w);

    assert_int_equal(store_warehouse_get(f->c, "nope", &w, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);
    assert_null(w.name);
    assert_int_equal(sc_query_int(f, "SELECT count(*) FROM warehouses"), 2);
}

/* wh_get loads warehouse name into *w or fails the test. */
static void wh_get(struct sc_fx *f, const char *name, struct store_warehouse *w)
{
    struct error err = {0};

    if (store_warehouse_get(f->c, name, w, &err) != ST_OK)
        fail_msg("get warehouse %s: %s", name, err.msg);
}

/* wh_new creates warehouse name at location with storage and returns its id, or fails the test. */
static int64_t wh_new(struct sc_fx *f, const char *name, const char *location, const char *storage)
{
    struct store_warehouse w;
    struct error err = {0};
    int64_t id;

    if (store_warehouse_create(f->c, name, location, storage, &w, &err) != ST_OK)
        fail_msg("create warehouse %s: %s", name, err.msg);
    id = w.id;
    store_warehouse_cleanup(&w);
    return id;
}

static void test_warehouse_create(void **state)
{
    struct sc_fx *f = *state;
    const char *storage = "{\"type\":\"s3\",\"bucket\":\"lake\",\"region\":\"eu-west-1\"}";
    struct store_warehouse w, got;
    struct error err = {0};
    int64_t t0 = clock_now_ms();

    assert_int_equal(store_warehouse_create(f->c, "lake", "s3://lake/wh", storage, &w, &err),
                     ST_OK);
    assert_true(w.id > 0 && w.id != f->wh);
    assert_string_equal(w.name, "lake");
    assert_string_equal(w.location, "s3://lake/wh");
    assert_string_equal(w.storage, storage);
    assert_in_range(w.created_ms, t0, clock_now_ms());

    /* What create returned is what every later read finds, on any connection. */
    assert_int_equal(store_warehouse_get(f->c2, "lake", &got, &err), ST_OK);
    assert_int_equal(got.id, w.id);
    assert_string_equal(got.location, w.location);
    assert_string_equal(got.storage, storage);
    assert_int_equal(got.created_ms, w.created_ms);
    store_warehouse_cleanup(&got);

    /* A taken name, made by create or by ensure: ST_EXISTS, and the stored row is unchanged. */
    assert_int_equal(store_warehouse_create(f->c2, "lake", "file:///x", "{}", &got, &err),
                     ST_EXISTS);
    assert_int_equal(err.type, ET_ALREADY_EXISTS);
    assert_string_equal(err.msg, "Warehouse already exists: lake");
    assert_null(got.name);
    assert_null(got.storage);
    assert_int_equal(store_warehouse_create(f->c, "wh", "file:///x", NULL, &got, &err), ST_EXISTS);
    assert_string_equal(err.msg, "Warehouse already exists: wh");
    wh_get(f, "lake", &got);
    assert_string_equal(got.location, "s3://lake/wh");
    assert_string_equal(got.storage, storage);
    store_warehouse_cleanup(&got);
    store_warehouse_cleanup(&w);

    /* No storage settings are an empty object. */
    assert_int_equal(store_warehouse_create(f->c, "plain", "file:///p", NULL, &w, &err), ST_OK);
    assert_string_equal(w.storage, "{}");
    store_warehouse_cleanup(&w);
    wh_get(f, "plain", &w);
    assert_string_equal(w.storage, "{}");
    store_warehouse_cleanup(&w);
    assert_int_equal(sc_query_int(f, "SELECT count(*) FROM warehouses"), 3);
}

static void test_warehouse_create_rejects_bad_arguments(void **state)
{
    struct sc_fx *f = *state;
    static const char *const bad_storage[] = {
        "[1]", "\"s3\"", "{", "", "{\"a\":1,\"a\":2}", "{\"a\":\"\xff\"}"};
    struct store_warehouse w;
    struct error err = {0};
    size_t i;

    assert_int_equal(store_warehouse_create(f->c, "", "file:///x", NULL, &w, &err), ST_INVALID);
    assert_int_equal(err.type, ET_ILLEGAL_ARGUMENT);
    assert_int_equal(store_warehouse_create(f->c, NULL, "file:///x", NULL, &w, &err), ST_INVALID);
    assert_int_equal(store_warehouse_create(f->c, "x", "", NULL, &w, &err), ST_INVALID);
    assert_int_equal(err.type, ET_ILLEGAL_ARGUMENT);
    assert_int_equal(store_warehouse_create(f->c, "x", NULL, NULL, &w, &err), ST_INVALID);
    for (i = 0; i < sizeof(bad_storage) / sizeof(*bad_storage); i++) {
        err = (struct error){0};
        if (store_warehouse_create(f->c, "x", "file:///x", bad_storage[i], &w, &err) != ST_INVALID)
            fail_msg("storage %zu was accepted", i);
        assert_int_equal(err.type, ET_ILLEGAL_ARGUMENT);
        assert_null(w.name);
        assert_int_equal(store_warehouse_ensure(f->c, "x", "file:///x", bad_storage[i], &w, &err),
                         ST_INVALID);
    }
    assert_int_equal(store_warehouse_get(f->c, "x", &w, &err), ST_NOT_FOUND);
    assert_int_equal(sc_query_int(f, "SELECT count(*) FROM warehouses"), 1);
}

static void test_warehouse_list_in_byte_order(void **state)
{
    struct sc_fx *f = *state;
    /* Byte order: upper case before lower case, a prefix before its extensions, UTF-8 last. */
    static const char *const want[] = {"B", "a", "ab", "b", "wh", "\xc3\xa9t\xc3\xa9"};
    static const char *const create[] = {"b", "\xc3\xa9t\xc3\xa9", "ab", "B", "a"};
    struct store_warehouse *list = NULL, w;
    struct error err = {0};
    size_t n = 99, i;

    for (i = 0; i < sizeof(create) / sizeof(*create); i++) {
        char *loc = xasprintf("file:///srv/%zu", i), *st = xasprintf("{\"n\":%zu}", i);

        wh_new(f, create[i], loc, st);
        free(loc);
        free(st);
    }
    assert_int_equal(store_warehouse_list(f->c2, &list, &n, &err), ST_OK);
    assert_int_equal(n, sizeof(want) / sizeof(*want));
    for (i = 0; i < n; i++) {
        assert_string_equal(list[i].name, want[i]);
        /* Every row comes whole: the same as a get of that name. */
        wh_get(f, want[i], &w);
        assert_int_equal(list[i].id, w.id);
        assert_string_equal(list[i].location, w.location);
        assert_string_equal(list[i].storage, w.storage);
        assert_int_equal(list[i].created_ms, w.created_ms);
        assert_true(list[i].created_ms > 0);
        store_warehouse_cleanup(&w);
    }
    assert_string_equal(list[4].storage, "{}");
    assert_string_equal(list[1].storage, "{\"n\":4}");
    store_warehouse_list_free(list, n);
}

static void test_warehouse_list_empty(void **state)
{
    struct sc_fx *f = *state;
    struct store_warehouse *list = (struct store_warehouse *)1;
    struct error err = {0};
    size_t n = 99;

    assert_int_equal(store_warehouse_delete(f->c, "wh", &err), ST_OK);
    assert_int_equal(store_warehouse_list(f->c, &list, &n, &err), ST_OK);
    assert_int_equal(n, 0);
    assert_null(list);
    store_warehouse_list_free(list, n);
}

static void test_warehouse_storage_round_trip(void **state)
{
    struct sc_fx *f = *state;
    /* Non-ASCII text raw and escaped, nesting, numbers, literals and the spacing as given. */
    const char *storage =
        "{ \"label\": \"Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80\","
        " \"escaped\": \"\\u00e9\\ud83d\\ude00\\n\\\"q\\\"\","
        " \"nested\": {\"a\": [1, -2.5e3, true, false, null]},"
        " \"big\": 9007199254740993 }";
    const char *other = "{\"endpoint\":\"https://s3.example:9000\",\"path-style\":true}";
    struct store_warehouse w, *list = NULL;
    struct error err = {0};
    size_t n = 0;

    wh_new(f, "lake", "s3://b/p", storage);
    wh_get(f, "lake", &w);
    assert_string_equal(w.storage, storage);
    store_warehouse_cleanup(&w);
    assert_int_equal(store_warehouse_list(f->c, &list, &n, &err), ST_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "lake");
    assert_string_equal(list[0].storage, storage);
    store_warehouse_list_free(list, n);

    /* set_storage stores its text just as faithfully, and ensure returns it too. */
    assert_int_equal(store_warehouse_set_storage(f->c, "wh", storage, &err), ST_OK);
    assert_int_equal(store_warehouse_ensure(f->c2, "wh", "file:///x", other, &w, &err), ST_OK);
    assert_string_equal(w.storage, storage);
    store_warehouse_cleanup(&w);
}

static void test_warehouse_set_storage(void **state)
{
    struct sc_fx *f = *state;
    const char *s3 = "{\"type\":\"s3\",\"bucket\":\"b\"}";
    struct store_warehouse before, w;
    struct error err = {0};

    wh_new(f, "other", "file:///o", "{\"keep\":true}");
    wh_get(f, "wh", &before);
    assert_int_equal(store_warehouse_set_storage(f->c, "wh", s3, &err), ST_OK);
    wh_get(f, "wh", &w);
    assert_string_equal(w.storage, s3);
    /* Only the storage changes. */
    assert_int_equal(w.id, before.id);
    assert_string_equal(w.location, before.location);
    assert_int_equal(w.created_ms, before.created_ms);
    store_warehouse_cleanup(&w);
    wh_get(f, "other", &w);
    assert_string_equal(w.storage, "{\"keep\":true}");
    store_warehouse_cleanup(&w);

    /* Bad settings change nothing. */
    assert_int_equal(store_warehouse_set_storage(f->c, "wh", "[]", &err), ST_INVALID);
    assert_int_equal(err.type, ET_ILLEGAL_ARGUMENT);
    wh_get(f, "wh", &w);
    assert_string_equal(w.storage, s3);
    store_warehouse_cleanup(&w);

    /* NULL clears them. */
    assert_int_equal(store_warehouse_set_storage(f->c2, "wh", NULL, &err), ST_OK);
    wh_get(f, "wh", &w);
    assert_string_equal(w.storage, "{}");
    store_warehouse_cleanup(&w);

    err = (struct error){0};
    assert_int_equal(store_warehouse_set_storage(f->c, "nope", s3, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);
    assert_string_equal(err.msg, "Warehouse does not exist: nope");
    assert_int_equal(store_warehouse_set_storage(f->c, NULL, s3, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);
    assert_int_equal(store_warehouse_get(f->c, "nope", &w, &err), ST_NOT_FOUND);
    store_warehouse_cleanup(&before);
}

static void test_warehouse_ensure_keeps_storage(void **state)
{
    struct sc_fx *f = *state;
    const char *mine = "{\"type\":\"gcs\",\"bucket\":\"mine\"}";
    struct store_warehouse w;
    struct error err = {0};
    int64_t id = wh_new(f, "lake", "gs://mine/wh", mine);

    /* An existing warehouse keeps its location and storage, whatever ensure asks for. */
    assert_int_equal(
        store_warehouse_ensure(f->c, "lake", "file:///elsewhere", "{\"type\":\"s3\"}", &w, &err),
        ST_OK);
    assert_int_equal(w.id, id);
    assert_string_equal(w.location, "gs://mine/wh");
    assert_string_equal(w.storage, mine);
    assert_true(w.created_ms > 0);
    store_warehouse_cleanup(&w);
    assert_int_equal(store_warehouse_ensure(f->c2, "lake", "file:///elsewhere", NULL, &w, &err),
                     ST_OK);
    assert_string_equal(w.storage, mine);
    store_warehouse_cleanup(&w);
    wh_get(f, "lake", &w);
    assert_string_equal(w.storage, mine);
    store_warehouse_cleanup(&w);

    /* A new one is made with the storage given. */
    assert_int_equal(
        store_warehouse_ensure(f->c, "fresh", "file:///f", "{\"type\":\"local\"}", &w, &err),
        ST_OK);
    assert_string_equal(w.storage, "{\"type\":\"local\"}");
    store_warehouse_cleanup(&w);
    wh_get(f, "fresh", &w);
    assert_string_equal(w.storage, "{\"type\":\"local\"}");
    store_warehouse_cleanup(&w);
}

static void test_warehouse_delete(void **state)
{
    struct sc_fx *f = *state;
    struct store_warehouse w;
    struct error err = {0};

    wh_new(f, "lake", "file:///l", "{\"a\":\"b\"}");
    assert_int_equal(store_warehouse_delete(f->c, "lake", &err), ST_OK);
    assert_int_equal(store_warehouse_get(f->c2, "lake", &w, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);
    assert_int_equal(sc_query_int(f, "SELECT count(*) FROM warehouses"), 1);

    err = (struct error){0};
    assert_int_equal(store_warehouse_delete(f->c, "lake", &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);
    assert_string_equal(err.msg, "Warehouse does not exist: lake");
    assert_int_equal(store_warehouse_delete(f->c, NULL, &err), ST_NOT_FOUND);
    assert_int_equal(store_warehouse_set_storage(f->c, "lake", "{}", &err), ST_NOT_FOUND);

    /* The name is free again, with nothing of the old warehouse left. */
    wh_new(f, "lake", "file:///l2", NULL);
    wh_get(f, "lake", &w);
    assert_string_equal(w.location, "file:///l2");
    assert_string_equal(w.storage, "{}");
    store_warehouse_cleanup(&w);
}

static void test_warehouse_delete_not_empty(void **state)
{
    struct sc_fx *f = *state;
    struct store_warehouse w;
    struct error err = {0};
    char *props = NULL;

    sc_ns_new(f, "db");
    sc_ns_new(f, "db" NS_SEP "inner");
    assert_int_equal(sc_obj_new(f, "db", "t", STORE_TABLE, "loc", NULL, &err), ST_OK);
    assert_int_equal(store_warehouse_delete(f->c, "wh", &err), ST_CONFLICT);
    assert_int_equal(err.type, ET_WAREHOUSE_NOT_EMPTY);
    assert_string_equal(err.msg, "Warehouse is not empty: wh");
    /* Nothing went. */
    wh_get(f, "wh", &w);
    assert_int_equal(w.id, f->wh);
    store_warehouse_cleanup(&w);
    assert_location(f, "db", "t", "loc");

    /* An empty namespace is enough to keep it. */
    assert_int_equal(store_obj_drop(f->c, f->wh, "db", "t", STORE_TABLE, NULL, &err), ST_OK);
    assert_int_equal(store_ns_drop(f->c, f->wh, "db" NS_SEP "inner", NULL, NULL, NULL, &err),
                     ST_OK);
    assert_int_equal(store_warehouse_delete(f->c2, "wh", &err), ST_CONFLICT);
    assert_int_equal(err.type, ET_WAREHOUSE_NOT_EMPTY);
    assert_int_equal(store_ns_get(f->c, f->wh, "db", &props, &err), ST_OK);
    free(props);

    assert_int_equal(store_ns_drop(f->c, f->wh, "db", NULL, NULL, NULL, &err), ST_OK);
    assert_int_equal(store_warehouse_delete(f->c2, "wh", &err), ST_OK);
    assert_int_equal(store_warehouse_get(f->c, "wh", &w, &err), ST_NOT_FOUND);
    /* A namespace in a deleted warehouse cannot be made. */
    assert_int_equal(store_ns_create(f->c, f->wh, "db", "{}", &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);
}

/* --- namespaces --- */

static void test_ns_create_get(void **state)
{
    struct sc_fx *f = *state;
    struct store_warehouse w2;
    struct error err = {0};
    char *props = NULL;

    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{\"owner\":\"me\"}", &err), ST_OK);
    assert_int_equal(store_ns_get(f->c, f->wh, "a", &props, &err), ST_OK);
    sc_assert_json_eq(props, "{\"owner\":\"me\"}");
    free(props);

    assert_int_equal(store_ns_create(f->c, f->wh, "a", "{}", &err), ST_EXISTS);
    assert_int_equal(err.type, ET_ALREADY_EXISTS);

    /* A nested namespace needs its parent. */
    assert_int_equal(store_ns_create(f->c, f->wh, "x" NS_SEP "y", "{}", &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
    assert_int_equal(store_ns_get(f->c, f->wh, "x" NS_SEP "y", &props, &err), ST_NOT_FOUND);
    assert_int_equal(store_ns_create(f->c, f->wh, "a" NS_SEP "b", NULL, &err), ST_OK);
    assert_int_equal(store_ns_get(f->c, f->wh, "a" NS_SEP "b", &props, &err), ST_OK);
    sc_assert_json_eq(props, "{}");
    free(props);

    assert_int_equal(store_ns_get(f->c, f->wh, "missing", &props, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
    assert_null(props);

    assert_int_equal(store_ns_create(f->c, f->wh, "bad", "[1]", &err), ST_INVALID);
    assert_int_equal(store_ns_create(f->c, f->wh, "bad", "{", &err), ST_INVALID);
    assert_int_equal(store_ns_create(f->c, f->wh, "", "{}", &err), ST_INVALID);
    assert_int_equal(store_ns_create(f->c, f->wh + 100, "a", "{}", &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);
    assert_int_equal(store_ns_create(f->c, f->wh + 100, "a" NS_SEP "b", "{}", &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);

    /* Warehouses are separate name spaces. */
    assert_int_equal(store_warehouse_ensure(f->c, "other", "file:///o", NULL, &w2, &err), ST_OK);
    assert_int_equal(store_ns_get(f->c, w2.id, "a", &props, &err), ST_NOT_FOUND);
    assert_int_equal(store_ns_create(f->c, w2.id, "a", "{}", &err), ST_OK);
    store_warehouse_cleanup(&w2);
}

static void test_ns_list_children_only(void **state)
{
    struct sc_fx *f = *state;
    static const char *const top[] = {"a", "ab", "b"};
    static const char *const under_a[] = {"a" NS_SEP "b", "a" NS_SEP "c"};
    static const char *const under_ab[] = {"a" NS_SEP "b" NS_SEP "d"};
    struct store_page p;
    struct error err = {0};

    sc_ns_new(f, "b");
    sc_ns_new(f, "a");
    sc_ns_new(f, "ab");
    sc_ns_new(f, "a" NS_SEP "c");
    sc_ns_new(f, "a" NS_SEP "b");
    sc_ns_new(f, "a" NS_SEP "b" NS_SEP "d");
    sc_ns_new(f, "ab" NS_SEP "z");

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
    assert_null(p.names);
    /* Past the last child of an existing namespace: an empty page, not an error. */
    assert_int_equal(store_ns_list(f->c, f->wh, "a", "zzz", 100, &p, &err), ST_OK);
    assert_page(&p, NULL, 0, NULL);
    store_page_cleanup(&p);
}

static void test_ns_list_paging(void **state)
{
    struct sc_fx *f = *state;
    static const char *const p1[] = {"n1", "n2"}, *const p2[] = {"n3", "n4"}, *const p3[] = {"n5"};
    struct store_page p;
    struct error err = {0};
    char *token;

    sc_ns_new(f, "n3");
    sc_ns_new(f, "n1");
    sc_ns_new(f, "n5");
    sc_ns_new(f, "n2");
    sc_ns_new(f, "n4");

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

static void test_names_sort_as_bytes(void **state)
{
    struct sc_fx *f = *state;
    /* Byte order on every backend: upper case before lower case, UTF-8 after ASCII. */
    static const char *const want[] = {"B", "Z", "a", "a b", "a_b", "b", "\xc3\xa9t\xc3\xa9"};
    static const char *const tables[] = {"T", "t", "\xc3\xa9"};
    struct store_page p;
    struct error err = {0};
    size_t i;

    for (i = 0; i < 7; i++)
        sc_ns_new(f, want[6 - i]);
    assert_int_equal(store_ns_list(f->c, f->wh, NULL, NULL, 100, &p, &err), ST_OK);
    assert_page(&p, want, 7, NULL);
    store_page_cleanup(&p);
    for (i = 0; i < 3; i++)
        assert_int_equal(sc_obj_new(f, "a", tables[2 - i], STORE_TABLE, "l", NULL, &err), ST_OK);
    assert_int_equal(store_obj_list(f->c, f->wh, "a", STORE_TABLE, NULL, 2, &p, &err), ST_OK);
    assert_page(&p, tables, 2, "t");
    store_page_cleanup(&p);
    assert_int_equal(store_obj_list(f->c, f->wh, "a", STORE_TABLE, "t", 2, &p, &err), ST_OK);
    assert_page(&p, tables + 2, 1, NULL);
    store_page_cleanup(&p);
}

static void test_ns_drop(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    int64_t t = -1, v = -1, ch = -1;
    char *props = NULL;

    sc_ns_new(f, "db");
    sc_ns_new(f, "db" NS_SEP "kid");
    assert_int_equal(sc_obj_new(f, "db", "t1", STORE_TABLE, "l1", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "t2", STORE_TABLE, "l2", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "v1", STORE_VIEW, "l3", NULL, &err), ST_OK);

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
    struct sc_fx *f = *state;
    struct error err = {0};
    char *old = NULL, *props = NULL;

    assert_int_equal(store_ns_create(f->c, f->wh, "p", "{\"a\":\"1\",\"b\":\"2\"}", &err), ST_OK);
    assert_int_equal(store_ns_update_props(f->c, f->wh, "p", "{\"b\":\"3\",\"c\":\"4\"}",
                                           "[\"a\",\"zz\"]", &old, &err),
                     ST_OK);
    sc_assert_json_eq(old, "{\"a\":\"1\",\"b\":\"2\"}");
    free(old);
    assert_int_equal(store_ns_get(f->c, f->wh, "p", &props, &err), ST_OK);
    sc_assert_json_eq(props, "{\"b\":\"3\",\"c\":\"4\"}");
    free(props);

    /* NULL updates and removals change nothing. */
    assert_int_equal(store_ns_update_props(f->c, f->wh, "p", NULL, NULL, &old, &err), ST_OK);
    sc_assert_json_eq(old, "{\"b\":\"3\",\"c\":\"4\"}");
    free(old);

    /* A malformed update is refused and leaves the properties as they were. */
    assert_int_equal(store_ns_update_props(f->c, f->wh, "p", "{\"x\":1}", "[\"b\"]", &old, &err),
                     ST_INVALID);
    assert_null(old);
    assert_int_equal(store_ns_update_props(f->c, f->wh, "p", NULL, "{}", &old, &err), ST_INVALID);
    assert_int_equal(store_ns_get(f->c, f->wh, "p", &props, &err), ST_OK);
    sc_assert_json_eq(props, "{\"b\":\"3\",\"c\":\"4\"}");
    free(props);

    assert_int_equal(store_ns_update_props(f->c, f->wh, "nope", "{}", NULL, &old, &err),
                     ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
    assert_null(old);
}

/* --- tables and views --- */

static void test_obj_create_get(void **state)
{
    struct sc_fx *f = *state;
    struct store_obj o;
    struct error err = {0};
    enum store_kind existing = 0;
    struct store_cas it = {f->wh, STORE_TABLE, "nope", "t", NULL, "l", "{}"};
    size_t failed = 99;

    sc_ns_new(f, "db");
    assert_int_equal(sc_obj_new(f, "db", "t", STORE_TABLE, "loc1", NULL, &err), ST_OK);
    assert_int_equal(store_obj_get(f->c, f->wh, "db", "t", &o, &err), ST_OK);
    assert_int_equal(o.kind, STORE_TABLE);
    assert_string_equal(o.ns, "db");
    assert_string_equal(o.name, "t");
    assert_string_equal(o.metadata_location, "loc1");
    assert_string_equal(o.metadata, "{\"v\":1}");
    assert_int_equal(o.version, 1);
    assert_true(o.id > 0);
    store_obj_cleanup(&o);

    /* The head read: the same row without the metadata text. */
    assert_int_equal(store_obj_head(f->c, f->wh, "db", "t", &o, &err), ST_OK);
    assert_int_equal(o.kind, STORE_TABLE);
    assert_string_equal(o.name, "t");
    assert_string_equal(o.metadata_location, "loc1");
    assert_null(o.metadata);
    assert_true(o.id > 0);
    store_obj_cleanup(&o);
    assert_int_equal(store_obj_head(f->c, f->wh, "db", "none", &o, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_TABLE);

    assert_int_equal(store_obj_get(f->c, f->wh, "db", "none", &o, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_TABLE);
    assert_null(o.name);
    assert_int_equal(store_obj_get(f->c, f->wh, "nons", "t", &o, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_TABLE);

    /* The namespace must exist. */
    assert_int_equal(store_obj_commit(f->c, &it, 1, &failed, NULL, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NO_SUCH_NAMESPACE);
    assert_int_equal(failed, 0);

    /* Tables and views share one name space: a view cannot take a table's name. */
    assert_int_equal(sc_obj_new(f, "db", "t", STORE_VIEW, "vloc", &existing, &err), ST_EXISTS);
    assert_int_equal(err.type, ET_ALREADY_EXISTS);
    assert_int_equal(existing, STORE_TABLE);
    assert_int_equal(sc_obj_new(f, "db", "v", STORE_VIEW, "vloc", NULL, &err), ST_OK);
    existing = 0;
    assert_int_equal(sc_obj_new(f, "db", "v", STORE_TABLE, "x", &existing, &err), ST_EXISTS);
    assert_int_equal(existing, STORE_VIEW);
    assert_int_equal(store_obj_get(f->c, f->wh, "db", "v", &o, &err), ST_OK);
    assert_int_equal(o.kind, STORE_VIEW);
    assert_string_equal(o.metadata_location, "vloc");
    store_obj_cleanup(&o);
}

static void test_obj_cas(void **state)
{
    struct sc_fx *f = *state;
    struct store_obj o;
    struct error err = {0};
    struct store_cas wrong_kind = {f->wh, STORE_VIEW, "db", "t", "loc2", "x", "{}"};

    sc_ns_new(f, "db");
    assert_int_equal(sc_obj_new(f, "db", "t", STORE_TABLE, "loc1", NULL, &err), ST_OK);
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

/* head_location returns the location store_obj_head reads for db.name on c (NULL: not found). */
static char *head_location(struct sc_fx *f, struct store_conn *c, int64_t wh, const char *name)
{
    struct store_obj o;
    struct error err = {0};
    char *loc;
    enum status rc = store_obj_head(c, wh, "db", name, &o, &err);

    if (rc == ST_NOT_FOUND) {
        assert_int_equal(err.type, ET_NO_SUCH_TABLE);
        return NULL;
    }
    assert_int_equal(rc, ST_OK);
    (void)f;
    assert_string_equal(o.ns, "db");
    assert_string_equal(o.name, name);
    assert_null(o.metadata);
    assert_true(o.id > 0);
    loc = xstrdup(o.metadata_location);
    store_obj_cleanup(&o);
    return loc;
}

static void assert_head(struct sc_fx *f, struct store_conn *c, int64_t wh, const char *name,
                        const char *want)
{
    char *got = head_location(f, c, wh, name);

    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/*
 * Heads read ahead are the state when store_prefetch_heads ran, each
 * answering one store_obj_head of its name (found or not) on its connection;
 * after that, or after store_prefetch_clear, reads go to the store. A store
 * that does not batch keeps nothing.
 */
static void test_prefetch_heads(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    struct store_cas move = {f->wh, STORE_TABLE, "db", "t1", "a1", "a2", "{\"v\":2}"};
    const struct store_key keys[] = {
        {f->wh, "db", "t1"}, {f->wh, "db", "missing"}, {f->wh, "db", "t2"},
        {f->wh, "db", "t1"}, {f->wh, "db", "v"},
    };
    bool batches = store_batches_reads(f->st);

    sc_ns_new(f, "db");
    assert_int_equal(sc_obj_new(f, "db", "t1", STORE_TABLE, "a1", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "t2", STORE_TABLE, "b1", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "v", STORE_VIEW, "v1", NULL, &err), ST_OK);
    assert_int_equal(store_prefetch_heads(f->c, keys, 5, &err), ST_OK);
    /* Another worker moves t1 and creates "missing" after the read-ahead. */
    assert_int_equal(store_obj_commit(f->c2, &move, 1, NULL, NULL, &err), ST_OK);
    {
        struct store_cas create = {f->wh, STORE_TABLE, "db", "missing", NULL, "m1", "{}"};

        assert_int_equal(store_obj_commit(f->c2, &create, 1, NULL, NULL, &err), ST_OK);
    }
    /* The other connection and another warehouse id never see c's read-ahead. */
    assert_head(f, f->c2, f->wh, "t1", "a2");
    assert_head(f, f->c, f->wh + 1000, "t1", NULL);
    if (batches) {
        /* t1 was asked for twice: two answers from the read-ahead, then the store. */
        assert_head(f, f->c, f->wh, "t1", "a1");
        assert_head(f, f->c, f->wh, "t1", "a1");
        assert_head(f, f->c, f->wh, "t1", "a2");
        /* Not found when read ahead: one 404, then the store has it. */
        assert_head(f, f->c, f->wh, "missing", NULL);
        assert_head(f, f->c, f->wh, "missing", "m1");
    } else {
        assert_head(f, f->c, f->wh, "t1", "a2");
        assert_head(f, f->c, f->wh, "missing", "m1");
    }
    {
        /* A view's head comes back as the view it is. */
        struct store_obj o;

        assert_int_equal(store_obj_head(f->c, f->wh, "db", "v", &o, &err), ST_OK);
        assert_int_equal(o.kind, STORE_VIEW);
        assert_string_equal(o.metadata_location, "v1");
        store_obj_cleanup(&o);
    }
    /* t2 was read ahead but not used: clear drops it, the store answers. */
    {
        struct store_cas m2 = {f->wh, STORE_TABLE, "db", "t2", "b1", "b2", "{}"};

        assert_int_equal(store_obj_commit(f->c2, &m2, 1, NULL, NULL, &err), ST_OK);
    }
    store_prefetch_clear(f->c);
    assert_head(f, f->c, f->wh, "t2", "b2");
    /* Nothing to read ahead, and a clear of nothing, are fine. */
    assert_int_equal(store_prefetch_heads(f->c, keys, 0, &err), ST_OK);
    store_prefetch_clear(f->c);
    assert_head(f, f->c, f->wh, "t1", "a2");
}

/* Names needing quoting in an array literal, and many keys, read ahead exactly. */
static void test_prefetch_heads_odd_names(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    const char *names[] = {"a\"b", "c\\d", "{e}", "f,g", "h i", "NULL", "", "\xc3\xa9t\xc3\xa9"};
    struct store_key keys[8 + 300];
    char buf[300][16];
    size_t n = 0;

    sc_ns_new(f, "db");
    for (size_t i = 0; i < 8; i++) {
        char loc[32];

        snprintf(loc, sizeof(loc), "odd%zu", i);
        if (names[i][0])
            assert_int_equal(sc_obj_new(f, "db", names[i], STORE_TABLE, loc, NULL, &err), ST_OK);
        keys[n++] = (struct store_key){f->wh, "db", names[i]};
    }
    for (size_t i = 0; i < 300; i++) {
        snprintf(buf[i], sizeof(buf[i]), "many%zu", i);
        if (i % 2 == 0)
            assert_int_equal(sc_obj_new(f, "db", buf[i], STORE_TABLE, buf[i], NULL, &err), ST_OK);
        keys[n++] = (struct store_key){f->wh, "db", buf[i]};
    }
    assert_int_equal(store_prefetch_heads(f->c, keys, n, &err), ST_OK);
    /* Drop everything behind the read-ahead's back: answers come from what was read. */
    if (store_batches_reads(f->st)) {
        for (size_t i = 0; i < 8; i++) {
            char loc[32];

            snprintf(loc, sizeof(loc), "odd%zu", i);
            assert_head(f, f->c, f->wh, names[i], names[i][0] ? loc : NULL);
        }
        for (size_t i = 0; i < 300; i++)
            assert_head(f, f->c, f->wh, buf[i], i % 2 == 0 ? buf[i] : NULL);
    }
    store_prefetch_clear(f->c);
}

static void test_obj_multi_commit_all_or_nothing(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    size_t failed = 99;
    enum store_kind existing = 0;

    sc_ns_new(f, "db");
    assert_int_equal(sc_obj_new(f, "db", "t1", STORE_TABLE, "a1", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "t2", STORE_TABLE, "b1", NULL, &err), ST_OK);

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
    /* Nothing is left locked: the other connection commits at once. */
    {
        struct store_cas it = {f->wh, STORE_TABLE, "db", "t1", "a2", "a3", "{}"};

        assert_int_equal(store_obj_commit(f->c2, &it, 1, NULL, NULL, &err), ST_OK);
    }
}

static void test_obj_list(void **state)
{
    struct sc_fx *f = *state;
    static const char *const tp1[] = {"ta", "tb"}, *const tp2[] = {"tc"};
    static const char *const views[] = {"va"};
    struct store_page p;
    struct error err = {0};

    sc_ns_new(f, "db");
    sc_ns_new(f, "db2");
    assert_int_equal(sc_obj_new(f, "db", "tc", STORE_TABLE, "l", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "ta", STORE_TABLE, "l", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "va", STORE_VIEW, "l", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "tb", STORE_TABLE, "l", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db2", "other", STORE_TABLE, "l", NULL, &err), ST_OK);

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
    assert_int_equal(store_obj_list(f->c, f->wh, "db", STORE_TABLE, NULL, 0, &p, &err), ST_INVALID);
}

/*
 * Every page size walks the same names in order, each exactly once: more
 * page sizes than a connection keeps page statements for (PostgreSQL writes
 * a page's LIMIT into its statement for the first few), namespaces and
 * objects alike, on one connection.
 */
static void test_list_every_page_size(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char name[16];

    sc_ns_new(f, "db");
    for (int i = 0; i < 23; i++) {
        snprintf(name, sizeof(name), "t%02d", i);
        assert_int_equal(sc_obj_new(f, "db", name, STORE_TABLE, "l", NULL, &err), ST_OK);
        snprintf(name, sizeof(name), "db" NS_SEP "c%02d", i);
        sc_ns_new(f, name);
    }
    for (size_t size = 1; size <= 24; size++) {
        for (int what = 0; what < 2; what++) {
            char *token = NULL;
            int seen = 0;

            do {
                struct store_page p;

                if (what == 0)
                    assert_int_equal(
                        store_obj_list(f->c, f->wh, "db", STORE_TABLE, token, size, &p, &err),
                        ST_OK);
                else
                    assert_int_equal(store_ns_list(f->c, f->wh, "db", token, size, &p, &err),
                                     ST_OK);
                assert_true(p.n <= size);
                for (size_t i = 0; i < p.n; i++) {
                    snprintf(name, sizeof(name), what == 0 ? "t%02d" : "db" NS_SEP "c%02d", seen++);
                    assert_string_equal(p.names[i], name);
                }
                /* A full page says there may be more; a short one is the last. */
                assert_true(p.next_token ? p.n == size : p.n < size || seen == 23);
                free(token);
                token = p.next_token ? xstrdup(p.next_token) : NULL;
                store_page_cleanup(&p);
            } while (token);
            assert_int_equal(seen, 23);
        }
    }
}

static void test_obj_drop(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    char *loc = NULL;

    sc_ns_new(f, "db");
    assert_int_equal(sc_obj_new(f, "db", "t", STORE_TABLE, "tloc", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "v", STORE_VIEW, "vloc", NULL, &err), ST_OK);

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
    struct sc_fx *f = *state;
    struct error err = {0};
    enum store_kind existing = 0;

    sc_ns_new(f, "a");
    sc_ns_new(f, "b");
    assert_int_equal(sc_obj_new(f, "a", "t", STORE_TABLE, "tloc", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "a", "v", STORE_VIEW, "vloc", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "b", "bt", STORE_TABLE, "btloc", NULL, &err), ST_OK);

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
    /* The source namespace can go now: the moved objects count in their new one. */
    assert_int_equal(store_ns_drop(f->c, f->wh, "a", NULL, NULL, NULL, &err), ST_CONFLICT);
    assert_int_equal(store_obj_drop(f->c, f->wh, "a", "v2", STORE_VIEW, NULL, &err), ST_OK);
    assert_int_equal(store_ns_drop(f->c, f->wh, "a", NULL, NULL, NULL, &err), ST_OK);
}

/* --- concurrency --- */

#define ROUNDS 20

struct racer {
    struct sc_fx *f;
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
    struct sc_fx *f = *state;
    struct error err = {0};
    pthread_barrier_t bar;
    struct racer r[2];
    pthread_t th[2];
    int i, k;

    sc_ns_new(f, "db");
    assert_int_equal(sc_obj_new(f, "db", "t", STORE_TABLE, "start", NULL, &err), ST_OK);
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
    struct sc_fx *f;
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
    struct sc_fx *f = *state;
    struct writer w[2] = {{f, 0, 0}, {f, 1, 0}};
    struct store_page p;
    struct error err = {0};
    pthread_t th[2];
    char *props = NULL;
    json_t *j;
    int k;

    /* Property updates read, merge and write: none may be lost while another commits. */
    sc_ns_new(f, "db");
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

struct multi {
    struct sc_fx *f;
    bool reverse;
    int ok, conflicts, other;
};

static void *multi_commits(void *arg)
{
    struct multi *m = arg;
    struct store_conn *c = NULL;
    struct error err = {0};
    int i, k;

    if (store_connect(m->f->st, &c, &err) != ST_OK) {
        m->other = 1;
        return NULL;
    }
    for (i = 0; i < 30; i++) {
        struct store_obj o[3];
        struct store_cas items[3];
        char loc[3][64];
        enum status rc;

        for (k = 0; k < 3; k++) {
            const char *name = (const char *[]){"x", "y", "z"}[m->reverse ? 2 - k : k];

            assert_int_equal(store_obj_get(c, m->f->wh, "db", name, &o[k], &err), ST_OK);
            snprintf(loc[k], sizeof(loc[k]), "%s-%d-%d", name, m->reverse, i);
            items[k] = (struct store_cas){
                m->f->wh, STORE_TABLE, "db", o[k].name, o[k].metadata_location, loc[k], "{}"};
        }
        rc = store_obj_commit(c, items, 3, NULL, NULL, &err);
        m->ok += rc == ST_OK;
        m->conflicts += rc == ST_CONFLICT;
        m->other += rc != ST_OK && rc != ST_CONFLICT;
        for (k = 0; k < 3; k++)
            store_obj_cleanup(&o[k]);
    }
    store_disconnect(c);
    return NULL;
}

static void test_concurrent_multi_commits_in_opposite_orders(void **state)
{
    struct sc_fx *f = *state;
    struct multi m[2] = {{f, false, 0, 0, 0}, {f, true, 0, 0, 0}};
    struct error err = {0};
    struct store_obj o;
    pthread_t th[2];
    int k;

    /* Items listed in opposite orders: no deadlock, no failure other than a conflict. */
    sc_ns_new(f, "db");
    assert_int_equal(sc_obj_new(f, "db", "x", STORE_TABLE, "x0", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "y", STORE_TABLE, "y0", NULL, &err), ST_OK);
    assert_int_equal(sc_obj_new(f, "db", "z", STORE_TABLE, "z0", NULL, &err), ST_OK);
    for (k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&th[k], NULL, multi_commits, &m[k]), 0);
    for (k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    assert_int_equal(m[0].other + m[1].other, 0);
    assert_true(m[0].ok + m[1].ok >= 30);
    /* Every commit moved all three pointers or none: they agree on the last writer. */
    assert_int_equal(store_obj_get(f->c, f->wh, "db", "x", &o, &err), ST_OK);
    assert_int_equal(o.version, 1 + m[0].ok + m[1].ok);
    store_obj_cleanup(&o);
    assert_int_equal(store_obj_get(f->c, f->wh, "db", "z", &o, &err), ST_OK);
    assert_int_equal(o.version, 1 + m[0].ok + m[1].ok);
    store_obj_cleanup(&o);
}

struct dropper {
    struct sc_fx *f;
    int round;
    enum status rc;
};

static void *drop_parent(void *arg)
{
    struct dropper *d = arg;
    struct error err = {0};
    char ns[32];

    snprintf(ns, sizeof(ns), "p%d", d->round);
    d->rc = store_ns_drop(d->f->c2, d->f->wh, ns, NULL, NULL, NULL, &err);
    return NULL;
}

static void test_drop_never_orphans_a_concurrent_child(void **state)
{
    struct sc_fx *f = *state;
    int round;

    /* A child created while its parent is dropped: either the child exists (and the drop
     * found the parent not empty) or the create failed; never a child without a parent. */
    for (round = 0; round < 20; round++) {
        struct dropper d = {f, round, ST_INTERNAL};
        struct error err = {0};
        char parent[32], child[40];
        enum status rc;
        pthread_t th;

        snprintf(parent, sizeof(parent), "p%d", round);
        snprintf(child, sizeof(child), "p%d" NS_SEP "c", round);
        sc_ns_new(f, parent);
        assert_int_equal(pthread_create(&th, NULL, drop_parent, &d), 0);
        rc = store_ns_create(f->c, f->wh, child, "{}", &err);
        pthread_join(th, NULL);
        if (rc == ST_OK)
            assert_int_equal(d.rc, ST_CONFLICT);
        else
            assert_true(rc == ST_NOT_FOUND && d.rc == ST_OK);
    }
    assert_int_equal(sc_query_int(f, "SELECT count(*) FROM namespaces c WHERE parent <> '' AND NOT "
                                     "EXISTS (SELECT 1 FROM namespaces p WHERE p.name = c.parent)"),
                     0);
}

struct wh_deleter {
    struct sc_fx *f;
    const char *name;
    enum status rc;
};

static void *delete_warehouse(void *arg)
{
    struct wh_deleter *d = arg;
    struct error err = {0};

    d->rc = store_warehouse_delete(d->f->c2, d->name, &err);
    return NULL;
}

static void test_warehouse_delete_never_orphans_a_concurrent_namespace(void **state)
{
    struct sc_fx *f = *state;
    int round;

    /* A namespace created while its warehouse is deleted: either it exists (and the delete found
     * the warehouse not empty) or the create failed; never a namespace without a warehouse. */
    for (round = 0; round < 20; round++) {
        char name[32];
        struct wh_deleter d = {f, name, ST_INTERNAL};
        struct error err = {0};
        enum status rc;
        pthread_t th;
        int64_t id;

        snprintf(name, sizeof(name), "w%d", round);
        id = wh_new(f, name, "file:///w", NULL);
        assert_int_equal(pthread_create(&th, NULL, delete_warehouse, &d), 0);
        rc = store_ns_create(f->c, id, "db", "{}", &err);
        pthread_join(th, NULL);
        if (rc == ST_OK) {
            assert_int_equal(d.rc, ST_CONFLICT);
        } else {
            assert_int_equal(rc, ST_NOT_FOUND);
            assert_int_equal(err.type, ET_NO_SUCH_WAREHOUSE);
            assert_int_equal(d.rc, ST_OK);
        }
    }
    assert_int_equal(sc_query_int(f, "SELECT count(*) FROM namespaces n WHERE NOT EXISTS "
                                     "(SELECT 1 FROM warehouses w WHERE w.id = n.warehouse_id)"),
                     0);
}

/* --- idempotency --- */

static void arm(struct sc_fx *f, struct store_conn *c, const char *key, const char *fp,
                int64_t expires_ms)
{
    struct store_idem rec = {0};

    rec.warehouse_id = f->wh;
    rec.key = (char *)key;
    rec.fingerprint = (char *)fp;
    rec.expires_ms = expires_ms;
    store_conn_set_idem(c, &rec);
}

static enum status finish(struct sc_fx *f, struct store_conn *c, const char *key, const char *fp,
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

static int64_t n_records(struct sc_fx *f)
{
    return sc_query_int(f, "SELECT count(*) FROM idempotency");
}

static void assert_record(struct sc_fx *f, const char *key, int status, const char *fp)
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

static void assert_no_record(struct sc_fx *f, const char *key)
{
    struct store_idem r;
    struct error err = {0};

    assert_int_equal(store_idem_get(f->c, f->wh, key, clock_now_ms(), &r, &err), ST_NOT_FOUND);
    assert_null(r.key);
}

static bool ns_exists(struct sc_fx *f, const char *ns)
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

/* --- mutations record the key in their own transaction --- */

static void test_idem_armed_create_records_pending(void **state)
{
    struct sc_fx *f = *state;
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

static void test_idem_second_request_replays(void **state)
{
    struct sc_fx *f = *state;
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
    assert_int_equal(store_warehouse_ensure(f->c2, "wh2", "file:///srv/wh2", NULL, &w, &err),
                     ST_OK);
    rec.warehouse_id = w.id;
    store_conn_set_idem(f->c2, &rec);
    assert_int_equal(store_ns_create(f->c2, w.id, "a", "{}", &err), ST_OK);
    assert_true(store_conn_idem_consumed(f->c2));
    assert_int_equal(n_records(f), 2);
    store_warehouse_cleanup(&w);
}

static void test_idem_failed_mutation_records_nothing(void **state)
{
    struct sc_fx *f = *state;
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

static void test_idem_failed_multi_commit_records_nothing(void **state)
{
    struct sc_fx *f = *state;
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
    assert_location(f, "db", "t1", "a1");
    assert_location(f, "db", "t2", "b1");
    assert_no_record(f, "k");
    assert_false(store_conn_idem_consumed(f->c));

    /* The engine's retry on the same armed connection records it with the pointer moves. */
    failed = 99;
    assert_int_equal(store_obj_commit(f->c, good, 2, &failed, NULL, &err), ST_OK);
    assert_int_equal(failed, 99);
    assert_true(store_conn_idem_consumed(f->c));
    assert_location(f, "db", "t1", "a2");
    assert_location(f, "db", "t2", "b2");
    assert_record(f, "k", 0, "fp");
}

static void test_idem_every_mutation_records(void **state)
{
    struct sc_fx *f = *state;
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

static void test_idem_reads_do_not_consume(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    struct store_warehouse w;
    struct store_page p;
    struct store_obj o;
    char *props = NULL;
    bool held;

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
    assert_int_equal(store_try_lease(f->c, 9, &held, &err), ST_OK);
    assert_int_equal(store_ping(f->c, &err), ST_OK);
    /* Creating a warehouse writes, but it is not the mutation the key guards. */
    assert_int_equal(store_warehouse_ensure(f->c, "wh2", "file:///srv/wh2", NULL, &w, &err), ST_OK);
    store_warehouse_cleanup(&w);
    assert_false(store_conn_idem_consumed(f->c));
    assert_int_equal(n_records(f), 0);
}

static void test_idem_warehouse_delete_removes_records(void **state)
{
    struct sc_fx *f = *state;
    struct store_idem rec = {0, "k", "fp", 0, NULL, NULL, later()}, r;
    struct store_warehouse w;
    struct error err = {0};
    int64_t lake = wh_new(f, "lake", "file:///l", NULL);

    /* Records in the warehouse, finished and pending, and one in another warehouse. */
    rec.warehouse_id = lake;
    rec.status = 404;
    assert_int_equal(store_idem_finish(f->c, &rec, &err), ST_OK);
    rec.key = "k2";
    rec.status = 0;
    store_conn_set_idem(f->c2, &rec);
    assert_int_equal(store_ns_create(f->c2, lake, "gone", "{}", &err), ST_OK);
    assert_true(store_conn_idem_consumed(f->c2));
    assert_int_equal(store_ns_drop(f->c2, lake, "gone", NULL, NULL, NULL, &err), ST_OK);
    assert_int_equal(finish(f, f->c, "k", "fp", 200, NULL, NULL, later()), ST_OK);
    assert_int_equal(n_records(f), 3);

    /* Warehouse operations are not the mutations a key guards: an armed connection keeps it. */
    arm(f, f->c, "k3", "fp", later());
    assert_int_equal(store_warehouse_set_storage(f->c, "lake", "{\"x\":\"y\"}", &err), ST_OK);
    assert_int_equal(store_warehouse_create(f->c, "more", "file:///m", NULL, &w, &err), ST_OK);
    store_warehouse_cleanup(&w);
    assert_int_equal(store_warehouse_delete(f->c, "lake", &err), ST_OK);
    assert_false(store_conn_idem_consumed(f->c));
    store_conn_set_idem(f->c, NULL);

    assert_int_equal(n_records(f), 1);
    assert_record(f, "k", 200, "fp");
    assert_int_equal(store_idem_get(f->c, lake, "k", clock_now_ms(), &r, &err), ST_NOT_FOUND);
    assert_null(r.key);
}

static void *create_with_key(void *arg)
{
    struct sc_fx *f = arg;
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

static void test_idem_racing_requests_apply_once(void **state)
{
    struct sc_fx *f = *state;
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

static void test_idem_finish_completes_own_pending(void **state)
{
    struct sc_fx *f = *state;
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

static void test_idem_finish_inserts_when_nothing_changed(void **state)
{
    struct sc_fx *f = *state;
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

static void test_idem_finish_leaves_other_requests_pending(void **state)
{
    struct sc_fx *f = *state;
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

static void test_idem_finish_rejects_bad_records(void **state)
{
    struct sc_fx *f = *state;

    assert_int_equal(finish(f, f->c, "k", "fp", 0, NULL, NULL, later()), ST_INVALID);
    assert_int_equal(finish(f, f->c, "k", "fp", 1000, NULL, NULL, later()), ST_INVALID);
    assert_int_equal(finish(f, f->c, "", "fp", 200, NULL, NULL, later()), ST_INVALID);
    assert_int_equal(finish(f, f->c, "k", NULL, 200, NULL, NULL, later()), ST_INVALID);
    assert_int_equal(n_records(f), 0);
}

/* --- expiry --- */

static void test_idem_expired_records_are_gone(void **state)
{
    struct sc_fx *f = *state;
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

static void test_idem_purge_deletes_only_expired(void **state)
{
    struct sc_fx *f = *state;
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

static void test_idem_purge_large_backlog(void **state)
{
    struct sc_fx *f = *state;
    struct error err = {0};
    int64_t deleted = 0;
    char *sql = xasprintf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                          "WHERE i < 2500) INSERT INTO idempotency (warehouse_id, key, "
                          "fingerprint, status, created_ms, expires_ms) "
                          "SELECT %lld, 'k' || i, 'fp', 200, 0, i FROM n",
                          (long long)f->wh);

    /* More than one purge batch: every expired record goes, the live one stays. */
    sc_exec(f, sql);
    free(sql);
    assert_int_equal(finish(f, f->c, "live", "fp", 200, NULL, NULL, later()), ST_OK);
    assert_int_equal(store_idem_purge(f->c, 2501, &deleted, &err), ST_OK);
    assert_int_equal(deleted, 2500);
    assert_int_equal(n_records(f), 1);
    assert_record(f, "live", 200, "fp");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, sc_setup, sc_teardown)

int sc_run(const struct sc_backend *b)
{
    const struct CMUnitTest tests[] = {
        T(test_ping),
        T(test_warehouse_ensure_and_get),
        T(test_warehouse_create),
        T(test_warehouse_create_rejects_bad_arguments),
        T(test_warehouse_list_in_byte_order),
        T(test_warehouse_list_empty),
        T(test_warehouse_storage_round_trip),
        T(test_warehouse_set_storage),
        T(test_warehouse_ensure_keeps_storage),
        T(test_warehouse_delete),
        T(test_warehouse_delete_not_empty),
        T(test_ns_create_get),
        T(test_ns_list_children_only),
        T(test_ns_list_paging),
        T(test_names_sort_as_bytes),
        T(test_ns_drop),
        T(test_ns_update_props),
        T(test_obj_create_get),
        T(test_obj_cas),
        T(test_prefetch_heads),
        T(test_prefetch_heads_odd_names),
        T(test_obj_multi_commit_all_or_nothing),
        T(test_obj_list),
        T(test_list_every_page_size),
        T(test_obj_drop),
        T(test_obj_rename),
        T(test_concurrent_cas_one_winner),
        T(test_concurrent_read_then_write),
        T(test_concurrent_multi_commits_in_opposite_orders),
        T(test_drop_never_orphans_a_concurrent_child),
        T(test_warehouse_delete_never_orphans_a_concurrent_namespace),
        T(test_idem_armed_create_records_pending),
        T(test_idem_second_request_replays),
        T(test_idem_failed_mutation_records_nothing),
        T(test_idem_failed_multi_commit_records_nothing),
        T(test_idem_every_mutation_records),
        T(test_idem_reads_do_not_consume),
        T(test_idem_warehouse_delete_removes_records),
        T(test_idem_racing_requests_apply_once),
        T(test_idem_finish_completes_own_pending),
        T(test_idem_finish_inserts_when_nothing_changed),
        T(test_idem_finish_leaves_other_requests_pending),
        T(test_idem_finish_rejects_bad_records),
        T(test_idem_expired_records_are_gone),
        T(test_idem_purge_deletes_only_expired),
        T(test_idem_purge_large_backlog),
    };

    sc_use(b);
    return cmocka_run_group_tests_name("store contract", tests, NULL, NULL);
}
