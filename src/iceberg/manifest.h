/*
 * manifest.h - the file paths an Iceberg snapshot references, read from its
 * manifest list and manifests (Iceberg table spec, "Manifest Lists" and
 * "Manifests", format versions 1 to 3; these files are Avro, see avro/ocf.h).
 *
 * Fields are found by field id when the writer schema carries "field-id"
 * attributes (manifest_path is 500; data_file is 2 and its file_path 100),
 * and otherwise by the names Iceberg writers use ("manifest_path",
 * "data_file", "file_path"), so files from Java Iceberg, PyIceberg and
 * writers that drop field ids (avro-c, as older DuckDB did) all work.
 */
#ifndef SERAC_ICEBERG_MANIFEST_H
#define SERAC_ICEBERG_MANIFEST_H

#include <jansson.h>
#include <stddef.h>

#include "core/status.h"

/*
 * manifest_list_files reads the manifest list in data[0..len) and appends
 * the manifest_path of every entry (a JSON string) to the array out_paths,
 * in file order. Returns ST_OK; ST_INVALID for a corrupt file or one that is
 * not a manifest list (no manifest_path field, or an entry whose path is not
 * a string); ST_UNSUPPORTED for an Avro codec other than null, deflate and
 * zstandard. On failure out_paths is left as it was.
 */
enum status manifest_list_files(const char *data, size_t len, json_t *out_paths, struct error *err);

/*
 * manifest_files reads the manifest in data[0..len) and appends
 * data_file.file_path of every entry to the array out_paths, in file order:
 * data files and delete files alike, and entries of every status (ADDED,
 * EXISTING and DELETED), since all of them are files the table wrote. A path
 * can occur more than once (several deletion vectors share one Puffin file);
 * callers that delete files should de-duplicate. Returns ST_OK; ST_INVALID
 * for a corrupt file or one that is not a manifest (no data_file.file_path);
 * ST_UNSUPPORTED for an unsupported codec. On failure out_paths is left as it
 * was.
 */
enum status manifest_files(const char *data, size_t len, json_t *out_paths, struct error *err);

#endif
