/*
 * fuzz_commit_body.c - libFuzzer target for the commit-body path: strict JSON
 * parsing of a CommitTableRequest, requirement checks and every update action
 * applied to a real v2 table with a snapshot, then serialisation of the result.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "iceberg/table_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *base;

static json_t *make_base(void)
{
    static const char create[] =
        "{\"name\":\"t\",\"schema\":{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
        "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
        "{\"id\":2,\"name\":\"ts\",\"required\":false,\"type\":\"timestamp\"},"
        "{\"id\":3,\"name\":\"s\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
        "{\"id\":4,\"name\":\"x\",\"required\":false,\"type\":\"string\"}]}}]},"
        "\"partition-spec\":{\"spec-id\":0,\"fields\":[{\"source-id\":2,\"transform\":\"day\","
        "\"name\":\"ts_day\"}]},"
        "\"write-order\":{\"order-id\":1,\"fields\":[{\"source-id\":1,\"transform\":\"identity\","
        "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]},"
        "\"properties\":{\"format-version\":\"2\",\"k\":\"v\"}}";
    static const char snap[] =
        "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":42,\"sequence-number\":1,"
        "\"timestamp-ms\":1700000000000,\"manifest-list\":\"file:/tmp/t/metadata/snap-42.avro\","
        "\"summary\":{\"operation\":\"append\"}}},"
        "{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
        "\"snapshot-id\":42}]";
    json_t *req = NULL, *meta = NULL, *updates = NULL, *out = NULL;

    if (jsonx_parse(create, strlen(create), &req, NULL) ||
        meta_new_table(req, "file:/tmp/t", "9c12ab6b-7e0e-4d2b-9d3a-5a4b2f1f7d10", 1700000000000,
                       &meta, NULL) ||
        jsonx_parse(snap, strlen(snap), &updates, NULL) ||
        meta_apply_updates(meta, updates, 1700000000001, &out, NULL, NULL))
        abort();
    json_decref(req);
    json_decref(meta);
    json_decref(updates);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = NULL, *next = NULL;
    struct error err;

    if (!base)
        base = make_base();
    if (jsonx_parse_object((const char *)data, size, &body, &err))
        return 0;
    json_t *reqs = json_object_get(body, "requirements");
    json_t *updates = json_object_get(body, "updates");
    if (json_is_array(reqs)) {
        meta_check_requirements(base, reqs, &err);
        meta_check_requirements(NULL, reqs, &err);
    }
    if (json_is_array(updates)) {
        bool changed;
        if (meta_apply_updates(base, updates, 1700000000002, &next, &changed, &err) == ST_OK) {
            json_t *to_delete = NULL;
            char *text, *loc;
            meta_finish_commit(next, base, "file:/tmp/t/metadata/00001-x.metadata.json", &to_delete,
                               &err);
            text = meta_serialize(next);
            loc = meta_new_location(next, "file:/tmp/t/metadata/00001-x.metadata.json");
            free(text);
            free(loc);
            json_decref(to_delete);
            json_decref(next);
        }
        next = NULL;
        if (meta_apply_updates(NULL, updates, 1700000000002, &next, NULL, &err) == ST_OK)
            json_decref(next);
    }
    json_decref(body);
    return 0;
}
