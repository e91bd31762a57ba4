-- TRUNCATE of managed tables is rejected, however it reaches them, unless a superuser sets softdelete.allow_hard_delete.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA truncate;
SET search_path = truncate, public;
SELECT setval('softdelete.deletion_seq', 10000) AS deletion_seq_start \gset

-- customers and notes are not managed. invoices is managed and references customers.
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE invoices (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, amount numeric NOT NULL);
CREATE TABLE notes (id int PRIMARY KEY, body text);
SET softdelete.notices = off;
SELECT softdelete.enable('invoices');
RESET softdelete.notices;
INSERT INTO customers VALUES (1, 'Ann'), (2, 'Bob');
INSERT INTO invoices VALUES (10, 1, 100), (11, 1, 200), (12, 2, 300);
INSERT INTO notes VALUES (1, 'first'), (2, 'second');
DELETE FROM invoices WHERE id = 12;

-- Returns the row counts of the three tables, deleted invoices included.
CREATE FUNCTION row_counts(OUT customers bigint, OUT invoices bigint, OUT deleted_invoices bigint, OUT notes bigint)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM truncate.customers),
           (SELECT count(*) FROM truncate.invoices),
           (SELECT count(*) FROM truncate.invoices WHERE deleted_at IS NOT NULL),
           (SELECT count(*) FROM truncate.notes)
$$;
SELECT * FROM row_counts();

-- TRUNCATE of the managed table: 0A000, every row stays, soft-deleted ones included.
TRUNCATE invoices;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE ONLY invoices RESTART IDENTITY;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_counts();

-- TRUNCATE ... CASCADE from the unmanaged parent reaches the managed table: 0A000, and the
-- parent keeps its rows too.
TRUNCATE customers CASCADE;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_counts();

-- TRUNCATE of an unmanaged and a managed table in one statement: 0A000 for both.
TRUNCATE notes, invoices;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE invoices, notes;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_counts();

-- The owner (no superuser) cannot TRUNCATE either, nor turn softdelete.allow_hard_delete on
-- (42501).
CREATE ROLE truncate_owner NOLOGIN;
GRANT USAGE ON SCHEMA truncate TO truncate_owner;
ALTER TABLE invoices OWNER TO truncate_owner;
SET ROLE truncate_owner;
TRUNCATE invoices;
\echo :LAST_ERROR_SQLSTATE
SET softdelete.allow_hard_delete = on;
\echo :LAST_ERROR_SQLSTATE
SHOW softdelete.allow_hard_delete;
RESET ROLE;
ALTER TABLE invoices OWNER TO CURRENT_USER;
SELECT * FROM row_counts();

-- A partitioned table: TRUNCATE is rejected on the parent and on each partition, including a
-- partition created after enable().
CREATE TABLE readings (id int, day date, value int, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SET softdelete.notices = off;
SELECT softdelete.enable('readings');
RESET softdelete.notices;
CREATE TABLE readings_2025 PARTITION OF readings FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO readings VALUES (1, '2024-06-01', 10), (2, '2025-06-01', 20), (3, '2025-07-01', 30);
DELETE FROM readings WHERE id = 3;
TRUNCATE readings;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE readings_2024;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE readings_2025;
\echo :LAST_ERROR_SQLSTATE
SELECT tableoid::regclass AS partition, id, deleted_at IS NOT NULL AS deleted FROM readings ORDER BY id;

-- A superuser who sets softdelete.allow_hard_delete can TRUNCATE, and one 'truncate' event
-- records it.
SET softdelete.allow_hard_delete = on;
TRUNCATE invoices;
SELECT * FROM row_counts();
SELECT operation, table_name, key, deletion_id, actor, role_name
FROM softdelete.events WHERE table_name = 'truncate.invoices' AND operation = 'truncate';
-- With the setting, a superuser's DELETE removes rows for real, recorded as 'purge' events.
INSERT INTO invoices VALUES (20, 1, 50), (21, 2, 60), (22, 2, 70);
DELETE FROM invoices WHERE id IN (20, 21);
SELECT id, deleted_at IS NOT NULL AS deleted FROM invoices ORDER BY id;
SELECT operation, key FROM softdelete.events
WHERE table_name = 'truncate.invoices' AND key IN ('{"id": 20}', '{"id": 21}', '{"id": 22}')
ORDER BY event_id;
RESET softdelete.allow_hard_delete;
-- Without it, DELETE and TRUNCATE are soft and rejected again.
DELETE FROM invoices WHERE id = 22;
TRUNCATE invoices;
\echo :LAST_ERROR_SQLSTATE
SELECT id, deleted_at IS NOT NULL AS deleted FROM invoices ORDER BY id;

DROP SCHEMA truncate CASCADE;
DROP ROLE truncate_owner;
