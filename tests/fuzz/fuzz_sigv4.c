/*
 * fuzz_sigv4.c - libFuzzer target for the SigV4 signer's URL, query and header handling.
 *
 * The first byte picks the service, credentials and payload; the rest is
 * "URL\nname:value\nname:value...". The query part of the input is also
 * canonicalised on its own. Checked invariants: a canonical query is made
 * only of unreserved characters, upper-case escapes, '=' and '&', and is its
 * own canonical form; a signed request re-signed from its own canonical
 * path and query gives the same canonical request; signed header names are
 * strictly sorted; the remote-signing path signs what sigv4_sign signs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 16

static const struct sigv4_credentials plain = {"AKIDEXAMPLE", "secret", NULL};
static const struct sigv4_credentials with_token = {"AKIDEXAMPLE", "secret", "token/+="};

static bool is_hex_upper(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* check_query asserts that q is in canonical form and is its own canonical form. */
static void check_query(const char *q)
{
    char *again = NULL;
    struct error err;

    for (const char *p = q; *p; p++) {
        char c = *p;

        if (c == '%') {
            if (!is_hex_upper(p[1]) || !is_hex_upper(p[2]))
                abort();
            p += 2;
        } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     strchr("-._~=&", c))) {
            abort();
        }
    }
    if (sigv4_canonical_query(q, &again, &err) != ST_OK || strcmp(again, q) != 0)
        abort();
    free(again);
}

/* line returns the n-th '\n'-separated line of s (0-based), owned, or NULL. */
static char *line(const char *s, int n)
{
    for (; n > 0; n--) {
        s = strchr(s, '\n');
        if (!s)
            return NULL;
        s++;
    }
    return xstrndup(s, strcspn(s, "\n"));
}

/* check_signed re-signs from the canonical path, query and host and expects the same request. */
static void check_signed(const struct sigv4_input *in, const struct sigv4_credentials *creds,
                         const struct sigv4_output *out)
{
    char *path = line(out->canonical_request, 1), *query = line(out->canonical_request, 2);
    char *host = NULL, *hl, *url, *sh = out->signed_headers;
    struct sigv4_input again = *in;
    struct sigv4_output out2;
    struct error err;

    if (!path || !query || path[0] != '/' || strncmp(out->authorization, "AWS4-HMAC-SHA256 ", 17))
        abort();
    check_query(query);
    hl = strstr(out->canonical_request, "\nhost:");
    if (!hl)
        abort();
    host = xstrndup(hl + 6, strcspn(hl + 6, "\n"));
    /* Signed header names are strictly ascending. */
    for (char *semi = strchr(sh, ';'); semi; sh = semi + 1, semi = strchr(sh, ';')) {
        char *next_end = strchr(semi + 1, ';');
        size_t a = (size_t)(semi - sh),
               b = next_end ? (size_t)(next_end - semi - 1) : strlen(semi + 1);
        int c = strncmp(sh, semi + 1, a < b ? a : b);

        if (c > 0 || (c == 0 && a >= b))
            abort();
    }
    url = xasprintf("%s://%s%s%s%s", strncasecmp(in->url, "https", 5) == 0 ? "https" : "http", host,
                    path, *query ? "?" : "", query);
    again.url = url;
    if (sigv4_sign(&again, creds, &out2, &err) != ST_OK)
        abort();
    if (strcmp(out2.canonical_request, out->canonical_request) != 0 ||
        strcmp(out2.authorization, out->authorization) != 0)
        abort();
    sigv4_output_cleanup(&out2);
    free(url);
    free(host);
    free(path);
    free(query);
}

/* check_multimap signs the same request through the remote-signing entry point. */
static void check_multimap(const struct sigv4_input *in, const struct sigv4_credentials *creds)
{
    json_t *h = json_object(), *res = NULL;
    struct error err;
    const char *auth;

    for (size_t i = 0; i < in->n_headers; i++) {
        json_t *vals = json_object_get(h, in->headers[i].name);

        if (!vals) {
            vals = json_array();
            json_object_set_new_nocheck(h, in->headers[i].name, vals);
        }
        json_array_append_new(vals, json_string_nocheck(in->headers[i].value));
    }
    if (sigv4_sign_multimap(in->method, in->url, h, NULL, in->region, in->service, creds, in->now,
                            &res, &err) == ST_OK) {
        auth = json_string_value(json_array_get(json_object_get(res, "Authorization"), 0));
        if (!auth || strncmp(auth, "AWS4-HMAC-SHA256 Credential=", 28) != 0)
            abort();
        json_decref(res);
    } else if (res) {
        abort();
    }
    json_decref(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const payloads[] = {NULL, SIGV4_UNSIGNED_PAYLOAD,
                                           SIGV4_STREAMING_UNSIGNED_TRAILER, SIGV4_EMPTY_SHA256};
    struct sigv4_header headers[MAX_HEADERS];
    struct sigv4_input in = {0};
    struct sigv4_output out;
    struct error err;
    const struct sigv4_credentials *creds;
    char *text, *p, *q, *canon = NULL;
    size_t n = 0;

    if (size < 1)
        return 0;
    text = xstrndup((const char *)data + 1, size - 1);
    creds = data[0] & 1 ? &with_token : &plain;
    in.method = data[0] & 2 ? "PUT" : "GET";
    in.service = data[0] & 4 ? "sts" : "s3";
    in.payload_hash = payloads[(data[0] >> 3) & 3];
    in.region = "us-east-1";
    in.now = 1440938160 + (time_t)(data[0] >> 5) * 86399;

    /* The query on its own. */
    q = strchr(text, '?');
    if (q) {
        char *qe = xstrndup(q + 1, strcspn(q + 1, "\n#"));

        if (sigv4_canonical_query(qe, &canon, &err) == ST_OK)
            check_query(canon);
        else if (canon)
            abort();
        free(canon);
        free(qe);
    }

    /* The whole request: the first line is the URL, the others headers. */
    in.url = text;
    p = strchr(text, '\n');
    if (p)
        *p++ = '\0';
    while (p && *p && n < MAX_HEADERS) {
        char *end = strchr(p, '\n'), *colon;

        if (end)
            *end = '\0';
        colon = strchr(p, ':');
        if (colon) {
            *colon = '\0';
            headers[n].name = p;
            headers[n].value = colon + 1;
            n++;
        }
        p = end ? end + 1 : NULL;
    }
    in.headers = headers;
    in.n_headers = n;
    if (sigv4_sign(&in, creds, &out, &err) == ST_OK) {
        check_signed(&in, creds, &out);
        sigv4_output_cleanup(&out);
    } else if (out.authorization || out.canonical_request || out.signed_headers) {
        abort();
    }
    check_multimap(&in, creds);
    free(text);
    return 0;
}
