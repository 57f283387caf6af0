/*
 * http.h - the HTTP server: event loops around libmicrohttpd, worker pool,
 * router and middleware (request ID, access log, CORS).
 *
 * Flow of one request: an I/O thread's loop reads the request line, headers
 * and body (capped at http_options.max_body_bytes) and copies what handlers
 * need into a struct http_request. Reads may be answered right there
 * (inline_reads), alone or in a batch per loop round (batch routes and
 * batch_begin); everything else suspends the connection and is queued to the
 * worker pool, so I/O threads never wait on a write. A worker runs the
 * middleware and the routed handler, which fills a struct http_response; the
 * connection is then resumed and the loop sends the response. Each worker
 * thread, and each I/O thread that answers reads, owns a per-thread context
 * created by the application's worker_init hook (e.g. its store connection).
 */
#ifndef SERAC_HTTP_HTTP_H
#define SERAC_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

#define HTTP_MAX_PARAMS 8
#define HTTP_MAX_RESPONSE_HEADERS 12

struct http_kv {
    char *name;
    char *value;
};

/* One request as a handler sees it. Everything here lives until the response is sent. */
struct http_request {
    const char *method;    /* "GET", "POST", "HEAD", "DELETE", "OPTIONS", ... */
    const char *raw_path;  /* the path as received, still percent-encoded, no query */
    const char *raw_query; /* text after '?', or "" */
    struct http_kv *query; /* percent-decoded names and values ('+' decodes to a space) */
    size_t nquery;
    struct http_kv *headers; /* as received; look up with http_header() */
    size_t nheaders;
    const char *body; /* NUL-terminated (the NUL is not counted); "" when empty */
    size_t body_len;
    const char *request_id; /* propagated X-Request-ID or a generated one */
    const char *route;      /* matched route template, e.g. "/v1/{prefix}/namespaces" */
    /*
     * params[i] is the raw (still percent-encoded) path segment captured by the
     * i-th {placeholder} of the matched template, in template order.
     */
    const char *params[HTTP_MAX_PARAMS];
    size_t nparams;
    void *worker; /* the calling worker's context from worker_init */
};

/* The response a handler fills in. Start state: status 0, no body. */
struct http_response {
    int status;
    char *body; /* owned; freed by the server after sending */
    size_t body_len;
    const char *content_type; /* static string; default "application/json" when body is set */
    struct http_kv headers[HTTP_MAX_RESPONSE_HEADERS]; /* owned copies */
    size_t nheaders;
};

/* http_header returns the value of header name (case-insensitive), or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/* http_query returns the decoded value of query parameter name (exact match), or NULL. */
const char *http_query(const struct http_request *req, const char *name);

/* http_response_json sets status and a JSON body; body is stolen (may be NULL for no body). */
void http_response_json(struct http_response *res, int status, json_t *body);

/* http_response_error sets an IcebergErrorResponse for err with err's HTTP code. */
void http_response_error(struct http_response *res, const struct error *err);

/*
 * http_response_header sets a response header (both strings copied): a name
 * set already is replaced (case-insensitive); ignored when the table is full.
 */
void http_response_header(struct http_response *res, const char *name, const char *value);

/* A route handler. It must always set res->status. */
typedef void (*http_handler_fn)(struct http_request *req, struct http_response *res);

/*
 * A route: method and a template of '/'-separated segments where "{name}"
 * captures one whole raw segment. Routes are tried in order; the first match
 * wins. A path that matches no template gets 400 BadRequestException
 * "No route for request: METHOD path" (as the reference server does); a path
 * that matches a template under another method gets 405 with an Allow header.
 */
struct http_route {
    const char *method;
    const char *tmpl;
    http_handler_fn fn;
    /*
     * A read that may be answered in a batch (http_options.batch_begin):
     * when set and batching is on, the request waits for the end of its I/O
     * thread's event-loop round and runs with the other such reads of that
     * round, after batch_begin saw them all.
     */
    bool batch;
};

typedef void *(*http_worker_init_fn)(void *app);
typedef void (*http_worker_fini_fn)(void *worker);
/*
 * Batch hooks, called on an I/O thread with its worker context: begin sees
 * every batched read of one event-loop round (all of them complete requests,
 * none of their handlers run yet) and may prepare for them, e.g. read what
 * they need from the store in one round trip; end is called after their
 * handlers ran, to drop what begin prepared.
 */
typedef void (*http_batch_begin_fn)(void *worker, struct http_request *const *reqs, size_t n);
typedef void (*http_batch_end_fn)(void *worker);

struct http_options {
    const char *host;                /* address to bind, default "127.0.0.1" */
    unsigned short port;             /* default 8181; 0 picks a free port (see http_server_port) */
    unsigned io_threads;             /* event-loop threads, one MHD daemon each; 0 = CPUs */
    unsigned workers;                /* worker threads; 0 = 4 x CPUs, at least 4 */
    unsigned max_connections;        /* default 16384 */
    unsigned queue_limit;            /* queued requests before 503; default 4096 */
    unsigned conn_timeout_s;         /* idle keep-alive timeout, default 60 */
    size_t max_body_bytes;           /* request body cap, default 16 MiB; larger gets 413 */
    size_t connection_memory;        /* per-connection buffer of MHD, default 10 KiB (server.c) */
    const char *cors_origins;        /* NULL/"" = CORS off; "*" or a comma-separated list */
    unsigned shutdown_grace_ms;      /* how long http_server_stop waits for in-flight requests */
    const struct http_route *routes; /* terminated by an entry with method == NULL */
    void *app;                       /* passed to worker_init */
    http_worker_init_fn worker_init; /* may be NULL */
    http_worker_fini_fn worker_fini; /* may be NULL */
    /*
     * Run GET and HEAD routes on the I/O thread that read the request, each
     * I/O thread with a worker context of its own (made by worker_init on
     * first use), instead of handing them to the pool: a read then costs no
     * thread switch. Mutations always go to the pool.
     */
    bool inline_reads;
    /*
     * With inline_reads: run the routes marked batch in batches per event-loop
     * round, announced to batch_begin (NULL = no batching: each runs at once).
     */
    http_batch_begin_fn batch_begin;
    http_batch_end_fn batch_end;
};

struct http_server;

/*
 * http_server_start binds and starts serving. On success *out owns the
 * server. ST_UNAVAILABLE (with a message) when the address cannot be bound.
 */
enum status http_server_start(const struct http_options *opts, struct http_server **out,
                              struct error *err);

/* http_server_port returns the bound port (useful when opts->port was 0). */
unsigned short http_server_port(const struct http_server *srv);

/*
 * http_server_stop stops accepting connections, lets in-flight requests
 * finish for up to shutdown_grace_ms, stops the workers and frees srv.
 */
void http_server_stop(struct http_server *srv);

/*
 * http_parse_target splits a raw request target ("/a/b?x=1&y") into its raw
 * path and decoded query parameters. Exposed for tests and the fuzzer.
 * Fills *path (owned), *query / *nquery (owned; free with http_kv_free).
 * ST_INVALID for a target that does not start with '/', contains a NUL or
 * control character, or has a malformed percent escape in the query.
 */
enum status http_parse_target(const char *target, size_t len, char **path, struct http_kv **query,
                              size_t *nquery, struct error *err);

/* http_kv_free frees an array of n pairs returned by this module. */
void http_kv_free(struct http_kv *kv, size_t n);

/*
 * http_route_match matches method and raw path against routes. On a match
 * returns the route and fills params (pointers into a copy owned by *scratch,
 * which the caller frees). *allowed_other says whether the path matched a
 * template under another method. Exposed for tests and the fuzzer.
 */
const struct http_route *http_route_match(const struct http_route *routes, const char *method,
                                          const char *path, const char *params[HTTP_MAX_PARAMS],
                                          size_t *nparams, char **scratch, bool *allowed_other);

#endif
