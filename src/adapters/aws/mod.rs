//! The AWS adapters (cargo feature `aws`): DynamoDB for tickets, events and idempotency records
//! (single table, see `docs/dynamodb.md`), SQS for step queues, SES for mail.
//!
//! Build the SDK configuration once per cold start ([`load_config`]) and share the clients.

mod dedup;
pub mod email_inbound;
mod escalation;
pub mod lambda;
mod mailer;
mod queue;
pub mod table;
mod tickets;

pub use escalation::AwsEscalation;
pub use mailer::SesMailer;
pub use queue::{SqsQueue, create_queue_with_dlq};
pub use tickets::DynamoStore;

use crate::ports::StoreError;
use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;

/// The SDK configuration from the environment (credentials, region), optionally aimed at another
/// endpoint (moto in tests, LocalStack on a laptop).
pub async fn load_config(endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// An SDK call failed in a way the caller can only retry. The text names the operation and the
/// service's error code; AWS error messages name attributes, not their values.
pub(crate) fn unavailable<E, R>(op: &str, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(format!("{op}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))
}
