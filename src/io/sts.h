/*
 * sts.h - AWS STS AssumeRole, for vending short-lived credentials scoped to
 * one table (docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
 *
 * The request is a form-encoded POST (Action=AssumeRole&Version=2011-06-15
 * ...) signed with SigV4 for service "sts". Unreachable endpoints, 5xx and
 * throttling answers are retried (3 attempts in all, jittered backoff).
 */
#ifndef SERAC_IO_STS_H
#define SERAC_IO_STS_H

#include <stdint.h>

#include "core/status.h"

struct sts_config {
    const char
        *endpoint; /* "http[s]://host[:port][/path]"; NULL = https://sts.<region>.amazonaws.com */
    const char *region; /* signing region; NULL = us-east-1 */
    const char *access_key_id, *secret_access_key,
        *session_token; /* the caller's; token may be NULL */
    long timeout_ms;    /* per HTTP request; 0 = 10 s */
};

struct sts_credentials {
    char *access_key_id, *secret_access_key, *session_token; /* owned */
    int64_t expiration_ms;                                   /* Unix epoch milliseconds */
};

/*
 * sts_assume_role assumes role_arn as session_name, narrowed by policy_json
 * (an IAM session policy; NULL for none) for duration_s seconds (0 = STS's
 * default, one hour), and fills *out (release with sts_credentials_cleanup;
 * *out is zeroed on failure). Returns ST_INVALID (ET_BAD_REQUEST) for a
 * missing role or session name; ST_IO with STS's Code and Message when STS
 * refuses (or answers something without credentials); ST_UNAVAILABLE
 * (ET_SERVICE_UNAVAILABLE) when STS cannot be reached or keeps failing.
 * Messages never carry a secret.
 */
enum status sts_assume_role(const struct sts_config *cfg, const char *role_arn,
                            const char *session_name, const char *policy_json, int duration_s,
                            struct sts_credentials *out, struct error *err);

/* sts_credentials_cleanup wipes and frees what sts_assume_role filled (safe on a zeroed struct). */
void sts_credentials_cleanup(struct sts_credentials *c);

/*
 * sts_parse_time converts an ISO-8601 UTC time ("2026-11-22T02:26:15Z", with
 * optional fraction and a "Z" or "+00:00" zone) to Unix milliseconds;
 * ST_INVALID when text is not such a time.
 */
enum status sts_parse_time(const char *text, int64_t *ms);

#endif
