"""Shared pytest hooks for the Python suites.

On a failing test, the tail of the stderr log of every serac server still running is attached
to the report, so a failure shows what the server said about it.

SERAC_TEST_STORE=postgres runs every serac on PostgreSQL: one server for the whole session
(scripts/pg-test-server.sh, started before the first test, stopped at the end even when tests
fail), a fresh database per serac (see tests/lib/serac_server.py).
"""

import os

import pytest

import pg_server
import serac_server

KNOWN_FAILURES = os.path.join(os.path.dirname(__file__), "known-failures.txt")


def _known_failures():
    """Pytest node ids listed in tests/known-failures.txt, with their reasons."""
    known = {}
    with open(KNOWN_FAILURES, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                raise pytest.UsageError(f"known-failures.txt: needs suite, test and reason: {line}")
            known[parts[1]] = parts[2]
    return known


def pytest_collection_modifyitems(config, items):
    known = _known_failures()
    for item in items:
        node = item.nodeid if item.nodeid.startswith("tests/") else "tests/" + item.nodeid
        reason = known.get(node)
        if reason:
            item.add_marker(pytest.mark.xfail(reason=f"known failure: {reason}", strict=True))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for srv in list(serac_server.RUNNING):
            report.sections.append(
                (f"serac stderr tail: {srv.log_path}", srv.log_tail()))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    try:
        if pg_server.store_kind() == "postgres":
            pg_server.session_server()
    except pg_server.PgError as e:
        raise pytest.UsageError(f"serac store: {e}") from e


def pytest_report_header(config):
    try:
        kind = pg_server.store_kind()
    except pg_server.PgError as e:
        return f"serac store: {e}"
    if kind == "postgres":
        try:
            return f"serac store: postgres, a database per server on " \
                   f"{pg_server.session_server().url}"
        except pg_server.PgError as e:
            return f"serac store: postgres, not started: {e}"
    return "serac store: sqlite (default)"


def pytest_sessionfinish(session, exitstatus):
    pg_server.stop_session_server()
