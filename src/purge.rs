//! purge(): remove soft-deleted rows for real.
//!
//! Purge is final and never reachable through a plain DELETE. Every row removed for real, by
//! any path, is recorded as a purge event by the audit trigger, which also rejects the removal
//! of held rows and erases row data from the audit trail (see `privacy.rs`).

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;

use crate::access;
use crate::catalog;
use crate::error::{self, UserError};
use crate::foreign_keys::{self, column_list, Rule};
use crate::internal;
use crate::restore;
use crate::rows::{KeyedRow, RowState};

/// How deep purge follows foreign keys whose CASCADE rule is an override; PostgreSQL follows
/// declared CASCADE rules by itself, to any depth.
const MAX_OVERRIDE_DEPTH: usize = 16;

/// Removes the row of `relid` with primary key `key` for real, together with the soft-deleted
/// rows that reference it through CASCADE rules, and returns the number of rows removed from
/// `relid`. Called by `softdelete.purge(regclass, anyelement, boolean)`.
///
/// Only deleted rows can be purged unless `include_active` is true, so a typo cannot erase live
/// data: an active row raises `55000`, a missing key `P0002`. With `include_active`, an active
/// row is soft-deleted first (a deletion of its own, with its cascades) and then purged.
#[pg_extern(volatile, parallel_unsafe, name = "_purge_row")]
fn purge_row(relid: pg_sys::Oid, key: Option<JsonB>, include_active: bool) -> i64 {
    let row = KeyedRow::resolve(relid, key, "purge");
    access::require(access::PURGER_ROLE, relid, &row.table, "purge");
    Spi::connect_mut(|client| purge_keyed_row(client, &row, include_active) as i64)
}

fn purge_keyed_row(client: &mut SpiClient<'_>, row: &KeyedRow, include_active: bool) -> u64 {
    match row.state(client) {
        RowState::Missing => row.raise_missing(),
        RowState::Active if !include_active => raise_not_deleted(row),
        RowState::Active => {
            // A user statement, so that the planner hook soft-deletes the row and its cascade.
            let sql = format!("DELETE FROM {} WHERE {}", row.table, row.key_condition(1));
            error::spi("purge::purge_keyed_row", client.update(sql.as_str(), None, &row.key_args()));
        }
        RowState::Deleted { .. } => {}
    }
    let at = row.column(&row.managed.deleted_at.name);
    let key_row = row.clone_for_filter();
    let source = Source {
        relid: row.relid,
        table: row.table.clone(),
        filter: Box::new(move |alias: &str| format!("{} AND {alias}.{at} IS NOT NULL", key_row.key_condition_for(alias, 1))),
        tables: vec![row.relid],
    };
    let purged = purge_source(client, &source, &row.key_args());
    if purged == 0 {
        raise_not_deleted(row);
    }
    error::notice(format!("purged {purged} row of table {}", row.table));
    purged
}

/// Removes every row that deletion `deletion_id` soft-deleted and that is still deleted, with
/// the soft-deleted rows referencing them through CASCADE rules, and returns how many rows of
/// the deletion were removed. Called by `softdelete.purge_deletion(bigint)`.
#[pg_extern(volatile, parallel_unsafe)]
fn purge_deletion(deletion_id: i64) -> i64 {
    Spi::connect_mut(|client| purge_deletion_rows(client, deletion_id, true) as i64)
}

/// Purges what is left of a deletion; with `strict`, raises `55000` when nothing is left.
pub fn purge_deletion_rows(client: &mut SpiClient<'_>, deletion_id: i64, strict: bool) -> u64 {
    let tables = restore::deletion_tables(client, deletion_id);
    let mut purged = 0;
    // Referencing tables come after the tables they reference in the audit trail, so going
    // backwards removes children before their parents.
    for entry in tables.iter().rev() {
        let Some(managed) = catalog::lookup(entry.relid) else { continue };
        let table = catalog::qualified_name(entry.relid);
        access::require(access::PURGER_ROLE, entry.relid, &table, "purge");
        let deletion = spi::quote_identifier(&managed.deletion_id.name);
        let at = spi::quote_identifier(&managed.deleted_at.name);
        let source = Source {
            relid: entry.relid,
            table,
            filter: Box::new(move |alias: &str| format!("{alias}.{deletion} = $1 AND {alias}.{at} IS NOT NULL")),
            tables: vec![entry.relid],
        };
        purged += purge_source(client, &source, &[deletion_id.into()]);
    }
    if purged == 0 && !strict {
        return 0;
    }
    if purged == 0 {
        UserError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("deletion {deletion_id} has no soft-deleted rows left to purge"),
        )
        .detail("Its rows were restored or purged already.")
        .raise()
    }
    error::notice(format!("purged {purged} row(s) of deletion {deletion_id}"));
    purged
}

/// Lists what `softdelete.purge(tbl, key, include_active)` would remove, every table of a
/// cascade included, by running it in a subtransaction that is rolled back.
#[pg_extern(volatile, parallel_unsafe, name = "_purge_preview")]
fn purge_preview(
    relid: pg_sys::Oid,
    key: Option<JsonB>,
    include_active: bool,
) -> TableIterator<'static, (name!(table_name, String), name!(key, JsonB))> {
    let row = KeyedRow::resolve(relid, key, "purge_preview");
    access::require(access::PURGER_ROLE, relid, &row.table, "purge");
    TableIterator::new(dry_run(|client| {
        purge_keyed_row(client, &row, include_active);
    }))
}

/// Lists what `softdelete.purge_deletion(id)` would remove, by running it in a subtransaction
/// that is rolled back.
#[pg_extern(volatile, parallel_unsafe)]
fn purge_deletion_preview(deletion_id: i64) -> TableIterator<'static, (name!(table_name, String), name!(key, JsonB))> {
    TableIterator::new(dry_run(|client| {
        purge_deletion_rows(client, deletion_id, true);
    }))
}

/// Runs `purge` in a rolled-back subtransaction and returns the purge events it wrote.
fn dry_run(purge: impl FnOnce(&mut SpiClient<'_>)) -> Vec<(String, JsonB)> {
    let owner = catalog::extension_owner();
    let quiet = "SELECT pg_catalog.set_config('softdelete.notices', 'off', true)";
    internal::in_rolled_back_subtransaction(|| {
        Spi::connect_mut(|client| {
            error::spi("purge::dry_run", client.update(quiet, None, &[]));
            let before = "SELECT greatest((SELECT max(event_id) FROM softdelete.event_log), \
                                   (SELECT max(event_id) FROM softdelete.event_batches), 0)";
            let last: i64 = internal::as_extension_owner(owner, || {
                client.select(before, None, &[]).ok().and_then(|rows| rows.first().get_one::<i64>().ok().flatten())
            })
            .unwrap_or(0);
            purge(client);
            let sql = "SELECT b.table_name, k.key::jsonb FROM softdelete.event_batches b \
                       CROSS JOIN LATERAL pg_catalog.unnest(b.keys) WITH ORDINALITY AS k(key, n) \
                       WHERE b.event_id > $1 AND b.operation = 'purge' ORDER BY b.event_id, k.n";
            internal::as_extension_owner(owner, || {
                let rows = error::spi("purge::dry_run", client.select(sql, None, &[last.into()]));
                rows.filter_map(|row| Some((row.get::<String>(1).ok()??, row.get::<JsonB>(2).ok()??))).collect()
            })
        })
    })
}

/// Rows of one table, selected by a condition built for a given table alias.
struct Source {
    relid: pg_sys::Oid,
    table: String,
    filter: Box<dyn Fn(&str) -> String>,
    /// This table and the tables whose soft-deleted rows the filter reads.
    tables: Vec<pg_sys::Oid>,
}

impl Source {
    fn filter_for(&self, alias: &str) -> String {
        (self.filter)(alias)
    }
}

/// Removes the rows of `source` (and first their soft-deleted children under overridden
/// CASCADE rules) for real; returns the number of rows of `source` removed.
fn purge_source(client: &mut SpiClient<'_>, source: &Source, args: &[DatumWithOid<'_>]) -> u64 {
    let _scope = internal::HardDeleteScope::enter();
    internal::allow_cascades_from(source.relid);
    purge_overridden_children(client, source, args, 0);
    let sql = format!("DELETE FROM {} p WHERE {}", source.table, source.filter_for("p"));
    internal::update_tables(client, &source.tables, &sql, args)
}

/// Removes the soft-deleted rows that reference `source` through a foreign key whose CASCADE
/// rule is an override: PostgreSQL's own referential action would reject the parent's removal
/// (the declared rule is not CASCADE), so the children go first.
///
/// The referenced values of the source rows are read first, into a jsonb parameter, so that
/// each statement sees the deleted rows of one table only: a row-level security policy of a
/// referencing table's owner must not see the soft-deleted rows of the table it references.
fn purge_overridden_children(client: &mut SpiClient<'_>, source: &Source, args: &[DatumWithOid<'_>], depth: usize) {
    if depth >= MAX_OVERRIDE_DEPTH {
        return;
    }
    for fk in foreign_keys::referencing(source.relid) {
        if fk.rule != Rule::Cascade || fk.declared == Rule::Cascade {
            continue;
        }
        let Some(child) = catalog::lookup(fk.child) else { continue };
        let pairs: Vec<String> = fk
            .parent_columns
            .iter()
            .map(|column| format!("{}, p.{}", spi::quote_literal(column), spi::quote_identifier(column)))
            .collect();
        let select = format!(
            "SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object({})), '[]') FROM {} p WHERE {}",
            pairs.join(", "),
            source.table,
            source.filter_for("p")
        );
        let referenced = internal::returning_jsonb(client, source.relid, &select, args).into_iter().next();
        let Some(referenced) = referenced else { continue };
        // SAFETY: each copy refers to the same datum as the caller's argument, which outlives
        // this call.
        let mut child_args: Vec<DatumWithOid> =
            args.iter().map(|arg| unsafe { DatumWithOid::new_from_datum(arg.datum(), arg.oid()) }).collect();
        child_args.push(referenced.into());
        let param = child_args.len();
        let at = spi::quote_identifier(&child.deleted_at.name);
        let child_columns = fk.child_columns.clone();
        let referenced_columns = fk.parent_columns.clone();
        let parent_table = source.table.clone();
        let filter = Box::new(move |outer: &str| {
            format!(
                "({}) IN (SELECT {} FROM pg_catalog.jsonb_populate_recordset(NULL::{parent_table}, ${param}) r) \
                 AND {outer}.{at} IS NOT NULL",
                column_list(outer, &child_columns),
                column_list("r", &referenced_columns),
            )
        });
        let child_source = Source { relid: fk.child, table: fk.child_table.clone(), filter, tables: vec![fk.child] };
        internal::allow_cascades_from(fk.child);
        purge_overridden_children(client, &child_source, &child_args, depth + 1);
        let child_alias = format!("c{depth}");
        let sql = format!("DELETE FROM {} {child_alias} WHERE {}", fk.child_table, child_source.filter_for(&child_alias));
        internal::update_tables(client, &child_source.tables, &sql, &child_args);
    }
}

fn raise_not_deleted(row: &KeyedRow) -> ! {
    UserError::new(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("row with key {} in table {} is not deleted", row.key_json, row.table),
    )
    .detail("purge() removes only soft-deleted rows, so that a wrong key cannot erase live data.")
    .hint("DELETE the row first, or pass include_active => true to delete and purge it in one step.")
    .raise()
}
