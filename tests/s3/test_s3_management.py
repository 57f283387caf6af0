"""Warehouse management on S3: /management/v1/warehouses and `serac admin warehouse`.

moto checks signatures, so the storage probe that guards create and set-storage really fails for a
wrong secret, and the error must say which warehouse it is about.
"""

import json
import os
import subprocess
import uuid

import pytest
import requests

import s3env
from rest_client import RestClient
from serac_server import SeracServer, serac_bin


def _name(stem):
    return f"{stem}_{uuid.uuid4().hex[:6]}"


def _literal(moto, **extra):
    s = {"type": "s3", "endpoint": moto.url, "region": s3env.REGION,
         "access-key-id": moto.keys.access_key_id,
         "secret-access-key": moto.keys.secret_access_key}
    s.update(extra)
    return s


def _assert_error(r, status, etype=None, *contains):
    assert r.status_code == status, f"expected {status}: {r.status_code} {r.text[:500]}"
    err = r.json()["error"]
    if etype:
        assert err["type"] == etype, err
    for c in contains:
        assert c in err["message"], f"{c!r} not in {err['message']!r}"
    return err


def test_second_warehouse_on_another_bucket(server, moto, mgmt, main_bucket):
    bucket = moto.create_bucket("serac-second")
    name = _name("second")
    r = mgmt.create(name, f"s3://{bucket}/base/", _literal(moto))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == name and created["location"] == f"s3://{bucket}/base"
    assert created["default"] is False
    # the literal secret is never shown; the key id is
    assert created["storage"]["secret-access-key"] == "****"
    assert created["storage"]["access-key-id"] == moto.keys.access_key_id
    for resp in (r, mgmt.list(), mgmt.get(name)):
        assert moto.keys.secret_access_key not in resp.text
    listed = {w["name"]: w for w in mgmt.list().json()["warehouses"]}
    assert name in listed and "default" in listed
    assert listed["default"]["default"] is True
    assert listed["default"]["location"] == f"s3://{main_bucket}/wh"
    # env: references are shown as written (they name where a secret is, not the secret)
    assert listed["default"]["storage"]["secret-access-key"] == f"env:{s3env.SK_ENV}"
    assert mgmt.get(name).json()["storage"] == created["storage"]
    # the probe object did not stay behind
    assert moto.keys_under(bucket) == []

    # clients find it by name, and its tables live in its bucket
    cfg = RestClient(server.url, prefix=None).get("/v1/config", params={"warehouse": name})
    assert cfg.status == 200 and cfg.body["overrides"]["prefix"] == name, cfg
    c = RestClient(server.url, prefix=name)
    c.create_namespace(["n1"])
    t = c.create_table(["n1"], "t").body
    assert t["metadata"]["location"] == f"s3://{bucket}/base/n1/t"
    assert moto.keys_under(bucket, "base/n1/t/metadata/") == \
        [s3env.split_uri(t["metadata-location"])[1]]
    assert not moto.keys_under(main_bucket, "base/"), "nothing lands in the default's bucket"
    # a name that already exists
    _assert_error(mgmt.create(name, f"s3://{bucket}/x", _literal(moto)), 409)


def test_redaction_of_every_secret_kind(mgmt, moto):
    bucket = moto.create_bucket("serac-redact")
    name = _name("redact")
    storage = _literal(moto, **{"session-token": "literal-session-token-value"})
    r = mgmt.create(name, f"s3://{bucket}/w", storage, probe=False)
    assert r.status_code == 201, r.text
    for resp in (r, mgmt.get(name), mgmt.list()):
        assert "literal-session-token-value" not in resp.text
        assert moto.keys.secret_access_key not in resp.text
    shown = mgmt.get(name).json()["storage"]
    assert shown["session-token"] == "****" and shown["secret-access-key"] == "****"
    assert shown["endpoint"] == moto.url and shown["type"] == "s3"
    assert mgmt.delete(name).status_code == 204


def test_probe_refuses_a_wrong_secret(mgmt, moto):
    bucket = moto.create_bucket("serac-wrong")
    name = _name("wrongkey")
    bad = _literal(moto, **{"secret-access-key": "definitely-not-the-secret"})
    err = _assert_error(mgmt.create(name, f"s3://{bucket}/w", bad), 400, None, name)
    assert "definitely-not-the-secret" not in err["message"]
    assert "SignatureDoesNotMatch" in err["message"] or "refused" in err["message"], err
    _assert_error(mgmt.get(name), 404)
    assert moto.keys_under(bucket) == []


def test_probe_refuses_a_missing_bucket(mgmt, moto):
    name = _name("nobucket")
    missing = f"serac-missing-{uuid.uuid4().hex[:8]}"
    _assert_error(mgmt.create(name, f"s3://{missing}/w", _literal(moto)), 400, None, name)
    _assert_error(mgmt.get(name), 404)


@pytest.mark.parametrize("storage, location, expect", [
    ({"type": "gcs"}, "s3://b/w", "type"),
    ({"type": "s3", "colour": "blue"}, "s3://b/w", "colour"),
    ({"type": "s3", "secret-access-key": "env:SERAC_TEST_UNSET_VARIABLE",
      "access-key-id": "AKIDEXAMPLE"}, "s3://b/w", "SERAC_TEST_UNSET_VARIABLE"),
    ({"type": "s3", "credential-duration-seconds": 60}, "s3://b/w", "credential-duration-seconds"),
    ({"type": "s3", "vended-credentials": "always"}, "s3://b/w", "vended-credentials"),
    ({"type": "s3", "vended-credentials": "sts", "access-key-id": "AKIDEXAMPLE",
      "secret-access-key": "x"}, "s3://b/w", "role-arn"),
    ({"type": "s3", "endpoint": "ftp://host"}, "s3://b/w", "endpoint"),
    ({"type": "s3", "path-style-access": "yes"}, "s3://b/w", "path-style-access"),
    ({"type": "s3", "access-key-id": "AKIDEXAMPLE"}, "s3://b/w", "secret-access-key"),
    ({}, "ftp://b/w", "ftp://b/w"),
])
def test_bad_settings_are_refused(mgmt, storage, location, expect):
    name = _name("bad")
    err = _assert_error(mgmt.create(name, location, storage, probe=False), 400, None, expect)
    assert name in err["message"] or location in err["message"], err
    _assert_error(mgmt.get(name), 404)


def test_wrong_credentials_at_runtime_name_the_warehouse(server, mgmt, moto):
    bucket = moto.create_bucket("serac-runtime")
    name = _name("runtime")
    bad = _literal(moto, **{"secret-access-key": "not-the-right-secret"})
    assert mgmt.create(name, f"s3://{bucket}/w", bad, probe=False).status_code == 201
    c = RestClient(server.url, prefix=name)
    c.create_namespace(["n"])  # no storage involved
    r = c.post(f"{c.ns_url(['n'])}/tables", json={"name": "t", "schema": {
        "type": "struct", "schema-id": 0, "fields": [
            {"id": 1, "name": "id", "type": "long", "required": False}]}}, allow_5xx=True)
    assert r.status >= 500, r
    assert name in r.error["message"] and bucket in r.error["message"], r.error
    assert "not-the-right-secret" not in r.text
    assert c.head(c.table_url(["n"], "t")).status == 404, "a failed create leaves no table"

    # set-storage probes too: another wrong secret is refused and changes nothing
    before = mgmt.get(name).json()["storage"]
    worse = _literal(moto, **{"secret-access-key": "still-wrong", "region": "eu-west-1"})
    _assert_error(mgmt.set_storage(name, worse), 400, None, name)
    assert mgmt.get(name).json()["storage"] == before
    # the right keys fix it, at once (no restart)
    r = mgmt.set_storage(name, s3env.storage_settings(moto))
    assert r.status_code == 200, r.text
    assert r.json()["storage"]["secret-access-key"] == f"env:{s3env.SK_ENV}"
    t = c.create_table(["n"], "t").body
    assert moto.exists(t["metadata-location"])


def test_delete_rules(server, mgmt, moto):
    bucket = moto.create_bucket("serac-del")
    name = _name("del")
    assert mgmt.create(name, f"s3://{bucket}/w", s3env.storage_settings(moto)).status_code == 201
    c = RestClient(server.url, prefix=name)
    c.create_namespace(["keep"])
    _assert_error(mgmt.delete(name), 409, "WarehouseNotEmptyException", name)
    _assert_error(mgmt.delete("default"), 400, None, "default")
    _assert_error(mgmt.set_storage("default", s3env.storage_settings(moto)), 400, None, "default")
    assert c.delete(c.ns_url(["keep"])).status == 204
    r = mgmt.delete(name)
    assert r.status_code == 204 and r.content == b""
    _assert_error(mgmt.get(name), 404)
    _assert_error(mgmt.delete(name), 404)
    cfg = requests.get(f"{server.url}/v1/config", params={"warehouse": name}, timeout=10)
    assert cfg.status_code in (400, 404), cfg.text
    assert "default" in {w["name"] for w in mgmt.list().json()["warehouses"]}


def _cli(args, env, store_args):
    full = {k: v for k, v in os.environ.items() if not k.startswith("SERAC_")}
    full.update(env)
    return subprocess.run([str(serac_bin()), "admin", "warehouse", *args, *store_args],
                          capture_output=True, text=True, timeout=60, env=full)


def test_cli_manages_warehouses(moto, tmp_path):
    """`serac admin warehouse` works on the store directly; a running serac serves the result."""
    env = s3env.server_env(moto)
    (tmp_path / "data").mkdir()
    srv = SeracServer(name="serac-s3-cli", data_dir=tmp_path / "data", env=env)
    s3env.SERVERS.append(srv)
    srv.start()
    try:
        store_args = ["--store", srv.store] if srv.store else ["--data-dir", str(srv.data_dir)]
        bucket = moto.create_bucket("serac-cli")
        name = _name("cli")
        body = json.dumps({"name": name, "location": f"s3://{bucket}/w",
                           "storage": _literal(moto)})
        r = _cli(["create", body], env, store_args)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["storage"]["secret-access-key"] == "****"
        for verb in (["list"], ["show", name]):
            r = _cli(verb, env, store_args)
            assert r.returncode == 0, r.stderr
            assert name in r.stdout and moto.keys.secret_access_key not in r.stdout
            assert moto.keys.secret_access_key not in r.stderr

        # a wrong secret fails the probe, naming the warehouse; --no-probe takes it anyway
        bad = json.dumps({"name": name + "x", "location": f"s3://{bucket}/x",
                          "storage": _literal(moto, **{"secret-access-key": "nope-nope"})})
        r = _cli(["create", bad], env, store_args)
        assert r.returncode != 0 and name + "x" in r.stderr, (r.stdout, r.stderr)
        assert "nope-nope" not in r.stderr
        r = _cli(["--no-probe", "create", bad], env, store_args)
        assert r.returncode == 0, r.stderr
        r = _cli(["set-storage", name + "x", json.dumps(s3env.storage_settings(moto))], env,
                 store_args)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["storage"]["secret-access-key"] == f"env:{s3env.SK_ENV}"

        # the running server serves the warehouse the CLI created
        c = RestClient(srv.url, prefix=name)
        c.create_namespace(["n"])
        t = c.create_table(["n"], "t").body
        assert moto.exists(t["metadata-location"])
        assert t["metadata-location"].startswith(f"s3://{bucket}/w/n/t/metadata/")

        r = _cli(["delete", name], env, store_args)
        assert r.returncode != 0 and name in r.stderr, "a warehouse with a namespace stays"
        assert c.delete(c.table_url(["n"], "t")).status == 204
        assert c.delete(c.ns_url(["n"])).status == 204
        assert _cli(["delete", name], env, store_args).returncode == 0
        r = _cli(["list"], env, store_args)
        assert r.returncode == 0
        names = {w["name"] for w in json.loads(r.stdout)["warehouses"]}
        assert name not in names and name + "x" in names
    finally:
        srv.stop_and_check()
