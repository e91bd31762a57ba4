//! enable(): put a table under soft-delete management.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::access;
use crate::catalog::{self, GUARD_TRIGGER};
use crate::error::{self, UserError};
use crate::foreign_keys;
use crate::references;
use crate::internal;
use crate::uniqueness;

/// The marker columns, their SQL types and type OIDs.
pub const MARKERS: [(&str, &str, pg_sys::Oid); 3] = [
    ("deleted_at", "timestamp with time zone", pg_sys::TIMESTAMPTZOID),
    ("deleted_by", "text", pg_sys::TEXTOID),
    ("deletion_id", "bigint", pg_sys::INT8OID),
];

/// Facts about the table that decide whether it can be managed.
pub struct TableInfo {
    pub table: String,
    pub schema: String,
    relkind: String,
    persistence: String,
    is_partition: bool,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    has_primary_key: bool,
}

impl TableInfo {
    pub fn is_partitioned(&self) -> bool {
        self.relkind == "p"
    }
}

pub fn table_info(client: &SpiClient<'_>, relid: pg_sys::Oid) -> TableInfo {
    let table = catalog::qualified_name(relid);
    let rows = error::spi("enable::table_info", client.select(include_str!("sql/table_info.sql"), None, &[relid.into()]));
    let Some(row) = rows.into_iter().next() else {
        UserError::new(PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE, format!("relation with OID {relid:?} does not exist")).raise()
    };
    let text = |i| error::spi("enable::table_info", row.get::<String>(i)).unwrap_or_default();
    let flag = |i| error::spi("enable::table_info", row.get::<bool>(i)).unwrap_or(false);
    TableInfo {
        table,
        relkind: text(1),
        persistence: text(2),
        schema: text(3),
        is_partition: flag(4),
        rls_enabled: flag(5),
        rls_forced: flag(6),
        has_primary_key: flag(7),
    }
}

/// Puts `relid` under management. Called by `softdelete.enable(regclass)`.
#[pg_extern(volatile, parallel_unsafe, name = "_enable")]
fn enable(relid: pg_sys::Oid) {
    Spi::connect_mut(|client| {
        let info = table_info(client, relid);
        check_manageable(client, relid, &info);
        let added = add_marker_columns(client, relid, &info.table);
        let converted = uniqueness::convert(client, relid, &info.table, &info.schema, MARKERS[0].0);
        hide_deleted_rows(client, &info);
        install_triggers(client, relid, &info.table);
        record(client, relid, &added, &converted, &info);
        refresh_reference_checks(client, relid);
        // The allow policy is synchronised after the catalog row exists, as later DDL will be.
        let sync = "SELECT softdelete._sync_allow_policy($1::pg_catalog.regclass)";
        error::spi("enable", client.update(sync, None, &[relid.into()]));
        // SAFETY: invalidation of a relation that exists and is locked by the ALTERs above.
        unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) };
        warn_if_not_preloaded();
        warn_about_referencing_tables(relid, &info.table);
        warn_about_cascades_from_unmanaged(client, relid, &info.table);
        error::notice(format!("table {} is now managed by pg_softdelete", info.table));
    })
}

fn check_manageable(client: &SpiClient<'_>, relid: pg_sys::Oid, info: &TableInfo) {
    let table = &info.table;
    let wrong_type = |what: &str, hint: &str| -> ! {
        UserError::new(PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE, format!("cannot manage {table}: it is {what}"))
            .hint(hint.to_string())
            .raise()
    };
    if matches!(info.schema.as_str(), "pg_catalog" | "information_schema") || info.schema.starts_with("pg_toast") {
        UserError::new(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("permission denied: {table} is a system catalog"))
            .hint("Only user tables can be managed by pg_softdelete.")
            .raise()
    }
    if info.schema == "softdelete" {
        UserError::new(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("permission denied: {table} belongs to pg_softdelete"))
            .raise()
    }
    match info.relkind.as_str() {
        "r" | "p" => {}
        "v" => wrong_type("a view", "Enable its base table; DELETE through the view then soft-deletes."),
        "m" => wrong_type("a materialized view", "Enable the tables it is built from."),
        "f" => wrong_type("a foreign table", "Enable the table on the server that stores the rows."),
        _ => wrong_type("not a table", "Pass a table to softdelete.enable()."),
    }
    if info.persistence == "t" {
        UserError::new(PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, format!("cannot manage {table}: it is a temporary table"))
            .hint("Soft deletion is meant for data that outlives the session; use a permanent table.")
            .raise()
    }
    if info.is_partition {
        UserError::new(PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, format!("cannot manage {table}: it is a partition"))
            .hint("Enable the partitioned table; its partitions are managed with it.")
            .raise()
    }
    access::require_owner(relid, table);
    if catalog::lookup(relid).is_some() || is_recorded(client, relid) {
        UserError::new(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("table {table} is already managed by pg_softdelete"))
            .hint("Nothing to do; softdelete.disable() returns it to plain behaviour.")
            .raise()
    }
    if !info.has_primary_key {
        UserError::new(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("cannot manage {table}: it has no primary key"))
            .detail("restore(), purge() and the audit trail identify rows by primary key.")
            .hint(format!("Add one with ALTER TABLE {table} ADD PRIMARY KEY (...), then run enable() again."))
            .raise()
    }
}

fn is_recorded(client: &SpiClient<'_>, relid: pg_sys::Oid) -> bool {
    let sql = "SELECT count(*) FROM softdelete.managed_tables WHERE relid = $1::pg_catalog.regclass";
    let rows = error::spi("enable::is_recorded", client.select(sql, None, &[relid.into()]));
    rows.into_iter().next().and_then(|row| row.get::<i64>(1).ok().flatten()).unwrap_or(0) > 0
}

/// Warns about foreign keys that cascade deletes from a table that is not managed. Until that
/// table is managed too, deleting its referenced rows fails with `55000` (see the planner
/// hook), because PostgreSQL's cascade would have to remove rows of this table for real.
fn warn_about_cascades_from_unmanaged(client: &SpiClient<'_>, relid: pg_sys::Oid, table: &str) {
    let sql = "SELECT con.conname::text, con.confrelid, pg_catalog.format('%I.%I', n.nspname, c.relname) \
               FROM pg_catalog.pg_constraint con \
               JOIN pg_catalog.pg_class c ON c.oid = con.confrelid \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
               WHERE con.contype = 'f' AND con.conrelid = $1 AND con.confdeltype = 'c' AND con.confrelid <> $1";
    let rows = error::spi("enable::check_cascades_from_unmanaged", client.select(sql, None, &[relid.into()]));
    for row in rows {
        let parent = row.get::<pg_sys::Oid>(2).ok().flatten().unwrap_or(pg_sys::InvalidOid);
        if catalog::lookup(parent).is_some() {
            continue;
        }
        let name = row.get::<String>(1).ok().flatten().unwrap_or_default();
        let parent_table = row.get::<String>(3).ok().flatten().unwrap_or_default();
        error::warning(
            PgSqlErrorCode::ERRCODE_WARNING,
            format!(
                "foreign key {} of table {table} cascades deletes from table {parent_table}, which is not managed by pg_softdelete; deleting referenced rows of {parent_table} fails until it is",
                spi::quote_identifier(&name)
            ),
            format!("Run SELECT softdelete.enable({}).", spi::quote_literal(&parent_table)),
        );
    }
}

/// Adds the marker columns the table lacks (nullable and without a default, so PostgreSQL
/// changes only the catalog and does not rewrite the table) and adopts those it has.
fn add_marker_columns(client: &mut SpiClient<'_>, relid: pg_sys::Oid, table: &str) -> Vec<String> {
    let names: Vec<String> = MARKERS.iter().map(|(name, _, _)| name.to_string()).collect();
    let sql = include_str!("sql/marker_columns.sql");
    let existing: Vec<(String, pg_sys::Oid, String)> = {
        let rows = error::spi("enable::add_marker_columns", client.select(sql, None, &[relid.into(), names.clone().into()]));
        rows.map(|row| {
            (
                error::spi("enable", row.get::<String>(1)).unwrap_or_default(),
                error::spi("enable", row.get::<pg_sys::Oid>(2)).unwrap_or(pg_sys::InvalidOid),
                error::spi("enable", row.get::<String>(3)).unwrap_or_default(),
            )
        })
        .collect()
    };
    let mut missing = Vec::new();
    for (name, type_name, type_oid) in MARKERS {
        match existing.iter().find(|(existing_name, _, _)| existing_name == name) {
            Some((_, oid, _)) if *oid == type_oid => {
                error::notice(format!("adopted existing column {name} of table {table}"));
            }
            Some((_, _, actual)) => UserError::new(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!("column \"{name}\" of table {table} has type {actual}, but pg_softdelete needs {type_name}"),
            )
            .hint(format!("Rename or drop the column, or change its type to {type_name}, then run enable() again."))
            .raise(),
            None => missing.push((name, type_name)),
        }
    }
    if !missing.is_empty() {
        let clauses: Vec<String> =
            missing.iter().map(|(name, type_name)| format!("ADD COLUMN {} {type_name}", spi::quote_identifier(name))).collect();
        let alter = format!("ALTER TABLE {table} {}", clauses.join(", "));
        error::spi("enable::add_marker_columns", client.update(alter.as_str(), None, &[]));
        let list: Vec<&str> = missing.iter().map(|(name, _)| *name).collect();
        error::notice(format!("added column(s) {} to table {table}", list.join(", ")));
    }
    missing.iter().map(|(name, _)| name.to_string()).collect()
}

/// Turns on row-level security, forced for the owner, with a RESTRICTIVE policy that hides
/// deleted rows (see `visibility.rs` for why it costs nothing at run time).
fn hide_deleted_rows(client: &mut SpiClient<'_>, info: &TableInfo) {
    let table = &info.table;
    for sql in hiding_statements(table) {
        error::spi("enable::hide_deleted_rows", client.update(sql.as_str(), None, &[]));
    }
    if !info.rls_enabled || !info.rls_forced {
        error::notice(format!("enabled and forced row-level security on table {table}"));
    }
    error::notice(format!("created policy softdelete_hide_deleted on table {table}"));
}

/// Returns the statements that hide deleted rows. The policy passes the table's own name as a
/// regclass constant, which pg_dump writes by name.
fn hiding_statements(table: &str) -> [String; 2] {
    let deleted_at = spi::quote_identifier(MARKERS[0].0);
    let name = spi::quote_literal(table);
    [
        format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY"),
        format!(
            "CREATE POLICY softdelete_hide_deleted ON {table} AS RESTRICTIVE FOR ALL \
             USING ({deleted_at} IS NULL OR softdelete._show_deleted({name}::pg_catalog.regclass)) WITH CHECK (true)"
        ),
    ]
}

/// Installs the guard trigger, which partitions inherit, and manages every partition.
fn install_triggers(client: &mut SpiClient<'_>, relid: pg_sys::Oid, table: &str) {
    let args: Vec<String> = MARKERS.iter().map(|(name, _, _)| spi::quote_literal(name)).collect();
    let guard = format!(
        "CREATE TRIGGER {GUARD_TRIGGER} BEFORE DELETE ON {table} FOR EACH ROW \
         EXECUTE FUNCTION softdelete._guard_trigger({})",
        args.join(", ")
    );
    error::spi("enable::install_triggers", client.update(guard.as_str(), None, &[]));
    for sql in statement_triggers(table) {
        error::spi("enable::install_triggers", client.update(sql.as_str(), None, &[]));
    }
    for partition in partitions(client, relid) {
        manage_partition_table(client, &partition);
    }
    error::notice(format!("created triggers on table {table}: DELETE is now a soft delete, TRUNCATE is rejected"));
}

/// Returns the partitions of `relid` at every level, schema-qualified and quoted.
pub fn partitions(client: &SpiClient<'_>, relid: pg_sys::Oid) -> Vec<String> {
    let sql = "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) \
               FROM pg_catalog.pg_partition_tree($1::pg_catalog.regclass) t \
               JOIN pg_catalog.pg_class c ON c.oid = t.relid \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
               WHERE t.relid <> $1::pg_catalog.regclass";
    let rows = error::spi("enable::partitions", client.select(sql, None, &[relid.into()]));
    rows.filter_map(|row| row.get::<String>(1).ok().flatten()).collect()
}

/// Gives a partition what statement-level triggers and row-level security do not inherit from
/// the partitioned table: a query or TRUNCATE that names the partition directly would
/// otherwise see deleted rows or bypass the audit trail.
fn manage_partition_table(client: &mut SpiClient<'_>, partition: &str) {
    for sql in statement_triggers(partition).iter().chain(hiding_statements(partition).iter()) {
        error::spi("enable::manage_partition", client.update(sql.as_str(), None, &[]));
    }
    let sync = format!("SELECT softdelete._sync_allow_policy({}::pg_catalog.regclass)", spi::quote_literal(partition));
    error::spi("enable::manage_partition", client.update(sync.as_str(), None, &[]));
}

/// Manages a partition created or attached after `enable()` of its partitioned table; called
/// by the extension's event trigger. Does nothing for a partition that is managed already.
#[pg_extern(volatile, parallel_unsafe, name = "_manage_partition")]
fn manage_partition(relid: pg_sys::Oid) {
    Spi::connect_mut(|client| {
        let sql = "SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger \
                                   WHERE tgrelid = $1 AND tgname = 'softdelete_audit_update')";
        let present = error::spi("enable::manage_partition", client.select(sql, None, &[relid.into()]))
            .first()
            .get_one::<bool>()
            .ok()
            .flatten()
            .unwrap_or(false);
        if present || catalog::lookup(relid).is_none() {
            return;
        }
        let table = catalog::qualified_name(relid);
        manage_partition_table(client, &table);
        for partition in partitions(client, relid) {
            manage_partition_table(client, &partition);
        }
        references::refresh_triggers(client, relid);
        error::notice(format!("partition {table} is managed by pg_softdelete like its partitioned table"));
    })
}

pub fn statement_triggers(table: &str) -> [String; 3] {
    [
        format!(
            "CREATE TRIGGER softdelete_audit_update AFTER UPDATE ON {table} \
             REFERENCING NEW TABLE AS softdelete_new_rows FOR EACH STATEMENT \
             EXECUTE FUNCTION softdelete._audit_trigger()"
        ),
        format!(
            "CREATE TRIGGER softdelete_audit_delete AFTER DELETE ON {table} \
             REFERENCING OLD TABLE AS softdelete_old_rows FOR EACH STATEMENT \
             EXECUTE FUNCTION softdelete._audit_trigger()"
        ),
        format!(
            "CREATE TRIGGER softdelete_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT \
             EXECUTE FUNCTION softdelete._truncate_trigger()"
        ),
    ]
}

/// Stores what enable() changed, as the extension owner (ordinary roles cannot write the
/// catalog of managed tables).
fn record(client: &mut SpiClient<'_>, relid: pg_sys::Oid, added: &[String], converted: &serde_json::Value, info: &TableInfo) {
    let sql = "INSERT INTO softdelete.managed_tables \
                 (relid, table_name, added_columns, converted_uniques, rls_was_enabled, rls_was_forced, enabled_by) \
               VALUES ($1::pg_catalog.regclass, $7, $2::pg_catalog.name[], $3, $4, $5, $6)";
    let args: Vec<DatumWithOid> = vec![
        relid.into(),
        added.to_vec().into(),
        pgrx::JsonB(converted.clone()).into(),
        info.rls_enabled.into(),
        info.rls_forced.into(),
        crate::settings::current_role_name().into(),
        info.table.clone().into(),
    ];
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        error::spi("enable::record", client.update(sql, None, &args));
    });
}

/// Warns when the library was not loaded through `shared_preload_libraries`. The planner hook
/// is then missing from a session until its first call into the extension. Until then a DELETE
/// on a managed table is soft but reports 0 rows, and ON CONFLICT (column) fails with 42P10.
fn warn_if_not_preloaded() {
    if !crate::PRELOADED.load(std::sync::atomic::Ordering::Relaxed) {
        error::warning(
            PgSqlErrorCode::ERRCODE_WARNING,
            "pg_softdelete is not in shared_preload_libraries: until a session loads it, DELETE on managed tables reports 0 rows and ON CONFLICT (column) fails",
            "Add pg_softdelete to shared_preload_libraries in postgresql.conf and restart the server.",
        );
    }
}

/// Warns about unmanaged referencing tables whose rule is CASCADE, SET NULL or SET DEFAULT. A
/// soft delete cannot follow such a rule into a table that cannot soft-delete. Until that table
/// is enabled too, soft-deleting a referenced row fails with `55000` and changes nothing.
fn warn_about_referencing_tables(relid: pg_sys::Oid, table: &str) {
    for fk in foreign_keys::referencing(relid) {
        if fk.child == relid || !fk.rule.changes_children() || catalog::lookup(fk.child).is_some() {
            continue;
        }
        error::warning(
            PgSqlErrorCode::ERRCODE_WARNING,
            format!(
                "table {} references {table} through foreign key {} with ON DELETE {}, but is not managed by pg_softdelete; deleting referenced rows of {table} fails until it is",
                fk.child_table,
                spi::quote_identifier(&fk.name),
                fk.rule.as_sql()
            ),
            format!(
                "Run SELECT softdelete.enable({}), or choose another rule with softdelete.set_foreign_key_rule({}, {}, 'restrict').",
                spi::quote_literal(&fk.child_table),
                spi::quote_literal(&fk.child_table),
                spi::quote_literal(&fk.name)
            ),
        );
    }
}

/// Installs (or removes) the triggers that reject new references to soft-deleted rows, on the
/// table itself and on every table that references it.
pub fn refresh_reference_checks(client: &mut SpiClient<'_>, relid: pg_sys::Oid) {
    let mut tables = vec![relid];
    for fk in foreign_keys::referencing(relid) {
        if !tables.contains(&fk.child) {
            tables.push(fk.child);
        }
    }
    for table in tables {
        references::refresh_triggers(client, table);
    }
}

/// Counts the active and soft-deleted rows of a managed table for `softdelete.tables`, with the
/// caller's own privileges and row-level security policies (only the hiding of deleted rows is
/// lifted). Returns NULLs for a table the caller may not read.
#[pg_extern(volatile, parallel_unsafe, name = "_row_counts")]
fn row_counts(relid: pg_sys::Oid) -> TableIterator<'static, (name!(active_rows, Option<i64>), name!(deleted_rows, Option<i64>))> {
    // SAFETY: a catalog lookup inside a transaction.
    let readable = unsafe {
        pg_sys::pg_class_aclcheck(relid, pg_sys::GetUserId(), pg_sys::ACL_SELECT as pg_sys::AclMode)
            == pg_sys::AclResult::ACLCHECK_OK
    };
    let Some(managed) = catalog::lookup(relid).filter(|_| readable) else {
        return TableIterator::once((None, None));
    };
    let at = spi::quote_identifier(&managed.deleted_at.name);
    let sql = format!(
        "SELECT pg_catalog.jsonb_build_array(count(*) FILTER (WHERE {at} IS NULL), count(*) FILTER (WHERE {at} IS NOT NULL)) FROM {}",
        catalog::qualified_name(relid)
    );
    let counts = Spi::connect_mut(|client| internal::returning_jsonb(client, relid, &sql, &[]).into_iter().next());
    let count = |i: usize| counts.as_ref().and_then(|c| c.0.get(i)).and_then(serde_json::Value::as_i64);
    let (active, deleted) = (count(0), count(1));
    TableIterator::once((active, deleted))
}
