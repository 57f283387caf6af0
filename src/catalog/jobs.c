/*
 * jobs.c - background work (DESIGN.md invariant 5).
 *
 * The job runner wakes every job_interval_ms and, if this node holds the
 * jobs lease, runs the periodic jobs. With PostgreSQL the lease is a
 * session advisory lock on the runner's own connection: exactly one node
 * holds it, and when that node dies its session ends and another node takes
 * the lease on its next tick. With SQLite (one node) the lease is always
 * held. The change listener LISTENs for the change hints every committed
 * mutation sends with pg_notify, so a node learns of commits made on other
 * nodes; hints are counted and logged, and a "warehouse" hint clears the
 * resolved-warehouse cache (catalog_wh_invalidate). Table and namespace
 * state is never cached, so nothing else depends on them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/alloc.h"
#include "core/log.h"

/* The advisory-lock key of the jobs lease: "serac-jo" as bytes. */
#define JOBS_LEASE_KEY 0x73657261632d6a6fLL

void catalog_run_jobs(struct catalog_ctx *ctx)
{
    struct error err;
    int64_t deleted = 0;

    error_clear(&err);
    if (store_idem_purge(ctx->conn, clock_now_ms(), &deleted, &err))
        log_warn("idempotency cleanup failed: %s", err.msg);
    else if (deleted > 0)
        log_info("idempotency cleanup removed %lld expired records", (long long)deleted);
}

/* Sleeps ms or until stop is asked; returns true when the threads must stop. Lock held. */
static bool wait_or_stop(struct catalog *cat, int64_t ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    if (!cat->jobs_stop)
        pthread_cond_timedwait(&cat->jobs_wake, &cat->jobs_lock, &until);
    return cat->jobs_stop;
}

static void set_lease(struct catalog *cat, bool held)
{
    pthread_mutex_lock(&cat->jobs_lock);
    if (held != cat->lease_held)
        log_info(held ? "this node now holds the jobs lease" : "this node lost the jobs lease");
    cat->lease_held = held;
    pthread_mutex_unlock(&cat->jobs_lock);
}

static void *jobs_main(void *arg)
{
    struct catalog *cat = arg;
    struct catalog_ctx *ctx = NULL;
    struct error err;
    bool stop = false;

    error_clear(&err);
    while (!ctx && !stop) {
        if (catalog_ctx_open(cat, &ctx, &err) == ST_OK)
            break;
        log_warn("background jobs cannot open the store (retrying): %s", err.msg);
        pthread_mutex_lock(&cat->jobs_lock);
        stop = wait_or_stop(cat, cat->opts.job_interval_ms);
        pthread_mutex_unlock(&cat->jobs_lock);
    }
    while (!stop) {
        bool held = false;

        if (store_try_lease(ctx->conn, JOBS_LEASE_KEY, &held, &err)) {
            log_warn("jobs lease check failed: %s", err.msg);
            held = false;
        }
        set_lease(cat, held);
        if (held)
            catalog_run_jobs(ctx);
        /* Heap a large request freed just before the server went quiet: nothing else returns it. */
        alloc_release();
        pthread_mutex_lock(&cat->jobs_lock);
        stop = wait_or_stop(cat, cat->opts.job_interval_ms);
        pthread_mutex_unlock(&cat->jobs_lock);
    }
    catalog_ctx_close(ctx);
    return NULL;
}

static void *listener_main(void *arg)
{
    struct catalog *cat = arg;
    struct catalog_ctx *ctx = NULL;
    struct error err;
    bool listening = false, stop = false;

    error_clear(&err);
    while (!stop) {
        char **payloads = NULL;
        size_t n = 0;
        enum status rc;

        if (!ctx && catalog_ctx_open(cat, &ctx, &err))
            ctx = NULL;
        if (ctx && !listening) {
            rc = store_listen(ctx->conn, &err);
            if (rc == ST_UNSUPPORTED)
                break; /* SQLite: one node, nothing to hear */
            listening = rc == ST_OK;
        }
        if (listening) {
            rc = store_poll_changes(ctx->conn, 1000, &payloads, &n, &err);
            if (rc) {
                /* Hints sent while we were away are lost; nothing depends on them yet. */
                log_warn("change listener lost its connection: %s", err.msg);
                listening = false;
            }
        }
        pthread_mutex_lock(&cat->jobs_lock);
        cat->changes_seen += (int64_t)n;
        stop = cat->jobs_stop || (!listening && wait_or_stop(cat, 1000));
        pthread_mutex_unlock(&cat->jobs_lock);
        for (size_t i = 0; i < n; i++) {
            log_debug("change hint %s", payloads[i]);
            if (strncmp(payloads[i], "warehouse:", 10) == 0)
                catalog_wh_invalidate(cat);
            free(payloads[i]);
        }
        free(payloads);
    }
    catalog_ctx_close(ctx);
    return NULL;
}

enum status catalog_start_jobs(struct catalog *cat, struct error *err)
{
    if (cat->jobs_running)
        return ST_OK;
    if (pthread_create(&cat->jobs, NULL, jobs_main, cat) != 0)
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "cannot start the background job thread");
    cat->jobs_running = true;
    if (pthread_create(&cat->listener, NULL, listener_main, cat) == 0)
        cat->listener_running = true;
    else
        log_warn("cannot start the change listener thread");
    return ST_OK;
}

void catalog_stop_jobs(struct catalog *cat)
{
    pthread_mutex_lock(&cat->jobs_lock);
    cat->jobs_stop = true;
    pthread_cond_broadcast(&cat->jobs_wake);
    pthread_mutex_unlock(&cat->jobs_lock);
    if (cat->jobs_running)
        pthread_join(cat->jobs, NULL);
    if (cat->listener_running)
        pthread_join(cat->listener, NULL);
    cat->jobs_running = cat->listener_running = false;
}

void catalog_jobs_state(struct catalog *cat, bool *lease_held, int64_t *changes_seen)
{
    pthread_mutex_lock(&cat->jobs_lock);
    *lease_held = cat->lease_held;
    *changes_seen = cat->changes_seen;
    pthread_mutex_unlock(&cat->jobs_lock);
}
