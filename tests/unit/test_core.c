/* test_core.c - core/: the error table, capped buffers, strict JSON, UUIDs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/status.h"

static void test_error_table(void **state)
{
    struct error err;
    static const struct {
        enum errtype type;
        int code;
        const char *name;
    } cases[] = {
        {ET_NO_SUCH_TABLE, 404, "NoSuchTableException"},
        {ET_NO_SUCH_NAMESPACE, 404, "NoSuchNamespaceException"},
        {ET_NOT_FOUND, 404, "NotFoundException"},
        {ET_ALREADY_EXISTS, 409, "AlreadyExistsException"},
        {ET_NAMESPACE_NOT_EMPTY, 409, "NamespaceNotEmptyException"},
        {ET_COMMIT_FAILED, 409, "CommitFailedException"},
        {ET_COMMIT_STATE_UNKNOWN, 500, "CommitStateUnknownException"},
        {ET_BAD_REQUEST, 400, "BadRequestException"},
        {ET_ILLEGAL_ARGUMENT, 400, "IllegalArgumentException"},
        {ET_UNSUPPORTED_OPERATION, 406, "UnsupportedOperationException"},
        {ET_PAYLOAD_TOO_LARGE, 413, "PayloadTooLargeException"},
        {ET_UNPROCESSABLE, 422, "UnprocessableEntityException"},
        {ET_SERVICE_UNAVAILABLE, 503, "ServiceUnavailableException"},
        {ET_NO_SUCH_WAREHOUSE, 404, "NoSuchWarehouseException"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(error_set(&err, ST_INVALID, cases[i].type, "m %d", 1), ST_INVALID);
        assert_int_equal(error_http_code(&err), cases[i].code);
        assert_string_equal(error_type_name(&err), cases[i].name);
        assert_string_equal(err.msg, "m 1");
    }
    /* No type: the status decides, and 201 never appears. */
    error_set(&err, ST_CONFLICT, ET_NONE, "x");
    assert_int_equal(error_http_code(&err), 409);
    error_set(&err, ST_NOT_FOUND, ET_NONE, "x");
    assert_int_equal(error_http_code(&err), 404);
    error_set(&err, ST_IO, ET_NONE, "x");
    assert_int_equal(error_http_code(&err), 500);
    error_set(&err, ST_UNAVAILABLE, ET_NONE, "x");
    assert_int_equal(error_http_code(&err), 503);
    assert_int_equal(error_set(NULL, ST_EXISTS, ET_NONE, "ignored"), ST_EXISTS);
}

static void test_error_body(void **state)
{
    struct error err;
    json_t *body;

    error_set(&err, ST_NOT_FOUND, ET_NO_SUCH_TABLE, "Table does not exist: a.b");
    body = jsonx_error_body(&err);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(body, "error"), "message")),
        "Table does not exist: a.b");
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "error"), "type")),
                        "NoSuchTableException");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "error"), "code")),
                     404);
    assert_int_equal(json_object_size(json_object_get(body, "error")), 3);
    json_decref(body);
}

static void test_buf_cap(void **state)
{
    struct buf b;

    buf_init(&b, 8);
    assert_int_equal(buf_puts(&b, "12345"), ST_OK);
    assert_int_equal(buf_puts(&b, "6789"), ST_INVALID); /* would be 9 > 8 */
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "12345");
    assert_int_equal(buf_printf(&b, "%d", 678), ST_OK);
    assert_string_equal(b.data, "12345678");
    assert_int_equal(buf_append(&b, "x", 1), ST_INVALID);
    char *s = buf_take(&b);
    assert_string_equal(s, "12345678");
    free(s);
    assert_null(b.data);
    buf_cleanup(&b);
}

static void test_jsonx_strict(void **state)
{
    json_t *v = NULL;
    struct error err;
    const char *big = "{\"id\":9223372036854775807,\"neg\":-9223372036854775808}";

    assert_int_equal(jsonx_parse_object(big, strlen(big), &v, &err), ST_OK);
    assert_true(json_integer_value(json_object_get(v, "id")) == INT64_MAX);
    assert_true(json_integer_value(json_object_get(v, "neg")) == INT64_MIN);
    char *out = jsonx_dump(v);
    assert_string_equal(out, "{\"id\":9223372036854775807,\"neg\":-9223372036854775808}");
    free(out);
    json_decref(v);
    /* Overflow, duplicates, truncation, garbage and non-objects are all refused. */
    static const char *bad[] = {
        "{\"id\":9223372036854775808}", "{\"a\":1,\"a\":2}", "{\"a\":", "{} x", "[1]", "", "nul"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        assert_int_equal(jsonx_parse_object(bad[i], strlen(bad[i]), &v, &err), ST_INVALID);
        assert_null(v);
        assert_int_equal(error_http_code(&err), 400);
        assert_true(strlen(err.msg) > 0);
    }
}

/* jsonx_dump writes what json_dumps writes with the same settings, byte for byte. */
static void assert_dump_like_jansson(const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    char *got = jsonx_dump(v);

    assert_non_null(want);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

static void test_jsonx_dump_like_jansson(void **state)
{
    static const double reals[] = {0.0,
                                   -0.0,
                                   0.1,
                                   1.0,
                                   -2.5,
                                   1e300,
                                   1e-7,
                                   1e-300,
                                   1e22,
                                   1e21,
                                   123456789.0,
                                   5e-324,
                                   1.7976931348623157e308,
                                   0.30000000000000004,
                                   1e16,
                                   1e17};
    static const char *const texts[] = {"{}",
                                        "[]",
                                        "[[],{}]",
                                        "{\"a\":{\"b\":[1,2,{\"c\":null}]},\"d\":true,\"e\":false}",
                                        "{\"z\":1,\"a\":2,\"m\":3}",
                                        "\"\\u0000a\\u001fb\\u007f\\u00e9\\ud83d\\ude00/\\\\\\\"\"",
                                        "\"\\b\\f\\n\\r\\t\"",
                                        "9223372036854775807",
                                        "-9223372036854775808",
                                        "0",
                                        "-1",
                                        "[1.5e300,-0.0,3.0e-5]",
                                        "\"\\u2028\\u2029\""};
    json_t *arr = json_array(), *obj = json_object();
    char key[2] = {0, 0};

    (void)state;
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        json_t *r = json_real(reals[i]);

        assert_dump_like_jansson(r);
        json_array_append_new(arr, r);
    }
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *v = json_loads(texts[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

        assert_non_null(v);
        assert_dump_like_jansson(v);
        json_array_append_new(arr, v);
    }
    /* Every byte below 0x80 as a one-character string, and as an object key. */
    for (int c = 0; c < 0x80; c++) {
        char s[1] = {(char)c};
        json_t *str = json_stringn(s, 1);

        key[0] = (char)c;
        assert_dump_like_jansson(str);
        json_array_append_new(arr, str);
        if (c)
            json_object_set_new(obj, key, json_integer(c));
    }
    json_array_append_new(arr, obj);
    assert_dump_like_jansson(arr);
    assert_dump_like_jansson(json_null());
    assert_dump_like_jansson(json_true());
    json_decref(arr);
}

static void test_jsonx_getters(void **state)
{
    json_t *o = json_pack("{s:s, s:i, s:b, s:{s:s}, s:[s], s:n, s:{s:i}}", "s", "x", "i", 5, "b", 1,
                          "m", "k", "v", "a", "q", "nul", "bad", "k", 1);
    const char *s = NULL;
    int64_t i = 0;
    bool b = false;
    json_t *j = NULL;
    struct error err;

    assert_int_equal(jsonx_get_str(o, "T", "s", true, &s, &err), ST_OK);
    assert_string_equal(s, "x");
    assert_int_equal(jsonx_get_int(o, "T", "i", true, &i, &err), ST_OK);
    assert_int_equal(i, 5);
    assert_int_equal(jsonx_get_bool(o, "T", "b", true, &b, &err), ST_OK);
    assert_true(b);
    assert_int_equal(jsonx_get_str_map(o, "T", "m", true, &j, &err), ST_OK);
    assert_int_equal(jsonx_get_str_array(o, "T", "a", true, &j, &err), ST_OK);
    /* null counts as absent; absent optional leaves the output alone. */
    s = "keep";
    assert_int_equal(jsonx_get_str(o, "T", "nul", false, &s, &err), ST_OK);
    assert_string_equal(s, "keep");
    assert_int_equal(jsonx_get_str(o, "T", "missing", true, &s, &err), ST_INVALID);
    assert_string_equal(err.msg, "Invalid T: missing field 'missing'");
    assert_int_equal(jsonx_get_str(o, "T", "i", true, &s, &err), ST_INVALID);
    assert_string_equal(err.msg, "Invalid T: field 'i' must be a string");
    assert_int_equal(jsonx_get_str_map(o, "T", "bad", true, &j, &err), ST_INVALID);
    assert_int_equal(jsonx_get_int(o, "T", "s", true, &i, &err), ST_INVALID);
    json_decref(o);
}

static void test_uuids(void **state)
{
    char a[IDS_UUID_LEN + 1], b[IDS_UUID_LEN + 1];

    ids_uuid_v4(a);
    ids_uuid_v4(b);
    assert_true(ids_is_uuid(a));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    ids_uuid_v7(a);
    assert_true(ids_is_uuid(a));
    assert_int_equal(a[14], '7');
    assert_false(ids_is_uuid("not-a-uuid"));
    assert_false(ids_is_uuid("9c12ab6b-7e0e-4d2b-9d3a-5a4b2f1f7d1g"));
    assert_true(ids_is_uuid("9C12AB6B-7E0E-4D2B-9D3A-5A4B2F1F7D10"));
}

/* capture_log runs fn with stderr sent to a temporary file and returns what was written. */
static char *capture_log(void (*fn)(void))
{
    char path[] = "/tmp/serac-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    char *out = calloc(1, 65536);

    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_true(pread(fd, out, 65535, 0) >= 0);
    close(fd);
    unlink(path);
    return out;
}

static void write_tricky_lines(void)
{
    json_t *fields = json_pack("{s:s, s:i, s:[i,i]}", "k\"ey", "v\nal", "n", 7, "list", 1, 2);

    log_set_request_id("req-1");
    log_msg(LOG_WARN, "quote \" backslash \\ tab \t nl \n utf8 \xc3\xa9 ctl \x01 bad \xff end");
    log_fields(LOG_ERROR, "fields", fields);
    log_access("GET", "/v1/{prefix}/x", 200, 1250, 10, 20);
    log_set_request_id(NULL);
    log_msg(LOG_DEBUG, "not written at info");
    json_decref(fields);
}

/*
 * log_lines runs fn as capture_log does and parses each line it wrote as JSON
 * (the test fails on one that is not) into lines[], at most max; returns how many.
 */
static int log_lines(void (*fn)(void), json_t **lines, int max)
{
    char *text = capture_log(fn), *line, *save = NULL;
    int n = 0;

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        assert_true(n < max);
        lines[n] = json_loads(line, 0, NULL);
        assert_non_null(lines[n++]);
    }
    free(text);
    return n;
}

static void test_log_lines_are_json(void **state)
{
    json_t *lines[8];
    int n;

    (void)state;
    log_set_level(LOG_INFO);
    n = log_lines(write_tricky_lines, lines, 8);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++) {
        json_t *v = lines[i];

        assert_string_equal(json_string_value(json_object_get(v, "request_id")), "req-1");
        assert_non_null(json_object_get(v, "ts"));
        if (i == 0) {
            assert_string_equal(json_string_value(json_object_get(v, "level")), "warn");
            /* The invalid byte 0xff becomes U+FFFD; everything else survives exactly. */
            assert_string_equal(json_string_value(json_object_get(v, "msg")),
                                "quote \" backslash \\ tab \t nl \n utf8 \xc3\xa9 ctl \x01 bad "
                                "\xef\xbf\xbd end");
        } else if (i == 1) {
            assert_string_equal(json_string_value(json_object_get(v, "k\"ey")), "v\nal");
            assert_int_equal(json_integer_value(json_object_get(v, "n")), 7);
            assert_int_equal(json_array_size(json_object_get(v, "list")), 2);
        } else {
            assert_string_equal(json_string_value(json_object_get(v, "route")), "/v1/{prefix}/x");
            assert_int_equal(json_integer_value(json_object_get(v, "status")), 200);
            assert_int_equal(json_integer_value(json_object_get(v, "bytes_out")), 20);
            /* 1,250 µs, written as milliseconds with three decimals. */
            assert_true(json_is_real(json_object_get(v, "latency_ms")));
            assert_true(json_real_value(json_object_get(v, "latency_ms")) == 1.25);
        }
        json_decref(v);
    }
}

/* stderr_size is how many bytes stderr's file holds so far. */
static long long stderr_size(void)
{
    struct stat sb;

    assert_int_equal(fstat(STDERR_FILENO, &sb), 0);
    return (long long)sb.st_size;
}

/* stderr_ends_a_line says whether the bytes written to stderr so far end with a newline. */
static bool stderr_ends_a_line(void)
{
    char c = 0;

    assert_int_equal(pread(STDERR_FILENO, &c, 1, stderr_size() - 1), 1);
    return c == '\n';
}

static void write_held_lines(void)
{
    char *big = malloc(6001);
    json_t *fields;
    long long before;

    memset(big, 'x', 6000);
    big[6000] = '\0';
    fields = json_pack("{s:s}", "big", big);
    log_hold(true);
    log_access("GET", "/held", 200, 1, 0, 0);
    assert_int_equal(stderr_size(), 0); /* held */
    for (int i = 1; i < 100; i++)
        log_access("GET", "/held", 200, 1, i, 0);
    /* A hundred lines do not fit in PIPE_BUF: some were written, each write whole lines. */
    before = stderr_size();
    assert_true(before > 0);
    assert_true(stderr_ends_a_line());
    /* A line longer than the buffer goes out alone, after the lines held before it. */
    log_fields(LOG_INFO, "long", fields);
    assert_true(stderr_size() > before + 6000);
    log_access("GET", "/held", 200, 1, 100, 0);
    before = stderr_size();
    log_flush();
    assert_true(stderr_size() > before);
    log_access("GET", "/held", 200, 1, 101, 0);
    before = stderr_size();
    log_hold(false); /* writes what is held and stops holding */
    assert_true(stderr_size() > before);
    before = stderr_size();
    log_access("GET", "/held", 200, 1, 102, 0);
    assert_true(stderr_size() > before);
    json_decref(fields);
    free(big);
}

static void test_log_hold_keeps_order_and_lines(void **state)
{
    json_t *lines[110];
    int n;

    (void)state;
    log_set_level(LOG_INFO);
    n = log_lines(write_held_lines, lines, 110);
    assert_int_equal(n, 104);
    for (int i = 0; i < n; i++) {
        json_t *v = lines[i];

        if (i == 100) {
            assert_string_equal(json_string_value(json_object_get(v, "msg")), "long");
            assert_int_equal(strlen(json_string_value(json_object_get(v, "big"))), 6000);
        } else {
            /* bytes_in numbers the access lines in the order they were logged */
            assert_int_equal(json_integer_value(json_object_get(v, "bytes_in")),
                             i < 100 ? i : i - 1);
        }
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_jsonx_strict),
        cmocka_unit_test(test_jsonx_dump_like_jansson),
        cmocka_unit_test(test_jsonx_getters),
        cmocka_unit_test(test_uuids),
        cmocka_unit_test(test_log_lines_are_json),
        cmocka_unit_test(test_log_hold_keeps_order_and_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
