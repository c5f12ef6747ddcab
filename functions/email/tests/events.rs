//! The email functions fed the events AWS sends them (fixtures in the root `tests/fixtures/events`),
//! over the embedded store: API Gateway v2 requests through lambda_http's own conversion, and an
//! SQS batch of SNS-wrapped SES notifications with one poison message.

use lambda_http::request::LambdaRequest;
use sportello::adapters::aws::email_inbound::handle_email_batch;
use sportello::adapters::aws::lambda::SqsEvent;
use sportello::adapters::embedded::Db;
use sportello::app::AppBuilder;
use sportello::domain::TicketState;
use sportello::engine::Engine;
use sportello::http::email::MailToken;
use sportello::rules::Rules;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn engine(dir: &Path) -> Engine {
    let rules = Rules::load(&root().join("rules")).expect("default rulebook");
    let db = Db::open(dir.join("sportello.db")).unwrap();
    let now: jiff::Timestamp = "2026-03-14T19:05:34+01:00".parse().unwrap();
    AppBuilder::new(Arc::new(rules), sportello::adapters::embedded::ports(&db)).clock(Arc::new(move || now)).engine()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/events").join(name)).unwrap()
}

async fn tickets(engine: &Engine) -> usize {
    // Waiting for triage, or triaged into the operators' queue.
    let mut n = 0;
    for team in [sportello::engine::TRIAGE_TEAM, "first_level"] {
        n += engine.ports.tickets.work_queue(team, TicketState::New, 100).await.unwrap().len();
    }
    n
}

async fn call(engine: &Engine, event: &str) -> (u16, serde_json::Value) {
    let request: LambdaRequest = serde_json::from_str(event).expect("an API Gateway v2 event");
    let request: lambda_http::Request = request.into();
    let app = sportello_email::app(engine.clone(), MailToken::for_secret("test-mail-gateway-secret"));
    let response = app.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn api_gateway_events_reach_the_inbound_route() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let (status, body) = call(&engine, &fixture("apigw-v2-email-inbound.json")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["action"], "opened");
    assert_eq!(body["acknowledgement"]["status"], "sent");
    let (status, body) = call(&engine, &fixture("apigw-v2-email-inbound.json")).await;
    assert_eq!((status, body["replayed"].as_bool()), (202, Some(true)), "a retried request: same ticket");

    let (status, body) = call(&engine, &fixture("apigw-v2-email-inbound-json.json")).await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["field"], "Content-Type");
    assert_eq!(tickets(&engine).await, 1);
}

#[tokio::test]
async fn one_poison_message_fails_alone_and_a_virus_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let event: SqsEvent = serde_json::from_str(&fixture("email-sqs-ses.json")).unwrap();
    let ids: Vec<String> = event.records.iter().map(|r| r.message_id.clone().unwrap()).collect();
    let response = handle_email_batch(&engine, event).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, [ids[2].as_str()], "only the record that is not JSON");
    assert_eq!(tickets(&engine).await, 1, "the clean message opened a ticket, the infected one nothing");

    // The queue redelivers the whole batch: nothing new, the poison still fails alone.
    let event: SqsEvent = serde_json::from_str(&fixture("email-sqs-ses.json")).unwrap();
    let response = handle_email_batch(&engine, event).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(tickets(&engine).await, 1);
}
