/*
 * common.h - what the SQLite and PostgreSQL store backends share (store/ internal).
 *
 * Nothing here touches a database: the error messages every backend gives for
 * the same failure, namespace names and properties, and result pages. Both
 * backends call these so that the two give the same answers, word for word.
 */
#ifndef SERAC_STORE_COMMON_H
#define SERAC_STORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "store/store.h"

/* storecommon_ns_display returns ns with its 0x1F separators shown as dots (owned), for messages.
 */
char *storecommon_ns_display(const char *ns);

/* storecommon_ns_parent returns the namespace one level above ns ("" at the top), owned. */
char *storecommon_ns_parent(const char *ns);

/* storecommon_no_warehouse sets err for the absent warehouse id wh; returns ST_NOT_FOUND. */
enum status storecommon_no_warehouse(int64_t wh, struct error *err);

/* storecommon_no_warehouse_named sets err for the absent warehouse name; returns ST_NOT_FOUND. */
enum status storecommon_no_warehouse_named(const char *name, struct error *err);

/* storecommon_warehouse_taken sets err for a warehouse name that exists already; returns ST_EXISTS.
 */
enum status storecommon_warehouse_taken(const char *name, struct error *err);

/*
 * storecommon_warehouse_not_empty sets err for a warehouse that cannot be
 * deleted because it holds a namespace; returns ST_CONFLICT.
 */
enum status storecommon_warehouse_not_empty(const char *name, struct error *err);

/* storecommon_no_namespace sets err for the absent namespace ns; returns ST_NOT_FOUND. */
enum status storecommon_no_namespace(const char *ns, struct error *err);

/* storecommon_ns_taken sets err for a namespace ns that exists already; returns ST_EXISTS. */
enum status storecommon_ns_taken(const char *ns, struct error *err);

/*
 * storecommon_ns_not_empty sets err for a namespace ns that cannot be dropped
 * because it holds tables, views or child namespaces (the counts); returns
 * ST_CONFLICT.
 */
enum status storecommon_ns_not_empty(const char *ns, int64_t tables, int64_t views,
                                     int64_t children, struct error *err);

/* storecommon_no_object sets err for the absent object ns.name; returns ST_NOT_FOUND. */
enum status storecommon_no_object(const char *ns, const char *name, struct error *err);

/*
 * storecommon_name_taken sets err for the name ns.name that an object holds
 * already, calling it a view when kind is STORE_VIEW and a table otherwise;
 * returns ST_EXISTS.
 */
enum status storecommon_name_taken(const char *ns, const char *name, enum store_kind kind,
                                   struct error *err);

/*
 * storecommon_props_normalize checks text (NULL means "{}") is a JSON object
 * with no duplicate keys and returns its compact form in *out (owned).
 * ST_INVALID otherwise, *out NULL.
 */
enum status storecommon_props_normalize(const char *text, char **out, struct error *err);

/*
 * storecommon_props_merge returns in *out (owned) the stored properties cur
 * (a JSON object) with the keys of removals (a JSON array of strings) deleted
 * and then the entries of updates (a JSON object of strings) set; either may
 * be NULL. Malformed removals or updates are ST_INVALID, a cur that is not an
 * object ST_INTERNAL; on failure *out is NULL.
 */
enum status storecommon_props_merge(const char *cur, const char *updates, const char *removals,
                                    char **out, struct error *err);

/*
 * storecommon_page_limit is the LIMIT that fetches limit rows plus one, the
 * extra row telling that there is a next page.
 */
int64_t storecommon_page_limit(size_t limit);

/*
 * storecommon_page_add appends the owned name to p unless p holds limit names
 * already: then it frees name, sets p's next-page token to p's last name and
 * returns false (the page is full; stop reading). Returns true when added.
 */
bool storecommon_page_add(struct store_page *p, size_t limit, char *name);

#endif
