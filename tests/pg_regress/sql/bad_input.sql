-- Invalid calls of enable(), restore(), purge() and disable(): each raises its SQLSTATE and changes nothing.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA bad_input;
SET search_path = bad_input, public;

-- Returns what enable() would have changed on a table: marker columns, policies, triggers and
-- its row in softdelete.managed_tables.
CREATE FUNCTION changes(tbl regclass)
RETURNS TABLE (marker_columns bigint, policies bigint, triggers bigint, managed boolean)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM pg_attribute
             WHERE attrelid = tbl AND NOT attisdropped
               AND attname IN ('deleted_at', 'deleted_by', 'deletion_id')),
           (SELECT count(*) FROM pg_policy WHERE polrelid = tbl),
           (SELECT count(*) FROM pg_trigger WHERE tgrelid = tbl AND NOT tgisinternal),
           EXISTS (SELECT FROM softdelete.managed_tables WHERE relid = tbl)
$$;

CREATE TABLE base (id int PRIMARY KEY, label text);

-- Relations that are not tables: 42809 (wrong object type).
CREATE VIEW base_view AS SELECT id, label FROM base;
SELECT softdelete.enable('base_view');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('base_view');
CREATE MATERIALIZED VIEW base_summary AS SELECT count(*) AS n FROM base;
SELECT softdelete.enable('base_summary');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('base_summary');
CREATE FOREIGN DATA WRAPPER bad_input_wrapper;
CREATE SERVER bad_input_server FOREIGN DATA WRAPPER bad_input_wrapper;
CREATE FOREIGN TABLE remote_items (id int) SERVER bad_input_server;
SELECT softdelete.enable('remote_items');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('remote_items');
CREATE SEQUENCE counter;
SELECT softdelete.enable('counter');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('counter');
SELECT softdelete.enable('base_pkey');
\echo :LAST_ERROR_SQLSTATE
CREATE TYPE pair AS (a int, b int);
SELECT softdelete.enable('pair');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS managed_tables FROM softdelete.managed_tables;

-- System catalogs and the extension's own tables: 42501.
SELECT softdelete.enable('pg_catalog.pg_class');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('pg_catalog.pg_class');
SELECT softdelete.enable('information_schema.sql_features');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('information_schema.sql_features');
SELECT softdelete.enable(reltoastrelid) FROM pg_class WHERE oid = 'pg_catalog.pg_proc'::regclass;
\echo :LAST_ERROR_SQLSTATE
SELECT c.* FROM pg_class t, changes(t.reltoastrelid) c WHERE t.oid = 'pg_catalog.pg_proc'::regclass;
-- (softdelete.events has a deletion_id column of its own, so its marker column count is left out.)
SELECT softdelete.enable('softdelete.managed_tables');
\echo :LAST_ERROR_SQLSTATE
SELECT policies, triggers, managed FROM changes('softdelete.managed_tables');
SELECT softdelete.enable('softdelete.events');
\echo :LAST_ERROR_SQLSTATE
SELECT policies, triggers, managed FROM changes('softdelete.events');

-- A temporary table: 0A000. The message names the session's temporary schema, whose number
-- varies, so only the SQLSTATE and a normalized message are printed.
CREATE TEMPORARY TABLE scratch (id int PRIMARY KEY);
\set VERBOSITY sqlstate
SELECT softdelete.enable('scratch');
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', 'pg_temp_[0-9]+', 'pg_temp_N') AS message;
SELECT * FROM changes('scratch');

-- A partition: 0A000 (the partitioned table is enabled instead).
CREATE TABLE readings (id int, day date, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT softdelete.enable('readings_2024');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('readings_2024');
SELECT * FROM changes('readings');

-- A table without a primary key: 55000, also when it has a unique NOT NULL column.
CREATE TABLE keyless (code text NOT NULL UNIQUE, label text);
SELECT softdelete.enable('keyless');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('keyless');
SELECT pg_get_indexdef('keyless_code_key'::regclass);

-- A marker column of another type: 42804 (datatype mismatch). The one marker column counted
-- afterwards is the table's own; no column is added.
CREATE TABLE wrong_deleted_at (id int PRIMARY KEY, deleted_at timestamp);
SELECT softdelete.enable('wrong_deleted_at');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('wrong_deleted_at');
CREATE TABLE wrong_deleted_by (id int PRIMARY KEY, deleted_by varchar(50));
SELECT softdelete.enable('wrong_deleted_by');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('wrong_deleted_by');
CREATE TABLE wrong_deletion_id (id int PRIMARY KEY, deletion_id int);
SELECT softdelete.enable('wrong_deletion_id');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('wrong_deletion_id');

-- A table that does not exist fails in the regclass cast: 42P01.
SELECT softdelete.enable('no_such_table');
\echo :LAST_ERROR_SQLSTATE

-- A table that is already managed: 55000, and the second call adds nothing.
CREATE TABLE managed (id int PRIMARY KEY, code text UNIQUE);
SET softdelete.notices = off;
SELECT softdelete.enable('managed');
RESET softdelete.notices;
SELECT * FROM changes('managed');
SELECT softdelete.enable('managed');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM changes('managed');
SELECT count(*) AS catalog_rows FROM softdelete.managed_tables WHERE relid = 'managed'::regclass;

-- enable() by a role that does not own the table: 42501, even with every privilege on it.
CREATE ROLE bad_input_stranger NOLOGIN;
GRANT USAGE ON SCHEMA bad_input TO bad_input_stranger;
CREATE TABLE foreign_owned (id int PRIMARY KEY, label text);
GRANT ALL ON foreign_owned TO bad_input_stranger;
SET ROLE bad_input_stranger;
SELECT softdelete.enable('foreign_owned');
\echo :LAST_ERROR_SQLSTATE
-- disable() by a non-owner: 42501 as well.
SELECT softdelete.disable('managed');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM changes('foreign_owned');
SELECT * FROM changes('managed');

-- restore() and purge() with keys that match no row, have the wrong shape or are null.
CREATE TABLE pairs (left_id int, right_id int, note text, PRIMARY KEY (left_id, right_id));
SET softdelete.notices = off;
SELECT softdelete.enable('pairs');
RESET softdelete.notices;
INSERT INTO managed VALUES (1, 'a'), (2, 'b');
INSERT INTO pairs VALUES (1, 1, 'x'), (1, 2, 'y');
DELETE FROM managed WHERE id = 2;
DELETE FROM pairs WHERE right_id = 2;
-- Returns each row with its deletion state, to show that a failed call changed nothing.
CREATE FUNCTION row_states()
RETURNS TABLE (table_name text, row_key text, deleted boolean)
LANGUAGE sql STABLE AS $$
    SELECT 'managed', id::text, deleted_at IS NOT NULL FROM bad_input.managed
    UNION ALL
    SELECT 'pairs', left_id || ',' || right_id, deleted_at IS NOT NULL FROM bad_input.pairs
    ORDER BY 1, 2
$$;
SELECT count(*) AS events_before FROM softdelete.events WHERE table_name LIKE 'bad_input.%' \gset

-- A key that matches no row: P0002.
SELECT softdelete.restore('managed', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('managed', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('pairs', ARRAY[9, 9]);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('pairs', '{"left_id": 9, "right_id": 9}'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states();

-- A key of the wrong shape: 22023.
SELECT softdelete.restore('managed', ARRAY[2, 3]);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('managed', '{"code": "b"}'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('managed', '[[2]]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('pairs', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('pairs', ARRAY[1, 2, 3]);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('pairs', '{"left_id": 1, "other": 2}'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('pairs', ROW(1));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states();

-- A null key, or a null part of a key: 22023.
SELECT softdelete.restore('managed', NULL::int);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('managed', NULL::int);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('managed', 'null'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('pairs', ARRAY[1, NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('pairs', ROW(1, NULL::int));
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('pairs', '{"left_id": 1, "right_id": null}'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states();

-- A key value that is not valid input for the key column's type fails in PostgreSQL's
-- input function: 22P02.
SELECT softdelete.restore('managed', 'two'::text);
\echo :LAST_ERROR_SQLSTATE
-- An untyped literal leaves the polymorphic key type undetermined: 42804 from PostgreSQL.
SELECT softdelete.restore('managed', '2');
\echo :LAST_ERROR_SQLSTATE

-- A table that is not managed: 55000, even when the key exists.
SELECT softdelete.restore('base', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('base', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('base_view', 1);
\echo :LAST_ERROR_SQLSTATE

-- No failed call wrote an event.
SELECT count(*) - :events_before AS new_events FROM softdelete.events WHERE table_name LIKE 'bad_input.%';

-- disable() of a table that is not managed: 55000, and the table is left alone.
ALTER TABLE base ENABLE ROW LEVEL SECURITY;
SELECT softdelete.disable('base');
\echo :LAST_ERROR_SQLSTATE
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'base'::regclass;
SELECT softdelete.disable('base_view');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.disable('no_such_table');
\echo :LAST_ERROR_SQLSTATE

DROP SCHEMA bad_input CASCADE;
DROP SERVER bad_input_server;
DROP FOREIGN DATA WRAPPER bad_input_wrapper;
DROP ROLE bad_input_stranger;
