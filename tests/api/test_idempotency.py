"""The Idempotency-Key header: advertised lifetime, record and replay on every mutating route,
key validation, reuse for another request (422), 4xx replay, 5xx not recorded, concurrent
requests with one key, expiry."""

import os
import secrets
import shutil
import threading
import time

import pytest

import helpers
from helpers import (Snapshot, append_updates, assert_error, create_view, create_view_body,
                     local_path, main_requirement, metadata_files, unique, uuid_requirement,
                     view_url)
from rest_client import RestClient, default_schema

# This module gets a server of its own (it creates many namespaces).
_own_server, _own_api = helpers.module_server_fixtures("serac-api-idem")

REPLAYED = "Idempotency-Replayed"


def new_key():
    """A UUIDv7 string, as the Java client sends."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(secrets.token_bytes(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 \
        | 0b10 << 62 | (rand & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def send(api, method, path, key, json=None, params=None, **kw):
    headers = {"Idempotency-Key": key} if key is not None else None
    return api.request(method, path, json=json, params=params, headers=headers, **kw)


def assert_replay_of(first, again):
    """`again` is a replay of `first`: same status, body and ETag, marked as replayed."""
    assert again.status == first.status, f"replay changed the status: {first!r} then {again!r}"
    assert again.body == first.body, f"replay changed the body: {first!r} then {again!r}"
    assert again.headers.get("ETag") == first.headers.get("ETag"), \
        f"replay changed the ETag: {first.headers.get('ETag')} then {again.headers.get('ETag')}"
    assert again.headers.get(REPLAYED, "").lower() == "true", \
        f"a replay must carry '{REPLAYED}: true': {dict(again.headers)}"


def assert_not_replayed(resp):
    assert REPLAYED not in resp.headers, f"not a replay, but marked as one: {resp!r}"


# -- /v1/config -----------------------------------------------------------------------------

def test_config_advertises_default_lifetime(api):
    cfg = api.get("/v1/config").body
    assert cfg.get("idempotency-key-lifetime") == "PT30M", cfg


def test_lifetime_zero_turns_it_off(start_server):
    srv = start_server("--idempotency-lifetime", "0")
    api = RestClient(srv.url)
    cfg = api.get("/v1/config").body
    assert "idempotency-key-lifetime" not in cfg, cfg
    key = new_key()
    name = unique("off")
    r = send(api, "POST", f"{api.p}/namespaces", key, json={"namespace": [name]})
    assert r.status == 200, r
    r = send(api, "POST", f"{api.p}/namespaces", key, json={"namespace": [name]})
    assert_error(r, 409, "AlreadyExistsException")
    assert_not_replayed(r)


def test_lifetime_expiry(start_server):
    srv = start_server("--idempotency-lifetime", "2", "--job-interval-ms", "500")
    api = RestClient(srv.url)
    cfg = api.get("/v1/config").body
    assert cfg.get("idempotency-key-lifetime") in ("PT2S", "PT2.0S"), cfg
    key = new_key()
    body = {"namespace": [unique("exp")]}
    first = send(api, "POST", f"{api.p}/namespaces", key, json=body)
    assert first.status == 200, first
    assert_replay_of(first, send(api, "POST", f"{api.p}/namespaces", key, json=body))
    time.sleep(3.0)
    # the record has expired: the request runs again, and now the namespace exists
    again = send(api, "POST", f"{api.p}/namespaces", key, json=body)
    assert_error(again, 409, "AlreadyExistsException")
    assert_not_replayed(again)


# -- replay proves "executed once" ----------------------------------------------------------

def test_replay_namespace_create(api):
    key = new_key()
    body = {"namespace": [unique("idem")], "properties": {"owner": "k"}}
    first = send(api, "POST", f"{api.p}/namespaces", key, json=body)
    assert first.status == 200, first
    assert_not_replayed(first)
    again = send(api, "POST", f"{api.p}/namespaces", key, json=body)
    assert_replay_of(first, again)
    # without the key the same request runs and fails: it really exists once
    r = api.post(f"{api.p}/namespaces", json=body)
    assert_error(r, 409, "AlreadyExistsException")


def test_replay_table_commit_after_lost_response(api, table):
    before = Snapshot(api, table)
    md = before.metadata
    sid, ups = append_updates(md)
    body = {"requirements": [uuid_requirement(md), main_requirement(md)], "updates": ups}
    key = new_key()
    path = api.table_url(table.ns, table.name)
    first = send(api, "POST", path, key, json=body)
    assert first.status == 200, first
    assert first.headers.get("ETag"), "a commit answer carries an ETag"
    # the client "lost" that answer and retries with the same key
    again = send(api, "POST", path, key, json=body)
    assert_replay_of(first, again)
    loaded = api.load_table(table.ns, table.name).body
    assert loaded["metadata-location"] == first.body["metadata-location"]
    assert [s["snapshot-id"] for s in loaded["metadata"]["snapshots"]] == [sid]
    assert len(metadata_files(md)) == len(before.files) + 1, "the commit must run exactly once"


def test_replay_commit_after_table_moved_on(api, table):
    """A replay answers with the first response even when the table changed since."""
    md = api.load_table(table.ns, table.name).body["metadata"]
    sid, ups = append_updates(md)
    body = {"requirements": [main_requirement(md)], "updates": ups}
    key = new_key()
    path = api.table_url(table.ns, table.name)
    first = send(api, "POST", path, key, json=body)
    assert first.status == 200, first
    md2 = first.body["metadata"]
    sid2, ups2 = append_updates(md2)
    api.commit(table.ns, table.name, [main_requirement(md2)], ups2)
    again = send(api, "POST", path, key, json=body)
    # run again, the stale requirement would fail with 409
    assert_replay_of(first, again)
    md3 = api.load_table(table.ns, table.name).body["metadata"]
    assert md3["current-snapshot-id"] == sid2
    assert sorted(s["snapshot-id"] for s in md3["snapshots"]) == sorted([sid, sid2])


def test_4xx_is_replayed_even_after_state_changed(api):
    name = unique("conflict")
    api.create_namespace([name])
    key = new_key()
    body = {"namespace": [name]}
    first = send(api, "POST", f"{api.p}/namespaces", key, json=body)
    assert_error(first, 409, "AlreadyExistsException")
    assert api.delete(api.ns_url([name])).status == 204
    again = send(api, "POST", f"{api.p}/namespaces", key, json=body)
    assert_replay_of(first, again)
    assert api.head(api.ns_url([name])).status == 404, "the replay must not create it"


def test_404_is_replayed(api, ns):
    key = new_key()
    path = api.table_url(ns, "later")
    first = send(api, "DELETE", path, key)
    assert_error(first, 404, "NoSuchTableException")
    api.create_table(ns, "later")
    again = send(api, "DELETE", path, key)
    assert_replay_of(first, again)
    assert api.head(path).status == 204, "the replay must not drop the new table"


def test_new_key_executes_again(api):
    body = {"namespace": [unique("twokeys")]}
    assert send(api, "POST", f"{api.p}/namespaces", new_key(), json=body).status == 200
    r = send(api, "POST", f"{api.p}/namespaces", new_key(), json=body)
    assert_error(r, 409, "AlreadyExistsException")
    assert_not_replayed(r)


# -- every mutating route -------------------------------------------------------------------
#
# Each scenario prepares state and returns (method, path, body, params, check): the request is
# sent twice with one key; the second must be a replay, and check() then proves that the
# operation ran once (running it twice would have failed or doubled something).

def _sc_ns_create(api, ns):
    name = unique("c")
    return "POST", f"{api.p}/namespaces", {"namespace": [name]}, None, \
        lambda: assert_error(api.create_namespace([name], expect=None), 409)


def _sc_ns_drop(api, ns):
    name = unique("d")
    api.create_namespace([name])
    return "DELETE", api.ns_url([name]), None, None, \
        lambda: api.head(api.ns_url([name])).status == 404


def _sc_ns_props(api, ns):
    return "POST", f"{api.ns_url(ns)}/properties", \
        {"removals": [], "updates": {"p": "1"}}, None, \
        lambda: api.get(api.ns_url(ns)).body["properties"]["p"] == "1"


def _sc_table_create(api, ns):
    return "POST", f"{api.ns_url(ns)}/tables", \
        {"name": "made", "schema": default_schema()}, None, \
        lambda: len(metadata_files(api.load_table(ns, "made").body["metadata"])) == 1


def _sc_table_register(api, ns):
    loc = api.create_table(ns, "reg_src").body["metadata-location"]
    assert api.delete(api.table_url(ns, "reg_src")).status == 204
    return "POST", f"{api.ns_url(ns)}/register", {"name": "reg", "metadata-location": loc}, \
        None, lambda: api.load_table(ns, "reg").body["metadata-location"] == loc


def _sc_table_commit(api, ns):
    md = api.create_table(ns, "com").body["metadata"]
    sid, ups = append_updates(md)
    body = {"requirements": [main_requirement(md)], "updates": ups}

    def check():
        md2 = api.load_table(ns, "com").body["metadata"]
        return [s["snapshot-id"] for s in md2["snapshots"]] == [sid] and \
            len(metadata_files(md2)) == 2
    return "POST", api.table_url(ns, "com"), body, None, check


def _sc_table_drop(api, ns):
    api.create_table(ns, "dropme")
    return "DELETE", api.table_url(ns, "dropme"), None, {"purgeRequested": "false"}, \
        lambda: api.head(api.table_url(ns, "dropme")).status == 404


def _sc_table_rename(api, ns):
    api.create_table(ns, "ren_a")
    body = {"source": {"namespace": ns, "name": "ren_a"},
            "destination": {"namespace": ns, "name": "ren_b"}}
    return "POST", f"{api.p}/tables/rename", body, None, \
        lambda: api.head(api.table_url(ns, "ren_b")).status == 204


def _sc_transaction(api, ns):
    md = api.create_table(ns, "txt").body["metadata"]
    sid, ups = append_updates(md)
    body = {"table-changes": [{"identifier": {"namespace": ns, "name": "txt"},
                               "requirements": [main_requirement(md)], "updates": ups}]}
    return "POST", f"{api.p}/transactions/commit", body, None, \
        lambda: [s["snapshot-id"] for s in
                 api.load_table(ns, "txt").body["metadata"]["snapshots"]] == [sid]


def _sc_view_create(api, ns):
    return "POST", f"{api.ns_url(ns)}/views", create_view_body(ns, "vmade"), None, \
        lambda: len(metadata_files(api.get(view_url(api, ns, "vmade")).body["metadata"])) == 1


def _sc_view_replace(api, ns):
    md = create_view(api, ns, "vrep").body["metadata"]
    body = {"requirements": [helpers.view_uuid_requirement(md)],
            "updates": helpers.replace_view_updates(md, "select 7 as id, 'x' as data")}

    def check():
        md2 = api.get(view_url(api, ns, "vrep")).body["metadata"]
        return len(md2["versions"]) == 2 and len(metadata_files(md2)) == 2
    return "POST", view_url(api, ns, "vrep"), body, None, check


def _sc_view_drop(api, ns):
    create_view(api, ns, "vdrop")
    return "DELETE", view_url(api, ns, "vdrop"), None, None, \
        lambda: api.head(view_url(api, ns, "vdrop")).status == 404


def _sc_view_rename(api, ns):
    create_view(api, ns, "vren_a")
    body = {"source": {"namespace": ns, "name": "vren_a"},
            "destination": {"namespace": ns, "name": "vren_b"}}
    return "POST", f"{api.p}/views/rename", body, None, \
        lambda: api.head(view_url(api, ns, "vren_b")).status == 204


def _sc_view_register(api, ns):
    loc = create_view(api, ns, "vreg_src").body["metadata-location"]
    assert api.delete(view_url(api, ns, "vreg_src")).status == 204
    return "POST", f"{api.ns_url(ns)}/register-view", \
        {"name": "vreg", "metadata-location": loc}, None, \
        lambda: api.get(view_url(api, ns, "vreg")).body["metadata-location"] == loc


SCENARIOS = {
    "createNamespace": _sc_ns_create,
    "dropNamespace": _sc_ns_drop,
    "updateProperties": _sc_ns_props,
    "createTable": _sc_table_create,
    "registerTable": _sc_table_register,
    "updateTable": _sc_table_commit,
    "dropTable": _sc_table_drop,
    "renameTable": _sc_table_rename,
    "commitTransaction": _sc_transaction,
    "createView": _sc_view_create,
    "replaceView": _sc_view_replace,
    "dropView": _sc_view_drop,
    "renameView": _sc_view_rename,
    "registerView": _sc_view_register,
}


@pytest.mark.parametrize("op", list(SCENARIOS))
def test_every_mutating_route_replays(api, ns, op):
    method, path, body, params, check = SCENARIOS[op](api, ns)
    key = new_key()
    first = send(api, method, path, key, json=body, params=params)
    assert 200 <= first.status < 300, first
    assert_not_replayed(first)
    again = send(api, method, path, key, json=body, params=params)
    assert_replay_of(first, again)
    ok = check()
    assert ok is None or ok, f"{op}: state after a replay shows the operation ran more than once"


# -- key reuse, validation ------------------------------------------------------------------

def test_same_key_different_body_422(api):
    key = new_key()
    a, b = unique("ka"), unique("kb")
    assert send(api, "POST", f"{api.p}/namespaces", key, json={"namespace": [a]}).status == 200
    r = send(api, "POST", f"{api.p}/namespaces", key, json={"namespace": [b]})
    assert_error(r, 422, "UnprocessableEntityException")
    assert api.head(api.ns_url([b])).status == 404, "a mismatched key must not execute"


def test_same_key_different_path_422(api, ns):
    key = new_key()
    body = {"removals": [], "updates": {"x": "1"}}
    other = [unique("other")]
    api.create_namespace(other)
    assert send(api, "POST", f"{api.ns_url(ns)}/properties", key, json=body).status == 200
    r = send(api, "POST", f"{api.ns_url(other)}/properties", key, json=body)
    assert_error(r, 422, "UnprocessableEntityException")
    assert "x" not in (api.get(api.ns_url(other)).body.get("properties") or {})


def test_same_key_different_method_422(api, ns):
    key = new_key()
    body = {"removals": [], "updates": {"y": "1"}}
    assert send(api, "POST", f"{api.ns_url(ns)}/properties", key, json=body).status == 200
    api.create_table(ns, "held")
    r = send(api, "DELETE", api.table_url(ns, "held"), key)
    assert_error(r, 422, "UnprocessableEntityException")
    assert api.head(api.table_url(ns, "held")).status == 204


@pytest.mark.parametrize("key", ["", "x" * 129, "has space", "tab\there"],
                         ids=["empty", "129-chars", "space", "tab"])
def test_invalid_key_400(api, key):
    name = unique("badkey")
    r = send(api, "POST", f"{api.p}/namespaces", key, json={"namespace": [name]})
    helpers.assert_client_error(r, (400,))
    assert api.head(api.ns_url([name])).status == 404, "a request with a bad key must not run"


def test_longest_valid_key(api):
    key = new_key() + "k" * (128 - 36)
    assert len(key) == 128
    body = {"namespace": [unique("longkey")]}
    first = send(api, "POST", f"{api.p}/namespaces", key, json=body)
    assert first.status == 200, first
    assert_replay_of(first, send(api, "POST", f"{api.p}/namespaces", key, json=body))


def test_get_ignores_key(api, ns):
    key = new_key()
    r1 = send(api, "GET", api.ns_url(ns), key)
    assert r1.status == 200 and REPLAYED not in r1.headers
    api.post(f"{api.ns_url(ns)}/properties", json={"removals": [], "updates": {"z": "9"}})
    r2 = send(api, "GET", api.ns_url(ns), key)
    assert r2.status == 200 and REPLAYED not in r2.headers
    assert r2.body["properties"]["z"] == "9", "a GET is never answered from a record"


# -- 5xx is not recorded --------------------------------------------------------------------

def test_5xx_is_not_recorded(api, ns, tmp_path):
    """A commit that fails with 5xx (metadata directory unwritable) runs again on retry."""
    loc = tmp_path / "tbl"
    created = api.create_table(ns, "fragile", location=f"file://{loc}").body
    md = created["metadata"]
    meta_dir = local_path(created["metadata-location"]).parent
    sid, ups = append_updates(md)
    body = {"requirements": [main_requirement(md)], "updates": ups}
    key = new_key()
    path = api.table_url(ns, "fragile")

    # a regular file where the metadata directory was: no new metadata file can be written
    parked = tmp_path / "parked-metadata"
    shutil.move(str(meta_dir), str(parked))
    meta_dir.write_text("not a directory")
    try:
        first = send(api, "POST", path, key, json=body, allow_5xx=True)
    finally:
        os.remove(meta_dir)
        shutil.move(str(parked), str(meta_dir))
    assert first.status >= 500, f"expected a 5xx while metadata cannot be written: {first!r}"
    assert api.load_table(ns, "fragile").body["metadata-location"] == created["metadata-location"]

    again = send(api, "POST", path, key, json=body)
    assert again.status == 200, f"the retry after a 5xx must run: {again!r}"
    assert_not_replayed(again)
    assert again.body["metadata"]["current-snapshot-id"] == sid
    # and now it is recorded
    assert_replay_of(again, send(api, "POST", path, key, json=body))


# -- concurrency ----------------------------------------------------------------------------

@pytest.mark.slow
def test_concurrent_requests_with_one_key_execute_once(api, table):
    threads = 8
    before = Snapshot(api, table)
    md = before.metadata
    sid, ups = append_updates(md)
    body = {"requirements": [main_requirement(md)], "updates": ups}
    key = new_key()
    path = api.table_url(table.ns, table.name)
    barrier = threading.Barrier(threads)
    results, errors = [None] * threads, []

    def worker(i):
        try:
            barrier.wait(30)
            results[i] = send(api, "POST", path, key, json=body)
        except BaseException as e:
            errors.append(f"thread {i}: {e!r}")

    ths = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(120)
    assert not any(th.is_alive() for th in ths), "a request hung"
    assert not errors, "\n".join(errors)
    statuses = [r.status for r in results]
    assert statuses == [200] * threads, f"every request must succeed: {results}"
    bodies = {r.text for r in results}
    assert len({r.body["metadata-location"] for r in results}) == 1, bodies
    assert all(r.body == results[0].body for r in results)
    assert all(r.headers.get("ETag") == results[0].headers.get("ETag") for r in results)
    executed = [r for r in results if REPLAYED not in r.headers]
    assert len(executed) <= 1, "at most one request may be answered without a replay"

    md2 = api.load_table(table.ns, table.name).body["metadata"]
    assert [s["snapshot-id"] for s in md2["snapshots"]] == [sid], "exactly one new snapshot"
    assert len(metadata_files(md2)) == len(before.files) + 1, "exactly one new metadata file"


@pytest.mark.slow
def test_concurrent_creates_with_one_key(api):
    threads = 8
    body = {"namespace": [unique("race")]}
    key = new_key()
    barrier = threading.Barrier(threads)
    results = [None] * threads

    def worker(i):
        barrier.wait(30)
        results[i] = send(api, "POST", f"{api.p}/namespaces", key, json=body)

    ths = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(120)
    assert all(r is not None for r in results), results
    assert [r.status for r in results] == [200] * threads, results
    assert all(r.body == results[0].body for r in results)
