//! The operator confirms or changes the category triage suggested. A call from the IVR menu or an
//! inbound mail only names a few categories, so the operator, who hears or reads the request, sets
//! the one it is; the rulebook then decides again what triage decided from the category: the
//! team, and the SLA and GDPR deadlines of the type the new category's path sets (counted from
//! the contact, as triage counts them). A privacy category moves the ticket to the privacy team;
//! an operator without the privacy role hands it over there (the ticket goes back to `new`).

use super::Refusal;
use super::operator::event;
use super::{Engine, EngineError, FlowGuard};
use crate::domain::{Actor, ActorRole, ChannelKind, Deadline, EventKind, Ticket, TicketId, TicketState, TicketType};
use crate::rules::{Contact, Facts};
use serde_json::json;

impl Engine {
    /// The categories an operator may give a ticket on `channel`: those that arrive on it and
    /// whose flow there has an operator path, in rulebook order.
    pub fn operator_categories(&self, channel: &str) -> Vec<String> {
        let book = &self.rules;
        book.categories
            .iter()
            .filter(|(_, c)| book.arrives_on(c, channel))
            .filter(|(id, _)| FlowGuard::new(book, channel, id.as_str()).has_operator_path())
            .map(|(id, _)| id.to_string())
            .collect()
    }

    /// Sets the ticket's category while it is in charge and not yet typed or escalated. The same
    /// category again changes nothing.
    pub async fn categorize(&self, id: &TicketId, actor: &Actor, to: &str) -> Result<Ticket, EngineError> {
        let book = &self.rules;
        let ticket = self.ports.tickets.get(id).await?;
        let channel = ticket.channel.clone();
        let Some(category) = book.categories.get(to) else {
            let shown = if to.len() > 64 { "(too long)" } else { to };
            return Err(EngineError::invalid(
                "/category",
                format!(
                    "unknown category `{shown}`; on channel `{channel}`: {}",
                    self.operator_categories(&channel).join(", ")
                ),
            ));
        };
        // A category of the rulebook, but not of this ticket's channel: well formed, wrong for this
        // ticket (409), as opposed to a name no rulebook knows (422).
        if !book.arrives_on(category, &channel) {
            return Err(Refusal::Channel(format!(
                "category `{to}` does not arrive on channel `{channel}` (only on {}); on `{channel}`: {}",
                book.channel_ids(&category.channels).join(", "),
                self.operator_categories(&channel).join(", ")
            ))
            .into());
        }
        if !FlowGuard::new(book, &channel, to).has_operator_path() {
            return Err(Refusal::Flow(format!(
                "no operator works category `{to}` on channel `{channel}` (its flow has no take_in_charge); \
                 categories an operator works there: {}",
                self.operator_categories(&channel).join(", ")
            ))
            .into());
        }
        // Deadlines start with the contact, as at triage (a chat's with the handoff, when triage ran).
        let at = match ticket.channel_kind {
            ChannelKind::Chat => ticket.triaged_at.unwrap_or(ticket.created_at),
            _ => ticket.created_at,
        };
        let contact = Contact { channel: &channel, category: to, at, facts: Facts::default() };
        let decision = self.rules.evaluate(&contact).map_err(|e| EngineError::invalid("/category", e.to_string()))?;
        let team = decision.team.to_string();
        let suggested_type: Option<TicketType> = decision.path.suggested_type();
        let deadlines: Vec<Deadline> = decision
            .deadlines
            .iter()
            .map(|d| Deadline { kind: d.kind.to_string(), due: d.due.timestamp(), warned_at: None, breached_at: None })
            .collect();
        let hands_over = book.teams.get(&team).is_some_and(|t| t.privacy) && actor.role != ActorRole::PrivacyOperator;
        let now = self.now();
        self.change(id, |t, guard| {
            super::operator::check_in_charge(t, actor)?;
            if t.category.as_deref() == Some(to) {
                return Ok(Vec::new());
            }
            if !matches!(t.state, TicketState::TakenInCharge | TicketState::InProgress) {
                return Err(Refusal::Flow(guard.refuse(t, "categorize")).into());
            }
            if let Some(ty) = t.ticket_type {
                return Err(Refusal::State(format!(
                    "the ticket is already classified as {}; its category cannot change now (the flow expects {})",
                    ty.code(),
                    guard.expected_next(t)
                ))
                .into());
            }
            if !t.escalations.is_empty() {
                return Err(Refusal::State(format!(
                    "the ticket was escalated; its category cannot change now (the flow expects {})",
                    guard.expected_next(t)
                ))
                .into());
            }
            let from = t.category.replace(to.to_string());
            t.deadlines = deadlines
                .iter()
                .map(|d| {
                    // A clock that did not move keeps what the clock already did with it.
                    t.deadlines.iter().find(|old| old.kind == d.kind && old.due == d.due).cloned().unwrap_or(d.clone())
                })
                .collect();
            let mut events = vec![event(
                t,
                actor,
                EventKind::Categorized,
                now,
                json!({
                    "from": from,
                    "to": to,
                    "suggested_type": suggested_type,
                    "deadlines": t.deadlines.iter().map(|d| json!({"kind": d.kind, "due": d.due})).collect::<Vec<_>>(),
                }),
            )];
            if team != t.team {
                let previous = std::mem::replace(&mut t.team, team.clone());
                let released = hands_over && t.assignee.is_some();
                if released {
                    t.move_to(TicketState::New, now)?;
                }
                let assignee = if released { t.assignee.take() } else { None };
                events.push(event(
                    t,
                    actor,
                    EventKind::RoutedToTeam,
                    now,
                    json!({"from": previous, "to": team, "unassigned": assignee}),
                ));
            }
            Ok(events)
        })
        .await
    }
}
