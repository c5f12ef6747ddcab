//! A reminder (sollecito) asks about a request not yet closed: the operator looks up the ticket it
//! is about (`check_referenced_ticket_status`), tells the requester where it stands, and the
//! referenced ticket records that it was chased.
//!
//! The ticket is found by the reminder's `related` reference (quoted in the mail, or given by the
//! caller) or else by the requester's e-mail, phone or fiscal code: their most recent other
//! open ticket, or their most recent one if none is open.

use super::Refusal;
use super::{Engine, EngineError};
use crate::domain::{Actor, Event, EventKind, Ticket, TicketId, TicketState};
use crate::ports::RequesterKey;
use serde_json::json;

/// The step of the reminder flows this action performs.
pub const CHECK_REFERENCED: &str = "check_referenced_ticket_status";

/// How the referenced ticket was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    Reference,
    Requester,
}

/// What the operator learns about the ticket a reminder chases.
#[derive(Debug, Clone)]
pub struct ReminderLookup {
    pub reminder: Ticket,
    pub referenced: Ticket,
    pub found_by: FoundBy,
    /// The referenced ticket's other candidates when found by requester (most recent first).
    pub others: Vec<Ticket>,
}

impl Engine {
    /// Finds the ticket reminder `id` is about and records the reminder on it (once per reminder).
    pub async fn reminder_lookup(&self, id: &TicketId, actor: &Actor) -> Result<ReminderLookup, EngineError> {
        let reminder = self.ports.tickets.get(id).await?;
        super::operator::check_in_charge(&reminder, actor)?;
        let guard = super::FlowGuard::of(&self.rules, &reminder)
            .ok_or_else(|| Refusal::Flow("the flow expects the rulebook's triage before any operator action".into()))?;
        if !guard.allows_step(reminder.ticket_type, CHECK_REFERENCED) {
            return Err(Refusal::Flow(format!(
                "the flow of this ticket has no {CHECK_REFERENCED}; it expects {}",
                guard.expected_next(&reminder)
            ))
            .into());
        }
        let working = matches!(reminder.state, TicketState::TakenInCharge | TicketState::InProgress);
        if !working || (reminder.ticket_type.is_none() && guard.classifies()) {
            return Err(Refusal::Flow(guard.refuse(&reminder, CHECK_REFERENCED)).into());
        }

        let (referenced, found_by, others) = match &reminder.related {
            Some(r) => (self.ports.tickets.get_by_reference(r).await?, FoundBy::Reference, Vec::new()),
            None => {
                let mut found = self.requester_tickets(&reminder).await?;
                if found.is_empty() {
                    return Err(EngineError::NotFound(format!(
                        "a ticket this reminder is about: {} quotes no reference and its requester has no other ticket",
                        reminder.reference
                    )));
                }
                // Open tickets first, then the most recent.
                found.sort_by_key(|t| (!t.state.is_open(), std::cmp::Reverse(t.created_at)));
                let first = found.remove(0);
                (first, FoundBy::Requester, found)
            }
        };

        let now = self.now();
        let already = self.ports.events.list(&referenced.id).await?.iter().any(|e| {
            e.kind == EventKind::Reminder
                && e.detail.get("reminder").and_then(|v| v.as_str()) == Some(reminder.reference.as_str())
        });
        if !already {
            let chased = Event {
                ticket_id: referenced.id.clone(),
                at: now,
                actor: actor.clone(),
                kind: EventKind::Reminder,
                detail: json!({"reminder": reminder.reference, "reminder_id": reminder.id, "found_by": found_by}),
            };
            self.ports.events.append(&[chased]).await?;
            let looked = Event {
                ticket_id: reminder.id.clone(),
                at: now,
                actor: actor.clone(),
                kind: EventKind::Note,
                detail: json!({
                    "step": CHECK_REFERENCED,
                    "referenced": referenced.reference,
                    "found_by": found_by,
                    "state": referenced.state,
                }),
            };
            self.ports.events.append(&[looked]).await?;
            tracing::info!(ticket = %reminder.id, referenced = %referenced.reference, ?found_by, "reminder linked");
        }
        Ok(ReminderLookup { reminder, referenced, found_by, others })
    }

    /// The requester's other tickets, by e-mail, phone and fiscal code (reminders excluded).
    async fn requester_tickets(&self, reminder: &Ticket) -> Result<Vec<Ticket>, EngineError> {
        let r = &reminder.requester;
        let keys = [
            r.email.clone().map(RequesterKey::Email),
            r.phone.clone().map(RequesterKey::Phone),
            r.fiscal_code.clone().map(RequesterKey::FiscalCode),
        ];
        let mut out: Vec<Ticket> = Vec::new();
        for key in keys.into_iter().flatten() {
            for t in self.ports.tickets.find_by_requester(&key).await? {
                let is_reminder = t.category.as_deref() == Some(reminder.category.as_deref().unwrap_or_default());
                if t.id != reminder.id && !is_reminder && !out.iter().any(|o| o.id == t.id) {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }
}
