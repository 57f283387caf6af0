/*
 * schema.c - Iceberg schemas, partition specs and sort orders: validation,
 * fresh field ids and comparison (format/spec.md "Schemas and Data Types",
 * "Partitioning", "Sorting" and Appendix C "JSON serialization").
 *
 * Every function walks jansson trees that may come straight from a client,
 * so every access checks the JSON type first. Malformed shapes are
 * ET_BAD_REQUEST; rule violations carry the error type Java raises for the
 * same input (IllegalArgumentException -> ET_ILLEGAL_ARGUMENT,
 * ValidationException -> ET_VALIDATION).
 */
#include "iceberg/schema.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/jsonx.h"

/* Nesting deeper than this is refused; it bounds recursion on hostile input. */
#define MAX_DEPTH 100

/* The first format version that allows v3 types and default values. */
#define V3 3

/* ------------------------------------------------------------------------ */
/* Primitive types (spec "Primitive Types"; Java Types.fromTypeName).        */

enum ptype {
    PT_BOOLEAN,
    PT_INT,
    PT_LONG,
    PT_FLOAT,
    PT_DOUBLE,
    PT_DECIMAL,
    PT_DATE,
    PT_TIME,
    PT_TIMESTAMP,
    PT_TIMESTAMPTZ,
    PT_TIMESTAMP_NS,
    PT_TIMESTAMPTZ_NS,
    PT_STRING,
    PT_UUID,
    PT_FIXED,
    PT_BINARY,
    PT_UNKNOWN,
    PT_VARIANT,
    PT_GEOMETRY,
    PT_GEOGRAPHY,
};

/* A parsed primitive type string; crs points into the parsed string. */
struct ptype_desc {
    enum ptype kind;
    int64_t p;       /* decimal precision, fixed length */
    int64_t s;       /* decimal scale */
    const char *crs; /* geometry / geography CRS, NULL for the default */
    size_t crs_len;
    int algo; /* geography edge algorithm, index into edge_algos */
};

static const struct {
    const char *name;
    enum ptype kind;
} simple_types[] = {
    {"boolean", PT_BOOLEAN},
    {"int", PT_INT},
    {"long", PT_LONG},
    {"float", PT_FLOAT},
    {"double", PT_DOUBLE},
    {"date", PT_DATE},
    {"time", PT_TIME},
    {"timestamp", PT_TIMESTAMP},
    {"timestamptz", PT_TIMESTAMPTZ},
    {"timestamp_ns", PT_TIMESTAMP_NS},
    {"timestamptz_ns", PT_TIMESTAMPTZ_NS},
    {"string", PT_STRING},
    {"uuid", PT_UUID},
    {"binary", PT_BINARY},
    {"unknown", PT_UNKNOWN},
    {"variant", PT_VARIANT},
};

static const char *const edge_algos[] = {"spherical", "vincenty", "thomas", "andoyer", "karney"};

#define DEFAULT_CRS "OGC:CRS84"

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static const char *skip_ws(const char *p)
{
    while (is_ws(*p))
        p++;
    return p;
}

/* match_ci returns the rest of s after word when s starts with it (ASCII, any case), else NULL. */
static const char *match_ci(const char *s, const char *word)
{
    size_t n = strlen(word);

    return strncasecmp(s, word, n) == 0 ? s + n : NULL;
}

/* parse_num reads 1 to 10 decimal digits worth at most INT32_MAX; NULL when there are none. */
static const char *parse_num(const char *p, int64_t *out)
{
    int64_t v = 0;
    int n = 0;

    while (isdigit((unsigned char)*p)) {
        if (++n > 10)
            return NULL;
        v = v * 10 + (*p++ - '0');
    }
    if (n == 0 || v > INT32_MAX)
        return NULL;
    *out = v;
    return p;
}

static enum status bad_type(const char *s, struct error *err)
{
    return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                     "Cannot parse type string to primitive: %s", s);
}

/* "decimal(P,S)" with optional whitespace inside the parentheses; p follows "decimal(". */
static enum status parse_decimal(const char *s, const char *p, struct ptype_desc *d,
                                 struct error *err)
{
    if (!(p = parse_num(skip_ws(p), &d->p)))
        return bad_type(s, err);
    p = skip_ws(p);
    if (*p != ',')
        return bad_type(s, err);
    if (!(p = parse_num(skip_ws(p + 1), &d->s)))
        return bad_type(s, err);
    p = skip_ws(p);
    if (p[0] != ')' || p[1] != '\0')
        return bad_type(s, err);
    d->kind = PT_DECIMAL;
    if (d->p > 38)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Decimals with precision larger than 38 are not supported: %lld",
                         (long long)d->p);
    if (d->p < 1 || d->s > d->p)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Invalid decimal type %s: precision must be 1 to 38 and scale at most "
                         "the precision",
                         s);
    return ST_OK;
}

/* "fixed[L]" with optional whitespace inside the brackets; p follows "fixed[". */
static enum status parse_fixed(const char *s, const char *p, struct ptype_desc *d,
                               struct error *err)
{
    if (!(p = parse_num(skip_ws(p), &d->p)))
        return bad_type(s, err);
    p = skip_ws(p);
    if (p[0] != ']' || p[1] != '\0')
        return bad_type(s, err);
    d->kind = PT_FIXED;
    if (d->p < 1)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Invalid fixed type %s: length must be at least 1", s);
    return ST_OK;
}

/*
 * "geometry", "geometry(C)", "geography", "geography(C)", "geography(C, A)"
 * (spec "CRS" and "Edge-Interpolation Algorithm"); p follows the type name.
 */
static enum status parse_geo(const char *s, const char *p, bool geography, struct ptype_desc *d,
                             struct error *err)
{
    const char *start, *end;

    d->kind = geography ? PT_GEOGRAPHY : PT_GEOMETRY;
    p = skip_ws(p);
    if (*p == '\0')
        return ST_OK;
    if (*p != '(')
        return bad_type(s, err);
    start = p = skip_ws(p + 1);
    while (*p && *p != ')' && !(geography && *p == ','))
        p++;
    end = p;
    while (end > start && is_ws(end[-1]))
        end--;
    if (end == start)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Invalid CRS: (empty string)");
    d->crs = start;
    d->crs_len = (size_t)(end - start);
    if (geography && *p == ',') {
        const char *a = p = skip_ws(p + 1);
        size_t i, n;

        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        n = (size_t)(p - a);
        for (i = 0; i < sizeof(edge_algos) / sizeof(edge_algos[0]); i++)
            if (strlen(edge_algos[i]) == n && strncasecmp(a, edge_algos[i], n) == 0)
                break;
        if (i == sizeof(edge_algos) / sizeof(edge_algos[0]))
            return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                             "Invalid edge interpolation algorithm: %.*s", (int)n, a);
        d->algo = (int)i;
        p = skip_ws(p);
    }
    if (p[0] != ')' || p[1] != '\0')
        return bad_type(s, err);
    return ST_OK;
}

/* ptype_parse parses a primitive type string (any letter case, as Java accepts). */
static enum status ptype_parse(const char *s, struct ptype_desc *d, struct error *err)
{
    const char *p;
    size_t i;

    memset(d, 0, sizeof(*d));
    for (i = 0; i < sizeof(simple_types) / sizeof(simple_types[0]); i++) {
        if (strcasecmp(s, simple_types[i].name) == 0) {
            d->kind = simple_types[i].kind;
            return ST_OK;
        }
    }
    if ((p = match_ci(s, "decimal(")))
        return parse_decimal(s, p, d, err);
    if ((p = match_ci(s, "fixed[")))
        return parse_fixed(s, p, d, err);
    if ((p = match_ci(s, "geometry")))
        return parse_geo(s, p, false, d, err);
    if ((p = match_ci(s, "geography")))
        return parse_geo(s, p, true, d, err);
    return bad_type(s, err);
}

/* ptype_str returns the canonical spelling Java writes (Type.toString), owned by the caller. */
static char *ptype_str(const struct ptype_desc *d)
{
    const char *crs = d->crs ? d->crs : DEFAULT_CRS;
    int crs_len = d->crs ? (int)d->crs_len : (int)strlen(DEFAULT_CRS);
    size_t i;

    switch (d->kind) {
    case PT_DECIMAL:
        return xasprintf("decimal(%lld, %lld)", (long long)d->p, (long long)d->s);
    case PT_FIXED:
        return xasprintf("fixed[%lld]", (long long)d->p);
    case PT_GEOMETRY:
        return xasprintf("geometry(%.*s)", crs_len, crs);
    case PT_GEOGRAPHY:
        return xasprintf("geography(%.*s, %s)", crs_len, crs, edge_algos[d->algo]);
    default:
        break;
    }
    for (i = 0; i < sizeof(simple_types) / sizeof(simple_types[0]); i++)
        if (simple_types[i].kind == d->kind)
            return xstrdup(simple_types[i].name);
    return xstrdup("?");
}

/* ptype_min_version is the first format version that allows the type (spec "Added by version"). */
static int ptype_min_version(enum ptype kind)
{
    switch (kind) {
    case PT_TIMESTAMP_NS:
    case PT_TIMESTAMPTZ_NS:
    case PT_UNKNOWN:
    case PT_VARIANT:
    case PT_GEOMETRY:
    case PT_GEOGRAPHY:
        return V3;
    default:
        return 1;
    }
}

/* ptype_equal compares parsed types; CRS names compare case-insensitively, as in Java. */
static bool ptype_equal(const struct ptype_desc *a, const struct ptype_desc *b)
{
    const char *ca = a->crs ? a->crs : DEFAULT_CRS, *cb = b->crs ? b->crs : DEFAULT_CRS;
    size_t la = a->crs ? a->crs_len : strlen(DEFAULT_CRS);
    size_t lb = b->crs ? b->crs_len : strlen(DEFAULT_CRS);

    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case PT_DECIMAL:
        return a->p == b->p && a->s == b->s;
    case PT_FIXED:
        return a->p == b->p;
    case PT_GEOGRAPHY:
        return a->algo == b->algo && la == lb && strncasecmp(ca, cb, la) == 0;
    case PT_GEOMETRY:
        return la == lb && strncasecmp(ca, cb, la) == 0;
    default:
        return true;
    }
}

/* ------------------------------------------------------------------------ */
/* Transforms (spec "Partition Transforms"; Java Transforms.fromString).     */

enum tkind { TK_IDENTITY, TK_BUCKET, TK_TRUNCATE, TK_YEAR, TK_MONTH, TK_DAY, TK_HOUR, TK_VOID };

static const char *const tk_names[] = {"identity", "bucket", "truncate", "year",
                                       "month",    "day",    "hour",     "void"};

struct transform {
    enum tkind kind;
    int64_t arg; /* bucket count or truncate width */
};

static enum status transform_parse(const char *s, struct transform *t, struct error *err)
{
    const char *p = s;
    int64_t arg;
    int k;

    for (k = 0; k < (int)(sizeof(tk_names) / sizeof(tk_names[0])); k++) {
        if (k != TK_BUCKET && k != TK_TRUNCATE && strcasecmp(s, tk_names[k]) == 0) {
            t->kind = (enum tkind)k;
            t->arg = 0;
            return ST_OK;
        }
    }
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    if (*p == '[' && ((size_t)(p - s) == 6 || (size_t)(p - s) == 8)) {
        bool bucket = (size_t)(p - s) == 6 && strncasecmp(s, "bucket", 6) == 0;
        bool truncate = (size_t)(p - s) == 8 && strncasecmp(s, "truncate", 8) == 0;
        const char *q = parse_num(p + 1, &arg);

        if ((bucket || truncate) && q && q[0] == ']' && q[1] == '\0') {
            if (arg < 1)
                return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                                 bucket ? "Invalid number of buckets: %lld (must be > 0)"
                                        : "Invalid truncate width: %lld (must be > 0)",
                                 (long long)arg);
            t->kind = bucket ? TK_BUCKET : TK_TRUNCATE;
            t->arg = arg;
            return ST_OK;
        }
    }
    return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Unsupported transform: %s", s);
}

/* transform_applies says whether t accepts source type d (the spec's "Source types" column). */
static bool transform_applies(const struct transform *t, const struct ptype_desc *d)
{
    bool ts = d->kind == PT_TIMESTAMP || d->kind == PT_TIMESTAMPTZ || d->kind == PT_TIMESTAMP_NS ||
              d->kind == PT_TIMESTAMPTZ_NS;

    switch (t->kind) {
    case TK_IDENTITY:
        return d->kind != PT_VARIANT && d->kind != PT_GEOMETRY && d->kind != PT_GEOGRAPHY;
    case TK_BUCKET:
        return ts || d->kind == PT_INT || d->kind == PT_LONG || d->kind == PT_DECIMAL ||
               d->kind == PT_DATE || d->kind == PT_TIME || d->kind == PT_STRING ||
               d->kind == PT_UUID || d->kind == PT_FIXED || d->kind == PT_BINARY;
    case TK_TRUNCATE:
        return d->kind == PT_INT || d->kind == PT_LONG || d->kind == PT_DECIMAL ||
               d->kind == PT_STRING || d->kind == PT_BINARY;
    case TK_YEAR:
    case TK_MONTH:
    case TK_DAY:
        return ts || d->kind == PT_DATE;
    case TK_HOUR:
        return ts;
    case TK_VOID:
        return true;
    }
    return false;
}

/* transform_str writes the canonical (Java toString) spelling of t into buf. */
static const char *transform_str(const struct transform *t, char *buf, size_t n)
{
    if (t->kind == TK_BUCKET || t->kind == TK_TRUNCATE)
        snprintf(buf, n, "%s[%lld]", tk_names[t->kind], (long long)t->arg);
    else
        snprintf(buf, n, "%s", tk_names[t->kind]);
    return buf;
}

/* transforms_same compares two transform strings by meaning, or by text if either is unknown. */
static bool transforms_same(const char *a, const char *b)
{
    struct transform ta, tb;

    if (!a || !b)
        return a == b;
    if (transform_parse(a, &ta, NULL) || transform_parse(b, &tb, NULL))
        return strcmp(a, b) == 0;
    return ta.kind == tb.kind && ta.arg == tb.arg;
}

bool transform_valid(const char *transform, const char *source_type)
{
    struct transform t;
    struct ptype_desc d;

    if (!transform || !source_type)
        return false;
    if (transform_parse(transform, &t, NULL) || ptype_parse(source_type, &d, NULL))
        return false;
    return transform_applies(&t, &d);
}

/* ------------------------------------------------------------------------ */
/* The field index: every id-carrying node of a schema, in the order Java's  */
/* TypeUtil.assignFreshIds numbers them (a struct's direct fields first,     */
/* then each field's type depth-first; a list's element before its content;  */
/* a map's key and value ids before their contents).                         */

enum fkind { FK_FIELD, FK_ELEMENT, FK_KEY, FK_VALUE };

struct fentry {
    int64_t id;
    enum fkind kind;
    const json_t *node; /* the struct field object, or the list / map type holding the id */
    const json_t *type; /* this entry's type: a string or a type object */
    bool required;
    int parent;       /* index of the enclosing entry, -1 at the top level */
    char *name;       /* canonical full name, "b.element.z" */
    char *short_name; /* Java's short name, "b.z" */
};

/* The entries, plus views sorted by id, by name and by short name for lookups. */
struct findex {
    struct fentry *v;
    size_t n, cap;
    const struct fentry **by_id, **by_name, **by_short;
};

static void findex_free(struct findex *ix)
{
    size_t i;

    for (i = 0; i < ix->n; i++) {
        free(ix->v[i].name);
        free(ix->v[i].short_name);
    }
    free(ix->v);
    free(ix->by_id);
    free(ix->by_name);
    free(ix->by_short);
    memset(ix, 0, sizeof(*ix));
}

static char *join_name(const char *prefix, const char *part)
{
    return *prefix ? xasprintf("%s.%s", prefix, part) : xstrdup(part);
}

static int findex_add(struct findex *ix, int64_t id, enum fkind kind, const json_t *node,
                      const json_t *type, bool required, int parent, const char *prefix,
                      const char *short_prefix, const char *part)
{
    struct fentry *e;

    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 16;
        ix->v = xrealloc(ix->v, ix->cap * sizeof(*ix->v));
    }
    e = &ix->v[ix->n];
    e->id = id;
    e->kind = kind;
    e->node = node;
    e->type = type;
    e->required = required;
    e->parent = parent;
    e->name = join_name(prefix, part);
    e->short_name = join_name(short_prefix, part);
    return (int)ix->n++;
}

/* type_kind returns "struct", "list" or "map" for a type object, else NULL. */
static const char *type_kind(const json_t *type)
{
    const char *k = json_string_value(json_object_get(type, "type"));

    if (!json_is_object(type) || !k)
        return NULL;
    if (strcmp(k, "struct") == 0 || strcmp(k, "list") == 0 || strcmp(k, "map") == 0)
        return k;
    return NULL;
}

static bool is_struct_type(const json_t *type)
{
    const char *k = type_kind(type);

    return k && strcmp(k, "struct") == 0;
}

/* get_id reads a required 32-bit integer id. */
static enum status get_id(const json_t *obj, const char *what, const char *key, int64_t *out,
                          struct error *err)
{
    enum status rc = jsonx_get_int(obj, what, key, true, out, err);

    if (rc)
        return rc;
    if (*out < INT32_MIN || *out > INT32_MAX)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid %s: field '%s' must be a 32-bit integer", what, key);
    return ST_OK;
}

/* get_type returns the required type member key of obj. */
static enum status get_type(const json_t *obj, const char *what, const char *key,
                            const json_t **out, struct error *err)
{
    *out = json_object_get(obj, key);
    if (!*out || json_is_null(*out))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid %s: missing field '%s'", what,
                         key);
    return ST_OK;
}

static enum status walk_type(struct findex *ix, const json_t *type, int owner, const char *name,
                             const char *sname, int depth, struct error *err);

static enum status walk_struct(struct findex *ix, const json_t *st, const char *what, int owner,
                               const char *name, const char *sname, int depth, struct error *err)
{
    json_t *fields = NULL, *f;
    size_t i, base = ix->n;
    enum status rc;

    if ((rc = jsonx_get_arr(st, what, "fields", true, &fields, err)))
        return rc;
    json_array_foreach(fields, i, f)
    {
        const char *fname = NULL;
        const json_t *ftype;
        int64_t id;
        bool required = false;

        if (!json_is_object(f))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid schema field: not an object");
        if ((rc = get_id(f, "schema field", "id", &id, err)) ||
            (rc = jsonx_get_str(f, "schema field", "name", true, &fname, err)) ||
            (rc = jsonx_get_bool(f, "schema field", "required", true, &required, err)) ||
            (rc = get_type(f, "schema field", "type", &ftype, err)))
            return rc;
        findex_add(ix, id, FK_FIELD, f, ftype, required, owner, name, sname, fname);
    }
    for (i = base; i < base + json_array_size(fields); i++) {
        const struct fentry *e = &ix->v[i];

        if ((rc = walk_type(ix, e->type, (int)i, e->name, e->short_name, depth + 1, err)))
            return rc;
    }
    return ST_OK;
}

static enum status walk_list(struct findex *ix, const json_t *t, int owner, const char *name,
                             const char *sname, int depth, struct error *err)
{
    const json_t *elem;
    int64_t id;
    bool required = false;
    enum status rc;
    int e;

    if ((rc = get_id(t, "list type", "element-id", &id, err)) ||
        (rc = get_type(t, "list type", "element", &elem, err)) ||
        (rc = jsonx_get_bool(t, "list type", "element-required", true, &required, err)))
        return rc;
    e = findex_add(ix, id, FK_ELEMENT, t, elem, required, owner, name, sname, "element");
    /* Java leaves "element" out of short names when the element is a struct. */
    return walk_type(ix, elem, e, ix->v[e].name, is_struct_type(elem) ? sname : ix->v[e].short_name,
                     depth + 1, err);
}

static enum status walk_map(struct findex *ix, const json_t *t, int owner, const char *name,
                            const char *sname, int depth, struct error *err)
{
    const json_t *key, *value;
    int64_t kid, vid;
    bool vreq = false;
    enum status rc;
    int k, v;

    if ((rc = get_id(t, "map type", "key-id", &kid, err)) ||
        (rc = get_type(t, "map type", "key", &key, err)) ||
        (rc = get_id(t, "map type", "value-id", &vid, err)) ||
        (rc = get_type(t, "map type", "value", &value, err)) ||
        (rc = jsonx_get_bool(t, "map type", "value-required", true, &vreq, err)))
        return rc;
    /* Map keys are always required (spec "Nested Types"). */
    k = findex_add(ix, kid, FK_KEY, t, key, true, owner, name, sname, "key");
    v = findex_add(ix, vid, FK_VALUE, t, value, vreq, owner, name, sname, "value");
    if ((rc = walk_type(ix, key, k, ix->v[k].name, ix->v[k].short_name, depth + 1, err)))
        return rc;
    return walk_type(ix, value, v, ix->v[v].name,
                     is_struct_type(value) ? sname : ix->v[v].short_name, depth + 1, err);
}

static enum status walk_type(struct findex *ix, const json_t *type, int owner, const char *name,
                             const char *sname, int depth, struct error *err)
{
    const char *kind;

    if (json_is_string(type))
        return ST_OK;
    if (depth > MAX_DEPTH)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid schema: types nested more than %d levels deep", MAX_DEPTH);
    if (!(kind = type_kind(type)))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid schema: cannot parse the type of '%s' (expected a type string "
                         "or a struct, list or map object)",
                         name);
    if (strcmp(kind, "struct") == 0)
        return walk_struct(ix, type, "struct type", owner, name, sname, depth, err);
    if (strcmp(kind, "list") == 0)
        return walk_list(ix, type, owner, name, sname, depth, err);
    return walk_map(ix, type, owner, name, sname, depth, err);
}

/* walk_schema indexes a Schema object, checking its shape. */
static enum status walk_schema(const json_t *schema, struct findex *ix, struct error *err)
{
    const char *type = NULL;
    int64_t schema_id;
    enum status rc;

    if (!json_is_object(schema))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid schema: not an object");
    if ((rc = jsonx_get_str(schema, "schema", "type", true, &type, err)) ||
        (rc = jsonx_get_int(schema, "schema", "schema-id", false, &schema_id, err)))
        return rc;
    if (strcmp(type, "struct") != 0)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid schema: field 'type' must be \"struct\"");
    return walk_struct(ix, schema, "schema", -1, "", "", 0, err);
}

/* Comparators for the sorted views; ties keep index order, so lookups find the first entry. */
static int cmp_order(const struct fentry *x, const struct fentry *y)
{
    return (x > y) - (x < y);
}

static int cmp_entry_id(const void *a, const void *b)
{
    const struct fentry *x = *(const struct fentry *const *)a;
    const struct fentry *y = *(const struct fentry *const *)b;

    return x->id != y->id ? (x->id > y->id) - (x->id < y->id) : cmp_order(x, y);
}

static int cmp_entry_name(const void *a, const void *b)
{
    const struct fentry *x = *(const struct fentry *const *)a;
    const struct fentry *y = *(const struct fentry *const *)b;
    int c = strcmp(x->name, y->name);

    return c ? c : cmp_order(x, y);
}

static int cmp_entry_short(const void *a, const void *b)
{
    const struct fentry *x = *(const struct fentry *const *)a;
    const struct fentry *y = *(const struct fentry *const *)b;
    int c = strcmp(x->short_name, y->short_name);

    return c ? c : cmp_order(x, y);
}

static const struct fentry **sorted_view(const struct findex *ix,
                                         int (*cmp)(const void *, const void *))
{
    const struct fentry **view = xcalloc(ix->n + 1, sizeof(*view));
    size_t i;

    for (i = 0; i < ix->n; i++)
        view[i] = &ix->v[i];
    qsort(view, ix->n, sizeof(*view), cmp);
    return view;
}

/* findex_sort builds the sorted views once the entries are final. */
static void findex_sort(struct findex *ix)
{
    ix->by_id = sorted_view(ix, cmp_entry_id);
    ix->by_name = sorted_view(ix, cmp_entry_name);
    ix->by_short = sorted_view(ix, cmp_entry_short);
}

/*
 * index_schema fills ix from a Schema object, checking its shape. On failure
 * ix holds what was indexed before the problem; either way it can be searched.
 */
static enum status index_schema(const json_t *schema, struct findex *ix, struct error *err)
{
    enum status rc = walk_schema(schema, ix, err);

    findex_sort(ix);
    return rc;
}

static const struct fentry *find_by_id(const struct findex *ix, int64_t id)
{
    size_t lo = 0, hi = ix->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ix->by_id[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && ix->by_id[lo]->id == id ? ix->by_id[lo] : NULL;
}

/* lookup_name finds the first entry (in index order) whose (short) name is name. */
static const struct fentry *lookup_name(const struct findex *ix, const char *name, bool short_name)
{
    const struct fentry **view = short_name ? ix->by_short : ix->by_name;
    size_t lo = 0, hi = ix->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *s = short_name ? view[mid]->short_name : view[mid]->name;

        if (strcmp(s, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < ix->n && strcmp(short_name ? view[lo]->short_name : view[lo]->name, name) == 0)
        return view[lo];
    return NULL;
}

/* find_by_name resolves a canonical name, then a short name that no canonical name takes. */
static const struct fentry *find_by_name(const struct findex *ix, const char *name)
{
    const struct fentry *e = lookup_name(ix, name, false);

    return e ? e : lookup_name(ix, name, true);
}

/* entry_label is the entry's own name, as Java's NestedField.name() gives it. */
static const char *entry_label(const struct fentry *e)
{
    switch (e->kind) {
    case FK_FIELD:
        return json_string_value(json_object_get(e->node, "name"));
    case FK_ELEMENT:
        return "element";
    case FK_KEY:
        return "key";
    case FK_VALUE:
        return "value";
    }
    return "";
}

/* entry_primitive parses the entry's type when it is a primitive (variant is not one, as in Java).
 */
static bool entry_primitive(const struct fentry *e, struct ptype_desc *d)
{
    return json_is_string(e->type) && ptype_parse(json_string_value(e->type), d, NULL) == ST_OK &&
           d->kind != PT_VARIANT;
}

/* type_display names a type for messages: the canonical primitive or the nested kind. */
static char *type_display(const json_t *type)
{
    struct ptype_desc d;

    if (json_is_string(type)) {
        if (ptype_parse(json_string_value(type), &d, NULL) == ST_OK)
            return ptype_str(&d);
        return xstrdup(json_string_value(type));
    }
    return xstrdup(type_kind(type) ? type_kind(type) : "?");
}

/* ------------------------------------------------------------------------ */
/* Schema validation.                                                        */

/* check_default checks one default value against its field's type (spec "Default values"). */
static enum status check_default(const struct fentry *e, const char *key, struct error *err)
{
    const json_t *v = json_object_get(e->node, key);
    struct ptype_desc d;
    bool ok = false;
    char *tname, *val;
    enum status rc;

    if (!v || json_is_null(v))
        return ST_OK;
    if (!json_is_string(e->type)) {
        /* A struct's default may only be {}: its fields carry their own defaults. */
        if (is_struct_type(e->type) && json_is_object(v) && json_object_size(v) == 0)
            return ST_OK;
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Invalid %s for %s: a %s default must be null%s", key, e->name,
                         type_kind(e->type) ? type_kind(e->type) : "nested",
                         is_struct_type(e->type) ? " or {}" : "");
    }
    if ((rc = ptype_parse(json_string_value(e->type), &d, err)))
        return rc;
    switch (d.kind) {
    case PT_UNKNOWN:
    case PT_VARIANT:
    case PT_GEOMETRY:
    case PT_GEOGRAPHY:
        tname = ptype_str(&d);
        rc = error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                       "Invalid %s for %s: %s columns must default to null", key, e->name, tname);
        free(tname);
        return rc;
    case PT_BOOLEAN:
        ok = json_is_boolean(v);
        break;
    case PT_INT:
        ok = json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
             json_integer_value(v) <= INT32_MAX;
        break;
    case PT_LONG:
        ok = json_is_integer(v);
        break;
    case PT_FLOAT:
    case PT_DOUBLE:
        ok = json_is_number(v);
        break;
    default:
        /* decimal, date, time, timestamps, string, uuid, fixed, binary: JSON strings. */
        ok = json_is_string(v);
        break;
    }
    if (ok)
        return ST_OK;
    tname = ptype_str(&d);
    val = jsonx_dump(v);
    rc = error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Cannot cast default value to %s: %s",
                   tname, val);
    free(tname);
    free(val);
    return rc;
}

/* check_entries checks each field on its own: names, types, docs, required unknowns, defaults. */
static enum status check_entries(const struct findex *ix, struct error *err)
{
    struct ptype_desc d = {.kind = PT_BOOLEAN};
    enum status rc;
    size_t i;

    for (i = 0; i < ix->n; i++) {
        const struct fentry *e = &ix->v[i];
        const json_t *doc;

        if (json_is_string(e->type) && (rc = ptype_parse(json_string_value(e->type), &d, err)))
            return rc;
        if (e->kind == FK_FIELD) {
            if (*entry_label(e) == '\0')
                return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                                 "Invalid schema: field %lld has an empty name", (long long)e->id);
            doc = json_object_get(e->node, "doc");
            if (doc && !json_is_null(doc) && !json_is_string(doc))
                return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                                 "Invalid schema field: field 'doc' must be a string");
        }
        if (e->required && json_is_string(e->type) && d.kind == PT_UNKNOWN)
            return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                             "Cannot create required field with unknown type: %s", entry_label(e));
        if (e->kind == FK_FIELD && ((rc = check_default(e, "initial-default", err)) ||
                                    (rc = check_default(e, "write-default", err))))
            return rc;
    }
    return ST_OK;
}

/* check_unique requires unique ids and unique full names (Java's IndexById / IndexByName). */
static enum status check_unique(const struct findex *ix, struct error *err)
{
    size_t i;

    for (i = 1; i < ix->n; i++)
        if (ix->by_id[i - 1]->id == ix->by_id[i]->id)
            return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                             "Invalid schema: multiple fields for id %lld: %s and %s",
                             (long long)ix->by_id[i]->id, ix->by_id[i - 1]->name,
                             ix->by_id[i]->name);
    for (i = 1; i < ix->n; i++)
        if (strcmp(ix->by_name[i - 1]->name, ix->by_name[i]->name) == 0)
            return error_set(err, ST_INVALID, ET_VALIDATION,
                             "Invalid schema: multiple fields for name %s: %lld and %lld",
                             ix->by_name[i]->name, (long long)ix->by_name[i - 1]->id,
                             (long long)ix->by_name[i]->id);
    return ST_OK;
}

/*
 * check_identifier applies the spec's "Identifier Field IDs" rules with
 * Java's messages (Schema.validateIdentifierField): the field exists, is a
 * required primitive, not float or double, and every enclosing field is a
 * required struct.
 */
static enum status check_identifier(const struct findex *ix, int64_t id, struct error *err)
{
    const struct fentry *e = find_by_id(ix, id);
    struct ptype_desc d;
    int chain[MAX_DEPTH * 3 + 3];
    int n = 0, p;

    if (!e)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Cannot add fieldId %lld as an identifier field: field does not exist",
                         (long long)id);
    if (!entry_primitive(e, &d))
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Cannot add field %s as an identifier field: not a primitive type field",
                         entry_label(e));
    if (!e->required)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Cannot add field %s as an identifier field: not a required field",
                         entry_label(e));
    if (d.kind == PT_FLOAT || d.kind == PT_DOUBLE)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Cannot add field %s as an identifier field: must not be float or "
                         "double field",
                         entry_label(e));
    for (p = e->parent; p >= 0 && n < (int)(sizeof(chain) / sizeof(chain[0])); p = ix->v[p].parent)
        chain[n++] = p;
    /* Walk from the root down, as Java does, so the outermost problem is reported. */
    while (n-- > 0) {
        const struct fentry *a = &ix->v[chain[n]];

        if (!is_struct_type(a->type))
            return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                             "Cannot add field %s as an identifier field: must not be nested in "
                             "%s",
                             entry_label(e), a->name);
        if (!a->required)
            return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                             "Cannot add field %s as an identifier field: must not be nested in "
                             "an optional field %s",
                             entry_label(e), a->name);
    }
    return ST_OK;
}

static enum status check_identifiers(const json_t *schema, const struct findex *ix,
                                     struct error *err)
{
    const json_t *ids = json_object_get(schema, "identifier-field-ids"), *v;
    enum status rc;
    size_t i;

    if (!ids || json_is_null(ids))
        return ST_OK;
    if (!json_is_array(ids))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid schema: field 'identifier-field-ids' must be an array of "
                         "integers");
    json_array_foreach(ids, i, v)
    {
        if (!json_is_integer(v))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid schema: field 'identifier-field-ids' must be an array of "
                             "integers");
        if ((rc = check_identifier(ix, json_integer_value(v), err)))
            return rc;
    }
    return ST_OK;
}

struct problem {
    int64_t id;
    size_t seq;
    char *msg;
};

static int cmp_problem(const void *a, const void *b)
{
    const struct problem *x = a, *y = b;

    if (x->id != y->id)
        return (x->id > y->id) - (x->id < y->id);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* add_default_problem records a non-null default on a table older than v3. */
static void add_default_problem(const struct fentry *e, const char *key, const char *label,
                                struct problem *probs, size_t *n)
{
    const json_t *v = json_object_get(e->node, key);
    char *val;

    if (!v || json_is_null(v))
        return;
    val = jsonx_dump(v);
    probs[*n].id = e->id;
    probs[*n].seq = *n;
    probs[*n].msg = xasprintf("Invalid %s for %s: non-null default (%s) is not supported until v%d",
                              label, e->name, val, V3);
    (*n)++;
    free(val);
}

/*
 * check_versions rejects what format_version does not allow, listing every
 * problem ordered by field id as Java's Schema.checkCompatibility does.
 */
static enum status check_versions(const struct findex *ix, int format_version, struct error *err)
{
    struct problem *probs;
    struct ptype_desc d;
    size_t i, n = 0;
    char msg[ERROR_MSG_MAX];
    size_t len;
    enum status rc = ST_OK;

    if (format_version >= V3 || ix->n == 0)
        return ST_OK;
    probs = xcalloc(ix->n * 3, sizeof(*probs));
    for (i = 0; i < ix->n; i++) {
        const struct fentry *e = &ix->v[i];

        if (json_is_string(e->type) && !ptype_parse(json_string_value(e->type), &d, NULL) &&
            ptype_min_version(d.kind) > format_version) {
            char *t = ptype_str(&d);

            probs[n].id = e->id;
            probs[n].seq = n;
            probs[n].msg = xasprintf("Invalid type for %s: %s is not supported until v%d", e->name,
                                     t, ptype_min_version(d.kind));
            n++;
            free(t);
        }
        if (e->kind == FK_FIELD) {
            add_default_problem(e, "initial-default", "initial default", probs, &n);
            add_default_problem(e, "write-default", "write default", probs, &n);
        }
    }
    if (n > 0) {
        qsort(probs, n, sizeof(*probs), cmp_problem);
        len = (size_t)snprintf(msg, sizeof(msg), "Invalid schema for v%d:", format_version);
        for (i = 0; i < n && len < sizeof(msg); i++)
            len += (size_t)snprintf(msg + len, sizeof(msg) - len, "\n- %s", probs[i].msg);
        rc = error_set(err, ST_INVALID, ET_VALIDATION, "%s", msg);
    }
    for (i = 0; i < n; i++)
        free(probs[i].msg);
    free(probs);
    return rc;
}

/*
 * validate_into runs every schema check and leaves the index in ix (the
 * caller frees it). format_version INT_MAX skips the version checks.
 */
static enum status validate_into(const json_t *schema, int format_version, struct findex *ix,
                                 struct error *err)
{
    enum status rc;

    if ((rc = index_schema(schema, ix, err)) || (rc = check_entries(ix, err)) ||
        (rc = check_unique(ix, err)) || (rc = check_identifiers(schema, ix, err)))
        return rc;
    /*
     * Java raises these as IllegalStateException / ValidationException; serac
     * answers ET_VALIDATION (400 ValidationException) with Java's wording.
     */
    return check_versions(ix, format_version, err);
}

enum status schema_validate(const json_t *schema, int format_version, struct error *err)
{
    struct findex ix = {0};
    enum status rc = validate_into(schema, format_version, &ix, err);

    findex_free(&ix);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Fresh ids (Java TypeUtil.assignFreshIds; rest-spec.md section 6).         */

static json_t *fresh_type(const json_t *type, int *next);

static void set_copy(json_t *dst, const char *key, const json_t *src)
{
    const json_t *v = json_object_get(src, key);

    if (v && !json_is_null(v))
        json_object_set_new(dst, key, json_deep_copy(v));
}

/* fresh_fields numbers a struct's direct fields first, then recurses into their types. */
static json_t *fresh_fields(const json_t *st, int *next)
{
    const json_t *fields = json_object_get(st, "fields"), *f;
    json_t *out = json_array();
    int first = *next;
    size_t i;

    *next += (int)json_array_size(fields);
    json_array_foreach(fields, i, f)
    {
        json_t *nf = json_object();

        json_object_set_new(nf, "id", json_integer(first + (int)i + 1));
        json_object_set_new(nf, "name", json_deep_copy(json_object_get(f, "name")));
        json_object_set_new(nf, "required", json_deep_copy(json_object_get(f, "required")));
        json_object_set_new(nf, "type", fresh_type(json_object_get(f, "type"), next));
        set_copy(nf, "doc", f);
        set_copy(nf, "initial-default", f);
        set_copy(nf, "write-default", f);
        json_array_append_new(out, nf);
    }
    return out;
}

static json_t *fresh_type(const json_t *type, int *next)
{
    const char *kind = type_kind(type);
    json_t *out;
    struct ptype_desc d;

    if (json_is_string(type)) {
        char *s;

        if (ptype_parse(json_string_value(type), &d, NULL))
            return json_deep_copy(type);
        s = ptype_str(&d);
        out = json_string(s);
        free(s);
        return out;
    }
    out = json_object();
    json_object_set_new(out, "type", json_string(kind));
    if (strcmp(kind, "struct") == 0) {
        json_object_set_new(out, "fields", fresh_fields(type, next));
    } else if (strcmp(kind, "list") == 0) {
        json_object_set_new(out, "element-id", json_integer(++*next));
        json_object_set_new(out, "element", fresh_type(json_object_get(type, "element"), next));
        json_object_set_new(out, "element-required",
                            json_deep_copy(json_object_get(type, "element-required")));
    } else {
        int key_id = ++*next, value_id = ++*next;

        json_object_set_new(out, "key-id", json_integer(key_id));
        json_object_set_new(out, "key", fresh_type(json_object_get(type, "key"), next));
        json_object_set_new(out, "value-id", json_integer(value_id));
        json_object_set_new(out, "value", fresh_type(json_object_get(type, "value"), next));
        json_object_set_new(out, "value-required",
                            json_deep_copy(json_object_get(type, "value-required")));
    }
    return out;
}

static int cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/*
 * fresh_identifiers maps identifier-field-ids to the new numbering: the
 * entry at index k of the index gets id k + 1, because the index is built in
 * the order fresh ids are handed out. Written ascending, as Java's set is.
 */
static json_t *fresh_identifiers(const json_t *schema, const struct findex *ix)
{
    const json_t *ids = json_object_get(schema, "identifier-field-ids"), *v;
    size_t i, n = 0;
    int64_t *mapped;
    json_t *out = json_array();

    if (!json_is_array(ids) || json_array_size(ids) == 0)
        return out;
    mapped = xcalloc(json_array_size(ids), sizeof(*mapped));
    json_array_foreach(ids, i, v)
    {
        const struct fentry *e = find_by_id(ix, json_integer_value(v));

        if (e)
            mapped[n++] = (int64_t)(e - ix->v) + 1;
    }
    qsort(mapped, n, sizeof(*mapped), cmp_int64);
    for (i = 0; i < n; i++)
        if (i == 0 || mapped[i] != mapped[i - 1])
            json_array_append_new(out, json_integer(mapped[i]));
    free(mapped);
    return out;
}

enum status schema_assign_fresh_ids(const json_t *schema, json_t **out, int *last_column_id,
                                    struct error *err)
{
    struct findex ix = {0};
    json_t *fresh = NULL, *ids;
    enum status rc;
    int next = 0;

    if ((rc = validate_into(schema, INT_MAX, &ix, err)))
        goto out;
    fresh = json_object();
    json_object_set_new(fresh, "type", json_string("struct"));
    json_object_set_new(fresh, "schema-id", json_integer(0));
    ids = fresh_identifiers(schema, &ix);
    if (json_array_size(ids) > 0)
        json_object_set_new(fresh, "identifier-field-ids", ids);
    else
        json_decref(ids);
    json_object_set_new(fresh, "fields", fresh_fields(schema, &next));
    if ((size_t)next != ix.n) {
        rc = error_set(err, ST_INTERNAL, ET_INTERNAL, "fresh id assignment lost count");
        json_decref(fresh);
        goto out;
    }
    *out = fresh;
    if (last_column_id)
        *last_column_id = next;
    rc = ST_OK;
out:
    findex_free(&ix);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Comparison and lookups.                                                   */

/* values_same compares default values; numbers compare by value (1 == 1.0). */
static bool values_same(const json_t *a, const json_t *b)
{
    if (a && json_is_null(a))
        a = NULL;
    if (b && json_is_null(b))
        b = NULL;
    if (!a || !b)
        return a == b;
    if (json_is_number(a) && json_is_number(b) && !(json_is_integer(a) && json_is_integer(b)))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

static bool member_same(const json_t *a, const json_t *b, const char *key)
{
    return values_same(json_object_get(a, key), json_object_get(b, key));
}

static bool types_same(const json_t *a, const json_t *b, int depth);

static bool fields_same(const json_t *a, const json_t *b, int depth)
{
    const json_t *fa = json_object_get(a, "fields"), *fb = json_object_get(b, "fields");
    size_t i;

    if (!json_is_array(fa) || !json_is_array(fb) || json_array_size(fa) != json_array_size(fb))
        return false;
    for (i = 0; i < json_array_size(fa); i++) {
        const json_t *x = json_array_get(fa, i), *y = json_array_get(fb, i);

        if (!member_same(x, y, "id") || !member_same(x, y, "name") ||
            !member_same(x, y, "required") || !member_same(x, y, "doc") ||
            !member_same(x, y, "initial-default") || !member_same(x, y, "write-default") ||
            !types_same(json_object_get(x, "type"), json_object_get(y, "type"), depth + 1))
            return false;
    }
    return true;
}

static bool types_same(const json_t *a, const json_t *b, int depth)
{
    struct ptype_desc da, db;
    const char *ka, *kb;

    if (!a || !b || depth > MAX_DEPTH)
        return false;
    if (json_is_string(a) && json_is_string(b)) {
        if (ptype_parse(json_string_value(a), &da, NULL) ||
            ptype_parse(json_string_value(b), &db, NULL))
            return strcmp(json_string_value(a), json_string_value(b)) == 0;
        return ptype_equal(&da, &db);
    }
    ka = type_kind(a);
    kb = type_kind(b);
    if (!ka || !kb || strcmp(ka, kb) != 0)
        return false;
    if (strcmp(ka, "struct") == 0)
        return fields_same(a, b, depth);
    if (strcmp(ka, "list") == 0)
        return member_same(a, b, "element-id") && member_same(a, b, "element-required") &&
               types_same(json_object_get(a, "element"), json_object_get(b, "element"), depth + 1);
    return member_same(a, b, "key-id") && member_same(a, b, "value-id") &&
           member_same(a, b, "value-required") &&
           types_same(json_object_get(a, "key"), json_object_get(b, "key"), depth + 1) &&
           types_same(json_object_get(a, "value"), json_object_get(b, "value"), depth + 1);
}

/* id_set returns the sorted, de-duplicated integers of an array (others ignored). */
static size_t id_set(const json_t *arr, int64_t **out)
{
    const json_t *v;
    size_t i, n = 0, m = 0;

    *out = xcalloc(json_array_size(arr) + 1, sizeof(**out));
    json_array_foreach(arr, i, v) if (json_is_integer(v))(*out)[n++] = json_integer_value(v);
    qsort(*out, n, sizeof(**out), cmp_int64);
    for (i = 0; i < n; i++)
        if (i == 0 || (*out)[i] != (*out)[m - 1])
            (*out)[m++] = (*out)[i];
    return m;
}

bool schema_same(const json_t *a, const json_t *b)
{
    int64_t *ia, *ib;
    size_t na, nb;
    bool same;

    if (!json_is_object(a) || !json_is_object(b) || !fields_same(a, b, 0))
        return false;
    na = id_set(json_object_get(a, "identifier-field-ids"), &ia);
    nb = id_set(json_object_get(b, "identifier-field-ids"), &ib);
    same = na == nb && (na == 0 || memcmp(ia, ib, na * sizeof(*ia)) == 0);
    free(ia);
    free(ib);
    return same;
}

int schema_max_field_id(const json_t *schema)
{
    struct findex ix = {0};
    int64_t max = 0;
    size_t i;

    index_schema(schema, &ix, NULL);
    for (i = 0; i < ix.n; i++)
        if (ix.v[i].id > max)
            max = ix.v[i].id;
    findex_free(&ix);
    return (int)max;
}

const json_t *schema_find_field(const json_t *schema, int id, const json_t **type)
{
    struct findex ix = {0};
    const struct fentry *e;
    const json_t *node = NULL;

    index_schema(schema, &ix, NULL);
    if ((e = find_by_id(&ix, id))) {
        node = e->node;
        if (type)
            *type = e->type;
    }
    findex_free(&ix);
    return node;
}

const json_t *schema_find_field_by_name(const json_t *schema, const char *name)
{
    struct findex ix = {0};
    const struct fentry *e;
    const json_t *node = NULL;

    if (!name)
        return NULL;
    index_schema(schema, &ix, NULL);
    if ((e = find_by_name(&ix, name)))
        node = e->node;
    findex_free(&ix);
    return node;
}

/* ------------------------------------------------------------------------ */
/* Partition specs and sort orders.                                          */

/*
 * read_source_id reads source-id, or a one-element v3 source-ids list
 * (multi-argument transforms do not exist yet).
 */
static enum status read_source_id(const json_t *f, const char *what, int64_t *out,
                                  struct error *err)
{
    const json_t *ids;
    enum status rc;

    if (json_object_get(f, "source-id") && !json_is_null(json_object_get(f, "source-id")))
        return get_id(f, what, "source-id", out, err);
    ids = json_object_get(f, "source-ids");
    if (!ids || json_is_null(ids))
        return get_id(f, what, "source-id", out, err);
    if (!json_is_array(ids) || json_array_size(ids) != 1 ||
        !json_is_integer(json_array_get(ids, 0)))
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Invalid %s: field 'source-ids' must hold exactly one id (multi-argument "
                         "transforms are not supported)",
                         what);
    *out = json_integer_value(json_array_get(ids, 0));
    if (*out < INT32_MIN || *out > INT32_MAX)
        rc = error_set(err, ST_INVALID, ET_BAD_REQUEST,
                       "Invalid %s: field 'source-ids' must hold 32-bit integers", what);
    else
        rc = ST_OK;
    return rc;
}

struct pfield {
    int64_t source_id;
    int64_t field_id;
    const char *name;
    const char *transform;
    struct transform t;
};

static enum status pfield_read(const json_t *f, struct pfield *pf, struct error *err)
{
    enum status rc;

    if (!json_is_object(f))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid partition field: not an object");
    if ((rc = jsonx_get_str(f, "partition field", "name", true, &pf->name, err)) ||
        (rc = jsonx_get_str(f, "partition field", "transform", true, &pf->transform, err)) ||
        (rc = read_source_id(f, "partition field", &pf->source_id, err)) ||
        (rc = get_id(f, "partition field", "field-id", &pf->field_id, err)))
        return rc;
    return transform_parse(pf->transform, &pf->t, err);
}

/* pfield_check applies Java's PartitionSpec.checkCompatibility to one field. */
static enum status pfield_check(const struct findex *ix, const struct pfield *pf, struct error *err)
{
    const struct fentry *src = find_by_id(ix, pf->source_id);
    struct ptype_desc d;
    char tbuf[48];
    char *tname;
    enum status rc;
    int p;

    /* A void field may outlive its source column (spec "Partition Transforms"). */
    if (pf->t.kind == TK_VOID)
        return ST_OK;
    if (!src)
        return error_set(err, ST_INVALID, ET_VALIDATION,
                         "Cannot find source column for partition field: %lld: %s: %s(%lld)",
                         (long long)pf->field_id, pf->name, pf->transform,
                         (long long)pf->source_id);
    if (!entry_primitive(src, &d)) {
        tname = type_display(src->type);
        rc = error_set(err, ST_INVALID, ET_VALIDATION,
                       "Cannot partition by non-primitive source field: %s", tname);
        free(tname);
        return rc;
    }
    if (!transform_applies(&pf->t, &d)) {
        tname = ptype_str(&d);
        rc = error_set(err, ST_INVALID, ET_VALIDATION, "Invalid source type %s for transform: %s",
                       tname, transform_str(&pf->t, tbuf, sizeof(tbuf)));
        free(tname);
        return rc;
    }
    /* Sources may be nested in structs, never in lists or maps (spec "Partitioning"). */
    for (p = src->parent; p >= 0; p = ix->v[p].parent) {
        if (!is_struct_type(ix->v[p].type)) {
            tname = type_display(ix->v[p].type);
            rc = error_set(err, ST_INVALID, ET_VALIDATION, "Invalid partition field parent: %s",
                           tname);
            free(tname);
            return rc;
        }
    }
    return ST_OK;
}

/* pfield_names applies Java's checkAndAddPartitionName (PartitionSpec.Builder). */
static enum status pfield_names(const struct findex *ix, const struct pfield *pf, json_t *seen,
                                struct error *err)
{
    const struct fentry *named = find_by_name(ix, pf->name);

    if (named && find_by_id(ix, pf->source_id) && named->id != pf->source_id)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Cannot create identity partition sourced from different field in "
                         "schema: %s",
                         pf->name);
    if (*pf->name == '\0')
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Cannot use empty partition name: %s", pf->name);
    if (json_object_get(seen, pf->name))
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Cannot use partition name more than once: %s", pf->name);
    json_object_set_new(seen, pf->name, json_true());
    return ST_OK;
}

enum status spec_validate(const json_t *spec, const json_t *schema, int format_version,
                          struct error *err)
{
    struct findex ix = {0};
    json_t *fields = NULL, *f, *names = json_object(), *ids = json_object();
    struct pfield pf;
    int64_t spec_id;
    enum status rc;
    char key[24];
    size_t i;

    if (!json_is_object(spec)) {
        rc = error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid partition spec: not an object");
        goto out;
    }
    if ((rc = jsonx_get_arr(spec, "partition spec", "fields", true, &fields, err)) ||
        (rc = jsonx_get_int(spec, "partition spec", "spec-id", false, &spec_id, err)) ||
        (rc = index_schema(schema, &ix, err)))
        goto out;
    json_array_foreach(fields, i, f)
    {
        if ((rc = pfield_read(f, &pf, err)) || (rc = pfield_names(&ix, &pf, names, err)))
            goto out;
        snprintf(key, sizeof(key), "%lld", (long long)pf.field_id);
        if (json_object_get(ids, key)) {
            rc = error_set(err, ST_INVALID, ET_VALIDATION,
                           "Invalid partition spec: field id %lld is used more than once",
                           (long long)pf.field_id);
            goto out;
        }
        json_object_set_new(ids, key, json_true());
    }
    json_array_foreach(fields, i, f)
    {
        pfield_read(f, &pf, NULL);
        if ((rc = pfield_check(&ix, &pf, err)))
            goto out;
        /* v1 never stored partition field ids: they are 1000, 1001, ... (spec Appendix C). */
        if (format_version <= 1 && pf.field_id != 1000 + (int64_t)i) {
            rc = error_set(err, ST_INVALID, ET_VALIDATION,
                           "Spec does not use sequential IDs that are required in v1: field %s "
                           "has id %lld, expected %lld",
                           pf.name, (long long)pf.field_id, (long long)(1000 + (int64_t)i));
            goto out;
        }
    }
    rc = ST_OK;
out:
    json_decref(names);
    json_decref(ids);
    findex_free(&ix);
    return rc;
}

bool spec_compatible(const json_t *a, const json_t *b)
{
    const json_t *fa = json_object_get(a, "fields"), *fb = json_object_get(b, "fields");
    size_t i;

    if (!json_is_array(fa) || !json_is_array(fb) || json_array_size(fa) != json_array_size(fb))
        return false;
    for (i = 0; i < json_array_size(fa); i++) {
        const json_t *x = json_array_get(fa, i), *y = json_array_get(fb, i);
        int64_t sx, sy;

        if (read_source_id(x, "partition field", &sx, NULL) ||
            read_source_id(y, "partition field", &sy, NULL) || sx != sy ||
            !json_is_string(json_object_get(x, "name")) || !member_same(x, y, "name") ||
            !member_same(x, y, "field-id") ||
            !transforms_same(json_string_value(json_object_get(x, "transform")),
                             json_string_value(json_object_get(y, "transform"))))
            return false;
    }
    return true;
}

int spec_max_field_id(const json_t *spec)
{
    const json_t *fields = json_object_get(spec, "fields"), *f;
    int64_t max = 0;
    bool any = false;
    size_t i;

    json_array_foreach(fields, i, f)
    {
        const json_t *id = json_object_get(f, "field-id");

        if (json_is_integer(id) && json_integer_value(id) <= INT32_MAX &&
            (!any || json_integer_value(id) > max)) {
            max = json_integer_value(id);
            any = true;
        }
    }
    return any ? (int)max : 999;
}

struct sfield {
    int64_t source_id;
    const char *transform;
    const char *direction;
    const char *null_order;
    struct transform t;
};

static enum status sfield_read(const json_t *f, struct sfield *sf, struct error *err)
{
    enum status rc;

    if (!json_is_object(f))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid sort field: not an object");
    if ((rc = jsonx_get_str(f, "sort field", "transform", true, &sf->transform, err)) ||
        (rc = read_source_id(f, "sort field", &sf->source_id, err)) ||
        (rc = jsonx_get_str(f, "sort field", "direction", true, &sf->direction, err)) ||
        (rc = jsonx_get_str(f, "sort field", "null-order", true, &sf->null_order, err)) ||
        (rc = transform_parse(sf->transform, &sf->t, err)))
        return rc;
    if (strcasecmp(sf->direction, "asc") != 0 && strcasecmp(sf->direction, "desc") != 0)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Invalid sort direction: %s",
                         sf->direction);
    if (strcasecmp(sf->null_order, "nulls-first") != 0 &&
        strcasecmp(sf->null_order, "nulls-last") != 0)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Unexpected null order: %s",
                         sf->null_order);
    return ST_OK;
}

/* sfield_check applies Java's SortOrder.checkCompatibility to one field. */
static enum status sfield_check(const struct findex *ix, const struct sfield *sf, struct error *err)
{
    const struct fentry *src = find_by_id(ix, sf->source_id);
    struct ptype_desc d;
    char tbuf[48];
    char *tname;
    enum status rc;

    if (!src)
        return error_set(err, ST_INVALID, ET_VALIDATION,
                         "Cannot find source column for sort field: %s(%lld) %s %s", sf->transform,
                         (long long)sf->source_id, sf->direction, sf->null_order);
    if (!entry_primitive(src, &d)) {
        tname = type_display(src->type);
        rc = error_set(err, ST_INVALID, ET_VALIDATION,
                       "Cannot sort by non-primitive source field: %s", tname);
        free(tname);
        return rc;
    }
    if (!transform_applies(&sf->t, &d)) {
        tname = ptype_str(&d);
        rc = error_set(err, ST_INVALID, ET_VALIDATION, "Invalid source type %s for transform: %s",
                       tname, transform_str(&sf->t, tbuf, sizeof(tbuf)));
        free(tname);
        return rc;
    }
    return ST_OK;
}

enum status sortorder_validate(const json_t *order, const json_t *schema, struct error *err)
{
    struct findex ix = {0};
    json_t *fields = NULL, *f;
    struct sfield sf;
    int64_t order_id = -1;
    bool has_id = false;
    enum status rc;
    size_t i;

    if (!json_is_object(order))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid sort order: not an object");
    if ((rc = jsonx_get_arr(order, "sort order", "fields", true, &fields, err)) ||
        (rc = jsonx_get_int(order, "sort order", "order-id", false, &order_id, err)))
        return rc;
    has_id = json_is_integer(json_object_get(order, "order-id"));
    /* Order id 0 is the unsorted order and nothing else (spec "Sorting"). */
    if (has_id && json_array_size(fields) == 0 && order_id != 0)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Unsorted order ID must be 0");
    if (has_id && json_array_size(fields) > 0 && order_id == 0)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Sort order ID 0 is reserved for unsorted order");
    json_array_foreach(fields, i, f)
    {
        if ((rc = sfield_read(f, &sf, err)))
            return rc;
    }
    if (json_array_size(fields) == 0)
        return ST_OK;
    if ((rc = index_schema(schema, &ix, err)))
        goto out;
    json_array_foreach(fields, i, f)
    {
        sfield_read(f, &sf, NULL);
        if ((rc = sfield_check(&ix, &sf, err)))
            goto out;
    }
    rc = ST_OK;
out:
    findex_free(&ix);
    return rc;
}

static bool str_member_same_ci(const json_t *a, const json_t *b, const char *key)
{
    const char *x = json_string_value(json_object_get(a, key));
    const char *y = json_string_value(json_object_get(b, key));

    return x && y && strcasecmp(x, y) == 0;
}

bool sortorder_same(const json_t *a, const json_t *b)
{
    const json_t *fa = json_object_get(a, "fields"), *fb = json_object_get(b, "fields");
    size_t i, na = json_array_size(fa), nb = json_array_size(fb);

    if (!json_is_object(a) || !json_is_object(b) || na != nb)
        return false;
    for (i = 0; i < na; i++) {
        const json_t *x = json_array_get(fa, i), *y = json_array_get(fb, i);
        int64_t sx, sy;

        if (read_source_id(x, "sort field", &sx, NULL) ||
            read_source_id(y, "sort field", &sy, NULL) || sx != sy ||
            !str_member_same_ci(x, y, "direction") || !str_member_same_ci(x, y, "null-order") ||
            !transforms_same(json_string_value(json_object_get(x, "transform")),
                             json_string_value(json_object_get(y, "transform"))))
            return false;
    }
    return true;
}

bool sortorder_is_unsorted(const json_t *order)
{
    return json_array_size(json_object_get(order, "fields")) == 0;
}
