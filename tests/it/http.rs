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
}

/// One call that no route of a router serves (404), and one its path does not take (405 with the
/// methods it does take in `Allow`), on each router.
pub(crate) const UNSERVED: &[(&str, &str, &str, &str, &str)] = &[
    // (router, method, path, 405 or 404, Allow)
    ("health", "DELETE", "/health", "405", "GET,HEAD"),
    ("api", "DELETE", "/api/v1/tickets", "405", "POST"),
    ("api", "GET", "/api/v2/tickets", "404", ""),
    ("voice", "GET", "/voice/calls", "405", "POST"),
    ("voice", "POST", "/voice/transfer", "404", ""),
    ("chat", "DELETE", "/chat/sessions/SP-1/messages", "405", "POST,GET,HEAD"),
    ("chat", "POST", "/chat/sessions/SP-1/close", "404", ""),
    ("email", "GET", "/email/inbound", "405", "POST"),
    ("email", "POST", "/email/outbound", "404", ""),
    ("survey", "DELETE", "/survey/abc", "405", "GET,HEAD,POST"),
    ("openapi", "POST", "/openapi.yaml", "405", "GET,HEAD"),
    ("openapi", "GET", "/openapi.xml", "404", ""),
    ("operator", "DELETE", "/operator/queue", "405", "GET,HEAD"),
    ("operator", "GET", "/operator/tickets/SP-1/escalate", "405", "POST"),
    ("operator", "GET", "/operator/nowhere", "404", ""),
];

/// The same problem+json for each of `calls` (rows of [`UNSERVED`]) through `router`.
pub(crate) async fn assert_unserved_are_problems(router: &axum::Router, calls: &[&(&str, &str, &str, &str, &str)]) {
    for (name, method, path, status, allow) in calls {
        let request = Request::builder().method(*method).uri(*path).body(Body::empty()).unwrap();
        let reply = crate::support::http::send_to(router.clone(), request).await;
        let what = format!("{name}: {method} {path}");
        assert_eq!(reply.status.as_str(), *status, "{what}: {}", reply.text);
        assert_eq!(reply.content_type(), "application/problem+json", "{what}");
        assert_eq!(reply.body["status"].as_str().map(str::to_string), None, "{what}: status is a number");
        assert_eq!(reply.body["status"].to_string(), *status, "{what}");
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        let expected = if *status == "404" {
            format!("no endpoint {method} {path}")
        } else {
            format!("{path} does not take {method}")
        };
        assert_eq!(detail, expected, "{what}");
        let given = reply.headers.get("allow").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(given.as_deref(), (*status == "405").then_some(*allow), "{what}: Allow");
    }
}

#[tokio::test]
async fn every_router_of_the_local_server_answers_404_and_405_as_problems() {
    let app = TestApp::new();
    assert_unserved_are_problems(&app.router, &UNSERVED.iter().collect::<Vec<_>>()).await;
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

/// Every JSON body of the document is an object. serde's derive would read a struct from an array
/// (`[]` is a sweep with its defaults, `["io_accesso", null, null, "..."]` a ticket): each endpoint
/// refuses it with 422 instead, for the body as a whole (no `field`).
#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_refused() {
    let app = TestApp::new();
    let voice_key = app.client_key("voice");
    let io_key = app.client_key("io");
    let supervisor = app.tokens[&sportello::http::operator_auth::Role::Supervisor].clone();
    let reference = app.open("email", "basic_info", "k-not-an-object").await;
    for (uri, key, extra) in [
        ("/operator/sweep".to_string(), Some(supervisor.as_str()), None),
        (format!("/operator/tickets/{reference}/notes"), Some(supervisor.as_str()), None),
        ("/api/v1/tickets".to_string(), Some(io_key.as_str()), Some(("idempotency-key", "k-array"))),
        ("/voice/calls".to_string(), Some(voice_key.as_str()), None),
        ("/chat/sessions".to_string(), None, None),
    ] {
        for body in ["[]", r#"["io_accesso", null, null, "Non riesco ad accedere"]"#, "7"] {
            let auth = key.map(|k| format!("Bearer {k}"));
            let mut headers = vec![("content-type", "application/json")];
            if let Some(auth) = &auth {
                headers.push(("authorization", auth));
            }
            headers.extend(extra);
            let reply = app.send(request(Method::POST, &uri, &headers, body.to_string())).await;
            reply.assert_problem(422, None, "expected an object");
            assert!(reply.body.get("field").is_none(), "{uri} {body}: {}", reply.text);
        }
    }

    // The sweep reads its optional body itself, with the same problems as every other body.
    let sweep = |body: &str| {
        let auth = format!("Bearer {supervisor}");
        let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
        app.send(request(Method::POST, "/operator/sweep", &headers, body.to_string()))
    };
    sweep(r#"{"older_than_seconds": "soon"}"#).await.assert_problem(422, Some("/older_than_seconds"), "invalid type");
    sweep(r#"{"older_than": 60}"#).await.assert_problem(422, Some("/older_than"), "unknown field");
    sweep(r#"{"older_than_seconds": 60"#).await.assert_problem(400, None, "not valid JSON");
    sweep(r#"{"older_than_seconds": 60} {}"#).await.assert_problem(400, None, "trailing characters");
    assert_eq!(sweep("").await.status, StatusCode::OK);
}
