//! What hides deleted rows, and who may see them.
//!
//! `enable()` gives each managed table a RESTRICTIVE row-level security policy
//! `USING (deleted_at IS NULL OR softdelete._show_deleted('schema.table'::regclass))`.
//! `_show_deleted()` is declared IMMUTABLE on purpose. The planner folds it to a constant while
//! it plans, so the policy becomes the plain predicate `deleted_at IS NULL` (and can use partial
//! indexes declared with it) or disappears entirely. Because that constant is baked into cached plans, every change of
//! `softdelete.include_deleted` and every change of role membership resets the session's plan
//! cache, and PostgreSQL already re-plans RLS-dependent plans when the current role changes.

use std::ffi::c_void;

use pgrx::prelude::*;

use crate::internal;
use crate::settings::INCLUDE_DELETED;

/// Name of the role whose members may turn on `softdelete.include_deleted`.
pub const VIEWER_ROLE: &std::ffi::CStr = c"softdelete_viewer";

/// Returns true when deleted rows of table `relid` should be visible to the statement being
/// planned. Each table's policy passes its own OID as a constant.
///
/// True while the extension plans one of its own statements on exactly that table (restore,
/// purge, a cascade), and when `softdelete.include_deleted` is on for a member of
/// `softdelete_viewer`. Other managed tables that the statement reads, for example through a
/// row-level security policy of the table owner's, stay hidden.
#[pg_extern(immutable, parallel_safe, name = "_show_deleted")]
fn show_deleted(relid: pg_sys::Oid) -> bool {
    internal::planning_internal_for(relid) || (INCLUDE_DELETED.get() && current_role_may_view())
}

/// Returns true when the current role is a superuser or has the privileges of
/// `softdelete_viewer`.
pub fn current_role_may_view() -> bool {
    // SAFETY: called inside a transaction (planning or SET), where catalog lookups are valid.
    unsafe {
        if pg_sys::superuser() {
            return true;
        }
        let viewer = pg_sys::get_role_oid(VIEWER_ROLE.as_ptr(), true);
        viewer != pg_sys::InvalidOid && pg_sys::has_privs_of_role(pg_sys::GetUserId(), viewer)
    }
}

/// Rejects `SET softdelete.include_deleted = on` by a role that may not view deleted rows.
///
/// Only interactive sources are checked; values from configuration files or `ALTER ROLE` are
/// accepted here and still have no effect for such roles, because `_show_deleted()` checks the
/// role again each time a statement is planned.
#[pg_guard]
pub unsafe extern "C-unwind" fn check_include_deleted(
    newval: *mut bool,
    _extra: *mut *mut c_void,
    source: pg_sys::GucSource::Type,
) -> bool {
    if !*newval || source < pg_sys::GucSource::PGC_S_SESSION || !pg_sys::IsTransactionState() {
        return true;
    }
    if current_role_may_view() {
        return true;
    }
    pg_sys::GUC_check_errcode(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE as i32);
    pg_sys::GUC_check_errmsg_string = pg_sys::pstrdup(
        c"permission denied to set softdelete.include_deleted: the current role is not a member of softdelete_viewer".as_ptr(),
    );
    pg_sys::GUC_check_errhint_string =
        pg_sys::pstrdup(c"A superuser or the role's administrator can run GRANT softdelete_viewer TO <role>.".as_ptr());
    false
}

/// Invalidates cached plans, which carry the folded visibility decision.
#[pg_guard]
pub unsafe extern "C-unwind" fn assign_include_deleted(_newval: bool, _extra: *mut c_void) {
    pg_sys::ResetPlanCache();
}

/// Invalidates cached plans when `softdelete.allow_hard_delete` changes, because the planner
/// hook decides at plan time whether a DELETE is soft or hard.
#[pg_guard]
pub unsafe extern "C-unwind" fn reset_plans_on_change(_newval: bool, _extra: *mut c_void) {
    pg_sys::ResetPlanCache();
}

/// Invalidates cached plans when role membership changes, since a plan cached for a member of
/// `softdelete_viewer` must not outlive a REVOKE.
#[pg_guard]
unsafe extern "C-unwind" fn membership_changed(_arg: pg_sys::Datum, _cache_id: i32, _hash: u32) {
    pg_sys::ResetPlanCache();
}

pub fn register_callbacks() {
    // SAFETY: called once from _PG_init; the callback lives as long as the backend.
    unsafe {
        pg_sys::CacheRegisterSyscacheCallback(
            pg_sys::SysCacheIdentifier::AUTHMEMROLEMEM as i32,
            Some(membership_changed),
            pg_sys::Datum::from(0),
        );
    }
}
