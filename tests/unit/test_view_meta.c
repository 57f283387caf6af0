/*
 * test_view_meta.c - view metadata: creation, each ViewUpdate action with
 * Java's ViewMetadata.Builder semantics (id reuse, -1, dialects, retention,
 * version log), requirements, parsing, serialisation order, file names, and
 * malformed input answered with 400 rather than a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/view_meta.h"

#define UUID1 "fa6506c3-7681-40c8-86dc-e36561f83385"
#define NOW 5000000

/* SCHEMA of ViewCatalogTests: id 5, fields 3 and 4. */
#define SCHEMA_A                                                                                   \
    "{\"type\":\"struct\",\"schema-id\":5,\"fields\":[{\"id\":3,\"name\":\"id\",\"required\":"     \
    "true,"                                                                                        \
    "\"type\":\"int\",\"doc\":\"unique ID\"},{\"id\":4,\"name\":\"data\",\"required\":true,"       \
    "\"type\":\"string\"}]}"
/* OTHER_SCHEMA: id 7, one field. */
#define SCHEMA_B                                                                                   \
    "{\"type\":\"struct\",\"schema-id\":7,\"fields\":[{\"id\":1,\"name\":\"some_id\","             \
    "\"required\":true,\"type\":\"int\"}]}"

#define SQL(d, q) "{\"type\":\"sql\",\"sql\":\"" q "\",\"dialect\":\"" d "\"}"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);

    if (!v)
        fail_msg("bad test JSON: %s: %s", jerr.text, text);
    return v;
}

static json_t *fmt_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *fmt_json(const char *fmt, ...)
{
    char buf[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return parse(buf);
}

/* A version object as a client sends it. */
static char *version_text(int id, int schema_id, long ts, const char *reps)
{
    static char buf[2048];

    snprintf(buf, sizeof(buf),
             "{\"version-id\":%d,\"schema-id\":%d,\"timestamp-ms\":%ld,\"summary\":"
             "{\"engine-name\":\"test\"},\"default-namespace\":[\"ns\"],\"representations\":[%s]}",
             id, schema_id, ts, reps);
    return buf;
}

static json_t *create_req(const char *reps, const char *props)
{
    return fmt_json("{\"name\":\"view\",\"schema\":" SCHEMA_A ",\"view-version\":%s,"
                    "\"properties\":%s}",
                    version_text(1, 5, 1000, reps), props);
}

/* A created view with one spark version. */
static json_t *new_view(const char *reps, const char *props)
{
    json_t *req = create_req(reps, props), *meta = NULL;
    struct error err = {0};

    assert_int_equal(view_new(req, "s3://b/wh/ns/view", UUID1, NOW, &meta, &err), ST_OK);
    json_decref(req);
    return meta;
}

static enum status apply(const json_t *base, const char *updates, int64_t now, json_t **out,
                         bool *changed, struct error *err)
{
    json_t *u = parse(updates);
    enum status rc;

    *out = NULL;
    rc = view_apply_updates(base, u, now, out, changed, err);
    json_decref(u);
    return rc;
}

/* Applies updates that must succeed; returns the new metadata. */
static json_t *apply_ok(const json_t *base, const char *updates, int64_t now)
{
    struct error err = {0};
    json_t *out = NULL;

    if (apply(base, updates, now, &out, NULL, &err) != ST_OK)
        fail_msg("updates failed: %s", err.msg);
    return out;
}

/* Applies updates that must fail; checks status, type and message. */
static void apply_fails(const json_t *base, const char *updates, enum status st, enum errtype type,
                        const char *msg)
{
    struct error err = {0};
    json_t *out = NULL;

    assert_int_equal(apply(base, updates, NOW, &out, NULL, &err), st);
    assert_null(out);
    assert_int_equal(err.type, type);
    if (msg)
        assert_string_equal(err.msg, msg);
}

/* A Java-style replace: add-schema, add-view-version (-1), set-current -1, more. */
static char *replace_updates(const char *schema, int id, long ts, const char *reps,
                             const char *extra)
{
    static char buf[4096];

    snprintf(buf, sizeof(buf),
             "[{\"action\":\"add-schema\",\"schema\":%s},"
             "{\"action\":\"add-view-version\",\"view-version\":%s},"
             "{\"action\":\"set-current-view-version\",\"view-version-id\":-1}%s]",
             schema, version_text(id, -1, ts, reps), extra);
    return buf;
}

static int64_t ival(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static const json_t *version_at(const json_t *meta, size_t i)
{
    return json_array_get(json_object_get(meta, "versions"), i);
}

static void assert_version_ids(const json_t *meta, const int64_t *ids, size_t n)
{
    const json_t *versions = json_object_get(meta, "versions");

    assert_int_equal(json_array_size(versions), n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ival(json_array_get(versions, i), "version-id"), ids[i]);
}

static void assert_log(const json_t *meta, const int64_t *ids, const int64_t *ts, size_t n)
{
    const json_t *log = json_object_get(meta, "version-log");

    assert_int_equal(json_array_size(log), n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ival(json_array_get(log, i), "version-id"), ids[i]);
        if (ts)
            assert_int_equal(ival(json_array_get(log, i), "timestamp-ms"), ts[i]);
    }
}

static void assert_key_order(const json_t *obj, const char *const *keys)
{
    const char *key;
    json_t *v;
    size_t i = 0;

    json_object_foreach((json_t *)obj, key, v)
    {
        (void)v;
        assert_non_null(keys[i]);
        assert_string_equal(key, keys[i]);
        i++;
    }
    assert_null(keys[i]);
}

/* ---------------------------------------------------------------- creation */

static void test_create_basic(void **state)
{
    json_t *meta = new_view(SQL("spark", "select * from ns.tbl"), "{\"prop1\":\"val1\"}");
    const json_t *schema, *v;
    struct error err = {0};
    int64_t one = 1, ts = 1000;

    (void)state;
    assert_string_equal(json_string_value(json_object_get(meta, "view-uuid")), UUID1);
    assert_int_equal(ival(meta, "format-version"), 1);
    assert_string_equal(view_location(meta), "s3://b/wh/ns/view");
    /* the schema becomes schema 0 and keeps its field ids */
    assert_int_equal(json_array_size(json_object_get(meta, "schemas")), 1);
    schema = json_array_get(json_object_get(meta, "schemas"), 0);
    assert_int_equal(ival(schema, "schema-id"), 0);
    assert_int_equal(ival(json_array_get(json_object_get(schema, "fields"), 0), "id"), 3);
    /* the version keeps id 1, its schema-id is rewritten */
    assert_int_equal(ival(meta, "current-version-id"), 1);
    v = version_at(meta, 0);
    assert_int_equal(ival(v, "version-id"), 1);
    assert_int_equal(ival(v, "schema-id"), 0);
    assert_int_equal(ival(v, "timestamp-ms"), 1000);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(v, "representations"), 0), "dialect")),
                        "spark");
    /* one version-log entry, at the version's time */
    assert_log(meta, &one, &ts, 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(meta, "properties"), "prop1")), "val1");
    assert_int_equal(view_validate(meta, &err), ST_OK);
    json_decref(meta);
}

static void test_create_version_id(void **state)
{
    json_t *req, *meta = NULL;
    struct error err = {0};

    (void)state;
    /* an id below 1 becomes 1 */
    req = fmt_json("{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":%s}",
                   version_text(0, 5, 1000, SQL("spark", "select 1")));
    assert_int_equal(view_new(req, "file:/wh/v", UUID1, NOW, &meta, &err), ST_OK);
    assert_int_equal(ival(meta, "current-version-id"), 1);
    /* no properties: the key is left out, as Java writes it */
    assert_null(json_object_get(meta, "properties"));
    json_decref(req);
    json_decref(meta);
    /* a higher id chosen by the client is kept */
    req = fmt_json("{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":%s,"
                   "\"location\":\"file:/req\",\"properties\":{}}",
                   version_text(3, -1, 1000, SQL("spark", "select 1")));
    assert_int_equal(view_new(req, NULL, UUID1, NOW, &meta, &err), ST_OK);
    assert_int_equal(ival(meta, "current-version-id"), 3);
    assert_int_equal(ival(version_at(meta, 0), "schema-id"), 0);
    /* with no location argument the request's is used */
    assert_string_equal(view_location(meta), "file:/req");
    json_decref(req);
    json_decref(meta);
}

static void test_create_duplicate_dialect(void **state)
{
    json_t *req = create_req(SQL("trino", "select 1") "," SQL("Trino", "select 2"), "{}");
    json_t *meta = NULL;
    struct error err = {0};

    (void)state;
    assert_int_equal(view_new(req, "file:/wh/v", UUID1, NOW, &meta, &err), ST_INVALID);
    assert_null(meta);
    assert_int_equal(err.type, ET_ILLEGAL_ARGUMENT);
    assert_string_equal(err.msg, "Invalid view version: Cannot add multiple queries for dialect "
                                 "trino");
    assert_int_equal(error_http_code(&err), 400);
    json_decref(req);
}

static void test_create_history_size_checked(void **state)
{
    json_t *req = create_req(SQL("spark", "select 1"), "{\"version.history.num-entries\":\"0\"}");
    json_t *meta = NULL;
    struct error err = {0};

    (void)state;
    assert_int_equal(view_new(req, "file:/wh/v", UUID1, NOW, &meta, &err), ST_INVALID);
    assert_string_equal(err.msg, "version.history.num-entries must be positive but was 0");
    json_decref(req);
}

static void test_create_malformed(void **state)
{
    static const char *bad[] = {
        "[]",
        "{}",
        "{\"name\":1}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A "}",
        "{\"name\":\"v\",\"view-version\":%s}",
        "{\"name\":\"v\",\"schema\":\"x\",\"view-version\":%s}",
        "{\"name\":\"v\",\"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":1}]},"
        "\"view-version\":%s}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":[]}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":%s,\"properties\":{\"a\":1}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":%s,\"properties\":[]}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":%s,\"location\":7}",
        /* version shapes */
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":\"1\","
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[" SQL("a", "b") "]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":4294967297,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[" SQL("a", "b") "]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1.5,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[" SQL("a", "b") "]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{\"k\":2},\"default-namespace\":[],"
        "\"representations\":[" SQL("a", "b") "]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":\"ns\","
        "\"representations\":[" SQL("a", "b") "]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[1],"
        "\"representations\":[" SQL("a", "b") "]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[],"
        "\"default-catalog\":[],\"representations\":[" SQL("a", "b") "]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":{}}}",
        /* representation shapes */
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[\"select 1\"]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[{\"type\":\"sql\",\"sql\":\"select 1\"}]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[{\"type\":\"sql\",\"sql\":null,\"dialect\":\"x\"}]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[{\"type\":\"substrait\",\"plan\":\"x\"}]}}",
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[{\"sql\":\"x\",\"dialect\":\"x\"}]}}",
        /* no query at all */
        "{\"name\":\"v\",\"schema\":" SCHEMA_A ",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":1,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[]}}",
    };
    char text[4096];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *req, *meta = NULL;
        struct error err = {0};

        const char *hole = strstr(bad[i], "%s");

        if (hole)
            snprintf(text, sizeof(text), "%.*s%s%s", (int)(hole - bad[i]), bad[i],
                     version_text(1, 0, 1, SQL("spark", "select 1")), hole + 2);
        else
            snprintf(text, sizeof(text), "%s", bad[i]);
        req = parse(text);
        if (view_new(req, "file:/wh/v", UUID1, NOW, &meta, &err) != ST_INVALID)
            fail_msg("case %zu accepted: %s", i, text);
        assert_null(meta);
        assert_int_equal(error_http_code(&err), 400);
        assert_true(strlen(err.msg) > 0);
        json_decref(req);
    }
}

/* ---------------------------------------------------------------- serialisation */

static const char *const java_order[] = {"view-uuid",  "format-version", "location",
                                         "properties", "schemas",        "current-version-id",
                                         "versions",   "version-log",    NULL};

static void test_serialize_order(void **state)
{
    json_t *meta = new_view(SQL("spark", "select 1"), "{\"comment\":\"c\"}");
    json_t *back = NULL;
    static const char *const version_order[] = {
        "version-id",        "timestamp-ms",    "schema-id", "summary",
        "default-namespace", "representations", NULL};
    static const char *const schema_order[] = {"type", "schema-id", "fields", NULL};
    struct error err = {0};
    char *text;

    (void)state;
    assert_key_order(meta, java_order);
    assert_key_order(version_at(meta, 0), version_order);
    assert_key_order(json_array_get(json_object_get(meta, "schemas"), 0), schema_order);
    text = view_serialize(meta);
    assert_non_null(strstr(text, "{\"view-uuid\":\"" UUID1 "\",\"format-version\":1,"
                                 "\"location\":\"s3://b/wh/ns/view\",\"properties\":"
                                 "{\"comment\":\"c\"},\"schemas\":[{\"type\":\"struct\","
                                 "\"schema-id\":0,"));
    assert_non_null(strstr(text, "\"version-log\":[{\"timestamp-ms\":1000,\"version-id\":1}]}"));
    /* what is written parses back to the same tree */
    assert_int_equal(view_parse(text, strlen(text), &back, &err), ST_OK);
    assert_true(json_equal(back, meta));
    free(text);
    json_decref(back);
    json_decref(meta);
}

/* ---------------------------------------------------------------- parsing */

/* A file as Java's ViewMetadataParser writes it (pretty, format/view-spec.md's example). */
static const char *java_file =
    "{\n"
    "  \"view-uuid\" : \"fa6506c3-7681-40c8-86dc-e36561f83385\",\n"
    "  \"format-version\" : 1,\n"
    "  \"location\" : \"s3://bucket/warehouse/default.db/event_agg\",\n"
    "  \"properties\" : {\n"
    "    \"comment\" : \"Daily event counts\"\n"
    "  },\n"
    "  \"schemas\" : [ {\n"
    "    \"type\" : \"struct\",\n"
    "    \"schema-id\" : 1,\n"
    "    \"fields\" : [ {\n"
    "      \"id\" : 1,\n"
    "      \"name\" : \"event_count\",\n"
    "      \"required\" : false,\n"
    "      \"type\" : \"int\",\n"
    "      \"doc\" : \"Count of events\"\n"
    "    }, {\n"
    "      \"id\" : 2,\n"
    "      \"name\" : \"event_date\",\n"
    "      \"required\" : false,\n"
    "      \"type\" : \"date\"\n"
    "    } ]\n"
    "  } ],\n"
    "  \"current-version-id\" : 2,\n"
    "  \"versions\" : [ {\n"
    "    \"version-id\" : 1,\n"
    "    \"timestamp-ms\" : 1573518431292,\n"
    "    \"schema-id\" : 1,\n"
    "    \"summary\" : {\n"
    "      \"engine-name\" : \"Spark\",\n"
    "      \"engine-version\" : \"3.3.2\"\n"
    "    },\n"
    "    \"default-catalog\" : \"prod\",\n"
    "    \"default-namespace\" : [ \"default\" ],\n"
    "    \"representations\" : [ {\n"
    "      \"type\" : \"sql\",\n"
    "      \"sql\" : \"SELECT\\n    COUNT(1), CAST(event_ts AS DATE)\\nFROM events\\nGROUP BY "
    "2\",\n"
    "      \"dialect\" : \"spark\"\n"
    "    } ]\n"
    "  }, {\n"
    "    \"version-id\" : 2,\n"
    "    \"timestamp-ms\" : 1573518981593,\n"
    "    \"schema-id\" : 1,\n"
    "    \"summary\" : {\n"
    "      \"engine-name\" : \"Spark\",\n"
    "      \"engine-version\" : \"3.3.2\"\n"
    "    },\n"
    "    \"default-catalog\" : \"prod\",\n"
    "    \"default-namespace\" : [ \"default\" ],\n"
    "    \"representations\" : [ {\n"
    "      \"type\" : \"sql\",\n"
    "      \"sql\" : \"SELECT\\n    COUNT(1), CAST(event_ts AS DATE)\\nFROM prod.default.events"
    "\\nGROUP BY 2\",\n"
    "      \"dialect\" : \"spark\"\n"
    "    } ]\n"
    "  } ],\n"
    "  \"version-log\" : [ {\n"
    "    \"timestamp-ms\" : 1573518431292,\n"
    "    \"version-id\" : 1\n"
    "  }, {\n"
    "    \"timestamp-ms\" : 1573518981593,\n"
    "    \"version-id\" : 2\n"
    "  } ]\n"
    "}\n";

static void test_parse_java_file(void **state)
{
    json_t *meta = NULL, *next;
    struct error err = {0};
    int64_t ids[] = {1, 2, 3};
    char *text;

    (void)state;
    assert_int_equal(view_parse(java_file, strlen(java_file), &meta, &err), ST_OK);
    assert_key_order(meta, java_order);
    assert_int_equal(ival(meta, "current-version-id"), 2);
    assert_string_equal(json_string_value(json_object_get(version_at(meta, 0), "default-catalog")),
                        "prod");
    assert_int_equal(ival(version_at(meta, 1), "timestamp-ms"), 1573518981593LL);
    /* a Java-written view can be replaced: version 3, the existing schema 1 reused */
    next = apply_ok(meta,
                    "[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":3,"
                    "\"schema-id\":1,\"timestamp-ms\":1600000000000,\"summary\":{},"
                    "\"default-namespace\":[\"default\"],\"representations\":["
                    "{\"type\":\"SQL\",\"sql\":\"select 1\",\"dialect\":\"spark\"}]}},"
                    "{\"action\":\"set-current-view-version\",\"view-version-id\":-1}]",
                    NOW);
    assert_version_ids(next, ids, 3);
    /* the representation type is written lower-case */
    text = view_serialize(next);
    assert_non_null(strstr(text, "\"representations\":[{\"type\":\"sql\",\"sql\":\"select 1\""));
    free(text);
    json_decref(next);
    json_decref(meta);
}

static void test_parse_malformed(void **state)
{
    static const struct {
        const char *from, *to;
    } edits[] = {
        {"\"format-version\" : 1", "\"format-version\" : 2"},
        {"\"format-version\" : 1", "\"format-version\" : \"1\""},
        {"\"current-version-id\" : 2", "\"current-version-id\" : 9"},
        {"\"current-version-id\" : 2", "\"current-version-id\" : 2.5"},
        {"\"schema-id\" : 1,\n    \"fields\"", "\"schema-id\" : 4,\n    \"fields\""},
        {"\"version-id\" : 1,\n    \"timestamp-ms\"", "\"version-id\" : 2,\n    \"timestamp-ms\""},
        {"\"version-log\" : [", "\"version-lag\" : ["},
        {"\"version-id\" : 1\n", "\"version-id\" : \"1\"\n"},
        {"\"view-uuid\" : \"fa6506c3-7681-40c8-86dc-e36561f83385\"", "\"view-uuid\" : null"},
        {"\"location\" : \"s3", "\"locatio\" : \"s3"},
        {"\"comment\" : \"Daily event counts\"", "\"comment\" : 1"},
        {"\"schemas\" : [ {", "\"schemas\" : { \"x\": {"},
        {"\"type\" : \"int\"", "\"type\" : \"integer\""},
        {"\"dialect\" : \"spark\"", "\"dialect\" : [\"spark\"]"},
        {"\"representations\" : [ {", "\"representations\" : [ 1, {"},
        {"\"version-log\" : [ {", "\"version-log\" : [ 1, {"},
        {"\"summary\" : {", "\"summary\" : [ {"},
        {"\n}\n", "\n}\n}"},
        {"{\n  \"view-uuid\"", "[\n  \"view-uuid\""},
    };
    char text[8192];

    (void)state;
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        const char *at = strstr(java_file, edits[i].from);
        json_t *meta = NULL;
        struct error err = {0};
        int n;

        assert_non_null(at);
        n = snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - java_file), java_file, edits[i].to,
                     at + strlen(edits[i].from));
        assert_true(n > 0 && (size_t)n < sizeof(text));
        if (view_parse(text, strlen(text), &meta, &err) != ST_INVALID)
            fail_msg("edit %zu accepted", i);
        assert_null(meta);
        assert_int_equal(error_http_code(&err), 400);
    }
}

static void test_parse_messages(void **state)
{
    const char *at = strstr(java_file, "\"current-version-id\" : 2");
    char text[8192];
    json_t *meta = NULL;
    struct error err = {0};

    (void)state;
    snprintf(text, sizeof(text), "%.*s\"current-version-id\" : 9%s", (int)(at - java_file),
             java_file, at + strlen("\"current-version-id\" : 2"));
    assert_int_equal(view_parse(text, strlen(text), &meta, &err), ST_INVALID);
    assert_string_equal(err.msg, "Cannot find current version 9 in view versions: [1, 2]");
    at = strstr(java_file, "\"format-version\" : 1");
    snprintf(text, sizeof(text), "%.*s\"format-version\" : 2%s", (int)(at - java_file), java_file,
             at + strlen("\"format-version\" : 1"));
    assert_int_equal(view_parse(text, strlen(text), &meta, &err), ST_INVALID);
    assert_string_equal(err.msg, "Unsupported format version: 2");
}

/* ---------------------------------------------------------------- replace */

static void test_replace_java_style(void **state)
{
    json_t *base = new_view(SQL("spark", "select * from ns.tbl"), "{\"prop1\":\"val1\"}");
    json_t *out = NULL;
    struct error err = {0};
    bool changed = false;
    int64_t ids[] = {1, 2}, ts[] = {1000, 2000};
    const json_t *v;

    (void)state;
    assert_int_equal(apply(base,
                           replace_updates(SCHEMA_B, 2, 2000, SQL("trino", "select count(*)"),
                                           ",{\"action\":\"set-properties\",\"updates\":"
                                           "{\"replace.drop-dialect.allowed\":\"true\"}}"),
                           NOW, &out, &changed, &err),
                     ST_OK);
    assert_true(changed);
    assert_int_equal(ival(out, "current-version-id"), 2);
    assert_int_equal(json_array_size(json_object_get(out, "schemas")), 2);
    assert_int_equal(ival(json_array_get(json_object_get(out, "schemas"), 1), "schema-id"), 1);
    assert_version_ids(out, ids, 2);
    v = version_at(out, 1);
    assert_int_equal(ival(v, "schema-id"), 1);
    /* the log entry of a version added in the commit has the version's own time */
    assert_log(out, ids, ts, 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "properties"), "prop1")), "val1");
    assert_key_order(out, java_order);
    json_decref(out);
    json_decref(base);
}

static void test_dialect_loss_guard(void **state)
{
    json_t *base = new_view(SQL("trino", "select 1") "," SQL("spark", "select 1"), "{}");
    json_t *out;

    (void)state;
    /* Java's HashSet prints [trino, spark] whatever the insertion order */
    apply_fails(base, replace_updates(SCHEMA_A, 2, 2000, SQL("Trino", "select 2"), ""), ST_INVALID,
                ET_ILLEGAL_ARGUMENT,
                "Cannot replace view due to loss of view dialects "
                "(replace.drop-dialect.allowed=false):\nPrevious dialects: [trino, spark]\n"
                "New dialects: [trino]");
    /* a superset, compared without case, passes */
    out = apply_ok(
        base,
        replace_updates(
            SCHEMA_A, 2, 2000,
            SQL("SPARK", "select 2") "," SQL("trino", "select 2") "," SQL("hive", "select 2"), ""),
        NOW);
    assert_int_equal(ival(out, "current-version-id"), 2);
    json_decref(out);
    /* allowed by the property, set in the same commit */
    out = apply_ok(base,
                   replace_updates(SCHEMA_A, 2, 2000, SQL("trino", "select 2"),
                                   ",{\"action\":\"set-properties\",\"updates\":"
                                   "{\"replace.drop-dialect.allowed\":\"TRUE\"}}"),
                   NOW);
    json_decref(out);
    /* "yes" is not true for Java's Boolean.parseBoolean */
    apply_fails(base,
                replace_updates(SCHEMA_A, 2, 2000, SQL("trino", "select 2"),
                                ",{\"action\":\"set-properties\",\"updates\":"
                                "{\"replace.drop-dialect.allowed\":\"yes\"}}"),
                ST_INVALID, ET_ILLEGAL_ARGUMENT, NULL);
    /* adding a version without making it current loses nothing */
    out = apply_ok(base,
                   "[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":2,"
                   "\"schema-id\":0,\"timestamp-ms\":3,\"summary\":{},\"default-namespace\":[],"
                   "\"representations\":[" SQL("hive", "x") "]}}]",
                   NOW);
    assert_int_equal(ival(out, "current-version-id"), 1);
    json_decref(out);
    json_decref(base);
}

static void test_dialect_set_order(void **state)
{
    json_t *base = new_view(
        SQL("spark", "a") "," SQL("trino", "b") "," SQL("hive", "c") "," SQL("presto", "d"), "{}");
    json_t *out = NULL;
    struct error err = {0};

    (void)state;
    /* orders printed by a JVM for these sets */
    assert_int_equal(
        apply(base, replace_updates(SCHEMA_A, 2, 2, SQL("dremio", "x"), ""), NOW, &out, NULL, &err),
        ST_INVALID);
    assert_non_null(strstr(err.msg, "Previous dialects: [hive, trino, spark, presto]\n"
                                    "New dialects: [dremio]"));
    json_decref(base);
}

static void test_duplicate_dialect_on_add(void **state)
{
    json_t *base = new_view(SQL("trino", "select 1"), "{}");

    (void)state;
    apply_fails(base,
                replace_updates(SCHEMA_A, 2, 2000,
                                SQL("trino", "select 1") "," SQL("TRINO", "select 1"), ""),
                ST_INVALID, ET_ILLEGAL_ARGUMENT,
                "Invalid view version: Cannot add multiple queries for dialect trino");
    json_decref(base);
}

/* ---------------------------------------------------------------- ids */

static void test_version_id_reuse(void **state)
{
    json_t *base = new_view(SQL("spark", "select 1"), "{}");
    json_t *v2, *out;
    bool changed = true;
    struct error err = {0};
    int64_t ids[] = {1, 2}, log_ids[] = {1, 2, 1}, log_ts[] = {1000, 2000, 7777};

    (void)state;
    v2 = apply_ok(base, replace_updates(SCHEMA_A, 2, 2000, SQL("spark", "select 2"), ""), NOW);
    /* the same definition as version 1 (id and timestamp differ) reuses id 1 */
    assert_int_equal(
        apply(v2,
              "[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":9,"
              "\"schema-id\":0,\"timestamp-ms\":5,\"summary\":{\"engine-name\":\"test\"},"
              "\"default-namespace\":[\"ns\"],\"representations\":[" SQL(
                  "spark",
                  "select 1") "]}},"
                              "{\"action\":\"set-current-view-version\",\"view-version-id\":1}]",
              7777, &out, &changed, &err),
        ST_OK);
    assert_true(changed);
    assert_version_ids(out, ids, 2);
    assert_int_equal(ival(out, "current-version-id"), 1);
    /* re-activating an old version logs the commit time */
    assert_log(out, log_ids, log_ts, 3);
    json_decref(out);
    /* a reused version from the base is not "added last" */
    apply_fails(v2,
                "[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":9,"
                "\"schema-id\":0,\"timestamp-ms\":5,\"summary\":{\"engine-name\":\"test\"},"
                "\"default-namespace\":[\"ns\"],\"representations\":[" SQL(
                    "spark",
                    "select 1") "]}},"
                                "{\"action\":\"set-current-view-version\",\"view-version-id\":-1}]",
                ST_INVALID, ET_VALIDATION,
                "Cannot set last version id: no current version id has been set");
    /* a different summary is a different version */
    out = apply_ok(
        v2,
        "[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":5,\"summary\":{\"engine-name\":\"other\"},"
        "\"default-namespace\":[\"ns\"],\"representations\":[" SQL("spark", "select 1") "]}}]",
        NOW);
    assert_int_equal(ival(version_at(out, 2), "version-id"), 3);
    json_decref(out);
    /* a client id above the highest is kept */
    out = apply_ok(v2, replace_updates(SCHEMA_A, 10, 3000, SQL("spark", "select 10"), ""), NOW);
    assert_int_equal(ival(out, "current-version-id"), 10);
    json_decref(out);
    /* adding the same version twice in one commit keeps it "added last" */
    out = apply_ok(
        v2,
        "[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":3,"
        "\"schema-id\":0,\"timestamp-ms\":5,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[" SQL(
            "spark",
            "q") "]}},"
                 "{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":4,"
                 "\"schema-id\":0,\"timestamp-ms\":6,\"summary\":{},\"default-namespace\":[],"
                 "\"representations\":[" SQL(
                     "spark",
                     "q") "]}},"
                          "{\"action\":\"set-current-view-version\",\"view-version-id\":-1}]",
        NOW);
    assert_int_equal(ival(out, "current-version-id"), 3);
    assert_int_equal(json_array_size(json_object_get(out, "versions")), 3);
    json_decref(out);
    json_decref(v2);
    json_decref(base);
}

static void test_schema_reuse_and_last_added(void **state)
{
    json_t *base = new_view(SQL("spark", "select 1"), "{}");
    json_t *out = NULL;
    bool changed = true;
    struct error err = {0};

    (void)state;
    /* an identical schema (ids ignored) is not added again: nothing changes */
    assert_int_equal(apply(base, "[{\"action\":\"add-schema\",\"schema\":" SCHEMA_A "}]", NOW, &out,
                           &changed, &err),
                     ST_OK);
    assert_false(changed);
    assert_int_equal(json_array_size(json_object_get(out, "schemas")), 1);
    json_decref(out);
    /* ... but counts as "last added" (kinder than Java); without any add-schema -1 fails */
    out = apply_ok(base, replace_updates(SCHEMA_A, 2, 2, SQL("spark", "x"), ""), NOW);
    assert_int_equal(ival(version_at(out, 1), "schema-id"), 0);
    assert_int_equal(json_array_size(json_object_get(out, "schemas")), 1);
    json_decref(out);
    apply_fails(base,
                "[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":2,"
                "\"schema-id\":-1,\"timestamp-ms\":5,\"summary\":{},\"default-namespace\":[],"
                "\"representations\":[" SQL("spark", "q") "]}}]",
                ST_INVALID, ET_VALIDATION,
                "Cannot set last added schema: no schema has been added");
    apply_fails(base,
                "[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":2,"
                "\"schema-id\":9,\"timestamp-ms\":5,\"summary\":{},\"default-namespace\":[],"
                "\"representations\":[" SQL("spark", "q") "]}}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, "Cannot add version with unknown schema: 9");
    /* add-schema's deprecated last-column-id must still be an int */
    apply_fails(base,
                "[{\"action\":\"add-schema\",\"schema\":" SCHEMA_B ",\"last-column-id\":\"x\"}]",
                ST_INVALID, ET_BAD_REQUEST, NULL);
    apply_fails(base, "[{\"action\":\"add-schema\",\"schema\":{\"type\":\"list\"}}]", ST_INVALID,
                ET_BAD_REQUEST, NULL);
    json_decref(base);
}

static void test_set_current_errors(void **state)
{
    json_t *base = new_view(SQL("spark", "select 1"), "{}");
    json_t *out = NULL;
    bool changed = true;
    struct error err = {0};

    (void)state;
    apply_fails(base, "[{\"action\":\"set-current-view-version\",\"view-version-id\":42}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT,
                "Cannot set current version to unknown version: 42");
    apply_fails(base, "[{\"action\":\"set-current-view-version\",\"view-version-id\":-1}]",
                ST_INVALID, ET_VALIDATION,
                "Cannot set last version id: no current version id has been set");
    apply_fails(base, "[{\"action\":\"set-current-view-version\"}]", ST_INVALID, ET_BAD_REQUEST,
                NULL);
    /* the current version again is no change and no log entry */
    assert_int_equal(apply(base,
                           "[{\"action\":\"set-current-view-version\",\"view-version-id\":1}]", NOW,
                           &out, &changed, &err),
                     ST_OK);
    assert_false(changed);
    assert_int_equal(json_array_size(json_object_get(out, "version-log")), 1);
    json_decref(out);
    json_decref(base);
}

/* ---------------------------------------------------------------- retention */

/* A view with versions 1..n (each a replace), current n, with the given properties. */
static json_t *view_with_versions(int n, const char *props)
{
    json_t *meta = new_view(SQL("spark", "select 1"), props), *next;
    char sql[32], reps[128];

    for (int i = 2; i <= n; i++) {
        snprintf(sql, sizeof(sql), "select %d", i);
        snprintf(reps, sizeof(reps), "{\"type\":\"sql\",\"sql\":\"%s\",\"dialect\":\"spark\"}",
                 sql);
        next = apply_ok(meta, replace_updates(SCHEMA_A, i, 1000L * i, reps, ""), NOW + i);
        json_decref(meta);
        meta = next;
    }
    return meta;
}

static void test_retention_default(void **state)
{
    json_t *meta = view_with_versions(12, "{}");
    int64_t ids[10], log_ids[10];

    (void)state;
    /* ten kept: the current one first, then the newest others, as Java's expireVersions */
    ids[0] = 12;
    for (int i = 1; i < 10; i++)
        ids[i] = 12 - i;
    assert_version_ids(meta, ids, 10);
    /* the log keeps only entries after the last one naming a dropped version */
    for (int i = 0; i < 10; i++)
        log_ids[i] = 3 + i;
    assert_log(meta, log_ids, NULL, 10);
    json_decref(meta);
}

static void test_retention_property(void **state)
{
    json_t *meta = view_with_versions(4, "{\"version.history.num-entries\":\"2\"}");
    json_t *out;
    int64_t ids[] = {4, 3}, log_ids[] = {3, 4};
    int64_t one = 1;

    (void)state;
    assert_version_ids(meta, ids, 2);
    assert_log(meta, log_ids, NULL, 2);
    /* the current version is kept even when it is not among the newest */
    out = apply_ok(
        meta,
        "[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":1,"
        "\"schema-id\":0,\"timestamp-ms\":5,\"summary\":{},\"default-namespace\":[],"
        "\"representations\":[" SQL("spark", "old") "]}},"
                                                    "{\"action\":\"set-properties\",\"updates\":"
                                                    "{\"version.history.num-entries\":\"1\"}}]",
        NOW);
    /* version 5 was added by this commit, so it stays with the current one */
    {
        int64_t kept[] = {4, 5};
        assert_version_ids(out, kept, 2);
    }
    json_decref(out);
    out = apply_ok(meta,
                   "[{\"action\":\"set-current-view-version\",\"view-version-id\":3},"
                   "{\"action\":\"set-properties\",\"updates\":"
                   "{\"version.history.num-entries\":\"+1\"}}]",
                   NOW);
    {
        int64_t kept[] = {3}, log3[] = {3};
        assert_version_ids(out, kept, 1);
        assert_log(out, log3, NULL, 1);
    }
    (void)one;
    json_decref(out);
    apply_fails(meta,
                "[{\"action\":\"set-properties\",\"updates\":"
                "{\"version.history.num-entries\":\"-3\"}}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT,
                "version.history.num-entries must be positive but was -3");
    apply_fails(meta,
                "[{\"action\":\"set-properties\",\"updates\":"
                "{\"version.history.num-entries\":\"ten\"}}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, NULL);
    json_decref(meta);
}

/* ---------------------------------------------------------------- other actions */

static void test_properties_and_location(void **state)
{
    json_t *base = new_view(SQL("spark", "select 1"), "{\"a\":\"1\",\"b\":\"2\"}");
    json_t *out = NULL, *want = parse("{\"a\":\"9\",\"c\":\"3\"}");
    bool changed = true;
    struct error err = {0};

    (void)state;
    assert_int_equal(apply(base,
                           "[{\"action\":\"set-properties\",\"updates\":{\"c\":\"3\",\"a\":\"9\"}},"
                           "{\"action\":\"remove-properties\",\"removals\":[\"b\",\"missing\"]},"
                           "{\"action\":\"set-location\",\"location\":\"s3://b/other\"}]",
                           NOW, &out, &changed, &err),
                     ST_OK);
    assert_true(changed);
    assert_true(json_equal(json_object_get(out, "properties"), want));
    assert_string_equal(view_location(out), "s3://b/other");
    /* versions and the log stay as they were */
    assert_true(json_equal(json_object_get(out, "versions"), json_object_get(base, "versions")));
    assert_true(
        json_equal(json_object_get(out, "version-log"), json_object_get(base, "version-log")));
    json_decref(out);
    /* the legacy field names are read too */
    out = apply_ok(base,
                   "[{\"action\":\"set-properties\",\"updated\":{\"c\":\"3\",\"a\":\"9\"}},"
                   "{\"action\":\"remove-properties\",\"removed\":[\"b\"]}]",
                   NOW);
    assert_true(json_equal(json_object_get(out, "properties"), want));
    json_decref(out);
    /* removing every property leaves the key out */
    out = apply_ok(base, "[{\"action\":\"remove-properties\",\"removals\":[\"a\",\"b\"]}]", NOW);
    assert_null(json_object_get(out, "properties"));
    json_decref(out);
    /* no-ops: nothing changed */
    assert_int_equal(apply(base,
                           "[{\"action\":\"set-properties\",\"updates\":{}},"
                           "{\"action\":\"remove-properties\",\"removals\":[]},"
                           "{\"action\":\"set-location\",\"location\":\"s3://b/wh/ns/view\"},"
                           "{\"action\":\"assign-uuid\",\"uuid\":\"" UUID1 "\"},"
                           "{\"action\":\"upgrade-format-version\",\"format-version\":1}]",
                           NOW, &out, &changed, &err),
                     ST_OK);
    assert_false(changed);
    assert_true(json_equal(out, base));
    json_decref(out);
    assert_int_equal(apply(base, "[]", NOW, &out, &changed, &err), ST_OK);
    assert_false(changed);
    json_decref(out);
    apply_fails(base, "[{\"action\":\"set-properties\",\"updates\":{\"a\":1}}]", ST_INVALID,
                ET_BAD_REQUEST, NULL);
    apply_fails(base, "[{\"action\":\"remove-properties\",\"removals\":\"a\"}]", ST_INVALID,
                ET_BAD_REQUEST, NULL);
    apply_fails(base, "[{\"action\":\"set-location\"}]", ST_INVALID, ET_BAD_REQUEST, NULL);
    json_decref(want);
    json_decref(base);
}

static void test_uuid_and_format_version(void **state)
{
    json_t *base = new_view(SQL("spark", "select 1"), "{}");

    (void)state;
    apply_fails(base,
                "[{\"action\":\"assign-uuid\",\"uuid\":\"9c12d441-03fe-4693-9a96-a0705ddf69c1\"}]",
                ST_INVALID, ET_ILLEGAL_ARGUMENT, "Cannot reassign uuid");
    apply_fails(base, "[{\"action\":\"upgrade-format-version\",\"format-version\":2}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "Unsupported format version: 2");
    apply_fails(base, "[{\"action\":\"upgrade-format-version\",\"format-version\":0}]", ST_INVALID,
                ET_ILLEGAL_ARGUMENT, "Cannot downgrade v1 view to v0");
    apply_fails(base, "[{\"action\":\"upgrade-format-version\",\"format-version\":\"1\"}]",
                ST_INVALID, ET_BAD_REQUEST, NULL);
    json_decref(base);
}

static void test_unknown_and_malformed_updates(void **state)
{
    json_t *base = new_view(SQL("spark", "select 1"), "{}");
    json_t *out = NULL;
    struct error err = {0};

    (void)state;
    apply_fails(base, "[{\"action\":\"add-snapshot\",\"snapshot\":{}}]", ST_INVALID, ET_BAD_REQUEST,
                "Cannot apply update add-snapshot to a view");
    apply_fails(base, "[{\"action\":\"make-coffee\"}]", ST_INVALID, ET_BAD_REQUEST,
                "Cannot apply unknown view update action: make-coffee");
    apply_fails(base, "[1]", ST_INVALID, ET_BAD_REQUEST, NULL);
    apply_fails(base, "[{}]", ST_INVALID, ET_BAD_REQUEST, NULL);
    apply_fails(base, "{\"action\":\"set-location\"}", ST_INVALID, ET_BAD_REQUEST, NULL);
    apply_fails(base, "[{\"action\":\"add-view-version\",\"view-version\":{}}]", ST_INVALID,
                ET_BAD_REQUEST, NULL);
    apply_fails(base,
                "[{\"action\":\"add-view-version\",\"view-version\":{\"version-id\":2,"
                "\"schema-id\":0,\"timestamp-ms\":5,\"summary\":{},\"default-namespace\":[],"
                "\"representations\":[{\"type\":\"substrait\"}]}}]",
                ST_INVALID, ET_BAD_REQUEST, NULL);
    /* the action name is matched without case, as Java does */
    out = apply_ok(base, "[{\"action\":\"SET-LOCATION\",\"location\":\"file:/x\"}]", NOW);
    assert_string_equal(view_location(out), "file:/x");
    json_decref(out);
    /* a base that is not view metadata is refused, not trusted */
    assert_int_equal(
        view_apply_updates(json_object_get(base, "versions"), NULL, NOW, &out, NULL, &err),
        ST_INVALID);
    json_decref(base);
}

/*
 * Every value of a valid create request and of valid updates replaced, one at
 * a time, by values of every other type: each answer is a status, never a crash.
 */
static void mutate_all(json_t *root, json_t *node, void (*probe)(json_t *root))
{
    json_t *subs[] = {json_null(),    json_integer(-1), json_integer(4294967296LL),
                      json_real(1.5), json_string(""),  json_true(),
                      json_array(),   json_object()};
    size_t n = sizeof(subs) / sizeof(subs[0]);

    if (json_is_object(node)) {
        const char *key;
        void *tmp;
        json_t *v;
        json_object_foreach_safe(node, tmp, key, v)
        {
            json_incref(v);
            for (size_t i = 0; i < n; i++) {
                json_object_set(node, key, subs[i]);
                probe(root);
            }
            json_object_set(node, key, v);
            mutate_all(root, v, probe);
            json_decref(v);
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            json_t *v = json_incref(json_array_get(node, i));
            for (size_t k = 0; k < n; k++) {
                json_array_set(node, i, subs[k]);
                probe(root);
            }
            json_array_set(node, i, v);
            mutate_all(root, v, probe);
            json_decref(v);
        }
    }
    for (size_t i = 0; i < n; i++)
        json_decref(subs[i]);
}

static int probes;

static void probe_create(json_t *req)
{
    json_t *meta = NULL;
    struct error err = {0};
    enum status rc = view_new(req, "file:/wh/v", UUID1, NOW, &meta, &err);

    probes++;
    if (rc == ST_OK) {
        assert_int_equal(view_validate(meta, &err), ST_OK);
        json_decref(meta);
    } else {
        assert_int_equal(rc, ST_INVALID);
        assert_null(meta);
    }
}

static json_t *fuzz_base;

static void probe_updates(json_t *updates)
{
    json_t *meta = NULL;
    struct error err = {0};
    enum status rc = view_apply_updates(fuzz_base, updates, NOW, &meta, NULL, &err);

    probes++;
    if (rc == ST_OK) {
        assert_int_equal(view_validate(meta, &err), ST_OK);
        json_decref(meta);
    } else {
        assert_int_equal(rc, ST_INVALID);
        assert_null(meta);
    }
}

static void probe_parse(json_t *doc)
{
    char *text = json_dumps(doc, 0);
    json_t *meta = NULL;
    struct error err = {0};
    enum status rc = view_parse(text, strlen(text), &meta, &err);

    probes++;
    if (rc == ST_OK) {
        char *again = view_serialize(meta);
        assert_non_null(again);
        free(again);
        json_decref(meta);
    } else {
        assert_int_equal(rc, ST_INVALID);
    }
    free(text);
}

static void test_hostile_json(void **state)
{
    json_t *req = create_req(SQL("spark", "select 1") "," SQL("trino", "select 1"),
                             "{\"version.history.num-entries\":\"3\"}");
    json_t *updates = parse(replace_updates(
        SCHEMA_B, 2, 2000, SQL("spark", "select 2"),
        ",{\"action\":\"set-properties\",\"updates\":{\"replace.drop-dialect.allowed\":\"true\"}},"
        "{\"action\":\"remove-properties\",\"removals\":[\"x\"]},"
        "{\"action\":\"set-location\",\"location\":\"file:/y\"},"
        "{\"action\":\"assign-uuid\",\"uuid\":\"" UUID1 "\"},"
        "{\"action\":\"upgrade-format-version\",\"format-version\":1}"));
    json_t *doc = parse(java_file);

    (void)state;
    probes = 0;
    mutate_all(req, req, probe_create);
    fuzz_base = new_view(SQL("spark", "select 1"), "{}");
    mutate_all(updates, updates, probe_updates);
    mutate_all(doc, doc, probe_parse);
    assert_true(probes > 1000);
    json_decref(fuzz_base);
    json_decref(req);
    json_decref(updates);
    json_decref(doc);
}

/* Large inputs: many dialects, many versions, too many updates. */
static void test_large_inputs(void **state)
{
    json_t *base = new_view(SQL("spark", "select 1"), "{}");
    json_t *reps = json_array(), *up, *updates, *doc, *versions, *meta = NULL;
    struct error err = {0};
    char d[32];
    char *text;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        snprintf(d, sizeof(d), "d%d", i);
        json_array_append_new(
            reps, json_pack("{s:s, s:s, s:s}", "type", "sql", "sql", "q", "dialect", d));
    }
    json_array_append_new(
        reps, json_pack("{s:s, s:s, s:s}", "type", "sql", "sql", "q", "dialect", "D19999"));
    up = json_pack("[{s:s, s:{s:i, s:i, s:i, s:{}, s:[], s:o}}]", "action", "add-view-version",
                   "view-version", "version-id", 2, "schema-id", 0, "timestamp-ms", 1, "summary",
                   "default-namespace", "representations", reps);
    assert_int_equal(view_apply_updates(base, up, NOW, &meta, NULL, &err), ST_INVALID);
    assert_string_equal(err.msg,
                        "Invalid view version: Cannot add multiple queries for dialect d19999");
    json_decref(up);
    /* a metadata file with many versions */
    doc = json_deep_copy(base);
    versions = json_object_get(doc, "versions");
    for (int i = 2; i < 10000; i++) {
        json_t *v = json_deep_copy(json_array_get(versions, 0));
        json_object_set_new(v, "version-id", json_integer(i));
        json_array_append_new(versions, v);
    }
    text = view_serialize(doc);
    assert_int_equal(view_parse(text, strlen(text), &meta, &err), ST_OK);
    assert_int_equal(json_array_size(json_object_get(meta, "versions")), 9999);
    json_decref(meta);
    /* a duplicate id at the end is still found */
    json_object_set_new(json_array_get(versions, 9998), "version-id", json_integer(5));
    free(text);
    text = view_serialize(doc);
    assert_int_equal(view_parse(text, strlen(text), &meta, &err), ST_INVALID);
    assert_string_equal(err.msg, "Invalid view metadata: duplicate version id 5");
    free(text);
    json_decref(doc);
    /* too many updates in one commit */
    updates = json_array();
    for (int i = 0; i < 1001; i++)
        json_array_append_new(updates,
                              json_pack("{s:s, s:{}}", "action", "set-properties", "updates"));
    assert_int_equal(view_apply_updates(base, updates, NOW, &meta, NULL, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "at most 1000"));
    json_array_remove(updates, 0);
    assert_int_equal(view_apply_updates(base, updates, NOW, &meta, NULL, &err), ST_OK);
    json_decref(meta);
    json_decref(updates);
    json_decref(base);
}

/* ---------------------------------------------------------------- requirements */

static enum status check_reqs(const json_t *base, const char *reqs, struct error *err)
{
    json_t *r = parse(reqs);
    enum status rc = view_check_requirements(base, r, err);

    json_decref(r);
    return rc;
}

static void test_requirements(void **state)
{
    json_t *base = new_view(SQL("spark", "select 1"), "{}");
    struct error err = {0};

    (void)state;
    assert_int_equal(check_reqs(base, "[]", &err), ST_OK);
    assert_int_equal(view_check_requirements(base, NULL, &err), ST_OK);
    assert_int_equal(
        check_reqs(base, "[{\"type\":\"assert-view-uuid\",\"uuid\":\"" UUID1 "\"}]", &err), ST_OK);
    /* UUIDs compare without case */
    assert_int_equal(check_reqs(base,
                                "[{\"type\":\"assert-view-uuid\","
                                "\"uuid\":\"FA6506C3-7681-40C8-86DC-E36561F83385\"}]",
                                &err),
                     ST_OK);
    assert_int_equal(check_reqs(base,
                                "[{\"type\":\"assert-view-uuid\","
                                "\"uuid\":\"9c12d441-03fe-4693-9a96-a0705ddf69c1\"}]",
                                &err),
                     ST_CONFLICT);
    assert_int_equal(err.type, ET_COMMIT_FAILED);
    assert_string_equal(err.msg, "Requirement failed: view UUID does not match: expected " UUID1
                                 " != 9c12d441-03fe-4693-9a96-a0705ddf69c1");
    assert_int_equal(error_http_code(&err), 409);
    /* malformed or unknown requirements are 400s, even before a failing one */
    assert_int_equal(check_reqs(base,
                                "[{\"type\":\"assert-view-uuid\",\"uuid\":\"x\"},"
                                "{\"type\":\"assert-nothing\"}]",
                                &err),
                     ST_INVALID);
    assert_string_equal(err.msg, "Unknown view requirement type: assert-nothing");
    assert_int_equal(check_reqs(base, "[{\"type\":\"assert-view-uuid\"}]", &err), ST_INVALID);
    assert_int_equal(check_reqs(base, "[{\"type\":\"assert-create\"}]", &err), ST_INVALID);
    assert_int_equal(check_reqs(base, "[[]]", &err), ST_INVALID);
    assert_int_equal(check_reqs(base, "{}", &err), ST_INVALID);
    assert_int_equal(error_http_code(&err), 400);
    json_decref(base);
}

/* ---------------------------------------------------------------- file names */

static void test_new_location(void **state)
{
    json_t *meta = new_view(SQL("spark", "select 1"), "{}"), *other;
    const char *prefix = "s3://b/wh/ns/view/metadata/";
    char *loc;

    (void)state;
    /* views are gzip by default */
    loc = view_new_location(meta, NULL);
    assert_int_equal(strncmp(loc, prefix, strlen(prefix)), 0);
    assert_int_equal(strncmp(loc + strlen(prefix), "00000-", 6), 0);
    assert_int_equal(strlen(loc), strlen(prefix) + 6 + 36 + strlen(".gz.metadata.json"));
    assert_string_equal(loc + strlen(loc) - strlen(".gz.metadata.json"), ".gz.metadata.json");
    free(loc);
    loc = view_new_location(meta, "s3://b/wh/ns/view/metadata/00007-abc.gz.metadata.json");
    assert_int_equal(strncmp(loc + strlen(prefix), "00008-", 6), 0);
    free(loc);
    loc = view_new_location(meta, "s3://b/wh/ns/view/metadata/v1.metadata.json");
    assert_int_equal(strncmp(loc + strlen(prefix), "00000-", 6), 0);
    free(loc);
    /* "none" writes plain JSON; write.metadata.path moves the files */
    other = apply_ok(meta,
                     "[{\"action\":\"set-properties\",\"updates\":{"
                     "\"write.metadata.compression-codec\":\"NONE\","
                     "\"write.metadata.path\":\"file:/custom/\"}}]",
                     NOW);
    loc = view_new_location(other, "file:/custom/00001-x.metadata.json");
    assert_int_equal(strncmp(loc, "file:/custom/00002-", 19), 0);
    assert_string_equal(loc + strlen(loc) - strlen(".metadata.json"), ".metadata.json");
    assert_null(strstr(loc, ".gz."));
    free(loc);
    json_decref(other);
    json_decref(meta);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_create_basic),
    cmocka_unit_test(test_create_version_id),
    cmocka_unit_test(test_create_duplicate_dialect),
    cmocka_unit_test(test_create_history_size_checked),
    cmocka_unit_test(test_create_malformed),
    cmocka_unit_test(test_serialize_order),
    cmocka_unit_test(test_parse_java_file),
    cmocka_unit_test(test_parse_malformed),
    cmocka_unit_test(test_parse_messages),
    cmocka_unit_test(test_replace_java_style),
    cmocka_unit_test(test_dialect_loss_guard),
    cmocka_unit_test(test_dialect_set_order),
    cmocka_unit_test(test_duplicate_dialect_on_add),
    cmocka_unit_test(test_version_id_reuse),
    cmocka_unit_test(test_schema_reuse_and_last_added),
    cmocka_unit_test(test_set_current_errors),
    cmocka_unit_test(test_retention_default),
    cmocka_unit_test(test_retention_property),
    cmocka_unit_test(test_properties_and_location),
    cmocka_unit_test(test_uuid_and_format_version),
    cmocka_unit_test(test_unknown_and_malformed_updates),
    cmocka_unit_test(test_hostile_json),
    cmocka_unit_test(test_large_inputs),
    cmocka_unit_test(test_requirements),
    cmocka_unit_test(test_new_location),
};

int main(void)
{
    return cmocka_run_group_tests(tests, NULL, NULL);
}
