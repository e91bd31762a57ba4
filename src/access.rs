//! Who may restore and purge.

use std::ffi::CStr;

use pgrx::prelude::*;

use crate::error::UserError;

pub const RESTORER_ROLE: &CStr = c"softdelete_restorer";
pub const PURGER_ROLE: &CStr = c"softdelete_purger";

/// Raises `42501` unless the current role is a superuser, owns the table, or has the
/// privileges of `role`. The statement that follows still runs with the current role's own
/// table privileges and row-level security policies.
pub fn require(role: &CStr, relid: pg_sys::Oid, table: &str, action: &str) {
    // SAFETY: catalog lookups inside a transaction.
    let allowed = unsafe {
        let user = pg_sys::GetUserId();
        let role_oid = pg_sys::get_role_oid(role.as_ptr(), true);
        pg_sys::superuser()
            || owns(relid, user)
            || (role_oid != pg_sys::InvalidOid && pg_sys::has_privs_of_role(user, role_oid))
    };
    if !allowed {
        let role = role.to_string_lossy();
        UserError::new(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied to {action} rows of table {table}"),
        )
        .hint(format!("Ask an administrator to GRANT {role} TO {}.", spi::quote_identifier(crate::settings::current_role_name())))
        .raise()
    }
}

#[cfg(any(feature = "pg13", feature = "pg14", feature = "pg15"))]
unsafe fn owns(relid: pg_sys::Oid, user: pg_sys::Oid) -> bool {
    pg_sys::pg_class_ownercheck(relid, user)
}

#[cfg(not(any(feature = "pg13", feature = "pg14", feature = "pg15")))]
unsafe fn owns(relid: pg_sys::Oid, user: pg_sys::Oid) -> bool {
    pg_sys::object_ownercheck(pg_sys::RelationRelationId, relid, user)
}

/// Raises `42501` unless the current role owns the table (or is a superuser), as ALTER TABLE
/// would.
pub fn require_owner(relid: pg_sys::Oid, table: &str) {
    // SAFETY: catalog lookups inside a transaction.
    let allowed = unsafe { pg_sys::superuser() || owns(relid, pg_sys::GetUserId()) };
    if !allowed {
        UserError::new(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("must be owner of table {table}"))
            .hint("Run this as the table's owner or a superuser.")
            .raise()
    }
}
