//! The embedded adapters: one SQLite file (WAL mode) holds tickets, events, idempotency records,
//! the step queues with their dead letters, and the mail outbox.
//!
//! rusqlite is synchronous: every call runs on tokio's blocking pool, holding the one connection
//! for the length of a transaction. Writers are serialised by that lock, which is what makes the
//! version checks and deduplication atomic.

mod db;
mod escalation;
mod outbox;
mod queue;
mod tickets;

pub use db::Db;
pub use escalation::EmbeddedEscalation;
pub use outbox::{OutboxEntry, OutboxMailer};
pub use queue::SqliteQueue;
pub use tickets::SqliteStore;
