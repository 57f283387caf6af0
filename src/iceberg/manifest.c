/*
 * manifest.c - list the files named by Iceberg manifest lists and manifests.
 *
 * The Avro reader yields each record as a JSON object keyed by field name.
 * Which names to read is settled once per file from the writer schema: the
 * field carrying the Iceberg field id wins, and the conventional name is the
 * fallback for schemas without ids.
 */
#include "iceberg/manifest.h"

#include <string.h>

#include "avro/ocf.h"

/* Iceberg field ids (table spec, "Manifest Lists" and "Manifests"). */
#define FID_MANIFEST_PATH 500
#define FID_DATA_FILE 2
#define FID_FILE_PATH 100

/*
 * record_schema returns the record definition that schema t describes, looking
 * through unions (an optional struct is ["null", {...}]) and the lenient
 * {"type": {...}} wrapper; NULL when t is not an inline record.
 */
static const json_t *record_schema(const json_t *t, int depth)
{
    const json_t *type;

    if (depth > 8)
        return NULL;
    if (json_is_array(t)) {
        for (size_t i = 0; i < json_array_size(t); i++) {
            const json_t *r = record_schema(json_array_get(t, i), depth + 1);
            if (r)
                return r;
        }
        return NULL;
    }
    if (!json_is_object(t))
        return NULL;
    type = json_object_get(t, "type");
    if (json_is_object(type) || json_is_array(type))
        return record_schema(type, depth + 1);
    if (json_is_string(type) && strcmp(json_string_value(type), "record") == 0)
        return t;
    return NULL;
}

/*
 * field_by_id returns the field of record schema rec whose "field-id" is id,
 * or failing that the field named fallback; NULL when there is neither.
 */
static const json_t *field_by_id(const json_t *rec, json_int_t id, const char *fallback)
{
    const json_t *fields = json_object_get(rec, "fields");
    const json_t *by_name = NULL;

    for (size_t i = 0; i < json_array_size(fields); i++) {
        const json_t *f = json_array_get(fields, i);
        const json_t *fid = json_object_get(f, "field-id");
        const char *name = json_string_value(json_object_get(f, "name"));
        if (!name)
            continue;
        if (json_is_integer(fid) && json_integer_value(fid) == id)
            return f;
        if (!by_name && strcmp(name, fallback) == 0)
            by_name = f;
    }
    return by_name;
}

static const char *field_name(const json_t *field)
{
    return json_string_value(json_object_get(field, "name"));
}

static enum status not_a(struct error *err, const char *what, const char *missing)
{
    return error_set(err, ST_INVALID, ET_NONE, "Not an Iceberg %s: no %s field", what, missing);
}

/*
 * collect reads every record of r and appends the string found under
 * outer (and then inner, when inner is not NULL) to paths.
 */
static enum status collect(struct ocf_reader *r, const char *what, const char *outer,
                           const char *inner, json_t *paths, struct error *err)
{
    json_t *rec = NULL;
    enum status rc;

    while ((rc = ocf_next(r, &rec, err)) == ST_OK) {
        const json_t *v = json_object_get(rec, outer);
        if (inner)
            v = json_object_get(v, inner);
        if (!json_is_string(v)) {
            json_decref(rec);
            return error_set(err, ST_INVALID, ET_NONE, "Invalid Iceberg %s: an entry has no %s%s%s",
                             what, outer, inner ? "." : "", inner ? inner : "");
        }
        json_array_append(paths, (json_t *)v);
        json_decref(rec);
    }
    return rc == ST_NOT_FOUND ? ST_OK : rc;
}

enum status manifest_list_files(const char *data, size_t len, json_t *out_paths, struct error *err)
{
    struct ocf_reader *r = NULL;
    json_t *paths = json_array();
    const json_t *rec, *path;
    enum status rc;

    if ((rc = ocf_reader_open(data, len, &r, err)))
        goto out;
    rec = record_schema(ocf_schema(r), 0);
    if (!rec || !(path = field_by_id(rec, FID_MANIFEST_PATH, "manifest_path"))) {
        rc = not_a(err, "manifest list", "manifest_path");
        goto out;
    }
    if ((rc = collect(r, "manifest list", field_name(path), NULL, paths, err)))
        goto out;
    json_array_extend(out_paths, paths);
out:
    json_decref(paths);
    ocf_reader_free(r);
    return rc;
}

enum status manifest_files(const char *data, size_t len, json_t *out_paths, struct error *err)
{
    struct ocf_reader *r = NULL;
    json_t *paths = json_array();
    const json_t *entry, *df, *df_rec, *path;
    enum status rc;

    if ((rc = ocf_reader_open(data, len, &r, err)))
        goto out;
    entry = record_schema(ocf_schema(r), 0);
    df = entry ? field_by_id(entry, FID_DATA_FILE, "data_file") : NULL;
    df_rec = df ? record_schema(json_object_get(df, "type"), 0) : NULL;
    if (!df || !df_rec) {
        rc = not_a(err, "manifest", "data_file");
        goto out;
    }
    if (!(path = field_by_id(df_rec, FID_FILE_PATH, "file_path"))) {
        rc = not_a(err, "manifest", "data_file.file_path");
        goto out;
    }
    if ((rc = collect(r, "manifest", field_name(df), field_name(path), paths, err)))
        goto out;
    json_array_extend(out_paths, paths);
out:
    json_decref(paths);
    ocf_reader_free(r);
    return rc;
}
