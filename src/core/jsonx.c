/* jsonx.c - strict JSON helpers. */
#include "core/jsonx.h"

#include <stdlib.h>
#include <string.h>

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

char *jsonx_dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));

    if (!s)
        abort();
    return s;
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
