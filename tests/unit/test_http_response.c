/* test_http_response.c - http/response.c: response helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static void free_response(struct http_response *res)
{
    free(res->body);
    for (size_t i = 0; i < res->nheaders; i++) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
}

static void test_header_set_twice_is_sent_once(void **state)
{
    struct http_response res = {0};

    http_response_header(&res, "Retry-After", "1");
    http_response_header(&res, "ETag", "\"a\"");
    http_response_header(&res, "retry-after", "2");
    assert_int_equal(res.nheaders, 2);
    assert_string_equal(res.headers[0].name, "Retry-After");
    assert_string_equal(res.headers[0].value, "2");
    free_response(&res);
}

static void test_header_table_full(void **state)
{
    struct http_response res = {0};
    char name[16];

    for (int i = 0; i < HTTP_MAX_RESPONSE_HEADERS + 3; i++) {
        snprintf(name, sizeof(name), "X-H%d", i);
        http_response_header(&res, name, "v");
    }
    assert_int_equal(res.nheaders, HTTP_MAX_RESPONSE_HEADERS);
    free_response(&res);
}

static void test_error_body(void **state)
{
    struct http_response res = {0};
    struct error err;

    error_set(&err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE, "database unavailable");
    http_response_error(&res, &err);
    assert_int_equal(res.status, 503);
    assert_non_null(strstr(res.body, "\"ServiceUnavailableException\""));
    assert_non_null(strstr(res.body, "\"code\":503"));
    free_response(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_set_twice_is_sent_once),
        cmocka_unit_test(test_header_table_full),
        cmocka_unit_test(test_error_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
