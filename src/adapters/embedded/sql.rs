//! What every embedded adapter needs around rusqlite: its errors as [`StoreError`]s, and
//! timestamps as the integer microseconds the tables store, and statements through the
//! connection's statement cache ([`Cached`]).

use crate::ports::StoreError;
use rusqlite::{Connection, ErrorCode};

/// SQLite errors carry no row data, only table and column names, so they are safe to show.
pub(crate) fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}

/// A JSON column that does not parse. The serde message is left out: it can quote the data.
pub(crate) fn corrupt(what: &str, e: &serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!(
        "{what}: unreadable JSON ({:?} error at line {}, column {})",
        e.classify(),
        e.line(),
        e.column()
    ))
}

pub(crate) fn micros(t: jiff::Timestamp) -> i64 {
    t.as_microsecond()
}

/// Statements run through the connection's statement cache. `Connection::execute` and
/// `query_row` compile their SQL at every call; the store calls run the same few dozen statements
/// for every ticket, and compiling them again was a large part of an intake's own work.
pub(crate) trait Cached {
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;
    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, row)
    }
}
