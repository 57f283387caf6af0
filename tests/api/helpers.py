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
