/*
 * s3.h - fileio for Amazon S3 and S3-compatible stores ("s3://bucket/key";
 * "s3a://" and "s3n://" name the same objects, as in Hadoop).
 *
 * Every request is signed by io/sigv4.c (service "s3") and carries
 * x-amz-content-sha256. Keys are percent-encoded per segment ('/' kept).
 * Addressing is path-style (endpoint/bucket/key) or virtual-hosted
 * (bucket.host/key); a bucket name with a '.' is always addressed path-style
 * over HTTPS, since it would not match the store's TLS certificate.
 *
 * Operations: read (GET), write (PUT; create-only sends If-None-Match: *, and
 * falls back to HEAD then PUT for the rest of this fileio's life when the
 * store answers that it does not implement the header), exists (HEAD),
 * remove (DELETE; missing is fine), list (ListObjectsV2, 1,000 keys a page;
 * the prefix is a directory: "s3://b/t" lists s3://b/t/..., never s3://b/t2),
 * remove_many (DeleteObjects, 1,000 keys a request, Content-MD5) and copy
 * (server-side, x-amz-copy-source). Listed locations use the scheme of the
 * prefix.
 *
 * Retries: 5xx, 429, SlowDown, RequestTimeout and an unreachable store are
 * retried up to max_attempts times in all, with jittered backoff, signing each
 * attempt anew. A create-only write whose first attempt may have landed and
 * whose retry then finds the object compares the stored bytes with its own.
 *
 * Errors: a missing object is ST_NOT_FOUND (ET_NOT_FOUND, "File does not
 * exist: <location>"); a missing bucket, a refused request (403: wrong key,
 * bad signature, access denied) and other 4xx answers are ST_IO with a
 * message naming the bucket, the warehouse (cfg->label) and the store's Code
 * and Message; an unreachable or failing store (after the retries) is
 * ST_UNAVAILABLE (ET_SERVICE_UNAVAILABLE); a location this fileio cannot
 * serve is ST_INVALID. No message and no log line carries a secret.
 */
#ifndef SERAC_IO_S3_H
#define SERAC_IO_S3_H

#include <stdbool.h>

#include "io/fileio.h"

struct s3_config {
    const char
        *endpoint; /* "http[s]://host[:port][/path]"; NULL = https://s3.<region>.amazonaws.com */
    const char *region; /* NULL = us-east-1 */
    bool path_style;    /* endpoint/bucket/key instead of bucket.host/key */
    const char *access_key_id, *secret_access_key, *session_token; /* token may be NULL */
    long connect_timeout_ms;                                       /* 0 = httpc's default (5 s) */
    long timeout_ms;       /* per HTTP request; 0 = httpc's default (60 s) */
    unsigned max_attempts; /* per operation, first try included; 0 = 4 */
    const char *label;     /* warehouse name for messages; NULL = "s3" */
};

/*
 * fileio_s3_new returns a fileio for s3:// locations configured by cfg (the
 * caller frees it with fileio_free). Every string of cfg is copied. A bad
 * endpoint is not refused here: each operation then fails with ST_INVALID.
 */
struct fileio *fileio_s3_new(const struct s3_config *cfg);

/*
 * s3_parse_location splits an s3://, s3a:// or s3n:// location into its
 * bucket and key (both owned by the caller; the key may be empty) and, when
 * scheme_len is not NULL, the length of the scheme ("s3a" gives 3). ST_INVALID
 * (ET_BAD_REQUEST) when location is not such a URI or names no valid bucket.
 */
enum status s3_parse_location(const char *location, char **bucket, char **key, size_t *scheme_len,
                              struct error *err);

#endif
