//! Read-modify-write under contention: every engine loop that re-reads a ticket after a version
//! conflict gives up after a bounded number of attempts, with an error that says so, instead of
//! spinning for as long as other writers keep winning.

use crate::support::app::TestApp;
use crate::support::faulty::FaultyTickets;
use sportello::domain::{Actor, ActorRole, Requester};
use sportello::engine::{EngineError, NewChatSession, NewContact, Refusal};
use sportello::ports::StoreError;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// While `contended` is set, every ticket update finds that someone else wrote the ticket first.
#[derive(Default)]
struct Contention {
    contended: AtomicBool,
    refused: AtomicUsize,
}

/// What a caller must see when the engine gives up: a conflict that says it tried and how to go on.
#[track_caller]
fn assert_gave_up<T: std::fmt::Debug>(what: &str, result: Option<Result<T, EngineError>>, store: &Contention) {
    let result = result.unwrap_or_else(|| panic!("{what}: still retrying after 20 s"));
    match result {
        Err(EngineError::Refused(Refusal::Contended(message))) => {
            assert!(message.contains("gave up after"), "{what}: {message}");
            assert!(message.contains("retry"), "{what}: {message}");
        }
        other => panic!("{what}: expected a conflict, got {other:?}"),
    }
    let refused = store.refused.swap(0, Ordering::SeqCst);
    assert!((2..=20).contains(&refused), "{what}: {refused} attempts");
}

async fn bounded<T>(f: impl Future<Output = Result<T, EngineError>>) -> Option<Result<T, EngineError>> {
    tokio::time::timeout(Duration::from_secs(20), f).await.ok()
}

#[tokio::test]
async fn every_read_modify_write_gives_up_with_a_clear_error() {
    let store = Arc::new(Contention::default());
    let contention = store.clone();
    let tickets = FaultyTickets::new(move |ticket| {
        contention.contended.load(Ordering::SeqCst).then(|| {
            contention.refused.fetch_add(1, Ordering::SeqCst);
            StoreError::Conflict { expected: ticket.version, found: ticket.version + 1 }
        })
    });
    let app = TestApp::builder().at("2026-12-02T10:00:00+01:00").faulty_tickets(tickets).build();
    let engine = &app.engine;

    // Set up while nobody else writes.
    let mail = NewContact {
        channel: "email".into(),
        idempotency_key: "mail-1@example.it".into(),
        message: Some("Ho pagato due volte lo stesso avviso".into()),
        requester: Requester { email: Some("mario.rossi@example.it".into()), ..Requester::default() },
        ..NewContact::default()
    };
    let mail = engine.open(mail).await.unwrap().ticket;
    let answered = engine.open(NewContact { idempotency_key: "mail-2@example.it".into(), ..mail_contact() }).await;
    let answered = answered.unwrap().ticket;
    engine.run_pending_steps(10).await.unwrap();
    let op = Actor { id: "op-1".into(), role: ActorRole::Operator };
    engine.take_in_charge(&answered.id, &op).await.unwrap();
    engine.classify(&answered.id, &op, sportello::domain::TicketType::Q).await.unwrap();
    engine.answer_and_resolve(&answered.id, &op, "Il rimborso arriva entro 30 giorni.").await.unwrap();
    let session = |id: &str| NewChatSession { session_id: id.into(), ..NewChatSession::default() };
    let chat = engine.chat_start(session("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")).await.unwrap();
    let chat_ref = chat.ticket.reference.to_string();
    engine.chat_user_message(&chat_ref, &chat.token, "Come pago un avviso pagoPA?").await.unwrap();
    let other = engine.chat_start(session("1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")).await.unwrap();
    let other_ref = other.ticket.reference.to_string();
    engine.chat_user_message(&other_ref, &other.token, "Come pago un avviso pagoPA?").await.unwrap();
    engine.run_pending_steps(10).await.unwrap();

    // Intake triages in its own write: a ticket still waiting for triage is one stored without
    // it (before intake triaged, or by another tool).
    let fresh = sportello::domain::Ticket::new(
        "email",
        sportello::domain::ChannelKind::Email,
        sportello::engine::TRIAGE_TEAM,
        engine.now(),
    );
    engine.ports.tickets.create("mail-3@example.it", &fresh, &Actor::system()).await.unwrap();

    // From here on, every write loses the race.
    store.contended.store(true, Ordering::SeqCst);
    assert_gave_up("triage", bounded(engine.triage(&fresh.id)).await, &store);
    assert_gave_up("take in charge", bounded(engine.take_in_charge(&mail.id, &op)).await, &store);
    assert_gave_up("chat handoff", bounded(engine.chat_request_operator(&chat_ref, &chat.token)).await, &store);
    assert_gave_up("chat solved by the bot", bounded(engine.chat_resolved(&other_ref, &other.token)).await, &store);
    let reply = format!(
        "From: mario.rossi@example.it\r\nTo: assistenza@sportello.pagopa.it\r\nSubject: Re: [{}] rimborso\r\n\
         Message-ID: <reply-1@example.it>\r\n\r\nNon e' arrivato nulla.\r\n",
        answered.reference
    );
    assert_gave_up("e-mail reply reopening", bounded(engine.receive_email(reply.as_bytes(), None)).await, &store);
}

fn mail_contact() -> NewContact {
    NewContact {
        channel: "email".into(),
        idempotency_key: String::new(),
        subject: Some("Rimborso".into()),
        message: Some("Ho pagato due volte lo stesso avviso".into()),
        requester: Requester { email: Some("mario.rossi@example.it".into()), ..Requester::default() },
        ..NewContact::default()
    }
}
