//! One bounded way to retry a read-modify-write after a version conflict.
//!
//! Every change to a ticket reads it, decides, and writes it back with the version it read; a
//! writer that lost the race gets `StoreError::Conflict` and starts again from a fresh read. Under
//! heavy contention (a burst of chat messages, the clock and an operator on one ticket) that could
//! go on for ever: [`Attempts`] stops it after [`MAX_ATTEMPTS`], waiting a little longer, with
//! jitter, between attempts so that writers stop colliding in lockstep.
//!
//! ```ignore
//! let mut attempts = Attempts::new(format!("triage of ticket {id}"));
//! loop {
//!     let ticket = read().await?;
//!     match write(ticket).await {
//!         Ok(saved) => return Ok(saved),
//!         Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
//!         Err(e) => return Err(e.into()),
//!     }
//! }
//! ```

use super::EngineError;
use super::Refusal;
use std::time::Duration;

/// Attempts before giving up: a conflict means another writer finished, so each attempt makes
/// progress somewhere; eight in a row lost is contention a caller should hear about.
pub const MAX_ATTEMPTS: usize = 8;
/// The first wait; it doubles after each conflict, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// The attempts of one read-modify-write.
#[derive(Debug)]
pub struct Attempts {
    /// What is being changed, for the error and the log (`triage of ticket …`).
    what: String,
    lost: usize,
    wait: Duration,
}

impl Attempts {
    pub fn new(what: impl Into<String>) -> Self {
        Self { what: what.into(), lost: 0, wait: FIRST_BACKOFF }
    }

    /// Called after a lost race: waits before the next attempt, or, once [`MAX_ATTEMPTS`] are
    /// used, gives up with a conflict that says so (HTTP answers it 409, with the same words).
    pub async fn conflict(&mut self) -> Result<(), EngineError> {
        self.lost += 1;
        if self.lost >= MAX_ATTEMPTS {
            tracing::warn!(attempts = self.lost, what = %self.what, "gave up on a change: the ticket kept changing");
            return Err(Refusal::Contended(format!(
                "{}: gave up after {} attempts, the ticket kept changing under other writers; read it again \
                 and retry",
                self.what, self.lost
            ))
            .into());
        }
        tokio::time::sleep(jittered(self.wait)).await;
        self.wait = (self.wait * 2).min(MAX_BACKOFF);
        Ok(())
    }
}

/// Between half and all of `wait`, so that writers that collided do not collide again.
fn jittered(wait: Duration) -> Duration {
    let half = wait / 2;
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    half + Duration::from_nanos(random % (half.as_nanos().max(1) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_longer_each_time_then_gives_up_with_a_clear_error() {
        let mut attempts = Attempts::new("triage of ticket 42");
        let started = std::time::Instant::now();
        for _ in 1..MAX_ATTEMPTS {
            attempts.conflict().await.unwrap();
        }
        // 2.5 + 5 + 10 + 20 + 40 + 80 + 100 ms at least: a loop of conflicts no longer spins.
        assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
        let Err(EngineError::Refused(Refusal::Contended(message))) = attempts.conflict().await else {
            panic!("should give up")
        };
        assert_eq!(
            message,
            "triage of ticket 42: gave up after 8 attempts, the ticket kept changing under other writers; \
             read it again and retry"
        );
    }

    #[test]
    fn jitter_stays_within_the_wait() {
        for _ in 0..100 {
            let j = jittered(Duration::from_millis(40));
            assert!(j >= Duration::from_millis(20) && j <= Duration::from_millis(40), "{j:?}");
        }
    }
}
