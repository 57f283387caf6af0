/*
 * test_http_server.c - the live server over loopback, spoken to with plain
 * sockets: keep-alive, bodies, limits, routing errors, HEAD, request IDs,
 * CORS, the worker pool and graceful shutdown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/ids.h"
#include "http/http.h"

#define WORKER_MAGIC 0x5e7ac

/* ------------------------------------------------------------ the app */

struct worker_ctx {
    int magic;
};

static atomic_int worker_inits;
static atomic_int worker_finis;
static atomic_int sleepers_started; /* /sleep handlers that have begun */
static atomic_int sleepers_done;

static void *app_worker_init(void *app)
{
    struct worker_ctx *w = calloc(1, sizeof(*w));

    /* No cmocka asserts here: this runs on a worker thread. */
    w->magic = app == &worker_inits ? WORKER_MAGIC : 0;
    atomic_fetch_add(&worker_inits, 1);
    return w;
}

static void app_worker_fini(void *worker)
{
    free(worker);
    atomic_fetch_add(&worker_finis, 1);
}

static bool on_worker(const struct http_request *req)
{
    const struct worker_ctx *w = req->worker;

    return w && w->magic == WORKER_MAGIC;
}

static void h_hello(struct http_request *req, struct http_response *res)
{
    (void)req;
    http_response_header(res, "ETag", "\"v1\"");
    http_response_json(res, 200, json_pack("{s:s}", "hello", "world"));
}

static void h_echo(struct http_request *req, struct http_response *res)
{
    res->status = 200;
    res->body = malloc(req->body_len + 1);
    memcpy(res->body, req->body, req->body_len + 1);
    res->body_len = req->body_len;
    res->content_type = "text/plain";
}

static void h_info(struct http_request *req, struct http_response *res)
{
    const char *q = http_query(req, "q");

    http_response_json(res, 200,
                       json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I}", "name", req->params[0], "q",
                                 q ? q : "", "route", req->route, "raw_path", req->raw_path,
                                 "request_id", req->request_id, "worker_ok", on_worker(req),
                                 "nparams", (json_int_t)req->nparams));
}

static void h_sleep(struct http_request *req, struct http_response *res)
{
    const char *ms = http_query(req, "ms");

    atomic_fetch_add(&sleepers_started, 1);
    clock_sleep_ms(ms ? atoi(ms) : 100);
    atomic_fetch_add(&sleepers_done, 1);
    http_response_json(res, 200, json_pack("{s:b}", "worker_ok", on_worker(req)));
}

static void h_delete(struct http_request *req, struct http_response *res)
{
    /* A body on a 204 must not reach the wire. */
    http_response_json(res, 204, json_pack("{s:s}", "id", req->params[0]));
}

static void h_nostatus(struct http_request *req, struct http_response *res)
{
    (void)req;
    (void)res;
}

static void h_busy(struct http_request *req, struct http_response *res)
{
    struct error err;

    (void)req;
    error_set(&err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE, "busy");
    http_response_error(res, &err);
    http_response_header(res, "Retry-After", "3");
}

/* h_tid answers with an id of the thread it ran on and whether it had a worker context. */
static void h_tid(struct http_request *req, struct http_response *res)
{
    http_response_json(res, 200,
                       json_pack("{s:I, s:b}", "tid", (json_int_t)(uintptr_t)pthread_self(),
                                 "worker_ok", on_worker(req)));
}

/* ------------------------------------------------------------ batched reads */

#define BATCH_MAX_CALLS 64
static atomic_int batch_calls;    /* batch_begin calls */
static atomic_int batch_ends;     /* batch_end calls */
static atomic_int batch_seen;     /* requests announced to batch_begin */
static atomic_int batch_first_in; /* set once the first batch_begin is running */
static int batch_sizes[BATCH_MAX_CALLS];
/* The names announced by the running batch_begin (one I/O thread in the batching test). */
static char batch_names[16][32];
static int batch_nnames;
static bool batch_open;

static void app_batch_begin(void *worker, struct http_request *const *reqs, size_t n)
{
    int call = atomic_fetch_add(&batch_calls, 1);

    (void)worker;
    if (call < BATCH_MAX_CALLS)
        batch_sizes[call] = (int)n;
    batch_nnames = 0;
    for (size_t i = 0; i < n && i < 16; i++)
        snprintf(batch_names[batch_nnames++], sizeof(batch_names[0]), "%s", reqs[i]->params[0]);
    atomic_fetch_add(&batch_seen, (int)n);
    batch_open = true;
    /* The first batch holds the loop so that the next requests arrive together. */
    if (call == 0) {
        atomic_store(&batch_first_in, 1);
        clock_sleep_ms(200);
    }
}

static void app_batch_end(void *worker)
{
    (void)worker;
    batch_open = false;
    atomic_fetch_add(&batch_ends, 1);
}

/* h_batched says which name it was asked for and whether batch_begin announced it first. */
static void h_batched(struct http_request *req, struct http_response *res)
{
    bool announced = false;

    for (int i = 0; batch_open && i < batch_nnames; i++)
        announced = announced || strcmp(batch_names[i], req->params[0]) == 0;
    http_response_json(res, 200,
                       json_pack("{s:s, s:b, s:b}", "name", req->params[0], "announced", announced,
                                 "worker_ok", on_worker(req)));
}

static const struct http_route routes[] = {
    {"GET", "/batched/{name}", h_batched, true},
    {"GET", "/tid", h_tid, false},
    {"POST", "/tid", h_tid, false},
    {"GET", "/busy", h_busy, false},
    {"GET", "/hello", h_hello, false},
    {"POST", "/echo", h_echo, false},
    {"GET", "/info/{name}", h_info, false},
    {"GET", "/sleep", h_sleep, false},
    {"DELETE", "/thing/{id}", h_delete, false},
    {"GET", "/nostatus", h_nostatus, false},
    {NULL, NULL, NULL, false},
};

static struct http_options base_options(void)
{
    struct http_options o;

    memset(&o, 0, sizeof(o));
    o.host = "127.0.0.1";
    o.port = 0;
    o.io_threads = 1;
    o.workers = 4;
    o.max_body_bytes = 1024;
    o.cors_origins = "https://app.example, https://other.example";
    o.shutdown_grace_ms = 5000;
    o.routes = routes;
    o.app = &worker_inits;
    o.worker_init = app_worker_init;
    o.worker_fini = app_worker_fini;
    return o;
}

static struct http_server *start(const struct http_options *o)
{
    struct http_server *srv = NULL;
    struct error err;

    error_clear(&err);
    if (http_server_start(o, &srv, &err) != ST_OK)
        fail_msg("server did not start: %s", err.msg);
    assert_true(http_server_port(srv) > 0);
    return srv;
}

/* ------------------------------------------------------------ a tiny client */

struct conn {
    int fd;
    char buf[65536];
    size_t len;
};

struct resp {
    int status;
    char head[8192];
    char body[16384];
    size_t body_len;
};

static struct conn *conn_open(unsigned short port)
{
    struct conn *c = calloc(1, sizeof(*c));
    struct sockaddr_in sa;
    struct timeval tv = {.tv_sec = 10};
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return c;
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c);
}

static void conn_send(struct conn *c, const char *data)
{
    size_t len = strlen(data), off = 0;

    while (off < len) {
        ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL);

        assert_true(n > 0);
        off += (size_t)n;
    }
}

/* fill reads more bytes into c->buf; false on EOF, error or timeout. */
static bool fill(struct conn *c)
{
    ssize_t n;

    if (c->len == sizeof(c->buf))
        return false;
    n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n <= 0)
        return false;
    c->len += (size_t)n;
    return true;
}

static bool header_value(const struct resp *r, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *line = strstr(r->head, "\r\n");

    while (line && line[2]) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            const char *end = strstr(v, "\r\n");
            size_t vlen;

            while (*v == ' ')
                v++;
            vlen = end ? (size_t)(end - v) : strlen(v);
            if (vlen >= outlen)
                vlen = outlen - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return true;
        }
        line = strstr(line, "\r\n");
    }
    return false;
}

/*
 * conn_read reads one response. no_body: the request was HEAD, so the
 * Content-Length describes a body that is not sent. Returns false on EOF.
 */
static bool conn_read(struct conn *c, struct resp *r, bool no_body)
{
    char *end;
    size_t hlen, blen = 0;
    char cl[32];

    memset(r, 0, sizeof(*r));
    for (;;) {
        c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = '\0';
        end = strstr(c->buf, "\r\n\r\n");
        if (end)
            break;
        if (!fill(c))
            return false;
    }
    hlen = (size_t)(end - c->buf) + 4;
    assert_true(hlen < sizeof(r->head));
    memcpy(r->head, c->buf, hlen);
    r->head[hlen] = '\0';
    assert_int_equal(sscanf(r->head, "HTTP/1.%*d %d", &r->status), 1);
    if (!no_body && r->status != 204 && r->status != 304 &&
        header_value(r, "Content-Length", cl, sizeof(cl)))
        blen = strtoul(cl, NULL, 10);
    assert_true(blen < sizeof(r->body));
    while (c->len < hlen + blen)
        if (!fill(c))
            return false;
    memcpy(r->body, c->buf + hlen, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    return true;
}

/* request sends one raw request on a fresh connection and reads the response. */
static void request(unsigned short port, const char *raw, struct resp *r)
{
    struct conn *c = conn_open(port);

    conn_send(c, raw);
    assert_true(conn_read(c, r, strncmp(raw, "HEAD ", 5) == 0));
    conn_close(c);
}

static json_t *body_json(const struct resp *r)
{
    json_error_t jerr;
    json_t *v = json_loadb(r->body, r->body_len, 0, &jerr);

    if (!v)
        fail_msg("response body is not JSON: %s", r->body);
    return v;
}

static void assert_error_body(const struct resp *r, int code, const char *type, const char *msg)
{
    json_t *v = body_json(r);
    char ct[64];

    assert_true(header_value(r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/json");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "error"), "code")),
                     code);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "error"), "type")),
                        type);
    if (msg)
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(v, "error"), "message")), msg);
    json_decref(v);
}

/* ------------------------------------------------------------ shared server */

static struct http_server *shared;
static unsigned short port;

static int setup_shared(void **state)
{
    struct http_options o = base_options();

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    o.io_threads = 2; /* an MHD thread pool; the lifecycle tests use a single I/O thread */
    o.workers = 6;
    shared = start(&o);
    port = http_server_port(shared);
    return 0;
}

static int teardown_shared(void **state)
{
    (void)state;
    http_server_stop(shared);
    return 0;
}

static void test_retry_after_once(void **state)
{
    struct resp r;
    char v[128];
    const char *first;

    (void)state;
    request(port, "GET /busy HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 503);
    assert_true(header_value(&r, "Retry-After", v, sizeof(v)));
    assert_string_equal(v, "3"); /* the handler's value wins over the server's default */
    first = strstr(r.head, "Retry-After:");
    assert_non_null(first);
    assert_null(strstr(first + 1, "Retry-After:"));
}

static void test_get_json(void **state)
{
    struct resp r;
    char v[128];
    json_t *body;

    (void)state;
    request(port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_true(header_value(&r, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, "application/json");
    assert_true(header_value(&r, "ETag", v, sizeof(v)));
    assert_string_equal(v, "\"v1\"");
    body = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(body, "hello")), "world");
    json_decref(body);
}

static void test_keep_alive(void **state)
{
    struct conn *c = conn_open(port);
    struct resp r;
    char v[64];

    (void)state;
    for (int i = 0; i < 3; i++) {
        conn_send(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_true(conn_read(c, &r, false));
        assert_int_equal(r.status, 200);
        assert_false(header_value(&r, "Connection", v, sizeof(v)) && strcasecmp(v, "close") == 0);
    }
    /* A POST with a body on the same connection still works. */
    conn_send(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde");
    assert_true(conn_read(c, &r, false));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "abcde");
    conn_close(c);
}

static void test_body_echo(void **state)
{
    struct resp r;
    char v[64];
    char req[2048];
    char body[1025];

    (void)state;
    request(port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello body", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello body");
    assert_true(header_value(&r, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, "text/plain");

    /* Exactly at the limit is fine, and chunked bodies are reassembled. */
    memset(body, 'b', 1024);
    body[1024] = '\0';
    snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n%s",
             body);
    request(port, req, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 1024);

    request(port,
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello world");
}

static void test_body_too_large(void **state)
{
    struct resp r;
    struct conn *c;
    char req[4096];
    char body[1500];

    (void)state;
    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    request(port, req, &r);
    assert_int_equal(r.status, 413);
    assert_error_body(&r, 413, "PayloadTooLargeException",
                      "Request body too large: limit 1024 bytes");

    /* Declared only by chunks: read and dropped, then 413 on a connection that stays usable. */
    c = conn_open(port);
    snprintf(req, sizeof(req),
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "%zx\r\n%s\r\n0\r\n\r\n",
             strlen(body), body);
    conn_send(c, req);
    assert_true(conn_read(c, &r, false));
    assert_int_equal(r.status, 413);
    assert_error_body(&r, 413, "PayloadTooLargeException", NULL);
    conn_send(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(conn_read(c, &r, false));
    assert_int_equal(r.status, 200);
    conn_close(c);
}

static void test_no_route_is_400(void **state)
{
    struct resp r;

    (void)state;
    request(port, "GET /nope/x%2Fy?a=1 HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    assert_error_body(&r, 400, "BadRequestException", "No route for request: GET /nope/x%2Fy");
}

static void test_wrong_method_is_405(void **state)
{
    struct resp r;
    char v[128];

    (void)state;
    request(port, "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_true(header_value(&r, "Allow", v, sizeof(v)));
    assert_string_equal(v, "GET, HEAD");
    assert_error_body(&r, 405, "MethodNotAllowedException", NULL);
}

static void test_bad_target_is_400(void **state)
{
    struct resp r;

    (void)state;
    request(port, "GET /info/x?q=%zz HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    assert_error_body(&r, 400, "BadRequestException", NULL);
}

static void test_raw_path_and_query(void **state)
{
    struct resp r;
    json_t *v;

    (void)state;
    request(port, "GET /info/a%1Fb%2Fc+d?q=x+y%20z%1F HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    v = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(v, "name")), "a%1Fb%2Fc+d");
    assert_string_equal(json_string_value(json_object_get(v, "raw_path")), "/info/a%1Fb%2Fc+d");
    assert_string_equal(json_string_value(json_object_get(v, "q")), "x y z\x1f");
    assert_string_equal(json_string_value(json_object_get(v, "route")), "/info/{name}");
    assert_int_equal(json_integer_value(json_object_get(v, "nparams")), 1);
    assert_true(json_is_true(json_object_get(v, "worker_ok")));
    json_decref(v);
}

static void test_head_has_no_body(void **state)
{
    struct conn *c = conn_open(port);
    struct resp r;
    char cl[32];

    (void)state;
    conn_send(c, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(conn_read(c, &r, true));
    assert_int_equal(r.status, 200);
    /* Same headers as GET, including the length of the body GET would send. */
    assert_true(header_value(&r, "Content-Length", cl, sizeof(cl)));
    assert_string_equal(cl, "17");
    /* If any body bytes had been sent, this response would not parse. */
    conn_send(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(conn_read(c, &r, false));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"hello\":\"world\"}");
    conn_close(c);
}

static void test_204_has_no_body(void **state)
{
    struct conn *c = conn_open(port);
    struct resp r;

    (void)state;
    conn_send(c, "DELETE /thing/7 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(conn_read(c, &r, false));
    assert_int_equal(r.status, 204);
    conn_send(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(conn_read(c, &r, false));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"hello\":\"world\"}");
    assert_int_equal(c->len, 0);
    conn_close(c);
}

static void test_handler_without_status_is_500(void **state)
{
    struct resp r;

    (void)state;
    request(port, "GET /nostatus HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 500);
    assert_error_body(&r, 500, "InternalServerError", NULL);
}

static void test_request_id(void **state)
{
    struct resp r;
    char v[256], req[512], long_id[130];
    json_t *body;

    (void)state;
    request(port, "GET /info/x HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc-123 xyz\r\n\r\n", &r);
    assert_true(header_value(&r, "X-Request-ID", v, sizeof(v)));
    assert_string_equal(v, "abc-123 xyz");
    body = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(body, "request_id")), "abc-123 xyz");
    json_decref(body);

    request(port, "GET /info/x HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_true(header_value(&r, "X-Request-ID", v, sizeof(v)));
    assert_true(ids_is_uuid(v));
    body = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(body, "request_id")), v);
    json_decref(body);

    /* 129 characters is too long: a fresh ID replaces it. Error answers carry one too. */
    memset(long_id, 'a', 129);
    long_id[129] = '\0';
    snprintf(req, sizeof(req), "GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-ID: %s\r\n\r\n",
             long_id);
    request(port, req, &r);
    assert_int_equal(r.status, 400);
    assert_true(header_value(&r, "X-Request-ID", v, sizeof(v)));
    assert_true(ids_is_uuid(v));

    long_id[128] = '\0';
    snprintf(req, sizeof(req), "GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-ID: %s\r\n\r\n",
             long_id);
    request(port, req, &r);
    assert_true(header_value(&r, "X-Request-ID", v, sizeof(v)));
    assert_string_equal(v, long_id);
}

static void test_cors_preflight(void **state)
{
    struct resp r;
    char v[256];

    (void)state;
    request(port,
            "OPTIONS /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
            "Access-Control-Request-Method: GET\r\n"
            "Access-Control-Request-Headers: authorization, content-type\r\n\r\n",
            &r);
    assert_int_equal(r.status, 204);
    assert_true(header_value(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "https://app.example");
    assert_true(header_value(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
    assert_string_equal(v, "GET, HEAD, POST, PUT, DELETE, OPTIONS");
    assert_true(header_value(&r, "Access-Control-Allow-Headers", v, sizeof(v)));
    assert_string_equal(v, "authorization, content-type");
    assert_true(header_value(&r, "Access-Control-Max-Age", v, sizeof(v)));
    assert_string_equal(v, "600");
    assert_true(header_value(&r, "Vary", v, sizeof(v)));
    assert_string_equal(v, "Origin");
    assert_int_equal(r.body_len, 0);

    /* A preflight from an origin not on the list gets no CORS headers. */
    request(port,
            "OPTIONS /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n"
            "Access-Control-Request-Method: GET\r\n\r\n",
            &r);
    assert_int_not_equal(r.status, 204);
    assert_false(header_value(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
}

static void test_cors_simple_request(void **state)
{
    struct resp r;
    char v[256];

    (void)state;
    request(port, "GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://other.example\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_true(header_value(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "https://other.example");
    assert_true(header_value(&r, "Access-Control-Expose-Headers", v, sizeof(v)));
    assert_string_equal(v, "ETag, X-Request-ID");
    assert_false(header_value(&r, "Access-Control-Allow-Methods", v, sizeof(v)));

    request(port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_false(header_value(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
}

static void test_access_log(void **state)
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    struct resp r;
    char line[4096];
    bool found = false;

    (void)state;
    assert_non_null(tmp);
    fflush(stderr);
    dup2(fileno(tmp), STDERR_FILENO);
    request(port,
            "GET /info/logme HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRET-TOKEN-42\r\n"
            "X-Request-ID: log-test-1\r\n\r\n",
            &r);
    request(port, "GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-ID: log-test-2\r\n\r\n", &r);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    while (fgets(line, sizeof(line), tmp)) {
        json_t *v = json_loads(line, 0, NULL);

        assert_null(strstr(line, "SECRET-TOKEN-42"));
        if (!v || strcmp(json_string_value(json_object_get(v, "msg")), "request") != 0) {
            json_decref(v);
            continue;
        }
        if (strcmp(json_string_value(json_object_get(v, "request_id")), "log-test-1") == 0) {
            assert_string_equal(json_string_value(json_object_get(v, "method")), "GET");
            assert_string_equal(json_string_value(json_object_get(v, "route")), "/info/{name}");
            assert_int_equal(json_integer_value(json_object_get(v, "status")), 200);
            assert_true(json_is_real(json_object_get(v, "latency_ms")));
            assert_int_equal(json_integer_value(json_object_get(v, "bytes_in")), 0);
            assert_true(json_integer_value(json_object_get(v, "bytes_out")) > 0);
            found = true;
        }
        if (strcmp(json_string_value(json_object_get(v, "request_id")), "log-test-2") == 0) {
            assert_string_equal(json_string_value(json_object_get(v, "route")), "-");
            assert_int_equal(json_integer_value(json_object_get(v, "status")), 400);
        }
        json_decref(v);
    }
    fclose(tmp);
    assert_true(found);
}

struct sleeper {
    unsigned short port;
    int ms;
    struct resp r;
    bool ok;
};

static void *sleeper_main(void *arg)
{
    struct sleeper *s = arg;
    struct conn *c = conn_open(s->port);
    char req[128];

    snprintf(req, sizeof(req), "GET /sleep?ms=%d HTTP/1.1\r\nHost: x\r\n\r\n", s->ms);
    conn_send(c, req);
    s->ok = conn_read(c, &s->r, false);
    conn_close(c);
    return NULL;
}

static void test_handlers_run_on_workers(void **state)
{
    enum { N = 5, MS = 500 };
    struct sleeper s[N];
    pthread_t t[N];
    int64_t t0 = clock_mono_ns(), fast;
    int base = atomic_load(&sleepers_started);
    struct resp r;

    (void)state;
    for (int i = 0; i < N; i++) {
        s[i] = (struct sleeper){.port = port, .ms = MS};
        pthread_create(&t[i], NULL, sleeper_main, &s[i]);
    }
    /* Once every sleeper holds a worker, the single I/O thread must still answer. */
    while (atomic_load(&sleepers_started) - base < N)
        clock_sleep_ms(5);
    fast = clock_mono_ns();
    request(port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    fast = (clock_mono_ns() - fast) / 1000000;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_true(s[i].ok);
        assert_int_equal(s[i].r.status, 200);
        assert_non_null(strstr(s[i].r.body, "\"worker_ok\":true"));
    }
    /* Serially the sleepers would take N * MS = 2500 ms. */
    assert_true((clock_mono_ns() - t0) / 1000000 < 2 * MS);
    assert_true(fast < MS / 2);
}

struct hammer {
    int id;
    int failures;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    struct conn *c = conn_open(port);
    struct resp r;

    for (int i = 0; i < 100; i++) {
        char req[256], body[64];

        snprintf(body, sizeof(body), "client %d request %d", h->id, i);
        snprintf(req, sizeof(req),
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s", strlen(body),
                 body);
        conn_send(c, req);
        if (!conn_read(c, &r, false) || r.status != 200 || strcmp(r.body, body) != 0)
            h->failures++;
    }
    conn_close(c);
    return NULL;
}

static void test_many_clients_keep_alive(void **state)
{
    enum { N = 8 };
    struct hammer h[N];
    pthread_t t[N];

    (void)state;
    for (int i = 0; i < N; i++) {
        h[i] = (struct hammer){.id = i};
        pthread_create(&t[i], NULL, hammer_main, &h[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(h[i].failures, 0);
    }
}

/* ------------------------------------------------------------ own servers */

static void test_bind_failure(void **state)
{
    struct http_options o = base_options();
    struct http_server *a = start(&o), *b = NULL;
    struct error err;
    char expect[64];

    (void)state;
    o.port = http_server_port(a);
    error_clear(&err);
    assert_int_equal(http_server_start(&o, &b, &err), ST_UNAVAILABLE);
    assert_null(b);
    snprintf(expect, sizeof(expect), "cannot listen on 127.0.0.1:%u: Address already in use",
             (unsigned)o.port);
    assert_string_equal(err.msg, expect);
    http_server_stop(a);

    o.host = "no-such-host.invalid";
    o.port = 0;
    assert_int_not_equal(http_server_start(&o, &b, &err), ST_OK);
    assert_null(b);
}

static void test_workers_init_and_fini(void **state)
{
    struct http_options o = base_options();
    int inits = atomic_load(&worker_inits), finis = atomic_load(&worker_finis);
    struct http_server *srv;

    (void)state;
    o.workers = 3;
    srv = start(&o);
    http_server_stop(srv);
    assert_int_equal(atomic_load(&worker_inits) - inits, 3);
    assert_int_equal(atomic_load(&worker_finis) - finis, 3);
}

static json_int_t tid_of(unsigned short p, const char *method, bool *worker_ok)
{
    char raw[128];
    struct resp r;
    json_t *v;
    json_int_t tid;

    snprintf(raw, sizeof(raw), "%s /tid HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", method);
    request(p, raw, &r);
    assert_int_equal(r.status, 200);
    v = json_loads(r.body, 0, NULL);
    assert_non_null(v);
    tid = json_integer_value(json_object_get(v, "tid"));
    *worker_ok = json_is_true(json_object_get(v, "worker_ok"));
    json_decref(v);
    return tid;
}

static void test_inline_reads(void **state)
{
    struct http_options o = base_options();
    int inits = atomic_load(&worker_inits), finis = atomic_load(&worker_finis);
    struct http_server *srv;
    json_int_t get1, get2, post;
    bool ok1, ok2, okp;

    (void)state;
    o.workers = 2;
    o.io_threads = 1;
    o.inline_reads = true;
    srv = start(&o);
    get1 = tid_of(http_server_port(srv), "GET", &ok1);
    get2 = tid_of(http_server_port(srv), "GET", &ok2);
    post = tid_of(http_server_port(srv), "POST", &okp);
    /* Reads ran on the one I/O thread, with a context of its own; the write on a worker. */
    assert_true(ok1 && ok2 && okp);
    assert_true(get1 == get2);
    assert_true(post != get1);
    http_server_stop(srv);
    /* Two pool workers plus the I/O thread's context, all freed at stop. */
    assert_int_equal(atomic_load(&worker_inits) - inits, 3);
    assert_int_equal(atomic_load(&worker_finis) - finis, 3);
}

/*
 * Reads on batch routes wait for the end of their loop round and are
 * announced together to batch_begin before any of their handlers runs;
 * other reads of the round do not wait and are not announced.
 */
static void test_batched_reads(void **state)
{
    struct http_options o = base_options();
    struct http_server *srv;
    struct conn *c[7];
    struct resp r;
    char req[128];
    int max = 0;

    (void)state;
    o.io_threads = 1;
    o.inline_reads = true;
    o.batch_begin = app_batch_begin;
    o.batch_end = app_batch_end;
    srv = start(&o);
    for (int i = 0; i < 7; i++)
        c[i] = conn_open(http_server_port(srv));
    conn_send(c[0], "GET /batched/first HTTP/1.1\r\nHost: x\r\n\r\n");
    while (!atomic_load(&batch_first_in))
        clock_sleep_ms(2);
    /* While the first batch holds the loop: five batch reads and one plain read. */
    for (int i = 1; i < 6; i++) {
        snprintf(req, sizeof(req), "GET /batched/n%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        conn_send(c[i], req);
    }
    conn_send(c[6], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < 6; i++) {
        json_t *v;

        assert_true(conn_read(c[i], &r, false));
        assert_int_equal(r.status, 200);
        v = body_json(&r);
        if (i == 0)
            assert_string_equal(json_string_value(json_object_get(v, "name")), "first");
        else {
            snprintf(req, sizeof(req), "n%d", i);
            assert_string_equal(json_string_value(json_object_get(v, "name")), req);
        }
        assert_true(json_is_true(json_object_get(v, "announced")));
        assert_true(json_is_true(json_object_get(v, "worker_ok")));
        json_decref(v);
    }
    assert_true(conn_read(c[6], &r, false));
    assert_int_equal(r.status, 200);
    /* Keep-alive still works after a batched answer. */
    conn_send(c[1], "GET /batched/again HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(conn_read(c[1], &r, false));
    assert_int_equal(r.status, 200);
    http_server_stop(srv);
    for (int i = 0; i < 7; i++)
        conn_close(c[i]);
    /* Seven batch reads announced, never /hello; the five sent together came in one batch. */
    assert_int_equal(atomic_load(&batch_seen), 7);
    assert_int_equal(atomic_load(&batch_ends), atomic_load(&batch_calls));
    assert_int_equal(batch_sizes[0], 1);
    for (int i = 0; i < atomic_load(&batch_calls) && i < BATCH_MAX_CALLS; i++)
        max = batch_sizes[i] > max ? batch_sizes[i] : max;
    assert_int_equal(max, 5);
}

static void test_queue_full_is_503(void **state)
{
    struct http_options o = base_options();
    struct http_server *srv;
    struct sleeper a, b;
    pthread_t ta, tb;
    struct resp r;
    char v[16];
    int base = atomic_load(&sleepers_started);

    (void)state;
    o.workers = 1;
    o.queue_limit = 1;
    srv = start(&o);
    a = (struct sleeper){.port = http_server_port(srv), .ms = 600};
    b = a;
    pthread_create(&ta, NULL, sleeper_main, &a);
    while (atomic_load(&sleepers_started) == base)
        clock_sleep_ms(5);
    /* a runs on the only worker; b waits in the queue; the next one is turned away. */
    pthread_create(&tb, NULL, sleeper_main, &b);
    clock_sleep_ms(150);
    request(http_server_port(srv), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 503);
    assert_error_body(&r, 503, "ServiceUnavailableException", NULL);
    assert_true(header_value(&r, "Retry-After", v, sizeof(v)));
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.r.status, 200);
    assert_int_equal(b.r.status, 200);
    http_server_stop(srv);
}

static void test_graceful_stop_finishes_in_flight(void **state)
{
    struct http_options o = base_options();
    struct http_server *srv = start(&o);
    struct sleeper s = {.port = http_server_port(srv), .ms = 400};
    int base = atomic_load(&sleepers_started);
    int done = atomic_load(&sleepers_done);
    pthread_t t;
    char v[16];

    (void)state;
    pthread_create(&t, NULL, sleeper_main, &s);
    while (atomic_load(&sleepers_started) == base)
        clock_sleep_ms(5);
    http_server_stop(srv);
    /* stop returned only after the handler finished and its response went out. */
    assert_int_equal(atomic_load(&sleepers_done) - done, 1);
    pthread_join(t, NULL);
    assert_true(s.ok);
    assert_int_equal(s.r.status, 200);
    assert_true(header_value(&s.r, "Connection", v, sizeof(v)));
    assert_string_equal(v, "close");
}

static void test_stop_after_grace_answers_queued_503(void **state)
{
    struct http_options o = base_options();
    struct http_server *srv;
    struct sleeper a, b;
    pthread_t ta, tb;
    int base = atomic_load(&sleepers_started);

    (void)state;
    o.workers = 1;
    o.shutdown_grace_ms = 50;
    srv = start(&o);
    a = (struct sleeper){.port = http_server_port(srv), .ms = 400};
    b = a;
    pthread_create(&ta, NULL, sleeper_main, &a);
    while (atomic_load(&sleepers_started) == base)
        clock_sleep_ms(5);
    pthread_create(&tb, NULL, sleeper_main, &b);
    clock_sleep_ms(100); /* b is queued behind a */
    http_server_stop(srv);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    /* The running handler finished; the queued request never ran. */
    assert_true(a.ok);
    assert_int_equal(a.r.status, 200);
    assert_true(b.ok);
    assert_int_equal(b.r.status, 503);
    assert_error_body(&b.r, 503, "ServiceUnavailableException",
                      "Service unavailable: the server is shutting down");
    assert_int_equal(atomic_load(&sleepers_started) - base, 1);
}

static void test_stop_with_idle_and_partial_connections(void **state)
{
    struct http_options o = base_options();
    struct http_server *srv = start(&o);
    struct conn *idle = conn_open(http_server_port(srv));
    struct conn *partial = conn_open(http_server_port(srv));
    struct resp r;

    (void)state;
    conn_send(idle, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(conn_read(idle, &r, false));
    conn_send(partial, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
    clock_sleep_ms(50);
    http_server_stop(srv);
    /* Both connections are closed by the server, nothing leaks (ASan checks). */
    assert_false(conn_read(partial, &r, false));
    conn_close(idle);
    conn_close(partial);
}

int main(void)
{
    const struct CMUnitTest live[] = {
        cmocka_unit_test(test_get_json),
        cmocka_unit_test(test_retry_after_once),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_body_echo),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_no_route_is_400),
        cmocka_unit_test(test_wrong_method_is_405),
        cmocka_unit_test(test_bad_target_is_400),
        cmocka_unit_test(test_raw_path_and_query),
        cmocka_unit_test(test_head_has_no_body),
        cmocka_unit_test(test_204_has_no_body),
        cmocka_unit_test(test_handler_without_status_is_500),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_cors_preflight),
        cmocka_unit_test(test_cors_simple_request),
        cmocka_unit_test(test_access_log),
        cmocka_unit_test(test_handlers_run_on_workers),
        cmocka_unit_test(test_many_clients_keep_alive),
    };
    const struct CMUnitTest lifecycle[] = {
        cmocka_unit_test(test_bind_failure),
        cmocka_unit_test(test_workers_init_and_fini),
        cmocka_unit_test(test_inline_reads),
        cmocka_unit_test(test_batched_reads),
        cmocka_unit_test(test_queue_full_is_503),
        cmocka_unit_test(test_graceful_stop_finishes_in_flight),
        cmocka_unit_test(test_stop_after_grace_answers_queued_503),
        cmocka_unit_test(test_stop_with_idle_and_partial_connections),
    };
    int failed = cmocka_run_group_tests_name("live", live, setup_shared, teardown_shared);

    failed += cmocka_run_group_tests_name("lifecycle", lifecycle, NULL, NULL);
    return failed;
}
