/* buf.c - capped growable buffer. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

void buf_init(struct buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit ? limit : SIZE_MAX - 1;
}

void buf_cleanup(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static enum status reserve(struct buf *b, size_t n)
{
    size_t need, ncap;

    if (n > b->limit - b->len)
        return ST_INVALID;
    need = b->len + n + 1;
    if (need <= b->cap)
        return ST_OK;
    ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    b->data = xrealloc(b->data, ncap);
    b->cap = ncap;
    return ST_OK;
}

enum status buf_append(struct buf *b, const void *data, size_t n)
{
    if (reserve(b, n))
        return ST_INVALID;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return ST_OK;
}

enum status buf_putc(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

enum status buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum status buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ST_INTERNAL;
    if (reserve(b, (size_t)n))
        return ST_INVALID;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ST_OK;
}

char *buf_take(struct buf *b)
{
    char *p = b->data ? b->data : xstrdup("");

    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
