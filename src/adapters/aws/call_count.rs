//! Counts AWS API calls by service and operation (`DynamoDB.TransactWriteItems`), through an SDK
//! interceptor. For benchmarks and tests: AWS bills per request, so the count per ticket is the
//! cost model's input. Production clients are built without it ([`super::Clients::new`]).
//!
//! DynamoDB on demand bills capacity units rather than requests, so the counter also estimates
//! them from the items written and read, by DynamoDB's sizing rules (a write unit per KB, two in a
//! transaction; a strongly consistent read unit per 4 KB), with item sizes approximated as the
//! attribute names' and values' bytes.
//!
//! It also notes what each call needs an IAM policy to grant ([`IamAccess`]): the action as IAM
//! names it (a `TransactWriteItems` needs `dynamodb:PutItem`, `UpdateItem`... per item) and the
//! resource it acts on. `tests/it/infra/grants.rs` checks those against the SAM template.

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
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// Calls per `Service.Operation`, shared by every client it is attached to.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
    units: Arc<Mutex<Units>>,
    accesses: Arc<Mutex<BTreeSet<IamAccess>>>,
}

/// What one call needs granted: an IAM action (`sqs:SendMessage`) on a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IamAccess {
    pub action: String,
    pub resource: Resource,
}

/// The resource of an [`IamAccess`], as the request names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    /// A DynamoDB table, or one of its indexes.
    Table { name: String, index: Option<String> },
    /// An SQS queue, by URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`).
    Queue { url: String },
    /// An S3 object.
    Object { bucket: String, key: String },
    /// A Secrets Manager secret, by the ARN or name the call gave.
    Secret { id: String },
    /// The SES identity (domain) a mail is sent from.
    Identity { domain: String },
    /// An action on no particular resource (`ses:GetSendQuota`).
    Any,
    /// A call this list does not know yet: teach [`accesses_of`] its input.
    Unknown,
}

/// Estimated DynamoDB capacity units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Units {
    /// The table's own items.
    pub write: u64,
    pub read: u64,
    /// The global secondary indexes' copies of the items written (see [`index_units`]).
    pub index_write: u64,
}

impl std::ops::Sub for Units {
    type Output = Units;
    fn sub(self, earlier: Units) -> Units {
        Units {
            write: self.write - earlier.write,
            read: self.read - earlier.read,
            index_write: self.index_write - earlier.index_write,
        }
    }
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

/// Write units the table's global secondary indexes take for an item written: every index
/// projects all attributes, so each index whose partition key the item carries gets a write of
/// the item's size (indexes are kept outside the transaction: one unit per KB). A lower bound:
/// when an index key changes, or an item leaves an index, DynamoDB also deletes the old entry
/// (a unit more), which the request alone does not show.
fn index_units(item: &HashMap<String, AttributeValue>) -> u64 {
    let indexes = super::table::INDEXES.iter().filter(|(_, pk, _)| item.contains_key(*pk)).count() as u64;
    indexes * write_units(item)
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

    /// What the calls so far needed granted, and starts again from nothing.
    pub fn take_accesses(&self) -> BTreeSet<IamAccess> {
        std::mem::take(&mut *self.accesses.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The estimated DynamoDB capacity units so far.
    pub fn units(&self) -> Units {
        *self.units.lock().unwrap_or_else(|p| p.into_inner())
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

    /// Write units, from the items a DynamoDB request writes; and what the call needs granted.
    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        // The operation's name is not always in the bag this early; the input names the call.
        let (service, operation) = cfg.load::<Metadata>().map_or(("unknown", "unknown"), |m| (m.service(), m.name()));
        let found = accesses_of(service, operation, input);
        self.accesses.lock().unwrap_or_else(|p| p.into_inner()).extend(found);
        let index_write = if let Some(put) = input.downcast_ref::<PutItemInput>() {
            put.item.as_ref().map_or(0, index_units)
        } else if let Some(tx) = input.downcast_ref::<TransactWriteItemsInput>() {
            tx.transact_items().iter().filter_map(|i| i.put()).map(|p| index_units(p.item())).sum()
        } else {
            0
        };
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
        self.units.lock().unwrap_or_else(|p| p.into_inner()).index_write += index_write;
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

/// The IAM actions and resources of one call, from its input.
fn accesses_of(
    service: &str,
    operation: &str,
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Vec<IamAccess> {
    use aws_sdk_dynamodb::operation as ddb;
    use aws_sdk_sqs::operation as sqs;
    let access = |action: &str, resource: Resource| IamAccess { action: action.to_string(), resource };
    let table = |name: &str| Resource::Table { name: name.to_string(), index: None };
    let queue = |url: &str| Resource::Queue { url: url.to_string() };
    macro_rules! on {
        ($ty:ty, $action:literal, |$i:ident| $resource:expr) => {
            if let Some($i) = input.downcast_ref::<$ty>() {
                return vec![access($action, $resource)];
            }
        };
    }
    on!(ddb::get_item::GetItemInput, "dynamodb:GetItem", |i| table(i.table_name().unwrap_or_default()));
    on!(PutItemInput, "dynamodb:PutItem", |i| table(i.table_name().unwrap_or_default()));
    on!(DeleteItemInput, "dynamodb:DeleteItem", |i| table(i.table_name().unwrap_or_default()));
    on!(UpdateItemInput, "dynamodb:UpdateItem", |i| table(i.table_name().unwrap_or_default()));
    on!(ddb::describe_table::DescribeTableInput, "dynamodb:DescribeTable", |i| table(
        i.table_name().unwrap_or_default()
    ));
    on!(ddb::query::QueryInput, "dynamodb:Query", |i| Resource::Table {
        name: i.table_name().unwrap_or_default().to_string(),
        index: i.index_name().map(str::to_string),
    });
    if let Some(tx) = input.downcast_ref::<TransactWriteItemsInput>() {
        return tx
            .transact_items()
            .iter()
            .filter_map(|item| {
                if let Some(p) = item.put() {
                    Some(access("dynamodb:PutItem", table(p.table_name())))
                } else if let Some(u) = item.update() {
                    Some(access("dynamodb:UpdateItem", table(u.table_name())))
                } else if let Some(d) = item.delete() {
                    Some(access("dynamodb:DeleteItem", table(d.table_name())))
                } else {
                    item.condition_check().map(|c| access("dynamodb:ConditionCheckItem", table(c.table_name())))
                }
            })
            .collect();
    }
    on!(sqs::send_message::SendMessageInput, "sqs:SendMessage", |i| queue(i.queue_url().unwrap_or_default()));
    on!(sqs::send_message_batch::SendMessageBatchInput, "sqs:SendMessage", |i| queue(
        i.queue_url().unwrap_or_default()
    ));
    on!(sqs::receive_message::ReceiveMessageInput, "sqs:ReceiveMessage", |i| queue(i.queue_url().unwrap_or_default()));
    on!(sqs::delete_message::DeleteMessageInput, "sqs:DeleteMessage", |i| queue(i.queue_url().unwrap_or_default()));
    on!(sqs::delete_message_batch::DeleteMessageBatchInput, "sqs:DeleteMessage", |i| queue(
        i.queue_url().unwrap_or_default()
    ));
    on!(sqs::change_message_visibility::ChangeMessageVisibilityInput, "sqs:ChangeMessageVisibility", |i| queue(
        i.queue_url().unwrap_or_default()
    ));
    on!(sqs::get_queue_attributes::GetQueueAttributesInput, "sqs:GetQueueAttributes", |i| queue(
        i.queue_url().unwrap_or_default()
    ));
    on!(aws_sdk_ses::operation::get_send_quota::GetSendQuotaInput, "ses:GetSendQuota", |_i| Resource::Any);
    on!(aws_sdk_ses::operation::send_raw_email::SendRawEmailInput, "ses:SendRawEmail", |i| Resource::Identity {
        domain: sender_domain(i.source(), i.raw_message().map(|m| m.data().as_ref())),
    });
    on!(aws_sdk_s3::operation::put_object::PutObjectInput, "s3:PutObject", |i| Resource::Object {
        bucket: i.bucket().unwrap_or_default().to_string(),
        key: i.key().unwrap_or_default().to_string(),
    });
    if let Some(i) = input.downcast_ref::<ddb::batch_get_item::BatchGetItemInput>() {
        let tables = i.request_items().map(|r| r.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
        return tables.iter().map(|t| access("dynamodb:BatchGetItem", table(t))).collect();
    }
    on!(aws_sdk_s3::operation::get_object::GetObjectInput, "s3:GetObject", |i| Resource::Object {
        bucket: i.bucket().unwrap_or_default().to_string(),
        key: i.key().unwrap_or_default().to_string(),
    });
    on!(
        aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueInput,
        "secretsmanager:GetSecretValue",
        |i| Resource::Secret { id: i.secret_id().unwrap_or_default().to_string() }
    );
    vec![access(&format!("{}:{operation}", service.to_ascii_lowercase()), Resource::Unknown)]
}

/// The domain of a mail's sender: `Source` when given, else the raw message's `From` header.
fn sender_domain(source: Option<&str>, raw: Option<&[u8]>) -> String {
    let from = source.map(str::to_string).or_else(|| {
        let text = String::from_utf8_lossy(raw?);
        let headers = text.split("\r\n\r\n").next().unwrap_or_default().to_string();
        headers.lines().find_map(|l| l.strip_prefix("From:").map(str::to_string))
    });
    let from = from.unwrap_or_default();
    let address = from
        .rsplit_once('<')
        .map_or(from.as_str(), |(_, a)| a.trim_end_matches(|c: char| c == '>' || c.is_whitespace()));
    address.rsplit_once('@').map(|(_, d)| d.trim().to_ascii_lowercase()).unwrap_or_default()
}
