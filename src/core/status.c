/* status.c - the one table from error type to HTTP code and exception name. */
#include "core/status.h"

#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *name;
} errtypes[ET__COUNT] = {
    [ET_NONE] = {500, "InternalServerError"},
    [ET_BAD_REQUEST] = {400, "BadRequestException"},
    [ET_ILLEGAL_ARGUMENT] = {400, "IllegalArgumentException"},
    [ET_VALIDATION] = {400, "ValidationException"},
    [ET_NOT_AUTHORIZED] = {401, "NotAuthorizedException"},
    [ET_FORBIDDEN] = {403, "ForbiddenException"},
    [ET_NO_SUCH_NAMESPACE] = {404, "NoSuchNamespaceException"},
    [ET_NO_SUCH_TABLE] = {404, "NoSuchTableException"},
    [ET_NO_SUCH_VIEW] = {404, "NoSuchViewException"},
    [ET_NO_SUCH_WAREHOUSE] = {404, "NoSuchWarehouseException"},
    [ET_NOT_FOUND] = {404, "NotFoundException"},
    [ET_NO_ROUTE] = {400, "BadRequestException"},
    [ET_METHOD_NOT_ALLOWED] = {405, "MethodNotAllowedException"},
    [ET_UNSUPPORTED_OPERATION] = {406, "UnsupportedOperationException"},
    [ET_ALREADY_EXISTS] = {409, "AlreadyExistsException"},
    [ET_NAMESPACE_NOT_EMPTY] = {409, "NamespaceNotEmptyException"},
    [ET_COMMIT_FAILED] = {409, "CommitFailedException"},
    [ET_PAYLOAD_TOO_LARGE] = {413, "PayloadTooLargeException"},
    [ET_UNPROCESSABLE] = {422, "UnprocessableEntityException"},
    [ET_INTERNAL] = {500, "InternalServerError"},
    [ET_COMMIT_STATE_UNKNOWN] = {500, "CommitStateUnknownException"},
    [ET_SERVICE_UNAVAILABLE] = {503, "ServiceUnavailableException"},
    [ET_WAREHOUSE_NOT_EMPTY] = {409, "WarehouseNotEmptyException"},
};

static enum errtype default_type(enum status st)
{
    switch (st) {
    case ST_NOT_FOUND:
        return ET_NOT_FOUND;
    case ST_EXISTS:
        return ET_ALREADY_EXISTS;
    case ST_CONFLICT:
        return ET_COMMIT_FAILED;
    case ST_INVALID:
        return ET_BAD_REQUEST;
    case ST_UNSUPPORTED:
        return ET_UNSUPPORTED_OPERATION;
    case ST_UNAVAILABLE:
        return ET_SERVICE_UNAVAILABLE;
    case ST_OK:
    case ST_REPLAY:
    case ST_IO:
    case ST_INTERNAL:
        break;
    }
    return ET_INTERNAL;
}

static enum errtype effective_type(const struct error *err)
{
    if (err->type > ET_NONE && err->type < ET__COUNT)
        return err->type;
    return default_type(err->status);
}

enum status error_vset(struct error *err, enum status st, enum errtype type, const char *fmt,
                       va_list ap)
{
    if (!err)
        return st;
    err->status = st;
    err->type = type;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return st;
}

enum status error_wrap(struct error *err, enum status st, enum errtype type, const char *fmt, ...)
{
    char old[ERROR_MSG_MAX];
    size_t n;
    va_list ap;

    if (!err)
        return st;
    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    n = strlen(err->msg);
    snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", old);
    err->status = st;
    err->type = type;
    return st;
}

enum status error_set(struct error *err, enum status st, enum errtype type, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vset(err, st, type, fmt, ap);
    va_end(ap);
    return st;
}

void error_clear(struct error *err)
{
    if (!err)
        return;
    err->status = ST_OK;
    err->type = ET_NONE;
    err->msg[0] = '\0';
}

int error_http_code(const struct error *err)
{
    return errtypes[effective_type(err)].code;
}

const char *error_type_name(const struct error *err)
{
    return errtypes[effective_type(err)].name;
}

const char *status_name(enum status st)
{
    static const char *const names[] = {"ok",       "not-found",   "exists",      "conflict",
                                        "invalid",  "unsupported", "unavailable", "io",
                                        "internal", "replay"};
    if ((unsigned)st < sizeof(names) / sizeof(names[0]))
        return names[st];
    return "unknown";
}
