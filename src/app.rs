//! Sportello put together: a rulebook and a store make the engine; the engine and what each kind
//! of caller presents make the router of every endpoint. The local server, the Lambda functions,
//! the demo's sandbox and the integration tests all build it here, so they run the same wiring.

use crate::adapters::embedded::{self, Db};
use crate::engine::reply_token::ReplyTokens;
use crate::engine::webhook::Webhooks;
use crate::engine::{Clock, Engine, EscalationSettings, Ports};
use crate::http::operator::{NoticeSecrets, OperatorApi};
use crate::http::{Credentials, auth, email::MailToken, operator_auth};
use crate::ports::{IncidentStore, KnowledgeCandidates, ReportStore};
use crate::rules::Rules;
use axum::Router;
use std::sync::Arc;

/// One adapter set: the ports the engine works through, its incident store, and where operators'
/// answers leave candidate example questions for the knowledge base.
pub struct Store {
    pub ports: Ports,
    pub incidents: Arc<dyn IncidentStore>,
    pub kb_candidates: Arc<dyn KnowledgeCandidates>,
}

impl Store {
    /// The embedded adapters over one SQLite database.
    pub fn embedded(db: &Db) -> Self {
        Self {
            ports: embedded::ports(db),
            incidents: Arc::new(embedded::SqliteIncidents::new(db.clone())),
            kb_candidates: Arc::new(embedded::SqliteKbCandidates::new(db.clone())),
        }
    }

    /// The AWS adapters: the DynamoDB table, the SQS step queue and its dead-letter queue, SES.
    /// `dedup_window` is how long a published step's deduplication id is remembered.
    #[cfg(feature = "aws")]
    pub fn aws(
        clients: &crate::adapters::aws::Clients,
        table: &str,
        step_queue_url: impl Into<String>,
        step_dlq_url: impl Into<String>,
        dedup_window: std::time::Duration,
    ) -> Self {
        let ports = crate::adapters::aws::ports_with(clients, table, step_queue_url, step_dlq_url, dedup_window);
        let incidents = Arc::new(crate::adapters::aws::DynamoIncidents::new(clients.dynamodb.clone(), table));
        let kb_candidates = Arc::new(crate::adapters::aws::DynamoKbCandidates::new(clients.dynamodb.clone(), table));
        Self { ports, incidents, kb_candidates }
    }
}

/// The engine over a rulebook and a store; what is not given is off (no reply tokens, no
/// webhooks) or the default (the system clock).
pub struct AppBuilder {
    rules: Arc<Rules>,
    store: Store,
    clock: Option<Clock>,
    reply_tokens: Option<ReplyTokens>,
    webhooks: Option<Webhooks>,
    reports: Option<Arc<dyn ReportStore>>,
}

impl AppBuilder {
    pub fn new(rules: Arc<Rules>, store: Store) -> Self {
        Self { rules, store, clock: None, reply_tokens: None, webhooks: None, reports: None }
    }

    /// What time it is: tests and replays set it.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The key of escalation e-mails' reply tokens; without it, e-mail notices are refused.
    pub fn reply_tokens(mut self, tokens: Option<ReplyTokens>) -> Self {
        self.reply_tokens = tokens;
        self
    }

    /// API clients' webhooks; without them, clients read their tickets' status.
    pub fn webhooks(mut self, webhooks: Webhooks) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// Where the supervisors' report figures are kept; without it, reports answer that this
    /// deployment keeps none.
    pub fn reports(mut self, reports: Arc<dyn ReportStore>) -> Self {
        self.reports = Some(reports);
        self
    }

    pub fn engine(self) -> Engine {
        let mut engine = Engine::new(self.rules, self.store.ports)
            .with_incidents(self.store.incidents)
            .with_kb_candidates(self.store.kb_candidates);
        if let Some(clock) = self.clock {
            engine = engine.with_clock(clock);
        }
        if let Some(tokens) = self.reply_tokens {
            engine = engine.with_reply_tokens(tokens);
        }
        if let Some(webhooks) = self.webhooks {
            engine = engine.with_webhooks(webhooks);
        }
        if let Some(reports) = self.reports {
            engine = engine.with_reports(reports);
        }
        engine
    }
}

/// What each kind of caller presents, and what the operator API needs besides the engine.
pub struct Access {
    /// Operators: tokens from a file locally, the authorizer's claims on AWS.
    pub operators: operator_auth::Authenticator,
    pub escalation: EscalationSettings,
    /// Each target's key for signing resolution notices.
    pub notice_secrets: NoticeSecrets,
    /// The mail gateway's shared secret on `POST /email/inbound`.
    pub mail_token: MailToken,
    /// API keys of PagoPA's client apps.
    pub api_clients: auth::Authenticator,
}

/// Every endpoint of Sportello on one router, over `engine`.
pub fn router(engine: &Engine, access: Access) -> Router {
    let Access { operators, escalation, notice_secrets, mail_token, api_clients } = access;
    let operators = OperatorApi::new(engine.clone(), operators, escalation, notice_secrets);
    crate::http::app(engine.clone(), Credentials { operators, mail_token, api_clients })
}
