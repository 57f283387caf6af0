/*
 * requirement.c - checking TableRequirement assertions before a commit
 * (rest-spec.md §7), with the messages of Java's UpdateRequirement, which the
 * REST Compatibility Kit compares.
 *
 * Every requirement is parsed and type-checked before any is evaluated, so a
 * malformed request is a 400 whatever the table's state; then the create rule
 * (assert-create stands alone), then the table's existence, then each
 * requirement in order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/jsonx.h"
#include "iceberg/table_meta.h"

enum req_kind {
    REQ_CREATE,
    REQ_TABLE_UUID,
    REQ_VIEW_UUID,
    REQ_REF_SNAPSHOT_ID,
    REQ_LAST_FIELD_ID,
    REQ_CURRENT_SCHEMA_ID,
    REQ_LAST_PARTITION_ID,
    REQ_DEFAULT_SPEC_ID,
    REQ_DEFAULT_SORT_ORDER_ID,
};

/* Each requirement type, the field it carries (NULL: none) and that field's kind. */
static const struct {
    const char *type;
    enum req_kind kind;
    const char *field;
} req_types[] = {
    {"assert-create", REQ_CREATE, NULL},
    {"assert-table-uuid", REQ_TABLE_UUID, "uuid"},
    {"assert-view-uuid", REQ_VIEW_UUID, "uuid"},
    {"assert-ref-snapshot-id", REQ_REF_SNAPSHOT_ID, "ref"},
    {"assert-last-assigned-field-id", REQ_LAST_FIELD_ID, "last-assigned-field-id"},
    {"assert-current-schema-id", REQ_CURRENT_SCHEMA_ID, "current-schema-id"},
    {"assert-last-assigned-partition-id", REQ_LAST_PARTITION_ID, "last-assigned-partition-id"},
    {"assert-default-spec-id", REQ_DEFAULT_SPEC_ID, "default-spec-id"},
    {"assert-default-sort-order-id", REQ_DEFAULT_SORT_ORDER_ID, "default-sort-order-id"},
};

#define N_TYPES (sizeof(req_types) / sizeof(req_types[0]))

/* The table in req_types of requirement req (type-checked), in *idx. */
static enum status parse_one(const json_t *req, size_t *idx, struct error *err)
{
    const char *type = NULL, *s;
    int64_t n;
    enum status rc;
    json_t *v;

    if (!json_is_object(req))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid table requirement: not an object");
    if ((rc = jsonx_get_str(req, "table requirement", "type", true, &type, err)))
        return rc;
    for (*idx = 0; *idx < N_TYPES; (*idx)++)
        if (strcasecmp(type, req_types[*idx].type) == 0)
            break;
    if (*idx == N_TYPES)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Unknown table requirement type: %s",
                         type);
    switch (req_types[*idx].kind) {
    case REQ_CREATE:
        return ST_OK;
    case REQ_TABLE_UUID:
    case REQ_VIEW_UUID:
        return jsonx_get_str(req, type, "uuid", true, &s, err);
    case REQ_REF_SNAPSHOT_ID:
        /* snapshot-id may be null or absent: the ref must then not exist. */
        if ((rc = jsonx_get_str(req, type, "ref", true, &s, err)))
            return rc;
        return jsonx_get_int(req, type, "snapshot-id", false, &n, err);
    default:
        if ((rc = jsonx_get_int(req, type, req_types[*idx].field, true, &n, err)))
            return rc;
        v = json_object_get(req, req_types[*idx].field);
        if (json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid %s: field '%s' must be a 32-bit integer", type,
                             req_types[*idx].field);
        return ST_OK;
    }
}

static int64_t int_or(const json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

#define FAILED(...) error_set(err, ST_CONFLICT, ET_COMMIT_FAILED, __VA_ARGS__)

/* The ref named name, with main implied by current-snapshot-id in old v1 metadata. */
static const json_t *find_ref(const json_t *base, const char *name, json_t **implied)
{
    json_t *refs = json_object_get(base, "refs");
    int64_t cur = int_or(base, "current-snapshot-id", -1);

    *implied = NULL;
    if (json_is_object(refs))
        return json_object_get(refs, name);
    if (strcmp(name, "main") == 0 && cur != -1) {
        *implied = json_pack("{s:I, s:s}", "snapshot-id", (json_int_t)cur, "type", "branch");
        return *implied;
    }
    return NULL;
}

static enum status check_ref(const json_t *base, const json_t *req, struct error *err)
{
    const char *name = json_string_value(json_object_get(req, "ref"));
    json_t *want = json_object_get(req, "snapshot-id");
    json_t *implied;
    const json_t *ref = find_ref(base, name, &implied);
    enum status rc = ST_OK;

    if (ref) {
        const char *t = json_string_value(json_object_get(ref, "type"));
        const char *type = (t && strcasecmp(t, "tag") == 0) ? "tag" : "branch";
        int64_t have = int_or(ref, "snapshot-id", -1);
        if (!json_is_integer(want))
            rc = FAILED("Requirement failed: %s %s was created concurrently", type, name);
        else if (json_integer_value(want) != have)
            rc =
                FAILED("Requirement failed: %s %s has changed: expected id %" PRId64 " != %" PRId64,
                       type, name, (int64_t)json_integer_value(want), have);
    } else if (json_is_integer(want)) {
        rc = FAILED("Requirement failed: branch or tag %s is missing, expected %" PRId64, name,
                    (int64_t)json_integer_value(want));
    }
    json_decref(implied);
    return rc;
}

/* Compares an int requirement with the base's value; Java's messages put the required id first. */
static enum status check_id(const json_t *base, const json_t *req, const char *field,
                            const char *base_key, int64_t base_default, const char *what,
                            struct error *err)
{
    int64_t want = int_or(req, field, 0);
    int64_t have = int_or(base, base_key, base_default);

    if (want != have)
        return FAILED("Requirement failed: %s changed: expected id %" PRId64 " != %" PRId64, what,
                      want, have);
    return ST_OK;
}

static enum status check_one(const json_t *base, const json_t *req, enum req_kind kind,
                             struct error *err)
{
    const char *uuid, *have;

    switch (kind) {
    case REQ_CREATE:
        return FAILED("Requirement failed: table already exists");
    case REQ_TABLE_UUID:
        uuid = json_string_value(json_object_get(req, "uuid"));
        have = meta_uuid(base);
        if (!have || strcasecmp(uuid, have) != 0)
            return FAILED("Requirement failed: UUID does not match: expected %s != %s",
                          have ? have : "null", uuid);
        return ST_OK;
    case REQ_VIEW_UUID:
        return error_set(err, ST_INVALID, ET_VALIDATION,
                         "Cannot validate AssertViewUUID against a table");
    case REQ_REF_SNAPSHOT_ID:
        return check_ref(base, req, err);
    case REQ_LAST_FIELD_ID:
        return check_id(base, req, "last-assigned-field-id", "last-column-id", 0,
                        "last assigned field id", err);
    case REQ_CURRENT_SCHEMA_ID:
        return check_id(base, req, "current-schema-id", "current-schema-id", 0, "current schema",
                        err);
    case REQ_LAST_PARTITION_ID:
        /* old v1 metadata without last-partition-id: no field assigned yet is 999 */
        return check_id(base, req, "last-assigned-partition-id", "last-partition-id", 999,
                        "last assigned partition id", err);
    case REQ_DEFAULT_SPEC_ID:
        return check_id(base, req, "default-spec-id", "default-spec-id", 0,
                        "default partition spec", err);
    case REQ_DEFAULT_SORT_ORDER_ID:
        return check_id(base, req, "default-sort-order-id", "default-sort-order-id", 0,
                        "default sort order", err);
    }
    return error_set(err, ST_INTERNAL, ET_INTERNAL, "unhandled requirement");
}

enum status meta_check_requirements(const json_t *base, const json_t *requirements,
                                    struct error *err)
{
    size_t n, i, idx = 0, creates = 0;
    enum req_kind *kinds = NULL;
    enum status rc = ST_OK;
    json_t *req;

    if (!requirements || json_is_null(requirements))
        n = 0;
    else if (!json_is_array(requirements))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid table commit: requirements must be an array");
    else
        n = json_array_size(requirements);
    if (n == 0)
        goto empty;
    kinds = xcalloc(n, sizeof(*kinds));
    json_array_foreach(requirements, i, req)
    {
        if ((rc = parse_one(req, &idx, err)))
            goto out;
        kinds[i] = req_types[idx].kind;
        if (kinds[i] == REQ_CREATE)
            creates++;
    }
    /* Java's CatalogHandlers.isCreate: assert-create may not be mixed with others. */
    if (creates > 0 && creates != n) {
        rc = error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Invalid create requirements");
        goto out;
    }
empty:
    if (!base) {
        if (creates == 0)
            rc = error_set(err, ST_NOT_FOUND, ET_NO_SUCH_TABLE, "Table does not exist");
        goto out;
    }
    for (i = 0; i < n; i++) {
        if ((rc = check_one(base, json_array_get(requirements, i), kinds[i], err)))
            goto out;
    }
out:
    free(kinds);
    return rc;
}
