/* alloc.c - aborting allocators. */
#include "core/alloc.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/clock.h"

static void oom(size_t n)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"bytes\":%zu}\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    int n;
    char *p;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    p = xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

/* Release pending, and when the last release ran (CLOCK_MONOTONIC, ns). */
static atomic_bool release_pending;
static _Atomic int64_t last_release_ns;

#define RELEASE_INTERVAL_NS 1000000000LL

void alloc_note_large(void)
{
    atomic_store_explicit(&release_pending, true, memory_order_relaxed);
}

void alloc_release(void)
{
    int64_t now, last;

    if (!atomic_load_explicit(&release_pending, memory_order_relaxed))
        return;
    now = clock_mono_ns();
    last = atomic_load(&last_release_ns);
    if (now - last < RELEASE_INTERVAL_NS ||
        !atomic_compare_exchange_strong(&last_release_ns, &last, now))
        return; /* too soon, or another thread is releasing: a later call will */
    atomic_store(&release_pending, false);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}
