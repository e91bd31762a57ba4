//! purge(): remove soft-deleted rows for real.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;

use crate::access;
use crate::catalog;
use crate::error::{self, UserError};
use crate::foreign_keys::{self, column_list, Rule};
use crate::internal;
use crate::rows::{KeyedRow, RowState};

/// How deep purge follows foreign keys whose CASCADE rule is an override; PostgreSQL follows
/// declared CASCADE rules by itself, to any depth.
const MAX_OVERRIDE_DEPTH: usize = 16;

/// Removes the soft-deleted row of `relid` with primary key `key` for real, together with the
/// soft-deleted rows that reference it through CASCADE rules, and returns the number of rows
/// removed from `relid`. Called by `softdelete.purge(regclass, anyelement)`.
///
/// Only deleted rows can be purged, so a typo cannot erase live data: an active row raises
/// `55000`, a missing key `P0002`. The audit trigger records a purge event for every row
/// removed, which keeps the key and no other column of the row.
#[pg_extern(volatile, parallel_unsafe, name = "_purge_row")]
fn purge_row(relid: pg_sys::Oid, key: JsonB) -> i64 {
    let row = KeyedRow::resolve(relid, key, "purge");
    access::require(access::PURGER_ROLE, relid, &row.table, "purge");
    Spi::connect_mut(|client| {
        let at = row.column(&row.managed.deleted_at.name);
        let source = Source { relid, table: row.table.clone(), filter: format!("{} AND {{alias}}.{at} IS NOT NULL", row.key_condition_for("{alias}", 1)) };
        let args = row.key_args();
        let _scope = internal::HardDeleteScope::enter();
        purge_overridden_children(client, &source, &args, 0);
        let sql = format!("DELETE FROM {} p WHERE {}", row.table, source.filter_for("p"));
        let purged = internal::update(client, &sql, &args);
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

/// Rows of one table, selected by a condition written against the placeholder `{alias}`.
struct Source {
    relid: pg_sys::Oid,
    table: String,
    filter: String,
}

impl Source {
    fn filter_for(&self, alias: &str) -> String {
        self.filter.replace("{alias}", alias)
    }
}

/// Removes the soft-deleted rows that reference `source` through a foreign key whose CASCADE
/// rule is a DBA override: PostgreSQL's own referential action would reject the parent's
/// removal (the declared rule is not CASCADE), so the children go first.
fn purge_overridden_children(client: &mut SpiClient<'_>, source: &Source, args: &[DatumWithOid<'_>], depth: usize) {
    if depth >= MAX_OVERRIDE_DEPTH {
        return;
    }
    let alias = format!("p{depth}");
    for fk in foreign_keys::referencing(source.relid) {
        if fk.rule != Rule::Cascade || fk.declared == Rule::Cascade {
            continue;
        }
        let Some(child) = catalog::lookup(fk.child) else { continue };
        let child_alias = format!("c{depth}");
        let filter = format!(
            "({fk_columns}) IN (SELECT {parent_columns} FROM {table} {alias} WHERE {parent_filter}) AND {{alias}}.{at} IS NOT NULL",
            fk_columns = column_list("{alias}", &fk.child_columns),
            parent_columns = column_list(&alias, &fk.parent_columns),
            table = source.table,
            parent_filter = source.filter_for(&alias),
            at = spi::quote_identifier(&child.deleted_at.name),
        );
        let child_source = Source { relid: fk.child, table: fk.child_table.clone(), filter };
        purge_overridden_children(client, &child_source, args, depth + 1);
        let sql = format!("DELETE FROM {} {child_alias} WHERE {}", fk.child_table, child_source.filter_for(&child_alias));
        internal::update(client, &sql, args);
    }
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
