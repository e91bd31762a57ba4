-- Purges a random soft-deleted row, as a superuser. Another client may restore or purge the
-- row first (55000, P0002): those errors are expected and logged, every other error fails the
-- run.
DO $$
DECLARE
    target bigint;
    purged bigint;
BEGIN
    SELECT id INTO target FROM soak_item WHERE deleted_at IS NOT NULL ORDER BY random() LIMIT 1;
    IF target IS NULL THEN
        RETURN;
    END IF;
    purged := softdelete.purge('soak_item', target);
    INSERT INTO soak_call (operation, target, rows) VALUES ('purge', target, purged);
EXCEPTION
    WHEN SQLSTATE '55000' OR SQLSTATE 'P0002' THEN
        INSERT INTO soak_expected_error (operation, sqlstate) VALUES ('purge', SQLSTATE);
END
$$;
