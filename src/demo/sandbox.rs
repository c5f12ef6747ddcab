//! Sportello in-process on a throw-away data folder and a free port: the local server's engine
//! and routers (see `server.rs`), with the credentials every kind of caller needs and a clock
//! the caller sets. The demo runs its scenes on it; the end-to-end tests walk the flows on it.

use super::client::Client;
use super::stage::{Callers, Staff, Stage};
use crate::adapters::embedded::{Db, OutboxEntry, OutboxMailer, SqliteQueue};
use crate::engine::{Engine, EscalationSettings};
use crate::http::auth::KeyFile;
use crate::http::operator::NoticeSecrets;
use crate::http::operator_auth::{OperatorAuthenticator, OperatorFile, Role, TokenFile};
use crate::ports::StepQueue;
use crate::rules::Rules;
use crate::server::ServerConfig;
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Operator accounts the sandbox creates, by role (ids, never names).
pub const OPERATOR_ID: &str = "op-101";
pub const PRIVACY_OPERATOR_ID: &str = "priv-201";
pub const SUPERVISOR_ID: &str = "sup-301";
/// Where targets on a queue and by e-mail are told to send their notices.
pub const REPLY_QUEUE: &str = "sportello-resolution-notices";
pub const REPLY_EMAIL: &str = "notices@sportello.pagopa.it";

pub struct Sandbox {
    pub dir: PathBuf,
    pub engine: Engine,
    /// A second handle on the store, to read what left Sportello (outbox, escalation queues).
    pub db: Db,
    pub callers: Callers,
    pub addr: SocketAddr,
    clock: Arc<Mutex<Timestamp>>,
    server: tokio::task::JoinHandle<()>,
}

fn random_secret() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

impl Sandbox {
    /// Starts Sportello on `rules` with its clock at `now`. Must run inside a Tokio runtime.
    pub async fn start(rules: &Path, now: Timestamp) -> Result<Sandbox, String> {
        let dir = std::env::temp_dir().join(format!("sportello-demo-{}", uuid::Uuid::new_v4().simple()));
        let config = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.clone(),
            rules: rules.into(),
            limits: Default::default(),
        };
        let clock = Arc::new(Mutex::new(now));
        let read = clock.clone();
        let engine = crate::server::engine(&config)?
            .with_clock(Arc::new(move || *read.lock().unwrap_or_else(|p| p.into_inner())));
        let db = Db::open(dir.join("sportello.db")).map_err(|e| format!("cannot open the store: {e}"))?;

        let mut operators = OperatorFile::default();
        let mut staff = BTreeMap::new();
        for (who, id, roles) in [
            (Staff::Operator, OPERATOR_ID, vec![Role::Operator]),
            (Staff::PrivacyOperator, PRIVACY_OPERATOR_ID, vec![Role::Operator, Role::PrivacyOperator]),
            (Staff::Supervisor, SUPERVISOR_ID, vec![Role::Supervisor]),
        ] {
            staff.insert(who, (id.to_string(), operators.add(id, roles, now)?));
        }
        let operators_file = dir.join("operators.json");
        operators.write(&operators_file)?;

        // A key for the client the demo acts as (see `cast::api_client`), when the rulebook has one.
        let mut keys = KeyFile::default();
        let client = super::cast::api_client(&engine.rules).unwrap_or("demo").to_string();
        let (_, api_key) = keys.add(&client, now);
        // The telephony platform calls as the client named after the voice channel.
        let telephony = super::cast::voice_channel(&engine.rules).unwrap_or("telephony").to_string();
        let (_, telephony_key) = keys.add(&telephony, now);
        let keys_file = dir.join("api-keys.json");
        keys.write(&keys_file).map_err(|e| e.to_string())?;

        let mail_token = random_secret();
        let mut secrets = BTreeMap::new();
        let mut notice_secrets = NoticeSecrets::default();
        for target in engine.rules.targets.keys() {
            let secret = random_secret().into_bytes();
            notice_secrets.insert(target.to_string(), secret.clone());
            secrets.insert(target.to_string(), secret);
        }
        let escalation = EscalationSettings {
            mail_from: "sportello@sportello.pagopa.it".into(),
            queue_urls: BTreeMap::new(),
            reply_queue: Some(REPLY_QUEUE.into()),
            reply_email: Some(REPLY_EMAIL.into()),
        };
        let access = crate::app::Access {
            operators: OperatorAuthenticator::Tokens(TokenFile::new(operators_file)),
            escalation,
            notice_secrets,
            mail_token: crate::http::email::MailToken::for_secret(&mail_token),
            api_clients: crate::http::auth::ClientAuthenticator::api_keys(keys_file),
        };
        let listener = tokio::net::TcpListener::bind(config.listen).await.map_err(|e| format!("cannot listen: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let app = crate::app::router(&engine, access);
        let server = tokio::spawn(async move {
            let limits = crate::listener::Limits::default();
            if let Err(e) = crate::listener::serve(listener, app, limits, std::future::pending()).await {
                tracing::warn!(error = %e, "demo server stopped");
            }
        });
        let client = Client::new(&format!("http://{addr}"))?;
        let callers = Callers { client, staff, api_key, telephony_key, mail_token, secrets };
        Ok(Sandbox { dir, engine, db, callers, addr, clock, server })
    }

    pub fn now(&self) -> Timestamp {
        *self.clock.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_now(&self, now: Timestamp) {
        *self.clock.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    /// What the local server's step workers do in the background: runs every queued step
    /// (triage, answer delivery, incident fan-out) until none is left.
    pub async fn settle(&self) -> Result<usize, String> {
        let mut total = 0;
        loop {
            let done = self.engine.run_pending_steps(50).await.map_err(|e| format!("step worker: {e}"))?;
            if done == 0 {
                return Ok(total);
            }
            total += done;
        }
    }

    /// What a target on an embedded queue picks up (and acknowledges), oldest first.
    pub async fn take_escalations(&self, queue: &str) -> Result<Vec<Value>, String> {
        let q = SqliteQueue::new(self.db.clone(), queue, 5, Duration::from_secs(86_400));
        let mut out = Vec::new();
        loop {
            let got = q.receive(10, Duration::from_secs(60)).await.map_err(|e| e.to_string())?;
            if got.is_empty() {
                return Ok(out);
            }
            for d in got {
                q.ack(&d.receipt).await.map_err(|e| e.to_string())?;
                out.push(d.message.body);
            }
        }
    }

    /// The embedded outbox: every mail Sportello sent, oldest first.
    pub async fn outbox(&self) -> Result<Vec<OutboxEntry>, String> {
        OutboxMailer::new(self.db.clone()).sent(1000).await.map_err(|e| e.to_string())
    }

    /// The queue a target's escalations land on (its rulebook `sqs.queue`).
    pub fn queue_of(&self, target: &str) -> Option<String> {
        super::stage::queue_of(&self.engine.rules, target)
    }
}

#[async_trait]
impl Stage for Sandbox {
    fn callers(&self) -> &Callers {
        &self.callers
    }
    fn rules(&self) -> &Rules {
        &self.engine.rules
    }
    fn now(&self) -> Timestamp {
        Sandbox::now(self)
    }
    fn owns_clock(&self) -> bool {
        true
    }
    async fn run_steps(&self) -> Result<(), String> {
        self.settle().await.map(|_| ())
    }
    async fn escalations_on(&self, queue: &str) -> Result<Option<Vec<Value>>, String> {
        self.take_escalations(queue).await.map(Some)
    }
    async fn sent_mail(&self) -> Result<Option<Vec<OutboxEntry>>, String> {
        self.outbox().await.map(Some)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
