"""Fixtures for the S3 suite: one moto (authentication on) and one serac for the session.

The session serac's default warehouse lives on S3 (s3://<bucket>/wh) and gets its keys as `env:`
references: the key values are only in serac's environment, never on its command line or in the
store. Every serac started here is remembered (s3env.SERVERS) so the last test can grep all their output
for the secrets the session used.

Run: .venv/bin/python -m pytest tests/s3 -q     (SERAC_TEST_S3_ENDPOINT=url uses a running moto)
"""

import uuid

import pytest

import s3env
from rest_client import RestClient


@pytest.fixture(scope="session")
def moto():
    m = s3env.session_moto()
    yield m
    m.stop()


@pytest.fixture(scope="session")
def main_bucket(moto):
    return moto.create_bucket("serac-main")


@pytest.fixture(scope="session")
def server(moto, main_bucket):
    srv = s3env.start_serac(moto, "serac-s3", f"s3://{main_bucket}/wh",
                      s3env.storage_settings(moto, **{"remote-signing": False}))
    yield srv
    srv.stop_and_check()


@pytest.fixture(scope="session")
def api(server):
    return RestClient(server.url, prefix="default")


@pytest.fixture(scope="session")
def mgmt(server):
    return s3env.Management(server.url)


@pytest.fixture(scope="session")
def new_warehouse(moto, mgmt):
    """new_warehouse(stem, **settings) -> (name, bucket): a fresh bucket and a warehouse on it,
    created through the management API (its storage probe must pass)."""

    def make(stem, **settings):
        bucket = moto.create_bucket(f"serac-{stem}")
        name = f"{stem}_{uuid.uuid4().hex[:6]}"
        r = mgmt.create(name, f"s3://{bucket}/wh", s3env.storage_settings(moto, **settings))
        assert r.status_code == 201, r.text
        return name, bucket

    return make


@pytest.fixture(scope="session")
def new_catalog(server):
    """new_catalog(warehouse, {property: value}) -> a PyIceberg RestCatalog on the session
    serac. It is given no S3 keys (nor endpoint) unless the caller passes them."""
    from pyiceberg.catalog.rest import RestCatalog

    count = [0]

    def make(warehouse="default", props=None):
        count[0] += 1
        return RestCatalog(f"s3cat{count[0]}", uri=server.url, warehouse=warehouse,
                           **(props or {}))

    return make


@pytest.fixture
def unique():
    return lambda stem: f"{stem}_{uuid.uuid4().hex[:8]}"
