/*
 * test_httpc.c - the object stores' HTTP client against an in-process
 * libmicrohttpd server that records what arrived: method, headers, body;
 * statuses and response headers; timeouts, refused connections, the body cap,
 * connection reuse, backoff and the XML value extractor.
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
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "io/httpc.h"

#define MAX_SEEN_HEADERS 64

/* What the server saw of the last complete request (guarded by seen_lock). */
struct seen {
    char method[16];
    char url[256];
    char *names[MAX_SEEN_HEADERS];
    char *values[MAX_SEEN_HEADERS];
    size_t n_headers;
    struct buf body;
};

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER; /* protects seen and connections */
static struct seen seen;
static int connections;

static struct MHD_Daemon *daemon_;
static unsigned short port;

static void seen_reset(void)
{
    pthread_mutex_lock(&seen_lock);
    for (size_t i = 0; i < seen.n_headers; i++) {
        free(seen.names[i]);
        free(seen.values[i]);
    }
    seen.n_headers = 0;
    seen.method[0] = seen.url[0] = '\0';
    buf_cleanup(&seen.body);
    buf_init(&seen.body, 0);
    pthread_mutex_unlock(&seen_lock);
}

/* seen_header returns the value the server received for name, or NULL (call under no lock). */
static const char *seen_header(const char *name)
{
    for (size_t i = 0; i < seen.n_headers; i++)
        if (strcasecmp(seen.names[i], name) == 0)
            return seen.values[i];
    return NULL;
}

static enum MHD_Result record_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)cls;
    (void)kind;
    if (seen.n_headers < MAX_SEEN_HEADERS) {
        seen.names[seen.n_headers] = xstrdup(key);
        seen.values[seen.n_headers] = xstrdup(value ? value : "");
        seen.n_headers++;
    }
    return MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)c;
    (void)socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&seen_lock);
        connections++;
        pthread_mutex_unlock(&seen_lock);
    }
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const void *body,
                             size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    MHD_add_response_header(r, "X-Test-Reply", "hello there");
    MHD_add_response_header(r, "ETag", "\"abc\"");
    ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

/*
 * on_request records each request, then answers by path: /status/NNN with
 * that status, /slow after a second, /big with 100 kB, anything else 200 with
 * the body "ok".
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    static int first_call_marker;

    (void)cls;
    (void)version;
    if (!*con_cls) {
        *con_cls = &first_call_marker;
        seen_reset();
        pthread_mutex_lock(&seen_lock);
        snprintf(seen.method, sizeof(seen.method), "%s", method);
        snprintf(seen.url, sizeof(seen.url), "%s", url);
        MHD_get_connection_values(conn, MHD_HEADER_KIND, record_header, NULL);
        pthread_mutex_unlock(&seen_lock);
        return MHD_YES;
    }
    if (*upload_size) {
        pthread_mutex_lock(&seen_lock);
        buf_append(&seen.body, upload_data, *upload_size);
        pthread_mutex_unlock(&seen_lock);
        *upload_size = 0;
        return MHD_YES;
    }
    if (strncmp(url, "/status/", 8) == 0)
        return reply(conn, (unsigned)atoi(url + 8), "status", 6);
    if (strcmp(url, "/slow") == 0) {
        clock_sleep_ms(1000);
        return reply(conn, 200, "late", 4);
    }
    if (strcmp(url, "/big") == 0) {
        static char big[100000];

        memset(big, 'x', sizeof(big));
        return reply(conn, 200, big, sizeof(big));
    }
    return reply(conn, 200, "ok", 2);
}

static int setup_server(void **state)
{
    const union MHD_DaemonInfo *info;

    (void)state;
    httpc_global_init();
    buf_init(&seen.body, 0);
    daemon_ = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                   MHD_USE_ERROR_LOG,
                               0, NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_CONNECTION,
                               on_connection, NULL, MHD_OPTION_END);
    if (!daemon_)
        return -1;
    info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    port = info->port;
    return 0;
}

static int teardown_server(void **state)
{
    (void)state;
    MHD_stop_daemon(daemon_);
    seen_reset();
    buf_cleanup(&seen.body);
    return 0;
}

static char *url_for(const char *path)
{
    return xasprintf("http://127.0.0.1:%u%s", port, path);
}

static void test_get_sends_headers_verbatim(void **state)
{
    const struct httpc_header hdrs[] = {
        {"X-Amz-Date", "20150830T123600Z"},
        {"x-amz-content-sha256",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"X-Empty", ""},
        {"Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s3/aws4_request"},
    };
    char *url = url_for("/bucket/a%20b%2Bc/%C3%A9.avro?list-type=2&prefix=db%2Ft1%2F");
    struct httpc_request req = {.method = "GET", .url = url, .headers = hdrs, .n_headers = 4};
    struct httpc_response resp;
    struct error err;

    (void)state;
    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body_len, 2);
    assert_string_equal(resp.body, "ok");
    assert_string_equal(httpc_response_header(&resp, "x-test-reply"), "hello there");
    assert_string_equal(httpc_response_header(&resp, "ETAG"), "\"abc\"");
    assert_null(httpc_response_header(&resp, "X-Test"));
    assert_string_equal(seen.method, "GET");
    /* MHD decodes the path: the encoded bytes arrived as one segment each. */
    assert_string_equal(seen.url, "/bucket/a b+c/\xc3\xa9.avro");
    assert_string_equal(seen_header("X-Amz-Date"), "20150830T123600Z");
    assert_string_equal(seen_header("x-amz-content-sha256"), hdrs[1].value);
    assert_string_equal(seen_header("X-Empty"), "");
    assert_string_equal(seen_header("Authorization"), hdrs[3].value);
    /* curl adds nothing a signature would have to cover. */
    assert_null(seen_header("Accept"));
    assert_null(seen_header("Expect"));
    assert_null(seen_header("Content-Type"));
    assert_null(seen_header("Accept-Encoding"));
    assert_non_null(seen_header("Host"));
    httpc_response_cleanup(&resp);
    free(url);
}

static void test_put_binary_body(void **state)
{
    size_t n = 2 * 1024 * 1024 + 3; /* large enough that curl would send Expect: 100-continue */
    unsigned char *body = xmalloc(n);
    char *url = url_for("/put/here");
    struct httpc_request req = {.method = "PUT", .url = url, .body = body, .body_len = n};
    struct httpc_response resp;
    struct error err;
    char len[32];

    (void)state;
    for (size_t i = 0; i < n; i++)
        body[i] = (unsigned char)(i * 31 + 7);
    body[5] = 0;
    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(seen.method, "PUT");
    assert_int_equal(seen.body.len, n);
    assert_memory_equal(seen.body.data, body, n);
    snprintf(len, sizeof(len), "%zu", n);
    assert_string_equal(seen_header("Content-Length"), len);
    assert_null(seen_header("Expect"));
    assert_null(seen_header("Content-Type"));
    assert_null(seen_header("Transfer-Encoding"));
    httpc_response_cleanup(&resp);
    free(body);
    free(url);
}

static void test_empty_put_and_post_with_type(void **state)
{
    const struct httpc_header form[] = {{"Content-Type", "application/x-www-form-urlencoded"}};
    char *url = url_for("/empty");
    struct httpc_request req = {.method = "PUT", .url = url};
    struct httpc_response resp;
    struct error err;

    (void)state;
    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    assert_string_equal(seen.method, "PUT");
    assert_string_equal(seen_header("Content-Length"), "0");
    assert_int_equal(seen.body.len, 0);
    httpc_response_cleanup(&resp);

    req.method = "POST";
    req.headers = form;
    req.n_headers = 1;
    req.body = "Action=AssumeRole&Version=2011-06-15";
    req.body_len = strlen(req.body);
    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    assert_string_equal(seen.method, "POST");
    assert_string_equal(seen_header("Content-Type"), "application/x-www-form-urlencoded");
    assert_int_equal(seen.body.len, req.body_len);
    assert_memory_equal(seen.body.data, req.body, req.body_len);
    httpc_response_cleanup(&resp);
    free(url);
}

static void test_head_and_delete(void **state)
{
    char *url = url_for("/status/404");
    struct httpc_request req = {.method = "HEAD", .url = url};
    struct httpc_response resp;
    struct error err;

    (void)state;
    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    assert_int_equal(resp.status, 404);
    assert_string_equal(seen.method, "HEAD");
    assert_int_equal(resp.body_len, 0);
    assert_string_equal(resp.body, "");
    /* The headers of a HEAD answer are there, the body is not. */
    assert_string_equal(httpc_response_header(&resp, "Content-Length"), "6");
    httpc_response_cleanup(&resp);
    free(url);

    url = url_for("/status/204");
    req.method = "DELETE";
    req.url = url;
    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    assert_int_equal(resp.status, 204);
    assert_string_equal(seen.method, "DELETE");
    assert_null(seen_header("Content-Length"));
    httpc_response_cleanup(&resp);
    free(url);
}

static void test_statuses_are_answers(void **state)
{
    static const long codes[] = {200, 301, 400, 403, 412, 500, 503};
    struct httpc_response resp;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char path[32], *url;
        struct httpc_request req = {.method = "GET"};

        snprintf(path, sizeof(path), "/status/%ld", codes[i]);
        req.url = url = url_for(path);
        assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
        assert_int_equal(resp.status, codes[i]);
        assert_string_equal(resp.body, "status");
        httpc_response_cleanup(&resp);
        free(url);
    }
}

static void test_connection_reused(void **state)
{
    char *url = url_for("/again");
    struct httpc_request req = {.method = "GET", .url = url};
    struct httpc_response resp;
    struct error err;
    int before, after;

    (void)state;
    /* Warm up (an earlier test may have left the connection in any state). */
    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    httpc_response_cleanup(&resp);
    pthread_mutex_lock(&seen_lock);
    before = connections;
    pthread_mutex_unlock(&seen_lock);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
        assert_int_equal(resp.status, 200);
        httpc_response_cleanup(&resp);
    }
    pthread_mutex_lock(&seen_lock);
    after = connections;
    pthread_mutex_unlock(&seen_lock);
    assert_int_equal(after, before);
    free(url);
}

static void test_timeout_is_unavailable(void **state)
{
    char *url = url_for("/slow");
    struct httpc_request req = {.method = "GET", .url = url, .timeout_ms = 200};
    struct httpc_response resp;
    struct error err;
    int64_t t0 = clock_mono_ns();

    (void)state;
    assert_int_equal(httpc_do(&req, &resp, &err), ST_UNAVAILABLE);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    assert_true(clock_mono_ns() - t0 < 900 * 1000000LL);
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    assert_non_null(strstr(err.msg, "imed out"));
    assert_null(resp.body);
    httpc_response_cleanup(&resp);
    free(url);
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

static void test_refused_is_unavailable(void **state)
{
    char *url = xasprintf("http://user:secret@127.0.0.1:%u/x?X-Amz-Signature=abc", closed_port());
    struct httpc_request req = {.method = "GET", .url = url};
    struct httpc_response resp;
    struct error err;

    (void)state;
    assert_int_equal(httpc_do(&req, &resp, &err), ST_UNAVAILABLE);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    /* Neither the userinfo nor the query ever reaches a message. */
    assert_null(strstr(err.msg, "secret"));
    assert_null(strstr(err.msg, "Signature"));
    httpc_response_cleanup(&resp);
    free(url);
}

static void test_body_limit(void **state)
{
    char *url = url_for("/big");
    struct httpc_request req = {.method = "GET", .url = url, .max_response_bytes = 1000};
    struct httpc_response resp;
    struct error err;

    (void)state;
    assert_int_equal(httpc_do(&req, &resp, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "1000"));
    assert_null(resp.body);
    httpc_response_cleanup(&resp);

    req.max_response_bytes = 100000; /* exactly the size fits */
    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    assert_int_equal(resp.body_len, 100000);
    assert_int_equal(resp.body[99999], 'x');
    assert_int_equal(resp.body[100000], '\0');
    httpc_response_cleanup(&resp);
    free(url);
}

static void test_bad_request_struct(void **state)
{
    struct httpc_request req = {.method = "GET"};
    struct httpc_response resp;
    struct error err;

    (void)state;
    assert_int_equal(httpc_do(&req, &resp, &err), ST_INTERNAL);
    httpc_response_cleanup(&resp);
    httpc_response_cleanup(&resp); /* twice is fine */
}

static void test_backoff(void **state)
{
    long seen_max = 0;
    bool varied = false;
    long first = httpc_backoff_ms(3, 100, 2000);

    (void)state;
    for (int i = 0; i < 500; i++) {
        long a1 = httpc_backoff_ms(1, 100, 2000);
        long a3 = httpc_backoff_ms(3, 100, 2000);
        long a20 = httpc_backoff_ms(20, 100, 2000);

        assert_true(a1 >= 0 && a1 <= 100);
        assert_true(a3 >= 0 && a3 <= 400);
        assert_true(a20 >= 0 && a20 <= 2000);
        if (a20 > seen_max)
            seen_max = a20;
        if (a3 != first)
            varied = true;
    }
    assert_true(varied);
    /* Late attempts reach past the early ceilings (1 in 5^500 chance of a false failure). */
    assert_true(seen_max > 400);
}

static void test_xml_value(void **state)
{
    const char *xml = "<?xml version=\"1.0\"?><R xmlns=\"x\"><KeyCount>3</KeyCount>"
                      "<Contents><Key>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;</Key>"
                      "<Size>12</Size></Contents>"
                      "<Contents><Key>caf&#233;&#x2F;&#x1F600;</Key><Size>0</Size></Contents>"
                      "<Contents><Key>&bogus; &#0; & x</Key></Contents>"
                      "<Empty/><Attr id=\"1\">v</Attr><Open>never closed</R>";
    const char *next;
    char *v;

    (void)state;
    v = httpc_xml_value(xml, "Key", &next);
    assert_string_equal(v, "a & b <c> \"d\" 'e'");
    free(v);
    v = httpc_xml_value(next, "Key", &next);
    assert_string_equal(v, "caf\xc3\xa9/\xf0\x9f\x98\x80");
    free(v);
    v = httpc_xml_value(next, "Key", &next);
    assert_string_equal(v, "&bogus; &#0; & x");
    free(v);
    assert_null(httpc_xml_value(next, "Key", &next));
    assert_null(next);
    /* <Key> is not <KeyCount>, and <KeyCount> is not found by asking for "Key". */
    v = httpc_xml_value(xml, "KeyCount", NULL);
    assert_string_equal(v, "3");
    free(v);
    v = httpc_xml_value(xml, "Empty", NULL);
    assert_string_equal(v, "");
    free(v);
    v = httpc_xml_value(xml, "Attr", NULL);
    assert_string_equal(v, "v");
    free(v);
    assert_null(httpc_xml_value(xml, "Open", NULL));
    assert_null(httpc_xml_value(xml, "Missing", NULL));
    assert_null(httpc_xml_value(NULL, "Key", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_sends_headers_verbatim),
        cmocka_unit_test(test_put_binary_body),
        cmocka_unit_test(test_empty_put_and_post_with_type),
        cmocka_unit_test(test_head_and_delete),
        cmocka_unit_test(test_statuses_are_answers),
        cmocka_unit_test(test_connection_reused),
        cmocka_unit_test(test_timeout_is_unavailable),
        cmocka_unit_test(test_refused_is_unavailable),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_bad_request_struct),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_xml_value),
    };

    return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
