//! The operator's answer reaches the requester on the channel they came by.
//!
//! Resolving records an `Answered` event with an `answer_id`, then queues a `deliver_answer` step
//! and tries it at once: the step queue keeps the delivery when the mailer (or anything else) is
//! down, so the operator is never blocked by it, and [`run_once`] on the answer id makes the
//! inline attempt and the step's (re)deliveries send one answer between them.
//!
//! - email: a reply through the [`Mailer`](crate::ports::Mailer), threaded on the requester's last
//!   message (`In-Reply-To`/`References`), with our Message-ID and `[SP-…]` subject tag so the
//!   requester's reply finds the ticket again;
//! - chat: an operator message in the session, read by the app's next poll;
//! - API: the `Answered` event is on the ticket, which the client reads by reference (and a
//!   `webhook` step when the client registered one);
//! - voice: a `Note` asking for a call-back to the number the caller left.

use super::{Engine, EngineError};
use crate::domain::{Actor, ChannelKind, Event, EventKind, Ticket, TicketId};
use crate::ports::{OutgoingMail, RunOnce, RunOnceError, StepMessage, run_once};
use serde::Serialize;
use serde_json::json;
use std::time::Duration;

pub const DELIVER_ANSWER: &str = "deliver_answer";

/// How long one delivery attempt holds its claim, and how long a delivered answer is remembered
/// (beyond the queue's longest retention).
const LEASE: Duration = Duration::from_secs(5 * 60);
const REMEMBER: Duration = Duration::from_secs(15 * 86_400);
/// Threads longer than this keep their first message and the latest ones.
const MAX_REFERENCES: usize = 20;

/// How an answer went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "via")]
pub enum AnswerDelivery {
    Email {
        message_id: String,
    },
    Chat {
        seq: usize,
    },
    /// Read from the ticket by the client app.
    Api,
    /// Waits for an operator's call-back.
    Callback,
    /// Nowhere to send it (no address); the answer stays on the ticket.
    Undeliverable {
        reason: String,
    },
    /// Delivered before (a redelivered step, or the inline attempt won).
    AlreadyDelivered,
}

impl Engine {
    /// Queues the delivery of answer `answer_id` of ticket `ticket` and tries it now. A failed
    /// attempt is left to the step; only a failure to queue it is an error.
    pub(crate) async fn send_answer(&self, ticket: &Ticket, answer_id: &str) -> Result<(), EngineError> {
        let step = StepMessage::new(
            DELIVER_ANSWER,
            format!("{}.answer.{answer_id}", ticket.id),
            json!({"ticket_id": ticket.id, "answer_id": answer_id}),
        )
        .with_attribute("ticket_id", ticket.id.to_string())
        .with_attribute("reference", ticket.reference.to_string());
        let queued = self.ports.steps.publish(&step).await;
        match self.deliver_answer_of(&ticket.id, answer_id, Some(ticket)).await {
            Ok(how) => tracing::info!(ticket = %ticket.id, reference = %ticket.reference, ?how, "answer delivered"),
            Err(e) => {
                tracing::warn!(ticket = %ticket.id, error = %e, "answer not delivered yet; the step will retry");
                queued?;
            }
        }
        Ok(())
    }

    /// Delivers one answer on the ticket's channel, once.
    pub async fn deliver_answer(&self, id: &TicketId, answer_id: &str) -> Result<AnswerDelivery, EngineError> {
        self.deliver_answer_of(id, answer_id, None).await
    }

    /// `resolved`: the ticket as the resolution saved it, when the caller has it (one read
    /// fewer); what delivery uses of it (channel, requester, reference) does not change after.
    async fn deliver_answer_of(
        &self,
        id: &TicketId,
        answer_id: &str,
        resolved: Option<&Ticket>,
    ) -> Result<AnswerDelivery, EngineError> {
        let key = format!("answer:{id}:{answer_id}");
        let deliver = || self.deliver_now(id, answer_id, resolved);
        let ran =
            run_once(self.ports.idempotency.as_ref(), &key, LEASE, REMEMBER, deliver).await.map_err(|e| match e {
                RunOnceError::Store(e) => e.into(),
                RunOnceError::Handler(e) => e,
            })?;
        match ran {
            RunOnce::Ran(how) => Ok(how),
            RunOnce::AlreadyDone => Ok(AnswerDelivery::AlreadyDelivered),
            RunOnce::InProgress => {
                Err(EngineError::Conflict("this answer is being delivered by another worker; retry shortly".into()))
            }
        }
    }

    async fn deliver_now(
        &self,
        id: &TicketId,
        answer_id: &str,
        resolved: Option<&Ticket>,
    ) -> Result<AnswerDelivery, EngineError> {
        let ticket = match resolved {
            Some(t) if &t.id == id => t.clone(),
            _ => self.ports.tickets.get(id).await?,
        };
        let events = self.ports.events.list(id).await?;
        let answered = events
            .iter()
            .find(|e| {
                e.kind == EventKind::Answered && e.detail.get("answer_id").and_then(|v| v.as_str()) == Some(answer_id)
            })
            .ok_or_else(|| EngineError::NotFound(format!("answer {answer_id} on ticket {id}")))?;
        let body = answered.detail.get("body").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let operator = answered.actor.clone();
        match ticket.channel_kind {
            ChannelKind::Email => self.email_answer(&ticket, &events, &operator, &body, answer_id).await,
            ChannelKind::Chat => {
                let said = self.chat_operator_message(&ticket.id, &operator, &body).await?;
                if let Some(question) = self.survey_question(&ticket, None) {
                    // The answer is out; a question that fails to follow must not send it twice.
                    if let Err(e) = self.chat_operator_message(&ticket.id, &operator, &question).await {
                        tracing::warn!(ticket = %ticket.id, error = %e, "survey question not posted in the chat");
                    }
                }
                Ok(AnswerDelivery::Chat { seq: said.seq })
            }
            ChannelKind::Api => {
                self.queue_client_webhook(&ticket, &events, answer_id).await?;
                Ok(AnswerDelivery::Api)
            }
            ChannelKind::Voice => {
                let phone = ticket.requester.phone.clone();
                let note = Event {
                    ticket_id: ticket.id.clone(),
                    at: self.now(),
                    actor: Actor::system(),
                    kind: EventKind::Note,
                    detail: json!({"callback": {"answer_id": answer_id, "phone": phone, "status": "to_call"}}),
                };
                self.ports.events.append(&[note]).await?;
                if phone.is_none() {
                    return Ok(AnswerDelivery::Undeliverable { reason: "the caller left no number".into() });
                }
                Ok(AnswerDelivery::Callback)
            }
        }
    }

    async fn email_answer(
        &self,
        ticket: &Ticket,
        events: &[Event],
        operator: &Actor,
        body: &str,
        answer_id: &str,
    ) -> Result<AnswerDelivery, EngineError> {
        let Some(mail) = self.answer_mail(ticket, events, body) else {
            let reason = "no e-mail address (or the rulebook has no `email:` block) to answer to".to_string();
            tracing::warn!(ticket = %ticket.id, "answer not mailed: no usable address");
            return Ok(AnswerDelivery::Undeliverable { reason });
        };
        let sent = self.ports.mailer.send(&mail).await?;
        let event = Event {
            ticket_id: ticket.id.clone(),
            at: self.now(),
            actor: operator.clone(),
            kind: EventKind::Message,
            detail: json!({
                "from": "operator",
                "answer_id": answer_id,
                "message_id": sent.message_id,
                "transport_id": sent.transport_id,
                "in_reply_to": mail.in_reply_to,
                "references": mail.references,
                "subject": mail.subject,
                "body": mail.text,
            }),
        };
        // The mail is out: failing to note it must not send it twice.
        if let Err(e) = self.ports.events.append(&[event]).await {
            tracing::warn!(ticket = %ticket.id, error = %e, "answer mailed but not recorded");
        }
        Ok(AnswerDelivery::Email { message_id: sent.message_id })
    }

    /// The reply: to the requester, on the thread of the messages on the ticket, in reply to the
    /// requester's last one.
    fn answer_mail(&self, ticket: &Ticket, events: &[Event], body: &str) -> Option<OutgoingMail> {
        let settings = self.rules.email.as_ref()?;
        let to = ticket.requester.email.clone()?;
        let mut references: Vec<String> = Vec::new();
        let mut last_from_requester = None;
        for (id, from_requester) in events.iter().filter_map(mail_id) {
            if !references.contains(&id) {
                references.push(id.clone());
            }
            if from_requester {
                last_from_requester = Some(id);
            }
        }
        // The reply goes after the message it answers.
        if let Some(last) = &last_from_requester {
            references.retain(|r| r != last);
            references.push(last.clone());
        }
        if references.len() > MAX_REFERENCES {
            references.drain(1..references.len() - (MAX_REFERENCES - 1));
        }
        let original = crate::email::normalize_subject(ticket.subject.as_deref().unwrap_or_default());
        let subject = if original.is_empty() {
            format!("[{}]", ticket.reference)
        } else {
            format!("[{}] Re: {original}", ticket.reference)
        };
        let subject: String = subject.chars().take(250).map(|c| if c.is_control() { ' ' } else { c }).collect();
        let domain = settings.from.rsplit_once('@').map_or("localhost", |(_, d)| d);
        let mut text = body.to_string();
        if let (Some(question), Some(link)) = (self.survey_question(ticket, None), self.survey_link(ticket)) {
            text.push_str(&format!("\n\n--\n{question}\n{link}\n"));
        }
        let mail = OutgoingMail {
            from: settings.from.clone(),
            to: vec![to],
            subject,
            text,
            html: None,
            message_id: super::outgoing_message_id(&ticket.reference, domain),
            in_reply_to: last_from_requester,
            references,
            ticket: Some(ticket.reference.clone()),
            auto_submitted: None,
            reply_to: None,
        };
        mail.validate().ok().map(|()| mail)
    }
}

/// The Message-ID an event records, and whether the requester sent it: a requester's message or
/// reminder, our mail, or the envelope note of the mail that opened the ticket.
fn mail_id(e: &Event) -> Option<(String, bool)> {
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
    match e.kind {
        EventKind::Message | EventKind::Reminder => {
            let id = text(e.detail.get("message_id"))?;
            Some((id, text(e.detail.get("from")).as_deref() == Some("requester")))
        }
        EventKind::Note => Some((text(e.detail.get("email").and_then(|m| m.get("message_id")))?, true)),
        _ => None,
    }
}
