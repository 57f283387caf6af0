/* test_http_router.c - route template matching, captures and 405 detection. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static void h_config(struct http_request *req, struct http_response *res)
{
    (void)req;
    res->status = 200;
}

static void h_other(struct http_request *req, struct http_response *res)
{
    (void)req;
    res->status = 204;
}

/* Shaped like the Iceberg REST routes, including a literal before a capture. */
static const struct http_route routes[] = {
    {"GET", "/v1/config", h_config, false},
    {"GET", "/v1/{prefix}/namespaces", h_other, false},
    {"POST", "/v1/{prefix}/namespaces", h_other, false},
    {"GET", "/v1/{prefix}/namespaces/{namespace}", h_other, false},
    {"HEAD", "/v1/{prefix}/namespaces/{namespace}", h_other, false},
    {"DELETE", "/v1/{prefix}/namespaces/{namespace}", h_other, false},
    {"GET", "/v1/{prefix}/namespaces/{namespace}/tables/{table}", h_other, false},
    {"POST", "/v1/{prefix}/namespaces/{namespace}/tables/{table}", h_other, false},
    {"POST", "/v1/{prefix}/tables/rename", h_other, false},
    {"POST", "/v1/{prefix}/{a}/{b}", h_other, false},
    {"GET", "/", h_other, false},
    {"GET", "/p/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", h_other, false},
    {"GET", "/q/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h_other, false},
    {NULL, NULL, NULL, false},
};

struct match {
    const struct http_route *route;
    const char *params[HTTP_MAX_PARAMS];
    size_t nparams;
    char *scratch;
    bool other;
};

static void match(const char *method, const char *path, struct match *m)
{
    memset(m, 0, sizeof(*m));
    m->route =
        http_route_match(routes, method, path, m->params, &m->nparams, &m->scratch, &m->other);
}

static void test_literal_route(void **state)
{
    struct match m;

    (void)state;
    match("GET", "/v1/config", &m);
    assert_ptr_equal(m.route, &routes[0]);
    assert_int_equal(m.nparams, 0);
    free(m.scratch);
}

static void test_captures_are_raw_segments(void **state)
{
    struct match m;
    char *path = strdup("/v1/wh%20a/namespaces/acct%1Ftax/tables/a%2Fb+c");

    (void)state;
    match("GET", path, &m);
    /* The captures live in scratch, not in the caller's path. */
    memset(path, 'X', strlen(path));
    free(path);
    assert_ptr_equal(m.route, &routes[6]);
    assert_string_equal(m.route->tmpl, "/v1/{prefix}/namespaces/{namespace}/tables/{table}");
    assert_int_equal(m.nparams, 3);
    assert_string_equal(m.params[0], "wh%20a");
    assert_string_equal(m.params[1], "acct%1Ftax");
    assert_string_equal(m.params[2], "a%2Fb+c");
    free(m.scratch);
}

static void test_method_selects_route(void **state)
{
    struct match m;

    (void)state;
    match("POST", "/v1/wh/namespaces", &m);
    assert_ptr_equal(m.route, &routes[2]);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.params[0], "wh");
    free(m.scratch);

    match("HEAD", "/v1/wh/namespaces/db", &m);
    assert_ptr_equal(m.route, &routes[4]);
    free(m.scratch);

    match("DELETE", "/v1/wh/namespaces/db", &m);
    assert_ptr_equal(m.route, &routes[5]);
    free(m.scratch);
}

static void test_first_match_wins(void **state)
{
    struct match m;

    (void)state;
    match("POST", "/v1/wh/tables/rename", &m);
    assert_ptr_equal(m.route, &routes[8]);
    assert_int_equal(m.nparams, 1);
    free(m.scratch);

    match("POST", "/v1/wh/views/rename", &m);
    assert_ptr_equal(m.route, &routes[9]);
    assert_int_equal(m.nparams, 3);
    assert_string_equal(m.params[1], "views");
    assert_string_equal(m.params[2], "rename");
    free(m.scratch);
}

static void test_other_method_is_405(void **state)
{
    struct match m;

    (void)state;
    match("DELETE", "/v1/config", &m);
    assert_null(m.route);
    assert_true(m.other);
    assert_null(m.scratch);

    match("PUT", "/v1/wh/namespaces/db/tables/t", &m);
    assert_null(m.route);
    assert_true(m.other);

    /* Methods are case-sensitive (RFC 9110 section 9.1). */
    match("get", "/v1/config", &m);
    assert_null(m.route);
    assert_true(m.other);
}

static void test_no_match(void **state)
{
    static const char *const paths[] = {
        "/v1/config/",        /* no trailing-slash magic */
        "/V1/config",         /* literals are case-sensitive */
        "/v1/config/x",       /* too many segments */
        "/v1",                /* too few */
        "/v1//namespaces",    /* a capture needs a non-empty segment */
        "/v1/wh/namespaces/", /* empty {namespace} */
        "/v1/wh/namespaces//tables/t",
        "//",
        "",
        "v1/config",
        "/nothing",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct match m;

        match("GET", paths[i], &m);
        assert_null(m.route);
        assert_false(m.other);
        assert_null(m.scratch);
        assert_int_equal(m.nparams, 0);
    }
}

static void test_root(void **state)
{
    struct match m;

    (void)state;
    match("GET", "/", &m);
    assert_ptr_equal(m.route, &routes[10]);
    free(m.scratch);
}

static void test_capture_limit(void **state)
{
    struct match m;

    (void)state;
    match("GET", "/p/1/2/3/4/5/6/7/8", &m);
    assert_ptr_equal(m.route, &routes[11]);
    assert_int_equal(m.nparams, HTTP_MAX_PARAMS);
    assert_string_equal(m.params[7], "8");
    free(m.scratch);

    /* A template with more captures than HTTP_MAX_PARAMS never matches. */
    match("GET", "/q/1/2/3/4/5/6/7/8/9", &m);
    assert_null(m.route);
    assert_false(m.other);
}

static void test_no_routes(void **state)
{
    static const struct http_route empty[] = {{NULL, NULL, NULL, false}};
    const char *params[HTTP_MAX_PARAMS];
    size_t np = 5;
    char *scratch = (char *)"x";
    bool other = true;

    (void)state;
    assert_null(http_route_match(empty, "GET", "/v1/config", params, &np, &scratch, &other));
    assert_int_equal(np, 0);
    assert_null(scratch);
    assert_false(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_route),
        cmocka_unit_test(test_captures_are_raw_segments),
        cmocka_unit_test(test_method_selects_route),
        cmocka_unit_test(test_first_match_wins),
        cmocka_unit_test(test_other_method_is_405),
        cmocka_unit_test(test_no_match),
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_capture_limit),
        cmocka_unit_test(test_no_routes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
