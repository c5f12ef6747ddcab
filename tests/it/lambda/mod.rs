//! The Lambda side of the channels: real-shaped events (API Gateway HTTP API, Amazon Connect,
//! SQS) fed to the routers and handlers the functions run, on the embedded store and on moto;
//! a function's init on moto (`init`).

mod chat;
mod init;
mod notices;
mod sqs_batch;
#[cfg(feature = "aws")]
mod trace;

use crate::support::app::TestApp;
use crate::support::backend::Backend;
use crate::support::backend::aws::MotoBackend;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use sportello::adapters::aws::lambda::SqsEvent;
use sportello::domain::TicketState;
use sportello::engine::{Engine, NewContact};
use sportello::http::auth::Authenticator;
use sportello::http::{AppState, api, voice};
use sportello::lambda::{handle_steps, voice_event};
use tower::ServiceExt;

fn fixture(name: &str) -> String {
    crate::support::fixture_text(&format!("events/{name}"))
}

/// Sends an API Gateway HTTP API event through a router as `lambda_http` would.
async fn invoke(app: &axum::Router<AppState>, state: &AppState, event: &str) -> (u16, Value) {
    let request = lambda_http::request::from_str(event).expect("an API Gateway event");
    let response = app.clone().with_state(state.clone()).oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The voice routes as the function serves them behind the HTTP API's IAM authorizer: the
/// telephony platform's role is the `voice` client (`SPORTELLO_IAM_CLIENTS`).
fn telephony() -> axum::Router<AppState> {
    let role = "arn:aws:sts::123456789012:assumed-role/telephony-platform/telephony";
    voice::router_with(Authenticator::from_vars(&|_: &str| Some(format!("{role}=voice"))).expect("IAM clients"))
}

/// The engine the functions run, on the embedded store.
fn embedded() -> (TestApp, AppState) {
    let app = TestApp::at("2026-12-02T10:00:00+01:00");
    let state = AppState { engine: app.engine.clone() };
    (app, state)
}

#[tokio::test]
async fn api_gateway_events_reach_the_routers_with_the_authorizer_client() {
    let (test, state) = embedded();
    // No key file at all: on AWS the authorizer names the client.
    let app = api::router_with(Authenticator::api_keys(test.dir.path().join("none.json")));

    let (status, created) = invoke(&app, &state, &fixture("apigw-v2-create-ticket.json")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["category"], "malfunction");
    let (status, replay) = invoke(&app, &state, &fixture("apigw-v2-create-ticket.json")).await;
    assert_eq!((status, &replay), (200, &created));

    let (status, problem) = invoke(&app, &state, &fixture("apigw-v2-create-ticket-bad-notice.json")).await;
    assert_eq!(status, 422);
    assert_eq!(problem["field"], "/fields/notice_code");
    let (status, problem) = invoke(&app, &state, &fixture("apigw-v2-create-ticket-no-client.json")).await;
    assert_eq!((status, problem["detail"].as_str()), (401, Some("the authorizer named no client")));
    let (status, _) = invoke(&app, &state, &fixture("apigw-v2-ticket-status-unknown.json")).await;
    assert_eq!(status, 404);

    // The status of the ticket just opened, for its client and for no other.
    let reference = created["reference"].as_str().unwrap();
    let get = fixture("apigw-v2-ticket-status-unknown.json").replace("SP-7K3Q9XWD", reference);
    let (status, body) = invoke(&app, &state, &get).await;
    assert_eq!((status, body["reference"].as_str()), (200, Some(reference)));
    let other = get.replace("\"client_id\": \"io\"", "\"client_id\": \"checkout\"");
    assert_ne!(other, get);
    assert_eq!(invoke(&app, &state, &other).await.0, 404);
    // Inside Lambda only the authorizer counts: a key in a header does not replace it.
    let forged = fixture("apigw-v2-create-ticket-no-client.json").replace(
        "\"accept\": \"application/json\"",
        "\"accept\": \"application/json\", \"authorization\": \"Bearer spk_x\"",
    );
    assert_eq!(invoke(&app, &state, &forged).await.0, 401);

    let (status, answer) = invoke(&telephony(), &state, &fixture("apigw-v2-voice-call.json")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["open"], true);
    // An IAM principal that is not the telephony platform's opens no call; a client app neither.
    let stranger = fixture("apigw-v2-voice-call-unknown-principal.json");
    assert_eq!(invoke(&telephony(), &state, &stranger).await.0, 401);
    let role = "arn:aws:sts::123456789012:assumed-role/telephony-platform/telephony";
    let app_client = voice::router_with(Authenticator::from_vars(&|_: &str| Some(format!("{role}=io"))).unwrap());
    assert_eq!(invoke(&app_client, &state, &fixture("apigw-v2-voice-call.json")).await.0, 403);
}

#[tokio::test]
async fn the_voice_function_answers_connect_and_http_events() {
    let (_test, state) = embedded();
    let app = telephony().with_state(state.clone());
    let connect: Value = serde_json::from_str(&fixture("connect-contact-flow.json")).unwrap();
    let answer =
        voice_event(&state.engine, app.clone(), LambdaEvent::new(connect.clone(), Context::default())).await.unwrap();
    assert_eq!(answer["open"], "true", "{answer}");
    assert!(answer["reference"].as_str().unwrap().starts_with("SP-"));
    let again =
        voice_event(&state.engine, app.clone(), LambdaEvent::new(connect.clone(), Context::default())).await.unwrap();
    assert_eq!(again, answer, "a retried invocation, the same answer");

    // A bad Connect event takes the flow's error branch (the invocation fails), saying why.
    let mut bad = connect;
    bad["Details"]["Parameters"]["language"] = json!("de");
    let err = voice_event(&state.engine, app.clone(), LambdaEvent::new(bad, Context::default())).await.unwrap_err();
    assert!(err.to_string().contains("/Details/Parameters/language"), "{err}");

    let http: Value = serde_json::from_str(&fixture("apigw-v2-voice-call.json")).unwrap();
    let response = voice_event(&state.engine, app.clone(), LambdaEvent::new(http, Context::default())).await.unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["call_id"], "c-20261126-101542-0001");

    let err = voice_event(&state.engine, app, LambdaEvent::new(json!({"hello": 1}), Context::default())).await;
    assert!(err.unwrap_err().to_string().contains("neither a Connect event nor an HTTP API event"));
}

/// The SQS fixture with its placeholders naming a real ticket.
fn triage_batch(engine_ticket: &sportello::domain::Ticket) -> SqsEvent {
    let text = fixture("sqs-triage-batch.json")
        .replace("@TICKET_ID@", engine_ticket.id.0.as_str())
        .replace("@REFERENCE@", engine_ticket.reference.as_str());
    serde_json::from_str(&text).unwrap()
}

fn failures(r: &sportello::adapters::aws::lambda::SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect()
}

const POISON: &str = "9c4e7f21-8a3b-4d6c-b5e0-7f1a2b3c4d5e";

/// A ticket waiting for its triage step, published: as intake stored one before it triaged
/// (intake triages now; a chat's handoff still queues its triage this way).
pub(super) async fn queued_triage(engine: &Engine, key: &str) -> sportello::domain::Ticket {
    use sportello::domain::{Actor, ChannelKind, Ticket};
    use sportello::ports::{NewTicket, StepMessage};
    let ticket = Ticket::new("email", ChannelKind::Email, sportello::engine::TRIAGE_TEAM, engine.now());
    let step = StepMessage::new(sportello::engine::TRIAGE, ticket.id.to_string(), json!({"ticket_id": ticket.id}))
        .with_attribute("ticket_id", ticket.id.to_string());
    let new = NewTicket { steps: vec![step], ..NewTicket::bare(key, &ticket, &Actor::system()) };
    let created = engine.ports.tickets.open(&new).await.unwrap();
    for item in &created.outbox {
        engine.ports.steps.publish(&item.step).await.unwrap();
    }
    engine.ports.tickets.outbox_done(&created.outbox).await.unwrap();
    created.ticket
}

async fn call(engine: &Engine, key: &str) -> sportello::domain::Ticket {
    let contact = NewContact { channel: "email".into(), idempotency_key: key.into(), ..NewContact::default() };
    engine.open(contact).await.unwrap().ticket
}

#[tokio::test]
async fn the_triage_function_reports_only_the_poison_message() {
    let (_test, state) = embedded();
    let engine = state.engine;
    let ticket = call(&engine, "mail-1").await;
    let response = handle_steps(&engine, triage_batch(&ticket)).await;
    assert_eq!(failures(&response), [POISON]);
    assert_eq!(serde_json::to_value(&response).unwrap()["batchItemFailures"][0]["itemIdentifier"], POISON);
    let t = engine.ticket(&ticket.id).await.unwrap();
    assert!(t.triaged_at.is_some());
    assert_eq!(t.category.as_deref(), Some("basic_info"));
    // Lambda redelivers the batch: the triage is not run twice, the poison fails again.
    let again = handle_steps(&engine, triage_batch(&ticket)).await;
    assert_eq!(failures(&again), [POISON]);
    assert_eq!(engine.ticket(&ticket.id).await.unwrap().version, t.version);
}

#[tokio::test]
async fn on_moto_a_published_step_is_received_and_triaged() {
    let moto = MotoBackend::new().await;
    let url = moto.steps.0.clone();
    let engine = TestApp::builder().at("2026-12-26T21:30:00+01:00").engine_on(moto.store());
    let state = AppState { engine: engine.clone() };

    // A ticket whose triage is queued on SQS.
    let ticket = queued_triage(&engine, "mail-night").await;

    // What SQS really delivers, in the shape Lambda hands it over.
    let received = crate::support::sqs::receive(&moto.sqs(), &url).await;
    assert_eq!(received.len(), 1, "one triage step queued");
    let m = &received[0];
    let mut event: Value = serde_json::from_str(&fixture("sqs-triage-batch.json")).unwrap();
    // The fixture's first record, carrying the message SQS delivered.
    let delivered = crate::support::sqs::record(m);
    for field in ["messageId", "receiptHandle", "body", "messageAttributes"] {
        event["Records"][0][field] = delivered[field].clone();
    }
    let event: SqsEvent = serde_json::from_value(event).unwrap();
    let response = handle_steps(&engine, event).await;
    assert_eq!(failures(&response), [POISON]);
    let t = engine.ticket(&ticket.id).await.unwrap();
    assert!(t.triaged_at.is_some(), "triaged in DynamoDB");
    assert_eq!(t.state, TicketState::New, "email waits for the operators");

    // The voice router on the same AWS ports: the call is not served, and recorded so.
    let (status, answer) = invoke(&telephony(), &state, &fixture("apigw-v2-voice-call.json")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["open"], false);
    let t = engine.ticket_by_reference(answer["reference"].as_str().unwrap()).await.unwrap();
    assert_eq!(t.state, TicketState::NotServed);
}
