/*
 * commit.c - the commit engine (DESIGN.md invariant 2, rest-spec.md §6-8, §14).
 *
 * A commit of one table, one view, or several tables at once (a
 * multi-table transaction) runs in attempts. One attempt prepares every
 * change - read the newest metadata, check the requirements against it,
 * apply the updates, write the new metadata file create-only under a fresh
 * name - and then moves every pointer in one store transaction with a
 * compare-and-swap each. A lost swap deletes the new files and starts over
 * from the newest metadata; a failed requirement is a 409 at once and never
 * retried. Within one process the commit stripes of every table involved
 * are held (in address order, so two transactions never deadlock) for the
 * whole attempt, so local writers queue instead of racing; other nodes
 * still race through the store's compare-and-swap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/imm_cache.h"
#include "catalog/internal.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "iceberg/table_meta.h"
#include "iceberg/view_meta.h"

#define MAX_TX_TABLES 100

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

/* How the engine reads and writes one kind of metadata. */
struct kind_ops {
    enum store_kind kind;
    const char *noun; /* "Table" / "View", for messages */
    enum errtype missing;
    enum status (*parse)(const char *text, size_t len, json_t **out, struct error *err);
    enum status (*check)(const json_t *base, const json_t *reqs, struct error *err);
    enum status (*apply)(const json_t *base, const json_t *updates, int64_t now_ms, json_t **out,
                         bool *changed, struct error *err);
    enum status (*finish)(json_t *meta, const json_t *prev, const char *prev_location,
                          json_t **to_delete, struct error *err);
    char *(*new_location)(const json_t *meta, const char *prev_location);
    char *(*serialize)(const json_t *meta);
    const char *(*location)(const json_t *meta);
};

static enum status view_finish(json_t *meta, const json_t *prev, const char *prev_location,
                               json_t **to_delete, struct error *err)
{
    *to_delete = NULL;
    return view_validate(meta, err);
}

static const struct kind_ops table_ops = {
    STORE_TABLE,
    "Table",
    ET_NO_SUCH_TABLE,
    meta_parse,
    meta_check_requirements,
    meta_apply_updates,
    meta_finish_commit,
    meta_new_location,
    meta_serialize,
    meta_location,
};

static const struct kind_ops view_ops = {
    STORE_VIEW,         "View",      ET_NO_SUCH_VIEW,   view_parse,     view_check_requirements,
    view_apply_updates, view_finish, view_new_location, view_serialize, view_location,
};

/* One table's (or view's) part of a commit. */
struct change {
    /* Input, borrowed. */
    const json_t *ns;
    const char *name;
    const json_t *reqs;
    const json_t *updates;
    /* Derived. */
    char *ns_key;
    char *dotted;
    pthread_mutex_t *lock;
    /* Output of one attempt. */
    bool exists;
    char *old_location; /* NULL: created by this commit */
    char *location;     /* the file current after the commit */
    char *text;
    bool wrote; /* location is a new file this attempt wrote */
    json_t *to_delete;
};

static void change_reset(struct change *c)
{
    free(c->old_location);
    free(c->location);
    free(c->text);
    json_decref(c->to_delete);
    c->old_location = c->location = c->text = NULL;
    c->to_delete = NULL;
    c->exists = c->wrote = false;
}

/* Removes the file an attempt wrote for c, because its pointer did not move. */
static void discard(struct catalog_ctx *ctx, struct change *c)
{
    struct error ignored;

    if (c->wrote)
        fileio_remove(ctx->io, c->location, &ignored);
    change_reset(c);
}

/* A stored copy that does not parse is our bug or corruption: never the client's fault. */
static enum status parse_stored(const struct kind_ops *ops, const struct store_obj *obj,
                                json_t **meta, struct error *err)
{
    char why[ERROR_MSG_MAX];
    enum status rc = ops->parse(obj->metadata, strlen(obj->metadata), meta, err);

    if (!rc)
        return ST_OK;
    snprintf(why, sizeof(why), "%s", err ? err->msg : "");
    return error_set(err, ST_INTERNAL, ET_INTERNAL, "Stored metadata %s is invalid: %s",
                     obj->metadata_location, why);
}

static bool is_create(const json_t *reqs)
{
    size_t i;
    json_t *r;

    json_array_foreach(reqs, i, r)
    {
        if (json_is_string(json_object_get(r, "type")) &&
            strcmp(json_string_value(json_object_get(r, "type")), "assert-create") == 0)
            return true;
    }
    return false;
}

/* A parsed tree takes about this much memory for text of n bytes (jansson, measured roughly). */
#define META_TREE_BYTES(n) ((n)*8)

/*
 * The metadata cache holds one tree per table, its newest known one, as
 * {"location": ..., "tree": ...} under the table's identity: a commit to a
 * table almost always starts from the file the previous commit wrote, and
 * older versions are never wanted again.
 */
static json_t *tree_get(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                        const struct change *c, const char *location)
{
    return catalog_table_cache_get(ctx->cat->meta_cache, wh->id, c->ns_key, c->name, location,
                                   "tree");
}

static void tree_put(struct catalog_ctx *ctx, const struct catalog_wh *wh, const struct change *c,
                     const char *location, json_t *tree, size_t text_len)
{
    catalog_table_cache_set(ctx->cat->meta_cache, wh->id, c->ns_key, c->name, location, "tree",
                            json_incref(tree), META_TREE_BYTES(text_len));
}

/*
 * read_base reads c's current row and its parsed metadata into *base (a
 * reference, shared read-only with other threads through the metadata
 * cache). The pointer is read first, without the stored text: when the tree
 * of that file is cached, the text is never read nor parsed. Sets
 * c->exists. ST_OK with *base NULL when there is no such object.
 */
static enum status read_base(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                             const struct kind_ops *ops, struct change *c, struct store_obj *obj,
                             json_t **base, struct error *err)
{
    bool tables = ops->kind == STORE_TABLE;
    enum status rc;

    *base = NULL;
    rc = tables ? store_obj_head(ctx->conn, wh->id, c->ns_key, c->name, obj, err)
                : store_obj_get(ctx->conn, wh->id, c->ns_key, c->name, obj, err);
    if (rc == ST_OK && tables && obj->kind == ops->kind)
        *base = tree_get(ctx, wh, c, obj->metadata_location);
    if (rc == ST_OK && tables && !*base) {
        store_obj_cleanup(obj);
        rc = store_obj_get(ctx->conn, wh->id, c->ns_key, c->name, obj, err);
    }
    if (rc && rc != ST_NOT_FOUND)
        return rc;
    /* An object of the other kind is not this one: a create then fails on the name. */
    c->exists = rc == ST_OK && obj->kind == ops->kind;
    if (c->exists && !*base) {
        if ((rc = parse_stored(ops, obj, base, err)))
            return rc;
        if (tables)
            tree_put(ctx, wh, c, obj->metadata_location, *base, strlen(obj->metadata));
    }
    return ST_OK;
}

/* Reads, checks, applies and writes one change. Nothing is visible to others yet. */
static enum status prepare(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                           const struct kind_ops *ops, struct change *c, struct error *err)
{
    struct store_obj obj = {0};
    json_t *base = NULL, *next = NULL;
    bool changed = false;
    char *default_loc = NULL;
    enum status rc;

    if ((rc = read_base(ctx, wh, ops, c, &obj, &base, err)))
        goto out;
    /* Only a create transaction (assert-create) may commit to a name that is not there. */
    if (!c->exists && (ops->kind == STORE_VIEW || !is_create(c->reqs))) {
        rc = error_set(err, ST_NOT_FOUND, ops->missing, "%s does not exist: %s", ops->noun,
                       c->dotted);
        goto out;
    }
    if ((rc = ops->check(base, c->reqs, err)))
        goto out;
    if ((rc = ops->apply(base, c->updates, clock_now_ms(), &next, &changed, err)))
        goto out;
    if (c->exists) {
        c->old_location = xstrdup(obj.metadata_location);
        if (!changed) {
            /* Nothing to do: answer with the current file, as Java does. */
            c->location = xstrdup(obj.metadata_location);
            c->text = obj.metadata ? xstrdup(obj.metadata) : ops->serialize(base);
            rc = ST_OK;
            goto out;
        }
    } else if (!ops->location(next)) {
        if ((rc = catalog_default_location(ctx, wh, c->ns, c->name, &default_loc, err)))
            goto out;
        json_object_set_new(next, "location", json_string(default_loc));
    }
    if ((rc = ops->finish(next, base, c->old_location, &c->to_delete, err)))
        goto out;
    c->location = ops->new_location(next, c->old_location);
    c->text = ops->serialize(next);
    if ((rc = catalog_write_metadata(ctx, c->location, c->text, err)))
        goto out;
    c->wrote = true;
    /* The next commit to this table most likely starts from this file, the next load reads
       it: keep its tree and its text. */
    if (ops->kind == STORE_TABLE) {
        tree_put(ctx, wh, c, c->location, next, strlen(c->text));
        catalog_text_put(ctx, wh->id, c->ns_key, c->name, c->location,
                         json_stringn_nocheck(c->text, strlen(c->text)));
    }
out:
    if (rc)
        change_reset(c);
    json_decref(base);
    json_decref(next);
    store_obj_cleanup(&obj);
    free(default_loc);
    return rc;
}

/* Rewrites a failed swap's store error in the words clients expect. */
static void swap_error(const struct kind_ops *ops, struct change *c, enum status rc,
                       enum store_kind kind, struct error *err)
{
    if (rc == ST_EXISTS && kind == ops->kind) {
        error_set(err, ST_CONFLICT, ET_COMMIT_FAILED, "Requirement failed: %s already exists",
                  ops->kind == STORE_TABLE ? "table" : "view");
    } else if (rc == ST_EXISTS) {
        catalog_exists_error(err, kind, ops->kind == STORE_VIEW, c->dotted);
    } else if (rc == ST_NOT_FOUND && !c->exists) {
        char *ns_dotted = catalog_ns_dotted(c->ns);
        error_set(err, ST_NOT_FOUND, ET_NO_SUCH_NAMESPACE, "Namespace does not exist: %s",
                  ns_dotted);
        free(ns_dotted);
    } else if (rc == ST_NOT_FOUND) {
        error_set(err, ST_NOT_FOUND, ops->missing, "%s does not exist: %s", ops->noun, c->dotted);
    }
}

/* One attempt over every change: prepare all, then swap all in one store transaction. */
static enum status attempt(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                           const struct kind_ops *ops, struct change *cs, size_t n, bool *lost_race,
                           struct error *err)
{
    struct store_cas items[MAX_TX_TABLES];
    size_t failed = 0;
    enum store_kind kind = 0;
    enum status rc = ST_OK;
    bool unknown = false; /* the swap failed in a way that may still have committed */

    *lost_race = false;
    for (size_t i = 0; i < n && !rc; i++)
        rc = prepare(ctx, wh, ops, &cs[i], err);
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            items[i] = (struct store_cas){wh->id,     ops->kind,          cs[i].ns_key,
                                          cs[i].name, cs[i].old_location, cs[i].location,
                                          cs[i].text};
        rc = store_obj_commit(ctx->conn, items, n, &failed, &kind, err);
        *lost_race = rc == ST_CONFLICT;
        unknown = rc && !catalog_swap_failed_surely(rc);
        if (rc && failed < n)
            swap_error(ops, &cs[failed], rc, kind, err);
    }
    if (rc) {
        for (size_t i = 0; i < n; i++) {
            if (unknown)
                cs[i].wrote = false; /* the swap may have happened: keep the files */
            discard(ctx, &cs[i]);
        }
    }
    return rc;
}

static int cmp_lock(const void *a, const void *b)
{
    const pthread_mutex_t *x = *(pthread_mutex_t *const *)a, *y = *(pthread_mutex_t *const *)b;

    return x < y ? -1 : x > y;
}

/* Runs attempts until one succeeds, a requirement fails, or attempts run out. */
static enum status run_commit(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const struct kind_ops *ops, struct change *cs, size_t n,
                              struct error *err)
{
    pthread_mutex_t *locks[MAX_TX_TABLES];
    size_t nlocks = 0;
    unsigned attempts = ctx->cat->opts.commit_attempts;
    bool lost_race = false;
    enum status rc = ST_OK;

    for (size_t i = 0; i < n; i++)
        locks[nlocks++] = cs[i].lock;
    qsort(locks, nlocks, sizeof(locks[0]), cmp_lock);
    for (unsigned a = 0; a < attempts; a++) {
        for (size_t i = 0; i < nlocks; i++)
            if (i == 0 || locks[i] != locks[i - 1])
                pthread_mutex_lock(locks[i]);
        rc = attempt(ctx, wh, ops, cs, n, &lost_race, err);
        for (size_t i = nlocks; i-- > 0;)
            if (i == 0 || locks[i] != locks[i - 1])
                pthread_mutex_unlock(locks[i]);
        if (!lost_race)
            break;
        if (a + 1 < attempts) {
            /* Another node won the swap: back off with jitter, then re-validate. */
            int64_t ms = (int64_t)(ids_random_u64() % (5u << (a < 5 ? a : 5))) + 1;
            log_debug("commit lost a race (attempt %u), retrying in %lld ms", a + 1, (long long)ms);
            clock_sleep_ms(ms);
        }
    }
    if (lost_race)
        error_set(err, ST_CONFLICT, ET_COMMIT_FAILED,
                  "Commit failed: %u attempts lost to concurrent commits", attempts);
    return rc;
}

static void delete_old_files(struct catalog_ctx *ctx, const json_t *files)
{
    size_t i;
    json_t *f;
    struct error err;

    json_array_foreach(files, i, f)
    {
        if (fileio_remove(ctx->io, json_string_value(f), &err))
            log_warn("cannot delete old metadata file %s: %s", json_string_value(f), err.msg);
    }
}

static void change_init(struct catalog *cat, const struct catalog_wh *wh, struct change *c,
                        const json_t *ns, const char *name, const json_t *reqs,
                        const json_t *updates)
{
    memset(c, 0, sizeof(*c));
    c->ns = ns;
    c->name = name;
    c->reqs = reqs;
    c->updates = updates;
    c->ns_key = catalog_ns_key(ns);
    c->dotted = catalog_ident_dotted(ns, name);
    c->lock = catalog_lock_table(cat, wh, c->ns_key, name);
}

static void change_free(struct change *c)
{
    change_reset(c);
    free(c->ns_key);
    free(c->dotted);
}

static enum status commit_one(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const struct kind_ops *ops, const json_t *ns, const char *name,
                              const json_t *request, struct catalog_table_result *out,
                              struct error *err)
{
    const char *what = ops->kind == STORE_TABLE ? "CommitTableRequest" : "CommitViewRequest";
    json_t *reqs = NULL, *updates = NULL;
    struct change c;
    enum status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = jsonx_get_arr(request, what, "requirements", ops->kind == STORE_TABLE, &reqs, err)) ||
        (rc = jsonx_get_arr(request, what, "updates", true, &updates, err)))
        return rc;
    change_init(ctx->cat, wh, &c, ns, name, reqs, updates);
    rc = run_commit(ctx, wh, ops, &c, 1, err);
    if (rc == ST_OK) {
        delete_old_files(ctx, c.to_delete);
        out->body = catalog_result_body(
            c.location, c.text, ops->kind == STORE_VIEW ? catalog_empty_config() : NULL, NULL);
        catalog_etag(c.location, false, out->etag);
    }
    change_free(&c);
    return rc;
}

enum status catalog_table_commit(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                 const json_t *ns, const char *name, const json_t *request,
                                 struct catalog_table_result *out, struct error *err)
{
    return commit_one(ctx, wh, &table_ops, ns, name, request, out, err);
}

enum status catalog_view_commit(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                const json_t *ns, const char *name, const json_t *request,
                                struct catalog_table_result *out, struct error *err)
{
    return commit_one(ctx, wh, &view_ops, ns, name, request, out, err);
}

enum status catalog_transaction_commit(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                       const json_t *request, struct error *err)
{
    const char *what = "CommitTransactionRequest";
    json_t *list = NULL, *change, *id, *ns, *reqs, *updates;
    struct change cs[MAX_TX_TABLES];
    size_t n = 0, i;
    const char *name;
    enum status rc;

    if ((rc = jsonx_get_arr(request, what, "table-changes", true, &list, err)))
        return rc;
    if (json_array_size(list) == 0)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid %s: table-changes must not be empty", what);
    if (json_array_size(list) > MAX_TX_TABLES)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid %s: more than %d tables in one transaction", what, MAX_TX_TABLES);
    json_array_foreach(list, i, change)
    {
        id = json_object_get(change, "identifier");
        reqs = updates = ns = NULL;
        name = NULL;
        if (!json_is_object(change) || !json_is_object(id)) {
            rc = error_set(err, ST_INVALID, ET_BAD_REQUEST,
                           "Invalid %s: every table change needs an identifier", what);
            goto out;
        }
        if ((rc = jsonx_get_str_array(id, "TableIdentifier", "namespace", true, &ns, err)) ||
            (rc = jsonx_get_str(id, "TableIdentifier", "name", true, &name, err)) ||
            (rc = catalog_check_namespace(ns, err)) ||
            (rc = catalog_check_name("table", name, err)) ||
            (rc = jsonx_get_arr(change, "CommitTableRequest", "requirements", true, &reqs, err)) ||
            (rc = jsonx_get_arr(change, "CommitTableRequest", "updates", true, &updates, err)))
            goto out;
        change_init(ctx->cat, wh, &cs[n], ns, name, reqs, updates);
        n++;
        for (size_t j = 0; j + 1 < n; j++) {
            if (strcmp(cs[j].ns_key, cs[n - 1].ns_key) == 0 &&
                strcmp(cs[j].name, cs[n - 1].name) == 0) {
                rc = error_set(err, ST_INVALID, ET_BAD_REQUEST,
                               "Invalid %s: table %s appears more than once", what,
                               cs[n - 1].dotted);
                goto out;
            }
        }
    }
    rc = run_commit(ctx, wh, &table_ops, cs, n, err);
    if (rc == ST_OK)
        for (i = 0; i < n; i++)
            delete_old_files(ctx, cs[i].to_delete);
out:
    for (i = 0; i < n; i++)
        change_free(&cs[i]);
    return rc;
}
