-- Inserts a row as the application role. A code is free when no active row has it, even when
-- deleted rows have it.
\set code random(1, 3000)
BEGIN;
SET LOCAL ROLE soak_app;
INSERT INTO soak_item (id, code, payload)
VALUES (nextval('soak_item_id_seq'), 'code-' || :code, 'inserted')
ON CONFLICT (code) DO NOTHING;
COMMIT;
