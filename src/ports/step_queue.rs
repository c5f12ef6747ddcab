//! The durable queue that chains steps (intake → triage → … → notify).

use super::{StoreError, StoreResult};
use crate::domain::TicketId;
use async_trait::async_trait;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::time::Duration;

/// SQS allows 10 message attributes; two carry the step name and the deduplication id.
pub const MAX_ATTRIBUTES: usize = 8;
/// Attribute names the queue itself uses.
pub const STEP_ATTRIBUTE: &str = "sportello.step";
pub const DEDUP_ATTRIBUTE: &str = "sportello.dedup_id";
/// SQS's message size limit, which the embedded queue keeps too so both behave alike.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// A step waiting in a store's outbox to be published.
#[derive(Debug, Clone, PartialEq)]
pub struct Outboxed {
    pub ticket: TicketId,
    /// When it was stored (an intake's: the ticket's creation; a change's: its `updated_at`).
    pub queued_at: Timestamp,
    pub step: StepMessage,
}

/// A message for a step handler.
#[derive(Debug, Clone, PartialEq)]
pub struct StepMessage {
    /// The step to run (`triage`, `escalation_dispatch`...).
    pub step: String,
    /// Identifies the *effect*: the same id within the window is published once and run once.
    pub dedup_id: String,
    pub body: serde_json::Value,
    /// Routing and tracing data (`ticket_id`, `reference`...). Never personal data.
    pub attributes: BTreeMap<String, String>,
}

impl StepMessage {
    pub fn new(step: impl Into<String>, dedup_id: impl Into<String>, body: serde_json::Value) -> Self {
        Self { step: step.into(), dedup_id: dedup_id.into(), body, attributes: BTreeMap::new() }
    }

    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }

    /// The key a handler claims before acting (see [`super::run_once`]).
    pub fn idempotency_key(&self) -> String {
        format!("step:{}:{}", self.step, self.dedup_id)
    }

    /// What both queues refuse before publishing.
    pub fn validate(&self) -> StoreResult<()> {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 80
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        };
        if !name_ok(&self.step) {
            return Err(StoreError::Invalid("a step name has 1 to 80 of [A-Za-z0-9_.-]".into()));
        }
        if self.dedup_id.is_empty() || self.dedup_id.len() > 128 || self.dedup_id.chars().any(|c| !c.is_ascii_graphic())
        {
            return Err(StoreError::Invalid("a deduplication id has 1 to 128 printable ASCII characters".into()));
        }
        if self.attributes.len() > MAX_ATTRIBUTES {
            return Err(StoreError::Invalid(format!("at most {MAX_ATTRIBUTES} attributes")));
        }
        for (name, value) in &self.attributes {
            if !name_ok(name) || name.starts_with("sportello.") || name.starts_with("aws.") {
                return Err(StoreError::Invalid(format!("attribute name `{name}` is not allowed")));
            }
            if value.is_empty() {
                // SQS refuses empty string attributes.
                return Err(StoreError::Invalid(format!("attribute `{name}` is empty")));
            }
        }
        if self.body.to_string().len() > MAX_MESSAGE_BYTES {
            return Err(StoreError::Invalid("message body over 256 KiB".into()));
        }
        Ok(())
    }
}

/// A step handler's error, as the consumers of a step queue tell them apart.
pub trait StepError: std::fmt::Display {
    /// Another worker is producing this message's effect right now: the message comes back
    /// after its visibility timeout and finds the work done. Not a failure, so not logged as one.
    fn is_busy(&self) -> bool {
        false
    }
}

/// The answer to a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub message_id: String,
    /// A message with this deduplication id was published within the window: nothing was sent.
    pub duplicate: bool,
}

/// A received message, invisible to other consumers until its visibility timeout runs out.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub message_id: String,
    /// Changes at every receive; ack and nack take it.
    pub receipt: String,
    /// How many times the message has been received, this time included.
    pub attempts: u32,
    pub message: StepMessage,
}

/// A message that failed `max_attempts` times, kept whole: the body is the exact text that was
/// queued, so even a message whose body no longer parses can be inspected and re-driven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: String,
    pub attempts: u32,
    pub step: String,
    pub dedup_id: String,
    pub raw_body: String,
    pub attributes: BTreeMap<String, String>,
}

impl DeadLetter {
    /// The message as it was published.
    pub fn message(&self) -> StoreResult<StepMessage> {
        let body = serde_json::from_str(&self.raw_body).map_err(|e| {
            StoreError::Corrupt(format!(
                "dead letter {}: body is not JSON (line {}, column {})",
                self.message_id,
                e.line(),
                e.column()
            ))
        })?;
        Ok(StepMessage {
            step: self.step.clone(),
            dedup_id: self.dedup_id.clone(),
            body,
            attributes: self.attributes.clone(),
        })
    }
}

#[async_trait]
pub trait StepQueue: Send + Sync {
    /// Enqueues `message` unless one with the same `dedup_id` was published within the window.
    async fn publish(&self, message: &StepMessage) -> StoreResult<Published>;

    /// Up to `max` (1–10) visible messages, each hidden for `visibility`. A message that was
    /// already received `max_attempts` times goes to the dead letters instead.
    async fn receive(&self, max: usize, visibility: Duration) -> StoreResult<Vec<Delivery>>;

    /// Deletes a handled message. Acking twice, or after the message was deleted, is harmless.
    async fn ack(&self, receipt: &str) -> StoreResult<()>;

    /// Gives a message back at once instead of waiting for its visibility timeout.
    async fn nack(&self, receipt: &str) -> StoreResult<()>;

    /// Up to `max` dead letters, oldest first, without removing them.
    async fn dead_letters(&self, max: usize) -> StoreResult<Vec<DeadLetter>>;

    /// Puts up to `max` dead letters back on the queue with their attempts reset; returns how
    /// many moved. They keep their deduplication id, so handlers still run their effect once.
    async fn redrive(&self, max: usize) -> StoreResult<usize>;
}

pub(crate) fn validate_batch(max: usize) -> StoreResult<()> {
    if (1..=10).contains(&max) { Ok(()) } else { Err(StoreError::Invalid("receive 1 to 10 messages at a time".into())) }
}
