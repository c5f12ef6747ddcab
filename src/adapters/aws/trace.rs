//! The X-Ray trace carried through the step queue. Each invocation runs with its trace header
//! (`Root=1-…;Parent=…;Sampled=…`, Lambda's `Lambda-Runtime-Trace-Id`), and each step message
//! it sends carries it as the SQS system attribute `AWSTraceHeader`. The consumer runs each
//! record with the header its message carries, so its log lines (`xray_trace_id`) and the steps
//! it sends on belong to the trace that queued the work.

use std::future::Future;

/// The SQS message system attribute that carries an X-Ray trace header.
pub const SQS_ATTRIBUTE: &str = "AWSTraceHeader";
/// The variable lambda_runtime sets to the trace header of the invocation in progress (when it
/// runs one invocation at a time, as Sportello's functions do).
pub const LAMBDA_VARIABLE: &str = "_X_AMZN_TRACE_ID";

tokio::task_local! {
    static HEADER: Option<String>;
}

/// Runs `work` with `header` as its trace (an invalid one counts as none).
pub async fn within<F: Future>(header: Option<String>, work: F) -> F::Output {
    HEADER.scope(header.filter(|h| is_trace_header(h)), work).await
}

/// The trace header of the work in progress: the one [`within`] set for this task, else the
/// invocation's from lambda_runtime's variable; none outside Lambda.
pub fn current() -> Option<String> {
    match HEADER.try_with(Clone::clone) {
        Ok(scoped) => scoped,
        Err(_) => std::env::var(LAMBDA_VARIABLE).ok().filter(|h| is_trace_header(h)),
    }
}

/// An X-Ray trace header as SQS accepts it: `Root=1-<8 hex>-<24 hex>` first, then optional
/// `;key=value` parts (Parent, Sampled, Lineage), printable ASCII, at most 256 bytes. Anything
/// else is not sent, rather than have SQS refuse the step message.
pub fn is_trace_header(header: &str) -> bool {
    let Some(rest) = header.strip_prefix("Root=1-") else { return false };
    let root = rest.split(';').next().unwrap_or_default();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let root_ok = matches!(root.split_once('-'), Some((time, id)) if hex(time, 8) && hex(id, 24));
    root_ok && header.len() <= 256 && header.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Root=1-6753a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";

    #[test]
    fn trace_headers_are_recognised() {
        assert!(is_trace_header(HEADER));
        assert!(is_trace_header("Root=1-6753a1b2-0123456789abcdef01234567"));
        for bad in ["", "Root=1-xyz", "Parent=53995c3f42cd8ad8", "Root=1-6753a1b2-0123456789abcdef01234567;Sampled=1 x"]
        {
            assert!(!is_trace_header(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn the_scoped_header_wins_and_an_invalid_one_is_none() {
        assert_eq!(within(Some(HEADER.into()), async { current() }).await.as_deref(), Some(HEADER));
        assert_eq!(within(Some("garbage".into()), async { current() }).await, None);
    }
}
