/*
 * imm_cache.h - a bounded, thread-safe cache of values derived from an
 * immutable key: the snapshots=refs text of a metadata file (a JSON string),
 * or its parsed tree, keyed by the file's location. Safe on every node of a cluster: a
 * metadata file never changes once written, so an entry can only be
 * missing, never wrong. Entries age out oldest-inserted first.
 */
#ifndef SERAC_CATALOG_IMM_CACHE_H
#define SERAC_CATALOG_IMM_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct imm_cache;

/*
 * imm_cache_new makes a cache charging at most max_bytes (each entry its key
 * plus the size given to put). take returns a reference for a caller (a copy,
 * or the value with its count raised); drop releases the cache's own one.
 */
struct imm_cache *imm_cache_new(size_t max_bytes, void *(*take)(void *value),
                                void (*drop)(void *value));
void imm_cache_free(struct imm_cache *c);
/* imm_cache_get returns take(value) for key, or NULL. */
void *imm_cache_get(struct imm_cache *c, const char *key);
/*
 * imm_cache_put hands value (with size bytes charged) to the cache under key;
 * the cache drops it at once if the key is there already or it is larger
 * than a quarter of the cache.
 */
void imm_cache_put(struct imm_cache *c, const char *key, void *value, size_t size);
/*
 * imm_cache_set is imm_cache_put that replaces the value of a key already
 * there (for keys naming something whose newest version is what is kept).
 */
void imm_cache_set(struct imm_cache *c, const char *key, void *value, size_t size);
/* imm_cache_stats reports the bytes held and the hit and miss counts. */
void imm_cache_stats(struct imm_cache *c, size_t *bytes, uint64_t *hits, uint64_t *misses);

/*
 * jansson values (json_t *): take adds a reference, drop releases one. A
 * get costs no copy, whatever the value's size, and none under the lock.
 */
void *imm_json_take(void *value);
void imm_json_drop(void *value);

#endif
