"""The object store failing under serac: a commit while S3 hangs or is gone.

A private moto and serac (the session's must not be disturbed). The S3 timeout is short so a hung
store shows up in seconds. What must hold: the commit fails with a 5xx that names the warehouse,
and the table's metadata pointer does not move (load after recovery shows the old
metadata-location); serac itself keeps running and recovers without a restart.
"""

import time

import pytest

import s3env
from rest_client import RestClient

WH = "faultwh"


@pytest.fixture(scope="module")
def world():
    m = s3env.MotoS3("moto-fault").start()
    bucket = m.create_bucket("serac-fault")
    srv = s3env.start_serac(m, "serac-s3-fault", f"s3://{bucket}/wh",
                            s3env.storage_settings(m, **{"timeout-ms": 1500}),
                            extra_args=["--warehouse", WH])
    yield m, bucket, srv, RestClient(srv.url, prefix=WH)
    try:
        srv.stop_and_check()
    finally:
        m.stop()


def _set(api, ns, name, k, v, **kw):
    return api.commit(ns, name, [], [{"action": "set-properties", "updates": {k: v}}], **kw)


def test_commit_while_the_store_hangs(world):
    m, bucket, srv, api = world
    ns = ["hang"]
    api.create_namespace(ns)
    api.create_table(ns, "t")
    before = _set(api, ns, "t", "step", "1").body
    assert m.exists(before["metadata-location"])

    m.pause()
    try:
        t0 = time.monotonic()
        r = _set(api, ns, "t", "step", "2", expect=None, allow_5xx=True, timeout=90)
        took = time.monotonic() - t0
        assert r.status in (500, 502, 503, 504), r
        assert WH in r.error["message"], r.error
        assert took < 60, f"a hung store held the commit {took:.1f} s"
        if r.status == 503:
            assert r.headers.get("Retry-After"), "a 503 tells the client when to retry"
        # serac is still there and answers what needs no storage
        assert srv.alive()
        assert api.get(f"{api.p}/namespaces").status == 200
    finally:
        m.resume()

    after = api.load_table(ns, "t").body
    assert after["metadata-location"] == before["metadata-location"], \
        "a failed commit must not move the metadata pointer"
    assert after["metadata"]["properties"]["step"] == "1"
    # and the next commit works without a restart
    again = _set(api, ns, "t", "step", "3").body
    assert again["metadata-location"] != before["metadata-location"]
    assert m.exists(again["metadata-location"])
    assert api.load_table(ns, "t").body["metadata"]["properties"]["step"] == "3"


def test_commit_when_the_store_is_gone(world):
    """Runs last in this module: it stops the module's moto for good."""
    m, bucket, srv, api = world
    ns = ["gone"]
    api.create_namespace(ns)
    api.create_table(ns, "t")
    _set(api, ns, "t", "k", "v1")
    m.stop()
    r = _set(api, ns, "t", "k", "v2", expect=None, allow_5xx=True, timeout=90)
    assert r.status in (500, 502, 503, 504), r
    assert WH in r.error["message"] and "unreachable" in r.error["message"], r.error
    assert srv.alive()
    assert api.get(f"{api.p}/namespaces").status == 200
    listed = api.get(f"{api.ns_url(ns)}/tables").body["identifiers"]
    assert {"namespace": ns, "name": "t"} in listed, "the catalog itself is untouched"
