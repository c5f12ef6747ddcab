//! API clients' signed webhooks, end to end on the embedded store: a client's ticket resolved with
//! an answer queues a `webhook` step that POSTs a Stripe-style signed event to a real HTTP server;
//! a client that answers 500 gets it again on the next try; other clients' tickets send nothing.

use crate::support::app::TestApp;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use sportello::adapters::webhook_http::HttpWebhookSender;
use sportello::domain::{Actor, ActorRole, Requester, TicketType};
use sportello::engine::webhook::{Webhook, WebhookFile, Webhooks};
use sportello::engine::{Engine, NewContact};
use sportello::ports::webhook::sign;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

const SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Statuses to answer, in turn; 200 once they run out.
    answers: Arc<Mutex<VecDeque<u16>>>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.got.lock().unwrap().push((headers, body));
    let code = r.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(code).unwrap()
}

async fn receiver(answers: &[u16]) -> (Receiver, String) {
    let r = Receiver { answers: Arc::new(Mutex::new(answers.iter().copied().collect())), ..Receiver::default() };
    let app = Router::new().route("/hooks/sportello", post(hook)).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/sportello", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

/// Sportello with a webhook for the `io` client at `url`.
fn app(url: &str) -> TestApp {
    let hooks = BTreeMap::from([("io".to_string(), Webhook { url: url.into(), secret: SECRET.into() })]);
    TestApp::builder().webhooks(Webhooks::new(hooks, Arc::new(HttpWebhookSender::new()))).build()
}

/// A ticket opened through the API by `client`, worked and resolved with `answer`.
async fn resolved(engine: &Engine, client: &str, key: &str, answer: &str) -> sportello::domain::Ticket {
    let contact = NewContact {
        channel: "api".into(),
        idempotency_key: key.into(),
        category: Some("basic_info".into()),
        message: Some("Come scarico la ricevuta?".into()),
        requester: Requester { email: Some("mario.rossi@example.it".into()), ..Requester::default() },
        actor: Some(Actor { id: client.into(), role: ActorRole::Requester }),
        ..NewContact::default()
    };
    let id = engine.open(contact).await.unwrap().ticket.id;
    engine.triage(&id).await.unwrap();
    let op = Actor { id: "op-1".into(), role: ActorRole::Operator };
    engine.take_in_charge(&id, &op).await.unwrap();
    engine.classify(&id, &op, TicketType::Q).await.unwrap();
    engine.answer_and_resolve(&id, &op, answer).await.unwrap()
}

#[tokio::test]
async fn a_resolved_ticket_posts_a_signed_event_and_retries_a_failing_client() {
    let (r, url) = receiver(&[500, 503]).await;
    let app = app(&url);
    let engine = app.engine.clone();
    let t = resolved(&engine, "io", "api-1", "Dalla sezione Ricevute dell'app.").await;

    // Refused twice, the step is tried again (the local worker gives it back at once), until
    // the client accepts it; then nothing more is sent.
    engine.run_pending_steps(10).await.unwrap();
    engine.run_pending_steps(10).await.unwrap();
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "500, 503, then 200");
    assert!(engine.ports.steps.dead_letters(10).await.unwrap().is_empty());

    let (headers, body) = &got[2];
    let signature = headers["sportello-signature"].to_str().unwrap();
    let t_part = signature.split(',').next().unwrap().strip_prefix("t=").unwrap();
    let expected = sign(SECRET.as_bytes(), t_part.parse().unwrap(), body);
    assert_eq!(signature, expected, "HMAC-SHA256 of `<t>.<body>` with the client's secret");
    assert_ne!(signature, sign(b"whsec_other", t_part.parse().unwrap(), body));
    let event: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(event["type"], "ticket.resolved");
    assert_eq!(event["data"]["reference"], t.reference.as_str());
    assert_eq!(event["data"]["state"], "resolved");
    assert_eq!(event["data"]["answer"], "Dalla sezione Ricevute dell'app.");
    assert_eq!(headers["content-type"], "application/json");
    // The same event every time: the client dedupes on its id.
    let first: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(first["id"], event["id"]);
}

#[tokio::test]
async fn a_client_that_never_accepts_ends_in_the_dead_letters() {
    let (r, url) = receiver(&[500; 20]).await;
    let app = app(&url);
    let engine = app.engine.clone();
    resolved(&engine, "io", "api-9", "Risposta.").await;
    engine.run_pending_steps(10).await.unwrap();
    assert_eq!(r.got.lock().unwrap().len(), 5, "the step queue's attempts, no more");
    let dead = engine.ports.steps.dead_letters(10).await.unwrap();
    assert_eq!(dead.iter().map(|d| d.step.as_str()).collect::<Vec<_>>(), ["webhook"]);
}

#[tokio::test]
async fn only_the_clients_with_a_webhook_get_one() {
    let (r, url) = receiver(&[]).await;
    let app = app(&url);
    let engine = app.engine.clone();
    resolved(&engine, "checkout", "api-2", "Risposta.").await;
    engine.run_pending_steps(10).await.unwrap();
    assert!(r.got.lock().unwrap().is_empty(), "checkout registered no webhook");
    resolved(&engine, "io", "api-3", "Risposta.").await;
    engine.run_pending_steps(10).await.unwrap();
    assert_eq!(r.got.lock().unwrap().len(), 1);
}

#[test]
fn registration_keeps_the_url_and_a_fresh_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webhooks.json");
    let mut file = WebhookFile::read(&path).unwrap();
    assert!(file.webhooks.is_empty(), "a missing file has none");
    let secret = file.register("io", "https://io.example.org/hooks").unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    assert!(file.register("io", "ftp://io.example.org").is_err());
    file.write(&path).unwrap();
    let again = WebhookFile::read(&path).unwrap();
    assert_eq!(again.webhooks["io"].url, "https://io.example.org/hooks");
    assert_eq!(again.webhooks["io"].secret, secret);
    assert!(!format!("{:?}", again.webhooks["io"]).contains(&secret), "Debug hides the secret");
}

#[test]
fn the_clients_command_registers_a_webhook_and_prints_its_secret_once() {
    use sportello::cli::clients::{ClientsAction, run};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("webhooks.json");
    let now = jiff::Timestamp::now();
    let action =
        ClientsAction::Webhook { client: "io".into(), url: "https://io.example.org/hooks".into(), file: file.clone() };
    let (out, code) = run(action, now);
    assert_eq!(code, 0, "{out}");
    let secret = WebhookFile::read(&file).unwrap().webhooks["io"].secret.clone();
    assert!(out.contains(&secret) && out.contains("Sportello-Signature"), "{out}");
    let bad = ClientsAction::Webhook { client: "io".into(), url: "io.example.org".into(), file: file.clone() };
    let (out, code) = run(bad, now);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("https://"), "{out}");
    assert_eq!(WebhookFile::read(&file).unwrap().webhooks["io"].secret, secret, "unchanged by a refused URL");
}
