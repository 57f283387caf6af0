/*
 * schema.h - Iceberg schemas, partition specs and sort orders as JSON trees.
 *
 * serac keeps Iceberg metadata as jansson trees (64-bit integers exact, key
 * order kept) rather than mirrored C structs: a commit reads a few fields,
 * applies updates and writes the tree back, and every field serac does not
 * interpret survives untouched. This module validates and compares the parts
 * that need rules from format/spec.md. Invalid input is ST_INVALID with
 * ET_BAD_REQUEST or ET_ILLEGAL_ARGUMENT (Java's wording where clients check
 * it), never a crash.
 */
#ifndef SERAC_ICEBERG_SCHEMA_H
#define SERAC_ICEBERG_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

/*
 * schema_validate checks that schema is a well-formed Schema (a struct type
 * with fields; every type known; decimal(P,S) with 1 <= P <= 38 and S <= P;
 * fixed[L] with L >= 1; unique field ids; identifier-field-ids naming
 * required primitive fields) and that it only uses what format_version
 * allows: variant, unknown, timestamp_ns, timestamptz_ns, geometry,
 * geography and initial-default / write-default need v3 (message contains
 * "<type> is not supported until v3").
 */
enum status schema_validate(const json_t *schema, int format_version, struct error *err);

/*
 * schema_assign_fresh_ids returns in *out a copy of schema with field ids
 * reassigned from 1 as Java's TypeUtil.assignFreshIds does: within each
 * struct its direct fields first, in order, then each field's nested type
 * depth-first; a list numbers its element, a map its key then its value.
 * identifier-field-ids are remapped; schema-id is set to 0. *last_column_id
 * gets the highest id assigned.
 */
enum status schema_assign_fresh_ids(const json_t *schema, json_t **out, int *last_column_id,
                                    struct error *err);

/*
 * schema_same says whether a and b have the same fields (ids, names, types,
 * required flags, docs, defaults) and the same identifier-field-ids; the
 * schema-id is ignored (Java's Schema.sameSchema).
 */
bool schema_same(const json_t *a, const json_t *b);

/* schema_max_field_id returns the highest field id anywhere in schema (0 if none). */
int schema_max_field_id(const json_t *schema);

/*
 * schema_find_field returns the field object with the given id anywhere in
 * schema (nested fields included), or NULL. *type receives its type (borrowed).
 */
const json_t *schema_find_field(const json_t *schema, int id, const json_t **type);

/* schema_find_field_by_name returns the top-level or nested field with dotted name, or NULL. */
const json_t *schema_find_field_by_name(const json_t *schema, const char *name);

/*
 * spec_validate checks a PartitionSpec against schema: every source id exists
 * and is a primitive, every transform is known and applies to the source type
 * (identity, bucket[N], truncate[W], year, month, day, hour, void), names are
 * unique and non-empty. For v1 (format_version 1) field ids must be
 * sequential from 1000. Fields missing a field-id are an error here; callers
 * assign ids first where the protocol allows that.
 */
enum status spec_validate(const json_t *spec, const json_t *schema, int format_version,
                          struct error *err);

/*
 * spec_compatible says whether two specs have the same fields in the same
 * order, comparing source ids, transforms and names, and field ids
 * (Java's PartitionSpec.compatibleWith plus equal ids).
 */
bool spec_compatible(const json_t *a, const json_t *b);

/* spec_max_field_id returns the highest partition field id in spec, or 999 if none. */
int spec_max_field_id(const json_t *spec);

/*
 * sortorder_validate checks a SortOrder against schema: source ids exist,
 * transforms are known, direction is asc|desc, null-order nulls-first|last.
 */
enum status sortorder_validate(const json_t *order, const json_t *schema, struct error *err);

/* sortorder_same says whether two orders have the same fields (order-id ignored). */
bool sortorder_same(const json_t *a, const json_t *b);

/* sortorder_is_unsorted says whether order has no fields. */
bool sortorder_is_unsorted(const json_t *order);

/*
 * transform_valid says whether the transform string is known and applies to
 * the primitive type string source_type ("int", "timestamp", "decimal(9,2)", ...).
 */
bool transform_valid(const char *transform, const char *source_type);

#endif
