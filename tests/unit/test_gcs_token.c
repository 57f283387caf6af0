/*
 * test_gcs_token.c - the GCS fileio's authentication and HTTP handling
 * against an in-process libmicrohttpd server that plays both Google's OAuth2
 * token endpoint and a tiny GCS JSON API. The token endpoint checks the JWT
 * assertion as Google does (RS256 signature with the service account's public
 * key; iss, scope, aud, iat, exp); the storage side records the exact request
 * targets and Authorization headers, answers scripted statuses (to exercise
 * retries), batch deletes, and keeps one object for create-only writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "io/fileio.h"
#include "io/gcs.h"
#include "io/httpc.h"

#define EMAIL "serac-test@example-project.iam.gserviceaccount.com"
#define SCOPE "https://www.googleapis.com/auth/devstorage.read_write"
#define KEY_ID "0123456789abcdef"
#define LABEL "wh-token"
#define MAX_SCRIPT 8

/* The server's state, shared with its connection threads (guarded by srv_lock). */
struct server {
    unsigned short port;
    char token_uri[64];
    EVP_PKEY *pub; /* verifies assertions */
    int expires_in;
    bool token_refuse; /* answer token requests 400 invalid_grant */
    int token_requests;
    char jwt_problem[256]; /* the first thing wrong with an assertion, "" if none */
    char last_assertion[4096];
    int storage_requests;
    char last_target[1024]; /* raw request target (still percent-encoded) */
    char last_auth[256];
    int script[MAX_SCRIPT]; /* statuses for the next storage requests, then normal answers */
    size_t n_script;
    int batch_requests;
    char batch_paths[4096]; /* inner request lines of the last batch, one per line */
    int flaky_left;         /* batch parts for ".../flaky" answer 503 this many times */
    char obj_name[256];     /* the one stored object ("" = none) */
    struct buf obj;
};

static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER; /* protects srv */
static struct server srv;
static struct MHD_Daemon *daemon_;
static EVP_PKEY *key;
static char *key_pem;

/* One request in flight: its raw target and body. */
struct req {
    char *target;
    struct buf body;
    bool started;
};

/* --- JWT checking (what Google's token endpoint does) --- */

static size_t b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    char *std = xmalloc(n + 4);
    size_t m = 0;
    int len;

    for (size_t i = 0; i < n; i++)
        std[m++] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    while (m % 4)
        std[m++] = '=';
    assert_true(m / 4 * 3 <= cap);
    len = EVP_DecodeBlock(out, (unsigned char *)std, (int)m);
    free(std);
    if (len < 0)
        return 0;
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    for (size_t i = n; i % 4; i++)
        len--;
    return (size_t)len;
}

static json_t *b64url_json(const char *in, size_t n)
{
    unsigned char buf[2048];
    size_t len = b64url_decode(in, n, buf, sizeof(buf));

    return json_loadb((char *)buf, len, 0, NULL);
}

/* check_jwt returns NULL when the assertion is what Google wants, else what is wrong. */
static const char *check_jwt(const char *jwt)
{
    const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    unsigned char sig[1024];
    size_t sig_len;
    json_t *hdr = NULL, *claims = NULL;
    const char *problem = NULL;
    EVP_MD_CTX *md;
    int64_t now = time(NULL), iat, exp;

    if (!dot1 || !dot2)
        return "not three parts";
    hdr = b64url_json(jwt, (size_t)(dot1 - jwt));
    claims = b64url_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    sig_len = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig));
    md = EVP_MD_CTX_new();
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, srv.pub) != 1 ||
        EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)jwt, (size_t)(dot2 - jwt)) != 1)
        problem = "bad RS256 signature";
    EVP_MD_CTX_free(md);
    iat = json_integer_value(json_object_get(claims, "iat"));
    exp = json_integer_value(json_object_get(claims, "exp"));
    if (problem) {
    } else if (!hdr || !claims) {
        problem = "header or claims are not JSON";
    } else if (strcmp(json_string_value(json_object_get(hdr, "alg")), "RS256") != 0 ||
               strcmp(json_string_value(json_object_get(hdr, "typ")), "JWT") != 0) {
        problem = "header alg/typ";
    } else if (!json_is_string(json_object_get(hdr, "kid")) ||
               strcmp(json_string_value(json_object_get(hdr, "kid")), KEY_ID) != 0) {
        problem = "header kid";
    } else if (!json_is_string(json_object_get(claims, "iss")) ||
               strcmp(json_string_value(json_object_get(claims, "iss")), EMAIL) != 0) {
        problem = "iss";
    } else if (!json_is_string(json_object_get(claims, "scope")) ||
               strcmp(json_string_value(json_object_get(claims, "scope")), SCOPE) != 0) {
        problem = "scope";
    } else if (!json_is_string(json_object_get(claims, "aud")) ||
               strcmp(json_string_value(json_object_get(claims, "aud")), srv.token_uri) != 0) {
        problem = "aud";
    } else if (iat < now - 60 || iat > now + 60 || exp != iat + 3600) {
        problem = "iat/exp";
    }
    json_decref(hdr);
    json_decref(claims);
    return problem;
}

/* form_value copies the value of name in an x-www-form-urlencoded body (no decoding needed). */
static bool form_value(const char *body, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);

    for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            snprintf(out, cap, "%.*s", (int)strcspn(p + n + 1, "&"), p + n + 1);
            return true;
        }
    }
    return false;
}

/* --- the server --- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *ctype,
                             const void *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (ctype)
        MHD_add_response_header(r, "Content-Type", ctype);
    ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned code, const char *json)
{
    return reply(conn, code, "application/json", json, strlen(json));
}

static enum MHD_Result on_token(struct MHD_Connection *conn, const char *body)
{
    char grant[128] = "", assertion[4096] = "", out[256];
    const char *problem;

    pthread_mutex_lock(&srv_lock);
    srv.token_requests++;
    form_value(body, "assertion", assertion, sizeof(assertion));
    form_value(body, "grant_type", grant, sizeof(grant));
    snprintf(srv.last_assertion, sizeof(srv.last_assertion), "%s", assertion);
    if (strcmp(grant, "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") != 0)
        problem = "grant_type";
    else
        problem = check_jwt(assertion);
    if (problem && !srv.jwt_problem[0])
        snprintf(srv.jwt_problem, sizeof(srv.jwt_problem), "%s", problem);
    if (problem || srv.token_refuse) {
        pthread_mutex_unlock(&srv_lock);
        return reply_json(conn, 400,
                          "{\"error\":\"invalid_grant\",\"error_description\":"
                          "\"Invalid JWT Signature.\"}");
    }
    snprintf(out, sizeof(out),
             "{\"access_token\":\"tok-%d\",\"expires_in\":%d,\"token_type\":\"Bearer\"}",
             srv.token_requests, srv.expires_in);
    pthread_mutex_unlock(&srv_lock);
    return reply_json(conn, 200, out);
}

/* on_batch answers each part of a batch delete: 503 for flaky objects (while flaky_left), 403 for
 * denied ones, else 204. */
static enum MHD_Result on_batch(struct MHD_Connection *conn, const char *body)
{
    struct buf out;
    const char *p = body;
    enum MHD_Result ret;

    buf_init(&out, 0);
    srv.batch_paths[0] = '\0';
    while ((p = strstr(p, "Content-ID: <"))) {
        const char *id = p + 13, *line = strstr(p, "\r\n\r\n");
        size_t id_len = strcspn(id, ">"), line_len;
        int status = 204;

        if (!line)
            break;
        line += 4;
        line_len = strcspn(line, "\r");
        snprintf(srv.batch_paths + strlen(srv.batch_paths),
                 sizeof(srv.batch_paths) - strlen(srv.batch_paths), "%.*s\n", (int)line_len, line);
        if (memmem(line, line_len, "flaky ", 6) && srv.flaky_left > 0) {
            srv.flaky_left--;
            status = 503;
        } else if (memmem(line, line_len, "denied ", 7)) {
            status = 403;
        }
        buf_printf(&out,
                   "--resp_b\r\nContent-Type: application/http\r\nContent-ID: <response-%.*s>\r\n"
                   "\r\nHTTP/1.1 %d X\r\nContent-Type: application/json\r\n\r\n",
                   (int)id_len, id, status);
        if (status == 403)
            buf_puts(&out, "{\"error\":{\"code\":403,\"message\":\"caller lacks "
                           "storage.objects.delete\"}}");
        buf_puts(&out, "\r\n");
        p = line;
    }
    buf_puts(&out, "--resp_b--\r\n");
    ret = reply(conn, 200, "multipart/mixed; boundary=resp_b", out.data, out.len);
    buf_cleanup(&out);
    return ret;
}

/* store_upload keeps an uploaded object, or refuses a create-only one onto it: 200 or 412. */
static int store_upload(const char *target, const struct buf *body)
{
    static const char upload[] = "/upload/storage/v1/b/bkt/o?uploadType=media&name=";
    const char *n = target + sizeof(upload) - 1;
    char name[256];

    snprintf(name, sizeof(name), "%.*s", (int)strcspn(n, "&"), n);
    if (strstr(n, "&ifGenerationMatch=0") && strcmp(name, srv.obj_name) == 0)
        return 412;
    snprintf(srv.obj_name, sizeof(srv.obj_name), "%s", name);
    buf_reset(&srv.obj);
    buf_append(&srv.obj, body->data ? body->data : "", body->len);
    return 200;
}

/* on_storage answers the JSON API paths the tests use (srv_lock held). */
static enum MHD_Result on_storage(struct MHD_Connection *conn, const char *method,
                                  const char *target, const struct buf *body, int scripted)
{
    static const char prefix[] = "/storage/v1/b/bkt/o/";
    char name[256] = "";

    if (strncmp(target, "/upload/storage/v1/b/bkt/o?uploadType=media&name=", 48) == 0) {
        /* The write lands even when the script makes its answer a failure (a lost answer). */
        int st = store_upload(target, body);

        if (scripted)
            return reply_json(conn, (unsigned)scripted,
                              "{\"error\":{\"code\":503,\"message\":\"scripted failure\"}}");
        if (st == 412)
            return reply_json(conn, 412,
                              "{\"error\":{\"code\":412,\"message\":\"At least one "
                              "of the pre-conditions you specified did not hold.\"}}");
        return reply_json(conn, 200, "{\"kind\":\"storage#object\"}");
    }
    if (scripted)
        return reply_json(conn, (unsigned)scripted,
                          "{\"error\":{\"code\":0,\"message\":\"scripted failure\"}}");
    if (strcmp(method, "POST") == 0 && strstr(target, "/rewriteTo/")) {
        /* A rewrite in two calls, as GCS does for large or cross-location copies. */
        if (strstr(target, "?rewriteToken=rt%2B1"))
            return reply_json(conn, 200, "{\"done\":true,\"resource\":{}}");
        return reply_json(conn, 200, "{\"done\":false,\"rewriteToken\":\"rt+1\"}");
    }
    if (strcmp(target, "/batch/storage/v1") == 0) {
        srv.batch_requests++;
        return on_batch(conn, body->data ? body->data : "");
    }
    if (strcmp(method, "GET") == 0 && strncmp(target, prefix, sizeof(prefix) - 1) == 0) {
        const char *n = target + sizeof(prefix) - 1;

        snprintf(name, sizeof(name), "%.*s", (int)strcspn(n, "?"), n);
        if (srv.obj_name[0] && strcmp(name, srv.obj_name) == 0)
            return reply(conn, 200, "application/octet-stream", srv.obj.data ? srv.obj.data : "",
                         srv.obj.len);
        if (strcmp(name, "hello") == 0)
            return reply(conn, 200, "text/plain", "hello", 5);
        return reply_json(conn, 404,
                          "{\"error\":{\"code\":404,\"message\":\"No such object: "
                          "bkt/x\"}}");
    }
    return reply_json(conn, 400, "{\"error\":{\"code\":400,\"message\":\"unexpected\"}}");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct req *r = *con_cls;
    const char *auth;
    enum MHD_Result ret;
    int scripted = 0;

    (void)cls;
    (void)url;
    (void)version;
    if (!r->started) {
        r->started = true;
        return MHD_YES;
    }
    if (*upload_size) {
        buf_append(&r->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(r->target, "/token") == 0)
        return on_token(conn, r->body.data ? r->body.data : "");
    pthread_mutex_lock(&srv_lock);
    srv.storage_requests++;
    snprintf(srv.last_target, sizeof(srv.last_target), "%s", r->target);
    auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    snprintf(srv.last_auth, sizeof(srv.last_auth), "%s", auth ? auth : "");
    if (srv.n_script) {
        scripted = srv.script[0];
        memmove(srv.script, srv.script + 1, --srv.n_script * sizeof(*srv.script));
    }
    ret = on_storage(conn, method, r->target, &r->body, scripted);
    pthread_mutex_unlock(&srv_lock);
    return ret;
}

/* on_uri keeps the raw request target (MHD decodes the url it passes on_request). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct req *r = xcalloc(1, sizeof(*r));

    (void)cls;
    (void)conn;
    r->target = xstrdup(uri);
    buf_init(&r->body, 0);
    return r;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode code)
{
    struct req *r = *con_cls;

    (void)cls;
    (void)conn;
    (void)code;
    if (r) {
        free(r->target);
        buf_cleanup(&r->body);
        free(r);
    }
    *con_cls = NULL;
}

/* --- fixtures --- */

static int setup_group(void **state)
{
    const union MHD_DaemonInfo *info;
    BIO *bio = BIO_new(BIO_s_mem());
    char *p;
    long n;

    (void)state;
    httpc_global_init();
    key = EVP_RSA_gen(2048);
    if (!key || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
        return -1;
    n = BIO_get_mem_data(bio, &p);
    key_pem = xstrndup(p, (size_t)n);
    BIO_free(bio);
    daemon_ = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                   MHD_USE_ERROR_LOG,
                               0, NULL, NULL, on_request, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
                               NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    if (!daemon_)
        return -1;
    info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    srv.port = info->port;
    buf_init(&srv.obj, 0);
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    MHD_stop_daemon(daemon_);
    buf_cleanup(&srv.obj);
    EVP_PKEY_free(key);
    free(key_pem);
    return 0;
}

/* setup resets the server: fresh counters, tokens valid an hour, no script, no object. */
static int setup(void **state)
{
    (void)state;
    pthread_mutex_lock(&srv_lock);
    srv.pub = key;
    snprintf(srv.token_uri, sizeof(srv.token_uri), "http://127.0.0.1:%u/token", srv.port);
    srv.expires_in = 3600;
    srv.token_refuse = false;
    srv.token_requests = srv.storage_requests = srv.batch_requests = 0;
    srv.jwt_problem[0] = srv.last_assertion[0] = srv.last_target[0] = srv.last_auth[0] = '\0';
    srv.n_script = 0;
    srv.flaky_left = 0;
    srv.obj_name[0] = '\0';
    buf_reset(&srv.obj);
    pthread_mutex_unlock(&srv_lock);
    return 0;
}

static void script(const int *statuses, size_t n)
{
    pthread_mutex_lock(&srv_lock);
    memcpy(srv.script, statuses, n * sizeof(*statuses));
    srv.n_script = n;
    pthread_mutex_unlock(&srv_lock);
}

/* key_json returns a service-account key for our server (owned); NULL fields are left out. */
static char *key_json(const char *type, const char *email, const char *pem, const char *uri)
{
    json_t *o = json_object();
    char *s;

    json_object_set_new(o, "project_id", json_string("example-project"));
    json_object_set_new(o, "private_key_id", json_string(KEY_ID));
    if (type)
        json_object_set_new(o, "type", json_string(type));
    if (email)
        json_object_set_new(o, "client_email", json_string(email));
    if (pem)
        json_object_set_new(o, "private_key", json_string(pem));
    if (uri)
        json_object_set_new(o, "token_uri", json_string(uri));
    s = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    return s;
}

static struct fileio *new_io(const char *creds, const char *bearer, unsigned attempts)
{
    char ep[64];
    struct gcs_config cfg = {.endpoint = ep,
                             .credentials_json = creds,
                             .bearer_token = bearer,
                             .label = LABEL,
                             .max_attempts = attempts,
                             .timeout_ms = 10000};
    struct fileio *io = NULL;
    struct error err;

    snprintf(ep, sizeof(ep), "http://127.0.0.1:%u/", srv.port);
    if (fileio_gcs_new(&cfg, &io, &err))
        fail_msg("fileio_gcs_new: %s", err.msg);
    return io;
}

static struct fileio *sa_io(unsigned attempts)
{
    char *creds = key_json("service_account", EMAIL, key_pem, srv.token_uri);
    struct fileio *io = new_io(creds, NULL, attempts);

    free(creds);
    return io;
}

static enum status read_hello(struct fileio *io, struct error *err)
{
    char *data = NULL;
    size_t len = 0;
    enum status rc = fileio_read(io, "gs://bkt/hello", 100, &data, &len, err);

    if (rc == ST_OK)
        assert_string_equal(data, "hello");
    free(data);
    return rc;
}

static int token_requests(void)
{
    int n;

    pthread_mutex_lock(&srv_lock);
    n = srv.token_requests;
    pthread_mutex_unlock(&srv_lock);
    return n;
}

/* a_line_of_the_key returns (owned) 40 characters from the middle of the PEM body. */
static char *a_line_of_the_key(void)
{
    const char *body = strchr(key_pem, '\n') + 1;

    return xstrndup(body + 200, 40);
}

/* --- tests --- */

static void test_token_fetched_once_and_sent(void **state)
{
    struct fileio *io = sa_io(0);
    struct error err;
    char *tok = NULL;
    int64_t exp = 0, now = clock_now_ms();

    (void)state;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(read_hello(io, &err), ST_OK);
        assert_string_equal(srv.last_auth, "Bearer tok-1");
    }
    assert_string_equal(srv.jwt_problem, "");
    assert_int_equal(token_requests(), 1);
    assert_int_equal(srv.storage_requests, 3);

    /* Credential vending gets the same token and its expiry. */
    assert_int_equal(gcs_access_token(io, &tok, &exp, &err), ST_OK);
    assert_string_equal(tok, "tok-1");
    assert_true(exp >= now + 3599000 && exp <= clock_now_ms() + 3600000);
    assert_int_equal(token_requests(), 1);
    free(tok);
    fileio_free(io);
}

static void test_token_refreshed_before_expiry(void **state)
{
    struct fileio *io;
    struct error err;

    (void)state;
    /* Valid for 61 s: usable for one second, given the 60 s margin. */
    srv.expires_in = 61;
    io = sa_io(0);
    assert_int_equal(read_hello(io, &err), ST_OK);
    assert_int_equal(read_hello(io, &err), ST_OK);
    assert_int_equal(token_requests(), 1);
    assert_string_equal(srv.last_auth, "Bearer tok-1");
    clock_sleep_ms(1100);
    assert_int_equal(read_hello(io, &err), ST_OK);
    assert_int_equal(token_requests(), 2);
    assert_string_equal(srv.last_auth, "Bearer tok-2");
    assert_string_equal(srv.jwt_problem, "");
    fileio_free(io);

    /* Valid for 60 s or less: never reused. */
    srv.expires_in = 30;
    io = sa_io(0);
    assert_int_equal(read_hello(io, &err), ST_OK);
    assert_int_equal(read_hello(io, &err), ST_OK);
    assert_int_equal(token_requests(), 4);
    fileio_free(io);
}

static void test_bad_key_json_refused(void **state)
{
    char *secret_line = a_line_of_the_key();
    char *broken = xasprintf("{\"type\":\"service_account\",\"private_key\":\"%s", secret_line);
    char *pem_garbage =
        xasprintf("-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n", secret_line);
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    char *ec_pem, *p;
    long n;
    struct {
        char *json;
        const char *says;
    } cases[6];
    struct gcs_config cfg = {.label = LABEL};
    struct fileio sentinel, *io = &sentinel; /* fileio_gcs_new must set it to NULL */
    struct error err;

    (void)state;
    assert_non_null(ec);
    assert_true(PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0, NULL, NULL));
    n = BIO_get_mem_data(bio, &p);
    ec_pem = xstrndup(p, (size_t)n);
    cases[0].json = xstrdup(broken), cases[0].says = "not a JSON object";
    cases[1].json = key_json("authorized_user", EMAIL, key_pem, srv.token_uri);
    cases[1].says = "\"type\"";
    cases[2].json = key_json("service_account", NULL, key_pem, srv.token_uri);
    cases[2].says = "client_email";
    cases[3].json = key_json("service_account", EMAIL, pem_garbage, srv.token_uri);
    cases[3].says = "private_key";
    cases[4].json = key_json("service_account", EMAIL, ec_pem, srv.token_uri);
    cases[4].says = "RSA";
    cases[5].json = key_json("service_account", EMAIL, key_pem, NULL);
    cases[5].says = "token_uri";
    for (size_t i = 0; i < 6; i++) {
        cfg.credentials_json = cases[i].json;
        io = &sentinel;
        assert_int_equal(fileio_gcs_new(&cfg, &io, &err), ST_INVALID);
        assert_null(io);
        if (!strstr(err.msg, cases[i].says) || !strstr(err.msg, LABEL))
            fail_msg("case %zu: \"%s\" does not say %s", i, err.msg, cases[i].says);
        if (strstr(err.msg, secret_line) || strstr(err.msg, "BEGIN"))
            fail_msg("case %zu: the message quotes the key: %s", i, err.msg);
        free(cases[i].json);
    }
    /* A key and a fixed token at once is ambiguous. */
    cfg.credentials_json = "{}";
    cfg.bearer_token = "t";
    assert_int_equal(fileio_gcs_new(&cfg, &io, &err), ST_INVALID);
    assert_non_null(strstr(err.msg, "not both"));
    assert_int_equal(token_requests(), 0);
    BIO_free(bio);
    EVP_PKEY_free(ec);
    free(ec_pem);
    free(secret_line);
    free(broken);
    free(pem_garbage);
}

static void test_token_endpoint_refusal(void **state)
{
    struct fileio *io = sa_io(0);
    char *secret_line = a_line_of_the_key(), *sig, *tok = NULL;
    int64_t exp;
    struct error err;

    (void)state;
    srv.token_refuse = true;
    assert_int_equal(read_hello(io, &err), ST_IO);
    assert_non_null(strstr(err.msg, "HTTP 400"));
    assert_non_null(strstr(err.msg, "invalid_grant"));
    assert_non_null(strstr(err.msg, "Invalid JWT Signature."));
    assert_non_null(strstr(err.msg, EMAIL));
    assert_non_null(strstr(err.msg, LABEL));
    /* Neither the key nor the signed assertion appears. */
    assert_null(strstr(err.msg, secret_line));
    sig = strrchr(srv.last_assertion, '.');
    assert_non_null(sig);
    assert_null(strstr(err.msg, sig + 1));
    assert_int_equal(srv.storage_requests, 0);
    /* A 400 is not retried. */
    assert_int_equal(token_requests(), 1);
    assert_int_equal(gcs_access_token(io, &tok, &exp, &err), ST_IO);
    assert_null(tok);

    /* Once the endpoint accepts again, so does the fileio. */
    srv.token_refuse = false;
    assert_int_equal(read_hello(io, &err), ST_OK);
    assert_string_equal(srv.jwt_problem, "");
    free(secret_line);
    fileio_free(io);
}

static void test_fixed_bearer_and_anonymous(void **state)
{
    struct fileio *io = new_io(NULL, "fixed-abc", 0);
    char *tok = NULL;
    int64_t exp = -1;
    struct error err;

    (void)state;
    assert_int_equal(read_hello(io, &err), ST_OK);
    assert_string_equal(srv.last_auth, "Bearer fixed-abc");
    assert_int_equal(gcs_access_token(io, &tok, &exp, &err), ST_OK);
    assert_string_equal(tok, "fixed-abc");
    assert_int_equal(exp, 0);
    free(tok);
    fileio_free(io);

    io = new_io(NULL, NULL, 0);
    assert_int_equal(read_hello(io, &err), ST_OK);
    assert_string_equal(srv.last_auth, "");
    assert_int_equal(gcs_access_token(io, &tok, &exp, &err), ST_INVALID);
    assert_int_equal(token_requests(), 0);
    fileio_free(io);

    /* Something else than a GCS fileio has no token either. */
    io = fileio_local_new();
    assert_int_equal(gcs_access_token(io, &tok, &exp, &err), ST_INVALID);
    fileio_free(io);
}

static void test_request_targets_encoded(void **state)
{
    struct fileio *io = new_io(NULL, NULL, 0);
    char *data = NULL;
    size_t len;
    struct error err;

    (void)state;
    assert_int_equal(fileio_read(io, "gs://bkt/a/b c+\xc3\xa9%?#", 10, &data, &len, &err),
                     ST_NOT_FOUND);
    assert_string_equal(srv.last_target,
                        "/storage/v1/b/bkt/o/a%2Fb%20c%2B%C3%A9%25%3F%23?alt=media");
    assert_int_equal(fileio_write(io, "gs://bkt/d/x y", "v", 1, true, &err), ST_OK);
    assert_string_equal(srv.last_target, "/upload/storage/v1/b/bkt/o?uploadType=media&name=d%2Fx%"
                                         "20y&ifGenerationMatch=0");
    assert_int_equal(fileio_write(io, "gs://bkt/d/x y", "w", 1, false, &err), ST_OK);
    assert_string_equal(srv.last_target,
                        "/upload/storage/v1/b/bkt/o?uploadType=media&name=d%2Fx%20y");
    fileio_free(io);
}

static void test_retries(void **state)
{
    static const int two_busy[] = {503, 429};
    static const int always_busy[] = {503, 503, 503};
    static const int bad_request[] = {400};
    struct fileio *io = new_io(NULL, NULL, 3);
    struct error err;

    (void)state;
    script(two_busy, 2);
    assert_int_equal(read_hello(io, &err), ST_OK);
    assert_int_equal(srv.storage_requests, 3);

    script(always_busy, 3);
    assert_int_equal(read_hello(io, &err), ST_UNAVAILABLE);
    assert_int_equal(err.type, ET_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "scripted failure"));
    assert_int_equal(srv.storage_requests, 6);

    /* A 400 is the caller's fault: no second try. */
    script(bad_request, 1);
    assert_int_equal(read_hello(io, &err), ST_IO);
    assert_non_null(strstr(err.msg, "HTTP 400"));
    assert_non_null(strstr(err.msg, "gs://bkt/hello"));
    assert_int_equal(srv.storage_requests, 7);
    fileio_free(io);
}

static void test_401_gets_a_new_token(void **state)
{
    static const int unauthorized[] = {401};
    static const int denied[] = {403};
    struct fileio *io = sa_io(0);
    struct error err;

    (void)state;
    assert_int_equal(read_hello(io, &err), ST_OK);
    script(unauthorized, 1);
    assert_int_equal(read_hello(io, &err), ST_OK);
    assert_int_equal(token_requests(), 2);
    assert_string_equal(srv.last_auth, "Bearer tok-2");

    /* A 403 is no token problem: reported, naming the bucket. */
    script(denied, 1);
    assert_int_equal(read_hello(io, &err), ST_IO);
    assert_non_null(strstr(err.msg, "bucket 'bkt'"));
    assert_non_null(strstr(err.msg, LABEL));
    assert_non_null(strstr(err.msg, "scripted failure"));
    assert_null(strstr(err.msg, "tok-"));
    assert_int_equal(token_requests(), 2);
    fileio_free(io);
}

static void test_create_only_after_lost_answer(void **state)
{
    static const int lost[] = {503};
    struct fileio *io = new_io(NULL, NULL, 0);
    struct error err;

    (void)state;
    /* The first try lands but its answer is a 503; the retry meets our own object. */
    script(lost, 1);
    assert_int_equal(fileio_write(io, "gs://bkt/m/1.json", "{\"v\":1}", 7, true, &err), ST_OK);
    assert_int_equal(srv.storage_requests, 3); /* try, retry (412), read back */

    /* Someone else's object under the name is a real conflict. */
    script(lost, 1);
    assert_int_equal(fileio_write(io, "gs://bkt/m/1.json", "{\"v\":2}", 7, true, &err), ST_EXISTS);
    assert_int_equal(fileio_write(io, "gs://bkt/m/1.json", "{\"v\":1}", 7, true, &err), ST_EXISTS);
    fileio_free(io);
}

static void test_batch_delete(void **state)
{
    const char *locs[] = {"gs://bkt/x/a", "gs://bkt/x/flaky", "gs://bkt/x/b c"};
    const char *denied[] = {"gs://bkt/x/a", "gs://bkt/x/denied"};
    struct fileio *io = sa_io(0);
    const char **many = xcalloc(250, sizeof(*many));
    struct error err;

    (void)state;
    srv.flaky_left = 1;
    assert_int_equal(fileio_remove_many(io, locs, 3, &err), ST_OK);
    /* The part that got a 503 went again, alone. */
    assert_int_equal(srv.batch_requests, 2);
    assert_string_equal(srv.batch_paths, "DELETE /storage/v1/b/bkt/o/x%2Fflaky HTTP/1.1\n");
    assert_string_equal(srv.last_auth, "Bearer tok-1");

    assert_int_equal(fileio_remove_many(io, denied, 2, &err), ST_IO);
    assert_non_null(strstr(err.msg, "gs://bkt/x/denied"));
    assert_non_null(strstr(err.msg, "HTTP 403"));
    assert_non_null(strstr(err.msg, "storage.objects.delete"));
    assert_int_equal(srv.batch_requests, 3);

    /* 250 objects take three requests of at most 100. */
    for (size_t i = 0; i < 250; i++)
        many[i] = xasprintf("gs://bkt/many/%zu", i);
    assert_int_equal(fileio_remove_many(io, many, 250, &err), ST_OK);
    assert_int_equal(srv.batch_requests, 6);
    assert_non_null(strstr(srv.batch_paths, "many%2F249 "));
    assert_null(strstr(srv.batch_paths, "many%2F199 "));
    for (size_t i = 0; i < 250; i++)
        free((char *)many[i]);
    free(many);
    fileio_free(io);
}

static void test_copy_resumes_rewrite(void **state)
{
    struct fileio *io = new_io(NULL, NULL, 0);
    struct error err;

    (void)state;
    assert_int_equal(fileio_copy(io, "gs://bkt/a/s", "gs://bkt2/d x", &err), ST_OK);
    assert_int_equal(srv.storage_requests, 2);
    assert_string_equal(srv.last_target,
                        "/storage/v1/b/bkt/o/a%2Fs/rewriteTo/b/bkt2/o/d%20x?rewriteToken=rt%2B1");
    fileio_free(io);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_token_fetched_once_and_sent, setup),
        cmocka_unit_test_setup(test_token_refreshed_before_expiry, setup),
        cmocka_unit_test_setup(test_bad_key_json_refused, setup),
        cmocka_unit_test_setup(test_token_endpoint_refusal, setup),
        cmocka_unit_test_setup(test_fixed_bearer_and_anonymous, setup),
        cmocka_unit_test_setup(test_request_targets_encoded, setup),
        cmocka_unit_test_setup(test_retries, setup),
        cmocka_unit_test_setup(test_401_gets_a_new_token, setup),
        cmocka_unit_test_setup(test_create_only_after_lost_answer, setup),
        cmocka_unit_test_setup(test_batch_delete, setup),
        cmocka_unit_test_setup(test_copy_resumes_rewrite, setup),
    };

    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
