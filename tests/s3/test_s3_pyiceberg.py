"""PyIceberg on an s3:// warehouse: a partitioned table's whole life, checked in the bucket.

The client has its own keys here (the default warehouse vends none); it learns the endpoint,
region and path style from the table config serac returns. serac writes every metadata file to
the bucket, PyIceberg the data and manifest files; boto3 looks at what really is there.
"""

import datetime as dt
import json

import pyarrow as pa
from pyiceberg.expressions import EqualTo, LessThan
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import DoubleType, LongType, NestedField, StringType, TimestampType

import s3env

SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "category", StringType(), required=False),
    NestedField(3, "ts", TimestampType(), required=False),
    NestedField(4, "amount", DoubleType(), required=False),
)
SPEC = PartitionSpec(
    PartitionField(source_id=3, field_id=1000, transform=DayTransform(), name="ts_day"),
    PartitionField(source_id=2, field_id=1001, transform=IdentityTransform(), name="category"),
)


def arrow(rows, note=False):
    fields = [pa.field("id", pa.int64(), nullable=False), pa.field("category", pa.string()),
              pa.field("ts", pa.timestamp("us")), pa.field("amount", pa.float64())]
    if note:
        fields.append(pa.field("note", pa.string()))
    schema = pa.schema(fields)
    return pa.Table.from_pydict({f.name: [r.get(f.name) for r in rows] for f in schema},
                                schema=schema)


def row(i, cat, day, amount, **extra):
    d = {"id": i, "category": cat, "ts": dt.datetime(2026, 3, day, 12, i % 60), "amount": amount}
    d.update(extra)
    return d


def ids(table):
    return sorted(r["id"] for r in table.to_pylist())


def test_partitioned_table_life_cycle_on_s3(moto, main_bucket, new_catalog, unique):
    cat = new_catalog("default", {"s3.access-key-id": moto.keys.access_key_id,
                                  "s3.secret-access-key": moto.keys.secret_access_key})
    ns = (unique("pyi"),)
    cat.create_namespace(ns)
    ident = ns + ("events",)
    tbl = cat.create_table(ident, schema=SCHEMA, partition_spec=SPEC,
                           properties={"format-version": "2"})

    location = tbl.metadata.location
    assert location == f"s3://{main_bucket}/wh/{ns[0]}/events", location
    bucket, prefix = s3env.split_uri(location)
    assert tbl.io.properties.get("s3.endpoint") == moto.url, \
        "the table config must tell the client the endpoint"
    assert not any(k in tbl.io.properties for k in ("s3.session-token",)), \
        "this warehouse vends nothing"

    # create wrote exactly one metadata file, in the bucket, holding what LoadTable returns
    keys = moto.keys_under(bucket, prefix + "/")
    assert [k for k in keys if k.endswith(".metadata.json")] == \
        [s3env.split_uri(tbl.metadata_location)[1]], keys
    on_s3 = json.loads(moto.read(tbl.metadata_location))
    assert on_s3["location"] == location and on_s3["table-uuid"] == str(tbl.metadata.table_uuid)
    assert on_s3["partition-specs"][0]["fields"][0]["transform"] == "day"

    first = [row(1, "a", 1, 10.0), row(2, "b", 1, -5.0), row(3, "a", 2, 7.5), row(4, "c", 3, 1.0)]
    tbl.append(arrow(first))
    s1 = tbl.current_snapshot().snapshot_id
    assert ids(tbl.scan().to_arrow()) == [1, 2, 3, 4]
    assert ids(tbl.scan(row_filter=EqualTo("category", "a")).to_arrow()) == [1, 3]

    keys = moto.keys_under(bucket, prefix + "/")
    data = [k for k in keys if k.startswith(prefix + "/data/") and k.endswith(".parquet")]
    # four rows in three days x three categories: one file per (day, category) partition
    assert len(data) == 4, keys
    assert any("ts_day=2026-03-01" in k and "category=a" in k for k in data), data
    assert [k for k in keys if k.endswith(".avro")], "manifests and manifest lists are in S3"
    cur_key = s3env.split_uri(tbl.metadata_location)[1]
    assert cur_key in keys
    on_s3 = json.loads(moto.read(tbl.metadata_location))
    assert on_s3["current-snapshot-id"] == s1
    manifest_list = on_s3["snapshots"][0]["manifest-list"]
    assert moto.exists(manifest_list), manifest_list

    # schema evolution, then rows with the new column
    with tbl.update_schema() as upd:
        upd.add_column("note", StringType())
    tbl.append(arrow([row(5, "b", 2, 3.0, note="x"), row(6, "c", 2, 4.0, note="y")], note=True))
    got = tbl.scan().to_arrow()
    assert ids(got) == [1, 2, 3, 4, 5, 6]
    notes = {r["id"]: r["note"] for r in got.to_pylist()}
    assert notes[5] == "x" and notes[1] is None

    # overwrite the 'a' partition rows, then a copy-on-write delete
    tbl.overwrite(arrow([row(10, "a", 1, 100.0, note="ow")], note=True),
                  overwrite_filter=EqualTo("category", "a"))
    assert ids(tbl.scan().to_arrow()) == [2, 4, 5, 6, 10]
    tbl.delete(delete_filter=LessThan("amount", 0.0))
    assert ids(tbl.scan().to_arrow()) == [4, 5, 6, 10]
    assert ids(tbl.scan(snapshot_id=s1).to_arrow()) == [1, 2, 3, 4], "time travel to snapshot 1"

    # a fresh client sees the same, and every metadata file the log names is in the bucket
    tbl2 = new_catalog("default", {"s3.access-key-id": moto.keys.access_key_id,
                                   "s3.secret-access-key": moto.keys.secret_access_key}) \
        .load_table(ident)
    assert tbl2.metadata_location == tbl.metadata_location
    assert ids(tbl2.scan().to_arrow()) == [4, 5, 6, 10]
    for e in tbl2.metadata.metadata_log:
        assert moto.exists(e.metadata_file), e.metadata_file
    assert json.loads(moto.read(tbl2.metadata_location))["current-schema-id"] == \
        tbl2.metadata.current_schema_id

    # purge: every object under the table's location goes
    assert len(moto.keys_under(bucket, prefix + "/")) > 10
    cat.purge_table(ident)
    left = s3env.wait_until(lambda: not moto.keys_under(bucket, prefix + "/"), seconds=15)
    assert left, f"purge left objects: {moto.keys_under(bucket, prefix + '/')}"
    assert not cat.table_exists(ident)


def test_drop_without_purge_keeps_objects(moto, main_bucket, new_catalog, unique):
    cat = new_catalog("default", {"s3.access-key-id": moto.keys.access_key_id,
                                  "s3.secret-access-key": moto.keys.secret_access_key})
    ns = (unique("keep"),)
    cat.create_namespace(ns)
    tbl = cat.create_table(ns + ("t",), schema=SCHEMA)
    tbl.append(arrow([row(1, "a", 1, 1.0)]))
    bucket, prefix = s3env.split_uri(tbl.metadata.location)
    before = moto.keys_under(bucket, prefix + "/")
    cat.drop_table(ns + ("t",))
    assert not cat.table_exists(ns + ("t",))
    assert moto.keys_under(bucket, prefix + "/") == before, "drop without purge deletes nothing"
    # and the files can be registered again under a new name
    reg = cat.register_table(ns + ("again",), tbl.metadata_location)
    assert ids(reg.scan().to_arrow()) == [1]
