/*
 * storage.h - a warehouse's storage settings, the fileio serving it, and
 * what clients get to reach table data (vended credentials, remote signing).
 * Internal to catalog/.
 *
 * Settings are a JSON object stored with the warehouse (see
 * docs/storage.md for every key). Secret values may be given literally or
 * as a reference resolved when the fileio is built: "env:NAME" (an
 * environment variable) or "file:/path" (a file's contents, trailing
 * newline dropped) — so keys can live in a Kubernetes Secret, not in the
 * catalog database.
 */
#ifndef SERAC_CATALOG_STORAGE_H
#define SERAC_CATALOG_STORAGE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "io/fileio.h"

enum storage_type { STORAGE_FILE, STORAGE_S3, STORAGE_GCS };
enum storage_vending { VEND_NONE, VEND_STATIC, VEND_STS };

struct storage_settings {
    enum storage_type type;
    /* s3 */
    char *endpoint;        /* NULL = AWS */
    char *client_endpoint; /* what clients are told (default: endpoint) */
    char *region;
    bool path_style;
    char *access_key_id, *secret_access_key, *session_token; /* resolved */
    enum storage_vending vending;
    bool vend_read_only;
    char *sts_endpoint, *sts_region, *role_arn;
    int duration_s;
    bool remote_signing;
    /* gcs */
    char *gcs_credentials; /* resolved service-account key JSON, or NULL */
    char *gcs_bearer_token;
    long timeout_ms;
};

/*
 * storage_parse reads settings (NULL = {}) for a warehouse at location:
 * unknown keys, wrong types, a type that does not match the location's
 * scheme and unresolvable secret references are ST_INVALID
 * (ET_BAD_REQUEST) naming the warehouse and the key.
 */
enum status storage_parse(const char *warehouse, const char *location, const json_t *settings,
                          struct storage_settings *out, struct error *err);
void storage_settings_cleanup(struct storage_settings *s);

/* storage_redact returns a copy of settings with literal secrets replaced by "****". */
json_t *storage_redact(const json_t *settings);

/* One warehouse's storage, built once per settings text and shared by all threads. */
struct storage_entry {
    int64_t warehouse_id;
    char *name;
    char *settings_text;
    char *location;
    struct storage_settings settings;
    struct fileio *io; /* owned, unless it is the shared local one */
    bool own_io;
    pthread_mutex_t vend_lock; /* protects the credential cache */
    struct vend_cache *vend;   /* issued STS credentials by (prefix, mode) */
    struct storage_entry *next;
};

struct storage_registry {
    pthread_mutex_t lock;
    struct fileio *local;          /* shared by every file: warehouse */
    struct storage_entry *current; /* newest entry per warehouse */
    struct storage_entry *retired; /* replaced entries: in-flight requests may still hold them */
};

void storage_registry_init(struct storage_registry *r);
void storage_registry_cleanup(struct storage_registry *r);
/*
 * storage_registry_get returns the entry for warehouse (id, name, location,
 * settings text), building its fileio when the settings changed. The entry
 * stays valid until storage_registry_cleanup.
 */
enum status storage_registry_get(struct storage_registry *r, int64_t id, const char *name,
                                 const char *location, const char *settings_text,
                                 struct storage_entry **out, struct error *err);

/* Access delegation a client asked for (X-Iceberg-Access-Delegation). */
enum {
    DELEGATE_VENDED = 1,
    DELEGATE_SIGNING = 2,
};

/* storage_parse_delegation parses the header's comma-separated modes (unknown ones are ignored). */
unsigned storage_parse_delegation(const char *header);

/*
 * storage_table_access fills *config (a new object: the LoadTableResult
 * "config") and *creds (a new array of StorageCredential, possibly empty)
 * for a table at table_location in e's warehouse. sign_path is the table's
 * signing endpoint relative to the catalog URI ("v1/<prefix>/namespaces/
 * <ns>/tables/<t>/sign"). Vending failures (STS refused, unreachable) are
 * errors: a client that asked for credentials cannot work without them.
 */
enum status storage_table_access(struct storage_entry *e, const char *table_location,
                                 unsigned delegation, const char *sign_path, json_t **config,
                                 json_t **creds, struct error *err);

/* storage_needs_location says whether storage_table_access will use the table location. */
bool storage_needs_location(const struct storage_entry *e, unsigned delegation);

/*
 * storage_sign signs a RemoteSignRequest for a table at table_location:
 * ST_INVALID for a malformed request, and ST_INVALID with ET_FORBIDDEN (403)
 * when the request's URL is not inside the table's location (or is not an
 * S3 request of this warehouse). *out is a RemoteSignResult.
 */
enum status storage_sign(struct storage_entry *e, const char *table_location, const json_t *request,
                         json_t **out, struct error *err);

/*
 * storage_check_location refuses (ST_INVALID, 400) a location e's storage
 * cannot serve: another scheme, a file: path that is not absolute or climbs
 * with "..", an object-store URI without a bucket. e NULL accepts any
 * storage serac knows.
 */
enum status storage_check_location(const struct storage_entry *e, const char *location,
                                   struct error *err);

/* storage_probe writes and deletes a small object under location to prove access. */
enum status storage_probe(struct storage_entry *e, struct error *err);

#endif
