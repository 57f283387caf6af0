/*
 * gcs.h - fileio for Google Cloud Storage ("gs://bucket/object").
 *
 * serac talks to the GCS JSON API (https://storage.googleapis.com/storage/v1,
 * /upload/storage/v1 and /batch/storage/v1), not to the XML API: the XML API
 * has no multi-object delete, and the emulator the tests use
 * (fsouza/fake-gcs-server) supports the XML API poorly. The JSON API also
 * gives create-only writes (ifGenerationMatch=0), server-side copies
 * (rewriteTo, resumed with rewriteToken) and batches of up to 100 deletes per
 * request (parts answered 429/5xx are sent again; a store without the batch
 * endpoint gets one DELETE per object). A create-only write whose answer was
 * lost and whose retry meets 412 reads the object back: the same bytes mean
 * the first try landed, and the write succeeds.
 *
 * Authentication, one of:
 *   - a service-account key (the JSON file Google hands out): serac signs a
 *     JWT with the key (RS256, OpenSSL libcrypto) and trades it at the key's
 *     token_uri for an OAuth2 access token (RFC 7523 JWT bearer grant, scope
 *     https://www.googleapis.com/auth/devstorage.read_write). The token is
 *     cached until 60 s before it expires and shared by all threads;
 *   - a fixed bearer token (e.g. one minted by the platform);
 *   - nothing, for emulators.
 *
 * Object names are percent-encoded whole ('/' too) in URL paths. Listing
 * treats its prefix as a directory: "gs://b/t" lists gs://b/t/..., never
 * gs://b/t2/x. Answers of 429 and 5xx, and an unreachable endpoint, are
 * retried with jittered backoff (httpc_backoff_ms).
 *
 * Errors: a missing object is ST_NOT_FOUND (ET_NOT_FOUND, "File does not
 * exist: <location>"); a missing bucket, 401 and 403 are ST_IO with a message
 * naming the bucket, the warehouse and Google's error message; an unreachable
 * endpoint (after the retries) is ST_UNAVAILABLE (ET_SERVICE_UNAVAILABLE).
 * No message and no log line ever carries a token or key material.
 */
#ifndef SERAC_IO_GCS_H
#define SERAC_IO_GCS_H

#include <stdint.h>

#include "core/status.h"
#include "io/fileio.h"

struct gcs_config {
    const char *endpoint;         /* NULL = https://storage.googleapis.com (no trailing path) */
    const char *credentials_json; /* service-account key JSON text, NULL = anonymous */
    const char *bearer_token;     /* fixed token, optional; not with credentials_json */
    long connect_timeout_ms;      /* 0 = httpc's default (5 s) */
    long timeout_ms;              /* per HTTP request; 0 = httpc's default (60 s) */
    unsigned max_attempts;        /* per operation, first try included; 0 = 4 */
    const char *label;            /* warehouse name for messages; NULL = "gcs" */
    unsigned list_page_size;      /* maxResults of one listing page; 0 = 1000 (GCS's maximum) */
};

/*
 * fileio_gcs_new returns in *out a fileio for gs:// locations configured by
 * cfg (the caller frees it with fileio_free). Everything needed from cfg is
 * copied. A service-account key must be a JSON object with "type":
 * "service_account", "client_email", "private_key" (a PEM RSA private key)
 * and "token_uri"; no token is fetched until the first request. Returns
 * ST_INVALID (ET_ILLEGAL_ARGUMENT) for a bad endpoint, a bad key (the message
 * says which field, never its value) or both a key and a bearer token.
 */
enum status fileio_gcs_new(const struct gcs_config *cfg, struct fileio **out, struct error *err);

/*
 * gcs_access_token returns in *token (owned by the caller) the access token
 * requests of io carry now, fetching or refreshing it if needed, and in
 * *expires_ms its expiry in milliseconds since the epoch (0 for a fixed
 * bearer token, whose expiry serac does not know). Meant for credential
 * vending. ST_INVALID when io is not a GCS fileio or is anonymous; the token
 * request's failures as ST_IO / ST_UNAVAILABLE.
 */
enum status gcs_access_token(struct fileio *io, char **token, int64_t *expires_ms,
                             struct error *err);

#endif
