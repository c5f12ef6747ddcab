//! The operator's answer reaches the requester on the channel they came by.
//!
//! Resolving records an `Answered` event with an `answer_id` and, in the same write, a
//! `deliver_answer` step (in the store's outbox) and the claim on the delivery (a [`Lease`]);
//! then the resolving request delivers the answer itself and, in one more write, records it,
//! completes the claim and drops the step. Only when that delivery fails (the mailer is down...)
//! is the step published, so the operator is never blocked by it; a crash in between leaves the
//! step for the sweep to publish. The step (or a redelivery of it) claims the answer id like any
//! [`crate::ports::run_once`] effect: it waits while the resolving request holds the claim, and finds the
//! answer delivered after. Where the store keeps the step in an outbox, the outbox holds the claim
//! (nobody runs the step before the resolving request drops or publishes it, or the sweep does
//! after its grace): the step then takes the key, and finds the answer's record in the history.
//!
//! - email: a reply through the [`Mailer`](crate::ports::Mailer), threaded on the requester's last
//!   message (`In-Reply-To`/`References`), with our Message-ID and `[SP-…]` subject tag so the
//!   requester's reply finds the ticket again;
//! - chat: an operator message in the session, read by the app's next poll;
//! - API: the `Answered` event is on the ticket, which the client reads by reference (and a
//!   `webhook` step when the client registered one);
//! - voice: a `Note` asking for a call-back to the number the caller left.
//!
//! An answer that cannot reach the requester (no address, an address no mail can reach, a mail
//! service that refuses it) is not an answer given: the ticket goes back to `in_progress` with an
//! `answer_undelivered` event saying why, the resolve call says so, and the SLA clocks keep
//! running. The operator reaches the requester another way and resolves again saying how
//! (`given_by`), which sends nothing.

use super::retry::Attempts;
use super::{Engine, EngineError};
use crate::domain::{Actor, ChannelKind, Event, EventKind, Ticket, TicketId, TicketState};
use crate::ports::mailer::usable_message_id;
use crate::ports::{Claim, Completion, FollowUps, Lease, Outboxed, OutgoingMail, StepMessage, StoreError, run_claimed};
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
    /// It cannot reach the requester, and why: the ticket went back to `in_progress` with an
    /// `answer_undelivered` event.
    Undeliverable {
        reason: String,
    },
    /// The operator gave the answer another way (a phone call, a letter): nothing was sent.
    GivenByOperator {
        how: String,
    },
    /// Not delivered yet (the mail service is down...): the queued step tries again.
    Queued {
        reason: String,
    },
    /// Delivered before (a redelivered step, or the inline attempt won).
    AlreadyDelivered,
}

/// What resolving did: the ticket as it stands after the delivery attempt, and how the answer went.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub ticket: Ticket,
    pub delivery: AnswerDelivery,
}

/// The longest `given_by` an operator may write (`phone`, `registered letter`...).
pub const MAX_GIVEN_BY_CHARS: usize = 40;

/// The `deliver_answer` step of answer `answer_id` of `ticket` and the claim on the delivery,
/// written with the resolution that gives the answer.
pub(crate) fn delivery_follow_ups(ticket: &Ticket, answer_id: &str) -> FollowUps {
    let step = StepMessage::new(
        DELIVER_ANSWER,
        format!("{}.answer.{answer_id}", ticket.id),
        json!({"ticket_id": ticket.id, "answer_id": answer_id}),
    )
    .with_attribute("ticket_id", ticket.id.to_string())
    .with_attribute("reference", ticket.reference.to_string());
    FollowUps { steps: vec![step], claims: vec![Lease::new(delivery_key(&ticket.id, answer_id), LEASE)] }
}

/// Whether the history records what became of answer `answer_id` (mailed, said in the chat,
/// left for a call-back, found undeliverable). A claim says so too, but a store may keep none for the
/// resolving request (its outbox holds the step instead, see [`FollowUps`]), and a crash can come
/// between a delivery's record and its claim's completion: the record is what was done.
fn answer_settled(events: &[Event], answer_id: &str) -> bool {
    let names = |detail: Option<&serde_json::Value>| {
        detail.and_then(|d| d.get("answer_id")).and_then(|v| v.as_str()) == Some(answer_id)
    };
    events.iter().any(|e| match e.kind {
        EventKind::Answered => false,
        EventKind::Note => names(e.detail.get("callback")),
        _ => names(Some(&e.detail)),
    })
}

/// The idempotency key of one answer's delivery.
fn delivery_key(id: &TicketId, answer_id: &str) -> String {
    format!("answer:{id}:{answer_id}")
}

impl Engine {
    /// Delivers answer `answer_id` of the ticket its resolution just saved (with the claim on the
    /// delivery and the step in `outbox`, see [`delivery_follow_ups`]). A failed attempt is left
    /// to the step, published now; a failure to publish it, to the sweep. `history`: the
    /// ticket's events as the resolution left them, when the caller knows them (one read fewer).
    pub(crate) async fn send_answer(
        &self,
        ticket: &Ticket,
        answer_id: &str,
        outbox: Vec<Outboxed>,
        history: Option<Vec<Event>>,
    ) -> Result<AnswerDelivery, EngineError> {
        match self.deliver_claimed(&ticket.id, answer_id, Some(ticket), history, &outbox).await {
            Ok(how) => {
                tracing::info!(ticket = %ticket.id, reference = %ticket.reference, ?how, "answer delivered");
                Ok(how)
            }
            Err(e) => {
                tracing::warn!(ticket = %ticket.id, error = %e, "answer not delivered yet; the step will retry");
                if let Err(e) = self.publish_outbox(&outbox).await {
                    tracing::warn!(ticket = %ticket.id, error = %e, "answer step left in the outbox for the sweep");
                }
                Ok(AnswerDelivery::Queued { reason: "the delivery failed for now; it is retried".into() })
            }
        }
    }

    /// Delivers one answer on the ticket's channel, once (the `deliver_answer` step).
    pub async fn deliver_answer(&self, id: &TicketId, answer_id: &str) -> Result<AnswerDelivery, EngineError> {
        let key = delivery_key(id, answer_id);
        match self.ports.idempotency.claim(&key, LEASE).await? {
            Claim::Completed => Ok(AnswerDelivery::AlreadyDelivered),
            Claim::InProgress => {
                Err(EngineError::Busy("this answer is being delivered by another worker; retry shortly".into()))
            }
            Claim::Acquired => self.deliver_claimed(id, answer_id, None, None, &[]).await,
        }
    }

    /// Delivers an answer whose claim the caller holds, and records it with the claim completed
    /// and `outbox` (its step, now useless) removed, in one write. `resolved`: the ticket as the
    /// resolution saved it, when the caller has it (one read fewer); what delivery uses of it
    /// (channel, requester, reference) does not change after.
    async fn deliver_claimed(
        &self,
        id: &TicketId,
        answer_id: &str,
        resolved: Option<&Ticket>,
        history: Option<Vec<Event>>,
        outbox: &[Outboxed],
    ) -> Result<AnswerDelivery, EngineError> {
        let key = delivery_key(id, answer_id);
        let completion = Completion { key: &key, keep_for: REMEMBER, outbox_done: outbox };
        let deliver = || self.deliver_now(id, answer_id, resolved, history);
        run_claimed(self.ports.idempotency.as_ref(), self.ports.events.as_ref(), completion, deliver)
            .await
            .map_err(EngineError::from)
    }

    /// Delivers the answer; returns how, and the events that record it (written with the claim's
    /// completion).
    async fn deliver_now(
        &self,
        id: &TicketId,
        answer_id: &str,
        resolved: Option<&Ticket>,
        history: Option<Vec<Event>>,
    ) -> Result<(AnswerDelivery, Vec<Event>), EngineError> {
        let ticket = match resolved {
            Some(t) if &t.id == id => t.clone(),
            _ => self.ports.tickets.get(id).await?,
        };
        let events = match history {
            Some(events) => events,
            None => self.ports.events.list(id).await?,
        };
        let answered = events
            .iter()
            .find(|e| {
                e.kind == EventKind::Answered && e.detail.get("answer_id").and_then(|v| v.as_str()) == Some(answer_id)
            })
            .ok_or_else(|| EngineError::NotFound(format!("answer {answer_id} on ticket {id}")))?;
        if answer_settled(&events, answer_id) {
            return Ok((AnswerDelivery::AlreadyDelivered, Vec::new()));
        }
        let body = answered.detail.get("body").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let operator = answered.actor.clone();
        let (how, recorded) = self.deliver_on_channel(&ticket, &events, &operator, &body, answer_id).await?;
        if let AnswerDelivery::Undeliverable { reason } = &how {
            self.undo_resolution(id, answer_id, reason).await?;
        }
        Ok((how, recorded))
    }

    async fn deliver_on_channel(
        &self,
        ticket: &Ticket,
        events: &[Event],
        operator: &Actor,
        body: &str,
        answer_id: &str,
    ) -> Result<(AnswerDelivery, Vec<Event>), EngineError> {
        let how = match ticket.channel_kind {
            ChannelKind::Email => {
                return self.email_answer(ticket, operator, self.answer_mail(ticket, events, body), answer_id).await;
            }
            ChannelKind::Chat => {
                let said = self.chat_operator_said(&ticket.id, operator, body, Some(answer_id)).await?;
                if let Some(question) = self.survey_question(ticket, None) {
                    // The answer is out; a question that fails to follow must not send it twice.
                    if let Err(e) = self.chat_survey_question(ticket, question).await {
                        tracing::warn!(ticket = %ticket.id, error = %e, "survey question not posted in the chat");
                    }
                }
                AnswerDelivery::Chat { seq: said.seq }
            }
            ChannelKind::Api => {
                self.queue_client_webhook(ticket, events, answer_id).await?;
                AnswerDelivery::Api
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
                    AnswerDelivery::Undeliverable { reason: "the caller left no number".into() }
                } else {
                    AnswerDelivery::Callback
                }
            }
        };
        Ok((how, Vec::new()))
    }

    async fn email_answer(
        &self,
        ticket: &Ticket,
        operator: &Actor,
        mail: Result<OutgoingMail, String>,
        answer_id: &str,
    ) -> Result<(AnswerDelivery, Vec<Event>), EngineError> {
        let mail = match mail {
            Ok(mail) => mail,
            Err(reason) => {
                tracing::warn!(ticket = %ticket.id, reason, "answer not mailed");
                return Ok((AnswerDelivery::Undeliverable { reason }, Vec::new()));
            }
        };
        let sent = match self.ports.mailer.send(&mail).await {
            Ok(sent) => sent,
            // Refused as it is (SES rejected it): sending it again changes nothing.
            Err(StoreError::Invalid(why)) => {
                tracing::warn!(ticket = %ticket.id, why, "answer refused by the mail service");
                let reason = format!("the mail service refused it: {why}");
                return Ok((AnswerDelivery::Undeliverable { reason }, Vec::new()));
            }
            Err(e) => return Err(e.into()),
        };
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
        // Recorded with the claim's completion (`run_claimed`), which never sends it twice.
        Ok((AnswerDelivery::Email { message_id: sent.message_id }, vec![event]))
    }

    /// The reply: to the requester, on the thread of the messages on the ticket, in reply to the
    /// requester's last one; or why there can be none.
    fn answer_mail(&self, ticket: &Ticket, events: &[Event], body: &str) -> Result<OutgoingMail, String> {
        let settings = self.rules.email.as_ref().ok_or("the rulebook has no `email:` block to send mail with")?;
        let to = ticket.requester.email.clone().ok_or("the requester left no e-mail address")?;
        let mut references: Vec<String> = Vec::new();
        let mut last_from_requester = None;
        // Ids a header cannot carry as received are left out: the reply threads on the others and
        // on its `[SP-…]` subject tag rather than not going at all.
        let usable = events.iter().filter_map(mail_id).filter_map(|(id, r)| Some((usable_message_id(&id)?, r)));
        for (id, from_requester) in usable {
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
        let mut text = body.to_string();
        if let (Some(question), Some(link)) = (self.survey_question(ticket, None), self.survey_link(ticket)) {
            text.push_str(&format!("\n\n--\n{question}\n{link}\n"));
        }
        let mail =
            super::email::requester_mail(ticket, &settings.from, to, subject, text, last_from_requester, references);
        mail.validate().map_err(|e| format!("the requester's e-mail address cannot be mailed ({e})"))?;
        Ok(mail)
    }

    /// R, undone: the answer did not reach the requester, so the ticket is worked again
    /// (`in_progress`, the same assignee) with an `answer_undelivered` event saying why.
    async fn undo_resolution(&self, id: &TicketId, answer_id: &str, reason: &str) -> Result<(), EngineError> {
        let mut attempts = Attempts::new(format!("recording the undelivered answer of ticket {id}"));
        loop {
            let mut ticket = self.ports.tickets.get(id).await?;
            let now = self.now();
            // A ticket that moved on meanwhile (the requester wrote, it was reopened) keeps its state.
            if ticket.state == TicketState::Resolved {
                ticket.move_to(TicketState::InProgress, now)?;
            }
            // A survey that went with the undelivered answer never reached anyone: the next
            // resolution sends it.
            if ticket.survey.as_ref().is_some_and(|s| s.answered_at.is_none()) {
                ticket.survey = None;
            }
            ticket.updated_at = now;
            let event = Event {
                ticket_id: ticket.id.clone(),
                at: now,
                actor: Actor::system(),
                kind: EventKind::AnswerUndelivered,
                detail: json!({"answer_id": answer_id, "reason": reason, "channel": ticket.channel}),
            };
            match self.ports.tickets.update(&ticket, &[event]).await {
                Ok(saved) => {
                    tracing::warn!(ticket = %saved.id, reference = %saved.reference, "answer undelivered: the ticket is in progress again");
                    crate::metrics::answer_undelivered(saved.channel_kind.as_str());
                    return Ok(());
                }
                Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Why the latest answer on a ticket that is open again did not reach the requester, if it did
/// not: what the operator must know before anything else.
pub(crate) fn undelivered_answer(events: &[Event]) -> Option<&str> {
    let last = events.iter().rev().find(|e| e.kind == EventKind::Answered)?;
    let id = last.detail.get("answer_id")?;
    events
        .iter()
        .find(|e| e.kind == EventKind::AnswerUndelivered && e.detail.get("answer_id") == Some(id))
        .and_then(|e| e.detail.get("reason"))
        .and_then(|r| r.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, detail: serde_json::Value) -> Event {
        Event {
            ticket_id: TicketId("t-1".into()),
            at: jiff::Timestamp::UNIX_EPOCH,
            actor: Actor::system(),
            kind,
            detail,
        }
    }

    #[test]
    fn an_answer_is_settled_by_what_became_of_it_not_by_being_given() {
        let answered = event(EventKind::Answered, json!({"answer_id": "a1", "body": "..."}));
        assert!(!answer_settled(std::slice::from_ref(&answered), "a1"), "given, not yet delivered");
        let mailed = event(EventKind::Message, json!({"from": "operator", "answer_id": "a1", "message_id": "m"}));
        let said = event(EventKind::Message, json!({"from": "operator", "body": "...", "answer_id": "a1"}));
        let callback = event(EventKind::Note, json!({"callback": {"answer_id": "a1", "status": "to_call"}}));
        let undelivered = event(EventKind::AnswerUndelivered, json!({"answer_id": "a1", "reason": "no address"}));
        for outcome in [mailed, said, callback, undelivered] {
            let history = [answered.clone(), outcome.clone()];
            assert!(answer_settled(&history, "a1"), "{:?}", outcome.kind);
            assert!(!answer_settled(&history, "a2"), "another answer: {:?}", outcome.kind);
        }
    }
}
