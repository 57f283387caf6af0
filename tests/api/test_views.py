"""View routes: create, load, exists, list, replace (CommitViewRequest), drop, rename,
register-view; the name space views share with tables; gzip metadata files on disk."""

import gzip
import json
import os
import re

import pytest

import helpers
from helpers import (VIEW_METADATA_FILE_RE, assert_error, create_view, create_view_body,
                     local_path, metadata_files, read_metadata_file, replace_view_updates,
                     sql_rep, unique, view_uuid_requirement, view_url)

# This module gets a server of its own (it creates many namespaces).
_own_server, _own_api = helpers.module_server_fixtures("serac-api-views")

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _same_path(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def _view_file_version(location):
    m = VIEW_METADATA_FILE_RE.match(os.path.basename(local_path(location)))
    assert m, f"view metadata file is not named NNNNN-<uuid>.gz.metadata.json: {location}"
    return int(m.group(1))


def _load_view(api, ns, name, expect=200):
    r = api.get(view_url(api, ns, name))
    if expect is not None:
        assert r.status == expect, r
    return r


def _replace(api, ns, name, requirements, updates, expect=200):
    r = api.post(view_url(api, ns, name), json={"requirements": requirements,
                                                "updates": updates})
    if expect is not None:
        assert r.status == expect, r
    return r


def _rename_view(api, src_ns, src, dst_ns, dst):
    return api.post(f"{api.p}/views/rename", json={
        "source": {"namespace": list(src_ns), "name": src},
        "destination": {"namespace": list(dst_ns), "name": dst}})


def _rename_table(api, src_ns, src, dst_ns, dst):
    return api.post(f"{api.p}/tables/rename", json={
        "source": {"namespace": list(src_ns), "name": src},
        "destination": {"namespace": list(dst_ns), "name": dst}})


def _view_names(api, ns):
    r = api.get(f"{api.ns_url(ns)}/views")
    assert r.status == 200, r
    assert r.schema == "ListTablesResponse"
    return sorted(i["name"] for i in r.body["identifiers"])


def _table_names(api, ns):
    r = api.get(f"{api.ns_url(ns)}/tables")
    assert r.status == 200, r
    return sorted(i["name"] for i in r.body["identifiers"])


class ViewState:
    """What a client can observe of a view: the load answer and its metadata files on disk."""

    def __init__(self, api, ns, name):
        r = _load_view(api, ns, name)
        self.location = r.body["metadata-location"]
        self.metadata = r.body["metadata"]
        self.files = metadata_files(self.metadata)

    def assert_unchanged(self, api, ns, name):
        r = _load_view(api, ns, name)
        assert r.body["metadata-location"] == self.location, "metadata-location moved"
        assert r.body["metadata"] == self.metadata, "metadata changed"
        assert metadata_files(self.metadata) == self.files, "metadata files changed on disk"


# -- create, load -------------------------------------------------------------------------

def test_create_and_load(api, server, ns):
    body = create_view_body(ns, "v1", properties={"owner": "tests", "comment": "first"})
    r = api.post(f"{api.ns_url(ns)}/views", json=body)
    assert r.status == 200, r
    assert r.schema == "LoadViewResult"
    md = r.body["metadata"]
    assert md["format-version"] == 1
    assert UUID_RE.match(md["view-uuid"]), md["view-uuid"]
    assert _same_path(local_path(md["location"]), server.warehouse_dir / ns[0] / "v1"), \
        md["location"]
    assert md["current-version-id"] == 1
    assert len(md["versions"]) == 1
    ver = md["versions"][0]
    assert ver["version-id"] == 1
    assert ver["representations"] == body["view-version"]["representations"]
    assert ver["default-namespace"] == ns
    assert ver["summary"] == body["view-version"]["summary"]
    assert ver["timestamp-ms"] == body["view-version"]["timestamp-ms"]
    assert len(md["schemas"]) == 1
    assert md["schemas"][0]["schema-id"] == 0 and ver["schema-id"] == 0
    assert [f["name"] for f in md["schemas"][0]["fields"]] == ["id", "data"]
    assert [e["version-id"] for e in md["version-log"]] == [1]
    assert {"owner": "tests", "comment": "first"}.items() <= md.get("properties", {}).items()

    loaded = _load_view(api, ns, "v1")
    assert loaded.schema == "LoadViewResult"
    assert loaded.body["metadata-location"] == r.body["metadata-location"]
    assert loaded.body["metadata"] == md


def test_metadata_file_is_gzip_json(api, ns):
    r = create_view(api, ns, "zipped")
    loc = r.body["metadata-location"]
    md = r.body["metadata"]
    path = local_path(loc)
    assert path.is_file(), f"view metadata file not written: {path}"
    assert _same_path(path.parent, local_path(md["location"]) / "metadata")
    assert _view_file_version(loc) == 0, "the first view metadata file is version 00000"
    raw = path.read_bytes()
    assert raw[:2] == b"\x1f\x8b", "a .gz.metadata.json file must be gzip-compressed"
    assert json.loads(gzip.decompress(raw)) == md, "the file must hold the returned metadata"
    assert metadata_files(md) == [path.name], "create writes exactly one metadata file"


def test_create_explicit_location(api, ns, tmp_path):
    loc = f"file://{tmp_path}/views/placed"
    r = create_view(api, ns, "placed", location=loc)
    md = r.body["metadata"]
    assert md["location"].rstrip("/") in (loc, f"file:{tmp_path}/views/placed")
    path = local_path(r.body["metadata-location"])
    assert _same_path(path.parent, tmp_path / "views" / "placed" / "metadata")
    assert path.is_file()


def test_create_existing_view_409(api, ns):
    first = create_view(api, ns, "dup")
    r = create_view(api, ns, "dup", expect=None, sql="select 2 as id, 'b' as data")
    assert_error(r, 409, "AlreadyExistsException", startswith=f"View already exists: {ns[0]}.dup")
    assert _load_view(api, ns, "dup").body["metadata-location"] == \
        first.body["metadata-location"]


def test_create_view_missing_namespace_404(api):
    missing = unique("non_existing")
    r = create_view(api, [missing], "v", expect=None)
    assert_error(r, 404, "NoSuchNamespaceException",
                 contains=f"Namespace does not exist: {missing}")


def test_load_missing_view_404(api, ns):
    r = _load_view(api, ns, "nope", expect=None)
    assert_error(r, 404, "NoSuchViewException", startswith=f"View does not exist: {ns[0]}.nope")
    missing = unique("non_existing")
    r = _load_view(api, [missing], "v", expect=None)
    assert_error(r, 404, "NoSuchViewException", startswith=f"View does not exist: {missing}.v")


def test_view_exists_head(api, table):
    create_view(api, table.ns, "seen")
    assert api.head(view_url(api, table.ns, "seen")).status == 204
    assert api.head(view_url(api, table.ns, "unseen")).status == 404
    # a table is not a view, and a view is not a table
    assert api.head(view_url(api, table.ns, table.name)).status == 404
    assert api.head(api.table_url(table.ns, "seen")).status == 404


def test_create_with_duplicate_dialect_400(api, ns):
    reps = [sql_rep("select 1 as id, 'a' as data", "trino"),
            sql_rep("select 2 as id, 'b' as data", "trino")]
    r = create_view(api, ns, "twice", expect=None, reps=reps)
    assert_error(r, 400, "IllegalArgumentException",
                 contains="Invalid view version: Cannot add multiple queries for dialect trino")
    assert api.head(view_url(api, ns, "twice")).status == 404


def test_create_with_duplicate_dialect_ignores_case(api, ns):
    reps = [sql_rep("select 1 as id, 'a' as data", "spark"),
            sql_rep("select 1 as id, 'a' as data", "Spark")]
    r = create_view(api, ns, "cased", expect=None, reps=reps)
    assert_error(r, 400, "IllegalArgumentException",
                 contains="Cannot add multiple queries for dialect")
    assert api.head(view_url(api, ns, "cased")).status == 404


def test_create_several_dialects(api, ns):
    reps = [sql_rep("select 1 as id, 'a' as data", "spark"),
            sql_rep("select 1 as id, 'a' as data", "trino")]
    r = create_view(api, ns, "multi", reps=reps)
    assert r.body["metadata"]["versions"][0]["representations"] == reps


@pytest.mark.parametrize("name", ["with space", "dot.ted", "per%cent", "ünï-code"])
def test_view_names_round_trip(api, ns, name):
    create_view(api, ns, name)
    r = _load_view(api, ns, name)
    assert r.status == 200, r
    assert name in _view_names(api, ns)
    assert api.head(view_url(api, ns, name)).status == 204


# -- one name space for tables and views --------------------------------------------------

def test_create_view_on_table_name_409(api, table):
    before = helpers.Snapshot(api, table)
    r = create_view(api, table.ns, table.name, expect=None)
    assert_error(r, 409, "AlreadyExistsException",
                 startswith=f"Table with same name already exists: {table.ident}")
    before.assert_unchanged(api, table)
    assert _view_names(api, table.ns) == []


def test_create_table_on_view_name_409(api, ns):
    create_view(api, ns, "vw")
    r = api.create_table(ns, "vw", expect=None)
    assert_error(r, 409, "AlreadyExistsException",
                 startswith=f"View with same name already exists: {ns[0]}.vw")
    assert _table_names(api, ns) == []


def test_stage_create_table_on_view_name_409(api, ns):
    create_view(api, ns, "vw")
    r = api.create_table(ns, "vw", expect=None, stage_create=True)
    assert_error(r, 409, "AlreadyExistsException",
                 startswith=f"View with same name already exists: {ns[0]}.vw")


def test_create_transaction_on_view_name_409(api, ns):
    """A staged create committed with assert-create onto a view's name must fail, not replace it."""
    create_view(api, ns, "vw")
    state = ViewState(api, ns, "vw")
    staged = api.create_table(ns, "staged_src", stage_create=True).body["metadata"]
    schema = helpers.current_schema(staged)
    r = api.commit(ns, "vw", [{"type": "assert-create"}], [
        {"action": "assign-uuid", "uuid": staged["table-uuid"]},
        {"action": "upgrade-format-version", "format-version": staged["format-version"]},
        {"action": "add-schema", "schema": schema, "last-column-id": staged["last-column-id"]},
        {"action": "set-current-schema", "schema-id": -1},
        {"action": "add-spec", "spec": staged["partition-specs"][0]},
        {"action": "set-default-spec", "spec-id": -1},
        {"action": "add-sort-order", "sort-order": staged["sort-orders"][0]},
        {"action": "set-default-sort-order", "sort-order-id": -1},
        {"action": "set-location", "location": staged["location"]},
    ], expect=None)
    assert r.status == 409, r
    assert f"already exists: {ns[0]}.vw" in r.error["message"], r
    state.assert_unchanged(api, ns, "vw")
    assert _table_names(api, ns) == []


def test_register_table_on_view_name_409(api, ns):
    created = api.create_table(ns, "src").body
    assert api.delete(api.table_url(ns, "src")).status == 204
    create_view(api, ns, "vw")
    r = api.post(f"{api.ns_url(ns)}/register",
                 json={"name": "vw", "metadata-location": created["metadata-location"]})
    assert_error(r, 409, "AlreadyExistsException",
                 contains=f"View with same name already exists: {ns[0]}.vw")
    assert _table_names(api, ns) == []


def test_load_view_as_table_404(api, ns):
    create_view(api, ns, "only_view")
    r = api.load_table(ns, "only_view", expect=None)
    assert_error(r, 404, "NoSuchTableException",
                 startswith=f"Table does not exist: {ns[0]}.only_view")


def test_load_table_as_view_404(api, table):
    r = _load_view(api, table.ns, table.name, expect=None)
    assert_error(r, 404, "NoSuchViewException", startswith=f"View does not exist: {table.ident}")


def test_commit_table_on_view_name_404(api, ns):
    create_view(api, ns, "vw")
    state = ViewState(api, ns, "vw")
    r = api.commit(ns, "vw", [], [{"action": "set-properties", "updates": {"a": "b"}}],
                   expect=None)
    assert_error(r, 404, "NoSuchTableException", contains="Table does not exist")
    state.assert_unchanged(api, ns, "vw")


def test_list_views_and_tables_are_separate(api, ns):
    for v in ("v_b", "v_a"):
        create_view(api, ns, v)
    for t in ("t_a", "t_b"):
        api.create_table(ns, t)
    assert _view_names(api, ns) == ["v_a", "v_b"]
    assert _table_names(api, ns) == ["t_a", "t_b"]
    r = api.get(f"{api.ns_url(ns)}/views")
    for ident in r.body["identifiers"]:
        assert ident["namespace"] == ns


def test_list_views_empty_and_missing_namespace(api, ns):
    r = api.get(f"{api.ns_url(ns)}/views")
    assert r.status == 200, r
    assert r.body["identifiers"] == []
    missing = unique("non_existing")
    r = api.get(f"{api.ns_url([missing])}/views")
    assert_error(r, 404, "NoSuchNamespaceException",
                 contains=f"Namespace does not exist: {missing}")


def test_list_views_only_this_namespace(api, ns):
    other = [unique("other")]
    api.create_namespace(other)
    api.create_namespace([*ns, "child"])
    create_view(api, ns, "mine")
    create_view(api, other, "theirs")
    create_view(api, [*ns, "child"], "nested")
    assert _view_names(api, ns) == ["mine"]
    assert _view_names(api, [*ns, "child"]) == ["nested"]


# -- drop -----------------------------------------------------------------------------------

def test_drop_view(api, ns):
    r = create_view(api, ns, "gone")
    loc = r.body["metadata-location"]
    d = api.delete(view_url(api, ns, "gone"))
    assert d.status == 204, d
    assert api.head(view_url(api, ns, "gone")).status == 404
    assert_error(_load_view(api, ns, "gone", expect=None), 404, "NoSuchViewException")
    assert _view_names(api, ns) == []
    assert local_path(loc).is_file(), "dropping a view must keep its metadata file"
    r = api.delete(view_url(api, ns, "gone"))
    assert_error(r, 404, "NoSuchViewException", contains=f"View does not exist: {ns[0]}.gone")
    # the name is free again, for a view or a table
    create_view(api, ns, "gone")
    assert api.delete(view_url(api, ns, "gone")).status == 204
    api.create_table(ns, "gone")


def test_drop_view_route_leaves_tables_alone(api, table):
    before = helpers.Snapshot(api, table)
    r = api.delete(view_url(api, table.ns, table.name))
    assert_error(r, 404, "NoSuchViewException")
    before.assert_unchanged(api, table)


def test_drop_table_route_leaves_views_alone(api, ns):
    create_view(api, ns, "vw")
    state = ViewState(api, ns, "vw")
    r = api.delete(api.table_url(ns, "vw"))
    assert_error(r, 404, "NoSuchTableException")
    r = api.delete(api.table_url(ns, "vw"), params={"purgeRequested": "true"})
    assert_error(r, 404, "NoSuchTableException")
    state.assert_unchanged(api, ns, "vw")


def test_drop_namespace_with_view_409(api, ns):
    create_view(api, ns, "keeper")
    r = api.delete(api.ns_url(ns))
    assert_error(r, 409, "NamespaceNotEmptyException", contains="is not empty")
    assert api.head(api.ns_url(ns)).status == 204
    assert api.delete(view_url(api, ns, "keeper")).status == 204
    assert api.delete(api.ns_url(ns)).status == 204


# -- replace (CommitViewRequest) ------------------------------------------------------------

def test_replace_view_like_java(api, ns):
    created = create_view(api, ns, "rep").body
    md0 = created["metadata"]
    ups = replace_view_updates(md0, "select 2 as id, 'b' as data, 'c' as note",
                               schema=helpers.view_schema(extra_field="note"))
    r = _replace(api, ns, "rep", [view_uuid_requirement(md0)], ups)
    assert r.schema == "LoadViewResult"
    md = r.body["metadata"]
    assert md["view-uuid"] == md0["view-uuid"]
    assert md["current-version-id"] == 2
    assert sorted(v["version-id"] for v in md["versions"]) == [1, 2]
    cur = next(v for v in md["versions"] if v["version-id"] == 2)
    assert cur["representations"] == [sql_rep("select 2 as id, 'b' as data, 'c' as note")]
    assert cur["schema-id"] == 1, "schema-id -1 means the schema added in this commit"
    assert sorted(s["schema-id"] for s in md["schemas"]) == [0, 1]
    assert [e["version-id"] for e in md["version-log"]] == [1, 2]
    assert md["version-log"][-1]["timestamp-ms"] == cur["timestamp-ms"], \
        "a version added in this commit is logged with its own timestamp"

    loc = r.body["metadata-location"]
    assert loc != created["metadata-location"]
    assert _view_file_version(loc) == _view_file_version(created["metadata-location"]) + 1
    assert read_metadata_file(loc) == md
    loaded = _load_view(api, ns, "rep").body
    assert loaded["metadata-location"] == loc and loaded["metadata"] == md


def test_replace_wrong_uuid_409(api, ns):
    create_view(api, ns, "guarded")
    state = ViewState(api, ns, "guarded")
    ups = replace_view_updates(state.metadata, "select 3 as id, 'c' as data")
    r = _replace(api, ns, "guarded",
                 [{"type": "assert-view-uuid", "uuid": "00000000-0000-0000-0000-000000000001"}],
                 ups, expect=None)
    assert_error(r, 409, "CommitFailedException",
                 contains="Requirement failed: view UUID does not match")
    state.assert_unchanged(api, ns, "guarded")


def test_replace_unknown_requirement_400(api, ns):
    create_view(api, ns, "strict")
    state = ViewState(api, ns, "strict")
    r = _replace(api, ns, "strict", [{"type": "assert-something-else"}],
                 [{"action": "set-properties", "updates": {"a": "b"}}], expect=None)
    helpers.assert_client_error(r, (400,))
    state.assert_unchanged(api, ns, "strict")


def test_replace_unknown_action_400(api, ns):
    create_view(api, ns, "strict2")
    state = ViewState(api, ns, "strict2")
    r = _replace(api, ns, "strict2", [], [{"action": "add-snapshot", "snapshot": {}}],
                 expect=None)
    helpers.assert_client_error(r, (400,))
    state.assert_unchanged(api, ns, "strict2")


def test_replace_properties(api, ns):
    create_view(api, ns, "props", properties={"keep": "1", "drop": "2"})
    r = _replace(api, ns, "props", [], [
        {"action": "set-properties", "updates": {"added": "3", "keep": "10"}},
        {"action": "remove-properties", "removals": ["drop", "never-there"]}])
    props = r.body["metadata"]["properties"]
    assert props["keep"] == "10" and props["added"] == "3" and "drop" not in props
    assert r.body["metadata"]["current-version-id"] == 1
    assert _load_view(api, ns, "props").body["metadata"]["properties"] == props


def test_replace_set_location(api, ns, tmp_path):
    create_view(api, ns, "moving")
    new_loc = f"file://{tmp_path}/moved_view"
    r = _replace(api, ns, "moving", [], [{"action": "set-location", "location": new_loc}])
    md = r.body["metadata"]
    assert md["location"].rstrip("/") in (new_loc, f"file:{tmp_path}/moved_view")
    assert _load_view(api, ns, "moving").body["metadata"]["location"] == md["location"]


def test_replace_noop_keeps_metadata_file(api, ns):
    created = create_view(api, ns, "still").body
    r = _replace(api, ns, "still", [view_uuid_requirement(created["metadata"])], [])
    assert r.body["metadata-location"] == created["metadata-location"]
    assert metadata_files(created["metadata"]) == \
        [os.path.basename(local_path(created["metadata-location"]))]


def test_replace_missing_view_404(api, table):
    r = _replace(api, table.ns, "nope", [], [{"action": "set-properties",
                                              "updates": {"a": "b"}}], expect=None)
    assert_error(r, 404, "NoSuchViewException", contains=f"View does not exist: {table.ns[0]}.nope")
    before = helpers.Snapshot(api, table)
    r = _replace(api, table.ns, table.name, [], [{"action": "set-properties",
                                                   "updates": {"a": "b"}}], expect=None)
    assert_error(r, 404, "NoSuchViewException")
    before.assert_unchanged(api, table)


def test_replace_duplicate_dialect_400(api, ns):
    md = create_view(api, ns, "dd").body["metadata"]
    state = ViewState(api, ns, "dd")
    reps = [sql_rep("select 1 as id, 'a' as data", "trino"),
            sql_rep("select 9 as id, 'z' as data", "trino")]
    r = _replace(api, ns, "dd", [view_uuid_requirement(md)],
                 replace_view_updates(md, None, reps=reps), expect=None)
    assert_error(r, 400, "IllegalArgumentException",
                 contains="Invalid view version: Cannot add multiple queries for dialect trino")
    state.assert_unchanged(api, ns, "dd")


def test_set_current_unknown_version_400(api, ns):
    create_view(api, ns, "unk")
    state = ViewState(api, ns, "unk")
    r = _replace(api, ns, "unk", [], [{"action": "set-current-view-version",
                                       "view-version-id": 99}], expect=None)
    assert_error(r, 400, contains="Cannot set current version to unknown version: 99")
    state.assert_unchanged(api, ns, "unk")


def test_add_equivalent_version_reuses_id(api, ns):
    md = create_view(api, ns, "same").body["metadata"]
    v1 = md["versions"][0]
    # a second, different version becomes current ...
    md = _replace(api, ns, "same", [view_uuid_requirement(md)],
                  replace_view_updates(md, "select 5 as id, 'e' as data")).body["metadata"]
    assert md["current-version-id"] == 2
    # ... then the first version's content again: its id (1) is reused, no version 7 appears.
    # (Like Java's client, name the reused id: -1 means "added in this commit", and nothing was.)
    again = dict(v1, **{"version-id": 7, "timestamp-ms": v1["timestamp-ms"] + 1000})
    md = _replace(api, ns, "same", [view_uuid_requirement(md)], [
        {"action": "add-view-version", "view-version": again},
        {"action": "set-current-view-version", "view-version-id": 1}]).body["metadata"]
    assert md["current-version-id"] == 1
    assert sorted(v["version-id"] for v in md["versions"]) == [1, 2]
    assert [e["version-id"] for e in md["version-log"]] == [1, 2, 1]


def test_dialect_loss_is_refused_unless_allowed(api, ns):
    reps = [sql_rep("select 1 as id, 'a' as data", "spark"),
            sql_rep("select 1 as id, 'a' as data", "trino")]
    md = create_view(api, ns, "dialects", reps=reps).body["metadata"]
    state = ViewState(api, ns, "dialects")
    only_spark = replace_view_updates(md, "select 2 as id, 'b' as data", "spark")
    r = _replace(api, ns, "dialects", [view_uuid_requirement(md)], only_spark, expect=None)
    assert r.status in (400, 409), r
    assert "Cannot replace view due to loss of view dialects" in r.error["message"], r
    state.assert_unchanged(api, ns, "dialects")

    md = _replace(api, ns, "dialects", [], [
        {"action": "set-properties", "updates": {"replace.drop-dialect.allowed": "true"}}]
    ).body["metadata"]
    r = _replace(api, ns, "dialects", [view_uuid_requirement(md)],
                 replace_view_updates(md, "select 2 as id, 'b' as data", "spark"))
    cur = r.body["metadata"]["current-version-id"]
    ver = next(v for v in r.body["metadata"]["versions"] if v["version-id"] == cur)
    assert [x["dialect"] for x in ver["representations"]] == ["spark"]


def test_version_history_retention(api, ns):
    md = create_view(api, ns, "hist",
                     properties={"version.history.num-entries": "2"}).body["metadata"]
    for i in range(3):
        md = _replace(api, ns, "hist", [view_uuid_requirement(md)],
                      replace_view_updates(md, f"select {10 + i} as id, 'x' as data")
                      ).body["metadata"]
    assert md["current-version-id"] == 4
    ids = sorted(v["version-id"] for v in md["versions"])
    assert len(ids) == 2 and 4 in ids, f"at most 2 versions, the current one included: {ids}"
    assert all(e["version-id"] in ids for e in md["version-log"]), \
        f"history entries of expired versions must be dropped: {md['version-log']}"


def test_successive_replaces_chain_metadata_files(api, ns):
    created = create_view(api, ns, "chain").body
    md, locs = created["metadata"], [created["metadata-location"]]
    for i in range(3):
        r = _replace(api, ns, "chain", [view_uuid_requirement(md)],
                     replace_view_updates(md, f"select {i} as id, 'x' as data"))
        md = r.body["metadata"]
        locs.append(r.body["metadata-location"])
    assert [_view_file_version(x) for x in locs] == [0, 1, 2, 3]
    assert len(set(locs)) == 4
    assert read_metadata_file(locs[-1]) == md


# -- rename ---------------------------------------------------------------------------------

def test_rename_view(api, ns):
    created = create_view(api, ns, "before").body
    r = _rename_view(api, ns, "before", ns, "after")
    assert r.status == 204, r
    assert api.head(view_url(api, ns, "before")).status == 404
    loaded = _load_view(api, ns, "after").body
    assert loaded["metadata"]["view-uuid"] == created["metadata"]["view-uuid"]
    assert loaded["metadata-location"] == created["metadata-location"]
    assert _view_names(api, ns) == ["after"]
    # the renamed view takes commits
    _replace(api, ns, "after", [view_uuid_requirement(loaded["metadata"])],
             [{"action": "set-properties", "updates": {"renamed": "yes"}}])


def test_rename_view_across_namespaces(api, ns):
    other = [unique("dest")]
    api.create_namespace(other)
    uuid_ = create_view(api, ns, "traveller").body["metadata"]["view-uuid"]
    r = _rename_view(api, ns, "traveller", other, "arrived")
    if r.status == 406:
        assert_error(r, 406, "UnsupportedOperationException")
        return
    assert r.status == 204, r
    assert _view_names(api, ns) == []
    assert _view_names(api, other) == ["arrived"]
    assert _load_view(api, other, "arrived").body["metadata"]["view-uuid"] == uuid_


def test_rename_view_missing_source_404(api, ns):
    r = _rename_view(api, ns, "nope", ns, "other")
    assert_error(r, 404, "NoSuchViewException", contains="View does not exist")


def test_rename_view_missing_destination_namespace_404(api, ns):
    create_view(api, ns, "stay")
    missing = unique("non_existing")
    r = _rename_view(api, ns, "stay", [missing], "x")
    assert_error(r, 404, "NoSuchNamespaceException",
                 contains=f"Namespace does not exist: {missing}")
    assert api.head(view_url(api, ns, "stay")).status == 204


def test_rename_view_onto_view_409(api, ns):
    create_view(api, ns, "viewOne")
    create_view(api, ns, "viewTwo")
    one, two = ViewState(api, ns, "viewOne"), ViewState(api, ns, "viewTwo")
    r = _rename_view(api, ns, "viewOne", ns, "viewTwo")
    assert_error(r, 409, "AlreadyExistsException",
                 contains=f"Cannot rename {ns[0]}.viewOne to {ns[0]}.viewTwo. View already exists")
    one.assert_unchanged(api, ns, "viewOne")
    two.assert_unchanged(api, ns, "viewTwo")


def test_rename_view_onto_table_409(api, ns):
    create_view(api, ns, "view")
    api.create_table(ns, "table")
    r = _rename_view(api, ns, "view", ns, "table")
    assert_error(r, 409, "AlreadyExistsException",
                 contains=f"Cannot rename {ns[0]}.view to {ns[0]}.table. Table already exists")
    assert api.head(view_url(api, ns, "view")).status == 204
    assert api.head(api.table_url(ns, "table")).status == 204


def test_rename_table_onto_view_409(api, ns):
    create_view(api, ns, "view")
    api.create_table(ns, "table")
    r = _rename_table(api, ns, "table", ns, "view")
    assert_error(r, 409, "AlreadyExistsException",
                 contains=f"Cannot rename {ns[0]}.table to {ns[0]}.view. View already exists")
    assert api.head(view_url(api, ns, "view")).status == 204
    assert api.head(api.table_url(ns, "table")).status == 204


def test_rename_routes_do_not_cross_kinds(api, table):
    create_view(api, table.ns, "vw")
    r = _rename_view(api, table.ns, table.name, table.ns, "x1")
    assert_error(r, 404, "NoSuchViewException", contains="View does not exist")
    r = _rename_table(api, table.ns, "vw", table.ns, "x2")
    assert_error(r, 404, "NoSuchTableException", contains="Table does not exist")
    assert api.head(api.table_url(table.ns, table.name)).status == 204
    assert api.head(view_url(api, table.ns, "vw")).status == 204
    assert _view_names(api, table.ns) == ["vw"]
    assert _table_names(api, table.ns) == [table.name]


# -- register-view --------------------------------------------------------------------------

def _dropped_view(api, ns, name):
    """A view with two versions, dropped: (metadata, metadata-location) of its last state."""
    md = create_view(api, ns, name).body["metadata"]
    r = _replace(api, ns, name, [view_uuid_requirement(md)],
                 replace_view_updates(md, "select 42 as id, 'q' as data"))
    assert api.delete(view_url(api, ns, name)).status == 204
    return r.body["metadata"], r.body["metadata-location"]


def test_register_view(api, ns):
    md, loc = _dropped_view(api, ns, "orig")
    r = api.post(f"{api.ns_url(ns)}/register-view", json={"name": "orig", "metadata-location": loc})
    assert r.status == 200, r
    assert r.schema == "LoadViewResult"
    assert r.body["metadata-location"] == loc
    assert r.body["metadata"] == md
    loaded = _load_view(api, ns, "orig").body
    assert loaded["metadata-location"] == loc and loaded["metadata"] == md
    # a registered view takes commits, and the next file follows the registered one
    r = _replace(api, ns, "orig", [view_uuid_requirement(md)],
                 [{"action": "set-properties", "updates": {"after": "register"}}])
    assert _view_file_version(r.body["metadata-location"]) == _view_file_version(loc) + 1


def test_register_view_under_new_name(api, ns):
    md, loc = _dropped_view(api, ns, "src")
    other = [unique("elsewhere")]
    api.create_namespace(other)
    r = api.post(f"{api.ns_url(other)}/register-view",
                 json={"name": "copy", "metadata-location": loc})
    assert r.status == 200, r
    assert _load_view(api, other, "copy").body["metadata"]["view-uuid"] == md["view-uuid"]
    assert _view_names(api, other) == ["copy"]


def test_register_view_onto_view_409(api, ns):
    _, loc = _dropped_view(api, ns, "old")
    create_view(api, ns, "taken")
    state = ViewState(api, ns, "taken")
    r = api.post(f"{api.ns_url(ns)}/register-view",
                 json={"name": "taken", "metadata-location": loc})
    assert_error(r, 409, "AlreadyExistsException", startswith=f"View already exists: {ns[0]}.taken")
    state.assert_unchanged(api, ns, "taken")


def test_register_view_onto_table_409(api, table):
    _, loc = _dropped_view(api, table.ns, "old")
    before = helpers.Snapshot(api, table)
    r = api.post(f"{api.ns_url(table.ns)}/register-view",
                 json={"name": table.name, "metadata-location": loc})
    assert_error(r, 409, "AlreadyExistsException",
                 startswith=f"Table with same name already exists: {table.ident}")
    before.assert_unchanged(api, table)
    assert _view_names(api, table.ns) == []


def test_register_view_missing_namespace_404(api, ns):
    _, loc = _dropped_view(api, ns, "lost")
    missing = unique("non_existing")
    r = api.post(f"{api.ns_url([missing])}/register-view",
                 json={"name": "x", "metadata-location": loc})
    assert_error(r, 404, "NoSuchNamespaceException",
                 contains=f"Namespace does not exist: {missing}")


def test_register_view_missing_file(api, ns, tmp_path):
    r = api.post(f"{api.ns_url(ns)}/register-view", json={
        "name": "ghost", "metadata-location": f"file://{tmp_path}/00000-nope.gz.metadata.json"})
    helpers.assert_client_error(r, (400, 404))
    assert api.head(view_url(api, ns, "ghost")).status == 404


def test_register_view_with_table_metadata_400(api, ns):
    t = api.create_table(ns, "a_table").body
    r = api.post(f"{api.ns_url(ns)}/register-view",
                 json={"name": "not_a_view", "metadata-location": t["metadata-location"]})
    helpers.assert_client_error(r, (400, 422))
    assert api.head(view_url(api, ns, "not_a_view")).status == 404


def test_register_table_with_view_metadata_400(api, ns):
    v = create_view(api, ns, "a_view").body
    r = api.post(f"{api.ns_url(ns)}/register",
                 json={"name": "not_a_table", "metadata-location": v["metadata-location"]})
    helpers.assert_client_error(r, (400, 422))
    assert api.head(api.table_url(ns, "not_a_table")).status == 404


def test_register_view_plain_json_file(api, ns, tmp_path):
    """An uncompressed view metadata file (as other writers produce) registers too."""
    md, _ = _dropped_view(api, ns, "plain_src")
    path = tmp_path / "00005-0f0e0d0c-0b0a-4908-8706-050403020100.metadata.json"
    path.write_text(json.dumps(md))
    r = api.post(f"{api.ns_url(ns)}/register-view",
                 json={"name": "plain", "metadata-location": f"file://{path}"})
    assert r.status == 200, r
    assert r.body["metadata"]["view-uuid"] == md["view-uuid"]
    assert r.body["metadata"]["current-version-id"] == md["current-version-id"]


# -- config ---------------------------------------------------------------------------------

def test_config_advertises_view_routes(api):
    eps = set(api.get("/v1/config").body["endpoints"])
    p = "/v1/{prefix}/namespaces/{namespace}"
    wanted = [f"GET {p}/views", f"POST {p}/views", f"GET {p}/views/{{view}}",
              f"HEAD {p}/views/{{view}}", f"POST {p}/views/{{view}}",
              f"DELETE {p}/views/{{view}}", "POST /v1/{prefix}/views/rename",
              f"POST {p}/register-view", "POST /v1/{prefix}/transactions/commit"]
    missing = [e for e in wanted if e not in eps]
    assert not missing, f"endpoints not advertised: {missing}"


def test_encoded_view_name_in_path(api, ns):
    create_view(api, ns, "a b")
    for path in (f"{api.ns_url(ns)}/views/a%20b", f"{api.ns_url(ns)}/views/a+b"):
        assert api.get(path).status == 200, path
