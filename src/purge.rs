//! purge(): remove a soft-deleted row for real.

use pgrx::prelude::*;
use pgrx::JsonB;

use crate::access;
use crate::error::{self, UserError};
use crate::internal;
use crate::rows::{KeyedRow, RowState};

/// Removes the soft-deleted row of `relid` with primary key `key` for real and returns the
/// number of rows removed. Called by `softdelete.purge(regclass, anyelement)`.
///
/// Only deleted rows can be purged, so a typo cannot erase live data: an active row raises
/// `55000`, a missing key `P0002`. The audit trigger records a purge event, which keeps the
/// key and no other column of the row.
#[pg_extern(volatile, parallel_unsafe, name = "_purge_row")]
fn purge_row(relid: pg_sys::Oid, key: JsonB) -> i64 {
    let row = KeyedRow::resolve(relid, key, "purge");
    access::require(access::PURGER_ROLE, relid, &row.table, "purge");
    Spi::connect_mut(|client| {
        let sql = format!(
            "DELETE FROM {table} WHERE {cond} AND {at} IS NOT NULL",
            table = row.table,
            at = row.column(&row.managed.deleted_at.name),
            cond = row.key_condition(1),
        );
        let purged = {
            let _scope = internal::HardDeleteScope::enter();
            internal::update(client, &sql, &row.key_args())
        };
        if purged == 0 {
            match row.state(client) {
                RowState::Missing => row.raise_missing(),
                _ => raise_not_deleted(&row),
            }
        }
        error::notice(format!("purged {purged} row of table {}", row.table));
        purged as i64
    })
}

fn raise_not_deleted(row: &KeyedRow) -> ! {
    UserError::new(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("row with key {} in table {} is not deleted", row.key_json, row.table),
    )
    .detail("purge() removes only soft-deleted rows, so that a wrong key cannot erase live data.")
    .hint("DELETE the row first, then purge it.")
    .raise()
}
