/* test_imm_cache.c - the bounded cache of values by immutable key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/imm_cache.h"

/* get returns a copy of the string cached under key (free()), or NULL. */
static char *get(struct imm_cache *c, const char *key)
{
    json_t *v = imm_cache_get(c, key);
    char *t = v ? strdup(json_string_value(v)) : NULL;

    json_decref(v);
    return t;
}

/* str makes the JSON string a test caches. */
static json_t *str(const char *s)
{
    return json_string(s);
}

static void test_get_put(void **state)
{
    struct imm_cache *c = imm_cache_new(1 << 20, imm_json_take, imm_json_drop);
    char *t;
    size_t bytes;
    uint64_t hits, misses;

    (void)state;
    assert_null(get(c, "file:/a"));
    imm_cache_put(c, "file:/a", str("{\"a\":1}"), strlen("{\"a\":1}") + 1);
    imm_cache_put(c, "file:/b", str("{\"b\":2}"), strlen("{\"b\":2}") + 1);
    t = get(c, "file:/a");
    assert_string_equal(t, "{\"a\":1}");
    free(t);
    /* A second put of a key keeps the first text (keys name immutable content). */
    imm_cache_put(c, "file:/a", str("other"), strlen("other") + 1);
    t = get(c, "file:/a");
    assert_string_equal(t, "{\"a\":1}");
    free(t);
    imm_cache_stats(c, &bytes, &hits, &misses);
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 1);
    assert_int_equal(bytes, (strlen("file:/a") + 7 + 2) + (strlen("file:/b") + 7 + 2));
    imm_cache_free(c);
}

static void test_set_replaces(void **state)
{
    struct imm_cache *c = imm_cache_new(1 << 20, imm_json_take, imm_json_drop);
    size_t bytes;
    uint64_t hits, misses;
    char *t;

    (void)state;
    imm_cache_set(c, "table", str("v1"), 3);
    imm_cache_set(c, "table", str("version 2"), 10);
    t = get(c, "table");
    assert_string_equal(t, "version 2");
    free(t);
    /* One entry: the replaced value no longer counts. */
    imm_cache_stats(c, &bytes, &hits, &misses);
    assert_int_equal(bytes, strlen("table") + 1 + 10);
    imm_cache_free(c);
}

static void test_eviction_oldest_first(void **state)
{
    struct imm_cache *c = imm_cache_new(1000, imm_json_take, imm_json_drop);
    char key[32], text[200];
    size_t bytes;
    uint64_t hits, misses;

    (void)state;
    memset(text, 'x', 199);
    text[199] = '\0';
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "k%02d", i);
        imm_cache_put(c, key, str(text), strlen(text) + 1);
    }
    imm_cache_stats(c, &bytes, &hits, &misses);
    assert_true(bytes <= 1000);
    /* The newest survive, the oldest went first. */
    char *t = get(c, "k19");
    assert_non_null(t);
    free(t);
    assert_null(get(c, "k00"));
    /* Texts over a quarter of the cache are never kept. */
    char big[400];
    memset(big, 'y', 399);
    big[399] = '\0';
    imm_cache_put(c, "big", str(big), strlen(big) + 1);
    assert_null(get(c, "big"));
    imm_cache_free(c);
}

struct worker {
    struct imm_cache *c;
    int id, bad;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    char key[32], text[32];

    for (int i = 0; i < 20000; i++) {
        int k = (i * 7 + w->id) % 500;
        snprintf(key, sizeof(key), "loc-%d", k);
        snprintf(text, sizeof(text), "text-%d", k);
        char *t = get(w->c, key);
        if (t && strcmp(t, text) != 0)
            w->bad++;
        free(t);
        if (!t)
            imm_cache_put(w->c, key, str(text), strlen(text) + 1);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct imm_cache *c =
        imm_cache_new(8000, imm_json_take, imm_json_drop); /* small: constant eviction */
    struct worker w[4];
    pthread_t t[4];

    (void)state;
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){c, i, 0};
        pthread_create(&t[i], NULL, hammer, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
    imm_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_put),
        cmocka_unit_test(test_set_replaces),
        cmocka_unit_test(test_eviction_oldest_first),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
