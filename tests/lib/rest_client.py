"""HTTP client for the API tests: every response is checked against the Iceberg REST spec.

Every request of the API suite goes through RestClient.request(), which checks, before the test
sees the response:

- the status is one a Java client accepts (never 201) and, for a spec operation, a success
  status the spec declares for that operation;
- no 5xx, unless the caller passes allow_5xx=True;
- HEAD, 204 and 304 answers carry no body;
- every JSON body parses, has Content-Type application/json and matches the component schema
  the spec names for that operation and status (CatalogConfig, LoadTableResult, ...);
- every error body is an IcebergErrorResponse whose error.code equals the HTTP status.

The schema a response was checked against is in Response.schema.
"""

import json as jsonlib
import threading
from urllib.parse import quote, urlsplit

import requests

import openapi_check

SEP = "%1F"

# Success statuses the spec does not list but the Java client accepts; (operationId, status).
_EXTRA_SUCCESS = {("renameTable", 200)}


def enc(level):
    """Percent-encode one namespace level or table name as a single path segment (%20 for space)."""
    return quote(level, safe="")


def ns_path(levels, sep=SEP):
    """The {namespace} path parameter: levels encoded and joined with the %1F separator."""
    if isinstance(levels, str):
        levels = [levels]
    return sep.join(enc(x) for x in levels)


class Response:
    def __init__(self, method, url, raw, body, schema, op):
        self.method = method
        self.url = url
        self.raw = raw
        self.status = raw.status_code
        self.headers = raw.headers
        self.text = raw.text
        self.body = body
        self.schema = schema
        self.op = op

    @property
    def json(self):
        return self.body

    @property
    def error(self):
        """The ErrorModel of an error response (dict), or None."""
        if isinstance(self.body, dict):
            return self.body.get("error")
        return None

    def __repr__(self):
        return f"<{self.method} {self.url} -> {self.status} {self.text[:300]!r}>"


class RestClient:
    """A requests.Session bound to a base URL and a catalog prefix.

    `p` is the catalog path root, "/v1/<prefix>" (or "/v1" with prefix=None).
    """

    def __init__(self, base_url, prefix="default", timeout=30):
        self.base_url = base_url.rstrip("/")
        self.prefix = prefix
        self.timeout = timeout
        self._local = threading.local()
        self.history_lock = threading.Lock()
        self.count = 0

    @property
    def p(self):
        return f"/v1/{self.prefix}" if self.prefix else "/v1"

    @property
    def session(self):
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            self._local.session = s
        return s

    # -- requests -----------------------------------------------------------------------

    def request(self, method, path, *, json=None, data=None, params=None, headers=None,
                allow_5xx=False, timeout=None):
        """Send METHOD base_url+path and validate the response (see the module docstring).

        `path` must already be percent-encoded. `json` is serialised as the body; `data` (bytes
        or str) is sent as is with Content-Type application/json unless headers say otherwise.
        """
        method = method.upper()
        hdrs = {"Accept": "application/json"}
        body = None
        if json is not None:
            body = jsonlib.dumps(json).encode()
            hdrs["Content-Type"] = "application/json"
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        url = self.base_url + path
        raw = self.session.request(method, url, data=body, params=params, headers=hdrs,
                                   timeout=timeout or self.timeout, allow_redirects=False)
        with self.history_lock:
            self.count += 1
        return self._validate(method, url, raw, allow_5xx)

    def _validate(self, method, url, raw, allow_5xx):
        status = raw.status_code
        where = f"{method} {url} -> {status}"
        urlpath = urlsplit(raw.request.url).path
        op = openapi_check.operation_for(method, urlpath)
        assert status != 201, f"{where}: 201 is an error for the Java client; answer 200"
        if not allow_5xx:
            assert status < 500, f"{where}: server error: {raw.text[:2000]}"
        content = raw.content
        if method == "HEAD" or status in (204, 304):
            assert content == b"", f"{where}: must have no body, got {content[:200]!r}"
            if op is not None and 200 <= status < 300:
                declared, _ = openapi_check.response_schema(op, status)
                assert declared or (op.operation_id, status) in _EXTRA_SUCCESS, \
                    f"{where}: {op.operation_id} does not declare {status}"
            return Response(method, url, raw, None, None, op)

        if status >= 400:
            body = self._parse(where, raw, required=True)
            self._check_error(where, status, body)
            return Response(method, url, raw, body, "IcebergErrorResponse", op)

        if op is None:
            # Not a spec route (health and the like): any JSON body is parsed, not validated.
            body = self._parse(where, raw, required=False)
            return Response(method, url, raw, body, None, op)

        declared, schema = openapi_check.response_schema(op, status)
        assert declared or (op.operation_id, status) in _EXTRA_SUCCESS, \
            f"{where}: {op.operation_id} does not declare status {status} " \
            f"(declared: {openapi_check.declared_statuses(op)})"
        if schema is None:
            assert content == b"", \
                f"{where}: the spec declares no body for this status, got {content[:200]!r}"
            return Response(method, url, raw, None, None, op)
        body = self._parse(where, raw, required=True)
        openapi_check.check(schema, body)
        md = body.get("metadata") if isinstance(body, dict) else None
        if schema in ("LoadTableResult", "CommitTableResponse") and isinstance(md, dict):
            if "current-snapshot-id" in md and md["current-snapshot-id"] is None:
                assert md.get("format-version", 0) >= 3, \
                    f"{where}: current-snapshot-id null is only valid from format v3 on (-1 before)"
        return Response(method, url, raw, body, schema, op)

    @staticmethod
    def _parse(where, raw, required):
        content = raw.content
        if not content:
            assert not required, f"{where}: expected a JSON body, got none"
            return None
        ctype = raw.headers.get("Content-Type", "")
        if not ctype.lower().startswith("application/json"):
            assert not required, f"{where}: Content-Type {ctype!r}, expected application/json"
            return None
        try:
            return jsonlib.loads(content)
        except ValueError as e:
            raise AssertionError(f"{where}: body is not JSON ({e}): {content[:300]!r}")

    @staticmethod
    def _check_error(where, status, body):
        errs = openapi_check.schema_errors("IcebergErrorResponse", body)
        assert not errs, f"{where}: error body is not an IcebergErrorResponse: {errs} {body!r}"
        assert body["error"]["code"] == status, \
            f"{where}: error.code {body['error']['code']} differs from the HTTP status"

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    # -- catalog shortcuts (paths under the prefix) ---------------------------------------

    def ns_url(self, ns):
        return f"{self.p}/namespaces/{ns_path(ns)}"

    def table_url(self, ns, name):
        return f"{self.ns_url(ns)}/tables/{enc(name)}"

    def create_namespace(self, ns, properties=None, expect=200):
        body = {"namespace": list(ns)}
        if properties is not None:
            body["properties"] = properties
        r = self.post(f"{self.p}/namespaces", json=body)
        if expect is not None:
            assert r.status == expect, r
        return r

    def create_table(self, ns, name, schema=None, expect=200, **fields):
        body = {"name": name, "schema": schema or default_schema()}
        for k, v in fields.items():
            body[k.replace("_", "-")] = v
        r = self.post(f"{self.ns_url(ns)}/tables", json=body)
        if expect is not None:
            assert r.status == expect, r
        return r

    def load_table(self, ns, name, expect=200, **kw):
        r = self.get(self.table_url(ns, name), **kw)
        if expect is not None:
            assert r.status == expect, r
        return r

    def commit(self, ns, name, requirements=(), updates=(), expect=200, **kw):
        r = self.post(self.table_url(ns, name),
                      json={"requirements": list(requirements), "updates": list(updates)}, **kw)
        if expect is not None:
            assert r.status == expect, r
        return r


def default_schema():
    """A small v2-compatible schema: id long (required), category string, ts timestamp."""
    return {
        "type": "struct",
        "schema-id": 0,
        "fields": [
            {"id": 1, "name": "id", "type": "long", "required": True},
            {"id": 2, "name": "category", "type": "string", "required": False},
            {"id": 3, "name": "ts", "type": "timestamp", "required": False},
        ],
    }
