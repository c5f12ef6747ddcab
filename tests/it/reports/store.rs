//! The report store's contract, on every adapter set: each case runs on the embedded store
//! (SQLite folding its own event table) and, with `--features aws`, on DynamoDB as served by
//! moto, fed by the table's stream through the reports function's handler. The same history,
//! the same figures, equal to a recomputation from the tickets and their events.

use crate::support::app::{TestApp, escalation_settings, operator};
use crate::support::backend::Backend;
use sportello::app::AppBuilder;
use sportello::domain::{Requester, TicketId, TicketReference, TicketType};
use sportello::engine::{Engine, EscalationSettings, NewChatSession, NewContact};
use sportello::ports::EscalationRoute;
use sportello::reports::report::{DrillDown, Figure};
use sportello::reports::{Dim, Period, Scope, verify};
use std::sync::{Arc, Mutex};

/// Wednesday 2 December 2026, 10:00 in Rome.
const NOW: &str = "2026-12-02T10:00:00+01:00";

struct Desk {
    engine: Engine,
    escalation: EscalationSettings,
    clock: Arc<Mutex<jiff::Timestamp>>,
    /// Every ticket opened, by id.
    tickets: Mutex<Vec<TicketId>>,
}

impl Desk {
    async fn on(b: &dyn Backend) -> Desk {
        let clock = Arc::new(Mutex::new(NOW.parse::<jiff::Timestamp>().unwrap()));
        let read = clock.clone();
        let engine = AppBuilder::new(crate::support::default_rules(), b.store())
            .clock(Arc::new(move || *read.lock().unwrap()))
            .reports(b.reports())
            .engine();
        // The specialists' queue: one of the backend's own.
        let EscalationRoute::Queue { queue } = b.escalation_queue().await else { unreachable!() };
        let mut escalation = escalation_settings();
        escalation.queue_urls.insert("sportello-escalations-pagopa-specialists".into(), queue);
        Desk { engine, escalation, clock, tickets: Mutex::new(Vec::new()) }
    }

    fn set(&self, at: &str) {
        *self.clock.lock().unwrap() = at.parse().unwrap();
    }

    async fn open(&self, channel: &str, category: &str) -> TicketId {
        let key = uuid::Uuid::new_v4().to_string();
        let requester = Requester { email: Some("mario.rossi@example.it".into()), ..Requester::default() };
        let created = self.engine.open(TestApp::contact(channel, category, &key, requester)).await.unwrap();
        self.engine.triage(&created.ticket.id).await.unwrap();
        self.tickets.lock().unwrap().push(created.ticket.id.clone());
        created.ticket.id
    }

    async fn work(&self, id: &TicketId, ticket_type: TicketType) {
        let op = operator("op-1");
        self.engine.take_in_charge(id, &op).await.unwrap();
        self.engine.classify(id, &op, ticket_type).await.unwrap();
        self.engine.answer_and_resolve(id, &op, "Ecco come ottenere il rimborso.").await.unwrap();
    }

    async fn chat(&self, session: &str, solved: bool) {
        let requester = Requester::default();
        let lang = Some("it".into());
        let started = self
            .engine
            .chat_start(NewChatSession { session_id: session.into(), lang, category: None, requester })
            .await
            .unwrap();
        let reference = started.ticket.reference.to_string();
        self.tickets.lock().unwrap().push(started.ticket.id.clone());
        self.engine.chat_user_message(&reference, &started.token, "Come pago un avviso pagoPA?").await.unwrap();
        if solved {
            self.engine.chat_resolved(&reference, &started.token).await.unwrap();
        } else {
            self.engine.chat_request_operator(&reference, &started.token).await.unwrap();
        }
    }

    /// Two days of work: answers on the API, the bot's chats (one solved, one handed
    /// off), an escalation and its notice, a requester's reminder, a privacy request left open
    /// (its GDPR clock runs), a question left waiting.
    async fn history(&self) -> Vec<TicketId> {
        let mut answered = Vec::new();
        // Answered on the API: an answer by mail needs the rulebook's sender verified by SES.
        for channel in ["api", "api", "api"] {
            let id = self.open(channel, "basic_info").await;
            self.work(&id, TicketType::Q).await;
            answered.push(id);
        }
        self.open("email", "basic_info").await;
        self.chat("session-contract-0001", true).await;
        self.chat("session-contract-0002", false).await;
        self.engine.run_pending_steps(50).await.unwrap();
        let escalated = self.open("email", "specialist_support").await;
        let op = operator("op-1");
        self.engine.take_in_charge(&escalated, &op).await.unwrap();
        self.engine.classify(&escalated, &op, TicketType::A).await.unwrap();
        let sent = self
            .engine
            .escalate(&escalated, &op, "pagopa_specialists", "Verificare il doppio addebito", &self.escalation)
            .await
            .unwrap();
        let escalation = sent.ticket.escalations.last().unwrap().escalation_id.clone();
        self.open("email", "privacy_issue").await;

        self.set("2026-12-03T11:30:00+01:00");
        let reference = sent.ticket.reference.clone();
        self.engine
            .receive_resolution_notice("pagopa_specialists", &reference, &escalation, "Rimborso disposto.", None)
            .await
            .unwrap();
        let answered_ref: TicketReference = self.engine.ticket(&answered[0]).await.unwrap().reference;
        let chase = NewContact {
            channel: "email".into(),
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            category: Some("reminder".into()),
            message: Some("Vi ho già scritto.".into()),
            related: Some(answered_ref),
            ..NewContact::default()
        };
        let created = self.engine.open(chase).await.unwrap();
        self.engine.triage(&created.ticket.id).await.unwrap();
        self.tickets.lock().unwrap().push(created.ticket.id.clone());
        self.engine.take_in_charge(&created.ticket.id, &op).await.unwrap();
        self.engine.classify(&created.ticket.id, &op, TicketType::Q).await.unwrap();
        self.engine.reminder_lookup(&created.ticket.id, &op).await.unwrap();
        self.engine.run_pending_steps(50).await.unwrap();
        answered
    }

    /// Every ticket with its events, read through the ports: what the recomputation reads.
    async fn recomputed(&self) -> verify::Tally {
        let ids = self.tickets.lock().unwrap().clone();
        let mut history = Vec::new();
        for id in ids {
            let ticket = self.engine.ticket(&id).await.unwrap();
            let events = self.engine.ports.events.list(&id).await.unwrap();
            history.push((ticket, events));
        }
        verify::recompute(&self.engine.rules, &history, jiff::civil::date(2026, 12, 1), jiff::civil::date(2026, 12, 31))
    }

    async fn month(&self, by: &[Dim]) -> sportello::reports::report::Overview {
        let period = Period::parse(Some("month"), Some("2026-12-02"), None, None, self.engine.report_today()).unwrap();
        self.engine.report_overview(period, by, &Scope::all()).await.unwrap()
    }
}

async fn figures_equal_a_recomputation_from_the_events(b: &dyn Backend) {
    let desk = Desk::on(b).await;
    let answered = desk.history().await;
    assert!(b.feed_reports().await > 20, "the events were handed over");

    let report = desk.month(&[Dim::Channel, Dim::Type]).await;
    let differences = verify::differences(&desk.recomputed().await, &verify::tally_overview(&report));
    assert!(differences.is_empty(), "{differences:#?}");
    let total = &report.total;
    assert_eq!(total.contacts.received, 9, "{total:#?}");
    assert_eq!((total.tickets.auto_resolved, total.bot.conversations, total.bot.handed_off), (1, 2, 1));
    assert_eq!((total.escalations.sent, total.escalations.notices, total.reminders.received), (1, 1, 1));
    assert_eq!(total.tickets.resolved, 3);

    // What is open now, and the privacy request's clock.
    let backlog = desk.engine.report_backlog(&[Dim::Team], &Scope::all()).await.unwrap();
    assert!(backlog.total.open >= 3, "{backlog:#?}");
    assert!(backlog.rows.iter().any(|r| r.group[&Dim::Team] == "privacy"), "{backlog:#?}");
    let gdpr = desk.engine.report_gdpr(&Scope::all()).await.unwrap();
    assert_eq!(gdpr.data_subject_requests.len() + gdpr.breach_notifications.len(), 1, "{gdpr:#?}");

    // The tickets behind "resolved" on the first day: the three answered, by reference.
    let drill = DrillDown {
        figure: Figure::parse("resolved").unwrap(),
        from_day: Period::parse(Some("day"), Some("2026-12-02"), None, None, desk.engine.report_today())
            .unwrap()
            .days()
            .0,
        to_day: Period::parse(Some("day"), Some("2026-12-02"), None, None, desk.engine.report_today())
            .unwrap()
            .days()
            .1,
        filter: Vec::new(),
        scope: Scope::all(),
    };
    let page = desk.engine.report_tickets(&drill, None, 2).await.unwrap();
    let next = page.next.clone().expect("a second page");
    let rest = desk.engine.report_tickets(&drill, Some(&next), 2).await.unwrap();
    let mut listed: Vec<String> = page.tickets.iter().chain(&rest.tickets).map(|t| t.ticket_id.clone()).collect();
    listed.sort();
    let mut expected: Vec<String> = answered.iter().map(|id| id.0.clone()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    assert!(rest.next.is_none());
}

async fn redelivered_events_change_nothing(b: &dyn Backend) {
    let desk = Desk::on(b).await;
    desk.history().await;
    b.feed_reports().await;
    let once = desk.month(&[Dim::Channel, Dim::Type, Dim::Team]).await;
    assert_eq!(b.feed_reports().await, 0, "nothing new was written");
    let again = b.redeliver_reports().await;
    assert!(again > 20, "every event delivered again: {again}");
    assert_eq!(desk.month(&[Dim::Channel, Dim::Type, Dim::Team]).await, once);
    let first = desk.tickets.lock().unwrap()[0].clone();
    let facts = b.reports().facts(&first).await.unwrap().expect("the facts of a ticket");
    assert!(!facts.folded.to.is_empty(), "{facts:?}");
    assert!(facts.applied_before.is_empty(), "no list of every event id: {facts:?}");
}

/// A store folded before the facts kept only the highest event folded (they listed every event
/// id): its events delivered again still count once, and its next events count.
async fn facts_that_list_every_event_still_fold_each_event_once(b: &dyn Backend) {
    let desk = Desk::on(b).await;
    let id = desk.open("api", "basic_info").await;
    let op = operator("op-1");
    desk.engine.take_in_charge(&id, &op).await.unwrap();
    b.feed_reports().await;
    b.list_folded_events(&id).await;
    let listed = b.reports().facts(&id).await.unwrap().expect("the facts of the ticket");
    assert!(listed.applied_before.len() >= 3, "read in the listed form: {listed:?}");
    let once = desk.month(&[Dim::Channel, Dim::Type]).await;
    assert!(b.redeliver_reports().await >= 3);
    assert_eq!(desk.month(&[Dim::Channel, Dim::Type]).await, once, "nothing counted twice");

    desk.engine.classify(&id, &op, TicketType::Q).await.unwrap();
    desk.engine.answer_and_resolve(&id, &op, "Fatto.").await.unwrap();
    b.feed_reports().await;
    b.redeliver_reports().await;
    let report = desk.month(&[Dim::Channel, Dim::Type]).await;
    assert_eq!((report.total.contacts.received, report.total.tickets.resolved), (1, 1), "{:#?}", report.total);
    let differences = verify::differences(&desk.recomputed().await, &verify::tally_overview(&report));
    assert!(differences.is_empty(), "{differences:#?}");
    let facts = b.reports().facts(&id).await.unwrap().expect("the facts of the ticket");
    assert!(!facts.folded.to.is_empty(), "the new events in the new form: {facts:?}");
}

async fn a_ticket_that_moves_moves_its_counts(b: &dyn Backend) {
    let desk = Desk::on(b).await;
    let id = desk.open("api", "basic_info").await;
    let op = operator("op-1");
    desk.engine.take_in_charge(&id, &op).await.unwrap();
    b.feed_reports().await;
    let categories = |backlog: &sportello::reports::report::Backlog| -> Vec<String> {
        backlog.rows.iter().map(|r| r.group[&Dim::Category].clone()).collect()
    };
    let backlog = desk.engine.report_backlog(&[Dim::Category], &Scope::all()).await.unwrap();
    assert_eq!((categories(&backlog), backlog.total.open), (vec!["basic_info".to_string()], 1));

    // Moved to another category: its open count moves with it.
    desk.engine.categorize(&id, &op, "advanced_info").await.unwrap();
    b.feed_reports().await;
    let backlog = desk.engine.report_backlog(&[Dim::Category], &Scope::all()).await.unwrap();
    assert_eq!((categories(&backlog), backlog.total.open), (vec!["advanced_info".to_string()], 1), "{backlog:#?}");

    // Resolved: the backlog empties (no empty cell is left to read), the resolution counts once.
    desk.engine.classify(&id, &op, TicketType::Q).await.unwrap();
    desk.engine.answer_and_resolve(&id, &op, "Fatto.").await.unwrap();
    b.feed_reports().await;
    let backlog = desk.engine.report_backlog(&[], &Scope::all()).await.unwrap();
    assert_eq!(backlog.total.open, 0, "{backlog:#?}");
    assert!(b.reports().open_cells().await.unwrap().is_empty(), "no empty open cell is left to read");
    let report = desk.month(&[Dim::Category, Dim::Type]).await;
    let rows: Vec<(&str, &str, i64)> = report
        .rows
        .iter()
        .map(|r| (r.group[&Dim::Category].as_str(), r.group[&Dim::Type].as_str(), r.figures.tickets.resolved))
        .collect();
    assert_eq!(rows, [("advanced_info", "Q", 1)]);
}

macro_rules! contract {
    ($set:ident, $backend:expr) => {
        mod $set {
            contract!(@cases $backend, [
                figures_equal_a_recomputation_from_the_events,
                redelivered_events_change_nothing,
                a_ticket_that_moves_moves_its_counts,
                facts_that_list_every_event_still_fold_each_event_once,
            ]);
        }
    };
    (@cases $backend:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let backend = $backend.await;
                super::$case(&backend).await;
            }
        )*
    };
}

contract!(embedded, crate::support::backend::embedded::EmbeddedBackend::new());
#[cfg(feature = "aws")]
contract!(aws, crate::support::backend::aws::MotoBackend::new());
