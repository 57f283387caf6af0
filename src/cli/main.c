/* main.c - the serac command: serve, migrate, version, help. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "api/api.h"
#include "catalog/catalog.h"
#include "store/store.h"
#include "cli/config.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "http/http.h"
#include "io/httpc.h"

#define SERAC_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f,
            "serac %s - an Apache Iceberg REST catalog\n\n"
            "Usage:\n"
            "  serac serve [settings]     run the catalog server\n"
            "  serac migrate [settings]   apply store migrations and exit\n"
            "  serac admin warehouse [--no-probe] list | show NAME | create JSON |\n"
            "              set-storage NAME JSON | delete NAME [settings]\n"
            "                             manage warehouses directly in the store\n"
            "  serac version              print the version\n"
            "  serac help                 this text\n\n",
            SERAC_VERSION);
    config_usage(f);
}

/*
 * redact returns url with any password replaced by "***" (owned): the
 * "user:password@" part of a URL and a "password=" parameter. Secrets are
 * never printed or logged (DESIGN.md invariant 7).
 */
static char *redact(const char *url)
{
    char *out = xstrdup(url), *scheme = strstr(out, "://"), *at, *colon, *pw;

    if (scheme) {
        char *auth = scheme + 3;
        at = strchr(auth, '@');
        colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            char *rest = xstrdup(at);
            *colon = '\0';
            char *joined = xasprintf("%s:***%s", out, rest);
            free(rest);
            free(out);
            out = joined;
        }
    }
    if ((pw = strstr(out, "password=")) != NULL) {
        char *end = pw + 9 + strcspn(pw + 9, "& ");
        char *joined = xasprintf("%.*s***%s", (int)(pw + 9 - out), out, end);
        free(out);
        out = joined;
    }
    return out;
}

static int mkdirs(const char *path)
{
    char *p = xstrdup(path);
    int rc = 0;

    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            rc = -1;
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        rc = -1;
    free(p);
    return rc;
}

/* Fills in the settings that follow data-dir, creating it. */
static enum status derive(struct config *cfg, char **store, char **wh_loc, struct error *err)
{
    const char *dir = config_get(cfg, CFG_DATA_DIR);
    char abs[PATH_MAX];

    *store = *wh_loc = NULL;
    if (!config_get(cfg, CFG_STORE) || !config_get(cfg, CFG_WAREHOUSE_LOCATION)) {
        if (mkdirs(dir) != 0 || !realpath(dir, abs))
            return error_set(err, ST_INVALID, ET_BAD_REQUEST, "cannot create data-dir %s: %s", dir,
                             strerror(errno));
    }
    *store = config_get(cfg, CFG_STORE) ? xstrdup(config_get(cfg, CFG_STORE))
                                        : xasprintf("sqlite:%s/catalog.db", abs);
    *wh_loc = config_get(cfg, CFG_WAREHOUSE_LOCATION)
                  ? xstrdup(config_get(cfg, CFG_WAREHOUSE_LOCATION))
                  : xasprintf("file://%s/warehouse", abs);
    return ST_OK;
}

/* read_storage returns the warehouse-storage setting's JSON text (owned; "@path" reads a file). */
static enum status read_storage(struct config *cfg, char **out, struct error *err)
{
    const char *v = config_get(cfg, CFG_WAREHOUSE_STORAGE);
    FILE *f;
    struct buf b;
    char chunk[4096];
    size_t n;

    *out = NULL;
    if (!v || !*v)
        return ST_OK;
    if (v[0] != '@') {
        *out = xstrdup(v);
        return ST_OK;
    }
    if (!(f = fopen(v + 1, "rb")))
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "cannot read warehouse-storage file %s: %s", v + 1, strerror(errno));
    buf_init(&b, 1 << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    *out = buf_take(&b);
    return ST_OK;
}

static enum status open_catalog(struct config *cfg, struct catalog **cat, char **store,
                                char **wh_loc, struct error *err)
{
    struct catalog_options o = {0};
    static char *storage; /* lives as long as the process: the catalog keeps a pointer */
    unsigned long long attempts, page, max_page, idem, jobs, deadline;
    enum status rc;
    int level = log_parse_level(config_get(cfg, CFG_LOG_LEVEL));

    if (level < 0)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST, "invalid log-level '%s'",
                         config_get(cfg, CFG_LOG_LEVEL));
    log_set_level((enum log_level)level);
    if ((rc = config_get_uint(cfg, CFG_COMMIT_ATTEMPTS, 1, 100, &attempts, err)) ||
        (rc = config_get_uint(cfg, CFG_PAGE_SIZE, 1, 100000, &page, err)) ||
        (rc = config_get_uint(cfg, CFG_MAX_PAGE_SIZE, 1, 100000, &max_page, err)) ||
        (rc = config_get_uint(cfg, CFG_IDEMPOTENCY_LIFETIME, 0, 30 * 86400, &idem, err)) ||
        (rc = config_get_uint(cfg, CFG_JOB_INTERVAL_MS, 100, 86400000, &jobs, err)) ||
        (rc = config_get_uint(cfg, CFG_REQUEST_TIMEOUT_MS, 0, 3600000, &deadline, err)) ||
        (rc = derive(cfg, store, wh_loc, err)) || (rc = read_storage(cfg, &storage, err)))
        return rc;
    o.warehouse_storage = storage;
    o.store_url = *store;
    o.warehouse_name = config_get(cfg, CFG_WAREHOUSE);
    o.warehouse_location = *wh_loc;
    o.commit_attempts = (unsigned)attempts;
    o.default_page_size = (unsigned)page;
    o.max_page_size = (unsigned)max_page;
    o.idempotency_lifetime_ms = (int64_t)idem * 1000;
    o.job_interval_ms = (int64_t)jobs;
    o.request_timeout_ms = (int64_t)deadline;
    o.namespace_separator = config_get(cfg, CFG_NAMESPACE_SEPARATOR);
    if (o.namespace_separator && strlen(o.namespace_separator) > 1)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "invalid namespace-separator '%s': expected one character",
                         o.namespace_separator);
    if (o.namespace_separator && ((unsigned char)o.namespace_separator[0] < 0x20 ||
                                  (unsigned char)o.namespace_separator[0] >= 0x7F))
        o.namespace_separator = NULL;
    return catalog_open(&o, cat, err);
}

/*
 * raise_fd_limit lifts the soft open-file limit to the hard one: every
 * connection is a descriptor, and the default soft limit (often 1024) is far
 * below --max-connections. Says so when even the hard limit is too low.
 */
static void raise_fd_limit(unsigned long long conns)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < conns + 64)
        log_warn("open-file limit %llu is below max-connections %llu (+64): raise it "
                 "(ulimit -n, LimitNOFILE) or connections past it are refused",
                 (unsigned long long)rl.rlim_cur, conns);
}

static int cmd_serve(struct config *cfg)
{
    struct error err;
    struct catalog *cat = NULL;
    struct http_server *srv = NULL;
    struct http_options ho = {0};
    char *store = NULL, *wh_loc = NULL, *shown;
    unsigned long long port, body, workers, io, conns, grace, connmem;
    sigset_t sigs;
    int sig = 0, rc = 1;

    error_clear(&err);
    if (config_get_uint(cfg, CFG_PORT, 0, 65535, &port, &err) ||
        config_get_uint(cfg, CFG_MAX_BODY_BYTES, 1024, 1ULL << 32, &body, &err) ||
        config_get_uint(cfg, CFG_WORKERS, 0, 4096, &workers, &err) ||
        config_get_uint(cfg, CFG_IO_THREADS, 0, 256, &io, &err) ||
        config_get_uint(cfg, CFG_MAX_CONNECTIONS, 1, 1000000, &conns, &err) ||
        config_get_uint(cfg, CFG_CONNECTION_MEMORY, 4096, 1 << 20, &connmem, &err) ||
        config_get_uint(cfg, CFG_SHUTDOWN_GRACE_MS, 0, 3600000, &grace, &err))
        goto fail;
    /* Signals are taken by sigwait below; block them before any thread starts. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(conns);
    if (open_catalog(cfg, &cat, &store, &wh_loc, &err) || catalog_start_jobs(cat, &err))
        goto fail;
    ho.host = config_get(cfg, CFG_HOST);
    ho.port = (unsigned short)port;
    ho.io_threads = (unsigned)io;
    ho.workers = (unsigned)workers;
    ho.max_connections = (unsigned)conns;
    ho.max_body_bytes = (size_t)body;
    ho.connection_memory = (size_t)connmem;
    ho.cors_origins = config_get(cfg, CFG_CORS_ORIGINS);
    ho.shutdown_grace_ms = (unsigned)grace;
    ho.routes = api_routes();
    ho.app = cat;
    ho.worker_init = api_worker_init;
    ho.worker_fini = api_worker_fini;
    ho.inline_reads = true;
    /*
     * On every store the table reads of a loop round are answered at its end, so their
     * responses leave back to back (docs/architecture.md, "Batched reads").
     */
    ho.batch_begin = api_batch_begin;
    ho.batch_end = api_batch_end;
    if (http_server_start(&ho, &srv, &err))
        goto fail;
    shown = redact(store);
    printf("serac: listening on http://%s:%u - point an Iceberg REST client at "
           "uri=http://%s:%u (warehouse \"%s\" at %s; store %s)\n",
           ho.host, http_server_port(srv), ho.host, http_server_port(srv),
           config_get(cfg, CFG_WAREHOUSE), wh_loc, shown);
    free(shown);
    fflush(stdout);
    log_info("serac %s started on %s:%u", SERAC_VERSION, ho.host, http_server_port(srv));
    sigwait(&sigs, &sig);
    log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_server_stop(srv);
    log_info("stopped");
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "serac: %s\n", err.msg);
out:
    catalog_close(cat);
    free(store);
    free(wh_loc);
    return rc;
}

/*
 * cmd_admin runs "admin warehouse <verb> ..." directly on the store (no
 * server needed): list, show <name>, create '<json>', set-storage <name>
 * '<json>', delete <name>. create and set-storage take the bodies of the
 * management API and probe the storage unless --no-probe comes first.
 */
static char **admin_args;
static int admin_nargs;

static int cmd_admin(struct config *cfg)
{
    struct error err;
    struct catalog *cat = NULL;
    struct catalog_ctx *ctx = NULL;
    char *store = NULL, *wh_loc = NULL;
    json_t *out = NULL, *body = NULL;
    const char *verb = admin_nargs > 1 ? admin_args[1] : "";
    const char *a1 = admin_nargs > 2 ? admin_args[2] : NULL;
    const char *a2 = admin_nargs > 3 ? admin_args[3] : NULL;
    bool probe = true;
    int rc = 1;

    error_clear(&err);
    if (admin_nargs > 1 && strcmp(admin_args[1], "--no-probe") == 0) {
        probe = false;
        verb = admin_nargs > 2 ? admin_args[2] : "";
        a1 = admin_nargs > 3 ? admin_args[3] : NULL;
        a2 = admin_nargs > 4 ? admin_args[4] : NULL;
    }
    if (admin_nargs < 1 || strcmp(admin_args[0], "warehouse") != 0) {
        fprintf(stderr, "serac: usage: serac admin warehouse [--no-probe] "
                        "list|show NAME|create JSON|set-storage NAME JSON|delete NAME [flags]\n");
        return 2;
    }
    if (open_catalog(cfg, &cat, &store, &wh_loc, &err) || catalog_ctx_open(cat, &ctx, &err))
        goto fail;
    if (strcmp(verb, "list") == 0) {
        if (catalog_wh_list(ctx, &out, &err))
            goto fail;
    } else if (strcmp(verb, "show") == 0 && a1) {
        if (catalog_wh_get(ctx, a1, &out, &err))
            goto fail;
    } else if (strcmp(verb, "create") == 0 && a1) {
        if (jsonx_parse_object(a1, strlen(a1), &body, &err) ||
            catalog_wh_create(ctx, body, probe, &out, &err))
            goto fail;
    } else if (strcmp(verb, "set-storage") == 0 && a1 && a2) {
        if (jsonx_parse_object(a2, strlen(a2), &body, &err) ||
            catalog_wh_set_storage(ctx, a1, body, probe, &out, &err))
            goto fail;
    } else if (strcmp(verb, "delete") == 0 && a1) {
        if (catalog_wh_delete(ctx, a1, &err))
            goto fail;
        out = json_pack("{s:s}", "deleted", a1);
    } else {
        fprintf(stderr, "serac: unknown admin warehouse command '%s'\n", verb);
        rc = 2;
        goto out;
    }
    {
        char *text = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "serac: %s\n", err.msg);
out:
    json_decref(out);
    json_decref(body);
    catalog_ctx_close(ctx);
    catalog_close(cat);
    free(store);
    free(wh_loc);
    return rc;
}

static int cmd_migrate(struct config *cfg)
{
    struct error err;
    struct catalog *cat = NULL;
    char *store = NULL, *wh_loc = NULL;
    int rc = 0;

    error_clear(&err);
    if (open_catalog(cfg, &cat, &store, &wh_loc, &err)) {
        fprintf(stderr, "serac: %s\n", err.msg);
        rc = 1;
    } else {
        char *shown = redact(store);
        printf("serac: store %s is up to date\n", shown);
        free(shown);
    }
    catalog_close(cat);
    free(store);
    free(wh_loc);
    return rc;
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct error err;
    const char *cmd = argc > 1 ? argv[1] : "serve";
    int (*run)(struct config *) = NULL;
    int rc;

    httpc_global_init();
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("serac %s\n", SERAC_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        run = cmd_serve;
    else if (strcmp(cmd, "migrate") == 0)
        run = cmd_migrate;
    else if (strcmp(cmd, "admin") == 0)
        run = cmd_admin;
    if (!run) {
        fprintf(stderr, "serac: unknown command '%s'\n\n", cmd);
        usage(stderr);
        return 2;
    }
    error_clear(&err);
    if (run == cmd_admin) {
        /* Positional words come before the flags; config_load sees "admin" and the flags. */
        int first_flag = 2;
        while (first_flag < argc && (strncmp(argv[first_flag], "--", 2) != 0 ||
                                     strcmp(argv[first_flag], "--no-probe") == 0))
            first_flag++;
        admin_nargs = first_flag - 2;
        admin_args = xcalloc((size_t)admin_nargs + 1, sizeof(char *));
        memcpy(admin_args, argv + 2, (size_t)admin_nargs * sizeof(char *));
        argv[first_flag - 1] = argv[1];
        argc -= first_flag - 2;
        argv += first_flag - 2;
    }
    if (config_load(&cfg, argc - 1, argv + 1, &err)) {
        fprintf(stderr, "serac: %s (see 'serac help')\n", err.msg);
        config_free(&cfg);
        return 2;
    }
    rc = run(&cfg);
    config_free(&cfg);
    free(admin_args);
    return rc;
}
