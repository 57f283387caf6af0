/*
 * text_cache.c - a bounded, thread-safe map from an immutable key (a
 * metadata file's location) to text derived from it. Entries never go
 * stale, because what a location names never changes; they only age out
 * when the cache is full (least recently inserted first).
 */
#include "catalog/text_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define BUCKETS 1024

struct entry {
    char *key;
    char *text;
    size_t size;         /* bytes charged: key + text */
    struct entry *next;  /* bucket chain */
    struct entry *older; /* insertion order: towards the oldest */
    struct entry *newer;
};

struct text_cache {
    pthread_mutex_t lock;
    size_t max_bytes, bytes;
    struct entry *buckets[BUCKETS];
    struct entry *oldest, *newest;
    uint64_t hits, misses;
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

struct text_cache *text_cache_new(size_t max_bytes)
{
    struct text_cache *c = xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->lock, NULL);
    c->max_bytes = max_bytes;
    return c;
}

static void unlink_entry(struct text_cache *c, struct entry *e)
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
    free(e->text);
    free(e);
}

void text_cache_free(struct text_cache *c)
{
    if (!c)
        return;
    while (c->oldest)
        unlink_entry(c, c->oldest);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

char *text_cache_get(struct text_cache *c, const char *key)
{
    char *out = NULL;

    pthread_mutex_lock(&c->lock);
    for (struct entry *e = c->buckets[hash(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            out = xstrdup(e->text);
            break;
        }
    if (out)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->lock);
    return out;
}

void text_cache_put(struct text_cache *c, const char *key, const char *text)
{
    size_t size = strlen(key) + strlen(text) + 2;
    struct entry *e;

    if (size > c->max_bytes / 4)
        return; /* one entry never takes more than a quarter of the cache */
    pthread_mutex_lock(&c->lock);
    for (e = c->buckets[hash(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            break;
    if (!e) {
        while (c->oldest && c->bytes + size > c->max_bytes)
            unlink_entry(c, c->oldest);
        e = xcalloc(1, sizeof(*e));
        e->key = xstrdup(key);
        e->text = xstrdup(text);
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
    }
    pthread_mutex_unlock(&c->lock);
}

void text_cache_stats(struct text_cache *c, size_t *bytes, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->lock);
    *bytes = c->bytes;
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}
