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

CREATE FUNCTION softdelete.purge(tbl regclass, key anyelement) RETURNS bigint
LANGUAGE sql VOLATILE
AS $$ SELECT softdelete._purge_row(tbl::oid, pg_catalog.to_jsonb(key)) $$;
COMMENT ON FUNCTION softdelete.purge(regclass, anyelement) IS
    'Removes one soft-deleted row for real, found by primary key; returns the number of rows removed';

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
    SELECT e.deletion_id,
           min(e.occurred_at) FILTER (WHERE e.operation = 'delete') AS deleted_at,
           (array_agg(e.actor ORDER BY e.event_id) FILTER (WHERE e.operation = 'delete'))[1] AS actor,
           (array_agg(e.role_name ORDER BY e.event_id) FILTER (WHERE e.operation = 'delete'))[1] AS role_name,
           (array_agg(e.reason ORDER BY e.event_id) FILTER (WHERE e.operation = 'delete'))[1] AS reason,
           (array_agg(e.table_name ORDER BY e.event_id)
                FILTER (WHERE e.operation = 'delete' AND e.via_constraint IS NULL))[1] AS root_table,
           (SELECT pg_catalog.jsonb_object_agg(t.table_name, t.rows)
              FROM (SELECT x.table_name, count(*) AS rows FROM softdelete.events x
                     WHERE x.deletion_id = e.deletion_id AND x.operation = 'delete'
                     GROUP BY x.table_name) t) AS rows_per_table,
           count(*) FILTER (WHERE e.operation = 'delete') AS deleted_rows,
           count(*) FILTER (WHERE e.operation = 'restore') AS restored_rows,
           count(*) FILTER (WHERE e.operation = 'purge') AS purged_rows
    FROM softdelete.events e
    WHERE e.deletion_id IS NOT NULL
    GROUP BY e.deletion_id
    HAVING count(*) FILTER (WHERE e.operation = 'delete') > 0
) d;
GRANT SELECT ON softdelete.deletions TO softdelete_viewer;
COMMENT ON VIEW softdelete.deletions IS
    'Deletions (one per DELETE statement, cascades included) with their actor, reason, rows per table and state';

-- Row counts of a managed table, read with the privileges of the extension owner so that
-- they are true counts whatever the caller may see.
CREATE FUNCTION softdelete._row_counts(tbl regclass, OUT active_rows bigint, OUT deleted_rows bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    deleted_at name;
BEGIN
    SELECT m.deleted_at_column INTO deleted_at FROM softdelete.managed_tables m WHERE m.relid = tbl;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    EXECUTE format('SELECT count(*) FILTER (WHERE %1$I IS NULL), count(*) FILTER (WHERE %1$I IS NOT NULL) FROM %2$s',
                   deleted_at, tbl)
        INTO active_rows, deleted_rows;
END
$$;

CREATE VIEW softdelete.tables AS
SELECT m.relid AS table_name,
       c.active_rows,
       c.deleted_rows,
       -- false for superusers and BYPASSRLS roles, which see deleted rows in every query
       NOT (r.rolsuper OR r.rolbypassrls) AS hidden_from_current_role,
       m.enabled_at,
       m.enabled_by
FROM softdelete.managed_tables m
CROSS JOIN LATERAL softdelete._row_counts(m.relid) c
JOIN pg_catalog.pg_roles r ON r.rolname = CURRENT_USER;
GRANT SELECT ON softdelete.tables TO PUBLIC;
COMMENT ON VIEW softdelete.tables IS
    'Managed tables with their active and soft-deleted row counts';

-- Keeps the permissive policy softdelete_allow on a managed table exactly when the table has
-- no permissive policy of its own. Row-level security denies every row when no permissive
-- policy applies, and a permissive "allow all" beside the owner's policies would OR them away.
-- It runs with the caller's privileges: only the table's owner can create or drop its policies.
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

CREATE FUNCTION softdelete._on_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass;
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
    WHEN TAG IN ('CREATE POLICY', 'ALTER POLICY')
    EXECUTE FUNCTION softdelete._on_ddl_end();
CREATE EVENT TRIGGER softdelete_sql_drop ON sql_drop
    EXECUTE FUNCTION softdelete._on_sql_drop();
