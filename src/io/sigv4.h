/*
 * sigv4.h - AWS Signature Version 4 (docs.aws.amazon.com, "Create a signed
 * AWS API request"), written for serac's own S3 and STS requests and for
 * remote signing of clients' S3 requests (POST .../tables/{t}/sign).
 *
 * The canonical request is built from the URL exactly as S3 canonicalises
 * it: the path is percent-decoded then re-encoded with only A-Za-z0-9-._~
 * left bare and '/' kept (S3 never normalises "." / ".." / "//" and never
 * double-encodes); every query parameter is decoded and re-encoded the same
 * way (with '/' encoded), sorted by encoded name then encoded value, and a
 * parameter without '=' is written "name=". In the query (never the path) a
 * '+' means a space, as S3 and MinIO read it: send a literal plus as %2B.
 * Header names are lower-cased, values trimmed with inner runs of spaces and
 * tabs collapsed to one space, repeated headers joined by ',' in order, and
 * headers sorted by name alone (so "x-amz-meta-a" precedes "x-amz-meta-a-b").
 * The host is the URL's, lower-cased, without a default port (:80 for http,
 * :443 for https), as curl and botocore send it.
 *
 * The path rules are S3's and are used for every service: other services
 * (STS) would normalise and double-encode a path, so sign only "/" there.
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
/* An aws-chunked body with trailing checksums and no chunk signatures. */
#define SIGV4_STREAMING_UNSIGNED_TRAILER "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

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
    /* Headers to sign besides host (taken from url), x-amz-date, x-amz-content-sha256 and
     * x-amz-security-token. */
    const struct sigv4_header *headers;
    size_t n_headers;
    /* Lower-case hex SHA-256 of the body, SIGV4_UNSIGNED_PAYLOAD or
     * SIGV4_STREAMING_UNSIGNED_TRAILER; NULL = empty body. */
    const char *payload_hash;
    const char *region;  /* e.g. "us-east-1" */
    const char *service; /* "s3", "sts" */
    time_t now;          /* signing time (UTC seconds) */
};

struct sigv4_output {
    char amz_date[17];       /* "20150830T123600Z": send as x-amz-date */
    char payload_hash[65];   /* send as x-amz-content-sha256 (service "s3") */
    char *authorization;     /* owned: the Authorization header value */
    char *signed_headers;    /* owned: "host;x-amz-content-sha256;x-amz-date" */
    char *canonical_request; /* owned: for tests and debugging; names no secret, never logged */
    char *string_to_sign;    /* owned */
};

/*
 * sigv4_sign signs in with creds. The caller then sends the headers of in,
 * plus host, x-amz-date (out->amz_date), x-amz-content-sha256 (for s3),
 * x-amz-security-token (when creds have a session token) and Authorization.
 * On failure out holds nothing to clean up; on success the caller calls
 * sigv4_output_cleanup. ST_INVALID for a URL it cannot parse (not http(s),
 * user info, a fragment, a bad port, a malformed %-escape), a header it
 * cannot sign (a name that is not an RFC 9110 token, a value with CR or LF,
 * or one of the headers the signer writes itself: host, x-amz-date,
 * x-amz-content-sha256, x-amz-security-token, authorization), a bad method,
 * region, service, payload hash or credential, a time gmtime cannot render
 * in four-digit years, or more than 256 headers / 1 MiB of canonical text.
 */
enum status sigv4_sign(const struct sigv4_input *in, const struct sigv4_credentials *creds,
                       struct sigv4_output *out, struct error *err);
/* sigv4_output_cleanup frees what sigv4_sign filled. */
void sigv4_output_cleanup(struct sigv4_output *out);

/*
 * sigv4_sign_multimap signs a client's request for remote signing: headers
 * is a JSON object of header name -> array of values (RemoteSignRequest's
 * MultiValuedMap; NULL = none). Headers that a proxy, the HTTP stack, a
 * retry or the Java client's signature cache may change in flight (range,
 * user-agent, expect, amz-sdk-*, hop-by-hop and tracing headers) are left
 * out of the signature, as the Iceberg reference signer and the SDKs do;
 * the client's host, authorization, x-amz-date and x-amz-security-token are
 * ignored, and a name with no values is echoed but not signed (it is not
 * sent). The result *out (owned) is the MultiValuedMap to send back:
 * every header the client sent, unchanged and spelled as sent, plus Host,
 * X-Amz-Date, x-amz-content-sha256 (unless the client sent one),
 * X-Amz-Security-Token when creds have a session token, and Authorization.
 * The payload hash is the client's x-amz-content-sha256 when it sent one,
 * else STREAMING-UNSIGNED-PAYLOAD-TRAILER for an aws-chunked body with an
 * x-amz-trailer, else the SHA-256 of body (clients send one only for
 * DeleteObjects), else UNSIGNED-PAYLOAD (clients never send upload bodies).
 * sigv4.c explains the choice, with the client sources it rests on.
 * ST_INVALID for headers that are not such a map, or as sigv4_sign.
 */
enum status sigv4_sign_multimap(const char *method, const char *url, const json_t *headers,
                                const char *body, const char *region, const char *service,
                                const struct sigv4_credentials *creds, time_t now, json_t **out,
                                struct error *err);

/*
 * sigv4_uri_encode appends s[0..n) (raw bytes, not decoded) encoded as above
 * to b: A-Za-z0-9-._~ bare, '/' bare when keep_slash, all else %XX upper
 * case. Give b room (no limit): an append past b's limit is dropped.
 */
void sigv4_uri_encode(struct buf *b, const char *s, size_t n, bool keep_slash);
/*
 * sigv4_canonical_query returns the canonical form of a raw query (without
 * '?'; NULL or "" gives ""), owned. ST_INVALID for a malformed %-escape.
 */
enum status sigv4_canonical_query(const char *query, char **out, struct error *err);
/* sigv4_sha256_hex writes the lower-case hex SHA-256 of data to hex (65 bytes). */
void sigv4_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
