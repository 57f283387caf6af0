/* test_requirement.c - meta_check_requirements: every TableRequirement, Java's exact messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "iceberg/table_meta.h"

#define UUID1 "9c12d441-03fe-4693-9a96-a0705ddf69c1"

static const char *base_text =
    "{\"format-version\":2,\"table-uuid\":\"" UUID1 "\",\"location\":\"s3://b/t\","
    "\"last-sequence-number\":2,\"last-updated-ms\":1,\"last-column-id\":3,"
    "\"current-schema-id\":1,\"schemas\":[],\"default-spec-id\":2,\"partition-specs\":[],"
    "\"last-partition-id\":1001,\"default-sort-order-id\":1,\"sort-orders\":[],"
    "\"properties\":{},\"current-snapshot-id\":100,"
    "\"refs\":{\"main\":{\"snapshot-id\":100,\"type\":\"branch\"},"
    "\"v1\":{\"snapshot-id\":99,\"type\":\"tag\"}},"
    "\"snapshots\":[{\"snapshot-id\":99},{\"snapshot-id\":100}]}";

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v)
        fail_msg("bad test JSON: %s", jerr.text);
    return v;
}

/* Checks requirements (JSON text) against base; returns the status, err filled. */
static enum status check(const json_t *base, const char *reqs, struct error *err)
{
    json_t *r = parse(reqs);
    enum status rc;

    error_clear(err);
    rc = meta_check_requirements(base, r, err);
    json_decref(r);
    return rc;
}

static void pass(const json_t *base, const char *reqs)
{
    struct error err;

    if (check(base, reqs, &err) != ST_OK)
        fail_msg("unexpected failure: %s (%s)", err.msg, reqs);
}

/* Expects status st, type type and exactly the message msg. */
static void fails(const json_t *base, const char *reqs, enum status st, enum errtype type,
                  const char *msg)
{
    struct error err;

    assert_int_equal(check(base, reqs, &err), st);
    assert_int_equal(err.type, type);
    assert_string_equal(err.msg, msg);
}

/* Expects a 400 whose message contains part. */
static void malformed(const json_t *base, const char *reqs, const char *part)
{
    struct error err;

    assert_int_equal(check(base, reqs, &err), ST_INVALID);
    assert_int_equal(error_http_code(&err), 400);
    if (!strstr(err.msg, part))
        fail_msg("message '%s' lacks '%s'", err.msg, part);
}

static void test_assert_create(void **state)
{
    json_t *b = parse(base_text);

    (void)state;
    pass(NULL, "[{\"type\":\"assert-create\"}]");
    fails(b, "[{\"type\":\"assert-create\"}]", ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: table already exists");
    /* assert-create must stand alone, whether or not the table exists */
    fails(NULL,
          "[{\"type\":\"assert-create\"},{\"type\":\"assert-table-uuid\",\"uuid\":\"" UUID1 "\"}]",
          ST_INVALID, ET_ILLEGAL_ARGUMENT, "Invalid create requirements");
    fails(b,
          "[{\"type\":\"assert-table-uuid\",\"uuid\":\"" UUID1 "\"},{\"type\":\"assert-create\"}]",
          ST_INVALID, ET_ILLEGAL_ARGUMENT, "Invalid create requirements");
    json_decref(b);
}

static void test_missing_table(void **state)
{
    struct error err;

    (void)state;
    fails(NULL, "[{\"type\":\"assert-table-uuid\",\"uuid\":\"" UUID1 "\"}]", ST_NOT_FOUND,
          ET_NO_SUCH_TABLE, "Table does not exist");
    assert_int_equal(check(NULL, "[]", &err), ST_NOT_FOUND);
    assert_int_equal(error_http_code(&err), 404);
    /* A malformed request is a 400 even when the table is missing. */
    malformed(NULL, "[{\"type\":\"assert-table-uuid\"}]", "uuid");
}

static void test_assert_table_uuid(void **state)
{
    json_t *b = parse(base_text);

    (void)state;
    pass(b, "[{\"type\":\"assert-table-uuid\",\"uuid\":\"" UUID1 "\"}]");
    pass(b, "[{\"type\":\"assert-table-uuid\",\"uuid\":\"9C12D441-03FE-4693-9A96-A0705DDF69C1\"}]");
    fails(b, "[{\"type\":\"assert-table-uuid\",\"uuid\":\"00000000-0000-4000-8000-000000000000\"}]",
          ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: UUID does not match: expected " UUID1
          " != 00000000-0000-4000-8000-000000000000");
    malformed(b, "[{\"type\":\"assert-table-uuid\",\"uuid\":5}]", "uuid");
    json_decref(b);
}

static void test_assert_ref_snapshot_id(void **state)
{
    json_t *b = parse(base_text);

    (void)state;
    pass(b, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":100}]");
    pass(b, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"new\",\"snapshot-id\":null}]");
    pass(b, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"new\"}]");
    fails(b, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":99}]",
          ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: branch main has changed: expected id 99 != 100");
    fails(b, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"v1\",\"snapshot-id\":100}]",
          ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: tag v1 has changed: expected id 100 != 99");
    fails(b, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":null}]",
          ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: branch main was created concurrently");
    fails(b,
          "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"dev\",\"snapshot-id\":"
          "9223372036854775807}]",
          ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: branch or tag dev is missing, expected 9223372036854775807");
    malformed(b, "[{\"type\":\"assert-ref-snapshot-id\",\"snapshot-id\":1}]", "ref");
    malformed(b, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":\"1\"}]",
              "snapshot-id");
    json_decref(b);
}

static void test_ref_of_old_v1_metadata(void **state)
{
    /* v1 metadata without refs: main is implied by current-snapshot-id. */
    json_t *b = parse("{\"format-version\":1,\"current-snapshot-id\":7,\"snapshots\":[]}");

    (void)state;
    pass(b, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":7}]");
    fails(b, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":8}]",
          ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: branch main has changed: expected id 8 != 7");
    json_decref(b);
}

static void test_assert_last_assigned_field_id(void **state)
{
    json_t *b = parse(base_text);

    (void)state;
    pass(b, "[{\"type\":\"assert-last-assigned-field-id\",\"last-assigned-field-id\":3}]");
    fails(b, "[{\"type\":\"assert-last-assigned-field-id\",\"last-assigned-field-id\":2}]",
          ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: last assigned field id changed: expected id 2 != 3");
    malformed(b, "[{\"type\":\"assert-last-assigned-field-id\"}]", "last-assigned-field-id");
    json_decref(b);
}

static void test_assert_current_schema_id(void **state)
{
    json_t *b = parse(base_text);

    (void)state;
    pass(b, "[{\"type\":\"assert-current-schema-id\",\"current-schema-id\":1}]");
    fails(b, "[{\"type\":\"assert-current-schema-id\",\"current-schema-id\":0}]", ST_CONFLICT,
          ET_COMMIT_FAILED, "Requirement failed: current schema changed: expected id 0 != 1");
    malformed(b, "[{\"type\":\"assert-current-schema-id\",\"current-schema-id\":4294967296}]",
              "32-bit");
    json_decref(b);
}

static void test_assert_last_assigned_partition_id(void **state)
{
    json_t *b = parse(base_text);

    (void)state;
    pass(b,
         "[{\"type\":\"assert-last-assigned-partition-id\",\"last-assigned-partition-id\":1001}]");
    fails(b,
          "[{\"type\":\"assert-last-assigned-partition-id\",\"last-assigned-partition-id\":999}]",
          ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: last assigned partition id changed: expected id 999 != 1001");
    json_decref(b);
}

static void test_assert_default_spec_id(void **state)
{
    json_t *b = parse(base_text);

    (void)state;
    pass(b, "[{\"type\":\"assert-default-spec-id\",\"default-spec-id\":2}]");
    fails(b, "[{\"type\":\"assert-default-spec-id\",\"default-spec-id\":0}]", ST_CONFLICT,
          ET_COMMIT_FAILED,
          "Requirement failed: default partition spec changed: expected id 0 != 2");
    malformed(b, "[{\"type\":\"assert-default-spec-id\",\"default-spec-id\":true}]",
              "default-spec-id");
    json_decref(b);
}

static void test_assert_default_sort_order_id(void **state)
{
    json_t *b = parse(base_text);

    (void)state;
    pass(b, "[{\"type\":\"assert-default-sort-order-id\",\"default-sort-order-id\":1}]");
    fails(b, "[{\"type\":\"assert-default-sort-order-id\",\"default-sort-order-id\":0}]",
          ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: default sort order changed: expected id 0 != 1");
    json_decref(b);
}

static void test_first_failure_wins_and_malformed_first(void **state)
{
    json_t *b = parse(base_text);

    (void)state;
    fails(b,
          "[{\"type\":\"assert-current-schema-id\",\"current-schema-id\":1},"
          "{\"type\":\"assert-default-spec-id\",\"default-spec-id\":0},"
          "{\"type\":\"assert-default-sort-order-id\",\"default-sort-order-id\":0}]",
          ST_CONFLICT, ET_COMMIT_FAILED,
          "Requirement failed: default partition spec changed: expected id 0 != 2");
    /* A malformed requirement later in the list wins over an earlier failing one. */
    malformed(b,
              "[{\"type\":\"assert-default-spec-id\",\"default-spec-id\":0},"
              "{\"type\":\"assert-nothing\"}]",
              "assert-nothing");
    /* Types are matched case-insensitively, as Java does. */
    pass(b, "[{\"type\":\"ASSERT-DEFAULT-SPEC-ID\",\"default-spec-id\":2}]");
    json_decref(b);
}

static void test_malformed_requirements(void **state)
{
    json_t *b = parse(base_text);
    struct error err;

    (void)state;
    malformed(b, "[{\"type\":\"assert-everything\"}]", "Unknown table requirement type");
    malformed(b, "[{\"uuid\":\"x\"}]", "type");
    malformed(b, "[3]", "not an object");
    malformed(b, "{\"type\":\"assert-create\"}", "must be an array");
    fails(b, "[{\"type\":\"assert-view-uuid\",\"uuid\":\"" UUID1 "\"}]", ST_INVALID, ET_VALIDATION,
          "Cannot validate AssertViewUUID against a table");
    assert_int_equal(meta_check_requirements(b, NULL, &err), ST_OK);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assert_create),
        cmocka_unit_test(test_missing_table),
        cmocka_unit_test(test_assert_table_uuid),
        cmocka_unit_test(test_assert_ref_snapshot_id),
        cmocka_unit_test(test_ref_of_old_v1_metadata),
        cmocka_unit_test(test_assert_last_assigned_field_id),
        cmocka_unit_test(test_assert_current_schema_id),
        cmocka_unit_test(test_assert_last_assigned_partition_id),
        cmocka_unit_test(test_assert_default_spec_id),
        cmocka_unit_test(test_assert_default_sort_order_id),
        cmocka_unit_test(test_first_failure_wins_and_malformed_first),
        cmocka_unit_test(test_malformed_requirements),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
