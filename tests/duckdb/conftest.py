"""A fresh serac per DuckDB test module, and DuckDB connections attached to it.

DuckDB normally downloads its extensions (iceberg, avro, httpfs) at INSTALL time. Here they come
from PyPI wheels listed in tests/requirements.txt (duckdb-extension-<name>, built for the pinned
duckdb), are installed from those files into a private extension directory, and autoinstall is
off, so the suite never needs the network.
"""

import glob
import importlib
import os

import pytest

from serac_server import SeracServer

EXTENSIONS = ("avro", "httpfs", "iceberg")


def extension_file(name):
    """The .duckdb_extension binary shipped in the duckdb-extension-<name> wheel."""
    import duckdb

    mod = importlib.import_module(f"duckdb_extension_{name}")
    pattern = os.path.join(os.path.dirname(mod.__file__), "extensions", "*",
                           f"{name}.duckdb_extension")
    found = sorted(glob.glob(pattern))
    assert found, f"no {name}.duckdb_extension in the duckdb-extension-{name} wheel ({pattern})"
    want = "v" + duckdb.__version__
    exact = [f for f in found if os.path.basename(os.path.dirname(f)) == want]
    assert exact, (f"duckdb-extension-{name} ships {found}, not a build for duckdb "
                   f"{duckdb.__version__}: pin matching versions in tests/requirements.txt")
    return exact[0]


@pytest.fixture(scope="session")
def extension_dir(tmp_path_factory):
    """A private DuckDB extension directory holding the wheel-shipped extensions."""
    import duckdb

    d = str(tmp_path_factory.mktemp("duckdb-ext"))
    con = duckdb.connect(config={"autoinstall_known_extensions": "false",
                                 "autoload_known_extensions": "false",
                                 "extension_directory": d})
    for name in EXTENSIONS:
        con.execute(f"INSTALL '{extension_file(name)}'")
    con.close()
    return d


@pytest.fixture(scope="module")
def server():
    srv = SeracServer(name="serac-duckdb", log_level="info").start()
    yield srv
    srv.stop_and_check()


@pytest.fixture
def duck(server, extension_dir):
    """connect() -> a new DuckDB connection with serac attached as catalog `serac`."""
    import duckdb

    opened = []

    def connect():
        con = duckdb.connect(config={"autoinstall_known_extensions": "false",
                                     "autoload_known_extensions": "false",
                                     "extension_directory": extension_dir})
        for name in EXTENSIONS:
            con.execute(f"LOAD {name}")
        con.execute(f"ATTACH 'default' AS serac (TYPE iceberg, ENDPOINT '{server.url}', "
                    "AUTHORIZATION_TYPE 'none')")
        opened.append(con)
        return con

    yield connect
    for con in opened:
        con.close()


@pytest.fixture
def pyiceberg_catalog(server):
    from pyiceberg.catalog.rest import RestCatalog

    return RestCatalog("serac", uri=server.url, warehouse="default")
