/*
 * test_sigv4.c - io/sigv4: AWS SigV4 against botocore's vectors, the encoders, remote signing.
 *
 * tests/unit/data/sigv4_vectors.json is written by tests/tools/gen_sigv4_vectors.py with
 * botocore; each case must come out byte for byte the same here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/sigv4.h"

#define MIN_VECTORS 25

static json_t *vectors;

/* ---- helpers -------------------------------------------------------------------------- */

/* vectors_path names the vector file ($SERAC_SIGV4_VECTORS, else beside this source). */
static char *vectors_path(void)
{
    const char *env = getenv("SERAC_SIGV4_VECTORS");
    char *src, *p;

    if (env)
        return xstrdup(env);
    src = xstrdup(__FILE__);
    p = xasprintf("%s/data/sigv4_vectors.json", dirname(src));
    free(src);
    return p;
}

static int load_vectors(void **state)
{
    char *path = vectors_path();
    json_error_t jerr;

    (void)state;
    vectors = json_load_file(path, 0, &jerr);
    if (!vectors)
        fprintf(stderr, "cannot load %s: %s (line %d)\n", path, jerr.text, jerr.line);
    free(path);
    return vectors ? 0 : -1;
}

static int free_vectors(void **state)
{
    (void)state;
    json_decref(vectors);
    return 0;
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key)); /* NULL when absent or null */
}

static void creds_of(const json_t *c, struct sigv4_credentials *creds)
{
    const json_t *j = json_object_get(c, "creds");

    creds->access_key_id = str(j, "access_key_id");
    creds->secret_access_key = str(j, "secret_access_key");
    creds->session_token = str(j, "session_token");
}

/* input_of fills in from vector c; *hs is allocated for its headers (free it). */
static void input_of(const json_t *c, struct sigv4_input *in, struct sigv4_header **hs)
{
    const json_t *headers = json_object_get(c, "headers");
    size_t n = json_array_size(headers);

    *hs = xcalloc(n ? n : 1, sizeof(**hs));
    for (size_t i = 0; i < n; i++) {
        const json_t *pair = json_array_get(headers, i);

        (*hs)[i].name = json_string_value(json_array_get(pair, 0));
        (*hs)[i].value = json_string_value(json_array_get(pair, 1));
    }
    memset(in, 0, sizeof(*in));
    in->method = str(c, "method");
    in->url = str(c, "url");
    in->headers = *hs;
    in->n_headers = n;
    in->payload_hash = str(c, "payload_hash");
    in->region = str(c, "region");
    in->service = str(c, "service");
    in->now = (time_t)json_integer_value(json_object_get(c, "time"));
}

/* first returns the only value of header name in a result multimap (exact spelling). */
static const char *first(const json_t *map, const char *name)
{
    const json_t *v = json_object_get(map, name);

    if (!v)
        return NULL;
    assert_true(json_is_array(v));
    assert_int_equal(json_array_size(v), 1);
    return json_string_value(json_array_get(v, 0));
}

/* count_ci counts the names in map that equal name ignoring case. */
static int count_ci(const json_t *map, const char *name)
{
    const char *k;
    json_t *v;
    int n = 0;

    json_object_foreach((json_t *)map, k, v)
    {
        n += strcasecmp(k, name) == 0;
    }
    return n;
}

static char *canon_query(const char *q)
{
    char *out = NULL;
    struct error err;

    assert_int_equal(sigv4_canonical_query(q, &out, &err), ST_OK);
    assert_non_null(out);
    return out;
}

static void check_query(const char *q, const char *want)
{
    char *got = canon_query(q);

    assert_string_equal(got, want);
    free(got);
}

static void check_encode(const char *s, size_t n, bool keep_slash, const char *want)
{
    struct buf b;

    buf_init(&b, 0);
    buf_puts(&b, "");
    sigv4_uri_encode(&b, s, n, keep_slash);
    assert_string_equal(b.data, want);
    buf_cleanup(&b);
}

static const struct sigv4_credentials test_creds = {"AKIDEXAMPLE", "secret", NULL};

/* sign_simple signs GET url with the given headers; returns the status, fills out. */
static enum status sign_simple(const char *url, const struct sigv4_header *h, size_t n,
                               const char *payload, struct sigv4_output *out)
{
    struct sigv4_input in = {"GET", url, h, n, payload, "us-east-1", "s3", 1440938160};
    struct error err;

    return sigv4_sign(&in, &test_creds, out, &err);
}

/* ---- botocore vectors ------------------------------------------------------------------ */

static void test_vectors(void **state)
{
    const json_t *cases = json_object_get(vectors, "cases");
    size_t i;
    json_t *c;

    (void)state;
    assert_true(json_array_size(cases) >= MIN_VECTORS);
    json_array_foreach(cases, i, c)
    {
        struct sigv4_input in;
        struct sigv4_credentials creds;
        struct sigv4_header *hs;
        struct sigv4_output out;
        struct error err;
        const char *body = str(c, "body");
        enum status rc;

        input_of(c, &in, &hs);
        creds_of(c, &creds);
        rc = sigv4_sign(&in, &creds, &out, &err);
        if (rc != ST_OK)
            fail_msg("%s: %s", str(c, "name"), err.msg);
        if (strcmp(out.canonical_request, str(c, "canonical_request")) != 0)
            fail_msg("%s: canonical request\n%s\n--- botocore:\n%s", str(c, "name"),
                     out.canonical_request, str(c, "canonical_request"));
        assert_string_equal(out.string_to_sign, str(c, "string_to_sign"));
        assert_string_equal(out.authorization, str(c, "authorization"));
        assert_string_equal(out.amz_date, str(c, "amz_date"));
        assert_non_null(strstr(out.authorization, out.signed_headers));
        if (body) {
            char hex[65];

            sigv4_sha256_hex(body, strlen(body), hex);
            assert_string_equal(hex, str(c, "payload_hash"));
        }
        assert_string_equal(out.payload_hash,
                            in.payload_hash ? in.payload_hash : SIGV4_EMPTY_SHA256);
        sigv4_output_cleanup(&out);
        free(hs);
    }
}

/* Every vector with a RemoteSignRequest shape signs the same through sigv4_sign_multimap. */
static void test_vectors_remote(void **state)
{
    const json_t *cases = json_object_get(vectors, "cases");
    size_t i, seen = 0;
    json_t *c;

    (void)state;
    json_array_foreach(cases, i, c)
    {
        const json_t *remote = json_object_get(c, "remote"), *rh;
        struct sigv4_credentials creds;
        struct error err;
        json_t *res = NULL, *v;
        const char *k;

        if (!remote)
            continue;
        seen++;
        rh = json_object_get(remote, "headers");
        creds_of(c, &creds);
        if (sigv4_sign_multimap(str(c, "method"), str(c, "url"), rh, str(remote, "body"),
                                str(c, "region"), str(c, "service"), &creds,
                                (time_t)json_integer_value(json_object_get(c, "time")), &res,
                                &err) != ST_OK)
            fail_msg("%s: %s", str(c, "name"), err.msg);
        assert_string_equal(first(res, "Authorization"), str(c, "authorization"));
        assert_string_equal(first(res, "X-Amz-Date"), str(c, "amz_date"));
        assert_int_equal(count_ci(res, "authorization"), 1);
        assert_int_equal(count_ci(res, "x-amz-date"), 1);
        assert_int_equal(count_ci(res, "host"), 1);
        assert_int_equal(count_ci(res, "x-amz-content-sha256"), 1);
        assert_int_equal(count_ci(res, "x-amz-security-token"), creds.session_token ? 1 : 0);
        if (creds.session_token)
            assert_string_equal(first(res, "X-Amz-Security-Token"), creds.session_token);
        /* The canonical request's host line is what the answer tells the client to send. */
        {
            char *line = xasprintf("\nhost:%s\n", first(res, "Host"));

            assert_non_null(strstr(str(c, "canonical_request"), line));
            free(line);
        }
        /* Every client header comes back unchanged, except those the signer replaces. */
        json_object_foreach((json_t *)rh, k, v)
        {
            if (strcasecmp(k, "host") == 0 || strcasecmp(k, "authorization") == 0) {
                assert_false(json_equal(json_object_get(res, k), v)); /* ours, not the client's */
                continue;
            }
            assert_true(json_equal(json_object_get(res, k), v));
        }
        json_decref(res);
    }
    assert_true(seen >= 4);
}

/* ---- encoders ------------------------------------------------------------------------- */

static void test_uri_encode(void **state)
{
    (void)state;
    check_encode("AZaz09-._~", 10, false, "AZaz09-._~");
    check_encode("a/b c", 5, true, "a/b%20c");
    check_encode("a/b c", 5, false, "a%2Fb%20c");
    check_encode("+%=&?#", 6, true, "%2B%25%3D%26%3F%23");
    check_encode("\xc3\xa9\xff", 3, false, "%C3%A9%FF");
    check_encode("a\0b", 3, false, "a%00b"); /* bytes, not a C string */
    check_encode("abc", 0, false, "");
}

static void test_canonical_query(void **state)
{
    char *out = NULL;
    struct error err;
    static const char *const bad[] = {"%", "a=%", "a=%4", "a=%4g", "%zz=1", "a=1&b=%%41", "a=%G1"};

    (void)state;
    check_query(NULL, "");
    check_query("", "");
    check_query("uploads", "uploads=");
    check_query("delete&", "delete=");
    check_query("b=2&a=1&&c", "a=1&b=2&c=");
    check_query("prefix=db/t1/&delimiter=/", "delimiter=%2F&prefix=db%2Ft1%2F");
    check_query("p=a+b%20c%2Bd", "p=a%20b%20c%2Bd");
    check_query("p=%7e~%41", "p=~~A");
    check_query("t=b&t=a&t=", "t=&t=a&t=b");
    check_query("a=b=c", "a=b%3Dc");
    check_query("%C3%A9=%c3%a9", "%C3%A9=%C3%A9");
    /* Sorted on the encoded names: '%' (0x25) sorts before letters, so "%2B" < "a". */
    check_query("a=1&%2B=2", "%2B=2&a=1");
    /* Prefix names sort shorter first, then by value. */
    check_query("ab=1&a=2&a-b=3", "a=2&a-b=3&ab=1");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        out = (char *)1;
        assert_int_equal(sigv4_canonical_query(bad[i], &out, &err), ST_INVALID);
        assert_null(out);
        assert_int_equal(err.status, ST_INVALID);
    }
}

static void test_sha256(void **state)
{
    char hex[65];

    (void)state;
    sigv4_sha256_hex("", 0, hex);
    assert_string_equal(hex, SIGV4_EMPTY_SHA256);
    sigv4_sha256_hex("abc", 3, hex); /* FIPS 180-2, appendix B.1 */
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* ---- sigv4_sign ----------------------------------------------------------------------- */

static void test_sign_rejects(void **state)
{
    static const char *const bad_urls[] = {
        "ftp://h/x",
        "h/x",
        "https://",
        "https:///x",
        "https://u@h/x",
        "https://h/x#f",
        "https://h:/x",
        "https://h:99999x/",
        "https://h/a%zz",
        "https://h/a%",
        "https://h/?a=%1",
        "https://[::1/x",
        "https://h o/x",
        "https://h:123456/",
        "http://:80/x",
        "https://:9000/",
        "https://[]:80/",
        "https://[::1]x/",
        "https://[::1]x:9000/",
    };
    static const struct {
        const char *name, *value;
    } bad_headers[] = {
        {"", "x"},
        {"bad name", "x"},
        {"x:y", "v"},
        {"x-amz-meta-a", "a\r\nInjected: 1"},
        {"x-a", "a\nb"},
        {"Host", "other"},
        {"X-Amz-Date", "20150830T123600Z"},
        {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
        {"X-Amz-Security-Token", "t"},
        {"authorization", "x"},
    };
    static const char *const bad_payloads[] = {
        "", "unsigned-payload", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "abc", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"};
    struct sigv4_output out;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        if (sign_simple(bad_urls[i], NULL, 0, NULL, &out) != ST_INVALID)
            fail_msg("accepted URL %s", bad_urls[i]);
        assert_null(out.authorization);
        assert_null(out.canonical_request);
    }
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
        struct sigv4_header h = {bad_headers[i].name, bad_headers[i].value};

        if (sign_simple("https://h/x", &h, 1, NULL, &out) != ST_INVALID)
            fail_msg("accepted header %s", bad_headers[i].name);
        assert_null(out.authorization);
    }
    for (size_t i = 0; i < sizeof(bad_payloads) / sizeof(bad_payloads[0]); i++)
        assert_int_equal(sign_simple("https://h/x", NULL, 0, bad_payloads[i], &out), ST_INVALID);
    {
        /* Caps: a URL past 64 KiB, more than 256 headers. */
        size_t big = 70 * 1024;
        char *url = xmalloc(big + 1);
        struct sigv4_header many[300];

        memset(url, 'a', big);
        memcpy(url, "https://h/", 10);
        url[big] = '\0';
        assert_int_equal(sign_simple(url, NULL, 0, NULL, &out), ST_INVALID);
        {
            char *q = NULL;
            struct error err;

            assert_int_equal(sigv4_canonical_query(url + 10, &q, &err), ST_INVALID);
            assert_null(q);
        }
        url[1000] = '\0';
        assert_int_equal(sign_simple(url, NULL, 0, NULL, &out), ST_OK);
        sigv4_output_cleanup(&out);
        free(url);
        for (size_t i = 0; i < 300; i++)
            many[i] = (struct sigv4_header){"x-amz-meta-m", "v"};
        assert_int_equal(sign_simple("https://h/x", many, 300, NULL, &out), ST_INVALID);
        assert_int_equal(sign_simple("https://h/x", many, 200, NULL, &out), ST_OK);
        sigv4_output_cleanup(&out);
    }
    {
        struct sigv4_input in = {"GET", "https://h/x", NULL, 0, NULL, "us-east-1", "s3", 0};
        struct sigv4_credentials no_key = {"", "s", NULL}, slash_key = {"a/b", "s", NULL};
        struct error err;

        assert_int_equal(sigv4_sign(&in, &no_key, &out, &err), ST_INVALID);
        assert_int_equal(sigv4_sign(&in, &slash_key, &out, &err), ST_INVALID);
        in.region = "us/east";
        assert_int_equal(sigv4_sign(&in, &test_creds, &out, &err), ST_INVALID);
        in.region = "us-east-1";
        in.method = "GE T";
        assert_int_equal(sigv4_sign(&in, &test_creds, &out, &err), ST_INVALID);
        in.method = "GET";
        in.now = (time_t)253402300800; /* 10000-01-01: no four-digit year */
        assert_int_equal(sigv4_sign(&in, &test_creds, &out, &err), ST_INVALID);
        in.now = (time_t)253402300799;
        assert_int_equal(sigv4_sign(&in, &test_creds, &out, &err), ST_OK);
        assert_string_equal(out.amz_date, "99991231T235959Z");
        sigv4_output_cleanup(&out);
    }
}

/* What the caller gives is what gets signed: a URL spelled another way signs the same. */
static void test_sign_equivalent_urls(void **state)
{
    static const char *const same[] = {
        "https://H.example:443/bkt/a%20b?prefix=x%2Fy&list-type=2",
        "https://h.example/bkt/a b?list-type=2&prefix=x/y",
        "HTTPS://h.example/bkt/a%20b?list-type=2&prefix=x%2fy",
        "https://h.example/bkt/a%20b?prefix=x/y&list-type=%32&",
    };
    struct sigv4_output ref, out;

    (void)state;
    assert_int_equal(sign_simple(same[0], NULL, 0, NULL, &ref), ST_OK);
    for (size_t i = 1; i < sizeof(same) / sizeof(same[0]); i++) {
        assert_int_equal(sign_simple(same[i], NULL, 0, NULL, &out), ST_OK);
        assert_string_equal(out.canonical_request, ref.canonical_request);
        assert_string_equal(out.authorization, ref.authorization);
        sigv4_output_cleanup(&out);
    }
    /* A different key, port, payload or time signs differently. */
    assert_int_equal(
        sign_simple("https://h.example/bkt/a+b?list-type=2&prefix=x/y", NULL, 0, NULL, &out),
        ST_OK);
    assert_string_not_equal(out.authorization, ref.authorization);
    sigv4_output_cleanup(&out);
    assert_int_equal(
        sign_simple("https://h.example:8443/bkt/a%20b?list-type=2&prefix=x/y", NULL, 0, NULL, &out),
        ST_OK);
    assert_non_null(strstr(out.canonical_request, "\nhost:h.example:8443\n"));
    sigv4_output_cleanup(&out);
    assert_int_equal(sign_simple(same[1], NULL, 0, SIGV4_UNSIGNED_PAYLOAD, &out), ST_OK);
    assert_string_not_equal(out.authorization, ref.authorization);
    assert_string_equal(out.payload_hash, SIGV4_UNSIGNED_PAYLOAD);
    sigv4_output_cleanup(&out);
    sigv4_output_cleanup(&ref);
}

static void test_sign_session_token_and_sts(void **state)
{
    struct sigv4_credentials tok = {"AKID", "secret", "tok+/="};
    struct sigv4_header ct = {"Content-Type", "application/x-www-form-urlencoded"};
    struct sigv4_input in = {
        "POST", "https://sts.amazonaws.com/", &ct, 1, NULL, "us-east-1", "sts", 1440938160};
    struct sigv4_output out;
    struct error err;

    (void)state;
    assert_int_equal(sigv4_sign(&in, &tok, &out, &err), ST_OK);
    assert_string_equal(out.signed_headers, "content-type;host;x-amz-date;x-amz-security-token");
    assert_non_null(strstr(out.canonical_request, "\nx-amz-security-token:tok+/=\n"));
    assert_string_equal(out.amz_date, "20150830T123600Z");
    assert_non_null(strstr(out.string_to_sign, "\n20150830/us-east-1/sts/aws4_request\n"));
    assert_int_equal(
        strncmp(out.authorization,
                "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sts/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
                "Signature=",
                strlen("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sts/"
                       "aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                       "x-amz-security-token, Signature=")),
        0);
    sigv4_output_cleanup(&out);
    sigv4_output_cleanup(&out); /* twice is harmless */
}

/* ---- sigv4_sign_multimap ---------------------------------------------------------------- */

/* multimap_sign signs a GET of url with the JSON header map; returns the Authorization. */
static char *multimap_sign(const char *headers_json, const char *body, json_t **res_out)
{
    json_t *h = json_loads(headers_json, 0, NULL), *res = NULL;
    struct error err;
    char *auth;

    assert_non_null(h);
    if (sigv4_sign_multimap("GET", "https://bkt.s3.amazonaws.com/k?x-id=GetObject", h, body,
                            "us-east-1", "s3", &test_creds, 1440938160, &res, &err) != ST_OK)
        fail_msg("%s", err.msg);
    auth = xstrdup(first(res, "Authorization"));
    if (res_out)
        *res_out = res;
    else
        json_decref(res);
    json_decref(h);
    return auth;
}

static void test_multimap_matches_sign(void **state)
{
    static const struct sigv4_header signed_h[] = {
        {"Content-Type", "application/json"},
        {"x-amz-meta-a", "1"},
        {"x-amz-meta-a", "2"},
    };
    struct sigv4_input in = {"GET",
                             "https://bkt.s3.amazonaws.com/k?x-id=GetObject",
                             signed_h,
                             3,
                             SIGV4_UNSIGNED_PAYLOAD,
                             "us-east-1",
                             "s3",
                             1440938160};
    struct sigv4_output out;
    struct error err;
    json_t *res;
    char *a, *b;

    (void)state;
    assert_int_equal(sigv4_sign(&in, &test_creds, &out, &err), ST_OK);
    a = multimap_sign("{\"Content-Type\":[\"application/json\"],\"x-amz-meta-a\":[\"1\",\"2\"],"
                      "\"Range\":[\"bytes=0-9\"],\"User-Agent\":[\"sdk/1\"],"
                      "\"amz-sdk-invocation-id\":[\"i1\"],\"amz-sdk-request\":[\"attempt=1\"],"
                      "\"amz-sdk-retry\":[\"0/0/500\"],\"Expect\":[\"100-continue\"],"
                      "\"Connection\":[\"keep-alive\"],\"X-Amzn-Trace-Id\":[\"Root=1\"],"
                      "\"Transfer-Encoding\":[\"chunked\"],\"traceparent\":[\"00-1-2-01\"],"
                      "\"Accept-Encoding\":[\"gzip\"],"
                      "\"X-Amz-Date\":[\"19990101T000000Z\"]}",
                      NULL, &res);
    assert_string_equal(a, out.authorization);
    assert_string_equal(first(res, "x-amz-content-sha256"), SIGV4_UNSIGNED_PAYLOAD);
    assert_string_equal(first(res, "X-Amz-Date"), "20150830T123600Z");
    assert_null(json_object_get(res, "x-amz-date")); /* the client's stale date is dropped */
    assert_string_equal(first(res, "Range"), "bytes=0-9");
    assert_string_equal(first(res, "Host"), "bkt.s3.amazonaws.com");
    assert_int_equal(json_array_size(json_object_get(res, "x-amz-meta-a")), 2);
    json_decref(res);

    /* Unsigned headers can change (a cached answer reused for another range, a retry). */
    b = multimap_sign("{\"Content-Type\":[\"application/json\"],\"x-amz-meta-a\":[\"1\",\"2\"],"
                      "\"Range\":[\"bytes=10-19\"],\"amz-sdk-request\":[\"attempt=2\"]}",
                      NULL, NULL);
    assert_string_equal(a, b);
    free(b);
    /* Signed ones cannot: their value, their order, an extra x-amz header, the body. */
    b = multimap_sign("{\"Content-Type\":[\"text/plain\"],\"x-amz-meta-a\":[\"1\",\"2\"]}", NULL,
                      NULL);
    assert_string_not_equal(a, b);
    free(b);
    b = multimap_sign("{\"Content-Type\":[\"application/json\"],\"x-amz-meta-a\":[\"2\",\"1\"]}",
                      NULL, NULL);
    assert_string_not_equal(a, b);
    free(b);
    b = multimap_sign("{\"Content-Type\":[\"application/json\"],\"x-amz-meta-a\":[\"1\",\"2\"],"
                      "\"x-amz-request-payer\":[\"requester\"]}",
                      NULL, NULL);
    assert_string_not_equal(a, b);
    free(b);
    b = multimap_sign("{\"Content-Type\":[\"application/json\"],\"x-amz-meta-a\":[\"1\",\"2\"]}",
                      "<Delete/>", &res);
    assert_string_not_equal(a, b);
    {
        char hex[65];

        sigv4_sha256_hex("<Delete/>", 9, hex);
        assert_string_equal(first(res, "x-amz-content-sha256"), hex);
    }
    json_decref(res);
    free(b);
    free(a);
    sigv4_output_cleanup(&out);
}

static void test_multimap_rejects(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"a\":1}",
        "{\"a\":[1]}",
        "{\"a\":[\"x\",null]}",
        "{\"bad name\":[\"x\"]}",
        "{\"x-a\":[\"a\\r\\nb: c\"]}",
        "{\"x-amz-content-sha256\":[\"STREAMING-AWS4-HMAC-SHA256-PAYLOAD\"]}",
    };
    json_t *res;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *h = json_loads(bad[i], 0, NULL);

        assert_non_null(h);
        res = (json_t *)1;
        if (sigv4_sign_multimap("GET", "https://h/k", h, NULL, "us-east-1", "s3", &test_creds, 0,
                                &res, &err) != ST_INVALID)
            fail_msg("accepted %s", bad[i]);
        assert_null(res);
        json_decref(h);
    }
    /* No headers at all is fine; a lone string is taken as one value. */
    assert_int_equal(sigv4_sign_multimap("GET", "https://h/k", NULL, NULL, "us-east-1", "s3",
                                         &test_creds, 0, &res, &err),
                     ST_OK);
    assert_string_equal(first(res, "Host"), "h");
    json_decref(res);
    {
        json_t *h = json_pack("{s:s,s:[]}", "x-amz-meta-a", "1", "x-amz-meta-none");

        assert_int_equal(sigv4_sign_multimap("GET", "https://h/k", h, NULL, "us-east-1", "s3",
                                             &test_creds, 0, &res, &err),
                         ST_OK);
        assert_string_equal(first(res, "x-amz-meta-a"), "1");
        assert_int_equal(json_array_size(json_object_get(res, "x-amz-meta-none")), 0);
        assert_non_null(strstr(first(res, "Authorization"), "SignedHeaders=host;"
                                                            "x-amz-content-sha256;x-amz-date;"
                                                            "x-amz-meta-a,"));
        json_decref(res);
        json_decref(h);
    }
    assert_int_equal(sigv4_sign_multimap("GET", "ftp://h/k", NULL, NULL, "us-east-1", "s3",
                                         &test_creds, 0, &res, &err),
                     ST_INVALID);
    assert_null(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_vectors_remote),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_sign_rejects),
        cmocka_unit_test(test_sign_equivalent_urls),
        cmocka_unit_test(test_sign_session_token_and_sts),
        cmocka_unit_test(test_multimap_matches_sign),
        cmocka_unit_test(test_multimap_rejects),
    };

    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
