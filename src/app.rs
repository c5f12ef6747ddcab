//! Sportello put together: a rulebook and a store make the engine; the engine and what each kind
//! of caller presents make the router of every endpoint. The local server, the Lambda functions,
//! the demo's sandbox and the integration tests all build it here, so they run the same wiring.

use crate::engine::reply_token::ReplyTokens;
use crate::engine::webhook::Webhooks;
use crate::engine::{Clock, Engine, EscalationSettings, Ports};
use crate::http::operator::{NoticeSecrets, OperatorApi};
use crate::http::{Credentials, auth, email::MailToken, operator_auth};
use crate::ports::ReportStore;
use crate::rules::Rules;
use axum::Router;
use std::sync::Arc;

/// The engine over a rulebook and one adapter set's ports ([`crate::adapters::embedded::ports`],
/// `adapters::aws::ports_with`); what is not given is off (no reply tokens, no webhooks, no
/// report figures) or the default (the system clock).
pub struct AppBuilder {
    rules: Arc<Rules>,
    ports: Ports,
    clock: Option<Clock>,
    reply_tokens: Option<ReplyTokens>,
    webhooks: Option<Webhooks>,
}

impl AppBuilder {
    pub fn new(rules: Arc<Rules>, ports: Ports) -> Self {
        Self { rules, ports, clock: None, reply_tokens: None, webhooks: None }
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
        self.ports.reports = reports;
        self
    }

    pub fn engine(self) -> Engine {
        let mut engine = Engine::new(self.rules, self.ports);
        if let Some(clock) = self.clock {
            engine = engine.with_clock(clock);
        }
        if let Some(tokens) = self.reply_tokens {
            engine = engine.with_reply_tokens(tokens);
        }
        if let Some(webhooks) = self.webhooks {
            engine = engine.with_webhooks(webhooks);
        }
        engine
    }
}

/// What each kind of caller presents, and what the operator API needs besides the engine.
pub struct Access {
    /// Operators: tokens from a file locally, the authorizer's claims on AWS.
    pub operators: operator_auth::OperatorAuthenticator,
    pub escalation: EscalationSettings,
    /// Each target's key for signing resolution notices.
    pub notice_secrets: NoticeSecrets,
    /// The mail gateway's shared secret on `POST /email/inbound`.
    pub mail_token: MailToken,
    /// API keys of PagoPA's client apps.
    pub api_clients: auth::ClientAuthenticator,
}

/// Every endpoint of Sportello on one router, over `engine`, served (`http::served`).
pub fn router(engine: &Engine, access: Access) -> Router {
    crate::http::served(router_and_operators(engine, access).0)
}

/// The same, with the operator API it serves (the web console works through it too), not served
/// yet: the caller adds the console, then serves the whole.
pub fn router_and_operators(engine: &Engine, access: Access) -> (Router, OperatorApi) {
    let Access { operators, escalation, notice_secrets, mail_token, api_clients } = access;
    let operators = OperatorApi::new(engine.clone(), operators, escalation, notice_secrets);
    let router =
        crate::http::app(engine.clone(), Credentials { operators: operators.clone(), mail_token, api_clients });
    (router, operators)
}
