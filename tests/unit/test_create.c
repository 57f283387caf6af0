/* test_create.c - metadata of new tables (iceberg/create.c, meta_new_table). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/table_meta.h"

#define LOC "s3://bucket/wh/ns/t"
#define UUID "9c12d441-03fe-4693-9a96-a0705ddf69c1"
#define NOW 1725000000123LL

static json_t *J(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

    if (!v)
        fail_msg("bad test JSON (%s): %s", jerr.text, text);
    return v;
}

/* at follows "key/0/key" paths through objects and arrays; NULL when a step is missing. */
static json_t *at(json_t *v, const char *path)
{
    char buf[256], *save = NULL, *step;

    snprintf(buf, sizeof(buf), "%s", path);
    for (step = strtok_r(buf, "/", &save); step && v; step = strtok_r(NULL, "/", &save)) {
        if (json_is_array(v))
            v = json_array_get(v, strtoul(step, NULL, 10));
        else
            v = json_object_get(v, step);
    }
    return v;
}

static long long int_at(json_t *v, const char *path)
{
    json_t *x = at(v, path);

    if (!json_is_integer(x))
        fail_msg("no integer at %s", path);
    return json_integer_value(x);
}

static const char *str_at(json_t *v, const char *path)
{
    json_t *x = at(v, path);

    if (!json_is_string(x))
        fail_msg("no string at %s", path);
    return json_string_value(x);
}

/* A request schema whose ids are not the fresh ones. */
#define SCHEMA                                                                                     \
    "{\"type\":\"struct\",\"schema-id\":3,\"identifier-field-ids\":[10],\"fields\":["              \
    "{\"id\":10,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"                             \
    "{\"id\":20,\"name\":\"ts\",\"required\":false,\"type\":\"timestamptz\"},"                     \
    "{\"id\":30,\"name\":\"data\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["   \
    "  {\"id\":31,\"name\":\"category\",\"required\":false,\"type\":\"string\"},"                  \
    "  {\"id\":32,\"name\":\"flag\",\"required\":false,\"type\":\"boolean\"}]}},"                  \
    "{\"id\":40,\"name\":\"d\",\"required\":false,\"type\":\"date\"}]}"

/* create runs meta_new_table on request text; returns its status and the metadata in *out. */
static enum status create(const char *request, json_t **out, struct error *err)
{
    json_t *req = J(request);
    enum status rc;

    *out = NULL;
    rc = meta_new_table(req, LOC, UUID, NOW, out, err);
    json_decref(req);
    if (rc)
        assert_null(*out);
    return rc;
}

static void expect_error(enum status rc, const struct error *err, enum errtype type,
                         const char *needle)
{
    if (rc != ST_INVALID || err->type != type || !strstr(err->msg, needle))
        fail_msg("expected status %d type %d \"%s\", got %d type %d \"%s\"", ST_INVALID, type,
                 needle, rc, err->type, err->msg);
}

static void test_fresh_ids_and_java_shape(void **state)
{
    json_t *out = NULL, *want;
    struct error err = {0};
    const char *key;
    json_t *v;
    size_t i = 0;
    static const char *order[] = {
        "format-version",
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
    };

    (void)state;
    /* The example from rest-spec.md: ids 3 and 4 come back as 1 and 2. */
    assert_int_equal(create("{\"name\":\"t\",\"location\":\"s3://elsewhere\",\"schema\":"
                            "{\"type\":\"struct\",\"schema-id\":5,\"fields\":["
                            "{\"id\":3,\"name\":\"x\",\"required\":true,\"type\":\"long\"},"
                            "{\"id\":4,\"name\":\"y\",\"required\":false,\"type\":\"string\","
                            "\"doc\":\"a doc\"}]},\"properties\":{\"owner\":\"me\"}}",
                            &out, &err),
                     ST_OK);
    want = J("{\"format-version\":2,\"table-uuid\":\"" UUID "\",\"location\":\"" LOC "\","
             "\"last-sequence-number\":0,\"last-updated-ms\":1725000000123,\"last-column-id\":2,"
             "\"current-schema-id\":0,\"schemas\":[{\"type\":\"struct\",\"schema-id\":0,"
             "\"fields\":[{\"id\":1,\"name\":\"x\",\"required\":true,\"type\":\"long\"},"
             "{\"id\":2,\"name\":\"y\",\"required\":false,\"type\":\"string\","
             "\"doc\":\"a doc\"}]}],"
             "\"default-spec-id\":0,\"partition-specs\":[{\"spec-id\":0,\"fields\":[]}],"
             "\"last-partition-id\":999,\"default-sort-order-id\":0,"
             "\"sort-orders\":[{\"order-id\":0,\"fields\":[]}],"
             "\"properties\":{\"owner\":\"me\"},\"current-snapshot-id\":-1,\"refs\":{},"
             "\"snapshots\":[],\"statistics\":[],\"partition-statistics\":[],"
             "\"snapshot-log\":[],\"metadata-log\":[]}");
    if (!json_equal(out, want))
        fail_msg("metadata: %s", json_dumps(out, JSON_COMPACT));
    /* Java's field order (rest-spec.md section 9). */
    json_object_foreach(out, key, v)
    {
        assert_true(i < sizeof(order) / sizeof(order[0]));
        assert_string_equal(key, order[i]);
        i++;
    }
    assert_int_equal(i, sizeof(order) / sizeof(order[0]));
    json_decref(want);
    json_decref(out);
}

static void test_format_versions(void **state)
{
    json_t *out = NULL;
    struct error err = {0};

    (void)state;
    assert_int_equal(create("{\"name\":\"t\",\"schema\":" SCHEMA ",\"properties\":"
                            "{\"format-version\":\"1\"}}",
                            &out, &err),
                     ST_OK);
    assert_int_equal(int_at(out, "format-version"), 1);
    assert_null(at(out, "last-sequence-number"));
    assert_null(at(out, "next-row-id"));
    assert_int_equal(int_at(out, "current-snapshot-id"), -1);
    assert_null(at(out, "properties/format-version"));
    assert_int_equal(json_object_size(at(out, "properties")), 0);
    /* v1 legacy fields are meta_serialize's business, not part of the tree. */
    assert_null(at(out, "schema"));
    assert_null(at(out, "partition-spec"));
    json_decref(out);

    assert_int_equal(create("{\"name\":\"t\",\"schema\":" SCHEMA ",\"properties\":"
                            "{\"format-version\":\"3\"}}",
                            &out, &err),
                     ST_OK);
    assert_int_equal(int_at(out, "format-version"), 3);
    assert_int_equal(int_at(out, "last-sequence-number"), 0);
    assert_int_equal(int_at(out, "next-row-id"), 0);
    assert_true(json_is_null(at(out, "current-snapshot-id")));
    assert_null(at(out, "properties/format-version"));
    json_decref(out);

    /* No properties at all: format 2. */
    assert_int_equal(create("{\"name\":\"t\",\"schema\":" SCHEMA "}", &out, &err), ST_OK);
    assert_int_equal(int_at(out, "format-version"), 2);
    assert_int_equal(int_at(out, "current-snapshot-id"), -1);
    assert_null(at(out, "next-row-id"));
    json_decref(out);
}

static void test_invalid_format_versions(void **state)
{
    static const char *bad[] = {"4", "0", "-1", "abc", "", "2.0", " 2", "99999999999"};
    struct error err = {0};
    char buf[2048], needle[64];
    json_t *out;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf),
                 "{\"name\":\"t\",\"schema\":" SCHEMA
                 ",\"properties\":{\"format-version\":\"%s\"}}",
                 bad[i]);
        snprintf(needle, sizeof(needle), "Unsupported format version: %s", bad[i]);
        expect_error(create(buf, &out, &err), &err, ET_ILLEGAL_ARGUMENT, needle);
    }
    expect_error(create("{\"name\":\"t\",\"schema\":" SCHEMA ",\"properties\":"
                        "{\"format-version\":2}}",
                        &out, &err),
                 &err, ET_BAD_REQUEST, "'properties' must be an object of strings");
}

static void test_reserved_properties_dropped(void **state)
{
    json_t *out = NULL, *props;
    struct error err = {0};

    (void)state;
    assert_int_equal(create("{\"name\":\"t\",\"schema\":" SCHEMA ",\"properties\":{"
                            "\"format-version\":\"2\",\"uuid\":\"u\",\"snapshot-count\":\"1\","
                            "\"current-snapshot-id\":\"1\",\"current-snapshot-summary\":\"s\","
                            "\"current-snapshot-timestamp-ms\":\"1\",\"current-schema\":\"x\","
                            "\"default-partition-spec\":\"x\",\"default-sort-order\":\"x\","
                            "\"write.format.default\":\"parquet\",\"table-default.a\":\"1\","
                            "\"comment\":\"\"}}",
                            &out, &err),
                     ST_OK);
    props = at(out, "properties");
    assert_int_equal(json_object_size(props), 3);
    assert_string_equal(str_at(props, "write.format.default"), "parquet");
    assert_string_equal(str_at(props, "table-default.a"), "1");
    assert_string_equal(str_at(props, "comment"), "");
    json_decref(out);
}

static void test_identifier_fields_remapped(void **state)
{
    json_t *out = NULL;
    struct error err = {0};

    (void)state;
    assert_int_equal(create("{\"name\":\"t\",\"schema\":" SCHEMA "}", &out, &err), ST_OK);
    /* id 10 -> 1; data(30) -> 3, then category(31) -> 5, flag -> 6 after d(40) -> 4. */
    assert_int_equal(int_at(out, "last-column-id"), 6);
    assert_int_equal(json_array_size(at(out, "schemas/0/identifier-field-ids")), 1);
    assert_int_equal(int_at(out, "schemas/0/identifier-field-ids/0"), 1);
    assert_int_equal(int_at(out, "schemas/0/schema-id"), 0);
    assert_int_equal(int_at(out, "schemas/0/fields/3/id"), 4);
    assert_string_equal(str_at(out, "schemas/0/fields/3/name"), "d");
    assert_int_equal(int_at(out, "schemas/0/fields/2/type/fields/0/id"), 5);
    assert_int_equal(int_at(out, "schemas/0/fields/2/type/fields/1/id"), 6);
    json_decref(out);
}

static void test_partition_spec_remapped(void **state)
{
    json_t *out = NULL, *want;
    struct error err = {0};

    (void)state;
    assert_int_equal(create("{\"name\":\"t\",\"schema\":" SCHEMA ",\"partition-spec\":{"
                            "\"spec-id\":7,\"fields\":["
                            "{\"name\":\"id_bucket\",\"transform\":\"bucket[16]\","
                            "\"source-id\":10},"
                            "{\"name\":\"ts_day\",\"transform\":\"DAY\",\"source-id\":20,"
                            "\"field-id\":5000},"
                            "{\"name\":\"category\",\"transform\":\"identity\","
                            "\"source-id\":31,\"field-id\":1000}]}}",
                            &out, &err),
                     ST_OK);
    want = J("{\"spec-id\":0,\"fields\":["
             "{\"name\":\"id_bucket\",\"transform\":\"bucket[16]\",\"source-id\":1,"
             "\"field-id\":1000},"
             "{\"name\":\"ts_day\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1001},"
             "{\"name\":\"category\",\"transform\":\"identity\",\"source-id\":5,"
             "\"field-id\":1002}]}");
    if (!json_equal(at(out, "partition-specs/0"), want))
        fail_msg("spec: %s", json_dumps(at(out, "partition-specs/0"), JSON_COMPACT));
    assert_int_equal(json_array_size(at(out, "partition-specs")), 1);
    assert_int_equal(int_at(out, "last-partition-id"), 1002);
    assert_int_equal(int_at(out, "default-spec-id"), 0);
    json_decref(want);
    json_decref(out);

    /* A v1 table gets the same sequential ids, which v1 requires. */
    assert_int_equal(create("{\"name\":\"t\",\"schema\":" SCHEMA ",\"properties\":"
                            "{\"format-version\":\"1\"},\"partition-spec\":{\"fields\":["
                            "{\"name\":\"d_year\",\"transform\":\"year\",\"source-id\":40,"
                            "\"field-id\":1}]}}",
                            &out, &err),
                     ST_OK);
    assert_int_equal(int_at(out, "partition-specs/0/fields/0/field-id"), 1000);
    assert_int_equal(int_at(out, "partition-specs/0/fields/0/source-id"), 4);
    assert_int_equal(int_at(out, "last-partition-id"), 1000);
    json_decref(out);
}

static void test_bad_partition_specs(void **state)
{
    static const struct {
        const char *spec;
        enum errtype type;
        const char *needle;
    } cases[] = {
        {"{\"fields\":[{\"name\":\"f\",\"transform\":\"bucket[16]\",\"source-id\":32}]}",
         ET_VALIDATION, "Invalid source type boolean for transform: bucket[16]"},
        {"{\"fields\":[{\"name\":\"h\",\"transform\":\"hour\",\"source-id\":40}]}", ET_VALIDATION,
         "Invalid source type date for transform: hour"},
        {"{\"fields\":[{\"name\":\"x\",\"transform\":\"identity\",\"source-id\":99}]}",
         ET_VALIDATION, "Cannot find source column for partition field: x: identity(99)"},
        {"{\"fields\":[{\"name\":\"x\",\"transform\":\"identity\",\"source-id\":30}]}",
         ET_VALIDATION, "Cannot partition by non-primitive source field"},
        {"{\"fields\":[{\"name\":\"x\",\"transform\":\"bucket[0]\",\"source-id\":10}]}",
         ET_ILLEGAL_ARGUMENT, "Invalid number of buckets: 0"},
        {"{\"fields\":[{\"name\":\"x\",\"transform\":\"identity\",\"source-id\":10},"
         "{\"name\":\"x\",\"transform\":\"day\",\"source-id\":20}]}",
         ET_ILLEGAL_ARGUMENT, "Cannot use partition name more than once: x"},
        {"{\"fields\":[{\"name\":\"x\",\"transform\":\"identity\"}]}", ET_BAD_REQUEST,
         "missing field 'source-id'"},
        {"{\"fields\":[{\"name\":\"x\",\"transform\":\"identity\",\"source-id\":\"10\"}]}",
         ET_BAD_REQUEST, "'source-id' must be an integer"},
        {"{\"fields\":[{\"transform\":\"identity\",\"source-id\":10}]}", ET_BAD_REQUEST,
         "missing field 'name'"},
        {"{\"fields\":[\"id\"]}", ET_BAD_REQUEST, "not an object"},
        {"{\"fields\":{}}", ET_BAD_REQUEST, "'fields' must be an array"},
        {"{}", ET_BAD_REQUEST, "missing field 'fields'"},
        {"[]", ET_BAD_REQUEST, "'partition-spec' must be an object"},
    };
    struct error err = {0};
    char buf[4096];
    json_t *out;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(buf, sizeof(buf), "{\"name\":\"t\",\"schema\":" SCHEMA ",\"partition-spec\":%s}",
                 cases[i].spec);
        expect_error(create(buf, &out, &err), &err, cases[i].type, cases[i].needle);
    }
}

static void test_sort_orders(void **state)
{
    json_t *out = NULL, *want;
    struct error err = {0};

    (void)state;
    assert_int_equal(create("{\"name\":\"t\",\"schema\":" SCHEMA ",\"write-order\":{"
                            "\"order-id\":5,\"fields\":["
                            "{\"transform\":\"identity\",\"source-id\":31,\"direction\":\"DESC\","
                            "\"null-order\":\"nulls-last\"},"
                            "{\"transform\":\"bucket[4]\",\"source-id\":10,\"direction\":\"asc\","
                            "\"null-order\":\"nulls-first\"}]}}",
                            &out, &err),
                     ST_OK);
    want = J("[{\"order-id\":1,\"fields\":["
             "{\"transform\":\"identity\",\"source-id\":5,\"direction\":\"desc\","
             "\"null-order\":\"nulls-last\"},"
             "{\"transform\":\"bucket[4]\",\"source-id\":1,\"direction\":\"asc\","
             "\"null-order\":\"nulls-first\"}]}]");
    if (!json_equal(at(out, "sort-orders"), want))
        fail_msg("orders: %s", json_dumps(at(out, "sort-orders"), JSON_COMPACT));
    assert_int_equal(int_at(out, "default-sort-order-id"), 1);
    json_decref(want);
    json_decref(out);

    assert_int_equal(create("{\"name\":\"t\",\"schema\":" SCHEMA ",\"write-order\":{"
                            "\"order-id\":0,\"fields\":[]}}",
                            &out, &err),
                     ST_OK);
    assert_int_equal(int_at(out, "default-sort-order-id"), 0);
    assert_int_equal(json_array_size(at(out, "sort-orders")), 1);
    assert_int_equal(int_at(out, "sort-orders/0/order-id"), 0);
    assert_int_equal(json_array_size(at(out, "sort-orders/0/fields")), 0);
    json_decref(out);

    assert_int_equal(
        create("{\"name\":\"t\",\"schema\":" SCHEMA ",\"write-order\":null}", &out, &err), ST_OK);
    assert_int_equal(int_at(out, "default-sort-order-id"), 0);
    json_decref(out);
}

static void test_bad_sort_orders(void **state)
{
    static const struct {
        const char *order;
        enum errtype type;
        const char *needle;
    } cases[] = {
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":99,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}",
         ET_VALIDATION, "Cannot find source column for sort field"},
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":10,"
         "\"direction\":\"sideways\",\"null-order\":\"nulls-first\"}]}",
         ET_ILLEGAL_ARGUMENT, "Invalid sort direction: sideways"},
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"hour\",\"source-id\":40,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}",
         ET_VALIDATION, "Invalid source type date for transform: hour"},
        {"{\"order-id\":0,\"fields\":[{\"transform\":\"identity\",\"source-id\":10,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}",
         ET_ILLEGAL_ARGUMENT, "Sort order ID 0 is reserved"},
        {"\"id\"", ET_BAD_REQUEST, "'write-order' must be an object"},
    };
    struct error err = {0};
    char buf[4096];
    json_t *out;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(buf, sizeof(buf), "{\"name\":\"t\",\"schema\":" SCHEMA ",\"write-order\":%s}",
                 cases[i].order);
        expect_error(create(buf, &out, &err), &err, cases[i].type, cases[i].needle);
    }
}

static void test_bad_requests(void **state)
{
    static const struct {
        const char *request;
        enum errtype type;
        const char *needle;
    } cases[] = {
        {"[]", ET_BAD_REQUEST, "not an object"},
        {"{\"schema\":" SCHEMA "}", ET_BAD_REQUEST, "missing field 'name'"},
        {"{\"name\":\"\",\"schema\":" SCHEMA "}", ET_BAD_REQUEST, "Invalid table name"},
        {"{\"name\":5,\"schema\":" SCHEMA "}", ET_BAD_REQUEST, "'name' must be a string"},
        {"{\"name\":\"t\"}", ET_BAD_REQUEST, "missing field 'schema'"},
        {"{\"name\":\"t\",\"schema\":null}", ET_BAD_REQUEST, "missing field 'schema'"},
        {"{\"name\":\"t\",\"schema\":[]}", ET_BAD_REQUEST, "'schema' must be an object"},
        {"{\"name\":\"t\",\"schema\":{\"type\":\"struct\",\"fields\":{}}}", ET_BAD_REQUEST,
         "Invalid schema: field 'fields' must be an array"},
        {"{\"name\":\"t\",\"schema\":" SCHEMA ",\"properties\":[]}", ET_BAD_REQUEST,
         "'properties' must be an object of strings"},
        {"{\"name\":\"t\",\"schema\":" SCHEMA ",\"properties\":{\"a\":null}}", ET_BAD_REQUEST,
         "'properties' must be an object of strings"},
        {"{\"name\":\"t\",\"schema\":" SCHEMA ",\"location\":7}", ET_BAD_REQUEST,
         "'location' must be a string"},
        {"{\"name\":\"t\",\"schema\":" SCHEMA ",\"stage-create\":\"yes\"}", ET_BAD_REQUEST,
         "'stage-create' must be a boolean"},
        {"{\"name\":\"t\",\"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"v\","
         "\"required\":false,\"type\":\"variant\"}]}}",
         ET_VALIDATION, "Invalid type for v: variant is not supported until v3"},
        {"{\"name\":\"t\",\"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"v\","
         "\"required\":false,\"type\":\"timestamp_ns\"}]},\"properties\":"
         "{\"format-version\":\"1\"}}",
         ET_VALIDATION, "timestamp_ns is not supported until v3"},
        {"{\"name\":\"t\",\"schema\":{\"type\":\"struct\",\"identifier-field-ids\":[2],"
         "\"fields\":[{\"id\":2,\"name\":\"v\",\"required\":false,\"type\":\"int\"}]}}",
         ET_ILLEGAL_ARGUMENT, "not a required field"},
    };
    struct error err = {0};
    json_t *out;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(create(cases[i].request, &out, &err), &err, cases[i].type, cases[i].needle);
}

static void test_v3_features_on_v3(void **state)
{
    json_t *out = NULL;
    struct error err = {0};

    (void)state;
    assert_int_equal(create("{\"name\":\"t\",\"properties\":{\"format-version\":\"3\"},"
                            "\"schema\":{\"type\":\"struct\",\"fields\":["
                            "{\"id\":8,\"name\":\"v\",\"required\":false,\"type\":\"variant\"},"
                            "{\"id\":9,\"name\":\"n\",\"required\":true,\"type\":\"long\","
                            "\"initial-default\":9223372036854775807,"
                            "\"write-default\":-9223372036854775808}]}}",
                            &out, &err),
                     ST_OK);
    assert_string_equal(str_at(out, "schemas/0/fields/0/type"), "variant");
    /* 64-bit values survive exactly. */
    assert_true(int_at(out, "schemas/0/fields/1/initial-default") == INT64_MAX);
    assert_true(int_at(out, "schemas/0/fields/1/write-default") == INT64_MIN);
    assert_true(int_at(out, "last-updated-ms") == NOW);
    json_decref(out);
}

static void test_large_timestamp_and_arguments(void **state)
{
    json_t *req = J("{\"name\":\"t\",\"schema\":" SCHEMA "}"), *out = NULL;
    struct error err = {0};

    (void)state;
    assert_int_equal(meta_new_table(req, "file:/warehouse/x", "u-1", INT64_MAX, &out, &err), ST_OK);
    assert_true(int_at(out, "last-updated-ms") == INT64_MAX);
    assert_string_equal(str_at(out, "location"), "file:/warehouse/x");
    assert_string_equal(str_at(out, "table-uuid"), "u-1");
    json_decref(out);
    out = NULL;
    assert_int_equal(meta_new_table(req, NULL, "u-1", 1, &out, &err), ST_INTERNAL);
    assert_null(out);
    assert_int_equal(meta_new_table(req, "\xff\xfe", "u-1", 1, &out, &err), ST_INVALID);
    assert_null(out);
    json_decref(req);
}

static void test_arbitrary_requests_are_safe(void **state)
{
    static const char *requests[] = {
        "null",
        "{}",
        "{\"name\":\"t\",\"schema\":{}}",
        "{\"name\":\"t\",\"schema\":{\"type\":\"struct\",\"fields\":[{}]}}",
        ("{\"name\":\"t\",\"schema\":" SCHEMA ",\"partition-spec\":{\"fields\":[{\"name\":\"a\","
         "\"transform\":\"void\",\"source-ids\":[[1]]}]}}"),
        ("{\"name\":\"t\",\"schema\":" SCHEMA ",\"partition-spec\":{\"fields\":[{\"name\":\"a\","
         "\"transform\":\"void\",\"source-ids\":[10,20]}]}}"),
        ("{\"name\":\"t\",\"schema\":" SCHEMA ",\"write-order\":{\"fields\":[{\"transform\":1}]}}"),
        ("{\"name\":\"t\",\"schema\":" SCHEMA ",\"write-order\":{\"fields\":[{\"transform\":"
         "\"identity\",\"source-ids\":[10],\"direction\":\"asc\",\"null-order\":\"nulls-last\"}]}"
         "}"),
    };
    struct error err = {0};
    json_t *out;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        if (create(requests[i], &out, &err) == ST_OK)
            json_decref(out);
    }
    out = NULL;
    assert_int_equal(meta_new_table(NULL, LOC, UUID, NOW, &out, &err), ST_INVALID);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_ids_and_java_shape),
        cmocka_unit_test(test_format_versions),
        cmocka_unit_test(test_invalid_format_versions),
        cmocka_unit_test(test_reserved_properties_dropped),
        cmocka_unit_test(test_identifier_fields_remapped),
        cmocka_unit_test(test_partition_spec_remapped),
        cmocka_unit_test(test_bad_partition_specs),
        cmocka_unit_test(test_sort_orders),
        cmocka_unit_test(test_bad_sort_orders),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_v3_features_on_v3),
        cmocka_unit_test(test_large_timestamp_and_arguments),
        cmocka_unit_test(test_arbitrary_requests_are_safe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
