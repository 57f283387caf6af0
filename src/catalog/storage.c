/*
 * storage.c - warehouse storage settings, the fileio per warehouse, vended
 * credentials and remote signing (see storage.h).
 */
#include "catalog/storage.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/pct.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "io/gcs.h"
#include "io/httpc.h"
#include "io/s3.h"
#include "io/sigv4.h"
#include "io/sts.h"

#define SECRET_MAX_BYTES (64u << 10)
#define REDACTED "****"

/* --- settings --- */

enum key_kind { K_STR, K_SECRET, K_BOOL, K_INT };

static const struct {
    const char *key;
    enum key_kind kind;
} known_keys[] = {
    {"type", K_STR},
    {"endpoint", K_STR},
    {"client-endpoint", K_STR},
    {"region", K_STR},
    {"path-style-access", K_BOOL},
    {"access-key-id", K_SECRET},
    {"secret-access-key", K_SECRET},
    {"session-token", K_SECRET},
    {"vended-credentials", K_STR},
    {"vended-access", K_STR},
    {"sts-endpoint", K_STR},
    {"sts-region", K_STR},
    {"role-arn", K_STR},
    {"credential-duration-seconds", K_INT},
    {"remote-signing", K_BOOL},
    {"gcs-credentials", K_SECRET},
    {"gcs-bearer-token", K_SECRET},
    {"timeout-ms", K_INT},
};

static int key_index(const char *key)
{
    for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
        if (strcmp(known_keys[i].key, key) == 0)
            return (int)i;
    return -1;
}

static enum status bad(struct error *err, const char *wh, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum status bad(struct error *err, const char *wh, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                     "Invalid storage settings for warehouse %s: %s", wh, msg);
}

/*
 * resolve_secret turns a secret setting into its value: "env:NAME" reads the
 * environment, "file:/path" reads a file (a trailing newline dropped),
 * anything else is the value itself. Messages never carry the value.
 */
static enum status resolve_secret(const char *wh, const char *key, const char *v, char **out,
                                  struct error *err)
{
    *out = NULL;
    if (strncmp(v, "env:", 4) == 0) {
        const char *e = getenv(v + 4);
        if (!e || !*e)
            return bad(err, wh, "%s names the environment variable %s, which is not set", key,
                       v + 4);
        *out = xstrdup(e);
        return ST_OK;
    }
    if (strncmp(v, "file:", 5) == 0) {
        FILE *f = fopen(v + 5, "rb");
        struct buf b;
        char chunk[4096];
        size_t n;

        if (!f)
            return bad(err, wh, "%s names the file %s, which cannot be read", key, v + 5);
        buf_init(&b, SECRET_MAX_BYTES);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            if (buf_append(&b, chunk, n)) {
                fclose(f);
                buf_cleanup(&b);
                return bad(err, wh, "%s names the file %s, which is too large", key, v + 5);
            }
        fclose(f);
        *out = buf_take(&b);
        n = strlen(*out);
        while (n > 0 && ((*out)[n - 1] == '\n' || (*out)[n - 1] == '\r'))
            (*out)[--n] = '\0';
        return ST_OK;
    }
    *out = xstrdup(v);
    return ST_OK;
}

static enum storage_type scheme_type(const char *location, bool *known)
{
    *known = true;
    if (strncmp(location, "s3://", 5) == 0 || strncmp(location, "s3a://", 6) == 0 ||
        strncmp(location, "s3n://", 6) == 0)
        return STORAGE_S3;
    if (strncmp(location, "gs://", 5) == 0)
        return STORAGE_GCS;
    if (strncmp(location, "file:", 5) == 0 || location[0] == '/')
        return STORAGE_FILE;
    *known = false;
    return STORAGE_FILE;
}

static const char *type_name(enum storage_type t)
{
    return t == STORAGE_S3 ? "s3" : t == STORAGE_GCS ? "gcs" : "file";
}

static bool is_http_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

enum status storage_parse(const char *wh, const char *location, const json_t *settings,
                          struct storage_settings *out, struct error *err)
{
    const char *key, *type = NULL, *vend = NULL, *access = NULL;
    json_t *v;
    bool known;
    enum status rc;

    memset(out, 0, sizeof(*out));
    out->type = scheme_type(location, &known);
    if (!known)
        return bad(err, wh, "location %s has no supported scheme (file:, s3://, gs://)", location);
    out->duration_s = 3600;
    out->remote_signing = true;
    out->timeout_ms = 30000;
    if (settings && !json_is_object(settings))
        return bad(err, wh, "storage settings must be a JSON object");
    json_object_foreach((json_t *)settings, key, v)
    {
        int i = key_index(key);
        char *sv = NULL;

        if (i < 0)
            return bad(err, wh, "unknown key %s", key);
        switch (known_keys[i].kind) {
        case K_BOOL:
            if (!json_is_boolean(v))
                return bad(err, wh, "%s must be a boolean%s", key, "");
            break;
        case K_INT:
            if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
                json_integer_value(v) > 86400 * 1000)
                return bad(err, wh, "%s must be a positive integer%s", key, "");
            break;
        case K_STR:
        case K_SECRET:
            if (!json_is_string(v) || !*json_string_value(v))
                return bad(err, wh, "%s must be a non-empty string%s", key, "");
            break;
        }
        if (known_keys[i].kind == K_SECRET) {
            if ((rc = resolve_secret(wh, key, json_string_value(v), &sv, err)))
                return rc;
        } else if (known_keys[i].kind == K_STR) {
            sv = xstrdup(json_string_value(v));
        }
        if (strcmp(key, "type") == 0) {
            type = json_string_value(v);
            free(sv);
        } else if (strcmp(key, "vended-credentials") == 0) {
            vend = json_string_value(v);
            free(sv);
        } else if (strcmp(key, "vended-access") == 0) {
            access = json_string_value(v);
            free(sv);
        } else if (strcmp(key, "endpoint") == 0) {
            out->endpoint = sv;
        } else if (strcmp(key, "client-endpoint") == 0) {
            out->client_endpoint = sv;
        } else if (strcmp(key, "region") == 0) {
            out->region = sv;
        } else if (strcmp(key, "access-key-id") == 0) {
            out->access_key_id = sv;
        } else if (strcmp(key, "secret-access-key") == 0) {
            out->secret_access_key = sv;
        } else if (strcmp(key, "session-token") == 0) {
            out->session_token = sv;
        } else if (strcmp(key, "sts-endpoint") == 0) {
            out->sts_endpoint = sv;
        } else if (strcmp(key, "sts-region") == 0) {
            out->sts_region = sv;
        } else if (strcmp(key, "role-arn") == 0) {
            out->role_arn = sv;
        } else if (strcmp(key, "gcs-credentials") == 0) {
            out->gcs_credentials = sv;
        } else if (strcmp(key, "gcs-bearer-token") == 0) {
            out->gcs_bearer_token = sv;
        } else if (strcmp(key, "path-style-access") == 0) {
            out->path_style = json_is_true(v);
        } else if (strcmp(key, "remote-signing") == 0) {
            out->remote_signing = json_is_true(v);
        } else if (strcmp(key, "credential-duration-seconds") == 0) {
            json_int_t d = json_integer_value(v);
            if (d < 900 || d > 43200)
                return bad(err, wh, "%s must be between 900 and 43200%s", key, "");
            out->duration_s = (int)d;
        } else if (strcmp(key, "timeout-ms") == 0) {
            out->timeout_ms = (long)json_integer_value(v);
        }
    }
    if (type && strcmp(type, type_name(out->type)) != 0)
        return bad(err, wh, "type %s does not match the location's scheme (%s)", type,
                   type_name(out->type));
    if (!json_object_get(settings, "path-style-access"))
        /* S3-compatible servers (MinIO, Ceph, moto) are usually addressed by path. */
        out->path_style = out->endpoint != NULL;
    if ((out->endpoint && !is_http_url(out->endpoint)) ||
        (out->client_endpoint && !is_http_url(out->client_endpoint)) ||
        (out->sts_endpoint && !is_http_url(out->sts_endpoint)))
        return bad(err, wh, "endpoints must be http:// or https:// URLs");
    if (!out->region)
        out->region = xstrdup("us-east-1");
    if (!out->client_endpoint && out->endpoint)
        out->client_endpoint = xstrdup(out->endpoint);
    if (!vend || strcmp(vend, "none") == 0)
        out->vending = VEND_NONE;
    else if (strcmp(vend, "static") == 0)
        out->vending = VEND_STATIC;
    else if (strcmp(vend, "sts") == 0)
        out->vending = VEND_STS;
    else
        return bad(err, wh, "vended-credentials must be none, static or sts, not %s", vend);
    if (!access || strcmp(access, "read-write") == 0)
        out->vend_read_only = false;
    else if (strcmp(access, "read-only") == 0)
        out->vend_read_only = true;
    else
        return bad(err, wh, "vended-access must be read-write or read-only, not %s", access);
    if (out->type == STORAGE_S3) {
        if (!out->access_key_id != !out->secret_access_key)
            return bad(err, wh, "access-key-id and secret-access-key go together");
        if (out->vending == VEND_STS && !out->role_arn)
            return bad(err, wh, "vended-credentials sts needs role-arn");
        if (out->vending != VEND_NONE && !out->access_key_id)
            return bad(err, wh, "vending credentials needs access-key-id and secret-access-key");
        if (out->remote_signing && !out->access_key_id)
            out->remote_signing = false; /* nothing to sign with */
    } else if (out->type == STORAGE_GCS) {
        if (out->vending == VEND_STS)
            return bad(err, wh, "vended-credentials sts is for S3; GCS supports none or static");
        out->remote_signing = false;
    } else {
        if (out->vending != VEND_NONE)
            return bad(err, wh, "a file: warehouse has no credentials to vend");
        out->remote_signing = false;
    }
    return ST_OK;
}

void storage_settings_cleanup(struct storage_settings *s)
{
    char **strs[] = {&s->endpoint,        &s->client_endpoint,   &s->region,
                     &s->access_key_id,   &s->secret_access_key, &s->session_token,
                     &s->sts_endpoint,    &s->sts_region,        &s->role_arn,
                     &s->gcs_credentials, &s->gcs_bearer_token};

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
}

json_t *storage_redact(const json_t *settings)
{
    json_t *out = json_object(), *v;
    const char *key;

    if (!json_is_object(settings))
        return out;
    json_object_foreach((json_t *)settings, key, v)
    {
        int i = key_index(key);
        const char *s = json_string_value(v);

        /* References name where a secret lives, not the secret: they stay visible. */
        if (i >= 0 && known_keys[i].kind == K_SECRET && s && strncmp(s, "env:", 4) != 0 &&
            strncmp(s, "file:", 5) != 0 && strcmp(key, "access-key-id") != 0)
            json_object_set_new(out, key, json_string(REDACTED));
        else
            json_object_set(out, key, v);
    }
    return out;
}

/* --- the registry of built fileios --- */

struct vend_cache {
    char *prefix;
    bool read_only;
    char *access_key_id, *secret_access_key, *session_token;
    int64_t expires_ms, refresh_ms;
    struct vend_cache *next;
};

static void vend_free(struct vend_cache *v)
{
    while (v) {
        struct vend_cache *next = v->next;
        free(v->prefix);
        free(v->access_key_id);
        free(v->secret_access_key);
        free(v->session_token);
        free(v);
        v = next;
    }
}

static void entry_free(struct storage_entry *e)
{
    if (e->own_io)
        fileio_free(e->io);
    storage_settings_cleanup(&e->settings);
    vend_free(e->vend);
    pthread_mutex_destroy(&e->vend_lock);
    free(e->name);
    free(e->settings_text);
    free(e->location);
    free(e);
}

void storage_registry_init(struct storage_registry *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->local = fileio_local_new();
}

void storage_registry_cleanup(struct storage_registry *r)
{
    struct storage_entry *lists[2] = {r->current, r->retired};

    for (int i = 0; i < 2; i++)
        for (struct storage_entry *e = lists[i], *next; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    fileio_free(r->local);
    pthread_mutex_destroy(&r->lock);
    memset(r, 0, sizeof(*r));
}

static enum status build_io(struct storage_registry *r, struct storage_entry *e, struct error *err)
{
    const struct storage_settings *s = &e->settings;

    switch (s->type) {
    case STORAGE_FILE:
        e->io = r->local;
        e->own_io = false;
        return ST_OK;
    case STORAGE_S3: {
        struct s3_config c = {
            .endpoint = s->endpoint,
            .region = s->region,
            .path_style = s->path_style,
            .access_key_id = s->access_key_id,
            .secret_access_key = s->secret_access_key,
            .session_token = s->session_token,
            .timeout_ms = s->timeout_ms,
            .label = e->name,
        };
        e->io = fileio_s3_new(&c);
        e->own_io = true;
        return ST_OK;
    }
    case STORAGE_GCS: {
        struct gcs_config c = {
            .endpoint = s->endpoint,
            .credentials_json = s->gcs_credentials,
            .bearer_token = s->gcs_bearer_token,
            .timeout_ms = s->timeout_ms,
            .label = e->name,
        };
        e->own_io = true;
        return fileio_gcs_new(&c, &e->io, err);
    }
    }
    return error_set(err, ST_INTERNAL, ET_INTERNAL, "unknown storage type");
}

enum status storage_registry_get(struct storage_registry *r, int64_t id, const char *name,
                                 const char *location, const char *settings_text,
                                 struct storage_entry **out, struct error *err)
{
    struct storage_entry *e, **pp;
    json_t *settings = NULL;
    enum status rc;

    if (!settings_text)
        settings_text = "{}";
    pthread_mutex_lock(&r->lock);
    for (pp = &r->current; (e = *pp); pp = &e->next)
        if (e->warehouse_id == id)
            break;
    if (e && strcmp(e->settings_text, settings_text) == 0 && strcmp(e->location, location) == 0 &&
        strcmp(e->name, name) == 0) {
        *out = e;
        pthread_mutex_unlock(&r->lock);
        return ST_OK;
    }
    if (e) {
        /* Settings changed (here or on another node): keep the old entry for requests using it. */
        *pp = e->next;
        e->next = r->retired;
        r->retired = e;
    }
    e = xcalloc(1, sizeof(*e));
    e->warehouse_id = id;
    e->name = xstrdup(name);
    e->location = xstrdup(location);
    e->settings_text = xstrdup(settings_text);
    pthread_mutex_init(&e->vend_lock, NULL);
    rc = jsonx_parse_object(settings_text, strlen(settings_text), &settings, err);
    if (rc == ST_OK)
        rc = storage_parse(name, location, settings, &e->settings, err);
    if (rc == ST_OK)
        rc = build_io(r, e, err);
    json_decref(settings);
    if (rc) {
        entry_free(e);
        pthread_mutex_unlock(&r->lock);
        *out = NULL;
        /* Settings that were valid when stored but no longer resolve (a secret gone) are a server
         * fault. */
        return rc == ST_INVALID ? error_wrap(err, ST_IO, ET_NONE, "Warehouse %s", name) : rc;
    }
    e->next = r->current;
    r->current = e;
    *out = e;
    pthread_mutex_unlock(&r->lock);
    return ST_OK;
}

/* --- delegation --- */

unsigned storage_parse_delegation(const char *header)
{
    unsigned modes = 0;
    const char *p = header;

    while (p && *p) {
        size_t n = strcspn(p, ",");
        const char *s = p, *e = p + n;

        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        if ((size_t)(e - s) == 18 && strncasecmp(s, "vended-credentials", 18) == 0)
            modes |= DELEGATE_VENDED;
        else if ((size_t)(e - s) == 14 && strncasecmp(s, "remote-signing", 14) == 0)
            modes |= DELEGATE_SIGNING;
        p += n;
        if (*p == ',')
            p++;
    }
    return modes;
}

/* split_location splits "s3://bucket/key..." into bucket and key (owned; key without leading '/').
 */
static bool split_location(const char *location, char **bucket, char **key)
{
    const char *p = strstr(location, "://"), *slash;

    *bucket = *key = NULL;
    if (!p)
        return false;
    p += 3;
    slash = strchr(p, '/');
    *bucket = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
    *key = xstrdup(slash ? slash + 1 : "");
    if (!**bucket) {
        free(*bucket);
        free(*key);
        *bucket = *key = NULL;
        return false;
    }
    return true;
}

/* trim_slashes returns s without trailing '/' (owned). */
static char *trim_slashes(const char *s)
{
    size_t n = strlen(s);

    while (n > 0 && s[n - 1] == '/')
        n--;
    return xstrndup(s, n);
}

/* session_policy returns the inline policy limiting credentials to bucket/prefix/ (owned). */
static char *session_policy(const char *bucket, const char *prefix, bool read_only)
{
    json_t *actions = json_pack("[s,s]", "s3:GetObject", "s3:GetObjectVersion");
    char *obj_arn = xasprintf("arn:aws:s3:::%s/%s/*", bucket, prefix);
    char *bucket_arn = xasprintf("arn:aws:s3:::%s", bucket);
    char *list_prefix = xasprintf("%s/*", prefix);
    json_t *policy;
    char *text;

    if (!read_only) {
        json_array_append_new(actions, json_string("s3:PutObject"));
        json_array_append_new(actions, json_string("s3:DeleteObject"));
        json_array_append_new(actions, json_string("s3:AbortMultipartUpload"));
        json_array_append_new(actions, json_string("s3:ListMultipartUploadParts"));
    }
    policy = json_pack("{s:s, s:[{s:s, s:o, s:[s]}, {s:s, s:[s,s], s:[s], s:{s:{s:[s,s]}}}]}",
                       "Version", "2012-10-17", "Statement", "Effect", "Allow", "Action", actions,
                       "Resource", obj_arn, "Effect", "Allow", "Action", "s3:ListBucket",
                       "s3:GetBucketLocation", "Resource", bucket_arn, "Condition", "StringLike",
                       "s3:prefix", prefix, list_prefix);
    text = jsonx_dump(policy);
    json_decref(policy);
    free(obj_arn);
    free(bucket_arn);
    free(list_prefix);
    return text;
}

/* vend_sts returns cached or new STS credentials for prefix (copies into *out). */
static enum status vend_sts(struct storage_entry *e, const char *table_location,
                            struct vend_cache *out, struct error *err)
{
    const struct storage_settings *s = &e->settings;
    int64_t now = clock_now_ms();
    struct vend_cache *v;
    char *bucket, *key, *prefix, *policy, session[64];
    struct sts_credentials creds = {0};
    enum status rc;

    pthread_mutex_lock(&e->vend_lock);
    for (v = e->vend; v; v = v->next)
        if (v->read_only == s->vend_read_only && strcmp(v->prefix, table_location) == 0 &&
            now < v->refresh_ms)
            break;
    if (v) {
        out->access_key_id = xstrdup(v->access_key_id);
        out->secret_access_key = xstrdup(v->secret_access_key);
        out->session_token = v->session_token ? xstrdup(v->session_token) : NULL;
        out->expires_ms = v->expires_ms;
        pthread_mutex_unlock(&e->vend_lock);
        return ST_OK;
    }
    pthread_mutex_unlock(&e->vend_lock);

    if (!split_location(table_location, &bucket, &key))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Cannot vend credentials for %s",
                         table_location);
    prefix = trim_slashes(key);
    policy = session_policy(bucket, prefix, s->vend_read_only);
    snprintf(session, sizeof(session), "serac-%lld", (long long)(now / 1000));
    struct sts_config c = {
        .endpoint = s->sts_endpoint ? s->sts_endpoint : s->endpoint,
        .region = s->sts_region ? s->sts_region : s->region,
        .access_key_id = s->access_key_id,
        .secret_access_key = s->secret_access_key,
        .session_token = s->session_token,
        .timeout_ms = s->timeout_ms,
    };
    rc = sts_assume_role(&c, s->role_arn, session, policy, s->duration_s, &creds, err);
    free(bucket);
    free(key);
    free(prefix);
    free(policy);
    if (rc) {
        if (rc == ST_UNAVAILABLE)
            return rc;
        return error_wrap(err, ST_IO, ET_NONE, "Cannot vend credentials for warehouse %s", e->name);
    }
    v = xcalloc(1, sizeof(*v));
    v->prefix = xstrdup(table_location);
    v->read_only = s->vend_read_only;
    v->access_key_id = creds.access_key_id;
    v->secret_access_key = creds.secret_access_key;
    v->session_token = creds.session_token;
    v->expires_ms = creds.expiration_ms;
    /* Cached for half the lifetime, so a client never gets nearly expired keys. */
    v->refresh_ms = now + (creds.expiration_ms - now) / 2;
    out->access_key_id = xstrdup(v->access_key_id);
    out->secret_access_key = xstrdup(v->secret_access_key);
    out->session_token = v->session_token ? xstrdup(v->session_token) : NULL;
    out->expires_ms = v->expires_ms;
    pthread_mutex_lock(&e->vend_lock);
    /* Drop entries past their refresh time, then keep the new one. */
    for (struct vend_cache **pp = &e->vend; *pp;) {
        if ((*pp)->refresh_ms <= now) {
            struct vend_cache *dead = *pp;
            *pp = dead->next;
            dead->next = NULL;
            vend_free(dead);
        } else {
            pp = &(*pp)->next;
        }
    }
    v->next = e->vend;
    e->vend = v;
    pthread_mutex_unlock(&e->vend_lock);
    return ST_OK;
}

static void set_str(json_t *obj, const char *key, const char *value)
{
    if (value)
        json_object_set_new(obj, key, json_string(value));
}

bool storage_needs_location(const struct storage_entry *e, unsigned delegation)
{
    return (delegation & DELEGATE_VENDED) && e->settings.vending != VEND_NONE;
}

enum status storage_table_access(struct storage_entry *e, const char *table_location,
                                 unsigned delegation, const char *sign_path, json_t **config,
                                 json_t **creds, struct error *err)
{
    const struct storage_settings *s = &e->settings;
    json_t *cfg = json_object(), *vended = NULL;
    enum status rc = ST_OK;

    *config = NULL;
    *creds = json_array();
    if (s->type == STORAGE_S3) {
        set_str(cfg, "s3.endpoint", s->client_endpoint);
        set_str(cfg, "s3.region", s->region);
        set_str(cfg, "client.region", s->region);
        set_str(cfg, "s3.path-style-access", s->path_style ? "true" : "false");
        if ((delegation & DELEGATE_VENDED) && s->vending != VEND_NONE && table_location) {
            struct vend_cache v = {0};
            char expires[32];

            if (s->vending == VEND_STATIC) {
                v.access_key_id = xstrdup(s->access_key_id);
                v.secret_access_key = xstrdup(s->secret_access_key);
                v.session_token = s->session_token ? xstrdup(s->session_token) : NULL;
            } else {
                rc = vend_sts(e, table_location, &v, err);
            }
            if (rc == ST_OK) {
                vended = json_object();
                set_str(vended, "s3.access-key-id", v.access_key_id);
                set_str(vended, "s3.secret-access-key", v.secret_access_key);
                set_str(vended, "s3.session-token", v.session_token);
                if (v.expires_ms > 0) {
                    snprintf(expires, sizeof(expires), "%lld", (long long)v.expires_ms);
                    set_str(vended, "s3.session-token-expires-at-ms", expires);
                }
            }
            free(v.access_key_id);
            free(v.secret_access_key);
            free(v.session_token);
        } else if ((delegation & DELEGATE_SIGNING) && s->remote_signing && sign_path) {
            set_str(cfg, "s3.remote-signing-enabled", "true");
            set_str(cfg, "signer.endpoint", sign_path);
            /* PyIceberg's names for the same (pyiceberg/io/__init__.py). */
            set_str(cfg, "s3.signer", "S3V4RestSigner");
            set_str(cfg, "s3.signer.endpoint", sign_path);
        }
    } else if (s->type == STORAGE_GCS) {
        set_str(cfg, "gcs.service.host", s->client_endpoint);
        if ((delegation & DELEGATE_VENDED) && s->vending == VEND_STATIC && table_location) {
            char *token = NULL, expires[32];
            int64_t expires_ms = 0;

            /*
             * A token is vended only with its expiry: clients (PyArrow's GCS) refuse one
             * without, and a fixed bearer token's expiry is unknown, so it is not vended.
             */
            if ((rc = gcs_access_token(e->io, &token, &expires_ms, err)) == ST_OK &&
                expires_ms > 0) {
                vended = json_object();
                set_str(vended, "gcs.oauth2.token", token);
                snprintf(expires, sizeof(expires), "%lld", (long long)expires_ms);
                set_str(vended, "gcs.oauth2.token-expires-at", expires);
            }
            free(token);
        }
    }
    if (rc) {
        json_decref(cfg);
        json_decref(*creds);
        *creds = NULL;
        return rc;
    }
    if (vended) {
        /* Clients look in storage-credentials first; older ones only read config. */
        json_object_update(cfg, vended);
        json_array_append_new(*creds,
                              json_pack("{s:s, s:o}", "prefix", table_location, "config", vended));
    }
    *config = cfg;
    return ST_OK;
}

/* --- remote signing --- */

/* url_host copies the host[:port] of url into host (false if it does not fit or is absent). */
static bool url_host(const char *url, char *host, size_t cap, const char **path)
{
    const char *p = strstr(url, "://"), *end;

    if (!p)
        return false;
    p += 3;
    end = p + strcspn(p, "/?#");
    if (end == p || (size_t)(end - p) >= cap)
        return false;
    memcpy(host, p, (size_t)(end - p));
    host[end - p] = '\0';
    *path = end;
    return true;
}

/* query_param returns the decoded value of name in query (owned), or NULL. */
static char *query_param(const char *query, const char *name)
{
    size_t nl = strlen(name);

    for (const char *p = query; p && *p;) {
        size_t n = strcspn(p, "&");
        if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            char *value = NULL;
            (void)pct_decode(p + nl + 1, n - nl - 1, false, &value);
            return value; /* NULL for a malformed escape or a NUL */
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return NULL;
}

/* has_dot_segment says whether a key has a "." or ".." segment. */
static bool has_dot_segment(const char *key)
{
    for (const char *p = key; *p;) {
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return true;
        p += n;
        if (*p == '/')
            p++;
    }
    return false;
}

/*
 * under_prefix says whether key lies under prefix/. A key with "." or ".."
 * segments never does: S3 reads them literally, but a store or proxy that
 * normalises paths would take ".../t/../t2/x" for another table's file.
 */
static bool under_prefix(const char *key, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(key, prefix, n) == 0 && key[n] == '/' && !has_dot_segment(key);
}

static enum status forbidden(struct error *err, const char *what)
{
    return error_set(err, ST_INVALID, ET_FORBIDDEN,
                     "Not allowed to sign a request outside the table's location: %s", what);
}

/*
 * request_target works out the bucket and key a signing request's URL
 * names, for path-style ("host/bucket/key") and virtual-hosted
 * ("bucket.host/key") addressing, and checks the host is this warehouse's.
 */
static enum status request_target(const struct storage_settings *s, const char *url, char **bucket,
                                  char **key, char **query, struct error *err)
{
    char host[512], ep_host[512];
    const char *path, *ep_path, *q;
    size_t hl, el;

    *bucket = *key = *query = NULL;
    if (!url_host(url, host, sizeof(host), &path))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid uri in sign request");
    q = strchr(path, '?');
    *query = xstrdup(q ? q + 1 : "");
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    char *decoded = NULL;
    if (pct_decode(path, plen, false, &decoded))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid escape in sign request uri");
    const char *rest = decoded[0] == '/' ? decoded + 1 : decoded;
    bool virtual_host = false;

    if (s->client_endpoint || s->endpoint) {
        const char *ep = s->client_endpoint ? s->client_endpoint : s->endpoint;
        if (!url_host(ep, ep_host, sizeof(ep_host), &ep_path)) {
            free(decoded);
            return error_set(err, ST_INTERNAL, ET_INTERNAL, "Invalid endpoint of warehouse");
        }
        hl = strlen(host);
        el = strlen(ep_host);
        if (strcasecmp(host, ep_host) == 0) {
            virtual_host = false;
        } else if (hl > el + 1 && strcasecmp(host + hl - el, ep_host) == 0 &&
                   host[hl - el - 1] == '.') {
            virtual_host = true;
            *bucket = xstrndup(host, hl - el - 1);
        } else {
            free(decoded);
            return forbidden(err, url);
        }
    } else {
        /* AWS: s3.amazonaws.com, s3.<region>.amazonaws.com, <bucket>.s3[.<region>].amazonaws.com */
        const char *s3 = strcasestr(host, "s3.");
        const char *aws = strcasestr(host, ".amazonaws.com");
        if (!s3 || !aws) {
            free(decoded);
            return forbidden(err, url);
        }
        if (s3 != host) {
            virtual_host = true;
            if (s3[-1] != '.') {
                free(decoded);
                return forbidden(err, url);
            }
            *bucket = xstrndup(host, (size_t)(s3 - host - 1));
        }
    }
    if (!virtual_host) {
        size_t n = strcspn(rest, "/");
        *bucket = xstrndup(rest, n);
        rest += n;
        if (*rest == '/')
            rest++;
    }
    *key = xstrdup(rest);
    free(decoded);
    return ST_OK;
}

/* delete_keys_inside checks every <Key> of a DeleteObjects body lies under prefix. */
static bool delete_keys_inside(const char *body, const char *prefix)
{
    const char *p = body;
    bool any = false;
    char *k;

    while ((k = httpc_xml_value(p, "Key", &p))) {
        bool ok = under_prefix(k, prefix);
        free(k);
        if (!ok)
            return false;
        any = true;
    }
    return any;
}

enum status storage_sign(struct storage_entry *e, const char *table_location, const json_t *request,
                         json_t **out, struct error *err)
{
    const struct storage_settings *s = &e->settings;
    const char *method = NULL, *uri = NULL, *region = NULL, *body = NULL, *provider = NULL;
    json_t *headers = NULL;
    char *tb = NULL, *tk = NULL, *prefix = NULL, *bucket = NULL, *key = NULL, *query = NULL;
    enum status rc;

    *out = NULL;
    if ((rc = jsonx_get_str(request, "sign request", "method", true, &method, err)) ||
        (rc = jsonx_get_str(request, "sign request", "uri", true, &uri, err)) ||
        (rc = jsonx_get_str(request, "sign request", "region", true, &region, err)) ||
        (rc = jsonx_get_obj(request, "sign request", "headers", true, &headers, err)) ||
        (rc = jsonx_get_str(request, "sign request", "body", false, &body, err)) ||
        (rc = jsonx_get_str(request, "sign request", "provider", false, &provider, err)))
        return rc;
    static const char *const methods[] = {"PUT",    "GET",   "HEAD",   "POST",
                                          "DELETE", "PATCH", "OPTIONS"};
    bool method_ok = false;
    for (size_t i = 0; i < 7; i++)
        method_ok |= strcmp(method, methods[i]) == 0;
    if (!method_ok)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid method in sign request: %.16s",
                         method);
    const char *hk;
    json_t *hv;
    json_object_foreach(headers, hk, hv)
    {
        if (!jsonx_is_str_array(hv))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Invalid sign request: header %.64s must map to a list of strings",
                             hk);
    }
    if (provider && strcmp(provider, "s3") != 0)
        return error_set(err, ST_INVALID, ET_FORBIDDEN,
                         "Remote signing is only offered for s3, not %.32s", provider);
    if (s->type != STORAGE_S3 || !s->remote_signing)
        return error_set(err, ST_INVALID, ET_FORBIDDEN,
                         "Remote signing is not enabled for warehouse %s", e->name);
    if (!split_location(table_location, &tb, &tk)) {
        rc = error_set(err, ST_INTERNAL, ET_INTERNAL, "Table location %s is not an S3 location",
                       table_location);
        goto out;
    }
    prefix = trim_slashes(tk);
    if ((rc = request_target(s, uri, &bucket, &key, &query, err)))
        goto out;
    bool inside = strcmp(bucket, tb) == 0;
    if (inside && *key) {
        inside = under_prefix(key, prefix);
    } else if (inside) {
        /* A bucket-level request: a listing under the table, or a batch delete of its files. */
        char *list_prefix = query_param(query, "prefix");
        bool is_delete = strcmp(method, "POST") == 0 &&
                         (strncmp(query, "delete", 6) == 0 &&
                          (query[6] == '\0' || query[6] == '=' || query[6] == '&'));
        if (list_prefix && strcmp(method, "GET") == 0)
            inside = under_prefix(list_prefix, prefix) || strcmp(list_prefix, prefix) == 0;
        else if (is_delete && body)
            inside = delete_keys_inside(body, prefix);
        else
            inside = false;
        free(list_prefix);
    }
    if (!inside) {
        rc = forbidden(err, uri);
        goto out;
    }
    struct sigv4_credentials creds = {s->access_key_id, s->secret_access_key, s->session_token};
    json_t *signed_headers = NULL;
    rc = sigv4_sign_multimap(method, uri, headers, body, s->region, "s3", &creds, time(NULL),
                             &signed_headers, err);
    if (rc == ST_OK)
        *out = json_pack("{s:s, s:o}", "uri", uri, "headers", signed_headers);
out:
    free(tb);
    free(tk);
    free(prefix);
    free(bucket);
    free(key);
    free(query);
    return rc;
}

/* --- locations --- */

enum status storage_check_location(const struct storage_entry *e, const char *location,
                                   struct error *err)
{
    bool known;
    enum storage_type t = scheme_type(location, &known);
    char *bucket = NULL, *key = NULL, *path = NULL;
    bool ok;

    if (!known)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Unsupported location: %s (expected file:, s3:// or gs://)", location);
    if (e && t != e->settings.type)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Unsupported location: %s (warehouse %s stores files in %s storage)",
                         location, e->name, type_name(e->settings.type));
    if (t == STORAGE_FILE) {
        ok = (path = fileio_local_path(location)) != NULL;
        free(path);
        if (!ok)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                             "Unsupported location: %s (a file: location must be an absolute path "
                             "without '..')",
                             location);
        return ST_OK;
    }
    ok = split_location(location, &bucket, &key);
    free(bucket);
    free(key);
    if (!ok)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid location: %s (no bucket)",
                         location);
    return ST_OK;
}

/* --- probing --- */

enum status storage_probe(struct storage_entry *e, struct error *err)
{
    char id[40], *base = trim_slashes(e->location), *loc;
    enum status rc;
    char *data = NULL;
    size_t len;

    ids_uuid_v4(id);
    loc = xasprintf("%s/.serac-probe-%s", base, id);
    rc = fileio_write(e->io, loc, "serac", 5, true, err);
    if (rc == ST_OK)
        rc = fileio_read(e->io, loc, 64, &data, &len, err);
    free(data);
    if (rc == ST_OK)
        rc = fileio_remove(e->io, loc, err);
    else
        fileio_remove(e->io, loc, NULL);
    free(loc);
    free(base);
    if (rc && rc != ST_UNAVAILABLE)
        return error_wrap(err, ST_INVALID, ET_BAD_REQUEST,
                          "Warehouse %s cannot use its storage at %s", e->name, e->location);
    return rc;
}
