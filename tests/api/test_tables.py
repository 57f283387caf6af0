"""Table routes: create (incl. stage-create), load, exists, list, drop, register, rename,
metrics, credentials."""

import os
import time

import pytest

import helpers
from helpers import (TableRef, append_updates, assert_client_error, assert_error, field_ids,
                     local_path, metadata_files, unique)
from rest_client import default_schema, enc


def _same_path(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def _wait_gone(path, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not os.path.exists(path):
            return True
        time.sleep(0.1)
    return not os.path.exists(path)


# -- create --------------------------------------------------------------------------------

def test_create_default_location(api, server, ns):
    r = api.create_table(ns, "events")
    assert r.schema == "LoadTableResult"
    md = r.body["metadata"]
    expected = server.warehouse_dir / ns[0] / "events"
    assert _same_path(local_path(md["location"]), expected), md["location"]
    loc = r.body["metadata-location"]
    assert loc, "createTable must return the metadata location"
    path = local_path(loc)
    assert path.is_file(), f"metadata file not written: {path}"
    assert _same_path(path.parent, expected / "metadata")
    assert helpers.file_version(loc) == 0
    import json
    on_disk = json.loads(path.read_text())
    assert on_disk == md, "the metadata file must hold exactly the returned metadata"
    assert md["format-version"] == 2, "the default format version is 2"
    assert isinstance(r.body.get("config", {}), dict)


def test_create_default_location_nested_namespace(api, server, ns):
    api.create_namespace([*ns, "inner"])
    r = api.create_table([*ns, "inner"], "deep")
    expected = server.warehouse_dir / ns[0] / "inner" / "deep"
    assert _same_path(local_path(r.body["metadata"]["location"]), expected)


def test_create_explicit_location(api, tmp_path, ns):
    loc = f"file://{tmp_path}/custom/place"
    r = api.create_table(ns, "placed", location=loc)
    md = r.body["metadata"]
    assert md["location"].rstrip("/") in (loc, f"file:{tmp_path}/custom/place")
    assert local_path(r.body["metadata-location"]).is_file()
    assert _same_path(local_path(r.body["metadata-location"]).parent,
                      tmp_path / "custom" / "place" / "metadata")


def test_create_hadoop_style_location(api, tmp_path, ns):
    loc = f"file:{tmp_path}/hadoop/style"
    r = api.create_table(ns, "hstyle", location=loc)
    assert _same_path(local_path(r.body["metadata"]["location"]), tmp_path / "hadoop" / "style")
    assert local_path(r.body["metadata-location"]).is_file()


def test_create_returns_fresh_ids(api, ns):
    spec = {"spec-id": 5, "fields": [
        {"source-id": 50, "field-id": 2000, "name": "category", "transform": "identity"},
        {"source-id": 10, "field-id": 2001, "name": "id_bucket", "transform": "bucket[16]"}]}
    order = {"order-id": 7, "fields": [
        {"source-id": 10, "transform": "identity", "direction": "asc",
         "null-order": "nulls-first"}]}
    r = api.create_table(ns, "fresh", schema=helpers.nested_schema(), partition_spec=spec,
                         write_order=order)
    md = r.body["metadata"]
    schema = helpers.current_schema(md)
    assert md["current-schema-id"] == 0 and schema["schema-id"] == 0
    assert field_ids(schema) == {
        "id": 1, "point": 2, "tags": 3, "attrs": 4, "category": 5,
        "point.x": 6, "point.y": 7, "tags.element": 8, "attrs.key": 9, "attrs.value": 10}
    assert md["last-column-id"] == 10
    assert schema.get("identifier-field-ids") == [1]

    assert md["default-spec-id"] == 0
    pspec = next(s for s in md["partition-specs"] if s["spec-id"] == 0)
    assert [(f["source-id"], f["field-id"], f["name"], f["transform"]) for f in pspec["fields"]] \
        == [(5, 1000, "category", "identity"), (1, 1001, "id_bucket", "bucket[16]")]
    assert md["last-partition-id"] == 1001

    assert md["default-sort-order-id"] == 1
    so = next(s for s in md["sort-orders"] if s["order-id"] == 1)
    assert so["fields"] == [{"source-id": 1, "transform": "identity", "direction": "asc",
                             "null-order": "nulls-first"}]


def test_create_unpartitioned_unsorted_defaults(api, ns):
    md = api.create_table(ns, "plain").body["metadata"]
    assert md["default-spec-id"] == 0
    assert next(s for s in md["partition-specs"] if s["spec-id"] == 0)["fields"] == []
    assert md["last-partition-id"] == 999
    assert md["default-sort-order-id"] == 0
    assert next(s for s in md["sort-orders"] if s["order-id"] == 0)["fields"] == []
    assert md.get("current-snapshot-id") in (None, -1)
    assert md.get("snapshots", []) == []


@pytest.mark.parametrize("fv", [1, 2, 3])
def test_create_format_version_property(api, ns, fv):
    r = api.create_table(ns, f"fv{fv}", properties={"format-version": str(fv), "owner": "me"})
    md = r.body["metadata"]
    assert md["format-version"] == fv
    props = md.get("properties", {})
    assert "format-version" not in props, "format-version must not stay a stored property"
    assert props.get("owner") == "me"
    if fv == 1:
        assert "schema" in md and "partition-spec" in md, "v1 metadata has schema/partition-spec"
        assert "last-sequence-number" not in md
    if fv >= 2:
        assert "last-sequence-number" in md
    if fv == 3:
        assert md.get("next-row-id") == 0
    # the same holds after a reload and in the file on disk
    loaded = api.load_table(ns, f"fv{fv}").body["metadata"]
    assert loaded["format-version"] == fv
    assert "format-version" not in loaded.get("properties", {})
    import json
    on_disk = json.loads(local_path(r.body["metadata-location"]).read_text())
    assert on_disk["format-version"] == fv


@pytest.mark.parametrize("fv", ["0", "9", "two"])
def test_create_bad_format_version(api, ns, fv):
    r = api.create_table(ns, "badfv", properties={"format-version": fv}, expect=None)
    assert_client_error(r, (400,))
    assert api.head(api.table_url(ns, "badfv")).status == 404


def test_create_reserved_properties_not_stored(api, ns):
    md = api.create_table(ns, "reserved", properties={
        "format-version": "2", "uuid": "x", "snapshot-count": "5", "keep": "yes"}).body["metadata"]
    props = md.get("properties", {})
    assert props.get("keep") == "yes"
    for k in ("format-version", "uuid", "snapshot-count"):
        assert k not in props, k


def test_create_existing_409(api, table):
    r = api.create_table(table.ns, table.name, expect=None)
    assert_error(r, 409, "AlreadyExistsException", startswith=f"Table already exists: {table.ident}")


def test_create_in_missing_namespace_404(api):
    nsname = unique("non_existing")
    r = api.create_table([nsname], "t", expect=None)
    assert_error(r, 404, "NoSuchNamespaceException",
                 contains=f"Namespace does not exist: {nsname}")


def test_stage_create(api, server, ns):
    r = api.create_table(ns, "staged", stage_create=True)
    assert r.schema == "LoadTableResult"
    assert r.body.get("metadata-location") is None, "staged metadata has no location"
    md = r.body["metadata"]
    assert md["format-version"] == 2 and md["table-uuid"]
    assert api.head(api.table_url(ns, "staged")).status == 404
    assert api.load_table(ns, "staged", expect=None).status == 404
    idents = api.get(f"{api.ns_url(ns)}/tables").body["identifiers"]
    assert {"namespace": ns, "name": "staged"} not in idents
    assert metadata_files(md) == [], "stage-create must not write metadata files"


# -- load, exists ---------------------------------------------------------------------------

def test_load(api, table):
    r = api.load_table(table.ns, table.name)
    assert r.schema == "LoadTableResult"
    assert r.body["metadata-location"] == table.created["metadata-location"]
    assert r.body["metadata"]["table-uuid"] == table.created["metadata"]["table-uuid"]


def test_load_missing_table_404(api, ns):
    r = api.load_table(ns, "nope", expect=None)
    assert_error(r, 404, "NoSuchTableException", startswith=f"Table does not exist: {ns[0]}.nope")


def test_load_missing_namespace_is_no_such_table(api):
    nsname = unique("gone")
    r = api.load_table([nsname], "tbl", expect=None)
    assert_error(r, 404, "NoSuchTableException", startswith=f"Table does not exist: {nsname}.tbl")


def test_load_metadata_table_name_is_no_such_table(api, table):
    # the Java client loads ns.tbl.files as namespace [ns, tbl], table "files" first
    r = api.load_table([*table.ns, table.name], "files", expect=None)
    assert_error(r, 404, "NoSuchTableException")


def test_head_table(api, table):
    r = api.head(api.table_url(table.ns, table.name))
    assert r.status == 204, r
    assert api.head(api.table_url(table.ns, "absent")).status == 404
    assert api.head(api.table_url([unique("nons")], "absent")).status == 404


def _three_snapshots(api, t):
    md = api.load_table(t.ns, t.name).body["metadata"]
    ids = []
    for _ in range(3):
        sid, ups = append_updates(md)
        md = api.commit(t.ns, t.name, [helpers.main_requirement(md)], ups).body["metadata"]
        ids.append(sid)
    return ids, md


def test_load_snapshots_all_and_refs(api, table):
    (s1, s2, s3), md = _three_snapshots(api, table)
    api.commit(table.ns, table.name, [], [
        {"action": "set-snapshot-ref", "ref-name": "first", "type": "tag", "snapshot-id": s1}])

    all_ = api.load_table(table.ns, table.name, params={"snapshots": "all"}).body
    assert sorted(s["snapshot-id"] for s in all_["metadata"]["snapshots"]) == sorted([s1, s2, s3])
    default = api.load_table(table.ns, table.name).body
    assert len(default["metadata"]["snapshots"]) == 3, "the default is snapshots=all"

    refs = api.load_table(table.ns, table.name, params={"snapshots": "refs"}).body
    got = sorted(s["snapshot-id"] for s in refs["metadata"]["snapshots"])
    assert got == sorted([s1, s3]), "refs mode keeps only snapshots a branch or tag points at"
    assert refs["metadata"]["current-snapshot-id"] == s3
    assert refs["metadata-location"] == all_["metadata-location"]


def test_load_snapshots_bad_value(api, table):
    r = api.load_table(table.ns, table.name, params={"snapshots": "some"}, expect=None)
    assert_client_error(r, (400,))


def test_etag_and_if_none_match(api, table):
    r = api.load_table(table.ns, table.name)
    etag = r.headers.get("ETag")
    assert etag, "loadTable must send an ETag"
    r2 = api.load_table(table.ns, table.name, headers={"If-None-Match": etag}, expect=None)
    assert r2.status == 304, r2
    assert r2.raw.content == b""

    refs = api.load_table(table.ns, table.name, params={"snapshots": "refs"})
    assert refs.headers.get("ETag") and refs.headers["ETag"] != etag, \
        "snapshots=all and snapshots=refs need different ETags"
    assert api.load_table(table.ns, table.name, params={"snapshots": "refs"},
                          headers={"If-None-Match": refs.headers["ETag"]},
                          expect=None).status == 304

    api.commit(table.ns, table.name, [], [
        {"action": "set-properties", "updates": {"changed": "yes"}}])
    r3 = api.load_table(table.ns, table.name, headers={"If-None-Match": etag}, expect=None)
    assert r3.status == 200, "a changed table must not answer 304"
    assert r3.headers.get("ETag") and r3.headers["ETag"] != etag

    r4 = api.load_table(table.ns, table.name, headers={"If-None-Match": '"not-the-etag"'},
                        expect=None)
    assert r4.status == 200


# -- list -------------------------------------------------------------------------------

def test_list_tables_paged(api, ns):
    names = [f"t{i}" for i in range(5)]
    for n in names:
        api.create_table(ns, n)
    r = api.get(f"{api.ns_url(ns)}/tables")
    assert r.status == 200 and r.schema == "ListTablesResponse"
    assert sorted(i["name"] for i in r.body["identifiers"]) == names
    assert all(i["namespace"] == ns for i in r.body["identifiers"])
    assert r.body.get("next-page-token") is None

    got, pages = [], 0
    params = {"pageToken": "", "pageSize": "2"}
    while True:
        r = api.get(f"{api.ns_url(ns)}/tables", params=params)
        assert r.status == 200, r
        pages += 1
        assert len(r.body["identifiers"]) <= 2
        got += [i["name"] for i in r.body["identifiers"]]
        tok = r.body.get("next-page-token")
        if tok is None:
            break
        params["pageToken"] = tok
        assert pages < 20
    assert sorted(got) == names and len(got) == 5
    assert pages >= 3


def test_list_tables_only_this_namespace(api, ns):
    api.create_namespace([*ns, "kid"])
    api.create_table(ns, "mine")
    api.create_table([*ns, "kid"], "theirs")
    names = [i["name"] for i in api.get(f"{api.ns_url(ns)}/tables").body["identifiers"]]
    assert names == ["mine"]


def test_list_tables_missing_namespace_404(api):
    nsname = unique("nons")
    r = api.get(f"{api.ns_url([nsname])}/tables")
    assert_error(r, 404, "NoSuchNamespaceException", startswith=f"Namespace does not exist: {nsname}")


# -- drop -----------------------------------------------------------------------------------

def _table_with_two_files(api, ns, name):
    r = api.create_table(ns, name)
    r = api.commit(ns, name, [], [{"action": "set-properties", "updates": {"k": "v"}}])
    return r.body["metadata"], r.body["metadata-location"]


def _files_left(directory, seconds=10.0):
    """Regular files under `directory`, waiting up to `seconds` for them to disappear."""
    deadline = time.monotonic() + seconds
    while True:
        left = [os.path.join(r, n) for r, _, names in os.walk(directory) for n in names]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.mark.parametrize("value", ["true", "True", "TRUE"])
def test_drop_purge(api, ns, value):
    name = unique("purge")
    md, loc = _table_with_two_files(api, ns, name)
    table_dir = local_path(md["location"])
    assert len(metadata_files(md)) == 2
    r = api.delete(api.table_url(ns, name), params={"purgeRequested": value})
    assert r.status == 204, r
    assert api.head(api.table_url(ns, name)).status == 404
    assert _wait_gone(local_path(loc)), "purge must delete the metadata files"
    left = _files_left(table_dir)
    assert not left, f"purge left files in the table directory: {left}"


def test_purge_after_rename_keeps_new_table(api, ns):
    """A table created at the old name reuses the old location; purging the renamed table
    must delete only the files that belong to it (RCK dropAfterRenameDoesntCorruptTable)."""
    api.create_table(ns, "first")
    api.commit(ns, "first", [], [{"action": "set-properties", "updates": {"v": "1"}}])
    r = _rename(api, ns, "first", ns, "moved")
    assert r.status in (200, 204), r
    newer = api.create_table(ns, "first").body
    newer = api.commit(ns, "first", [], [
        {"action": "set-properties", "updates": {"v": "2"}}]).body
    assert api.delete(api.table_url(ns, "moved"), params={"purgeRequested": "true"}).status == 204
    time.sleep(0.5)
    loaded = api.load_table(ns, "first", expect=None)
    assert loaded.status == 200, f"purging the renamed table broke the new one: {loaded!r}"
    assert loaded.body["metadata-location"] == newer["metadata-location"]
    for e in newer["metadata"]["metadata-log"]:
        assert local_path(e["metadata-file"]).is_file(), e
    assert local_path(newer["metadata-location"]).is_file()


@pytest.mark.parametrize("value", [None, "false", "False"])
def test_drop_without_purge_keeps_files(api, ns, value):
    name = unique("keep")
    md, loc = _table_with_two_files(api, ns, name)
    params = {} if value is None else {"purgeRequested": value}
    r = api.delete(api.table_url(ns, name), params=params)
    assert r.status == 204, r
    assert api.load_table(ns, name, expect=None).status == 404
    time.sleep(0.5)
    assert local_path(loc).is_file(), "drop without purge must keep the metadata files"
    assert len(metadata_files(md)) == 2


def test_drop_missing_404(api, ns):
    r = api.delete(api.table_url(ns, "never"))
    assert_error(r, 404, "NoSuchTableException", startswith=f"Table does not exist: {ns[0]}.never")


def test_drop_then_recreate(api, ns):
    api.create_table(ns, "phoenix")
    assert api.delete(api.table_url(ns, "phoenix")).status == 204
    r = api.create_table(ns, "phoenix")
    assert r.body["metadata"]["table-uuid"]


# -- register -------------------------------------------------------------------------------

def _dropped_table(api, ns, name):
    api.create_table(ns, name)
    md = api.load_table(ns, name).body["metadata"]
    _, ups = append_updates(md)
    r = api.commit(ns, name, [helpers.main_requirement(md)], ups)
    assert api.delete(api.table_url(ns, name), params={"purgeRequested": "false"}).status == 204
    return r.body["metadata"], r.body["metadata-location"]


def test_register(api, ns):
    md, loc = _dropped_table(api, ns, "orig")
    r = api.post(f"{api.ns_url(ns)}/register", json={"name": "orig", "metadata-location": loc})
    assert r.status == 200, r
    assert r.schema == "LoadTableResult"
    assert r.body["metadata-location"] == loc
    got = r.body["metadata"]
    for key in ("table-uuid", "current-snapshot-id", "snapshots", "schemas", "partition-specs",
                "sort-orders", "properties", "location"):
        assert got.get(key) == md.get(key), key
    loaded = api.load_table(ns, "orig").body
    assert loaded["metadata-location"] == loc
    # the registered table takes commits
    api.commit(ns, "orig", [helpers.uuid_requirement(md)],
               [{"action": "set-properties", "updates": {"after": "register"}}])


def test_register_under_new_name(api, ns):
    md, loc = _dropped_table(api, ns, "src")
    r = api.post(f"{api.ns_url(ns)}/register", json={"name": "copy", "metadata-location": loc})
    assert r.status == 200, r
    assert api.load_table(ns, "copy").body["metadata"]["table-uuid"] == md["table-uuid"]


def test_register_existing_409_and_overwrite(api, ns):
    md, loc = _dropped_table(api, ns, "a_t1")
    api.create_table(ns, "taken")
    other_uuid = api.load_table(ns, "taken").body["metadata"]["table-uuid"]
    r = api.post(f"{api.ns_url(ns)}/register", json={"name": "taken", "metadata-location": loc})
    assert_error(r, 409, "AlreadyExistsException", startswith=f"Table already exists: {ns[0]}.taken")
    assert api.load_table(ns, "taken").body["metadata"]["table-uuid"] == other_uuid

    r = api.post(f"{api.ns_url(ns)}/register",
                 json={"name": "taken", "metadata-location": loc, "overwrite": True})
    assert r.status == 200, r
    loaded = api.load_table(ns, "taken").body
    assert loaded["metadata"]["table-uuid"] == md["table-uuid"]
    assert loaded["metadata-location"] == loc


def test_register_missing_namespace_404(api, ns):
    _, loc = _dropped_table(api, ns, "lost")
    nsname = unique("nons")
    r = api.post(f"{api.ns_url([nsname])}/register", json={"name": "x", "metadata-location": loc})
    assert_error(r, 404, "NoSuchNamespaceException")


def test_register_missing_file(api, ns, tmp_path):
    r = api.post(f"{api.ns_url(ns)}/register", json={
        "name": "ghost", "metadata-location": f"file://{tmp_path}/00000-nope.metadata.json"})
    assert_client_error(r, (400, 404))
    assert api.head(api.table_url(ns, "ghost")).status == 404


def test_register_not_metadata(api, ns, tmp_path):
    bad = tmp_path / "00000-bad.metadata.json"
    bad.write_text('{"this": "is not table metadata"}')
    r = api.post(f"{api.ns_url(ns)}/register",
                 json={"name": "junk", "metadata-location": f"file://{bad}"})
    assert_client_error(r, (400, 422))
    assert api.head(api.table_url(ns, "junk")).status == 404


# -- rename ---------------------------------------------------------------------------------

def _rename(api, src_ns, src, dst_ns, dst):
    return api.post(f"{api.p}/tables/rename", json={
        "source": {"namespace": src_ns, "name": src},
        "destination": {"namespace": dst_ns, "name": dst}})


def test_rename(api, table):
    uuid_ = table.created["metadata"]["table-uuid"]
    r = _rename(api, table.ns, table.name, table.ns, "renamed")
    assert r.status in (200, 204), r
    assert api.head(api.table_url(table.ns, table.name)).status == 404
    loaded = api.load_table(table.ns, "renamed").body
    assert loaded["metadata"]["table-uuid"] == uuid_
    names = [i["name"] for i in api.get(f"{api.ns_url(table.ns)}/tables").body["identifiers"]]
    assert names == ["renamed"]
    # the renamed table still takes commits
    api.commit(table.ns, "renamed", [], [{"action": "set-properties", "updates": {"r": "1"}}])


def test_rename_across_namespaces(api, table):
    other = [unique("dest")]
    api.create_namespace(other)
    uuid_ = table.created["metadata"]["table-uuid"]
    r = _rename(api, table.ns, table.name, other, "moved")
    if r.status == 406:
        assert_error(r, 406, "UnsupportedOperationException")
        assert api.head(api.table_url(table.ns, table.name)).status == 204
        return
    assert r.status in (200, 204), r
    assert api.head(api.table_url(table.ns, table.name)).status == 404
    assert api.load_table(other, "moved").body["metadata"]["table-uuid"] == uuid_
    assert api.get(f"{api.ns_url(table.ns)}/tables").body["identifiers"] == []
    assert api.get(f"{api.ns_url(other)}/tables").body["identifiers"] == \
        [{"namespace": other, "name": "moved"}]
    # the source namespace is empty now and can be dropped
    assert api.delete(api.ns_url(table.ns)).status == 204


def test_rename_missing_source_404(api, ns):
    r = _rename(api, ns, "nope", ns, "other")
    assert_error(r, 404, "NoSuchTableException", contains="Table does not exist")


def test_rename_missing_destination_namespace_404(api, table):
    missing = unique("non_existing")
    r = _rename(api, table.ns, table.name, [missing], "x")
    assert_error(r, 404, "NoSuchNamespaceException", contains=f"Namespace does not exist: {missing}")
    assert api.head(api.table_url(table.ns, table.name)).status == 204


def test_rename_destination_taken_409(api, table):
    api.create_table(table.ns, "occupied")
    r = _rename(api, table.ns, table.name, table.ns, "occupied")
    assert_error(r, 409, "AlreadyExistsException", contains="Table already exists")
    assert api.head(api.table_url(table.ns, table.name)).status == 204


# -- metrics, credentials ---------------------------------------------------------------

def _commit_report(t):
    return {"report-type": "commit-report", "table-name": t.ident, "snapshot-id": 1,
            "sequence-number": 1, "operation": "append",
            "metrics": {"total-duration": {"count": 1, "time-unit": "nanoseconds",
                                           "total-duration": 1000},
                        "added-data-files": {"unit": "count", "value": 1}}}


def test_report_metrics(api, table):
    r = api.post(f"{api.table_url(table.ns, table.name)}/metrics", json=_commit_report(table))
    assert r.status == 204, r
    scan = {"report-type": "scan-report", "table-name": table.ident, "snapshot-id": 1,
            "filter": True, "schema-id": 0, "projected-field-ids": [1],
            "projected-field-names": ["id"], "metrics": {}}
    r = api.post(f"{api.table_url(table.ns, table.name)}/metrics", json=scan)
    assert r.status == 204, r


def test_report_metrics_missing_table_404(api, ns):
    t = TableRef(ns, "absent", None)
    r = api.post(f"{api.table_url(ns, 'absent')}/metrics", json=_commit_report(t))
    assert_error(r, 404, "NoSuchTableException")


def test_load_credentials(api, table):
    r = api.get(f"{api.table_url(table.ns, table.name)}/credentials")
    assert r.status == 200, r
    assert r.schema == "LoadCredentialsResponse"
    assert r.body == {"storage-credentials": []}


def test_load_credentials_missing_table_404(api, ns):
    r = api.get(f"{api.table_url(ns, 'absent')}/credentials")
    assert_error(r, 404, "NoSuchTableException")


# -- names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["with space", "with.dot", "ünï-cødé", "a+b"])
def test_table_names_round_trip(api, ns, name):
    r = api.create_table(ns, name)
    assert r.status == 200
    r = api.load_table(ns, name)
    assert r.body["metadata"]["table-uuid"]
    names = [i["name"] for i in api.get(f"{api.ns_url(ns)}/tables").body["identifiers"]]
    assert names == [name]


def test_table_name_with_space_plus_encoding(api, ns):
    api.create_table(ns, "two words")
    r = api.get(f"{api.ns_url(ns)}/tables/two+words")
    assert r.status == 200, r


def test_table_in_dotted_namespace(api):
    dotted = unique("x") + ".y"
    api.create_namespace([dotted])
    api.create_table([dotted], "t")
    r = api.get(f"{api.p}/namespaces/{enc(dotted)}/tables/t")
    assert r.status == 200, r
    idents = api.get(f"{api.ns_url([dotted])}/tables").body["identifiers"]
    assert idents == [{"namespace": [dotted], "name": "t"}]


def test_create_default_schema_round_trip(api, ns):
    md = api.create_table(ns, "rt").body["metadata"]
    schema = helpers.current_schema(md)
    assert [(f["name"], f["type"], f["required"]) for f in schema["fields"]] == \
        [(f["name"], f["type"], f["required"]) for f in default_schema()["fields"]]
