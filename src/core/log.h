/*
 * log.h - one JSON line per event on stderr.
 *
 * Each line carries the time, the level, the current thread's request ID (set
 * by the HTTP layer while a request is being handled) and the message, plus
 * optional structured fields. Never pass a secret to these functions.
 */
#ifndef SERAC_CORE_LOG_H
#define SERAC_CORE_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* log_set_level sets the minimum level written (default LOG_INFO). */
void log_set_level(enum log_level level);
/* log_parse_level maps "debug", "info", "warn", "error" to a level; -1 if unknown. */
int log_parse_level(const char *name);
/* log_enabled says whether a line at level would be written. */
int log_enabled(enum log_level level);

/*
 * log_set_request_id sets the request ID of the calling thread (copied, at
 * most 128 bytes); NULL clears it. Every later line of this thread carries it.
 */
void log_set_request_id(const char *id);
/* log_request_id returns the calling thread's request ID, or NULL. */
const char *log_request_id(void);

/*
 * log_hold(true) makes the calling thread keep its lines in a buffer of its
 * own until log_flush (or log_hold(false)) writes them, a few lines per
 * write(2): an event loop holds the lines of one round. Each write stays
 * within PIPE_BUF and ends on a line's end, so lines of threads writing to
 * the same pipe never interleave; a line longer than the buffer is written
 * alone.
 */
void log_hold(bool on);
/* log_flush writes the lines the calling thread holds, if any. */
void log_flush(void);

/* log_msg writes a line with a printf-style message. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * log_fields writes a line with message msg and every key of fields (an
 * object, borrowed, may be NULL) copied into the line.
 */
void log_fields(enum log_level level, const char *msg, const json_t *fields);

/*
 * log_access writes the access-log line of one request ("msg":"request" with
 * method, route, status, latency_ms, bytes_in, bytes_out) at LOG_INFO;
 * the latency is given in microseconds and written in milliseconds.
 */
void log_access(const char *method, const char *route, int status, long long latency_us,
                long long bytes_in, long long bytes_out);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
