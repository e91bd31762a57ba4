-- How the row events of soft deletes are stored: a DELETE collects the keys of the rows it
-- marks and writes them to softdelete.event_batches, at most 65,536 per row, and the view
-- softdelete.events shows one row per key.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA audit_batches;
SET search_path = audit_batches, public;
SET softdelete.notices = off;
SELECT setval('softdelete.deletion_seq', 9500) AS deletion_seq_start \gset

CREATE TABLE big (id bigint PRIMARY KEY, label text NOT NULL);
SELECT softdelete.enable('big');
INSERT INTO big SELECT g, 'row ' || g FROM generate_series(1, 150000) g;

-- 150,000 rows in one statement: three batches (65,536 + 65,536 + 18,928), one event per row,
-- each key once, and event ids that do not repeat.
DELETE FROM big WHERE id <= 150000;
SELECT count(*) AS batches, sum(cardinality(keys)) AS keys, min(cardinality(keys)) AS smallest
FROM softdelete.event_batches WHERE table_name = 'audit_batches.big';
SELECT count(*) AS events, count(DISTINCT key) AS distinct_keys, count(DISTINCT event_id) AS distinct_ids,
       count(DISTINCT deletion_id) AS deletions, min((key->>'id')::bigint) AS first_id,
       max((key->>'id')::bigint) AS last_id
FROM softdelete.events WHERE table_name = 'audit_batches.big' AND operation = 'delete';
-- Every marked row has its event and no event names a row that is not marked.
SELECT count(*) AS rows_without_event FROM big b
WHERE b.deleted_at IS NOT NULL
  AND NOT EXISTS (SELECT FROM softdelete.events e WHERE e.table_name = 'audit_batches.big'
                  AND e.operation = 'delete' AND e.key = jsonb_build_object('id', b.id));
SELECT restore_deletion - 0 AS restored FROM softdelete.restore_deletion(:deletion_seq_start + 1);
SELECT operation, count(*) AS events FROM softdelete.events
WHERE table_name = 'audit_batches.big' GROUP BY operation ORDER BY operation;

-- A composite key of several types: the events a DELETE writes and those a restore writes
-- carry the same key, written as jsonb_build_object() would, so the recycle bin is empty again
-- after the restore.
CREATE TABLE mixed (n int2, t text, x numeric, b boolean, at timestamptz, note text,
                    PRIMARY KEY (n, t, x, b, at));
SELECT softdelete.enable('mixed');
INSERT INTO mixed VALUES (1, 'a "quoted" value', 1.50, true, '2026-01-02 03:04:05+00', 'first'),
                         (2, 'plain', 'NaN', false, '2026-01-02 03:04:05+00', 'second');
SET timezone = 'UTC';
DELETE FROM mixed;
SELECT key FROM softdelete.events WHERE table_name = 'audit_batches.mixed' ORDER BY event_id;
SELECT count(*) AS in_recycle_bin FROM softdelete.recycle_bin WHERE table_name = 'audit_batches.mixed';
SELECT softdelete.restore_deletion(deletion_id) AS restored
FROM softdelete.deletions WHERE root_table = 'audit_batches.mixed';
SELECT count(*) AS in_recycle_bin FROM softdelete.recycle_bin WHERE table_name = 'audit_batches.mixed';
SELECT operation, key FROM softdelete.events WHERE table_name = 'audit_batches.mixed'
ORDER BY event_id;
RESET timezone;

-- A single smallint key takes the integer path.
CREATE TABLE small (id int2 PRIMARY KEY);
SELECT softdelete.enable('small');
INSERT INTO small VALUES (1), (2), (3);
DELETE FROM small WHERE id < 3;
SELECT key FROM softdelete.events WHERE table_name = 'audit_batches.small' ORDER BY event_id;

-- Keys collected inside a rolled-back savepoint are dropped with it.
CREATE TABLE notes (id int PRIMARY KEY, body text);
SELECT softdelete.enable('notes');
INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 10) g;
BEGIN;
SAVEPOINT before_delete;
DELETE FROM notes WHERE id <= 5;
ROLLBACK TO SAVEPOINT before_delete;
DELETE FROM notes WHERE id = 6;
COMMIT;
SELECT key FROM softdelete.events WHERE table_name = 'audit_batches.notes' ORDER BY event_id;
SELECT id FROM notes WHERE deleted_at IS NOT NULL ORDER BY id;

-- A DELETE that fails after marking rows leaves neither marks nor events.
CREATE FUNCTION fail_after(n int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF n >= 9 THEN RAISE EXCEPTION 'stop at %', n; END IF;
    RETURN true;
END $$;
DELETE FROM notes WHERE id IN (7, 8, 9) AND fail_after(id);
SELECT count(*) AS events FROM softdelete.events WHERE table_name = 'audit_batches.notes';

-- A DELETE in a CTE, a prepared DELETE run twice, and DELETEs run by a function called once
-- per row: every deletion has its own events.
WITH gone AS (DELETE FROM notes WHERE id = 7 RETURNING id) SELECT count(*) AS deleted FROM gone;
PREPARE drop_note(int) AS DELETE FROM notes WHERE id = $1;
EXECUTE drop_note(8);
EXECUTE drop_note(9);
DEALLOCATE drop_note;
CREATE FUNCTION drop_note(note_id int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    marked int;
BEGIN
    DELETE FROM notes WHERE id = note_id;
    GET DIAGNOSTICS marked = ROW_COUNT;
    RETURN marked;
END $$;
SELECT sum(drop_note(id)) AS deleted FROM generate_series(4, 5) id;
SELECT deletion_id - :deletion_seq_start AS deletion, key
FROM softdelete.events WHERE table_name = 'audit_batches.notes' ORDER BY event_id;
-- A DELETE that marks no row writes no batch.
DELETE FROM notes WHERE id = 1000;
SELECT count(*) AS batches FROM softdelete.event_batches WHERE table_name = 'audit_batches.notes';

-- The functions that record a soft delete act only on the calls the planner hook builds. A
-- direct call fails with 42501 and writes nothing. So does a call from the WHERE clause of a
-- DELETE that the hook turns into a soft delete, and one from a view.
SELECT count(*) AS events_before FROM softdelete.events \gset
SELECT last_value AS deletion_seq_before FROM softdelete.deletion_seq \gset
SELECT count(*) AS deleted_before FROM notes WHERE deleted_at IS NOT NULL \gset
\set VERBOSITY sqlstate
SELECT softdelete._capture_deleted('notes'::regclass, 1, 1::bigint);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete._capture_deleted('notes'::regclass, 1, ARRAY['1']);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete._deletion_id('notes'::regclass);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete._deletion_actor('notes'::regclass);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM notes WHERE id = 3 AND softdelete._deletion_id('notes'::regclass) > 0;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM notes WHERE id = 3 AND softdelete._capture_deleted('notes'::regclass, 1, 2::bigint);
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW forged AS SELECT softdelete._deletion_id('notes'::regclass) AS id;
SELECT * FROM forged;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) - :events_before AS new_events FROM softdelete.events;
SELECT last_value - :deletion_seq_before AS new_deletion_ids FROM softdelete.deletion_seq;
SELECT count(*) - :deleted_before AS newly_deleted FROM notes WHERE deleted_at IS NOT NULL;

-- A BEFORE UPDATE trigger of the table's owner that clears deleted_at in NEW leaves the row
-- active, and no event names it. One that changes deletion_id fails with 55000 and changes
-- nothing.
CREATE TABLE guarded (id int PRIMARY KEY);
SELECT softdelete.enable('guarded');
INSERT INTO guarded VALUES (1), (2), (3);
CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 1 THEN NEW.deleted_at := NULL; END IF;
    IF NEW.id = 2 THEN NEW.deletion_id := 1; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER zz_tamper BEFORE UPDATE ON guarded FOR EACH ROW EXECUTE FUNCTION tamper();
DELETE FROM guarded WHERE id = 1;
\set VERBOSITY sqlstate
DELETE FROM guarded WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
DELETE FROM guarded WHERE id = 3;
SELECT id, deleted_at IS NOT NULL AS deleted FROM guarded ORDER BY id;
SELECT key FROM softdelete.events WHERE table_name = 'audit_batches.guarded' ORDER BY event_id;

-- A DO ALSO rule on a managed table does not take the restore's place when restore_deletion()
-- plans its UPDATE: the rule's action is planned as an ordinary statement.
CREATE TABLE ruled (id int PRIMARY KEY);
CREATE TABLE side_log (n int);
SELECT softdelete.enable('ruled');
INSERT INTO ruled VALUES (1), (2);
CREATE RULE log_updates AS ON UPDATE TO ruled DO ALSO INSERT INTO side_log VALUES (1);
DELETE FROM ruled;
SELECT softdelete.restore_deletion(deletion_id) AS restored
FROM softdelete.deletions WHERE root_table = 'audit_batches.ruled';
SELECT count(*) AS active FROM ruled WHERE deleted_at IS NULL;
SELECT operation, count(*) AS events FROM softdelete.events
WHERE table_name = 'audit_batches.ruled' GROUP BY operation ORDER BY operation;
RESET softdelete.notices;
