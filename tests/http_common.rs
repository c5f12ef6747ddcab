//! What every endpoint shares: problem+json for unknown routes and methods, and /health.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sportello::adapters::embedded::{Db, ports};
use sportello::engine::Engine;
use sportello::rules::Rules;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

fn app(dir: &Path) -> axum::Router {
    let rules = Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
    let db = Db::open(dir.join("db.sqlite")).unwrap();
    let engine = Engine::new(Arc::new(rules), ports(&db));
    let operators = sportello::http::local_operator_api(engine.clone(), dir.join("operators.json"));
    let credentials = sportello::http::Credentials {
        operators,
        mail_token: sportello::http::email::MailToken::for_secret("test"),
        api_clients: sportello::http::auth::Authenticator::api_keys(dir.join("api-keys.json")),
    };
    sportello::http::app(engine, credentials)
}

async fn call(app: axum::Router, method: &str, uri: &str) -> (StatusCode, String, String) {
    let response = app.oneshot(Request::builder().method(method).uri(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, content_type, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn health_answers_and_unknown_routes_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _, body) = call(app(dir.path()), "GET", "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#""status":"ok""#), "{body}");

    let (status, content_type, body) = call(app(dir.path()), "GET", "/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "application/problem+json");
    assert!(body.contains("no endpoint GET /nowhere"), "{body}");

    let (status, content_type, body) = call(app(dir.path()), "DELETE", "/health").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(content_type, "application/problem+json");
    assert!(body.contains("/health does not take DELETE"), "{body}");
}

async fn post(app: axum::Router, uri: &str, key: Option<&str>, body: &str) -> (StatusCode, String) {
    let mut req = Request::builder().method("POST").uri(uri).header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let response = app.oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The telephony platform is a client like the others: no key, no ticket. A client app's key
/// does not open calls; the voice channel's does.
#[tokio::test]
async fn voice_calls_need_the_telephony_platforms_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = sportello::http::auth::KeyFile::default();
    let now = jiff::Timestamp::now();
    let (_, io_key) = keys.add("io", now);
    let (_, voice_key) = keys.add("voice", now);
    keys.write(&dir.path().join("api-keys.json")).unwrap();
    let call = r#"{"call_id": "CA-0001", "caller": "+390612345678", "menu": "1"}"#;
    let connect = include_str!("fixtures/events/connect-contact-flow.json");
    for (uri, body) in [("/voice/calls", call), ("/voice/connect", connect)] {
        let (status, text) = post(app(dir.path()), uri, None, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {text}");
        let (status, text) = post(app(dir.path()), uri, Some("spk_forged"), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {text}");
        let (status, text) = post(app(dir.path()), uri, Some(&io_key), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}: {text}");
        assert!(text.contains("telephony"), "{text}");
        let (status, text) = post(app(dir.path()), uri, Some(&voice_key), body).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {text}");
    }
}
