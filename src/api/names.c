/* names.c - decoding namespaces and names from request paths and queries. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "core/alloc.h"
#include "core/pct.h"

static enum status add_level(json_t *levels, const char *raw, size_t len, struct error *err)
{
    char *level = NULL;
    enum status rc;

    if (pct_decode(raw, len, true, &level))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid namespace: malformed percent-encoding");
    rc = catalog_check_name("namespace", level, err);
    if (!rc)
        json_array_append_new(levels, json_string(level));
    free(level);
    return rc;
}

/* The separator as the path carries it: "%" and two upper-case hex digits. */
static void encode_sep(const char *sep, char enc[4])
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char c = sep && sep[0] ? (unsigned char)sep[0] : 0x1f;

    enc[0] = '%';
    enc[1] = hex[c >> 4];
    enc[2] = hex[c & 15];
    enc[3] = '\0';
}

static bool at_sep(const char *p, const char *enc)
{
    return p[0] == '%' && p[1] == enc[1] && (p[2] == enc[2] || (p[2] ^ 0x20) == enc[2]);
}

enum status api_decode_namespace(const char *raw, const char *sep, json_t **levels,
                                 struct error *err)
{
    json_t *arr = json_array();
    const char *start = raw, *p = raw;
    enum status rc = ST_OK;
    char enc[4];

    /* %1F always separates; the advertised separator only when no %1F is present. */
    encode_sep(strstr(raw, "%1F") || strstr(raw, "%1f") ? NULL : sep, enc);
    *levels = NULL;
    for (;;) {
        if (*p == '\0' || at_sep(p, enc)) {
            if ((rc = add_level(arr, start, (size_t)(p - start), err)))
                break;
            if (*p == '\0')
                break;
            p += 3;
            start = p;
            continue;
        }
        p++;
    }
    if (!rc && json_array_size(arr) > 16)
        rc = error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid namespace: more than 16 levels");
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *levels = arr;
    return ST_OK;
}

enum status api_decode_name(const char *what, const char *raw, char **name, struct error *err)
{
    enum status rc;

    *name = NULL;
    if (pct_decode(raw, strlen(raw), true, name))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid %s name: malformed percent-encoding", what);
    if ((rc = catalog_check_name(what, *name, err))) {
        free(*name);
        *name = NULL;
    }
    return rc;
}

enum status api_parse_parent(const char *parent, const char *sep, json_t **levels,
                             struct error *err)
{
    json_t *arr = json_array();
    const char *start = parent;
    char split = '\x1f';
    enum status rc = ST_OK;

    *levels = NULL;
    if (parent && !strchr(parent, '\x1f') && sep && sep[0])
        split = sep[0];
    if (parent && *parent) {
        for (const char *p = parent;; p++) {
            if (*p == split || *p == '\0') {
                char *level = xstrndup(start, (size_t)(p - start));
                rc = catalog_check_name("namespace", level, err);
                if (!rc)
                    json_array_append_new(arr, json_string(level));
                free(level);
                if (rc || *p == '\0')
                    break;
                start = p + 1;
            }
        }
    }
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *levels = arr;
    return ST_OK;
}
