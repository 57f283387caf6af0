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

#endif
