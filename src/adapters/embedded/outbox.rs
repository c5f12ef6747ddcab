//! The local mailer: messages go to an outbox table, where they can be listed, instead of SES.

use super::db::Db;
use super::sql::unavailable;
use crate::ports::idempotency::now_ms;
use crate::ports::{Mailer, OutgoingMail, SentMail, StoreResult};
use async_trait::async_trait;
use rusqlite::params;

#[derive(Clone)]
pub struct OutboxMailer {
    db: Db,
}

/// A message as it would have been sent.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub message_id: String,
    pub ticket_reference: Option<String>,
    pub recipients: Vec<String>,
    /// The raw MIME message.
    pub raw: Vec<u8>,
    pub created_ms: i64,
}

impl std::fmt::Debug for OutboxEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxEntry")
            .field("id", &self.id)
            .field("message_id", &self.message_id)
            .field("ticket_reference", &self.ticket_reference)
            .finish_non_exhaustive()
    }
}

impl OutboxMailer {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The most recent `limit` messages, oldest first.
    pub async fn sent(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        let limit = limit.min(10_000) as i64;
        self.db
            .call(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT id, message_id, ticket_ref, recipients, raw, created_ms FROM
                         (SELECT * FROM outbox ORDER BY id DESC LIMIT ?1) ORDER BY id",
                    )
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map([limit], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, Vec<u8>>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    })
                    .map_err(unavailable)?;
                rows.map(|row| {
                    let (id, message_id, ticket_reference, recipients, raw, created_ms) = row.map_err(unavailable)?;
                    let recipients = serde_json::from_str(&recipients)
                        .map_err(|e| super::sql::corrupt(&format!("outbox message {id}"), &e))?;
                    Ok(OutboxEntry { id, message_id, ticket_reference, recipients, raw, created_ms })
                })
                .collect()
            })
            .await
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> StoreResult<SentMail> {
        let raw = mail.to_mime(jiff::Timestamp::now())?;
        let recipients = serde_json::to_string(&mail.to).unwrap_or_else(|_| "[]".into());
        let message_id = mail.message_id.clone();
        let reference = mail.ticket.as_ref().map(|r| r.0.clone());
        let id = self
            .db
            .call(move |c| {
                c.execute(
                    "INSERT INTO outbox (message_id, ticket_ref, recipients, raw, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![message_id, reference, recipients, raw, now_ms()],
                )
                .map_err(unavailable)?;
                Ok(c.last_insert_rowid())
            })
            .await?;
        tracing::info!(message_id = %mail.message_id, reference = ?mail.ticket.as_ref().map(|r| r.as_str()), outbox_id = id, "mail stored in the outbox");
        Ok(SentMail { message_id: mail.message_id.clone(), transport_id: format!("outbox-{id}") })
    }
}
