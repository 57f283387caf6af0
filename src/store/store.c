/*
 * store.c - the public store interface: picks a backend from the URL and
 * forwards every call through the backend's vtable (store/backend.h).
 *
 * Argument checks common to all backends live here, so a backend only sees
 * well-formed calls.
 */
#include "store/backend.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "store/common.h"

/*
 * url_scheme returns the length of url's "scheme:" prefix (without the
 * colon), or 0 when url does not start with one. A scheme is a letter followed
 * by letters, digits, '+', '-' or '.', at least two characters long so that a
 * drive-letter-like path is never taken for one.
 */
static size_t url_scheme(const char *url)
{
    size_t i;

    if (!isalpha((unsigned char)url[0]))
        return 0;
    for (i = 1; url[i] && url[i] != ':'; i++) {
        unsigned char ch = (unsigned char)url[i];

        if (!isalnum(ch) && ch != '+' && ch != '-' && ch != '.')
            return 0;
    }
    return url[i] == ':' && i >= 2 ? i : 0;
}

enum status store_open(const char *url, struct store **out, struct error *err)
{
    const char *path = url;
    size_t n;

    *out = NULL;
    if (!url || !*url)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Empty store URL");
    n = url_scheme(url);
    if ((n == 8 && strncmp(url, "postgres", 8) == 0) ||
        (n == 10 && strncmp(url, "postgresql", 10) == 0))
        return store_postgres_open(url, out, err);
    if (n) {
        if (n != 6 || strncmp(url, "sqlite", 6) != 0)
            return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                             "Unsupported store URL scheme '%.*s' (this build supports sqlite, "
                             "postgres and postgresql)",
                             (int)n, url);
        path = url + 7;
        /* "sqlite://PATH": PATH follows the two slashes, so "sqlite:///abs" is "/abs". */
        if (strncmp(path, "//", 2) == 0)
            path += 2;
    }
    if (!*path)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Store URL '%s' names no file", url);
    return store_sqlite_open(path, out, err);
}

void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

enum status store_connect(struct store *st, struct store_conn **out, struct error *err)
{
    *out = NULL;
    return st->ops->connect(st, out, err);
}

void store_disconnect(struct store_conn *c)
{
    if (!c)
        return;
    store_conn_set_idem(c, NULL);
    store_prefetch_clear(c);
    c->st->ops->disconnect(c);
}

enum status store_ping(struct store_conn *c, struct error *err)
{
    return c->st->ops->ping(c, err);
}

enum status store_set_deadline(struct store_conn *c, int64_t timeout_ms, struct error *err)
{
    if (timeout_ms < 0)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "A deadline cannot be negative");
    return c->st->ops->set_deadline(c, timeout_ms, err);
}

enum status store_try_lease(struct store_conn *c, int64_t key, bool *held, struct error *err)
{
    *held = false;
    return c->st->ops->try_lease(c, key, held, err);
}

enum status store_listen(struct store_conn *c, struct error *err)
{
    return c->st->ops->listen(c, err);
}

enum status store_poll_changes(struct store_conn *c, int timeout_ms, char ***payloads, size_t *n,
                               struct error *err)
{
    *payloads = NULL;
    *n = 0;
    return c->st->ops->poll_changes(c, timeout_ms < 0 ? 0 : timeout_ms, payloads, n, err);
}

/*
 * storage_check accepts NULL (no settings) or the text of a JSON object
 * without duplicate keys: whatever the backends store must read back as one.
 */
static enum status storage_check(const char *storage, struct error *err)
{
    json_t *v;
    bool ok;

    if (!storage)
        return ST_OK;
    v = json_loads(storage, JSON_REJECT_DUPLICATES, NULL);
    ok = json_is_object(v);
    json_decref(v);
    return ok ? ST_OK
              : error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                          "Warehouse storage settings must be a JSON object");
}

enum status store_warehouse_ensure(struct store_conn *c, const char *name, const char *location,
                                   const char *storage, struct store_warehouse *out,
                                   struct error *err)
{
    enum status rc;

    memset(out, 0, sizeof(*out));
    if (!name || !*name || !location)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "A warehouse needs a name and a location");
    if ((rc = storage_check(storage, err)))
        return rc;
    return c->st->ops->warehouse_ensure(c, name, location, storage ? storage : "{}", out, err);
}

enum status store_warehouse_create(struct store_conn *c, const char *name, const char *location,
                                   const char *storage, struct store_warehouse *out,
                                   struct error *err)
{
    enum status rc;

    memset(out, 0, sizeof(*out));
    if (!name || !*name || !location || !*location)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "A warehouse needs a name and a location");
    if ((rc = storage_check(storage, err)))
        return rc;
    return c->st->ops->warehouse_create(c, name, location, storage ? storage : "{}", out, err);
}

enum status store_warehouse_list(struct store_conn *c, struct store_warehouse **out, size_t *n,
                                 struct error *err)
{
    enum status rc;

    *out = NULL;
    *n = 0;
    rc = c->st->ops->warehouse_list(c, out, n, err);
    if (rc) {
        store_warehouse_list_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void store_warehouse_list_free(struct store_warehouse *list, size_t n)
{
    size_t i;

    for (i = 0; list && i < n; i++)
        store_warehouse_cleanup(&list[i]);
    free(list);
}

enum status store_warehouse_set_storage(struct store_conn *c, const char *name, const char *storage,
                                        struct error *err)
{
    enum status rc;

    if (!name)
        return error_set(err, ST_NOT_FOUND, ET_NO_SUCH_WAREHOUSE, "No warehouse name given");
    if ((rc = storage_check(storage, err)))
        return rc;
    return c->st->ops->warehouse_set_storage(c, name, storage ? storage : "{}", err);
}

enum status store_warehouse_delete(struct store_conn *c, const char *name, struct error *err)
{
    if (!name)
        return error_set(err, ST_NOT_FOUND, ET_NO_SUCH_WAREHOUSE, "No warehouse name given");
    return c->st->ops->warehouse_delete(c, name, err);
}

enum status store_warehouse_get(struct store_conn *c, const char *name, struct store_warehouse *out,
                                struct error *err)
{
    memset(out, 0, sizeof(*out));
    if (!name)
        return error_set(err, ST_NOT_FOUND, ET_NO_SUCH_WAREHOUSE, "No warehouse name given");
    return c->st->ops->warehouse_get(c, name, out, err);
}

void store_warehouse_cleanup(struct store_warehouse *w)
{
    if (!w)
        return;
    free(w->name);
    free(w->location);
    free(w->storage);
    w->name = NULL;
    w->location = NULL;
    w->storage = NULL;
}

enum status store_ns_create(struct store_conn *c, int64_t wh, const char *ns,
                            const char *properties, struct error *err)
{
    if (!ns || !*ns)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Empty namespace name");
    return c->st->ops->ns_create(c, wh, ns, properties, err);
}

enum status store_ns_get(struct store_conn *c, int64_t wh, const char *ns, char **properties,
                         struct error *err)
{
    *properties = NULL;
    return c->st->ops->ns_get(c, wh, ns, properties, err);
}

enum status store_ns_list(struct store_conn *c, int64_t wh, const char *parent, const char *after,
                          size_t limit, struct store_page *out, struct error *err)
{
    memset(out, 0, sizeof(*out));
    if (limit < 1)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Page size must be at least 1");
    return c->st->ops->ns_list(c, wh, parent ? parent : "", after ? after : "", limit, out, err);
}

enum status store_ns_drop(struct store_conn *c, int64_t wh, const char *ns, int64_t *tables,
                          int64_t *views, int64_t *children, struct error *err)
{
    int64_t t = 0, v = 0, ch = 0;
    enum status rc = c->st->ops->ns_drop(c, wh, ns, &t, &v, &ch, err);

    if (tables)
        *tables = t;
    if (views)
        *views = v;
    if (children)
        *children = ch;
    return rc;
}

enum status store_ns_update_props(struct store_conn *c, int64_t wh, const char *ns,
                                  const char *updates, const char *removals, char **old_props,
                                  struct error *err)
{
    *old_props = NULL;
    return c->st->ops->ns_update_props(c, wh, ns, updates, removals, old_props, err);
}

enum status store_obj_get(struct store_conn *c, int64_t wh, const char *ns, const char *name,
                          struct store_obj *out, struct error *err)
{
    memset(out, 0, sizeof(*out));
    return c->st->ops->obj_get(c, wh, ns, name, out, err);
}

/* prefetched_take answers a head read from c's prefetched ones, if one is there. */
static bool prefetched_take(struct store_conn *c, int64_t wh, const char *ns, const char *name,
                            struct store_obj *out, enum status *rc, struct error *err)
{
    for (size_t i = 0; i < c->npref; i++) {
        struct store_prefetched *p = &c->prefetched[i];

        if (p->used || p->wh != wh || strcmp(p->name, name) != 0 || strcmp(p->ns, ns) != 0)
            continue;
        p->used = true;
        if (!p->found) {
            *rc = storecommon_no_object(ns, name, err);
            return true;
        }
        *out = p->obj;
        memset(&p->obj, 0, sizeof(p->obj));
        *rc = ST_OK;
        return true;
    }
    return false;
}

enum status store_obj_head(struct store_conn *c, int64_t wh, const char *ns, const char *name,
                           struct store_obj *out, struct error *err)
{
    enum status rc;

    memset(out, 0, sizeof(*out));
    if (c->npref && prefetched_take(c, wh, ns, name, out, &rc, err))
        return rc;
    return c->st->ops->obj_head(c, wh, ns, name, out, err);
}

bool store_batches_reads(const struct store *st)
{
    return st->ops->obj_head_many != NULL;
}

enum status store_prefetch_heads(struct store_conn *c, const struct store_key *keys, size_t n,
                                 struct error *err)
{
    struct store_obj *outs;
    bool *found;
    enum status rc;

    store_prefetch_clear(c);
    if (!c->st->ops->obj_head_many || n == 0)
        return ST_OK;
    outs = xcalloc(n, sizeof(*outs));
    found = xcalloc(n, sizeof(*found));
    rc = c->st->ops->obj_head_many(c, keys, n, outs, found, err);
    if (rc == ST_OK) {
        c->prefetched = xcalloc(n, sizeof(*c->prefetched));
        for (size_t i = 0; i < n; i++) {
            struct store_prefetched *p = &c->prefetched[i];

            p->wh = keys[i].wh;
            p->ns = xstrdup(keys[i].ns);
            p->name = xstrdup(keys[i].name);
            p->found = found[i];
            p->obj = outs[i];
        }
        c->npref = n;
    }
    free(outs);
    free(found);
    return rc;
}

void store_prefetch_clear(struct store_conn *c)
{
    for (size_t i = 0; i < c->npref; i++) {
        free(c->prefetched[i].ns);
        free(c->prefetched[i].name);
        store_obj_cleanup(&c->prefetched[i].obj);
    }
    free(c->prefetched);
    c->prefetched = NULL;
    c->npref = 0;
}

void store_obj_cleanup(struct store_obj *o)
{
    if (!o)
        return;
    free(o->ns);
    free(o->name);
    free(o->metadata_location);
    free(o->metadata);
    o->ns = o->name = o->metadata_location = o->metadata = NULL;
}

enum status store_obj_list(struct store_conn *c, int64_t wh, const char *ns, enum store_kind kind,
                           const char *after, size_t limit, struct store_page *out,
                           struct error *err)
{
    memset(out, 0, sizeof(*out));
    if (limit < 1)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Page size must be at least 1");
    return c->st->ops->obj_list(c, wh, ns, kind, after ? after : "", limit, out, err);
}

enum status store_obj_commit(struct store_conn *c, const struct store_cas *items, size_t n,
                             size_t *failed, enum store_kind *existing_kind, struct error *err)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const struct store_cas *it = &items[i];

        if (!it->ns || !it->name || !*it->name || !it->new_location || !it->new_metadata ||
            (it->kind != STORE_TABLE && it->kind != STORE_VIEW)) {
            if (failed)
                *failed = i;
            return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Commit item %zu is incomplete",
                             i);
        }
    }
    if (n == 0)
        return ST_OK;
    return c->st->ops->obj_commit(c, items, n, failed, existing_kind, err);
}

enum status store_obj_drop(struct store_conn *c, int64_t wh, const char *ns, const char *name,
                           enum store_kind kind, char **metadata_location, struct error *err)
{
    if (metadata_location)
        *metadata_location = NULL;
    return c->st->ops->obj_drop(c, wh, ns, name, kind, metadata_location, err);
}

enum status store_obj_rename(struct store_conn *c, int64_t wh, enum store_kind kind,
                             const char *src_ns, const char *src_name, const char *dst_ns,
                             const char *dst_name, enum store_kind *existing_kind,
                             struct error *err)
{
    if (!dst_name || !*dst_name)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT, "Empty destination name");
    return c->st->ops->obj_rename(c, wh, kind, src_ns, src_name, dst_ns, dst_name, existing_kind,
                                  err);
}

void store_conn_set_idem(struct store_conn *c, const struct store_idem *pending)
{
    free(c->idem.key);
    free(c->idem.fingerprint);
    memset(&c->idem, 0, sizeof(c->idem));
    c->idem_armed = false;
    c->idem_consumed = false;
    if (!pending || !pending->key)
        return;
    c->idem.warehouse_id = pending->warehouse_id;
    c->idem.key = xstrdup(pending->key);
    c->idem.fingerprint = xstrdup(pending->fingerprint ? pending->fingerprint : "");
    c->idem.expires_ms = pending->expires_ms;
    c->idem_armed = true;
}

bool store_conn_idem_consumed(const struct store_conn *c)
{
    return c->idem_consumed;
}

void store_conn_idem_done(struct store_conn *c)
{
    c->idem_armed = false;
    c->idem_consumed = true;
}

enum status store_idem_get(struct store_conn *c, int64_t wh, const char *key, int64_t now_ms,
                           struct store_idem *out, struct error *err)
{
    memset(out, 0, sizeof(*out));
    if (!key || !*key)
        return error_set(err, ST_NOT_FOUND, ET_NONE, "No idempotency key given");
    return c->st->ops->idem_get(c, wh, key, now_ms, out, err);
}

enum status store_idem_finish(struct store_conn *c, const struct store_idem *rec, struct error *err)
{
    if (!rec->key || !*rec->key || !rec->fingerprint)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "An idempotency record needs a key and a fingerprint");
    /* Status 0 means "pending": a finished record always holds a real HTTP status. */
    if (rec->status < 100 || rec->status > 599)
        return error_set(err, ST_INVALID, ET_ILLEGAL_ARGUMENT,
                         "Cannot record HTTP status %d for an idempotency key", rec->status);
    return c->st->ops->idem_finish(c, rec, err);
}

enum status store_idem_purge(struct store_conn *c, int64_t now_ms, int64_t *deleted,
                             struct error *err)
{
    int64_t n = 0;
    enum status rc = c->st->ops->idem_purge(c, now_ms, &n, err);

    if (deleted)
        *deleted = n;
    return rc;
}

void store_idem_cleanup(struct store_idem *r)
{
    if (!r)
        return;
    free(r->key);
    free(r->fingerprint);
    free(r->body);
    free(r->etag);
    r->key = r->fingerprint = r->body = r->etag = NULL;
}

void store_page_cleanup(struct store_page *p)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->n; i++)
        free(p->names[i]);
    free(p->names);
    free(p->next_token);
    memset(p, 0, sizeof(*p));
}
