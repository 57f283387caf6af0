/*
 * status.h - status codes and the error carrier used by every module.
 *
 * A fallible function returns an enum status (ST_OK is 0) and, when the
 * caller passed a struct error, fills in the Iceberg exception type and a
 * human message. One table (status.c) maps an error type to its HTTP code
 * and to the exception name clients see in the ErrorModel.
 */
#ifndef SERAC_CORE_STATUS_H
#define SERAC_CORE_STATUS_H

#include <stdarg.h>

enum status {
    ST_OK = 0,
    ST_NOT_FOUND,   /* the named object does not exist */
    ST_EXISTS,      /* the named object exists already */
    ST_CONFLICT,    /* a compare-and-swap lost, or a requirement failed */
    ST_INVALID,     /* bad input: the caller must change the request */
    ST_UNSUPPORTED, /* valid, but not something serac does */
    ST_UNAVAILABLE, /* a dependency is down or busy: retry later */
    ST_IO,          /* storage failed; the outcome of a write may be unknown */
    ST_INTERNAL,    /* a bug or an impossible state */
    ST_REPLAY,      /* an idempotency key was used already: replay its response */
};

/* The Iceberg exception types serac answers with (rest-spec.md section 12). */
enum errtype {
    ET_NONE = 0, /* not set: the status's default type is used */
    ET_BAD_REQUEST,
    ET_ILLEGAL_ARGUMENT,
    ET_VALIDATION,
    ET_NOT_AUTHORIZED,
    ET_FORBIDDEN,
    ET_NO_SUCH_NAMESPACE,
    ET_NO_SUCH_TABLE,
    ET_NO_SUCH_VIEW,
    ET_NO_SUCH_WAREHOUSE,
    ET_NOT_FOUND, /* a file is missing (NotFoundException) */
    ET_NO_ROUTE,  /* unknown path: 400 like the reference server */
    ET_METHOD_NOT_ALLOWED,
    ET_UNSUPPORTED_OPERATION,
    ET_ALREADY_EXISTS,
    ET_NAMESPACE_NOT_EMPTY,
    ET_COMMIT_FAILED,
    ET_PAYLOAD_TOO_LARGE,
    ET_UNPROCESSABLE,
    ET_INTERNAL,
    ET_COMMIT_STATE_UNKNOWN,
    ET_SERVICE_UNAVAILABLE,
    ET_WAREHOUSE_NOT_EMPTY,
    ET__COUNT
};

#define ERROR_MSG_MAX 1024

/* What went wrong, for the ErrorModel. Embedded by callers, never heap-allocated. */
struct error {
    enum status status;
    enum errtype type;
    char msg[ERROR_MSG_MAX];
};

/*
 * error_set records status, type and a printf-style message in err (which may
 * be NULL) and returns status, so callers can write `return error_set(...)`.
 * A second error_set on the same err overwrites the first.
 */
enum status error_set(struct error *err, enum status st, enum errtype type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* error_vset is error_set taking a va_list. */
enum status error_vset(struct error *err, enum status st, enum errtype type, const char *fmt,
                       va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * error_wrap puts a printf-style prefix before err's current message
 * ("<prefix>: <message>") and sets status and type. err may be NULL.
 */
enum status error_wrap(struct error *err, enum status st, enum errtype type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* error_clear resets err to "no error". err may be NULL. */
void error_clear(struct error *err);

/*
 * error_http_code returns the HTTP status for err: the code of its type, or,
 * when no type was set, the default for its status (404 for ST_NOT_FOUND,
 * 409 for ST_EXISTS and ST_CONFLICT, 400 for ST_INVALID, ...).
 */
int error_http_code(const struct error *err);

/* error_type_name returns the exception name clients see, e.g. "NoSuchTableException". */
const char *error_type_name(const struct error *err);

/* status_name returns a short stable name for st ("ok", "not-found", ...), for logs. */
const char *status_name(enum status st);

#endif
