//! The local reply queue: targets (or a person standing in for one) put resolution notices on
//! it, the server's worker hands each to the engine. On AWS the `notices` function reads the SQS
//! reply queue instead.
//!
//! A body is kept as the exact text that was sent, like an SQS body, so even broken JSON reaches
//! the engine and, refused, the dead letters, where a person can read it.

use super::{Db, SqliteQueue};
use crate::engine::{Engine, EngineError};
use crate::ports::{DeadLetter, Published, StepMessage, StepQueue, StoreError, StoreResult};
use serde_json::Value;
use std::time::Duration;

/// The queue's name when the settings name none (`SPORTELLO_REPLY_QUEUE`).
pub const LOCAL_REPLY_QUEUE: &str = "sportello-resolution-notices";
/// The step name the messages carry.
pub const NOTICE_STEP: &str = "resolution_notice";
/// Receives before a message that keeps failing for want of storage is dead-lettered.
const MAX_ATTEMPTS: u32 = 5;
/// A notice sent twice within this window is queued once (and recorded once anyway).
const DEDUP_WINDOW: Duration = Duration::from_secs(24 * 3600);
const VISIBILITY: Duration = Duration::from_secs(60);

/// What one pass over the queue did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    /// Recorded (or already recorded: a duplicate).
    pub handled: usize,
    /// Refused for good: moved to the dead letters.
    pub dead_lettered: usize,
    /// Failed for want of storage: tried again after the visibility timeout.
    pub retried: usize,
}

#[derive(Clone)]
pub struct ReplyQueue {
    queue: SqliteQueue,
}

impl ReplyQueue {
    pub fn new(db: Db, name: impl Into<String>) -> Self {
        Self { queue: SqliteQueue::new(db, name, MAX_ATTEMPTS, DEDUP_WINDOW) }
    }

    pub fn name(&self) -> &str {
        self.queue.name()
    }

    /// Queues a notice message as sent (its raw bytes, valid or not).
    pub async fn publish(&self, raw: &[u8]) -> StoreResult<Published> {
        let text =
            std::str::from_utf8(raw).map_err(|_| StoreError::Invalid("a notice message is UTF-8 text".into()))?;
        let digest = crate::text::sha256_hex(raw);
        self.queue.publish(&StepMessage::new(NOTICE_STEP, digest, Value::String(text.to_string()))).await
    }

    /// Refused messages, oldest first.
    pub async fn dead_letters(&self, max: usize) -> StoreResult<Vec<DeadLetter>> {
        self.queue.dead_letters(max).await
    }

    /// Hands up to 10 waiting notices to the engine.
    pub async fn drain(&self, engine: &Engine) -> StoreResult<Drained> {
        let mut drained = Drained::default();
        for delivery in self.queue.receive(10, VISIBILITY).await? {
            let raw = match &delivery.message.body {
                Value::String(text) => text.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            };
            match engine.receive_notice_message(&raw).await {
                Ok(_) => {
                    self.queue.ack(&delivery.receipt).await?;
                    drained.handled += 1;
                }
                Err(EngineError::Store(e)) => {
                    // Seen again once its visibility timeout runs out; dead-lettered after
                    // MAX_ATTEMPTS receives.
                    tracing::warn!(message_id = %delivery.message_id, error = %e, "resolution notice: storage failed; retried");
                    drained.retried += 1;
                }
                Err(e) => {
                    // Neither the notice text nor the target's own JSON keys reach the log.
                    tracing::warn!(message_id = %delivery.message_id, error = %e.for_log(), "resolution notice refused; dead-lettered");
                    self.queue.dead_letter(&delivery.receipt).await?;
                    drained.dead_lettered += 1;
                }
            }
        }
        Ok(drained)
    }

    /// Drains the queue until the process ends.
    pub async fn run(self, engine: Engine) {
        loop {
            match self.drain(&engine).await {
                Ok(d) if d.handled + d.dead_lettered > 0 => {}
                Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                Err(e) => {
                    tracing::warn!(error = %e, "reply queue unavailable");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}
