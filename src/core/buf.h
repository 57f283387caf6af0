/*
 * buf.h - a growable byte buffer with a hard maximum size.
 *
 * Every buffer that input can grow has a cap (curl's dynbuf idea): appends
 * past the cap fail with ST_INVALID and leave the buffer as it was. The data
 * is always NUL-terminated so text can be used as a C string.
 */
#ifndef SERAC_CORE_BUF_H
#define SERAC_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

struct buf {
    char *data; /* NUL-terminated, owned; NULL until the first append */
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* maximum len; 0 means SIZE_MAX */
};

/* buf_init prepares b (embedded) with the given maximum length (0: unlimited). */
void buf_init(struct buf *b, size_t limit);
/* buf_cleanup frees b's storage; b may be reused after buf_init. */
void buf_cleanup(struct buf *b);
/* buf_reset empties b, keeping its storage. */
void buf_reset(struct buf *b);
/* buf_append adds n bytes; ST_INVALID when the limit would be exceeded. */
enum status buf_append(struct buf *b, const void *data, size_t n);
/* buf_puts appends a C string. */
enum status buf_puts(struct buf *b, const char *s);
/* buf_putc appends one byte. */
enum status buf_putc(struct buf *b, char c);
/* buf_printf appends formatted text. */
enum status buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* buf_take hands b's data to the caller (free()) and leaves b empty; never NULL. */
char *buf_take(struct buf *b);

#endif
