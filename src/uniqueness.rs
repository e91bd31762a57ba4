//! Unique constraints turned into unique indexes over active rows, and back.
//!
//! A deleted "Roadmap" must not block a new "Roadmap", so `enable()` replaces each unique
//! constraint and unique index (not the primary key) by a unique index with the same name,
//! columns and options plus `WHERE deleted_at IS NULL`. Keeping the name keeps the error
//! messages applications may match on. Two kinds stay as they are, with a NOTICE: those a
//! foreign key references (a foreign key needs a non-partial unique index) and deferrable
//! constraints (an index cannot be deferred).

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::{json, Value};

use crate::error;

pub(crate) struct UniqueIndex {
    pub(crate) index_name: String,
    pub(crate) constraint_name: Option<String>,
    pub(crate) deferrable: bool,
    pub(crate) constraint_definition: Option<String>,
    pub(crate) index_definition: String,
    pub(crate) partial: bool,
    pub(crate) referenced_by: Option<String>,
}

fn unique_indexes(client: &mut SpiClient<'_>, relid: pg_sys::Oid) -> Vec<UniqueIndex> {
    let sql = include_str!("sql/unique_indexes.sql");
    let rows = error::spi("uniqueness::unique_indexes", client.select(sql, None, &[relid.into()]));
    rows.map(|row| {
        let get = |i| error::spi("uniqueness::unique_indexes", row.get::<String>(i));
        UniqueIndex {
            index_name: get(1).unwrap_or_default(),
            constraint_name: get(2),
            deferrable: error::spi("uniqueness", row.get::<bool>(3)).unwrap_or(false),
            constraint_definition: get(4),
            index_definition: get(5).unwrap_or_default(),
            partial: error::spi("uniqueness", row.get::<bool>(6)).unwrap_or(false),
            referenced_by: get(7),
        }
    })
    .collect()
}

/// Converts the table's unique constraints and indexes; returns what `disable()` needs to undo
/// it, as a JSON array of `{"name", "kind", "definition"}`.
pub fn convert(client: &mut SpiClient<'_>, relid: pg_sys::Oid, table: &str, schema: &str, deleted_at: &str) -> Value {
    let mut converted = Vec::new();
    for index in unique_indexes(client, relid) {
        let label = match &index.constraint_name {
            Some(name) => format!("unique constraint {}", spi::quote_identifier(name)),
            None => format!("unique index {}", spi::quote_identifier(&index.index_name)),
        };
        if let Some(foreign_keys) = &index.referenced_by {
            error::notice(format!(
                "kept {label} on table {table} unchanged because foreign key {foreign_keys} references it; deleted rows keep their values reserved"
            ));
            continue;
        }
        if index.deferrable {
            error::notice(format!(
                "kept {label} on table {table} unchanged because it is deferrable, which an index over active rows cannot be"
            ));
            continue;
        }
        let new_definition = active_rows_definition(&index, deleted_at);
        let drop = match &index.constraint_name {
            Some(name) => format!("ALTER TABLE {table} DROP CONSTRAINT {}", spi::quote_identifier(name)),
            None => format!("DROP INDEX {}.{}", spi::quote_identifier(schema), spi::quote_identifier(&index.index_name)),
        };
        error::spi("uniqueness::convert", client.update(drop.as_str(), None, &[]));
        error::spi("uniqueness::convert", client.update(new_definition.as_str(), None, &[]));
        converted.push(match &index.constraint_name {
            Some(name) => json!({
                "name": name,
                "kind": "constraint",
                "definition": index.constraint_definition,
                "index_definition": index.index_definition,
            }),
            None => json!({"name": index.index_name, "kind": "index", "definition": index.index_definition}),
        });
        error::notice(format!(
            "converted {label} on table {table} into a unique index over active rows (WHERE {} IS NULL)",
            spi::quote_identifier(deleted_at)
        ));
    }
    Value::Array(converted)
}

/// The index definition with `deleted_at IS NULL` added to its predicate. `pg_get_indexdef`
/// prints the predicate last, after ` WHERE `, and prints `ON ONLY` for the index of a
/// partitioned table, which would leave the partitions without the new index.
pub(crate) fn active_rows_definition(index: &UniqueIndex, deleted_at: &str) -> String {
    let condition = format!("({} IS NULL)", spi::quote_identifier(deleted_at));
    let definition = index.index_definition.replacen(" ON ONLY ", " ON ", 1);
    match definition.rfind(" WHERE ").filter(|_| index.partial) {
        Some(at) => {
            let predicate = &definition[at + " WHERE ".len()..];
            format!("{} WHERE (({predicate}) AND {condition})", &definition[..at])
        }
        None => format!("{definition} WHERE {condition}"),
    }
}

/// Puts back the constraints and indexes recorded by [`convert`]. A constraint comes back
/// through its original index definition (`ADD CONSTRAINT ... USING INDEX`), which keeps
/// storage options such as fillfactor; PostgreSQL does not allow that on a partitioned table,
/// which gets the constraint definition instead.
pub fn restore(client: &mut SpiClient<'_>, table: &str, schema: &str, partitioned: bool, converted: &Value) {
    let Some(entries) = converted.as_array() else { return };
    for entry in entries {
        let name = entry["name"].as_str().unwrap_or_default();
        let definition = entry["definition"].as_str().unwrap_or_default();
        let quoted = spi::quote_identifier(name);
        let drop = format!("DROP INDEX IF EXISTS {}.{quoted}", spi::quote_identifier(schema));
        error::spi("uniqueness::restore", client.update(drop.as_str(), None, &[]));
        let index_definition = entry["index_definition"].as_str();
        let statements = match (entry["kind"].as_str(), index_definition) {
            (Some("constraint"), Some(index_definition)) if !partitioned => vec![
                index_definition.to_string(),
                format!("ALTER TABLE {table} ADD CONSTRAINT {quoted} UNIQUE USING INDEX {quoted}"),
            ],
            (Some("constraint"), _) => vec![format!("ALTER TABLE {table} ADD CONSTRAINT {quoted} {definition}")],
            _ => vec![definition.to_string()],
        };
        for sql in &statements {
            error::spi("uniqueness::restore", client.update(sql.as_str(), None, &[]));
        }
        error::notice(format!("restored unique {} {quoted} on table {table}", entry["kind"].as_str().unwrap_or("index")));
    }
}
