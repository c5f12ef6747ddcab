//! The SES path of the email channel: a receipt rule publishes each message to SNS, SNS feeds an
//! SQS queue, and a Lambda takes the queue's batches here.
//!
//! Each record's body is the SNS envelope of an SES "Received" notification (raw MIME inline,
//! base64). Records are handled one by one and failures reported per record
//! (`ReportBatchItemFailures`), like [`super::lambda::handle_batch`] does for steps: one poison
//! message is retried and then dead-lettered on its own, never with its batch. Redeliveries are
//! harmless: the engine handles each inbound message once (its Message-ID is the key).

use super::lambda::{SqsBatchResponse, SqsEvent};
use crate::email::parse_ses_sns_notification;
use crate::engine::{EmailOutcome, Engine, EngineError};

/// Why one record could not be handled. Messages quote no content.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("the record has no body")]
    NoBody,
    #[error(transparent)]
    Notification(#[from] crate::email::EmailError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Handles one SQS record carrying an SNS-wrapped SES notification.
pub async fn handle_ses_record(engine: &Engine, body: Option<&str>) -> Result<EmailOutcome, InboundError> {
    let body = body.ok_or(InboundError::NoBody)?;
    let (raw, verdicts) = parse_ses_sns_notification(body)?;
    Ok(engine.receive_email(&raw, Some(verdicts)).await?)
}

/// Handles a batch; the answer lists the records to retry.
pub async fn handle_email_batch(engine: &Engine, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        match handle_ses_record(engine, record.body.as_deref()).await {
            Ok(outcome) => tracing::info!(
                message_id = %message_id,
                action = ?outcome.action,
                reference = ?outcome.reference.as_ref().map(|r| r.as_str()),
                "inbound mail handled"
            ),
            Err(e) => {
                // Left on the queue: retried, then moved whole to its dead-letter queue.
                tracing::warn!(message_id = %message_id, error = %e, "inbound mail not handled");
                response.add_failure(message_id);
            }
        }
    }
    response
}
