/*
 * store_contract.h - the store.h contract as cmocka tests, for every backend.
 *
 * store.h promises the same behaviour whatever the backend, so its tests are
 * written once (store_contract.c) and each backend's test binary runs them
 * through its own opener, next to the tests of what only that backend does.
 * The fixture (struct sc_fx) and the setup and teardown that make it are
 * shared too, so that a backend's own tests can use them.
 */
#ifndef SERAC_TEST_STORE_CONTRACT_H
#define SERAC_TEST_STORE_CONTRACT_H

#include <stdint.h>

#include "store/store.h"

/* What a backend's test binary supplies to run the contract on it. */
struct sc_backend {
    /*
     * open opens a new, empty, migrated store that no other test sees, and
     * returns the backend's own state for it (passed back to every hook).
     * It fails the test when it cannot.
     */
    void *(*open)(struct store **st);
    /* close removes what open made; the store is closed already. */
    void (*close)(void *ctx);
    /* query_int runs sql (a query of one number) on a connection of its own; -1 for no row. */
    int64_t (*query_int)(void *ctx, const char *sql);
    /* exec runs sql (statements returning nothing) on a connection of its own. */
    void (*exec)(void *ctx, const char *sql);
};

/* Per-test state: a fresh store, two connections on it and a warehouse "wh". */
struct sc_fx {
    struct store *st;
    struct store_conn *c;  /* the "first request" */
    struct store_conn *c2; /* another worker */
    int64_t wh;
    void *ctx; /* what the backend's open returned */
};

/*
 * sc_use makes b the backend that sc_setup opens from now on (b must outlive
 * the tests).
 */
void sc_use(const struct sc_backend *b);

/* sc_setup is a cmocka setup: it makes a struct sc_fx with the backend of sc_use. */
int sc_setup(void **state);

/* sc_teardown is a cmocka teardown undoing sc_setup. */
int sc_teardown(void **state);

/* sc_query_int runs sql, a query of one number, on f's store; -1 for no row. */
int64_t sc_query_int(struct sc_fx *f, const char *sql);

/* sc_exec runs sql, statements returning nothing, on f's store. */
void sc_exec(struct sc_fx *f, const char *sql);

/* sc_ns_new creates the namespace ns with no properties in f's warehouse, or fails the test. */
void sc_ns_new(struct sc_fx *f, const char *ns);

/*
 * sc_obj_new commits a new object ns.name of kind at metadata location loc in
 * f's warehouse on f->c and returns the commit's status (*existing and err as
 * store_obj_commit sets them).
 */
enum status sc_obj_new(struct sc_fx *f, const char *ns, const char *name, enum store_kind kind,
                       const char *loc, enum store_kind *existing, struct error *err);

/* sc_assert_json_eq fails the test unless got and want are the same JSON value. */
void sc_assert_json_eq(const char *got, const char *want);

/*
 * sc_run runs every contract test on backend b (after sc_use(b)) and returns
 * the number of tests that failed, as cmocka_run_group_tests does.
 */
int sc_run(const struct sc_backend *b);

#endif
