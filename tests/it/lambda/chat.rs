//! The chat function: the sample API Gateway HTTP API events of `tests/fixtures/events/chat-*.json`
//! go through the Lambda adapter and the chat router, on an engine over SQLite: what `cargo lambda invoke`
//! would send reaches the right handler and gets the expected answer.

use crate::support::app::TestApp;
use axum::Router;
use lambda_http::lambda_runtime::LambdaEvent;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, Service};
use serde_json::Value;
use sportello::http::AppState;

const SAMPLE_REFERENCE: &str = "SP-7K3Q9XWD";
const SAMPLE_TOKEN: &str = "5f2c8e1a9b7d4c3e8f6a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e";

/// A fixture, with the sample reference and token replaced by a live session's.
fn fixture(name: &str, reference: &str, token: &str) -> Value {
    let text = crate::support::fixture_text(&format!("events/{name}"));
    serde_json::from_str(&text.replace(SAMPLE_REFERENCE, reference).replace(SAMPLE_TOKEN, token)).unwrap()
}

async fn invoke(app: &Router, event: Value) -> (u16, Value) {
    let request: LambdaRequest = serde_json::from_value(event).expect("an API Gateway HTTP API event");
    let mut adapter = Adapter::from(app.clone());
    let response = adapter.call(LambdaEvent::new(request, Context::default())).await.unwrap();
    let response = serde_json::to_value(response).unwrap();
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let body = serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap();
    (status, body)
}

#[tokio::test]
async fn the_sample_events_drive_a_chat_from_start_to_resolution() {
    let test = TestApp::at("2026-12-02T10:00:00+01:00");
    let engine = test.engine.clone();
    let app = sportello::http::chat::router().with_state(AppState { engine: engine.clone() });

    let (status, started) = invoke(&app, fixture("chat-start-session.json", "", "")).await;
    assert_eq!(status, 201, "{started}");
    let reference = started["reference"].as_str().unwrap().to_string();
    let token = started["token"].as_str().unwrap().to_string();
    let event = |name: &str| fixture(name, &reference, &token);

    let (status, body) = invoke(&app, event("chat-user-message-no-token.json")).await;
    assert_eq!((status, body["field"].as_str()), (401, Some("Authorization")), "{body}");
    let (status, body) = invoke(&app, event("chat-user-message.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messages"][1]["article"], "pay-pagopa-notice", "{body}");
    let (status, body) = invoke(&app, event("chat-poll-messages.json")).await;
    assert_eq!((status, body["next"].as_u64()), (200, Some(3)), "{body}");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1, "after=2: the bot's answer");
    let (status, body) = invoke(&app, event("chat-resolved.json")).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("auto_resolved")), "{body}");
    let (status, body) = invoke(&app, event("chat-request-operator.json")).await;
    assert_eq!(status, 409, "the chat is closed: {body}");
    let ticket = engine.ticket_by_reference(&reference).await.unwrap();
    assert_eq!(ticket.requester.fiscal_code.as_deref(), Some("RSSMRA85T10A562S"));
}

#[tokio::test]
async fn the_operator_sample_event_hands_off_in_hours() {
    let test = TestApp::at("2026-12-02T10:00:00+01:00");
    let app = sportello::http::chat::router().with_state(AppState { engine: test.engine.clone() });
    let (_, started) = invoke(&app, fixture("chat-start-session.json", "", "")).await;
    let (reference, token) = (started["reference"].as_str().unwrap(), started["token"].as_str().unwrap());
    let (status, body) = invoke(&app, fixture("chat-request-operator.json", reference, token)).await;
    assert_eq!((status, body["handed_off"].as_bool()), (200, Some(true)), "{body}");
}
