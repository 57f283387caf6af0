/*
 * fileio.c - the public fileio functions: dispatch to the implementation,
 * mapping of file: URIs, and prefix removal built on list + remove.
 */
#include "io/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"

enum status fileio_read(struct fileio *io, const char *location, size_t max_bytes, char **data,
                        size_t *len, struct error *err)
{
    *data = NULL;
    *len = 0;
    return io->ops->read(io, location, max_bytes, data, len, err);
}

enum status fileio_write(struct fileio *io, const char *location, const void *data, size_t len,
                         bool create_only, struct error *err)
{
    return io->ops->write(io, location, data, len, create_only, err);
}

enum status fileio_exists(struct fileio *io, const char *location, struct error *err)
{
    return io->ops->exists(io, location, err);
}

enum status fileio_remove(struct fileio *io, const char *location, struct error *err)
{
    return io->ops->remove(io, location, err);
}

enum status fileio_list(struct fileio *io, const char *prefix, fileio_list_fn fn, void *ud,
                        struct error *err)
{
    return io->ops->list(io, prefix, fn, ud, err);
}

enum status fileio_remove_many(struct fileio *io, const char *const *locations, size_t n,
                               struct error *err)
{
    enum status rc = ST_OK, one;

    if (n == 0)
        return ST_OK;
    if (io->ops->remove_many)
        return io->ops->remove_many(io, locations, n, err);
    for (size_t i = 0; i < n; i++) {
        /* Keep deleting past a failure; report the first one. */
        one = io->ops->remove(io, locations[i], rc == ST_OK ? err : NULL);
        if (rc == ST_OK)
            rc = one;
    }
    return rc;
}

enum status fileio_copy(struct fileio *io, const char *from, const char *to, struct error *err)
{
    enum status rc;
    char *data;
    size_t len;

    if (io->ops->copy)
        return io->ops->copy(io, from, to, err);
    if ((rc = io->ops->read(io, from, SIZE_MAX, &data, &len, err)))
        return rc;
    rc = io->ops->write(io, to, data, len, false, err);
    free(data);
    return rc;
}

void fileio_free(struct fileio *io)
{
    if (io)
        io->ops->free(io);
}

/* has_dotdot says whether path has a ".." segment. */
static bool has_dotdot(const char *path)
{
    const char *p = path;

    while (*p) {
        size_t n = strcspn(p, "/");

        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        while (*p == '/')
            p++;
    }
    return false;
}

char *fileio_local_path(const char *location)
{
    const char *p;

    if (!location)
        return NULL;
    if (strncmp(location, "file://", 7) == 0) {
        p = location + 7;
        if (strncmp(p, "localhost/", 10) == 0)
            p += 9;
    } else if (strncmp(location, "file:", 5) == 0) {
        p = location + 5;
    } else {
        p = location;
    }
    /* Only absolute paths, and never a path that climbs out of what it names. */
    if (*p != '/' || has_dotdot(p))
        return NULL;
    return xstrdup(p);
}

/* Locations gathered by fileio_remove_prefix before it deletes anything. */
struct loc_list {
    char **v;
    size_t n, cap;
};

static int collect(const char *location, int64_t size, void *ud)
{
    struct loc_list *l = ud;

    (void)size;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = xstrdup(location);
    return 0;
}

/*
 * rmdir_tree removes the empty directories at and below path, deepest first.
 * A directory that still holds something (a file written meanwhile, a
 * symlink) is left alone.
 */
static void rmdir_tree(const char *path, int depth)
{
    struct dirent *de;
    struct stat sb;
    DIR *d;

    if (depth > 256 || !(d = opendir(path)))
        return;
    while ((de = readdir(d))) {
        char *child;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        child = xasprintf("%s/%s", path, de->d_name);
        if (lstat(child, &sb) == 0 && S_ISDIR(sb.st_mode))
            rmdir_tree(child, depth + 1);
        free(child);
    }
    closedir(d);
    rmdir(path);
}

enum status fileio_remove_prefix(struct fileio *io, const char *prefix, struct error *err)
{
    struct loc_list l = {0};
    enum status rc;
    char *local;
    size_t i;

    /* Gather first: deleting while an object store pages through a listing can skip keys. */
    rc = fileio_list(io, prefix, collect, &l, err);
    if (rc == ST_OK)
        rc = fileio_remove_many(io, (const char *const *)l.v, l.n, err);
    for (i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    if (rc)
        return rc;
    local = fileio_local_path(prefix);
    if (local) {
        size_t n = strlen(local);

        while (n > 1 && local[n - 1] == '/')
            local[--n] = '\0';
        rmdir_tree(local, 0);
        free(local);
    }
    return ST_OK;
}
