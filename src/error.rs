//! One place that turns the extension's failures into PostgreSQL errors.
//!
//! Every error a user can cause carries the SQLSTATE PostgreSQL itself would use for that kind
//! of fault, a lowercase message that names the object, and the fix in a HINT.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// A user-facing failure, raised as an `ERROR` by [`UserError::raise`].
pub struct UserError {
    code: PgSqlErrorCode,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
}

impl UserError {
    pub fn new(code: PgSqlErrorCode, message: impl Into<String>) -> Self {
        UserError { code, message: message.into(), detail: None, hint: None }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Raises the error; the current transaction or subtransaction aborts.
    pub fn raise(self) -> ! {
        let mut report = ErrorReport::new(self.code, self.message, "pg_softdelete");
        if let Some(detail) = self.detail {
            report = report.set_detail(detail);
        }
        if let Some(hint) = self.hint {
            report = report.set_hint(hint);
        }
        report.report(PgLogLevel::ERROR);
        unreachable!("an ERROR report does not return")
    }
}

/// Raises an internal error for a state that the extension's own invariants rule out.
pub fn internal(function: &str, what: impl std::fmt::Display) -> ! {
    UserError::new(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("{function}: {what}")).raise()
}

/// Unwraps an SPI result; an SPI failure here is a bug in the extension, not a user error.
/// Errors raised by the statement itself (such as `23505`) never reach this point, because
/// PostgreSQL raises them directly with their own SQLSTATE.
pub fn spi<T>(function: &str, result: Result<T, pgrx::spi::Error>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => internal(function, format!("SPI failed: {error}")),
    }
}

/// Sends a NOTICE unless `softdelete.notices` is off.
pub fn notice(message: impl Into<String>) {
    if crate::settings::notices_enabled() {
        ErrorReport::new(PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION, message.into(), "pg_softdelete")
            .report(PgLogLevel::NOTICE);
    }
}

/// Sends a WARNING with a hint; warnings are not silenced by `softdelete.notices`.
pub fn warning(code: PgSqlErrorCode, message: impl Into<String>, hint: impl Into<String>) {
    ErrorReport::new(code, message.into(), "pg_softdelete")
        .set_hint(hint.into())
        .report(PgLogLevel::WARNING);
}

/// Turns `softdelete.notices` off for the rest of the transaction (SET LOCAL), for operations
/// that would otherwise send one NOTICE per row.
pub fn quiet_notices() {
    let sql = "SELECT pg_catalog.set_config('softdelete.notices', 'off', true)";
    spi("error::quiet_notices", Spi::run(sql));
}
