//! INSERT, UPDATE and MERGE on managed tables: marker columns are read-only to users, and
//! ON CONFLICT arbitrates among active rows.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgList;

use super::nodes;
use crate::catalog::{self, Managed};
use crate::error::UserError;

/// Rejects a SET list that assigns a marker column, even to NULL, so that `deleted_by` cannot
/// be forged and rows cannot be hidden or revived behind the audit trail's back. Superusers
/// are exempt.
pub unsafe fn reject_marker_writes(target_list: *mut pg_sys::List, managed: &Managed, query: *mut pg_sys::Query) {
    reject_assignments(target_list, managed, query, false);
}

/// Rejects an INSERT that gives a marker column a value other than NULL (a row cannot be born
/// deleted), and an ON CONFLICT DO UPDATE that assigns one.
pub unsafe fn reject_marker_writes_on_insert(query: *mut pg_sys::Query, managed: &Managed) {
    reject_assignments((*query).targetList, managed, query, true);
    let conflict = (*query).onConflict;
    if !conflict.is_null() {
        reject_marker_writes((*conflict).onConflictSet, managed, query);
    }
}

unsafe fn reject_assignments(target_list: *mut pg_sys::List, managed: &Managed, query: *mut pg_sys::Query, allow_null: bool) {
    if pg_sys::superuser() {
        return;
    }
    for entry in PgList::<pg_sys::TargetEntry>::from_pg(target_list).iter_ptr() {
        let allowed = allow_null && is_null_const((*entry).expr);
        if !(*entry).resjunk && managed.is_marker((*entry).resno) && !allowed {
            reject(query, managed, (*entry).resno);
        }
    }
}

/// Adds `deleted_at IS NULL` to `ON CONFLICT (columns)` when the statement gave no predicate,
/// so that PostgreSQL can infer the unique index over active rows that replaced a unique
/// constraint. Without it, inference raises `42P10` (no unique or exclusion constraint
/// matching the ON CONFLICT specification). A non-partial unique index on the same columns,
/// such as the primary key, is still inferred.
pub unsafe fn arbitrate_among_active_rows(query: *mut pg_sys::Query, managed: &Managed) {
    let conflict = (*query).onConflict;
    if conflict.is_null() || (*conflict).arbiterElems.is_null() || !(*conflict).arbiterWhere.is_null() {
        return;
    }
    let deleted_at = nodes::marker_var((*query).resultRelation, &managed.deleted_at, pg_sys::TIMESTAMPTZOID);
    (*conflict).arbiterWhere = nodes::is_null(deleted_at);
}

/// MERGE cannot be planned as a soft delete, so a MERGE with a DELETE action on a managed
/// table is rejected rather than allowed to remove rows for real.
#[cfg(any(feature = "pg15", feature = "pg16", feature = "pg17", feature = "pg18"))]
pub unsafe fn reject_merge(query: *mut pg_sys::Query, managed: &Managed) {
    for action in PgList::<pg_sys::MergeAction>::from_pg((*query).mergeActionList).iter_ptr() {
        match (*action).commandType {
            pg_sys::CmdType::CMD_DELETE => {
                let table = catalog::qualified_name((*super::result_rte(query)).relid);
                UserError::new(
                    PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                    format!("MERGE ... DELETE is not supported on table {table}, which is managed by pg_softdelete"),
                )
                .hint("Run a DELETE statement to soft-delete the rows.")
                .raise()
            }
            pg_sys::CmdType::CMD_UPDATE | pg_sys::CmdType::CMD_INSERT => {
                reject_marker_writes((*action).targetList, managed, query)
            }
            _ => {}
        }
    }
}

unsafe fn is_null_const(expr: *mut pg_sys::Expr) -> bool {
    !expr.is_null()
        && (*(expr as *mut pg_sys::Node)).type_ == pg_sys::NodeTag::T_Const
        && (*(expr as *mut pg_sys::Const)).constisnull
}

unsafe fn reject(query: *mut pg_sys::Query, managed: &Managed, attnum: i16) -> ! {
    let table = catalog::qualified_name((*super::result_rte(query)).relid);
    let column = [&managed.deleted_at, &managed.deleted_by, &managed.deletion_id]
        .into_iter()
        .find(|marker| marker.attnum == attnum)
        .map(|marker| marker.name.clone())
        .unwrap_or_default();
    UserError::new(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("permission denied to write column \"{column}\" of table {table}"),
    )
    .detail("The marker columns of a table managed by pg_softdelete change only through DELETE and softdelete.restore().")
    .hint("Use DELETE to soft-delete a row and softdelete.restore() to bring it back.")
    .raise()
}
