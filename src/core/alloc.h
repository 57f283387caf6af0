/*
 * alloc.h - aborting allocators for long-lived objects.
 *
 * A server cannot usefully continue when memory runs out, so these abort
 * instead of returning NULL; call sites never test the result.
 */
#ifndef SERAC_CORE_ALLOC_H
#define SERAC_CORE_ALLOC_H

#include <stddef.h>

/* xmalloc returns n bytes of uninitialised memory the caller owns (free()). */
void *xmalloc(size_t n);
/* xcalloc returns zeroed memory for nmemb * size bytes, checking the product. */
void *xcalloc(size_t nmemb, size_t size);
/* xrealloc resizes p as realloc() does, aborting on failure. */
void *xrealloc(void *p, size_t n);
/* xstrdup returns a copy of s the caller owns; s must not be NULL. */
char *xstrdup(const char *s);
/* xstrndup copies at most n bytes of s and terminates the copy. */
char *xstrndup(const char *s, size_t n);
/* xasprintf returns a newly formatted string the caller owns. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Returning freed heap to the kernel. The allocator keeps what a large
 * request freed (a parsed metadata file of many megabytes is millions of
 * small blocks, spread over the threads' arenas) resident, to reuse; on a
 * server holding thousands of connections that slack is most of its RSS.
 * alloc_note_large records that something large was freed; alloc_release
 * then hands whole free pages back (glibc's malloc_trim), at most once a
 * second, and costs one atomic load when nothing was noted.
 */
void alloc_note_large(void);
void alloc_release(void);

#endif
