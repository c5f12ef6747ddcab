//! The email channel end to end on the embedded store, driven by the .eml corpus: new mail,
//! redelivery, replies, reminders, autoresponders, our own mail, bounces, SES verdicts, and the
//! HTTP endpoint's answers to bad input.

mod corpus;
#[cfg(feature = "aws")]
mod on_moto;

use crate::support::app::{MAIL_TOKEN, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use sportello::adapters::embedded::OutboxMailer;
use sportello::domain::{Actor, ChannelKind, Event, EventKind, Ticket, TicketReference, TicketState};
use sportello::email::{VerdictStatus, Verdicts, parse_inbound, parse_ses_sns_notification};
use sportello::engine::{Acknowledgement, EmailAction, EmailOutcome, Engine, reference_in_message_id};
use sportello::http::email::MailToken;
use tower::ServiceExt;

const OUR_DOMAINS: [&str; 2] = ["sportello.pagopa.it", "pagopa.it"];

struct Env {
    app: TestApp,
    engine: Engine,
    outbox: OutboxMailer,
}

fn env() -> Env {
    let app = TestApp::at("2026-03-10T10:30:00+01:00");
    Env { engine: app.engine.clone(), outbox: OutboxMailer::new(app.db.clone()), app }
}

fn eml(name: &str) -> Vec<u8> {
    crate::support::fixture(&format!("emails/{name}"))
}

fn ours() -> Vec<String> {
    OUR_DOMAINS.iter().map(|d| d.to_string()).collect()
}

impl Env {
    async fn receive(&self, raw: &[u8]) -> EmailOutcome {
        self.engine.receive_email(raw, None).await.unwrap()
    }

    async fn kinds(&self, outcome: &EmailOutcome) -> Vec<EventKind> {
        let id = outcome.ticket_id.as_ref().expect("a ticket");
        self.engine.ports.events.list(id).await.unwrap().iter().map(|e| e.kind).collect()
    }

    async fn events(&self, outcome: &EmailOutcome) -> Vec<Event> {
        self.engine.ports.events.list(outcome.ticket_id.as_ref().unwrap()).await.unwrap()
    }

    async fn events_of(&self, ticket: &Ticket) -> Vec<Event> {
        self.engine.ports.events.list(&ticket.id).await.unwrap()
    }

    async fn sent(&self) -> Vec<sportello::email::InboundEmail> {
        let entries = self.outbox.sent(100).await.unwrap();
        entries.iter().map(|e| parse_inbound(&e.raw).unwrap()).collect()
    }

    async fn tickets(&self) -> usize {
        // Waiting for triage, or triaged into the operators' queue.
        let mut n = 0;
        for team in [sportello::engine::TRIAGE_TEAM, "first_level"] {
            n += self.engine.ports.tickets.work_queue(team, TicketState::New, 1000).await.unwrap().len();
        }
        n
    }

    /// A ticket of Giulia's with a known reference, as if opened earlier, in `state`.
    async fn ticket_with(&self, reference: &str, state: TicketState) -> Ticket {
        self.ticket_of("giulia.bianchi@example.com", reference, state).await
    }

    /// A ticket of the requester at `address`, as if opened earlier, in `state`.
    async fn ticket_of(&self, address: &str, reference: &str, state: TicketState) -> Ticket {
        let now = self.engine.now();
        let mut t = Ticket::new("email", ChannelKind::Email, "first_level", now);
        t.reference = TicketReference(reference.into());
        t.requester.email = Some(address.into());
        let created = self.engine.ports.tickets.create(&format!("earlier-{reference}"), &t, &Actor::system()).await;
        let mut t = created.unwrap().ticket;
        let path: &[TicketState] = match state {
            TicketState::New => &[],
            TicketState::InProgress => &[TicketState::TakenInCharge, TicketState::InProgress],
            TicketState::Resolved => &[TicketState::TakenInCharge, TicketState::Resolved],
            TicketState::Closed => &[TicketState::TakenInCharge, TicketState::Resolved, TicketState::Closed],
            other => panic!("no path to {other}"),
        };
        for &s in path {
            t.move_to(s, now).unwrap();
            t = self.engine.ports.tickets.update(&t, &[]).await.unwrap();
        }
        t
    }
}

/// A plain message from a citizen, for the threading cases the corpus does not cover.
fn mail(message_id: &str, headers: &str, subject: &str, body: &str) -> Vec<u8> {
    crate::support::citizen_mail("Wed, 11 Mar 2026 09:00:00 +0100", message_id, headers, subject, body)
}

#[tokio::test]
async fn new_mail_opens_a_ticket_acknowledged_once_threaded_and_auto_submitted() {
    let env = env();
    let raw = eml("01-plain-utf8.eml");
    let out = env.receive(&raw).await;
    assert_eq!(out.action, EmailAction::Opened);
    assert!(!out.replayed);
    let reference = out.reference.clone().unwrap();
    let ticket = env.engine.ticket(out.ticket_id.as_ref().unwrap()).await.unwrap();
    assert_eq!(ticket.channel, "email");
    assert_eq!(ticket.requester.email.as_deref(), Some("giulia.bianchi@example.com"));
    assert_eq!(ticket.requester.name.as_deref(), Some("Giulia Bianchi"));
    assert_eq!(ticket.subject.as_deref(), Some("Richiesta informazioni su avviso pagoPA già pagato"));
    // Triaged in the intake's own write; the acknowledgement after.
    let kinds = [EventKind::Created, EventKind::Message, EventKind::Note, EventKind::Triaged, EventKind::Message];
    assert_eq!(env.kinds(&out).await, kinds);
    assert!(ticket.triaged_at.is_some());

    let Acknowledgement::Sent { message_id } = &out.acknowledgement else {
        panic!("expected an acknowledgement, got {:?}", out.acknowledgement);
    };
    let sent = env.sent().await;
    assert_eq!(sent.len(), 1);
    let ack = &sent[0];
    assert_eq!(ack.message_id.as_deref(), Some(message_id.as_str()));
    assert_eq!(reference_in_message_id(message_id, &ours()), Some(reference.clone()), "our id names the ticket");
    assert_eq!(ack.in_reply_to, ["CAG7p+Xk3q0Zt9Vb1mNq8sWf2rT6yU4iO0pL5aS3dF7gH9jK1lQ@mail.example.com"]);
    assert_eq!(ack.references, ack.in_reply_to);
    let subject = ack.subject.as_deref().unwrap();
    assert!(
        subject.starts_with(&format!("[{reference}] Abbiamo ricevuto la tua richiesta: Richiesta informazioni")),
        "{subject}"
    );
    assert_eq!(ack.control.auto_submitted.as_deref(), Some("auto-replied"));
    assert_eq!(ack.from.as_ref().unwrap().address, "assistenza@sportello.pagopa.it");
    assert_eq!(ack.to[0].address, "giulia.bianchi@example.com");
    assert!(ack.body.contains(reference.as_str()), "{}", ack.body);
    assert!(ack.body.starts_with("Abbiamo ricevuto"), "Italian mail, Italian answer: {}", ack.body);

    // SES/SQS redelivers: same ticket, nothing new written or sent.
    let again = env.receive(&raw).await;
    assert_eq!(again.action, EmailAction::Opened);
    assert!(again.replayed);
    assert_eq!(again.ticket_id, out.ticket_id);
    assert_eq!(again.acknowledgement, Acknowledgement::AlreadySent);
    assert_eq!(env.sent().await.len(), 1);
    assert_eq!(env.kinds(&again).await.len(), 5);
    assert_eq!(env.tickets().await, 1);
    // Nothing was queued: intake triaged.
    assert_eq!(env.engine.run_pending_steps(10).await.unwrap(), 0);
}

#[tokio::test]
async fn attachments_are_kept_as_metadata_and_charsets_decoded() {
    let env = env();
    let out = env.receive(&eml("04-pdf-and-image.eml")).await;
    let note = env.events(&out).await.into_iter().find(|e| e.kind == EventKind::Note).unwrap();
    let attachments = note.detail["email"]["attachments"].as_array().unwrap();
    let types: Vec<&str> = attachments.iter().map(|a| a["content_type"].as_str().unwrap()).collect();
    assert!(types.contains(&"application/pdf"), "{types:?}");
    assert!(attachments.iter().all(|a| a["size"].as_u64().unwrap() > 0 && a.get("content").is_none()));

    let out = env.receive(&eml("05-iso-8859-1-qp.eml")).await;
    let t = env.engine.ticket(out.ticket_id.as_ref().unwrap()).await.unwrap();
    assert_eq!(t.requester.name.as_deref(), Some("Nicolò Ferrà"));
    assert!(t.subject.as_deref().unwrap().contains("perchè"), "{:?}", t.subject);

    let out = env.receive(&eml("06-windows-1252.eml")).await;
    let t = env.engine.ticket(out.ticket_id.as_ref().unwrap()).await.unwrap();
    assert_eq!(t.requester.name.as_deref(), Some("Anna Lucà"));
    let body = &env.events(&out).await.into_iter().find(|e| e.kind == EventKind::Message).unwrap().detail["body"];
    assert!(!body.as_str().unwrap().contains('\u{FFFD}'), "decoded without replacement characters");
}

#[tokio::test]
async fn an_english_mail_is_acknowledged_in_english() {
    let env = env();
    let out = env.receive(&eml("02-alternative-text-html.eml")).await;
    assert!(matches!(out.acknowledgement, Acknowledgement::Sent { .. }));
    let ack = &env.sent().await[0];
    assert!(ack.body.starts_with("We have received your request"), "{}", ack.body);
    assert!(ack.subject.as_deref().unwrap().contains("We have received your request: Payment receipt not received"));
}

#[tokio::test]
async fn a_reply_to_our_acknowledgement_threads_by_in_reply_to() {
    let env = env();
    let first = env.receive(&eml("01-plain-utf8.eml")).await;
    let ack_id = env.sent().await[0].message_id.clone().unwrap();
    // A client that dropped the subject tag: only In-Reply-To leads to the ticket.
    let reply = mail(
        "reply-1@mail.example.com",
        &format!("In-Reply-To: <{ack_id}>\r\nReferences: <CAG7p@mail.example.com> <{ack_id}>\r\n"),
        "Re: ricevuta",
        "Grazie, allego anche il numero della transazione: 123456.",
    );
    let out = env.receive(&reply).await;
    assert_eq!(out.action, EmailAction::Threaded);
    assert_eq!(out.ticket_id, first.ticket_id);
    assert_eq!(out.acknowledgement, Acknowledgement::NotApplicable);
    let events = env.events(&out).await;
    let last = events.last().unwrap();
    assert_eq!(last.kind, EventKind::Message);
    assert!(last.detail["body"].as_str().unwrap().contains("123456"));
    assert_eq!(env.sent().await.len(), 1, "replies are not acknowledged");

    let again = env.receive(&reply).await;
    assert!(again.replayed);
    assert_eq!(env.events(&out).await.len(), events.len(), "a redelivered reply adds nothing");
    assert_eq!(env.tickets().await, 1);
}

#[tokio::test]
async fn a_reply_threads_by_the_subject_tag_and_reopens_a_resolved_ticket() {
    let env = env();
    let ticket = env.ticket_with("SP-7K3Q9XWD", TicketState::Resolved).await;
    // The corpus reply quotes an SES-minted Message-ID (no reference in it): the tag finds it.
    let out = env.receive(&eml("07-reply-threaded.eml")).await;
    assert_eq!(out.action, EmailAction::Threaded);
    assert_eq!(out.ticket_id.as_ref(), Some(&ticket.id));
    assert!(out.reopened);
    let t = env.engine.ticket(&ticket.id).await.unwrap();
    assert_eq!(t.state, TicketState::InProgress);
    let kinds = env.kinds(&out).await;
    assert_eq!(kinds[kinds.len() - 2..], [EventKind::Message, EventKind::Reopened]);
}

#[tokio::test]
async fn a_sollecito_on_an_open_ticket_is_a_reminder_event() {
    let env = env();
    let ticket = env.ticket_of("r.esposito@studio.example.org", "SP-4M8R2TQC", TicketState::InProgress).await;
    let out = env.receive(&eml("08-sollecito.eml")).await;
    assert_eq!(out.action, EmailAction::Reminder);
    assert_eq!(out.ticket_id.as_ref(), Some(&ticket.id));
    assert_eq!(env.kinds(&out).await.last(), Some(&EventKind::Reminder));
    assert_eq!(env.engine.ticket(&ticket.id).await.unwrap().state, TicketState::InProgress);
}

#[tokio::test]
async fn a_new_mail_quoting_a_reference_opens_a_related_reminder() {
    let env = env();
    let earlier = env.ticket_with("SP-2H6J8K0M", TicketState::InProgress).await;
    let raw = mail(
        "new-1@mail.example.com",
        "",
        "Pratica rimborso",
        "Buongiorno, vi ho già scritto due settimane fa (pratica SP-2H6J8K0M) e non ho ricevuto risposta.",
    );
    let out = env.receive(&raw).await;
    assert_eq!(out.action, EmailAction::Opened);
    assert_ne!(out.ticket_id.as_ref(), Some(&earlier.id));
    assert_eq!(out.related, Some(earlier.reference.clone()));
    let t = env.engine.ticket(out.ticket_id.as_ref().unwrap()).await.unwrap();
    assert_eq!(t.category.as_deref(), Some("reminder"));
    assert_eq!(t.related, Some(earlier.reference));
    assert!(matches!(out.acknowledgement, Acknowledgement::Sent { .. }));
}

#[tokio::test]
async fn writing_on_a_closed_ticket_opens_a_new_related_one() {
    let env = env();
    let closed = env.ticket_with("SP-7K3Q9XWD", TicketState::Closed).await;
    let out = env.receive(&eml("07-reply-threaded.eml")).await;
    assert_eq!(out.action, EmailAction::Opened);
    assert_ne!(out.ticket_id.as_ref(), Some(&closed.id));
    assert_eq!(out.related, Some(closed.reference));
    assert_eq!(env.engine.ticket(&closed.id).await.unwrap().state, TicketState::Closed);
}

/// A mail from `from` (`Name <address>`) answering ticket `reference` by its subject tag.
fn reply_from(from: &str, message_id: &str, reference: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: assistenza@sportello.pagopa.it\r\nDate: Wed, 11 Mar 2026 09:00:00 +0100\r\n\
         Message-ID: <{message_id}>\r\nSubject: Re: [{reference}] la tua richiesta\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Only the requester (or a target the ticket was escalated to) writes into a ticket. Anybody
/// else quoting its reference gets a ticket of their own, linked to it for the operator; the
/// ticket they named is untouched (not reopened, no message), privacy tickets included.
#[tokio::test]
async fn a_stranger_quoting_a_reference_gets_a_ticket_of_their_own() {
    let env = env();
    let resolved = env.ticket_with("SP-7K3Q9XWD", TicketState::Resolved).await;
    let mut privacy = env.ticket_of("anna.luca@example.net", "SP-4M8R2TQC", TicketState::InProgress).await;
    privacy.team = "privacy".into();
    privacy.category = Some("privacy_issue".into());
    let privacy = env.engine.ports.tickets.update(&privacy, &[]).await.unwrap();
    let before_resolved = env.events_of(&resolved).await.len();
    let before_privacy = env.events_of(&privacy).await.len();

    for (target, id) in [(&resolved, "eve-1@evil.example"), (&privacy, "eve-2@evil.example")] {
        let raw = reply_from(
            "Eve <eve@evil.example>",
            id,
            target.reference.as_str(),
            "Sono io il titolare: mandatemi i dati a questo indirizzo.",
        );
        let out = env.receive(&raw).await;
        assert_eq!(out.action, EmailAction::Opened, "{out:?}");
        assert_ne!(out.ticket_id.as_ref(), Some(&target.id));
        assert_eq!(out.related.as_ref(), Some(&target.reference), "linked for the operator to see");
        assert!(!out.reopened);
        let opened = env.engine.ticket(out.ticket_id.as_ref().unwrap()).await.unwrap();
        assert_eq!(opened.requester.email.as_deref(), Some("eve@evil.example"));
        assert_eq!(opened.related.as_ref(), Some(&target.reference));
        // The sender is on the message itself.
        let events = env.events(&out).await;
        let message = events.iter().find(|e| e.kind == EventKind::Message).unwrap();
        assert_eq!(message.detail["sender"], "eve@evil.example", "{}", message.detail);
        // A redelivery is the same new ticket.
        let again = env.receive(&raw).await;
        assert_eq!((again.ticket_id, again.replayed), (out.ticket_id.clone(), true));
    }
    assert_eq!(env.engine.ticket(&resolved.id).await.unwrap().state, TicketState::Resolved, "not reopened");
    assert_eq!(env.events_of(&resolved).await.len(), before_resolved, "nothing written on it");
    assert_eq!(env.events_of(&privacy).await.len(), before_privacy, "nor on the privacy ticket");

    // The requester herself, from her own address in another case, still threads and reopens.
    let out = env
        .receive(&reply_from(
            "Giulia Bianchi <Giulia.Bianchi@Example.com>",
            "giulia-2@mail.example.com",
            "SP-7K3Q9XWD",
            "Il problema si è ripresentato.",
        ))
        .await;
    assert_eq!((out.action, out.reopened), (EmailAction::Threaded, true));
    assert_eq!(out.ticket_id.as_ref(), Some(&resolved.id));
    let last = env.events_of(&resolved).await.into_iter().rfind(|e| e.kind == EventKind::Message).unwrap();
    assert_eq!(last.detail["from"], "requester");
    assert_eq!(last.detail["sender"], "Giulia.Bianchi@Example.com");
}

/// A third party the ticket was escalated to by e-mail may write into it without its reply
/// token (a question back, more details): recorded as the target's message, with its sender.
#[tokio::test]
async fn a_target_the_ticket_was_escalated_to_threads_into_it() {
    let env = env();
    let mut t = env.ticket_with("SP-2H6J8K0M", TicketState::InProgress).await;
    let now = env.engine.now();
    t.move_to(TicketState::AwaitingResolutionNotice, now).unwrap();
    t.escalations.push(sportello::domain::Escalation {
        escalation_id: "esc-1".into(),
        target: "third_parties".into(),
        sent_at: now,
        notice_at: None,
        notice: None,
        due: None,
        reminded_at: None,
    });
    let t = env.engine.ports.tickets.update(&t, &[]).await.unwrap();
    let out = env
        .receive(&reply_from(
            "Terza Parte <escalations@third-party.example>",
            "tp-1@third-party.example",
            t.reference.as_str(),
            "Ci serve anche la data del pagamento.",
        ))
        .await;
    assert_eq!(out.action, EmailAction::Threaded, "{out:?}");
    assert_eq!(out.ticket_id.as_ref(), Some(&t.id));
    let last = env.events_of(&t).await.into_iter().rfind(|e| e.kind == EventKind::Message).unwrap();
    assert_eq!(last.detail["from"], "target");
    assert_eq!(last.detail["target"], "third_parties");
    assert_eq!(last.detail["sender"], "escalations@third-party.example");
    assert_eq!(last.actor, Actor { id: "third_parties".into(), role: sportello::domain::ActorRole::Target });
    assert_eq!(env.engine.ticket(&t.id).await.unwrap().state, TicketState::AwaitingResolutionNotice);
}

#[tokio::test]
async fn autoresponders_lists_and_bulk_mail_get_no_acknowledgement() {
    let env = env();
    for (name, reason) in [
        ("09-outlook-auto-reply.eml", "Auto-Submitted"),
        ("10-out-of-office-bulk.eml", "Precedence: bulk"),
        ("11-mailing-list.eml", "mailing list"),
    ] {
        let out = env.receive(&eml(name)).await;
        assert_eq!(out.action, EmailAction::Opened, "{name}");
        let Acknowledgement::Suppressed { reason: why } = &out.acknowledgement else {
            panic!("{name}: {:?}", out.acknowledgement);
        };
        assert!(why.contains(reason), "{name}: {why}");
    }
    assert!(env.sent().await.is_empty(), "nothing sent");
}

#[tokio::test]
async fn an_autoresponder_answering_a_resolved_ticket_does_not_reopen_it() {
    let env = env();
    let ticket = env.ticket_of("Francesca.Moretti@ente.example.org", "SP-9Q2W4E6R", TicketState::Resolved).await;
    let out = env.receive(&eml("09-outlook-auto-reply.eml")).await;
    assert_eq!(out.action, EmailAction::Threaded);
    assert_eq!(out.ticket_id.as_ref(), Some(&ticket.id));
    assert!(!out.reopened);
    assert_eq!(env.engine.ticket(&ticket.id).await.unwrap().state, TicketState::Resolved);
}

#[tokio::test]
async fn our_own_mail_and_bounces_open_no_ticket() {
    let env = env();
    let own = b"From: Supporto pagoPA <assistenza@sportello.pagopa.it>\r\nTo: supporto@pagopa.it\r\n\
                Message-ID: <SP-7K3Q9XWD.0a1b2c@sportello.pagopa.it>\r\nSubject: [SP-7K3Q9XWD] x\r\n\r\nhello\r\n";
    assert_eq!(env.receive(own).await.action, EmailAction::IgnoredOwn);
    for name in ["12-dsn-bounce.eml", "13-dsn-mailbox-full.eml"] {
        let out = env.receive(&eml(name)).await;
        assert_eq!(out.action, EmailAction::IgnoredBounce, "{name}");
        assert_eq!(out.ticket_id, None, "{name}: not about one of our tickets");
    }
    assert_eq!(env.tickets().await, 0);
    assert!(env.sent().await.is_empty());
}

#[tokio::test]
async fn a_bounce_of_our_acknowledgement_records_a_delivery_failure() {
    let env = env();
    let opened = env.receive(&eml("01-plain-utf8.eml")).await;
    let ack_id = env.sent().await[0].message_id.clone().unwrap();
    let dsn = String::from_utf8(eml("12-dsn-bounce.eml"))
        .unwrap()
        .replace("0102019a6f708193-cebfa091-8c7d-6e5f-4a3b-2c1d0e9f8a7b-000000@sportello.pagopa.it", &ack_id);
    let out = env.receive(dsn.as_bytes()).await;
    assert_eq!(out.action, EmailAction::IgnoredBounce);
    assert_eq!(out.ticket_id, opened.ticket_id);
    let events = env.events(&opened).await;
    let failure = events.iter().find(|e| e.kind == EventKind::DeliveryFailed).expect("a delivery failure");
    assert_eq!(failure.detail["status"], "5.1.1");
    assert_eq!(failure.detail["message_id"], ack_id.as_str());

    assert!(env.receive(dsn.as_bytes()).await.replayed);
    let failures = env.events(&opened).await.iter().filter(|e| e.kind == EventKind::DeliveryFailed).count();
    assert_eq!(failures, 1);
    assert_eq!(env.tickets().await, 1, "the bounce opened nothing");
}

#[tokio::test]
async fn a_virus_is_rejected_and_spam_quarantined() {
    let env = env();
    let virus = Verdicts { virus: VerdictStatus::Fail, ..Verdicts::default() };
    let out = env.engine.receive_email(&eml("01-plain-utf8.eml"), Some(virus)).await.unwrap();
    assert_eq!(out.action, EmailAction::RejectedVerdict);
    assert_eq!(out.ticket_id, None);
    assert_eq!(out.verdicts, ["Virus Fail → reject"]);
    assert_eq!(env.tickets().await, 0);

    let spam = Verdicts { spam: VerdictStatus::Fail, ..Verdicts::default() };
    let out = env.engine.receive_email(&eml("02-alternative-text-html.eml"), Some(spam)).await.unwrap();
    assert_eq!(out.action, EmailAction::Opened);
    assert!(out.quarantined);
    assert!(matches!(out.acknowledgement, Acknowledgement::Suppressed { .. }));
    let note = env.events(&out).await.into_iter().find(|e| e.kind == EventKind::Note).unwrap();
    assert_eq!(note.detail["email"]["quarantine"], true);
    assert_eq!(note.detail["email"]["verdicts"][0]["verdict"], "spam");

    // SPF alone fails all the time with forwarders: accepted, flagged.
    let spf = Verdicts { spf: VerdictStatus::Fail, ..Verdicts::default() };
    let out = env.engine.receive_email(&eml("05-iso-8859-1-qp.eml"), Some(spf)).await.unwrap();
    assert!(!out.quarantined);
    assert_eq!(out.verdicts, ["Spf Fail → accept"]);
    assert!(matches!(out.acknowledgement, Acknowledgement::Sent { .. }));
    assert_eq!(env.sent().await.len(), 1);
}

#[tokio::test]
async fn the_ses_notifications_carry_their_verdicts_through() {
    let env = env();
    let json = crate::support::fixture_text("events/ses-sns-inbound-virus.json");
    let (raw, verdicts) = parse_ses_sns_notification(&json).unwrap();
    let out = env.engine.receive_email(&raw, Some(verdicts)).await.unwrap();
    assert_eq!(out.action, EmailAction::RejectedVerdict);
    let json = crate::support::fixture_text("events/ses-sns-inbound.json");
    let (raw, verdicts) = parse_ses_sns_notification(&json).unwrap();
    let out = env.engine.receive_email(&raw, Some(verdicts)).await.unwrap();
    assert_eq!(out.action, EmailAction::Opened);
}

#[tokio::test]
async fn garbage_is_refused_with_a_reason() {
    let env = env();
    for (raw, expected) in [
        (&b""[..], "empty"),
        (&b"\x00\x01\x02\xff\xfe binary"[..], "not an email"),
        (&b"just some words, no headers at all"[..], "not an email"),
    ] {
        match env.engine.receive_email(raw, None).await {
            Err(sportello::engine::EngineError::Invalid { field, message }) => {
                assert_eq!(field, "message");
                assert!(message.contains(expected), "{message}");
            }
            other => panic!("{raw:?}: {other:?}"),
        }
    }
}

// --- HTTP ---

const SECRET: &str = MAIL_TOKEN;

fn app(env: &Env) -> axum::Router {
    env.app.router.clone()
}

async fn post(
    env: &Env,
    content_type: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String, serde_json::Value) {
    let mut request = Request::post("/email/inbound").header("content-type", content_type);
    if let Some(token) = token {
        request = request.header("x-sportello-mail-token", token);
    }
    let response = app(env).oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, content_type, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn http_accepts_raw_mime_and_says_what_happened() {
    let env = env();
    let (status, _, body) = post(&env, "message/rfc822", Some(SECRET), eml("01-plain-utf8.eml")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["action"], "opened");
    assert!(TicketReference::find_in(body["reference"].as_str().unwrap()).is_some());
    assert_eq!(body["acknowledgement"]["status"], "sent");
    let (status, _, body) = post(&env, "Message/RFC822; charset=utf-8", Some(SECRET), eml("12-dsn-bounce.eml")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["action"], "ignored_bounce");
}

#[tokio::test]
async fn http_bad_input_is_problem_json_never_500() {
    let env = env();
    let good = eml("01-plain-utf8.eml");
    // Content type, token, body; expected status and a phrase of the detail.
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        ("message/rfc822", None, good.clone(), StatusCode::UNAUTHORIZED, "X-Sportello-Mail-Token"),
        ("message/rfc822", Some("wrong"), good.clone(), StatusCode::UNAUTHORIZED, "not valid"),
        ("application/json", Some(SECRET), good.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "message/rfc822"),
        ("text/plain", Some(SECRET), good.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "message/rfc822"),
        ("message/rfc822", Some(SECRET), Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "empty"),
        ("message/rfc822", Some(SECRET), b"\r\n  \r\n".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "empty"),
        (
            "message/rfc822",
            Some(SECRET),
            vec![0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0xd8],
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a usable email message",
        ),
        (
            "message/rfc822",
            Some(SECRET),
            b"Content-Type: multipart/mixed; boundary=\"b\"\r\nFrom: a@example.it\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ncut off"
                .to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "truncated",
        ),
        (
            "message/rfc822",
            Some(SECRET),
            vec![b'a'; sportello::email::MAX_EMAIL_BYTES + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "at most",
        ),
    ];
    for (content_type, token, body, expected, detail) in cases {
        let (status, ct, problem) = post(&env, content_type, token, body).await;
        assert_eq!(status, expected, "{content_type} {token:?}: {problem}");
        assert_eq!(ct, "application/problem+json");
        let text = problem["detail"].as_str().unwrap_or_default();
        assert!(text.contains(detail), "{expected}: {text}");
    }
    assert_eq!(env.tickets().await, 0);

    let response = app(&env).oneshot(Request::get("/email/inbound").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}

#[test]
fn mail_tokens_are_kept_hashed() {
    let token =
        MailToken::from_sha256_hex("   2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n").unwrap();
    assert!(token.verify(b"hello"));
    assert!(!token.verify(b"hello "));
    assert!(MailToken::from_sha256_hex("hello").is_err());
    assert!(MailToken::from_sha256_hex(&"g".repeat(64)).is_err());
    assert_eq!(format!("{token:?}"), "MailToken(..)");
}

// --- MIME budgets ---

/// A message of `parts` small text parts, nested `depth` multiparts deep (1 = flat).
fn structured(message_id: &str, parts: usize, depth: usize) -> Vec<u8> {
    let mut raw = format!(
        "From: Mario Rossi <mario.rossi@example.it>\r\nTo: assistenza@sportello.pagopa.it\r\n\
         Subject: Ricevute di pagamento\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n"
    );
    for level in 1..depth {
        raw.push_str(&format!("--b{}\r\nContent-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n", level - 1));
    }
    let inner = depth - 1;
    for i in 0..parts {
        raw.push_str(&format!("--b{inner}\r\nContent-Type: text/plain\r\n\r\nRicevuta {i}.\r\n"));
    }
    for level in (0..depth).rev() {
        raw.push_str(&format!("--b{level}--\r\n"));
    }
    raw.into_bytes()
}

/// Thousands of parts, or multiparts nested dozens deep, cost the parser memory out of all
/// proportion to the message's size: such a message is not parsed. It still opens its ticket
/// from its headers (never a lost mail), the requester is acknowledged, and the ticket and the
/// gateway's answer say why its content was not read.
#[tokio::test]
async fn a_message_over_the_mime_budgets_is_kept_by_its_headers() {
    for (what, raw, expected) in [
        ("5,000 parts", structured("parts@example.it", 5_000, 1), "5,000 MIME parts"),
        ("40 levels", structured("depth@example.it", 2, 40), "nested 40 deep"),
    ] {
        let env = env();
        let (status, _, outcome) = post(&env, "message/rfc822", Some(SECRET), raw.clone()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{what}: {outcome}");
        assert_eq!(outcome["action"], "opened", "{what}: {outcome}");
        let refused = outcome["content_refused"].as_str().unwrap_or_else(|| panic!("{what}: read anyway: {outcome}"));
        assert!(refused.contains(expected), "{what}: {refused}");
        assert_eq!(outcome["acknowledgement"]["status"], "sent", "{what}: {outcome}");
        let t = env.engine.ticket_by_reference(outcome["reference"].as_str().unwrap()).await.unwrap();
        assert_eq!(t.subject.as_deref(), Some("Ricevute di pagamento"), "{what}");
        assert_eq!(t.requester.email.as_deref(), Some("mario.rossi@example.it"), "{what}");
        let events = env.engine.ports.events.list(&t.id).await.unwrap();
        let note = events.iter().find(|e| e.kind == EventKind::Note).expect("the envelope");
        assert!(note.detail["email"]["content_refused"].as_str().unwrap_or("").contains(expected), "{what}: {note:?}");
        // Redelivered: the same ticket, nothing new.
        let (_, _, again) = post(&env, "message/rfc822", Some(SECRET), raw).await;
        assert_eq!((again["replayed"].as_bool(), &again["reference"]), (Some(true), &outcome["reference"]), "{what}");
    }
    // Within the budgets, a message with many parts is read as usual.
    let env = env();
    let (_, _, outcome) = post(&env, "message/rfc822", Some(SECRET), structured("fine@example.it", 200, 3)).await;
    assert!(outcome.get("content_refused").is_none(), "{outcome}");
    let t = env.engine.ticket_by_reference(outcome["reference"].as_str().unwrap()).await.unwrap();
    let events = env.engine.ports.events.list(&t.id).await.unwrap();
    let body =
        events.iter().find(|e| e.kind == EventKind::Message).unwrap().detail["body"].as_str().unwrap().to_string();
    assert!(body.contains("Ricevuta 0.") && body.contains("Ricevuta 199."), "{}", &body[..body.len().min(200)]);
}
