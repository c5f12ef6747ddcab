//! Intake under faults on the AWS adapters, against moto: the ticket, its message and its triage
//! step are written in one DynamoDB transaction; a publish to SQS that never happened (the
//! function died, SQS refused) is finished by the client's retry or by the clock, and a triage
//! message lost on the queue is run by the clock.

use crate::support::app::{TestApp, TestClock};
use crate::support::backend::Backend;
use crate::support::backend::aws::MotoBackend;
use crate::support::moto::server;
use sportello::domain::{EventKind, TicketId, TicketState};
use sportello::engine::{Engine, EscalationSettings, NewContact};
use sportello::ports::StepQueue;
use std::sync::Arc;

struct World {
    backend: MotoBackend,
    clock: TestClock,
}

impl World {
    async fn new() -> World {
        World { backend: MotoBackend::new().await, clock: TestClock::at("2026-12-02T10:00:00+01:00") }
    }

    fn set(&self, when: &str) {
        self.clock.set_at(when);
    }

    /// An engine over the shared table, publishing steps to `steps`.
    fn engine(&self, steps: Arc<dyn StepQueue>) -> Engine {
        let mut store = self.backend.store();
        store.steps = steps;
        TestApp::builder().clock(self.clock.clone()).engine_on(store)
    }

    /// A queue that refuses every publish: its deduplication table and its URL name nothing.
    async fn broken_queue(&self) -> Arc<dyn StepQueue> {
        let endpoint = server().endpoint();
        Arc::new(sportello::adapters::aws::SqsQueue::new(
            self.backend.sqs(),
            aws_sdk_dynamodb::Client::new(&self.backend.config),
            "no-such-table",
            "steps",
            format!("{endpoint}/000000000000/no-such-queue"),
            format!("{endpoint}/000000000000/no-such-queue-dlq"),
            std::time::Duration::from_secs(300),
        ))
    }
}

fn contact(key: &str) -> NewContact {
    NewContact {
        channel: "email".into(),
        idempotency_key: key.into(),
        message: Some("Ho pagato due volte lo stesso avviso".into()),
        ..NewContact::default()
    }
}

async fn assert_triaged(engine: &Engine, id: &TicketId) {
    let t = engine.ticket(id).await.unwrap();
    assert!(t.triaged_at.is_some(), "ticket {} was never triaged", t.reference);
    assert_eq!(t.state, TicketState::New);
    let events = engine.ports.events.list(id).await.unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Created, EventKind::Message, EventKind::Triaged], "{}", t.reference);
}

#[tokio::test]
async fn on_moto_a_publish_that_never_happened_is_finished_by_the_retry() {
    let w = World::new().await;
    // The first attempt stores the ticket, then cannot reach the queue.
    let broken = w.engine(w.broken_queue().await);
    let first = broken.open(contact("mail-1@example.it")).await;
    let steps = w.backend.queue(3).await;
    let engine = w.engine(steps.clone());
    // Whatever the first attempt answered, the ticket is there exactly once after the retry.
    let retried = engine.open(contact("mail-1@example.it")).await.unwrap();
    if let Ok(first) = &first {
        assert_eq!(first.ticket.id, retried.ticket.id);
    }
    assert!(retried.replayed, "the ticket was stored by the first attempt");
    assert_eq!(engine.run_pending_steps(10).await.unwrap(), 1, "the retry published the triage");
    assert_triaged(&engine, &retried.ticket.id).await;
}

#[tokio::test]
async fn on_moto_the_clock_publishes_what_intake_left_and_runs_lost_triages() {
    let w = World::new().await;
    let broken = w.engine(w.broken_queue().await);
    let unpublished = match broken.open(contact("mail-2@example.it")).await {
        Ok(created) => created.ticket.id,
        // An intake that answers an error has not acknowledged anything; find what it stored.
        Err(_) => {
            let engine = w.engine(w.backend.queue(3).await);
            let t = engine.open(contact("mail-2@example.it")).await.unwrap();
            assert!(t.replayed);
            t.ticket.id
        }
    };
    let steps = w.backend.queue(3).await;
    let engine = w.engine(steps.clone());
    // Published, then lost: nobody ever receives it.
    let lost = engine.open(contact("mail-3@example.it")).await.unwrap().ticket.id;
    let received = steps.receive(10, std::time::Duration::from_secs(600)).await.unwrap();
    assert!(received.iter().any(|d| d.message.body["ticket_id"] == lost.0.as_str()));

    let settings = EscalationSettings { mail_from: "sportello@sportello.example".into(), ..Default::default() };
    w.set("2026-12-02T10:10:00+01:00");
    let report = engine.clock_tick(&settings).await.unwrap();
    // The step the first intake left in the outbox is published; both tickets are triaged (the
    // unpublished one also by the state scan, which does not wait for the queue).
    assert_eq!((report.sweep.published, report.sweep.triaged, report.sweep.failed), (1, 2, 0), "{report:?}");
    engine.run_pending_steps(10).await.unwrap();
    assert_triaged(&engine, &unpublished).await;
    assert_triaged(&engine, &lost).await;
}
