//! Row events of soft deletes, collected while the UPDATE runs.
//!
//! The planner hook adds a check option to the UPDATE that a soft delete becomes (`intercept`).
//! PostgreSQL evaluates a check option of the kind views use once for every row the statement
//! actually changed, after the row is written. A row skipped because a concurrent transaction
//! changed it first is never passed. The option's expression calls
//! `softdelete._capture_deleted()` with the deletion id the row received and its primary key,
//! and returns true. This module keeps those keys in memory and writes them to
//! `softdelete.event_batches`, one row per at most 65,536 keys:
//!
//! - when a batch is full, so that memory does not grow with the number of rows;
//! - when the executor finishes the statement that collected them (a hook on `ExecutorFinish`);
//! - at the latest before the transaction commits or prepares.
//!
//! A subtransaction that aborts drops what it collected, and so does the transaction.
//!
//! A bulk soft delete then costs an UPDATE plus the call per row, instead of an UPDATE plus a
//! transition table and a second pass over the rows. On a table that foreign keys reference,
//! the cascade still needs the transition table, so the statement keeps it there.
//!
//! The deletion id and the actor that the UPDATE writes into each row come from
//! `softdelete._deletion_id()` and `softdelete._deletion_actor()`, called per row. The first call
//! in an execution of the statement draws the id from `softdelete.deletion_seq` and registers
//! the deletion for the audit trigger. Later calls in the same execution return the same
//! values. An execution is identified by its `QueryDesc`, which the executor hooks keep on a
//! stack while it runs. A scalar subquery (an InitPlan) would also run once per execution, but
//! planning it cost a tenth of a single-row soft delete.
//!
//! These functions can be called from SQL like any function, but they act only on calls that
//! the planner hook built. Those calls carry a parse location (`CALL_MARK`) that the parser never
//! produces and that stored query trees (views, rules) never keep, because PostgreSQL resets
//! locations when it reads a stored tree. Any other call raises `42501` and changes nothing,
//! also one written into the WHERE clause of a soft delete.

use std::cell::{Cell, RefCell};

use pgrx::prelude::*;

use crate::audit::{self, Initiator};
use crate::catalog;
use crate::error;
use crate::foreign_keys;
use crate::internal;

struct Pending {
    /// The subtransaction that collected the keys; its abort drops them.
    subtransaction: pg_sys::SubTransactionId,
    /// The executor nesting level that collected them (see [`LEVEL`]).
    level: u32,
    relid: pg_sys::Oid,
    deletion_id: i64,
    /// Delete or restore.
    operation: audit::Operation,
    initiator: Initiator,
    /// The text before each key value (`{"id": `).
    prefixes: Vec<String>,
    /// The keys collected so far.
    keys: Keys,
}

/// Keys as they arrive: a single integer column as numbers, any other key as JSON text.
enum Keys {
    Integers(Vec<i64>),
    Texts(Vec<String>),
}

impl Keys {
    fn len(&self) -> usize {
        match self {
            Keys::Integers(keys) => keys.len(),
            Keys::Texts(keys) => keys.len(),
        }
    }

    /// Builds a `text[]` of the JSON text of each key, `{"id": 42}`, in the current memory
    /// context.
    ///
    /// The texts are written into one buffer, and one allocation contains all their varlena
    /// values, which `construct_md_array` then copies into the array. A `Vec<String>` converted
    /// element by element cost two allocations per key.
    unsafe fn into_array(self, prefixes: &[String]) -> pg_sys::Datum {
        use std::fmt::Write;
        let mut buffer = String::new();
        let mut ends = Vec::with_capacity(self.len());
        match self {
            Keys::Integers(keys) => {
                let prefix = prefixes.first().map(String::as_str).unwrap_or("{\"?\": ");
                for key in keys {
                    let _ = write!(buffer, "{prefix}{key}}}");
                    ends.push(buffer.len());
                }
            }
            Keys::Texts(keys) => {
                for key in keys {
                    buffer.push_str(&key);
                    ends.push(buffer.len());
                }
            }
        }
        let header = pg_sys::VARHDRSZ;
        // Every value starts at a multiple of 4 bytes, the alignment of its length word.
        let storage = pg_sys::palloc(buffer.len() + (header + 3) * ends.len()) as *mut u8;
        let mut datums = Vec::with_capacity(ends.len());
        let (mut start, mut offset) = (0, 0);
        for end in ends {
            let text = storage.add(offset);
            let length = end - start;
            pgrx::set_varsize_4b(text as *mut pg_sys::varlena, (length + header) as i32);
            std::ptr::copy_nonoverlapping(buffer.as_ptr().add(start), text.add(header), length);
            datums.push(pg_sys::Datum::from(text));
            offset += (header + length + 3) & !3;
            start = end;
        }
        let mut dims = [datums.len() as i32];
        let mut lower_bounds = [1];
        let array = pg_sys::construct_md_array(
            datums.as_mut_ptr(),
            std::ptr::null_mut(),
            1,
            dims.as_mut_ptr(),
            lower_bounds.as_mut_ptr(),
            pg_sys::TEXTOID,
            -1,
            false,
            pg_sys::TYPALIGN_INT as std::ffi::c_char,
        );
        pg_sys::Datum::from(array)
    }
}

thread_local! {
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
    /// Rows written per (table, deletion) and not yet taken by the table's audit trigger, which
    /// needs the number to decide whether there is a cascade to apply. Each deletion's rows are
    /// collected by one statement, whose trigger takes the number once. A number left behind is
    /// dropped at the end of the transaction.
    static COUNTS: RefCell<Vec<(pg_sys::Oid, i64, usize)>> = const { RefCell::new(Vec::new()) };
    /// How many ExecutorRun and ExecutorFinish calls are in progress in this backend. Keys are
    /// tagged with it, so that a statement that finishes inside another (a trigger's query)
    /// writes only its own keys and the outer statement's keys stay together.
    static LEVEL: Cell<u32> = const { Cell::new(0) };
    /// The executions in progress, innermost last (QueryDesc addresses).
    static EXECUTING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// The deletions started by the executions in progress.
    static STARTED: RefCell<Vec<Started>> = const { RefCell::new(Vec::new()) };
}

/// The parse location of the function calls that the planner hook adds. The parser sets
/// locations of 0 or more, or -1 for unknown, and reading a stored query tree sets -1.
pub const CALL_MARK: i32 = -7_265_133;

/// Raises `42501` unless the function is called through a call node the planner hook built.
unsafe fn check_caller(fcinfo: pg_sys::FunctionCallInfo) {
    let flinfo = (*fcinfo).flinfo;
    let expression = if flinfo.is_null() { std::ptr::null_mut() } else { (*flinfo).fn_expr };
    let marked = !expression.is_null()
        && (*expression).type_ == pg_sys::NodeTag::T_FuncExpr
        && (*(expression as *mut pg_sys::FuncExpr)).location == CALL_MARK;
    if !marked {
        error::UserError::new(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "the functions that record a soft delete are called by its plan and cannot be called directly",
        )
        .hint("Delete rows with DELETE; the extension records them.")
        .raise()
    }
}

/// A deletion that an execution of a soft-deleting statement started.
struct Started {
    execution: usize,
    subtransaction: pg_sys::SubTransactionId,
    relid: pg_sys::Oid,
    deletion_id: i64,
    actor: String,
}

/// Returns the deletion id and actor of the soft delete of `relid` that the current execution
/// runs, starting the deletion on the first call.
fn current_deletion<R>(relid: pg_sys::Oid, read: impl Fn(&Started) -> R) -> R {
    let Some(execution) = EXECUTING.with(|executing| executing.borrow().last().copied()) else {
        error::internal("capture::current_deletion", "no statement is executing")
    };
    let found = STARTED.with(|started| {
        let started = started.borrow();
        let matches = |entry: &&Started| entry.execution == execution && entry.relid == relid;
        started.last().filter(matches).or_else(|| started.iter().rev().find(matches)).map(&read)
    });
    if let Some(value) = found {
        return value;
    }
    // One statement is one deletion: a second table that the same execution soft-deletes rows
    // of (a DELETE in another data-modifying CTE) joins the deletion its first table started.
    let sibling = STARTED.with(|started| {
        started.borrow().iter().find(|entry| entry.execution == execution).map(|entry| (entry.deletion_id, entry.actor.clone()))
    });
    let (deletion_id, actor) = match sibling {
        Some((deletion_id, actor)) => {
            audit::join_deletion(relid, deletion_id);
            (deletion_id, actor)
        }
        None => (audit::begin_deletion(relid), crate::settings::actor()),
    };
    // SAFETY: reads backend-local transaction state.
    let subtransaction = unsafe { pg_sys::GetCurrentSubTransactionId() };
    let entry = Started { execution, subtransaction, relid, deletion_id, actor };
    let value = read(&entry);
    STARTED.with(|started| started.borrow_mut().push(entry));
    value
}

/// Keeps an execution on [`EXECUTING`] while the executor runs it, also when it ends with an
/// error.
struct Executing;

impl Executing {
    fn enter(query: *mut pg_sys::QueryDesc) -> Executing {
        EXECUTING.with(|executing| executing.borrow_mut().push(query as usize));
        Executing
    }
}

impl Drop for Executing {
    fn drop(&mut self) {
        EXECUTING.with(|executing| {
            if let Ok(mut executing) = executing.try_borrow_mut() {
                executing.pop();
            }
        });
    }
}

/// Forgets the deletions an execution started, once it is finished.
fn forget_execution(query: *mut pg_sys::QueryDesc) {
    STARTED.with(|started| {
        if let Ok(mut started) = started.try_borrow_mut() {
            started.retain(|entry| entry.execution != query as usize);
        }
    });
}

// The three functions that every row of a bulk soft delete calls are plain C-ABI functions:
// pgrx's function wrapper (argument conversion, a memory context per call) cost more than the
// work they do.
pgrx::extension_sql!(
    r#"
CREATE FUNCTION softdelete._deletion_id(relid oid) RETURNS bigint
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'softdelete_deletion_id';
COMMENT ON FUNCTION softdelete._deletion_id(oid) IS
    'The deletion id of the running soft delete (called by its plan only)';
CREATE FUNCTION softdelete._deletion_actor(relid oid) RETURNS text
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'softdelete_deletion_actor';
COMMENT ON FUNCTION softdelete._deletion_actor(oid) IS
    'The actor of the running soft delete (called by its plan only)';
CREATE FUNCTION softdelete._capture_deleted(relid oid, deletion_id bigint, key bigint) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'softdelete_capture_deleted';
COMMENT ON FUNCTION softdelete._capture_deleted(oid, bigint, bigint) IS
    'Records a row the running soft delete marked (called by its plan only)';
CREATE FUNCTION softdelete._capture_deleted(relid oid, deletion_id bigint, key text[]) RETURNS boolean
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'softdelete_capture_deleted_json';
COMMENT ON FUNCTION softdelete._capture_deleted(oid, bigint, text[]) IS
    'Records a row the running soft delete marked, by the JSON text of each key value (called by its plan only)';
"#,
    name = "capture_functions",
);

macro_rules! function_info {
    ($name:ident) => {
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $name() -> &'static pg_sys::Pg_finfo_record {
            const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }
    };
}

function_info!(pg_finfo_softdelete_deletion_id);
function_info!(pg_finfo_softdelete_deletion_actor);
function_info!(pg_finfo_softdelete_capture_deleted);
function_info!(pg_finfo_softdelete_capture_deleted_json);

/// Argument `n` of a strict function as an OID.
unsafe fn oid_argument(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> pg_sys::Oid {
    pg_sys::Oid::from(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n).value() as u32)
}

/// Argument `n` of a strict function as a bigint.
unsafe fn bigint_argument(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> i64 {
    pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n).value() as i64
}

/// `softdelete._deletion_id(relid)`: the deletion id a soft delete writes into every row it
/// marks.
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn softdelete_deletion_id(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    check_caller(fcinfo);
    let id = current_deletion(oid_argument(fcinfo, 0), |entry| entry.deletion_id);
    pg_sys::Datum::from(id)
}

/// `softdelete._deletion_actor(relid)`: the actor a soft delete writes into `deleted_by`,
/// `softdelete.actor` when the deletion started, else the current role.
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn softdelete_deletion_actor(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    check_caller(fcinfo);
    current_deletion(oid_argument(fcinfo, 0), |entry| {
        // SAFETY: copies the bytes into a new text value in the caller's memory context.
        let text = unsafe { pg_sys::cstring_to_text_with_len(entry.actor.as_ptr() as *const std::ffi::c_char, entry.actor.len() as i32) };
        pg_sys::Datum::from(text)
    })
}

/// `softdelete._capture_deleted(relid, deletion_id, key bigint)`: collects the key of a
/// soft-deleted row whose primary key is one integer column.
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn softdelete_capture_deleted(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    check_caller(fcinfo);
    let key = bigint_argument(fcinfo, 2);
    collect(oid_argument(fcinfo, 0), bigint_argument(fcinfo, 1), |keys, _| match keys {
        Keys::Integers(keys) => keys.push(key),
        Keys::Texts(_) => error::internal("capture::capture_deleted", "a key of another kind was collected before"),
    });
    pg_sys::Datum::from(true)
}

/// `softdelete._capture_deleted(relid, deletion_id, key text[])`: collects the key of a
/// soft-deleted row, given as the JSON text of each key column's value, which the planner hook
/// computes as `audit::key_text_sql` does in SQL.
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn softdelete_capture_deleted_json(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    check_caller(fcinfo);
    let values = <Vec<Option<String>> as pgrx::FromDatum>::from_datum(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 2), false)
        .unwrap_or_default();
    collect(oid_argument(fcinfo, 0), bigint_argument(fcinfo, 1), |keys, prefixes| {
        let mut text = String::new();
        for (i, value) in values.iter().enumerate() {
            text.push_str(prefixes.get(i).map(String::as_str).unwrap_or(", \"?\": "));
            text.push_str(value.as_deref().unwrap_or("null"));
        }
        text.push('}');
        match keys {
            Keys::Texts(keys) => keys.push(text),
            Keys::Integers(_) => error::internal("capture::capture_deleted_json", "a key of another kind was collected before"),
        }
    });
    pg_sys::Datum::from(true)
}

fn collect(relid: pg_sys::Oid, deletion_id: i64, add: impl FnOnce(&mut Keys, &[String])) {
    let level = LEVEL.with(Cell::get);
    // SAFETY: reads backend-local transaction state.
    let subtransaction = unsafe { pg_sys::GetCurrentSubTransactionId() };
    let full = PENDING.with(|pending| {
        let mut pending = pending.borrow_mut();
        let matches = |entry: &Pending| {
            entry.relid == relid && entry.deletion_id == deletion_id && entry.level == level && entry.subtransaction == subtransaction
        };
        // Rows of one statement arrive one after another: try the newest entry first.
        let position = match pending.last() {
            Some(last) if matches(last) => Some(pending.len() - 1),
            _ => pending.iter().position(matches),
        };
        let index = match position {
            Some(index) => index,
            None => {
                let Some((operation, initiator)) = audit::captured_change(relid, deletion_id) else {
                    // The statement wrote another deletion id than the one it drew: a BEFORE
                    // UPDATE trigger of the table changed deletion_id in NEW.
                    error::UserError::new(
                        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                        format!(
                            "a row of table {} was marked with deletion id {deletion_id}, which this statement did not start",
                            catalog::qualified_name(relid)
                        ),
                    )
                    .hint("A BEFORE UPDATE trigger on the table must not change the marker columns deleted_at, deleted_by and deletion_id.")
                    .raise()
                };
                let columns = catalog::primary_key(relid);
                let integer = columns.len() == 1 && audit::KeyKind::of(&columns[0]) == audit::KeyKind::Integer;
                pending.push(Pending {
                    subtransaction,
                    level,
                    relid,
                    deletion_id,
                    operation,
                    initiator,
                    prefixes: columns.iter().enumerate().map(|(i, key)| audit::key_prefix(i, &key.name)).collect(),
                    keys: if integer { Keys::Integers(Vec::new()) } else { Keys::Texts(Vec::new()) },
                });
                pending.len() - 1
            }
        };
        let entry = &mut pending[index];
        add(&mut entry.keys, &entry.prefixes);
        (entry.keys.len() >= audit::BATCH_ROWS).then_some(index)
    });
    if let Some(index) = full {
        let entry = PENDING.with(|pending| pending.borrow_mut().remove(index));
        write(vec![entry]);
    }
}

/// Returns the number of rows collected for the deletion in the table, and removes it.
pub fn take_count(relid: pg_sys::Oid, deletion_id: i64) -> usize {
    let written = COUNTS.with(|counts| {
        let mut counts = counts.borrow_mut();
        match counts.iter().position(|(r, d, _)| *r == relid && *d == deletion_id) {
            Some(index) => counts.remove(index).2,
            None => 0,
        }
    });
    let pending: usize = PENDING.with(|pending| {
        pending.borrow().iter().filter(|entry| entry.relid == relid && entry.deletion_id == deletion_id).map(|entry| entry.keys.len()).sum()
    });
    written + pending
}

/// Writes the keys collected at `min_level` or deeper.
fn flush(min_level: u32) {
    let taken: Vec<Pending> = PENDING.with(|pending| {
        let Ok(mut pending) = pending.try_borrow_mut() else { return Vec::new() };
        if pending.is_empty() {
            return Vec::new();
        }
        let (taken, kept) = pending.drain(..).partition(|entry| entry.level >= min_level);
        *pending = kept;
        taken
    });
    if !taken.is_empty() {
        write(taken);
    }
}

fn write(entries: Vec<Pending>) {
    for entry in entries.into_iter().filter(|entry| entry.keys.len() > 0) {
        let count = entry.keys.len();
        COUNTS.with(|counts| {
            let mut counts = counts.borrow_mut();
            match counts.iter_mut().find(|(r, d, _)| *r == entry.relid && *d == entry.deletion_id) {
                Some(found) => found.2 += count,
                None => counts.push((entry.relid, entry.deletion_id, count)),
            }
        });
        // SAFETY: runs inside a transaction; the memory context is deleted on every path,
        // with its parent on error.
        unsafe {
            let context = pg_sys::AllocSetContextCreateInternal(
                pg_sys::CurrentMemoryContext,
                c"pg_softdelete event batch".as_ptr(),
                0,
                8 * 1024,
                8 * 1024 * 1024,
            );
            let previous = pg_sys::MemoryContextSwitchTo(context);
            insert_batch(entry);
            pg_sys::MemoryContextSwitchTo(previous);
            pg_sys::MemoryContextDelete(context);
        }
    }
}

/// The columns of `softdelete.event_batches` that a batch sets, every one of them.
const BATCH_COLUMNS: [&std::ffi::CStr; 14] = [
    c"event_id",
    c"operation",
    c"table_name",
    c"keys",
    c"deletion_id",
    c"occurred_at",
    c"recorded_at",
    c"actor",
    c"role_name",
    c"reason",
    c"via_constraint",
    c"transaction_id",
    c"application_name",
    c"client_addr",
];

/// The destination of batches: the table, its event id sequence and the attribute numbers of
/// [`BATCH_COLUMNS`].
#[derive(Clone, Copy)]
struct BatchTable {
    table: pg_sys::Oid,
    sequence: pg_sys::Oid,
    attnums: [i16; BATCH_COLUMNS.len()],
}

thread_local! {
    /// Looked up once per backend; emptied when a relation is invalidated (the extension
    /// dropped and created again).
    static BATCH_TABLE: Cell<Option<BatchTable>> = const { Cell::new(None) };
}

#[pg_guard]
unsafe extern "C-unwind" fn relation_changed(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    if let Some(target) = BATCH_TABLE.with(Cell::get) {
        if relid == pg_sys::InvalidOid || relid == target.table || relid == target.sequence {
            BATCH_TABLE.with(|cell| cell.set(None));
        }
    }
}

unsafe fn batch_table() -> BatchTable {
    if let Some(target) = BATCH_TABLE.with(Cell::get) {
        return target;
    }
    let schema = pg_sys::get_namespace_oid(catalog::SCHEMA.as_ptr(), false);
    let table = pg_sys::get_relname_relid(c"event_batches".as_ptr(), schema);
    let sequence = pg_sys::get_relname_relid(c"event_id_seq".as_ptr(), schema);
    if table == pg_sys::InvalidOid || sequence == pg_sys::InvalidOid {
        error::internal("capture::batch_table", "softdelete.event_batches or softdelete.event_id_seq not found");
    }
    let mut attnums = [0i16; BATCH_COLUMNS.len()];
    for (slot, name) in attnums.iter_mut().zip(BATCH_COLUMNS) {
        *slot = pg_sys::get_attnum(table, name.as_ptr());
        if *slot <= 0 {
            error::internal("capture::batch_table", format!("column {name:?} of softdelete.event_batches not found"));
        }
    }
    let target = BatchTable { table, sequence, attnums };
    BATCH_TABLE.with(|cell| cell.set(Some(target)));
    target
}

/// Inserts one row into `softdelete.event_batches` directly, without SQL: an INSERT through
/// SPI cost as much as the UPDATE of a single-row soft delete. Every column is set here,
/// defaults included. The heap insertion compresses and moves the keys out of line as an
/// INSERT would, and the table's indexes (plain B-trees on columns) get their entries.
unsafe fn insert_batch(entry: Pending) {
    let target = batch_table();
    let event_id = internal::as_extension_owner_without_sql(catalog::extension_owner(), || {
        pgrx::direct_function_call::<i64>(pg_sys::nextval_oid, &[Some(pg_sys::Datum::from(target.sequence))])
    });
    let Some(event_id) = event_id else { error::internal("capture::insert_batch", "nextval returned NULL") };
    let role = {
        let name = pg_sys::palloc0(pg_sys::NAMEDATALEN as usize) as *mut u8;
        let bytes = entry.initiator.role.as_bytes();
        let length = bytes.len().min(pg_sys::NAMEDATALEN as usize - 1);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), name, length);
        pg_sys::Datum::from(name)
    };
    let application = if pg_sys::application_name.is_null() {
        String::new()
    } else {
        std::ffi::CStr::from_ptr(pg_sys::application_name).to_string_lossy().into_owned()
    };
    // In the order of BATCH_COLUMNS.
    let columns: [Option<pg_sys::Datum>; BATCH_COLUMNS.len()] = [
        Some(pg_sys::Datum::from(event_id)),
        entry.operation.as_str().into_datum(),
        catalog::qualified_name(entry.relid).into_datum(),
        Some(entry.keys.into_array(&entry.prefixes)),
        // Rows deleted before they had a deletion id are restored under the id 0.
        (entry.deletion_id != 0).then_some(pg_sys::Datum::from(entry.deletion_id)),
        Some(pg_sys::Datum::from(pg_sys::GetCurrentTransactionStartTimestamp())),
        Some(pg_sys::Datum::from(pg_sys::GetCurrentTimestamp())),
        entry.initiator.actor.into_datum(),
        Some(role),
        entry.initiator.reason.into_datum(),
        None,
        Some(pg_sys::Datum::from(pg_sys::GetTopFullTransactionId().value)),
        application.into_datum(),
        pgrx::direct_function_call_as_datum(pg_sys::inet_client_addr, &[]),
    ];
    let table = target.table;
    let relation = pg_sys::table_open(table, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
    let descriptor = (*relation).rd_att;
    let count = (*descriptor).natts as usize;
    let mut values = vec![pg_sys::Datum::from(0); count];
    let mut nulls = vec![true; count];
    for (attnum, value) in target.attnums.iter().zip(columns) {
        let index = *attnum as usize - 1;
        if index >= count {
            error::internal("capture::insert_batch", "softdelete.event_batches has changed");
        }
        if let Some(value) = value {
            values[index] = value;
            nulls[index] = false;
        }
    }
    let tuple = pg_sys::heap_form_tuple(descriptor, values.as_mut_ptr(), nulls.as_mut_ptr());
    pg_sys::CatalogTupleInsert(relation, tuple);
    pg_sys::table_close(relation, pg_sys::NoLock as pg_sys::LOCKMODE);
}

static mut PREVIOUS_RUN: pg_sys::ExecutorRun_hook_type = None;
static mut PREVIOUS_FINISH: pg_sys::ExecutorFinish_hook_type = None;

/// Installs the executor hooks and the transaction callbacks; called once from `_PG_init`.
pub fn install() {
    // SAFETY: _PG_init runs once per backend, before any statement runs.
    unsafe {
        PREVIOUS_RUN = pg_sys::ExecutorRun_hook;
        pg_sys::ExecutorRun_hook = Some(executor_run);
        PREVIOUS_FINISH = pg_sys::ExecutorFinish_hook;
        pg_sys::ExecutorFinish_hook = Some(executor_finish);
        pg_sys::RegisterXactCallback(Some(transaction_event), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(subtransaction_event), std::ptr::null_mut());
        pg_sys::CacheRegisterRelcacheCallback(Some(relation_changed), pg_sys::Datum::from(0));
    }
}

/// Counts an executor call in [`LEVEL`] while it runs, also when it ends with an error.
struct Level;

impl Level {
    fn enter() -> Level {
        LEVEL.with(|level| level.set(level.get() + 1));
        Level
    }
}

impl Drop for Level {
    fn drop(&mut self) {
        LEVEL.with(|level| level.set(level.get().saturating_sub(1)));
    }
}

#[cfg(not(feature = "pg18"))]
#[pg_guard]
unsafe extern "C-unwind" fn executor_run(
    query: *mut pg_sys::QueryDesc,
    direction: pg_sys::ScanDirection::Type,
    count: u64,
    execute_once: bool,
) {
    skip_transition_table(query);
    let _level = Level::enter();
    let _executing = Executing::enter(query);
    match PREVIOUS_RUN {
        Some(previous) => previous(query, direction, count, execute_once),
        None => pg_sys::standard_ExecutorRun(query, direction, count, execute_once),
    }
}

#[cfg(feature = "pg18")]
#[pg_guard]
unsafe extern "C-unwind" fn executor_run(query: *mut pg_sys::QueryDesc, direction: pg_sys::ScanDirection::Type, count: u64) {
    skip_transition_table(query);
    let _level = Level::enter();
    let _executing = Executing::enter(query);
    match PREVIOUS_RUN {
        Some(previous) => previous(query, direction, count),
        None => pg_sys::standard_ExecutorRun(query, direction, count),
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn executor_finish(query: *mut pg_sys::QueryDesc) {
    // The keys collected while the statement ran, before its AFTER triggers fire, then those
    // of data-modifying CTEs that PostgreSQL runs to completion inside ExecutorFinish.
    let own_level = LEVEL.with(Cell::get) + 1;
    flush(own_level);
    {
        let _level = Level::enter();
        let _executing = Executing::enter(query);
        match PREVIOUS_FINISH {
            Some(previous) => previous(query),
            None => pg_sys::standard_ExecutorFinish(query),
        }
    }
    flush(own_level);
    forget_execution(query);
}

/// Drops the transition table of a statement whose rows the capture records: a top-level soft
/// delete on a table that no foreign key references, or a restore. Their row events are
/// collected by the check option, and of the extension's triggers only the cascade of a soft
/// delete reads the transition table, which PostgreSQL would otherwise fill with a copy of every
/// changed row. Tables with a transition table of another trigger (a user's, or the reference
/// check of a table that references a managed one), and partitioned tables, keep it.
unsafe fn skip_transition_table(query: *mut pg_sys::QueryDesc) {
    let state = (*query).planstate;
    if state.is_null() || (*state).type_ != pg_sys::NodeTag::T_ModifyTableState {
        return;
    }
    let modify = state as *mut pg_sys::ModifyTableState;
    if (*modify).operation != pg_sys::CmdType::CMD_UPDATE || (*modify).mt_transition_capture.is_null() {
        return;
    }
    let plan = (*state).plan as *mut pg_sys::ModifyTable;
    let Some(capture) = capture_kind(plan) else { return };
    let result = (*modify).rootResultRelInfo;
    let result = if result.is_null() { (*modify).resultRelInfo } else { result };
    if result.is_null() {
        return;
    }
    let relation = (*result).ri_RelationDesc;
    if relation.is_null() || (*(*relation).rd_rel).relkind != pg_sys::RELKIND_RELATION as std::ffi::c_char {
        return;
    }
    let relid = (*relation).rd_id;
    if catalog::lookup(relid).is_none() {
        return;
    }
    if capture == crate::intercept::CAPTURE_DELETE && !foreign_keys::referencing(relid).is_empty() {
        return;
    }
    let triggers = (*relation).trigdesc;
    if triggers.is_null() {
        return;
    }
    for i in 0..(*triggers).numtriggers as usize {
        let trigger = (*triggers).triggers.add(i);
        let has_table = !(*trigger).tgnewtable.is_null() || !(*trigger).tgoldtable.is_null();
        let ours = std::ffi::CStr::from_ptr((*trigger).tgname).to_bytes() == b"softdelete_audit_update";
        let on_update = ((*trigger).tgtype as u32 & pg_sys::TRIGGER_TYPE_UPDATE) != 0;
        if has_table && on_update && !ours {
            return;
        }
    }
    (*modify).mt_transition_capture = std::ptr::null_mut();
}

/// Returns the name of the capture check option of the ModifyTable node, if it has one.
unsafe fn capture_kind(plan: *mut pg_sys::ModifyTable) -> Option<&'static std::ffi::CStr> {
    let lists = pgrx::PgList::<pg_sys::List>::from_pg((*plan).withCheckOptionLists);
    let first = lists.get_ptr(0)?;
    let options = pgrx::PgList::<pg_sys::WithCheckOption>::from_pg(first);
    for option in options.iter_ptr() {
        if (*option).relname.is_null() {
            continue;
        }
        let name = std::ffi::CStr::from_ptr((*option).relname);
        for kind in [crate::intercept::CAPTURE_DELETE, crate::intercept::CAPTURE_RESTORE] {
            if name == kind {
                return Some(kind);
            }
        }
    }
    None
}

#[pg_guard]
unsafe extern "C-unwind" fn transaction_event(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    match event {
        pg_sys::XactEvent::XACT_EVENT_PRE_COMMIT | pg_sys::XactEvent::XACT_EVENT_PRE_PREPARE => flush(0),
        pg_sys::XactEvent::XACT_EVENT_COMMIT
        | pg_sys::XactEvent::XACT_EVENT_ABORT
        | pg_sys::XactEvent::XACT_EVENT_PARALLEL_COMMIT
        | pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT
        | pg_sys::XactEvent::XACT_EVENT_PREPARE => {
            PENDING.with(|pending| {
                if let Ok(mut pending) = pending.try_borrow_mut() {
                    pending.clear();
                }
            });
            COUNTS.with(|counts| {
                if let Ok(mut counts) = counts.try_borrow_mut() {
                    counts.clear();
                }
            });
            LEVEL.with(|level| level.set(0));
            EXECUTING.with(|executing| {
                if let Ok(mut executing) = executing.try_borrow_mut() {
                    executing.clear();
                }
            });
            STARTED.with(|started| {
                if let Ok(mut started) = started.try_borrow_mut() {
                    started.clear();
                }
            });
        }
        _ => {}
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn subtransaction_event(
    event: pg_sys::SubXactEvent::Type,
    subtransaction: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        PENDING.with(|pending| {
            if let Ok(mut pending) = pending.try_borrow_mut() {
                pending.retain(|entry| entry.subtransaction < subtransaction);
            }
        });
        STARTED.with(|started| {
            if let Ok(mut started) = started.try_borrow_mut() {
                started.retain(|entry| entry.subtransaction < subtransaction);
            }
        });
    }
}
