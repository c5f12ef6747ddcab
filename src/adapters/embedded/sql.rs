//! What every embedded adapter needs around rusqlite: its errors as [`StoreError`]s, and
//! timestamps as the integer microseconds the tables store.

use crate::ports::StoreError;
use rusqlite::ErrorCode;

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
