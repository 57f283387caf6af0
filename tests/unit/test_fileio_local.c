/* test_fileio_local.c - the local-filesystem fileio and the generic fileio helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "io/fileio.h"

struct fx {
    char dir[4096];
    struct fileio *io;
};

static void make_dirs(const char *path)
{
    char *p = xstrdup(path), *s;

    for (s = p + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    mkdir(p, 0755);
    free(p);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    const char *base = getenv("SERAC_TEST_TMP");
    char *real;

    if (!base || !*base)
        base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    make_dirs(base);
    snprintf(f->dir, sizeof(f->dir), "%s/fileio-XXXXXX", base);
    assert_non_null(mkdtemp(f->dir));
    /* Locations must be absolute and free of "..": use the canonical path. */
    real = realpath(f->dir, NULL);
    assert_non_null(real);
    snprintf(f->dir, sizeof(f->dir), "%s", real);
    free(real);
    f->io = fileio_local_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    fileio_free(f->io);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* --- helpers --- */

static char *uri(const struct fx *f, const char *style, const char *rel)
{
    return xasprintf("%s%s/%s", style, f->dir, rel);
}

static void put(struct fx *f, const char *location, const char *text)
{
    struct error err = {0};

    assert_int_equal(fileio_write(f->io, location, text, strlen(text), false, &err), ST_OK);
}

static void assert_content(struct fx *f, const char *location, const char *want)
{
    struct error err = {0};
    char *data = NULL;
    size_t len = 0;

    assert_int_equal(fileio_read(f->io, location, 1 << 20, &data, &len, &err), ST_OK);
    assert_int_equal(len, strlen(want));
    assert_string_equal(data, want);
    free(data);
}

/* count_entries counts the names in dir (hidden ones included), or -1 if it is missing. */
static int count_entries(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

struct seen {
    char *locs[32];
    int64_t sizes[32];
    size_t n;
    size_t stop_after; /* 0: never stop */
};

static int record(const char *location, int64_t size, void *ud)
{
    struct seen *s = ud;

    assert_true(s->n < 32);
    s->locs[s->n] = xstrdup(location);
    s->sizes[s->n] = size;
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

/* seen_size returns the size reported for location, or -1 when it was not reported. */
static int64_t seen_size(const struct seen *s, const char *location)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->locs[i], location) == 0)
            return s->sizes[i];
    return -1;
}

static void seen_free(struct seen *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->locs[i]);
    s->n = 0;
}

/* --- tests --- */

static void test_local_path_mapping(void **state)
{
    char *p;

    (void)state;
    p = fileio_local_path("file:///a/b");
    assert_string_equal(p, "/a/b");
    free(p);
    p = fileio_local_path("file:/a/b");
    assert_string_equal(p, "/a/b");
    free(p);
    p = fileio_local_path("file://localhost/a/b");
    assert_string_equal(p, "/a/b");
    free(p);
    p = fileio_local_path("/a/b.json");
    assert_string_equal(p, "/a/b.json");
    free(p);
    p = fileio_local_path("/a/..b/c..");
    assert_string_equal(p, "/a/..b/c..");
    free(p);

    assert_null(fileio_local_path("s3://bucket/key"));
    assert_null(fileio_local_path("file://otherhost/a"));
    assert_null(fileio_local_path("relative/path"));
    assert_null(fileio_local_path("file:relative"));
    assert_null(fileio_local_path("file:///a/../etc/passwd"));
    assert_null(fileio_local_path("/a/.."));
    assert_null(fileio_local_path(""));
    assert_null(fileio_local_path(NULL));
}

static void test_round_trip_both_spellings(void **state)
{
    struct fx *f = *state;
    char *a = uri(f, "file://", "t/metadata/v1.json");
    char *b = uri(f, "file:", "t/metadata/v1.json");
    char *bare = uri(f, "", "t/metadata/v1.json");
    struct error err = {0};
    char *data = NULL;
    size_t len = 0;
    struct stat sb;
    char *dir = uri(f, "", "t/metadata");

    /* The write creates the missing directories. */
    put(f, a, "{\"v\":1}");
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_content(f, b, "{\"v\":1}");
    assert_content(f, bare, "{\"v\":1}");
    assert_int_equal(fileio_exists(f->io, b, &err), ST_OK);

    /* An overwrite replaces the whole file, and no temp file stays behind. */
    put(f, b, "{}");
    assert_content(f, a, "{}");
    assert_int_equal(count_entries(dir), 1);

    /* Binary data and empty files survive too; the result is NUL-terminated. */
    assert_int_equal(fileio_write(f->io, a, "x\0y", 3, false, &err), ST_OK);
    assert_int_equal(fileio_read(f->io, a, 10, &data, &len, &err), ST_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "x\0y\0", 4);
    free(data);
    assert_int_equal(fileio_write(f->io, a, "", 0, false, &err), ST_OK);
    assert_int_equal(fileio_read(f->io, a, 0, &data, &len, &err), ST_OK);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);

    free(dir);
    free(a);
    free(b);
    free(bare);
}

static void test_create_only(void **state)
{
    struct fx *f = *state;
    char *loc = uri(f, "file://", "m/00001.metadata.json");
    char *dir = uri(f, "", "m");
    struct error err = {0};

    assert_int_equal(fileio_write(f->io, loc, "first", 5, true, &err), ST_OK);
    assert_int_equal(fileio_write(f->io, loc, "second", 6, true, &err), ST_EXISTS);
    assert_int_equal(err.status, ST_EXISTS);
    assert_content(f, loc, "first");
    /* The losing writer's temp file is gone. */
    assert_int_equal(count_entries(dir), 1);
    /* A plain write still replaces it. */
    assert_int_equal(fileio_write(f->io, loc, "third", 5, false, &err), ST_OK);
    assert_content(f, loc, "third");
    free(dir);
    free(loc);
}

static void test_missing_file(void **state)
{
    struct fx *f = *state;
    char *loc = uri(f, "file:", "nope/x.json");
    struct error err = {0};
    char *data = (char *)"junk";
    size_t len = 7;

    assert_int_equal(fileio_read(f->io, loc, 100, &data, &len, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NOT_FOUND);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_int_equal(fileio_exists(f->io, loc, &err), ST_NOT_FOUND);
    assert_int_equal(err.type, ET_NOT_FOUND);
    /* Removing what is not there is fine. */
    assert_int_equal(fileio_remove(f->io, loc, &err), ST_OK);
    /* A directory is not an object. */
    free(loc);
    loc = xasprintf("file://%s", f->dir);
    assert_int_equal(fileio_exists(f->io, loc, &err), ST_NOT_FOUND);
    assert_int_equal(fileio_read(f->io, loc, 100, &data, &len, &err), ST_NOT_FOUND);
    free(loc);
}

static void test_size_cap(void **state)
{
    struct fx *f = *state;
    char *loc = uri(f, "file://", "big");
    char body[100];
    struct error err = {0};
    char *data = NULL;
    size_t len = 0;

    memset(body, 'a', sizeof(body));
    assert_int_equal(fileio_write(f->io, loc, body, sizeof(body), false, &err), ST_OK);
    assert_int_equal(fileio_read(f->io, loc, 99, &data, &len, &err), ST_INVALID);
    assert_null(data);
    assert_non_null(strstr(err.msg, "too large"));
    assert_int_equal(fileio_read(f->io, loc, 100, &data, &len, &err), ST_OK);
    assert_int_equal(len, 100);
    free(data);
    free(loc);
}

static void test_remove(void **state)
{
    struct fx *f = *state;
    char *loc = uri(f, "file:", "r.json");
    struct error err = {0};

    put(f, loc, "x");
    assert_int_equal(fileio_remove(f->io, loc, &err), ST_OK);
    assert_int_equal(fileio_exists(f->io, loc, &err), ST_NOT_FOUND);
    free(loc);
}

static void test_list(void **state)
{
    struct fx *f = *state;
    struct seen s = {0};
    struct error err = {0};
    char *files[] = {uri(f, "", "tbl/metadata/v1.json"), uri(f, "", "tbl/data/a/b.parquet"),
                     uri(f, "", "tbl/data/.b.parquet.crc"), uri(f, "", "tbl2/other.json")};
    char *prefix, *want;
    size_t i;

    put(f, files[0], "12345");
    put(f, files[1], "1234567");
    put(f, files[2], "12");
    put(f, files[3], "1");

    /* file:/// prefix: reports file:/// URIs, dot-files included, not the sibling tbl2. */
    prefix = xasprintf("file://%s/tbl", f->dir);
    assert_int_equal(fileio_list(f->io, prefix, record, &s, &err), ST_OK);
    assert_int_equal(s.n, 3);
    want = uri(f, "file://", "tbl/metadata/v1.json");
    assert_int_equal(seen_size(&s, want), 5);
    free(want);
    want = uri(f, "file://", "tbl/data/a/b.parquet");
    assert_int_equal(seen_size(&s, want), 7);
    free(want);
    want = uri(f, "file://", "tbl/data/.b.parquet.crc");
    assert_int_equal(seen_size(&s, want), 2);
    free(want);
    seen_free(&s);
    free(prefix);

    /* file:/ prefix with a trailing slash: reports file:/ URIs without a double slash. */
    prefix = xasprintf("file:%s/tbl/", f->dir);
    assert_int_equal(fileio_list(f->io, prefix, record, &s, &err), ST_OK);
    assert_int_equal(s.n, 3);
    want = uri(f, "file:", "tbl/metadata/v1.json");
    assert_int_equal(seen_size(&s, want), 5);
    free(want);
    seen_free(&s);
    free(prefix);

    /* The callback can stop the listing. */
    s.stop_after = 1;
    prefix = xasprintf("file://%s", f->dir);
    assert_int_equal(fileio_list(f->io, prefix, record, &s, &err), ST_OK);
    assert_int_equal(s.n, 1);
    seen_free(&s);
    s.stop_after = 0;
    free(prefix);

    /* A missing prefix lists nothing. */
    prefix = xasprintf("file://%s/none", f->dir);
    assert_int_equal(fileio_list(f->io, prefix, record, &s, &err), ST_OK);
    assert_int_equal(s.n, 0);
    free(prefix);

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        free(files[i]);
}

static void test_remove_prefix(void **state)
{
    struct fx *f = *state;
    struct error err = {0};
    char *keep = uri(f, "file://", "tbl2/keep.json");
    char *tbl = uri(f, "", "tbl");
    char *prefix = uri(f, "file://", "tbl");
    const char *rels[] = {"tbl/metadata/00001.metadata.json",
                          "tbl/metadata/.00001.metadata.json.crc", "tbl/data/x=1/part.parquet",
                          "tbl/data/x=1/.part.parquet.crc"};
    size_t i;

    for (i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
        char *loc = uri(f, "file:", rels[i]);

        put(f, loc, "data");
        free(loc);
    }
    put(f, keep, "k");

    assert_int_equal(fileio_remove_prefix(f->io, prefix, &err), ST_OK);
    /* Every file, the hidden .crc side files included, and every directory are gone. */
    assert_int_equal(count_entries(tbl), -1);
    assert_int_equal(access(tbl, F_OK), -1);
    /* A sibling whose name shares the prefix's text is untouched. */
    assert_content(f, keep, "k");
    /* Purging again (nothing there) is fine. */
    assert_int_equal(fileio_remove_prefix(f->io, prefix, &err), ST_OK);
    free(prefix);

    /* The file:/ spelling with a trailing slash works the same. */
    put(f, keep, "k2");
    prefix = uri(f, "file:", "tbl2/");
    assert_int_equal(fileio_remove_prefix(f->io, prefix, &err), ST_OK);
    free(prefix);
    prefix = uri(f, "", "tbl2");
    assert_int_equal(access(prefix, F_OK), -1);
    assert_int_equal(count_entries(f->dir), 0);

    free(prefix);
    free(tbl);
    free(keep);
}

static void test_rejects_bad_locations(void **state)
{
    struct fx *f = *state;
    char *dotdot = xasprintf("file://%s/a/../b.json", f->dir);
    char *sneaky = uri(f, "file:", "..");
    struct error err = {0};
    struct seen s = {0};
    char *data = NULL;
    size_t len = 0;

    assert_int_equal(fileio_write(f->io, dotdot, "x", 1, false, &err), ST_INVALID);
    assert_int_equal(fileio_read(f->io, dotdot, 10, &data, &len, &err), ST_INVALID);
    assert_int_equal(fileio_exists(f->io, dotdot, &err), ST_INVALID);
    assert_int_equal(fileio_remove(f->io, dotdot, &err), ST_INVALID);
    assert_int_equal(fileio_list(f->io, sneaky, record, &s, &err), ST_INVALID);
    assert_int_equal(fileio_remove_prefix(f->io, sneaky, &err), ST_INVALID);
    assert_int_equal(s.n, 0);
    assert_int_equal(count_entries(f->dir), 0);

    assert_int_equal(fileio_read(f->io, "s3://bucket/k", 10, &data, &len, &err), ST_INVALID);
    assert_int_equal(fileio_write(f->io, "relative/x", "x", 1, false, &err), ST_INVALID);
    assert_int_equal(fileio_write(f->io, "file://host/x", "x", 1, false, &err), ST_INVALID);
    free(dotdot);
    free(sneaky);
}

static void test_write_failure_leaves_nothing(void **state)
{
    struct fx *f = *state;
    char *target = uri(f, "file://", "d/target");
    char *inner = uri(f, "", "d/target/inner");
    char *d = uri(f, "", "d");
    char *under_file = uri(f, "file://", "d/target/inner/x");
    struct error err = {0};

    /* The target name is a non-empty directory: the rename fails and the temp file goes. */
    make_dirs(inner);
    assert_int_equal(fileio_write(f->io, target, "x", 1, false, &err), ST_IO);
    assert_int_equal(count_entries(d), 1);
    assert_int_equal(fileio_write(f->io, target, "x", 1, true, &err), ST_EXISTS);
    assert_int_equal(count_entries(d), 1);

    /* A parent that is a regular file cannot become a directory. */
    rmdir(inner);
    free(inner);
    inner = uri(f, "file://", "d/target/inner");
    put(f, inner, "file");
    assert_int_equal(fileio_write(f->io, under_file, "x", 1, false, &err), ST_IO);
    free(under_file);
    free(d);
    free(inner);
    free(target);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_local_path_mapping),
        T(test_round_trip_both_spellings),
        T(test_create_only),
        T(test_missing_file),
        T(test_size_cap),
        T(test_remove),
        T(test_list),
        T(test_remove_prefix),
        T(test_rejects_bad_locations),
        T(test_write_failure_leaves_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
