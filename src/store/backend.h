/*
 * backend.h - the vtable every store backend implements (store/ internal).
 *
 * store.c owns the public functions of store.h and forwards each call to the
 * backend through struct store_backend_ops. A backend embeds struct store as
 * the first member of its own store object and struct store_conn as the first
 * member of its connection object, so it can cast the public pointers back.
 * Each operation has exactly the contract of the store.h function of the same
 * name; see there.
 */
#ifndef SERAC_STORE_BACKEND_H
#define SERAC_STORE_BACKEND_H

#include "store/store.h"

struct store_backend_ops {
    const char *name; /* "sqlite", "postgres": for logs and messages */
    void (*close)(struct store *st);
    enum status (*connect)(struct store *st, struct store_conn **out, struct error *err);
    void (*disconnect)(struct store_conn *c);
    enum status (*ping)(struct store_conn *c, struct error *err);
    enum status (*set_deadline)(struct store_conn *c, int64_t timeout_ms, struct error *err);
    enum status (*try_lease)(struct store_conn *c, int64_t key, bool *held, struct error *err);
    enum status (*listen)(struct store_conn *c, struct error *err);
    enum status (*poll_changes)(struct store_conn *c, int timeout_ms, char ***payloads, size_t *n,
                                struct error *err);

    /* Warehouse operations get a storage text that is never NULL (store.c puts "{}"). */
    enum status (*warehouse_ensure)(struct store_conn *c, const char *name, const char *location,
                                    const char *storage, struct store_warehouse *out,
                                    struct error *err);
    enum status (*warehouse_create)(struct store_conn *c, const char *name, const char *location,
                                    const char *storage, struct store_warehouse *out,
                                    struct error *err);
    enum status (*warehouse_list)(struct store_conn *c, struct store_warehouse **out, size_t *n,
                                  struct error *err);
    enum status (*warehouse_set_storage)(struct store_conn *c, const char *name,
                                         const char *storage, struct error *err);
    enum status (*warehouse_delete)(struct store_conn *c, const char *name, struct error *err);
    enum status (*warehouse_get)(struct store_conn *c, const char *name,
                                 struct store_warehouse *out, struct error *err);

    enum status (*ns_create)(struct store_conn *c, int64_t wh, const char *ns,
                             const char *properties, struct error *err);
    enum status (*ns_get)(struct store_conn *c, int64_t wh, const char *ns, char **properties,
                          struct error *err);
    enum status (*ns_list)(struct store_conn *c, int64_t wh, const char *parent, const char *after,
                           size_t limit, struct store_page *out, struct error *err);
    enum status (*ns_drop)(struct store_conn *c, int64_t wh, const char *ns, int64_t *tables,
                           int64_t *views, int64_t *children, struct error *err);
    enum status (*ns_update_props)(struct store_conn *c, int64_t wh, const char *ns,
                                   const char *updates, const char *removals, char **old_props,
                                   struct error *err);

    enum status (*obj_head)(struct store_conn *c, int64_t wh, const char *ns, const char *name,
                            struct store_obj *out, struct error *err);
    /*
     * obj_head_many reads the heads of n objects in one round trip: found[i]
     * says whether keys[i] exists, and then outs[i] is filled as by obj_head.
     * NULL when the backend does not batch. On failure outs holds nothing.
     */
    enum status (*obj_head_many)(struct store_conn *c, const struct store_key *keys, size_t n,
                                 struct store_obj *outs, bool *found, struct error *err);
    enum status (*obj_get)(struct store_conn *c, int64_t wh, const char *ns, const char *name,
                           struct store_obj *out, struct error *err);
    enum status (*obj_list)(struct store_conn *c, int64_t wh, const char *ns, enum store_kind kind,
                            const char *after, size_t limit, struct store_page *out,
                            struct error *err);
    enum status (*obj_commit)(struct store_conn *c, const struct store_cas *items, size_t n,
                              size_t *failed, enum store_kind *existing_kind, struct error *err);
    enum status (*obj_drop)(struct store_conn *c, int64_t wh, const char *ns, const char *name,
                            enum store_kind kind, char **metadata_location, struct error *err);
    enum status (*obj_rename)(struct store_conn *c, int64_t wh, enum store_kind kind,
                              const char *src_ns, const char *src_name, const char *dst_ns,
                              const char *dst_name, enum store_kind *existing_kind,
                              struct error *err);

    enum status (*idem_get)(struct store_conn *c, int64_t wh, const char *key, int64_t now_ms,
                            struct store_idem *out, struct error *err);
    enum status (*idem_finish)(struct store_conn *c, const struct store_idem *rec,
                               struct error *err);
    enum status (*idem_purge)(struct store_conn *c, int64_t now_ms, int64_t *deleted,
                              struct error *err);
};

/* The head of every backend's store object. */
struct store {
    const struct store_backend_ops *ops;
};

/*
 * The head of every backend's connection object. store.c keeps the armed
 * Idempotency-Key record here (store_conn_set_idem): while idem_armed, the
 * backend records idem (status 0) inside the transaction of every mutation
 * (ns create/drop/update_props, obj commit/drop/rename) and, once such a
 * transaction has committed, calls store_conn_idem_done.
 */
/* A head read ahead by store_prefetch_heads, answered once by store_obj_head. */
struct store_prefetched {
    int64_t wh;
    char *ns;
    char *name;
    bool found;
    bool used;
    struct store_obj obj;
};

struct store_conn {
    struct store *st;
    struct store_prefetched *prefetched; /* store_prefetch_heads; npref entries */
    size_t npref;
    bool idem_armed;
    bool idem_consumed;
    struct store_idem idem; /* key and fingerprint owned; status, body, etag unused */
};

/* store_conn_idem_done disarms c and marks its record consumed (by a commit that inserted it). */
void store_conn_idem_done(struct store_conn *c);

/*
 * One embedded migration: the build turns src/store/migrations/<backend>/NNNN_*.sql
 * into an array of these ending with {0, NULL} (cmake/embed_migrations.cmake).
 */
struct store_migration {
    int version;
    const char *sql;
};

/*
 * store_sqlite_open opens (creating it and its parent directory if needed)
 * the SQLite database file at path and applies pending migrations in one
 * BEGIN IMMEDIATE transaction. ST_UNAVAILABLE when the file cannot be opened
 * or stays locked; ST_INTERNAL when a migration fails.
 */
enum status store_sqlite_open(const char *path, struct store **out, struct error *err);

/*
 * store_postgres_open connects to the PostgreSQL database named by url (a
 * libpq connection URI, "postgres://" or "postgresql://") and applies pending
 * migrations in one transaction holding an advisory lock, so nodes starting
 * together apply each version once. ST_INVALID for a malformed URL,
 * ST_UNAVAILABLE when the server cannot be reached, ST_INTERNAL when a
 * migration fails.
 */
enum status store_postgres_open(const char *url, struct store **out, struct error *err);

#endif
