//! Local escalations: queue routes land on a named embedded queue, e-mail routes in the outbox.

use super::queue::publish_tx;
use super::{Db, OutboxMailer};
use crate::ports::{EscalationDelivery, EscalationMessage, EscalationRoute, Mailer, StepMessage, StoreResult};
use async_trait::async_trait;
use std::time::Duration;

/// The step name escalation messages carry on an embedded queue.
pub const ESCALATION_STEP: &str = "escalation";

#[derive(Clone)]
pub struct EmbeddedEscalation {
    db: Db,
    mailer: OutboxMailer,
}

impl EmbeddedEscalation {
    pub fn new(db: Db) -> Self {
        Self { mailer: OutboxMailer::new(db.clone()), db }
    }
}

#[async_trait]
impl EscalationDelivery for EmbeddedEscalation {
    async fn deliver(&self, route: &EscalationRoute, message: &EscalationMessage) -> StoreResult<String> {
        message.validate()?;
        let id = match route {
            EscalationRoute::Queue { queue } => {
                let body =
                    serde_json::to_value(message).map_err(|e| crate::ports::StoreError::Invalid(e.to_string()))?;
                let step = StepMessage::new(ESCALATION_STEP, message.escalation_id.clone(), body)
                    .with_attribute("reference", message.reference.as_str())
                    .with_attribute("target", message.target.clone());
                step.validate()?;
                let queue = queue.clone();
                // A day, like the AWS adapter's delivery record: a retried dispatch is sent once.
                let published =
                    self.db.call(move |c| publish_tx(c, &queue, &step, Duration::from_secs(86_400))).await?;
                published.message_id
            }
            EscalationRoute::Email { from, to } => self.mailer.send(&message.to_mail(from, to)?).await?.transport_id,
        };
        tracing::info!(
            ticket_id = %message.ticket_id, reference = %message.reference, target = %message.target,
            transport_id = %id, "escalation delivered"
        );
        Ok(id)
    }
}
