//! Incidents on PagoPA's services (pagoPA, IO, SEND...): declared by supervisors, checked by the
//! malfunction flows (`check_active_incidents`), and the tickets that reported them linked so the
//! incident's resolution reaches them.

use super::StoreResult;
use crate::domain::TicketId;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Active,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    /// The service's id (`pagopa`, `io`, `send`...).
    pub service: String,
    pub title: String,
    /// What operators tell requesters while it lasts (workaround, expected restoration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restoration_info: Option<String>,
    pub state: IncidentState,
    pub declared_at: Timestamp,
    pub declared_by: String,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// What linked tickets are told when it is resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closing_text: Option<String>,
    /// The resolution's fan-out: linked tickets notified so far (set as its pages run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified: Option<u64>,
    /// When the fan-out's last page ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanout_done_at: Option<Timestamp>,
}

#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Creates or replaces the incident.
    async fn save(&self, incident: &Incident) -> StoreResult<()>;
    /// `NotFound` for an unknown id.
    async fn get(&self, id: &str) -> StoreResult<Incident>;
    /// The service's active incident (the most recently declared, if several).
    async fn active(&self, service: &str) -> StoreResult<Option<Incident>>;
    /// Links a ticket to the incident; linking twice is one link.
    async fn link(&self, incident: &str, ticket: &TicketId) -> StoreResult<()>;
    /// Linked tickets in id order, after `after`, at most `limit`: pages for the fan-out.
    async fn linked(&self, incident: &str, after: Option<&TicketId>, limit: usize) -> StoreResult<Vec<TicketId>>;
    /// How many tickets are linked to the incident.
    async fn linked_count(&self, incident: &str) -> StoreResult<u64>;
    /// Incidents, the most recently declared first, at most `limit`.
    async fn list(&self, limit: usize) -> StoreResult<Vec<Incident>>;
}
