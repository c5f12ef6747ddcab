//! The X-Ray trace through the step queue, on moto through the real SDK: a step message sent
//! during an invocation carries the invocation's trace header as the SQS system attribute
//! `AWSTraceHeader` (moto keeps it and hands it back on ReceiveMessage); the consumer runs the
//! record in that trace, so its log lines name it and the steps it sends on carry it further.

use crate::support::app::TestApp;
use crate::support::backend::Backend;
use crate::support::backend::aws::MotoBackend;
use serde_json::json;
use sportello::adapters::aws::SqsQueue;
use sportello::adapters::aws::lambda::{SqsEvent, handle_batch_idempotent};
use sportello::adapters::aws::trace;
use sportello::lambda::handle_steps;
use sportello::ports::StepMessage;
use sportello::ports::StepQueue;
use tracing::Instrument;

const SENDER: &str = "Root=1-6753a1b2-5e1d0c9a8b7f6e5d4c3b2a19;Parent=53995c3f42cd8ad8;Sampled=1";
/// The consumer's own invocation: another trace, which the record's replaces.
const CONSUMER: &str = "Root=1-6753a1c0-0f1e2d3c4b5a69788796a5b4;Parent=1111222233334444;Sampled=1";

fn header(m: &aws_sdk_sqs::types::Message) -> Option<String> {
    m.attributes.as_ref()?.get(&aws_sdk_sqs::types::MessageSystemAttributeName::AwsTraceHeader).cloned()
}

fn event(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    let records: Vec<_> = messages.iter().map(crate::support::sqs::record).collect();
    serde_json::from_value(json!({"Records": records})).unwrap()
}

#[tokio::test]
async fn a_step_message_carries_its_senders_trace_to_the_consumer_and_on() {
    let moto = MotoBackend::new().await;
    let url = moto.steps.0.clone();
    let engine = TestApp::builder().at("2026-12-02T10:00:00+01:00").engine_on(moto.store());

    // An invocation queues a ticket's triage (a chat's handoff does).
    let ticket = trace::within(Some(SENDER.into()), super::queued_triage(&engine, "trace-1")).await;
    let received = crate::support::sqs::receive(&moto.sqs(), &url).await;
    assert_eq!(received.len(), 1, "one triage step queued");
    assert_eq!(header(&received[0]).as_deref(), Some(SENDER), "SendMessage carried the trace; moto kept it");
    let message_id = received[0].message_id.clone().unwrap();

    // The triage function, in an invocation of its own, runs the record in the sender's trace.
    let logs = crate::support::logs::record();
    let invocation =
        tracing::info_span!(target: "lambda_runtime::layers::trace", "Lambda runtime invoke", xrayTraceId = CONSUMER);
    let response =
        trace::within(Some(CONSUMER.into()), handle_steps(&engine, event(&received)).instrument(invocation)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert!(engine.ticket(&ticket.id).await.unwrap().triaged_at.is_some());
    let text = logs.text();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(&message_id)).collect();
    assert!(!lines.is_empty(), "the consumer logged the message: {text}");
    for line in &lines {
        assert!(
            line.contains(&format!("xray_trace_id={SENDER}")),
            "the consumer's line names the sender's trace: {line}"
        );
    }

    // A step the consumer sends on stays in the sender's trace; one without a trace of its own
    // is sent in the invocation's.
    let (next_url, next_dlq) = moto.queue_with_dlq("traced", 3).await;
    let queue = std::sync::Arc::new(SqsQueue::new(
        moto.sqs(),
        aws_sdk_dynamodb::Client::new(&moto.config),
        moto.table.clone(),
        "traced",
        next_url.clone(),
        next_dlq,
        std::time::Duration::from_secs(300),
    ));
    let next = StepMessage::new("notify", "next-1", json!({}));
    let on = handle_batch_idempotent(event(&received), |_| {
        let (queue, next) = (queue.clone(), next.clone());
        async move { queue.publish(&next).await.map(|_| ()).map_err(sportello::engine::EngineError::from) }
    });
    assert!(trace::within(Some(CONSUMER.into()), on).await.batch_item_failures.is_empty());
    let mut untraced = received[0].clone();
    untraced.attributes = None;
    let later = StepMessage::new("notify", "next-2", json!({}));
    let on = handle_batch_idempotent(event(&[untraced]), |_| {
        let (queue, later) = (queue.clone(), later.clone());
        async move { queue.publish(&later).await.map(|_| ()).map_err(sportello::engine::EngineError::from) }
    });
    assert!(trace::within(Some(CONSUMER.into()), on).await.batch_item_failures.is_empty());
    let traces: Vec<(Option<String>, Option<String>)> = crate::support::sqs::receive(&moto.sqs(), &next_url)
        .await
        .iter()
        .map(|m| {
            let dedup = m.message_attributes.as_ref().and_then(|a| a.get("sportello.dedup_id")?.string_value.clone());
            (dedup, header(m))
        })
        .collect();
    assert_eq!(traces.len(), 2, "{traces:?}");
    assert!(traces.contains(&(Some("next-1".into()), Some(SENDER.into()))), "{traces:?}");
    assert!(traces.contains(&(Some("next-2".into()), Some(CONSUMER.into()))), "{traces:?}");
}
