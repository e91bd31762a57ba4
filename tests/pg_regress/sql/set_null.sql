-- ON DELETE SET NULL and SET DEFAULT in soft form: a soft delete changes the active referencing rows and records unlink events, and restore() puts the old values back unless a row changed since.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA set_null;
SET search_path = set_null, public;
-- The NOTICEs of restore() name the deletion id, which comes from a sequence that every test
-- file shares, so they are off here. The last part shows them in a database of its own.
SET softdelete.notices = off;

-- Account 0 is the placeholder that tickets fall back to (their column default).
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
CREATE TABLE projects (id int PRIMARY KEY, title text NOT NULL,
                       owner_id bigint REFERENCES accounts ON DELETE SET NULL);
CREATE TABLE tickets (id int PRIMARY KEY,
                      account_id bigint NOT NULL DEFAULT 0 REFERENCES accounts ON DELETE SET DEFAULT);
-- The referencing tables are enabled first, so enable('accounts') has nothing to warn about.
SELECT softdelete.enable('projects');
SELECT softdelete.enable('tickets');
SELECT softdelete.enable('accounts');
SELECT child_table, constraint_name, declared_on_delete, effective_on_delete, child_managed
FROM softdelete.foreign_key_rules WHERE parent_table = 'accounts'::regclass
ORDER BY constraint_name;
INSERT INTO accounts VALUES (0, 'nobody@x.test'), (1, 'a@x.test'), (2, 'b@x.test');
INSERT INTO projects VALUES (10, 'p10', 1), (11, 'p11', 1), (12, 'p12', 1), (20, 'p20', 2);
INSERT INTO tickets VALUES (100, 1), (101, 1), (102, 2);
-- Project 12 is soft-deleted first, by a deletion of its own.
DELETE FROM projects WHERE id = 12;
SELECT deleted_at AS p12_at, deletion_id AS p12_deletion FROM projects WHERE id = 12 \gset

-- Deleting account 1 counts one row and keeps the referencing rows active, with their
-- references cleared: NULL for projects, the default 0 for tickets.
DELETE FROM accounts WHERE id = 1;
SELECT deletion_id AS a1_deletion FROM accounts WHERE id = 1 \gset
SELECT id, owner_id, deleted_at IS NULL AS active FROM projects ORDER BY id;
SELECT id, account_id, deleted_at IS NULL AS active FROM tickets ORDER BY id;
-- The soft-deleted project 12 is left as it was: it still references account 1.
SELECT owner_id, deleted_at = :'p12_at' AS same_deleted_at, deletion_id = :p12_deletion AS same_deletion
FROM projects WHERE id = 12;

-- Each change is an unlink event of the deletion, with the constraint and the old and new values.
SELECT table_name, key, detail, deletion_id = :a1_deletion AS same_deletion, actor
FROM softdelete.events
WHERE operation = 'unlink' AND table_name LIKE 'set_null.%'
ORDER BY table_name, key, detail ->> 'constraint';
-- The deletion itself counts only the soft-deleted account.
SELECT root_table, rows_per_table, deleted_rows, state
FROM softdelete.deletions WHERE deletion_id = :a1_deletion;

-- Project 11 and ticket 101 get a new reference before the restore.
UPDATE projects SET owner_id = 2 WHERE id = 11;
UPDATE tickets SET account_id = 2 WHERE id = 101;

-- The restore puts back the values the deletion cleared, except where the row changed since:
-- project 11 and ticket 101 keep the newer value.
SELECT softdelete.restore('accounts', 1);
SELECT id, owner_id, deleted_at IS NULL AS active FROM projects ORDER BY id;
SELECT id, account_id FROM tickets ORDER BY id;
SELECT table_name, key, detail, deletion_id = :a1_deletion AS same_deletion
FROM softdelete.events
WHERE operation = 'relink' AND table_name LIKE 'set_null.%'
ORDER BY table_name, key;
SELECT owner_id, deleted_at = :'p12_at' AS same_deleted_at, deletion_id = :p12_deletion AS same_deletion
FROM projects WHERE id = 12;

-- Two foreign keys of one row reference the deleted account: both are cleared, with one
-- unlink event each, and both come back.
CREATE TABLE documents (id int PRIMARY KEY,
                        author_id bigint REFERENCES accounts ON DELETE SET NULL,
                        editor_id bigint REFERENCES accounts ON DELETE SET NULL);
SELECT softdelete.enable('documents');
INSERT INTO accounts VALUES (3, 'c@x.test');
INSERT INTO documents VALUES (1, 3, 3), (2, 3, 2);
DELETE FROM accounts WHERE id = 3;
SELECT deletion_id AS a3_deletion FROM accounts WHERE id = 3 \gset
SELECT id, author_id, editor_id FROM documents ORDER BY id;
SELECT key, detail FROM softdelete.events
WHERE operation = 'unlink' AND table_name = 'set_null.documents'
ORDER BY key, detail ->> 'constraint';
SELECT softdelete.restore('accounts', 3);
SELECT id, author_id, editor_id FROM documents ORDER BY id;
SELECT key, detail ->> 'constraint' AS constraint_name FROM softdelete.events
WHERE operation = 'relink' AND table_name = 'set_null.documents'
ORDER BY key, constraint_name;

-- PostgreSQL 15 can limit SET NULL to some columns of a foreign key: deleting a user clears
-- assignee_id and keeps tenant_id, which is NOT NULL.
CREATE TABLE users (tenant_id int, id int, PRIMARY KEY (tenant_id, id));
CREATE TABLE issues (id int PRIMARY KEY, tenant_id int NOT NULL, assignee_id int,
                     FOREIGN KEY (tenant_id, assignee_id) REFERENCES users ON DELETE SET NULL (assignee_id));
SELECT softdelete.enable('issues');
SELECT softdelete.enable('users');
INSERT INTO users VALUES (1, 7), (1, 8);
INSERT INTO issues VALUES (1, 1, 7), (2, 1, 8);
DELETE FROM users WHERE tenant_id = 1 AND id = 7;
SELECT id, tenant_id, assignee_id FROM issues ORDER BY id;
SELECT key, detail FROM softdelete.events
WHERE operation = 'unlink' AND table_name = 'set_null.issues';
SELECT softdelete.restore('users', ROW(1, 7));
SELECT id, tenant_id, assignee_id FROM issues ORDER BY id;

-- An unmanaged referencing table cannot follow SET NULL or SET DEFAULT in soft form: enable()
-- warns, and deleting a referenced row fails and changes nothing.
CREATE TABLE labels (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE stickers (id int PRIMARY KEY, label_id int REFERENCES labels ON DELETE SET NULL);
CREATE TABLE badges (id int PRIMARY KEY, label_id int DEFAULT 1 REFERENCES labels ON DELETE SET DEFAULT);
SELECT softdelete.enable('labels');
INSERT INTO labels VALUES (1, 'none'), (2, 'red');
INSERT INTO stickers VALUES (1, 2);
INSERT INTO badges VALUES (1, 2);
DELETE FROM labels WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
SELECT id, deleted_at IS NULL AS active FROM labels ORDER BY id;
SELECT 'stickers' AS table_name, id, label_id FROM stickers
UNION ALL SELECT 'badges', id, label_id FROM badges
ORDER BY 1, 2;

SET client_min_messages = warning;
DROP SCHEMA set_null CASCADE;
RESET client_min_messages;

-- The NOTICE about a kept value, next to the restore's summary. Deletion ids come from a
-- sequence of each database, so in a new database the first deletion is always 1.
\set regression_database :DBNAME
CREATE DATABASE set_null_notices;
\c set_null_notices
SET client_min_messages = warning;
CREATE EXTENSION pg_softdelete;
RESET client_min_messages;
SET softdelete.notices = off;
CREATE TABLE accounts (id int PRIMARY KEY);
CREATE TABLE projects (id int PRIMARY KEY, owner_id int REFERENCES accounts ON DELETE SET NULL);
SELECT softdelete.enable('projects');
SELECT softdelete.enable('accounts');
INSERT INTO accounts VALUES (1), (2);
INSERT INTO projects VALUES (10, 1), (11, 1);
DELETE FROM accounts WHERE id = 1;
UPDATE projects SET owner_id = 2 WHERE id = 11;
SET softdelete.notices = on;
SELECT softdelete.restore('accounts', 1);
SELECT id, owner_id FROM projects ORDER BY id;
\c :regression_database
DROP DATABASE set_null_notices;
