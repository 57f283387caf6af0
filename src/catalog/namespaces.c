/* namespaces.c - namespace use cases. */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/internal.h"
#include "core/alloc.h"
#include "core/jsonx.h"

static enum status ns_missing(struct error *err, const json_t *levels)
{
    char *dotted = catalog_ns_dotted(levels);

    error_set(err, ST_NOT_FOUND, ET_NO_SUCH_NAMESPACE, "Namespace does not exist: %s", dotted);
    free(dotted);
    return ST_NOT_FOUND;
}

enum status catalog_ns_create(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *levels, const json_t *properties, json_t **out,
                              struct error *err)
{
    char *key = catalog_ns_key(levels);
    char *props = jsonx_dump(properties);
    enum status rc = store_ns_create(ctx->conn, wh->id, key, props, err);

    *out = NULL;
    if (rc == ST_EXISTS) {
        char *dotted = catalog_ns_dotted(levels);
        error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "Namespace already exists: %s", dotted);
        free(dotted);
    } else if (rc == ST_NOT_FOUND) {
        /* The parent of a nested namespace is missing. */
        json_t *parent = json_array();
        for (size_t i = 0; i + 1 < json_array_size(levels); i++)
            json_array_append(parent, json_array_get(levels, i));
        ns_missing(err, parent);
        json_decref(parent);
    } else if (rc == ST_OK) {
        *out = json_pack("{s:O, s:O}", "namespace", levels, "properties", properties);
    }
    free(key);
    free(props);
    return rc;
}

enum status catalog_ns_load(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                            const json_t *levels, json_t **out, struct error *err)
{
    char *key = catalog_ns_key(levels);
    char *props = NULL;
    json_t *pj = NULL;
    enum status rc = store_ns_get(ctx->conn, wh->id, key, &props, err);

    *out = NULL;
    if (rc == ST_NOT_FOUND)
        rc = ns_missing(err, levels);
    if (rc)
        goto out;
    if ((rc = jsonx_parse_object(props, strlen(props), &pj, err)))
        goto out;
    *out = json_pack("{s:O, s:o}", "namespace", levels, "properties", pj);
out:
    free(key);
    free(props);
    return rc;
}

enum status catalog_ns_exists(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *levels, struct error *err)
{
    char *key = catalog_ns_key(levels);
    char *props = NULL;
    enum status rc = store_ns_get(ctx->conn, wh->id, key, &props, err);

    if (rc == ST_NOT_FOUND)
        rc = ns_missing(err, levels);
    free(key);
    free(props);
    return rc;
}

struct ns_list_arg {
    int64_t wh;
    const char *parent;
};

static enum status fetch_ns(struct catalog_ctx *ctx, const void *arg, const char *after,
                            size_t limit, struct store_page *out, struct error *err)
{
    const struct ns_list_arg *a = arg;

    return store_ns_list(ctx->conn, a->wh, a->parent, after, limit, out, err);
}

static json_t *ns_item(const char *name, const void *arg)
{
    return catalog_ns_from_key(name);
}

enum status catalog_ns_list(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                            const json_t *parent, const char *page_token, size_t page_size,
                            json_t **out, struct error *err)
{
    bool top = !parent || json_array_size(parent) == 0;
    char *key = top ? NULL : catalog_ns_key(parent);
    struct ns_list_arg arg = {wh->id, key};
    json_t *items = json_array();
    char *next = NULL;
    enum status rc;

    *out = NULL;
    rc = catalog_list_paged(ctx, fetch_ns, &arg, ns_item, page_token, page_size, items, &next, err);
    if (rc == ST_NOT_FOUND)
        rc = ns_missing(err, parent);
    if (rc == ST_OK) {
        *out = json_pack("{s:o}", "namespaces", items);
        items = NULL;
        if (next)
            json_object_set_new(*out, "next-page-token", json_string(next));
    }
    json_decref(items);
    free(next);
    free(key);
    return rc;
}

enum status catalog_ns_drop(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                            const json_t *levels, struct error *err)
{
    char *key = catalog_ns_key(levels);
    int64_t tables = 0, views = 0, children = 0;
    enum status rc = store_ns_drop(ctx->conn, wh->id, key, &tables, &views, &children, err);

    if (rc == ST_NOT_FOUND) {
        rc = ns_missing(err, levels);
    } else if (rc == ST_CONFLICT) {
        char *dotted = catalog_ns_dotted(levels);
        if (tables > 0)
            error_set(err, ST_CONFLICT, ET_NAMESPACE_NOT_EMPTY,
                      "Namespace %s is not empty. Contains %lld table(s).", dotted,
                      (long long)tables);
        else if (views > 0)
            error_set(err, ST_CONFLICT, ET_NAMESPACE_NOT_EMPTY,
                      "Namespace %s is not empty. Contains %lld view(s).", dotted,
                      (long long)views);
        else
            error_set(err, ST_CONFLICT, ET_NAMESPACE_NOT_EMPTY,
                      "Namespace %s is not empty. Contains %lld child namespace(s).", dotted,
                      (long long)children);
        free(dotted);
    }
    free(key);
    return rc;
}

enum status catalog_ns_update_props(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                    const json_t *levels, const json_t *request, json_t **out,
                                    struct error *err)
{
    const char *what = "UpdateNamespacePropertiesRequest";
    json_t *updates = NULL, *removals = NULL, *old = NULL;
    json_t *updated = NULL, *removed = NULL, *missing = NULL;
    char *key = NULL, *upd_text = NULL, *rem_text = NULL, *old_text = NULL;
    const char *k;
    json_t *v;
    size_t i;
    enum status rc;

    *out = NULL;
    if ((rc = jsonx_get_str_map(request, what, "updates", false, &updates, err)) ||
        (rc = jsonx_get_str_array(request, what, "removals", false, &removals, err)))
        return rc;
    /* A key may not be both set and removed (the spec answers 422). */
    json_array_foreach(removals, i, v)
    {
        if (updates && json_object_get(updates, json_string_value(v)))
            return error_set(err, ST_INVALID, ET_UNPROCESSABLE,
                             "Invalid properties update: key '%s' is in both updates and removals",
                             json_string_value(v));
    }
    key = catalog_ns_key(levels);
    upd_text = updates ? jsonx_dump(updates) : NULL;
    rem_text = removals ? jsonx_dump(removals) : NULL;
    rc = store_ns_update_props(ctx->conn, wh->id, key, upd_text, rem_text, &old_text, err);
    if (rc == ST_NOT_FOUND)
        rc = ns_missing(err, levels);
    if (rc)
        goto out;
    if ((rc = jsonx_parse_object(old_text, strlen(old_text), &old, err)))
        goto out;
    updated = json_array();
    removed = json_array();
    missing = json_array();
    json_object_foreach(updates, k, v) json_array_append_new(updated, json_string(k));
    json_array_foreach(removals, i, v)
    {
        if (json_object_get(old, json_string_value(v)))
            json_array_append(removed, v);
        else
            json_array_append(missing, v);
    }
    *out = json_pack("{s:o, s:o, s:o}", "updated", updated, "removed", removed, "missing", missing);
out:
    json_decref(old);
    free(key);
    free(upd_text);
    free(rem_text);
    free(old_text);
    return rc;
}
