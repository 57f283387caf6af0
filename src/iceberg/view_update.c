/*
 * view_update.c - creating view metadata and applying ViewUpdate actions
 * (rest-spec.md §8) with the semantics of Java's ViewMetadata.Builder:
 * schema and version id reuse, -1 meaning "added last", one SQL per dialect,
 * the replace.drop-dialect.allowed guard, version.history.num-entries
 * retention and the version log.
 *
 * Like the Java builder, the work happens on a copy of the base; the checks
 * that concern the result as a whole (dialect loss, retention) run once,
 * after the last action, in vb_finish.
 */
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
#include "iceberg/view_meta.h"

#define PROP_HISTORY_SIZE "version.history.num-entries"
#define HISTORY_SIZE_DEFAULT 10
#define PROP_DROP_DIALECT "replace.drop-dialect.allowed"
/*
 * Java clients send at most six updates per view commit; the cap keeps the
 * builder's linear searches (schema and version reuse) from turning a
 * hostile 16 MiB body into minutes of CPU.
 */
#define MAX_UPDATES 1000

/* What one build (a create or a commit) is doing: Java's Builder state. */
struct vb {
    json_t *m;            /* the metadata being built (owned) */
    int64_t now_ms;       /* commit time, for version-log entries */
    bool has_last_schema; /* lastAddedSchemaId != null */
    int64_t last_schema;
    bool has_last_version; /* lastAddedVersionId != null */
    int64_t last_version;
    json_t *added;   /* ids of the versions added by this build (owned array) */
    json_t *history; /* the pending version-log entry, or NULL (owned) */
    json_t *prev;    /* the base's current version, NULL when creating (owned) */
    size_t changes;  /* how many changes were recorded */
    struct error *err;
};

/* A Java IllegalArgumentException (Preconditions.checkArgument): 400. */
#define bad_arg(b, ...) error_set((b)->err, ST_INVALID, ET_ILLEGAL_ARGUMENT, __VA_ARGS__)
/* A Java ValidationException: 400. */
#define invalid(b, ...) error_set((b)->err, ST_INVALID, ET_VALIDATION, __VA_ARGS__)
/* A malformed update: 400 BadRequest. */
#define malformed(b, ...) error_set((b)->err, ST_INVALID, ET_BAD_REQUEST, __VA_ARGS__)

static void vb_init(struct vb *b, json_t *m, int64_t now_ms, struct error *err)
{
    memset(b, 0, sizeof(*b));
    b->m = m;
    b->now_ms = now_ms;
    b->added = json_array();
    b->err = err;
}

static void vb_cleanup(struct vb *b)
{
    json_decref(b->m);
    json_decref(b->added);
    json_decref(b->history);
    json_decref(b->prev);
}

static json_t *list(struct vb *b, const char *key)
{
    json_t *l = json_object_get(b->m, key);

    if (!json_is_array(l)) {
        l = json_array();
        json_object_set_new(b->m, key, l);
    }
    return l;
}

static json_t *props(struct vb *b)
{
    json_t *p = json_object_get(b->m, "properties");

    if (!json_is_object(p)) {
        p = json_object();
        json_object_set_new(b->m, "properties", p);
    }
    return p;
}

static int64_t int_of(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static bool id_in(const json_t *ids, int64_t id)
{
    size_t i;

    for (i = 0; i < json_array_size(ids); i++)
        if (json_integer_value(json_array_get(ids, i)) == id)
            return true;
    return false;
}

/* ---------------------------------------------------------------- builder steps */

/* Builder.reuseOrCreateNewSchemaId: an identical schema's id, else the highest id + 1 (from 0). */
static int64_t schema_id_for(struct vb *b, const json_t *schema)
{
    json_t *schemas = list(b, "schemas");
    int64_t id = 0;
    size_t i;

    for (i = 0; i < json_array_size(schemas); i++) {
        const json_t *s = json_array_get(schemas, i);
        int64_t sid = int_of(s, "schema-id");
        if (schema_same(s, schema))
            return sid;
        if (sid >= id)
            id = sid + 1;
    }
    return id;
}

/* Builder.addSchemaInternal; schema is validated. *id gets the schema's id. */
static enum status vb_add_schema(struct vb *b, const json_t *schema, int64_t *id)
{
    *id = schema_id_for(b, schema);
    if (*id > INT32_MAX)
        return bad_arg(b, "Cannot add schema: schema ids are exhausted");
    /*
     * Deliberately kinder than Java: a schema that already exists is reused
     * and still counts as "added last", so a client that always sends
     * add-schema with schema-id -1 (or a retry after a concurrent writer added
     * the same schema) works instead of failing "no schema has been added".
     */
    b->has_last_schema = true;
    b->last_schema = *id;
    if (view_find(list(b, "schemas"), "schema-id", *id))
        return ST_OK;
    json_array_append_new(list(b, "schemas"), view_schema_with_id(schema, *id));
    b->changes++;
    return ST_OK;
}

/* Builder.reuseOrCreateNewViewVersionId: an equivalent version's id, else max(id, highest + 1). */
static int64_t version_id_for(struct vb *b, const json_t *version)
{
    json_t *versions = list(b, "versions");
    int64_t id = int_of(version, "version-id");
    size_t i;

    for (i = 0; i < json_array_size(versions); i++) {
        const json_t *v = json_array_get(versions, i);
        int64_t vid = int_of(v, "version-id");
        if (view_versions_same(v, version))
            return vid;
        if (vid >= id)
            id = vid + 1;
    }
    return id;
}

/*
 * Builder.addVersionInternal; version is a checked, canonical copy which this
 * function takes. *id gets the version's id.
 */
static enum status vb_add_version(struct vb *b, json_t *version, int64_t *id)
{
    const char *dup = NULL;
    json_t *dialects = NULL;
    int64_t schema_id;
    enum status rc = ST_OK;

    /* Java compares before resolving schema-id -1, so such a version is never reused. */
    *id = version_id_for(b, version);
    if (view_find(list(b, "versions"), "version-id", *id)) {
        b->has_last_version = id_in(b->added, *id);
        b->last_version = *id;
        goto out;
    }
    if (*id > INT32_MAX) {
        rc = bad_arg(b, "Cannot add view version: version ids are exhausted");
        goto out;
    }
    json_object_set_new(version, "version-id", json_integer(*id));
    schema_id = int_of(version, "schema-id");
    if (schema_id == -1) {
        if (!b->has_last_schema) {
            rc = invalid(b, "Cannot set last added schema: no schema has been added");
            goto out;
        }
        schema_id = b->last_schema;
        json_object_set_new(version, "schema-id", json_integer(schema_id));
    }
    if (!view_find(list(b, "schemas"), "schema-id", schema_id)) {
        rc = bad_arg(b, "Cannot add version with unknown schema: %" PRId64, schema_id);
        goto out;
    }
    dialects = view_dialects(version, &dup);
    if (dup) {
        rc = bad_arg(b, "Invalid view version: Cannot add multiple queries for dialect %s", dup);
        goto out;
    }
    json_array_append(list(b, "versions"), version);
    json_array_append_new(b->added, json_integer(*id));
    b->has_last_version = true;
    b->last_version = *id;
    b->changes++;
out:
    json_decref(dialects);
    json_decref(version);
    return rc;
}

/* Builder.setCurrentVersionId, -1 meaning the version added last. */
static enum status vb_set_current(struct vb *b, int64_t id)
{
    const json_t *version;
    int64_t ts;

    if (id == -1) {
        if (!b->has_last_version)
            return invalid(b, "Cannot set last version id: no current version id has been set");
        id = b->last_version;
    }
    if (json_is_integer(json_object_get(b->m, "current-version-id")) &&
        int_of(b->m, "current-version-id") == id)
        return ST_OK;
    version = view_find(list(b, "versions"), "version-id", id);
    if (!version)
        return bad_arg(b, "Cannot set current version to unknown version: %" PRId64, id);
    json_object_set_new(b->m, "current-version-id", json_integer(id));
    b->changes++;
    /*
     * The version's own timestamp when it was added by this build; otherwise
     * the version is being re-activated, and that happens now.
     */
    ts = id_in(b->added, id) ? int_of(version, "timestamp-ms") : b->now_ms;
    json_decref(b->history);
    b->history =
        json_pack("{s:I, s:I}", "timestamp-ms", (json_int_t)ts, "version-id", (json_int_t)id);
    return ST_OK;
}

/* Builder.setProperties; map is a string map. */
static void vb_set_props(struct vb *b, const json_t *map)
{
    const char *key;
    json_t *v;

    if (json_object_size(map) == 0)
        return;
    json_object_foreach((json_t *)map, key, v)
        json_object_set_new(props(b), key, json_deep_copy(v));
    b->changes++;
}

/* ---------------------------------------------------------------- finishing */

/* Java's Integer.parseInt: an optional sign, then decimal digits, within int range. */
static bool parse_java_int(const char *s, int64_t *out)
{
    const char *p = s;
    bool neg = false;
    int64_t v = 0;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p)
        return false;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
        if (v > (int64_t)INT32_MAX + 1)
            return false;
    }
    v = neg ? -v : v;
    if (v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = v;
    return true;
}

/* Builder.checkIfDialectIsDropped: the new current version keeps every previous dialect. */
static enum status check_dialects(struct vb *b, const json_t *cur)
{
    json_t *before = view_dialects(b->prev, NULL), *after = view_dialects(cur, NULL);
    char prev_s[400], cur_s[400];
    enum status rc = ST_OK;
    size_t i, j;

    for (i = 0; i < json_array_size(before) && rc == ST_OK; i++) {
        bool found = false;
        for (j = 0; j < json_array_size(after) && !found; j++)
            found = json_equal(json_array_get(before, i), json_array_get(after, j));
        if (!found) {
            view_format_set(before, prev_s, sizeof(prev_s));
            view_format_set(after, cur_s, sizeof(cur_s));
            rc = bad_arg(b,
                         "Cannot replace view due to loss of view dialects "
                         "(" PROP_DROP_DIALECT "=false):\nPrevious dialects: %s\nNew dialects: %s",
                         prev_s, cur_s);
        }
    }
    json_decref(before);
    json_decref(after);
    return rc;
}

struct id_version {
    int64_t id;
    json_t *version; /* borrowed */
};

static int cmp_id_desc(const void *a, const void *b)
{
    int64_t x = ((const struct id_version *)a)->id, y = ((const struct id_version *)b)->id;

    return (x < y) - (x > y);
}

/* Appends version to retained and records its id in the set kept. */
static void retain(json_t *retained, json_t *kept, const json_t *version)
{
    char key[24];

    snprintf(key, sizeof(key), "%" PRId64, int_of(version, "version-id"));
    json_array_append(retained, (json_t *)version);
    json_object_set_new(kept, key, json_true());
}

/*
 * Builder.expireVersions and updateHistory: keep the current version and the
 * newest others (by id) up to keep in all, current first; then drop version-log
 * entries up to the last one naming a version that is gone.
 */
static void expire_versions(struct vb *b, size_t keep, int64_t cur_id)
{
    json_t *versions = list(b, "versions"), *log = list(b, "version-log");
    size_t n = json_array_size(versions), i;
    struct id_version *byid = xcalloc(n + 1, sizeof(*byid));
    json_t *retained = json_array(), *kept_log = json_array(), *kept = json_object();
    char key[24];

    for (i = 0; i < n; i++) {
        byid[i].version = json_array_get(versions, i);
        byid[i].id = int_of(byid[i].version, "version-id");
    }
    qsort(byid, n, sizeof(*byid), cmp_id_desc);
    retain(retained, kept, view_find(versions, "version-id", cur_id));
    for (i = 0; i < keep && i < n && json_array_size(retained) < keep; i++) {
        if (byid[i].id != cur_id)
            retain(retained, kept, byid[i].version);
    }
    for (i = 0; i < json_array_size(log); i++) {
        json_t *e = json_array_get(log, i);
        snprintf(key, sizeof(key), "%" PRId64, int_of(e, "version-id"));
        if (json_object_get(kept, key))
            json_array_append(kept_log, e);
        else
            json_array_clear(kept_log);
    }
    json_object_set_new(b->m, "versions", retained);
    json_object_set_new(b->m, "version-log", kept_log);
    json_decref(kept);
    free(byid);
}

/* Builder.build: the checks on the whole result, then retention. */
static enum status vb_finish(struct vb *b)
{
    json_t *versions = list(b, "versions");
    const char *drop = view_prop(b->m, PROP_DROP_DIALECT);
    const char *size_s = view_prop(b->m, PROP_HISTORY_SIZE);
    int64_t history_size = HISTORY_SIZE_DEFAULT, cur_id = int_of(b->m, "current-version-id");
    const json_t *cur;
    size_t keep;
    enum status rc;

    if (!json_is_string(json_object_get(b->m, "location")))
        return bad_arg(b, "Invalid location: null");
    if (json_array_size(versions) == 0)
        return bad_arg(b, "Invalid view: no versions were added");
    if (b->history) {
        json_array_append_new(list(b, "version-log"), b->history);
        b->history = NULL;
    }
    cur = view_find(versions, "version-id", cur_id);
    if (!cur)
        return bad_arg(b, "Cannot find current version %" PRId64 " in view versions", cur_id);
    /* PropertyUtil.propertyAsBoolean is Boolean.parseBoolean: only "true" (any case) is true. */
    if (b->prev && !(drop && strcasecmp(drop, "true") == 0) && (rc = check_dialects(b, cur)))
        return rc;
    if (size_s && !parse_java_int(size_s, &history_size))
        return bad_arg(b, "Invalid value for " PROP_HISTORY_SIZE ": %s (not an integer)", size_s);
    if (history_size <= 0)
        return bad_arg(b, PROP_HISTORY_SIZE " must be positive but was %" PRId64, history_size);
    /* Keep at least the current version and every version this build added. */
    keep = json_array_size(b->added) + (id_in(b->added, cur_id) ? 0 : 1);
    if ((size_t)history_size > keep)
        keep = (size_t)history_size;
    if (json_array_size(versions) > keep)
        expire_versions(b, keep, cur_id);
    return ST_OK;
}

/* Hands the result out: canonical, and validated as a whole. */
static enum status vb_result(struct vb *b, json_t **out)
{
    json_t *result = view_canonical(b->m);
    enum status rc;

    if ((rc = view_validate(result, b->err))) {
        json_decref(result);
        return rc;
    }
    *out = result;
    return ST_OK;
}

/* ---------------------------------------------------------------- actions */

static enum status act_assign_uuid(struct vb *b, const json_t *up)
{
    const char *uuid = NULL, *cur = json_string_value(json_object_get(b->m, "view-uuid"));
    enum status rc;

    if ((rc = jsonx_get_str(up, "assign-uuid", "uuid", true, &uuid, b->err)))
        return rc;
    /* Builder.assignUUID: a view's UUID never changes. */
    if (cur && strcmp(cur, uuid) == 0)
        return ST_OK;
    if (cur)
        return bad_arg(b, "Cannot reassign uuid");
    json_object_set_new(b->m, "view-uuid", json_string(uuid));
    b->changes++;
    return ST_OK;
}

static enum status act_upgrade_format_version(struct vb *b, const json_t *up)
{
    int64_t fv = 0, cur = int_of(b->m, "format-version");
    enum status rc;

    if ((rc = view_get_int32(up, "upgrade-format-version", "format-version", true, &fv, b->err)))
        return rc;
    if (fv < cur)
        return bad_arg(b, "Cannot downgrade v%" PRId64 " view to v%" PRId64, cur, fv);
    if (fv == cur)
        return ST_OK;
    /* ViewMetadata.check refuses the result: views only have format 1. */
    return bad_arg(b, "Unsupported format version: %" PRId64, fv);
}

static enum status act_add_schema(struct vb *b, const json_t *up)
{
    json_t *schema = NULL;
    int64_t ignored = 0, id;
    enum status rc;

    /* last-column-id is deprecated and ignored, but must still be an int. */
    if ((rc = jsonx_get_obj(up, "add-schema", "schema", true, &schema, b->err)) ||
        (rc = view_get_int32(up, "add-schema", "last-column-id", false, &ignored, b->err)) ||
        (rc = schema_validate(schema, VIEW_SCHEMA_FORMAT, b->err)) ||
        (rc = view_get_int32(schema, "schema", "schema-id", false, &ignored, b->err)))
        return rc;
    return vb_add_schema(b, schema, &id);
}

static enum status act_set_location(struct vb *b, const json_t *up)
{
    const char *loc = NULL, *cur = view_location(b->m);
    enum status rc;

    if ((rc = jsonx_get_str(up, "set-location", "location", true, &loc, b->err)))
        return rc;
    if (cur && strcmp(cur, loc) == 0)
        return ST_OK;
    json_object_set_new(b->m, "location", json_string(loc));
    b->changes++;
    return ST_OK;
}

static enum status act_set_properties(struct vb *b, const json_t *up)
{
    json_t *map = NULL;
    const char *key = json_object_get(up, "updates") ? "updates" : "updated";
    enum status rc;

    /* "updated" is the legacy name of the field; "updates" wins when both are sent. */
    if ((rc = jsonx_get_str_map(up, "set-properties", key, true, &map, b->err)))
        return rc;
    vb_set_props(b, map);
    return ST_OK;
}

static enum status act_remove_properties(struct vb *b, const json_t *up)
{
    json_t *keys = NULL;
    const char *key = json_object_get(up, "removals") ? "removals" : "removed";
    size_t i;
    enum status rc;

    /* "removed" is the legacy name of the field. */
    if ((rc = jsonx_get_str_array(up, "remove-properties", key, true, &keys, b->err)))
        return rc;
    if (json_array_size(keys) == 0)
        return ST_OK;
    for (i = 0; i < json_array_size(keys); i++)
        json_object_del(props(b), json_string_value(json_array_get(keys, i)));
    b->changes++;
    return ST_OK;
}

static enum status act_add_view_version(struct vb *b, const json_t *up)
{
    json_t *version = NULL;
    int64_t id;
    enum status rc;

    if ((rc = jsonx_get_obj(up, "add-view-version", "view-version", true, &version, b->err)) ||
        (rc = view_version_check(version, "view version", true, b->err)))
        return rc;
    return vb_add_version(b, view_version_canonical(version), &id);
}

static enum status act_set_current_view_version(struct vb *b, const json_t *up)
{
    int64_t id = 0;
    enum status rc;

    if ((rc = view_get_int32(up, "set-current-view-version", "view-version-id", true, &id, b->err)))
        return rc;
    return vb_set_current(b, id);
}

static const struct {
    const char *name;
    enum status (*fn)(struct vb *b, const json_t *update);
} actions[] = {
    {"assign-uuid", act_assign_uuid},
    {"upgrade-format-version", act_upgrade_format_version},
    {"add-schema", act_add_schema},
    {"set-location", act_set_location},
    {"set-properties", act_set_properties},
    {"remove-properties", act_remove_properties},
    {"add-view-version", act_add_view_version},
    {"set-current-view-version", act_set_current_view_version},
};

/* TableUpdate actions that MetadataUpdate cannot apply to a view. */
static const char *const table_actions[] = {
    "set-current-schema",
    "add-spec",
    "set-default-spec",
    "add-sort-order",
    "set-default-sort-order",
    "add-snapshot",
    "set-snapshot-ref",
    "remove-snapshots",
    "remove-snapshot-ref",
    "set-statistics",
    "remove-statistics",
    "set-partition-statistics",
    "remove-partition-statistics",
    "remove-partition-specs",
    "remove-schemas",
    "add-encryption-key",
    "remove-encryption-key",
};

static enum status apply_one(struct vb *b, const json_t *update, size_t index)
{
    const char *name = NULL;
    enum status rc;
    size_t i;

    if (!json_is_object(update))
        return malformed(b, "Invalid view update %zu: not an object", index);
    if ((rc = jsonx_get_str(update, "view update", "action", true, &name, b->err)))
        return rc;
    /* Java lower-cases the action before matching it. */
    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcasecmp(name, actions[i].name) == 0)
            return actions[i].fn(b, update);
    for (i = 0; i < sizeof(table_actions) / sizeof(table_actions[0]); i++)
        if (strcasecmp(name, table_actions[i]) == 0)
            return malformed(b, "Cannot apply update %s to a view", name);
    return malformed(b, "Cannot apply unknown view update action: %s", name);
}

/* ---------------------------------------------------------------- entry points */

enum status view_apply_updates(const json_t *base, const json_t *updates, int64_t now_ms,
                               json_t **out, bool *changed, struct error *err)
{
    struct vb b;
    size_t i;
    enum status rc;

    *out = NULL;
    if (changed)
        *changed = false;
    if ((rc = view_validate(base, err)))
        return rc;
    if (updates && !json_is_null(updates) && !json_is_array(updates))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid view commit: field 'updates' must be an array");
    if (json_array_size(updates) > MAX_UPDATES)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid view commit: %zu updates, at most %d are accepted",
                         json_array_size(updates), MAX_UPDATES);
    vb_init(&b, view_canonical(base), now_ms, err);
    /* Builder(base): the current version a replace is measured against. */
    b.prev = json_deep_copy(view_find(json_object_get(base, "versions"), "version-id",
                                      int_of(base, "current-version-id")));
    for (i = 0; i < json_array_size(updates); i++)
        if ((rc = apply_one(&b, json_array_get(updates, i), i)))
            goto out;
    if ((rc = vb_finish(&b)) || (rc = vb_result(&b, out)))
        goto out;
    if (changed)
        *changed = b.changes > 0;
out:
    vb_cleanup(&b);
    return rc;
}

/* Type-checks a CreateViewRequest; the borrowed parts come back through the pointers. */
static enum status check_create(const json_t *req, json_t **schema, json_t **version,
                                json_t **properties, struct error *err)
{
    const char *what = "CreateViewRequest", *s = NULL;
    enum status rc;

    if (!json_is_object(req))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid %s: not an object", what);
    if ((rc = jsonx_get_str(req, what, "name", true, &s, err)) ||
        (rc = jsonx_get_str(req, what, "location", false, &s, err)) ||
        (rc = jsonx_get_obj(req, what, "schema", true, schema, err)) ||
        (rc = jsonx_get_obj(req, what, "view-version", true, version, err)) ||
        (rc = jsonx_get_str_map(req, what, "properties", false, properties, err)) ||
        (rc = schema_validate(*schema, VIEW_SCHEMA_FORMAT, err)) ||
        (rc = view_version_check(*version, "view version", true, err)))
        return rc;
    /* BaseMetastoreViewCatalog's builder checks. */
    if (json_array_size(json_object_get(*version, "representations")) == 0)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Cannot create view without specifying a query");
    return ST_OK;
}

enum status view_new(const json_t *create_req, const char *location, const char *uuid,
                     int64_t now_ms, json_t **out, struct error *err)
{
    json_t *schema = NULL, *version = NULL, *properties = NULL, *v;
    char fresh[IDS_UUID_LEN + 1];
    int64_t schema_id, version_id;
    struct vb b;
    enum status rc;

    *out = NULL;
    if ((rc = check_create(create_req, &schema, &version, &properties, err)))
        return rc;
    if (!location)
        location = json_string_value(json_object_get(create_req, "location"));
    if (!location)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Invalid location: null");
    if (!uuid) {
        ids_uuid_v4(fresh);
        uuid = fresh;
    }
    vb_init(&b,
            json_pack("{s:s, s:i, s:s, s:[], s:i, s:[], s:[]}", "view-uuid", uuid, "format-version",
                      VIEW_FORMAT_VERSION, "location", location, "schemas", "current-version-id", 0,
                      "versions", "version-log"),
            now_ms, err);
    /* BaseMetastoreViewCatalog.create: properties, then setCurrentVersion(version, schema). */
    if (properties)
        vb_set_props(&b, properties);
    if ((rc = vb_add_schema(&b, schema, &schema_id)))
        goto out;
    v = view_version_canonical(version);
    json_object_set_new(v, "schema-id", json_integer(schema_id));
    /* The first version is version 1 unless the client chose a higher id. */
    version_id = int_of(v, "version-id");
    if (version_id < 1)
        json_object_set_new(v, "version-id", json_integer(1));
    if ((rc = vb_add_version(&b, v, &version_id)) || (rc = vb_set_current(&b, version_id)) ||
        (rc = vb_finish(&b)) || (rc = vb_result(&b, out)))
        goto out;
out:
    vb_cleanup(&b);
    return rc;
}
