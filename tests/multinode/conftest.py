"""Fixtures for the multi-node suite: one PostgreSQL, several `serac serve` nodes sharing it.

Every node of a cluster gets the same `--store` (one database on the module's PostgreSQL) and
the same `--warehouse-location` (one file warehouse), and its own port, data directory and log.
This suite always runs on PostgreSQL, whatever SERAC_TEST_STORE says.

A test's ("torture", line) user properties are printed in the terminal summary (no -s needed).
"""

import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from pg_server import PgServer
from serac_server import SeracServer

class Cluster:
    """`count` serac nodes on one store and one warehouse directory."""

    def __init__(self, store, count, name="serac-node", log_level="info"):
        self.store = store
        self.warehouse = Path(tempfile.mkdtemp(prefix="serac-multinode-wh-"))
        self.nodes = [SeracServer(name=f"{name}{i}", log_level=log_level, store=store,
                                  extra_args=["--warehouse-location", self.warehouse.as_uri()])
                      for i in range(count)]

    def start(self):
        for node in self.nodes:
            node.start()
        return self

    @property
    def urls(self):
        return [n.url for n in self.nodes]

    def kill(self, i):
        """SIGKILL node i and reap it."""
        proc = self.nodes[i].proc
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self, killed=()):
        """Stop every node; those not in `killed` must exit 0 within 10 s of SIGTERM."""
        errors = []
        for i, node in enumerate(self.nodes):
            try:
                if i in killed:
                    node.stop()
                elif node.proc is not None:
                    node.stop_and_check()
            except AssertionError as e:
                errors.append(f"node {i}: {e}")
        shutil.rmtree(self.warehouse, ignore_errors=True)
        assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def pg():
    srv = PgServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def cluster(pg):
    """cluster(count) -> a started Cluster on a fresh database; stopped at the end of the test.

    A test that kills nodes on purpose lists them in cluster.killed.
    """
    made = []

    def make(count=3):
        c = Cluster(pg.new_database("serac_multinode"), count)
        c.killed = set()
        made.append(c)
        return c.start()

    yield make
    for c in made:
        c.stop(killed=c.killed)


def pytest_terminal_summary(terminalreporter):
    lines = []
    for reports in terminalreporter.stats.values():
        for rep in reports:
            if getattr(rep, "when", None) != "call":
                continue
            lines += [f"{rep.nodeid.split('::')[-1]}: {v}"
                      for k, v in getattr(rep, "user_properties", ()) if k == "torture"]
    if lines:
        terminalreporter.section("multi-node torture report")
        for line in lines:
            terminalreporter.write_line(line)
