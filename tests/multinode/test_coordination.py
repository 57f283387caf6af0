"""Coordination between nodes on one PostgreSQL: the background-jobs lease (exactly one node
holds it; when the holder dies another node takes it) and change hints (a commit on one node is
heard by the others through LISTEN/NOTIFY, and is visible on their next load)."""

import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

import requests

from serac_server import SeracServer


def _nodes(pg, count=3):
    store = pg.new_database("serac_coord")
    wh = Path(tempfile.mkdtemp(prefix="serac-coord-wh-"))
    nodes = [SeracServer(name=f"coord{i}", log_level="info", store=store,
                         extra_args=["--warehouse-location", wh.as_uri(),
                                     "--job-interval-ms", "200"])
             for i in range(count)]
    for n in nodes:
        n.start()
    return nodes, wh


def _ready(url):
    r = requests.get(f"{url}/health/ready", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def _holders(nodes, alive):
    return [i for i in alive if _ready(nodes[i].url)["jobs_lease"]]


def _wait_for_one_holder(nodes, alive, timeout=10.0):
    deadline = time.time() + timeout
    holders = []
    while time.time() < deadline:
        holders = _holders(nodes, alive)
        if len(holders) == 1:
            return holders[0]
        time.sleep(0.1)
    raise AssertionError(f"expected exactly one lease holder among {alive}, saw {holders}")


def test_jobs_lease_moves_when_holder_dies(pg):
    nodes, wh = _nodes(pg)
    killed = None
    try:
        alive = [0, 1, 2]
        holder = _wait_for_one_holder(nodes, alive)
        # Stays put while the holder lives.
        time.sleep(1.0)
        assert _holders(nodes, alive) == [holder]
        nodes[holder].proc.send_signal(signal.SIGKILL)
        nodes[holder].proc.wait()
        killed = holder
        alive.remove(holder)
        new = _wait_for_one_holder(nodes, alive, timeout=15.0)
        assert new != holder
    finally:
        for i, n in enumerate(nodes):
            if i == killed:
                n.stop()
            else:
                n.stop_and_check()
        shutil.rmtree(wh, ignore_errors=True)


def test_commit_on_one_node_is_heard_and_seen_on_others(pg):
    nodes, wh = _nodes(pg)
    try:
        a, b = nodes[0].url, nodes[1].url
        ns = f"coord_{uuid.uuid4().hex[:8]}"
        before = _ready(b)["change_hints"]
        r = requests.post(f"{a}/v1/default/namespaces", json={"namespace": [ns]}, timeout=10)
        assert r.status_code == 200, r.text
        schema = {"type": "struct", "fields": [
            {"id": 1, "name": "id", "required": True, "type": "long"}]}
        r = requests.post(f"{a}/v1/default/namespaces/{ns}/tables",
                          json={"name": "t", "schema": schema}, timeout=10)
        assert r.status_code == 200, r.text
        # Node B loads what node A created, with no delay: nothing on B can be stale.
        r = requests.get(f"{b}/v1/default/namespaces/{ns}/tables/t", timeout=10)
        assert r.status_code == 200, r.text
        loc = r.json()["metadata-location"]
        r = requests.post(f"{a}/v1/default/namespaces/{ns}/tables/t", json={
            "requirements": [], "updates": [
                {"action": "set-properties", "updates": {"k": "v"}}]}, timeout=10)
        assert r.status_code == 200, r.text
        r = requests.get(f"{b}/v1/default/namespaces/{ns}/tables/t", timeout=10)
        assert r.json()["metadata-location"] != loc
        assert r.json()["metadata"]["properties"]["k"] == "v"
        # The hints of those three commits reach B's listener.
        deadline = time.time() + 10
        while time.time() < deadline and _ready(b)["change_hints"] < before + 3:
            time.sleep(0.1)
        assert _ready(b)["change_hints"] >= before + 3
    finally:
        for n in nodes:
            n.stop_and_check()
        shutil.rmtree(wh, ignore_errors=True)
