-- Retention: set_retention(), purge_expired_preview(), CALL purge_expired() in batches, the legal holds it skips, tables without retention, and the recycle_bin view.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA retention;
SET search_path = retention, public;
-- In UTC, adding days never crosses a daylight saving change, so the windows print as whole days.
SET TimeZone = 'UTC';
-- Deletion ids and legal hold ids come from sequences that all test files share. Starting them
-- at fixed values keeps the ids in NOTICEs the same whatever ran before.
SELECT setval('softdelete.deletion_seq', 21000) AS deletion_seq_start \gset
SELECT setval(pg_get_serial_sequence('softdelete.legal_holds', 'hold_id'), 300) AS hold_id_start \gset

CREATE TABLE account (id int PRIMARY KEY, email text NOT NULL);
CREATE TABLE login (id int PRIMARY KEY, account_id int NOT NULL REFERENCES account ON DELETE CASCADE);
CREATE TABLE note (id int PRIMARY KEY, body text NOT NULL);
-- enable.sql covers the NOTICEs of enable().
SET softdelete.notices = off;
SELECT softdelete.enable('login');
SELECT softdelete.enable('account');
SELECT softdelete.enable('note');
RESET softdelete.notices;
INSERT INTO account SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 12) g;
INSERT INTO login SELECT a * 10 + n, a FROM generate_series(1, 12) a, generate_series(1, 2) n;
INSERT INTO note VALUES (1, 'first'), (2, 'second');

-- Every row of the three tables with its state.
CREATE VIEW row_states AS
SELECT 'account' AS table_name, id, deleted_at IS NOT NULL AS deleted FROM account
UNION ALL SELECT 'login', id, deleted_at IS NOT NULL FROM login
UNION ALL SELECT 'note', id, deleted_at IS NOT NULL FROM note;

-- Makes a deletion look older: moves its events and the deleted_at of its rows back by age.
-- This replaces waiting, so that the test does not depend on the clock.
CREATE FUNCTION age_deletion(deletion bigint, age interval) RETURNS void
LANGUAGE sql AS $$
    UPDATE softdelete.event_log SET occurred_at = occurred_at - age WHERE deletion_id = deletion;
    UPDATE softdelete.event_batches SET occurred_at = occurred_at - age WHERE deletion_id = deletion;
    UPDATE retention.account SET deleted_at = deleted_at - age WHERE deletion_id = deletion;
    UPDATE retention.login SET deleted_at = deleted_at - age WHERE deletion_id = deletion;
    UPDATE retention.note SET deleted_at = deleted_at - age WHERE deletion_id = deletion;
$$;

-- The expired deletions of this file's tables, without times: how long each is overdue, in
-- whole days.
CREATE VIEW expired AS
SELECT deletion_id - :deletion_seq_start AS deletion, root_table, deleted_rows,
       date_trunc('day', now() - purge_after) AS overdue, on_hold
FROM softdelete.purge_expired_preview()
WHERE root_table LIKE 'retention.%';

-- The recycle bin of this file's tables, without times: purge_after is shown as the time
-- after the deletion.
CREATE VIEW bin AS
SELECT table_name, key, deletion_id - :deletion_seq_start AS deletion, deleted_by, reason,
       via_constraint, purge_after - deleted_at AS purge_after_deletion, on_hold
FROM softdelete.recycle_bin
WHERE table_name LIKE 'retention.%';

------------------------------------------------------------------------------------------------
-- set_retention() stores the window in softdelete.managed_tables. NULL, the default, keeps
-- deleted rows until they are purged by hand.
SELECT softdelete.set_retention('account', interval '30 days');
SELECT softdelete.set_retention('login', interval '30 days');
SELECT relid, retention FROM softdelete.managed_tables
WHERE relid IN ('account'::regclass, 'login'::regclass, 'note'::regclass) ORDER BY relid::text;
-- Errors, each leaving the windows unchanged: a negative window is an invalid value (22023), an
-- unmanaged table 55000, and a role that does not own the table 42501.
\set VERBOSITY sqlstate
SELECT softdelete.set_retention('account', interval '-1 day');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
CREATE TABLE unmanaged (id int PRIMARY KEY);
SELECT softdelete.set_retention('unmanaged', interval '1 day');
\echo :LAST_ERROR_SQLSTATE
CREATE ROLE retention_clerk NOLOGIN;
GRANT USAGE ON SCHEMA retention TO retention_clerk;
GRANT SELECT, DELETE ON account, login, note TO retention_clerk;
SET ROLE retention_clerk;
SELECT softdelete.set_retention('note', interval '1 day');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT relid, retention FROM softdelete.managed_tables
WHERE relid IN ('account'::regclass, 'login'::regclass, 'note'::regclass) ORDER BY relid::text;

------------------------------------------------------------------------------------------------
-- Nine deletions, each account deletion with the account's two logins. Accounts 1 to 5 were
-- deleted 50, 45, 40, 35 and 33 days ago, so they have expired. Accounts 6 (32 days) and 7
-- (31 days) have expired too, but a hold covers the deletion of account 6 and one login of
-- account 7. Account 8 is deleted now, within the window. Note 1 was deleted 100 days ago, in a
-- table without retention.
SET softdelete.reason = 'account closed';
DELETE FROM account WHERE id = 1;
DELETE FROM account WHERE id = 2;
DELETE FROM account WHERE id = 3;
DELETE FROM account WHERE id = 4;
DELETE FROM account WHERE id = 5;
DELETE FROM account WHERE id = 6;
DELETE FROM account WHERE id = 7;
DELETE FROM account WHERE id = 8;
DELETE FROM note WHERE id = 1;
RESET softdelete.reason;
SELECT (SELECT deletion_id FROM account WHERE id = 6) AS held_deletion,
       (SELECT deletion_id FROM account WHERE id = 8) AS recent_deletion \gset
SELECT age_deletion(:deletion_seq_start + 1, interval '50 days'),
       age_deletion(:deletion_seq_start + 2, interval '45 days'),
       age_deletion(:deletion_seq_start + 3, interval '40 days'),
       age_deletion(:deletion_seq_start + 4, interval '35 days'),
       age_deletion(:deletion_seq_start + 5, interval '33 days'),
       age_deletion(:deletion_seq_start + 6, interval '32 days'),
       age_deletion(:deletion_seq_start + 7, interval '31 days'),
       age_deletion(:deletion_seq_start + 9, interval '100 days');
SELECT softdelete.hold_deletion(:held_deletion, 'dispute over account 6') AS deletion_hold \gset
SELECT softdelete.hold('login', 72, 'fraud investigation') AS row_hold \gset

-- The recycle bin lists every deleted row with its deletion, who deleted it and why, the
-- foreign key a cascade followed, when retention purges it (NULL for note, which has no
-- window) and whether a hold keeps it.
SELECT * FROM bin ORDER BY deletion, table_name, key;
-- The preview lists the expired deletions, oldest first, with the held ones that
-- purge_expired() skips. The recent deletion and the note are not listed.
SELECT * FROM expired;
SELECT * FROM row_states WHERE deleted ORDER BY table_name, id;

-- Batches of two deletions: the five expired deletions without a hold go in three batches,
-- oldest first, each committed before the next starts. The NOTICE counts rows and batches.
CALL softdelete.purge_expired(2);
SELECT * FROM row_states WHERE deleted ORDER BY table_name, id;
SELECT count(*) AS active_rows FROM row_states WHERE NOT deleted;
SELECT * FROM expired;
-- Each purged row has a purge event of its deletion, and nothing else of the row is kept.
SELECT deletion_id - :deletion_seq_start AS deletion, count(*) AS purge_events,
       count(*) FILTER (WHERE detail IS NULL AND actor = 'postgres') AS tombstones
FROM softdelete.events
WHERE operation = 'purge' AND table_name LIKE 'retention.%'
GROUP BY deletion_id ORDER BY deletion_id;
SELECT deletion_id - :deletion_seq_start AS deletion, state FROM softdelete.deletions
WHERE deletion_id > :deletion_seq_start AND root_table LIKE 'retention.%' ORDER BY deletion_id;

-- Releasing the deletion's hold lets the next run purge it. The deletion with a held row
-- still waits.
SELECT softdelete.release_hold(:deletion_hold);
SELECT * FROM expired;
CALL softdelete.purge_expired();
SELECT * FROM row_states WHERE deleted ORDER BY table_name, id;
SELECT softdelete.release_hold(:row_hold);
CALL softdelete.purge_expired();
SELECT * FROM row_states WHERE deleted ORDER BY table_name, id;
-- Nothing is left to purge: the run reports 0 rows in 0 batches.
CALL softdelete.purge_expired();
SELECT * FROM expired;
SELECT * FROM bin ORDER BY deletion, table_name, key;

------------------------------------------------------------------------------------------------
-- A deletion of which one row was purged by hand expires like any other: its remaining rows
-- are purged once the window has passed.
DELETE FROM account WHERE id IN (9, 10);
SELECT deletion_id AS partly_purged FROM account WHERE id = 9 \gset
SELECT softdelete.purge('account', 9);
SELECT age_deletion(:partly_purged, interval '40 days');
SELECT table_name, key, purge_after_deletion, on_hold FROM bin
WHERE deletion = :partly_purged - :deletion_seq_start ORDER BY table_name, key;
SELECT deletion, root_table, overdue, on_hold FROM expired;
CALL softdelete.purge_expired();
SELECT * FROM row_states WHERE deleted ORDER BY table_name, id;

------------------------------------------------------------------------------------------------
-- purge_expired() purges with the caller's privileges: a role without softdelete_purger gets
-- 42501 and nothing is purged.
DELETE FROM account WHERE id = 11;
SELECT deletion_id AS clerk_deletion FROM account WHERE id = 11 \gset
SELECT age_deletion(:clerk_deletion, interval '31 days');
SET ROLE retention_clerk;
CALL softdelete.purge_expired();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM row_states WHERE table_name = 'account' AND id = 11;
-- It commits after each batch, so it cannot run inside a transaction block (2D000).
BEGIN;
CALL softdelete.purge_expired();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM row_states WHERE table_name = 'account' AND id = 11;
-- The batch size must be positive (22023).
CALL softdelete.purge_expired(0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM row_states WHERE table_name = 'account' AND id = 11;

-- A deletion expires by the window of its root table, the table its DELETE named. Without a
-- window on login, the logins of account 11 are still purged with the account, so the recycle
-- bin shows them with the account's window.
SELECT softdelete.set_retention('login', NULL);
SELECT table_name, key, purge_after_deletion FROM bin
WHERE deletion = :clerk_deletion - :deletion_seq_start ORDER BY table_name, key;
SELECT deletion, root_table, deleted_rows, overdue, on_hold FROM expired;
CALL softdelete.purge_expired();
SELECT * FROM row_states WHERE deleted ORDER BY table_name, id;

-- Setting the window back to NULL keeps the rows: the expired deletion of account 12 is no
-- longer listed or purged.
DELETE FROM account WHERE id = 12;
SELECT deletion_id AS last_deletion FROM account WHERE id = 12 \gset
SELECT age_deletion(:last_deletion, interval '31 days');
SELECT deletion, root_table, overdue, on_hold FROM expired;
SELECT softdelete.set_retention('account', NULL);
SELECT * FROM expired;
CALL softdelete.purge_expired();
SELECT * FROM row_states WHERE deleted ORDER BY table_name, id;
SELECT table_name, key, purge_after_deletion FROM bin ORDER BY deletion, table_name, key;

SET client_min_messages = warning;
DROP SCHEMA retention CASCADE;
RESET client_min_messages;
DROP OWNED BY retention_clerk;
DROP ROLE retention_clerk;
