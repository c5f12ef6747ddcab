//! What the contract suite needs from each adapter set, beyond the ports themselves.
#![allow(dead_code)] // each test binary uses its own part of the support code

#[cfg(feature = "aws")]
pub mod aws_calls;
pub mod embedded;
pub mod http;
#[cfg(feature = "aws")]
pub mod moto;
#[cfg(feature = "aws")]
pub mod stack;

use async_trait::async_trait;
use sportello::domain::TicketId;
use sportello::ports::{
    EscalationDelivery, EscalationRoute, EventLog, IdempotencyStore, IncidentStore, KnowledgeCandidates, Mailer,
    StepQueue, TicketStore,
};
use std::sync::Arc;

/// The ports of one adapter set, over one store.
#[derive(Clone)]
pub struct Ports {
    pub tickets: Arc<dyn TicketStore>,
    pub events: Arc<dyn EventLog>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub mailer: Arc<dyn Mailer>,
    pub escalation: Arc<dyn EscalationDelivery>,
    pub incidents: Arc<dyn IncidentStore>,
    pub kb_candidates: Arc<dyn KnowledgeCandidates>,
}

#[async_trait]
pub trait Backend: Send + Sync {
    fn ports(&self) -> Ports;
    /// New clients (a new connection, new SDK clients) over the same stored data.
    async fn reopen(&self) -> Ports;
    /// A fresh, empty step queue.
    async fn queue(&self, max_attempts: u32) -> Arc<dyn StepQueue>;
    /// Every mail sent so far, as raw MIME text.
    async fn sent_mail(&self) -> Vec<String>;
    /// Overwrites a stored ticket's document with bytes that are not a ticket.
    async fn corrupt_ticket(&self, id: &TicketId);
    /// A fresh queue an escalation can be routed to, and a way to read what landed there.
    async fn escalation_queue(&self) -> EscalationRoute;
    async fn escalation_bodies(&self, route: &EscalationRoute) -> Vec<String>;
    /// Everything the store keeps (every table, every item), as text: what an erasure must have
    /// left nothing personal in.
    async fn stored_text(&self) -> String;
}
