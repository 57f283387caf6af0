"""A fresh serac per PyIceberg test module, and a factory for RestCatalog clients."""

import pytest

from serac_server import SeracServer


@pytest.fixture(scope="module")
def server():
    srv = SeracServer(name="serac-pyiceberg", log_level="info").start()
    yield srv
    srv.stop_and_check()


@pytest.fixture(scope="module")
def new_catalog(server):
    """new_catalog() -> a new pyiceberg RestCatalog bound to the module's server."""
    from pyiceberg.catalog.rest import RestCatalog

    count = [0]

    def make():
        count[0] += 1
        return RestCatalog(f"serac{count[0]}", uri=server.url, warehouse="default")

    return make
