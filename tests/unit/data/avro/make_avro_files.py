#!/usr/bin/env python3
"""Write the Avro object container files that tests/unit/test_ocf.c and
tests/unit/test_manifest.c read.

The committed .avro files are the test inputs; this script only documents how
they were made and regenerates them. It needs fastavro (and backports.zstd for
the zstandard codec) and, for the PyIceberg-written pair, pyiceberg with pyarrow:

    .venv/bin/pip install fastavro backports.zstd
    .venv/bin/python tests/unit/data/avro/make_avro_files.py

Sync markers are fixed so that regenerating the fastavro files gives the same bytes
(PyIceberg picks its own). The java-*.avro files come from MakeJavaManifests.java.
"""

import copy
import json
import os
import shutil
import sys
import tempfile

import fastavro

HERE = os.path.dirname(os.path.abspath(__file__))
SYNC = bytes(range(0x40, 0x50))


def write(name, schema, records, codec="null", metadata=None, sync_interval=16000):
    """Write one OCF file with fastavro; the schema text is stored as given."""
    parsed = fastavro.parse_schema(copy.deepcopy(schema))
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        fastavro.writer(
            f,
            parsed,
            records,
            codec=codec,
            metadata=metadata or {},
            sync_interval=sync_interval,
            sync_marker=SYNC,
        )
    print(f"wrote {name} ({os.path.getsize(path)} bytes)")


# ---- every Avro type -----------------------------------------------------------------------

ALL_TYPES = {
    "type": "record",
    "name": "all_types",
    "namespace": "serac.test",
    "fields": [
        {"name": "n", "type": "null"},
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "by", "type": "bytes"},
        {"name": "s", "type": "string"},
        {"name": "e", "type": {"type": "enum", "name": "color", "symbols": ["RED", "GREEN", "BLUE"]}},
        {"name": "fx", "type": {"type": "fixed", "name": "md5", "size": 4}},
        {"name": "arr", "type": {"type": "array", "items": "long"}},
        {"name": "m", "type": {"type": "map", "values": "long"}},
        {"name": "u", "type": ["null", "string", "long"]},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {
            "name": "inner",
            "type": {
                "type": "record",
                "name": "point",
                "namespace": "geo",
                "fields": [{"name": "x", "type": "double"}, {"name": "tag", "type": "serac.test.color"}],
            },
        },
        # references by full name and by a name relative to the enclosing namespace
        {"name": "again", "type": "geo.point"},
        {"name": "fx2", "type": "md5"},
        {
            "name": "list",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "cell",
                    "fields": [{"name": "v", "type": "int"}, {"name": "next", "type": ["null", "cell"]}],
                },
            ],
        },
    ],
}


def all_types_record(k):
    return {
        "n": None,
        "b": k % 2 == 0,
        "i": -2147483648 if k == 0 else k * 1000,
        "l": 9223372036854775807 if k == 0 else -9223372036854775808 if k == 1 else k,
        "f": 1.5,
        "d": float("nan") if k == 2 else -0.25,
        "by": bytes([0, 1, 0xAB, 0xFF]) if k == 0 else b"",
        "s": "h\u00e9llo \u2603" if k == 0 else f"row {k}",
        "e": ["RED", "GREEN", "BLUE"][k % 3],
        "fx": bytes([k & 0xFF, 1, 2, 3]),
        "arr": [1, -1, 1 << 40] if k == 0 else [],
        "m": {"a": 1, "b": -2} if k == 0 else {},
        "u": "text" if k % 3 == 0 else (k if k % 3 == 1 else None),
        "ts": 1700000000000000 + k,
        "inner": {"x": 2.5, "tag": "BLUE"},
        "again": {"x": -1.0, "tag": "RED"},
        "fx2": b"\x00\x00\x00\x00",
        "list": {"v": 1, "next": {"v": 2, "next": None}} if k == 0 else None,
    }


def write_all_types():
    records = [all_types_record(k) for k in range(300)]
    meta = {"serac.note": "all types", "format-version": "2"}
    # A small sync interval forces many blocks.
    write("all-types-null.avro", ALL_TYPES, records, "null", meta, sync_interval=2000)
    write("all-types-deflate.avro", ALL_TYPES, records, "deflate", meta, sync_interval=2000)
    write("all-types-zstd.avro", ALL_TYPES, records, "zstandard", meta, sync_interval=2000)
    write("empty.avro", {"type": "record", "name": "r", "fields": [{"name": "a", "type": "long"}]}, [])


# ---- Iceberg v2 manifest list and manifest (table spec, with field ids) -----------------

def opt(t):
    return ["null", t]


def kv(key_id, value_id, value_type):
    return {
        "type": "array",
        "items": {
            "type": "record",
            "name": f"k{key_id}_v{value_id}",
            "fields": [
                {"name": "key", "type": "int", "field-id": key_id},
                {"name": "value", "type": value_type, "field-id": value_id},
            ],
        },
        "logicalType": "map",
    }


FIELD_SUMMARY = {
    "type": "record",
    "name": "r508",
    "fields": [
        {"name": "contains_null", "type": "boolean", "field-id": 509},
        {"name": "contains_nan", "type": opt("boolean"), "default": None, "field-id": 518},
        {"name": "lower_bound", "type": opt("bytes"), "default": None, "field-id": 510},
        {"name": "upper_bound", "type": opt("bytes"), "default": None, "field-id": 511},
    ],
}

MANIFEST_FILE = {
    "type": "record",
    "name": "manifest_file",
    "fields": [
        {"name": "manifest_path", "type": "string", "doc": "Location URI with FS scheme", "field-id": 500},
        {"name": "manifest_length", "type": "long", "field-id": 501},
        {"name": "partition_spec_id", "type": "int", "field-id": 502},
        {"name": "content", "type": "int", "field-id": 517},
        {"name": "sequence_number", "type": "long", "field-id": 515},
        {"name": "min_sequence_number", "type": "long", "field-id": 516},
        {"name": "added_snapshot_id", "type": "long", "field-id": 503},
        {"name": "added_files_count", "type": "int", "field-id": 504},
        {"name": "existing_files_count", "type": "int", "field-id": 505},
        {"name": "deleted_files_count", "type": "int", "field-id": 506},
        {"name": "added_rows_count", "type": "long", "field-id": 512},
        {"name": "existing_rows_count", "type": "long", "field-id": 513},
        {"name": "deleted_rows_count", "type": "long", "field-id": 514},
        {
            "name": "partitions",
            "type": opt({"type": "array", "items": FIELD_SUMMARY, "element-id": 508}),
            "default": None,
            "field-id": 507,
        },
        {"name": "key_metadata", "type": opt("bytes"), "default": None, "field-id": 519},
    ],
}

PARTITION = {
    "type": "record",
    "name": "r102",
    "fields": [
        {"name": "category", "type": opt("string"), "default": None, "field-id": 1000},
        {"name": "ts_day", "type": opt({"type": "int", "logicalType": "date"}), "default": None,
         "field-id": 1001},
    ],
}

DATA_FILE = {
    "type": "record",
    "name": "r2",
    "fields": [
        {"name": "content", "type": "int", "doc": "Contents of the file: 0=data, 1=position deletes, "
         "2=equality deletes", "field-id": 134},
        {"name": "file_path", "type": "string", "doc": "Location URI with FS scheme", "field-id": 100},
        {"name": "file_format", "type": "string", "field-id": 101},
        {"name": "partition", "type": PARTITION, "field-id": 102},
        {"name": "record_count", "type": "long", "field-id": 103},
        {"name": "file_size_in_bytes", "type": "long", "field-id": 104},
        {"name": "column_sizes", "type": opt(kv(117, 118, "long")), "default": None, "field-id": 108},
        {"name": "value_counts", "type": opt(kv(119, 120, "long")), "default": None, "field-id": 109},
        {"name": "null_value_counts", "type": opt(kv(121, 122, "long")), "default": None, "field-id": 110},
        {"name": "nan_value_counts", "type": opt(kv(138, 139, "long")), "default": None, "field-id": 137},
        {"name": "lower_bounds", "type": opt(kv(126, 127, "bytes")), "default": None, "field-id": 125},
        {"name": "upper_bounds", "type": opt(kv(129, 130, "bytes")), "default": None, "field-id": 128},
        {"name": "key_metadata", "type": opt("bytes"), "default": None, "field-id": 131},
        {"name": "split_offsets", "type": opt({"type": "array", "items": "long", "element-id": 133}),
         "default": None, "field-id": 132},
        {"name": "equality_ids", "type": opt({"type": "array", "items": "int", "element-id": 136}),
         "default": None, "field-id": 135},
        {"name": "sort_order_id", "type": opt("int"), "default": None, "field-id": 140},
        {"name": "referenced_data_file", "type": opt("string"), "default": None, "field-id": 143},
    ],
}

MANIFEST_ENTRY = {
    "type": "record",
    "name": "manifest_entry",
    "fields": [
        {"name": "status", "type": "int", "field-id": 0},
        {"name": "snapshot_id", "type": opt("long"), "default": None, "field-id": 1},
        {"name": "sequence_number", "type": opt("long"), "default": None, "field-id": 3},
        {"name": "file_sequence_number", "type": opt("long"), "default": None, "field-id": 4},
        {"name": "data_file", "type": DATA_FILE, "field-id": 2},
    ],
}

TABLE_SCHEMA = json.dumps({
    "type": "struct", "schema-id": 0, "fields": [
        {"id": 1, "name": "id", "required": True, "type": "long"},
        {"id": 2, "name": "category", "required": False, "type": "string"},
        {"id": 3, "name": "ts", "required": False, "type": "timestamp"},
    ]})
PARTITION_SPEC = json.dumps([
    {"source-id": 2, "field-id": 1000, "name": "category", "transform": "identity"},
    {"source-id": 3, "field-id": 1001, "name": "ts_day", "transform": "day"},
])
LOC = "s3://warehouse/db/events"
SNAP = 3051729675574597004


def data_file(path, content=0, records=10, fmt="PARQUET", category="a", **extra):
    df = {
        "content": content,
        "file_path": path,
        "file_format": fmt,
        "partition": {"category": category, "ts_day": 19700},
        "record_count": records,
        "file_size_in_bytes": 1024 * records,
        "column_sizes": [{"key": 1, "value": 80}, {"key": 2, "value": 40}],
        "value_counts": [{"key": 1, "value": records}],
        "null_value_counts": [{"key": 1, "value": 0}],
        "nan_value_counts": None,
        "lower_bounds": [{"key": 1, "value": (1).to_bytes(8, "little")}],
        "upper_bounds": [{"key": 1, "value": (records).to_bytes(8, "little")}],
        "key_metadata": None,
        "split_offsets": [4],
        "equality_ids": None,
        "sort_order_id": 0,
        "referenced_data_file": None,
    }
    df.update(extra)
    return df


def entry(status, df, seq=1):
    return {"status": status, "snapshot_id": SNAP, "sequence_number": seq, "file_sequence_number": seq,
            "data_file": df}


DATA_ENTRIES = [
    entry(1, data_file(f"{LOC}/data/category=a/00000-0-data.parquet")),
    entry(0, data_file(f"{LOC}/data/category=b/00001-0-data.parquet", category="b")),
    entry(2, data_file(f"{LOC}/data/category=a/00002-0-removed.parquet")),
]
DELETE_ENTRIES = [
    entry(1, data_file(f"{LOC}/data/category=a/00003-pos-deletes.parquet", content=1, records=2,
                       referenced_data_file=f"{LOC}/data/category=a/00000-0-data.parquet",
                       sort_order_id=None)),
    entry(1, data_file(f"{LOC}/data/category=b/00004-eq-deletes.parquet", content=2, records=1,
                       equality_ids=[1], sort_order_id=None)),
]


def manifest_meta(content):
    return {"schema": TABLE_SCHEMA, "schema-id": "0", "partition-spec": PARTITION_SPEC,
            "partition-spec-id": "0", "format-version": "2", "content": content}


def manifest_file(path, content, n):
    return {
        "manifest_path": path, "manifest_length": 4000 + n, "partition_spec_id": 0, "content": content,
        "sequence_number": 1, "min_sequence_number": 1, "added_snapshot_id": SNAP,
        "added_files_count": n, "existing_files_count": 0, "deleted_files_count": 0,
        "added_rows_count": 10 * n, "existing_rows_count": 0, "deleted_rows_count": 0,
        "partitions": [{"contains_null": False, "contains_nan": None, "lower_bound": b"a",
                        "upper_bound": b"b"},
                       {"contains_null": False, "contains_nan": None,
                        "lower_bound": (19700).to_bytes(4, "little"),
                        "upper_bound": (19700).to_bytes(4, "little")}],
        "key_metadata": None,
    }


LIST_META = {"snapshot-id": str(SNAP), "parent-snapshot-id": "null", "sequence-number": "1",
             "format-version": "2"}
LIST_ENTRIES = [
    manifest_file(f"{LOC}/metadata/8f1c7a52-data-m0.avro", 0, 3),
    manifest_file(f"{LOC}/metadata/8f1c7a52-deletes-m1.avro", 1, 2),
]


def write_iceberg():
    write("v2-manifest-list.avro", MANIFEST_FILE, LIST_ENTRIES, "deflate", LIST_META)
    write("v2-manifest-data.avro", MANIFEST_ENTRY, DATA_ENTRIES, "deflate", manifest_meta("data"))
    write("v2-manifest-deletes.avro", MANIFEST_ENTRY, DELETE_ENTRIES, "deflate",
          manifest_meta("deletes"))


def strip_ids(t):
    """Drop field ids and wrap primitives as {"type": "long"}, as avro-c writes schemas."""
    if isinstance(t, str):
        return {"type": t} if t in ("int", "long", "string", "bytes", "boolean") else t
    if isinstance(t, list):
        return [strip_ids(x) for x in t]
    drop = ("field-id", "element-id", "doc", "default", "logicalType")
    out = {k: v for k, v in t.items() if k not in drop}
    if out["type"] in ("int", "long", "string", "bytes", "boolean"):
        return out
    if "fields" in out:
        out["fields"] = [dict({k: v for k, v in f.items() if k not in drop}, type=strip_ids(f["type"]))
                         for f in out["fields"]]
    for k in ("items", "values"):
        if k in out:
            out[k] = strip_ids(out[k])
    return out


def write_without_ids():
    write("noids-manifest-list.avro", strip_ids(MANIFEST_FILE), LIST_ENTRIES, "null")
    write("noids-manifest.avro", strip_ids(MANIFEST_ENTRY), DATA_ENTRIES, "zstandard")


def write_renamed():
    """Field ids must win over names: the id-500 field is not called manifest_path."""
    schema = copy.deepcopy(MANIFEST_FILE)
    schema["fields"][0]["name"] = "location"
    schema["fields"].insert(1, {"name": "manifest_path", "type": "string", "field-id": 9999})
    rows = []
    for e in LIST_ENTRIES:
        r = dict(e)
        r["location"] = r.pop("manifest_path")
        r["manifest_path"] = "s3://decoy/not-a-manifest.avro"
        rows.append(r)
    write("renamed-manifest-list.avro", schema, rows, "deflate")

    entry_schema = copy.deepcopy(MANIFEST_ENTRY)
    entry_schema["fields"][4]["name"] = "file"
    df_fields = entry_schema["fields"][4]["type"]["fields"]
    df_fields[1]["name"] = "path"
    entry_schema["fields"].append({"name": "data_file", "type": ["null", "string"], "field-id": 9998})
    rows = []
    for e in DATA_ENTRIES:
        r = copy.deepcopy(e)
        df = r.pop("data_file")
        df["path"] = df.pop("file_path")
        r["file"] = df
        r["data_file"] = "decoy"
        rows.append(r)
    write("renamed-manifest.avro", entry_schema, rows, "null")


# ---- written by PyIceberg's own Avro writer ------------------------------------------------

def write_pyiceberg():
    try:
        from pyiceberg.io.pyarrow import PyArrowFileIO
        from pyiceberg.manifest import (DataFile, DataFileContent, FileFormat, ManifestEntry,
                                        ManifestEntryStatus, write_manifest, write_manifest_list)
        from pyiceberg.partitioning import PartitionField, PartitionSpec
        from pyiceberg.schema import Schema
        from pyiceberg.transforms import IdentityTransform
        from pyiceberg.typedef import Record
        from pyiceberg.types import LongType, NestedField, StringType
    except ImportError as e:
        print(f"skipping the PyIceberg files: {e}", file=sys.stderr)
        return
    schema = Schema(NestedField(1, "id", LongType(), required=True),
                    NestedField(2, "category", StringType(), required=False))
    spec = PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "category"), spec_id=0)
    io = PyArrowFileIO()
    tmp = tempfile.mkdtemp()
    try:
        local_manifest = os.path.join(tmp, "m0.avro")
        with write_manifest(format_version=2, spec=spec, schema=schema,
                            output_file=io.new_output(local_manifest), snapshot_id=SNAP,
                            avro_compression="deflate") as w:
            for i, cat in enumerate(["a", "b", "c"]):
                df = DataFile.from_args(
                    content=DataFileContent.DATA,
                    file_path=f"{LOC}/data/category={cat}/0000{i}-py.parquet",
                    file_format=FileFormat.PARQUET, partition=Record(cat),
                    record_count=5, file_size_in_bytes=700, sort_order_id=None,
                    column_sizes={1: 40}, value_counts={1: 5}, null_value_counts={1: 0},
                    lower_bounds={1: b"\x01" + bytes(7)}, upper_bounds={1: b"\x05" + bytes(7)})
                df.spec_id = 0
                w.add_entry(ManifestEntry.from_args(status=ManifestEntryStatus.ADDED,
                                                    snapshot_id=SNAP, data_file=df))
        mf = w.to_manifest_file()
        mf[0] = f"{LOC}/metadata/5d1a-py-m0.avro"  # manifest_path, position 0
        local_list = os.path.join(tmp, "snap.avro")
        with write_manifest_list(format_version=2, output_file=io.new_output(local_list),
                                 snapshot_id=SNAP, parent_snapshot_id=None, sequence_number=1,
                                 avro_compression="deflate") as lw:
            lw.add_manifests([mf])
        shutil.copy(local_manifest, os.path.join(HERE, "pyiceberg-manifest.avro"))
        shutil.copy(local_list, os.path.join(HERE, "pyiceberg-manifest-list.avro"))
        print("wrote pyiceberg-manifest.avro and pyiceberg-manifest-list.avro")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    write_all_types()
    write_iceberg()
    write_without_ids()
    write_renamed()
    write_pyiceberg()
