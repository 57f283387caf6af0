/*
 * test_table_meta.c - metadata serialisation and shape per format version,
 * parsing metadata files, refs-only views, file names and the metadata log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "iceberg/table_meta.h"

#define UUID1 "9c12d441-03fe-4693-9a96-a0705ddf69c1"

/* A v2 table with fields deliberately out of Java's order and one unknown field. */
static const char *v2_text =
    "{\"x-vendor\":{\"a\":1},\"snapshots\":[{\"snapshot-id\":100,\"timestamp-ms\":900,"
    "\"sequence-number\":1,\"manifest-list\":\"m1\",\"summary\":{\"operation\":\"append\"}},"
    "{\"snapshot-id\":101,\"parent-snapshot-id\":100,\"timestamp-ms\":950,\"sequence-number\":2,"
    "\"manifest-list\":\"m2\",\"summary\":{\"operation\":\"append\"}},"
    "{\"snapshot-id\":102,\"parent-snapshot-id\":101,\"timestamp-ms\":990,\"sequence-number\":3,"
    "\"manifest-list\":\"m3\",\"summary\":{\"operation\":\"append\"}}],"
    "\"format-version\":2,\"location\":\"s3://b/wh/t\",\"table-uuid\":\"" UUID1 "\","
    "\"last-updated-ms\":1000,\"last-sequence-number\":3,\"last-column-id\":1,"
    "\"schemas\":[{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"id\","
    "\"required\":true,\"type\":\"long\"}]}],\"current-schema-id\":0,"
    "\"partition-specs\":[{\"spec-id\":0,\"fields\":[]}],\"default-spec-id\":0,"
    "\"last-partition-id\":999,\"sort-orders\":[{\"order-id\":0,\"fields\":[]}],"
    "\"default-sort-order-id\":0,\"properties\":{\"k\":\"v\"},\"current-snapshot-id\":102,"
    "\"refs\":{\"main\":{\"snapshot-id\":102,\"type\":\"branch\"},"
    "\"t\":{\"snapshot-id\":100,\"type\":\"tag\"}},"
    "\"snapshot-log\":[{\"timestamp-ms\":990,\"snapshot-id\":102}],"
    "\"metadata-log\":[]}";

static const char *java_order_v2[] = {"format-version",
                                      "table-uuid",
                                      "location",
                                      "last-sequence-number",
                                      "last-updated-ms",
                                      "last-column-id",
                                      "current-schema-id",
                                      "schemas",
                                      "default-spec-id",
                                      "partition-specs",
                                      "last-partition-id",
                                      "default-sort-order-id",
                                      "sort-orders",
                                      "properties",
                                      "current-snapshot-id",
                                      "refs",
                                      "snapshots",
                                      "statistics",
                                      "partition-statistics",
                                      "snapshot-log",
                                      "metadata-log",
                                      "x-vendor",
                                      NULL};

static json_t *parse_text(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);

    if (!v)
        fail_msg("bad test JSON: %s", jerr.text);
    return v;
}

static void assert_key_order(const json_t *obj, const char *const *keys)
{
    void *it = json_object_iter((json_t *)obj);
    size_t i;

    for (i = 0; keys[i]; i++) {
        if (!it)
            fail_msg("missing key %s", keys[i]);
        if (strcmp(json_object_iter_key(it), keys[i]) != 0)
            fail_msg("key %zu is %s, expected %s", i, json_object_iter_key(it), keys[i]);
        it = json_object_iter_next((json_t *)obj, it);
    }
    assert_null(it);
}

static int64_t geti(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v))
        fail_msg("field %s is not an integer", key);
    return json_integer_value(v);
}

/* ---------------------------------------------------------------- accessors */

static void test_accessors(void **state)
{
    json_t *m = parse_text(v2_text), *empty = json_object();

    (void)state;
    assert_int_equal(meta_format_version(m), 2);
    assert_string_equal(meta_location(m), "s3://b/wh/t");
    assert_string_equal(meta_uuid(m), UUID1);
    assert_int_equal(meta_last_updated_ms(m), 1000);
    assert_string_equal(meta_property(m, "k"), "v");
    assert_null(meta_property(m, "nope"));
    assert_int_equal(meta_format_version(empty), META_DEFAULT_FORMAT_VERSION);
    assert_null(meta_location(empty));
    assert_null(meta_uuid(empty));
    assert_int_equal(meta_last_updated_ms(empty), 0);
    assert_null(meta_property(empty, "k"));
    json_decref(empty);
    json_decref(m);
}

/* ---------------------------------------------------------------- serialisation */

static void test_v2_java_order_and_extras(void **state)
{
    json_t *m = parse_text(v2_text), *c;
    char *text;

    (void)state;
    c = meta_canonical(m);
    assert_key_order(c, java_order_v2);
    assert_true(json_equal(json_object_get(c, "x-vendor"), json_object_get(m, "x-vendor")));
    /* empty lists are written, not left out */
    assert_int_equal(json_array_size(json_object_get(c, "statistics")), 0);
    text = meta_serialize(m);
    assert_non_null(strstr(text, "\"format-version\":2,\"table-uuid\":\"" UUID1 "\""));
    assert_non_null(strstr(text, "\"partition-statistics\":[]"));
    free(text);
    json_decref(c);
    json_decref(m);
}

static void test_v1_shape(void **state)
{
    json_t *m = parse_text(v2_text), *c;
    static const char *order[] = {"format-version",
                                  "table-uuid",
                                  "location",
                                  "last-updated-ms",
                                  "last-column-id",
                                  "schema",
                                  "current-schema-id",
                                  "schemas",
                                  "partition-spec",
                                  "default-spec-id",
                                  "partition-specs",
                                  "last-partition-id",
                                  "default-sort-order-id",
                                  "sort-orders",
                                  "properties",
                                  "current-snapshot-id",
                                  "refs",
                                  "snapshots",
                                  "statistics",
                                  "partition-statistics",
                                  "snapshot-log",
                                  "metadata-log",
                                  "x-vendor",
                                  NULL};

    (void)state;
    json_object_set_new(m, "format-version", json_integer(1));
    json_object_set_new(m, "next-row-id", json_integer(5)); /* v3-only: dropped */
    json_object_set_new(json_array_get(json_object_get(m, "partition-specs"), 0), "fields",
                        json_pack("[{s:s, s:s, s:i, s:i}]", "name", "id", "transform", "identity",
                                  "source-id", 1, "field-id", 1000));
    c = meta_canonical(m);
    assert_key_order(c, order);
    /* the deprecated fields hold the current schema and the default spec's fields */
    assert_true(
        json_equal(json_object_get(c, "schema"), json_array_get(json_object_get(m, "schemas"), 0)));
    assert_true(json_equal(
        json_object_get(c, "partition-spec"),
        json_object_get(json_array_get(json_object_get(m, "partition-specs"), 0), "fields")));
    json_decref(c);
    json_decref(m);
}

static void test_v3_shape_and_null_snapshot(void **state)
{
    json_t *m = parse_text(v2_text), *c;
    char *text;

    (void)state;
    json_object_set_new(m, "format-version", json_integer(3));
    json_object_set_new(m, "current-snapshot-id", json_integer(-1));
    json_object_set_new(m, "refs", json_object());
    json_object_set_new(m, "encryption-keys",
                        json_pack("[{s:s, s:s}]", "key-id", "k", "encrypted-key-metadata", "AA=="));
    c = meta_canonical(m);
    assert_true(json_is_null(json_object_get(c, "current-snapshot-id")));
    assert_int_equal(geti(c, "next-row-id"), 0);
    assert_non_null(json_object_get(c, "encryption-keys"));
    text = meta_serialize(m);
    assert_non_null(strstr(text, "\"current-snapshot-id\":null,\"next-row-id\":0,"
                                 "\"encryption-keys\":"));
    free(text);
    json_decref(c);
    /* v2 writes "no current snapshot" as -1, even if given null */
    json_object_set_new(m, "format-version", json_integer(2));
    json_object_set_new(m, "current-snapshot-id", json_null());
    json_object_set_new(m, "encryption-keys", json_array());
    c = meta_canonical(m);
    assert_int_equal(geti(c, "current-snapshot-id"), -1);
    assert_null(json_object_get(c, "next-row-id"));
    assert_null(json_object_get(c, "encryption-keys"));
    json_decref(c);
    json_decref(m);
}

/* ---------------------------------------------------------------- parsing */

static enum status parse_meta(const char *text, json_t **out, struct error *err)
{
    error_clear(err);
    return meta_parse(text, strlen(text), out, err);
}

static void test_parse_round_trip(void **state)
{
    json_t *m = parse_text(v2_text), *back = NULL, *c = meta_canonical(m);
    char *text = meta_serialize(m);
    struct error err;

    (void)state;
    assert_int_equal(parse_meta(text, &back, &err), ST_OK);
    assert_true(json_equal(back, c));
    assert_key_order(back, java_order_v2);
    free(text);
    json_decref(back);
    json_decref(c);
    json_decref(m);
}

static void test_parse_old_v1(void **state)
{
    const char *text =
        "{\"format-version\":1,\"location\":\"s3://b/old\",\"last-updated-ms\":10,"
        "\"last-column-id\":2,\"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":1,"
        "\"name\":\"a\",\"required\":true,\"type\":\"int\"},{\"id\":2,\"name\":\"b\","
        "\"required\":false,\"type\":\"string\"}]},\"partition-spec\":[{\"name\":\"a\","
        "\"transform\":\"identity\",\"source-id\":1},{\"name\":\"b\",\"transform\":\"identity\","
        "\"source-id\":2}],\"current-snapshot-id\":5,\"snapshots\":[{\"snapshot-id\":5,"
        "\"timestamp-ms\":9,\"manifests\":[\"m.avro\"]}]}";
    json_t *m = NULL, *specs, *fields, *main_ref;
    struct error err;

    (void)state;
    json_t *again = NULL;

    assert_int_equal(parse_meta(text, &m, &err), ST_OK);
    /* No UUID is invented: the same file reads the same every time. */
    assert_null(meta_uuid(m));
    assert_int_equal(parse_meta(text, &again, &err), ST_OK);
    assert_true(json_equal(m, again));
    json_decref(again);
    assert_int_equal(json_array_size(json_object_get(m, "schemas")), 1);
    assert_int_equal(geti(m, "current-schema-id"), 0);
    specs = json_object_get(m, "partition-specs");
    assert_int_equal(json_array_size(specs), 1);
    fields = json_object_get(json_array_get(specs, 0), "fields");
    assert_int_equal(geti(json_array_get(fields, 1), "field-id"), 1001);
    assert_int_equal(geti(m, "default-spec-id"), 0);
    assert_int_equal(geti(m, "last-partition-id"), 1001);
    assert_int_equal(geti(m, "default-sort-order-id"), 0);
    assert_int_equal(json_array_size(json_object_get(m, "sort-orders")), 1);
    main_ref = json_object_get(json_object_get(m, "refs"), "main");
    assert_int_equal(geti(main_ref, "snapshot-id"), 5);
    assert_null(json_object_get(m, "last-sequence-number"));
    assert_non_null(json_object_get(m, "schema"));
    json_decref(m);
}

static void expect_parse_error(const char *text, const char *part)
{
    json_t *m = NULL;
    struct error err;

    assert_int_equal(parse_meta(text, &m, &err), ST_INVALID);
    assert_null(m);
    assert_int_equal(error_http_code(&err), 400);
    if (!strstr(err.msg, part))
        fail_msg("message '%s' lacks '%s'", err.msg, part);
}

static void test_parse_errors(void **state)
{
    json_t *m = parse_text(v2_text);
    char *text;

    (void)state;
    expect_parse_error("{\"format-version\":", "Invalid table metadata");
    expect_parse_error("[1,2]", "non-object");
    expect_parse_error("{\"format-version\":4,\"location\":\"x\"}", "unsupported version 4");
    expect_parse_error("{\"format-version\":\"2\"}", "format-version");
    expect_parse_error("{\"format-version\":2,\"location\":\"x\",\"table-uuid\":\"" UUID1 "\","
                       "\"last-updated-ms\":1,\"last-column-id\":1,\"last-sequence-number\":0}",
                       "schemas must exist in format v2");
    expect_parse_error("{\"format-version\":2,\"location\":\"x\",\"last-updated-ms\":1,"
                       "\"last-column-id\":1}",
                       "UUID is required in format v2");
    json_object_set_new(m, "current-schema-id", json_integer(4));
    text = meta_serialize(m);
    expect_parse_error(text, "Cannot find schema with current-schema-id=4");
    free(text);
    json_object_set_new(m, "current-schema-id", json_integer(0));
    json_object_set_new(m, "current-snapshot-id", json_integer(77));
    json_object_set_new(m, "refs", json_object());
    text = meta_serialize(m);
    expect_parse_error(text, "Cannot find current version");
    free(text);
    json_object_set_new(m, "current-snapshot-id", json_integer(102));
    json_object_set_new(m, "refs",
                        json_pack("{s:{s:i, s:s}}", "x", "snapshot-id", 8, "type", "branch"));
    text = meta_serialize(m);
    expect_parse_error(text, "Snapshot for reference x does not exist");
    free(text);
    json_decref(m);
}

static void test_parse_v3_requires_next_row_id(void **state)
{
    json_t *m = parse_text(v2_text);
    char *text;

    (void)state;
    json_object_set_new(m, "format-version", json_integer(3));
    text = json_dumps(m, 0);
    expect_parse_error(text, "next-row-id");
    free(text);
    json_decref(m);
}

static void test_parse_keeps_64_bit_ids(void **state)
{
    const char *text =
        "{\"format-version\":2,\"table-uuid\":\"" UUID1 "\",\"location\":\"s3://b/t\","
        "\"last-sequence-number\":1,\"last-updated-ms\":1,\"last-column-id\":0,"
        "\"current-schema-id\":0,\"schemas\":[{\"type\":\"struct\",\"schema-id\":0,"
        "\"fields\":[]}],\"default-spec-id\":0,\"partition-specs\":[{\"spec-id\":0,"
        "\"fields\":[]}],\"last-partition-id\":999,\"default-sort-order-id\":0,"
        "\"sort-orders\":[{\"order-id\":0,\"fields\":[]}],"
        "\"current-snapshot-id\":9223372036854775807,\"snapshots\":[{\"snapshot-id\":"
        "9223372036854775807,\"timestamp-ms\":1,\"sequence-number\":1,\"manifest-list\":\"m\"}]}";
    json_t *m = NULL;
    struct error err;
    char *out;

    (void)state;
    assert_int_equal(parse_meta(text, &m, &err), ST_OK);
    assert_int_equal(geti(m, "current-snapshot-id"), INT64_MAX);
    assert_int_equal(geti(json_object_get(json_object_get(m, "refs"), "main"), "snapshot-id"),
                     INT64_MAX);
    out = meta_serialize(m);
    assert_non_null(strstr(out, "\"snapshot-id\":9223372036854775807"));
    free(out);
    json_decref(m);
}

/* ---------------------------------------------------------------- refs only */

static void test_refs_only(void **state)
{
    json_t *m = parse_text(v2_text), *r;
    json_t *snaps;

    (void)state;
    r = meta_refs_only(m);
    snaps = json_object_get(r, "snapshots");
    assert_int_equal(json_array_size(snaps), 2); /* 102 (main) and 100 (tag t); not 101 */
    assert_int_equal(geti(json_array_get(snaps, 0), "snapshot-id"), 100);
    assert_int_equal(geti(json_array_get(snaps, 1), "snapshot-id"), 102);
    assert_int_equal(json_array_size(json_object_get(m, "snapshots")), 3); /* input untouched */
    json_decref(r);
    json_decref(m);
}

/* ---------------------------------------------------------------- locations */

/* Checks that loc is prefix + 5 digits "-" uuid + suffix. */
static void assert_location(const char *loc, const char *prefix, const char *num,
                            const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix), n = strlen(loc);
    char uuid[IDS_UUID_LEN + 1];

    if (n != pl + 6 + IDS_UUID_LEN + sl || strncmp(loc, prefix, pl) != 0 ||
        strncmp(loc + pl, num, 5) != 0 || loc[pl + 5] != '-' || strcmp(loc + n - sl, suffix) != 0)
        fail_msg("unexpected location %s", loc);
    memcpy(uuid, loc + pl + 6, IDS_UUID_LEN);
    uuid[IDS_UUID_LEN] = '\0';
    assert_true(ids_is_uuid(uuid));
}

static void test_new_location_numbering(void **state)
{
    json_t *m = parse_text(v2_text);
    char *a, *b;

    (void)state;
    a = meta_new_location(m, NULL);
    assert_location(a, "s3://b/wh/t/metadata/", "00000", ".metadata.json");
    b = meta_new_location(m, "s3://b/wh/t/metadata/00003-" UUID1 ".metadata.json");
    assert_location(b, "s3://b/wh/t/metadata/", "00004", ".metadata.json");
    free(b);
    b = meta_new_location(m, "s3://b/wh/t/metadata/123456-x.metadata.json");
    assert_int_equal(strncmp(b, "s3://b/wh/t/metadata/123457-", 28), 0);
    free(b);
    /* Unparseable names (e.g. v3.metadata.json from Hadoop tables) start again at 0. */
    b = meta_new_location(m, "s3://b/wh/t/metadata/v3.metadata.json");
    assert_location(b, "s3://b/wh/t/metadata/", "00000", ".metadata.json");
    free(b);
    b = meta_new_location(m, "s3://b/wh/t/metadata/abc-x.metadata.json");
    assert_location(b, "s3://b/wh/t/metadata/", "00000", ".metadata.json");
    free(b);
    b = meta_new_location(m, "s3://b/wh/t/metadata/99999999999-x.metadata.json");
    assert_location(b, "s3://b/wh/t/metadata/", "00000", ".metadata.json");
    free(b);
    /* two calls never give the same name */
    b = meta_new_location(m, NULL);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    json_decref(m);
}

static void test_new_location_path_and_codec(void **state)
{
    json_t *m = parse_text(v2_text), *props = json_object_get(m, "properties");
    char *a;

    (void)state;
    json_object_set_new(props, "write.metadata.compression-codec", json_string("gzip"));
    a = meta_new_location(m, "00001-x.metadata.json");
    assert_location(a, "s3://b/wh/t/metadata/", "00002", ".gz.metadata.json");
    free(a);
    json_object_set_new(props, "write.metadata.compression-codec", json_string("none"));
    json_object_set_new(props, "write.metadata.path", json_string("s3://other/meta/"));
    a = meta_new_location(m, NULL);
    assert_location(a, "s3://other/meta/", "00000", ".metadata.json");
    free(a);
    json_decref(m);
}

/* ---------------------------------------------------------------- metadata log */

/* A table whose metadata-log holds n entries f0..f(n-1), with the given properties. */
static json_t *with_log(int n, const char *max, const char *del)
{
    json_t *m = parse_text(v2_text), *log = json_array();
    char name[32];

    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        json_array_append_new(log,
                              json_pack("{s:i, s:s}", "timestamp-ms", i, "metadata-file", name));
    }
    json_object_set_new(m, "metadata-log", log);
    if (max)
        json_object_set_new(json_object_get(m, "properties"),
                            "write.metadata.previous-versions-max", json_string(max));
    if (del)
        json_object_set_new(json_object_get(m, "properties"),
                            "write.metadata.delete-after-commit.enabled", json_string(del));
    return m;
}

static const char *log_file(const json_t *m, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(m, "metadata-log"), i), "metadata-file"));
}

static void test_finish_commit_appends(void **state)
{
    json_t *prev = with_log(2, NULL, NULL), *next = json_deep_copy(prev), *del = NULL;
    json_t *entry;
    struct error err;

    (void)state;
    json_object_set_new(next, "last-updated-ms", json_integer(2000));
    assert_int_equal(
        meta_finish_commit(next, prev, "s3://b/wh/t/metadata/00002-a.metadata.json", &del, &err),
        ST_OK);
    assert_int_equal(json_array_size(json_object_get(next, "metadata-log")), 3);
    entry = json_array_get(json_object_get(next, "metadata-log"), 2);
    assert_string_equal(log_file(next, 2), "s3://b/wh/t/metadata/00002-a.metadata.json");
    assert_int_equal(geti(entry, "timestamp-ms"), 1000); /* the previous file's time */
    assert_int_equal(json_array_size(del), 0);           /* deletion is off by default */
    json_decref(del);
    json_decref(next);
    /* A new table has no previous file. */
    next = json_deep_copy(prev);
    assert_int_equal(meta_finish_commit(next, NULL, NULL, NULL, &err), ST_OK);
    assert_int_equal(json_array_size(json_object_get(next, "metadata-log")), 2);
    json_decref(next);
    json_decref(prev);
}

static void test_finish_commit_trims_and_deletes(void **state)
{
    json_t *prev = with_log(5, "3", "true"), *next = json_deep_copy(prev), *del = NULL;
    struct error err;

    (void)state;
    assert_int_equal(meta_finish_commit(next, prev, "cur", &del, &err), ST_OK);
    assert_int_equal(json_array_size(json_object_get(next, "metadata-log")), 3);
    assert_string_equal(log_file(next, 0), "f3");
    assert_string_equal(log_file(next, 1), "f4");
    assert_string_equal(log_file(next, 2), "cur");
    assert_int_equal(json_array_size(del), 3);
    assert_string_equal(json_string_value(json_array_get(del, 0)), "f0");
    assert_string_equal(json_string_value(json_array_get(del, 2)), "f2");
    json_decref(del);
    json_decref(next);
    json_decref(prev);
}

static void test_finish_commit_minimum_one(void **state)
{
    json_t *prev = with_log(2, "0", "TRUE"), *next = json_deep_copy(prev), *del = NULL;
    struct error err;

    (void)state;
    assert_int_equal(meta_finish_commit(next, prev, "cur", &del, &err), ST_OK);
    assert_int_equal(json_array_size(json_object_get(next, "metadata-log")), 1);
    assert_string_equal(log_file(next, 0), "cur");
    assert_int_equal(json_array_size(del), 2);
    json_decref(del);
    json_decref(next);
    json_decref(prev);
    /* A value that is not a number falls back to the default of 100 and deletes nothing. */
    prev = with_log(4, "many", "false");
    next = json_deep_copy(prev);
    assert_int_equal(meta_finish_commit(next, prev, "cur", &del, &err), ST_OK);
    assert_int_equal(json_array_size(json_object_get(next, "metadata-log")), 5);
    assert_int_equal(json_array_size(del), 0);
    json_decref(del);
    json_decref(next);
    json_decref(prev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_v2_java_order_and_extras),
        cmocka_unit_test(test_v1_shape),
        cmocka_unit_test(test_v3_shape_and_null_snapshot),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_parse_old_v1),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_v3_requires_next_row_id),
        cmocka_unit_test(test_parse_keeps_64_bit_ids),
        cmocka_unit_test(test_refs_only),
        cmocka_unit_test(test_new_location_numbering),
        cmocka_unit_test(test_new_location_path_and_codec),
        cmocka_unit_test(test_finish_commit_appends),
        cmocka_unit_test(test_finish_commit_trims_and_deletes),
        cmocka_unit_test(test_finish_commit_minimum_one),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
