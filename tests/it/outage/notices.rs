//! Resolution notices of up to 32 KB each: a ticket escalated to many targets keeps every notice
//! however many come back, and an erasure of its requester reaches them.

use crate::support::app::TestApp;
use crate::support::backend::Backend;
use jiff::Timestamp;
use sportello::domain::{Actor, ActorRole, ChannelKind, Escalation, Ticket, TicketState, TicketType};
use sportello::ports::RequesterKey;
use sportello::ports::notice::{MAX_NOTICE_BYTES, NOTICE_SCHEMA};

const EMAIL: &str = "giulia.bianchi@example.it";

/// A notice of exactly [`MAX_NOTICE_BYTES`], recognisable by `n`.
fn body(n: usize) -> String {
    let mark = format!("NOTICE-{n:02}-BODY ");
    mark.repeat(MAX_NOTICE_BYTES / mark.len() + 1)[..MAX_NOTICE_BYTES].to_string()
}

/// An e-mail ticket of op-1's, escalated to `pagopa_specialists` once per `(id, notice)`: each
/// escalation answered at `now` with that text kept on it when `notice` is given.
fn escalated(state: TicketState, now: Timestamp, escalations: &[(String, Option<&str>)]) -> Ticket {
    let mut t = Ticket::new("email", ChannelKind::Email, "first_level", now);
    t.state = state;
    t.requester.email = Some(EMAIL.into());
    t.category = Some("specialist_support".into());
    t.ticket_type = Some(TicketType::A);
    t.triaged_at = Some(now);
    t.assignee = Some("op-1".into());
    t.escalations = escalations
        .iter()
        .map(|(id, notice)| Escalation {
            escalation_id: id.clone(),
            target: "pagopa_specialists".into(),
            sent_at: now,
            notice_at: notice.map(|_| now),
            notice: notice.map(str::to_string),
            due: None,
            reminded_at: None,
        })
        .collect();
    t
}

async fn thirty_full_notices_on_one_ticket(b: &dyn Backend) {
    const NOTICES: usize = 30;
    let engine = TestApp::builder().at("2026-12-02T10:00:00+01:00").engine_on(b.store());
    let p = b.ports();
    let now: Timestamp = "2026-12-02T09:00:00Z".parse().unwrap();
    let ids: Vec<(String, Option<&str>)> = (0..NOTICES).map(|n| (format!("esc-{n:02}"), None)).collect();
    let t = escalated(TicketState::AwaitingResolutionNotice, now, &ids);
    p.tickets.create(&format!("big-{}", t.id), &t, &Actor::system()).await.unwrap();
    for n in 0..NOTICES {
        let message = serde_json::json!({
            "schema": NOTICE_SCHEMA,
            "escalation_id": format!("esc-{n:02}"),
            "reference": t.reference,
            "target": "pagopa_specialists",
            "notice": body(n),
        });
        let raw = message.to_string();
        engine.receive_notice_message(raw.as_bytes()).await.unwrap_or_else(|e| panic!("notice {n}: {e}"));
        // The same notice again is a replay: accepted, nothing changes.
        engine.receive_notice_message(raw.as_bytes()).await.unwrap_or_else(|e| panic!("notice {n} again: {e}"));
    }
    // The ticket reads back whole: every escalation settled, every notice as the target sent it.
    let stored = p.tickets.get(&t.id).await.unwrap();
    assert_eq!(stored.state, TicketState::InProgress, "every target answered");
    let view = engine.ticket_view(&t.id).await.unwrap();
    for (n, e) in view.ticket.escalations.iter().enumerate() {
        assert!(e.notice_at.is_some(), "escalation {n} settled");
        assert!(e.notice.as_deref() == Some(body(n).as_str()), "notice {n} read back whole");
    }
    // Another notice for a settled escalation is still refused.
    let other = serde_json::json!({
        "schema": NOTICE_SCHEMA, "escalation_id": "esc-07", "reference": t.reference,
        "target": "pagopa_specialists", "notice": "Something else",
    });
    assert!(engine.receive_notice_message(other.to_string().as_bytes()).await.is_err());

    // Erasure reaches the bodies wherever they are kept.
    let privacy = Actor { id: "dpo-1".into(), role: ActorRole::PrivacyOperator };
    let erased = p.tickets.erase_requester(&RequesterKey::Email(EMAIL.into()), &privacy, now).await.unwrap();
    assert_eq!(erased.tickets, vec![t.id.clone()]);
    let text = b.stored_text().await;
    assert!(!text.contains("NOTICE-07-BODY"), "a notice body outlived the erasure");
}

/// A ticket stored when short notices were kept on the escalation itself: its notice still reads
/// back, the same notice again is a replay, and another one is refused.
async fn a_notice_kept_on_a_ticket_stored_before_still_counts(b: &dyn Backend) {
    let engine = TestApp::builder().at("2026-12-02T10:00:00+01:00").engine_on(b.store());
    let p = b.ports();
    let now: Timestamp = "2026-12-02T09:00:00Z".parse().unwrap();
    let t = escalated(TicketState::InProgress, now, &[("esc-old".into(), Some("Rimborso disposto."))]);
    p.tickets.create(&format!("old-{}", t.id), &t, &Actor::system()).await.unwrap();
    let notice = |text: &str| {
        serde_json::json!({
            "schema": NOTICE_SCHEMA, "escalation_id": "esc-old", "reference": t.reference,
            "target": "pagopa_specialists", "notice": text,
        })
        .to_string()
    };
    let view = engine.ticket_view(&t.id).await.unwrap();
    assert_eq!(view.ticket.escalations[0].notice.as_deref(), Some("Rimborso disposto."));
    let version = p.tickets.get(&t.id).await.unwrap().version;
    engine.receive_notice_message(notice("Rimborso disposto.").as_bytes()).await.expect("the same notice: a replay");
    assert_eq!(p.tickets.get(&t.id).await.unwrap().version, version, "a replay changes nothing");
    let other = engine.receive_notice_message(notice("Un'altra cosa.").as_bytes()).await;
    assert!(other.is_err(), "another notice for an answered escalation is refused: {other:?}");
}

on_every_store!(thirty_full_notices_on_one_ticket, a_notice_kept_on_a_ticket_stored_before_still_counts);
