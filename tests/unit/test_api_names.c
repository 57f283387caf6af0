/* test_api_names.c - api/names.c: namespaces and names from raw path segments and queries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static void expect_levels(const char *raw, int n, const char **levels)
{
    json_t *arr = NULL;
    struct error err;

    error_clear(&err);
    assert_int_equal(api_decode_namespace(raw, NULL, &arr, &err), ST_OK);
    assert_int_equal(json_array_size(arr), n);
    for (int i = 0; i < n; i++)
        assert_string_equal(json_string_value(json_array_get(arr, i)), levels[i]);
    json_decref(arr);
}

static void test_namespace_levels(void **state)
{
    expect_levels("db", 1, (const char *[]){"db"});
    expect_levels("a%1Fb%1fc", 3, (const char *[]){"a", "b", "c"});
    /* Split before decoding: an encoded dot or slash stays inside its level. */
    expect_levels("a.b%1Fc", 2, (const char *[]){"a.b", "c"});
    expect_levels("TEST%20NS", 1, (const char *[]){"TEST NS"});
    expect_levels("TEST+NS", 1, (const char *[]){"TEST NS"});
    expect_levels("a%2Bb", 1, (const char *[]){"a+b"});
    expect_levels("%C3%A9t%C3%A9", 1, (const char *[]){"\xC3\xA9t\xC3\xA9"});
}

static void test_namespace_rejects(void **state)
{
    static const char *bad[] = {"",      "a%1F",  "%1Fa",  "a%1F%1Fb", "a%2",     "a%zz",
                                "a%00b", "a%0Ab", "a%2Fb", "%FF",      "a%1Fb%07"};
    json_t *arr = NULL;
    struct error err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        assert_int_equal(api_decode_namespace(bad[i], NULL, &arr, &err), ST_INVALID);
        assert_null(arr);
        assert_int_equal(error_http_code(&err), 400);
    }
}

static void test_advertised_separator(void **state)
{
    json_t *arr = NULL;
    struct error err;

    /* With "." advertised, %2E separates; a literal dot stays inside a level. */
    assert_int_equal(api_decode_namespace("a%2Eb.c", ".", &arr, &err), ST_OK);
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_array_get(arr, 1)), "b.c");
    json_decref(arr);
    /* %1F always wins: then %2E is just an escaped dot. */
    assert_int_equal(api_decode_namespace("a%2Eb%1Fc", ".", &arr, &err), ST_OK);
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_array_get(arr, 0)), "a.b");
    json_decref(arr);
    assert_int_equal(api_parse_parent("x.y", ".", &arr, &err), ST_OK);
    assert_int_equal(json_array_size(arr), 2);
    json_decref(arr);
    assert_int_equal(api_parse_parent("x.y", NULL, &arr, &err), ST_OK);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
}

static void test_names(void **state)
{
    char *name = NULL;
    struct error err;

    assert_int_equal(api_decode_name("table", "my%20table", &name, &err), ST_OK);
    assert_string_equal(name, "my table");
    free(name);
    assert_int_equal(api_decode_name("table", "t.with.dots", &name, &err), ST_OK);
    assert_string_equal(name, "t.with.dots");
    free(name);
    assert_int_equal(api_decode_name("table", "bad%09tab", &name, &err), ST_INVALID);
    assert_null(name);
    assert_non_null(strstr(err.msg, "control character"));
}

static void test_parent(void **state)
{
    json_t *arr = NULL;
    struct error err;

    assert_int_equal(api_parse_parent(NULL, NULL, &arr, &err), ST_OK);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    assert_int_equal(api_parse_parent("", NULL, &arr, &err), ST_OK);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    assert_int_equal(api_parse_parent("a\x1f"
                                      "b",
                                      NULL, &arr, &err),
                     ST_OK);
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_array_get(arr, 1)), "b");
    json_decref(arr);
    assert_int_equal(api_parse_parent("a\x1f", NULL, &arr, &err), ST_INVALID);
}

static void test_endpoints(void **state)
{
    json_t *eps = api_endpoints();
    size_t i;
    json_t *v;
    int heads = 0;

    assert_true(json_array_size(eps) >= 25);
    json_array_foreach(eps, i, v)
    {
        const char *s = json_string_value(v);
        const char *sp = strchr(s, ' ');
        assert_non_null(sp);
        assert_null(strchr(sp + 1, ' ')); /* exactly two tokens */
        assert_int_equal(strncmp(sp + 1, "/v1/{prefix}/", 13), 0);
        heads += strncmp(s, "HEAD ", 5) == 0;
    }
    assert_int_equal(heads, 3);
    json_decref(eps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_namespace_levels),
        cmocka_unit_test(test_namespace_rejects),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_parent),
        cmocka_unit_test(test_advertised_separator),
        cmocka_unit_test(test_endpoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
