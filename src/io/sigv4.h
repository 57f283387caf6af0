/*
 * sigv4.h - AWS Signature Version 4 (docs.aws.amazon.com, "Create a signed
 * AWS API request"), written for serac's own S3 and STS requests and for
 * remote signing of clients' S3 requests (POST .../tables/{t}/sign).
 *
 * The canonical request is built from the URL exactly as S3 canonicalises
 * it: the path is percent-decoded then re-encoded with only A-Za-z0-9-._~
 * left bare and '/' kept (S3 never normalises "." / ".." / "//" and never
 * double-encodes); every query parameter is decoded and re-encoded the same
 * way (with '/' encoded), sorted by name then value, and a parameter without
 * '=' is written "name=". Header names are lower-cased, values trimmed with
 * inner runs of spaces collapsed, repeated headers joined by ',' in order.
 */
#ifndef SERAC_IO_SIGV4_H
#define SERAC_IO_SIGV4_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/buf.h"
#include "core/status.h"

#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL when the keys are long-lived */
};

struct sigv4_header {
    const char *name;
    const char *value;
};

struct sigv4_input {
    const char *method; /* upper case */
    const char *url;    /* "scheme://host[:port]/path[?query]" as it goes on the wire */
    /* Headers to sign besides host (taken from url), x-amz-date, x-amz-content-sha256 and x-amz-security-token. */
    const struct sigv4_header *headers;
    size_t n_headers;
    const char *payload_hash; /* hex SHA-256 of the body, or SIGV4_UNSIGNED_PAYLOAD; NULL = empty body */
    const char *region;       /* e.g. "us-east-1" */
    const char *service;      /* "s3", "sts" */
    time_t now;               /* signing time (UTC seconds) */
};

struct sigv4_output {
    char amz_date[17];       /* "20150830T123600Z": send as x-amz-date */
    char payload_hash[65];   /* send as x-amz-content-sha256 (service "s3") */
    char *authorization;     /* owned: the Authorization header value */
    char *signed_headers;    /* owned: "host;x-amz-content-sha256;x-amz-date" */
    char *canonical_request; /* owned: for tests and debugging (never logged: it names no secret, but keep it quiet) */
    char *string_to_sign;    /* owned */
};

/*
 * sigv4_sign signs in with creds. The caller then sends the headers of in,
 * plus host, x-amz-date (out->amz_date), x-amz-content-sha256 (for s3),
 * x-amz-security-token (when creds have a session token) and Authorization.
 * ST_INVALID for a URL it cannot parse or a header it cannot sign.
 */
enum status sigv4_sign(const struct sigv4_input *in, const struct sigv4_credentials *creds,
                       struct sigv4_output *out, struct error *err);
/* sigv4_output_cleanup frees what sigv4_sign filled. */
void sigv4_output_cleanup(struct sigv4_output *out);

/*
 * sigv4_sign_multimap signs a client's request for remote signing: headers
 * is a JSON object of header name -> array of values (RemoteSignRequest's
 * MultiValuedMap). Headers that a proxy or the SDK may change in flight are
 * left out of the signature (as the Iceberg reference signer does); the
 * result *out is the MultiValuedMap to send back: the client's signed
 * headers plus Authorization, X-Amz-Date, X-Amz-Content-SHA256 and
 * X-Amz-Security-Token when there is a session token. The payload hash is
 * the client's x-amz-content-sha256 header when it sent one, else that of
 * body (NULL = empty).
 */
enum status sigv4_sign_multimap(const char *method, const char *url, const json_t *headers,
                                const char *body, const char *region, const char *service,
                                const struct sigv4_credentials *creds, time_t now, json_t **out,
                                struct error *err);

/* sigv4_uri_encode appends s[0..n) encoded as above to b ('/' kept when keep_slash). */
void sigv4_uri_encode(struct buf *b, const char *s, size_t n, bool keep_slash);
/*
 * sigv4_canonical_query returns the canonical form of a raw query (without
 * '?'; NULL or "" gives ""), owned. ST_INVALID for a malformed %-escape.
 */
enum status sigv4_canonical_query(const char *query, char **out, struct error *err);
/* sigv4_sha256_hex writes the lower-case hex SHA-256 of data to hex (65 bytes). */
void sigv4_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
