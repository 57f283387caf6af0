/* log.c - JSON log lines on stderr, formatted without building a JSON tree. */
#include "core/log.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* A log line is built in one buffer and written with one write(2), so lines never interleave. */
struct line {
    char buf[8192];
    size_t len;
    bool truncated;
};

static void put(struct line *l, const char *s, size_t n)
{
    if (l->len + n > sizeof(l->buf) - 2) { /* room for the closing "}\n" */
        n = sizeof(l->buf) - 2 - l->len;
        l->truncated = true;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_raw(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* utf8_len returns the length of the valid UTF-8 sequence at p (0 if invalid). */
static size_t utf8_len(const unsigned char *p)
{
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;

    if (n == 0 || p[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    /* Overlong, surrogate and out-of-range forms. */
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

/*
 * put_str writes s as a JSON string: quotes, backslashes and control
 * characters escaped, valid UTF-8 kept, invalid bytes replaced by U+FFFD,
 * so every line is valid JSON whatever a message quotes.
 */
static void put_str(struct line *l, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *run = p;

    put(l, "\"", 1);
    while (*p) {
        size_t u = 0;

        if ((*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') ||
            (*p >= 0x80 && (u = utf8_len(p)) > 0)) {
            p += u ? u : 1;
            continue;
        }
        put(l, (const char *)run, (size_t)(p - run));
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            put(l, e, 2);
        } else if (*p >= 0x80) {
            put(l, "\\ufffd", 6);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            put(l, e, 6);
        }
        run = ++p;
    }
    put(l, (const char *)run, (size_t)(p - run));
    put(l, "\"", 1);
}

/* put_time writes the current UTC time; the part up to the seconds is formatted once a second. */
static void put_time(struct line *l)
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[64];
    struct timespec ts;
    char ms[24];

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(cached, sizeof(cached), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_sec = ts.tv_sec;
    }
    snprintf(ms, sizeof(ms), ".%03ldZ", ts.tv_nsec / 1000000);
    put(l, "{\"ts\":\"", 7);
    puts_raw(l, cached);
    puts_raw(l, ms);
    put(l, "\"", 1);
}

static void begin(struct line *l, enum log_level level, const char *msg)
{
    l->len = 0;
    l->truncated = false;
    put_time(l);
    puts_raw(l, ",\"level\":\"");
    puts_raw(l, level_names[level]);
    put(l, "\"", 1);
    if (request_id[0]) {
        puts_raw(l, ",\"request_id\":");
        put_str(l, request_id);
    }
    puts_raw(l, ",\"msg\":");
    put_str(l, msg ? msg : "");
}

/* The calling thread's held lines (log_hold): whole lines, at most PIPE_BUF bytes. */
static _Thread_local struct {
    bool on;
    size_t len;
    char buf[PIPE_BUF];
} held;

void log_flush(void)
{
    if (held.len)
        (void)!write(STDERR_FILENO, held.buf, held.len);
    held.len = 0;
}

void log_hold(bool on)
{
    if (!on)
        log_flush();
    held.on = on;
}

/* out writes one whole line, or holds it when the thread holds its lines. */
static void out(const char *s, size_t n)
{
    if (!held.on || n > sizeof(held.buf)) {
        log_flush();
        (void)!write(STDERR_FILENO, s, n);
        return;
    }
    if (held.len + n > sizeof(held.buf))
        log_flush();
    memcpy(held.buf + held.len, s, n);
    held.len += n;
}

static void finish(struct line *l)
{
    l->buf[l->len++] = '}';
    l->buf[l->len++] = '\n';
    /* A line too long for the buffer is cut, which leaves it invalid JSON: say so instead. */
    if (l->truncated) {
        static const char note[] = "{\"level\":\"warn\",\"msg\":\"log line truncated\"}\n";
        out(note, sizeof(note) - 1);
    }
    out(l->buf, l->len);
}

static void emit(enum log_level level, const char *msg, const json_t *fields)
{
    struct line l;
    const char *key;
    json_t *value;

    begin(&l, level, msg);
    if (fields && json_is_object(fields)) {
        json_object_foreach((json_t *)fields, key, value)
        {
            char *text = json_dumps(value, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY |
                                               JSON_REAL_PRECISION(10));
            put(&l, ",", 1);
            put_str(&l, key);
            put(&l, ":", 1);
            puts_raw(&l, text ? text : "null");
            free(text);
        }
    }
    finish(&l);
}

void log_access(const char *method, const char *route, int status, long long latency_us,
                long long bytes_in, long long bytes_out)
{
    struct line l;
    char nums[160];

    if (!log_enabled(LOG_INFO))
        return;
    begin(&l, LOG_INFO, "request");
    puts_raw(&l, ",\"method\":");
    put_str(&l, method);
    puts_raw(&l, ",\"route\":");
    put_str(&l, route);
    /* Milliseconds with three decimals from integer microseconds: no floating-point printf. */
    snprintf(nums, sizeof(nums),
             ",\"status\":%d,\"latency_ms\":%lld.%03lld,\"bytes_in\":%lld,\"bytes_out\":%lld",
             status, latency_us / 1000, latency_us % 1000, bytes_in, bytes_out);
    puts_raw(&l, nums);
    finish(&l);
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
