/* test_update.c - meta_apply_updates: every TableUpdate action, its failures, create transactions.
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

#define NOW 5000
#define UUID1 "9c12d441-03fe-4693-9a96-a0705ddf69c1"

/* A v2 table: three columns, bucketed by id, unsorted, one snapshot on main. */
static const char *base_v2_text =
    "{\"format-version\":2,\"table-uuid\":\"" UUID1 "\",\"location\":\"s3://b/wh/t\","
    "\"last-sequence-number\":1,\"last-updated-ms\":1000,\"last-column-id\":3,"
    "\"current-schema-id\":0,\"schemas\":[{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
    "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
    "{\"id\":2,\"name\":\"data\",\"required\":false,\"type\":\"string\"},"
    "{\"id\":3,\"name\":\"ts\",\"required\":false,\"type\":\"timestamptz\"}]}],"
    "\"default-spec-id\":0,\"partition-specs\":[{\"spec-id\":0,\"fields\":[{\"name\":"
    "\"id_bucket\",\"transform\":\"bucket[16]\",\"source-id\":1,\"field-id\":1000}]}],"
    "\"last-partition-id\":1000,\"default-sort-order-id\":0,"
    "\"sort-orders\":[{\"order-id\":0,\"fields\":[]}],\"properties\":{\"owner\":\"me\"},"
    "\"current-snapshot-id\":100,\"refs\":{\"main\":{\"snapshot-id\":100,\"type\":\"branch\"}},"
    "\"snapshots\":[{\"sequence-number\":1,\"snapshot-id\":100,\"timestamp-ms\":900,"
    "\"summary\":{\"operation\":\"append\"},\"manifest-list\":\"s3://b/wh/t/metadata/s100.avro\"}],"
    "\"statistics\":[],\"partition-statistics\":[],"
    "\"snapshot-log\":[{\"timestamp-ms\":900,\"snapshot-id\":100}],\"metadata-log\":[]}";

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v)
        fail_msg("bad test JSON: %s: %s", jerr.text, text);
    return v;
}

/* The base table in format version fv (v1 without sequence numbers, v3 with row lineage). */
static json_t *base(int fv)
{
    json_t *m = parse(base_v2_text);
    json_t *snap = json_array_get(json_object_get(m, "snapshots"), 0);

    json_object_set_new(m, "format-version", json_integer(fv));
    if (fv == 1) {
        json_object_del(m, "last-sequence-number");
        json_object_del(snap, "sequence-number");
    }
    if (fv == 3) {
        json_object_set_new(m, "next-row-id", json_integer(10));
        json_object_set_new(snap, "first-row-id", json_integer(0));
        json_object_set_new(snap, "added-rows", json_integer(10));
    }
    return m;
}

/* Applies the updates in text to b; returns the status, result in *out (may be NULL). */
static enum status apply(const json_t *b, const char *text, json_t **out, bool *changed,
                         struct error *err)
{
    json_t *ups = parse(text);
    enum status rc;

    error_clear(err);
    rc = meta_apply_updates(b, ups, NOW, out, changed, err);
    json_decref(ups);
    if (rc == ST_OK)
        assert_non_null(*out);
    else
        assert_null(*out);
    return rc;
}

/* Applies updates that must succeed and returns the result. */
static json_t *apply_ok(const json_t *b, const char *text)
{
    struct error err;
    json_t *out = NULL;
    bool changed;

    if (apply(b, text, &out, &changed, &err) != ST_OK)
        fail_msg("apply failed: %s (%s)", err.msg, text);
    return out;
}

/* Applies updates that must fail with st and type, whose message must contain msg. */
static void apply_fails(const json_t *b, const char *text, enum status st, enum errtype type,
                        const char *msg)
{
    struct error err;
    json_t *out = NULL;

    assert_int_equal(apply(b, text, &out, NULL, &err), st);
    assert_int_equal(err.type, type);
    if (!strstr(err.msg, msg))
        fail_msg("message '%s' lacks '%s'", err.msg, msg);
}

static int64_t geti(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v))
        fail_msg("field %s is not an integer", key);
    return json_integer_value(v);
}

static json_t *at(const json_t *obj, const char *key, size_t i)
{
    return json_array_get(json_object_get(obj, key), i);
}

static size_t count(const json_t *obj, const char *key)
{
    return json_array_size(json_object_get(obj, key));
}

/* ---------------------------------------------------------------- assign-uuid */

static void test_assign_uuid_same_is_noop(void **state)
{
    json_t *b = base(2), *out = NULL;
    struct error err;
    bool changed = true;

    (void)state;
    assert_int_equal(
        apply(b, "[{\"action\":\"assign-uuid\",\"uuid\":\"" UUID1 "\"}]", &out, &changed, &err),
        ST_OK);
    assert_false(changed);
    assert_int_equal(geti(out, "last-updated-ms"), 1000);
    json_decref(out);
    json_decref(b);
}

static void test_assign_uuid_existing_rejected(void **state)
{
    json_t *b = base(2);

    (void)state;
    apply_fails(b,
                "[{\"action\":\"assign-uuid\",\"uuid\":\"11111111-2222-4333-8444-555555555555\"}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, "Cannot reassign the UUID");
    apply_fails(b, "[{\"action\":\"assign-uuid\",\"uuid\":\"nope\"}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "Invalid UUID: nope");
    apply_fails(b, "[{\"action\":\"assign-uuid\",\"uuid\":7}]", ST_INVALID, ET_BAD_REQUEST,
                "'uuid' must be a string");
    apply_fails(b, "[{\"action\":\"assign-uuid\"}]", ST_INVALID, ET_BAD_REQUEST,
                "missing field 'uuid'");
    json_decref(b);
}

/* ---------------------------------------------------------------- upgrade-format-version */

static void test_upgrade_v2_to_v3(void **state)
{
    json_t *b = base(2), *out;

    (void)state;
    json_object_set_new(b, "current-snapshot-id", json_integer(-1));
    json_object_set_new(b, "refs", json_object());
    out = apply_ok(b, "[{\"action\":\"upgrade-format-version\",\"format-version\":3}]");
    assert_int_equal(geti(out, "format-version"), 3);
    assert_int_equal(geti(out, "next-row-id"), 0);
    assert_true(json_is_null(json_object_get(out, "current-snapshot-id")));
    assert_int_equal(geti(out, "last-updated-ms"), NOW);
    json_decref(out);
    json_decref(b);
}

static void test_upgrade_v1_to_v2(void **state)
{
    json_t *b = base(1), *out;

    (void)state;
    out = apply_ok(b, "[{\"action\":\"upgrade-format-version\",\"format-version\":2}]");
    assert_int_equal(geti(out, "format-version"), 2);
    assert_int_equal(geti(out, "last-sequence-number"), 0);
    assert_null(json_object_get(out, "schema"));
    assert_null(json_object_get(out, "partition-spec"));
    json_decref(out);
    json_decref(b);
}

static void test_upgrade_failures(void **state)
{
    json_t *b = base(2), *out = NULL;
    struct error err;
    bool changed = true;

    (void)state;
    apply_fails(b, "[{\"action\":\"upgrade-format-version\",\"format-version\":1}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "Cannot downgrade v2 table to v1");
    apply_fails(b, "[{\"action\":\"upgrade-format-version\",\"format-version\":4}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT,
                "Cannot upgrade table to unsupported format version: v4 (supported: v3)");
    apply_fails(b, "[{\"action\":\"upgrade-format-version\",\"format-version\":\"3\"}]", ST_INVALID,
                ET_BAD_REQUEST, "format-version");
    assert_int_equal(apply(b, "[{\"action\":\"upgrade-format-version\",\"format-version\":2}]",
                           &out, &changed, &err),
                     ST_OK);
    assert_false(changed);
    json_decref(out);
    json_decref(b);
}

/* ---------------------------------------------------------------- schemas */

#define NEW_SCHEMA                                                                                 \
    "{\"type\":\"struct\",\"schema-id\":5,\"fields\":["                                            \
    "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"                              \
    "{\"id\":2,\"name\":\"data\",\"required\":false,\"type\":\"string\"},"                         \
    "{\"id\":3,\"name\":\"ts\",\"required\":false,\"type\":\"timestamptz\"},"                      \
    "{\"id\":4,\"name\":\"extra\",\"required\":false,\"type\":\"int\"}]}"

static void test_add_schema_and_set_current(void **state)
{
    json_t *b = base(2), *out;

    (void)state;
    out =
        apply_ok(b, "[{\"action\":\"add-schema\",\"schema\":" NEW_SCHEMA
                    ",\"last-column-id\":4},{\"action\":\"set-current-schema\",\"schema-id\":-1}]");
    assert_int_equal(count(out, "schemas"), 2);
    assert_int_equal(geti(at(out, "schemas", 1), "schema-id"), 1); /* server picks the id */
    assert_int_equal(geti(out, "current-schema-id"), 1);
    assert_int_equal(geti(out, "last-column-id"), 4);
    json_decref(out);
    json_decref(b);
}

static void test_add_schema_reuses_identical(void **state)
{
    json_t *b = base(2), *out, *same;
    bool changed = true;
    struct error err;

    (void)state;
    same = json_deep_copy(at(b, "schemas", 0));
    json_object_set_new(same, "schema-id", json_integer(9));
    {
        char *s = json_dumps(same, 0);
        char *text = NULL;
        size_t n = strlen(s) + 128;
        text = malloc(n);
        snprintf(text, n,
                 "[{\"action\":\"add-schema\",\"schema\":%s},"
                 "{\"action\":\"set-current-schema\",\"schema-id\":-1}]",
                 s);
        out = NULL;
        assert_int_equal(apply(b, text, &out, &changed, &err), ST_OK);
        free(s);
        free(text);
    }
    assert_false(changed);
    assert_int_equal(count(out, "schemas"), 1);
    assert_int_equal(geti(out, "current-schema-id"), 0);
    json_decref(same);
    json_decref(out);
    json_decref(b);
}

static void test_add_schema_failures(void **state)
{
    json_t *b = base(2);

    (void)state;
    apply_fails(b,
                "[{\"action\":\"add-schema\",\"schema\":{\"type\":\"struct\",\"fields\":["
                "{\"id\":1,\"name\":\"v\",\"required\":false,\"type\":\"variant\"}]}}]",
                ST_INVALID, ET_VALIDATION, "variant is not supported until v3");
    apply_fails(b, "[{\"action\":\"add-schema\",\"schema\":[]}]", ST_INVALID, ET_BAD_REQUEST,
                "'schema' must be an object");
    apply_fails(b,
                "[{\"action\":\"add-schema\",\"schema\":" NEW_SCHEMA ",\"last-column-id\":\"4\"}]",
                ST_INVALID, ET_BAD_REQUEST, "last-column-id");
    json_decref(b);
}

static void test_set_current_schema_failures(void **state)
{
    json_t *b = base(2), *out;

    (void)state;
    apply_fails(b, "[{\"action\":\"set-current-schema\",\"schema-id\":-1}]", ST_INVALID,
                ET_VALIDATION, "Cannot set last added schema: no schema has been added");
    apply_fails(b, "[{\"action\":\"set-current-schema\",\"schema-id\":7}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "Cannot set current schema to unknown schema: 7");
    apply_fails(b, "[{\"action\":\"set-current-schema\",\"schema-id\":4294967296}]", ST_INVALID,
                ET_BAD_REQUEST, "32-bit");
    /* Setting it to an existing id works, and to the current one changes nothing. */
    out = apply_ok(b, "[{\"action\":\"add-schema\",\"schema\":" NEW_SCHEMA "},"
                      "{\"action\":\"set-current-schema\",\"schema-id\":1},"
                      "{\"action\":\"set-current-schema\",\"schema-id\":0}]");
    assert_int_equal(geti(out, "current-schema-id"), 0);
    assert_int_equal(count(out, "schemas"), 2);
    json_decref(out);
    json_decref(b);
}

static void test_remove_schemas(void **state)
{
    json_t *b = base(2), *mid, *out;

    (void)state;
    mid = apply_ok(b, "[{\"action\":\"add-schema\",\"schema\":" NEW_SCHEMA "},"
                      "{\"action\":\"set-current-schema\",\"schema-id\":-1}]");
    apply_fails(mid, "[{\"action\":\"remove-schemas\",\"schema-ids\":[0,1]}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "Cannot remove the current schema");
    apply_fails(mid, "[{\"action\":\"remove-schemas\",\"schema-ids\":[\"0\"]}]", ST_INVALID,
                ET_BAD_REQUEST, "schema-ids");
    out = apply_ok(mid, "[{\"action\":\"remove-schemas\",\"schema-ids\":[0]}]");
    assert_int_equal(count(out, "schemas"), 1);
    assert_int_equal(geti(at(out, "schemas", 0), "schema-id"), 1);
    json_decref(out);
    json_decref(mid);
    json_decref(b);
}

/* ---------------------------------------------------------------- partition specs */

static void test_add_spec_assigns_ids(void **state)
{
    json_t *b = base(2), *out, *spec;

    (void)state;
    out = apply_ok(b, "[{\"action\":\"add-spec\",\"spec\":{\"fields\":["
                      "{\"name\":\"id_bucket\",\"transform\":\"bucket[16]\",\"source-id\":1,"
                      "\"field-id\":1000},"
                      "{\"name\":\"ts_day\",\"transform\":\"day\",\"source-id\":3}]}},"
                      "{\"action\":\"set-default-spec\",\"spec-id\":-1}]");
    assert_int_equal(count(out, "partition-specs"), 2);
    spec = at(out, "partition-specs", 1);
    assert_int_equal(geti(spec, "spec-id"), 1);
    assert_int_equal(geti(json_array_get(json_object_get(spec, "fields"), 1), "field-id"), 1001);
    assert_int_equal(geti(out, "last-partition-id"), 1001);
    assert_int_equal(geti(out, "default-spec-id"), 1);
    json_decref(out);
    json_decref(b);
}

static void test_add_spec_reuses_compatible(void **state)
{
    json_t *b = base(2), *out = NULL;
    struct error err;
    bool changed = true;

    (void)state;
    assert_int_equal(apply(b,
                           "[{\"action\":\"add-spec\",\"spec\":{\"spec-id\":9,\"fields\":["
                           "{\"name\":\"id_bucket\",\"transform\":\"bucket[16]\","
                           "\"source-id\":1}]}},{\"action\":\"set-default-spec\",\"spec-id\":-1}]",
                           &out, &changed, &err),
                     ST_OK);
    assert_false(changed);
    assert_int_equal(count(out, "partition-specs"), 1);
    json_decref(out);
    json_decref(b);
}

static void test_add_spec_v1_sequential(void **state)
{
    json_t *b = base(1), *out;

    (void)state;
    out = apply_ok(b, "[{\"action\":\"add-spec\",\"spec\":{\"fields\":["
                      "{\"name\":\"id_bucket\",\"transform\":\"bucket[16]\",\"source-id\":1},"
                      "{\"name\":\"d\",\"transform\":\"identity\",\"source-id\":2}]}}]");
    assert_int_equal(
        geti(json_array_get(json_object_get(at(out, "partition-specs", 1), "fields"), 1),
             "field-id"),
        1001);
    json_decref(out);
    apply_fails(b,
                "[{\"action\":\"add-spec\",\"spec\":{\"fields\":[{\"name\":\"d\","
                "\"transform\":\"identity\",\"source-id\":2,\"field-id\":1005}]}}]",
                ST_INVALID, ET_VALIDATION, "Spec does not use sequential IDs");
    json_decref(b);
}

static void test_add_spec_failures(void **state)
{
    json_t *b = base(2);

    (void)state;
    apply_fails(b,
                "[{\"action\":\"add-spec\",\"spec\":{\"fields\":[{\"name\":\"x\","
                "\"transform\":\"identity\",\"source-id\":42}]}}]",
                ST_INVALID, ET_VALIDATION, "Cannot find source column");
    apply_fails(b, "[{\"action\":\"add-spec\",\"spec\":{\"fields\":{}}}]", ST_INVALID,
                ET_BAD_REQUEST, "fields");
    apply_fails(b,
                "[{\"action\":\"add-spec\",\"spec\":{\"fields\":[{\"name\":\"x\","
                "\"transform\":\"identity\",\"source-id\":\"2\"}]}}]",
                ST_INVALID, ET_BAD_REQUEST, "source-id");
    apply_fails(b, "[{\"action\":\"add-spec\"}]", ST_INVALID, ET_BAD_REQUEST,
                "missing field 'spec'");
    json_decref(b);
}

static void test_set_default_spec_failures(void **state)
{
    json_t *b = base(2);

    (void)state;
    apply_fails(b, "[{\"action\":\"set-default-spec\",\"spec-id\":-1}]", ST_INVALID, ET_VALIDATION,
                "Cannot set last added spec: no spec has been added");
    apply_fails(b, "[{\"action\":\"set-default-spec\",\"spec-id\":3}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "unknown spec: 3");
    json_decref(b);
}

static void test_remove_partition_specs(void **state)
{
    json_t *b = base(2), *mid, *out;

    (void)state;
    mid = apply_ok(b, "[{\"action\":\"add-spec\",\"spec\":{\"fields\":[]}}]");
    assert_int_equal(count(mid, "partition-specs"), 2);
    apply_fails(mid, "[{\"action\":\"remove-partition-specs\",\"spec-ids\":[0]}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "Cannot remove the default partition spec");
    out = apply_ok(mid, "[{\"action\":\"remove-partition-specs\",\"spec-ids\":[1]}]");
    assert_int_equal(count(out, "partition-specs"), 1);
    assert_int_equal(geti(at(out, "partition-specs", 0), "spec-id"), 0);
    json_decref(out);
    json_decref(mid);
    json_decref(b);
}

/* ---------------------------------------------------------------- sort orders */

#define SORT_BY_ID                                                                                 \
    "{\"order-id\":7,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"                     \
    "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}"

static void test_add_sort_order(void **state)
{
    json_t *b = base(2), *out, *again;
    bool changed = true;
    struct error err;

    (void)state;
    out = apply_ok(b, "[{\"action\":\"add-sort-order\",\"sort-order\":" SORT_BY_ID "},"
                      "{\"action\":\"set-default-sort-order\",\"sort-order-id\":-1}]");
    assert_int_equal(count(out, "sort-orders"), 2);
    assert_int_equal(geti(at(out, "sort-orders", 1), "order-id"), 1);
    assert_int_equal(geti(out, "default-sort-order-id"), 1);
    /* The same order again is the same id; the unsorted order is always 0. */
    again = NULL;
    assert_int_equal(apply(out,
                           "[{\"action\":\"add-sort-order\",\"sort-order\":" SORT_BY_ID "},"
                           "{\"action\":\"add-sort-order\",\"sort-order\":{\"order-id\":3,"
                           "\"fields\":[]}},{\"action\":\"set-default-sort-order\","
                           "\"sort-order-id\":-1}]",
                           &again, &changed, &err),
                     ST_OK);
    assert_true(changed);
    assert_int_equal(count(again, "sort-orders"), 2);
    assert_int_equal(geti(again, "default-sort-order-id"), 0);
    json_decref(again);
    json_decref(out);
    json_decref(b);
}

static void test_sort_order_failures(void **state)
{
    json_t *b = base(2);

    (void)state;
    apply_fails(b, "[{\"action\":\"set-default-sort-order\",\"sort-order-id\":-1}]", ST_INVALID,
                ET_VALIDATION, "Cannot set last added sort order: no sort order has been added");
    apply_fails(b, "[{\"action\":\"set-default-sort-order\",\"sort-order-id\":4}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "unknown sort order: 4");
    apply_fails(b,
                "[{\"action\":\"add-sort-order\",\"sort-order\":{\"fields\":[{\"transform\":"
                "\"identity\",\"source-id\":99,\"direction\":\"asc\",\"null-order\":"
                "\"nulls-first\"}]}}]",
                ST_INVALID, ET_VALIDATION, "Cannot find source column for sort field");
    apply_fails(b,
                "[{\"action\":\"add-sort-order\",\"sort-order\":{\"fields\":[{\"transform\":"
                "\"identity\",\"source-id\":1,\"direction\":1,\"null-order\":"
                "\"nulls-first\"}]}}]",
                ST_INVALID, ET_BAD_REQUEST, "direction");
    json_decref(b);
}

/* ---------------------------------------------------------------- snapshots */

#define SNAP(id, parent, seq, ts)                                                                  \
    "{\"snapshot-id\":" #id ",\"parent-snapshot-id\":" #parent ",\"sequence-number\":" #seq        \
    ",\"timestamp-ms\":" #ts ",\"manifest-list\":\"s3://b/m.avro\",\"summary\":{\"operation\":"    \
    "\"append\"}}"

static void test_add_snapshot_and_set_main(void **state)
{
    json_t *b = base(2), *mid, *out, *log;

    (void)state;
    mid = apply_ok(b, "[{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(101, 100, 2, 4000) "}]");
    /* Adding a snapshot moves neither refs nor the current snapshot. */
    assert_int_equal(count(mid, "snapshots"), 2);
    assert_int_equal(geti(mid, "current-snapshot-id"), 100);
    assert_int_equal(geti(mid, "last-sequence-number"), 2);
    json_decref(mid);

    out = apply_ok(
        b, "[{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(
               101, 100, 2,
               4000) "},"
                     "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
                     "\"snapshot-id\":101}]");
    assert_int_equal(geti(out, "current-snapshot-id"), 101);
    assert_int_equal(geti(json_object_get(json_object_get(out, "refs"), "main"), "snapshot-id"),
                     101);
    log = json_object_get(out, "snapshot-log");
    assert_int_equal(json_array_size(log), 2);
    /* the snapshot added in this commit is logged at its own timestamp */
    assert_int_equal(geti(json_array_get(log, 1), "timestamp-ms"), 4000);
    assert_int_equal(geti(out, "last-updated-ms"), NOW);
    json_decref(out);
    json_decref(b);
}

static void test_add_snapshot_stale_sequence_is_retryable(void **state)
{
    json_t *b = base(2), *out;

    (void)state;
    apply_fails(b, "[{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(101, 100, 1, 4000) "}]",
                ST_CONFLICT, ET_COMMIT_FAILED,
                "Validation failed, please retry: Cannot add snapshot with sequence number 1 "
                "older than last sequence number 1");
    /* Without a parent the sequence number is not checked. */
    out = apply_ok(b, "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":102,"
                      "\"sequence-number\":1,\"timestamp-ms\":4000,\"manifest-list\":\"m\"}}]");
    assert_int_equal(count(out, "snapshots"), 2);
    json_decref(out);
    json_decref(b);
}

static void test_add_snapshot_failures(void **state)
{
    json_t *b = base(2), *empty;

    (void)state;
    apply_fails(b, "[{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(100, 100, 2, 4000) "}]",
                ST_INVALID, ET_VALIDATION, "Snapshot already exists for id: 100");
    apply_fails(b,
                "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":\"1\","
                "\"timestamp-ms\":1,\"manifest-list\":\"m\"}}]",
                ST_INVALID, ET_BAD_REQUEST, "snapshot-id");
    apply_fails(b,
                "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":1,"
                "\"timestamp-ms\":1,\"manifest-list\":\"m\",\"summary\":{\"operation\":1}}}]",
                ST_INVALID, ET_BAD_REQUEST, "summary");
    apply_fails(b,
                "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":1,"
                "\"timestamp-ms\":1}}]",
                ST_INVALID, ET_BAD_REQUEST, "manifests");
    apply_fails(b, "[{\"action\":\"add-snapshot\",\"snapshot\":null}]", ST_INVALID, ET_BAD_REQUEST,
                "missing field 'snapshot'");
    /* A create transaction must add a schema, spec and order before snapshots. */
    empty = NULL;
    apply_fails(empty, "[{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(1, 0, 1, 1) "}]",
                ST_INVALID, ET_VALIDATION, "Attempting to add a snapshot before a schema is added");
    json_decref(b);
}

static void test_add_snapshot_v3_row_lineage(void **state)
{
    json_t *b = base(3), *out;

    (void)state;
    out = apply_ok(b, "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":101,"
                      "\"parent-snapshot-id\":100,\"sequence-number\":2,\"timestamp-ms\":4000,"
                      "\"manifest-list\":\"m\",\"first-row-id\":10,\"added-rows\":25}}]");
    assert_int_equal(geti(out, "next-row-id"), 35);
    json_decref(out);
    apply_fails(b,
                "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":101,"
                "\"parent-snapshot-id\":100,\"sequence-number\":2,\"timestamp-ms\":4000,"
                "\"manifest-list\":\"m\"}}]",
                ST_INVALID, ET_VALIDATION, "Cannot add a snapshot: first-row-id is null");
    apply_fails(b,
                "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":101,"
                "\"parent-snapshot-id\":100,\"sequence-number\":2,\"timestamp-ms\":4000,"
                "\"manifest-list\":\"m\",\"first-row-id\":3,\"added-rows\":1}}]",
                ST_CONFLICT, ET_COMMIT_FAILED,
                "Validation failed, please retry: Cannot add a snapshot, first-row-id is behind "
                "table next-row-id: 3 < 10");
    apply_fails(b,
                "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":101,"
                "\"parent-snapshot-id\":100,\"sequence-number\":2,\"timestamp-ms\":4000,"
                "\"manifest-list\":\"m\",\"first-row-id\":10}}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, "Invalid added-rows (required when first-row-id");
    apply_fails(b,
                "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":101,"
                "\"parent-snapshot-id\":100,\"sequence-number\":2,\"timestamp-ms\":4000,"
                "\"manifest-list\":\"m\",\"first-row-id\":10,"
                "\"added-rows\":9223372036854775807}}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, "overflow");
    json_decref(b);
}

static void test_add_snapshot_v1_no_sequence_rules(void **state)
{
    json_t *b = base(1), *out;

    (void)state;
    out = apply_ok(b, "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":101,"
                      "\"parent-snapshot-id\":100,\"timestamp-ms\":4000,"
                      "\"manifest-list\":\"m\"}}]");
    assert_null(json_object_get(out, "last-sequence-number"));
    assert_int_equal(count(out, "snapshots"), 2);
    json_decref(out);
    json_decref(b);
}

static void test_max_snapshot_id_survives(void **state)
{
    json_t *b = base(2), *out, *back = NULL;
    char *text;
    struct error err;

    (void)state;
    out = apply_ok(
        b, "[{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(
               9223372036854775807, 100, 2,
               4000) "},"
                     "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
                     "\"snapshot-id\":9223372036854775807}]");
    text = meta_serialize(out);
    assert_non_null(strstr(text, "\"current-snapshot-id\":9223372036854775807"));
    assert_int_equal(meta_parse(text, strlen(text), &back, &err), ST_OK);
    assert_int_equal(geti(back, "current-snapshot-id"), INT64_MAX);
    free(text);
    json_decref(back);
    json_decref(out);
    json_decref(b);
}

/* ---------------------------------------------------------------- refs */

static void test_set_snapshot_ref_rollback_logs_now(void **state)
{
    json_t *b = base(2), *mid, *out, *log;

    (void)state;
    mid = apply_ok(
        b, "[{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(
               101, 100, 2,
               4000) "},"
                     "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
                     "\"snapshot-id\":101}]");
    out = apply_ok(mid, "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":"
                        "\"branch\",\"snapshot-id\":100}]");
    log = json_object_get(out, "snapshot-log");
    assert_int_equal(json_array_size(log), 3);
    assert_int_equal(geti(json_array_get(log, 2), "snapshot-id"), 100);
    assert_int_equal(geti(json_array_get(log, 2), "timestamp-ms"), NOW);
    assert_int_equal(geti(out, "current-snapshot-id"), 100);
    json_decref(out);
    json_decref(mid);
    json_decref(b);
}

static void test_set_snapshot_ref_branch_and_tag(void **state)
{
    json_t *b = base(2), *out, *ref;

    (void)state;
    out =
        apply_ok(b, "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"audit\",\"type\":\"BRANCH\","
                    "\"snapshot-id\":100,\"min-snapshots-to-keep\":3,\"max-ref-age-ms\":null},"
                    "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"v1\",\"type\":\"tag\","
                    "\"snapshot-id\":100,\"max-ref-age-ms\":60000}]");
    ref = json_object_get(json_object_get(out, "refs"), "audit");
    assert_string_equal(json_string_value(json_object_get(ref, "type")), "branch");
    assert_int_equal(geti(ref, "min-snapshots-to-keep"), 3);
    assert_null(json_object_get(ref, "max-ref-age-ms"));
    ref = json_object_get(json_object_get(out, "refs"), "v1");
    assert_string_equal(json_string_value(json_object_get(ref, "type")), "tag");
    assert_int_equal(geti(ref, "max-ref-age-ms"), 60000);
    /* Other refs never touch the current snapshot or its log. */
    assert_int_equal(count(out, "snapshot-log"), 1);
    json_decref(out);
    json_decref(b);
}

static void test_set_snapshot_ref_same_is_noop(void **state)
{
    json_t *b = base(2), *out = NULL;
    struct error err;
    bool changed = true;

    (void)state;
    assert_int_equal(apply(b,
                           "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":"
                           "\"branch\",\"snapshot-id\":100}]",
                           &out, &changed, &err),
                     ST_OK);
    assert_false(changed);
    assert_int_equal(count(out, "snapshot-log"), 1);
    json_decref(out);
    json_decref(b);
}

static void test_set_snapshot_ref_failures(void **state)
{
    json_t *b = base(2);

    (void)state;
    apply_fails(b,
                "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
                "\"snapshot-id\":555}]",
                ST_INVALID, ET_VALIDATION, "Cannot set main to unknown snapshot: 555");
    apply_fails(b,
                "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"tag\","
                "\"snapshot-id\":100}]",
                ST_INVALID, ET_VALIDATION, "Cannot set main to a tag, it must be a branch");
    apply_fails(b,
                "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"t\",\"type\":\"tag\","
                "\"snapshot-id\":100,\"min-snapshots-to-keep\":2}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, "Tags do not support setting minSnapshotsToKeep");
    apply_fails(b,
                "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"t\",\"type\":\"tag\","
                "\"snapshot-id\":100,\"max-snapshot-age-ms\":2}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, "Tags do not support setting maxSnapshotAgeMs");
    apply_fails(b,
                "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"b\",\"type\":\"branch\","
                "\"snapshot-id\":100,\"max-ref-age-ms\":0}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, "Max reference age must be greater than 0");
    apply_fails(b,
                "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"b\",\"type\":\"leaf\","
                "\"snapshot-id\":100}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, "Invalid snapshot ref type: leaf");
    apply_fails(b,
                "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"b\",\"type\":\"branch\","
                "\"snapshot-id\":1.5}]",
                ST_INVALID, ET_BAD_REQUEST, "snapshot-id");
    json_decref(b);
}

static void test_intermediate_snapshots_leave_log(void **state)
{
    json_t *b = base(2), *out, *log;

    (void)state;
    out = apply_ok(
        b, "[{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(
               101, 100, 2,
               4000) "},"
                     "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
                     "\"snapshot-id\":101},"
                     "{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(
                         102, 101, 3, 4100) "},"
                                            "{\"action\":\"set-snapshot-ref\",\"ref-name\":"
                                            "\"main\",\"type\":\"branch\","
                                            "\"snapshot-id\":102}]");
    log = json_object_get(out, "snapshot-log");
    assert_int_equal(json_array_size(log), 2);
    assert_int_equal(geti(json_array_get(log, 0), "snapshot-id"), 100);
    assert_int_equal(geti(json_array_get(log, 1), "snapshot-id"), 102);
    assert_int_equal(geti(json_array_get(log, 1), "timestamp-ms"), 4100);
    json_decref(out);
    json_decref(b);
}

static void test_remove_snapshot_ref(void **state)
{
    json_t *b2 = base(2), *b3 = base(3), *out;

    (void)state;
    out = apply_ok(b2, "[{\"action\":\"remove-snapshot-ref\",\"ref-name\":\"main\"}]");
    assert_int_equal(geti(out, "current-snapshot-id"), -1);
    assert_int_equal(json_object_size(json_object_get(out, "refs")), 0);
    assert_int_equal(count(out, "snapshots"), 1); /* the snapshot itself stays */
    json_decref(out);
    out = apply_ok(b3, "[{\"action\":\"remove-snapshot-ref\",\"ref-name\":\"main\"}]");
    assert_true(json_is_null(json_object_get(out, "current-snapshot-id")));
    json_decref(out);
    apply_fails(b2, "[{\"action\":\"remove-snapshot-ref\"}]", ST_INVALID, ET_BAD_REQUEST,
                "ref-name");
    json_decref(b2);
    json_decref(b3);
}

static void test_remove_snapshots(void **state)
{
    json_t *b = base(2), *mid, *out, *log;

    (void)state;
    /* History 100 -> 101 -> 102 on main, a tag on 101, statistics for 101. */
    mid = apply_ok(
        b, "[{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(
               101, 100, 2,
               4000) "},"
                     "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
                     "\"snapshot-id\":101},"
                     "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"t\",\"type\":\"tag\","
                     "\"snapshot-id\":101},"
                     "{\"action\":\"set-statistics\",\"statistics\":{\"snapshot-id\":101,"
                     "\"statistics-path\":\"p\",\"file-size-in-bytes\":1,"
                     "\"file-footer-size-in-bytes\":1,\"blob-metadata\":[]}}]");
    json_decref(b);
    b = mid;
    mid = apply_ok(
        b, "[{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(
               102, 101, 3,
               4100) "},"
                     "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
                     "\"snapshot-id\":102}]");
    assert_int_equal(count(mid, "snapshot-log"), 3);
    out = apply_ok(mid, "[{\"action\":\"remove-snapshots\",\"snapshot-ids\":[101,999]}]");
    assert_int_equal(count(out, "snapshots"), 2);
    assert_null(json_object_get(json_object_get(out, "refs"), "t")); /* dangling tag gone */
    assert_int_equal(count(out, "statistics"), 0);
    log = json_object_get(out, "snapshot-log");
    /* everything up to the removed snapshot's entry goes, so there is no gap */
    assert_int_equal(json_array_size(log), 1);
    assert_int_equal(geti(json_array_get(log, 0), "snapshot-id"), 102);
    json_decref(out);
    /* Removing what main points at clears the current snapshot. */
    out = apply_ok(mid, "[{\"action\":\"remove-snapshots\",\"snapshot-ids\":[102]}]");
    assert_int_equal(geti(out, "current-snapshot-id"), -1);
    assert_null(json_object_get(json_object_get(out, "refs"), "main"));
    json_decref(out);
    apply_fails(mid, "[{\"action\":\"remove-snapshots\"}]", ST_INVALID, ET_BAD_REQUEST,
                "snapshot-ids");
    apply_fails(mid, "[{\"action\":\"remove-snapshots\",\"snapshot-ids\":[\"x\"]}]", ST_INVALID,
                ET_BAD_REQUEST, "snapshot-ids");
    json_decref(mid);
    json_decref(b);
}

/* ---------------------------------------------------------------- location, properties */

static void test_set_location(void **state)
{
    json_t *b = base(2), *out = NULL;
    struct error err;
    bool changed = true;

    (void)state;
    out = apply_ok(b, "[{\"action\":\"set-location\",\"location\":\"s3://b/other/\"}]");
    assert_string_equal(meta_location(out), "s3://b/other");
    json_decref(out);
    out = NULL;
    assert_int_equal(apply(b, "[{\"action\":\"set-location\",\"location\":\"s3://b/wh/t\"}]", &out,
                           &changed, &err),
                     ST_OK);
    assert_false(changed);
    json_decref(out);
    apply_fails(b, "[{\"action\":\"set-location\",\"location\":false}]", ST_INVALID, ET_BAD_REQUEST,
                "location");
    json_decref(b);
}

static void test_set_properties(void **state)
{
    json_t *b = base(2), *out, *props;

    (void)state;
    out = apply_ok(b, "[{\"action\":\"set-properties\",\"updates\":{\"a\":\"1\","
                      "\"format-version\":\"3\",\"current-snapshot-id\":\"7\"}},"
                      "{\"action\":\"set-properties\",\"updated\":{\"b\":\"2\"}}]");
    props = json_object_get(out, "properties");
    assert_string_equal(json_string_value(json_object_get(props, "a")), "1");
    assert_string_equal(json_string_value(json_object_get(props, "b")), "2");
    assert_string_equal(json_string_value(json_object_get(props, "owner")), "me");
    /* reserved properties are never stored */
    assert_null(json_object_get(props, "format-version"));
    assert_null(json_object_get(props, "current-snapshot-id"));
    assert_int_equal(geti(out, "format-version"), 2);
    json_decref(out);
    apply_fails(b, "[{\"action\":\"set-properties\",\"updates\":{\"a\":1}}]", ST_INVALID,
                ET_BAD_REQUEST, "updates");
    apply_fails(b, "[{\"action\":\"set-properties\"}]", ST_INVALID, ET_BAD_REQUEST, "updates");
    json_decref(b);
}

static void test_remove_properties(void **state)
{
    json_t *b = base(2), *out;

    (void)state;
    out = apply_ok(b, "[{\"action\":\"remove-properties\",\"removals\":[\"owner\",\"absent\"]}]");
    assert_int_equal(json_object_size(json_object_get(out, "properties")), 0);
    json_decref(out);
    out = apply_ok(b, "[{\"action\":\"remove-properties\",\"removed\":[\"owner\"]}]");
    assert_int_equal(json_object_size(json_object_get(out, "properties")), 0);
    json_decref(out);
    apply_fails(b, "[{\"action\":\"remove-properties\",\"removals\":[1]}]", ST_INVALID,
                ET_BAD_REQUEST, "removals");
    json_decref(b);
}

/* ---------------------------------------------------------------- statistics */

#define STATS(id, path)                                                                            \
    "{\"snapshot-id\":" #id ",\"statistics-path\":\"" path "\",\"file-size-in-bytes\":10,"         \
    "\"file-footer-size-in-bytes\":5,\"blob-metadata\":[{\"type\":\"apache-datasketches-theta-"    \
    "v1\",\"snapshot-id\":" #id ",\"sequence-number\":1,\"fields\":[1],\"properties\":{}}]}"

static void test_statistics(void **state)
{
    json_t *b = base(2), *mid, *out;

    (void)state;
    mid = apply_ok(b, "[{\"action\":\"set-statistics\",\"snapshot-id\":100,\"statistics\":" STATS(
                          100, "a.stats") "},"
                                          "{\"action\":\"set-statistics\",\"statistics\":" STATS(
                                              100, "b.stats") "}]");
    assert_int_equal(count(mid, "statistics"), 1); /* replaced, not appended */
    assert_string_equal(
        json_string_value(json_object_get(at(mid, "statistics", 0), "statistics-path")), "b.stats");
    out = apply_ok(mid, "[{\"action\":\"remove-statistics\",\"snapshot-id\":100}]");
    assert_int_equal(count(out, "statistics"), 0);
    json_decref(out);
    apply_fails(b,
                "[{\"action\":\"set-statistics\",\"statistics\":{\"snapshot-id\":100,"
                "\"statistics-path\":\"p\",\"file-size-in-bytes\":1,"
                "\"file-footer-size-in-bytes\":1}}]",
                ST_INVALID, ET_BAD_REQUEST, "blob-metadata");
    apply_fails(b, "[{\"action\":\"remove-statistics\",\"snapshot-id\":\"100\"}]", ST_INVALID,
                ET_BAD_REQUEST, "snapshot-id");
    json_decref(mid);
    json_decref(b);
}

static void test_partition_statistics(void **state)
{
    json_t *b = base(2), *mid, *out = NULL;
    struct error err;
    bool changed = true;

    (void)state;
    mid = apply_ok(b, "[{\"action\":\"set-partition-statistics\",\"partition-statistics\":{"
                      "\"snapshot-id\":100,\"statistics-path\":\"p.parquet\","
                      "\"file-size-in-bytes\":42}}]");
    assert_int_equal(count(mid, "partition-statistics"), 1);
    out = apply_ok(mid, "[{\"action\":\"remove-partition-statistics\",\"snapshot-id\":100}]");
    assert_int_equal(count(out, "partition-statistics"), 0);
    json_decref(out);
    out = NULL;
    assert_int_equal(apply(b, "[{\"action\":\"remove-partition-statistics\",\"snapshot-id\":1}]",
                           &out, &changed, &err),
                     ST_OK);
    assert_false(changed);
    json_decref(out);
    apply_fails(b,
                "[{\"action\":\"set-partition-statistics\",\"partition-statistics\":{"
                "\"snapshot-id\":100,\"statistics-path\":\"p\"}}]",
                ST_INVALID, ET_BAD_REQUEST, "file-size-in-bytes");
    json_decref(mid);
    json_decref(b);
}

/* ---------------------------------------------------------------- encryption keys */

static void test_encryption_keys(void **state)
{
    json_t *b = base(3), *mid, *out;

    (void)state;
    mid = apply_ok(b, "[{\"action\":\"add-encryption-key\",\"encryption-key\":{\"key-id\":\"k1\","
                      "\"encrypted-key-metadata\":\"AAEC\",\"properties\":{\"a\":\"b\"}}},"
                      "{\"action\":\"add-encryption-key\",\"encryption-key\":{\"key-id\":\"k1\","
                      "\"encrypted-key-metadata\":\"AAAA\"}}]");
    assert_int_equal(count(mid, "encryption-keys"), 1);
    assert_string_equal(
        json_string_value(json_object_get(at(mid, "encryption-keys", 0), "encrypted-key-metadata")),
        "AAEC");
    out = apply_ok(mid, "[{\"action\":\"remove-encryption-key\",\"key-id\":\"k1\"}]");
    assert_null(json_object_get(out, "encryption-keys")); /* empty lists are not written */
    json_decref(out);
    apply_fails(b, "[{\"action\":\"add-encryption-key\",\"encryption-key\":\"k\"}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "Invalid encryption key, must be non-null object");
    apply_fails(b,
                "[{\"action\":\"add-encryption-key\",\"encryption-key\":{\"key-id\":\"k\","
                "\"encrypted-key-metadata\":\"not base64!\"}}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, "base64");
    apply_fails(b, "[{\"action\":\"remove-encryption-key\",\"key-id\":3}]", ST_INVALID,
                ET_BAD_REQUEST, "key-id");
    json_decref(mid);
    json_decref(b);
}

/* ---------------------------------------------------------------- malformed commits */

static void test_malformed_updates(void **state)
{
    json_t *b = base(2), *out = NULL, *obj;
    struct error err;

    (void)state;
    apply_fails(b, "[{\"action\":\"add-view-version\",\"view-version\":{}}]", ST_INVALID,
                ET_BAD_REQUEST, "unknown table update action: add-view-version");
    apply_fails(b, "[{\"action\":\"frobnicate\"}]", ST_INVALID, ET_BAD_REQUEST, "frobnicate");
    apply_fails(b, "[{\"updates\":{}}]", ST_INVALID, ET_BAD_REQUEST, "action");
    apply_fails(b, "[{\"action\":5}]", ST_INVALID, ET_BAD_REQUEST, "action");
    apply_fails(b, "[7]", ST_INVALID, ET_BAD_REQUEST, "not an object");
    obj = parse("{}");
    assert_int_equal(meta_apply_updates(b, obj, NOW, &out, NULL, &err), ST_INVALID);
    assert_null(out);
    json_decref(obj);
    /* The action name is matched case-insensitively, as Java does. */
    out = apply_ok(b, "[{\"action\":\"SET-PROPERTIES\",\"updates\":{\"x\":\"y\"}}]");
    assert_non_null(json_object_get(json_object_get(out, "properties"), "x"));
    json_decref(out);
    json_decref(b);
}

static void test_noop_commit_keeps_everything(void **state)
{
    json_t *b = base(2), *out = NULL;
    struct error err;
    bool changed = true;

    (void)state;
    assert_int_equal(apply(b, "[]", &out, &changed, &err), ST_OK);
    assert_false(changed);
    assert_true(json_equal(out, b));
    json_decref(out);
    json_decref(b);
}

/* ---------------------------------------------------------------- create transactions */

#define CREATE_SCHEMA                                                                              \
    "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"id\","                  \
    "\"required\":true,\"type\":\"long\"},{\"id\":2,\"name\":\"d\",\"required\":false,"            \
    "\"type\":\"date\"}]}"

/* What the Java client sends for a create transaction, at format version fv. */
static char *create_updates(int fv, const char *extra)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);

    fprintf(f,
            "[{\"action\":\"assign-uuid\",\"uuid\":\"" UUID1 "\"},"
            "{\"action\":\"upgrade-format-version\",\"format-version\":%d},"
            "{\"action\":\"add-schema\",\"schema\":" CREATE_SCHEMA ",\"last-column-id\":2},"
            "{\"action\":\"set-current-schema\",\"schema-id\":-1},"
            "{\"action\":\"add-spec\",\"spec\":{\"spec-id\":0,\"fields\":[{\"name\":\"d_day\","
            "\"transform\":\"day\",\"source-id\":2,\"field-id\":1000}]}},"
            "{\"action\":\"set-default-spec\",\"spec-id\":-1},"
            "{\"action\":\"add-sort-order\",\"sort-order\":{\"order-id\":0,\"fields\":[]}},"
            "{\"action\":\"set-default-sort-order\",\"sort-order-id\":-1},"
            "{\"action\":\"set-location\",\"location\":\"file:/warehouse/ns/t\"},"
            "{\"action\":\"set-properties\",\"updates\":{\"format-version\":\"%d\","
            "\"k\":\"v\"}}%s]",
            fv, fv, extra ? extra : "");
    fclose(f);
    return s;
}

static void check_created(int fv)
{
    char *text = create_updates(fv, NULL);
    json_t *out = NULL;
    struct error err;
    bool changed = false;

    assert_int_equal(apply(NULL, text, &out, &changed, &err), ST_OK);
    assert_true(changed);
    assert_int_equal(geti(out, "format-version"), fv);
    assert_string_equal(meta_uuid(out), UUID1);
    assert_string_equal(meta_location(out), "file:/warehouse/ns/t");
    assert_int_equal(geti(out, "current-schema-id"), 0);
    assert_int_equal(geti(out, "last-column-id"), 2);
    assert_int_equal(geti(out, "default-spec-id"), 0);
    assert_int_equal(geti(out, "last-partition-id"), 1000);
    assert_int_equal(geti(out, "default-sort-order-id"), 0);
    assert_int_equal(geti(out, "last-updated-ms"), NOW);
    assert_null(meta_property(out, "format-version"));
    assert_string_equal(meta_property(out, "k"), "v");
    assert_int_equal(count(out, "metadata-log"), 0);
    if (fv == 1) {
        assert_non_null(json_object_get(out, "schema"));
        assert_non_null(json_object_get(out, "partition-spec"));
        assert_null(json_object_get(out, "last-sequence-number"));
    } else {
        assert_null(json_object_get(out, "schema"));
        assert_int_equal(geti(out, "last-sequence-number"), 0);
    }
    if (fv == 3) {
        assert_int_equal(geti(out, "next-row-id"), 0);
        assert_true(json_is_null(json_object_get(out, "current-snapshot-id")));
    } else {
        assert_int_equal(geti(out, "current-snapshot-id"), -1);
    }
    free(text);
    json_decref(out);
}

static void test_create_v1_v2_v3(void **state)
{
    (void)state;
    check_created(1);
    check_created(2);
    check_created(3);
}

static void test_create_with_snapshot(void **state)
{
    char *text = create_updates(
        2, ",{\"action\":\"add-snapshot\",\"snapshot\":" SNAP(
               7, null, 1, 4000) "},"
                                 "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\","
                                 "\"type\":\"branch\",\"snapshot-id\":7}");
    json_t *out = apply_ok(NULL, text);

    assert_int_equal(geti(out, "current-snapshot-id"), 7);
    assert_int_equal(geti(out, "last-sequence-number"), 1);
    assert_int_equal(count(out, "snapshot-log"), 1);
    assert_null(json_object_get(at(out, "snapshots", 0), "parent-snapshot-id"));
    (void)state;
    free(text);
    json_decref(out);
}

static void test_create_defaults_and_failures(void **state)
{
    json_t *out;

    (void)state;
    /* No upgrade-format-version: format 2. */
    out = apply_ok(NULL, "[{\"action\":\"add-schema\",\"schema\":" CREATE_SCHEMA "},"
                         "{\"action\":\"add-spec\",\"spec\":{\"fields\":[]}},"
                         "{\"action\":\"add-sort-order\",\"sort-order\":{\"fields\":[]}},"
                         "{\"action\":\"set-location\",\"location\":\"file:/x\"}]");
    assert_int_equal(geti(out, "format-version"), 2);
    assert_int_equal(geti(out, "last-partition-id"), 999);
    assert_non_null(meta_uuid(out));
    json_decref(out);
    apply_fails(NULL,
                "[{\"action\":\"add-spec\",\"spec\":{\"fields\":[]}},"
                "{\"action\":\"set-location\",\"location\":\"file:/x\"}]",
                ST_INVALID, ET_VALIDATION, "no current schema");
    /* Without set-location the catalog supplies its default location afterwards. */
    out = apply_ok(NULL, "[{\"action\":\"add-schema\",\"schema\":" CREATE_SCHEMA "},"
                         "{\"action\":\"add-spec\",\"spec\":{\"fields\":[]}},"
                         "{\"action\":\"add-sort-order\",\"sort-order\":{\"fields\":[]}}]");
    assert_null(meta_location(out));
    json_decref(out);
    apply_fails(NULL,
                "[{\"action\":\"add-schema\",\"schema\":" CREATE_SCHEMA "},"
                "{\"action\":\"set-location\",\"location\":\"file:/x\"}]",
                ST_INVALID, ET_VALIDATION, "no default partition spec");
    apply_fails(NULL, "[{\"action\":\"upgrade-format-version\",\"format-version\":9}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "Unsupported format version: v9");
    apply_fails(NULL, "[{\"action\":\"upgrade-format-version\",\"format-version\":0}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "Unsupported format version: v0");
}

/* ---------------------------------------------------------------- old v1 files */

static void test_old_v1_base_is_normalised(void **state)
{
    json_t *b =
        parse("{\"format-version\":1,\"location\":\"s3://b/old\",\"last-updated-ms\":10,"
              "\"last-column-id\":2,\"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":1,"
              "\"name\":\"a\",\"required\":true,\"type\":\"int\"},{\"id\":2,\"name\":\"b\","
              "\"required\":false,\"type\":\"string\"}]},\"partition-spec\":[{\"name\":\"a\","
              "\"transform\":\"identity\",\"source-id\":1}],\"properties\":{},"
              "\"current-snapshot-id\":-1,\"snapshots\":[]}");
    json_t *out;

    (void)state;
    out = apply_ok(b, "[{\"action\":\"set-properties\",\"updates\":{\"x\":\"1\"}}]");
    assert_int_equal(count(out, "schemas"), 1);
    assert_int_equal(geti(out, "current-schema-id"), 0);
    assert_int_equal(count(out, "partition-specs"), 1);
    assert_int_equal(
        geti(json_array_get(json_object_get(at(out, "partition-specs", 0), "fields"), 0),
             "field-id"),
        1000);
    assert_int_equal(geti(out, "last-partition-id"), 1000);
    assert_int_equal(count(out, "sort-orders"), 1);
    assert_non_null(json_object_get(out, "schema"));
    assert_non_null(json_object_get(out, "partition-spec"));
    assert_true(ids_is_uuid(meta_uuid(out)));
    json_decref(out);
    json_decref(b);
}

static void test_uuid_less_base_gets_one(void **state)
{
    json_t *b = base(1), *out = NULL;
    struct error err;
    bool changed = false;

    (void)state;
    json_object_del(b, "table-uuid");
    /* Even an empty commit persists the UUID the table was missing. */
    assert_int_equal(apply(b, "[]", &out, &changed, &err), ST_OK);
    assert_true(changed);
    assert_true(ids_is_uuid(meta_uuid(out)));
    json_decref(out);
    /* And assign-uuid may name it. */
    out = apply_ok(b, "[{\"action\":\"assign-uuid\",\"uuid\":\"" UUID1 "\"}]");
    assert_string_equal(meta_uuid(out), UUID1);
    json_decref(out);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assign_uuid_same_is_noop),
        cmocka_unit_test(test_assign_uuid_existing_rejected),
        cmocka_unit_test(test_upgrade_v2_to_v3),
        cmocka_unit_test(test_upgrade_v1_to_v2),
        cmocka_unit_test(test_upgrade_failures),
        cmocka_unit_test(test_add_schema_and_set_current),
        cmocka_unit_test(test_add_schema_reuses_identical),
        cmocka_unit_test(test_add_schema_failures),
        cmocka_unit_test(test_set_current_schema_failures),
        cmocka_unit_test(test_remove_schemas),
        cmocka_unit_test(test_add_spec_assigns_ids),
        cmocka_unit_test(test_add_spec_reuses_compatible),
        cmocka_unit_test(test_add_spec_v1_sequential),
        cmocka_unit_test(test_add_spec_failures),
        cmocka_unit_test(test_set_default_spec_failures),
        cmocka_unit_test(test_remove_partition_specs),
        cmocka_unit_test(test_add_sort_order),
        cmocka_unit_test(test_sort_order_failures),
        cmocka_unit_test(test_add_snapshot_and_set_main),
        cmocka_unit_test(test_add_snapshot_stale_sequence_is_retryable),
        cmocka_unit_test(test_add_snapshot_failures),
        cmocka_unit_test(test_add_snapshot_v3_row_lineage),
        cmocka_unit_test(test_add_snapshot_v1_no_sequence_rules),
        cmocka_unit_test(test_max_snapshot_id_survives),
        cmocka_unit_test(test_set_snapshot_ref_rollback_logs_now),
        cmocka_unit_test(test_set_snapshot_ref_branch_and_tag),
        cmocka_unit_test(test_set_snapshot_ref_same_is_noop),
        cmocka_unit_test(test_set_snapshot_ref_failures),
        cmocka_unit_test(test_intermediate_snapshots_leave_log),
        cmocka_unit_test(test_remove_snapshot_ref),
        cmocka_unit_test(test_remove_snapshots),
        cmocka_unit_test(test_set_location),
        cmocka_unit_test(test_set_properties),
        cmocka_unit_test(test_remove_properties),
        cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_partition_statistics),
        cmocka_unit_test(test_encryption_keys),
        cmocka_unit_test(test_malformed_updates),
        cmocka_unit_test(test_noop_commit_keeps_everything),
        cmocka_unit_test(test_create_v1_v2_v3),
        cmocka_unit_test(test_create_with_snapshot),
        cmocka_unit_test(test_create_defaults_and_failures),
        cmocka_unit_test(test_old_v1_base_is_normalised),
        cmocka_unit_test(test_uuid_less_base_gets_one),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
