//! Tickets, events and idempotency records in one DynamoDB table (see `docs/dynamodb.md`).

use super::dedup::{self, Begin, Records};
use super::table::*;
use super::unavailable;
use crate::domain::{Actor, Event, Ticket, TicketId, TicketReference, TicketState};
use crate::ports::event_log::{single_ticket, token_digest};
use crate::ports::idempotency::validate_key;
use crate::ports::queue_page::MAX_QUEUE_PAGE;
use crate::ports::ticket_store::{
    MAX_EVENTS_PER_WRITE, carries_only_ids, clock_position, created_event, erase_ticket, retention_cutoff, scrub_event,
    validate_follow_ups, validate_new, validate_update,
};
use crate::ports::{
    AssigneeFilter, Claim, ClockPositions, Completion, Created, Erasure, EventLog, EventTail, FollowUps,
    IdempotencyStore, Lease, NewTicket, Outboxed, PageStart, QueueKey, QueuePage, QueuePosition, QueueQuery,
    RequesterKey, StepMessage, StoreError, StoreResult, TicketStore,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

pub(super) const TICKET_SK: &str = "TICKET";
const REF_SK: &str = "REF";
const IDEM_SK: &str = "IDEM";
const EVENT_PREFIX: &str = "E#";
/// A token digest one of the ticket's events carries (`K#<sha256>`): found by a poll with the
/// events after its position, in the same query (`E#` < `K#` < `TICKET`).
const DIGEST_PREFIX: &str = "K#";
const CLOSED: &str = "CLOSED";
/// The partition of intake steps not yet published: one key, so the sweep reads it with a
/// strongly consistent query, oldest first (see `docs/dynamodb.md`).
const OUTBOX_PK: &str = "OUTBOX";
/// The partition of the clock's positions in the queues it did not finish (`P#<team>#<state>`):
/// one query reads them all.
const CLOCK_PK: &str = "CLOCK";
/// The most items one query page asks for, and the most a list returns (DynamoDB stops a page
/// at 1 MB anyway).
const MAX_LIST: usize = 1000;
/// Conflicting writers retry an erasure this many times before giving up.
const ERASE_TRIES: usize = 5;
/// How an erasure names the intake steps it removed from the outbox: messages still queued, as
/// the embedded store names its own.
const QUEUED_COPIES: &str = "queued_messages";

/// Tickets, events and idempotency records (implements [`TicketStore`], [`EventLog`] and
/// [`IdempotencyStore`]).
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    records: Records,
}

pub(super) fn ticket_pk(id: &str) -> String {
    format!("T#{id}")
}
fn ref_pk(reference: &str) -> String {
    format!("R#{reference}")
}
fn idem_pk(key: &str) -> String {
    format!("I#{key}")
}
/// The partition of a step's idempotency record (see [`IdempotencyStore`] below).
fn claim_pk(key: &str) -> String {
    format!("S#{key}")
}
/// Zero-padded microseconds, so string order is time order.
fn sortable(t: Timestamp) -> String {
    format!("{:020}", t.as_microsecond().max(0))
}
/// Whether `t` is exactly what [`sortable`] keeps of it (no nanoseconds below the microsecond).
fn exact_microsecond(t: Timestamp) -> bool {
    t.as_microsecond() >= 0 && t.subsec_nanosecond() % 1000 == 0
}
/// The instant a sort key starts with (`<20 digits>#...`, as [`sortable`] writes it), as JSON.
fn key_instant(key: &str) -> Option<serde_json::Value> {
    let us: i64 = key.get(..20)?.parse().ok()?;
    serde_json::to_value(Timestamp::from_microsecond(us).ok()?).ok()
}
fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))
}
fn corrupt(what: &str, e: &serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!(
        "{what}: unreadable JSON ({:?} error at line {}, column {})",
        e.classify(),
        e.line(),
        e.column()
    ))
}
fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}
fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}
fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Invalid(format!("request: {e}")))
}

/// The ticket's fields the item holds as attributes of their own (keys, conditions, filters),
/// left out of its document to keep the item under 1 KB (a write unit; two in a transaction).
/// [`read_ticket`] puts them back; documents written before keep them, which is as good. Other
/// copies [`ticket_item`] leaves out when the item holds them exactly: the requester's keys
/// (`rq_*`), the creation time (`queue_sk`), the team while open (`open_pk`), the channel's kind
/// when it is the channel's name.
const KEPT_APART: [&str; 8] = ["id", "reference", "state", "channel", "ticket_type", "assignee", "category", "version"];

fn ticket_item(t: &Ticket) -> StoreResult<Item> {
    let mut doc = serde_json::to_value(t).map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))?;
    let keys = RequesterKey::of(&t.requester);
    if let Some(fields) = doc.as_object_mut() {
        for name in KEPT_APART {
            fields.remove(name);
        }
        // Copies the item's keys already hold, exactly: the requester's keys (`rq_*`) when they
        // are stored as given, the creation time (`queue_sk`) when it has no sub-microsecond part.
        if let Some(requester) = fields.get_mut("requester").and_then(|r| r.as_object_mut()) {
            for (name, given, key) in [
                ("email", &t.requester.email, &keys.email),
                ("phone", &t.requester.phone, &keys.phone),
                ("fiscal_code", &t.requester.fiscal_code, &keys.fiscal_code),
            ] {
                if given.is_some() && given == key {
                    requester.remove(name);
                }
            }
        }
        if fields.get("requester").and_then(|r| r.as_object()).is_some_and(|r| r.is_empty()) {
            fields.remove("requester");
        }
        if exact_microsecond(t.created_at) {
            fields.remove("created_at");
        }
        // The team while open (`open_pk` is `O#<team>`), the channel's kind when it is its name.
        if t.state.is_open() {
            fields.remove("team");
        }
        if fields.get("channel_kind").and_then(|k| k.as_str()) == Some(t.channel.as_str()) {
            fields.remove("channel_kind");
        }
    }
    let mut item: Item = HashMap::from([
        (PK.into(), s(ticket_pk(&t.id.0))),
        (SK.into(), s(TICKET_SK)),
        ("doc".into(), s(to_json(&doc)?)),
        ("version".into(), AttributeValue::N(t.version.to_string())),
        ("reference".into(), s(&t.reference.0)),
        ("state".into(), s(t.state.as_str())),
        (QUEUE_SK.into(), s(format!("{}#{}", sortable(t.created_at), t.id))),
    ]);
    for (attr, value) in [(RQ_EMAIL, keys.email), (RQ_PHONE, keys.phone), (RQ_FISCAL_CODE, keys.fiscal_code)] {
        if let Some(v) = value {
            item.insert(attr.into(), s(v));
        }
    }
    // Sparse: a closed ticket leaves its team's queue (the clock and the console read open ones).
    if t.state.is_open() {
        item.insert(OPEN_PK.into(), s(format!("O#{}", t.team)));
        item.insert(OPEN_SK.into(), s(QueueKey::of(t).sortable()));
    }
    // What a work queue filters by; an absent attribute is "none" (`attribute_not_exists`).
    item.insert("channel".into(), s(&t.channel));
    for (attr, value) in [
        ("ticket_type", t.ticket_type.map(|ty| ty.code().to_string())),
        ("assignee", t.assignee.clone()),
        ("category", t.category.clone()),
    ] {
        if let Some(v) = value {
            item.insert(attr.into(), s(v));
        }
    }
    if let (true, Some(closed)) = (t.state.is_final(), t.closed_at) {
        item.insert(CLOSED_PK.into(), s(CLOSED));
        item.insert(CLOSED_SK.into(), s(format!("{}#{}", sortable(closed), t.id)));
    }
    Ok(item)
}

fn read_ticket(item: &Item) -> StoreResult<Ticket> {
    let pk = text(item, PK).unwrap_or("?");
    let id = pk.strip_prefix("T#").unwrap_or(pk);
    let doc = text(item, "doc").ok_or_else(|| StoreError::Corrupt(format!("ticket {id}: no document")))?;
    let mut doc: serde_json::Value = serde_json::from_str(doc).map_err(|e| corrupt(&format!("ticket {id}"), &e))?;
    let version = number(item, "version")
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("ticket {id}: no version")))?;
    if let Some(fields) = doc.as_object_mut() {
        // A document written before [`KEPT_APART`] has them all already, with the same values.
        let apart = [
            ("id", Some(id)),
            ("reference", text(item, "reference")),
            ("state", text(item, "state")),
            ("channel", text(item, "channel")),
            ("ticket_type", text(item, "ticket_type")),
            ("assignee", text(item, "assignee")),
            ("category", text(item, "category")),
        ];
        for (name, value) in apart {
            if let Some(v) = value {
                fields.entry(name).or_insert_with(|| serde_json::Value::String(v.to_owned()));
            }
        }
        fields.insert("version".into(), version.into());
        for (name, attr) in [("email", RQ_EMAIL), ("phone", RQ_PHONE), ("fiscal_code", RQ_FISCAL_CODE)] {
            if let Some(v) = text(item, attr)
                && let Some(requester) = fields
                    .entry("requester")
                    .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()))
                    .as_object_mut()
            {
                requester.entry(name).or_insert_with(|| serde_json::Value::String(v.to_owned()));
            }
        }
        if let Some(team) = text(item, OPEN_PK).and_then(|pk| pk.strip_prefix("O#")) {
            fields.entry("team").or_insert_with(|| serde_json::Value::String(team.to_owned()));
        }
        if let Some(channel) = text(item, "channel") {
            fields.entry("channel_kind").or_insert_with(|| serde_json::Value::String(channel.to_owned()));
        }
        if !fields.contains_key("created_at")
            && let Some(created) = text(item, QUEUE_SK).and_then(key_instant)
        {
            fields.insert("created_at".into(), created);
        }
    }
    // `corrupt` names the kind of error only: serde's message can quote the stored values.
    let ticket: Ticket = serde_json::from_value(doc).map_err(|e| corrupt(&format!("ticket {id}"), &e))?;
    if ticket.id.0 != id {
        return Err(StoreError::Corrupt(format!("ticket {id}: its record names another id")));
    }
    Ok(ticket)
}

/// Custom-field values longer than this get no look-up item (a key holds 2 KB; notice codes,
/// fiscal codes and RptIds are far shorter).
const MAX_FIELD_KEY_BYTES: usize = 512;

fn field_pk(name: &str, value: &str) -> String {
    format!("F#{name}#{value}")
}

/// The look-up items of a ticket's custom fields: `F#<name>#<value>` / `<created µs>#<id>`.
fn field_items(t: &Ticket) -> Vec<Item> {
    t.fields
        .iter()
        .filter(|(_, v)| v.len() <= MAX_FIELD_KEY_BYTES && !v.is_empty())
        .map(|(name, value)| {
            HashMap::from([
                (PK.into(), s(field_pk(name, value))),
                (SK.into(), s(format!("{}#{}", sortable(t.created_at), t.id))),
                ("ticket_id".into(), s(&t.id.0)),
            ])
        })
        .collect()
}

/// The attribute of an event item written before its ticket's write (see [`written`]): the id
/// of that write. The events count once the ticket item records the id in [`COMMITS`].
pub(super) const COMMIT: &str = "w";
/// The attribute of such an event item holding the ticket version its write expects to replace:
/// once the ticket is past it without recording the write, the write can never be done.
pub(super) const COMMIT_EXPECTS: &str = "wv";
/// The attribute of a ticket item listing the writes whose events, written first, count (a string
/// set, added to by each such write with `ADD`, so no writer needs to read it).
pub(super) const COMMITS: &str = "commits";

/// A new write's id: 6 hex digits, unique among one ticket's writes (the random tail of a UUID v7).
fn new_commit() -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    id[id.len() - 6..].to_string()
}

/// How long after its events were written a ticket write that has not recorded them is taken as
/// never coming (its writer died): the two writes are one request apart, and the SDK's retries
/// of the second take well under this.
pub(super) const COMMIT_WAIT: jiff::SignedDuration = jiff::SignedDuration::from_mins(2);

/// Whether an event row of a ticket partition is part of the ticket's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Written {
    /// Written with its ticket (no [`COMMIT`]), or ahead of a ticket write the ticket records.
    Counts,
    /// Ahead of a ticket write that can no longer be done: the ticket is past the version it
    /// expected without recording it, the ticket is gone, or its writer died ([`COMMIT_WAIT`]).
    Never,
    /// Ahead of a ticket write that may still be done a moment later.
    Pending,
}

/// Whether `row` counts, given its ticket's item (`ticket`, if there). The row's own time is its
/// sort key's (`written`, when the caller knows better: the stream's record time).
pub(super) fn written(ticket: Option<&Item>, row: &Item, written: Option<Timestamp>, now: Timestamp) -> Written {
    let Some(commit) = text(row, COMMIT) else { return Written::Counts };
    let Some(ticket) = ticket else { return Written::Never };
    let done = ticket.get(COMMITS).and_then(|c| c.as_ss().ok());
    if done.is_some_and(|done| done.iter().any(|d| d == commit)) {
        return Written::Counts;
    }
    let moved_on = match (number(ticket, "version"), number(row, COMMIT_EXPECTS)) {
        (Some(version), Some(expects)) => version > expects,
        _ => true,
    };
    let at = written.or_else(|| {
        let us: i64 = text(row, SK)?.strip_prefix(EVENT_PREFIX)?.get(..20)?.parse().ok()?;
        Timestamp::from_microsecond(us).ok()
    });
    let died = at.is_none_or(|at| now.duration_since(at) >= COMMIT_WAIT);
    if moved_on || died { Written::Never } else { Written::Pending }
}

/// The attributes a ticket item may have or not, removed by a write of the ticket that has no
/// value for them (the write is an `UpdateItem`, which keeps what it does not name). `queue_pk`
/// and `rq_sk` are the earlier layouts' (see `docs/dynamodb.md`, "Migrations").
const TICKET_OPTIONAL: [&str; 12] = [
    OPEN_PK,
    OPEN_SK,
    CLOSED_PK,
    CLOSED_SK,
    RQ_EMAIL,
    RQ_PHONE,
    RQ_FISCAL_CODE,
    "ticket_type",
    "assignee",
    "category",
    "queue_pk",
    RQ_SK,
];

/// A version-checked write of a ticket item as an update: every attribute of `item` set, the
/// optional ones it lacks removed, [`COMMITS`] kept and, with `commit`, added to. An update, not
/// a put, so that the list of writes done is kept without being read.
struct TicketWrite {
    key: Item,
    expression: String,
    names: HashMap<String, String>,
    values: Item,
    condition: String,
}

impl TicketWrite {
    fn new(mut item: Item, expected_version: u64, reference: &str, commit: Option<&str>) -> Self {
        let key = HashMap::from([
            (PK.to_string(), item.remove(PK).unwrap_or_else(|| s(""))),
            (SK.to_string(), item.remove(SK).unwrap_or_else(|| s(""))),
        ]);
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut attrs: Vec<(String, AttributeValue)> = item.into_iter().collect();
        attrs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut set = Vec::new();
        for (i, (name, value)) in attrs.iter().enumerate() {
            names.insert(format!("#a{i}"), name.clone());
            values.insert(format!(":a{i}"), value.clone());
            set.push(format!("#a{i} = :a{i}"));
        }
        let mut remove = Vec::new();
        for (i, name) in TICKET_OPTIONAL.iter().enumerate() {
            if !attrs.iter().any(|(n, _)| n == name) {
                names.insert(format!("#r{i}"), (*name).to_string());
                remove.push(format!("#r{i}"));
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        if let Some(commit) = commit {
            names.insert("#commits".into(), COMMITS.into());
            values.insert(":commit".into(), AttributeValue::Ss(vec![commit.to_string()]));
            expression.push_str(" ADD #commits :commit");
        }
        names.insert("#version".into(), "version".into());
        names.insert("#reference".into(), "reference".into());
        values.insert(":expected".into(), AttributeValue::N(expected_version.to_string()));
        values.insert(":reference".into(), s(reference));
        let condition = "#version = :expected AND #reference = :reference".to_string();
        Self { key, expression, names, values, condition }
    }

    fn in_transaction(self, table: &str) -> StoreResult<TransactWriteItem> {
        let update = build(
            Update::builder()
                .table_name(table)
                .set_key(Some(self.key))
                .update_expression(self.expression)
                .condition_expression(self.condition)
                .set_expression_attribute_names(Some(self.names))
                .set_expression_attribute_values(Some(self.values))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// Events of one write stored together stop adding to an item at this size (an item holds 400 KB).
const EVENT_ITEM_BYTES: usize = 64 * 1024;

/// The items of events written together: one per run of same-instant events (most writes are
/// one run), so a write of three events bills one item, not three. A run of one keeps the
/// single-event form (`doc`); longer runs are a JSON array (`docs`). Sort keys keep the order
/// they had when each event was an item: by time, then by write (the batch id, time-ordered),
/// then by position in the write.
fn event_items(events: &[Event], commit: Option<(&str, u64)>) -> StoreResult<Vec<Item>> {
    let batch = uuid::Uuid::now_v7().simple().to_string();
    let mut runs: Vec<(usize, Vec<String>)> = Vec::new();
    let mut run_bytes = 0;
    for (i, e) in events.iter().enumerate() {
        let doc = stored_event(e)?;
        let joins = runs.last().is_some_and(|(first, _)| events[*first].at == e.at)
            && run_bytes + doc.len() <= EVENT_ITEM_BYTES;
        run_bytes = if joins { run_bytes + doc.len() } else { doc.len() };
        match runs.last_mut() {
            Some((_, docs)) if joins => docs.push(doc),
            _ => runs.push((i, vec![doc])),
        }
    }
    let mut items: Vec<Item> = runs
        .into_iter()
        .map(|(first, mut docs)| {
            let e = &events[first];
            let stored = if docs.len() == 1 {
                ("doc".to_string(), s(docs.remove(0)))
            } else {
                ("docs".to_string(), s(format!("[{}]", docs.join(","))))
            };
            let mut item = HashMap::from([
                (PK.into(), s(ticket_pk(&e.ticket_id.0))),
                (SK.into(), s(format!("{EVENT_PREFIX}{}#{batch}#{first:03}", sortable(e.at)))),
                stored,
            ]);
            if let Some((commit, expects)) = commit {
                item.insert(COMMIT.into(), s(commit));
                item.insert(COMMIT_EXPECTS.into(), AttributeValue::N(expects.to_string()));
            }
            item
        })
        .collect();
    for e in events {
        if let Some(digest) = token_digest(e).filter(|d| d.len() <= 128 && !d.is_empty()) {
            items.push(HashMap::from([
                (PK.into(), s(ticket_pk(&e.ticket_id.0))),
                (SK.into(), s(format!("{DIGEST_PREFIX}{digest}"))),
            ]));
        }
    }
    Ok(items)
}

/// An event as an event item stores it: without what the item's key says, its ticket (the
/// partition) and, when it is exactly the instant its sort key starts with, its time (a run's
/// events share one instant). [`stored_events`] puts them back; items written before keep them.
fn stored_event(e: &Event) -> StoreResult<String> {
    let mut doc = serde_json::to_value(e).map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))?;
    if let Some(fields) = doc.as_object_mut() {
        fields.remove("ticket_id");
        if exact_microsecond(e.at) {
            fields.remove("at");
        }
    }
    to_json(&doc)
}

/// The events of an event item (partition `pk`, sort key `sk`), in order: `doc` (one) or `docs`
/// (a run written together), with their ticket and time put back from the keys where the
/// stored form leaves them out ([`stored_event`]). Read by the store and by the reports' stream.
pub(super) fn stored_events(
    pk: &str,
    sk: &str,
    doc: Option<&str>,
    docs: Option<&str>,
) -> Result<Vec<Event>, serde_json::Error> {
    let mut stored: Vec<serde_json::Value> = match (doc, docs) {
        (Some(doc), _) => vec![serde_json::from_str(doc)?],
        (None, Some(docs)) => serde_json::from_str(docs)?,
        (None, None) => return Ok(Vec::new()),
    };
    let ticket = pk.strip_prefix("T#").unwrap_or(pk);
    let at = sk.strip_prefix(EVENT_PREFIX).and_then(key_instant);
    for event in &mut stored {
        if let Some(fields) = event.as_object_mut() {
            fields.entry("ticket_id").or_insert_with(|| serde_json::Value::String(ticket.to_owned()));
            if let Some(at) = &at {
                fields.entry("at").or_insert_with(|| at.clone());
            }
        }
    }
    stored.into_iter().map(serde_json::from_value).collect()
}

fn item_events(item: &Item) -> Result<Vec<Event>, serde_json::Error> {
    stored_events(
        text(item, PK).unwrap_or_default(),
        text(item, SK).unwrap_or_default(),
        text(item, "doc"),
        text(item, "docs"),
    )
}

fn read_events(row: &Item, ticket: &TicketId) -> StoreResult<Vec<Event>> {
    let sk = text(row, SK).unwrap_or("?");
    if text(row, "doc").is_none() && text(row, "docs").is_none() {
        return Err(StoreError::Corrupt(format!("event {sk} of ticket {ticket}: no document")));
    }
    item_events(row).map_err(|e| corrupt(&format!("event {sk} of ticket {ticket}"), &e))
}

/// A tail position as the API carries it: the event's sort key without its prefix, `#` as `.`.
fn tail_position(sk: &str) -> String {
    sk.strip_prefix(EVENT_PREFIX).unwrap_or(sk).replace('#', ".")
}

/// The sort key a tail position names, if it names one (anything else reads from the start).
fn tail_sort_key(position: &str) -> Option<String> {
    let ok =
        !position.is_empty() && position.len() <= 80 && position.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    ok.then(|| format!("{EVENT_PREFIX}{}", position.replace('.', "#")))
}

/// `<queued µs>#<ticket id>#`: the sort-key prefix of a ticket's outbox items.
fn outbox_prefix(queued_at: Timestamp, ticket: &TicketId) -> String {
    format!("{}#{}#", sortable(queued_at), ticket.0)
}

/// The sort key of an outbox item.
fn outbox_sk(o: &Outboxed) -> String {
    format!("{}{}", outbox_prefix(o.queued_at, &o.ticket), o.step.dedup_id)
}

fn outbox_item(o: &Outboxed) -> StoreResult<Item> {
    Ok(HashMap::from([
        (PK.into(), s(OUTBOX_PK)),
        (SK.into(), s(outbox_sk(o))),
        ("ticket_id".into(), s(&o.ticket.0)),
        ("queued_us".into(), AttributeValue::N(o.queued_at.as_microsecond().to_string())),
        ("step".into(), s(&o.step.step)),
        ("dedup_id".into(), s(&o.step.dedup_id)),
        ("body".into(), s(o.step.body.to_string())),
        ("attributes".into(), s(to_json(&o.step.attributes)?)),
    ]))
}

fn read_outboxed(item: &Item) -> StoreResult<Outboxed> {
    let sk = text(item, SK).unwrap_or("?");
    let field =
        |name: &str| text(item, name).ok_or_else(|| StoreError::Corrupt(format!("outbox item {sk}: no {name}")));
    let queued_at = number(item, "queued_us")
        .and_then(|us| Timestamp::from_microsecond(us).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("outbox item {sk}: no time")))?;
    Ok(Outboxed {
        ticket: TicketId(field("ticket_id")?.to_owned()),
        queued_at,
        step: StepMessage {
            step: field("step")?.to_owned(),
            dedup_id: field("dedup_id")?.to_owned(),
            body: serde_json::from_str(field("body")?).map_err(|e| corrupt(&format!("outbox item {sk}"), &e))?,
            attributes: serde_json::from_str(field("attributes")?)
                .map_err(|e| corrupt(&format!("outbox item {sk}"), &e))?,
        },
    })
}

fn put(table: &str, item: Item, condition: Option<&str>) -> StoreResult<TransactWriteItem> {
    let put = build(
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The record of a claim a write of `ticket` takes for its writer: it names the ticket, so the
/// write that completes it can rely on the ticket being there (`complete_claim`). A claim taken
/// again later (`IdempotencyStore::claim`, after its lease) does not name it.
fn held_by(ticket: &TicketId, claim: &Lease) -> Item {
    let mut item = dedup::held(&claim_pk(&claim.key), claim.lease);
    item.insert(CLAIMED_BY.into(), s(&ticket.0));
    item
}

/// The attribute of a claim's record naming the ticket whose write took it.
const CLAIMED_BY: &str = "claimed_by";

/// Which items of a cancelled transaction failed their condition (by position).
fn failed_conditions(
    e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Option<Vec<bool>> {
    match e.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(c) => {
            Some(c.cancellation_reasons().iter().map(|r| r.code() == Some("ConditionalCheckFailed")).collect())
        }
        _ => None,
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        let table = table.into();
        Self { records: Records { client: client.clone(), table: table.clone() }, client, table }
    }

    /// A transaction item that holds only while ticket `id` exists: events never outlive it.
    fn ticket_exists(&self, id: &TicketId) -> StoreResult<TransactWriteItem> {
        let check = build(
            ConditionCheck::builder()
                .table_name(&self.table)
                .key(PK, s(ticket_pk(&id.0)))
                .key(SK, s(TICKET_SK))
                .condition_expression("attribute_exists(pk)")
                .build(),
        )?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// The version-checked write of [`TicketStore::update`], with `extra` items (outbox steps,
    /// claims) in the same transaction. With no `extra`, no transaction: the events' item first
    /// (a plain put, stamped with the write's id), then the ticket's update, which records the
    /// id and is the write's commit point (1 write unit a KB each instead of 2; see
    /// `docs/dynamodb.md`, "Writes").
    async fn update_with(
        &self,
        ticket: &Ticket,
        events: &[Event],
        extra: Vec<TransactWriteItem>,
    ) -> StoreResult<Ticket> {
        validate_update(ticket, events)?;
        let mut next = ticket.clone();
        next.version = ticket.version + 1;
        let item = ticket_item(&next)?;
        let written = if extra.is_empty() {
            self.commit_update(ticket, item, events).await
        } else {
            let mut items =
                vec![TicketWrite::new(item, ticket.version, &ticket.reference.0, None).in_transaction(&self.table)?];
            for e in event_items(events, None)? {
                items.push(put(&self.table, e, None)?);
            }
            items.extend(extra);
            let sent = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
            sent.map(|_| ()).map_err(|e| unavailable("TransactWriteItems", e))
        };
        if let Err(e) = written {
            let Some(current) = self.get_item(ticket_pk(&ticket.id.0), TICKET_SK).await? else {
                return Err(StoreError::NotFound(format!("ticket {}", ticket.id)));
            };
            let found = number(&current, "version").and_then(|v| u64::try_from(v).ok());
            return Err(match found {
                Some(found) if found != ticket.version => {
                    tracing::debug!(ticket_id = %ticket.id, expected = ticket.version, found, "ticket update refused");
                    StoreError::Conflict { expected: ticket.version, found }
                }
                _ if text(&current, "reference") != Some(ticket.reference.as_str()) => {
                    StoreError::Invalid(format!("ticket {}: the reference cannot change", ticket.id))
                }
                None => StoreError::Corrupt(format!("ticket {}: no version", ticket.id)),
                _ => e,
            });
        }
        tracing::info!(
            ticket_id = %next.id, reference = %next.reference, version = next.version,
            state = %next.state, events = events.len(), "ticket updated"
        );
        Ok(next)
    }

    /// The two writes of an update without a transaction: the events' items (plain puts, with
    /// the write's id), then the ticket on condition of its version, adding the id to those it
    /// records. A process that dies between the two leaves event items no ticket records: readers
    /// leave them out ([`written`]). A refused condition removes them at once.
    async fn commit_update(&self, ticket: &Ticket, item: Item, events: &[Event]) -> StoreResult<()> {
        let commit = (!events.is_empty()).then(new_commit);
        let rows = event_items(events, commit.as_deref().map(|c| (c, ticket.version)))?;
        for row in &rows {
            self.put_row(row.clone()).await?;
        }
        let write = TicketWrite::new(item, ticket.version, &ticket.reference.0, commit.as_deref());
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(write.key))
            .update_expression(write.expression)
            .condition_expression(write.condition)
            .set_expression_attribute_names(Some(write.names))
            .set_expression_attribute_values(Some(write.values))
            .send()
            .await;
        let Err(e) = updated else { return Ok(()) };
        if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) {
            // Refused for sure: the events would never count. Any other error may have come
            // after the write was done, so its events stay (counted if it was).
            for row in rows.iter().filter(|r| r.contains_key(COMMIT)) {
                if let Err(e) = self.delete_row(row).await {
                    tracing::warn!(ticket_id = %ticket.id, error = %e, "the events of a refused write are left (not counted)");
                }
            }
        }
        Err(unavailable("UpdateItem", e))
    }

    /// Marks the claim of `done` completed on condition that its record still names `ticket`
    /// (the write of that ticket took it, so the ticket is there); `false` when it does not (its
    /// lease ran out and it was taken again, or its record is gone). No ticket: unconditionally.
    async fn complete_claim(&self, done: &Completion<'_>, ticket: Option<&TicketId>) -> StoreResult<bool> {
        let Some(ticket) = ticket else {
            self.records.finish(&claim_pk(done.key), done.keep_for, None).await?;
            return Ok(true);
        };
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(dedup::completed(&claim_pk(done.key), done.keep_for)))
            .condition_expression("#by = :ticket")
            .expression_attribute_names("#by", CLAIMED_BY)
            .expression_attribute_values(":ticket", s(&ticket.0))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    /// Deletes outbox items a write of their ticket put; `false` when one was gone already (a
    /// sweep published it meanwhile), so that its being there no longer says the ticket is.
    async fn drop_outbox_items(&self, items: &[Outboxed]) -> StoreResult<bool> {
        let mut all_there = true;
        for o in items {
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(PK, s(OUTBOX_PK))
                .key(SK, s(outbox_sk(o)))
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .send()
                .await;
            match deleted {
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                    all_there = false
                }
                Err(e) => return Err(unavailable("DeleteItem", e)),
            }
        }
        Ok(all_there)
    }

    async fn get_item(&self, pk: String, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(out.item)
    }

    async fn delete_item(&self, pk: String, sk: String) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem", e))?;
        Ok(())
    }

    /// Deletes the item `row` was written as, by its keys (every row this store writes has them).
    async fn delete_row(&self, row: &Item) -> StoreResult<()> {
        let (Some(pk), Some(sk)) = (text(row, PK), text(row, SK)) else { return Ok(()) };
        self.delete_item(pk.to_owned(), sk.to_owned()).await
    }

    /// All items of a query, following pages, up to `limit`.
    async fn query(
        &self,
        index: Option<&str>,
        condition: &str,
        values: &[(&str, AttributeValue)],
        names: &[(&str, &str)],
        limit: usize,
        filter: Option<&str>,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(condition)
                .set_filter_expression(filter.map(str::to_owned))
                .scan_index_forward(true)
                .consistent_read(index.is_none())
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(limit.saturating_sub(items.len()).clamp(1, MAX_LIST)).unwrap_or(i32::MAX));
            for (k, v) in values {
                req = req.expression_attribute_values(*k, v.clone());
            }
            for (k, v) in names {
                req = req.expression_attribute_names(*k, *v);
            }
            let out = req.send().await.map_err(|e| unavailable("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if items.len() < limit && !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        items.truncate(limit);
        Ok(items)
    }

    /// The ticket's item and its events that count, in one query (`E#` < `K#` < `TICKET`): the
    /// ticket item says which events written ahead of it count ([`written`]).
    async fn history(&self, ticket: &TicketId) -> StoreResult<(Option<Item>, Vec<Event>)> {
        let rows = self.rows_to_ticket(ticket, EVENT_PREFIX).await?;
        let ticket_item = rows.iter().find(|r| text(r, SK) == Some(TICKET_SK));
        let now = Timestamp::now();
        let mut events = Vec::new();
        for row in rows.iter().filter(|r| text(r, SK).is_some_and(|sk| sk.starts_with(EVENT_PREFIX))) {
            if written(ticket_item, row, None, now) == Written::Counts {
                events.extend(read_events(row, ticket)?);
            }
        }
        Ok((ticket_item.cloned(), events))
    }

    /// A ticket partition's items from sort key `from` to the ticket item, included: events, then
    /// token digests, then the ticket (`E#` < `K#` < `TICKET`).
    async fn rows_to_ticket(&self, ticket: &TicketId, from: &str) -> StoreResult<Vec<Item>> {
        self.query(
            None,
            "#pk = :pk AND #sk BETWEEN :from AND :to",
            &[(":pk", s(ticket_pk(&ticket.0))), (":from", s(from)), (":to", s(TICKET_SK))],
            &[("#pk", PK), ("#sk", SK)],
            usize::MAX,
            None,
        )
        .await
    }

    async fn event_rows(&self, id: &TicketId) -> StoreResult<Vec<Item>> {
        self.query(
            None,
            "#pk = :pk AND begins_with(#sk, :prefix)",
            &[(":pk", s(ticket_pk(&id.0))), (":prefix", s(EVENT_PREFIX))],
            &[("#pk", PK), ("#sk", SK)],
            usize::MAX,
            None,
        )
        .await
    }

    /// The ticket a used key opened, with its fingerprint and what is left in its outbox.
    async fn replay(&self, key: &str) -> StoreResult<Option<Created>> {
        let Some(record) = self.get_item(idem_pk(key), IDEM_SK).await? else {
            return Ok(None);
        };
        let id = text(&record, "ticket_id")
            .ok_or_else(|| StoreError::Corrupt("idempotency record without a ticket".into()))?;
        let ticket = match self.get_item(ticket_pk(id), TICKET_SK).await? {
            Some(item) => read_ticket(&item)?,
            None => return Err(StoreError::Corrupt(format!("idempotency record points at missing ticket {id}"))),
        };
        let outbox = self.outbox_of(&ticket).await?;
        let fingerprint = text(&record, "fingerprint").map(str::to_owned);
        Ok(Some(Created { ticket, replayed: true, fingerprint, outbox }))
    }

    /// The steps of `ticket`'s intake still in the outbox.
    async fn outbox_of(&self, ticket: &Ticket) -> StoreResult<Vec<Outboxed>> {
        let pending = self
            .query(
                None,
                "#pk = :pk AND begins_with(#sk, :prefix)",
                &[(":pk", s(OUTBOX_PK)), (":prefix", s(outbox_prefix(ticket.created_at, &ticket.id)))],
                &[("#pk", PK), ("#sk", SK)],
                usize::MAX,
                None,
            )
            .await?;
        pending.iter().map(read_outboxed).collect()
    }

    /// The steps still in `ticket`'s outbox that carry more than ids: the copies of its data an
    /// erasure must also reach (see [`carries_only_ids`]).
    async fn outbox_copies(&self, ticket: &Ticket) -> StoreResult<Vec<Outboxed>> {
        Ok(self.outbox_of(ticket).await?.into_iter().filter(|o| !carries_only_ids(&o.step.body)).collect())
    }

    /// Erases what the store keeps of `ticket` besides the ticket and its events: outbox steps
    /// that carry more than ids, and the digest of the intake request kept with its idempotency
    /// key (derived from the requester's data). Returns how many outbox steps went.
    async fn erase_copies(&self, ticket: &Ticket) -> StoreResult<usize> {
        let copies = self.outbox_copies(ticket).await?;
        self.outbox_done(&copies).await?;
        if let Some(r) = self.get_item(ref_pk(&ticket.reference.0), REF_SK).await?
            && let Some(key) = text(&r, "idempotency_key")
        {
            let removed = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(idem_pk(key)))
                .key(SK, s(IDEM_SK))
                .update_expression("REMOVE fingerprint")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .send()
                .await;
            match removed {
                // No record under the key (purged meanwhile): nothing to remove.
                Err(e) if !e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                    return Err(unavailable("UpdateItem", e));
                }
                _ => {}
            }
        }
        Ok(copies.len())
    }

    async fn requester_query(&self, key: &RequesterKey) -> StoreResult<Vec<Ticket>> {
        let (index, attr) = match key {
            RequesterKey::Email(_) => (BY_EMAIL, RQ_EMAIL),
            RequesterKey::Phone(_) => (BY_PHONE, RQ_PHONE),
            RequesterKey::FiscalCode(_) => (BY_FISCAL_CODE, RQ_FISCAL_CODE),
        };
        let found = self
            .query(Some(index), "#k = :v", &[(":v", s(key.normalized()?))], &[("#k", attr)], usize::MAX, None)
            .await?;
        // The index holds keys only: the tickets themselves are read by key, in the index's order.
        let ids: Vec<&str> = found.iter().filter_map(|item| text(item, PK)?.strip_prefix("T#")).collect();
        self.tickets_by_id(&ids).await
    }

    /// The tickets of `ids` that exist, in that order ([`super::batch_get`]).
    async fn tickets_by_id(&self, ids: &[&str]) -> StoreResult<Vec<Ticket>> {
        let keys: Vec<Item> = ids
            .iter()
            .map(|id| HashMap::from([(PK.to_string(), s(ticket_pk(id))), (SK.to_string(), s(TICKET_SK))]))
            .collect();
        let items: HashMap<String, Item> = super::batch_get(&self.client, &self.table, keys)
            .await?
            .into_iter()
            .filter_map(|item| Some((text(&item, PK)?.to_owned(), item)))
            .collect();
        ids.iter().filter_map(|id| items.get(&ticket_pk(id))).map(read_ticket).collect()
    }

    async fn scrub_events(&self, id: &TicketId) -> StoreResult<()> {
        for mut row in self.event_rows(id).await? {
            let many = text(&row, "doc").is_none() && text(&row, "docs").is_some();
            let scrubbed = match item_events(&row) {
                Ok(mut events) => {
                    let mut changed = false;
                    for event in &mut events {
                        changed |= scrub_event(event);
                    }
                    if !changed {
                        continue;
                    }
                    let stored = events.iter().map(stored_event).collect::<StoreResult<Vec<String>>>()?;
                    if many { format!("[{}]", stored.join(",")) } else { stored.concat() }
                }
                // Unreadable, so possibly holding anything: keep only that it existed.
                Err(_) => {
                    row.remove("docs");
                    row.insert("doc".into(), s(r#"{"erased":true}"#));
                    self.put_row(row).await?;
                    continue;
                }
            };
            row.insert((if many { "docs" } else { "doc" }).into(), s(scrubbed));
            self.put_row(row).await?;
        }
        Ok(())
    }

    async fn put_row(&self, row: Item) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(row))
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        Ok(())
    }

    /// Removes the token digests of a ticket's events (the events' own copies go with their
    /// scrubbing or their deletion).
    async fn delete_digests(&self, id: &TicketId) -> StoreResult<()> {
        let digests = self
            .query(
                None,
                "#pk = :pk AND begins_with(#sk, :prefix)",
                &[(":pk", s(ticket_pk(&id.0))), (":prefix", s(DIGEST_PREFIX))],
                &[("#pk", PK), ("#sk", SK)],
                usize::MAX,
                None,
            )
            .await?;
        for row in digests {
            if let Some(sk) = text(&row, SK) {
                self.delete_item(ticket_pk(&id.0), sk.to_owned()).await?;
            }
        }
        Ok(())
    }

    /// Removes the look-up items of `fields` of `ticket`.
    async fn delete_field_items(
        &self,
        ticket: &Ticket,
        fields: &std::collections::BTreeMap<String, String>,
    ) -> StoreResult<()> {
        for (name, value) in fields.iter().filter(|(_, v)| v.len() <= MAX_FIELD_KEY_BYTES && !v.is_empty()) {
            self.delete_item(field_pk(name, value), format!("{}#{}", sortable(ticket.created_at), ticket.id)).await?;
        }
        Ok(())
    }

    /// One team's part of a queue page: matching open tickets from the start key on, in queue
    /// order (reversed for a `Before` page), at most `want`.
    async fn open_tickets(&self, team: &str, q: &QueueQuery, want: usize) -> StoreResult<Vec<Ticket>> {
        let mut condition = "#open_pk = :open_pk".to_string();
        let mut values: Vec<(String, AttributeValue)> = vec![(":open_pk".into(), s(format!("O#{team}")))];
        let mut names: Vec<(&str, &str)> = vec![("#open_pk", OPEN_PK)];
        let forward = !matches!(q.start, PageStart::Before(_));
        match &q.start {
            PageStart::First => {}
            PageStart::After(k) => {
                condition.push_str(" AND #open_sk > :start");
                values.push((":start".into(), s(k.sortable())));
                names.push(("#open_sk", OPEN_SK));
            }
            PageStart::Before(k) => {
                condition.push_str(" AND #open_sk < :start");
                values.push((":start".into(), s(k.sortable())));
                names.push(("#open_sk", OPEN_SK));
            }
        }
        let mut filters: Vec<String> = Vec::new();
        let mut equals = |attr: &'static str, value: String, filters: &mut Vec<String>| {
            filters.push(format!("#{attr} = :{attr}"));
            values.push((format!(":{attr}"), s(value)));
        };
        if let Some(c) = &q.channel {
            equals("channel", c.clone(), &mut filters);
            names.push(("#channel", "channel"));
        }
        if let Some(ty) = q.ticket_type {
            equals("ticket_type", ty.code().to_string(), &mut filters);
            names.push(("#ticket_type", "ticket_type"));
        }
        if let Some(st) = q.state {
            equals("state", st.as_str().to_string(), &mut filters);
            names.push(("#state", "state"));
        }
        match &q.assignee {
            Some(AssigneeFilter::Operator(id)) => {
                equals("assignee", id.clone(), &mut filters);
                names.push(("#assignee", "assignee"));
            }
            Some(AssigneeFilter::Unassigned) => {
                filters.push("attribute_not_exists(#assignee)".into());
                names.push(("#assignee", "assignee"));
            }
            None => {}
        }
        for (attr, hidden) in [
            ("category", q.hidden.categories.clone()),
            ("ticket_type", q.hidden.types.iter().map(|t| t.code().to_string()).collect()),
        ] {
            if hidden.is_empty() {
                continue;
            }
            let marks: Vec<String> = (0..hidden.len()).map(|i| format!(":hide_{attr}_{i}")).collect();
            for (m, v) in marks.iter().zip(hidden) {
                values.push((m.clone(), s(v)));
            }
            filters.push(format!("(attribute_not_exists(#{attr}) OR NOT (#{attr} IN ({})))", marks.join(", ")));
            if !names.iter().any(|(n, _)| n.strip_prefix('#') == Some(attr)) {
                names.push((if attr == "category" { "#category" } else { "#ticket_type" }, attr));
            }
        }
        let filter = (!filters.is_empty()).then(|| filters.join(" AND "));
        let mut found = Vec::new();
        let mut start_key: Option<Item> = None;
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_OPEN)
                .key_condition_expression(&condition)
                .set_filter_expression(filter.clone())
                .scan_index_forward(forward)
                .set_exclusive_start_key(start_key.take())
                .limit(i32::try_from((want * 2).clamp(50, MAX_LIST)).unwrap_or(i32::MAX));
            for (k, v) in &values {
                req = req.expression_attribute_values(k, v.clone());
            }
            for (k, v) in &names {
                req = req.expression_attribute_names(*k, *v);
            }
            let out = req.send().await.map_err(|e| unavailable("Query", e))?;
            for item in out.items.unwrap_or_default() {
                let t = read_ticket(&item)?;
                // The index is eventually consistent with itself only: check the copy it holds.
                if q.matches(&t) {
                    found.push(t);
                }
            }
            match out.last_evaluated_key {
                Some(key) if found.len() < want && !key.is_empty() => start_key = Some(key),
                _ => break,
            }
        }
        found.truncate(want);
        Ok(found)
    }

    /// A team's open tickets in `states` (one query of its `by_open` partition, filtered on the
    /// state), by state, each in creation order.
    async fn team_open(&self, team: &str, states: &[TicketState]) -> StoreResult<HashMap<TicketState, Vec<Ticket>>> {
        let marks: Vec<String> = (0..states.len()).map(|i| format!(":state_{i}")).collect();
        let mut values = vec![(":open_pk", s(format!("O#{team}")))];
        values.extend(marks.iter().zip(states).map(|(m, st)| (m.as_str(), s(st.as_str()))));
        let filter = format!("#state IN ({})", marks.join(", "));
        let items = self
            .query(
                Some(BY_OPEN),
                "#open_pk = :open_pk",
                &values,
                &[("#open_pk", OPEN_PK), ("#state", "state")],
                usize::MAX,
                Some(&filter),
            )
            .await?;
        let mut by_state: HashMap<TicketState, Vec<Ticket>> = HashMap::new();
        for item in &items {
            let t = read_ticket(item)?;
            // The index is eventually consistent with itself only: check the copy it holds.
            if t.team == team && states.contains(&t.state) {
                by_state.entry(t.state).or_default().push(t);
            }
        }
        for tickets in by_state.values_mut() {
            tickets.sort_by(|a, b| (a.created_at, &a.id.0).cmp(&(b.created_at, &b.id.0)));
        }
        Ok(by_state)
    }

    async fn purge_one(&self, id: &str) -> StoreResult<()> {
        // The ticket item goes last, so an interrupted purge finds it again next time.
        let Some(item) = self.get_item(ticket_pk(id), TICKET_SK).await? else {
            return Ok(());
        };
        if let Some(reference) = text(&item, "reference")
            && let Some(r) = self.get_item(ref_pk(reference), REF_SK).await?
        {
            if let Some(key) = text(&r, "idempotency_key") {
                self.delete_item(idem_pk(key), IDEM_SK.into()).await?;
            }
            self.delete_item(ref_pk(reference), REF_SK.into()).await?;
        }
        for row in self.event_rows(&TicketId(id.to_owned())).await? {
            if let Some(sk) = text(&row, SK) {
                self.delete_item(ticket_pk(id), sk.to_owned()).await?;
            }
        }
        self.delete_digests(&TicketId(id.to_owned())).await?;
        if let Ok(ticket) = read_ticket(&item) {
            self.delete_field_items(&ticket, &ticket.fields).await?;
        }
        self.delete_item(ticket_pk(id), TICKET_SK.into()).await
    }
}

#[async_trait]
impl TicketStore for DynamoStore {
    async fn open(&self, new: &NewTicket) -> StoreResult<Created> {
        validate_new(new)?;
        let (idempotency_key, ticket) = (new.idempotency_key.as_str(), &new.ticket);
        // No read before the write: the idempotency item's condition refuses a repeated key,
        // and only then is the earlier ticket read. A first intake (nearly all of them) costs
        // one request instead of two.
        let not_there = Some("attribute_not_exists(pk)");
        let reference_item = HashMap::from([
            (PK.into(), s(ref_pk(&ticket.reference.0))),
            (SK.into(), s(REF_SK)),
            ("ticket_id".into(), s(&ticket.id.0)),
            ("idempotency_key".into(), s(idempotency_key)),
        ]);
        let mut idem_item = HashMap::from([
            (PK.into(), s(idem_pk(idempotency_key))),
            (SK.into(), s(IDEM_SK)),
            ("ticket_id".into(), s(&ticket.id.0)),
        ]);
        if let Some(fingerprint) = &new.fingerprint {
            idem_item.insert("fingerprint".into(), s(fingerprint));
        }
        let outbox: Vec<Outboxed> = new
            .steps
            .iter()
            .map(|step| Outboxed { ticket: ticket.id.clone(), queued_at: ticket.created_at, step: step.clone() })
            .collect();
        let events: Vec<Event> =
            std::iter::once(created_event(ticket, &new.actor)).chain(new.events.iter().cloned()).collect();
        let mut items = vec![
            put(&self.table, ticket_item(ticket)?, not_there)?,
            put(&self.table, reference_item, not_there)?,
            put(&self.table, idem_item, not_there)?,
        ];
        for e in event_items(&events, None)? {
            items.push(put(&self.table, e, None)?);
        }
        for o in &outbox {
            items.push(put(&self.table, outbox_item(o)?, None)?);
        }
        // Custom fields are set at intake only, so their look-up items are written here (and
        // removed by erasure and purge).
        for item in field_items(ticket) {
            items.push(put(&self.table, item, None)?);
        }
        for claim in &new.claims {
            items.push(put(&self.table, held_by(&ticket.id, claim), None)?);
        }
        let written = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        if let Err(e) = written {
            // A concurrent intake with the same key may have won: that is a replay, not an error.
            if let Some(earlier) = self.replay(idempotency_key).await? {
                tracing::info!(ticket_id = %earlier.ticket.id, reference = %earlier.ticket.reference, replayed = true, "ticket created");
                return Ok(earlier);
            }
            return Err(match failed_conditions(&e).as_deref() {
                Some([true, ..]) => StoreError::Duplicate(format!("ticket id {} is taken", ticket.id)),
                Some([_, true, ..]) => StoreError::Duplicate(format!("reference {} is taken", ticket.reference)),
                _ => unavailable("TransactWriteItems", e),
            });
        }
        tracing::info!(ticket_id = %ticket.id, reference = %ticket.reference, replayed = false, "ticket created");
        Ok(Created { ticket: ticket.clone(), replayed: false, fingerprint: None, outbox })
    }

    async fn outbox_done(&self, items: &[Outboxed]) -> StoreResult<()> {
        // Gone already or not, it is gone now.
        self.drop_outbox_items(items).await.map(drop)
    }

    async fn outbox_pending(&self, before: Timestamp, limit: usize) -> StoreResult<Vec<Outboxed>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let items = self
            .query(
                None,
                "#pk = :pk AND #sk < :before",
                &[(":pk", s(OUTBOX_PK)), (":before", s(sortable(before)))],
                &[("#pk", PK), ("#sk", SK)],
                limit.min(MAX_LIST),
                None,
            )
            .await?;
        items.iter().map(read_outboxed).collect()
    }

    async fn get(&self, id: &TicketId) -> StoreResult<Ticket> {
        match self.get_item(ticket_pk(&id.0), TICKET_SK).await? {
            Some(item) => read_ticket(&item),
            None => Err(StoreError::NotFound(format!("ticket {id}"))),
        }
    }

    async fn get_by_reference(&self, reference: &TicketReference) -> StoreResult<Ticket> {
        // The uniqueness item doubles as a strongly consistent index.
        let Some(r) = self.get_item(ref_pk(&reference.0), REF_SK).await? else {
            return Err(StoreError::NotFound(format!("ticket {reference}")));
        };
        let id =
            text(&r, "ticket_id").ok_or_else(|| StoreError::Corrupt(format!("reference {reference}: no ticket id")))?;
        match self.get(&TicketId(id.to_owned())).await {
            Err(StoreError::NotFound(_)) => Err(StoreError::NotFound(format!("ticket {reference}"))),
            other => other,
        }
    }

    async fn update(&self, ticket: &Ticket, events: &[Event]) -> StoreResult<Ticket> {
        self.update_with(ticket, events, Vec::new()).await
    }

    async fn update_queueing(
        &self,
        ticket: &Ticket,
        events: &[Event],
        follow: &FollowUps,
    ) -> StoreResult<(Ticket, Vec<Outboxed>)> {
        let FollowUps { steps, claims } = follow;
        validate_follow_ups(steps, claims)?;
        let outbox: Vec<Outboxed> = steps
            .iter()
            .map(|step| Outboxed { ticket: ticket.id.clone(), queued_at: ticket.updated_at, step: step.clone() })
            .collect();
        let mut extra = Vec::new();
        for o in &outbox {
            extra.push(put(&self.table, outbox_item(o)?, None)?);
        }
        // The claims guard what the steps would do, and the outbox holds the steps out of every
        // worker's reach until this writer drops or publishes them (or the sweep does, after a
        // grace longer than any request lives): the outbox items are the claims, and the claims'
        // own records (2 write units each in the transaction) would say nothing more.
        if outbox.is_empty() {
            for claim in claims {
                extra.push(put(&self.table, held_by(&ticket.id, claim), None)?);
            }
        }
        Ok((self.update_with(ticket, events, extra).await?, outbox))
    }

    async fn work_queue_after(
        &self,
        team: &str,
        state: TicketState,
        after: Option<&QueuePosition>,
        limit: usize,
    ) -> StoreResult<Vec<Ticket>> {
        if limit == 0 || !state.is_open() {
            // Only open tickets are in a queue (`by_open` is sparse).
            return Ok(Vec::new());
        }
        // The team's open tickets, in one state: `by_open` holds them in deadline order, so the
        // state's are read whole and put in creation order here. What reads this (the sweep's
        // waiting tickets, an operator's list) reads queues that are short when things work.
        let mut tickets = self.team_open(team, &[state]).await?.remove(&state).unwrap_or_default();
        if let Some(p) = after {
            tickets.retain(|t| (t.created_at, &t.id.0) > (p.created_at, &p.id.0));
        }
        tickets.truncate(limit.min(MAX_LIST));
        Ok(tickets)
    }

    async fn work_queues(&self, team: &str, states: &[TicketState], limit: usize) -> StoreResult<Vec<Ticket>> {
        let open: Vec<TicketState> = states.iter().copied().filter(|st| st.is_open()).collect();
        if limit == 0 || open.is_empty() {
            return Ok(Vec::new());
        }
        // One read of the team's `by_open` partition, split by state here.
        let mut by_state = self.team_open(team, &open).await?;
        let mut all = Vec::new();
        for state in open {
            let mut tickets = by_state.remove(&state).unwrap_or_default();
            tickets.truncate(limit.min(MAX_LIST));
            all.extend(tickets);
        }
        Ok(all)
    }

    async fn find_by_requester(&self, key: &RequesterKey) -> StoreResult<Vec<Ticket>> {
        self.requester_query(key).await
    }

    async fn queue_page(&self, query: &QueueQuery) -> StoreResult<QueuePage> {
        let limit = query.limit.clamp(1, MAX_QUEUE_PAGE);
        let mut tickets = Vec::new();
        // Each team is its own partition of the index; a page over several merges them.
        for team in &query.teams {
            tickets.extend(self.open_tickets(team, query, limit + 1).await?);
        }
        let backward = matches!(query.start, PageStart::Before(_));
        tickets.sort_by_key(QueueKey::of);
        if backward {
            tickets.reverse();
        }
        let more = tickets.len() > limit;
        tickets.truncate(limit);
        if backward {
            tickets.reverse();
        }
        let (more_after, more_before) = match query.start {
            PageStart::First => (more, false),
            PageStart::After(_) => (more, true),
            PageStart::Before(_) => (true, more),
        };
        Ok(QueuePage { tickets, more_after, more_before, total: None })
    }

    async fn find_by_field(&self, name: &str, value: &str, limit: usize) -> StoreResult<Vec<Ticket>> {
        if value.is_empty() || value.len() > MAX_FIELD_KEY_BYTES || limit == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(field_pk(name, value)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.min(MAX_LIST)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| unavailable("Query", e))?;
        let mut found = Vec::new();
        for item in out.items.unwrap_or_default() {
            let Some(id) = text(&item, "ticket_id") else { continue };
            match self.get(&TicketId(id.to_owned())).await {
                // A look-up item outlived its value (erased meanwhile): not a match.
                Ok(t) if t.fields.get(name).map(String::as_str) == Some(value) => found.push(t),
                Ok(_) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    async fn erase_requester(&self, key: &RequesterKey, actor: &Actor, now: Timestamp) -> StoreResult<Erasure> {
        let mut erased = Erasure { copies: BTreeMap::from([(QUEUED_COPIES.into(), 0)]), ..Erasure::default() };
        for found in self.requester_query(key).await? {
            for attempt in 1..=ERASE_TRIES {
                let current = match self.get(&found.id).await {
                    Ok(t) => t,
                    Err(StoreError::NotFound(_)) => break,
                    Err(e) => return Err(e),
                };
                if !RequesterKey::of(&current.requester).matches(key) {
                    break; // erased meanwhile (the index lags)
                }
                // Events first: if we stop half-way, the ticket still matches and a retry
                // finishes the job.
                self.scrub_events(&current.id).await?;
                self.delete_digests(&current.id).await?;
                let copies = self.erase_copies(&current).await?;
                *erased.copies.entry(QUEUED_COPIES.into()).or_default() += copies;
                let mut next = current.clone();
                let audit = erase_ticket(&mut next, key, actor, now);
                match self.update(&next, &[audit]).await {
                    Ok(_) => {
                        let gone: std::collections::BTreeMap<String, String> = current
                            .fields
                            .iter()
                            .filter(|(name, _)| !next.fields.contains_key(*name))
                            .map(|(n, v)| (n.clone(), v.clone()))
                            .collect();
                        self.delete_field_items(&current, &gone).await?;
                        tracing::info!(ticket_id = %next.id, matched_on = key.kind(), "requester data erased");
                        erased.tickets.push(next.id);
                        break;
                    }
                    Err(StoreError::Conflict { .. }) if attempt < ERASE_TRIES => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(erased)
    }

    async fn copies_of(&self, tickets: &[Ticket]) -> StoreResult<BTreeMap<String, usize>> {
        let mut queued = 0;
        for t in tickets {
            queued += self.outbox_copies(t).await?.len();
        }
        Ok(BTreeMap::from([(QUEUED_COPIES.to_string(), queued)]))
    }

    async fn clock_positions(&self) -> StoreResult<ClockPositions> {
        let items = self.query(None, "#pk = :pk", &[(":pk", s(CLOCK_PK))], &[("#pk", PK)], MAX_LIST, None).await?;
        let mut positions = ClockPositions::new();
        for item in items {
            // A position by team and state (`P#<team>#<state>`, written before the clock read a
            // team's open tickets as one queue) has no `due_us`: it is left alone, as if absent.
            let (Some(team), Some(due), Some(id), Some(created)) =
                (text(&item, "team"), number(&item, "due_us"), text(&item, "ticket_id"), number(&item, "created_us"))
            else {
                continue; // damaged or of the earlier layout: that queue starts from its first ticket
            };
            positions.extend(clock_position(team, due, created, id));
        }
        Ok(positions)
    }

    async fn set_clock_position(&self, team: &str, position: Option<&QueueKey>) -> StoreResult<()> {
        let sk = format!("P#{team}");
        let Some(k) = position else {
            return self.delete_item(CLOCK_PK.into(), sk).await;
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(CLOCK_PK))
            .item(SK, s(sk))
            .item("team", s(team))
            .item("ticket_id", s(&k.id))
            .item("due_us", AttributeValue::N(k.due_us.to_string()))
            .item("created_us", AttributeValue::N(k.created_us.to_string()))
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        Ok(())
    }

    async fn purge_closed(&self, retention_days: u32, now: Timestamp, limit: usize) -> StoreResult<Vec<TicketId>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let cutoff = sortable(retention_cutoff(retention_days, now)?);
        let candidates = self
            .query(
                Some(BY_CLOSED),
                "#c = :c AND #at < :cutoff",
                &[(":c", s(CLOSED)), (":cutoff", s(cutoff.clone()))],
                &[("#c", CLOSED_PK), ("#at", CLOSED_SK)],
                limit.min(MAX_LIST),
                None,
            )
            .await?;
        let mut purged = Vec::new();
        for item in candidates {
            let Some(id) = text(&item, PK).and_then(|pk| pk.strip_prefix("T#")) else {
                continue;
            };
            // Decided on the indexed attributes of the current item, not the (lagging) index
            // nor the document, which a damaged record could not give.
            let Some(current) = self.get_item(ticket_pk(id), TICKET_SK).await? else {
                continue;
            };
            let is_final = text(&current, "state")
                .is_some_and(|st| TicketState::ALL.iter().any(|x| x.as_str() == st && x.is_final()));
            let closed_before = text(&current, CLOSED_SK).is_some_and(|at| at < cutoff.as_str());
            if is_final && closed_before {
                self.purge_one(id).await?;
                purged.push(TicketId(id.to_owned()));
            }
        }
        tracing::info!(purged = purged.len(), retention_days, "closed tickets purged");
        Ok(purged)
    }
}

#[async_trait]
impl EventLog for DynamoStore {
    async fn append(&self, events: &[Event]) -> StoreResult<()> {
        let Some(ticket_id) = single_ticket(events)? else {
            return Ok(());
        };
        if events.len() > MAX_EVENTS_PER_WRITE {
            return Err(StoreError::Invalid("too many events in one append".into()));
        }
        let mut items = vec![self.ticket_exists(ticket_id)?];
        for e in event_items(events, None)? {
            items.push(put(&self.table, e, None)?);
        }
        let written = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        match written {
            Ok(_) => Ok(()),
            Err(e) if matches!(failed_conditions(&e).as_deref(), Some([true, ..])) => {
                Err(StoreError::NotFound(format!("ticket {ticket_id}")))
            }
            Err(e) => Err(unavailable("TransactWriteItems", e)),
        }
    }

    async fn append_completing(&self, events: &[Event], done: &Completion<'_>) -> StoreResult<()> {
        let ticket_id = single_ticket(events)?;
        if events.len() > MAX_EVENTS_PER_WRITE || done.outbox_done.len() > MAX_EVENTS_PER_WRITE {
            return Err(StoreError::Invalid("too many events or outbox items in one write".into()));
        }
        validate_key(done.key)?;
        // No transaction, which bills 2 write units an item: the record first, in plain puts,
        // then what says the effect is done. A crash between the two leaves the record with the
        // claim held until its lease runs out, or the step in the outbox for the sweep: whoever
        // takes the effect over then finds it in the history (the engine looks before acting).
        let rows = event_items(events, None)?;
        for row in &rows {
            self.put_row(row.clone()).await?;
        }
        // A write that kept its steps in the outbox took no claim: its outbox items were the claim
        // (`TicketStore::update_queueing`), and dropping them is the completion.
        let guarded = if done.outbox_done.is_empty() {
            self.complete_claim(done, ticket_id).await?
        } else {
            self.drop_outbox_items(done.outbox_done).await?
        };
        if guarded {
            return Ok(());
        }
        // What the write of the ticket left (its claim, its outbox items) no longer says it is
        // there: events never outlive their ticket, so look, and take them back if it is gone.
        if let Some(id) = ticket_id
            && self.get_item(ticket_pk(&id.0), TICKET_SK).await?.is_none()
        {
            for row in &rows {
                self.delete_row(row).await?;
            }
            return Err(StoreError::NotFound(format!("ticket {id}")));
        }
        if done.outbox_done.is_empty() {
            self.records.finish(&claim_pk(done.key), done.keep_for, None).await?;
        }
        Ok(())
    }

    /// One query from the position on: the newer events, then the token digests (`K#`), which
    /// sort after every event, then the ticket item, which says which events count. An idle poll
    /// reads the digests and the ticket: a read unit.
    async fn tail(&self, ticket: &TicketId, after: Option<&str>) -> StoreResult<EventTail> {
        let from = after.and_then(tail_sort_key);
        let rows = self.rows_to_ticket(ticket, from.as_deref().unwrap_or(EVENT_PREFIX)).await?;
        let ticket_item = rows.iter().find(|r| text(r, SK) == Some(TICKET_SK));
        let now = Timestamp::now();
        // Not past an event whose ticket write may still come: the next poll reads from it.
        let mut held = false;
        let mut tail = EventTail {
            next: after.filter(|_| from.is_some()).unwrap_or_default().to_string(),
            ..EventTail::default()
        };
        for row in &rows {
            let sk = text(row, SK).unwrap_or("?");
            if let Some(digest) = sk.strip_prefix(DIGEST_PREFIX) {
                tail.digests.push(digest.to_string());
            } else if sk.starts_with(EVENT_PREFIX) && Some(sk) != from.as_deref() && !held {
                match written(ticket_item, row, None, now) {
                    Written::Counts => {
                        tail.events.extend(read_events(row, ticket)?);
                        tail.next = tail_position(sk);
                    }
                    Written::Never => {}
                    Written::Pending => held = true,
                }
            }
        }
        Ok(tail)
    }

    async fn list(&self, ticket: &TicketId) -> StoreResult<Vec<Event>> {
        Ok(self.history(ticket).await?.1)
    }

    async fn list_with_ticket(&self, ticket: &TicketId) -> StoreResult<Option<(Ticket, Vec<Event>)>> {
        match self.history(ticket).await? {
            (Some(item), events) => Ok(Some((read_ticket(&item)?, events))),
            (None, _) => Err(StoreError::NotFound(format!("ticket {ticket}"))),
        }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn claim(&self, key: &str, lease: Duration) -> StoreResult<Claim> {
        validate_key(key)?;
        Ok(match self.records.begin(&claim_pk(key), lease).await? {
            Begin::Go => Claim::Acquired,
            Begin::Done(_) => Claim::Completed,
            Begin::Busy => Claim::InProgress,
        })
    }

    async fn complete(&self, key: &str, keep_for: Duration) -> StoreResult<()> {
        validate_key(key)?;
        self.records.finish(&claim_pk(key), keep_for, None).await
    }

    async fn release(&self, key: &str) -> StoreResult<()> {
        validate_key(key)?;
        self.records.abandon(&claim_pk(key)).await
    }
}
