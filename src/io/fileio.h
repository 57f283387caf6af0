/*
 * fileio.h - object storage behind one interface.
 *
 * A struct fileio serves one kind of location (local files now; S3 and GCS
 * later). Locations are URIs: "file:///x" and "file:/x" both name the local
 * path /x. Operations never follow the location outside what it names.
 *
 * Statuses: ST_NOT_FOUND (ET_NOT_FOUND) for a missing object, ST_EXISTS for a
 * create-only write onto an existing object, ST_INVALID for a location this
 * fileio cannot serve, ST_IO for a storage failure (the message says why),
 * ST_UNAVAILABLE when the store is unreachable.
 */
#ifndef SERAC_IO_FILEIO_H
#define SERAC_IO_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct fileio;

/* Called once per object by fileio_list; return non-zero to stop listing. */
typedef int (*fileio_list_fn)(const char *location, int64_t size, void *ud);

struct fileio_ops {
    enum status (*read)(struct fileio *io, const char *location, size_t max_bytes, char **data,
                        size_t *len, struct error *err);
    enum status (*write)(struct fileio *io, const char *location, const void *data, size_t len,
                         bool create_only, struct error *err);
    enum status (*exists)(struct fileio *io, const char *location, struct error *err);
    enum status (*remove)(struct fileio *io, const char *location, struct error *err);
    enum status (*list)(struct fileio *io, const char *prefix, fileio_list_fn fn, void *ud,
                        struct error *err);
    /*
     * Optional (NULL when the store has no cheaper way than one remove per
     * object): delete n objects; missing ones are fine. Object stores delete
     * in batches (S3 DeleteObjects takes 1,000 keys per request).
     */
    enum status (*remove_many)(struct fileio *io, const char *const *locations, size_t n,
                               struct error *err);
    /* Optional: server-side copy of one object (fileio_copy reads and writes otherwise). */
    enum status (*copy)(struct fileio *io, const char *from, const char *to, struct error *err);
    void (*free)(struct fileio *io);
};

struct fileio {
    const struct fileio_ops *ops;
    void *impl;
};

/* fileio_local_new returns a fileio for file: locations (the caller frees with fileio_free). */
struct fileio *fileio_local_new(void);

/*
 * fileio_read reads the whole object into *data (owned, NUL-terminated, the
 * NUL not counted in *len). ST_INVALID when it is larger than max_bytes.
 */
enum status fileio_read(struct fileio *io, const char *location, size_t max_bytes, char **data,
                        size_t *len, struct error *err);
/*
 * fileio_write stores len bytes at location, all or nothing (readers never
 * see a partial object). With create_only, ST_EXISTS if the object exists.
 */
enum status fileio_write(struct fileio *io, const char *location, const void *data, size_t len,
                         bool create_only, struct error *err);
/* fileio_exists returns ST_OK or ST_NOT_FOUND. */
enum status fileio_exists(struct fileio *io, const char *location, struct error *err);
/* fileio_remove deletes one object; a missing object is ST_OK. */
enum status fileio_remove(struct fileio *io, const char *location, struct error *err);
/*
 * fileio_list calls fn for every object whose location starts with prefix
 * (for local files: every regular file below the directory prefix names).
 * A missing prefix lists nothing and is ST_OK.
 */
enum status fileio_list(struct fileio *io, const char *prefix, fileio_list_fn fn, void *ud,
                        struct error *err);
/* fileio_remove_many deletes n objects (remove_many when the backend has it, else one by one). */
enum status fileio_remove_many(struct fileio *io, const char *const *locations, size_t n,
                               struct error *err);
/*
 * fileio_copy copies one object within the store (server-side where the
 * backend can; otherwise read then write). The target is overwritten.
 */
enum status fileio_copy(struct fileio *io, const char *from, const char *to, struct error *err);
/*
 * fileio_remove_prefix deletes every object under prefix (and, for local
 * files, the emptied directories, including prefix itself).
 */
enum status fileio_remove_prefix(struct fileio *io, const char *prefix, struct error *err);
/* fileio_free frees io (NULL is fine). */
void fileio_free(struct fileio *io);

/*
 * fileio_local_path maps a file: URI ("file:/x", "file:///x") or an absolute
 * path to a newly allocated local path; NULL when location is not local.
 */
char *fileio_local_path(const char *location);

#endif
