//! restore(): undo exactly what one deletion removed.
//!
//! Every DELETE statement is one deletion, and every row it soft-deleted, cascades included,
//! carries its id. Restoring a row restores its whole deletion and nothing that was deleted by
//! another statement, earlier or later, even in the same transaction. Values that SET NULL or
//! SET DEFAULT rules changed are put back unless the row has changed since.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;

use crate::access;
use crate::audit::{self, Operation};
use crate::catalog;
use crate::error::{self, UserError};
use crate::internal;
use crate::rows::{KeyedRow, RowState};

/// Restores the deletion that removed the row of `relid` with primary key `key`, and returns
/// the number of rows restored. Called by `softdelete.restore(regclass, anyelement)`.
///
/// Raises `P0002` when no row has the key, `55000` when the row is not deleted, `23505` (from
/// the unique index) when an active row now has one of the unique values, and `23503` when a
/// row would come back under a parent that is still deleted. Nothing is restored then.
#[pg_extern(volatile, parallel_unsafe, name = "_restore_row")]
fn restore_row(relid: pg_sys::Oid, key: Option<JsonB>) -> i64 {
    let row = KeyedRow::resolve(relid, key, "restore");
    access::require(access::RESTORER_ROLE, relid, &row.table, "restore");
    Spi::connect_mut(|client| match row.state(client) {
        RowState::Missing => row.raise_missing(),
        RowState::Active => raise_not_deleted(&row),
        RowState::Deleted { deletion_id: Some(id) } => restore_deletion_rows(client, id) as i64,
        RowState::Deleted { deletion_id: None } => restore_single_row(client, relid, &row) as i64,
    })
}

/// Restores every row that deletion `deletion_id` soft-deleted and is still deleted, and
/// returns how many. Called by `softdelete.restore_deletion(bigint)`.
#[pg_extern(volatile, parallel_unsafe)]
fn restore_deletion(deletion_id: i64) -> i64 {
    Spi::connect_mut(|client| restore_deletion_rows(client, deletion_id) as i64)
}

/// Restores a row deleted before it had a deletion id (a marker column adopted by enable()).
fn restore_single_row(client: &mut SpiClient<'_>, relid: pg_sys::Oid, row: &KeyedRow) -> u64 {
    audit::expect(relid, Operation::Restore, 0);
    let sql = format!(
        "UPDATE {table} SET {at} = NULL, {by} = NULL WHERE {cond} AND {at} IS NOT NULL",
        table = row.table,
        at = row.column(&row.managed.deleted_at.name),
        by = row.column(&row.managed.deleted_by.name),
        cond = row.key_condition(1),
    );
    let restored = internal::update(client, relid, &sql, &row.key_args());
    if restored == 0 {
        raise_not_deleted(row);
    }
    error::notice(format!("restored {restored} row of table {}", row.table));
    restored
}

/// A table that a deletion marked rows in.
pub struct DeletionTable {
    pub relid: pg_sys::Oid,
    pub table: String,
}

/// Returns the tables of a deletion, parents first, read from the audit trail.
pub fn deletion_tables(client: &mut SpiClient<'_>, deletion_id: i64) -> Vec<DeletionTable> {
    let owner = catalog::extension_owner();
    let tables: Vec<DeletionTable> = internal::as_extension_owner(owner, || {
        let rows = error::spi(
            "restore::deletion_tables",
            client.select(include_str!("sql/deletion_tables.sql"), None, &[deletion_id.into()]),
        );
        rows.map(|row| DeletionTable {
            relid: row.get::<pg_sys::Oid>(1).ok().flatten().unwrap_or(pg_sys::InvalidOid),
            table: row.get::<String>(2).ok().flatten().unwrap_or_default(),
        })
        .collect()
    });
    if tables.is_empty() {
        UserError::new(PgSqlErrorCode::ERRCODE_NO_DATA_FOUND, format!("deletion {deletion_id} not found"))
            .hint("List deletions with SELECT * FROM softdelete.deletions.")
            .raise()
    }
    tables
}

fn restore_deletion_rows(client: &mut SpiClient<'_>, deletion_id: i64) -> u64 {
    let tables = deletion_tables(client, deletion_id);
    // Tables come back one statement at a time, in the order their rows were deleted, which
    // is not always parents first (cycles, rows reached by two paths). References between rows
    // of this deletion are therefore not checked until all of them are back; references to
    // rows of other deletions still are.
    let _in_progress = crate::references::DeletionInProgress::enter(deletion_id);
    let mut restored = 0;
    for entry in &tables {
        let Some(managed) = catalog::lookup(entry.relid) else {
            UserError::new(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("cannot restore deletion {deletion_id}: table {} is no longer managed by pg_softdelete", entry.table),
            )
            .raise()
        };
        let table = catalog::qualified_name(entry.relid);
        access::require(access::RESTORER_ROLE, entry.relid, &table, "restore");
        audit::expect_captured_restore(entry.relid, deletion_id);
        let sql = format!(
            "UPDATE {table} SET {at} = NULL, {by} = NULL, {id} = NULL WHERE {id} = $1 AND {at} IS NOT NULL",
            at = spi::quote_identifier(&managed.deleted_at.name),
            by = spi::quote_identifier(&managed.deleted_by.name),
            id = spi::quote_identifier(&managed.deletion_id.name),
        );
        restored += internal::update_restoring(client, entry.relid, &sql, &[deletion_id.into()], deletion_id);
    }
    if restored == 0 {
        UserError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("deletion {deletion_id} has no soft-deleted rows left to restore"),
        )
        .detail("Its rows were restored or purged already.")
        .raise()
    }
    let relinked = relink(client, deletion_id);
    let tables_text: Vec<&str> = tables.iter().map(|t| t.table.as_str()).collect();
    let relinked_text = if relinked > 0 { format!(", relinked {relinked}") } else { String::new() };
    error::notice(format!(
        "restored {restored} row(s) of deletion {deletion_id} in {}{relinked_text}",
        tables_text.join(", ")
    ));
    restored
}

/// Puts back the values that SET NULL and SET DEFAULT rules changed in this deletion, where
/// the referencing row still has the value the rule set.
fn relink(client: &mut SpiClient<'_>, deletion_id: i64) -> u64 {
    let sql = "SELECT e.table_name, e.key, e.detail FROM softdelete.event_log e \
               WHERE e.deletion_id = $1 AND e.operation = 'unlink' \
                 AND NOT EXISTS (SELECT FROM softdelete.event_log r \
                                  WHERE r.deletion_id = e.deletion_id AND r.operation = 'relink' \
                                    AND r.table_name = e.table_name AND r.key = e.key) \
               ORDER BY e.event_id";
    let owner = catalog::extension_owner();
    let unlinks: Vec<(String, JsonB, JsonB)> = internal::as_extension_owner(owner, || {
        let rows = error::spi("restore::relink", client.select(sql, None, &[deletion_id.into()]));
        rows.filter_map(|row| Some((row.get::<String>(1).ok()??, row.get::<JsonB>(2).ok()??, row.get::<JsonB>(3).ok()??)))
            .collect()
    });
    let mut relinked = 0;
    for (table, key, detail) in unlinks {
        let columns: Vec<String> = detail.0["old"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        let key_columns: Vec<String> = key.0.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        let quoted = |alias: &str, names: &[String]| -> Vec<String> {
            names.iter().map(|n| format!("{alias}.{}", spi::quote_identifier(n))).collect()
        };
        let assignments: Vec<String> =
            columns.iter().map(|c| format!("{0} = o.{0}", spi::quote_identifier(c))).collect();
        let key_match: Vec<String> =
            key_columns.iter().map(|c| format!("c.{0} = k.{0}", spi::quote_identifier(c))).collect();
        let update = format!(
            "UPDATE {table} c SET {assignments} \
             FROM pg_catalog.jsonb_populate_record(NULL::{table}, $1) o, \
                  pg_catalog.jsonb_populate_record(NULL::{table}, $2) k, \
                  pg_catalog.jsonb_populate_record(NULL::{table}, $3) n \
             WHERE {key_match} AND ROW({current}) IS NOT DISTINCT FROM ROW({set})",
            assignments = assignments.join(", "),
            key_match = key_match.join(" AND "),
            current = quoted("c", &columns).join(", "),
            set = quoted("n", &columns).join(", "),
        );
        let args: Vec<DatumWithOid> =
            vec![JsonB(detail.0["old"].clone()).into(), JsonB(key.0.clone()).into(), JsonB(detail.0["new"].clone()).into()];
        let relid = catalog::relid_of(&table);
        if internal::update(client, relid, &update, &args) == 0 {
            error::notice(format!("kept the newer value of row {} in table {table}: it changed after the deletion", key.0));
            continue;
        }
        relinked += 1;
        audit::record_relink(client, &table, deletion_id, key, detail);
    }
    relinked
}

fn raise_not_deleted(row: &KeyedRow) -> ! {
    UserError::new(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("row with key {} in table {} is not deleted", row.key_json, row.table),
    )
    .hint("Only soft-deleted rows can be restored.")
    .raise()
}

