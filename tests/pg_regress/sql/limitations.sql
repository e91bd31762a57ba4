-- Limits of the extension that docs/limitations.md lists, pinned so that a change in any of
-- them shows up here.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA limitations;
SET search_path = limitations, public;
SET softdelete.notices = off;
-- Legal hold ids start at a fixed value, so that the id in a message below does not depend on
-- the files that ran before.
SELECT setval(pg_get_serial_sequence('softdelete.legal_holds', 'hold_id'), 70000) AS hold_id_start \gset

-- A soft delete is an UPDATE: UPDATE triggers fire, DELETE triggers do not.
CREATE TABLE note (id int PRIMARY KEY, body text);
CREATE TABLE fired (trigger_name text, operation text);
CREATE FUNCTION record_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO limitations.fired VALUES (TG_NAME, TG_OP);
    RETURN NULL;
END
$$;
CREATE TRIGGER on_delete AFTER DELETE ON note FOR EACH ROW EXECUTE FUNCTION record_trigger();
CREATE TRIGGER on_update AFTER UPDATE ON note FOR EACH ROW EXECUTE FUNCTION record_trigger();
SELECT softdelete.enable('note');
INSERT INTO note VALUES (1, 'a'), (2, 'b'), (3, 'c');
DELETE FROM note WHERE id = 1;
SELECT trigger_name, operation FROM fired ORDER BY 1;

-- EXPLAIN shows the DELETE planned as an Update of the active rows.
EXPLAIN (COSTS OFF) DELETE FROM note WHERE id = 2;

-- One statement is one deletion, also when several data-modifying CTEs delete, from one table
-- or from two.
CREATE TABLE memo (id int PRIMARY KEY);
SELECT softdelete.enable('memo');
INSERT INTO memo VALUES (1);
WITH first AS (DELETE FROM note WHERE id = 2 RETURNING id),
     second AS (DELETE FROM note WHERE id = 3 RETURNING id),
     third AS (DELETE FROM memo WHERE id = 1 RETURNING id)
SELECT (SELECT count(*) FROM first) + (SELECT count(*) FROM second) + (SELECT count(*) FROM third) AS deleted;
SELECT count(DISTINCT deletion_id) AS deletions
FROM (SELECT deletion_id FROM note WHERE id IN (2, 3) UNION ALL SELECT deletion_id FROM memo) d;
SELECT table_name, key FROM softdelete.events
WHERE deletion_id = (SELECT deletion_id FROM memo) ORDER BY table_name, key;

-- SET CONSTRAINTS does not move the extension's check of a NO ACTION key: only the declared
-- timing (here: immediate) counts.
CREATE TABLE account (id int PRIMARY KEY);
CREATE TABLE invoice (id int PRIMARY KEY,
                      account_id int REFERENCES account DEFERRABLE INITIALLY IMMEDIATE);
SELECT softdelete.enable('account');
SELECT softdelete.enable('invoice');
INSERT INTO account VALUES (1);
INSERT INTO invoice VALUES (10, 1);
BEGIN;
SET CONSTRAINTS ALL DEFERRED;
DELETE FROM account WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- A cascade runs as the referencing table's owner, under that owner's own policies: a row
-- they hide stays active under the deleted row.
CREATE ROLE limitations_owner;
GRANT USAGE, CREATE ON SCHEMA limitations TO limitations_owner;
CREATE TABLE team (id int PRIMARY KEY);
SELECT softdelete.enable('team');
GRANT SELECT, REFERENCES ON team TO limitations_owner;
SET ROLE limitations_owner;
CREATE TABLE player (id int PRIMARY KEY, team_id int REFERENCES limitations.team ON DELETE CASCADE,
                     hidden boolean NOT NULL DEFAULT false);
SELECT softdelete.enable('limitations.player');
ALTER TABLE player ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible_players ON player USING (NOT hidden);
RESET ROLE;
INSERT INTO team VALUES (1);
SET ROLE limitations_owner;
INSERT INTO player VALUES (1, 1, false);
RESET ROLE;
SET row_security = off;
INSERT INTO player VALUES (2, 1, true);
RESET row_security;
DELETE FROM team WHERE id = 1;
SELECT id, hidden, deleted_at IS NOT NULL AS deleted FROM player ORDER BY id;

-- A managed table whose foreign key cascades from an unmanaged table: removing a referenced
-- row fails at the first referencing row, soft-deleted ones included.
CREATE TABLE folder (id int PRIMARY KEY);
CREATE TABLE file (id int PRIMARY KEY, folder_id int REFERENCES folder ON DELETE CASCADE);
SELECT softdelete.enable('file');
INSERT INTO folder VALUES (1), (2);
INSERT INTO file VALUES (10, 1);
DELETE FROM file WHERE id = 10;
DELETE FROM folder WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM folder WHERE id = 2;
SELECT id FROM folder ORDER BY id;

-- purge_expired() reports a deletion it cannot purge and goes on with the others.
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent);
SELECT softdelete.enable('parent');
SELECT softdelete.enable('child');
INSERT INTO parent VALUES (5), (6);
INSERT INTO child VALUES (1, 5);
DELETE FROM child WHERE id = 1;
DELETE FROM parent WHERE id = 5;
DELETE FROM parent WHERE id = 6;
SELECT softdelete.set_retention('parent', interval '0 seconds');
SET client_min_messages = error;
CALL softdelete.purge_expired();
RESET client_min_messages;
SELECT id FROM parent ORDER BY id;
SELECT softdelete.set_retention('parent', NULL);

-- A legal hold also blocks anonymize().
CREATE TABLE person (id int PRIMARY KEY, email text NOT NULL);
SELECT softdelete.enable('person');
SELECT softdelete.set_personal_columns('person', '{"email": "gone-{key}@example.invalid"}');
INSERT INTO person VALUES (1, 'ann@example.com');
SELECT softdelete.hold('person', 1, 'open case') > 0 AS held;
SELECT softdelete.anonymize('person', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT email FROM person;
SELECT softdelete.release_hold(:hold_id_start + 1);

-- A self-referencing chain of any depth is marked by one DELETE.
CREATE TABLE employee (id int PRIMARY KEY, boss int REFERENCES employee ON DELETE CASCADE);
SELECT softdelete.enable('employee');
INSERT INTO employee SELECT g, CASE WHEN g = 1 THEN NULL ELSE g - 1 END FROM generate_series(1, 1000) g;
DELETE FROM employee WHERE id = 1;
SELECT count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted, count(DISTINCT deletion_id) AS deletions
FROM employee;

-- A unique index built CONCURRENTLY without a predicate is rejected only after the build has
-- committed, so an invalid index stays behind, and it still enforces uniqueness among deleted
-- rows until it is dropped.
CREATE TABLE tag (id int PRIMARY KEY, label text);
SELECT softdelete.enable('tag');
INSERT INTO tag VALUES (1, 'x');
DELETE FROM tag WHERE id = 1;
CREATE UNIQUE INDEX CONCURRENTLY tag_label_idx ON tag (label);
\echo :LAST_ERROR_SQLSTATE
SELECT indisvalid FROM pg_index WHERE indexrelid = 'tag_label_idx'::regclass;
INSERT INTO tag VALUES (2, 'x');
\echo :LAST_ERROR_SQLSTATE
DROP INDEX tag_label_idx;
INSERT INTO tag VALUES (2, 'x');

-- During a purge, a DELETE run by a trigger that the purge's cascade fires is physical only on
-- the tables the declared cascades reach; on another managed table it raises 55000.
CREATE TABLE vault (id int PRIMARY KEY);
CREATE TABLE box (id int PRIMARY KEY);
CREATE TABLE item (id int PRIMARY KEY, box_id int REFERENCES box ON DELETE CASCADE);
SELECT softdelete.enable('vault');
SELECT softdelete.enable('box');
SELECT softdelete.enable('item');
CREATE FUNCTION empty_vault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM limitations.vault;
    RETURN OLD;
END
$$;
CREATE TRIGGER empty_vault BEFORE DELETE ON item FOR EACH ROW EXECUTE FUNCTION empty_vault();
INSERT INTO vault VALUES (1);
INSERT INTO box VALUES (1);
INSERT INTO item VALUES (1, 1);
DELETE FROM box WHERE id = 1;
SELECT softdelete.purge('box', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT (SELECT count(*) FROM vault) AS vault_rows, (SELECT count(*) FROM box) AS box_rows;

-- Dropping the guard trigger ends the management of the table: DELETE removes rows for real.
DROP TRIGGER softdelete_guard ON note;
INSERT INTO note VALUES (4, 'd');
DELETE FROM note WHERE id = 4;
SELECT count(*) AS rows_with_id_4 FROM note WHERE id = 4;

DROP SCHEMA limitations CASCADE;
DROP ROLE limitations_owner;
