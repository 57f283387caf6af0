/* gz.c - gzip in memory through zlib. */
#include "core/gz.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/buf.h"

bool gz_is_gzip(const void *data, size_t len)
{
    const unsigned char *p = data;

    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

enum status gz_compress(const void *data, size_t len, char **out, size_t *out_len,
                        struct error *err)
{
    z_stream zs;
    uLong bound;
    char *dst;

    memset(&zs, 0, sizeof(zs));
    /* windowBits 15 + 16 asks zlib for a gzip header and trailer. */
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "gzip: cannot initialise zlib");
    bound = deflateBound(&zs, (uLong)len) + 32;
    dst = xmalloc(bound);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)dst;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&zs);
        free(dst);
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "gzip: compression failed");
    }
    *out_len = zs.total_out;
    deflateEnd(&zs);
    *out = dst;
    return ST_OK;
}

enum status gz_decompress(const void *data, size_t len, size_t max, char **out, size_t *out_len,
                          struct error *err)
{
    z_stream zs;
    struct buf b;
    char chunk[65536];
    int zrc = Z_OK;

    *out = NULL;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "gzip: cannot initialise zlib");
    buf_init(&b, max);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    while (zrc != Z_STREAM_END) {
        zs.next_out = (Bytef *)chunk;
        zs.avail_out = sizeof(chunk);
        zrc = inflate(&zs, Z_NO_FLUSH);
        if (zrc != Z_OK && zrc != Z_STREAM_END)
            break;
        if (buf_append(&b, chunk, sizeof(chunk) - zs.avail_out)) {
            zrc = Z_MEM_ERROR;
            break;
        }
        if (zrc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)
            break; /* truncated input */
    }
    inflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        buf_cleanup(&b);
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         zrc == Z_MEM_ERROR ? "gzip: output larger than %zu bytes"
                                            : "gzip: corrupt or truncated stream (limit %zu)",
                         max);
    }
    *out_len = b.len;
    *out = buf_take(&b);
    return ST_OK;
}
