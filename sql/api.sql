-- The public API: thin SQL wrappers over the Rust functions, the status view and the
-- event trigger that keeps policies and the catalog right. Loaded after the Rust functions.

CREATE FUNCTION softdelete.enable(tbl regclass) RETURNS void
LANGUAGE sql VOLATILE
AS $$ SELECT softdelete._enable(tbl::oid) $$;
COMMENT ON FUNCTION softdelete.enable(regclass) IS
    'Puts a table under soft-delete management: adds or adopts the marker columns, hides deleted rows, makes unique constraints hold among active rows';

CREATE FUNCTION softdelete.disable(tbl regclass, drop_columns boolean DEFAULT false) RETURNS void
LANGUAGE sql VOLATILE
AS $$ SELECT softdelete._disable(tbl::oid, drop_columns) $$;
COMMENT ON FUNCTION softdelete.disable(regclass, boolean) IS
    'Returns a managed table to plain behaviour; refuses while it holds soft-deleted rows';

CREATE FUNCTION softdelete.restore(tbl regclass, key anyelement) RETURNS bigint
LANGUAGE sql VOLATILE
AS $$ SELECT softdelete._restore_row(tbl::oid, pg_catalog.to_jsonb(key)) $$;
COMMENT ON FUNCTION softdelete.restore(regclass, anyelement) IS
    'Restores one soft-deleted row, found by primary key; returns the number of rows restored';

CREATE FUNCTION softdelete.purge(tbl regclass, key anyelement, include_active boolean DEFAULT false)
RETURNS bigint
LANGUAGE sql VOLATILE
AS $$ SELECT softdelete._purge_row(tbl::oid, pg_catalog.to_jsonb(key), include_active) $$;
COMMENT ON FUNCTION softdelete.purge(regclass, anyelement, boolean) IS
    'Removes one soft-deleted row for real, with its soft-deleted cascade; include_active => true deletes an active row first';

CREATE FUNCTION softdelete.purge_preview(tbl regclass, key anyelement, include_active boolean DEFAULT false)
RETURNS TABLE (table_name text, key jsonb)
LANGUAGE sql VOLATILE
AS $$ SELECT * FROM softdelete._purge_preview(tbl::oid, pg_catalog.to_jsonb(key), include_active) $$;
COMMENT ON FUNCTION softdelete.purge_preview(regclass, anyelement, boolean) IS
    'Lists every row purge() would remove for this key; changes nothing';

CREATE FUNCTION softdelete.set_personal_columns(tbl regclass, columns jsonb) RETURNS void
LANGUAGE sql VOLATILE
AS $$ SELECT softdelete._set_personal_columns(tbl::oid, columns) $$;
COMMENT ON FUNCTION softdelete.set_personal_columns(regclass, jsonb) IS
    'Declares the personal columns anonymize() overwrites: {"column": null or a template with {key}}';

CREATE FUNCTION softdelete.anonymize(tbl regclass, key anyelement) RETURNS bigint
LANGUAGE sql VOLATILE
AS $$ SELECT softdelete._anonymize(tbl::oid, pg_catalog.to_jsonb(key)) $$;
COMMENT ON FUNCTION softdelete.anonymize(regclass, anyelement) IS
    'Overwrites the personal columns of one row and keeps the row';

CREATE FUNCTION softdelete.set_retention(tbl regclass, keep interval) RETURNS void
LANGUAGE sql VOLATILE
AS $$ SELECT softdelete._set_retention(tbl::oid, keep) $$;
COMMENT ON FUNCTION softdelete.set_retention(regclass, interval) IS
    'Sets how long soft-deleted rows are kept before purge_expired() removes them; NULL keeps them';

-- Purges expired deletions in batches, committing after each batch, so that a large backlog
-- never becomes one huge transaction. Run it with CALL, outside a transaction block, for
-- example from pg_cron: SELECT cron.schedule('purge', '0 3 * * *', 'CALL softdelete.purge_expired()');
CREATE PROCEDURE softdelete.purge_expired(batch_size integer DEFAULT 100)
LANGUAGE plpgsql
AS $$
DECLARE
    seen bigint;
    removed bigint;
    total bigint := 0;
    batches integer := 0;
BEGIN
    IF batch_size IS NULL OR batch_size <= 0 THEN
        RAISE EXCEPTION 'invalid batch size %', coalesce(batch_size::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a positive number of deletions per batch.';
    END IF;
    -- Fail at once inside a transaction block, not only when a batch has something to commit.
    COMMIT;
    PERFORM softdelete._purge_expired_start();
    LOOP
        SELECT b.deletions_seen, b.rows_purged INTO seen, removed
        FROM softdelete._purge_expired_batch(batch_size) b;
        -- A batch that found expired deletions goes on even when it had to skip all of them,
        -- because skipped deletions are not selected again in this run.
        EXIT WHEN seen = 0;
        total := total + removed;
        batches := batches + 1;
        COMMIT;
    END LOOP;
    RAISE NOTICE 'purge_expired: removed % row(s) in % batch(es)', total, batches;
END
$$;

CREATE FUNCTION softdelete.hold(tbl regclass, key anyelement, reason text) RETURNS bigint
LANGUAGE sql VOLATILE
AS $$ SELECT softdelete._hold_row(tbl::oid, pg_catalog.to_jsonb(key), reason) $$;
COMMENT ON FUNCTION softdelete.hold(regclass, anyelement, text) IS
    'Places a legal hold on one row: no path can purge it until softdelete.release_hold()';

-- The audit trail, one row per event: the rows of event_log, and one row per key of every
-- batch in event_batches (see schema.sql).
CREATE VIEW softdelete.events AS
SELECT l.event_id, l.operation, l.table_name, l.key, l.deletion_id, l.occurred_at, l.recorded_at,
       l.actor, l.role_name, l.reason, l.via_constraint, l.detail, l.transaction_id,
       l.application_name, l.client_addr
FROM softdelete.event_log l
UNION ALL
SELECT b.event_id + k.n - 1, b.operation, b.table_name, k.key::jsonb, b.deletion_id, b.occurred_at,
       b.recorded_at, b.actor, b.role_name, b.reason, b.via_constraint, NULL::jsonb,
       b.transaction_id, b.application_name, b.client_addr
FROM softdelete.event_batches b
CROSS JOIN LATERAL pg_catalog.unnest(b.keys) WITH ORDINALITY AS k(key, n);
GRANT SELECT ON softdelete.events TO softdelete_viewer;
COMMENT ON VIEW softdelete.events IS
    'The audit trail: one row per deleted, restored, purged, unlinked or anonymized row, and per legal hold and truncate';

-- Every soft-deleted row that can be restored now, with who deleted it, when and why, and
-- when retention will purge it.
CREATE VIEW softdelete.recycle_bin AS
SELECT e.table_name,
       e.key,
       e.deletion_id,
       e.occurred_at AS deleted_at,
       e.actor AS deleted_by,
       e.reason,
       e.via_constraint,
       -- retention follows the table the DELETE named, as purge_expired() does
       e.occurred_at + m.retention AS purge_after,
       EXISTS (SELECT FROM softdelete.legal_holds h
                WHERE h.deletion_id = e.deletion_id
                   OR (h.table_name = e.table_name AND h.key = e.key)) AS on_hold
FROM softdelete.events e
-- the batches, not the view: the view would expand every key of the deletion for every row
LEFT JOIN LATERAL (SELECT r.table_name FROM softdelete.event_batches r
                    WHERE r.deletion_id = e.deletion_id AND r.operation = 'delete'
                      AND r.via_constraint IS NULL
                    ORDER BY r.event_id LIMIT 1) root ON true
LEFT JOIN softdelete.managed_tables m ON m.table_name = root.table_name
WHERE e.operation = 'delete'
  AND NOT EXISTS (SELECT FROM softdelete.events x
                   WHERE x.deletion_id = e.deletion_id AND x.table_name = e.table_name
                     AND x.key = e.key AND x.operation IN ('restore', 'purge'));
GRANT SELECT ON softdelete.recycle_bin TO softdelete_viewer;
COMMENT ON VIEW softdelete.recycle_bin IS
    'Soft-deleted rows that can be restored now, with who, when, why and when retention purges them';

CREATE FUNCTION softdelete.restore_preview(tbl regclass, key anyelement)
RETURNS TABLE (table_name text, key jsonb, problem text)
LANGUAGE sql STABLE
AS $$ SELECT * FROM softdelete._restore_preview(tbl::oid, pg_catalog.to_jsonb(key)) $$;
COMMENT ON FUNCTION softdelete.restore_preview(regclass, anyelement) IS
    'Lists the rows restore() would bring back for this key, with the conflict that would stop each; changes nothing';

CREATE FUNCTION softdelete.set_foreign_key_rule(child regclass, constraint_name name, on_delete text)
RETURNS void
LANGUAGE sql VOLATILE
AS $$ SELECT softdelete._set_foreign_key_rule(child::oid, constraint_name::text, on_delete) $$;
COMMENT ON FUNCTION softdelete.set_foreign_key_rule(regclass, name, text) IS
    'Overrides the ON DELETE rule a foreign key follows for soft deletes (cascade, restrict, no action, set null, set default; NULL resets)';

-- Every foreign key that references a managed table, with the rule soft deletes follow.
CREATE VIEW softdelete.foreign_key_rules AS
SELECT con.conrelid::regclass AS child_table,
       con.conname AS constraint_name,
       con.confrelid::regclass AS parent_table,
       CASE con.confdeltype WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null'
                            WHEN 'd' THEN 'set default' WHEN 'r' THEN 'restrict'
                            ELSE 'no action' END AS declared_on_delete,
       o.on_delete AS override_on_delete,
       coalesce(o.on_delete,
                CASE con.confdeltype WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null'
                                     WHEN 'd' THEN 'set default' WHEN 'r' THEN 'restrict'
                                     ELSE 'no action' END) AS effective_on_delete,
       EXISTS (SELECT FROM softdelete.managed_tables m WHERE m.relid = con.conrelid::regclass) AS child_managed
FROM pg_catalog.pg_constraint con
JOIN softdelete.managed_tables p ON p.relid = con.confrelid::regclass
LEFT JOIN softdelete.foreign_key_overrides o
       ON o.child_table = con.conrelid::regclass AND o.constraint_name = con.conname
WHERE con.contype = 'f' AND con.conparentid = 0;
GRANT SELECT ON softdelete.foreign_key_rules TO PUBLIC;

-- One row per deletion (one DELETE statement, cascades included), from the audit trail.
CREATE VIEW softdelete.deletions AS
SELECT d.deletion_id,
       d.deleted_at,
       d.actor,
       d.role_name,
       d.reason,
       d.root_table,
       d.rows_per_table,
       d.deleted_rows,
       d.restored_rows,
       d.purged_rows,
       CASE WHEN d.restored_rows + d.purged_rows = 0 THEN 'active'
            WHEN d.purged_rows >= d.deleted_rows THEN 'purged'
            WHEN d.restored_rows >= d.deleted_rows THEN 'restored'
            WHEN d.restored_rows + d.purged_rows >= d.deleted_rows THEN 'restored and purged'
            WHEN d.purged_rows = 0 THEN 'partly restored'
            ELSE 'partly purged' END AS state
FROM (
    -- counted from the batches, which hold the row events of deletes, restores and purges
    SELECT b.deletion_id,
           min(b.occurred_at) FILTER (WHERE b.operation = 'delete') AS deleted_at,
           (array_agg(b.actor ORDER BY b.event_id) FILTER (WHERE b.operation = 'delete'))[1] AS actor,
           (array_agg(b.role_name ORDER BY b.event_id) FILTER (WHERE b.operation = 'delete'))[1] AS role_name,
           (array_agg(b.reason ORDER BY b.event_id) FILTER (WHERE b.operation = 'delete'))[1] AS reason,
           (array_agg(b.table_name ORDER BY b.event_id)
                FILTER (WHERE b.operation = 'delete' AND b.via_constraint IS NULL))[1] AS root_table,
           (SELECT pg_catalog.jsonb_object_agg(t.table_name, t.rows)
              FROM (SELECT x.table_name, sum(pg_catalog.cardinality(x.keys)) AS rows
                    FROM softdelete.event_batches x
                    WHERE x.deletion_id = b.deletion_id AND x.operation = 'delete'
                    GROUP BY x.table_name) t) AS rows_per_table,
           coalesce(sum(pg_catalog.cardinality(b.keys)) FILTER (WHERE b.operation = 'delete'), 0) AS deleted_rows,
           coalesce(sum(pg_catalog.cardinality(b.keys)) FILTER (WHERE b.operation = 'restore'), 0) AS restored_rows,
           coalesce(sum(pg_catalog.cardinality(b.keys)) FILTER (WHERE b.operation = 'purge'), 0) AS purged_rows
    FROM softdelete.event_batches b
    WHERE b.deletion_id IS NOT NULL
    GROUP BY b.deletion_id
    HAVING count(*) FILTER (WHERE b.operation = 'delete') > 0
) d;
GRANT SELECT ON softdelete.deletions TO softdelete_viewer;
COMMENT ON VIEW softdelete.deletions IS
    'Deletions (one per DELETE statement, cascades included) with their actor, reason, rows per table and state';

CREATE VIEW softdelete.tables AS
SELECT m.relid AS table_name,
       c.active_rows,
       c.deleted_rows,
       -- false for superusers and BYPASSRLS roles, which see deleted rows in every query
       NOT (r.rolsuper OR r.rolbypassrls) AS hidden_from_current_role,
       m.enabled_at,
       m.enabled_by
FROM softdelete.managed_tables m
CROSS JOIN LATERAL softdelete._row_counts(m.relid::oid) c
JOIN pg_catalog.pg_roles r ON r.rolname = CURRENT_USER
-- Counts are shown only for tables the current role may read.
WHERE pg_catalog.has_table_privilege(m.relid, 'SELECT');
GRANT SELECT ON softdelete.tables TO PUBLIC;
COMMENT ON VIEW softdelete.tables IS
    'Managed tables with their active and soft-deleted row counts';

-- Keeps the permissive policy softdelete_allow on a managed table exactly when the table has
-- no permissive policy of its own. Row-level security denies every row when no permissive
-- policy applies, and a permissive "allow all" beside the owner's policies would OR them away.
-- It is not SECURITY DEFINER: enable() calls it as the table's owner, and the extension's
-- event triggers call it with their own (the extension owner's) privileges.
CREATE FUNCTION softdelete._sync_allow_policy(tbl regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    has_own boolean;
    has_allow boolean;
BEGIN
    SELECT count(*) FILTER (WHERE polpermissive AND polname <> 'softdelete_allow') > 0,
           count(*) FILTER (WHERE polname = 'softdelete_allow') > 0
      INTO has_own, has_allow
      FROM pg_policy WHERE polrelid = tbl;
    IF has_own AND has_allow THEN
        EXECUTE format('DROP POLICY softdelete_allow ON %s', tbl);
    ELSIF NOT has_own AND NOT has_allow THEN
        EXECUTE format('CREATE POLICY softdelete_allow ON %s AS PERMISSIVE FOR ALL USING (true) WITH CHECK (true)', tbl);
    END IF;
END
$$;

-- After DDL: keeps softdelete_allow in step with the owner's policies, manages partitions
-- created or attached after enable(), and rejects changes that would break a managed table
-- (dropping, renaming or retyping a marker column, turning row-level security off).
CREATE FUNCTION softdelete._on_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass;
    command record;
    managed softdelete.managed_tables;
    broken text;
BEGIN
    FOR tbl IN
        SELECT DISTINCT m.relid
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_policy p ON p.oid = c.objid AND c.classid = 'pg_policy'::regclass
        JOIN softdelete.managed_tables m ON m.relid = p.polrelid
        WHERE c.command_tag IN ('CREATE POLICY', 'ALTER POLICY')
    LOOP
        PERFORM softdelete._sync_allow_policy(tbl);
    END LOOP;

    FOR command IN
        SELECT DISTINCT coalesce(i.indrelid, c.objid) AS objid
        FROM pg_event_trigger_ddl_commands() c
        LEFT JOIN pg_index i ON i.indexrelid = c.objid
        WHERE c.command_tag IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE INDEX')
          AND c.classid = 'pg_class'::regclass
    LOOP
        -- A table that gained a foreign key to a managed table gets the reference checks.
        PERFORM softdelete._refresh_reference_checks(command.objid);

        -- A new or attached partition of a managed table. ATTACH PARTITION reports the
        -- partitioned table, so every partition of a managed table is checked. The call does
        -- nothing for a partition that is managed already.
        IF EXISTS (SELECT FROM pg_partition_ancestors(command.objid) a
                   JOIN softdelete.managed_tables m ON m.relid = a.relid
                   WHERE a.relid <> command.objid) THEN
            PERFORM softdelete._manage_partition(command.objid);
            IF NOT EXISTS (SELECT FROM pg_class c
                           WHERE c.oid = command.objid AND c.relrowsecurity AND c.relforcerowsecurity) THEN
                EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', command.objid::regclass);
                RAISE WARNING 'row-level security stays enabled and forced on partition %, whose partitioned table is managed by pg_softdelete', command.objid::regclass;
            END IF;
        END IF;
        IF EXISTS (SELECT FROM softdelete.managed_tables m WHERE m.relid = command.objid::regclass) THEN
            PERFORM softdelete._manage_partition(p.relid)
            FROM pg_partition_tree(command.objid) p WHERE p.relid <> command.objid;
        END IF;

        SELECT * INTO managed FROM softdelete.managed_tables m WHERE m.relid = command.objid::regclass;
        CONTINUE WHEN NOT FOUND;
        -- pg_restore recreates a managed table step by step: constraints come before its
        -- triggers, policies and row-level security. The checks below therefore apply only
        -- once the guard trigger, which pg_dump emits among the last objects, is back.
        CONTINUE WHEN NOT EXISTS (SELECT FROM pg_trigger t
                                  WHERE t.tgrelid = command.objid AND t.tgname = 'softdelete_guard');


        SELECT string_agg(format('%I', x.name), ', ') INTO broken
        FROM (VALUES (managed.deleted_at_column, 'timestamptz'::regtype),
                     (managed.deleted_by_column, 'text'::regtype),
                     (managed.deletion_id_column, 'int8'::regtype)) AS x(name, type)
        WHERE NOT EXISTS (SELECT FROM pg_attribute a
                          WHERE a.attrelid = command.objid AND a.attname = x.name
                            AND a.atttypid = x.type AND NOT a.attisdropped);
        IF broken IS NOT NULL THEN
            RAISE EXCEPTION 'cannot change marker column(s) % of table %, which is managed by pg_softdelete',
                            broken, managed.relid
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Run softdelete.disable() first.';
        END IF;
        -- A unique constraint or index added after enable() would hold among deleted rows too.
        -- Those a foreign key references and deferrable ones stay allowed, as enable() keeps them.
        SELECT string_agg(format('%I', ic.relname), ', ') INTO broken
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
        WHERE i.indrelid = command.objid AND i.indisunique AND NOT i.indisprimary
          AND i.indpred IS NULL
          AND NOT coalesce(con.condeferrable, false)
          AND coalesce(con.contype, 'u') <> 'x'
          AND NOT EXISTS (SELECT FROM pg_constraint fk WHERE fk.contype = 'f' AND fk.conindid = i.indexrelid);
        IF broken IS NOT NULL THEN
            RAISE EXCEPTION 'cannot add unique index % to table %, which is managed by pg_softdelete', broken, managed.relid
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'A unique index without a predicate would make deleted rows block new ones.',
                      HINT = format('Create it as a unique index over active rows: CREATE UNIQUE INDEX ... WHERE %I IS NULL.',
                                    managed.deleted_at_column);
        END IF;
        -- Row-level security hides the deleted rows, so it stays on: turning it off is undone
        -- with a WARNING (pg_restore also passes through this state, before it restores the
        -- table's row-level security settings).
        IF NOT EXISTS (SELECT FROM pg_class c
                       WHERE c.oid = command.objid AND c.relrowsecurity AND c.relforcerowsecurity) THEN
            EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', managed.relid);
            IF current_setting('application_name') <> 'pg_restore' THEN
                RAISE WARNING 'row-level security stays enabled and forced on table %, which is managed by pg_softdelete', managed.relid
                    USING DETAIL = 'Row-level security hides the soft-deleted rows.',
                          HINT = 'Run softdelete.disable() to return the table to plain behaviour.';
            END IF;
        END IF;
    END LOOP;

    -- Keep the audit trail's names current after a rename of the table or of its schema.
    FOR managed IN
        SELECT m.* FROM softdelete.managed_tables m
        JOIN pg_class c ON c.oid = m.relid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE format('%I.%I', n.nspname, c.relname) <> m.table_name
    LOOP
        SELECT format('%I.%I', n.nspname, c.relname) INTO broken
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = managed.relid;
        UPDATE softdelete.event_log SET table_name = broken WHERE table_name = managed.table_name;
        UPDATE softdelete.event_batches SET table_name = broken WHERE table_name = managed.table_name;
        UPDATE softdelete.legal_holds SET table_name = broken WHERE table_name = managed.table_name;
        UPDATE softdelete.managed_tables SET table_name = broken WHERE relid = managed.relid;
    END LOOP;
END
$$;

CREATE FUNCTION softdelete._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped record;
BEGIN
    FOR dropped IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF dropped.object_type = 'table' THEN
            DELETE FROM softdelete.managed_tables WHERE relid::oid = dropped.objid;
            DELETE FROM softdelete.foreign_key_overrides WHERE child_table::oid = dropped.objid;
        ELSIF dropped.object_type = 'policy' THEN
            -- A dropped policy of a managed table may leave it without a permissive policy.
            PERFORM softdelete._sync_allow_policy(m.relid)
               FROM softdelete.managed_tables m
              WHERE dropped.address_names[1] = (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = m.relid)
                AND dropped.address_names[2] = (SELECT c.relname FROM pg_class c WHERE c.oid = m.relid);
        END IF;
    END LOOP;
END
$$;

CREATE EVENT TRIGGER softdelete_ddl_end ON ddl_command_end
    WHEN TAG IN ('CREATE POLICY', 'ALTER POLICY', 'CREATE TABLE', 'ALTER TABLE', 'CREATE INDEX',
                 'ALTER SCHEMA')
    EXECUTE FUNCTION softdelete._on_ddl_end();
CREATE EVENT TRIGGER softdelete_sql_drop ON sql_drop
    EXECUTE FUNCTION softdelete._on_sql_drop();
