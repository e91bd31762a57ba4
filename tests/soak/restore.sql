-- Restores the deletion of a random soft-deleted row, as a superuser. Another client may
-- restore or purge the row first (55000, P0002), or an active row may hold its code (23505):
-- those errors are expected and logged, every other error fails the run.
DO $$
DECLARE
    target bigint;
    restored bigint;
BEGIN
    SELECT id INTO target FROM soak_item WHERE deleted_at IS NOT NULL ORDER BY random() LIMIT 1;
    IF target IS NULL THEN
        RETURN;
    END IF;
    restored := softdelete.restore('soak_item', target);
    INSERT INTO soak_call (operation, target, rows) VALUES ('restore', target, restored);
EXCEPTION
    WHEN SQLSTATE '55000' OR SQLSTATE '23505' OR SQLSTATE 'P0002' THEN
        INSERT INTO soak_expected_error (operation, sqlstate) VALUES ('restore', SQLSTATE);
END
$$;
