/*
 * httpc.h - a small blocking HTTP client over libcurl for the object-store
 * backends (io/s3.c, io/gcs.c, io/sts.c).
 *
 * Each thread keeps one curl easy handle per process (thread-local), so
 * connections to a store stay open across calls of one worker. Nothing here
 * signs or retries: callers sign each attempt (the signature carries the
 * time) and decide which answers to retry, with httpc_backoff_ms.
 *
 * The URL is sent exactly as given (CURLOPT_PATH_AS_IS): callers encode
 * paths and queries themselves, because a signature covers those bytes.
 */
#ifndef SERAC_IO_HTTPC_H
#define SERAC_IO_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

struct httpc_header {
    const char *name;
    const char *value;
};

struct httpc_request {
    const char *method;                 /* "GET", "PUT", "HEAD", "DELETE", "POST" */
    const char *url;                    /* sent verbatim */
    const struct httpc_header *headers; /* sent as given; curl adds no Accept/Expect of its own */
    size_t n_headers;
    const void *body; /* may be NULL */
    size_t body_len;
    long connect_timeout_ms;   /* 0 = 5000 */
    long timeout_ms;           /* whole request; 0 = 60000 */
    size_t max_response_bytes; /* larger bodies fail with ST_INVALID; 0 = 256 MiB */
};

struct httpc_response {
    long status; /* HTTP status */
    char *body;  /* owned, NUL-terminated (NUL not counted) */
    size_t body_len;
    char **header_lines; /* owned "name: value" lines of the final response, CRLF stripped */
    size_t n_header_lines;
};

/* httpc_global_init initialises libcurl once per process (call before threads start). */
void httpc_global_init(void);

/*
 * httpc_do sends req and fills resp. ST_OK whenever an HTTP answer arrived,
 * whatever its status; ST_UNAVAILABLE (ET_SERVICE_UNAVAILABLE) when the
 * server could not be reached or the request timed out (message names the
 * host and curl's reason); ST_INVALID when the answer was too large.
 */
enum status httpc_do(const struct httpc_request *req, struct httpc_response *resp,
                     struct error *err);
/* httpc_response_cleanup frees what httpc_do filled (safe on a zeroed or cleaned response). */
void httpc_response_cleanup(struct httpc_response *resp);
/* httpc_response_header returns the value of the first header named name (case-insensitive), or
 * NULL. */
const char *httpc_response_header(const struct httpc_response *resp, const char *name);
/*
 * httpc_backoff_ms returns the wait before retry number attempt (1-based):
 * exponential from base_ms, capped at max_ms, with full jitter.
 */
long httpc_backoff_ms(unsigned attempt, long base_ms, long max_ms);
/*
 * httpc_xml_value finds the text of the first <tag>...</tag> in xml (no
 * namespaces, entities &amp; &lt; &gt; &quot; &apos; decoded) and returns it
 * owned, or NULL. *next (may be NULL) is set past the closing tag, for loops.
 */
char *httpc_xml_value(const char *xml, const char *tag, const char **next);

#endif
