"""Start and stop a live `serac serve` for the black-box suites.

The contract with the CLI:

    serac serve --host 127.0.0.1 --port 0 --data-dir DIR [--log-level L] [other flags]

prints `serac: listening on http://127.0.0.1:PORT ...` as its first stdout line, answers
`GET /health/ready` with 200 once it can serve, logs JSON lines on stderr, and exits 0 within
10 seconds of SIGTERM.

The binary is $SERAC_BIN, or build/serac under the repository root. Each server gets a fresh
temporary data directory (removed on stop) and a log file holding its stderr; the log file is
kept after the run and its tail is attached to failing tests (see tests/conftest.py).

The store: with SERAC_TEST_STORE=postgres, a server started without an explicit `--store` gets
`--store URL` of a fresh database on the session's PostgreSQL (tests/lib/pg_server.py), so no
two servers share state; a caller-given data directory keeps its database across restarts,
as its catalog.db would. Otherwise the server uses its default SQLite store in the data dir.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests

import pg_server

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 40

_URL_RE = re.compile(r"listening on (https?://[^\s]+)")

# Servers that are running right now; the failure hook prints their log tails.
RUNNING = []
_RUNNING_LOCK = threading.Lock()

# PostgreSQL databases of caller-given data directories, so a restart finds its catalog again.
_DATA_DIR_STORES = {}


def serac_bin():
    """The server binary: $SERAC_BIN, or build/serac relative to the repository root."""
    path = os.environ.get("SERAC_BIN")
    if path:
        path = Path(path)
        if not path.is_absolute():
            path = REPO_ROOT / path
    else:
        path = REPO_ROOT / "build" / "serac"
    return path


def log_dir():
    """Where server logs are kept: $SERAC_TEST_LOG_DIR, else <tmp>/serac-test-logs."""
    d = Path(os.environ.get("SERAC_TEST_LOG_DIR") or Path(tempfile.gettempdir()) / "serac-test-logs")
    d.mkdir(parents=True, exist_ok=True)
    return d


def tail(path, lines=LOG_TAIL_LINES):
    """The last `lines` lines of a text file, or a note when it cannot be read."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"(cannot read {path}: {e})"
    return "\n".join(data.splitlines()[-lines:])


class ServerError(RuntimeError):
    pass


class SeracServer:
    """One `serac serve` process on 127.0.0.1 with a fresh data directory.

    Use start() / stop(), or the object as a context manager. After start(), `url` is the base
    URL (no trailing slash), `data_dir` the data directory, `warehouse_dir` the default
    warehouse directory, `log_path` the stderr log file and `store` the store URL passed with
    --store (None for the default SQLite store). `store` given to the constructor is used as is.
    """

    def __init__(self, name="serac", extra_args=(), log_level="debug", data_dir=None, env=None,
                 store=None):
        self.name = name
        self.extra_args = list(extra_args)
        self.store = store
        self.log_level = log_level
        self._own_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else None
        self.env = env
        self.proc = None
        self.url = None
        self.log_path = None
        self.stdout_lines = []
        self._stdout_thread = None
        self._first_line = threading.Event()
        self.exit_code = None

    @property
    def warehouse_dir(self):
        return self.data_dir / "warehouse"

    def _store_args(self):
        """`--store URL` for this server: the caller's store, a fresh PostgreSQL database when
        SERAC_TEST_STORE=postgres, or nothing (the default SQLite store in the data dir)."""
        if any(a == "--store" or a.startswith("--store=") for a in self.extra_args):
            return []
        if self.store is None and pg_server.store_kind() == "postgres":
            if self._own_data_dir:
                self.store = pg_server.session_server().new_database(self.name)
            else:
                key = str(self.data_dir.resolve())
                with _RUNNING_LOCK:
                    url = _DATA_DIR_STORES.get(key)
                if url is None:
                    url = pg_server.session_server().new_database(self.name)
                    with _RUNNING_LOCK:
                        _DATA_DIR_STORES[key] = url
                self.store = url
        return ["--store", self.store] if self.store else []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self):
        binary = serac_bin()
        if not binary.exists():
            raise ServerError(f"server binary not found: {binary} (build it, or set SERAC_BIN)")
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-data-"))
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.log_path = log_dir() / f"{self.name}-{stamp}-{os.getpid()}-{id(self):x}.log"
        cmd = [str(binary), "serve", "--host", "127.0.0.1", "--port", "0",
               "--data-dir", str(self.data_dir)]
        if self.log_level:
            cmd += ["--log-level", self.log_level]
        cmd += self._store_args()
        cmd += self.extra_args
        self.cmd = cmd
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._log_file, env=env, cwd=str(self.data_dir))
        self._stdout_thread = threading.Thread(target=self._read_stdout, daemon=True)
        self._stdout_thread.start()
        with _RUNNING_LOCK:
            RUNNING.append(self)
        try:
            self._wait_ready()
        except BaseException:
            self._kill()
            raise
        return self

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            if self.url is None:
                m = _URL_RE.search(line)
                if m:
                    self.url = m.group(1).rstrip("/")
                self._first_line.set()
        self._first_line.set()

    def _fail(self, why):
        raise ServerError(f"{why}\ncommand: {' '.join(self.cmd)}\nstdout: {self.stdout_lines!r}\n"
                          f"--- stderr tail ({self.log_path}) ---\n{tail(self.log_path)}")

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self._first_line.wait(0.05):
            if time.monotonic() > deadline:
                self._fail(f"no 'listening on' line within {READY_TIMEOUT_S:.0f} s")
        if self.url is None:
            self._fail("the first stdout line does not hold 'listening on http://...'"
                       + (f" (exit code {self.proc.poll()})" if self.proc.poll() is not None else ""))
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail(f"server exited with code {self.proc.returncode} before it was ready")
            try:
                r = requests.get(self.url + "/health/ready", timeout=2)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}: {r.text[:200]}"
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.05)
        self._fail(f"GET /health/ready did not answer 200 within {READY_TIMEOUT_S:.0f} s "
                   f"(last: {last})")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, remove_data=True):
        """SIGTERM the server and wait up to 10 s. Returns (exit_code, elapsed_seconds).

        exit_code is None when the server had to be killed. Removes the data directory unless
        remove_data is False or the directory was given by the caller.
        """
        if self.proc is None:
            return self.exit_code, 0.0
        elapsed = 0.0
        if self.proc.poll() is None:
            t0 = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
                self.exit_code = self.proc.returncode
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_code = None
            elapsed = time.monotonic() - t0
        else:
            self.exit_code = self.proc.returncode
        self._cleanup(remove_data)
        return self.exit_code, elapsed

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._cleanup(True)

    def _cleanup(self, remove_data):
        if self._stdout_thread is not None:
            self._stdout_thread.join(2)
        self._log_file.close()
        with _RUNNING_LOCK:
            if self in RUNNING:
                RUNNING.remove(self)
        if remove_data and self._own_data_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        self.proc = None

    def log_tail(self, lines=LOG_TAIL_LINES):
        return tail(self.log_path, lines) if self.log_path else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop_and_check(self):
        """Stop the server and raise AssertionError unless it exited 0 within 10 seconds."""
        was_alive = self.alive()
        code, elapsed = self.stop()
        if not was_alive:
            raise AssertionError(f"serac had already exited (code {code}) before teardown\n"
                                 f"--- stderr tail ({self.log_path}) ---\n{tail(self.log_path)}")
        if code is None:
            raise AssertionError(f"serac did not exit within {STOP_TIMEOUT_S:.0f} s of SIGTERM "
                                 f"(killed)\n--- stderr tail ({self.log_path}) ---\n"
                                 f"{tail(self.log_path)}")
        if code != 0:
            raise AssertionError(f"serac exited with code {code} after SIGTERM "
                                 f"({elapsed:.2f} s)\n--- stderr tail ({self.log_path}) ---\n"
                                 f"{tail(self.log_path)}")
