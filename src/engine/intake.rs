//! Intake: a contact on any channel opens exactly one ticket, triaged as it is stored: the
//! rulebook's decision takes microseconds, so the ticket, its first events and its triage go in
//! one transaction, and no triage step (publish, receive, read, write) follows. A chat is the
//! exception: it talks with the bot first, and its handoff queues its triage (`engine/chat.rs`).

use super::Refusal;
use super::triage::TRIAGE_TEAM;
use super::{Engine, EngineError};
use crate::domain::codes;
use crate::domain::{Actor, ChannelKind, Event, EventKind, Requester, Ticket, TicketReference};
use crate::ports::{Created, Lease, NewTicket, Outboxed, StoreError};
use crate::rules::resolved::FieldFormat;
use jiff::Timestamp;
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
    /// Who holds a chat until its handoff (the chatbot); [`TRIAGE_TEAM`] when absent. Other
    /// channels' tickets are triaged at intake, which gives them their team.
    pub team: Option<String>,
    /// Who sent the first message as the channel names them (an e-mail's From address): kept on
    /// the message event, never logged.
    pub sender: Option<String>,
}

impl NewContact {
    /// A digest of what the request asked for, kept with its idempotency key: a retry of the
    /// same request matches it, another request reusing the key does not.
    pub fn fingerprint(&self) -> String {
        let what = json!({
            "channel": self.channel,
            "category": self.category,
            "subject": self.subject,
            "message": self.message,
            "requester": self.requester,
            "fields": self.fields,
            "related": self.related,
        });
        crate::text::sha256_hex(what.to_string().as_bytes())
    }
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
    /// Opens the ticket of a contact (once per idempotency key), triaged.
    pub async fn open(&self, contact: NewContact) -> Result<Created, EngineError> {
        self.open_with(contact, |_| Vec::new()).await
    }

    /// [`Self::open`], with the events `opening` makes for the new ticket (a chat's welcome, a
    /// mail's envelope) written in the same transaction as the ticket, its first message and its
    /// triage: a crash leaves all of them or none. A retry of a request whose steps were stored
    /// but never published (tickets opened before intake triaged) publishes them.
    pub(crate) async fn open_with<F>(&self, contact: NewContact, opening: F) -> Result<Created, EngineError>
    where
        F: Fn(&Ticket) -> Vec<Event>,
    {
        self.open_claiming(contact, opening, |_| Vec::new()).await
    }

    /// [`Self::open_with`], taking the idempotency keys `claims` names for the new ticket in the
    /// same transaction (see [`Lease`]): the effects they guard (a mail's acknowledgement) are
    /// then this intake's to produce, and a replay finds them held.
    pub(crate) async fn open_claiming<F, C>(
        &self,
        contact: NewContact,
        opening: F,
        claims: C,
    ) -> Result<Created, EngineError>
    where
        F: Fn(&Ticket) -> Vec<Event>,
        C: Fn(&Ticket) -> Vec<Lease>,
    {
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
            // Another channel's (another client's) category: well formed, wrong for this caller (409).
            if !rules.arrives_on(c, &contact.channel) {
                return Err(Refusal::Channel(format!(
                    "category `{category}` does not arrive on channel `{}`",
                    contact.channel
                ))
                .into());
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
        let team = contact.team.clone().unwrap_or_else(|| TRIAGE_TEAM.to_string());
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
        let fingerprint = contact.fingerprint();
        // Triage now, unless the bot holds the chat: its handoff triages it.
        let triaged =
            if ticket.channel_kind == ChannelKind::Chat { None } else { Some(self.apply_triage(&mut ticket, now)?) };

        // A fresh reference collides once in a million million; try another then.
        let mut created = None;
        for _ in 0..3 {
            let intake = NewTicket {
                idempotency_key: contact.idempotency_key.clone(),
                fingerprint: Some(fingerprint.clone()),
                events: self
                    .first_events(&ticket, &contact, &actor, now, &opening)
                    .into_iter()
                    .chain(triaged.iter().flat_map(|(_, events)| events.iter().cloned()))
                    // A reference collision below gives the ticket another id: its events follow.
                    .map(|e| Event { ticket_id: ticket.id.clone(), ..e })
                    .collect(),
                steps: Vec::new(),
                claims: claims(&ticket),
                ticket: ticket.clone(),
                actor: actor.clone(),
            };
            match self.ports.tickets.open(&intake).await {
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
        let created = created.ok_or_else(|| Refusal::Contended("could not allocate a ticket reference".into()))?;
        // The ticket is stored: what is left is to publish its steps, which a retry or the sweep
        // finishes if this fails, so the contact is acknowledged either way.
        if let Err(e) = self.publish_outbox(&created.outbox).await {
            tracing::warn!(ticket = %created.ticket.id, error = %e, "intake steps left in the outbox for the sweep");
        }
        if !created.replayed {
            let t = &created.ticket;
            // One line for the opening and the triage done with it (a chat's comes at its handoff).
            tracing::info!(
                ticket = %t.id,
                reference = %t.reference,
                channel = %t.channel,
                team = %t.team,
                triaged = triaged.is_some(),
                "ticket opened"
            );
            crate::metrics::contact(t.channel_kind.as_str());
            if triaged.is_some() && !t.state.is_open() {
                crate::metrics::ticket_ended(t.ticket_type.map(|ty| ty.code()), t.state.as_str());
            }
        }
        Ok(created)
    }

    /// The events written with a new ticket: the requester's first message, then `opening`'s.
    fn first_events<F>(
        &self,
        ticket: &Ticket,
        contact: &NewContact,
        actor: &Actor,
        now: Timestamp,
        opening: &F,
    ) -> Vec<Event>
    where
        F: Fn(&Ticket) -> Vec<Event>,
    {
        let message = contact.message.as_ref().map(|message| Event {
            ticket_id: ticket.id.clone(),
            at: now,
            actor: actor.clone(),
            kind: EventKind::Message,
            detail: match &contact.sender {
                Some(sender) => json!({"from": "requester", "sender": sender, "body": message}),
                None => json!({"from": "requester", "body": message}),
            },
        });
        message.into_iter().chain(opening(ticket)).collect()
    }

    /// Publishes steps a store kept in its outbox, then removes them from it.
    pub(crate) async fn publish_outbox(&self, outbox: &[Outboxed]) -> Result<(), EngineError> {
        for item in outbox {
            self.ports.steps.publish(&item.step).await?;
            self.ports.tickets.outbox_done(std::slice::from_ref(item)).await?;
        }
        Ok(())
    }
}
