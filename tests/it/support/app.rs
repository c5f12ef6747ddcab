//! `TestApp`: Sportello built the way `sportello serve` builds it (`sportello::app`), on a temp
//! SQLite store, with a clock the test sets, an operator token for every role, and known secrets.

use super::faulty::FaultyTickets;
use super::http::Reply;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use sportello::adapters::embedded::Db;
use sportello::app::{Access, AppBuilder};
use sportello::domain::{Actor, ActorRole, Requester};
use sportello::engine::reply_token::ReplyTokens;
use sportello::engine::webhook::Webhooks;
use sportello::engine::{Clock, Engine, EscalationSettings, NewContact, Ports};
use sportello::http::auth::{self, KeyFile};
use sportello::http::email::MailToken;
use sportello::http::operator::NoticeSecrets;
use sportello::http::operator_auth::{OperatorAuthenticator, OperatorFile, Role, TokenFile};
use sportello::rules::Rules;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A Wednesday morning in Rome, in service hours.
pub const NOW: &str = "2026-12-02T10:00:00+01:00";
/// The mail gateway's secret on `POST /email/inbound`.
pub const MAIL_TOKEN: &str = "test-mail-token";
/// The operators `TestApp` has a token for, by role.
pub const STAFF: [(&str, Role); 4] =
    [("op-1", Role::Operator), ("priv-1", Role::PrivacyOperator), ("sup-1", Role::Supervisor), ("adm-1", Role::Admin)];
/// More operators `TestApp` has a token for, by id: a second operator, and a supervisor of the
/// privacy team.
pub const MORE_STAFF: [(&str, &[Role]); 2] =
    [("op-2", &[Role::Operator]), ("psup-1", &[Role::Supervisor, Role::PrivacyOperator])];

/// The engine's clock: the test moves it.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<jiff::Timestamp>>);

impl TestClock {
    pub fn at(now: &str) -> Self {
        Self(Arc::new(Mutex::new(now.parse().unwrap_or_else(|e| panic!("`{now}`: {e}")))))
    }

    pub fn now(&self) -> jiff::Timestamp {
        *self.0.lock().unwrap()
    }

    pub fn set(&self, now: jiff::Timestamp) {
        *self.0.lock().unwrap() = now;
    }

    pub fn set_at(&self, now: &str) {
        self.set(now.parse().unwrap_or_else(|e| panic!("`{now}`: {e}")));
    }

    fn clock(&self) -> Clock {
        let read = self.0.clone();
        Arc::new(move || *read.lock().unwrap())
    }
}

/// Escalation e-mails' sender and the address targets reply to.
pub fn escalation_settings() -> EscalationSettings {
    EscalationSettings {
        mail_from: "sportello@pagopa.example".into(),
        reply_email: Some("notices@pagopa.example".into()),
        ..EscalationSettings::default()
    }
}

pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub db: Db,
    pub engine: Engine,
    /// Every endpoint, as the local server serves them.
    pub router: Router,
    pub clock: TestClock,
    /// What the operator API escalates with; also for calling the engine directly.
    pub escalation: EscalationSettings,
    /// A token for each operator of [`STAFF`].
    pub tokens: BTreeMap<Role, String>,
    /// A token for each operator of [`MORE_STAFF`], by id.
    pub more_tokens: BTreeMap<&'static str, String>,
}

pub struct TestAppBuilder {
    clock: TestClock,
    rules: Arc<Rules>,
    reply_tokens: Option<ReplyTokens>,
    webhooks: Option<Webhooks>,
    notice_secrets: NoticeSecrets,
    faulty: Option<Arc<FaultyTickets>>,
}

impl TestAppBuilder {
    /// The clock's first reading.
    pub fn at(mut self, now: &str) -> Self {
        self.clock = TestClock::at(now);
        self
    }

    /// A clock the test keeps a handle on.
    pub fn clock(mut self, clock: TestClock) -> Self {
        self.clock = clock;
        self
    }

    pub fn reply_tokens(mut self, tokens: ReplyTokens) -> Self {
        self.reply_tokens = Some(tokens);
        self
    }

    pub fn webhooks(mut self, webhooks: Webhooks) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// A target's key for signed resolution notices.
    pub fn notice_secret(mut self, target: &str, secret: &[u8]) -> Self {
        self.notice_secrets.insert(target, secret);
        self
    }

    /// The embedded store's tickets behind `faulty`, which fails the updates it is told to.
    pub fn faulty_tickets(mut self, faulty: Arc<FaultyTickets>) -> Self {
        self.faulty = Some(faulty);
        self
    }

    fn engine_builder(&mut self, store: Ports) -> AppBuilder {
        let mut builder =
            AppBuilder::new(self.rules.clone(), store).clock(self.clock.clock()).reply_tokens(self.reply_tokens.take());
        if let Some(webhooks) = self.webhooks.take() {
            builder = builder.webhooks(webhooks);
        }
        builder
    }

    /// Only the engine, over another adapter set (the AWS adapters on moto).
    pub fn engine_on(mut self, store: Ports) -> Engine {
        self.engine_builder(store).engine()
    }

    pub fn build(mut self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("sportello.db")).unwrap();
        let mut store = sportello::adapters::embedded::ports(&db);
        if let Some(faulty) = self.faulty.take() {
            let _ = faulty.inner.set(store.tickets.clone());
            store.tickets = faulty;
        }
        let projector = Arc::new(sportello::reports::Projector::new(&self.rules));
        let reports = Arc::new(sportello::adapters::embedded::SqliteReports::new(db.clone(), projector));
        let engine = self.engine_builder(store).reports(reports).engine();
        let clock = self.clock;

        let mut operators = OperatorFile::default();
        let mut tokens = BTreeMap::new();
        for (id, role) in STAFF {
            tokens.insert(role, operators.add(id, vec![role], clock.now()).unwrap());
        }
        let mut more_tokens = BTreeMap::new();
        for (id, roles) in MORE_STAFF {
            more_tokens.insert(id, operators.add(id, roles.to_vec(), clock.now()).unwrap());
        }
        let operators_file = dir.path().join("operators.json");
        operators.write(&operators_file).unwrap();
        let escalation = escalation_settings();
        let access = Access {
            operators: OperatorAuthenticator::Tokens(TokenFile::new(operators_file)),
            escalation: escalation.clone(),
            notice_secrets: std::mem::take(&mut self.notice_secrets),
            mail_token: MailToken::for_secret(MAIL_TOKEN),
            api_clients: auth::ClientAuthenticator::api_keys(dir.path().join("api-keys.json")),
        };
        let router = sportello::app::router(&engine, access);
        TestApp { dir, db, engine, router, clock, escalation, tokens, more_tokens }
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            clock: TestClock::at(NOW),
            rules: super::default_rules(),
            reply_tokens: None,
            webhooks: None,
            notice_secrets: NoticeSecrets::default(),
            faulty: None,
        }
    }

    /// The default rulebook, with the clock at [`NOW`].
    pub fn new() -> TestApp {
        Self::builder().build()
    }

    pub fn at(now: &str) -> TestApp {
        Self::builder().at(now).build()
    }

    /// A new API key for `client` (a client app, or `voice`, the telephony platform), added to the
    /// key file the router reads, as `sportello clients add` does.
    pub fn client_key(&self, client: &str) -> String {
        let path = self.dir.path().join("api-keys.json");
        let mut keys = KeyFile::read(&path).unwrap();
        let (_, key) = keys.add(client, self.clock.now());
        keys.write(&path).unwrap();
        key
    }

    /// One request through every endpoint's router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        super::http::send_to(self.router.clone(), request).await
    }

    /// A request with `token` as the bearer (none without one); errors must be problem+json.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(b) => request.header("content-type", "application/json").body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        };
        self.raw(request.unwrap()).await
    }

    /// A request as the operator of `role` in [`STAFF`].
    pub async fn call(&self, role: Role, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let token = self.tokens[&role].clone();
        self.request(method, path, Some(&token), body).await
    }

    /// A request as the operator `id` of [`MORE_STAFF`].
    pub async fn call_as(&self, id: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let token = self.more_tokens[id].clone();
        self.request(method, path, Some(&token), body).await
    }

    /// Any request; an error's body must be problem+json.
    pub async fn raw(&self, request: Request<Body>) -> (StatusCode, Value) {
        let reply = self.send(request).await;
        if !reply.status.is_success() {
            assert_eq!(
                reply.content_type(),
                "application/problem+json",
                "errors are problem+json: {} {}",
                reply.status,
                reply.text
            );
        }
        (reply.status, reply.body)
    }

    /// A contact as a channel makes it: the subject and message of a double payment.
    pub fn contact(channel: &str, category: &str, key: &str, requester: Requester) -> NewContact {
        NewContact {
            channel: channel.into(),
            idempotency_key: key.into(),
            category: Some(category.into()),
            subject: Some("Avviso pagato due volte".into()),
            message: Some("Ho pagato due volte lo stesso avviso pagoPA, come ottengo il rimborso?".into()),
            requester,
            ..NewContact::default()
        }
    }

    /// Opens a contact and triages it, as a channel would; the ticket's reference.
    pub async fn open_contact(&self, contact: NewContact) -> String {
        let created = self.engine.open(contact).await.unwrap();
        self.engine.triage(&created.ticket.id).await.unwrap();
        created.ticket.reference.to_string()
    }

    pub async fn open_with(&self, channel: &str, category: &str, key: &str, requester: Requester) -> String {
        self.open_contact(Self::contact(channel, category, key, requester)).await
    }

    /// Opens and triages a contact from a requester known by e-mail address.
    pub async fn open(&self, channel: &str, category: &str, key: &str) -> String {
        let requester = Requester { email: Some("mario.rossi@example.it".into()), ..Requester::default() };
        self.open_with(channel, category, key, requester).await
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

/// The body of a successful reply.
#[track_caller]
pub fn ok(r: (StatusCode, Value)) -> Value {
    assert!(r.0.is_success(), "{} {}", r.0, r.1);
    r.1
}
