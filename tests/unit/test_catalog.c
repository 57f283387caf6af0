/*
 * test_catalog.c - catalog/: namespaces, tables and the commit engine against
 * a real SQLite store and local files in a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "core/alloc.h"
#include "core/jsonx.h"

struct fixture {
    char dir[512];
    struct catalog *cat;
    struct catalog_ctx *ctx;
    struct catalog_wh wh;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    const char *tmp = getenv("SERAC_TEST_TMP");
    struct catalog_options o = {0};
    char store[600], wh[600];
    struct error err;

    if (!tmp || !*tmp)
        tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    mkdir(tmp, 0755);
    snprintf(f->dir, sizeof(f->dir), "%s/serac-catalog-XXXXXX", tmp);
    assert_non_null(mkdtemp(f->dir));
    snprintf(store, sizeof(store), "sqlite:%s/catalog.db", f->dir);
    snprintf(wh, sizeof(wh), "file://%s/wh", f->dir);
    o.store_url = store;
    o.warehouse_name = "default";
    o.warehouse_location = wh;
    o.commit_attempts = 10;
    error_clear(&err);
    assert_int_equal(catalog_open(&o, &f->cat, &err), ST_OK);
    assert_int_equal(catalog_ctx_open(f->cat, &f->ctx, &err), ST_OK);
    assert_int_equal(catalog_wh_resolve(f->ctx, NULL, &f->wh, &err), ST_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[600];

    catalog_wh_cleanup(&f->wh);
    catalog_ctx_close(f->ctx);
    catalog_close(f->cat);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static json_t *J(const char *text)
{
    json_t *v = NULL;

    assert_int_equal(jsonx_parse(text, strlen(text), &v, NULL), ST_OK);
    return v;
}

static void make_ns(struct fixture *f, const char *levels_json)
{
    json_t *levels = J(levels_json), *props = json_object(), *out = NULL;
    struct error err;

    assert_int_equal(catalog_ns_create(f->ctx, &f->wh, levels, props, &out, &err), ST_OK);
    json_decref(out);
    json_decref(props);
    json_decref(levels);
}

static const char *create_req =
    "{\"name\":\"t\",\"schema\":{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
    "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
    "{\"id\":2,\"name\":\"data\",\"required\":false,\"type\":\"string\"}]}}";

/* Creates db.t and returns its LoadTableResult body parsed. */
static json_t *make_table(struct fixture *f)
{
    json_t *ns = J("[\"db\"]"), *req = J(create_req), *res;
    struct catalog_table_result r = {0};
    struct error err;

    error_clear(&err);
    assert_int_equal(catalog_table_create(f->ctx, &f->wh, ns, req, &r, &err), ST_OK);
    res = J(r.body);
    catalog_table_result_cleanup(&r);
    json_decref(ns);
    json_decref(req);
    return res;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_namespaces(void **state)
{
    struct fixture *f = *state;
    json_t *levels = J("[\"a\"]"), *child = J("[\"a\",\"b\"]"), *orphan = J("[\"x\",\"y\"]");
    json_t *props = J("{\"owner\":\"me\"}"), *out = NULL, *list = NULL;
    struct error err;

    assert_int_equal(catalog_ns_create(f->ctx, &f->wh, levels, props, &out, &err), ST_OK);
    json_decref(out);
    assert_int_equal(catalog_ns_create(f->ctx, &f->wh, levels, props, &out, &err), ST_EXISTS);
    assert_string_equal(err.msg, "Namespace already exists: a");
    assert_int_equal(catalog_ns_create(f->ctx, &f->wh, orphan, props, &out, &err), ST_NOT_FOUND);
    assert_string_equal(err.msg, "Namespace does not exist: x");
    assert_int_equal(catalog_ns_create(f->ctx, &f->wh, child, props, &out, &err), ST_OK);
    json_decref(out);
    make_ns(f, "[\"ab\"]");
    /* Children of a: only a.b, never the sibling "ab". */
    assert_int_equal(catalog_ns_list(f->ctx, &f->wh, levels, NULL, 0, &list, &err), ST_OK);
    assert_int_equal(json_array_size(json_object_get(list, "namespaces")), 1);
    assert_null(json_object_get(list, "next-page-token"));
    json_decref(list);
    assert_int_equal(catalog_ns_drop(f->ctx, &f->wh, levels, &err), ST_CONFLICT);
    assert_int_equal(error_http_code(&err), 409);
    assert_non_null(strstr(err.msg, "is not empty"));
    assert_int_equal(catalog_ns_load(f->ctx, &f->wh, levels, &out, &err), ST_OK);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "properties"), "owner")), "me");
    json_decref(out);
    assert_int_equal(catalog_ns_drop(f->ctx, &f->wh, child, &err), ST_OK);
    assert_int_equal(catalog_ns_drop(f->ctx, &f->wh, levels, &err), ST_OK);
    assert_int_equal(catalog_ns_load(f->ctx, &f->wh, levels, &out, &err), ST_NOT_FOUND);
    assert_string_equal(error_type_name(&err), "NoSuchNamespaceException");
    json_decref(levels);
    json_decref(child);
    json_decref(orphan);
    json_decref(props);
}

static void test_paging(void **state)
{
    struct fixture *f = *state;
    json_t *page = NULL;
    struct error err;
    char name[32];
    const char *token = "";
    char *held = NULL;
    int seen = 0, pages = 0;

    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof(name), "[\"n%d\"]", i);
        make_ns(f, name);
    }
    do {
        assert_int_equal(catalog_ns_list(f->ctx, &f->wh, NULL, token, 3, &page, &err), ST_OK);
        seen += (int)json_array_size(json_object_get(page, "namespaces"));
        pages++;
        free(held);
        held = json_object_get(page, "next-page-token")
                   ? xstrdup(json_string_value(json_object_get(page, "next-page-token")))
                   : NULL;
        token = held;
        json_decref(page);
    } while (token);
    assert_int_equal(seen, 7);
    assert_int_equal(pages, 3);
    assert_int_equal(catalog_ns_list(f->ctx, &f->wh, NULL, "zz", 3, &page, &err), ST_INVALID);
}

static void test_create_load_drop(void **state)
{
    struct fixture *f = *state;
    json_t *ns = J("[\"db\"]"), *req = J(create_req), *res;
    struct catalog_table_result r = {0};
    struct error err;
    bool nm = false;
    char path[700];

    make_ns(f, "[\"db\"]");
    res = make_table(f);
    const char *loc = json_string_value(json_object_get(res, "metadata-location"));
    assert_non_null(strstr(loc, "/wh/db/t/metadata/00000-"));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(res, "metadata"), "format-version")), 2);
    /* The file is real. */
    snprintf(path, sizeof(path), "%s/wh/db/t/metadata", f->dir);
    assert_int_equal(count_files(path), 1);
    /* A second create is a 409 and writes nothing. */
    assert_int_equal(catalog_table_create(f->ctx, &f->wh, ns, req, &r, &err), ST_EXISTS);
    assert_string_equal(err.msg, "Table already exists: db.t");
    assert_int_equal(count_files(path), 1);
    /* Load, then a conditional load with the ETag. */
    assert_int_equal(catalog_table_load(f->ctx, &f->wh, ns, "t", false, NULL, &nm, &r, &err),
                     ST_OK);
    assert_false(nm);
    char etag[40];
    strcpy(etag, r.etag);
    catalog_table_result_cleanup(&r);
    assert_int_equal(catalog_table_load(f->ctx, &f->wh, ns, "t", false, etag, &nm, &r, &err),
                     ST_OK);
    assert_true(nm);
    assert_null(r.body);
    assert_int_equal(catalog_table_load(f->ctx, &f->wh, ns, "t", true, etag, &nm, &r, &err), ST_OK);
    assert_false(nm); /* refs and all are different representations */
    catalog_table_result_cleanup(&r);
    assert_int_equal(catalog_table_load(f->ctx, &f->wh, ns, "nope", false, NULL, &nm, &r, &err),
                     ST_NOT_FOUND);
    assert_string_equal(err.msg, "Table does not exist: db.nope");
    /* Drop with purge removes the files. */
    assert_int_equal(catalog_table_drop(f->ctx, &f->wh, ns, "t", true, &err), ST_OK);
    snprintf(path, sizeof(path), "%s/wh/db/t", f->dir);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(catalog_table_drop(f->ctx, &f->wh, ns, "t", false, &err), ST_NOT_FOUND);
    json_decref(res);
    json_decref(ns);
    json_decref(req);
}

static void test_missing_metadata_file(void **state)
{
    struct fixture *f = *state;
    json_t *ns = J("[\"db\"]"), *res;
    struct catalog_table_result r = {0};
    struct error err;
    bool nm;

    make_ns(f, "[\"db\"]");
    res = make_table(f);
    const char *loc = json_string_value(json_object_get(res, "metadata-location"));
    assert_int_equal(unlink(loc + strlen("file://")), 0);
    assert_int_equal(catalog_table_load(f->ctx, &f->wh, ns, "t", false, NULL, &nm, &r, &err),
                     ST_NOT_FOUND);
    assert_string_equal(error_type_name(&err), "NotFoundException");
    assert_non_null(strstr(err.msg, "Failed to open input stream for file: "));
    json_decref(res);
    json_decref(ns);
}

static json_t *commit_body(int64_t snap, int64_t parent, int64_t seq, bool assert_main)
{
    char text[1024];

    if (assert_main)
        snprintf(text, sizeof(text),
                 "{\"requirements\":[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\","
                 "\"snapshot-id\":%s}],",
                 parent ? "PARENT" : "null");
    else
        snprintf(text, sizeof(text), "{\"requirements\":[],");
    char *p = strstr(text, "PARENT");
    if (p)
        snprintf(p, sizeof(text) - (size_t)(p - text), "%lld}],", (long long)parent);
    size_t n = strlen(text);
    snprintf(text + n, sizeof(text) - n,
             "\"updates\":[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":%lld,"
             "%s\"sequence-number\":%lld,\"timestamp-ms\":1700000000000,"
             "\"manifest-list\":\"file:/nowhere/snap-%lld.avro\","
             "\"summary\":{\"operation\":\"append\"}}},"
             "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
             "\"snapshot-id\":%lld}]}",
             (long long)snap, "", (long long)seq, (long long)snap, (long long)snap);
    return J(text);
}

static void test_commit_chain(void **state)
{
    struct fixture *f = *state;
    json_t *ns = J("[\"db\"]"), *res, *body, *meta;
    struct catalog_table_result r = {0};
    struct error err;
    char path[700];

    make_ns(f, "[\"db\"]");
    res = make_table(f);
    body = commit_body(1001, 0, 1, true);
    error_clear(&err);
    assert_int_equal(catalog_table_commit(f->ctx, &f->wh, ns, "t", body, &r, &err), ST_OK);
    meta = J(r.body);
    assert_non_null(
        strstr(json_string_value(json_object_get(meta, "metadata-location")), "/metadata/00001-"));
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(meta, "metadata"), "current-snapshot-id")),
                     1001);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(meta, "metadata"), "metadata-log")), 1);
    json_decref(meta);
    catalog_table_result_cleanup(&r);
    json_decref(body);
    /* A stale requirement fails with Java's message and writes no file. */
    snprintf(path, sizeof(path), "%s/wh/db/t/metadata", f->dir);
    int before = count_files(path);
    body = commit_body(1002, 0, 2, true); /* asserts main does not exist */
    assert_int_equal(catalog_table_commit(f->ctx, &f->wh, ns, "t", body, &r, &err), ST_CONFLICT);
    assert_string_equal(error_type_name(&err), "CommitFailedException");
    assert_non_null(strstr(err.msg, "Requirement failed: "));
    assert_int_equal(count_files(path), before);
    json_decref(body);
    /* An unknown action is a 400 and nothing moves. */
    body = J("{\"requirements\":[],\"updates\":[{\"action\":\"frobnicate\"}]}");
    assert_int_equal(catalog_table_commit(f->ctx, &f->wh, ns, "t", body, &r, &err), ST_INVALID);
    assert_int_equal(error_http_code(&err), 400);
    assert_int_equal(count_files(path), before);
    json_decref(body);
    /* A commit to a missing table is a 404 NoSuchTable. */
    body = commit_body(1003, 0, 2, false);
    assert_int_equal(catalog_table_commit(f->ctx, &f->wh, ns, "zz", body, &r, &err), ST_NOT_FOUND);
    assert_string_equal(err.msg, "Table does not exist: db.zz");
    json_decref(body);
    json_decref(res);
    json_decref(ns);
}

struct writer {
    struct fixture *f;
    int id;
    int ok;
};

static void *write_loop(void *arg)
{
    struct writer *w = arg;
    struct catalog_ctx *ctx = NULL;
    json_t *ns = J("[\"db\"]");
    struct error err;

    assert_int_equal(catalog_ctx_open(w->f->cat, &ctx, &err), ST_OK);
    for (int i = 0; i < 20; i++) {
        /* No ref requirement: the server re-applies on the newest metadata. */
        int64_t id = 100000 + w->id * 1000 + i;
        char text[600];
        snprintf(text, sizeof(text),
                 "{\"requirements\":[],\"updates\":[{\"action\":\"add-snapshot\",\"snapshot\":{"
                 "\"snapshot-id\":%lld,\"timestamp-ms\":1700000000000,"
                 "\"manifest-list\":\"file:/nowhere/%lld.avro\",\"summary\":{\"operation\":"
                 "\"append\"}}}]}",
                 (long long)id, (long long)id);
        json_t *body = J(text);
        struct catalog_table_result r = {0};
        if (catalog_table_commit(ctx, &w->f->wh, ns, "t", body, &r, &err) == ST_OK)
            w->ok++;
        catalog_table_result_cleanup(&r);
        json_decref(body);
    }
    json_decref(ns);
    catalog_ctx_close(ctx);
    return NULL;
}

static void test_concurrent_commits(void **state)
{
    struct fixture *f = *state;
    struct writer w[4];
    pthread_t th[4];
    json_t *ns = J("[\"db\"]"), *res;
    struct catalog_table_result r = {0};
    struct error err;
    bool nm;

    make_ns(f, "[\"db\"]");
    res = make_table(f);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){f, i, 0};
        pthread_create(&th[i], NULL, write_loop, &w[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(catalog_table_load(f->ctx, &f->wh, ns, "t", false, NULL, &nm, &r, &err),
                     ST_OK);
    json_t *meta = J(r.body);
    json_t *snaps = json_object_get(json_object_get(meta, "metadata"), "snapshots");
    int ok = 0;
    for (int i = 0; i < 4; i++)
        ok += w[i].ok;
    assert_int_equal(ok, 80);
    assert_int_equal(json_array_size(snaps), 80);
    json_decref(meta);
    catalog_table_result_cleanup(&r);
    json_decref(res);
    json_decref(ns);
}

static void test_register_and_rename(void **state)
{
    struct fixture *f = *state;
    json_t *ns = J("[\"db\"]"), *res, *req;
    struct catalog_table_result r = {0};
    struct error err;
    char text[900];

    make_ns(f, "[\"db\"]");
    make_ns(f, "[\"other\"]");
    res = make_table(f);
    const char *loc = json_string_value(json_object_get(res, "metadata-location"));
    assert_int_equal(catalog_table_drop(f->ctx, &f->wh, ns, "t", false, &err), ST_OK);
    snprintf(text, sizeof(text), "{\"name\":\"t2\",\"metadata-location\":\"%s\"}", loc);
    req = J(text);
    assert_int_equal(catalog_table_register(f->ctx, &f->wh, ns, req, &r, &err), ST_OK);
    catalog_table_result_cleanup(&r);
    assert_int_equal(catalog_table_register(f->ctx, &f->wh, ns, req, &r, &err), ST_EXISTS);
    assert_string_equal(err.msg, "Table already exists: db.t2");
    json_decref(req);
    req = J("{\"name\":\"t3\",\"metadata-location\":\"file:///nonexistent/x.metadata.json\"}");
    assert_int_equal(catalog_table_register(f->ctx, &f->wh, ns, req, &r, &err), ST_NOT_FOUND);
    json_decref(req);
    req = J("{\"source\":{\"namespace\":[\"db\"],\"name\":\"t2\"},"
            "\"destination\":{\"namespace\":[\"other\"],\"name\":\"moved\"}}");
    assert_int_equal(catalog_table_rename(f->ctx, &f->wh, req, &err), ST_OK);
    assert_int_equal(catalog_table_rename(f->ctx, &f->wh, req, &err), ST_NOT_FOUND);
    assert_string_equal(err.msg, "Table does not exist: db.t2");
    json_decref(req);
    req = J("{\"source\":{\"namespace\":[\"other\"],\"name\":\"moved\"},"
            "\"destination\":{\"namespace\":[\"missing\"],\"name\":\"x\"}}");
    assert_int_equal(catalog_table_rename(f->ctx, &f->wh, req, &err), ST_NOT_FOUND);
    assert_string_equal(error_type_name(&err), "NoSuchNamespaceException");
    assert_string_equal(err.msg, "Namespace does not exist: missing");
    json_decref(req);
    json_decref(res);
    json_decref(ns);
}

static void test_warehouse_and_config(void **state)
{
    struct fixture *f = *state;
    json_t *cfg = NULL;
    struct catalog_wh wh;
    struct error err;

    assert_int_equal(catalog_config(f->ctx, NULL, &cfg, &err), ST_OK);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(cfg, "overrides"), "prefix")), "default");
    assert_true(json_is_object(json_object_get(cfg, "defaults")));
    json_decref(cfg);
    assert_int_equal(catalog_wh_resolve(f->ctx, "nope", &wh, &err), ST_NOT_FOUND);
    assert_string_equal(error_type_name(&err), "NoSuchWarehouseException");
    assert_int_equal(catalog_config(f->ctx, "nope", &cfg, &err), ST_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_namespaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_load_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_metadata_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_and_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warehouse_and_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
