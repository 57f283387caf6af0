"""Concurrent commits to one table: conflicts are 409 (never 5xx), and nothing is lost."""

import threading
from collections import Counter

import pytest

import helpers
from helpers import append_updates, main_requirement, unique

THREADS = 8
COMMITS_PER_THREAD = 5
MAX_ATTEMPTS = 200


def _run_threads(target):
    errors = []

    def wrap(i):
        try:
            target(i)
        except BaseException as e:  # reported by the main thread
            errors.append(f"thread {i}: {e!r}")

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not any(t.is_alive() for t in threads), "a committer thread hung"
    assert not errors, "\n".join(errors)


@pytest.mark.slow
def test_concurrent_appends_with_ref_requirement(api, ns):
    """Stale assert-ref-snapshot-id commits get 409 and succeed after a reload; no 5xx."""
    name = unique("race")
    api.create_table(ns, name)
    statuses = Counter()
    committed = []
    lock = threading.Lock()

    def worker(i):
        done = 0
        for _ in range(MAX_ATTEMPTS):
            if done == COMMITS_PER_THREAD:
                return
            md = api.load_table(ns, name).body["metadata"]
            sid, ups = append_updates(md)
            r = api.commit(ns, name, [main_requirement(md)], ups, expect=None)
            with lock:
                statuses[r.status] += 1
            if r.status == 200:
                assert r.body["metadata"]["current-snapshot-id"] == sid
                with lock:
                    committed.append(sid)
                done += 1
            else:
                helpers.assert_error(r, 409, "CommitFailedException",
                                     contains="Requirement failed")
        raise AssertionError(f"gave up after {MAX_ATTEMPTS} attempts")

    _run_threads(worker)
    assert set(statuses) <= {200, 409}, statuses
    assert statuses[200] == THREADS * COMMITS_PER_THREAD

    md = api.load_table(ns, name).body["metadata"]
    snaps = {s["snapshot-id"]: s for s in md["snapshots"]}
    assert set(snaps) == set(committed)
    # a linear history: each snapshot's parent is the one committed just before it
    chain, cur = [], md["current-snapshot-id"]
    while cur is not None:
        chain.append(cur)
        cur = snaps[cur].get("parent-snapshot-id")
    assert len(chain) == len(committed), "history is not one linear chain"
    seqs = sorted(s["sequence-number"] for s in snaps.values())
    assert seqs == list(range(1, len(committed) + 1))
    assert md["last-sequence-number"] == len(committed)
    assert [e["snapshot-id"] for e in md["snapshot-log"]] == list(reversed(chain))


@pytest.mark.slow
def test_concurrent_appends_without_requirement_all_succeed(api, ns):
    """Commits that assert nothing are re-applied by the server on conflict: all succeed."""
    name = unique("retry")
    api.create_table(ns, name, properties={"format-version": "1"})
    committed = []
    lock = threading.Lock()

    def worker(i):
        for _ in range(COMMITS_PER_THREAD):
            md = api.load_table(ns, name).body["metadata"]
            sid, ups = append_updates(md)
            r = api.commit(ns, name, [], ups, expect=None)
            assert r.status == 200, f"commit without requirements must not fail: {r!r}"
            with lock:
                committed.append(sid)

    _run_threads(worker)
    md = api.load_table(ns, name).body["metadata"]
    got = {s["snapshot-id"] for s in md["snapshots"]}
    assert got == set(committed), f"lost snapshots: {set(committed) - got}"
    assert md["current-snapshot-id"] in got
    assert len(md["snapshot-log"]) == len(committed)
    assert len(md["metadata-log"]) == len(committed)
    versions = sorted(helpers.file_version(e["metadata-file"]) for e in md["metadata-log"])
    assert versions == list(range(len(committed)))


@pytest.mark.slow
def test_concurrent_property_updates_no_lost_update(api, ns):
    name = unique("props")
    api.create_table(ns, name)

    def worker(i):
        for j in range(COMMITS_PER_THREAD):
            md = api.load_table(ns, name).body["metadata"]
            r = api.commit(ns, name, [helpers.uuid_requirement(md)],
                           [{"action": "set-properties", "updates": {f"t{i}.{j}": "v"}}],
                           expect=None)
            assert r.status == 200, r

    _run_threads(worker)
    props = api.load_table(ns, name).body["metadata"]["properties"]
    for i in range(THREADS):
        for j in range(COMMITS_PER_THREAD):
            assert props.get(f"t{i}.{j}") == "v", f"lost update t{i}.{j}"


@pytest.mark.slow
def test_concurrent_creates_one_winner(api, ns):
    results = Counter()
    lock = threading.Lock()

    def worker(i):
        r = api.create_table(ns, "contested", expect=None)
        with lock:
            results[r.status] += 1
        if r.status != 200:
            helpers.assert_error(r, 409, "AlreadyExistsException")

    _run_threads(worker)
    assert results[200] == 1 and results[409] == THREADS - 1, results


@pytest.mark.slow
def test_concurrent_namespace_creates_one_winner(api):
    name = unique("contested_ns")
    results = Counter()
    lock = threading.Lock()

    def worker(i):
        r = api.create_namespace([name], {"writer": str(i)}, expect=None)
        with lock:
            results[r.status] += 1
        if r.status != 200:
            helpers.assert_error(r, 409, "AlreadyExistsException")

    _run_threads(worker)
    assert results[200] == 1 and results[409] == THREADS - 1, results
    top = api.get(f"{api.p}/namespaces").body["namespaces"]
    assert top.count([name]) == 1
