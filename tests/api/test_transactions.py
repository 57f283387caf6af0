"""POST /v1/{prefix}/transactions/commit: several tables' changes applied atomically, or none."""

import threading

import pytest

import helpers
from helpers import (Snapshot, TableRef, append_updates, assert_client_error, assert_error,
                     main_requirement, metadata_files, unique, uuid_requirement)
from rest_client import default_schema

# This module gets a server of its own (it creates many namespaces).
_own_server, _own_api = helpers.module_server_fixtures("serac-api-tx")


def _tx(api, changes, **kw):
    return api.post(f"{api.p}/transactions/commit", json={"table-changes": changes}, **kw)


def _change(t, requirements=(), updates=()):
    return {"identifier": {"namespace": list(t.ns), "name": t.name},
            "requirements": list(requirements), "updates": list(updates)}


def _new_table(api, ns, stem="t"):
    name = unique(stem)
    r = api.create_table(ns, name)
    return TableRef(ns, name, r.body)


def _metadata(api, t):
    return api.load_table(t.ns, t.name).body["metadata"]


def _append_change(api, t):
    md = _metadata(api, t)
    sid, ups = append_updates(md)
    return sid, _change(t, [uuid_requirement(md), main_requirement(md)], ups)


@pytest.fixture
def two_tables(api):
    """Two tables in two namespaces."""
    a = [unique("txa")]
    b = [unique("txb")]
    api.create_namespace(a)
    api.create_namespace(b)
    return _new_table(api, a, "left"), _new_table(api, b, "right")


def test_commit_two_tables(api, two_tables):
    t1, t2 = two_tables
    before = {t.name: Snapshot(api, t) for t in two_tables}
    s1, c1 = _append_change(api, t1)
    s2, c2 = _append_change(api, t2)
    c2["updates"].append({"action": "set-properties", "updates": {"tx": "yes"}})
    r = _tx(api, [c1, c2])
    assert r.status == 204, r

    for t, sid in ((t1, s1), (t2, s2)):
        loaded = api.load_table(t.ns, t.name).body
        md = loaded["metadata"]
        old = before[t.name]
        assert loaded["metadata-location"] != old.location
        assert md["current-snapshot-id"] == sid
        assert md["refs"]["main"]["snapshot-id"] == sid
        assert [e["metadata-file"] for e in md["metadata-log"]] == [old.location]
        assert helpers.file_version(loaded["metadata-location"]) == \
            helpers.file_version(old.location) + 1
        files = metadata_files(md)
        assert len(files) == len(old.files) + 1, f"expected exactly one new metadata file: {files}"
        assert helpers.read_metadata_file(loaded["metadata-location"]) == md
    assert _metadata(api, t2)["properties"]["tx"] == "yes"
    assert "tx" not in _metadata(api, t1).get("properties", {})


def test_commit_three_tables_mixed_updates(api, ns):
    ts = [_new_table(api, ns, f"m{i}") for i in range(3)]
    md0 = _metadata(api, ts[0])
    schema = helpers.current_schema(md0)
    new_schema = {"type": "struct", "schema-id": 1, "fields": schema["fields"] + [
        {"id": 4, "name": "extra", "type": "string", "required": False}]}
    s1, c1 = _append_change(api, ts[1])
    changes = [
        _change(ts[0], [{"type": "assert-current-schema-id", "current-schema-id": 0}],
                [{"action": "add-schema", "schema": new_schema, "last-column-id": 4},
                 {"action": "set-current-schema", "schema-id": -1}]),
        c1,
        _change(ts[2], [uuid_requirement(_metadata(api, ts[2]))],
                [{"action": "set-properties", "updates": {"k": "v"}}]),
    ]
    r = _tx(api, changes)
    assert r.status == 204, r
    assert _metadata(api, ts[0])["current-schema-id"] == 1
    assert _metadata(api, ts[1])["current-snapshot-id"] == s1
    assert _metadata(api, ts[2])["properties"]["k"] == "v"


def test_single_table_transaction(api, table):
    sid, c = _append_change(api, table)
    assert _tx(api, [c]).status == 204
    assert _metadata(api, table)["current-snapshot-id"] == sid


def test_transaction_with_prefixless_route(api, table):
    sid, c = _append_change(api, table)
    r = api.post("/v1/transactions/commit", json={"table-changes": [c]})
    assert r.status == 204, r
    assert _metadata(api, table)["current-snapshot-id"] == sid


# -- all or nothing -------------------------------------------------------------------------

@pytest.mark.parametrize("bad_position", [0, 1, 2])
def test_failing_requirement_changes_no_table(api, ns, bad_position):
    ts = [_new_table(api, ns, f"a{i}") for i in range(3)]
    # give every table a snapshot first, so assert-ref-snapshot-id has something to compare
    for t in ts:
        _, c = _append_change(api, t)
        assert _tx(api, [c]).status == 204
    before = [Snapshot(api, t) for t in ts]
    changes = [_append_change(api, t)[1] for t in ts]
    changes[bad_position]["requirements"] = [
        {"type": "assert-table-uuid", "uuid": "00000000-0000-0000-0000-000000000001"}]
    r = _tx(api, changes)
    assert_error(r, 409, "CommitFailedException",
                 contains="Requirement failed: UUID does not match")
    for t, snap in zip(ts, before):
        snap.assert_unchanged(api, t)


def test_stale_ref_requirement_changes_no_table(api, two_tables):
    t1, t2 = two_tables
    _, stale = _append_change(api, t2)
    # t2 moves on after the client read it
    _, c = _append_change(api, t2)
    assert _tx(api, [c]).status == 204
    before = [Snapshot(api, t) for t in two_tables]
    _, c1 = _append_change(api, t1)
    r = _tx(api, [c1, stale])
    assert_error(r, 409, "CommitFailedException", contains="Requirement failed")
    for t, snap in zip(two_tables, before):
        snap.assert_unchanged(api, t)


def test_invalid_update_on_one_table_changes_none(api, two_tables):
    t1, t2 = two_tables
    before = [Snapshot(api, t) for t in two_tables]
    _, c1 = _append_change(api, t1)
    c2 = _change(t2, [], [{"action": "set-current-schema", "schema-id": 99}])
    r = _tx(api, [c1, c2])
    assert_client_error(r, (400,))
    for t, snap in zip(two_tables, before):
        snap.assert_unchanged(api, t)


def test_unknown_action_400_changes_none(api, two_tables):
    t1, t2 = two_tables
    before = [Snapshot(api, t) for t in two_tables]
    _, c1 = _append_change(api, t1)
    c2 = _change(t2, [], [{"action": "no-such-action", "x": 1}])
    assert_client_error(_tx(api, [c1, c2]), (400,))
    for t, snap in zip(two_tables, before):
        snap.assert_unchanged(api, t)


def test_unknown_table_404_changes_none(api, table):
    before = Snapshot(api, table)
    _, c1 = _append_change(api, table)
    ghost = TableRef(table.ns, "no_such_table", None)
    c2 = _change(ghost, [], [{"action": "set-properties", "updates": {"a": "b"}}])
    for changes in ([c1, c2], [c2, c1]):
        r = _tx(api, changes)
        assert_error(r, 404, "NoSuchTableException",
                     contains=f"Table does not exist: {table.ns[0]}.no_such_table")
        before.assert_unchanged(api, table)
    assert api.head(api.table_url(table.ns, "no_such_table")).status == 404


def test_table_in_missing_namespace_404(api, table):
    before = Snapshot(api, table)
    _, c1 = _append_change(api, table)
    ghost = TableRef([unique("nons")], "t", None)
    r = _tx(api, [c1, _change(ghost, [], [{"action": "set-properties", "updates": {"a": "b"}}])])
    assert r.status == 404, r
    assert r.error["type"] in ("NoSuchTableException", "NoSuchNamespaceException"), r
    before.assert_unchanged(api, table)


def test_view_name_is_not_a_table_404(api, table):
    helpers.create_view(api, table.ns, "a_view")
    view_loc = api.get(helpers.view_url(api, table.ns, "a_view")).body["metadata-location"]
    before = Snapshot(api, table)
    _, c1 = _append_change(api, table)
    r = _tx(api, [c1, _change(TableRef(table.ns, "a_view", None), [],
                               [{"action": "set-properties", "updates": {"a": "b"}}])])
    assert_error(r, 404, "NoSuchTableException", contains="Table does not exist")
    before.assert_unchanged(api, table)
    assert api.get(helpers.view_url(api, table.ns, "a_view")).body["metadata-location"] == view_loc


def test_duplicate_table_400(api, table):
    before = Snapshot(api, table)
    _, c1 = _append_change(api, table)
    c2 = _change(table, [], [{"action": "set-properties", "updates": {"dup": "1"}}])
    r = _tx(api, [c1, c2])
    assert_error(r, 400)
    before.assert_unchanged(api, table)


def test_duplicate_table_different_spelling_400(api, ns):
    """The same table named twice is a duplicate even when the two changes are identical."""
    t = _new_table(api, ns)
    before = Snapshot(api, t)
    c = _change(t, [], [{"action": "set-properties", "updates": {"same": "1"}}])
    assert_error(_tx(api, [c, dict(c)]), 400)
    before.assert_unchanged(api, t)


@pytest.mark.parametrize("body", [
    {},
    {"table-changes": {}},
    {"table-changes": [{"requirements": [], "updates": []}]},
    {"table-changes": [{"identifier": {"namespace": ["x"]}, "requirements": [], "updates": []}]},
    {"table-changes": [{"identifier": {"name": "t"}, "requirements": [], "updates": []}]},
    {"table-changes": [{"identifier": "x.t", "requirements": [], "updates": []}]},
], ids=["no-changes-field", "changes-not-array", "no-identifier", "no-name", "no-namespace",
        "identifier-string"])
def test_malformed_request_400(api, body):
    r = api.post(f"{api.p}/transactions/commit", json=body)
    assert_client_error(r, (400,))


def test_not_json_400(api):
    r = api.post(f"{api.p}/transactions/commit", data="{not json")
    assert_client_error(r, (400,))


def test_empty_table_changes_400(api):
    r = _tx(api, [])
    assert_client_error(r, (400,))


def test_noop_change_leaves_that_table_alone(api, two_tables):
    t1, t2 = two_tables
    before2 = Snapshot(api, t2)
    sid, c1 = _append_change(api, t1)
    r = _tx(api, [c1, _change(t2, [uuid_requirement(before2.metadata)], [])])
    assert r.status == 204, r
    assert _metadata(api, t1)["current-snapshot-id"] == sid
    before2.assert_unchanged(api, t2)


def test_create_requirement_on_existing_table_409(api, two_tables):
    t1, t2 = two_tables
    before = [Snapshot(api, t) for t in two_tables]
    _, c1 = _append_change(api, t1)
    c2 = _change(t2, [{"type": "assert-create"}],
                 [{"action": "set-properties", "updates": {"a": "b"}}])
    r = _tx(api, [c1, c2])
    assert_error(r, 409, "CommitFailedException",
                 contains="Requirement failed: table already exists")
    for t, snap in zip(two_tables, before):
        snap.assert_unchanged(api, t)


# -- concurrency ----------------------------------------------------------------------------

@pytest.mark.slow
def test_concurrent_transactions_are_atomic(api, ns):
    """Threads race transactions over the same two tables: every snapshot pair lands on both
    tables or on neither; losers get 409 and nothing else."""
    t1, t2 = _new_table(api, ns, "p"), _new_table(api, ns, "q")
    threads, per_thread, max_attempts = 6, 3, 200
    lock = threading.Lock()
    won, lost_sids, errors, statuses = [], [], [], []

    def worker(i):
        try:
            done = 0
            for _ in range(max_attempts):
                if done == per_thread:
                    return
                s1, c1 = _append_change(api, t1)
                s2, c2 = _append_change(api, t2)
                r = _tx(api, [c1, c2] if i % 2 else [c2, c1])
                with lock:
                    statuses.append(r.status)
                if r.status == 204:
                    with lock:
                        won.append((s1, s2))
                    done += 1
                else:
                    assert_error(r, 409, "CommitFailedException", contains="Requirement failed")
                    with lock:
                        lost_sids.extend([s1, s2])
            raise AssertionError(f"gave up after {max_attempts} attempts")
        except BaseException as e:
            with lock:
                errors.append(f"thread {i}: {e!r}")

    ths = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(240)
    assert not any(th.is_alive() for th in ths), "a committer thread hung"
    assert not errors, "\n".join(errors)
    assert set(statuses) <= {204, 409}, statuses
    assert len(won) == threads * per_thread

    snaps1 = {s["snapshot-id"] for s in _metadata(api, t1)["snapshots"]}
    snaps2 = {s["snapshot-id"] for s in _metadata(api, t2)["snapshots"]}
    assert snaps1 == {a for a, _ in won}, "table 1 holds exactly the winning transactions"
    assert snaps2 == {b for _, b in won}, "table 2 holds exactly the winning transactions"
    assert not (snaps1 | snaps2) & set(lost_sids), "a losing transaction left a snapshot"
    # both histories are linear chains of the same length
    for t in (t1, t2):
        md = _metadata(api, t)
        by_id = {s["snapshot-id"]: s for s in md["snapshots"]}
        chain, cur = [], md["current-snapshot-id"]
        while cur is not None:
            chain.append(cur)
            cur = by_id[cur].get("parent-snapshot-id")
        assert len(chain) == len(won)


def test_transaction_and_single_commit_conflict(api, table):
    """A transaction built on a stale read loses to a plain commit that moved the table."""
    _, tx_change = _append_change(api, table)
    md = _metadata(api, table)
    sid, ups = append_updates(md)
    api.commit(table.ns, table.name, [main_requirement(md)], ups)
    before = Snapshot(api, table)
    r = _tx(api, [tx_change])
    assert_error(r, 409, "CommitFailedException")
    before.assert_unchanged(api, table)
    assert _metadata(api, table)["current-snapshot-id"] == sid


def test_default_schema_is_untouched_by_failed_transaction(api, ns):
    """A schema change in a failed transaction is not visible afterwards."""
    t1, t2 = _new_table(api, ns, "s1"), _new_table(api, ns, "s2")
    fields = default_schema()["fields"] + [{"id": 4, "name": "n", "type": "int",
                                            "required": False}]
    c1 = _change(t1, [], [{"action": "add-schema", "schema": {"type": "struct", "schema-id": 1,
                                                              "fields": fields}},
                          {"action": "set-current-schema", "schema-id": -1}])
    c2 = _change(t2, [{"type": "assert-current-schema-id", "current-schema-id": 3}],
                 [{"action": "set-properties", "updates": {"a": "b"}}])
    assert_error(_tx(api, [c1, c2]), 409, "CommitFailedException",
                 contains="Requirement failed: current schema changed")
    md = _metadata(api, t1)
    assert md["current-schema-id"] == 0 and len(md["schemas"]) == 1
