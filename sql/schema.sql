-- Tables, sequences and roles of pg_softdelete. Loaded first, before the functions.

-- One row per managed table, with what enable() changed so that disable() can undo it.
CREATE TABLE softdelete.managed_tables (
    relid               regclass PRIMARY KEY,
    -- the schema-qualified name the audit trail uses for the table; kept current on rename
    table_name          text NOT NULL,
    deleted_at_column   name NOT NULL DEFAULT 'deleted_at',
    deleted_by_column   name NOT NULL DEFAULT 'deleted_by',
    deletion_id_column  name NOT NULL DEFAULT 'deletion_id',
    -- marker columns that enable() added (the others already existed and were adopted)
    added_columns       name[] NOT NULL DEFAULT '{}',
    -- unique constraints and indexes replaced by indexes over active rows:
    -- [{"name": ..., "kind": "constraint" | "index", "definition": ...}]
    converted_uniques   jsonb NOT NULL DEFAULT '[]',
    rls_was_enabled     boolean NOT NULL,
    rls_was_forced      boolean NOT NULL,
    enabled_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    enabled_by          name NOT NULL DEFAULT CURRENT_USER,
    -- how long soft-deleted rows are kept before purge_expired() removes them; NULL: forever
    retention           interval CHECK (retention >= interval '0')
);

-- Personal columns of managed tables, overwritten by anonymize(). The replacement is NULL
-- (the column becomes NULL) or a text template in which {key} stands for the row's primary
-- key, such as 'deleted-{key}@example.invalid', so that NOT NULL and unique constraints hold.
CREATE TABLE softdelete.personal_columns (
    relid        regclass NOT NULL REFERENCES softdelete.managed_tables ON DELETE CASCADE,
    column_name  name NOT NULL,
    replacement  text,
    PRIMARY KEY (relid, column_name)
);

-- Legal holds: a held row or deletion cannot be purged, by purge(), purge_expired() or any
-- other path, until the hold is released.
CREATE TABLE softdelete.legal_holds (
    hold_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name   text,
    key          jsonb,
    deletion_id  bigint,
    reason       text NOT NULL,
    placed_by    text NOT NULL,
    placed_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK ((table_name IS NOT NULL AND key IS NOT NULL AND deletion_id IS NULL)
           OR (table_name IS NULL AND key IS NULL AND deletion_id IS NOT NULL))
);
CREATE INDEX legal_holds_row_idx ON softdelete.legal_holds (table_name, key);
CREATE INDEX legal_holds_deletion_idx ON softdelete.legal_holds (deletion_id);

-- ON DELETE rules that a DBA set for soft deletes, replacing the declared rule of a foreign key.
CREATE TABLE softdelete.foreign_key_overrides (
    child_table     regclass NOT NULL,
    constraint_name name NOT NULL,
    on_delete       text NOT NULL
                    CHECK (on_delete IN ('cascade', 'restrict', 'no action', 'set null', 'set default')),
    PRIMARY KEY (child_table, constraint_name)
);

-- The audit trail. `softdelete.events` (a view, in api.sql) shows one row per deleted,
-- restored or purged row. Those row events are stored in batches: one row of event_batches
-- contains the keys of up to 65,536 rows that one statement changed in one table and deletion,
-- with the context they share. A bulk delete then writes a few rows instead of one per deleted
-- row, which is what keeps it close to the cost of a plain UPDATE (docs/benchmarks.md). Every
-- other event is one row of event_log.

-- Event ids. A batch takes one value and its row events use the next 65,535 numbers as well,
-- so ids are unique across both tables and grow in the order the events were written.
CREATE SEQUENCE softdelete.event_id_seq AS bigint INCREMENT BY 65536;

CREATE TABLE softdelete.event_log (
    event_id         bigint PRIMARY KEY DEFAULT pg_catalog.nextval('softdelete.event_id_seq'),
    -- unlink and relink for referencing rows that a SET NULL or SET DEFAULT rule changed and a
    -- restore put back; anonymize; hold and release for legal holds; truncate. Only the
    -- extension writes this table, so there is no CHECK constraint: PostgreSQL rebuilds its
    -- expression for every statement that writes the table.
    operation        text NOT NULL,
    -- schema-qualified name of the table when the event happened
    table_name       text NOT NULL,
    -- primary key of the row as {"column": value}; NULL only for 'truncate'
    key              jsonb,
    -- the deletion the event belongs to
    deletion_id      bigint,
    -- the start of the transaction
    occurred_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- when the event was written; a row's history across sessions reads in this order
    recorded_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    -- softdelete.actor when the application set it, else role_name
    actor            text NOT NULL,
    -- the database role whose privileges were in effect (current_user)
    role_name        name NOT NULL,
    reason           text,
    -- the foreign key a cascade followed to reach the row
    via_constraint   text,
    -- unlink and relink: {"constraint": ..., "old": {...}, "new": {...}}
    detail           jsonb,
    transaction_id   xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    application_name text,
    client_addr      inet
);
-- Lookups by key are needed only for the row images that purge and anonymize erase.
CREATE INDEX event_log_deletion_idx ON softdelete.event_log (deletion_id);
CREATE INDEX event_log_row_images_idx ON softdelete.event_log (table_name, key)
    WHERE operation IN ('unlink', 'relink');

CREATE TABLE softdelete.event_batches (
    -- the event id of the first row; row n of the batch has event_id + n - 1
    event_id         bigint PRIMARY KEY DEFAULT pg_catalog.nextval('softdelete.event_id_seq'),
    -- delete, restore or purge
    operation        text NOT NULL,
    table_name       text NOT NULL,
    -- the primary keys of the rows, each the text of a JSON object {"column": value}
    keys             text[] NOT NULL,
    -- the deletion the rows belong to (for a restore: the deletion it undid)
    deletion_id      bigint,
    -- the start of the transaction, equal to the deleted_at the delete stamped
    occurred_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    recorded_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    actor            text NOT NULL,
    role_name        name NOT NULL,
    reason           text,
    -- the foreign key a cascade followed to reach the rows; NULL for rows the statement named
    via_constraint   text,
    transaction_id   xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    application_name text,
    client_addr      inet
);
-- The keys of a batch are one large array, compressed when it is stored. lz4, where the server
-- has it, compresses several times faster than PostgreSQL's default pglz.
DO $compression$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_settings
               WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE softdelete.event_batches ALTER COLUMN keys SET COMPRESSION lz4;
    END IF;
END
$compression$;
-- Restore, purge, the recycle bin and retention find events by deletion id.
CREATE INDEX event_batches_deletion_idx ON softdelete.event_batches (deletion_id);

-- Every DELETE statement on a managed table is one deletion with an id from this sequence.
CREATE SEQUENCE softdelete.deletion_seq AS bigint;

-- pg_dump keeps the configuration and the audit trail.
SELECT pg_catalog.pg_extension_config_dump('softdelete.managed_tables', '');
SELECT pg_catalog.pg_extension_config_dump('softdelete.event_log', '');
SELECT pg_catalog.pg_extension_config_dump('softdelete.event_batches', '');
SELECT pg_catalog.pg_extension_config_dump('softdelete.foreign_key_overrides', '');
SELECT pg_catalog.pg_extension_config_dump('softdelete.personal_columns', '');
SELECT pg_catalog.pg_extension_config_dump('softdelete.legal_holds', '');
-- The identity sequences too, or a restored database would hand out event and hold ids again.
SELECT pg_catalog.pg_extension_config_dump('softdelete.event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('softdelete.legal_holds_hold_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('softdelete.deletion_seq', '');

-- Roles are cluster-wide, so a second database that installs the extension reuses them.
-- DROP EXTENSION leaves them in place.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'softdelete_viewer') THEN
        CREATE ROLE softdelete_viewer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'softdelete_restorer') THEN
        CREATE ROLE softdelete_restorer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'softdelete_purger') THEN
        CREATE ROLE softdelete_purger NOLOGIN;
    END IF;
END
$roles$;
COMMENT ON ROLE softdelete_viewer IS 'pg_softdelete: may SET softdelete.include_deleted = on and read the audit trail';
COMMENT ON ROLE softdelete_restorer IS 'pg_softdelete: may call softdelete.restore()';
COMMENT ON ROLE softdelete_purger IS 'pg_softdelete: may call softdelete.purge()';

GRANT USAGE ON SCHEMA softdelete TO PUBLIC;
REVOKE ALL ON softdelete.managed_tables, softdelete.event_log, softdelete.event_batches, softdelete.foreign_key_overrides,
              softdelete.personal_columns, softdelete.legal_holds FROM PUBLIC;
GRANT SELECT ON softdelete.managed_tables, softdelete.foreign_key_overrides,
                softdelete.personal_columns TO PUBLIC;
GRANT SELECT ON softdelete.legal_holds TO softdelete_viewer;
-- Soft-deleting statements of any role draw their deletion id from the sequence.
GRANT USAGE ON SEQUENCE softdelete.deletion_seq TO PUBLIC;
-- pg_dump reads the positions of the dumped sequences; they reveal nothing but counts.
GRANT SELECT ON SEQUENCE softdelete.deletion_seq, softdelete.event_id_seq,
                         softdelete.legal_holds_hold_id_seq TO PUBLIC;
