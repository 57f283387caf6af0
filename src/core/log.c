/* log.c - JSON log lines on stderr. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static _Thread_local char request_id[129];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    min_level = level;
}

int log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

int log_enabled(enum log_level level)
{
    return level >= min_level;
}

void log_set_request_id(const char *id)
{
    if (!id) {
        request_id[0] = '\0';
        return;
    }
    snprintf(request_id, sizeof(request_id), "%s", id);
}

const char *log_request_id(void)
{
    return request_id[0] ? request_id : NULL;
}

static void emit(enum log_level level, const char *msg, const json_t *fields)
{
    struct timespec ts;
    struct tm tm;
    char when[64];
    json_t *line = json_object();
    const char *key;
    json_t *value;
    char *text;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    json_object_set_new(line, "ts", json_string(when));
    json_object_set_new(line, "level", json_string(level_names[level]));
    if (request_id[0])
        json_object_set_new(line, "request_id", json_string(request_id));
    json_object_set_new(line, "msg", json_string(msg ? msg : ""));
    if (fields && json_is_object(fields)) {
        json_object_foreach((json_t *)fields, key, value) json_object_set(line, key, value);
    }
    text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
    if (text) {
        /* One fputs per line: stdio locks the stream, so lines never interleave. */
        size_t n = strlen(text);
        text[n] = '\n';
        fwrite(text, 1, n + 1, stderr);
        free(text);
    }
    json_decref(line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(level, msg, NULL);
}

void log_fields(enum log_level level, const char *msg, const json_t *fields)
{
    if (!log_enabled(level))
        return;
    emit(level, msg, fields);
}
