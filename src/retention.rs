//! Retention windows, legal holds, and the purge log that is read from the audit trail.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::access;
use crate::audit::Initiator;
use crate::catalog;
use crate::error::{self, UserError};
use crate::internal;
use crate::purge;
use crate::rows::KeyedRow;

/// Sets how long soft-deleted rows of a managed table are kept before
/// `softdelete.purge_expired()` removes them; NULL keeps them until purged by hand.
/// Called by `softdelete.set_retention(regclass, interval)`.
#[pg_extern(volatile, parallel_unsafe, name = "_set_retention")]
fn set_retention(relid: pg_sys::Oid, keep: Option<pgrx::datum::Interval>) {
    let table = catalog::qualified_name(relid);
    access::require_owner(relid, &table);
    if let Some(keep) = keep {
        if keep < pgrx::datum::Interval::new(0, 0, 0).unwrap_or(keep) {
            UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("invalid retention {keep}: it is negative"))
                .hint("Pass a positive interval, or NULL to keep soft-deleted rows until they are purged by hand.")
                .raise()
        }
    }
    let sql = "UPDATE softdelete.managed_tables SET retention = $2 WHERE relid = $1::pg_catalog.regclass";
    let owner = catalog::extension_owner();
    let updated = internal::as_extension_owner(owner, || {
        Spi::connect_mut(|client| error::spi("retention", client.update(sql, None, &[relid.into(), keep.into()])).len())
    });
    if updated == 0 {
        UserError::new(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("table {table} is not managed by pg_softdelete"))
            .hint(format!("Run SELECT softdelete.enable({}) first.", spi::quote_literal(&table)))
            .raise()
    }
    match keep {
        Some(keep) => error::notice(format!("soft-deleted rows of table {table} are purged {keep} after deletion")),
        None => error::notice(format!("soft-deleted rows of table {table} are kept until purged")),
    }
}

thread_local! {
    /// Deletions whose purge failed during the current `purge_expired()` run, skipped by its
    /// later batches.
    static FAILED: std::cell::RefCell<Vec<i64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Starts a `purge_expired()` run by clearing the list of deletions that earlier runs failed to
/// purge, so that each run tries them again once.
#[pg_extern(volatile, parallel_unsafe, name = "_purge_expired_start")]
fn purge_expired_start() {
    FAILED.with(|failed| failed.borrow_mut().clear());
}

/// Purges up to `max_deletions` expired deletions (older than their table's retention window
/// and not under a legal hold), oldest first, and returns the number of rows removed. Called
/// in a loop, one transaction per batch, by the procedure `softdelete.purge_expired()`.
#[pg_extern(volatile, parallel_unsafe, name = "_purge_expired_batch")]
fn purge_expired_batch(
    max_deletions: Option<i32>,
) -> TableIterator<'static, (name!(deletions_seen, i64), name!(rows_purged, i64))> {
    let max_deletions = max_deletions.unwrap_or(0);
    if max_deletions <= 0 {
        UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("invalid batch size {max_deletions}"))
            .hint("Pass a positive number of deletions per batch.")
            .raise()
    }
    let owner = catalog::extension_owner();
    let ids: Vec<i64> = internal::as_extension_owner(owner, || {
        Spi::connect(|client| {
            let skip: Vec<i64> = FAILED.with(|failed| failed.borrow().clone());
            let rows = error::spi(
                "retention::purge_expired_batch",
                client.select(include_str!("sql/expired_deletions.sql"), None, &[(max_deletions as i64).into(), skip.into()]),
            );
            rows.filter_map(|row| row.get::<i64>(1).ok().flatten()).collect()
        })
    });
    // A deletion that cannot be purged (a row still referenced under NO ACTION, say) is reported
    // and skipped, so that it does not hold up every other expired deletion. A deletion that a
    // concurrent restore or purge emptied meanwhile is skipped silently.
    let mut purged = 0;
    let seen = ids.len() as i64;
    for id in ids {
        match internal::try_in_subtransaction(|| Spi::connect_mut(|client| purge::purge_deletion_rows(client, id, false))) {
            Ok(rows) => purged += rows,
            Err(error) => {
                let (code, message) = match &error {
                    pg_sys::panic::CaughtError::PostgresError(report)
                    | pg_sys::panic::CaughtError::ErrorReport(report)
                    | pg_sys::panic::CaughtError::RustPanic { ereport: report, .. } => {
                        (report.sql_error_code(), report.message().to_string())
                    }
                };
                // A caller without the privileges to purge gets the error, not a warning per
                // deletion.
                if code == PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE {
                    error.rethrow()
                }
                FAILED.with(|failed| failed.borrow_mut().push(id));
                error::warning(
                    PgSqlErrorCode::ERRCODE_WARNING,
                    format!("purge_expired: skipped deletion {id}: {message}"),
                    "Fix the cause, or purge or restore the deletion by hand; the next run tries it again.",
                );
            }
        }
    }
    TableIterator::once((seen, purged as i64))
}

/// Lists the deletions `softdelete.purge_expired()` would purge now, and the held ones it
/// would skip. Changes nothing.
#[pg_extern(stable, parallel_unsafe)]
fn purge_expired_preview() -> TableIterator<
    'static,
    (
        name!(deletion_id, i64),
        name!(root_table, Option<String>),
        name!(deleted_rows, i64),
        name!(purge_after, Option<pgrx::datum::TimestampWithTimeZone>),
        name!(on_hold, bool),
    ),
> {
    require_purger("list expired deletions");
    let owner = catalog::extension_owner();
    let rows = internal::as_extension_owner(owner, || {
        Spi::connect(|client| {
            let rows = error::spi("retention::preview", client.select(include_str!("sql/expired_preview.sql"), None, &[]));
            rows.filter_map(|row| {
                Some((
                    row.get::<i64>(1).ok()??,
                    row.get::<String>(2).ok().flatten(),
                    row.get::<i64>(3).ok().flatten().unwrap_or(0),
                    row.get::<pgrx::datum::TimestampWithTimeZone>(4).ok().flatten(),
                    row.get::<bool>(5).ok().flatten().unwrap_or(false),
                ))
            })
            .collect::<Vec<_>>()
        })
    });
    TableIterator::new(rows)
}

/// Places a legal hold on one row (active or deleted) and returns its id. Called by
/// `softdelete.hold(regclass, anyelement, text)`.
#[pg_extern(volatile, parallel_unsafe, name = "_hold_row")]
fn hold_row(relid: pg_sys::Oid, key: Option<JsonB>, reason: Option<&str>) -> i64 {
    let row = KeyedRow::resolve(relid, key, "hold");
    access::require(access::PURGER_ROLE, relid, &row.table, "hold");
    // The hold stores the key as the audit trail does ({"id": 10}, never {"id": "10"}), so that
    // it matches however the key was passed.
    let Some(canonical) = row.canonical_key() else { row.raise_missing() };
    place_hold(Some(row.table.clone()), Some(JsonB(canonical)), None, reason)
}

/// Places a legal hold on a whole deletion and returns its id.
#[pg_extern(volatile, parallel_unsafe)]
fn hold_deletion(deletion_id: i64, reason: Option<&str>) -> i64 {
    require_purger("manage legal holds");
    Spi::connect_mut(|client| crate::restore::deletion_tables(client, deletion_id));
    place_hold(None, None, Some(deletion_id), reason)
}

fn require_purger(action: &str) {
    // SAFETY: catalog lookups inside a transaction.
    let allowed = unsafe {
        let role = pg_sys::get_role_oid(access::PURGER_ROLE.as_ptr(), true);
        pg_sys::superuser() || (role != pg_sys::InvalidOid && pg_sys::has_privs_of_role(pg_sys::GetUserId(), role))
    };
    if !allowed {
        UserError::new(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("permission denied to {action}"))
            .hint(format!("Ask an administrator to GRANT softdelete_purger TO {}.", spi::quote_identifier(crate::settings::current_role_name())))
            .raise()
    }
}

fn place_hold(table: Option<String>, key: Option<JsonB>, deletion_id: Option<i64>, reason: Option<&str>) -> i64 {
    let key = key.map(|k| k.0);
    let reason = reason.unwrap_or_default();
    if reason.trim().is_empty() {
        UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "a legal hold needs a reason")
            .hint("Pass the case or request the hold belongs to.")
            .raise()
    }
    let initiator = Initiator::current();
    let insert = "INSERT INTO softdelete.legal_holds (table_name, key, deletion_id, reason, placed_by) \
                  VALUES ($1, $2, $3, $4, $5) RETURNING hold_id";
    let event = "INSERT INTO softdelete.event_log \
                   (operation, table_name, key, deletion_id, actor, role_name, reason, detail, application_name, client_addr) \
                 VALUES ('hold', coalesce($1, ''), $2, $3, $4, $5, $6, pg_catalog.jsonb_build_object('hold_id', $7::bigint), \
                         pg_catalog.current_setting('application_name'), pg_catalog.inet_client_addr())";
    let owner = catalog::extension_owner();
    let hold_id = internal::as_extension_owner(owner, || {
        Spi::connect_mut(|client| {
            let args: Vec<DatumWithOid> =
                vec![table.clone().into(), key.clone().map(JsonB).into(), deletion_id.into(), reason.into(), initiator.actor.clone().into()];
            let rows = error::spi("retention::place_hold", client.update(insert, None, &args));
            let hold_id = rows.first().get_one::<i64>().ok().flatten().unwrap_or(0);
            let args: Vec<DatumWithOid> = vec![
                table.clone().into(),
                key.clone().map(JsonB).into(),
                deletion_id.into(),
                initiator.actor.clone().into(),
                initiator.role.clone().into(),
                reason.into(),
                hold_id.into(),
            ];
            error::spi("retention::place_hold", client.update(event, None, &args));
            hold_id
        })
    });
    error::notice(format!("placed legal hold {hold_id}"));
    hold_id
}

/// Releases a legal hold, and records the release. Called by `softdelete.release_hold(bigint)`.
#[pg_extern(volatile, parallel_unsafe)]
fn release_hold(hold_id: i64) {
    require_purger("manage legal holds");
    let initiator = Initiator::current();
    let delete = "DELETE FROM softdelete.legal_holds WHERE hold_id = $1 RETURNING table_name, key, deletion_id";
    let event = "INSERT INTO softdelete.event_log \
                   (operation, table_name, key, deletion_id, actor, role_name, reason, detail, application_name, client_addr) \
                 VALUES ('release', coalesce($1, ''), $2, $3, $4, $5, $6, pg_catalog.jsonb_build_object('hold_id', $7::bigint), \
                         pg_catalog.current_setting('application_name'), pg_catalog.inet_client_addr())";
    let owner = catalog::extension_owner();
    let found = internal::as_extension_owner(owner, || {
        Spi::connect_mut(|client| {
            let rows = error::spi("retention::release_hold", client.update(delete, None, &[hold_id.into()]));
            let Some(row) = rows.into_iter().next() else { return false };
            let args: Vec<DatumWithOid> = vec![
                row.get::<String>(1).ok().flatten().into(),
                row.get::<JsonB>(2).ok().flatten().into(),
                row.get::<i64>(3).ok().flatten().into(),
                initiator.actor.clone().into(),
                initiator.role.clone().into(),
                initiator.reason.clone().into(),
                hold_id.into(),
            ];
            error::spi("retention::release_hold", client.update(event, None, &args));
            true
        })
    });
    if !found {
        UserError::new(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, format!("legal hold {hold_id} does not exist"))
            .hint("List the holds with SELECT * FROM softdelete.legal_holds.")
            .raise()
    }
    error::notice(format!("released legal hold {hold_id}"));
}

/// Returns the purge log since `since` (all of it when NULL): one object per purged row with
/// table, key and time, and no other data of the row. Called by
/// `softdelete.export_purge_log(timestamptz)`.
#[pg_extern(stable, parallel_safe)]
fn export_purge_log(since: Option<pgrx::datum::TimestampWithTimeZone>) -> JsonB {
    require_purger("export the purge log");
    let sql = "SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object( \
                   'table_name', table_name, 'key', key, 'purged_at', occurred_at) ORDER BY event_id), '[]') \
               FROM softdelete.events WHERE operation = 'purge' AND key IS NOT NULL \
                 AND ($1::timestamptz IS NULL OR occurred_at >= $1)";
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || match Spi::get_one_with_args::<JsonB>(sql, &[since.into()]) {
        Ok(Some(log)) => log,
        other => error::internal("retention::export_purge_log", format!("unexpected result {other:?}")),
    })
}

/// Purges again, for real, every row of a purge log (from `export_purge_log()`) that is still
/// present: run it on a database restored from a backup taken before those purges, before the
/// database goes live. Rows already absent are skipped. Returns the number of rows removed.
/// Called by `softdelete.apply_purge_log(jsonb)`.
#[pg_extern(volatile, parallel_unsafe)]
fn apply_purge_log(log: JsonB) -> i64 {
    require_purger("apply a purge log");
    let Some(entries) = log.0.as_array() else {
        UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "invalid purge log: expected a jsonb array")
            .hint("Pass the output of softdelete.export_purge_log().")
            .raise()
    };
    let owner = catalog::extension_owner();
    let count_purges = || -> i64 {
        let sql = "SELECT count(*) FROM softdelete.events \
                   WHERE operation = 'purge' AND transaction_id = pg_catalog.pg_current_xact_id()";
        internal::as_extension_owner(owner, || Spi::get_one::<i64>(sql).ok().flatten().unwrap_or(0))
    };
    // Rows removed by PostgreSQL's ON DELETE CASCADE count too: every removed row writes a
    // purge event in this transaction.
    let purges_before = count_purges();
    let notices = crate::settings::notices_enabled();
    crate::error::quiet_notices();
    for entry in entries {
        let (Some(table), Some(key)) = (entry["table_name"].as_str(), entry.get("key")) else {
            UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("invalid purge log entry {entry}"))
                .hint("Each entry needs table_name and key.")
                .raise()
        };
        let relid = match Spi::get_one_with_args::<pg_sys::Oid>("SELECT pg_catalog.to_regclass($1)::pg_catalog.oid", &[table.into()]) {
            Ok(Some(relid)) => relid,
            _ => continue,
        };
        if catalog::lookup(relid).is_none() {
            continue;
        }
        let row = KeyedRow::resolve(relid, Some(JsonB(key.clone())), "apply_purge_log");
        Spi::connect_mut(|client| {
            let sql = format!("DELETE FROM {} WHERE {}", row.table, row.key_condition(1));
            let _scope = internal::HardDeleteScope::enter();
            internal::allow_cascades_from(row.relid);
            internal::update(client, row.relid, &sql, &row.key_args())
        });
    }
    let removed = count_purges() - purges_before;
    if notices {
        let sql = "SELECT pg_catalog.set_config('softdelete.notices', 'on', true)";
        error::spi("retention::apply_purge_log", Spi::run(sql));
    }
    error::notice(format!("re-applied the purge log: removed {removed} row(s) that were still present"));
    removed as i64
}
