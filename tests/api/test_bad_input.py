"""Bad input is answered with the right 4xx and an ErrorModel, and changes nothing."""

import json
import socket
from urllib.parse import urlsplit

import pytest

import helpers
from helpers import Snapshot, assert_client_error, assert_error, local_path, unique
from rest_client import RestClient, default_schema, enc


@pytest.fixture
def victim(api, table):
    """A table whose state must survive every bad request of a test untouched."""
    snap = Snapshot(api, table)
    yield table
    snap.assert_unchanged(api, table)
    assert api.get("/health/ready").status == 200


# -- malformed bodies ---------------------------------------------------------------------

BAD_JSON = [
    b'{"namespace": [',
    b'{"namespace": ["a"]',
    b'{"namespace": ["a"]}}',
    b"not json at all",
    b"",
    b'{"namespace": ["a"],}',
    b"\xff\xfe{}",
    b'{"namespace": ["\xc3\x28"]}',
    b"[" * 2000 + b"]" * 2000,
    b"null",
    b"[]",
]


@pytest.mark.parametrize("body", BAD_JSON, ids=lambda b: repr(b[:20]))
def test_create_namespace_bad_json(api, body):
    before = api.get(f"{api.p}/namespaces").body["namespaces"]
    r = api.post(f"{api.p}/namespaces", data=body)
    assert_client_error(r, (400,))
    assert api.get(f"{api.p}/namespaces").body["namespaces"] == before


@pytest.mark.parametrize("body", BAD_JSON, ids=lambda b: repr(b[:20]))
def test_commit_bad_json(api, victim, body):
    r = api.post(api.table_url(victim.ns, victim.name), data=body)
    assert_client_error(r, (400,))


def test_deeply_nested_json(api, victim):
    for body in (b"[" * 200000, b'{"a":' * 50000 + b"1" + b"}" * 50000):
        r = api.post(api.table_url(victim.ns, victim.name), data=body)
        assert_client_error(r, (400, 413))


def test_commit_truncated_json(api, victim):
    full = json.dumps({"requirements": [], "updates": [
        {"action": "set-properties", "updates": {"a": "b"}}]}).encode()
    for cut in (1, len(full) // 3, len(full) // 2, len(full) - 1):
        r = api.post(api.table_url(victim.ns, victim.name), data=full[:cut])
        assert_client_error(r, (400,))


WRONG_TYPES_NAMESPACE = [
    {"namespace": "flat-string"},
    {"namespace": [1, 2]},
    {"namespace": [["nested"]]},
    {"namespace": ["ok"], "properties": {"a": 1}},
    {"namespace": ["ok"], "properties": ["a"]},
    {"properties": {}},
    {"namespace": None},
]


@pytest.mark.parametrize("body", WRONG_TYPES_NAMESPACE, ids=lambda b: json.dumps(b)[:40])
def test_create_namespace_wrong_types(api, body):
    r = api.post(f"{api.p}/namespaces", json=body)
    assert_client_error(r, (400, 422))
    assert api.head(api.ns_url(["ok"])).status == 404


WRONG_TYPES_TABLE = [
    {"name": 5, "schema": default_schema()},
    {"name": "t"},
    {"schema": default_schema()},
    {"name": "t", "schema": "a schema"},
    {"name": "t", "schema": {"type": "struct", "fields": "nope"}},
    {"name": "t", "schema": {"type": "struct", "fields": [{"id": 1, "name": "x"}]}},
    {"name": "t", "schema": {"type": "struct", "fields": [
        {"id": 1, "name": "x", "type": "no-such-type", "required": False}]}},
    {"name": "t", "schema": default_schema(), "properties": {"k": 1}},
    {"name": "t", "schema": default_schema(), "stage-create": "yes"},
    {"name": "t", "schema": default_schema(), "partition-spec": {"fields": [
        {"source-id": 99, "field-id": 1000, "name": "p", "transform": "identity"}]}},
    {"name": "t", "schema": default_schema(), "partition-spec": {"fields": [
        {"source-id": 1, "field-id": 1000, "name": "p", "transform": "nonsense[3]"}]}},
    {"name": "t", "schema": default_schema(), "write-order": {"order-id": 1, "fields": [
        {"source-id": 99, "transform": "identity", "direction": "asc",
         "null-order": "nulls-first"}]}},
    {"name": "t", "schema": default_schema(), "location": 17},
]


@pytest.mark.parametrize("body", WRONG_TYPES_TABLE, ids=lambda b: json.dumps(b)[:60])
def test_create_table_wrong_types(api, ns, body):
    r = api.post(f"{api.ns_url(ns)}/tables", json=body)
    assert_client_error(r, (400, 422))
    assert api.get(f"{api.ns_url(ns)}/tables").body["identifiers"] == []


BAD_COMMITS = [
    {"requirements": [], "updates": "nope"},
    {"requirements": "nope", "updates": []},
    {"updates": [{"action": "set-properties", "updates": {"a": "b"}}], "requirements": [{}]},
    {"requirements": [], "updates": [{"action": "no-such-action"}]},
    {"requirements": [], "updates": [{"no-action": True}]},
    {"requirements": [{"type": "assert-no-such-thing"}],
     "updates": [{"action": "set-properties", "updates": {"a": "b"}}]},
    {"requirements": [{"type": "assert-table-uuid"}], "updates": []},
    {"requirements": [{"type": "assert-current-schema-id", "current-schema-id": "zero"}],
     "updates": []},
    {"requirements": [], "updates": [{"action": "set-properties", "updates": {"a": 1}}]},
    {"requirements": [], "updates": [{"action": "set-properties"}]},
    {"requirements": [], "updates": [{"action": "remove-properties", "removals": "a"}]},
    {"requirements": [], "updates": [{"action": "add-snapshot", "snapshot": {"snapshot-id": 1}}]},
    {"requirements": [], "updates": [{"action": "set-snapshot-ref", "ref-name": "main",
                                      "type": "branch", "snapshot-id": 424242}]},
    {"requirements": [], "updates": [{"action": "add-schema", "schema": {"type": "struct"}}]},
    {"requirements": [], "updates": [{"action": "set-current-schema", "schema-id": -1}]},
    {"requirements": [], "updates": [{"action": "upgrade-format-version",
                                      "format-version": 1}]},
    {"requirements": [], "updates": [{"action": "upgrade-format-version",
                                      "format-version": 99}]},
    {"requirements": [], "updates": [{"action": "assign-uuid",
                                      "uuid": "00000000-0000-0000-0000-000000000009"}]},
    {"requirements": [], "updates": [
        {"action": "add-snapshot", "snapshot": {
            "snapshot-id": 18446744073709551616, "timestamp-ms": 1, "manifest-list": "x",
            "summary": {"operation": "append"}, "sequence-number": 1}}]},
    {"requirements": [], "updates": [{"action": "set-location", "location": 5}]},
    {"requirements": [], "updates": [{"action": "set-default-spec", "spec-id": 12}]},
    {"requirements": [], "updates": [{"action": "set-default-sort-order", "sort-order-id": 12}]},
]


@pytest.mark.parametrize("body", BAD_COMMITS, ids=lambda b: json.dumps(b)[:70])
def test_bad_commit_400(api, victim, body):
    r = api.post(api.table_url(victim.ns, victim.name), json=body)
    assert_client_error(r, (400, 422))


def test_unknown_update_action_is_400(api, victim):
    r = api.post(api.table_url(victim.ns, victim.name), json={
        "requirements": [], "updates": [{"action": "frobnicate", "x": 1}]})
    assert_client_error(r, (400,))


def test_unknown_requirement_type_is_400(api, victim):
    r = api.post(api.table_url(victim.ns, victim.name), json={
        "requirements": [{"type": "assert-frobnicated"}],
        "updates": [{"action": "set-properties", "updates": {"a": "b"}}]})
    assert_client_error(r, (400,))


def test_bad_update_after_good_one_applies_nothing(api, victim):
    r = api.post(api.table_url(victim.ns, victim.name), json={
        "requirements": [], "updates": [
            {"action": "set-properties", "updates": {"first": "applied?"}},
            {"action": "set-current-schema", "schema-id": 4242}]})
    assert_client_error(r, (400,))


def test_bad_rename_bodies(api, victim):
    for body in ({"source": {"namespace": victim.ns, "name": victim.name}},
                 {"source": "x", "destination": "y"},
                 {"source": {"namespace": victim.ns},
                  "destination": {"namespace": victim.ns, "name": "z"}}):
        r = api.post(f"{api.p}/tables/rename", json=body)
        assert_client_error(r, (400, 422))


def test_bad_properties_bodies(api, ns):
    for body in ({"updates": {"a": 1}}, {"removals": "a"}, {"updates": ["a"]}):
        r = api.post(f"{api.ns_url(ns)}/properties", json=body)
        assert_client_error(r, (400, 422))
    assert "a" not in (api.get(api.ns_url(ns)).body["properties"] or {})


# -- names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("levels", [[], [""], ["ok", ""], ["a\x01b"], ["tab\there"],
                                    ["nul\x00"], ["new\nline"], ["del\x7f"]],
                         ids=repr)
def test_bad_namespace_names(api, levels):
    r = api.post(f"{api.p}/namespaces", json={"namespace": levels})
    assert_client_error(r, (400, 422))


@pytest.mark.parametrize("name", ["", "a\x01b", "nul\x00", "new\nline"], ids=repr)
def test_bad_table_names(api, ns, name):
    r = api.post(f"{api.ns_url(ns)}/tables", json={"name": name, "schema": default_schema()})
    assert_client_error(r, (400, 422))
    assert api.get(f"{api.ns_url(ns)}/tables").body["identifiers"] == []


@pytest.mark.parametrize("segment", ["%01bad", "a%00b", "%ZZ", "a%1F%1Fb", "%1Fleading",
                                     "trailing%1F"])
def test_bad_namespace_in_path(api, segment):
    r = api.get(f"{api.p}/namespaces/{segment}")
    assert_client_error(r, (400, 404))


def test_bad_table_name_in_path(api, ns):
    r = api.get(f"{api.ns_url(ns)}/tables/%00")
    assert_client_error(r, (400, 404))
    r = api.get(f"{api.ns_url(ns)}/tables/%ZZ")
    assert_client_error(r, (400, 404))


def test_very_long_name(api):
    r = api.post(f"{api.p}/namespaces", json={"namespace": ["n" * 100000]})
    assert_client_error(r, (400, 413, 414, 422))


# -- unknown things -------------------------------------------------------------------------

def test_unknown_namespace_and_table_errors(api, ns):
    missing = unique("missing")
    assert_error(api.get(api.ns_url([missing])), 404, "NoSuchNamespaceException")
    assert_error(api.delete(api.ns_url([missing])), 404, "NoSuchNamespaceException")
    assert_error(api.get(f"{api.ns_url([missing])}/tables"), 404, "NoSuchNamespaceException")
    assert_error(api.load_table(ns, "nope", expect=None), 404, "NoSuchTableException")
    assert_error(api.delete(api.table_url(ns, "nope")), 404, "NoSuchTableException")
    assert_error(api.commit(ns, "nope", [], [], expect=None), 404, "NoSuchTableException")


def test_unknown_route(api):
    for method, path in (("GET", "/v1/default/nothing-here"), ("GET", "/nothing"),
                         ("POST", "/v1/default/namespaces/x/tables/y/z/w"),
                         ("GET", "/v2/config")):
        r = api.request(method, path)
        assert_client_error(r, (400, 404, 405))


def test_wrong_method(api, ns):
    r = api.request("PUT", f"{api.p}/namespaces")
    assert_client_error(r, (400, 404, 405))
    r = api.request("PATCH", api.ns_url(ns))
    assert_client_error(r, (400, 404, 405))


# -- size limits ----------------------------------------------------------------------------

def test_body_over_max_is_413(start_server):
    srv = start_server("--max-body-bytes", "4096")
    c = RestClient(srv.url)
    c.create_namespace(["small"])
    big = {"namespace": ["big"], "properties": {"pad": "x" * 8192}}
    r = c.post(f"{c.p}/namespaces", json=big)
    assert_client_error(r, (413,))
    assert c.head(c.ns_url(["big"])).status == 404
    # just under the limit still works
    ok = {"namespace": ["fits"], "properties": {"pad": "x" * 3000}}
    assert c.post(f"{c.p}/namespaces", json=ok).status == 200
    # the server is still healthy and serves other requests
    assert c.get("/health/ready").status == 200
    assert c.get(c.ns_url(["small"])).status == 200


def test_body_over_max_chunked_is_413(start_server):
    srv = start_server("--max-body-bytes", "4096")
    c = RestClient(srv.url)

    def chunks():
        yield b'{"namespace": ["chunked"], "properties": {"pad": "'
        for _ in range(8):
            yield b"y" * 1024
        yield b'"}}'

    raw = c.session.post(srv.url + "/v1/default/namespaces", data=chunks(),
                         headers={"Content-Type": "application/json"}, timeout=30)
    assert raw.status_code == 413, raw.text
    assert json.loads(raw.content)["error"]["code"] == 413
    assert c.head(c.ns_url(["chunked"])).status == 404
    assert c.get("/health/ready").status == 200


def test_garbage_http_keeps_server_up(api, server):
    u = urlsplit(server.url)
    for payload in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\x03" * 64,
                    b"POST /v1/default/namespaces HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 100\r\n\r\n{\"namespace\""):
        with socket.create_connection((u.hostname, u.port), timeout=5) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            try:
                s.recv(4096)
            except OSError:
                pass
    assert api.get("/health/ready").status == 200


# -- missing metadata file -----------------------------------------------------------------

def test_missing_metadata_file_404(api, table):
    r = api.load_table(table.ns, table.name)
    loc = r.body["metadata-location"]
    local_path(loc).unlink()
    r = api.load_table(table.ns, table.name, expect=None)
    assert_error(r, 404, "NotFoundException", contains=f"Failed to open input stream for file: {loc}")
    assert api.get("/health/ready").status == 200


def test_missing_metadata_file_commit_not_5xx(api, table):
    loc = api.load_table(table.ns, table.name).body["metadata-location"]
    local_path(loc).unlink()
    r = api.commit(table.ns, table.name, [], [{"action": "set-properties", "updates": {"a": "b"}}],
                   expect=None)
    assert r.status in (200, 404, 409), r
