-- pg_softdelete on the Chinook sample database: a support agent deletes the lines of an
-- invoice, the application stops seeing them, and the DBA finds out who did it and why,
-- purges one line and restores the others. Every step checks its result with demo_expect(),
-- which raises an error on a mismatch, so under ON_ERROR_STOP the script doubles as a
-- smoke test. scripts/demo.sh recreates the chinook database before each run.
\set QUIET on

-- Raises an error unless actual equals expected, and returns 'ok: <check_name>' otherwise.
CREATE FUNCTION demo_expect(check_name text, actual bigint, expected bigint) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF actual IS DISTINCT FROM expected THEN
        RAISE EXCEPTION 'demo check failed: %: got %, expected %', check_name, actual, expected;
    END IF;
    RETURN 'ok: ' || check_name;
END
$$;

\echo
\echo '== 1. Install the extension and manage invoice_line and invoice'
CREATE EXTENSION pg_softdelete;
SELECT softdelete.enable('invoice_line');
SELECT softdelete.enable('invoice');
SELECT demo_expect('two managed tables', count(*), 2) FROM softdelete.managed_tables;

-- Roles are cluster-wide and outlive the database, so they are created only once.
-- app plays the application's database role, and auditor may read deleted rows.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') THEN
        CREATE ROLE app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'auditor') THEN
        CREATE ROLE auditor NOLOGIN;
    END IF;
    IF NOT pg_has_role('auditor', 'softdelete_viewer', 'MEMBER') THEN
        GRANT softdelete_viewer TO auditor;
    END IF;
END
$$;
GRANT SELECT, DELETE ON invoice_line, invoice TO app;
GRANT SELECT ON invoice_line TO auditor;

\echo
\echo '== 2. Support agent alice deletes the 4 lines of invoice 2 with a plain DELETE'
BEGIN;
SET LOCAL ROLE app;
SET LOCAL softdelete.actor = 'support:alice';
SET LOCAL softdelete.reason = 'customer reported invoice 2 as a duplicate order';
-- RETURNING shows the rows as they are now stored: marked, not removed.
\set QUIET off
DELETE FROM invoice_line WHERE invoice_id = 2 RETURNING invoice_line_id, deleted_by, deletion_id;
\set QUIET on
-- psql sets :ROW_COUNT from the command tag (DELETE 4), the count that drivers report.
SELECT demo_expect('DELETE reported 4 rows', :ROW_COUNT, 4);

-- Chinook's foreign keys are ON DELETE NO ACTION, and soft deletes follow them: an invoice
-- with active lines cannot be deleted.
DO $$
BEGIN
    DELETE FROM invoice WHERE invoice_id = 3;
    RAISE EXCEPTION 'demo check failed: invoice 3 was deleted although it has active lines';
EXCEPTION WHEN foreign_key_violation THEN
    RAISE NOTICE 'DELETE of invoice 3 rejected: %', SQLERRM;
END
$$;
COMMIT;

\echo
\echo '== 3. The application no longer sees the lines'
SET ROLE app;
SELECT demo_expect('lines of invoice 2 hidden from app', count(*), 0) FROM invoice_line WHERE invoice_id = 2;
RESET ROLE;

\echo
\echo '== 4. ... but the rows are still there: the superuser bypasses row-level security'
SELECT invoice_line_id, track_id, deleted_at IS NOT NULL AS deleted, deleted_by, deletion_id
FROM invoice_line WHERE invoice_id = 2 ORDER BY invoice_line_id;

-- A member of softdelete_viewer sees deleted rows only after SET softdelete.include_deleted = on.
SET ROLE auditor;
SELECT demo_expect('lines hidden from auditor by default', count(*), 0) FROM invoice_line WHERE invoice_id = 2;
SET softdelete.include_deleted = on;
SELECT demo_expect('lines visible to auditor with include_deleted', count(*), 4)
FROM invoice_line WHERE invoice_id = 2;
RESET softdelete.include_deleted;
RESET ROLE;

\echo
\echo '== 5. The audit trail says who deleted what, when and why'
SELECT event_id, operation, table_name, key, deletion_id, actor, role_name, reason
FROM softdelete.events ORDER BY event_id;
SELECT demo_expect('delete events by support:alice as app', count(*), 4)
FROM softdelete.events
WHERE operation = 'delete' AND actor = 'support:alice' AND role_name = 'app'
  AND reason = 'customer reported invoice 2 as a duplicate order';

\echo
\echo '== 6. softdelete.tables counts active and deleted rows'
SELECT table_name, active_rows, deleted_rows FROM softdelete.tables ORDER BY table_name::text;
SELECT demo_expect('deleted rows of invoice_line', deleted_rows, 4)
FROM softdelete.tables WHERE table_name = 'invoice_line'::regclass;

\echo
\echo '== 7. The DBA purges line 4 for real and restores the rest of the deletion'
SET softdelete.actor = 'dba:bob';
SET softdelete.reason = 'line 4 was the duplicate, the other lines were real purchases';
SELECT softdelete.purge('invoice_line', 4);
SELECT demo_expect('line 4 physically gone', count(*), 0) FROM invoice_line WHERE invoice_line_id = 4;

-- One DELETE statement is one deletion: restoring line 3 brings back every row of it that
-- is still deleted. The preview lists those rows and any conflict that would stop them.
SELECT * FROM softdelete.restore_preview('invoice_line', 3);
SELECT demo_expect('rows restored with line 3', softdelete.restore('invoice_line', 3), 3);
RESET softdelete.actor;
RESET softdelete.reason;

SET ROLE app;
SELECT demo_expect('lines of invoice 2 visible to app after restore', count(*), 3)
FROM invoice_line WHERE invoice_id = 2;
RESET ROLE;

-- Restore events carry the id of the deletion they undid. The purge event keeps the row's key.
SELECT event_id, operation, key, deletion_id, actor, reason
FROM softdelete.events WHERE operation IN ('restore', 'purge') ORDER BY event_id;
SELECT deletion_id, root_table, rows_per_table, actor, state FROM softdelete.deletions;
SELECT demo_expect('deletion 1 restored and purged', count(*), 1)
FROM softdelete.deletions
WHERE deletion_id = 1 AND deleted_rows = 4 AND restored_rows = 3 AND purged_rows = 1;

\echo
\echo '== 8. TRUNCATE is rejected, because it would remove every row without an audit trail'
DO $$
BEGIN
    TRUNCATE invoice_line;
    RAISE EXCEPTION 'demo check failed: TRUNCATE of a managed table succeeded';
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'TRUNCATE rejected: %', SQLERRM;
END
$$;
SELECT demo_expect('invoice_line rows after TRUNCATE attempt', count(*), 2239) FROM invoice_line;

\echo
\echo '== 9. A customer deleted by mistake, and a restore that brings back exactly that deletion'
-- Chinook declares every foreign key ON DELETE NO ACTION. The DBA decides that deleting a
-- customer takes its invoices and their lines with it, for soft deletes only.
SELECT softdelete.enable('customer');
SELECT softdelete.set_foreign_key_rule('invoice', 'invoice_customer_id_fkey', 'cascade');
SELECT softdelete.set_foreign_key_rule('invoice_line', 'invoice_line_invoice_id_fkey', 'cascade');
SELECT child_table, constraint_name, declared_on_delete, effective_on_delete
FROM softdelete.foreign_key_rules ORDER BY child_table::text;
GRANT SELECT, DELETE ON customer TO app;

-- Carol deletes invoice 121 of customer 1 on its own (refunded); its 4 lines go with it.
BEGIN;
SET LOCAL ROLE app;
SET LOCAL softdelete.actor = 'support:carol';
SET LOCAL softdelete.reason = 'order 121 refunded';
DELETE FROM invoice WHERE invoice_id = 121;
COMMIT;

-- Later dave deletes customer 1 instead of customer 11. The client sees DELETE 1, as with a
-- hard delete; the 6 remaining invoices and their 34 lines are soft-deleted with it.
BEGIN;
SET LOCAL ROLE app;
SET LOCAL softdelete.actor = 'support:dave';
SET LOCAL softdelete.reason = 'duplicate customer record';
\set QUIET off
DELETE FROM customer WHERE customer_id = 1;
\set QUIET on
SELECT demo_expect('DELETE of customer 1 reported 1 row', :ROW_COUNT, 1);
COMMIT;

SET ROLE app;
SELECT demo_expect('invoices of customer 1 hidden from app', count(*), 0) FROM invoice WHERE customer_id = 1;
RESET ROLE;

-- Each DELETE statement is one deletion; the cascade shares its id.
SELECT deletion_id, root_table, rows_per_table, actor, reason, state
FROM softdelete.deletions ORDER BY deletion_id;

-- The agent reports the mistake; support restores the customer. Only dave's deletion comes
-- back: invoice 121, deleted by carol earlier, stays deleted with its lines.
SELECT softdelete.restore('customer', 1) AS rows_restored;
SET ROLE app;
SELECT demo_expect('invoices of customer 1 visible after restore', count(*), 6) FROM invoice WHERE customer_id = 1;
SELECT demo_expect('invoice 121 still hidden', count(*), 0) FROM invoice WHERE invoice_id = 121;
SELECT demo_expect('lines of customer 1 visible after restore', count(*), 34)
FROM invoice_line l JOIN invoice i ON i.invoice_id = l.invoice_id WHERE i.customer_id = 1;
RESET ROLE;

-- Who deleted invoice 121, and who deleted and restored customer 1?
SELECT operation, table_name, key, actor, reason
FROM softdelete.events
WHERE (table_name = 'public.invoice' AND key = '{"invoice_id": 121}')
   OR (table_name = 'public.customer' AND key = '{"customer_id": 1}')
ORDER BY event_id;
SELECT demo_expect('invoice 121 deleted by carol', count(*), 1)
FROM softdelete.events
WHERE operation = 'delete' AND key = '{"invoice_id": 121}' AND actor = 'support:carol';

\echo
\echo 'Demo finished: every check passed.'
