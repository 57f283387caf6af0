/* config.c - flags, environment and config file. */
#include "cli/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

static const struct {
    const char *name; /* flag without "--", and config-file key */
    const char *env;
    const char *def; /* NULL: derived or unset */
    const char *help;
} options[CFG__COUNT] = {
    [CFG_HOST] = {"host", "SERAC_HOST", "127.0.0.1", "address to listen on"},
    [CFG_PORT] = {"port", "SERAC_PORT", "8181", "TCP port (0 picks a free one)"},
    [CFG_DATA_DIR] = {"data-dir", "SERAC_DATA_DIR", "./serac-data",
                      "where the embedded catalog and warehouse live"},
    [CFG_STORE] = {"store", "SERAC_STORE", NULL,
                   "catalog store URL (default sqlite:<data-dir>/catalog.db)"},
    [CFG_WAREHOUSE] = {"warehouse", "SERAC_WAREHOUSE", "default",
                       "name of the default warehouse (the {prefix} clients get)"},
    [CFG_WAREHOUSE_LOCATION] = {"warehouse-location", "SERAC_WAREHOUSE_LOCATION", NULL,
                                "base location of the default warehouse (default "
                                "file://<data-dir>/warehouse)"},
    [CFG_WAREHOUSE_STORAGE] = {"warehouse-storage", "SERAC_WAREHOUSE_STORAGE", NULL,
                               "storage settings of the default warehouse: a JSON object, or "
                               "@path of a file holding one (see docs/storage.md)"},
    [CFG_LOG_LEVEL] = {"log-level", "SERAC_LOG_LEVEL", "info", "debug, info, warn or error"},
    [CFG_MAX_BODY_BYTES] = {"max-body-bytes", "SERAC_MAX_BODY_BYTES", "16777216",
                            "largest request body accepted (larger gets 413)"},
    [CFG_CORS_ORIGINS] = {"cors-origins", "SERAC_CORS_ORIGINS", "",
                          "CORS: '*' or a comma-separated list of origins; empty is off"},
    [CFG_WORKERS] = {"workers", "SERAC_WORKERS", "0",
                     "worker threads running handlers (0 = 4 per CPU)"},
    [CFG_IO_THREADS] = {"io-threads", "SERAC_IO_THREADS", "0",
                        "HTTP I/O threads (0 = one per CPU)"},
    [CFG_MAX_CONNECTIONS] = {"max-connections", "SERAC_MAX_CONNECTIONS", "16384",
                             "concurrent connections accepted"},
    [CFG_CONNECTION_MEMORY] = {"connection-memory", "SERAC_CONNECTION_MEMORY", "10240",
                               "bytes of buffer per connection for request and response "
                               "headers, resident while the connection is open; requests "
                               "whose headers do not fit get 431"},
    [CFG_SHUTDOWN_GRACE_MS] = {"shutdown-grace-ms", "SERAC_SHUTDOWN_GRACE_MS", "10000",
                               "how long shutdown waits for in-flight requests"},
    [CFG_COMMIT_ATTEMPTS] = {"commit-attempts", "SERAC_COMMIT_ATTEMPTS", "10",
                             "compare-and-swap attempts per commit before 409"},
    [CFG_PAGE_SIZE] = {"page-size", "SERAC_PAGE_SIZE", "100",
                       "page size when a client asks for pages without a size"},
    [CFG_MAX_PAGE_SIZE] = {"max-page-size", "SERAC_MAX_PAGE_SIZE", "1000", "largest page served"},
    [CFG_IDEMPOTENCY_LIFETIME] = {"idempotency-lifetime", "SERAC_IDEMPOTENCY_LIFETIME", "1800",
                                  "seconds an Idempotency-Key is remembered (0 turns keys off)"},
    [CFG_NAMESPACE_SEPARATOR] = {"namespace-separator", "SERAC_NAMESPACE_SEPARATOR", "",
                                 "one character clients join namespace levels with (default: "
                                 "the unit separator, %1F)"},
    [CFG_REQUEST_TIMEOUT_MS] = {"request-timeout-ms", "SERAC_REQUEST_TIMEOUT_MS", "30000",
                                "deadline for one request's store statements (0: none); past it "
                                "the request gets 503"},
    [CFG_JOB_INTERVAL_MS] = {"job-interval-ms", "SERAC_JOB_INTERVAL_MS", "60000",
                             "how often background jobs (expired key cleanup) run"},
};

static void set(struct config *cfg, int key, const char *value)
{
    free(cfg->values[key]);
    cfg->values[key] = xstrdup(value);
}

static int find(const char *name, size_t len)
{
    for (int i = 0; i < CFG__COUNT; i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return i;
    return -1;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

static enum status load_file(struct config *cfg, const char *path, struct error *err)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int lineno = 0;

    if (!f)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "cannot read config file %s: %s", path,
                         strerror(errno));
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line), *eq, *key, *value;
        int k;

        lineno++;
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (!eq) {
            fclose(f);
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "%s:%d: expected 'key = value'", path,
                             lineno);
        }
        *eq = '\0';
        key = trim(s);
        value = trim(eq + 1);
        if (strlen(value) >= 2 && value[0] == '"' && value[strlen(value) - 1] == '"') {
            value[strlen(value) - 1] = '\0';
            value++;
        }
        if ((k = find(key, strlen(key))) < 0) {
            fclose(f);
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "%s:%d: unknown setting '%s'", path,
                             lineno, key);
        }
        set(cfg, k, value);
    }
    fclose(f);
    return ST_OK;
}

enum status config_load(struct config *cfg, int argc, char **argv, struct error *err)
{
    const char *file = getenv("SERAC_CONFIG");
    enum status rc;

    memset(cfg, 0, sizeof(*cfg));
    for (int i = 0; i < CFG__COUNT; i++)
        if (options[i].def)
            set(cfg, i, options[i].def);
    /* The config file is named by a flag or the environment; find it first. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
    }
    if (file && *file && (rc = load_file(cfg, file, err)))
        return rc;
    for (int i = 0; i < CFG__COUNT; i++) {
        const char *v = getenv(options[i].env);
        if (v)
            set(cfg, i, v);
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value, *eq;
        int k;

        if (strncmp(arg, "--", 2) != 0)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "unexpected argument '%s'", arg);
        arg += 2;
        eq = strchr(arg, '=');
        if (strncmp(arg, "config", 6) == 0 && (arg[6] == '\0' || arg[6] == '=')) {
            if (!eq)
                i++;
            continue;
        }
        k = find(arg, eq ? (size_t)(eq - arg) : strlen(arg));
        if (k < 0)
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "unknown flag '--%s'", arg);
        if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return error_set(err, ST_INVALID, ET_BAD_REQUEST, "flag '--%s' needs a value", arg);
            value = argv[++i];
        }
        set(cfg, k, value);
    }
    return ST_OK;
}

void config_free(struct config *cfg)
{
    for (int i = 0; i < CFG__COUNT; i++) {
        free(cfg->values[i]);
        cfg->values[i] = NULL;
    }
}

const char *config_get(const struct config *cfg, enum config_key key)
{
    return cfg->values[key];
}

enum status config_get_uint(const struct config *cfg, enum config_key key, unsigned long long min,
                            unsigned long long max, unsigned long long *out, struct error *err)
{
    const char *s = cfg->values[key];
    char *end = NULL;
    unsigned long long v;

    errno = 0;
    v = s ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < min || v > max || s[0] == '-')
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "invalid %s '%s': expected an integer from %llu to %llu",
                         options[key].name, s ? s : "", min, max);
    *out = v;
    return ST_OK;
}

void config_usage(FILE *f)
{
    fprintf(f, "Settings (flag / environment variable / default):\n");
    for (int i = 0; i < CFG__COUNT; i++)
        fprintf(f, "  --%-20s %-26s %s\n      %s\n", options[i].name, options[i].env,
                options[i].def ? (options[i].def[0] ? options[i].def : "\"\"") : "(derived)",
                options[i].help);
    fprintf(f, "  --config FILE              SERAC_CONFIG               (none)\n"
               "      a file of 'key = value' lines using the flag names as keys\n");
}
