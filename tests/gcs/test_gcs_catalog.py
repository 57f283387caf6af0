"""serac with gs:// warehouses on fake-gcs-server: what it writes, where, and with which token.

Objects are checked through the emulator's JSON API, never through serac.
"""

import json
import time

import pyarrow as pa
import pytest
import requests

import gcsenv
from rest_client import RestClient
from s3env import RecordingProxy

VEND = {"X-Iceberg-Access-Delegation": "vended-credentials"}
SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "type": "long", "required": False},
    {"id": 2, "name": "v", "type": "string", "required": False}]}


def _mgmt(server):
    return f"{server.url}/management/v1/warehouses"


def _set(api, ns, name, k, v):
    return api.commit(ns, name, [], [{"action": "set-properties", "updates": {k: v}}]).body


def test_table_life_cycle_on_gcs(api, fake_gcs, main_bucket, unique):
    ns = [unique("gns")]
    api.create_namespace(ns)
    created = api.create_table(ns, "t", schema=SCHEMA).body
    loc = created["metadata"]["location"]
    assert loc == f"gs://{main_bucket}/wh/{ns[0]}/t", loc
    prefix = gcsenv.split_uri(loc)[1] + "/"
    first = created["metadata-location"]
    assert fake_gcs.names_under(main_bucket, prefix) == [gcsenv.split_uri(first)[1]]
    assert json.loads(fake_gcs.read(first))["table-uuid"] == created["metadata"]["table-uuid"]
    assert created["config"].get("gcs.service.host") == fake_gcs.url

    # commits write new metadata files in the bucket; load returns the newest
    second = _set(api, ns, "t", "step", "1")
    third = _set(api, ns, "t", "step", "2")
    assert len({first, second["metadata-location"], third["metadata-location"]}) == 3
    names = fake_gcs.names_under(main_bucket, prefix + "metadata/")
    assert len([n for n in names if n.endswith(".metadata.json")]) == 3, names
    on_gcs = json.loads(fake_gcs.read(third["metadata-location"]))
    assert on_gcs["properties"]["step"] == "2"
    assert [e["metadata-file"] for e in on_gcs["metadata-log"]] == \
        [first, second["metadata-location"]]
    loaded = api.load_table(ns, "t").body
    assert loaded["metadata-location"] == third["metadata-location"]

    # drop without purge keeps the objects; register brings the table back from them
    assert api.delete(api.table_url(ns, "t")).status == 204
    assert len(fake_gcs.names_under(main_bucket, prefix)) == 3
    r = api.post(f"{api.ns_url(ns)}/register",
                 json={"name": "back", "metadata-location": third["metadata-location"]})
    assert r.status == 200, r
    assert r.body["metadata"]["properties"]["step"] == "2"
    assert api.load_table(ns, "back").body["metadata-location"] == third["metadata-location"]
    # registering a file that is not there is a client error
    r = api.post(f"{api.ns_url(ns)}/register", json={
        "name": "ghost", "metadata-location": f"gs://{main_bucket}/wh/none/00000-x.metadata.json"})
    assert r.status in (400, 404), r

    # purge removes every object under the table's location, and only those
    other = api.create_table(ns, "other", schema=SCHEMA).body
    other_prefix = gcsenv.split_uri(other["metadata"]["location"])[1] + "/"
    r = api.delete(api.table_url(ns, "back"), params={"purgeRequested": "true"})
    assert r.status == 204, r
    assert gcsenv.wait_until(lambda: not fake_gcs.names_under(main_bucket, prefix), 15), \
        fake_gcs.names_under(main_bucket, prefix)
    assert fake_gcs.names_under(main_bucket, other_prefix), "purge must not touch other tables"


def test_names_needing_escapes(api, fake_gcs, main_bucket, unique):
    """Object names are percent-encoded whole in the JSON API's paths: spaces, '+', '%', unicode."""
    ns = [unique("odd") + " sp+ace%é"]
    api.create_namespace(ns)
    t = api.create_table(ns, "t +%é", schema=SCHEMA).body
    name = gcsenv.split_uri(t["metadata-location"])[1]
    assert f"{ns[0]}/t +%é/metadata/" in name, name
    assert fake_gcs.read(t["metadata-location"]) is not None
    after = _set(api, ns, "t +%é", "k", "v")
    assert json.loads(fake_gcs.read(after["metadata-location"]))["properties"]["k"] == "v"
    assert api.delete(api.table_url(ns, "t +%é"), params={"purgeRequested": "true"}).status == 204
    prefix = gcsenv.split_uri(t["metadata"]["location"])[1] + "/"
    assert gcsenv.wait_until(lambda: not fake_gcs.names_under(main_bucket, prefix), 15)


@pytest.fixture(scope="module")
def sa_warehouse(server, fake_gcs, token_server):
    """A warehouse authenticated with a service-account key (a file: reference), vending its
    access token. serac reaches the emulator through a recording proxy (endpoint); clients are
    told the emulator's own address (client-endpoint): pyarrow's GCS client may hold the GIL
    while it waits on the network, which would stall a proxy running in this process."""
    proxy = RecordingProxy(fake_gcs.url)
    key_file = gcsenv.write_secret_file(token_server.service_account_json())
    bucket = fake_gcs.create_bucket("serac-gcs-sa")
    name = f"gsa_{int(time.time() * 1000) % 100000}"
    r = requests.post(_mgmt(server), json={
        "name": name, "location": f"gs://{bucket}/wh",
        "storage": {"type": "gcs", "endpoint": proxy.url, "client-endpoint": fake_gcs.url,
                    "gcs-credentials": f"file:{key_file}", "vended-credentials": "static"}},
        timeout=60)
    assert r.status_code == 201, r.text
    assert r.json()["storage"]["gcs-credentials"] == f"file:{key_file}"
    yield name, bucket, proxy
    proxy.close()


def _auth_headers(proxy):
    return [h.get("authorization") for _, h, _ in proxy.requests()]


def test_service_account_token_is_used_and_vended(server, fake_gcs, token_server, sa_warehouse):
    name, bucket, proxy = sa_warehouse
    # the create probe already needed a token: serac's JWT passed the token server's checks
    assert token_server.issued, f"no token issued; refusals: {token_server.refused}"
    assert not token_server.refused, token_server.refused
    claims = token_server.claims[0]
    assert claims["iss"] == token_server.email and claims["aud"] == token_server.url
    token = token_server.issued[-1]
    auth = _auth_headers(proxy)
    assert auth and all(a == f"Bearer {token}" for a in auth), auth

    c = RestClient(server.url, prefix=name)
    c.create_namespace(["n"])
    r = c.post(f"{c.ns_url(['n'])}/tables", json={"name": "t", "schema": SCHEMA}, headers=VEND)
    assert r.status == 200, r
    loc = r.body["metadata"]["location"]
    creds = [x for x in r.body["storage-credentials"] if loc.startswith(x["prefix"])]
    assert len(creds) == 1, r.body["storage-credentials"]
    vended = creds[0]["config"]
    assert vended["gcs.oauth2.token"] in token_server.issued
    expires = int(vended["gcs.oauth2.token-expires-at"])
    assert time.time() * 1000 + 3_000_000 < expires <= time.time() * 1000 + 3_601_000
    assert r.body["config"]["gcs.service.host"] == fake_gcs.url
    # one token serves many requests (cached until shortly before it expires); the create
    # probe ran on a throwaway fileio, so the serving one fetched a token of its own
    issued = len(token_server.issued)
    assert issued <= 2, token_server.issued
    for i in range(3):
        c.commit(["n"], "t", [], [{"action": "set-properties", "updates": {"a": str(i)}}])
    c.load_table(["n"], "t", headers=VEND)
    assert len(token_server.issued) == issued
    assert _auth_headers(proxy)[-1] == f"Bearer {vended['gcs.oauth2.token']}"
    assert gcsenv.split_uri(r.body["metadata-location"])[1] in \
        fake_gcs.names_under(bucket, "wh/n/t/")
    # without the header nothing is vended
    plain = c.load_table(["n"], "t").body
    assert "gcs.oauth2.token" not in plain["config"] and not plain.get("storage-credentials")


def test_pyiceberg_with_the_vended_token(server, fake_gcs, sa_warehouse):
    """PyIceberg has no GCS credentials: the token and endpoint come from the table config."""
    from pyiceberg.catalog.rest import RestCatalog

    name, bucket, proxy = sa_warehouse
    cat = RestCatalog("gcs", uri=server.url, warehouse=name)
    cat.create_namespace(("py",))
    data = pa.Table.from_pydict({"id": pa.array([1, 2, 3], pa.int64()),
                                 "v": pa.array(["a", "b", "c"], pa.string())})
    tbl = cat.create_table(("py", "t"), schema=data.schema)
    tbl.append(data)
    tbl.append(data.slice(1, 1))
    again = RestCatalog("gcs2", uri=server.url, warehouse=name).load_table(("py", "t"))
    assert sorted(again.scan().to_arrow()["id"].to_pylist()) == [1, 2, 2, 3]
    names = fake_gcs.names_under(bucket, "wh/py/t/")
    assert len([n for n in names if n.endswith(".parquet")]) == 2, names
    assert len([n for n in names if n.endswith(".metadata.json")]) == 3, names
    cat.purge_table(("py", "t"))
    assert gcsenv.wait_until(lambda: not fake_gcs.names_under(bucket, "wh/py/t/"), 15)


def test_bearer_token_warehouse(server, fake_gcs, proxy, bearer):
    bucket = fake_gcs.create_bucket("serac-gcs-bearer")
    name = f"gbear_{int(time.time() * 1000) % 100000}"
    r = requests.post(_mgmt(server), json={
        "name": name, "location": f"gs://{bucket}/wh",
        "storage": {"type": "gcs", "endpoint": proxy.url,
                    "gcs-bearer-token": "env:SERAC_TEST_GCS_BEARER"}}, timeout=60)
    assert r.status_code == 201, r.text
    c = RestClient(server.url, prefix=name)
    c.create_namespace(["n"])
    t = c.create_table(["n"], "t", schema=SCHEMA).body
    assert fake_gcs.read(t["metadata-location"]) is not None
    auth = _auth_headers(proxy)
    assert auth and all(a == f"Bearer {bearer}" for a in auth), auth
    # a literal token is shown redacted
    r = requests.put(f"{_mgmt(server)}/{name}/storage", json={
        "type": "gcs", "endpoint": proxy.url, "gcs-bearer-token": bearer}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["storage"]["gcs-bearer-token"] == "****" and bearer not in r.text


def test_missing_bucket_fails_the_probe(server, fake_gcs):
    name = f"gmiss_{int(time.time() * 1000) % 100000}"
    r = requests.post(_mgmt(server), json={
        "name": name, "location": "gs://serac-no-such-bucket-xyz/wh",
        "storage": {"type": "gcs", "endpoint": fake_gcs.url}}, timeout=60)
    assert r.status_code == 400, r.text
    msg = r.json()["error"]["message"]
    assert name in msg and "serac-no-such-bucket-xyz" in msg, msg
    assert requests.get(f"{_mgmt(server)}/{name}", timeout=30).status_code == 404


def test_store_gone_is_a_503_naming_the_warehouse(server, fake_gcs, unique):
    """A warehouse whose endpoint answers nothing: creating a table fails with a 5xx that
    names the warehouse, leaves no table, and the catalog stays up."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    s.close()
    name = f"gdead_{int(time.time() * 1000) % 100000}"
    r = requests.post(_mgmt(server), params={"probe": "false"}, json={
        "name": name, "location": "gs://whatever/wh",
        "storage": {"type": "gcs", "endpoint": dead, "timeout-ms": 1000}}, timeout=60)
    assert r.status_code == 201, r.text
    c = RestClient(server.url, prefix=name)
    c.create_namespace(["n"])
    r = c.post(f"{c.ns_url(['n'])}/tables", json={"name": "t", "schema": SCHEMA},
               allow_5xx=True, timeout=120)
    assert r.status in (500, 502, 503, 504), r
    assert name in r.error["message"] and "unreachable" in r.error["message"], r.error
    assert c.head(c.table_url(["n"], "t")).status == 404
