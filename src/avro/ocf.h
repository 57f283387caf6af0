/*
 * ocf.h - a reader for Avro object container files (OCF), the format of
 * Iceberg manifest lists and manifests (format versions 1 to 3).
 *
 * The reader works on a file held in memory. It parses the header (magic,
 * the metadata map, the sync marker), turns the writer schema in
 * `avro.schema` into a decoder, and then yields one record at a time as a
 * jansson value. Codecs: "null" (or no `avro.codec` key), "deflate" (raw
 * RFC 1951) and "zstandard"; any other codec is ST_UNSUPPORTED.
 *
 * Every length, count and block size is checked against the bytes that are
 * left, decompressed blocks are capped at OCF_MAX_BLOCK bytes, schema and
 * value nesting at OCF_MAX_DEPTH levels, and one record at OCF_MAX_VALUES
 * decoded values, so arbitrary input yields ST_INVALID, never a crash or an
 * unbounded allocation.
 *
 * Values become JSON as follows: null → null; boolean → true/false; int and
 * long → integer (exact); float and double → real, or the strings "NaN",
 * "Infinity", "-Infinity"; string → string (must be UTF-8); bytes and fixed
 * → lower-case hex string; enum → its symbol; array → array; map → object;
 * record → object with the fields in schema order; union → the value of the
 * branch that was written. Logical types are ignored (the underlying type is
 * decoded).
 */
#ifndef SERAC_AVRO_OCF_H
#define SERAC_AVRO_OCF_H

#include <jansson.h>
#include <stddef.h>

#include "core/status.h"

/* Largest decompressed data block the reader accepts. */
#define OCF_MAX_BLOCK ((size_t)64 * 1024 * 1024)
/* Deepest schema or value nesting the reader accepts. */
#define OCF_MAX_DEPTH 64
/* Most values (of any type, at any depth) one record may decode into. */
#define OCF_MAX_VALUES ((size_t)1 << 20)

struct ocf_reader;

/*
 * ocf_reader_open parses the header of the OCF file in data[0..len) and
 * returns a reader in *out (the caller frees it with ocf_reader_free). The
 * reader borrows data: it must stay unchanged until the reader is freed.
 * Returns ST_OK; ST_INVALID for a file that is not a well-formed OCF file
 * (bad magic, truncated header, malformed or unusable schema); ST_UNSUPPORTED
 * for a codec other than null, deflate and zstandard, and for a Parquet file
 * (the v4 manifest format). *out is NULL on failure.
 */
enum status ocf_reader_open(const void *data, size_t len, struct ocf_reader **out,
                            struct error *err);

/* ocf_reader_free releases r and everything it owns. r may be NULL. */
void ocf_reader_free(struct ocf_reader *r);

/*
 * ocf_meta returns the value stored under key in the file's metadata map
 * (for example "avro.schema", "format-version", "content"), or NULL when the
 * key is absent. The value is NUL-terminated for convenience; its exact
 * length (values are bytes and may hold NULs) goes to *len when len is not
 * NULL. When a key occurs twice, the last one wins. Borrowed from r.
 */
const char *ocf_meta(const struct ocf_reader *r, const char *key, size_t *len);

/*
 * ocf_schema returns the writer schema as parsed JSON (the `avro.schema`
 * metadata, with every attribute the writer put there, e.g. "field-id").
 * Borrowed from r.
 */
const json_t *ocf_schema(const struct ocf_reader *r);

/* ocf_codec returns the codec name in use: "null", "deflate" or "zstandard". */
const char *ocf_codec(const struct ocf_reader *r);

/*
 * ocf_next decodes the next record into *record (a new reference the caller
 * owns). Returns ST_OK with a record; ST_NOT_FOUND once every record has been
 * read (*record is NULL); ST_INVALID for corrupt data (a truncated block, a
 * wrong sync marker, a value that does not match the schema, a block that
 * decompresses to more than OCF_MAX_BLOCK bytes). After an error every later
 * call fails the same way.
 */
enum status ocf_next(struct ocf_reader *r, json_t **record, struct error *err);

#endif
