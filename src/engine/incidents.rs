//! Incidents: supervisors declare, update and resolve them per service; the malfunction flows'
//! `check_active_incidents` step looks them up, and an incident's resolution fans out to the
//! tickets linked to it through the step queue, one page of at most [`INCIDENT_BATCH`] tickets
//! per `incident_resolved` step message, [`INCIDENT_PARALLEL`] at a time, each page queueing the
//! next; a page short of time queues the tickets it did not start. No request or step ever
//! touches more than one page, and every ticket is notified once however often a page runs.

use super::Refusal;
use super::operator::EscalationSettings;
use super::{Engine, EngineError, Escalated};
use crate::domain::{Actor, Event, EventKind, Ticket, TicketId, TicketState};
use crate::ports::{Incident, IncidentState, IncidentStore, RunOnce, StepMessage, run_once};
use serde_json::json;
use std::time::Duration;

pub const INCIDENT_RESOLVED: &str = "incident_resolved";
/// Linked tickets read per step message.
pub const INCIDENT_BATCH: usize = 100;
/// Tickets of a page notified at the same time: each costs about fourteen sequential calls, and
/// different tickets never conflict.
pub const INCIDENT_PARALLEL: usize = 8;
/// The most a page spends before it queues the rest (the step function's timeout is 30 s; a
/// Lambda page also stops by its invocation's own deadline, see [`super::budget`]).
pub const INCIDENT_PAGE_BUDGET: Duration = Duration::from_secs(20);
/// The flow step the check performs.
use super::flow_guard::CHECK_INCIDENTS as CHECK_STEP;
const LEASE: Duration = Duration::from_secs(5 * 60);
const REMEMBER: Duration = Duration::from_secs(15 * 86_400);

/// What the check found and did.
#[derive(Debug, Clone)]
pub struct CheckedIncidents {
    pub ticket: Ticket,
    /// The active incident the ticket is now linked to (classified as the flow says: Q).
    pub incident: Option<Incident>,
    /// No incident: the ticket is classified as the flow says (I) and escalated to the target
    /// the flow names after the check (incident management).
    pub escalated: Option<Escalated>,
}

fn check_service(service: &str) -> Result<(), EngineError> {
    let ok = (1..=40).contains(&service.len())
        && service.starts_with(|c: char| c.is_ascii_lowercase())
        && service.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok { Ok(()) } else { Err(EngineError::invalid("/service", "a service id such as `pagopa`, `io` or `send`")) }
}

fn check_text(field: &str, text: &str) -> Result<(), EngineError> {
    super::check_text(field, text, super::operator::MAX_TEXT_BYTES)
}

impl Engine {
    fn incident_store(&self) -> Result<&dyn IncidentStore, EngineError> {
        Ok(self.ports.incidents.as_ref())
    }

    pub async fn declare_incident(
        &self,
        actor: &Actor,
        service: &str,
        title: &str,
        restoration_info: Option<&str>,
    ) -> Result<Incident, EngineError> {
        check_service(service)?;
        check_text("/title", title)?;
        if let Some(info) = restoration_info {
            check_text("/restoration_info", info)?;
        }
        let store = self.incident_store()?;
        let now = self.now();
        let incident = Incident {
            id: format!("INC-{}", uuid::Uuid::now_v7().simple()),
            service: service.to_string(),
            title: title.to_string(),
            restoration_info: restoration_info.map(str::to_string),
            state: IncidentState::Active,
            declared_at: now,
            declared_by: actor.id.clone(),
            updated_at: now,
            resolved_at: None,
            closing_text: None,
            notified: None,
            fanout_done_at: None,
        };
        store.save(&incident).await?;
        tracing::info!(incident = %incident.id, service, "incident declared");
        Ok(incident)
    }

    pub async fn update_incident(
        &self,
        id: &str,
        title: Option<&str>,
        restoration_info: Option<&str>,
    ) -> Result<Incident, EngineError> {
        let store = self.incident_store()?;
        let mut incident = store.get(id).await?;
        if incident.state == IncidentState::Resolved {
            return Err(Refusal::State(format!("incident {id} is resolved; declare a new one")).into());
        }
        if let Some(t) = title {
            check_text("/title", t)?;
            incident.title = t.to_string();
        }
        if let Some(info) = restoration_info {
            check_text("/restoration_info", info)?;
            incident.restoration_info = Some(info.to_string());
        }
        incident.updated_at = self.now();
        store.save(&incident).await?;
        Ok(incident)
    }

    /// Resolves the incident and queues the first page of its fan-out. Resolving again queues it
    /// again (deduplicated), so a failed publish is repaired by retrying the request.
    pub async fn resolve_incident(&self, id: &str, closing_text: &str) -> Result<Incident, EngineError> {
        check_text("/closing_text", closing_text)?;
        let store = self.incident_store()?;
        let mut incident = store.get(id).await?;
        if incident.state == IncidentState::Active {
            let now = self.now();
            incident.state = IncidentState::Resolved;
            incident.resolved_at = Some(now);
            incident.updated_at = now;
            incident.closing_text = Some(closing_text.to_string());
            store.save(&incident).await?;
            tracing::info!(incident = %incident.id, service = %incident.service, "incident resolved");
        }
        self.publish_incident_page(&incident.id, None, 0, 0).await?;
        Ok(incident)
    }

    async fn publish_incident_page(
        &self,
        id: &str,
        after: Option<&TicketId>,
        page: u64,
        notified: u64,
    ) -> Result<(), EngineError> {
        let step = StepMessage::new(
            INCIDENT_RESOLVED,
            format!("{id}.page.{page}"),
            json!({"incident_id": id, "after": after, "page": page, "notified": notified}),
        )
        .with_attribute("incident_id", id.to_string());
        self.ports.steps.publish(&step).await?;
        Ok(())
    }

    /// One page of an incident's fan-out: notifies its tickets (once each), [`INCIDENT_PARALLEL`]
    /// at a time, and queues the next page. A page that runs short of time (what the invocation
    /// has left, at most [`INCIDENT_PAGE_BUDGET`]) stops after the tickets it started and queues
    /// the rest as the next page, instead of timing out and having its batch delivered again.
    /// `notified` counts the tickets earlier pages notified. Returns how many this one did.
    pub async fn incident_resolved_page(
        &self,
        id: &str,
        after: Option<&TicketId>,
        page: u64,
        notified: u64,
    ) -> Result<usize, EngineError> {
        let budget = super::budget::time_left(INCIDENT_PAGE_BUDGET);
        self.incident_resolved_page_within(id, after, page, notified, budget).await
    }

    /// [`Self::incident_resolved_page`] within `budget`; at least one round of tickets is
    /// notified however short it is, so every page gets further.
    pub async fn incident_resolved_page_within(
        &self,
        id: &str,
        after: Option<&TicketId>,
        page: u64,
        notified: u64,
        budget: Duration,
    ) -> Result<usize, EngineError> {
        let started = std::time::Instant::now();
        let store = self.incident_store()?;
        let incident = store.get(id).await?;
        let tickets = store.linked(id, after, INCIDENT_BATCH).await?;
        let mut done = 0;
        for round in tickets.chunks(INCIDENT_PARALLEL) {
            // Rounds take about as long as their slowest ticket: start one only if it fits.
            if done > 0 && started.elapsed() + self.next_round_estimate(started, done) >= budget {
                break;
            }
            let notices = round.iter().map(|ticket| self.notify_incident_resolved(&incident, ticket)).collect();
            let failed = super::budget::on_this_task(notices).await.into_iter().find_map(Result::err);
            // The message is delivered again; what this round did is not repeated.
            if let Some(e) = failed {
                return Err(e);
            }
            done += round.len();
        }
        let finished = done == tickets.len() && tickets.len() < INCIDENT_BATCH;
        if !finished {
            let last = tickets[..done].last().or(after);
            if done < tickets.len() {
                tracing::info!(incident = %id, page, done, left = tickets.len() - done, "incident fan-out: time is short; the rest goes to the next page");
            }
            self.publish_incident_page(id, last, page + 1, notified + done as u64).await?;
        }
        // Progress for the supervisors' page; pages run one after the other and a rerun writes
        // the same figure.
        let mut progress = store.get(id).await?;
        progress.notified = Some(progress.notified.unwrap_or(0).max(notified + done as u64));
        if finished && progress.fanout_done_at.is_none() {
            progress.fanout_done_at = Some(self.now());
        }
        store.save(&progress).await?;
        Ok(done)
    }

    /// How long the next round may take, from the rounds of this page so far.
    fn next_round_estimate(&self, started: std::time::Instant, done: usize) -> Duration {
        let rounds = done.div_ceil(INCIDENT_PARALLEL).max(1) as u32;
        // The mean, doubled for margin: a page must end well before its invocation does.
        started.elapsed() / rounds * 2
    }

    /// A `note` on the ticket with the incident's closing text; an open ticket whose flow may be
    /// resolved now is resolved with it as the answer (which goes to the requester).
    async fn notify_incident_resolved(&self, incident: &Incident, id: &TicketId) -> Result<(), EngineError> {
        let key = format!("incident-notice:{}:{id}", incident.id);
        let closing = incident.closing_text.clone().unwrap_or_default();
        let ran = run_once(self.ports.idempotency.as_ref(), &key, LEASE, REMEMBER, || async {
            let ticket = match self.ports.tickets.get(id).await {
                Ok(t) => t,
                // Purged or erased since: nobody to tell.
                Err(crate::ports::StoreError::NotFound(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let note = Event {
                ticket_id: ticket.id.clone(),
                at: self.now(),
                actor: Actor::system(),
                kind: EventKind::Note,
                detail: json!({"incident_resolved": incident.id, "service": incident.service, "closing_text": closing}),
            };
            self.ports.events.append(&[note]).await?;
            let resolvable =
                super::FlowGuard::of(&self.rules, &ticket).is_some_and(|g| g.check_resolve(&ticket).is_ok());
            if resolvable && ticket.state.is_open() && !closing.trim().is_empty() {
                self.answer_and_resolve(&ticket.id, &Actor::system(), &closing).await?;
            }
            Ok(())
        })
        .await?;
        if ran == RunOnce::InProgress {
            return Err(EngineError::Busy(format!("ticket {id} is being notified by another worker")));
        }
        Ok(())
    }

    /// `check_active_incidents`: with an active incident on `service`, the ticket is linked to it,
    /// shown its restoration info and classified as the flow says after the check (Q); without,
    /// it is classified as the flow says (I) and escalated to the target the flow names there
    /// (incident management).
    pub async fn check_incidents(
        &self,
        id: &TicketId,
        actor: &Actor,
        service: &str,
        settings: &EscalationSettings,
    ) -> Result<CheckedIncidents, EngineError> {
        check_service(service)?;
        let store = self.incident_store()?;
        let ticket = self.ports.tickets.get(id).await?;
        super::operator::check_in_charge(&ticket, actor)?;
        let guard = super::FlowGuard::of(&self.rules, &ticket)
            .ok_or_else(|| Refusal::Flow("the flow expects the rulebook's triage before any operator action".into()))?;
        if !guard.allows_step(None, CHECK_STEP) {
            return Err(Refusal::Flow(format!(
                "the flow of this ticket has no {CHECK_STEP}; it expects {}",
                guard.expected_next(&ticket)
            ))
            .into());
        }
        if !matches!(ticket.state, TicketState::TakenInCharge | TicketState::InProgress) || ticket.ticket_type.is_some()
        {
            return Err(Refusal::Flow(guard.refuse(&ticket, CHECK_STEP)).into());
        }
        let active = store.active(service).await?;
        let Some((ticket_type, target)) = guard.after_incident_check(active.is_some()) else {
            return Err(Refusal::Flow(format!(
                "the flow of this ticket sets no type after {CHECK_STEP} {}; it expects {}",
                if active.is_some() { "with an active incident" } else { "with no active incident" },
                guard.expected_next(&ticket)
            ))
            .into());
        };
        let checked = Event {
            ticket_id: ticket.id.clone(),
            at: self.now(),
            actor: actor.clone(),
            kind: EventKind::Note,
            detail: json!({
                "step": CHECK_STEP,
                "service": service,
                "incident": active.as_ref().map(|i| &i.id),
                "restoration_info": active.as_ref().and_then(|i| i.restoration_info.as_ref()),
            }),
        };
        match active {
            Some(incident) => {
                store.link(&incident.id, &ticket.id).await?;
                self.ports.events.append(&[checked]).await?;
                let ticket = self.classify_as(id, actor, ticket_type, true).await?;
                Ok(CheckedIncidents { ticket, incident: Some(incident), escalated: None })
            }
            None => {
                self.ports.events.append(&[checked]).await?;
                let classified = self.classify_as(id, actor, ticket_type, true).await?;
                let Some(target) = target else {
                    return Ok(CheckedIncidents { ticket: classified, incident: None, escalated: None });
                };
                let summary = format!("Possible malfunction of `{service}` reported; no active incident is declared.");
                let escalated = self.escalate(id, actor, &target, &summary, settings).await?;
                Ok(CheckedIncidents { ticket: escalated.ticket.clone(), incident: None, escalated: Some(escalated) })
            }
        }
    }
}
