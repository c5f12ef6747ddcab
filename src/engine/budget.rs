//! The time an invocation has left, for work that pages itself (an incident's fan-out): a Lambda
//! function sets its deadline around a batch, and a page stops in time and queues what is left
//! rather than running into the timeout, which would have the whole batch delivered again.

use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` as the time it must be done by.
pub async fn until<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// What is left until a Lambda invocation's deadline (`context.deadline`, milliseconds since the
/// epoch).
pub fn lambda_time_left(deadline_ms: u64) -> Duration {
    let now_ms = u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0);
    Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// The deadline of a Lambda invocation, less `margin` for what follows the work (answering the
/// batch, deleting its messages).
pub fn lambda_deadline(deadline_ms: u64, margin: Duration) -> Instant {
    Instant::now() + lambda_time_left(deadline_ms).saturating_sub(margin)
}

/// What is left of the current deadline, at most `cap`; `cap` where no deadline is set (the
/// local server's workers, tests).
pub fn time_left(cap: Duration) -> Duration {
    DEADLINE.try_with(|d| d.saturating_duration_since(Instant::now())).map_or(cap, |left| left.min(cap))
}

/// Runs `work` concurrently on the current task, answers in order. Spawned tasks would lose the
/// task's context (this deadline, the invocation's trace that queued steps carry on).
pub async fn on_this_task<F: Future>(work: Vec<F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut pending: Vec<std::pin::Pin<Box<F>>> = work.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, future) in done.iter_mut().zip(pending.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(out) => *slot = Some(out),
                    Poll::Pending => all = false,
                }
            }
        }
        if all { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    done.into_iter().flatten().collect()
}
