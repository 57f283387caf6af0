"""Fixtures for the API suite: one live serac for the session, plus helpers.

Tests share the session server and stay independent by creating namespaces with unique names.
Tests that need special server flags start their own server with `start_server(...)`.
"""

import pytest

from rest_client import RestClient
from serac_server import SeracServer

import helpers


@pytest.fixture(scope="session")
def server():
    srv = SeracServer(name="serac-api").start()
    yield srv
    srv.stop_and_check()


@pytest.fixture(scope="session")
def api(server):
    return RestClient(server.url, prefix="default")


@pytest.fixture
def start_server():
    """Factory: start_server(*flags) -> SeracServer; each one is stopped (and checked) at the end."""
    started = []

    def start(*flags, name="serac-api-extra"):
        srv = SeracServer(name=name, extra_args=flags).start()
        started.append(srv)
        return srv

    yield start
    errors = []
    for srv in started:
        try:
            srv.stop_and_check()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)


@pytest.fixture
def ns(api):
    """A fresh top-level namespace (list of levels)."""
    levels = [helpers.unique("ns")]
    api.create_namespace(levels)
    return levels


@pytest.fixture
def table(api, ns):
    """A fresh v2 table in a fresh namespace: a helpers.TableRef."""
    name = helpers.unique("tbl")
    r = api.create_table(ns, name)
    return helpers.TableRef(ns, name, r.body)


@pytest.fixture(autouse=True)
def _server_still_up(request):
    """After every test that used the session server, it must still be running."""
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        assert srv.alive(), f"serac exited during the test\n{srv.log_tail()}"
