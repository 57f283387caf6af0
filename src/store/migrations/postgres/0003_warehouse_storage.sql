-- serac catalog schema, version 3 (PostgreSQL): every warehouse carries its storage settings,
-- a JSON object as text ('{}' for none: the server's default file I/O).
-- Warehouses made before this version get '{}'.
ALTER TABLE warehouses ADD COLUMN storage TEXT NOT NULL DEFAULT '{}';
