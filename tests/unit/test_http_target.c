/* test_http_target.c - request-target parsing and request accessors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

struct parsed {
    enum status rc;
    char *path;
    struct http_kv *query;
    size_t nquery;
    struct error err;
};

static void parse(const char *target, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    p->rc = http_parse_target(target, strlen(target), &p->path, &p->query, &p->nquery, &p->err);
}

static void parsed_free(struct parsed *p)
{
    free(p->path);
    http_kv_free(p->query, p->nquery);
}

/* query_of wraps parsed pairs in a request so http_query can be used on them. */
static const char *query_of(const struct parsed *p, const char *name)
{
    struct http_request req;

    memset(&req, 0, sizeof(req));
    req.query = p->query;
    req.nquery = p->nquery;
    return http_query(&req, name);
}

static void test_plain_path(void **state)
{
    struct parsed p;

    (void)state;
    parse("/v1/config", &p);
    assert_int_equal(p.rc, ST_OK);
    assert_string_equal(p.path, "/v1/config");
    assert_int_equal(p.nquery, 0);
    parsed_free(&p);
}

static void test_query_decoding(void **state)
{
    struct parsed p;

    (void)state;
    parse("/v1/config?warehouse=s3%3A%2F%2Fbucket%2Fwh&a=1&sp=hello%20world&plus=a+b", &p);
    assert_int_equal(p.rc, ST_OK);
    assert_string_equal(p.path, "/v1/config");
    assert_int_equal(p.nquery, 4);
    assert_string_equal(query_of(&p, "warehouse"), "s3://bucket/wh");
    assert_string_equal(query_of(&p, "a"), "1");
    assert_string_equal(query_of(&p, "sp"), "hello world");
    assert_string_equal(query_of(&p, "plus"), "a b");
    assert_null(query_of(&p, "missing"));
    assert_null(query_of(&p, "A")); /* names are exact */
    parsed_free(&p);
}

static void test_query_names_are_decoded(void **state)
{
    struct parsed p;

    (void)state;
    parse("/x?page%2Dtoken=abc&with+space=1", &p);
    assert_int_equal(p.rc, ST_OK);
    assert_string_equal(query_of(&p, "page-token"), "abc");
    assert_string_equal(query_of(&p, "with space"), "1");
    parsed_free(&p);
}

static void test_path_stays_raw(void **state)
{
    struct parsed p;

    (void)state;
    parse("/v1/wh/namespaces/accounting%1Ftax/tables/a%2Fb+c%20d?parent=accounting%1Ftax", &p);
    assert_int_equal(p.rc, ST_OK);
    /* %1F, %2F, '+' and %20 all stay exactly as sent in the path. */
    assert_string_equal(p.path, "/v1/wh/namespaces/accounting%1Ftax/tables/a%2Fb+c%20d");
    /* ...but the query is decoded: the separator byte arrives as 0x1F. */
    assert_string_equal(query_of(&p, "parent"), "accounting\x1ftax");
    parsed_free(&p);
}

static void test_empty_values_and_pieces(void **state)
{
    struct parsed p;

    (void)state;
    parse("/x?&a=&b&&=c&", &p);
    assert_int_equal(p.rc, ST_OK);
    assert_int_equal(p.nquery, 3);
    assert_string_equal(query_of(&p, "a"), "");
    assert_string_equal(query_of(&p, "b"), "");
    assert_string_equal(query_of(&p, ""), "c");
    parsed_free(&p);

    parse("/x?", &p);
    assert_int_equal(p.rc, ST_OK);
    assert_string_equal(p.path, "/x");
    assert_int_equal(p.nquery, 0);
    parsed_free(&p);

    parse("/x?a=b=c", &p);
    assert_int_equal(p.rc, ST_OK);
    assert_string_equal(query_of(&p, "a"), "b=c");
    parsed_free(&p);
}

static void test_repeated_params_first_wins(void **state)
{
    struct parsed p;

    (void)state;
    parse("/x?pageSize=10&pageSize=20", &p);
    assert_int_equal(p.rc, ST_OK);
    assert_int_equal(p.nquery, 2);
    assert_string_equal(query_of(&p, "pageSize"), "10");
    assert_string_equal(p.query[1].value, "20");
    parsed_free(&p);
}

static void expect_invalid(const char *target, size_t len)
{
    char *path = (char *)"unchanged";
    struct http_kv *query = (struct http_kv *)1;
    size_t nquery = 99;
    struct error err;

    error_clear(&err);
    assert_int_equal(http_parse_target(target, len, &path, &query, &nquery, &err), ST_INVALID);
    assert_null(path);
    assert_null(query);
    assert_int_equal(nquery, 0);
    assert_int_equal(error_http_code(&err), 400);
    assert_string_equal(error_type_name(&err), "BadRequestException");
    assert_true(strlen(err.msg) > 0);
}

static void test_bad_escapes(void **state)
{
    (void)state;
    expect_invalid("/x?a=%zz", 8);
    expect_invalid("/x?a=%4", 7);
    expect_invalid("/x?a=%", 6);
    expect_invalid("/x?%G1=1", 8);
    expect_invalid("/x?a=%00", 8); /* a decoded NUL would cut strings short */
    expect_invalid("/a%G1/b", 7);
    expect_invalid("/a%", 3);
}

static void test_bad_characters(void **state)
{
    (void)state;
    expect_invalid("/a b", 4);
    expect_invalid("/a\tb", 4);
    expect_invalid("/a\x01", 3);
    expect_invalid("/a\x7f", 3);
    expect_invalid("/caf\xc3\xa9", 6); /* raw UTF-8 must be percent-encoded */
    expect_invalid("/x?a=1\r\nb", 9);
    expect_invalid("/a\0b", 4);
}

static void test_target_must_start_with_slash(void **state)
{
    (void)state;
    expect_invalid("", 0);
    expect_invalid("*", 1);
    expect_invalid("v1/config", 9);
    expect_invalid("http://host/v1/config", 21);
}

static void test_len_is_respected(void **state)
{
    const char target[] = "/v1/config?a=1GARBAGE\x01";
    char *path = NULL;
    struct http_kv *query = NULL;
    size_t nquery = 0;

    (void)state;
    assert_int_equal(http_parse_target(target, 14, &path, &query, &nquery, NULL), ST_OK);
    assert_string_equal(path, "/v1/config");
    assert_int_equal(nquery, 1);
    assert_string_equal(query[0].value, "1");
    free(path);
    http_kv_free(query, nquery);
}

static void test_header_lookup(void **state)
{
    struct http_kv headers[] = {
        {(char *)"Content-Type", (char *)"application/json"},
        {(char *)"X-Request-ID", (char *)"first"},
        {(char *)"x-request-id", (char *)"second"},
    };
    struct http_request req;

    (void)state;
    memset(&req, 0, sizeof(req));
    req.headers = headers;
    req.nheaders = 3;
    assert_string_equal(http_header(&req, "content-type"), "application/json");
    assert_string_equal(http_header(&req, "X-REQUEST-ID"), "first");
    assert_null(http_header(&req, "Authorization"));
}

static void test_response_helpers(void **state)
{
    struct http_response res;
    struct error err;

    (void)state;
    memset(&res, 0, sizeof(res));
    http_response_json(&res, 200, json_pack("{s:s}", "a", "b"));
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "{\"a\":\"b\"}");
    assert_int_equal(res.body_len, 9);
    assert_string_equal(res.content_type, "application/json");

    /* Replacing the body frees the old one; a NULL body means none. */
    http_response_json(&res, 204, NULL);
    assert_int_equal(res.status, 204);
    assert_null(res.body);
    assert_int_equal(res.body_len, 0);

    error_set(&err, ST_NOT_FOUND, ET_NO_SUCH_TABLE, "Table does not exist: db.t");
    http_response_error(&res, &err);
    assert_int_equal(res.status, 404);
    assert_string_equal(res.body, "{\"error\":{\"message\":\"Table does not exist: db.t\","
                                  "\"type\":\"NoSuchTableException\",\"code\":404}}");

    /* A message that is not UTF-8 still produces a valid body. */
    error_set(&err, ST_INVALID, ET_BAD_REQUEST, "bad name: \xff\xfe");
    http_response_error(&res, &err);
    assert_int_equal(res.status, 400);
    assert_non_null(strstr(res.body, "bad name: ??"));
    free(res.body);

    memset(&res, 0, sizeof(res));
    for (int i = 0; i < HTTP_MAX_RESPONSE_HEADERS + 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "X-N%d", i);
        http_response_header(&res, name, "v");
    }
    assert_int_equal(res.nheaders, HTTP_MAX_RESPONSE_HEADERS);
    assert_string_equal(res.headers[0].name, "X-N0");
    for (size_t i = 0; i < res.nheaders; i++) {
        free(res.headers[i].name);
        free(res.headers[i].value);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_path),
        cmocka_unit_test(test_query_decoding),
        cmocka_unit_test(test_query_names_are_decoded),
        cmocka_unit_test(test_path_stays_raw),
        cmocka_unit_test(test_empty_values_and_pieces),
        cmocka_unit_test(test_repeated_params_first_wins),
        cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_bad_characters),
        cmocka_unit_test(test_target_must_start_with_slash),
        cmocka_unit_test(test_len_is_respected),
        cmocka_unit_test(test_header_lookup),
        cmocka_unit_test(test_response_helpers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
