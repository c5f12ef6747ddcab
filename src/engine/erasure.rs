//! GDPR art. 17: a privacy operator erases a requester's data, found by e-mail address, phone
//! number or fiscal code. First a preview says what will go (the tickets, their events, and the
//! copies the store keeps: mail sent, messages still queued) and gives a confirmation; the erasure
//! runs only with that confirmation, so what is erased is what was shown. While one of the
//! requester's tickets is an open data-breach report the erasure is refused: its records are kept
//! until it is closed (art. 33(5), art. 17(3)(e)).
//!
//! The audit trail keeps who erased, when, and which tickets, by reference: never the key the
//! requester was found by.

use super::Refusal;
use super::{Engine, EngineError};
use crate::domain::{Actor, ActorRole, TicketReference, TicketState, TicketType};
use crate::ports::RequesterKey;
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One ticket an erasure would reach, as the preview lists it: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasableTicket {
    pub reference: TicketReference,
    pub state: TicketState,
    pub channel: String,
    pub category: Option<String>,
    pub ticket_type: Option<TicketType>,
    pub team: String,
    pub created_at: Timestamp,
}

/// Why an erasure must wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalHold {
    pub reason: String,
    /// The tickets that hold it.
    pub tickets: Vec<TicketReference>,
}

/// What an erasure would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasurePreview {
    /// `email`, `phone` or `fiscal_code`.
    pub matched_on: &'static str,
    pub tickets: Vec<ErasableTicket>,
    /// What goes with them, by kind: `events`, and the store's own copies (`outbox`,
    /// `queued_messages`...).
    pub copies: BTreeMap<String, usize>,
    pub hold: Option<LegalHold>,
    /// Send this back to erase exactly what is shown; it stops matching when anything changes.
    pub confirm: String,
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub matched_on: &'static str,
    pub tickets: Vec<TicketReference>,
    pub copies: BTreeMap<String, usize>,
}

impl Engine {
    /// Whether a ticket is an open breach report (a PI ticket, or of a category typed PI, still
    /// waiting for the operator service or a target).
    fn open_breach_report(&self, ticket: &crate::domain::Ticket) -> bool {
        let typed_pi = ticket.ticket_type == Some(TicketType::PI)
            || ticket
                .category
                .as_ref()
                .and_then(|c| self.rules.categories.get(c))
                .is_some_and(|c| c.types.contains(&TicketType::PI));
        typed_pi && ticket.state.is_open()
    }

    /// What an erasure by `key` would reach, and the confirmation to erase it.
    pub async fn erasure_preview(&self, key: &RequesterKey) -> Result<ErasurePreview, EngineError> {
        let normalized = key.normalized().map_err(|_| EngineError::invalid(format!("/{}", key.kind()), "is empty"))?;
        let tickets = self.ports.tickets.find_by_requester(key).await?;
        let mut copies = self.ports.tickets.copies_of(&tickets).await?;
        let mut digest = Sha256::new();
        for part in ["sportello.erasure/v1", key.kind(), &normalized] {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        let mut events = 0;
        for t in &tickets {
            let n = self.ports.events.list(&t.id).await?.len();
            events += n;
            digest.update(t.id.0.as_bytes());
            digest.update(t.version.to_be_bytes());
            digest.update((n as u64).to_be_bytes());
        }
        copies.insert("events".into(), events);
        for (kind, n) in &copies {
            digest.update(kind.as_bytes());
            digest.update((*n as u64).to_be_bytes());
        }
        let held: Vec<TicketReference> =
            tickets.iter().filter(|t| self.open_breach_report(t)).map(|t| t.reference.clone()).collect();
        let hold = (!held.is_empty()).then(|| LegalHold {
            reason: format!(
                "{} {} an open data-breach report: its records are kept until it is closed (GDPR art. 33(5), \
                 art. 17(3)(e)); erase once the report is resolved",
                held.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
                if held.len() == 1 { "is" } else { "are" },
            ),
            tickets: held,
        });
        Ok(ErasurePreview {
            matched_on: key.kind(),
            tickets: tickets
                .into_iter()
                .map(|t| ErasableTicket {
                    reference: t.reference,
                    state: t.state,
                    channel: t.channel,
                    category: t.category,
                    ticket_type: t.ticket_type,
                    team: t.team,
                    created_at: t.created_at,
                })
                .collect(),
            copies,
            hold,
            confirm: hex::encode(&digest.finalize()[..16]),
        })
    }

    /// Erases the requester's data by `key`, as the preview whose `confirm` this is showed it.
    /// Only a privacy operator may; refused while a legal hold applies, or when the data changed
    /// since the preview (preview again).
    pub async fn erase_requester(
        &self,
        key: &RequesterKey,
        actor: &Actor,
        confirm: &str,
    ) -> Result<Erased, EngineError> {
        if actor.role != ActorRole::PrivacyOperator {
            return Err(EngineError::Forbidden("erasures are carried out by the privacy team".into()));
        }
        let preview = self.erasure_preview(key).await?;
        if confirm.is_empty() {
            return Err(EngineError::invalid("/confirm", "preview the erasure first and send back its confirmation"));
        }
        if !bool::from(subtle::ConstantTimeEq::ct_eq(confirm.as_bytes(), preview.confirm.as_bytes())) {
            return Err(Refusal::Held(
                "this is not the confirmation of the current preview (the data changed since, or another key): \
                 preview again and confirm what it shows"
                    .into(),
            )
            .into());
        }
        if let Some(hold) = preview.hold {
            return Err(Refusal::Held(format!("the erasure is on hold: {}", hold.reason)).into());
        }
        let done = self.ports.tickets.erase_requester(key, actor, self.now()).await?;
        let mut copies = done.copies;
        copies.insert("events".into(), preview.copies.get("events").copied().unwrap_or_default());
        let mut tickets = Vec::with_capacity(done.tickets.len());
        for id in &done.tickets {
            tickets.push(self.ports.tickets.get(id).await?.reference);
        }
        tracing::info!(
            tickets = tickets.len(),
            matched_on = key.kind(),
            by = %actor.id,
            "requester data erased (art. 17)"
        );
        Ok(Erased { matched_on: key.kind(), tickets, copies })
    }
}
