//! Which tables are managed, and with which marker columns.
//!
//! A table is managed when it carries the row trigger `softdelete_guard` that runs
//! `softdelete._guard_trigger()`. The trigger's arguments name the three marker columns. Reading
//! this from the relation cache costs no query, follows every ALTER TABLE through PostgreSQL's
//! own cache invalidation, and covers partitions, which inherit the trigger from their parent.
//! `softdelete.managed_tables` keeps what `enable()` changed, so that `disable()` can undo it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;

use pgrx::prelude::*;

use crate::error;

/// Name of the row trigger that marks a managed table.
pub const GUARD_TRIGGER: &str = "softdelete_guard";
const GUARD_FUNCTION: &str = "_guard_trigger";
pub const SCHEMA: &CStr = c"softdelete";

/// A managed table as the planner hook and the triggers need it.
#[derive(Clone, Debug)]
pub struct Managed {
    pub deleted_at: Marker,
    pub deleted_by: Marker,
    pub deletion_id: Marker,
}

/// One marker column: its name and attribute number.
#[derive(Clone, Debug)]
pub struct Marker {
    pub name: String,
    pub attnum: i16,
}

impl Managed {
    pub fn is_marker(&self, attnum: i16) -> bool {
        attnum == self.deleted_at.attnum
            || attnum == self.deleted_by.attnum
            || attnum == self.deletion_id.attnum
    }
}

thread_local! {
    static CACHE: RefCell<HashMap<pg_sys::Oid, Option<Managed>>> = RefCell::new(HashMap::new());
    static PRIMARY_KEYS: RefCell<HashMap<pg_sys::Oid, Vec<KeyColumn>>> = RefCell::new(HashMap::new());
    /// Invalidations seen per relation (key InvalidOid: all relations), for caches that cannot
    /// drop their entries inside an invalidation callback.
    static GENERATIONS: RefCell<HashMap<pg_sys::Oid, u64>> = RefCell::new(HashMap::new());
    /// The extension's OID and owner, looked up again when the extension is recreated.
    static OWNER: std::cell::Cell<Option<(pg_sys::Oid, pg_sys::Oid)>> = const { std::cell::Cell::new(None) };
}

/// Returns the managed-table description of `relid`, or None when it is not managed.
pub fn lookup(relid: pg_sys::Oid) -> Option<Managed> {
    if let Some(hit) = CACHE.with(|cache| cache.borrow().get(&relid).cloned()) {
        return hit;
    }
    let found = read_from_relcache(relid);
    CACHE.with(|cache| cache.borrow_mut().insert(relid, found.clone()));
    found
}

fn read_from_relcache(relid: pg_sys::Oid) -> Option<Managed> {
    // SAFETY: the relation is only read while the reference taken here is held.
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return None;
        }
        let found = find_guard_arguments(rel).and_then(|args| markers_from(relid, &args));
        pg_sys::RelationClose(rel);
        found
    }
}

unsafe fn find_guard_arguments(rel: pg_sys::Relation) -> Option<Vec<String>> {
    let trigdesc = (*rel).trigdesc;
    if trigdesc.is_null() {
        return None;
    }
    let triggers = std::slice::from_raw_parts((*trigdesc).triggers, (*trigdesc).numtriggers as usize);
    for trigger in triggers {
        if CStr::from_ptr(trigger.tgname).to_bytes() != GUARD_TRIGGER.as_bytes()
            || !is_guard_function(trigger.tgfoid)
        {
            continue;
        }
        let args = (0..trigger.tgnargs as usize)
            .map(|i| CStr::from_ptr(*trigger.tgargs.add(i)).to_string_lossy().into_owned())
            .collect();
        return Some(args);
    }
    None
}

unsafe fn is_guard_function(funcid: pg_sys::Oid) -> bool {
    let namespace = pg_sys::get_namespace_oid(SCHEMA.as_ptr(), true);
    if namespace == pg_sys::InvalidOid || pg_sys::get_func_namespace(funcid) != namespace {
        return false;
    }
    let name = pg_sys::get_func_name(funcid);
    !name.is_null() && CStr::from_ptr(name).to_bytes() == GUARD_FUNCTION.as_bytes()
}

unsafe fn markers_from(relid: pg_sys::Oid, args: &[String]) -> Option<Managed> {
    let marker = |i: usize| -> Option<Marker> {
        let name = args.get(i)?.clone();
        let cname = std::ffi::CString::new(name.clone()).ok()?;
        let attnum = pg_sys::get_attnum(relid, cname.as_ptr());
        (attnum > 0).then_some(Marker { name, attnum })
    };
    Some(Managed { deleted_at: marker(0)?, deleted_by: marker(1)?, deletion_id: marker(2)? })
}

/// Forgets cached descriptions when PostgreSQL invalidates a relation (or all of them).
#[pg_guard]
unsafe extern "C-unwind" fn relation_changed(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    CACHE.with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            if relid == pg_sys::InvalidOid {
                cache.clear();
            } else {
                cache.remove(&relid);
            }
        }
    });
    PRIMARY_KEYS.with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            if relid == pg_sys::InvalidOid {
                cache.clear();
            } else {
                cache.remove(&relid);
            }
        }
    });
    crate::foreign_keys::forget(relid);
    GENERATIONS.with(|generations| {
        if let Ok(mut generations) = generations.try_borrow_mut() {
            *generations.entry(relid).or_insert(0) += 1;
        }
    });
}

/// Returns a number that changes whenever PostgreSQL invalidates `relid` (or every relation).
pub fn generation(relid: pg_sys::Oid) -> u64 {
    GENERATIONS.with(|generations| {
        let generations = generations.borrow();
        generations.get(&relid).copied().unwrap_or(0) + (generations.get(&pg_sys::InvalidOid).copied().unwrap_or(0) << 32)
    })
}

pub fn register_callbacks() {
    // SAFETY: called once from _PG_init; the callback lives as long as the backend.
    unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(relation_changed), pg_sys::Datum::from(0)) };
}

/// A column of a table's primary key.
#[derive(Clone, Debug)]
pub struct KeyColumn {
    pub name: String,
    /// The column's type, schema-qualified and quoted, ready for a cast in SQL text.
    pub type_sql: String,
    /// True for a built-in type: its conversions to text and jsonb are PostgreSQL's own, while
    /// a user-defined type can carry user-defined casts.
    pub builtin: bool,
}

/// Returns the primary-key columns of `relid` in key order (empty when it has none), cached
/// until PostgreSQL invalidates the relation.
pub fn primary_key(relid: pg_sys::Oid) -> Vec<KeyColumn> {
    if let Some(hit) = PRIMARY_KEYS.with(|cache| cache.borrow().get(&relid).cloned()) {
        return hit;
    }
    let found = read_primary_key(relid);
    PRIMARY_KEYS.with(|cache| cache.borrow_mut().insert(relid, found.clone()));
    found
}

fn read_primary_key(relid: pg_sys::Oid) -> Vec<KeyColumn> {
    let sql = include_str!("sql/primary_key.sql");
    Spi::connect(|client| {
        let rows = error::spi("catalog::primary_key", client.select(sql, None, &[relid.into()]));
        rows.map(|row| KeyColumn {
            name: error::spi("catalog::primary_key", row.get::<String>(1)).unwrap_or_default(),
            type_sql: error::spi("catalog::primary_key", row.get::<String>(2)).unwrap_or_default(),
            builtin: error::spi("catalog::primary_key", row.get::<bool>(3)).unwrap_or(false),
        })
        .collect()
    })
}

/// Returns the table's name, schema-qualified and quoted for use in SQL text, as
/// `format('%I.%I', schema, name)` would.
pub fn qualified_name(relid: pg_sys::Oid) -> String {
    // SAFETY: syscache lookups; both functions return NULL for a missing object.
    let (schema, name) = unsafe {
        let name = pg_sys::get_rel_name(relid);
        let schema = if name.is_null() { std::ptr::null_mut() } else { pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid)) };
        if name.is_null() || schema.is_null() {
            error::internal("catalog::qualified_name", format!("relation {relid:?} not found"));
        }
        (CStr::from_ptr(schema).to_string_lossy().into_owned(), CStr::from_ptr(name).to_string_lossy().into_owned())
    };
    format!("{}.{}", spi::quote_identifier(schema), spi::quote_identifier(name))
}

/// Returns the OID of a table given by its schema-qualified name, or InvalidOid when no such
/// table exists (any more).
pub fn relid_of(table: &str) -> pg_sys::Oid {
    Spi::get_one_with_args::<pg_sys::Oid>("SELECT pg_catalog.to_regclass($1)::pg_catalog.oid", &[table.into()])
        .ok()
        .flatten()
        .unwrap_or(pg_sys::InvalidOid)
}

/// Returns the role that owns the extension, which owns its audit tables.
pub fn extension_owner() -> pg_sys::Oid {
    // The schema's OID identifies the installed extension (a syscache lookup, unlike the
    // extension's own OID): it changes when the extension is dropped and created again.
    // SAFETY: a syscache lookup inside a transaction; missing_ok returns InvalidOid.
    let extension = unsafe { pg_sys::get_namespace_oid(SCHEMA.as_ptr(), true) };
    if let Some((cached_extension, owner)) = OWNER.with(std::cell::Cell::get) {
        if cached_extension == extension {
            return owner;
        }
    }
    let sql = "SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'pg_softdelete'";
    match Spi::get_one::<pg_sys::Oid>(sql) {
        Ok(Some(owner)) => {
            OWNER.with(|cell| cell.set(Some((extension, owner))));
            owner
        }
        _ => error::internal("catalog::extension_owner", "extension pg_softdelete not found"),
    }
}
