"""Batched table reads: loads and existence checks answered together stay exact.

On PostgreSQL, serac holds the table loads (GET .../tables/{t}) and existence checks (HEAD) that
arrive in one event-loop round of an I/O thread, reads the pointers of all their tables in one
query, then answers each from that result (src/http/server.c run_batch,
catalog_prefetch_tables). On SQLite they are held to the end of the round too, and each reads
its own pointer; the same tests run on both stores.

To make batches form, a thread puts one request on each of several keep-alive connections of its
own (http.client, one socket each) before it reads any answer, so they reach the server within
microseconds of each other, and many threads do that at once. Every answer goes through
RestClient's spec checks, then is compared with what the test knows of the table the request
named:

- a load returns exactly that table (metadata-location, table-uuid, location, the snapshots of
  the mode asked for, the whole body and the ETag recorded before the concurrent phase), never
  the table of another request of the same round; the same name in another namespace or
  warehouse, or in another case, is another table;
- a table that does not exist (or is a view) is a 404 NoSuchTableException naming it, while the
  other reads of the round succeed; HEAD answers 204 / 404 without a body; a read naming an
  unknown warehouse or an undecodable name, or with a bad snapshots value, fails alone;
- a read sent after a commit was acknowledged, on any connection, sees that commit (or a newer
  one); a read never goes back to an older state than one already returned; If-None-Match is 304
  only for the current state.

Failures name the request, the answer and the requests sent with it in the same round. The random
choices come from one seed, printed on failure; SERAC_TEST_SEED replays it.
"""

import http.client
import json as jsonlib
import os
import queue
import random
import threading
import time
import types
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

import helpers
from helpers import append_updates, main_requirement, unique
from rest_client import Response, RestClient, enc, ns_path

server, api = helpers.module_server_fixtures("serac-batch-reads")

SEED = int(os.environ.get("SERAC_TEST_SEED") or random.randrange(2**31))

# test_concurrent_loads_of_many_tables
LOAD_THREADS = 32
TOTAL_LOADS = 2000
FANOUT = 4
# test_read_your_writes_under_concurrent_loads
WRITERS = 4
COMMITS_PER_WRITER = 100
RYW_READERS = 16
CHURN_CYCLES = 25
# test_if_none_match_under_concurrent_commits
INM_WRITERS = 2
INM_COMMITS = 50
INM_READERS = 12

HANDOFF_TIMEOUT_S = 30


# -- raw keep-alive connections ---------------------------------------------------------------

class _Raw:
    """What RestClient._validate reads of a requests.Response, taken from an http.client one."""

    def __init__(self, url, resp, content):
        self.status_code = resp.status
        self.headers = resp.headers  # http.client.HTTPMessage: case-insensitive get()
        self.content = content
        self.text = content.decode("utf-8", "replace")
        self.request = types.SimpleNamespace(url=url)


class _SpecChecked:
    """RestClient's spec checks, run once per distinct answer.

    What RestClient._validate checks depends only on the method, the path, the status, the
    Content-Type and the body bytes, so an answer equal in all of them to one that passed passes
    too; the same table is loaded thousands of times here, and checking each LoadTableResult
    against the schema again would make the client, not the server, the bottleneck.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.passed = set()

    def validate(self, api, method, url, raw):
        key = (method, urlsplit(url).path, raw.status_code, raw.headers.get("Content-Type"),
               raw.content)
        with self.lock:
            known = key in self.passed
        if not known:
            r = api._validate(method, url, raw, False)
            with self.lock:
                self.passed.add(key)
            return r
        body = jsonlib.loads(raw.content) if raw.content else None
        return Response(method, url, raw, body, None, None)


_SPEC = _SpecChecked()


# serac closes a keep-alive connection idle for 60 s (DEFAULT_CONN_TIMEOUT_S in
# src/http/server.c). A connection idle for this long is opened again before its next request, as
# HTTP clients do with a pool: a request sent just as the server closes the connection is lost
# with it (RFC 9112, 9.3.1). The last of a reader's connections can go unused for a minute in a
# slow run (38.8 s in a 62 s run of the read-your-writes test here; CI lost one request to it).
REUSE_IDLE_S = 30


class Conn:
    """One keep-alive HTTP/1.1 connection whose send and receive are separate steps, so a thread
    can put a request on each of several connections before it reads any answer."""

    def __init__(self, api):
        self.api = api
        self._host = urlsplit(api.base_url)
        self.http = None
        self.used = 0.0
        self.reset()

    def reset(self):
        if self.http is not None:
            self.http.close()
        self.http = http.client.HTTPConnection(self._host.hostname, self._host.port, timeout=30)
        self.used = time.monotonic()

    def send(self, req):
        if time.monotonic() - self.used > REUSE_IDLE_S:
            self.reset()
        hdrs = {"Accept": "application/json"}
        hdrs.update(req.headers)
        self.http.request(req.method, req.path, headers=hdrs)

    def recv(self, req):
        """The answer to the request sent last, checked against the spec by RestClient."""
        resp = self.http.getresponse()
        content = resp.read()
        self.used = time.monotonic()
        url = self.api.base_url + req.path
        return _SPEC.validate(self.api, req.method, url, _Raw(url, resp, content))

    def close(self):
        self.http.close()


class Req:
    """One request and the check its answer must pass (check(resp) raises AssertionError)."""

    def __init__(self, kind, method, path, check, headers=None, note=""):
        self.kind = kind
        self.method = method
        self.path = path
        self.check = check
        self.headers = headers or {}
        self.note = note

    def __repr__(self):
        h = "".join(f" [{k}: {v}]" for k, v in self.headers.items())
        return f"{self.method} {self.path}{h}{' (' + self.note + ')' if self.note else ''}"


class Failures:
    """Failures collected from all threads; check() fails the test with the first of them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []
        self.count = 0

    def add(self, msg):
        with self.lock:
            self.count += 1
            if len(self.items) < 25:
                self.items.append(msg)

    def check(self):
        assert not self.count, (f"{self.count} failures (seed {SEED}; SERAC_TEST_SEED={SEED} "
                                f"replays the choices):\n\n" + "\n\n".join(self.items))


def _why(e):
    return str(e) if isinstance(e, AssertionError) else repr(e)


def run_round(conns, reqs, failures, where=""):
    """Sends reqs[i] on conns[i], all of them before reading any answer, then reads and checks
    each answer. Returns the number of requests whose answer passed its check."""
    assert len(reqs) <= len(conns)
    sent = []
    for c, q in zip(conns, reqs):
        try:
            c.send(q)
            sent.append((c, q))
        except (OSError, http.client.HTTPException) as e:
            failures.add(f"{where}{q!r}: sending failed: {e!r}")
            c.reset()
    ok = 0
    for c, q in sent:
        others = [repr(o) for o in reqs if o is not q]
        try:
            r = c.recv(q)
        except Exception as e:  # a broken answer: reported with its request
            failures.add(f"{where}{q!r}: {_why(e)}\n  sent in the same round: {others}")
            c.reset()
            continue
        try:
            q.check(r)
            ok += 1
        except Exception as e:  # AssertionError, or a body without a field
            failures.add(f"{where}{q!r}: {_why(e)}\n  answer: {r!r}\n  "
                         f"ETag: {r.headers.get('ETag')}\n  sent in the same round: {others}")
    return ok


def run_threads(n, target):
    """target(i) on n threads at once; re-raises the first exception a thread raised."""
    with ThreadPoolExecutor(n) as ex:
        for f in [ex.submit(target, i) for i in range(n)]:
            f.result()


# -- the tables every test reads ------------------------------------------------------------

def table_path(prefix, ns, name):
    """.../namespaces/{ns}/tables/{name}; prefix None is the unprefixed /v1 route."""
    root = f"/v1/{enc(prefix)}" if prefix is not None else "/v1"
    return f"{root}/namespaces/{ns_path(ns)}/tables/{enc(name)}"


class Target:
    """A table name in a warehouse, the table existing or not; wh is the warehouse's prefix."""

    def __init__(self, wh, ns, name, default_wh):
        self.wh = wh
        self.ns = list(ns)
        self.name = name
        self.default_wh = default_wh

    @property
    def dotted(self):
        return ".".join(self.ns) + "." + self.name

    def path(self, rnd, query=""):
        # the default warehouse is also reachable without a prefix: both forms must be the same
        prefix = self.wh
        if self.default_wh and rnd.random() < 0.3:
            prefix = None
        return table_path(prefix, self.ns, self.name) + query


class Table(Target):
    """An existing table and what every load of it must return (recorded before the test)."""

    def record(self, client):
        self.body, self.etag = {}, {}
        plain = client.load_table(self.ns, self.name)
        for mode in ("all", "refs"):
            r = client.load_table(self.ns, self.name, params={"snapshots": mode})
            self.body[mode] = r.body
            self.etag[mode] = r.headers.get("ETag")
            assert self.etag[mode], f"no ETag on {r!r}"
        assert plain.body == self.body["all"] and plain.headers["ETag"] == self.etag["all"]
        assert self.etag["all"] != self.etag["refs"]
        md = self.body["all"]["metadata"]
        self.uuid = md["table-uuid"]
        self.location = md["location"]
        self.metadata_location = self.body["all"]["metadata-location"]


def check_load(t, mode):
    """A 200 that is exactly table t as loaded in `mode`."""

    def check(r):
        assert r.status == 200, f"expected 200 with {t.dotted} in {t.wh}"
        b = r.body
        assert b["metadata-location"] == t.metadata_location, \
            f"wrong metadata-location: got {b['metadata-location']}, {t.dotted} in {t.wh} is at " \
            f"{t.metadata_location}"
        assert b["metadata"]["table-uuid"] == t.uuid, \
            f"wrong table: uuid {b['metadata']['table-uuid']}, expected {t.uuid}"
        assert b["metadata"]["location"] == t.location, "wrong table location"
        got = sorted(s["snapshot-id"] for s in b["metadata"].get("snapshots", []))
        want = sorted(s["snapshot-id"] for s in t.body[mode]["metadata"].get("snapshots", []))
        assert got == want, f"snapshots={mode}: got snapshots {got}, expected {want}"
        assert b == t.body[mode], f"body differs from the snapshots={mode} load recorded before"
        assert r.headers.get("ETag") == t.etag[mode], \
            f"ETag {r.headers.get('ETag')}, expected {t.etag[mode]} (snapshots={mode})"

    return check


def check_status(status):
    def check(r):
        assert r.status == status, f"expected {status}"

    return check


def check_not_modified(etag):
    def check(r):
        assert r.status == 304, "expected 304: If-None-Match holds the current ETag"
        got = r.headers.get("ETag")
        assert got in (None, etag), f"304 with ETag {got}, expected {etag}"

    return check


def check_no_such_table(target):
    def check(r):
        helpers.assert_error(r, 404, "NoSuchTableException",
                             startswith=f"Table does not exist: {target.dotted}")

    return check


class Catalog:
    """The tables of the module: two warehouses, nested namespaces, names needing escapes, the
    same name in several namespaces and warehouses, tables with snapshots, a view and names that
    do not exist."""

    SPECIAL = ["NULL", " lead", "trail ", 'q"uote', "back\\slash", "com,ma", "{br}",
               "héllo wörld ☃", "a b", "pct%41", "plus+x", "emoji😀", "T", "t"]

    def __init__(self, server, api):
        self.api = api
        self.wh = "default"
        self.wh2 = unique("wh")
        self.nowh = unique("nowh")
        loc = server.data_dir / "wh2"
        loc.mkdir()
        r = requests.post(f"{server.url}/management/v1/warehouses",
                          json={"name": self.wh2, "location": loc.as_uri()}, timeout=30)
        assert r.status_code == 201, r.text
        api2 = RestClient(server.url, prefix=self.wh2)
        clients = {self.wh: api, self.wh2: api2}

        top = [unique("batch")]
        nested = [top[0], "nested lvl"]
        deep = [top[0], "nested lvl", 'ünï "q,u{o}te\\']
        other = [unique("batch")]
        for ns in (top, nested, deep, other):
            api.create_namespace(ns)
        api2.create_namespace(top)
        names = {
            (self.wh, tuple(top)): [f"t{i:02d}" for i in range(10)] + self.SPECIAL + ["dup"],
            (self.wh, tuple(nested)): [f"n{i:02d}" for i in range(6)] + ["dup"],
            (self.wh, tuple(deep)): [f"d{i:02d}" for i in range(4)] + ["a b", "dup"],
            (self.wh, tuple(other)): ["t00", "dup"],
            (self.wh2, tuple(top)): [f"w{i:02d}" for i in range(4)] + ["dup", "t00", "a b"],
        }
        self.tables = []
        answered = {}  # (wh, ns, name) -> (table-uuid, metadata-location) create/commit answered
        for (wh, ns), tnames in names.items():
            for name in tnames:
                r = clients[wh].create_table(list(ns), name)
                answered[(wh, ns, name)] = (r.body["metadata"]["table-uuid"],
                                            r.body["metadata-location"])
                self.tables.append(Table(wh, ns, name, wh == self.wh))
        assert len(self.tables) >= 40
        # three appends and a tag on the first: snapshots=refs keeps two of the three
        for wh, ns, name in [(self.wh, top, "t00"), (self.wh, top, "a b"), (self.wh, nested, "n00"),
                             (self.wh2, top, "t00")]:
            c = clients[wh]
            md = c.load_table(ns, name).body["metadata"]
            sids = []
            for _ in range(3):
                sid, ups = append_updates(md)
                md = c.commit(ns, name, [main_requirement(md)], ups).body["metadata"]
                sids.append(sid)
            r = c.commit(ns, name, [], [{"action": "set-snapshot-ref", "ref-name": "first",
                                         "type": "tag", "snapshot-id": sids[0]}])
            answered[(wh, tuple(ns), name)] = (answered[(wh, tuple(ns), name)][0],
                                               r.body["metadata-location"])
        helpers.create_view(api, top, "a_view")
        for t in self.tables:
            t.record(clients[t.wh])
            assert (t.uuid, t.metadata_location) == answered[(t.wh, tuple(t.ns), t.name)], \
                f"{t.dotted} in {t.wh}: a load disagrees with what create and commit answered"
        with_refs = [t for t in self.tables
                     if len(t.body["refs"]["metadata"].get("snapshots", [])) == 2]
        assert len(with_refs) == 4 and all(
            len(t.body["all"]["metadata"]["snapshots"]) == 3 for t in with_refs)
        assert len({t.uuid for t in self.tables}) == len(self.tables)

        gone = [unique("gone")]
        self.missing = [Target(self.wh, top, n, True) for n in
                        ["missing", "DUP", "Dup", "t00 ", " t00", "t0", "tt", "a  b", "a+b",
                         "q\"uote ", "null", "héllo wörld", "n00"]]
        self.missing += [Target(self.wh, nested, "t00", True), Target(self.wh, deep, "n00", True),
                         Target(self.wh, [top[0], "nope"], "n00", True),
                         Target(self.wh, [*nested, "n00"], "n00", True),
                         Target(self.wh, [top[0], "Nested lvl"], "n00", True),
                         Target(self.wh, gone, "t00", True), Target(self.wh, other, "t01", True),
                         Target(self.wh2, top, "t01", False), Target(self.wh2, top, "T", False),
                         Target(self.wh2, nested, "n00", False),
                         Target(self.wh2, other, "dup", False)]
        self.view = Target(self.wh, top, "a_view", True)
        self.missing.append(self.view)

    # -- random requests -------------------------------------------------------------------

    def request_for(self, rnd, t):
        """A random read of table t with the check its answer must pass."""
        x = rnd.random()
        if x < 0.30:
            return Req("head", "HEAD", t.path(rnd), check_status(204))
        mode = "refs" if rnd.random() < 0.3 else "all"
        query = {"refs": "?snapshots=refs", "all": rnd.choice(["", "?snapshots=all"])}[mode]
        path = t.path(rnd, query)
        if x < 0.70:
            return Req("get-refs" if mode == "refs" else "get", "GET", path, check_load(t, mode))
        other = "all" if mode == "refs" else "refs"
        etag = t.etag[mode]
        inm, kind, check = rnd.choice([
            (etag, "get-304", check_not_modified(etag)),
            (f'"0123456789abcdef-{mode}", {etag}', "get-304", check_not_modified(etag)),
            ("*", "get-304", check_not_modified(etag)),
            (t.etag[other], "get-inm-200", check_load(t, mode)),
            ('"0123456789abcdef-all"', "get-inm-200", check_load(t, mode)),
        ])
        return Req(kind, "GET", path, check, headers={"If-None-Match": inm})

    def request_for_missing(self, rnd, m):
        x = rnd.random()
        kind = "view" if m is self.view else "missing"
        if x < 0.35:
            return Req(f"head-{kind}", "HEAD", m.path(rnd), check_status(404))
        headers = {"If-None-Match": rnd.choice(["*", self.tables[0].etag["all"]])} \
            if x > 0.85 else {}
        query = rnd.choice(["", "", "?snapshots=refs"])
        return Req(f"get-{kind}", "GET", m.path(rnd, query), check_no_such_table(m),
                   headers=headers)

    def request_bad(self, rnd):
        """A read the batch cannot name a table for, or the handler refuses: it fails alone."""
        t = rnd.choice(self.tables)
        ns, name = ns_path(t.ns), enc(t.name)
        method = rnd.choice(["GET", "HEAD"])
        path, status, etype = rnd.choice([
            (table_path(self.nowh, t.ns, t.name), 404, "NoSuchWarehouseException"),
            (f"/v1/{t.wh}/namespaces/{ns}/tables/%FF", 400, "BadRequestException"),
            (f"/v1/{t.wh}/namespaces/{ns}%1F/tables/{name}", 400, "BadRequestException"),
            (t.path(rnd, "?snapshots=bogus"), 400, "BadRequestException"),
        ])
        if path.endswith("?snapshots=bogus"):
            method = "GET"  # an existence check has no snapshots parameter: 204

        def check(r):
            if method == "HEAD":
                assert r.status == status, f"expected {status}"
            else:
                helpers.assert_error(r, status, etype)

        return Req("bad", method, path, check)

    def random_request(self, rnd):
        if rnd.random() < 0.05:
            return self.request_bad(rnd)
        if rnd.random() < 0.2:
            m = self.view if rnd.random() < 0.1 else rnd.choice(self.missing)
            return self.request_for_missing(rnd, m)
        return self.request_for(rnd, rnd.choice(self.tables))

    def random_round(self, rnd, n):
        """n random reads; in one round of five, the first two read the same table (each its
        own kind of read), so a batch holds one table twice."""
        reqs = [self.random_request(rnd) for _ in range(n)]
        if n > 1 and rnd.random() < 0.2:
            t = rnd.choice(self.tables)
            reqs[0], reqs[1] = self.request_for(rnd, t), self.request_for(rnd, t)
        return reqs


@pytest.fixture(scope="module")
def catalog(server, api):
    return Catalog(server, api)


# -- 1: many concurrent loads of different tables --------------------------------------------

@pytest.mark.slow
def test_concurrent_loads_of_many_tables(api, catalog):
    """2,000 reads from 32 threads, several in flight per thread: loads in both snapshot modes,
    existence checks, conditional loads, missing tables and a view, mixed in every round."""
    failures = Failures()
    kinds = Counter()
    kinds_lock = threading.Lock()
    quota = [TOTAL_LOADS // LOAD_THREADS + (i < TOTAL_LOADS % LOAD_THREADS)
             for i in range(LOAD_THREADS)]
    start = threading.Barrier(LOAD_THREADS)

    def worker(i):
        rnd = random.Random(SEED * 1000 + i)
        conns = [Conn(api) for _ in range(FANOUT)]
        mine = Counter()
        try:
            start.wait(30)
            left, rounds = quota[i], 0
            while left:
                reqs = catalog.random_round(rnd, min(left, rnd.randint(1, FANOUT)))
                rounds += 1
                run_round(conns, reqs, failures, f"thread {i} round {rounds}: ")
                mine.update(q.kind for q in reqs)
                left -= len(reqs)
        finally:
            for c in conns:
                c.close()
        with kinds_lock:
            kinds.update(mine)

    t0 = time.monotonic()
    run_threads(LOAD_THREADS, worker)
    elapsed = time.monotonic() - t0
    failures.check()
    assert sum(kinds.values()) == TOTAL_LOADS, kinds
    for k in ("get", "get-refs", "head", "get-304", "get-inm-200", "get-missing", "head-missing",
              "get-view", "head-view", "bad"):
        assert kinds[k] > 0, f"no {k} request was made: {kinds}"
    print(f"{TOTAL_LOADS} reads in {elapsed:.1f} s: {dict(kinds)}")


# -- tables one writer commits to -------------------------------------------------------------

class Committed:
    """A table only one writer commits to: set-properties counter=k for k = 1, 2, ...

    history[k] is (metadata-location, ETag) of the k-th commit as its answer gave them; acked
    is the highest k whose 200 the writer has received."""

    def __init__(self, api, ns, name):
        self.api = api
        self.ns = list(ns)
        self.name = name
        api.create_table(ns, name)
        r = api.load_table(ns, name)
        self.uuid = r.body["metadata"]["table-uuid"]
        self.location = r.body["metadata"]["location"]
        self.history = {0: (r.body["metadata-location"], r.headers["ETag"])}
        self.refs_etag = {}  # counter -> snapshots=refs ETag, as loads returned it
        self.acked = 0
        self.lock = threading.Lock()

    @property
    def dotted(self):
        return ".".join(self.ns) + "." + self.name

    def path(self, query=""):
        return table_path("default", self.ns, self.name) + query

    def commit(self, k):
        r = self.api.commit(self.ns, self.name, [{"type": "assert-table-uuid", "uuid": self.uuid}],
                            [{"action": "set-properties", "updates": {"counter": str(k)}}])
        loc, etag = r.body["metadata-location"], r.headers.get("ETag")
        assert etag, f"a commit answer carries an ETag: {r!r}"
        assert r.body["metadata"]["properties"]["counter"] == str(k), r
        assert loc not in {v[0] for v in self.history.values()}, f"metadata-location reused: {r!r}"
        with self.lock:
            self.history[k] = (loc, etag)
            self.acked = k
        return loc, etag

    def floor(self):
        with self.lock:
            return self.acked


def counter_of(body):
    return int(body["metadata"]["properties"].get("counter", "0"))


def check_committed(w, mode="all", floor=0, exact=None, seen=None, not_etag=None):
    """A 200 load of writer table w. exact: it must be that commit (the writer is waiting);
    floor: the commit acknowledged before the request was sent (it must be seen, or a newer
    one); seen(counter, answer) records what was returned, for the checks after the run."""

    def check(r):
        assert r.status == 200, f"expected 200 with {w.dotted}"
        md = r.body["metadata"]
        assert md["table-uuid"] == w.uuid and md["location"] == w.location, \
            f"wrong table: uuid {md['table-uuid']} at {md['location']}, expected {w.uuid}"
        c = counter_of(r.body)
        loc = r.body["metadata-location"]
        etag = r.headers.get("ETag")
        assert etag, "no ETag"
        if exact is not None:
            want_loc, want_etag = w.history[exact]
            assert c == exact and loc == want_loc, \
                f"commit {exact} of {w.dotted} was acknowledged (at {want_loc}) before this " \
                f"load was sent and no other commit ran since; the load returned counter {c} " \
                f"at {loc}"
            if mode == "all":
                assert etag == want_etag, f"ETag {etag}, the commit answered {want_etag}"
        assert c >= floor, \
            f"stale read: commit {floor} of {w.dotted} was acknowledged before this load was " \
            f"sent, it returned counter {c} at {loc}"
        if not_etag is not None:
            assert etag != not_etag, "200 with the If-None-Match ETag: expected 304"
        if mode == "refs":
            with w.lock:
                prev = w.refs_etag.setdefault(c, etag)
            assert prev == etag, f"two snapshots=refs ETags for commit {c}: {prev} and {etag}"
        if seen is not None:
            seen(w, c, loc, etag if mode == "all" else None)

    return check


class Observations:
    """What loads of writer tables returned; verify() checks them against the commit answers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def __call__(self, w, c, loc, etag):
        with self.lock:
            self.items.append((w, c, loc, etag))

    def verify(self):
        bad = []
        for w, c, loc, etag in self.items:
            want = w.history.get(c)
            if want is None or want[0] != loc or (etag is not None and etag != want[1]):
                bad.append(f"{w.dotted}: a load returned counter {c} at {loc} ETag {etag}; the "
                           f"commit answered {want}")
        assert not bad, \
            f"{len(bad)} loads disagree with the commit answers:\n" + "\n".join(bad[:20])
        return len(self.items)


def self_checks(w, k, prev_etag, seen):
    """Reads of w right after its commit k was acknowledged, on other connections than the
    commit's: plain, If-None-Match with the previous ETag (200) and the new one (304), refs."""
    loc, etag = w.history[k]
    return [
        Req("ryw", "GET", w.path(), check_committed(w, exact=k, seen=seen),
            note=f"after commit {k}"),
        Req("ryw", "GET", w.path(), check_committed(w, exact=k, seen=seen, not_etag=prev_etag),
            headers={"If-None-Match": prev_etag}, note=f"after commit {k}, old ETag"),
        Req("ryw", "GET", w.path(), check_not_modified(etag), headers={"If-None-Match": etag},
            note=f"after commit {k}, its ETag"),
        Req("ryw", "GET", w.path("?snapshots=refs"), check_committed(w, "refs", exact=k, seen=seen),
            note=f"after commit {k}"),
        Req("ryw", "HEAD", w.path(), check_status(204), note=f"after commit {k}"),
    ]


class Job:
    """A check a reader thread runs for a writer: reqs, then done is set."""

    def __init__(self, reqs, what):
        self.reqs = reqs
        self.what = what
        self.done = threading.Event()


def handoff(jobs, job, failures, stop):
    """Queues job for a reader thread and waits until one ran it."""
    jobs.put(job)
    deadline = time.monotonic() + HANDOFF_TIMEOUT_S
    while not job.done.wait(0.2):
        if stop.is_set():
            return  # another thread failed: the test is over
        if time.monotonic() > deadline:
            failures.add(f"no reader ran the check {job.what} within {HANDOFF_TIMEOUT_S} s")
            return


# -- 2: read-your-writes under concurrency ---------------------------------------------------

@pytest.mark.slow
def test_read_your_writes_under_concurrent_loads(api, catalog):
    """4 writers commit 100 times each to a table of their own; after each acknowledged commit
    the writer reads its table on other connections of its own, then hands the same reads to one
    of 16 reader threads that load random tables all along (so the checks run in batches with
    other reads), and waits for them: every one must return exactly that commit. Background loads
    of the writers' tables must return at least the commit acknowledged before they were sent. A
    fifth writer drops and re-creates a table: after each acknowledged drop its reads are 404,
    after each create they return the new table."""
    ns = [unique("ryw")]
    api.create_namespace(ns)
    writers = [Committed(api, ns, f"w{i}") for i in range(WRITERS)]
    failures = Failures()
    seen = Observations()
    jobs = queue.Queue()
    stop = threading.Event()
    stats = Counter()
    stats_lock = threading.Lock()

    def writer(i):
        w = writers[i]
        rnd = random.Random(SEED * 1000 + 100 + i)
        conns = [Conn(api) for _ in range(7)]
        try:
            for k in range(1, COMMITS_PER_WRITER + 1):
                if stop.is_set():
                    return
                prev_etag = w.history[k - 1][1]
                w.commit(k)
                reqs = self_checks(w, k, prev_etag, seen) + catalog.random_round(rnd, 2)
                run_round(conns, reqs, failures, f"writer {i} commit {k}: ")
                handoff(jobs, Job(self_checks(w, k, prev_etag, seen), f"of commit {k} of "
                                  f"{w.dotted}"), failures, stop)
        finally:
            for c in conns:
                c.close()

    churn = Target("default", ns, "churn", True)

    def churner():
        rnd = random.Random(SEED * 1000 + 150)
        conns = [Conn(api) for _ in range(4)]
        gone = [Req("churn", "GET", churn.path(rnd), check_no_such_table(churn), note="dropped"),
                Req("churn", "HEAD", churn.path(rnd), check_status(404), note="dropped")]
        try:
            for cycle in range(CHURN_CYCLES):
                if stop.is_set():
                    return
                r = api.create_table(ns, "churn")
                uuid = r.body["metadata"]["table-uuid"]
                loc = r.body["metadata-location"]

                def present(resp, uuid=uuid, loc=loc, cycle=cycle):
                    assert resp.status == 200, "the create was acknowledged"
                    assert resp.body["metadata"]["table-uuid"] == uuid and \
                        resp.body["metadata-location"] == loc, \
                        f"expected the table created in cycle {cycle} ({uuid} at {loc})"

                there = [Req("churn", "GET", churn.path(rnd), present, note=f"created {cycle}"),
                         Req("churn", "HEAD", churn.path(rnd), check_status(204),
                             note=f"created {cycle}")]
                run_round(conns, there + catalog.random_round(rnd, 2), failures, f"churn {cycle}: ")
                handoff(jobs, Job(there, f"of create {cycle}"), failures, stop)
                r = api.delete(api.table_url(ns, "churn"))
                assert r.status == 204, r
                run_round(conns, gone + catalog.random_round(rnd, 2), failures, f"churn {cycle}: ")
                handoff(jobs, Job(gone, f"of drop {cycle}"), failures, stop)
        finally:
            for c in conns:
                c.close()

    def reader(i):
        rnd = random.Random(SEED * 1000 + 200 + i)
        conns = [Conn(api) for _ in range(FANOUT + 5)]
        rounds = n = 0
        try:
            while not (stop.is_set() and jobs.empty()):
                job = None
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    pass
                reqs = list(job.reqs) if job else []
                for _ in range(rnd.randint(1, FANOUT)):
                    if rnd.random() < 0.3:
                        w = rnd.choice(writers)
                        mode = rnd.choice(["all", "all", "refs"])
                        q = "?snapshots=refs" if mode == "refs" else ""
                        reqs.append(Req("bg-writer", "GET", w.path(q),
                                        check_committed(w, mode, floor=w.floor(), seen=seen)))
                    else:
                        reqs.append(catalog.random_request(rnd))
                rnd.shuffle(reqs)
                rounds += 1
                run_round(conns, reqs, failures, f"reader {i} round {rounds}"
                          f"{' (check ' + job.what + ')' if job else ''}: ")
                n += len(reqs)
                if job:
                    job.done.set()
        finally:
            for c in conns:
                c.close()
        with stats_lock:
            stats["reads"] += n
            stats["rounds"] += rounds

    t0 = time.monotonic()
    with ThreadPoolExecutor(RYW_READERS + WRITERS + 1) as ex:
        readers = [ex.submit(reader, i) for i in range(RYW_READERS)]
        try:
            work = [ex.submit(writer, i) for i in range(WRITERS)] + [ex.submit(churner)]
            for f in work:
                f.result()
        finally:
            stop.set()
        for f in readers:
            f.result()
    elapsed = time.monotonic() - t0
    failures.check()
    checked = seen.verify()
    for w in writers:
        assert w.acked == COMMITS_PER_WRITER
        r = api.load_table(ns, w.name)
        assert r.body["metadata-location"] == w.history[COMMITS_PER_WRITER][0]
    print(f"{WRITERS * COMMITS_PER_WRITER} commits, {CHURN_CYCLES} drop/create cycles, "
          f"{stats['reads']} reader loads in {stats['rounds']} rounds, {checked} loads of "
          f"writer tables checked, {elapsed:.1f} s")


# -- 3: If-None-Match under concurrent commits ------------------------------------------------

@pytest.mark.slow
def test_if_none_match_under_concurrent_commits(api, catalog):
    """Readers send loads of tables being committed to with the ETag they saw last: 304 only
    while no newer commit was acknowledged before the request, else 200 with a newer state; the
    writers check 200 with the old ETag and 304 with the new one right after each commit.
    Conditional loads of tables nobody commits to are 304 (or 200 with a non-matching ETag)."""
    ns = [unique("inm")]
    api.create_namespace(ns)
    writers = [Committed(api, ns, f"c{i}") for i in range(INM_WRITERS)]
    for w in writers:
        r = api.load_table(ns, w.name, params={"snapshots": "refs"})
        w.refs_etag[0] = r.headers["ETag"]
    failures = Failures()
    seen = Observations()
    stop = threading.Event()
    statuses = Counter()
    statuses_lock = threading.Lock()

    def writer(i):
        w = writers[i]
        rnd = random.Random(SEED * 1000 + 300 + i)
        conns = [Conn(api) for _ in range(7)]
        try:
            for k in range(1, INM_COMMITS + 1):
                if stop.is_set():
                    return
                prev_etag = w.history[k - 1][1]
                w.commit(k)
                run_round(conns, self_checks(w, k, prev_etag, seen) + catalog.random_round(rnd, 2),
                          failures, f"writer {i} commit {k}: ")
        finally:
            for c in conns:
                c.close()

    def reader(i):
        rnd = random.Random(SEED * 1000 + 400 + i)
        conns = [Conn(api) for _ in range(FANOUT)]
        # (writer, mode) -> (counter, ETag) this reader saw last
        last = {(j, m): (0, writers[j].history[0][1] if m == "all" else writers[j].refs_etag[0])
                for j in range(len(writers)) for m in ("all", "refs")}
        rounds = 0
        try:
            while not stop.is_set():
                reqs = []
                for _ in range(rnd.randint(1, FANOUT)):
                    if rnd.random() < 0.3:
                        reqs.append(catalog.random_request(rnd))
                        continue
                    j = rnd.randrange(len(writers))
                    w = writers[j]
                    mode = rnd.choice(["all", "refs"])
                    seen_c, etag = last[(j, mode)]
                    floor = w.floor()

                    def check(r, w=w, j=j, mode=mode, seen_c=seen_c, etag=etag, floor=floor):
                        with statuses_lock:
                            statuses[r.status] += 1
                        if r.status == 304:
                            assert seen_c >= floor, \
                                f"stale 304: If-None-Match held the ETag of commit {seen_c} of " \
                                f"{w.dotted}, but commit {floor} was acknowledged before the " \
                                f"request was sent"
                            return
                        check_committed(w, mode, floor=max(floor, seen_c), seen=seen,
                                        not_etag=etag)(r)
                        last[(j, mode)] = (counter_of(r.body), r.headers["ETag"])

                    q = "?snapshots=refs" if mode == "refs" else rnd.choice(["", "?snapshots=all"])
                    reqs.append(Req("inm", "GET", w.path(q), check, headers={"If-None-Match": etag},
                                    note=f"ETag of commit {seen_c}, {floor} acknowledged"))
                rounds += 1
                run_round(conns, reqs, failures, f"reader {i} round {rounds}: ")
        finally:
            for c in conns:
                c.close()

    t0 = time.monotonic()
    with ThreadPoolExecutor(INM_READERS + INM_WRITERS) as ex:
        readers = [ex.submit(reader, i) for i in range(INM_READERS)]
        try:
            for f in [ex.submit(writer, i) for i in range(INM_WRITERS)]:
                f.result()
        finally:
            stop.set()
        for f in readers:
            f.result()
    elapsed = time.monotonic() - t0
    failures.check()
    checked = seen.verify()
    assert statuses[304] > 0 and statuses[200] > 0, \
        f"the conditional loads should see both 304 and 200: {dict(statuses)}"
    print(f"{INM_WRITERS * INM_COMMITS} commits, conditional loads of the committed tables: "
          f"{dict(statuses)}, {checked} loads checked against the commits, {elapsed:.1f} s")
