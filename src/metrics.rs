//! What Sportello counts, as CloudWatch metrics in the embedded metric format (EMF): each count is
//! a tracing event on target [`TARGET`], which the JSON log writes as a log line CloudWatch
//! reads metrics from (no API call; see `logging`). Dimensions are the event's own fields, never
//! personal data and never ids: a channel, a type, a target, a deadline, a step.
//!
//! | metric | unit | dimensions |
//! |---|---|---|
//! | `Contacts` | Count | channel |
//! | `TicketsEnded` | Count | ticket_type, outcome |
//! | `Escalations` | Count | target |
//! | `SlaWarnings`, `SlaBreaches` | Count | deadline |
//! | `GdprDeadlinesAtRisk` | Count | deadline |
//! | `StepRetries`, `StepDeadLetters` | Count | step |
//! | `AnswersUndelivered` | Count | channel |

/// The target of metric events; the JSON log writes them as EMF blocks.
pub const TARGET: &str = "sportello::metrics";
/// The CloudWatch namespace, unless `SPORTELLO_METRICS_NAMESPACE` names another.
pub const DEFAULT_NAMESPACE: &str = "Sportello";

/// A contact opened a ticket on `channel` (the channel kind: voice, chat, email, api).
pub fn contact(channel: &str) {
    tracing::info!(target: TARGET, metric = "Contacts", unit = "Count", value = 1u64, channel);
}

/// A ticket reached an end: `outcome` is its state (resolved, auto_resolved, auto_closed...).
pub fn ticket_ended(ticket_type: Option<&str>, outcome: &str) {
    let ticket_type = ticket_type.unwrap_or("none");
    tracing::info!(target: TARGET, metric = "TicketsEnded", unit = "Count", value = 1u64, ticket_type, outcome);
}

/// A ticket was escalated to `target`.
pub fn escalation(target: &str) {
    tracing::info!(target: TARGET, metric = "Escalations", unit = "Count", value = 1u64, target);
}

/// A deadline's warning or breach was stamped. GDPR deadlines warned of are "at risk".
pub fn deadline(deadline: &str, breached: bool) {
    let metric = match (breached, deadline.starts_with("gdpr")) {
        (true, _) => "SlaBreaches",
        (false, true) => "GdprDeadlinesAtRisk",
        (false, false) => "SlaWarnings",
    };
    tracing::info!(target: TARGET, metric, unit = "Count", value = 1u64, deadline);
}

/// A step failed and goes back on its queue for another attempt.
pub fn step_retry(step: &str) {
    tracing::info!(target: TARGET, metric = "StepRetries", unit = "Count", value = 1u64, step);
}

/// A step message went to the dead letters.
pub fn step_dead_letter(step: &str) {
    tracing::info!(target: TARGET, metric = "StepDeadLetters", unit = "Count", value = 1u64, step);
}

/// An operator's answer could not reach the requester on `channel`.
pub fn answer_undelivered(channel: &str) {
    tracing::info!(target: TARGET, metric = "AnswersUndelivered", unit = "Count", value = 1u64, channel);
}
