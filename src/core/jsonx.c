/* jsonx.c - strict JSON helpers. */
#include "core/jsonx.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

enum status jsonx_parse(const char *text, size_t len, json_t **out, struct error *err)
{
    json_error_t jerr;
    json_t *v;

    *out = NULL;
    if (!text || len == 0)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Malformed request body: empty body");
    v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Malformed request body: %s at line %d, column %d", jerr.text, jerr.line,
                         jerr.column);
    *out = v;
    return ST_OK;
}

enum status jsonx_parse_object(const char *text, size_t len, json_t **out, struct error *err)
{
    enum status rc = jsonx_parse(text, len, out, err);

    if (rc)
        return rc;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Malformed request body: expected a JSON object");
    }
    return ST_OK;
}

/*
 * Serialising. jansson's json_dumps checks every array and object for cycles
 * by printing its address ("%p") into a hash table, and validates strings
 * again, which made it most of the cost of a listing response. The trees we
 * dump have no cycles and their strings are UTF-8 already (jansson checks
 * them when they are made or parsed; the few json_stringn_nocheck callers
 * hold text serac wrote), so this writer does neither and otherwise writes
 * what json_dumps(JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17))
 * writes, byte for byte (test_core and fuzz_json_dump compare the two).
 */

/* Deeper than jansson parses (2048): only a tree built with a cycle gets here. */
#define DUMP_MAX_DEPTH 4096

static void put_string(struct buf *b, const char *s, size_t n)
{
    /* The characters with a two-character escape, and the letter each takes. */
    static const char named[] = "\"\\\b\f\n\r\t", letter[] = "\"\\bfnrt";
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;

    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *hit;

        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        buf_append(b, s + run, i - run);
        run = i + 1;
        if ((hit = memchr(named, ch, sizeof(named) - 1))) {
            char esc[2] = {'\\', letter[hit - named]};

            buf_append(b, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};

            buf_append(b, esc, 6);
        }
    }
    buf_append(b, s + run, n - run);
    buf_putc(b, '"');
}

static void put_integer(struct buf *b, json_int_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* put_real writes what jansson does: "%.17g", ".0" added when it reads as an integer, the
 * exponent without '+' or leading zeros. */
static void put_real(struct buf *b, double v)
{
    char tmp[40], *e;
    int n;

    if (!isfinite(v)) /* jansson makes no such real */
        abort();
    n = snprintf(tmp, sizeof(tmp) - 3, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof(tmp) - 3)
        abort();
    if (!strchr(tmp, '.') && !strchr(tmp, 'e')) {
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    if ((e = strchr(tmp, 'e'))) {
        char *start = e + 1, *end = start + 1;

        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, strlen(end) + 1);
            n = (int)strlen(tmp);
        }
    }
    buf_append(b, tmp, (size_t)n);
}

/* key_len: keys may hold NUL bytes from jansson 2.14 on; before, they are C strings. */
static size_t key_len(void *it)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    return json_object_iter_key_len(it);
#else
    return strlen(json_object_iter_key(it));
#endif
}

static void put_value(struct buf *b, const json_t *v, int depth)
{
    if (depth > DUMP_MAX_DEPTH)
        abort();
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        bool first = true;

        buf_putc(b, '{');
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                buf_putc(b, ',');
            first = false;
            put_string(b, json_object_iter_key(it), key_len(it));
            buf_putc(b, ':');
            put_value(b, json_object_iter_value(it), depth + 1);
        }
        buf_putc(b, '}');
        break;
    }
    case JSON_ARRAY:
        buf_putc(b, '[');
        for (size_t i = 0, n = json_array_size(v); i < n; i++) {
            if (i)
                buf_putc(b, ',');
            put_value(b, json_array_get(v, i), depth + 1);
        }
        buf_putc(b, ']');
        break;
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        put_integer(b, json_integer_value(v));
        break;
    case JSON_REAL:
        put_real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        buf_append(b, "true", 4);
        break;
    case JSON_FALSE:
        buf_append(b, "false", 5);
        break;
    case JSON_NULL:
        buf_append(b, "null", 4);
        break;
    }
}

char *jsonx_dump(const json_t *v)
{
    struct buf b;

    if (!v)
        abort();
    buf_init(&b, 0);
    put_value(&b, v, 0);
    return buf_take(&b);
}

static enum status lookup(const json_t *obj, const char *what, const char *key, bool required,
                          json_t **v, struct error *err)
{
    *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (*v && json_is_null(*v))
        *v = NULL;
    if (!*v && required)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid %s: missing field '%s'", what,
                         key);
    return ST_OK;
}

static enum status wrong_type(const char *what, const char *key, const char *type,
                              struct error *err)
{
    return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid %s: field '%s' must be %s", what,
                     key, type);
}

enum status jsonx_get_str(const json_t *obj, const char *what, const char *key, bool required,
                          const char **out, struct error *err)
{
    json_t *v;
    enum status rc = lookup(obj, what, key, required, &v, err);

    if (rc || !v)
        return rc;
    if (!json_is_string(v))
        return wrong_type(what, key, "a string", err);
    *out = json_string_value(v);
    return ST_OK;
}

enum status jsonx_get_int(const json_t *obj, const char *what, const char *key, bool required,
                          int64_t *out, struct error *err)
{
    json_t *v;
    enum status rc = lookup(obj, what, key, required, &v, err);

    if (rc || !v)
        return rc;
    if (!json_is_integer(v))
        return wrong_type(what, key, "an integer", err);
    *out = (int64_t)json_integer_value(v);
    return ST_OK;
}

enum status jsonx_get_bool(const json_t *obj, const char *what, const char *key, bool required,
                           bool *out, struct error *err)
{
    json_t *v;
    enum status rc = lookup(obj, what, key, required, &v, err);

    if (rc || !v)
        return rc;
    if (!json_is_boolean(v))
        return wrong_type(what, key, "a boolean", err);
    *out = json_is_true(v);
    return ST_OK;
}

enum status jsonx_get_obj(const json_t *obj, const char *what, const char *key, bool required,
                          json_t **out, struct error *err)
{
    json_t *v;
    enum status rc = lookup(obj, what, key, required, &v, err);

    if (rc || !v)
        return rc;
    if (!json_is_object(v))
        return wrong_type(what, key, "an object", err);
    *out = v;
    return ST_OK;
}

enum status jsonx_get_arr(const json_t *obj, const char *what, const char *key, bool required,
                          json_t **out, struct error *err)
{
    json_t *v;
    enum status rc = lookup(obj, what, key, required, &v, err);

    if (rc || !v)
        return rc;
    if (!json_is_array(v))
        return wrong_type(what, key, "an array", err);
    *out = v;
    return ST_OK;
}

bool jsonx_is_str_map(const json_t *v)
{
    const char *k;
    json_t *item;

    if (!json_is_object(v))
        return false;
    json_object_foreach((json_t *)v, k, item) if (!json_is_string(item)) return false;
    return true;
}

bool jsonx_is_str_array(const json_t *v)
{
    size_t i;
    json_t *item;

    if (!json_is_array(v))
        return false;
    json_array_foreach(v, i, item) if (!json_is_string(item)) return false;
    return true;
}

enum status jsonx_get_str_map(const json_t *obj, const char *what, const char *key, bool required,
                              json_t **out, struct error *err)
{
    json_t *v;
    enum status rc = lookup(obj, what, key, required, &v, err);

    if (rc || !v)
        return rc;
    if (!jsonx_is_str_map(v))
        return wrong_type(what, key, "an object of strings", err);
    *out = v;
    return ST_OK;
}

enum status jsonx_get_str_array(const json_t *obj, const char *what, const char *key, bool required,
                                json_t **out, struct error *err)
{
    json_t *v;
    enum status rc = lookup(obj, what, key, required, &v, err);

    if (rc || !v)
        return rc;
    if (!jsonx_is_str_array(v))
        return wrong_type(what, key, "an array of strings", err);
    *out = v;
    return ST_OK;
}

json_t *jsonx_error_body(const struct error *err)
{
    return json_pack("{s:{s:s, s:s, s:i}}", "error", "message", err->msg[0] ? err->msg : "error",
                     "type", error_type_name(err), "code", error_http_code(err));
}

/* skip_ws returns p past JSON whitespace. */
static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* skip_string returns p (at the opening quote) past the closing quote, or NULL. */
static const char *skip_string(const char *p)
{
    for (p++; *p; p++) {
        if (*p == '\\') {
            if (!*++p)
                return NULL;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

/* skip_value returns p (at a value) past it, or NULL for malformed text. */
static const char *skip_value(const char *p)
{
    int depth = 0;

    do {
        p = skip_ws(p);
        if (*p == '"') {
            if (!(p = skip_string(p)))
                return NULL;
        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ']') {
            if (--depth < 0)
                return NULL;
            p++;
        } else if (*p == '\0') {
            return NULL;
        } else {
            /* a number, true, false, null, or a separator inside a container */
            p++;
            while (*p && !strchr(",:{}[]\" \t\r\n", *p))
                p++;
        }
        if (depth > 0) {
            p = skip_ws(p);
            if (*p == ',' || *p == ':')
                p++;
        }
    } while (depth > 0);
    return p;
}

char *jsonx_top_string(const char *text, const char *key)
{
    const char *p = skip_ws(text ? text : ""), *k, *v;
    size_t kl = strlen(key);

    if (*p != '{')
        return NULL;
    p = skip_ws(p + 1);
    while (*p == '"') {
        k = p + 1;
        if (!(p = skip_string(p)))
            return NULL;
        bool match = (size_t)(p - 1 - k) == kl && memcmp(k, key, kl) == 0;
        p = skip_ws(p);
        if (*p != ':')
            return NULL;
        v = skip_ws(p + 1);
        if (match) {
            const char *end = skip_value(v);
            json_t *s = end ? json_loadb(v, (size_t)(end - v), JSON_DECODE_ANY, NULL) : NULL;
            char *out = json_is_string(s) ? strdup(json_string_value(s)) : NULL;
            json_decref(s);
            return out;
        }
        if (!(p = skip_value(v)))
            return NULL;
        p = skip_ws(p);
        if (*p != ',')
            return NULL;
        p = skip_ws(p + 1);
    }
    return NULL;
}
