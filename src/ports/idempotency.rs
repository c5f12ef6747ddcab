//! Exactly-once effects over at-least-once delivery (Powertools-style idempotency records).
//!
//! A step handler claims the message's key before acting. The record is `INPROGRESS` for a lease
//! (so a crashed worker's claim runs out and the step is retried), then `COMPLETED` for a window
//! during which redeliveries are recognised and skipped.

use super::event_log::{Completion, EventLog};
use super::{StoreError, StoreResult};
use async_trait::async_trait;
use std::future::Future;
use std::time::Duration;

/// The answer to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Nobody holds the key (or the last holder's lease ran out): go ahead.
    Acquired,
    /// It was done already, within the completed window: skip it.
    Completed,
    /// Another worker holds an unexpired lease: leave the message for later.
    InProgress,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Atomically takes `key` for `lease` unless it is completed or leased by someone else.
    async fn claim(&self, key: &str, lease: Duration) -> StoreResult<Claim>;
    /// Marks `key` done; redeliveries within `keep_for` are recognised.
    async fn complete(&self, key: &str, keep_for: Duration) -> StoreResult<()>;
    /// Drops a claim after a failure so a retry may run at once.
    async fn release(&self, key: &str) -> StoreResult<()>;
}

/// An idempotency key a write takes for its writer, in the write's own transaction (a new
/// ticket's, a resolution's): the effect the write makes due (the new ticket's acknowledgement,
/// the answer's delivery) is then the writer's to produce with [`run_claimed`], with no claim of
/// its own to make. Anyone else (a redelivery, the queued step) finds the key held until `lease`
/// runs out, then takes it over as with any claim. Only for keys new by construction (they carry
/// the new ticket's or answer's id): stores write the claim without looking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub key: String,
    pub lease: Duration,
}

impl Lease {
    pub fn new(key: impl Into<String>, lease: Duration) -> Self {
        Self { key: key.into(), lease }
    }
}

/// What [`run_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOnce<T> {
    Ran(T),
    AlreadyDone,
    InProgress,
}

#[derive(Debug, thiserror::Error)]
pub enum RunOnceError<E> {
    #[error(transparent)]
    Store(StoreError),
    #[error("step handler failed: {0}")]
    Handler(E),
}

/// Runs `effect` at most once per `key` while the record lasts.
pub async fn run_once<T, E, F, Fut>(
    store: &dyn IdempotencyStore,
    key: &str,
    lease: Duration,
    keep_for: Duration,
    effect: F,
) -> Result<RunOnce<T>, RunOnceError<E>>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    match store.claim(key, lease).await.map_err(RunOnceError::Store)? {
        Claim::Completed => return Ok(RunOnce::AlreadyDone),
        Claim::InProgress => return Ok(RunOnce::InProgress),
        Claim::Acquired => {}
    }
    match effect().await {
        Ok(value) => {
            // The effect happened: reporting a failure now would make the message be retried and
            // the effect repeated once the lease ran out. Say so in the log and carry on.
            if let Err(e) = store.complete(key, keep_for).await {
                tracing::warn!(error = %e, "could not mark a step completed");
            }
            Ok(RunOnce::Ran(value))
        }
        Err(e) => {
            if let Err(release) = store.release(key).await {
                // The lease will run out instead.
                tracing::warn!(error = %release, "could not release a failed step's claim");
            }
            Err(RunOnceError::Handler(e))
        }
    }
}

/// Produces the effect of a key the caller's own write claimed (a [`Lease`]), then marks it done
/// with the events `effect` returns, through `completion` (one write); on failure the claim is
/// released for a retry. The effect's value comes back with its events.
pub async fn run_claimed<T, E, F, Fut>(
    store: &dyn IdempotencyStore,
    events: &dyn EventLog,
    completion: Completion<'_>,
    effect: F,
) -> Result<T, RunOnceError<E>>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(T, Vec<crate::domain::Event>), E>>,
{
    match effect().await {
        Ok((value, recorded)) => {
            // The effect happened: failing to record it must not repeat it (see `run_once`), so
            // the claim is at least marked done on its own.
            if let Err(e) = events.append_completing(&recorded, &completion).await {
                tracing::warn!(error = %e, "effect done but not recorded");
                if let Err(e) = store.complete(completion.key, completion.keep_for).await {
                    tracing::warn!(error = %e, "could not mark a claimed effect completed");
                }
            }
            Ok(value)
        }
        Err(e) => {
            if let Err(release) = store.release(completion.key).await {
                tracing::warn!(error = %release, "could not release a failed effect's claim");
            }
            Err(RunOnceError::Handler(e))
        }
    }
}

/// Idempotency keys are stored as record keys; refuse what no backend can hold.
pub fn validate_key(key: &str) -> StoreResult<()> {
    if key.is_empty() || key.len() > 512 || key.chars().any(char::is_control) {
        return Err(StoreError::Invalid("an idempotency key has 1 to 512 bytes and no control characters".into()));
    }
    Ok(())
}

/// Milliseconds since the epoch, the unit records keep their expiry in.
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// `now_ms()` plus `d`, saturating.
pub(crate) fn ms_after(d: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
