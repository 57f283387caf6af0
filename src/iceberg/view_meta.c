/*
 * view_meta.c - Iceberg view metadata as JSON trees: shapes, validation,
 * parsing, serialisation in Java's field order, metadata file names and the
 * assert-view-uuid requirement (format/view-spec.md, rest-spec.md §5 and §8).
 * The update semantics (Java's ViewMetadata.Builder) are in view_update.c.
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "iceberg/schema.h"
#include "iceberg/view_internal.h"
#include "iceberg/table_meta.h"
#include "iceberg/view_meta.h"

#define PROP_METADATA_PATH "write.metadata.path"
#define PROP_METADATA_CODEC "write.metadata.compression-codec"

/* ---------------------------------------------------------------- small helpers */

enum status view_get_int32(const json_t *obj, const char *what, const char *key, bool required,
                           int64_t *out, struct error *err)
{
    int64_t v = 0;
    enum status rc;

    if ((rc = jsonx_get_int(obj, what, key, required, &v, err)))
        return rc;
    if (!json_is_integer(json_object_get(obj, key)))
        return ST_OK; /* optional and absent: *out untouched */
    if (v < INT32_MIN || v > INT32_MAX)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid %s: field '%s' must be a 32-bit integer", what, key);
    *out = v;
    return ST_OK;
}

json_t *view_find(const json_t *arr, const char *key, int64_t id)
{
    size_t i;
    json_t *e;

    json_array_foreach(arr, i, e)
    {
        json_t *v = json_object_get(e, key);
        if (json_is_integer(v) && json_integer_value(v) == id)
            return e;
    }
    return NULL;
}

const char *view_prop(const json_t *meta, const char *key)
{
    return json_string_value(json_object_get(json_object_get(meta, "properties"), key));
}

const char *view_location(const json_t *meta)
{
    return json_string_value(json_object_get(meta, "location"));
}

/* Copies every key of src that out does not have yet (unknown keys keep their place at the end). */
static void copy_rest(json_t *out, const json_t *src)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)src, key, v)
    {
        if (!json_object_get(out, key))
            json_object_set_new(out, key, json_deep_copy(v));
    }
}

static void copy_key(json_t *out, const json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);

    if (v)
        json_object_set_new(out, key, json_deep_copy(v));
}

/* ---------------------------------------------------------------- versions */

/* Type-checks representation number index of a version. */
static enum status rep_check(const json_t *rep, size_t index, bool sql_only, struct error *err)
{
    const char *type = NULL, *s = NULL;
    enum status rc;

    if (!json_is_object(rep))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid view representation %zu: not an object", index);
    if ((rc = jsonx_get_str(rep, "view representation", "type", true, &type, err)))
        return rc;
    if (strcasecmp(type, "sql") != 0) {
        if (sql_only)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Found unsupported view representation type: %s", type);
        return ST_OK;
    }
    if ((rc = jsonx_get_str(rep, "SQL view representation", "sql", true, &s, err)) ||
        (rc = jsonx_get_str(rep, "SQL view representation", "dialect", true, &s, err)))
        return rc;
    return ST_OK;
}

enum status view_version_check(const json_t *version, const char *what, bool sql_only,
                               struct error *err)
{
    int64_t n = 0;
    const char *s = NULL;
    json_t *v = NULL;
    size_t i;
    enum status rc;

    if (!json_is_object(version))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid %s: not an object", what);
    if ((rc = view_get_int32(version, what, "version-id", true, &n, err)) ||
        (rc = view_get_int32(version, what, "schema-id", true, &n, err)) ||
        (rc = jsonx_get_int(version, what, "timestamp-ms", true, &n, err)) ||
        (rc = jsonx_get_str_map(version, what, "summary", true, &v, err)) ||
        (rc = jsonx_get_str(version, what, "default-catalog", false, &s, err)) ||
        (rc = jsonx_get_str_array(version, what, "default-namespace", true, &v, err)) ||
        (rc = jsonx_get_arr(version, what, "representations", true, &v, err)))
        return rc;
    for (i = 0; i < json_array_size(v); i++) {
        if ((rc = rep_check(json_array_get(v, i), i, sql_only, err)))
            return rc;
    }
    return ST_OK;
}

static json_t *rep_canonical(const json_t *rep)
{
    json_t *out = json_object();
    const char *type = json_string_value(json_object_get(rep, "type"));

    if (!json_is_object(rep))
        return json_deep_copy(rep);
    if (type && strcasecmp(type, "sql") == 0) {
        json_object_set_new(out, "type", json_string("sql"));
        copy_key(out, rep, "sql");
        copy_key(out, rep, "dialect");
    } else if (type) {
        /* Java keeps the type of an unknown representation lower-cased. */
        char *low = xstrdup(type);
        for (char *p = low; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        json_object_set_new(out, "type", json_string(low));
        free(low);
    }
    copy_rest(out, rep);
    return out;
}

json_t *view_version_canonical(const json_t *version)
{
    json_t *out, *reps, *list;
    json_t *cat = json_object_get(version, "default-catalog");
    size_t i;

    if (!json_is_object(version))
        return json_deep_copy(version);
    out = json_object();
    copy_key(out, version, "version-id");
    copy_key(out, version, "timestamp-ms");
    copy_key(out, version, "schema-id");
    copy_key(out, version, "summary");
    if (json_is_string(cat))
        json_object_set_new(out, "default-catalog", json_deep_copy(cat));
    copy_key(out, version, "default-namespace");
    reps = json_object_get(version, "representations");
    if (json_is_array(reps)) {
        list = json_array();
        for (i = 0; i < json_array_size(reps); i++)
            json_array_append_new(list, rep_canonical(json_array_get(reps, i)));
        json_object_set_new(out, "representations", list);
    }
    copy_rest(out, version);
    if (json_is_null(json_object_get(out, "default-catalog")))
        json_object_del(out, "default-catalog");
    return out;
}

static bool str_eq_ci_type(const json_t *a, const json_t *b)
{
    const char *x = json_string_value(json_object_get(a, "type"));
    const char *y = json_string_value(json_object_get(b, "type"));

    return x && y && strcasecmp(x, y) == 0;
}

static bool reps_same(const json_t *a, const json_t *b)
{
    size_t i;

    if (!json_is_array(a) || !json_is_array(b) || json_array_size(a) != json_array_size(b))
        return false;
    for (i = 0; i < json_array_size(a); i++) {
        const json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
        if (!str_eq_ci_type(x, y))
            return false;
        if (strcasecmp(json_string_value(json_object_get(x, "type")), "sql") != 0)
            continue;
        if (!json_equal(json_object_get(x, "sql"), json_object_get(y, "sql")) ||
            !json_equal(json_object_get(x, "dialect"), json_object_get(y, "dialect")))
            return false;
    }
    return true;
}

/* A default-catalog that is absent or null is no catalog. */
static const json_t *catalog_of(const json_t *v)
{
    const json_t *c = json_object_get(v, "default-catalog");

    return json_is_string(c) ? c : NULL;
}

bool view_versions_same(const json_t *a, const json_t *b)
{
    const json_t *ca = catalog_of(a), *cb = catalog_of(b);

    return json_equal(json_object_get(a, "summary"), json_object_get(b, "summary")) &&
           reps_same(json_object_get(a, "representations"),
                     json_object_get(b, "representations")) &&
           (ca && cb ? json_equal(ca, cb) : ca == cb) &&
           json_equal(json_object_get(a, "default-namespace"),
                      json_object_get(b, "default-namespace")) &&
           json_equal(json_object_get(a, "schema-id"), json_object_get(b, "schema-id"));
}

/* ---------------------------------------------------------------- schemas */

json_t *view_schema_with_id(const json_t *schema, int64_t id)
{
    json_t *out = json_object();
    json_t *ids = json_object_get(schema, "identifier-field-ids");
    const char *key;
    json_t *v;

    json_object_set_new(out, "type", json_string("struct"));
    json_object_set_new(out, "schema-id", json_integer(id));
    if (json_is_array(ids) && json_array_size(ids) > 0)
        json_object_set_new(out, "identifier-field-ids", json_deep_copy(ids));
    copy_key(out, schema, "fields");
    json_object_foreach((json_t *)schema, key, v)
    {
        if (!json_object_get(out, key) && strcmp(key, "identifier-field-ids") != 0 &&
            !json_is_null(v))
            json_object_set_new(out, key, json_deep_copy(v));
    }
    return out;
}

/* ---------------------------------------------------------------- dialects */

/* Java's toLowerCase(Locale.ROOT) for ASCII; other characters are kept as they are. */
static char *lower_dup(const char *s)
{
    char *out = xstrdup(s);

    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x80)
            *p = (char)tolower((unsigned char)*p);
    return out;
}

json_t *view_dialects(const json_t *version, const char **dup)
{
    json_t *out = json_array(), *seen = json_object();
    json_t *reps = json_object_get(version, "representations");
    size_t i;

    if (dup)
        *dup = NULL;
    /* A jansson object is the hash set, so a hostile list of dialects costs linear time. */
    for (i = 0; i < json_array_size(reps); i++) {
        const json_t *r = json_array_get(reps, i);
        const char *type = json_string_value(json_object_get(r, "type"));
        const char *d = json_string_value(json_object_get(r, "dialect"));
        json_t *first;
        char *low;

        if (!type || strcasecmp(type, "sql") != 0 || !d)
            continue;
        low = lower_dup(d);
        first = json_object_get(seen, low);
        if (!first) {
            first = json_string(low);
            json_array_append_new(out, first);
            json_object_set(seen, low, first);
        } else if (dup && !*dup) {
            *dup = json_string_value(first);
        }
        free(low);
    }
    json_decref(seen);
    return out;
}

/*
 * Java's String.hashCode over the UTF-16 code units of UTF-8 text s (invalid
 * sequences count as one unit per byte; jansson only hands us valid UTF-8).
 */
static uint32_t java_string_hash(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t h = 0;

    while (*p) {
        uint32_t cp = *p, n = 0;
        if (cp >= 0xf0 && p[1] && p[2] && p[3]) {
            cp = ((cp & 0x07) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) |
                 (p[3] & 0x3f);
            n = 4;
        } else if (cp >= 0xe0 && p[1] && p[2]) {
            cp = ((cp & 0x0f) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3f);
            n = 3;
        } else if (cp >= 0xc0 && p[1]) {
            cp = ((cp & 0x1f) << 6) | (p[1] & 0x3f);
            n = 2;
        } else {
            n = 1;
        }
        p += n;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return h;
}

struct set_item {
    const char *s;
    size_t order;
    uint32_t bucket;
};

static int cmp_set_item(const void *a, const void *b)
{
    const struct set_item *x = a, *y = b;

    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

void view_format_set(const json_t *set, char *out, size_t n)
{
    size_t count = json_array_size(set), cap = 16, i, len = 0;
    struct set_item *items = xcalloc(count + 1, sizeof(*items));

    /*
     * A java.util.HashSet iterates bucket by bucket (hash ^ hash >>> 16, masked
     * by a power-of-two table that doubles past 3/4 full), entries of one
     * bucket in insertion order.
     */
    while (count > cap / 4 * 3)
        cap *= 2;
    for (i = 0; i < count; i++) {
        uint32_t h = java_string_hash(json_string_value(json_array_get(set, i)));
        items[i].s = json_string_value(json_array_get(set, i));
        items[i].order = i;
        items[i].bucket = (h ^ (h >> 16)) & (uint32_t)(cap - 1);
    }
    qsort(items, count, sizeof(*items), cmp_set_item);
    if (n == 0)
        goto out;
    out[0] = '\0';
    len = (size_t)snprintf(out, n, "[");
    for (i = 0; i < count && len < n; i++)
        len += (size_t)snprintf(out + len, n - len, "%s%s", i ? ", " : "", items[i].s);
    if (len < n)
        snprintf(out + len, n - len, "]");
out:
    free(items);
}

/* ---------------------------------------------------------------- canonical form */

static json_t *log_entry_canonical(const json_t *e)
{
    json_t *out;

    if (!json_is_object(e))
        return json_deep_copy(e);
    out = json_object();
    copy_key(out, e, "timestamp-ms");
    copy_key(out, e, "version-id");
    copy_rest(out, e);
    return out;
}

/* Applies f to every item of src into a new array under key in out (when src is an array). */
static void map_list(json_t *out, const json_t *meta, const char *key, json_t *(*f)(const json_t *))
{
    json_t *src = json_object_get(meta, key), *list;
    size_t i;

    if (!json_is_array(src)) {
        copy_key(out, meta, key);
        return;
    }
    list = json_array();
    for (i = 0; i < json_array_size(src); i++)
        json_array_append_new(list, f(json_array_get(src, i)));
    json_object_set_new(out, key, list);
}

static json_t *schema_canonical(const json_t *s)
{
    json_t *id = json_object_get(s, "schema-id");

    if (!json_is_object(s))
        return json_deep_copy(s);
    /* SchemaParser: a schema without an id is schema 0. */
    return view_schema_with_id(s, json_is_integer(id) ? json_integer_value(id) : 0);
}

json_t *view_canonical(const json_t *meta)
{
    json_t *out = json_object();
    json_t *props = json_object_get(meta, "properties");

    /* ViewMetadataParser.toJson's order; properties only when there are some. */
    copy_key(out, meta, "view-uuid");
    copy_key(out, meta, "format-version");
    copy_key(out, meta, "location");
    if (json_is_object(props) && json_object_size(props) > 0)
        json_object_set_new(out, "properties", json_deep_copy(props));
    map_list(out, meta, "schemas", schema_canonical);
    copy_key(out, meta, "current-version-id");
    map_list(out, meta, "versions", view_version_canonical);
    map_list(out, meta, "version-log", log_entry_canonical);
    copy_rest(out, meta);
    if (!json_is_object(props) || json_object_size(props) == 0)
        json_object_del(out, "properties");
    return out;
}

/* ---------------------------------------------------------------- validation */

/* Writes the integer key of every item of arr as "[1, 2]" into out. */
static void format_ids(const json_t *arr, const char *key, char *out, size_t n)
{
    size_t i, len = (size_t)snprintf(out, n, "[");

    for (i = 0; i < json_array_size(arr) && len < n; i++)
        len += (size_t)snprintf(
            out + len, n - len, "%s%" PRId64, i ? ", " : "",
            (int64_t)json_integer_value(json_object_get(json_array_get(arr, i), key)));
    if (len < n)
        snprintf(out + len, n - len, "]");
}

/* Records id in the set seen (an object keyed by the decimal id); false when it was there. */
static bool id_first_seen(json_t *seen, int64_t id)
{
    char key[24];

    snprintf(key, sizeof(key), "%" PRId64, id);
    if (json_object_get(seen, key))
        return false;
    json_object_set_new(seen, key, json_true());
    return true;
}

static enum status check_schemas(const json_t *schemas, struct error *err)
{
    json_t *seen = json_object();
    enum status rc = ST_OK;
    size_t i;

    for (i = 0; i < json_array_size(schemas) && rc == ST_OK; i++) {
        const json_t *s = json_array_get(schemas, i);
        int64_t id = 0;
        if ((rc = schema_validate(s, VIEW_SCHEMA_FORMAT, err)) ||
            (rc = view_get_int32(s, "schema", "schema-id", false, &id, err)))
            break;
        if (!id_first_seen(seen, id))
            rc = error_set(err, ST_INVALID, ET_BAD_REQUEST,
                           "Invalid view metadata: duplicate schema id %" PRId64, id);
    }
    json_decref(seen);
    return rc;
}

static enum status check_versions(const json_t *versions, struct error *err)
{
    json_t *seen = json_object();
    enum status rc = ST_OK;
    size_t i;

    for (i = 0; i < json_array_size(versions) && rc == ST_OK; i++) {
        const json_t *v = json_array_get(versions, i);
        int64_t id;
        if ((rc = view_version_check(v, "view version", false, err)))
            break;
        id = json_integer_value(json_object_get(v, "version-id"));
        if (!id_first_seen(seen, id))
            rc = error_set(err, ST_INVALID, ET_BAD_REQUEST,
                           "Invalid view metadata: duplicate version id %" PRId64, id);
    }
    json_decref(seen);
    return rc;
}

static enum status check_log(const json_t *log, struct error *err)
{
    size_t i;
    int64_t n;
    enum status rc;

    for (i = 0; i < json_array_size(log); i++) {
        const json_t *e = json_array_get(log, i);
        if (!json_is_object(e))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid version-log entry %zu: not an object", i);
        if ((rc = jsonx_get_int(e, "version-log entry", "timestamp-ms", true, &n, err)) ||
            (rc = view_get_int32(e, "version-log entry", "version-id", true, &n, err)))
            return rc;
    }
    return ST_OK;
}

enum status view_validate(const json_t *meta, struct error *err)
{
    const char *what = "view metadata", *s = NULL;
    json_t *schemas = NULL, *versions = NULL, *log = NULL, *props = NULL;
    const json_t *cur;
    int64_t fv = 0, cur_id = 0, schema_id;
    char ids[256];
    enum status rc;

    if (!json_is_object(meta))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid view metadata: not an object");
    if ((rc = jsonx_get_str(meta, what, "view-uuid", true, &s, err)) ||
        (rc = view_get_int32(meta, what, "format-version", true, &fv, err)) ||
        (rc = jsonx_get_str(meta, what, "location", true, &s, err)) ||
        (rc = jsonx_get_str_map(meta, what, "properties", false, &props, err)) ||
        (rc = jsonx_get_arr(meta, what, "schemas", true, &schemas, err)) ||
        (rc = view_get_int32(meta, what, "current-version-id", true, &cur_id, err)) ||
        (rc = jsonx_get_arr(meta, what, "versions", true, &versions, err)) ||
        (rc = jsonx_get_arr(meta, what, "version-log", true, &log, err)))
        return rc;
    /* ViewMetadata.check */
    if (fv < 1 || fv > VIEW_FORMAT_VERSION)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Unsupported format version: %" PRId64, fv);
    if ((rc = check_schemas(schemas, err)) || (rc = check_versions(versions, err)) ||
        (rc = check_log(log, err)))
        return rc;
    /* What Java's currentVersion() and currentSchemaId() refuse on load. */
    cur = view_find(versions, "version-id", cur_id);
    if (!cur) {
        format_ids(versions, "version-id", ids, sizeof(ids));
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Cannot find current version %" PRId64 " in view versions: %s", cur_id,
                         ids);
    }
    schema_id = json_integer_value(json_object_get(cur, "schema-id"));
    for (size_t i = 0; i < json_array_size(schemas); i++) {
        int64_t id = 0;
        view_get_int32(json_array_get(schemas, i), "schema", "schema-id", false, &id, NULL);
        if (id == schema_id)
            return ST_OK;
    }
    format_ids(schemas, "schema-id", ids, sizeof(ids));
    return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                     "Cannot find current schema with id %" PRId64 " in schemas: %s", schema_id,
                     ids);
}

enum status view_parse(const char *text, size_t len, json_t **out, struct error *err)
{
    json_t *v = NULL;
    enum status rc;

    *out = NULL;
    if ((rc = jsonx_parse_object(text, len, &v, err)))
        return rc;
    if ((rc = view_validate(v, err))) {
        json_decref(v);
        return rc;
    }
    *out = view_canonical(v);
    json_decref(v);
    return ST_OK;
}

char *view_serialize(const json_t *meta)
{
    json_t *c = view_canonical(meta);
    char *text = jsonx_dump(c);

    json_decref(c);
    return text;
}

/* ---------------------------------------------------------------- file names */

char *view_new_location(const json_t *meta, const char *prev_location)
{
    const char *codec = view_prop(meta, PROP_METADATA_CODEC);

    /* ViewProperties: views default to gzip; only "none" writes plain JSON. The directory
       honours write.metadata.path, as BaseViewOperations.metadataFileLocation does. */
    return meta_file_location(view_location(meta), view_prop(meta, PROP_METADATA_PATH),
                              prev_location, !(codec && strcasecmp(codec, "none") == 0));
}

/* ---------------------------------------------------------------- requirements */

/* TableRequirement types, which Java cannot check against a view. */
static const char *const table_req_types[] = {
    "assert-create",
    "assert-table-uuid",
    "assert-ref-snapshot-id",
    "assert-last-assigned-field-id",
    "assert-current-schema-id",
    "assert-last-assigned-partition-id",
    "assert-default-spec-id",
    "assert-default-sort-order-id",
};

/* Type-checks requirement i; *uuid gets the asserted UUID. */
static enum status parse_requirement(const json_t *req, size_t i, const char **uuid,
                                     struct error *err)
{
    const char *type = NULL;
    enum status rc;

    if (!json_is_object(req))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid view requirement %zu: not an object", i);
    if ((rc = jsonx_get_str(req, "view requirement", "type", true, &type, err)))
        return rc;
    if (strcasecmp(type, "assert-view-uuid") == 0)
        return jsonx_get_str(req, "assert-view-uuid", "uuid", true, uuid, err);
    for (size_t k = 0; k < sizeof(table_req_types) / sizeof(table_req_types[0]); k++)
        if (strcasecmp(type, table_req_types[k]) == 0)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Cannot check table requirement %s against a view", type);
    return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Unknown view requirement type: %s", type);
}

enum status view_check_requirements(const json_t *base, const json_t *requirements,
                                    struct error *err)
{
    const char *base_uuid = json_string_value(json_object_get(base, "view-uuid"));
    const char *uuid = NULL;
    size_t i;
    enum status rc;

    if (!requirements || json_is_null(requirements))
        return ST_OK;
    if (!json_is_array(requirements))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid view commit: field 'requirements' must be an array");
    /* Every requirement is type-checked first, so a malformed request is a 400 in any state. */
    for (i = 0; i < json_array_size(requirements); i++)
        if ((rc = parse_requirement(json_array_get(requirements, i), i, &uuid, err)))
            return rc;
    if (!base)
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "view requirements checked without a view");
    for (i = 0; i < json_array_size(requirements); i++) {
        parse_requirement(json_array_get(requirements, i), i, &uuid, NULL);
        /* UpdateRequirement.AssertViewUUID compares ignoring case. */
        if (!base_uuid || strcasecmp(uuid, base_uuid) != 0)
            return error_set(err, ST_CONFLICT, ET_COMMIT_FAILED,
                             "Requirement failed: view UUID does not match: expected %s != %s",
                             base_uuid ? base_uuid : "null", uuid);
    }
    return ST_OK;
}
