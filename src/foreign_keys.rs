//! Foreign keys between managed tables, and the ON DELETE rule each one follows.

use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::prelude::*;

use crate::catalog;
use crate::error;

/// The ON DELETE rule of a foreign key, declared or overridden by the DBA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Cascade,
    Restrict,
    NoAction,
    SetNull,
    SetDefault,
}

impl Rule {
    pub fn parse(text: &str) -> Option<Rule> {
        match text {
            "cascade" => Some(Rule::Cascade),
            "restrict" => Some(Rule::Restrict),
            "no action" => Some(Rule::NoAction),
            "set null" => Some(Rule::SetNull),
            "set default" => Some(Rule::SetDefault),
            _ => None,
        }
    }

    pub fn as_sql(self) -> &'static str {
        match self {
            Rule::Cascade => "CASCADE",
            Rule::Restrict => "RESTRICT",
            Rule::NoAction => "NO ACTION",
            Rule::SetNull => "SET NULL",
            Rule::SetDefault => "SET DEFAULT",
        }
    }

    /// True for rules that change referencing rows, which an unmanaged table cannot follow in
    /// soft form.
    pub fn changes_children(self) -> bool {
        matches!(self, Rule::Cascade | Rule::SetNull | Rule::SetDefault)
    }
}

/// A foreign key that references a managed table.
#[derive(Clone, Debug)]
pub struct ForeignKey {
    pub name: String,
    pub child: pg_sys::Oid,
    pub child_table: String,
    pub child_columns: Vec<String>,
    pub parent_columns: Vec<String>,
    pub rule: Rule,
    pub declared: Rule,
    pub child_owner: pg_sys::Oid,
    /// Declared DEFERRABLE INITIALLY DEFERRED: NO ACTION checks wait for commit.
    pub initially_deferred: bool,
    /// The columns a SET NULL / SET DEFAULT rule changes when the key names them (PostgreSQL
    /// 15 and later); empty means all of `child_columns`.
    pub set_columns: Vec<String>,
}

/// The columns an ON DELETE SET NULL / SET DEFAULT rule changes (`confdelsetcols`, new in
/// PostgreSQL 15).
#[cfg(any(feature = "pg13", feature = "pg14"))]
const SET_COLUMNS: &str = "ARRAY[]::text[]";
#[cfg(not(any(feature = "pg13", feature = "pg14")))]
const SET_COLUMNS: &str = "ARRAY(SELECT a.attname::text \
       FROM pg_catalog.unnest(con.confdelsetcols) WITH ORDINALITY AS k(attnum, position) \
       JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
       ORDER BY k.position)";

thread_local! {
    static REFERENCING: RefCell<HashMap<pg_sys::Oid, Vec<ForeignKey>>> = RefCell::new(HashMap::new());
    static REFERENCES: RefCell<HashMap<pg_sys::Oid, Vec<Reference>>> = RefCell::new(HashMap::new());
}

/// Forgets cached foreign keys when PostgreSQL invalidates a relation. Adding or dropping a
/// foreign key changes the triggers of both tables, and set_foreign_key_rule() invalidates the
/// referenced table, so both caches stay current.
pub fn forget(relid: pg_sys::Oid) {
    for cache in [&REFERENCING] {
        cache.with(|cache| {
            if let Ok(mut cache) = cache.try_borrow_mut() {
                if relid == pg_sys::InvalidOid { cache.clear() } else { cache.remove(&relid); }
            }
        });
    }
    REFERENCES.with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            // Whether a referenced table is managed can change without touching the referencing
            // table, so any invalidation clears this small cache.
            cache.clear();
        }
    });
}

/// Returns the foreign keys that reference `parent` or a partitioned table it belongs to.
pub fn referencing(parent: pg_sys::Oid) -> Vec<ForeignKey> {
    if let Some(hit) = REFERENCING.with(|cache| cache.borrow().get(&parent).cloned()) {
        return hit;
    }
    let found = read_referencing(parent);
    REFERENCING.with(|cache| cache.borrow_mut().insert(parent, found.clone()));
    found
}

fn read_referencing(parent: pg_sys::Oid) -> Vec<ForeignKey> {
    Spi::connect(|client| {
        let sql = include_str!("sql/foreign_keys.sql").replace("{set_columns}", SET_COLUMNS);
        let rows = error::spi("foreign_keys::referencing", client.select(sql.as_str(), None, &[parent.into()]));
        rows.map(|row| {
            let text = |i| error::spi("foreign_keys", row.get::<String>(i)).unwrap_or_default();
            let list = |i| error::spi("foreign_keys", row.get::<Vec<String>>(i)).unwrap_or_default();
            ForeignKey {
                name: text(1),
                child: error::spi("foreign_keys", row.get::<pg_sys::Oid>(2)).unwrap_or(pg_sys::InvalidOid),
                child_table: text(3),
                child_columns: list(4),
                parent_columns: list(5),
                rule: Rule::parse(&text(6)).unwrap_or(Rule::NoAction),
                declared: Rule::parse(&text(7)).unwrap_or(Rule::NoAction),
                child_owner: error::spi("foreign_keys", row.get::<pg_sys::Oid>(8)).unwrap_or(pg_sys::InvalidOid),
                initially_deferred: error::spi("foreign_keys", row.get::<bool>(9)).unwrap_or(false),
                set_columns: list(10),
            }
        })
        .collect()
    })
}

/// A foreign key declared on a table, seen from the referencing side.
#[derive(Clone, Debug)]
pub struct Reference {
    pub name: String,
    pub parent: pg_sys::Oid,
    pub parent_table: String,
    pub child_columns: Vec<String>,
    pub parent_columns: Vec<String>,
}

/// Returns the foreign keys declared on `child` whose referenced table is managed.
pub fn references_to_managed(child: pg_sys::Oid) -> Vec<Reference> {
    if let Some(hit) = REFERENCES.with(|cache| cache.borrow().get(&child).cloned()) {
        return hit;
    }
    let found = read_references_to_managed(child);
    REFERENCES.with(|cache| cache.borrow_mut().insert(child, found.clone()));
    found
}

fn read_references_to_managed(child: pg_sys::Oid) -> Vec<Reference> {
    let all: Vec<Reference> = Spi::connect(|client| {
        let rows = error::spi("foreign_keys::references", client.select(include_str!("sql/foreign_keys_of.sql"), None, &[child.into()]));
        rows.map(|row| {
            let text = |i| error::spi("foreign_keys", row.get::<String>(i)).unwrap_or_default();
            let list = |i| error::spi("foreign_keys", row.get::<Vec<String>>(i)).unwrap_or_default();
            Reference {
                name: text(1),
                parent: error::spi("foreign_keys", row.get::<pg_sys::Oid>(2)).unwrap_or(pg_sys::InvalidOid),
                parent_table: text(3),
                child_columns: list(4),
                parent_columns: list(5),
            }
        })
        .collect()
    });
    all.into_iter().filter(|reference| catalog::lookup(reference.parent).is_some()).collect()
}

/// `alias."a", alias."b"` for a list of columns.
pub fn column_list(alias: &str, columns: &[String]) -> String {
    columns.iter().map(|c| format!("{alias}.{}", spi::quote_identifier(c))).collect::<Vec<_>>().join(", ")
}

/// `a, b` quoted, without an alias, as PostgreSQL prints them in messages.
pub fn plain_list(columns: &[String]) -> String {
    columns.iter().map(|c| spi::quote_identifier(c)).collect::<Vec<_>>().join(", ")
}
