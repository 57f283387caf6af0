"""Vended credentials: clients with no S3 keys of their own read and write through the keys serac
hands out with LoadTable (X-Iceberg-Access-Delegation: vended-credentials).

moto checks every signature here, so a client that gets no usable keys cannot touch the bucket:
the first test shows exactly that, which is what makes the others mean something.
"""

import json
import time
from urllib.parse import parse_qsl

import pyarrow as pa
import pytest

import s3env
from rest_client import RestClient

VEND = {"X-Iceberg-Access-Delegation": "vended-credentials"}
KEYS = ("s3.access-key-id", "s3.secret-access-key", "s3.session-token")
SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "type": "long", "required": False},
    {"id": 2, "name": "v", "type": "string", "required": False}]}


def small(ids):
    return pa.Table.from_pydict({"id": pa.array(ids, pa.int64()),
                                 "v": pa.array([f"v{i}" for i in ids], pa.string())})


@pytest.fixture(scope="module")
def static_wh(new_warehouse):
    return new_warehouse("vstatic", **{"vended-credentials": "static", "remote-signing": False})


@pytest.fixture(scope="module")
def sts_wh(new_warehouse, moto):
    """(name, bucket, proxy): serac reaches STS through a RecordingProxy, so the tests can read
    the AssumeRole calls it made."""
    proxy = s3env.RecordingProxy(moto.url)
    name, bucket = new_warehouse("vsts", **{
        "vended-credentials": "sts", "role-arn": moto.role_arn, "sts-endpoint": proxy.url,
        "credential-duration-seconds": 900, "remote-signing": False})
    yield name, bucket, proxy
    proxy.close()


def _assume_role_calls(proxy):
    """The AssumeRole requests serac sent, as dicts of their form fields."""
    calls = []
    for line, headers, body in proxy.requests():
        form = dict(parse_qsl(body))
        if form.get("Action") == "AssumeRole":
            assert "authorization" in headers and "AWS4-HMAC-SHA256" in headers["authorization"]
            calls.append(form)
    return calls


def _table(server, warehouse, unique):
    """A fresh namespace and table in warehouse, created with the raw API: (client, ns, name, body)."""
    c = RestClient(server.url, prefix=warehouse)
    ns = [unique("vns")]
    c.create_namespace(ns)
    r = c.post(f"{c.ns_url(ns)}/tables", json={"name": "t", "schema": SCHEMA}, headers=VEND)
    assert r.status == 200, r
    return c, ns, "t", r.body


def _cred_of(body, location):
    creds = body.get("storage-credentials") or []
    match = [c for c in creds if location.startswith(c["prefix"])]
    assert len(match) == 1, f"one storage credential must cover {location}: {creds}"
    assert match[0]["prefix"].rstrip("/") == location.rstrip("/")
    return match[0]["config"]


def test_client_without_keys_is_refused_when_nothing_is_vended(moto, new_catalog, unique):
    """Control: on the default warehouse (vends nothing) a keyless PyIceberg cannot write."""
    cat = new_catalog("default")
    ns = (unique("nokeys"),)
    cat.create_namespace(ns)
    tbl = cat.create_table(ns + ("t",), schema=small([1]).schema)
    assert not any(k in tbl.io.properties for k in KEYS)
    with pytest.raises(Exception):
        tbl.append(small([1]))
    _, prefix = s3env.split_uri(tbl.metadata.location)
    bucket = s3env.split_uri(tbl.metadata.location)[0]
    assert not [k for k in moto.keys_under(bucket, prefix + "/") if "/data/" in k], \
        "a keyless client must not have written data"
    assert cat.load_table(ns + ("t",)).current_snapshot() is None


def test_static_vending_config_and_credentials_endpoint(server, moto, static_wh, unique):
    wh, bucket = static_wh
    c, ns, name, body = _table(server, wh, unique)
    loc = body["metadata"]["location"]
    assert loc.startswith(f"s3://{bucket}/wh/"), loc
    cfg = body["config"]
    assert cfg["s3.endpoint"] == moto.url and cfg["s3.region"] == s3env.REGION
    assert cfg["s3.path-style-access"] == "true"
    assert cfg["s3.access-key-id"] == moto.keys.access_key_id
    assert cfg["s3.secret-access-key"] == moto.keys.secret_access_key
    cred = _cred_of(body, loc)
    assert cred["s3.access-key-id"] == moto.keys.access_key_id
    assert cred["s3.secret-access-key"] == moto.keys.secret_access_key

    # LoadTable without the header vends nothing; with it, the same keys
    plain = c.load_table(ns, name).body
    assert not any(k in plain["config"] for k in KEYS), plain["config"]
    assert not plain.get("storage-credentials")
    loaded = c.load_table(ns, name, headers=VEND).body
    assert _cred_of(loaded, loc) == cred

    # GET .../credentials answers the same StorageCredential
    r = c.get(c.table_url(ns, name) + "/credentials")
    assert r.status == 200, r
    assert _cred_of(r.body, loc)["s3.secret-access-key"] == moto.keys.secret_access_key


def test_static_vending_pyiceberg_without_keys(moto, new_catalog, static_wh, unique):
    wh, bucket = static_wh
    cat = new_catalog(wh)  # no keys, no endpoint: everything comes from the table config
    ns = (unique("vs"),)
    cat.create_namespace(ns)
    tbl = cat.create_table(ns + ("t",), schema=small([1]).schema)
    assert tbl.io.properties["s3.access-key-id"] == moto.keys.access_key_id
    tbl.append(small([1, 2, 3]))
    tbl.append(small([4]))
    again = new_catalog(wh).load_table(ns + ("t",))
    assert sorted(again.scan().to_arrow()["id"].to_pylist()) == [1, 2, 3, 4]
    _, prefix = s3env.split_uri(tbl.metadata.location)
    data = [k for k in moto.keys_under(bucket, prefix + "/data/") if k.endswith(".parquet")]
    assert len(data) == 2, data


def test_sts_vending(server, moto, sts_wh, unique):
    wh, bucket, proxy = sts_wh
    c, ns, name, body = _table(server, wh, unique)
    loc = body["metadata"]["location"]
    cred = _cred_of(body, loc)
    s3env.remember_secret(cred.get("s3.secret-access-key"), cred.get("s3.session-token"),
                          cred.get("s3.access-key-id"))
    assert cred["s3.access-key-id"] != moto.keys.access_key_id
    assert cred["s3.secret-access-key"] != moto.keys.secret_access_key
    assert cred.get("s3.session-token"), "STS credentials carry a session token"
    now_ms = time.time() * 1000
    expires = int(cred["s3.session-token-expires-at-ms"])
    assert now_ms + 60_000 < expires <= now_ms + 905_000, (expires - now_ms) / 1000
    # config carries the same keys for clients that do not read storage-credentials
    for k in KEYS:
        assert body["config"][k] == cred[k], k

    # serac asked STS for our role, for 900 s, with a session policy limited to the table
    _, prefix = s3env.split_uri(loc)
    calls = [a for a in _assume_role_calls(proxy) if prefix in a.get("Policy", "")]
    assert len(calls) == 1, f"one AssumeRole for this table: {calls}"
    call = calls[0]
    assert call["RoleArn"] == moto.role_arn and call["DurationSeconds"] == "900"
    policy = json.loads(call["Policy"])
    text = json.dumps(policy)
    assert f"arn:aws:s3:::{bucket}/{prefix}/*" in text, policy
    assert f"arn:aws:s3:::{bucket}/*" not in text and '"*"' not in text, policy
    actions = {a for st in policy["Statement"] for a in
               ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= actions, actions
    # and STS knows them as that role's session
    ident = moto.client("sts", keys=s3env.Keys(cred["s3.access-key-id"],
                                                cred["s3.secret-access-key"],
                                                cred["s3.session-token"])).get_caller_identity()
    assert ":assumed-role/" + moto.role_arn.rsplit("/", 1)[1] + "/" in ident["Arn"], ident

    # they work against the store (moto verifies the signature and the session token)
    s3 = moto.client(keys=s3env.Keys(cred["s3.access-key-id"], cred["s3.secret-access-key"],
                                     cred["s3.session-token"]))
    s3.put_object(Bucket=bucket, Key=f"{prefix}/data/probe.txt", Body=b"vended")
    assert moto.read(f"s3://{bucket}/{prefix}/data/probe.txt") == b"vended"

    # a second load within the lifetime gets the same keys (cached per table): no new AssumeRole
    again = _cred_of(c.load_table(ns, name, headers=VEND).body, loc)
    assert again["s3.access-key-id"] == cred["s3.access-key-id"]
    assert again["s3.session-token"] == cred["s3.session-token"]
    r = c.get(c.table_url(ns, name) + "/credentials")
    assert r.status == 200, r
    assert _cred_of(r.body, loc)["s3.access-key-id"] == cred["s3.access-key-id"]
    assert len([a for a in _assume_role_calls(proxy) if prefix in a.get("Policy", "")]) == 1

    # another table gets credentials of its own
    r2 = c.post(f"{c.ns_url(ns)}/tables", json={"name": "other", "schema": SCHEMA}, headers=VEND)
    assert r2.status == 200, r2
    other = _cred_of(r2.body, r2.body["metadata"]["location"])
    s3env.remember_secret(other.get("s3.secret-access-key"), other.get("s3.session-token"))
    assert other["s3.access-key-id"] != cred["s3.access-key-id"]


def test_sts_vending_pyiceberg_without_keys(moto, new_catalog, sts_wh, unique):
    wh, bucket, _ = sts_wh
    cat = new_catalog(wh)
    ns = (unique("vsts"),)
    cat.create_namespace(ns)
    tbl = cat.create_table(ns + ("t",), schema=small([1]).schema)
    props = tbl.io.properties
    s3env.remember_secret(props.get("s3.secret-access-key"), props.get("s3.session-token"))
    assert props.get("s3.session-token"), "PyIceberg must have been handed a session token"
    assert props["s3.access-key-id"] != moto.keys.access_key_id
    tbl.append(small([7, 8]))
    tbl.append(small([9]))
    again = new_catalog(wh).load_table(ns + ("t",))
    assert sorted(again.scan().to_arrow()["id"].to_pylist()) == [7, 8, 9]
    _, prefix = s3env.split_uri(tbl.metadata.location)
    assert len([k for k in moto.keys_under(bucket, prefix + "/data/")
                if k.endswith(".parquet")]) == 2


def test_credentials_endpoint_empty_without_vending(api, unique):
    ns = [unique("novend")]
    api.create_namespace(ns)
    api.create_table(ns, "t")
    r = api.get(api.table_url(ns, "t") + "/credentials", headers=VEND)
    assert r.status == 200, r
    assert r.body["storage-credentials"] == []
    body = api.load_table(ns, "t", headers=VEND).body
    assert not any(k in body["config"] for k in KEYS)
    assert body["config"]["s3.endpoint"] and body["config"]["client.region"] == s3env.REGION
