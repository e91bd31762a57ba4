-- DDL on managed tables: renames keep the audit trail usable, changes that would break a
-- managed table are rejected or undone, and new foreign keys and partitions are taken in.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA schema_changes;
SET search_path = schema_changes, public;
SET softdelete.notices = off;
-- Deletion ids start at a fixed value, so that the id in a HINT below does not depend on the
-- files that ran before.
SELECT setval('softdelete.deletion_seq', 60000) AS deletion_seq_start \gset
CREATE TABLE item (id int PRIMARY KEY, code text);
SELECT softdelete.enable('item');
INSERT INTO item VALUES (1, 'a'), (2, 'b');
DELETE FROM item WHERE id = 1;

-- A renamed table, and a renamed schema, keep their events and can still restore.
ALTER TABLE item RENAME TO article;
SELECT table_name FROM softdelete.managed_tables WHERE relid = 'article'::regclass;
SELECT DISTINCT table_name FROM softdelete.events WHERE key = '{"id": 1}' AND table_name LIKE 'schema_changes%';
ALTER SCHEMA schema_changes RENAME TO schema_changes_renamed;
SET search_path = schema_changes_renamed, public;
SELECT table_name FROM softdelete.managed_tables WHERE relid = 'article'::regclass;
SELECT softdelete.restore('article', 1) AS restored;
ALTER SCHEMA schema_changes_renamed RENAME TO schema_changes;
SET search_path = schema_changes, public;

-- Marker columns cannot be renamed, dropped or retyped while the table is managed.
ALTER TABLE article RENAME COLUMN deleted_at TO removed_at;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE article DROP COLUMN deleted_by;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE article ALTER COLUMN deletion_id TYPE numeric;
\echo :LAST_ERROR_SQLSTATE
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'article'::regclass AND attname IN ('deleted_at', 'deleted_by', 'deletion_id')
ORDER BY attnum;

-- Turning row-level security off is undone, with a WARNING.
ALTER TABLE article DISABLE ROW LEVEL SECURITY;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'article'::regclass;

-- A unique index without a predicate would make deleted rows block new ones.
ALTER TABLE article ADD CONSTRAINT article_code_key UNIQUE (code);
\echo :LAST_ERROR_SQLSTATE
CREATE UNIQUE INDEX article_code_idx ON article (code);
\echo :LAST_ERROR_SQLSTATE
CREATE UNIQUE INDEX article_code_idx ON article (code) WHERE deleted_at IS NULL;
SELECT indexrelid::regclass AS index_name, pg_get_expr(indpred, indrelid) AS predicate
FROM pg_index WHERE indrelid = 'article'::regclass AND NOT indisprimary;

-- A table created later with a foreign key to the managed table gets the reference checks.
CREATE TABLE comment (id int PRIMARY KEY, article_id int REFERENCES article);
SELECT tgname FROM pg_trigger WHERE tgrelid = 'comment'::regclass AND NOT tgisinternal ORDER BY tgname;
DELETE FROM article WHERE id = 2;
INSERT INTO comment VALUES (1, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS comments FROM comment;

-- A partition attached after enable() gets row-level security, the policy and the statement
-- triggers of a managed partition.
CREATE TABLE reading (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
SELECT softdelete.enable('reading');
CREATE TABLE reading_eu (id int NOT NULL, region text NOT NULL, deleted_at timestamptz,
                         deleted_by text, deletion_id bigint, PRIMARY KEY (id, region));
ALTER TABLE reading ATTACH PARTITION reading_eu FOR VALUES IN ('eu');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'reading_eu'::regclass;
SELECT polname FROM pg_policy WHERE polrelid = 'reading_eu'::regclass ORDER BY polname;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'reading_eu'::regclass AND NOT tgisinternal ORDER BY tgname;
INSERT INTO reading VALUES (1, 'eu');
DELETE FROM reading_eu WHERE id = 1;
SELECT operation, table_name, key FROM softdelete.events WHERE table_name LIKE 'schema_changes.reading%';
TRUNCATE reading_eu;
\echo :LAST_ERROR_SQLSTATE

-- Dropping a managed table removes it from the catalog of managed tables.
DROP TABLE comment;
DROP TABLE article;
SELECT count(*) AS managed_after_drop FROM softdelete.managed_tables
WHERE table_name LIKE 'schema_changes.article';

DROP SCHEMA schema_changes CASCADE;
