/*
 * server.c - the event loops, the worker pool and the middleware.
 *
 * Each I/O thread runs an event loop around a libmicrohttpd daemon of its own
 * (external epoll mode; all daemons share one listening socket). MHD calls
 * on_request several times per request: once when the headers are in (we
 * only attach state), once per piece of body, and once more with no data
 * when the request is complete. Then the request is routed and either
 * answered on the I/O thread (reads, when inline_reads is on), deferred to
 * the end of the loop's round (batched reads, see run_batch), or its
 * connection is suspended and the request queued to a worker, which runs the
 * middleware and the handler and resumes the connection; MHD calls
 * on_request again and we queue the response. Queueing a response only on a
 * second or later call keeps keep-alive working in MHD 0.9.75. Requests that
 * need no handler (bad target, body too large, queue full, shutting down)
 * are answered on the I/O thread.
 *
 * Shutdown (http_server_stop): each loop quiesces its daemon (stops
 * accepting), in-flight requests get the grace period to finish, workers
 * answer whatever is still queued with 503 and resume those connections, the
 * workers are joined, and only then do the loops end and the daemons stop:
 * MHD must never see a suspended connection at stop.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "http/http.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_MAX_CONNECTIONS 16384
#define DEFAULT_QUEUE_LIMIT 4096
#define DEFAULT_CONN_TIMEOUT_S 60
#define DEFAULT_MAX_BODY ((size_t)16 << 20)
#define DEFAULT_GRACE_MS 5000
/* After the workers are joined, how long resumed responses get to be written. */
#define FLUSH_WAIT_MS 1000
/*
 * Per-connection memory of MHD: the request line and headers are read and
 * parsed in it and the response headers written from it (bodies are not).
 * MHD zeroes all of it after each request, so every kept-alive connection
 * holds all of it resident: with 10,000 connections, 10,000 times this.
 * 10 KiB takes about 9.7 KB of request line and headers, more than the 8 KB
 * Tomcat, Jetty and Vert.x accept by default (MHD's default is 32 KiB);
 * larger gets 431 or a closed connection. --connection-memory changes it.
 */
#define DEFAULT_CONNECTION_MEMORY (10 * 1024)
#define REQUEST_ID_MAX 128
/* A request that read or answered this much has freed (or will free) a lot of heap. */
#define LARGE_REQUEST_BYTES ((size_t)1 << 20)

#define CORS_ALLOW_METHODS "GET, HEAD, POST, PUT, DELETE, OPTIONS"
#define CORS_EXPOSE_HEADERS "ETag, X-Request-ID"
#define CORS_MAX_AGE "600"

enum ctx_state {
    CTX_NEW,     /* headers received, on_request not called yet */
    CTX_READING, /* receiving the body */
    CTX_QUEUED,  /* suspended, owned by the worker pool */
    CTX_DONE,    /* response ready to be queued */
};

/* One request, from the URI log callback to MHD's completion notice. */
struct http_ctx {
    struct http_server *srv;
    struct MHD_Connection *conn;
    struct http_ctx *next; /* worker queue link */
    struct io_loop *loop;  /* the loop whose daemon has the connection */
    enum ctx_state state;
    char *target; /* raw request target, as received */
    char *method;
    char *path; /* raw path, owned */
    struct buf body;
    size_t bytes_in;
    bool too_large;
    bool counted; /* included in srv->inflight */
    int64_t start_ns;
    bool has_early; /* answered with `early` instead of a handler */
    struct error early;
    const struct http_route *route;
    char *scratch; /* owns the strings req.params point into */
    char *allow;   /* Allow header for a 405 */
    const char *cors_origin;
    bool preflight;
    size_t nheaders_cap;
    struct http_request req;
    struct http_response res;
    char request_id[REQUEST_ID_MAX + 1];
};

/* One I/O thread: an MHD daemon in external epoll mode and the loop that drives it. */
struct io_loop {
    struct http_server *srv;
    struct MHD_Daemon *daemon;
    int wake_fd; /* eventfd: http_server_stop wakes the loop to quiesce or exit */
    pthread_t thread;
    bool running;
    bool quiesced;
    /* Batched reads of this round, suspended until run_batch (owned by the loop thread). */
    struct http_ctx **batch;
    struct http_request **batch_reqs;
    size_t nbatch, batch_cap;
};

struct http_server {
    struct io_loop *loops;
    unsigned nloops;
    MHD_socket listen_fd; /* shared by every daemon, closed by http_server_stop */
    atomic_bool quiesce_req;
    atomic_bool exit_req;
    /* loop_lock protects nquiesced. */
    pthread_mutex_t loop_lock;
    pthread_cond_t loop_cond;
    unsigned nquiesced;
    unsigned short port;
    const struct http_route *routes;
    char *cors_origins; /* NULL when CORS is off */
    size_t max_body;
    size_t queue_limit;
    unsigned grace_ms;
    void *app;
    http_worker_init_fn worker_init;
    http_worker_fini_fn worker_fini;

    pthread_t *workers;
    unsigned nworkers;

    /* queue_lock protects head, tail, nqueued and stopping. */
    pthread_mutex_t queue_lock;
    pthread_cond_t queue_cond;
    struct http_ctx *head, *tail;
    size_t nqueued;
    bool stopping; /* workers answer 503 and exit once the queue is empty */

    /* inflight_lock protects inflight (complete requests not yet finished by MHD). */
    pthread_mutex_t inflight_lock;
    pthread_cond_t inflight_cond;
    size_t inflight;

    atomic_bool draining; /* stop was called: responses carry Connection: close */

    bool inline_reads;
    http_batch_begin_fn batch_begin;
    http_batch_end_fn batch_end;
    /* inline_lock protects the worker contexts the I/O threads made for inline reads. */
    pthread_mutex_t inline_lock;
    void **inline_ctxs;
    size_t n_inline;
};

/* The calling I/O thread's loop, and its worker context for inline reads. */
static _Thread_local struct {
    struct http_server *srv;
    void *wctx;
    struct io_loop *loop;
} io_local;

/* ---------------------------------------------------------------- helpers */

/* ncpus counts the CPUs this process may run on (taskset, cpusets), not all online ones. */
static unsigned ncpus(void)
{
    cpu_set_t set;
    long n;

    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* ascii_or_dash returns s when it is printable ASCII (safe to log as JSON), else "-". */
static const char *ascii_or_dash(const char *s)
{
    if (!s || !*s)
        return "-";
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return "-";
    return s;
}

static void ctx_free(struct http_ctx *c)
{
    free(c->target);
    free(c->method);
    free(c->path);
    buf_cleanup(&c->body);
    free(c->scratch);
    free(c->allow);
    http_kv_free(c->req.query, c->req.nquery);
    free(c->req.headers); /* the strings are MHD's */
    free(c->res.body);
    for (size_t i = 0; i < c->res.nheaders; i++) {
        free(c->res.headers[i].name);
        free(c->res.headers[i].value);
    }
    free(c);
}

static struct http_ctx *ctx_new(struct http_server *srv, struct MHD_Connection *conn,
                                const char *target)
{
    struct http_ctx *c = xcalloc(1, sizeof(*c));

    c->srv = srv;
    c->conn = conn;
    c->state = CTX_NEW;
    c->loop = io_local.loop;
    c->target = xstrdup(target ? target : "");
    c->start_ns = clock_mono_ns();
    buf_init(&c->body, srv->max_body);
    return c;
}

static void set_early(struct http_ctx *c, enum status st, enum errtype type, const char *msg)
{
    c->has_early = true;
    error_set(&c->early, st, type, "%s", msg);
}

static void inflight_add(struct http_ctx *c)
{
    struct http_server *srv = c->srv;

    if (c->counted)
        return;
    c->counted = true;
    pthread_mutex_lock(&srv->inflight_lock);
    srv->inflight++;
    pthread_mutex_unlock(&srv->inflight_lock);
}

static void inflight_done(struct http_server *srv)
{
    pthread_mutex_lock(&srv->inflight_lock);
    if (--srv->inflight == 0)
        pthread_cond_broadcast(&srv->inflight_cond);
    pthread_mutex_unlock(&srv->inflight_lock);
}

/* inflight_wait waits until no request is in flight or ms milliseconds passed. */
static void inflight_wait(struct http_server *srv, unsigned ms)
{
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&srv->inflight_lock);
    while (srv->inflight > 0)
        if (pthread_cond_timedwait(&srv->inflight_cond, &srv->inflight_lock, &deadline) ==
            ETIMEDOUT)
            break;
    pthread_mutex_unlock(&srv->inflight_lock);
}

/* ------------------------------------------------------------- middleware */

/* request_id_ok accepts a client X-Request-ID of 1..128 printable ASCII characters. */
static bool request_id_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (n >= REQUEST_ID_MAX || (unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e)
            return false;
    return n > 0;
}

static void assign_request_id(struct http_ctx *c)
{
    const char *id = http_header(&c->req, "X-Request-ID");

    if (id && request_id_ok(id))
        snprintf(c->request_id, sizeof(c->request_id), "%s", id);
    else
        ids_uuid_v4(c->request_id);
    c->req.request_id = c->request_id;
}

/* origin_allowed says whether origin appears in the comma-separated list (or the list has "*"). */
static bool origin_allowed(const char *list, const char *origin)
{
    size_t olen = strlen(origin);
    const char *p = list;

    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;

        while (len > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if ((len == 1 && *s == '*') || (len == olen && strncasecmp(s, origin, len) == 0))
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

/* cors_check decides whether CORS headers go out and whether this is a preflight. */
static void cors_check(struct http_ctx *c)
{
    const char *origin;

    if (!c->srv->cors_origins)
        return;
    origin = http_header(&c->req, "Origin");
    if (!origin || !*origin || !origin_allowed(c->srv->cors_origins, origin))
        return;
    c->cors_origin = origin;
    c->preflight = strcmp(c->method, "OPTIONS") == 0 &&
                   http_header(&c->req, "Access-Control-Request-Method") != NULL;
}

/* route_error answers a request no route took: 405 when another method fits, else 400. */
static void route_error(struct http_ctx *c)
{
    struct error err;

    if (c->allow)
        error_set(&err, ST_INVALID, ET_METHOD_NOT_ALLOWED, "Method %s is not allowed for %s",
                  c->method, c->req.raw_path);
    else
        error_set(&err, ST_INVALID, ET_NO_ROUTE, "No route for request: %s %s", c->method,
                  c->req.raw_path);
    http_response_error(&c->res, &err);
}

/* finish_response enforces what HTTP requires of the handler's response. */
static void finish_response(struct http_ctx *c)
{
    struct http_response *res = &c->res;

    if (res->status < 100 || res->status > 999) {
        struct error err;

        log_error("http: handler for %s set invalid status %d", c->req.route ? c->req.route : "-",
                  res->status);
        error_set(&err, ST_INTERNAL, ET_INTERNAL, "Server error: the handler set no status");
        http_response_error(res, &err);
    }
    /* RFC 9110 sections 15.2, 15.3.5, 15.4.5: no content in 1xx, 204 and 304. */
    if (res->status < 200 || res->status == 204 || res->status == 304) {
        free(res->body);
        res->body = NULL;
        res->body_len = 0;
    }
    if (res->body && !res->content_type)
        res->content_type = "application/json";
}

static void access_log(struct http_ctx *c)
{
    int64_t us = (clock_mono_ns() - c->start_ns + 500) / 1000;
    bool head = strcmp(c->method, "HEAD") == 0;

    log_access(ascii_or_dash(c->method), c->req.route ? c->req.route : "-", c->res.status,
               (long long)us, (long long)c->bytes_in, (long long)(head ? 0 : c->res.body_len));
}

/*
 * pipeline runs the middleware and the handler for c: request ID, CORS,
 * the routed handler (or the error decided earlier), then the access log.
 * worker is the calling worker's context, NULL on an I/O thread.
 */
static void pipeline(struct http_ctx *c, void *worker)
{
    assign_request_id(c);
    log_set_request_id(c->request_id);
    c->req.worker = worker;
    cors_check(c);
    if (c->has_early)
        http_response_error(&c->res, &c->early);
    else if (c->preflight)
        c->res.status = 204;
    else if (c->route)
        c->route->fn(&c->req, &c->res);
    else
        route_error(c);
    finish_response(c);
    access_log(c);
    log_set_request_id(NULL);
}

/* ----------------------------------------------------------------- routing */

/* allowed_methods lists the methods with a route for path, e.g. "GET, HEAD, DELETE". */
static char *allowed_methods(const struct http_route *routes, const char *path)
{
    struct buf out;
    bool get = false, head = false;

    buf_init(&out, 0);
    for (const struct http_route *r = routes; r->method; r++) {
        const char *params[HTTP_MAX_PARAMS];
        char *scratch = NULL;
        size_t np;
        bool other, seen = false;

        for (const struct http_route *q = routes; q != r; q++)
            seen = seen || strcmp(q->method, r->method) == 0;
        if (seen || !http_route_match(routes, r->method, path, params, &np, &scratch, &other))
            continue;
        free(scratch);
        buf_printf(&out, "%s%s", out.len ? ", " : "", r->method);
        get = get || strcmp(r->method, "GET") == 0;
        head = head || strcmp(r->method, "HEAD") == 0;
    }
    /* A GET route also answers HEAD (see route_request). */
    if (get && !head)
        buf_puts(&out, ", HEAD");
    return buf_take(&out);
}

static void route_request(struct http_ctx *c)
{
    struct http_request *r = &c->req;
    const struct http_route *routes = c->srv->routes;
    bool other = false;

    c->route = http_route_match(routes, c->method, r->raw_path, r->params, &r->nparams, &c->scratch,
                                &other);
    /* RFC 9110 section 9.3.2: HEAD is GET without the content. */
    if (!c->route && strcmp(c->method, "HEAD") == 0) {
        bool ignored;

        c->route = http_route_match(routes, "GET", r->raw_path, r->params, &r->nparams, &c->scratch,
                                    &ignored);
    }
    if (c->route)
        r->route = c->route->tmpl;
    else if (other)
        c->allow = allowed_methods(routes, r->raw_path);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct http_ctx *c = cls;
    struct http_request *r = &c->req;

    (void)kind;
    if (!key)
        return MHD_YES;
    if (r->nheaders == c->nheaders_cap) {
        c->nheaders_cap = c->nheaders_cap ? c->nheaders_cap * 2 : 16;
        r->headers = xrealloc(r->headers, c->nheaders_cap * sizeof(*r->headers));
    }
    /*
     * Borrowed: MHD keeps the request's headers in the connection's memory
     * until the request completes (on_completed), after every handler ran.
     */
    r->headers[r->nheaders].name = (char *)key;
    r->headers[r->nheaders].value = (char *)(value ? value : "");
    r->nheaders++;
    return MHD_YES;
}

/* prepare_request fills c->req from what MHD received and decides early errors. */
static void prepare_request(struct http_ctx *c)
{
    struct http_request *r = &c->req;
    const char *qmark = strchr(c->target, '?');

    r->method = c->method;
    MHD_get_connection_values(c->conn, MHD_HEADER_KIND, collect_header, c);
    r->body = c->body.data && !c->too_large ? c->body.data : "";
    r->body_len = c->too_large ? 0 : c->body.len;
    r->raw_path = "";
    r->raw_query = "";
    if (http_parse_target(c->target, strlen(c->target), &c->path, &r->query, &r->nquery,
                          &c->early)) {
        c->has_early = true;
    } else {
        r->raw_path = c->path;
        r->raw_query = qmark ? qmark + 1 : "";
    }
    if (c->too_large) {
        char msg[96];

        snprintf(msg, sizeof(msg), "Request body too large: limit %zu bytes", c->srv->max_body);
        set_early(c, ST_INVALID, ET_PAYLOAD_TOO_LARGE, msg);
    }
    if (!c->has_early)
        route_request(c);
}

/* ------------------------------------------------------------ worker pool */

static void loop_wake(struct io_loop *l);

enum enqueue_result { ENQ_OK, ENQ_FULL, ENQ_STOPPING };

/*
 * enqueue suspends c's connection and hands c to the workers. When the
 * queue is full or the server is stopping, says so without suspending.
 * The suspend happens under queue_lock so that a worker cannot resume the
 * connection before it is suspended, and stop cannot miss it.
 */
static enum enqueue_result enqueue(struct http_ctx *c)
{
    struct http_server *srv = c->srv;
    enum enqueue_result rc;

    pthread_mutex_lock(&srv->queue_lock);
    rc = srv->stopping ? ENQ_STOPPING : srv->nqueued >= srv->queue_limit ? ENQ_FULL : ENQ_OK;
    if (rc != ENQ_OK) {
        pthread_mutex_unlock(&srv->queue_lock);
        return rc;
    }
    c->state = CTX_QUEUED;
    MHD_suspend_connection(c->conn);
    c->next = NULL;
    if (srv->tail)
        srv->tail->next = c;
    else
        srv->head = c;
    srv->tail = c;
    srv->nqueued++;
    pthread_cond_signal(&srv->queue_cond);
    pthread_mutex_unlock(&srv->queue_lock);
    return ENQ_OK;
}

static void *worker_main(void *arg)
{
    struct http_server *srv = arg;
    void *wctx = srv->worker_init ? srv->worker_init(srv->app) : NULL;

    for (;;) {
        struct http_ctx *c;
        struct io_loop *loop;
        bool stopping;

        pthread_mutex_lock(&srv->queue_lock);
        while (!srv->head && !srv->stopping)
            pthread_cond_wait(&srv->queue_cond, &srv->queue_lock);
        c = srv->head;
        if (c) {
            srv->head = c->next;
            if (!srv->head)
                srv->tail = NULL;
            srv->nqueued--;
        }
        stopping = srv->stopping;
        pthread_mutex_unlock(&srv->queue_lock);
        if (!c)
            break;
        if (stopping)
            set_early(c, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                      "Service unavailable: the server is shutting down");
        pipeline(c, wctx);
        c->state = CTX_DONE;
        loop = c->loop;
        /* From here on c belongs to the I/O thread again and may be freed at any time. */
        MHD_resume_connection(c->conn);
        /* MHD signals a resume only to its own threads: wake the loop ourselves. */
        loop_wake(loop);
    }
    if (srv->worker_fini)
        srv->worker_fini(wctx);
    return NULL;
}

/* stop_workers tells the workers to finish the queue and exit, then joins them. */
static void stop_workers(struct http_server *srv)
{
    pthread_mutex_lock(&srv->queue_lock);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->queue_cond);
    pthread_mutex_unlock(&srv->queue_lock);
    for (unsigned i = 0; i < srv->nworkers; i++)
        pthread_join(srv->workers[i], NULL);
    srv->nworkers = 0;
}

/* --------------------------------------------------------- MHD callbacks */

static enum MHD_Result add_header(struct MHD_Response *resp, const char *name, const char *value)
{
    if (MHD_add_response_header(resp, name, value) == MHD_YES)
        return MHD_YES;
    log_warn("http: response header %s rejected (invalid characters)", ascii_or_dash(name));
    return MHD_NO;
}

static void add_cors_headers(struct http_ctx *c, struct MHD_Response *resp)
{
    const char *req_headers;

    if (!c->cors_origin)
        return;
    add_header(resp, "Access-Control-Allow-Origin", c->cors_origin);
    add_header(resp, "Vary", "Origin");
    add_header(resp, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    if (!c->preflight || c->has_early)
        return;
    add_header(resp, "Access-Control-Allow-Methods", CORS_ALLOW_METHODS);
    req_headers = http_header(&c->req, "Access-Control-Request-Headers");
    if (req_headers && *req_headers)
        add_header(resp, "Access-Control-Allow-Headers", req_headers);
    add_header(resp, "Access-Control-Max-Age", CORS_MAX_AGE);
}

/* send_response turns c->res into an MHD response and queues it. */
static enum MHD_Result send_response(struct http_ctx *c)
{
    struct http_response *res = &c->res;
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(
        res->body_len, res->body, res->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    res->body = NULL; /* MHD frees it */
    for (size_t i = 0; i < res->nheaders; i++)
        add_header(resp, res->headers[i].name, res->headers[i].value);
    if (res->body_len && res->content_type)
        add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    add_header(resp, "X-Request-ID", c->request_id);
    if (c->allow)
        add_header(resp, MHD_HTTP_HEADER_ALLOW, c->allow);
    /* Every 503 says when to come back, once: a handler may have said it already. */
    if (res->status == 503 && !MHD_get_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER))
        add_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    add_cors_headers(c, resp);
    if (atomic_load(&c->srv->draining))
        add_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c->conn, (unsigned)res->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/*
 * io_worker returns the calling I/O thread's worker context, made on first
 * use and kept (for http_server_stop to free) only when worker_init
 * succeeded, so a thread that could not get one tries again next time.
 */
static void *io_worker(struct http_server *srv)
{
    if (io_local.srv == srv && io_local.wctx)
        return io_local.wctx;
    io_local.srv = srv;
    io_local.wctx = srv->worker_init ? srv->worker_init(srv->app) : NULL;
    if (io_local.wctx) {
        pthread_mutex_lock(&srv->inline_lock);
        srv->inline_ctxs = xrealloc(srv->inline_ctxs, (srv->n_inline + 1) * sizeof(void *));
        srv->inline_ctxs[srv->n_inline++] = io_local.wctx;
        pthread_mutex_unlock(&srv->inline_lock);
    }
    return io_local.wctx;
}

/* runs_inline says whether c is a read to answer on the I/O thread. */
static bool runs_inline(const struct http_ctx *c)
{
    return c->srv->inline_reads && c->route && !atomic_load(&c->srv->draining) &&
           (strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0);
}

/* answer_inline runs the pipeline on the I/O thread (no handler) and queues the result. */
static enum MHD_Result answer_inline(struct http_ctx *c)
{
    pipeline(c, NULL);
    c->state = CTX_DONE;
    return send_response(c);
}

/*
 * defer suspends c, a batched read, until the end of this loop's round
 * (run_batch). Its connection stays suspended only within the round.
 */
static void defer(struct io_loop *l, struct http_ctx *c)
{
    if (l->nbatch == l->batch_cap) {
        l->batch_cap = l->batch_cap ? 2 * l->batch_cap : 64;
        l->batch = xrealloc(l->batch, l->batch_cap * sizeof(*l->batch));
        l->batch_reqs = xrealloc(l->batch_reqs, l->batch_cap * sizeof(*l->batch_reqs));
    }
    c->state = CTX_QUEUED;
    MHD_suspend_connection(c->conn);
    l->batch_reqs[l->nbatch] = &c->req;
    l->batch[l->nbatch++] = c;
}

/*
 * run_batch answers the reads deferred in this round: batch_begin sees them
 * all first (a store prefetching for them reads after every one of them
 * arrived), then each runs through the pipeline and its connection is
 * resumed; MHD sends the responses in the next round.
 */
static bool run_batch(struct io_loop *l)
{
    struct http_server *srv = l->srv;
    void *w;

    if (!l->nbatch)
        return false;
    w = io_worker(srv);
    if (w)
        srv->batch_begin(w, l->batch_reqs, l->nbatch);
    for (size_t i = 0; i < l->nbatch; i++) {
        struct http_ctx *c = l->batch[i];

        pipeline(c, w);
        c->state = CTX_DONE;
        MHD_resume_connection(c->conn);
    }
    if (w && srv->batch_end)
        srv->batch_end(w);
    l->nbatch = 0;
    return true;
}

/* content_length_too_large says whether a declared Content-Length exceeds the cap. */
static bool content_length_too_large(struct http_ctx *c)
{
    const char *cl =
        MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    unsigned long long n;

    if (!cl)
        return false;
    errno = 0;
    n = strtoull(cl, &end, 10);
    return errno == ERANGE || (end != cl && n > c->srv->max_body);
}

static enum MHD_Result on_first_call(struct http_ctx *c, const char *method)
{
    c->method = xstrdup(method ? method : "");
    c->state = CTX_READING;
    if (!content_length_too_large(c))
        return MHD_YES;
    /*
     * Answering before the body is read makes MHD close the connection
     * afterwards, which is what we want: the body is never read.
     */
    c->too_large = true;
    inflight_add(c);
    prepare_request(c);
    return answer_inline(c);
}

static void on_body(struct http_ctx *c, const char *data, size_t len)
{
    c->bytes_in += len;
    if (c->too_large)
        return;
    if (buf_append(&c->body, data, len) != ST_OK) {
        /* Keep reading (and dropping) the rest so the connection stays usable. */
        c->too_large = true;
        buf_cleanup(&c->body);
    }
}

static enum MHD_Result on_complete(struct http_ctx *c)
{
    enum enqueue_result enq;

    inflight_add(c);
    prepare_request(c);
    if (c->has_early)
        return answer_inline(c);
    if (runs_inline(c)) {
        if (c->route->batch && c->srv->batch_begin && io_local.loop) {
            defer(io_local.loop, c);
            return MHD_YES;
        }
        pipeline(c, io_worker(c->srv));
        c->state = CTX_DONE;
        return send_response(c);
    }
    enq = enqueue(c);
    if (enq == ENQ_OK)
        return MHD_YES;
    if (enq == ENQ_STOPPING)
        set_early(c, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                  "Service unavailable: the server is shutting down");
    else
        set_early(c, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                  "Service unavailable: too many queued requests, retry later");
    return answer_inline(c);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_ctx *c = *con_cls;

    (void)url;
    (void)version;
    if (!c) {
        /* Only when MHD skipped the URI log callback (no request target). */
        c = ctx_new(cls, conn, NULL);
        *con_cls = c;
    }
    switch (c->state) {
    case CTX_NEW:
        return on_first_call(c, method);
    case CTX_READING:
        if (*upload_data_size) {
            on_body(c, upload_data, *upload_data_size);
            *upload_data_size = 0;
            return MHD_YES;
        }
        return on_complete(c);
    case CTX_QUEUED:
        /* Not reached: MHD does not call back for a suspended connection. */
        return MHD_YES;
    case CTX_DONE:
        return send_response(c);
    }
    return MHD_NO;
}

/* on_uri runs before MHD unescapes the target: it is where the raw target is captured. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    return ctx_new(cls, conn, uri);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_ctx *c = *con_cls;

    (void)conn;
    (void)toe;
    if (!c)
        return;
    *con_cls = NULL;
    if (c->counted)
        inflight_done(cls);
    if (c->bytes_in + c->res.body_len >= LARGE_REQUEST_BYTES)
        alloc_note_large();
    ctx_free(c);
    alloc_release();
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("http: %s", msg);
}

/* ------------------------------------------------------------ start / stop */

/* resolve_listen finds the address to bind, preferring IPv4 when a name has both. */
static enum status resolve_listen(const char *host, unsigned short port,
                                  struct sockaddr_storage *addr, socklen_t *alen, struct error *err)
{
    struct addrinfo hints, *res = NULL, *pick = NULL;
    char portstr[8];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "cannot listen on %s:%u: %s", host,
                         (unsigned)port, gai_strerror(rc));
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
        if (ai->ai_family == AF_INET6 && !pick)
            pick = ai;
    }
    if (!pick) {
        freeaddrinfo(res);
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "cannot listen on %s:%u: no IPv4 or IPv6 address", host, (unsigned)port);
    }
    memcpy(addr, pick->ai_addr, pick->ai_addrlen);
    *alen = pick->ai_addrlen;
    freeaddrinfo(res);
    return ST_OK;
}

/*
 * bind_failure explains why MHD could not start: MHD only logs the reason,
 * so try the same bind here to get the errno for the message.
 */
static enum status bind_failure(const char *host, unsigned short port,
                                const struct sockaddr_storage *addr, socklen_t alen,
                                struct error *err)
{
    char where[300], ebuf[128];
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int e = 0, one = 1;

    if (strchr(host, ':'))
        snprintf(where, sizeof(where), "[%s]:%u", host, (unsigned)port);
    else
        snprintf(where, sizeof(where), "%s:%u", host, (unsigned)port);
    if (fd < 0) {
        e = errno;
    } else {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (const struct sockaddr *)addr, alen) != 0 || listen(fd, 16) != 0)
            e = errno;
        close(fd);
    }
    if (e)
        return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE, "cannot listen on %s: %s",
                         where, strerror_r(e, ebuf, sizeof(ebuf)));
    return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE,
                     "cannot listen on %s: the HTTP server failed to start (see the log)", where);
}

static void server_free(struct http_server *srv)
{
    for (unsigned i = 0; i < srv->nloops; i++) {
        free(srv->loops[i].batch);
        free(srv->loops[i].batch_reqs);
    }
    free(srv->loops);
    pthread_mutex_destroy(&srv->loop_lock);
    pthread_cond_destroy(&srv->loop_cond);
    pthread_mutex_destroy(&srv->queue_lock);
    pthread_cond_destroy(&srv->queue_cond);
    pthread_mutex_destroy(&srv->inflight_lock);
    pthread_cond_destroy(&srv->inflight_cond);
    free(srv->workers);
    free(srv->inline_ctxs);
    pthread_mutex_destroy(&srv->inline_lock);
    free(srv->cors_origins);
    free(srv);
}

static struct http_server *server_new(const struct http_options *o)
{
    struct http_server *srv = xcalloc(1, sizeof(*srv));

    srv->routes = o->routes;
    if (o->cors_origins && *o->cors_origins)
        srv->cors_origins = xstrdup(o->cors_origins);
    srv->max_body = o->max_body_bytes ? o->max_body_bytes : DEFAULT_MAX_BODY;
    srv->queue_limit = o->queue_limit ? o->queue_limit : DEFAULT_QUEUE_LIMIT;
    srv->grace_ms = o->shutdown_grace_ms ? o->shutdown_grace_ms : DEFAULT_GRACE_MS;
    srv->app = o->app;
    srv->worker_init = o->worker_init;
    srv->worker_fini = o->worker_fini;
    srv->inline_reads = o->inline_reads;
    srv->batch_begin = o->inline_reads ? o->batch_begin : NULL;
    srv->batch_end = o->batch_end;
    srv->listen_fd = MHD_INVALID_SOCKET;
    pthread_mutex_init(&srv->loop_lock, NULL);
    pthread_cond_init(&srv->loop_cond, NULL);
    pthread_mutex_init(&srv->inline_lock, NULL);
    pthread_mutex_init(&srv->queue_lock, NULL);
    pthread_cond_init(&srv->queue_cond, NULL);
    pthread_mutex_init(&srv->inflight_lock, NULL);
    {
        pthread_condattr_t attr;

        /* inflight_wait computes deadlines on the monotonic clock. */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&srv->inflight_cond, &attr);
        pthread_condattr_destroy(&attr);
    }
    atomic_init(&srv->draining, false);
    atomic_init(&srv->quiesce_req, false);
    atomic_init(&srv->exit_req, false);
    return srv;
}

static enum status start_workers(struct http_server *srv, unsigned n, struct error *err)
{
    srv->workers = xcalloc(n, sizeof(*srv->workers));
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&srv->workers[i], NULL, worker_main, srv);

        if (rc != 0) {
            char ebuf[128];

            stop_workers(srv);
            return error_set(err, ST_INTERNAL, ET_INTERNAL, "cannot start worker threads: %s",
                             strerror_r(rc, ebuf, sizeof(ebuf)));
        }
        srv->nworkers = i + 1;
    }
    return ST_OK;
}

/* ------------------------------------------------------------ event loops */

static void loop_wake(struct io_loop *l)
{
    uint64_t one = 1;

    if (write(l->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("http: cannot wake an event loop: %s", strerror(errno));
}

/* loop_quiesce stops l's daemon accepting connections (on l's own thread: MHD wants that). */
static void loop_quiesce(struct io_loop *l)
{
    struct http_server *srv = l->srv;

    if (l->quiesced)
        return;
    MHD_quiesce_daemon(l->daemon);
    l->quiesced = true;
    pthread_mutex_lock(&srv->loop_lock);
    srv->nquiesced++;
    pthread_cond_broadcast(&srv->loop_cond);
    pthread_mutex_unlock(&srv->loop_lock);
}

/*
 * loop_main drives one daemon: let MHD handle what is ready, answer the
 * reads that round deferred, then wait for the daemon's epoll descriptor (or
 * a wake-up) no longer than MHD's next timeout.
 */
static void *loop_main(void *arg)
{
    struct io_loop *l = arg;
    struct http_server *srv = l->srv;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    struct pollfd fds[2] = {{.fd = info ? info->epoll_fd : -1, .events = POLLIN},
                            {.fd = l->wake_fd, .events = POLLIN}};

    io_local.loop = l;
    /* The access-log lines of a round are written together, before the loop waits. */
    log_hold(true);
    while (!atomic_load(&srv->exit_req)) {
        MHD_UNSIGNED_LONG_LONG to = 0;
        int ms = -1;

        if (atomic_load(&srv->quiesce_req))
            loop_quiesce(l);
        /* MHD_run first: it registers the listening socket in the epoll set. */
        MHD_run(l->daemon);
        /* Connections resumed here are taken up by the next MHD_run: do not wait. */
        if (run_batch(l))
            ms = 0;
        else if (MHD_get_timeout(l->daemon, &to) == MHD_YES)
            ms = to > INT32_MAX ? INT32_MAX : (int)to;
        log_flush();
        if (poll(fds, 2, ms) < 0 && errno != EINTR)
            log_warn("http: poll failed: %s", strerror(errno));
        if (fds[1].revents & POLLIN) {
            uint64_t v;

            if (read(l->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                log_warn("http: cannot read the wake-up counter: %s", strerror(errno));
        }
    }
    log_hold(false);
    io_local.loop = NULL;
    return NULL;
}

/* quiesce_loops makes every loop stop accepting and waits until they all did. */
static void quiesce_loops(struct http_server *srv)
{
    atomic_store(&srv->quiesce_req, true);
    for (unsigned i = 0; i < srv->nloops; i++)
        loop_wake(&srv->loops[i]);
    pthread_mutex_lock(&srv->loop_lock);
    while (srv->nquiesced < srv->nloops)
        pthread_cond_wait(&srv->loop_cond, &srv->loop_lock);
    pthread_mutex_unlock(&srv->loop_lock);
}

/*
 * stop_loops ends the loops, then stops the daemons (quiescing any that did
 * not run, so none closes the shared socket) and closes the listening socket.
 */
static void stop_loops(struct http_server *srv)
{
    atomic_store(&srv->exit_req, true);
    for (unsigned i = 0; i < srv->nloops; i++)
        if (srv->loops[i].running)
            loop_wake(&srv->loops[i]);
    for (unsigned i = 0; i < srv->nloops; i++) {
        struct io_loop *l = &srv->loops[i];

        if (l->running)
            pthread_join(l->thread, NULL);
        l->running = false;
        if (l->daemon) {
            if (!l->quiesced)
                MHD_quiesce_daemon(l->daemon);
            MHD_stop_daemon(l->daemon);
            l->daemon = NULL;
        }
        if (l->wake_fd >= 0)
            close(l->wake_fd);
        l->wake_fd = -1;
    }
    if (srv->listen_fd != MHD_INVALID_SOCKET)
        close(srv->listen_fd);
    srv->listen_fd = MHD_INVALID_SOCKET;
}

/*
 * start_daemon starts one daemon: the first binds addr, the others share its
 * listening socket (srv->listen_fd), as MHD's own thread pool does.
 */
static struct MHD_Daemon *start_daemon(struct http_server *srv, const struct http_options *o,
                                       const struct sockaddr_storage *addr, unsigned limit)
{
    unsigned flags =
        MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    bool first = srv->listen_fd == MHD_INVALID_SOCKET;
    struct MHD_OptionItem listen[] = {
        first ? (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)addr}
              : (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, (intptr_t)srv->listen_fd, NULL},
        {MHD_OPTION_END, 0, NULL},
    };

    if (addr->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
        MHD_OPTION_ARRAY, listen, MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(o->conn_timeout_s ? o->conn_timeout_s : DEFAULT_CONN_TIMEOUT_S),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(o->connection_memory ? o->connection_memory : DEFAULT_CONNECTION_MEMORY),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_END);
}

/* start_loops makes n daemons sharing one listening socket, then their threads. */
static enum status start_loops(struct http_server *srv, const struct http_options *o,
                               const char *host, const struct sockaddr_storage *addr,
                               socklen_t alen, unsigned n, struct error *err)
{
    unsigned max = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
    const union MHD_DaemonInfo *info;
    char ebuf[128];

    srv->loops = xcalloc(n, sizeof(*srv->loops));
    for (unsigned i = 0; i < n; i++)
        srv->loops[i].wake_fd = -1;
    srv->nloops = n;
    for (unsigned i = 0; i < n; i++) {
        struct io_loop *l = &srv->loops[i];
        /* Each daemon takes its share of the connection limit; the first the remainder. */
        unsigned limit = max / n + (i == 0 ? max % n : 0);

        l->srv = srv;
        l->daemon = start_daemon(srv, o, addr, limit ? limit : 1);
        if (!l->daemon) {
            if (i == 0)
                return bind_failure(host, o->port, addr, alen, err);
            return error_set(err, ST_INTERNAL, ET_INTERNAL,
                             "http: cannot start event loop %u (see the log)", i);
        }
        if (i == 0) {
            info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_LISTEN_FD);
            srv->listen_fd = info ? info->listen_fd : MHD_INVALID_SOCKET;
            info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
            srv->port = info && info->port ? info->port : o->port;
        }
        l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (l->wake_fd < 0)
            return error_set(err, ST_INTERNAL, ET_INTERNAL, "http: eventfd: %s",
                             strerror_r(errno, ebuf, sizeof(ebuf)));
    }
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&srv->loops[i].thread, NULL, loop_main, &srv->loops[i]);

        if (rc != 0)
            return error_set(err, ST_INTERNAL, ET_INTERNAL, "cannot start I/O threads: %s",
                             strerror_r(rc, ebuf, sizeof(ebuf)));
        srv->loops[i].running = true;
    }
    return ST_OK;
}

enum status http_server_start(const struct http_options *opts, struct http_server **out,
                              struct error *err)
{
    const char *host = opts && opts->host && *opts->host ? opts->host : DEFAULT_HOST;
    struct sockaddr_storage addr;
    socklen_t alen = 0;
    struct http_server *srv;
    unsigned nworkers;
    enum status rc;

    *out = NULL;
    if (!opts || !opts->routes)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "http: no route table");
    if ((rc = resolve_listen(host, opts->port, &addr, &alen, err)))
        return rc;
    srv = server_new(opts);
    nworkers = opts->workers ? opts->workers : 4 * ncpus();
    if ((rc = start_workers(srv, nworkers, err)))
        goto fail;
    if ((rc = start_loops(srv, opts, host, &addr, alen,
                          opts->io_threads ? opts->io_threads : ncpus(), err))) {
        stop_loops(srv);
        stop_workers(srv);
        goto fail;
    }
    *out = srv;
    return ST_OK;
fail:
    server_free(srv);
    return rc;
}

unsigned short http_server_port(const struct http_server *srv)
{
    return srv->port;
}

/*
 * A handler still running when the grace period ends is not interrupted:
 * its worker is joined, so stop returns only after every handler returned.
 * A zero shutdown_grace_ms means the default of DEFAULT_GRACE_MS.
 */
void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->draining, true);
    quiesce_loops(srv);
    inflight_wait(srv, srv->grace_ms);
    stop_workers(srv);
    inflight_wait(srv, FLUSH_WAIT_MS);
    stop_loops(srv);
    /* The I/O threads are gone: free the contexts they made for inline reads. */
    for (size_t i = 0; i < srv->n_inline; i++)
        if (srv->worker_fini)
            srv->worker_fini(srv->inline_ctxs[i]);
    srv->n_inline = 0;
    server_free(srv);
}
