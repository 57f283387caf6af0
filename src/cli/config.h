/*
 * config.h - serac's settings: command-line flags, SERAC_* environment
 * variables and an optional config file, in that order of precedence.
 */
#ifndef SERAC_CLI_CONFIG_H
#define SERAC_CLI_CONFIG_H

#include <stdio.h>

#include "core/status.h"

/* The known settings; config_get indexes by these. */
enum config_key {
    CFG_HOST,
    CFG_PORT,
    CFG_DATA_DIR,
    CFG_STORE,
    CFG_WAREHOUSE,
    CFG_WAREHOUSE_LOCATION,
    CFG_WAREHOUSE_STORAGE,
    CFG_LOG_LEVEL,
    CFG_MAX_BODY_BYTES,
    CFG_CORS_ORIGINS,
    CFG_WORKERS,
    CFG_IO_THREADS,
    CFG_MAX_CONNECTIONS,
    CFG_CONNECTION_MEMORY,
    CFG_SHUTDOWN_GRACE_MS,
    CFG_COMMIT_ATTEMPTS,
    CFG_PAGE_SIZE,
    CFG_MAX_PAGE_SIZE,
    CFG_IDEMPOTENCY_LIFETIME,
    CFG_JOB_INTERVAL_MS,
    CFG_NAMESPACE_SEPARATOR,
    CFG_REQUEST_TIMEOUT_MS,
    CFG__COUNT
};

struct config {
    char *values[CFG__COUNT]; /* owned; NULL when unset and without a default */
};

/*
 * config_load fills cfg from defaults, then the config file (--config or
 * SERAC_CONFIG), then SERAC_* variables, then the flags in argv (argv[0] is
 * the subcommand). Derived defaults (store, warehouse-location) follow
 * data-dir. ST_INVALID with a message for an unknown flag, a missing value
 * or an unreadable or malformed config file.
 */
enum status config_load(struct config *cfg, int argc, char **argv, struct error *err);
/* config_free frees the values. */
void config_free(struct config *cfg);
/* config_get returns the value of key, or NULL. */
const char *config_get(const struct config *cfg, enum config_key key);
/*
 * config_get_uint parses key as an unsigned integer in [min, max];
 * ST_INVALID naming the setting otherwise.
 */
enum status config_get_uint(const struct config *cfg, enum config_key key, unsigned long long min,
                            unsigned long long max, unsigned long long *out, struct error *err);
/* config_usage prints the settings reference (flags, variables, defaults) to f. */
void config_usage(FILE *f);

#endif
