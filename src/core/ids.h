/* ids.h - random identifiers: UUIDs (RFC 9562) and random bytes from the kernel. */
#ifndef SERAC_CORE_IDS_H
#define SERAC_CORE_IDS_H

#include <stddef.h>
#include <stdint.h>

#define IDS_UUID_LEN 36

/* ids_random fills buf with n bytes from getrandom(); aborts if the kernel fails. */
void ids_random(void *buf, size_t n);
/* ids_uuid_v4 writes a random UUID in lower-case text form to out (37 bytes with NUL). */
void ids_uuid_v4(char out[IDS_UUID_LEN + 1]);
/* ids_uuid_v7 writes a time-ordered UUID (48-bit Unix milliseconds, then random). */
void ids_uuid_v7(char out[IDS_UUID_LEN + 1]);
/* ids_is_uuid says whether s is a UUID in canonical 8-4-4-4-12 hex form (either case). */
int ids_is_uuid(const char *s);
/* ids_random_u64 returns 64 random bits. */
uint64_t ids_random_u64(void);

#endif
