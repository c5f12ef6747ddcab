//! Resolution notices, by whichever route they come (the reply queue, an e-mail reply, the
//! HMAC-signed HTTP callback): each names one escalation and settles that one only, once. The
//! ticket goes back to its operator, assignee unchanged, with the notice attached; the same notice
//! again changes nothing, and another notice for an escalation already answered is refused. A
//! notice replayed after the ticket went back to the same target therefore never answers the
//! later escalation.
//!
//! - Reply queue: a [`NoticeMessage`] (JSON, `docs/resolution-notice.schema.json`). The queue is
//!   closed to outsiders (IAM on AWS); what is checked here is that the target answers an
//!   escalation that was sent to it.
//! - E-mail: a reply carrying the escalation's reply token (see [`super::reply_token`]).

use super::Refusal;
use super::email::{EmailAction, EmailOutcome};
use super::flow_guard::pending_targets;
use super::operator::event;
use super::reply_token::{find_tokens, strip_quoted};
use super::{Engine, EngineError};
use crate::domain::notice::{notice_body, with_notice_bodies};
use crate::domain::{Actor, ActorRole, EventKind, Ticket, TicketState};
use crate::email::{InboundEmail, VerdictAction, VerdictDecision};
use crate::ports::EscalationMessage;
use crate::ports::notice::{MAX_NOTICE_BYTES, NOTICE_SCHEMA, NoticeMessage};
use serde_json::{Value, json};

/// How a notice arrived, as the event records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeRoute {
    ReplyQueue,
    Email,
    /// The HMAC-signed HTTP callback.
    Callback,
}

impl NoticeRoute {
    fn as_str(self) -> &'static str {
        match self {
            NoticeRoute::ReplyQueue => "reply_queue",
            NoticeRoute::Email => "email",
            NoticeRoute::Callback => "callback",
        }
    }
}

/// Whether a notice quoting `quoted` answers `escalation`: its own id, or the id of the reminder
/// the clock sent about it (`<id>-reminder`), which a target may quote instead.
pub(super) fn answers(escalation: &crate::domain::Escalation, quoted: &str) -> bool {
    !escalation.escalation_id.is_empty()
        && (escalation.escalation_id == quoted
            || quoted.strip_suffix(super::clock::REMINDER_SUFFIX) == Some(escalation.escalation_id.as_str()))
}

impl Engine {
    /// A target's resolution notice on the signed HTTP callback: it answers escalation
    /// `escalation_id` of ticket `reference`, and no other; the same notice twice changes
    /// nothing (see [`Self::record_notice`]). Returns the ticket and whether this call changed it.
    pub async fn receive_resolution_notice(
        &self,
        target_id: &str,
        reference: &crate::domain::TicketReference,
        escalation_id: &str,
        notice: &str,
        resolved_at: Option<jiff::Timestamp>,
    ) -> Result<(Ticket, bool), EngineError> {
        super::check_text("/notice", notice, super::operator::MAX_TEXT_BYTES)?;
        if escalation_id.trim().is_empty() || escalation_id.len() > 128 {
            return Err(EngineError::invalid(
                "/escalation_id",
                "quote the escalation_id of the escalation message this notice answers (1 to 128 characters)",
            ));
        }
        let message = NoticeMessage {
            schema: NOTICE_SCHEMA.to_string(),
            escalation_id: escalation_id.to_string(),
            reference: reference.clone(),
            target: target_id.to_string(),
            notice: notice.to_string(),
            resolved_at,
        };
        self.record_notice(&message, NoticeRoute::Callback, Value::Null).await
    }

    /// `ticket` with its notices' text read back from its events; no read when it has none.
    pub async fn notice_bodies(&self, ticket: Ticket) -> Result<Ticket, EngineError> {
        if ticket.escalations.iter().all(|e| e.notice.is_some() || e.notice_at.is_none()) {
            return Ok(ticket);
        }
        let events = self.ports.events.list(&ticket.id).await?;
        Ok(with_notice_bodies(ticket, &events))
    }

    /// An e-mail escalation's reply token, and the reply mailbox with the token as its plus tag.
    /// `answers` is the escalation a reply settles: the message's own id, or for a reminder the
    /// escalation it reminds of.
    pub(super) fn add_reply_token(&self, message: &mut EscalationMessage, answers: &str) {
        let Some(tokens) = &self.reply_tokens else {
            return;
        };
        let token = tokens.token(&message.reference, answers, &message.target);
        if let Some(address) = tokens.reply_address(&token) {
            message.reply_to = Some(address);
        }
        message.reply_token = Some(token);
    }

    /// One message from the reply queue, as raw bytes. Bad JSON or a bad field is `Invalid` with
    /// the JSON pointer; an unknown ticket or escalation is `NotFound`; an answer to another
    /// target's escalation is `Invalid` at `/target`. None of these can succeed on a retry.
    pub async fn receive_notice_message(&self, raw: &[u8]) -> Result<Ticket, EngineError> {
        let message = NoticeMessage::parse(raw).map_err(|e| EngineError::invalid(e.pointer, e.message))?;
        let (ticket, _) = self.record_notice(&message, NoticeRoute::ReplyQueue, Value::Null).await?;
        Ok(ticket)
    }

    /// Records `message` on its escalation; `true` when something changed.
    pub(super) async fn record_notice(
        &self,
        message: &NoticeMessage,
        route: NoticeRoute,
        extra: Value,
    ) -> Result<(Ticket, bool), EngineError> {
        let target = message.target.as_str();
        if !self.rules.targets.contains_key(target) {
            return Err(EngineError::invalid("/target", format!("unknown target `{target}`")));
        }
        let ticket = self.ports.tickets.get_by_reference(&message.reference).await.map_err(|e| match e {
            crate::ports::StoreError::NotFound(_) => EngineError::NotFound(format!("ticket {}", message.reference)),
            other => other.into(),
        })?;
        let actor = Actor { id: target.to_string(), role: ActorRole::Target };
        let now = self.now();
        let mut changed = false;
        // A repeated notice whose first copy is kept in the log only: compared after the read.
        let mut compare_with_log = false;
        let id = ticket.id.clone();
        let saved = self
            .change_from(&id, Some(ticket), |t, _| {
                changed = false;
                compare_with_log = false;
                let Some(at) = t.escalations.iter().position(|e| answers(e, &message.escalation_id)) else {
                    return Err(EngineError::NotFound(format!(
                        "escalation {} of ticket {}",
                        message.escalation_id, t.reference
                    )));
                };
                let escalation = &t.escalations[at];
                if escalation.target != target {
                    return Err(EngineError::invalid(
                        "/target",
                        format!(
                            "escalation {} of ticket {} was not sent to {target}",
                            message.escalation_id, t.reference
                        ),
                    ));
                }
                if escalation.notice_at.is_some() {
                    if escalation.notice.is_none() {
                        compare_with_log = true;
                        return Ok(Vec::new());
                    }
                    if escalation.notice.as_deref() == Some(message.notice.as_str()) {
                        return Ok(Vec::new());
                    }
                    return Err(Refusal::Done(format!(
                        "escalation {} of ticket {} already has its resolution notice",
                        message.escalation_id, t.reference
                    ))
                    .into());
                }
                if t.state.is_final() {
                    return Err(Refusal::State(format!("ticket {} is {:?}", t.reference, t.state)).into());
                }
                // The text goes in the event only (`domain::notice`).
                t.escalations[at].notice_at = Some(now);
                if t.state == TicketState::AwaitingResolutionNotice && pending_targets(t).is_empty() {
                    t.move_to(TicketState::InProgress, now)?;
                }
                let mut detail = json!({
                    "target": target,
                    "escalation_id": t.escalations[at].escalation_id,
                    "notice": message.notice,
                    "assignee": t.assignee,
                    "via": route.as_str(),
                });
                if let Some(at) = message.resolved_at {
                    detail["resolved_at"] = json!(at);
                }
                if let (Value::Object(d), Value::Object(x)) = (&mut detail, &extra) {
                    d.extend(x.clone());
                }
                changed = true;
                Ok(vec![event(t, &actor, EventKind::NoticeReceived, now, detail)])
            })
            .await?;
        if compare_with_log {
            let events = self.ports.events.list(&saved.id).await?;
            let kept = saved.escalations.iter().find(|e| answers(e, &message.escalation_id));
            if kept.and_then(|e| notice_body(e, &events)) != Some(message.notice.as_str()) {
                return Err(Refusal::Done(format!(
                    "escalation {} of ticket {} already has its resolution notice",
                    message.escalation_id, saved.reference
                ))
                .into());
            }
        }
        if changed {
            tracing::info!(
                ticket = %saved.id, reference = %saved.reference, target, via = route.as_str(),
                "resolution notice received"
            );
        }
        Ok((saved, changed))
    }

    /// A mail to the reply mailbox, or carrying a reply token: a target's resolution notice when
    /// the token checks out, refused otherwise; `None` for any other mail (a requester's).
    pub(super) async fn notice_by_email(
        &self,
        email: &InboundEmail,
        decision: &VerdictDecision,
    ) -> Result<Option<EmailOutcome>, EngineError> {
        let tokens = self.reply_tokens.as_deref();
        let recipients = || email.to.iter().chain(&email.cc);
        let to_reply_mailbox = tokens.is_some_and(|t| recipients().any(|m| t.is_reply_mailbox(&m.address)));
        let mut found = Vec::new();
        for text in recipients()
            .map(|m| m.address.as_str())
            .chain(email.subject.as_deref())
            .chain(std::iter::once(email.body.as_str()))
        {
            for token in find_tokens(text) {
                if !found.contains(&token) {
                    found.push(token);
                }
            }
        }
        if found.is_empty() && !to_reply_mailbox {
            return Ok(None);
        }
        let log_id = super::email::log_id(email);
        let refuse = |why: &str| {
            // Who wrote and what is kept out of the log: the message id and the reason are enough.
            tracing::warn!(mail = %log_id, tokens = found.len(), to_reply_mailbox, why, "reply mail refused");
            Ok(Some(EmailOutcome::new(EmailAction::RefusedNotice, email, decision)))
        };
        let Some(tokens) = tokens else {
            return refuse("no reply token key is configured");
        };
        for token in &found {
            let Some(ticket) = self.find_ticket(&token.reference).await? else {
                continue;
            };
            let Some(escalation) =
                ticket.escalations.iter().find(|e| tokens.matches(token, &e.escalation_id, &e.target))
            else {
                continue;
            };
            // An out-of-office answering our escalation is not the target's notice.
            if crate::email::is_machine_generated(email) {
                return refuse("an automatic reply");
            }
            let mut notice = strip_quoted(&email.body);
            if notice.is_empty() {
                return refuse("the reply has no text of its own");
            }
            if notice.len() > MAX_NOTICE_BYTES {
                let mut end = MAX_NOTICE_BYTES;
                while !notice.is_char_boundary(end) {
                    end -= 1;
                }
                notice.truncate(end);
            }
            let message = NoticeMessage {
                schema: NOTICE_SCHEMA.to_string(),
                escalation_id: escalation.escalation_id.clone(),
                reference: ticket.reference.clone(),
                target: escalation.target.clone(),
                notice,
                resolved_at: None,
            };
            let extra = json!({
                "message_id": email.message_id,
                "verdicts": decision.reasons,
                "quarantine": decision.action == VerdictAction::Quarantine,
            });
            return match self.record_notice(&message, NoticeRoute::Email, extra).await {
                Ok((saved, changed)) => {
                    let mut outcome = EmailOutcome::new(EmailAction::Notice, email, decision).on(&saved);
                    outcome.replayed = !changed;
                    Ok(Some(outcome))
                }
                // A valid token on a ticket that can no longer take it: nobody to open a ticket for.
                Err(EngineError::Refused(why)) => {
                    tracing::warn!(mail = %log_id, reference = %ticket.reference, why = %why, "reply mail refused");
                    Ok(Some(EmailOutcome::new(EmailAction::RefusedNotice, email, decision).on(&ticket)))
                }
                Err(e) => Err(e),
            };
        }
        refuse(if found.is_empty() {
            "mail to the reply mailbox without a reply token"
        } else {
            "no reply token checks out"
        })
    }
}
