/* warehouses.c - warehouse management: create, list, inspect, change storage, delete. */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/internal.h"
#include "catalog/storage.h"
#include "core/alloc.h"
#include "core/jsonx.h"
#include "core/log.h"

/* Names that would read as a route segment after /v1/ and so can never be a prefix. */
static const char *const reserved_names[] = {"namespaces", "tables", "views", "transactions",
                                             "config",     "oauth",  NULL};

static enum status check_wh_name(const char *name, struct error *err)
{
    enum status rc = catalog_check_name("warehouse", name, err);

    if (rc)
        return rc;
    for (const char *const *r = reserved_names; *r; r++)
        if (strcmp(name, *r) == 0)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid warehouse name: %s is reserved", name);
    return ST_OK;
}

static json_t *wh_json(const struct catalog *cat, const struct store_warehouse *w)
{
    json_t *settings = json_loads(w->storage ? w->storage : "{}", 0, NULL);
    json_t *out =
        json_pack("{s:s, s:s, s:o, s:I, s:b}", "name", w->name, "location", w->location, "storage",
                  storage_redact(settings), "created-at-ms", (json_int_t)w->created_ms, "default",
                  strcmp(w->name, cat->opts.warehouse_name) == 0);

    json_decref(settings);
    return out;
}

/*
 * validate parses settings for a warehouse at location and, when probe is
 * set, proves the storage works by writing, reading and deleting an object.
 */
static enum status validate(struct catalog_ctx *ctx, const char *name, const char *location,
                            const json_t *settings, bool probe, struct error *err)
{
    struct storage_registry reg;
    struct storage_entry *e = NULL;
    char *text = settings ? jsonx_dump(settings) : xstrdup("{}");
    enum status rc;

    /* A private registry: nothing is cached for a warehouse that may never exist. */
    storage_registry_init(&reg);
    rc = storage_registry_get(&reg, -1, name, location, text, &e, err);
    if (rc == ST_IO) /* storage_registry_get reports bad settings as a server fault */
        err->status = rc = ST_INVALID, err->type = ET_BAD_REQUEST;
    if (rc == ST_OK && probe)
        rc = storage_probe(e, err);
    storage_registry_cleanup(&reg);
    free(text);
    (void)ctx;
    return rc;
}

enum status catalog_wh_create(struct catalog_ctx *ctx, const json_t *request, bool probe,
                              json_t **out, struct error *err)
{
    const char *name = NULL, *location = NULL;
    json_t *settings = NULL;
    struct store_warehouse w = {0};
    char *loc = NULL, *text = NULL;
    enum status rc;

    *out = NULL;
    if ((rc = jsonx_get_str(request, "CreateWarehouseRequest", "name", true, &name, err)) ||
        (rc = jsonx_get_str(request, "CreateWarehouseRequest", "location", true, &location, err)) ||
        (rc = jsonx_get_obj(request, "CreateWarehouseRequest", "storage", false, &settings, err)))
        return rc;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)request, key, v)
    {
        if (strcmp(key, "name") && strcmp(key, "location") && strcmp(key, "storage"))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid CreateWarehouseRequest: unknown field %.64s", key);
    }
    if ((rc = check_wh_name(name, err)))
        return rc;
    loc = catalog_trim_slashes(location);
    if ((rc = catalog_check_location(NULL, loc, err)) ||
        (rc = validate(ctx, name, loc, settings, probe, err)))
        goto out;
    text = settings ? jsonx_dump(settings) : xstrdup("{}");
    if ((rc = store_warehouse_create(ctx->conn, name, loc, text, &w, err)))
        goto out;
    catalog_wh_invalidate(ctx->cat);
    log_info("warehouse %s created at %s", w.name, w.location);
    *out = wh_json(ctx->cat, &w);
out:
    store_warehouse_cleanup(&w);
    free(loc);
    free(text);
    return rc;
}

enum status catalog_wh_list(struct catalog_ctx *ctx, json_t **out, struct error *err)
{
    struct store_warehouse *list = NULL;
    size_t n = 0;
    enum status rc = store_warehouse_list(ctx->conn, &list, &n, err);
    json_t *items;

    *out = NULL;
    if (rc)
        return rc;
    items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, wh_json(ctx->cat, &list[i]));
    store_warehouse_list_free(list, n);
    *out = json_pack("{s:o}", "warehouses", items);
    return ST_OK;
}

enum status catalog_wh_get(struct catalog_ctx *ctx, const char *name, json_t **out,
                           struct error *err)
{
    struct store_warehouse w = {0};
    enum status rc = store_warehouse_get(ctx->conn, name, &w, err);

    *out = rc ? NULL : wh_json(ctx->cat, &w);
    store_warehouse_cleanup(&w);
    return rc;
}

enum status catalog_wh_set_storage(struct catalog_ctx *ctx, const char *name, const json_t *storage,
                                   bool probe, json_t **out, struct error *err)
{
    struct store_warehouse w = {0};
    char *text = NULL;
    enum status rc;

    *out = NULL;
    if ((rc = store_warehouse_get(ctx->conn, name, &w, err)))
        goto out;
    if (ctx->cat->opts.warehouse_storage && strcmp(name, ctx->cat->opts.warehouse_name) == 0) {
        rc = error_set(err, ST_INVALID, ET_BAD_REQUEST,
                       "The storage of warehouse %s comes from the server's configuration "
                       "(warehouse-storage); change it there",
                       name);
        goto out;
    }
    if ((rc = validate(ctx, name, w.location, storage, probe, err)))
        goto out;
    text = jsonx_dump(storage);
    if ((rc = store_warehouse_set_storage(ctx->conn, name, text, err)))
        goto out;
    store_warehouse_cleanup(&w);
    if ((rc = store_warehouse_get(ctx->conn, name, &w, err)))
        goto out;
    catalog_wh_invalidate(ctx->cat);
    log_info("warehouse %s has new storage settings", name);
    *out = wh_json(ctx->cat, &w);
out:
    store_warehouse_cleanup(&w);
    free(text);
    return rc;
}

enum status catalog_wh_delete(struct catalog_ctx *ctx, const char *name, struct error *err)
{
    enum status rc;

    if (strcmp(name, ctx->cat->opts.warehouse_name) == 0)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Warehouse %s is the server's default warehouse and cannot be deleted",
                         name);
    if ((rc = store_warehouse_delete(ctx->conn, name, err)))
        return rc;
    catalog_wh_invalidate(ctx->cat);
    log_info("warehouse %s deleted", name);
    return ST_OK;
}
