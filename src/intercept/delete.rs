//! DELETE on a managed table, planned as an UPDATE of the marker columns.

use pgrx::pg_sys;

use super::nodes;
use crate::audit::KeyKind;
use crate::catalog::Managed;

/// Turns the DELETE `query` into
/// `UPDATE rel SET deleted_at = now(), deleted_by = softdelete._deletion_actor(relid),
/// deletion_id = softdelete._deletion_id(relid) WHERE <original quals> AND
/// deleted_at IS NULL`, keeping its RETURNING list, its row-level security quals and its
/// privilege check, which still requires DELETE privilege and not UPDATE. Both functions return
/// the same values for every row of one execution (`capture.rs`).
///
/// The added `deleted_at IS NULL` keeps a second DELETE of a deleted row from overwriting the
/// first deletion, also for roles that see deleted rows. Because the rewriter has already run,
/// no UPDATE policy's WITH CHECK is applied to the marked rows.
///
/// A DELETE run inside PostgreSQL's referential action (`referential_action`) outside a purge
/// cascades the removal of a row of a table that is not managed, or comes from a trigger such an
/// action fired. A soft delete would leave rows referencing a removed row, and a real delete is
/// what the extension prevents, so its `deleted_at` becomes a call that raises `55000` for the
/// first row it reaches; a statement that matches no row still succeeds.
pub unsafe fn plan_as_soft_delete(query: *mut pg_sys::Query, managed: &Managed, referential_action: bool) {
    let relation_index = (*query).resultRelation;
    let rte = super::result_rte(query);
    let relid = (*rte).relid;

    // Marker values: one deletion id and one actor per execution of the statement.
    let now = if referential_action {
        let reject = nodes::extension_function(c"_reject_referential_delete", &[pg_sys::OIDOID]);
        let relid_arg = pg_sys::lappend(std::ptr::null_mut(), nodes::oid_const(relid) as *mut std::ffi::c_void);
        nodes::call(reject, pg_sys::TIMESTAMPTZOID, relid_arg)
    } else {
        nodes::call(pg_sys::Oid::from(pg_sys::F_NOW), pg_sys::TIMESTAMPTZOID, std::ptr::null_mut())
    };
    let marker_call = |name: &'static std::ffi::CStr, result_type: pg_sys::Oid| {
        let function = nodes::extension_function(name, &[pg_sys::OIDOID]);
        let args = pg_sys::lappend(std::ptr::null_mut(), nodes::oid_const(relid) as *mut std::ffi::c_void);
        nodes::marked_call(function, result_type, args)
    };
    let actor = marker_call(c"_deletion_actor", pg_sys::TEXTOID);
    let deletion_id = marker_call(c"_deletion_id", pg_sys::INT8OID);

    // The SET list, in attribute-number order as the rewriter would leave it.
    let mut assignments = vec![
        nodes::assignment(&managed.deleted_at, now),
        nodes::assignment(&managed.deleted_by, actor),
        nodes::assignment(&managed.deletion_id, deletion_id),
    ];
    assignments.sort_by_key(|entry| (**entry).resno);
    let mut target_list = (*query).targetList;
    for entry in assignments {
        target_list = pg_sys::lappend(target_list, entry as *mut std::ffi::c_void);
    }
    (*query).targetList = target_list;
    (*query).commandType = pg_sys::CmdType::CMD_UPDATE;

    // Only active rows are marked. A referential action must reach soft-deleted rows too, so
    // that removing their referenced row raises instead of leaving them pointing at nothing.
    if !referential_action {
        let active = nodes::is_null(nodes::marker_var(relation_index, &managed.deleted_at, pg_sys::TIMESTAMPTZOID));
        let jointree = (*query).jointree;
        (*jointree).quals = pg_sys::make_and_qual((*jointree).quals, active);
    }

    mark_updated_columns(query, rte, managed);
    let deletion_id = nodes::marker_var(relation_index, &managed.deletion_id, pg_sys::INT8OID);
    // A BEFORE UPDATE trigger of the table's owner can clear deleted_at in NEW: that row is
    // not marked, so it is not recorded.
    let unmarked = nodes::is_null(nodes::marker_var(relation_index, &managed.deleted_at, pg_sys::TIMESTAMPTZOID));
    capture_rows(query, relid, relation_index, deletion_id, unmarked, CAPTURE_DELETE);
}

/// The name of the check option that collects the rows a soft delete marks.
pub const CAPTURE_DELETE: &std::ffi::CStr = c"softdelete_capture_delete";
/// The name of the check option that collects the rows a restore brings back.
pub const CAPTURE_RESTORE: &std::ffi::CStr = c"softdelete_capture_restore";

/// Adds the capture of the rows that the extension's UPDATE restoring deletion `deletion_id`
/// brings back, so that their restore events are written as for a soft delete.
pub unsafe fn capture_restored_rows(query: *mut pg_sys::Query, relid: pg_sys::Oid, managed: &Managed, deletion_id: i64) {
    let relation_index = (*query).resultRelation;
    let still_deleted = nodes::is_not_null(nodes::marker_var(relation_index, &managed.deleted_at, pg_sys::TIMESTAMPTZOID));
    capture_rows(query, relid, relation_index, nodes::int8_const(deletion_id), still_deleted, CAPTURE_RESTORE);
}

/// Adds the check option through which the executor hands every row the statement changes to
/// `softdelete._capture_deleted()`, which collects the row's key for the audit trail under
/// `deletion_id` (`capture.rs`), unless `skip` is true for the row as written. A check option
/// of the kind views use is evaluated once per changed row, after the row is written, and never
/// for a row the statement skipped.
unsafe fn capture_rows(
    query: *mut pg_sys::Query,
    relid: pg_sys::Oid,
    relation_index: i32,
    deletion_id: *mut pg_sys::Expr,
    skip: *mut pg_sys::Node,
    name: &std::ffi::CStr,
) {
    let keys = crate::catalog::primary_key(relid);
    let mut key_vars = Vec::new();
    for key in &keys {
        let name = std::ffi::CString::new(key.name.as_str()).unwrap_or_default();
        let attnum = pg_sys::get_attnum(relid, name.as_ptr());
        if attnum == pg_sys::InvalidAttrNumber as i16 {
            crate::error::internal("intercept::capture_rows", format!("key column {} not found", key.name));
        }
        let mut type_oid = pg_sys::InvalidOid;
        let mut typmod = -1;
        let mut collation = pg_sys::InvalidOid;
        pg_sys::get_atttypetypmodcoll(relid, attnum, &mut type_oid, &mut typmod, &mut collation);
        let var = pg_sys::makeVar(relation_index as _, attnum, type_oid, typmod, collation, 0) as *mut pg_sys::Expr;
        key_vars.push((var, type_oid, KeyKind::of(key)));
    }
    // A single integer column is passed as bigint; other keys as the JSON text of each value,
    // written as audit::key_text_sql() writes it in SQL.
    let to_json = pg_sys::Oid::from(pg_sys::F_TO_JSON);
    let key = match key_vars.as_slice() {
        [(var, type_oid, _)] if *type_oid == pg_sys::INT8OID => (*var, pg_sys::INT8OID),
        [(var, type_oid, _)] if *type_oid == pg_sys::INT4OID => (nodes::call_one(pg_sys::Oid::from(pg_sys::F_INT8_INT4), pg_sys::INT8OID, *var), pg_sys::INT8OID),
        [(var, type_oid, _)] if *type_oid == pg_sys::INT2OID => (nodes::call_one(pg_sys::Oid::from(pg_sys::F_INT8_INT2), pg_sys::INT8OID, *var), pg_sys::INT8OID),
        _ => {
            let values = key_vars
                .iter()
                .map(|(var, _, kind)| match kind {
                    KeyKind::Integer => nodes::as_text(*var),
                    KeyKind::Json => nodes::as_text(nodes::call_one(to_json, pg_sys::JSONOID, *var)),
                    KeyKind::Output => nodes::as_text(nodes::call_one(to_json, pg_sys::JSONOID, nodes::as_text(*var))),
                })
                .collect();
            (nodes::text_array(values), pg_sys::TEXTARRAYOID)
        }
    };
    let capture = nodes::extension_function(c"_capture_deleted", &[pg_sys::OIDOID, pg_sys::INT8OID, key.1]);
    let mut args = std::ptr::null_mut();
    for arg in [nodes::oid_const(relid), deletion_id, key.0] {
        args = pg_sys::lappend(args, arg as *mut std::ffi::c_void);
    }
    let record = nodes::marked_call(capture, pg_sys::BOOLOID, args) as *mut std::ffi::c_void;
    let either = pg_sys::lappend(pg_sys::lappend(std::ptr::null_mut(), skip as *mut std::ffi::c_void), record);
    let condition = pg_sys::makeBoolExpr(pg_sys::BoolExprType::OR_EXPR, either, -1) as *mut pg_sys::Expr;
    let option = nodes::view_check_option(name, condition);
    (*query).withCheckOptions = pg_sys::lappend((*query).withCheckOptions, option as *mut std::ffi::c_void);
}

/// Records the marker columns as updated, which UPDATE OF triggers and the executor's index
/// maintenance read. The required privileges are left as they were (DELETE).
unsafe fn mark_updated_columns(query: *mut pg_sys::Query, rte: *mut pg_sys::RangeTblEntry, managed: &Managed) {
    let offset = pg_sys::FirstLowInvalidHeapAttributeNumber;
    let columns = [&managed.deleted_at, &managed.deleted_by, &managed.deletion_id];
    #[cfg(any(feature = "pg13", feature = "pg14", feature = "pg15"))]
    {
        let _ = query;
        for marker in columns {
            (*rte).updatedCols = pg_sys::bms_add_member((*rte).updatedCols, marker.attnum as i32 - offset);
        }
    }
    #[cfg(not(any(feature = "pg13", feature = "pg14", feature = "pg15")))]
    {
        let index = (*rte).perminfoindex as i32;
        if index > 0 {
            let info = pg_sys::list_nth((*query).rteperminfos, index - 1) as *mut pg_sys::RTEPermissionInfo;
            for marker in columns {
                (*info).updatedCols = pg_sys::bms_add_member((*info).updatedCols, marker.attnum as i32 - offset);
            }
        }
    }
}
