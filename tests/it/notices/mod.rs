//! Resolution notices by the reply queue and by e-mail reply, on the embedded store: the ticket
//! goes back to its operator with the notice; bad, forged or misdirected notices are refused
//! (dead-lettered, or refused as mail) and never become tickets; duplicates change nothing.

mod schemas;

use crate::support::app::TestApp;
use serde_json::{Value, json};
use sportello::adapters::embedded::{OutboxMailer, ReplyQueue, SqliteQueue};
use sportello::domain::{Actor, ActorRole, EventKind, Requester, Ticket, TicketState, TicketType};
use sportello::email::parse_inbound;
use sportello::engine::reply_token::ReplyTokens;
use sportello::engine::{EmailAction, EngineError, EscalationSettings, NewContact, Refusal};
use sportello::ports::StepQueue;
use sportello::ports::notice::NOTICE_SCHEMA;
use std::collections::BTreeMap;
use std::time::Duration;

const NOW: &str = "2026-12-02T10:00:00+01:00";
const REPLY_MAILBOX: &str = "notices@sportello.pagopa.it";

struct Desk {
    app: TestApp,
    replies: ReplyQueue,
}

impl std::ops::Deref for Desk {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

fn operator() -> Actor {
    Actor { id: "op-1".into(), role: ActorRole::Operator }
}

fn settings() -> EscalationSettings {
    EscalationSettings {
        mail_from: "escalations@sportello.pagopa.it".into(),
        reply_queue: Some("sportello-resolution-notices".into()),
        reply_email: Some(REPLY_MAILBOX.into()),
        ..EscalationSettings::default()
    }
}

fn desk_with(tokens: Option<ReplyTokens>) -> Desk {
    let mut app = TestApp::builder().at(NOW);
    if let Some(t) = tokens {
        app = app.reply_tokens(t);
    }
    let app = app.build();
    let replies = ReplyQueue::new(app.db.clone(), "sportello-resolution-notices");
    Desk { app, replies }
}

fn desk() -> Desk {
    desk_with(Some(ReplyTokens::new([42u8; 32], Some(REPLY_MAILBOX.into())).unwrap()))
}

impl Desk {
    /// A specialist-support mail, taken in charge by op-1 and classified A: ready to escalate.
    async fn ticket(&self, key: &str) -> Ticket {
        let mut fields = BTreeMap::new();
        fields.insert("notice_code".to_string(), "302001234567890123".to_string());
        let contact = NewContact {
            channel: "email".into(),
            idempotency_key: key.into(),
            category: Some("specialist_support".into()),
            subject: Some("Avviso pagato due volte".into()),
            message: Some("Ho pagato due volte lo stesso avviso.".into()),
            requester: Requester { email: Some("mario.rossi@example.it".into()), ..Requester::default() },
            fields,
            ..NewContact::default()
        };
        let created = self.engine.open(contact).await.unwrap();
        let id = created.ticket.id.clone();
        self.engine.triage(&id).await.unwrap();
        self.engine.take_in_charge(&id, &operator()).await.unwrap();
        self.engine.classify(&id, &operator(), TicketType::A).await.unwrap()
    }

    async fn escalate(&self, t: &Ticket, target: &str) -> sportello::ports::EscalationMessage {
        let e = self.engine.escalate(&t.id, &operator(), target, "Verificare il pagamento", &settings()).await.unwrap();
        assert_eq!(e.ticket.state, TicketState::AwaitingResolutionNotice);
        e.message
    }

    async fn notices(&self, t: &Ticket) -> Vec<sportello::domain::Event> {
        let events = self.engine.ports.events.list(&t.id).await.unwrap();
        events.into_iter().filter(|e| e.kind == EventKind::NoticeReceived).collect()
    }

    async fn tickets(&self) -> usize {
        // Waiting for triage, or triaged into the operators' queue.
        let mut n = 0;
        for team in [sportello::engine::TRIAGE_TEAM, "first_level"] {
            n += self.engine.ports.tickets.work_queue(team, TicketState::New, 1000).await.unwrap().len();
        }
        n
    }
}

fn notice(reference: &str, target: &str, escalation_id: &str, text: &str) -> Value {
    json!({
        "schema": NOTICE_SCHEMA,
        "reference": reference,
        "target": target,
        "escalation_id": escalation_id,
        "notice": text,
        "resolved_at": "2026-12-02T09:30:00Z",
    })
}

#[tokio::test]
async fn a_notice_on_the_reply_queue_brings_the_ticket_back_to_its_operator() {
    let d = desk();
    let t = d.ticket("mail-q1").await;
    let sent = d.escalate(&t, "pagopa_specialists").await;
    assert_eq!(sent.reply_to.as_deref(), Some("sportello-resolution-notices"));
    assert_eq!(sent.reply_token, None, "queue targets answer by escalation id");
    // What the target received is what it quotes back.
    let queue = SqliteQueue::new(d.db.clone(), "sportello-escalations-pagopa-specialists", 5, Duration::from_secs(60));
    let got = queue.receive(10, Duration::from_secs(30)).await.unwrap();
    let escalation_id = got[0].message.body["escalation_id"].as_str().unwrap().to_string();
    assert_eq!(escalation_id, sent.escalation_id);
    let stored = d.engine.ticket(&t.id).await.unwrap();
    assert_eq!(stored.escalations[0].escalation_id, escalation_id, "kept on the ticket");

    let message = notice(t.reference.as_str(), "pagopa_specialists", &escalation_id, "Rimborso disposto.");
    d.replies.publish(message.to_string().as_bytes()).await.unwrap();
    let drained = d.replies.drain(&d.engine).await.unwrap();
    assert_eq!((drained.handled, drained.dead_lettered), (1, 0));

    let back = d.engine.ticket(&t.id).await.unwrap();
    assert_eq!(back.state, TicketState::InProgress);
    assert_eq!(back.assignee.as_deref(), Some("op-1"), "the same operator");
    // The text is kept in the notice's event, not on the stored ticket, and the ticket's view
    // shows it.
    assert!(back.escalations[0].notice_at.is_some());
    assert_eq!(back.escalations[0].notice, None, "a notice's text is not stored on its ticket");
    let view = d.engine.ticket_view(&t.id).await.unwrap();
    assert_eq!(view.ticket.escalations[0].notice.as_deref(), Some("Rimborso disposto."));
    let events = d.notices(&t).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, Actor { id: "pagopa_specialists".into(), role: ActorRole::Target });
    assert_eq!(events[0].detail["via"], "reply_queue");
    assert_eq!(events[0].detail["escalation_id"], escalation_id.as_str());
    assert_eq!(events[0].detail["resolved_at"], "2026-12-02T09:30:00Z");

    // The same notice again, by the queue or straight to the engine: nothing changes.
    let mut resent = message.clone();
    resent["resolved_at"] = json!("2026-12-02T09:31:00Z");
    d.replies.publish(resent.to_string().as_bytes()).await.unwrap();
    assert_eq!(d.replies.drain(&d.engine).await.unwrap().handled, 1);
    let again = d.engine.receive_notice_message(message.to_string().as_bytes()).await.unwrap();
    assert_eq!(again.version, back.version, "no write");
    assert_eq!(d.notices(&t).await.len(), 1);
    // A different notice on an answered escalation is a conflict, not an overwrite.
    let other = notice(t.reference.as_str(), "pagopa_specialists", &escalation_id, "Altro testo.");
    let err = d.engine.receive_notice_message(other.to_string().as_bytes()).await.unwrap_err();
    assert!(matches!(err, EngineError::Refused(Refusal::Done(_))), "{err}");
    assert!(d.replies.dead_letters(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_notices_are_refused_with_reasons_and_dead_lettered() {
    let d = desk();
    let t = d.ticket("mail-q2").await;
    let sent = d.escalate(&t, "pagopa_specialists").await;
    let r = t.reference.as_str();
    let id = sent.escalation_id.as_str();

    // Each refusal says where, without quoting the notice.
    let engine = &d.engine;
    let refuse = |raw: Vec<u8>| async move { engine.receive_notice_message(&raw).await.unwrap_err() };
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (b"{\"schema\": \"sportello.resolution-notice/v1\", ".to_vec(), "", "not JSON"),
        (notice(r, "third_parties", id, "Fatto.").to_string().into_bytes(), "/target", "was not sent to third_parties"),
        (notice(r, "nobody", id, "Fatto.").to_string().into_bytes(), "/target", "unknown target"),
        (notice("SP-1", "pagopa_specialists", id, "Fatto.").to_string().into_bytes(), "/reference", "SP-7K3Q9XWD"),
        (notice(r, "pagopa_specialists", id, "").to_string().into_bytes(), "/notice", "must not be empty"),
    ];
    for (raw, pointer, says) in cases {
        match refuse(raw).await {
            EngineError::Invalid { field, message } => {
                assert_eq!(field, pointer);
                assert!(message.contains(says), "`{message}` does not say `{says}`");
            }
            other => panic!("{pointer}: {other}"),
        }
    }
    let unknown_escalation = notice(r, "pagopa_specialists", "0000-not-sent", "Fatto.");
    let err = refuse(unknown_escalation.to_string().into_bytes()).await;
    assert!(matches!(&err, EngineError::NotFound(w) if w.contains("escalation 0000-not-sent")), "{err}");
    let unknown_ticket = notice("SP-7K3Q9XWD", "pagopa_specialists", id, "Fatto.");
    let err = refuse(unknown_ticket.to_string().into_bytes()).await;
    assert!(matches!(&err, EngineError::NotFound(w) if w.contains("SP-7K3Q9XWD")), "{err}");

    // On the queue: every one of them goes to the dead letters at once, whole; nothing is recorded.
    let bodies = [
        "{\"schema\": truncated".to_string(),
        notice(r, "third_parties", id, "Fatto.").to_string(),
        unknown_escalation.to_string(),
        unknown_ticket.to_string(),
        "[]".to_string(),
    ];
    for b in &bodies {
        d.replies.publish(b.as_bytes()).await.unwrap();
    }
    let drained = d.replies.drain(&d.engine).await.unwrap();
    assert_eq!((drained.handled, drained.dead_lettered, drained.retried), (0, 5, 0));
    let dead = d.replies.dead_letters(10).await.unwrap();
    let raw: Vec<&str> = dead.iter().map(|l| l.raw_body.as_str()).collect();
    assert_eq!(dead.len(), 5);
    assert!(raw[0].contains("truncated"), "kept as sent: {raw:?}");
    assert_eq!(d.replies.drain(&d.engine).await.unwrap(), Default::default(), "not retried");
    let still = d.engine.ticket(&t.id).await.unwrap();
    assert_eq!(still.state, TicketState::AwaitingResolutionNotice);
    assert!(d.notices(&t).await.is_empty());
}

/// A reply as a third party's mail client writes it: new text above the quoted escalation.
fn reply(message_id: &str, to: &str, subject: &str, text: &str, quoted: &str) -> Vec<u8> {
    let quoted: String = quoted.lines().map(|l| format!("> {l}\r\n")).collect();
    format!(
        "From: Ufficio Riconciliazioni <escalations@third-party.example>\r\nTo: {to}\r\n\
         Date: Wed, 02 Dec 2026 11:00:00 +0100\r\nMessage-ID: <{message_id}>\r\nSubject: {subject}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\n\
         On Wed, 2 Dec 2026 at 10:00, escalations@sportello.pagopa.it wrote:\r\n{quoted}"
    )
    .into_bytes()
}

#[tokio::test]
async fn an_email_reply_with_the_reply_token_is_the_notice() {
    let d = desk();
    let t = d.ticket("mail-e1").await;
    let sent = d.escalate(&t, "third_parties").await;
    let token = sent.reply_token.clone().expect("e-mail targets get a reply token");
    assert!(token.starts_with(t.reference.as_str()), "{token}");

    // The escalation mail carries it in the Reply-To, the subject and the body.
    let outbox = OutboxMailer::new(d.db.clone()).sent(10).await.unwrap();
    let mail = parse_inbound(&outbox[0].raw).unwrap();
    let reply_to = &mail.reply_to[0].address;
    assert_eq!(reply_to, &format!("notices+{token}@sportello.pagopa.it"));
    assert!(mail.subject.as_deref().unwrap().contains(&token));
    assert!(mail.body.contains(&token));

    let tickets_before = d.tickets().await;
    let subject = format!("Re: {}", mail.subject.as_deref().unwrap());
    let answer = reply("r1@third-party.example", reply_to, &subject, "Nessuna anomalia sul pagamento.", &mail.body);
    let out = d.engine.receive_email(&answer, None).await.unwrap();
    assert_eq!(out.action, EmailAction::Notice);
    assert_eq!(out.reference.as_ref(), Some(&t.reference));
    let back = d.engine.ticket(&t.id).await.unwrap();
    assert_eq!((back.state, back.assignee.as_deref()), (TicketState::InProgress, Some("op-1")));
    let view = d.engine.ticket_view(&t.id).await.unwrap();
    assert_eq!(view.ticket.escalations[0].notice.as_deref(), Some("Nessuna anomalia sul pagamento."), "no quoted text");
    let events = d.notices(&t).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail["via"], "email");
    assert_eq!(events[0].actor.id, "third_parties");

    // Redelivered: nothing changes, and it never becomes a ticket.
    let again = d.engine.receive_email(&answer, None).await.unwrap();
    assert_eq!((again.action, again.replayed), (EmailAction::Notice, true));
    assert_eq!(d.notices(&t).await.len(), 1);
    assert_eq!(d.tickets().await, tickets_before);

    // A token kept only in the subject (a client that dropped the Reply-To) still works.
    let t2 = d.ticket("mail-e2").await;
    let sent2 = d.escalate(&t2, "third_parties").await;
    let subject2 = format!("RE: [{}] Escalation to third_parties [{}]", t2.reference, sent2.reply_token.unwrap());
    let answer2 = reply("r2@third-party.example", "escalations@sportello.pagopa.it", &subject2, "Risolto.", "");
    assert_eq!(d.engine.receive_email(&answer2, None).await.unwrap().action, EmailAction::Notice);
    assert_eq!(d.engine.ticket(&t2.id).await.unwrap().state, TicketState::InProgress);
}

#[tokio::test]
async fn forged_or_missing_tokens_are_refused_and_open_nothing() {
    let d = desk();
    let t = d.ticket("mail-f1").await;
    let sent = d.escalate(&t, "third_parties").await;
    let token = sent.reply_token.unwrap();
    let tickets_before = d.tickets().await;

    // One hex digit changed.
    let last = token.chars().last().unwrap();
    let forged = format!("{}{}", &token[..token.len() - 1], if last == '0' { '1' } else { '0' });
    let to = format!("notices+{forged}@sportello.pagopa.it");
    let cases = [
        reply("f1@evil.example", &to, "Re: escalation", "Chiudete pure.", ""),
        // To the reply mailbox with no token at all.
        reply("f2@evil.example", REPLY_MAILBOX, "Re: escalation", "Chiudete pure.", ""),
        reply("f3@evil.example", "assistenza@sportello.pagopa.it", &format!("Re: [{forged}]"), "Chiudete.", ""),
    ];
    for raw in &cases {
        let out = d.engine.receive_email(raw, None).await.unwrap();
        assert_eq!(out.action, EmailAction::RefusedNotice);
        assert_eq!(out.ticket_id, None);
    }
    // A token minted with the right key for another target is not this escalation's.
    let minted_for_other =
        ReplyTokens::new([42u8; 32], None).unwrap().token(&t.reference, &sent.escalation_id, "pagopa_specialists");
    let raw = reply("f4@evil.example", REPLY_MAILBOX, &format!("Re: [{minted_for_other}]"), "Fatto.", "");
    assert_eq!(d.engine.receive_email(&raw, None).await.unwrap().action, EmailAction::RefusedNotice);

    assert_eq!(d.tickets().await, tickets_before, "no ticket from a refused reply");
    let still = d.engine.ticket(&t.id).await.unwrap();
    assert_eq!(still.state, TicketState::AwaitingResolutionNotice);
    assert!(d.notices(&t).await.is_empty());

    // Without a key nothing can be checked: refused too, never a requester's ticket.
    let keyless = desk_with(None);
    let raw = reply("f5@evil.example", "assistenza@sportello.pagopa.it", &format!("Re: [{token}]"), "Fatto.", "");
    let out = keyless.engine.receive_email(&raw, None).await.unwrap();
    assert_eq!(out.action, EmailAction::RefusedNotice);
    assert_eq!(keyless.tickets().await, 0);
}

#[tokio::test]
async fn a_reply_with_only_quoted_text_is_refused() {
    let d = desk();
    let t = d.ticket("mail-q").await;
    let token = d.escalate(&t, "third_parties").await.reply_token.unwrap();
    let to = format!("notices+{token}@sportello.pagopa.it");
    let raw = reply("q1@third-party.example", &to, "Re: escalation", "", "Ticket text");
    assert_eq!(d.engine.receive_email(&raw, None).await.unwrap().action, EmailAction::RefusedNotice);
    assert_eq!(d.engine.ticket(&t.id).await.unwrap().state, TicketState::AwaitingResolutionNotice);
}

#[tokio::test]
async fn an_out_of_office_reply_is_not_the_notice_nor_a_ticket() {
    let d = desk();
    let t = d.ticket("mail-ooo").await;
    let token = d.escalate(&t, "third_parties").await.reply_token.unwrap();
    let tickets_before = d.tickets().await;
    let raw = String::from_utf8(reply(
        "ooo1@third-party.example",
        &format!("notices+{token}@sportello.pagopa.it"),
        "Automatic reply: escalation",
        "I am out of the office until Monday.",
        "",
    ))
    .unwrap()
    .replacen("Subject:", "Auto-Submitted: auto-replied\r\nSubject:", 1);
    let out = d.engine.receive_email(raw.as_bytes(), None).await.unwrap();
    assert_eq!(out.action, EmailAction::RefusedNotice);
    assert_eq!(d.engine.ticket(&t.id).await.unwrap().state, TicketState::AwaitingResolutionNotice);
    assert_eq!(d.tickets().await, tickets_before);
}

/// A notice settles the escalation it names, once. Replayed after the ticket went back to the
/// same target, by the queue or as a resent e-mail, it answers nothing new.
#[tokio::test]
async fn a_replayed_notice_never_answers_a_later_escalation() {
    let d = desk();
    // By the reply queue.
    let t = d.ticket("replay-q").await;
    let first = d.escalate(&t, "pagopa_specialists").await;
    let message = notice(t.reference.as_str(), "pagopa_specialists", &first.escalation_id, "Rimborso disposto.");
    d.engine.receive_notice_message(message.to_string().as_bytes()).await.unwrap();
    let second = d.escalate(&t, "pagopa_specialists").await;
    d.replies.publish(message.to_string().as_bytes()).await.unwrap();
    let mut resent = message.clone();
    resent["resolved_at"] = json!("2026-12-02T09:45:00Z");
    d.replies.publish(resent.to_string().as_bytes()).await.unwrap();
    d.replies.drain(&d.engine).await.unwrap();
    let now = d.engine.ticket(&t.id).await.unwrap();
    assert_eq!(now.state, TicketState::AwaitingResolutionNotice);
    let open = now.escalations.iter().find(|e| e.escalation_id == second.escalation_id).unwrap();
    assert!(open.notice_at.is_none(), "the second escalation is still waiting");
    assert_eq!(d.notices(&t).await.len(), 1);

    // By e-mail: the same reply sent again (a new Message-ID) after a second escalation.
    let t = d.ticket("replay-e").await;
    let first = d.escalate(&t, "third_parties").await;
    let token = first.reply_token.unwrap();
    let to = format!("notices+{token}@sportello.pagopa.it");
    let out = d.engine.receive_email(&reply("re-1@third-party.example", &to, "Re: x", "Verificato.", ""), None).await;
    assert_eq!(out.unwrap().action, EmailAction::Notice);
    let second = d.escalate(&t, "third_parties").await;
    assert_ne!(second.reply_token.as_deref(), Some(token.as_str()), "each escalation has its own token");
    let out = d.engine.receive_email(&reply("re-2@third-party.example", &to, "Re: x", "Verificato.", ""), None).await;
    let out = out.unwrap();
    assert_eq!((out.action, out.replayed), (EmailAction::Notice, true), "{out:?}");
    let out = d.engine.receive_email(&reply("re-3@third-party.example", &to, "Re: x", "Altro.", ""), None).await;
    assert_eq!(out.unwrap().action, EmailAction::RefusedNotice);
    let now = d.engine.ticket(&t.id).await.unwrap();
    assert_eq!(now.state, TicketState::AwaitingResolutionNotice);
    assert!(now.escalations[1].notice_at.is_none());
    assert_eq!(d.notices(&t).await.len(), 1);
}

/// `sportello notices pending` lists the escalation ids a notice must quote; `notices send` with
/// flags composes the notice (refusing a malformed one before queueing it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notices_command_lists_escalation_ids_and_composes_a_notice() {
    use sportello::cli::notices::{Composed, NoticesAction, run};
    let d = desk();
    let t = d.ticket("cli-1").await;
    let sent = d.escalate(&t, "pagopa_specialists").await;
    let data = d.dir.path().to_path_buf();
    let rules = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    let (out, code) = tokio::task::spawn_blocking({
        let (data, rules) = (data.clone(), rules.clone());
        move || run(NoticesAction::Pending { data, rules })
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(t.reference.as_str()) && out.contains(&sent.escalation_id), "{out}");
    assert!(out.contains("pagopa_specialists"), "{out}");

    let composed = |escalation_id: &str| Composed {
        reference: t.reference.to_string(),
        escalation_id: escalation_id.to_string(),
        target: "pagopa_specialists".into(),
        notice: "Rimborso disposto.".into(),
    };
    let bad = composed("");
    let (out, code) = tokio::task::spawn_blocking({
        let data = data.clone();
        move || run(NoticesAction::Send { file: None, composed: Some(bad), data })
    })
    .await
    .unwrap();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("/escalation_id"), "{out}");
    let good = composed(&sent.escalation_id);
    let (out, code) = tokio::task::spawn_blocking({
        let data = data.clone();
        move || run(NoticesAction::Send { file: None, composed: Some(good), data })
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert_eq!(d.replies.drain(&d.engine).await.unwrap().handled, 1);
    assert_eq!(d.engine.ticket(&t.id).await.unwrap().state, TicketState::InProgress);
    let (out, _) = tokio::task::spawn_blocking(move || run(NoticesAction::Pending { data, rules })).await.unwrap();
    assert_eq!(out, "no escalation is waiting for a notice\n");
}
