//! The operator service's actions on a ticket: take in charge (C), classify, notes and escalations
//! (L), answer and resolve (R), close a synchronous contact. The rulebook's flow decides what is
//! allowed when ([`FlowGuard`]); every action is an event naming its actor, and every write retries
//! on a version conflict by reading the ticket again and deciding again.

use super::Refusal;
use super::answer::{AnswerDelivery, MAX_GIVEN_BY_CHARS, Resolution};
use super::flow_guard::{ClassifyRefusal, EscalateRefusal, FlowGuard};
use super::retry::Attempts;
use super::{Engine, EngineError};
use crate::domain::{Actor, Escalation, Event, EventKind, Ticket, TicketId, TicketState, TicketType};
use crate::knowledge::search::{Hit, KnowledgeIndex, detect_language};
use crate::ports::escalation::ESCALATION_SCHEMA;
use crate::ports::{EscalationMessage, EscalationRoute, FollowUps, MessageKind, Outboxed, StoreError};
use crate::rules::resolved::{BusinessTime, TargetDelivery};
use serde_json::json;
use std::collections::BTreeMap;

/// Longest note, answer, summary or notice (bytes).
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
/// Longest search text an operator may give the knowledge-base suggestions (characters).
pub const MAX_SEARCH_CHARS: usize = 500;
/// The most suggestions one request lists.
pub const MAX_SUGGESTIONS: usize = 20;
/// Open states, in the order a work queue reads them.
const QUEUE_STATES: [TicketState; 4] =
    [TicketState::New, TicketState::TakenInCharge, TicketState::InProgress, TicketState::AwaitingResolutionNotice];

/// Deployment details escalations need beyond the rulebook.
#[derive(Debug, Clone, Default)]
pub struct EscalationSettings {
    /// Sender of escalation e-mails.
    pub mail_from: String,
    /// Rulebook queue names → what the delivery port takes (an SQS URL on AWS). A name not listed
    /// is passed as is (the embedded store's queues are named).
    pub queue_urls: BTreeMap<String, String>,
    /// Where targets on a queue send resolution notices (the reply queue).
    pub reply_queue: Option<String>,
    /// Where targets by e-mail reply with their notice.
    pub reply_email: Option<String>,
}

impl EscalationSettings {
    /// From the environment: `SPORTELLO_ESCALATION_FROM`, `SPORTELLO_REPLY_QUEUE`,
    /// `SPORTELLO_REPLY_EMAIL`, and `SPORTELLO_QUEUE_URL_<NAME>` per queue (name upper-cased,
    /// `-` as `_`).
    pub fn from_env(rules: &crate::rules::Model) -> Self {
        Self::from_vars(rules, &crate::settings::environment().lookup())
    }

    /// [`Self::from_env`] from another source of settings (a Lambda function's).
    pub fn from_vars(rules: &crate::rules::Model, var: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut queue_urls = BTreeMap::new();
        for queue in rules.targets.values().filter_map(|t| t.delivery.queue()) {
            if let Some(url) = var(&crate::settings::member("SPORTELLO_QUEUE_URL_", queue)) {
                queue_urls.insert(queue.to_string(), url);
            }
        }
        Self {
            mail_from: var("SPORTELLO_ESCALATION_FROM").unwrap_or_else(|| "sportello@pagopa.example".into()),
            queue_urls,
            reply_queue: var("SPORTELLO_REPLY_QUEUE"),
            reply_email: var("SPORTELLO_REPLY_EMAIL"),
        }
    }
}

/// A ticket as an operator sees it: the record, its events, and what the flow expects next.
#[derive(Debug, Clone)]
pub struct TicketView {
    pub ticket: Ticket,
    pub events: Vec<Event>,
    pub expected_next: String,
    pub classify_types: Vec<TicketType>,
    pub escalation_targets: Vec<String>,
}

/// What the escalation preview shows in place of what is only known once it is sent.
pub const PREVIEW_ID: &str = "(assigned when sent)";
const PREVIEW_SUMMARY: &str = "(the question you write for the target)";

/// What one escalation would send to one target: exactly what leaves, and what does not.
#[derive(Debug, Clone)]
pub struct EscalationPreview {
    pub target: String,
    pub party: crate::rules::model::TargetParty,
    pub free_text: bool,
    pub route: EscalationRoute,
    /// The message as it would leave (its `escalation_id` is a placeholder).
    pub message: EscalationMessage,
    /// For an e-mail target: the mail as it would be sent (without its reply token).
    pub mail: Option<crate::ports::OutgoingMail>,
    /// Ticket fields with a value that the target does not get, and why.
    pub withheld: Vec<Withheld>,
}

/// What an escalation did.
#[derive(Debug, Clone)]
pub struct Escalated {
    pub ticket: Ticket,
    pub message: EscalationMessage,
    pub transport_id: String,
}

/// An operator's text (a note, an answer, a reason): not blank, at most [`MAX_TEXT_BYTES`].
fn check_text(field: &str, text: &str) -> Result<(), EngineError> {
    super::check_text(field, text, MAX_TEXT_BYTES)
}

pub(super) fn event(
    ticket: &Ticket,
    actor: &Actor,
    kind: EventKind,
    at: jiff::Timestamp,
    detail: serde_json::Value,
) -> Event {
    Event { ticket_id: ticket.id.clone(), at, actor: actor.clone(), kind, detail }
}

/// An operator works the tickets in their own charge (or in nobody's). Another operator's ticket
/// changes hands only by a supervisor's recorded reassignment ([`Engine::reassign`]). The system
/// (an incident's resolution answering its tickets) acts for whoever has the ticket.
pub fn check_in_charge(ticket: &Ticket, actor: &Actor) -> Result<(), EngineError> {
    use crate::domain::ActorRole;
    let staff = matches!(
        actor.role,
        ActorRole::Operator | ActorRole::PrivacyOperator | ActorRole::Supervisor | ActorRole::Admin
    );
    match &ticket.assignee {
        Some(who) if staff && *who != actor.id => Err(EngineError::Forbidden(format!(
            "ticket {} is in charge of operator {who}; only a supervisor can reassign it to you",
            ticket.reference
        ))),
        _ => Ok(()),
    }
}

/// Takes `t` in charge for `actor`: its event, none when it is already theirs.
fn taking(t: &mut Ticket, guard: &FlowGuard, actor: &Actor, now: jiff::Timestamp) -> Result<Vec<Event>, EngineError> {
    if t.state == TicketState::TakenInCharge && t.assignee.as_deref() == Some(actor.id.as_str()) {
        return Ok(Vec::new());
    }
    if t.state != TicketState::New
        && let Some(who) = &t.assignee
    {
        return Err(Refusal::Done(format!("the ticket is already in charge of operator {who}")).into());
    }
    guard.check_take_in_charge(t)?;
    t.move_to(TicketState::TakenInCharge, now)?;
    t.assignee = Some(actor.id.clone());
    Ok(vec![event(t, actor, EventKind::TakenInCharge, now, json!({"assignee": actor.id}))])
}

/// Classifies `t` as `to`: its events (the classification, and the team it moves to), none when
/// it already has that type past its taking in charge.
fn classifying(
    t: &mut Ticket,
    guard: &FlowGuard,
    actor: &Actor,
    to: TicketType,
    by_incident_check: bool,
    now: jiff::Timestamp,
) -> Result<Vec<Event>, EngineError> {
    check_in_charge(t, actor)?;
    if t.ticket_type == Some(to) && t.state != TicketState::TakenInCharge {
        return Ok(Vec::new());
    }
    if !by_incident_check && guard.allows_step(None, super::flow_guard::CHECK_INCIDENTS) {
        return Err(Refusal::TypedByIncidentCheck {
            reference: t.reference.to_string(),
            step: super::flow_guard::CHECK_INCIDENTS,
        }
        .into());
    }
    // A type the flow does not allow for this ticket is a refusal of the flow (409), like any
    // other step out of its order.
    guard.check_classify(t, to).map_err(|r| match r {
        ClassifyRefusal::Type(m) | ClassifyRefusal::Flow(m) => EngineError::from(Refusal::Flow(m)),
    })?;
    let from = t.ticket_type;
    t.ticket_type = Some(to);
    if t.state == TicketState::TakenInCharge {
        t.move_to(TicketState::InProgress, now)?;
    }
    let mut events = vec![event(t, actor, EventKind::Classified, now, json!({"from": from, "to": to}))];
    if let Some(team) = guard.team_for(to)
        && team != t.team
    {
        let previous = std::mem::replace(&mut t.team, team.to_string());
        events.push(event(t, actor, EventKind::RoutedToTeam, now, json!({"from": previous, "to": team})));
    }
    Ok(events)
}

impl Engine {
    fn guard(&self, ticket: &Ticket) -> Result<FlowGuard<'_>, EngineError> {
        if ticket.category.is_none() && ticket.state.is_final() {
            return Err(Refusal::State(format!("nothing more: the ticket is {}", ticket.state)).into());
        }
        FlowGuard::of(&self.rules, ticket).ok_or_else(|| {
            Refusal::Flow("the flow expects the rulebook's triage before any operator action".into()).into()
        })
    }

    /// Reads the ticket, lets `apply` change it and name the events, writes both; on a version
    /// conflict, starts again from a fresh read. No events means nothing to write.
    pub(super) async fn change<F>(&self, id: &TicketId, apply: F) -> Result<Ticket, EngineError>
    where
        F: FnMut(&mut Ticket, &FlowGuard) -> Result<Vec<Event>, EngineError>,
    {
        self.change_from(id, None, apply).await
    }

    /// [`Self::change`] starting from a ticket the caller has just read (one read fewer); the
    /// version check still refuses it if it is stale, and the retry reads afresh.
    pub(super) async fn change_from<F>(
        &self,
        id: &TicketId,
        read: Option<Ticket>,
        apply: F,
    ) -> Result<Ticket, EngineError>
    where
        F: FnMut(&mut Ticket, &FlowGuard) -> Result<Vec<Event>, EngineError>,
    {
        Ok(self.change_queueing(id, read, |_| FollowUps::default(), apply).await?.0)
    }

    /// [`Self::change_from`], with the steps and claims `follow` gives for the changed ticket
    /// written in the same transaction (see [`crate::ports::TicketStore::update_queueing`]).
    /// Returns the steps the store keeps in its outbox for the caller to settle.
    pub(super) async fn change_queueing<F, S>(
        &self,
        id: &TicketId,
        mut read: Option<Ticket>,
        follow: S,
        mut apply: F,
    ) -> Result<(Ticket, Vec<Outboxed>), EngineError>
    where
        F: FnMut(&mut Ticket, &FlowGuard) -> Result<Vec<Event>, EngineError>,
        S: Fn(&Ticket) -> FollowUps,
    {
        let mut attempts = Attempts::new(format!("change to ticket {id}"));
        loop {
            let mut ticket = match read.take() {
                Some(t) if &t.id == id => t,
                _ => self.ports.tickets.get(id).await?,
            };
            let guard = self.guard(&ticket)?;
            let events = apply(&mut ticket, &guard)?;
            if events.is_empty() {
                return Ok((ticket, Vec::new()));
            }
            ticket.updated_at = self.now();
            let follow_ups = follow(&ticket);
            let written = if follow_ups.is_empty() {
                self.ports.tickets.update(&ticket, &events).await.map(|saved| (saved, Vec::new()))
            } else {
                self.ports.tickets.update_queueing(&ticket, &events, &follow_ups).await
            };
            match written {
                Ok(saved) => return Ok(saved),
                Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The ticket with its events and what the flow expects next.
    pub async fn ticket_view(&self, id: &TicketId) -> Result<TicketView, EngineError> {
        let ticket = self.ports.tickets.get(id).await?;
        let events = self.ports.events.list(id).await?;
        let (mut expected_next, classify_types, escalation_targets) = match FlowGuard::of(&self.rules, &ticket) {
            Some(g) => (
                g.expected_next(&ticket),
                g.classify_types().into_iter().collect(),
                g.escalation_targets(ticket.ticket_type),
            ),
            None => ("the rulebook's triage".into(), Vec::new(), Vec::new()),
        };
        if ticket.state.is_open()
            && let Some(reason) = super::answer::undelivered_answer(&events)
        {
            expected_next = format!(
                "the answer could not be delivered ({reason}): reach the requester another way, then resolve \
                 again saying how (`given_by`); {expected_next}"
            );
        }
        let ticket = crate::domain::notice::with_notice_bodies(ticket, &events);
        Ok(TicketView { ticket, events, expected_next, classify_types, escalation_targets })
    }

    /// C: the operator takes the ticket in charge and becomes its assignee. Taking one's own
    /// ticket again changes nothing.
    pub async fn take_in_charge(&self, id: &TicketId, actor: &Actor) -> Result<Ticket, EngineError> {
        self.take_in_charge_as(id, actor, None).await
    }

    /// C, and with `to` the classification as well, in one write: the same checks as
    /// [`Self::take_in_charge`] then [`Self::classify`], both events recorded in that order, and
    /// nothing written when either is refused (a type the flow does not allow leaves the ticket
    /// as it was, not taken in charge).
    pub async fn take_in_charge_as(
        &self,
        id: &TicketId,
        actor: &Actor,
        to: Option<TicketType>,
    ) -> Result<Ticket, EngineError> {
        let now = self.now();
        self.change(id, |t, guard| {
            let mut events = taking(t, guard, actor, now)?;
            if let Some(to) = to {
                events.extend(classifying(t, guard, actor, to, false, now)?);
            }
            Ok(events)
        })
        .await
    }

    /// Sets the ticket type, among those the flow allows on its channel and category. A privacy
    /// type moves the ticket to the team its flow routes to.
    pub async fn classify(&self, id: &TicketId, actor: &Actor, to: TicketType) -> Result<Ticket, EngineError> {
        self.classify_as(id, actor, to, false).await
    }

    /// Classifies; `by_incident_check` is set only by `check_active_incidents`, which is the one
    /// that types a malfunction report (Q with an active incident, I without).
    pub(super) async fn classify_as(
        &self,
        id: &TicketId,
        actor: &Actor,
        to: TicketType,
        by_incident_check: bool,
    ) -> Result<Ticket, EngineError> {
        let now = self.now();
        self.change(id, |t, guard| classifying(t, guard, actor, to, by_incident_check, now)).await
    }

    /// L: a note on the ticket, for the team. Allowed until the ticket is closed.
    pub async fn add_note(&self, id: &TicketId, actor: &Actor, text: &str) -> Result<Event, EngineError> {
        check_text("/text", text)?;
        let ticket = self.ports.tickets.get(id).await?;
        if ticket.state.is_final() {
            return Err(Refusal::State(format!("the ticket is {}; it takes no more notes", ticket.state)).into());
        }
        let note = event(&ticket, actor, EventKind::Note, self.now(), json!({"text": text}));
        self.ports.events.append(std::slice::from_ref(&note)).await?;
        Ok(note)
    }

    /// Ends the call or chat: the ticket continues asynchronously. Only on synchronous channels
    /// whose flow has `close_contact`, once.
    pub async fn close_contact(&self, id: &TicketId, actor: &Actor) -> Result<Ticket, EngineError> {
        let now = self.now();
        let events = self.ports.events.list(id).await?;
        let already = events.iter().any(|e| e.kind == EventKind::ContactClosed);
        self.change(id, |t, guard| {
            check_in_charge(t, actor)?;
            guard.check_close_contact(t, already)?;
            Ok(vec![event(t, actor, EventKind::ContactClosed, now, json!({"continues_as": "asynchronous"}))])
        })
        .await
    }

    /// L: sends the ticket to one of the flow's targets with only the fields the target may see,
    /// and waits for its resolution notice.
    pub async fn escalate(
        &self,
        id: &TicketId,
        actor: &Actor,
        target_id: &str,
        summary: &str,
        settings: &EscalationSettings,
    ) -> Result<Escalated, EngineError> {
        check_text("/summary", summary)?;
        let Some(target) = self.rules.targets.get(target_id) else {
            let known: Vec<&str> = self.rules.targets.keys().map(|k| k.as_str()).collect();
            return Err(EngineError::invalid(
                "/target",
                format!("unknown target `{target_id}`; targets: {}", known.join(", ")),
            ));
        };
        let (route, reply_to) = target_route(target, settings);
        // One id for every attempt: the delivery port sends a given escalation once.
        let escalation_id = uuid::Uuid::now_v7().to_string();
        let now = self.now();
        let due = self.remind_at(target.remind_after.as_ref(), now);
        let mut attempts = Attempts::new(format!("escalation of ticket {id} to {target_id}"));
        loop {
            let mut ticket = self.ports.tickets.get(id).await?;
            check_in_charge(&ticket, actor)?;
            let guard = self.guard(&ticket)?;
            // A known target this ticket's flow does not escalate to is a refusal of the flow (409).
            guard.check_escalate(&ticket, target_id).map_err(|r| match r {
                EscalateRefusal::Target(m) | EscalateRefusal::Flow(m) => EngineError::from(Refusal::Flow(m)),
            })?;
            // One read of the events serves both.
            let events = self.ports.events.list(id).await?;
            let description = first_message_of(&events);
            let conversation = Clearance::from(target).check("conversation").is_ok().then(|| conversation_of(&events));
            let mut message = escalation_message(
                &ticket,
                target_id,
                target.into(),
                Bodies { description: description.as_deref(), conversation: conversation.as_deref() },
                Envelope { escalation_id: &escalation_id, at: now, due, summary, reply_to: reply_to.clone() },
            );
            if target.delivery.queue().is_none() {
                self.add_reply_token(&mut message, &escalation_id);
            }
            let transport_id = self.ports.escalations.deliver(&route, &message).await?;
            if ticket.state != TicketState::AwaitingResolutionNotice {
                ticket.move_to(TicketState::AwaitingResolutionNotice, now)?;
            }
            ticket.escalations.push(Escalation {
                escalation_id: escalation_id.clone(),
                target: target_id.to_string(),
                sent_at: now,
                notice_at: None,
                notice: None,
                due,
                reminded_at: None,
            });
            ticket.updated_at = now;
            let sent_fields: Vec<&String> = message.fields.keys().collect();
            let ev = event(
                &ticket,
                actor,
                EventKind::Escalated,
                now,
                json!({
                    "target": target_id,
                    "escalation_id": escalation_id,
                    "transport_id": transport_id,
                    "summary": summary,
                    "fields": sent_fields,
                }),
            );
            match self.ports.tickets.update(&ticket, &[ev]).await {
                Ok(saved) => {
                    tracing::info!(ticket = %saved.id, reference = %saved.reference, target = target_id, "ticket escalated");
                    crate::metrics::escalation(target_id);
                    return Ok(Escalated { ticket: saved, message, transport_id });
                }
                Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// What an escalation of the ticket would send, target by target (all the targets its flow
    /// offers, or `only` one of them), with the operator's `summary`: the message as it would
    /// leave, the mail for e-mail targets, and the fields withheld with the reason. Nothing is
    /// sent or recorded; the escalation id and the reply token are minted when it is sent.
    pub async fn escalation_preview(
        &self,
        id: &TicketId,
        only: Option<&str>,
        summary: Option<&str>,
        settings: &EscalationSettings,
    ) -> Result<Vec<EscalationPreview>, EngineError> {
        if let Some(text) = summary {
            check_text("/summary", text)?;
        }
        let ticket = self.ports.tickets.get(id).await?;
        let guard = self.guard(&ticket)?;
        let offered = guard.escalation_targets(ticket.ticket_type);
        if offered.is_empty() {
            return Err(Refusal::Flow(format!(
                "the flow of this ticket does not escalate; it expects {}",
                guard.expected_next(&ticket)
            ))
            .into());
        }
        let targets: Vec<String> = match only {
            Some(t) if offered.iter().any(|o| o == t) => vec![t.to_string()],
            // A name no rulebook target has is malformed (422); a target of the rulebook that this
            // ticket's flow does not use is a refusal of the flow (409), as at escalate.
            Some(t) if !self.rules.targets.contains_key(t) => {
                let known: Vec<&str> = self.rules.targets.keys().map(|k| k.as_str()).collect();
                return Err(EngineError::invalid(
                    "/target",
                    format!("unknown target `{t}`; targets: {}", known.join(", ")),
                ));
            }
            Some(_) => {
                return Err(
                    Refusal::Flow(format!("the flow escalates this ticket only to {}", offered.join(", "))).into()
                );
            }
            None => offered,
        };
        let events = self.ports.events.list(id).await?;
        let description = first_message_of(&events);
        let conversation = conversation_of(&events);
        let summary = summary.unwrap_or(PREVIEW_SUMMARY);
        let now = self.now();
        let mut out = Vec::new();
        for target_id in targets {
            let Some(target) = self.rules.targets.get(&target_id) else { continue };
            let clearance = Clearance::from(target);
            let (route, reply_to) = target_route(target, settings);
            let bodies = Bodies { description: description.as_deref(), conversation: Some(&conversation) };
            let withheld = present_fields(&ticket, &bodies)
                .into_iter()
                .filter_map(|field| clearance.check(&field).err().map(|reason| Withheld { field, reason }))
                .collect();
            let message = escalation_message(
                &ticket,
                &target_id,
                clearance,
                bodies,
                Envelope {
                    escalation_id: PREVIEW_ID,
                    at: now,
                    due: self.remind_at(target.remind_after.as_ref(), now),
                    summary,
                    reply_to,
                },
            );
            let mail = match &route {
                EscalationRoute::Email { from, to } => Some(message.to_mail(from, to)?),
                EscalationRoute::Queue { .. } => None,
            };
            out.push(EscalationPreview {
                target: target_id,
                party: target.party,
                free_text: target.free_text,
                route,
                message,
                mail,
                withheld,
            });
        }
        Ok(out)
    }

    /// A supervisor moves a ticket another operator has in charge: to operator `to`, or back to
    /// its team's queue (`None`, where anyone on the team may take it in charge). Recorded as a
    /// `reassigned` event with the reason; the state stays (a ticket back in the queue is `new`).
    pub async fn reassign(
        &self,
        id: &TicketId,
        actor: &Actor,
        to: Option<&str>,
        reason: &str,
    ) -> Result<Ticket, EngineError> {
        if actor.role != crate::domain::ActorRole::Supervisor {
            return Err(EngineError::Forbidden("only a supervisor reassigns tickets".into()));
        }
        check_text("/reason", reason)?;
        if let Some(to) = to {
            crate::domain::event::check_operator_id(to).map_err(|m| EngineError::invalid("/to", m))?;
        }
        let now = self.now();
        self.change(id, |t, _| {
            let Some(from) = t.assignee.clone() else {
                return Err(Refusal::State(format!(
                    "ticket {} is in nobody's charge: an operator of its team takes it in charge",
                    t.reference
                ))
                .into());
            };
            if !matches!(
                t.state,
                TicketState::TakenInCharge | TicketState::InProgress | TicketState::AwaitingResolutionNotice
            ) {
                return Err(
                    Refusal::State(format!("ticket {} is {}; it is not reassigned", t.reference, t.state)).into()
                );
            }
            if to == Some(from.as_str()) {
                return Ok(Vec::new());
            }
            match to {
                Some(to) => t.assignee = Some(to.to_string()),
                None => {
                    if t.state == TicketState::AwaitingResolutionNotice {
                        return Err(Refusal::Flow(
                            "an escalated ticket waits for its notice with an operator: reassign it to one".into(),
                        )
                        .into());
                    }
                    t.move_to(TicketState::New, now)?;
                    t.assignee = None;
                }
            }
            let detail = json!({"from": from, "to": to, "reason": reason, "state": t.state});
            Ok(vec![event(t, actor, EventKind::Reassigned, now, detail)])
        })
        .await
        .inspect(|t| tracing::info!(ticket = %t.id, reference = %t.reference, "ticket reassigned"))
    }

    /// R: the operator's answer, and the ticket resolved. Refused while the flow expects something
    /// else first (a type, an escalation, a resolution notice). The ticket as it stands after the
    /// delivery attempt: back `in_progress` if the answer cannot reach the requester.
    pub async fn answer_and_resolve(&self, id: &TicketId, actor: &Actor, answer: &str) -> Result<Ticket, EngineError> {
        Ok(self.resolve(id, actor, answer, None).await?.ticket)
    }

    /// R, saying how the answer went: sent on the ticket's channel, or, with `given_by`, given by
    /// the operator another way (a phone call after a mail that could not be delivered), in which
    /// case nothing is sent.
    pub async fn resolve(
        &self,
        id: &TicketId,
        actor: &Actor,
        answer: &str,
        given_by: Option<&str>,
    ) -> Result<Resolution, EngineError> {
        self.resolve_from_article(id, actor, answer, given_by, None).await
    }

    /// R, with an answer built on a knowledge-base article (the operator's "use in answer").
    pub async fn answer_from_article_and_resolve(
        &self,
        id: &TicketId,
        actor: &Actor,
        answer: &str,
        article: Option<&str>,
    ) -> Result<Ticket, EngineError> {
        Ok(self.resolve_from_article(id, actor, answer, None, article).await?.ticket)
    }

    /// R, as [`Engine::resolve`], with the knowledge-base article the answer is built on: the
    /// article is noted on the `Answered` event and, for a chat the bot handed over, the
    /// citizen's question and the article become a candidate example question (see
    /// [`crate::ports::KnowledgeCandidates`]).
    pub async fn resolve_from_article(
        &self,
        id: &TicketId,
        actor: &Actor,
        answer: &str,
        given_by: Option<&str>,
        article: Option<&str>,
    ) -> Result<Resolution, EngineError> {
        check_text("/answer", answer)?;
        if let Some(how) = given_by
            && (how.trim().is_empty() || how.chars().count() > MAX_GIVEN_BY_CHARS || how.chars().any(char::is_control))
        {
            return Err(EngineError::invalid(
                "/given_by",
                format!("how the answer was given, in 1 to {MAX_GIVEN_BY_CHARS} characters (e.g. `phone`)"),
            ));
        }
        let given_by = given_by.map(str::trim);
        if let Some(a) = article {
            let ids = self.rules.knowledge.ids();
            if !ids.contains_key(a) {
                let hint = crate::rules::diagnostic::did_you_mean(a, ids.keys().copied())
                    .map(|b| format!("; did you mean `{b}`?"))
                    .unwrap_or_default();
                return Err(EngineError::invalid("/article", format!("no knowledge-base article `{a}`{hint}")));
            }
        }
        let now = self.now();
        let answer_id = uuid::Uuid::now_v7().to_string();
        // The ticket and its history in one read where the store keeps them together: the
        // delivery below then needs no second read of the history.
        let (ticket, history) = match self.ports.events.list_with_ticket(id).await? {
            Some((ticket, events)) => (ticket, Some(events)),
            None => (self.ports.tickets.get(id).await?, None),
        };
        let sent = given_by.is_none() && self.answer_is_sent(&ticket, history.as_deref()).await?;
        // The events the write below made, and how many times it was tried (a conflict reads the
        // ticket again, and the history read first is then stale).
        let mut wrote: (usize, Vec<Event>) = (0, Vec::new());
        // The answer's delivery step and the claim on it go with the resolution: the delivery
        // below is then this request's to make, and a crash before it leaves the step for the
        // sweep to publish.
        let follow =
            |t: &Ticket| if sent { super::answer::delivery_follow_ups(t, &answer_id) } else { FollowUps::default() };
        let (resolved, outbox) = self
            .change_queueing(id, Some(ticket), follow, |t, guard| {
                check_in_charge(t, actor)?;
                guard.check_resolve(t)?;
                t.move_to(TicketState::Resolved, now)?;
                let mut detail = json!({"body": answer, "channel": t.channel, "answer_id": answer_id});
                if let Some(a) = article {
                    detail["article"] = json!(a);
                }
                if let Some(how) = given_by {
                    detail["given_by"] = json!(how);
                }
                let mut events = vec![
                    event(t, actor, EventKind::Answered, now, detail),
                    event(t, actor, EventKind::Resolved, now, json!({"ticket_type": t.ticket_type})),
                ];
                events.extend(self.survey_on_resolution(t, now));
                wrote = (wrote.0 + 1, events.clone());
                Ok(events)
            })
            .await?;
        let known = match (history, wrote) {
            (Some(mut history), (1, written)) => {
                history.extend(written);
                Some(history)
            }
            _ => None,
        };
        crate::metrics::ticket_ended(resolved.ticket_type.map(|t| t.code()), resolved.state.as_str());
        let delivery = match given_by {
            Some(how) => AnswerDelivery::GivenByOperator { how: how.into() },
            // On the ticket, which the client reads: nothing to send.
            None if !sent => AnswerDelivery::Api,
            None => self.send_answer(&resolved, &answer_id, outbox, known).await?,
        };
        let ticket = match delivery {
            // The resolution was undone: show the ticket as it is now, and learn nothing from it.
            AnswerDelivery::Undeliverable { .. } => {
                return Ok(Resolution { ticket: self.ports.tickets.get(id).await?, delivery });
            }
            _ => resolved,
        };
        if let Some(a) = article {
            self.learn_from_chat_answer(&ticket, a).await;
        }
        Ok(Resolution { ticket, delivery })
    }

    /// Knowledge-base articles for the ticket (at most [`MAX_SUGGESTIONS`]): from the operator's search text when given (a call
    /// opened by the IVR has no text of its own), else from its subject and first message.
    pub async fn suggestions(
        &self,
        index: &KnowledgeIndex,
        id: &TicketId,
        search: Option<&str>,
        lang: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Hit>, EngineError> {
        if let Some(q) = search {
            if q.trim().is_empty() {
                return Err(EngineError::invalid("q", "must not be blank; leave it out to search the ticket's text"));
            }
            if q.chars().count() > MAX_SEARCH_CHARS {
                return Err(EngineError::invalid("q", format!("at most {MAX_SEARCH_CHARS} characters")));
            }
        }
        let ticket = self.ports.tickets.get(id).await?;
        let query = match search {
            Some(q) => q.to_string(),
            None => {
                let first = self.first_message(id).await?.unwrap_or_default();
                format!("{} {first}", ticket.subject.as_deref().unwrap_or_default())
            }
        };
        let lang = lang.map(str::to_string).unwrap_or_else(|| detect_language(&query).to_string());
        Ok(index.search(&query, &lang, limit.clamp(1, MAX_SUGGESTIONS)))
    }

    /// A team's open tickets, nearest deadline first (tickets without one last, oldest first).
    pub async fn work_queue(&self, team: &str, limit: usize) -> Result<Vec<Ticket>, EngineError> {
        let mut all = self.ports.tickets.work_queues(team, &QUEUE_STATES, limit).await?;
        all.sort_by_key(|t| (nearest_deadline(t).is_none(), nearest_deadline(t), t.created_at));
        all.truncate(limit);
        Ok(all)
    }

    pub(super) async fn first_message(&self, id: &TicketId) -> Result<Option<String>, EngineError> {
        Ok(first_message_of(&self.ports.events.list(id).await?))
    }

    pub(super) async fn conversation(&self, id: &TicketId) -> Result<String, EngineError> {
        Ok(conversation_of(&self.ports.events.list(id).await?))
    }

    /// When a target should be reminded, in the SLA calendar's business time.
    pub(super) fn remind_at(
        &self,
        remind_after: Option<&BusinessTime>,
        now: jiff::Timestamp,
    ) -> Option<jiff::Timestamp> {
        self.rules.sla_calendar().add_business_time(now, remind_after?.duration)
    }
}

/// Where a target's messages go and where it answers: its queue (by URL when the deployment
/// maps it) or its mailbox.
pub(super) fn target_route(
    target: &crate::rules::resolved::Target,
    settings: &EscalationSettings,
) -> (EscalationRoute, Option<String>) {
    match &target.delivery {
        TargetDelivery::Queue { queue } => (
            EscalationRoute::Queue { queue: settings.queue_urls.get(queue).cloned().unwrap_or_else(|| queue.clone()) },
            settings.reply_queue.clone(),
        ),
        TargetDelivery::Email { to } => {
            (EscalationRoute::Email { from: settings.mail_from.clone(), to: to.clone() }, settings.reply_email.clone())
        }
    }
}

/// The requester's first message on the ticket.
pub(super) fn first_message_of(events: &[Event]) -> Option<String> {
    events
        .iter()
        .find(|e| {
            // A chat records the user's messages as `user`, the other channels as `requester`.
            e.kind == EventKind::Message
                && matches!(e.detail.get("from").and_then(|f| f.as_str()), Some("requester" | "user"))
        })
        .and_then(|e| e.detail.get("body").and_then(|b| b.as_str()).map(str::to_string))
}

/// The ticket's messages, both ways, as text for a target.
pub(super) fn conversation_of(events: &[Event]) -> String {
    let mut text = String::new();
    for e in events.iter().filter(|e| e.kind == EventKind::Message) {
        let from = e.detail.get("from").and_then(|f| f.as_str()).unwrap_or("?");
        let body = e.detail.get("body").and_then(|b| b.as_str()).unwrap_or_default();
        text.push_str(&format!("[{} {from}]\n{body}\n\n", e.at));
    }
    truncate(text, MAX_TEXT_BYTES)
}

/// The earliest deadline still running on a ticket.
pub fn nearest_deadline(ticket: &Ticket) -> Option<jiff::Timestamp> {
    ticket.deadlines.iter().map(|d| d.due).min()
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

pub(super) struct Bodies<'a> {
    pub description: Option<&'a str>,
    pub conversation: Option<&'a str>,
}

pub(super) struct Envelope<'a> {
    pub escalation_id: &'a str,
    pub at: jiff::Timestamp,
    pub due: Option<jiff::Timestamp>,
    pub summary: &'a str,
    pub reply_to: Option<String>,
}

/// What a target may receive: the fields its `fields` list names, free text only when it is
/// cleared for it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clearance<'a> {
    pub fields: &'a [String],
    pub free_text: bool,
}

impl<'a> From<&'a crate::rules::resolved::Target> for Clearance<'a> {
    fn from(t: &'a crate::rules::resolved::Target) -> Self {
        Self { fields: &t.fields, free_text: t.free_text }
    }
}

impl Clearance<'_> {
    /// Whether `name` may go, and if not, why.
    fn check(&self, name: &str) -> Result<(), &'static str> {
        if !self.fields.iter().any(|f| f == name) {
            Err(Withheld::NOT_LISTED)
        } else if FREE_TEXT_FIELDS.contains(&name) && !self.free_text {
            Err(Withheld::FREE_TEXT)
        } else {
            Ok(())
        }
    }
}

use crate::rules::validate::FREE_TEXT_FIELDS;

/// A field of the ticket that does not go to a target, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Withheld {
    pub field: String,
    /// [`Withheld::NOT_LISTED`] or [`Withheld::FREE_TEXT`].
    pub reason: &'static str,
}

impl Withheld {
    pub const NOT_LISTED: &'static str = "not among the target's fields";
    pub const FREE_TEXT: &'static str = "the requester's free text, which the target is not cleared to receive";
}

/// The ticket's values under the names a target's `fields` list uses (the envelope's
/// `ticket_type`, `category` and `channel` aside), those that have one.
fn named_values(ticket: &Ticket, bodies: &Bodies<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |name: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push((name.to_string(), v.to_string()));
        }
    };
    add("created_at", Some(&ticket.created_at.to_string()));
    add("subject", ticket.subject.as_deref());
    add("description", bodies.description);
    add("conversation", bodies.conversation);
    add("requester.name", ticket.requester.name.as_deref());
    add("requester.email", ticket.requester.email.as_deref());
    add("requester.phone", ticket.requester.phone.as_deref());
    add("requester.fiscal_code", ticket.requester.fiscal_code.as_deref());
    for (name, value) in &ticket.fields {
        add(&format!("custom.{name}"), Some(value));
    }
    out
}

/// The names of the ticket's fields that have a value, the envelope's included (what is withheld
/// is listed by name only, never its value).
fn present_fields(ticket: &Ticket, bodies: &Bodies<'_>) -> Vec<String> {
    let envelope = [
        ("ticket_type", ticket.ticket_type.is_some()),
        ("category", ticket.category.is_some()),
        ("channel", !ticket.channel.is_empty()),
    ];
    let named = named_values(ticket, bodies).into_iter().map(|(name, _)| name);
    envelope.into_iter().filter(|(_, has)| *has).map(|(name, _)| name.to_string()).chain(named).collect()
}

/// The escalation message with only the fields the target is cleared for. The envelope (ids,
/// reference, target, times, the operator's summary) always goes: the target needs it to work
/// the case and answer.
pub(super) fn escalation_message(
    ticket: &Ticket,
    target: &str,
    clearance: Clearance<'_>,
    bodies: Bodies<'_>,
    envelope: Envelope<'_>,
) -> EscalationMessage {
    let may = |name: &str| clearance.check(name).is_ok();
    let fields: BTreeMap<String, String> =
        named_values(ticket, &bodies).into_iter().filter(|(name, _)| may(name)).collect();
    EscalationMessage {
        schema: ESCALATION_SCHEMA.to_string(),
        escalation_id: envelope.escalation_id.to_string(),
        ticket_id: ticket.id.clone(),
        reference: ticket.reference.clone(),
        target: target.to_string(),
        ticket_type: ticket.ticket_type.filter(|_| may("ticket_type")),
        category: ticket.category.clone().filter(|_| may("category")),
        channel: may("channel").then(|| ticket.channel.clone()),
        escalated_at: envelope.at,
        due: envelope.due,
        summary: envelope.summary.to_string(),
        fields,
        reply_to: envelope.reply_to,
        kind: MessageKind::Escalation,
        reminds: None,
        reply_token: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChannelKind, Requester};

    #[test]
    fn a_message_carries_only_what_the_target_may_see() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let mut t = Ticket::new("email", ChannelKind::Email, "first_level", now);
        t.category = Some("specialist_support".into());
        t.ticket_type = Some(TicketType::A);
        t.subject = Some("Doppio addebito".into());
        t.requester = Requester {
            email: Some("mario@example.it".into()),
            fiscal_code: Some("RSSMRA85T10A562S".into()),
            ..Requester::default()
        };
        t.fields.insert("notice_code".into(), "302001234567890123".into());
        let allowed: Vec<String> =
            ["reference", "category", "subject", "custom.notice_code"].map(String::from).to_vec();
        let m = escalation_message(
            &t,
            "third_parties",
            Clearance { fields: &allowed, free_text: true },
            Bodies { description: Some("Ho pagato due volte"), conversation: Some("everything") },
            Envelope { escalation_id: "e-1", at: now, due: None, summary: "check the payment", reply_to: None },
        );
        assert_eq!(m.fields.keys().collect::<Vec<_>>(), ["custom.notice_code", "subject"]);
        assert_eq!(m.category.as_deref(), Some("specialist_support"));
        assert_eq!((m.ticket_type, m.channel.as_deref()), (None, None));
        let json = m.to_json().unwrap();
        assert!(!json.contains("mario@example.it") && !json.contains("RSSMRA85T10A562S"), "{json}");
        // Not cleared for free text: the subject stays, whatever the list says.
        let m = escalation_message(
            &t,
            "third_parties",
            Clearance { fields: &allowed, free_text: false },
            Bodies { description: Some("Ho pagato due volte"), conversation: None },
            Envelope { escalation_id: "e-2", at: now, due: None, summary: "check the payment", reply_to: None },
        );
        assert_eq!(m.fields.keys().collect::<Vec<_>>(), ["custom.notice_code"]);
    }
}
