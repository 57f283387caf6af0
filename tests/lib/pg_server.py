"""A throwaway PostgreSQL for the black-box suites, through scripts/pg-test-server.sh.

The script's contract: run without arguments, it starts a fresh PostgreSQL (initdb in a temporary
directory, a free port) and prints `export SERAC_TEST_PG_URL=postgres://...` and
`export SERAC_TEST_PG_DIR=DIR` (the server's directory, its data directory is DIR/data);
`pg-test-server.sh stop DIR` stops that server and removes DIR, `halt DIR` stops it keeping its
data and `resume DIR` starts it again on the same port.

PgServer wraps one such server: start(), stop(), new_database() (a fresh, empty database and
its URL, so serac servers never see each other's state) and restart() (a fast restart of the
same server, optionally held down for a while, for outage tests).

session_server() is the one server of a test session when SERAC_TEST_STORE=postgres (started on
first use, stopped by stop_session_server() or at interpreter exit).

Used as a program (for the shell scripts): `pg_server.py start` runs the script and prints the
URL and the server's directory on two lines (stop it with `pg-test-server.sh stop DIR`);
`pg_server.py createdb URL NAME` creates a database and prints its URL.
"""

import atexit
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0
CTL_TIMEOUT_S = 60.0


class PgError(RuntimeError):
    pass


def store_kind():
    """The store the suites run on: 'sqlite' (default) or 'postgres' ($SERAC_TEST_STORE)."""
    kind = (os.environ.get("SERAC_TEST_STORE") or "sqlite").strip().lower()
    if kind in ("", "sqlite"):
        return "sqlite"
    if kind in ("postgres", "postgresql", "pg"):
        return "postgres"
    raise PgError(f"SERAC_TEST_STORE={kind!r}: expected sqlite or postgres")


def script_path():
    """scripts/pg-test-server.sh, or $SERAC_TEST_PG_SCRIPT."""
    return Path(os.environ.get("SERAC_TEST_PG_SCRIPT") or REPO_ROOT / "scripts" /
                "pg-test-server.sh")


def database_url(url, dbname):
    """`url` with its database (path) replaced by `dbname`; user, host, port and query kept."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def _quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def _psql_bin():
    found = shutil.which("psql")
    if found:
        return found
    for cand in sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), reverse=True):
        return str(cand)
    raise PgError("psql not found")


def psql(url, sql, timeout=CTL_TIMEOUT_S):
    """Run one SQL command with psql against `url`; returns stdout, raises PgError on failure."""
    cmd = [_psql_bin(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise PgError(f"psql timed out after {timeout:.0f} s: {sql}") from e
    if r.returncode != 0:
        raise PgError(f"psql failed ({r.returncode}) on {sql!r}: {r.stderr.strip()}")
    return r.stdout


def create_database(url, dbname):
    """CREATE DATABASE `dbname` on the server `url` points at; returns the new database's URL."""
    psql(url, f"CREATE DATABASE {_quote_ident(dbname)}")
    return database_url(url, dbname)


def _parse_start_output(text):
    """(url, dir) from the script's `export SERAC_TEST_PG_URL=...` / `SERAC_TEST_PG_DIR=...`."""
    found = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(?:export\s+)?(SERAC_TEST_PG_URL|SERAC_TEST_PG_DIR)=(.*)$", line)
        if m:
            words = shlex.split(m.group(2))
            found[m.group(1)] = words[0] if words else ""
    url, pg_dir = found.get("SERAC_TEST_PG_URL"), found.get("SERAC_TEST_PG_DIR")
    if not url or not pg_dir:
        raise PgError(f"no SERAC_TEST_PG_URL and SERAC_TEST_PG_DIR in the output of "
                      f"{script_path()}:\n{text}")
    return url, pg_dir


class PgServer:
    """One throwaway PostgreSQL started by scripts/pg-test-server.sh.

    After start(): `url` is the URL the script printed, `dir` the server's directory (the
    script's SERAC_TEST_PG_DIR) and `data_dir` its PostgreSQL data directory (dir/data).
    """

    def __init__(self):
        self.url = None
        self.dir = None
        self._lock = threading.Lock()
        self._count = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self):
        script = script_path()
        if not script.exists():
            raise PgError(f"{script} not found: it starts the test PostgreSQL")
        try:
            r = subprocess.run(["sh", str(script), "start"], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=START_TIMEOUT_S,
                               cwd=str(REPO_ROOT))
        except subprocess.TimeoutExpired as e:
            raise PgError(f"{script} did not finish within {START_TIMEOUT_S:.0f} s "
                          f"(does the server keep its stdout open?)") from e
        if r.returncode != 0:
            raise PgError(f"{script} failed with code {r.returncode}:\n{r.stdout}\n{r.stderr}")
        self.url, self.dir = _parse_start_output(r.stdout)
        return self

    @property
    def data_dir(self):
        return str(Path(self.dir) / "data") if self.dir else None

    def _script(self, cmd):
        r = subprocess.run(["sh", str(script_path()), cmd, self.dir], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=CTL_TIMEOUT_S,
                           cwd=str(REPO_ROOT))
        if r.returncode != 0:
            raise PgError(f"pg-test-server.sh {cmd} {self.dir} failed with code "
                          f"{r.returncode}:\n{r.stdout}\n{r.stderr}")

    def stop(self):
        """Stop the server and remove its directory (the script's `stop DIR`)."""
        if self.dir is None:
            return
        try:
            self._script("stop")
        finally:
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- databases ------------------------------------------------------------------------

    def new_database(self, stem="serac"):
        """Create a fresh empty database and return its URL."""
        with self._lock:
            self._count += 1
            n = self._count
        stem = re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_")[:40] or "serac"
        return create_database(self.url, f"{stem}_{os.getpid()}_{n}")

    def query(self, sql):
        """Run SQL on the database the script's URL names; returns psql's unaligned output."""
        return psql(self.url, sql)

    # -- outages --------------------------------------------------------------------------

    def _pg_ctl(self, *args, timeout=CTL_TIMEOUT_S):
        version = (Path(self.data_dir) / "PG_VERSION").read_text().strip()
        pg_ctl = os.environ.get("PGBIN", f"/usr/lib/postgresql/{version}/bin") + "/pg_ctl"
        cmd = [pg_ctl, "-D", self.data_dir, *args]
        # PostgreSQL refuses to run as root: act as the owner of the data directory.
        owner = os.stat(self.data_dir).st_uid
        if os.geteuid() != owner:
            import pwd

            cmd = ["runuser", "-u", pwd.getpwuid(owner).pw_name, "--", *cmd]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout, cwd=self.dir)
        if r.returncode != 0:
            raise PgError(f"{' '.join(cmd)} failed with code {r.returncode}:\n{r.stdout}\n"
                          f"{r.stderr}")
        return r.stdout

    def restart(self, hold_s=0.0, on_down=None, on_up=None):
        """Restart the server in fast mode: every connection dropped, every session gone.

        hold_s == 0: one `pg_ctl restart -m fast`. Otherwise the script's `halt` (pg_ctl stop
        -m fast), hold_s seconds down, and `resume` on the same port, so the outage lasts long
        enough to be observed. on_down() is called once the server is down, on_up() once it
        accepts connections again. Returns (seconds down, seconds for the whole restart).
        """
        t0 = time.monotonic()
        if hold_s <= 0:
            self._pg_ctl("restart", "-m", "fast", "-w", "-t", "30", "-l",
                         str(Path(self.dir) / "server.log"))
            t = time.monotonic() - t0
            if on_up:
                on_up()
            return t, t
        self._script("halt")
        down = time.monotonic()
        if on_down:
            on_down()
        time.sleep(hold_s)
        self._script("resume")
        t1 = time.monotonic()
        if on_up:
            on_up()
        return t1 - down, t1 - t0


_SESSION = None
_SESSION_LOCK = threading.Lock()


def session_server():
    """The test session's PostgreSQL, started on first use and stopped at exit."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            srv = PgServer().start()
            atexit.register(srv.stop)
            _SESSION = srv
        return _SESSION


def stop_session_server():
    """Stop the session's PostgreSQL if one was started (idempotent)."""
    global _SESSION
    with _SESSION_LOCK:
        srv, _SESSION = _SESSION, None
    if srv is not None:
        srv.stop()


def main(argv):
    try:
        if len(argv) == 2 and argv[1] == "start":
            srv = PgServer().start()
            print(srv.url)
            print(srv.dir)
            return 0
        if len(argv) == 4 and argv[1] == "createdb":
            print(create_database(argv[2], argv[3]))
            return 0
    except PgError as e:
        print(f"pg_server: {e}", file=sys.stderr)
        return 1
    print("usage: pg_server.py start | createdb URL NAME", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
