//! Intake: a contact on any channel opens exactly one ticket, then triage is queued.

use super::{Engine, EngineError, TRIAGE};
use crate::domain::codes;
use crate::domain::{Actor, Event, EventKind, Requester, Ticket, TicketReference};
use crate::ports::{Created, StepMessage, StoreError};
use crate::rules::resolved::FieldFormat;
use serde_json::json;
use std::collections::BTreeMap;

/// Longest subject and message a contact may carry (bytes).
pub const MAX_SUBJECT_BYTES: usize = 998;
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// A new contact, as a channel hands it over.
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    /// A rulebook channel id (`voice`, `chat`, `email`, `api`).
    pub channel: String,
    /// Same key, same ticket: a channel's retry never opens a second one.
    pub idempotency_key: String,
    /// The category when the channel knows it (an API client's mapping, the operator's choice).
    pub category: Option<String>,
    pub subject: Option<String>,
    /// The requester's first message; kept as an event, never logged.
    pub message: Option<String>,
    pub requester: Requester,
    /// Custom fields of the rulebook (`notice_code`...), checked against their formats.
    pub fields: BTreeMap<String, String>,
    /// For a reminder: the ticket it is about.
    pub related: Option<TicketReference>,
    pub actor: Option<Actor>,
    /// Who sent the first message as the channel names them (an e-mail's From address): kept on
    /// the message event, never logged.
    pub sender: Option<String>,
}

/// Checks custom fields against the rulebook: known names, valid formats. `prefix` is where the
/// fields sit in the request (a JSON pointer), so errors say exactly which one is wrong.
pub fn validate_fields(
    rules: &crate::rules::Rules,
    fields: &BTreeMap<String, String>,
    prefix: &str,
) -> Result<(), EngineError> {
    for (name, value) in fields {
        let at = format!("{prefix}/{name}");
        let Some(field) = rules.custom_fields.get(name) else {
            let known: Vec<&str> = rules.custom_fields.keys().map(|k| k.as_str()).collect();
            return Err(EngineError::invalid(at, format!("unknown field; known fields: {}", known.join(", "))));
        };
        if value.len() > 256 {
            return Err(EngineError::invalid(at, "at most 256 characters"));
        }
        let checked = match field.format {
            FieldFormat::Text => Ok(()),
            FieldFormat::NoticeCode => codes::check_notice_code(value),
            FieldFormat::EntityFiscalCode => codes::check_entity_fiscal_code(value),
            FieldFormat::FiscalCode => codes::check_fiscal_code(value),
            FieldFormat::RptId => codes::check_rpt_id(value),
        };
        checked.map_err(|m| EngineError::invalid(at, m))?;
    }
    Ok(())
}

impl Engine {
    /// Opens the ticket of a contact (once per idempotency key) and queues its triage.
    pub async fn open(&self, contact: NewContact) -> Result<Created, EngineError> {
        let rules = &self.rules;
        let Some(channel) = rules.channels.get(&contact.channel) else {
            return Err(EngineError::invalid("channel", format!("unknown channel `{}`", contact.channel)));
        };
        if let Some(category) = &contact.category {
            let Some(c) = rules.categories.get(category) else {
                let known: Vec<&str> = rules.categories.keys().map(|k| k.as_str()).collect();
                return Err(EngineError::invalid(
                    "category",
                    format!("unknown category `{category}`; known: {}", known.join(", ")),
                ));
            };
            if !rules.arrives_on(c, &contact.channel) {
                return Err(EngineError::invalid(
                    "category",
                    format!("category `{category}` does not arrive on channel `{}`", contact.channel),
                ));
            }
        }
        if contact.subject.as_ref().is_some_and(|s| s.len() > MAX_SUBJECT_BYTES) {
            return Err(EngineError::invalid("subject", format!("at most {MAX_SUBJECT_BYTES} bytes")));
        }
        if contact.message.as_ref().is_some_and(|m| m.len() > MAX_MESSAGE_BYTES) {
            return Err(EngineError::invalid("message", format!("at most {MAX_MESSAGE_BYTES} bytes")));
        }
        if let Some(fc) = &contact.requester.fiscal_code {
            codes::check_fiscal_code(fc).map_err(|m| EngineError::invalid("requester/fiscal_code", m))?;
        }
        validate_fields(rules, &contact.fields, "fields")?;

        let now = self.now();
        let team = rules.default_team().to_string();
        let actor = contact
            .actor
            .clone()
            .unwrap_or_else(|| Actor { id: contact.channel.clone(), role: crate::domain::ActorRole::Requester });
        let mut ticket = Ticket::new(&contact.channel, channel.kind, team, now);
        ticket.category = contact.category.clone();
        ticket.requester = contact.requester.clone();
        ticket.subject = contact.subject.clone();
        ticket.fields = contact.fields.clone();
        ticket.related = contact.related.clone();

        // A fresh reference collides once in a million million; try another then.
        let mut created = None;
        for _ in 0..3 {
            match self.ports.tickets.create(&contact.idempotency_key, &ticket, &actor).await {
                Err(StoreError::Duplicate(_)) => {
                    ticket.id = crate::domain::TicketId::new();
                    ticket.reference = TicketReference::generate();
                }
                other => {
                    created = Some(other?);
                    break;
                }
            }
        }
        let created = created.ok_or_else(|| EngineError::Conflict("could not allocate a ticket reference".into()))?;
        if created.replayed {
            return Ok(created);
        }
        let t = &created.ticket;
        if let Some(message) = &contact.message {
            let event = Event {
                ticket_id: t.id.clone(),
                at: now,
                actor: actor.clone(),
                kind: EventKind::Message,
                detail: match &contact.sender {
                    Some(sender) => json!({"from": "requester", "sender": sender, "body": message}),
                    None => json!({"from": "requester", "body": message}),
                },
            };
            self.ports.events.append(&[event]).await?;
        }
        let step = StepMessage::new(TRIAGE, t.id.to_string(), json!({"ticket_id": t.id}))
            .with_attribute("ticket_id", t.id.to_string())
            .with_attribute("reference", t.reference.to_string());
        self.ports.steps.publish(&step).await?;
        tracing::info!(ticket = %t.id, reference = %t.reference, channel = %t.channel, "ticket opened");
        Ok(created)
    }
}
