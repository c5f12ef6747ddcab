//! Mail through SES `SendRawEmail`, so the threading headers we build are the ones sent.

use super::unavailable;
use crate::ports::{Mailer, OutgoingMail, SentMail, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_ses::primitives::Blob;
use aws_sdk_ses::types::RawMessage;

#[derive(Clone)]
pub struct SesMailer {
    ses: super::SesClient,
}

impl SesMailer {
    pub fn new(ses: super::SesClient) -> Self {
        Self { ses }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingMail) -> StoreResult<SentMail> {
        let raw = mail.to_mime(jiff::Timestamp::now())?;
        let message =
            RawMessage::builder().data(Blob::new(raw)).build().map_err(|e| StoreError::Invalid(e.to_string()))?;
        let out = match self.ses.get().send_raw_email().raw_message(message).send().await {
            Ok(out) => out,
            // SES refuses this message as it is (an unverified sender in the sandbox, a virus):
            // sending it again would be refused again, so it is not a retryable failure.
            // SES's own text can name the addresses: it stays out of the error (and the logs).
            Err(e) if e.as_service_error().is_some_and(|s| s.is_message_rejected()) => {
                return Err(StoreError::Invalid("SES rejected the message (MessageRejected)".into()));
            }
            Err(e) => return Err(unavailable("SendRawEmail", e)),
        };
        tracing::info!(
            message_id = %mail.message_id,
            reference = ?mail.ticket.as_ref().map(|r| r.as_str()),
            ses_message_id = %out.message_id,
            "mail sent"
        );
        Ok(SentMail { message_id: mail.message_id.clone(), transport_id: out.message_id })
    }
}
