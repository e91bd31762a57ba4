//! The `softdelete.*` settings.

use std::ffi::{CStr, CString};

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;

use crate::visibility;

static ACTOR: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static REASON: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub(crate) static INCLUDE_DELETED: GucSetting<bool> = GucSetting::<bool>::new(false);
static ALLOW_HARD_DELETE: GucSetting<bool> = GucSetting::<bool>::new(false);
static NOTICES: GucSetting<bool> = GucSetting::<bool>::new(true);

/// Registers the settings; called once from `_PG_init`.
pub fn define() {
    GucRegistry::define_string_guc(
        c"softdelete.actor",
        c"Application-supplied identity recorded as deleted_by and in audit events.",
        c"Empty means the current database role is recorded. Set it per transaction with SET LOCAL.",
        &ACTOR,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"softdelete.reason",
        c"Free-text reason recorded in the audit events of deletes, restores and purges.",
        c"",
        &REASON,
        GucContext::Userset,
        GucFlags::default(),
    );
    // SAFETY: both hooks are #[pg_guard] functions that only read settings and catalogs.
    unsafe {
        GucRegistry::define_bool_guc_with_hooks(
            c"softdelete.include_deleted",
            c"Shows soft-deleted rows of managed tables to members of softdelete_viewer.",
            c"Roles that are not members of softdelete_viewer cannot turn it on.",
            &INCLUDE_DELETED,
            GucContext::Userset,
            GucFlags::default(),
            Some(visibility::check_include_deleted),
            Some(visibility::assign_include_deleted),
            None,
        );
    }
    // SAFETY: the assign hook is a #[pg_guard] function that only resets the plan cache.
    unsafe {
        GucRegistry::define_bool_guc_with_hooks(
            c"softdelete.allow_hard_delete",
            c"Lets DELETE and TRUNCATE remove rows of managed tables for real (superusers only).",
            c"Every row removed this way is recorded as a purge event.",
            &ALLOW_HARD_DELETE,
            GucContext::Suset,
            GucFlags::default(),
            None,
            Some(visibility::reset_plans_on_change),
            None,
        );
    }
    GucRegistry::define_bool_guc(
        c"softdelete.notices",
        c"Reports what enable(), disable(), restore() and purge() changed as NOTICE messages.",
        c"",
        &NOTICES,
        GucContext::Userset,
        GucFlags::default(),
    );
}

fn non_empty(value: Option<CString>) -> Option<String> {
    value.map(|v| v.to_string_lossy().into_owned()).filter(|v| !v.is_empty())
}

/// Returns the actor to record: `softdelete.actor` when set, else the current role.
pub fn actor() -> String {
    non_empty(ACTOR.get()).unwrap_or_else(current_role_name)
}

pub fn reason() -> Option<String> {
    non_empty(REASON.get())
}

pub fn allow_hard_delete() -> bool {
    ALLOW_HARD_DELETE.get()
}

pub fn notices_enabled() -> bool {
    NOTICES.get()
}

/// Returns the name of the role whose privileges are in effect (`current_user`).
pub fn current_role_name() -> String {
    // SAFETY: GetUserId is always valid inside a transaction; noerr = true returns NULL
    // instead of raising for a dropped role.
    unsafe {
        let name = pg_sys::GetUserNameFromId(pg_sys::GetUserId(), true);
        if name.is_null() {
            String::from("unknown")
        } else {
            CStr::from_ptr(name).to_string_lossy().into_owned()
        }
    }
}
