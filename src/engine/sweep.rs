//! The sweep: what a crash, a lost queue message or an expired lease left undone, found and done.
//!
//! The clock runs it every tick (the local server's timer, the clock Lambda on AWS), and the local
//! server once at start-up. It looks for two things older than a grace period (so that it never
//! races a step that is merely on its way):
//! - steps an intake stored with its ticket and never published (the store's outbox: a crash
//!   between the DynamoDB transaction and the SQS publish): published now;
//! - tickets still waiting for triage (`new`, in [`TRIAGE_TEAM`]): their triage message was lost
//!   or dead-lettered, or its worker died: triaged now, by the sweep itself. A chat still talking
//!   with the bot is not looked at: its next step is the user's.
//!
//! Both are idempotent: a step published twice runs its effect once (its deduplication id, the
//! ticket's version check), and triage does nothing to a triaged ticket.

use super::triage::TRIAGE_TEAM;
use super::{Engine, EngineError};
use crate::domain::TicketState;
use serde::Serialize;
use std::time::Duration;

/// How old a pending step or an untriaged ticket must be before the sweep takes it over. Triage
/// normally runs within a second of intake; two minutes covers a queue backlog and the queue's
/// own retries, and with a one-minute clock nothing waits more than about three.
pub const SWEEP_GRACE: Duration = Duration::from_secs(120);
/// The most outbox items, and untriaged tickets per team, one sweep takes on (oldest first); the
/// next sweep takes the rest.
pub const SWEEP_LIMIT: usize = 500;

/// What one sweep did. Counts only: no ids, no personal data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Intake steps found in the outbox and published.
    pub published: usize,
    /// Tickets found untriaged and triaged.
    pub triaged: usize,
    /// Steps or tickets that failed again (logged); the next sweep tries them again.
    pub failed: usize,
}

impl SweepReport {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Engine {
    /// Finds and finishes what was left undone more than `grace` ago. `Duration::ZERO` takes
    /// everything: a server starting up has nothing of its own in flight yet.
    pub async fn sweep(&self, grace: Duration) -> Result<SweepReport, EngineError> {
        let cutoff = self.now().checked_sub(grace).unwrap_or(jiff::Timestamp::MIN);
        let mut report = SweepReport::default();
        for item in self.ports.tickets.outbox_pending(cutoff, SWEEP_LIMIT).await? {
            match self.publish_outbox(std::slice::from_ref(&item)).await {
                Ok(()) => {
                    report.published += 1;
                    tracing::info!(ticket = %item.ticket, step = %item.step.step, "sweep: published a step intake left behind");
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(ticket = %item.ticket, step = %item.step.step, error = %e, "sweep: step still unpublished");
                }
            }
        }
        // Where tickets wait for triage; then the operators' teams, where tickets opened before
        // that place existed waited.
        let teams = std::iter::once(TRIAGE_TEAM).chain(self.rules.teams.keys().map(|k| k.as_str()));
        for team in teams {
            let waiting = self.ports.tickets.work_queue(team, TicketState::New, SWEEP_LIMIT).await?;
            for ticket in waiting.into_iter().filter(|t| t.triaged_at.is_none() && t.updated_at <= cutoff) {
                match self.triage(&ticket.id).await {
                    Ok(_) => {
                        report.triaged += 1;
                        tracing::info!(ticket = %ticket.id, reference = %ticket.reference, "sweep: triaged a ticket whose triage never ran");
                    }
                    Err(e) => {
                        report.failed += 1;
                        tracing::warn!(ticket = %ticket.id, reference = %ticket.reference, error = %e, "sweep: triage failed again");
                    }
                }
            }
        }
        if !report.is_empty() {
            tracing::info!(
                published = report.published,
                triaged = report.triaged,
                failed = report.failed,
                "sweep: finished what was left undone"
            );
        }
        Ok(report)
    }
}
