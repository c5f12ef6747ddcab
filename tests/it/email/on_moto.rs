//! The SES path against moto through the real SDK: an SQS batch of SNS-wrapped SES notifications
//! handled on DynamoDB, SQS and SES. Needs `scripts/test-env.sh` (moto in `.venv`).

use crate::support::app::TestApp;
use crate::support::backend::Backend;
use crate::support::backend::aws::MotoBackend;
use aws_sdk_dynamodb::types::AttributeValue;
use sportello::adapters::aws::email_inbound::handle_email_batch;
use sportello::adapters::aws::lambda::SqsEvent;
use sportello::domain::{EventKind, TicketState};
use sportello::engine::{Engine, TRIAGE_TEAM};
use sportello::ports::Claim;

const EVENT: &str = include_str!("../../fixtures/events/email-sqs-ses.json");

async fn engine_on_moto() -> (MotoBackend, Engine) {
    let moto = MotoBackend::new().await;
    moto.verify_domain("sportello.pagopa.it").await;
    let engine = TestApp::builder().at("2026-03-14T19:05:34+01:00").engine_on(moto.store());
    (moto, engine)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ses_batch_opens_one_ticket_acknowledged_through_ses_and_fails_only_the_poison() {
    let (moto, engine) = engine_on_moto().await;
    let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
    let poison = event.records[2].message_id.clone().unwrap();
    let response = handle_email_batch(&engine, event).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, [poison.as_str()]);

    // Triaged by its intake: in its team's queue, nothing waiting for triage.
    assert!(engine.ports.tickets.work_queue(TRIAGE_TEAM, TicketState::New, 10).await.unwrap().is_empty());
    let opened = new_tickets(&engine).await;
    assert_eq!(opened.len(), 1, "the clean message only; the infected one was rejected");
    assert!(opened[0].triaged_at.is_some());
    let events = engine.ports.events.list(&opened[0].id).await.unwrap();
    let ack = events.iter().find(|e| e.kind == EventKind::Message && e.detail["from"] == "sportello");
    let ack = ack.expect("the acknowledgement went out through SES");
    assert!(!ack.detail["transport_id"].as_str().unwrap().is_empty(), "SES gave it an id");

    // SQS redelivers the batch: nothing new is written or sent.
    let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
    assert_eq!(handle_email_batch(&engine, event).await.batch_item_failures.len(), 1);
    assert_eq!(new_tickets(&engine).await.len(), 1);
    assert_eq!(engine.ports.events.list(&opened[0].id).await.unwrap().len(), events.len());

    // The intake recorded its acknowledgement, then died before completing the claim, whose lease
    // ran out (the claim's record as such a crash leaves it): a redelivery takes the key, finds
    // the acknowledgement in the history, sends nothing.
    let key = format!("email-ack:{}", opened[0].id);
    let s = |v: &str| AttributeValue::S(v.into());
    aws_sdk_dynamodb::Client::new(&moto.config)
        .put_item()
        .table_name(&moto.table)
        .item("pk", s(&format!("S#{key}")))
        .item("sk", s("RECORD"))
        .item("status", s("INPROGRESS"))
        .item("until_ms", AttributeValue::N("0".into()))
        .item("claimed_by", s(&opened[0].id.0))
        .send()
        .await
        .unwrap();
    let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
    assert_eq!(handle_email_batch(&engine, event).await.batch_item_failures.len(), 1);
    assert_eq!(engine.ports.events.list(&opened[0].id).await.unwrap().len(), events.len(), "no second acknowledgement");
    let lease = std::time::Duration::from_secs(60);
    assert_eq!(engine.ports.idempotency.claim(&key, lease).await.unwrap(), Claim::Completed, "found done");
}

/// The new tickets of every team's queue.
async fn new_tickets(engine: &sportello::engine::Engine) -> Vec<sportello::domain::Ticket> {
    let mut found = Vec::new();
    for team in engine.rules.teams.keys() {
        found.extend(engine.ports.tickets.work_queue(team.as_str(), TicketState::New, 10).await.unwrap());
    }
    found
}
