-- softdelete.enable() and softdelete.disable(): what they change on a table, and how disable() undoes it.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA enable;
SET search_path = enable, public;
-- The NOTICEs of restore() name the deletion id, which comes from a sequence that all test
-- files share. Starting the sequence at a fixed value keeps the ids the same whatever ran before.
SELECT setval('softdelete.deletion_seq', 1000) AS deletion_seq_start \gset

-- Helpers that print the parts of a table that enable() changes.
CREATE FUNCTION marker_columns(tbl regclass)
RETURNS TABLE (column_name name, data_type text, not_null boolean, has_default boolean)
LANGUAGE sql STABLE AS $$
    SELECT attname, format_type(atttypid, atttypmod), attnotnull, atthasdef
    FROM pg_attribute
    WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped
      AND attname IN ('deleted_at', 'deleted_by', 'deletion_id')
    ORDER BY attnum
$$;
CREATE FUNCTION unique_indexes(tbl regclass)
RETURNS TABLE (index_name name, constraint_type "char", definition text)
LANGUAGE sql STABLE AS $$
    SELECT c.relname, con.contype, pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    LEFT JOIN pg_constraint con
           ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u')
    WHERE i.indrelid = tbl AND i.indisunique
    ORDER BY c.relname
$$;
CREATE FUNCTION rls_flags(tbl regclass, OUT enabled boolean, OUT forced boolean)
LANGUAGE sql STABLE AS $$
    SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = tbl
$$;
CREATE FUNCTION policies(tbl regclass)
RETURNS TABLE (policy_name name, permissive boolean, command "char", using_expr text, check_expr text)
LANGUAGE sql STABLE AS $$
    SELECT polname, polpermissive, polcmd, pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)
    FROM pg_policy WHERE polrelid = tbl ORDER BY polname
$$;
CREATE FUNCTION triggers(tbl regclass)
RETURNS TABLE (trigger_name name, definition text)
LANGUAGE sql STABLE AS $$
    SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
    WHERE tgrelid = tbl AND NOT tgisinternal ORDER BY tgname
$$;

-- A table with one unique constraint or unique index of each kind enable() converts.
CREATE TABLE projects (
    id int PRIMARY KEY,
    name text NOT NULL CONSTRAINT projects_name_key UNIQUE,
    code text,
    slug text,
    owner_email text,
    CONSTRAINT projects_code_key UNIQUE NULLS NOT DISTINCT (code) INCLUDE (owner_email) WITH (fillfactor = 70)
);
CREATE UNIQUE INDEX projects_slug_idx ON projects (slug) WHERE slug <> '';
CREATE UNIQUE INDEX projects_lower_name_idx ON projects (lower(name));
INSERT INTO projects VALUES (1, 'Roadmap', 'RM', 'roadmap', 'ann@example.test'),
                            (2, 'Budget', 'BU', '', 'bob@example.test'),
                            (3, 'Hiring', NULL, '', 'cy@example.test');
SELECT * FROM unique_indexes('projects');
-- Saved to compare with what disable() puts back.
CREATE TABLE projects_original_indexes AS
    SELECT u.index_name, u.definition, pg_get_constraintdef(con.oid) AS constraint_definition
    FROM unique_indexes('projects') u
    LEFT JOIN pg_constraint con ON con.conname = u.index_name AND con.conrelid = 'projects'::regclass;
SELECT pg_relation_filenode('projects') AS filenode_before \gset

-- Every change is reported as a NOTICE.
SELECT softdelete.enable('projects');

-- The marker columns are nullable and have no default, so ALTER TABLE did not rewrite the table.
SELECT * FROM marker_columns('projects');
SELECT pg_relation_filenode('projects') = :filenode_before AS same_filenode;
SELECT id, deleted_at, deleted_by, deletion_id FROM projects ORDER BY id;

-- Unique constraints and indexes keep their names and become unique over active rows only.
-- The primary key stays unique over all rows.
SELECT * FROM unique_indexes('projects');
SELECT conname, contype FROM pg_constraint WHERE conrelid = 'projects'::regclass ORDER BY conname;

-- Row-level security is enabled and forced, so the table owner is subject to it as well.
SELECT * FROM rls_flags('projects');
SELECT * FROM policies('projects');
SELECT * FROM triggers('projects');

-- What enable() recorded for disable().
SELECT relid, added_columns, rls_was_enabled, rls_was_forced, enabled_by
FROM softdelete.managed_tables WHERE relid = 'projects'::regclass;
SELECT entry->>'name' AS name, entry->>'kind' AS kind, entry->>'definition' AS definition
FROM softdelete.managed_tables m, jsonb_array_elements(m.converted_uniques) entry
WHERE m.relid = 'projects'::regclass
ORDER BY 1;
SELECT table_name, active_rows, deleted_rows, hidden_from_current_role, enabled_by
FROM softdelete.tables WHERE table_name = 'projects'::regclass;

-- A unique constraint that a foreign key references stays as it is: a foreign key needs a
-- unique index over all rows.
CREATE TABLE teams (id int PRIMARY KEY, code text NOT NULL UNIQUE, motto text UNIQUE);
CREATE TABLE members (id int PRIMARY KEY, team_code text REFERENCES teams (code));
SELECT softdelete.enable('teams');
SELECT * FROM unique_indexes('teams');

-- A deferrable unique constraint stays as it is: an index cannot be deferred.
CREATE TABLE slots (id int PRIMARY KEY, position int UNIQUE DEFERRABLE);
SELECT softdelete.enable('slots');
SELECT * FROM unique_indexes('slots');
SELECT conname, condeferrable FROM pg_constraint WHERE conrelid = 'slots'::regclass ORDER BY conname;

-- Existing marker columns of the right types are adopted, and only the missing one is added.
CREATE TABLE notes (id int PRIMARY KEY, body text, deleted_at timestamptz, deleted_by text);
INSERT INTO notes VALUES (1, 'kept', NULL, NULL),
                         (2, 'already deleted', '2024-01-01 00:00+00', 'legacy-job');
SELECT softdelete.enable('notes');
SELECT * FROM marker_columns('notes');
SELECT added_columns FROM softdelete.managed_tables WHERE relid = 'notes'::regclass;
-- A row whose adopted deleted_at was already set counts as deleted, with its values kept.
SELECT id, deleted_at, deleted_by, deletion_id FROM notes ORDER BY id;
SELECT active_rows, deleted_rows FROM softdelete.tables WHERE table_name = 'notes'::regclass;

-- A table that already has row-level security and a permissive policy of its own keeps that
-- policy and gets no softdelete_allow policy: an "allow all" policy beside it would OR it away.
CREATE TABLE reviews (id int PRIMARY KEY, author text NOT NULL);
ALTER TABLE reviews ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_reviews ON reviews USING (author = current_user);
SELECT softdelete.enable('reviews');
SELECT * FROM rls_flags('reviews');
SELECT * FROM policies('reviews');
SELECT rls_was_enabled, rls_was_forced FROM softdelete.managed_tables WHERE relid = 'reviews'::regclass;

-- A table in a schema that is not on the search_path.
CREATE SCHEMA enable_elsewhere;
CREATE TABLE enable_elsewhere.things (id int PRIMARY KEY, label text UNIQUE);
SELECT softdelete.enable('enable_elsewhere.things');
SELECT * FROM unique_indexes('enable_elsewhere.things');
SELECT * FROM triggers('enable_elsewhere.things');
SELECT relid FROM softdelete.managed_tables WHERE relid = 'enable_elsewhere.things'::regclass;

-- softdelete.notices = off silences the NOTICEs but not the work.
SET softdelete.notices = off;
CREATE TABLE quiet (id int PRIMARY KEY, label text UNIQUE);
SELECT softdelete.enable('quiet');
SELECT * FROM marker_columns('quiet');
SELECT * FROM unique_indexes('quiet');
SELECT policy_name FROM policies('quiet');
SELECT trigger_name FROM triggers('quiet');
SELECT softdelete.disable('quiet', drop_columns => true);
SELECT count(*) AS marker_columns_left FROM marker_columns('quiet');
RESET softdelete.notices;

-- A partitioned table: each partition gets the triggers, including a partition created after
-- enable(), and the converted unique index reaches every partition.
CREATE TABLE visits (id int, region text, ticket text, PRIMARY KEY (id, region), UNIQUE (ticket, region))
    PARTITION BY LIST (region);
CREATE TABLE visits_eu PARTITION OF visits FOR VALUES IN ('eu');
SELECT softdelete.enable('visits');
CREATE TABLE visits_us PARTITION OF visits FOR VALUES IN ('us');
SELECT tgrelid::regclass AS table_name, tgname
FROM pg_trigger WHERE tgrelid IN ('visits'::regclass, 'visits_eu'::regclass, 'visits_us'::regclass)
ORDER BY 1, 2;
SELECT indrelid::regclass AS table_name, indexrelid::regclass AS index_name, pg_get_expr(indpred, indrelid) AS predicate
FROM pg_index WHERE indrelid IN ('visits'::regclass, 'visits_eu'::regclass, 'visits_us'::regclass) AND NOT indisprimary
ORDER BY 1, 2;

-- A table owner that is not a superuser can enable() and disable() its own table, and
-- restore its rows.
CREATE ROLE enable_owner NOLOGIN;
GRANT USAGE, CREATE ON SCHEMA enable TO enable_owner;
SET ROLE enable_owner;
CREATE TABLE owned (id int PRIMARY KEY, code text UNIQUE);
SELECT softdelete.enable('owned');
RESET ROLE;
SELECT relid, enabled_by FROM softdelete.managed_tables WHERE relid = 'owned'::regclass;
SELECT * FROM unique_indexes('owned');
SELECT policy_name FROM policies('owned');
SELECT trigger_name FROM triggers('owned');
SET ROLE enable_owner;
INSERT INTO owned VALUES (1, 'a'), (2, 'b');
DELETE FROM owned WHERE id = 1;
SELECT id, code FROM owned ORDER BY id;
SELECT softdelete.restore('owned', 1);
SELECT softdelete.disable('owned', drop_columns => true);
SELECT id, code FROM owned ORDER BY id;
RESET ROLE;
SELECT * FROM marker_columns('owned');
SELECT * FROM unique_indexes('owned');
SELECT * FROM rls_flags('owned');

-- disable() rejects a table that contains soft-deleted rows, which would otherwise reappear as
-- active rows, and changes nothing.
DELETE FROM projects WHERE id = 3;
SELECT softdelete.disable('projects');
\echo :LAST_ERROR_SQLSTATE
SELECT relid FROM softdelete.managed_tables WHERE relid = 'projects'::regclass;
SELECT policy_name FROM policies('projects');
SELECT trigger_name FROM triggers('projects');
SELECT id, deleted_at IS NOT NULL AS deleted FROM projects ORDER BY id;

-- With the row purged, disable() puts the original unique constraints and indexes back,
-- restores the earlier row-level security flags and removes the policies and triggers.
SELECT softdelete.purge('projects', 3);
SELECT softdelete.disable('projects');
SELECT * FROM unique_indexes('projects');
SELECT o.index_name,
       o.definition = u.definition AS same_index_definition,
       o.constraint_definition IS NOT DISTINCT FROM pg_get_constraintdef(con.oid) AS same_constraint_definition
FROM projects_original_indexes o
LEFT JOIN unique_indexes('projects') u ON u.index_name = o.index_name
LEFT JOIN pg_constraint con ON con.conname = o.index_name AND con.conrelid = 'projects'::regclass
ORDER BY o.index_name;
SELECT * FROM rls_flags('projects');
SELECT count(*) AS policies_left FROM policies('projects');
SELECT count(*) AS triggers_left FROM triggers('projects');
SELECT count(*) AS catalog_rows_left FROM softdelete.managed_tables WHERE relid = 'projects'::regclass;
-- Without drop_columns the marker columns stay.
SELECT * FROM marker_columns('projects');
-- DELETE removes rows for real again, and unique values are unique over all rows again.
DELETE FROM projects WHERE id = 2;
SELECT id FROM projects ORDER BY id;
INSERT INTO projects (id, name) VALUES (4, 'Roadmap');
\echo :LAST_ERROR_SQLSTATE
SELECT id, name FROM projects ORDER BY id;

-- disable() on a table with its own row-level security keeps it enabled and its policy in
-- place, and turns off only what enable() turned on (FORCE).
SELECT softdelete.disable('reviews');
SELECT * FROM rls_flags('reviews');
SELECT * FROM policies('reviews');

-- drop_columns => true drops the columns enable() added, and only those.
SELECT softdelete.restore('notes', 2);
SELECT softdelete.disable('notes', drop_columns => true);
SELECT * FROM marker_columns('notes');
SELECT softdelete.disable('enable_elsewhere.things', drop_columns => true);
SELECT * FROM marker_columns('enable_elsewhere.things');
SELECT * FROM unique_indexes('enable_elsewhere.things');

-- Dropping a managed table removes it from softdelete.managed_tables.
SELECT 'slots'::regclass::oid AS slots_oid \gset
DROP TABLE slots;
SELECT count(*) AS catalog_rows_left FROM softdelete.managed_tables WHERE relid::oid = :slots_oid;

DROP SCHEMA enable_elsewhere CASCADE;
DROP SCHEMA enable CASCADE;
DROP ROLE enable_owner;
