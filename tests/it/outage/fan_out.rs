//! An incident's fan-out that runs short of time: the page stops after the tickets it started and
//! queues the rest; a redelivered page repeats nothing. Every linked ticket is resolved once.

use crate::support::app::{TestApp, escalation_settings};
use crate::support::backend::Backend;
use sportello::domain::{Actor, ActorRole, EventKind, Requester, TicketState};
use sportello::engine::{INCIDENT_PARALLEL, INCIDENT_RESOLVED, NewContact};
use std::time::Duration;

const LINKED: usize = 20;

async fn a_page_out_of_time_queues_the_rest(b: &dyn Backend) {
    let engine = TestApp::builder().at("2026-12-02T10:00:00+01:00").engine_on(b.store());
    let supervisor = Actor { id: "sup-1".into(), role: ActorRole::Supervisor };
    let op = Actor { id: "op-1".into(), role: ActorRole::Operator };
    let incident = engine.declare_incident(&supervisor, "pagopa", "Pagamenti in errore", None).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..LINKED {
        let contact = NewContact {
            // The API's clients read the answer: no mail to send (nor an SES identity to verify).
            channel: "api".into(),
            idempotency_key: format!("fan-{}-{n}", incident.id),
            category: Some("malfunction".into()),
            message: Some("Il pagamento non va a buon fine".into()),
            requester: Requester::default(),
            ..NewContact::default()
        };
        let id = engine.open(contact).await.unwrap().ticket.id;
        engine.triage(&id).await.unwrap();
        engine.take_in_charge(&id, &op).await.unwrap();
        let checked = engine.check_incidents(&id, &op, "pagopa", &escalation_settings()).await.unwrap();
        assert!(checked.incident.is_some(), "linked");
        ids.push(id);
    }
    // What intake and triage queued, out of the way.
    while engine.run_pending_steps(100).await.unwrap() > 0 {}

    engine.resolve_incident(&incident.id, "I pagamenti funzionano di nuovo.").await.unwrap();
    let first = engine.ports.steps.receive(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(first.len(), 1, "the first page");
    let page = &first[0].message;
    assert_eq!(page.step, INCIDENT_RESOLVED);
    // No time at all: one round of tickets, then the rest is queued as the next page.
    let done = engine.incident_resolved_page_within(&incident.id, None, 0, 0, Duration::ZERO).await.unwrap();
    assert_eq!(done, INCIDENT_PARALLEL, "one round");
    engine.ports.steps.ack(&first[0].receipt).await.unwrap();
    let progress = engine.ports.incidents.get(&incident.id).await.unwrap();
    assert_eq!(progress.notified, Some(INCIDENT_PARALLEL as u64));
    assert_eq!(progress.fanout_done_at, None, "not done yet");

    // The next page finishes the rest, in the time a step has (the answers' deliveries run too).
    while engine.run_pending_steps(100).await.unwrap() > 0 {}
    let progress = engine.ports.incidents.get(&incident.id).await.unwrap();
    assert_eq!(progress.notified, Some(LINKED as u64));
    assert!(progress.fanout_done_at.is_some(), "done after the second page");
    // The first page delivered again, short of time again: nothing is done twice.
    engine.incident_resolved_page_within(&incident.id, None, 0, 0, Duration::ZERO).await.unwrap();
    while engine.run_pending_steps(100).await.unwrap() > 0 {}

    for id in &ids {
        let t = engine.ports.tickets.get(id).await.unwrap();
        assert_eq!(t.state, TicketState::Resolved, "ticket {id}");
        let events = engine.ports.events.list(id).await.unwrap();
        let notes = events.iter().filter(|e| e.detail.get("incident_resolved").is_some()).count();
        let answers = events.iter().filter(|e| e.kind == EventKind::Answered).count();
        assert_eq!((notes, answers), (1, 1), "ticket {id}: noted and answered once");
    }
    let progress = engine.ports.incidents.get(&incident.id).await.unwrap();
    assert_eq!(progress.notified, Some(LINKED as u64), "a rerun writes the same figure");
}

on_every_store!(a_page_out_of_time_queues_the_rest);
