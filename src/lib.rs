//! pg_softdelete: soft deletion as a property of the database.
//!
//! After `softdelete.enable(table)`, a plain DELETE on the table marks rows instead of removing
//! them, deleted rows disappear from normal queries, unique constraints hold among active rows,
//! and every delete, restore and purge is recorded in `softdelete.events`. `docs/design.md`
//! explains how the pieces below fit together.

use pgrx::prelude::*;

mod access;
mod anonymize;
mod audit;
mod capture;
mod cascade;
mod catalog;
mod disable;
mod enable;
mod error;
mod foreign_keys;
mod guard;
mod intercept;
mod internal;
mod preview;
mod privacy;
mod purge;
mod references;
mod restore;
mod retention;
mod rows;
mod rules;
mod settings;
mod uniqueness;
mod visibility;

::pgrx::pg_module_magic!(name, version);

extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
extension_sql_file!("../sql/api.sql", name = "api", finalize);

/// True when the library was loaded through `shared_preload_libraries`, so that every session
/// plans with the hook from its first statement.
pub static PRELOADED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // SAFETY: a plain read of a flag PostgreSQL sets while it loads preloaded libraries.
    let preloading = unsafe { pg_sys::process_shared_preload_libraries_in_progress };
    PRELOADED.store(preloading, std::sync::atomic::Ordering::Relaxed);
    settings::define();
    intercept::install();
    catalog::register_callbacks();
    visibility::register_callbacks();
    audit::register_callbacks();
    capture::install();
    cascade::register_callbacks();
}

/// Tests of Rust internals against a real server; the SQL behaviour is tested by pg_regress.
#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    include!("tests.rs");
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'pg_softdelete'"]
    }
}
