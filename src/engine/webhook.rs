//! API clients' signed webhooks. A client may register a URL (and gets a secret); when one of its
//! tickets is resolved with an answer, a `webhook` step POSTs a signed JSON event there (see
//! [`crate::ports::webhook`]). Through the step queue, so a client that is down is tried again,
//! and after the queue's last attempt the step waits in the dead letters. Delivery is at least
//! once: the event's `id` is what a client dedupes on.
//!
//! Registrations: locally `webhooks.json` beside the API key file (`sportello clients add
//! <client> --webhook <url>` writes it, printing the secret once); on AWS
//! `SPORTELLO_WEBHOOK_<CLIENT>` (the URL) and `SPORTELLO_WEBHOOK_SECRET_<CLIENT>`.

use super::Refusal;
use super::{Engine, EngineError};
use crate::domain::{ActorRole, Event, EventKind, Ticket, TicketId};
use crate::ports::webhook::{WebhookRequest, WebhookSender, sign};
use crate::ports::{StepMessage, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The step that POSTs one event.
pub const WEBHOOK: &str = "webhook";

/// One client's registration. The secret signs; it is never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    pub secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).finish_non_exhaustive()
    }
}

/// The local registrations file: client id → webhook.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WebhookFile {
    #[serde(default)]
    pub webhooks: BTreeMap<String, Webhook>,
}

impl WebhookFile {
    /// Reads the file; a missing file has no webhooks.
    pub fn read(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes the file, readable by its owner only (it holds the secrets).
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())? + "\n";
        // Private from the start: the temporary file is never readable by others either.
        crate::secrets::write_private(path, text.as_bytes())
    }

    /// Registers (or replaces) `client`'s webhook with a new secret; returns the secret.
    pub fn register(&mut self, client: &str, url: &str) -> Result<String, String> {
        crate::ports::webhook::check_url(url)?;
        let secret = format!("whsec_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        self.webhooks.insert(client.to_string(), Webhook { url: url.to_string(), secret: secret.clone() });
        Ok(secret)
    }
}

/// The registrations and the sender the engine posts with.
#[derive(Clone)]
pub struct Webhooks {
    hooks: BTreeMap<String, Webhook>,
    sender: Arc<dyn WebhookSender>,
}

impl Webhooks {
    pub fn new(hooks: BTreeMap<String, Webhook>, sender: Arc<dyn WebhookSender>) -> Self {
        Self { hooks, sender }
    }

    /// A deployment's webhooks when none is registered: clients read their tickets' status.
    pub fn none() -> Self {
        Self::new(BTreeMap::new(), Arc::new(crate::ports::webhook::NoWebhookSender))
    }

    /// From `SPORTELLO_WEBHOOK_<CLIENT>` and `SPORTELLO_WEBHOOK_SECRET_<CLIENT>` for each of the
    /// rulebook's clients (id upper-cased, `-` as `_`); a URL without its secret is skipped.
    pub fn from_env(rules: &crate::rules::Model, sender: Arc<dyn WebhookSender>) -> Self {
        Self::from_vars(rules, sender, &crate::settings::environment().lookup())
    }

    /// [`Self::from_env`] from another source of settings (a Lambda function's).
    pub fn from_vars(
        rules: &crate::rules::Model,
        sender: Arc<dyn WebhookSender>,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Self {
        use crate::settings::member;
        let mut hooks = BTreeMap::new();
        for client in rules.clients.keys().map(|c| c.as_str()) {
            match (var(&member("SPORTELLO_WEBHOOK_", client)), var(&member("SPORTELLO_WEBHOOK_SECRET_", client))) {
                (Some(url), Some(secret)) => {
                    hooks.insert(client.to_string(), Webhook { url, secret });
                }
                (Some(_), None) => tracing::warn!(client, "webhook URL without its secret; not used"),
                _ => {}
            }
        }
        Self { hooks, sender }
    }

    pub fn get(&self, client: &str) -> Option<&Webhook> {
        self.hooks.get(client)
    }
}

/// The client that opened a ticket through the API: the `created` event's requester actor.
fn client_of(events: &[Event]) -> Option<&str> {
    events
        .iter()
        .find(|e| e.kind == EventKind::Created && e.actor.role == ActorRole::Requester)
        .map(|e| e.actor.id.as_str())
}

impl Engine {
    pub fn with_webhooks(mut self, webhooks: Webhooks) -> Self {
        self.webhooks = Arc::new(webhooks);
        self
    }

    /// Queues the `ticket.resolved` webhook of answer `answer_id` when the ticket's client has
    /// one. Published once per answer (the deduplication id), whatever the retries.
    pub(super) async fn queue_client_webhook(
        &self,
        ticket: &Ticket,
        events: &[Event],
        answer_id: &str,
    ) -> Result<(), EngineError> {
        let Some(client) = client_of(events) else {
            return Ok(());
        };
        if self.webhooks.get(client).is_none() {
            return Ok(());
        }
        let step = StepMessage::new(
            WEBHOOK,
            format!("{}.webhook.{answer_id}", ticket.id),
            json!({"ticket_id": ticket.id, "answer_id": answer_id, "client": client}),
        )
        .with_attribute("ticket_id", ticket.id.to_string())
        .with_attribute("reference", ticket.reference.to_string());
        self.ports.steps.publish(&step).await?;
        Ok(())
    }

    /// Whether an answer on `ticket` is sent anywhere: always, but on the API channel, where the
    /// client reads it on the ticket and only a client with a webhook is sent a call. Without
    /// one, a resolution needs no delivery step and no claim on it (two items fewer in its write,
    /// and no second write to record the delivery).
    /// `events`: the ticket's, when the caller has read them.
    pub(super) async fn answer_is_sent(&self, ticket: &Ticket, events: Option<&[Event]>) -> Result<bool, EngineError> {
        if ticket.channel_kind != crate::domain::ChannelKind::Api {
            return Ok(true);
        }
        if self.webhooks.hooks.is_empty() {
            return Ok(false);
        }
        let client = match events {
            Some(events) => client_of(events).map(str::to_owned),
            None => client_of(&self.ports.events.list(&ticket.id).await?).map(str::to_owned),
        };
        Ok(client.is_some_and(|client| self.webhooks.get(&client).is_some()))
    }

    /// The `webhook` step: POSTs the signed event; anything but a 2xx is an error, so the step
    /// is tried again.
    pub async fn send_webhook(&self, id: &TicketId, answer_id: &str, client: &str) -> Result<u16, EngineError> {
        let webhooks = &self.webhooks;
        let hook = webhooks.get(client).ok_or_else(|| EngineError::NotFound(format!("webhook of client {client}")))?;
        let ticket = self.ports.tickets.get(id).await?;
        let events = self.ports.events.list(id).await?;
        if client_of(&events) != Some(client) {
            return Err(Refusal::Channel(format!("ticket {} is not client {client}'s", ticket.reference)).into());
        }
        let answered = events
            .iter()
            .find(|e| {
                e.kind == EventKind::Answered && e.detail.get("answer_id").and_then(|v| v.as_str()) == Some(answer_id)
            })
            .ok_or_else(|| EngineError::NotFound(format!("answer {answer_id} on ticket {id}")))?;
        let now = self.now();
        let body = json!({
            "id": format!("{}.resolved.{answer_id}", ticket.id),
            "type": "ticket.resolved",
            "created": now.as_second(),
            "data": {
                "reference": ticket.reference,
                "state": ticket.state,
                "category": ticket.category,
                "answer": answered.detail.get("body"),
                "answered_at": answered.at,
            },
        });
        let body = serde_json::to_vec(&body).map_err(|e| EngineError::Store(StoreError::Invalid(e.to_string())))?;
        let request = WebhookRequest {
            url: hook.url.clone(),
            signature: sign(hook.secret.as_bytes(), now.as_second(), &body),
            body,
        };
        let status = webhooks.sender.post(&request).await?;
        if !(200..300).contains(&status) {
            tracing::warn!(ticket = %ticket.id, reference = %ticket.reference, client, status, "webhook refused; retried");
            return Err(EngineError::Store(StoreError::Unavailable(format!("the client's webhook answered {status}"))));
        }
        tracing::info!(ticket = %ticket.id, reference = %ticket.reference, client, status, "webhook delivered");
        Ok(status)
    }
}
