-- softdelete.set_foreign_key_rule() and the view softdelete.foreign_key_rules: a DBA override of the ON DELETE rule that soft deletes, restores and purges follow, its reset, and its errors.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA fk_rules;
SET search_path = fk_rules, public;
GRANT USAGE ON SCHEMA fk_rules TO app_rw;
-- enable.sql covers the NOTICEs of enable(), so they are off. They are turned on again where
-- this file shows those of set_foreign_key_rule().
SET softdelete.notices = off;

-- The rules and overrides of the tables in this schema.
CREATE VIEW rules AS
SELECT r.* FROM softdelete.foreign_key_rules r JOIN pg_class c ON c.oid = r.child_table
WHERE c.relnamespace = 'fk_rules'::regnamespace;
CREATE VIEW overrides AS
SELECT o.* FROM softdelete.foreign_key_overrides o JOIN pg_class c ON c.oid = o.child_table
WHERE c.relnamespace = 'fk_rules'::regnamespace;

CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
-- Declared NO ACTION: PostgreSQL would reject removing an account that projects reference.
CREATE TABLE projects (id int PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts);
CREATE TABLE tasks (id int PRIMARY KEY, project_id int NOT NULL REFERENCES projects);
SELECT softdelete.enable('tasks');
SELECT softdelete.enable('projects');
SELECT softdelete.enable('accounts');
INSERT INTO accounts VALUES (1, 'a@x.test'), (2, 'b@x.test');
INSERT INTO projects VALUES (10, 1), (11, 1), (20, 2);
INSERT INTO tasks VALUES (100, 10), (200, 20);

SELECT child_table, constraint_name, parent_table, declared_on_delete, override_on_delete,
       effective_on_delete, child_managed
FROM rules ORDER BY constraint_name;
-- Under the declared rule, an active project blocks the soft delete of its account.
DELETE FROM accounts WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE

-- Both keys are made to cascade for soft deletes.
SET softdelete.notices = on;
SELECT softdelete.set_foreign_key_rule('projects', 'projects_account_id_fkey', 'cascade');
SELECT softdelete.set_foreign_key_rule('tasks', 'tasks_project_id_fkey', 'CASCADE');
SET softdelete.notices = off;
SELECT child_table, constraint_name, declared_on_delete, override_on_delete, effective_on_delete
FROM rules ORDER BY constraint_name;
SELECT child_table, constraint_name, on_delete FROM overrides ORDER BY constraint_name;

-- Now the DELETE cascades to projects 10 and 11 and to task 100, in one deletion.
DELETE FROM accounts WHERE id = 1;
SELECT deletion_id AS a1_deletion FROM accounts WHERE id = 1 \gset
SELECT table_name, key, via_constraint FROM softdelete.events
WHERE deletion_id = :a1_deletion ORDER BY event_id;
-- The restore brings the children back.
SELECT softdelete.restore('accounts', 1);
SELECT 'projects' AS table_name, id, deleted_at IS NULL AS active FROM projects
UNION ALL SELECT 'tasks', id, deleted_at IS NULL FROM tasks
ORDER BY 1, 2;

-- Purging the account removes the soft-deleted projects and tasks first: PostgreSQL's own
-- check of the declared NO ACTION rule would reject the account's removal otherwise.
DELETE FROM accounts WHERE id = 1;
SELECT deletion_id AS a1_again FROM accounts WHERE id = 1 \gset
SELECT softdelete.purge('accounts', 1);
SELECT 'accounts' AS table_name, id FROM accounts
UNION ALL SELECT 'projects', id FROM projects
UNION ALL SELECT 'tasks', id FROM tasks
ORDER BY 1, 2;
SELECT table_name, key FROM softdelete.events
WHERE deletion_id = :a1_again AND operation = 'purge' ORDER BY table_name, key;

-- NULL removes the override, and the declared rule applies again.
SET softdelete.notices = on;
SELECT softdelete.set_foreign_key_rule('projects', 'projects_account_id_fkey', NULL);
SET softdelete.notices = off;
SELECT constraint_name, override_on_delete, effective_on_delete
FROM rules WHERE child_table = 'projects'::regclass;
DELETE FROM accounts WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
SELECT id, deleted_at IS NULL AS active FROM accounts ORDER BY id;

-- A declared CASCADE key can be made to SET NULL, or to block the delete.
CREATE TABLE notes (id int PRIMARY KEY, account_id bigint REFERENCES accounts ON DELETE CASCADE);
SELECT softdelete.enable('notes');
INSERT INTO accounts VALUES (3, 'c@x.test'), (4, 'd@x.test');
INSERT INTO notes VALUES (30, 3), (40, 4);
SELECT softdelete.set_foreign_key_rule('notes', 'notes_account_id_fkey', 'set null');
DELETE FROM accounts WHERE id = 3;
SELECT id, account_id, deleted_at IS NULL AS active FROM notes ORDER BY id;
SELECT softdelete.set_foreign_key_rule('notes', 'notes_account_id_fkey', 'restrict');
DELETE FROM accounts WHERE id = 4;
\echo :LAST_ERROR_SQLSTATE
SELECT id, account_id, deleted_at IS NULL AS active FROM notes ORDER BY id;
SELECT id, deleted_at IS NULL AS active FROM accounts WHERE id IN (3, 4) ORDER BY id;

-- Errors. None of them changes softdelete.foreign_key_overrides.
SELECT child_table, constraint_name, on_delete FROM overrides ORDER BY constraint_name;
-- No such constraint on the table (42704).
SELECT softdelete.set_foreign_key_rule('notes', 'no_such_fkey', 'cascade');
\echo :LAST_ERROR_SQLSTATE
-- A constraint of another table (42704).
SELECT softdelete.set_foreign_key_rule('notes', 'projects_account_id_fkey', 'cascade');
\echo :LAST_ERROR_SQLSTATE
-- An unknown rule (22023).
SELECT softdelete.set_foreign_key_rule('notes', 'notes_account_id_fkey', 'delete');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_foreign_key_rule('notes', 'notes_account_id_fkey', '');
\echo :LAST_ERROR_SQLSTATE
-- A role that does not own the referencing table (42501).
SET ROLE app_rw;
SELECT softdelete.set_foreign_key_rule('notes', 'notes_account_id_fkey', 'cascade');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- An unmanaged table cannot follow CASCADE, SET NULL or SET DEFAULT for a managed parent (55000).
CREATE TABLE audit_copies (id int PRIMARY KEY, account_id bigint REFERENCES accounts);
SELECT softdelete.set_foreign_key_rule('audit_copies', 'audit_copies_account_id_fkey', 'cascade');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_foreign_key_rule('audit_copies', 'audit_copies_account_id_fkey', 'set null');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_foreign_key_rule('audit_copies', 'audit_copies_account_id_fkey', 'set default');
\echo :LAST_ERROR_SQLSTATE
SELECT child_table, constraint_name, on_delete FROM overrides ORDER BY constraint_name;
SELECT constraint_name, override_on_delete, effective_on_delete, child_managed
FROM rules WHERE child_table = 'audit_copies'::regclass;

-- The remedy that enable()'s WARNING suggests: an unmanaged table with ON DELETE CASCADE gets
-- the rule 'restrict', so that a referenced row cannot be soft-deleted and others can.
CREATE TABLE folders (id int PRIMARY KEY);
CREATE TABLE files (id int PRIMARY KEY, folder_id int REFERENCES folders ON DELETE CASCADE);
SELECT softdelete.enable('folders');
SELECT softdelete.set_foreign_key_rule('files', 'files_folder_id_fkey', 'restrict');
INSERT INTO folders VALUES (1), (2);
INSERT INTO files VALUES (1, 1);
DELETE FROM folders WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM folders WHERE id = 2;
SELECT id, deleted_at IS NULL AS active FROM folders ORDER BY id;
SELECT id, folder_id FROM files;

-- An override set while the parent is not managed yet counts when it is enabled: enable()
-- warns about the CASCADE that the unmanaged table cannot follow.
CREATE TABLE boxes (id int PRIMARY KEY);
CREATE TABLE items (id int PRIMARY KEY, box_id int REFERENCES boxes);
SELECT softdelete.set_foreign_key_rule('items', 'items_box_id_fkey', 'cascade');
SELECT softdelete.enable('boxes');
SELECT constraint_name, declared_on_delete, effective_on_delete, child_managed
FROM rules WHERE child_table = 'items'::regclass;

-- Dropping a table removes its overrides, as it removes the table from
-- softdelete.managed_tables.
SELECT array_agg(child_table::oid) AS override_tables FROM overrides \gset
SET client_min_messages = warning;
DROP SCHEMA fk_rules CASCADE;
RESET client_min_messages;
SELECT count(*) AS overrides_left FROM softdelete.foreign_key_overrides
WHERE child_table::oid = ANY (:'override_tables'::oid[]);
