//! Candidate example questions in the single DynamoDB table (see `docs/dynamodb.md`): one
//! partition, `pk = K#candidates`, one item per candidate (`sk` = its id). Candidates come at the
//! pace operators answer handed-off chats with an article, thousands at most, so one partition
//! read with `Query` is the whole list; recording is one `UpdateItem` that creates or counts.

use super::table::{PK, SK};
use super::unavailable;
use crate::ports::kb_candidates::MAX_CANDIDATES_LISTED;
use crate::ports::{Candidate, CandidateStatus, KnowledgeCandidates, NewCandidate, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use jiff::Timestamp;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

const PARTITION: &str = "K#candidates";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn read(item: &Item) -> StoreResult<Candidate> {
    let id = item.get(SK).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let corrupt = |what: &str| StoreError::Corrupt(format!("candidate item {id}: {what}"));
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let number = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok());
    let time = |k: &str| number(k).map(|ms| Timestamp::from_millisecond(ms).map_err(|_| corrupt(k))).transpose();
    Ok(Candidate {
        lang: text("lang").ok_or_else(|| corrupt("no lang"))?,
        article: text("article").ok_or_else(|| corrupt("no article"))?,
        question: text("question").ok_or_else(|| corrupt("no question"))?,
        status: text("status").as_deref().and_then(CandidateStatus::parse).ok_or_else(|| corrupt("bad status"))?,
        times: number("times").and_then(|t| u32::try_from(t).ok()).ok_or_else(|| corrupt("bad times"))?,
        first_seen: time("first_seen_ms")?.ok_or_else(|| corrupt("no first_seen_ms"))?,
        last_seen: time("last_seen_ms")?.ok_or_else(|| corrupt("no last_seen_ms"))?,
        decided_at: time("decided_ms")?,
        decided_by: text("decided_by"),
        id,
    })
}

/// Candidate example questions (implements [`KnowledgeCandidates`]).
#[derive(Clone)]
pub struct DynamoKbCandidates {
    client: Client,
    table: String,
}

impl DynamoKbCandidates {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl KnowledgeCandidates for DynamoKbCandidates {
    async fn record(&self, new: &NewCandidate, at: Timestamp) -> StoreResult<Candidate> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(PARTITION))
            .key(SK, s(new.id()))
            .update_expression(
                "SET lang = if_not_exists(lang, :lang), article = if_not_exists(article, :article), \
                 question = if_not_exists(question, :question), #status = if_not_exists(#status, :pending), \
                 first_seen_ms = if_not_exists(first_seen_ms, :at), last_seen_ms = :at ADD times :one",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":lang", s(&new.lang))
            .expression_attribute_values(":article", s(&new.article))
            .expression_attribute_values(":question", s(&new.question))
            .expression_attribute_values(":pending", s(CandidateStatus::Pending.as_str()))
            .expression_attribute_values(":at", n(at.as_millisecond()))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| unavailable("UpdateItem", e))?;
        read(&out.attributes.unwrap_or_default())
    }

    async fn get(&self, id: &str) -> StoreResult<Candidate> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(PARTITION))
            .key(SK, s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        out.item.as_ref().map(read).unwrap_or_else(|| Err(StoreError::NotFound(format!("candidate {id}"))))
    }

    async fn list(&self, status: Option<CandidateStatus>, limit: usize) -> StoreResult<Vec<Candidate>> {
        let mut all = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", s(PARTITION))
                .set_exclusive_start_key(start.take());
            if let Some(st) = status {
                query = query
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(st.as_str()));
            }
            let out = query.send().await.map_err(|e| unavailable("Query", e))?;
            for item in out.items.unwrap_or_default() {
                all.push(read(&item)?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        all.sort_by(|a, b| b.times.cmp(&a.times).then(b.last_seen.cmp(&a.last_seen)).then(a.id.cmp(&b.id)));
        all.truncate(limit.clamp(1, MAX_CANDIDATES_LISTED));
        Ok(all)
    }

    async fn decide(&self, id: &str, status: CandidateStatus, by: &str, at: Timestamp) -> StoreResult<Candidate> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(PARTITION))
            .key(SK, s(id))
            .condition_expression("attribute_exists(#pk)")
            .update_expression("SET #status = :status, decided_ms = :at, decided_by = :by")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":at", n(at.as_millisecond()))
            .expression_attribute_values(":by", s(by))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => read(&out.attributes.unwrap_or_default()),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => {
                Err(StoreError::NotFound(format!("candidate {id}")))
            }
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }
}
