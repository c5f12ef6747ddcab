//! One cheap call per AWS endpoint from a Lambda function's init, so that the DNS look-ups and
//! TLS handshakes a cold start needs (tens of ms each) start as early as they can, beside the
//! rest of the init and of the first invocation, rather than when the first request first needs
//! each endpoint; the pooled connections are then reused (see `lambda::run` for why the init
//! does not wait for them).

use super::Clients;
use std::time::Duration;

/// Calls DynamoDB `DescribeTable` on `table` and SQS `GetQueueAttributes` on the step queue,
/// concurrently, each within `timeout`. Never fails: a call that fails costs the first request
/// its handshake, as without a warm-up. A refused call (an IAM policy without that action) still
/// opened its connection, which is all the warm-up is for, so that is only logged at debug
/// level. DescribeTable is not billed; one GetQueueAttributes per cold start is.
pub async fn warm_up(clients: &Clients, table: &str, step_queue_url: &str, timeout: Duration) {
    let dynamodb = tokio::time::timeout(timeout, clients.dynamodb.describe_table().table_name(table).send());
    let sqs = tokio::time::timeout(
        timeout,
        clients
            .sqs
            .get_queue_attributes()
            .queue_url(step_queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send(),
    );
    let (dynamodb, sqs) = tokio::join!(dynamodb, sqs);
    report("dynamodb", &dynamodb);
    report("sqs", &sqs);
}

/// SES `GetSendQuota` (not billed) within `timeout`, for the functions that send mail: the same
/// as [`warm_up`], for SES's endpoint.
pub async fn warm_up_mail(ses: &aws_sdk_ses::Client, timeout: Duration) {
    report("ses", &tokio::time::timeout(timeout, ses.get_send_quota().send()).await);
}

fn report<T, E, R>(
    service: &str,
    outcome: &Result<Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>, tokio::time::error::Elapsed>,
) where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::SdkError;
    match outcome {
        Ok(Ok(_)) => tracing::debug!(service, "connection warmed up"),
        // The service answered: the connection is open and pooled.
        Ok(Err(SdkError::ServiceError(e))) => {
            tracing::debug!(service, error = %aws_sdk_dynamodb::error::DisplayErrorContext(e.err()), "warm-up call refused; connection open")
        }
        Ok(Err(e)) => {
            tracing::warn!(service, error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "warm-up call failed")
        }
        Err(_) => tracing::warn!(service, "warm-up call timed out"),
    }
}
