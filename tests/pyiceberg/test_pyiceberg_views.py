"""PyIceberg 0.12 views against a live serac: create, load, list, exists, register, drop.

PyIceberg sends a CreateViewRequest (schema, view version with SQL representations, properties);
serac builds the view metadata, writes its metadata file under the view location and answers
with a LoadViewResponse. Every value PyIceberg hands back is compared with what was sent.
"""

import os

import pytest
import requests
from pyiceberg.exceptions import (NoSuchNamespaceError, NoSuchViewError, RESTError,
                                  ViewAlreadyExistsError)
from pyiceberg.schema import Schema
from pyiceberg.types import DoubleType, LongType, NestedField, StringType
from pyiceberg.view.metadata import SQLViewRepresentation, ViewRepresentation, ViewVersion

VIEW_ENDPOINTS = [
    "GET /v1/{prefix}/namespaces/{namespace}/views",
    "POST /v1/{prefix}/namespaces/{namespace}/views",
    "GET /v1/{prefix}/namespaces/{namespace}/views/{view}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/views/{view}",
    "POST /v1/{prefix}/namespaces/{namespace}/views/{view}",
    "DELETE /v1/{prefix}/namespaces/{namespace}/views/{view}",
    "POST /v1/{prefix}/views/rename",
    "POST /v1/{prefix}/namespaces/{namespace}/register-view",
]

SPARK_SQL = "SELECT id, name, amount FROM sales WHERE amount > 100"
TRINO_SQL = "SELECT id, name, amount FROM sales WHERE amount > 100.0"

VIEW_SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "name", StringType(), required=False, doc="customer name"),
    NestedField(3, "amount", DoubleType(), required=False),
)


def local(uri):
    for p in ("file://", "file:"):
        if uri.startswith(p):
            return uri[len(p):]
    return uri


def files_under(path):
    out = []
    for root, _, names in os.walk(path):
        out += [os.path.join(root, n) for n in names]
    return out


def version_for(ns, *reps, summary=None):
    return ViewVersion(
        version_id=1,
        schema_id=0,
        summary=summary or {"engine-name": "pyiceberg", "engine-version": "0.12.0"},
        representations=[ViewRepresentation(SQLViewRepresentation(type="sql", sql=sql,
                                                                   dialect=dialect))
                         for dialect, sql in reps],
        default_namespace=list(ns),
    )


def field_summary(schema):
    return [(f.name, str(f.field_type), f.required, f.doc) for f in schema.fields]


def test_config_advertises_view_endpoints(server):
    r = requests.get(server.url + "/v1/config", params={"warehouse": "default"}, timeout=10)
    assert r.status_code == 200
    endpoints = r.json().get("endpoints") or []
    missing = [e for e in VIEW_ENDPOINTS if e not in endpoints]
    # PyIceberg silently lists no views when the list endpoint is not advertised
    assert missing == [], f"/v1/config does not advertise {missing}"


def test_view_life_cycle(new_catalog, server):
    cat = new_catalog()
    ns = ("views_pyi",)
    cat.create_namespace(ns)
    cat.create_table(ns + ("sales",), schema=VIEW_SCHEMA)
    ident = ns + ("big_sales",)
    assert not cat.view_exists(ident)

    created = cat.create_view(
        ident, schema=VIEW_SCHEMA,
        view_version=version_for(ns, ("spark", SPARK_SQL), ("trino", TRINO_SQL)),
        properties={"comment": "sales over 100", "owner": "pyiceberg-test"})
    assert created.name() == ident
    assert created.sql_for("spark").sql == SPARK_SQL
    assert created.sql_for("TRINO").sql == TRINO_SQL
    assert created.sql_for("duckdb") is None
    assert field_summary(created.schema()) == field_summary(VIEW_SCHEMA)
    assert created.properties["comment"] == "sales over 100"
    assert created.properties["owner"] == "pyiceberg-test"
    assert created.metadata.format_version == 1
    assert created.current_version().version_id == 1
    assert created.current_version().default_namespace == ns
    assert [e.version_id for e in created.history()] == [1]

    # serac chose the location inside the default warehouse and wrote the metadata file there
    location = created.location()
    assert location.startswith("file:"), location
    assert local(location).startswith(str(server.warehouse_dir)), location
    written = [p for p in files_under(local(location)) if p.endswith(".metadata.json")]
    assert len(written) == 1, f"metadata files under {location}: {written}"

    # exists / list / load, through a second client that shares nothing with the first
    other = new_catalog()
    assert other.view_exists(ident)
    assert other.list_views(ns) == [ident]
    assert ident not in other.list_tables(ns), "a view must not be listed as a table"
    assert not other.table_exists(ident)
    assert not other.view_exists(ns + ("sales",)), "a table is not a view"
    loaded = other.load_view(ident)
    assert loaded.uuid() == created.uuid()
    assert loaded.metadata == created.metadata
    assert loaded.sql_for("spark").sql == SPARK_SQL
    assert field_summary(loaded.schema()) == field_summary(VIEW_SCHEMA)

    # drop: gone for every call, and a second drop is a 404
    other.drop_view(ident)
    assert not cat.view_exists(ident)
    assert cat.list_views(ns) == []
    with pytest.raises(NoSuchViewError):
        cat.load_view(ident)
    with pytest.raises(NoSuchViewError):
        cat.drop_view(ident)
    # the table the view referred to is untouched
    assert cat.table_exists(ns + ("sales",))


def test_view_errors(new_catalog):
    cat = new_catalog()
    ns = ("views_err",)
    cat.create_namespace(ns)
    cat.create_table(ns + ("t",), schema=VIEW_SCHEMA)
    v = ns + ("v",)
    cat.create_view(v, schema=VIEW_SCHEMA, view_version=version_for(ns, ("spark", SPARK_SQL)))

    with pytest.raises(ViewAlreadyExistsError):
        cat.create_view(v, schema=VIEW_SCHEMA, view_version=version_for(ns, ("spark", "SELECT 1")))
    # the failed create changed nothing
    assert cat.load_view(v).sql_for("spark").sql == SPARK_SQL
    # a view may not take the name of a table
    with pytest.raises(ViewAlreadyExistsError):
        cat.create_view(ns + ("t",), schema=VIEW_SCHEMA,
                        view_version=version_for(ns, ("spark", SPARK_SQL)))
    assert not cat.view_exists(ns + ("t",))
    # PyIceberg maps only 409 for create_view: a 404 surfaces as RESTError with the server's type
    with pytest.raises(RESTError, match="^NoSuchNamespaceException"):
        cat.create_view(("no_such_ns",) + ("v",), schema=VIEW_SCHEMA,
                        view_version=version_for(("no_such_ns",), ("spark", SPARK_SQL)))
    with pytest.raises(NoSuchNamespaceError):
        cat.list_views(("no_such_ns",))
    with pytest.raises(NoSuchViewError):
        cat.load_view(ns + ("missing",))
    assert not cat.view_exists(ns + ("missing",))


def test_list_views_several(new_catalog, server):
    cat = new_catalog()
    ns = ("views_many",)
    cat.create_namespace(ns)
    names = [f"v{i}" for i in range(5)]
    for n in names:
        cat.create_view(ns + (n,), schema=VIEW_SCHEMA,
                        view_version=version_for(ns, ("spark", f"SELECT {n}")))
    assert sorted(cat.list_views(ns)) == [ns + (n,) for n in names]
    # pagination as PyIceberg drives it
    from pyiceberg.catalog.rest import RestCatalog
    paged = RestCatalog("paged", uri=server.url, warehouse="default", **{"rest-page-size": "2"})
    assert sorted(paged.list_views(ns)) == [ns + (n,) for n in names]
    for n in names:
        assert cat.load_view(ns + (n,)).sql_for("spark").sql == f"SELECT {n}"


def test_register_view(new_catalog, server):
    cat = new_catalog()
    ns = ("views_reg",)
    cat.create_namespace(ns)
    src = cat.create_view(ns + ("src",), schema=VIEW_SCHEMA,
                          view_version=version_for(ns, ("spark", SPARK_SQL)),
                          properties={"k": "v"})
    r = requests.get(f"{server.url}/v1/default/namespaces/views_reg/views/src", timeout=10)
    assert r.status_code == 200, r.text
    metadata_location = r.json()["metadata-location"]
    assert os.path.exists(local(metadata_location)), metadata_location

    reg = cat.register_view(ns + ("copy",), metadata_location)
    assert reg.name() == ns + ("copy",)
    assert reg.uuid() == src.uuid()
    assert reg.sql_for("spark").sql == SPARK_SQL
    assert reg.properties["k"] == "v"
    assert sorted(cat.list_views(ns)) == [ns + ("copy",), ns + ("src",)]
    with pytest.raises(ViewAlreadyExistsError):
        cat.register_view(ns + ("copy",), metadata_location)
