/* response.c - request accessors and the helpers handlers use to fill a response. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/jsonx.h"
#include "http/http.h"

const char *http_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const char *http_query(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].name, name) == 0)
            return req->query[i].value;
    return NULL;
}

void http_response_json(struct http_response *res, int status, json_t *body)
{
    res->status = status;
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
    if (!body)
        return;
    res->body = jsonx_dump(body);
    res->body_len = strlen(res->body);
    res->content_type = "application/json";
    json_decref(body);
}

/*
 * error_body_ascii builds the error body with every non-ASCII byte of the
 * message replaced by '?': jansson refuses strings that are not valid UTF-8,
 * and a message may echo a client-supplied name.
 */
static json_t *error_body_ascii(const struct error *err)
{
    struct error copy = *err;

    for (char *p = copy.msg; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    return jsonx_error_body(&copy);
}

void http_response_error(struct http_response *res, const struct error *err)
{
    json_t *body = jsonx_error_body(err);

    if (!body)
        body = error_body_ascii(err);
    http_response_json(res, error_http_code(err), body);
}

void http_response_header(struct http_response *res, const char *name, const char *value)
{
    /* A header set twice (two layers both asking for Retry-After) is sent once, last wins. */
    for (size_t i = 0; i < res->nheaders; i++) {
        if (strcasecmp(res->headers[i].name, name) == 0) {
            free(res->headers[i].value);
            res->headers[i].value = xstrdup(value);
            return;
        }
    }
    if (res->nheaders >= HTTP_MAX_RESPONSE_HEADERS)
        return;
    res->headers[res->nheaders].name = xstrdup(name);
    res->headers[res->nheaders].value = xstrdup(value);
    res->nheaders++;
}
