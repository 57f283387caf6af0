/*
 * pct.h - percent-encoding (RFC 3986 §2.1), one implementation for the HTTP
 * layer (request targets), the catalog (names, remote-signing checks) and
 * the object-store clients (S3 and GCS keys, SigV4 canonical forms).
 */
#ifndef SERAC_CORE_PCT_H
#define SERAC_CORE_PCT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"

/* pct_hexval returns the value of the hex digit c (either case), or -1. */
int pct_hexval(unsigned char c);

/*
 * pct_decode decodes the %XX escapes of s[0..len) (and '+' to a space when
 * plus_space) into a new NUL-terminated string in *out. ST_INVALID, *out
 * NULL, for a malformed escape and for a NUL byte, raw or as %00: callers
 * treat the result as a C string, and a NUL would silently cut it short (a
 * name, or a key checked for dot segments before it is signed).
 */
enum status pct_decode(const char *s, size_t len, bool plus_space, char **out);

/*
 * pct_encode appends s[0..n) to b with every byte but the unreserved ones
 * (A-Z a-z 0-9 - . _ ~) as %XX, upper-case hex; '/' too unless keep_slash.
 * The result is the same on every platform and locale (SigV4 needs exactly
 * this form). Fails only when b's limit is reached.
 */
enum status pct_encode(struct buf *b, const char *s, size_t n, bool keep_slash);
/* pct_puts appends the C string s encoded as by pct_encode, '/' included. */
enum status pct_puts(struct buf *b, const char *s);

#endif
