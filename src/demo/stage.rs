//! Where the demo's scenes play: the in-process [`Sandbox`](super::Sandbox), or a Sportello
//! already running (`sportello demo --url`) with the credentials its owner gives.

use super::client::{Client, Reply};
use crate::adapters::embedded::OutboxEntry;
use crate::http::operator::{NoticeSecrets, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::rules::Rules;
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Who calls the operator API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Staff {
    Operator,
    PrivacyOperator,
    Supervisor,
}

/// The HTTP client and every credential the demo calls with, on either stage.
pub struct Callers {
    pub client: Client,
    /// Each staff member's operator id and token.
    pub staff: BTreeMap<Staff, (String, String)>,
    pub api_key: String,
    /// The telephony platform's key (client `voice`).
    pub telephony_key: String,
    pub mail_token: String,
    /// Each target's notice secret.
    pub secrets: BTreeMap<String, Vec<u8>>,
}

/// A Sportello to talk to, and what the caller may know about it.
#[async_trait]
pub trait Stage: Send + Sync {
    fn callers(&self) -> &Callers;
    fn rules(&self) -> &Rules;
    fn client(&self) -> &Client {
        &self.callers().client
    }
    /// The operator id behind `who`'s token.
    fn staff_id(&self, who: Staff) -> &str {
        &self.callers().staff[&who].0
    }
    fn token(&self, who: Staff) -> &str {
        &self.callers().staff[&who].1
    }
    fn api_key(&self) -> &str {
        &self.callers().api_key
    }
    /// The telephony platform's key (client `voice`).
    fn telephony_key(&self) -> &str {
        &self.callers().telephony_key
    }
    fn mail_token(&self) -> &str {
        &self.callers().mail_token
    }
    fn notice_secret(&self, target: &str) -> Option<&[u8]> {
        self.callers().secrets.get(target).map(Vec::as_slice)
    }
    /// The server's time (notices are signed with it).
    fn now(&self) -> Timestamp;
    /// The server's clock is the demo's to set.
    fn owns_clock(&self) -> bool;
    /// Lets the step workers run what the last requests queued.
    async fn run_steps(&self) -> Result<(), String>;
    /// What a target on `queue` picks up; `None` when the queue is out of the demo's reach.
    async fn escalations_on(&self, queue: &str) -> Result<Option<Vec<Value>>, String>;
    /// The mail Sportello sent; `None` when out of reach.
    async fn sent_mail(&self) -> Result<Option<Vec<OutboxEntry>>, String>;

    /// A call to the operator API as `who`.
    async fn staff(&self, who: Staff, method: &str, path: &str, body: Option<&Value>) -> Result<Reply, String> {
        let auth = format!("Bearer {}", self.token(who));
        match body {
            Some(b) => {
                let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
                self.client().request(method, path, &headers, b.to_string().into_bytes()).await
            }
            None => self.client().request(method, path, &[("authorization", &auth)], Vec::new()).await,
        }
    }

    /// A target's resolution notice for escalation `escalation_id` (as the escalation message
    /// named it), signed with its secret at the server's time.
    async fn notice(&self, target: &str, reference: &str, escalation_id: &str, text: &str) -> Result<Reply, String> {
        let secret = self.notice_secret(target).ok_or_else(|| format!("no notice secret for target `{target}`"))?;
        let body = serde_json::json!({"reference": reference, "escalation_id": escalation_id, "notice": text})
            .to_string()
            .into_bytes();
        let at = self.now().as_second();
        let signature = NoticeSecrets::sign(secret, at, &body);
        let at = at.to_string();
        let headers = [
            ("content-type", "application/json"),
            (TIMESTAMP_HEADER, at.as_str()),
            (SIGNATURE_HEADER, signature.as_str()),
        ];
        self.client().request("POST", &format!("/operator/targets/{target}/notices"), &headers, body).await
    }

    /// The start of a call, as the telephony platform sends it.
    async fn voice_call(&self, call: &Value) -> Result<Reply, String> {
        let auth = format!("Bearer {}", self.telephony_key());
        self.client().post_json("/voice/calls", &[("authorization", auth.as_str())], call).await
    }

    /// A ticket-API call as the client app.
    async fn api_post(&self, idempotency_key: &str, body: &Value) -> Result<Reply, String> {
        let auth = format!("Bearer {}", self.api_key());
        let headers = [("authorization", auth.as_str()), ("idempotency-key", idempotency_key)];
        self.client().post_json("/api/v1/tickets", &headers, body).await
    }

    async fn api_status(&self, reference: &str) -> Result<Reply, String> {
        let auth = format!("Bearer {}", self.api_key());
        self.client().get(&format!("/api/v1/tickets/{reference}"), &[("authorization", &auth)]).await
    }

    /// Hands a raw message to `POST /email/inbound`, as the mail gateway does.
    async fn mail_in(&self, raw: &[u8]) -> Result<Reply, String> {
        let headers = [("content-type", "message/rfc822"), ("x-sportello-mail-token", self.mail_token())];
        self.client().request("POST", "/email/inbound", &headers, raw.to_vec()).await
    }
}

/// The queue a target's escalations land on (its rulebook `sqs.queue`).
pub fn queue_of(rules: &Rules, target: &str) -> Option<String> {
    rules.targets.get(target)?.delivery.queue().map(str::to_string)
}

/// What `sportello demo --url` needs to act as every caller of a running server (its flags):
/// tokens from `sportello operators add`, a key from `sportello clients add` of the client the
/// demo acts as (`cast::api_client`: the one whose category tree reaches the most categories,
/// `io` in the default rulebook), the telephony platform's key and the mail gateway's secret.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RemoteCredentials {
    /// With --url: a token of an operator without the privacy role.
    #[arg(long, env = "SPORTELLO_DEMO_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// With --url: a token of a privacy operator.
    #[arg(long, env = "SPORTELLO_DEMO_PRIVACY_TOKEN", hide_env_values = true)]
    pub privacy_token: Option<String>,
    /// With --url: a token of a supervisor (declares and resolves an incident).
    #[arg(long, env = "SPORTELLO_DEMO_SUPERVISOR_TOKEN", hide_env_values = true)]
    pub supervisor_token: Option<String>,
    /// With --url: an API key of client `io`.
    #[arg(long, env = "SPORTELLO_DEMO_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// With --url: the telephony platform's key (`sportello clients add voice`).
    #[arg(long, env = "SPORTELLO_DEMO_TELEPHONY_KEY", hide_env_values = true)]
    pub telephony_key: Option<String>,
    /// With --url: the mail gateway's secret (the server's data/mail-token.txt).
    #[arg(long, env = "SPORTELLO_DEMO_MAIL_TOKEN", hide_env_values = true)]
    pub mail_token: Option<String>,
    /// Each target's notice secret (the server's `SPORTELLO_TARGET_SECRET_<TARGET>`).
    #[arg(skip)]
    pub notice_secrets: BTreeMap<String, Vec<u8>>,
}

impl RemoteCredentials {
    /// The secrets the server itself reads: `SPORTELLO_TARGET_SECRET_<TARGET>` per target.
    pub fn notice_secrets_from_env(rules: &Rules) -> BTreeMap<String, Vec<u8>> {
        rules
            .targets
            .keys()
            .filter_map(|t| {
                let secret = crate::settings::environment()
                    .get(&crate::settings::member("SPORTELLO_TARGET_SECRET_", t.as_str()))?;
                (!secret.is_empty()).then(|| (t.to_string(), secret.into_bytes()))
            })
            .collect()
    }
}

/// A Sportello already running: the demo talks to it over HTTP only. Its queues and outbox are
/// out of reach, its clock is its own, and its step workers run in the background.
pub struct Remote {
    callers: Callers,
    rules: Rules,
}

impl Remote {
    /// Checks the server answers and every credential is there and valid.
    pub async fn connect(url: &str, rules: Rules, credentials: RemoteCredentials) -> Result<Remote, String> {
        let client = Client::new(url)?;
        let health = client.get("/health", &[]).await.map_err(|e| format!("{url} does not answer: {e}"))?;
        if health.str("/status") != "ok" {
            return Err(format!("{url}/health: HTTP {} {}", health.status, health.text));
        }
        let need = |v: Option<String>, flag: &str, env: &str| {
            v.filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("--url needs {flag} (or {env})"))
        };
        let mut tokens = vec![
            (Staff::Operator, need(credentials.operator_token, "--operator-token", "SPORTELLO_DEMO_OPERATOR_TOKEN")?),
            (
                Staff::PrivacyOperator,
                need(credentials.privacy_token, "--privacy-token", "SPORTELLO_DEMO_PRIVACY_TOKEN")?,
            ),
            (
                Staff::Supervisor,
                need(credentials.supervisor_token, "--supervisor-token", "SPORTELLO_DEMO_SUPERVISOR_TOKEN")?,
            ),
        ];
        let api_key = need(credentials.api_key, "--api-key", "SPORTELLO_DEMO_API_KEY")?;
        let telephony_key = need(credentials.telephony_key, "--telephony-key", "SPORTELLO_DEMO_TELEPHONY_KEY")?;
        let mail_token = need(credentials.mail_token, "--mail-token", "SPORTELLO_DEMO_MAIL_TOKEN")?;
        let missing: Vec<String> = rules
            .targets
            .keys()
            .filter(|t| !credentials.notice_secrets.contains_key(t.as_str()))
            .map(|t| format!("SPORTELLO_TARGET_SECRET_{}", t.as_str().to_ascii_uppercase()))
            .collect();
        if !missing.is_empty() {
            return Err(format!("--url needs the targets' notice secrets the server has: set {}", missing.join(", ")));
        }
        let mut staff = BTreeMap::new();
        for (who, token) in tokens.drain(..) {
            let me = client.get("/operator/whoami", &[("authorization", &format!("Bearer {token}"))]).await?;
            if !me.is_success() {
                return Err(format!("the {who:?} token: HTTP {} {}", me.status, me.str("/detail")));
            }
            staff.insert(who, (me.str("/id").to_string(), token));
        }
        let secrets = credentials.notice_secrets;
        Ok(Remote { callers: Callers { client, staff, api_key, telephony_key, mail_token, secrets }, rules })
    }
}

#[async_trait]
impl Stage for Remote {
    fn callers(&self) -> &Callers {
        &self.callers
    }
    fn rules(&self) -> &Rules {
        &self.rules
    }
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
    fn owns_clock(&self) -> bool {
        false
    }
    async fn run_steps(&self) -> Result<(), String> {
        // The server's workers look at the queue every 200 ms.
        tokio::time::sleep(Duration::from_millis(800)).await;
        Ok(())
    }
    async fn escalations_on(&self, _queue: &str) -> Result<Option<Vec<Value>>, String> {
        Ok(None)
    }
    async fn sent_mail(&self) -> Result<Option<Vec<OutboxEntry>>, String> {
        Ok(None)
    }
}
