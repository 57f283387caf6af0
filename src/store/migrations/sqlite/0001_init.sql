-- serac catalog schema, version 1.
-- Namespaces are stored as their levels joined by 0x1F; `parent` is the
-- namespace one level up ('' at the top), so listing children is an exact
-- index range scan, never a prefix LIKE.
CREATE TABLE warehouses (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    location TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE namespaces (
    warehouse_id INTEGER NOT NULL REFERENCES warehouses(id),
    name TEXT NOT NULL,
    parent TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (warehouse_id, name)
) WITHOUT ROWID;

CREATE INDEX namespaces_by_parent ON namespaces (warehouse_id, parent, name);

-- Tables and views share one name space per namespace (kind 1 = table, 2 = view).
CREATE TABLE objects (
    id INTEGER PRIMARY KEY,
    warehouse_id INTEGER NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    kind INTEGER NOT NULL CHECK (kind IN (1, 2)),
    metadata_location TEXT NOT NULL,
    metadata TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (warehouse_id, namespace, name),
    FOREIGN KEY (warehouse_id, namespace) REFERENCES namespaces (warehouse_id, name)
);

CREATE INDEX objects_by_kind ON objects (warehouse_id, namespace, kind, name);
