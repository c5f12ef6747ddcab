//! The audit trail: every change to a ticket is an event naming its actor and time.

use super::TicketId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    Operator,
    PrivacyOperator,
    Supervisor,
    Admin,
    /// A PagoPA team or third party sending a resolution notice.
    Target,
    /// A channel acting for the requester (a call, a chat session, an email, an API client).
    Requester,
    Bot,
    System,
}

/// Who did it. `id` is an operator id, a target id, a client id or `system`: never personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub role: ActorRole,
}

impl Actor {
    pub fn system() -> Self {
        Self { id: "system".into(), role: ActorRole::System }
    }
}

/// Operator ids name people's accounts, not people: 1 to 64 letters, digits, `-`, `_`, `.`.
pub fn check_operator_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(()) } else { Err("an operator id has 1 to 64 letters, digits, `-`, `_` or `.`".into()) }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Created,
    Triaged,
    TakenInCharge,
    Classified,
    /// The operator confirmed or changed the category triage suggested.
    Categorized,
    RoutedToTeam,
    Note,
    Message,
    ContactClosed,
    Escalated,
    NoticeReceived,
    Answered,
    Resolved,
    Closed,
    Reopened,
    AutoResolved,
    AutoClosed,
    NotServed,
    Reminder,
    DeadlineWarning,
    DeadlineBreached,
    /// The clock reminded an escalation target whose resolution notice is overdue.
    EscalationReminded,
    RequesterErased,
    /// A supervisor moved the ticket to another operator, or back to its team's queue.
    Reassigned,
    /// Mail we sent to the requester bounced (a delivery status notification came back).
    DeliveryFailed,
    /// The operator's answer could not reach the requester (no address, one no mail can reach,
    /// refused by the mail service): the resolution it came with is undone.
    AnswerUndelivered,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub ticket_id: TicketId,
    pub at: Timestamp,
    pub actor: Actor,
    pub kind: EventKind,
    /// What changed. Message bodies live here, so erasure scrubs this field.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

impl Event {
    /// The note a chat's handoff to the operators leaves: triage starts from it, and the
    /// operator's reply box shows only after it.
    pub fn is_chat_handoff(&self) -> bool {
        self.kind == EventKind::Note && self.detail.get("chat").and_then(|v| v.as_str()) == Some("handoff")
    }
}
