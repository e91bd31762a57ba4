//! Row and statement triggers that keep rows of managed tables from being removed by accident.
//!
//! The planner hook turns DELETE into a soft delete before it reaches the executor, so
//! `softdelete_guard` (BEFORE DELETE, FOR EACH ROW) fires only for statements the hook did not
//! rewrite: purge() with PostgreSQL's own cascades from the rows it removes, a superuser's
//! deliberate hard delete, and DELETEs planned while the library was not loaded. It lets the
//! first two through and soft-deletes the row in the last case, so no row is lost, although
//! the client then sees `DELETE 0`.

use std::cell::Cell;

use pgrx::prelude::*;

use crate::audit::{self, Operation};
use crate::catalog;
use crate::error::{self, UserError};
use crate::internal;
use crate::settings;

thread_local! {
    /// The deletion id of the client statement being handled by the fallback path, with the
    /// statement's start time.
    static FALLBACK_DELETION: Cell<Option<(i64, i64)>> = const { Cell::new(None) };
}

#[pg_trigger]
fn _guard_trigger<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, PgTriggerError> {
    let old = trigger.old();
    if internal::hard_delete_in_progress() || settings::allow_hard_delete() {
        // purge() itself, and the declared cascades of the rows it removes: a DELETE of any
        // other table planned during a purge was rewritten by the planner hook.
        return Ok(old);
    }
    soft_delete_row(trigger)?;
    Ok(None)
}

/// Soft-deletes the row a DELETE that bypassed the planner hook was about to remove.
fn soft_delete_row(trigger: &PgTrigger<'_>) -> Result<(), PgTriggerError> {
    let relid = trigger.relid()?;
    let Some(managed) = catalog::lookup(relid) else {
        error::internal("guard::soft_delete_row", "softdelete_guard fired on a table that is not managed");
    };
    let tuple = trigger.trigger_data().tg_trigtuple;
    // SAFETY: tg_trigtuple is the row being deleted, valid for the duration of the trigger call.
    let ctid = unsafe {
        let item = (*tuple).t_self;
        let block = ((item.ip_blkid.bi_hi as u32) << 16) | item.ip_blkid.bi_lo as u32;
        format!("({},{})", block, item.ip_posid)
    };
    let deletion_id = fallback_deletion_id();
    audit::expect(relid, Operation::Delete, deletion_id);
    let sql = format!(
        "UPDATE {table} SET {at} = pg_catalog.now(), {by} = $1, {id} = $2 \
         WHERE ctid = $3::pg_catalog.tid AND {at} IS NULL",
        table = catalog::qualified_name(relid),
        at = spi::quote_identifier(&managed.deleted_at.name),
        by = spi::quote_identifier(&managed.deleted_by.name),
        id = spi::quote_identifier(&managed.deletion_id.name),
    );
    Spi::connect_mut(|client| {
        internal::update(client, relid, &sql, &[settings::actor().into(), deletion_id.into(), ctid.into()]);
    });
    Ok(())
}

/// One deletion id per client statement: row triggers cannot see statement boundaries, so the
/// fallback path groups rows by the statement's start time.
fn fallback_deletion_id() -> i64 {
    // SAFETY: reads backend-local state.
    let started = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    if let Some((at, id)) = FALLBACK_DELETION.with(Cell::get) {
        if at == started {
            return id;
        }
    }
    let id = audit::next_deletion_id();
    FALLBACK_DELETION.with(|cell| cell.set(Some((started, id))));
    id
}

/// Rejects TRUNCATE of a managed table (BEFORE TRUNCATE, FOR EACH STATEMENT), unless a
/// superuser set `softdelete.allow_hard_delete`, in which case the truncation is audited.
#[pg_trigger]
fn _truncate_trigger<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, PgTriggerError> {
    let relid = trigger.relid()?;
    let table = catalog::qualified_name(relid);
    if !settings::allow_hard_delete() {
        UserError::new(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("cannot truncate table {table} because it is managed by pg_softdelete"),
        )
        .detail("TRUNCATE would remove every row for real, soft-deleted ones included, without an audit trail.")
        .hint("Use DELETE to soft-delete rows and softdelete.purge() to remove them; a superuser can SET softdelete.allow_hard_delete = on.")
        .raise()
    }
    crate::privacy::check_holds_on_table(&table);
    audit::record_truncate(&table);
    Ok(None)
}

/// Raises `55000` for a row that a referential action (ON DELETE CASCADE from a table that is
/// not managed, or a trigger it fired) tries to delete; the planner hook puts the call in place
/// of `deleted_at`, so it runs only when such a DELETE reaches a row.
#[pg_extern(volatile, parallel_unsafe, name = "_reject_referential_delete")]
fn reject_referential_delete(relid: pg_sys::Oid) -> Option<pgrx::datum::TimestampWithTimeZone> {
    let table = catalog::qualified_name(relid);
    UserError::new(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("cannot delete rows of table {table} through a referential action: it is managed by pg_softdelete"),
    )
    .detail("An ON DELETE CASCADE from a table that is not managed would remove its rows for real.")
    .hint("Enable the referenced table with softdelete.enable(), or delete through the managed tables.")
    .raise()
}
