//! The clock step on the embedded store with a movable clock: SLA warnings in business time,
//! breaches, GDPR clocks in calendar time, team notifications without personal data, escalation
//! reminders, and ticks that repeat (or overlap) without doing anything twice.

mod backlog;
#[cfg(feature = "aws")]
mod on_moto;

use crate::support::app::TestApp;
use crate::support::faulty::FaultyTickets;
use sportello::adapters::embedded::{OutboxMailer, SqliteQueue};
use sportello::domain::{Actor, ActorRole, EventKind, Requester, Ticket, TicketId, TicketState, TicketType};
use sportello::engine::reply_token::ReplyTokens;
use sportello::engine::{ClockReport, NewContact};
use sportello::ports::{EscalationMessage, MessageKind, StepQueue, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const REPLY_KEY: [u8; 32] = [7; 32];

const EMAIL: &str = "mario.rossi@example.it";
const NAME: &str = "Mario Rossi";
const FISCAL_CODE: &str = "RSSMRA85T10A562S";
const SUBJECT: &str = "Avviso pagato due volte";
const BODY: &str = "Ho pagato due volte lo stesso avviso pagoPA, come ottengo il rimborso?";
const SPECIALISTS_QUEUE: &str = "sportello-escalations-pagopa-specialists";

struct World {
    app: TestApp,
    /// How many of the next ticket writes fail, as if the process died before them.
    fail_updates: Arc<AtomicUsize>,
}

impl std::ops::Deref for World {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl World {
    fn at(when: &str) -> World {
        let fail_updates = Arc::new(AtomicUsize::new(0));
        let failing = fail_updates.clone();
        let tickets = FaultyTickets::new(move |_| {
            let fail = failing.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
            fail.then(|| StoreError::Unavailable("simulated crash before the write".into()))
        });
        let app = TestApp::builder()
            .at(when)
            .reply_tokens(ReplyTokens::new(REPLY_KEY, Some("notices@pagopa.example".into())).unwrap())
            .faulty_tickets(tickets)
            .build();
        World { app, fail_updates }
    }

    fn set(&self, when: &str) {
        self.clock.set_at(when);
    }

    async fn tick_at(&self, when: &str) -> ClockReport {
        self.set(when);
        self.engine.clock_tick(&self.escalation).await.unwrap()
    }

    /// Opens an e-mail contact of `category` with a requester's personal data, and triages it.
    async fn open(&self, category: &str, key: &str) -> TicketId {
        let mut fields = BTreeMap::new();
        fields.insert("notice_code".to_string(), "302001234567890123".to_string());
        let contact = NewContact {
            channel: "email".into(),
            idempotency_key: key.into(),
            category: Some(category.into()),
            subject: Some(SUBJECT.into()),
            message: Some(BODY.into()),
            requester: Requester {
                name: Some(NAME.into()),
                email: Some(EMAIL.into()),
                fiscal_code: Some(FISCAL_CODE.into()),
                ..Requester::default()
            },
            fields,
            ..NewContact::default()
        };
        let id = self.engine.open(contact).await.unwrap().ticket.id;
        self.engine.triage(&id).await.unwrap();
        id
    }

    async fn ticket(&self, id: &TicketId) -> Ticket {
        self.engine.ticket(id).await.unwrap()
    }

    async fn events(&self, id: &TicketId, kind: EventKind) -> Vec<serde_json::Value> {
        let all = self.engine.ports.events.list(id).await.unwrap();
        all.into_iter().filter(|e| e.kind == kind).map(|e| e.detail).collect()
    }

    /// The clock's mails in the outbox, as raw text.
    async fn clock_mails(&self) -> Vec<String> {
        let sent = OutboxMailer::new(self.db.clone()).sent(1000).await.unwrap();
        sent.into_iter()
            .filter(|m| m.message_id.starts_with("clock-"))
            .map(|m| String::from_utf8(m.raw).unwrap())
            .collect()
    }

    async fn escalate(&self, id: &TicketId, target: &str) -> EscalationMessage {
        let op = operator();
        self.engine.take_in_charge(id, &op).await.unwrap();
        self.engine.classify(id, &op, TicketType::A).await.unwrap();
        let escalated =
            self.engine.escalate(id, &op, target, "Please check the reconciliation.", &self.escalation).await.unwrap();
        escalated.message
    }
}

fn operator() -> Actor {
    Actor { id: "op-1".into(), role: ActorRole::Operator }
}

fn report(warned: usize, breached: usize, reminded: usize) -> (usize, usize, usize) {
    (warned, breached, reminded)
}

fn counts(r: &ClockReport) -> (usize, usize, usize) {
    (r.warned, r.breached, r.reminded)
}

fn assert_no_personal_data(text: &str) {
    for secret in [EMAIL, NAME, FISCAL_CODE, SUBJECT, BODY] {
        assert!(!text.contains(secret), "`{secret}` leaked into:\n{text}");
    }
}

/// A Q ticket opened on Friday at 19:00 in Rome: one business hour that evening, six on Saturday
/// (08-14), none on Sunday. First response (4h) is due Saturday 11:00, warned at 80% (3.2h:
/// Saturday 10:12); resolution (8h) is due Monday 09:00, warned at 6.4 business hours (Saturday
/// 13:24) — in calendar time 80% would be Sunday evening.
#[tokio::test]
async fn sla_deadlines_warn_in_business_time_and_breach_once_each() {
    let w = World::at("2026-11-27T19:00:00+01:00");
    let id = w.open("basic_info", "q-friday").await;
    let t = w.ticket(&id).await;
    let due = |kind: &str| t.deadlines.iter().find(|d| d.kind == kind).unwrap().due;
    assert_eq!(due("first_response"), "2026-11-28T11:00:00+01:00".parse().unwrap());
    assert_eq!(due("resolution"), "2026-11-30T09:00:00+01:00".parse().unwrap());

    let r = w.tick_at("2026-11-27T19:30:00+01:00").await;
    assert_eq!((r.scanned, counts(&r)), (1, report(0, 0, 0)));
    assert_eq!(counts(&w.tick_at("2026-11-28T10:10:00+01:00").await), report(0, 0, 0), "79% of 4h");
    assert_eq!(counts(&w.tick_at("2026-11-28T10:13:00+01:00").await), report(1, 0, 0), "80% of 4h");
    assert_eq!(counts(&w.tick_at("2026-11-28T10:14:00+01:00").await), report(0, 0, 0), "warned once");
    assert_eq!(counts(&w.tick_at("2026-11-28T11:00:00+01:00").await), report(0, 1, 0), "due: breached");
    assert_eq!(counts(&w.tick_at("2026-11-28T13:20:00+01:00").await), report(0, 0, 0), "resolution at 79%");
    assert_eq!(counts(&w.tick_at("2026-11-28T13:25:00+01:00").await), report(1, 0, 0), "resolution at 80%");
    assert_eq!(counts(&w.tick_at("2026-11-29T22:00:00+01:00").await), report(0, 0, 0), "Sunday counts nothing");
    assert_eq!(counts(&w.tick_at("2026-11-30T08:59:00+01:00").await), report(0, 0, 0));
    assert_eq!(counts(&w.tick_at("2026-11-30T09:00:00+01:00").await), report(0, 1, 0));
    assert_eq!(counts(&w.tick_at("2026-11-30T12:00:00+01:00").await), report(0, 0, 0), "breached once");

    let t = w.ticket(&id).await;
    let d = |kind: &str| t.deadlines.iter().find(|d| d.kind == kind).unwrap().clone();
    assert_eq!(d("first_response").warned_at, Some("2026-11-28T10:13:00+01:00".parse().unwrap()));
    assert_eq!(d("first_response").breached_at, Some("2026-11-28T11:00:00+01:00".parse().unwrap()));
    assert_eq!(d("resolution").warned_at, Some("2026-11-28T13:25:00+01:00".parse().unwrap()));
    assert_eq!(d("resolution").breached_at, Some("2026-11-30T09:00:00+01:00".parse().unwrap()));
    let warnings = w.events(&id, EventKind::DeadlineWarning).await;
    let breaches = w.events(&id, EventKind::DeadlineBreached).await;
    let deadline = |e: &serde_json::Value| e["deadline"].as_str().unwrap().to_string();
    assert_eq!(warnings.iter().map(deadline).collect::<Vec<_>>(), ["first_response", "resolution"]);
    assert_eq!(breaches.iter().map(deadline).collect::<Vec<_>>(), ["first_response", "resolution"]);

    // The operator API serializes the ticket: the stamps are in its JSON.
    let json = serde_json::to_value(&t).unwrap();
    assert!(json["deadlines"].as_array().unwrap().iter().all(|d| d["warned_at"].is_string()), "{json}");

    // One mail per warning and breach, to the team's mailbox, automatic, with no personal data.
    let mails = w.clock_mails().await;
    assert_eq!(mails.len(), 4, "{mails:#?}");
    for m in &mails {
        assert!(m.contains("supervisori@sportello.pagopa.it"), "{m}");
        assert!(m.contains("Auto-Submitted: auto-generated"), "{m}");
        assert!(m.contains(t.reference.as_str()), "{m}");
        assert_no_personal_data(m);
    }
    assert!(mails[0].contains("first_response due soon") && mails[0].contains("28/11/2026 11:00"), "{}", mails[0]);
    assert!(mails[3].contains("resolution overdue") && mails[3].contains("30/11/2026 09:00"), "{}", mails[3]);
}

/// Taken in charge meets the first response; resolved meets everything. Met deadlines get
/// neither warnings nor breaches, however late the clock.
#[tokio::test]
async fn met_deadlines_are_left_alone() {
    let w = World::at("2026-12-02T10:00:00+01:00");
    let taken = w.open("basic_info", "q-taken").await;
    let resolved = w.open("basic_info", "q-resolved").await;
    let op = operator();
    w.engine.take_in_charge(&taken, &op).await.unwrap();
    w.engine.take_in_charge(&resolved, &op).await.unwrap();
    w.engine.classify(&resolved, &op, TicketType::Q).await.unwrap();
    w.engine.answer_and_resolve(&resolved, &op, "Il rimborso si chiede all'ente creditore.").await.unwrap();
    assert_eq!(w.ticket(&resolved).await.state, TicketState::Resolved);

    let r = w.tick_at("2026-12-10T10:00:00+01:00").await;
    assert_eq!(counts(&r), report(0, 1, 0), "only the taken ticket's resolution is late: {r:?}");
    let t = w.ticket(&taken).await;
    let first = t.deadlines.iter().find(|d| d.kind == "first_response").unwrap();
    assert_eq!((first.warned_at, first.breached_at), (None, None));
    let t = w.ticket(&resolved).await;
    assert!(t.deadlines.iter().all(|d| d.warned_at.is_none() && d.breached_at.is_none()));
    assert!(w.events(&resolved, EventKind::DeadlineBreached).await.is_empty());
}

/// A possible personal-data breach (PI) opened Friday 19:00: the 72-hour notification clock runs
/// day and night (due Monday 19:00, warned at 57.6h: Monday 04:36, before any operator is at
/// work), while the SLA resolution (24 business hours) has used only 7 hours by then.
#[tokio::test]
async fn the_gdpr_breach_clock_counts_calendar_time() {
    let w = World::at("2026-11-27T19:00:00+01:00");
    let id = w.open("privacy_issue", "pi-friday").await;
    let t = w.ticket(&id).await;
    assert_eq!(t.team, "privacy");
    let gdpr = t.deadlines.iter().find(|d| d.kind == "gdpr_breach_notification").unwrap();
    assert_eq!(gdpr.due, "2026-11-30T19:00:00+01:00".parse().unwrap());
    // Taken in charge at once: the first response is met and out of the picture.
    w.engine.take_in_charge(&id, &Actor { id: "priv-1".into(), role: ActorRole::PrivacyOperator }).await.unwrap();

    assert_eq!(counts(&w.tick_at("2026-11-30T04:30:00+01:00").await), report(0, 0, 0));
    let logs = crate::support::logs::record();
    let r = w.tick_at("2026-11-30T04:37:00+01:00").await;
    assert_eq!(counts(&r), report(1, 0, 0), "{r:?} {:?}", w.ticket(&id).await.deadlines);
    // The metric the stack's breach-report alarm reads (infra/template.yaml, BreachReportAtRiskAlarm).
    let at_risk = r#"metric="GdprDeadlinesAtRisk" unit="Count" value=1 deadline="gdpr_breach_notification""#;
    assert!(logs.text().contains(at_risk), "{}", logs.text());
    assert_eq!(counts(&w.tick_at("2026-11-30T18:59:00+01:00").await), report(0, 0, 0), "resolution at 74%");
    logs.clear();
    assert_eq!(counts(&w.tick_at("2026-11-30T19:00:00+01:00").await), report(0, 1, 0));
    let passed = r#"metric="SlaBreaches" unit="Count" value=1 deadline="gdpr_breach_notification""#;
    assert!(logs.text().contains(passed), "{}", logs.text());
    drop(logs);
    assert_eq!(counts(&w.tick_at("2026-11-30T19:01:00+01:00").await), report(0, 0, 0));

    let warned = w.events(&id, EventKind::DeadlineWarning).await;
    let breached = w.events(&id, EventKind::DeadlineBreached).await;
    assert_eq!((warned.len(), breached.len()), (1, 1));
    assert_eq!(warned[0]["deadline"], "gdpr_breach_notification");
    assert_eq!(breached[0]["deadline"], "gdpr_breach_notification");
    let mails = w.clock_mails().await;
    assert_eq!(mails.len(), 2);
    for m in &mails {
        assert!(m.contains("privacy-team@sportello.pagopa.it") && m.contains("calendar time (GDPR)"), "{m}");
        assert!(!m.contains("supervisori@"), "privacy tickets notify the privacy team only");
        assert_no_personal_data(m);
    }
}

/// Two ticks at once (a retried Lambda, two local servers on one file): each warning is stamped,
/// recorded and mailed once.
#[tokio::test]
async fn overlapping_ticks_do_nothing_twice() {
    let w = World::at("2026-12-02T10:00:00+01:00");
    let ids = [w.open("basic_info", "q-1").await, w.open("basic_info", "q-2").await];
    w.set("2026-12-02T13:20:00+01:00");
    let (a, b) = tokio::join!(w.engine.clock_tick(&w.escalation), w.engine.clock_tick(&w.escalation));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.warned + b.warned, 2, "{a:?} {b:?}");
    for id in &ids {
        assert_eq!(w.events(id, EventKind::DeadlineWarning).await.len(), 1);
    }
    assert_eq!(w.clock_mails().await.len(), 2);
}

/// The mail went, then the process died before the stamp: the next tick writes the stamp and the
/// event without mailing again. Same for a reminder.
#[tokio::test]
async fn a_crash_between_the_mail_and_the_stamp_sends_nothing_twice() {
    let w = World::at("2026-12-02T10:00:00+01:00");
    let q = w.open("basic_info", "q-1").await;
    let a = w.open("specialist_support", "a-1").await;
    w.escalate(&a, "third_parties").await;

    w.fail_updates.store(1, Ordering::SeqCst);
    let r = w.tick_at("2026-12-02T13:20:00+01:00").await;
    assert_eq!((counts(&r), r.failed), (report(0, 0, 0), 1), "{r:?}");
    assert_eq!(w.clock_mails().await.len(), 1, "mailed, not stamped");
    assert!(w.ticket(&q).await.deadlines.iter().all(|d| d.warned_at.is_none()));
    let r = w.tick_at("2026-12-02T13:21:00+01:00").await;
    assert_eq!((counts(&r), r.failed), (report(1, 0, 0), 0), "{r:?}");
    assert_eq!(w.clock_mails().await.len(), 1, "not mailed again");
    assert_eq!(w.events(&q, EventKind::DeadlineWarning).await.len(), 1);

    // Third parties are reminded after 24 business hours: Friday 10:00.
    let reminders = || async {
        let sent = OutboxMailer::new(w.db.clone()).sent(100).await.unwrap();
        sent.iter().filter(|m| m.message_id.ends_with("-reminder@pagopa.example")).count()
    };
    // Two writes fail: the late Q ticket's breaches (new tickets are read first), then the reminder.
    w.fail_updates.store(2, Ordering::SeqCst);
    let r = w.tick_at("2026-12-04T10:00:00+01:00").await;
    assert_eq!((r.reminded, reminders().await), (0, 1), "{r:?}");
    let r = w.tick_at("2026-12-04T10:01:00+01:00").await;
    assert_eq!((r.reminded, reminders().await), (1, 1), "{r:?}");
    assert_eq!(w.events(&a, EventKind::EscalationReminded).await.len(), 1);
}

/// An escalation to a queue target whose notice is overdue is sent again once, as a reminder,
/// with only the fields the target may see; an e-mail target gets a reminder mail.
#[tokio::test]
async fn overdue_escalations_are_reminded_once() {
    let w = World::at("2026-12-02T10:00:00+01:00");
    let specialists = w.open("specialist_support", "a-1").await;
    let thirds = w.open("specialist_support", "a-2").await;
    let first = w.escalate(&specialists, "pagopa_specialists").await;
    let third = w.escalate(&thirds, "third_parties").await;
    // remind_after 16 business hours: Wednesday 10-20, then Thursday 08-14.
    let due: jiff::Timestamp = "2026-12-03T14:00:00+01:00".parse().unwrap();
    assert_eq!(w.ticket(&specialists).await.escalations[0].due, Some(due));
    assert_eq!(first.due, Some(due), "the message says when the reminder comes");

    assert_eq!(counts(&w.tick_at("2026-12-03T13:59:00+01:00").await), report(0, 0, 0));
    assert_eq!(counts(&w.tick_at("2026-12-03T14:00:00+01:00").await), report(0, 0, 1));
    assert_eq!(counts(&w.tick_at("2026-12-03T14:01:00+01:00").await), report(0, 0, 0), "reminded once");

    let queue = SqliteQueue::new(w.db.clone(), SPECIALISTS_QUEUE, 5, Duration::from_secs(60));
    let got = queue.receive(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 2, "the escalation and one reminder");
    assert!(got.iter().all(|d| d.message.step == "escalation"));
    let messages: Vec<EscalationMessage> =
        got.iter().map(|d| serde_json::from_value(d.message.body.clone()).unwrap()).collect();
    let reminder = messages.iter().find(|m| m.kind == MessageKind::Reminder).expect("a reminder");
    assert_eq!(reminder.reminds.as_deref(), Some(first.escalation_id.as_str()));
    assert_ne!(reminder.escalation_id, first.escalation_id, "targets dedupe on the id: a reminder has its own");
    assert_eq!((reminder.reference.clone(), reminder.due), (first.reference.clone(), Some(due)));
    assert_eq!(reminder.summary, "Please check the reconciliation.");
    assert_eq!(reminder.fields, first.fields, "the same fields the target may see");
    let json = serde_json::to_string(reminder).unwrap();
    assert!(!json.contains(EMAIL) && !json.contains(NAME), "{json}");

    let t = w.ticket(&specialists).await;
    assert_eq!(t.escalations[0].reminded_at, Some("2026-12-03T14:00:00+01:00".parse().unwrap()));
    let reminded = w.events(&specialists, EventKind::EscalationReminded).await;
    assert_eq!(reminded.len(), 1);
    assert_eq!(reminded[0]["target"], "pagopa_specialists");
    assert_eq!(reminded[0]["reminds"], first.escalation_id.as_str());

    // Third parties: remind_after 24h, Friday 10:00; by e-mail.
    assert_eq!(counts(&w.tick_at("2026-12-04T10:00:00+01:00").await), report(0, 0, 1));
    assert_eq!(counts(&w.tick_at("2026-12-04T10:05:00+01:00").await), report(0, 0, 0));
    let sent = OutboxMailer::new(w.db.clone()).sent(100).await.unwrap();
    // Read as a mail client would: decoded headers (a long subject is an encoded word), and
    // the raw text with quoted-printable soft breaks undone for the body and the addresses.
    let reminders: Vec<String> = sent
        .iter()
        .filter(|m| {
            let parsed = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
            parsed.subject().unwrap_or_default().contains("Reminder: escalation to third_parties")
        })
        .map(|m| String::from_utf8(m.raw.clone()).unwrap().replace("=\r\n", "").replace("=\n", ""))
        .collect();
    assert_eq!(reminders.len(), 1);
    assert!(reminders[0].contains("escalations@third-party.example"), "{}", reminders[0]);
    assert!(reminders[0].contains("Auto-Submitted: auto-generated"));
    assert!(reminders[0].contains("resolution notice is overdue"), "{}", reminders[0]);
    assert!(!reminders[0].contains(EMAIL) && !reminders[0].contains(FISCAL_CODE), "{}", reminders[0]);
    // A reply to the reminder carries the escalation's own token, so it settles that escalation.
    let token = ReplyTokens::new(REPLY_KEY, None).unwrap().token(
        &w.ticket(&thirds).await.reference,
        &third.escalation_id,
        "third_parties",
    );
    assert!(reminders[0].contains(&format!("notices+{token}@pagopa.example")), "{}", reminders[0]);
}

/// A resolution notice before the reminder time: no reminder.
#[tokio::test]
async fn answered_escalations_are_not_reminded() {
    let w = World::at("2026-12-02T10:00:00+01:00");
    let id = w.open("specialist_support", "a-1").await;
    let sent = w.escalate(&id, "pagopa_specialists").await;
    w.engine
        .receive_resolution_notice(
            "pagopa_specialists",
            &sent.reference,
            &sent.escalation_id,
            "Rimborso disposto.",
            None,
        )
        .await
        .unwrap();
    assert_eq!(counts(&w.tick_at("2026-12-07T10:00:00+01:00").await).2, 0);
    assert!(w.events(&id, EventKind::EscalationReminded).await.is_empty());
}

/// Records written before `due` and `reminded_at` existed still load; their reminder time is
/// worked out from `sent_at` and the target's `remind_after`. An escalation to a target the
/// rulebook no longer has is logged and skipped, and the tick goes on.
#[tokio::test]
async fn old_records_and_retired_targets_do_not_stop_the_clock() {
    let old = serde_json::json!({
        "id": "0193a1b2-0000-7000-8000-000000000000",
        "reference": "SP-7K3Q9XWD",
        "channel": "email",
        "channel_kind": "email",
        "state": "awaiting_resolution_notice",
        "team": "first_level",
        "deadlines": [{"kind": "resolution", "due": "2026-12-04T10:00:00Z"}],
        "escalations": [{"target": "pagopa_specialists", "sent_at": "2026-12-02T09:00:00Z"}],
        "created_at": "2026-12-02T09:00:00Z",
        "updated_at": "2026-12-02T09:00:00Z",
        "version": 3
    });
    let t: Ticket = serde_json::from_value(old).unwrap();
    assert_eq!((t.escalations[0].due, t.escalations[0].reminded_at), (None, None));
    assert_eq!(t.deadlines[0].warned_at, None);
    let old_message = serde_json::json!({
        "schema": "sportello.escalation/v1", "escalation_id": "e-1", "ticket_id": "t-1",
        "reference": "SP-7K3Q9XWD", "target": "pagopa_specialists", "ticket_type": "A",
        "category": null, "channel": null, "escalated_at": "2026-12-02T09:00:00Z", "due": null,
        "summary": "s", "fields": {}, "reply_to": null
    });
    let m: EscalationMessage = serde_json::from_value(old_message).unwrap();
    assert_eq!((m.kind, m.reminds), (MessageKind::Escalation, None));

    let w = World::at("2026-12-02T10:00:00+01:00");
    let legacy = w.open("specialist_support", "legacy").await;
    let retired = w.open("specialist_support", "retired").await;
    w.escalate(&legacy, "pagopa_specialists").await;
    w.escalate(&retired, "pagopa_specialists").await;
    // Rewrite them as an older version would have stored them.
    let mut t = w.ticket(&legacy).await;
    t.escalations[0].due = None;
    w.engine.ports.tickets.update(&t, &[]).await.unwrap();
    let mut t = w.ticket(&retired).await;
    t.escalations[0].target = "retired_target".into();
    w.engine.ports.tickets.update(&t, &[]).await.unwrap();

    let r = w.tick_at("2026-12-03T14:00:00+01:00").await;
    assert_eq!((counts(&r), r.failed), (report(0, 0, 1), 0), "{r:?}");
    assert!(w.ticket(&legacy).await.escalations[0].reminded_at.is_some());
    assert!(w.ticket(&retired).await.escalations[0].reminded_at.is_none());
}

/// The clock logs what it did by ticket id, reference and deadline or target: nothing of the
/// requester.
#[tokio::test]
async fn the_clock_logs_no_personal_data() {
    // Every test's lines meanwhile are checked too, which is no harm.
    let logs = crate::support::logs::record();

    let w = World::at("2026-12-02T10:00:00+01:00");
    let q = w.open("basic_info", "q-1").await;
    let a = w.open("specialist_support", "a-1").await;
    w.escalate(&a, "pagopa_specialists").await;
    let r = w.tick_at("2026-12-03T14:00:00+01:00").await;
    assert_eq!(counts(&r), report(0, 2, 1));

    let text = logs.text();
    let reference = w.ticket(&q).await.reference;
    let clock_lines: Vec<&str> = text.lines().filter(|l| l.contains("sportello::engine::clock")).collect();
    assert!(clock_lines.iter().any(|l| l.contains(reference.as_str()) && l.contains("resolution")), "{text}");
    assert!(clock_lines.iter().any(|l| l.contains("EscalationReminded") && l.contains("pagopa_specialists")), "{text}");
    assert_no_personal_data(&text);
}
