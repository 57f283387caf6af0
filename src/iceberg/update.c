/*
 * update.c - applying TableUpdate actions to table metadata (rest-spec.md §6),
 * with the semantics of Java's TableMetadata.Builder.
 *
 * The work happens on a canonical copy of the base tree. Every action first
 * type-checks its fields (a wrong type is a 400, never a crash), then changes
 * the tree. After the last action the snapshot log is repaired, the result is
 * validated as a whole, and its shape is made canonical again.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "core/jsonx.h"
#include "iceberg/schema.h"
#include "iceberg/table_meta.h"

#define PARTITION_DATA_ID_START 1000

/* What one meta_apply_updates call is doing. */
struct upd {
    json_t *m;      /* the metadata being built (owned) */
    int fv;         /* its format version */
    int64_t now_ms; /* commit time */
    bool creating;  /* base was NULL */
    bool uuid_free; /* the table has no UUID yet, so assign-uuid may set one */
    /* the "last added" schema, spec and order for -1 (LAST_ADDED); -1 when none */
    int64_t last_schema, last_spec, last_order;
    json_t *added_snaps; /* ids of snapshots added by this commit */
    json_t *main_moves;  /* snapshots added by this commit that main was set to */
    bool removed_snaps;  /* some snapshot was removed by this commit */
    const char *what;    /* the action being applied, for messages */
    struct error *err;
};

/* Properties that describe the table and are never stored (Java RESERVED_PROPERTIES). */
static const char *const reserved_props[] = {
    "format-version",           "uuid",
    "snapshot-count",           "current-snapshot-id",
    "current-snapshot-summary", "current-snapshot-timestamp-ms",
    "current-schema",           "default-partition-spec",
    "default-sort-order",
};

/* ---------------------------------------------------------------- errors */

static enum status fail(struct upd *u, enum status st, enum errtype type, const char *prefix,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static enum status fail(struct upd *u, enum status st, enum errtype type, const char *prefix,
                        const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return error_set(u->err, st, type, "%s%s", prefix, msg);
}

/* A Java IllegalArgumentException (Preconditions.checkArgument): 400. */
#define bad_arg(u, ...) fail(u, ST_INVALID, ET_ILLEGAL_ARGUMENT, "", __VA_ARGS__)
/* A Java ValidationException: 400. */
#define invalid(u, ...) fail(u, ST_INVALID, ET_VALIDATION, "", __VA_ARGS__)
/* A malformed update (wrong or missing field): 400 BadRequest. */
#define malformed(u, ...) fail(u, ST_INVALID, ET_BAD_REQUEST, "", __VA_ARGS__)
/*
 * A Java RetryableValidationException: the request carries stale values, so
 * CatalogHandlers answers 409 CommitFailedException and the client retries.
 */
#define stale(u, ...)                                                                              \
    fail(u, ST_CONFLICT, ET_COMMIT_FAILED, "Validation failed, please retry: ", __VA_ARGS__)

/* ---------------------------------------------------------------- field access */

static bool is_int32(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
           json_integer_value(v) <= INT32_MAX;
}

/* Reads a Java int (32 bits) field of obj; absent or null leaves *out and *present false. */
static enum status get_int32(struct upd *u, const json_t *obj, const char *key, bool required,
                             int64_t *out, bool *present)
{
    json_t *v = json_object_get(obj, key);

    if (present)
        *present = false;
    if (!v || json_is_null(v)) {
        if (required)
            return malformed(u, "Invalid %s: missing field '%s'", u->what, key);
        return ST_OK;
    }
    if (!is_int32(v))
        return malformed(u, "Invalid %s: field '%s' must be a 32-bit integer", u->what, key);
    *out = (int64_t)json_integer_value(v);
    if (present)
        *present = true;
    return ST_OK;
}

/* Reads a Java long field of obj; as get_int32. */
static enum status get_int64(struct upd *u, const json_t *obj, const char *key, bool required,
                             int64_t *out, bool *present)
{
    json_t *v = json_object_get(obj, key);

    if (present)
        *present = false;
    if (!v || json_is_null(v)) {
        if (required)
            return malformed(u, "Invalid %s: missing field '%s'", u->what, key);
        return ST_OK;
    }
    if (!json_is_integer(v))
        return malformed(u, "Invalid %s: field '%s' must be an integer", u->what, key);
    *out = (int64_t)json_integer_value(v);
    if (present)
        *present = true;
    return ST_OK;
}

static enum status get_str(struct upd *u, const json_t *obj, const char *key, bool required,
                           const char **out)
{
    return jsonx_get_str(obj, u->what, key, required, out, u->err);
}

static enum status get_obj(struct upd *u, const json_t *obj, const char *key, bool required,
                           json_t **out)
{
    return jsonx_get_obj(obj, u->what, key, required, out, u->err);
}

/* Requires obj[key] to be an array of integers (32-bit when int32). */
static enum status get_int_array(struct upd *u, const json_t *obj, const char *key, bool int32,
                                 json_t **out)
{
    enum status rc;
    size_t i;
    json_t *v;

    if ((rc = jsonx_get_arr(obj, u->what, key, true, out, u->err)))
        return rc;
    json_array_foreach(*out, i, v)
    {
        if (int32 ? !is_int32(v) : !json_is_integer(v))
            return malformed(u, "Invalid %s: field '%s' must be an array of %s", u->what, key,
                             int32 ? "32-bit integers" : "integers");
    }
    return ST_OK;
}

/* Reads an integer member of a trusted tree node, or dflt. */
static int64_t int_or(const json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static void set_int(json_t *obj, const char *key, int64_t v)
{
    json_object_set_new(obj, key, json_integer((json_int_t)v));
}

/* The array member key of the working tree, created empty when missing. */
static json_t *list(struct upd *u, const char *key)
{
    json_t *v = json_object_get(u->m, key);

    if (!json_is_array(v)) {
        v = json_array();
        json_object_set_new(u->m, key, v);
    }
    return v;
}

static json_t *object(struct upd *u, const char *key)
{
    json_t *v = json_object_get(u->m, key);

    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(u->m, key, v);
    }
    return v;
}

/* Index of the element of arr whose integer member key equals id, or -1. */
static long index_of(const json_t *arr, const char *key, int64_t id)
{
    size_t i;
    json_t *item;

    json_array_foreach(arr, i, item)
    {
        json_t *v = json_object_get(item, key);
        if (json_is_integer(v) && json_integer_value(v) == id)
            return (long)i;
    }
    return -1;
}

static json_t *find(const json_t *arr, const char *key, int64_t id)
{
    long i = index_of(arr, key, id);

    return i < 0 ? NULL : json_array_get(arr, (size_t)i);
}

/* Removes every element of arr whose integer member key equals id; says whether any was. */
static bool remove_all(json_t *arr, const char *key, int64_t id)
{
    bool removed = false;
    long i;

    while ((i = index_of(arr, key, id)) >= 0) {
        json_array_remove(arr, (size_t)i);
        removed = true;
    }
    return removed;
}

static bool int_list_has(const json_t *arr, int64_t id)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        if (json_is_integer(v) && json_integer_value(v) == id)
            return true;
    }
    return false;
}

/*
 * Sets of 64-bit ids as jansson objects keyed by the decimal id, so that
 * tables with many thousands of snapshots are not walked once per snapshot.
 */
static void id_key(char buf[24], int64_t id)
{
    snprintf(buf, 24, "%" PRId64, id);
}

static void id_set_add(json_t *set, int64_t id)
{
    char k[24];

    id_key(k, id);
    json_object_set_new(set, k, json_true());
}

static bool id_set_has(const json_t *set, int64_t id)
{
    char k[24];

    id_key(k, id);
    return json_object_get(set, k) != NULL;
}

/* The set of the integer member key of every element of arr. */
static json_t *id_set_of(const json_t *arr, const char *key)
{
    json_t *set = json_object();
    size_t i;
    json_t *item;

    json_array_foreach(arr, i, item)
    {
        json_t *v = json_object_get(item, key);
        if (json_is_integer(v))
            id_set_add(set, json_integer_value(v));
    }
    return set;
}

/* Keeps the elements of arr whose integer member key is not in set. */
static void drop_ids(json_t *arr, const char *key, const json_t *set)
{
    json_t *kept = json_array();
    size_t i;
    json_t *item;

    json_array_foreach(arr, i, item)
    {
        json_t *v = json_object_get(item, key);
        if (!json_is_integer(v) || !id_set_has(set, json_integer_value(v)))
            json_array_append(kept, item);
    }
    json_array_clear(arr);
    json_array_extend(arr, kept);
    json_decref(kept);
}

static const json_t *current_schema(struct upd *u)
{
    return find(list(u, "schemas"), "schema-id", int_or(u->m, "current-schema-id", -1));
}

static int64_t current_snapshot_id(const json_t *m)
{
    return int_or(m, "current-snapshot-id", -1);
}

/* Copies v without its null-valued members (Java never writes absent optionals as null). */
static json_t *copy_without_nulls(const json_t *v)
{
    json_t *out = json_deep_copy(v);
    const char *key;
    json_t *item;
    void *tmp;

    json_object_foreach_safe(out, tmp, key, item)
    {
        if (json_is_null(item))
            json_object_del(out, key);
    }
    return out;
}

/* ---------------------------------------------------------------- uuid and version */

static enum status act_assign_uuid(struct upd *u, const json_t *up)
{
    const char *uuid, *cur;
    enum status rc;

    if ((rc = get_str(u, up, "uuid", true, &uuid)))
        return rc;
    if (!ids_is_uuid(uuid))
        return bad_arg(u, "Invalid UUID: %s", uuid);
    cur = meta_uuid(u->m);
    if (cur && strcasecmp(cur, uuid) == 0)
        return ST_OK;
    /* rest-spec.md §6: assign-uuid only names a table being created. */
    if (!u->uuid_free)
        return bad_arg(u, "Cannot reassign the UUID of an existing table: %s != %s",
                       cur ? cur : "null", uuid);
    json_object_set_new(u->m, "table-uuid", json_string(uuid));
    return ST_OK;
}

static void set_format_version(struct upd *u, int fv)
{
    u->fv = fv;
    set_int(u->m, "format-version", fv);
    if (fv >= 3 && !json_is_integer(json_object_get(u->m, "next-row-id")))
        set_int(u->m, "next-row-id", 0); /* row lineage starts at 0 on upgrade */
    if (fv >= 2 && !json_is_integer(json_object_get(u->m, "last-sequence-number")))
        set_int(u->m, "last-sequence-number", 0);
}

static enum status act_upgrade_format_version(struct upd *u, const json_t *up)
{
    int64_t fv = 0;
    enum status rc;

    if ((rc = get_int32(u, up, "format-version", true, &fv, NULL)))
        return rc;
    if (fv > META_MAX_FORMAT_VERSION)
        return bad_arg(
            u, "Cannot upgrade table to unsupported format version: v%" PRId64 " (supported: v%d)",
            fv, META_MAX_FORMAT_VERSION);
    if (fv < u->fv)
        return bad_arg(u, "Cannot downgrade v%d table to v%" PRId64, u->fv, fv);
    if (fv > u->fv)
        set_format_version(u, (int)fv);
    return ST_OK;
}

/* ---------------------------------------------------------------- schemas */

/* Java's reuseOrCreateNewSchemaId: an identical schema's id, else max(current, max id + 1). */
static int64_t schema_id_for(struct upd *u, const json_t *schema)
{
    int64_t id = int_or(u->m, "current-schema-id", 0);
    size_t i;
    json_t *s;

    if (id < 0)
        id = 0;
    json_array_foreach(list(u, "schemas"), i, s)
    {
        int64_t sid = int_or(s, "schema-id", 0);
        if (schema_same(s, schema))
            return sid;
        if (sid >= id)
            id = sid + 1;
    }
    return id;
}

/* A copy of schema with schema-id set, keys in Java's order (type, schema-id, ids, fields). */
static json_t *schema_with_id(const json_t *schema, int64_t id)
{
    json_t *out = json_object();
    json_t *ids = json_object_get(schema, "identifier-field-ids");
    const char *key;
    json_t *v;

    json_object_set_new(out, "type", json_string("struct"));
    set_int(out, "schema-id", id);
    if (json_is_array(ids) && json_array_size(ids) > 0)
        json_object_set_new(out, "identifier-field-ids", json_deep_copy(ids));
    json_object_set_new(out, "fields", json_deep_copy(json_object_get(schema, "fields")));
    json_object_foreach((json_t *)schema, key, v)
    {
        if (!json_object_get(out, key) && strcmp(key, "identifier-field-ids") != 0 &&
            !json_is_null(v))
            json_object_set_new(out, key, json_deep_copy(v));
    }
    return out;
}

static enum status act_add_schema(struct upd *u, const json_t *up)
{
    json_t *schema = NULL;
    int64_t ignored, last, new_last, id;
    enum status rc;

    /* last-column-id is deprecated; Java ignores it, but it must still be an int. */
    if ((rc = get_obj(u, up, "schema", true, &schema)) ||
        (rc = get_int32(u, up, "last-column-id", false, &ignored, NULL)) ||
        (rc = schema_validate(schema, u->fv, u->err)))
        return rc;
    last = int_or(u->m, "last-column-id", 0);
    new_last = schema_max_field_id(schema);
    if (new_last < last)
        new_last = last;
    id = schema_id_for(u, schema);
    u->last_schema = id;
    if (find(list(u, "schemas"), "schema-id", id) && new_last == last)
        return ST_OK;
    set_int(u->m, "last-column-id", new_last);
    if (!find(list(u, "schemas"), "schema-id", id))
        json_array_append_new(list(u, "schemas"), schema_with_id(schema, id));
    return ST_OK;
}

static enum status act_set_current_schema(struct upd *u, const json_t *up)
{
    int64_t id = 0;
    enum status rc;

    if ((rc = get_int32(u, up, "schema-id", true, &id, NULL)))
        return rc;
    if (id == -1) {
        if (u->last_schema < 0)
            return invalid(u, "Cannot set last added schema: no schema has been added");
        id = u->last_schema;
    }
    if (!find(list(u, "schemas"), "schema-id", id))
        return bad_arg(u, "Cannot set current schema to unknown schema: %" PRId64, id);
    /* Specs and orders keep their source ids, so rebinding them changes nothing here. */
    set_int(u->m, "current-schema-id", id);
    return ST_OK;
}

static enum status act_remove_schemas(struct upd *u, const json_t *up)
{
    json_t *ids = NULL;
    int64_t cur = int_or(u->m, "current-schema-id", -1);
    enum status rc;
    size_t i;
    json_t *v;

    if ((rc = get_int_array(u, up, "schema-ids", true, &ids)))
        return rc;
    if (int_list_has(ids, cur))
        return bad_arg(u, "Cannot remove the current schema");
    json_array_foreach(ids, i, v)
        remove_all(list(u, "schemas"), "schema-id", json_integer_value(v));
    return ST_OK;
}

/* ---------------------------------------------------------------- partition specs */

/* Type-checks one PartitionField of an add-spec update. */
static enum status check_spec_field(struct upd *u, const json_t *f)
{
    const char *s;
    int64_t n;
    json_t *ids;
    enum status rc;

    if (!json_is_object(f))
        return malformed(u, "Invalid %s: partition field must be an object", u->what);
    if ((rc = get_str(u, f, "name", true, &s)) || (rc = get_str(u, f, "transform", true, &s)) ||
        (rc = get_int32(u, f, "field-id", false, &n, NULL)))
        return rc;
    /* v3 multi-argument transforms name their sources in source-ids. */
    ids = json_object_get(f, "source-ids");
    if (ids && !json_is_null(ids) && !json_object_get(f, "source-id"))
        return get_int_array(u, f, "source-ids", true, &ids);
    return get_int32(u, f, "source-id", true, &n, NULL);
}

/*
 * Gives ids to the fields of spec that lack one. v1 numbers fields from 1000
 * in order (the ids must be sequential there); later versions continue after
 * the table's last-partition-id so a new field never reuses an old id.
 */
static void assign_partition_ids(struct upd *u, json_t *fields)
{
    int64_t next = int_or(u->m, "last-partition-id", PARTITION_DATA_ID_START - 1);
    size_t i;
    json_t *f;

    json_array_foreach(fields, i, f)
    {
        int64_t id = int_or(f, "field-id", -1);
        if (json_is_integer(json_object_get(f, "field-id")) && id > next)
            next = id;
    }
    json_array_foreach(fields, i, f)
    {
        if (json_is_integer(json_object_get(f, "field-id")))
            continue;
        if (u->fv == 1)
            set_int(f, "field-id", PARTITION_DATA_ID_START + (int64_t)i);
        else
            set_int(f, "field-id", ++next);
    }
}

static bool same_str(const json_t *a, const json_t *b, const char *key)
{
    const char *x = json_string_value(json_object_get(a, key));
    const char *y = json_string_value(json_object_get(b, key));

    return x && y && strcmp(x, y) == 0;
}

/* Java's PartitionSpec.compatibleWith: same source ids, transforms and names, in order. */
static bool spec_fields_match(const json_t *a, const json_t *b)
{
    json_t *fa = json_object_get(a, "fields"), *fb = json_object_get(b, "fields");
    size_t i;

    if (json_array_size(fa) != json_array_size(fb))
        return false;
    for (i = 0; i < json_array_size(fa); i++) {
        json_t *x = json_array_get(fa, i), *y = json_array_get(fb, i);
        json_t *sx = json_object_get(x, "source-id"), *sy = json_object_get(y, "source-id");
        if (!json_equal(sx, sy) &&
            !json_equal(json_object_get(x, "source-ids"), json_object_get(y, "source-ids")))
            return false;
        if (!same_str(x, y, "transform") || !same_str(x, y, "name"))
            return false;
    }
    return true;
}

static enum status act_add_spec(struct upd *u, const json_t *up)
{
    json_t *spec_in = NULL, *fields = NULL, *spec = NULL, *specs = list(u, "partition-specs");
    const json_t *schema;
    int64_t id = 0, last;
    enum status rc;
    size_t i;
    json_t *f;

    if ((rc = get_obj(u, up, "spec", true, &spec_in)) ||
        (rc = jsonx_get_arr(spec_in, "partition spec", "fields", true, &fields, u->err)))
        return rc;
    json_array_foreach(fields, i, f)
    {
        if ((rc = check_spec_field(u, f)))
            return rc;
    }
    if (!(schema = current_schema(u)))
        return invalid(u, "Cannot add a partition spec: the table has no current schema");
    spec = json_object();
    json_object_set_new(spec, "spec-id", json_integer(0));
    json_object_set_new(spec, "fields", json_deep_copy(fields));
    assign_partition_ids(u, json_object_get(spec, "fields"));
    if ((rc = spec_validate(spec, schema, u->fv, u->err)))
        goto out;
    /* Java's reuseOrCreateNewSpecId: a compatible spec's id, else max id + 1 from 0. */
    json_array_foreach(specs, i, f)
    {
        int64_t sid = int_or(f, "spec-id", 0);
        if (spec_fields_match(spec, f)) {
            u->last_spec = sid;
            goto out;
        }
        if (sid >= id)
            id = sid + 1;
    }
    set_int(spec, "spec-id", id);
    last = int_or(u->m, "last-partition-id", PARTITION_DATA_ID_START - 1);
    if (spec_max_field_id(spec) > last)
        set_int(u->m, "last-partition-id", spec_max_field_id(spec));
    json_array_append(specs, spec);
    u->last_spec = id;
out:
    json_decref(spec);
    return rc;
}

/*
 * set_default resolves the id in field ("-1" = the one added last in this
 * commit, last), checks it names an entry of the list under key, and makes
 * it the default in target. noun and long_noun word the messages as Java.
 */
static enum status set_default(struct upd *u, const json_t *up, const char *field, int64_t last,
                               const char *noun, const char *long_noun, const char *list_name,
                               const char *key, const char *target)
{
    int64_t id = 0;
    enum status rc;

    if ((rc = get_int32(u, up, field, true, &id, NULL)))
        return rc;
    if (id == -1) {
        if (last < 0)
            return invalid(u, "Cannot set last added %s: no %s has been added", noun, noun);
        id = last;
    }
    if (!find(list(u, list_name), key, id))
        return bad_arg(u, "Cannot set default %s to unknown %s: %" PRId64, long_noun, noun, id);
    set_int(u->m, target, id);
    return ST_OK;
}

static enum status act_set_default_spec(struct upd *u, const json_t *up)
{
    return set_default(u, up, "spec-id", u->last_spec, "spec", "partition spec", "partition-specs",
                       "spec-id", "default-spec-id");
}

static enum status act_remove_partition_specs(struct upd *u, const json_t *up)
{
    json_t *ids = NULL;
    enum status rc;
    size_t i;
    json_t *v;

    if ((rc = get_int_array(u, up, "spec-ids", true, &ids)))
        return rc;
    if (int_list_has(ids, int_or(u->m, "default-spec-id", -1)))
        return bad_arg(u, "Cannot remove the default partition spec");
    json_array_foreach(ids, i, v)
        remove_all(list(u, "partition-specs"), "spec-id", json_integer_value(v));
    return ST_OK;
}

/* ---------------------------------------------------------------- sort orders */

static enum status check_sort_field(struct upd *u, const json_t *f)
{
    const char *s;
    int64_t n;
    json_t *ids;
    enum status rc;

    if (!json_is_object(f))
        return malformed(u, "Invalid %s: sort field must be an object", u->what);
    if ((rc = get_str(u, f, "transform", true, &s)) ||
        (rc = get_str(u, f, "direction", true, &s)) || (rc = get_str(u, f, "null-order", true, &s)))
        return rc;
    ids = json_object_get(f, "source-ids");
    if (ids && !json_is_null(ids) && !json_object_get(f, "source-id"))
        return get_int_array(u, f, "source-ids", true, &ids);
    return get_int32(u, f, "source-id", true, &n, NULL);
}

static enum status act_add_sort_order(struct upd *u, const json_t *up)
{
    json_t *in = NULL, *fields = NULL, *order = NULL, *orders = list(u, "sort-orders");
    const json_t *schema;
    int64_t id = 1;
    enum status rc;
    size_t i;
    json_t *o;

    if ((rc = get_obj(u, up, "sort-order", true, &in)) ||
        (rc = jsonx_get_arr(in, "sort order", "fields", true, &fields, u->err)))
        return rc;
    json_array_foreach(fields, i, o)
    {
        if ((rc = check_sort_field(u, o)))
            return rc;
    }
    if (!(schema = current_schema(u)))
        return invalid(u, "Cannot add a sort order: the table has no current schema");
    order = json_pack("{s:O}", "fields", fields);
    if ((rc = sortorder_validate(order, schema, u->err)))
        goto out;
    json_decref(order); /* rebuilt with the id first, as Java writes it */
    order = json_pack("{s:i, s:o}", "order-id", 0, "fields", json_deep_copy(fields));
    /* Java's reuseOrCreateNewSortOrderId: unsorted is always 0, others from 1. */
    if (sortorder_is_unsorted(order)) {
        id = 0;
        if (find(orders, "order-id", 0)) {
            u->last_order = 0;
            goto out;
        }
    } else {
        json_array_foreach(orders, i, o)
        {
            int64_t oid = int_or(o, "order-id", 0);
            if (sortorder_same(o, order) && !sortorder_is_unsorted(o)) {
                u->last_order = oid;
                goto out;
            }
            if (oid >= id)
                id = oid + 1;
        }
    }
    set_int(order, "order-id", id);
    json_array_append(orders, order);
    u->last_order = id;
out:
    json_decref(order);
    return rc;
}

static enum status act_set_default_sort_order(struct upd *u, const json_t *up)
{
    return set_default(u, up, "sort-order-id", u->last_order, "sort order", "sort order",
                       "sort-orders", "order-id", "default-sort-order-id");
}

/* ---------------------------------------------------------------- snapshots */

/* Type-checks a Snapshot object (Java's SnapshotParser and BaseSnapshot). */
static enum status check_snapshot(struct upd *u, const json_t *s)
{
    int64_t n, first = 0, added = 0;
    bool has_first, has_added;
    const char *str;
    json_t *summary = NULL, *manifests = NULL;
    enum status rc;

    if ((rc = get_int64(u, s, "snapshot-id", true, &n, NULL)) ||
        (rc = get_int64(u, s, "parent-snapshot-id", false, &n, NULL)) ||
        (rc = get_int64(u, s, "sequence-number", false, &n, NULL)) ||
        (rc = get_int64(u, s, "timestamp-ms", true, &n, NULL)) ||
        (rc = get_int32(u, s, "schema-id", false, &n, NULL)) ||
        (rc = get_int64(u, s, "first-row-id", false, &first, &has_first)) ||
        (rc = get_int64(u, s, "added-rows", false, &added, &has_added)) ||
        (rc = get_str(u, s, "key-id", false, &str)) ||
        (rc = jsonx_get_str_map(s, u->what, "summary", false, &summary, u->err)))
        return rc;
    if (has_first && first < 0)
        return bad_arg(u, "Invalid first-row-id (cannot be negative): %" PRId64, first);
    if (has_added && added < 0)
        return bad_arg(u, "Invalid added-rows (cannot be negative): %" PRId64, added);
    if (has_first && !has_added)
        return bad_arg(u, "Invalid added-rows (required when first-row-id is set): null");
    if (json_object_get(s, "manifest-list") && !json_is_null(json_object_get(s, "manifest-list")))
        return get_str(u, s, "manifest-list", true, &str);
    /* Only v1 snapshots may embed their manifests instead of a manifest list. */
    return jsonx_get_str_array(s, u->what, "manifests", true, &manifests, u->err);
}

static enum status act_add_snapshot(struct upd *u, const json_t *up)
{
    json_t *snap = NULL;
    int64_t id, seq, last_seq, first, next;
    bool has_parent;
    enum status rc;

    if ((rc = get_obj(u, up, "snapshot", true, &snap)) || (rc = check_snapshot(u, snap)))
        return rc;
    if (json_array_size(list(u, "schemas")) == 0)
        return invalid(u, "Attempting to add a snapshot before a schema is added");
    if (json_array_size(list(u, "partition-specs")) == 0)
        return invalid(u, "Attempting to add a snapshot before a partition spec is added");
    if (json_array_size(list(u, "sort-orders")) == 0)
        return invalid(u, "Attempting to add a snapshot before a sort order is added");
    id = int_or(snap, "snapshot-id", 0);
    if (find(list(u, "snapshots"), "snapshot-id", id))
        return invalid(u, "Snapshot already exists for id: %" PRId64, id);
    seq = int_or(snap, "sequence-number", 0);
    last_seq = int_or(u->m, "last-sequence-number", 0);
    has_parent = json_is_integer(json_object_get(snap, "parent-snapshot-id"));
    if (u->fv > 1 && seq <= last_seq && has_parent)
        return stale(u,
                     "Cannot add snapshot with sequence number %" PRId64
                     " older than last sequence number %" PRId64,
                     seq, last_seq);
    if (u->fv >= 3) {
        /* Row lineage (format/spec.md "Row Lineage"). */
        if (!json_is_integer(json_object_get(snap, "first-row-id")))
            return invalid(u, "Cannot add a snapshot: first-row-id is null");
        first = int_or(snap, "first-row-id", 0);
        next = int_or(u->m, "next-row-id", 0);
        if (first < next)
            return stale(u,
                         "Cannot add a snapshot, first-row-id is behind table next-row-id: "
                         "%" PRId64 " < %" PRId64,
                         first, next);
        if (int_or(snap, "added-rows", 0) > INT64_MAX - next)
            return bad_arg(u, "Invalid added-rows: next-row-id would overflow");
        set_int(u->m, "next-row-id", next + int_or(snap, "added-rows", 0));
    }
    if (u->fv > 1)
        set_int(u->m, "last-sequence-number", seq);
    json_array_append_new(list(u, "snapshots"), copy_without_nulls(snap));
    json_array_append_new(u->added_snaps, json_integer((json_int_t)id));
    return ST_OK;
}

/* Java's Builder.removeRef: removing main also clears the current snapshot. */
static void remove_ref(struct upd *u, const char *name)
{
    if (strcmp(name, "main") == 0)
        set_int(u->m, "current-snapshot-id", -1);
    json_object_del(object(u, "refs"), name);
}

/* Reads the optional retention fields of a set-snapshot-ref into ref (Java SnapshotRef.Builder). */
static enum status read_retention(struct upd *u, const json_t *up, bool tag, json_t *ref)
{
    int64_t min = 0, snap_age = 0, ref_age = 0;
    bool has_min, has_snap_age, has_ref_age;
    enum status rc;

    if ((rc = get_int32(u, up, "min-snapshots-to-keep", false, &min, &has_min)) ||
        (rc = get_int64(u, up, "max-snapshot-age-ms", false, &snap_age, &has_snap_age)) ||
        (rc = get_int64(u, up, "max-ref-age-ms", false, &ref_age, &has_ref_age)))
        return rc;
    if (has_min && tag)
        return bad_arg(u, "Tags do not support setting minSnapshotsToKeep");
    if (has_min && min <= 0)
        return bad_arg(u, "Min snapshots to keep must be greater than 0");
    if (has_snap_age && tag)
        return bad_arg(u, "Tags do not support setting maxSnapshotAgeMs");
    if (has_snap_age && snap_age <= 0)
        return bad_arg(u, "Max snapshot age must be greater than 0 ms");
    if (has_ref_age && ref_age <= 0)
        return bad_arg(u, "Max reference age must be greater than 0");
    if (has_min)
        set_int(ref, "min-snapshots-to-keep", min);
    if (has_snap_age)
        set_int(ref, "max-snapshot-age-ms", snap_age);
    if (has_ref_age)
        set_int(ref, "max-ref-age-ms", ref_age);
    return ST_OK;
}

static enum status act_set_snapshot_ref(struct upd *u, const json_t *up)
{
    const char *name = NULL, *type = NULL;
    int64_t id = 0;
    json_t *ref = NULL, *snap, *old;
    bool tag, is_main;
    enum status rc;

    if ((rc = get_str(u, up, "ref-name", true, &name)) ||
        (rc = get_str(u, up, "type", true, &type)) ||
        (rc = get_int64(u, up, "snapshot-id", true, &id, NULL)))
        return rc;
    if (strcasecmp(type, "tag") != 0 && strcasecmp(type, "branch") != 0)
        return bad_arg(u, "Invalid snapshot ref type: %s", type);
    tag = strcasecmp(type, "tag") == 0;
    ref = json_pack("{s:I, s:s}", "snapshot-id", (json_int_t)id, "type", tag ? "tag" : "branch");
    if ((rc = read_retention(u, up, tag, ref)))
        goto out;
    old = json_object_get(object(u, "refs"), name);
    if (old && json_equal(old, ref))
        goto out;
    snap = find(list(u, "snapshots"), "snapshot-id", id);
    is_main = strcmp(name, "main") == 0;
    if (!snap) {
        rc = invalid(u, "Cannot set %s to unknown snapshot: %" PRId64, name, id);
        goto out;
    }
    if (is_main && tag) {
        rc = invalid(u, "Cannot set main to a tag, it must be a branch");
        goto out;
    }
    if (is_main) {
        /* A snapshot added by this commit is logged at its own time, a rollback at now. */
        bool added = int_list_has(u->added_snaps, id);
        int64_t ts = added ? int_or(snap, "timestamp-ms", u->now_ms) : u->now_ms;
        set_int(u->m, "current-snapshot-id", id);
        json_array_append_new(
            list(u, "snapshot-log"),
            json_pack("{s:I, s:I}", "timestamp-ms", (json_int_t)ts, "snapshot-id", (json_int_t)id));
        if (added)
            json_array_append_new(u->main_moves, json_integer((json_int_t)id));
    }
    json_object_set(object(u, "refs"), name, ref);
out:
    json_decref(ref);
    return rc;
}

static enum status act_remove_snapshot_ref(struct upd *u, const json_t *up)
{
    const char *name = NULL;
    enum status rc;

    if ((rc = get_str(u, up, "ref-name", true, &name)))
        return rc;
    remove_ref(u, name);
    return ST_OK;
}

static enum status act_remove_snapshots(struct upd *u, const json_t *up)
{
    json_t *ids = NULL, *snaps = list(u, "snapshots"), *asked, *removed, *left, *refs, *ref;
    const char *name;
    size_t i;
    void *tmp;
    json_t *s;
    enum status rc;

    if ((rc = get_int_array(u, up, "snapshot-ids", false, &ids)))
        return rc;
    asked = json_object();
    json_array_foreach(ids, i, s) id_set_add(asked, json_integer_value(s));
    removed = json_object();
    json_array_foreach(snaps, i, s)
    {
        int64_t id = int_or(s, "snapshot-id", -1);
        if (id_set_has(asked, id))
            id_set_add(removed, id);
    }
    if (json_object_size(removed) > 0) {
        u->removed_snaps = true;
        drop_ids(snaps, "snapshot-id", removed);
        /* their statistics go with them */
        drop_ids(list(u, "statistics"), "snapshot-id", removed);
        drop_ids(list(u, "partition-statistics"), "snapshot-id", removed);
    }
    /* Refs left pointing at nothing go too (Java's rewriteSnapshotsInternal). */
    left = id_set_of(snaps, "snapshot-id");
    refs = object(u, "refs");
    json_object_foreach_safe(refs, tmp, name, ref)
    {
        if (!id_set_has(left, int_or(ref, "snapshot-id", -1)))
            remove_ref(u, name);
    }
    json_decref(asked);
    json_decref(removed);
    json_decref(left);
    return ST_OK;
}

/* ---------------------------------------------------------------- statistics */

/* Checks a StatisticsFile object (Java's StatisticsFileParser). */
static enum status check_statistics(struct upd *u, const json_t *st)
{
    json_t *blobs = NULL, *fields, *props;
    const char *s;
    int64_t n;
    enum status rc;
    size_t i;
    json_t *b;

    if ((rc = get_int64(u, st, "snapshot-id", true, &n, NULL)) ||
        (rc = get_str(u, st, "statistics-path", true, &s)) ||
        (rc = get_int64(u, st, "file-size-in-bytes", true, &n, NULL)) ||
        (rc = get_int64(u, st, "file-footer-size-in-bytes", true, &n, NULL)) ||
        (rc = get_str(u, st, "key-metadata", false, &s)) ||
        (rc = jsonx_get_arr(st, u->what, "blob-metadata", true, &blobs, u->err)))
        return rc;
    json_array_foreach(blobs, i, b)
    {
        if (!json_is_object(b))
            return malformed(u, "Invalid %s: blob metadata must be an object", u->what);
        if ((rc = get_str(u, b, "type", true, &s)) ||
            (rc = get_int64(u, b, "snapshot-id", true, &n, NULL)) ||
            (rc = get_int64(u, b, "sequence-number", true, &n, NULL)) ||
            (rc = get_int_array(u, b, "fields", true, &fields)) ||
            (rc = jsonx_get_str_map(b, u->what, "properties", false, &props, u->err)))
            return rc;
    }
    return ST_OK;
}

/* Replaces the entries of list key for the file's snapshot id with a copy of file. */
static void replace_stats(struct upd *u, const char *key, const json_t *file)
{
    json_t *arr = list(u, key);
    int64_t id = int_or(file, "snapshot-id", 0);
    long i = index_of(arr, "snapshot-id", id);

    if (i < 0) {
        json_array_append_new(arr, copy_without_nulls(file));
        return;
    }
    remove_all(arr, "snapshot-id", id);
    json_array_insert_new(arr, (size_t)i, copy_without_nulls(file));
}

static enum status act_set_statistics(struct upd *u, const json_t *up)
{
    json_t *st = NULL;
    int64_t deprecated_id;
    enum status rc;

    if ((rc = get_obj(u, up, "statistics", true, &st)) || (rc = check_statistics(u, st)) ||
        (rc = get_int64(u, up, "snapshot-id", false, &deprecated_id, NULL)))
        return rc;
    replace_stats(u, "statistics", st);
    return ST_OK;
}

static enum status act_remove_statistics(struct upd *u, const json_t *up)
{
    int64_t id = 0;
    enum status rc;

    if ((rc = get_int64(u, up, "snapshot-id", true, &id, NULL)))
        return rc;
    remove_all(list(u, "statistics"), "snapshot-id", id);
    return ST_OK;
}

static enum status act_set_partition_statistics(struct upd *u, const json_t *up)
{
    json_t *st = NULL;
    const char *s;
    int64_t n;
    enum status rc;

    if ((rc = get_obj(u, up, "partition-statistics", true, &st)) ||
        (rc = get_int64(u, st, "snapshot-id", true, &n, NULL)) ||
        (rc = get_str(u, st, "statistics-path", true, &s)) ||
        (rc = get_int64(u, st, "file-size-in-bytes", true, &n, NULL)))
        return rc;
    replace_stats(u, "partition-statistics", st);
    return ST_OK;
}

static enum status act_remove_partition_statistics(struct upd *u, const json_t *up)
{
    int64_t id = 0;
    enum status rc;

    if ((rc = get_int64(u, up, "snapshot-id", true, &id, NULL)))
        return rc;
    remove_all(list(u, "partition-statistics"), "snapshot-id", id);
    return ST_OK;
}

/* ---------------------------------------------------------------- location, properties */

static enum status act_set_location(struct upd *u, const json_t *up)
{
    const char *loc = NULL;
    size_t n;
    enum status rc;

    if ((rc = get_str(u, up, "location", true, &loc)))
        return rc;
    /* Java's LocationUtil.stripTrailingSlash, keeping a bare "scheme://". */
    n = strlen(loc);
    while (n > 0 && loc[n - 1] == '/' && !(n >= 3 && strncmp(loc + n - 3, "://", 3) == 0))
        n--;
    if (n == 0)
        return bad_arg(u, "Invalid location: empty");
    json_object_set_new(u->m, "location", json_stringn(loc, n));
    return ST_OK;
}

static bool is_reserved(const char *key)
{
    for (size_t i = 0; i < sizeof(reserved_props) / sizeof(reserved_props[0]); i++)
        if (strcmp(key, reserved_props[i]) == 0)
            return true;
    return false;
}

/* The map or list named key, or, when only it is present, the legacy name (Java's parser). */
static const char *field_or_legacy(const json_t *up, const char *key, const char *legacy)
{
    return (!json_object_get(up, key) && json_object_get(up, legacy)) ? legacy : key;
}

static enum status act_set_properties(struct upd *u, const json_t *up)
{
    json_t *map = NULL, *props = object(u, "properties");
    const char *key;
    json_t *v;
    enum status rc;

    if ((rc = jsonx_get_str_map(up, u->what, field_or_legacy(up, "updates", "updated"), true, &map,
                                u->err)))
        return rc;
    json_object_foreach(map, key, v)
    {
        /* Reserved properties describe the table; they are never stored (rest-spec.md §6). */
        if (!is_reserved(key))
            json_object_set_new(props, key, json_deep_copy(v));
    }
    return ST_OK;
}

static enum status act_remove_properties(struct upd *u, const json_t *up)
{
    json_t *keys = NULL, *props = object(u, "properties");
    size_t i;
    json_t *v;
    enum status rc;

    if ((rc = jsonx_get_str_array(up, u->what, field_or_legacy(up, "removals", "removed"), true,
                                  &keys, u->err)))
        return rc;
    json_array_foreach(keys, i, v) json_object_del(props, json_string_value(v));
    return ST_OK;
}

/* ---------------------------------------------------------------- encryption keys */

static bool is_base64(const char *s)
{
    size_t n = strlen(s), pad = 0;

    if (n % 4 != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '+' || c == '/'))
            return false;
    }
    return pad <= 2;
}

static enum status act_add_encryption_key(struct upd *u, const json_t *up)
{
    json_t *key = json_object_get(up, "encryption-key"), *props, *keys, *item;
    const char *id = NULL, *meta = NULL, *by;
    enum status rc;
    size_t i;

    if (!json_is_object(key))
        return bad_arg(u, "Invalid encryption key, must be non-null object");
    if ((rc = get_str(u, key, "key-id", true, &id)) ||
        (rc = get_str(u, key, "encrypted-key-metadata", true, &meta)) ||
        (rc = get_str(u, key, "encrypted-by-id", false, &by)) ||
        (rc = jsonx_get_str_map(key, u->what, "properties", false, &props, u->err)))
        return rc;
    if (!is_base64(meta))
        return bad_arg(u, "Invalid encryption key: encrypted-key-metadata is not base64");
    keys = list(u, "encryption-keys");
    json_array_foreach(keys, i, item)
    {
        if (same_str(item, key, "key-id"))
            return ST_OK;
    }
    json_array_append_new(keys, copy_without_nulls(key));
    return ST_OK;
}

static enum status act_remove_encryption_key(struct upd *u, const json_t *up)
{
    const char *id = NULL;
    json_t *keys;
    enum status rc;
    size_t i;

    if ((rc = get_str(u, up, "key-id", true, &id)))
        return rc;
    keys = list(u, "encryption-keys");
    for (i = 0; i < json_array_size(keys); i++) {
        const char *k = json_string_value(json_object_get(json_array_get(keys, i), "key-id"));
        if (k && strcmp(k, id) == 0) {
            json_array_remove(keys, i);
            break;
        }
    }
    return ST_OK;
}

/* ---------------------------------------------------------------- dispatch */

typedef enum status (*action_fn)(struct upd *u, const json_t *update);

static const struct {
    const char *name;
    action_fn fn;
} actions[] = {
    {"assign-uuid", act_assign_uuid},
    {"upgrade-format-version", act_upgrade_format_version},
    {"add-schema", act_add_schema},
    {"set-current-schema", act_set_current_schema},
    {"add-spec", act_add_spec},
    {"set-default-spec", act_set_default_spec},
    {"add-sort-order", act_add_sort_order},
    {"set-default-sort-order", act_set_default_sort_order},
    {"add-snapshot", act_add_snapshot},
    {"set-snapshot-ref", act_set_snapshot_ref},
    {"remove-snapshots", act_remove_snapshots},
    {"remove-snapshot-ref", act_remove_snapshot_ref},
    {"set-location", act_set_location},
    {"set-properties", act_set_properties},
    {"remove-properties", act_remove_properties},
    {"set-statistics", act_set_statistics},
    {"remove-statistics", act_remove_statistics},
    {"set-partition-statistics", act_set_partition_statistics},
    {"remove-partition-statistics", act_remove_partition_statistics},
    {"remove-partition-specs", act_remove_partition_specs},
    {"remove-schemas", act_remove_schemas},
    {"add-encryption-key", act_add_encryption_key},
    {"remove-encryption-key", act_remove_encryption_key},
};

static enum status apply_one(struct upd *u, const json_t *update, size_t index)
{
    const char *name = NULL;
    enum status rc;

    u->what = "table update";
    if (!json_is_object(update))
        return malformed(u, "Invalid table update %zu: not an object", index);
    if ((rc = jsonx_get_str(update, "table update", "action", true, &name, u->err)))
        return rc;
    /* Java lower-cases the action before matching it. */
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcasecmp(name, actions[i].name) == 0) {
            u->what = actions[i].name;
            return actions[i].fn(u, update);
        }
    }
    return malformed(u, "Cannot apply unknown table update action: %s", name);
}

/* ---------------------------------------------------------------- finishing */

/*
 * Java's Builder.updateSnapshotLog: snapshots added by this commit that main
 * passed through but did not end on are dropped from the log, and when
 * snapshots were removed every entry up to the last one naming a missing
 * snapshot goes, so the log has no gaps.
 */
static enum status repair_snapshot_log(struct upd *u)
{
    int64_t cur = current_snapshot_id(u->m);
    json_t *snaps = list(u, "snapshots"), *log = list(u, "snapshot-log"), *fixed, *e, *last;
    json_t *present;
    bool intermediate = false, has_cur;
    size_t i;

    json_array_foreach(u->main_moves, i, e)
    {
        if (json_integer_value(e) != cur)
            intermediate = true;
    }
    if (!intermediate && !u->removed_snaps)
        return ST_OK;
    fixed = json_array();
    present = id_set_of(snaps, "snapshot-id");
    json_array_foreach(log, i, e)
    {
        int64_t id = int_or(e, "snapshot-id", -1);
        if (id_set_has(present, id)) {
            if (!(int_list_has(u->main_moves, id) && id != cur))
                json_array_append(fixed, e);
        } else if (u->removed_snaps) {
            json_array_clear(fixed);
        }
    }
    json_object_set_new(u->m, "snapshot-log", fixed);
    has_cur = cur != -1 && id_set_has(present, cur);
    json_decref(present);
    if (has_cur) {
        last = json_array_get(fixed, json_array_size(fixed) - 1);
        if (!last || int_or(last, "snapshot-id", -1) != cur)
            return invalid(u, "Cannot set invalid snapshot log: latest entry is not the current "
                              "snapshot");
    }
    return ST_OK;
}

/* Checks the whole result as Java's Builder.build() and TableMetadata constructor do. */
static enum status validate_result(struct upd *u, const json_t *base)
{
    const json_t *schema = current_schema(u);
    json_t *spec, *order, *snaps = list(u, "snapshots"), *ref;
    int64_t spec_id = int_or(u->m, "default-spec-id", -1);
    int64_t order_id = int_or(u->m, "default-sort-order-id", -1);
    int64_t last_seq = int_or(u->m, "last-sequence-number", 0);
    const char *loc = meta_location(u->m), *name;
    bool rebind;
    enum status rc;
    size_t i;
    json_t *s;

    u->what = "table metadata";
    if (!schema)
        return invalid(u,
                       "Invalid table metadata: no current schema (current-schema-id %" PRId64 ")",
                       int_or(u->m, "current-schema-id", -1));
    if (!(spec = find(list(u, "partition-specs"), "spec-id", spec_id)))
        return invalid(
            u, "Invalid table metadata: no default partition spec (default-spec-id %" PRId64 ")",
            spec_id);
    if (!(order = find(list(u, "sort-orders"), "order-id", order_id)))
        return invalid(u,
                       "Invalid table metadata: no default sort order "
                       "(default-sort-order-id %" PRId64 ")",
                       order_id);
    /* A table being created may leave its location to the catalog's default. */
    if (base && (!loc || !*loc))
        return invalid(u, "Invalid table metadata: no location");
    /*
     * The default spec and order must bind to the current schema (Java's
     * checkCompatibility in build()); only checked when one of them changed,
     * so tables whose history predates stricter checks keep working.
     */
    rebind = !base ||
             int_or(base, "current-schema-id", -1) != int_or(u->m, "current-schema-id", -2) ||
             int_or(base, "default-spec-id", -1) != spec_id ||
             int_or(base, "default-sort-order-id", -1) != order_id;
    if (rebind && ((rc = spec_validate(spec, schema, u->fv, u->err)) ||
                   (rc = sortorder_validate(order, schema, u->err))))
        return rc;
    json_array_foreach(snaps, i, s)
    {
        int64_t seq = int_or(s, "sequence-number", 0);
        if (u->fv > 1 && seq > last_seq)
            return invalid(u,
                           "Invalid snapshot with sequence number %" PRId64
                           " greater than last sequence number %" PRId64,
                           seq, last_seq);
    }
    json_object_foreach(object(u, "refs"), name, ref)
    {
        if (!find(snaps, "snapshot-id", int_or(ref, "snapshot-id", -1)))
            return bad_arg(u,
                           "Snapshot for reference %s does not exist in the existing snapshots "
                           "list",
                           name);
    }
    return ST_OK;
}

/* The format version a create transaction starts with: its first upgrade-format-version. */
static enum status initial_format_version(struct upd *u, const json_t *updates, int *fv)
{
    size_t i;
    json_t *up;

    *fv = META_DEFAULT_FORMAT_VERSION;
    json_array_foreach(updates, i, up)
    {
        const char *action = json_string_value(json_object_get(up, "action"));
        int64_t v = 0;
        enum status rc;
        if (!action || strcasecmp(action, "upgrade-format-version") != 0)
            continue;
        u->what = "upgrade-format-version";
        if ((rc = get_int32(u, up, "format-version", true, &v, NULL)))
            return rc;
        if (v < 1 || v > META_MAX_FORMAT_VERSION)
            return bad_arg(u, "Unsupported format version: v%" PRId64 " (supported: v%d)", v,
                           META_MAX_FORMAT_VERSION);
        *fv = (int)v;
        break;
    }
    return ST_OK;
}

/* Empty metadata for a table being created (Java's Builder(int formatVersion)). */
static json_t *empty_metadata(int fv, int64_t now_ms)
{
    char uuid[IDS_UUID_LEN + 1];

    ids_uuid_v4(uuid);
    return json_pack("{s:i, s:s, s:I, s:i, s:i, s:[], s:i, s:[], s:i, s:i, s:[], s:{}, s:i,"
                     " s:{}, s:[], s:[], s:[], s:[], s:[]}",
                     "format-version", fv, "table-uuid", uuid, "last-updated-ms",
                     (json_int_t)now_ms, "last-column-id", 0, "current-schema-id", 0, "schemas",
                     "default-spec-id", 0, "partition-specs", "last-partition-id",
                     PARTITION_DATA_ID_START - 1, "default-sort-order-id", 0, "sort-orders",
                     "properties", "current-snapshot-id", -1, "refs", "snapshots", "statistics",
                     "partition-statistics", "snapshot-log", "metadata-log");
}

enum status meta_apply_updates(const json_t *base, const json_t *updates, int64_t now_ms,
                               json_t **out, bool *changed, struct error *err)
{
    struct upd u = {
        .now_ms = now_ms, .last_schema = -1, .last_spec = -1, .last_order = -1, .err = err};
    json_t *start = NULL, *result = NULL;
    enum status rc;
    size_t i;
    json_t *up;

    *out = NULL;
    if (changed)
        *changed = false;
    u.added_snaps = json_array();
    u.main_moves = json_array();
    u.what = "table commit";
    if (!json_is_array(updates)) {
        rc = malformed(&u, "Invalid table commit: updates must be an array");
        goto out;
    }
    if (base && !json_is_object(base)) {
        rc = error_set(err, ST_INTERNAL, ET_INTERNAL, "base metadata is not an object");
        goto out;
    }
    u.creating = !base;
    u.uuid_free = !base || !meta_uuid(base);
    if (base) {
        /* Also fills in what old v1 files leave out; only read (u.m is a copy of it). */
        start = meta_canonical_view(base);
        u.fv = meta_format_version(start);
    } else {
        if ((rc = initial_format_version(&u, updates, &u.fv)))
            goto out;
        start = empty_metadata(u.fv, now_ms);
    }
    u.m = json_deep_copy(start);
    json_array_foreach(updates, i, up)
    {
        if ((rc = apply_one(&u, up, i)))
            goto out;
    }
    if (!meta_uuid(u.m)) {
        /* Old v1 tables may have no UUID; like Java's assignUUID(), give them one. */
        char uuid[IDS_UUID_LEN + 1];
        ids_uuid_v4(uuid);
        json_object_set_new(u.m, "table-uuid", json_string(uuid));
    }
    if ((rc = repair_snapshot_log(&u)) || (rc = validate_result(&u, base ? start : NULL)))
        goto out;
    /* Shared with u.m, which is released below: result becomes the only owner. */
    result = meta_canonical_view(u.m);
    if (base) {
        json_t *before = meta_canonical_view(start);
        bool diff = !json_equal(before, result);
        json_decref(before);
        if (!diff) {
            json_decref(result);
            result = json_deep_copy(start);
            goto done;
        }
    }
    if (changed)
        *changed = true;
    json_object_set_new(result, "last-updated-ms", json_integer((json_int_t)now_ms));
done:
    *out = result;
    rc = ST_OK;
out:
    json_decref(start);
    json_decref(u.m);
    json_decref(u.added_snaps);
    json_decref(u.main_moves);
    return rc;
}
