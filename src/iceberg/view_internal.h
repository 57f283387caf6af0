/*
 * view_internal.h - helpers shared by view_meta.c (shapes, parsing,
 * serialisation) and view_update.c (the ViewMetadata.Builder semantics).
 * Not an interface for other modules: use view_meta.h.
 */
#ifndef SERAC_ICEBERG_VIEW_INTERNAL_H
#define SERAC_ICEBERG_VIEW_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* The only view format version (format/view-spec.md). */
#define VIEW_FORMAT_VERSION 1
/* View schemas are not tied to a table format, so every type Java parses is allowed. */
#define VIEW_SCHEMA_FORMAT 3

/*
 * view_get_int32 is jsonx_get_int that also requires the value to fit a Java
 * int (what JsonUtil.getInt accepts). ST_INVALID / ET_BAD_REQUEST otherwise.
 */
enum status view_get_int32(const json_t *obj, const char *what, const char *key, bool required,
                           int64_t *out, struct error *err);

/*
 * view_version_check type-checks a ViewVersion object: version-id and
 * schema-id (ints), timestamp-ms (long), summary (string map),
 * representations (objects with a string type; "sql" ones need sql and
 * dialect strings), default-catalog (string or null), default-namespace
 * (string array). With sql_only, a representation of another type is refused
 * (Java's server cannot write one). ST_INVALID / ET_BAD_REQUEST.
 */
enum status view_version_check(const json_t *version, const char *what, bool sql_only,
                               struct error *err);

/*
 * view_version_canonical returns a new copy of a checked version with keys in
 * Java's order (version-id, timestamp-ms, schema-id, summary, default-catalog
 * when set, default-namespace, representations, then any unknown keys) and
 * representation types lower-cased.
 */
json_t *view_version_canonical(const json_t *version);

/*
 * view_versions_same is Java's sameViewVersion: equal summaries,
 * representations (type, sql and dialect, in order), default catalogs,
 * default namespaces and schema ids; version ids and timestamps ignored.
 */
bool view_versions_same(const json_t *a, const json_t *b);

/*
 * view_schema_with_id returns a new copy of schema with schema-id set to id,
 * keys in Java's order (type, schema-id, identifier-field-ids when not empty,
 * fields, then unknown keys).
 */
json_t *view_schema_with_id(const json_t *schema, int64_t id);

/*
 * view_dialects returns a new array of the distinct lower-cased dialects of
 * version's SQL representations, in first-seen order. *dup (may be NULL)
 * receives the first lower-cased dialect seen twice, borrowed from the
 * result, or NULL.
 */
json_t *view_dialects(const json_t *version, const char **dup);

/*
 * view_format_set writes a set of strings as Java's HashSet.toString prints
 * it ("[a, b]", in HashSet iteration order) into out (size n, truncated).
 */
void view_format_set(const json_t *set, char *out, size_t n);

/* view_find returns the object in array arr whose integer key equals id, or NULL. */
json_t *view_find(const json_t *arr, const char *key, int64_t id);

/* view_prop returns the string value of view property key, or NULL. */
const char *view_prop(const json_t *meta, const char *key);

/*
 * view_canonical returns a new tree equal to meta with top-level keys in
 * Java's order (ViewMetadataParser), properties left out when empty, versions
 * and schemas in canonical key order, unknown top-level keys kept at the end.
 */
json_t *view_canonical(const json_t *meta);

#endif
