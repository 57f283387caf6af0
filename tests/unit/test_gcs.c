/*
 * test_gcs.c - the GCS fileio against a GCS emulator (fsouza/fake-gcs-server)
 * named by SERAC_TEST_GCS_ENDPOINT, e.g. after
 *     eval "$(scripts/fake-gcs-server.sh start)"
 * Without it the binary exits 77, which ctest reports as skipped. Each test
 * works in a fresh bucket of its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "io/fileio.h"
#include "io/gcs.h"
#include "io/httpc.h"

#define LABEL "wh-gcs-test"

static const char *endpoint;

struct fx {
    char bucket[64];
    char base[96]; /* "gs://<bucket>" */
    struct fileio *io;
};

/* emulator_call sends one JSON API request straight to the emulator and returns its status. */
static long emulator_call(const char *method, const char *path, const char *body)
{
    struct httpc_header h[] = {{"Content-Type", "application/json"}};
    char *url = xasprintf("%s%s", endpoint, path);
    struct httpc_request req = {.method = method,
                                .url = url,
                                .headers = h,
                                .n_headers = 1,
                                .body = body,
                                .body_len = body ? strlen(body) : 0};
    struct httpc_response resp;
    struct error err;
    long status;

    assert_int_equal(httpc_do(&req, &resp, &err), ST_OK);
    status = resp.status;
    httpc_response_cleanup(&resp);
    free(url);
    return status;
}

static struct fileio *new_io(const char *ep, unsigned page_size, unsigned attempts)
{
    struct gcs_config cfg = {.endpoint = ep,
                             .label = LABEL,
                             .list_page_size = page_size,
                             .max_attempts = attempts,
                             .connect_timeout_ms = 2000,
                             .timeout_ms = 30000};
    struct fileio *io = NULL;
    struct error err;

    assert_int_equal(fileio_gcs_new(&cfg, &io, &err), ST_OK);
    assert_non_null(io);
    return io;
}

static int setup(void **state)
{
    static unsigned seq;
    struct fx *f = xcalloc(1, sizeof(*f));
    char body[128];

    snprintf(f->bucket, sizeof(f->bucket), "serac-test-%d-%u-%lld", (int)getpid(), seq++,
             (long long)(clock_now_ms() % 100000000));
    snprintf(f->base, sizeof(f->base), "gs://%s", f->bucket);
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", f->bucket);
    assert_int_equal(emulator_call("POST", "/storage/v1/b", body), 200);
    f->io = new_io(endpoint, 0, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    struct error err;
    char *path = xasprintf("/storage/v1/b/%s", f->bucket);

    assert_int_equal(fileio_remove_prefix(f->io, f->base, &err), ST_OK);
    emulator_call("DELETE", path, NULL);
    free(path);
    fileio_free(f->io);
    free(f);
    return 0;
}

/* --- helpers --- */

static char *loc(const struct fx *f, const char *name)
{
    return xasprintf("%s/%s", f->base, name);
}

static void put(const struct fx *f, const char *name, const char *text)
{
    char *l = loc(f, name);
    struct error err;
    enum status rc = fileio_write(f->io, l, text, strlen(text), false, &err);

    if (rc)
        fail_msg("write %s: %s", l, err.msg);
    free(l);
}

/* get returns the object's text (owned), or NULL with *rc set. */
static char *get(const struct fx *f, const char *name, enum status *rc, struct error *err)
{
    char *l = loc(f, name), *data = NULL;
    size_t len;

    *rc = fileio_read(f->io, l, 1 << 20, &data, &len, err);
    free(l);
    return data;
}

/* A listing collected into one string: "location size\n" per object, in order. */
struct listing {
    char text[65536];
    size_t n;
    size_t stop_after; /* 0 = never stop */
};

static int collect(const char *location, int64_t size, void *ud)
{
    struct listing *l = ud;
    size_t used = strlen(l->text);

    snprintf(l->text + used, sizeof(l->text) - used, "%s %lld\n", location, (long long)size);
    l->n++;
    return l->stop_after && l->n >= l->stop_after;
}

static int count_only(const char *location, int64_t size, void *ud)
{
    (void)location;
    (void)size;
    ++*(size_t *)ud;
    return 0;
}

static size_t count(struct fileio *io, const char *prefix)
{
    size_t n = 0;
    struct error err;

    if (fileio_list(io, prefix, count_only, &n, &err))
        fail_msg("list %s: %s", prefix, err.msg);
    return n;
}

/* --- tests --- */

static void test_binary_round_trip(void **state)
{
    struct fx *f = *state;
    unsigned char bytes[1000];
    char *l = loc(f, "bin/all-bytes"), *data = NULL;
    size_t len = 0;
    struct error err;

    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)(i * 7 + 3);
    bytes[10] = 0;
    assert_int_equal(fileio_write(f->io, l, bytes, sizeof(bytes), false, &err), ST_OK);
    assert_int_equal(fileio_read(f->io, l, sizeof(bytes), &data, &len, &err), ST_OK);
    assert_int_equal(len, sizeof(bytes));
    assert_memory_equal(data, bytes, sizeof(bytes));
    assert_int_equal(data[len], '\0');
    free(data);

    /* One byte under the size is refused. */
    assert_int_equal(fileio_read(f->io, l, sizeof(bytes) - 1, &data, &len, &err), ST_INVALID);
    assert_null(data);

    /* A plain write replaces the object; an empty one is allowed. */
    assert_int_equal(fileio_write(f->io, l, "", 0, false, &err), ST_OK);
    assert_int_equal(fileio_read(f->io, l, 10, &data, &len, &err), ST_OK);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
    free(l);
}

static void test_awkward_names(void **state)
{
    static const char *names[] = {
        "n/with space.txt",   "n/plus+and=eq&amp?.bin", "n/ünïcödé/日本.json", "n/50%/x%2Fy%zz",
        "n/#hash;semi,comma", "n/tilde~star*quote'\"",  "n/double//slash/./x",
    };
    struct fx *f = *state;
    size_t n = sizeof(names) / sizeof(*names);
    struct listing lst = {0};
    struct error err;
    enum status rc;
    char *prefix = loc(f, "n");

    for (size_t i = 0; i < n; i++) {
        char *text = xasprintf("content of %s", names[i]);

        put(f, names[i], text);
        free(text);
    }
    for (size_t i = 0; i < n; i++) {
        char *text = xasprintf("content of %s", names[i]);
        char *got = get(f, names[i], &rc, &err);

        assert_int_equal(rc, ST_OK);
        assert_string_equal(got, text);
        free(got);
        free(text);
    }
    /* The listing names each object exactly as it was written, with its size. */
    assert_int_equal(fileio_list(f->io, prefix, collect, &lst, &err), ST_OK);
    assert_int_equal(lst.n, n);
    for (size_t i = 0; i < n; i++) {
        char *line =
            xasprintf("%s/%s %zu\n", f->base, names[i], strlen("content of ") + strlen(names[i]));

        if (!strstr(lst.text, line))
            fail_msg("the listing lacks %s in:\n%s", line, lst.text);
        free(line);
    }
    free(prefix);
}

static void test_create_only(void **state)
{
    struct fx *f = *state;
    char *l = loc(f, "metadata/00001-x.metadata.json");
    struct error err;
    enum status rc;
    char *got;

    assert_int_equal(fileio_write(f->io, l, "first", 5, true, &err), ST_OK);
    assert_int_equal(fileio_write(f->io, l, "second", 6, true, &err), ST_EXISTS);
    assert_int_equal(err.type, ET_ALREADY_EXISTS);
    assert_non_null(strstr(err.msg, l));
    got = get(f, "metadata/00001-x.metadata.json", &rc, &err);
    assert_int_equal(rc, ST_OK);
    assert_string_equal(got, "first");
    free(got);
    free(l);
}

static void test_exists_remove(void **state)
{
    struct fx *f = *state;
    char *l = loc(f, "d/obj");
    struct error err;

    put(f, "d/obj", "x");
    assert_int_equal(fileio_exists(f->io, l, &err), ST_OK);
    assert_int_equal(fileio_remove(f->io, l, &err), ST_OK);
    assert_int_equal(fileio_exists(f->io, l, &err), ST_NOT_FOUND);
    /* Removing what is gone is fine. */
    assert_int_equal(fileio_remove(f->io, l, &err), ST_OK);
    free(l);
}

static void test_missing_object(void **state)
{
    struct fx *f = *state;
    char *l = loc(f, "no/such object"), *data = NULL, *want;
    size_t len;
    struct error err;

    want = xasprintf("File does not exist: %s", l);
    assert_int_equal(fileio_read(f->io, l, 100, &data, &len, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NOT_FOUND);
    assert_string_equal(err.msg, want);
    assert_null(data);
    assert_int_equal(fileio_exists(f->io, l, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NOT_FOUND);
    assert_string_equal(err.msg, want);
    free(want);
    free(l);
}

static void test_list_pages_and_prefix_as_directory(void **state)
{
    struct fx *f = *state;
    struct fileio *small = new_io(endpoint, 3, 0);
    struct listing lst = {0}, part = {.stop_after = 4};
    struct error err;
    char want[4096] = "", *p, *p_slash, *empty;

    for (int i = 0; i < 10; i++) {
        char name[32], text[32];

        snprintf(name, sizeof(name), "t/f%02d", i);
        snprintf(text, sizeof(text), "%.*s", i + 1, "abcdefghijk");
        put(f, name, text);
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s/%s %d\n", f->base, name,
                 i + 1);
    }
    /* Neighbours that share the prefix's text but are not under the directory. */
    put(f, "t2/x", "no");
    put(f, "t", "no");
    put(f, "tx", "no");

    /* Ten objects in pages of three: four pages, every object once, in order. */
    p = loc(f, "t");
    p_slash = loc(f, "t/");
    assert_int_equal(fileio_list(small, p, collect, &lst, &err), ST_OK);
    assert_string_equal(lst.text, want);
    memset(&lst, 0, sizeof(lst));
    assert_int_equal(fileio_list(small, p_slash, collect, &lst, &err), ST_OK);
    assert_string_equal(lst.text, want);

    /* The callback stops the listing across a page boundary. */
    assert_int_equal(fileio_list(small, p, collect, &part, &err), ST_OK);
    assert_int_equal(part.n, 4);

    /* The whole bucket, and a prefix with nothing under it. */
    assert_int_equal(count(small, f->base), 13);
    empty = loc(f, "nothing-here");
    assert_int_equal(count(small, empty), 0);
    free(empty);
    free(p);
    free(p_slash);
    fileio_free(small);
}

static void test_many_objects_and_remove_prefix(void **state)
{
    struct fx *f = *state;
    struct error err;
    char *p = loc(f, "big"), *other;
    size_t n = 1005;

    /* More than one default page (1,000) and more than ten batches of 100. */
    for (size_t i = 0; i < n; i++) {
        char name[32];

        snprintf(name, sizeof(name), "big/%05zu", i);
        put(f, name, "z");
    }
    put(f, "bigger/keep", "k");
    assert_int_equal(count(f->io, p), n);
    assert_int_equal(fileio_remove_prefix(f->io, p, &err), ST_OK);
    assert_int_equal(count(f->io, p), 0);
    /* The neighbour whose name starts with the prefix's text is untouched. */
    other = loc(f, "bigger/keep");
    assert_int_equal(fileio_exists(f->io, other, &err), ST_OK);
    free(other);
    free(p);
}

static void test_remove_many(void **state)
{
    struct fx *f = *state;
    const char *names[] = {"r/a", "r/b c", "r/ü+%", "r/d/e", "r/missing-1", "r/missing-2"};
    const char *locs[6];
    struct error err;

    for (size_t i = 0; i < 4; i++)
        put(f, names[i], names[i]);
    put(f, "r/keep", "k");
    for (size_t i = 0; i < 6; i++)
        locs[i] = loc(f, names[i]);
    assert_int_equal(fileio_remove_many(f->io, locs, 6, &err), ST_OK);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(fileio_exists(f->io, locs[i], &err), ST_NOT_FOUND);
        free((char *)locs[i]);
    }
    char *keep = loc(f, "r/keep");
    assert_int_equal(fileio_exists(f->io, keep, &err), ST_OK);
    free(keep);

    /* A bad location is refused before anything is deleted. */
    const char *bad[] = {"gs://"
                         "x/ok",
                         "s3://b/k"};
    assert_int_equal(fileio_remove_many(f->io, bad, 2, &err), ST_INVALID);
}

static void test_copy(void **state)
{
    struct fx *f = *state;
    char *src = loc(f, "c/src file"), *dst = loc(f, "c/dst/ü+%.json"), *missing, *got;
    char *nb = xasprintf("gs://%s-absent/x", f->bucket);
    enum status rc;
    struct error err;

    put(f, "c/src file", "copy me");
    put(f, "c/dst/ü+%.json", "old");
    assert_int_equal(fileio_copy(f->io, src, dst, &err), ST_OK);
    got = get(f, "c/dst/ü+%.json", &rc, &err);
    assert_int_equal(rc, ST_OK);
    assert_string_equal(got, "copy me");
    free(got);
    /* The source stays. */
    assert_int_equal(fileio_exists(f->io, src, &err), ST_OK);

    missing = loc(f, "c/absent");
    assert_int_equal(fileio_copy(f->io, missing, dst, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NOT_FOUND);
    assert_non_null(strstr(err.msg, missing));

    /* A target in a bucket that does not exist is named as such. */
    assert_int_equal(fileio_copy(f->io, src, nb, &err), ST_IO);
    assert_non_null(strstr(err.msg, f->bucket));
    assert_non_null(strstr(err.msg, "-absent"));
    assert_non_null(strstr(err.msg, LABEL));
    free(nb);
    free(missing);
    free(src);
    free(dst);
}

static void test_missing_bucket(void **state)
{
    struct fx *f = *state;
    char *bucket = xasprintf("%s-nope", f->bucket);
    char *obj = xasprintf("gs://%s/a/b", bucket), *pre = xasprintf("gs://%s/a", bucket);
    char *data = NULL;
    size_t len, n = 0;
    struct error err;

    assert_int_equal(fileio_write(f->io, obj, "x", 1, false, &err), ST_IO);
    assert_non_null(strstr(err.msg, bucket));
    assert_non_null(strstr(err.msg, LABEL));
    assert_non_null(strstr(err.msg, "does not exist"));

    assert_int_equal(fileio_read(f->io, obj, 10, &data, &len, &err), ST_IO);
    assert_non_null(strstr(err.msg, bucket));
    assert_non_null(strstr(err.msg, LABEL));

    assert_int_equal(fileio_exists(f->io, obj, &err), ST_IO);
    assert_non_null(strstr(err.msg, bucket));

    assert_int_equal(fileio_list(f->io, pre, count_only, &n, &err), ST_IO);
    assert_non_null(strstr(err.msg, bucket));
    assert_non_null(strstr(err.msg, LABEL));
    assert_int_equal(n, 0);
    free(bucket);
    free(obj);
    free(pre);
}

static void test_bad_locations(void **state)
{
    struct fx *f = *state;
    const char *bad[] = {"s3://b/k",           "gs:///k", "gs://b", "gs://b/", "gs://Bad Bucket/k",
                         "gs://b/line\nbreak", "/tmp/x"};
    char *data = NULL;
    size_t len;
    struct error err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        assert_int_equal(fileio_read(f->io, bad[i], 10, &data, &len, &err), ST_INVALID);
        assert_int_equal(fileio_write(f->io, bad[i], "x", 1, false, &err), ST_INVALID);
    }
    assert_null(data);
}

/* free_port returns a loopback port nothing listens on (bound, then closed). */
static unsigned short free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void test_unreachable(void **state)
{
    char *ep = xasprintf("http://127.0.0.1:%u", free_port());
    struct fileio *io = new_io(ep, 0, 3);
    char *data = NULL;
    size_t len;
    struct error err;
    int64_t t0 = clock_mono_ns(), ms;

    (void)state;
    assert_int_equal(fileio_read(io, "gs://b/k", 10, &data, &len, &err), ST_UNAVAILABLE);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(err.msg, LABEL));
    assert_int_equal(fileio_write(io, "gs://b/k", "x", 1, true, &err), ST_UNAVAILABLE);
    const char *locs[] = {"gs://b/k1", "gs://b/k2"};
    assert_int_equal(fileio_remove_many(io, locs, 2, &err), ST_UNAVAILABLE);
    ms = (clock_mono_ns() - t0) / 1000000;
    /* Three calls of three tries each, with backoff of at most 100 + 200 ms per call. */
    assert_true(ms < 3000);
    fileio_free(io);
    free(ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_binary_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_awkward_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exists_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pages_and_prefix_as_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_objects_and_remove_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_locations, setup, teardown),
        cmocka_unit_test(test_unreachable),
    };

    endpoint = getenv("SERAC_TEST_GCS_ENDPOINT");
    if (!endpoint || !*endpoint) {
        fprintf(stderr, "test_gcs: SERAC_TEST_GCS_ENDPOINT is not set "
                        "(eval \"$(scripts/fake-gcs-server.sh start)\"): skipped\n");
        return 77;
    }
    httpc_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
