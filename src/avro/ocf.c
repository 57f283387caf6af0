/*
 * ocf.c - Avro object container file reader (Avro 1.11 specification,
 * "Object Container Files" and "Binary Encoding").
 *
 * The writer schema is parsed into a graph of decoder nodes: named types are
 * registered before their fields are parsed, so a record may refer to
 * itself, and a reference to a name points at the same node. Every node is
 * also on a singly linked list that owns it, which makes freeing cycles
 * trivial. Records are decoded straight from the (decompressed) block into
 * jansson values.
 */
#include "avro/ocf.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "core/alloc.h"

#define SYNC_LEN 16
/* Largest avro.schema text accepted; Iceberg manifest schemas are a few KB. */
#define MAX_SCHEMA_TEXT ((size_t)4 * 1024 * 1024)
/* Block record counts for schemas whose values may take zero bytes. */
#define ZERO_SIZE_SLACK 4096

enum kind {
    K_NULL,
    K_BOOLEAN,
    K_INT,
    K_LONG,
    K_FLOAT,
    K_DOUBLE,
    K_BYTES,
    K_STRING,
    K_RECORD,
    K_ENUM,
    K_ARRAY,
    K_MAP,
    K_UNION,
    K_FIXED,
};

struct node {
    enum kind kind;
    char *fullname;     /* named types (record, enum, fixed) only */
    size_t n;           /* fields, branches, symbols; the size of a fixed */
    struct node **kids; /* record fields, union branches; kids[0] for array items and map values */
    char **names;       /* record field names or enum symbols */
    size_t min_size;    /* a lower bound on the encoded size in bytes */
    struct node *next;  /* the owner list of every node */
};

enum codec { CODEC_NULL, CODEC_DEFLATE, CODEC_ZSTD };

struct meta_entry {
    char *key, *val; /* NUL-terminated copies */
    size_t klen, vlen;
};

struct cursor {
    const uint8_t *p;
    size_t len, pos;
};

struct ocf_reader {
    const uint8_t *data;
    size_t len, pos; /* pos: the start of the next block */
    struct meta_entry *meta;
    size_t n_meta;
    json_t *schema_json;
    struct node *root, *nodes;
    enum codec codec;
    uint8_t sync[SYNC_LEN];
    uint8_t *buf; /* decompressed block storage */
    size_t buf_cap;
    struct cursor block; /* the current block's records */
    int64_t left;        /* records not yet read from the current block */
    enum status failed;  /* sticky failure after a corrupt block */
    char fail_msg[ERROR_MSG_MAX];
};

/* ---- primitive reads ------------------------------------------------------------------ */

static enum status bad(struct error *err, const char *what)
{
    return error_set(err, ST_INVALID, ET_NONE, "Invalid Avro file: %s", what);
}

/* read_long reads a zig-zag varint of at most 10 bytes. */
static enum status read_long(struct cursor *c, int64_t *out, struct error *err)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (c->pos >= c->len)
            return bad(err, "truncated number");
        uint8_t b = c->p[c->pos++];
        if (shift == 63 && b > 1)
            return bad(err, "number out of range");
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
            return ST_OK;
        }
    }
    return bad(err, "number out of range");
}

static enum status read_int(struct cursor *c, int64_t *out, struct error *err)
{
    enum status rc = read_long(c, out, err);

    if (rc == ST_OK && (*out < INT32_MIN || *out > INT32_MAX))
        return bad(err, "int out of range");
    return rc;
}

/* read_bytes reads a length-prefixed byte string and points *p into the input. */
static enum status read_bytes(struct cursor *c, const uint8_t **p, size_t *n, struct error *err)
{
    int64_t len;
    enum status rc;

    *p = NULL; /* set on every path, which also lets the optimiser see callers' uses are safe */
    *n = 0;
    if ((rc = read_long(c, &len, err)))
        return rc;
    if (len < 0 || (uint64_t)len > c->len - c->pos)
        return bad(err, "length exceeds the data");
    *p = c->p + c->pos;
    *n = (size_t)len;
    c->pos += (size_t)len;
    return ST_OK;
}

/*
 * read_block_count reads the item count of an array or map block. A negative
 * count is followed by the block's size in bytes, which is checked and
 * otherwise ignored.
 */
static enum status read_block_count(struct cursor *c, int64_t *count, struct error *err)
{
    int64_t size;
    enum status rc = read_long(c, count, err);

    if (rc || *count >= 0)
        return rc;
    if (*count == INT64_MIN)
        return bad(err, "block count out of range");
    *count = -*count;
    if ((rc = read_long(c, &size, err)))
        return rc;
    if (size < 0 || (uint64_t)size > c->len - c->pos)
        return bad(err, "block size exceeds the data");
    return ST_OK;
}

/* ---- schema --------------------------------------------------------------------------- */

struct parser {
    struct node *nodes; /* owner list */
    json_t *named;      /* fullname -> integer index into by_index */
    struct node **by_index;
    size_t n_named;
    struct error *err;
};

static const struct {
    const char *name;
    enum kind kind;
    size_t min_size;
} primitives[] = {
    {"null", K_NULL, 0},   {"boolean", K_BOOLEAN, 1}, {"int", K_INT, 1},
    {"long", K_LONG, 1},   {"float", K_FLOAT, 4},     {"double", K_DOUBLE, 8},
    {"bytes", K_BYTES, 1}, {"string", K_STRING, 1},
};

static enum status schema_bad(struct parser *ps, const char *what, const char *name)
{
    return error_set(ps->err, ST_INVALID, ET_NONE, "Invalid Avro schema: %s%s%.200s", what,
                     name ? " " : "", name ? name : "");
}

static struct node *node_new(struct parser *ps, enum kind kind)
{
    struct node *n = xcalloc(1, sizeof(*n));

    n->kind = kind;
    n->next = ps->nodes;
    ps->nodes = n;
    return n;
}

static void nodes_free(struct node *n)
{
    while (n) {
        struct node *next = n->next;
        if (n->names)
            for (size_t i = 0; i < n->n; i++)
                free(n->names[i]);
        free(n->names);
        free(n->kids);
        free(n->fullname);
        free(n);
        n = next;
    }
}

static size_t sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static int primitive_index(const char *s)
{
    for (size_t i = 0; i < sizeof(primitives) / sizeof(primitives[0]); i++)
        if (strcmp(s, primitives[i].name) == 0)
            return (int)i;
    return -1;
}

static struct node *primitive_node(struct parser *ps, int idx)
{
    struct node *n = node_new(ps, primitives[idx].kind);

    n->min_size = primitives[idx].min_size;
    return n;
}

/* fullname applies the Avro name rules: a dotted name is full, else the namespace applies. */
static char *fullname(const char *name, const char *ns)
{
    if (strchr(name, '.') || !ns || !*ns)
        return xstrdup(name);
    return xasprintf("%s.%s", ns, name);
}

/* namespace_of returns the namespace part of a full name (a new string, maybe empty). */
static char *namespace_of(const char *full)
{
    const char *dot = strrchr(full, '.');

    return dot ? xstrndup(full, (size_t)(dot - full)) : xstrdup("");
}

static struct node *lookup(struct parser *ps, const char *name, const char *ns)
{
    json_t *idx = NULL;

    if (!strchr(name, '.') && ns && *ns) {
        char *full = fullname(name, ns);
        idx = json_object_get(ps->named, full);
        free(full);
    }
    if (!idx)
        idx = json_object_get(ps->named, name);
    return idx ? ps->by_index[json_integer_value(idx)] : NULL;
}

/* define_name registers a named type; redefinitions are an error (Avro "Names"). */
static enum status define_name(struct parser *ps, struct node *n, const json_t *obj, const char *ns)
{
    const char *name = json_string_value(json_object_get(obj, "name"));
    const json_t *nsj = json_object_get(obj, "namespace");

    if (!name || !*name)
        return schema_bad(ps, "named type without a name", NULL);
    if (nsj && !json_is_string(nsj) && !json_is_null(nsj))
        return schema_bad(ps, "namespace is not a string in", name);
    n->fullname = fullname(name, json_is_string(nsj) ? json_string_value(nsj) : ns);
    if (primitive_index(n->fullname) >= 0 || json_object_get(ps->named, n->fullname))
        return schema_bad(ps, "type defined twice:", n->fullname);
    if (ps->n_named % 64 == 0)
        ps->by_index = xrealloc(ps->by_index, (ps->n_named + 64) * sizeof(*ps->by_index));
    ps->by_index[ps->n_named] = n;
    json_object_set_new(ps->named, n->fullname, json_integer((json_int_t)ps->n_named));
    ps->n_named++;
    return ST_OK;
}

static enum status parse_type(struct parser *ps, const json_t *j, const char *ns, int depth,
                              struct node **out);

static enum status parse_record(struct parser *ps, const json_t *j, const char *ns, int depth,
                                struct node **out)
{
    struct node *n = node_new(ps, K_RECORD);
    const json_t *fields = json_object_get(j, "fields");
    json_t *seen = NULL;
    char *inner_ns = NULL;
    enum status rc;

    if ((rc = define_name(ps, n, j, ns)))
        return rc;
    if (!json_is_array(fields))
        return schema_bad(ps, "record without a fields array:", n->fullname);
    n->n = json_array_size(fields);
    n->kids = xcalloc(n->n ? n->n : 1, sizeof(*n->kids));
    n->names = xcalloc(n->n ? n->n : 1, sizeof(*n->names));
    inner_ns = namespace_of(n->fullname);
    seen = json_object();
    for (size_t i = 0; i < n->n; i++) {
        const json_t *f = json_array_get(fields, i);
        const char *fname = json_string_value(json_object_get(f, "name"));
        if (!fname || !json_object_get(f, "type")) {
            rc = schema_bad(ps, "field without a name or type in", n->fullname);
            goto out;
        }
        if (json_object_get(seen, fname)) {
            rc = schema_bad(ps, "duplicate field", fname);
            goto out;
        }
        json_object_set_new(seen, fname, json_true());
        n->names[i] = xstrdup(fname);
        if ((rc = parse_type(ps, json_object_get(f, "type"), inner_ns, depth + 1, &n->kids[i])))
            goto out;
        n->min_size = sat_add(n->min_size, n->kids[i]->min_size);
    }
    *out = n;
    rc = ST_OK;
out:
    json_decref(seen);
    free(inner_ns);
    return rc;
}

static enum status parse_enum(struct parser *ps, const json_t *j, const char *ns, struct node **out)
{
    struct node *n = node_new(ps, K_ENUM);
    const json_t *symbols = json_object_get(j, "symbols");
    enum status rc;

    if ((rc = define_name(ps, n, j, ns)))
        return rc;
    if (!json_is_array(symbols))
        return schema_bad(ps, "enum without symbols:", n->fullname);
    n->names = xcalloc(json_array_size(symbols) + 1, sizeof(*n->names));
    for (size_t i = 0; i < json_array_size(symbols); i++) {
        const char *s = json_string_value(json_array_get(symbols, i));
        if (!s)
            return schema_bad(ps, "enum symbol is not a string in", n->fullname);
        n->names[n->n++] = xstrdup(s);
    }
    n->min_size = 1;
    *out = n;
    return ST_OK;
}

static enum status parse_fixed(struct parser *ps, const json_t *j, const char *ns,
                               struct node **out)
{
    struct node *n = node_new(ps, K_FIXED);
    const json_t *size = json_object_get(j, "size");
    enum status rc;

    if ((rc = define_name(ps, n, j, ns)))
        return rc;
    if (!json_is_integer(size) || json_integer_value(size) < 0 ||
        (uint64_t)json_integer_value(size) > OCF_MAX_BLOCK)
        return schema_bad(ps, "fixed without a valid size:", n->fullname);
    n->n = (size_t)json_integer_value(size);
    n->min_size = n->n;
    *out = n;
    return ST_OK;
}

static enum status parse_union(struct parser *ps, const json_t *j, const char *ns, int depth,
                               struct node **out)
{
    struct node *n = node_new(ps, K_UNION);
    size_t min = SIZE_MAX;
    enum status rc;

    n->n = json_array_size(j);
    if (n->n == 0)
        return schema_bad(ps, "empty union", NULL);
    n->kids = xcalloc(n->n, sizeof(*n->kids));
    for (size_t i = 0; i < n->n; i++) {
        if ((rc = parse_type(ps, json_array_get(j, i), ns, depth + 1, &n->kids[i])))
            return rc;
        if (n->kids[i]->min_size < min)
            min = n->kids[i]->min_size;
    }
    n->min_size = sat_add(1, min);
    *out = n;
    return ST_OK;
}

/* parse_container parses {"type": "array", "items": T} and {"type": "map", "values": T}. */
static enum status parse_container(struct parser *ps, const json_t *j, enum kind kind,
                                   const char *ns, int depth, struct node **out)
{
    const char *key = kind == K_ARRAY ? "items" : "values";
    const json_t *inner = json_object_get(j, key);
    struct node *n = node_new(ps, kind);
    enum status rc;

    if (!inner)
        return schema_bad(ps, kind == K_ARRAY ? "array without items" : "map without values", NULL);
    n->n = 1;
    n->kids = xcalloc(1, sizeof(*n->kids));
    if ((rc = parse_type(ps, inner, ns, depth + 1, &n->kids[0])))
        return rc;
    n->min_size = 1; /* the terminating zero count */
    *out = n;
    return ST_OK;
}

static enum status parse_named_ref(struct parser *ps, const char *s, const char *ns,
                                   struct node **out)
{
    int prim = primitive_index(s);

    if (prim >= 0) {
        *out = primitive_node(ps, prim);
        return ST_OK;
    }
    if (!(*out = lookup(ps, s, ns)))
        return schema_bad(ps, "unknown type", s);
    return ST_OK;
}

static enum status parse_object(struct parser *ps, const json_t *j, const char *ns, int depth,
                                struct node **out)
{
    const json_t *type = json_object_get(j, "type");
    const char *t = json_string_value(type);

    /* Lenient: {"type": {"type": "long"}} and {"type": [...]} wrap another schema. */
    if (json_is_object(type) || json_is_array(type))
        return parse_type(ps, type, ns, depth + 1, out);
    if (!t)
        return schema_bad(ps, "object without a type", NULL);
    if (strcmp(t, "record") == 0 || strcmp(t, "error") == 0)
        return parse_record(ps, j, ns, depth, out);
    if (strcmp(t, "enum") == 0)
        return parse_enum(ps, j, ns, out);
    if (strcmp(t, "fixed") == 0)
        return parse_fixed(ps, j, ns, out);
    if (strcmp(t, "array") == 0)
        return parse_container(ps, j, K_ARRAY, ns, depth, out);
    if (strcmp(t, "map") == 0)
        return parse_container(ps, j, K_MAP, ns, depth, out);
    /* A primitive with attributes (logicalType, ...), or a reference to a named type. */
    return parse_named_ref(ps, t, ns, out);
}

static enum status parse_type(struct parser *ps, const json_t *j, const char *ns, int depth,
                              struct node **out)
{
    if (depth > OCF_MAX_DEPTH)
        return schema_bad(ps, "nested too deeply", NULL);
    if (json_is_string(j))
        return parse_named_ref(ps, json_string_value(j), ns, out);
    if (json_is_array(j))
        return parse_union(ps, j, ns, depth, out);
    if (json_is_object(j))
        return parse_object(ps, j, ns, depth, out);
    return schema_bad(ps, "a schema must be a string, an array or an object", NULL);
}

/* ---- header --------------------------------------------------------------------------- */

const char *ocf_meta(const struct ocf_reader *r, const char *key, size_t *len)
{
    size_t klen = strlen(key);

    for (size_t i = r->n_meta; i-- > 0;) {
        if (r->meta[i].klen == klen && memcmp(r->meta[i].key, key, klen) == 0) {
            if (len)
                *len = r->meta[i].vlen;
            return r->meta[i].val;
        }
    }
    return NULL;
}

const json_t *ocf_schema(const struct ocf_reader *r)
{
    return r->schema_json;
}

const char *ocf_codec(const struct ocf_reader *r)
{
    static const char *const names[] = {"null", "deflate", "zstandard"};

    return names[r->codec];
}

/* copy_bytes returns a NUL-terminated copy of n bytes that may themselves hold NULs. */
static char *copy_bytes(const uint8_t *p, size_t n)
{
    char *s = xmalloc(n + 1);

    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static enum status read_meta(struct ocf_reader *r, struct cursor *c, struct error *err)
{
    size_t cap = 0;
    int64_t count;
    enum status rc;

    for (;;) {
        if ((rc = read_block_count(c, &count, err)))
            return rc;
        if (count == 0)
            return ST_OK;
        for (int64_t i = 0; i < count; i++) {
            const uint8_t *k, *v;
            size_t kn, vn;
            if ((rc = read_bytes(c, &k, &kn, err)) || (rc = read_bytes(c, &v, &vn, err)))
                return rc;
            if (r->n_meta == cap) {
                cap = cap ? cap * 2 : 8;
                r->meta = xrealloc(r->meta, cap * sizeof(*r->meta));
            }
            struct meta_entry *e = &r->meta[r->n_meta++];
            e->key = copy_bytes(k, kn);
            e->klen = kn;
            e->val = copy_bytes(v, vn);
            e->vlen = vn;
        }
    }
}

static enum status read_codec(struct ocf_reader *r, struct error *err)
{
    const char *codec = ocf_meta(r, "avro.codec", NULL);

    if (!codec || strcmp(codec, "null") == 0)
        r->codec = CODEC_NULL;
    else if (strcmp(codec, "deflate") == 0)
        r->codec = CODEC_DEFLATE;
    else if (strcmp(codec, "zstandard") == 0)
        r->codec = CODEC_ZSTD;
    else
        return error_set(err, ST_UNSUPPORTED, ET_NONE, "Avro codec \"%.64s\" is not supported",
                         codec);
    return ST_OK;
}

static enum status read_schema(struct ocf_reader *r, struct error *err)
{
    size_t len;
    const char *text = ocf_meta(r, "avro.schema", &len);
    struct parser ps = {.err = err};
    json_error_t jerr;
    enum status rc;

    if (!text)
        return bad(err, "no avro.schema in the header");
    if (len > MAX_SCHEMA_TEXT)
        return bad(err, "avro.schema is too large");
    r->schema_json = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!r->schema_json) {
        rc = error_set(err, ST_INVALID, ET_NONE, "Invalid Avro schema JSON: %s", jerr.text);
        goto out;
    }
    ps.named = json_object();
    rc = parse_type(&ps, r->schema_json, "", 0, &r->root);
out:
    r->nodes = ps.nodes;
    json_decref(ps.named);
    free(ps.by_index);
    return rc;
}

enum status ocf_reader_open(const void *data, size_t len, struct ocf_reader **out,
                            struct error *err)
{
    struct ocf_reader *r = xcalloc(1, sizeof(*r));
    struct cursor c = {.p = data, .len = len, .pos = 4};
    enum status rc;

    *out = NULL;
    r->data = data;
    r->len = len;
    if (len >= 4 && memcmp(data, "PAR1", 4) == 0) {
        rc = error_set(err, ST_UNSUPPORTED, ET_NONE, "Parquet manifests are not supported");
        goto out;
    }
    if (len < 4 || memcmp(data, "Obj\x01", 4) != 0) {
        rc = bad(err, "not an Avro object container file (bad magic)");
        goto out;
    }
    if ((rc = read_meta(r, &c, err)))
        goto out;
    if (len - c.pos < SYNC_LEN) {
        rc = bad(err, "truncated header");
        goto out;
    }
    memcpy(r->sync, r->data + c.pos, SYNC_LEN);
    r->pos = c.pos + SYNC_LEN;
    if ((rc = read_codec(r, err)) || (rc = read_schema(r, err)))
        goto out;
    *out = r;
    r = NULL;
out:
    ocf_reader_free(r);
    return rc;
}

void ocf_reader_free(struct ocf_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_meta; i++) {
        free(r->meta[i].key);
        free(r->meta[i].val);
    }
    free(r->meta);
    json_decref(r->schema_json);
    nodes_free(r->nodes);
    free(r->buf);
    free(r);
}

/* ---- blocks --------------------------------------------------------------------------- */

/* grow_buf makes room for more output, up to OCF_MAX_BLOCK; ST_INVALID past the cap. */
static enum status grow_buf(struct ocf_reader *r, size_t used, size_t hint, struct error *err)
{
    size_t cap;

    if (used < r->buf_cap)
        return ST_OK;
    if (r->buf_cap >= OCF_MAX_BLOCK)
        return error_set(err, ST_INVALID, ET_NONE,
                         "Invalid Avro file: a block decompresses to more than %zu bytes",
                         OCF_MAX_BLOCK);
    cap = r->buf_cap ? r->buf_cap * 2 : (hint < 65536 ? 65536 : hint);
    if (cap > OCF_MAX_BLOCK)
        cap = OCF_MAX_BLOCK;
    r->buf = xrealloc(r->buf, cap);
    r->buf_cap = cap;
    return ST_OK;
}

static enum status inflate_block(struct ocf_reader *r, const uint8_t *in, size_t n, size_t *out_len,
                                 struct error *err)
{
    z_stream zs;
    size_t used = 0;
    enum status rc = ST_OK;

    if (n > UINT_MAX)
        return bad(err, "deflate block too large");
    memset(&zs, 0, sizeof(zs));
    /* Avro's deflate codec is raw RFC 1951: no zlib header, no checksum. */
    if (inflateInit2(&zs, -15) != Z_OK)
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "inflateInit2 failed");
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    for (;;) {
        if ((rc = grow_buf(r, used, n * 4, err)))
            break;
        zs.next_out = r->buf + used;
        zs.avail_out = (uInt)(r->buf_cap - used);
        int zr = inflate(&zs, Z_NO_FLUSH);
        used = r->buf_cap - zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr == Z_OK || (zr == Z_BUF_ERROR && zs.avail_out == 0))
            continue;
        rc = bad(err, zr == Z_BUF_ERROR ? "truncated deflate block" : "corrupt deflate block");
        break;
    }
    inflateEnd(&zs);
    *out_len = used;
    return rc;
}

static enum status zstd_block(struct ocf_reader *r, const uint8_t *in, size_t n, size_t *out_len,
                              struct error *err)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_inBuffer zin = {in, n, 0};
    size_t used = 0;
    enum status rc = ST_OK;

    if (!dctx)
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "ZSTD_createDCtx failed");
    /* A window larger than the block cap could never be needed. */
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 26);
    for (;;) {
        if ((rc = grow_buf(r, used, n * 4, err)))
            break;
        ZSTD_outBuffer zout = {r->buf + used, r->buf_cap - used, 0};
        size_t ret = ZSTD_decompressStream(dctx, &zout, &zin);
        used += zout.pos;
        if (ZSTD_isError(ret)) {
            rc = bad(err, "corrupt zstandard block");
            break;
        }
        if (zin.pos == zin.size && ret == 0)
            break; /* every frame complete */
        if (zin.pos == zin.size && zout.pos < zout.size) {
            rc = bad(err, "truncated zstandard block");
            break;
        }
    }
    ZSTD_freeDCtx(dctx);
    *out_len = used;
    return rc;
}

static enum status next_block(struct ocf_reader *r, struct error *err)
{
    struct cursor c = {.p = r->data, .len = r->len, .pos = r->pos};
    int64_t count, size;
    size_t raw_len, out_len = 0;
    const uint8_t *raw;
    enum status rc;

    if ((rc = read_long(&c, &count, err)) || (rc = read_long(&c, &size, err)))
        return rc;
    if (count < 0 || size < 0)
        return bad(err, "negative block count or size");
    if ((uint64_t)size > c.len - c.pos || c.len - c.pos - (size_t)size < SYNC_LEN)
        return bad(err, "truncated block");
    raw = c.p + c.pos;
    raw_len = (size_t)size;
    if (memcmp(raw + raw_len, r->sync, SYNC_LEN) != 0)
        return bad(err, "sync marker mismatch");
    r->pos = c.pos + raw_len + SYNC_LEN;
    if (raw_len == 0 || r->codec == CODEC_NULL) {
        if (raw_len > OCF_MAX_BLOCK)
            return bad(err, "block too large");
        r->block = (struct cursor){.p = raw, .len = raw_len, .pos = 0};
    } else {
        rc = r->codec == CODEC_DEFLATE ? inflate_block(r, raw, raw_len, &out_len, err)
                                       : zstd_block(r, raw, raw_len, &out_len, err);
        if (rc)
            return rc;
        r->block = (struct cursor){.p = r->buf, .len = out_len, .pos = 0};
    }
    /* Every record takes at least min_size bytes; bound the count before decoding. */
    if (r->root->min_size > 0 ? (uint64_t)count > r->block.len / r->root->min_size
                              : (uint64_t)count > r->block.len + ZERO_SIZE_SLACK)
        return bad(err, "block record count exceeds its size");
    r->left = count;
    return ST_OK;
}

/* ---- values --------------------------------------------------------------------------- */

struct decoder {
    struct cursor *c;
    size_t budget; /* values this record may still decode */
    struct error *err;
};

static enum status decode(struct decoder *d, const struct node *n, int depth, json_t **out);

static json_t *hex_string(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = xmalloc(2 * n + 1);
    json_t *v;

    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    v = json_stringn_nocheck(s, 2 * n);
    free(s);
    return v;
}

static json_t *real_value(double v)
{
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "Infinity" : "-Infinity");
    return json_real(v);
}

static enum status decode_fixed_width(struct decoder *d, const struct node *n, json_t **out)
{
    struct cursor *c = d->c;
    size_t width = n->kind == K_FLOAT ? 4 : n->kind == K_DOUBLE ? 8 : n->n;
    uint64_t bits = 0;

    if (width > c->len - c->pos)
        return bad(d->err, "truncated value");
    const uint8_t *p = c->p + c->pos;
    c->pos += width;
    if (n->kind == K_FIXED) {
        *out = hex_string(p, width);
        return ST_OK;
    }
    for (size_t i = width; i-- > 0;)
        bits = bits << 8 | p[i]; /* little-endian IEEE 754 */
    if (n->kind == K_FLOAT) {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof(f));
        *out = real_value(f);
    } else {
        double g;
        memcpy(&g, &bits, sizeof(g));
        *out = real_value(g);
    }
    return ST_OK;
}

static enum status decode_scalar(struct decoder *d, const struct node *n, json_t **out)
{
    const uint8_t *p;
    size_t len;
    int64_t v;
    enum status rc;

    switch (n->kind) {
    case K_NULL:
        *out = json_null();
        return ST_OK;
    case K_BOOLEAN:
        if (d->c->pos >= d->c->len)
            return bad(d->err, "truncated boolean");
        if (d->c->p[d->c->pos] > 1)
            return bad(d->err, "boolean is neither 0 nor 1");
        *out = json_boolean(d->c->p[d->c->pos++]);
        return ST_OK;
    case K_INT:
    case K_LONG:
        if ((rc = n->kind == K_INT ? read_int(d->c, &v, d->err) : read_long(d->c, &v, d->err)))
            return rc;
        *out = json_integer((json_int_t)v);
        return ST_OK;
    case K_BYTES:
    case K_STRING:
        if ((rc = read_bytes(d->c, &p, &len, d->err)))
            return rc;
        *out = n->kind == K_BYTES ? hex_string(p, len) : json_stringn((const char *)p, len);
        return *out ? ST_OK : bad(d->err, "string is not valid UTF-8");
    case K_ENUM:
        if ((rc = read_int(d->c, &v, d->err)))
            return rc;
        if (v < 0 || (uint64_t)v >= n->n)
            return bad(d->err, "enum index out of range");
        *out = json_string(n->names[v]);
        return *out ? ST_OK : bad(d->err, "enum symbol is not valid UTF-8");
    default:
        return decode_fixed_width(d, n, out);
    }
}

/* decode_items decodes the blocks of an array or map into *out (already created). */
static enum status decode_items(struct decoder *d, const struct node *n, int depth, json_t *out)
{
    size_t item_min = n->kind == K_MAP ? sat_add(1, n->kids[0]->min_size) : n->kids[0]->min_size;
    int64_t count;
    enum status rc;

    for (;;) {
        if ((rc = read_block_count(d->c, &count, d->err)))
            return rc;
        if (count == 0)
            return ST_OK;
        if (item_min > 0 && (uint64_t)count > (d->c->len - d->c->pos) / item_min)
            return bad(d->err, "item count exceeds the data");
        for (int64_t i = 0; i < count; i++) {
            const uint8_t *key = NULL;
            size_t klen = 0;
            json_t *v = NULL;
            if (n->kind == K_MAP && (rc = read_bytes(d->c, &key, &klen, d->err)))
                return rc;
            if ((rc = decode(d, n->kids[0], depth + 1, &v)))
                return rc;
            if (n->kind == K_ARRAY)
                json_array_append_new(out, v);
            else if (json_object_setn_new(out, (const char *)key, klen, v))
                return bad(d->err, "map key is not valid UTF-8");
        }
    }
}

static enum status decode(struct decoder *d, const struct node *n, int depth, json_t **out)
{
    json_t *v = NULL;
    int64_t branch;
    enum status rc;

    *out = NULL;
    if (depth > OCF_MAX_DEPTH)
        return bad(d->err, "values nested too deeply");
    if (d->budget == 0)
        return bad(d->err, "record has too many values");
    d->budget--;
    switch (n->kind) {
    case K_RECORD:
        v = json_object();
        for (size_t i = 0; i < n->n; i++) {
            json_t *f;
            if ((rc = decode(d, n->kids[i], depth + 1, &f)))
                goto fail;
            json_object_set_new(v, n->names[i], f);
        }
        break;
    case K_ARRAY:
    case K_MAP:
        v = n->kind == K_ARRAY ? json_array() : json_object();
        if ((rc = decode_items(d, n, depth, v)))
            goto fail;
        break;
    case K_UNION:
        if ((rc = read_long(d->c, &branch, d->err)))
            return rc;
        if (branch < 0 || (uint64_t)branch >= n->n)
            return bad(d->err, "union branch out of range");
        return decode(d, n->kids[branch], depth + 1, out);
    default:
        return decode_scalar(d, n, out);
    }
    *out = v;
    return ST_OK;
fail:
    json_decref(v);
    return rc;
}

enum status ocf_next(struct ocf_reader *r, json_t **record, struct error *err)
{
    struct error local;
    struct error *e = err ? err : &local;
    struct decoder d = {.c = &r->block, .budget = OCF_MAX_VALUES, .err = e};
    enum status rc;

    *record = NULL;
    if (r->failed)
        return error_set(err, r->failed, ET_NONE, "%s", r->fail_msg);
    while (r->left == 0) {
        if (r->block.pos != r->block.len) {
            rc = bad(e, "unread bytes at the end of a block");
            goto fail;
        }
        if (r->pos == r->len)
            return error_set(err, ST_NOT_FOUND, ET_NONE, "No more records");
        if ((rc = next_block(r, e)))
            goto fail;
    }
    if ((rc = decode(&d, r->root, 0, record)))
        goto fail;
    r->left--;
    return ST_OK;
fail:
    r->failed = rc;
    snprintf(r->fail_msg, sizeof(r->fail_msg), "%s", e->msg);
    return rc;
}
