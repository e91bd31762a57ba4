//! restore(): undo a soft delete.

use pgrx::prelude::*;
use pgrx::JsonB;

use crate::access;
use crate::audit::{self, Operation};
use crate::error::{self, UserError};
use crate::internal;
use crate::rows::{KeyedRow, RowState};

/// Restores the soft-deleted row of `relid` with primary key `key` and returns the number of
/// rows restored. Called by `softdelete.restore(regclass, anyelement)`.
///
/// Raises `P0002` when no row has the key, `55000` when the row is not deleted, and `23505`
/// (from the unique index) when an active row now holds one of its unique values.
#[pg_extern(volatile, parallel_unsafe, name = "_restore_row")]
fn restore_row(relid: pg_sys::Oid, key: JsonB) -> i64 {
    let row = KeyedRow::resolve(relid, key, "restore");
    access::require(access::RESTORER_ROLE, relid, &row.table, "restore");
    Spi::connect_mut(|client| {
        let deletion_id = match row.state(client) {
            RowState::Missing => row.raise_missing(),
            RowState::Active => raise_not_deleted(&row),
            RowState::Deleted { deletion_id } => deletion_id,
        };
        audit::expect(relid, Operation::Restore, deletion_id.unwrap_or(0));
        let sql = format!(
            "UPDATE {table} SET {at} = NULL, {by} = NULL, {id} = NULL WHERE {cond} AND {at} IS NOT NULL",
            table = row.table,
            at = row.column(&row.managed.deleted_at.name),
            by = row.column(&row.managed.deleted_by.name),
            id = row.column(&row.managed.deletion_id.name),
            cond = row.key_condition(1),
        );
        let restored = internal::update(client, &sql, &row.key_args());
        if restored == 0 {
            // A concurrent transaction restored or purged the row after it was read.
            raise_not_deleted(&row);
        }
        let deletion = deletion_id.map(|id| format!(" (deletion {id})")).unwrap_or_default();
        error::notice(format!("restored {restored} row of table {}{deletion}", row.table));
        restored as i64
    })
}

fn raise_not_deleted(row: &KeyedRow) -> ! {
    UserError::new(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("row with key {} in table {} is not deleted", row.key_json, row.table),
    )
    .hint("Only soft-deleted rows can be restored.")
    .raise()
}
