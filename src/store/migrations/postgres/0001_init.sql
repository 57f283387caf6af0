-- serac catalog schema, version 1 (PostgreSQL; the same shape as the SQLite schema).
-- Namespaces are stored as their levels joined by 0x1F; `parent` is the
-- namespace one level up ('' at the top), so listing children is an exact
-- index range scan, never a prefix LIKE. Names use the "C" collation: they
-- sort and compare as bytes, as on SQLite, whatever the database's locale.
CREATE TABLE warehouses (
    id BIGSERIAL PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    location TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE namespaces (
    warehouse_id BIGINT NOT NULL REFERENCES warehouses(id),
    name TEXT COLLATE "C" NOT NULL,
    parent TEXT COLLATE "C" NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (warehouse_id, name)
);

CREATE INDEX namespaces_by_parent ON namespaces (warehouse_id, parent, name);

-- Tables and views share one name space per namespace (kind 1 = table, 2 = view).
CREATE TABLE objects (
    id BIGSERIAL PRIMARY KEY,
    warehouse_id BIGINT NOT NULL,
    namespace TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    kind SMALLINT NOT NULL CHECK (kind IN (1, 2)),
    metadata_location TEXT NOT NULL,
    metadata TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    UNIQUE (warehouse_id, namespace, name),
    FOREIGN KEY (warehouse_id, namespace) REFERENCES namespaces (warehouse_id, name)
);

CREATE INDEX objects_by_kind ON objects (warehouse_id, namespace, kind, name);
