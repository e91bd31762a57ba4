-- Privileges: a soft DELETE needs only DELETE privilege and follows the table's own policies, marker columns and the audit trail are read-only to ordinary roles, and restore() and purge() need their roles.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA privileges;
SET search_path = privileges, public;
SELECT setval('softdelete.deletion_seq', 7000) AS deletion_seq_start \gset
GRANT USAGE ON SCHEMA privileges TO app_rw, app_ro, auditor;

-- A table with a tenant policy of its own, added after enable().
CREATE TABLE accounts (id bigint PRIMARY KEY, tenant int NOT NULL, email text NOT NULL UNIQUE);
SELECT softdelete.enable('accounts');
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_iso ON accounts USING (tenant = current_setting('app.tenant')::int);
-- The tenant policy replaced softdelete_allow: an allow-all permissive policy beside it would
-- OR it away.
SELECT polname, polpermissive FROM pg_policy WHERE polrelid = 'accounts'::regclass ORDER BY polname;
GRANT SELECT, INSERT, DELETE ON accounts TO app_rw;
GRANT SELECT ON accounts TO app_ro;
INSERT INTO accounts VALUES (1, 1, 'a@x.test'), (2, 1, 'b@x.test'), (3, 2, 'c@x.test'), (4, 1, 'd@x.test');

-- app_rw may DELETE but not UPDATE, and the soft delete needs no UPDATE privilege.
SET ROLE app_rw;
SET app.tenant = '1';
DELETE FROM accounts WHERE id = 1;
DELETE FROM accounts WHERE id = 2 RETURNING id;
-- Row 3 belongs to tenant 2, which the tenant policy hides.
DELETE FROM accounts WHERE id = 3;
SELECT id FROM accounts ORDER BY id;
-- Without UPDATE privilege PostgreSQL itself rejects a write of a marker column.
UPDATE accounts SET deleted_at = NULL WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- app_ro may not DELETE at all.
SET ROLE app_ro;
SET app.tenant = '1';
DELETE FROM accounts WHERE id = 4;
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM accounts ORDER BY id;
RESET ROLE;

SELECT id, tenant, deleted_at IS NOT NULL AS deleted, deleted_by FROM accounts ORDER BY id;
SELECT operation, key, actor, role_name FROM softdelete.events
WHERE table_name = 'privileges.accounts' ORDER BY event_id;

-- With UPDATE privilege, ordinary columns can be updated but marker columns cannot: every
-- write of deleted_at, deleted_by or deletion_id is rejected with 42501, including writes of
-- NULL, which would revive a deleted row without a restore event.
GRANT UPDATE ON accounts TO app_rw;
SET ROLE app_rw;
SET app.tenant = '1';
UPDATE accounts SET email = 'd2@x.test' WHERE id = 4;
UPDATE accounts SET deleted_at = now() WHERE id = 4;
\echo :LAST_ERROR_SQLSTATE
UPDATE accounts SET deleted_by = 'someone else' WHERE id = 4;
\echo :LAST_ERROR_SQLSTATE
UPDATE accounts SET deletion_id = 1 WHERE id = 4;
\echo :LAST_ERROR_SQLSTATE
UPDATE accounts SET (deleted_at, deleted_by) = (SELECT now(), 'forged') WHERE id = 4;
\echo :LAST_ERROR_SQLSTATE
UPDATE accounts SET deleted_at = NULL WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE accounts SET deleted_at = DEFAULT, deleted_by = DEFAULT, deletion_id = DEFAULT WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO accounts (id, tenant, email, deleted_at) VALUES (5, 1, 'e@x.test', now());
\echo :LAST_ERROR_SQLSTATE
INSERT INTO accounts (id, tenant, email, deleted_by) VALUES (5, 1, 'e@x.test', 'forged');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO accounts (id, tenant, email) VALUES (4, 1, 'd2@x.test')
    ON CONFLICT (id) DO UPDATE SET deleted_at = now();
\echo :LAST_ERROR_SQLSTATE
INSERT INTO accounts (id, tenant, email) VALUES (6, 1, 'd2@x.test')
    ON CONFLICT (email) DO UPDATE SET deletion_id = 1;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO accounts a USING (VALUES (4)) v(id) ON a.id = v.id
    WHEN MATCHED THEN UPDATE SET deleted_at = now();
\echo :LAST_ERROR_SQLSTATE
-- MERGE cannot soft-delete, so MERGE ... DELETE is rejected (0A000) instead of removing rows.
MERGE INTO accounts a USING (VALUES (4)) v(id) ON a.id = v.id
    WHEN MATCHED THEN DELETE;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT id, email, deleted_at IS NOT NULL AS deleted, deleted_by, deletion_id IS NOT NULL AS has_deletion_id
FROM accounts ORDER BY id;

-- A member of softdelete_viewer who sees deleted rows cannot revive them with UPDATE either.
CREATE TABLE memos (id int PRIMARY KEY, body text);
SET softdelete.notices = off;
SELECT softdelete.enable('memos');
RESET softdelete.notices;
INSERT INTO memos VALUES (1, 'kept'), (2, 'deleted');
DELETE FROM memos WHERE id = 2;
GRANT SELECT, UPDATE ON memos TO auditor;
SET ROLE auditor;
SET softdelete.include_deleted = on;
SELECT id, deleted_at IS NOT NULL AS deleted FROM memos ORDER BY id;
UPDATE memos SET deleted_at = NULL, deleted_by = NULL, deletion_id = NULL WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
RESET softdelete.include_deleted;
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS deleted, deleted_by FROM memos ORDER BY id;
SELECT operation, key FROM softdelete.events WHERE table_name = 'privileges.memos' ORDER BY event_id;

-- The audit trail: only the extension writes it, and only softdelete_viewer members read it.
-- The view softdelete.events reads two tables, event_log and event_batches, which no ordinary
-- role can write either.
SET ROLE app_rw;
SELECT count(*) FROM softdelete.events;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO softdelete.event_log (operation, table_name, key, actor, role_name)
VALUES ('delete', 'privileges.accounts', '{"id": 4}', 'forged', 'app_rw');
\echo :LAST_ERROR_SQLSTATE
UPDATE softdelete.event_batches SET actor = 'forged';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM softdelete.event_log;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE softdelete.event_batches;
\echo :LAST_ERROR_SQLSTATE
-- Everyone can read the catalog of managed tables, and only the extension writes it.
SELECT relid FROM softdelete.managed_tables WHERE relid = 'accounts'::regclass;
DELETE FROM softdelete.managed_tables;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO softdelete.managed_tables (relid, rls_was_enabled, rls_was_forced) VALUES ('accounts', true, true);
\echo :LAST_ERROR_SQLSTATE
-- The deletion id sequence can be advanced (every soft delete does so) but not reset.
SELECT setval('softdelete.deletion_seq', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE auditor;
SELECT operation, key, actor FROM softdelete.events
WHERE table_name = 'privileges.accounts' ORDER BY event_id;
DELETE FROM softdelete.event_batches WHERE table_name = 'privileges.accounts';
\echo :LAST_ERROR_SQLSTATE
UPDATE softdelete.event_log SET reason = 'edited' WHERE table_name = 'privileges.accounts';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS events, count(*) FILTER (WHERE actor = 'forged' OR reason = 'edited') AS tampered
FROM softdelete.events WHERE table_name = 'privileges.accounts';

-- restore() and purge() need softdelete_restorer and softdelete_purger (or ownership).
SET ROLE app_rw;
SET app.tenant = '1';
SELECT softdelete.restore('accounts', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('accounts', 2);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS deleted FROM accounts ORDER BY id;

CREATE ROLE privileges_restorer NOLOGIN;
CREATE ROLE privileges_purger NOLOGIN;
CREATE ROLE privileges_restorer_without_update NOLOGIN;
GRANT softdelete_restorer TO privileges_restorer, privileges_restorer_without_update;
GRANT softdelete_purger TO privileges_purger;
GRANT USAGE ON SCHEMA privileges
    TO privileges_restorer, privileges_purger, privileges_restorer_without_update;
GRANT SELECT, UPDATE ON accounts TO privileges_restorer;
GRANT SELECT, DELETE ON accounts TO privileges_purger;
GRANT SELECT ON accounts TO privileges_restorer_without_update;

-- The restorer still works under the table's policies: tenant 2 does not find tenant 1's row.
SET ROLE privileges_restorer;
SET app.tenant = '2';
SELECT softdelete.restore('accounts', 1);
\echo :LAST_ERROR_SQLSTATE
SET app.tenant = '1';
SELECT softdelete.restore('accounts', 1);
SELECT softdelete.purge('accounts', 2);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- Membership in softdelete_restorer does not replace UPDATE privilege on the table.
SET ROLE privileges_restorer_without_update;
SET app.tenant = '1';
SELECT softdelete.restore('accounts', 2);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE privileges_purger;
SET app.tenant = '1';
SELECT softdelete.restore('accounts', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('accounts', 2);
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS deleted FROM accounts ORDER BY id;
SELECT operation, key, actor, role_name FROM softdelete.events
WHERE table_name = 'privileges.accounts' ORDER BY event_id;

-- A role with DELETE privilege only (not even SELECT) can soft-delete its tenant's rows.
CREATE ROLE privileges_deleter NOLOGIN;
GRANT USAGE ON SCHEMA privileges TO privileges_deleter;
GRANT DELETE ON accounts TO privileges_deleter;
SET ROLE privileges_deleter;
SET app.tenant = '2';
DELETE FROM accounts;
RESET ROLE;
SELECT id, tenant, deleted_at IS NOT NULL AS deleted, deleted_by FROM accounts ORDER BY id;

-- Dropping the tenant policy brings softdelete_allow back.
DROP POLICY tenant_iso ON accounts;
SELECT polname, polpermissive FROM pg_policy WHERE polrelid = 'accounts'::regclass ORDER BY polname;

DROP SCHEMA privileges CASCADE;
DROP OWNED BY privileges_restorer, privileges_purger, privileges_restorer_without_update, privileges_deleter;
DROP ROLE privileges_restorer, privileges_purger, privileges_restorer_without_update, privileges_deleter;
