/*
 * test_storage.c - warehouse storage settings, redaction, delegation, what
 * table results carry, the remote-signing location checks, and
 * jsonx_top_string (which finds a table's location without parsing it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/storage.h"
#include "core/alloc.h"
#include "core/jsonx.h"

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    return v;
}

static enum status parse(const char *location, const char *settings, struct storage_settings *out,
                         struct error *err)
{
    json_t *s = settings ? J(settings) : NULL;
    enum status rc = storage_parse("wh1", location, s, out, err);
    json_decref(s);
    return rc;
}

static void test_defaults_follow_the_scheme(void **state)
{
    struct storage_settings s;
    struct error err;

    (void)state;
    assert_int_equal(parse("file:///tmp/x", NULL, &s, &err), ST_OK);
    assert_int_equal(s.type, STORAGE_FILE);
    assert_false(s.remote_signing);
    storage_settings_cleanup(&s);

    assert_int_equal(parse("s3://bucket/wh", "{}", &s, &err), ST_OK);
    assert_int_equal(s.type, STORAGE_S3);
    assert_string_equal(s.region, "us-east-1");
    assert_false(s.path_style);     /* AWS: virtual-hosted */
    assert_false(s.remote_signing); /* no keys, nothing to sign with */
    assert_int_equal(s.vending, VEND_NONE);
    storage_settings_cleanup(&s);

    assert_int_equal(parse("s3a://bucket/wh",
                           "{\"endpoint\":\"http://127.0.0.1:9000\",\"access-key-id\":\"AK\","
                           "\"secret-access-key\":\"SK\"}",
                           &s, &err),
                     ST_OK);
    assert_true(s.path_style); /* a custom endpoint: path style unless told otherwise */
    assert_true(s.remote_signing);
    assert_string_equal(s.client_endpoint, "http://127.0.0.1:9000");
    storage_settings_cleanup(&s);

    assert_int_equal(parse("gs://b/p", NULL, &s, &err), ST_OK);
    assert_int_equal(s.type, STORAGE_GCS);
    storage_settings_cleanup(&s);
}

static void test_bad_settings_name_the_key(void **state)
{
    struct storage_settings s;
    struct error err;

    (void)state;
    assert_int_equal(parse("s3://b/p", "{\"endpont\":\"http://x\"}", &s, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "unknown key endpont"));
    assert_non_null(strstr(err.msg, "wh1"));
    storage_settings_cleanup(&s);
    assert_int_equal(parse("s3://b/p", "{\"path-style-access\":\"yes\"}", &s, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "path-style-access must be a boolean"));
    storage_settings_cleanup(&s);
    assert_int_equal(parse("s3://b/p", "{\"type\":\"gcs\"}", &s, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "does not match"));
    storage_settings_cleanup(&s);
    assert_int_equal(parse("s3://b/p",
                           "{\"vended-credentials\":\"sts\",\"access-key-id\":\"a\","
                           "\"secret-access-key\":\"b\"}",
                           &s, &err),
                     ST_INVALID);
    assert_non_null(strstr(err.msg, "role-arn"));
    storage_settings_cleanup(&s);
    assert_int_equal(parse("s3://b/p", "{\"access-key-id\":\"a\"}", &s, &err), ST_INVALID);
    storage_settings_cleanup(&s);
    assert_int_equal(parse("s3://b/p", "{\"endpoint\":\"ftp://x\"}", &s, &err), ST_INVALID);
    storage_settings_cleanup(&s);
    assert_int_equal(parse("s3://b/p", "{\"credential-duration-seconds\":60}", &s, &err),
                     ST_INVALID);
    storage_settings_cleanup(&s);
    assert_int_equal(parse("file:///x", "{\"vended-credentials\":\"static\"}", &s, &err),
                     ST_INVALID);
    storage_settings_cleanup(&s);
    assert_int_equal(parse("hdfs://nn/x", NULL, &s, &err), ST_INVALID);
    storage_settings_cleanup(&s);
}

static void test_secret_references(void **state)
{
    struct storage_settings s;
    struct error err;
    char path[] = "/tmp/serac-secret-XXXXXX";
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "from-a-file\n", 12), 12);
    close(fd);
    setenv("SERAC_TEST_AK", "from-env", 1);
    char *settings = xasprintf("{\"access-key-id\":\"env:SERAC_TEST_AK\","
                               "\"secret-access-key\":\"file:%s\"}",
                               path);
    assert_int_equal(parse("s3://b/p", settings, &s, &err), ST_OK);
    assert_string_equal(s.access_key_id, "from-env");
    assert_string_equal(s.secret_access_key, "from-a-file");
    storage_settings_cleanup(&s);
    free(settings);

    unsetenv("SERAC_TEST_AK");
    assert_int_equal(parse("s3://b/p",
                           "{\"access-key-id\":\"env:SERAC_TEST_AK\","
                           "\"secret-access-key\":\"x\"}",
                           &s, &err),
                     ST_INVALID);
    assert_non_null(strstr(err.msg, "SERAC_TEST_AK"));
    storage_settings_cleanup(&s);
    unlink(path);
    assert_int_equal(parse("s3://b/p",
                           "{\"access-key-id\":\"a\",\"secret-access-key\":"
                           "\"file:/nonexistent/serac\"}",
                           &s, &err),
                     ST_INVALID);
    assert_non_null(strstr(err.msg, "/nonexistent/serac"));
    storage_settings_cleanup(&s);
}

static void test_redaction(void **state)
{
    json_t *in = J("{\"endpoint\":\"http://e\",\"access-key-id\":\"AKIDVISIBLE\","
                   "\"secret-access-key\":\"TOPSECRET\",\"session-token\":\"env:TOK\","
                   "\"gcs-credentials\":\"file:/run/key.json\",\"gcs-bearer-token\":\"ya29\"}");
    json_t *out = storage_redact(in);
    char *text = jsonx_dump(out);

    (void)state;
    assert_null(strstr(text, "TOPSECRET"));
    assert_null(strstr(text, "ya29"));
    assert_string_equal(json_string_value(json_object_get(out, "secret-access-key")), "****");
    assert_string_equal(json_string_value(json_object_get(out, "session-token")), "env:TOK");
    assert_string_equal(json_string_value(json_object_get(out, "gcs-credentials")),
                        "file:/run/key.json");
    assert_string_equal(json_string_value(json_object_get(out, "access-key-id")), "AKIDVISIBLE");
    assert_string_equal(json_string_value(json_object_get(out, "endpoint")), "http://e");
    free(text);
    json_decref(in);
    json_decref(out);
}

static void test_delegation_header(void **state)
{
    (void)state;
    assert_int_equal(storage_parse_delegation(NULL), 0);
    assert_int_equal(storage_parse_delegation(""), 0);
    assert_int_equal(storage_parse_delegation("vended-credentials"), DELEGATE_VENDED);
    assert_int_equal(storage_parse_delegation(" remote-signing "), DELEGATE_SIGNING);
    assert_int_equal(storage_parse_delegation("vended-credentials,remote-signing"),
                     DELEGATE_VENDED | DELEGATE_SIGNING);
    assert_int_equal(storage_parse_delegation("Remote-Signing, other"), DELEGATE_SIGNING);
    assert_int_equal(storage_parse_delegation("vended-credentialsx"), 0);
}

/* An S3 warehouse entry built through the registry, as the catalog does. */
static struct storage_entry *s3_entry(struct storage_registry *r, const char *settings)
{
    struct storage_entry *e = NULL;
    struct error err;

    storage_registry_init(r);
    assert_int_equal(storage_registry_get(r, 7, "lake", "s3://bucket/wh", settings, &e, &err),
                     ST_OK);
    return e;
}

static void test_table_access_config(void **state)
{
    struct storage_registry r;
    struct storage_entry *e =
        s3_entry(&r, "{\"endpoint\":\"http://10.0.0.1:9000\",\"client-endpoint\":"
                     "\"http://s3.example:9000\",\"access-key-id\":\"AK\",\"secret-access-key\":"
                     "\"SK\",\"vended-credentials\":\"static\"}");
    json_t *cfg = NULL, *creds = NULL;
    struct error err;

    (void)state;
    /* No delegation asked: where the store is, never a key. */
    assert_int_equal(storage_table_access(e, "s3://bucket/wh/ns/t", 0,
                                          "v1/lake/namespaces/ns/"
                                          "tables/t/sign",
                                          &cfg, &creds, &err),
                     ST_OK);
    assert_string_equal(json_string_value(json_object_get(cfg, "s3.endpoint")),
                        "http://s3.example:9000");
    assert_string_equal(json_string_value(json_object_get(cfg, "s3.path-style-access")), "true");
    assert_null(json_object_get(cfg, "s3.access-key-id"));
    assert_int_equal(json_array_size(creds), 0);
    json_decref(cfg);
    json_decref(creds);

    /* Vended: keys in config and in storage-credentials for the table's prefix. */
    assert_int_equal(
        storage_table_access(e, "s3://bucket/wh/ns/t", DELEGATE_VENDED, NULL, &cfg, &creds, &err),
        ST_OK);
    assert_string_equal(json_string_value(json_object_get(cfg, "s3.access-key-id")), "AK");
    assert_int_equal(json_array_size(creds), 1);
    json_t *c0 = json_array_get(creds, 0);
    assert_string_equal(json_string_value(json_object_get(c0, "prefix")), "s3://bucket/wh/ns/t");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c0, "config"), "s3.secret-access-key")),
        "SK");
    json_decref(cfg);
    json_decref(creds);

    /* Signing asked but credentials vended: credentials win, no signer. */
    assert_int_equal(storage_table_access(e, "s3://bucket/wh/ns/t",
                                          DELEGATE_VENDED | DELEGATE_SIGNING, "p", &cfg, &creds,
                                          &err),
                     ST_OK);
    assert_null(json_object_get(cfg, "s3.remote-signing-enabled"));
    json_decref(cfg);
    json_decref(creds);

    /* Signing alone. */
    assert_int_equal(storage_table_access(e, "s3://bucket/wh/ns/t", DELEGATE_SIGNING,
                                          "v1/lake/namespaces/ns/tables/t/sign", &cfg, &creds,
                                          &err),
                     ST_OK);
    assert_string_equal(json_string_value(json_object_get(cfg, "s3.remote-signing-enabled")),
                        "true");
    assert_string_equal(json_string_value(json_object_get(cfg, "signer.endpoint")),
                        "v1/lake/namespaces/ns/tables/t/sign");
    assert_null(json_object_get(cfg, "s3.secret-access-key"));
    json_decref(cfg);
    json_decref(creds);
    storage_registry_cleanup(&r);
}

static enum status sign(struct storage_entry *e, const char *method, const char *uri,
                        const char *body, json_t **out, struct error *err)
{
    json_t *req = json_pack("{s:s, s:s, s:s, s:{s:[s]}}", "method", method, "uri", uri, "region",
                            "us-east-1", "headers", "x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    enum status rc;

    if (body)
        json_object_set_new(req, "body", json_string(body));
    rc = storage_sign(e, "s3://bucket/wh/ns/t", req, out, err);
    json_decref(req);
    return rc;
}

static void expect_forbidden(struct storage_entry *e, const char *method, const char *uri,
                             const char *body)
{
    json_t *out = NULL;
    struct error err;

    error_clear(&err);
    assert_int_equal(sign(e, method, uri, body, &out, &err), ST_INVALID);
    assert_int_equal(err.type, ET_FORBIDDEN);
    assert_null(out);
}

static void expect_signed(struct storage_entry *e, const char *method, const char *uri,
                          const char *body)
{
    json_t *out = NULL;
    struct error err;

    assert_int_equal(sign(e, method, uri, body, &out, &err), ST_OK);
    assert_string_equal(json_string_value(json_object_get(out, "uri")), uri);
    json_t *headers = json_object_get(out, "headers");
    const char *k;
    json_t *v;
    bool auth = false;
    json_object_foreach(headers, k, v)
    {
        if (strcasecmp(k, "authorization") == 0) {
            auth = true;
            assert_non_null(strstr(json_string_value(json_array_get(v, 0)), "Credential=AK/"));
        }
    }
    assert_true(auth);
    json_decref(out);
}

static void test_sign_only_inside_the_table(void **state)
{
    struct storage_registry r;
    struct storage_entry *e =
        s3_entry(&r, "{\"endpoint\":\"http://127.0.0.1:9000\","
                     "\"access-key-id\":\"AK\",\"secret-access-key\":\"SK\"}");

    (void)state;
    expect_signed(e, "GET", "http://127.0.0.1:9000/bucket/wh/ns/t/data/f.parquet", NULL);
    expect_signed(e, "PUT", "http://127.0.0.1:9000/bucket/wh/ns/t/metadata/a%20b.avro?x-id=Put",
                  NULL);
    expect_signed(e, "GET", "http://127.0.0.1:9000/bucket?list-type=2&prefix=wh%2Fns%2Ft%2Fdata",
                  NULL);
    expect_signed(e, "POST", "http://127.0.0.1:9000/bucket?delete",
                  "<Delete><Object><Key>wh/ns/t/data/a</Key></Object>"
                  "<Object><Key>wh/ns/t/data/b</Key></Object></Delete>");
    /* Virtual-hosted addressing on the same endpoint host. */
    expect_signed(e, "GET", "http://bucket.127.0.0.1:9000/wh/ns/t/x", NULL);

    /* Another table whose name extends this one's, another bucket, another host. */
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket/wh/ns/t2/data/f.parquet", NULL);
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket/wh/ns/other/x", NULL);
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket2/wh/ns/t/x", NULL);
    expect_forbidden(e, "GET", "http://evil.example:9000/bucket/wh/ns/t/x", NULL);
    expect_forbidden(e, "GET", "http://127.0.0.1:9001/bucket/wh/ns/t/x", NULL);
    /* Encoded tricks decode before the check. */
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket/wh/ns/t%32/x", NULL);
    /* Dot segments, plain or encoded, could climb out on a normalising store. */
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket/wh/ns/t/../t2/x", NULL);
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket/wh/ns/t/%2E%2E/t2/x", NULL);
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket/wh/ns/t/./x", NULL);
    /* An escaped NUL must not cut the key short of its dot segments: refused as malformed. */
    {
        json_t *out = NULL;
        struct error err;

        error_clear(&err);
        assert_int_equal(sign(e, "GET", "http://127.0.0.1:9000/bucket/wh/ns/t/x%00/../../other/y",
                              NULL, &out, &err),
                         ST_INVALID);
        assert_int_equal(err.type, ET_BAD_REQUEST);
        assert_null(out);
    }
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket?list-type=2&prefix=wh%2Fns%2Ft%2F%00",
                     NULL);
    /* The table's own prefix without a slash is not inside it. */
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket/wh/ns/t", NULL);
    /* Bucket-level requests: listing elsewhere, listing everything, deleting outside. */
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket?list-type=2&prefix=wh%2Fns", NULL);
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket?list-type=2", NULL);
    expect_forbidden(e, "POST", "http://127.0.0.1:9000/bucket?delete",
                     "<Delete><Object><Key>wh/ns/t/data/a</Key></Object>"
                     "<Object><Key>wh/ns/other/b</Key></Object></Delete>");
    expect_forbidden(e, "DELETE", "http://127.0.0.1:9000/bucket", NULL);

    /* Malformed requests are 400, not 403. */
    json_t *out = NULL;
    struct error err;
    json_t *bad =
        J("{\"method\":\"GET\",\"uri\":\"x\",\"region\":\"r\",\"headers\":{\"a\":\"b\"}}");
    assert_int_equal(storage_sign(e, "s3://bucket/wh/ns/t", bad, &out, &err), ST_INVALID);
    assert_int_equal(err.type, ET_BAD_REQUEST);
    json_decref(bad);
    bad = J("{\"method\":\"TRACE\",\"uri\":\"http://127.0.0.1:9000/bucket/wh/ns/t/x\","
            "\"region\":\"r\",\"headers\":{}}");
    assert_int_equal(storage_sign(e, "s3://bucket/wh/ns/t", bad, &out, &err), ST_INVALID);
    assert_int_equal(err.type, ET_BAD_REQUEST);
    json_decref(bad);
    storage_registry_cleanup(&r);
}

static void test_sign_refused_without_signing(void **state)
{
    struct storage_registry r;
    struct storage_entry *e =
        s3_entry(&r, "{\"endpoint\":\"http://127.0.0.1:9000\",\"access-key-id\":\"AK\","
                     "\"secret-access-key\":\"SK\",\"remote-signing\":false}");

    (void)state;
    expect_forbidden(e, "GET", "http://127.0.0.1:9000/bucket/wh/ns/t/data/f.parquet", NULL);
    storage_registry_cleanup(&r);
}

static void test_registry_rebuilds_on_change(void **state)
{
    struct storage_registry r;
    struct storage_entry *a = NULL, *b = NULL, *c = NULL;
    struct error err;

    (void)state;
    storage_registry_init(&r);
    assert_int_equal(storage_registry_get(&r, 1, "w", "file:///tmp/w", "{}", &a, &err), ST_OK);
    assert_int_equal(storage_registry_get(&r, 1, "w", "file:///tmp/w", "{}", &b, &err), ST_OK);
    assert_ptr_equal(a, b);
    assert_int_equal(
        storage_registry_get(&r, 1, "w", "s3://b/w", "{\"region\":\"eu-west-1\"}", &c, &err),
        ST_OK);
    assert_ptr_not_equal(a, c);
    assert_int_equal(c->settings.type, STORAGE_S3);
    assert_string_equal(a->location, "file:///tmp/w"); /* the old entry stays valid */
    /* Settings that no longer resolve are a server-side failure naming the warehouse. */
    assert_int_equal(storage_registry_get(&r, 2, "broken", "s3://b/x",
                                          "{\"access-key-id\":\"env:SERAC_TEST_NOPE\","
                                          "\"secret-access-key\":\"x\"}",
                                          &c, &err),
                     ST_IO);
    assert_non_null(strstr(err.msg, "broken"));
    storage_registry_cleanup(&r);
}

static void test_check_location(void **state)
{
    struct storage_registry r;
    struct storage_entry *e = s3_entry(&r, "{}");
    struct error err;

    (void)state;
    assert_int_equal(storage_check_location(e, "s3://bucket/wh/x", &err), ST_OK);
    assert_int_equal(storage_check_location(e, "s3a://other/x", &err), ST_OK);
    assert_int_equal(storage_check_location(e, "file:///tmp/x", &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "lake"));
    assert_int_equal(storage_check_location(e, "s3:///nobucket", &err), ST_INVALID);
    assert_int_equal(storage_check_location(NULL, "file:/tmp/../etc", &err), ST_INVALID);
    assert_int_equal(storage_check_location(NULL, "gs://b/x", &err), ST_OK);
    assert_int_equal(storage_check_location(NULL, "abfs://c@a/x", &err), ST_INVALID);
    storage_registry_cleanup(&r);
}

static void test_top_string(void **state)
{
    char *v;

    (void)state;
    v = jsonx_top_string("{\"format-version\":2,\"nested\":{\"location\":\"no\"},"
                         "\"arr\":[{\"location\":\"no\"},\"a,b\",[1,[2]]],\"s\":\"x\\\"y\","
                         "\"location\" : \"s3://b/t\\u00e9\",\"z\":null}",
                         "location");
    assert_string_equal(v, "s3://b/t\xc3\xa9");
    free(v);
    assert_null(jsonx_top_string("{\"a\":{\"location\":\"x\"}}", "location"));
    assert_null(jsonx_top_string("{\"location\":5}", "location"));
    assert_null(jsonx_top_string("[\"location\"]", "location"));
    assert_null(jsonx_top_string("{\"location\":", "location"));
    assert_null(jsonx_top_string("{\"a\":[1,2", "location"));
    assert_null(jsonx_top_string("", "location"));
    v = jsonx_top_string(" { \"table-uuid\" : \"u\" } ", "table-uuid");
    assert_string_equal(v, "u");
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_follow_the_scheme),
        cmocka_unit_test(test_bad_settings_name_the_key),
        cmocka_unit_test(test_secret_references),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_delegation_header),
        cmocka_unit_test(test_table_access_config),
        cmocka_unit_test(test_sign_only_inside_the_table),
        cmocka_unit_test(test_sign_refused_without_signing),
        cmocka_unit_test(test_registry_rebuilds_on_change),
        cmocka_unit_test(test_check_location),
        cmocka_unit_test(test_top_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
