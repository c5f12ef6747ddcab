//! The report aggregates in DynamoDB, fed by the table's own stream (the `sportello-reports`
//! function): each new event item is folded into its ticket's facts, and the change in the
//! ticket's marks is added to the cells, in one transaction per ticket. See `docs/reports.md`
//! ("On AWS") and `docs/dynamodb.md` for the items.
//!
//! Idempotent by event: the facts keep the highest event sort key folded in and the sort keys of
//! the last [`REORDER_WINDOW`] of events ([`FeedOrder::Within`]), and the facts are written on
//! condition of the revision read, in the same transaction as the cells' `ADD`s. A redelivered batch folds nothing twice; two batches racing on one ticket make one
//! transaction fail, and it is read again and retried.

use super::unavailable;
use crate::domain::TicketId;
use crate::ports::{ReportStore, StoreError, StoreResult, TicketStore};
use crate::reports::facts::delta;
use crate::reports::metric::{OPEN_STATES, key};
use crate::reports::{CellKey, Cube, FeedEvent, FeedOrder, Metrics, Projector, TicketFacts, Watched};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::table::{PK, SK};

type Item = HashMap<String, AttributeValue>;

/// A transaction holds at most 100 items; a ticket's change touches far fewer (its facts, a
/// few cells per day it counts on, its drill-down days and GDPR clocks).
const MAX_TRANSACTION: usize = 100;
/// How late (by its time) an event may reach the stream after a later one of the same ticket:
/// its sort key starts with the time its writer read, and a writer (a Lambda) can take up to
/// 15 minutes to commit it.
pub const REORDER_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);
const FEED_ORDER: FeedOrder = FeedOrder::Within(REORDER_WINDOW);
/// How many times a fold is read again after another one changed the same ticket.
const ATTEMPTS: usize = 5;
/// Days of cells read at once by a report.
const READ_FAN_OUT: usize = 16;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn facts_pk(ticket: &str) -> String {
    format!("RF#{ticket}")
}
const FACTS_SK: &str = "FACTS";

/// A cell's partition: one per cube and local day; the open cube (read whole, "now") has one.
fn cell_key(k: &CellKey) -> (String, String) {
    match k.cube {
        Cube::Open => ("RO".into(), format!("{}#{}", sortable_day(k.day), k.dims_key())),
        cube => (format!("RC#{}#{}", cube.code(), k.day), k.dims_key()),
    }
}

/// A day number as a sort key that sorts as the number does (days before 1970 included).
fn sortable_day(day: i32) -> String {
    format!("{:010}", i64::from(day) + 1_000_000_000)
}

fn day_pk(day: i32) -> String {
    format!("RD#{day}")
}

const WATCH_PK: &str = "RW";

fn watch_sk(w: &Watched) -> String {
    format!("{:020}#{}#{}", w.due.as_microsecond().max(0), w.ticket_id, w.kind)
}

/// A metric key as an attribute name of a cell item.
fn metric_attr(k: u32) -> String {
    format!("m{k}")
}

fn metrics_of(item: &Item) -> Metrics {
    let mut m = Metrics::new();
    for (name, v) in item {
        if let (Some(k), AttributeValue::N(v)) = (name.strip_prefix('m').and_then(|k| k.parse::<u32>().ok()), v) {
            m.add(k, v.parse().unwrap_or(0));
        }
    }
    m
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// One record of the table's stream, as Lambda hands it to the reports function.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// The record's sequence number: what a partial failure names.
    pub sequence: String,
    /// The new events, if the record is an event item written (not changed, not removed): one,
    /// or the run of events a write stored together.
    pub events: Vec<FeedEvent>,
    /// The id of the ticket write the events were written ahead of (`w`), and the ticket version
    /// that write replaces (`wv`), if they were: they count once the ticket item records the
    /// write ([`DynamoReports::committed`]).
    pub commit: Option<(String, u64)>,
    /// When the stream recorded the write (`ApproximateCreationDateTime`, seconds).
    pub written_at: Option<jiff::Timestamp>,
}

/// The records of a DynamoDB Streams event (`{"Records": [...]}`, low-level attribute values).
/// Items other than events, changes and removals are kept without an event, so their sequence
/// numbers still count; an event item whose document cannot be read (erased meanwhile) too.
pub fn stream_records(payload: &serde_json::Value) -> Result<Vec<StreamRecord>, String> {
    let records =
        payload.get("Records").and_then(|r| r.as_array()).ok_or("not a DynamoDB Streams event: no `Records`")?;
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let change = &r["dynamodb"];
        let sequence = change["SequenceNumber"]
            .as_str()
            .ok_or("a DynamoDB Streams record without `dynamodb.SequenceNumber`")?
            .to_string();
        let image = &change["NewImage"];
        let attr = |name: &str| image[name]["S"].as_str();
        let events = match (r["eventName"].as_str(), attr(PK), attr(SK)) {
            (Some("INSERT"), Some(pk), Some(sk)) if pk.starts_with("T#") && sk.starts_with("E#") => {
                stream_events(pk, sk, attr("doc"), attr("docs")).unwrap_or_else(|| {
                    tracing::debug!(sequence, "reports: an unreadable event is left out");
                    Vec::new()
                })
            }
            _ => Vec::new(),
        };
        let expects = image[super::tickets::COMMIT_EXPECTS]["N"].as_str().and_then(|n| n.parse().ok());
        let commit = match (events.is_empty(), attr(super::tickets::COMMIT), expects) {
            (false, Some(commit), Some(expects)) => Some((commit.to_owned(), expects)),
            _ => None,
        };
        let written_at = change["ApproximateCreationDateTime"]
            .as_f64()
            .and_then(|secs| jiff::Timestamp::from_second(secs as i64).ok());
        out.push(StreamRecord { sequence, events, commit, written_at });
    }
    Ok(out)
}

/// The events of an event item's new image: one (`doc`, id = the sort key), or a run written
/// together (`docs`, ids = the sort key and the position, `<sk>.000`, in order); their ticket and
/// time put back from the keys where the item leaves them out (`tickets::stored_events`).
fn stream_events(pk: &str, sk: &str, doc: Option<&str>, docs: Option<&str>) -> Option<Vec<FeedEvent>> {
    let events = super::tickets::stored_events(pk, sk, doc, docs).ok()?;
    if doc.is_some() {
        return Some(events.into_iter().map(|event| FeedEvent { id: sk.to_string(), event }).collect());
    }
    Some(events.into_iter().enumerate().map(|(i, event)| FeedEvent { id: format!("{sk}.{i:03}"), event }).collect())
}

#[derive(Clone)]
pub struct DynamoReports {
    client: Client,
    table: String,
    tickets: Arc<dyn TicketStore>,
    projector: Arc<Projector>,
}

impl DynamoReports {
    /// Over the table `table`; `tickets` reads the tickets as they are now (the table's store).
    pub fn new(
        client: Client,
        table: impl Into<String>,
        tickets: Arc<dyn TicketStore>,
        projector: Arc<Projector>,
    ) -> Self {
        Self { client, table: table.into(), tickets, projector }
    }

    /// The records of a batch whose events count: those written with their ticket, and those
    /// written ahead of a ticket write that the ticket item now records. A record whose write
    /// will never be done (`tickets::written`: the ticket moved past it, is gone, or its writer
    /// died) is kept without its events; at one whose write may still come, the records before
    /// it are returned with its sequence number, from which the batch is to be retried. One read
    /// of each such ticket item per batch.
    pub async fn committed(
        &self,
        records: Vec<StreamRecord>,
        now: jiff::Timestamp,
    ) -> (Vec<StreamRecord>, Option<String>) {
        let mut tickets: HashMap<TicketId, Option<Item>> = HashMap::new();
        let mut kept = Vec::with_capacity(records.len());
        for mut record in records {
            let (Some((commit, expects)), Some(first)) = (record.commit.clone(), record.events.first()) else {
                kept.push(record);
                continue;
            };
            let ticket = first.event.ticket_id.clone();
            if !tickets.contains_key(&ticket) {
                match self.ticket_commits(&ticket).await {
                    Ok(found) => {
                        tickets.insert(ticket.clone(), found);
                    }
                    Err(e) => {
                        tracing::warn!(ticket = %ticket, error = %e, "reports: cannot read the ticket; the batch is retried from it");
                        return (kept, Some(record.sequence));
                    }
                }
            }
            let row = HashMap::from([
                (super::tickets::COMMIT.to_string(), s(commit)),
                (super::tickets::COMMIT_EXPECTS.to_string(), n(i64::try_from(expects).unwrap_or(i64::MAX))),
            ]);
            let at = record.written_at.or(Some(first.event.at));
            match super::tickets::written(tickets.get(&ticket).and_then(Option::as_ref), &row, at, now) {
                super::tickets::Written::Counts => {}
                super::tickets::Written::Pending => return (kept, Some(record.sequence)),
                super::tickets::Written::Never => {
                    tracing::debug!(ticket = %ticket, sequence = record.sequence, "reports: events of a write never done are left out");
                    record.events.clear();
                }
            }
            kept.push(record);
        }
        (kept, None)
    }

    /// What of a ticket item says which writes are done: the writes it records
    /// (`tickets::COMMITS`) and its version; `None` when the ticket is not there.
    async fn ticket_commits(&self, ticket: &TicketId) -> StoreResult<Option<Item>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(super::tickets::ticket_pk(&ticket.0)))
            .key(SK, s(super::tickets::TICKET_SK))
            .projection_expression("#c, #v")
            .expression_attribute_names("#c", super::tickets::COMMITS)
            .expression_attribute_names("#v", "version")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(got.item)
    }

    /// Folds a batch of the stream: each ticket's events in one transaction. Returns, per ticket
    /// that could not be folded, its id and the error (the others are folded).
    pub async fn fold(&self, events: Vec<FeedEvent>) -> Vec<(TicketId, StoreError)> {
        let mut by_ticket: BTreeMap<TicketId, Vec<FeedEvent>> = BTreeMap::new();
        for e in events {
            by_ticket.entry(e.event.ticket_id.clone()).or_default().push(e);
        }
        let mut failed = Vec::new();
        for (ticket, events) in by_ticket {
            if let Err(e) = self.fold_ticket(&ticket, &events).await {
                tracing::warn!(ticket = %ticket, error = %e, "reports: folding failed; the batch is retried from it");
                failed.push((ticket, e));
            }
        }
        failed
    }

    async fn read_facts(&self, ticket: &str) -> StoreResult<Option<(TicketFacts, i64)>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(facts_pk(ticket)))
            .key(SK, s(FACTS_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        let Some(item) = got.item else { return Ok(None) };
        let facts = decode_facts(&item, ticket)?;
        let rev = item.get("rev").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
        Ok(Some((facts, rev)))
    }

    async fn fold_ticket(&self, ticket: &TicketId, events: &[FeedEvent]) -> StoreResult<()> {
        for _ in 0..ATTEMPTS {
            let (old, rev) = match self.read_facts(&ticket.0).await? {
                Some((f, rev)) => (Some(f), rev),
                None => (None, 0),
            };
            if old.as_ref().is_some_and(|o| events.iter().all(|e| !o.is_new(e, FEED_ORDER))) {
                return Ok(()); // A redelivery: everything was folded before.
            }
            let current = match self.tickets.get(ticket).await {
                Ok(t) => Some(t),
                // Purged meanwhile: the marks stay as they were.
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e),
            };
            let start = old.clone().unwrap_or_else(|| TicketFacts::new(ticket.clone()));
            let new = self.projector.project(start, current.as_ref(), events, FEED_ORDER);
            let items = self.writes(old.as_ref(), &new, rev)?;
            match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
                Ok(_) => {
                    self.drop_empty_open_cells(old.as_ref(), &new).await;
                    return Ok(());
                }
                Err(e) if facts_changed(&e) => continue,
                Err(e) => return Err(unavailable("TransactWriteItems", e)),
            }
        }
        Err(StoreError::Unavailable(format!("report facts of {ticket}: changed by others {ATTEMPTS} times in a row")))
    }

    /// The transaction of one ticket's change: its facts (on condition of the revision read),
    /// the cells' `ADD`s, the drill-down days and the GDPR clocks that changed.
    fn writes(&self, old: Option<&TicketFacts>, new: &TicketFacts, rev: i64) -> StoreResult<Vec<TransactWriteItem>> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
        let id = &new.ticket_id.0;
        let doc = serde_json::to_string(new).map_err(|e| StoreError::Invalid(format!("report facts: {e}")))?;
        let facts = Put::builder()
            .table_name(&self.table)
            .item(PK, s(facts_pk(id)))
            .item(SK, s(FACTS_SK))
            .item("doc", s(doc))
            .item("rev", n(rev + 1))
            .condition_expression(if rev == 0 { "attribute_not_exists(pk)" } else { "rev = :rev" })
            .set_expression_attribute_values((rev != 0).then(|| HashMap::from([(":rev".to_string(), n(rev))])))
            .build()
            .map_err(build)?;
        let mut items = vec![TransactWriteItem::builder().put(facts).build()];
        for (k, m) in delta(old, new) {
            let (pk, sk) = cell_key(&k);
            let mut names = HashMap::new();
            let mut values = HashMap::new();
            let mut adds = Vec::new();
            for (i, (metric, value)) in m.iter().enumerate() {
                names.insert(format!("#a{i}"), metric_attr(metric));
                values.insert(format!(":v{i}"), n(value));
                adds.push(format!("#a{i} :v{i}"));
            }
            let update = Update::builder()
                .table_name(&self.table)
                .key(PK, s(pk))
                .key(SK, s(sk))
                .update_expression(format!("ADD {}", adds.join(", ")))
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .build()
                .map_err(build)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let (old_days, new_days) = (old.map(TicketFacts::days).unwrap_or_default(), new.days());
        for day in new_days.difference(&old_days) {
            let put = Put::builder().table_name(&self.table).item(PK, s(day_pk(*day))).item(SK, s(id.as_str()));
            items.push(TransactWriteItem::builder().put(put.build().map_err(build)?).build());
        }
        for day in old_days.difference(&new_days) {
            let delete = Delete::builder().table_name(&self.table).key(PK, s(day_pk(*day))).key(SK, s(id.as_str()));
            items.push(TransactWriteItem::builder().delete(delete.build().map_err(build)?).build());
        }
        let old_watch: BTreeSet<String> = old.map(|o| o.watch.iter().map(watch_sk).collect()).unwrap_or_default();
        let new_watch: BTreeMap<String, &Watched> = new.watch.iter().map(|w| (watch_sk(w), w)).collect();
        for (sk, w) in &new_watch {
            if old.is_some_and(|o| o.watch.contains(w)) {
                continue;
            }
            let doc = serde_json::to_string(w).map_err(|e| StoreError::Invalid(format!("report clock: {e}")))?;
            let put = Put::builder().table_name(&self.table).item(PK, s(WATCH_PK)).item(SK, s(sk)).item("doc", s(doc));
            items.push(TransactWriteItem::builder().put(put.build().map_err(build)?).build());
        }
        for sk in old_watch.iter().filter(|sk| !new_watch.contains_key(*sk)) {
            let delete = Delete::builder().table_name(&self.table).key(PK, s(WATCH_PK)).key(SK, s(sk));
            items.push(TransactWriteItem::builder().delete(delete.build().map_err(build)?).build());
        }
        if items.len() > MAX_TRANSACTION {
            return Err(StoreError::Invalid(format!(
                "report facts of {id}: the change touches {} items, more than a transaction holds",
                items.len()
            )));
        }
        Ok(items)
    }

    /// The open cube is read whole: a cell that went back to zero (every ticket of its day and
    /// group closed) is deleted, on condition that it is still zero.
    async fn drop_empty_open_cells(&self, old: Option<&TicketFacts>, new: &TicketFacts) {
        let Some(old) = old else { return };
        let emptied: Vec<CellKey> = delta(Some(old), new)
            .into_iter()
            .filter(|(k, m)| k.cube == Cube::Open && m.iter().any(|(_, v)| v < 0))
            .map(|(k, _)| k)
            .collect();
        let open_keys: Vec<u32> =
            (0..OPEN_STATES.len() as u32).map(|i| key::OPEN_BASE + i).chain([key::OPEN_ESCALATIONS]).collect();
        let condition: Vec<String> =
            (0..open_keys.len()).map(|i| format!("(attribute_not_exists(#a{i}) OR #a{i} = :zero)")).collect();
        let names: HashMap<String, String> =
            open_keys.iter().enumerate().map(|(i, k)| (format!("#a{i}"), metric_attr(*k))).collect();
        for k in emptied {
            let (pk, sk) = cell_key(&k);
            let outcome = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(PK, s(pk))
                .key(SK, s(sk))
                .condition_expression(condition.join(" AND "))
                .set_expression_attribute_names(Some(names.clone()))
                .expression_attribute_values(":zero", n(0))
                .send()
                .await;
            if let Err(e) = outcome
                && !e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception())
            {
                tracing::debug!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&e), "reports: an empty open cell stays");
            }
        }
    }

    /// Every item of partition `pk` (with `sk > after` when given), at most `limit`.
    async fn query(&self, pk: String, after: Option<String>, limit: Option<usize>) -> StoreResult<Vec<Item>> {
        query(&self.client, &self.table, pk, after, limit).await
    }
}

async fn query(
    client: &Client,
    table: &str,
    pk: String,
    after: Option<String>,
    limit: Option<usize>,
) -> StoreResult<Vec<Item>> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let mut q = client
            .query()
            .table_name(table)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(&pk));
        q = match &after {
            Some(a) => q
                .key_condition_expression("#pk = :pk AND #sk > :after")
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":after", s(a)),
            None => q.key_condition_expression("#pk = :pk"),
        };
        if let Some(l) = limit {
            q = q.limit(i32::try_from(l - out.len()).unwrap_or(i32::MAX));
        }
        let page = q.set_exclusive_start_key(start).send().await.map_err(|e| unavailable("Query", e))?;
        out.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() || limit.is_some_and(|l| out.len() >= l) {
            return Ok(out);
        }
    }
}

fn decode_facts(item: &Item, ticket: &str) -> StoreResult<TicketFacts> {
    let doc = text(item, "doc").ok_or_else(|| StoreError::Corrupt(format!("report facts of {ticket}: no document")))?;
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("report facts of {ticket}: {e}")))
}

fn facts_changed(e: &SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            c.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
        }
        _ => false,
    }
}

fn cells_of(items: Vec<Item>, cube: Cube, day_of: impl Fn(&str) -> Option<(i32, String)>) -> Vec<(CellKey, Metrics)> {
    items
        .into_iter()
        .filter_map(|item| {
            let (day, dims) = day_of(text(&item, SK)?)?;
            let metrics = metrics_of(&item);
            if metrics.is_empty() {
                return None;
            }
            match CellKey::from_parts(cube, day, &dims) {
                Some(k) => Some((k, metrics)),
                None => {
                    tracing::warn!(day, "reports: a cell with unreadable dimensions is left out");
                    None
                }
            }
        })
        .collect()
}

#[async_trait]
impl ReportStore for DynamoReports {
    async fn cells(&self, cube: Cube, from: i32, to: i32) -> StoreResult<Vec<(CellKey, Metrics)>> {
        if cube == Cube::Open {
            let all = self.open_cells().await?;
            return Ok(all.into_iter().filter(|(k, _)| (from..=to).contains(&k.day)).collect());
        }
        let days: Vec<i32> = (from..=to).collect();
        let mut out = Vec::new();
        for chunk in days.chunks(READ_FAN_OUT) {
            let mut reads = tokio::task::JoinSet::new();
            for day in chunk {
                let (client, table, day) = (self.client.clone(), self.table.clone(), *day);
                reads.spawn(async move {
                    let items = query(&client, &table, format!("RC#{}#{day}", cube.code()), None, None).await?;
                    Ok::<_, StoreError>(cells_of(items, cube, |sk| Some((day, sk.to_string()))))
                });
            }
            while let Some(read) = reads.join_next().await {
                out.extend(read.map_err(|e| StoreError::Unavailable(format!("reading report cells: {e}")))??);
            }
        }
        Ok(out)
    }

    async fn open_cells(&self) -> StoreResult<Vec<(CellKey, Metrics)>> {
        let items = self.query("RO".into(), None, None).await?;
        Ok(cells_of(items, Cube::Open, |sk| {
            let (day, dims) = sk.split_once('#')?;
            Some((i32::try_from(day.parse::<i64>().ok()? - 1_000_000_000).ok()?, dims.to_string()))
        }))
    }

    async fn watched(&self) -> StoreResult<Vec<Watched>> {
        let items = self.query(WATCH_PK.into(), None, None).await?;
        items
            .iter()
            .map(|item| {
                let doc = text(item, "doc").unwrap_or_default();
                serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("report clock: {e}")))
            })
            .collect()
    }

    async fn facts_on(&self, day: i32, after: Option<&TicketId>, limit: usize) -> StoreResult<Vec<TicketFacts>> {
        let listed = self.query(day_pk(day), after.map(|t| t.0.clone()), Some(limit.clamp(1, 10_000))).await?;
        let ids: Vec<String> = listed.iter().filter_map(|i| text(i, SK)).map(str::to_string).collect();
        let keys: Vec<Item> = ids
            .iter()
            .map(|id| HashMap::from([(PK.to_string(), s(facts_pk(id))), (SK.to_string(), s(FACTS_SK))]))
            .collect();
        let mut found: BTreeMap<String, TicketFacts> = BTreeMap::new();
        for item in super::batch_get(&self.client, &self.table, keys).await? {
            let id = text(&item, PK).and_then(|pk| pk.strip_prefix("RF#")).unwrap_or_default().to_string();
            found.insert(id.clone(), decode_facts(&item, &id)?);
        }
        Ok(found.into_values().collect())
    }

    async fn facts(&self, ticket: &TicketId) -> StoreResult<Option<TicketFacts>> {
        Ok(self.read_facts(&ticket.0).await?.map(|(f, _)| f))
    }
}
