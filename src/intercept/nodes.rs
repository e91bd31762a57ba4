//! Builders for the few parse-tree nodes the planner hook adds.

use std::ffi::CString;

use pgrx::pg_sys;

use crate::catalog::{self, Marker};
use crate::error;

/// Allocates a zeroed node of type `T` with its tag set, as PostgreSQL's `makeNode` does.
unsafe fn make_node<T>(tag: pg_sys::NodeTag) -> *mut T {
    let node = pg_sys::palloc0(std::mem::size_of::<T>()) as *mut pg_sys::Node;
    (*node).type_ = tag;
    node as *mut T
}

/// `rel.marker` as a Var of the statement's result relation.
pub unsafe fn marker_var(relation_index: i32, marker: &Marker, type_oid: pg_sys::Oid) -> *mut pg_sys::Expr {
    let collation = if type_oid == pg_sys::TEXTOID { pg_sys::DEFAULT_COLLATION_OID } else { pg_sys::InvalidOid };
    pg_sys::makeVar(relation_index as _, marker.attnum, type_oid, -1, collation, 0) as *mut pg_sys::Expr
}

/// `expr IS NULL`.
pub unsafe fn is_null(expr: *mut pg_sys::Expr) -> *mut pg_sys::Node {
    let test = make_node::<pg_sys::NullTest>(pg_sys::NodeTag::T_NullTest);
    (*test).arg = expr;
    (*test).nulltesttype = pg_sys::NullTestType::IS_NULL;
    (*test).argisrow = false;
    (*test).location = -1;
    test as *mut pg_sys::Node
}

/// `expr IS NOT NULL`.
pub unsafe fn is_not_null(expr: *mut pg_sys::Expr) -> *mut pg_sys::Node {
    let test = is_null(expr) as *mut pg_sys::NullTest;
    (*test).nulltesttype = pg_sys::NullTestType::IS_NOT_NULL;
    test as *mut pg_sys::Node
}

/// A call of a function, by OID, with no coercion.
pub unsafe fn call(funcid: pg_sys::Oid, result_type: pg_sys::Oid, args: *mut pg_sys::List) -> *mut pg_sys::Expr {
    let collation = if result_type == pg_sys::TEXTOID { pg_sys::DEFAULT_COLLATION_OID } else { pg_sys::InvalidOid };
    pg_sys::makeFuncExpr(
        funcid,
        result_type,
        args,
        collation,
        pg_sys::InvalidOid,
        pg_sys::CoercionForm::COERCE_EXPLICIT_CALL,
    ) as *mut pg_sys::Expr
}

/// A call of one of the extension's functions that only the planner hook may make, marked
/// with `capture::CALL_MARK` as its parse location, which the function checks.
pub unsafe fn marked_call(funcid: pg_sys::Oid, result_type: pg_sys::Oid, args: *mut pg_sys::List) -> *mut pg_sys::Expr {
    let call = call(funcid, result_type, args) as *mut pg_sys::FuncExpr;
    (*call).location = crate::capture::CALL_MARK;
    call as *mut pg_sys::Expr
}

/// A call of a function of one argument.
pub unsafe fn call_one(funcid: pg_sys::Oid, result_type: pg_sys::Oid, arg: *mut pg_sys::Expr) -> *mut pg_sys::Expr {
    call(funcid, result_type, pg_sys::lappend(std::ptr::null_mut(), arg as *mut std::ffi::c_void))
}

/// `expr` converted to text by its type's output function.
pub unsafe fn as_text(expr: *mut pg_sys::Expr) -> *mut pg_sys::Expr {
    let coerce = make_node::<pg_sys::CoerceViaIO>(pg_sys::NodeTag::T_CoerceViaIO);
    (*coerce).arg = expr;
    (*coerce).resulttype = pg_sys::TEXTOID;
    (*coerce).resultcollid = pg_sys::DEFAULT_COLLATION_OID;
    (*coerce).coerceformat = pg_sys::CoercionForm::COERCE_EXPLICIT_CAST;
    (*coerce).location = -1;
    coerce as *mut pg_sys::Expr
}

/// `ARRAY[e1, e2, ...]` of text expressions.
pub unsafe fn text_array(elements: Vec<*mut pg_sys::Expr>) -> *mut pg_sys::Expr {
    let array = make_node::<pg_sys::ArrayExpr>(pg_sys::NodeTag::T_ArrayExpr);
    (*array).array_typeid = pg_sys::TEXTARRAYOID;
    (*array).array_collid = pg_sys::DEFAULT_COLLATION_OID;
    (*array).element_typeid = pg_sys::TEXTOID;
    let mut list = std::ptr::null_mut();
    for element in elements {
        list = pg_sys::lappend(list, element as *mut std::ffi::c_void);
    }
    (*array).elements = list;
    (*array).multidims = false;
    (*array).location = -1;
    array as *mut pg_sys::Expr
}

/// Builds a check option of the kind a view's WITH CHECK OPTION adds, with `qual` as its
/// condition.
pub unsafe fn view_check_option(name: &std::ffi::CStr, qual: *mut pg_sys::Expr) -> *mut pg_sys::WithCheckOption {
    let option = make_node::<pg_sys::WithCheckOption>(pg_sys::NodeTag::T_WithCheckOption);
    (*option).kind = pg_sys::WCOKind::WCO_VIEW_CHECK;
    (*option).relname = pg_sys::pstrdup(name.as_ptr());
    (*option).polname = std::ptr::null_mut();
    (*option).qual = qual as *mut pg_sys::Node;
    (*option).cascaded = false;
    option
}

/// Builds a bigint constant.
pub unsafe fn int8_const(value: i64) -> *mut pg_sys::Expr {
    pg_sys::makeConst(pg_sys::INT8OID, -1, pg_sys::InvalidOid, 8, pg_sys::Datum::from(value), false, true) as *mut pg_sys::Expr
}

/// An oid constant.
pub unsafe fn oid_const(value: pg_sys::Oid) -> *mut pg_sys::Expr {
    pg_sys::makeConst(
        pg_sys::OIDOID,
        -1,
        pg_sys::InvalidOid,
        4,
        pg_sys::Datum::from(value),
        false,
        true,
    ) as *mut pg_sys::Expr
}

/// A SET-list entry assigning `expr` to the marker column.
pub unsafe fn assignment(marker: &Marker, expr: *mut pg_sys::Expr) -> *mut pg_sys::TargetEntry {
    let name = CString::new(marker.name.as_str()).unwrap_or_default();
    pg_sys::makeTargetEntry(expr, marker.attnum, pg_sys::pstrdup(name.as_ptr()), false)
}

thread_local! {
    /// Function OIDs by name and argument types. A change to any function (the extension
    /// dropped and created again) empties it, see [`register_callbacks`].
    static FUNCTIONS: std::cell::RefCell<Vec<(&'static std::ffi::CStr, Vec<pg_sys::Oid>, pg_sys::Oid)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn functions_changed(_arg: pg_sys::Datum, _cache: i32, _hash: u32) {
    FUNCTIONS.with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            cache.clear();
        }
    });
}

/// Registers the invalidation of the function cache; called once from `_PG_init`.
pub fn register_callbacks() {
    // SAFETY: called once from _PG_init; the callback lives as long as the backend.
    unsafe {
        pg_sys::CacheRegisterSyscacheCallback(pg_sys::SysCacheIdentifier::PROCOID as i32, Some(functions_changed), pg_sys::Datum::from(0));
    }
}

/// Looks up one of the extension's functions by name and argument types.
pub unsafe fn extension_function(name: &'static std::ffi::CStr, arg_types: &[pg_sys::Oid]) -> pg_sys::Oid {
    let cached = FUNCTIONS.with(|cache| {
        cache.borrow().iter().find(|(n, types, _)| *n == name && types.as_slice() == arg_types).map(|entry| entry.2)
    });
    if let Some(oid) = cached {
        return oid;
    }
    let oid = look_up_function(name, arg_types);
    FUNCTIONS.with(|cache| cache.borrow_mut().push((name, arg_types.to_vec(), oid)));
    oid
}

unsafe fn look_up_function(name: &std::ffi::CStr, arg_types: &[pg_sys::Oid]) -> pg_sys::Oid {
    let mut names = std::ptr::null_mut();
    for part in [catalog::SCHEMA, name] {
        let value = pg_sys::makeString(pg_sys::pstrdup(part.as_ptr()));
        names = pg_sys::lappend(names, value as *mut std::ffi::c_void);
    }
    let oid = pg_sys::LookupFuncName(names, arg_types.len() as i32, arg_types.as_ptr(), true);
    if oid == pg_sys::InvalidOid {
        error::internal("intercept::extension_function", format!("function softdelete.{name:?} not found"));
    }
    oid
}
