//! The clock under a backlog, on the embedded store and (with `--features aws`) on DynamoDB as
//! served by moto: every open ticket is looked at however many wait, and the purge runs even
//! when the deadlines use up the tick's time.

use crate::support::backend::Backend;
use jiff::{SignedDuration, Timestamp};
use sportello::app::AppBuilder;
use sportello::domain::{Actor, ChannelKind, Deadline, Ticket, TicketState};
use sportello::engine::{CLOCK_PAGE, Engine, EscalationSettings};
use sportello::rules::Rules;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const NOW: i64 = 1_800_000_000; // 2027-01-15
/// More than the 1,000 tickets per team and state the clock once read, on the embedded store.
/// Moto serves one request at a time (about 140 ms a ticket stored), so there the backlog is
/// two pages' worth: the same paging, in a test that takes seconds, not minutes.
const EMBEDDED_BACKLOG: usize = 1_030;
const MOTO_BACKLOG: usize = CLOCK_PAGE + 30;
/// The newest of them, already past their first-response deadline.
const OVERDUE: usize = 4;
const TEAM: &str = "first_level";
/// The paging is under test here, not the time: a tick this long is never cut short by a loaded
/// machine (moto slows down with the table's stream on), so every ticket is read in one tick.
const ROOMY: Duration = Duration::from_secs(600);

fn now() -> Timestamp {
    Timestamp::from_second(NOW).unwrap()
}

async fn engine(b: &dyn Backend) -> Engine {
    let mut store = b.store();
    store.steps = b.queue(3).await;
    let rules = Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).unwrap();
    AppBuilder::new(Arc::new(rules), store).clock(Arc::new(now)).engine()
}

fn settings() -> EscalationSettings {
    EscalationSettings { mail_from: "sportello@sportello.example".into(), ..EscalationSettings::default() }
}

/// A new ticket of the team, `age` seconds old, whose first response is due at `due`.
fn waiting(age: i64, due: Timestamp) -> Ticket {
    let created = now() - SignedDuration::from_secs(age);
    let mut t = Ticket::new("email", ChannelKind::Email, TEAM, created);
    t.triaged_at = Some(created);
    t.deadlines.push(Deadline { kind: "first_response".into(), due, warned_at: None, breached_at: None });
    t
}

/// Stores the tickets, 16 at a time.
async fn store_all(b: &dyn Backend, tickets: Vec<Ticket>) {
    let store = b.store().tickets;
    let mut running = tokio::task::JoinSet::new();
    for t in tickets {
        if running.len() >= 16 {
            running.join_next().await.unwrap().unwrap();
        }
        let store = store.clone();
        running.spawn(async move {
            store.create(&format!("backlog-{}", t.id), &t, &Actor::system()).await.unwrap();
        });
    }
    while let Some(done) = running.join_next().await {
        done.unwrap();
    }
}

async fn newest_tickets_of_a_backlog_are_breached(b: &dyn Backend, backlog_size: usize) {
    // The oldest are due in a month; the newest few were due a minute ago (an urgent deadline
    // set by triage on a recent contact, behind a backlog of slower ones).
    let later = now() + SignedDuration::from_hours(30 * 24);
    let past = now() - SignedDuration::from_mins(1);
    let backlog: Vec<Ticket> = (0..backlog_size)
        .map(|i| {
            let age = 10_000 - i64::try_from(i).unwrap();
            waiting(age, if i >= backlog_size - OVERDUE { past } else { later })
        })
        .collect();
    let overdue: Vec<_> = backlog[backlog_size - OVERDUE..].iter().map(|t| t.id.clone()).collect();
    store_all(b, backlog).await;

    let engine = engine(b).await;
    let report = engine.clock_tick_within(&settings(), ROOMY).await.unwrap();
    assert_eq!(report.scanned, backlog_size, "every waiting ticket is looked at: {report:?}");
    assert_eq!(report.breached, OVERDUE, "{report:?}");
    assert_eq!((report.failed, report.unfinished), (0, 0), "{report:?}");
    for id in &overdue {
        let t = b.store().tickets.get(id).await.unwrap();
        assert!(t.deadlines[0].breached_at.is_some(), "ticket {id} is stamped breached");
    }
    let again = engine.clock_tick_within(&settings(), ROOMY).await.unwrap();
    assert_eq!((again.scanned, again.breached), (backlog_size, 0), "stamped once: {again:?}");
}

async fn the_purge_runs_when_the_deadlines_use_up_the_time(b: &dyn Backend, _: usize) {
    let later = now() + SignedDuration::from_hours(30 * 24);
    let waiting_count = CLOCK_PAGE + 10;
    let backlog: Vec<Ticket> = (0..waiting_count).map(|i| waiting(5_000 - i64::try_from(i).unwrap(), later)).collect();
    store_all(b, backlog).await;
    let long_ago = now() - SignedDuration::from_hours(800 * 24);
    let mut closed = Ticket::new("email", ChannelKind::Email, TEAM, long_ago);
    closed.move_to(TicketState::AutoClosed, long_ago).unwrap();
    b.store().tickets.create("backlog-closed", &closed, &Actor::system()).await.unwrap();

    let engine = engine(b).await;
    let report = engine.clock_tick_within(&settings(), Duration::ZERO).await.unwrap();
    assert!(report.unfinished >= 1, "the budget cut the reading short: {report:?}");
    assert!(report.scanned < waiting_count, "{report:?}");
    assert_eq!(report.purged, 1, "the purge ran all the same: {report:?}");
}

macro_rules! backlog_cases {
    ($set:ident, $backend:expr, $size:expr, [$($case:ident),* $(,)?]) => {
        mod $set {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = $backend.await;
                    super::$case(&backend, $size).await;
                }
            )*
        }
    };
}

backlog_cases!(
    embedded,
    crate::support::backend::embedded::EmbeddedBackend::new(),
    super::EMBEDDED_BACKLOG,
    [newest_tickets_of_a_backlog_are_breached, the_purge_runs_when_the_deadlines_use_up_the_time]
);
#[cfg(feature = "aws")]
backlog_cases!(
    aws,
    crate::support::backend::aws::MotoBackend::new(),
    super::MOTO_BACKLOG,
    [newest_tickets_of_a_backlog_are_breached, the_purge_runs_when_the_deadlines_use_up_the_time]
);

/// A ticket of the team `age` seconds old with a GDPR deadline (calendar time) `due_in` seconds
/// from now: warned by the clock once 80 % of its time is used.
fn gdpr(age: i64, due_in: i64) -> Ticket {
    let mut t = waiting(age, now() + SignedDuration::from_secs(due_in));
    t.deadlines[0].kind = "gdpr_access".into();
    t
}

/// A tick that reads one page: the next one reads on from where it stopped, so the last tickets
/// of a backlog larger than a tick's reading (the queue's order: nearest deadline first) are
/// warned a tick later, not never.
async fn a_tick_reads_on_where_the_last_one_stopped(b: &dyn Backend) {
    const HOUR: i64 = 3600;
    // A page of tickets due in an hour, opened a minute ago (2 % of their time used); then six
    // due in two hours, as fresh; then the queue's last four, due in three hours but opened a
    // day ago (89 % used): owed a warning.
    let mut backlog: Vec<Ticket> = (0..CLOCK_PAGE).map(|_| gdpr(60, HOUR)).collect();
    backlog.extend((0..6).map(|_| gdpr(60, 2 * HOUR)));
    let owed: Vec<Ticket> = (0..OVERDUE).map(|_| gdpr(24 * HOUR, 3 * HOUR)).collect();
    let owed_ids: Vec<_> = owed.iter().map(|t| t.id.clone()).collect();
    backlog.extend(owed);
    store_all(b, backlog).await;
    let engine = engine(b).await;

    // No time: one page of the queue, its first.
    let first = engine.clock_tick_within(&settings(), Duration::ZERO).await.unwrap();
    assert_eq!((first.scanned, first.warned), (CLOCK_PAGE, 0), "{first:?}");
    assert!(first.unfinished >= 1, "{first:?}");
    let kept = b.reopen().await.tickets.clock_positions().await.unwrap();
    assert_eq!(kept.len(), 1, "one position, the team's: {kept:?}");
    assert!(kept.contains_key(TEAM), "{kept:?}");
    // The next tick, no time either: the rest, with the ones owed a warning.
    let second = engine.clock_tick_within(&settings(), Duration::ZERO).await.unwrap();
    assert_eq!((second.scanned, second.warned), (6 + OVERDUE, OVERDUE), "{second:?}");
    for id in &owed_ids {
        let t = b.store().tickets.get(id).await.unwrap();
        assert!(t.deadlines[0].warned_at.is_some(), "ticket {id} is stamped warned");
    }
    // Read to its end: the next tick starts again from the first, and new clients remember.
    let reopened = b.reopen().await;
    assert!(reopened.tickets.clock_positions().await.unwrap().is_empty());
    let third = engine.clock_tick_within(&settings(), Duration::ZERO).await.unwrap();
    assert_eq!((third.scanned, third.warned), (CLOCK_PAGE, 0), "{third:?}");
    let kept = b.reopen().await.tickets.clock_positions().await.unwrap();
    assert!(kept.contains_key(TEAM), "{kept:?}");
}

mod position {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn embedded() {
        let backend = crate::support::backend::embedded::EmbeddedBackend::new().await;
        super::a_tick_reads_on_where_the_last_one_stopped(&backend).await;
    }

    #[cfg(feature = "aws")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn aws() {
        let backend = crate::support::backend::aws::MotoBackend::new().await;
        super::a_tick_reads_on_where_the_last_one_stopped(&backend).await;
    }
}
