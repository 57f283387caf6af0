"""PyIceberg against a live serac: a whole table life cycle, then concurrent writers.

Every step goes through pyiceberg's RestCatalog exactly as an application would; PyIceberg writes
the Parquet and Avro files itself (the warehouse is a local file:// directory) and serac writes
the metadata files.
"""

import datetime as dt
import os
import threading
import time

import pyarrow as pa
import pytest
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
from pyiceberg.expressions import EqualTo, LessThan
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import StringType

ARROW_SCHEMA = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    pa.field("category", pa.string()),
    pa.field("ts", pa.timestamp("us")),
    pa.field("amount", pa.float64()),
])


def local(uri):
    for p in ("file://", "file:"):
        if uri.startswith(p):
            return uri[len(p):]
    return uri


def rows_of(arrow_table, key="id"):
    return sorted(arrow_table.to_pylist(), key=lambda r: r[key])


def batch(rows, schema=ARROW_SCHEMA):
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.Table.from_pydict(cols, schema=schema)


def r(i, cat, day, amount, **extra):
    row = {"id": i, "category": cat, "ts": dt.datetime(2026, 3, day, 12, i % 60), "amount": amount}
    row.update(extra)
    return row


def files_under(path):
    out = []
    for root, _, names in os.walk(path):
        out += [os.path.join(root, n) for n in names]
    return out


@pytest.mark.slow
def test_table_life_cycle(new_catalog, server):
    cat = new_catalog()
    ns = ("scenario",)
    cat.create_namespace(ns, {"owner": "pyiceberg-test"})
    assert ns in cat.list_namespaces()
    assert cat.load_namespace_properties(ns)["owner"] == "pyiceberg-test"

    ident = ns + ("events",)
    tbl = cat.create_table(ident, schema=ARROW_SCHEMA, properties={"format-version": "2"})
    with tbl.update_spec() as upd:
        upd.add_field("ts", DayTransform(), "ts_day")
        upd.add_identity("category")
    spec = tbl.spec()
    assert [(f.name, type(f.transform)) for f in spec.fields] == \
        [("ts_day", DayTransform), ("category", IdentityTransform)]
    assert cat.table_exists(ident)
    assert ident in cat.list_tables(ns)

    # first append, read back
    first = [r(1, "a", 1, 10.0), r(2, "b", 1, -5.0), r(3, "a", 2, 7.5), r(4, "c", 3, 1.25)]
    tbl.append(batch(first))
    s1 = tbl.current_snapshot().snapshot_id
    assert rows_of(tbl.scan().to_arrow()) == rows_of(batch(first))
    table_dir = local(tbl.metadata.location)
    data_files = [f for f in files_under(os.path.join(table_dir, "data")) if f.endswith(".parquet")]
    assert len(data_files) == 4, data_files
    assert any("ts_day=2026-03-01" in f and "category=a" in f for f in data_files), data_files

    # a second client sees the same table through the catalog
    other = new_catalog().load_table(ident)
    assert other.metadata.table_uuid == tbl.metadata.table_uuid
    assert rows_of(other.scan().to_arrow()) == rows_of(batch(first))
    assert rows_of(other.scan(row_filter=EqualTo("category", "a")).to_arrow()) == \
        [first[0], first[2]]

    # schema evolution: add a column, rename one
    with tbl.update_schema() as upd:
        upd.add_column("note", StringType())
        upd.rename_column("amount", "price")
    names = [f.name for f in tbl.schema().fields]
    assert names == ["id", "category", "ts", "price", "note"]
    assert tbl.schema().schema_id == 1

    evolved = pa.schema([f for f in ARROW_SCHEMA if f.name != "amount"]
                        + [pa.field("price", pa.float64()), pa.field("note", pa.string())])
    evolved = pa.schema([evolved.field(n) for n in names])

    def evolved_row(row):
        out = {k: v for k, v in row.items() if k != "amount"}
        out["price"] = row.get("amount", row.get("price"))
        out.setdefault("note", None)
        return out

    second = [r(5, "b", 2, 3.0, note="x"), r(6, "d", 4, -1.0, note="y")]
    tbl.append(batch([evolved_row(x) for x in second], evolved))
    expected = [evolved_row(x) for x in first + second]
    assert rows_of(tbl.scan().to_arrow()) == sorted(expected, key=lambda x: x["id"])

    # overwrite the 'a' rows with one replacement row
    replacement = [evolved_row(r(7, "a", 1, 99.0, note="replaced"))]
    tbl.overwrite(batch(replacement, evolved), overwrite_filter=EqualTo("category", "a"))
    expected = [x for x in expected if x["category"] != "a"] + replacement
    assert rows_of(tbl.scan().to_arrow()) == sorted(expected, key=lambda x: x["id"])

    # delete the negative prices
    tbl.delete(delete_filter=LessThan("price", 0.0))
    expected = [x for x in expected if x["price"] >= 0.0]
    assert rows_of(tbl.scan().to_arrow()) == sorted(expected, key=lambda x: x["id"])
    assert sorted(x["id"] for x in expected) == [4, 5, 7]

    # a fresh load sees exactly the same
    fresh = new_catalog().load_table(ident)
    assert rows_of(fresh.scan().to_arrow()) == sorted(expected, key=lambda x: x["id"])

    # time travel to the first snapshot: the old rows, in the old schema
    old = tbl.scan(snapshot_id=s1).to_arrow()
    assert old.schema.names == ["id", "category", "ts", "amount"]
    assert rows_of(old) == rows_of(batch(first))

    # snapshots and history
    snaps = tbl.snapshots()
    assert len(snaps) >= 4, [s.summary for s in snaps]
    assert snaps[0].snapshot_id == s1
    ops = [s.summary.operation.value for s in snaps]
    assert ops[0] == "append" and ops[1] == "append"
    assert "overwrite" in ops[2:] or "delete" in ops[2:]
    history = tbl.history()
    assert [h.snapshot_id for h in history][0] == s1
    assert history[-1].snapshot_id == tbl.current_snapshot().snapshot_id
    assert len(tbl.metadata.metadata_log) >= 6

    # tags point at old snapshots and survive a reload
    tbl.manage_snapshots().create_tag(s1, "first").commit()
    assert new_catalog().load_table(ident).snapshot_by_name("first").snapshot_id == s1

    # drop with purge: every file of the table goes away
    assert files_under(table_dir)
    cat.purge_table(ident)
    with pytest.raises(NoSuchTableError):
        cat.load_table(ident)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and os.path.exists(table_dir) and files_under(table_dir):
        time.sleep(0.2)
    left = files_under(table_dir) if os.path.exists(table_dir) else []
    assert not left, f"purge left files behind: {left[:10]}"
    cat.drop_namespace(ns)
    assert ns not in cat.list_namespaces()


WRITERS = 4
BATCHES = 6


@pytest.mark.slow
def test_concurrent_appends(new_catalog):
    setup = new_catalog()
    ns = ("concurrent",)
    setup.create_namespace(ns)
    ident = ns + ("log",)
    setup.create_table(ident, schema=ARROW_SCHEMA,
                       properties={"commit.retry.num-retries": "0"})
    conflicts = [0] * WRITERS
    errors = []

    def writer(w):
        try:
            cat = new_catalog()
            tbl = cat.load_table(ident)
            for b in range(BATCHES):
                rows = [r(w * 1000 + b * 10 + k, f"w{w}", 1 + b % 3, float(k)) for k in range(3)]
                for attempt in range(100):
                    try:
                        tbl.append(batch(rows))
                        break
                    except CommitFailedException:
                        conflicts[w] += 1
                        tbl = cat.load_table(ident)
                        time.sleep(0.01 * (attempt % 5))
                else:
                    raise AssertionError(f"writer {w}: batch {b} never committed")
        except BaseException as e:
            errors.append(f"writer {w}: {e!r}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert not errors, "\n".join(errors)

    tbl = new_catalog().load_table(ident)
    ids = [row["id"] for row in tbl.scan().to_arrow().to_pylist()]
    expected = sorted(w * 1000 + b * 10 + k
                      for w in range(WRITERS) for b in range(BATCHES) for k in range(3))
    assert sorted(ids) == expected, "every appended row must be present exactly once"
    assert len(tbl.snapshots()) == WRITERS * BATCHES
    print(f"conflicts retried by the writers: {sum(conflicts)}")
