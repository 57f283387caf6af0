/*
 * fuzz_json_dump.c - libFuzzer target for jsonx_dump, serac's JSON writer.
 *
 * Whatever jansson parses from the input is written by jsonx_dump and by
 * json_dumps with the same settings: the two must agree byte for byte, and
 * the text must parse back to an equal value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    char *want, *got;
    json_t *back;

    if (!v)
        return 0;
    want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    got = jsonx_dump(v);
    if (!want || strcmp(want, got) != 0)
        abort();
    back = json_loads(got, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!back || !json_equal(back, v))
        abort();
    json_decref(back);
    free(want);
    free(got);
    json_decref(v);
    return 0;
}
