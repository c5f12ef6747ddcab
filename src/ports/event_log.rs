//! The append-only audit trail.

use super::StoreResult;
use super::step_queue::Outboxed;
use crate::domain::{Event, Ticket, TicketId};
use async_trait::async_trait;
use std::time::Duration;

/// How a claimed effect is marked done: with the events that record it and the outbox items it
/// made useless (the step that would have produced it); see [`EventLog::append_completing`].
#[derive(Debug, Clone)]
pub struct Completion<'a> {
    pub key: &'a str,
    pub keep_for: Duration,
    pub outbox_done: &'a [Outboxed],
}

/// Every change to a ticket, with who made it and when. Events are never edited, except that
/// erasure (GDPR art. 17) scrubs their `detail`.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends events that come with no change to the ticket record (a deadline warning, a note
    /// written elsewhere). All are written or none. The ticket must exist (`NotFound` otherwise).
    async fn append(&self, events: &[Event]) -> StoreResult<()>;

    /// Appends `events` (of one ticket, which must exist; there may be none), marks the
    /// idempotency key of `done` completed for its `keep_for`, and removes its outbox items: how
    /// an effect claimed by a [`crate::ports::Lease`] is recorded. In one write where the store
    /// makes that cheap; otherwise the events first, so that a crash leaves the effect recorded
    /// with its claim still held or its step still in the outbox, never done and unrecorded. A
    /// store whose outbox held the claim (see [`crate::ports::FollowUps`]) completes nothing when
    /// it removes the outbox items: the record in the history says the effect is done.
    async fn append_completing(&self, events: &[Event], done: &Completion<'_>) -> StoreResult<()>;

    /// The ticket's events, oldest first (by time, then in the order they were appended
    /// together). An unknown ticket has none.
    async fn list(&self, ticket: &TicketId) -> StoreResult<Vec<Event>>;

    /// The ticket and its events (as [`Self::list`]) in one read, where the store keeps them
    /// together; `None` where it does not (the caller reads them apart). `NotFound` for an
    /// unknown ticket.
    async fn list_with_ticket(&self, _ticket: &TicketId) -> StoreResult<Option<(Ticket, Vec<Event>)>> {
        Ok(None)
    }

    /// For a reader that polls (a chat app): the ticket's events written after the position
    /// `after` (from the start for `None`), and the position to read on from. A poll with nothing
    /// new reads nothing but the look-up, however long the conversation. Positions are opaque
    /// (ASCII, URL-safe); an unknown or foreign one reads from the start. With the events come
    /// the digests the ticket's events carry as `detail.token_sha256` (a chat session's tokens),
    /// so that a poll checks its token without reading the whole log.
    async fn tail(&self, ticket: &TicketId, after: Option<&str>) -> StoreResult<EventTail> {
        let all = self.list(ticket).await?;
        let skip = after.and_then(|p| p.parse::<usize>().ok()).filter(|n| *n <= all.len()).unwrap_or(0);
        Ok(EventTail {
            digests: all.iter().filter_map(token_digest).map(str::to_owned).collect(),
            next: all.len().to_string(),
            events: all.into_iter().skip(skip).collect(),
        })
    }
}

/// What [`EventLog::tail`] read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventTail {
    pub events: Vec<Event>,
    /// The position after the last event: `after` of the next read.
    pub next: String,
    /// The `detail.token_sha256` values among all the ticket's events.
    pub digests: Vec<String>,
}

/// The token digest an event carries (`detail.token_sha256`), if any.
pub fn token_digest(event: &Event) -> Option<&str> {
    event.detail.get("token_sha256").and_then(|v| v.as_str())
}

/// Checks that a batch of events all belong to one ticket; returns it.
pub(crate) fn single_ticket(events: &[Event]) -> StoreResult<Option<&TicketId>> {
    let Some(first) = events.first() else {
        return Ok(None);
    };
    if events.iter().any(|e| e.ticket_id != first.ticket_id) {
        return Err(super::StoreError::Invalid("events appended together must belong to one ticket".into()));
    }
    Ok(Some(&first.ticket_id))
}
