//! The reply queue on AWS: targets send resolution notices (`docs/resolution-notice.schema.json`)
//! to an SQS queue only they may write to (IAM); the `notices` function takes its batches here.
//!
//! A notice that can never be recorded (bad JSON, a wrong field, an unknown ticket or escalation,
//! another target's escalation) is moved at once to the dead-letter queue, with the reason as a
//! message attribute, when the function knows that queue; otherwise it is reported failed and
//! the redrive policy moves it after `maxReceiveCount` receives. A storage failure is reported
//! failed and retried. Duplicates are harmless: the same notice twice changes nothing.

use super::lambda::{SqsBatchResponse, SqsEvent};
use crate::engine::{Engine, EngineError};
use aws_sdk_sqs::types::MessageAttributeValue;

/// The reply queue's dead-letter queue, for refused notices.
#[derive(Clone)]
pub struct NoticeDeadLetters {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

impl NoticeDeadLetters {
    async fn put(&self, body: &str, message_id: &str, reason: &str) -> Result<(), String> {
        let attr = |v: &str| {
            MessageAttributeValue::builder().data_type("String").string_value(v).build().map_err(|e| e.to_string())
        };
        // SQS attributes hold at most 256 KiB with the body; a reason is short, but bound it.
        let reason: String = reason.chars().take(1000).collect();
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_attributes("sportello.refused", attr(&reason)?)
            .message_attributes(
                "sportello.source_message_id",
                attr(if message_id.is_empty() { "-" } else { message_id })?,
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    }
}

/// Handles a batch of reply-queue records; the answer lists the records to retry.
pub async fn handle_notice_batch(
    engine: &Engine,
    event: SqsEvent,
    dead_letters: Option<&NoticeDeadLetters>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let body = record.body.unwrap_or_default();
        let (refused, logged) = match engine.receive_notice_message(body.as_bytes()).await {
            Ok(ticket) => {
                tracing::info!(message_id = %message_id, reference = %ticket.reference, "resolution notice handled");
                continue;
            }
            Err(EngineError::Store(e)) => {
                tracing::warn!(message_id = %message_id, error = %e, "resolution notice: storage failed; retried");
                response.add_failure(message_id);
                continue;
            }
            // The whole message is at fault: no pointer to show.
            Err(EngineError::Invalid { field, message }) if field.is_empty() => (message.clone(), message),
            Err(e) => (e.to_string(), e.for_log()),
        };
        // The dead letter says where the message is wrong; the log leaves out what the target
        // wrote (a pointer can be one of its JSON keys), and never has the notice text.
        tracing::warn!(message_id = %message_id, reason = %logged, "resolution notice refused");
        let moved = match dead_letters {
            Some(dlq) if !body.is_empty() => dlq.put(&body, &message_id, &refused).await,
            _ => Err("no dead-letter queue to move it to".into()),
        };
        if let Err(e) = moved {
            // Left on the queue: the redrive policy moves it after its last receive.
            tracing::warn!(message_id = %message_id, error = %e, "refused notice left for the redrive policy");
            response.add_failure(message_id);
        }
    }
    response
}
