//! The SES path of the email channel: a receipt rule stores each message in S3 and publishes a
//! notification to SNS, SNS feeds an SQS queue, and a Lambda takes the queue's batches here.
//!
//! Each record's body is the SNS envelope of an SES "Received" notification: for an S3 action the
//! bucket and key of the stored message (any size SES accepts, read here with `GetObject`), for
//! an SNS action the raw MIME inline (base64; SES bounces mail over 150 KB on that path). Records
//! are handled one by one and failures reported per record (`ReportBatchItemFailures`), like
//! [`super::lambda::handle_batch`] does for steps: one poison message is retried and then
//! dead-lettered on its own, never with its batch. Redeliveries are harmless: the engine handles
//! each inbound message once (its Message-ID is the key).

use super::lambda::{SqsBatchResponse, SqsEvent};
use crate::email::{EmailError, MAX_EMAIL_BYTES, SesContent, parse_ses_notification};
use crate::engine::{EmailOutcome, Engine, EngineError};

/// Why one record could not be handled. Messages quote no content.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("the record has no body")]
    NoBody,
    #[error(transparent)]
    Notification(#[from] EmailError),
    #[error("the stored message s3://{bucket}/{key} cannot be read: {reason}")]
    Stored { bucket: String, key: String, reason: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The S3 objects SES's receipt rule stores inbound mail in.
#[derive(Clone)]
pub struct StoredMail {
    s3: aws_sdk_s3::Client,
}

impl StoredMail {
    pub fn new(s3: aws_sdk_s3::Client) -> Self {
        Self { s3 }
    }

    /// The raw message, refused unread when larger than [`MAX_EMAIL_BYTES`].
    pub async fn read(&self, bucket: &str, key: &str) -> Result<Vec<u8>, InboundError> {
        let failed = |reason: String| InboundError::Stored { bucket: bucket.into(), key: key.into(), reason };
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| failed(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
        let size = object.content_length().unwrap_or(0).max(0) as usize;
        if size > MAX_EMAIL_BYTES {
            return Err(EmailError::TooLarge { size, limit: MAX_EMAIL_BYTES }.into());
        }
        let bytes = object.body.collect().await.map_err(|e| failed(e.to_string()))?.into_bytes();
        if bytes.len() > MAX_EMAIL_BYTES {
            return Err(EmailError::TooLarge { size: bytes.len(), limit: MAX_EMAIL_BYTES }.into());
        }
        Ok(bytes.to_vec())
    }
}

/// Handles one SQS record carrying an SNS-wrapped SES notification; `stored` reads the messages
/// an S3 action stored (without it, such a record fails and says so).
pub async fn handle_ses_record_from(
    engine: &Engine,
    stored: Option<&StoredMail>,
    body: Option<&str>,
) -> Result<EmailOutcome, InboundError> {
    let body = body.ok_or(InboundError::NoBody)?;
    let (content, verdicts) = parse_ses_notification(body)?;
    let raw = match content {
        SesContent::Inline(raw) => raw,
        SesContent::S3 { bucket, key } => match stored {
            Some(store) => store.read(&bucket, &key).await?,
            None => {
                return Err(
                    EmailError::ContentNotInline { action: "S3".into(), bucket: Some(bucket), key: Some(key) }.into()
                );
            }
        },
    };
    Ok(engine.receive_email(&raw, Some(verdicts)).await?)
}

/// Handles one record whose message is inline in the notification.
pub async fn handle_ses_record(engine: &Engine, body: Option<&str>) -> Result<EmailOutcome, InboundError> {
    handle_ses_record_from(engine, None, body).await
}

/// Handles a batch; the answer lists the records to retry.
pub async fn handle_mail_batch(engine: &Engine, stored: Option<&StoredMail>, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        match handle_ses_record_from(engine, stored, record.body.as_deref()).await {
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

/// [`handle_mail_batch`] for notifications that carry their message inline.
pub async fn handle_email_batch(engine: &Engine, event: SqsEvent) -> SqsBatchResponse {
    handle_mail_batch(engine, None, event).await
}
