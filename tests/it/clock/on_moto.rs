//! The clock on the AWS adapters (DynamoDB, SES, SQS) against moto: the same tick as the local
//! timer's, with warnings, breaches, notifications and a reminder each done once.

use crate::support::app::{TestApp, TestClock};
use crate::support::backend::Backend;
use crate::support::backend::aws::MotoBackend;
use sportello::domain::{Actor, ActorRole, EventKind, Requester, TicketId, TicketType};
use sportello::engine::{ClockReport, EscalationSettings, NewContact};
use sportello::ports::{EscalationMessage, EscalationRoute, MessageKind};

const EMAIL: &str = "mario.rossi@example.it";

fn counts(r: &ClockReport) -> (usize, usize, usize) {
    (r.warned, r.breached, r.reminded)
}

#[tokio::test]
async fn on_moto_the_clock_warns_breaches_and_reminds_once() {
    let backend = MotoBackend::new().await;
    let route = backend.escalation_queue().await;
    let EscalationRoute::Queue { queue: url } = &route else { unreachable!() };
    let clock = TestClock::at("2026-12-02T10:00:00+01:00");
    let engine = TestApp::builder().clock(clock.clone()).engine_on(backend.store());
    let set = |when: &str| clock.set_at(when);
    let mut settings = EscalationSettings {
        mail_from: "sportello@sportello.example".into(),
        reply_email: Some("notices@sportello.example".into()),
        ..EscalationSettings::default()
    };
    settings.queue_urls.insert("sportello-escalations-pagopa-specialists".into(), url.clone());

    set("2026-12-02T10:00:00+01:00");
    let open = |key: &'static str, category: &'static str| {
        let engine = engine.clone();
        async move {
            let contact = NewContact {
                channel: "email".into(),
                idempotency_key: key.into(),
                category: Some(category.into()),
                message: Some("Ho pagato due volte lo stesso avviso".into()),
                requester: Requester { email: Some(EMAIL.into()), ..Requester::default() },
                ..NewContact::default()
            };
            let id: TicketId = engine.open(contact).await.unwrap().ticket.id;
            engine.triage(&id).await.unwrap();
            id
        }
    };
    let q = open("q-1", "basic_info").await;
    let a = open("a-1", "specialist_support").await;
    let op = Actor { id: "op-1".into(), role: ActorRole::Operator };
    engine.take_in_charge(&a, &op).await.unwrap();
    engine.classify(&a, &op, TicketType::A).await.unwrap();
    let first = engine.escalate(&a, &op, "pagopa_specialists", "Check it.", &settings).await.unwrap().message;

    let tick = |when: &'static str| {
        set(when);
        let (engine, settings) = (engine.clone(), settings.clone());
        async move { engine.clock_tick(&settings).await.unwrap() }
    };
    // Q: first response (4h) warned at 3.2h, 13:12.
    assert_eq!(counts(&tick("2026-12-02T13:15:00+01:00").await), (1, 0, 0));
    assert_eq!(counts(&tick("2026-12-02T13:16:00+01:00").await), (0, 0, 0));
    // Thursday 14:00: Q's deadlines (Wednesday 14:00 and 18:00) are past; the specialists'
    // 16 business hours are up.
    assert_eq!(counts(&tick("2026-12-03T14:00:00+01:00").await), (0, 2, 1));
    assert_eq!(counts(&tick("2026-12-03T14:01:00+01:00").await), (0, 0, 0));

    let events = engine.ports.events.list(&q).await.unwrap();
    let clock_kinds = [EventKind::DeadlineWarning, EventKind::DeadlineBreached, EventKind::EscalationReminded];
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).filter(|k| clock_kinds.contains(k)).collect();
    assert_eq!(kinds, [EventKind::DeadlineWarning, EventKind::DeadlineBreached, EventKind::DeadlineBreached]);
    // moto's SES keeps every test's mail: these tickets' only.
    let q_reference = engine.ticket(&q).await.unwrap().reference;
    let mails: Vec<String> = backend
        .sent_mail()
        .await
        .into_iter()
        .filter(|m| m.contains("supervisori@sportello.pagopa.it") && m.contains(q_reference.as_str()))
        .collect();
    assert_eq!(mails.len(), 3, "one mail per warning and breach");
    assert!(mails.iter().all(|m| m.contains("Auto-Submitted: auto-generated") && !m.contains(EMAIL)));

    let bodies = backend.escalation_bodies(&route).await;
    let messages: Vec<EscalationMessage> = bodies.iter().map(|b| serde_json::from_str(b).unwrap()).collect();
    assert_eq!(messages.len(), 2, "the escalation and its reminder");
    let reminder = messages.iter().find(|m| m.kind == MessageKind::Reminder).unwrap();
    assert_eq!(reminder.reminds.as_deref(), Some(first.escalation_id.as_str()));
    assert!(engine.ticket(&a).await.unwrap().escalations[0].reminded_at.is_some());
}
