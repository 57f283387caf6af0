/*
 * local.c - fileio for the local filesystem ("file:/x", "file:///x",
 * "file://localhost/x" and bare absolute paths).
 *
 * Writes are atomic: the bytes go to a unique hidden temp file in the target
 * directory, are fsync'ed, and only then appear under their name by rename()
 * (or link() for create-only writes, which fails if the name is taken). A
 * reader therefore sees the old object, the new one or none, never part of
 * one. Listings report every regular file, dot-files included (Hadoop's
 * ".<name>.crc" side files must be purged too), under the same URI spelling as
 * the prefix they were given.
 */
#include "io/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/ids.h"

#define LOCAL_MAX_DEPTH 256

/*
 * local_resolve maps location to a local path (owned) and, if scheme_len is
 * given, the length of the text before the path ("file://", "file:", "").
 */
static enum status local_resolve(const char *location, char **path, size_t *scheme_len,
                                 struct error *err)
{
    *path = fileio_local_path(location);
    if (!*path)
        return error_set(err, ST_INVALID, ET_BAD_REQUEST,
                         "Invalid location %s: expected file:/path, file:///path or an absolute "
                         "path without '..' segments",
                         location ? location : "(null)");
    if (scheme_len)
        *scheme_len = strlen(location) - strlen(*path);
    return ST_OK;
}

static enum status io_error(const char *op, const char *location, int e, struct error *err)
{
    return error_set(err, ST_IO, ET_NONE, "Cannot %s %s: %s", op, location, strerror(e));
}

static enum status not_found(const char *location, struct error *err)
{
    return error_set(err, ST_NOT_FOUND, ET_NOT_FOUND, "File does not exist: %s", location);
}

/* read_all reads fd to the end into *data, failing past max_bytes. */
static enum status read_all(int fd, const char *location, size_t hint, size_t max_bytes,
                            char **data, size_t *len, struct error *err)
{
    size_t cap, n = 0;
    char *buf;
    ssize_t r;

    if (max_bytes > SIZE_MAX / 4) /* keep the arithmetic below from overflowing */
        max_bytes = SIZE_MAX / 4;
    cap = (hint < max_bytes ? hint : max_bytes) + 1;
    buf = xmalloc(cap + 1);

    for (;;) {
        if (n == cap) {
            if (cap > max_bytes)
                break;
            cap = cap * 2 > max_bytes + 1 || cap * 2 < cap ? max_bytes + 1 : cap * 2;
            buf = xrealloc(buf, cap + 1);
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            return io_error("read", location, errno, err);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max_bytes) {
        free(buf);
        return error_set(err, ST_INVALID, ET_NONE, "File too large: %s is bigger than %zu bytes",
                         location, max_bytes);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return ST_OK;
}

static enum status local_read(struct fileio *io, const char *location, size_t max_bytes,
                              char **data, size_t *len, struct error *err)
{
    char *path = NULL;
    struct stat sb;
    enum status rc;
    int fd = -1;

    (void)io;
    if ((rc = local_resolve(location, &path, NULL, err)))
        return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT || errno == ENOTDIR ? not_found(location, err)
                                                 : io_error("open", location, errno, err);
        goto out;
    }
    if (fstat(fd, &sb) != 0) {
        rc = io_error("stat", location, errno, err);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = not_found(location, err);
        goto out;
    }
    if ((uint64_t)sb.st_size > (uint64_t)max_bytes) {
        rc = error_set(err, ST_INVALID, ET_NONE, "File too large: %s has %lld bytes (limit %zu)",
                       location, (long long)sb.st_size, max_bytes);
        goto out;
    }
    rc = read_all(fd, location, (size_t)sb.st_size, max_bytes, data, len, err);
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* mkdir_p creates dir and its missing ancestors with mode 0755. */
static int mkdir_p(const char *dir)
{
    char *p = xstrdup(dir), *s;
    int rc = 0;

    for (s = p + 1;; s++) {
        s = strchr(s, '/');
        if (s)
            *s = '\0';
        if (*p && mkdir(p, 0755) != 0 && errno != EEXIST) {
            rc = -1;
            break;
        }
        if (!s)
            break;
        *s = '/';
    }
    free(p);
    return rc;
}

static int write_fully(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* sync_dir makes a rename in dir durable; failure only weakens durability. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/*
 * publish gives the finished temp file its name: rename() replaces, while a
 * create-only write uses link(), which fails when the name exists. Where a
 * filesystem has no hard links, renameat2(RENAME_NOREPLACE) does the same.
 * *moved says whether the temp name is gone.
 */
static enum status publish(const char *tmp, const char *path, const char *location,
                           bool create_only, bool *moved, struct error *err)
{
    *moved = false;
    if (!create_only) {
        if (rename(tmp, path) != 0)
            return io_error("rename", location, errno, err);
        *moved = true;
        return ST_OK;
    }
    if (link(tmp, path) == 0)
        return ST_OK;
    if (errno == EPERM || errno == ENOTSUP || errno == ENOSYS || errno == EMLINK) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
            *moved = true;
            return ST_OK;
        }
    }
    if (errno == EEXIST)
        return error_set(err, ST_EXISTS, ET_ALREADY_EXISTS, "File already exists: %s", location);
    return io_error("create", location, errno, err);
}

static enum status local_write(struct fileio *io, const char *location, const void *data,
                               size_t len, bool create_only, struct error *err)
{
    char *path = NULL, *dir = NULL, *tmp = NULL, *slash;
    bool moved = false;
    enum status rc;
    int fd = -1;

    (void)io;
    if ((rc = local_resolve(location, &path, NULL, err)))
        return rc;
    slash = strrchr(path, '/');
    if (!slash[1]) {
        rc = error_set(err, ST_INVALID, ET_BAD_REQUEST, "Invalid location %s: no file name",
                       location);
        goto out;
    }
    dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
    tmp = xasprintf("%s/.%s.%016" PRIx64 ".tmp", slash == path ? "" : dir, slash + 1,
                    ids_random_u64());
    if (mkdir_p(dir) != 0) {
        rc = io_error("create the directory of", location, errno, err);
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = io_error("create", location, errno, err);
        goto out;
    }
    if (write_fully(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = io_error("write", location, errno, err);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = io_error("write", location, errno, err);
        goto out;
    }
    fd = -1;
    if ((rc = publish(tmp, path, location, create_only, &moved, err)))
        goto out;
    sync_dir(dir);
out:
    if (fd >= 0)
        close(fd);
    /* After link() or any failure the temp name is still there and must go. */
    if (tmp && !moved)
        unlink(tmp);
    free(tmp);
    free(dir);
    free(path);
    return rc;
}

static enum status local_exists(struct fileio *io, const char *location, struct error *err)
{
    char *path = NULL;
    struct stat sb;
    enum status rc;

    (void)io;
    if ((rc = local_resolve(location, &path, NULL, err)))
        return rc;
    if (stat(path, &sb) == 0)
        rc = S_ISREG(sb.st_mode) ? ST_OK : not_found(location, err);
    else if (errno == ENOENT || errno == ENOTDIR)
        rc = not_found(location, err);
    else
        rc = io_error("stat", location, errno, err);
    free(path);
    return rc;
}

static enum status local_remove(struct fileio *io, const char *location, struct error *err)
{
    char *path = NULL;
    enum status rc;

    (void)io;
    if ((rc = local_resolve(location, &path, NULL, err)))
        return rc;
    if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR)
        rc = io_error("delete", location, errno, err);
    free(path);
    return rc;
}

/* One listing in progress. */
struct walk {
    const char *scheme; /* the text before the path in the prefix, reused for every report */
    size_t scheme_len;
    fileio_list_fn fn;
    void *ud;
    bool stopped;
};

static void walk_report(struct walk *w, const char *path, const struct stat *sb)
{
    char *loc = xasprintf("%.*s%s", (int)w->scheme_len, w->scheme, path);

    if (w->fn(loc, (int64_t)sb->st_size, w->ud) != 0)
        w->stopped = true;
    free(loc);
}

/* walk_dir reports every regular file below dir (symlinks are not followed). */
static enum status walk_dir(struct walk *w, const char *dir, int depth, struct error *err)
{
    enum status rc = ST_OK;
    struct dirent *de;
    struct stat sb;
    DIR *d;

    if (depth > LOCAL_MAX_DEPTH)
        return error_set(err, ST_IO, ET_NONE, "Directory tree too deep at %s", dir);
    if (!(d = opendir(dir)))
        /* A directory removed while we walk simply has nothing left to list. */
        return errno == ENOENT ? ST_OK : io_error("list", dir, errno, err);
    while (rc == ST_OK && !w->stopped && (de = readdir(d))) {
        char *child;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        child = xasprintf("%s/%s", strcmp(dir, "/") == 0 ? "" : dir, de->d_name);
        if (lstat(child, &sb) == 0) {
            if (S_ISDIR(sb.st_mode))
                rc = walk_dir(w, child, depth + 1, err);
            else if (S_ISREG(sb.st_mode))
                walk_report(w, child, &sb);
        }
        free(child);
    }
    closedir(d);
    return rc;
}

static enum status local_list(struct fileio *io, const char *prefix, fileio_list_fn fn, void *ud,
                              struct error *err)
{
    struct walk w = {.scheme = prefix, .fn = fn, .ud = ud};
    char *path = NULL;
    struct stat sb;
    enum status rc;
    size_t n;

    (void)io;
    if ((rc = local_resolve(prefix, &path, &w.scheme_len, err)))
        return rc;
    n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        path[--n] = '\0';
    if (lstat(path, &sb) != 0)
        rc = errno == ENOENT || errno == ENOTDIR ? ST_OK : io_error("list", prefix, errno, err);
    else if (S_ISDIR(sb.st_mode))
        rc = walk_dir(&w, path, 0, err);
    else if (S_ISREG(sb.st_mode))
        walk_report(&w, path, &sb);
    free(path);
    return rc;
}

static void local_free(struct fileio *io)
{
    free(io);
}

static const struct fileio_ops local_ops = {
    .read = local_read,
    .write = local_write,
    .exists = local_exists,
    .remove = local_remove,
    .list = local_list,
    .free = local_free,
};

struct fileio *fileio_local_new(void)
{
    struct fileio *io = xcalloc(1, sizeof(*io));

    io->ops = &local_ops;
    return io;
}
