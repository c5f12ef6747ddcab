//! What every endpoint shares: problem+json for unknown routes and methods, and /health.

use crate::support::app::TestApp;
use axum::body::Body;
use axum::http::{Request, StatusCode};

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
