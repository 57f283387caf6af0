/* views.c - view use cases: create, load, list, drop, rename, register. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/internal.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "iceberg/view_meta.h"

static enum status view_missing(struct error *err, const json_t *ns, const char *name)
{
    char *dotted = catalog_ident_dotted(ns, name);

    error_set(err, ST_NOT_FOUND, ET_NO_SUCH_VIEW, "View does not exist: %s", dotted);
    free(dotted);
    return ST_NOT_FOUND;
}

/* Loads ns.name and requires a view: a table or nothing is "View does not exist". */
static enum status get_view(struct catalog_ctx *ctx, const struct catalog_wh *wh, const json_t *ns,
                            const char *name, struct store_obj *out, struct error *err)
{
    char *key = catalog_ns_key(ns);
    enum status rc = store_obj_get(ctx->conn, wh->id, key, name, out, err);

    free(key);
    if (rc == ST_OK && out->kind != STORE_VIEW) {
        store_obj_cleanup(out);
        rc = ST_NOT_FOUND;
    }
    if (rc == ST_NOT_FOUND)
        return view_missing(err, ns, name);
    return rc;
}

/* Creates the store row for a new view whose metadata file was just written. */
static enum status insert_view(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               const json_t *ns, const char *name, const char *location,
                               const char *text, bool wrote, struct error *err)
{
    char *key = catalog_ns_key(ns), *dotted = catalog_ident_dotted(ns, name);
    struct store_cas cas = {wh->id, STORE_VIEW, key, name, NULL, location, text};
    enum store_kind kind = 0;
    enum status rc = store_obj_commit(ctx->conn, &cas, 1, NULL, &kind, err);

    if (rc && wrote && catalog_swap_failed_surely(rc)) {
        struct error ignored;
        fileio_remove(ctx->io, location, &ignored);
    }
    if (rc == ST_EXISTS) {
        catalog_exists_error(err, kind, true, dotted);
    } else if (rc == ST_NOT_FOUND) {
        char *ns_dotted = catalog_ns_dotted(ns);
        error_set(err, ST_NOT_FOUND, ET_NO_SUCH_NAMESPACE, "Namespace does not exist: %s",
                  ns_dotted);
        free(ns_dotted);
    }
    free(key);
    free(dotted);
    return rc;
}

/* Refuses a name that is taken before any file is written (409 with the right words). */
static enum status name_free(struct catalog_ctx *ctx, const struct catalog_wh *wh, const json_t *ns,
                             const char *name, struct error *err)
{
    char *key = catalog_ns_key(ns), *dotted = catalog_ident_dotted(ns, name);
    struct store_obj existing = {0};
    enum status rc = store_obj_get(ctx->conn, wh->id, key, name, &existing, err);

    if (rc == ST_OK)
        rc = catalog_exists_error(err, existing.kind, true, dotted);
    else if (rc == ST_NOT_FOUND)
        rc = ST_OK;
    store_obj_cleanup(&existing);
    free(key);
    free(dotted);
    return rc;
}

enum status catalog_view_create(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                const json_t *ns, const json_t *request,
                                struct catalog_table_result *out, struct error *err)
{
    const char *what = "CreateViewRequest", *name = NULL, *req_loc = NULL;
    char *location = NULL, *meta_loc = NULL, *text = NULL;
    json_t *meta = NULL;
    char uuid[IDS_UUID_LEN + 1];
    enum status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = jsonx_get_str(request, what, "name", true, &name, err)) ||
        (rc = jsonx_get_str(request, what, "location", false, &req_loc, err)) ||
        (rc = catalog_check_name("view", name, err)))
        goto out;
    if (req_loc && *req_loc) {
        location = catalog_trim_slashes(req_loc);
        if ((rc = catalog_ns_exists(ctx, wh, ns, err)))
            goto out;
    } else if ((rc = catalog_default_location(ctx, wh, ns, name, &location, err))) {
        goto out;
    }
    if ((rc = catalog_check_location(wh, location, err)) ||
        (rc = name_free(ctx, wh, ns, name, err)))
        goto out;
    ids_uuid_v4(uuid);
    if ((rc = view_new(request, location, uuid, clock_now_ms(), &meta, err)))
        goto out;
    text = view_serialize(meta);
    meta_loc = view_new_location(meta, NULL);
    if ((rc = catalog_write_metadata(ctx, meta_loc, text, err)) ||
        (rc = insert_view(ctx, wh, ns, name, meta_loc, text, true, err)))
        goto out;
    out->body = catalog_result_body(meta_loc, text, catalog_empty_config(), NULL);
out:
    json_decref(meta);
    free(text);
    free(meta_loc);
    free(location);
    return rc;
}

enum status catalog_view_load(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *ns, const char *name, struct catalog_table_result *out,
                              struct error *err)
{
    struct store_obj obj = {0};
    enum status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = get_view(ctx, wh, ns, name, &obj, err)))
        return rc;
    out->body =
        catalog_result_body(obj.metadata_location, obj.metadata, catalog_empty_config(), NULL);
    store_obj_cleanup(&obj);
    return ST_OK;
}

enum status catalog_view_exists(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                const json_t *ns, const char *name, struct error *err)
{
    struct store_obj obj = {0};
    enum status rc = get_view(ctx, wh, ns, name, &obj, err);

    store_obj_cleanup(&obj);
    return rc;
}

enum status catalog_view_list(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *ns, const char *page_token, size_t page_size,
                              json_t **out, struct error *err)
{
    return catalog_obj_list(ctx, wh, ns, STORE_VIEW, page_token, page_size, out, err);
}

enum status catalog_view_drop(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *ns, const char *name, struct error *err)
{
    char *key = catalog_ns_key(ns);
    enum status rc = store_obj_drop(ctx->conn, wh->id, key, name, STORE_VIEW, NULL, err);

    free(key);
    if (rc == ST_NOT_FOUND)
        return view_missing(err, ns, name);
    return rc;
}

enum status catalog_view_rename(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                const json_t *request, struct error *err)
{
    return catalog_obj_rename(ctx, wh, STORE_VIEW, request, err);
}

enum status catalog_view_register(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                  const json_t *ns, const json_t *request,
                                  struct catalog_table_result *out, struct error *err)
{
    const char *what = "RegisterViewRequest", *name = NULL, *loc = NULL;
    char *text = NULL;
    size_t len = 0;
    json_t *meta = NULL;
    enum status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = jsonx_get_str(request, what, "name", true, &name, err)) ||
        (rc = jsonx_get_str(request, what, "metadata-location", true, &loc, err)) ||
        (rc = catalog_check_name("view", name, err)) ||
        (rc = catalog_ns_exists(ctx, wh, ns, err)) || (rc = catalog_check_location(wh, loc, err)) ||
        (rc = name_free(ctx, wh, ns, name, err)) ||
        (rc = catalog_read_metadata(ctx, loc, &text, &len, err)))
        goto out;
    if ((rc = view_parse(text, len, &meta, err))) {
        char why[ERROR_MSG_MAX];
        snprintf(why, sizeof(why), "%s", err ? err->msg : "");
        rc = error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid view metadata file %s: %s", loc,
                       why);
        goto out;
    }
    if ((rc = insert_view(ctx, wh, ns, name, loc, text, false, err)))
        goto out;
    out->body = catalog_result_body(loc, text, catalog_empty_config(), NULL);
out:
    json_decref(meta);
    free(text);
    return rc;
}
