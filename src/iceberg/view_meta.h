/*
 * view_meta.h - Iceberg view metadata (format/view-spec.md, rest-spec.md §8)
 * as JSON trees: creation, requirements, updates, serialisation. Pure
 * functions; nothing here touches storage.
 *
 * Errors: a failed requirement is ST_CONFLICT / ET_COMMIT_FAILED ("Requirement
 * failed: view UUID does not match: expected A != B"); malformed updates are
 * ST_INVALID / ET_BAD_REQUEST; semantic errors use Java's wording with
 * ET_ILLEGAL_ARGUMENT (e.g. "Invalid view version: Cannot add multiple
 * queries for dialect trino").
 */
#ifndef SERAC_ICEBERG_VIEW_META_H
#define SERAC_ICEBERG_VIEW_META_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

/*
 * view_new builds the metadata of a new view from a CreateViewRequest (name,
 * schema, view-version, properties; location given by the caller). Like
 * Java's ViewMetadata.builder: format-version 1, the schema gets id 0 (its
 * field ids kept as sent) and the view version's schema-id is rewritten to
 * it, the version keeps its id (at least 1), one version-log entry, the
 * request's properties stored. *out is a new tree.
 */
enum status view_new(const json_t *create_req, const char *location, const char *uuid,
                     int64_t now_ms, json_t **out, struct error *err);

/*
 * view_check_requirements checks ViewRequirements (only assert-view-uuid in
 * the spec) against base. Unknown types are ST_INVALID.
 */
enum status view_check_requirements(const json_t *base, const json_t *requirements,
                                    struct error *err);

/*
 * view_apply_updates applies ViewUpdate actions (assign-uuid,
 * upgrade-format-version, add-schema, set-location, set-properties,
 * remove-properties, add-view-version, set-current-view-version) to a copy of
 * base, with Java's ViewMetadata.Builder semantics: version id reuse for an
 * equivalent version, -1 meaning "added last", dialect uniqueness, the
 * replace.drop-dialect.allowed guard, version.history.num-entries retention,
 * version-log entries. *changed (may be NULL) is false when nothing changed.
 */
enum status view_apply_updates(const json_t *base, const json_t *updates, int64_t now_ms,
                               json_t **out, bool *changed, struct error *err);

/*
 * view_finish_commit appends nothing (views keep no metadata log in the spec)
 * but validates the result as a whole before it is written.
 */
enum status view_validate(const json_t *meta, struct error *err);

/*
 * view_new_location returns the next metadata file location (owned):
 * "<location>/metadata/<NNNNN>-<uuid>.gz.metadata.json" (views default to
 * gzip, as Java's ViewProperties do; "none" in
 * write.metadata.compression-codec drops the .gz), NNNNN one more than the
 * number in prev_location's name (00000 without one).
 */
char *view_new_location(const json_t *meta, const char *prev_location);

/* view_serialize returns the JSON text of meta in Java's field order (owned). */
char *view_serialize(const json_t *meta);

/* view_parse parses and validates view metadata file text into *out. */
enum status view_parse(const char *text, size_t len, json_t **out, struct error *err);

/* view_location returns the view's location, or NULL. */
const char *view_location(const json_t *meta);

#endif
