//! The clock: an EventBridge Scheduler schedule invokes this function every minute, as the local
//! server's timer does in-process (`sportello::server::run_clock`).
//!
//! For now the clock's work is the retention purge, `Engine::purge_expired`. When the engine
//! gains a single clock entry point (`clock_tick`: SLA warnings, escalation reminders, GDPR
//! deadlines, then the purge), this function calls that instead.
//!
//! Environment: as every function (`SPORTELLO_TABLE`, `SPORTELLO_STEP_QUEUE_URL`,
//! `SPORTELLO_STEP_DLQ_URL`, `SPORTELLO_RULES`, optional `AWS_ENDPOINT_URL`).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), sportello::lambda::Error> {
    sportello::lambda::init_tracing();
    let engine = sportello::lambda::engine_from_env().await?;
    let engine = &engine;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        // An error fails the invocation: the scheduler retries it, and the next tick runs anyway.
        let purged = engine.purge_expired().await?;
        tracing::info!(purged, "clock tick");
        Ok::<Value, sportello::lambda::Error>(json!({ "purged": purged }))
    }))
    .await
}
