#!/usr/bin/env python3
"""serac's benchmark suite: the same catalog and the same load against each server.

bench/run.sh installs the tools and builds serac, then runs this script. It

  1. starts each server (serac on SQLite, serac on PostgreSQL, the Apache Iceberg reference REST
     server; Nessie only for start-up figures, see NESSIE_NOTE) pinned to CPU 1, measuring the
     time from exec to the first 200 from /v1/config (polled every millisecond) and the idle RSS
     (the time to ready again after seeding, restarted on the catalog that now exists);
  2. seeds the same catalog into it through the REST API (1,000 namespaces, 1,000 small tables
     with one snapshot each, 256 tables for commits, one table for contended commits, and a table
     with 10,000 snapshots registered from a metadata file written into its warehouse);
  3. drives every workload from CPU 0: wrk (Lua scripts in bench/wrk/) for reads and creates,
     bench/loadgen (Go) for commits and the read/commit mix, each after an unmeasured warm-up;
     around each measured run it reads the server's CPU time (utime+stime) and peak RSS (VmHWM,
     reset through /proc/<pid>/clear_refs before the run);
  4. for serac only, compares listing a 100-table page in an empty catalog with the same in a
     catalog of 1,000,000 tables seeded straight into the store with SQL;
  5. writes bench/results/<date>-<machine>.md (and .json) and prints where.

Environment: BENCH_QUICK=1 (3 s runs, 1 s warm-up), BENCH_DURATION / BENCH_WARMUP (seconds),
BENCH_SERVERS (comma list of serac-sqlite,serac-pg,reference,nessie), BENCH_WORKLOADS (comma
list of workload ids), BENCH_SKIP_LARGE=1 (no 1,000,000-table phase), BENCH_SERAC_ARGS (extra
`serac serve` flags), BENCH_PG_TCP=1 (serac-pg reaches PostgreSQL over TCP loopback, not its Unix
socket), BENCH_LISTING_ROUNDS (interleaved rounds of the listing cases, default 5). Paths come from run.sh: SERAC_BIN, BENCH_OUT (scratch), LOADGEN_BIN,
REF_CLASSPATH_FILE, NESSIE_JAR, NESSIE_JAVA.
"""

import http.client
import json
import os
import platform
import random
import resource
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
WRK_DIR = os.path.join(BENCH_DIR, "wrk")
SERVER_CPU = "1"
LOAD_CPU = "0"
CLK_TCK = os.sysconf("SC_CLK_TCK")

QUICK = os.environ.get("BENCH_QUICK") == "1"
DURATION = int(os.environ.get("BENCH_DURATION", "3" if QUICK else "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "1" if QUICK else "3"))
OUT = os.environ.get("BENCH_OUT", "/tmp/serac-bench")
SERAC_BIN = os.environ.get("SERAC_BIN", os.path.join(REPO, "build-release", "serac"))
LOADGEN_BIN = os.environ.get("LOADGEN_BIN", os.path.join(OUT, "loadgen"))
REF_CP_FILE = os.environ.get("REF_CLASSPATH_FILE", os.path.join(OUT, "reference.classpath"))
NESSIE_JAR = os.environ.get("NESSIE_JAR", "")
NESSIE_JAVA = os.environ.get("NESSIE_JAVA", "")
ICEBERG_VERSION = "1.11.0"

N_NAMESPACES = 1000
N_SMALL = 1000
N_COMMIT_TABLES = 256
N_SNAPSHOTS = 10000
N_LARGE = 1_000_000
PG_TCP = os.environ.get("BENCH_PG_TCP") == "1"
PACED_RATE = int(os.environ.get("BENCH_PACED_RATE", "5000"))
READ_CONNS = 64
WRITE_CONNS = 16

NESSIE_NOTE = ("Nessie's Iceberg REST catalog refuses a file: warehouse (\"Unknown or unsupported "
               "scheme: file\"); it needs S3, GCS or ADLS, and no object store runs on this machine, "
               "so only its start-up time and idle RSS are measured.")

SCHEMA = {
    "type": "struct", "schema-id": 0, "fields": [
        {"id": 1, "name": "id", "required": True, "type": "long"},
        {"id": 2, "name": "ts", "required": False, "type": "timestamptz"},
        {"id": 3, "name": "name", "required": False, "type": "string"},
        {"id": 4, "name": "amount", "required": False, "type": "decimal(12, 2)"},
        {"id": 5, "name": "tags", "required": False,
         "type": {"type": "list", "element-id": 6, "element": "string", "element-required": False}},
    ]}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# HTTP helpers (seeding and checks; never on the measured path)

class Client:
    """A keep-alive JSON client for one server; one per thread."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
                headers = {"Content-Type": "application/json"} if data is not None else {}
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                parsed = None
                if raw and resp.getheader("Content-Type", "").startswith("application/json"):
                    parsed = json.loads(raw)
                return resp.status, parsed
            except (ConnectionError, http.client.HTTPException, socket.timeout, OSError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.05)
        raise RuntimeError("unreachable")

    def ok(self, method, path, body=None, allowed=(200, 204)):
        status, parsed = self.request(method, path, body)
        if status not in allowed:
            raise RuntimeError(f"{method} {path}: {status} {json.dumps(parsed)[:400]}")
        return parsed

    def close(self):
        if self.conn is not None:
            self.conn.close()


def parallel(items, fn, port, threads=4):
    """Runs fn(client, item) over items on a few threads, each with its own connection."""
    items = list(items)
    errors = []

    def run(chunk):
        c = Client(port)
        try:
            for it in chunk:
                fn(c, it)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            c.close()

    ts = [threading.Thread(target=run, args=(items[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def append_body(meta):
    """An append commit on the table whose metadata is `meta` (as bench/loadgen sends it)."""
    sid = random.getrandbits(62)
    cur = meta.get("current-snapshot-id")
    cur = cur if cur not in (None, -1) else None
    snap = {"snapshot-id": sid, "timestamp-ms": int(time.time() * 1000),
            "manifest-list": f"{meta['location']}/metadata/snap-{sid}-1-seed.avro",
            "summary": {"operation": "append", "added-data-files": "1", "added-records": "1"},
            "schema-id": meta.get("current-schema-id", 0),
            "sequence-number": meta.get("last-sequence-number", 0) + 1}
    if cur is not None:
        snap["parent-snapshot-id"] = cur
    return {"requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": cur}],
            "updates": [{"action": "add-snapshot", "snapshot": snap},
                        {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch",
                         "snapshot-id": sid}]}


# ---------------------------------------------------------------------------------------------
# /proc measurements

def proc_children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return kids


def cpu_ticks(pid, with_reaped=False):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    t = int(fields[11]) + int(fields[12])  # utime, stime
    if with_reaped:
        t += int(fields[13]) + int(fields[14])  # cutime, cstime
    return t


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_busy_seconds(cpu):
    """Seconds CPU `cpu` spent running processes (user, nice, system) or stolen by the
    hypervisor since boot; interrupt and softirq time (loopback TCP, whoever it is for) is left
    out."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                return (v[0] + v[1] + v[2] + v[7]) / CLK_TCK
    return 0.0


def stolen_seconds():
    """Seconds the hypervisor took from the load generator's CPU and from the server's, since
    boot (/proc/stat "steal"): a run that lost much of either measured the host, not the servers."""
    got = {}
    with open("/proc/stat") as f:
        for line in f:
            for cpu in (LOAD_CPU, SERVER_CPU):
                if line.startswith(f"cpu{cpu} "):
                    got[cpu] = int(line.split()[8]) / CLK_TCK
    return (got.get(LOAD_CPU, 0.0), got.get(SERVER_CPU, 0.0))


def children_cpu_seconds():
    """CPU time of this process's finished children (the load generators)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def reset_peak(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# Servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, path, proc, deadline_s=120):
    """Polls GET path every millisecond until it answers 200; returns the instant it did."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.001)
    raise RuntimeError(f"not ready within {deadline_s}s")


class Server:
    name = "?"
    prefix = "/v1"
    config_path = "/v1/config"
    label = "?"

    def __init__(self, workdir):
        self.workdir = workdir
        self.proc = None
        self.port = None
        self.ready_ms = None
        self.idle_rss_kb = None
        self.version = ""
        self.command = ""
        self.note = ""
        self.logfile = os.path.join(workdir, "server.log")

    # the command to exec and its environment
    def argv(self):
        raise NotImplementedError

    def env(self):
        return dict(os.environ)

    def display(self, argv):
        """The command line as the report shows it."""
        return " ".join(shlex.quote(a) for a in argv)

    def warehouse_dir(self):
        return os.path.join(self.workdir, "warehouse")

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        self.port = free_port()
        argv = ["taskset", "-c", SERVER_CPU] + self.argv()
        self.command = self.display(argv)
        logf = open(self.logfile, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, env=self.env(),
                                     cwd=self.workdir, start_new_session=True)
        logf.close()
        t1 = wait_ready(self.port, self.config_path, self.proc)
        self.ready_ms = (t1 - t0) * 1000
        time.sleep(1.0)
        self.idle_rss_kb = status_kb(self.proc.pid, "VmRSS")
        log(f"{self.name}: ready in {self.ready_ms:.1f} ms, idle RSS {self.idle_rss_kb / 1024:.1f} MB "
            f"(port {self.port})")

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None

    # measured processes: (pid, include reaped children's time)
    def measured(self):
        return [(self.proc.pid, False)]

    def cpu_seconds(self):
        return sum(cpu_ticks(p, r) for p, r in self.measured()) / CLK_TCK

    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def ns_path(self, ns):
        return f"{self.prefix}/namespaces/{quote(ns, safe='')}"

    def table_path(self, ns, t):
        return f"{self.ns_path(ns)}/tables/{quote(t, safe='')}"


class Serac(Server):
    def __init__(self, workdir, store="sqlite", pg_url=None, pg_dir=None):
        super().__init__(workdir)
        self.store = store
        self.pg_url = pg_url
        self.pg_dir = pg_dir
        self.name = "serac-sqlite" if store == "sqlite" else "serac-pg"
        self.label = "serac (SQLite)" if store == "sqlite" else "serac (PostgreSQL 15)"
        self.prefix = "/v1/default"
        self.version = os.environ.get("SERAC_VERSION") or serac_version()
        if store != "sqlite":
            self.note = ("CPU s and the server pinning include the PostgreSQL processes; RSS is serac's own. "
                         + ("serac reaches PostgreSQL over TCP (127.0.0.1)." if PG_TCP else
                            "serac reaches PostgreSQL over its Unix socket, as a PostgreSQL on the same "
                            "host is reached (BENCH_PG_TCP=1: over TCP loopback instead)."))

    def argv(self):
        a = [SERAC_BIN, "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--data-dir", os.path.join(self.workdir, "data")]
        if self.store != "sqlite":
            a += ["--store", self.pg_url if PG_TCP or not self.pg_dir else pg_socket_url(self.pg_url, self.pg_dir)]
        return a + shlex.split(os.environ.get("BENCH_SERAC_ARGS", ""))

    def warehouse_dir(self):
        return os.path.join(self.workdir, "data", "warehouse")

    def postmaster(self):
        if not self.pg_dir:
            return None
        try:
            with open(os.path.join(self.pg_dir, "data", "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def measured(self):
        m = [(self.proc.pid, False)]
        pm = self.postmaster()
        if pm:
            m.append((pm, True))
            m += [(k, False) for k in proc_children(pm)]
        return m


class Reference(Server):
    name = "reference"
    label = f"Iceberg REST reference {ICEBERG_VERSION} (JdbcCatalog on SQLite)"

    def __init__(self, workdir):
        super().__init__(workdir)
        with open(REF_CP_FILE) as f:
            self.classpath = f.read().strip()
        self.version = f"Iceberg {ICEBERG_VERSION} RESTCatalogServer, Jetty 12.1.8, sqlite-jdbc 3.53.0.0, " + java_version("java")
        self.note = ("JVM defaults (the JVM sees one CPU under taskset); JDBC pool of 2 (CATALOG_CLIENTS "
                     "default), strict mode, as in the apache/iceberg-rest-fixture image.")

    def argv(self):
        return ["java", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", self.classpath,
                "org.apache.iceberg.rest.RESTCatalogServer"]

    def display(self, argv):
        env = {k: v for k, v in self.env().items() if k.startswith("CATALOG_")}
        shown = ['"$(cat ' + REF_CP_FILE + ')"' if a == self.classpath else shlex.quote(a) for a in argv]
        return " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items())) + " " + " ".join(shown)

    def env(self):
        e = dict(os.environ)
        os.makedirs(self.warehouse_dir(), exist_ok=True)
        e.update({"CATALOG_WAREHOUSE": "file://" + self.warehouse_dir(),
                  "CATALOG_URI": "jdbc:sqlite:" + os.path.join(self.workdir, "catalog.db"),
                  "CATALOG_JDBC_USER": "user", "CATALOG_JDBC_PASSWORD": "password",
                  "CATALOG_JDBC_STRICT__MODE": "true", "CATALOG_REST_PORT": str(self.port)})
        return e


class Nessie(Server):
    name = "nessie"
    config_path = "/api/v2/config"

    def __init__(self, workdir):
        super().__init__(workdir)
        ver = os.path.basename(NESSIE_JAR).replace("nessie-quarkus-", "").replace("-runner.jar", "")
        self.label = f"Nessie {ver} (in-memory version store)"
        self.version = f"nessie-quarkus {ver} runner jar, " + java_version(NESSIE_JAVA)
        self.note = NESSIE_NOTE

    def argv(self):
        return [NESSIE_JAVA, f"-Dquarkus.http.port={self.port}", "-Dquarkus.management.port=0",
                "-Dquarkus.http.host=127.0.0.1", "-Dnessie.version.store.type=IN_MEMORY",
                "-jar", NESSIE_JAR]


def serac_version():
    try:
        out = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h %cd", "--date=short"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "src", "CMakeLists.txt"],
                               capture_output=True, text=True).stdout.strip()
        return f"commit {out}" + (" (work tree has uncommitted changes under src/)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def java_version(java):
    try:
        r = subprocess.run([java, "-version"], capture_output=True, text=True)
        line = (r.stderr or r.stdout).splitlines()[0]
        return line.replace('"', "")
    except (OSError, IndexError):
        return "java ?"


# ---------------------------------------------------------------------------------------------
# Seeding

def snapshot_metadata(location, n):
    """Table metadata (format v2) with n snapshots in one chain, main on the last."""
    now = int(time.time() * 1000) - n * 1000
    snaps, log_ = [], []
    parent = None
    base = random.getrandbits(40) << 16
    for i in range(n):
        sid = base + i + 1
        s = {"snapshot-id": sid, "sequence-number": i + 1, "timestamp-ms": now + i * 1000,
             "manifest-list": f"{location}/metadata/snap-{sid}-1-{uuid.UUID(int=sid)}.avro",
             "summary": {"operation": "append", "added-data-files": "1", "added-records": "100",
                         "added-files-size": "4096", "total-records": str(100 * (i + 1)),
                         "total-data-files": str(i + 1), "total-delete-files": "0"},
             "schema-id": 0}
        if parent is not None:
            s["parent-snapshot-id"] = parent
        snaps.append(s)
        log_.append({"snapshot-id": sid, "timestamp-ms": now + i * 1000})
        parent = sid
    return {
        "format-version": 2, "table-uuid": str(uuid.uuid4()), "location": location,
        "last-sequence-number": n, "last-updated-ms": now + n * 1000, "last-column-id": 6,
        "current-schema-id": 0, "schemas": [SCHEMA], "default-spec-id": 0,
        "partition-specs": [{"spec-id": 0, "fields": []}], "last-partition-id": 999,
        "default-sort-order-id": 0, "sort-orders": [{"order-id": 0, "fields": []}],
        "properties": {"write.format.default": "parquet"}, "current-snapshot-id": parent,
        "refs": {"main": {"snapshot-id": parent, "type": "branch"}},
        "snapshots": snaps, "snapshot-log": log_, "metadata-log": []}


class Catalog:
    """What was seeded into one server: the paths the workloads request."""

    def __init__(self):
        self.paths = {}
        self.seconds = 0.0


def seed(srv):
    t0 = time.perf_counter()
    cat = Catalog()
    p = srv.port
    c = Client(p)
    namespaces = [f"ns{i:04d}" for i in range(N_NAMESPACES)]
    parallel(namespaces + ["cw", "cc", "big"],
             lambda cl, ns: cl.ok("POST", f"{srv.prefix}/namespaces", {"namespace": [ns]}), p)

    def make_small(cl, ns):
        created = cl.ok("POST", f"{srv.ns_path(ns)}/tables", {"name": "small", "schema": SCHEMA})
        cl.ok("POST", srv.table_path(ns, "small"), append_body(created["metadata"]))

    parallel(namespaces[:N_SMALL], make_small, p)
    parallel([f"w{i:03d}" for i in range(N_COMMIT_TABLES)],
             lambda cl, t: cl.ok("POST", f"{srv.ns_path('cw')}/tables", {"name": t, "schema": SCHEMA}), p)
    created = c.ok("POST", f"{srv.ns_path('cc')}/tables", {"name": "hot", "schema": SCHEMA})
    c.ok("POST", srv.table_path("cc", "hot"), append_body(created["metadata"]))

    # the 10,000-snapshot table: a metadata file in the server's warehouse, then registerTable
    wh = srv.warehouse_dir()
    loc = f"file://{wh}/big/snap10k"
    mdir = os.path.join(wh, "big", "snap10k", "metadata")
    os.makedirs(mdir, exist_ok=True)
    mfile = os.path.join(mdir, f"00000-{uuid.uuid4()}.metadata.json")
    with open(mfile, "w") as f:
        json.dump(snapshot_metadata(loc, N_SNAPSHOTS), f, separators=(",", ":"))
    c.ok("POST", f"{srv.ns_path('big')}/register",
         {"name": "snap10k", "metadata-location": "file://" + mfile})
    body = c.ok("GET", srv.table_path("big", "snap10k") + "?snapshots=all")
    got = len(body["metadata"].get("snapshots", []))
    if got != N_SNAPSHOTS:
        raise RuntimeError(f"{srv.name}: registered table has {got} snapshots, expected {N_SNAPSHOTS}")

    # namespace pages (100 per page), walked with each server's own tokens
    pages, token = [], None
    while True:
        q = "?pageSize=100" + ("" if token is None else "&pageToken=" + quote(token, safe=""))
        pages.append(f"{srv.prefix}/namespaces{q}")
        body = c.ok("GET", pages[-1])
        token = body.get("next-page-token")
        if not token or len(pages) > 50:
            break
    c.close()
    if len(pages) < 10:
        raise RuntimeError(f"{srv.name}: namespace listing gave {len(pages)} pages, expected >= 10")

    cat.paths = {
        "config": [srv.config_path],
        "namespace-pages": pages,
        "namespaces": [srv.ns_path(ns) for ns in namespaces],
        "small-tables": [srv.table_path(ns, "small") for ns in namespaces[:N_SMALL]],
        "snap10k-all": [srv.table_path("big", "snap10k") + "?snapshots=all"],
        "snap10k-refs": [srv.table_path("big", "snap10k") + "?snapshots=refs"],
        "create-targets": [f"{srv.ns_path(ns)}/tables" for ns in namespaces[:16]],
        "commit-tables": [srv.table_path("cw", f"w{i:03d}") for i in range(N_COMMIT_TABLES)],
        "hot-table": [srv.table_path("cc", "hot")],
    }
    cat.seconds = time.perf_counter() - t0
    log(f"{srv.name}: seeded in {cat.seconds:.1f} s ({len(pages)} namespace pages)")
    return cat


# ---------------------------------------------------------------------------------------------
# Workloads

WORKLOADS = [
    # id, title, tool, connections, paths key, extra
    ("config", "GET /v1/config", "wrk", READ_CONNS, "config", {}),
    ("list-namespaces", "List namespaces (1,000, pages of 100)", "wrk", READ_CONNS, "namespace-pages", {}),
    ("load-namespace", "Load namespace", "wrk", READ_CONNS, "namespaces", {}),
    ("head-table", "HEAD table", "wrk", READ_CONNS, "small-tables", {"method": "HEAD"}),
    ("load-table", "Load a small table (64 keep-alive connections)", "wrk", READ_CONNS, "small-tables", {}),
    # Open loop: the same loads at a fixed rate every server is offered alike; latency from the
    # time each request was due (wrk's closed loop above measures the most a server does, where
    # latency is connections / throughput by construction).
    ("load-table-paced", f"Load a small table at a fixed {PACED_RATE:,} requests/s over 64 connections "
     "(open loop)", "loadgen-paced", READ_CONNS, "small-tables", {}),
    ("load-10k-refs", "Load the 10,000-snapshot table, snapshots=refs (1 connection)", "wrk", 1,
     "snap10k-refs", {}),
    ("load-10k-all", "Load the 10,000-snapshot table, snapshots=all (1 connection)", "wrk", 1,
     "snap10k-all", {}),
    ("create-table", "Create table (16 connections)", "wrk-create", WRITE_CONNS, "create-targets", {}),
    ("commit-distinct", "Commit appends to distinct tables (16 writers, 16 tables each)", "loadgen",
     WRITE_CONNS, "commit-tables", {}),
    ("commit-contended", "Commit appends to one table from 16 writers", "loadgen", WRITE_CONNS,
     "hot-table", {"contended": True}),
    ("mix", "90% load table / 10% commit (64 connections)", "loadgen-mix", READ_CONNS, "commit-tables", {}),
    # The target: loads stay fast while 10,000 clients are connected. 10,000 idle keep-alive
    # connections are held open (bench/hold/hold.py) while wrk loads over 64 others.
    ("conn-10k", "Load a small table (64 connections) while 10,000 idle keep-alive connections "
     "are held", "wrk-held", READ_CONNS, "small-tables", {"held": 10000}),
    # For information: 10,000 connections all busy (closed loop: latency ~ connections / rate).
    ("conn-10k-busy", "Load a small table over 10,000 busy keep-alive connections", "wrk", 10000,
     "small-tables", {"timeout": "30s"}),
]


class Holder:
    """bench/hold/hold.py holding idle connections to srv while a workload runs."""

    def __init__(self, srv, n):
        self.proc = subprocess.Popen(
            ["taskset", "-c", LOAD_CPU, sys.executable, os.path.join(BENCH_DIR, "hold", "hold.py"),
             "127.0.0.1", str(srv.port), str(n)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "held":
            self.close()
            raise RuntimeError(f"connection holder failed: {line}")
        self.held, self.failed = int(line[1]), int(line[2])
        log(f"{srv.name}: holding {self.held} idle connections ({self.failed} failed)")

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


def write_paths(name, paths):
    f = os.path.join(OUT, "paths", name)
    os.makedirs(os.path.dirname(f), exist_ok=True)
    with open(f, "w") as fh:
        fh.write("\n".join(paths) + "\n")
    return f


def run_wrk(srv, conns, seconds, script, env_extra, timeout="10s"):
    env = dict(os.environ)
    env["BENCH_LUA_DIR"] = WRK_DIR
    env.update(env_extra)
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s",
            f"--timeout", timeout, "-s", os.path.join(WRK_DIR, script), srv.base() + "/"]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 120)
    cmd = " ".join(f"{k}={shlex.quote(v)}" for k, v in env_extra.items()) + " " + \
        " ".join(shlex.quote(a) for a in argv)
    for line in r.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            j = json.loads(line[len("BENCH_JSON "):])
            secs = j["duration_us"] / 1e6
            # a connection that never got an answer in the whole run shows in no wrk counter
            unanswered = max(0, conns - j["requests"]) if conns > 1 else 0
            errors = j["connect"] + j["read"] + j["write"] + j["status"] + j["timeout"] + unanswered
            if j["requests"] == 0:
                raise RuntimeError(f"no response completed in {seconds} s with {conns} connections "
                                   f"(wrk errors: connect {j['connect']}, read {j['read']}, "
                                   f"timeout {j['timeout']})")
            return cmd, {
                "ops": j["requests"], "per_sec": j["requests"] / secs if secs else 0,
                "p50_ms": j["p50_us"] / 1000, "p99_ms": j["p99_us"] / 1000,
                "p999_ms": j["p999_us"] / 1000, "max_ms": j["max_us"] / 1000,
                "errors": errors,
                "error_detail": dict({k: j[k] for k in ("connect", "read", "write", "status", "timeout")},
                                     unanswered_connections=unanswered),
                "mb_read": j["bytes"] / 1e6}
    raise RuntimeError(f"wrk gave no result (exit {r.returncode}): {r.stderr[-2000:]}")


def run_wrk_paths(srv, conns, seconds, pfile, method="GET", timeout="10s"):
    """wrk sending method to the paths listed in pfile, in turn (paths.lua)."""
    return run_wrk(srv, conns, seconds, "paths.lua", {"BENCH_PATHS": pfile, "BENCH_METHOD": method},
                   timeout)


def run_loadgen(srv, args, seconds, warmup):
    argv = ["taskset", "-c", LOAD_CPU, LOADGEN_BIN, "-base", srv.base(), "-duration", f"{seconds}s",
            "-warmup", f"{warmup}s"] + args
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + warmup + 300)
    cmd = " ".join(shlex.quote(a) for a in argv)
    if r.returncode != 0:
        raise RuntimeError(f"loadgen failed ({r.returncode}): {r.stderr[-2000:]}")
    return cmd, json.loads(r.stdout)


def server_log_latency(logfile, offset):
    """p50 / p99 / p99.9 / max of latency_ms over serac's access-log lines from byte offset on."""
    lat = []
    with open(logfile, "rb") as f:
        f.seek(offset)
        for line in f:
            if b'"msg":"request"' not in line:
                continue
            try:
                lat.append(float(json.loads(line)["latency_ms"]))
            except (ValueError, KeyError):
                continue
    if not lat:
        return None
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, max(0, int(q * len(lat) + 0.999999) - 1))]  # noqa: E731
    return {"samples": len(lat), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "p999_ms": pick(0.999),
            "max_ms": lat[-1]}


def class_row(c, verify=None):
    lat = c["latency"]
    row = {"ops": c["ops"], "per_sec": c["per_sec"], "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"],
           "p999_ms": lat["p999_ms"], "max_ms": lat["max_ms"],
           "errors": c["non2xx"] + c["socket_errors"],
           "5xx": c["5xx"], "conflicts": c.get("conflicts_409", 0), "attempts": c.get("attempts", 0),
           "retries": c.get("retries", 0), "gave_up": c.get("gave_up", 0)}
    if verify is not None:
        row["lost"] = verify["lost"]
        row["verified_acked"] = verify["acked"]
    return row


def run_workload(srv, cat, wl):
    wid, title, tool, conns, key, extra = wl
    paths = cat.paths[key]
    pfile = write_paths(f"{srv.name}-{wid}", paths)
    tag = uuid.uuid4().hex[:8]

    def once(seconds, measured):
        if tool == "wrk":
            return run_wrk_paths(srv, conns, seconds, pfile, extra.get("method", "GET"),
                                 extra.get("timeout", "10s"))
        if tool == "wrk-create":
            env = {"BENCH_PATHS": pfile, "BENCH_TAG": tag + ("m" if measured else "w")}
            return run_wrk(srv, conns, seconds, "create.lua", env)
        if tool == "loadgen":
            args = ["-mode", "commit", "-workers", str(conns), "-tables", pfile]
            if extra.get("contended"):
                args.append("-contended")
            cmd, j = run_loadgen(srv, args, seconds, 0)
            return cmd, class_row(j["commit"], j.get("verify"))
        if tool == "loadgen-paced":
            args = ["-mode", "paced", "-workers", str(conns), "-reads", pfile, "-rate", str(PACED_RATE)]
            log_from = os.path.getsize(srv.logfile) if measured and isinstance(srv, Serac) else None
            cmd, j = run_loadgen(srv, args, seconds, 0)
            row = class_row(j["read"])
            if log_from is not None:
                # serac's own time per request (its access log's latency_ms: from the request
                # line parsed to the answer built, before it is sent), to tell the server's share
                # of the tail from the kernel's, the VM's and the generator's
                row["server_ms"] = server_log_latency(srv.logfile, log_from)
            row["rate"] = PACED_RATE
            row["late_server"] = j["read"].get("late_server", 0)
            row["late_generator"] = j["read"].get("late_generator", 0)
            return cmd, row
        if tool == "loadgen-mix":
            reads = write_paths(f"{srv.name}-{wid}-reads", cat.paths["small-tables"])
            args = ["-mode", "mix", "-workers", str(conns), "-tables", pfile, "-reads", reads,
                    "-read-ratio", "0.9", "-tables-per-worker", "4"]
            cmd, j = run_loadgen(srv, args, seconds, 0)
            row = class_row(j["all"], j.get("verify"))
            row["read"] = class_row(j["read"])
            row["commit"] = class_row(j["commit"])
            row["errors"] = row["read"]["errors"] + row["commit"]["errors"]
            return cmd, row
        raise ValueError(tool)

    holder = None
    if tool == "wrk-held":
        holder = Holder(srv, extra["held"])
        tool = "wrk"
    try:
        if WARMUP > 0:
            once(WARMUP, False)
        pid = srv.proc.pid
        reset_peak(pid)
        cpu0, busy0, gen0 = srv.cpu_seconds(), cpu_busy_seconds(SERVER_CPU), children_cpu_seconds()
        stolen0 = stolen_seconds()
        cmd, row = once(DURATION, True)
        if holder:
            # Every held connection must still be open and answered: count any that were not.
            row["held"] = holder.held
            row["errors"] += holder.failed
            row["peak_rss_kb_holding"] = status_kb(pid, "VmHWM")
    finally:
        if holder:
            holder.close()
    row["cpu_s"] = srv.cpu_seconds() - cpu0
    row["gen_cpu_s"] = children_cpu_seconds() - gen0
    row["other_cpu_s"] = max(0.0, cpu_busy_seconds(SERVER_CPU) - busy0 - row["cpu_s"])
    row["stolen_s"] = [b - a for a, b in zip(stolen0, stolen_seconds())]
    row["peak_rss_kb"] = status_kb(pid, "VmHWM")
    row["connections"] = conns
    row["command"] = cmd
    if srv.proc.poll() is not None:
        raise RuntimeError(f"{srv.name} exited during {wid}")
    log(f"{srv.name} {wid}: {row['per_sec']:.0f}/s p50 {row['p50_ms']:.2f} ms p99 {row['p99_ms']:.2f} ms "
        f"errors {row['errors']} cpu {row['cpu_s']:.1f}s rss {row['peak_rss_kb'] / 1024:.0f} MB")
    return row


# ---------------------------------------------------------------------------------------------
# The 1,000,000-table listing (serac only, seeded through the store)

def list_tables_workload(srv, name, path, conns=READ_CONNS):
    pfile = write_paths(f"{srv.name}-large-{name}", [path])
    if WARMUP > 0:
        run_wrk_paths(srv, conns, WARMUP, pfile)
    reset_peak(srv.proc.pid)
    cpu0, busy0, gen0 = srv.cpu_seconds(), cpu_busy_seconds(SERVER_CPU), children_cpu_seconds()
    stolen0 = stolen_seconds()
    cmd, row = run_wrk_paths(srv, conns, DURATION, pfile)
    row["cpu_s"] = srv.cpu_seconds() - cpu0
    row["gen_cpu_s"] = children_cpu_seconds() - gen0
    row["other_cpu_s"] = max(0.0, cpu_busy_seconds(SERVER_CPU) - busy0 - row["cpu_s"])
    row["stolen_s"] = [b - a for a, b in zip(stolen0, stolen_seconds())]
    row["peak_rss_kb"] = status_kb(srv.proc.pid, "VmHWM")
    row["command"] = cmd
    row["connections"] = conns
    log(f"{srv.name} list {name}: {row['per_sec']:.0f}/s p50 {row['p50_ms']:.2f} ms p99 {row['p99_ms']:.2f} ms")
    return row


def walk_to_middle(srv, ns, total):
    """The page token about halfway into a namespace of `total` tables (pages of 1,000)."""
    c = Client(srv.port)
    token, seen = "", 0
    while seen < total // 2:
        body = c.ok("GET", f"{srv.ns_path(ns)}/tables?pageSize=1000&pageToken={quote(token, safe='')}")
        seen += len(body.get("identifiers", []))
        token = body.get("next-page-token")
        if not token:
            break
    c.close()
    return token


def seed_large_sqlite(db):
    """Inserts N_LARGE tables into namespace 'big' in one transaction, copying the stored row of
    a real table (its metadata text) so each row has a realistic size."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("BEGIN")
    con.execute(f"""
        WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < {N_LARGE - 1})
        INSERT INTO objects (warehouse_id, namespace, name, kind, metadata_location, metadata,
                             version, created_ms, updated_ms)
        SELECT t.warehouse_id, 'big', printf('t%07d', seq.i), 1,
               replace(t.metadata_location, '/small/', '/big/'), t.metadata, 1, t.created_ms,
               t.updated_ms
        FROM seq, (SELECT * FROM objects WHERE namespace = 'small' ORDER BY name LIMIT 1) AS t""")
    con.execute("COMMIT")
    n = con.execute("SELECT count(*) FROM objects").fetchone()[0]
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return n


def seed_large_pg(pg_dir, pg_url):
    sql = f"""
        INSERT INTO objects (warehouse_id, namespace, name, kind, metadata_location, metadata,
                             version, created_ms, updated_ms)
        SELECT t.warehouse_id, 'big', 't' || lpad(i::text, 7, '0'), 1,
               replace(t.metadata_location, '/small/', '/big/'), t.metadata, 1, t.created_ms,
               t.updated_ms
        FROM generate_series(0, {N_LARGE - 1}) AS i,
             (SELECT * FROM objects WHERE namespace = 'small' ORDER BY name LIMIT 1) AS t;
        SELECT count(*) FROM objects;"""
    r = subprocess.run(["psql", "-X", "-q", "-t", "-v", "ON_ERROR_STOP=1", pg_url, "-c", sql],
                       capture_output=True, text=True)
    if r.returncode == 0:
        # what autovacuum would do soon after such an insert: statistics, and the visibility map
        # that lets index-only scans skip the heap; done now so the figures do not depend on
        # whether autovacuum has run yet
        v = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_url, "-c",
                            "VACUUM (ANALYZE) objects"], capture_output=True, text=True)
        if v.returncode != 0:
            raise RuntimeError(f"psql: {v.stderr}")
    if r.returncode != 0:
        raise RuntimeError(f"psql: {r.stderr}")
    return int(r.stdout.strip().splitlines()[-1])


LISTING_ROUNDS = int(os.environ.get("BENCH_LISTING_ROUNDS", "1" if QUICK else "5"))
EMPTY_CASE = "empty: namespace of 100 tables, page 1"
LIST_SQL = ("SELECT name FROM objects WHERE warehouse_id = {wh} AND namespace = '{ns}' AND kind = 1 "
            "AND name > '{after}' ORDER BY name LIMIT 101")


def pg_plan(url, ns, after):
    """The plan PostgreSQL runs for serac's table-page query (as a prepared statement past its
    first five executions, so the generic plan when it would win) with the pages it touched."""
    q = ("SELECT name FROM objects WHERE warehouse_id = $1 AND namespace = $2 AND kind = $3 "
         "AND name > $4 ORDER BY name LIMIT $5")
    ex = f"EXECUTE q(:wh, '{ns}', 1, '{after}', 101)"
    sql = (f"SELECT id AS wh FROM warehouses ORDER BY id LIMIT 1 \\gset\nPREPARE q AS {q};\n"
           f"\\o /dev/null\n" + f"{ex};\n" * 6 + f"\\o\nEXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {ex};")
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url],
                       input=sql, capture_output=True, text=True)
    if r.returncode != 0:
        return f"psql failed: {r.stderr.strip()[:200]}"
    lines = [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]
    plan = [ln for ln in lines if "Scan" in ln or "Limit" in ln or "Sort" in ln]
    bufs = next((ln for ln in lines if ln.startswith("Buffers:")), "Buffers: ?")
    return "; ".join(plan[:3]) + f" — {bufs}"


def sqlite_plan(db, ns, after):
    con = sqlite3.connect(db)
    try:
        wh = con.execute("SELECT id FROM warehouses ORDER BY id LIMIT 1").fetchone()[0]
        rows = con.execute("EXPLAIN QUERY PLAN " + LIST_SQL.format(wh=wh, ns=ns, after=after)).fetchall()
        return "; ".join(r[-1] for r in rows)
    finally:
        con.close()


def large_listing(make_server, seed_fn, plan_fn):
    """Lists 100-table pages in an (almost) empty catalog and in one holding 1,000,000 more
    tables (added through the store), both served at once by two servers; the cases are measured
    in LISTING_ROUNDS interleaved rounds (order rotated each round) so that drift of the machine
    hits both catalogs alike, and each case reports its median round and the median of its
    round-by-round ratios to the empty catalog. Also records the query
    plan and, on PostgreSQL, the pages the page query touches. Returns rows keyed by case."""
    rows = {}
    empty, large = make_server("empty"), make_server("large")
    try:
        for srv in (empty, large):
            srv.start()
            c = Client(srv.port)
            for ns in ("small", "big"):
                c.ok("POST", f"{srv.prefix}/namespaces", {"namespace": [ns]})
            parallel([f"t{i:03d}" for i in range(100)],
                     lambda cl, t, srv=srv: cl.ok("POST", f"{srv.ns_path('small')}/tables",
                                                  {"name": t, "schema": SCHEMA}), srv.port)
            c.close()
        rows["_ready_empty_ms"] = empty.ready_ms
        large.stop()
        t0 = time.perf_counter()
        n = seed_fn(large)
        rows["_seed_s"] = time.perf_counter() - t0
        rows["_objects"] = n
        log(f"{large.name}: {n} tables in the store after {rows['_seed_s']:.1f} s of SQL")
        large.start()
        rows["_ready_large_ms"] = large.ready_ms
        rows["_idle_rss_large_kb"] = large.idle_rss_kb
        small = f"{large.ns_path('small')}/tables?pageSize=100"
        big = f"{large.ns_path('big')}/tables?pageSize=100"
        token = walk_to_middle(large, "big", N_LARGE)
        cases = [(EMPTY_CASE, empty, small),
                 ("1M: same namespace of 100 tables, page 1", large, small),
                 ("1M: namespace of 1,000,000 tables, page 1", large, big),
                 ("1M: namespace of 1,000,000 tables, page 5,001", large,
                  big + "&pageToken=" + quote(token or "", safe=""))]
        runs = {k: [] for k, _, _ in cases}
        for r in range(LISTING_ROUNDS):
            for i in range(len(cases)):
                k, srv, path = cases[(i + r) % len(cases)]
                runs[k].append(list_tables_workload(srv, f"case{cases.index((k, srv, path))}-round{r}", path))
        for k, got in runs.items():
            in_order = [g["per_sec"] for g in got]
            # Against the empty catalog round by round: the two ran minutes apart at most, so the
            # machine's drift, which spreads one case's rounds by a quarter here, mostly cancels.
            ratios = [a / b for a, b in zip(in_order, (g["per_sec"] for g in runs[EMPTY_CASE]))]
            got = sorted(got, key=lambda row: row["per_sec"])
            row = dict(got[len(got) // 2])
            row["rounds_per_sec"] = in_order
            row["x_empty"] = statistics.median(ratios)
            rows[k] = row
        mid_after = f"t{N_LARGE // 2 - 1:07d}"  # the last name of the pages walk_to_middle read
        rows["_plans"] = {
            "empty catalog, 100-table namespace": plan_fn(empty, "small", ""),
            "1,000,000 tables, 100-table namespace": plan_fn(large, "small", ""),
            "1,000,000 tables, big namespace, page 1": plan_fn(large, "big", ""),
            "1,000,000 tables, big namespace, page 5,001": plan_fn(large, "big", mid_after),
        }
        for what, plan in rows["_plans"].items():
            log(f"{large.name} plan, {what}: {plan}")
    finally:
        empty.stop()
        large.stop()
    return rows


# ---------------------------------------------------------------------------------------------
# Report

def machine_info():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    model = sh("lscpu | sed -n 's/^Model name: *//p'")
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return {
        "cpu": model, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "somaxconn": sh("cat /proc/sys/net/core/somaxconn"),
        "port_range": sh("cat /proc/sys/net/ipv4/ip_local_port_range").replace("\t", "-"),
        "nofile": sh("ulimit -n"),
        "wrk": sh("wrk -v 2>&1 | head -1 | awk '{print $1, $2}'"),
        "go": sh("go version | awk '{print $3}'"),
        "gcc": sh("gcc --version | head -1"),
        "postgres": sh("/usr/lib/postgresql/15/bin/postgres --version"),
        "python": platform.python_version(),
        "loadavg": sh("cut -d' ' -f1-3 /proc/loadavg"),
    }


def fmt_stolen(row):
    st = row.get("stolen_s")
    return f"{st[0]:.1f} / {st[1]:.1f}" if st else "—"


def ready_cell(info):
    """First start, and the restart on the seeded catalog."""
    cell = f"{info['ready_ms']:.1f}"
    if "ready_restart_ms" in info:
        cell += f" (restart {info['ready_restart_ms']:.1f})"
    return cell


def fmt_ms(v):
    if v is None:
        return "—"
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"


def fmt_rate(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def workload_table(wid, results, servers, ref_name="reference"):
    """One workload's Markdown table; the last column is the busy time of the server's CPU that
    was not the server's own (other processes on the machine: a measure of noise)."""
    cols = ["server", "req/s", "p50 ms", "p99 ms", "p99.9 ms"]
    if wid == "commit-contended":
        cols = ["server", "commits/s", "p50 ms", "p99 ms", "p99.9 ms", "409s", "409 rate",
                "retries/commit", "5xx", "lost"]
    elif wid == "commit-distinct":
        cols = ["server", "commits/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "409s", "lost"]
    elif wid == "mix":
        cols = ["server", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "read p99 ms", "commit p99 ms",
                "errors", "lost"]
    else:
        cols.append("errors")
    cols += ["peak RSS MB", "CPU s", "× reference", "load gen CPU s", "others on CPU 1, s",
             "stolen s, CPU 0 / 1"]
    lines = ["| " + " | ".join(cols) + " |", "|---|" + "---:|" * (len(cols) - 1)]
    ref = results.get(ref_name, {}).get(wid)
    for s in servers:
        r = results.get(s.name, {}).get(wid)
        if r is None:
            continue
        if "skipped" in r:
            lines.append(f"| {s.name} | {r['skipped']} |" + " |" * (len(cols) - 2))
            continue
        ratio = "—"
        if ref and "per_sec" in ref and ref["per_sec"] > 0:
            ratio = f"{r['per_sec'] / ref['per_sec']:.2f}"
        cells = [s.name, fmt_rate(r["per_sec"]), fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]),
                 fmt_ms(r["p999_ms"])]
        if wid == "commit-contended":
            rate = r["conflicts"] / r["attempts"] if r["attempts"] else 0
            rpc = r["retries"] / r["ops"] if r["ops"] else 0
            cells += [str(r["conflicts"]), f"{rate:.0%}", f"{rpc:.2f}", str(r["5xx"]), str(r.get("lost", "?"))]
        elif wid == "commit-distinct":
            cells += [str(r["errors"]), str(r["conflicts"]), str(r.get("lost", "?"))]
        elif wid == "mix":
            cells += [fmt_ms(r["read"]["p99_ms"]), fmt_ms(r["commit"]["p99_ms"]), str(r["errors"]),
                      str(r.get("lost", "?"))]
        else:
            cells.append(str(r["errors"]))
        cells += [f"{r['peak_rss_kb'] / 1024:.0f}", f"{r['cpu_s']:.1f}", ratio,
                  f"{r.get('gen_cpu_s', 0):.1f}", f"{r.get('other_cpu_s', 0):.1f}", fmt_stolen(r)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def evaluate_targets(results, servers_info, large):
    """Each target of issue 6 with the figure measured and met / not met."""
    t = []

    def get(s, w):
        return results.get(s, {}).get(w)

    ref_ok = lambda w: get("reference", w) is not None and "per_sec" in get("reference", w)
    for s in ("serac-sqlite", "serac-pg"):
        if s not in results:
            continue
        lt = get(s, "load-table")
        if lt and ref_ok("load-table"):
            ratio = lt["per_sec"] / get("reference", "load-table")["per_sec"]
            t.append((f"{s}: load table (small) ≥ 10× the reference's throughput", f"{ratio:.1f}×",
                      ratio >= 10))
        if lt:
            t.append((f"{s}: load table p99 < 2 ms at 64 connections (closed loop, at full load)",
                      f"{lt['p99_ms']:.2f} ms", lt["p99_ms"] < 2))
        lp = get(s, "load-table-paced")
        if lp:
            kept = lp["per_sec"] >= 0.95 * lp["rate"] and lp["errors"] == 0
            sm = lp.get("server_ms") or {}
            inside = f"; in serac p99 {sm['p99_ms']:.2f} ms" if sm else ""
            t.append((f"{s}: load table p99 < 2 ms at 64 connections (open loop, {lp['rate']:,}/s offered)",
                      f"{lp['p99_ms']:.2f} ms at {lp['per_sec']:,.0f}/s{inside}", lp["p99_ms"] < 2 and kept))
        r10 = get(s, "load-10k-refs")
        if r10:
            t.append((f"{s}: 10,000-snapshot table, snapshots=refs, p50 < 1 ms", f"{r10['p50_ms']:.2f} ms",
                      r10["p50_ms"] < 1))
        cd = get(s, "commit-distinct")
        if cd and ref_ok("commit-distinct"):
            ratio = cd["per_sec"] / get("reference", "commit-distinct")["per_sec"]
            t.append((f"{s}: commits to distinct tables ≥ 5× the reference", f"{ratio:.1f}×", ratio >= 5))
        cc = get(s, "commit-contended")
        if cc:
            t.append((f"{s}: one contended table: zero lost commits, no 5xx",
                      f"{cc.get('lost', '?')} lost, {cc['5xx']} 5xx",
                      cc.get("lost", 1) == 0 and cc["5xx"] == 0))
        ck = get(s, "conn-10k")
        if ck:
            t.append((f"{s}: 10,000 keep-alive connections held, load p99 < 10 ms",
                      f"p99 {ck['p99_ms']:.2f} ms with {ck.get('held', '?')} held, {ck['errors']} errors",
                      ck["p99_ms"] < 10 and ck["errors"] == 0 and ck.get("held", 0) >= 10000))
            t.append((f"{s}: RSS < 200 MB with 10,000 connections", f"{ck['peak_rss_kb'] / 1024:.0f} MB",
                      ck["peak_rss_kb"] < 200 * 1024))
        info = servers_info.get(s)
        if info:
            t.append((f"{s}: idle RSS < 30 MB", f"{info['idle_rss_kb'] / 1024:.1f} MB",
                      info["idle_rss_kb"] < 30 * 1024))
            if "ready_restart_ms" in info:
                t.append((f"{s}: ready < 100 ms after start (restart on the seeded catalog)",
                          f"{info['ready_restart_ms']:.1f} ms (first start, creating the schema: "
                          f"{info['ready_ms']:.1f} ms)", info["ready_restart_ms"] < 100))
            else:
                t.append((f"{s}: ready < 100 ms after start", f"{info['ready_ms']:.1f} ms",
                          info["ready_ms"] < 100))
    for s, rows in large.items():
        if "error" in rows:
            continue
        empty = rows["empty: namespace of 100 tables, page 1"]
        for k, v in rows.items():
            if k.startswith("1M:"):
                ratio = v.get("x_empty", v["per_sec"] / empty["per_sec"])
                t.append((f"{s}: listing a 100-table page costs the same with 1,000,000 tables "
                          f"({k[4:]}): throughput ≥ 90% of the empty catalog's (median of the "
                          f"rounds' ratios)",
                          f"{ratio:.0%} (p50 {v['p50_ms']:.2f} vs {empty['p50_ms']:.2f} ms)", ratio >= 0.9))
    return t


def full_run():
    """Every server, every workload, the large listing, full durations."""
    return not QUICK and not os.environ.get("BENCH_WORKLOADS") and "BENCH_SERVERS" not in os.environ \
        and os.environ.get("BENCH_SKIP_LARGE") != "1"


def write_report(results, servers, servers_info, large, machine, started, commands):
    tag = machine_tag()
    date = started.strftime("%Y-%m-%d")
    out_dir = os.path.join(BENCH_DIR, "results")
    os.makedirs(out_dir, exist_ok=True)
    # only a full run gets the plain name: a partial one must not replace the full report
    base = os.path.join(out_dir, f"{date}-{tag}" + ("-quick" if QUICK else "" if full_run() else "-partial"))
    targets = evaluate_targets(results, servers_info, large)
    L = []
    L.append(f"# serac benchmark, {started.strftime('%Y-%m-%d %H:%M UTC')}")
    L.append("")
    L.append(f"Written by `make bench` (bench/bench.py). Each workload: {WARMUP} s unmeasured warm-up, then "
             f"{DURATION} s measured. Servers pinned to CPU {SERVER_CPU} (`taskset -c {SERVER_CPU}`), load "
             f"generators to CPU {LOAD_CPU}. Latencies are per request (wrk) or per commit including its "
             "retries (loadgen), from every sample. Errors are non-2xx answers plus socket errors and "
             "timeouts, plus, when a run got fewer answers than it had connections, the connections left unanswered (409s of contended commits are counted apart). Peak RSS is VmHWM over the measured "
             "run (reset before it); CPU s is the server's utime+stime over it.")
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append(f"- CPU: {machine['cpu']}, {machine['cores']} cores; memory {machine['memory']}; "
             f"kernel {machine['kernel']}; {machine['os']}")
    L.append(f"- net.core.somaxconn {machine['somaxconn']}, ip_local_port_range {machine['port_range']}, "
             f"open files limit {machine['nofile']}")
    L.append(f"- load generators: {machine['wrk']} (one thread), loadgen built with {machine['go']}; "
             f"Python {machine['python']} for seeding")
    L.append(f"- load average (1, 5, 15 min) at the start {machine.get('loadavg_start', '?')}, at the end "
             f"{machine['loadavg']}. The machine is not reserved for the benchmark. Two columns of each "
             "table tell how far to trust a row: *load gen CPU s*, the CPU time wrk or loadgen used (near "
             "the run's length means the generator, not the server, was the limit), and *others on CPU 1*, "
             "the time other processes ran on the server's CPU. The latter depresses a row only when the "
             "server wanted the CPU: server CPU s plus others near the run's length means it was starved; "
             "server CPU s well below it means the server was waiting (disk, locks) and others filled "
             "the idle time.")
    L.append("")
    L.append("## Servers")
    L.append("")
    L.append("| server | what | version | ready ms | idle RSS MB | seeding s |")
    L.append("|---|---|---|---:|---:|---:|")
    for s in servers:
        i = servers_info.get(s.name)
        if not i:
            continue
        if "error" in i:
            L.append(f"| {s.name} | {s.label} | {s.version} | — | — | — |")
            continue
        seeds = f"{i['seed_s']:.1f}" if i.get("seed_s") is not None else "—"
        L.append(f"| {s.name} | {s.label} | {s.version} | {ready_cell(i)} | "
                 f"{i['idle_rss_kb'] / 1024:.1f} | {seeds} |")
    L.append("")
    for s in servers:
        i = servers_info.get(s.name, {})
        if i.get("error"):
            L.append(f"- **{s.name}: {i['error']}**")
        elif s.note:
            L.append(f"- {s.name}: {s.note}")
    L.append(f"- serac built with {machine['gcc']}, CMAKE_BUILD_TYPE=Release; PostgreSQL: "
             f"{machine['postgres']} (scripts/pg-test-server.sh: fsync off, synchronous_commit off).")
    L.append("")
    L.append("## Targets (issue 6)")
    L.append("")
    L.append("| target | measured | met |")
    L.append("|---|---|---|")
    for name, val, ok in targets:
        L.append(f"| {name} | {val} | {'yes' if ok else '**no**'} |")
    L.append("")
    L.append("## Workloads")
    for wl in WORKLOADS:
        wid, title = wl[0], wl[1]
        if not any(wid in results.get(s.name, {}) for s in servers):
            continue
        L.append("")
        L.append(f"### {title} (`{wid}`)")
        L.append("")
        L.append(workload_table(wid, results, servers))
    if large:
        L.append("")
        L.append("### Listing a 100-table page: empty catalog vs 1,000,000 tables (serac only)")
        L.append("")
        L.append("The 1,000,000 tables are inserted with one SQL statement straight into the store "
                 "(namespace `big`), each row a copy of a real table's stored row (PostgreSQL: then "
                 "`VACUUM (ANALYZE) objects`); the other rows come from the API. Two servers run "
                 "at once, one on each catalog (PostgreSQL: two databases of one server), and the "
                 f"four cases are measured in {LISTING_ROUNDS} interleaved rounds, the order rotated "
                 "each round, so that the machine's drift falls on both alike; each row is the case's "
                 "median round (all rounds' req/s in the last column, in round order); × empty is the "
                 "median over the rounds of the case's throughput over the empty catalog's in the same "
                 "round. 64 connections. The target counts as met when that is at least 0.90. The plan "
                 "lines show what the store does for one page (PostgreSQL: a prepared statement "
                 "after six executions, as serac runs it, with the buffer pages it touched).")
        for s, rows in large.items():
            L.append("")
            if "error" in rows:
                L.append(f"- {s}: **{rows['error']}**")
                continue
            L.append(f"{s}: SQL seeding {rows['_seed_s']:.1f} s, {rows['_objects']:,} tables in the store; "
                     f"ready {rows['_ready_empty_ms']:.1f} ms empty, {rows['_ready_large_ms']:.1f} ms with "
                     f"1,000,000 tables; idle RSS then {rows['_idle_rss_large_kb'] / 1024:.1f} MB.")
            L.append("")
            L.append("| case | req/s | p50 ms | p99 ms | p99.9 ms | errors | CPU s | × empty | load gen CPU s | "
                     "others on CPU 1, s | stolen s, CPU 0 / 1 | rounds, req/s |")
            L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
            empty = rows["empty: namespace of 100 tables, page 1"]
            for k, v in rows.items():
                if k.startswith("_"):
                    continue
                L.append(f"| {k} | {fmt_rate(v['per_sec'])} | {fmt_ms(v['p50_ms'])} | {fmt_ms(v['p99_ms'])} | "
                         f"{fmt_ms(v['p999_ms'])} | {v['errors']} | {v['cpu_s']:.1f} | "
                         f"{v.get('x_empty', v['per_sec'] / empty['per_sec']):.2f} | "
                         f"{v.get('gen_cpu_s', 0):.1f} | "
                         f"{v.get('other_cpu_s', 0):.1f} | {fmt_stolen(v)} | "
                         f"{', '.join(fmt_rate(x) for x in v.get('rounds_per_sec', []))} |")
            if rows.get("_plans"):
                L.append("")
                for what, plan in rows["_plans"].items():
                    L.append(f"- plan, {what}: `{plan}`")
    L.append("")
    L.append("## Commands")
    L.append("")
    L.append("Server command lines (port and directories differ per run):")
    L.append("")
    L.append("```")
    for s in servers:
        if s.command:
            L.append(s.command)
    L.append("```")
    L.append("")
    L.append("Load commands, one per measured run (paths files hold the request paths, see "
             "bench/bench.py `seed`):")
    L.append("")
    L.append("```")
    L.extend(commands)
    L.append("```")
    L.append("")
    with open(base + ".md", "w") as f:
        f.write(portable("\n".join(L)))
    with open(base + ".json", "w") as f:
        f.write(portable(json.dumps(
            {"started": started.isoformat(), "machine": machine, "servers": servers_info,
             "results": results, "large": large, "duration_s": DURATION, "warmup_s": WARMUP,
             "targets": [{"target": a, "measured": b, "met": c} for a, b, c in targets]},
            indent=1, default=str)))
    return base + ".md"


def portable(text):
    """Reports name no path of the machine they ran on: the repository becomes ".", the scratch
    directory "$BENCH_OUT" and the home directory "~" (Maven's ~/.m2 in classpaths)."""
    for path, name in ((REPO, "."), (OUT, "$BENCH_OUT"), (os.path.expanduser("~"), "~")):
        if path and path != "/":
            text = text.replace(path.rstrip("/") + "/", name + "/").replace(path, name)
    return text


DOC_START = "<!-- bench:summary:start (written by bench/bench.py after a full run) -->"
DOC_END = "<!-- bench:summary:end -->"


def summary_markdown(results, servers_info, large, report_md, machine, started):
    """The summary docs/performance.md carries: per workload, throughput and p99 of each server
    and serac's ratio to the reference, then the targets."""
    names = [n for n in ("serac-sqlite", "serac-pg", "reference") if n in results]
    L = [f"Latest full run: {started.strftime('%Y-%m-%d')}, {machine['cpu']}, {machine['cores']} cores, "
         f"kernel {machine['kernel']}; {DURATION} s per workload after {WARMUP} s of warm-up. Full report: "
         f"[{os.path.relpath(report_md, REPO)}](../{os.path.relpath(report_md, REPO)}).", ""]
    head = "| workload | conns |"
    sep = "|---|---:|"
    for n in names:
        head += f" {n} req/s | {n} p99 ms |"
        sep += "---:|---:|"
    for n in names:
        if n != "reference" and "reference" in names:
            head += f" {n} ÷ reference |"
            sep += "---:|"
    L += [head, sep]
    for wl in WORKLOADS:
        wid = wl[0]
        row = results.get(names[0], {}).get(wid) if names else None
        if not any(wid in results.get(n, {}) for n in names):
            continue
        conns = next((results[n][wid].get("connections") for n in names
                      if "connections" in results[n].get(wid, {})), wl[3])
        line = f"| {wid} | {conns:,} |"
        for n in names:
            r = results[n].get(wid, {})
            if "per_sec" in r:
                line += f" {fmt_rate(r['per_sec'])} | {fmt_ms(r['p99_ms'])} |"
            else:
                line += " — | — |"
        ref = results.get("reference", {}).get(wid, {})
        for n in names:
            if n == "reference" or "reference" not in names:
                continue
            r = results[n].get(wid, {})
            if "per_sec" in r and "per_sec" in ref and ref["per_sec"] > 0:
                line += f" {r['per_sec'] / ref['per_sec']:.1f}× |"
            else:
                line += " — |"
        del row
        L.append(line)
    L.append("")
    L.append("| server | ready ms | idle RSS MB |")
    L.append("|---|---:|---:|")
    for n, i in servers_info.items():
        if "ready_ms" in i:
            L.append(f"| {n} | {ready_cell(i)} | {i['idle_rss_kb'] / 1024:.1f} |")
    for n, rows in large.items():
        if "error" in rows:
            continue
        empty = rows["empty: namespace of 100 tables, page 1"]
        parts = [f"{k[4:]}: {v.get('x_empty', v['per_sec'] / empty['per_sec']):.2f}×"
                 for k, v in rows.items() if k.startswith("1M:")]
        L.append("")
        L.append(f"Listing a 100-table page, {n}: {fmt_rate(empty['per_sec'])} req/s in an empty catalog; "
                 f"with 1,000,000 tables " + "; ".join(parts) + " of that.")
    L.append("")
    L.append("Targets of issue 6:")
    L.append("")
    L.append("| target | measured | met |")
    L.append("|---|---|---|")
    for t in evaluate_targets(results, servers_info, large):
        L.append(f"| {t[0]} | {t[1]} | {'yes' if t[2] else '**no**'} |")
    return "\n".join(L)


def update_docs(summary):
    doc = os.path.join(REPO, "docs", "performance.md")
    try:
        with open(doc) as f:
            text = f.read()
    except OSError:
        return False
    a, b = text.find(DOC_START), text.find(DOC_END)
    if a < 0 or b < a:
        return False
    text = text[:a + len(DOC_START)] + "\n" + summary + "\n" + text[b:]
    with open(doc, "w") as f:
        f.write(text)
    return True


def machine_tag():
    cpu = subprocess.run("lscpu | sed -n 's/^Model name: *//p'", shell=True, capture_output=True,
                         text=True).stdout.strip().lower()
    words = [w for w in cpu.replace("(r)", "").replace("(tm)", "").replace("@", " ").split()
             if w.isalnum() and w not in ("cpu", "processor", "core")]
    return f"{os.cpu_count()}cpu-" + "-".join(words[:3]) if words else f"{os.cpu_count()}cpu"


# ---------------------------------------------------------------------------------------------

def start_pg():
    env = dict(os.environ)
    env["TMPDIR"] = OUT
    r = subprocess.run(["taskset", "-c", SERVER_CPU, os.path.join(REPO, "scripts", "pg-test-server.sh"),
                        "start"], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"pg-test-server.sh: {r.stderr.strip()}")
    vals = {}
    for line in r.stdout.splitlines():
        if line.startswith("export "):
            k, v = line[len("export "):].split("=", 1)
            vals[k] = v
    url, d = vals["SERAC_TEST_PG_URL"], vals["SERAC_TEST_PG_DIR"]
    with open(os.path.join(d, "data", "postmaster.pid")) as f:
        pm = int(f.readline())
    cpus = sorted(os.sched_getaffinity(pm))
    if cpus != [int(SERVER_CPU)]:
        log(f"warning: PostgreSQL runs on CPUs {cpus}, not only {SERVER_CPU}")
    return url, d


def pg_socket_url(url, pg_dir):
    """The URL of the same database through the server's Unix socket (in pg_dir)."""
    u = urlsplit(url)
    return f"postgresql:///{u.path.lstrip('/')}?host={pg_dir}&port={u.port}&user={u.username}"


def second_database(url, name):
    """Creates database `name` on the server of `url`; returns its URL."""
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", f"CREATE DATABASE {name}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"psql: {r.stderr.strip()}")
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def stop_pg(pg_dir):
    subprocess.run([os.path.join(REPO, "scripts", "pg-test-server.sh"), "stop", pg_dir],
                   capture_output=True)


def main():
    started = datetime.now(timezone.utc)
    with open("/proc/loadavg") as f:
        loadavg_start = " ".join(f.read().split()[:3])
    os.makedirs(OUT, exist_ok=True)
    os.chmod(OUT, 0o755)
    wanted = os.environ.get("BENCH_SERVERS", "serac-sqlite,serac-pg,reference,nessie").split(",")
    wl_filter = os.environ.get("BENCH_WORKLOADS")
    workloads = [w for w in WORKLOADS if not wl_filter or w[0] in wl_filter.split(",")]
    results, servers_info, large, commands, servers = {}, {}, {}, [], []
    pg = {}

    def make(name, sub=""):
        wd = os.path.join(OUT, name + sub)
        shutil.rmtree(wd, ignore_errors=True)
        if name == "serac-sqlite":
            return Serac(wd)
        if name == "serac-pg":
            if "url" not in pg:
                pg["url"], pg["dir"] = start_pg()
            return Serac(wd, "postgres", pg["url"], pg["dir"])
        if name == "reference":
            return Reference(wd)
        if name == "nessie":
            return Nessie(wd)
        raise ValueError(name)

    try:
        for name in wanted:
            if name == "nessie" and not (NESSIE_JAR and NESSIE_JAVA):
                log("nessie: no runner jar or no Java 21+; skipped")
                continue
            srv = make(name)
            servers.append(srv)
            results[name] = {}
            try:
                srv.start()
                info = {"ready_ms": srv.ready_ms, "idle_rss_kb": srv.idle_rss_kb, "version": srv.version}
                servers_info[name] = info
                if name == "nessie":
                    for wl in workloads:
                        results[name][wl[0]] = {"skipped": "not run: needs object storage (see Servers)"}
                    continue
                cat = seed(srv)
                info["seed_s"] = cat.seconds
                info["rss_after_seed_kb"] = status_kb(srv.proc.pid, "VmRSS")
                if name != "nessie":
                    # The first start above created the store's schema; a node restarting on a
                    # catalog that exists is what "time to ready" means in operation (rolling
                    # restarts, new nodes). The reference keeps its catalog in a SQLite file too.
                    srv.stop()
                    srv.start()
                    info["ready_restart_ms"] = srv.ready_ms
                for wl in workloads:
                    try:
                        row = run_workload(srv, cat, wl)
                    except Exception as e:  # noqa: BLE001 - a failed workload is reported, not fatal
                        log(f"{name} {wl[0]} FAILED: {e}")
                        row = {"skipped": f"failed: {str(e)[:200]}"}
                    results[name][wl[0]] = row
                    if "command" in row:
                        commands.append(f"# {name} {wl[0]}\n{row['command']}")
            except Exception as e:  # noqa: BLE001
                log(f"{name}: FAILED: {e}")
                servers_info.setdefault(name, {})["error"] = str(e)[:300]
            finally:
                srv.stop()
        if os.environ.get("BENCH_SKIP_LARGE") != "1":
            for name in ("serac-sqlite", "serac-pg"):
                if name not in wanted:
                    continue
                try:
                    wd = os.path.join(OUT, "large-" + name.split("-")[1])
                    shutil.rmtree(wd, ignore_errors=True)
                    if name == "serac-sqlite":
                        def mk(which):
                            return Serac(os.path.join(wd, which))

                        def fn(srv):
                            return seed_large_sqlite(os.path.join(srv.workdir, "data", "catalog.db"))

                        def plan(srv, ns, after):
                            return sqlite_plan(os.path.join(srv.workdir, "data", "catalog.db"), ns, after)
                    else:
                        if "dir" in pg:
                            stop_pg(pg.pop("dir"))
                            pg.pop("url", None)
                        pg["url"], pg["dir"] = start_pg()
                        urls = {"empty": pg["url"], "large": second_database(pg["url"], "serac_large")}

                        def mk(which):
                            srv = Serac(os.path.join(wd, which), "postgres", urls[which], pg["dir"])
                            srv.which = which
                            return srv

                        def fn(srv):
                            return seed_large_pg(pg["dir"], urls[srv.which])

                        def plan(srv, ns, after):
                            return pg_plan(urls[srv.which], ns, after)
                    large[name] = large_listing(mk, fn, plan)
                    shutil.rmtree(wd, ignore_errors=True)  # 1.5 GB on SQLite
                    for k, v in large[name].items():
                        if isinstance(v, dict) and "command" in v:
                            commands.append(f"# {name} listing, {k}\n{v['command']}")
                except Exception as e:  # noqa: BLE001
                    log(f"{name} large listing FAILED: {e}")
                    large[name] = {"error": f"failed: {str(e)[:300]}"}
    finally:
        if "dir" in pg:
            stop_pg(pg["dir"])
    machine = machine_info()
    machine["loadavg_start"] = loadavg_start
    path = write_report(results, servers, servers_info, large, machine, started, commands)
    log(f"report: {path}")
    full = full_run()
    if full or os.environ.get("BENCH_UPDATE_DOCS") == "1":
        if update_docs(summary_markdown(results, servers_info, large, path, machine, started)):
            log("docs/performance.md: summary updated")
    print(path)


if __name__ == "__main__":
    sys.exit(main())
