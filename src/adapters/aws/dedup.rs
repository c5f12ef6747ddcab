//! Idempotency records in DynamoDB, Powertools-style: a conditional put takes a key as
//! `INPROGRESS` for a lease; `COMPLETED` records answer repeats for a window; both expire
//! through the table's TTL attribute, and their own `until_ms` decides before TTL gets to them.

use super::table::{EXPIRES_AT, PK, SK};
use super::unavailable;
use crate::ports::idempotency::{ms_after, now_ms};
use crate::ports::{StoreError, StoreResult};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;
use std::time::Duration;

const SORT: &str = "RECORD";
const STATUS: &str = "status";
const UNTIL: &str = "until_ms";
const VALUE: &str = "value";
const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

pub(crate) enum Begin {
    /// The key is ours for the lease.
    Go,
    /// Done within the window; the value stored with it.
    Done(Option<String>),
    /// Someone else holds a live lease.
    Busy,
}

#[derive(Clone)]
pub(crate) struct Records {
    pub client: Client,
    pub table: String,
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn item(pk: &str, status: &str, until_ms: i64, value: Option<&str>) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        (PK.to_string(), AttributeValue::S(pk.to_string())),
        (SK.to_string(), AttributeValue::S(SORT.to_string())),
        (STATUS.to_string(), AttributeValue::S(status.to_string())),
        (UNTIL.to_string(), n(until_ms)),
        // TTL works in seconds and late (up to days): it only cleans up.
        (EXPIRES_AT.to_string(), n(until_ms / 1000 + 1)),
    ]);
    if let Some(v) = value {
        item.insert(VALUE.to_string(), AttributeValue::S(v.to_string()));
    }
    item
}

/// The record of an idempotency key `pk` held for `lease`, as a write that claims it for its
/// writer puts it in its own transaction (see [`crate::ports::Lease`]).
pub(crate) fn held(pk: &str, lease: Duration) -> HashMap<String, AttributeValue> {
    item(pk, IN_PROGRESS, ms_after(lease), None)
}

/// The record of an idempotency key `pk` done, kept for `keep_for`.
pub(crate) fn completed(pk: &str, keep_for: Duration) -> HashMap<String, AttributeValue> {
    item(pk, COMPLETED, ms_after(keep_for), None)
}

impl Records {
    pub async fn begin(&self, pk: &str, lease: Duration) -> StoreResult<Begin> {
        // A record can expire between the failed put and the read: try again then.
        for _ in 0..3 {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item(pk, IN_PROGRESS, ms_after(lease), None)))
                .condition_expression("attribute_not_exists(#pk) OR #until < :now")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#until", UNTIL)
                .expression_attribute_values(":now", n(now_ms()))
                // The refusal carries the record that caused it: no read after it.
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let held = match put {
                Ok(_) => return Ok(Begin::Go),
                Err(e) => match e.into_service_error() {
                    PutItemError::ConditionalCheckFailedException(refused) => refused.item,
                    other => return Err(StoreError::Unavailable(format!("PutItem: {}", DisplayErrorContext(&other)))),
                },
            };
            let found = match held {
                Some(item) => item,
                // A backend that does not return it: read it.
                None => match self.read(pk).await? {
                    Some(item) => item,
                    None => continue,
                },
            };
            let until = found
                .get(UNTIL)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("idempotency record {pk}: no expiry")))?;
            if until < now_ms() {
                continue;
            }
            return Ok(match found.get(STATUS).and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some(COMPLETED) => Begin::Done(found.get(VALUE).and_then(|v| v.as_s().ok()).cloned()),
                _ => Begin::Busy,
            });
        }
        Ok(Begin::Busy)
    }

    async fn read(&self, pk: &str) -> StoreResult<Option<HashMap<String, AttributeValue>>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.to_string()))
            .key(SK, AttributeValue::S(SORT.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(got.item)
    }

    pub async fn finish(&self, pk: &str, keep_for: Duration, value: Option<&str>) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(pk, COMPLETED, ms_after(keep_for), value)))
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        Ok(())
    }

    /// Drops an `INPROGRESS` claim (never a completed one).
    pub async fn abandon(&self, pk: &str) -> StoreResult<()> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.to_string()))
            .key(SK, AttributeValue::S(SORT.to_string()))
            .condition_expression("#status = :inprogress")
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_values(":inprogress", AttributeValue::S(IN_PROGRESS.to_string()))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(unavailable("DeleteItem", e)),
        }
    }
}
