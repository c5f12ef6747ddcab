//! Counts AWS API calls by service and operation (`DynamoDB.TransactWriteItems`), through an SDK
//! interceptor. For benchmarks and tests: AWS bills per request, so the count per ticket is the
//! cost model's input. Production clients are built without it ([`super::Clients::new`]).
//!
//! DynamoDB on demand bills capacity units rather than requests, so the counter also estimates
//! them from the items written and read, by DynamoDB's sizing rules (a write unit per KB, two in a
//! transaction; a strongly consistent read unit per 4 KB), with item sizes approximated as the
//! attribute names' and values' bytes. Index writes follow from what each write replaces, so the
//! counter keeps the last item it saw written under each key.
//!
//! It also notes what each call needs an IAM policy to grant ([`IamAccess`]): the action as IAM
//! names it (a `TransactWriteItems` needs `dynamodb:PutItem`, `UpdateItem`... per item) and the
//! resource it acts on. `tests/it/infra/grants.rs` checks those against the SAM template.

use super::table::{INDEXES, Index, PK, Projected, SK};
use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::{
    batch_get_item::BatchGetItemOutput, delete_item::DeleteItemInput, get_item::GetItemOutput, put_item::PutItemInput,
    query::QueryOutput, transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
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
    written: Arc<Mutex<Written>>,
    /// Write units by what they were spent on ([`item_kind`], `index <name>`).
    spent_on: Arc<Mutex<BTreeMap<String, u64>>>,
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

type Item = HashMap<String, AttributeValue>;

/// Write units of an item of `bytes` (a unit per KB, at least one).
fn kb_units(bytes: u64) -> u64 {
    bytes.div_ceil(1024).max(1)
}

/// DynamoDB's per-entry overhead in a global secondary index.
const INDEX_ENTRY_OVERHEAD: u64 = 100;

/// The bytes of `item`'s entry in index `i`, if it is in it (sparse: both index keys present).
fn index_entry(i: &Index, item: &Item) -> Option<u64> {
    if !(item.contains_key(i.pk) && item.contains_key(i.sk)) {
        return None;
    }
    let attr = |name: &str| item.get(name).map_or(0, |v| name.len() as u64 + value_bytes(v));
    let keys: u64 = [PK, SK, i.pk, i.sk].iter().map(|n| attr(n)).sum();
    let projected = match i.projected {
        Projected::All => item_bytes(item) - [PK, SK, i.pk, i.sk].iter().map(|n| attr(n)).sum::<u64>(),
        Projected::KeysOnly => 0,
        Projected::Include(names) => names.iter().map(|n| attr(n)).sum(),
    };
    Some(keys + projected + INDEX_ENTRY_OVERHEAD)
}

/// Whether index `i`'s copy of an item differs between `old` and `new` (both in the index).
fn entry_changed(i: &Index, old: &Item, new: &Item) -> bool {
    let differs = |name: &str| old.get(name) != new.get(name);
    match i.projected {
        Projected::All => old != new,
        Projected::KeysOnly => [i.pk, i.sk].iter().any(|n| differs(n)),
        Projected::Include(names) => [i.pk, i.sk].iter().chain(names).any(|n| differs(n)),
    }
}

/// Write units the table's global secondary indexes take when an item goes from `old` to `new`
/// (`None`: absent), by DynamoDB's rules: an entry put when the item enters an index, deleted
/// when it leaves it, deleted and put again when its index key changes, rewritten when a
/// projected attribute changes, and nothing when the index's copy stays the same.
fn index_units(old: Option<&Item>, new: Option<&Item>) -> Vec<(&'static str, u64)> {
    INDEXES
        .iter()
        .map(|i| {
            let units = {
                let before = old.and_then(|o| index_entry(i, o));
                let after = new.and_then(|n| index_entry(i, n));
                match (old, before, new, after) {
                    (_, None, _, None) => 0,
                    (_, None, _, Some(a)) => kb_units(a),
                    (_, Some(b), _, None) => kb_units(b),
                    (Some(o), Some(b), Some(n), Some(a)) => {
                        let moved = o.get(i.pk) != n.get(i.pk) || o.get(i.sk) != n.get(i.sk);
                        if moved {
                            kb_units(b) + kb_units(a)
                        } else if entry_changed(i, o, n) {
                            kb_units(a)
                        } else {
                            0
                        }
                    }
                    _ => 0,
                }
            };
            (i.name, units)
        })
        .filter(|(_, units)| *units > 0)
        .collect()
}

/// What an item is, from its keys, for the breakdown of write units: `ticket`, `events`...
pub fn item_kind(item: &Item) -> &'static str {
    let part = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).map_or("", String::as_str);
    let (pk, sk) = (part(PK), part(SK));
    match pk.split('#').next().unwrap_or_default() {
        "T" if sk == "TICKET" => "ticket",
        "T" if sk.starts_with("E#") => "events",
        "T" if sk.starts_with("K#") => "token digests",
        "T" => "ticket, other",
        "R" => "reference",
        "I" => "idempotency key",
        "S" => "claims",
        "OUTBOX" => "outbox",
        "CLOCK" => "clock positions",
        "F" => "field look-ups",
        "X" => "escalation records",
        "D" => "queue deduplication",
        "N" | "A" => "incidents",
        _ => "other",
    }
}

/// Units spent on one write: the table's, by item kind, and each index's.
#[derive(Debug, Default)]
struct Spent {
    table: Vec<(&'static str, u64)>,
    indexes: Vec<(&'static str, u64)>,
}

impl Spent {
    fn table_units(&self) -> u64 {
        self.table.iter().map(|(_, u)| u).sum()
    }
    fn index_units(&self) -> u64 {
        self.indexes.iter().map(|(_, u)| u).sum()
    }
}

/// The items the counted clients wrote, by table and key: what a write replaces decides what it
/// costs (the larger of the old and new item) and what the indexes must change.
#[derive(Debug, Default)]
struct Written(HashMap<(String, String, String), Item>);

impl Written {
    fn key(table: &str, item: &Item) -> (String, String, String) {
        let part = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        (table.to_string(), part(PK), part(SK))
    }

    /// Table and index write units of a put; `transact` doubles the table's part.
    fn put(&mut self, table: &str, item: &Item, transact: bool) -> Spent {
        let old = self.0.insert(Self::key(table, item), item.clone());
        let bytes = item_bytes(item).max(old.as_ref().map_or(0, item_bytes));
        let factor = if transact { 2 } else { 1 };
        Spent {
            table: vec![(item_kind(item), factor * kb_units(bytes))],
            indexes: index_units(old.as_ref(), Some(item)),
        }
    }

    fn delete(&mut self, table: &str, key: &Item, transact: bool) -> Spent {
        let old = self.0.remove(&Self::key(table, key));
        let factor = if transact { 2 } else { 1 };
        Spent {
            table: vec![(item_kind(key), factor * kb_units(old.as_ref().map_or(0, item_bytes)))],
            indexes: index_units(old.as_ref(), None),
        }
    }

    /// An update: evaluated when its expression is of the plain form (`SET #n = :v, ...`,
    /// `REMOVE #n, ...`, `ADD #n :v`, as a ticket's write is), then billed as a put of the item
    /// it makes; otherwise sized by the item it finds, as [`Self::touch`].
    fn update(&mut self, table: &str, update: &Update<'_>, transact: bool) -> Spent {
        let old = self.0.get(&Self::key(table, update.key)).cloned();
        let mut item = old.clone().unwrap_or_else(|| update.key.clone());
        if apply_update(&mut item, update).is_none() {
            return self.touch(table, update.key, transact);
        }
        self.put(table, &item, transact)
    }

    /// A transaction's condition check, billed as a write of the item it checks (and an update
    /// whose expression [`Self::update`] does not evaluate).
    fn touch(&self, table: &str, key: &Item, transact: bool) -> Spent {
        let bytes = self.0.get(&Self::key(table, key)).map_or(0, item_bytes);
        let factor = if transact { 2 } else { 1 };
        Spent { table: vec![(item_kind(key), factor * kb_units(bytes))], indexes: Vec::new() }
    }
}

/// An update request's parts, as the counter reads them.
struct Update<'a> {
    key: &'a Item,
    expression: Option<&'a str>,
    names: Option<&'a HashMap<String, String>>,
    values: Option<&'a Item>,
}

/// Applies `u` to `item` if its expression is of the plain form (`SET #n = :v` pairs, `REMOVE`
/// names, `ADD` of a string set or a number); `None`, with `item` untouched or not, otherwise.
fn apply_update(item: &mut Item, u: &Update<'_>) -> Option<()> {
    let name = |token: &str| -> Option<String> {
        let token = token.trim_end_matches(',');
        match token.strip_prefix('#') {
            Some(_) => u.names?.get(token).cloned(),
            None => Some(token.to_string()),
        }
    };
    let value = |token: &str| u.values?.get(token.trim_end_matches(',')).cloned();
    let tokens: Vec<&str> = u.expression?.split_whitespace().collect();
    let mut clause = "";
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i] {
            "SET" | "REMOVE" | "ADD" => {
                clause = tokens[i];
                i += 1;
            }
            _ if clause == "SET" => {
                if tokens.get(i + 1) != Some(&"=") {
                    return None;
                }
                item.insert(name(tokens[i])?, value(tokens.get(i + 2)?)?);
                i += 3;
            }
            _ if clause == "REMOVE" => {
                item.remove(&name(tokens[i])?);
                i += 1;
            }
            _ if clause == "ADD" => {
                let (n, v) = (name(tokens[i])?, value(tokens.get(i + 1)?)?);
                let added = match (item.remove(&n), v) {
                    (Some(AttributeValue::Ss(mut had)), AttributeValue::Ss(more)) => {
                        had.extend(more.into_iter().filter(|m| !had.contains(m)).collect::<Vec<_>>());
                        AttributeValue::Ss(had)
                    }
                    (None, v) => v,
                    (Some(AttributeValue::N(a)), AttributeValue::N(b)) => {
                        AttributeValue::N((a.parse::<f64>().ok()? + b.parse::<f64>().ok()?).to_string())
                    }
                    _ => return None,
                };
                item.insert(n, added);
                i += 2;
            }
            _ => return None,
        }
    }
    Some(())
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

    /// Write units by what they went on so far (`ticket`, `events`, `index by_open`...).
    pub fn spent_on(&self) -> BTreeMap<String, u64> {
        self.spent_on.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// [`Self::spent_on`], and starts again from nothing.
    pub fn take_spent_on(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.spent_on.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Table and index write units of a DynamoDB request (none for any other).
    fn write_units(&self, input: &aws_smithy_runtime_api::client::interceptors::context::Input) -> Spent {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        let sum = |mut a: Spent, b: Spent| {
            a.table.extend(b.table);
            a.indexes.extend(b.indexes);
            a
        };
        if let Some(put) = input.downcast_ref::<PutItemInput>() {
            written.put(put.table_name().unwrap_or_default(), put.item.as_ref().unwrap_or(&HashMap::new()), false)
        } else if let Some(d) = input.downcast_ref::<DeleteItemInput>() {
            written.delete(d.table_name().unwrap_or_default(), d.key.as_ref().unwrap_or(&HashMap::new()), false)
        } else if let Some(u) = input.downcast_ref::<UpdateItemInput>() {
            let empty = HashMap::new();
            let update = Update {
                key: u.key.as_ref().unwrap_or(&empty),
                expression: u.update_expression(),
                names: u.expression_attribute_names.as_ref(),
                values: u.expression_attribute_values.as_ref(),
            };
            written.update(u.table_name().unwrap_or_default(), &update, false)
        } else if let Some(tx) = input.downcast_ref::<TransactWriteItemsInput>() {
            tx.transact_items().iter().fold(Spent::default(), |total, i| {
                let one = if let Some(p) = i.put() {
                    written.put(p.table_name(), p.item(), true)
                } else if let Some(d) = i.delete() {
                    written.delete(d.table_name(), d.key(), true)
                } else if let Some(u) = i.update() {
                    let update = Update {
                        key: u.key(),
                        expression: Some(u.update_expression()),
                        names: u.expression_attribute_names.as_ref(),
                        values: u.expression_attribute_values.as_ref(),
                    };
                    written.update(u.table_name(), &update, true)
                } else if let Some(c) = i.condition_check() {
                    written.touch(c.table_name(), c.key(), true)
                } else {
                    Spent::default()
                };
                sum(total, one)
            })
        } else {
            Spent::default()
        }
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
        let spent = self.write_units(input);
        self.add_units(spent.table_units(), 0);
        self.units.lock().unwrap_or_else(|p| p.into_inner()).index_write += spent.index_units();
        let mut on = self.spent_on.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, units) in spent.table {
            *on.entry(kind.to_string()).or_default() += units;
        }
        for (index, units) in spent.indexes {
            *on.entry(format!("index {index}")).or_default() += units;
        }
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
        } else if let Some(batch) = output.downcast_ref::<BatchGetItemOutput>() {
            // Each item read is rounded up to 4 KB on its own.
            batch.responses().map_or(0, |r| r.values().flatten().map(|i| item_bytes(i).div_ceil(4096).max(1)).sum())
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
