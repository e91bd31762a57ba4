-- Who sees soft-deleted rows: hidden from every role subject to row-level security, shown to superusers, BYPASSRLS roles and softdelete_viewer members who ask for them.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA visibility;
SET search_path = visibility, public;

-- visibility_owner owns the table and is no superuser. visibility_lead may view deleted rows
-- (member of softdelete_viewer), and visibility_clerk may not.
CREATE ROLE visibility_owner NOLOGIN;
CREATE ROLE visibility_lead NOLOGIN;
CREATE ROLE visibility_clerk NOLOGIN;
CREATE ROLE visibility_bypass NOLOGIN BYPASSRLS;
GRANT softdelete_viewer TO visibility_lead;
GRANT USAGE, CREATE ON SCHEMA visibility TO visibility_owner;
GRANT USAGE ON SCHEMA visibility
    TO app_ro, app_rw, auditor, visibility_lead, visibility_clerk, visibility_bypass;

SET ROLE visibility_owner;
CREATE TABLE folders (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE documents (id int PRIMARY KEY, title text NOT NULL, folder_id int REFERENCES folders);
-- A superuser enables the table, which stays owned by visibility_owner. (enable.sql covers
-- enable() run by the owner itself.)
RESET ROLE;
SELECT softdelete.enable('documents');
SET ROLE visibility_owner;
INSERT INTO folders VALUES (1, 'inbox'), (2, 'archive'), (3, 'trash');
INSERT INTO documents VALUES (1, 'plan', 1), (2, 'draft', 1), (3, 'memo', 2),
                             (4, 'notes', 2), (5, 'report', 2), (6, 'old draft', 3);
GRANT SELECT ON folders, documents
    TO app_ro, auditor, visibility_lead, visibility_clerk, visibility_bypass;
GRANT SELECT, UPDATE (title), DELETE ON documents TO app_rw;
GRANT SELECT ON folders TO app_rw;
GRANT DELETE ON documents TO visibility_lead;
-- Folder 3 keeps only deleted documents.
DELETE FROM documents WHERE id IN (2, 6);

-- The owner is subject to row-level security too (it is forced), so it sees active rows only.
SELECT id, title FROM documents ORDER BY id;
SELECT id, title FROM documents WHERE id = 2;
COPY documents (id, title) TO STDOUT;
-- An UPDATE touches active rows only.
UPDATE documents SET title = title || ' (v2)';
SELECT id, title FROM documents ORDER BY id;
RESET ROLE;

-- A superuser sees every row without asking, and the UPDATE left the deleted rows alone.
SELECT id, title, deleted_at IS NOT NULL AS deleted, deleted_by FROM documents ORDER BY id;
SELECT deleted_at AS first_deleted_at FROM documents WHERE id = 2 \gset

-- Other roles see active rows only, in joins and subqueries too.
SET ROLE app_ro;
SELECT id, title FROM documents ORDER BY id;
SELECT count(*) AS documents, max(id) AS max_id FROM documents;
SELECT f.name, count(d.id) AS documents
FROM folders f LEFT JOIN documents d ON d.folder_id = f.id
GROUP BY f.name ORDER BY f.name;
SELECT f.name FROM folders f
WHERE EXISTS (SELECT FROM documents d WHERE d.folder_id = f.id)
ORDER BY f.name;
SELECT f.name FROM folders f
WHERE f.id NOT IN (SELECT folder_id FROM documents)
ORDER BY f.name;
SELECT f.name, (SELECT string_agg(d.title, ', ' ORDER BY d.id) FROM documents d WHERE d.folder_id = f.id) AS titles
FROM folders f ORDER BY f.id;
WITH all_documents AS (SELECT * FROM documents) SELECT count(*) FROM all_documents;
SELECT d.id FROM documents d JOIN documents e ON e.id = d.id + 1 ORDER BY d.id;
SELECT table_name, active_rows, deleted_rows, hidden_from_current_role
FROM softdelete.tables WHERE table_name = 'documents'::regclass;

-- softdelete.include_deleted is rejected for roles outside softdelete_viewer: 42501, and the
-- setting stays off.
SET softdelete.include_deleted = on;
\echo :LAST_ERROR_SQLSTATE
SHOW softdelete.include_deleted;
SELECT set_config('softdelete.include_deleted', 'on', false);
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL softdelete.include_deleted = on;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SHOW softdelete.include_deleted;
SELECT id FROM documents ORDER BY id;
RESET ROLE;

-- app_rw cannot reach deleted rows with UPDATE or DELETE either.
SET ROLE app_rw;
UPDATE documents SET title = 'changed' WHERE id = 2;
UPDATE documents SET title = 'changed' WHERE folder_id = 3;
DELETE FROM documents WHERE id = 6;
RESET ROLE;
SELECT id, title, deleted_at IS NOT NULL AS deleted FROM documents WHERE id IN (2, 6) ORDER BY id;

-- A member of softdelete_viewer sees deleted rows after asking for them, and only then.
SET ROLE auditor;
SELECT id FROM documents ORDER BY id;
SET softdelete.include_deleted = on;
SELECT id, title, deleted_at IS NOT NULL AS deleted FROM documents ORDER BY id;
SELECT f.name, count(d.id) AS documents
FROM folders f LEFT JOIN documents d ON d.folder_id = f.id
GROUP BY f.name ORDER BY f.name;
RESET softdelete.include_deleted;
SELECT id FROM documents ORDER BY id;
RESET ROLE;

-- Prepared statements and PL/pgSQL functions follow the setting: plans are made again when
-- it changes, also generic plans.
CREATE FUNCTION count_documents() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT count(*) FROM visibility.documents);
END
$$;
SET ROLE visibility_lead;
PREPARE document_ids AS SELECT id FROM documents ORDER BY id;
SET plan_cache_mode = force_generic_plan;
PREPARE document_by_id(int) AS SELECT id, title FROM documents WHERE id = $1;
EXECUTE document_ids;
EXECUTE document_by_id(2);
SELECT count_documents();
SET softdelete.include_deleted = on;
EXECUTE document_ids;
EXECUTE document_by_id(2);
SELECT count_documents();
-- Seeing a deleted row does not let a DELETE mark it again.
DELETE FROM documents WHERE id = 2;
RESET softdelete.include_deleted;
EXECUTE document_ids;
EXECUTE document_by_id(2);
SELECT count_documents();

-- A member who turned it on and then switches to a role outside softdelete_viewer sees no
-- deleted rows, although the setting stays on.
SET softdelete.include_deleted = on;
EXECUTE document_ids;
SET ROLE visibility_clerk;
SHOW softdelete.include_deleted;
SELECT id FROM documents ORDER BY id;
EXECUTE document_ids;
EXECUTE document_by_id(2);
SELECT count_documents();
SET ROLE visibility_lead;
EXECUTE document_ids;
RESET ROLE;
-- The DELETE above kept the first deletion of row 2.
SELECT deleted_at = :'first_deleted_at' AS same_deleted_at FROM documents WHERE id = 2;

-- Revoking membership takes effect at once, for cached plans as well.
REVOKE softdelete_viewer FROM visibility_lead;
SET ROLE visibility_lead;
SHOW softdelete.include_deleted;
SELECT id FROM documents ORDER BY id;
EXECUTE document_ids;
EXECUTE document_by_id(2);
SELECT count_documents();
RESET ROLE;
RESET plan_cache_mode;
RESET softdelete.include_deleted;
DEALLOCATE document_ids;
DEALLOCATE document_by_id;

-- A superuser who turns the setting on and switches to an ordinary role sees no deleted rows.
SET softdelete.include_deleted = on;
SET ROLE app_ro;
SELECT id FROM documents ORDER BY id;
RESET ROLE;
RESET softdelete.include_deleted;

-- A BYPASSRLS role sees every row, like a superuser.
SET ROLE visibility_bypass;
SELECT id FROM documents ORDER BY id;
SELECT hidden_from_current_role FROM softdelete.tables WHERE table_name = 'documents'::regclass;
RESET ROLE;

-- A view runs with the privileges of its owner: a view owned by visibility_owner hides
-- deleted rows, and so does a security_invoker view.
SET ROLE visibility_owner;
CREATE VIEW owner_view AS SELECT id, title FROM documents;
CREATE VIEW invoker_view WITH (security_invoker = true) AS SELECT id, title FROM documents;
GRANT SELECT ON owner_view, invoker_view TO app_ro;
RESET ROLE;
SET ROLE app_ro;
SELECT id FROM owner_view ORDER BY id;
SELECT id FROM invoker_view ORDER BY id;
RESET ROLE;
-- NOTE: a view owned by a superuser shows deleted rows to everyone who may read it, because
-- PostgreSQL checks row-level security as the view owner and superusers bypass it.
CREATE VIEW superuser_view AS SELECT id, title FROM documents;
GRANT SELECT ON superuser_view TO app_ro;
SET ROLE app_ro;
SELECT id FROM superuser_view ORDER BY id;
RESET ROLE;

DROP SCHEMA visibility CASCADE;
DROP OWNED BY visibility_owner, visibility_lead, visibility_clerk, visibility_bypass;
DROP ROLE visibility_owner, visibility_lead, visibility_clerk, visibility_bypass;
