/*
 * common.c - what the SQLite and PostgreSQL store backends share: messages,
 * namespace names and properties, result pages. See common.h.
 */
#include "store/common.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* --- namespace names --- */

char *storecommon_ns_display(const char *ns)
{
    char *d = xstrdup(ns), *p;

    for (p = d; *p; p++)
        if (*p == STORE_NS_SEP)
            *p = '.';
    return d;
}

char *storecommon_ns_parent(const char *ns)
{
    const char *sep = strrchr(ns, STORE_NS_SEP);

    return sep ? xstrndup(ns, (size_t)(sep - ns)) : xstrdup("");
}

/* --- messages --- */

enum status storecommon_no_warehouse(int64_t wh, struct error *err)
{
    return error_set(err, ST_NOT_FOUND, ET_NO_SUCH_WAREHOUSE, "Warehouse %lld does not exist",
                     (long long)wh);
}

enum status storecommon_no_warehouse_named(const char *name, struct error *err)
{
    return error_set(err, ST_NOT_FOUND, ET_NO_SUCH_WAREHOUSE, "Warehouse does not exist: %s", name);
}

enum status storecommon_warehouse_taken(const char *name, struct error *err)
{
    return error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "Warehouse already exists: %s", name);
}

enum status storecommon_warehouse_not_empty(const char *name, struct error *err)
{
    return error_set(err, ST_CONFLICT, ET_WAREHOUSE_NOT_EMPTY, "Warehouse is not empty: %s", name);
}

enum status storecommon_no_namespace(const char *ns, struct error *err)
{
    char *d = storecommon_ns_display(ns);

    error_set(err, ST_NOT_FOUND, ET_NO_SUCH_NAMESPACE, "Namespace does not exist: %s", d);
    free(d);
    return ST_NOT_FOUND;
}

enum status storecommon_ns_taken(const char *ns, struct error *err)
{
    char *d = storecommon_ns_display(ns);

    error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "Namespace already exists: %s", d);
    free(d);
    return ST_EXISTS;
}

enum status storecommon_ns_not_empty(const char *ns, int64_t tables, int64_t views,
                                     int64_t children, struct error *err)
{
    char *d = storecommon_ns_display(ns);

    error_set(err, ST_CONFLICT, ET_NAMESPACE_NOT_EMPTY,
              "Namespace %s is not empty: %lld tables, %lld views, %lld namespaces", d,
              (long long)tables, (long long)views, (long long)children);
    free(d);
    return ST_CONFLICT;
}

enum status storecommon_no_object(const char *ns, const char *name, struct error *err)
{
    char *d = storecommon_ns_display(ns);

    error_set(err, ST_NOT_FOUND, ET_NO_SUCH_TABLE, "Table does not exist: %s.%s", d, name);
    free(d);
    return ST_NOT_FOUND;
}

enum status storecommon_name_taken(const char *ns, const char *name, enum store_kind kind,
                                   struct error *err)
{
    char *d = storecommon_ns_display(ns);

    error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "%s already exists: %s.%s",
              kind == STORE_VIEW ? "View" : "Table", d, name);
    free(d);
    return ST_EXISTS;
}

/* --- namespace properties --- */

enum status storecommon_props_normalize(const char *text, char **out, struct error *err)
{
    json_t *v = json_loads(text ? text : "{}", JSON_REJECT_DUPLICATES, NULL);

    *out = NULL;
    if (!json_is_object(v)) {
        json_decref(v);
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Namespace properties must be a JSON object");
    }
    *out = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!*out)
        abort();
    return ST_OK;
}

/* props_remove deletes from props the keys listed in removals (a JSON array of strings). */
static enum status props_remove(json_t *props, const char *removals, struct error *err)
{
    json_t *rem = json_loads(removals, 0, NULL), *v;
    enum status rc = ST_OK;
    size_t i;

    if (!json_is_array(rem)) {
        rc = error_set(err, ST_INVALID, ET_BAD_REQUEST, "Removals must be a JSON array");
    } else {
        json_array_foreach(rem, i, v)
        {
            if (!json_is_string(v)) {
                rc = error_set(err, ST_INVALID, ET_BAD_REQUEST, "Removals must be strings");
                break;
            }
            json_object_del(props, json_string_value(v));
        }
    }
    json_decref(rem);
    return rc;
}

/* props_set sets in props the entries of updates (a JSON object of strings). */
static enum status props_set(json_t *props, const char *updates, struct error *err)
{
    json_t *upd = json_loads(updates, JSON_REJECT_DUPLICATES, NULL), *v;
    enum status rc = ST_OK;
    const char *key;

    if (!json_is_object(upd)) {
        rc = error_set(err, ST_INVALID, ET_BAD_REQUEST, "Updates must be a JSON object");
    } else {
        json_object_foreach(upd, key, v)
        {
            if (!json_is_string(v)) {
                rc = error_set(err, ST_INVALID, ET_BAD_REQUEST, "Update of '%s' is not a string",
                               key);
                break;
            }
        }
        if (rc == ST_OK)
            json_object_update(props, upd);
    }
    json_decref(upd);
    return rc;
}

enum status storecommon_props_merge(const char *cur, const char *updates, const char *removals,
                                    char **out, struct error *err)
{
    json_t *props = json_loads(cur, 0, NULL);
    enum status rc = ST_OK;

    *out = NULL;
    if (!json_is_object(props))
        rc = error_set(err, ST_INTERNAL, ET_INTERNAL, "Stored namespace properties are corrupt");
    if (rc == ST_OK && removals)
        rc = props_remove(props, removals, err);
    if (rc == ST_OK && updates)
        rc = props_set(props, updates, err);
    if (rc == ST_OK && !(*out = json_dumps(props, JSON_COMPACT)))
        abort();
    json_decref(props);
    return rc;
}

/* --- pages --- */

int64_t storecommon_page_limit(size_t limit)
{
    return limit >= (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit + 1;
}

bool storecommon_page_add(struct store_page *p, size_t limit, char *name)
{
    if (p->n >= limit) {
        free(name);
        if (p->n)
            p->next_token = xstrdup(p->names[p->n - 1]);
        return false;
    }
    if ((p->n & (p->n - 1)) == 0) /* grow at 0, 1, 2, 4, 8, ... */
        p->names = xrealloc(p->names, (p->n ? p->n * 2 : 1) * sizeof(*p->names));
    p->names[p->n++] = name;
    return true;
}
