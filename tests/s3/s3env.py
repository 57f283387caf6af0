"""An S3 world for the object-storage suites: moto (S3 + STS + IAM) with authentication on.

Moto accepts any key and skips signature checks unless told otherwise. Here it is told otherwise:
`MotoS3.start()` creates an IAM user with an access key and an all-allowing policy, a role that
user may assume, and then turns moto's authentication on (POST /moto-api/reset-auth 0). From then
on every request must carry a valid SigV4 signature of a known key: the user's, or STS
credentials moto issued. So a wrong secret is refused (SignatureDoesNotMatch), a client without
keys is refused (403), and a request serac signed remotely is only accepted if serac signed it
right. (moto does not evaluate STS session policies: the scope of vended credentials is checked
by the tests on what serac asked for, not by moto.)

The server is scripts/moto-server.sh's, or the one at $SERAC_TEST_S3_ENDPOINT when that is set (then
authentication is switched back off when the session ends, as other suites may share it).

Everything else here is small glue: boto3 clients, the settings of an S3 warehouse whose keys are
`env:` references, and a registry of every secret the tests saw, for the log check.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3
import botocore
import botocore.config
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
MOTO_SCRIPT = REPO_ROOT / "scripts" / "moto-server.sh"
REGION = "us-east-1"
ACCOUNT = "123456789012"

# Names of the environment variables serac reads the warehouse keys from (env: references).
AK_ENV = "SERAC_TEST_S3_ACCESS_KEY_ID"
SK_ENV = "SERAC_TEST_S3_SECRET_ACCESS_KEY"

# Every access key id, secret and session token the tests configured or were handed; the log
# check greps serac's output for each of them.
SECRETS = set()
_SECRETS_LOCK = threading.Lock()


def remember_secret(*values):
    with _SECRETS_LOCK:
        for v in values:
            if v:
                SECRETS.add(v)


def _client_env_hygiene():
    """No AWS credentials from the test's own environment may leak into a client that is meant
    to have none, and no client may wait for an instance-metadata service."""
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
              "AWS_DEFAULT_PROFILE"):
        os.environ.pop(k, None)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ.setdefault("AWS_CONFIG_FILE", os.devnull)
    os.environ.setdefault("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


class Keys:
    def __init__(self, access_key_id, secret_access_key, session_token=None):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token

    def __repr__(self):  # never print a secret in a test report
        return f"<Keys {self.access_key_id[:4]}...>"


class MotoS3:
    """One moto server with authentication on: `url`, admin `keys`, `role_arn` to assume."""

    def __init__(self, name="moto", external_url=None):
        self.name = name
        self.external_url = external_url
        self.dir = None
        self.url = None
        self.keys = None
        self.role_arn = None
        self.user_arn = None
        self.paused = False

    # -- life cycle -------------------------------------------------------------------------

    def start(self):
        if self.external_url:
            self.url = self.external_url.rstrip("/")
        else:
            self.dir = Path(tempfile.mkdtemp(prefix=f"serac-{self.name}-"))
            r = subprocess.run([str(MOTO_SCRIPT), "start", str(self.dir)], capture_output=True,
                               text=True, timeout=120)
            if r.returncode != 0:
                raise RuntimeError(f"moto-server.sh start failed: {r.stderr}")
            self.url = (self.dir / "url").read_text().strip()
        self._setup_iam()
        return self

    def _setup_iam(self):
        tag = uuid.uuid4().hex[:8]
        self.set_auth(False)  # a shared server may still have it on after an aborted run
        iam = boto3.client("iam", endpoint_url=self.url, region_name=REGION,
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        user = f"serac-test-{tag}"
        self.user_arn = iam.create_user(UserName=user)["User"]["Arn"]
        iam.put_user_policy(UserName=user, PolicyName="everything", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        k = iam.create_access_key(UserName=user)["AccessKey"]
        self.keys = Keys(k["AccessKeyId"], k["SecretAccessKey"])
        remember_secret(self.keys.access_key_id, self.keys.secret_access_key)
        role = f"serac-vend-{tag}"
        self.role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": self.user_arn},
                           "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        iam.put_role_policy(RoleName=role, PolicyName="s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        self.set_auth(True)

    def set_auth(self, on):
        """Turn moto's signature and IAM checks on or off (they are global to the server)."""
        r = requests.post(f"{self.url}/moto-api/reset-auth", data=b"0" if on else b"inf",
                          timeout=10)
        r.raise_for_status()

    def stop(self):
        if self.paused:
            self.resume()
        if self.external_url:
            try:
                self.set_auth(False)
            except requests.RequestException:
                pass
            return
        if self.dir is not None:
            if (self.dir / "pid").exists():
                subprocess.run([str(MOTO_SCRIPT), "stop", str(self.dir)], capture_output=True,
                               timeout=60)
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- faults -----------------------------------------------------------------------------

    @property
    def pid(self):
        if self.dir is None:
            raise RuntimeError("not a moto this suite started")
        return int((self.dir / "pid").read_text())

    def pause(self):
        """SIGSTOP: connections are still accepted by the kernel, nothing is answered."""
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    # -- clients ----------------------------------------------------------------------------

    def client(self, service="s3", keys=None):
        keys = keys or self.keys
        cfg = botocore.config.Config(s3={"addressing_style": "path"},
                                     retries={"max_attempts": 2, "mode": "standard"},
                                     connect_timeout=5, read_timeout=30)
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, config=cfg,
                            aws_access_key_id=keys.access_key_id,
                            aws_secret_access_key=keys.secret_access_key,
                            aws_session_token=keys.session_token)

    def create_bucket(self, stem):
        """A new bucket with a unique name (moto may be shared with earlier runs)."""
        name = f"{stem}-{uuid.uuid4().hex[:8]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys_under(self, bucket, prefix=""):
        """Every object key in bucket under prefix (all pages)."""
        s3 = self.client()
        out = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return sorted(out)

    def read(self, uri):
        bucket, key = split_uri(uri)
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def exists(self, uri):
        bucket, key = split_uri(uri)
        try:
            self.client().head_object(Bucket=bucket, Key=key)
            return True
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise


class RecordingProxy:
    """A loopback TCP forwarder to moto that keeps a copy of every request it passes on.

    Bytes go through unchanged (the Host header a client signed stays the one moto checks), so
    a warehouse can point `sts-endpoint` here and the test can read the AssumeRole calls serac
    made: `requests()` parses the recorded stream into (request line, headers, body) tuples.
    """

    def __init__(self, target_url):
        host, port = target_url.split("://", 1)[1].rstrip("/").split(":")
        self.target = (host, int(port))
        self.lock = threading.Lock()
        self.streams = []  # one bytearray of request bytes per connection
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=30)
            except OSError:
                client.close()
                continue
            stream = bytearray()
            with self.lock:
                self.streams.append(stream)
            threading.Thread(target=self._pipe, args=(client, upstream, stream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, None), daemon=True).start()

    def _pipe(self, src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record is not None:
                    with self.lock:
                        record += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (dst,):
                try:
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    def requests(self):
        out = []
        with self.lock:
            streams = [bytes(s) for s in self.streams]
        for raw in streams:
            while raw:
                head, sep, rest = raw.partition(b"\r\n\r\n")
                if not sep:
                    break
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0"))
                out.append((lines[0], headers, rest[:n].decode("utf-8", "replace")))
                raw = rest[n:]
        return out

    def close(self):
        self.sock.close()


def split_uri(uri):
    """("bucket", "key") of s3://bucket/key (s3a:// and s3n:// too)."""
    for scheme in ("s3://", "s3a://", "s3n://"):
        if uri.startswith(scheme):
            rest = uri[len(scheme):]
            bucket, _, key = rest.partition("/")
            return bucket, key
    raise AssertionError(f"not an s3 URI: {uri}")


def storage_settings(moto, **extra):
    """S3 settings for a warehouse on moto: keys as env: references (see server_env)."""
    s = {"type": "s3", "endpoint": moto.url, "region": REGION,
         "access-key-id": f"env:{AK_ENV}", "secret-access-key": f"env:{SK_ENV}"}
    s.update(extra)
    return s


def server_env(moto):
    """The environment serac needs to resolve storage_settings()'s references."""
    return {AK_ENV: moto.keys.access_key_id, SK_ENV: moto.keys.secret_access_key}


# Every serac the S3 suite started, running or stopped (their output is checked at the end).
SERVERS = []


def start_serac(moto, name, location, storage, extra_args=(), env=None, **kw):
    """A serac whose default warehouse is at location with these storage settings (keys as
    env: references resolved from its environment)."""
    from serac_server import SeracServer

    full_env = server_env(moto)
    full_env.update(env or {})
    srv = SeracServer(name=name, env=full_env, extra_args=[
        "--warehouse-location", location,
        "--warehouse-storage", json.dumps(storage), *extra_args], **kw)
    SERVERS.append(srv)
    return srv.start()


def session_moto(name="moto-s3"):
    """The suite's moto: $SERAC_TEST_S3_ENDPOINT's, or a new one."""
    _client_env_hygiene()
    return MotoS3(name=name, external_url=os.environ.get("SERAC_TEST_S3_ENDPOINT")).start()


def wait_until(pred, seconds=10.0, step=0.1):
    deadline = time.monotonic() + seconds
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


class Management:
    """/management/v1/warehouses through plain requests (its create answers 201, which the
    spec client refuses for Iceberg routes); every error body must still be an ErrorModel."""

    def __init__(self, base_url):
        self.base = base_url.rstrip("/") + "/management/v1/warehouses"
        self.session = requests.Session()

    def _check(self, r):
        if r.status_code >= 400:
            import openapi_check
            body = r.json()
            errs = openapi_check.schema_errors("IcebergErrorResponse", body)
            assert not errs, f"{r.request.method} {r.url} -> {r.status_code}: {errs} {body!r}"
            assert body["error"]["code"] == r.status_code, body
        return r

    def create(self, name, location, storage=None, probe=None):
        body = {"name": name, "location": location}
        if storage is not None:
            body["storage"] = storage
        params = {} if probe is None else {"probe": "true" if probe else "false"}
        return self._check(self.session.post(self.base, json=body, params=params, timeout=60))

    def list(self):
        return self._check(self.session.get(self.base, timeout=30))

    def get(self, name):
        return self._check(self.session.get(f"{self.base}/{name}", timeout=30))

    def set_storage(self, name, storage, probe=None):
        params = {} if probe is None else {"probe": "true" if probe else "false"}
        return self._check(self.session.put(f"{self.base}/{name}/storage", json=storage,
                                            params=params, timeout=60))

    def delete(self, name):
        return self._check(self.session.delete(f"{self.base}/{name}", timeout=30))


def error_message(r):
    """The ErrorModel message of a requests.Response (or rest_client.Response)."""
    body = r.json() if hasattr(r, "json") and callable(r.json) else r.body
    return body["error"]["message"]
