/*
 * table_meta.c - table metadata as JSON trees: accessors, the canonical
 * (Java-ordered, version-shaped) form, parsing and validating metadata files,
 * metadata file names and the metadata log.
 *
 * meta_new_table lives in create.c, meta_apply_updates in update.c and
 * meta_check_requirements in requirement.c.
 */
#include "iceberg/table_meta.h"

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

/* Table properties read here (Java's TableProperties). */
#define PROP_PREVIOUS_VERSIONS_MAX "write.metadata.previous-versions-max"
#define PROP_DELETE_AFTER_COMMIT "write.metadata.delete-after-commit.enabled"
#define PROP_METADATA_PATH "write.metadata.path"
#define PROP_METADATA_CODEC "write.metadata.compression-codec"
#define PREVIOUS_VERSIONS_MAX_DEFAULT 100

/* The first partition field id (format/spec.md "Partitioning"). */
#define PARTITION_DATA_ID_START 1000

/* ---------------------------------------------------------------- accessors */

int meta_format_version(const json_t *meta)
{
    json_t *v = json_object_get(meta, "format-version");

    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT_MAX)
        return META_DEFAULT_FORMAT_VERSION;
    return (int)json_integer_value(v);
}

const char *meta_location(const json_t *meta)
{
    return json_string_value(json_object_get(meta, "location"));
}

const char *meta_uuid(const json_t *meta)
{
    return json_string_value(json_object_get(meta, "table-uuid"));
}

int64_t meta_last_updated_ms(const json_t *meta)
{
    json_t *v = json_object_get(meta, "last-updated-ms");

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

const char *meta_property(const json_t *meta, const char *key)
{
    return json_string_value(json_object_get(json_object_get(meta, "properties"), key));
}

/* ---------------------------------------------------------------- canonical */

/* Every field of TableMetadata serac knows, in Java's write order (rest-spec.md §9). */
static const char *const known_fields[] = {
    "format-version",
    "table-uuid",
    "location",
    "last-sequence-number",
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
    "next-row-id",
    "encryption-keys",
    "refs",
    "snapshots",
    "statistics",
    "partition-statistics",
    "snapshot-log",
    "metadata-log",
};

static bool is_known_field(const char *key)
{
    for (size_t i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]); i++)
        if (strcmp(key, known_fields[i]) == 0)
            return true;
    return false;
}

/*
 * dup returns v for another tree: a deep copy, or (share) v itself with one
 * more reference, for a tree that is only read (printed, compared) and never
 * changed, so it may share its values with the original.
 */
static json_t *dup(const json_t *v, bool share)
{
    return share ? json_incref((json_t *)v) : json_deep_copy(v);
}

static void copy_field_as(json_t *out, const json_t *src, const char *key, bool share)
{
    json_t *v = json_object_get(src, key);

    if (v)
        json_object_set_new(out, key, dup(v, share));
}

static void copy_field(json_t *out, const json_t *src, const char *key)
{
    copy_field_as(out, src, key, false);
}

static int64_t int_or(const json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* The element of array arr whose integer member key equals id, or NULL. */
static json_t *find_by_int(const json_t *arr, const char *key, int64_t id)
{
    size_t i;
    json_t *item;

    json_array_foreach(arr, i, item)
    {
        json_t *v = json_object_get(item, key);
        if (json_is_integer(v) && json_integer_value(v) == id)
            return item;
    }
    return NULL;
}

/*
 * The current snapshot id, -1 when there is none: v1/v2 write -1, v3 writes
 * null, and the field is optional in every version.
 */
static int64_t current_snapshot_id(const json_t *meta)
{
    return int_or(meta, "current-snapshot-id", -1);
}

/*
 * v1 partition fields written by old writers may lack field ids; Java assigns
 * them sequentially from 1000 when reading (PartitionSpecParser.fromJsonFields).
 */
static json_t *v1_fields_with_ids(const json_t *fields)
{
    json_t *out = json_is_array(fields) ? json_deep_copy(fields) : json_array();
    size_t i;
    json_t *f;

    json_array_foreach(out, i, f)
    {
        if (json_is_object(f) && !json_is_integer(json_object_get(f, "field-id")))
            json_object_set_new(f, "field-id", json_integer(PARTITION_DATA_ID_START + (int)i));
    }
    return out;
}

/* Adds current-schema-id, schemas (and v1's "schema") to out. */
static void canon_schemas(json_t *out, const json_t *meta, int fv)
{
    json_t *schemas = json_object_get(meta, "schemas");
    json_t *schema = json_object_get(meta, "schema");
    json_t *cur_id = json_object_get(meta, "current-schema-id");
    json_t *list, *current;

    if (json_is_array(schemas)) {
        list = json_deep_copy(schemas);
    } else {
        /* A v1 file from an old writer: the single schema becomes the list. */
        list = json_array();
        if (json_is_object(schema)) {
            json_t *copy = json_deep_copy(schema);
            if (!json_is_integer(json_object_get(copy, "schema-id")))
                json_object_set_new(copy, "schema-id", json_integer(0));
            json_array_append_new(list, copy);
            if (!json_is_integer(cur_id))
                cur_id = json_object_get(copy, "schema-id");
        }
    }
    current =
        json_is_integer(cur_id) ? find_by_int(list, "schema-id", json_integer_value(cur_id)) : NULL;
    if (fv == 1 && current)
        json_object_set_new(out, "schema", json_deep_copy(current));
    else if (fv == 1 && json_is_object(schema))
        json_object_set_new(out, "schema", json_deep_copy(schema));
    if (cur_id)
        json_object_set_new(out, "current-schema-id", json_deep_copy(cur_id));
    json_object_set_new(out, "schemas", list);
}

/* The highest partition field id in any spec of specs, or 999. */
static int64_t max_partition_field_id(const json_t *specs)
{
    int64_t max = PARTITION_DATA_ID_START - 1;
    size_t i, j;
    json_t *spec, *f;

    json_array_foreach(specs, i, spec)
    {
        json_array_foreach(json_object_get(spec, "fields"), j, f)
        {
            int64_t id = int_or(f, "field-id", max);
            if (id > max)
                max = id;
        }
    }
    return max;
}

/* Adds default-spec-id, partition-specs, last-partition-id (and v1's "partition-spec"). */
static void canon_specs(json_t *out, const json_t *meta, int fv)
{
    json_t *specs = json_object_get(meta, "partition-specs");
    json_t *def_id = json_object_get(meta, "default-spec-id");
    json_t *list, *def;

    if (json_is_array(specs)) {
        list = json_deep_copy(specs);
    } else {
        /* A v1 file from an old writer: "partition-spec" is spec 0's fields. */
        list = json_array();
        json_array_append_new(
            list, json_pack("{s:i, s:o}", "spec-id", 0, "fields",
                            v1_fields_with_ids(json_object_get(meta, "partition-spec"))));
        def_id = NULL;
    }
    if (fv == 1) {
        def =
            find_by_int(list, "spec-id", json_is_integer(def_id) ? json_integer_value(def_id) : 0);
        def = def ? json_object_get(def, "fields") : NULL;
        json_object_set_new(out, "partition-spec", def ? json_deep_copy(def) : json_array());
    }
    if (def_id)
        json_object_set_new(out, "default-spec-id", json_deep_copy(def_id));
    else if (!json_is_array(specs))
        json_object_set_new(out, "default-spec-id", json_integer(0));
    json_object_set_new(out, "partition-specs", list);
    if (json_object_get(meta, "last-partition-id"))
        copy_field(out, meta, "last-partition-id");
    else
        json_object_set_new(out, "last-partition-id", json_integer(max_partition_field_id(list)));
}

/* Adds default-sort-order-id and sort-orders; old v1 files get the unsorted order. */
static void canon_orders(json_t *out, const json_t *meta)
{
    json_t *orders = json_object_get(meta, "sort-orders");

    if (json_is_array(orders)) {
        copy_field(out, meta, "default-sort-order-id");
        json_object_set_new(out, "sort-orders", json_deep_copy(orders));
        return;
    }
    json_object_set_new(out, "default-sort-order-id", json_integer(0));
    json_object_set_new(out, "sort-orders", json_pack("[{s:i, s:[]}]", "order-id", 0, "fields"));
}

static void copy_or_empty(json_t *out, const json_t *meta, const char *key, bool object, bool share)
{
    json_t *v = json_object_get(meta, key);

    if (object ? json_is_object(v) : json_is_array(v))
        json_object_set_new(out, key, dup(v, share));
    else
        json_object_set_new(out, key, object ? json_object() : json_array());
}

/*
 * canonical is meta_canonical; with share, the result shares the values it
 * takes unchanged (snapshots, logs, refs, properties, unknown fields) with
 * meta instead of copying them, and must only be read.
 */
static json_t *canonical(const json_t *meta, bool share)
{
    json_t *out = json_object();
    int fv = meta_format_version(meta);
    int64_t cur = current_snapshot_id(meta);
    json_t *keys, *refs;
    const char *key;
    json_t *v;

    copy_field_as(out, meta, "format-version", share);
    copy_field_as(out, meta, "table-uuid", share);
    copy_field_as(out, meta, "location", share);
    if (fv > 1)
        json_object_set_new(out, "last-sequence-number",
                            json_integer(int_or(meta, "last-sequence-number", 0)));
    copy_field_as(out, meta, "last-updated-ms", share);
    copy_field_as(out, meta, "last-column-id", share);
    canon_schemas(out, meta, fv);
    canon_specs(out, meta, fv);
    canon_orders(out, meta);
    copy_or_empty(out, meta, "properties", true, share);
    /* "None" is -1 before v3 and null from v3 (Java MIN_NULL_CURRENT_SNAPSHOT_VERSION). */
    if (cur == -1)
        json_object_set_new(out, "current-snapshot-id", fv >= 3 ? json_null() : json_integer(-1));
    else
        json_object_set_new(out, "current-snapshot-id", json_integer(cur));
    if (fv >= 3)
        json_object_set_new(out, "next-row-id", json_integer(int_or(meta, "next-row-id", 0)));
    keys = json_object_get(meta, "encryption-keys");
    if (json_is_array(keys) && json_array_size(keys) > 0)
        json_object_set_new(out, "encryption-keys", dup(keys, share));
    refs = json_object_get(meta, "refs");
    if (json_is_object(refs))
        json_object_set_new(out, "refs", dup(refs, share));
    else if (cur != -1) /* main always points at the current snapshot */
        json_object_set_new(
            out, "refs",
            json_pack("{s:{s:I, s:s}}", "main", "snapshot-id", (json_int_t)cur, "type", "branch"));
    else
        json_object_set_new(out, "refs", json_object());
    copy_or_empty(out, meta, "snapshots", false, share);
    copy_or_empty(out, meta, "statistics", false, share);
    copy_or_empty(out, meta, "partition-statistics", false, share);
    copy_or_empty(out, meta, "snapshot-log", false, share);
    copy_or_empty(out, meta, "metadata-log", false, share);
    json_object_foreach((json_t *)meta, key, v)
    {
        if (!is_known_field(key))
            json_object_set_new(out, key, dup(v, share));
    }
    return out;
}

json_t *meta_canonical(const json_t *meta)
{
    return canonical(meta, false);
}

json_t *meta_canonical_view(const json_t *meta)
{
    return canonical(meta, true);
}

char *meta_serialize(const json_t *meta)
{
    json_t *canon = canonical(meta, true);
    char *text = jsonx_dump(canon);

    json_decref(canon);
    return text;
}

/* ---------------------------------------------------------------- parsing */

#define BAD(...) error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, __VA_ARGS__)

static bool is_int32(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
           json_integer_value(v) <= INT32_MAX;
}

/* Checks that field key of obj, when present and not null, has the right kind. */
static enum status check_opt(const json_t *obj, const char *what, const char *key, int kind,
                             struct error *err)
{
    json_t *v = json_object_get(obj, key);
    bool ok;

    if (!v || json_is_null(v))
        return ST_OK;
    switch (kind) {
    case 'i':
        ok = is_int32(v);
        break;
    case 'l':
        ok = json_is_integer(v);
        break;
    case 's':
        ok = json_is_string(v);
        break;
    case 'a':
        ok = json_is_array(v);
        break;
    case 'o':
        ok = json_is_object(v);
        break;
    case 'm':
        ok = jsonx_is_str_map(v);
        break;
    default:
        ok = false;
    }
    if (!ok)
        return BAD("Invalid table metadata: %s field '%s' has the wrong type", what, key);
    return ST_OK;
}

static enum status check_req(const json_t *obj, const char *what, const char *key, int kind,
                             struct error *err)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return BAD("Invalid table metadata: %s is missing field '%s'", what, key);
    return check_opt(obj, what, key, kind, err);
}

/* Checks that every item of the array at key (if present) is an object with the given fields. */
static enum status check_list(const json_t *meta, const char *key, const char *const *fields,
                              const char *kinds, struct error *err)
{
    json_t *arr = json_object_get(meta, key);
    enum status rc;
    size_t i;
    json_t *item;

    if ((rc = check_opt(meta, "metadata", key, 'a', err)))
        return rc;
    json_array_foreach(arr, i, item)
    {
        if (!json_is_object(item))
            return BAD("Invalid table metadata: %s[%zu] is not an object", key, i);
        for (size_t k = 0; fields[k]; k++)
            if ((rc = check_req(item, key, fields[k], kinds[k], err)))
                return rc;
    }
    return ST_OK;
}

static enum status check_schemas(const json_t *meta, int fv, struct error *err)
{
    static const char *const schema_fields[] = {"fields", NULL};
    json_t *schemas = json_object_get(meta, "schemas");
    enum status rc;
    int64_t cur;

    if (!schemas || json_is_null(schemas)) {
        if (fv > 1)
            return BAD("Invalid table metadata: schemas must exist in format v%d", fv);
        if ((rc = check_req(meta, "metadata", "schema", 'o', err)))
            return rc;
        return check_req(json_object_get(meta, "schema"), "schema", "fields", 'a', err);
    }
    if ((rc = check_list(meta, "schemas", schema_fields, "a", err)) ||
        (rc = check_req(meta, "metadata", "current-schema-id", 'i', err)))
        return rc;
    cur = json_integer_value(json_object_get(meta, "current-schema-id"));
    if (!find_by_int(schemas, "schema-id", cur))
        return BAD("Invalid table metadata: Cannot find schema with current-schema-id=%" PRId64
                   " from schemas",
                   cur);
    return ST_OK;
}

static enum status check_specs(const json_t *meta, int fv, struct error *err)
{
    static const char *const spec_fields[] = {"spec-id", "fields", NULL};
    static const char *const order_fields[] = {"order-id", "fields", NULL};
    json_t *specs = json_object_get(meta, "partition-specs");
    enum status rc;

    if (!specs || json_is_null(specs)) {
        if (fv > 1)
            return BAD("Invalid table metadata: partition-specs must exist in format v%d", fv);
        if ((rc = check_req(meta, "metadata", "partition-spec", 'a', err)))
            return rc;
    } else if ((rc = check_list(meta, "partition-specs", spec_fields, "ia", err)) ||
               (rc = check_req(meta, "metadata", "default-spec-id", 'i', err))) {
        return rc;
    }
    if (fv > 1 && (rc = check_req(meta, "metadata", "last-partition-id", 'i', err)))
        return rc;
    if ((rc = check_opt(meta, "metadata", "last-partition-id", 'i', err)))
        return rc;
    if (!json_object_get(meta, "sort-orders") ||
        json_is_null(json_object_get(meta, "sort-orders"))) {
        if (fv > 1)
            return BAD("Invalid table metadata: sort-orders must exist in format v%d", fv);
        return ST_OK;
    }
    if ((rc = check_list(meta, "sort-orders", order_fields, "ia", err)))
        return rc;
    return check_req(meta, "metadata", "default-sort-order-id", 'i', err);
}

static enum status check_refs(const json_t *meta, struct error *err)
{
    json_t *refs = json_object_get(meta, "refs");
    json_t *snaps = json_object_get(meta, "snapshots");
    int64_t cur = current_snapshot_id(meta);
    enum status rc;
    const char *name;
    json_t *ref;

    if ((rc = check_opt(meta, "metadata", "refs", 'o', err)))
        return rc;
    json_object_foreach(refs, name, ref)
    {
        const char *type;
        if (!json_is_object(ref))
            return BAD("Invalid table metadata: ref %s is not an object", name);
        if ((rc = check_req(ref, "ref", "snapshot-id", 'l', err)) ||
            (rc = check_req(ref, "ref", "type", 's', err)))
            return rc;
        type = json_string_value(json_object_get(ref, "type"));
        if (strcasecmp(type, "branch") != 0 && strcasecmp(type, "tag") != 0)
            return BAD("Invalid table metadata: Invalid snapshot ref type: %s", type);
        if (!find_by_int(snaps, "snapshot-id", int_or(ref, "snapshot-id", -1)))
            return BAD("Invalid table metadata: Snapshot for reference %s does not exist in the "
                       "existing snapshots list",
                       name);
    }
    if (cur != -1 && !find_by_int(snaps, "snapshot-id", cur))
        return BAD("Invalid table metadata: Cannot find current version");
    return ST_OK;
}

/* The checks Java's TableMetadataParser.fromJson and the TableMetadata constructor make. */
static enum status check_metadata(const json_t *meta, struct error *err)
{
    static const char *const snap_fields[] = {"snapshot-id", "timestamp-ms", NULL};
    static const char *const slog_fields[] = {"timestamp-ms", "snapshot-id", NULL};
    static const char *const mlog_fields[] = {"timestamp-ms", "metadata-file", NULL};
    static const char *const stat_fields[] = {"snapshot-id", "statistics-path", NULL};
    static const char *const key_fields[] = {"key-id", NULL};
    json_t *fvj = json_object_get(meta, "format-version");
    enum status rc;
    int fv;

    if (!json_is_integer(fvj))
        return BAD("Invalid table metadata: missing or invalid field 'format-version'");
    if (json_integer_value(fvj) < 1 || json_integer_value(fvj) > META_MAX_FORMAT_VERSION)
        return BAD("Cannot read unsupported version %" PRId64, (int64_t)json_integer_value(fvj));
    fv = (int)json_integer_value(fvj);
    if ((rc = check_req(meta, "metadata", "location", 's', err)) ||
        (rc = check_opt(meta, "metadata", "table-uuid", 's', err)) ||
        (rc = check_req(meta, "metadata", "last-updated-ms", 'l', err)) ||
        (rc = check_req(meta, "metadata", "last-column-id", 'i', err)) ||
        (rc = check_opt(meta, "metadata", "properties", 'm', err)) ||
        (rc = check_opt(meta, "metadata", "current-snapshot-id", 'l', err)))
        return rc;
    if (fv > 1 && !json_is_string(json_object_get(meta, "table-uuid")))
        return BAD("Invalid table metadata: UUID is required in format v%d", fv);
    if (fv > 1 && (rc = check_req(meta, "metadata", "last-sequence-number", 'l', err)))
        return rc;
    if (fv >= 3 && (rc = check_req(meta, "metadata", "next-row-id", 'l', err)))
        return rc;
    if ((rc = check_schemas(meta, fv, err)) || (rc = check_specs(meta, fv, err)) ||
        (rc = check_list(meta, "snapshots", snap_fields, "ll", err)) ||
        (rc = check_list(meta, "snapshot-log", slog_fields, "ll", err)) ||
        (rc = check_list(meta, "metadata-log", mlog_fields, "ls", err)) ||
        (rc = check_list(meta, "statistics", stat_fields, "ls", err)) ||
        (rc = check_list(meta, "partition-statistics", stat_fields, "ls", err)) ||
        (rc = check_list(meta, "encryption-keys", key_fields, "s", err)))
        return rc;
    return check_refs(meta, err);
}

enum status meta_parse(const char *text, size_t len, json_t **out, struct error *err)
{
    json_t *tree = NULL;
    enum status rc;

    *out = NULL;
    if ((rc = jsonx_parse(text, len, &tree, err))) {
        if (err) {
            char msg[ERROR_MSG_MAX];
            snprintf(msg, sizeof(msg), "%s", err->msg);
            error_set(err, rc, ET_ILLEGAL_ARGUMENT, "Invalid table metadata: %s", msg);
        }
        return rc;
    }
    if (!json_is_object(tree)) {
        json_decref(tree);
        return BAD("Invalid table metadata: Cannot parse metadata from a non-object");
    }
    if ((rc = check_metadata(tree, err))) {
        json_decref(tree);
        return rc;
    }
    /*
     * A v1 file may lack table-uuid. None is invented here: the same file must
     * read the same every time; the next commit assigns one (update.c).
     */
    /* Shared, then tree is released: the canonical tree is the only owner of its values. */
    *out = canonical(tree, true);
    json_decref(tree);
    return ST_OK;
}

/* ---------------------------------------------------------------- refs only */

json_t *meta_refs_only(const json_t *meta)
{
    json_t *out = json_deep_copy(meta);
    json_t *refs = json_object_get(meta, "refs");
    json_t *snaps = json_object_get(out, "snapshots");
    int64_t cur = current_snapshot_id(meta);
    size_t i = 0;

    if (!json_is_array(snaps))
        return out;
    while (i < json_array_size(snaps)) {
        int64_t id = int_or(json_array_get(snaps, i), "snapshot-id", -1);
        bool keep = (id == cur && cur != -1);
        const char *name;
        json_t *ref;

        json_object_foreach(refs, name, ref)
        {
            if (int_or(ref, "snapshot-id", -1) == id)
                keep = true;
        }
        if (keep)
            i++;
        else
            json_array_remove(snaps, i);
    }
    return out;
}

/* ---------------------------------------------------------------- locations */

/*
 * Java's parseVersion: the digits before the first '-' of the file name, or
 * -1 when there are none or they do not fit an int.
 */
static long parse_version(const char *location)
{
    const char *name = strrchr(location, '/');
    const char *dash;
    long v = 0;

    name = name ? name + 1 : location;
    dash = strchr(name, '-');
    if (!dash || dash == name)
        return -1;
    for (const char *p = name; p < dash; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
        if (v > INT_MAX)
            return -1;
    }
    return v;
}

/* Length of s without trailing slashes, keeping a "scheme://" intact (Java's LocationUtil). */
static size_t strip_slash_len(const char *s)
{
    size_t n = strlen(s);

    while (n > 0 && s[n - 1] == '/' && !(n >= 3 && strncmp(s + n - 3, "://", 3) == 0))
        n--;
    return n;
}

char *meta_file_location(const char *location, const char *metadata_path, const char *prev_location,
                         bool gzip)
{
    const char *ext = gzip ? ".gz.metadata.json" : ".metadata.json";
    long version = prev_location ? parse_version(prev_location) : -1;
    char uuid[IDS_UUID_LEN + 1];

    ids_uuid_v4(uuid);
    if (version >= INT_MAX)
        version = -1;
    if (metadata_path && *metadata_path)
        return xasprintf("%.*s/%05ld-%s%s", (int)strip_slash_len(metadata_path), metadata_path,
                         version + 1, uuid, ext);
    if (!location)
        location = "";
    return xasprintf("%.*s/metadata/%05ld-%s%s", (int)strip_slash_len(location), location,
                     version + 1, uuid, ext);
}

char *meta_new_location(const json_t *meta, const char *prev_location)
{
    const char *codec = meta_property(meta, PROP_METADATA_CODEC);

    return meta_file_location(meta_location(meta), meta_property(meta, PROP_METADATA_PATH),
                              prev_location, codec && strcasecmp(codec, "gzip") == 0);
}

/* ---------------------------------------------------------------- metadata log */

/* Java's PropertyUtil.propertyAsInt, falling back to dflt when the value is not an int. */
static long prop_int(const json_t *meta, const char *key, long dflt)
{
    const char *s = meta_property(meta, key);
    char *end;
    long v;

    if (!s || !*s)
        return dflt;
    v = strtol(s, &end, 10);
    if (*end || v < INT_MIN || v > INT_MAX)
        return dflt;
    return v;
}

static bool log_has_file(const json_t *log, const char *file)
{
    size_t i;
    json_t *e;

    json_array_foreach(log, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "metadata-file"));
        if (f && strcmp(f, file) == 0)
            return true;
    }
    return false;
}

enum status meta_finish_commit(json_t *meta, const json_t *prev, const char *prev_location,
                               json_t **to_delete, struct error *err)
{
    json_t *old_log = json_object_get(meta, "metadata-log");
    json_t *prev_log = prev ? json_object_get(prev, "metadata-log") : old_log;
    json_t *log;
    long max;
    size_t drop = 0, i;
    json_t *e;
    const char *del;

    if (to_delete)
        *to_delete = NULL;
    if (!json_is_object(meta))
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "metadata is not an object");
    log = json_is_array(old_log) ? json_deep_copy(old_log) : json_array();
    if (prev_location) {
        /* Java's TableMetadata.Builder.addPreviousFile. */
        int64_t ts = prev ? meta_last_updated_ms(prev) : meta_last_updated_ms(meta);
        max = prop_int(meta, PROP_PREVIOUS_VERSIONS_MAX, PREVIOUS_VERSIONS_MAX_DEFAULT);
        if (max < 1)
            max = 1;
        if (json_array_size(log) >= (size_t)max)
            drop = json_array_size(log) - (size_t)max + 1;
        for (i = 0; i < drop; i++)
            json_array_remove(log, 0);
        json_array_append_new(log, json_pack("{s:I, s:s}", "timestamp-ms", (json_int_t)ts,
                                             "metadata-file", prev_location));
    }
    if (to_delete) {
        /* Java's CatalogUtil.deleteRemovedMetadataFiles: what fell out of the log. */
        *to_delete = json_array();
        del = meta_property(meta, PROP_DELETE_AFTER_COMMIT);
        if (del && strcasecmp(del, "true") == 0 && json_is_array(prev_log)) {
            json_array_foreach(prev_log, i, e)
            {
                const char *f = json_string_value(json_object_get(e, "metadata-file"));
                if (f && !log_has_file(log, f))
                    json_array_append_new(*to_delete, json_string(f));
            }
        }
    }
    json_object_set_new(meta, "metadata-log", log);
    return ST_OK;
}
