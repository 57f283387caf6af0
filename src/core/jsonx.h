/*
 * jsonx.h - strict JSON parsing and typed field access over jansson.
 *
 * Parsing rejects duplicate keys, trailing garbage, NUL characters inside
 * strings (\u0000) and out-of-range integers
 * (jansson keeps 64-bit integers exact). The getters validate a field's type
 * and report a clear ST_INVALID / ET_BAD_REQUEST error naming the field, so
 * request handlers can validate bodies in a few lines.
 */
#ifndef SERAC_CORE_JSONX_H
#define SERAC_CORE_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

/*
 * jsonx_parse parses len bytes of text into *out (a new reference the caller
 * owns). Any JSON value is accepted at the top level. On failure returns
 * ST_INVALID with a message naming the line and column.
 */
enum status jsonx_parse(const char *text, size_t len, json_t **out, struct error *err);

/* jsonx_parse_object is jsonx_parse that also requires an object at the top. */
enum status jsonx_parse_object(const char *text, size_t len, json_t **out, struct error *err);

/* jsonx_dump serialises v compactly (key order kept); the caller frees the result. */
char *jsonx_dump(const json_t *v);

/*
 * Typed getters. `what` names the object in messages (e.g. "CreateTableRequest").
 * When the key is absent: required → ST_INVALID; optional → ST_OK with *out
 * left unchanged. A present key of the wrong type is always ST_INVALID.
 * A JSON null counts as absent. Returned pointers borrow from obj.
 */
enum status jsonx_get_str(const json_t *obj, const char *what, const char *key, bool required,
                          const char **out, struct error *err);
enum status jsonx_get_int(const json_t *obj, const char *what, const char *key, bool required,
                          int64_t *out, struct error *err);
enum status jsonx_get_bool(const json_t *obj, const char *what, const char *key, bool required,
                           bool *out, struct error *err);
enum status jsonx_get_obj(const json_t *obj, const char *what, const char *key, bool required,
                          json_t **out, struct error *err);
enum status jsonx_get_arr(const json_t *obj, const char *what, const char *key, bool required,
                          json_t **out, struct error *err);
/* jsonx_get_str_map requires an object whose values are all strings. */
enum status jsonx_get_str_map(const json_t *obj, const char *what, const char *key, bool required,
                              json_t **out, struct error *err);
/* jsonx_get_str_array requires an array whose items are all strings. */
enum status jsonx_get_str_array(const json_t *obj, const char *what, const char *key, bool required,
                                json_t **out, struct error *err);

/* jsonx_is_str_map says whether v is an object whose values are all strings. */
bool jsonx_is_str_map(const json_t *v);
/* jsonx_is_str_array says whether v is an array whose items are all strings. */
bool jsonx_is_str_array(const json_t *v);

/*
 * jsonx_error_body returns a new IcebergErrorResponse object,
 * {"error": {"message", "type", "code"}}, for err.
 */
json_t *jsonx_error_body(const struct error *err);

/*
 * jsonx_top_string finds key among the top-level members of the JSON object
 * text and returns its string value (owned), or NULL when the text is not an
 * object, the key is absent or its value is not a string. It scans without
 * building a tree, skipping nested values, so it is cheap on large metadata.
 */
char *jsonx_top_string(const char *text, const char *key);

#endif
