use pgrx::prelude::*;
use serde_json::json;

use crate::catalog::KeyColumn;
use crate::foreign_keys::Rule;
use crate::uniqueness::{active_rows_definition, UniqueIndex};

fn key(name: &str, builtin: bool) -> KeyColumn {
    KeyColumn { name: name.to_string(), type_sql: "pg_catalog.int4".to_string(), builtin }
}

fn unique_index(definition: &str, partial: bool) -> UniqueIndex {
    UniqueIndex {
        index_name: "t_code_key".to_string(),
        constraint_name: None,
        deferrable: false,
        constraint_definition: None,
        index_definition: definition.to_string(),
        partial,
        referenced_by: None,
    }
}

#[pg_test]
fn show_deleted_is_false_by_default() {
    let visible = Spi::get_one::<bool>("SELECT softdelete._show_deleted('pg_class'::regclass)");
    assert_eq!(visible, Ok(Some(false)));
}

#[pg_test]
fn active_rows_definition_adds_predicate() {
    let index = unique_index("CREATE UNIQUE INDEX t_code_key ON public.t USING btree (code)", false);
    assert_eq!(
        active_rows_definition(&index, "deleted_at"),
        "CREATE UNIQUE INDEX t_code_key ON public.t USING btree (code) WHERE (deleted_at IS NULL)"
    );
}

#[pg_test]
fn active_rows_definition_extends_predicate() {
    let index = unique_index("CREATE UNIQUE INDEX t_code_key ON public.t USING btree (code) WHERE (code <> ''::text)", true);
    assert_eq!(
        active_rows_definition(&index, "deleted_at"),
        "CREATE UNIQUE INDEX t_code_key ON public.t USING btree (code) WHERE (((code <> ''::text)) AND (deleted_at IS NULL))"
    );
}

#[pg_test]
fn active_rows_definition_covers_partitions() {
    let index = unique_index("CREATE UNIQUE INDEX t_code_key ON ONLY public.t USING btree (code)", false);
    let definition = active_rows_definition(&index, "deleted_at");
    assert!(!definition.contains("ON ONLY"), "{definition}");
    assert!(definition.ends_with("WHERE (deleted_at IS NULL)"), "{definition}");
}

#[pg_test]
fn active_rows_definition_quotes_marker() {
    let index = unique_index("CREATE UNIQUE INDEX i ON public.t USING btree (code)", false);
    assert!(active_rows_definition(&index, "Deleted At").ends_with("WHERE (\"Deleted At\" IS NULL)"));
}

#[pg_test]
fn key_values_accepts_every_form() {
    let single = [key("id", true)];
    let pair = [key("a", true), key("b", true)];
    assert_eq!(crate::rows::key_values(&single, &json!(42), "t"), vec!["42"]);
    assert_eq!(crate::rows::key_values(&single, &json!("42"), "t"), vec!["42"]);
    assert_eq!(crate::rows::key_values(&pair, &json!([1, "x"]), "t"), vec!["1", "x"]);
    assert_eq!(crate::rows::key_values(&pair, &json!({"b": 2, "a": 1}), "t"), vec!["1", "2"]);
    assert_eq!(crate::rows::key_values(&pair, &json!({"f1": 1, "f2": 2}), "t"), vec!["1", "2"]);
}

#[pg_test(error = "invalid key [1] for table t: expected 2 value(s) for the key columns a, b")]
fn key_values_rejects_wrong_count() {
    let pair = [key("a", true), key("b", true)];
    crate::rows::key_values(&pair, &json!([1]), "t");
}

#[pg_test(error = "invalid key null for table t: key values cannot be null")]
fn key_values_rejects_null() {
    crate::rows::key_values(&[key("id", true)], &json!(null), "t");
}

#[pg_test]
fn key_object_sql_formats_user_types() {
    let sql = crate::audit::key_object_sql(&[key("id", true), key("kind", false)], 3);
    assert_eq!(sql, "pg_catalog.jsonb_build_object($3::text, r.id, $4::text, pg_catalog.format('%s', r.kind))");
}

#[pg_test]
fn rule_parse_round_trips() {
    for rule in [Rule::Cascade, Rule::Restrict, Rule::NoAction, Rule::SetNull, Rule::SetDefault] {
        assert_eq!(Rule::parse(&rule.as_sql().to_lowercase()), Some(rule));
    }
    assert_eq!(Rule::parse("explode"), None);
}
