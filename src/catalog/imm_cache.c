/* imm_cache.c - the bounded cache of values by immutable key (see imm_cache.h). */
#include "catalog/imm_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define BUCKETS 1024

struct entry {
    char *key;
    void *value;
    size_t size;         /* bytes charged: key + value */
    struct entry *next;  /* bucket chain */
    struct entry *older; /* insertion order: towards the oldest */
    struct entry *newer;
};

struct imm_cache {
    pthread_mutex_t lock;
    size_t max_bytes, bytes;
    struct entry *buckets[BUCKETS];
    struct entry *oldest, *newest;
    uint64_t hits, misses;
    void *(*take)(void *value);
    void (*drop)(void *value);
};

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)(h % BUCKETS);
}

struct imm_cache *imm_cache_new(size_t max_bytes, void *(*take)(void *value),
                                void (*drop)(void *value))
{
    struct imm_cache *c = xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->lock, NULL);
    c->max_bytes = max_bytes;
    c->take = take;
    c->drop = drop;
    return c;
}

void *imm_json_take(void *value)
{
    return json_incref(value);
}

void imm_json_drop(void *value)
{
    json_decref(value);
}

static void unlink_entry(struct imm_cache *c, struct entry *e)
{
    struct entry **pp = &c->buckets[hash(e->key)];

    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    c->bytes -= e->size;
    free(e->key);
    c->drop(e->value);
    free(e);
}

void imm_cache_free(struct imm_cache *c)
{
    if (!c)
        return;
    while (c->oldest)
        unlink_entry(c, c->oldest);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void *imm_cache_get(struct imm_cache *c, const char *key)
{
    void *out = NULL;

    pthread_mutex_lock(&c->lock);
    for (struct entry *e = c->buckets[hash(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            out = c->take(e->value);
            break;
        }
    if (out)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->lock);
    return out;
}

static void insert(struct imm_cache *c, const char *key, void *value, size_t size, bool replace)
{
    struct entry *e;

    size += strlen(key) + 1;
    if (size > c->max_bytes / 4) {
        c->drop(value); /* one entry never takes more than a quarter of the cache */
        return;
    }
    pthread_mutex_lock(&c->lock);
    for (e = c->buckets[hash(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            break;
    if (e && replace) {
        unlink_entry(c, e);
    } else if (e) {
        pthread_mutex_unlock(&c->lock);
        c->drop(value); /* the key names immutable content: the first value stands */
        return;
    }
    while (c->oldest && c->bytes + size > c->max_bytes)
        unlink_entry(c, c->oldest);
    e = xcalloc(1, sizeof(*e));
    e->key = xstrdup(key);
    e->value = value;
    e->size = size;
    size_t b = hash(key);
    e->next = c->buckets[b];
    c->buckets[b] = e;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
    c->bytes += size;
    pthread_mutex_unlock(&c->lock);
}

void imm_cache_put(struct imm_cache *c, const char *key, void *value, size_t size)
{
    insert(c, key, value, size, false);
}

void imm_cache_set(struct imm_cache *c, const char *key, void *value, size_t size)
{
    insert(c, key, value, size, true);
}

void imm_cache_stats(struct imm_cache *c, size_t *bytes, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->lock);
    *bytes = c->bytes;
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}
