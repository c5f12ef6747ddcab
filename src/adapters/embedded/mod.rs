//! The embedded adapters: one SQLite file (WAL mode) holds tickets, events, idempotency records,
//! the step queues with their dead letters, and the mail outbox.
//!
//! rusqlite is synchronous: every call runs on one writer thread that owns the connection (see
//! [`Db`]), one after another, which is what makes the version checks and deduplication atomic.
//! Concurrent calls are committed together (one fsync per batch), each in its own savepoint.

mod db;
mod escalation;
mod incidents;
mod kb_candidates;
mod outbox;
mod queue;
mod reply_queue;
mod reports;
mod sql;
mod ticket_rows;
mod tickets;

pub use db::Db;
pub use escalation::EmbeddedEscalation;
pub use incidents::SqliteIncidents;
pub use kb_candidates::SqliteKbCandidates;
pub use outbox::{OutboxEntry, OutboxMailer};
pub use queue::SqliteQueue;
pub use reply_queue::{Drained, LOCAL_REPLY_QUEUE, NOTICE_STEP, ReplyQueue};
pub use reports::{FOLD_BATCH, SqliteReports};
pub use tickets::SqliteStore;

/// The step queue of the local engine, and how often a failing step is tried before it is
/// dead-lettered.
pub const STEP_QUEUE: &str = "steps";
pub const STEP_MAX_ATTEMPTS: u32 = 5;
/// How long a published step's deduplication id is remembered.
pub const STEP_DEDUP_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Every port of the engine on one SQLite file.
pub fn ports(db: &Db) -> crate::engine::Ports {
    let store = std::sync::Arc::new(SqliteStore::new(db.clone()));
    crate::engine::Ports {
        tickets: store.clone(),
        events: store.clone(),
        idempotency: store,
        steps: std::sync::Arc::new(SqliteQueue::new(db.clone(), STEP_QUEUE, STEP_MAX_ATTEMPTS, STEP_DEDUP_WINDOW)),
        mailer: std::sync::Arc::new(OutboxMailer::new(db.clone())),
        escalations: std::sync::Arc::new(EmbeddedEscalation::new(db.clone())),
        incidents: std::sync::Arc::new(SqliteIncidents::new(db.clone())),
        kb_candidates: std::sync::Arc::new(SqliteKbCandidates::new(db.clone())),
        // The report aggregates fold by the rulebook: the caller sets `SqliteReports` with it.
        reports: std::sync::Arc::new(crate::ports::NoReports),
    }
}
