//! The consumer side of a step queue in Lambda: the event source mapping hands a batch of SQS
//! records; each runs once (an idempotency record per message absorbs redeliveries, or, for
//! handlers idempotent by themselves, the handler does), and failures are reported per message
//! (`ReportBatchItemFailures`), so one bad message never fails its batch.

use super::trace;
use crate::ports::step_queue::{DEDUP_ATTRIBUTE, STEP_ATTRIBUTE};
use crate::ports::{IdempotencyStore, RunOnce, RunOnceError, StepError, StepMessage, run_once};
pub use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;
use tracing::Instrument;

/// How long a handler may hold a message's idempotency record, and how long a completed one is
/// remembered. The lease should exceed the function timeout; the window, the queue's retention.
#[derive(Debug, Clone, Copy)]
pub struct BatchSettings {
    pub lease: Duration,
    pub keep_for: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self { lease: Duration::from_secs(15 * 60), keep_for: Duration::from_secs(4 * 86_400) }
    }
}

/// Reads a step message out of an SQS record, as [`super::SqsQueue`] published it.
pub fn step_message(record: &SqsMessage) -> Result<StepMessage, String> {
    let mut attributes = BTreeMap::new();
    let (mut step, mut dedup_id) = (None, None);
    for (name, value) in &record.message_attributes {
        let Some(v) = value.string_value.clone() else {
            continue;
        };
        match name.as_str() {
            STEP_ATTRIBUTE => step = Some(v),
            DEDUP_ATTRIBUTE => dedup_id = Some(v),
            _ => {
                attributes.insert(name.clone(), v);
            }
        }
    }
    let body = record.body.as_deref().ok_or("no body")?;
    let body = serde_json::from_str(body)
        .map_err(|e| format!("body is not JSON (line {}, column {})", e.line(), e.column()))?;
    Ok(StepMessage {
        step: step.ok_or("no step attribute")?,
        dedup_id: dedup_id.ok_or("no deduplication id attribute")?,
        body,
        attributes,
    })
}

/// Parses each record and hands it to `run`, which says whether it was handled; records that do
/// not parse or were not handled are reported as failures, one by one.
async fn each_record<F, Fut>(event: SqsEvent, run: F) -> SqsBatchResponse
where
    F: Fn(String, StepMessage) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        // The record runs in the trace its sender queued it in (SQS's `AWSTraceHeader`), so
        // its log lines name that trace and the steps it sends on stay in it.
        let sent_in = record.attributes.get(trace::SQS_ATTRIBUTE).filter(|h| trace::is_trace_header(h)).cloned();
        let span = match &sent_in {
            Some(header) => {
                tracing::info_span!(target: crate::logging::SPAN_TARGET, "queued message", xray_trace_id = %header)
            }
            None => tracing::Span::none(),
        };
        let handled = async {
            match step_message(&record) {
                Ok(message) => run(message_id.clone(), message).await,
                Err(why) => {
                    // Retried until the redrive policy moves it, whole, to the dead-letter queue.
                    tracing::warn!(message_id = %message_id, why, "unreadable step message");
                    crate::metrics::step_retry("unreadable");
                    false
                }
            }
        };
        let trace = sent_in.or_else(trace::current);
        if !trace::within(trace, handled.instrument(span)).await {
            response.add_failure(message_id);
        }
    }
    response
}

/// Like [`handle_batch`], for handlers that are idempotent themselves (every step of the
/// engine is: see `engine::steps`): no idempotency record per message, which saves its two
/// writes on every step; a redelivered message runs the handler again, and it finds its work
/// done (a version-checked update already made, its own `run_once` record).
pub async fn handle_batch_idempotent<F, Fut, E>(event: SqsEvent, handler: F) -> SqsBatchResponse
where
    F: Fn(StepMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: StepError,
{
    each_record(event, |message_id, message| {
        let step = message.step.clone();
        let handled = handler(message);
        async move {
            match handled.await {
                Ok(()) => {
                    tracing::debug!(message_id = %message_id, step, "step handled");
                    true
                }
                // Reported as not handled, so SQS gives it back after the visibility timeout,
                // when it finds the work done.
                Err(e) if e.is_busy() => {
                    tracing::debug!(message_id = %message_id, step, why = %e, "step deferred: running elsewhere");
                    false
                }
                Err(e) => {
                    tracing::warn!(message_id = %message_id, step, error = %e, "step failed");
                    crate::metrics::step_retry(&step);
                    false
                }
            }
        }
    })
    .await
}

/// Runs `handler` once per record and answers which records failed.
pub async fn handle_batch<F, Fut, E>(
    event: SqsEvent,
    idempotency: &dyn IdempotencyStore,
    settings: BatchSettings,
    handler: F,
) -> SqsBatchResponse
where
    F: Fn(StepMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let handler = &handler;
    each_record(event, |message_id, message| async move {
        let key = message.idempotency_key();
        let step = message.step.clone();
        match run_once(idempotency, &key, settings.lease, settings.keep_for, || handler(message)).await {
            Ok(RunOnce::Ran(())) => {
                tracing::debug!(message_id = %message_id, step, "step handled");
                true
            }
            Ok(RunOnce::AlreadyDone) => {
                tracing::info!(message_id = %message_id, step, "redelivered step skipped");
                true
            }
            Ok(RunOnce::InProgress) => {
                tracing::info!(message_id = %message_id, step, "step busy elsewhere; retry later");
                false
            }
            Err(RunOnceError::Handler(e)) => {
                tracing::warn!(message_id = %message_id, step, error = %e, "step failed");
                false
            }
            Err(RunOnceError::Store(e)) => {
                tracing::warn!(message_id = %message_id, step, error = %e, "idempotency store failed");
                false
            }
        }
    })
    .await
}
