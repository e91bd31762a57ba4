-- The benchmark database: extensions, roles and the functions that build the tables.
-- Run by a superuser in a new database of a new cluster (scripts/bench.sh).

CREATE EXTENSION pg_softdelete;
CREATE EXTENSION pg_prewarm;

-- The ordinary role that owns the tables and runs the workloads. Managed tables force
-- row-level security, so their owner is subject to it, as an application role would be.
CREATE ROLE bench LOGIN;
-- A member of softdelete_viewer, for the plan check of the read workload.
CREATE ROLE bench_viewer LOGIN IN ROLE softdelete_viewer;

CREATE SCHEMA bench_util;
GRANT USAGE ON SCHEMA bench_util TO PUBLIC;

-- Loads a table with its indexes and TOAST table into shared buffers.
CREATE FUNCTION bench_util.prewarm(tbl regclass) RETURNS bigint
LANGUAGE sql AS $$
    SELECT sum(pg_prewarm(c.oid))::bigint
    FROM pg_class c
    WHERE c.oid = tbl
       OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = tbl)
       OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = tbl)
       OR c.oid IN (SELECT indexrelid FROM pg_index
                    WHERE indrelid = (SELECT reltoastrelid FROM pg_class WHERE oid = tbl))
$$;

-- Creates table `tbl` with ids 1..row_count: a bigint primary key, a unique text column, two
-- payload columns and a creation time. `kind` decides how a DELETE behaves:
--   managed  The table is enabled with softdelete.enable(). That adds the marker columns and
--            turns the unique constraint into a unique index over active rows.
--   plain    The table has the same columns, marker columns included, and the same indexes,
--            among them the partial unique index, without the extension.
--   trigger  plain, with the usual BEFORE DELETE trigger that turns a delete into an UPDATE.
--   rule     plain, with an ON DELETE DO INSTEAD UPDATE rule.
-- Indexes are built after the rows are loaded on every kind, so that they are equally compact.
-- The superuser that runs this function builds and enables the table, then hands it to the role
-- bench.
CREATE FUNCTION bench_util.create_items(tbl text, row_count bigint, kind text) RETURNS void
LANGUAGE plpgsql AS $function$
BEGIN
    IF kind NOT IN ('managed', 'plain', 'trigger', 'rule') THEN
        RAISE EXCEPTION 'invalid table kind: %', kind USING HINT = 'Use managed, plain, trigger or rule.';
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', tbl);
    EXECUTE format('CREATE TABLE %I (id bigint NOT NULL, code text NOT NULL, qty integer NOT NULL, '
                   'note text, created_at timestamptz NOT NULL DEFAULT now()%s)',
                   tbl,
                   CASE WHEN kind = 'managed' THEN ''
                        ELSE ', deleted_at timestamptz, deleted_by text, deletion_id bigint' END);
    EXECUTE format('INSERT INTO %I (id, code, qty, note) '
                   'SELECT g, ''item-'' || g, (g %% 1000)::integer, md5(g::text) '
                   'FROM generate_series(1, %s) g', tbl, row_count);
    EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (id)', tbl);
    IF kind = 'managed' THEN
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I UNIQUE (code)', tbl, tbl || '_code_key');
        PERFORM softdelete.enable(tbl::regclass);
    ELSE
        EXECUTE format('CREATE UNIQUE INDEX %I ON %I (code) WHERE deleted_at IS NULL', tbl || '_code_key', tbl);
    END IF;
    IF kind = 'trigger' THEN
        EXECUTE format($create$
            CREATE OR REPLACE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
                UPDATE %I SET deleted_at = now() WHERE id = OLD.id;
                RETURN NULL;
            END
            $body$
        $create$, tbl || '_soft_delete', tbl);
        EXECUTE format('CREATE TRIGGER soft_delete BEFORE DELETE ON %I FOR EACH ROW EXECUTE FUNCTION %I()',
                       tbl, tbl || '_soft_delete');
    ELSIF kind = 'rule' THEN
        EXECUTE format('CREATE RULE soft_delete AS ON DELETE TO %I DO INSTEAD '
                       'UPDATE %I SET deleted_at = now() WHERE id = OLD.id AND deleted_at IS NULL',
                       tbl, tbl);
    END IF;
    EXECUTE format('ALTER TABLE %I OWNER TO bench', tbl);
END
$function$;

-- Creates the tables <prefix>_parent, <prefix>_child and <prefix>_grandchild with
-- parent_count parents, 10 children per parent and 10 grandchildren per child, linked by
-- foreign keys ON DELETE CASCADE with an index on each referencing column. Child i belongs to
-- parent (i - 1) / 10 + 1, grandchild j to child (j - 1) / 10 + 1. When `managed`, the three
-- tables are enabled (children first); otherwise they get the marker columns as plain columns.
CREATE FUNCTION bench_util.create_family(prefix text, parent_count bigint, managed boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    markers text := CASE WHEN managed THEN ''
                         ELSE ', deleted_at timestamptz, deleted_by text, deletion_id bigint' END;
    parent text := prefix || '_parent';
    child text := prefix || '_child';
    grandchild text := prefix || '_grandchild';
BEGIN
    EXECUTE format('DROP TABLE IF EXISTS %I, %I, %I CASCADE', grandchild, child, parent);
    EXECUTE format('CREATE TABLE %I (id bigint PRIMARY KEY, name text NOT NULL, note text%s)', parent, markers);
    EXECUTE format('CREATE TABLE %I (id bigint PRIMARY KEY, parent_id bigint NOT NULL '
                   'REFERENCES %I ON DELETE CASCADE, note text%s)', child, parent, markers);
    EXECUTE format('CREATE TABLE %I (id bigint PRIMARY KEY, child_id bigint NOT NULL '
                   'REFERENCES %I ON DELETE CASCADE, note text%s)', grandchild, child, markers);
    EXECUTE format('INSERT INTO %I (id, name, note) SELECT g, ''parent-'' || g, md5(g::text) '
                   'FROM generate_series(1, %s) g', parent, parent_count);
    EXECUTE format('INSERT INTO %I (id, parent_id, note) SELECT g, (g - 1) / 10 + 1, md5(g::text) '
                   'FROM generate_series(1, %s) g', child, parent_count * 10);
    EXECUTE format('INSERT INTO %I (id, child_id, note) SELECT g, (g - 1) / 10 + 1, md5(g::text) '
                   'FROM generate_series(1, %s) g', grandchild, parent_count * 100);
    EXECUTE format('CREATE INDEX ON %I (parent_id)', child);
    EXECUTE format('CREATE INDEX ON %I (child_id)', grandchild);
    IF managed THEN
        -- Whichever table is enabled first, enable() warns that a table of the chain is not
        -- managed yet; the chain is complete once all three are.
        PERFORM set_config('client_min_messages', 'error', true);
        PERFORM softdelete.enable(grandchild::regclass);
        PERFORM softdelete.enable(child::regclass);
        PERFORM softdelete.enable(parent::regclass);
    END IF;
    EXECUTE format('ALTER TABLE %I OWNER TO bench', parent);
    EXECUTE format('ALTER TABLE %I OWNER TO bench', child);
    EXECUTE format('ALTER TABLE %I OWNER TO bench', grandchild);
END
$$;

-- Creates table `tbl` with ids 1..row_count, a primary key and one unique constraint, for
-- timing enable() on a large table.
CREATE FUNCTION bench_util.create_large(tbl text, row_count bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', tbl);
    EXECUTE format('CREATE TABLE %I (id bigint NOT NULL, code text NOT NULL, qty integer NOT NULL, note text)', tbl);
    EXECUTE format('INSERT INTO %I SELECT g, ''item-'' || g, (g %% 1000)::integer, md5(g::text) '
                   'FROM generate_series(1, %s) g', tbl, row_count);
    EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (id)', tbl);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I UNIQUE (code)', tbl, tbl || '_code_key');
    EXECUTE format('ALTER TABLE %I OWNER TO bench', tbl);
END
$$;
