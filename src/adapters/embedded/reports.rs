//! The report aggregates in SQLite, fed by the event table itself.
//!
//! Events get an increasing `seq` as they are written, one writer at a time, so "every event
//! after the cursor" is exactly what has not been folded yet. [`SqliteReports::project_pending`]
//! folds a batch in one transaction: the tickets' facts, the cells, the drill-down days, the
//! GDPR clocks and the cursor move together, so a batch is folded once or not at all. Nothing is
//! added to the write of a ticket: intake and every other step cost what they cost before, and
//! a batch of events costs one transaction however many there are.

use super::db::Db;
use super::sql::{Cached, corrupt, unavailable};
use crate::domain::{Actor, ActorRole, Event, EventKind, Ticket, TicketId};
use crate::ports::{ReportStore, StoreError, StoreResult};
use crate::reports::facts::delta;
use crate::reports::{CellKey, Cube, FeedEvent, FeedOrder, Metrics, Projector, TicketFacts, Watched};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// Events folded in one transaction at most.
pub const FOLD_BATCH: usize = 5_000;
const FEED: &str = "events";

#[derive(Clone)]
pub struct SqliteReports {
    db: Db,
    projector: Arc<Projector>,
    /// A read-only connection of the fold's own (opened at the first fold): the fold reads and
    /// computes there, beside the writer thread, and hands the writer only its writes.
    reader: Arc<std::sync::Mutex<Option<Connection>>>,
}

impl SqliteReports {
    pub fn new(db: Db, projector: Arc<Projector>) -> Self {
        Self { db, projector, reader: Arc::default() }
    }

    /// Folds up to `max` events not folded yet; returns how many.
    ///
    /// The fold is planned on the reader connection, off the writer thread that every intake
    /// waits for: reading the events, the tickets and their facts, projecting, encoding the new
    /// facts. The writer then only writes the plan, if the cursor is still where the plan started
    /// (only a fold moves it: a fold that ran in between, a report's catch-up, wins, and this one
    /// is worked out again on the writer as a whole). Without a reader (it could not be opened),
    /// the whole fold runs on the writer.
    pub async fn project_pending(&self, max: usize) -> StoreResult<usize> {
        let (reader, path, projector) = (Arc::clone(&self.reader), self.db.path(), Arc::clone(&self.projector));
        let planned = tokio::task::spawn_blocking(move || -> StoreResult<FoldPlan> {
            let mut reader = reader.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if reader.is_none() {
                *reader = Some(open_reader(&path)?);
            }
            let conn = reader.as_mut().expect("opened above");
            let snapshot = conn.transaction().map_err(unavailable)?;
            plan_fold(&snapshot, &projector, max)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("reports: the fold's planning stopped: {e}")))
        .and_then(|planned| planned);
        let projector = Arc::clone(&self.projector);
        match planned {
            Ok(plan) if plan.folded == 0 => Ok(0),
            Ok(plan) => self.db.call(move |c| write_planned(c, &plan, &projector, max)).await,
            Err(e) => {
                tracing::debug!(error = %e, "reports: no reader connection; folding on the writer");
                self.db.call(move |c| project_tx(c, &projector, max)).await
            }
        }
    }

    /// Events after `seq` (the store's own ids), oldest first, at most `limit`: what the export
    /// reads.
    pub async fn events_after(&self, seq: i64, limit: usize) -> StoreResult<Vec<(i64, FeedEvent)>> {
        self.db
            .call(move |c| {
                let mut stmt = c
                    .prepare_cached("SELECT seq, doc FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                    .map_err(unavailable)?;
                let rows: Vec<(i64, String)> = stmt
                    .query_map(params![seq, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(unavailable)?
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(seq, doc)| {
                        serde_json::from_str::<Event>(&doc)
                            .ok()
                            .map(|event| (seq, FeedEvent { id: seq.to_string(), event }))
                    })
                    .collect())
            })
            .await
    }

    /// Every ticket with its events, read whole: what [`crate::reports::verify`] recomputes the
    /// figures from. Slow by design; never on a request's path.
    pub async fn history(&self) -> StoreResult<Vec<(Ticket, Vec<Event>)>> {
        self.db
            .call(|c| {
                let ids: Vec<String> = c
                    .prepare("SELECT id FROM tickets ORDER BY id")
                    .map_err(unavailable)?
                    .query_map([], |r| r.get(0))
                    .map_err(unavailable)?
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?;
                let mut out = Vec::with_capacity(ids.len());
                let mut stmt =
                    c.prepare("SELECT doc FROM events WHERE ticket_id = ?1 ORDER BY seq").map_err(unavailable)?;
                for id in ids {
                    let Some(ticket) = load_ticket(c, &id)? else { continue };
                    let docs: Vec<String> = stmt
                        .query_map([&id], |r| r.get(0))
                        .map_err(unavailable)?
                        .collect::<Result<_, _>>()
                        .map_err(unavailable)?;
                    let events = docs.iter().filter_map(|d| serde_json::from_str::<Event>(d).ok()).collect();
                    out.push((ticket, events));
                }
                Ok(out)
            })
            .await
    }

    /// Keeps the aggregates up to date while the local server runs (reports also catch up
    /// before they read, so this only keeps the catching-up short).
    pub async fn run(self, every: Duration) {
        loop {
            match self.project_pending(FOLD_BATCH).await {
                Ok(n) if n == FOLD_BATCH => continue,
                Ok(n) => {
                    if n > 0 {
                        tracing::debug!(events = n, "reports: events folded");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reports: folding failed; retried"),
            }
            tokio::time::sleep(every).await;
        }
    }
}

fn load_ticket(conn: &Connection, id: &str) -> StoreResult<Option<Ticket>> {
    let row: Option<(String, i64)> = conn
        .one("SELECT doc, version FROM tickets WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(unavailable)?;
    let Some((doc, version)) = row else {
        return Ok(None);
    };
    let mut ticket: Ticket = serde_json::from_str(&doc).map_err(|e| corrupt(&format!("ticket {id}"), &e))?;
    ticket.version = u64::try_from(version).unwrap_or_default();
    Ok(Some(ticket))
}

fn load_facts(conn: &Connection, id: &str) -> StoreResult<Option<TicketFacts>> {
    let doc: Option<String> = conn
        .one("SELECT doc FROM report_facts WHERE ticket_id = ?1", [id], |r| r.get(0))
        .optional()
        .map_err(unavailable)?;
    doc.map(|d| serde_json::from_str(&d).map_err(|e| corrupt(&format!("report facts of {id}"), &e))).transpose()
}

/// What the fold reads of a stored event: its time, kind, actor's role, and the few keys of
/// its detail that [`TicketFacts::fold`] looks at (incident links, the bot's outcome). The rest
/// (message bodies, payloads, the actor's id) is skipped without being built. The fields [`Event`]
/// requires are still required, so what does not read as an event (an erased one) is left out.
#[derive(serde::Deserialize)]
struct StoredEvent {
    #[serde(rename = "ticket_id")]
    _ticket_id: IgnoredAny,
    at: jiff::Timestamp,
    actor: StoredActor,
    kind: EventKind,
    #[serde(default)]
    detail: ReadDetail,
}

#[derive(serde::Deserialize)]
struct StoredActor {
    #[serde(rename = "id")]
    _id: IgnoredAny,
    role: ActorRole,
}

impl StoredEvent {
    fn read(ticket: &str, doc: &str) -> Option<Event> {
        let stored: StoredEvent = serde_json::from_str(doc).ok()?;
        let detail = if stored.detail.0.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::Value::Object(stored.detail.0)
        };
        Some(Event {
            ticket_id: TicketId(ticket.to_string()),
            at: stored.at,
            actor: Actor { id: String::new(), role: stored.actor.role },
            kind: stored.kind,
            detail,
        })
    }
}

/// The keys of an event's detail the fold reads.
const READ_KEYS: [&str; 7] = ["chat", "outcome", "reason", "asked_back", "step", "incident", "incident_resolved"];

/// Those keys of a detail, as they are; every other key, and a detail that is not an object,
/// skipped.
#[derive(Default)]
struct ReadDetail(serde_json::Map<String, serde_json::Value>);

impl<'de> serde::Deserialize<'de> for ReadDetail {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ReadDetailVisitor)
    }
}

struct ReadDetailVisitor;

impl<'de> Visitor<'de> for ReadDetailVisitor {
    type Value = ReadDetail;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event's detail")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ReadDetail, A::Error> {
        let mut kept = serde_json::Map::new();
        while let Some(DetailKey(key)) = map.next_key()? {
            if READ_KEYS.contains(&key.as_ref()) {
                kept.insert(key.into_owned(), map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(ReadDetail(kept))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ReadDetail, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(ReadDetail::default())
    }

    fn visit_unit<E>(self) -> Result<ReadDetail, E> {
        Ok(ReadDetail::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<ReadDetail, E> {
        Ok(ReadDetail::default())
    }

    fn visit_i64<E>(self, _: i64) -> Result<ReadDetail, E> {
        Ok(ReadDetail::default())
    }

    fn visit_u64<E>(self, _: u64) -> Result<ReadDetail, E> {
        Ok(ReadDetail::default())
    }

    fn visit_f64<E>(self, _: f64) -> Result<ReadDetail, E> {
        Ok(ReadDetail::default())
    }

    fn visit_str<E>(self, _: &str) -> Result<ReadDetail, E> {
        Ok(ReadDetail::default())
    }
}

/// A key of a detail, borrowed from the document unless it had to be unescaped.
struct DetailKey<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for DetailKey<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = DetailKey<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<DetailKey<'de>, E> {
                Ok(DetailKey(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<DetailKey<'de>, E> {
                Ok(DetailKey(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The fold as one call on the writer: planned and written in the same transaction.
fn project_tx(conn: &mut Connection, projector: &Projector, max: usize) -> StoreResult<usize> {
    let tx = conn.savepoint().map_err(unavailable)?;
    let plan = plan_fold(&tx, projector, max)?;
    let folded = write_fold(&tx, &plan)?;
    tx.commit().map_err(unavailable)?;
    Ok(folded)
}

/// Writes a fold planned on the reader, on the writer thread: as planned if the cursor has not
/// moved since, else planned again here (another fold ran in between) so no event counts twice.
fn write_planned(conn: &mut Connection, plan: &FoldPlan, projector: &Projector, max: usize) -> StoreResult<usize> {
    let tx = conn.savepoint().map_err(unavailable)?;
    let folded = if fold_cursor(&tx)? == plan.from {
        write_fold(&tx, plan)?
    } else {
        write_fold(&tx, &plan_fold(&tx, projector, max)?)?
    };
    tx.commit().map_err(unavailable)?;
    Ok(folded)
}

/// Opens the fold's read-only connection on the database file.
fn open_reader(path: &std::path::Path) -> StoreResult<Connection> {
    use rusqlite::OpenFlags;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(unavailable)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(unavailable)?;
    Ok(conn)
}

fn fold_cursor(conn: &Connection) -> StoreResult<i64> {
    Ok(conn
        .one("SELECT seq FROM report_feed WHERE name = ?1", [FEED], |r| r.get(0))
        .optional()
        .map_err(unavailable)?
        .unwrap_or(0))
}

/// What one fold writes, worked out from one snapshot of the store.
struct FoldPlan {
    /// The cursor the plan was made from, and where it moves (the last event read).
    from: i64,
    to: i64,
    /// Events read (the unreadable ones included: they are folded as nothing).
    folded: usize,
    tickets: Vec<FactsWrite>,
    /// Each cell the batch changed, with the batch's sum.
    cells: HashMap<CellKey, Metrics>,
}

/// A ticket whose facts changed: its new facts (encoded), the days its marks are on before and
/// after, and its clocks when they changed.
struct FactsWrite {
    id: String,
    doc: String,
    days_before: BTreeSet<i32>,
    days_after: BTreeSet<i32>,
    watch: Option<Vec<Watched>>,
}

fn plan_fold(conn: &Connection, projector: &Projector, max: usize) -> StoreResult<FoldPlan> {
    let cursor = fold_cursor(conn)?;
    // Each event read once, straight from the row, and grouped by ticket: a ticket is projected
    // once per batch however many of its events the batch holds.
    let mut by_ticket: BTreeMap<String, Vec<FeedEvent>> = BTreeMap::new();
    let mut folded = 0;
    let mut last = cursor;
    {
        let mut stmt = conn
            .prepare_cached("SELECT seq, ticket_id, doc FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
            .map_err(unavailable)?;
        let mut rows = stmt.query(params![cursor, max as i64]).map_err(unavailable)?;
        while let Some(row) = rows.next().map_err(unavailable)? {
            let seq: i64 = row.get(0).map_err(unavailable)?;
            let ticket = row.get_ref(1).and_then(|v| v.as_str().map_err(Into::into)).map_err(unavailable)?;
            let doc = row.get_ref(2).and_then(|v| v.as_str().map_err(Into::into)).map_err(unavailable)?;
            folded += 1;
            last = seq;
            match StoredEvent::read(ticket, doc) {
                Some(event) => {
                    let fe = FeedEvent { id: seq.to_string(), event };
                    match by_ticket.get_mut(ticket) {
                        Some(events) => events.push(fe),
                        None => {
                            by_ticket.insert(ticket.to_string(), vec![fe]);
                        }
                    }
                }
                // An erased event keeps only that it existed; nothing to count in it.
                None => tracing::debug!(seq, "reports: an unreadable event is left out"),
            }
        }
    }
    let mut plan = FoldPlan { from: cursor, to: last, folded, tickets: Vec::new(), cells: HashMap::new() };
    for (id, events) in by_ticket {
        let old = load_facts(conn, &id)?;
        let ticket = load_ticket(conn, &id)?;
        let start = old.clone().unwrap_or_else(|| TicketFacts::new(TicketId(id.clone())));
        let new = projector.project(start, ticket.as_ref(), &events, FeedOrder::Strict);
        if old.as_ref() == Some(&new) {
            continue;
        }
        for (k, m) in delta(old.as_ref(), &new) {
            plan.cells.entry(k).or_default().merge(&m, 1);
        }
        let watch = (old.as_ref().map(|o| &o.watch) != Some(&new.watch)).then(|| new.watch.clone());
        let doc = serde_json::to_string(&new).map_err(|e| StoreError::Invalid(format!("report facts: {e}")))?;
        plan.tickets.push(FactsWrite {
            days_before: old.as_ref().map(TicketFacts::days).unwrap_or_default(),
            days_after: new.days(),
            id,
            doc,
            watch,
        });
    }
    Ok(plan)
}

/// Writes a plan: the facts, the days, the clocks, the cells and the cursor, in the caller's
/// transaction. Answers how many events it folded.
fn write_fold(tx: &Connection, plan: &FoldPlan) -> StoreResult<usize> {
    if plan.folded == 0 {
        return Ok(0);
    }
    for t in &plan.tickets {
        write_days(tx, &t.id, &t.days_before, &t.days_after)?;
        if let Some(watch) = &t.watch {
            write_watch(tx, &t.id, watch)?;
        }
        // Updated in place: `INSERT OR REPLACE` deleted the row and its key and added them again
        // under a new row id, every time a ticket's facts changed.
        tx.run(
            "INSERT INTO report_facts (ticket_id, doc) VALUES (?1, ?2) ON CONFLICT (ticket_id) DO UPDATE SET doc = excluded.doc",
            params![t.id, t.doc],
        )
        .map_err(unavailable)?;
    }
    // Each cell the batch changed is read and written once, with the batch's sum.
    for (k, m) in &plan.cells {
        add_to_cell(tx, k, m)?;
    }
    tx.run("INSERT OR REPLACE INTO report_feed (name, seq) VALUES (?1, ?2)", params![FEED, plan.to])
        .map_err(unavailable)?;
    Ok(plan.folded)
}

fn write_days(tx: &Connection, id: &str, old: &BTreeSet<i32>, new: &BTreeSet<i32>) -> StoreResult<()> {
    for day in old.difference(new) {
        tx.run("DELETE FROM report_days WHERE day = ?1 AND ticket_id = ?2", params![day, id]).map_err(unavailable)?;
    }
    for day in new.difference(old) {
        tx.run("INSERT OR IGNORE INTO report_days (day, ticket_id) VALUES (?1, ?2)", params![day, id])
            .map_err(unavailable)?;
    }
    Ok(())
}

fn write_watch(tx: &Connection, id: &str, watch: &[Watched]) -> StoreResult<()> {
    tx.run("DELETE FROM report_watch WHERE ticket_id = ?1", [id]).map_err(unavailable)?;
    for w in watch {
        let doc = serde_json::to_string(w).map_err(|e| StoreError::Invalid(format!("report clock: {e}")))?;
        tx.run(
            "INSERT OR REPLACE INTO report_watch (ticket_id, kind, due, doc) VALUES (?1, ?2, ?3, ?4)",
            params![id, w.kind, w.due.as_second(), doc],
        )
        .map_err(unavailable)?;
    }
    Ok(())
}

fn add_to_cell(tx: &Connection, k: &CellKey, m: &Metrics) -> StoreResult<()> {
    let dims = k.dims_key();
    let cube = i64::from(k.cube.code());
    let current: Option<Vec<u8>> = tx
        .one(
            "SELECT metrics FROM report_cells WHERE cube = ?1 AND day = ?2 AND dims = ?3",
            params![cube, k.day, dims],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    let mut sum = match current {
        Some(bytes) => Metrics::decode(&bytes)
            .ok_or_else(|| StoreError::Corrupt(format!("report cell {} day {}: unreadable", k.cube.code(), k.day)))?,
        None => Metrics::new(),
    };
    sum.merge(m, 1);
    if sum.is_empty() {
        tx.run("DELETE FROM report_cells WHERE cube = ?1 AND day = ?2 AND dims = ?3", params![cube, k.day, dims])
            .map_err(unavailable)?;
    } else {
        tx.run(
            "INSERT INTO report_cells (cube, day, dims, metrics) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (cube, day, dims) DO UPDATE SET metrics = excluded.metrics",
            params![cube, k.day, dims, sum.encode()],
        )
        .map_err(unavailable)?;
    }
    Ok(())
}

fn read_cells(conn: &Connection, cube: Cube, from: i32, to: i32) -> StoreResult<Vec<(CellKey, Metrics)>> {
    let mut stmt = conn
        .prepare_cached("SELECT day, dims, metrics FROM report_cells WHERE cube = ?1 AND day BETWEEN ?2 AND ?3")
        .map_err(unavailable)?;
    let rows = stmt
        .query_map(params![i64::from(cube.code()), from, to], |r| {
            Ok((r.get::<_, i32>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?))
        })
        .map_err(unavailable)?;
    let mut out = Vec::new();
    for row in rows {
        let (day, dims, bytes) = row.map_err(unavailable)?;
        let key = CellKey::from_parts(cube, day, &dims)
            .ok_or_else(|| StoreError::Corrupt(format!("report cell of day {day}: unreadable dimensions")))?;
        let metrics = Metrics::decode(&bytes)
            .ok_or_else(|| StoreError::Corrupt(format!("report cell of day {day}: unreadable")))?;
        out.push((key, metrics));
    }
    Ok(out)
}

#[async_trait]
impl ReportStore for SqliteReports {
    async fn catch_up(&self) -> StoreResult<usize> {
        let mut total = 0;
        loop {
            let n = self.project_pending(FOLD_BATCH).await?;
            total += n;
            if n < FOLD_BATCH {
                return Ok(total);
            }
        }
    }

    async fn cells(&self, cube: Cube, from: i32, to: i32) -> StoreResult<Vec<(CellKey, Metrics)>> {
        self.db.call(move |c| read_cells(c, cube, from, to)).await
    }

    async fn open_cells(&self) -> StoreResult<Vec<(CellKey, Metrics)>> {
        self.db.call(move |c| read_cells(c, Cube::Open, i32::MIN, i32::MAX)).await
    }

    async fn watched(&self) -> StoreResult<Vec<Watched>> {
        self.db
            .call(|c| {
                let mut stmt = c.prepare_cached("SELECT doc FROM report_watch ORDER BY due").map_err(unavailable)?;
                let docs: Vec<String> = stmt
                    .query_map([], |r| r.get(0))
                    .map_err(unavailable)?
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?;
                docs.iter().map(|d| serde_json::from_str(d).map_err(|e| corrupt("report clock", &e))).collect()
            })
            .await
    }

    async fn facts_on(&self, day: i32, after: Option<&TicketId>, limit: usize) -> StoreResult<Vec<TicketFacts>> {
        let after = after.map(|t| t.0.clone()).unwrap_or_default();
        let limit = limit.min(10_000) as i64;
        self.db
            .call(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT f.ticket_id, f.doc FROM report_days d JOIN report_facts f ON f.ticket_id = d.ticket_id
                         WHERE d.day = ?1 AND d.ticket_id > ?2 ORDER BY d.ticket_id LIMIT ?3",
                    )
                    .map_err(unavailable)?;
                let rows: Vec<(String, String)> = stmt
                    .query_map(params![day, after, limit], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(unavailable)?
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?;
                rows.iter()
                    .map(|(id, doc)| {
                        serde_json::from_str(doc).map_err(|e| corrupt(&format!("report facts of {id}"), &e))
                    })
                    .collect()
            })
            .await
    }

    async fn facts(&self, ticket: &TicketId) -> StoreResult<Option<TicketFacts>> {
        let id = ticket.0.clone();
        self.db.call(move |c| load_facts(c, &id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChannelKind;
    use crate::ports::{NewTicket, TicketStore};

    /// A fold planned on the reader is written as planned; one planned before another fold moved
    /// the cursor is worked out again on the writer, so no event counts twice.
    #[tokio::test]
    async fn a_fold_planned_before_another_fold_counts_each_event_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db")).unwrap();
        let rules =
            crate::rules::Rules::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
        let projector = Arc::new(Projector::new(&rules));
        let store = super::super::SqliteStore::new(db.clone());
        let reports = SqliteReports::new(db.clone(), Arc::clone(&projector));
        let actor = Actor { id: "api".into(), role: ActorRole::Requester };
        let open = |n: usize| {
            let ticket = Ticket::new("api", ChannelKind::Api, "triage", jiff::Timestamp::now());
            NewTicket::bare(&format!("k-{n}"), &ticket, &actor)
        };
        for n in 0..3 {
            store.open(&open(n)).await.unwrap();
        }
        // Planned on the reader from the cursor at 0, then overtaken by a whole fold.
        let stale = {
            let mut reader = open_reader(&db.path()).unwrap();
            let snapshot = reader.transaction().unwrap();
            plan_fold(&snapshot, &projector, FOLD_BATCH).unwrap()
        };
        assert_eq!((stale.from, stale.folded), (0, 3));
        assert_eq!(reports.project_pending(FOLD_BATCH).await.unwrap(), 3, "planned on the reader, written");
        let once = reports.open_cells().await.unwrap();
        assert!(!once.is_empty(), "three open tickets are counted somewhere");
        let again = {
            let projector = Arc::clone(&projector);
            db.call(move |c| write_planned(c, &stale, &projector, FOLD_BATCH)).await.unwrap()
        };
        assert_eq!(again, 0, "the stale plan is not written: nothing was left to fold");
        assert_eq!(reports.open_cells().await.unwrap(), once, "no event counted twice");

        // A ticket more: planned, then written as planned.
        store.open(&open(3)).await.unwrap();
        assert_eq!(reports.project_pending(FOLD_BATCH).await.unwrap(), 1);
        assert_eq!(reports.project_pending(FOLD_BATCH).await.unwrap(), 0);
        assert_ne!(reports.open_cells().await.unwrap(), once);
    }

    #[test]
    fn an_event_is_read_for_what_the_fold_uses() {
        let note = r#"{"ticket_id":"t-1","at":"2026-12-02T09:00:00Z","actor":{"id":"system","role":"system"},
            "kind":"note","detail":{"chat":"outcome","outcome":"handed_off","reason":"privacy","asked_back":2,
            "body":"Mi chiamo Mario Rossi","nested":{"incident":"x"},"incident":"inc-7","sent\"by":"x"}}"#;
        let event = StoredEvent::read("t-1", note).expect("a note");
        assert_eq!(event.kind, EventKind::Note);
        assert_eq!(event.actor.role, ActorRole::System);
        assert_eq!(event.ticket_id, TicketId("t-1".into()));
        assert_eq!(
            event.detail,
            serde_json::json!({"chat": "outcome", "outcome": "handed_off", "reason": "privacy", "asked_back": 2,
                "incident": "inc-7"}),
            "the keys the fold reads, nothing else"
        );
        let full: Event = serde_json::from_str(note).unwrap();
        assert_eq!(
            crate::reports::facts::BotEnd::of(full.at, &full.detail),
            crate::reports::facts::BotEnd::of(event.at, &event.detail)
        );

        for detail in [r#""a text""#, "[1,{\"a\":2}]", "null", "7", "true"] {
            let doc = format!(
                r#"{{"ticket_id":"t-1","at":"2026-12-02T09:00:00Z","actor":{{"id":"op-1","role":"operator"}},"kind":"message","detail":{detail}}}"#
            );
            let event = StoredEvent::read("t-1", &doc).unwrap_or_else(|| panic!("a detail of {detail}"));
            assert_eq!(event.detail, serde_json::Value::Null);
        }
        let without = r#"{"ticket_id":"t-1","at":"2026-12-02T09:00:00Z","actor":{"id":"op-1","role":"operator"},"kind":"resolved"}"#;
        assert_eq!(StoredEvent::read("t-1", without).unwrap().kind, EventKind::Resolved);
        // What erasure leaves, and what is not an event, is left out as the full reading would.
        for doc in [
            r#"{"erased":true}"#,
            r#"{"at":"2026-12-02T09:00:00Z","actor":{"role":"operator"},"kind":"resolved"}"#,
            "{",
        ] {
            assert!(StoredEvent::read("t-1", doc).is_none(), "{doc}");
            assert!(serde_json::from_str::<Event>(doc).is_err(), "{doc}");
        }
    }
}
