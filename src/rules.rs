//! Per-relationship overrides of the ON DELETE rule.

use pgrx::prelude::*;

use crate::access;
use crate::catalog;
use crate::error::{self, UserError};
use crate::foreign_keys::Rule;
use crate::internal;

/// Makes foreign key `constraint_name` of table `child` follow `on_delete` ('cascade',
/// 'restrict', 'no action', 'set null', 'set default') when rows it references are
/// soft-deleted; NULL removes the override. Called by `softdelete.set_foreign_key_rule()`.
#[pg_extern(volatile, parallel_unsafe, name = "_set_foreign_key_rule")]
fn set_foreign_key_rule(child: pg_sys::Oid, constraint_name: &str, on_delete: Option<&str>) {
    let child_table = catalog::qualified_name(child);
    access::require_owner(child, &child_table);
    let rule = on_delete.map(|text| {
        Rule::parse(&text.to_lowercase()).unwrap_or_else(|| {
            UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("invalid ON DELETE rule \"{text}\""))
                .hint("Use one of: cascade, restrict, no action, set null, set default; or NULL to remove the override.")
                .raise()
        })
    });
    let sql = "SELECT confrelid FROM pg_catalog.pg_constraint \
               WHERE conrelid = $1 AND conname = $2 AND contype = 'f'";
    let parent = Spi::get_one_with_args::<pg_sys::Oid>(sql, &[child.into(), constraint_name.into()]).ok().flatten();
    let Some(parent) = parent else {
        UserError::new(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("foreign key constraint \"{constraint_name}\" of table {child_table} does not exist"),
        )
        .hint("List the foreign keys with SELECT * FROM softdelete.foreign_key_rules.")
        .raise()
    };
    if rule.is_some_and(Rule::changes_children) && catalog::lookup(child).is_none() && catalog::lookup(parent).is_some() {
        UserError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("cannot make foreign key \"{constraint_name}\" follow ON DELETE {}: table {child_table} is not managed by pg_softdelete", rule.map(Rule::as_sql).unwrap_or_default()),
        )
        .hint(format!("Run SELECT softdelete.enable({}) first.", spi::quote_literal(&child_table)))
        .raise()
    }
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        let write = match rule {
            Some(_) => "INSERT INTO softdelete.foreign_key_overrides (child_table, constraint_name, on_delete) \
                        VALUES ($1::pg_catalog.regclass, $2, $3) \
                        ON CONFLICT (child_table, constraint_name) DO UPDATE SET on_delete = excluded.on_delete",
            None => "DELETE FROM softdelete.foreign_key_overrides \
                     WHERE child_table = $1::pg_catalog.regclass AND constraint_name = $2 AND $3::text IS NULL",
        };
        let args = [child.into(), constraint_name.into(), rule.map(|r| r.as_sql().to_lowercase()).into()];
        error::spi("rules::set_foreign_key_rule", Spi::run_with_args(write, &args));
    });
    // SAFETY: invalidation of relations that exist; cached foreign-key rules are dropped.
    unsafe {
        pg_sys::CacheInvalidateRelcacheByRelid(parent);
        pg_sys::CacheInvalidateRelcacheByRelid(child);
    }
    match rule {
        Some(rule) => error::notice(format!(
            "foreign key \"{constraint_name}\" of table {child_table} now follows ON DELETE {} for soft deletes",
            rule.as_sql()
        )),
        None => error::notice(format!("foreign key \"{constraint_name}\" of table {child_table} follows its declared rule again")),
    }
}
