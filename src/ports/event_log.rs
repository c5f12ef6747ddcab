//! The append-only audit trail.

use super::StoreResult;
use crate::domain::{Event, TicketId};
use async_trait::async_trait;

/// Every change to a ticket, with who made it and when. Events are never edited, except that
/// erasure (GDPR art. 17) scrubs their `detail`.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends events that come with no change to the ticket record (a deadline warning, a note
    /// written elsewhere). All are written or none. The ticket must exist (`NotFound` otherwise).
    async fn append(&self, events: &[Event]) -> StoreResult<()>;

    /// The ticket's events, oldest first (by time, then in the order they were appended
    /// together). An unknown ticket has none.
    async fn list(&self, ticket: &TicketId) -> StoreResult<Vec<Event>>;
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
