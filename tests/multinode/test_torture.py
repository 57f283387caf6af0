"""Three serac nodes on one PostgreSQL, hammered with concurrent fast appends.

16 writer threads each make APPENDS acknowledged appends: load the table (a fresh load through a
random node), commit add-snapshot + set-snapshot-ref main with assert-ref-snapshot-id on what
was loaded, through a random node; a 409 means reload and retry. Writers 0-7 share one table,
writers 8-15 have a table each. Every commit carries a snapshot id the test generated, so the
final history can be checked against what each writer saw:

- every acknowledged commit (200) is in its table's history exactly once;
- a commit refused with 409 is not there; a commit whose outcome the client never learnt (the
  connection broke, a 503 or another 5xx) is there at most once;
- main is one linear chain holding every snapshot (each parent is the snapshot before it),
  with sequence numbers 1..n;
- every metadata file of the metadata-log, and the current one, exists, parses as JSON and
  names the file before it as its last metadata-log entry.

Variants: no faults; one node SIGKILLed after ~40% of the commits (its writers move to the
others); PostgreSQL restarted in fast mode after ~40% of the commits and held down for
OUTAGE_S seconds so the outage can be observed (requests meanwhile get 503 with Retry-After,
never another 5xx and never a hang past the client timeout; /health/ready answers 503 during
the outage and 200 after; the nodes recover by themselves).

APPENDS is 50 per writer (800 acknowledged commits per variant), not 200: every commit to the
shared table takes several 409 rounds and rewrites metadata that grows with its history, so on
a 2-core machine the fault-free variant alone took 431 s at 200 per writer (3,200 commits, 7
per second, a 1,600-snapshot shared table) against ~35 s at 50, and the whole file must stay
under ~3 minutes. SERAC_TORTURE_APPENDS=200 runs the full size (give pytest more time:
-o timeout=1500).
"""

import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
import requests
import urllib3

from rest_client import RestClient

WRITERS = 16
SHARED_WRITERS = 8
APPENDS = int(os.environ.get("SERAC_TORTURE_APPENDS", "50"))
TIMEOUT = (2.0, 10.0)  # connect, read: a request slower than this is a hang
MAX_TRIES = 8  # attempts of one request on different nodes after connection errors
UNAVAILABLE_BUDGET_S = 60.0  # how long one request keeps retrying 503s
FAULT_AT = 0.4  # fraction of all acknowledged commits before the fault
OUTAGE_S = 3.0
RUN_BUDGET_S = max(280.0, APPENDS * 8.0)  # writers still running after this have hung

pytestmark = pytest.mark.slow


def _retry_after_ok(value):
    """A single valid Retry-After: delta-seconds (duplicated headers arrive joined by ", ")."""
    return value is not None and value.strip().isdigit()


def _never_sent(exc):
    """True when the request never reached a server (the connection could not be made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError))


class Stats:
    """Counters shared by every thread of one run."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = 0
        self.counts = Counter()
        self.failures = []  # protocol violations: reported at the end, fail the test
        # node index -> commits sent after the fault and acknowledged (an answer sent just
        # before a kill may be read after it: it counts for the time it was sent)
        self.since_fault = Counter()
        self.fault_done_at = None
        self.last_503 = None
        self.answers_503 = []  # what the first 503 answers said, for the failure message

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] += n

    def fail(self, msg):
        with self.lock:
            if len(self.failures) < 50:
                self.failures.append(msg)
            self.counts["failures"] += 1


class Client:
    """One writer's HTTP client: a requests.Session, a random node per request, failover."""

    def __init__(self, urls, stats, outage):
        self.urls = urls
        self.stats = stats
        self.outage = outage  # threading.Event set while the database is down (or None)
        self.session = requests.Session()
        self.dead_until = {}
        self.sent_at = None  # when the last attempt of the last request was sent

    def _pick(self, tried):
        now = time.monotonic()
        live = [i for i in range(len(self.urls))
                if i not in tried and self.dead_until.get(i, 0) <= now]
        if not live:
            live = [i for i in range(len(self.urls)) if i not in tried] or \
                list(range(len(self.urls)))
        return random.choice(live)

    def _check_503(self, r, what):
        self.stats.add("503")
        if self.outage is not None and self.outage.is_set():
            self.stats.add("503 during outage")
        with self.stats.lock:
            self.stats.last_503 = time.monotonic()
            if len(self.stats.answers_503) < 10:
                self.stats.answers_503.append(
                    f"{what}: request id {r.headers.get('X-Request-ID')}: {r.text[:300]}")
        ra = r.headers.get("Retry-After")
        if not _retry_after_ok(ra):
            self.stats.fail(f"{what}: 503 without a valid Retry-After header "
                            f"({ra!r}): {r.text[:200]}")
            return 0.2
        return min(float(ra), 0.5)

    def request(self, method, path, body=None):
        """(node, response) or (node, None) when a request that may have been delivered got
        no answer. GETs and requests that never left are retried on other nodes; 503 answers
        are retried (honouring Retry-After) only for GETs."""
        tried = set()
        deadline = time.monotonic() + UNAVAILABLE_BUDGET_S
        tries = 0
        while True:
            node = self._pick(tried)
            url = self.urls[node] + path
            self.sent_at = time.monotonic()
            try:
                r = self.session.request(method, url, json=body, timeout=TIMEOUT)
            except requests.exceptions.RequestException as e:
                tries += 1
                if isinstance(e, requests.exceptions.Timeout):
                    self.stats.fail(f"{method} {path} on node {node}: no answer within "
                                    f"{TIMEOUT} s ({type(e).__name__})")
                never = _never_sent(e)
                self.stats.add("connection errors")
                if never:
                    self.dead_until[node] = time.monotonic() + 2.0
                tried.add(node)
                if len(tried) == len(self.urls):
                    tried = set()
                    time.sleep(0.05)
                if (never or method == "GET") and tries < MAX_TRIES:
                    self.stats.add("retries after connection errors")
                    continue
                if never or method == "GET":
                    raise AssertionError(f"{method} {path}: {MAX_TRIES} attempts failed, last "
                                         f"on node {node}: {e!r}")
                return node, None
            if r.status_code == 503:
                pause = self._check_503(r, f"{method} {path} on node {node}")
                if method == "GET" and time.monotonic() < deadline:
                    self.stats.add("retries after 503")
                    time.sleep(pause)
                    continue
                time.sleep(pause)
            elif r.status_code >= 500:
                self.stats.fail(f"{method} {path} on node {node}: HTTP {r.status_code}: "
                                f"{r.text[:300]}")
            return node, r


class Writer(threading.Thread):
    """Makes APPENDS acknowledged appends to one table; remembers the fate of every commit."""

    def __init__(self, index, table_path, urls, stats, outage):
        super().__init__(name=f"writer-{index}", daemon=True)
        self.index = index
        self.path = table_path
        self.client = Client(urls, stats, outage)
        self.stats = stats
        self.acked = []  # snapshot ids acknowledged with 200
        self.rejected = set()  # refused with 409: must not appear
        self.unknown = set()  # outcome never learnt: may appear, at most once
        self.conflicts = 0
        self.error = None

    def run(self):
        try:
            self._run()
        except BaseException as e:  # reported by the main thread
            self.error = e
        finally:
            self.client.session.close()

    def _load(self):
        node, r = self.client.request("GET", self.path + "?snapshots=refs")
        if r is None or r.status_code != 200:
            raise AssertionError(f"load table on node {node}: "
                                 f"{r.status_code if r is not None else 'no answer'}: "
                                 f"{r.text[:300] if r is not None else ''}")
        return r.json()["metadata"]

    def _run(self):
        while len(self.acked) < APPENDS:
            md = self._load()
            cur = md.get("current-snapshot-id")
            cur = None if cur in (None, -1) else cur
            sid = random.randint(1, 2**62)
            snap = {
                "snapshot-id": sid,
                "sequence-number": md["last-sequence-number"] + 1,
                "timestamp-ms": int(time.time() * 1000),
                "manifest-list": f"{md['location']}/metadata/snap-{sid}-1-{uuid.uuid4()}.avro",
                "summary": {"operation": "append", "added-data-files": "1",
                            "added-records": "1", "torture-writer": str(self.index)},
                "schema-id": md.get("current-schema-id", 0),
            }
            if cur is not None:
                snap["parent-snapshot-id"] = cur
            body = {
                "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main",
                                  "snapshot-id": cur}],
                "updates": [
                    {"action": "add-snapshot", "snapshot": snap},
                    {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch",
                     "snapshot-id": sid},
                ],
            }
            node, r = self.client.request("POST", self.path, body)
            if r is None:
                self.unknown.add(sid)
                self.stats.add("commits with a lost answer")
            elif r.status_code == 200:
                got = r.json()["metadata"].get("current-snapshot-id")
                if got != sid:
                    self.stats.fail(f"writer {self.index}: commit {sid} answered 200 with "
                                    f"current-snapshot-id {got}")
                self.acked.append(sid)
                with self.stats.lock:
                    self.stats.acked += 1
                    done = self.stats.fault_done_at
                    if done is not None and self.client.sent_at > done:
                        self.stats.since_fault[node] += 1
            elif r.status_code == 409:
                self.rejected.add(sid)
                self.conflicts += 1
                self.stats.add("409")
            elif r.status_code >= 500:
                self.unknown.add(sid)  # 503 or a reported 5xx: the outcome is not known
            else:
                raise AssertionError(f"writer {self.index}: commit on node {node} answered "
                                     f"{r.status_code}: {r.text[:300]}")


def _local(uri):
    if uri.startswith("file://"):
        return Path(unquote(uri[len("file://"):]))
    if uri.startswith("file:"):
        return Path(unquote(uri[len("file:"):]))
    return Path(uri)


def _check_table(api, ns, name, writers, label):
    """The history of one table against what its writers saw; returns a summary dict."""
    md = api.load_table([ns], name).body["metadata"]
    snaps = md.get("snapshots", [])
    ids = [s["snapshot-id"] for s in snaps]
    dup = [i for i, n in Counter(ids).items() if n > 1]
    assert not dup, f"{label}: snapshot ids appear more than once: {dup[:10]}"
    present = set(ids)

    acked = [sid for w in writers for sid in w.acked]
    assert len(acked) == len(set(acked)), f"{label}: a snapshot id was acknowledged twice"
    lost = set(acked) - present
    assert not lost, f"{label}: {len(lost)} acknowledged commits are missing: {sorted(lost)[:10]}"
    rejected = set().union(*(w.rejected for w in writers))
    refused_but_there = rejected & present
    assert not refused_but_there, \
        f"{label}: commits refused with 409 are in the history: {sorted(refused_but_there)[:10]}"
    unknown = set().union(*(w.unknown for w in writers))
    stray = present - set(acked) - unknown
    assert not stray, f"{label}: snapshots nobody committed: {sorted(stray)[:10]}"

    # main: one linear chain through every snapshot, sequence numbers 1..n
    by_id = {s["snapshot-id"]: s for s in snaps}
    chain, cur = [], md.get("current-snapshot-id")
    while cur not in (None, -1):
        chain.append(cur)
        assert len(chain) <= len(snaps), f"{label}: the parent chain of main loops"
        assert cur in by_id, f"{label}: main's chain reaches unknown snapshot {cur}"
        cur = by_id[cur].get("parent-snapshot-id")
    chain.reverse()
    assert len(chain) == len(snaps), \
        f"{label}: main's chain holds {len(chain)} of {len(snaps)} snapshots (not linear)"
    assert [by_id[s]["sequence-number"] for s in chain] == list(range(1, len(chain) + 1)), \
        f"{label}: sequence numbers along main are not 1..n"
    assert md["refs"]["main"]["snapshot-id"] == chain[-1]
    log_ids = [e["snapshot-id"] for e in md.get("snapshot-log", [])]
    assert log_ids == chain, f"{label}: snapshot-log differs from main's chain"

    # the metadata-log chain: every file there, parses, and points at the one before it
    files = [e["metadata-file"] for e in md.get("metadata-log", [])] + \
        [api.load_table([ns], name).body["metadata-location"]]
    prev = None
    for f in files:
        path = _local(f)
        assert path.is_file(), f"{label}: metadata file missing: {f}"
        with open(path, "rb") as fh:
            try:
                doc = json.loads(fh.read())
            except ValueError as e:
                raise AssertionError(f"{label}: metadata file is not JSON: {f}: {e}") from e
        if prev is not None:
            log = doc.get("metadata-log") or []
            assert log and log[-1]["metadata-file"] == prev, \
                f"{label}: {f} does not name {prev} as its previous metadata file"
        prev = f
    assert {s["snapshot-id"] for s in doc.get("snapshots", [])} == present, \
        f"{label}: the current metadata file's snapshots differ from the loaded table's"
    return {"snapshots": len(snaps), "unknown": len(unknown),
            "unknown_present": len(unknown & present), "metadata_files": len(files)}


def _run(cluster, fault=None, outage=None, stats=None):
    """Set up the tables, run the writers (and `fault` at FAULT_AT), check, and report."""
    stats = stats or Stats()
    cluster_urls = cluster.urls
    api = RestClient(cluster_urls[0], prefix="default", timeout=60)
    ns = "torture_" + uuid.uuid4().hex[:8]
    api.create_namespace([ns])
    names = ["shared"] + [f"own{i}" for i in range(SHARED_WRITERS, WRITERS)]
    for name in names:
        api.create_table([ns], name)
    base = f"/v1/default/namespaces/{quote(ns)}/tables/"
    writers = [Writer(i, base + ("shared" if i < SHARED_WRITERS else f"own{i}"), cluster_urls,
                      stats, outage) for i in range(WRITERS)]
    target = WRITERS * APPENDS
    t0 = time.monotonic()
    for w in writers:
        w.start()
    fault_info = None
    if fault is not None:
        while stats.acked < FAULT_AT * target and any(w.is_alive() for w in writers):
            time.sleep(0.02)
        fault_info = fault()
        stats.fault_done_at = time.monotonic()
    for w in writers:
        w.join(max(1.0, RUN_BUDGET_S - (time.monotonic() - t0)))
    elapsed = time.monotonic() - t0
    hung = [w.name for w in writers if w.is_alive()]
    assert not hung, f"writers still running after {elapsed:.0f} s: {hung}"
    errors = [f"{w.name}: {w.error!r}" for w in writers if w.error is not None]
    assert not errors, "\n".join(errors)

    live = [n.url for n in cluster.nodes if n.alive()]
    assert live, "no node left alive"
    api = RestClient(random.choice(live), prefix="default", timeout=60)
    checked = {}
    for name in names:
        mine = [w for w in writers if w.path.endswith("/" + name)]
        checked[name] = _check_table(api, ns, name, mine, name)
    acked = sum(len(w.acked) for w in writers)
    assert acked == target
    c = stats.counts
    line = (f"{acked} commits acknowledged in {elapsed:.1f} s ({acked / elapsed:.0f}/s); "
            f"409: {c['409']}; retries after 409: {sum(w.conflicts for w in writers)}, "
            f"after connection errors: {c['retries after connection errors']}, "
            f"after 503: {c['retries after 503']}; 503 answers: {c['503']} "
            f"({c['503 during outage']} during the outage); commits with a lost answer: "
            f"{c['commits with a lost answer']}; outcome unknown: "
            f"{sum(v['unknown'] for v in checked.values())}, of which in the history: "
            f"{sum(v['unknown_present'] for v in checked.values())}; shared table: "
            f"{checked['shared']['snapshots']} snapshots")
    return stats, line, fault_info


def _report(request, line):
    """Print `line` and keep it for the terminal summary (tests/multinode/conftest.py)."""
    request.node.user_properties.append(("torture", line))
    print(f"\n{request.node.name}: {line}")


def test_three_nodes_concurrent_appends(cluster, request):
    """No faults: every acknowledged commit is there once, histories are linear."""
    c = cluster(3)
    stats, line, _ = _run(c)
    assert not stats.failures, "\n".join(stats.failures)
    assert stats.counts["503"] == 0, "\n".join(stats.answers_503)
    _report(request, line)


def test_node_killed_midway(cluster, request):
    """One node SIGKILLed after ~40% of the commits; its writers move to the other nodes."""
    c = cluster(3)
    victim = random.randrange(3)

    def kill():
        c.kill(victim)
        c.killed.add(victim)
        return victim

    stats, line, _ = _run(c, fault=kill)
    assert not stats.failures, "\n".join(stats.failures)
    assert stats.counts["503"] == 0, "\n".join(stats.answers_503)
    survivors = [i for i in range(3) if i != victim]
    for i in survivors:
        assert c.nodes[i].alive(), f"node {i} died\n{c.nodes[i].log_tail()}"
        assert stats.since_fault[i] > 0, f"node {i} acknowledged nothing after the kill"
    assert stats.since_fault[victim] == 0, "the killed node acknowledged a commit sent after the kill"
    _report(request, f"node {victim} killed; " + line)


class ReadyProbe(threading.Thread):
    """Polls GET /health/ready on every node; records (time, node, status, Retry-After)."""

    def __init__(self, urls):
        super().__init__(name="ready-probe", daemon=True)
        self.urls = urls
        self.stop = threading.Event()
        self.seen = []
        self.failures = []

    def run(self):
        s = requests.Session()
        while not self.stop.is_set():
            for i, u in enumerate(self.urls):
                t = time.monotonic()
                try:
                    r = s.get(u + "/health/ready", timeout=TIMEOUT)
                except requests.exceptions.RequestException as e:
                    self.failures.append(f"/health/ready on node {i}: {e!r}")
                    continue
                self.seen.append((t, i, r.status_code, r.headers.get("Retry-After")))
            self.stop.wait(0.1)


def test_database_restarted_midway(cluster, pg, request):
    """PostgreSQL restarted (fast, held down OUTAGE_S s) after ~40% of the commits.

    Meanwhile requests get 503 with Retry-After (never another 5xx, never a hang), and
    /health/ready answers 503; afterwards it answers 200 again on every node and commits
    resume, without restarting any node.
    """
    c = cluster(3)
    pids = [n.proc.pid for n in c.nodes]
    outage = threading.Event()
    probe = ReadyProbe(c.urls)
    probe.start()
    window = {}

    def down():
        window["down"] = time.monotonic()

    def up():
        window["up"] = time.monotonic()
        outage.clear()

    def restart():
        outage.set()  # from the moment the fast shutdown begins
        return pg.restart(hold_s=OUTAGE_S, on_down=down, on_up=up)

    stats = Stats()
    try:
        stats, line, (down_s, _) = _run(c, fault=restart, outage=outage, stats=stats)
        # the probe keeps going until every node has answered 200 after the outage
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ok = {i for t, i, st, _ in probe.seen if t > window["up"] and st == 200}
            if len(ok) == len(c.urls):
                break
            time.sleep(0.1)
    finally:
        probe.stop.set()
        probe.join(10)
    assert not stats.failures, "\n".join(stats.failures)
    assert not probe.failures, "\n".join(probe.failures[:20])
    for i, n in enumerate(c.nodes):
        assert n.alive() and n.proc.pid == pids[i], f"node {i} did not survive\n{n.log_tail()}"
    during = [(i, st, ra) for t, i, st, ra in probe.seen
              if window["down"] + 0.5 < t < window["up"] - 0.2]
    for i in range(len(c.urls)):
        got = [(st, ra) for j, st, ra in during if j == i]
        assert got, f"node {i}: no /health/ready answer during the outage"
        assert all(st == 503 for st, _ in got), \
            f"node {i}: /health/ready during the outage answered {Counter(st for st, _ in got)}"
        bad = [ra for _, ra in got if not _retry_after_ok(ra)]
        assert not bad, f"node {i}: /health/ready 503 without one valid Retry-After: {bad[:3]}"
        after = [st for t, j, st, _ in probe.seen if j == i and t > window["up"]]
        assert after and after[-1] == 200, \
            f"node {i}: /health/ready after the outage: {after[-10:]}"
    for i in range(len(c.urls)):
        assert stats.since_fault[i] > 0, f"node {i} acknowledged nothing after the restart"
    assert stats.counts["503 during outage"] > 0, "no request met the outage"
    ready_again = max(min(t for t, j, st, _ in probe.seen if j == i and t > window["up"] and
                          st == 200) - window["up"] for i in range(len(c.urls)))
    last_503 = f"{stats.last_503 - window['up']:.1f} s" if stats.last_503 else "-"
    _report(request, f"database down {down_s:.1f} s; every node ready {ready_again:.1f} s "
            f"after it was back, last 503 to a writer {last_503} after; " + line)
