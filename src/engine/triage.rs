//! Triage: the rulebook decides the ticket's category, suggested type, team, deadlines and
//! what happens out of service hours.

use super::retry::Attempts;
use super::{Engine, EngineError};
use crate::domain::{
    Actor, ChannelKind, Deadline, Event, EventKind, Outcome, Ticket, TicketId, TicketState, TicketType,
};
use crate::ports::StoreError;
use crate::rules::{Contact, Decision, Facts};
use jiff::Timestamp;
use serde_json::json;

/// Where a ticket waits for triage (a new contact, a chat just handed off): in no operator team's
/// queue, since nothing can be done on it before the rulebook is applied, and all in one place,
/// so the sweep finds one whose triage never ran however long the operators' queues are.
pub const TRIAGE_TEAM: &str = "awaiting_triage";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triaged {
    pub category: String,
    pub suggested_type: Option<TicketType>,
    pub team: String,
    pub in_service_hours: bool,
    pub state: TicketState,
}

impl Engine {
    /// When triage applies the rulebook to `ticket`, and whether it must wait. A chat talks with
    /// the bot first; only when the user asks for an operator (in hours) is it triaged, as of then.
    async fn triage_time(&self, ticket: &Ticket) -> Result<(Timestamp, bool), EngineError> {
        if ticket.channel_kind != ChannelKind::Chat || ticket.triaged_at.is_some() {
            return Ok((ticket.created_at, false));
        }
        let events = self.ports.events.list(&ticket.id).await?;
        let handoff = events.iter().find(|e| e.is_chat_handoff());
        Ok(match handoff {
            Some(e) => (e.at, false),
            None => (self.now(), true),
        })
    }

    /// Applies the rulebook to a new ticket. Running it again changes nothing.
    pub async fn triage(&self, id: &TicketId) -> Result<Triaged, EngineError> {
        let mut attempts = Attempts::new(format!("triage of ticket {id}"));
        loop {
            let mut ticket = self.ports.tickets.get(id).await?;
            // A chat talks with the bot first: the rulebook applies from the handoff (engine/chat.rs).
            let (at, waits_for_bot) = self.triage_time(&ticket).await?;
            if ticket.triaged_at.is_some() || ticket.state != TicketState::New || waits_for_bot {
                return self.triage_decision(&ticket, at).map(|(triaged, _)| triaged);
            }
            let (triaged, events) = self.apply_triage(&mut ticket, at)?;
            match self.ports.tickets.update(&ticket, &events).await {
                Ok(saved) => {
                    tracing::info!(ticket = %saved.id, reference = %saved.reference, team = %saved.team, "ticket triaged");
                    if !saved.state.is_open() {
                        crate::metrics::ticket_ended(saved.ticket_type.map(|t| t.code()), saved.state.as_str());
                    }
                    return Ok(Triaged { state: saved.state, ..triaged });
                }
                // Someone else changed it meanwhile: read again and decide again.
                Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// What triage decided (or decides) for `ticket` as the caller holds it: no read when intake
    /// triaged it already; a ticket still waiting is triaged through the store.
    pub async fn triage_of(&self, ticket: &Ticket) -> Result<Triaged, EngineError> {
        if ticket.triaged_at.is_some() && ticket.channel_kind != ChannelKind::Chat {
            return self.triage_decision(ticket, ticket.created_at).map(|(triaged, _)| triaged);
        }
        self.triage(&ticket.id).await
    }

    /// The rulebook's decision for `ticket` as of `at`.
    fn triage_decision(&self, ticket: &Ticket, at: Timestamp) -> Result<(Triaged, Decision<'_>), EngineError> {
        // A contact whose channel named no category gets the rulebook's default one; the
        // operator confirms or changes it.
        let category = ticket.category.clone().unwrap_or_else(|| self.rules.default_category().to_string());
        let contact = Contact { channel: &ticket.channel, category: &category, at, facts: Facts::default() };
        let decision = self.rules.evaluate(&contact).map_err(|e| EngineError::invalid("category", e.to_string()))?;
        let triaged = Triaged {
            category,
            suggested_type: decision.path.suggested_type(),
            team: decision.team.to_string(),
            in_service_hours: decision.in_service_hours,
            state: ticket.state,
        };
        Ok((triaged, decision))
    }

    /// Triages `ticket` in memory as of `at`: its category, team, deadlines and (out of hours)
    /// its end, and the events that record it. Intake calls it before the ticket is first
    /// stored, so a new ticket is written triaged in its one transaction; [`Self::triage`] calls
    /// it on a ticket read back.
    pub(crate) fn apply_triage(
        &self,
        ticket: &mut Ticket,
        at: Timestamp,
    ) -> Result<(Triaged, Vec<Event>), EngineError> {
        let (triaged, decision) = self.triage_decision(ticket, at)?;
        let now = self.now();
        ticket.category = Some(triaged.category.clone());
        ticket.team = triaged.team.clone();
        ticket.deadlines = decision
            .deadlines
            .iter()
            .map(|d| Deadline { kind: d.kind.to_string(), due: d.due.timestamp(), warned_at: None, breached_at: None })
            .collect();
        // Out of hours the flow may end the contact at once (a call not served, a chat closed).
        let ended = match decision.outcome() {
            Some(Outcome::NotServed) => Some((TicketState::NotServed, EventKind::NotServed)),
            Some(Outcome::AutoClosed) => Some((TicketState::AutoClosed, EventKind::AutoClosed)),
            _ => None,
        };
        let mut events = vec![Event {
            ticket_id: ticket.id.clone(),
            at: now,
            actor: Actor::system(),
            kind: EventKind::Triaged,
            detail: json!({
                "category": triaged.category,
                "suggested_type": triaged.suggested_type,
                "team": triaged.team,
                "in_service_hours": decision.in_service_hours,
                "next_opening": decision.next_opening.as_ref().map(|z| z.timestamp()),
            }),
        }];
        if let Some((state, kind)) = ended {
            ticket.move_to(state, now)?;
            events.push(Event {
                ticket_id: ticket.id.clone(),
                at: now,
                actor: Actor::system(),
                kind,
                detail: json!(null),
            });
        }
        // A chat's clocks start at its handoff (`at`), however late this step runs.
        ticket.triaged_at = Some(if ticket.channel_kind == ChannelKind::Chat { at } else { now });
        ticket.updated_at = now;
        Ok((Triaged { state: ticket.state, ..triaged }, events))
    }
}
