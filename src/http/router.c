/*
 * router.c - matching a method and a raw path against route templates.
 *
 * A template is a list of '/'-separated segments; "{name}" captures one
 * whole, non-empty raw segment and anything else must match byte for byte.
 * There is no trailing-slash or case folding magic: "/v1/config/" is not
 * "/v1/config".
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "http/http.h"

/* is_capture says whether template segment t[0..len) is a "{name}" placeholder. */
static bool is_capture(const char *t, size_t len)
{
    return len >= 2 && t[0] == '{' && t[len - 1] == '}';
}

/*
 * match_template matches tmpl against the NUL-separated segments of a path
 * copy (segs, nsegs segments, the first one empty because the path starts
 * with '/'). On success fills params and *nparams.
 */
static bool match_template(const char *tmpl, char *const *segs, size_t nsegs,
                           const char *params[HTTP_MAX_PARAMS], size_t *nparams)
{
    const char *t = tmpl;
    size_t i = 0, np = 0;

    if (*t != '/')
        return false;
    while (*t == '/') {
        const char *end = strchr(t + 1, '/');
        size_t tlen = end ? (size_t)(end - t - 1) : strlen(t + 1);

        i++;
        if (i >= nsegs)
            return false;
        if (is_capture(t + 1, tlen)) {
            if (segs[i][0] == '\0' || np == HTTP_MAX_PARAMS)
                return false;
            params[np++] = segs[i];
        } else if (strlen(segs[i]) != tlen || memcmp(segs[i], t + 1, tlen) != 0) {
            return false;
        }
        t += tlen + 1;
    }
    if (i + 1 != nsegs)
        return false;
    *nparams = np;
    return true;
}

/* split_path turns a copy of path into NUL-terminated segments; returns their count. */
static size_t split_path(char *copy, char ***segs_out)
{
    size_t n = 1;
    char **segs;

    for (const char *p = copy; *p; p++)
        if (*p == '/')
            n++;
    segs = xcalloc(n, sizeof(*segs));
    segs[0] = copy;
    n = 1;
    for (char *p = copy; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            segs[n++] = p + 1;
        }
    }
    *segs_out = segs;
    return n;
}

const struct http_route *http_route_match(const struct http_route *routes, const char *method,
                                          const char *path, const char *params[HTTP_MAX_PARAMS],
                                          size_t *nparams, char **scratch, bool *allowed_other)
{
    const struct http_route *found = NULL;
    const char *tmp[HTTP_MAX_PARAMS];
    char *copy;
    char **segs = NULL;
    size_t nsegs, ntmp;

    *nparams = 0;
    *scratch = NULL;
    *allowed_other = false;
    if (!routes || !path || path[0] != '/')
        return NULL;
    copy = xstrdup(path);
    nsegs = split_path(copy, &segs);
    for (const struct http_route *r = routes; r->method; r++) {
        if (!match_template(r->tmpl, segs, nsegs, tmp, &ntmp))
            continue;
        if (strcmp(r->method, method) != 0) {
            *allowed_other = true;
            continue;
        }
        if (!found) {
            found = r;
            memcpy(params, tmp, ntmp * sizeof(tmp[0]));
            *nparams = ntmp;
        }
    }
    free(segs);
    if (!found) {
        free(copy);
        return NULL;
    }
    *scratch = copy;
    return found;
}
