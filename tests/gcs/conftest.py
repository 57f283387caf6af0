"""Fixtures for the GCS suite: fake-gcs-server and one serac whose default warehouse is gs://.

Run: .venv/bin/python -m pytest tests/gcs -q   (SERAC_TEST_GCS_ENDPOINT=url uses a running
emulator; otherwise scripts/fake-gcs-server.sh starts one, building it first if needed)
"""

import json
import os
import sys
import uuid
from pathlib import Path

import pytest

import gcsenv
from rest_client import RestClient
from serac_server import SeracServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "s3"))
from s3env import RecordingProxy  # noqa: E402  (a plain TCP recorder, nothing S3-specific)

@pytest.fixture(scope="session")
def fake_gcs():
    g = gcsenv.FakeGcs(os.environ.get("SERAC_TEST_GCS_ENDPOINT")).start()
    yield g
    g.stop()


@pytest.fixture(scope="session")
def main_bucket(fake_gcs):
    return fake_gcs.create_bucket("serac-gcs-main")


@pytest.fixture(scope="session")
def token_server():
    t = gcsenv.TokenServer()
    yield t
    t.close()


@pytest.fixture(scope="session")
def bearer():
    token = f"static-bearer-{uuid.uuid4().hex}"
    gcsenv.remember_secret(token)
    return token


@pytest.fixture(scope="session")
def server(fake_gcs, main_bucket, bearer):
    srv = SeracServer(name="serac-gcs", env={"SERAC_TEST_GCS_BEARER": bearer}, extra_args=[
        "--warehouse-location", f"gs://{main_bucket}/wh",
        "--warehouse-storage", json.dumps({"type": "gcs", "endpoint": fake_gcs.url})])
    gcsenv.SERVERS.append(srv)
    srv.start()
    yield srv
    srv.stop_and_check()


@pytest.fixture(scope="session")
def api(server):
    return RestClient(server.url, prefix="default")


@pytest.fixture
def proxy(fake_gcs):
    p = RecordingProxy(fake_gcs.url)
    yield p
    p.close()


@pytest.fixture
def unique():
    return lambda stem: f"{stem}_{uuid.uuid4().hex[:8]}"
