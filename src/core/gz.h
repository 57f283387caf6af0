/* gz.h - gzip (RFC 1952) in memory, for metadata files named *.gz.metadata.json. */
#ifndef SERAC_CORE_GZ_H
#define SERAC_CORE_GZ_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

/* gz_is_gzip says whether data starts with the gzip magic bytes. */
bool gz_is_gzip(const void *data, size_t len);

/* gz_compress returns a gzip stream of data in *out (owned, length *out_len). */
enum status gz_compress(const void *data, size_t len, char **out, size_t *out_len,
                        struct error *err);

/*
 * gz_decompress inflates a gzip stream into *out (owned, NUL-terminated, the
 * NUL not counted). ST_INVALID for a corrupt stream or output over max bytes.
 */
enum status gz_decompress(const void *data, size_t len, size_t max, char **out, size_t *out_len,
                          struct error *err);

#endif
