//! Step queues on SQS standard queues, with a dead-letter queue (redrive policy) and
//! deduplication by id through DynamoDB records, since standard queues do not deduplicate.

use super::dedup::{Begin, Records};
use super::unavailable;
use crate::ports::step_queue::{DEDUP_ATTRIBUTE, STEP_ATTRIBUTE, validate_batch};
use crate::ports::{DeadLetter, Delivery, Published, StepMessage, StepQueue, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_sqs::types::{
    Message, MessageAttributeValue, MessageSystemAttributeName, MessageSystemAttributeNameForSends,
    MessageSystemAttributeValue, QueueAttributeName,
};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// How long a publish holds its deduplication id before sending; a crashed publisher's hold
/// runs out after this and a retry sends.
const PUBLISH_LEASE: Duration = Duration::from_secs(30);

/// One step queue and its dead-letter queue.
#[derive(Clone)]
pub struct SqsQueue {
    sqs: aws_sdk_sqs::Client,
    records: Records,
    name: String,
    url: String,
    dlq_url: String,
    dedup_window: Duration,
    wait: i32,
}

impl SqsQueue {
    /// `name` scopes deduplication ids; `dynamodb` and `table` hold the deduplication records
    /// (the ticket table does). `max_attempts` lives in the queue's redrive policy.
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        name: impl Into<String>,
        url: impl Into<String>,
        dlq_url: impl Into<String>,
        dedup_window: Duration,
    ) -> Self {
        Self {
            sqs,
            records: Records { client: dynamodb, table: table.into() },
            name: name.into(),
            url: url.into(),
            dlq_url: dlq_url.into(),
            dedup_window,
            wait: 0,
        }
    }

    /// Long polling for `receive` (0–20 s). Off by default: Lambda polls for itself.
    pub fn with_long_polling(mut self, seconds: i32) -> Self {
        self.wait = seconds.clamp(0, 20);
        self
    }

    fn dedup_key(&self, dedup_id: &str) -> String {
        format!("D#{}#{}", self.name, dedup_id)
    }

    async fn send(
        &self,
        url: &str,
        step: &str,
        dedup_id: &str,
        body: String,
        attributes: &BTreeMap<String, String>,
    ) -> StoreResult<String> {
        let mut req = self
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_attributes(STEP_ATTRIBUTE, string_attribute(step)?)
            .message_attributes(DEDUP_ATTRIBUTE, string_attribute(dedup_id)?);
        for (name, value) in attributes {
            req = req.message_attributes(name, string_attribute(value)?);
        }
        // The sender's X-Ray trace goes along, so the consumer's work joins it.
        if let Some(header) = super::trace::current() {
            let value = MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(header)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            req = req.message_system_attributes(MessageSystemAttributeNameForSends::AwsTraceHeader, value);
        }
        let out = req.send().await.map_err(|e| unavailable("SendMessage", e))?;
        Ok(out.message_id.unwrap_or_default())
    }

    async fn receive_raw(&self, url: &str, max: usize, visibility: Duration) -> StoreResult<Vec<Message>> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max as i32)
            .visibility_timeout(seconds(visibility))
            .wait_time_seconds(self.wait)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| unavailable("ReceiveMessage", e))?;
        Ok(out.messages.unwrap_or_default())
    }

    async fn delete(&self, url: &str, receipt: &str) -> StoreResult<()> {
        self.sqs
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| unavailable("DeleteMessage", e))?;
        Ok(())
    }
}

fn string_attribute(value: &str) -> StoreResult<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

/// SQS counts visibility in whole seconds; round up so a message is never shown early.
fn seconds(d: Duration) -> i32 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(s.min(43_200)).unwrap_or(43_200)
}

/// A message as the queue carries it: body text, step, dedup id, other string attributes.
struct Raw {
    message_id: String,
    receipt: String,
    attempts: u32,
    step: Option<String>,
    dedup_id: Option<String>,
    body: String,
    attributes: BTreeMap<String, String>,
}

fn raw(m: Message) -> Raw {
    let mut attributes = BTreeMap::new();
    let (mut step, mut dedup_id) = (None, None);
    for (name, value) in m.message_attributes.unwrap_or_default() {
        let Some(v) = value.string_value else {
            continue;
        };
        match name.as_str() {
            STEP_ATTRIBUTE => step = Some(v),
            DEDUP_ATTRIBUTE => dedup_id = Some(v),
            _ => {
                attributes.insert(name, v);
            }
        }
    }
    let attempts = m
        .attributes
        .as_ref()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    Raw {
        message_id: m.message_id.unwrap_or_default(),
        receipt: m.receipt_handle.unwrap_or_default(),
        attempts,
        step,
        dedup_id,
        body: m.body.unwrap_or_default(),
        attributes,
    }
}

impl Raw {
    fn message(&self) -> Option<StepMessage> {
        Some(StepMessage {
            step: self.step.clone()?,
            dedup_id: self.dedup_id.clone()?,
            body: serde_json::from_str(&self.body).ok()?,
            attributes: self.attributes.clone(),
        })
    }
}

#[async_trait]
impl StepQueue for SqsQueue {
    async fn publish(&self, message: &StepMessage) -> StoreResult<Published> {
        message.validate()?;
        let key = self.dedup_key(&message.dedup_id);
        match self.records.begin(&key, PUBLISH_LEASE).await? {
            Begin::Done(id) => {
                return Ok(Published { message_id: id.unwrap_or_default(), duplicate: true });
            }
            // Saying "duplicate" here could lose the message if that publisher then fails.
            Begin::Busy => {
                return Err(StoreError::Unavailable(format!(
                    "a publish of {} is in progress; retry",
                    message.dedup_id
                )));
            }
            Begin::Go => {}
        }
        let sent =
            self.send(&self.url, &message.step, &message.dedup_id, message.body.to_string(), &message.attributes).await;
        let message_id = match sent {
            Ok(id) => id,
            Err(e) => {
                if let Err(release) = self.records.abandon(&key).await {
                    tracing::warn!(error = %release, "could not release a failed publish");
                }
                return Err(e);
            }
        };
        if let Err(e) = self.records.finish(&key, self.dedup_window, Some(&message_id)).await {
            // Sent already; the worst case is that a retry sends again, which step handlers
            // absorb through their own idempotency records.
            tracing::warn!(error = %e, message_id = %message_id, "could not record a publish");
        }
        tracing::debug!(queue = %self.name, step = %message.step, message_id = %message_id, "step published");
        Ok(Published { message_id, duplicate: false })
    }

    async fn receive(&self, max: usize, visibility: Duration) -> StoreResult<Vec<Delivery>> {
        validate_batch(max)?;
        let mut deliveries = Vec::new();
        for m in self.receive_raw(&self.url, max, visibility).await? {
            let r = raw(m);
            match r.message() {
                Some(message) => deliveries.push(Delivery {
                    message_id: r.message_id,
                    receipt: r.receipt,
                    attempts: r.attempts,
                    message,
                }),
                None => {
                    // It can never be handled: keep it whole on the dead-letter queue now
                    // rather than after max_attempts useless deliveries.
                    tracing::warn!(message_id = %r.message_id, "unreadable message dead-lettered");
                    crate::metrics::step_dead_letter(r.step.as_deref().unwrap_or("unknown"));
                    self.send(
                        &self.dlq_url,
                        r.step.as_deref().unwrap_or("unknown"),
                        r.dedup_id.as_deref().unwrap_or("unknown"),
                        r.body.clone(),
                        &r.attributes,
                    )
                    .await?;
                    self.delete(&self.url, &r.receipt).await?;
                }
            }
        }
        Ok(deliveries)
    }

    async fn ack(&self, receipt: &str) -> StoreResult<()> {
        self.delete(&self.url, receipt).await
    }

    async fn nack(&self, receipt: &str) -> StoreResult<()> {
        let changed = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await;
        match changed {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_message_not_inflight() || s.is_receipt_handle_is_invalid()) =>
            {
                Err(StoreError::NotFound("no message holds this receipt".into()))
            }
            Err(e) => Err(unavailable("ChangeMessageVisibility", e)),
        }
    }

    /// Peeks with a zero visibility timeout, so the letters stay where they are. SQS has no
    /// true peek: `attempts` grows with each look, and a large queue is sampled, not listed.
    async fn dead_letters(&self, max: usize) -> StoreResult<Vec<DeadLetter>> {
        let mut seen: HashMap<String, DeadLetter> = HashMap::new();
        let mut order = Vec::new();
        for _ in 0..max.div_ceil(10).max(1) * 2 {
            let batch = self.receive_raw(&self.dlq_url, 10, Duration::ZERO).await?;
            let before = seen.len();
            for m in batch {
                let r = raw(m);
                if seen.contains_key(&r.message_id) || seen.len() >= max {
                    continue;
                }
                order.push(r.message_id.clone());
                seen.insert(
                    r.message_id.clone(),
                    DeadLetter {
                        message_id: r.message_id,
                        attempts: r.attempts,
                        step: r.step.unwrap_or_default(),
                        dedup_id: r.dedup_id.unwrap_or_default(),
                        raw_body: r.body,
                        attributes: r.attributes,
                    },
                );
            }
            if seen.len() == before || seen.len() >= max {
                break;
            }
        }
        Ok(order.into_iter().filter_map(|id| seen.remove(&id)).collect())
    }

    async fn redrive(&self, max: usize) -> StoreResult<usize> {
        let mut moved = 0;
        while moved < max {
            let batch = self.receive_raw(&self.dlq_url, (max - moved).min(10), Duration::from_secs(60)).await?;
            if batch.is_empty() {
                break;
            }
            for m in batch {
                let r = raw(m);
                // Send before delete: a crash in between duplicates, never loses.
                self.send(
                    &self.url,
                    r.step.as_deref().unwrap_or("unknown"),
                    r.dedup_id.as_deref().unwrap_or("unknown"),
                    r.body.clone(),
                    &r.attributes,
                )
                .await?;
                self.delete(&self.dlq_url, &r.receipt).await?;
                moved += 1;
            }
        }
        tracing::info!(queue = %self.name, moved, "dead letters re-driven");
        Ok(moved)
    }
}

/// Creates a standard queue `name` with a dead-letter queue `name-dlq` that takes messages after
/// `max_attempts` receives. Returns both URLs. For tests and first set-up.
pub async fn create_queue_with_dlq(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    max_attempts: u32,
) -> StoreResult<(String, String)> {
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        // Dead letters wait for a person: keep them as long as SQS allows (14 days).
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .map_err(|e| unavailable("CreateQueue", e))?
        .queue_url
        .unwrap_or_default();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| unavailable("GetQueueAttributes", e))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| StoreError::Unavailable("the dead-letter queue has no ARN".into()))?;
    let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_attempts.max(1)});
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
        .send()
        .await
        .map_err(|e| unavailable("CreateQueue", e))?
        .queue_url
        .unwrap_or_default();
    Ok((url, dlq_url))
}
