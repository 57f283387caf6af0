/*
 * fuzz_http_target.c - libFuzzer target for request-target parsing and routing.
 *
 * The first byte picks the method; the rest is the raw request target. A
 * target that parses is routed against a table shaped like the Iceberg REST
 * routes, and the results are checked for the invariants callers rely on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "core/pct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void noop(struct http_request *req, struct http_response *res)
{
    (void)req;
    res->status = 204;
}

static const struct http_route routes[] = {
    {"GET", "/v1/config", noop, false},
    {"POST", "/v1/oauth/tokens", noop, false},
    {"GET", "/v1/{prefix}/namespaces", noop, false},
    {"POST", "/v1/{prefix}/namespaces", noop, false},
    {"GET", "/v1/{prefix}/namespaces/{namespace}", noop, false},
    {"HEAD", "/v1/{prefix}/namespaces/{namespace}", noop, false},
    {"DELETE", "/v1/{prefix}/namespaces/{namespace}", noop, false},
    {"POST", "/v1/{prefix}/namespaces/{namespace}/properties", noop, false},
    {"GET", "/v1/{prefix}/namespaces/{namespace}/tables", noop, false},
    {"POST", "/v1/{prefix}/namespaces/{namespace}/tables", noop, false},
    {"GET", "/v1/{prefix}/namespaces/{namespace}/tables/{table}", noop, false},
    {"POST", "/v1/{prefix}/namespaces/{namespace}/tables/{table}", noop, false},
    {"DELETE", "/v1/{prefix}/namespaces/{namespace}/tables/{table}", noop, false},
    {"HEAD", "/v1/{prefix}/namespaces/{namespace}/tables/{table}", noop, false},
    {"GET", "/v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials", noop, false},
    {"POST", "/v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics", noop, false},
    {"POST", "/v1/{prefix}/namespaces/{namespace}/tables/{table}/plan", noop, false},
    {"GET", "/v1/{prefix}/namespaces/{namespace}/tables/{table}/plan/{plan-id}", noop, false},
    {"POST", "/v1/{prefix}/namespaces/{namespace}/register", noop, false},
    {"POST", "/v1/{prefix}/tables/rename", noop, false},
    {"POST", "/v1/{prefix}/transactions/commit", noop, false},
    {"GET", "/v1/{prefix}/namespaces/{namespace}/views", noop, false},
    {"GET", "/v1/{prefix}/namespaces/{namespace}/views/{view}", noop, false},
    {"POST", "/v1/{prefix}/views/rename", noop, false},
    {NULL, NULL, NULL, false},
};

static const char *const methods[] = {"GET", "POST", "HEAD", "DELETE", "PUT", "OPTIONS"};

/* Segments of a path are '/'-separated; a capture is one whole non-empty segment. */
static void check_param(const char *path, const char *param)
{
    size_t len = strlen(param);
    const char *p = path;

    if (len == 0 || strchr(param, '/'))
        abort();
    while ((p = strstr(p, param)) != NULL) {
        if (p[-1] == '/' && (p[len] == '/' || p[len] == '\0'))
            return;
        p++;
    }
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *method;
    char *path = NULL, *scratch = NULL;
    struct http_kv *query = NULL;
    size_t nquery = 0, nparams = 0;
    const char *params[HTTP_MAX_PARAMS];
    const struct http_route *route;
    struct error err;
    bool other = false;

    if (size < 1)
        return 0;
    method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
    if (http_parse_target((const char *)data + 1, size - 1, &path, &query, &nquery, &err)) {
        if (path || query || nquery)
            abort();
        return 0;
    }
    if (path[0] != '/' || strlen(path) > size - 1)
        abort();
    for (size_t i = 0; i < nquery; i++)
        if (!query[i].name || !query[i].value)
            abort();
    route = http_route_match(routes, method, path, params, &nparams, &scratch, &other);
    if (route) {
        if (strcmp(route->method, method) != 0 || nparams > HTTP_MAX_PARAMS || !scratch)
            abort();
        for (size_t i = 0; i < nparams; i++)
            check_param(path, params[i]);
    } else if (scratch || nparams) {
        abort();
    }
    /* The API layer decodes captured segments next ("+" and %20 both mean a space). */
    for (size_t i = 0; i < nparams; i++) {
        char *decoded = NULL;

        if (pct_decode(params[i], strlen(params[i]), true, &decoded) == ST_OK) {
            if (strlen(decoded) > strlen(params[i]))
                abort();
            free(decoded);
        } else if (decoded) {
            abort();
        }
    }
    free(scratch);
    free(path);
    http_kv_free(query, nquery);
    return 0;
}
