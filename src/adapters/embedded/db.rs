use crate::ports::{StoreError, StoreResult};
use rusqlite::{Connection, ErrorCode};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The schema, by version (`PRAGMA user_version`). Append new versions; never edit old ones.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE tickets (
    id              TEXT PRIMARY KEY,
    reference       TEXT NOT NULL UNIQUE,
    team            TEXT NOT NULL,
    state           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,   -- microseconds since the epoch
    closed_at       INTEGER,
    version         INTEGER NOT NULL,
    rq_email        TEXT,
    rq_phone        TEXT,
    rq_fiscal_code  TEXT,
    doc             TEXT NOT NULL       -- the ticket as JSON
) STRICT;
CREATE INDEX tickets_queue ON tickets (team, state, created_at, id);
CREATE INDEX tickets_closed ON tickets (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX tickets_rq_email ON tickets (rq_email) WHERE rq_email IS NOT NULL;
CREATE INDEX tickets_rq_phone ON tickets (rq_phone) WHERE rq_phone IS NOT NULL;
CREATE INDEX tickets_rq_fiscal_code ON tickets (rq_fiscal_code) WHERE rq_fiscal_code IS NOT NULL;

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    at         INTEGER NOT NULL,
    doc        TEXT NOT NULL
) STRICT;
CREATE INDEX events_ticket ON events (ticket_id, at, seq);

CREATE TABLE ticket_idempotency (
    key        TEXT PRIMARY KEY,
    ticket_id  TEXT NOT NULL REFERENCES tickets (id)
) STRICT;
CREATE INDEX ticket_idempotency_ticket ON ticket_idempotency (ticket_id);

CREATE TABLE step_claims (
    key       TEXT PRIMARY KEY,
    status    TEXT NOT NULL,        -- INPROGRESS | COMPLETED
    until_ms  INTEGER NOT NULL      -- lease end, or end of the completed window
) STRICT;
CREATE INDEX step_claims_until ON step_claims (until_ms);

CREATE TABLE queue_messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id    TEXT NOT NULL UNIQUE,
    queue         TEXT NOT NULL,
    step          TEXT NOT NULL,
    dedup_id      TEXT NOT NULL,
    body          TEXT NOT NULL,
    attributes    TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    visible_at_ms INTEGER NOT NULL,
    receipt       TEXT
) STRICT;
CREATE INDEX queue_messages_ready ON queue_messages (queue, visible_at_ms, seq);
CREATE INDEX queue_messages_receipt ON queue_messages (receipt) WHERE receipt IS NOT NULL;

CREATE TABLE queue_dedup (
    queue       TEXT NOT NULL,
    dedup_id    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    expires_ms  INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
) STRICT;

CREATE TABLE dead_letters (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL UNIQUE,
    queue       TEXT NOT NULL,
    step        TEXT NOT NULL,
    dedup_id    TEXT NOT NULL,
    body        TEXT NOT NULL,
    attributes  TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    dead_at_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX dead_letters_queue ON dead_letters (queue, seq);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL,
    ticket_ref  TEXT,
    recipients  TEXT NOT NULL,      -- JSON array
    raw         BLOB NOT NULL,      -- the MIME message as it would have been sent
    created_ms  INTEGER NOT NULL
) STRICT;
"#];

/// A handle on the SQLite database; cheap to clone, shared by all embedded adapters.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let mut conn = Connection::open(path.as_ref()).map_err(unavailable)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(unavailable)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(unavailable)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!("SQLite refused WAL mode (got `{mode}`)")));
        }
        // FULL: a commit that returned is on disk, even across a power cut (NORMAL would allow
        // losing the last transactions in WAL mode), so an acknowledged write is never lost.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;").map_err(unavailable)?;
        migrate(&mut conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic inside `f` rolled its transaction back when it unwound, so the connection
            // is consistent even if the lock was poisoned.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(unavailable)?
        .try_into()
        .map_err(|_| StoreError::Corrupt("negative schema version".into()))?;
    if current > MIGRATIONS.len() {
        return Err(StoreError::Unavailable(format!(
            "the database has schema version {current}, newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction().map_err(unavailable)?;
        tx.execute_batch(sql).map_err(unavailable)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
    }
    Ok(())
}

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
