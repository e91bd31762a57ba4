//! Finding one row of a managed table by primary key, for restore() and purge().
//!
//! A key is passed as `anyelement` and arrives here as jsonb (`to_jsonb(key)`):
//! - a scalar, for a single-column key: `restore('t', 42)`;
//! - an array, in key-column order: `restore('t', ARRAY[1, 3])` or `'[1, 3]'::jsonb`;
//! - an object by column name: `restore('t', '{"playlist_id": 1, "track_id": 3}'::jsonb)`;
//! - a row value, in key-column order: `restore('t', ROW(1, 3))`, which `to_jsonb` turns into
//!   an object with the keys f1, f2, ...

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;
use serde_json::Value;

use crate::catalog::{self, KeyColumn, Managed};
use crate::error::UserError;
use crate::internal;

/// A managed table and one primary-key value in it.
pub struct KeyedRow {
    pub relid: pg_sys::Oid,
    pub table: String,
    pub managed: Managed,
    pub keys: Vec<KeyColumn>,
    pub values: Vec<String>,
    pub key_json: Value,
}

/// The state of a row found by [`KeyedRow::state`].
pub enum RowState {
    Missing,
    Active,
    Deleted { deletion_id: Option<i64> },
}

impl KeyedRow {
    /// Resolves `relid` to a managed table and `key` to one value per key column.
    pub fn resolve(relid: pg_sys::Oid, key: Option<JsonB>, function: &str) -> KeyedRow {
        let table = catalog::qualified_name(relid);
        let key = key.unwrap_or(JsonB(Value::Null));
        let Some(managed) = catalog::lookup(relid) else {
            UserError::new(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("table {table} is not managed by pg_softdelete"),
            )
            .hint(format!("Run SELECT softdelete.enable({}) first, or pass a managed table to softdelete.{function}().", spi::quote_literal(&table)))
            .raise()
        };
        let keys = catalog::primary_key(relid);
        let values = key_values(&keys, &key.0, &table);
        let key_json = Value::Object(
            keys.iter().zip(&key_json_values(&keys, &key.0)).map(|(k, v)| (k.name.clone(), v.clone())).collect(),
        );
        KeyedRow { relid, table, managed, keys, values, key_json }
    }

    /// `"a" = $n::type AND "b" = $n+1::type`, for the key columns.
    pub fn key_condition(&self, first_param: usize) -> String {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, key)| format!("{} = ${}::{}", spi::quote_identifier(&key.name), first_param + i, key.type_sql))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The parts of the row that key conditions need, to move into a closure.
    pub fn clone_for_filter(&self) -> KeyFilter {
        KeyFilter { keys: self.keys.clone() }
    }

    /// Like [`KeyedRow::key_condition`], with each column qualified by `alias`.
    pub fn key_condition_for(&self, alias: &str, first_param: usize) -> String {
        self.clone_for_filter().key_condition_for(alias, first_param)
    }

    /// The key values as statement arguments, to bind from the parameter given to
    /// [`KeyedRow::key_condition`].
    pub fn key_args(&self) -> Vec<DatumWithOid<'static>> {
        self.values.iter().map(|value| DatumWithOid::from(value.clone())).collect()
    }

    pub fn column(&self, name: &str) -> String {
        spi::quote_identifier(name)
    }

    /// Reads the row's state, seeing deleted rows (the caller's own policies still apply).
    pub fn state(&self, client: &mut SpiClient<'_>) -> RowState {
        let sql = format!(
            "SELECT {at} IS NOT NULL, {id} FROM {table} WHERE {cond}",
            at = self.column(&self.managed.deleted_at.name),
            id = self.column(&self.managed.deletion_id.name),
            table = self.table,
            cond = self.key_condition(1),
        );
        let rows = internal::select(client, self.relid, &sql, &self.key_args());
        let Some(row) = rows.into_iter().next() else { return RowState::Missing };
        if row.0 {
            RowState::Deleted { deletion_id: row.1 }
        } else {
            RowState::Active
        }
    }

    /// Returns the row's key as the audit trail stores it (`{"id": 10}`, typed by the column,
    /// whatever form the caller passed), or None when no row has the key.
    pub fn canonical_key(&self) -> Option<Value> {
        let sql = format!(
            "SELECT {} FROM {} r WHERE {}",
            crate::audit::key_object_sql(&self.keys, self.keys.len() + 1),
            self.table,
            self.key_condition_for("r", 1)
        );
        let mut args = self.key_args();
        args.extend(self.keys.iter().map(|key| DatumWithOid::from(key.name.clone())));
        Spi::connect_mut(|client| internal::returning_jsonb(client, self.relid, &sql, &args).into_iter().next().map(|key| key.0))
    }

    /// Raises the error for a key that matched no row.
    pub fn raise_missing(&self) -> ! {
        UserError::new(
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            format!("no row with key {} in table {}", self.key_json, self.table),
        )
        .hint("Check the key; the row may have been purged, or hidden from the current role by a row-level security policy.")
        .raise()
    }
}

fn key_json_values(keys: &[KeyColumn], key: &Value) -> Vec<Value> {
    match key {
        Value::Array(items) => items.clone(),
        Value::Object(fields) if is_row_value(fields, keys.len()) => {
            (1..=keys.len()).map(|i| fields[&format!("f{i}")].clone()).collect()
        }
        Value::Object(fields) => keys.iter().map(|k| fields.get(&k.name).cloned().unwrap_or(Value::Null)).collect(),
        scalar => vec![scalar.clone()],
    }
}

fn is_row_value(fields: &serde_json::Map<String, Value>, count: usize) -> bool {
    fields.len() == count && (1..=count).all(|i| fields.contains_key(&format!("f{i}")))
}

/// Converts the key to one text value per key column, or raises `22023`.
pub(crate) fn key_values(keys: &[KeyColumn], key: &Value, table: &str) -> Vec<String> {
    let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    let invalid = |why: String| -> ! {
        UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("invalid key {key} for table {table}: {why}"))
            .hint(format!(
                "Pass the primary key ({}) as a plain value for a single column, or as an array, a row or a jsonb object for several.",
                names.join(", ")
            ))
            .raise()
    };
    if keys.is_empty() {
        invalid("the table has no primary key".into());
    }
    let shape_ok = match key {
        Value::Array(items) => items.len() == keys.len(),
        Value::Object(fields) => {
            is_row_value(fields, keys.len())
                || (fields.len() == keys.len() && names.iter().all(|n| fields.contains_key(*n)))
        }
        _ => keys.len() == 1,
    };
    if !shape_ok {
        invalid(format!("expected {} value(s) for the key columns {}", keys.len(), names.join(", ")));
    }
    key_json_values(keys, key)
        .into_iter()
        .map(|value| match value {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null => invalid("key values cannot be null".into()),
            nested => invalid(format!("{nested} is not a scalar")),
        })
        .collect()
}

/// The key columns of a [`KeyedRow`], for conditions built later for another table alias.
pub struct KeyFilter {
    keys: Vec<KeyColumn>,
}

impl KeyFilter {
    /// `alias."a" = $n::type AND ...`, for the key columns.
    pub fn key_condition_for(&self, alias: &str, first_param: usize) -> String {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, key)| format!("{alias}.{} = ${}::{}", spi::quote_identifier(&key.name), first_param + i, key.type_sql))
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}
