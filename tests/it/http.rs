//! What every endpoint shares: problem+json for unknown routes and methods, /health, and the
//! telephony platform's key on the voice routes.

use crate::support::app::TestApp;
use crate::support::http::request;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

async fn call(app: &TestApp, method: &str, uri: &str) -> (StatusCode, String, String) {
    let reply = app.send(Request::builder().method(method).uri(uri).body(Body::empty()).unwrap()).await;
    (reply.status, reply.content_type().to_string(), reply.text)
}

#[tokio::test]
async fn health_answers_and_unknown_routes_are_problems() {
    let app = TestApp::new();
    let (status, _, body) = call(&app, "GET", "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#""status":"ok""#), "{body}");

    let (status, content_type, body) = call(&app, "GET", "/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "application/problem+json");
    assert!(body.contains("no endpoint GET /nowhere"), "{body}");

    let (status, content_type, body) = call(&app, "DELETE", "/health").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(content_type, "application/problem+json");
    assert!(body.contains("/health does not take DELETE"), "{body}");
}

async fn post(app: &TestApp, uri: &str, key: Option<&str>, body: &str) -> (StatusCode, String) {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth));
    }
    let reply = app.send(request(Method::POST, uri, &headers, body.to_string())).await;
    (reply.status, reply.text)
}

/// The telephony platform is a client like the others: no key, no ticket. A client app's key
/// does not open calls; the voice channel's does.
#[tokio::test]
async fn voice_calls_need_the_telephony_platforms_key() {
    let app = TestApp::new();
    let io_key = app.client_key("io");
    let voice_key = app.client_key("voice");
    let call = r#"{"call_id": "CA-0001", "caller": "+390612345678", "menu": "1"}"#;
    let connect = include_str!("../fixtures/events/connect-contact-flow.json");
    for (uri, body) in [("/voice/calls", call), ("/voice/connect", connect)] {
        let (status, text) = post(&app, uri, None, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {text}");
        let (status, text) = post(&app, uri, Some("spk_forged"), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {text}");
        let (status, text) = post(&app, uri, Some(&io_key), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}: {text}");
        assert!(text.contains("telephony"), "{text}");
        let (status, text) = post(&app, uri, Some(&voice_key), body).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {text}");
    }
}
