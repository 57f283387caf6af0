"""Remote signing: the client holds no keys and asks serac to sign each S3 request
(POST .../tables/{t}/sign); serac signs only requests inside that table's location.

moto verifies every signature, so a request serac signed is accepted only if serac signed it
correctly, and a keyless client gets nowhere without serac.
"""

import base64
import hashlib
import os
import uuid
from urllib.parse import quote

import pyarrow as pa
import pytest
import requests

import s3env
from rest_client import RestClient

SIGNING = {"X-Iceberg-Access-Delegation": "remote-signing"}
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "type": "long", "required": False},
    {"id": 2, "name": "v", "type": "string", "required": False}]}


@pytest.fixture(scope="module")
def sign_wh(new_warehouse):
    # remote-signing defaults to true for a warehouse with keys
    return new_warehouse("signing")


@pytest.fixture(scope="module")
def tables(server, sign_wh):
    """Two tables, "a" and "ab" (one name a prefix of the other), in one namespace."""
    wh, bucket = sign_wh
    c = RestClient(server.url, prefix=wh)
    ns = [f"sig_{uuid.uuid4().hex[:6]}"]
    c.create_namespace(ns)
    out = {}
    for name in ("a", "ab"):
        r = c.post(f"{c.ns_url(ns)}/tables", json={"name": name, "schema": SCHEMA},
                   headers=SIGNING)
        assert r.status == 200, r
        out[name] = r.body
    return c, ns, out


def _sign_url(server, body):
    return f"{server.url}/{body['config']['s3.signer.endpoint']}"


def _sign(server, body, method, uri, headers=None, payload=None):
    req = {"region": s3env.REGION, "uri": uri, "method": method,
           "headers": {k: [v] for k, v in (headers or {}).items()}}
    if payload is not None:
        req["body"] = payload
    return requests.post(_sign_url(server, body), json=req, timeout=30)


def _send(signed, method, data=None):
    hdrs = {k: ", ".join(v) for k, v in signed["headers"].items()}
    return requests.request(method, signed["uri"], headers=hdrs, data=data, timeout=30)


def _obj_url(moto, bucket, key):
    return f"{moto.url}/{bucket}/{key}"


def _assert_forbidden(r):
    assert r.status_code == 403, f"{r.status_code} {r.text[:500]}"
    err = r.json()["error"]
    assert err["type"] == "ForbiddenException" and err["code"] == 403, err


def test_signing_config(server, moto, sign_wh, tables):
    wh, _ = sign_wh
    c, ns, bodies = tables
    cfg = bodies["a"]["config"]
    expected = f"v1/{wh}/namespaces/{ns[0]}/tables/a/sign"
    assert cfg["s3.remote-signing-enabled"] == "true"
    assert cfg["signer.endpoint"] == expected and cfg["s3.signer.endpoint"] == expected
    assert cfg["s3.signer"] == "S3V4RestSigner"
    assert cfg["s3.endpoint"] == moto.url
    assert not any(k in cfg for k in ("s3.access-key-id", "s3.secret-access-key"))
    # not asked for: no signing settings
    plain = c.load_table(ns, "a").body["config"]
    assert "s3.remote-signing-enabled" not in plain and "s3.signer" not in plain


@pytest.fixture
def one_worker(monkeypatch):
    """PyIceberg 0.12 + s3fs race: FsspecFileIO builds a filesystem per thread, fsspec hands every
    thread the same cached S3FileSystem, and each build unregisters and re-registers the signer
    on that shared client, so a request of another thread can go out unsigned (seen here as a
    403 on a HEAD without Authorization, captured on the wire). One worker thread avoids it."""
    from concurrent.futures import ThreadPoolExecutor

    from pyiceberg.utils.concurrent import ExecutorFactory

    pool = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setattr(ExecutorFactory, "_instance", pool)
    monkeypatch.setattr(ExecutorFactory, "_instance_pid", os.getpid())
    yield
    pool.shutdown(wait=True)


def test_pyiceberg_remote_signing_without_keys(moto, new_catalog, sign_wh, one_worker):
    wh, bucket = sign_wh
    props = {"py-io-impl": "pyiceberg.io.fsspec.FsspecFileIO",
             "header.X-Iceberg-Access-Delegation": "remote-signing"}
    cat = new_catalog(wh, props)
    ns = (f"pys_{uuid.uuid4().hex[:6]}",)
    cat.create_namespace(ns)
    data = pa.Table.from_pydict({"id": pa.array([1, 2, 3], pa.int64()),
                                 "v": pa.array(["x", "y", "z"], pa.string())})
    tbl = cat.create_table(ns + ("t",), schema=data.schema)
    assert "s3.access-key-id" not in tbl.io.properties
    tbl.append(data)
    tbl.append(data.slice(0, 1))
    again = new_catalog(wh, props).load_table(ns + ("t",))
    assert sorted(again.scan().to_arrow()["id"].to_pylist()) == [1, 1, 2, 3]
    _, prefix = s3env.split_uri(tbl.metadata.location)
    keys = moto.keys_under(bucket, prefix + "/")
    assert len([k for k in keys if k.endswith(".parquet")]) == 2, keys
    assert len([k for k in keys if k.endswith(".avro")]) >= 4, keys


def test_signed_requests_are_accepted_by_the_store(server, moto, sign_wh, tables):
    _, bucket = sign_wh
    _, _, bodies = tables
    a = bodies["a"]
    _, prefix = s3env.split_uri(a["metadata"]["location"])
    key = f"{prefix}/data/raw-{uuid.uuid4().hex[:6]}.bin"
    payload = b"signed by serac"

    # PUT through a signature serac made; moto checks it
    put = _sign(server, a, "PUT", _obj_url(moto, bucket, key),
                {"x-amz-content-sha256": hashlib.sha256(payload).hexdigest(),
                 "content-type": "application/octet-stream"})
    assert put.status_code == 200, put.text
    signed = put.json()
    assert any(k.lower() == "authorization" for k in signed["headers"]), signed
    assert "no-cache" in put.headers.get("Cache-Control", "") or \
        "private" in put.headers.get("Cache-Control", ""), put.headers
    r = _send(signed, "PUT", data=payload)
    assert r.status_code == 200, r.text
    assert moto.read(f"s3://{bucket}/{key}") == payload

    # GET it back the same way
    get = _sign(server, a, "GET", _obj_url(moto, bucket, key),
                {"x-amz-content-sha256": EMPTY_SHA256})
    assert get.status_code == 200, get.text
    r = _send(get.json(), "GET")
    assert r.status_code == 200 and r.content == payload, r.text

    # a signature for one object does not open another (moto refuses the tampered URL)
    other = f"{prefix}/data/other.bin"
    moto.client().put_object(Bucket=bucket, Key=other, Body=b"x")
    tampered = dict(get.json())
    tampered["uri"] = _obj_url(moto, bucket, other)
    assert _send(tampered, "GET").status_code == 403

    # listing the table's own prefix is allowed and works
    lst = _sign(server, a, "GET",
                f"{moto.url}/{bucket}?list-type=2&prefix={quote(prefix + '/', safe='')}",
                {"x-amz-content-sha256": EMPTY_SHA256})
    assert lst.status_code == 200, lst.text
    r = _send(lst.json(), "GET")
    assert r.status_code == 200 and key in r.text, r.text

    # a batch delete of keys inside the table
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><Delete><Object><Key>{key}</Key></Object>'
           f'</Delete>')
    md5 = base64.b64encode(hashlib.md5(xml.encode()).digest()).decode()
    dele = _sign(server, a, "POST", f"{moto.url}/{bucket}?delete",
                 {"x-amz-content-sha256": hashlib.sha256(xml.encode()).hexdigest(),
                  "content-md5": md5, "content-type": "application/xml"}, payload=xml)
    assert dele.status_code == 200, dele.text
    r = _send(dele.json(), "POST", data=xml.encode())
    assert r.status_code == 200, r.text
    assert not moto.exists(f"s3://{bucket}/{key}")


def test_sign_refuses_requests_outside_the_table(server, moto, main_bucket, sign_wh, tables):
    _, bucket = sign_wh
    _, _, bodies = tables
    a, ab = bodies["a"], bodies["ab"]
    _, pa_ = s3env.split_uri(a["metadata"]["location"])
    _, pab = s3env.split_uri(ab["metadata"]["location"])
    assert pab.startswith(pa_), "the test wants one table's prefix to start the other's"
    h = {"x-amz-content-sha256": EMPTY_SHA256}
    inside = _obj_url(moto, bucket, f"{pa_}/data/f.parquet")
    assert _sign(server, a, "GET", inside, h).status_code == 200

    host = moto.url.split("://", 1)[1]
    outside = {
        "another table": _obj_url(moto, bucket, f"{pab}/data/f.parquet"),
        "another table's metadata": ab["metadata-location"].replace(f"s3://{bucket}",
                                                                    f"{moto.url}/{bucket}"),
        "the namespace above": _obj_url(moto, bucket, pa_.rsplit("/", 1)[0] + "/x"),
        "the table location itself as a key": _obj_url(moto, bucket, pa_),
        "another bucket": _obj_url(moto, main_bucket, f"{pa_}/data/f.parquet"),
        "another bucket, virtual-hosted": f"http://{main_bucket}.{host}/{pa_}/data/f.parquet",
        "another host": f"http://evil.example.com:9000/{bucket}/{pa_}/data/f.parquet",
        "another host, same bucket virtual-hosted":
            f"http://{bucket}.evil.example.com/{pa_}/data/f.parquet",
        "the whole bucket listing": f"{moto.url}/{bucket}?list-type=2",
        "another table's listing":
            f"{moto.url}/{bucket}?list-type=2&prefix={quote(pab + '/', safe='')}",
        "a listing above the table":
            f"{moto.url}/{bucket}?list-type=2&prefix={quote(pa_.rsplit('/', 1)[0], safe='')}",
    }
    for what, uri in outside.items():
        r = _sign(server, a, "GET", uri, h)
        assert r.status_code == 403, f"{what}: {uri} -> {r.status_code} {r.text[:300]}"
        _assert_forbidden(r)

    # writes and deletes are held to the same rule
    _assert_forbidden(_sign(server, a, "PUT", outside["another table"], h))
    _assert_forbidden(_sign(server, a, "DELETE", outside["another table"], h))

    # DeleteObjects: every key must be inside; one outside refuses the whole batch
    def delete_body(*keys):
        objs = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
        return f'<?xml version="1.0" encoding="UTF-8"?><Delete>{objs}</Delete>'

    url = f"{moto.url}/{bucket}?delete"
    ok = _sign(server, a, "POST", url, h, payload=delete_body(f"{pa_}/data/1", f"{pa_}/data/2"))
    assert ok.status_code == 200, ok.text
    for keys in ([f"{pab}/data/1"], [f"{pa_}/data/1", f"{pab}/data/1"], ["elsewhere/x"]):
        _assert_forbidden(_sign(server, a, "POST", url, h, payload=delete_body(*keys)))
    _assert_forbidden(_sign(server, a, "POST", url, h))  # no body: nothing shows it is inside


def test_sign_needs_a_signing_warehouse_and_a_table(server, api, moto, main_bucket, unique,
                                                    sign_wh, tables):
    # the default warehouse has remote signing off
    ns = [unique("nosign")]
    api.create_namespace(ns)
    t = api.create_table(ns, "t").body
    _, prefix = s3env.split_uri(t["metadata"]["location"])
    req = {"region": s3env.REGION, "method": "GET",
           "uri": _obj_url(moto, main_bucket, f"{prefix}/data/x"),
           "headers": {"x-amz-content-sha256": [EMPTY_SHA256]}}
    r = requests.post(f"{server.url}{api.table_url(ns, 't')}/sign", json=req, timeout=30)
    _assert_forbidden(r)
    # a table not created yet: only its default location (a staged create writes there first)
    wh, bucket = sign_wh
    c, sns, bodies = tables
    base = bodies["a"]["metadata"]["location"].rsplit("/", 1)[0]
    _, base_key = s3env.split_uri(base)
    fresh = dict(req, uri=_obj_url(moto, bucket, f"{base_key}/later/data/x.parquet"))
    r = requests.post(f"{server.url}{c.table_url(sns, 'later')}/sign", json=fresh, timeout=30)
    assert r.status_code == 200, r.text
    inside_a = dict(req, uri=_obj_url(moto, bucket, f"{base_key}/a/data/x.parquet"))
    _assert_forbidden(requests.post(f"{server.url}{c.table_url(sns, 'later')}/sign",
                                    json=inside_a, timeout=30))
    # a namespace that does not exist
    r = requests.post(f"{server.url}{c.table_url(['nowhere_ns'], 'x')}/sign", json=fresh,
                      timeout=30)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["type"] == "NoSuchNamespaceException", r.text
    # a malformed request
    r = requests.post(f"{server.url}{c.table_url(sns, 'a')}/sign", json={"uri": "x"}, timeout=30)
    assert r.status_code == 400, r.text


def test_sign_refuses_dot_segments(server, moto, sign_wh, tables):
    """A key with "." or ".." segments is literal on AWS S3 (and on moto), but stores and proxies
    that normalise paths would read ".../a/../ab/x" as table ab's file. No Iceberg client ever
    writes such keys, so a signer that stays inside the table's location refuses them."""
    _, bucket = sign_wh
    _, _, bodies = tables
    _, pa_ = s3env.split_uri(bodies["a"]["metadata"]["location"])
    h = {"x-amz-content-sha256": EMPTY_SHA256}
    for key in (f"{pa_}/../ab/data/f.parquet", f"{pa_}/%2E%2E/ab/data/f.parquet",
                f"{pa_}/./data/f.parquet", f"{pa_}/data/../../ab/f"):
        r = _sign(server, bodies["a"], "GET", _obj_url(moto, bucket, key), h)
        assert r.status_code == 403, f"{key}: {r.status_code} {r.text[:200]}"
