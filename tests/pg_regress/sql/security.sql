-- Security: privilege boundaries, leaks of deleted rows, forged markers, SQL injection through names and values, search_path hijacking, and code that runs as the extension owner.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA security;
SET search_path = security, public;
-- Deletion ids appear in hints, so the shared sequence starts at a fixed value.
SELECT setval('softdelete.deletion_seq', 30000) AS deletion_seq_start \gset
SET softdelete.notices = off;

-- Roles. sec_owner owns the tables under test. sec_plain has table privileges and no role of
-- pg_softdelete. sec_viewer, sec_restorer and sec_purger each have one role of pg_softdelete.
-- sec_mallory is an ordinary role with a schema of its own, which is all an attacker needs.
CREATE ROLE sec_owner NOLOGIN;
CREATE ROLE sec_plain NOLOGIN;
CREATE ROLE sec_viewer NOLOGIN;
CREATE ROLE sec_restorer NOLOGIN;
CREATE ROLE sec_purger NOLOGIN;
CREATE ROLE sec_bypass NOLOGIN BYPASSRLS;
CREATE ROLE sec_mallory NOLOGIN;
GRANT softdelete_viewer TO sec_viewer;
GRANT softdelete_restorer TO sec_restorer;
GRANT softdelete_purger TO sec_purger;
GRANT USAGE, CREATE ON SCHEMA security TO sec_owner;
GRANT USAGE ON SCHEMA security TO sec_plain, sec_viewer, sec_restorer, sec_purger, sec_bypass, sec_mallory;
CREATE SCHEMA sec_mal AUTHORIZATION sec_mallory;

-- Helpers for tables of cases. They run as the current role and keep the effects of a
-- statement that succeeds, so the checks after each table of cases show whether anything
-- changed.
CREATE FUNCTION security.sqlstate_of(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN '00000';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
CREATE FUNCTION security.first_value_of(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE query INTO result;
    RETURN coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
END
$$;
GRANT EXECUTE ON FUNCTION security.sqlstate_of(text), security.first_value_of(text) TO PUBLIC;

-- The ledger: rows 3 and 4 are soft-deleted by two deletions, row 4 is under a legal hold,
-- and a child table cascades from it.
SET ROLE sec_owner;
CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL, amount int NOT NULL);
CREATE TABLE ledger_line (id int PRIMARY KEY, ledger_id int NOT NULL REFERENCES ledger ON DELETE CASCADE);
SELECT softdelete.enable('ledger_line');
SELECT softdelete.enable('ledger');
SELECT softdelete.set_personal_columns('ledger', '{"note": "redacted-{key}"}');
INSERT INTO ledger VALUES (1, 'rent', 10), (2, 'salary', 20), (3, 'bonus', 30), (4, 'fine', 40);
INSERT INTO ledger_line VALUES (31, 3), (41, 4);
DELETE FROM ledger WHERE id = 3;
DELETE FROM ledger WHERE id = 4;
GRANT SELECT, INSERT, UPDATE, DELETE ON ledger, ledger_line
    TO sec_plain, sec_viewer, sec_restorer, sec_purger, sec_bypass, sec_mallory;
RESET ROLE;
SELECT softdelete.hold('ledger', 4, 'case 17') AS hold_id \gset
SELECT deletion_id AS ledger_3_deletion FROM ledger WHERE id = 3 \gset

-- What the table really contains, and what every check below compares against. Superusers
-- bypass row-level security, so this shows the deleted rows too.
CREATE VIEW security.ledger_state WITH (security_invoker = true) AS
SELECT l.id, l.note, l.amount, l.deleted_at IS NOT NULL AS deleted, l.deleted_by,
       l.deletion_id - :deletion_seq_start AS deletion
FROM ledger l;
SELECT * FROM ledger_state ORDER BY id;
SELECT count(*) AS events_before FROM softdelete.events \gset
SELECT count(*) AS managed_before FROM softdelete.managed_tables \gset
SELECT count(*) AS overrides_before FROM softdelete.foreign_key_overrides \gset
SELECT count(*) AS personal_before FROM softdelete.personal_columns \gset
SELECT count(*) AS holds_before FROM softdelete.legal_holds \gset

--------------------------------------------------------------------------------------------
-- Privilege boundaries. Each role may read and write the ledger, but not beyond its roles
-- of pg_softdelete. 42501 is the expected SQLSTATE of every case in the tables below.
--------------------------------------------------------------------------------------------

-- sec_plain: no role of pg_softdelete and not the owner.
SET ROLE sec_plain;
SELECT id FROM ledger ORDER BY id;
SET softdelete.include_deleted = on;
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('softdelete.include_deleted', 'on', false);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM softdelete.events;
\echo :LAST_ERROR_SQLSTATE
SELECT label, security.sqlstate_of(statement) AS sqlstate
FROM (VALUES
    ('SET LOCAL include_deleted', 'SET LOCAL softdelete.include_deleted = on'),
    ('read events', 'SELECT * FROM softdelete.events'),
    ('read deletions', 'SELECT * FROM softdelete.deletions'),
    ('read recycle_bin', 'SELECT * FROM softdelete.recycle_bin'),
    ('read legal_holds', 'SELECT * FROM softdelete.legal_holds'),
    ('restore_preview', 'SELECT * FROM softdelete.restore_preview(''ledger'', 3)'),
    ('restore_deletion_preview', format('SELECT * FROM softdelete.restore_deletion_preview(%s)', :ledger_3_deletion)),
    ('purge_preview', 'SELECT * FROM softdelete.purge_preview(''ledger'', 3)'),
    ('purge_deletion_preview', format('SELECT * FROM softdelete.purge_deletion_preview(%s)', :ledger_3_deletion)),
    ('restore', 'SELECT softdelete.restore(''ledger'', 3)'),
    ('restore_deletion', format('SELECT softdelete.restore_deletion(%s)', :ledger_3_deletion)),
    ('purge', 'SELECT softdelete.purge(''ledger'', 3)'),
    ('purge active row', 'SELECT softdelete.purge(''ledger'', 1, include_active => true)'),
    ('purge_deletion', format('SELECT softdelete.purge_deletion(%s)', :ledger_3_deletion)),
    ('anonymize', 'SELECT softdelete.anonymize(''ledger'', 3)'),
    ('hold', 'SELECT softdelete.hold(''ledger'', 1, ''x'')'),
    ('hold_deletion', format('SELECT softdelete.hold_deletion(%s, ''x'')', :ledger_3_deletion)),
    ('release_hold', format('SELECT softdelete.release_hold(%s)', :hold_id)),
    ('export_purge_log', 'SELECT softdelete.export_purge_log(NULL)'),
    ('apply_purge_log', 'SELECT softdelete.apply_purge_log(''[{"table_name": "security.ledger", "key": {"id": 3}}]'')'),
    ('enable', 'SELECT softdelete.enable(''ledger'')'),
    ('disable', 'SELECT softdelete.disable(''ledger'')'),
    ('set_foreign_key_rule', 'SELECT softdelete.set_foreign_key_rule(''ledger_line'', ''ledger_line_ledger_id_fkey'', ''restrict'')'),
    ('set_personal_columns', 'SELECT softdelete.set_personal_columns(''ledger'', ''{"amount": null}'')'),
    ('set_retention', 'SELECT softdelete.set_retention(''ledger'', ''1 day'')'),
    ('draw deletion ids', 'SELECT setval(''softdelete.deletion_seq'', 1)')
) AS cases(label, statement);
RESET ROLE;

-- sec_viewer may read the audit trail and see deleted rows, and nothing more.
SET ROLE sec_viewer;
SET softdelete.include_deleted = on;
SELECT id FROM ledger ORDER BY id;
SELECT count(*) AS ledger_events FROM softdelete.events WHERE table_name = 'security.ledger';
SELECT table_name, key FROM softdelete.recycle_bin WHERE table_name LIKE 'security.ledger%' ORDER BY 1, 2::text;
SELECT table_name, key, reason FROM softdelete.legal_holds WHERE table_name = 'security.ledger';
SELECT label, security.sqlstate_of(statement) AS sqlstate
FROM (VALUES
    ('restore', 'SELECT softdelete.restore(''ledger'', 3)'),
    ('restore_preview', 'SELECT * FROM softdelete.restore_preview(''ledger'', 3)'),
    ('purge', 'SELECT softdelete.purge(''ledger'', 3)'),
    ('purge_preview', 'SELECT * FROM softdelete.purge_preview(''ledger'', 3)'),
    ('anonymize', 'SELECT softdelete.anonymize(''ledger'', 3)'),
    ('hold', 'SELECT softdelete.hold(''ledger'', 1, ''x'')'),
    ('release_hold', format('SELECT softdelete.release_hold(%s)', :hold_id))
) AS cases(label, statement);
RESET softdelete.include_deleted;
RESET ROLE;

-- sec_restorer may restore, and may not purge, anonymize or manage holds.
SET ROLE sec_restorer;
SELECT id FROM ledger ORDER BY id;
SELECT label, security.sqlstate_of(statement) AS sqlstate
FROM (VALUES
    ('include_deleted', 'SET softdelete.include_deleted = on'),
    ('read events', 'SELECT * FROM softdelete.events'),
    ('purge', 'SELECT softdelete.purge(''ledger'', 3)'),
    ('purge_preview', 'SELECT * FROM softdelete.purge_preview(''ledger'', 3)'),
    ('anonymize', 'SELECT softdelete.anonymize(''ledger'', 3)'),
    ('hold', 'SELECT softdelete.hold(''ledger'', 1, ''x'')'),
    ('release_hold', format('SELECT softdelete.release_hold(%s)', :hold_id)),
    ('set_personal_columns', 'SELECT softdelete.set_personal_columns(''ledger'', ''{"amount": null}'')'),
    ('disable', 'SELECT softdelete.disable(''ledger'')')
) AS cases(label, statement);
RESET ROLE;

-- sec_purger may purge, anonymize and manage holds, and may not restore, see deleted rows or
-- change what the table's owner decides.
SET ROLE sec_purger;
SELECT id FROM ledger ORDER BY id;
SELECT label, security.sqlstate_of(statement) AS sqlstate
FROM (VALUES
    ('include_deleted', 'SET softdelete.include_deleted = on'),
    ('read events', 'SELECT * FROM softdelete.events'),
    ('read recycle_bin', 'SELECT * FROM softdelete.recycle_bin'),
    ('restore', 'SELECT softdelete.restore(''ledger'', 3)'),
    ('restore_preview', 'SELECT * FROM softdelete.restore_preview(''ledger'', 3)'),
    ('enable', 'SELECT softdelete.enable(''ledger'')'),
    ('disable', 'SELECT softdelete.disable(''ledger'')'),
    ('set_foreign_key_rule', 'SELECT softdelete.set_foreign_key_rule(''ledger_line'', ''ledger_line_ledger_id_fkey'', ''restrict'')'),
    ('set_personal_columns', 'SELECT softdelete.set_personal_columns(''ledger'', ''{"amount": null}'')'),
    ('set_retention', 'SELECT softdelete.set_retention(''ledger'', ''1 day'')')
) AS cases(label, statement);
RESET ROLE;

-- Only superusers write the extension's own tables, not the roles that may read them.
SET ROLE sec_viewer;
SELECT label, security.sqlstate_of(statement) AS sqlstate
FROM (VALUES
    ('insert events', 'INSERT INTO softdelete.event_log (operation, table_name, key, actor, role_name) VALUES (''restore'', ''security.ledger'', ''{"id": 3}'', ''x'', ''x'')'),
    ('update events', 'UPDATE softdelete.event_batches SET actor = ''forged'''),
    ('delete events', 'DELETE FROM softdelete.event_batches'),
    ('truncate events', 'TRUNCATE softdelete.event_log, softdelete.event_batches'),
    ('insert managed_tables', 'INSERT INTO softdelete.managed_tables (relid, rls_was_enabled, rls_was_forced) VALUES (''ledger_state'', false, false)'),
    ('update managed_tables', 'UPDATE softdelete.managed_tables SET retention = ''0 seconds'''),
    ('delete managed_tables', 'DELETE FROM softdelete.managed_tables'),
    ('insert foreign_key_overrides', 'INSERT INTO softdelete.foreign_key_overrides VALUES (''ledger_line'', ''ledger_line_ledger_id_fkey'', ''restrict'')'),
    ('delete foreign_key_overrides', 'DELETE FROM softdelete.foreign_key_overrides'),
    ('insert personal_columns', 'INSERT INTO softdelete.personal_columns VALUES (''ledger'', ''amount'', NULL)'),
    ('delete personal_columns', 'DELETE FROM softdelete.personal_columns'),
    ('update legal_holds', 'UPDATE softdelete.legal_holds SET reason = ''x'''),
    ('delete legal_holds', 'DELETE FROM softdelete.legal_holds')
) AS cases(label, statement);
RESET ROLE;

-- Nothing changed.
SELECT * FROM ledger_state ORDER BY id;
SELECT count(*) = :events_before AS events_unchanged,
       (SELECT count(*) FROM softdelete.managed_tables) = :managed_before AS managed_tables_unchanged,
       (SELECT count(*) FROM softdelete.foreign_key_overrides) = :overrides_before AS overrides_unchanged,
       (SELECT count(*) FROM softdelete.personal_columns) = :personal_before AS personal_columns_unchanged,
       (SELECT count(*) FROM softdelete.legal_holds) = :holds_before AS legal_holds_unchanged,
       (SELECT last_value FROM softdelete.deletion_seq) >= :deletion_seq_start AS sequence_not_reset
FROM softdelete.events;

-- Deletion metadata is for softdelete_viewer members. purge_expired_preview() lists expired
-- deletions with their tables and sizes, so for any other role it must fail or list nothing.
SELECT softdelete.set_retention('ledger', '0 seconds');
SET ROLE sec_plain;
SELECT security.first_value_of('SELECT count(*) FROM softdelete.purge_expired_preview()')
       IN ('error 42501', '0') AS expired_deletions_hidden;
RESET ROLE;
SELECT softdelete.set_retention('ledger', NULL);

-- The row counts behind softdelete.tables are for roles that may read the table. The view
-- filters them, and the function it calls must not give them out either.
CREATE TABLE security.payroll (id int PRIMARY KEY);
SELECT softdelete.enable('security.payroll');
INSERT INTO payroll VALUES (1), (2);
DELETE FROM payroll WHERE id = 2;
SET ROLE sec_plain;
SELECT count(*) AS payroll_rows_in_tables_view FROM softdelete.tables WHERE table_name = 'security.payroll'::regclass;
SELECT security.first_value_of('SELECT deleted_rows FROM softdelete._row_counts(''security.payroll''::regclass)')
       IN ('error 42501', 'NULL') AS payroll_counts_hidden;
RESET ROLE;

--------------------------------------------------------------------------------------------
-- Deleted rows through views, SECURITY DEFINER functions, COPY, leaky functions and
-- special roles.
--------------------------------------------------------------------------------------------

-- A view owned by a role that is not a viewer hides deleted rows from everyone else.
GRANT CREATE ON SCHEMA security TO sec_plain, sec_viewer;
SET ROLE sec_plain;
CREATE VIEW plain_view AS SELECT id FROM ledger;
GRANT SELECT ON plain_view TO sec_restorer, sec_viewer;
CREATE FUNCTION plain_definer() RETURNS SETOF int LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS 'SELECT id FROM security.ledger ORDER BY id';
GRANT EXECUTE ON FUNCTION plain_definer() TO sec_restorer, sec_viewer;
SELECT id FROM plain_view ORDER BY id;
RESET ROLE;
SET ROLE sec_restorer;
SELECT id FROM plain_view ORDER BY id;
SELECT plain_definer() AS id;
RESET ROLE;
-- A viewer who turned on include_deleted sees deleted rows through a view, because the
-- setting and the role are checked for the role that runs the query. Inside a SECURITY
-- DEFINER function, that is the function's owner, who is not a viewer.
SET ROLE sec_viewer;
SET softdelete.include_deleted = on;
SELECT id FROM plain_view ORDER BY id;
SELECT plain_definer() AS id;
RESET softdelete.include_deleted;
RESET ROLE;

-- A view owned by a viewer hides deleted rows from a role that is not one, even when
-- include_deleted is on in that role's session (here a superuser turned it on before SET ROLE).
SET ROLE sec_viewer;
CREATE VIEW viewer_view AS SELECT id FROM ledger;
GRANT SELECT ON viewer_view TO sec_plain;
RESET ROLE;
SET softdelete.include_deleted = on;
SET ROLE sec_plain;
SHOW softdelete.include_deleted;
SELECT id FROM viewer_view ORDER BY id;
SELECT id FROM ledger ORDER BY id;
RESET ROLE;
RESET softdelete.include_deleted;

-- A function in the WHERE clause sees only the rows that row-level security lets through,
-- because the policy's condition is applied first.
SET ROLE sec_plain;
CREATE TABLE seen (id int);
CREATE FUNCTION peek(int) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$
BEGIN
    INSERT INTO security.seen VALUES ($1);
    RETURN true;
END
$$;
SELECT id FROM ledger WHERE peek(id) ORDER BY id;
SELECT DISTINCT id FROM seen ORDER BY id;
-- COPY TO applies row-level security too.
COPY ledger (id, note) TO STDOUT;
-- A unique violation shows no key values, but it reveals that the key is taken (documented).
INSERT INTO ledger VALUES (3, 'probe', 0);
\echo :LAST_ERROR_SQLSTATE
-- EXPLAIN ANALYZE counts the rows the policy removed (documented).
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id FROM ledger;
RESET ROLE;

-- Known limits, pinned: roles with BYPASSRLS, and views owned by superusers, see deleted
-- rows, because row-level security does not apply to them. A view with security_invoker
-- checks the role that queries it instead.
SET ROLE sec_bypass;
SELECT id FROM ledger ORDER BY id;
RESET ROLE;
CREATE VIEW superuser_view AS SELECT id FROM ledger;
CREATE VIEW superuser_invoker_view WITH (security_invoker = true) AS SELECT id FROM ledger;
GRANT SELECT ON superuser_view, superuser_invoker_view TO sec_plain;
SET ROLE sec_plain;
SELECT id FROM superuser_view ORDER BY id;
SELECT id FROM superuser_invoker_view ORDER BY id;
RESET ROLE;
-- The table's owner is subject to the policy, because enable() forces row-level security.
SET ROLE sec_owner;
SELECT id FROM ledger ORDER BY id;
RESET ROLE;

--------------------------------------------------------------------------------------------
-- Forging: ordinary roles cannot write the marker columns, make a DELETE hard or TRUNCATE.
--------------------------------------------------------------------------------------------
SELECT count(*) AS events_before FROM softdelete.events \gset
SET ROLE sec_plain;
UPDATE ledger SET deleted_by = 'forged' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE ledger SET deleted_at = now(), deletion_id = 1 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ledger (id, note, amount, deleted_at, deleted_by) VALUES (5, 'born deleted', 0, now(), 'forged');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ledger (id, note, amount, deletion_id) SELECT 5, 'x', 0, 1;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ledger VALUES (1, 'rent', 10) ON CONFLICT (id) DO UPDATE SET deleted_by = 'forged';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ledger VALUES (1, 'rent', 10) ON CONFLICT (id) DO UPDATE SET deleted_at = excluded.deleted_at;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO ledger l USING (VALUES (1)) v(id) ON l.id = v.id
    WHEN MATCHED THEN UPDATE SET deletion_id = 1;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO ledger l USING (VALUES (6)) v(id) ON l.id = v.id
    WHEN NOT MATCHED THEN INSERT (id, note, amount, deleted_by) VALUES (6, 'x', 0, 'forged');
\echo :LAST_ERROR_SQLSTATE
MERGE INTO ledger l USING (VALUES (1)) v(id) ON l.id = v.id WHEN MATCHED THEN DELETE;
\echo :LAST_ERROR_SQLSTATE
SET softdelete.allow_hard_delete = on;
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('softdelete.allow_hard_delete', 'on', false);
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION hard_delete() RETURNS void LANGUAGE sql
    SET softdelete.allow_hard_delete = on AS 'DELETE FROM security.ledger WHERE id = 1';
\echo :LAST_ERROR_SQLSTATE
TRUNCATE ledger;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT TRUNCATE ON ledger, ledger_line TO sec_plain;
SET ROLE sec_plain;
TRUNCATE ledger CASCADE;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE ledger_line;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE TRUNCATE ON ledger, ledger_line FROM sec_plain;
SELECT * FROM ledger_state ORDER BY id;
SELECT count(*) = :events_before AS events_unchanged FROM softdelete.events;

-- PostgreSQL runs the referential actions of foreign keys in a context that the extension
-- takes for its own hard deletes during purge(). A trigger that such an action fires outside a
-- purge must not be able to use it to remove rows of a managed table for real: the DELETE it
-- runs is rejected with 55000, and nothing changes.
SET ROLE sec_owner;
CREATE TABLE archive (id int PRIMARY KEY, body text);
SELECT softdelete.enable('archive');
INSERT INTO archive VALUES (1, 'kept'), (2, 'target');
GRANT SELECT, DELETE ON archive TO sec_mallory;
RESET ROLE;
SET ROLE sec_mallory;
CREATE TABLE sec_mal.parent (id int PRIMARY KEY);
CREATE TABLE sec_mal.child (id int PRIMARY KEY, parent_id int REFERENCES sec_mal.parent ON DELETE CASCADE);
CREATE FUNCTION sec_mal.delete_archive_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM security.archive WHERE id = OLD.id;
    RETURN OLD;
END
$$;
CREATE TRIGGER delete_archive_row BEFORE DELETE ON sec_mal.child
    FOR EACH ROW EXECUTE FUNCTION sec_mal.delete_archive_row();
INSERT INTO sec_mal.parent VALUES (2);
INSERT INTO sec_mal.child VALUES (2, 2);
DELETE FROM sec_mal.parent WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS parent_rows FROM sec_mal.parent;
RESET ROLE;
SELECT id, body, deleted_at IS NOT NULL AS deleted, deleted_by FROM archive ORDER BY id;
SELECT operation, key, role_name FROM softdelete.events
WHERE table_name = 'security.archive' ORDER BY event_id;

-- Each section from here on starts the deletion ids afresh, so that ids in hints do not depend
-- on what the sections before did.
SELECT setval('softdelete.deletion_seq', 30100) AS deletion_seq_start \gset
-- The personal columns that anonymize() overwrites cannot include the marker columns, or
-- anonymize() would forge deleted_by and deletion_id, or bring back a deleted row without a
-- restore event.
SET ROLE sec_owner;
CREATE TABLE profile (id int PRIMARY KEY, email text NOT NULL);
SELECT softdelete.enable('profile');
SELECT softdelete.set_personal_columns('profile', '{"email": "gone-{key}"}');
INSERT INTO profile VALUES (1, 'one@example.test'), (2, 'two@example.test');
DELETE FROM profile WHERE id = 1;
SELECT security.sqlstate_of($$SELECT softdelete.set_personal_columns('profile', '{"deleted_at": null}')$$) AS deleted_at_as_personal_column;
SELECT security.sqlstate_of($$SELECT softdelete.set_personal_columns('profile', '{"deleted_by": "forged-{key}", "email": "x"}')$$) AS deleted_by_as_personal_column;
SELECT security.sqlstate_of($$SELECT softdelete.set_personal_columns('profile', '{"deletion_id": "{key}"}')$$) AS deletion_id_as_personal_column;
SELECT security.sqlstate_of($$SELECT softdelete.anonymize('profile', 1)$$) AS anonymize_row_1;
SELECT security.sqlstate_of($$SELECT softdelete.anonymize('profile', 2)$$) AS anonymize_row_2;
RESET ROLE;
SELECT column_name, replacement FROM softdelete.personal_columns WHERE relid = 'profile'::regclass;
SELECT id, email, deleted_at IS NOT NULL AS deleted, deleted_by, deletion_id - :deletion_seq_start AS deletion
FROM profile ORDER BY id;
SELECT operation, key, detail FROM softdelete.events WHERE table_name = 'security.profile' ORDER BY event_id;

-- COPY FROM is not planned, so the planner hook cannot check the marker columns it writes.
-- PostgreSQL rejects COPY FROM into a table with row-level security for the roles that are
-- subject to it, the table's owner included, because enable() forces it.
SET ROLE sec_plain;
COPY ledger (id, note, amount, deleted_at, deleted_by) FROM STDIN;
7	copied	0	2000-01-01 00:00:00+00	forged by copy
\.
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- Known limit, pinned: a role with BYPASSRLS can load rows that are already marked as
-- deleted, with any deleted_by.
SET ROLE sec_bypass;
COPY ledger (id, note, amount, deleted_at, deleted_by) FROM STDIN;
7	copied	0	2000-01-01 00:00:00+00	forged by copy
\.
RESET ROLE;
SELECT id, deleted, deleted_by FROM ledger_state WHERE id = 7;
SET softdelete.allow_hard_delete = on;
DELETE FROM ledger WHERE id = 7;
RESET softdelete.allow_hard_delete;

--------------------------------------------------------------------------------------------
-- SQL injection through every name and value the extension puts into SQL. If any of these
-- ran as SQL, security.canary would be gone.
--------------------------------------------------------------------------------------------
SELECT setval('softdelete.deletion_seq', 30200) AS deletion_seq_start \gset
CREATE TABLE security.canary (id int PRIMARY KEY);
INSERT INTO security.canary VALUES (1);
\set hs 'sec''"; DROP TABLE security.canary; --'
\set ht 't$1 "x"; DROP TABLE security.canary; -- ☃'
\set hc 'child "$2"; DROP TABLE security.canary; --'
\set hkey 'id''); DROP TABLE security.canary; --'
\set hmail 'e"mail; DROP TABLE security.canary; --'
\set hfk 'fk"; DROP TABLE security.canary; -- ключ'
\set hrole 'sec_role''; DROP TABLE security.canary; --'
CREATE SCHEMA :"hs";
CREATE TABLE :"hs".:"ht" (
    :"hkey" text PRIMARY KEY,
    :"hmail" text NOT NULL CONSTRAINT "uq'; DROP TABLE security.canary; --" UNIQUE,
    "$1" int
);
CREATE TABLE :"hs".:"hc" (
    id int PRIMARY KEY,
    "parent'); DROP TABLE security.canary; --" text
        CONSTRAINT :"hfk" REFERENCES :"hs".:"ht" ON DELETE SET NULL
);
SELECT format('%I.%I', :'hs', :'ht') AS hparent, format('%I.%I', :'hs', :'hc') AS hchild \gset
SELECT softdelete.enable(:'hparent');
SELECT softdelete.enable(:'hchild');
CREATE ROLE :"hrole" NOLOGIN;
GRANT USAGE ON SCHEMA :"hs" TO :"hrole";
GRANT SELECT, INSERT, DELETE ON :"hs".:"ht", :"hs".:"hc" TO :"hrole";
INSERT INTO :"hs".:"ht" VALUES
    ('plain', 'plain@example.test', 1),
    ('x''); DROP TABLE security.canary; --', 'quote@example.test', 2),
    ('$1', 'dollar@example.test', 3),
    ('"; SELECT 1; --', 'double@example.test', 4),
    ('ключ ☃', 'unicode@example.test', 5);
INSERT INTO :"hs".:"hc" SELECT row_number() OVER (ORDER BY k), k FROM :"hs".:"ht" AS p(k);

-- A DELETE by the role with the hostile name, with a hostile actor and reason.
SET ROLE :"hrole";
SET softdelete.actor = 'x''); DROP TABLE t; --';
SET softdelete.reason = '$1 ''; DROP TABLE security.canary; -- "';
DELETE FROM :"hs".:"ht" WHERE :"hkey" <> 'plain';
RESET softdelete.actor;
RESET softdelete.reason;
-- Without softdelete_restorer, the hint names the role. It must be quoted, because a DBA
-- may copy the GRANT it suggests.
SELECT softdelete.restore(:'hparent', 'x''); DROP TABLE security.canary; --'::text);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT :"hkey" AS key, deleted_at IS NOT NULL AS deleted, deleted_by FROM :"hs".:"ht" ORDER BY 1;
SELECT "parent'); DROP TABLE security.canary; --" AS parent FROM :"hs".:"hc" ORDER BY id;
SELECT operation, key, actor, role_name, reason, via_constraint, detail->'old' AS old
FROM softdelete.events WHERE table_name IN (:'hparent', :'hchild') ORDER BY operation, key::text;

-- restore_preview, restore, purge_preview, purge, set_foreign_key_rule, set_personal_columns,
-- anonymize and hold with the same names and values.
SELECT table_name, key, problem FROM softdelete.restore_preview(:'hparent', 'x''); DROP TABLE security.canary; --'::text);
SELECT softdelete.restore(:'hparent', 'x''); DROP TABLE security.canary; --'::text) AS restored;
SELECT "parent'); DROP TABLE security.canary; --" AS parent FROM :"hs".:"hc" ORDER BY id;
DELETE FROM :"hs".:"ht" WHERE :"hkey" IN ('"; SELECT 1; --', '$1');
SELECT table_name, key FROM softdelete.purge_preview(:'hparent', '"; SELECT 1; --'::text);
SELECT softdelete.purge(:'hparent', '"; SELECT 1; --'::text) AS purged;
SELECT softdelete.purge(:'hparent', jsonb_build_object(:'hkey', '$1')) AS purged;
SELECT softdelete.set_foreign_key_rule(:'hchild', :'hfk', 'restrict');
SELECT child_table, constraint_name, effective_on_delete FROM softdelete.foreign_key_rules
WHERE child_table = :'hchild'::regclass;
SELECT softdelete.set_foreign_key_rule(:'hchild', :'hfk', NULL);
SELECT softdelete.set_foreign_key_rule(:'hchild', 'x''; DROP TABLE security.canary; --', 'restrict');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_personal_columns(:'hparent', jsonb_build_object(:'hmail', 'gone-{key}''); DROP TABLE security.canary; --'));
SELECT softdelete.set_personal_columns(:'hparent', jsonb_build_object('x"); DROP TABLE security.canary; --', NULL));
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.anonymize(:'hparent', 'ключ ☃'::text) AS anonymized;
SELECT :"hmail" AS mail FROM :"hs".:"ht" WHERE :"hkey" = 'ключ ☃';
SELECT softdelete.hold(:'hparent', 'plain'::text, '''); DROP TABLE security.canary; --') > 0 AS held;
SELECT operation, key, reason FROM softdelete.events
WHERE table_name = :'hparent' AND operation IN ('anonymize', 'hold') ORDER BY event_id;
-- Key values and key shapes that are not plain values are rejected, not run.
SELECT softdelete.restore(:'hparent', jsonb_build_object('id; DROP TABLE security.canary', 1));
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('ledger', '1; DROP TABLE security.canary'::text);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('ledger', '[1, "2); DROP TABLE security.canary; --"]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
-- The hint for an unmanaged table quotes its name inside a string literal, which must double
-- the single quote so that the suggested statement is safe to copy.
CREATE TABLE :"hs"."unmanaged'); DROP TABLE security.canary; --" (id int PRIMARY KEY);
SELECT softdelete.restore(format('%I.%I', :'hs', 'unmanaged''); DROP TABLE security.canary; --'), 1);
\echo :LAST_ERROR_SQLSTATE
SELECT id AS canary FROM security.canary;

-- A key column whose name contains "{alias}", the placeholder purge() fills with a table
-- alias. purge() must remove the row it is given and no other.
CREATE TABLE security.braces ("{alias}" int PRIMARY KEY, p int);
SELECT softdelete.enable('security.braces');
INSERT INTO braces VALUES (1, 2), (2, 1);
DELETE FROM braces;
SELECT softdelete.purge('security.braces', 1) AS purged;
SELECT "{alias}", p FROM braces ORDER BY 1;

--------------------------------------------------------------------------------------------
-- search_path hijacking. sec_mallory creates, in a schema first on its search_path, an
-- operator = and functions with the names the extension's SQL uses, and tables named like
-- the extension's own. Each hijack writes to a side table and draws from a sequence (which a
-- rollback does not undo) when it runs. None of them may run, and the results must be the
-- same as without them.
--------------------------------------------------------------------------------------------
SELECT setval('softdelete.deletion_seq', 30300) AS deletion_seq_start \gset
SET ROLE sec_owner;
CREATE TABLE hj_parent (id int PRIMARY KEY, code text UNIQUE);
CREATE TABLE hj_child (id bigint PRIMARY KEY, parent_id int REFERENCES hj_parent ON DELETE CASCADE);
CREATE TABLE hj_tag (id bigint PRIMARY KEY, parent_id int REFERENCES hj_parent ON DELETE SET NULL);
CREATE TABLE hj_note (id bigint PRIMARY KEY, parent_id int REFERENCES hj_parent ON DELETE RESTRICT);
SELECT softdelete.enable('hj_child'), softdelete.enable('hj_tag'), softdelete.enable('hj_note'), softdelete.enable('hj_parent');
INSERT INTO hj_parent VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f');
INSERT INTO hj_child VALUES (10, 1), (20, 2), (40, 4), (50, 5);
INSERT INTO hj_tag VALUES (100, 1), (200, 2), (400, 4), (500, 5);
INSERT INTO hj_note VALUES (1000, 3), (6000, 6);
GRANT SELECT, INSERT, UPDATE, DELETE ON hj_parent, hj_child, hj_tag, hj_note TO sec_mallory;
RESET ROLE;
GRANT softdelete_restorer, softdelete_purger TO sec_mallory;
CREATE SCHEMA sec_evil AUTHORIZATION sec_mallory;
SET ROLE sec_mallory;
CREATE TABLE sec_evil.ran (what text, who text);
CREATE SEQUENCE sec_evil.calls;
GRANT USAGE ON SCHEMA sec_evil TO PUBLIC;
GRANT INSERT ON sec_evil.ran TO PUBLIC;
GRANT USAGE ON SEQUENCE sec_evil.calls TO PUBLIC;
CREATE FUNCTION sec_evil.record(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.nextval('sec_evil.calls');
    INSERT INTO sec_evil.ran VALUES (what, current_user);
END
$$;
GRANT EXECUTE ON FUNCTION sec_evil.record(text) TO PUBLIC;
CREATE FUNCTION sec_evil.eq(integer, integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('= (integer, integer)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = sec_evil.eq);
CREATE FUNCTION sec_evil.eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('= (bigint, bigint)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sec_evil.eq);
CREATE FUNCTION sec_evil.eq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('= (text, text)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_evil.eq);
CREATE FUNCTION sec_evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION sec_evil.current_setting(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('current_setting()'); RETURN pg_catalog.current_setting($1); END $$;
CREATE FUNCTION sec_evil.nextval(regclass) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('nextval()'); RETURN pg_catalog.nextval($1); END $$;
CREATE FUNCTION sec_evil.format(text, VARIADIC text[]) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('format()'); RETURN pg_catalog.format($1, VARIADIC $2); END $$;
CREATE FUNCTION sec_evil.concat_ws(text, VARIADIC text[]) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('concat_ws()'); RETURN pg_catalog.concat_ws($1, VARIADIC $2); END $$;
CREATE FUNCTION sec_evil.jsonb_build_object(VARIADIC text[]) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('jsonb_build_object()'); RETURN pg_catalog.jsonb_build_object(VARIADIC $1); END $$;
CREATE FUNCTION sec_evil.to_jsonb(anyelement) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('to_jsonb()'); RETURN pg_catalog.to_jsonb($1); END $$;
CREATE FUNCTION sec_evil.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_evil.record('unnest()'); RETURN QUERY SELECT pg_catalog.unnest($1); END $$;
CREATE TABLE sec_evil.events (operation text, table_name text, key jsonb, deletion_id bigint,
    actor text, role_name name, reason text, via_constraint text, detail jsonb,
    application_name text, client_addr inet);
CREATE TABLE sec_evil.managed_tables (relid regclass, retention interval);
GRANT INSERT, UPDATE, DELETE ON sec_evil.events, sec_evil.managed_tables TO PUBLIC;

-- First with pg_catalog searched implicitly first, as PostgreSQL does when the path does not
-- name it, then with the hijack schema before pg_catalog. The DELETEs name the operator
-- explicitly, so that only the extension's own SQL could pick up the hijacks.
SET search_path = sec_evil, public;
DELETE FROM security.hj_parent WHERE id OPERATOR(pg_catalog.=) 1;
INSERT INTO security.hj_child VALUES (11, 1);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM security.hj_parent WHERE id OPERATOR(pg_catalog.=) 3;
\echo :LAST_ERROR_SQLSTATE
SELECT table_name, key, problem FROM softdelete.restore_preview('security.hj_parent', 1);
SELECT softdelete.restore('security.hj_parent', 1) AS restored;
DELETE FROM security.hj_parent WHERE id OPERATOR(pg_catalog.=) 2;
SELECT table_name, key FROM softdelete.purge_preview('security.hj_parent', 2);
SELECT softdelete.purge('security.hj_parent', 2) AS purged;
SELECT 'implicit pg_catalog' AS search_path, what, who FROM sec_evil.ran GROUP BY what, who ORDER BY what, who;

SET search_path = sec_evil, pg_catalog;
DELETE FROM security.hj_parent WHERE id OPERATOR(pg_catalog.=) 4;
INSERT INTO security.hj_child VALUES (41, 4);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM security.hj_parent WHERE id OPERATOR(pg_catalog.=) 6;
\echo :LAST_ERROR_SQLSTATE
SELECT table_name, key, problem FROM softdelete.restore_preview('security.hj_parent', 4);
SELECT softdelete.restore('security.hj_parent', 4) AS restored;
DELETE FROM security.hj_parent WHERE id OPERATOR(pg_catalog.=) 5;
SELECT table_name, key FROM softdelete.purge_preview('security.hj_parent', 5);
SELECT softdelete.purge('security.hj_parent', 5) AS purged;
SELECT 'sec_evil, pg_catalog' AS search_path, what, who FROM sec_evil.ran GROUP BY what, who ORDER BY what, who;
SET search_path = security, public;
RESET ROLE;
SELECT is_called AS any_hijack_called FROM sec_evil.calls;
SELECT (SELECT count(*) FROM sec_evil.events) AS rows_in_fake_events,
       (SELECT count(*) FROM sec_evil.managed_tables) AS rows_in_fake_managed_tables;
-- The results are what they are without the hijacks.
SELECT 'parent' AS tbl, id, deleted_at IS NOT NULL AS deleted FROM security.hj_parent
UNION ALL SELECT 'child', id, deleted_at IS NOT NULL FROM security.hj_child
UNION ALL SELECT 'tag', id, deleted_at IS NOT NULL FROM security.hj_tag
ORDER BY 1, 2;
SELECT id, parent_id FROM security.hj_tag ORDER BY id;
SELECT operation, table_name, key, role_name, via_constraint FROM softdelete.events
WHERE table_name LIKE 'security.hj%' ORDER BY event_id;

--------------------------------------------------------------------------------------------
-- Code of ordinary roles must never run with the extension owner's privileges. A cast of a
-- user-defined type is found by type, not through search_path, so pinning search_path does
-- not keep it out. sec_mallory's casts to json and to text report when they run as any other
-- role.
--------------------------------------------------------------------------------------------
SELECT setval('softdelete.deletion_seq', 30400) AS deletion_seq_start \gset
SET ROLE sec_mallory;
CREATE TYPE sec_mal.tag AS ENUM ('a', 'b', 'c');
CREATE TABLE sec_mal.witness (who text, superuser boolean);
GRANT INSERT ON sec_mal.witness TO PUBLIC;
CREATE FUNCTION sec_mal.tag_json(sec_mal.tag) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> 'sec_mallory' THEN
        INSERT INTO sec_mal.witness
        SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
        RAISE NOTICE 'cast to json ran as %', current_user;
    END IF;
    RETURN pg_catalog.to_json($1::text);
END
$$;
CREATE FUNCTION sec_mal.tag_text(sec_mal.tag) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> 'sec_mallory' THEN
        RAISE NOTICE 'cast to text ran as %', current_user;
    END IF;
    RETURN pg_catalog.enum_out($1)::text;
END
$$;
CREATE CAST (sec_mal.tag AS json) WITH FUNCTION sec_mal.tag_json(sec_mal.tag);
CREATE CAST (sec_mal.tag AS text) WITH FUNCTION sec_mal.tag_text(sec_mal.tag);
CREATE TABLE sec_mal.tagged (id sec_mal.tag PRIMARY KEY);
CREATE TABLE sec_mal.tag_use (id int PRIMARY KEY, tag sec_mal.tag REFERENCES sec_mal.tagged ON DELETE RESTRICT);
SELECT softdelete.enable('sec_mal.tagged');
INSERT INTO sec_mal.tagged VALUES ('a'), ('b'), ('c');
INSERT INTO sec_mal.tag_use VALUES (1, 'c');
-- The audit trigger writes the key of the deleted row.
DELETE FROM sec_mal.tagged WHERE id = 'a';
-- restore_preview() reads the keys of the deletion.
SELECT table_name, key FROM softdelete.restore_preview('sec_mal.tagged', 'a'::sec_mal.tag);
-- The RESTRICT check reads the referencing values.
DELETE FROM sec_mal.tagged WHERE id = 'c';
\echo :LAST_ERROR_SQLSTATE
-- The check of a new reference to a deleted row reads the referencing values.
INSERT INTO sec_mal.tag_use VALUES (2, 'a');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge('sec_mal.tagged', 'a'::sec_mal.tag) AS purged;
RESET ROLE;
SELECT who, superuser FROM sec_mal.witness;

--------------------------------------------------------------------------------------------
-- The extension lifts the policy that hides deleted rows for its own statements only. A
-- statement it runs on sec_mallory's table must not lift it for another managed table that
-- a policy of sec_mallory's reads, because sec_mallory may read the ledger's active rows only.
--------------------------------------------------------------------------------------------
SET ROLE sec_mallory;
CREATE TABLE sec_mal.loot (id int, note text);
CREATE FUNCTION sec_mal.steal(int, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sec_mal.loot VALUES ($1, $2);
    RETURN true;
END
$$;
CREATE TABLE sec_mal.box (id int PRIMARY KEY, label text);
SELECT softdelete.enable('sec_mal.box');
SELECT softdelete.set_personal_columns('sec_mal.box', '{"label": null}');
INSERT INTO sec_mal.box VALUES (1, 'x');
-- The policy reads every ledger row it can see through steal().
CREATE POLICY peek ON sec_mal.box
    USING ((SELECT count(*) FROM security.ledger l WHERE sec_mal.steal(l.id, l.note)) >= 0);
DELETE FROM sec_mal.box WHERE id = 1;
SELECT softdelete.restore('sec_mal.box', 1) AS restored;
SELECT softdelete.anonymize('sec_mal.box', 1) AS anonymized;
DELETE FROM sec_mal.box WHERE id = 1;
SELECT softdelete.purge('sec_mal.box', 1) AS purged;
SELECT DISTINCT id, note FROM sec_mal.loot ORDER BY id;
RESET ROLE;

--------------------------------------------------------------------------------------------
-- What the extension does not protect against, pinned: the owner of a managed table can
-- take its protection away.
--------------------------------------------------------------------------------------------
SET ROLE sec_owner;
CREATE TABLE owned (id int PRIMARY KEY);
SELECT softdelete.enable('owned');
INSERT INTO owned VALUES (1), (2);
GRANT SELECT ON owned TO sec_plain;
DELETE FROM owned WHERE id = 1;
SELECT softdelete.hold('owned', 2, 'case 18') > 0 AS held;
-- Row-level security stays on while the table is managed: turning it off is undone, with a
-- WARNING.
ALTER TABLE owned NO FORCE ROW LEVEL SECURITY;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'owned'::regclass;
-- But the owner can drop the policy that hides deleted rows, and readers see them.
DROP POLICY softdelete_hide_deleted ON owned;
RESET ROLE;
SET ROLE sec_plain;
SELECT id FROM owned ORDER BY id;
RESET ROLE;
-- And the owner can disable the triggers. TRUNCATE then removes every row, the held one
-- included, and nothing is recorded.
SET ROLE sec_owner;
ALTER TABLE owned DISABLE TRIGGER softdelete_truncate;
TRUNCATE owned;
RESET ROLE;
SELECT count(*) AS rows_left FROM owned;
SELECT operation, key FROM softdelete.events WHERE table_name = 'security.owned' ORDER BY event_id;

-- Known limit, pinned: a viewer with UPDATE privilege can change the columns of soft-deleted
-- rows other than the marker columns.
SET ROLE sec_viewer;
SET softdelete.include_deleted = on;
UPDATE ledger SET note = 'changed by a viewer' WHERE id = 3;
RESET softdelete.include_deleted;
RESET ROLE;
SELECT * FROM ledger_state WHERE id = 3;

--------------------------------------------------------------------------------------------
-- Clean up.
--------------------------------------------------------------------------------------------
RESET softdelete.notices;
SET client_min_messages = warning;
DROP SCHEMA sec_evil CASCADE;
DROP SCHEMA sec_mal CASCADE;
DROP SCHEMA :"hs" CASCADE;
DROP SCHEMA security CASCADE;
DROP OWNED BY sec_owner, sec_plain, sec_viewer, sec_restorer, sec_purger, sec_bypass, sec_mallory, :"hrole";
DROP ROLE sec_owner, sec_plain, sec_viewer, sec_restorer, sec_purger, sec_bypass, sec_mallory, :"hrole";
RESET client_min_messages;
