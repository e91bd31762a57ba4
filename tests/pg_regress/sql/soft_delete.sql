-- A plain DELETE on a managed table marks rows instead of removing them.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA soft_delete;
SET search_path = soft_delete, public;
CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL);
SELECT softdelete.enable('soft_delete.items');
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5) g;

-- The command tag counts the rows, and RETURNING shows them as they are now stored.
DELETE FROM items WHERE id = 1;
DELETE FROM items WHERE id IN (2, 3) RETURNING id, deleted_at IS NOT NULL AS marked;
-- Deleting a deleted row finds nothing and keeps the first deletion.
SELECT deleted_at AS first_deleted_at FROM items WHERE id = 1 \gset
DELETE FROM items WHERE id = 1;
SELECT deleted_at = :'first_deleted_at' AS unchanged FROM items WHERE id = 1;

-- The superuser sees every row (row-level security does not apply to superusers).
SELECT id, deleted_at IS NOT NULL AS deleted, deleted_by FROM items ORDER BY id;
SELECT table_name, active_rows, deleted_rows, hidden_from_current_role FROM softdelete.tables
WHERE table_name = 'soft_delete.items'::regclass;

DROP SCHEMA soft_delete CASCADE;
