/* ids.c - UUIDs and random bytes. */
#include "core/ids.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"

static void kernel_random(unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0)
            abort();
        p += got;
        n -= (size_t)got;
    }
}

/*
 * ids_random serves small requests from a per-thread pool refilled from the
 * kernel 4 KiB at a time (one syscall per ~250 UUIDs instead of one each).
 * Every byte still comes from getrandom(); each is handed out once.
 */
void ids_random(void *buf, size_t n)
{
    static _Thread_local unsigned char pool[4096];
    static _Thread_local size_t left;
    unsigned char *p = buf;

    if (n > sizeof(pool) / 4) {
        kernel_random(p, n);
        return;
    }
    if (left < n) {
        kernel_random(pool, sizeof(pool));
        left = sizeof(pool);
    }
    memcpy(p, pool + sizeof(pool) - left, n);
    /* Wipe what was handed out so it never leaves through a later copy of the pool. */
    memset(pool + sizeof(pool) - left, 0, n);
    left -= n;
}

uint64_t ids_random_u64(void)
{
    uint64_t v;

    ids_random(&v, sizeof(v));
    return v;
}

static void format_uuid(const unsigned char b[16], char out[IDS_UUID_LEN + 1])
{
    snprintf(out, IDS_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

void ids_uuid_v4(char out[IDS_UUID_LEN + 1])
{
    unsigned char b[16];

    ids_random(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format_uuid(b, out);
}

void ids_uuid_v7(char out[IDS_UUID_LEN + 1])
{
    unsigned char b[16];
    uint64_t ms = (uint64_t)clock_now_ms();

    ids_random(b, sizeof(b));
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format_uuid(b, out);
}

int ids_is_uuid(const char *s)
{
    if (!s || strlen(s) != IDS_UUID_LEN)
        return 0;
    for (int i = 0; i < IDS_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}
