//! A durable step queue in SQLite, with SQS's semantics: visibility timeout, receive counts,
//! a dead-letter table after `max_attempts`, and deduplication by id within a window.

use super::db::Db;
use super::sql::{Cached, corrupt, unavailable};
use crate::ports::idempotency::now_ms;
use crate::ports::step_queue::validate_batch;
use crate::ports::{DeadLetter, Delivery, Published, StepMessage, StepQueue, StoreError, StoreResult};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use std::time::Duration;

/// One named queue in the database.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    queue: String,
    max_attempts: u32,
    dedup_window: Duration,
}

impl SqliteQueue {
    /// `max_attempts` receives without an ack send a message to the dead letters;
    /// `dedup_window` is how long a deduplication id is remembered (SQS FIFO uses 5 minutes).
    pub fn new(db: Db, queue: impl Into<String>, max_attempts: u32, dedup_window: Duration) -> Self {
        Self { db, queue: queue.into(), max_attempts: max_attempts.max(1), dedup_window }
    }

    pub fn name(&self) -> &str {
        &self.queue
    }

    /// Moves a received message to the dead letters at once: it can never be handled (a reply
    /// queue message that fails validation), so retrying it would only delay a person's look.
    pub async fn dead_letter(&self, receipt: &str) -> StoreResult<()> {
        let (queue, receipt) = (self.queue.clone(), receipt.to_owned());
        self.db
            .call(move |c| {
                let tx = c.savepoint().map_err(unavailable)?;
                let row = tx
                    .one(
                        "SELECT seq, message_id, step, dedup_id, body, attributes, attempts FROM queue_messages
                         WHERE queue = ?1 AND receipt = ?2",
                        params![queue, receipt],
                        Row::read,
                    )
                    .optional()
                    .map_err(unavailable)?
                    .ok_or_else(|| StoreError::NotFound("no message holds this receipt".into()))?;
                bury(&tx, &queue, &row, now_ms())?;
                tx.commit().map_err(unavailable)
            })
            .await
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn publish_tx(
    conn: &mut Connection,
    queue: &str,
    message: &StepMessage,
    window: Duration,
) -> StoreResult<Published> {
    let tx = conn.savepoint().map_err(unavailable)?;
    let published = enqueue(&tx, queue, message, window)?;
    tx.commit().map_err(unavailable)?;
    Ok(published)
}

/// Queues `message` (unless its deduplication id was queued within `window`) inside the caller's
/// transaction: intake queues its steps in the transaction that stores the ticket.
pub(super) fn enqueue(tx: &Connection, queue: &str, message: &StepMessage, window: Duration) -> StoreResult<Published> {
    let now = now_ms();
    let earlier: Option<String> = tx
        .one(
            "SELECT message_id FROM queue_dedup WHERE queue = ?1 AND dedup_id = ?2 AND expires_ms > ?3",
            params![queue, message.dedup_id, now],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    if let Some(message_id) = earlier {
        return Ok(Published { message_id, duplicate: true });
    }
    let message_id = uuid::Uuid::now_v7().to_string();
    let attributes = serde_json::to_string(&message.attributes).map_err(|e| StoreError::Invalid(e.to_string()))?;
    tx.run(
        "INSERT INTO queue_messages (message_id, queue, step, dedup_id, body, attributes, attempts, visible_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
        params![message_id, queue, message.step, message.dedup_id, message.body.to_string(), attributes, now],
    )
    .map_err(unavailable)?;
    tx.run(
        "INSERT INTO queue_dedup (queue, dedup_id, message_id, expires_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (queue, dedup_id) DO UPDATE SET message_id = ?3, expires_ms = ?4",
        params![queue, message.dedup_id, message_id, now.saturating_add(ms(window))],
    )
    .map_err(unavailable)?;
    tx.run("DELETE FROM queue_dedup WHERE queue = ?1 AND expires_ms <= ?2", params![queue, now])
        .map_err(unavailable)?;
    Ok(Published { message_id, duplicate: false })
}

struct Row {
    seq: i64,
    message_id: String,
    step: String,
    dedup_id: String,
    body: String,
    attributes: String,
    attempts: i64,
}

impl Row {
    /// From a `SELECT seq, message_id, step, dedup_id, body, attributes, attempts` row.
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            seq: r.get(0)?,
            message_id: r.get(1)?,
            step: r.get(2)?,
            dedup_id: r.get(3)?,
            body: r.get(4)?,
            attributes: r.get(5)?,
            attempts: r.get(6)?,
        })
    }
}

fn parse(row: &Row) -> StoreResult<StepMessage> {
    let body = serde_json::from_str(&row.body).map_err(|e| corrupt(&format!("message {}", row.message_id), &e))?;
    let attributes: BTreeMap<String, String> = serde_json::from_str(&row.attributes)
        .map_err(|e| corrupt(&format!("attributes of message {}", row.message_id), &e))?;
    Ok(StepMessage { step: row.step.clone(), dedup_id: row.dedup_id.clone(), body, attributes })
}

fn bury(tx: &Connection, queue: &str, row: &Row, now: i64) -> StoreResult<()> {
    tx.run(
        "INSERT INTO dead_letters (message_id, queue, step, dedup_id, body, attributes, attempts, dead_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![row.message_id, queue, row.step, row.dedup_id, row.body, row.attributes, row.attempts, now],
    )
    .map_err(unavailable)?;
    tx.run("DELETE FROM queue_messages WHERE seq = ?1", [row.seq]).map_err(unavailable)?;
    Ok(())
}

fn receive_tx(
    conn: &mut Connection,
    queue: &str,
    max_attempts: u32,
    max: usize,
    visibility: Duration,
) -> StoreResult<Vec<Delivery>> {
    let now = now_ms();
    let tx = conn.savepoint().map_err(unavailable)?;
    let mut deliveries = Vec::new();
    loop {
        let rows: Vec<Row> = tx
            .prepare_cached(
                "SELECT seq, message_id, step, dedup_id, body, attributes, attempts FROM queue_messages
                 WHERE queue = ?1 AND visible_at_ms <= ?2 ORDER BY visible_at_ms, seq LIMIT ?3",
            )
            .map_err(unavailable)?
            .query_map(params![queue, now, (max - deliveries.len()) as i64], Row::read)
            .map_err(unavailable)?
            .collect::<Result<_, _>>()
            .map_err(unavailable)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if row.attempts >= i64::from(max_attempts) {
                tracing::warn!(message_id = %row.message_id, step = %row.step, attempts = row.attempts, "message dead-lettered");
                crate::metrics::step_dead_letter(&row.step);
                bury(&tx, queue, &row, now)?;
                continue;
            }
            let message = match parse(&row) {
                Ok(m) => m,
                Err(e) => {
                    // It can never be handled; keep it whole where a person can look at it.
                    tracing::warn!(message_id = %row.message_id, error = %e, "unreadable message dead-lettered");
                    crate::metrics::step_dead_letter(&row.step);
                    bury(&tx, queue, &row, now)?;
                    continue;
                }
            };
            let receipt = uuid::Uuid::new_v4().to_string();
            tx.run(
                "UPDATE queue_messages SET attempts = attempts + 1, visible_at_ms = ?2, receipt = ?3 WHERE seq = ?1",
                params![row.seq, now.saturating_add(ms(visibility)), receipt],
            )
            .map_err(unavailable)?;
            deliveries.push(Delivery {
                message_id: row.message_id,
                receipt,
                attempts: u32::try_from(row.attempts + 1).unwrap_or(u32::MAX),
                message,
            });
        }
        if deliveries.len() >= max {
            break;
        }
    }
    tx.commit().map_err(unavailable)?;
    Ok(deliveries)
}

#[async_trait]
impl StepQueue for SqliteQueue {
    async fn publish(&self, message: &StepMessage) -> StoreResult<Published> {
        message.validate()?;
        let (queue, m, window) = (self.queue.clone(), message.clone(), self.dedup_window);
        let published = self.db.call(move |c| publish_tx(c, &queue, &m, window)).await?;
        if !published.duplicate {
            self.db.published().notify_one();
        }
        tracing::debug!(
            queue = %self.queue, step = %message.step, message_id = %published.message_id,
            duplicate = published.duplicate, "step published"
        );
        Ok(published)
    }

    async fn receive(&self, max: usize, visibility: Duration) -> StoreResult<Vec<Delivery>> {
        validate_batch(max)?;
        let (queue, max_attempts) = (self.queue.clone(), self.max_attempts);
        self.db.call(move |c| receive_tx(c, &queue, max_attempts, max, visibility)).await
    }

    async fn ack(&self, receipt: &str) -> StoreResult<()> {
        let (queue, receipt) = (self.queue.clone(), receipt.to_owned());
        self.db
            .call(move |c| {
                c.run("DELETE FROM queue_messages WHERE queue = ?1 AND receipt = ?2", params![queue, receipt])
                    .map(drop)
                    .map_err(unavailable)
            })
            .await
    }

    async fn nack(&self, receipt: &str) -> StoreResult<()> {
        let (queue, receipt) = (self.queue.clone(), receipt.to_owned());
        self.db
            .call(move |c| {
                let changed = c
                    .run(
                        "UPDATE queue_messages SET visible_at_ms = ?3 WHERE queue = ?1 AND receipt = ?2",
                        params![queue, receipt, now_ms()],
                    )
                    .map_err(unavailable)?;
                if changed == 0 {
                    return Err(StoreError::NotFound("no message holds this receipt".into()));
                }
                Ok(())
            })
            .await
    }

    async fn dead_letters(&self, max: usize) -> StoreResult<Vec<DeadLetter>> {
        let queue = self.queue.clone();
        self.db
            .call(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT message_id, step, dedup_id, body, attributes, attempts FROM dead_letters
                         WHERE queue = ?1 ORDER BY seq LIMIT ?2",
                    )
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![queue, max.min(1000) as i64], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    })
                    .map_err(unavailable)?;
                rows.map(|row| {
                    let (message_id, step, dedup_id, raw_body, attributes, attempts) = row.map_err(unavailable)?;
                    let attributes = serde_json::from_str(&attributes)
                        .map_err(|e| corrupt(&format!("attributes of dead letter {message_id}"), &e))?;
                    Ok(DeadLetter {
                        message_id,
                        attempts: u32::try_from(attempts).unwrap_or(0),
                        step,
                        dedup_id,
                        raw_body,
                        attributes,
                    })
                })
                .collect()
            })
            .await
    }

    async fn redrive(&self, max: usize) -> StoreResult<usize> {
        let queue = self.queue.clone();
        let moved = self
            .db
            .call(move |c| {
                let tx = c.savepoint().map_err(unavailable)?;
                let seqs: Vec<i64> = tx
                    .prepare_cached("SELECT seq FROM dead_letters WHERE queue = ?1 ORDER BY seq LIMIT ?2")
                    .map_err(unavailable)?
                    .query_map(params![queue, max.min(1000) as i64], |r| r.get(0))
                    .map_err(unavailable)?
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?;
                for seq in &seqs {
                    tx.run(
                        "INSERT INTO queue_messages (message_id, queue, step, dedup_id, body, attributes, attempts, visible_at_ms)
                         SELECT message_id, queue, step, dedup_id, body, attributes, 0, ?2 FROM dead_letters WHERE seq = ?1",
                        params![seq, now_ms()],
                    )
                    .map_err(unavailable)?;
                    tx.run("DELETE FROM dead_letters WHERE seq = ?1", [seq]).map_err(unavailable)?;
                }
                tx.commit().map_err(unavailable)?;
                Ok(seqs.len())
            })
            .await?;
        tracing::info!(queue = %self.queue, moved, "dead letters re-driven");
        Ok(moved)
    }
}
