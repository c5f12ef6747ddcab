use super::sql::unavailable;
use crate::ports::{StoreError, StoreResult};
use rusqlite::Connection;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// The schema, by version (`PRAGMA user_version`). Append new versions; never edit old ones.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tickets (
    id              TEXT PRIMARY KEY,
    reference       TEXT NOT NULL UNIQUE,
    team            TEXT NOT NULL,
    state           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,   -- microseconds since the epoch
    closed_at       INTEGER,
    version         INTEGER NOT NULL,
    rq_email        TEXT,
    rq_phone        TEXT,
    rq_fiscal_code  TEXT,
    doc             TEXT NOT NULL       -- the ticket as JSON
) STRICT;
CREATE INDEX tickets_queue ON tickets (team, state, created_at, id);
CREATE INDEX tickets_closed ON tickets (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX tickets_rq_email ON tickets (rq_email) WHERE rq_email IS NOT NULL;
CREATE INDEX tickets_rq_phone ON tickets (rq_phone) WHERE rq_phone IS NOT NULL;
CREATE INDEX tickets_rq_fiscal_code ON tickets (rq_fiscal_code) WHERE rq_fiscal_code IS NOT NULL;

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    at         INTEGER NOT NULL,
    doc        TEXT NOT NULL
) STRICT;
CREATE INDEX events_ticket ON events (ticket_id, at, seq);

CREATE TABLE ticket_idempotency (
    key        TEXT PRIMARY KEY,
    ticket_id  TEXT NOT NULL REFERENCES tickets (id)
) STRICT;
CREATE INDEX ticket_idempotency_ticket ON ticket_idempotency (ticket_id);

CREATE TABLE step_claims (
    key       TEXT PRIMARY KEY,
    status    TEXT NOT NULL,        -- INPROGRESS | COMPLETED
    until_ms  INTEGER NOT NULL      -- lease end, or end of the completed window
) STRICT;
CREATE INDEX step_claims_until ON step_claims (until_ms);

CREATE TABLE queue_messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id    TEXT NOT NULL UNIQUE,
    queue         TEXT NOT NULL,
    step          TEXT NOT NULL,
    dedup_id      TEXT NOT NULL,
    body          TEXT NOT NULL,
    attributes    TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    visible_at_ms INTEGER NOT NULL,
    receipt       TEXT
) STRICT;
CREATE INDEX queue_messages_ready ON queue_messages (queue, visible_at_ms, seq);
CREATE INDEX queue_messages_receipt ON queue_messages (receipt) WHERE receipt IS NOT NULL;

CREATE TABLE queue_dedup (
    queue       TEXT NOT NULL,
    dedup_id    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    expires_ms  INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
) STRICT;

CREATE TABLE dead_letters (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL UNIQUE,
    queue       TEXT NOT NULL,
    step        TEXT NOT NULL,
    dedup_id    TEXT NOT NULL,
    body        TEXT NOT NULL,
    attributes  TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    dead_at_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX dead_letters_queue ON dead_letters (queue, seq);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL,
    ticket_ref  TEXT,
    recipients  TEXT NOT NULL,      -- JSON array
    raw         BLOB NOT NULL,      -- the MIME message as it would have been sent
    created_ms  INTEGER NOT NULL
) STRICT;
"#,
    // Publishing prunes expired dedup records; without this index that was a scan of every record
    // still in the window, per publish, so intake slowed down as the store grew.
    "CREATE INDEX queue_dedup_expiry ON queue_dedup (queue, expires_ms);",
    // The digest of the request that first used a key, so a replay can tell a retry of the same
    // request from another request reusing the key.
    "ALTER TABLE ticket_idempotency ADD COLUMN fingerprint TEXT;",
    // Report aggregates (src/adapters/embedded/reports.rs): cells per cube, local day and
    // dimensions; each ticket's facts (with the marks last added); the days each ticket has marks
    // on, for drill-downs; running GDPR clocks; and how far the event table has been folded in.
    r#"
CREATE TABLE report_cells (
    cube     INTEGER NOT NULL,
    day      INTEGER NOT NULL,      -- local days since 1970-01-01, the rulebook's time zone
    dims     TEXT NOT NULL,         -- channel, category, type, team, operator, target, incident
    metrics  BLOB NOT NULL,         -- crate::reports::Metrics::encode
    PRIMARY KEY (cube, day, dims)
) STRICT, WITHOUT ROWID;

CREATE TABLE report_facts (
    ticket_id  TEXT PRIMARY KEY,
    doc        TEXT NOT NULL
) STRICT;

CREATE TABLE report_days (
    day        INTEGER NOT NULL,
    ticket_id  TEXT NOT NULL,
    PRIMARY KEY (day, ticket_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE report_watch (
    ticket_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    due        INTEGER NOT NULL,
    doc        TEXT NOT NULL,
    PRIMARY KEY (ticket_id, kind)
) STRICT;

CREATE TABLE report_feed (
    name  TEXT PRIMARY KEY,
    seq   INTEGER NOT NULL
) STRICT;
"#,
    // Work queues sorted by the nearest running deadline and filtered by channel, type, state and
    // assignee (the console's queue), and tickets found by a custom field (a notice code). The
    // queue columns of existing tickets are filled in Rust (`backfill`), as the next write would.
    r#"
ALTER TABLE tickets ADD COLUMN queue_due INTEGER NOT NULL DEFAULT 9223372036854775807;
ALTER TABLE tickets ADD COLUMN channel TEXT;
ALTER TABLE tickets ADD COLUMN ticket_type TEXT;
ALTER TABLE tickets ADD COLUMN assignee TEXT;
ALTER TABLE tickets ADD COLUMN category TEXT;
CREATE INDEX tickets_open_queue ON tickets (team, queue_due, created_at, id, state, channel, ticket_type, assignee, category)
    WHERE state IN ('new', 'taken_in_charge', 'in_progress', 'awaiting_resolution_notice');
CREATE TABLE ticket_fields (
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, name)
) STRICT;
CREATE INDEX ticket_fields_value ON ticket_fields (name, value, created_at);
"#,
    // Where the clock stopped reading each queue its last tick did not finish.
    r#"
CREATE TABLE clock_positions (
    team       TEXT NOT NULL,
    state      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    ticket_id  TEXT NOT NULL,
    PRIMARY KEY (team, state)
) STRICT;
"#,
    // The clock reads a team's open tickets as one queue, nearest deadline first: one position
    // per team, the queue key of the last ticket read. The positions of the queues by state are
    // dropped: the next tick reads each team from its first ticket.
    r#"
DROP TABLE clock_positions;
CREATE TABLE clock_positions (
    team       TEXT NOT NULL PRIMARY KEY,
    due_us     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    ticket_id  TEXT NOT NULL
) STRICT;
"#,
];

/// Rust steps that run right after the migration of the same index, in its transaction.
fn backfill(version: usize, tx: &Connection) -> StoreResult<()> {
    match version {
        5 => super::ticket_rows::backfill_queue_columns(tx),
        _ => Ok(()),
    }
}

/// A handle on the SQLite database; cheap to clone, shared by all embedded adapters.
///
/// One writer thread owns the connection and runs every call (reads too), in batches: it takes
/// the first queued job and whatever else is already waiting (up to [`MAX_BATCH`]), runs them in
/// one `BEGIN IMMEDIATE` transaction, each inside its own savepoint, and commits once. With
/// `synchronous = FULL` a commit waits for an fsync, so concurrent requests share one fsync
/// instead of queueing for one each. Durability is unchanged: no job's result is sent before
/// the commit that makes its writes durable, and if that commit fails every job in the batch gets
/// `Unavailable` (none was acknowledged).
#[derive(Clone)]
pub struct Db {
    path: Arc<std::path::PathBuf>,
    writer: Arc<Writer>,
    /// Signalled when a step is published, so an idle local worker wakes at once.
    published: Arc<Notify>,
}

/// The most jobs committed together: enough to amortize the fsync, small enough that one batch
/// does not hold the write lock (and the first caller's reply) for long.
const MAX_BATCH: usize = 64;

/// A job runs on the writer thread, given the connection (or, when the batch could not start,
/// the reason), and hands back whether it succeeded and how to deliver its result once the batch's
/// fate is known.
type Job = Box<dyn FnOnce(Result<&mut Connection, StoreError>) -> Done + Send>;

struct Done {
    ok: bool,
    /// Sends the job's result, or the batch's commit error instead.
    reply: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

/// The sending side of the job channel; dropping the last one ends the writer thread.
struct Writer {
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel lets the thread finish what is queued and close the connection;
        // waiting for it means a reopen of the same file never races the close.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

impl Db {
    /// Opens (creating if needed) the database file, brings its schema up to date and starts the
    /// writer thread.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let mut conn = Connection::open(path.as_ref()).map_err(unavailable)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(unavailable)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(unavailable)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!("SQLite refused WAL mode (got `{mode}`)")));
        }
        // FULL: a commit that returned is on disk, even across a power cut (NORMAL would allow
        // losing the last transactions in WAL mode), so an acknowledged write is never lost.
        // secure_delete: deleted and overwritten content is zeroed on disk, so an erasure leaves no
        // personal data in free pages.
        // temp_store = MEMORY: the sub-journal of each store call's savepoint stays in memory
        // (a batch's is at most a few MB); past 64 KiB SQLite spilled it to a temporary file, a
        // write per batch that intake paid for nothing (it is not needed after a crash).
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; \
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(unavailable)?;
        migrate(&mut conn)?;
        // SQLite's automatic checkpoint runs inside the COMMIT that fills the log, so the batch of
        // that commit waited for it (copying pages into the file and syncing it). The hook takes
        // its place (one hook per connection) and only counts; the writer checkpoints once the
        // batch is answered (`run_writer`).
        let wal_frames = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&wal_frames);
        conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames: std::ffi::c_int| {
            counted.store(u32::try_from(frames).unwrap_or(0), Ordering::Relaxed);
            Ok(())
        }))
        .map_err(unavailable)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(conn, queue, &wal_frames))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the store thread: {e}")))?;
        Ok(Self {
            path: Arc::new(path.as_ref().to_path_buf()),
            writer: Arc::new(Writer { jobs: Some(jobs), thread: Some(thread) }),
            published: Arc::default(),
        })
    }

    /// Folds the write-ahead log into the database file and empties it, so that page versions
    /// written before (say, before an erasure) are gone from disk. Runs on a connection of its
    /// own: the writer's calls always run inside a transaction, where no checkpoint can.
    pub(crate) async fn checkpoint(&self) -> StoreResult<()> {
        let path = Arc::clone(&self.path);
        tokio::task::spawn_blocking(move || {
            let conn = Connection::open(path.as_path()).map_err(unavailable)?;
            conn.busy_timeout(Duration::from_secs(5)).map_err(unavailable)?;
            let (busy, _, _): (i64, i64, i64) = conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(unavailable)?;
            if busy != 0 {
                return Err(StoreError::Unavailable("the write-ahead log could not be checkpointed; retry".into()));
            }
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("checkpoint: {e}")))?
    }

    /// The database file.
    pub(crate) fn path(&self) -> Arc<std::path::PathBuf> {
        Arc::clone(&self.path)
    }

    /// Signalled (a stored permit if nobody waits, so a wake-up is never lost) each time a
    /// message is published on one of this database's queues.
    pub fn published(&self) -> Arc<Notify> {
        Arc::clone(&self.published)
    }

    /// Runs `f` with the connection on the writer thread, inside a savepoint of the current batch,
    /// and returns its result once the batch is committed.
    pub(crate) async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                // A panic unwinds through `f`'s own savepoints (rolled back on drop); the writer
                // then rolls back this job's savepoint, so the rest of the batch is untouched.
                Ok(conn) => panic::catch_unwind(AssertUnwindSafe(|| f(conn)))
                    .unwrap_or_else(|_| Err(StoreError::Unavailable("store call panicked".into()))),
                Err(e) => Err(e),
            };
            Done {
                ok: result.is_ok(),
                reply: Box::new(move |committed| {
                    // The caller may have gone away (a cancelled request); nothing to do then.
                    let _ = tx.send(committed.and(result));
                }),
            }
        });
        let stopped = || StoreError::Unavailable("the store writer has stopped".into());
        self.writer.jobs.as_ref().ok_or_else(stopped)?.send(job).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

/// The database seen by an adapter whose tables live outside the migrations: its schema
/// (`CREATE ... IF NOT EXISTS`, so a race is harmless) is run before the first call.
#[derive(Clone)]
pub(crate) struct WithSchema {
    db: Db,
    schema: &'static str,
    ready: Arc<AtomicBool>,
}

impl WithSchema {
    pub(crate) fn new(db: Db, schema: &'static str) -> Self {
        Self { db, schema, ready: Arc::new(AtomicBool::new(false)) }
    }

    /// [`Db::call`], once the tables exist.
    pub(crate) async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        if !self.ready.load(Ordering::Acquire) {
            // A call of its own: inside `f`'s call, a failing `f` would roll the tables back
            // with its savepoint. Marked ready only once committed.
            let schema = self.schema;
            self.db.call(move |c| c.execute_batch(schema).map_err(unavailable)).await?;
            self.ready.store(true, Ordering::Release);
        }
        self.db.call(f).await
    }
}

/// Frames in the write-ahead log past which the writer folds it into the database file (SQLite's
/// automatic checkpoint has the same threshold). After a complete checkpoint the next commit
/// writes the log from its start again, so the file keeps its size.
const CHECKPOINT_FRAMES: u32 = 1000;

/// The writer thread: batches until every `Db` clone is gone. `wal_frames` is the log's length
/// after the last commit (the connection's WAL hook sets it).
fn run_writer(mut conn: Connection, queue: Receiver<Job>, wal_frames: &AtomicU32) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, batch);
        // The batch is answered: the checkpoint delays the next batch, not this one's replies.
        if wal_frames.load(Ordering::Relaxed) >= CHECKPOINT_FRAMES {
            wal_frames.store(0, Ordering::Relaxed);
            checkpoint_passive(&conn);
        }
    }
}

/// Copies the log's pages into the database file (PASSIVE: never waits for a reader; what a
/// reader still needs is copied at a later checkpoint).
fn checkpoint_passive(conn: &Connection) {
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)));
    match done {
        Ok((log, copied)) if copied < log => {
            tracing::debug!(log, copied, "checkpoint: a reader holds part of the write-ahead log; copied the rest")
        }
        Ok(_) => {}
        // Committed data is safe in the log either way; the next batch past the mark tries again.
        Err(e) => tracing::warn!(error = %e, "checkpoint of the write-ahead log failed"),
    }
}

/// Runs a batch in one transaction, each job in its own savepoint, then commits once and only
/// then replies to every job.
fn run_batch(conn: &mut Connection, batch: Vec<Job>) {
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        let message = format!("sqlite: {e}");
        for job in batch {
            (job(Err(StoreError::Unavailable(message.clone()))).reply)(Ok(()));
        }
        return;
    }
    let mut done = Vec::with_capacity(batch.len());
    // Set when the batch transaction can no longer be committed as a whole.
    let mut broken: Option<String> = None;
    for job in batch {
        if let Some(why) = &broken {
            done.push(job(Err(StoreError::Unavailable(why.clone()))));
            continue;
        }
        if let Err(e) = control(conn, "SAVEPOINT sportello_job") {
            broken = Some(format!("sqlite: {e}"));
            done.push(job(Err(StoreError::Unavailable(format!("sqlite: {e}")))));
            continue;
        }
        let outcome = job(Ok(conn));
        if conn.is_autocommit() {
            // Some errors (disk full, I/O) make SQLite roll back the whole transaction, taking
            // the earlier jobs' writes with it.
            broken = Some("the batch transaction was rolled back".into());
        } else {
            let end = if outcome.ok {
                control(conn, "RELEASE sportello_job")
            } else {
                control(conn, "ROLLBACK TO sportello_job").and_then(|()| control(conn, "RELEASE sportello_job"))
            };
            if let Err(e) = end {
                broken = Some(format!("sqlite: {e}"));
            }
        }
        done.push(outcome);
    }
    let committed = match broken {
        None => control(conn, "COMMIT").map_err(|e| format!("sqlite: {e}")),
        Some(why) => Err(why),
    };
    if committed.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for outcome in done {
        (outcome.reply)(
            committed
                .clone()
                .map_err(|why| StoreError::Unavailable(format!("the batch was not committed ({why}); retry"))),
        );
    }
}

/// One of the batch's own statements (`BEGIN`, `SAVEPOINT`, `RELEASE`, `COMMIT`), through the
/// statement cache: they run for every call, and compiling them each time was a share of the
/// writer's time comparable to an intake's inserts.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(unavailable)?
        .try_into()
        .map_err(|_| StoreError::Corrupt("negative schema version".into()))?;
    if current > MIGRATIONS.len() {
        return Err(StoreError::Unavailable(format!(
            "the database has schema version {current}, newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction().map_err(unavailable)?;
        tx.execute_batch(sql).map_err(unavailable)?;
        backfill(i + 1, &tx)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
    }
    Ok(())
}

/// Room for every statement the store's calls run (intake, the step worker, the reports' fold),
/// so that none is pushed out and compiled again (rusqlite keeps 16 by default).
const STATEMENT_CACHE: usize = 128;

#[cfg(test)]
mod tests {
    use super::*;

    async fn open_with_table(path: &Path) -> Db {
        let db = Db::open(path).unwrap();
        db.call(|c| {
            c.execute_batch("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
                .map_err(unavailable)
        })
        .await
        .unwrap();
        db
    }

    /// Concurrent calls share batches; a call that fails half-way (a constraint violation after
    /// a good insert) or panics leaves only its own writes out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_call_in_a_batch_leaves_the_others_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = open_with_table(&path).await;
        // Holds the writer for a moment so the calls below queue up and run in shared batches.
        let blocker = db.clone();
        let blocker = tokio::spawn(async move {
            blocker
                .call(|_| {
                    std::thread::sleep(Duration::from_millis(200));
                    Ok(())
                })
                .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut calls = Vec::new();
        for k in 0..200_i64 {
            let db = db.clone();
            calls.push(tokio::spawn(async move {
                db.call(move |c| {
                    let insert = "INSERT INTO t (k, v) VALUES (?1, ?2)";
                    match k % 5 {
                        // Its second insert clashes with its first value: the whole call must go.
                        1 => {
                            let sp = c.savepoint().map_err(unavailable)?;
                            sp.execute(insert, rusqlite::params![k, format!("v{k}")]).map_err(unavailable)?;
                            sp.execute(insert, rusqlite::params![k + 10_000, format!("v{k}")]).map_err(unavailable)?;
                            sp.commit().map_err(unavailable)?;
                        }
                        // Write outside any savepoint of their own, then fail or panic: only the
                        // writer's savepoint around the call can take the row back.
                        2 => {
                            c.execute(insert, rusqlite::params![k, format!("v{k}")]).map_err(unavailable)?;
                            return Err(StoreError::Invalid(format!("call {k} refused")));
                        }
                        3 => {
                            c.execute(insert, rusqlite::params![k, format!("v{k}")]).map_err(unavailable)?;
                            panic!("call {k} panics after writing");
                        }
                        _ => {
                            c.execute(insert, rusqlite::params![k, format!("v{k}")]).map_err(unavailable)?;
                        }
                    }
                    Ok(k)
                })
                .await
            }));
        }
        for (k, call) in (0_i64..).zip(calls) {
            let result = call.await.unwrap();
            match k % 5 {
                1..=3 => assert!(result.is_err(), "call {k} should fail: {result:?}"),
                _ => assert_eq!(result.unwrap(), k),
            }
        }
        blocker.await.unwrap().unwrap();
        drop(db);

        // Reopened: exactly the successful calls' rows are on disk.
        let db = open_with_table(&path).await;
        let keys: Vec<i64> = db
            .call(|c| {
                let mut stmt = c.prepare("SELECT k FROM t ORDER BY k").map_err(unavailable)?;
                let rows = stmt.query_map([], |r| r.get(0)).map_err(unavailable)?;
                rows.collect::<Result<_, _>>().map_err(unavailable)
            })
            .await
            .unwrap();
        let expected: Vec<i64> = (0..200).filter(|k| k % 5 == 0 || k % 5 == 4).collect();
        assert_eq!(keys, expected);
    }

    /// The writer folds the log in itself (SQLite's automatic checkpoint is replaced by the WAL
    /// hook): however many commits, the log stays near the mark instead of growing with them.
    #[tokio::test]
    async fn the_log_is_checkpointed_once_past_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = open_with_table(&path).await;
        // Each call writes a 10 KB value, in the row and in its index: several pages a call, and
        // several times the mark in all.
        let calls = i64::from(CHECKPOINT_FRAMES / 2);
        for k in 0..calls {
            db.call(move |c| {
                c.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", rusqlite::params![k, format!("{k:0>10000}")])
                    .map_err(unavailable)
            })
            .await
            .unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("t.db-wal")).unwrap().len();
        // A frame is a 4 KiB page and its 24-byte header; one batch's worth above the mark at most.
        let most = u64::from(CHECKPOINT_FRAMES + 64) * (4096 + 24);
        assert!(wal <= most, "the log grew to {wal} bytes (at most {most} expected): no checkpoint ran");
        let stored: i64 =
            db.call(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).map_err(unavailable)).await.unwrap();
        assert_eq!(stored, calls);
    }

    #[tokio::test]
    async fn a_call_after_a_panic_still_works() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_with_table(&dir.path().join("t.db")).await;
        let panicked = db.call(|_| -> StoreResult<()> { panic!("boom") }).await;
        assert!(matches!(panicked, Err(StoreError::Unavailable(_))), "{panicked:?}");
        let n: i64 =
            db.call(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).map_err(unavailable)).await.unwrap();
        assert_eq!(n, 0);
    }
}
