//! Dry runs of restore: what would come back, and which conflicts it would hit.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;

use crate::access;
use crate::audit;
use crate::catalog;
use crate::error;
use crate::foreign_keys::{self, column_list};
use crate::internal;
use crate::restore;
use crate::rows::{KeyedRow, RowState};

/// Lists the rows `softdelete.restore(tbl, key)` would bring back, each with the conflict that
/// would stop it (NULL when none). Changes nothing.
#[pg_extern(stable, parallel_unsafe, name = "_restore_preview")]
fn restore_preview(relid: pg_sys::Oid, key: Option<JsonB>) -> TableIterator<'static, (name!(table_name, String), name!(key, JsonB), name!(problem, Option<String>))> {
    let row = KeyedRow::resolve(relid, key, "restore_preview");
    access::require(access::RESTORER_ROLE, relid, &row.table, "restore");
    let rows = Spi::connect_mut(|client| match row.state(client) {
        RowState::Missing => row.raise_missing(),
        RowState::Active => Vec::new(),
        RowState::Deleted { deletion_id: Some(id) } => preview_deletion(client, id),
        RowState::Deleted { deletion_id: None } => vec![(row.table.clone(), JsonB(row.key_json.clone()), None)],
    });
    TableIterator::new(rows)
}

/// Lists the rows `softdelete.restore_deletion(id)` would bring back, each with the conflict
/// that would stop it (NULL when none). Changes nothing.
#[pg_extern(stable, parallel_unsafe)]
fn restore_deletion_preview(deletion_id: i64) -> TableIterator<'static, (name!(table_name, String), name!(key, JsonB), name!(problem, Option<String>))> {
    TableIterator::new(Spi::connect_mut(|client| preview_deletion(client, deletion_id)))
}

fn preview_deletion(client: &mut SpiClient<'_>, deletion_id: i64) -> Vec<(String, JsonB, Option<String>)> {
    let owner = catalog::extension_owner();
    let mut result = Vec::new();
    for entry in restore::deletion_tables(client, deletion_id) {
        let Some(managed) = catalog::lookup(entry.relid) else { continue };
        let table = catalog::qualified_name(entry.relid);
        access::require(access::RESTORER_ROLE, entry.relid, &table, "restore");
        let keys = catalog::primary_key(entry.relid);
        let at = spi::quote_identifier(&managed.deleted_at.name);
        let id = spi::quote_identifier(&managed.deletion_id.name);
        let mut problems = Vec::new();
        for (index, columns) in unique_indexes(client, entry.relid) {
            problems.push(format!(
                "CASE WHEN EXISTS (SELECT FROM {table} a WHERE a.{at} IS NULL AND ({a}) = ({r})) \
                 THEN 'an active row holds the same value in unique index ' || {index} END",
                a = column_list("a", &columns),
                r = column_list("r", &columns),
                index = spi::quote_literal(spi::quote_identifier(&index)),
            ));
        }
        for reference in foreign_keys::references_to_managed(entry.relid) {
            let Some(parent) = catalog::lookup(reference.parent) else { continue };
            let p_at = spi::quote_identifier(&parent.deleted_at.name);
            let p_id = spi::quote_identifier(&parent.deletion_id.name);
            problems.push(format!(
                "(SELECT 'the referenced row of ' || {parent_name} || ' is deleted by deletion ' || p.{p_id} \
                  FROM {parent_table} p WHERE ({p}) = ({r}) AND p.{p_at} IS NOT NULL \
                  AND p.{p_id} IS DISTINCT FROM $1 LIMIT 1)",
                parent_name = spi::quote_literal(&reference.parent_table),
                parent_table = reference.parent_table,
                p = column_list("p", &reference.parent_columns),
                r = column_list("r", &reference.child_columns),
            ));
        }
        let problem_sql = if problems.is_empty() { "NULL::text".to_string() } else {
            format!("NULLIF(pg_catalog.concat_ws('; ', {}), '')", problems.join(", "))
        };
        let sql = format!(
            "SELECT {key}, {problem_sql} FROM {table} r WHERE r.{id} = $1 AND r.{at} IS NOT NULL ORDER BY 1::text",
            key = audit::key_object_sql(&keys, 2),
        );
        let mut args: Vec<pgrx::datum::DatumWithOid> = vec![deletion_id.into()];
        args.extend(keys.iter().map(|k| pgrx::datum::DatumWithOid::from(k.name.clone())));
        let rows: Vec<(JsonB, Option<String>)> = internal::as_extension_owner(owner, || {
            let rows = error::spi("preview", client.select(sql.as_str(), None, &args));
            rows.filter_map(|row| Some((row.get::<JsonB>(1).ok()??, row.get::<String>(2).ok().flatten()))).collect()
        });
        result.extend(rows.into_iter().map(|(key, problem)| (table.clone(), key, problem)));
    }
    result
}

fn unique_indexes(client: &mut SpiClient<'_>, relid: pg_sys::Oid) -> Vec<(String, Vec<String>)> {
    let rows = error::spi("preview::unique_indexes", client.select(include_str!("sql/unique_columns.sql"), None, &[relid.into()]));
    rows.filter_map(|row| Some((row.get::<String>(1).ok()??, row.get::<Vec<String>>(2).ok()??))).collect()
}
