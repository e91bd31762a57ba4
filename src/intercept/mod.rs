//! How statements on managed tables are planned.
//!
//! A planner hook, installed when the library loads (`shared_preload_libraries`), looks at the
//! top-level statement and at every data-modifying CTE inside it, after parse analysis and
//! rewriting (so DELETEs through views and rules arrive as DELETEs on the base table):
//!
//! - a DELETE on a managed table is planned as an UPDATE of the marker columns, and the planned
//!   statement keeps the DELETE command type, so clients see the tag, row count and RETURNING
//!   rows of a real delete (see `delete.rs`);
//! - an INSERT ... ON CONFLICT (columns) gets the predicate `deleted_at IS NULL`, so it can
//!   still use a unique constraint that `enable()` turned into an index over active rows;
//! - a user statement that writes a marker column is rejected (`writes.rs`).
//!
//! Statements the extension runs itself (restore, purge) are left alone.

mod delete;
pub use delete::{CAPTURE_DELETE, CAPTURE_RESTORE};
mod nodes;
mod writes;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgList;

use crate::catalog::{self, Managed};
use crate::internal;
use crate::settings;

static mut PREVIOUS_PLANNER: pg_sys::planner_hook_type = None;

/// Installs the planner hook; called once from `_PG_init`.
pub fn install() {
    // SAFETY: _PG_init runs once per backend, before any statement is planned with the hook.
    unsafe {
        PREVIOUS_PLANNER = pg_sys::planner_hook;
        pg_sys::planner_hook = Some(plan_statement);
    }
    nodes::register_callbacks();
}

#[pg_guard]
unsafe extern "C-unwind" fn plan_statement(
    parse: *mut pg_sys::Query,
    query_string: *const std::ffi::c_char,
    cursor_options: i32,
    bound_params: pg_sys::ParamListInfo,
) -> *mut pg_sys::PlannedStmt {
    let rule_action = (*parse).resultRelation > 0
        && (*result_rte(parse)).rtekind == pg_sys::RTEKind::RTE_RELATION
        && internal::next_plan_mark_is_for_other_tables((*result_rte(parse)).relid);
    let (internal, restores) = if rule_action {
        (None, None)
    } else {
        (internal::take_next_plan_internal(), internal::take_next_plan_restores())
    };
    let is_internal = internal.is_some();
    let _scope = internal::PlanningScope::enter(internal);
    let top_level_delete = !is_internal && rewrite_statements(parse);
    if let (true, Some(deletion_id)) = (is_internal, restores) {
        if (*parse).commandType == pg_sys::CmdType::CMD_UPDATE {
            if let Some(managed) = managed_result_relation(parse) {
                let relid = (*result_rte(parse)).relid;
                delete::capture_restored_rows(parse, relid, &managed, deletion_id);
            }
        }
    }
    let planned = match PREVIOUS_PLANNER {
        Some(previous) => previous(parse, query_string, cursor_options, bound_params),
        None => pg_sys::standard_planner(parse, query_string, cursor_options, bound_params),
    };
    if top_level_delete {
        // The executor runs the ModifyTable node as an UPDATE; the command tag and the row
        // count reported to the client come from the statement's command type.
        (*planned).commandType = pg_sys::CmdType::CMD_DELETE;
    }
    planned
}

/// Rewrites the top-level statement and its data-modifying CTEs. Returns true when the
/// top-level statement was a DELETE that is now planned as a soft delete.
unsafe fn rewrite_statements(query: *mut pg_sys::Query) -> bool {
    let ctes = PgList::<pg_sys::CommonTableExpr>::from_pg((*query).cteList);
    for cte in ctes.iter_ptr() {
        let inner = (*cte).ctequery as *mut pg_sys::Query;
        if !inner.is_null() && (*inner).type_ == pg_sys::NodeTag::T_Query {
            rewrite_statement(inner);
        }
    }
    rewrite_statement(query)
}

unsafe fn rewrite_statement(query: *mut pg_sys::Query) -> bool {
    let Some(managed) = managed_result_relation(query) else {
        return false;
    };
    match (*query).commandType {
        pg_sys::CmdType::CMD_DELETE => {
            if hard_delete_allowed((*result_rte(query)).relid) {
                return false;
            }
            // SAFETY: reads backend-local security state.
            let referential_action = pg_sys::InNoForceRLSOperation();
            delete::plan_as_soft_delete(query, &managed, referential_action);
            true
        }
        pg_sys::CmdType::CMD_UPDATE => {
            writes::reject_marker_writes((*query).targetList, &managed, query);
            false
        }
        pg_sys::CmdType::CMD_INSERT => {
            writes::reject_marker_writes_on_insert(query, &managed);
            writes::arbitrate_among_active_rows(query, &managed);
            false
        }
        #[cfg(any(feature = "pg15", feature = "pg16", feature = "pg17", feature = "pg18"))]
        pg_sys::CmdType::CMD_MERGE => {
            writes::reject_merge(query, &managed);
            false
        }
        _ => false,
    }
}

/// A physical DELETE is allowed for a superuser who set `softdelete.allow_hard_delete`, and for
/// PostgreSQL's referential actions (`ON DELETE CASCADE`, which run in a "no force RLS"
/// security context) while purge() removes rows, on the tables its declared cascades reach.
/// Those rows are recorded as purge events. Any other DELETE planned in that context (a user
/// trigger that a referential action fired) is rejected when it reaches a row.
fn hard_delete_allowed(relid: pg_sys::Oid) -> bool {
    // SAFETY: reads backend-local security state.
    settings::allow_hard_delete() || (internal::purge_may_cascade_into(relid) && unsafe { pg_sys::InNoForceRLSOperation() })
}

unsafe fn managed_result_relation(query: *mut pg_sys::Query) -> Option<Managed> {
    let index = (*query).resultRelation;
    if index <= 0 {
        return None;
    }
    let rte = result_rte(query);
    if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION {
        return None;
    }
    catalog::lookup((*rte).relid)
}

pub(crate) unsafe fn result_rte(query: *mut pg_sys::Query) -> *mut pg_sys::RangeTblEntry {
    let index = (*query).resultRelation;
    pg_sys::list_nth((*query).rtable, index - 1) as *mut pg_sys::RangeTblEntry
}
