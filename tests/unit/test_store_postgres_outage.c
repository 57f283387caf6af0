/*
 * test_store_postgres_outage.c - the PostgreSQL store while its server goes
 * away and comes back.
 *
 * Starts its own throwaway server with scripts/pg-test-server.sh (or
 * $SERAC_TEST_PG_SCRIPT), stops and restarts it mid-test, and removes it at
 * the end. Like test_store_postgres it exits 77 (skipped) when
 * SERAC_TEST_PG_URL is not set: that variable says PostgreSQL tests are
 * wanted on this machine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "store/store.h"

static char *script;     /* pg-test-server.sh */
static char *server_url; /* of the server this binary started */
static char *server_dir;

static int64_t elapsed_ms(int64_t since_ns)
{
    return (clock_mono_ns() - since_ns) / 1000000;
}

/* script_path finds scripts/pg-test-server.sh next to this source file's tests/ folder. */
static char *script_path(void)
{
    const char *env = getenv("SERAC_TEST_PG_SCRIPT");
    const char *src = __FILE__, *at = strstr(src, "tests/unit/");

    if (env && *env)
        return xstrdup(env);
    if (!at)
        return xstrdup("scripts/pg-test-server.sh");
    return xasprintf("%.*sscripts/pg-test-server.sh", (int)(at - src), src);
}

static int run_script(const char *cmd)
{
    char *line = xasprintf("sh '%s' %s '%s' >&2", script, cmd, server_dir);
    int rc = system(line);

    free(line);
    return rc;
}

static char *value_after(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    size_t n;

    if (!p)
        return NULL;
    p += strlen(key);
    n = strcspn(p, "\r\n");
    return xstrndup(p, n);
}

static int start_server(void **state)
{
    char *cmd = xasprintf("sh '%s' start", script), out[4096];
    FILE *fp = popen(cmd, "r");
    size_t n;

    (void)state;
    free(cmd);
    if (!fp)
        return -1;
    n = fread(out, 1, sizeof(out) - 1, fp);
    out[n] = '\0';
    if (pclose(fp) != 0) {
        fprintf(stderr, "pg-test-server.sh failed:\n%s\n", out);
        return -1;
    }
    server_url = value_after(out, "SERAC_TEST_PG_URL=");
    server_dir = value_after(out, "SERAC_TEST_PG_DIR=");
    return server_url && server_dir ? 0 : -1;
}

static int stop_server(void **state)
{
    (void)state;
    if (server_dir)
        run_script("stop");
    free(server_url);
    free(server_dir);
    return 0;
}

/* wait_ready polls c until the database answers again (at most 20 s). */
static void wait_ready(struct store_conn *c)
{
    int64_t t0 = clock_mono_ns();
    struct error err = {0};

    while (store_ping(c, &err) != ST_OK) {
        if (elapsed_ms(t0) > 20000)
            fail_msg("the store did not reconnect: %s", err.msg);
        clock_sleep_ms(50);
    }
}

static enum status ns_exists(struct store_conn *c, int64_t wh, const char *ns, struct error *err)
{
    char *props = NULL;
    enum status rc = store_ns_get(c, wh, ns, &props, err);

    free(props);
    return rc;
}

/* expect_unavailable checks rc is ST_UNAVAILABLE with the store's message. */
static void expect_unavailable(enum status rc, const struct error *err)
{
    assert_int_equal(rc, ST_UNAVAILABLE);
    assert_int_equal(err->status, ST_UNAVAILABLE);
    if (strncmp(err->msg, "database unavailable", 20) != 0)
        fail_msg("unexpected message: %s", err->msg);
}

static void test_outage_then_recovery(void **state)
{
    struct store *st = NULL;
    struct store_conn *c = NULL, *listener = NULL, *leaser = NULL, *c4 = NULL;
    struct store_cas it = {0, STORE_TABLE, "db", "t", NULL, "l1", "{}"};
    struct store_warehouse w;
    struct error err = {0};
    char **got = NULL, *old = NULL, *want;
    size_t n = 0, i;
    bool held = false, seen = false;
    int64_t t0;
    int k;

    (void)state;
    assert_int_equal(store_open(server_url, &st, &err), ST_OK);
    assert_int_equal(store_connect(st, &c, &err), ST_OK);
    assert_int_equal(store_connect(st, &listener, &err), ST_OK);
    assert_int_equal(store_connect(st, &leaser, &err), ST_OK);
    assert_int_equal(store_warehouse_ensure(c, "wh", "file:///srv/wh", NULL, &w, &err), ST_OK);
    it.warehouse_id = w.id;
    assert_int_equal(store_ns_create(c, w.id, "db", "{}", &err), ST_OK);
    assert_int_equal(store_obj_commit(c, &it, 1, NULL, NULL, &err), ST_OK);
    assert_int_equal(store_listen(listener, &err), ST_OK);
    assert_int_equal(store_try_lease(leaser, 7, &held, &err), ST_OK);
    assert_true(held);

    assert_int_equal(run_script("halt"), 0);

    /* Every call answers ST_UNAVAILABLE, quickly, and nothing is half-done. */
    t0 = clock_mono_ns();
    expect_unavailable(ns_exists(c, w.id, "db", &err), &err);
    assert_true(elapsed_ms(t0) < 1500);
    for (k = 0; k < 5; k++) {
        t0 = clock_mono_ns();
        expect_unavailable(store_ns_get(c, w.id, "db", &old, &err), &err);
        assert_null(old);
        assert_true(elapsed_ms(t0) < 1500);
    }
    expect_unavailable(store_ns_create(c, w.id, "during", "{}", &err), &err);
    it.old_location = "l1";
    it.new_location = "l2";
    expect_unavailable(store_obj_commit(c, &it, 1, NULL, NULL, &err), &err);
    expect_unavailable(store_ping(c, &err), &err);
    {
        struct store_warehouse w2, *list = NULL;

        expect_unavailable(store_warehouse_get(c, "wh", &w2, &err), &err);
        assert_null(w2.name);
        expect_unavailable(store_warehouse_create(c, "during", "file:///d", NULL, &w2, &err), &err);
        assert_null(w2.name);
        expect_unavailable(store_warehouse_list(c, &list, &n, &err), &err);
        assert_null(list);
        assert_int_equal(n, 0);
        expect_unavailable(store_warehouse_set_storage(c, "wh", "{\"a\":\"b\"}", &err), &err);
        expect_unavailable(store_warehouse_delete(c, "wh", &err), &err);
    }
    expect_unavailable(store_try_lease(leaser, 7, &held, &err), &err);
    assert_false(held);
    expect_unavailable(store_poll_changes(listener, 100, &got, &n, &err), &err);
    assert_int_equal(n, 0);
    expect_unavailable(store_connect(st, &c4, &err), &err);
    assert_null(c4);

    assert_int_equal(run_script("resume"), 0);

    /* The same connections come back by themselves. */
    wait_ready(c);
    assert_int_equal(ns_exists(c, w.id, "db", &err), ST_OK);
    assert_int_equal(ns_exists(c, w.id, "during", &err), ST_NOT_FOUND);
    {
        struct store_warehouse *list = NULL;

        /* Nothing the warehouse calls asked for happened. */
        assert_int_equal(store_warehouse_list(c, &list, &n, &err), ST_OK);
        assert_int_equal(n, 1);
        assert_string_equal(list[0].name, "wh");
        assert_string_equal(list[0].storage, "{}");
        store_warehouse_list_free(list, n);
    }
    {
        struct store_obj o;

        assert_int_equal(store_obj_get(c, w.id, "db", "t", &o, &err), ST_OK);
        assert_string_equal(o.metadata_location, "l1");
        store_obj_cleanup(&o);
    }
    assert_int_equal(store_obj_commit(c, &it, 1, NULL, NULL, &err), ST_OK);
    wait_ready(leaser);
    assert_int_equal(store_try_lease(leaser, 7, &held, &err), ST_OK);
    assert_true(held);
    assert_int_equal(store_connect(st, &c4, &err), ST_OK);
    assert_int_equal(store_try_lease(c4, 7, &held, &err), ST_OK);
    assert_false(held);

    /* The listener subscribes again on its new session. */
    t0 = clock_mono_ns();
    while (store_poll_changes(listener, 50, &got, &n, &err) != ST_OK) {
        assert_true(elapsed_ms(t0) < 20000);
        clock_sleep_ms(50);
    }
    for (i = 0; i < n; i++)
        free(got[i]);
    free(got);
    assert_int_equal(store_ns_create(c, w.id, "after", "{}", &err), ST_OK);
    want = xasprintf("namespace:%lld:6166746572:", (long long)w.id);
    t0 = clock_mono_ns();
    while (!seen && elapsed_ms(t0) < 2000) {
        assert_int_equal(store_poll_changes(listener, 100, &got, &n, &err), ST_OK);
        for (i = 0; i < n; i++) {
            seen = seen || strcmp(got[i], want) == 0;
            free(got[i]);
        }
        free(got);
    }
    assert_true(seen);
    free(want);

    store_warehouse_cleanup(&w);
    store_disconnect(c4);
    store_disconnect(leaser);
    store_disconnect(listener);
    store_disconnect(c);
    store_close(st);
}

static void test_restart_while_idle_is_invisible(void **state)
{
    struct store *st = NULL;
    struct store_conn *c = NULL, *c2 = NULL;
    struct store_warehouse w;
    struct error err = {0};

    (void)state;
    assert_int_equal(store_open(server_url, &st, &err), ST_OK);
    assert_int_equal(store_connect(st, &c, &err), ST_OK);
    assert_int_equal(store_connect(st, &c2, &err), ST_OK);
    assert_int_equal(store_warehouse_ensure(c, "wh", "file:///srv/wh", NULL, &w, &err), ST_OK);

    /* A quick restart while the connections sit idle: their next calls just work. */
    assert_int_equal(run_script("halt"), 0);
    assert_int_equal(run_script("resume"), 0);
    assert_int_equal(store_ns_create(c, w.id, "idle1", "{}", &err), ST_OK);
    assert_int_equal(ns_exists(c2, w.id, "idle1", &err), ST_OK);

    store_warehouse_cleanup(&w);
    store_disconnect(c2);
    store_disconnect(c);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outage_then_recovery),
        cmocka_unit_test(test_restart_while_idle_is_invisible),
    };
    const char *url = getenv("SERAC_TEST_PG_URL");
    int rc;

    if (!url || !*url) {
        printf("SERAC_TEST_PG_URL not set: start scripts/pg-test-server.sh\n");
        return 77;
    }
    script = script_path();
    rc = cmocka_run_group_tests(tests, start_server, stop_server);
    free(script);
    return rc;
}
