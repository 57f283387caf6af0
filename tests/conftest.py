"""Shared pytest hooks for the Python suites.

On a failing test, the tail of the stderr log of every serac server still running is attached
to the report, so a failure shows what the server said about it.
"""

import os

import pytest

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
