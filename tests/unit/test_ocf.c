/* test_ocf.c - avro/ocf: reading Avro object container files, good and hostile. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "avro/ocf.h"
#include "core/alloc.h"
#include "core/jsonx.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* data_path names a file under tests/unit/data/avro (or $SERAC_AVRO_DATA). */
static char *data_path(const char *name)
{
    const char *env = getenv("SERAC_AVRO_DATA");
    char *src = xstrdup(__FILE__);
    char *p =
        env ? xasprintf("%s/%s", env, name) : xasprintf("%s/data/avro/%s", dirname(src), name);
    free(src);
    return p;
}

static uint8_t *load(const char *name, size_t *len)
{
    char *path = data_path(name);
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long n;

    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = xmalloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    free(path);
    *len = (size_t)n;
    return data;
}

/* read_all opens data and reads every record into *records (may be NULL); returns the final
 * status: ST_OK when the file was read to its end, else the failing status. */
static enum status read_all(const void *data, size_t len, json_t **records, struct error *err)
{
    struct ocf_reader *r = NULL;
    json_t *rec, *all = json_array();
    enum status rc;

    if ((rc = ocf_reader_open(data, len, &r, err)) == ST_OK) {
        while ((rc = ocf_next(r, &rec, err)) == ST_OK)
            json_array_append_new(all, rec);
        if (rc == ST_NOT_FOUND)
            rc = ST_OK;
    }
    ocf_reader_free(r);
    if (records)
        *records = all;
    else
        json_decref(all);
    return rc;
}

/* A small OCF writer for hand-made (and broken) files. */
struct wbuf {
    uint8_t *p;
    size_t len, cap;
};

static const uint8_t SYNC[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void put(struct wbuf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = xrealloc(b->p, b->cap);
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void put_byte(struct wbuf *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put_long(struct wbuf *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

    while (z >= 0x80) {
        put_byte(b, (uint8_t)(z | 0x80));
        z >>= 7;
    }
    put_byte(b, (uint8_t)z);
}

static void put_bytes(struct wbuf *b, const void *d, size_t n)
{
    put_long(b, (int64_t)n);
    put(b, d, n);
}

static void put_str(struct wbuf *b, const char *s)
{
    put_bytes(b, s, strlen(s));
}

/* header writes magic, a metadata map with the schema (and codec when not NULL), and SYNC. */
static void header(struct wbuf *b, const char *schema, const char *codec)
{
    put(b, "Obj\x01", 4);
    put_long(b, codec ? 2 : 1);
    put_str(b, "avro.schema");
    put_str(b, schema);
    if (codec) {
        put_str(b, "avro.codec");
        put_str(b, codec);
    }
    put_long(b, 0);
    put(b, SYNC, sizeof(SYNC));
}

static void block(struct wbuf *b, int64_t count, const struct wbuf *body)
{
    put_long(b, count);
    put_long(b, (int64_t)body->len);
    put(b, body->p, body->len);
    put(b, SYNC, sizeof(SYNC));
}

/* one_block builds a file of schema with one uncompressed block of count records. */
static struct wbuf one_block(const char *schema, int64_t count, const struct wbuf *body)
{
    struct wbuf f = {0};

    header(&f, schema, NULL);
    block(&f, count, body);
    return f;
}

static void expect_json(const json_t *v, const char *want)
{
    char *got = jsonx_dump(v);
    if (strcmp(got, want) != 0)
        fail_msg("got %s\nwant %s", got, want);
    free(got);
}

/* ---- files written by fastavro -------------------------------------------------------- */

static const char REC0[] =
    "{\"n\":null,\"b\":true,\"i\":-2147483648,\"l\":9223372036854775807,\"f\":1.5,\"d\":-0.25,"
    "\"by\":\"0001abff\",\"s\":\"h\\u00E9llo \\u2603\",\"e\":\"RED\",\"fx\":\"00010203\","
    "\"arr\":[1,-1,1099511627776],\"m\":{\"a\":1,\"b\":-2},\"u\":\"text\",\"ts\":1700000000000000,"
    "\"inner\":{\"x\":2.5,\"tag\":\"BLUE\"},\"again\":{\"x\":-1.0,\"tag\":\"RED\"},"
    "\"fx2\":\"00000000\",\"list\":{\"v\":1,\"next\":{\"v\":2,\"next\":null}}}";

static void check_all_types(const char *name, const char *codec)
{
    size_t len;
    uint8_t *data = load(name, &len);
    struct ocf_reader *r = NULL;
    struct error err;
    json_t *rec = NULL, *all = json_array();
    enum status rc;

    assert_int_equal(ocf_reader_open(data, len, &r, &err), ST_OK);
    assert_string_equal(ocf_codec(r), codec);
    assert_string_equal(ocf_meta(r, "serac.note", NULL), "all types");
    assert_string_equal(ocf_meta(r, "format-version", NULL), "2");
    assert_null(ocf_meta(r, "no-such-key", NULL));
    assert_string_equal(json_string_value(json_object_get(ocf_schema(r), "name")),
                        "serac.test.all_types");
    while ((rc = ocf_next(r, &rec, &err)) == ST_OK)
        json_array_append_new(all, rec);
    assert_int_equal(rc, ST_NOT_FOUND);
    assert_null(rec);
    assert_int_equal(ocf_next(r, &rec, &err), ST_NOT_FOUND); /* and stays at the end */
    assert_int_equal(json_array_size(all), 300);

    /* Strings in JSON output escape non-ASCII, so compare through a dump with ensure_ascii. */
    char *got =
        json_dumps(json_array_get(all, 0), JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER |
                                               JSON_REAL_PRECISION(17));
    if (strcmp(got, REC0) != 0)
        fail_msg("record 0: %s", got);
    free(got);
    json_t *r1 = json_array_get(all, 1), *r2 = json_array_get(all, 2);
    assert_int_equal(json_integer_value(json_object_get(r1, "l")), INT64_MIN);
    assert_int_equal(json_integer_value(json_object_get(r1, "u")), 1);
    assert_true(json_is_null(json_object_get(r1, "list")));
    assert_string_equal(json_string_value(json_object_get(r2, "d")), "NaN");
    assert_true(json_is_null(json_object_get(r2, "u")));
    assert_string_equal(json_string_value(json_object_get(r2, "e")), "BLUE");
    assert_string_equal(json_string_value(json_object_get(r2, "fx")), "02010203");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 299), "i")), 299000);

    json_decref(all);
    ocf_reader_free(r);
    free(data);
}

static void test_null_codec(void **state)
{
    check_all_types("all-types-null.avro", "null");
}

static void test_deflate_codec(void **state)
{
    check_all_types("all-types-deflate.avro", "deflate");
}

static void test_zstandard_codec(void **state)
{
    check_all_types("all-types-zstd.avro", "zstandard");
}

static void test_codecs_agree(void **state)
{
    const char *names[] = {"all-types-null.avro", "all-types-deflate.avro", "all-types-zstd.avro"};
    char *dumps[3];

    for (int i = 0; i < 3; i++) {
        size_t len;
        uint8_t *data = load(names[i], &len);
        json_t *all;
        assert_int_equal(read_all(data, len, &all, NULL), ST_OK);
        dumps[i] = json_dumps(all, JSON_COMPACT);
        json_decref(all);
        free(data);
    }
    assert_string_equal(dumps[0], dumps[1]);
    assert_string_equal(dumps[0], dumps[2]);
    for (int i = 0; i < 3; i++)
        free(dumps[i]);
}

static void test_empty_file(void **state)
{
    size_t len;
    uint8_t *data = load("empty.avro", &len);
    json_t *all;

    assert_int_equal(read_all(data, len, &all, NULL), ST_OK);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    free(data);
}

/* Every prefix of a real file fails cleanly; only block boundaries read as a shorter file. */
static void test_truncated_files(void **state)
{
    const char *names[] = {"all-types-deflate.avro", "all-types-zstd.avro",
                           "v2-manifest-data.avro"};

    for (int k = 0; k < 3; k++) {
        size_t len, ok_prefixes = 0, tried = 0;
        uint8_t *data = load(names[k], &len);
        /* Every prefix through the header and first blocks, then a sample (it is slow). */
        for (size_t n = 0; n < len; n += n < 1200 ? 1 : 97, tried++) {
            /* A copy of exactly n bytes, so ASan sees any read past the prefix. */
            uint8_t *copy = xmalloc(n ? n : 1);
            json_t *all;
            memcpy(copy, data, n);
            enum status rc = read_all(copy, n, &all, NULL);
            assert_true(rc == ST_OK || rc == ST_INVALID);
            if (rc == ST_OK) {
                ok_prefixes++;
                assert_true(json_array_size(all) < 300);
            }
            json_decref(all);
            free(copy);
        }
        /* Only the ends of blocks (fewer than 1 in 100 prefixes) can pass. */
        assert_true(ok_prefixes * 100 < tried);
        struct error err;
        assert_int_equal(read_all(data, len - 1, NULL, &err), ST_INVALID);
        free(data);
    }
}

/* ---- header errors -------------------------------------------------------------------- */

static void test_bad_magic(void **state)
{
    struct ocf_reader *r = (struct ocf_reader *)&r;
    struct error err;

    assert_int_equal(ocf_reader_open("Obj\x02", 4, &r, &err), ST_INVALID);
    assert_null(r);
    assert_non_null(strstr(err.msg, "magic"));
    assert_int_equal(ocf_reader_open("Ob", 2, &r, &err), ST_INVALID);
    assert_int_equal(ocf_reader_open("", 0, &r, &err), ST_INVALID);
    assert_int_equal(ocf_reader_open("{\"a\":1}", 7, &r, &err), ST_INVALID);
    assert_int_equal(ocf_reader_open("PAR1\0\0\0\0PAR1", 12, &r, &err), ST_UNSUPPORTED);
}

static void test_unsupported_codec(void **state)
{
    const char *codecs[] = {"snappy", "bzip2", "xz", "gzip"};
    struct error err;

    for (int i = 0; i < 4; i++) {
        struct wbuf f = {0};
        header(&f, "\"long\"", codecs[i]);
        assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_UNSUPPORTED);
        assert_non_null(strstr(err.msg, codecs[i]));
        free(f.p);
    }
}

static void test_header_errors(void **state)
{
    struct error err;
    struct wbuf f = {0};

    /* No schema at all. */
    put(&f, "Obj\x01", 4);
    put_long(&f, 1);
    put_str(&f, "avro.codec");
    put_str(&f, "null");
    put_long(&f, 0);
    put(&f, SYNC, 16);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "avro.schema"));

    /* Truncated sync marker. */
    f.len -= 1;
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);

    /* A metadata map claiming 2^40 entries. */
    f.len = 0;
    put(&f, "Obj\x01", 4);
    put_long(&f, (int64_t)1 << 40);
    put_str(&f, "k");
    put_str(&f, "v");
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);

    /* A metadata value longer than the file. */
    f.len = 0;
    put(&f, "Obj\x01", 4);
    put_long(&f, 1);
    put_str(&f, "avro.schema");
    put_long(&f, INT64_MAX);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);

    /* A negative map block count whose byte size runs past the end. */
    f.len = 0;
    put(&f, "Obj\x01", 4);
    put_long(&f, -1);
    put_long(&f, 1000);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    f.len = 0;
    put(&f, "Obj\x01", 4);
    put_long(&f, INT64_MIN);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    free(f.p);
}

static void test_meta_values_are_bytes(void **state)
{
    struct wbuf f = {0};
    struct ocf_reader *r;
    size_t n = 0;

    put(&f, "Obj\x01", 4);
    put_long(&f, -2); /* a negative count with its byte size, as the spec allows */
    put_long(&f, 0);  /* size: checked against the data, not otherwise used */
    put_str(&f, "avro.schema");
    put_str(&f, "\"null\"");
    put_str(&f, "bin");
    put_bytes(&f, "a\0b", 3);
    put_long(&f, 3);
    put_str(&f, "bin");
    put_str(&f, "last wins");
    /* Keys are bytes too: neither of these is "avro.codec" (found by the fuzzer). */
    put_bytes(&f, "\0vro.codec", 10);
    put_str(&f, "snappy");
    put_bytes(&f, "avro.codec\0x", 12);
    put_str(&f, "snappy");
    put_long(&f, 0);
    put(&f, SYNC, 16);
    assert_int_equal(ocf_reader_open(f.p, f.len, &r, NULL), ST_OK);
    assert_string_equal(ocf_meta(r, "bin", &n), "last wins");
    assert_int_equal(n, 9);
    assert_null(ocf_meta(r, "avro.codec", NULL));
    assert_string_equal(ocf_codec(r), "null");
    ocf_reader_free(r);
    free(f.p);
}

static void test_bad_schemas(void **state)
{
    const char *schemas[] = {
        "not json",
        "42",
        "\"no_such_type\"",
        "[]",
        "{\"type\":\"record\",\"fields\":[]}",
        "{\"type\":\"record\",\"name\":\"r\"}",
        "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\"}]}",
        "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
        "{\"name\":\"a\",\"type\":\"int\"}]}",
        "[{\"type\":\"fixed\",\"name\":\"f\",\"size\":1},{\"type\":\"fixed\",\"name\":\"f\","
        "\"size\":2}]",
        "{\"type\":\"fixed\",\"name\":\"f\",\"size\":-1}",
        "{\"type\":\"fixed\",\"name\":\"f\",\"size\":99999999999}",
        "{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[1]}",
        "{\"type\":\"array\"}",
        "{\"type\":\"map\"}",
        "{\"type\":\"enum\",\"name\":\"long\",\"symbols\":[]}",
        "{\"type\":\"record\",\"name\":\"r\",\"namespace\":7,\"fields\":[]}",
        "{\"type\":true}",
    };
    struct error err;

    for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
        struct wbuf f = {0};
        header(&f, schemas[i], NULL);
        if (read_all(f.p, f.len, NULL, &err) != ST_INVALID)
            fail_msg("schema accepted: %s", schemas[i]);
        free(f.p);
    }
}

static void test_schema_nesting_capped(void **state)
{
    struct wbuf s = {0}, f = {0};
    struct error err;

    for (int i = 0; i < 200; i++)
        put(&s, "{\"type\":\"array\",\"items\":", 24);
    put(&s, "\"long\"", 6);
    for (int i = 0; i < 200; i++)
        put(&s, "}", 1);
    put_byte(&s, 0);
    header(&f, (const char *)s.p, NULL);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "deeply"));
    free(s.p);
    free(f.p);
}

/* ---- hand-made data ------------------------------------------------------------------- */

static void test_names_and_wrappers(void **state)
{
    /* A self-referencing record, namespace-relative references, a wrapped primitive and a
     * primitive carrying a logical type. */
    const char *schema =
        "{\"type\":\"record\",\"name\":\"node\",\"namespace\":\"a.b\",\"fields\":["
        "{\"name\":\"v\",\"type\":{\"type\":{\"type\":\"long\"}}},"
        "{\"name\":\"d\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
        "{\"name\":\"k\",\"type\":{\"type\":\"enum\",\"name\":\"kind\",\"symbols\":[\"X\",\"Y\"]}},"
        "{\"name\":\"k2\",\"type\":\"kind\"},{\"name\":\"k3\",\"type\":\"a.b.kind\"},"
        "{\"name\":\"next\",\"type\":[\"null\",\"node\"]}]}";
    struct wbuf body = {0};
    json_t *all;

    put_long(&body, 7);
    put_long(&body, 19000);
    put_long(&body, 1);
    put_long(&body, 0);
    put_long(&body, 1);
    put_long(&body, 1); /* next: branch "node" */
    put_long(&body, -8);
    put_long(&body, 0);
    put_long(&body, 0);
    put_long(&body, 0);
    put_long(&body, 0);
    put_long(&body, 0); /* next: null */
    struct wbuf f = one_block(schema, 1, &body);
    assert_int_equal(read_all(f.p, f.len, &all, NULL), ST_OK);
    expect_json(json_array_get(all, 0),
                "{\"v\":7,\"d\":19000,\"k\":\"Y\",\"k2\":\"X\",\"k3\":\"Y\",\"next\":{\"v\":-8,"
                "\"d\":0,\"k\":\"X\",\"k2\":\"X\",\"k3\":\"X\",\"next\":null}}");
    json_decref(all);
    free(body.p);
    free(f.p);
}

static void test_negative_array_blocks(void **state)
{
    const char *schema = "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
                         "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
                         "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"string\"}}]}";
    struct wbuf body = {0};
    json_t *all;

    put_long(&body, -2); /* two items in 2 bytes */
    put_long(&body, 2);
    put_long(&body, 5);
    put_long(&body, -5);
    put_long(&body, 1);
    put_long(&body, 63);
    put_long(&body, 0);
    put_long(&body, -1);
    put_long(&body, 4);
    put_str(&body, "k");
    put_str(&body, "v");
    put_long(&body, 0);
    struct wbuf f = one_block(schema, 1, &body);
    assert_int_equal(read_all(f.p, f.len, &all, NULL), ST_OK);
    expect_json(json_array_get(all, 0), "{\"a\":[5,-5,63],\"m\":{\"k\":\"v\"}}");
    json_decref(all);
    free(body.p);
    free(f.p);
}

/* bad_value builds a one-record file of schema whose body is body and expects ST_INVALID. */
static void bad_value(const char *schema, const struct wbuf *body, int64_t count, const char *msg)
{
    struct wbuf f = one_block(schema, count, body);
    struct ocf_reader *r;
    struct error err;
    json_t *rec = NULL;
    enum status rc;

    assert_int_equal(ocf_reader_open(f.p, f.len, &r, &err), ST_OK);
    while ((rc = ocf_next(r, &rec, &err)) == ST_OK)
        json_decref(rec);
    if (rc != ST_INVALID || !strstr(err.msg, msg))
        fail_msg("%s: status %d, message \"%s\", wanted \"%s\"", schema, rc, err.msg, msg);
    /* The failure is sticky. */
    assert_int_equal(ocf_next(r, &rec, &err), ST_INVALID);
    assert_null(rec);
    assert_int_equal(ocf_next(r, &rec, NULL), ST_INVALID);
    ocf_reader_free(r);
    free(f.p);
}

static void test_bad_values(void **state)
{
    struct wbuf b = {0};

    put(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10); /* overlong varint */
    bad_value("\"long\"", &b, 1, "out of range");
    b.len = 0;
    put(&b, "\x80\x80", 2);
    bad_value("\"long\"", &b, 1, "truncated");
    b.len = 0;
    put_long(&b, (int64_t)1 << 40);
    bad_value("\"int\"", &b, 1, "int out of range");
    b.len = 0;
    put_byte(&b, 2);
    bad_value("\"boolean\"", &b, 1, "boolean");
    b.len = 0;
    put_long(&b, 3);
    put_long(&b, 0);
    bad_value("[\"null\",\"long\"]", &b, 1, "union branch");
    b.len = 0;
    put_long(&b, -1);
    bad_value("[\"null\",\"long\"]", &b, 1, "union branch");
    b.len = 0;
    put_long(&b, 5);
    bad_value("{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[\"A\"]}", &b, 1, "enum index");
    b.len = 0;
    put_bytes(&b, "\xc3\x28", 2);
    bad_value("\"string\"", &b, 1, "UTF-8");
    b.len = 0;
    put_long(&b, 1);
    put_bytes(&b, "\xff", 1);
    put_long(&b, 0);
    put_long(&b, 0);
    bad_value("{\"type\":\"map\",\"values\":\"long\"}", &b, 1, "UTF-8");
    b.len = 0;
    put_long(&b, INT64_MAX / 2);
    put_byte(&b, 'x');
    bad_value("\"string\"", &b, 1, "length exceeds");
    b.len = 0;
    put_long(&b, (int64_t)1 << 60);
    put_long(&b, 1);
    bad_value("{\"type\":\"array\",\"items\":\"long\"}", &b, 1, "count exceeds");
    b.len = 0;
    put_long(&b, INT64_MIN);
    bad_value("{\"type\":\"array\",\"items\":\"long\"}", &b, 1, "out of range");
    b.len = 0;
    put_long(&b, 1);
    put(&b, "\x00\x00", 2);
    bad_value("[\"null\",\"float\"]", &b, 1, "truncated");
    b.len = 0;
    put_long(&b, 1);
    put_long(&b, 2);
    bad_value("\"long\"", &b, 1, "unread bytes");
    b.len = 0;
    put_long(&b, 1);
    bad_value("\"long\"", &b, (int64_t)1 << 62, "count exceeds");
    bad_value("\"null\"", &b, (int64_t)1 << 40, "count exceeds");
    b.len = 0;
    /* An array of two million nulls: zero bytes each, but over the per-record value cap. */
    put_long(&b, 2000000);
    put_long(&b, 0);
    bad_value("{\"type\":\"array\",\"items\":\"null\"}", &b, 1, "too many values");
    b.len = 0;
    /* A record that must contain itself can never end. */
    for (int i = 0; i < 100; i++)
        put_long(&b, 1);
    bad_value("{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"x\",\"type\":\"long\"},"
              "{\"name\":\"r\",\"type\":\"r\"}]}",
              &b, 1, "deeply");
    free(b.p);
}

static void test_zero_size_records(void **state)
{
    struct wbuf empty = {0};
    json_t *all;

    struct wbuf f = one_block("\"null\"", 5, &empty);
    assert_int_equal(read_all(f.p, f.len, &all, NULL), ST_OK);
    assert_int_equal(json_array_size(all), 5);
    assert_true(json_is_null(json_array_get(all, 4)));
    json_decref(all);
    free(f.p);
}

static void test_bad_sync_marker(void **state)
{
    struct wbuf body = {0}, f = {0};
    struct error err;
    json_t *all;

    header(&f, "\"long\"", NULL);
    put_long(&body, 42);
    block(&f, 1, &body);
    block(&f, 1, &body);
    f.p[f.len - 1] ^= 0xff; /* corrupt the second block's marker */
    assert_int_equal(read_all(f.p, f.len, &all, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "sync"));
    assert_int_equal(json_array_size(all), 1); /* the first block was fine */
    json_decref(all);

    /* A block size past the end, and a negative one. */
    f.len = 0;
    header(&f, "\"long\"", NULL);
    put_long(&f, 1);
    put_long(&f, 1000);
    put_long(&f, 42);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    f.len = 0;
    header(&f, "\"long\"", NULL);
    put_long(&f, 1);
    put_long(&f, -1);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    f.len = 0;
    header(&f, "\"long\"", NULL);
    put_long(&f, -1);
    put_long(&f, 1);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    free(body.p);
    free(f.p);
}

static struct wbuf raw_deflate(const void *in, size_t n)
{
    struct wbuf out = {0};
    z_stream zs;

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    out.cap = deflateBound(&zs, n);
    out.p = xmalloc(out.cap);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out.p;
    zs.avail_out = (uInt)out.cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.len = out.cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static void test_deflate_errors(void **state)
{
    struct wbuf body = {0}, f = {0};
    struct error err;
    json_t *all;

    /* A valid hand-deflated block first. */
    put_long(&body, 1234);
    struct wbuf z = raw_deflate(body.p, body.len);
    header(&f, "\"long\"", "deflate");
    block(&f, 1, &z);
    assert_int_equal(read_all(f.p, f.len, &all, NULL), ST_OK);
    expect_json(all, "[1234]");
    json_decref(all);

    /* Truncated and corrupt compressed data. */
    z.len--;
    f.len = 0;
    header(&f, "\"long\"", "deflate");
    block(&f, 1, &z);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "deflate"));
    f.len = 0;
    header(&f, "\"long\"", "deflate");
    block(&f, 1, &(struct wbuf){.p = (uint8_t *)"\xff\xff\xff\xff", .len = 4});
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    free(z.p);

    /* A bomb: 65 MiB of zeros compress to about 64 KiB but exceed the block cap. */
    size_t big = OCF_MAX_BLOCK + (1 << 20);
    uint8_t *zeros = xcalloc(big, 1);
    z = raw_deflate(zeros, big);
    free(zeros);
    f.len = 0;
    header(&f, "\"null\"", "deflate");
    block(&f, 1, &z);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "decompresses to more than"));
    free(z.p);
    free(body.p);
    free(f.p);
}

static void test_zstd_errors(void **state)
{
    struct wbuf body = {0}, f = {0}, z = {0};
    struct error err;
    json_t *all;

    put_long(&body, 99);
    put_long(&body, -99);
    z.cap = ZSTD_compressBound(body.len);
    z.p = xmalloc(z.cap);
    z.len = ZSTD_compress(z.p, z.cap, body.p, body.len, 3);
    assert_false(ZSTD_isError(z.len));
    /* Two frames back to back decode as one block. */
    struct wbuf two = {0};
    put(&two, z.p, z.len);
    put(&two, z.p, z.len);
    header(&f, "\"long\"", "zstandard");
    block(&f, 4, &two);
    assert_int_equal(read_all(f.p, f.len, &all, NULL), ST_OK);
    expect_json(all, "[99,-99,99,-99]");
    json_decref(all);

    z.len -= 2;
    f.len = 0;
    header(&f, "\"long\"", "zstandard");
    block(&f, 2, &z);
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "zstandard"));
    f.len = 0;
    header(&f, "\"long\"", "zstandard");
    block(&f, 1, &(struct wbuf){.p = (uint8_t *)"garbage!", .len = 8});
    assert_int_equal(read_all(f.p, f.len, NULL, &err), ST_INVALID);
    free(z.p);
    free(two.p);
    free(body.p);
    free(f.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_codec),         cmocka_unit_test(test_deflate_codec),
        cmocka_unit_test(test_zstandard_codec),    cmocka_unit_test(test_codecs_agree),
        cmocka_unit_test(test_empty_file),         cmocka_unit_test(test_truncated_files),
        cmocka_unit_test(test_bad_magic),          cmocka_unit_test(test_unsupported_codec),
        cmocka_unit_test(test_header_errors),      cmocka_unit_test(test_meta_values_are_bytes),
        cmocka_unit_test(test_bad_schemas),        cmocka_unit_test(test_schema_nesting_capped),
        cmocka_unit_test(test_names_and_wrappers), cmocka_unit_test(test_negative_array_blocks),
        cmocka_unit_test(test_bad_values),         cmocka_unit_test(test_zero_size_records),
        cmocka_unit_test(test_bad_sync_marker),    cmocka_unit_test(test_deflate_errors),
        cmocka_unit_test(test_zstd_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
