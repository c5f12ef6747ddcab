//! The Lambda side of a step queue: one bad message never fails its batch, and a redelivered
//! message (same deduplication id) runs once. Uses a real SQS event as Lambda delivers it.

use crate::support::backend::Backend;
use crate::support::backend::embedded::EmbeddedBackend;
use sportello::adapters::aws::lambda::{BatchSettings, SqsEvent, handle_batch, step_message};
use std::sync::Mutex;

const EVENT: &str = include_str!("../../fixtures/sqs-step-batch.json");

#[tokio::test]
async fn failures_are_reported_per_message_and_redeliveries_skipped() {
    let backend = EmbeddedBackend::new().await;
    let idempotency = backend.ports().idempotency;
    let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
    let handled = Mutex::new(Vec::new());
    let handler = |m: sportello::ports::StepMessage| {
        let handled = &handled;
        async move {
            if m.body["fail"] == true {
                return Err("the ticket is locked");
            }
            handled.lock().unwrap().push((m.step, m.dedup_id, m.attributes.get("reference").cloned()));
            Ok(())
        }
    };
    let response = handle_batch(event.clone(), idempotency.as_ref(), BatchSettings::default(), handler).await;

    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(
        failed,
        ["22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"],
        "the failing handler and the unreadable body, nothing else"
    );
    assert_eq!(
        handled.lock().unwrap().as_slice(),
        [("triage".to_string(), "triage-0001".to_string(), Some("SP-7K3Q9XWD".to_string()))],
        "the fourth record repeats the first and is skipped"
    );
    // The shape Lambda reads back.
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], "22222222-2222-4222-8222-222222222222");

    // Lambda retries the failed ones: the one that failed in the handler runs now.
    let retried = handle_batch(event, idempotency.as_ref(), BatchSettings::default(), |m| {
        let handled = &handled;
        async move {
            handled.lock().unwrap().push((m.step, m.dedup_id, None));
            Ok::<(), String>(())
        }
    })
    .await;
    let failed: Vec<_> = retried.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["33333333-3333-4333-8333-333333333333"]);
    let dedups: Vec<_> = handled.lock().unwrap().iter().map(|h| h.1.clone()).collect();
    assert_eq!(dedups, ["triage-0001", "triage-0002"]);
}

#[test]
fn records_without_the_step_attributes_are_refused() {
    let mut event: SqsEvent = serde_json::from_str(EVENT).unwrap();
    let mut record = event.records.remove(0);
    assert!(step_message(&record).is_ok());
    record.message_attributes.remove("sportello.dedup_id");
    assert_eq!(step_message(&record).unwrap_err(), "no deduplication id attribute");
}

/// A step whose effect another worker is producing (`EngineError::Busy`) is given back to SQS
/// like a failure, so it comes back after the visibility timeout and finds the work done.
#[tokio::test]
async fn a_busy_step_is_given_back_for_later() {
    use sportello::adapters::aws::lambda::handle_batch_idempotent;
    use sportello::engine::EngineError;
    let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
    let response = handle_batch_idempotent(event, |m| async move {
        if m.body["fail"] == true {
            return Err(EngineError::Busy("being delivered by another worker".into()));
        }
        Ok(())
    })
    .await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"]);
}
