/* tables.c - table use cases other than commit: create, load, list, drop, register, rename. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/internal.h"
#include "catalog/storage.h"
#include "catalog/imm_cache.h"
#include "core/alloc.h"
#include "core/pct.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "iceberg/manifest.h"
#include "iceberg/table_meta.h"

void catalog_table_result_cleanup(struct catalog_table_result *r)
{
    free(r->body);
    r->body = NULL;
    r->etag[0] = '\0';
}

static enum status table_missing(struct error *err, const json_t *ns, const char *name)
{
    char *dotted = catalog_ident_dotted(ns, name);

    error_set(err, ST_NOT_FOUND, ET_NO_SUCH_TABLE, "Table does not exist: %s", dotted);
    free(dotted);
    return ST_NOT_FOUND;
}

static enum status ns_missing(struct error *err, const json_t *ns)
{
    char *dotted = catalog_ns_dotted(ns);

    error_set(err, ST_NOT_FOUND, ET_NO_SUCH_NAMESPACE, "Namespace does not exist: %s", dotted);
    free(dotted);
    return ST_NOT_FOUND;
}

/*
 * read_table is catalog_get_table for the namespace's store key, reading the
 * metadata text only when with_metadata.
 */
static enum status read_table(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const char *ns_key, const json_t *ns, const char *name,
                              bool with_metadata, struct store_obj *out, struct error *err)
{
    enum status rc = with_metadata ? store_obj_get(ctx->conn, wh->id, ns_key, name, out, err)
                                   : store_obj_head(ctx->conn, wh->id, ns_key, name, out, err);

    if (rc == ST_OK && out->kind != STORE_TABLE) {
        store_obj_cleanup(out);
        rc = ST_NOT_FOUND;
    }
    if (rc == ST_NOT_FOUND)
        return table_missing(err, ns, name);
    return rc;
}

/* get_table is read_table for the namespace's levels. */
static enum status get_table(struct catalog_ctx *ctx, const struct catalog_wh *wh, const json_t *ns,
                             const char *name, bool with_metadata, struct store_obj *out,
                             struct error *err)
{
    char *key = catalog_ns_key(ns);
    enum status rc = read_table(ctx, wh, key, ns, name, with_metadata, out, err);

    free(key);
    return rc;
}

enum status catalog_get_table(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *ns, const char *name, struct store_obj *out,
                              struct error *err)
{
    return get_table(ctx, wh, ns, name, true, out, err);
}

enum status catalog_exists_error(struct error *err, enum store_kind kind, bool creating_view,
                                 const char *dotted)
{
    if (kind == STORE_VIEW && !creating_view)
        return error_set(err, ST_EXISTS, ET_ALREADY_EXISTS,
                         "View with same name already exists: %s", dotted);
    if (kind == STORE_TABLE && creating_view)
        return error_set(err, ST_EXISTS, ET_ALREADY_EXISTS,
                         "Table with same name already exists: %s", dotted);
    return error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "%s already exists: %s",
                     kind == STORE_VIEW ? "View" : "Table", dotted);
}

/* sign_path returns "v1/<prefix>/namespaces/<ns>/tables/<name>/sign", relative to the catalog URI.
 */
static char *sign_path(const struct catalog_wh *wh, const json_t *ns, const char *name)
{
    struct buf b;
    size_t i;
    json_t *level;

    buf_init(&b, 0);
    buf_puts(&b, "v1/");
    pct_puts(&b, wh->name);
    buf_puts(&b, "/namespaces/");
    json_array_foreach(ns, i, level)
    {
        if (i > 0)
            buf_puts(&b, "%1F");
        pct_puts(&b, json_string_value(level));
    }
    buf_puts(&b, "/tables/");
    pct_puts(&b, name);
    buf_puts(&b, "/sign");
    return buf_take(&b);
}

/*
 * table_body builds a LoadTableResult with the table's access config: what
 * its warehouse tells clients about the storage, plus credentials or the
 * signer when the request asked for delegation. location is the table's
 * location when the caller has it; otherwise it is read from the metadata.
 */
static enum status table_body(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *ns, const char *name, const char *meta_loc,
                              const char *text, const char *location, char **out, struct error *err)
{
    json_t *config = NULL, *creds = NULL;
    char *found = NULL, *path = NULL;
    enum status rc;

    *out = NULL;
    /* Scanning large metadata for its location is skipped when nothing uses it. */
    if (!location && storage_needs_location(wh->storage, ctx->delegation))
        location = found = jsonx_top_string(text, "location");
    /* The signer's path only matters to a client that asked for remote signing. */
    if (ctx->delegation & DELEGATE_SIGNING)
        path = sign_path(wh, ns, name);
    rc = storage_table_access(wh->storage, location, ctx->delegation, path, &config, &creds, err);
    if (rc == ST_OK)
        *out = catalog_result_body(meta_loc, text, config, creds);
    json_decref(config);
    json_decref(creds);
    free(path);
    free(found);
    return rc;
}

static json_t *empty_config;

static void make_empty_config(void)
{
    empty_config = json_object();
}

const json_t *catalog_empty_config(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    /* Only ever read (json_object_size), so threads may share it. */
    pthread_once(&once, make_empty_config);
    return empty_config;
}

char *catalog_result_body(const char *metadata_location, const char *metadata, const json_t *config,
                          const json_t *creds)
{
    struct buf b;

    /* The stored metadata is already serialised JSON: splice it in, never re-encode it. */
    buf_init(&b, 0);
    buf_puts(&b, "{");
    if (metadata_location) {
        json_t *loc = json_string(metadata_location);
        char *loc_text = json_dumps(loc, JSON_ENCODE_ANY | JSON_COMPACT);
        buf_puts(&b, "\"metadata-location\":");
        buf_puts(&b, loc_text);
        buf_puts(&b, ",");
        free(loc_text);
        json_decref(loc);
    }
    buf_puts(&b, "\"metadata\":");
    buf_puts(&b, metadata);
    if (config && json_object_size(config) == 0) {
        buf_puts(&b, ",\"config\":{}");
    } else if (config) {
        char *t = jsonx_dump(config);
        buf_puts(&b, ",\"config\":");
        buf_puts(&b, t);
        free(t);
    }
    if (creds && json_array_size(creds) > 0) {
        char *t = jsonx_dump(creds);
        buf_puts(&b, ",\"storage-credentials\":");
        buf_puts(&b, t);
        free(t);
    }
    buf_puts(&b, "}");
    return buf_take(&b);
}

void catalog_etag(const char *metadata_location, bool refs_only, char etag[40])
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: the location names one immutable file */

    for (const unsigned char *p = (const unsigned char *)metadata_location; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    snprintf(etag, 40, "\"%016llx-%s\"", (unsigned long long)h, refs_only ? "refs" : "all");
}

char *catalog_trim_slashes(const char *s)
{
    size_t n = strlen(s);

    while (n > 1 && s[n - 1] == '/')
        n--;
    return xstrndup(s, n);
}

enum status catalog_default_location(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                     const json_t *ns, const char *name, char **out,
                                     struct error *err)
{
    char *key = catalog_ns_key(ns), *props_text = NULL, *base = NULL;
    json_t *props = NULL;
    const char *ns_loc = NULL;
    enum status rc;
    struct buf b;
    size_t i;
    json_t *level;

    *out = NULL;
    rc = store_ns_get(ctx->conn, wh->id, key, &props_text, err);
    if (rc == ST_NOT_FOUND)
        rc = ns_missing(err, ns);
    if (rc)
        goto out;
    if ((rc = jsonx_parse_object(props_text, strlen(props_text), &props, err)))
        goto out;
    buf_init(&b, 0);
    if ((rc = jsonx_get_str(props, "namespace properties", "location", false, &ns_loc, err)) == 0 &&
        ns_loc && *ns_loc) {
        base = catalog_trim_slashes(ns_loc);
        buf_puts(&b, base);
    } else {
        base = catalog_trim_slashes(wh->location);
        buf_puts(&b, base);
        json_array_foreach(ns, i, level)
        {
            buf_puts(&b, "/");
            buf_puts(&b, json_string_value(level));
        }
    }
    buf_printf(&b, "/%s", name);
    *out = buf_take(&b);
    rc = ST_OK;
out:
    json_decref(props);
    free(props_text);
    free(base);
    free(key);
    return rc;
}

enum status catalog_check_location(const struct catalog_wh *wh, const char *location,
                                   struct error *err)
{
    return storage_check_location(wh ? wh->storage : NULL, location, err);
}

enum status catalog_table_create(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                 const json_t *ns, const json_t *request,
                                 struct catalog_table_result *out, struct error *err)
{
    const char *what = "CreateTableRequest", *name = NULL, *req_loc = NULL;
    bool stage = false;
    char *key = catalog_ns_key(ns), *dotted = NULL, *location = NULL, *meta_loc = NULL;
    char *text = NULL;
    json_t *meta = NULL;
    struct store_obj existing = {0};
    char uuid[IDS_UUID_LEN + 1];
    enum store_kind kind = 0;
    enum status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = jsonx_get_str(request, what, "name", true, &name, err)) ||
        (rc = jsonx_get_str(request, what, "location", false, &req_loc, err)) ||
        (rc = jsonx_get_bool(request, what, "stage-create", false, &stage, err)))
        goto out;
    if ((rc = catalog_check_name("table", name, err)))
        goto out;
    dotted = catalog_ident_dotted(ns, name);
    /* Namespace first (404), then the name (409), before any file is written. */
    if (req_loc && *req_loc) {
        location = catalog_trim_slashes(req_loc);
        if ((rc = catalog_ns_exists(ctx, wh, ns, err)))
            goto out;
    } else if ((rc = catalog_default_location(ctx, wh, ns, name, &location, err))) {
        goto out;
    }
    if ((rc = catalog_check_location(wh, location, err)))
        goto out;
    rc = store_obj_get(ctx->conn, wh->id, key, name, &existing, err);
    if (rc == ST_OK) {
        rc = catalog_exists_error(err, existing.kind, false, dotted);
        goto out;
    }
    if (rc != ST_NOT_FOUND)
        goto out;
    ids_uuid_v4(uuid);
    if ((rc = meta_new_table(request, location, uuid, clock_now_ms(), &meta, err)))
        goto out;
    text = meta_serialize(meta);
    if (stage) {
        /* A staged create writes nothing: the create-transaction commit will. */
        rc = table_body(ctx, wh, ns, name, NULL, text, location, &out->body, err);
        goto out;
    }
    meta_loc = meta_new_location(meta, NULL);
    if ((rc = catalog_write_metadata(ctx, meta_loc, text, err)))
        goto out;
    {
        struct store_cas cas = {wh->id, STORE_TABLE, key, name, NULL, meta_loc, text};
        rc = store_obj_commit(ctx->conn, &cas, 1, NULL, &kind, err);
    }
    if (rc) {
        struct error ignored;
        if (catalog_swap_failed_surely(rc))
            fileio_remove(ctx->io, meta_loc, &ignored);
        if (rc == ST_EXISTS)
            catalog_exists_error(err, kind, false, dotted);
        else if (rc == ST_NOT_FOUND)
            ns_missing(err, ns);
        goto out;
    }
    rc = table_body(ctx, wh, ns, name, meta_loc, text, location, &out->body, err);
    catalog_etag(meta_loc, false, out->etag);
out:
    store_obj_cleanup(&existing);
    json_decref(meta);
    free(text);
    free(meta_loc);
    free(location);
    free(dotted);
    free(key);
    return rc;
}

void catalog_prefetch_tables(struct catalog_ctx *ctx, const struct catalog_table_ref *refs,
                             size_t n)
{
    struct store_key *keys = xcalloc(n ? n : 1, sizeof(*keys));
    char **ns_keys = xcalloc(n ? n : 1, sizeof(*ns_keys));
    struct error err;

    error_clear(&err);
    for (size_t i = 0; i < n; i++) {
        ns_keys[i] = catalog_ns_key(refs[i].ns);
        keys[i] = (struct store_key){.wh = refs[i].wh, .ns = ns_keys[i], .name = refs[i].name};
    }
    store_set_deadline(ctx->conn, ctx->cat->opts.request_timeout_ms, NULL);
    if (store_prefetch_heads(ctx->conn, keys, n, &err))
        log_warn("reading %zu table pointers at once failed, each load reads its own: %s", n,
                 err.msg);
    for (size_t i = 0; i < n; i++)
        free(ns_keys[i]);
    free(ns_keys);
    free(keys);
}

void catalog_prefetch_end(struct catalog_ctx *ctx)
{
    store_prefetch_clear(ctx->conn);
}

enum status catalog_table_load(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               const json_t *ns, const char *name, bool refs_only,
                               const char *if_none_match, bool *not_modified,
                               struct catalog_table_result *out, struct error *err)
{
    struct store_obj obj = {0};
    json_t *meta = NULL, *filtered = NULL, *refs = NULL, *stored = NULL;
    char *text = NULL, *ns_key = NULL;
    enum status rc;

    memset(out, 0, sizeof(*out));
    *not_modified = false;
    /*
     * A load reads the pointer; the metadata text comes from the table's entry in the text
     * cache when it is the text of that very file (never stale), else from the store.
     * A conditional or a cached refs load needs no text at all.
     */
    ns_key = catalog_ns_key(ns);
    if ((rc = read_table(ctx, wh, ns_key, ns, name, false, &obj, err)))
        goto out;
    /* The metadata file is the truth engines read: a missing file is a 404 (rck.md §4). */
    rc = fileio_exists(ctx->io, obj.metadata_location, err);
    if (rc == ST_NOT_FOUND) {
        error_set(err, ST_NOT_FOUND, ET_NOT_FOUND, "Failed to open input stream for file: %s",
                  obj.metadata_location);
        goto out;
    }
    if (rc) {
        rc = catalog_fail_io(err, "Failed to check metadata file", obj.metadata_location);
        goto out;
    }
    catalog_etag(obj.metadata_location, refs_only, out->etag);
    if (if_none_match && (strstr(if_none_match, out->etag) || strcmp(if_none_match, "*") == 0)) {
        *not_modified = true;
        goto out;
    }
    /* Filtering means parsing the whole file: it is done once per metadata file. */
    if (refs_only && (refs = imm_cache_get(ctx->cat->refs_cache, obj.metadata_location))) {
        rc = table_body(ctx, wh, ns, name, obj.metadata_location, json_string_value(refs), NULL,
                        &out->body, err);
        goto out;
    }
    if (!(stored = catalog_text_get(ctx, wh->id, ns_key, name, obj.metadata_location))) {
        store_obj_cleanup(&obj);
        if ((rc = read_table(ctx, wh, ns_key, ns, name, true, &obj, err)))
            goto out;
        /* A commit between the two reads is fine: what follows is consistent with this row. */
        catalog_etag(obj.metadata_location, refs_only, out->etag);
        stored = json_stringn_nocheck(obj.metadata, strlen(obj.metadata));
        catalog_text_put(ctx, wh->id, ns_key, name, obj.metadata_location, json_incref(stored));
    }
    if (refs_only) {
        if ((rc = meta_parse(json_string_value(stored), json_string_length(stored), &meta, err))) {
            rc =
                error_wrap(err, ST_INTERNAL, ET_INTERNAL, "Stored metadata of %s is invalid", name);
            goto out;
        }
        filtered = meta_refs_only(meta);
        text = meta_serialize(filtered);
        refs = json_stringn_nocheck(text, strlen(text));
        imm_cache_put(ctx->cat->refs_cache, obj.metadata_location, json_incref(refs),
                      json_string_length(refs) + 1);
        rc = table_body(ctx, wh, ns, name, obj.metadata_location, json_string_value(refs), NULL,
                        &out->body, err);
    } else {
        rc = table_body(ctx, wh, ns, name, obj.metadata_location, json_string_value(stored), NULL,
                        &out->body, err);
    }
out:
    json_decref(meta);
    json_decref(filtered);
    json_decref(refs);
    json_decref(stored);
    free(ns_key);
    free(text);
    store_obj_cleanup(&obj);
    return rc;
}

enum status catalog_table_exists(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                 const json_t *ns, const char *name, struct error *err)
{
    struct store_obj obj = {0};
    enum status rc = get_table(ctx, wh, ns, name, false, &obj, err);

    store_obj_cleanup(&obj);
    return rc;
}

struct obj_list_arg {
    int64_t wh;
    const char *ns_key;
    const json_t *ns;
    enum store_kind kind;
};

static enum status fetch_objs(struct catalog_ctx *ctx, const void *arg, const char *after,
                              size_t limit, struct store_page *out, struct error *err)
{
    const struct obj_list_arg *a = arg;

    return store_obj_list(ctx->conn, a->wh, a->ns_key, a->kind, after, limit, out, err);
}

static json_t *obj_item(const char *name, const void *arg)
{
    const struct obj_list_arg *a = arg;

    json_t *item = json_object();

    json_object_set(item, "namespace", (json_t *)a->ns);
    json_object_set_new(item, "name", json_string(name));
    return item;
}

enum status catalog_table_list(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               const json_t *ns, const char *page_token, size_t page_size,
                               json_t **out, struct error *err)
{
    return catalog_obj_list(ctx, wh, ns, STORE_TABLE, page_token, page_size, out, err);
}

enum status catalog_obj_list(struct catalog_ctx *ctx, const struct catalog_wh *wh, const json_t *ns,
                             enum store_kind kind, const char *page_token, size_t page_size,
                             json_t **out, struct error *err)
{
    char *key = catalog_ns_key(ns), *next = NULL;
    struct obj_list_arg arg = {wh->id, key, ns, kind};
    json_t *items = json_array();
    enum status rc;

    *out = NULL;
    rc = catalog_list_paged(ctx, fetch_objs, &arg, obj_item, page_token, page_size, items, &next,
                            err);
    if (rc == ST_NOT_FOUND)
        rc = ns_missing(err, ns);
    if (rc == ST_OK) {
        *out = json_pack("{s:o}", "identifiers", items);
        items = NULL;
        if (next)
            json_object_set_new(*out, "next-page-token", json_string(next));
    }
    json_decref(items);
    free(next);
    free(key);
    return rc;
}

static void add_path(json_t *set, const json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0)
        json_object_set_new(set, json_string_value(v), json_true());
}

/* Reads an Avro manifest list or manifest and adds the paths it names to set. */
static void add_from_avro(struct catalog_ctx *ctx, const char *location, bool is_list, json_t *set)
{
    char *data = NULL;
    size_t len = 0;
    json_t *paths = json_array();
    struct error err;
    size_t i;
    json_t *p;

    error_clear(&err);
    if (fileio_read(ctx->io, location, ctx->cat->opts.max_metadata_bytes, &data, &len, &err) ||
        (is_list ? manifest_list_files(data, len, paths, &err)
                 : manifest_files(data, len, paths, &err))) {
        if (err.status != ST_NOT_FOUND)
            log_warn("purge: cannot read %s: %s", location, err.msg);
    }
    json_array_foreach(paths, i, p) add_path(set, p);
    json_decref(paths);
    free(data);
}

/*
 * table_files returns the set (an object whose keys are locations) of every
 * file the table's metadata reaches: metadata files (current and logged),
 * manifest lists, manifests, data and delete files, statistics files. This
 * is what a purge deletes, and nothing else: two tables may share a
 * location (a renamed table and a new one under the old name do).
 */
static json_t *table_files(struct catalog_ctx *ctx, const char *metadata_location,
                           const json_t *meta)
{
    json_t *set = json_object(), *manifests = json_object();
    const char *path;
    json_t *entry, *v;
    size_t i, j;

    json_object_set_new(set, metadata_location, json_true());
    json_array_foreach(json_object_get(meta, "metadata-log"), i, entry)
        add_path(set, json_object_get(entry, "metadata-file"));
    json_array_foreach(json_object_get(meta, "snapshots"), i, entry)
    {
        const json_t *list = json_object_get(entry, "manifest-list");
        add_path(set, list);
        if (json_is_string(list))
            add_from_avro(ctx, json_string_value(list), true, manifests);
        /* v1 snapshots may name their manifests inline instead. */
        json_array_foreach(json_object_get(entry, "manifests"), j, v) add_path(manifests, v);
    }
    json_object_foreach(manifests, path, v)
    {
        json_object_set_new(set, path, json_true());
        add_from_avro(ctx, path, false, set);
    }
    json_array_foreach(json_object_get(meta, "statistics"), i, entry)
        add_path(set, json_object_get(entry, "statistics-path"));
    json_array_foreach(json_object_get(meta, "partition-statistics"), i, entry)
        add_path(set, json_object_get(entry, "statistics-path"));
    json_decref(manifests);
    return set;
}

/* Hadoop's local filesystem keeps a ".<name>.crc" checksum beside each file it writes. */
static void remove_crc_sibling(struct catalog_ctx *ctx, const char *location)
{
    const char *slash = strrchr(location, '/');
    struct error err;
    char *crc;

    if (!slash || strncmp(location, "file:", 5) != 0)
        return;
    crc = xasprintf("%.*s/.%s.crc", (int)(slash - location), location, slash + 1);
    fileio_remove(ctx->io, crc, &err);
    free(crc);
}

static int collect_loc(const char *location, int64_t size, void *ud)
{
    (void)size;
    json_array_append_new(ud, json_string(location));
    return 0;
}

static bool is_metadata_file(const char *path)
{
    size_t n = strlen(path);

    return n > 14 && strcmp(path + n - 14, ".metadata.json") == 0;
}

/*
 * sweep_location deletes what the reachable-file purge left under the
 * table's location: metadata files of this table that no commit kept
 * (failed commits, trimmed logs) always; everything else too, unless a
 * metadata file of another table lives there (a renamed table and a new one
 * under its old name share a default location) — then only this table's.
 */
static int sweep_location(struct catalog_ctx *ctx, const char *location, const char *uuid)
{
    json_t *left = json_array(), *mine = json_array(), *v;
    bool shared = false;
    struct error err;
    size_t i;
    int removed = 0;

    if (fileio_list(ctx->io, location, collect_loc, left, &err)) {
        log_warn("purge: cannot list %s: %s", location, err.msg);
        json_decref(left);
        json_decref(mine);
        return 0;
    }
    json_array_foreach(left, i, v)
    {
        const char *path = json_string_value(v);
        char *text = NULL, *other = NULL;
        size_t len;

        if (!is_metadata_file(path))
            continue;
        if (catalog_read_metadata(ctx, path, &text, &len, &err) == ST_OK)
            other = jsonx_top_string(text, "table-uuid");
        if (other && uuid && strcmp(other, uuid) == 0)
            json_array_append(mine, v);
        else if (other)
            shared = true;
        free(text);
        free(other);
    }
    if (!shared) {
        json_decref(mine);
        mine = json_incref(left);
    } else {
        log_warn("purge: %s holds another table's metadata; only this table's files are removed",
                 location);
    }
    if (json_array_size(mine) > 0) {
        size_t n = json_array_size(mine);
        const char **locs = xcalloc(n, sizeof(*locs));
        for (i = 0; i < n; i++)
            locs[i] = json_string_value(json_array_get(mine, i));
        if (fileio_remove_many(ctx->io, locs, n, &err))
            log_warn("purge: cannot remove files under %s: %s", location, err.msg);
        else
            removed = (int)n;
        free(locs);
    }
    if (!shared)
        fileio_remove_prefix(ctx->io, location, &err); /* emptied local directories */
    json_decref(left);
    json_decref(mine);
    return removed;
}

/*
 * Purge deletes the files the table's metadata reaches (like Java's
 * CatalogUtil.dropTableData), in batches, then sweeps the table's location
 * (sweep_location).
 */
static void purge_table(struct catalog_ctx *ctx, const char *metadata_location,
                        const char *metadata)
{
    json_t *meta = NULL, *files, *v;
    struct error err;
    const char *location, *path, **locs;
    size_t n = 0;
    int removed = 0;

    if (meta_parse(metadata, strlen(metadata), &meta, &err)) {
        log_warn("purge: cannot parse metadata %s: %s", metadata_location, err.msg);
        return;
    }
    files = table_files(ctx, metadata_location, meta);
    locs = xcalloc(json_object_size(files) + 1, sizeof(*locs));
    json_object_foreach(files, path, v)
    {
        locs[n++] = path;
        remove_crc_sibling(ctx, path);
    }
    if (fileio_remove_many(ctx->io, locs, n, &err))
        log_warn("purge: cannot remove some files: %s", err.msg);
    else
        removed = (int)n;
    free(locs);
    location = meta_location(meta);
    if (location)
        removed += sweep_location(ctx, location, meta_uuid(meta));
    log_info("purge: removed %d files of table at %s", removed, location ? location : "?");
    json_decref(files);
    json_decref(meta);
}

enum status catalog_table_drop(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               const json_t *ns, const char *name, bool purge, struct error *err)
{
    struct store_obj obj = {0};
    char *key = catalog_ns_key(ns), *last = NULL;
    enum status rc;

    if ((rc = catalog_get_table(ctx, wh, ns, name, &obj, err)))
        goto out;
    rc = store_obj_drop(ctx->conn, wh->id, key, name, STORE_TABLE, &last, err);
    if (rc == ST_NOT_FOUND)
        rc = table_missing(err, ns, name);
    if (rc)
        goto out;
    if (purge) {
        /* The row is gone, so no new commit can reference these files. */
        if (last && strcmp(last, obj.metadata_location) == 0)
            purge_table(ctx, obj.metadata_location, obj.metadata);
        else
            log_warn("purge: %s moved during drop; files left in place", name);
    }
out:
    free(last);
    free(key);
    store_obj_cleanup(&obj);
    return rc;
}

enum status catalog_table_register(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                   const json_t *ns, const json_t *request,
                                   struct catalog_table_result *out, struct error *err)
{
    const char *what = "RegisterTableRequest", *name = NULL, *loc = NULL;
    bool overwrite = false;
    char *key = catalog_ns_key(ns), *dotted = NULL, *text = NULL;
    size_t len = 0;
    json_t *meta = NULL;
    struct store_obj existing = {0};
    enum store_kind kind = 0;
    enum status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = jsonx_get_str(request, what, "name", true, &name, err)) ||
        (rc = jsonx_get_str(request, what, "metadata-location", true, &loc, err)) ||
        (rc = jsonx_get_bool(request, what, "overwrite", false, &overwrite, err)))
        goto out;
    if ((rc = catalog_check_name("table", name, err)))
        goto out;
    dotted = catalog_ident_dotted(ns, name);
    if ((rc = catalog_ns_exists(ctx, wh, ns, err)))
        goto out;
    if ((rc = catalog_check_location(wh, loc, err)))
        goto out;
    rc = store_obj_get(ctx->conn, wh->id, key, name, &existing, err);
    if (rc == ST_OK && (!overwrite || existing.kind != STORE_TABLE)) {
        rc = catalog_exists_error(err, existing.kind, false, dotted);
        goto out;
    }
    if (rc && rc != ST_NOT_FOUND)
        goto out;
    if ((rc = catalog_read_metadata(ctx, loc, &text, &len, err)))
        goto out;
    if ((rc = meta_parse(text, len, &meta, err))) {
        char why[ERROR_MSG_MAX];
        snprintf(why, sizeof(why), "%s", err ? err->msg : "");
        rc = error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid metadata file %s: %s", loc, why);
        goto out;
    }
    {
        struct store_cas cas = {wh->id, STORE_TABLE, key, name, existing.metadata_location,
                                loc,    text};
        rc = store_obj_commit(ctx->conn, &cas, 1, NULL, &kind, err);
    }
    if (rc == ST_EXISTS)
        rc = catalog_exists_error(err, kind, false, dotted);
    else if (rc == ST_NOT_FOUND)
        rc = existing.metadata_location ? table_missing(err, ns, name) : ns_missing(err, ns);
    else if (rc == ST_CONFLICT)
        rc = error_set(err, ST_CONFLICT, ET_COMMIT_FAILED,
                       "Table %s changed while it was being registered", dotted);
    if (rc)
        goto out;
    rc = table_body(ctx, wh, ns, name, loc, text, NULL, &out->body, err);
    catalog_etag(loc, false, out->etag);
out:
    store_obj_cleanup(&existing);
    json_decref(meta);
    free(text);
    free(dotted);
    free(key);
    return rc;
}

static enum status parse_ident(const json_t *obj, const char *what, json_t **ns, const char **name,
                               struct error *err)
{
    json_t *id = (json_t *)obj;
    enum status rc;

    if (!json_is_object(id))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid %s: must be an object", what);
    if ((rc = jsonx_get_str_array(id, what, "namespace", true, ns, err)) ||
        (rc = jsonx_get_str(id, what, "name", true, name, err)))
        return rc;
    if ((rc = catalog_check_namespace(*ns, err)) || (rc = catalog_check_name("object", *name, err)))
        return rc;
    return ST_OK;
}

enum status catalog_table_rename(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                 const json_t *request, struct error *err)
{
    return catalog_obj_rename(ctx, wh, STORE_TABLE, request, err);
}

enum status catalog_obj_rename(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               enum store_kind kind, const json_t *request, struct error *err)
{
    json_t *src_ns, *dst_ns;
    const char *src_name, *dst_name;
    char *src_key = NULL, *dst_key = NULL, *src_dot = NULL, *dst_dot = NULL;
    enum store_kind existing = 0;
    enum status rc;

    if ((rc = parse_ident(json_object_get(request, "source"), "source", &src_ns, &src_name, err)) ||
        (rc = parse_ident(json_object_get(request, "destination"), "destination", &dst_ns,
                          &dst_name, err)))
        return rc;
    src_key = catalog_ns_key(src_ns);
    dst_key = catalog_ns_key(dst_ns);
    src_dot = catalog_ident_dotted(src_ns, src_name);
    dst_dot = catalog_ident_dotted(dst_ns, dst_name);
    rc = store_obj_rename(ctx->conn, wh->id, kind, src_key, src_name, dst_key, dst_name, &existing,
                          err);
    if (rc == ST_NOT_FOUND && err && err->type == ET_NO_SUCH_NAMESPACE)
        ns_missing(err, dst_ns);
    else if (rc == ST_NOT_FOUND && kind == STORE_VIEW)
        error_set(err, ST_NOT_FOUND, ET_NO_SUCH_VIEW, "View does not exist: %s", src_dot);
    else if (rc == ST_NOT_FOUND)
        table_missing(err, src_ns, src_name);
    else if (rc == ST_EXISTS && (existing != kind || kind == STORE_VIEW))
        /* Java's wording: only a table renamed onto a table says "Table already exists: x". */
        error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "Cannot rename %s to %s. %s already exists",
                  src_dot, dst_dot, existing == STORE_VIEW ? "View" : "Table");
    else if (rc == ST_EXISTS)
        error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "Table already exists: %s", dst_dot);
    free(src_key);
    free(dst_key);
    free(src_dot);
    free(dst_dot);
    return rc;
}

enum status catalog_table_credentials(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                      const json_t *ns, const char *name, json_t **out,
                                      struct error *err)
{
    struct store_obj obj = {0};
    json_t *config = NULL, *creds = NULL;
    char *location = NULL;
    enum status rc;

    *out = NULL;
    if ((rc = catalog_get_table(ctx, wh, ns, name, &obj, err)))
        return rc;
    location = jsonx_top_string(obj.metadata, "location");
    /* Credentials only (never the signer): a warehouse that vends none answers an empty list. */
    rc = storage_table_access(wh->storage, location, DELEGATE_VENDED, NULL, &config, &creds, err);
    if (rc == ST_OK)
        *out = json_pack("{s:O}", "storage-credentials", creds);
    json_decref(config);
    json_decref(creds);
    free(location);
    store_obj_cleanup(&obj);
    return rc;
}

enum status catalog_table_sign(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               const json_t *ns, const char *name, const json_t *request,
                               json_t **out, struct error *err)
{
    struct store_obj obj = {0};
    char *location = NULL;
    enum status rc;

    *out = NULL;
    rc = catalog_get_table(ctx, wh, ns, name, &obj, err);
    if (rc == ST_OK) {
        location = jsonx_top_string(obj.metadata, "location");
    } else if (rc == ST_NOT_FOUND) {
        /* A staged create writes data before the table exists: allow its default location. */
        rc = catalog_default_location(ctx, wh, ns, name, &location, err);
    }
    if (rc == ST_OK && !location)
        rc = error_set(err, ST_INTERNAL, ET_INTERNAL, "Table %s has no location", name);
    if (rc == ST_OK)
        rc = storage_sign(wh->storage, location, request, out, err);
    free(location);
    store_obj_cleanup(&obj);
    return rc;
}

enum status catalog_table_metrics(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                  const json_t *ns, const char *name, const json_t *report,
                                  struct error *err)
{
    const char *type = NULL;
    enum status rc;

    if ((rc = jsonx_get_str(report, "ReportMetricsRequest", "report-type", true, &type, err)))
        return rc;
    if ((rc = catalog_table_exists(ctx, wh, ns, name, err)))
        return rc;
    log_debug("metrics report %s for %s", type, name);
    return ST_OK;
}
