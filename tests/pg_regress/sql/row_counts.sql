-- A soft DELETE reports the command tag, row count and RETURNING rows of a real delete, in every way a statement can run.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA row_counts;
SET search_path = row_counts, public;
SELECT setval('softdelete.deletion_seq', 6000) AS deletion_seq_start \gset

CREATE TABLE tasks (id int PRIMARY KEY, title text NOT NULL, project text NOT NULL);
SET softdelete.notices = off;
SELECT softdelete.enable('tasks');
RESET softdelete.notices;
INSERT INTO tasks SELECT g, 'task ' || g, CASE WHEN g <= 20 THEN 'alpha' ELSE 'beta' END
FROM generate_series(1, 30) g;

-- Returns the ids of the deleted rows, to show what each statement marked.
CREATE FUNCTION deleted_ids() RETURNS int[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM row_counts.tasks WHERE deleted_at IS NOT NULL
$$;

-- One row, several rows, no row.
DELETE FROM tasks WHERE id = 1;
DELETE FROM tasks WHERE id IN (2, 3, 4);
DELETE FROM tasks WHERE id = 999;
SELECT deleted_ids();

-- RETURNING shows the rows as they are now stored: deleted_at, deleted_by and deletion_id are
-- set, and every row of the statement shares one deletion id.
DELETE FROM tasks WHERE id IN (5, 6)
RETURNING id, title, deleted_at IS NOT NULL AS marked, deleted_at = now() AS deleted_now,
          deleted_by, deletion_id IS NOT NULL AS has_deletion_id;
DELETE FROM tasks WHERE id IN (7, 8) RETURNING id, deletion_id - :deletion_seq_start AS deletion_number;
SELECT deleted_ids();

-- Deleting a deleted row finds nothing and keeps the first deletion.
SELECT deleted_at AS first_deleted_at, deletion_id AS first_deletion_id FROM tasks WHERE id = 1 \gset
DELETE FROM tasks WHERE id = 1;
DELETE FROM tasks WHERE id = 1 RETURNING id;
DELETE FROM tasks WHERE id IN (1, 9) RETURNING id;
SELECT deleted_at = :'first_deleted_at' AS same_deleted_at, deletion_id = :first_deletion_id AS same_deletion_id
FROM tasks WHERE id = 1;

-- In a data-modifying CTE, with the outer statement reading its RETURNING rows.
WITH d AS (DELETE FROM tasks WHERE id IN (10, 11) RETURNING id)
SELECT array_agg(id ORDER BY id) AS deleted FROM d;
CREATE TABLE archive (task_id int, title text);
WITH d AS (DELETE FROM tasks WHERE id IN (12, 13) RETURNING id, title)
INSERT INTO archive SELECT id, title FROM d;
SELECT * FROM archive ORDER BY task_id;
-- A DELETE as the outer statement, with a CTE that selects the rows.
WITH doomed AS (SELECT id FROM tasks WHERE id = 14)
DELETE FROM tasks USING doomed WHERE tasks.id = doomed.id;
SELECT deleted_ids();

-- DELETE ... USING another table.
CREATE TABLE closed_tasks (task_id int);
INSERT INTO closed_tasks VALUES (15), (16), (999);
DELETE FROM tasks t USING closed_tasks c WHERE t.id = c.task_id RETURNING t.id;

-- A prepared statement, run more often than the plan cache needs to switch to a generic plan.
-- Every execution is a deletion of its own.
PREPARE delete_task(int) AS DELETE FROM tasks WHERE id = $1;
EXECUTE delete_task(17);
EXECUTE delete_task(17);
EXECUTE delete_task(18);
EXECUTE delete_task(19);
EXECUTE delete_task(20);
EXECUTE delete_task(21);
EXECUTE delete_task(22);
PREPARE delete_project_returning(text, int) AS
    DELETE FROM tasks WHERE project = $1 AND id <= $2 AND id > $2 - 2 RETURNING id;
EXECUTE delete_project_returning('beta', 24);
EXECUTE delete_project_returning('beta', 24);
SELECT count(DISTINCT deletion_id) AS deletions, count(*) AS rows FROM tasks WHERE id BETWEEN 17 AND 22;
DEALLOCATE delete_task;
DEALLOCATE delete_project_returning;

-- PL/pgSQL sees the row count in GET DIAGNOSTICS and FOUND, and RETURNING ... INTO.
CREATE FUNCTION delete_and_count(first_id int, last_id int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    affected bigint;
BEGIN
    DELETE FROM row_counts.tasks WHERE id BETWEEN first_id AND last_id;
    GET DIAGNOSTICS affected = ROW_COUNT;
    RETURN format('row_count=%s found=%s', affected, FOUND);
END
$$;
SELECT delete_and_count(25, 26);
SELECT delete_and_count(25, 26);
SELECT delete_and_count(26, 27);
CREATE FUNCTION delete_one(task_id int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    deleted_title text;
BEGIN
    DELETE FROM row_counts.tasks WHERE id = task_id RETURNING title INTO STRICT deleted_title;
    RETURN deleted_title;
END
$$;
SELECT delete_one(28);
-- STRICT raises P0002 when the DELETE found no row.
SELECT delete_one(28);
\echo :LAST_ERROR_SQLSTATE
SELECT id, deleted_at IS NOT NULL AS deleted FROM tasks WHERE id = 28;

-- DELETE through a simple view on the table.
CREATE VIEW beta_tasks AS SELECT id, title FROM tasks WHERE project = 'beta';
DELETE FROM beta_tasks WHERE id = 29;
DELETE FROM beta_tasks WHERE id IN (1, 30) RETURNING id, title;
SELECT id, deleted_at IS NOT NULL AS deleted FROM tasks WHERE id IN (29, 30) ORDER BY id;

-- DELETE ... WHERE CURRENT OF a cursor.
INSERT INTO tasks VALUES (31, 'task 31', 'gamma'), (32, 'task 32', 'gamma');
BEGIN;
DECLARE task_cursor CURSOR FOR SELECT id FROM tasks WHERE project = 'gamma' ORDER BY id FOR UPDATE;
FETCH task_cursor;
DELETE FROM tasks WHERE CURRENT OF task_cursor RETURNING id;
COMMIT;
SELECT id, deleted_at IS NOT NULL AS deleted FROM tasks WHERE project = 'gamma' ORDER BY id;

-- Every statement above only marked rows: none was removed.
SELECT count(*) AS rows, count(*) FILTER (WHERE deleted_at IS NULL) AS active FROM tasks;
SELECT deleted_ids();

DROP SCHEMA row_counts CASCADE;
