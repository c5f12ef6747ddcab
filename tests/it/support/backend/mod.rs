//! The adapter sets the contract tests hold to the same behaviour: the embedded one (SQLite)
//! and the AWS one (DynamoDB, SQS, SES) on moto. Each gives the engine's ports over one store.

#[cfg(feature = "aws")]
pub mod aws;
pub mod embedded;

use async_trait::async_trait;
use sportello::domain::{Event, Ticket, TicketId};
use sportello::engine::Ports;
use sportello::ports::{EscalationRoute, ReportStore, StepQueue};
use std::sync::Arc;

#[async_trait]
pub trait Backend: Send + Sync {
    /// The ports and the incident store of this adapter set, over one store.
    fn store(&self) -> Ports;
    fn ports(&self) -> Ports {
        self.store()
    }
    /// New clients (a new connection, new SDK clients) over the same stored data.
    async fn reopen(&self) -> Ports;
    /// A fresh, empty step queue.
    async fn queue(&self, max_attempts: u32) -> Arc<dyn StepQueue>;
    /// Every mail sent so far, as raw MIME text.
    async fn sent_mail(&self) -> Vec<String>;
    /// Overwrites a stored ticket's document with bytes that are not a ticket.
    async fn corrupt_ticket(&self, id: &TicketId);
    /// Writes `ticket`'s update with `events` as a process that dies in the middle of it would
    /// leave it: whatever the store's update writes before the ticket item itself.
    async fn die_during_update(&self, ticket: &Ticket, events: &[Event]);
    /// A fresh queue an escalation can be routed to, and a way to read what landed there.
    async fn escalation_queue(&self) -> EscalationRoute;
    async fn escalation_bodies(&self, route: &EscalationRoute) -> Vec<String>;
    /// Everything the store keeps (every table, every item), as text: what an erasure must have
    /// left nothing personal in.
    async fn stored_text(&self) -> String;
    /// The report aggregates kept in this store, as a deployment keeps them.
    fn reports(&self) -> Arc<dyn ReportStore>;
    /// Folds what the store wrote since the last feed, as a deployment does: SQLite reads its
    /// own event table; on AWS the table's stream is read and handed to the reports function's
    /// handler, as Lambda's event source mapping does. Returns how many events were handed over.
    async fn feed_reports(&self) -> usize;
    /// Delivers every event written so far again (a replayed stream, a cursor moved back).
    async fn redeliver_reports(&self) -> usize;
    /// Rewrites a ticket's stored report facts as they were written before they kept only the
    /// highest event folded: every event of the ticket listed by id under `applied`, no
    /// `folded`. Call it once every event of the ticket is folded.
    async fn list_folded_events(&self, ticket: &TicketId);
}
