-- Reads a code as the application role, which must see at most one row and no deleted row.
\set code random(1, 3000)
BEGIN;
SET LOCAL ROLE soak_app;
SELECT soak_assert_visible('code-' || :code);
COMMIT;
