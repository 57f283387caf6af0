/*
 * httpc.c - the object stores' blocking HTTP client over libcurl.
 *
 * Each thread keeps one easy handle (a pthread key frees it when the thread
 * ends); curl_easy_reset between requests clears the options but keeps the
 * connection cache, so a worker talks to one store over a warm connection.
 * Responses are capped: the body at the caller's limit, the headers at
 * HTTPC_MAX_HEADER_LINES lines of HTTPC_MAX_HEADER_BYTES in all.
 */
#include "io/httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/ids.h"

#define HTTPC_DEFAULT_CONNECT_MS 5000L
#define HTTPC_DEFAULT_TIMEOUT_MS 60000L
#define HTTPC_DEFAULT_MAX_BODY ((size_t)256 << 20)
#define HTTPC_MAX_HEADER_LINES 256
#define HTTPC_MAX_HEADER_BYTES (64 * 1024)
#define HTTPC_MAX_HOST 256

static pthread_once_t httpc_once = PTHREAD_ONCE_INIT;
/* The key under which each thread keeps its easy handle (its destructor frees it). */
static pthread_key_t httpc_key;

static void handle_destroy(void *h)
{
    curl_easy_cleanup(h);
}

static void init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&httpc_key, handle_destroy);
}

void httpc_global_init(void)
{
    pthread_once(&httpc_once, init_once);
}

/* thread_handle returns the calling thread's easy handle, reset for a new request. */
static CURL *thread_handle(void)
{
    CURL *h;

    httpc_global_init();
    h = pthread_getspecific(httpc_key);
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (!h)
        abort(); /* only out of memory makes this fail */
    pthread_setspecific(httpc_key, h);
    return h;
}

/* What the curl callbacks fill while a transfer runs. */
struct transfer {
    struct buf body;
    char **lines;
    size_t n_lines;
    size_t header_bytes;
    bool body_too_large;
    bool headers_too_large;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct transfer *t = ud;
    size_t n = size * nmemb;

    if (buf_append(&t->body, ptr, n)) {
        t->body_too_large = true;
        return 0; /* anything but n aborts the transfer */
    }
    return n;
}

static void drop_lines(struct transfer *t)
{
    for (size_t i = 0; i < t->n_lines; i++)
        free(t->lines[i]);
    t->n_lines = 0;
    t->header_bytes = 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct transfer *t = ud;
    size_t n = size * nmemb, len = n;

    /* A status line starts a new response (after a 1xx): keep only the final one's headers. */
    if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        drop_lines(t);
        return n;
    }
    while (len > 0 && (ptr[len - 1] == '\r' || ptr[len - 1] == '\n' || ptr[len - 1] == ' ' ||
                       ptr[len - 1] == '\t'))
        len--;
    if (len == 0)
        return n; /* the blank line ending the header block */
    t->header_bytes += len;
    if (t->n_lines == HTTPC_MAX_HEADER_LINES || t->header_bytes > HTTPC_MAX_HEADER_BYTES) {
        t->headers_too_large = true;
        return 0;
    }
    if (!t->lines)
        t->lines = xcalloc(HTTPC_MAX_HEADER_LINES, sizeof(*t->lines));
    t->lines[t->n_lines++] = xstrndup(ptr, len);
    return n;
}

/*
 * url_host copies the host[:port] of url into out, without any userinfo, for
 * messages. Nothing else of the URL goes into a message: a query may carry a
 * presigned credential.
 */
static void url_host(const char *url, char out[HTTPC_MAX_HOST])
{
    const char *p = strstr(url, "://"), *end, *at;
    size_t n;

    p = p ? p + 3 : url;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at)
        p = at + 1;
    n = (size_t)(end - p);
    if (n >= HTTPC_MAX_HOST)
        n = HTTPC_MAX_HOST - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static bool has_header(const struct httpc_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

/*
 * build_headers turns the request's headers into curl's list, then asks curl
 * not to add the Accept, Expect and Content-Type headers it would otherwise
 * invent ("Name:" removes a header). Those removals only change what is
 * sent; the signer never saw them, so signatures are unaffected.
 */
static struct curl_slist *build_headers(const struct httpc_request *req)
{
    static const char *const suppressed[] = {"Accept", "Expect", "Content-Type"};
    struct curl_slist *list = NULL, *next;
    char *line;

    for (size_t i = 0; i < req->n_headers; i++) {
        const char *v = req->headers[i].value ? req->headers[i].value : "";

        /* curl sends "Name;" as a header with an empty value. */
        line = *v ? xasprintf("%s: %s", req->headers[i].name, v)
                  : xasprintf("%s;", req->headers[i].name);
        next = curl_slist_append(list, line);
        free(line);
        if (!next)
            abort();
        list = next;
    }
    for (size_t i = 0; i < sizeof(suppressed) / sizeof(suppressed[0]); i++) {
        if (has_header(req, suppressed[i]))
            continue;
        line = xasprintf("%s:", suppressed[i]);
        next = curl_slist_append(list, line);
        free(line);
        if (!next)
            abort();
        list = next;
    }
    return list;
}

/* set_method chooses the request method and hands curl the body. */
static void set_method(CURL *h, const struct httpc_request *req)
{
    const char *m = req->method;

    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        return;
    }
    if (strcmp(m, "GET") == 0 && !req->body) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(m, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    /* PUT and POST always carry a length, even when it is 0; DELETE only when given a body. */
    if (req->body || strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
    }
}

static void transfer_cleanup(struct transfer *t)
{
    buf_cleanup(&t->body);
    drop_lines(t);
    free(t->lines);
}

enum status httpc_do(const struct httpc_request *req, struct httpc_response *resp,
                     struct error *err)
{
    char errbuf[CURL_ERROR_SIZE] = "", host[HTTPC_MAX_HOST];
    struct transfer t = {0};
    struct curl_slist *headers;
    enum status rc;
    CURLcode cc;
    CURL *h;

    memset(resp, 0, sizeof(*resp));
    if (!req->method || !req->url || (req->n_headers && !req->headers))
        return error_set(err, ST_INTERNAL, ET_INTERNAL, "httpc_do: incomplete request");
    buf_init(&t.body, req->max_response_bytes ? req->max_response_bytes : HTTPC_DEFAULT_MAX_BODY);
    h = thread_handle();
    headers = build_headers(req);

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                                 : HTTPC_DEFAULT_CONNECT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     req->timeout_ms > 0 ? req->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "serac");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    set_method(h, req);

    cc = curl_easy_perform(h);
    url_host(req->url, host);
    if (t.body_too_large || t.headers_too_large) {
        rc = error_set(err, ST_INVALID, ET_NONE, "The answer from %s was larger than %zu bytes",
                       host, t.body_too_large ? t.body.limit : (size_t)HTTPC_MAX_HEADER_BYTES);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = error_set(err, ST_UNAVAILABLE, ET_SERVICE_UNAVAILABLE, "Cannot reach %s: %s", host,
                       errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->body_len = t.body.len;
    resp->body = buf_take(&t.body);
    resp->header_lines = t.lines;
    resp->n_header_lines = t.n_lines;
    t.lines = NULL;
    t.n_lines = 0;
    rc = ST_OK;
out:
    /* The handle outlives this call: drop pointers into our stack and list. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    transfer_cleanup(&t);
    return rc;
}

void httpc_response_cleanup(struct httpc_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    for (size_t i = 0; i < resp->n_header_lines; i++)
        free(resp->header_lines[i]);
    free(resp->header_lines);
    memset(resp, 0, sizeof(*resp));
}

const char *httpc_response_header(const struct httpc_response *resp, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < resp->n_header_lines; i++) {
        const char *line = resp->header_lines[i];

        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            line += n + 1;
            while (*line == ' ' || *line == '\t')
                line++;
            return line;
        }
    }
    return NULL;
}

long httpc_backoff_ms(unsigned attempt, long base_ms, long max_ms)
{
    long ceiling = base_ms > 0 ? base_ms : 1;

    if (max_ms < ceiling)
        max_ms = ceiling;
    for (unsigned i = 1; i < attempt && ceiling < max_ms; i++)
        ceiling = ceiling > max_ms / 2 ? max_ms : ceiling * 2;
    /* Full jitter: any wait in [0, ceiling], so retrying workers spread out. */
    return (long)(ids_random_u64() % ((uint64_t)ceiling + 1));
}

/* put_utf8 appends code point cp as UTF-8; false for a value that is no character. */
static bool put_utf8(struct buf *b, unsigned long cp)
{
    unsigned char u[4];
    size_t n;

    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_append(b, u, n);
    return true;
}

/*
 * decode_entity appends the character of the entity at s (which starts with
 * '&') and returns its length, or 0 when s starts no entity we know (the '&'
 * is then copied as it is).
 */
static size_t decode_entity(struct buf *b, const char *s, const char *end)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    const char *semi = memchr(s, ';', (size_t)(end - s));
    size_t n;

    if (!semi)
        return 0;
    n = (size_t)(semi - s) + 1;
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (n == strlen(named[i].name) && memcmp(s, named[i].name, n) == 0) {
            buf_append(b, &named[i].c, 1);
            return n;
        }
    }
    if (n > 3 && n < 12 && s[1] == '#') {
        bool hex = s[2] == 'x' || s[2] == 'X';
        const char *d = s + (hex ? 3 : 2);
        char *stop;
        unsigned long cp = strtoul(d, &stop, hex ? 16 : 10);

        if (stop == semi && d != semi && put_utf8(b, cp))
            return n;
    }
    return 0;
}

/* find_open returns the first "<tag>" / "<tag attr...>" / "<tag/>" in xml, or NULL. */
static const char *find_open(const char *xml, const char *tag, size_t tlen)
{
    for (const char *p = strchr(xml, '<'); p; p = strchr(p + 1, '<')) {
        char c;

        if (strncmp(p + 1, tag, tlen) != 0)
            continue;
        c = p[1 + tlen]; /* inside the string: the tag matched, so p[1..tlen] are not NUL */
        if (c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n')
            return p;
    }
    return NULL;
}

char *httpc_xml_value(const char *xml, const char *tag, const char **next)
{
    size_t tlen;
    const char *open, *gt, *text, *close;
    struct buf b;
    char *closing;

    if (next)
        *next = NULL;
    if (!xml || !tag || !*tag)
        return NULL;
    tlen = strlen(tag);
    if (!(open = find_open(xml, tag, tlen)) || !(gt = strchr(open, '>')))
        return NULL;
    if (gt[-1] == '/') { /* <tag/>: present and empty */
        if (next)
            *next = gt + 1;
        return xstrdup("");
    }
    text = gt + 1;
    closing = xasprintf("</%s>", tag);
    close = strstr(text, closing);
    free(closing);
    if (!close)
        return NULL;
    buf_init(&b, 0);
    buf_append(&b, "", 0);
    for (const char *p = text; p < close;) {
        size_t n = *p == '&' ? decode_entity(&b, p, close) : 0;

        if (n) {
            p += n;
        } else {
            size_t run = strcspn(p + 1, "&") + 1;

            if (run > (size_t)(close - p))
                run = (size_t)(close - p);
            buf_append(&b, p, run);
            p += run;
        }
    }
    if (next)
        *next = close + tlen + 3;
    return buf_take(&b);
}
