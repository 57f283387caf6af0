"""Self-tests of the response validator: it must reject what the spec rejects (no server needed)."""

import pytest

import openapi_check as oc


def test_spec_loads_with_expected_operations():
    ops = {op.operation_id for _, op in oc._routes()}
    for name in ("getConfig", "listNamespaces", "createNamespace", "loadTable", "updateTable",
                 "renameTable", "loadCredentials", "registerTable", "reportMetrics"):
        assert name in ops


def test_catalog_config_example_is_valid():
    oc.check("CatalogConfig", {"defaults": {}, "overrides": {"prefix": "wh"},
                               "endpoints": ["GET /v1/{prefix}/namespaces"]})


def test_catalog_config_without_defaults_is_invalid():
    assert oc.schema_errors("CatalogConfig", {"overrides": {}})
    with pytest.raises(AssertionError):
        oc.check("CatalogConfig", {"overrides": {}})


def test_nullable_fields_accept_null():
    oc.check("ListNamespacesResponse", {"namespaces": [["a"]], "next-page-token": None})
    oc.check("GetNamespaceResponse", {"namespace": ["a"], "properties": None})
    oc.check("UpdateNamespacePropertiesResponse", {"updated": [], "removed": [], "missing": None})


def test_error_model_is_strict():
    oc.check("IcebergErrorResponse", {"error": {"message": "m", "type": "T", "code": 404}})
    assert oc.schema_errors("IcebergErrorResponse", {"error": {"message": "m", "type": "T"}})
    assert oc.schema_errors("IcebergErrorResponse",
                            {"error": {"message": "m", "type": "T", "code": 404}, "x": 1})
    assert oc.schema_errors("IcebergErrorResponse", {"message": "m", "type": "T", "code": 404})


def test_load_table_result_types_are_checked():
    good = {"metadata": {"format-version": 2, "table-uuid": "u", "current-snapshot-id": -1},
            "metadata-location": "file:///x/00000-a.metadata.json"}
    oc.check("LoadTableResult", good)
    bad = {"metadata": {"format-version": 2, "table-uuid": "u", "snapshots": "none"}}
    assert oc.schema_errors("LoadTableResult", bad)
    assert oc.schema_errors("LoadTableResult", {"metadata-location": "x"})
    assert oc.schema_errors("LoadCredentialsResponse", {})


@pytest.mark.parametrize("method,path,schema", [
    ("GET", "/v1/config", "CatalogConfig"),
    ("GET", "/v1/default/namespaces", "ListNamespacesResponse"),
    ("GET", "/v1/namespaces", "ListNamespacesResponse"),
    ("POST", "/v1/default/namespaces", "CreateNamespaceResponse"),
    ("GET", "/v1/default/namespaces/a%1Fb", "GetNamespaceResponse"),
    ("POST", "/v1/default/namespaces/a/properties", "UpdateNamespacePropertiesResponse"),
    ("GET", "/v1/default/namespaces/a/tables", "ListTablesResponse"),
    ("POST", "/v1/default/namespaces/a/tables", "LoadTableResult"),
    ("POST", "/v1/default/namespaces/a/register", "LoadTableResult"),
    ("GET", "/v1/default/namespaces/a/tables/t", "LoadTableResult"),
    ("POST", "/v1/default/namespaces/a/tables/t", "CommitTableResponse"),
    ("GET", "/v1/default/namespaces/a/tables/t/credentials", "LoadCredentialsResponse"),
])
def test_route_to_schema_mapping(method, path, schema):
    op = oc.operation_for(method, path)
    assert op is not None
    assert oc.response_schema(op, 200) == (True, schema)
    assert oc.response_schema(op, 404)[1] == "IcebergErrorResponse"


@pytest.mark.parametrize("method,path", [
    ("HEAD", "/v1/default/namespaces/a"), ("DELETE", "/v1/default/namespaces/a"),
    ("HEAD", "/v1/default/namespaces/a/tables/t"), ("DELETE", "/v1/default/namespaces/a/tables/t"),
    ("POST", "/v1/default/tables/rename"), ("POST", "/v1/default/namespaces/a/tables/t/metrics"),
])
def test_no_body_routes(method, path):
    op = oc.operation_for(method, path)
    assert oc.response_schema(op, 204) == (True, None)
    assert oc.response_schema(op, 200)[0] is False
