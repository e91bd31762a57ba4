//! The extension's own statements, and the state that distinguishes them from users' statements.
//!
//! restore() and purge() must see deleted rows, write the marker columns and remove rows for
//! real, all of which the planner hook refuses to users. They mark the one statement they are
//! about to run as internal; the planner hook consumes that mark on its next call, so any
//! statement a user trigger runs while the internal one executes is planned as a user
//! statement again.

use std::cell::{Cell, RefCell};

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::error;

thread_local! {
    static NEXT_PLAN_INTERNAL: RefCell<Option<Vec<pg_sys::Oid>>> = const { RefCell::new(None) };
    static PLANNING_INTERNAL: RefCell<Option<Vec<pg_sys::Oid>>> = const { RefCell::new(None) };
    static HARD_DELETE_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Set for an internal UPDATE that restores rows of this deletion: the planner hook then
    /// adds the capture of the restored rows for the audit trail (`capture.rs`).
    static NEXT_PLAN_RESTORES: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Takes the mark of [`update_restoring`], so that only one planner call reads it.
pub fn take_next_plan_restores() -> Option<i64> {
    NEXT_PLAN_RESTORES.with(|mark| mark.replace(None))
}

/// Takes the mark set by the statement runners below, so that only one planner call reads it.
/// The mark names the tables whose deleted rows the statement may read.
pub fn take_next_plan_internal() -> Option<Vec<pg_sys::Oid>> {
    NEXT_PLAN_INTERNAL.with(|flag| flag.replace(None))
}

/// Returns true when the mark is set and a data-modifying statement on `relid` may not take
/// it, because the mark names other tables. PostgreSQL plans the actions of a `DO ALSO` rule
/// on the marked statement's table before the statement itself, and such an action must be
/// planned as a user statement, leaving the mark to the statement it was set for.
pub fn next_plan_mark_is_for_other_tables(relid: pg_sys::Oid) -> bool {
    NEXT_PLAN_INTERNAL.with(|flag| flag.borrow().as_ref().is_some_and(|tables| !tables.contains(&relid)))
}

/// Returns true while an internal statement that may see the deleted rows of `relid` is
/// being planned.
pub fn planning_internal_for(relid: pg_sys::Oid) -> bool {
    PLANNING_INTERNAL.with(|tables| tables.borrow().as_ref().is_some_and(|tables| tables.contains(&relid)))
}

/// Marks the planner call in progress as internal (for one table) or not, and restores the
/// outer value on drop, so that a nested planner call (a function folded at plan time that runs
/// SQL) is never treated as internal.
pub struct PlanningScope {
    outer: Option<Vec<pg_sys::Oid>>,
}

impl PlanningScope {
    pub fn enter(internal: Option<Vec<pg_sys::Oid>>) -> Self {
        PlanningScope { outer: PLANNING_INTERNAL.with(|flag| flag.replace(internal)) }
    }
}

impl Drop for PlanningScope {
    fn drop(&mut self) {
        let outer = self.outer.take();
        PLANNING_INTERNAL.with(|flag| {
            if let Ok(mut flag) = flag.try_borrow_mut() {
                *flag = outer;
            }
        });
    }
}

/// Clears the internal mark if the statement failed before it reached the planner.
struct NextPlanGuard;

impl Drop for NextPlanGuard {
    fn drop(&mut self) {
        NEXT_PLAN_INTERNAL.with(|flag| {
            if let Ok(mut flag) = flag.try_borrow_mut() {
                *flag = None;
            }
        });
        NEXT_PLAN_RESTORES.with(|mark| mark.set(None));
    }
}

/// Runs `sql` via SPI as the extension's own statement. The planner hook leaves it alone, it
/// reads the deleted rows of `tables` (and of no other table), and `search_path` is pinned, so
/// that no object of the caller's path is picked up.
fn run<'conn>(
    client: &mut SpiClient<'conn>,
    tables: &[pg_sys::Oid],
    sql: &str,
    args: &[DatumWithOid<'_>],
    function: &str,
) -> pgrx::spi::SpiTupleTable<'conn> {
    with_pinned_search_path(|| {
        let _guard = NextPlanGuard;
        NEXT_PLAN_INTERNAL.with(|flag| *flag.borrow_mut() = Some(tables.to_vec()));
        error::spi(function, client.update(sql, None, args))
    })
}

/// Runs one internal data-modifying statement on `relid` and returns the number of rows it
/// processed.
pub fn update(client: &mut SpiClient<'_>, relid: pg_sys::Oid, sql: &str, args: &[DatumWithOid<'_>]) -> u64 {
    run(client, &[relid], sql, args, "internal::update").len() as u64
}

/// Like [`update`], for the UPDATE that restores the rows of deletion `deletion_id` in
/// `relid`: the rows it restores are recorded as they are written, without a second pass.
pub fn update_restoring(client: &mut SpiClient<'_>, relid: pg_sys::Oid, sql: &str, args: &[DatumWithOid<'_>], deletion_id: i64) -> u64 {
    // The guard in `run` clears this mark together with the internal one.
    NEXT_PLAN_RESTORES.with(|mark| mark.set(Some(deletion_id)));
    run(client, &[relid], sql, args, "internal::update_restoring").len() as u64
}

/// Like [`update`], for a statement that reads deleted rows of several tables (a purge of rows
/// selected through their soft-deleted parents).
pub fn update_tables(client: &mut SpiClient<'_>, tables: &[pg_sys::Oid], sql: &str, args: &[DatumWithOid<'_>]) -> u64 {
    run(client, tables, sql, args, "internal::update_tables").len() as u64
}

/// Runs `f` with `search_path` set to `pg_catalog, pg_temp`, as a function with
/// `SET search_path` would. The previous value comes back on return, and on error through
/// (sub)transaction abort.
pub fn with_pinned_search_path<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: pops the GUC nesting level pushed below.
            unsafe { pg_sys::AtEOXact_GUC(true, self.0) };
        }
    }
    // SAFETY: backend-local GUC state, pushed and popped in strict nesting.
    let level = unsafe {
        let level = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"search_path".as_ptr(),
            c"pg_catalog, pg_temp".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        level
    };
    let _restore = Restore(level);
    f()
}

thread_local! {
    /// Tables that PostgreSQL's declared ON DELETE CASCADE may reach from the rows purge() is
    /// removing. Only DELETEs on these, planned inside a referential action, stay physical.
    static CASCADE_TARGETS: RefCell<Vec<pg_sys::Oid>> = const { RefCell::new(Vec::new()) };
}

/// True while purge() removes rows, so that the guard trigger lets the physical DELETE through.
pub fn hard_delete_in_progress() -> bool {
    HARD_DELETE_DEPTH.with(Cell::get) > 0
}

/// True when purge() is removing rows and `relid` is a table its declared cascades reach.
pub fn purge_may_cascade_into(relid: pg_sys::Oid) -> bool {
    hard_delete_in_progress() && CASCADE_TARGETS.with(|targets| targets.borrow().contains(&relid))
}

/// Adds the tables that PostgreSQL's declared ON DELETE CASCADE reaches from `relid`, at any
/// depth, to the tables the running purge may remove rows from.
pub fn allow_cascades_from(relid: pg_sys::Oid) {
    let mut pending = vec![relid];
    while let Some(table) = pending.pop() {
        for fk in crate::foreign_keys::referencing(table) {
            if fk.declared != crate::foreign_keys::Rule::Cascade {
                continue;
            }
            let new = CASCADE_TARGETS.with(|targets| {
                let mut targets = targets.borrow_mut();
                let new = !targets.contains(&fk.child);
                if new {
                    targets.push(fk.child);
                }
                new
            });
            if new {
                pending.push(fk.child);
            }
        }
    }
}

/// Lets physical deletes through the guard trigger until dropped.
pub struct HardDeleteScope;

impl HardDeleteScope {
    pub fn enter() -> Self {
        HARD_DELETE_DEPTH.with(|depth| depth.set(depth.get() + 1));
        HardDeleteScope
    }
}

impl Drop for HardDeleteScope {
    fn drop(&mut self) {
        HARD_DELETE_DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
        if !hard_delete_in_progress() {
            CASCADE_TARGETS.with(|targets| {
                if let Ok(mut targets) = targets.try_borrow_mut() {
                    targets.clear();
                }
            });
        }
    }
}

/// Runs `f` with the privileges of the extension's owner, so that ordinary roles can cause
/// audit events without being able to write the audit tables themselves.
pub fn as_extension_owner<R>(owner: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    as_role(owner, f)
}

/// Runs `f` with the privileges of `owner` (the extension's owner), for code that runs no SQL,
/// such as a direct function call, so that `search_path` need not be pinned.
pub fn as_extension_owner_without_sql<R>(owner: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    struct Restore {
        user: pg_sys::Oid,
        context: i32,
    }
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: restores the state saved below, in the same backend.
            unsafe { pg_sys::SetUserIdAndSecContext(self.user, self.context) };
        }
    }
    let mut user = pg_sys::InvalidOid;
    let mut context = 0;
    // SAFETY: backend-local state, changed and restored in strict nesting.
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(owner, context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
    }
    let _restore = Restore { user, context };
    f()
}

/// Runs `f` with the privileges of `role`, as PostgreSQL's own referential integrity triggers
/// do, and with `search_path` pinned to `pg_catalog, pg_temp`. No object that a user creates in
/// a schema of their path (an operator, a function) is then picked up by SQL that runs with more
/// privileges than theirs. Role and search path come back on return, and on error through
/// (sub)transaction abort.
pub fn as_role<R>(role: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    as_extension_owner_without_sql(role, || with_pinned_search_path(f))
}

/// Runs one internal query that returns (bool, bigint) rows, such as a row-state lookup.
pub fn select(client: &mut SpiClient<'_>, relid: pg_sys::Oid, sql: &str, args: &[DatumWithOid<'_>]) -> Vec<(bool, Option<i64>)> {
    let table = run(client, &[relid], sql, args, "internal::select");
    table
        .map(|row| {
            let first = error::spi("internal::select", row.get::<bool>(1)).unwrap_or(false);
            let second = error::spi("internal::select", row.get::<i64>(2));
            (first, second)
        })
        .collect()
}

/// Runs one internal data-modifying statement whose RETURNING list has three jsonb columns.
pub fn returning_three_jsonb(
    client: &mut SpiClient<'_>,
    relid: pg_sys::Oid,
    sql: &str,
    args: &[DatumWithOid<'_>],
) -> Vec<(pgrx::JsonB, pgrx::JsonB, pgrx::JsonB)> {
    let table = run(client, &[relid], sql, args, "internal::returning_three_jsonb");
    let empty = || pgrx::JsonB(serde_json::Value::Null);
    table
        .map(|row| {
            let get = |i| error::spi("internal::returning_three_jsonb", row.get::<pgrx::JsonB>(i)).unwrap_or_else(empty);
            (get(1), get(2), get(3))
        })
        .collect()
}

/// Runs `f` inside a subtransaction that is always rolled back, for dry runs that perform an
/// operation to see its effects. An error raised by `f` is re-raised after the rollback.
pub fn in_rolled_back_subtransaction<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: the subtransaction is begun and ended here in strict nesting, and the caller's
    // memory context and resource owner are restored on both paths, as PL/Python does.
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);
        let result = PgTryBuilder::new(std::panic::AssertUnwindSafe(f))
            .catch_others(|error| {
                pg_sys::RollbackAndReleaseCurrentSubTransaction();
                pg_sys::MemoryContextSwitchTo(context);
                pg_sys::CurrentResourceOwner = owner;
                error.rethrow()
            })
            .execute();
        pg_sys::RollbackAndReleaseCurrentSubTransaction();
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
        result
    }
}

/// Runs one internal query that returns one jsonb column.
pub fn returning_jsonb(client: &mut SpiClient<'_>, relid: pg_sys::Oid, sql: &str, args: &[DatumWithOid<'_>]) -> Vec<pgrx::JsonB> {
    let table = run(client, &[relid], sql, args, "internal::returning_jsonb");
    table.filter_map(|row| error::spi("internal::returning_jsonb", row.get::<pgrx::JsonB>(1))).collect()
}

/// Runs `f` in a subtransaction that is committed when `f` succeeds and rolled back when it
/// raises an error. The error is returned for the caller to report or re-raise, so that batch
/// work can skip a failing item without aborting the others.
pub fn try_in_subtransaction<R>(f: impl FnOnce() -> R) -> Result<R, pg_sys::panic::CaughtError> {
    // SAFETY: as in `in_rolled_back_subtransaction`, with a release on success.
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);
        PgTryBuilder::new(std::panic::AssertUnwindSafe(|| {
            let result = f();
            pg_sys::ReleaseCurrentSubTransaction();
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
            Ok(result)
        }))
        .catch_others(|error| {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
            Err(error)
        })
        .execute()
    }
}
