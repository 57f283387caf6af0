/*
 * test_s3.c - the S3 fileio.
 *
 * Two groups. The first runs against an in-process fake S3 (libmicrohttpd)
 * that answers from a script, for what a real store will not do on demand:
 * If-None-Match refused as not implemented, 5xx storms, a create-only retry
 * that finds its own earlier write, per-key DeleteObjects errors, batching.
 *
 * The second runs against the moto server named by SERAC_TEST_S3_ENDPOINT
 * (scripts/moto-server.sh). moto checks no signature by default, so the
 * group creates an IAM user with an allow-all policy, then turns moto's
 * authentication on (POST /moto-api/reset-auth "0") and uses that user's
 * keys: every request of the suite is then verified by botocore's S3 signer
 * on the server side. The group turns authentication off again at the end;
 * tests that share one moto server must not run in parallel with this one.
 *
 * Without SERAC_TEST_S3_ENDPOINT the fake group runs and the program exits
 * 77 (skipped) when it passed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/ids.h"
#include "io/fileio.h"
#include "io/httpc.h"
#include "io/s3.h"
#include "io/sigv4.h"

/* ================= the fake store ================= */

#define FAKE_MAX_REQUESTS 64
#define FAKE_MAX_REPLIES 16

struct fake_request {
    char method[16];
    char url[512];
    char if_none_match[16];
    char content_md5[64];
    char copy_source[256];
    bool signed_;
    struct buf body;
};

struct fake_reply {
    unsigned status;
    const char *body;
};

/* The fake's script and record (guarded by fake_lock). */
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_request fake_reqs[FAKE_MAX_REQUESTS];
static size_t fake_n;
static struct fake_reply fake_script[FAKE_MAX_REPLIES];
static size_t fake_script_n, fake_script_pos;
static struct MHD_Daemon *fake_daemon;
static char *fake_url;

static void fake_reset(void)
{
    pthread_mutex_lock(&fake_lock);
    for (size_t i = 0; i < fake_n; i++)
        buf_cleanup(&fake_reqs[i].body);
    memset(fake_reqs, 0, sizeof(fake_reqs));
    fake_n = fake_script_n = fake_script_pos = 0;
    pthread_mutex_unlock(&fake_lock);
}

/* fake_push queues the answer to the next request that has none yet (default: 200, empty). */
static void fake_push(unsigned status, const char *body)
{
    pthread_mutex_lock(&fake_lock);
    assert_true(fake_script_n < FAKE_MAX_REPLIES);
    fake_script[fake_script_n++] = (struct fake_reply){status, body};
    pthread_mutex_unlock(&fake_lock);
}

static void copy_header(struct MHD_Connection *conn, const char *name, char *out, size_t n)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

    snprintf(out, n, "%s", v ? v : "");
}

static enum MHD_Result fake_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct fake_request *r = *con_cls;
    struct fake_reply reply = {200, ""};
    struct MHD_Response *resp;
    enum MHD_Result ret;

    (void)cls;
    (void)version;
    if (!r) {
        pthread_mutex_lock(&fake_lock);
        assert_true(fake_n < FAKE_MAX_REQUESTS);
        r = &fake_reqs[fake_n++];
        pthread_mutex_unlock(&fake_lock);
        snprintf(r->method, sizeof(r->method), "%s", method);
        snprintf(r->url, sizeof(r->url), "%s", url);
        copy_header(conn, "If-None-Match", r->if_none_match, sizeof(r->if_none_match));
        copy_header(conn, "Content-MD5", r->content_md5, sizeof(r->content_md5));
        copy_header(conn, "x-amz-copy-source", r->copy_source, sizeof(r->copy_source));
        r->signed_ = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization") &&
                     MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-amz-date") &&
                     MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-amz-content-sha256");
        buf_init(&r->body, 0);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        buf_append(&r->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&fake_lock);
    if (fake_script_pos < fake_script_n)
        reply = fake_script[fake_script_pos++];
    pthread_mutex_unlock(&fake_lock);
    resp = MHD_create_response_from_buffer(strlen(reply.body), (void *)reply.body,
                                           MHD_RESPMEM_MUST_COPY);
    ret = MHD_queue_response(conn, reply.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static struct fileio *fake_io(unsigned attempts)
{
    struct s3_config cfg = {
        .endpoint = fake_url,
        .path_style = true,
        .access_key_id = "AKIDFAKE",
        .secret_access_key = "fake-secret",
        .max_attempts = attempts,
        .timeout_ms = 5000,
        .label = "fakewh",
    };

    return fileio_s3_new(&cfg);
}

static int fake_setup(void **state)
{
    (void)state;
    httpc_global_init();
    fake_daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                                   NULL, fake_on_request, NULL, MHD_OPTION_END);
    if (!fake_daemon)
        return -1;
    fake_url = xasprintf("http://127.0.0.1:%u",
                         MHD_get_daemon_info(fake_daemon, MHD_DAEMON_INFO_BIND_PORT)->port);
    return 0;
}

static int fake_teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(fake_daemon);
    fake_reset();
    free(fake_url);
    return 0;
}

static const char not_implemented_xml[] =
    "<?xml version=\"1.0\"?><Error><Code>NotImplemented</Code><Message>A header you provided "
    "implies functionality that is not implemented</Message></Error>";

static void test_fake_conditional_fallback(void **state)
{
    struct fileio *io = fake_io(1);
    struct error err;

    (void)state;
    fake_reset();
    fake_push(501, not_implemented_xml); /* PUT with If-None-Match */
    fake_push(404, "");                  /* HEAD */
    fake_push(200, "");                  /* PUT */
    assert_int_equal(fileio_write(io, "s3://bk/a/b.json", "{}", 2, true, &err), ST_OK);
    assert_int_equal(fake_n, 3);
    assert_string_equal(fake_reqs[0].method, "PUT");
    assert_string_equal(fake_reqs[0].if_none_match, "*");
    assert_string_equal(fake_reqs[1].method, "HEAD");
    assert_string_equal(fake_reqs[2].method, "PUT");
    assert_string_equal(fake_reqs[2].if_none_match, "");
    assert_string_equal(fake_reqs[2].url, "/bk/a/b.json");
    assert_int_equal(fake_reqs[2].body.len, 2);

    /* Remembered: the next create-only write checks first and never sends the header. */
    fake_reset();
    fake_push(200, ""); /* HEAD: it exists */
    assert_int_equal(fileio_write(io, "s3://bk/a/b.json", "{}", 2, true, &err), ST_EXISTS);
    assert_int_equal(err.type, ET_ALREADY_EXISTS);
    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "HEAD");
    fileio_free(io);
}

static void test_fake_retries(void **state)
{
    static const char slow_down[] =
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    struct fileio *io = fake_io(3);
    size_t len;
    char *data;
    struct error err;

    (void)state;
    fake_reset();
    fake_push(503, slow_down);
    fake_push(500, "<Error><Code>InternalError</Code><Message>oops</Message></Error>");
    fake_push(200, "third time");
    assert_int_equal(fileio_read(io, "s3://bk/k", 100, &data, &len, &err), ST_OK);
    assert_string_equal(data, "third time");
    free(data);
    assert_int_equal(fake_n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(fake_reqs[i].signed_);

    /* Out of attempts: the store is unavailable, and the message says what it answered. */
    fake_reset();
    for (int i = 0; i < 3; i++)
        fake_push(503, slow_down);
    assert_int_equal(fileio_read(io, "s3://bk/k", 100, &data, &len, &err), ST_UNAVAILABLE);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "SlowDown"));
    assert_non_null(strstr(err.msg, "fakewh"));
    assert_int_equal(fake_n, 3);

    /* A 400 RequestTimeout is retried; a plain 400 is not. */
    fake_reset();
    fake_push(400, "<Error><Code>RequestTimeout</Code><Message>idle</Message></Error>");
    fake_push(200, "");
    assert_int_equal(fileio_write(io, "s3://bk/k", "x", 1, false, &err), ST_OK);
    assert_int_equal(fake_n, 2);
    fake_reset();
    fake_push(400, "<Error><Code>InvalidArgument</Code><Message>no</Message></Error>");
    assert_int_equal(fileio_write(io, "s3://bk/k", "x", 1, false, &err), ST_IO);
    assert_non_null(strstr(err.msg, "InvalidArgument"));
    assert_int_equal(fake_n, 1);
    fileio_free(io);
}

static void test_fake_create_only_retry_finds_itself(void **state)
{
    struct fileio *io = fake_io(3);
    struct error err;

    (void)state;
    /* The first PUT may have landed (500); the retry is refused; the object holds our bytes. */
    fake_reset();
    fake_push(500, "");
    fake_push(412, "<Error><Code>PreconditionFailed</Code></Error>");
    fake_push(200, "mine");
    assert_int_equal(fileio_write(io, "s3://bk/m.json", "mine", 4, true, &err), ST_OK);
    assert_int_equal(fake_n, 3);
    assert_string_equal(fake_reqs[2].method, "GET");

    /* Someone else's bytes: the object exists. */
    fake_reset();
    fake_push(500, "");
    fake_push(412, "<Error><Code>PreconditionFailed</Code></Error>");
    fake_push(200, "theirs");
    assert_int_equal(fileio_write(io, "s3://bk/m.json", "mine", 4, true, &err), ST_EXISTS);

    /* Without an earlier doubtful attempt a 412 is simply "exists": no read. */
    fake_reset();
    fake_push(412, "<Error><Code>PreconditionFailed</Code></Error>");
    assert_int_equal(fileio_write(io, "s3://bk/m.json", "mine", 4, true, &err), ST_EXISTS);
    assert_int_equal(fake_n, 1);
    fileio_free(io);
}

/* md5_b64 writes the base64 MD5 of data to out. */
static void md5_b64(const void *data, size_t len, char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n;

    assert_true(EVP_Digest(data, len, md, &n, EVP_md5(), NULL));
    EVP_EncodeBlock((unsigned char *)out, md, (int)n);
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_fake_delete_batches(void **state)
{
    static const char errors[] =
        "<DeleteResult><Error><Key>k/gone</Key><Code>NoSuchKey</Code><Message>x</Message></Error>"
        "<Error><Key>k/a&amp;b</Key><Code>AccessDenied</Code><Message>Access Denied</Message>"
        "</Error></DeleteResult>";
    size_t n = 2500;
    char **locs = xcalloc(n, sizeof(*locs)), md5[32];
    struct fileio *io = fake_io(1);
    struct error err;

    (void)state;
    for (size_t i = 0; i < n; i++)
        locs[i] = xasprintf("s3a://bk/k/%zu<&>", i);
    fake_reset();
    assert_int_equal(fileio_remove_many(io, (const char *const *)locs, n, &err), ST_OK);
    assert_int_equal(fake_n, 3);
    for (size_t i = 0; i < 3; i++) {
        struct fake_request *r = &fake_reqs[i];

        assert_string_equal(r->method, "POST");
        assert_string_equal(r->url, "/bk");
        assert_true(r->signed_);
        md5_b64(r->body.data, r->body.len, md5);
        assert_string_equal(r->content_md5, md5);
        assert_int_equal(count_of(r->body.data, "<Key>"), i < 2 ? 1000 : 500);
        assert_non_null(strstr(r->body.data, "<Quiet>true</Quiet>"));
    }
    /* Keys are XML-escaped. */
    assert_non_null(strstr(fake_reqs[0].body.data, "<Key>k/0&lt;&amp;&gt;</Key>"));

    /* Per-key errors: a missing key is fine, a refused one is reported. */
    fake_reset();
    fake_push(200, errors);
    assert_int_equal(fileio_remove_many(io, (const char *const *)locs, 3, &err), ST_IO);
    assert_non_null(strstr(err.msg, "s3a://bk/k/a&b"));
    assert_non_null(strstr(err.msg, "AccessDenied"));
    assert_non_null(strstr(err.msg, "1 object"));
    assert_non_null(strstr(err.msg, "fakewh"));

    /* A bad location anywhere refuses the whole batch before anything is deleted. */
    fake_reset();
    free(locs[7]);
    locs[7] = xstrdup("gs://elsewhere/x");
    assert_int_equal(fileio_remove_many(io, (const char *const *)locs, n, &err), ST_INVALID);
    assert_int_equal(fake_n, 0);
    for (size_t i = 0; i < n; i++)
        free(locs[i]);
    free(locs);
    fileio_free(io);
}

static void test_fake_copy_and_list_answers(void **state)
{
    struct fileio *io = fake_io(1);
    struct error err;

    (void)state;
    fake_reset();
    fake_push(200, "<CopyObjectResult><ETag>\"x\"</ETag></CopyObjectResult>");
    assert_int_equal(fileio_copy(io, "s3://src/a b/c+d/é", "s3://dst/t", &err), ST_OK);
    assert_string_equal(fake_reqs[0].method, "PUT");
    assert_string_equal(fake_reqs[0].url, "/dst/t");
    assert_string_equal(fake_reqs[0].copy_source, "/src/a%20b/c%2Bd/%C3%A9");

    /* CopyObject may fail after its 200 status line: the body tells. */
    fake_reset();
    fake_push(200, "<Error><Code>AccessDenied</Code><Message>Denied</Message></Error>");
    assert_int_equal(fileio_copy(io, "s3://src/a", "s3://dst/t", &err), ST_IO);
    assert_non_null(strstr(err.msg, "AccessDenied"));

    fake_reset();
    fake_push(200, "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>");
    assert_int_equal(fileio_list(io, "s3://bk/t", NULL, NULL, &err), ST_IO);
    assert_non_null(strstr(err.msg, "continuation"));
    fileio_free(io);
}

static void test_fake_bad_locations(void **state)
{
    struct fileio *io = fake_io(1);
    struct s3_config bad = {.endpoint = "ftp://example.com", .label = "badwh"};
    struct fileio *bad_io = fileio_s3_new(&bad);
    char *b, *k, *data;
    size_t len, slen;
    struct error err;

    (void)state;
    fake_reset();
    assert_int_equal(fileio_read(io, "file:///etc/passwd", 10, &data, &len, &err), ST_INVALID);
    assert_int_equal(fileio_read(io, "s3://bk", 10, &data, &len, &err), ST_INVALID);
    assert_int_equal(fileio_read(io, "s3://bk/", 10, &data, &len, &err), ST_INVALID);
    assert_int_equal(fileio_read(io, "s3:///key", 10, &data, &len, &err), ST_INVALID);
    assert_int_equal(fileio_read(io, "s3://b@evil.com/key", 10, &data, &len, &err), ST_INVALID);
    assert_int_equal(fileio_write(io, "s3://bk:80/key", "", 0, false, &err), ST_INVALID);
    assert_int_equal(fake_n, 0);
    assert_int_equal(fileio_read(bad_io, "s3://bk/k", 10, &data, &len, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "badwh"));

    assert_int_equal(s3_parse_location("s3n://my.bucket/a//b/", &b, &k, &slen, &err), ST_OK);
    assert_string_equal(b, "my.bucket");
    assert_string_equal(k, "a//b/");
    assert_int_equal(slen, 3);
    free(b);
    free(k);
    fileio_free(bad_io);
    fileio_free(io);
}

/* ================= moto ================= */

struct creds {
    char *akid, *secret;
};

static const char *endpoint; /* SERAC_TEST_S3_ENDPOINT */
static char *bucket;         /* this run's bucket */
static char run[16];         /* this run's random tag */
static struct creds iam;     /* the IAM user's keys */
static struct fileio *io;    /* path-style, IAM keys, label "wh-test" */

/*
 * moto_call sends one signed request (service "s3", "iam" or "sts") with an
 * optional form body and returns its answer.
 */
static enum status moto_call(const char *method, const char *url, const char *service,
                             const struct creds *c, const char *form, struct httpc_response *resp)
{
    /* A form for IAM and STS; for S3 a document (a bucket policy) sent without a type. */
    bool is_form = form && strcmp(service, "s3") != 0;
    const struct sigv4_header ct[] = {{"Content-Type", "application/x-www-form-urlencoded"}};
    struct sigv4_credentials sc = {c->akid, c->secret, NULL};
    struct sigv4_input in = {.method = method,
                             .url = url,
                             .headers = is_form ? ct : NULL,
                             .n_headers = is_form ? 1 : 0,
                             .region = "us-east-1",
                             .service = service,
                             .now = time(NULL)};
    struct sigv4_output out = {0};
    char hash[65];
    struct httpc_header h[4];
    struct httpc_request req = {.method = method, .url = url, .headers = h, .n_headers = 4};
    struct error err;
    enum status rc;

    sigv4_sha256_hex(form ? form : "", form ? strlen(form) : 0, hash);
    in.payload_hash = hash;
    assert_int_equal(sigv4_sign(&in, &sc, &out, &err), ST_OK);
    h[0] = (struct httpc_header){"x-amz-date", out.amz_date};
    h[1] = (struct httpc_header){"x-amz-content-sha256", out.payload_hash};
    h[2] = (struct httpc_header){"Authorization", out.authorization};
    h[3] = (struct httpc_header){"Content-Type", "application/x-www-form-urlencoded"};
    if (!is_form)
        req.n_headers = 3;
    req.body = form;
    req.body_len = form ? strlen(form) : 0;
    rc = httpc_do(&req, resp, &err);
    sigv4_output_cleanup(&out);
    return rc;
}

/* moto_auth turns moto's request authentication on or off (for the whole server). */
static void moto_auth(bool on)
{
    char *url = xasprintf("%s/moto-api/reset-auth", endpoint);
    const char *body = on ? "0" : "inf";
    struct httpc_request req = {
        .method = "POST", .url = url, .body = body, .body_len = strlen(body)};
    struct httpc_response resp;
    struct error err;

    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    assert_int_equal(resp.status, 200);
    httpc_response_cleanup(&resp);
    free(url);
}

/* iam_action runs one IAM query action (form already encoded after "Action=...") as anyone. */
static char *iam_action(const char *form)
{
    struct creds anyone = {"AKIDANYONE", "anything"};
    char *url = xasprintf("%s/", endpoint), *body = xasprintf("%s&Version=2010-05-08", form);
    struct httpc_response resp;
    char *out;

    assert_int_equal(moto_call("POST", url, "iam", &anyone, body, &resp), ST_OK);
    if (resp.status != 200)
        fail_msg("IAM %s: %ld %s", form, resp.status, resp.body);
    out = resp.body;
    resp.body = NULL;
    httpc_response_cleanup(&resp);
    free(url);
    free(body);
    return out;
}

/* make_iam_user creates a user allowed everything and returns its keys. */
static void make_iam_user(const char *name, struct creds *out)
{
    static const char policy[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
        "\"Resource\":\"*\"}]}";
    struct buf form;
    char *xml;

    free(iam_action((xml = xasprintf("Action=CreateUser&UserName=%s", name))));
    free(xml);
    buf_init(&form, 0);
    buf_printf(&form, "Action=PutUserPolicy&UserName=%s&PolicyName=all&PolicyDocument=", name);
    sigv4_uri_encode(&form, policy, strlen(policy), false);
    free(iam_action(form.data));
    buf_cleanup(&form);
    xml = xasprintf("Action=CreateAccessKey&UserName=%s", name);
    {
        char *answer = iam_action(xml);

        out->akid = httpc_xml_value(answer, "AccessKeyId", NULL);
        out->secret = httpc_xml_value(answer, "SecretAccessKey", NULL);
        free(answer);
    }
    free(xml);
    assert_non_null(out->akid);
    assert_non_null(out->secret);
}

static long bucket_request(const char *method, const char *name)
{
    char *url = xasprintf("%s/%s", endpoint, name);
    struct httpc_response resp;
    long status;

    assert_int_equal(moto_call(method, url, "s3", &iam, NULL, &resp), ST_OK);
    status = resp.status;
    httpc_response_cleanup(&resp);
    free(url);
    return status;
}

static struct fileio *moto_io(const char *ep, const struct creds *c, bool path_style)
{
    struct s3_config cfg = {
        .endpoint = ep,
        .path_style = path_style,
        .access_key_id = c->akid,
        .secret_access_key = c->secret,
        .label = "wh-test",
        .timeout_ms = 30000,
    };

    return fileio_s3_new(&cfg);
}

static int moto_setup(void **state)
{
    char uuid[IDS_UUID_LEN + 1], *user;

    (void)state;
    httpc_global_init();
    ids_uuid_v4(uuid);
    memcpy(run, uuid, 8);
    run[8] = '\0';
    moto_auth(false); /* a run that died may have left it on */
    user = xasprintf("serac-s3-%s", run);
    make_iam_user(user, &iam);
    free(user);
    moto_auth(true);
    bucket = xasprintf("serac-test-%s", run);
    assert_int_equal(bucket_request("PUT", bucket), 200);
    io = moto_io(endpoint, &iam, true);
    return 0;
}

static int moto_teardown(void **state)
{
    char *prefix = xasprintf("s3://%s/", bucket);
    struct error err;

    (void)state;
    if (fileio_remove_prefix(io, prefix, &err))
        fprintf(stderr, "cleanup: %s\n", err.msg);
    bucket_request("DELETE", bucket);
    moto_auth(false);
    fileio_free(io);
    free(prefix);
    free(bucket);
    free(iam.akid);
    free(iam.secret);
    return 0;
}

/* loc returns "s3://<bucket>/<run>/<key>", owned. */
static char *loc(const char *key)
{
    return xasprintf("s3://%s/%s/%s", bucket, run, key);
}

static void expect_content(struct fileio *f, const char *location, const void *want, size_t n)
{
    struct error err;
    char *data;
    size_t len;

    if (fileio_read(f, location, n + 1, &data, &len, &err))
        fail_msg("read %s: %s", location, err.msg);
    assert_int_equal(len, n);
    assert_memory_equal(data, want, n);
    assert_int_equal(data[n], '\0');
    free(data);
}

static void test_moto_round_trip_binary(void **state)
{
    size_t n = 300000;
    unsigned char *bytes = xmalloc(n);
    char *l = loc("bin/data.bin");
    struct error err;

    (void)state;
    ids_random(bytes, n);
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    assert_int_equal(fileio_write(io, l, bytes, n, false, &err), ST_OK);
    expect_content(io, l, bytes, n);
    /* Overwrite, then an empty object. */
    assert_int_equal(fileio_write(io, l, "second", 6, false, &err), ST_OK);
    expect_content(io, l, "second", 6);
    assert_int_equal(fileio_write(io, l, "", 0, false, &err), ST_OK);
    expect_content(io, l, "", 0);
    free(bytes);
    free(l);
}

/* Keys S3 takes as they are, but a careless encoder breaks. */
static const char *const odd_keys[] = {
    "odd/with space/a b.txt",
    "odd/plus+sign/x+y=z&w",
    "odd/unicode/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.avro",
    "odd/percent/100%/a%20b%2Fc",
    "odd/specials/~tilde_(paren)!*'@$,;:",
    "odd/xml/a&b<c>\"q\"",
    "odd/query/what?is=this#frag",
};

static int collect_loc(const char *location, int64_t size, void *ud)
{
    struct buf *b = ud;

    buf_printf(b, "%s|%lld\n", location, (long long)size);
    return 0;
}

static void test_moto_odd_keys(void **state)
{
    size_t n = sizeof(odd_keys) / sizeof(odd_keys[0]);
    char *prefix = loc("odd");
    struct error err;
    struct buf listed;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        char *l = loc(odd_keys[i]);

        if (fileio_write(io, l, odd_keys[i], strlen(odd_keys[i]), true, &err))
            fail_msg("write %s: %s", l, err.msg);
        expect_content(io, l, odd_keys[i], strlen(odd_keys[i]));
        assert_int_equal(fileio_exists(io, l, &err), ST_OK);
        free(l);
    }
    buf_init(&listed, 0);
    assert_int_equal(fileio_list(io, prefix, collect_loc, &listed, &err), ST_OK);
    for (size_t i = 0; i < n; i++) {
        char *line =
            xasprintf("s3://%s/%s/%s|%zu\n", bucket, run, odd_keys[i], strlen(odd_keys[i]));

        if (!strstr(listed.data, line))
            fail_msg("%s not in the listing:\n%s", line, listed.data);
        free(line);
    }
    assert_int_equal(count_of(listed.data, "\n"), n);
    for (size_t i = 0; i < n; i++) {
        char *l = loc(odd_keys[i]);

        assert_int_equal(fileio_remove(io, l, &err), ST_OK);
        assert_int_equal(fileio_exists(io, l, &err), ST_NOT_FOUND);
        free(l);
    }
    buf_cleanup(&listed);
    free(prefix);
}

static void test_moto_create_only(void **state)
{
    char *l = loc("co/00001-meta.json");
    struct error err;

    (void)state;
    assert_int_equal(fileio_write(io, l, "first", 5, true, &err), ST_OK);
    assert_int_equal(fileio_write(io, l, "second", 6, true, &err), ST_EXISTS);
    assert_int_equal(err.type, ET_ALREADY_EXISTS);
    assert_non_null(strstr(err.msg, l));
    expect_content(io, l, "first", 5);
    free(l);
}

static void test_moto_exists_remove_missing(void **state)
{
    char *l = loc("er/x"), *missing = loc("er/never"), *data = NULL;
    size_t len;
    struct error err;

    (void)state;
    assert_int_equal(fileio_write(io, l, "x", 1, false, &err), ST_OK);
    assert_int_equal(fileio_exists(io, l, &err), ST_OK);
    assert_int_equal(fileio_remove(io, l, &err), ST_OK);
    assert_int_equal(fileio_exists(io, l, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NOT_FOUND);
    assert_int_equal(fileio_remove(io, l, &err), ST_OK);
    assert_int_equal(fileio_read(io, missing, 100, &data, &len, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NOT_FOUND);
    {
        char *want = xasprintf("File does not exist: %s", missing);

        assert_string_equal(err.msg, want);
        free(want);
    }
    assert_null(data);
    free(l);
    free(missing);
}

static void test_moto_read_limit(void **state)
{
    char big[100000], *l = loc("lim/big"), *data;
    size_t len;
    struct error err;

    (void)state;
    memset(big, 'b', sizeof(big));
    assert_int_equal(fileio_write(io, l, big, sizeof(big), false, &err), ST_OK);
    assert_int_equal(fileio_read(io, l, 10, &data, &len, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, l));
    assert_int_equal(fileio_read(io, l, sizeof(big) - 1, &data, &len, &err), ST_INVALID);
    assert_int_equal(fileio_read(io, l, sizeof(big), &data, &len, &err), ST_OK);
    assert_int_equal(len, sizeof(big));
    free(data);
    free(l);
}

struct counter {
    size_t n, stop_at;
    bool wrong_prefix;
    const char *want_prefix;
};

static int count_loc(const char *location, int64_t size, void *ud)
{
    struct counter *c = ud;

    (void)size;
    if (strncmp(location, c->want_prefix, strlen(c->want_prefix)) != 0)
        c->wrong_prefix = true;
    return ++c->n == c->stop_at;
}

static void test_moto_list_pages_and_remove_many(void **state)
{
    size_t n = 2500;
    char **locs = xcalloc(n, sizeof(*locs)), *dir = loc("many"), *dir_slash = loc("many/");
    char *sibling = loc("many2/x"), *a_dir = xasprintf("s3a://%s/%s/many", bucket, run);
    struct counter c = {0};
    struct error err;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        locs[i] = xasprintf("%s/%04zu", dir, i);
        if (fileio_write(io, locs[i], "", 0, false, &err))
            fail_msg("write %s: %s", locs[i], err.msg);
    }
    assert_int_equal(fileio_write(io, sibling, "s", 1, false, &err), ST_OK);

    /* Three pages; "many" is a directory, so many2/x is not in it. */
    c.want_prefix = dir_slash;
    assert_int_equal(fileio_list(io, dir, count_loc, &c, &err), ST_OK);
    assert_int_equal(c.n, n);
    assert_false(c.wrong_prefix);
    /* The scheme of the prefix is the scheme of the answers. */
    c = (struct counter){.want_prefix = "s3a://"};
    assert_int_equal(fileio_list(io, a_dir, count_loc, &c, &err), ST_OK);
    assert_int_equal(c.n, n);
    assert_false(c.wrong_prefix);
    /* The callback stops the listing, past a page boundary too. */
    c = (struct counter){.want_prefix = dir_slash, .stop_at = 1003};
    assert_int_equal(fileio_list(io, dir_slash, count_loc, &c, &err), ST_OK);
    assert_int_equal(c.n, 1003);

    assert_int_equal(fileio_remove_many(io, (const char *const *)locs, n, &err), ST_OK);
    c = (struct counter){.want_prefix = dir_slash};
    assert_int_equal(fileio_list(io, dir, count_loc, &c, &err), ST_OK);
    assert_int_equal(c.n, 0);
    assert_int_equal(fileio_exists(io, sibling, &err), ST_OK);
    /* Deleting what is gone already is fine. */
    assert_int_equal(fileio_remove_many(io, (const char *const *)locs, 10, &err), ST_OK);
    for (size_t i = 0; i < n; i++)
        free(locs[i]);
    free(locs);
    free(dir);
    free(dir_slash);
    free(sibling);
    free(a_dir);
}

static long bucket_policy(const char *method, const char *policy)
{
    char *url = xasprintf("%s/%s?policy", endpoint, bucket);
    struct httpc_response resp;
    long status;

    assert_int_equal(moto_call(method, url, "s3", &iam, policy, &resp), ST_OK);
    status = resp.status;
    httpc_response_cleanup(&resp);
    free(url);
    return status;
}

static void test_moto_remove_many_reports_refusals(void **state)
{
    char *policy = xasprintf(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\","
        "\"Action\":\"s3:DeleteObject\",\"Resource\":\"arn:aws:s3:::%s/%s/rm/protected/*\"}]}",
        bucket, run);
    char *locs[] = {loc("rm/free/b"), loc("rm/protected/a"), loc("rm/free/c"),
                    loc("rm/free/missing")};
    struct error err;
    enum status rc;
    long st;

    (void)state;
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(fileio_write(io, locs[i], "x", 1, false, &err), ST_OK);
    st = bucket_policy("PUT", policy);
    assert_true(st == 200 || st == 204);
    rc = fileio_remove_many(io, (const char *const *)locs, 4, &err);
    /* Lift the policy before anything can fail: it would outlive this test. */
    st = bucket_policy("DELETE", NULL);
    assert_true(st == 200 || st == 204);
    assert_int_equal(rc, ST_IO);
    assert_non_null(strstr(err.msg, locs[1]));
    assert_non_null(strstr(err.msg, "AccessDenied"));
    assert_non_null(strstr(err.msg, "1 object"));
    assert_non_null(strstr(err.msg, "wh-test"));
    /* The others went. */
    assert_int_equal(fileio_exists(io, locs[0], &err), ST_NOT_FOUND);
    assert_int_equal(fileio_exists(io, locs[2], &err), ST_NOT_FOUND);
    assert_int_equal(fileio_exists(io, locs[1], &err), ST_OK);
    assert_int_equal(fileio_remove_many(io, (const char *const *)locs, 4, &err), ST_OK);
    assert_int_equal(fileio_exists(io, locs[1], &err), ST_NOT_FOUND);
    for (size_t i = 0; i < 4; i++)
        free(locs[i]);
    free(policy);
}

static void test_moto_copy(void **state)
{
    char *from = loc("cp/src with space+é.json"), *to = loc("cp/dst/copy.json");
    char *missing = loc("cp/nothing");
    struct error err;

    (void)state;
    assert_int_equal(fileio_write(io, from, "payload", 7, false, &err), ST_OK);
    assert_int_equal(fileio_write(io, to, "old", 3, false, &err), ST_OK);
    if (fileio_copy(io, from, to, &err))
        fail_msg("copy: %s", err.msg);
    expect_content(io, to, "payload", 7);
    expect_content(io, from, "payload", 7);
    assert_int_equal(fileio_copy(io, missing, to, &err), ST_NOT_FOUND);
    assert_non_null(strstr(err.msg, missing));
    free(from);
    free(to);
    free(missing);
}

static void test_moto_remove_prefix(void **state)
{
    static const char *const keys[] = {"rp/a", "rp/b/c", "rp/d/e/f", "rp/.hidden"};
    char *prefix = loc("rp"), *sibling = loc("rp2/x"), *same_start = loc("rpx");
    struct counter c = {.want_prefix = ""};
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *l = loc(keys[i]);

        assert_int_equal(fileio_write(io, l, "x", 1, false, &err), ST_OK);
        free(l);
    }
    assert_int_equal(fileio_write(io, sibling, "x", 1, false, &err), ST_OK);
    assert_int_equal(fileio_write(io, same_start, "x", 1, false, &err), ST_OK);
    assert_int_equal(fileio_remove_prefix(io, prefix, &err), ST_OK);
    assert_int_equal(fileio_list(io, prefix, count_loc, &c, &err), ST_OK);
    assert_int_equal(c.n, 0);
    assert_int_equal(fileio_exists(io, sibling, &err), ST_OK);
    assert_int_equal(fileio_exists(io, same_start, &err), ST_OK);
    free(prefix);
    free(sibling);
    free(same_start);
}

static void test_moto_missing_bucket(void **state)
{
    char *l = xasprintf("s3://serac-missing-%s/x/y", run), *data;
    size_t len;
    struct error err;

    (void)state;
    assert_int_equal(fileio_read(io, l, 100, &data, &len, &err), ST_IO);
    assert_non_null(strstr(err.msg, "serac-missing-"));
    assert_non_null(strstr(err.msg, "wh-test"));
    assert_non_null(strstr(err.msg, "NoSuchBucket"));
    assert_int_equal(fileio_write(io, l, "x", 1, true, &err), ST_IO);
    assert_non_null(strstr(err.msg, "NoSuchBucket"));
    assert_int_equal(fileio_list(io, l, count_loc, &(struct counter){.want_prefix = ""}, &err),
                     ST_IO);
    assert_non_null(strstr(err.msg, "NoSuchBucket"));
    assert_int_equal(fileio_remove(io, l, &err), ST_IO);
    assert_non_null(strstr(err.msg, "wh-test"));
    free(l);
}

static void test_moto_refused_keys(void **state)
{
    struct creds wrong = {iam.akid, "wrong-secret-value-000"};
    struct creds unknown = {"AKIAUNKNOWNKEY000000", "whatever-secret-111"};
    struct fileio *f = moto_io(endpoint, &wrong, true);
    char *l = loc("refused/x"), *data;
    size_t len;
    struct error err;

    (void)state;
    assert_int_equal(fileio_read(f, l, 100, &data, &len, &err), ST_IO);
    assert_int_equal(err.type, ET_NONE);
    assert_non_null(strstr(err.msg, "wh-test"));
    assert_non_null(strstr(err.msg, bucket));
    assert_non_null(strstr(err.msg, "refused"));
    assert_non_null(strstr(err.msg, "SignatureDoesNotMatch"));
    assert_null(strstr(err.msg, "wrong-secret"));
    assert_int_equal(fileio_write(f, l, "x", 1, false, &err), ST_IO);
    assert_non_null(strstr(err.msg, "refused"));
    /* HEAD answers carry no body: the status says it. */
    assert_int_equal(fileio_exists(f, l, &err), ST_IO);
    assert_non_null(strstr(err.msg, "refused"));
    fileio_free(f);

    f = moto_io(endpoint, &unknown, true);
    assert_int_equal(fileio_read(f, l, 100, &data, &len, &err), ST_IO);
    assert_non_null(strstr(err.msg, "InvalidAccessKeyId"));
    assert_non_null(strstr(err.msg, "wh-test"));
    assert_null(strstr(err.msg, "whatever-secret"));
    fileio_free(f);
    free(l);
}

/* closed_port returns a loopback port nothing listens on. */
static unsigned short closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned short p;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    p = ntohs(a.sin_port);
    close(fd);
    return p;
}

static void test_unreachable(void **state)
{
    char *ep = xasprintf("http://127.0.0.1:%u", closed_port()), *data;
    struct s3_config cfg = {.endpoint = ep,
                            .path_style = true,
                            .access_key_id = "AKID",
                            .secret_access_key = "unreachable-secret",
                            .connect_timeout_ms = 200,
                            .timeout_ms = 500,
                            .max_attempts = 3,
                            .label = "wh-far"};
    struct fileio *f = fileio_s3_new(&cfg);
    int64_t t0 = clock_mono_ns();
    size_t len;
    struct error err;

    (void)state;
    assert_int_equal(fileio_read(f, "s3://b/k", 100, &data, &len, &err), ST_UNAVAILABLE);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "wh-far"));
    assert_non_null(strstr(err.msg, "3 attempts"));
    assert_null(strstr(err.msg, "unreachable-secret"));
    /* Backoff is at most 100 + 200 ms here. */
    assert_true(clock_mono_ns() - t0 < 3000 * 1000000LL);
    assert_int_equal(fileio_write(f, "s3://b/k", "x", 1, true, &err), ST_UNAVAILABLE);
    assert_int_equal(fileio_list(f, "s3://b/k", count_loc, &(struct counter){0}, &err),
                     ST_UNAVAILABLE);
    fileio_free(f);
    free(ep);
}

static void test_moto_virtual_hosted(void **state)
{
    /* moto takes the bucket from the Host header unless the host is localhost itself. */
    const char *port = strrchr(endpoint, ':');
    char *ep = xasprintf("http://localhost%s", port), *l = loc("vh/obj"), *prefix = loc("vh");
    struct fileio *f = moto_io(ep, &iam, false);
    struct counter c = {.want_prefix = "s3://"};
    struct error err;

    (void)state;
    if (fileio_write(f, l, "virtual", 7, true, &err))
        fail_msg("virtual-hosted write: %s", err.msg);
    expect_content(f, l, "virtual", 7);
    expect_content(io, l, "virtual", 7); /* the same object, path-style */
    assert_int_equal(fileio_list(f, prefix, count_loc, &c, &err), ST_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(fileio_remove(f, l, &err), ST_OK);
    assert_int_equal(fileio_exists(io, l, &err), ST_NOT_FOUND);
    fileio_free(f);
    free(ep);
    free(l);
    free(prefix);
}

int main(void)
{
    const struct CMUnitTest fake_tests[] = {
        cmocka_unit_test(test_fake_conditional_fallback),
        cmocka_unit_test(test_fake_retries),
        cmocka_unit_test(test_fake_create_only_retry_finds_itself),
        cmocka_unit_test(test_fake_delete_batches),
        cmocka_unit_test(test_fake_copy_and_list_answers),
        cmocka_unit_test(test_fake_bad_locations),
        cmocka_unit_test(test_unreachable),
    };
    const struct CMUnitTest moto_tests[] = {
        cmocka_unit_test(test_moto_round_trip_binary),
        cmocka_unit_test(test_moto_odd_keys),
        cmocka_unit_test(test_moto_create_only),
        cmocka_unit_test(test_moto_exists_remove_missing),
        cmocka_unit_test(test_moto_read_limit),
        cmocka_unit_test(test_moto_list_pages_and_remove_many),
        cmocka_unit_test(test_moto_remove_many_reports_refusals),
        cmocka_unit_test(test_moto_copy),
        cmocka_unit_test(test_moto_remove_prefix),
        cmocka_unit_test(test_moto_missing_bucket),
        cmocka_unit_test(test_moto_refused_keys),
        cmocka_unit_test(test_moto_virtual_hosted),
    };
    int failed;

    failed = cmocka_run_group_tests_name("s3 against a fake store", fake_tests, fake_setup,
                                         fake_teardown);
    endpoint = getenv("SERAC_TEST_S3_ENDPOINT");
    if (failed)
        return 1;
    if (!endpoint || !*endpoint) {
        fprintf(stderr, "SERAC_TEST_S3_ENDPOINT is not set: moto tests skipped\n");
        return 77;
    }
    return cmocka_run_group_tests_name("s3 against moto", moto_tests, moto_setup, moto_teardown) !=
           0;
}
