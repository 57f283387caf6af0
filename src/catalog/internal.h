/* internal.h - helpers shared by the catalog modules; not for other layers. */
#ifndef SERAC_CATALOG_INTERNAL_H
#define SERAC_CATALOG_INTERNAL_H

#include "catalog/catalog.h"

/* Fetches one page of names from the store after key `after` (NULL = start). */
typedef enum status (*catalog_fetch_fn)(struct catalog_ctx *ctx, const void *arg, const char *after,
                                        size_t limit, struct store_page *out, struct error *err);
/* Turns one name from the store into a response item (new reference). */
typedef json_t *(*catalog_item_fn)(const char *name, const void *arg);

/*
 * catalog_list_paged runs a listing with the REST paging rules: page_token
 * NULL collects every page into one answer; otherwise one page of at most
 * page_size items (0 = default, capped at max) after the decoded token.
 * Items are appended to the array items; *next gets the encoded token for
 * the next page (owned) or NULL on the last page.
 */
enum status catalog_list_paged(struct catalog_ctx *ctx, catalog_fetch_fn fetch, const void *arg,
                               catalog_item_fn item, const char *page_token, size_t page_size,
                               json_t *items, char **next, struct error *err);

/* catalog_table_ident_dotted returns "ns.name" for messages (owned). */
char *catalog_ident_dotted(const json_t *ns, const char *name);

/* catalog_fail_io turns a storage failure into a 500 with the location in the message. */
enum status catalog_fail_io(struct error *err, const char *what, const char *location);

#include "store/store.h"

/*
 * catalog_get_table loads ns.name and requires it to be a table: a missing
 * object or a view is ST_NOT_FOUND "Table does not exist: ns.name".
 */
enum status catalog_get_table(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                              const json_t *ns, const char *name, struct store_obj *out,
                              struct error *err);

/*
 * catalog_result_body builds a LoadTableResult / CommitTableResponse body as
 * text (owned): the metadata text is spliced in unparsed; config (NULL =
 * omitted) and a non-empty creds array are added.
 */
char *catalog_result_body(const char *metadata_location, const char *metadata, const json_t *config,
                          const json_t *creds);
/* catalog_empty_config returns a shared empty JSON object (borrowed, never modified). */
const json_t *catalog_empty_config(void);

/* catalog_etag writes the ETag of a table version and representation into etag (40 bytes). */
void catalog_etag(const char *metadata_location, bool refs_only, char etag[40]);

/*
 * catalog_default_location returns where a new table called name in ns goes
 * (owned): the namespace's "location" property, or the warehouse location
 * followed by the namespace levels, then the table name.
 */
enum status catalog_default_location(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                                     const json_t *ns, const char *name, char **out,
                                     struct error *err);

/* catalog_lock_table / catalog_unlock_table take and release a table's commit stripe. */
pthread_mutex_t *catalog_lock_table(struct catalog *cat, const struct catalog_wh *wh,
                                    const char *ns_key, const char *name);

/* catalog_exists_error sets the 409 for a create onto a taken name of kind. */
enum status catalog_exists_error(struct error *err, enum store_kind kind, bool creating_view,
                                 const char *dotted);

/*
 * catalog_write_metadata writes a metadata file create-only, gzip-compressed
 * when its name ends in ".gz.metadata.json" (write.metadata.compression-codec).
 * Failures come back as a 500 naming the file.
 */
enum status catalog_write_metadata(struct catalog_ctx *ctx, const char *location, const char *text,
                                   struct error *err);
/*
 * catalog_read_metadata reads a metadata file (gunzipping it when it is
 * gzip), capped at max_metadata_bytes. A missing file is 404
 * NotFoundException "Failed to open input stream for file: ...".
 */
enum status catalog_read_metadata(struct catalog_ctx *ctx, const char *location, char **text,
                                  size_t *len, struct error *err);

/*
 * catalog_swap_failed_surely says whether a failed pointer move certainly did
 * not happen (so the file written for it can be deleted). A store that became
 * unreachable during its transaction may have committed it: then the file
 * must stay, and the client hears 503 (commit state unknown).
 */
bool catalog_swap_failed_surely(enum status rc);

/* catalog_obj_list lists tables or views of ns (ListTablesResponse). */
enum status catalog_obj_list(struct catalog_ctx *ctx, const struct catalog_wh *wh, const json_t *ns,
                             enum store_kind kind, const char *page_token, size_t page_size,
                             json_t **out, struct error *err);
/* catalog_obj_rename renames a table or a view (RenameTableRequest). */
enum status catalog_obj_rename(struct catalog_ctx *ctx, const struct catalog_wh *wh,
                               enum store_kind kind, const json_t *request, struct error *err);
/*
 * catalog_check_location refuses (400) a location the warehouse's storage
 * cannot serve (wh NULL: any storage serac knows).
 */
enum status catalog_check_location(const struct catalog_wh *wh, const char *location,
                                   struct error *err);
/* catalog_trim_slashes returns s without trailing slashes (owned). */
char *catalog_trim_slashes(const char *s);

/* catalog_table_cache_key names a table in the per-table caches: "wh 0x1F ns-key 0x1F name". */
char *catalog_table_cache_key(int64_t wh, const char *ns_key, const char *name);
/*
 * The per-table caches keep one entry per table, {"location": ..., field: value},
 * for the table's newest known metadata file: catalog_table_cache_get returns
 * a reference to value only when location is the one asked for (so it is never
 * stale); catalog_table_cache_set replaces the table's entry (value stolen,
 * size bytes charged besides the location).
 */
struct imm_cache;
json_t *catalog_table_cache_get(struct imm_cache *cache, int64_t wh, const char *ns_key,
                                const char *name, const char *location, const char *field);
void catalog_table_cache_set(struct imm_cache *cache, int64_t wh, const char *ns_key,
                             const char *name, const char *location, const char *field,
                             json_t *value, size_t size);
/*
 * The text cache holds, per table, the stored text of its newest known
 * metadata file with that file's location: catalog_text_get returns it (a
 * JSON string, a reference the caller drops) only when location is the one
 * asked for, so it is never stale; catalog_text_put replaces the table's
 * entry (text stolen).
 */
json_t *catalog_text_get(struct catalog_ctx *ctx, int64_t wh, const char *ns_key, const char *name,
                         const char *location);
void catalog_text_put(struct catalog_ctx *ctx, int64_t wh, const char *ns_key, const char *name,
                      const char *location, json_t *text);

#endif
