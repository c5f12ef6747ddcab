//! Intake under faults, on the embedded store: a contact interrupted between its writes (the
//! process dies, the disk refuses one insert) is completed by the client's retry with the same
//! key, and a ticket whose next step never ran is found and run by the clock.
//!
//! A crash between two writes is made deterministic with a SQLite trigger that refuses one
//! insert, as a process killed at that point would leave the file.

#[cfg(feature = "aws")]
mod on_moto;

use crate::support::app::TestApp;
use crate::support::http::{Reply, json_post};
use axum::http::StatusCode;
use serde_json::{Value, json};
use sportello::domain::{Actor, ChannelKind, EventKind, Ticket, TicketState};
use sportello::engine::{NewChatSession, TRIAGE, TRIAGE_TEAM};
use sportello::ports::{NewTicket, StepMessage};
use std::ops::Deref;
use std::path::PathBuf;

/// Sportello on a SQLite file the test can also open, as another process would, and a client
/// app's API key.
struct World {
    app: TestApp,
    db_path: PathBuf,
    key: String,
}

impl Deref for World {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl World {
    /// Wednesday 2 December 2026, 10:00 in Rome: the operators are in.
    fn new() -> World {
        let app = TestApp::at("2026-12-02T10:00:00+01:00");
        let db_path = app.dir.path().join("sportello.db");
        let key = app.client_key("io");
        World { app, db_path, key }
    }

    fn set(&self, when: &str) {
        self.clock.set_at(when);
    }

    /// A second connection on the same file, as another process would have.
    fn sql(&self, statements: &str) {
        rusqlite::Connection::open(&self.db_path).unwrap().execute_batch(statements).unwrap();
    }

    fn count(&self, sql: &str) -> i64 {
        rusqlite::Connection::open(&self.db_path).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    async fn post(&self, idempotency_key: &str) -> Reply {
        let auth = format!("Bearer {}", self.key);
        let headers = [("authorization", auth.as_str()), ("idempotency-key", idempotency_key)];
        self.send(json_post("/api/v1/tickets", &headers, &ticket())).await
    }
}

fn ticket() -> Value {
    json!({
        "category": "io_pagamenti_pagopa",
        "subcategory": "pagamenti_pagopa_blocco",
        "subject": "Pagamento bloccato",
        "message": "Il pagamento resta in attesa da ieri.",
        "requester": {"email": "mario.rossi@example.it"},
    })
}

/// The inserts an intake makes after the ticket row; a crash can fall before any of them.
const CRASH_POINTS: [(&str, &str); 2] = [
    ("the first message", "events WHEN json_extract(NEW.doc, '$.kind') = 'message'"),
    ("the triage", "events WHEN json_extract(NEW.doc, '$.kind') = 'triaged'"),
];

#[tokio::test]
async fn an_api_intake_interrupted_before_any_of_its_writes_is_completed_by_its_retry() {
    for (what, table) in CRASH_POINTS {
        let w = World::new();
        w.sql(&format!(
            "CREATE TRIGGER crash BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;"
        ));
        let interrupted = w.post("retry-me").await;
        assert!(interrupted.status.is_server_error(), "crash before {what}: {}", interrupted.text);
        w.sql("DROP TRIGGER crash;");

        let retried = w.post("retry-me").await;
        assert!(retried.status.is_success(), "crash before {what}: the retry got {}", retried.text);
        let again = w.post("retry-me").await;
        assert_eq!(again.status, StatusCode::OK, "crash before {what}: {}", again.text);
        assert_eq!(again.body["reference"], retried.body["reference"], "crash before {what}: the same ticket");
        assert_eq!(w.count("SELECT count(*) FROM tickets"), 1, "crash before {what}: exactly one ticket");

        w.engine.run_pending_steps(10).await.unwrap();
        let t = w.engine.ticket_by_reference(retried.body["reference"].as_str().unwrap()).await.unwrap();
        assert!(t.triaged_at.is_some(), "crash before {what}: the ticket was never triaged");
        let events = w.engine.ports.events.list(&t.id).await.unwrap();
        let messages = events.iter().filter(|e| e.kind == EventKind::Message).count();
        assert_eq!(messages, 1, "crash before {what}: the requester's message, once");
    }
}

/// A mail whose intake stopped half-way: the gateway redelivers it, and the ticket gets its
/// message and its triage.
#[tokio::test]
async fn an_email_intake_interrupted_is_completed_by_the_redelivery() {
    for (what, table) in CRASH_POINTS {
        let w = World::new();
        let raw = b"From: Mario Rossi <mario.rossi@example.it>\r\nTo: assistenza@sportello.pagopa.it\r\n\
Subject: Avviso pagato due volte\r\nMessage-ID: <crash-1@example.it>\r\nDate: Wed, 02 Dec 2026 10:00:00 +0100\r\n\r\n\
Ho pagato due volte lo stesso avviso.\r\n";
        w.sql(&format!(
            "CREATE TRIGGER crash BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;"
        ));
        assert!(w.engine.receive_email(raw, None).await.is_err(), "crash before {what}");
        w.sql("DROP TRIGGER crash;");
        let outcome = w.engine.receive_email(raw, None).await.unwrap();
        assert_eq!(w.count("SELECT count(*) FROM tickets"), 1, "crash before {what}: exactly one ticket");
        w.engine.run_pending_steps(10).await.unwrap();
        let t = w.engine.ticket(outcome.ticket_id.as_ref().unwrap()).await.unwrap();
        assert!(t.triaged_at.is_some(), "crash before {what}: never triaged");
        let events = w.engine.ports.events.list(&t.id).await.unwrap();
        let bodies: Vec<&str> = events
            .iter()
            .filter(|e| e.kind == EventKind::Message)
            .filter(|e| e.detail["from"] == "requester")
            .filter_map(|e| e.detail["body"].as_str())
            .collect();
        assert_eq!(bodies, ["Ho pagato due volte lo stesso avviso."], "crash before {what}");
    }
}

/// Triage messages lost (deleted from the queue, or dead-lettered after every attempt failed):
/// the clock finds the tickets still `new` and untriaged, and triages them. Intake triages in its
/// own write, so untriaged tickets are chats handed off, and tickets stored before intake
/// triaged (made here as that intake made them: with a triage step).
#[tokio::test]
async fn tickets_whose_triage_never_ran_are_triaged_by_the_clock() {
    let w = World::new();
    let open = |key: &'static str| {
        let engine = w.engine.clone();
        async move {
            let ticket = Ticket::new("email", ChannelKind::Email, TRIAGE_TEAM, engine.now());
            let step = StepMessage::new(TRIAGE, ticket.id.to_string(), json!({"ticket_id": ticket.id}));
            let new = NewTicket { steps: vec![step], ..NewTicket::bare(key, &ticket, &Actor::system()) };
            engine.ports.tickets.open(&new).await.unwrap().ticket.id
        }
    };
    let lost = open("lost").await;
    w.sql("DELETE FROM queue_messages;");
    let dead = open("dead").await;
    w.sql("UPDATE queue_messages SET attempts = 99;");
    assert_eq!(w.engine.run_pending_steps(10).await.unwrap(), 0, "nothing to run: one lost, one dead-lettered");

    // A chat handed off to an operator whose triage step was lost.
    let chat = w
        .engine
        .chat_start(NewChatSession { session_id: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into(), ..Default::default() })
        .await
        .unwrap();
    let reference = chat.ticket.reference.to_string();
    w.engine.chat_user_message(&reference, &chat.token, "Come pago un avviso pagoPA?").await.unwrap();
    w.engine.run_pending_steps(10).await.unwrap();
    w.engine.chat_request_operator(&reference, &chat.token).await.unwrap();
    w.sql("DELETE FROM queue_messages;");

    // Right after, nothing is overdue: the steps may still be on their way.
    w.engine.clock_tick(&w.escalation).await.unwrap();
    for id in [&lost, &dead, &chat.ticket.id] {
        assert_eq!(w.engine.ticket(id).await.unwrap().triaged_at, None);
    }
    w.set("2026-12-02T10:10:00+01:00");
    let report = w.engine.clock_tick(&w.escalation).await.unwrap();
    assert_eq!((report.sweep.published, report.sweep.triaged, report.sweep.failed), (0, 3, 0), "{report:?}");
    w.engine.run_pending_steps(10).await.unwrap();
    for id in [&lost, &dead, &chat.ticket.id] {
        let t = w.engine.ticket(id).await.unwrap();
        assert!(t.triaged_at.is_some(), "ticket {} was left untriaged", t.reference);
        assert_eq!(t.state, TicketState::New);
        assert!(!t.deadlines.is_empty(), "ticket {} has no deadlines", t.reference);
    }
    // The chat's clocks start at its handoff, not when the clock found it.
    let chat = w.engine.ticket(&chat.ticket.id).await.unwrap();
    assert_eq!(chat.triaged_at, Some("2026-12-02T10:00:00+01:00".parse().unwrap()));
    // A chat still talking with the bot is not the operators' yet: the clock leaves it.
    let with_bot = w
        .engine
        .chat_start(NewChatSession { session_id: "1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into(), ..Default::default() })
        .await
        .unwrap();
    w.set("2026-12-02T11:00:00+01:00");
    w.engine.clock_tick(&w.escalation).await.unwrap();
    w.engine.run_pending_steps(10).await.unwrap();
    assert_eq!(w.engine.ticket(&with_bot.ticket.id).await.unwrap().triaged_at, None);
}
