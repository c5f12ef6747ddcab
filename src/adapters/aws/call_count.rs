//! Counts AWS API calls by service and operation (`DynamoDB.TransactWriteItems`), through an SDK
//! interceptor. For benchmarks and tests: AWS bills per request, so the count per ticket is the
//! cost model's input. Production clients are built without it ([`super::Clients::new`]).
//!
//! DynamoDB on demand bills capacity units rather than requests, so the counter also estimates
//! them from the items written and read, by DynamoDB's sizing rules (a write unit per KB, two in a
//! transaction; a strongly consistent read unit per 4 KB), with item sizes approximated as the
//! attribute names' and values' bytes.

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::{
    delete_item::DeleteItemInput, get_item::GetItemOutput, put_item::PutItemInput, query::QueryOutput,
    transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Calls per `Service.Operation`, shared by every client it is attached to.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
    units: Arc<Mutex<Units>>,
}

/// Estimated DynamoDB capacity units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Units {
    pub write: u64,
    pub read: u64,
}

fn value_bytes(v: &AttributeValue) -> u64 {
    match v {
        AttributeValue::S(s) => s.len() as u64,
        AttributeValue::N(n) => (n.len() as u64).div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::M(m) => 3 + item_bytes(m),
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_bytes(v)).sum::<u64>(),
        AttributeValue::Ss(ss) => ss.iter().map(|s| s.len() as u64).sum(),
        _ => 1,
    }
}

fn item_bytes(item: &HashMap<String, AttributeValue>) -> u64 {
    item.iter().map(|(k, v)| k.len() as u64 + value_bytes(v)).sum()
}

fn write_units(item: &HashMap<String, AttributeValue>) -> u64 {
    item_bytes(item).div_ceil(1024).max(1)
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The counts so far, by `Service.Operation`.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The counts so far, and starts again from zero.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// The estimated DynamoDB capacity units so far, and starts again from zero.
    pub fn take_units(&self) -> Units {
        std::mem::take(&mut *self.units.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Counts a call made outside the counted clients (e.g. one the Lambda service makes for
    /// the function, such as an event source mapping's receive).
    pub fn record(&self, key: &str) {
        self.add(key.to_string());
    }

    fn add(&self, key: String) {
        *self.calls.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default() += 1;
    }

    fn add_units(&self, write: u64, read: u64) {
        let mut units = self.units.lock().unwrap_or_else(|p| p.into_inner());
        units.write += write;
        units.read += read;
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    /// Once per attempt, not per operation: a retried request is billed again.
    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = match cfg.load::<Metadata>() {
            Some(m) => format!("{}.{}", m.service(), m.name()),
            None => "unknown".to_string(),
        };
        self.add(key);
        Ok(())
    }

    /// Write units, from the items a DynamoDB request writes.
    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let write = if let Some(put) = input.downcast_ref::<PutItemInput>() {
            put.item.as_ref().map_or(1, write_units)
        } else if input.downcast_ref::<DeleteItemInput>().is_some() || input.downcast_ref::<UpdateItemInput>().is_some()
        {
            1
        } else if let Some(tx) = input.downcast_ref::<TransactWriteItemsInput>() {
            tx.transact_items().iter().map(|i| 2 * i.put().map_or(1, |p| write_units(p.item()))).sum()
        } else {
            0
        };
        self.add_units(write, 0);
        Ok(())
    }

    /// Read units (strongly consistent), from the items a DynamoDB read returned.
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        let read = if let Some(got) = output.downcast_ref::<GetItemOutput>() {
            got.item.as_ref().map_or(0, item_bytes).div_ceil(4096).max(1)
        } else if let Some(q) = output.downcast_ref::<QueryOutput>() {
            q.items().iter().map(item_bytes).sum::<u64>().div_ceil(4096).max(1)
        } else {
            0
        };
        self.add_units(0, read);
        Ok(())
    }
}
