/* test_pct.c - percent-encoding and decoding (core/pct.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/pct.h"

static void test_hexval(void **state)
{
    (void)state;
    assert_int_equal(pct_hexval('0'), 0);
    assert_int_equal(pct_hexval('9'), 9);
    assert_int_equal(pct_hexval('a'), 10);
    assert_int_equal(pct_hexval('F'), 15);
    assert_int_equal(pct_hexval('g'), -1);
    assert_int_equal(pct_hexval('%'), -1);
    assert_int_equal(pct_hexval(0xC3), -1);
}

static void test_decode(void **state)
{
    char *out = NULL;

    (void)state;
    assert_int_equal(pct_decode("a+b%2Bc%2fd%E2%82%AC", 20, false, &out), ST_OK);
    assert_string_equal(out, "a+b+c/d\xe2\x82\xac");
    free(out);
    assert_int_equal(pct_decode("a+b", 3, true, &out), ST_OK);
    assert_string_equal(out, "a b");
    free(out);
    assert_int_equal(pct_decode("", 0, true, &out), ST_OK);
    assert_string_equal(out, "");
    free(out);
    /* len bounds the input: the escape is cut off. */
    assert_int_equal(pct_decode("ab%41", 4, false, &out), ST_INVALID);
    assert_null(out);
    assert_int_equal(pct_decode("%41%1f", 6, false, &out), ST_OK);
    assert_string_equal(out, "A\x1f");
    free(out);
    assert_int_equal(pct_decode("%2e%2E", 6, false, &out), ST_OK);
    assert_string_equal(out, "..");
    free(out);
}

static void test_decode_refuses_nul_and_bad_escapes(void **state)
{
    char *out = (char *)"untouched";

    (void)state;
    /* A NUL, escaped or raw, would cut the C string short: "t/x%00/../../other" must not
       decode to "t/x". */
    assert_int_equal(pct_decode("t/x%00/../../other", 18, false, &out), ST_INVALID);
    assert_null(out);
    assert_int_equal(pct_decode("a\0b", 3, false, &out), ST_INVALID);
    assert_int_equal(pct_decode("x%0", 3, false, &out), ST_INVALID);
    assert_int_equal(pct_decode("x%", 2, false, &out), ST_INVALID);
    assert_int_equal(pct_decode("%zz", 3, false, &out), ST_INVALID);
    assert_int_equal(pct_decode("%4", 2, false, &out), ST_INVALID);
}

static void encode(const char *s, size_t n, bool keep_slash, const char *want)
{
    struct buf b;

    buf_init(&b, 0);
    assert_int_equal(pct_encode(&b, s, n, keep_slash), ST_OK);
    assert_string_equal(b.data ? b.data : "", want);
    buf_cleanup(&b);
}

static void test_encode(void **state)
{
    (void)state;
    encode("AZaz09-._~", 10, false, "AZaz09-._~");
    encode("a b+c/d", 7, false, "a%20b%2Bc%2Fd");
    encode("a b+c/d", 7, true, "a%20b%2Bc/d");
    encode("\xe2\x82\xac%", 4, false, "%E2%82%AC%25");
    encode("x\0y", 3, false, "x%00y");
    encode("", 0, false, "");
}

static void test_encode_decode_round_trip(void **state)
{
    char all[256], *back = NULL;
    struct buf b;

    (void)state;
    for (int i = 0; i < 255; i++)
        all[i] = (char)(i + 1); /* every byte but NUL */
    buf_init(&b, 0);
    assert_int_equal(pct_encode(&b, all, 255, false), ST_OK);
    assert_int_equal(pct_decode(b.data, b.len, false, &back), ST_OK);
    assert_int_equal(strlen(back), 255);
    assert_memory_equal(back, all, 255);
    free(back);
    buf_cleanup(&b);
}

static void test_puts_and_limit(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(pct_puts(&b, "ab/c"), ST_OK);
    assert_string_equal(b.data, "ab%2Fc");
    /* Past the buffer's limit: refused. */
    assert_int_equal(pct_puts(&b, "xyz"), ST_INVALID);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hexval),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_refuses_nul_and_bad_escapes),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_encode_decode_round_trip),
        cmocka_unit_test(test_puts_and_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
