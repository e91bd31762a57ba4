//! disable(): return a managed table to plain behaviour.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::access;
use crate::catalog;
use crate::enable::{self, MARKERS};
use crate::error::{self, UserError};
use crate::foreign_keys;
use crate::internal;
use crate::uniqueness;

struct Recorded {
    added_columns: Vec<String>,
    converted: serde_json::Value,
    rls_was_enabled: bool,
    rls_was_forced: bool,
}

/// Undoes `enable()` on `relid`. Called by `softdelete.disable(regclass, boolean)`.
///
/// Raises `55000` while the table contains soft-deleted rows, which would otherwise reappear as
/// active rows. The marker columns stay unless `drop_columns` is true and `enable()` added them.
#[pg_extern(volatile, parallel_unsafe, name = "_disable")]
fn disable(relid: pg_sys::Oid, drop_columns: bool) {
    Spi::connect_mut(|client| {
        let info = enable::table_info(client, relid);
        let table = info.table.clone();
        let Some(recorded) = recorded(client, relid) else {
            UserError::new(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("table {table} is not managed by pg_softdelete"))
                .hint("Nothing to do.")
                .raise()
        };
        access::require_owner(relid, &table);
        // Lock first, so that no soft delete can commit between the count and the changes.
        let lock = format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE");
        error::spi("disable::lock", client.update(lock.as_str(), None, &[]));
        reject_if_deleted_rows(client, relid, &table);
        reject_if_parent_changes_rows(relid, &table);

        forget(client, relid);
        remove_policies_and_triggers(client, relid, &table);
        uniqueness::restore(client, &table, &info.schema, info.is_partitioned(), &recorded.converted);
        let mut rls = Vec::new();
        if !recorded.rls_was_forced {
            rls.push("NO FORCE ROW LEVEL SECURITY");
        }
        if !recorded.rls_was_enabled {
            rls.push("DISABLE ROW LEVEL SECURITY");
        }
        if !rls.is_empty() {
            let sql = format!("ALTER TABLE {table} {}", rls.join(", "));
            error::spi("disable", client.update(sql.as_str(), None, &[]));
            error::notice(format!("restored the row-level security settings of table {table}"));
        }
        if drop_columns && !recorded.added_columns.is_empty() {
            let clauses: Vec<String> =
                recorded.added_columns.iter().map(|name| format!("DROP COLUMN {}", spi::quote_identifier(name))).collect();
            let sql = format!("ALTER TABLE {table} {}", clauses.join(", "));
            error::spi("disable", client.update(sql.as_str(), None, &[]));
            error::notice(format!("dropped column(s) {} of table {table}", recorded.added_columns.join(", ")));
        }
        // SAFETY: invalidation of a relation that exists and is locked by the ALTERs above.
        unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) };
        enable::refresh_reference_checks(client, relid);
        warn_if_managed_children_cascade(relid, &table);
        error::notice(format!("table {table} is no longer managed by pg_softdelete"));
    })
}

fn recorded(client: &SpiClient<'_>, relid: pg_sys::Oid) -> Option<Recorded> {
    let sql = "SELECT added_columns::text[], converted_uniques, rls_was_enabled, rls_was_forced \
               FROM softdelete.managed_tables WHERE relid = $1::pg_catalog.regclass";
    let rows = error::spi("disable::recorded", client.select(sql, None, &[relid.into()]));
    let row = rows.into_iter().next()?;
    Some(Recorded {
        added_columns: error::spi("disable", row.get::<Vec<String>>(1)).unwrap_or_default(),
        converted: error::spi("disable", row.get::<pgrx::JsonB>(2)).map(|j| j.0).unwrap_or_default(),
        rls_was_enabled: error::spi("disable", row.get::<bool>(3)).unwrap_or(false),
        rls_was_forced: error::spi("disable", row.get::<bool>(4)).unwrap_or(false),
    })
}

fn reject_if_deleted_rows(client: &mut SpiClient<'_>, relid: pg_sys::Oid, table: &str) {
    let sql = format!("SELECT true, count(*) FROM {table} WHERE {} IS NOT NULL", spi::quote_identifier(MARKERS[0].0));
    let deleted = internal::select(client, relid, &sql, &[]).first().and_then(|row| row.1).unwrap_or(0);
    if deleted > 0 {
        UserError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("cannot disable soft deletion on table {table}: it holds {deleted} soft-deleted row(s)"),
        )
        .detail("Without pg_softdelete those rows would become visible again.")
        .hint("Restore them with softdelete.restore() or remove them with softdelete.purge() first.")
        .raise()
    }
}

fn forget(client: &mut SpiClient<'_>, relid: pg_sys::Oid) {
    let sql = "DELETE FROM softdelete.managed_tables WHERE relid = $1::pg_catalog.regclass";
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        error::spi("disable::forget", client.update(sql, None, &[relid.into()]));
    });
}

fn remove_policies_and_triggers(client: &mut SpiClient<'_>, relid: pg_sys::Oid, table: &str) {
    let partitions = enable::partitions(client, relid);
    let mut statements = vec![format!("DROP TRIGGER IF EXISTS {} ON {table}", catalog::GUARD_TRIGGER)];
    for target in partitions.iter().map(String::as_str).chain(std::iter::once(table)) {
        for name in ["softdelete_audit_update", "softdelete_audit_delete", "softdelete_truncate"] {
            statements.push(format!("DROP TRIGGER IF EXISTS {name} ON {target}"));
        }
        for policy in existing_policies(client, target) {
            statements.push(format!("DROP POLICY {policy} ON {target}"));
        }
    }
    for partition in &partitions {
        statements.push(format!("ALTER TABLE {partition} NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY"));
    }
    for sql in &statements {
        error::spi("disable::remove_policies_and_triggers", client.update(sql.as_str(), None, &[]));
    }
    error::notice(format!("removed the policies and triggers of pg_softdelete from table {table}"));
}

/// Returns the extension's policies on `table`: softdelete_hide_deleted and, when present,
/// softdelete_allow.
fn existing_policies(client: &SpiClient<'_>, table: &str) -> Vec<String> {
    let sql = "SELECT polname::text FROM pg_catalog.pg_policy \
               WHERE polrelid = $1::pg_catalog.regclass \
                 AND polname IN ('softdelete_hide_deleted', 'softdelete_allow') ORDER BY polname";
    let rows = error::spi("disable::existing_policies", client.select(sql, None, &[table.into()]));
    rows.filter_map(|row| row.get::<String>(1).ok().flatten()).collect()
}
/// Warns when a managed table references this one with a declared ON DELETE CASCADE: plain
/// deletes of this table would have to cascade into the managed one, so they fail with `55000`
/// until it is disabled too.
fn warn_if_managed_children_cascade(relid: pg_sys::Oid, table: &str) {
    for fk in foreign_keys::referencing(relid) {
        if fk.child == relid || fk.declared != foreign_keys::Rule::Cascade || catalog::lookup(fk.child).is_none() {
            continue;
        }
        error::warning(
            PgSqlErrorCode::ERRCODE_WARNING,
            format!(
                "managed table {} references {table} through foreign key {} with ON DELETE CASCADE; deleting its referenced rows of {table} fails until it is disabled too",
                fk.child_table,
                spi::quote_identifier(&fk.name)
            ),
            format!("Run SELECT softdelete.disable({}).", spi::quote_literal(&fk.child_table)),
        );
    }
}

/// Rejects disabling a table that a managed table cascades or sets null into: its soft
/// deletes would have nowhere to go.
fn reject_if_parent_changes_rows(relid: pg_sys::Oid, table: &str) {
    for reference in foreign_keys::references_to_managed(relid) {
        if reference.parent == relid {
            continue;
        }
        let rules = foreign_keys::referencing(reference.parent);
        let Some(fk) = rules.iter().find(|fk| fk.child == relid && fk.name == reference.name && fk.rule.changes_children()) else {
            continue;
        };
        UserError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "cannot disable soft deletion on table {table}: managed table {} reaches it through foreign key {} with ON DELETE {}",
                reference.parent_table,
                spi::quote_identifier(&fk.name),
                fk.rule.as_sql()
            ),
        )
        .hint(format!(
            "Disable {} first, or choose another rule with softdelete.set_foreign_key_rule({}, {}, 'restrict').",
            reference.parent_table,
            spi::quote_literal(table),
            spi::quote_literal(&fk.name)
        ))
        .raise()
    }
}

