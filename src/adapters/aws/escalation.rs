//! Escalations on AWS: a queue route sends the schema'd JSON to the target's SQS queue, sent once
//! per escalation id; an e-mail route goes through SES.

use super::dedup::{Begin, Records};
use super::{SesMailer, unavailable};
use crate::ports::{EscalationDelivery, EscalationMessage, EscalationRoute, Mailer, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_sqs::types::MessageAttributeValue;
use std::time::Duration;

/// How long a delivered escalation id is remembered, so a retried dispatch is not sent twice.
const DELIVERY_WINDOW: Duration = Duration::from_secs(86_400);

#[derive(Clone)]
pub struct AwsEscalation {
    sqs: aws_sdk_sqs::Client,
    mailer: SesMailer,
    records: Records,
}

impl AwsEscalation {
    /// `dynamodb` and `table` hold the delivery records (the ticket table does).
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        ses: super::SesClient,
        dynamodb: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
    ) -> Self {
        Self { sqs, mailer: SesMailer::new(ses), records: Records { client: dynamodb, table: table.into() } }
    }

    async fn send_to_queue(&self, url: &str, message: &EscalationMessage) -> StoreResult<String> {
        let key = format!("X#{}", message.escalation_id);
        match self.records.begin(&key, Duration::from_secs(30)).await? {
            Begin::Done(id) => return Ok(id.unwrap_or_default()),
            Begin::Busy => {
                return Err(StoreError::Unavailable(format!(
                    "escalation {} is being delivered; retry",
                    message.escalation_id
                )));
            }
            Begin::Go => {}
        }
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))
        };
        let sent = self
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(message.to_json()?)
            .message_attributes("schema", attr(&message.schema)?)
            .message_attributes("escalation_id", attr(&message.escalation_id)?)
            .message_attributes("reference", attr(message.reference.as_str())?)
            .message_attributes("target", attr(&message.target)?)
            .send()
            .await;
        match sent {
            Ok(out) => {
                let id = out.message_id.unwrap_or_default();
                if let Err(e) = self.records.finish(&key, DELIVERY_WINDOW, Some(&id)).await {
                    tracing::warn!(error = %e, "could not record an escalation delivery");
                }
                Ok(id)
            }
            Err(e) => {
                let _ = self.records.abandon(&key).await;
                Err(unavailable("SendMessage", e))
            }
        }
    }
}

#[async_trait]
impl EscalationDelivery for AwsEscalation {
    async fn deliver(&self, route: &EscalationRoute, message: &EscalationMessage) -> StoreResult<String> {
        message.validate()?;
        let id = match route {
            EscalationRoute::Queue { queue } => self.send_to_queue(queue, message).await?,
            EscalationRoute::Email { from, to } => self.mailer.send(&message.to_mail(from, to)?).await?.transport_id,
        };
        tracing::info!(
            ticket_id = %message.ticket_id, reference = %message.reference, target = %message.target,
            transport_id = %id, "escalation delivered"
        );
        Ok(id)
    }
}
