/*
 * test_sts.c - STS AssumeRole.
 *
 * The first group needs no server: ISO-8601 times, and an in-process fake
 * STS (libmicrohttpd) for the form that is sent and for error answers. The
 * second runs against the moto server named by SERAC_TEST_S3_ENDPOINT
 * (scripts/moto-server.sh): it creates an IAM user and a role allowed
 * everything, turns moto's authentication on (so signatures and the vended
 * keys are checked), assumes the role and uses the credentials for S3. It
 * turns authentication off again at the end; tests sharing one moto server
 * must not run in parallel with this one (test_s3 does the same).
 *
 * Without SERAC_TEST_S3_ENDPOINT the first group runs and the program exits
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "io/sts.h"

/* ================= no server ================= */

static void test_parse_time(void **state)
{
    int64_t ms;

    (void)state;
    assert_int_equal(sts_parse_time("1970-01-01T00:00:00Z", &ms), ST_OK);
    assert_int_equal(ms, 0);
    assert_int_equal(sts_parse_time("2026-11-22T02:26:15Z", &ms), ST_OK);
    assert_int_equal(ms, 1795314375000LL);
    assert_int_equal(sts_parse_time("2026-11-22T02:26:15.25Z", &ms), ST_OK);
    assert_int_equal(ms, 1795314375250LL);
    assert_int_equal(sts_parse_time("2026-11-22T02:26:15.123456Z", &ms), ST_OK);
    assert_int_equal(ms, 1795314375123LL);
    assert_int_equal(sts_parse_time("2026-11-22T03:26:15+01:00", &ms), ST_OK);
    assert_int_equal(ms, 1795314375000LL);
    assert_int_equal(sts_parse_time("2026-11-21T23:56:15-02:30", &ms), ST_OK);
    assert_int_equal(ms, 1795314375000LL);
    assert_int_equal(sts_parse_time("2024-02-29T12:00:00Z", &ms), ST_OK);
    assert_int_equal(ms, 1709208000000LL);

    assert_int_equal(sts_parse_time("2026-11-22T02:26:15", &ms), ST_INVALID);
    assert_int_equal(sts_parse_time("2026-11-22 02:26:15Z", &ms), ST_INVALID);
    assert_int_equal(sts_parse_time("2026-13-22T02:26:15Z", &ms), ST_INVALID);
    assert_int_equal(sts_parse_time("2026-11-22T02:26:15.Z", &ms), ST_INVALID);
    assert_int_equal(sts_parse_time("2026-11-22T02:26:15Zjunk", &ms), ST_INVALID);
    assert_int_equal(sts_parse_time("2026-11-22T02", &ms), ST_INVALID);
    assert_int_equal(sts_parse_time("", &ms), ST_INVALID);
    assert_int_equal(sts_parse_time(NULL, &ms), ST_INVALID);
}

/* The fake STS: answers from a script, records the last request (guarded by fake_lock). */
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct MHD_Daemon *fake_daemon;
static char *fake_url;
static unsigned fake_requests;
static char fake_type[128], fake_auth[512], fake_token[128];
static struct buf fake_body;
static struct {
    unsigned status;
    const char *body;
} fake_script[8];
static size_t fake_script_n, fake_script_pos;

static void fake_reset(void)
{
    pthread_mutex_lock(&fake_lock);
    fake_requests = 0;
    fake_script_n = fake_script_pos = 0;
    fake_type[0] = fake_auth[0] = fake_token[0] = '\0';
    buf_reset(&fake_body);
    pthread_mutex_unlock(&fake_lock);
}

static void fake_push(unsigned status, const char *body)
{
    fake_script[fake_script_n].status = status;
    fake_script[fake_script_n].body = body;
    fake_script_n++;
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
    static int started;
    unsigned status = 200;
    const char *body = "";
    struct MHD_Response *resp;
    enum MHD_Result ret;

    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    if (!*con_cls) {
        *con_cls = &started;
        pthread_mutex_lock(&fake_lock);
        fake_requests++;
        buf_reset(&fake_body);
        copy_header(conn, "Content-Type", fake_type, sizeof(fake_type));
        copy_header(conn, "Authorization", fake_auth, sizeof(fake_auth));
        copy_header(conn, "X-Amz-Security-Token", fake_token, sizeof(fake_token));
        pthread_mutex_unlock(&fake_lock);
        return MHD_YES;
    }
    if (*upload_size) {
        pthread_mutex_lock(&fake_lock);
        buf_append(&fake_body, upload_data, *upload_size);
        pthread_mutex_unlock(&fake_lock);
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&fake_lock);
    if (fake_script_pos < fake_script_n) {
        status = fake_script[fake_script_pos].status;
        body = fake_script[fake_script_pos].body;
        fake_script_pos++;
    }
    pthread_mutex_unlock(&fake_lock);
    resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static int fake_setup(void **state)
{
    (void)state;
    httpc_global_init();
    buf_init(&fake_body, 0);
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
    buf_cleanup(&fake_body);
    free(fake_url);
    return 0;
}

static const char good_answer[] =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
    "<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser>"
    "<Credentials><AccessKeyId>ASIAFAKE</AccessKeyId><SecretAccessKey>vended/secret+1"
    "</SecretAccessKey><SessionToken>tok&amp;en</SessionToken>"
    "<Expiration>2026-11-22T02:26:15Z</Expiration></Credentials></AssumeRoleResult>"
    "</AssumeRoleResponse>";

static void test_fake_form_and_answer(void **state)
{
    struct sts_config cfg = {.endpoint = fake_url,
                             .region = "eu-west-3",
                             .access_key_id = "AKIDCALLER",
                             .secret_access_key = "caller-secret",
                             .session_token = "caller-token"};
    struct sts_credentials c;
    struct error err;

    (void)state;
    fake_reset();
    fake_push(200, good_answer);
    assert_int_equal(sts_assume_role(&cfg, "arn:aws:iam::1:role/r", "serac@t1",
                                     "{\"Version\":\"2012-10-17\"}", 900, &c, &err),
                     ST_OK);
    assert_string_equal(c.access_key_id, "ASIAFAKE");
    assert_string_equal(c.secret_access_key, "vended/secret+1");
    assert_string_equal(c.session_token, "tok&en");
    assert_int_equal(c.expiration_ms, 1795314375000LL);
    sts_credentials_cleanup(&c);
    assert_null(c.access_key_id);
    assert_string_equal(fake_body.data,
                        "Action=AssumeRole&DurationSeconds=900&Policy=%7B%22Version%22%3A%22"
                        "2012-10-17%22%7D&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&"
                        "RoleSessionName=serac%40t1&Version=2011-06-15");
    assert_string_equal(fake_type, "application/x-www-form-urlencoded; charset=utf-8");
    assert_non_null(strstr(fake_auth, "Credential=AKIDCALLER/"));
    assert_non_null(strstr(fake_auth, "/eu-west-3/sts/aws4_request"));
    assert_non_null(strstr(fake_auth, "x-amz-security-token"));
    assert_string_equal(fake_token, "caller-token");

    /* No policy, no duration: neither parameter is sent. */
    fake_reset();
    fake_push(200, good_answer);
    cfg.session_token = NULL;
    assert_int_equal(sts_assume_role(&cfg, "arn:r", "s", NULL, 0, &c, &err), ST_OK);
    sts_credentials_cleanup(&c);
    assert_string_equal(fake_body.data,
                        "Action=AssumeRole&RoleArn=arn%3Ar&RoleSessionName=s&Version=2011-06-15");
    assert_string_equal(fake_token, "");
}

static void test_fake_errors(void **state)
{
    static const char denied[] =
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not "
        "authorized to perform: sts:AssumeRole</Message></Error></ErrorResponse>";
    static const char throttled[] =
        "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
        "</ErrorResponse>";
    struct sts_config cfg = {
        .endpoint = fake_url, .access_key_id = "AKID", .secret_access_key = "caller-secret"};
    struct sts_credentials c;
    struct error err;

    (void)state;
    fake_reset();
    fake_push(403, denied);
    assert_int_equal(sts_assume_role(&cfg, "arn:r", "s", NULL, 0, &c, &err), ST_IO);
    assert_non_null(strstr(err.msg, "AccessDenied"));
    assert_non_null(strstr(err.msg, "not authorized"));
    assert_non_null(strstr(err.msg, "arn:r"));
    assert_null(c.access_key_id);
    assert_int_equal(fake_requests, 1);

    /* Throttling is retried; three times throttled is "unavailable". */
    fake_reset();
    fake_push(400, throttled);
    fake_push(200, good_answer);
    assert_int_equal(sts_assume_role(&cfg, "arn:r", "s", NULL, 0, &c, &err), ST_OK);
    sts_credentials_cleanup(&c);
    assert_int_equal(fake_requests, 2);
    fake_reset();
    for (int i = 0; i < 3; i++)
        fake_push(503, throttled);
    assert_int_equal(sts_assume_role(&cfg, "arn:r", "s", NULL, 0, &c, &err), ST_UNAVAILABLE);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    assert_int_equal(fake_requests, 3);

    /* A 200 without credentials, or with a bad time, is not accepted. */
    fake_reset();
    fake_push(200, "<AssumeRoleResponse><Credentials><AccessKeyId>A</AccessKeyId>"
                   "</Credentials></AssumeRoleResponse>");
    assert_int_equal(sts_assume_role(&cfg, "arn:r", "s", NULL, 0, &c, &err), ST_IO);
    assert_null(c.access_key_id);
    fake_reset();
    fake_push(200, "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
                   "<SessionToken>T</SessionToken><Expiration>soon</Expiration></Credentials>");
    assert_int_equal(sts_assume_role(&cfg, "arn:r", "s", NULL, 0, &c, &err), ST_IO);
    assert_null(c.secret_access_key);

    assert_int_equal(sts_assume_role(&cfg, "", "s", NULL, 0, &c, &err), ST_INVALID);
    assert_int_equal(sts_assume_role(&cfg, "arn:r", NULL, NULL, 0, &c, &err), ST_INVALID);
    assert_null(strstr(err.msg, "caller-secret"));
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
    char *ep = xasprintf("http://127.0.0.1:%u", closed_port());
    struct sts_config cfg = {.endpoint = ep,
                             .access_key_id = "AKID",
                             .secret_access_key = "unreachable-secret",
                             .timeout_ms = 500};
    struct sts_credentials c;
    struct error err;
    int64_t t0 = clock_mono_ns();

    (void)state;
    assert_int_equal(sts_assume_role(&cfg, "arn:r", "s", NULL, 0, &c, &err), ST_UNAVAILABLE);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "3 attempts"));
    assert_null(strstr(err.msg, "unreachable-secret"));
    assert_true(clock_mono_ns() - t0 < 3000 * 1000000LL);
    free(ep);
}

/* ================= moto ================= */

struct creds {
    char *akid, *secret;
};

static const char *endpoint;
static char run[16];
static struct creds user;
static char *role_arn, *bucket;

/* moto_call sends one signed request; form (may be NULL) goes form-encoded for IAM. */
static long moto_call(const char *method, const char *url, const char *service,
                      const struct creds *c, const char *form, char **answer)
{
    const struct sigv4_header ct[] = {{"Content-Type", "application/x-www-form-urlencoded"}};
    struct sigv4_credentials sc = {c->akid, c->secret, NULL};
    struct sigv4_input in = {.method = method,
                             .url = url,
                             .headers = form ? ct : NULL,
                             .n_headers = form ? 1 : 0,
                             .region = "us-east-1",
                             .service = service,
                             .now = time(NULL)};
    struct sigv4_output out = {0};
    struct httpc_header h[4];
    struct httpc_request req = {.method = method, .url = url, .headers = h};
    struct httpc_response resp;
    struct error err;
    char hash[65];
    long status;

    sigv4_sha256_hex(form ? form : "", form ? strlen(form) : 0, hash);
    in.payload_hash = hash;
    assert_int_equal(sigv4_sign(&in, &sc, &out, &err), ST_OK);
    h[req.n_headers++] = (struct httpc_header){"x-amz-date", out.amz_date};
    h[req.n_headers++] = (struct httpc_header){"x-amz-content-sha256", out.payload_hash};
    h[req.n_headers++] = (struct httpc_header){"Authorization", out.authorization};
    if (form)
        h[req.n_headers++] = (struct httpc_header){ct[0].name, ct[0].value};
    req.body = form;
    req.body_len = form ? strlen(form) : 0;
    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    sigv4_output_cleanup(&out);
    status = resp.status;
    if (answer) {
        *answer = resp.body;
        resp.body = NULL;
    }
    httpc_response_cleanup(&resp);
    return status;
}

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

/* iam runs one IAM action (moto's authentication off) and returns the answer, owned. */
static char *iam(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *iam(const char *fmt, ...)
{
    struct creds anyone = {"AKIDANYONE", "anything"};
    char *url = xasprintf("%s/", endpoint), *answer = NULL;
    struct buf form;
    va_list ap;
    int n;
    long status;

    buf_init(&form, 0);
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    {
        char *text = xmalloc((size_t)n + 1);

        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
        buf_printf(&form, "%s&Version=2010-05-08", text);
        free(text);
    }
    status = moto_call("POST", url, "iam", &anyone, form.data, &answer);
    if (status != 200)
        fail_msg("IAM %s: %ld %s", form.data, status, answer);
    buf_cleanup(&form);
    free(url);
    return answer;
}

/* encoded returns s form-encoded, owned. */
static char *encoded(const char *s)
{
    struct buf b;

    buf_init(&b, 0);
    buf_puts(&b, "");
    sigv4_uri_encode(&b, s, strlen(s), false);
    return buf_take(&b);
}

static int moto_setup(void **state)
{
    static const char allow_all[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
        "\"Resource\":\"*\"}]}";
    static const char trust[] =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
        "\"*\"},\"Action\":\"sts:AssumeRole\"}]}";
    char uuid[IDS_UUID_LEN + 1], *answer, *pol = encoded(allow_all), *tr = encoded(trust);
    char *url;

    (void)state;
    httpc_global_init();
    ids_uuid_v4(uuid);
    memcpy(run, uuid, 8);
    moto_auth(false);
    free(iam("Action=CreateUser&UserName=serac-sts-%s", run));
    free(iam("Action=PutUserPolicy&UserName=serac-sts-%s&PolicyName=all&PolicyDocument=%s", run,
             pol));
    answer = iam("Action=CreateAccessKey&UserName=serac-sts-%s", run);
    user.akid = httpc_xml_value(answer, "AccessKeyId", NULL);
    user.secret = httpc_xml_value(answer, "SecretAccessKey", NULL);
    free(answer);
    answer = iam("Action=CreateRole&RoleName=serac-vend-%s&AssumeRolePolicyDocument=%s", run, tr);
    role_arn = httpc_xml_value(answer, "Arn", NULL);
    free(answer);
    free(iam("Action=PutRolePolicy&RoleName=serac-vend-%s&PolicyName=all&PolicyDocument=%s", run,
             pol));
    free(pol);
    free(tr);
    assert_non_null(user.akid);
    assert_non_null(role_arn);
    moto_auth(true);
    bucket = xasprintf("serac-sts-%s", run);
    url = xasprintf("%s/%s", endpoint, bucket);
    assert_int_equal(moto_call("PUT", url, "s3", &user, NULL, NULL), 200);
    free(url);
    return 0;
}

static int moto_teardown(void **state)
{
    char *url = xasprintf("%s/%s", endpoint, bucket);

    (void)state;
    moto_call("DELETE", url, "s3", &user, NULL, NULL);
    moto_auth(false);
    free(url);
    free(bucket);
    free(role_arn);
    free(user.akid);
    free(user.secret);
    return 0;
}

static struct fileio *s3_with(const char *akid, const char *secret, const char *token)
{
    struct s3_config cfg = {.endpoint = endpoint,
                            .path_style = true,
                            .access_key_id = akid,
                            .secret_access_key = secret,
                            .session_token = token,
                            .label = "wh-sts"};

    return fileio_s3_new(&cfg);
}

static void test_moto_assume_role_and_use(void **state)
{
    struct sts_config cfg = {
        .endpoint = endpoint, .access_key_id = user.akid, .secret_access_key = user.secret};
    char *policy = xasprintf("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
                             "\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::%s/t/*\"}]}",
                             bucket);
    char *l = xasprintf("s3://%s/t/vended.json", bucket), *data;
    struct sts_credentials c;
    struct fileio *f;
    int64_t now = (int64_t)time(NULL) * 1000;
    size_t len;
    struct error err;

    (void)state;
    if (sts_assume_role(&cfg, role_arn, "serac-test", policy, 900, &c, &err))
        fail_msg("AssumeRole: %s", err.msg);
    assert_true(strlen(c.access_key_id) >= 16);
    assert_string_not_equal(c.access_key_id, user.akid);
    assert_true(strlen(c.secret_access_key) >= 16);
    assert_true(strlen(c.session_token) >= 16);
    /* 900 s from now, give or take the clock's granularity. */
    assert_true(c.expiration_ms > now + 880 * 1000 && c.expiration_ms < now + 920 * 1000);

    f = s3_with(c.access_key_id, c.secret_access_key, c.session_token);
    if (fileio_write(f, l, "vended", 6, true, &err))
        fail_msg("write with vended credentials: %s", err.msg);
    assert_int_equal(fileio_read(f, l, 100, &data, &len, &err), ST_OK);
    assert_string_equal(data, "vended");
    free(data);
    assert_int_equal(fileio_remove(f, l, &err), ST_OK);
    fileio_free(f);

    /* The token is part of the credentials: without it, or with another, S3 refuses. */
    f = s3_with(c.access_key_id, c.secret_access_key, "not-the-token");
    assert_int_equal(fileio_write(f, l, "x", 1, false, &err), ST_IO);
    assert_non_null(strstr(err.msg, "refused"));
    assert_non_null(strstr(err.msg, "wh-sts"));
    fileio_free(f);
    f = s3_with(c.access_key_id, c.secret_access_key, NULL);
    assert_int_equal(fileio_write(f, l, "x", 1, false, &err), ST_IO);
    assert_non_null(strstr(err.msg, "refused"));
    fileio_free(f);

    sts_credentials_cleanup(&c);
    free(policy);
    free(l);
}

static void test_moto_refused(void **state)
{
    struct sts_config cfg = {.endpoint = endpoint,
                             .access_key_id = user.akid,
                             .secret_access_key = "wrong-caller-secret"};
    struct sts_credentials c;
    struct error err;

    (void)state;
    assert_int_equal(sts_assume_role(&cfg, role_arn, "serac-test", NULL, 900, &c, &err), ST_IO);
    assert_non_null(strstr(err.msg, "SignatureDoesNotMatch"));
    assert_non_null(strstr(err.msg, role_arn));
    assert_null(strstr(err.msg, "wrong-caller-secret"));
    assert_null(c.access_key_id);
}

int main(void)
{
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_fake_form_and_answer),
        cmocka_unit_test(test_fake_errors),
        cmocka_unit_test(test_unreachable),
    };
    const struct CMUnitTest moto_tests[] = {
        cmocka_unit_test(test_moto_assume_role_and_use),
        cmocka_unit_test(test_moto_refused),
    };

    if (cmocka_run_group_tests_name("sts without a server", offline, fake_setup, fake_teardown))
        return 1;
    endpoint = getenv("SERAC_TEST_S3_ENDPOINT");
    if (!endpoint || !*endpoint) {
        fprintf(stderr, "SERAC_TEST_S3_ENDPOINT is not set: moto tests skipped\n");
        return 77;
    }
    return cmocka_run_group_tests_name("sts against moto", moto_tests, moto_setup, moto_teardown) !=
           0;
}
