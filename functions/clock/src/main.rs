//! The clock: an EventBridge Scheduler schedule invokes this function every minute, as the local
//! server's timer does in-process (`sportello::server::run_clock`).
//!
//! Each invocation is one `Engine::clock_tick`: SLA and GDPR deadline warnings and breaches (a
//! stamp, an event and a mail to the team's `notify` mailboxes), reminders to escalation targets
//! whose resolution notice is overdue, the sweep (intake steps left unpublished in the outbox,
//! tickets whose triage never ran), then the retention purge. It answers the tick's report, e.g.
//! `{"scanned": 40, "warned": 1, ..., "sweep": {"published": 0, "triaged": 0, "failed": 0}}`.
//! A tick is idempotent: an overlapping or retried one sends and stamps nothing twice.
//!
//! Environment: as every function (`SPORTELLO_TABLE`, `SPORTELLO_STEP_QUEUE_URL`,
//! `SPORTELLO_STEP_DLQ_URL`, `SPORTELLO_RULES`, optional `AWS_ENDPOINT_URL`), plus the escalation
//! settings the reminders and notifications use (`SPORTELLO_ESCALATION_FROM`,
//! `SPORTELLO_REPLY_QUEUE`, `SPORTELLO_REPLY_EMAIL`, `SPORTELLO_QUEUE_URL_<NAME>`).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use sportello::engine::EscalationSettings;

#[tokio::main]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::init_tracing();
    let engine = sportello::lambda::engine_from_env().await?;
    let settings = EscalationSettings::from_env(&engine.rules);
    let (engine, settings) = (&engine, &settings);
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        // An error fails the invocation: the scheduler retries it, and the next tick runs anyway.
        let report = engine.clock_tick(settings).await?;
        tracing::info!(
            scanned = report.scanned,
            warned = report.warned,
            breached = report.breached,
            reminded = report.reminded,
            purged = report.purged,
            failed = report.failed,
            "clock tick"
        );
        Ok::<Value, sportello::lambda::Error>(serde_json::to_value(report)?)
    }))
    .await
}
