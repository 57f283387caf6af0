/* test_schema.c - schemas, partition specs, sort orders and transforms (iceberg/schema.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/schema.h"

/* J parses JSON text that the test itself wrote; a typo fails the test loudly. */
static json_t *J(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

    if (!v)
        fail_msg("bad test JSON (%s): %s", jerr.text, text);
    return v;
}

/*
 * at follows a path of object keys and array indexes separated by '/', e.g.
 * "fields/1/type/element"; NULL when any step is missing.
 */
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

/* one_field returns a schema with a single field "v" of the given type JSON. */
static json_t *one_field(const char *type_json, bool required)
{
    char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"v\","
             "\"required\":%s,\"type\":%s}]}",
             required ? "true" : "false", type_json);
    return J(buf);
}

static void expect_error(enum status rc, const struct error *err, enum errtype type,
                         const char *needle)
{
    assert_int_equal(rc, ST_INVALID);
    assert_int_equal(err->status, ST_INVALID);
    if (type != ET_NONE)
        assert_int_equal(err->type, type);
    if (needle && !strstr(err->msg, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, err->msg);
}

/* validate_type validates a schema with one optional field of type_json (a JSON text). */
static enum status validate_type(const char *type_json, int fv, struct error *err)
{
    json_t *s = one_field(type_json, false);
    enum status rc = schema_validate(s, fv, err);

    json_decref(s);
    return rc;
}

/* A schema with nesting used by several tests: ids are deliberately not the fresh ones. */
static const char *NESTED =
    "{\"type\":\"struct\",\"schema-id\":7,\"identifier-field-ids\":[50],\"fields\":["
    " {\"id\":10,\"name\":\"a\",\"required\":true,\"type\":{\"type\":\"struct\",\"fields\":["
    "   {\"id\":11,\"name\":\"x\",\"required\":true,\"type\":\"int\"},"
    "   {\"id\":12,\"name\":\"y\",\"required\":false,\"type\":\"string\",\"doc\":\"why\"}]}},"
    " {\"id\":20,\"name\":\"b\",\"required\":false,\"type\":{\"type\":\"list\",\"element-id\":21,"
    "   \"element-required\":true,\"element\":{\"type\":\"struct\",\"fields\":["
    "     {\"id\":22,\"name\":\"z\",\"required\":true,\"type\":\"DECIMAL(10,2)\"}]}}},"
    " {\"id\":30,\"name\":\"c\",\"required\":false,\"type\":{\"type\":\"map\",\"key-id\":31,"
    "   \"key\":\"string\",\"value-id\":32,\"value-required\":false,\"value\":\"int\"}},"
    " {\"id\":50,\"name\":\"id\",\"required\":true,\"type\":\"long\"}]}";

/* ---- primitive types ---- */

static void test_every_primitive_is_valid_in_v3(void **state)
{
    static const char *types[] = {
        "\"boolean\"",
        "\"int\"",
        "\"long\"",
        "\"float\"",
        "\"double\"",
        "\"decimal(9,2)\"",
        "\"decimal(38, 38)\"",
        "\"decimal(1,0)\"",
        "\"date\"",
        "\"time\"",
        "\"timestamp\"",
        "\"timestamptz\"",
        "\"timestamp_ns\"",
        "\"timestamptz_ns\"",
        "\"string\"",
        "\"uuid\"",
        "\"fixed[16]\"",
        "\"fixed[1]\"",
        "\"binary\"",
        "\"unknown\"",
        "\"variant\"",
        "\"geometry\"",
        "\"geometry(srid:4326)\"",
        "\"geography\"",
        "\"geography(srid:4326)\"",
        "\"geography(srid:4326, spherical)\"",
        "\"geography(OGC:CRS84,KARNEY)\"",
    };
    struct error err = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (validate_type(types[i], 3, &err) != ST_OK)
            fail_msg("%s rejected: %s", types[i], err.msg);
}

static void test_type_whitespace_and_case(void **state)
{
    static const char *types[] = {
        "\"decimal( 10 , 2 )\"",
        "\"decimal(10, 2)\"",
        "\"fixed[ 8 ]\"",
        "\"DECIMAL(10,2)\"",
        "\"Int\"",
        "\"STRING\"",
        "\"geometry ( srid:3857 )\"",
        "\"geography( srid:4269 ,  karney )\"",
    };
    struct error err = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (validate_type(types[i], 3, &err) != ST_OK)
            fail_msg("%s rejected: %s", types[i], err.msg);
}

static void test_invalid_types(void **state)
{
    static const struct {
        const char *type;
        const char *needle;
    } cases[] = {
        {"\"integer\"", "Cannot parse type string to primitive: integer"},
        {"\"\"", "Cannot parse type string to primitive"},
        {"\" int\"", "Cannot parse type string to primitive"},
        {"\"int \"", "Cannot parse type string to primitive"},
        {"\"decimal(39,2)\"", "precision larger than 38"},
        {"\"decimal(0,0)\"", "precision must be 1 to 38"},
        {"\"decimal(5,6)\"", "scale at most the precision"},
        {"\"decimal(10,2\"", "Cannot parse type string"},
        {"\"decimal(10 2)\"", "Cannot parse type string"},
        {"\"decimal (10,2)\"", "Cannot parse type string"},
        {"\"decimal(-1,2)\"", "Cannot parse type string"},
        {"\"fixed[0]\"", "length must be at least 1"},
        {"\"fixed[]\"", "Cannot parse type string"},
        {"\"fixed[99999999999]\"", "Cannot parse type string"},
        {"\"fixed(16)\"", "Cannot parse type string"},
        {"\"geometry()\"", "Invalid CRS: (empty string)"},
        {"\"geometry(srid:4326\"", "Cannot parse type string"},
        {"\"geography(srid:4326, bogus)\"", "Invalid edge interpolation algorithm: bogus"},
        {"\"geography(srid:4326, )\"", "Invalid edge interpolation algorithm"},
        {"\"geographyx\"", "Cannot parse type string"},
        {"\"struct\"", "Cannot parse type string"},
        {"7", "cannot parse the type of 'v'"},
        {"{\"type\":\"tuple\"}", "cannot parse the type of 'v'"},
        {"{\"fields\":[]}", "cannot parse the type of 'v'"},
    };
    struct error err = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum status rc = validate_type(cases[i].type, 3, &err);

        if (rc != ST_INVALID || !strstr(err.msg, cases[i].needle))
            fail_msg("%s: rc %d, message \"%s\"", cases[i].type, rc, err.msg);
    }
}

/* ---- format version gating ---- */

static void test_v3_types_need_v3(void **state)
{
    static const struct {
        const char *type;
        const char *shown;
    } cases[] = {
        {"\"timestamp_ns\"", "timestamp_ns"},
        {"\"timestamptz_ns\"", "timestamptz_ns"},
        {"\"variant\"", "variant"},
        {"\"unknown\"", "unknown"},
        {"\"geometry\"", "geometry(OGC:CRS84)"},
        {"\"geography(srid:4326)\"", "geography(srid:4326, spherical)"},
    };
    struct error err = {0};
    char needle[128];
    size_t i;
    int fv;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (fv = 1; fv <= 2; fv++) {
            snprintf(needle, sizeof(needle), "Invalid type for v: %s is not supported until v3",
                     cases[i].shown);
            expect_error(validate_type(cases[i].type, fv, &err), &err, ET_VALIDATION, needle);
        }
        assert_int_equal(validate_type(cases[i].type, 3, &err), ST_OK);
    }
    /* v1/v2 types are fine everywhere. */
    assert_int_equal(validate_type("\"timestamp\"", 1, &err), ST_OK);
    assert_int_equal(validate_type("\"decimal(9,2)\"", 2, &err), ST_OK);
}

static void test_v3_gating_names_nested_columns(void **state)
{
    json_t *s = J("{\"type\":\"struct\",\"fields\":["
                  "{\"id\":1,\"name\":\"l\",\"required\":false,\"type\":{\"type\":\"list\","
                  "\"element-id\":2,\"element-required\":false,\"element\":\"timestamp_ns\"}},"
                  "{\"id\":3,\"name\":\"v\",\"required\":false,\"type\":\"variant\"}]}");
    struct error err = {0};

    (void)state;
    expect_error(schema_validate(s, 2, &err), &err, ET_VALIDATION,
                 "Invalid schema for v2:\n- Invalid type for l.element: timestamp_ns is not "
                 "supported until v3\n- Invalid type for v: variant is not supported until v3");
    assert_int_equal(schema_validate(s, 3, &err), ST_OK);
    json_decref(s);
}

static void test_defaults_need_v3(void **state)
{
    json_t *s = J("{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"n\",\"required\":true,"
                  "\"type\":\"int\",\"initial-default\":5,\"write-default\":6}]}");
    json_t *w = J("{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"n\",\"required\":true,"
                  "\"type\":\"int\",\"write-default\":6}]}");
    json_t *nulls = J("{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"n\","
                      "\"required\":false,\"type\":\"int\",\"initial-default\":null}]}");
    struct error err = {0};

    (void)state;
    expect_error(schema_validate(s, 2, &err), &err, ET_VALIDATION,
                 "Invalid initial default for n: non-null default (5) is not supported until v3");
    expect_error(schema_validate(w, 1, &err), &err, ET_VALIDATION,
                 "Invalid write default for n: non-null default (6) is not supported until v3");
    assert_int_equal(schema_validate(s, 3, &err), ST_OK);
    assert_int_equal(schema_validate(nulls, 2, &err), ST_OK);
    json_decref(s);
    json_decref(w);
    json_decref(nulls);
}

static void test_default_values_match_types(void **state)
{
    static const struct {
        const char *field;
        bool ok;
    } cases[] = {
        {"\"type\":\"int\",\"initial-default\":2147483647", true},
        {"\"type\":\"int\",\"initial-default\":2147483648", false},
        {"\"type\":\"int\",\"initial-default\":\"1\"", false},
        {"\"type\":\"long\",\"write-default\":9223372036854775807", true},
        {"\"type\":\"boolean\",\"initial-default\":true", true},
        {"\"type\":\"boolean\",\"initial-default\":0", false},
        {"\"type\":\"double\",\"initial-default\":1.5", true},
        {"\"type\":\"float\",\"initial-default\":1", true},
        {"\"type\":\"string\",\"initial-default\":\"x\"", true},
        {"\"type\":\"string\",\"initial-default\":[]", false},
        {"\"type\":\"decimal(9,2)\",\"initial-default\":\"14.20\"", true},
        {"\"type\":\"variant\",\"initial-default\":\"x\"", false},
        {"\"type\":\"geometry\",\"write-default\":\"00\"", false},
        {"\"type\":{\"type\":\"struct\",\"fields\":[]},\"initial-default\":{}", true},
        {"\"type\":{\"type\":\"struct\",\"fields\":[]},\"initial-default\":{\"a\":1}", false},
        {"\"type\":{\"type\":\"list\",\"element-id\":2,\"element-required\":false,"
         "\"element\":\"int\"},\"initial-default\":[]",
         false},
    };
    struct error err = {0};
    char buf[512];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *s;
        enum status rc;

        snprintf(buf, sizeof(buf),
                 "{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"d\",\"required\":false,"
                 "%s}]}",
                 cases[i].field);
        s = J(buf);
        rc = schema_validate(s, 3, &err);
        if ((rc == ST_OK) != cases[i].ok)
            fail_msg("%s: rc %d (%s)", cases[i].field, rc, err.msg);
        if (rc)
            assert_int_equal(err.type, ET_ILLEGAL_ARGUMENT);
        json_decref(s);
    }
}

/* ---- shapes, names, ids ---- */

static void test_malformed_shapes(void **state)
{
    static const struct {
        const char *schema;
        const char *needle;
    } cases[] = {
        {"[]", "Invalid schema: not an object"},
        {"{\"fields\":[]}", "Invalid schema: missing field 'type'"},
        {"{\"type\":\"list\",\"fields\":[]}", "must be \"struct\""},
        {"{\"type\":\"struct\"}", "Invalid schema: missing field 'fields'"},
        {"{\"type\":\"struct\",\"fields\":{}}", "Invalid schema: field 'fields' must be an array"},
        {"{\"type\":\"struct\",\"schema-id\":\"0\",\"fields\":[]}", "'schema-id' must be"},
        {"{\"type\":\"struct\",\"fields\":[1]}", "not an object"},
        {"{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"required\":true,\"type\":\"int\"}]}",
         "missing field 'id'"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":\"1\",\"name\":\"a\",\"required\":true,"
         "\"type\":\"int\"}]}",
         "'id' must be an integer"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":4294967296,\"name\":\"a\",\"required\":true,"
         "\"type\":\"int\"}]}",
         "'id' must be a 32-bit integer"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"required\":true,\"type\":\"int\"}]}",
         "missing field 'name'"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"type\":\"int\"}]}",
         "missing field 'required'"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":1,"
         "\"type\":\"int\"}]}",
         "'required' must be a boolean"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":true}]}",
         "missing field 'type'"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":true,"
         "\"type\":\"int\",\"doc\":5}]}",
         "'doc' must be a string"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"l\",\"required\":true,"
         "\"type\":{\"type\":\"list\",\"element\":\"int\",\"element-required\":true}}]}",
         "Invalid list type: missing field 'element-id'"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"m\",\"required\":true,"
         "\"type\":{\"type\":\"map\",\"key-id\":2,\"key\":\"int\",\"value-id\":3,"
         "\"value\":\"int\"}}]}",
         "Invalid map type: missing field 'value-required'"},
        {"{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"s\",\"required\":true,"
         "\"type\":{\"type\":\"struct\",\"fields\":\"x\"}}]}",
         "Invalid struct type: field 'fields' must be an array"},
        {"{\"type\":\"struct\",\"identifier-field-ids\":[\"1\"],\"fields\":[]}",
         "'identifier-field-ids' must be an array of integers"},
    };
    struct error err = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *s = J(cases[i].schema);
        enum status rc = schema_validate(s, 3, &err);

        if (rc != ST_INVALID || err.type != ET_BAD_REQUEST || !strstr(err.msg, cases[i].needle))
            fail_msg("%s: rc %d type %d \"%s\"", cases[i].schema, rc, err.type, err.msg);
        json_decref(s);
    }
}

static void test_deep_nesting_is_refused(void **state)
{
    size_t depth = 300, i, len = 0;
    char *text = malloc(depth * 80 + 64);
    struct error err = {0};
    json_t *s;

    (void)state;
    len += (size_t)sprintf(text + len, "{\"type\":\"struct\",\"fields\":[");
    for (i = 0; i < depth; i++)
        len += (size_t)sprintf(text + len,
                               "{\"id\":%zu,\"name\":\"f\",\"required\":true,"
                               "\"type\":{\"type\":\"struct\",\"fields\":[",
                               i + 1);
    for (i = 0; i < depth; i++)
        len += (size_t)sprintf(text + len, "]}}");
    sprintf(text + len, "]}");
    s = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(s);
    expect_error(schema_validate(s, 3, &err), &err, ET_BAD_REQUEST, "nested more than");
    assert_int_equal(schema_max_field_id(s) > 0, 1);
    json_decref(s);
}

static void test_names_and_ids(void **state)
{
    static const struct {
        const char *fields;
        enum errtype type;
        const char *needle;
    } cases[] = {
        {"{\"id\":1,\"name\":\"\",\"required\":true,\"type\":\"int\"}", ET_ILLEGAL_ARGUMENT,
         "field 1 has an empty name"},
        {"{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":\"int\"},"
         "{\"id\":2,\"name\":\"a\",\"required\":true,\"type\":\"int\"}",
         ET_VALIDATION, "multiple fields for name a: 1 and 2"},
        {"{\"id\":1,\"name\":\"a.b\",\"required\":true,\"type\":\"int\"},"
         "{\"id\":2,\"name\":\"a\",\"required\":true,\"type\":{\"type\":\"struct\",\"fields\":["
         "{\"id\":3,\"name\":\"b\",\"required\":true,\"type\":\"int\"}]}}",
         ET_VALIDATION, "multiple fields for name a.b"},
        {"{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":\"int\"},"
         "{\"id\":1,\"name\":\"b\",\"required\":true,\"type\":\"int\"}",
         ET_ILLEGAL_ARGUMENT, "multiple fields for id 1: a and b"},
        {"{\"id\":1,\"name\":\"l\",\"required\":true,\"type\":{\"type\":\"list\","
         "\"element-id\":1,\"element-required\":true,\"element\":\"int\"}}",
         ET_ILLEGAL_ARGUMENT, "multiple fields for id 1"},
        {"{\"id\":1,\"name\":\"u\",\"required\":true,\"type\":\"unknown\"}", ET_ILLEGAL_ARGUMENT,
         "Cannot create required field with unknown type: u"},
        {"{\"id\":1,\"name\":\"m\",\"required\":false,\"type\":{\"type\":\"map\",\"key-id\":2,"
         "\"key\":\"unknown\",\"value-id\":3,\"value-required\":false,\"value\":\"int\"}}",
         ET_ILLEGAL_ARGUMENT, "required field with unknown type: key"},
        {"{\"id\":1,\"name\":\"l\",\"required\":false,\"type\":{\"type\":\"list\","
         "\"element-id\":2,\"element-required\":true,\"element\":\"unknown\"}}",
         ET_ILLEGAL_ARGUMENT, "required field with unknown type: element"},
    };
    struct error err = {0};
    char buf[1024];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *s;

        snprintf(buf, sizeof(buf), "{\"type\":\"struct\",\"fields\":[%s]}", cases[i].fields);
        s = J(buf);
        expect_error(schema_validate(s, 3, &err), &err, cases[i].type, cases[i].needle);
        json_decref(s);
    }
    /* The same name in different structs is fine, and optional unknowns are allowed. */
    {
        json_t *s = J("{\"type\":\"struct\",\"fields\":["
                      "{\"id\":1,\"name\":\"x\",\"required\":true,\"type\":\"int\"},"
                      "{\"id\":2,\"name\":\"s\",\"required\":true,\"type\":{\"type\":\"struct\","
                      "\"fields\":[{\"id\":3,\"name\":\"x\",\"required\":true,\"type\":\"int\"}]}},"
                      "{\"id\":4,\"name\":\"u\",\"required\":false,\"type\":\"unknown\"}]}");

        assert_int_equal(schema_validate(s, 3, &err), ST_OK);
        json_decref(s);
    }
}

static void test_identifier_fields(void **state)
{
    static const char *head = "{\"type\":\"struct\",\"identifier-field-ids\":[";
    static const char *tail =
        "],\"fields\":["
        "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
        "{\"id\":2,\"name\":\"opt\",\"required\":false,\"type\":\"long\"},"
        "{\"id\":3,\"name\":\"f\",\"required\":true,\"type\":\"float\"},"
        "{\"id\":4,\"name\":\"d\",\"required\":true,\"type\":\"double\"},"
        "{\"id\":5,\"name\":\"s\",\"required\":true,\"type\":{\"type\":\"struct\",\"fields\":["
        "  {\"id\":6,\"name\":\"inner\",\"required\":true,\"type\":\"string\"}]}},"
        "{\"id\":7,\"name\":\"os\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
        "  {\"id\":8,\"name\":\"deep\",\"required\":true,\"type\":\"string\"}]}},"
        "{\"id\":9,\"name\":\"l\",\"required\":true,\"type\":{\"type\":\"list\","
        "  \"element-id\":10,\"element-required\":true,\"element\":\"int\"}},"
        "{\"id\":11,\"name\":\"m\",\"required\":true,\"type\":{\"type\":\"map\",\"key-id\":12,"
        "  \"key\":\"string\",\"value-id\":13,\"value-required\":true,\"value\":\"int\"}},"
        "{\"id\":14,\"name\":\"v\",\"required\":true,\"type\":\"variant\"}]}";
    static const struct {
        const char *ids;
        const char *needle; /* NULL: valid */
    } cases[] = {
        {"1", NULL},
        {"1,6", NULL},
        {"", NULL},
        {"99", "Cannot add fieldId 99 as an identifier field: field does not exist"},
        {"2", "Cannot add field opt as an identifier field: not a required field"},
        {"3", "Cannot add field f as an identifier field: must not be float or double field"},
        {"4", "must not be float or double field"},
        {"5", "Cannot add field s as an identifier field: not a primitive type field"},
        {"14", "Cannot add field v as an identifier field: not a primitive type field"},
        {"8", "Cannot add field deep as an identifier field: must not be nested in an optional "
              "field os"},
        {"10", "Cannot add field element as an identifier field: must not be nested in l"},
        {"12", "Cannot add field key as an identifier field: must not be nested in m"},
    };
    struct error err = {0};
    char buf[2048];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *s;
        enum status rc;

        snprintf(buf, sizeof(buf), "%s%s%s", head, cases[i].ids, tail);
        s = J(buf);
        rc = schema_validate(s, 3, &err);
        if (!cases[i].needle) {
            if (rc != ST_OK)
                fail_msg("[%s] rejected: %s", cases[i].ids, err.msg);
        } else {
            expect_error(rc, &err, ET_ILLEGAL_ARGUMENT, cases[i].needle);
        }
        json_decref(s);
    }
}

/* ---- fresh ids ---- */

static void test_fresh_ids_java_order(void **state)
{
    /* a(struct{x,y}), b(list<struct{z}>), c(map<string,int>): the order Java's assignFreshIds
     * produces is a=1 b=2 c=3, a.x=4 a.y=5, b.element=6 b.element.z=7, c.key=8 c.value=9. */
    json_t *in = J("{\"type\":\"struct\",\"fields\":["
                   "{\"id\":100,\"name\":\"a\",\"required\":true,\"type\":{\"type\":\"struct\","
                   " \"fields\":[{\"id\":101,\"name\":\"x\",\"required\":true,\"type\":\"int\"},"
                   "  {\"id\":102,\"name\":\"y\",\"required\":false,\"type\":\"string\"}]}},"
                   "{\"id\":200,\"name\":\"b\",\"required\":false,\"type\":{\"type\":\"list\","
                   " \"element-id\":201,\"element-required\":true,\"element\":{\"type\":\"struct\","
                   " \"fields\":[{\"id\":202,\"name\":\"z\",\"required\":false,"
                   "\"type\":\"long\"}]}}},"
                   "{\"id\":300,\"name\":\"c\",\"required\":false,\"type\":{\"type\":\"map\","
                   " \"key-id\":301,\"key\":\"string\",\"value-id\":302,\"value-required\":false,"
                   " \"value\":\"int\"}}]}");
    json_t *want = J("{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
                     "{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":{\"type\":\"struct\","
                     " \"fields\":[{\"id\":4,\"name\":\"x\",\"required\":true,\"type\":\"int\"},"
                     "  {\"id\":5,\"name\":\"y\",\"required\":false,\"type\":\"string\"}]}},"
                     "{\"id\":2,\"name\":\"b\",\"required\":false,\"type\":{\"type\":\"list\","
                     " \"element-id\":6,\"element\":{\"type\":\"struct\","
                     " \"fields\":[{\"id\":7,\"name\":\"z\",\"required\":false,"
                     "\"type\":\"long\"}]},\"element-required\":true}},"
                     "{\"id\":3,\"name\":\"c\",\"required\":false,\"type\":{\"type\":\"map\","
                     " \"key-id\":8,\"key\":\"string\",\"value-id\":9,\"value\":\"int\","
                     " \"value-required\":false}}]}");
    json_t *out = NULL;
    struct error err = {0};
    int last = -1;

    (void)state;
    assert_int_equal(schema_assign_fresh_ids(in, &out, &last, &err), ST_OK);
    assert_int_equal(last, 9);
    if (!json_equal(out, want)) {
        char *got = json_dumps(out, JSON_COMPACT);

        fail_msg("fresh ids: %s", got);
    }
    assert_int_equal(schema_max_field_id(out), 9);
    json_decref(in);
    json_decref(want);
    json_decref(out);
}

static void test_fresh_ids_map_of_structs_and_identifiers(void **state)
{
    /* map<string, struct{p, q{r}}> then a list<list<int>>: nested contents come after the key
     * and value ids; identifier ids follow their fields. */
    json_t *in = J("{\"type\":\"struct\",\"schema-id\":4,\"identifier-field-ids\":[9,3],"
                   "\"fields\":["
                   "{\"id\":3,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
                   "{\"id\":5,\"name\":\"m\",\"required\":true,\"type\":{\"type\":\"map\","
                   " \"key-id\":6,\"key\":\"string\",\"value-id\":7,\"value-required\":true,"
                   " \"value\":{\"type\":\"struct\",\"fields\":["
                   "  {\"id\":8,\"name\":\"p\",\"required\":false,\"type\":\"double\"},"
                   "  {\"id\":10,\"name\":\"q\",\"required\":true,\"type\":{\"type\":\"struct\","
                   "   \"fields\":[{\"id\":11,\"name\":\"r\",\"required\":true,"
                   "\"type\":\"int\"}]}}]}}},"
                   "{\"id\":9,\"name\":\"key2\",\"required\":true,\"type\":\"string\","
                   " \"doc\":\"second key\"},"
                   "{\"id\":12,\"name\":\"ll\",\"required\":false,\"type\":{\"type\":\"list\","
                   " \"element-id\":13,\"element-required\":false,\"element\":{\"type\":\"list\","
                   " \"element-id\":14,\"element-required\":true,\"element\":\"int\"}}}]}");
    json_t *out = NULL;
    struct error err = {0};
    int last = 0;

    (void)state;
    assert_int_equal(schema_assign_fresh_ids(in, &out, &last, &err), ST_OK);
    assert_int_equal(last, 11);
    assert_int_equal(int_at(out, "schema-id"), 0);
    assert_int_equal(json_array_size(at(out, "identifier-field-ids")), 2);
    assert_int_equal(int_at(out, "identifier-field-ids/0"), 1); /* id */
    assert_int_equal(int_at(out, "identifier-field-ids/1"), 3); /* key2 */
    assert_int_equal(int_at(out, "fields/1/id"), 2);            /* m */
    assert_int_equal(int_at(out, "fields/3/id"), 4);            /* ll */
    assert_int_equal(int_at(out, "fields/1/type/key-id"), 5);
    assert_int_equal(int_at(out, "fields/1/type/value-id"), 6);
    assert_int_equal(int_at(out, "fields/1/type/value/fields/0/id"), 7);               /* p */
    assert_int_equal(int_at(out, "fields/1/type/value/fields/1/id"), 8);               /* q */
    assert_int_equal(int_at(out, "fields/1/type/value/fields/1/type/fields/0/id"), 9); /* r */
    assert_int_equal(int_at(out, "fields/3/type/element-id"), 10);
    assert_int_equal(int_at(out, "fields/3/type/element/element-id"), 11);
    assert_string_equal(str_at(out, "fields/2/doc"), "second key");
    /* The input is untouched. */
    assert_int_equal(json_integer_value(json_object_get(in, "schema-id")), 4);
    json_decref(in);
    json_decref(out);
}

static void test_fresh_ids_canonical_types_and_defaults(void **state)
{
    json_t *in = J("{\"type\":\"struct\",\"fields\":["
                   "{\"id\":7,\"name\":\"d\",\"required\":false,\"type\":\"DECIMAL( 10 ,2)\"},"
                   "{\"id\":8,\"name\":\"g\",\"required\":false,\"type\":\"geometry\"},"
                   "{\"id\":9,\"name\":\"big\",\"required\":false,\"type\":\"long\","
                   " \"initial-default\":9007199254740993,\"write-default\":-9223372036854775807,"
                   " \"extra\":1}]}");
    json_t *out = NULL;
    struct error err = {0};
    int last = 0;

    (void)state;
    assert_int_equal(schema_assign_fresh_ids(in, &out, &last, &err), ST_OK);
    assert_string_equal(str_at(out, "fields/0/type"), "decimal(10, 2)");
    assert_string_equal(str_at(out, "fields/1/type"), "geometry(OGC:CRS84)");
    assert_true(int_at(out, "fields/2/initial-default") == 9007199254740993LL);
    assert_true(int_at(out, "fields/2/write-default") == -9223372036854775807LL);
    /* Like Java, only the fields of the format are written. */
    assert_null(at(out, "fields/2/extra"));
    assert_null(json_object_get(out, "identifier-field-ids"));
    assert_true(schema_same(in, out) == false); /* ids changed */
    json_decref(in);
    json_decref(out);
}

static void test_fresh_ids_rejects_invalid(void **state)
{
    json_t *s = one_field("\"int32\"", false), *out = NULL;
    struct error err = {0};
    int last = 0;

    (void)state;
    expect_error(schema_assign_fresh_ids(s, &out, &last, &err), &err, ET_ILLEGAL_ARGUMENT, "int32");
    assert_null(out);
    json_decref(s);
}

/* ---- comparison and lookup ---- */

static void test_schema_same(void **state)
{
    json_t *a = J(NESTED), *b = J(NESTED), *c;
    struct {
        const char *from, *to;
    } changes[] = {
        {"\"name\":\"x\"", "\"name\":\"xx\""},
        {"\"id\":11", "\"id\":13"},
        {"\"name\":\"a\",\"required\":true", "\"name\":\"a\",\"required\":false"},
        {"\"doc\":\"why\"", "\"doc\":\"because\""},
        {"\"type\":\"DECIMAL(10,2)\"", "\"type\":\"decimal(10,3)\""},
        {"\"identifier-field-ids\":[50]", "\"identifier-field-ids\":[50,11]"},
        {"\"element-required\":true", "\"element-required\":false"},
        {"\"value\":\"int\"", "\"value\":\"long\""},
        {"\"type\":\"long\"}", "\"type\":\"long\",\"initial-default\":1}"},
    };
    char buf[4096];
    size_t i;

    (void)state;
    assert_true(schema_same(a, b));
    /* schema-id, spelling of types and identifier order do not matter. */
    json_object_set_new(b, "schema-id", json_integer(99));
    json_object_set_new(at(b, "fields/1/type/element/fields/0"), "type",
                        json_string("decimal(10, 2)"));
    json_object_set_new(b, "identifier-field-ids", json_pack("[i,i]", 50, 50));
    assert_true(schema_same(a, b));
    json_decref(b);
    for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        const char *at = strstr(NESTED, changes[i].from);

        assert_non_null(at);
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - NESTED), NESTED, changes[i].to,
                 at + strlen(changes[i].from));
        c = J(buf);
        if (schema_same(a, c))
            fail_msg("change %s -> %s not noticed", changes[i].from, changes[i].to);
        json_decref(c);
    }
    c = J("{\"type\":\"struct\",\"fields\":[]}");
    assert_false(schema_same(a, c));
    assert_false(schema_same(a, NULL));
    json_decref(c);
    json_decref(a);
}

static void test_find_fields(void **state)
{
    json_t *s = J(NESTED);
    const json_t *f, *type = NULL;

    (void)state;
    assert_int_equal(schema_max_field_id(s), 50);
    f = schema_find_field(s, 12, &type);
    assert_non_null(f);
    assert_string_equal(json_string_value(json_object_get(f, "name")), "y");
    assert_string_equal(json_string_value(type), "string");
    f = schema_find_field(s, 22, &type);
    assert_string_equal(json_string_value(json_object_get(f, "name")), "z");
    /* A list element is found as the list type that holds it. */
    f = schema_find_field(s, 21, &type);
    assert_string_equal(json_string_value(json_object_get(f, "type")), "list");
    assert_string_equal(json_string_value(json_object_get(type, "type")), "struct");
    f = schema_find_field(s, 32, &type);
    assert_string_equal(json_string_value(json_object_get(f, "type")), "map");
    assert_string_equal(json_string_value(type), "int");
    assert_null(schema_find_field(s, 404, &type));

    assert_int_equal(int_at((json_t *)schema_find_field_by_name(s, "a.x"), "id"), 11);
    assert_int_equal(int_at((json_t *)schema_find_field_by_name(s, "b.element.z"), "id"), 22);
    assert_int_equal(int_at((json_t *)schema_find_field_by_name(s, "b.z"), "id"), 22);
    assert_int_equal(int_at((json_t *)schema_find_field_by_name(s, "id"), "id"), 50);
    assert_string_equal(str_at((json_t *)schema_find_field_by_name(s, "c.key"), "type"), "map");
    assert_string_equal(str_at((json_t *)schema_find_field_by_name(s, "b.element"), "type"),
                        "list");
    assert_null(schema_find_field_by_name(s, "a.z"));
    assert_null(schema_find_field_by_name(s, "x"));
    assert_null(schema_find_field_by_name(s, NULL));
    json_decref(s);
}

/* ---- transforms ---- */

static void test_transform_valid(void **state)
{
    static const struct {
        const char *transform, *type;
        bool ok;
    } cases[] = {
        {"identity", "int", true},
        {"identity", "boolean", true},
        {"identity", "decimal(9,2)", true},
        {"identity", "unknown", true},
        {"identity", "variant", false},
        {"identity", "geometry", false},
        {"identity", "geography(srid:4326)", false},
        {"bucket[16]", "int", true},
        {"bucket[16]", "long", true},
        {"bucket[16]", "decimal(38,0)", true},
        {"bucket[16]", "date", true},
        {"bucket[16]", "time", true},
        {"bucket[16]", "timestamptz_ns", true},
        {"bucket[16]", "string", true},
        {"bucket[16]", "uuid", true},
        {"bucket[16]", "fixed[3]", true},
        {"bucket[16]", "binary", true},
        {"bucket[16]", "boolean", false},
        {"bucket[16]", "float", false},
        {"bucket[16]", "double", false},
        {"bucket[16]", "variant", false},
        {"bucket[0]", "int", false},
        {"bucket[ 4]", "int", false},
        {"bucket[]", "int", false},
        {"BUCKET[4]", "int", true},
        {"truncate[10]", "int", true},
        {"truncate[10]", "long", true},
        {"truncate[10]", "decimal(9,2)", true},
        {"truncate[10]", "string", true},
        {"truncate[10]", "binary", true},
        {"truncate[10]", "float", false},
        {"truncate[10]", "date", false},
        {"truncate[10]", "uuid", false},
        {"truncate[0]", "string", false},
        {"year", "date", true},
        {"month", "timestamp", true},
        {"day", "timestamptz", true},
        {"day", "timestamp_ns", true},
        {"year", "int", false},
        {"day", "string", false},
        {"hour", "timestamp", true},
        {"hour", "timestamptz_ns", true},
        {"hour", "date", false},
        {"Hour", "timestamp", true},
        {"void", "boolean", true},
        {"void", "variant", true},
        {"void", "geometry", true},
        {"zorder", "int", false},
        {"identity", "integer", false},
        {"", "int", false},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (transform_valid(cases[i].transform, cases[i].type) != cases[i].ok)
            fail_msg("%s on %s: expected %d", cases[i].transform, cases[i].type, cases[i].ok);
    assert_false(transform_valid(NULL, "int"));
    assert_false(transform_valid("identity", NULL));
}

/* ---- partition specs ---- */

static const char *SPEC_SCHEMA =
    "{\"type\":\"struct\",\"fields\":["
    "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
    "{\"id\":2,\"name\":\"ts\",\"required\":false,\"type\":\"timestamptz\"},"
    "{\"id\":3,\"name\":\"d\",\"required\":false,\"type\":\"date\"},"
    "{\"id\":4,\"name\":\"flag\",\"required\":false,\"type\":\"boolean\"},"
    "{\"id\":5,\"name\":\"s\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
    "  {\"id\":6,\"name\":\"cat\",\"required\":false,\"type\":\"string\"}]}},"
    "{\"id\":7,\"name\":\"l\",\"required\":false,\"type\":{\"type\":\"list\",\"element-id\":8,"
    "  \"element-required\":false,\"element\":\"int\"}}]}";

static enum status check_spec(const char *fields, int fv, struct error *err)
{
    char buf[2048];
    json_t *schema = J(SPEC_SCHEMA), *spec;
    enum status rc;

    snprintf(buf, sizeof(buf), "{\"spec-id\":0,\"fields\":[%s]}", fields);
    spec = J(buf);
    rc = spec_validate(spec, schema, fv, err);
    json_decref(spec);
    json_decref(schema);
    return rc;
}

static void test_spec_validate(void **state)
{
    static const struct {
        const char *fields;
        int fv;
        enum errtype type;
        const char *needle; /* NULL: valid */
    } cases[] = {
        {"", 2, ET_NONE, NULL},
        {"{\"name\":\"id_bucket\",\"transform\":\"bucket[16]\",\"source-id\":1,\"field-id\":1000},"
         "{\"name\":\"ts_day\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1001},"
         "{\"name\":\"cat\",\"transform\":\"identity\",\"source-id\":6,\"field-id\":1002}",
         1, ET_NONE, NULL},
        {"{\"name\":\"id\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1000}", 2,
         ET_NONE, NULL},
        {"{\"name\":\"gone\",\"transform\":\"void\",\"source-id\":99,\"field-id\":1000}", 2,
         ET_NONE, NULL},
        {"{\"name\":\"v3\",\"transform\":\"identity\",\"source-ids\":[1],\"field-id\":1000}", 3,
         ET_NONE, NULL},
        {"{\"name\":\"x\",\"transform\":\"identity\",\"source-id\":99,\"field-id\":1000}", 2,
         ET_VALIDATION, "Cannot find source column for partition field: 1000: x: identity(99)"},
        {"{\"name\":\"f\",\"transform\":\"bucket[16]\",\"source-id\":4,\"field-id\":1000}", 2,
         ET_VALIDATION, "Invalid source type boolean for transform: bucket[16]"},
        {"{\"name\":\"h\",\"transform\":\"hour\",\"source-id\":3,\"field-id\":1000}", 2,
         ET_VALIDATION, "Invalid source type date for transform: hour"},
        {"{\"name\":\"t\",\"transform\":\"truncate[4]\",\"source-id\":2,\"field-id\":1000}", 2,
         ET_VALIDATION, "Invalid source type timestamptz for transform: truncate[4]"},
        {"{\"name\":\"ss\",\"transform\":\"identity\",\"source-id\":5,\"field-id\":1000}", 2,
         ET_VALIDATION, "Cannot partition by non-primitive source field: struct"},
        {"{\"name\":\"le\",\"transform\":\"identity\",\"source-id\":8,\"field-id\":1000}", 2,
         ET_VALIDATION, "Invalid partition field parent: list"},
        {"{\"name\":\"\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1000}", 2,
         ET_ILLEGAL_ARGUMENT, "Cannot use empty partition name"},
        {"{\"name\":\"p\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1000},"
         "{\"name\":\"p\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1001}",
         2, ET_ILLEGAL_ARGUMENT, "Cannot use partition name more than once: p"},
        {"{\"name\":\"ts\",\"transform\":\"bucket[2]\",\"source-id\":1,\"field-id\":1000}", 2,
         ET_ILLEGAL_ARGUMENT, "sourced from different field in schema: ts"},
        {"{\"name\":\"p\",\"transform\":\"identity\",\"source-id\":1}", 2, ET_BAD_REQUEST,
         "missing field 'field-id'"},
        {"{\"name\":\"p\",\"transform\":\"identity\",\"field-id\":1000}", 2, ET_BAD_REQUEST,
         "missing field 'source-id'"},
        {"{\"name\":\"p\",\"transform\":\"identity\",\"source-ids\":[1,2],\"field-id\":1000}", 3,
         ET_ILLEGAL_ARGUMENT, "multi-argument"},
        {"{\"name\":\"p\",\"transform\":7,\"source-id\":1,\"field-id\":1000}", 2, ET_BAD_REQUEST,
         "'transform' must be a string"},
        {"{\"name\":\"p\",\"transform\":\"zorder\",\"source-id\":1,\"field-id\":1000}", 2,
         ET_ILLEGAL_ARGUMENT, "Unsupported transform: zorder"},
        {"{\"name\":\"p\",\"transform\":\"bucket[0]\",\"source-id\":1,\"field-id\":1000}", 2,
         ET_ILLEGAL_ARGUMENT, "Invalid number of buckets: 0 (must be > 0)"},
        {"{\"name\":\"p\",\"transform\":\"truncate[0]\",\"source-id\":1,\"field-id\":1000}", 2,
         ET_ILLEGAL_ARGUMENT, "Invalid truncate width: 0 (must be > 0)"},
        {"{\"name\":\"p\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1000},"
         "{\"name\":\"q\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1000}",
         2, ET_VALIDATION, "field id 1000 is used more than once"},
        {"{\"name\":\"p\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1000},"
         "{\"name\":\"q\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1005}",
         1, ET_VALIDATION, "Spec does not use sequential IDs that are required in v1"},
        {"{\"name\":\"p\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1000},"
         "{\"name\":\"q\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1005}",
         2, ET_NONE, NULL},
        {"{\"name\":\"p\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1001}", 1,
         ET_VALIDATION, "sequential IDs"},
        {"3", 2, ET_BAD_REQUEST, "Invalid partition field: not an object"},
    };
    struct error err = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum status rc = check_spec(cases[i].fields, cases[i].fv, &err);

        if (!cases[i].needle) {
            if (rc != ST_OK)
                fail_msg("[%s] v%d rejected: %s", cases[i].fields, cases[i].fv, err.msg);
            continue;
        }
        if (rc != ST_INVALID || err.type != cases[i].type || !strstr(err.msg, cases[i].needle))
            fail_msg("[%s]: rc %d type %d \"%s\"", cases[i].fields, rc, err.type, err.msg);
    }
}

static void test_spec_bad_shapes(void **state)
{
    json_t *schema = J(SPEC_SCHEMA), *spec;
    struct error err = {0};

    (void)state;
    expect_error(spec_validate(NULL, schema, 2, &err), &err, ET_BAD_REQUEST, "not an object");
    spec = J("{\"spec-id\":0}");
    expect_error(spec_validate(spec, schema, 2, &err), &err, ET_BAD_REQUEST,
                 "missing field 'fields'");
    json_decref(spec);
    spec = J("{\"spec-id\":\"zero\",\"fields\":[]}");
    expect_error(spec_validate(spec, schema, 2, &err), &err, ET_BAD_REQUEST, "'spec-id'");
    json_decref(spec);
    spec = J("{\"fields\":[]}");
    assert_int_equal(spec_validate(spec, schema, 2, &err), ST_OK);
    json_decref(spec);
    json_decref(schema);
}

static void test_spec_compatible_and_max(void **state)
{
    json_t *a = J("{\"spec-id\":0,\"fields\":["
                  "{\"name\":\"b\",\"transform\":\"bucket[16]\",\"source-id\":1,"
                  "\"field-id\":1000},"
                  "{\"name\":\"d\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1003}]}");
    json_t *b = J("{\"spec-id\":5,\"fields\":["
                  "{\"name\":\"b\",\"transform\":\"BUCKET[16]\",\"source-id\":1,"
                  "\"field-id\":1000},"
                  "{\"name\":\"d\",\"transform\":\"day\",\"source-id\":2,\"field-id\":1003}]}");
    static const char *different[] = {
        ("{\"fields\":[{\"name\":\"b\",\"transform\":\"bucket[8]\",\"source-id\":1,"
         "\"field-id\":1000},{\"name\":\"d\",\"transform\":\"day\",\"source-id\":2,"
         "\"field-id\":1003}]}"),
        ("{\"fields\":[{\"name\":\"bb\",\"transform\":\"bucket[16]\",\"source-id\":1,"
         "\"field-id\":1000},{\"name\":\"d\",\"transform\":\"day\",\"source-id\":2,"
         "\"field-id\":1003}]}"),
        ("{\"fields\":[{\"name\":\"b\",\"transform\":\"bucket[16]\",\"source-id\":3,"
         "\"field-id\":1000},{\"name\":\"d\",\"transform\":\"day\",\"source-id\":2,"
         "\"field-id\":1003}]}"),
        ("{\"fields\":[{\"name\":\"b\",\"transform\":\"bucket[16]\",\"source-id\":1,"
         "\"field-id\":1001},{\"name\":\"d\",\"transform\":\"day\",\"source-id\":2,"
         "\"field-id\":1003}]}"),
        ("{\"fields\":[{\"name\":\"d\",\"transform\":\"day\",\"source-id\":2,"
         "\"field-id\":1003},{\"name\":\"b\",\"transform\":\"bucket[16]\",\"source-id\":1,"
         "\"field-id\":1000}]}"),
        ("{\"fields\":[{\"name\":\"b\",\"transform\":\"bucket[16]\",\"source-id\":1,"
         "\"field-id\":1000}]}"),
    };
    json_t *empty = J("{\"spec-id\":0,\"fields\":[]}");
    size_t i;

    (void)state;
    assert_true(spec_compatible(a, b));
    assert_true(spec_compatible(empty, empty));
    assert_false(spec_compatible(a, empty));
    assert_false(spec_compatible(a, NULL));
    for (i = 0; i < sizeof(different) / sizeof(different[0]); i++) {
        json_t *c = J(different[i]);

        if (spec_compatible(a, c))
            fail_msg("not different: %s", different[i]);
        json_decref(c);
    }
    assert_int_equal(spec_max_field_id(a), 1003);
    assert_int_equal(spec_max_field_id(empty), 999);
    assert_int_equal(spec_max_field_id(NULL), 999);
    json_decref(a);
    json_decref(b);
    json_decref(empty);
}

/* ---- sort orders ---- */

static enum status check_order(const char *order_json, struct error *err)
{
    json_t *schema = J(SPEC_SCHEMA), *order = J(order_json);
    enum status rc = sortorder_validate(order, schema, err);

    json_decref(order);
    json_decref(schema);
    return rc;
}

static void test_sortorder_validate(void **state)
{
    static const struct {
        const char *order;
        enum errtype type;
        const char *needle; /* NULL: valid */
    } cases[] = {
        {"{\"order-id\":0,\"fields\":[]}", ET_NONE, NULL},
        {"{\"fields\":[]}", ET_NONE, NULL},
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"},{\"transform\":\"bucket[4]\","
         "\"source-id\":6,\"direction\":\"DESC\",\"null-order\":\"nulls-last\"}]}",
         ET_NONE, NULL},
        {"{\"order-id\":3,\"fields\":[]}", ET_ILLEGAL_ARGUMENT, "Unsorted order ID must be 0"},
        {"{\"order-id\":0,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}",
         ET_ILLEGAL_ARGUMENT, "Sort order ID 0 is reserved for unsorted order"},
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":42,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}",
         ET_VALIDATION, "Cannot find source column for sort field: identity(42)"},
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
         "\"direction\":\"up\",\"null-order\":\"nulls-first\"}]}",
         ET_ILLEGAL_ARGUMENT, "Invalid sort direction: up"},
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
         "\"direction\":\"asc\",\"null-order\":\"first\"}]}",
         ET_ILLEGAL_ARGUMENT, "Unexpected null order: first"},
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"bucket[4]\",\"source-id\":4,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}",
         ET_VALIDATION, "Invalid source type boolean for transform: bucket[4]"},
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":5,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}",
         ET_VALIDATION, "Cannot sort by non-primitive source field: struct"},
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
         "\"null-order\":\"nulls-first\"}]}",
         ET_BAD_REQUEST, "missing field 'direction'"},
        {"{\"order-id\":1,\"fields\":[{\"transform\":\"rank\",\"source-id\":1,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}",
         ET_ILLEGAL_ARGUMENT, "Unsupported transform: rank"},
        {"{\"order-id\":1}", ET_BAD_REQUEST, "missing field 'fields'"},
        {"{\"order-id\":1,\"fields\":[null]}", ET_BAD_REQUEST, "not an object"},
        {"[]", ET_BAD_REQUEST, "Invalid sort order: not an object"},
    };
    struct error err = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum status rc = check_order(cases[i].order, &err);

        if (!cases[i].needle) {
            if (rc != ST_OK)
                fail_msg("%s rejected: %s", cases[i].order, err.msg);
            continue;
        }
        if (rc != ST_INVALID || err.type != cases[i].type || !strstr(err.msg, cases[i].needle))
            fail_msg("%s: rc %d type %d \"%s\"", cases[i].order, rc, err.type, err.msg);
    }
}

static void test_sortorder_same_and_unsorted(void **state)
{
    json_t *a = J("{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
                  "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}");
    json_t *b = J("{\"order-id\":4,\"fields\":[{\"transform\":\"Identity\",\"source-id\":1,"
                  "\"direction\":\"ASC\",\"null-order\":\"nulls-first\"}]}");
    static const char *different[] = {
        ("{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":2,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}"),
        ("{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
         "\"direction\":\"desc\",\"null-order\":\"nulls-first\"}]}"),
        ("{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-last\"}]}"),
        ("{\"order-id\":1,\"fields\":[{\"transform\":\"bucket[2]\",\"source-id\":1,"
         "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}"),
        "{\"order-id\":0,\"fields\":[]}",
    };
    json_t *unsorted = J("{\"order-id\":0,\"fields\":[]}");
    size_t i;

    (void)state;
    assert_true(sortorder_same(a, b));
    for (i = 0; i < sizeof(different) / sizeof(different[0]); i++) {
        json_t *c = J(different[i]);

        if (sortorder_same(a, c))
            fail_msg("not different: %s", different[i]);
        json_decref(c);
    }
    assert_true(sortorder_same(unsorted, unsorted));
    assert_true(sortorder_is_unsorted(unsorted));
    assert_true(sortorder_is_unsorted(NULL));
    assert_false(sortorder_is_unsorted(a));
    json_decref(a);
    json_decref(b);
    json_decref(unsorted);
}

/* ---- robustness: arbitrary JSON never crashes any entry point ---- */

static void feed_everything(json_t *v, json_t *valid_schema)
{
    struct error err = {0};
    json_t *out = NULL;
    const json_t *type;
    int last;

    (void)schema_validate(v, 2, &err);
    (void)schema_validate(v, 3, &err);
    if (schema_assign_fresh_ids(v, &out, &last, &err) == ST_OK)
        json_decref(out);
    (void)schema_same(v, v);
    (void)schema_same(v, valid_schema);
    (void)schema_max_field_id(v);
    (void)schema_find_field(v, 1, &type);
    (void)schema_find_field_by_name(v, "a.b");
    (void)spec_validate(v, valid_schema, 1, &err);
    (void)spec_validate(v, v, 2, &err);
    (void)spec_compatible(v, v);
    (void)spec_max_field_id(v);
    (void)sortorder_validate(v, valid_schema, &err);
    (void)sortorder_validate(v, v, &err);
    (void)sortorder_same(v, v);
    (void)sortorder_is_unsorted(v);
}

static void test_arbitrary_json_is_safe(void **state)
{
    static const char *inputs[] = {
        "null",
        "1",
        "\"x\"",
        "[]",
        "{}",
        "[1,{}]",
        "{\"type\":1}",
        "{\"type\":\"struct\"}",
        "{\"type\":\"struct\",\"fields\":[null,1,\"a\",[],{}]}",
        "{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":true,"
        "\"type\":{\"type\":\"list\"}}]}",
        "{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":true,"
        "\"type\":{\"type\":\"map\",\"key-id\":2,\"key\":{},\"value-id\":3,\"value\":[],"
        "\"value-required\":true}}]}",
        "{\"type\":\"struct\",\"identifier-field-ids\":{},\"fields\":[{\"id\":1,\"name\":1,"
        "\"required\":\"yes\",\"type\":null}]}",
        "{\"fields\":[{\"source-id\":\"1\",\"transform\":[],\"name\":{},\"field-id\":null},"
        "{\"source-ids\":[],\"transform\":\"bucket[\"},{\"source-ids\":\"x\"},"
        "{\"direction\":1,\"null-order\":[]}]}",
        "{\"fields\":7,\"order-id\":\"x\",\"spec-id\":[]}",
        "{\"type\":\"struct\",\"fields\":[{\"id\":-2147483648,\"name\":\"m\",\"required\":false,"
        "\"type\":{\"type\":\"map\",\"key-id\":2147483647,\"key\":\"geography(,\","
        "\"value-id\":0,\"value\":\"decimal(1,\",\"value-required\":false},"
        "\"initial-default\":{\"x\":[1,2,{\"y\":null}]}}]}",
    };
    json_t *valid = J(NESTED);
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        json_t *v = J(inputs[i]);

        feed_everything(v, valid);
        json_decref(v);
    }
    feed_everything(NULL, valid);
    json_decref(valid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_primitive_is_valid_in_v3),
        cmocka_unit_test(test_type_whitespace_and_case),
        cmocka_unit_test(test_invalid_types),
        cmocka_unit_test(test_v3_types_need_v3),
        cmocka_unit_test(test_v3_gating_names_nested_columns),
        cmocka_unit_test(test_defaults_need_v3),
        cmocka_unit_test(test_default_values_match_types),
        cmocka_unit_test(test_malformed_shapes),
        cmocka_unit_test(test_deep_nesting_is_refused),
        cmocka_unit_test(test_names_and_ids),
        cmocka_unit_test(test_identifier_fields),
        cmocka_unit_test(test_fresh_ids_java_order),
        cmocka_unit_test(test_fresh_ids_map_of_structs_and_identifiers),
        cmocka_unit_test(test_fresh_ids_canonical_types_and_defaults),
        cmocka_unit_test(test_fresh_ids_rejects_invalid),
        cmocka_unit_test(test_schema_same),
        cmocka_unit_test(test_find_fields),
        cmocka_unit_test(test_transform_valid),
        cmocka_unit_test(test_spec_validate),
        cmocka_unit_test(test_spec_bad_shapes),
        cmocka_unit_test(test_spec_compatible_and_max),
        cmocka_unit_test(test_sortorder_validate),
        cmocka_unit_test(test_sortorder_same_and_unsorted),
        cmocka_unit_test(test_arbitrary_json_is_safe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
