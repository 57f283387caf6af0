"""DuckDB's iceberg extension against a live serac, attached as an Iceberg REST catalog.

DuckDB writes Parquet and Avro files itself (the warehouse is a local file:// directory); serac
stores the metadata. When /v1/config advertises `POST /v1/{prefix}/transactions/commit`, DuckDB
sends every commit of an existing table through that route, so these tests also exercise
multi-table transactions; PyIceberg reads back what DuckDB wrote and the other way round.
"""

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (DateType, DoubleType, LongType, NestedField, StringType,
                             TimestampType)

TX_ENDPOINT = "POST /v1/{prefix}/transactions/commit"
TX_ROUTE = "/v1/{prefix}/transactions/commit"


def requests_logged(server, method, route):
    """(status, ...) of every request the server logged for `method route`, oldest first."""
    out = []
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("msg") == "request" and rec.get("method") == method \
                    and rec.get("route") == route:
                out.append(rec.get("status"))
    return out


def config_endpoints(server):
    import requests

    r = requests.get(server.url + "/v1/config", params={"warehouse": "default"}, timeout=10)
    r.raise_for_status()
    return r.json().get("endpoints") or []


def test_create_insert_select(duck, pyiceberg_catalog):
    con = duck()
    con.execute("CREATE SCHEMA serac.duck_basic")
    assert ("duck_basic",) in pyiceberg_catalog.list_namespaces()
    con.execute("""CREATE TABLE serac.duck_basic.items (
                       id BIGINT, name VARCHAR, price DOUBLE, qty INTEGER, born DATE,
                       seen TIMESTAMP, ok BOOLEAN, cost DECIMAL(10, 2))""")
    con.execute("""INSERT INTO serac.duck_basic.items VALUES
        (1, 'apple', 1.5, 10, DATE '2026-01-01', TIMESTAMP '2026-01-01 08:00:00', true, 1.25),
        (2, 'pear', 2.25, 0, DATE '2026-01-02', TIMESTAMP '2026-01-02 09:30:00', false, 3.50),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL)""")
    got = con.execute("SELECT * FROM serac.duck_basic.items ORDER BY id").fetchall()
    assert got == [
        (1, "apple", 1.5, 10, dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 8), True,
         Decimal("1.25")),
        (2, "pear", 2.25, 0, dt.date(2026, 1, 2), dt.datetime(2026, 1, 2, 9, 30), False,
         Decimal("3.50")),
        (3, None, None, None, None, None, None, None),
    ]
    # a second insert is a commit on an existing table
    con.execute("INSERT INTO serac.duck_basic.items (id, name, price) VALUES (4, 'fig', 9.0)")
    assert con.execute("SELECT count(*), sum(price) FROM serac.duck_basic.items").fetchone() == \
        (4, 12.75)

    tables = con.execute("SELECT database, schema, name FROM (SHOW ALL TABLES) "
                         "WHERE database = 'serac' AND schema = 'duck_basic'").fetchall()
    assert tables == [("serac", "duck_basic", "items")]

    # a new connection (no client-side state) sees the same rows
    con2 = duck()
    assert con2.execute("SELECT id, name FROM serac.duck_basic.items ORDER BY id").fetchall() == \
        [(1, "apple"), (2, "pear"), (3, None), (4, "fig")]

    # and so does another engine, reading the metadata serac stored for DuckDB's commits
    tbl = pyiceberg_catalog.load_table(("duck_basic", "items"))
    rows = sorted(tbl.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], r["name"], r["price"]) for r in rows] == \
        [(1, "apple", 1.5), (2, "pear", 2.25), (3, None, None), (4, "fig", 9.0)]
    assert len(tbl.snapshots()) == 2


def test_update_and_delete(duck, pyiceberg_catalog):
    con = duck()
    con.execute("CREATE SCHEMA serac.duck_dml")
    con.execute("CREATE TABLE serac.duck_dml.t (id INTEGER, s VARCHAR)")
    con.execute("INSERT INTO serac.duck_dml.t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    con.execute("UPDATE serac.duck_dml.t SET s = 'bb' WHERE id = 2")
    assert con.execute("SELECT * FROM serac.duck_dml.t ORDER BY id").fetchall() == \
        [(1, "a"), (2, "bb"), (3, "c")]
    con.execute("DELETE FROM serac.duck_dml.t WHERE id = 1")
    assert con.execute("SELECT * FROM serac.duck_dml.t ORDER BY id").fetchall() == \
        [(2, "bb"), (3, "c")]
    tbl = pyiceberg_catalog.load_table(("duck_dml", "t"))
    assert sorted(tbl.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == \
        [{"id": 2, "s": "bb"}, {"id": 3, "s": "c"}]


def test_rollback_commits_nothing(duck, pyiceberg_catalog):
    con = duck()
    con.execute("CREATE SCHEMA serac.duck_rb")
    con.execute("CREATE TABLE serac.duck_rb.t (id INTEGER)")
    con.execute("INSERT INTO serac.duck_rb.t VALUES (1)")
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO serac.duck_rb.t VALUES (2)")
    con.execute("ROLLBACK")
    assert con.execute("SELECT id FROM serac.duck_rb.t").fetchall() == [(1,)]
    assert len(pyiceberg_catalog.load_table(("duck_rb", "t")).snapshots()) == 1


def test_multi_table_transaction(duck, server, pyiceberg_catalog):
    """One DuckDB transaction writing two tables commits both through transactions/commit."""
    assert TX_ENDPOINT in config_endpoints(server), \
        "/v1/config does not advertise the multi-table commit endpoint"
    con = duck()
    con.execute("CREATE SCHEMA serac.duck_tx")
    con.execute("CREATE TABLE serac.duck_tx.orders (id INTEGER, total DOUBLE)")
    con.execute("CREATE TABLE serac.duck_tx.lines (order_id INTEGER, item VARCHAR)")
    before = requests_logged(server, "POST", TX_ROUTE)

    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO serac.duck_tx.orders VALUES (1, 9.5), (2, 20.0)")
    con.execute("INSERT INTO serac.duck_tx.lines VALUES (1, 'pen'), (1, 'ink'), (2, 'book')")
    con.execute("COMMIT")

    after = requests_logged(server, "POST", TX_ROUTE)
    new = after[len(before):]
    assert new and all(s == 204 or s == 200 for s in new), \
        f"transactions/commit requests after COMMIT: {new}"
    con2 = duck()
    assert con2.execute("SELECT o.id, o.total, count(*) FROM serac.duck_tx.orders o "
                        "JOIN serac.duck_tx.lines l ON l.order_id = o.id "
                        "GROUP BY ALL ORDER BY o.id").fetchall() == [(1, 9.5, 2), (2, 20.0, 1)]
    for name in ("orders", "lines"):
        assert len(pyiceberg_catalog.load_table(("duck_tx", name)).snapshots()) == 1


def test_read_table_written_by_pyiceberg(duck, pyiceberg_catalog):
    ns = ("duck_from_pyiceberg",)
    pyiceberg_catalog.create_namespace(ns)
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "category", StringType(), required=False),
        NestedField(3, "ts", TimestampType(), required=False),
        NestedField(4, "amount", DoubleType(), required=False),
        NestedField(5, "day", DateType(), required=False),
        identifier_field_ids=[1],
    )
    spec = PartitionSpec(
        PartitionField(source_id=3, field_id=1000, transform=DayTransform(), name="ts_day"),
        PartitionField(source_id=2, field_id=1001, transform=IdentityTransform(),
                       name="category"))
    tbl = pyiceberg_catalog.create_table(ns + ("events",), schema=schema, partition_spec=spec,
                                         properties={"format-version": "2"})
    arrow_schema = pa.schema([
        pa.field("id", pa.int64(), nullable=False), pa.field("category", pa.string()),
        pa.field("ts", pa.timestamp("us")), pa.field("amount", pa.float64()),
        pa.field("day", pa.date32())])

    def batch(rows):
        return pa.Table.from_pylist(rows, schema=arrow_schema)

    first = [
        {"id": 1, "category": "a", "ts": dt.datetime(2026, 3, 1, 10), "amount": 1.0,
         "day": dt.date(2026, 3, 1)},
        {"id": 2, "category": "b", "ts": dt.datetime(2026, 3, 2, 11), "amount": -2.5,
         "day": dt.date(2026, 3, 2)},
        {"id": 3, "category": "a", "ts": dt.datetime(2026, 3, 2, 12), "amount": 3.25,
         "day": None},
    ]
    tbl.append(batch(first))
    s1 = tbl.current_snapshot().snapshot_id
    tbl.append(batch([{"id": 4, "category": "c", "ts": dt.datetime(2026, 3, 4, 0),
                       "amount": 4.0, "day": dt.date(2026, 3, 4)}]))

    con = duck()
    got = con.execute("SELECT id, category, ts, amount, day FROM "
                      "serac.duck_from_pyiceberg.events ORDER BY id").fetchall()
    assert got == [(1, "a", dt.datetime(2026, 3, 1, 10), 1.0, dt.date(2026, 3, 1)),
                   (2, "b", dt.datetime(2026, 3, 2, 11), -2.5, dt.date(2026, 3, 2)),
                   (3, "a", dt.datetime(2026, 3, 2, 12), 3.25, None),
                   (4, "c", dt.datetime(2026, 3, 4, 0), 4.0, dt.date(2026, 3, 4))]
    # partition pruning must not lose rows
    assert con.execute("SELECT id FROM serac.duck_from_pyiceberg.events "
                       "WHERE category = 'a' ORDER BY id").fetchall() == [(1,), (3,)]
    assert con.execute("SELECT id FROM serac.duck_from_pyiceberg.events "
                       "WHERE ts >= TIMESTAMP '2026-03-02 00:00:00' AND "
                       "ts < TIMESTAMP '2026-03-03 00:00:00' ORDER BY id").fetchall() == \
        [(2,), (3,)]
    # time travel to PyIceberg's first snapshot
    assert con.execute("SELECT count(*) FROM serac.duck_from_pyiceberg.events "
                       f"AT (VERSION => {s1})").fetchone() == (3,)

    # PyIceberg deletes a row (copy-on-write); DuckDB sees the new snapshot
    from pyiceberg.expressions import EqualTo
    tbl.delete(EqualTo("id", 2))
    con2 = duck()
    assert con2.execute("SELECT id FROM serac.duck_from_pyiceberg.events ORDER BY id"
                        ).fetchall() == [(1,), (3,), (4,)]


def test_drop_table(duck, pyiceberg_catalog):
    con = duck()
    con.execute("CREATE SCHEMA serac.duck_drop")
    con.execute("CREATE TABLE serac.duck_drop.t (id INTEGER)")
    con.execute("INSERT INTO serac.duck_drop.t VALUES (1)")
    assert pyiceberg_catalog.table_exists(("duck_drop", "t"))
    con.execute("DROP TABLE serac.duck_drop.t")
    assert not pyiceberg_catalog.table_exists(("duck_drop", "t"))
    con2 = duck()
    with pytest.raises(Exception):
        con2.execute("SELECT * FROM serac.duck_drop.t")
    assert con2.execute("SELECT count(*) FROM (SHOW ALL TABLES) "
                        "WHERE database = 'serac' AND schema = 'duck_drop'").fetchone() == (0,)
