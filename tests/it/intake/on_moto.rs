//! Intake under faults on the AWS adapters, against moto: the ticket, its message and its triage
//! are written in one DynamoDB transaction, which needs no queue; a step left in the outbox (the
//! function died before its publish, SQS refused) is published by the clock, and a triage message
//! lost on the queue is run by the clock.

use crate::support::app::{TestApp, TestClock};
use crate::support::backend::Backend;
use crate::support::backend::aws::MotoBackend;
use crate::support::moto::server;
use sportello::domain::{Actor, ChannelKind, Event, EventKind, Ticket, TicketId, TicketState};
use sportello::engine::{Engine, EscalationSettings, NewContact, TRIAGE, TRIAGE_TEAM};
use sportello::ports::{NewTicket, StepMessage, StepQueue};
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

/// A mailed question, taken in charge, classified Q and answered: the ticket, and its resolution.
async fn answered_by_mail(engine: &Engine, key: &str) -> (Ticket, sportello::engine::Resolution) {
    use sportello::domain::{ActorRole, TicketType};
    let requester = sportello::domain::Requester { email: Some("mario.rossi@example.it".into()), ..Default::default() };
    let opened = engine.open(NewContact { requester, ..contact(key) }).await.unwrap().ticket;
    let op = Actor { id: "op-1".into(), role: ActorRole::Operator };
    engine.take_in_charge(&opened.id, &op).await.unwrap();
    engine.classify(&opened.id, &op, TicketType::Q).await.unwrap();
    let resolution = engine.resolve(&opened.id, &op, "Il rimborso arriva entro 30 giorni.", None).await.unwrap();
    (opened, resolution)
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
async fn on_moto_an_intake_needs_no_queue_and_its_retry_finds_the_ticket_triaged() {
    let w = World::new().await;
    // The queue is unreachable: intake stores the ticket triaged all the same, and publishes
    // nothing, since nothing follows it.
    let broken = w.engine(w.broken_queue().await);
    let first = broken.open(contact("mail-1@example.it")).await.unwrap();
    assert!(!first.replayed);
    assert_triaged(&broken, &first.ticket.id).await;
    let steps = w.backend.queue(3).await;
    let engine = w.engine(steps.clone());
    let retried = engine.open(contact("mail-1@example.it")).await.unwrap();
    assert!(retried.replayed);
    assert_eq!(retried.ticket, engine.ticket(&first.ticket.id).await.unwrap(), "the ticket as stored, triaged");
    assert_eq!(engine.run_pending_steps(10).await.unwrap(), 0, "nothing was queued");
}

/// Tickets stored untriaged, as intake stored them before it triaged: one with its triage step
/// still in the outbox (the publish never happened), one whose step was published and lost. The
/// clock publishes the first and triages both.
#[tokio::test]
async fn on_moto_the_clock_publishes_what_the_outbox_holds_and_runs_lost_triages() {
    let w = World::new().await;
    let steps = w.backend.queue(3).await;
    let engine = w.engine(steps.clone());
    let untriaged = |key: &str| {
        let ticket = Ticket::new("email", ChannelKind::Email, TRIAGE_TEAM, engine.now());
        let message = Event {
            ticket_id: ticket.id.clone(),
            at: engine.now(),
            actor: Actor::system(),
            kind: EventKind::Message,
            detail: serde_json::json!({"from": "requester", "body": "Ho pagato due volte lo stesso avviso"}),
        };
        let step = StepMessage::new(TRIAGE, ticket.id.to_string(), serde_json::json!({"ticket_id": ticket.id}));
        NewTicket { events: vec![message], steps: vec![step], ..NewTicket::bare(key, &ticket, &Actor::system()) }
    };
    let unpublished = engine.ports.tickets.open(&untriaged("mail-2")).await.unwrap();
    assert_eq!(unpublished.outbox.len(), 1);
    let lost = engine.ports.tickets.open(&untriaged("mail-3")).await.unwrap();
    engine.ports.steps.publish(&lost.outbox[0].step).await.unwrap();
    engine.ports.tickets.outbox_done(&lost.outbox).await.unwrap();
    let received = steps.receive(10, std::time::Duration::from_secs(600)).await.unwrap();
    assert!(received.iter().any(|d| d.message.body["ticket_id"] == lost.ticket.id.0.as_str()));

    let settings = EscalationSettings { mail_from: "sportello@sportello.example".into(), ..Default::default() };
    w.set("2026-12-02T10:10:00+01:00");
    let report = engine.clock_tick(&settings).await.unwrap();
    // The step left in the outbox is published; both tickets are triaged (the unpublished one
    // also by the state scan, which does not wait for the queue).
    assert_eq!((report.sweep.published, report.sweep.triaged, report.sweep.failed), (1, 2, 0), "{report:?}");
    engine.run_pending_steps(10).await.unwrap();
    assert_triaged(&engine, &unpublished.ticket.id).await;
    assert_triaged(&engine, &lost.ticket.id).await;
}

/// The mail service is down when an operator resolves, and the queue too: the answer's delivery
/// step stays in the outbox the resolution wrote it to (as after a crash of the request). The
/// clock publishes it, the step delivers the answer through SES once, and a redelivery sends
/// nothing more.
#[tokio::test]
async fn on_moto_an_answer_left_in_the_outbox_is_delivered_once_by_the_clock() {
    use sportello::engine::AnswerDelivery;
    use sportello::ports::{Claim, Mailer, OutgoingMail, SentMail, StoreError, StoreResult};

    struct DownMailer;
    #[async_trait::async_trait]
    impl Mailer for DownMailer {
        async fn send(&self, _mail: &OutgoingMail) -> StoreResult<SentMail> {
            Err(StoreError::Unavailable("the mail service is down".into()))
        }
    }

    let w = World::new().await;
    w.backend.verify_domain("sportello.pagopa.it").await;
    let mut down = w.backend.store();
    down.steps = w.broken_queue().await;
    down.mailer = Arc::new(DownMailer);
    let down = TestApp::builder().clock(w.clock.clone()).engine_on(down);
    let (opened, resolution) = answered_by_mail(&down, "mail-4@example.it").await;
    assert!(matches!(resolution.delivery, AnswerDelivery::Queued { .. }), "{:?}", resolution.delivery);
    let later = "2026-12-02T11:00:00+01:00".parse().unwrap();
    let left = down.ports.tickets.outbox_pending(later, 10).await.unwrap();
    assert_eq!(left.iter().map(|o| o.step.step.as_str()).collect::<Vec<_>>(), ["deliver_answer"]);

    let steps = w.backend.queue(3).await;
    let engine = w.engine(steps.clone());
    let settings = EscalationSettings { mail_from: "sportello@sportello.example".into(), ..Default::default() };
    w.set("2026-12-02T10:10:00+01:00");
    let report = engine.clock_tick(&settings).await.unwrap();
    assert_eq!((report.sweep.published, report.sweep.failed), (1, 0), "{report:?}");
    let delivered = steps.receive(10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(delivered.len(), 1);
    for _ in 0..2 {
        // The step, then its redelivery.
        sportello::engine::handle_step(&engine, &delivered[0].message).await.unwrap();
    }
    let answers: Vec<Event> = engine
        .ports
        .events
        .list(&opened.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::Message && e.detail["from"] == "operator")
        .collect();
    assert_eq!(answers.len(), 1, "mailed once: {answers:?}");
    assert!(!answers[0].detail["transport_id"].as_str().unwrap_or_default().is_empty(), "SES gave it an id");
    let key = format!("answer:{}:{}", opened.id, answers[0].detail["answer_id"].as_str().unwrap());
    assert_eq!(
        engine.ports.idempotency.claim(&key, std::time::Duration::from_secs(60)).await.unwrap(),
        Claim::Completed
    );
    assert_eq!(engine.ticket(&opened.id).await.unwrap().state, TicketState::Resolved);
}

/// The resolving request mails the answer and records it; the outbox held the step in the place
/// of a claim, so none was written. Should the step run all the same (the sweep after a crash
/// between the record and the step's removal, a stray redelivery), it takes the key and finds the
/// answer in the history: nothing is mailed again.
#[tokio::test]
async fn on_moto_the_step_of_a_delivered_answer_finds_it_in_the_history() {
    use sportello::engine::AnswerDelivery;
    use sportello::ports::{Claim, Mailer, OutgoingMail, SentMail, StoreResult};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct CountingMailer(AtomicUsize);
    #[async_trait::async_trait]
    impl Mailer for CountingMailer {
        async fn send(&self, mail: &OutgoingMail) -> StoreResult<SentMail> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Ok(SentMail { message_id: mail.message_id.clone(), transport_id: format!("sent-{n}") })
        }
    }

    let w = World::new().await;
    let mailer = Arc::new(CountingMailer::default());
    let mut store = w.backend.store();
    store.mailer = mailer.clone();
    let engine = TestApp::builder().clock(w.clock.clone()).engine_on(store);
    let (opened, resolution) = answered_by_mail(&engine, "mail-5@example.it").await;
    assert!(matches!(resolution.delivery, AnswerDelivery::Email { .. }), "{:?}", resolution.delivery);
    assert_eq!(mailer.0.load(Ordering::SeqCst), 1);
    let later = "2026-12-02T11:00:00+01:00".parse().unwrap();
    assert!(engine.ports.tickets.outbox_pending(later, 10).await.unwrap().is_empty(), "the step is dropped");

    let events = engine.ports.events.list(&opened.id).await.unwrap();
    let answered = events.iter().find(|e| e.kind == EventKind::Answered).unwrap();
    let answer_id = answered.detail["answer_id"].as_str().unwrap();
    let key = format!("answer:{}:{answer_id}", opened.id);
    let lease = std::time::Duration::from_secs(60);
    assert_eq!(engine.ports.idempotency.claim(&key, lease).await.unwrap(), Claim::Acquired, "no claim was written");
    engine.ports.idempotency.release(&key).await.unwrap();

    assert_eq!(engine.deliver_answer(&opened.id, answer_id).await.unwrap(), AnswerDelivery::AlreadyDelivered);
    assert_eq!(mailer.0.load(Ordering::SeqCst), 1, "not mailed again");
    assert_eq!(engine.ports.events.list(&opened.id).await.unwrap().len(), events.len(), "nothing recorded again");
    assert_eq!(engine.ports.idempotency.claim(&key, lease).await.unwrap(), Claim::Completed, "the step completed it");
}
