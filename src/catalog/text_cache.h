/*
 * text_cache.h - a bounded, thread-safe cache of text derived from an
 * immutable key, such as the snapshots=refs form of a metadata file keyed by
 * the file's location. Safe on every node of a cluster: a metadata file
 * never changes once written, so an entry can only be missing, never wrong.
 */
#ifndef SERAC_CATALOG_TEXT_CACHE_H
#define SERAC_CATALOG_TEXT_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct text_cache;

/* text_cache_new makes a cache holding at most max_bytes of keys and texts. */
struct text_cache *text_cache_new(size_t max_bytes);
void text_cache_free(struct text_cache *c);
/* text_cache_get returns a copy of key's text (owned), or NULL. */
char *text_cache_get(struct text_cache *c, const char *key);
/* text_cache_put remembers text for key, evicting the oldest entries to make room. */
void text_cache_put(struct text_cache *c, const char *key, const char *text);
/* text_cache_stats reports the bytes held and the hit and miss counts. */
void text_cache_stats(struct text_cache *c, size_t *bytes, uint64_t *hits, uint64_t *misses);

#endif
