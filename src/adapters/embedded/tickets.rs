//! Tickets, their events and idempotency records in SQLite.

use super::db::Db;
use super::sql::{Cached, corrupt, is_unique_violation, micros, unavailable};
use super::ticket_rows::{insert_fields, list, queue_columns, read_ticket, replace_fields};
use crate::domain::{Actor, Event, Ticket, TicketId, TicketReference, TicketState};
use crate::ports::event_log::single_ticket;
use crate::ports::idempotency::{ms_after, now_ms, validate_key};
use crate::ports::queue_page::MAX_QUEUE_PAGE;
use crate::ports::ticket_store::{
    self, created_event, erase_ticket, retention_cutoff, scrub_event, validate_follow_ups, validate_new,
    validate_update,
};
use crate::ports::{
    AssigneeFilter, Claim, ClockPositions, Completion, Created, Erasure, EventLog, EventTail, FollowUps,
    IdempotencyStore, Lease, NewTicket, Outboxed, PageStart, QueueKey, QueuePage, QueuePosition, QueueQuery,
    RequesterKey, StepMessage, StoreError, StoreResult, TicketStore,
};
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Savepoint, params};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Tickets, events and idempotency records (implements [`TicketStore`], [`EventLog`] and
/// [`IdempotencyStore`]).
///
/// An intake's steps go straight onto the step queue (a table of the same file) in the
/// transaction that stores the ticket, so this store's outbox is always empty.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    /// The step queue intake steps are queued on, and its deduplication window.
    steps: String,
    dedup_window: Duration,
}

impl SqliteStore {
    /// Queues intake steps on the local step queue ([`super::STEP_QUEUE`]).
    pub fn new(db: Db) -> Self {
        Self { db, steps: super::STEP_QUEUE.into(), dedup_window: super::STEP_DEDUP_WINDOW }
    }

    /// Releases every claim still `INPROGRESS`; returns how many. Only for a server starting on
    /// its database: the local server is the one process on it, so such claims were held by a run
    /// that stopped (or was killed) half-way through their effect, and nobody will complete them.
    /// Released, the effect runs again at the next retry instead of being refused as "being
    /// handled by another worker" until the lease runs out.
    pub async fn release_claims_of_a_stopped_run(&self) -> StoreResult<usize> {
        let released = self
            .db
            .call(|c| c.run("DELETE FROM step_claims WHERE status = 'INPROGRESS'", []).map_err(unavailable))
            .await?;
        if released > 0 {
            tracing::info!(released, "claims of the previous run released");
        }
        Ok(released)
    }

    /// Stores many intakes, each exactly as [`TicketStore::open`] stores it (a replayed key is
    /// skipped); answers how many tickets were new. For filling a store with history quickly (the
    /// load benchmark's million tickets). The batch goes to the writer as calls of
    /// [`OPEN_MANY_PER_CALL`] intakes, all queued at once, so the writer commits up to its own
    /// batch of them together (one fsync for thousands of tickets). Not one call for the whole
    /// batch: a call runs inside a savepoint, and SQLite keeps the pages a savepoint touched in an
    /// in-memory sub-journal that every nested savepoint's release walks from its start, so one
    /// long call costs time in proportion to the store (random index pages) times the batch.
    /// A call that fails stores none of its intakes while the others' stand; running the same
    /// batch again stores only what is missing (keys replay). Queued steps wake the workers once,
    /// after the last commit.
    pub async fn open_many(&self, batch: Vec<NewTicket>) -> StoreResult<usize> {
        for new in &batch {
            validate_new(new)?;
        }
        let mut calls = tokio::task::JoinSet::new();
        let mut rest = batch.into_iter().peekable();
        while rest.peek().is_some() {
            let part: Vec<NewTicket> = rest.by_ref().take(OPEN_MANY_PER_CALL).collect();
            let encoded = part.iter().map(EncodedIntake::of).collect::<StoreResult<Vec<_>>>()?;
            let (db, queue, window) = (self.db.clone(), self.steps.clone(), self.dedup_window);
            calls.spawn(async move {
                db.call(move |c| {
                    let (mut opened, mut queued) = (0, false);
                    for (new, encoded) in part.iter().zip(&encoded) {
                        let (created, q) = open_tx(c, new, encoded, &queue, window)?;
                        opened += usize::from(!created.replayed);
                        queued |= q;
                    }
                    Ok((opened, queued))
                })
                .await
            });
        }
        let (mut opened, mut queued) = (0, false);
        while let Some(done) = calls.join_next().await {
            let (n, q) = done.map_err(|e| StoreError::Unavailable(format!("a batch of intakes failed: {e}")))??;
            opened += n;
            queued |= q;
        }
        if queued {
            self.db.published().notify_one();
        }
        Ok(opened)
    }
}

/// Intakes per writer call in [`SqliteStore::open_many`]: small enough that a call's savepoint
/// journal stays short whatever the store's size.
const OPEN_MANY_PER_CALL: usize = 64;

const MAX_LIST: usize = 1000;

fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))
}

fn immediate(conn: &mut Connection) -> StoreResult<Savepoint<'_>> {
    // A savepoint inside the writer's batch transaction, which began IMMEDIATE (the write lock is
    // held up front, so a read-then-write cannot be overtaken by another process on the file).
    conn.savepoint().map_err(unavailable)
}

fn load(conn: &Connection, id: &str) -> StoreResult<Option<Ticket>> {
    conn.one("SELECT doc, version FROM tickets WHERE id = ?1", [id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })
    .optional()
    .map_err(unavailable)?
    .map(|(doc, version)| read_ticket(id, &doc, version))
    .transpose()
}

fn insert_events(tx: &Connection, events: &[Event]) -> StoreResult<()> {
    let mut stmt =
        tx.prepare_cached("INSERT INTO events (ticket_id, at, doc) VALUES (?1, ?2, ?3)").map_err(unavailable)?;
    for e in events {
        stmt.execute(params![e.ticket_id.0, micros(e.at), to_json(e)?]).map_err(unavailable)?;
    }
    Ok(())
}

/// An intake with its JSON already written: the ticket's document and its events' (the `Created`
/// event first). Encoded on the caller's task, so the writer thread, which every intake waits
/// for, only runs the statements.
struct EncodedIntake {
    ticket_doc: String,
    /// `(at, doc)` of each event, in order.
    events: Vec<(i64, String)>,
}

impl EncodedIntake {
    fn of(new: &NewTicket) -> StoreResult<Self> {
        let created = created_event(&new.ticket, &new.actor);
        let events = std::iter::once(&created)
            .chain(&new.events)
            .map(|e| Ok((micros(e.at), to_json(e)?)))
            .collect::<StoreResult<_>>()?;
        Ok(Self { ticket_doc: to_json(&new.ticket)?, events })
    }
}

/// Writes the ticket's row (doc and indexed columns) for a ticket that exists.
fn write_row(tx: &Connection, t: &Ticket) -> StoreResult<()> {
    let keys = RequesterKey::of(&t.requester);
    let (due, channel, ticket_type, assignee, category) = queue_columns(t);
    tx.run(
        "UPDATE tickets SET team = ?2, state = ?3, closed_at = ?4, version = ?5, rq_email = ?6,
            rq_phone = ?7, rq_fiscal_code = ?8, doc = ?9, queue_due = ?10, channel = ?11,
            ticket_type = ?12, assignee = ?13, category = ?14 WHERE id = ?1",
        params![
            t.id.0,
            t.team,
            t.state.as_str(),
            t.closed_at.map(micros),
            t.version as i64,
            keys.email,
            keys.phone,
            keys.fiscal_code,
            to_json(t)?,
            due,
            channel,
            ticket_type,
            assignee,
            category
        ],
    )
    .map_err(unavailable)?;
    replace_fields(tx, t)
}

const OPEN_STATES: &str = "('new', 'taken_in_charge', 'in_progress', 'awaiting_resolution_notice')";

/// The WHERE clause of a queue query (without the page's start) and its parameters.
fn queue_filter(q: &QueueQuery) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut sql = format!("state IN {OPEN_STATES}");
    let mut args: Vec<Value> = Vec::new();
    let mut list = |sql: &mut String, column: &str, negate: bool, values: Vec<String>| {
        let marks = vec!["?"; values.len()].join(", ");
        let not = if negate { "NOT " } else { "" };
        if negate {
            sql.push_str(&format!(" AND ({column} IS NULL OR {column} {not}IN ({marks}))"));
        } else {
            sql.push_str(&format!(" AND {column} IN ({marks})"));
        }
        args.extend(values.into_iter().map(Value::Text));
    };
    list(&mut sql, "team", false, q.teams.clone());
    if let Some(c) = &q.channel {
        list(&mut sql, "channel", false, vec![c.clone()]);
    }
    if let Some(ty) = q.ticket_type {
        list(&mut sql, "ticket_type", false, vec![ty.code().to_string()]);
    }
    if let Some(st) = q.state {
        list(&mut sql, "state", false, vec![st.as_str().to_string()]);
    }
    match &q.assignee {
        Some(AssigneeFilter::Operator(id)) => list(&mut sql, "assignee", false, vec![id.clone()]),
        Some(AssigneeFilter::Unassigned) => sql.push_str(" AND assignee IS NULL"),
        None => {}
    }
    if !q.hidden.categories.is_empty() {
        list(&mut sql, "category", true, q.hidden.categories.clone());
    }
    if !q.hidden.types.is_empty() {
        list(&mut sql, "ticket_type", true, q.hidden.types.iter().map(|t| t.code().to_string()).collect());
    }
    (sql, args)
}

fn queue_page_tx(conn: &Connection, q: &QueueQuery) -> StoreResult<QueuePage> {
    use rusqlite::types::Value;
    let limit = q.limit.clamp(1, MAX_QUEUE_PAGE);
    let (filter, args) = queue_filter(q);
    let (bound, order, key) = match &q.start {
        PageStart::First => ("", "ASC", None),
        PageStart::After(k) => (" AND (queue_due, created_at, id) > (?, ?, ?)", "ASC", Some(k)),
        PageStart::Before(k) => (" AND (queue_due, created_at, id) < (?, ?, ?)", "DESC", Some(k)),
    };
    let mut page_args = args.clone();
    if let Some(k) = key {
        // Creation times are stored in microseconds, as the key has them.
        page_args.extend([Value::Integer(k.due_us), Value::Integer(k.created_us), Value::Text(k.id.clone())]);
    }
    page_args.push(Value::Integer(limit as i64 + 1));
    let sql = format!(
        "SELECT id, doc, version FROM tickets WHERE {filter}{bound}
         ORDER BY queue_due {order}, created_at {order}, id {order} LIMIT ?"
    );
    let mut tickets = list(conn, &sql, rusqlite::params_from_iter(page_args))?;
    let more = tickets.len() > limit;
    tickets.truncate(limit);
    let (more_after, more_before) = match q.start {
        PageStart::First => (more, false),
        PageStart::After(_) => (more, true),
        PageStart::Before(_) => {
            tickets.reverse();
            (true, more)
        }
    };
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM tickets WHERE {filter}"))
        .map_err(unavailable)?
        .query_row(rusqlite::params_from_iter(args), |r| r.get(0))
        .map_err(unavailable)?;
    Ok(QueuePage { tickets, more_after, more_before, total: Some(total as u64) })
}

/// The whole intake in one transaction: the ticket, its events, the idempotency record and the
/// steps on the queue. Answers whether a step was queued (to wake the workers after the commit).
/// No savepoint of its own: it runs as (part of) one writer call, whose savepoint ([`Db::call`])
/// takes back every write of a call that fails, and a failing intake fails its call.
fn open_tx(
    tx: &Connection,
    new: &NewTicket,
    encoded: &EncodedIntake,
    queue: &str,
    window: Duration,
) -> StoreResult<(Created, bool)> {
    let (key, ticket) = (new.idempotency_key.as_str(), &new.ticket);
    let earlier: Option<(String, Option<String>)> = tx
        .one("SELECT ticket_id, fingerprint FROM ticket_idempotency WHERE key = ?1", [key], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(unavailable)?;
    if let Some((id, fingerprint)) = earlier {
        let ticket = load(tx, &id)?
            .ok_or_else(|| StoreError::Corrupt(format!("idempotency record points at missing ticket {id}")))?;
        return Ok((Created { ticket, replayed: true, fingerprint, outbox: Vec::new() }, false));
    }
    let keys = RequesterKey::of(&ticket.requester);
    // The queue columns in the same statement: a second write of the row would update it and
    // its indexes twice.
    let (due, channel, ticket_type, assignee, category) = queue_columns(ticket);
    let inserted = tx.run(
        "INSERT INTO tickets (id, reference, team, state, created_at, closed_at, version,
            rq_email, rq_phone, rq_fiscal_code, doc, queue_due, channel, ticket_type, assignee, category)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            ticket.id.0,
            ticket.reference.0,
            ticket.team,
            ticket.state.as_str(),
            micros(ticket.created_at),
            ticket.closed_at.map(micros),
            keys.email,
            keys.phone,
            keys.fiscal_code,
            encoded.ticket_doc,
            due,
            channel,
            ticket_type,
            assignee,
            category
        ],
    );
    if let Err(e) = inserted {
        if !is_unique_violation(&e) {
            return Err(unavailable(e));
        }
        let id_taken = load(tx, &ticket.id.0).is_ok_and(|t| t.is_some());
        return Err(StoreError::Duplicate(if id_taken {
            format!("ticket id {} is taken", ticket.id)
        } else {
            format!("reference {} is taken", ticket.reference)
        }));
    }
    insert_fields(tx, ticket)?;
    let mut insert_event =
        tx.prepare_cached("INSERT INTO events (ticket_id, at, doc) VALUES (?1, ?2, ?3)").map_err(unavailable)?;
    for (at, doc) in &encoded.events {
        insert_event.execute(params![ticket.id.0, at, doc]).map_err(unavailable)?;
    }
    drop(insert_event);
    tx.run(
        "INSERT INTO ticket_idempotency (key, ticket_id, fingerprint) VALUES (?1, ?2, ?3)",
        params![key, ticket.id.0, new.fingerprint],
    )
    .map_err(unavailable)?;
    let mut queued = false;
    for step in &new.steps {
        queued |= !super::queue::enqueue(tx, queue, step, window)?.duplicate;
    }
    hold_claims(tx, &new.claims)?;
    Ok((Created { ticket: ticket.clone(), replayed: false, fingerprint: None, outbox: Vec::new() }, queued))
}

/// `NotFound` unless ticket `id` is stored: events never outlive their ticket.
fn ticket_exists(tx: &Connection, id: &TicketId) -> StoreResult<()> {
    let found = tx.one("SELECT 1 FROM tickets WHERE id = ?1", [&id.0], |_| Ok(())).optional().map_err(unavailable)?;
    found.ok_or_else(|| StoreError::NotFound(format!("ticket {id}")))
}

/// Writes the claims a ticket's write takes for its writer (see [`Lease`]).
fn hold_claims(tx: &Connection, claims: &[Lease]) -> StoreResult<()> {
    for claim in claims {
        tx.run(
            "INSERT INTO step_claims (key, status, until_ms) VALUES (?1, 'INPROGRESS', ?2)
             ON CONFLICT (key) DO UPDATE SET status = 'INPROGRESS', until_ms = ?2",
            params![claim.key, ms_after(claim.lease)],
        )
        .map_err(unavailable)?;
    }
    Ok(())
}

/// What a ticket's write queues and claims with it (see [`TicketStore::update_queueing`]).
struct Queueing<'a> {
    queue: &'a str,
    window: Duration,
    steps: &'a [StepMessage],
    claims: &'a [Lease],
}

fn update_tx(
    conn: &mut Connection,
    ticket: &Ticket,
    events: &[Event],
    follow: Option<Queueing>,
) -> StoreResult<Ticket> {
    let tx = immediate(conn)?;
    let stored: Option<(i64, String)> = tx
        .one("SELECT version, reference FROM tickets WHERE id = ?1", [&ticket.id.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(unavailable)?;
    let Some((found, reference)) = stored else {
        return Err(StoreError::NotFound(format!("ticket {}", ticket.id)));
    };
    let found = found as u64;
    if found != ticket.version {
        return Err(StoreError::Conflict { expected: ticket.version, found });
    }
    if reference != ticket.reference.0 {
        return Err(StoreError::Invalid(format!("ticket {}: the reference cannot change", ticket.id)));
    }
    let mut next = ticket.clone();
    next.version = found + 1;
    write_row(&tx, &next)?;
    insert_events(&tx, events)?;
    if let Some(f) = follow {
        for step in f.steps {
            super::queue::enqueue(&tx, f.queue, step, f.window)?;
        }
        hold_claims(&tx, f.claims)?;
    }
    tx.commit().map_err(unavailable)?;
    Ok(next)
}

/// A queued message's body as text: one that carries only ids outlives an erasure.
fn carries_only_ids(body: &str) -> bool {
    serde_json::from_str(body).is_ok_and(|v| ticket_store::carries_only_ids(&v))
}

/// One erased (or to-be-erased) ticket, as its copies are found: by id, by reference, and by the
/// requester's identifiers (normalised, lower-cased).
struct Whose {
    id: String,
    reference: String,
    identifiers: Vec<String>,
}

impl Whose {
    fn of(t: &Ticket) -> Self {
        let keys = RequesterKey::of(&t.requester);
        let mut identifiers: Vec<String> = [keys.email, keys.phone.clone(), keys.fiscal_code]
            .into_iter()
            .flatten()
            .map(|v| v.to_lowercase())
            .collect();
        // A phone number also as written without its `+`.
        identifiers.extend(keys.phone.and_then(|p| p.strip_prefix('+').map(str::to_string)));
        Self { id: t.id.0.clone(), reference: t.reference.0.clone(), identifiers }
    }
}

fn rows(tx: &Connection, sql: &str, value: &str) -> StoreResult<Vec<(i64, String)>> {
    tx.prepare_cached(sql)
        .map_err(unavailable)?
        .query_map([value], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(unavailable)?
        .collect::<Result<_, _>>()
        .map_err(unavailable)
}

/// The store's other copies of these tickets' data: mail sent about them or to their requester
/// (`outbox`), messages still queued (`queued_messages`: an escalation with the fields its target
/// may see, a notice quoting them) and refused ones (`dead_letters`) that name the ticket and carry
/// more than ids, or that quote one of the requester's identifiers. With `delete`, they go.
fn copies_tx(tx: &Connection, whose: &[Whose], delete: bool) -> StoreResult<BTreeMap<String, usize>> {
    let mut found: BTreeMap<(&str, &str), BTreeSet<i64>> = BTreeMap::new();
    for w in whose {
        let mails = found.entry(("outbox", "id")).or_default();
        mails.extend(
            rows(tx, "SELECT id, '' FROM outbox WHERE ticket_ref = ?1", &w.reference)?.into_iter().map(|r| r.0),
        );
        for identifier in &w.identifiers {
            let to_them = rows(tx, "SELECT id, '' FROM outbox WHERE instr(lower(recipients), ?1) > 0", identifier)?;
            mails.extend(to_them.into_iter().map(|r| r.0));
        }
        for table in ["queue_messages", "dead_letters"] {
            let set = found.entry((table, "seq")).or_default();
            for value in [&w.reference, &w.id] {
                let naming = rows(
                    tx,
                    &format!("SELECT seq, body FROM {table} WHERE instr(body, ?1) > 0 OR instr(attributes, ?1) > 0"),
                    value,
                )?;
                set.extend(naming.into_iter().filter(|(_, body)| !carries_only_ids(body)).map(|r| r.0));
            }
            for identifier in &w.identifiers {
                let quoting = rows(
                    tx,
                    &format!(
                        "SELECT seq, body FROM {table} WHERE instr(lower(body), ?1) > 0 OR instr(lower(attributes), ?1) > 0"
                    ),
                    identifier,
                )?;
                set.extend(quoting.into_iter().map(|r| r.0));
            }
        }
        if delete {
            // Keys written before inbound Message-IDs were hashed: the id could name the sender.
            let keys =
                rows(tx, "SELECT 0, key FROM ticket_idempotency WHERE ticket_id = ?1 AND key LIKE 'email:%'", &w.id)?;
            for (_, key) in keys {
                let hashed = format!("email-id:{}", hex::encode(Sha256::digest(&key.as_bytes()["email:".len()..])));
                tx.run("UPDATE ticket_idempotency SET key = ?2 WHERE key = ?1", params![key, hashed])
                    .map_err(unavailable)?;
            }
            // The request's digest is derived from the requester's data: it goes too (a retry of
            // the request is then compared with the erased ticket, and refused).
            tx.run("UPDATE ticket_idempotency SET fingerprint = NULL WHERE ticket_id = ?1", [&w.id])
                .map_err(unavailable)?;
        }
    }
    let mut copies = BTreeMap::new();
    for ((table, column), ids) in found {
        let kind = match table {
            "queue_messages" => "queued_messages",
            other => other,
        };
        copies.insert(kind.to_string(), ids.len());
        if delete {
            for id in ids {
                tx.run(&format!("DELETE FROM {table} WHERE {column} = ?1"), [id]).map_err(unavailable)?;
            }
        }
    }
    Ok(copies)
}

fn erase_tx(conn: &mut Connection, key: &RequesterKey, actor: &Actor, now: Timestamp) -> StoreResult<Erasure> {
    let column = match key {
        RequesterKey::Email(_) => "rq_email",
        RequesterKey::Phone(_) => "rq_phone",
        RequesterKey::FiscalCode(_) => "rq_fiscal_code",
    };
    let value = key.normalized()?;
    let tx = immediate(conn)?;
    let tickets = list(
        &tx,
        &format!("SELECT id, doc, version FROM tickets WHERE {column} = ?1 ORDER BY created_at, id"),
        [&value],
    )?;
    let mut erased = Erasure::default();
    for mut ticket in tickets {
        let whose = Whose::of(&ticket);
        let audit = erase_ticket(&mut ticket, key, actor, now);
        ticket.version += 1;
        write_row(&tx, &ticket)?;
        let mut stmt = tx.prepare_cached("SELECT seq, doc FROM events WHERE ticket_id = ?1").map_err(unavailable)?;
        let rows: Vec<(i64, String)> = stmt
            .query_map([&ticket.id.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(unavailable)?
            .collect::<Result<_, _>>()
            .map_err(unavailable)?;
        for (seq, doc) in rows {
            let Ok(mut event) = serde_json::from_str::<Event>(&doc) else {
                // Unreadable, so possibly holding anything: keep only that it existed.
                tx.run("UPDATE events SET doc = json_object('erased', json('true')) WHERE seq = ?1", [seq])
                    .map_err(unavailable)?;
                continue;
            };
            if scrub_event(&mut event) {
                tx.run("UPDATE events SET doc = ?2 WHERE seq = ?1", params![seq, to_json(&event)?])
                    .map_err(unavailable)?;
            }
        }
        insert_events(&tx, &[audit])?;
        erased.tickets.push(ticket.id.clone());
        for (kind, n) in copies_tx(&tx, &[whose], true)? {
            *erased.copies.entry(kind).or_default() += n;
        }
    }
    tx.commit().map_err(unavailable)?;
    Ok(erased)
}

fn purge_tx(conn: &mut Connection, retention_days: u32, now: Timestamp, limit: usize) -> StoreResult<Vec<TicketId>> {
    let cutoff = retention_cutoff(retention_days, now)?;
    let finals: Vec<&str> = TicketState::ALL.iter().filter(|s| s.is_final()).map(|s| s.as_str()).collect();
    let tx = immediate(conn)?;
    // Decided on the indexed columns alone, so a damaged document cannot stop the purge.
    let sql = format!(
        "SELECT id FROM tickets WHERE closed_at IS NOT NULL AND closed_at < ?1 AND state IN ({}) \
         ORDER BY closed_at, id LIMIT ?2",
        finals.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(",")
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids: Vec<String> = tx
        .prepare(&sql)
        .map_err(unavailable)?
        .query_map(rusqlite::params![micros(cutoff), limit], |r| r.get(0))
        .map_err(unavailable)?
        .collect::<Result<_, _>>()
        .map_err(unavailable)?;
    for id in &ids {
        tx.run("DELETE FROM events WHERE ticket_id = ?1", [id]).map_err(unavailable)?;
        tx.run("DELETE FROM ticket_fields WHERE ticket_id = ?1", [id]).map_err(unavailable)?;
        tx.run("DELETE FROM ticket_idempotency WHERE ticket_id = ?1", [id]).map_err(unavailable)?;
        tx.run("DELETE FROM tickets WHERE id = ?1", [id]).map_err(unavailable)?;
    }
    tx.commit().map_err(unavailable)?;
    Ok(ids.into_iter().map(TicketId).collect())
}

#[async_trait]
impl TicketStore for SqliteStore {
    async fn open(&self, new: &NewTicket) -> StoreResult<Created> {
        validate_new(new)?;
        let encoded = EncodedIntake::of(new)?;
        let (intake, queue, window) = (new.clone(), self.steps.clone(), self.dedup_window);
        let (created, queued) = self.db.call(move |c| open_tx(c, &intake, &encoded, &queue, window)).await?;
        if queued {
            self.db.published().notify_one();
        }
        if !created.replayed {
            for step in &new.steps {
                tracing::debug!(queue = %self.steps, step = %step.step, ticket_id = %created.ticket.id, "step queued with its ticket");
            }
        }
        // A new ticket's line is the engine's `ticket opened` (with its team and channel); a second
        // one here cost every intake a log line for nothing. A replay is said here.
        if created.replayed {
            tracing::info!(ticket_id = %created.ticket.id, reference = %created.ticket.reference, replayed = true, "ticket created");
        } else {
            tracing::debug!(ticket_id = %created.ticket.id, reference = %created.ticket.reference, replayed = false, "ticket created");
        }
        Ok(created)
    }

    async fn outbox_done(&self, _items: &[Outboxed]) -> StoreResult<()> {
        Ok(())
    }

    async fn outbox_pending(&self, _before: Timestamp, _limit: usize) -> StoreResult<Vec<Outboxed>> {
        Ok(Vec::new())
    }

    async fn get(&self, id: &TicketId) -> StoreResult<Ticket> {
        let id = id.0.clone();
        self.db.call(move |c| load(c, &id)?.ok_or_else(|| StoreError::NotFound(format!("ticket {id}")))).await
    }

    async fn get_by_reference(&self, reference: &TicketReference) -> StoreResult<Ticket> {
        let reference = reference.0.clone();
        self.db
            .call(move |c| {
                list(c, "SELECT id, doc, version FROM tickets WHERE reference = ?1", [&reference])?
                    .pop()
                    .ok_or_else(|| StoreError::NotFound(format!("ticket {reference}")))
            })
            .await
    }

    async fn update(&self, ticket: &Ticket, events: &[Event]) -> StoreResult<Ticket> {
        validate_update(ticket, events)?;
        let (t, ev) = (ticket.clone(), events.to_vec());
        let result = self.db.call(move |c| update_tx(c, &t, &ev, None)).await;
        match &result {
            Ok(next) => tracing::info!(
                ticket_id = %next.id, reference = %next.reference, version = next.version,
                state = %next.state, events = events.len(), "ticket updated"
            ),
            Err(e) => tracing::debug!(ticket_id = %ticket.id, error = %e, "ticket update refused"),
        }
        result
    }

    async fn update_queueing(
        &self,
        ticket: &Ticket,
        events: &[Event],
        follow: &FollowUps,
    ) -> StoreResult<(Ticket, Vec<Outboxed>)> {
        let FollowUps { steps, claims } = follow;
        validate_update(ticket, events)?;
        validate_follow_ups(steps, claims)?;
        let (t, ev, st, cl) = (ticket.clone(), events.to_vec(), steps.to_vec(), claims.to_vec());
        let (queue, window) = (self.steps.clone(), self.dedup_window);
        let next = self
            .db
            .call(move |c| update_tx(c, &t, &ev, Some(Queueing { queue: &queue, window, steps: &st, claims: &cl })))
            .await?;
        if !steps.is_empty() {
            self.db.published().notify_one();
        }
        tracing::info!(
            ticket_id = %next.id, reference = %next.reference, version = next.version,
            state = %next.state, events = events.len(), steps = steps.len(), "ticket updated"
        );
        Ok((next, Vec::new()))
    }

    async fn work_queue_after(
        &self,
        team: &str,
        state: TicketState,
        after: Option<&QueuePosition>,
        limit: usize,
    ) -> StoreResult<Vec<Ticket>> {
        let team = team.to_owned();
        let limit = limit.min(MAX_LIST) as i64;
        // From before every ticket when no position is given: (i64::MIN, "") sorts first.
        let (after_at, after_id) = after.map_or((i64::MIN, String::new()), |p| (micros(p.created_at), p.id.0.clone()));
        self.db
            .call(move |c| {
                list(
                    c,
                    "SELECT id, doc, version FROM tickets WHERE team = ?1 AND state = ?2
                       AND (created_at, id) > (?3, ?4)
                     ORDER BY created_at, id LIMIT ?5",
                    params![team, state.as_str(), after_at, after_id, limit],
                )
            })
            .await
    }

    async fn find_by_requester(&self, key: &RequesterKey) -> StoreResult<Vec<Ticket>> {
        let column = match key {
            RequesterKey::Email(_) => "rq_email",
            RequesterKey::Phone(_) => "rq_phone",
            RequesterKey::FiscalCode(_) => "rq_fiscal_code",
        };
        let value = key.normalized()?;
        self.db
            .call(move |c| {
                list(
                    c,
                    &format!("SELECT id, doc, version FROM tickets WHERE {column} = ?1 ORDER BY created_at, id"),
                    [&value],
                )
            })
            .await
    }

    async fn queue_page(&self, query: &QueueQuery) -> StoreResult<QueuePage> {
        if query.teams.is_empty() {
            return Ok(QueuePage::default());
        }
        let q = query.clone();
        self.db.call(move |c| queue_page_tx(c, &q)).await
    }

    async fn find_by_field(&self, name: &str, value: &str, limit: usize) -> StoreResult<Vec<Ticket>> {
        let (name, value) = (name.to_owned(), value.to_owned());
        let limit = limit.min(MAX_LIST) as i64;
        self.db
            .call(move |c| {
                list(
                    c,
                    "SELECT t.id, t.doc, t.version FROM ticket_fields f JOIN tickets t ON t.id = f.ticket_id
                     WHERE f.name = ?1 AND f.value = ?2 ORDER BY f.created_at DESC, t.id LIMIT ?3",
                    params![name, value, limit],
                )
            })
            .await
    }

    async fn erase_requester(&self, key: &RequesterKey, actor: &Actor, now: Timestamp) -> StoreResult<Erasure> {
        let (k, a) = (key.clone(), actor.clone());
        let erased = self.db.call(move |c| erase_tx(c, &k, &a, now)).await?;
        for id in &erased.tickets {
            tracing::info!(ticket_id = %id, matched_on = key.kind(), "requester data erased");
        }
        if !erased.tickets.is_empty() {
            // The old versions of the pages are still in the write-ahead log until it is folded
            // into the database file; freed pages are zeroed (`secure_delete`).
            if let Err(e) = self.db.checkpoint().await {
                // Erased all the same: SQLite folds the log in on its own as it fills.
                tracing::warn!(error = %e, "erasure: the write-ahead log keeps old pages until the next checkpoint");
            }
        }
        Ok(erased)
    }

    async fn copies_of(&self, tickets: &[Ticket]) -> StoreResult<BTreeMap<String, usize>> {
        let whose: Vec<Whose> = tickets.iter().map(Whose::of).collect();
        self.db.call(move |c| copies_tx(c, &whose, false)).await
    }

    async fn clock_positions(&self) -> StoreResult<ClockPositions> {
        self.db
            .call(|c| {
                let mut stmt = c
                    .prepare_cached("SELECT team, due_us, created_at, ticket_id FROM clock_positions")
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?))
                    })
                    .map_err(unavailable)?;
                let mut positions = ClockPositions::new();
                for row in rows {
                    let (team, due, created, id) = row.map_err(unavailable)?;
                    positions.extend(ticket_store::clock_position(&team, due, created, &id));
                }
                Ok(positions)
            })
            .await
    }

    async fn set_clock_position(&self, team: &str, position: Option<&QueueKey>) -> StoreResult<()> {
        let (team, position) = (team.to_owned(), position.cloned());
        self.db
            .call(move |c| {
                match position {
                    Some(k) => c.run(
                        "INSERT INTO clock_positions (team, due_us, created_at, ticket_id) VALUES (?1, ?2, ?3, ?4) \
                         ON CONFLICT (team) DO UPDATE SET due_us = excluded.due_us, created_at = excluded.created_at, \
                         ticket_id = excluded.ticket_id",
                        rusqlite::params![team, k.due_us, k.created_us, k.id],
                    ),
                    None => c.run("DELETE FROM clock_positions WHERE team = ?1", [&team]),
                }
                .map_err(unavailable)?;
                Ok(())
            })
            .await
    }

    async fn purge_closed(&self, retention_days: u32, now: Timestamp, limit: usize) -> StoreResult<Vec<TicketId>> {
        let purged = self.db.call(move |c| purge_tx(c, retention_days, now, limit)).await?;
        tracing::info!(purged = purged.len(), retention_days, "closed tickets purged");
        Ok(purged)
    }
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn append(&self, events: &[Event]) -> StoreResult<()> {
        let Some(ticket_id) = single_ticket(events)?.cloned() else {
            return Ok(());
        };
        if events.len() > crate::ports::ticket_store::MAX_EVENTS_PER_WRITE {
            return Err(StoreError::Invalid("too many events in one append".into()));
        }
        let events = events.to_vec();
        self.db
            .call(move |c| {
                let tx = immediate(c)?;
                ticket_exists(&tx, &ticket_id)?;
                insert_events(&tx, &events)?;
                tx.commit().map_err(unavailable)
            })
            .await
    }

    /// The local step queue is in the same file: nothing is ever in an outbox here.
    async fn append_completing(&self, events: &[Event], done: &Completion<'_>) -> StoreResult<()> {
        let ticket_id = single_ticket(events)?.cloned();
        if events.len() > crate::ports::ticket_store::MAX_EVENTS_PER_WRITE {
            return Err(StoreError::Invalid("too many events in one append".into()));
        }
        validate_key(done.key)?;
        let (events, key, keep_for) = (events.to_vec(), done.key.to_owned(), done.keep_for);
        self.db
            .call(move |c| {
                let tx = immediate(c)?;
                if let Some(id) = &ticket_id {
                    ticket_exists(&tx, id)?;
                }
                insert_events(&tx, &events)?;
                tx.run(
                    "INSERT INTO step_claims (key, status, until_ms) VALUES (?1, 'COMPLETED', ?2)
                     ON CONFLICT (key) DO UPDATE SET status = 'COMPLETED', until_ms = ?2",
                    params![key, ms_after(keep_for)],
                )
                .map_err(unavailable)?;
                tx.commit().map_err(unavailable)
            })
            .await
    }

    async fn list(&self, ticket: &TicketId) -> StoreResult<Vec<Event>> {
        let id = ticket.0.clone();
        self.db
            .call(move |c| {
                let mut stmt = c
                    .prepare_cached("SELECT seq, doc FROM events WHERE ticket_id = ?1 ORDER BY at, seq")
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map([&id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                    .map_err(unavailable)?;
                rows.map(|row| {
                    let (seq, doc) = row.map_err(unavailable)?;
                    serde_json::from_str(&doc).map_err(|e| corrupt(&format!("event {seq} of ticket {id}"), &e))
                })
                .collect()
            })
            .await
    }

    /// Positions are the events' row numbers, which only grow.
    async fn tail(&self, ticket: &TicketId, after: Option<&str>) -> StoreResult<EventTail> {
        let id = ticket.0.clone();
        let after: i64 = after.and_then(|p| p.parse().ok()).unwrap_or(0);
        self.db
            .call(move |c| {
                let mut stmt = c
                    .prepare_cached("SELECT seq, doc FROM events WHERE ticket_id = ?1 AND seq > ?2 ORDER BY at, seq")
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map(rusqlite::params![&id, after], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                    .map_err(unavailable)?;
                let mut tail = EventTail { next: after.to_string(), ..EventTail::default() };
                let mut last = after;
                for row in rows {
                    let (seq, doc) = row.map_err(unavailable)?;
                    let event =
                        serde_json::from_str(&doc).map_err(|e| corrupt(&format!("event {seq} of ticket {id}"), &e))?;
                    tail.events.push(event);
                    last = last.max(seq);
                }
                tail.next = last.to_string();
                let mut digests = c
                    .prepare_cached(
                        "SELECT json_extract(doc, '$.detail.token_sha256') FROM events \
                         WHERE ticket_id = ?1 AND json_extract(doc, '$.detail.token_sha256') IS NOT NULL",
                    )
                    .map_err(unavailable)?;
                tail.digests = digests
                    .query_map([&id], |r| r.get::<_, String>(0))
                    .map_err(unavailable)?
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?;
                Ok(tail)
            })
            .await
    }
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim(&self, key: &str, lease: Duration) -> StoreResult<Claim> {
        validate_key(key)?;
        let key = key.to_owned();
        self.db
            .call(move |c| {
                let now = now_ms();
                let tx = immediate(c)?;
                let held: Option<(String, i64)> = tx
                    .one("SELECT status, until_ms FROM step_claims WHERE key = ?1", [&key], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .map_err(unavailable)?;
                let claim = match held {
                    Some((status, until)) if until > now => {
                        if status == "COMPLETED" {
                            Claim::Completed
                        } else {
                            Claim::InProgress
                        }
                    }
                    _ => {
                        tx.run(
                            "INSERT INTO step_claims (key, status, until_ms) VALUES (?1, 'INPROGRESS', ?2)
                             ON CONFLICT (key) DO UPDATE SET status = 'INPROGRESS', until_ms = ?2",
                            params![key, ms_after(lease)],
                        )
                        .map_err(unavailable)?;
                        Claim::Acquired
                    }
                };
                // Housekeeping: records past their window protect nothing.
                tx.run("DELETE FROM step_claims WHERE until_ms < ?1", [now - 60_000]).map_err(unavailable)?;
                tx.commit().map_err(unavailable)?;
                Ok(claim)
            })
            .await
    }

    async fn complete(&self, key: &str, keep_for: Duration) -> StoreResult<()> {
        validate_key(key)?;
        let key = key.to_owned();
        self.db
            .call(move |c| {
                c.run(
                    "INSERT INTO step_claims (key, status, until_ms) VALUES (?1, 'COMPLETED', ?2)
                     ON CONFLICT (key) DO UPDATE SET status = 'COMPLETED', until_ms = ?2",
                    params![key, ms_after(keep_for)],
                )
                .map(drop)
                .map_err(unavailable)
            })
            .await
    }

    async fn release(&self, key: &str) -> StoreResult<()> {
        validate_key(key)?;
        let key = key.to_owned();
        self.db
            .call(move |c| {
                c.run("DELETE FROM step_claims WHERE key = ?1 AND status = 'INPROGRESS'", [key])
                    .map(drop)
                    .map_err(unavailable)
            })
            .await
    }
}
