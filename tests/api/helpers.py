"""Payload builders and on-disk checks shared by the API tests."""

import os
import random
import re
import time
import uuid
from pathlib import Path
from urllib.parse import unquote

METADATA_FILE_RE = re.compile(r"^(\d{5})-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                              r"[0-9a-f]{12}\.metadata\.json$")


def unique(stem):
    return f"{stem}_{uuid.uuid4().hex[:10]}"


class TableRef:
    """A table created by a test: namespace levels, name and the createTable response body."""

    def __init__(self, ns, name, created):
        self.ns = list(ns)
        self.name = name
        self.created = created

    @property
    def ident(self):
        return ".".join(self.ns) + "." + self.name


def local_path(uri):
    """The local filesystem path of a file: URI (file:/x, file:///x) or a plain path."""
    assert isinstance(uri, str) and uri, uri
    if uri.startswith("file:"):
        rest = uri[len("file:"):]
        if rest.startswith("//"):
            rest = rest[2:]
            # file://host/path is not produced for local files; host must be empty
            assert rest.startswith("/"), f"unexpected file URI authority: {uri}"
        return Path(unquote(rest))
    assert uri.startswith("/"), f"not a local file location: {uri}"
    return Path(uri)


def metadata_dir(metadata):
    return local_path(metadata["location"]) / "metadata"


def metadata_files(metadata):
    """Sorted names of the *.metadata.json files in the table's metadata directory."""
    d = metadata_dir(metadata)
    if not d.is_dir():
        return []
    return sorted(f for f in os.listdir(d) if f.endswith(".metadata.json"))


def file_version(path):
    m = METADATA_FILE_RE.match(os.path.basename(local_path(path)))
    assert m, f"metadata file name does not look like 00001-<uuid>.metadata.json: {path}"
    return int(m.group(1))


def new_snapshot_id():
    return random.randint(1, 2**62)


def append_updates(metadata, snapshot_id=None, parent=-1, ref="main", ts=None, operation="append"):
    """add-snapshot + set-snapshot-ref updates for an append-like commit on `metadata`.

    The manifest list path is fake; a catalog must not read it. parent=-1 means "the current
    snapshot of `metadata`", None means no parent.
    """
    sid = snapshot_id or new_snapshot_id()
    if parent == -1:
        cur = metadata.get("current-snapshot-id")
        parent = cur if cur not in (None, -1) else None
    snap = {
        "snapshot-id": sid,
        "timestamp-ms": ts or int(time.time() * 1000),
        "manifest-list": f"{metadata['location']}/metadata/snap-{sid}-1-{uuid.uuid4()}.avro",
        "summary": {"operation": operation, "added-data-files": "1", "added-records": "1"},
        "schema-id": metadata.get("current-schema-id", 0),
    }
    if parent is not None:
        snap["parent-snapshot-id"] = parent
    fv = metadata["format-version"]
    if fv >= 2:
        snap["sequence-number"] = metadata.get("last-sequence-number", 0) + 1
    if fv >= 3:
        snap["first-row-id"] = metadata.get("next-row-id", 0)
        snap["added-rows"] = 1
    return sid, [
        {"action": "add-snapshot", "snapshot": snap},
        {"action": "set-snapshot-ref", "ref-name": ref, "type": "branch", "snapshot-id": sid},
    ]


def main_requirement(metadata):
    cur = metadata.get("current-snapshot-id")
    return {"type": "assert-ref-snapshot-id", "ref": "main",
            "snapshot-id": cur if cur not in (None, -1) else None}


def uuid_requirement(metadata):
    return {"type": "assert-table-uuid", "uuid": metadata["table-uuid"]}


def assert_error(resp, status, etype=None, contains=None, startswith=None):
    """resp is an error with this status, error type and message text."""
    assert resp.status == status, f"expected {status}, got {resp!r}"
    err = resp.error
    assert err is not None, f"no error body: {resp!r}"
    if etype is not None:
        assert err["type"] == etype, f"expected type {etype}, got {err!r}"
    if contains is not None:
        assert contains in err["message"], f"expected message containing {contains!r}: {err!r}"
    if startswith is not None:
        assert err["message"].startswith(startswith), \
            f"expected message starting with {startswith!r}: {err!r}"


def assert_client_error(resp, statuses=(400,)):
    """A 4xx error in `statuses` with an ErrorModel body (checked by the client)."""
    assert resp.status in statuses, f"expected one of {statuses}, got {resp!r}"
    assert resp.error is not None, resp


class Snapshot:
    """The observable state of a table: metadata location and metadata files on disk."""

    def __init__(self, api, t):
        r = api.load_table(t.ns, t.name)
        self.location = r.body["metadata-location"]
        self.metadata = r.body["metadata"]
        self.files = metadata_files(self.metadata)

    def assert_unchanged(self, api, t):
        r = api.load_table(t.ns, t.name)
        assert r.body["metadata-location"] == self.location, "metadata-location moved"
        assert r.body["metadata"] == self.metadata, "metadata changed"
        assert metadata_files(self.metadata) == self.files, "metadata files changed on disk"


def nested_schema():
    """A schema with deliberately odd ids, to check that createTable assigns fresh ones."""
    return {
        "type": "struct",
        "schema-id": 7,
        "identifier-field-ids": [10],
        "fields": [
            {"id": 10, "name": "id", "type": "long", "required": True},
            {"id": 20, "name": "point", "required": False, "type": {
                "type": "struct", "fields": [
                    {"id": 21, "name": "x", "type": "double", "required": True},
                    {"id": 22, "name": "y", "type": "double", "required": True}]}},
            {"id": 30, "name": "tags", "required": False, "type": {
                "type": "list", "element-id": 31, "element": "string",
                "element-required": False}},
            {"id": 40, "name": "attrs", "required": False, "type": {
                "type": "map", "key-id": 41, "key": "string", "value-id": 42,
                "value": "int", "value-required": False}},
            {"id": 50, "name": "category", "type": "string", "required": False},
        ],
    }


def field_ids(schema):
    """{dotted name: id} for every field, list element and map key/value of a schema."""
    out = {}

    def walk(prefix, t):
        if not isinstance(t, dict):
            return
        if t["type"] == "struct":
            for f in t["fields"]:
                out[prefix + f["name"]] = f["id"]
                walk(prefix + f["name"] + ".", f["type"])
        elif t["type"] == "list":
            out[prefix + "element"] = t["element-id"]
            walk(prefix + "element.", t["element"])
        elif t["type"] == "map":
            out[prefix + "key"] = t["key-id"]
            out[prefix + "value"] = t["value-id"]
            walk(prefix + "key.", t["key"])
            walk(prefix + "value.", t["value"])

    walk("", schema)
    return out


def current_schema(metadata):
    sid = metadata["current-schema-id"]
    return next(s for s in metadata["schemas"] if s["schema-id"] == sid)


# -- views ----------------------------------------------------------------------------------

VIEW_METADATA_FILE_RE = re.compile(r"^(\d{5})-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                   r"[0-9a-f]{12}\.gz\.metadata\.json$")


def view_url(api, ns, name):
    """The path of a view: {p}/namespaces/{ns}/views/{name}."""
    from rest_client import enc
    return f"{api.ns_url(ns)}/views/{enc(name)}"


def view_schema(extra_field=None):
    """The schema a view's query produces: id long (required), data string."""
    fields = [{"id": 1, "name": "id", "type": "long", "required": True},
              {"id": 2, "name": "data", "type": "string", "required": False}]
    if extra_field:
        fields.append({"id": 3, "name": extra_field, "type": "string", "required": False})
    return {"type": "struct", "schema-id": 0, "fields": fields}


def sql_rep(sql, dialect="spark"):
    return {"type": "sql", "sql": sql, "dialect": dialect}


def view_version(ns, version_id=1, schema_id=0, reps=None, sql="select 1 as id, 'a' as data",
                 ts=None, summary=None):
    """A ViewVersion as the Java client sends it (default namespace = the view's namespace)."""
    return {
        "version-id": version_id,
        "timestamp-ms": ts or int(time.time() * 1000),
        "schema-id": schema_id,
        "summary": summary or {"engine-name": "serac-tests", "engine-version": "1"},
        "representations": reps if reps is not None else [sql_rep(sql)],
        "default-namespace": list(ns),
    }


def create_view_body(ns, name, reps=None, sql="select 1 as id, 'a' as data", location=None,
                     properties=None, schema=None):
    body = {"name": name, "schema": schema or view_schema(),
            "view-version": view_version(ns, reps=reps, sql=sql),
            "properties": properties if properties is not None else {}}
    if location is not None:
        body["location"] = location
    return body


def create_view(api, ns, name, expect=200, **kw):
    """POST a CreateViewRequest; asserts the status unless expect is None."""
    r = api.post(f"{api.ns_url(ns)}/views", json=create_view_body(ns, name, **kw))
    if expect is not None:
        assert r.status == expect, r
    return r


def replace_view_updates(md, sql, dialect="spark", reps=None, schema=None):
    """What the Java client sends to replace a view: add-schema, add-view-version (schema -1,
    version id max+1), set-current-view-version -1."""
    next_id = max(v["version-id"] for v in md["versions"]) + 1
    sch = dict(schema or view_schema())
    sch["schema-id"] = max(s["schema-id"] for s in md["schemas"]) + 1
    ver = view_version(md["versions"][0]["default-namespace"], version_id=next_id, schema_id=-1,
                       reps=reps if reps is not None else [sql_rep(sql, dialect)])
    return [{"action": "add-schema", "schema": sch},
            {"action": "add-view-version", "view-version": ver},
            {"action": "set-current-view-version", "view-version-id": -1}]


def view_uuid_requirement(md):
    return {"type": "assert-view-uuid", "uuid": md["view-uuid"]}


def read_metadata_file(location):
    """The JSON held by a metadata file, gzip-compressed or not (by its magic bytes)."""
    import gzip
    import json
    raw = local_path(location).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def assert_names_unique(items, what="item"):
    keys = [repr(x) for x in items]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    assert not dup, f"{what}s returned more than once: {dup}"


def raw_request(api, method, path, json=None, params=None, headers=None):
    """Like api.request, but the path goes on the wire exactly as given.

    requests rewrites percent-encoded unreserved characters (%2E becomes '.'), which changes
    meaning when '.' is the namespace separator; Java clients send %2E as is. The response is
    validated by the RestClient as usual.
    """
    import json as jsonlib
    from urllib.parse import quote, urlencode

    import requests
    url = api.base_url + path
    if params:
        url += "?" + urlencode(params, quote_via=quote)
    hdrs = {"Accept": "application/json"}
    body = None
    if json is not None:
        body = jsonlib.dumps(json).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    prepared = api.session.prepare_request(requests.Request(method, url, data=body,
                                                            headers=hdrs))
    prepared.url = url
    raw = api.session.send(prepared, timeout=api.timeout, allow_redirects=False)
    return api._validate(method, url, raw, False)


def module_server_fixtures(name):
    """(server, api) fixtures giving one test module a serac of its own.

    Assign them at module level (`server, api = helpers.module_server_fixtures("x")`): the
    conftest fixtures (ns, table, ...) then use this server. Modules that create many
    namespaces use it so the session server's top-level listing stays small.
    """
    import pytest

    from rest_client import RestClient
    from serac_server import SeracServer

    @pytest.fixture(scope="module", name="server")
    def _server():
        srv = SeracServer(name=name).start()
        yield srv
        srv.stop_and_check()

    @pytest.fixture(scope="module", name="api")
    def _api(server):
        return RestClient(server.url, prefix="default")

    return _server, _api
