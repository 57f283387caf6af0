/*
 * create.c - the metadata of a new table from a CreateTableRequest, as Java's
 * TableMetadata.newTableMetadata builds it (rest-spec.md sections 5, 6
 * "Fresh ids on createTable" and "Reserved table properties", and 9).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/jsonx.h"
#include "iceberg/schema.h"
#include "iceberg/table_meta.h"

#define WHAT "CreateTableRequest"

/* Partition field ids of a new table start here (spec "Partition Evolution"). */
#define FIRST_PARTITION_FIELD_ID 1000

/* Properties that describe the metadata itself and are never stored (rest-spec.md section 6). */
static const char *const reserved_properties[] = {
    "format-version",           "uuid",
    "snapshot-count",           "current-snapshot-id",
    "current-snapshot-summary", "current-snapshot-timestamp-ms",
    "current-schema",           "default-partition-spec",
    "default-sort-order",
};

/* The parts of a CreateTableRequest that meta_new_table reads. */
struct create_req {
    const char *name;
    json_t *schema;
    json_t *spec;
    json_t *order;
    json_t *props;
};

static enum status read_request(const json_t *req, struct create_req *r, struct error *err)
{
    const char *location = NULL;
    bool stage = false;
    enum status rc;

    memset(r, 0, sizeof(*r));
    if (!json_is_object(req))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid %s: not an object", WHAT);
    if ((rc = jsonx_get_str(req, WHAT, "name", true, &r->name, err)))
        return rc;
    if (r->name[0] == '\0')
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid table name: (empty)");
    if ((rc = jsonx_get_obj(req, WHAT, "schema", true, &r->schema, err)) ||
        (rc = jsonx_get_str(req, WHAT, "location", false, &location, err)) ||
        (rc = jsonx_get_obj(req, WHAT, "partition-spec", false, &r->spec, err)) ||
        (rc = jsonx_get_obj(req, WHAT, "write-order", false, &r->order, err)) ||
        (rc = jsonx_get_bool(req, WHAT, "stage-create", false, &stage, err)) ||
        (rc = jsonx_get_str_map(req, WHAT, "properties", false, &r->props, err)))
        return rc;
    return ST_OK;
}

/* format_version reads the reserved "format-version" property: 1 to 3, default 2. */
static enum status format_version(const json_t *props, int *out, struct error *err)
{
    const char *s = json_string_value(json_object_get(props, "format-version"));
    const char *p;
    long v = 0;

    *out = META_DEFAULT_FORMAT_VERSION;
    if (!s)
        return ST_OK;
    p = s + (*s == '+');
    if (*p == '\0' || strlen(p) > 9)
        goto bad;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            goto bad;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > META_MAX_FORMAT_VERSION)
        goto bad;
    *out = (int)v;
    return ST_OK;
bad:
    return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Unsupported format version: %s", s);
}

/*
 * map_ids records old id -> fresh id for every field, walking the request
 * schema and its fresh copy together: the copy has the same shape, so this
 * pairs each column with itself, which is what Java's lookup by column name
 * achieves.
 */
static void map_ids(json_t *map, const json_t *old, const json_t *fresh, int depth);

static void map_pair(json_t *map, const json_t *old, const json_t *fresh, const char *key)
{
    char buf[24];
    const json_t *o = json_object_get(old, key), *n = json_object_get(fresh, key);

    if (!json_is_integer(o) || !json_is_integer(n))
        return;
    snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(o));
    json_object_set_new(map, buf, json_integer(json_integer_value(n)));
}

static void map_ids(json_t *map, const json_t *old, const json_t *fresh, int depth)
{
    const char *kind = json_string_value(json_object_get(old, "type"));
    const json_t *fo, *ff;
    size_t i;

    if (!kind || depth > 200)
        return;
    if (strcmp(kind, "struct") == 0) {
        fo = json_object_get(old, "fields");
        ff = json_object_get(fresh, "fields");
        for (i = 0; i < json_array_size(fo) && i < json_array_size(ff); i++) {
            map_pair(map, json_array_get(fo, i), json_array_get(ff, i), "id");
            map_ids(map, json_object_get(json_array_get(fo, i), "type"),
                    json_object_get(json_array_get(ff, i), "type"), depth + 1);
        }
    } else if (strcmp(kind, "list") == 0) {
        map_pair(map, old, fresh, "element-id");
        map_ids(map, json_object_get(old, "element"), json_object_get(fresh, "element"), depth + 1);
    } else if (strcmp(kind, "map") == 0) {
        map_pair(map, old, fresh, "key-id");
        map_pair(map, old, fresh, "value-id");
        map_ids(map, json_object_get(old, "key"), json_object_get(fresh, "key"), depth + 1);
        map_ids(map, json_object_get(old, "value"), json_object_get(fresh, "value"), depth + 1);
    }
}

/* fresh_source maps a request source id to the fresh one; false when no column has it. */
static bool fresh_source(const json_t *map, const json_t *field, int64_t *out)
{
    const json_t *v = json_object_get(field, "source-id"),
                 *ids = json_object_get(field, "source-ids");
    char buf[24];

    if (!json_is_integer(v) && json_is_array(ids) && json_array_size(ids) == 1)
        v = json_array_get(ids, 0);
    if (!json_is_integer(v))
        return false;
    snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    v = json_object_get(map, buf);
    if (!v)
        return false;
    *out = json_integer_value(v);
    return true;
}

/* unknown_source explains why a partition field's source could not be mapped. */
static enum status unknown_source(const json_t *f, const char *name, const char *transform,
                                  struct error *err)
{
    const json_t *v = json_object_get(f, "source-id"), *ids = json_object_get(f, "source-ids");
    int64_t id;

    if (!json_is_integer(v) && json_is_array(ids)) {
        if (json_array_size(ids) != 1 || !json_is_integer(json_array_get(ids, 0)))
            return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                             "Invalid partition field: field 'source-ids' must hold exactly one "
                             "id (multi-argument transforms are not supported)");
        v = json_array_get(ids, 0);
    }
    if (!json_is_integer(v))
        return jsonx_get_int(f, "partition field", "source-id", true, &id, err);
    return error_set(err, ST_INVALID, ET_VALIDATION,
                     "Cannot find source column for partition field: %s: %s(%lld)", name, transform,
                     (long long)json_integer_value(v));
}

/* lower_string returns a JSON string of s in lower case (transforms, directions, null orders). */
static json_t *lower_string(const char *s)
{
    char buf[64];
    size_t i;

    if (!s)
        return json_string("");
    if (strlen(s) >= sizeof(buf))
        return json_string(s);
    for (i = 0; s[i]; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = '\0';
    return json_string(buf);
}

/*
 * fresh_spec rebuilds the request's partition spec for the fresh schema:
 * spec-id 0, source ids remapped, field ids 1000, 1001, ... in order.
 */
static enum status fresh_spec(const json_t *spec, const json_t *map, json_t **out,
                              struct error *err)
{
    json_t *fields = NULL, *f, *nfields = json_array();
    enum status rc = ST_OK;
    int64_t spec_id;
    size_t i;

    if (spec && ((rc = jsonx_get_arr(spec, "partition spec", "fields", true, &fields, err)) ||
                 (rc = jsonx_get_int(spec, "partition spec", "spec-id", false, &spec_id, err))))
        goto out;
    json_array_foreach(fields, i, f)
    {
        const char *name = NULL, *transform = NULL;
        int64_t source = 0, field_id;
        json_t *nf;

        if (!json_is_object(f)) {
            rc = error_set(err, ST_INVALID, ET_BAD_REQUEST,
                           "Invalid partition field: not an object");
            goto out;
        }
        if ((rc = jsonx_get_str(f, "partition field", "name", true, &name, err)) ||
            (rc = jsonx_get_str(f, "partition field", "transform", true, &transform, err)) ||
            (rc = jsonx_get_int(f, "partition field", "field-id", false, &field_id, err)))
            goto out;
        if (!fresh_source(map, f, &source)) {
            rc = unknown_source(f, name, transform, err);
            goto out;
        }
        nf = json_object();
        json_object_set_new(nf, "name", json_string(name));
        json_object_set_new(nf, "transform", lower_string(transform));
        json_object_set_new(nf, "source-id", json_integer(source));
        json_object_set_new(nf, "field-id", json_integer(FIRST_PARTITION_FIELD_ID + (int64_t)i));
        json_array_append_new(nfields, nf);
    }
    *out = json_object();
    json_object_set_new(*out, "spec-id", json_integer(0));
    json_object_set_new(*out, "fields", nfields);
    nfields = NULL;
out:
    json_decref(nfields);
    return rc;
}

/*
 * fresh_order rebuilds the request's sort order for the fresh schema: order
 * id 1 when sorted, the unsorted order 0 otherwise. The request order was
 * validated against the request schema, so every source id maps.
 */
static json_t *fresh_order(const json_t *order, const json_t *map)
{
    const json_t *fields = json_object_get(order, "fields"), *f;
    json_t *out = json_object(), *nfields = json_array();
    size_t i;

    json_object_set_new(out, "order-id", json_integer(json_array_size(fields) > 0 ? 1 : 0));
    json_array_foreach(fields, i, f)
    {
        json_t *nf = json_object();
        int64_t source = -1;

        fresh_source(map, f, &source);
        json_object_set_new(nf, "transform",
                            lower_string(json_string_value(json_object_get(f, "transform"))));
        json_object_set_new(nf, "source-id", json_integer(source));
        json_object_set_new(nf, "direction",
                            lower_string(json_string_value(json_object_get(f, "direction"))));
        json_object_set_new(nf, "null-order",
                            lower_string(json_string_value(json_object_get(f, "null-order"))));
        json_array_append_new(nfields, nf);
    }
    json_object_set_new(out, "fields", nfields);
    return out;
}

static bool is_utf8(const char *s)
{
    json_t *v = json_string(s);

    json_decref(v);
    return v != NULL;
}

static bool is_reserved(const char *key)
{
    size_t i;

    for (i = 0; i < sizeof(reserved_properties) / sizeof(reserved_properties[0]); i++)
        if (strcmp(key, reserved_properties[i]) == 0)
            return true;
    return false;
}

static json_t *stored_properties(const json_t *props)
{
    json_t *out = json_object(), *v;
    const char *k;

    json_object_foreach((json_t *)props, k, v) if (!is_reserved(k))
        json_object_set_new(out, k, json_deep_copy(v));
    return out;
}

/* build_metadata assembles the tree in Java's field order (rest-spec.md section 9); steals parts.
 */
static json_t *build_metadata(int fv, const char *uuid, const char *location, int64_t now_ms,
                              int last_column_id, json_t *schema, json_t *spec, json_t *order,
                              json_t *props)
{
    json_t *m = json_object(), *arr;
    int64_t order_id = json_integer_value(json_object_get(order, "order-id"));

    json_object_set_new(m, "format-version", json_integer(fv));
    json_object_set_new(m, "table-uuid", json_string(uuid));
    json_object_set_new(m, "location", json_string(location));
    if (fv >= 2)
        json_object_set_new(m, "last-sequence-number", json_integer(0));
    json_object_set_new(m, "last-updated-ms", json_integer(now_ms));
    json_object_set_new(m, "last-column-id", json_integer(last_column_id));
    json_object_set_new(m, "current-schema-id", json_integer(0));
    arr = json_array();
    json_array_append_new(arr, schema);
    json_object_set_new(m, "schemas", arr);
    json_object_set_new(m, "default-spec-id", json_integer(0));
    arr = json_array();
    json_array_append_new(arr, spec);
    json_object_set_new(m, "partition-specs", arr);
    json_object_set_new(m, "last-partition-id", json_integer(spec_max_field_id(spec)));
    json_object_set_new(m, "default-sort-order-id", json_integer(order_id));
    arr = json_array();
    json_array_append_new(arr, order);
    json_object_set_new(m, "sort-orders", arr);
    json_object_set_new(m, "properties", props);
    /* "No current snapshot" is -1 before v3 and null from v3 on (rest-spec.md section 9). */
    json_object_set_new(m, "current-snapshot-id", fv >= 3 ? json_null() : json_integer(-1));
    if (fv >= 3)
        json_object_set_new(m, "next-row-id", json_integer(0));
    json_object_set_new(m, "refs", json_object());
    json_object_set_new(m, "snapshots", json_array());
    json_object_set_new(m, "statistics", json_array());
    json_object_set_new(m, "partition-statistics", json_array());
    json_object_set_new(m, "snapshot-log", json_array());
    json_object_set_new(m, "metadata-log", json_array());
    return m;
}

enum status meta_new_table(const json_t *create_req, const char *location, const char *uuid,
                           int64_t now_ms, json_t **out, struct error *err)
{
    struct create_req r;
    json_t *schema = NULL, *map = NULL, *spec = NULL, *order = NULL;
    int fv, last_column_id = 0;
    enum status rc;

    if (!location || !uuid || !out)
        return error_set(err, ST_INTERNAL, ET_INTERNAL,
                         "meta_new_table needs a location, a uuid and an output");
    if (!is_utf8(location) || !is_utf8(uuid))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid table location or uuid: not UTF-8");
    if ((rc = read_request(create_req, &r, err)) || (rc = format_version(r.props, &fv, err)) ||
        (rc = schema_validate(r.schema, fv, err)) ||
        (rc = schema_assign_fresh_ids(r.schema, &schema, &last_column_id, err)))
        goto out;
    map = json_object();
    map_ids(map, r.schema, schema, 0);
    if ((rc = fresh_spec(r.spec, map, &spec, err)) || (rc = spec_validate(spec, schema, fv, err)))
        goto out;
    /* Like Java, bind the order to the request schema first, then rebuild it. */
    if (r.order && (rc = sortorder_validate(r.order, r.schema, err)))
        goto out;
    order = fresh_order(r.order, map);
    if ((rc = sortorder_validate(order, schema, err)))
        goto out;
    *out = build_metadata(fv, uuid, location, now_ms, last_column_id, schema, spec, order,
                          stored_properties(r.props));
    schema = spec = order = NULL;
    rc = ST_OK;
out:
    json_decref(schema);
    json_decref(map);
    json_decref(spec);
    json_decref(order);
    return rc;
}
