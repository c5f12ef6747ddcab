//! The operator's answer reaches the requester on their channel when the ticket is resolved:
//! e-mail threaded on their last message, chat in the session, API on the ticket, voice as a
//! call-back to make.

use crate::support::app::{TestApp, ok};
use serde_json::json;
use sportello::adapters::embedded::OutboxMailer;
use sportello::domain::{EventKind, Requester};
use sportello::engine::{AnswerDelivery, NewChatSession};
use sportello::http::operator_auth::Role;

fn mail(message_id: &str, headers: &str, subject: &str, body: &str) -> Vec<u8> {
    crate::support::citizen_mail("Wed, 02 Dec 2026 09:00:00 +0100", message_id, headers, subject, body)
}

fn header(raw: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut value = String::new();
    let mut inside = false;
    for line in text.split("\r\n") {
        if inside && line.starts_with([' ', '\t']) {
            value.push_str(line);
            continue;
        }
        inside = false;
        if let Some(rest) = line.strip_prefix(&format!("{name}: ")) {
            value = rest.to_string();
            inside = true;
        }
    }
    value
}

#[tokio::test]
async fn an_email_answer_is_a_reply_threaded_on_the_requesters_last_message() {
    let d = TestApp::new();
    let first = d
        .engine
        .receive_email(&mail("req-1@mail.example.com", "", "Rimborso avviso", "Ho pagato due volte."), None)
        .await
        .unwrap();
    let reference = first.reference.clone().unwrap();
    let outbox = OutboxMailer::new(d.db.clone());
    let ack = outbox.sent(10).await.unwrap();
    assert_eq!(ack.len(), 1, "the acknowledgement");
    let ack_id = ack[0].message_id.clone();
    // The requester writes again, answering the acknowledgement.
    let second = d
        .engine
        .receive_email(
            &mail(
                "req-2@mail.example.com",
                &format!("In-Reply-To: <{ack_id}>\r\nReferences: <req-1@mail.example.com> <{ack_id}>\r\n"),
                &format!("Re: [{reference}] Rimborso avviso"),
                "Aggiungo il numero dell'avviso.",
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(second.reference.as_ref(), Some(&reference));
    d.engine.run_pending_steps(10).await.unwrap();

    let t = d.work(reference.as_str(), "Q", "Il rimborso arriva entro 30 giorni.").await;
    assert_eq!(t["state"], "resolved");

    let sent = outbox.sent(10).await.unwrap();
    assert_eq!(sent.len(), 2, "the acknowledgement and the answer");
    let answer = &sent[1];
    assert_eq!(answer.recipients, ["giulia.bianchi@example.com"]);
    assert_eq!(answer.ticket_reference.as_deref(), Some(reference.as_str()));
    assert!(answer.message_id.starts_with(&format!("{reference}.")), "{}", answer.message_id);
    assert_eq!(header(&answer.raw, "In-Reply-To"), "<req-2@mail.example.com>");
    let refs = header(&answer.raw, "References");
    let order: Vec<usize> = ["req-1@mail.example.com", ack_id.as_str(), "req-2@mail.example.com"]
        .iter()
        .map(|id| refs.find(id).unwrap_or_else(|| panic!("{id} in {refs}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "oldest first, the answered one last: {refs}");
    assert_eq!(header(&answer.raw, "Subject"), format!("[{reference}] Re: Rimborso avviso"));
    let parsed = mail_parser::MessageParser::default().parse(&answer.raw).unwrap();
    assert!(parsed.body_text(0).unwrap().contains("Il rimborso arriva entro 30 giorni."));

    // The step the resolve queued runs too (and any redelivery of it): nothing is sent again.
    d.engine.run_pending_steps(10).await.unwrap();
    assert_eq!(outbox.sent(10).await.unwrap().len(), 2);
    let id = second.ticket_id.unwrap();
    let events = d.engine.ports.events.list(&id).await.unwrap();
    let answered = events.iter().find(|e| e.kind == EventKind::Answered).unwrap();
    let answer_id = answered.detail["answer_id"].as_str().unwrap();
    assert_eq!(d.engine.deliver_answer(&id, answer_id).await.unwrap(), AnswerDelivery::AlreadyDelivered);
    let mailed: Vec<_> = events.iter().filter(|e| e.detail.get("answer_id").is_some()).collect();
    assert_eq!(mailed.len(), 2, "the answer and the mail that carried it");
    assert_eq!(mailed[1].detail["message_id"], answer.message_id.as_str());

    // The requester's reply to the answer finds the ticket again (and reopens it).
    let reply = d
        .engine
        .receive_email(
            &mail(
                "req-3@mail.example.com",
                &format!("In-Reply-To: <{}>\r\n", answer.message_id),
                "Re: Rimborso avviso",
                "Grazie, ma non è ancora arrivato.",
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!((reply.reference.as_ref(), reply.reopened), (Some(&reference), true));
}

#[tokio::test]
async fn a_chat_answer_appears_in_the_session_poll() {
    let d = TestApp::new();
    let started = d
        .engine
        .chat_start(NewChatSession {
            session_id: "0196a6c2-7b1e-7000-9000-000000000001".into(),
            lang: Some("it".into()),
            ..NewChatSession::default()
        })
        .await
        .unwrap();
    let reference = started.ticket.reference.to_string();
    d.engine.chat_user_message(&reference, &started.token, "xqzv wplk frumbo").await.unwrap();
    d.engine.chat_request_operator(&reference, &started.token).await.unwrap();
    d.engine.run_pending_steps(10).await.unwrap();
    let before = d.engine.chat_messages(&reference, &started.token, 0).await.unwrap().next;

    d.work(&reference, "Q", "Puoi chiedere il rimborso dall'app IO.").await;
    let poll = d.engine.chat_messages(&reference, &started.token, before).await.unwrap();
    let said: Vec<(&str, &str)> = poll.messages.iter().map(|m| (m.from.as_str(), m.body.as_str())).collect();
    // The answer, then the assistant's satisfaction question.
    let survey = "Quanto è soddisfatto della risposta dell'operatore? Da 1 a 5.";
    assert_eq!(said, [("operator", "Puoi chiedere il rimborso dall'app IO."), ("bot", survey)]);
    d.engine.run_pending_steps(10).await.unwrap();
    let poll = d.engine.chat_messages(&reference, &started.token, before).await.unwrap();
    assert_eq!(poll.messages.len(), 2, "a redelivered step says it once");
}

#[tokio::test]
async fn an_api_answer_is_on_the_ticket_and_a_call_waits_for_a_call_back() {
    let d = TestApp::new();
    let api = d.open("api", "basic_info", "api-1").await;
    d.work(&api, "Q", "Risposta per l'app.").await;
    let t = d.engine.ticket_by_reference(&api).await.unwrap();
    let events = d.engine.ports.events.list(&t.id).await.unwrap();
    let answered = events.iter().find(|e| e.kind == EventKind::Answered).unwrap();
    assert_eq!(answered.detail["body"], "Risposta per l'app.");
    assert_eq!(OutboxMailer::new(d.db.clone()).sent(10).await.unwrap().len(), 0, "no mail for an API client");

    let requester = Requester { phone: Some("+393331234567".into()), ..Requester::default() };
    let call = d.open_with("voice", "basic_info", "call-1", requester).await;
    d.work(&call, "Q", "La richiamiamo con l'esito.").await;
    let t = d.engine.ticket_by_reference(&call).await.unwrap();
    let events = d.engine.ports.events.list(&t.id).await.unwrap();
    let callback = events.iter().find_map(|e| e.detail.get("callback")).expect("a call-back to make");
    assert_eq!(callback["phone"], "+393331234567");
    assert_eq!(callback["status"], "to_call");
    let answer_id = events.iter().find(|e| e.kind == EventKind::Answered).unwrap().detail["answer_id"].clone();
    assert_eq!(callback["answer_id"], answer_id);
    let _ = ok((axum::http::StatusCode::OK, json!({})));
}

/// Message-IDs that are valid but unusual (a quoted local part with a space, UTF-8, one folded
/// across lines) must not cost the requester the acknowledgement or the operator's answer.
#[tokio::test]
async fn unusual_message_ids_still_get_the_acknowledgement_and_the_answer() {
    for (what, id_header) in [
        ("a quoted local part", "<\"giulia bianchi\"@mail.example.com>"),
        ("UTF-8", "<città.4f2a@posta.example.it>"),
        ("a line break", "<abc-4f2a\r\n def@mail.example.com>"),
    ] {
        let d = TestApp::new();
        let raw = format!(
            "From: Giulia Bianchi <giulia.bianchi@example.com>\r\nTo: supporto@pagopa.it\r\n\
             Date: Wed, 02 Dec 2026 09:00:00 +0100\r\nMessage-ID: {id_header}\r\n\
             Subject: Rimborso avviso\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHo pagato due volte.\r\n"
        );
        let first = d.engine.receive_email(raw.as_bytes(), None).await.unwrap();
        assert!(
            matches!(first.acknowledgement, sportello::engine::Acknowledgement::Sent { .. }),
            "{what}: {:?}",
            first.acknowledgement
        );
        let reference = first.reference.clone().unwrap();
        d.engine.run_pending_steps(10).await.unwrap();
        let resolved = d.work(reference.as_str(), "Q", "Il rimborso arriva entro 30 giorni.").await;
        assert_eq!(resolved["state"], "resolved", "{what}: {resolved}");
        assert_eq!(resolved["answer_delivery"]["via"], "email", "{what}: {resolved}");
        let sent = OutboxMailer::new(d.db.clone()).sent(10).await.unwrap();
        assert_eq!(sent.len(), 2, "{what}: the acknowledgement and the answer");
        for mail in &sent {
            let text = String::from_utf8_lossy(&mail.raw);
            let headers = &text[..text.find("\r\n\r\n").unwrap()];
            assert!(headers.is_ascii(), "{what}: headers must be ASCII:\n{headers}");
            let parsed = mail_parser::MessageParser::default().parse(&mail.raw).unwrap();
            assert_eq!(
                parsed.to().and_then(|a| a.first()).and_then(|a| a.address()),
                Some("giulia.bianchi@example.com")
            );
        }
        assert!(String::from_utf8_lossy(&sent[1].raw).contains("Il rimborso arriva entro 30 giorni."), "{what}");
    }
}

/// An answer that cannot reach the requester: the resolve response says so, the ticket shows
/// it and stays open (it is not resolved-and-answered), and the operator can then record that
/// they answered another way.
#[tokio::test]
async fn an_answer_that_cannot_be_delivered_is_shown_and_keeps_the_ticket_open() {
    let d = TestApp::new();
    // An address no mail can go to (no domain to deliver to).
    let requester = Requester { email: Some("giulia@localhost".into()), ..Requester::default() };
    let reference = d.open_with("email", "basic_info", "undeliverable-1", requester).await;
    let resolved = d.work(&reference, "Q", "Il rimborso arriva entro 30 giorni.").await;
    assert_eq!(resolved["state"], "in_progress", "{resolved}");
    assert_eq!(resolved["answer_delivery"]["via"], "undeliverable", "{resolved}");
    let reason = resolved["answer_delivery"]["reason"].as_str().unwrap();
    assert!(reason.contains("address"), "{reason}");
    assert_eq!(OutboxMailer::new(d.db.clone()).sent(10).await.unwrap().len(), 0);

    let view =
        ok(d.call(Role::Operator, axum::http::Method::GET, &format!("/operator/tickets/{reference}"), None).await);
    let undelivered: Vec<&serde_json::Value> =
        view["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "answer_undelivered").collect();
    assert_eq!(undelivered.len(), 1, "{view}");
    assert!(undelivered[0]["detail"]["reason"].as_str().unwrap().contains("address"));
    assert!(view["expected_next"].as_str().unwrap().contains("could not be delivered"), "{}", view["expected_next"]);

    // The step the resolve queued finds the same: nothing is sent, nothing changes again.
    d.engine.run_pending_steps(10).await.unwrap();
    let t = d.engine.ticket_by_reference(&reference).await.unwrap();
    assert_eq!(t.state, sportello::domain::TicketState::InProgress);

    // The operator phoned the requester: resolving with how the answer was given closes it.
    let base = format!("/operator/tickets/{reference}/resolve");
    let body = json!({"answer": "Comunicato per telefono.", "given_by": "phone"});
    let done = ok(d.call(Role::Operator, axum::http::Method::POST, &base, Some(body)).await);
    assert_eq!(done["state"], "resolved", "{done}");
    assert_eq!(done["answer_delivery"]["via"], "given_by_operator", "{done}");
    assert_eq!(OutboxMailer::new(d.db.clone()).sent(10).await.unwrap().len(), 0);
}
