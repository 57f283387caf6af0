/* catalog.c - the shared catalog, worker contexts, warehouses and identifier helpers. */
#include "catalog/catalog.h"

#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/pct.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/gz.h"
#include "core/log.h"
#include "catalog/internal.h"
#include "catalog/storage.h"
#include "catalog/imm_cache.h"
#include "core/jsonx.h"

/* json_text_equal compares two JSON texts by value (unparsable text is unequal). */
static bool json_text_equal(const char *a, const char *b)
{
    json_t *ja = a ? json_loads(a, 0, NULL) : NULL, *jb = b ? json_loads(b, 0, NULL) : NULL;
    bool eq = ja && jb && json_equal(ja, jb);

    json_decref(ja);
    json_decref(jb);
    return eq;
}

/* check_settings refuses to start with default-warehouse storage settings that cannot work. */
static enum status check_settings(const struct catalog_options *opts, struct error *err)
{
    struct storage_settings st;
    json_t *settings = NULL;
    enum status rc;

    rc = jsonx_parse_object(opts->warehouse_storage, strlen(opts->warehouse_storage), &settings,
                            err);
    if (rc)
        return error_wrap(err, ST_INVALID, ET_BAD_REQUEST, "Invalid warehouse-storage setting");
    rc = storage_parse(opts->warehouse_name, opts->warehouse_location, settings, &st, err);
    storage_settings_cleanup(&st);
    json_decref(settings);
    return rc;
}

enum status catalog_open(const struct catalog_options *opts, struct catalog **out,
                         struct error *err)
{
    enum status rc;
    struct catalog *cat = xcalloc(1, sizeof(*cat));
    struct store_conn *conn = NULL;
    struct store_warehouse wh = {0};

    cat->opts = *opts;
    if (cat->opts.commit_attempts == 0)
        cat->opts.commit_attempts = 10;
    if (cat->opts.default_page_size == 0)
        cat->opts.default_page_size = 100;
    if (cat->opts.max_page_size == 0)
        cat->opts.max_page_size = 1000;
    if (cat->opts.max_metadata_bytes == 0)
        cat->opts.max_metadata_bytes = 256u << 20;
    if (cat->opts.job_interval_ms <= 0)
        cat->opts.job_interval_ms = 60000;
    pthread_mutex_init(&cat->jobs_lock, NULL);
    pthread_rwlock_init(&cat->wh_cache_lock, NULL);
    pthread_cond_init(&cat->jobs_wake, NULL);
    for (int i = 0; i < CATALOG_COMMIT_LOCKS; i++)
        pthread_mutex_init(&cat->commit_locks[i], NULL);
    cat->refs_cache = imm_cache_new(64u << 20, imm_json_take, imm_json_drop);
    cat->text_cache = imm_cache_new(64u << 20, imm_json_take, imm_json_drop);
    cat->meta_cache = imm_cache_new(64u << 20, imm_json_take, imm_json_drop);
    cat->storage = xcalloc(1, sizeof(*cat->storage));
    storage_registry_init(cat->storage);
    if (opts->warehouse_storage && (rc = check_settings(opts, err)))
        goto out;
    if ((rc = store_open(opts->store_url, &cat->store, err)))
        goto out;
    if ((rc = store_connect(cat->store, &conn, err)))
        goto out;
    if ((rc = store_warehouse_ensure(conn, opts->warehouse_name, opts->warehouse_location,
                                     opts->warehouse_storage, &wh, err)))
        goto out;
    if (strcmp(wh.location, opts->warehouse_location) != 0)
        log_warn("warehouse '%s' keeps its stored location %s (configured: %s)", wh.name,
                 wh.location, opts->warehouse_location);
    /* The configuration is the truth for the default warehouse's storage settings. */
    if (opts->warehouse_storage && !json_text_equal(wh.storage, opts->warehouse_storage) &&
        (rc = store_warehouse_set_storage(conn, wh.name, opts->warehouse_storage, err)))
        goto out;
    rc = ST_OK;
out:
    store_warehouse_cleanup(&wh);
    store_disconnect(conn);
    if (rc) {
        catalog_close(cat);
        cat = NULL;
    }
    *out = cat;
    return rc;
}

void catalog_close(struct catalog *cat)
{
    if (!cat)
        return;
    catalog_stop_jobs(cat);
    pthread_mutex_destroy(&cat->jobs_lock);
    pthread_cond_destroy(&cat->jobs_wake);
    if (cat->store)
        store_close(cat->store);
    catalog_wh_invalidate(cat);
    pthread_rwlock_destroy(&cat->wh_cache_lock);
    imm_cache_free(cat->refs_cache);
    imm_cache_free(cat->text_cache);
    imm_cache_free(cat->meta_cache);
    if (cat->storage) {
        storage_registry_cleanup(cat->storage);
        free(cat->storage);
    }
    for (int i = 0; i < CATALOG_COMMIT_LOCKS; i++)
        pthread_mutex_destroy(&cat->commit_locks[i]);
    free(cat);
}

enum status catalog_ctx_open(struct catalog *cat, struct catalog_ctx **out, struct error *err)
{
    struct catalog_ctx *ctx = xcalloc(1, sizeof(*ctx));
    enum status rc;

    ctx->cat = cat;
    ctx->io = cat->storage->local;
    if ((rc = store_connect(cat->store, &ctx->conn, err))) {
        free(ctx);
        ctx = NULL;
    }
    *out = ctx;
    return rc;
}

void catalog_ctx_close(struct catalog_ctx *ctx)
{
    if (!ctx)
        return;
    store_disconnect(ctx->conn);
    free(ctx);
}

enum status catalog_ready(struct catalog_ctx *ctx, struct error *err)
{
    return store_ping(ctx->conn, err);
}

struct wh_cache_entry {
    char *name;
    char *location;
    int64_t id;
    struct storage_entry *storage;
    int64_t expires_ms;
};

void catalog_wh_invalidate(struct catalog *cat)
{
    pthread_rwlock_wrlock(&cat->wh_cache_lock);
    for (size_t i = 0; i < cat->wh_cache_n; i++) {
        free(cat->wh_cache[i].name);
        free(cat->wh_cache[i].location);
    }
    free(cat->wh_cache);
    cat->wh_cache = NULL;
    cat->wh_cache_n = 0;
    pthread_rwlock_unlock(&cat->wh_cache_lock);
}

/* wh_cached fills out from the cache; false on a miss or an expired entry. */
static bool wh_cached(struct catalog *cat, const char *name, struct catalog_wh *out)
{
    int64_t now = clock_now_ms();
    bool hit = false;

    pthread_rwlock_rdlock(&cat->wh_cache_lock);
    for (size_t i = 0; i < cat->wh_cache_n; i++) {
        struct wh_cache_entry *e = &cat->wh_cache[i];
        if (strcmp(e->name, name) == 0 && now < e->expires_ms) {
            out->id = e->id;
            out->name = xstrdup(e->name);
            out->location = xstrdup(e->location);
            out->storage = e->storage;
            hit = true;
            break;
        }
    }
    pthread_rwlock_unlock(&cat->wh_cache_lock);
    return hit;
}

static void wh_remember(struct catalog *cat, const struct catalog_wh *wh)
{
    size_t i;

    pthread_rwlock_wrlock(&cat->wh_cache_lock);
    for (i = 0; i < cat->wh_cache_n; i++)
        if (strcmp(cat->wh_cache[i].name, wh->name) == 0)
            break;
    if (i == cat->wh_cache_n) {
        cat->wh_cache = xrealloc(cat->wh_cache, (i + 1) * sizeof(*cat->wh_cache));
        cat->wh_cache_n++;
    } else {
        free(cat->wh_cache[i].name);
        free(cat->wh_cache[i].location);
    }
    cat->wh_cache[i] = (struct wh_cache_entry){xstrdup(wh->name), xstrdup(wh->location), wh->id,
                                               wh->storage, clock_now_ms() + CATALOG_WH_TTL_MS};
    pthread_rwlock_unlock(&cat->wh_cache_lock);
}

enum status catalog_wh_resolve(struct catalog_ctx *ctx, const char *name, struct catalog_wh *out,
                               struct error *err)
{
    struct store_warehouse w = {0};
    enum status rc;

    memset(out, 0, sizeof(*out));
    if (!name || !*name)
        name = ctx->cat->opts.warehouse_name;
    if (wh_cached(ctx->cat, name, out)) {
        ctx->io = out->storage->io;
        return ST_OK;
    }
    rc = store_warehouse_get(ctx->conn, name, &w, err);
    if (rc == ST_NOT_FOUND)
        return error_set(err, ST_NOT_FOUND, ET_NO_SUCH_WAREHOUSE, "Warehouse does not exist: %s",
                         name);
    if (rc)
        return rc;
    out->id = w.id;
    out->name = w.name;
    out->location = w.location;
    rc = storage_registry_get(ctx->cat->storage, w.id, w.name, w.location, w.storage, &out->storage,
                              err);
    free(w.storage);
    if (rc) {
        catalog_wh_cleanup(out);
        return rc;
    }
    ctx->io = out->storage->io;
    wh_remember(ctx->cat, out);
    return ST_OK;
}

void catalog_set_delegation(struct catalog_ctx *ctx, const char *header)
{
    ctx->delegation = storage_parse_delegation(header);
}

void catalog_wh_cleanup(struct catalog_wh *wh)
{
    free(wh->name);
    free(wh->location);
    memset(wh, 0, sizeof(*wh));
}

enum status catalog_config(struct catalog_ctx *ctx, const char *warehouse, json_t **out,
                           struct error *err)
{
    struct catalog_wh wh;
    enum status rc = catalog_wh_resolve(ctx, warehouse, &wh, err);

    *out = NULL;
    if (rc)
        return rc;
    /* Clients merge defaults < their own settings < overrides (rest-spec.md §2). */
    *out = json_pack("{s:{}, s:{s:s}}", "defaults", "overrides", "prefix", wh.name);
    const char *sep = ctx->cat->opts.namespace_separator;
    if (sep && sep[0] && sep[0] != STORE_NS_SEP) {
        /* Clients then join levels with it; %1F is still accepted (rest-spec.md §3). */
        char enc[4];
        snprintf(enc, sizeof(enc), "%%%02X", (unsigned char)sep[0]);
        json_object_set_new(json_object_get(*out, "overrides"), "namespace-separator",
                            json_string(enc));
    }
    if (ctx->cat->opts.idempotency_lifetime_ms > 0) {
        /* Advertising the lifetime is what turns Idempotency-Key on in clients (§11). */
        long long secs = (long long)(ctx->cat->opts.idempotency_lifetime_ms / 1000);
        char iso[48];
        if (secs % 60 == 0)
            snprintf(iso, sizeof(iso), "PT%lldM", secs / 60);
        else
            snprintf(iso, sizeof(iso), "PT%lldS", secs);
        json_object_set_new(*out, "idempotency-key-lifetime", json_string(iso));
    }
    catalog_wh_cleanup(&wh);
    return ST_OK;
}

static char *join_levels(const json_t *levels, char sep)
{
    struct buf b;
    size_t i;
    json_t *v;

    buf_init(&b, 0);
    json_array_foreach(levels, i, v)
    {
        if (i > 0)
            buf_append(&b, &sep, 1);
        buf_puts(&b, json_string_value(v));
    }
    return buf_take(&b);
}

char *catalog_ns_key(const json_t *levels)
{
    return join_levels(levels, STORE_NS_SEP);
}

char *catalog_table_cache_key(int64_t wh, const char *ns_key, const char *name)
{
    return xasprintf("%lld\x1f%s\x1f%s", (long long)wh, ns_key, name);
}

json_t *catalog_table_cache_get(struct imm_cache *cache, int64_t wh, const char *ns_key,
                                const char *name, const char *location, const char *field)
{
    char *key = catalog_table_cache_key(wh, ns_key, name);
    json_t *v = imm_cache_get(cache, key), *out = NULL;

    if (v && json_is_string(json_object_get(v, "location")) &&
        strcmp(json_string_value(json_object_get(v, "location")), location) == 0)
        out = json_incref(json_object_get(v, field));
    json_decref(v);
    free(key);
    return out;
}

void catalog_table_cache_set(struct imm_cache *cache, int64_t wh, const char *ns_key,
                             const char *name, const char *location, const char *field,
                             json_t *value, size_t size)
{
    char *key = catalog_table_cache_key(wh, ns_key, name);

    imm_cache_set(cache, key, json_pack("{s:s, s:o}", "location", location, field, value),
                  size + strlen(location) + 64);
    free(key);
}

json_t *catalog_text_get(struct catalog_ctx *ctx, int64_t wh, const char *ns_key, const char *name,
                         const char *location)
{
    return catalog_table_cache_get(ctx->cat->text_cache, wh, ns_key, name, location, "text");
}

void catalog_text_put(struct catalog_ctx *ctx, int64_t wh, const char *ns_key, const char *name,
                      const char *location, json_t *text)
{
    catalog_table_cache_set(ctx->cat->text_cache, wh, ns_key, name, location, "text", text,
                            json_string_length(text));
}

char *catalog_ns_dotted(const json_t *levels)
{
    return join_levels(levels, '.');
}

json_t *catalog_ns_from_key(const char *key)
{
    json_t *arr = json_array();
    const char *start = key;

    for (const char *p = key;; p++) {
        if (*p == STORE_NS_SEP || *p == '\0') {
            json_array_append_new(arr, json_stringn(start, (size_t)(p - start)));
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    return arr;
}

char *catalog_page_encode(const char *key)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(key);
    char *out = xmalloc(2 * n + 1);

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[(unsigned char)key[i] >> 4];
        out[2 * i + 1] = hex[(unsigned char)key[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

enum status catalog_page_decode(const char *token, char **key, struct error *err)
{
    size_t n = strlen(token);
    char *out;

    *key = NULL;
    if (n % 2 != 0 || n > 8192)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid pageToken: %.64s", token);
    out = xmalloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = pct_hexval((unsigned char)token[2 * i]);
        int lo = pct_hexval((unsigned char)token[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid pageToken: %.64s", token);
        }
        out[i] = (char)(hi << 4 | lo);
    }
    out[n / 2] = '\0';
    *key = out;
    return ST_OK;
}

enum status catalog_list_paged(struct catalog_ctx *ctx, catalog_fetch_fn fetch, const void *arg,
                               catalog_item_fn item, const char *page_token, size_t page_size,
                               json_t *items, char **next, struct error *err)
{
    const struct catalog_options *o = &ctx->cat->opts;
    bool all = page_token == NULL;
    char *after = NULL;
    enum status rc = ST_OK;
    struct store_page page = {0};

    *next = NULL;
    if (page_token && *page_token && (rc = catalog_page_decode(page_token, &after, err)))
        return rc;
    if (all || page_size == 0)
        page_size = all ? o->max_page_size : o->default_page_size;
    if (page_size > o->max_page_size)
        page_size = o->max_page_size;
    for (;;) {
        if ((rc = fetch(ctx, arg, after, page_size, &page, err)))
            break;
        for (size_t i = 0; i < page.n; i++)
            json_array_append_new(items, item(page.names[i], arg));
        free(after);
        after = page.next_token;
        page.next_token = NULL;
        store_page_cleanup(&page);
        if (!after || !all)
            break;
    }
    if (!rc && after)
        *next = catalog_page_encode(after);
    free(after);
    return rc;
}

char *catalog_ident_dotted(const json_t *ns, const char *name)
{
    char *dotted = catalog_ns_dotted(ns);
    char *s = xasprintf("%s.%s", dotted, name);

    free(dotted);
    return s;
}

enum status catalog_fail_io(struct error *err, const char *what, const char *location)
{
    /* Keep the storage layer's reason (err->msg) and say what we were doing. */
    char reason[ERROR_MSG_MAX];

    snprintf(reason, sizeof(reason), "%s", err && err->msg[0] ? err->msg : "storage error");
    /* An object store that is down or throttling is 503 (retry later), not a server fault. */
    if (err && err->status == ST_UNAVAILABLE)
        return error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE, "%s %s: %s", what, location,
                         reason);
    return error_set(err, ST_IO, ET_INTERNAL, "%s %s: %s", what, location, reason);
}

static bool valid_utf8(const unsigned char *s)
{
    while (*s) {
        int n;
        if (*s < 0x80)
            n = 0;
        else if ((*s & 0xE0) == 0xC0 && *s >= 0xC2)
            n = 1;
        else if ((*s & 0xF0) == 0xE0)
            n = 2;
        else if ((*s & 0xF8) == 0xF0 && *s <= 0xF4)
            n = 3;
        else
            return false;
        s++;
        for (int i = 0; i < n; i++, s++)
            if ((*s & 0xC0) != 0x80)
                return false;
    }
    return true;
}

enum status catalog_check_name(const char *what, const char *name, struct error *err)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid %s name: must not be empty",
                         what);
    if (n > 255)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid %s name: longer than 255 bytes",
                         what);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7F)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid %s name: contains a control character (0x%02X)", what, *p);
        if (*p == '/')
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid %s name '%s': must not contain '/'", what, name);
    }
    if (!valid_utf8((const unsigned char *)name))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid %s name: not valid UTF-8", what);
    return ST_OK;
}

enum status catalog_check_namespace(const json_t *levels, struct error *err)
{
    size_t i, n = json_array_size(levels);
    json_t *v;
    enum status rc;

    if (!json_is_array(levels) || n == 0)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid namespace: must have at least one level");
    if (n > 16)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid namespace: more than 16 levels");
    json_array_foreach(levels, i, v)
    {
        if (!json_is_string(v))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid namespace: levels must be strings");
        if ((rc = catalog_check_name("namespace", json_string_value(v), err)))
            return rc;
    }
    return ST_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

enum status catalog_write_metadata(struct catalog_ctx *ctx, const char *location, const char *text,
                                   struct error *err)
{
    char *gz = NULL;
    size_t len = strlen(text);
    enum status rc;

    if (ends_with(location, ".gz.metadata.json") && (rc = gz_compress(text, len, &gz, &len, err)))
        return rc;
    rc = fileio_write(ctx->io, location, gz ? gz : text, len, true, err);
    free(gz);
    if (rc)
        return catalog_fail_io(err, "Failed to write metadata file", location);
    return ST_OK;
}

enum status catalog_read_metadata(struct catalog_ctx *ctx, const char *location, char **text,
                                  size_t *len, struct error *err)
{
    size_t max = ctx->cat->opts.max_metadata_bytes;
    char *raw = NULL;
    enum status rc = fileio_read(ctx->io, location, max, &raw, len, err);

    *text = NULL;
    if (rc == ST_NOT_FOUND)
        return error_set(err, ST_NOT_FOUND, ET_NOT_FOUND,
                         "Failed to open input stream for file: %s", location);
    if (rc)
        return catalog_fail_io(err, "Failed to read metadata file", location);
    if (gz_is_gzip(raw, *len)) {
        rc = gz_decompress(raw, *len, max, text, len, err);
        free(raw);
        return rc;
    }
    *text = raw;
    return ST_OK;
}

bool catalog_swap_failed_surely(enum status rc)
{
    return rc == ST_CONFLICT || rc == ST_NOT_FOUND || rc == ST_EXISTS || rc == ST_REPLAY ||
           rc == ST_INVALID;
}
