//! New references to soft-deleted rows are rejected.
//!
//! PostgreSQL's own foreign-key checks see every physical row, deleted or not, so they accept a
//! new row that references a soft-deleted parent. Every table with a foreign key to a managed
//! table gets two statement-level triggers (AFTER INSERT and AFTER UPDATE, with a transition
//! table) that raise `23503` when an active row references a soft-deleted one, also when the
//! session can see deleted rows: the setting changes what a role sees, not integrity.

use std::cell::RefCell;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::catalog;
use crate::error::{self, UserError};
use crate::foreign_keys::{self, column_list, plain_list};
use crate::internal;

thread_local! {
    /// Deletions being cascaded or restored right now. Their own rows are meanwhile referenced
    /// by rows not reached yet (a second SET NULL key of the same row, a child restored before
    /// its parent), so the check skips them. The cascade's own checks and the end of the
    /// restore settle those rows.
    static IN_PROGRESS: RefCell<Vec<i64>> = const { RefCell::new(Vec::new()) };
}

/// Marks a deletion as in progress until dropped.
pub struct DeletionInProgress;

impl DeletionInProgress {
    pub fn enter(deletion_id: i64) -> Self {
        IN_PROGRESS.with(|ids| ids.borrow_mut().push(deletion_id));
        DeletionInProgress
    }
}

impl Drop for DeletionInProgress {
    fn drop(&mut self) {
        IN_PROGRESS.with(|ids| {
            if let Ok(mut ids) = ids.try_borrow_mut() {
                ids.pop();
            }
        });
    }
}

pub const INSERT_TRIGGER: &str = "softdelete_reference_insert";
pub const UPDATE_TRIGGER: &str = "softdelete_reference_update";
const ROWS: &str = "softdelete_new_references";

#[pg_trigger]
fn _reference_trigger<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, PgTriggerError> {
    let relid = trigger.relid()?;
    let references = foreign_keys::references_to_managed(relid);
    if references.is_empty() {
        return Ok(None);
    }
    let table = catalog::qualified_name(relid);
    let active = match catalog::lookup(relid) {
        Some(child) => format!(" AND n.{} IS NULL", spi::quote_identifier(&child.deleted_at.name)),
        None => String::new(),
    };
    let trigger_data = trigger.trigger_data() as *const pg_sys::TriggerData as *mut pg_sys::TriggerData;
    let owner = catalog::extension_owner();
    Spi::connect_mut(|client| {
        // SAFETY: the trigger data outlives this SPI connection.
        unsafe { pg_sys::SPI_register_trigger_data(trigger_data) };
        for reference in &references {
            let Some(parent) = catalog::lookup(reference.parent) else { continue };
            let values: Vec<String> =
                reference.child_columns.iter().map(|c| format!("pg_catalog.format('%s', n.{})", spi::quote_identifier(c))).collect();
            let sql = format!(
                "SELECT pg_catalog.concat_ws(', ', {values}), p.{deletion_id} \
                 FROM {rows} n JOIN {parent_table} p ON ({parent_columns}) = ({child_columns}) \
                 WHERE p.{deleted_at} IS NOT NULL AND NOT coalesce(p.{deletion_id} = ANY ($1), false){active} LIMIT 1",
                values = values.join(", "),
                deletion_id = spi::quote_identifier(&parent.deletion_id.name),
                rows = spi::quote_identifier(ROWS),
                parent_table = reference.parent_table,
                parent_columns = column_list("p", &reference.parent_columns),
                child_columns = column_list("n", &reference.child_columns),
                deleted_at = spi::quote_identifier(&parent.deleted_at.name),
            );
            // Lock the referenced rows FOR SHARE first. That waits for a transaction that is
            // soft-deleting one of them, whose row lock does not conflict with the FOR KEY SHARE
            // of PostgreSQL's own check, and the check below then reads its outcome. Row
            // versions this transaction wrote itself (the parents a restore brought back just
            // before) are invisible to other transactions, so they need no lock.
            let lock = format!(
                "SELECT 1 FROM {parent_table} p WHERE ({parent_columns}) IN (SELECT {child_columns} FROM {rows} n WHERE true{active}) \
                   AND NOT p.xmin OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()::pg_catalog.xid \
                 FOR SHARE OF p",
                parent_table = reference.parent_table,
                parent_columns = column_list("p", &reference.parent_columns),
                child_columns = column_list("n", &reference.child_columns),
                rows = spi::quote_identifier(ROWS),
            );
            internal::as_extension_owner(owner, || {
                error::spi("references::lock", client.update(lock.as_str(), None, &[]));
            });
            let in_progress: Vec<i64> = IN_PROGRESS.with(|ids| ids.borrow().clone());
            let found = internal::as_extension_owner(owner, || {
                let rows = error::spi("references", client.select(sql.as_str(), None, &[in_progress.into()]));
                rows.into_iter()
                    .next()
                    .map(|row| (row.get::<String>(1).ok().flatten().unwrap_or_default(), row.get::<i64>(2).ok().flatten()))
            });
            if let Some((values, deletion)) = found {
                let hint = match deletion {
                    Some(id) => format!("Reference an active row, or restore the referenced one first: SELECT softdelete.restore_deletion({id});"),
                    None => "Reference an active row, or restore the referenced one first with softdelete.restore().".to_string(),
                };
                UserError::new(
                    PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
                    format!(
                        "insert or update on table {table} violates foreign key constraint {}",
                        spi::quote_identifier(&reference.name)
                    ),
                )
                .detail(format!(
                    "Key ({})=({values}) refers to a soft-deleted row of table {}.",
                    plain_list(&reference.child_columns),
                    reference.parent_table
                ))
                .hint(hint)
                .raise()
            }
        }
    });
    Ok(None)
}

/// Installs the reference triggers on `relid` and its partitions when it references a managed
/// table, and removes them when it no longer does.
pub fn refresh_triggers(client: &mut SpiClient<'_>, relid: pg_sys::Oid) {
    let needed = !foreign_keys::references_to_managed(relid).is_empty();
    let sql = "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), \
                      EXISTS (SELECT FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = $2) \
               FROM (SELECT $1::pg_catalog.regclass AS relid \
                     UNION SELECT relid FROM pg_catalog.pg_partition_tree($1::pg_catalog.regclass)) p \
               JOIN pg_catalog.pg_class c ON c.oid = p.relid \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace";
    let tables: Vec<(String, bool)> = {
        let rows = error::spi("references::refresh_triggers", client.select(sql, None, &[relid.into(), INSERT_TRIGGER.into()]));
        rows.map(|row| {
            (row.get::<String>(1).ok().flatten().unwrap_or_default(), row.get::<bool>(2).ok().flatten().unwrap_or(false))
        })
        .collect()
    };
    for (table, present) in tables {
        let statements: Vec<String> = if needed && !present {
            [("INSERT", INSERT_TRIGGER), ("UPDATE", UPDATE_TRIGGER)]
                .iter()
                .map(|(event, name)| {
                    format!(
                        "CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING NEW TABLE AS {ROWS} \
                         FOR EACH STATEMENT EXECUTE FUNCTION softdelete._reference_trigger()"
                    )
                })
                .collect()
        } else if !needed && present {
            [INSERT_TRIGGER, UPDATE_TRIGGER].iter().map(|name| format!("DROP TRIGGER IF EXISTS {name} ON {table}")).collect()
        } else {
            Vec::new()
        };
        for statement in statements {
            error::spi("references::refresh_triggers", client.update(statement.as_str(), None, &[]));
        }
    }
}

/// Installs or removes the reference triggers of one table after DDL changed its foreign keys.
/// The extension's event trigger calls it for every CREATE TABLE and ALTER TABLE.
#[pg_extern(volatile, parallel_unsafe, name = "_refresh_reference_checks")]
fn refresh_reference_checks(relid: pg_sys::Oid) {
    Spi::connect_mut(|client| refresh_triggers(client, relid));
}
