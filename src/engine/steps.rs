//! Step messages: what each queued step does. Every handler may run twice for one message (queues
//! redeliver), so each is idempotent or runs once through the idempotency store.

use super::{Engine, EngineError};
use crate::domain::TicketId;
use crate::ports::StepMessage;

pub const TRIAGE: &str = "triage";

fn ticket_id(message: &StepMessage) -> Result<TicketId, EngineError> {
    message
        .body
        .get("ticket_id")
        .and_then(|v| v.as_str())
        .map(|s| TicketId(s.to_string()))
        .ok_or_else(|| EngineError::invalid("/ticket_id", format!("step `{}` needs a ticket_id", message.step)))
}

/// Runs one step message, in a span naming the step and its ticket (for every line it logs). An
/// error leaves the message for redelivery (and, after the queue's maximum attempts, its
/// dead-letter queue).
pub async fn handle_step(engine: &Engine, message: &StepMessage) -> Result<(), EngineError> {
    use tracing::Instrument;
    let attribute = |name: &str| message.attributes.get(name).map(String::as_str).unwrap_or_default();
    let span = tracing::info_span!(
        target: crate::logging::SPAN_TARGET,
        "step",
        step = %message.step,
        ticket = attribute("ticket_id"),
        reference = attribute("reference"),
    );
    run_step(engine, message).instrument(span).await
}

async fn run_step(engine: &Engine, message: &StepMessage) -> Result<(), EngineError> {
    match message.step.as_str() {
        TRIAGE => engine.triage(&ticket_id(message)?).await.map(|_| ()),
        super::answer::DELIVER_ANSWER => {
            let answer_id = message
                .body
                .get("answer_id")
                .and_then(|v| v.as_str())
                .ok_or_else(|| EngineError::invalid("/answer_id", "step `deliver_answer` needs an answer_id"))?;
            engine.deliver_answer(&ticket_id(message)?, answer_id).await.map(|_| ())
        }
        super::incidents::INCIDENT_RESOLVED => {
            let body = &message.body;
            let id = body
                .get("incident_id")
                .and_then(|v| v.as_str())
                .ok_or_else(|| EngineError::invalid("/incident_id", "step `incident_resolved` needs an incident_id"))?;
            let after = body.get("after").and_then(|v| v.as_str()).map(|s| TicketId(s.to_string()));
            let page = body.get("page").and_then(|v| v.as_u64()).unwrap_or(0);
            // Messages queued before pages could stop early had full pages of 100 only.
            let notified = body.get("notified").and_then(|v| v.as_u64()).unwrap_or(page * super::INCIDENT_BATCH as u64);
            engine.incident_resolved_page(id, after.as_ref(), page, notified).await.map(|_| ())
        }
        super::webhook::WEBHOOK => {
            let text =
                |name: &str| {
                    message.body.get(name).and_then(|v| v.as_str()).ok_or_else(|| {
                        EngineError::invalid(format!("/{name}"), format!("step `webhook` needs a {name}"))
                    })
                };
            engine.send_webhook(&ticket_id(message)?, text("answer_id")?, text("client")?).await.map(|_| ())
        }
        other => Err(EngineError::invalid("step", format!("no handler for step `{other}`"))),
    }
}

impl Engine {
    /// Runs what is waiting on the step queue, up to `max` messages; returns how many succeeded.
    /// The local server's workers and tests use it; on AWS, SQS invokes the step Lambdas.
    pub async fn run_pending_steps(&self, max: usize) -> Result<usize, EngineError> {
        let mut done = 0;
        while done < max {
            let batch = self.ports.steps.receive(10.min(max - done), std::time::Duration::from_secs(30)).await?;
            if batch.is_empty() {
                break;
            }
            for delivery in batch {
                match handle_step(self, &delivery.message).await {
                    Ok(()) => {
                        self.ports.steps.ack(&delivery.receipt).await?;
                        tracing::trace!(step = %delivery.message.step, message_id = %delivery.message_id, "step handled");
                        done += 1;
                    }
                    // Another worker (the inline attempt of the same effect, most often) holds
                    // it: the message stays hidden for its visibility timeout, then comes back
                    // and finds the work done. No nack, which would spin on the claim.
                    Err(e @ EngineError::Busy(_)) => {
                        tracing::debug!(step = %delivery.message.step, message_id = %delivery.message_id, why = %e.for_log(), "step deferred: running elsewhere");
                    }
                    Err(e) => {
                        tracing::warn!(step = %delivery.message.step, error = %e.for_log(), "step failed; it will be retried");
                        crate::metrics::step_retry(&delivery.message.step);
                        self.ports.steps.nack(&delivery.receipt).await?;
                    }
                }
            }
        }
        Ok(done)
    }
}

/// Closed tickets purged per store call: each costs a few writes, and the clock's purge runs
/// last, in whatever time its tick has left.
pub const PURGE_PAGE: usize = 100;
/// The most a tick spends purging (less where its invocation has less left, see
/// [`super::budget`]); what is left goes at the next tick, the longest closed first.
pub const PURGE_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

impl Engine {
    /// Deletes tickets closed longer ago than the rulebook's retention period, with their events,
    /// a page of [`PURGE_PAGE`] at a time for at most [`PURGE_BUDGET`]. The clock step runs it;
    /// returns how many went.
    pub async fn purge_expired(&self) -> Result<usize, EngineError> {
        self.purge_expired_within(super::budget::time_left(PURGE_BUDGET)).await
    }

    /// [`Self::purge_expired`] within `budget`: at least one page, then pages while time is left.
    pub async fn purge_expired_within(&self, budget: std::time::Duration) -> Result<usize, EngineError> {
        let started = std::time::Instant::now();
        let days = self.rules.retention.closed_ticket_days;
        let mut total = 0;
        loop {
            let page = self.ports.tickets.purge_closed(days, self.now(), PURGE_PAGE).await?.len();
            total += page;
            if page < PURGE_PAGE {
                break;
            }
            if started.elapsed() >= budget {
                tracing::info!(purged = total, "purge: time budget spent; the next tick goes on");
                break;
            }
        }
        if total > 0 {
            tracing::info!(count = total, retention_days = days, "closed tickets purged");
        }
        Ok(total)
    }
}
