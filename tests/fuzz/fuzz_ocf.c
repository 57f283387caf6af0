/*
 * fuzz_ocf.c - libFuzzer target for the Avro object container file reader and the Iceberg
 * manifest walkers built on it: header, schema, every codec's blocks and every value type.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "avro/ocf.h"
#include "iceberg/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ocf_reader *r = NULL;
    struct error err;
    json_t *rec, *paths;

    if (ocf_reader_open(data, size, &r, &err) == ST_OK) {
        ocf_meta(r, "avro.schema", NULL);
        ocf_codec(r);
        /* Zero-size records can be numerous; the cap keeps one input fast. */
        for (int i = 0; i < 100000 && ocf_next(r, &rec, &err) == ST_OK; i++) {
            if (i < 4)
                free(json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY));
            json_decref(rec);
        }
        ocf_reader_free(r);
    }
    paths = json_array();
    manifest_list_files((const char *)data, size, paths, &err);
    manifest_files((const char *)data, size, paths, &err);
    json_decref(paths);
    return 0;
}
