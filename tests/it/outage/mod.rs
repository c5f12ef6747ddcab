//! Sized for an outage day, on every adapter set (the embedded store and, with `--features aws`,
//! DynamoDB on moto): large resolution notices kept out of the ticket record, an incident's
//! fan-out in pages that fit their time, a purge in pages, chat polls that read only what is new.

/// Runs `case(&dyn Backend)` as two tests, `<case>::embedded` and (with `aws`) `<case>::aws`.
macro_rules! on_every_store {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() {
                    let backend = crate::support::backend::embedded::EmbeddedBackend::new().await;
                    super::$case(&backend).await;
                }
                #[cfg(feature = "aws")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn aws() {
                    let backend = crate::support::backend::aws::MotoBackend::new().await;
                    super::$case(&backend).await;
                }
            }
        )*
    };
}

mod chat_poll;
mod fan_out;
mod notices;
mod purge;
