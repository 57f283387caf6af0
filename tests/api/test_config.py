"""GET /v1/config, health, request IDs and CORS."""

import re

import openapi_check
from helpers import assert_error

# Catalog routes the core server implements; each must be advertised in `endpoints`.
REQUIRED_ENDPOINTS = [
    "GET /v1/{prefix}/namespaces",
    "POST /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "DELETE /v1/{prefix}/namespaces/{namespace}",
    "POST /v1/{prefix}/namespaces/{namespace}/properties",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "POST /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/register",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials",
    "POST /v1/{prefix}/tables/rename",
]


def test_config_defaults(api):
    r = api.get("/v1/config")
    assert r.status == 200, r
    assert r.schema == "CatalogConfig"
    assert isinstance(r.body["defaults"], dict)
    assert r.body["overrides"].get("prefix") == "default"
    assert r.headers["Content-Type"].startswith("application/json")


def test_config_warehouse_default_param(api):
    plain = api.get("/v1/config").body
    r = api.get("/v1/config", params={"warehouse": "default"})
    assert r.status == 200, r
    assert r.body["overrides"]["prefix"] == "default"
    assert r.body["overrides"] == plain["overrides"]


def test_config_unknown_warehouse_404(api):
    r = api.get("/v1/config", params={"warehouse": "no_such_warehouse_xyz"})
    assert_error(r, 404, "NoSuchWarehouseException")


def test_config_endpoints_format(api):
    eps = api.get("/v1/config").body.get("endpoints")
    assert isinstance(eps, list) and eps, "endpoints must be advertised"
    assert len(eps) == len(set(eps)), f"duplicate endpoints: {eps}"
    spec_paths = openapi_check.spec()["paths"]
    for e in eps:
        assert re.fullmatch(r"(GET|HEAD|POST|DELETE|PUT) /v1/\{prefix\}/\S+", e), \
            f"endpoint {e!r} is not exactly 'VERB /v1/{{prefix}}/...'"
        verb, path = e.split(" ")
        assert path in spec_paths, f"endpoint {e!r} is not a spec path"
        assert verb.lower() in spec_paths[path], f"endpoint {e!r}: the spec has no {verb} there"


def test_config_endpoints_include_core_and_head(api):
    eps = set(api.get("/v1/config").body["endpoints"])
    missing = [e for e in REQUIRED_ENDPOINTS if e not in eps]
    assert not missing, f"endpoints not advertised: {missing}"


def test_config_never_empty_prefix(api):
    cfg = api.get("/v1/config").body
    for m in (cfg["defaults"], cfg["overrides"]):
        assert m.get("prefix", "x") != ""
        assert all(isinstance(v, str) for v in m.values()), m


def test_routes_with_and_without_prefix_agree(api, ns):
    with_prefix = api.get(f"/v1/default/namespaces/{ns[0]}")
    without = api.get(f"/v1/namespaces/{ns[0]}")
    assert with_prefix.status == 200 and without.status == 200, (with_prefix, without)
    assert with_prefix.body["namespace"] == without.body["namespace"] == ns


def test_unknown_prefix_is_404(api):
    r = api.get("/v1/no_such_prefix_xyz/namespaces")
    assert r.status == 404, r


def test_health(api):
    for path in ("/health/live", "/health/ready"):
        r = api.get(path)
        assert r.status == 200, r


def test_request_id_echoed(api):
    rid = "test-req-1234-abcd"
    r = api.get("/v1/config", headers={"X-Request-ID": rid})
    assert r.headers.get("X-Request-ID") == rid


def test_request_id_generated(api):
    a = api.get("/v1/config").headers.get("X-Request-ID")
    b = api.get("/v1/config").headers.get("X-Request-ID")
    assert a and b, "X-Request-ID must be generated when the client sends none"
    assert a != b


def test_request_id_on_errors(api):
    rid = "err-req-5678"
    r = api.get("/v1/default/namespaces/definitely_missing_ns", headers={"X-Request-ID": rid})
    assert r.status == 404
    assert r.headers.get("X-Request-ID") == rid


def test_no_cors_headers_without_flag(api):
    r = api.get("/v1/config", headers={"Origin": "http://example.test"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_cors_preflight(start_server):
    from rest_client import RestClient
    srv = start_server("--cors-origins", "http://allowed.test,http://other.test")
    c = RestClient(srv.url)
    r = c.request("OPTIONS", "/v1/default/namespaces", headers={
        "Origin": "http://allowed.test",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-request-id"})
    assert r.status in (200, 204), r
    assert r.headers.get("Access-Control-Allow-Origin") in ("http://allowed.test", "*"), r.headers
    methods = r.headers.get("Access-Control-Allow-Methods", "").upper()
    assert "POST" in methods, r.headers
    allowed_headers = r.headers.get("Access-Control-Allow-Headers", "").lower()
    assert "content-type" in allowed_headers or allowed_headers == "*", r.headers

    # an actual request from an allowed origin carries the header too
    r = c.get("/v1/config", headers={"Origin": "http://other.test"})
    assert r.status == 200
    assert r.headers.get("Access-Control-Allow-Origin") in ("http://other.test", "*")

    # an origin not in the list gets no grant
    r = c.request("OPTIONS", "/v1/default/namespaces", headers={
        "Origin": "http://evil.test", "Access-Control-Request-Method": "POST"})
    assert r.headers.get("Access-Control-Allow-Origin") not in ("http://evil.test", "*")


def test_request_id_odd_values_are_not_echoed_raw(api, server):
    import socket
    from urllib.parse import urlsplit
    u = urlsplit(server.url)
    for rid in (b"x" * 5000, b"bad\x01id", b"quote\"and<html>"):
        req = (b"GET /v1/config HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
               b"X-Request-ID: " + rid + b"\r\n\r\n")
        with socket.create_connection((u.hostname, u.port), timeout=5) as s:
            s.sendall(req)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head = data.split(b"\r\n\r\n", 1)[0]
        status = int(head.split(b" ", 2)[1])
        assert status in (200, 400, 431), head[:200]
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"x-request-id:"):
                value = line.split(b":", 1)[1].strip()
                assert len(value) <= 256, "request ID must be capped"
                assert all(0x20 <= c < 0x7f for c in value), value
    assert api.get("/health/ready").status == 200


def _raw_exchange(server, request):
    """Sends one raw HTTP/1.1 request; returns (status or None when the connection was closed
    or reset without an answer, the response bytes)."""
    import socket
    from urllib.parse import urlsplit
    u = urlsplit(server.url)
    data = b""
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        try:
            s.sendall(request)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
    if not data.startswith(b"HTTP/1.1 "):
        return None, data
    return int(data.split(b" ", 2)[1]), data


def test_eight_kib_of_request_headers_are_served(api, server, ns):
    """Per-connection memory is bounded (--connection-memory, 10 KiB by default), yet request
    headers as large as common servers accept (8 KB: Tomcat's, Jetty's and Vert.x's defaults;
    a large OIDC bearer token) are served on reads, on mutations with a body, and on answers
    that carry an ETag."""
    import json
    pad = b"a" * 8000
    head = b"Host: 127.0.0.1\r\nConnection: close\r\nX-Client-Token: " + pad + b"\r\n"
    status, data = _raw_exchange(server, b"GET /v1/config HTTP/1.1\r\n" + head + b"\r\n")
    assert status == 200, data[:200]
    body = json.dumps({"name": "wide_headers", "schema": {
        "type": "struct", "fields": [{"id": 1, "name": "x", "type": "long", "required": False}]}}).encode()
    path = f"/v1/default/namespaces/{ns[0]}/tables".encode()
    status, data = _raw_exchange(server, b"POST " + path + b" HTTP/1.1\r\n" + head +
                                 b"Content-Type: application/json\r\nContent-Length: " +
                                 str(len(body)).encode() + b"\r\n\r\n" + body)
    assert status == 200, data[:300]
    status, data = _raw_exchange(server, b"GET " + path + b"/wide_headers HTTP/1.1\r\n" + head + b"\r\n")
    assert status == 200, data[:300]
    assert b"\r\netag: " in data.split(b"\r\n\r\n", 1)[0].lower()


def test_oversized_request_headers_refused_cleanly(api, server):
    """Headers beyond the per-connection memory are refused (431, or the connection closed),
    never a 5xx; the server goes on serving."""
    req = (b"GET /v1/config HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
           b"X-Client-Token: " + b"a" * 65536 + b"\r\n\r\n")
    status, data = _raw_exchange(server, req)
    assert status in (None, 431), data[:200]
    assert api.get("/v1/config").status == 200


def test_connection_memory_flag_sets_the_header_budget(server, start_server):
    """--connection-memory is what bounds the headers: 12 KB of headers do not fit the default
    10 KiB, and fit once the flag gives 16 KiB; a value below 4 KiB is refused at start."""
    req = (b"GET /v1/config HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
           b"X-Client-Token: " + b"a" * 12000 + b"\r\n\r\n")
    status, data = _raw_exchange(server, req)
    assert status in (None, 431), data[:200]
    roomy = start_server("--connection-memory", "16384")
    status, data = _raw_exchange(roomy, req)
    assert status == 200, data[:200]
    import subprocess
    import tempfile
    from serac_server import serac_bin
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([str(serac_bin()), "serve", "--connection-memory", "1024", "--port", "0",
                            "--data-dir", d], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "connection-memory" in (r.stderr + r.stdout)
