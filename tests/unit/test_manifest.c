/*
 * test_manifest.c - iceberg/manifest: the paths in manifest lists and manifests written by
 * Java Iceberg, PyIceberg, fastavro with the spec's schemas, and avro-c style writers that
 * drop field ids.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/jsonx.h"
#include "iceberg/manifest.h"

#define LOC "s3://warehouse/db/events"

static char *data_path(const char *name)
{
    const char *env = getenv("SERAC_AVRO_DATA");
    char *src = xstrdup(__FILE__);
    char *p =
        env ? xasprintf("%s/%s", env, name) : xasprintf("%s/data/avro/%s", dirname(src), name);
    free(src);
    return p;
}

static char *load(const char *name, size_t *len)
{
    char *path = data_path(name);
    FILE *f = fopen(path, "rb");
    char *data;
    long n;

    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = xmalloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    free(path);
    *len = (size_t)n;
    return data;
}

typedef enum status (*lister)(const char *, size_t, json_t *, struct error *);

/* paths_of runs fn over a data file and returns the paths as one compact JSON text. */
static char *paths_of(lister fn, const char *name)
{
    size_t len;
    char *data = load(name, &len), *text;
    json_t *paths = json_array();
    struct error err;

    if (fn(data, len, paths, &err) != ST_OK)
        fail_msg("%s: %s", name, err.msg);
    text = jsonx_dump(paths);
    json_decref(paths);
    free(data);
    return text;
}

static void expect_paths(lister fn, const char *name, const char *want)
{
    char *got = paths_of(fn, name);

    if (strcmp(got, want) != 0)
        fail_msg("%s:\n got  %s\n want %s", name, got, want);
    free(got);
}

static const char V2_LIST[] =
    "[\"" LOC "/metadata/8f1c7a52-data-m0.avro\",\"" LOC "/metadata/8f1c7a52-deletes-m1.avro\"]";
static const char V2_DATA[] =
    "[\"" LOC "/data/category=a/00000-0-data.parquet\",\"" LOC
    "/data/category=b/00001-0-data.parquet\",\"" LOC "/data/category=a/00002-0-removed.parquet\"]";
static const char V2_DELETES[] = "[\"" LOC "/data/category=a/00003-pos-deletes.parquet\",\"" LOC
                                 "/data/category=b/00004-eq-deletes.parquet\"]";

/* The table spec's v2 schemas with field ids, written by fastavro (deflate). */
static void test_spec_schemas(void **state)
{
    expect_paths(manifest_list_files, "v2-manifest-list.avro", V2_LIST);
    /* Every status: ADDED, EXISTING and DELETED entries are all the table's files. */
    expect_paths(manifest_files, "v2-manifest-data.avro", V2_DATA);
    /* Position and equality delete files. */
    expect_paths(manifest_files, "v2-manifest-deletes.avro", V2_DELETES);
}

/* Schemas without field ids and with {"type": "long"} primitives, as avro-c writes them. */
static void test_schemas_without_field_ids(void **state)
{
    expect_paths(manifest_list_files, "noids-manifest-list.avro", V2_LIST);
    expect_paths(manifest_files, "noids-manifest.avro", V2_DATA); /* zstandard */
}

/* The field id decides, not the name: decoy fields named manifest_path and data_file exist. */
static void test_field_ids_win_over_names(void **state)
{
    expect_paths(manifest_list_files, "renamed-manifest-list.avro", V2_LIST);
    expect_paths(manifest_files, "renamed-manifest.avro", V2_DATA);
}

static void test_pyiceberg_files(void **state)
{
    expect_paths(manifest_list_files, "pyiceberg-manifest-list.avro",
                 "[\"" LOC "/metadata/5d1a-py-m0.avro\"]");
    expect_paths(manifest_files, "pyiceberg-manifest.avro",
                 "[\"" LOC "/data/category=a/00000-py.parquet\",\"" LOC
                 "/data/category=b/00001-py.parquet\",\"" LOC
                 "/data/category=c/00002-py.parquet\"]");
}

/* Walk a Java-written snapshot: list, then each manifest, as a purge would. */
static void test_java_v2_snapshot(void **state)
{
    size_t len;
    char *data = load("java-v2-manifest-list.avro", &len);
    json_t *manifests = json_array(), *files = json_array();
    struct error err;

    assert_int_equal(manifest_list_files(data, len, manifests, &err), ST_OK);
    free(data);
    assert_int_equal(json_array_size(manifests), 3);
    for (size_t i = 0; i < 3; i++) {
        const char *m = json_string_value(json_array_get(manifests, i));
        assert_true(strncmp(m, "s3://warehouse/db/events_v2/metadata/", 37) == 0);
        assert_non_null(strstr(m, "-m0.avro"));
        char *name = xasprintf("java-v2-manifest-%zu.avro", i);
        data = load(name, &len);
        assert_int_equal(manifest_files(data, len, files, &err), ST_OK);
        free(data);
        free(name);
    }
    char *got = jsonx_dump(files);
    assert_string_equal(got, "[\"s3://warehouse/db/events_v2/data/category=a/00002-0-c.parquet\","
                             "\"s3://warehouse/db/events_v2/data/category=a/00000-0-a.parquet\","
                             "\"s3://warehouse/db/events_v2/data/category=b/00001-0-b.parquet\","
                             "\"s3://warehouse/db/events_v2/data/category=a/"
                             "00003-deletes.parquet\"]");
    free(got);
    json_decref(manifests);
    json_decref(files);
}

static void test_java_v3_snapshot(void **state)
{
    char *got = paths_of(manifest_list_files, "java-v3-manifest-list.avro");

    assert_true(strncmp(got, "[\"s3://warehouse/db/events_v3/metadata/", 39) == 0);
    assert_non_null(strstr(got, "-m0.avro\"]"));
    free(got);
    expect_paths(manifest_files, "java-v3-manifest-0.avro",
                 "[\"s3://warehouse/db/events_v3/data/category=x/00000-0-x.parquet\"]");
}

/* A failing call leaves what the caller had collected so far alone. */
static void expect_failure(lister fn, const char *data, size_t len, enum status want,
                           const char *msg)
{
    json_t *paths = json_pack("[s]", "kept");
    struct error err;

    assert_int_equal(fn(data, len, paths, &err), want);
    assert_int_equal(json_array_size(paths), 1);
    if (msg && !strstr(err.msg, msg))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg);
    json_decref(paths);
}

static void test_wrong_kind_of_file(void **state)
{
    size_t len;
    char *list = load("v2-manifest-list.avro", &len);
    expect_failure(manifest_files, list, len, ST_INVALID, "data_file");
    free(list);

    char *manifest = load("v2-manifest-data.avro", &len);
    expect_failure(manifest_list_files, manifest, len, ST_INVALID, "manifest_path");
    free(manifest);

    char *other = load("all-types-null.avro", &len);
    expect_failure(manifest_list_files, other, len, ST_INVALID, NULL);
    expect_failure(manifest_files, other, len, ST_INVALID, NULL);
    free(other);

    expect_failure(manifest_files, "{\"not\":\"avro\"}", 14, ST_INVALID, "magic");
    expect_failure(manifest_list_files, "", 0, ST_INVALID, NULL);
    expect_failure(manifest_files, "PAR1xxxxPAR1", 12, ST_UNSUPPORTED, "Parquet");
}

static void test_truncated_manifest(void **state)
{
    size_t len;
    char *data = load("java-v2-manifest-1.avro", &len);

    /* Cut inside the data block: the entries read so far must not leak out. */
    expect_failure(manifest_files, data, len - 20, ST_INVALID, NULL);
    expect_failure(manifest_files, data, len / 2, ST_INVALID, NULL);
    data[len - 1] ^= 0x55; /* the block's sync marker */
    expect_failure(manifest_files, data, len, ST_INVALID, "sync");
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_schemas),
        cmocka_unit_test(test_schemas_without_field_ids),
        cmocka_unit_test(test_field_ids_win_over_names),
        cmocka_unit_test(test_pyiceberg_files),
        cmocka_unit_test(test_java_v2_snapshot),
        cmocka_unit_test(test_java_v3_snapshot),
        cmocka_unit_test(test_wrong_kind_of_file),
        cmocka_unit_test(test_truncated_manifest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
