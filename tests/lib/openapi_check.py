"""Validate responses against the Iceberg REST OpenAPI spec (tests/spec/rest-catalog-open-api.yaml).

The spec is OpenAPI 3.1, but five fields use the 3.0 keyword `nullable`, which a 3.1 validator
ignores; they are rewritten into `[type, "null"]` unions before validating.

`operation_for(method, path)` finds the spec operation for a concrete request path (with or
without the `{prefix}` segment), and `response_schema(op, status)` names the component schema
the spec declares for that status (`LoadTableResult`, `IcebergErrorResponse`, ...).
"""

import functools
import re
from pathlib import Path

import yaml
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "spec" / "rest-catalog-open-api.yaml"
SPEC_URN = "urn:iceberg-rest-spec"

# First path segments after /v1/ that start a route without a {prefix}.
_UNPREFIXED = {"namespaces", "tables", "transactions", "views"}


def _fix_nullable(node):
    if isinstance(node, dict):
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for v in node.values():
            _fix_nullable(v)
    elif isinstance(node, list):
        for v in node:
            _fix_nullable(v)


def _allow_v3_null_snapshot(doc):
    """TableMetadata.current-snapshot-id: integer, or null.

    The YAML types it as a plain integer, but the table spec (format/spec.md) and Java 1.11's
    TableMetadataParser write JSON null for "no current snapshot" from format v3 on (-1 before).
    The null is accepted here; rest_client checks that it only appears on v3+ metadata.
    """
    field = doc["components"]["schemas"]["TableMetadata"]["properties"]["current-snapshot-id"]
    assert field.get("type") == "integer", field
    field["type"] = ["integer", "null"]


@functools.lru_cache(maxsize=1)
def spec():
    with open(SPEC_PATH) as f:
        doc = yaml.safe_load(f)
    _fix_nullable(doc)
    _allow_v3_null_snapshot(doc)
    return doc


@functools.lru_cache(maxsize=1)
def _registry():
    return Registry().with_resource(
        SPEC_URN, Resource.from_contents(spec(), default_specification=DRAFT202012))


@functools.lru_cache(maxsize=None)
def _validator(schema_name):
    if schema_name not in spec()["components"]["schemas"]:
        raise KeyError(f"no component schema {schema_name!r} in the spec")
    return OAS31Validator({"$ref": f"{SPEC_URN}#/components/schemas/{schema_name}"},
                          registry=_registry())


def schema_errors(schema_name, body):
    """Every validation error of `body` against components/schemas/<schema_name>, as strings."""
    errs = []
    for e in _validator(schema_name).iter_errors(body):
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        errs.append(f"{where}: {e.message[:300]}")
    return errs


def check(schema_name, body):
    """Raise AssertionError listing the errors unless `body` is valid for `schema_name`."""
    errs = schema_errors(schema_name, body)
    assert not errs, f"response does not match schema {schema_name}:\n  " + "\n  ".join(errs[:20])


class Operation:
    def __init__(self, method, template, node):
        self.method = method
        self.template = template
        self.node = node
        self.operation_id = node.get("operationId")

    def __repr__(self):
        return f"<{self.method} {self.template} {self.operation_id}>"


@functools.lru_cache(maxsize=1)
def _routes():
    routes = []
    for template, item in spec()["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        for method, node in item.items():
            if method in ("get", "post", "put", "delete", "head", "patch"):
                routes.append((re.compile(pattern), Operation(method.upper(), template, node)))
    # literal segments win over parameters: try templates with more literal text first
    routes.sort(key=lambda r: -len(re.sub(r"\{[^}]+\}", "", r[1].template)))
    return routes


def operation_for(method, path):
    """The spec operation serving METHOD path (path without query), or None for non-spec routes.

    Routes without a prefix (/v1/namespaces/...) are matched as if a prefix were present.
    """
    method = method.upper()
    candidates = [path]
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "v1" and parts[2] in _UNPREFIXED:
        candidates.insert(0, "/v1/_/" + "/".join(parts[2:]))
    for cand in candidates:
        for rx, op in _routes():
            if op.method == method and rx.match(cand):
                return op
    return None


def _deref(node):
    """Follow a local $ref inside the spec."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        cur = spec()
        for part in ref[2:].split("/"):
            cur = cur[part]
        node = cur
    return node


def declared_statuses(op):
    return [str(k) for k in op.node.get("responses", {})]


def response_schema(op, status):
    """(declared, schema_name) for `status` of `op`.

    declared is False when the operation lists neither the exact status nor its class (4XX/5XX)
    nor a default. schema_name is the component schema of the JSON body, or None if no body.
    """
    responses = {str(k).upper(): v for k, v in op.node.get("responses", {}).items()}
    key = str(status)
    declared = True
    if key not in responses:
        key = key[0] + "XX"
        if key not in responses:
            key = "DEFAULT" if "DEFAULT" in responses else None
    if key is None:
        declared = False
        return declared, ("IcebergErrorResponse" if status >= 400 else None)
    resp = _deref(responses[key])
    content = resp.get("content", {}).get("application/json")
    if not content:
        return declared, None
    schema = content.get("schema", {})
    ref = schema.get("$ref", "")
    m = re.match(r"#/components/schemas/(.+)$", ref)
    if m:
        return declared, m.group(1)
    raise AssertionError(f"{op}: {status} has an inline schema; add a mapping for it")
