-- The audit trail in softdelete.events: one event per deleted, restored or purged row, written in the same transaction, with actor, reason and session details.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA audit;
SET search_path = audit, public;
SELECT setval('softdelete.deletion_seq', 9000) AS deletion_seq_start \gset

CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL);
SET softdelete.notices = off;
SELECT softdelete.enable('orders');
RESET softdelete.notices;
INSERT INTO orders SELECT g, 'customer ' || (g % 7) FROM generate_series(1, 1000) g;
GRANT USAGE ON SCHEMA audit TO app_rw;
GRANT SELECT, UPDATE (customer), DELETE ON orders TO app_rw;

-- Returns the events of the orders table.
CREATE FUNCTION order_events() RETURNS SETOF softdelete.events LANGUAGE sql STABLE AS $$
    SELECT * FROM softdelete.events WHERE table_name = 'audit.orders'
$$;

-- One statement deletes 500 rows: they share one deleted_at and one deletion id.
SET ROLE app_rw;
DELETE FROM orders WHERE id <= 500;
RESET ROLE;
SELECT count(*) AS deleted_rows, count(DISTINCT deleted_at) AS deleted_at_values,
       count(DISTINCT deletion_id) AS deletion_ids, min(deletion_id) - :deletion_seq_start AS deletion_number,
       min(deleted_by) AS deleted_by_min, max(deleted_by) AS deleted_by_max
FROM orders WHERE deleted_at IS NOT NULL;
SELECT count(*) AS active_rows, min(id) AS first_active FROM orders WHERE deleted_at IS NULL;

-- It wrote 500 'delete' events, one per row, matching the rows' keys and deletion id, with the
-- time of the deletion, the role, the session and the transaction.
SELECT operation, count(*) AS events, count(DISTINCT key) AS keys, count(DISTINCT transaction_id) AS transactions,
       min(actor) AS actor, min(role_name) AS role_name, count(reason) AS reasons
FROM order_events() GROUP BY operation ORDER BY operation;
SELECT count(*) AS matching_events
FROM order_events() e
JOIN orders o ON e.key = jsonb_build_object('id', o.id)
WHERE e.operation = 'delete' AND e.deletion_id = o.deletion_id AND e.occurred_at = o.deleted_at;
SELECT bool_and(application_name = current_setting('application_name')) AS application_name_recorded,
       bool_and(client_addr IS NOT DISTINCT FROM inet_client_addr()) AS client_addr_recorded
FROM order_events();
-- The events are written by the deleting transaction itself.
BEGIN;
SET LOCAL ROLE app_rw;
DELETE FROM orders WHERE id = 501;
RESET ROLE;
SELECT transaction_id = pg_current_xact_id() AS same_transaction, occurred_at = now() AS same_time
FROM order_events() WHERE key = '{"id": 501}';
COMMIT;

-- A single-row delete writes one event, with the actor the application names in
-- softdelete.actor and the reason in softdelete.reason. The actor is also stored in deleted_by.
BEGIN;
SET LOCAL softdelete.actor = 'user:42';
SET LOCAL softdelete.reason = 'customer asked to close the order';
SET LOCAL application_name = 'billing-worker';
SET LOCAL ROLE app_rw;
DELETE FROM orders WHERE id = 502;
COMMIT;
SELECT id, deleted_by FROM orders WHERE id = 502;
SELECT operation, key, actor, role_name, reason, application_name FROM order_events() WHERE key = '{"id": 502}';
-- SET LOCAL ended with the transaction: the next delete records the role again.
SET ROLE app_rw;
DELETE FROM orders WHERE id = 503;
-- An empty softdelete.actor also means the role.
SET softdelete.actor = '';
DELETE FROM orders WHERE id = 504;
RESET softdelete.actor;
RESET ROLE;
SELECT key, actor, role_name, reason, application_name = current_setting('application_name') AS default_application_name
FROM order_events() WHERE key IN ('{"id": 503}', '{"id": 504}') ORDER BY event_id;
SELECT id, deleted_by FROM orders WHERE id IN (503, 504) ORDER BY id;

-- A rolled-back delete leaves the row untouched and writes no event.
BEGIN;
DELETE FROM orders WHERE id = 600;
ROLLBACK;
SELECT id, deleted_at IS NOT NULL AS deleted FROM orders WHERE id = 600;
SELECT count(*) AS events FROM order_events() WHERE key = '{"id": 600}';
-- So does a delete rolled back to a savepoint, while a later delete in the same transaction is
-- recorded.
BEGIN;
SAVEPOINT before_delete;
DELETE FROM orders WHERE id = 601;
ROLLBACK TO SAVEPOINT before_delete;
DELETE FROM orders WHERE id = 602;
COMMIT;
SELECT id, deleted_at IS NOT NULL AS deleted FROM orders WHERE id IN (601, 602) ORDER BY id;
SELECT key, count(*) AS events FROM order_events() WHERE key IN ('{"id": 601}', '{"id": 602}') GROUP BY key ORDER BY key;

-- An ordinary UPDATE writes no event, also when it touches many rows.
SELECT count(*) AS events_before FROM order_events() \gset
SET ROLE app_rw;
UPDATE orders SET customer = upper(customer) WHERE id > 900;
RESET ROLE;
SELECT count(*) - :events_before AS new_events FROM order_events();

-- restore() and purge() write events with the actor too. The restore event names the deletion
-- it undid.
SET softdelete.actor = 'admin:7';
SET softdelete.reason = 'cleanup';
SELECT softdelete.restore('orders', 502);
SELECT softdelete.purge('orders', 503);
RESET softdelete.actor;
RESET softdelete.reason;
SELECT operation, key, deletion_id - :deletion_seq_start AS deletion_number, actor, role_name, reason
FROM order_events() WHERE key IN ('{"id": 502}', '{"id": 503}') ORDER BY event_id;

-- One deletion number per DELETE statement. The rolled-back deletes leave gaps, because a
-- sequence value is not given back on rollback.
SELECT e.deletion_id - :deletion_seq_start AS deletion_number, count(*) AS delete_events
FROM order_events() e WHERE e.operation = 'delete'
GROUP BY e.deletion_id ORDER BY e.deletion_id;

-- Ordinary roles cannot tamper with the audit trail: 42501 for every write.
SELECT count(*) AS events_before FROM softdelete.events \gset
SET ROLE app_rw;
INSERT INTO softdelete.event_log (operation, table_name, key, actor, role_name)
VALUES ('restore', 'audit.orders', '{"id": 1}', 'app_rw', 'app_rw');
\echo :LAST_ERROR_SQLSTATE
UPDATE softdelete.event_batches SET actor = 'someone else' WHERE table_name = 'audit.orders';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM softdelete.event_batches WHERE table_name = 'audit.orders';
\echo :LAST_ERROR_SQLSTATE
TRUNCATE softdelete.event_log;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) - :events_before AS changed_events,
       count(*) FILTER (WHERE actor = 'someone else') AS forged
FROM softdelete.events;

DROP SCHEMA audit CASCADE;
