"""Shared pytest hooks for the Python suites.

On a failing test, the tail of the stderr log of every serac server still running is attached
to the report, so a failure shows what the server said about it.
"""

import pytest

import serac_server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for srv in list(serac_server.RUNNING):
            report.sections.append(
                (f"serac stderr tail: {srv.log_path}", srv.log_tail()))
