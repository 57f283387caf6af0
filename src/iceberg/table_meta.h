/*
 * table_meta.h - Iceberg table metadata: creation, requirements, updates,
 * serialisation, as JSON trees (see schema.h for why trees).
 *
 * The REST commit protocol (rest-spec.md sections 6, 7, 9): a commit checks
 * requirements against the table's current metadata, applies the update
 * actions in order with the semantics of Java's TableMetadata.Builder, and
 * writes the result as a new metadata file. These functions are pure: they
 * read and return trees and never touch storage.
 *
 * Errors: a failed requirement is ST_CONFLICT / ET_COMMIT_FAILED with Java's
 * "Requirement failed: ..." text; a retryable validation (stale sequence
 * number, stale first-row-id) is ST_CONFLICT / ET_COMMIT_FAILED too; bad
 * updates are ST_INVALID with ET_BAD_REQUEST (malformed) or
 * ET_ILLEGAL_ARGUMENT / ET_VALIDATION (Java's wording).
 */
#ifndef SERAC_ICEBERG_TABLE_META_H
#define SERAC_ICEBERG_TABLE_META_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

#define META_MAX_FORMAT_VERSION 3
#define META_DEFAULT_FORMAT_VERSION 2

/*
 * meta_new_table builds the metadata of a new table from a CreateTableRequest
 * object (name, schema, partition-spec, write-order, properties, location are
 * read; the location argument wins over the request's and must be given).
 * Follows Java's TableMetadata.newTableMetadata: fresh field ids, spec-id 0
 * with partition field ids from 1000 (source ids remapped by column name),
 * sort order id 1 (or 0 when unsorted), the "format-version" property (1, 2
 * or 3; default 2) taken out of properties and used as the format version,
 * other reserved properties dropped. uuid is the table UUID. *out is a new
 * tree in the format version's shape. ST_INVALID for a bad request.
 */
enum status meta_new_table(const json_t *create_req, const char *location, const char *uuid,
                           int64_t now_ms, json_t **out, struct error *err);

/*
 * meta_check_requirements checks every TableRequirement in requirements (an
 * array) against base (NULL when the table does not exist). assert-create
 * passes only when base is NULL, and must then be the only requirement
 * ("Invalid create requirements" otherwise, ST_INVALID). Every other
 * requirement fails with ST_NOT_FOUND (ET_NO_SUCH_TABLE) when base is NULL.
 * An unknown type is ST_INVALID (400).
 */
enum status meta_check_requirements(const json_t *base, const json_t *requirements,
                                    struct error *err);

/*
 * meta_apply_updates applies the TableUpdate actions in updates (an array) to
 * a copy of base and returns it in *out (a new tree). base NULL means a table
 * being created: start from empty metadata whose format version comes from the
 * first upgrade-format-version update (default 2). now_ms is the commit time,
 * used for last-updated-ms and log entries. *changed (may be NULL) says
 * whether anything changed at all (all no-ops: false; the caller then keeps
 * the current metadata file). The result is validated as a whole (current
 * schema, default spec and sort order exist; refs point at snapshots, ...).
 * Unknown actions are ST_INVALID (400).
 */
enum status meta_apply_updates(const json_t *base, const json_t *updates, int64_t now_ms,
                               json_t **out, bool *changed, struct error *err);

/*
 * meta_finish_commit prepares meta (the result of meta_apply_updates) to be
 * written as the successor of the file prev_location (NULL for a new table)
 * whose metadata was prev: appends {prev_location, prev's last-updated-ms}
 * to metadata-log, trims the log to write.metadata.previous-versions-max
 * (default 100, at least 1) and, when write.metadata.delete-after-commit.enabled
 * is true, returns in *to_delete (new array of location strings, may be
 * empty; pass NULL to not ask) the files that fell out of the log.
 */
enum status meta_finish_commit(json_t *meta, const json_t *prev, const char *prev_location,
                               json_t **to_delete, struct error *err);

/*
 * meta_new_location returns the location of the next metadata file (owned):
 * "<dir>/<NNNNN>-<uuid>.metadata.json" where dir is write.metadata.path or
 * "<location>/metadata", NNNNN is one more than the number parsed from
 * prev_location's file name (00000 when prev_location is NULL or has none),
 * and ".gz.metadata.json" is used when write.metadata.compression-codec is gzip.
 */
char *meta_new_location(const json_t *meta, const char *prev_location);

/*
 * meta_file_location names a new metadata file (owned) for tables and views:
 * "<metadata_path or location/metadata>/<NNNNN>-<uuid>.metadata.json" (or
 * ".gz.metadata.json" with gzip), NNNNN one more than the version parsed
 * from prev_location's file name (Java's parseVersion), 00000 without one.
 */
char *meta_file_location(const char *location, const char *metadata_path, const char *prev_location,
                         bool gzip);

/*
 * meta_serialize returns the JSON text of meta for a metadata file or a
 * response (owned): fields in Java's order, v1 tables with the deprecated
 * "schema" and "partition-spec" fields, v3 with current-snapshot-id null
 * when there is none, empty lists written as [] rather than left out.
 */
char *meta_serialize(const json_t *meta);

/*
 * meta_canonical returns a new tree equal to meta with fields in Java's
 * order and the format version's shape (what meta_serialize prints).
 */
json_t *meta_canonical(const json_t *meta);
/*
 * meta_canonical_view is meta_canonical sharing every value it takes
 * unchanged with meta (no copy of snapshots and logs). While meta is alive
 * the view must only be read; once the caller releases meta, the view is the
 * only owner of those values and may be changed like any tree.
 */
json_t *meta_canonical_view(const json_t *meta);

/*
 * meta_parse parses and validates metadata file text (from register-table or
 * from disk) into *out; accepts format versions 1 to 3 and upgrades nothing.
 * ST_INVALID with a clear message for text that is not valid table metadata.
 */
enum status meta_parse(const char *text, size_t len, json_t **out, struct error *err);

/*
 * meta_refs_only returns a new tree equal to meta but whose snapshots list
 * keeps only the snapshots a ref (branch or tag) points at directly, for
 * loadTable with snapshots=refs.
 */
json_t *meta_refs_only(const json_t *meta);

/* Accessors; each returns the given default when the field is absent. */
int meta_format_version(const json_t *meta);
const char *meta_location(const json_t *meta);
const char *meta_uuid(const json_t *meta);
int64_t meta_last_updated_ms(const json_t *meta);
/* meta_property returns the string value of table property key, or NULL. */
const char *meta_property(const json_t *meta, const char *key);

#endif
