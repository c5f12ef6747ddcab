//! The engine on the embedded store: intake opens one ticket per contact and triage applies the
//! rulebook (category, team, deadlines, out-of-hours endings); `retries`: every read-modify-write
//! gives up, after a bounded number of attempts, when other writers keep winning.

mod retries;

use crate::support::app::TestApp;
use sportello::domain::{EventKind, Requester, TicketState};
use sportello::engine::{Engine, EngineError, NewContact};
use std::collections::BTreeMap;
use std::sync::Arc;

fn contact(channel: &str, key: &str, category: Option<&str>) -> NewContact {
    NewContact {
        channel: channel.into(),
        idempotency_key: key.into(),
        category: category.map(str::to_string),
        message: Some("Ho pagato due volte lo stesso avviso".into()),
        requester: Requester { email: Some("mario.rossi@example.it".into()), ..Requester::default() },
        ..NewContact::default()
    }
}

#[tokio::test]
async fn a_retried_contact_opens_one_ticket_and_one_triage() {
    let app = TestApp::at("2026-12-02T10:00:00+01:00");
    let engine = app.engine.clone();
    let first = engine.open(contact("email", "msg-1@example.it", Some("privacy_issue"))).await.unwrap();
    let again = engine.open(contact("email", "msg-1@example.it", Some("privacy_issue"))).await.unwrap();
    assert!(!first.replayed && again.replayed);
    assert_eq!(first.ticket.id, again.ticket.id);
    assert_eq!(engine.run_pending_steps(10).await.unwrap(), 0, "triaged in the intake's write: no step");

    let t = engine.ticket(&first.ticket.id).await.unwrap();
    assert_eq!(t, again.ticket, "the replay gives the ticket as stored, triaged");
    assert_eq!(t.team, "privacy", "privacy tickets go to the privacy team");
    assert!(t.triaged_at.is_some());
    let kinds: Vec<&str> = t.deadlines.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["first_response", "resolution", "gdpr_breach_notification"]);
    let breach = t.deadlines.iter().find(|d| d.kind == "gdpr_breach_notification").unwrap();
    assert_eq!(breach.due, "2026-12-05T10:00:00+01:00".parse().unwrap(), "72 hours, day and night");

    let events = engine.ports.events.list(&t.id).await.unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Created, EventKind::Message, EventKind::Triaged]);
    // Triage again: nothing changes.
    engine.triage(&t.id).await.unwrap();
    assert_eq!(engine.ticket(&t.id).await.unwrap().version, t.version);
}

#[tokio::test]
async fn a_call_out_of_hours_is_not_served_and_a_chat_waits_for_its_bot() {
    // Boxing Day, 21:30 in Rome.
    let app = TestApp::at("2026-12-26T21:30:00+01:00");
    let engine = app.engine.clone();
    let call = engine.open(contact("voice", "call-1", Some("basic_info"))).await.unwrap().ticket;
    let chat = engine.open(contact("chat", "chat-1", None)).await.unwrap().ticket;
    let mail = engine.open(contact("email", "mail-1", None)).await.unwrap().ticket;
    assert_eq!(call.state, TicketState::NotServed, "triaged by intake");
    assert_eq!(engine.run_pending_steps(10).await.unwrap(), 0, "no step: intake triaged, the bot holds the chat");
    assert_eq!(engine.ticket(&call.id).await.unwrap().state, TicketState::NotServed);
    // A chat talks with the bot first (any hour); it closes only if the user then asks for an
    // operator (tests/it/chat.rs). Triage leaves it alone until the handoff.
    let chat = engine.ticket(&chat.id).await.unwrap();
    assert_eq!((chat.state, chat.triaged_at), (TicketState::New, None));
    let mail = engine.ticket(&mail.id).await.unwrap();
    assert_eq!(mail.state, TicketState::New, "email waits for the operators");
    assert_eq!(mail.category.as_deref(), Some("basic_info"));
    let first_response = mail.deadlines.iter().find(|d| d.kind == "first_response").unwrap();
    assert_eq!(first_response.due, "2026-12-28T12:00:00+01:00".parse().unwrap(), "4 business hours from Monday 08:00");
}

#[tokio::test]
async fn bad_contacts_say_which_field_is_wrong() {
    let app = TestApp::at("2026-12-02T10:00:00+01:00");
    let engine = app.engine.clone();
    let field_of = |r: Result<_, EngineError>| match r {
        Err(EngineError::Invalid { field, message }) => format!("{field}: {message}"),
        other => panic!("expected Invalid, got {other:?}"),
    };
    let mut c = contact("fax", "k1", None);
    assert!(field_of(engine.open(c.clone()).await).starts_with("channel: unknown channel `fax`"));
    c.channel = "voice".into();
    c.category = Some("bot".into());
    // Another channel's category is a refusal (409 over HTTP), not a malformed field.
    match engine.open(c.clone()).await {
        Err(EngineError::Refused(sportello::engine::Refusal::Channel(m))) => {
            assert!(m.contains("does not arrive on channel `voice`"), "{m}")
        }
        other => panic!("expected a channel refusal, got {other:?}"),
    }
    c.category = None;
    c.fields = BTreeMap::from([("notice_code".to_string(), "12345".to_string())]);
    assert_eq!(field_of(engine.open(c.clone()).await), "fields/notice_code: a notice code has 18 digits, not 5");
    c.fields = BTreeMap::from([("iban".to_string(), "x".to_string())]);
    assert!(field_of(engine.open(c.clone()).await).starts_with("fields/iban: unknown field"));
    c.fields.clear();
    c.requester.fiscal_code = Some("RSSMRA85T10A562X".into());
    assert!(field_of(engine.open(c.clone()).await).starts_with("requester/fiscal_code: the check character"));
    assert_eq!(engine.run_pending_steps(10).await.unwrap(), 0, "nothing was opened");
}

#[tokio::test]
async fn closed_tickets_expire_after_the_rulebooks_retention() {
    // A call out of hours ends at once (not served), so it is closed on the day it came in.
    let app = TestApp::at("2026-12-26T21:30:00+01:00");
    let engine = app.engine.clone();
    let call = engine.open(contact("voice", "call-9", Some("basic_info"))).await.unwrap().ticket;
    let open = engine.open(contact("email", "mail-9", None)).await.unwrap().ticket;
    engine.run_pending_steps(10).await.unwrap();
    let days = engine.rules.retention.closed_ticket_days;
    assert_eq!(days, 730);

    let later = |d: i64| {
        let at =
            "2026-12-26T21:30:00+01:00".parse::<jiff::Timestamp>().unwrap() + jiff::SignedDuration::from_hours(24 * d);
        Engine::clone(&engine).with_clock(Arc::new(move || at))
    };
    assert_eq!(later(i64::from(days) - 1).purge_expired().await.unwrap(), 0, "not yet");
    assert_eq!(later(i64::from(days) + 1).purge_expired().await.unwrap(), 1);
    assert!(matches!(engine.ticket(&call.id).await, Err(EngineError::NotFound(_))));
    assert!(engine.ports.events.list(&call.id).await.unwrap().is_empty(), "its events went with it");
    assert_eq!(engine.ticket(&open.id).await.unwrap().state, TicketState::New, "open tickets stay");
}
