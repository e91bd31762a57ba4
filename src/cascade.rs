//! Foreign keys honoured in soft form when rows are soft-deleted.
//!
//! Called by the audit trigger of a parent table after a soft delete, with the statement's
//! transition table still registered, for every foreign key that references the table:
//! - CASCADE soft-deletes the active referencing rows in the same deletion; their own audit
//!   trigger then cascades further, and `deleted_at IS NULL` stops cycles and self-references;
//! - SET NULL and SET DEFAULT change the active referencing rows and record the old values as
//!   `unlink` events of the deletion, so that restore can put them back;
//! - RESTRICT and NO ACTION raise `23503` while an active row still references a deleted one.
//!
//! Like PostgreSQL's own referential actions, the changes to a referencing table run with the
//! privileges of that table's owner, and the checks run with the extension owner's privileges
//! so that no row-level security policy hides a referencing row.

use std::cell::RefCell;

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;

use crate::audit::{self, Operation, Initiator};
use crate::catalog::{self, Managed};
use crate::error::{self, UserError};
use crate::foreign_keys::{self, column_list, plain_list, ForeignKey, Rule};
use crate::internal;
use crate::references;

/// One soft delete of parent rows, as the cascade needs it.
pub struct ParentRows<'a> {
    pub relid: pg_sys::Oid,
    pub table: &'a str,
    pub managed: &'a Managed,
    /// The name of the registered transition table holding the parent rows.
    pub rows: &'a str,
    pub deletion_id: i64,
    pub initiator: &'a Initiator,
}

impl ParentRows<'_> {
    /// `SELECT r."a", r."b" FROM rows r WHERE r.deletion_id = $n`: the referenced columns of
    /// the rows this deletion marked.
    fn referenced_keys(&self, columns: &[String], param: usize) -> String {
        format!(
            "SELECT {} FROM {} r WHERE r.{} = ${param}",
            column_list("r", columns),
            spi::quote_identifier(self.rows),
            spi::quote_identifier(&self.managed.deletion_id.name),
        )
    }
}

/// Applies every foreign-key rule to the rows of one deletion.
pub fn apply(client: &mut SpiClient<'_>, parent: &ParentRows<'_>) {
    let _in_progress = references::DeletionInProgress::enter(parent.deletion_id);
    let keys = foreign_keys::referencing(parent.relid);
    if !keys.is_empty() {
        lock_deleted_rows(client, parent);
    }
    for fk in keys.iter().filter(|fk| fk.rule == Rule::Cascade) {
        cascade(client, parent, fk);
    }
    for fk in keys.iter().filter(|fk| matches!(fk.rule, Rule::SetNull | Rule::SetDefault)) {
        unlink(client, parent, fk);
    }
    for fk in keys.iter().filter(|fk| matches!(fk.rule, Rule::Restrict | Rule::NoAction)) {
        check_not_referenced(client, parent, fk);
    }
}

/// Returns the referencing table's description, or None when it is not managed and no row of
/// it references the deleted rows. Raises `55000` when an unmanaged table does reference them:
/// its rows can neither be soft-deleted nor left pointing at a deleted row.
fn managed_child(client: &mut SpiClient<'_>, parent: &ParentRows<'_>, fk: &ForeignKey) -> Option<Managed> {
    if let Some(managed) = catalog::lookup(fk.child) {
        return Some(managed);
    }
    let sql = referencing_rows_sql(fk, &parent.referenced_keys(&fk.parent_columns, 1));
    first_referencing_row(client, &sql, parent.deletion_id)?;
    {
        UserError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "cannot soft-delete rows of table {}: foreign key {} on table {} has rule ON DELETE {}, but {} is not managed by pg_softdelete",
                parent.table, spi::quote_identifier(&fk.name), fk.child_table, fk.rule.as_sql(), fk.child_table
            ),
        )
        .hint(format!(
            "Run SELECT softdelete.enable({}), or change the rule with softdelete.set_foreign_key_rule().",
            spi::quote_literal(&fk.child_table)
        ))
        .raise()
    }
}

fn cascade(client: &mut SpiClient<'_>, parent: &ParentRows<'_>, fk: &ForeignKey) {
    let Some(child) = managed_child(client, parent, fk) else { return };
    let at = spi::quote_identifier(&child.deleted_at.name);
    let direct = format!(
        "({}) IN ({}) AND c.{at} IS NULL",
        column_list("c", &fk.child_columns),
        parent.referenced_keys(&fk.parent_columns, 2),
    );
    let condition = if fk.child == parent.relid { whole_subtree(fk, &at, &direct) } else { direct };
    let sql = format!(
        "UPDATE {table} c SET {at} = pg_catalog.now(), {by} = $1, {id} = $2 WHERE {condition}",
        table = fk.child_table,
        by = spi::quote_identifier(&child.deleted_by.name),
        id = spi::quote_identifier(&child.deletion_id.name),
    );
    audit::expect_via(fk.child, Operation::Delete, parent.deletion_id, parent.initiator.clone(), Some(fk.name.clone()));
    let args: Vec<DatumWithOid> = vec![parent.initiator.actor.clone().into(), parent.deletion_id.into()];
    internal::as_role(fk.child_owner, || internal::update(client, fk.child, &sql, &args));
}

/// Returns, for a self-referencing key (an employee's `reports_to`), the condition that selects
/// the whole active subtree below the deleted rows with a recursive query. A deep hierarchy is
/// then marked by one statement instead of one nested trigger call per level. UNION drops rows
/// already found, which ends the recursion on cycles.
fn whole_subtree(fk: &ForeignKey, at: &str, direct: &str) -> String {
    let keys = |alias: &str| column_list(alias, &fk.parent_columns);
    let join: Vec<String> = fk
        .child_columns
        .iter()
        .zip(&fk.parent_columns)
        .map(|(child, parent)| format!("s.{} = t.{}", spi::quote_identifier(child), spi::quote_identifier(parent)))
        .collect();
    format!(
        "({c_keys}) IN (WITH RECURSIVE tree AS ( \
             SELECT {c_keys} FROM {table} c WHERE {direct} \
             UNION \
             SELECT {s_keys} FROM {table} s JOIN tree t ON {join} WHERE s.{at} IS NULL) \
           SELECT * FROM tree) AND c.{at} IS NULL",
        c_keys = keys("c"),
        s_keys = keys("s"),
        table = fk.child_table,
        join = join.join(" AND "),
    )
}

/// SET NULL / SET DEFAULT on the active referencing rows, with their old values recorded.
fn unlink(client: &mut SpiClient<'_>, parent: &ParentRows<'_>, fk: &ForeignKey) {
    let Some(child) = managed_child(client, parent, fk) else { return };
    let value = if fk.rule == Rule::SetNull { "NULL" } else { "DEFAULT" };
    // PostgreSQL 15 lets a key name the columns SET NULL / SET DEFAULT change; by default all.
    let changed_columns = if fk.set_columns.is_empty() { &fk.child_columns } else { &fk.set_columns };
    let assignments: Vec<String> =
        changed_columns.iter().map(|column| format!("{} = {value}", spi::quote_identifier(column))).collect();
    let keys = catalog::primary_key(fk.child);
    let key_names: Vec<String> = keys.iter().map(|key| key.name.clone()).collect();
    let names = |first: usize, columns: &[String], alias: &str| -> String {
        let pairs: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, column)| format!("${}::text, {alias}.{}", first + i, spi::quote_identifier(column)))
            .collect();
        format!("pg_catalog.jsonb_build_object({})", pairs.join(", "))
    };
    let old_columns: Vec<String> = (0..changed_columns.len()).map(|i| format!("softdelete_old_{i}")).collect();
    let old_select: Vec<String> = changed_columns
        .iter()
        .zip(&old_columns)
        .map(|(column, alias)| format!("c2.{} AS {alias}", spi::quote_identifier(column)))
        .collect();
    let key_first = 2;
    let column_first = key_first + key_names.len();
    let old_object = {
        let pairs: Vec<String> = old_columns
            .iter()
            .enumerate()
            .map(|(i, alias)| format!("${}::text, o.{alias}", column_first + i))
            .collect();
        format!("pg_catalog.jsonb_build_object({})", pairs.join(", "))
    };
    let sql = format!(
        "UPDATE {table} c SET {assignments} \
         FROM (SELECT c2.tableoid AS softdelete_tableoid, c2.ctid AS softdelete_ctid, {old_select} \
               FROM {table} c2 WHERE ({fk_columns}) IN ({parent_keys}) AND c2.{at} IS NULL FOR UPDATE) o \
         WHERE c.tableoid = o.softdelete_tableoid AND c.ctid = o.softdelete_ctid \
         RETURNING {key_object}, {old_object}, {new_object}",
        table = fk.child_table,
        assignments = assignments.join(", "),
        old_select = old_select.join(", "),
        fk_columns = column_list("c2", &fk.child_columns),
        parent_keys = parent.referenced_keys(&fk.parent_columns, 1),
        at = spi::quote_identifier(&child.deleted_at.name),
        key_object = names(key_first, &key_names, "c"),
        new_object = names(column_first, changed_columns, "c"),
    );
    let mut args: Vec<DatumWithOid> = vec![parent.deletion_id.into()];
    args.extend(key_names.iter().map(|name| DatumWithOid::from(name.clone())));
    args.extend(changed_columns.iter().map(|name| DatumWithOid::from(name.clone())));
    let changed: Vec<(JsonB, JsonB, JsonB)> = internal::as_role(fk.child_owner, || {
        internal::returning_three_jsonb(client, fk.child, &sql, &args)
    });
    if changed.is_empty() {
        return;
    }
    let mut keys_json = Vec::new();
    let mut details = Vec::new();
    for (key, old, new) in changed {
        keys_json.push(key);
        details.push(JsonB(serde_json::json!({"constraint": fk.name, "old": old.0, "new": new.0})));
    }
    audit::record_unlinks(client, &fk.child_table, parent.deletion_id, parent.initiator, keys_json, details);
}

/// Raises `23503` when an active row still references a row of the deletion, as a hard
/// delete would under RESTRICT or NO ACTION. A NO ACTION key declared DEFERRABLE INITIALLY
/// DEFERRED is checked at commit instead, against the rows of the deletion still deleted then.
///
/// NOTE: `SET CONSTRAINTS` does not move these checks; only the declared timing counts.
fn check_not_referenced(client: &mut SpiClient<'_>, parent: &ParentRows<'_>, fk: &ForeignKey) {
    let parent_rows = parent.referenced_keys(&fk.parent_columns, 1);
    if fk.initially_deferred && fk.rule == Rule::NoAction {
        let deleted_parents = format!(
            "SELECT {} FROM {} r WHERE r.{} = $1 AND r.{} IS NOT NULL",
            column_list("r", &fk.parent_columns),
            parent.table,
            spi::quote_identifier(&parent.managed.deletion_id.name),
            spi::quote_identifier(&parent.managed.deleted_at.name),
        );
        let check = referencing_rows_sql(fk, &deleted_parents);
        DEFERRED.with(|deferred| {
            deferred.borrow_mut().push(DeferredCheck {
                sql: check,
                deletion_id: parent.deletion_id,
                parent_table: parent.table.to_string(),
                fk: fk.clone(),
            })
        });
        return;
    }
    let sql = referencing_rows_sql(fk, &parent_rows);
    if let Some(values) = first_referencing_row(client, &sql, parent.deletion_id) {
        raise_still_referenced(parent.table, fk, &values)
    }
}

/// `SELECT 'values' FROM child c WHERE (fk) IN (<parent rows>) AND <child is active> LIMIT 1`.
fn referencing_rows_sql(fk: &ForeignKey, parent_rows: &str) -> String {
    let active = match catalog::lookup(fk.child) {
        Some(child) => format!(" AND c.{} IS NULL", spi::quote_identifier(&child.deleted_at.name)),
        None => String::new(),
    };
    // format('%s') uses each type's output function, never a user-defined cast to text.
    let values: Vec<String> =
        fk.child_columns.iter().map(|c| format!("pg_catalog.format('%s', c.{})", spi::quote_identifier(c))).collect();
    format!(
        "SELECT pg_catalog.concat_ws(', ', {values}) FROM {table} c WHERE ({fk_columns}) IN ({parent_rows}){active} LIMIT 1",
        values = values.join(", "),
        table = fk.child_table,
        fk_columns = column_list("c", &fk.child_columns),
    )
}

fn first_referencing_row(client: &mut SpiClient<'_>, sql: &str, deletion_id: i64) -> Option<String> {
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        let rows = error::spi("cascade::first_referencing_row", client.select(sql, None, &[deletion_id.into()]));
        rows.into_iter().next().and_then(|row| row.get::<String>(1).ok().flatten())
    })
}

fn raise_still_referenced(parent_table: &str, fk: &ForeignKey, values: &str) -> ! {
    {
        UserError::new(
            PgSqlErrorCode::ERRCODE_FOREIGN_KEY_VIOLATION,
            format!(
                "update or delete on table {} violates foreign key constraint {} on table {}",
                parent_table, spi::quote_identifier(&fk.name), fk.child_table
            ),
        )
        .detail(format!(
            "Key ({})=({values}) is still referenced from table {}.",
            plain_list(&fk.parent_columns),
            fk.child_table
        ))
        .hint(format!(
            "Delete the referencing rows of {} first, or make the rule cascade with softdelete.set_foreign_key_rule().",
            fk.child_table
        ))
        .raise()
    }
}

/// A NO ACTION check postponed to commit.
struct DeferredCheck {
    sql: String,
    deletion_id: i64,
    parent_table: String,
    fk: ForeignKey,
}

thread_local! {
    static DEFERRED: RefCell<Vec<DeferredCheck>> = const { RefCell::new(Vec::new()) };
}

/// Runs the postponed checks just before commit; an error aborts the transaction.
#[pg_guard]
unsafe extern "C-unwind" fn transaction_event(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    let checks = match DEFERRED.with(|deferred| deferred.try_borrow_mut().map(|mut d| std::mem::take(&mut *d))) {
        Ok(checks) => checks,
        Err(_) => return,
    };
    let before_commit = matches!(
        event,
        pg_sys::XactEvent::XACT_EVENT_PRE_COMMIT | pg_sys::XactEvent::XACT_EVENT_PRE_PREPARE
    );
    if !before_commit || checks.is_empty() {
        return;
    }
    // Portals are closed by now, so the checks need a snapshot of their own.
    pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    Spi::connect_mut(|client| {
        for check in &checks {
            if let Some(values) = first_referencing_row(client, &check.sql, check.deletion_id) {
                raise_still_referenced(&check.parent_table, &check.fk, &values)
            }
        }
    });
    pg_sys::PopActiveSnapshot();
}

pub fn register_callbacks() {
    // SAFETY: called once from _PG_init; the callback lives as long as the backend.
    unsafe { pg_sys::RegisterXactCallback(Some(transaction_event), std::ptr::null_mut()) };
}

/// Locks the rows this deletion marked FOR UPDATE, as a hard delete would. The soft delete's
/// own row lock does not conflict with the FOR KEY SHARE lock that PostgreSQL's foreign-key
/// check takes on a parent when a referencing row is inserted. Without this lock, a row inserted
/// concurrently under a parent being deleted would escape the rules below. The lock waits for
/// such a transaction, and the checks that follow then read its rows.
fn lock_deleted_rows(client: &mut SpiClient<'_>, parent: &ParentRows<'_>) {
    let keys: Vec<String> = catalog::primary_key(parent.relid).into_iter().map(|key| key.name).collect();
    let sql = format!(
        "SELECT 1 FROM {table} p WHERE ({p_keys}) IN ({deleted}) FOR UPDATE OF p",
        table = parent.table,
        p_keys = column_list("p", &keys),
        deleted = parent.referenced_keys(&keys, 1),
    );
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        error::spi("cascade::lock_deleted_rows", client.update(sql.as_str(), None, &[parent.deletion_id.into()]));
    });
}
