-- The privacy path: purge() with include_active, purge_deletion(), the purge previews, what a purge leaves in the extension's tables, legal holds, anonymize() and set_personal_columns(), and the purger privileges they need.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA privacy;
SET search_path = privacy, public;
-- Deletion ids and legal hold ids come from sequences that all test files share. Starting them
-- at fixed values keeps the ids in NOTICEs and errors the same whatever ran before.
SELECT setval('softdelete.deletion_seq', 20000) AS deletion_seq_start \gset
SELECT setval(pg_get_serial_sequence('softdelete.legal_holds', 'hold_id'), 200) AS hold_id_start \gset

-- invoice.customer_id is declared NO ACTION and overridden to cascade for soft deletes, so
-- purge() removes a customer's invoices itself. invoice_line is declared ON DELETE CASCADE, so
-- PostgreSQL removes the lines of a purged invoice. subscription references the customer by
-- email with ON DELETE SET NULL: a soft delete keeps the subscription and records the old
-- email in an unlink event.
CREATE TABLE customer (
    id int PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    phone text
);
CREATE TABLE invoice (
    id int PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customer,
    total numeric(8, 2) NOT NULL
);
CREATE TABLE invoice_line (
    id int PRIMARY KEY,
    invoice_id int NOT NULL REFERENCES invoice ON DELETE CASCADE,
    item text NOT NULL
);
CREATE TABLE subscription (
    id int PRIMARY KEY,
    email text REFERENCES customer (email) ON DELETE SET NULL,
    topic text NOT NULL
);
-- enable.sql and fk_rules.sql cover the NOTICEs of enable() and set_foreign_key_rule().
SET softdelete.notices = off;
-- Referencing tables first: each enable() warns that the table it references with a
-- cascading key is not managed yet, until customer is.
SELECT softdelete.enable('invoice_line');
SELECT softdelete.enable('invoice');
SELECT softdelete.enable('subscription');
SELECT softdelete.enable('customer');
SELECT softdelete.set_foreign_key_rule('invoice', 'invoice_customer_id_fkey', 'cascade');
RESET softdelete.notices;
SELECT constraint_name, declared_on_delete, effective_on_delete
FROM softdelete.foreign_key_rules
WHERE child_table IN ('invoice'::regclass, 'invoice_line'::regclass, 'subscription'::regclass)
ORDER BY constraint_name;

INSERT INTO customer VALUES
    (1, 'Ann', 'ann@example.com', '555-0101'),
    (2, 'Bob', 'bob@example.com', '555-0102'),
    (3, 'Cy', 'cy@example.com', NULL),
    (4, 'Dora', 'dora@example.com', '555-0104'),
    (5, 'Eve', 'eve@example.com', '555-0105'),
    (6, 'Finn', 'finn@example.com', '555-0106');
INSERT INTO invoice VALUES (10, 1, 12.50), (11, 1, 7.00), (20, 2, 3.00), (30, 3, 4.00),
                           (40, 4, 9.00), (50, 5, 1.00), (60, 6, 2.00);
INSERT INTO invoice_line VALUES (100, 10, 'album'), (101, 10, 'single'), (110, 11, 'album'),
                                (200, 20, 'single'), (300, 30, 'album'), (400, 40, 'album'),
                                (500, 50, 'single'), (600, 60, 'album'), (601, 60, 'single');
INSERT INTO subscription VALUES (1, 'dora@example.com', 'new releases'), (2, 'bob@example.com', 'offers');

-- Every row of the three tables with its state. The superuser running this file sees deleted
-- rows, because superusers bypass row-level security.
CREATE VIEW row_states AS
SELECT 'customer' AS table_name, id, deleted_at IS NOT NULL AS deleted FROM customer
UNION ALL SELECT 'invoice', id, deleted_at IS NOT NULL FROM invoice
UNION ALL SELECT 'invoice_line', id, deleted_at IS NOT NULL FROM invoice_line;

-- The events of this file's tables, with deletion ids relative to the start value and without
-- times.
CREATE VIEW audit AS
SELECT event_id, operation, table_name, key, deletion_id - :deletion_seq_start AS deletion,
       actor, role_name, reason, via_constraint, detail
FROM softdelete.events
WHERE table_name LIKE 'privacy.%' OR (table_name = '' AND deletion_id > :deletion_seq_start);

-- Counts the rows of every table and view in the schema softdelete whose text form contains
-- needle, as a DBA would search for what is left of a person after a purge.
CREATE FUNCTION traces(needle text) RETURNS TABLE (relation text, matches bigint)
LANGUAGE plpgsql AS $$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN
        SELECT c.oid FROM pg_class c
        WHERE c.relnamespace = 'softdelete'::regnamespace AND c.relkind IN ('r', 'v')
        ORDER BY c.relname
    LOOP
        relation := rel::text;
        EXECUTE format('SELECT count(*) FROM %s t WHERE t::text LIKE $1', rel)
            INTO matches USING '%' || needle || '%';
        RETURN NEXT;
    END LOOP;
END
$$;
-- The relations searched include every table and view of the extension that can hold row data.
SELECT array_agg(relation ORDER BY relation) @> ARRAY[
    'softdelete.deletions', 'softdelete.events', 'softdelete.foreign_key_overrides',
    'softdelete.foreign_key_rules', 'softdelete.legal_holds', 'softdelete.managed_tables',
    'softdelete.personal_columns', 'softdelete.recycle_bin', 'softdelete.tables'] AS searches_all
FROM traces('');

------------------------------------------------------------------------------------------------
-- purge() of an active row is rejected (55000) and changes nothing: the row, its invoices and
-- lines stay active, and no event is written.
SELECT count(*) AS events_before FROM audit \gset
SELECT softdelete.purge('customer', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states WHERE id IN (1, 10, 11, 100, 101, 110) ORDER BY table_name, id;
SELECT count(*) - :events_before AS new_events FROM audit;
-- Its preview raises the same error.
SELECT * FROM softdelete.purge_preview('customer', 1);
\echo :LAST_ERROR_SQLSTATE
-- A missing key is P0002.
SELECT softdelete.purge('customer', 99, include_active => true);
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------------------------------
-- include_active => true: the preview lists the customer, its invoices through the overridden
-- rule and their lines through the declared CASCADE. Then the real purge soft-deletes the row
-- as a deletion of its own (with its cascade) and removes exactly the previewed rows.
SET softdelete.actor = 'dpo:carla';
SET softdelete.reason = 'erasure request 17';
CREATE TEMPORARY TABLE previewed AS
SELECT * FROM softdelete.purge_preview('customer', 1, include_active => true);
SELECT * FROM previewed ORDER BY table_name, key;
-- The preview changed nothing and wrote no event.
SELECT * FROM row_states WHERE id IN (1, 10, 11, 100, 101, 110) ORDER BY table_name, id;
SELECT count(*) - :events_before AS new_events FROM audit;
SELECT coalesce(max(event_id), 0) AS last_event FROM softdelete.events \gset
SELECT softdelete.purge('customer', 1, include_active => true);
SELECT * FROM row_states WHERE id IN (1, 10, 11, 100, 101, 110) ORDER BY table_name, id;
-- What the preview listed and what the purge removed, as recorded by purge events.
SELECT (SELECT count(*) FROM previewed) AS previewed,
       (SELECT count(*) FROM audit WHERE event_id > :last_event AND operation = 'purge') AS purged,
       (SELECT count(*) FROM (SELECT table_name, key FROM previewed
                              EXCEPT SELECT table_name, key FROM audit
                                     WHERE event_id > :last_event AND operation = 'purge') d) AS previewed_not_purged,
       (SELECT count(*) FROM (SELECT table_name, key FROM audit
                              WHERE event_id > :last_event AND operation = 'purge'
                              EXCEPT SELECT table_name, key FROM previewed) d) AS purged_not_previewed;
-- The soft delete and the purge are both recorded. Purge events keep the table, the key, the
-- actor and the reason, and nothing else of the row.
SELECT operation, table_name, key, deletion, actor, reason, via_constraint, detail
FROM audit WHERE event_id > :last_event ORDER BY event_id;
-- The deletion that include_active started is purged as a whole.
SELECT root_table, rows_per_table, deleted_rows, purged_rows, state
FROM softdelete.deletions WHERE root_table = 'privacy.customer' AND deletion_id > :deletion_seq_start;
DROP TABLE previewed;

-- Nothing of Ann is left in any table or view of the extension.
SELECT relation, matches FROM traces('ann@example.com') WHERE matches > 0;
SELECT relation, matches FROM traces('555-0101') WHERE matches > 0;
SELECT count(*) AS ann_rows FROM customer WHERE email = 'ann@example.com';

------------------------------------------------------------------------------------------------
-- purge_deletion(): a DELETE of customer 2 cascades to invoice 20 and line 200 and sets
-- subscription 2 to NULL. The preview lists the rows children first, changes nothing, and the
-- purge removes exactly those rows.
DELETE FROM customer WHERE id = 2;
SELECT deletion_id AS bob_deletion FROM customer WHERE id = 2 \gset
SELECT :bob_deletion - :deletion_seq_start AS bob_deletion;
CREATE TEMPORARY TABLE previewed AS SELECT * FROM softdelete.purge_deletion_preview(:bob_deletion);
SELECT * FROM previewed;
SELECT * FROM row_states WHERE id IN (2, 20, 200) ORDER BY table_name, id;
SELECT coalesce(max(event_id), 0) AS last_event FROM softdelete.events \gset
SELECT softdelete.purge_deletion(:bob_deletion);
SELECT * FROM row_states WHERE id IN (2, 20, 200) ORDER BY table_name, id;
SELECT (SELECT count(*) FROM previewed) AS previewed,
       (SELECT count(*) FROM (SELECT table_name, key FROM previewed
                              EXCEPT SELECT table_name, key FROM audit
                                     WHERE event_id > :last_event AND operation = 'purge') d) AS previewed_not_purged,
       (SELECT count(*) FROM (SELECT table_name, key FROM audit
                              WHERE event_id > :last_event AND operation = 'purge'
                              EXCEPT SELECT table_name, key FROM previewed) d) AS purged_not_previewed;
DROP TABLE previewed;
-- The subscription stays, without the email.
SELECT id, email, topic FROM subscription WHERE id = 2;
-- A deletion with nothing left to purge is 55000, and an unknown one P0002.
SELECT softdelete.purge_deletion(:bob_deletion);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge_deletion(-1);
\echo :LAST_ERROR_SQLSTATE

-- No copy of a purged row's values may stay in the audit trail, including the old values that
-- a SET NULL rule recorded in the unlink event of another row. Bob's email was the value of
-- subscription 2's foreign key.
SELECT relation, matches FROM traces('bob@example.com') WHERE matches > 0;
SELECT operation, table_name, key, detail #>> '{old,email}' AS old_email FROM audit
WHERE operation = 'unlink' AND table_name = 'privacy.subscription' AND key = '{"id": 2}';

------------------------------------------------------------------------------------------------
-- Legal holds. A hold on a row (active or deleted) or on a deletion blocks every physical
-- removal of the rows it covers, with 55000 naming the hold, until it is released.
DELETE FROM customer WHERE id = 3;
SELECT deletion_id AS cy_deletion FROM customer WHERE id = 3 \gset
SELECT softdelete.hold('customer', 3, 'litigation hold: case 2024-113') AS cy_hold \gset
SELECT :cy_hold - :hold_id_start AS cy_hold;
SELECT softdelete.purge('customer', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge_deletion(:cy_deletion);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM softdelete.purge_preview('customer', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states WHERE id IN (3, 30, 300) ORDER BY table_name, id;
SELECT table_name, key, on_hold FROM softdelete.recycle_bin
WHERE deletion_id = :cy_deletion ORDER BY table_name, key;
-- A hold on a row of the cascade blocks the purge too: PostgreSQL's own ON DELETE CASCADE from
-- invoice 60 would remove the held line 601, so purging customer 6 fails as a whole.
DELETE FROM customer WHERE id = 6;
SELECT softdelete.hold('invoice_line', 601, 'line under audit') AS line_hold \gset
SELECT softdelete.purge('customer', 6);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states WHERE id IN (6, 60, 600, 601) ORDER BY table_name, id;
-- Every other physical removal is blocked too: a hard DELETE and a TRUNCATE that a superuser
-- allowed with softdelete.allow_hard_delete.
SET softdelete.allow_hard_delete = on;
DELETE FROM invoice_line WHERE id = 601;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
TRUNCATE invoice_line;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
RESET softdelete.allow_hard_delete;
SELECT * FROM row_states WHERE id IN (6, 60, 600, 601) ORDER BY table_name, id;
-- A hold placed with the key in another form that purge() accepts, here text, covers the same
-- row.
INSERT INTO customer VALUES (10, 'Jo', 'jo@example.com', NULL);
DELETE FROM customer WHERE id = 10;
SELECT softdelete.hold('customer', '10'::text, 'case 2024-200') AS jo_hold \gset
SELECT table_name, key, on_hold FROM softdelete.recycle_bin WHERE table_name = 'privacy.customer' AND key = '{"id": 10}';
SELECT softdelete.purge('customer', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states WHERE id = 10 AND table_name = 'customer';
-- A hold on a deletion blocks purge() of any of its rows.
DELETE FROM customer WHERE id = 5;
SELECT deletion_id AS eve_deletion FROM customer WHERE id = 5 \gset
SELECT softdelete.hold_deletion(:eve_deletion, 'tax audit 2025') AS eve_hold \gset
SELECT softdelete.purge('invoice_line', 500);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge_deletion(:eve_deletion);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states WHERE id IN (5, 50, 500) ORDER BY table_name, id;
-- A hold on an active row blocks include_active: the soft delete is rolled back with the purge.
SELECT softdelete.hold('customer', 4, 'open complaint') AS dora_hold \gset
SELECT softdelete.purge('customer', 4, include_active => true);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states WHERE id IN (4, 40, 400) ORDER BY table_name, id;
-- A hold needs a reason: an empty, blank or NULL reason is 22023 and places no hold.
SELECT softdelete.hold('customer', 4, '');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hold('customer', 4, '   ');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hold_deletion(:eve_deletion, '');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hold('customer', 4, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hold_deletion(:eve_deletion, NULL);
\echo :LAST_ERROR_SQLSTATE
-- A hold names an existing row or deletion, found as purge() finds it, so that a typo cannot
-- place a hold that protects nothing. A key that does not cast to the key column's type is
-- 22P02, a missing row or an unknown deletion P0002, and an unmanaged table 55000.
SELECT softdelete.hold('customer', 'x'::text, 'typo');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hold('customer', 99, 'missing row');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hold_deletion(-1, 'missing deletion');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hold('pg_class', 1, 'not managed');
\echo :LAST_ERROR_SQLSTATE
SELECT hold_id - :hold_id_start AS hold, table_name, key, deletion_id - :deletion_seq_start AS deletion,
       reason, placed_by
FROM softdelete.legal_holds WHERE hold_id > :hold_id_start ORDER BY hold_id;
-- release_hold() of an unknown hold is 42704.
SELECT softdelete.release_hold(-1);
\echo :LAST_ERROR_SQLSTATE
-- Released holds let the purges through.
SELECT softdelete.release_hold(:cy_hold);
SELECT softdelete.purge('customer', 3);
SELECT softdelete.release_hold(:line_hold);
SELECT softdelete.purge('customer', 6);
SELECT softdelete.release_hold(:eve_hold);
SELECT softdelete.purge_deletion(:eve_deletion);
SELECT softdelete.release_hold(:jo_hold);
SELECT softdelete.purge('customer', 10);
SELECT softdelete.release_hold(:cy_hold);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states WHERE id IN (3, 30, 300, 5, 50, 500, 6, 60, 600, 601)
   OR (table_name = 'customer' AND id = 10) ORDER BY table_name, id;
SELECT hold_id - :hold_id_start AS hold, table_name, key FROM softdelete.legal_holds
WHERE hold_id > :hold_id_start ORDER BY hold_id;
-- hold and release events: the hold's reason, and the release's from softdelete.reason.
SET softdelete.reason = 'hold review';
SELECT softdelete.release_hold(:dora_hold);
SELECT operation, table_name, key, deletion, actor, reason,
       (detail ->> 'hold_id')::bigint - :hold_id_start AS hold
FROM audit WHERE operation IN ('hold', 'release') ORDER BY event_id;
RESET softdelete.reason;

------------------------------------------------------------------------------------------------
-- anonymize(): overwrites the declared personal columns of one row, active or deleted, and
-- keeps the row. Templates with {key} keep NOT NULL and unique constraints valid.
SELECT softdelete.set_personal_columns('customer',
    '{"name": "former customer", "email": "deleted-{key}@example.invalid", "phone": null}');
SELECT column_name, replacement FROM softdelete.personal_columns
WHERE relid = 'customer'::regclass ORDER BY column_name;
INSERT INTO customer VALUES (7, 'Gus', 'gus@example.com', '555-0107'), (8, 'Hal', 'hal@example.com', '555-0108');
INSERT INTO invoice VALUES (70, 7, 5.00), (80, 8, 6.00);
DELETE FROM customer WHERE id = 8;
SELECT coalesce(max(event_id), 0) AS last_event FROM softdelete.events \gset
SELECT softdelete.anonymize('customer', 7);
SELECT softdelete.anonymize('customer', 8);
SELECT id, name, email, phone, deleted_at IS NOT NULL AS deleted FROM customer WHERE id IN (7, 8) ORDER BY id;
-- The invoices stay, still pointing at the anonymized customers.
SELECT id, customer_id, total, deleted_at IS NOT NULL AS deleted FROM invoice WHERE id IN (70, 80) ORDER BY id;
SELECT operation, table_name, key, actor, reason, detail FROM audit WHERE event_id > :last_event ORDER BY event_id;
SELECT relation, matches FROM traces('gus@example.com') WHERE matches > 0;
SELECT relation, matches FROM traces('hal@example.com') WHERE matches > 0;
-- Anonymizing twice is harmless.
SELECT softdelete.anonymize('customer', 7);
SELECT id, name, email, phone FROM customer WHERE id = 7;
-- A missing key is P0002, and a table without personal columns 55000.
SELECT softdelete.anonymize('customer', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.anonymize('invoice', 70);
\echo :LAST_ERROR_SQLSTATE
-- A template without {key} on a unique column makes the second row collide (23505), and NULL
-- for a NOT NULL column is rejected by the column (23502). The failing call changes nothing.
SELECT softdelete.set_personal_columns('customer', '{"email": "redacted@example.invalid"}');
SELECT softdelete.anonymize('customer', 7);
SELECT softdelete.anonymize('customer', 8);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_personal_columns('customer', '{"name": null}');
SELECT softdelete.anonymize('customer', 7);
\echo :LAST_ERROR_SQLSTATE
SELECT id, name, email, phone FROM customer WHERE id IN (7, 8) ORDER BY id;

-- Anonymizing a row also erases its personal columns from its own earlier events. Deleting
-- customer 4 sets subscription 1's email to NULL and records Dora's email as the old value in
-- an unlink event, which restore() needs. Anonymizing the subscription erases it.
DELETE FROM customer WHERE id = 4;
SELECT deletion_id AS dora_deletion FROM customer WHERE id = 4 \gset
SELECT operation, key, detail #>> '{old,email}' AS old_email FROM audit
WHERE table_name = 'privacy.subscription' AND key = '{"id": 1}' ORDER BY event_id;
SELECT softdelete.set_personal_columns('subscription', '{"email": null}');
SELECT softdelete.anonymize('subscription', 1);
SELECT operation, key, detail #>> '{old,email}' AS old_email, detail FROM audit
WHERE table_name = 'privacy.subscription' AND key = '{"id": 1}' ORDER BY event_id;
SELECT softdelete.purge_deletion(:dora_deletion);
SELECT relation, matches FROM traces('dora@example.com') WHERE matches > 0;

------------------------------------------------------------------------------------------------
-- set_personal_columns() errors, each leaving the declaration unchanged.
SELECT softdelete.set_personal_columns('customer',
    '{"name": "former customer", "email": "deleted-{key}@example.invalid", "phone": null}');
SELECT softdelete.set_personal_columns('customer', '{"mail": null}');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_personal_columns('customer', '{"id": null}');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_personal_columns('customer', '{"phone": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.set_personal_columns('customer', '["email"]');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE unmanaged (id int PRIMARY KEY, email text);
SELECT softdelete.set_personal_columns('unmanaged', '{"email": null}');
\echo :LAST_ERROR_SQLSTATE
SELECT relid, column_name, replacement FROM softdelete.personal_columns
WHERE relid IN ('customer'::regclass, 'subscription'::regclass) ORDER BY relid::text, column_name;

------------------------------------------------------------------------------------------------
-- Privileges. A role with table privileges but without softdelete_purger (and not the owner)
-- gets 42501 from purge, the previews, anonymize, holds and the purge log, and is not the owner
-- that set_personal_columns() requires. A member of softdelete_purger may purge, anonymize and
-- hold rows of tables it may SELECT, UPDATE and DELETE.
CREATE ROLE privacy_clerk NOLOGIN;
CREATE ROLE privacy_purger NOLOGIN;
GRANT softdelete_purger TO privacy_purger;
GRANT USAGE ON SCHEMA privacy TO privacy_clerk, privacy_purger;
GRANT SELECT, UPDATE, DELETE ON customer, invoice, invoice_line, subscription TO privacy_clerk, privacy_purger;
INSERT INTO customer VALUES (9, 'Ida', 'ida@example.com', '555-0109');
DELETE FROM customer WHERE id = 9;
SELECT deletion_id AS ida_deletion FROM customer WHERE id = 9 \gset
SET ROLE privacy_clerk;
SELECT softdelete.purge('customer', 9);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM softdelete.purge_preview('customer', 9);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.purge_deletion(:ida_deletion);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM softdelete.purge_deletion_preview(:ida_deletion);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.anonymize('customer', 9);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hold('customer', 9, 'clerk hold');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.hold_deletion(:ida_deletion, 'clerk hold');
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.release_hold(:dora_hold);
\echo :LAST_ERROR_SQLSTATE
-- NOTE: only the SQLSTATE is shown for the purge log functions, because their message names
-- legal holds instead of the purge log.
\set VERBOSITY sqlstate
SELECT softdelete.export_purge_log(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.apply_purge_log('[]');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT softdelete.set_personal_columns('customer', '{}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT id, name, email, deleted_at IS NOT NULL AS deleted FROM customer WHERE id = 9;
SELECT count(*) AS holds_on_ida FROM softdelete.legal_holds
WHERE (table_name = 'privacy.customer' AND key = '{"id": 9}') OR deletion_id = :ida_deletion;
SELECT column_name FROM softdelete.personal_columns WHERE relid = 'customer'::regclass ORDER BY 1;
SET ROLE privacy_purger;
SELECT softdelete.hold('customer', 9, 'purger hold') AS ida_hold \gset
SELECT softdelete.release_hold(:ida_hold);
SELECT softdelete.anonymize('customer', 9);
SELECT softdelete.purge('customer', 9);
RESET ROLE;
SELECT count(*) AS ida_rows FROM customer WHERE id = 9;
SELECT operation, actor FROM audit WHERE key = '{"id": 9}' AND table_name = 'privacy.customer' ORDER BY event_id;
-- A purger without the DELETE privilege on the table gets 42501 from PostgreSQL.
REVOKE DELETE ON customer FROM privacy_purger;
SET ROLE privacy_purger;
SELECT softdelete.purge('customer', 8);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS deleted FROM customer WHERE id = 8;

-- Every hold this file placed has been released.
SELECT count(*) AS holds_left FROM softdelete.legal_holds WHERE hold_id > :hold_id_start;

RESET softdelete.actor;
SET client_min_messages = warning;
DROP SCHEMA privacy CASCADE;
RESET client_min_messages;
DROP OWNED BY privacy_clerk, privacy_purger;
DROP ROLE privacy_clerk, privacy_purger;
