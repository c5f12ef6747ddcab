//! The notices function's batches: the SQS fixture on the embedded store, then real SQS and
//! DynamoDB on moto with the dead-letter queue the function moves refused notices to.

use crate::support::app::TestApp;
use crate::support::backend::Backend;
use crate::support::backend::aws::MotoBackend;
use serde_json::{Value, json};
use sportello::adapters::aws::lambda::{SqsBatchResponse, SqsEvent};
use sportello::adapters::aws::reply_queue::{NoticeDeadLetters, handle_notice_batch};
use sportello::domain::{Actor, ActorRole, EventKind, Ticket, TicketState, TicketType};
use sportello::engine::{Engine, EscalationSettings, NewContact};
use std::collections::BTreeMap;

const GOOD: &str = "1b6f0c2e-4d3a-4e8b-9c7d-0a1b2c3d4e51";
const WRONG_TARGET: &str = "2c7a1d3f-5e4b-4f9c-8d6e-1b2c3d4e5f62";
const BAD_JSON: &str = "3d8b2e4a-6f5c-4a0d-9e7f-2c3d4e5f6a73";

fn fixture(ticket: &Ticket, escalation_id: &str) -> SqsEvent {
    let text = crate::support::fixture_text("events/sqs-notices-batch.json")
        .replace("@REFERENCE@", ticket.reference.as_str())
        .replace("@ESCALATION_ID@", escalation_id);
    serde_json::from_str(&text).unwrap()
}

fn failures(r: &SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = r.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    ids.sort();
    ids
}

fn operator() -> Actor {
    Actor { id: "op-1".into(), role: ActorRole::Operator }
}

/// A specialist request taken in charge by op-1 and escalated to the specialists' queue.
async fn escalated(engine: &Engine, settings: &EscalationSettings) -> (Ticket, String) {
    let mut fields = BTreeMap::new();
    fields.insert("notice_code".to_string(), "302001234567890123".to_string());
    let contact = NewContact {
        channel: "email".into(),
        idempotency_key: "mail-notices".into(),
        category: Some("specialist_support".into()),
        message: Some("Avviso pagato due volte.".into()),
        fields,
        ..NewContact::default()
    };
    let id = engine.open(contact).await.unwrap().ticket.id;
    engine.triage(&id).await.unwrap();
    engine.take_in_charge(&id, &operator()).await.unwrap();
    engine.classify(&id, &operator(), TicketType::A).await.unwrap();
    let e = engine.escalate(&id, &operator(), "pagopa_specialists", "Verificare", settings).await.unwrap();
    (e.ticket, e.message.escalation_id)
}

#[tokio::test]
async fn without_a_dead_letter_queue_refused_notices_are_reported_failed() {
    let app = TestApp::at("2026-12-02T10:00:00+01:00");
    let engine = app.engine.clone();
    let (ticket, escalation_id) = escalated(&engine, &EscalationSettings::default()).await;

    let response = handle_notice_batch(&engine, fixture(&ticket, &escalation_id), None).await;
    assert_eq!(failures(&response), [WRONG_TARGET, BAD_JSON], "left for the redrive policy");
    assert!(!failures(&response).contains(&GOOD.to_string()));
    let t = engine.ticket(&ticket.id).await.unwrap();
    assert_eq!((t.state, t.assignee.as_deref()), (TicketState::InProgress, Some("op-1")));

    // Redelivered: the good notice changes nothing, the others fail again.
    let again = handle_notice_batch(&engine, fixture(&ticket, &escalation_id), None).await;
    assert_eq!(failures(&again), [WRONG_TARGET, BAD_JSON]);
    assert_eq!(engine.ticket(&ticket.id).await.unwrap().version, t.version);
}

#[tokio::test]
async fn on_moto_refused_notices_go_to_the_dead_letter_queue_at_once() {
    let moto = MotoBackend::new().await;
    let sqs = moto.sqs();
    let (specialists, _) = moto.queue_with_dlq("specialists", 3).await;
    let (replies, replies_dlq) = moto.queue_with_dlq("notices", 5).await;
    let engine = TestApp::builder().at("2026-12-02T10:00:00+01:00").engine_on(moto.store());
    let settings = EscalationSettings {
        queue_urls: BTreeMap::from([("sportello-escalations-pagopa-specialists".to_string(), specialists.clone())]),
        reply_queue: Some(replies.clone()),
        ..EscalationSettings::default()
    };
    let (ticket, escalation_id) = escalated(&engine, &settings).await;

    // The target reads the escalation from its queue and answers on the reply queue it names.
    let got = sqs.receive_message().queue_url(&specialists).send().await.unwrap().messages.unwrap_or_default();
    let escalation: Value = serde_json::from_str(got[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(escalation["reply_to"], replies.as_str());
    assert_eq!(escalation["escalation_id"], escalation_id.as_str());
    for record in fixture(&ticket, &escalation_id).records {
        sqs.send_message().queue_url(&replies).message_body(record.body.unwrap()).send().await.unwrap();
    }

    // What Lambda would hand the function.
    let mut records = Vec::new();
    while records.len() < 3 {
        let batch = sqs.receive_message().queue_url(&replies).max_number_of_messages(10).send().await.unwrap();
        records.extend(batch.messages.unwrap_or_default().iter().map(crate::support::sqs::record));
    }
    let event: SqsEvent = serde_json::from_value(json!({"Records": records})).unwrap();
    let dlq = NoticeDeadLetters { sqs: sqs.clone(), url: replies_dlq.clone() };
    let response = handle_notice_batch(&engine, event, Some(&dlq)).await;
    assert!(failures(&response).is_empty(), "moved, so not retried: {:?}", failures(&response));

    let t = engine.ticket(&ticket.id).await.unwrap();
    assert_eq!((t.state, t.assignee.as_deref()), (TicketState::InProgress, Some("op-1")));
    let events = engine.ports.events.list(&t.id).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == EventKind::NoticeReceived).count(), 1);

    let dead = crate::support::sqs::receive(&sqs, &replies_dlq).await;
    assert_eq!(dead.len(), 2);
    let mut reasons: Vec<String> = dead
        .iter()
        .map(|m| m.message_attributes.as_ref().unwrap()["sportello.refused"].string_value.clone().unwrap())
        .collect();
    reasons.sort();
    assert!(reasons[0].starts_with("/target: escalation"), "{reasons:?}");
    assert!(reasons[0].ends_with("was not sent to third_parties"), "{reasons:?}");
    assert!(reasons[1].starts_with("the message is not JSON"), "{reasons:?}");
    assert!(dead.iter().any(|m| m.body.as_deref().unwrap().contains("truncated")), "kept whole");
}
