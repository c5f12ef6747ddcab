//! An operator desk over HTTP on a temp SQLite store with a fixed clock, for the tests of what
//! operators' actions set off (answers, reminders, incidents, clocks).
#![allow(dead_code)] // each test binary uses its own part

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use sportello::adapters::embedded::{Db, SqliteIncidents, SqliteReports, ports};
use sportello::domain::{Actor, ActorRole, Requester};
use sportello::engine::{Engine, EscalationSettings, NewContact};
use sportello::http::operator::{NoticeSecrets, OperatorApi, router};
use sportello::http::operator_auth::{Authenticator, OperatorFile, Role, TokenFile};
use sportello::rules::Rules;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// A Wednesday morning, in service hours.
pub const NOW: &str = "2026-12-02T10:00:00+01:00";

pub struct Desk {
    pub dir: tempfile::TempDir,
    pub db: Db,
    pub engine: Engine,
    pub app: Router,
    pub tokens: BTreeMap<Role, String>,
    /// The engine's clock: tests move it.
    pub clock: Arc<Mutex<jiff::Timestamp>>,
}

impl Desk {
    pub fn new() -> Desk {
        Self::at(NOW)
    }

    pub fn at(now: &str) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let rules = Rules::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
        let db = Db::open(dir.path().join("sportello.db")).unwrap();
        let now: jiff::Timestamp = now.parse().unwrap();
        let clock = Arc::new(Mutex::new(now));
        let read = clock.clone();
        let projector = Arc::new(sportello::reports::Projector::new(&rules));
        let engine = Engine::new(Arc::new(rules), ports(&db))
            .with_clock(Arc::new(move || *read.lock().unwrap()))
            .with_incidents(Arc::new(SqliteIncidents::new(db.clone())))
            .with_reports(Arc::new(SqliteReports::new(db.clone(), projector)));
        let mut file = OperatorFile::default();
        let mut tokens = BTreeMap::new();
        for (id, role) in [
            ("op-1", Role::Operator),
            ("priv-1", Role::PrivacyOperator),
            ("sup-1", Role::Supervisor),
            ("adm-1", Role::Admin),
        ] {
            tokens.insert(role, file.add(id, vec![role], now).unwrap());
        }
        let path = dir.path().join("operators.json");
        file.write(&path).unwrap();
        let settings = EscalationSettings {
            mail_from: "sportello@pagopa.example".into(),
            reply_email: Some("notices@pagopa.example".into()),
            ..EscalationSettings::default()
        };
        let api = OperatorApi::new(
            engine.clone(),
            Authenticator::Tokens(TokenFile::new(path)),
            settings,
            NoticeSecrets::default(),
        );
        Desk { dir, db, engine, app: router(api), tokens, clock }
    }

    pub fn set_now(&self, now: jiff::Timestamp) {
        *self.clock.lock().unwrap() = now;
    }

    /// Opens a contact and triages it, as a channel would.
    pub async fn open_with(&self, channel: &str, category: &str, key: &str, requester: Requester) -> String {
        let contact = NewContact {
            channel: channel.into(),
            idempotency_key: key.into(),
            category: Some(category.into()),
            subject: Some("Avviso pagato due volte".into()),
            message: Some("Ho pagato due volte lo stesso avviso pagoPA, come ottengo il rimborso?".into()),
            requester,
            ..NewContact::default()
        };
        let created = self.engine.open(contact).await.unwrap();
        self.engine.triage(&created.ticket.id).await.unwrap();
        created.ticket.reference.to_string()
    }

    pub async fn open(&self, channel: &str, category: &str, key: &str) -> String {
        let requester = Requester { email: Some("mario.rossi@example.it".into()), ..Requester::default() };
        self.open_with(channel, category, key, requester).await
    }

    pub async fn call(&self, role: Role, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let token = self.tokens[&role].clone();
        let mut req = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}"));
        let req = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                req.body(Body::from(b.to_string()))
            }
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let problem = resp.headers().get("content-type").is_some_and(|v| v == "application/problem+json");
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            assert!(problem, "errors are problem+json: {status} {value}");
        }
        (status, value)
    }

    /// Takes in charge, classifies and resolves over HTTP.
    pub async fn work(&self, reference: &str, ticket_type: &str, answer: &str) -> Value {
        let base = format!("/operator/tickets/{reference}");
        ok(self.call(Role::Operator, Method::POST, &format!("{base}/take-in-charge"), None).await);
        ok(self
            .call(
                Role::Operator,
                Method::POST,
                &format!("{base}/classify"),
                Some(serde_json::json!({"ticket_type": ticket_type})),
            )
            .await);
        ok(self
            .call(Role::Operator, Method::POST, &format!("{base}/resolve"), Some(serde_json::json!({"answer": answer})))
            .await)
    }
}

pub fn operator(id: &str) -> Actor {
    Actor { id: id.into(), role: ActorRole::Operator }
}

pub fn ok(r: (StatusCode, Value)) -> Value {
    assert!(r.0.is_success(), "{} {}", r.0, r.1);
    r.1
}
