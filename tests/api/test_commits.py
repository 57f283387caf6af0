"""Table commits: updates, requirements, the metadata file chain, create transactions."""

import json
import os

import pytest

import helpers
from helpers import (Snapshot, append_updates, assert_error, file_version, local_path,
                     main_requirement, metadata_files, unique, uuid_requirement)


def test_append_commit(api, table):
    before = api.load_table(table.ns, table.name).body
    md0 = before["metadata"]
    sid, ups = append_updates(md0)
    r = api.commit(table.ns, table.name, [uuid_requirement(md0), main_requirement(md0)], ups)
    assert r.schema == "CommitTableResponse"
    md = r.body["metadata"]
    assert md["current-snapshot-id"] == sid
    assert md["refs"]["main"]["snapshot-id"] == sid
    assert md["refs"]["main"]["type"] == "branch"
    snap = next(s for s in md["snapshots"] if s["snapshot-id"] == sid)
    assert snap["sequence-number"] == 1
    assert snap["summary"]["operation"] == "append"
    assert md["last-sequence-number"] == 1
    assert md["snapshot-log"][-1]["snapshot-id"] == sid
    assert md["snapshot-log"][-1]["timestamp-ms"] == snap["timestamp-ms"]
    assert md["last-updated-ms"] >= md0["last-updated-ms"]

    new_loc = r.body["metadata-location"]
    assert new_loc != before["metadata-location"]
    assert local_path(new_loc).is_file()
    assert file_version(new_loc) == file_version(before["metadata-location"]) + 1
    assert [e["metadata-file"] for e in md["metadata-log"]] == [before["metadata-location"]]
    assert md["metadata-log"][0]["timestamp-ms"] == md0["last-updated-ms"]

    # the file on disk is exactly the committed metadata
    on_disk = json.loads(local_path(new_loc).read_text())
    assert on_disk == md

    loaded = api.load_table(table.ns, table.name).body
    assert loaded["metadata-location"] == new_loc
    assert loaded["metadata"]["current-snapshot-id"] == sid


def test_second_append_has_parent_and_sequence(api, table):
    md = api.load_table(table.ns, table.name).body["metadata"]
    s1, ups = append_updates(md)
    md = api.commit(table.ns, table.name, [main_requirement(md)], ups).body["metadata"]
    s2, ups = append_updates(md)
    md = api.commit(table.ns, table.name, [main_requirement(md)], ups).body["metadata"]
    snap2 = next(s for s in md["snapshots"] if s["snapshot-id"] == s2)
    assert snap2["parent-snapshot-id"] == s1
    assert snap2["sequence-number"] == 2 and md["last-sequence-number"] == 2
    assert [e["snapshot-id"] for e in md["snapshot-log"]] == [s1, s2]


def test_add_schema_and_set_current(api, table):
    md = api.load_table(table.ns, table.name).body["metadata"]
    schema = helpers.current_schema(md)
    new = {"type": "struct", "schema-id": 1, "fields": schema["fields"] + [
        {"id": 4, "name": "note", "type": "string", "required": False}]}
    r = api.commit(table.ns, table.name, [
        uuid_requirement(md),
        {"type": "assert-current-schema-id", "current-schema-id": md["current-schema-id"]},
        {"type": "assert-last-assigned-field-id", "last-assigned-field-id": md["last-column-id"]},
    ], [
        {"action": "add-schema", "schema": new, "last-column-id": 4},
        {"action": "set-current-schema", "schema-id": -1},
    ])
    md2 = r.body["metadata"]
    assert md2["current-schema-id"] == 1
    assert len(md2["schemas"]) == 2
    assert md2["last-column-id"] == 4
    assert [f["name"] for f in helpers.current_schema(md2)["fields"]][-1] == "note"


def test_add_identical_schema_reuses_id(api, table):
    md = api.load_table(table.ns, table.name).body["metadata"]
    same = dict(helpers.current_schema(md))
    same["schema-id"] = 42
    md2 = api.commit(table.ns, table.name, [], [
        {"action": "add-schema", "schema": same},
        {"action": "set-current-schema", "schema-id": -1}]).body["metadata"]
    assert len(md2["schemas"]) == 1
    assert md2["current-schema-id"] == 0


def test_set_current_schema_unknown_400(api, table):
    before = Snapshot(api, table)
    r = api.commit(table.ns, table.name, [], [{"action": "set-current-schema", "schema-id": 99}],
                   expect=None)
    helpers.assert_client_error(r, (400,))
    before.assert_unchanged(api, table)


def test_set_and_remove_properties(api, table):
    r = api.commit(table.ns, table.name, [], [
        {"action": "set-properties", "updates": {"a": "1", "b": "2", "c": "3"}}])
    assert {"a": "1", "b": "2", "c": "3"}.items() <= r.body["metadata"]["properties"].items()
    r = api.commit(table.ns, table.name, [], [
        {"action": "remove-properties", "removals": ["b", "not-there"]},
        {"action": "set-properties", "updates": {"a": "10"}}])
    props = r.body["metadata"]["properties"]
    assert props["a"] == "10" and props["c"] == "3" and "b" not in props
    assert api.load_table(table.ns, table.name).body["metadata"]["properties"] == props


def test_partition_spec_and_sort_order_updates(api, table):
    md = api.load_table(table.ns, table.name).body["metadata"]
    r = api.commit(table.ns, table.name, [
        {"type": "assert-last-assigned-partition-id",
         "last-assigned-partition-id": md["last-partition-id"]},
        {"type": "assert-default-spec-id", "default-spec-id": md["default-spec-id"]},
        {"type": "assert-default-sort-order-id",
         "default-sort-order-id": md["default-sort-order-id"]},
    ], [
        {"action": "add-spec", "spec": {"fields": [
            {"source-id": 2, "field-id": 1000, "name": "category", "transform": "identity"}]}},
        {"action": "set-default-spec", "spec-id": -1},
        {"action": "add-sort-order", "sort-order": {"order-id": 1, "fields": [
            {"source-id": 1, "transform": "identity", "direction": "desc",
             "null-order": "nulls-last"}]}},
        {"action": "set-default-sort-order", "sort-order-id": -1},
    ])
    md2 = r.body["metadata"]
    assert md2["default-spec-id"] == 1
    assert md2["last-partition-id"] == 1000
    assert md2["default-sort-order-id"] == 1


def test_commit_missing_table_404(api, ns):
    r = api.commit(ns, "nope", [], [{"action": "set-properties", "updates": {"a": "b"}}],
                   expect=None)
    assert_error(r, 404, "NoSuchTableException")


# -- requirements ---------------------------------------------------------------------------

# case -> (requirement, expected message); each fails on a table whose main has a snapshot.
FAILING_REQUIREMENTS = {
    "assert-create": ({"type": "assert-create"}, "Requirement failed: table already exists"),
    "assert-table-uuid": ({"type": "assert-table-uuid",
                           "uuid": "00000000-0000-0000-0000-000000000001"},
                          "Requirement failed: UUID does not match"),
    "assert-ref-snapshot-id-changed": (
        {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 12345},
        "Requirement failed: branch main has changed"),
    "assert-ref-snapshot-id-created": (
        {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": None},
        "Requirement failed: branch main was created concurrently"),
    "assert-ref-snapshot-id-missing": (
        {"type": "assert-ref-snapshot-id", "ref": "nobranch", "snapshot-id": 1},
        "Requirement failed: branch or tag nobranch is missing"),
    "assert-last-assigned-field-id": (
        {"type": "assert-last-assigned-field-id", "last-assigned-field-id": 99},
        "Requirement failed: last assigned field id changed"),
    "assert-current-schema-id": (
        {"type": "assert-current-schema-id", "current-schema-id": 5},
        "Requirement failed: current schema changed"),
    "assert-last-assigned-partition-id": (
        {"type": "assert-last-assigned-partition-id", "last-assigned-partition-id": 1234},
        "Requirement failed: last assigned partition id changed"),
    "assert-default-spec-id": ({"type": "assert-default-spec-id", "default-spec-id": 3},
                               "Requirement failed: default partition spec changed"),
    "assert-default-sort-order-id": (
        {"type": "assert-default-sort-order-id", "default-sort-order-id": 4},
        "Requirement failed: default sort order changed"),
}


@pytest.mark.parametrize("case", list(FAILING_REQUIREMENTS))
def test_requirement_failure_409(api, table, case):
    md = api.load_table(table.ns, table.name).body["metadata"]
    _, ups = append_updates(md)
    md = api.commit(table.ns, table.name, [main_requirement(md)], ups).body["metadata"]
    before = Snapshot(api, table)
    req, text = FAILING_REQUIREMENTS[case]
    r = api.commit(table.ns, table.name, [req],
                   [{"action": "set-properties", "updates": {"should": "not-apply"}}], expect=None)
    assert_error(r, 409, "CommitFailedException", contains=text)
    before.assert_unchanged(api, table)


def test_one_failing_requirement_among_passing_ones(api, table):
    md = api.load_table(table.ns, table.name).body["metadata"]
    before = Snapshot(api, table)
    r = api.commit(table.ns, table.name, [
        uuid_requirement(md),
        {"type": "assert-current-schema-id", "current-schema-id": md["current-schema-id"]},
        {"type": "assert-default-spec-id", "default-spec-id": 77},
    ], [{"action": "set-properties", "updates": {"x": "y"}}], expect=None)
    assert_error(r, 409, "CommitFailedException", contains="Requirement failed")
    before.assert_unchanged(api, table)


def test_uuid_requirement_is_case_insensitive(api, table):
    md = api.load_table(table.ns, table.name).body["metadata"]
    r = api.commit(table.ns, table.name,
                   [{"type": "assert-table-uuid", "uuid": md["table-uuid"].upper()}],
                   [{"action": "set-properties", "updates": {"ci": "ok"}}], expect=None)
    assert r.status == 200, r


def test_stale_ref_requirement_409(api, table):
    md0 = api.load_table(table.ns, table.name).body["metadata"]
    _, ups = append_updates(md0)
    api.commit(table.ns, table.name, [main_requirement(md0)], ups)
    # a second writer still holding md0 (no snapshot) must fail
    _, ups = append_updates(md0)
    r = api.commit(table.ns, table.name, [main_requirement(md0)], ups, expect=None)
    assert_error(r, 409, "CommitFailedException", contains="Requirement failed")


# -- metadata file chain ---------------------------------------------------------------------

def test_metadata_file_chain(api, table):
    locs = [table.created["metadata-location"]]
    for i in range(4):
        r = api.commit(table.ns, table.name, [],
                       [{"action": "set-properties", "updates": {"step": str(i)}}])
        locs.append(r.body["metadata-location"])
    assert len(set(locs)) == 5, "every commit writes a new metadata file"
    assert [file_version(x) for x in locs] == [0, 1, 2, 3, 4]
    md = api.load_table(table.ns, table.name).body["metadata"]
    assert [e["metadata-file"] for e in md["metadata-log"]] == locs[:-1]
    stamps = [e["timestamp-ms"] for e in md["metadata-log"]]
    assert stamps == sorted(stamps)
    for name in metadata_files(md):
        assert helpers.METADATA_FILE_RE.match(name), name
    assert len(metadata_files(md)) == 5
    # each file holds the metadata of its own version; the last one is what load returns
    for i, loc in enumerate(locs[1:]):
        on_disk = json.loads(local_path(loc).read_text())
        assert on_disk["properties"]["step"] == str(i)
        assert len(on_disk["metadata-log"]) == i + 1
    assert json.loads(local_path(locs[-1]).read_text()) == md


def test_previous_versions_max_trims_log(api, ns):
    name = unique("trim")
    r = api.create_table(ns, name, properties={"write.metadata.previous-versions-max": "2"})
    locs = [r.body["metadata-location"]]
    for i in range(5):
        r = api.commit(ns, name, [], [{"action": "set-properties", "updates": {"i": str(i)}}])
        locs.append(r.body["metadata-location"])
    md = r.body["metadata"]
    assert [e["metadata-file"] for e in md["metadata-log"]] == locs[-3:-1]
    # without delete-after-commit, the old files stay on disk
    for loc in locs:
        assert local_path(loc).is_file(), loc


def test_delete_after_commit_removes_old_files(api, ns):
    name = unique("delafter")
    r = api.create_table(ns, name, properties={
        "write.metadata.previous-versions-max": "2",
        "write.metadata.delete-after-commit.enabled": "true"})
    locs = [r.body["metadata-location"]]
    for i in range(5):
        r = api.commit(ns, name, [], [{"action": "set-properties", "updates": {"i": str(i)}}])
        locs.append(r.body["metadata-location"])
    md = r.body["metadata"]
    kept = [e["metadata-file"] for e in md["metadata-log"]] + [r.body["metadata-location"]]
    assert kept == locs[-3:]
    for loc in locs[:-3]:
        assert not local_path(loc).exists(), f"{loc} fell out of the log and must be deleted"
    for loc in kept:
        assert local_path(loc).is_file(), loc
    assert sorted(metadata_files(md)) == sorted(os.path.basename(x) for x in kept)


def test_failed_commit_writes_no_file(api, table):
    before = Snapshot(api, table)
    r = api.commit(table.ns, table.name, [{"type": "assert-table-uuid", "uuid": "x" * 8}],
                   [{"action": "set-properties", "updates": {"a": "b"}}], expect=None)
    assert r.status == 409, r
    before.assert_unchanged(api, table)


# -- create transaction ------------------------------------------------------------------

def _create_txn_updates(staged, props=None):
    schema = helpers.current_schema(staged)
    spec = next(s for s in staged["partition-specs"] if s["spec-id"] == staged["default-spec-id"])
    order = next(s for s in staged["sort-orders"]
                 if s["order-id"] == staged["default-sort-order-id"])
    return [
        {"action": "assign-uuid", "uuid": staged["table-uuid"]},
        {"action": "upgrade-format-version", "format-version": staged["format-version"]},
        {"action": "add-schema", "schema": schema, "last-column-id": staged["last-column-id"]},
        {"action": "set-current-schema", "schema-id": -1},
        {"action": "add-spec", "spec": spec},
        {"action": "set-default-spec", "spec-id": -1},
        {"action": "add-sort-order", "sort-order": order},
        {"action": "set-default-sort-order", "sort-order-id": -1},
        {"action": "set-location", "location": staged["location"]},
        {"action": "set-properties", "updates": props or {"created-by": "txn"}},
    ]


def test_create_transaction(api, ns):
    staged = api.create_table(ns, "txn", stage_create=True,
                              properties={"format-version": "2"}).body["metadata"]
    ups = _create_txn_updates(staged)
    sid, snap_ups = append_updates({**staged, "current-snapshot-id": None,
                                    "last-sequence-number": 0})
    r = api.commit(ns, "txn", [{"type": "assert-create"}], ups + snap_ups)
    assert r.schema == "CommitTableResponse"
    md = r.body["metadata"]
    assert md["table-uuid"] == staged["table-uuid"]
    assert md["format-version"] == 2
    assert md["properties"]["created-by"] == "txn"
    assert md["current-snapshot-id"] == sid
    assert md["location"].rstrip("/") == staged["location"].rstrip("/")
    loc = r.body["metadata-location"]
    assert local_path(loc).is_file()
    loaded = api.load_table(ns, "txn").body
    assert loaded["metadata-location"] == loc
    assert loaded["metadata"]["table-uuid"] == staged["table-uuid"]


@pytest.mark.parametrize("fv", [1, 2, 3])
def test_create_transaction_format_versions(api, ns, fv):
    name = f"txn_v{fv}"
    staged = api.create_table(ns, name, stage_create=True,
                              properties={"format-version": str(fv)}).body["metadata"]
    assert staged["format-version"] == fv
    r = api.commit(ns, name, [{"type": "assert-create"}], _create_txn_updates(staged))
    md = r.body["metadata"]
    assert md["format-version"] == fv
    assert "format-version" not in md.get("properties", {})


def test_create_transaction_twice_409(api, ns):
    staged = api.create_table(ns, "dup", stage_create=True).body["metadata"]
    staged2 = api.create_table(ns, "dup", stage_create=True).body["metadata"]
    api.commit(ns, "dup", [{"type": "assert-create"}], _create_txn_updates(staged))
    r = api.commit(ns, "dup", [{"type": "assert-create"}], _create_txn_updates(staged2),
                   expect=None)
    assert_error(r, 409, "CommitFailedException",
                 startswith="Requirement failed: table already exists")
    assert api.load_table(ns, "dup").body["metadata"]["table-uuid"] == staged["table-uuid"]


def test_create_transaction_missing_namespace_404(api, ns):
    staged = api.create_table(ns, "moved", stage_create=True).body["metadata"]
    missing = unique("nons")
    r = api.commit([missing], "moved", [{"type": "assert-create"}], _create_txn_updates(staged),
                   expect=None)
    assert_error(r, 404, "NoSuchNamespaceException")


def test_stage_create_existing_409(api, table):
    r = api.create_table(table.ns, table.name, stage_create=True, expect=None)
    assert_error(r, 409, "AlreadyExistsException", startswith=f"Table already exists: {table.ident}")


def test_assert_create_with_other_requirement_rejected(api, ns):
    staged = api.create_table(ns, "mixed", stage_create=True).body["metadata"]
    r = api.commit(ns, "mixed", [{"type": "assert-create"},
                                 {"type": "assert-table-uuid", "uuid": staged["table-uuid"]}],
                   _create_txn_updates(staged), expect=None)
    helpers.assert_client_error(r, (400, 409))
    assert api.head(api.table_url(ns, "mixed")).status == 404


def test_noop_commit_keeps_location(api, table):
    md = api.load_table(table.ns, table.name).body
    r = api.commit(table.ns, table.name, [uuid_requirement(md["metadata"])], [])
    assert r.body["metadata-location"] == md["metadata-location"]


# -- update semantics (rest-spec.md §6) ----------------------------------------------------

def _append(api, t, md=None):
    md = md or api.load_table(t.ns, t.name).body["metadata"]
    sid, ups = append_updates(md)
    return sid, api.commit(t.ns, t.name, [main_requirement(md)], ups).body["metadata"]


def test_rollback_main_logs_commit_time(api, table):
    s1, md = _append(api, table)
    s2, md = _append(api, table, md)
    r = api.commit(table.ns, table.name, [main_requirement(md)], [
        {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": s1}])
    md2 = r.body["metadata"]
    assert md2["current-snapshot-id"] == s1
    assert {s["snapshot-id"] for s in md2["snapshots"]} == {s1, s2}
    assert [e["snapshot-id"] for e in md2["snapshot-log"]] == [s1, s2, s1]
    assert md2["snapshot-log"][-1]["timestamp-ms"] == md2["last-updated-ms"]


def test_set_ref_to_same_snapshot_is_noop(api, table):
    s1, md = _append(api, table)
    loc = api.load_table(table.ns, table.name).body["metadata-location"]
    r = api.commit(table.ns, table.name, [], [
        {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": s1}])
    assert r.body["metadata-location"] == loc
    assert len(r.body["metadata"]["snapshot-log"]) == 1


def test_branch_and_tag_refs(api, table):
    s1, md = _append(api, table)
    s2, md = _append(api, table, md)
    md = api.commit(table.ns, table.name, [], [
        {"action": "set-snapshot-ref", "ref-name": "audit", "type": "branch", "snapshot-id": s1,
         "max-ref-age-ms": 86400000, "min-snapshots-to-keep": 2},
        {"action": "set-snapshot-ref", "ref-name": "v1", "type": "tag", "snapshot-id": s1}],
    ).body["metadata"]
    assert md["refs"]["audit"]["snapshot-id"] == s1 and md["refs"]["audit"]["type"] == "branch"
    assert md["refs"]["audit"]["min-snapshots-to-keep"] == 2
    assert md["refs"]["v1"] == {"snapshot-id": s1, "type": "tag"}
    assert md["current-snapshot-id"] == s2, "non-main refs do not move the current snapshot"
    md = api.commit(table.ns, table.name, [
        {"type": "assert-ref-snapshot-id", "ref": "v1", "snapshot-id": s1}], [
        {"action": "remove-snapshot-ref", "ref-name": "v1"}]).body["metadata"]
    assert "v1" not in md["refs"] and "audit" in md["refs"]


def test_main_cannot_be_a_tag(api, table):
    s1, md = _append(api, table)
    before = Snapshot(api, table)
    r = api.commit(table.ns, table.name, [], [
        {"action": "set-snapshot-ref", "ref-name": "main", "type": "tag", "snapshot-id": s1}],
        expect=None)
    helpers.assert_client_error(r, (400,))
    before.assert_unchanged(api, table)


def test_remove_main_ref_clears_current_snapshot(api, table):
    _append(api, table)
    md = api.commit(table.ns, table.name, [], [
        {"action": "remove-snapshot-ref", "ref-name": "main"}]).body["metadata"]
    assert md.get("current-snapshot-id", -1) == -1, "v2 writes -1 for no current snapshot"
    assert "main" not in md.get("refs", {})


def test_remove_snapshots(api, table):
    s1, md = _append(api, table)
    s2, md = _append(api, table, md)
    s3, md = _append(api, table, md)
    md = api.commit(table.ns, table.name, [], [
        {"action": "remove-snapshots", "snapshot-ids": [s1]}]).body["metadata"]
    assert {s["snapshot-id"] for s in md["snapshots"]} == {s2, s3}
    assert s1 not in [e["snapshot-id"] for e in md["snapshot-log"]]
    assert md["current-snapshot-id"] == s3


def test_remove_current_snapshot_drops_dangling_main(api, table):
    s1, md = _append(api, table)
    md = api.commit(table.ns, table.name, [], [
        {"action": "remove-snapshots", "snapshot-ids": [s1]}]).body["metadata"]
    assert md.get("snapshots", []) == []
    assert "main" not in md.get("refs", {})
    assert md.get("current-snapshot-id", -1) == -1
    assert md.get("snapshot-log", []) == []


def test_duplicate_snapshot_id_rejected(api, table):
    s1, md = _append(api, table)
    before = Snapshot(api, table)
    _, ups = append_updates(md, snapshot_id=s1)
    r = api.commit(table.ns, table.name, [], ups[:1], expect=None)
    helpers.assert_client_error(r, (400,))
    before.assert_unchanged(api, table)


def test_stale_sequence_number_is_409(api, table):
    s1, md = _append(api, table)
    before = Snapshot(api, table)
    _, ups = append_updates(md)
    ups[0]["snapshot"]["sequence-number"] = md["last-sequence-number"]  # not greater
    r = api.commit(table.ns, table.name, [], ups, expect=None)
    assert_error(r, 409, "CommitFailedException")
    before.assert_unchanged(api, table)


def test_add_snapshot_does_not_move_main(api, table):
    md = api.load_table(table.ns, table.name).body["metadata"]
    sid, ups = append_updates(md)
    md = api.commit(table.ns, table.name, [], ups[:1]).body["metadata"]
    assert sid in {s["snapshot-id"] for s in md["snapshots"]}
    assert md.get("current-snapshot-id", -1) == -1
    assert md.get("snapshot-log", []) == []


def test_upgrade_to_v3_and_row_lineage(api, table):
    md = api.commit(table.ns, table.name, [], [
        {"action": "upgrade-format-version", "format-version": 3}]).body["metadata"]
    assert md["format-version"] == 3
    assert md["next-row-id"] == 0
    sid, ups = append_updates(md)
    ups[0]["snapshot"]["added-rows"] = 5
    md = api.commit(table.ns, table.name, [main_requirement(md)], ups).body["metadata"]
    snap = next(s for s in md["snapshots"] if s["snapshot-id"] == sid)
    assert snap["first-row-id"] == 0
    assert md["next-row-id"] == 5
    # same version again is a no-op
    loc = api.load_table(table.ns, table.name).body["metadata-location"]
    r = api.commit(table.ns, table.name, [], [
        {"action": "upgrade-format-version", "format-version": 3}])
    assert r.body["metadata-location"] == loc


def test_v3_snapshot_without_first_row_id_rejected(api, ns):
    name = unique("v3")
    md = api.create_table(ns, name, properties={"format-version": "3"}).body["metadata"]
    _, ups = append_updates(md)
    del ups[0]["snapshot"]["first-row-id"]
    r = api.commit(ns, name, [], ups, expect=None)
    assert r.status in (400, 409), r
    assert api.load_table(ns, name).body["metadata"].get("snapshots", []) == []


def test_statistics_set_and_remove(api, table):
    s1, md = _append(api, table)
    stats = {"snapshot-id": s1, "statistics-path": f"{md['location']}/metadata/stats-{s1}.puffin",
             "file-size-in-bytes": 100, "file-footer-size-in-bytes": 20,
             "blob-metadata": [{"type": "apache-datasketches-theta-v1", "snapshot-id": s1,
                                "sequence-number": 1, "fields": [1]}]}
    md = api.commit(table.ns, table.name, [], [
        {"action": "set-statistics", "snapshot-id": s1, "statistics": stats}]).body["metadata"]
    assert md["statistics"] == [stats]
    md = api.commit(table.ns, table.name, [], [
        {"action": "remove-statistics", "snapshot-id": s1}]).body["metadata"]
    assert md.get("statistics", []) == []


def test_set_location(api, table, tmp_path):
    new = f"file://{tmp_path}/relocated"
    md = api.commit(table.ns, table.name, [], [
        {"action": "set-location", "location": new}]).body["metadata"]
    assert md["location"] == new
