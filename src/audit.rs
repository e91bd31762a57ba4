//! The audit trail: `softdelete.events` shows one event for every row deleted, restored or
//! purged, stored in batches of keys in `softdelete.event_batches`.
//!
//! The rows of a soft delete that the planner hook planned, and of restore_deletion(), are
//! collected while the UPDATE runs (`capture.rs`). Every other change (cascades, purges, the
//! guard's fallback) is written by statement-level AFTER triggers from their transition tables,
//! with one INSERT ... SELECT per statement. A soft delete is an UPDATE, and so is every ordinary
//! UPDATE of the table. The code that starts a soft delete or a restore therefore registers its
//! deletion id for the table first ([`expect`]), and the trigger logs only rows that carry a
//! registered id.

use std::cell::RefCell;

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::cascade;
use crate::privacy;
use crate::catalog::{self, KeyColumn};
use crate::error;
use crate::internal;
use crate::settings;

/// The kind of change an event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Delete,
    Restore,
    Purge,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Delete => "delete",
            Operation::Restore => "restore",
            Operation::Purge => "purge",
        }
    }
}

/// The actor, role and reason of a change, as they were when the change started. Cascades run
/// with the privileges of another role, so they cannot be read again later.
#[derive(Clone, Debug)]
pub struct Initiator {
    pub actor: String,
    pub role: String,
    pub reason: Option<String>,
}

impl Initiator {
    pub fn current() -> Initiator {
        Initiator { actor: settings::actor(), role: settings::current_role_name(), reason: settings::reason() }
    }
}

struct Expected {
    /// The subtransaction that registered it; its abort drops the registration.
    subtransaction: pg_sys::SubTransactionId,
    relid: pg_sys::Oid,
    operation: Operation,
    deletion_id: i64,
    initiator: Initiator,
    /// The foreign key a cascade followed to reach the table; None for the statement's own table.
    via: Option<String>,
    /// True for a change whose row events are captured while it runs (`capture.rs`): a DELETE
    /// that the planner hook turned into an UPDATE, or restore_deletion(). The trigger then only
    /// applies the foreign keys.
    captured: bool,
}

thread_local! {
    static EXPECTED: RefCell<Vec<Expected>> = const { RefCell::new(Vec::new()) };
}

/// Registers that the next UPDATE statement on `relid` soft-deletes (or restores) the rows of
/// deletion `deletion_id`, so that its audit trigger records them.
pub fn expect(relid: pg_sys::Oid, operation: Operation, deletion_id: i64) {
    expect_via(relid, operation, deletion_id, Initiator::current(), None);
}

/// Like [`expect`], for a change made on behalf of `who`, reached through foreign key `via`.
pub fn expect_via(relid: pg_sys::Oid, operation: Operation, deletion_id: i64, initiator: Initiator, via: Option<String>) {
    register(Expected { subtransaction: 0, relid, operation, deletion_id, initiator, via, captured: false });
}

fn register(mut entry: Expected) {
    // SAFETY: reads backend-local transaction state.
    entry.subtransaction = unsafe { pg_sys::GetCurrentSubTransactionId() };
    EXPECTED.with(|expected| expected.borrow_mut().push(entry));
}

/// The operation and initiator of the change to deletion `deletion_id` in `relid` whose rows
/// are being captured (a soft delete the planner hook planned, or a restore); None when there
/// is none.
pub fn captured_change(relid: pg_sys::Oid, deletion_id: i64) -> Option<(Operation, Initiator)> {
    EXPECTED.with(|expected| {
        expected
            .borrow()
            .iter()
            .rev()
            .find(|entry| entry.captured && entry.relid == relid && entry.deletion_id == deletion_id)
            .map(|entry| (entry.operation, entry.initiator.clone()))
    })
}

/// Registers that the next UPDATE of `relid` restores rows of deletion `deletion_id`, which
/// the capture records (`internal::update_restoring`).
pub fn expect_captured_restore(relid: pg_sys::Oid, deletion_id: i64) {
    let initiator = Initiator::current();
    register(Expected { subtransaction: 0, relid, operation: Operation::Restore, deletion_id, initiator, via: None, captured: true });
}

fn take_expected(relid: pg_sys::Oid) -> Vec<Expected> {
    EXPECTED.with(|expected| {
        let mut expected = expected.borrow_mut();
        let (taken, kept) = expected.drain(..).partition(|entry| entry.relid == relid);
        *expected = kept;
        taken
    })
}

/// Forgets registrations at the end of every transaction; a statement that marked no rows
/// leaves its registration behind.
#[pg_guard]
unsafe extern "C-unwind" fn transaction_ended(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    if matches!(
        event,
        pg_sys::XactEvent::XACT_EVENT_COMMIT
            | pg_sys::XactEvent::XACT_EVENT_ABORT
            | pg_sys::XactEvent::XACT_EVENT_PARALLEL_COMMIT
            | pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT
            | pg_sys::XactEvent::XACT_EVENT_PREPARE
    ) {
        EXPECTED.with(|expected| {
            if let Ok(mut expected) = expected.try_borrow_mut() {
                expected.clear();
            }
        });
    }
}

/// Drops the registrations made inside an aborted subtransaction (a failed restore inside a
/// savepoint or an EXCEPTION block), so that a later UPDATE is not taken for a restore.
#[pg_guard]
unsafe extern "C-unwind" fn subtransaction_event(
    event: pg_sys::SubXactEvent::Type,
    subtransaction: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        EXPECTED.with(|expected| {
            if let Ok(mut expected) = expected.try_borrow_mut() {
                expected.retain(|entry| entry.subtransaction < subtransaction);
            }
        });
    }
}

pub fn register_callbacks() {
    // SAFETY: called once from _PG_init; the callbacks live as long as the backend.
    unsafe {
        pg_sys::RegisterXactCallback(Some(transaction_ended), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(subtransaction_event), std::ptr::null_mut());
    }
}

/// Starts a deletion that the planner hook planned: allocates its id and registers it for the
/// audit trigger of `relid`, whose rows the capture collects (`capture.rs`).
pub fn begin_deletion(relid: pg_sys::Oid) -> i64 {
    let id = next_deletion_id();
    join_deletion(relid, id);
    id
}

/// Registers rows of `relid` that the planner hook's soft delete marks as part of deletion
/// `deletion_id`, which the same statement started on another table.
pub fn join_deletion(relid: pg_sys::Oid, deletion_id: i64) {
    let initiator = Initiator::current();
    register(Expected { subtransaction: 0, relid, operation: Operation::Delete, deletion_id, initiator, via: None, captured: true });
}

/// Draws the next id from `softdelete.deletion_seq` with a direct call of `nextval`, which
/// checks the caller's USAGE privilege on the sequence (granted to PUBLIC).
pub fn next_deletion_id() -> i64 {
    // SAFETY: syscache lookups, then a direct call of a built-in function with an OID argument.
    unsafe {
        let namespace = pg_sys::get_namespace_oid(catalog::SCHEMA.as_ptr(), true);
        let sequence = pg_sys::get_relname_relid(c"deletion_seq".as_ptr(), namespace);
        if sequence == pg_sys::InvalidOid {
            error::internal("audit::next_deletion_id", "sequence softdelete.deletion_seq not found");
        }
        match pgrx::direct_function_call::<i64>(pg_sys::nextval_oid, &[Some(pg_sys::Datum::from(sequence))]) {
            Some(id) => id,
            None => error::internal("audit::next_deletion_id", "nextval returned NULL"),
        }
    }
}

/// Writes the events of one statement on a managed table (AFTER UPDATE and AFTER DELETE, FOR
/// EACH STATEMENT, with transition tables), and applies the foreign-key rules of a soft delete.
#[pg_trigger]
fn _audit_trigger<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, PgTriggerError> {
    let relid = trigger.relid()?;
    let Some(managed) = catalog::lookup(relid) else { return Ok(None) };
    let (rows, expected) = match trigger.op()? {
        PgTriggerOperation::Update => {
            let expected = take_expected(relid);
            if expected.is_empty() {
                return Ok(None);
            }
            (trigger.new_transition_table_name()?, expected)
        }
        PgTriggerOperation::Delete => match trigger.old_transition_table_name()? {
            Some(rows) => (Some(rows), Vec::new()),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    // A soft delete on a table that no foreign key references, and a restore, can run without
    // the transition table (`capture.rs`). Their events are written already, and there is
    // nothing to cascade.
    let Some(rows) = rows else {
        for entry in expected.iter().filter(|entry| entry.captured) {
            crate::capture::take_count(relid, entry.deletion_id);
        }
        return Ok(None);
    };
    let table = catalog::qualified_name(relid);
    let trigger_data = trigger.trigger_data() as *const pg_sys::TriggerData as *mut pg_sys::TriggerData;
    Spi::connect_mut(|client| {
        // SAFETY: the trigger data outlives this SPI connection; registering it makes the
        // statement's transition tables visible by name.
        unsafe { pg_sys::SPI_register_trigger_data(trigger_data) };
        let statement = Statement { relid, table: &table, managed: &managed, rows };
        if expected.is_empty() {
            privacy::check_holds(client, &statement.as_purged());
            write_events(client, &statement, Operation::Purge, None, &Initiator::current(), None);
            privacy::redact_events(client, &statement.as_purged());
        }
        for entry in &expected {
            let marked = if entry.captured {
                crate::capture::take_count(relid, entry.deletion_id)
            } else {
                write_events(client, &statement, entry.operation, Some(entry.deletion_id), &entry.initiator, entry.via.as_deref())
            };
            // A statement trigger fires also when the statement marked no row; stopping there
            // is what ends a cascade through cycles and self-references.
            if entry.operation == Operation::Delete && marked > 0 {
                let parent = cascade::ParentRows {
                    relid,
                    table: &table,
                    managed: &managed,
                    rows,
                    deletion_id: entry.deletion_id,
                    initiator: &entry.initiator,
                };
                cascade::apply(client, &parent);
            }
        }
    });
    Ok(None)
}

/// The statement whose transition table the audit trigger reads.
struct Statement<'a> {
    relid: pg_sys::Oid,
    table: &'a str,
    managed: &'a catalog::Managed,
    rows: &'a str,
}

impl<'a> Statement<'a> {
    fn as_purged(&self) -> privacy::PurgedRows<'a> {
        privacy::PurgedRows { relid: self.relid, table: self.table, managed: self.managed, rows: self.rows }
    }
}

fn write_events(
    client: &mut SpiClient<'_>,
    statement: &Statement<'_>,
    operation: Operation,
    deletion: Option<i64>,
    initiator: &Initiator,
    via: Option<&str>,
) -> usize {
    let keys = catalog::primary_key(statement.relid);
    let deletion_id = spi::quote_identifier(&statement.managed.deletion_id.name);
    let deleted_at = spi::quote_identifier(&statement.managed.deleted_at.name);
    let (deletion_sql, filter) = match operation {
        Operation::Delete => (format!("r.{deletion_id}"), format!("r.{deletion_id} = $6 AND r.{deleted_at} IS NOT NULL")),
        // Rows deleted before they had a deletion id are restored under the id 0.
        Operation::Restore => ("NULLIF($6, 0)".to_string(), format!("r.{deleted_at} IS NULL")),
        Operation::Purge => (format!("r.{deletion_id}"), "$6::bigint IS NULL".to_string()),
    };
    let (key_text, prefixes) = key_text_sql(&keys, 8);
    // One batch per deletion and 65,536 rows; the window numbers the rows for the split.
    let sql = format!(
        "INSERT INTO softdelete.event_batches \
           (operation, table_name, keys, deletion_id, actor, role_name, reason, via_constraint, \
            application_name, client_addr) \
         SELECT $1, $2, pg_catalog.array_agg(s.key), s.deletion_id, $3, $4, $5, $7, \
                pg_catalog.current_setting('application_name'), pg_catalog.inet_client_addr() \
         FROM (SELECT {key_text} AS key, {deletion_sql} AS deletion_id, \
                      (pg_catalog.row_number() OVER () - 1) / {BATCH_ROWS} AS batch \
               FROM {rows} r WHERE {filter}) s \
         GROUP BY s.deletion_id, s.batch \
         RETURNING pg_catalog.cardinality(keys)",
        rows = spi::quote_identifier(statement.rows),
    );
    let mut args: Vec<DatumWithOid> = vec![
        operation.as_str().into(),
        statement.table.to_string().into(),
        initiator.actor.clone().into(),
        initiator.role.clone().into(),
        initiator.reason.clone().into(),
        deletion.into(),
        via.map(str::to_string).into(),
    ];
    args.extend(prefixes.into_iter().map(DatumWithOid::from));
    let owner = catalog::extension_owner();
    let cache_key = format!("{}:{}:{sql}", statement.relid.to_u32(), catalog::generation(statement.relid));
    internal::as_extension_owner(owner, || execute_prepared(client, &cache_key, &sql, &args))
}

/// The maximum number of row events in one row of `softdelete.event_batches`. The sequence of event ids
/// counts in steps of this size (schema.sql).
pub const BATCH_ROWS: usize = 65536;

/// The JSON form of a key column's value in the text of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// smallint, integer, bigint: the value's text is the JSON number.
    Integer,
    /// another built-in type: `to_json(value)`, as `jsonb_build_object()` would write it.
    Json,
    /// a user-defined type: the output function's text as a JSON string.
    Output,
}

impl KeyKind {
    pub fn of(key: &KeyColumn) -> KeyKind {
        match key.type_sql.as_str() {
            "pg_catalog.int2" | "pg_catalog.int4" | "pg_catalog.int8" => KeyKind::Integer,
            _ if key.builtin => KeyKind::Json,
            _ => KeyKind::Output,
        }
    }
}

/// The text of the JSON object `{"column": value, ...}` of a row's key, as SQL over the row
/// alias `r`, and the values of its parameters from `first_param` on: the text before each
/// value (`{"id": `). The capture of soft deletes (`capture.rs`) writes the same text.
///
/// This SQL also runs with the extension owner's privileges. A value of a user-defined type
/// therefore goes through `format('%s', ...)`, which calls the type's output function (only a
/// superuser can define one), and never through a cast, which the type's owner may have defined.
pub fn key_text_sql(keys: &[KeyColumn], first_param: usize) -> (String, Vec<String>) {
    let mut parts = Vec::new();
    let mut prefixes = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let column = format!("r.{}", spi::quote_identifier(&key.name));
        let value = match KeyKind::of(key) {
            KeyKind::Integer => format!("{column}::pg_catalog.text"),
            KeyKind::Json => format!("pg_catalog.to_json({column})::pg_catalog.text"),
            KeyKind::Output => format!("pg_catalog.to_json(pg_catalog.format('%s', {column}))::pg_catalog.text"),
        };
        parts.push(format!("${}::pg_catalog.text", first_param + i));
        parts.push(value);
        prefixes.push(key_prefix(i, &key.name));
    }
    parts.push("'}'".to_string());
    (format!("pg_catalog.concat({})", parts.join(", ")), prefixes)
}

/// Returns the JSON text before the value of key column number `position` (from 0): `{"id": `
/// for the first column, `, "b": ` for the others.
pub fn key_prefix(position: usize, name: &str) -> String {
    let quoted = serde_json::Value::String(name.to_string()).to_string();
    if position == 0 { format!("{{{quoted}: ") } else { format!(", {quoted}: ") }
}

thread_local! {
    /// Event-writing statements prepared once per backend, keyed by table, the table's cache
    /// generation and statement text. A change to the table starts a new generation, because
    /// PostgreSQL's plan cache does not track the transition table the statement reads. The few
    /// plans of earlier generations stay unused. They are prepared and executed with the
    /// same pinned search path, since PostgreSQL re-plans a cached statement under the current
    /// path when the path changes.
    static PREPARED: RefCell<std::collections::HashMap<String, pgrx::spi::OwnedPreparedStatement>> =
        RefCell::new(std::collections::HashMap::new());
}

/// Executes `sql` through a kept prepared statement, preparing it first when this backend has
/// not yet. Call it with `search_path` pinned. Returns the sum of the first column of the rows
/// it returns: the number of row events written.
fn execute_prepared(client: &mut SpiClient<'_>, cache_key: &str, sql: &str, args: &[DatumWithOid<'_>]) -> usize {
    let known = PREPARED.with(|prepared| prepared.borrow().contains_key(cache_key));
    if !known {
        let types: Vec<PgOid> = args.iter().map(|arg| PgOid::from(arg.oid())).collect();
        let statement = error::spi("audit::prepare", client.prepare_mut(sql, &types));
        let kept = statement.keep();
        PREPARED.with(|prepared| prepared.borrow_mut().insert(cache_key.to_string(), kept));
    }
    PREPARED.with(|prepared| {
        let prepared = prepared.borrow();
        let Some(statement) = prepared.get(cache_key) else {
            error::internal("audit::execute_prepared", "prepared statement missing")
        };
        let rows = error::spi("audit::execute_prepared", client.update(statement, None, args));
        rows.map(|row| row.get::<i32>(1).ok().flatten().unwrap_or(0).max(0) as usize).sum()
    })
}

/// Records the referencing rows a SET NULL or SET DEFAULT rule changed, with their old and new
/// values in `detail`, as `unlink` events of the deletion.
pub fn record_unlinks(
    client: &mut SpiClient<'_>,
    table: &str,
    deletion_id: i64,
    initiator: &Initiator,
    keys: Vec<pgrx::JsonB>,
    details: Vec<pgrx::JsonB>,
) {
    let sql = "INSERT INTO softdelete.event_log \
                 (operation, table_name, key, deletion_id, actor, role_name, reason, detail, \
                  application_name, client_addr) \
               SELECT 'unlink', $1, k.key, $2, $3, $4, $5, k.detail, \
                      pg_catalog.current_setting('application_name'), pg_catalog.inet_client_addr() \
               FROM ROWS FROM (pg_catalog.unnest($6::jsonb[]), pg_catalog.unnest($7::jsonb[])) AS k(key, detail)";
    let args: Vec<DatumWithOid> = vec![
        table.to_string().into(),
        deletion_id.into(),
        initiator.actor.clone().into(),
        initiator.role.clone().into(),
        initiator.reason.clone().into(),
        keys.into(),
        details.into(),
    ];
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        error::spi("audit::record_unlinks", client.update(sql, None, &args));
    });
}

/// `jsonb_build_object($n::text, r."col", ...)` over the key columns, with the column names
/// bound from parameter `first_param` on.
///
/// This SQL also runs with the extension owner's privileges. A value of a user-defined type is
/// therefore converted with `format('%s', ...)`, which calls the type's output function, and
/// only a superuser can define one. A cast to json, which the type's owner may have defined,
/// is never used. Such key values are stored as JSON strings.
pub fn key_object_sql(keys: &[KeyColumn], first_param: usize) -> String {
    let pairs: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let column = format!("r.{}", spi::quote_identifier(&key.name));
            let value = if key.builtin { column } else { format!("pg_catalog.format('%s', {column})") };
            format!("${}::text, {value}", first_param + i)
        })
        .collect();
    format!("pg_catalog.jsonb_build_object({})", pairs.join(", "))
}

/// Records a TRUNCATE allowed by `softdelete.allow_hard_delete` (one event, without a key).
pub fn record_truncate(table: &str) {
    let sql = "INSERT INTO softdelete.event_log \
                 (operation, table_name, key, actor, role_name, reason, application_name, client_addr) \
               VALUES ('truncate', $1, NULL, $2, $3, $4, \
                       pg_catalog.current_setting('application_name'), pg_catalog.inet_client_addr())";
    let args: Vec<DatumWithOid> = vec![
        table.to_string().into(),
        settings::actor().into(),
        settings::current_role_name().into(),
        settings::reason().into(),
    ];
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        Spi::connect_mut(|client| {
            error::spi("audit::record_truncate", client.update(sql, None, &args));
        })
    });
}

/// Records that a restore put back a value that a SET NULL or SET DEFAULT rule had changed.
pub fn record_relink(client: &mut SpiClient<'_>, table: &str, deletion_id: i64, key: pgrx::JsonB, detail: pgrx::JsonB) {
    let initiator = Initiator::current();
    let sql = "INSERT INTO softdelete.event_log \
                 (operation, table_name, key, deletion_id, actor, role_name, reason, detail, \
                  application_name, client_addr) \
               VALUES ('relink', $1, $2, $3, $4, $5, $6, $7, \
                       pg_catalog.current_setting('application_name'), pg_catalog.inet_client_addr())";
    let args: Vec<DatumWithOid> = vec![
        table.to_string().into(),
        key.into(),
        deletion_id.into(),
        initiator.actor.into(),
        initiator.role.into(),
        initiator.reason.into(),
        detail.into(),
    ];
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        error::spi("audit::record_relink", client.update(sql, None, &args));
    });
}
