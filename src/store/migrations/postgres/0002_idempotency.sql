-- serac catalog schema, version 2: Idempotency-Key records (DESIGN.md invariant 3).
-- A mutation guarded by a key inserts its record (status 0, "pending") in its
-- own transaction; the response (HTTP status, body, ETag) is filled in right
-- after. `id` never repeats (a sequence), so a connection can tell the
-- pending record it inserted from a later one with the same key.
CREATE TABLE idempotency (
    id BIGSERIAL PRIMARY KEY,
    warehouse_id BIGINT NOT NULL REFERENCES warehouses(id) ON DELETE CASCADE,
    key TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT,
    etag TEXT,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    UNIQUE (warehouse_id, key)
);

CREATE INDEX idempotency_by_expiry ON idempotency (expires_ms);
