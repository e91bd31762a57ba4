-- Soft-deletes up to three neighbouring rows as the application role.
SELECT last_value AS max_id FROM soak_item_id_seq \gset
\set first random(1, :max_id)
BEGIN;
SET LOCAL ROLE soak_app;
DELETE FROM soak_item WHERE id BETWEEN :first AND :first + 2;
COMMIT;
