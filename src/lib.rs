//! pg_softdelete: soft deletion as a property of the database.
//!
//! After `softdelete.enable(table)`, a plain DELETE on the table marks rows instead of removing
//! them, deleted rows disappear from normal queries, unique constraints hold among active rows,
//! and every delete, restore and purge is recorded in `softdelete.events`. `docs/design.md`
//! explains how the pieces below fit together.

use pgrx::prelude::*;

mod access;
mod audit;
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
mod purge;
mod references;
mod restore;
mod rows;
mod rules;
mod settings;
mod uniqueness;
mod visibility;

::pgrx::pg_module_magic!(name, version);

extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
extension_sql_file!("../sql/api.sql", name = "api", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::define();
    intercept::install();
    catalog::register_callbacks();
    visibility::register_callbacks();
    audit::register_callbacks();
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
