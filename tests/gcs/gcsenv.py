"""A GCS world for the GCS suite: fake-gcs-server, an OAuth2 token endpoint, and JSON-API glue.

fake-gcs-server (scripts/fake-gcs-server.sh, or the one at $SERAC_TEST_GCS_ENDPOINT) stores
objects in memory and checks no credentials. So that authentication is still tested, the
service-account path runs against TokenServer, a local stand-in for Google's token_uri that
verifies serac's RS256-signed JWT with the key's public half before it hands out an access token,
and a recording proxy in front of the emulator shows which Authorization header serac sent.
"""

import base64
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "fake-gcs-server.sh"

SECRETS = set()
# Every serac the suite started (their output is checked for SECRETS at the end).
SERVERS = []


def remember_secret(*values):
    for v in values:
        if v:
            SECRETS.add(v)


class FakeGcs:
    def __init__(self, external_url=None):
        self.external_url = external_url
        self.url = None
        self.dir = None

    def start(self):
        if self.external_url:
            self.url = self.external_url.rstrip("/")
            return self
        r = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise RuntimeError(f"fake-gcs-server.sh start failed ({r.returncode}): {r.stderr}")
        env = dict(line.replace("export ", "", 1).split("=", 1)
                   for line in r.stdout.splitlines() if line.startswith("export "))
        self.url = env["SERAC_TEST_GCS_ENDPOINT"]
        self.dir = env["SERAC_TEST_GCS_DIR"]
        return self

    def stop(self):
        if self.dir:
            subprocess.run([str(SCRIPT), "stop", self.dir], capture_output=True, timeout=60)

    def create_bucket(self, stem):
        name = f"{stem}-{uuid.uuid4().hex[:8]}"
        r = requests.post(f"{self.url}/storage/v1/b", params={"project": "test"},
                          json={"name": name}, timeout=30)
        assert r.status_code == 200, r.text
        return name

    def names_under(self, bucket, prefix=""):
        out, token = [], None
        while True:
            params = {"prefix": prefix}
            if token:
                params["pageToken"] = token
            r = requests.get(f"{self.url}/storage/v1/b/{bucket}/o", params=params, timeout=30)
            assert r.status_code == 200, r.text
            body = r.json()
            out += [o["name"] for o in body.get("items", [])]
            token = body.get("nextPageToken")
            if not token:
                return sorted(out)

    def read(self, uri):
        bucket, name = split_uri(uri)
        r = requests.get(f"{self.url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}",
                         params={"alt": "media"}, timeout=30)
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        return r.content


def split_uri(uri):
    assert uri.startswith("gs://"), uri
    bucket, _, name = uri[5:].partition("/")
    return bucket, name


def _b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class TokenServer:
    """Google's token endpoint in miniature (RFC 7523 JWT bearer grant) for one key pair.

    new_service_account() makes an RSA key and the service-account JSON serac reads; a POST of
    a JWT signed with that key (iss = client_email, aud = token_uri, a devstorage scope, a
    current iat/exp) gets {"access_token": ..., "expires_in": 3600}. Anything else is 400.
    `issued` lists the tokens handed out, `refused` the reasons for refusals.
    """

    def __init__(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = self.key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode()
        self.email = f"serac-test-{uuid.uuid4().hex[:6]}@test-project.iam.gserviceaccount.com"
        self.issued = []
        self.refused = []
        self.claims = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                status, answer = outer._grant(parse_qs(body))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        remember_secret(self.pem.strip().splitlines()[1])  # a line of the key's body

    def service_account_json(self):
        return json.dumps({"type": "service_account", "project_id": "test-project",
                           "private_key_id": uuid.uuid4().hex, "private_key": self.pem,
                           "client_email": self.email, "client_id": "1",
                           "token_uri": self.url})

    def _grant(self, form):
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def refuse(why):
            self.refused.append(why)
            return 400, {"error": "invalid_grant", "error_description": why}

        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return refuse(f"grant_type {form.get('grant_type')}")
        try:
            head_b64, claims_b64, sig_b64 = form["assertion"][0].split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            sig = _b64url_decode(sig_b64)
        except (KeyError, ValueError) as e:
            return refuse(f"malformed assertion: {e}")
        if header.get("alg") != "RS256":
            return refuse(f"alg {header.get('alg')}")
        try:
            self.key.public_key().verify(sig, f"{head_b64}.{claims_b64}".encode(),
                                         padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return refuse("bad signature")
        now = time.time()
        if claims.get("iss") != self.email or claims.get("aud") != self.url:
            return refuse(f"iss/aud {claims.get('iss')} {claims.get('aud')}")
        if "devstorage" not in claims.get("scope", ""):
            return refuse(f"scope {claims.get('scope')}")
        if not (now - 300 <= claims.get("iat", 0) <= now + 300) or \
                not (now < claims.get("exp", 0) <= now + 3900):
            return refuse(f"iat/exp {claims.get('iat')} {claims.get('exp')}")
        self.claims.append(claims)
        token = f"ya29.test-{uuid.uuid4().hex}"
        self.issued.append(token)
        remember_secret(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_until(pred, seconds=10.0, step=0.1):
    deadline = time.monotonic() + seconds
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def write_secret_file(text):
    """A 0600 file holding text (for file: references); removed at interpreter exit."""
    fd, path = tempfile.mkstemp(prefix="serac-gcs-secret-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    import atexit
    atexit.register(lambda: os.path.exists(path) and os.unlink(path))
    return path
