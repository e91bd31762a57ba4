//! Guarantees of a purge beyond removing rows: legal holds block it, and no copy of a purged
//! row's data stays in the audit trail.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::audit;
use crate::catalog::{self, Managed};
use crate::error::{self, UserError};
use crate::internal;

/// The rows one DELETE statement removed for real, in a registered transition table.
pub struct PurgedRows<'a> {
    pub relid: pg_sys::Oid,
    pub table: &'a str,
    pub managed: &'a Managed,
    pub rows: &'a str,
}

impl PurgedRows<'_> {
    /// `SELECT jsonb_build_object(...) FROM rows r`: the keys as the audit trail stores them,
    /// with the key column names bound from `$first_param` on.
    fn keys_sql(&self, keys: &[catalog::KeyColumn], first_param: usize) -> String {
        format!("SELECT {} FROM {} r", audit::key_object_sql(keys, first_param), spi::quote_identifier(self.rows))
    }
}

/// Raises `55000` when a removed row, or the deletion it belongs to, is under a legal hold.
/// Runs for every physical delete of a managed table, so no path around purge() escapes it;
/// the whole statement is rolled back.
pub fn check_holds(client: &mut SpiClient<'_>, purged: &PurgedRows<'_>) {
    if !any_row("SELECT EXISTS (SELECT FROM softdelete.legal_holds)") {
        return;
    }
    let keys = catalog::primary_key(purged.relid);
    let sql = format!(
        "SELECT h.hold_id, h.reason FROM softdelete.legal_holds h \
         WHERE (h.table_name = $1 AND h.key IN ({keys})) \
            OR h.deletion_id IN (SELECT r.{deletion_id} FROM {rows} r) \
         ORDER BY h.hold_id LIMIT 1",
        keys = purged.keys_sql(&keys, 2),
        deletion_id = spi::quote_identifier(&purged.managed.deletion_id.name),
        rows = spi::quote_identifier(purged.rows),
    );
    let mut args: Vec<DatumWithOid> = vec![purged.table.to_string().into()];
    args.extend(keys.iter().map(|key| DatumWithOid::from(key.name.clone())));
    if let Some(hold) = first_hold(client, &sql, &args) {
        hold.raise(&format!("cannot purge rows of table {}", purged.table))
    }
}

/// A legal hold that applies, as the hold queries below return it.
struct Hold {
    id: i64,
    reason: String,
}

impl Hold {
    /// Raises `55000` for an operation the hold blocks. `operation` names it, such as
    /// "cannot purge rows of table t".
    fn raise(&self, operation: &str) -> ! {
        UserError::new(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("{operation}: legal hold {} applies", self.id),
        )
        .detail(format!("Reason given for the hold: {}", self.reason))
        .hint(format!("Release the hold first with SELECT softdelete.release_hold({});", self.id))
        .raise()
    }
}

/// Runs a query returning `(hold_id, reason)` with the extension owner's privileges and returns
/// its first row.
fn first_hold(client: &SpiClient<'_>, sql: &str, args: &[DatumWithOid<'_>]) -> Option<Hold> {
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        let rows = error::spi("privacy::first_hold", client.select(sql, None, args));
        rows.into_iter().next().map(|row| Hold {
            id: row.get::<i64>(1).ok().flatten().unwrap_or(0),
            reason: row.get::<String>(2).ok().flatten().unwrap_or_default(),
        })
    })
}

/// Erases the row data that the audit trail keeps about the removed rows, leaving tombstones
/// with table, key, time, actor and reason. That data is the old and new values of the rows'
/// own `unlink` and `relink` events, and of the rows their deletions unlinked. The old values
/// of those are the removed rows' referenced keys (an email address, when a foreign key
/// references it).
pub fn redact_events(client: &mut SpiClient<'_>, purged: &PurgedRows<'_>) {
    let row_images = "SELECT EXISTS (SELECT FROM softdelete.event_log \
                      WHERE operation IN ('unlink', 'relink') AND detail IS NOT NULL)";
    if !any_row(row_images) {
        return;
    }
    let keys = catalog::primary_key(purged.relid);
    let sql = format!(
        "UPDATE softdelete.event_log SET detail = NULL \
         WHERE operation IN ('unlink', 'relink') AND detail IS NOT NULL \
           AND ((table_name = $1 AND key IN ({keys})) \
                OR deletion_id IN (SELECT r.{deletion_id} FROM {rows} r))",
        keys = purged.keys_sql(&keys, 2),
        deletion_id = spi::quote_identifier(&purged.managed.deletion_id.name),
        rows = spi::quote_identifier(purged.rows),
    );
    let mut args: Vec<DatumWithOid> = vec![purged.table.to_string().into()];
    args.extend(keys.iter().map(|key| DatumWithOid::from(key.name.clone())));
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        error::spi("privacy::redact_events", client.update(sql.as_str(), None, &args));
    });
}

/// Runs an `EXISTS` query on the extension's tables with the extension owner's privileges. The
/// cheap test lets a bulk purge skip work that cannot apply.
fn any_row(sql: &str) -> bool {
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || Spi::get_one::<bool>(sql).ok().flatten().unwrap_or(true))
}

/// Raises `55000` when a legal hold covers a row of `table` (or a deletion with rows in it),
/// for a TRUNCATE that `softdelete.allow_hard_delete` lets through.
pub fn check_holds_on_table(table: &str) {
    let sql = "SELECT h.hold_id, h.reason FROM softdelete.legal_holds h \
               WHERE h.table_name = $1 \
                  OR h.deletion_id IN (SELECT e.deletion_id FROM softdelete.events e \
                                        WHERE e.table_name = $1 AND e.operation = 'delete') \
               ORDER BY h.hold_id LIMIT 1";
    if let Some(hold) = Spi::connect(|client| first_hold(&client, sql, &[table.into()])) {
        hold.raise(&format!("cannot truncate table {table}"))
    }
}

/// Raises `55000` when a legal hold covers the row (by its key, or its deletion): anonymize()
/// erases data as surely as purge() does.
pub fn check_holds_on_row(table: &str, key: &serde_json::Value, deletion_id: Option<i64>) {
    let sql = "SELECT h.hold_id, h.reason FROM softdelete.legal_holds h \
               WHERE (h.table_name = $1 AND h.key = $2) OR h.deletion_id = $3 \
               ORDER BY h.hold_id LIMIT 1";
    let args: Vec<DatumWithOid> = vec![table.into(), pgrx::JsonB(key.clone()).into(), deletion_id.into()];
    if let Some(hold) = Spi::connect(|client| first_hold(&client, sql, &args)) {
        hold.raise(&format!("cannot anonymize a row of table {table}"))
    }
}
