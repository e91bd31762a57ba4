//! anonymize(): overwrite a row's personal columns and keep the row.
//!
//! For records that must stay, such as invoices, a table declares its personal columns with
//! `softdelete.set_personal_columns()`. Each gets NULL or a text template in which `{key}`
//! stands for the row's primary key (`'deleted-{key}@example.invalid'`), so that NOT NULL and
//! unique constraints still hold after anonymization.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::access;
use crate::audit::Initiator;
use crate::catalog;
use crate::error::{self, UserError};
use crate::internal;
use crate::rows::{KeyedRow, RowState};

/// Declares the personal columns of a managed table as `{"column": replacement}`, where the
/// replacement is null or a text template with `{key}`. Replaces the previous declaration.
/// Called by `softdelete.set_personal_columns(regclass, jsonb)`.
#[pg_extern(volatile, parallel_unsafe, name = "_set_personal_columns")]
fn set_personal_columns(relid: pg_sys::Oid, columns: JsonB) {
    let table = catalog::qualified_name(relid);
    access::require_owner(relid, &table);
    if catalog::lookup(relid).is_none() {
        UserError::new(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("table {table} is not managed by pg_softdelete"))
            .hint(format!("Run SELECT softdelete.enable({}) first.", spi::quote_literal(&table)))
            .raise()
    }
    let Some(entries) = columns.0.as_object() else {
        UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("invalid personal columns {}", columns.0))
            .hint("Pass a jsonb object such as '{\"email\": \"deleted-{key}@example.invalid\", \"phone\": null}'.")
            .raise()
    };
    let keys: Vec<String> = catalog::primary_key(relid).into_iter().map(|key| key.name).collect();
    let mut names = Vec::new();
    let mut replacements: Vec<Option<String>> = Vec::new();
    for (name, replacement) in entries {
        let attnum = std::ffi::CString::new(name.as_str())
            .map(|c| unsafe { pg_sys::get_attnum(relid, c.as_ptr()) })
            .unwrap_or(0);
        if attnum <= 0 {
            UserError::new(PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN, format!("column \"{name}\" of table {table} does not exist")).raise()
        }
        if crate::enable::MARKERS.iter().any(|(marker, _, _)| marker == name) {
            UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("column \"{name}\" of table {table} is a marker column of pg_softdelete"))
                .detail("Marker columns change only through DELETE and softdelete.restore().")
                .raise()
        }
        if keys.contains(name) {
            UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("column \"{name}\" of table {table} is part of the primary key"))
                .detail("The primary key identifies the row in the audit trail and cannot be anonymized.")
                .raise()
        }
        let replacement = match replacement {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) => Some(text.clone()),
            other => UserError::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("invalid replacement {other} for column \"{name}\""))
                .hint("Use null or a text template; {key} stands for the primary key.")
                .raise(),
        };
        names.push(name.clone());
        replacements.push(replacement);
    }
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        Spi::connect_mut(|client| {
            let clear = "DELETE FROM softdelete.personal_columns WHERE relid = $1::pg_catalog.regclass";
            error::spi("anonymize", client.update(clear, None, &[relid.into()]));
            let insert = "INSERT INTO softdelete.personal_columns (relid, column_name, replacement) \
                          SELECT $1::pg_catalog.regclass, c.name, c.replacement \
                          FROM ROWS FROM (pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[])) AS c(name, replacement)";
            error::spi("anonymize", client.update(insert, None, &[relid.into(), names.clone().into(), replacements.clone().into()]));
        })
    });
    error::notice(format!("table {table} has {} personal column(s): {}", names.len(), names.join(", ")));
}

/// Overwrites the personal columns of the row of `relid` with primary key `key`, active or
/// deleted, and records an `anonymize` event. Called by `softdelete.anonymize(regclass,
/// anyelement)`; needs the privileges of purge.
#[pg_extern(volatile, parallel_unsafe, name = "_anonymize")]
fn anonymize(relid: pg_sys::Oid, key: Option<JsonB>) -> i64 {
    let row = KeyedRow::resolve(relid, key, "anonymize");
    access::require(access::PURGER_ROLE, relid, &row.table, "anonymize");
    let sql = "SELECT column_name::text, replacement, pg_catalog.format_type(a.atttypid, a.atttypmod) \
               FROM softdelete.personal_columns p \
               JOIN pg_catalog.pg_attribute a ON a.attrelid = p.relid AND a.attname = p.column_name \
               WHERE p.relid = $1::pg_catalog.regclass ORDER BY column_name";
    let columns: Vec<(String, Option<String>, String)> = Spi::connect(|client| {
        let rows = error::spi("anonymize", client.select(sql, None, &[relid.into()]));
        rows.filter_map(|row| Some((row.get::<String>(1).ok()??, row.get::<String>(2).ok().flatten(), row.get::<String>(3).ok()??)))
            .collect()
    });
    if columns.is_empty() {
        UserError::new(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("table {} has no personal columns", row.table))
            .hint("Declare them with softdelete.set_personal_columns() first.")
            .raise()
    }
    let key_text = row.values.join(",");
    let first = row.keys.len() + 1;
    let mut assignments = Vec::new();
    let mut args = row.key_args();
    for (i, (name, replacement, type_sql)) in columns.iter().enumerate() {
        let value = match replacement {
            Some(_) => format!("CAST(${} AS {type_sql})", first + i),
            None => "NULL".to_string(),
        };
        assignments.push(format!("{} = {value}", spi::quote_identifier(name)));
        args.push(DatumWithOid::from(replacement.as_ref().map(|t| t.replace("{key}", &key_text))));
    }
    let updated = Spi::connect_mut(|client| {
        let deletion_id = match row.state(client) {
            RowState::Missing => row.raise_missing(),
            RowState::Active => None,
            RowState::Deleted { deletion_id } => deletion_id,
        };
        let key = row.canonical_key().unwrap_or_else(|| row.key_json.clone());
        crate::privacy::check_holds_on_row(&row.table, &key, deletion_id);
        let sql = format!("UPDATE {} SET {} WHERE {}", row.table, assignments.join(", "), row.key_condition(1));
        let updated = internal::update(client, row.relid, &sql, &args);
        let names: Vec<String> = columns.iter().map(|(name, _, _)| name.clone()).collect();
        record(client, &row, &key, &names);
        updated
    });
    error::notice(format!("anonymized {updated} row of table {}", row.table));
    updated as i64
}

/// Writes the `anonymize` event and erases the anonymized columns from the row's earlier
/// events.
fn record(client: &mut pgrx::spi::SpiClient<'_>, row: &KeyedRow, key: &serde_json::Value, columns: &[String]) {
    let initiator = Initiator::current();
    let insert = "INSERT INTO softdelete.event_log \
                    (operation, table_name, key, actor, role_name, reason, detail, application_name, client_addr) \
                  VALUES ('anonymize', $1, $2, $3, $4, $5, pg_catalog.jsonb_build_object('columns', $6::text[]), \
                          pg_catalog.current_setting('application_name'), pg_catalog.inet_client_addr())";
    let redact = "UPDATE softdelete.event_log \
                  SET detail = detail #- ARRAY['old', c] #- ARRAY['new', c] \
                  FROM pg_catalog.unnest($3::text[]) AS c \
                  WHERE table_name = $1 AND key = $2 AND detail IS NOT NULL \
                    AND operation IN ('unlink', 'relink')";
    let owner = catalog::extension_owner();
    internal::as_extension_owner(owner, || {
        let args: Vec<DatumWithOid> = vec![
            row.table.clone().into(),
            JsonB(key.clone()).into(),
            initiator.actor.into(),
            initiator.role.into(),
            initiator.reason.into(),
            columns.to_vec().into(),
        ];
        error::spi("anonymize::record", client.update(insert, None, &args));
        let args: Vec<DatumWithOid> = vec![row.table.clone().into(), JsonB(key.clone()).into(), columns.to_vec().into()];
        error::spi("anonymize::record", client.update(redact, None, &args));
    });
}
