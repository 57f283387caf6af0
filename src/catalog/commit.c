/*
 * commit.c - the commit engine (DESIGN.md invariant 2, rest-spec.md §6-7).
 *
 * One attempt: read the newest metadata, check the requirements against it,
 * apply the updates, write the new metadata file (create-only, under a fresh
 * name), then compare-and-swap the pointer. A lost swap deletes the file and
 * starts over from the newest metadata; a failed requirement is a 409 at
 * once and never retried. Within one process the table's commit stripe is
 * held for the whole attempt, so local writers queue instead of racing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/internal.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "iceberg/table_meta.h"

pthread_mutex_t *catalog_lock_table(struct catalog *cat, const struct catalog_wh *wh,
                                    const char *ns_key, const char *name)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)wh->id;

    for (const unsigned char *p = (const unsigned char *)ns_key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0xFF) * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return &cat->commit_locks[h % CATALOG_COMMIT_LOCKS];
}

/* What one attempt produced. */
struct attempt {
    char *location; /* the metadata file now current (new or unchanged) */
    char *text;     /* its JSON text */
    json_t *to_delete;
};

static void attempt_cleanup(struct attempt *a)
{
    free(a->location);
    free(a->text);
    json_decref(a->to_delete);
    memset(a, 0, sizeof(*a));
}

/* A stored copy that does not parse is our bug or corruption: never the client's fault. */
static enum status parse_stored(const struct store_obj *obj, json_t **meta, struct error *err)
{
    char why[ERROR_MSG_MAX];
    enum status rc = meta_parse(obj->metadata, strlen(obj->metadata), meta, err);

    if (!rc)
        return ST_OK;
    snprintf(why, sizeof(why), "%s", err ? err->msg : "");
    return error_set(err, ST_INTERNAL, ET_INTERNAL, "Stored metadata %s is invalid: %s",
                     obj->metadata_location, why);
}

static enum status try_commit(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *ns, const char *ns_key, const char *name,
                              const json_t *reqs, const json_t *updates, struct attempt *a,
                              bool *lost_race, struct error *err)
{
    struct store_obj obj = {0};
    json_t *base = NULL, *next = NULL;
    bool exists, changed = false;
    char *default_loc = NULL, *dotted = catalog_ident_dotted(ns, name);
    enum store_kind kind = 0;
    enum status rc;

    rc = store_obj_get(ctx->conn, wh->id, ns_key, name, &obj, err);
    if (rc && rc != ST_NOT_FOUND)
        goto out;
    /* A view of that name is not a table: the create below then fails on the name. */
    exists = rc == ST_OK && obj.kind == STORE_TABLE;
    if (exists && (rc = parse_stored(&obj, &base, err)))
        goto out;
    if ((rc = meta_check_requirements(base, reqs, err))) {
        if (rc == ST_NOT_FOUND)
            error_set(err, ST_NOT_FOUND, ET_NO_SUCH_TABLE, "Table does not exist: %s", dotted);
        goto out;
    }
    if ((rc = meta_apply_updates(base, updates, clock_now_ms(), &next, &changed, err)))
        goto out;
    if (exists && !changed) {
        /* Nothing to do: answer with the current file, as Java does. */
        a->location = xstrdup(obj.metadata_location);
        a->text = xstrdup(obj.metadata);
        rc = ST_OK;
        goto out;
    }
    if (!exists && !meta_location(next)) {
        if ((rc = catalog_default_location(ctx, wh, ns, name, &default_loc, err)))
            goto out;
        json_object_set_new(next, "location", json_string(default_loc));
    }
    if ((rc = meta_finish_commit(next, base, exists ? obj.metadata_location : NULL,
                                 &a->to_delete, err)))
        goto out;
    a->location = meta_new_location(next, exists ? obj.metadata_location : NULL);
    a->text = meta_serialize(next);
    if ((rc = catalog_write_metadata(ctx, a->location, a->text, err)))
        goto out;
    {
        struct store_cas cas = {wh->id,    STORE_TABLE, ns_key, name,
                                exists ? obj.metadata_location : NULL, a->location, a->text};
        rc = store_obj_commit(ctx->conn, &cas, 1, NULL, &kind, err);
    }
    *lost_race = rc == ST_CONFLICT;
    if (rc) {
        /* The pointer did not move: the new file is an orphan, remove it. */
        struct error ignored;
        fileio_remove(ctx->cat->io, a->location, &ignored);
        if (rc == ST_EXISTS && kind == STORE_TABLE)
            error_set(err, ST_CONFLICT, ET_COMMIT_FAILED,
                      "Requirement failed: table already exists");
        else if (rc == ST_EXISTS)
            catalog_exists_error(err, kind, false, dotted);
        else if (rc == ST_NOT_FOUND && !exists) {
            char *ns_dotted = catalog_ns_dotted(ns);
            error_set(err, ST_NOT_FOUND, ET_NO_SUCH_NAMESPACE, "Namespace does not exist: %s",
                      ns_dotted);
            free(ns_dotted);
        }
        else if (rc == ST_NOT_FOUND)
            error_set(err, ST_NOT_FOUND, ET_NO_SUCH_TABLE, "Table does not exist: %s", dotted);
    }
out:
    if (rc)
        attempt_cleanup(a);
    json_decref(base);
    json_decref(next);
    store_obj_cleanup(&obj);
    free(default_loc);
    free(dotted);
    return rc;
}

static void delete_old_files(struct catalog_ctx *ctx, const json_t *files)
{
    size_t i;
    json_t *f;
    struct error err;

    json_array_foreach(files, i, f)
    {
        if (fileio_remove(ctx->cat->io, json_string_value(f), &err))
            log_warn("cannot delete old metadata file %s: %s", json_string_value(f), err.msg);
    }
}

enum status catalog_table_commit(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                 const json_t *ns, const char *name, const json_t *request,
                                 struct catalog_table_result *out, struct error *err)
{
    const char *what = "CommitTableRequest";
    json_t *reqs = NULL, *updates = NULL;
    char *ns_key = NULL;
    struct attempt a = {0};
    pthread_mutex_t *lock;
    unsigned attempts = ctx->cat->opts.commit_attempts;
    enum status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = jsonx_get_arr(request, what, "requirements", true, &reqs, err)) ||
        (rc = jsonx_get_arr(request, what, "updates", true, &updates, err)))
        return rc;
    ns_key = catalog_ns_key(ns);
    lock = catalog_lock_table(ctx->cat, wh, ns_key, name);
    bool lost_race = false;
    for (unsigned i = 0; i < attempts; i++) {
        lost_race = false;
        pthread_mutex_lock(lock);
        rc = try_commit(ctx, wh, ns, ns_key, name, reqs, updates, &a, &lost_race, err);
        pthread_mutex_unlock(lock);
        if (!lost_race)
            break;
        if (i + 1 < attempts) {
            /* Another node won the swap: back off with jitter, then re-validate. */
            int64_t ms = (int64_t)(ids_random_u64() % (5u << (i < 5 ? i : 5))) + 1;
            log_debug("commit to %s lost a race (attempt %u), retrying in %lld ms", name, i + 1,
                      (long long)ms);
            clock_sleep_ms(ms);
        }
    }
    if (lost_race)
        error_set(err, ST_CONFLICT, ET_COMMIT_FAILED,
                  "Commit failed: %u attempts lost to concurrent commits", attempts);
    if (rc == ST_OK) {
        delete_old_files(ctx, a.to_delete);
        out->body = catalog_result_body(a.location, a.text, false);
        catalog_etag(a.location, false, out->etag);
    }
    attempt_cleanup(&a);
    free(ns_key);
    return rc;
}
