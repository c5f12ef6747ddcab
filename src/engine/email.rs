//! Inbound email: one raw message becomes a new ticket (acknowledged with its reference), a
//! message or reminder on the ticket it answers, a delivery failure on the ticket whose mail
//! bounced, or nothing at all (rejected by the SES verdicts, our own mail coming back).
//!
//! Every path is idempotent on the message: SES, SNS and SQS deliver at least once, and the HTTP
//! sender retries. New tickets use the Message-ID as the intake idempotency key; events on an
//! existing ticket and the acknowledgement run once through the idempotency store.
//!
//! Threading needs no index: our outgoing Message-IDs carry the ticket reference
//! (`<SP-7K3Q9XWD.{uuid}@sportello.pagopa.it>`), so `In-Reply-To`/`References` name the ticket.
//! SES replaces the Message-ID of what it sends with its own, so on AWS the `[SP-XXXXXXXX]` tag
//! that every subject we send carries is what usually finds the ticket.

use super::Refusal;
use super::intake::{MAX_MESSAGE_BYTES, MAX_SUBJECT_BYTES};
use super::retry::Attempts;
use super::{Engine, EngineError, NewContact};
use crate::domain::{Actor, ActorRole, Event, EventKind, Requester, Ticket, TicketId, TicketReference, TicketState};
use crate::email::{
    self, AutoReply, BounceKind, InboundEmail, VerdictAction, VerdictDecision, Verdicts, auto_reply_policy,
    looks_like_reminder, thread_keys,
};
use crate::ports::mailer::usable_message_id;
use crate::ports::{Claim, Completion, Lease, OutgoingMail, RunOnce, StoreError, run_claimed, run_once};
use crate::rules::resolved::{Email as EmailSettings, TargetDelivery};
use crate::text::sha256_hex;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a claim on one inbound message lasts, and how long a handled one is remembered
/// (beyond SQS's longest retention, 14 days).
const LEASE: Duration = Duration::from_secs(5 * 60);
const REMEMBER: Duration = Duration::from_secs(15 * 86_400);

/// What happened to an inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailAction {
    /// A new ticket (or the one this message opened before, on redelivery).
    Opened,
    /// Added as a message to the ticket it answers.
    Threaded,
    /// Added as a reminder to the open ticket it chases.
    Reminder,
    /// A delivery status notification: no ticket; recorded on ours if it is about our mail.
    IgnoredBounce,
    /// Our own mail came back: nothing recorded.
    IgnoredOwn,
    /// Refused by the rulebook's SES verdict policy: nothing recorded.
    RejectedVerdict,
    /// A target's resolution notice, by its escalation's reply token.
    Notice,
    /// To the reply mailbox, or carrying a reply token, that does not check out: nothing recorded.
    RefusedNotice,
}

/// Whether the requester was sent the automatic acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Acknowledgement {
    Sent {
        message_id: String,
    },
    /// Sent when this message (or a redelivery of it) was first handled.
    AlreadySent,
    /// Not sent, and why (RFC 3834 and loop protection, quarantine, no usable address).
    Suppressed {
        reason: String,
    },
    /// Only new tickets are acknowledged.
    NotApplicable,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmailOutcome {
    pub action: EmailAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<TicketReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<TicketId>,
    /// The inbound Message-ID (without `<>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// This message had been handled before: nothing new was written.
    pub replayed: bool,
    /// A resolved ticket went back to `in_progress` because the requester wrote again.
    pub reopened: bool,
    /// Opened but flagged for an operator by the verdict policy.
    pub quarantined: bool,
    /// For a new ticket on a final one: the ticket this one follows up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<TicketReference>,
    /// The mail named a ticket (`related`) whose requester or targets did not send it: it opened
    /// a ticket of its own, linked to that one for the operator to see, and left it untouched.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stranger: bool,
    pub acknowledgement: Acknowledgement,
    /// SES checks that did not pass, with the action the policy gave each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<String>,
    /// The message is over the MIME budgets: why its content was not read (its headers were, so
    /// it still opened or found its ticket).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_refused: Option<String>,
}

impl EmailOutcome {
    pub(super) fn new(action: EmailAction, email: &InboundEmail, decision: &VerdictDecision) -> Self {
        Self {
            action,
            reference: None,
            ticket_id: None,
            message_id: email.message_id.clone(),
            replayed: false,
            reopened: false,
            quarantined: decision.action == VerdictAction::Quarantine,
            related: None,
            stranger: false,
            acknowledgement: Acknowledgement::NotApplicable,
            verdicts: decision.reasons.iter().map(ToString::to_string).collect(),
            content_refused: email.content_refused.clone(),
        }
    }

    pub(super) fn on(mut self, ticket: &Ticket) -> Self {
        self.reference = Some(ticket.reference.clone());
        self.ticket_id = Some(ticket.id.clone());
        self
    }
}

/// The Message-ID of mail about ticket `reference`, minted in `domain`.
pub fn outgoing_message_id(reference: &TicketReference, domain: &str) -> String {
    format!("{reference}.{}@{domain}", uuid::Uuid::new_v4().simple())
}

/// Mail to the requester of `ticket` on its thread, from the rulebook's address, with a
/// Message-ID minted in that address's domain.
pub fn requester_mail(
    ticket: &Ticket,
    from: &str,
    to: String,
    subject: String,
    text: String,
    in_reply_to: Option<String>,
    references: Vec<String>,
) -> OutgoingMail {
    let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    OutgoingMail {
        from: from.to_string(),
        to: vec![to],
        subject,
        text,
        message_id: outgoing_message_id(&ticket.reference, domain),
        in_reply_to,
        references,
        ticket: Some(ticket.reference.clone()),
        ..OutgoingMail::default()
    }
}

/// The ticket reference carried by one of our Message-IDs (see [`outgoing_message_id`]); `None`
/// for anybody else's, including look-alikes minted outside `our_domains`.
pub fn reference_in_message_id(id: &str, our_domains: &[String]) -> Option<TicketReference> {
    let (local, domain) = id.trim().trim_matches(['<', '>']).rsplit_once('@')?;
    if !is_our_domain(domain, our_domains) {
        return None;
    }
    let reference = TicketReference::find_in(local)?;
    let rest = local.get(reference.as_str().len()..)?;
    (local[..reference.as_str().len()].eq_ignore_ascii_case(reference.as_str()) && rest.starts_with('.'))
        .then_some(reference)
}

fn is_our_domain(domain: &str, our_domains: &[String]) -> bool {
    let domain = domain.trim().to_ascii_lowercase();
    our_domains.iter().any(|d| {
        let d = d.trim().trim_start_matches(['@', '.']).to_ascii_lowercase();
        !d.is_empty() && (domain == d || domain.strip_suffix(&d).is_some_and(|head| head.ends_with('.')))
    })
}

/// The idempotency key of an inbound message: a digest of its Message-ID, or of the whole message
/// when it has none. A Message-ID can carry its sender's address, so it is never a key as it is:
/// keys outlive an erasure of the requester's data.
fn inbound_key(email: &InboundEmail, raw: &[u8]) -> String {
    match &email.message_id {
        Some(id) => format!("email-id:{}", sha256_hex(id.as_bytes())),
        None => format!("email-sha256:{}", sha256_hex(raw)),
    }
}

/// How the log names an inbound message: a short digest of its Message-ID (which may carry the
/// sender's address), enough to find the same message again in the log, never the id itself.
pub(super) fn log_id(email: &InboundEmail) -> String {
    email.message_id.as_deref().map_or_else(|| "(none)".into(), |id| sha256_hex(id.as_bytes())[..12].to_string())
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The requester, as the email channel speaks for them.
fn requester_actor(channel: &str) -> Actor {
    Actor { id: channel.into(), role: ActorRole::Requester }
}

/// Who may write into a ticket by e-mail: its requester, or a target it was escalated to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Party {
    Requester,
    Target(String),
}

/// The sender's address as the message gives it (trimmed), if any.
fn sender_of(email: &InboundEmail) -> Option<&str> {
    email.from.as_ref().map(|m| m.address.trim()).filter(|a| !a.is_empty())
}

fn same_address(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The idempotency key of a new ticket's acknowledgement.
fn acknowledgement_key(ticket: &Ticket) -> String {
    format!("email-ack:{}", ticket.id)
}

/// The Message-ID of the acknowledgement the history records as sent, if it does.
fn recorded_acknowledgement(events: &[Event]) -> Option<&str> {
    events
        .iter()
        .find(|e| {
            e.kind == EventKind::Message && e.detail.get("auto").and_then(|v| v.as_str()) == Some("acknowledgement")
        })
        .map(|e| e.detail.get("message_id").and_then(|v| v.as_str()).unwrap_or_default())
}

fn busy() -> EngineError {
    EngineError::Busy("this message is being handled by another worker; retry shortly".into())
}

impl Engine {
    fn email_settings(&self) -> Result<&EmailSettings, EngineError> {
        self.rules.email.as_ref().ok_or_else(|| {
            Refusal::Unsupported("the rulebook has no `email:` block, so inbound mail cannot be handled".into()).into()
        })
    }

    /// Handles one inbound message, raw MIME as received, with SES's verdicts when it came
    /// through SES. Bad input is `Invalid` with a reason that quotes no content.
    pub async fn receive_email(&self, raw: &[u8], verdicts: Option<Verdicts>) -> Result<EmailOutcome, EngineError> {
        let settings = self.email_settings()?;
        let email = email::parse_inbound(raw).map_err(|e| EngineError::invalid("message", e.to_string()))?;
        let key = inbound_key(&email, raw);
        let decision = verdicts.map_or_else(
            || VerdictDecision { action: VerdictAction::Accept, reasons: Vec::new() },
            |v| settings.verdicts.decide(&v),
        );
        let log_id = log_id(&email);

        if decision.action == VerdictAction::Reject {
            let reasons: Vec<String> = decision.reasons.iter().map(ToString::to_string).collect();
            tracing::info!(mail = %log_id, reasons = ?reasons, "inbound mail rejected by the SES verdicts");
            return Ok(EmailOutcome::new(EmailAction::RejectedVerdict, &email, &decision));
        }
        if let Some(bounce) = email::bounce(&email) {
            return self.record_bounce(settings, &email, &decision, &key, bounce).await;
        }
        let own_id = email
            .message_id
            .as_deref()
            .is_some_and(|id| id.rsplit_once('@').is_some_and(|(_, d)| is_our_domain(d, &settings.our_domains)));
        let own_sender =
            email.from.as_ref().is_some_and(|f| f.address.trim().eq_ignore_ascii_case(settings.from.trim()));
        if own_id || own_sender {
            tracing::info!(mail = %log_id, "our own mail came back; ignored");
            return Ok(EmailOutcome::new(EmailAction::IgnoredOwn, &email, &decision));
        }
        // A target's answer to an escalation is never a requester's mail.
        if let Some(outcome) = self.notice_by_email(&email, &decision).await? {
            return Ok(outcome);
        }

        let keys = thread_keys(&email);
        let mut answered = None;
        for id in &keys.message_ids {
            if let Some(reference) = reference_in_message_id(id, &settings.our_domains)
                && let Some(t) = self.find_ticket(&reference).await?
            {
                answered = Some(t);
                break;
            }
        }
        if answered.is_none()
            && let Some(reference) = &keys.reference_in_subject
        {
            answered = self.find_ticket(reference).await?;
        }
        // A mail that chases an earlier request gets the rulebook's reminder category, if it has one.
        let reminder = self.rules.reminder_category().map(|c| c.as_str());
        if let Some(ticket) = answered {
            let Some(party) = self.party_of(&ticket, sender_of(&email)).await? else {
                // Quoting a reference proves nothing: a stranger's mail never reaches the ticket
                // it names (nor reopens it); it is a ticket of its own, linked to that one.
                tracing::info!(reference = %ticket.reference, "mail from outside the ticket; opened on its own");
                let mut outcome = self
                    .open_from_email(settings, &email, &decision, &key, None, Some(ticket.reference.clone()))
                    .await?;
                outcome.stranger = true;
                return Ok(outcome);
            };
            if ticket.state.is_final() {
                // Nothing more can happen on it: the requester's new mail is a new ticket about it.
                let category = reminder.filter(|_| looks_like_reminder(&email));
                return self.open_from_email(settings, &email, &decision, &key, category, Some(ticket.reference)).await;
            }
            return self.add_to_ticket(settings, &email, &decision, &key, ticket, party).await;
        }
        // A new mail quoting an earlier request's reference chases it.
        if let Some(reference) = TicketReference::find_in(&email.body)
            && let Some(earlier) = self.find_ticket(&reference).await?
        {
            return self.open_from_email(settings, &email, &decision, &key, reminder, Some(earlier.reference)).await;
        }
        self.open_from_email(settings, &email, &decision, &key, None, None).await
    }

    pub(super) async fn find_ticket(&self, reference: &TicketReference) -> Result<Option<Ticket>, EngineError> {
        match self.ports.tickets.get_by_reference(reference).await {
            Ok(t) => Ok(Some(t)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `sender` may write into `ticket`: its requester's address (as on the ticket, or as
    /// it sent earlier messages there), or the address of a target the ticket was escalated to.
    async fn party_of(&self, ticket: &Ticket, sender: Option<&str>) -> Result<Option<Party>, EngineError> {
        let Some(sender) = sender else {
            return Ok(None);
        };
        if ticket.requester.email.as_deref().is_some_and(|a| same_address(a, sender)) {
            return Ok(Some(Party::Requester));
        }
        for e in &ticket.escalations {
            let to = match self.rules.targets.get(&e.target).map(|t| &t.delivery) {
                Some(TargetDelivery::Email { to }) => to.as_slice(),
                _ => &[],
            };
            if to.iter().any(|a| same_address(a, sender)) {
                return Ok(Some(Party::Target(e.target.clone())));
            }
        }
        // The requester's first mail may have named another address as its Reply-To.
        let events = self.ports.events.list(&ticket.id).await?;
        let wrote_before = events.iter().any(|e| {
            e.kind == EventKind::Message
                && e.detail.get("from").and_then(Value::as_str) == Some("requester")
                && e.detail.get("sender").and_then(Value::as_str).is_some_and(|a| same_address(a, sender))
        });
        Ok(wrote_before.then_some(Party::Requester))
    }

    /// What the inbound message looked like, for the operator: never logged, erased with the
    /// requester's data.
    fn envelope(email: &InboundEmail, decision: &VerdictDecision) -> Value {
        json!({
            "message_id": email.message_id,
            "subject": email.subject,
            "body_source": email.body_source,
            "attachments": email.attachments,
            "auto_submitted": email.control.auto_submitted,
            "verdicts": decision.reasons,
            "quarantine": decision.action == VerdictAction::Quarantine,
            "content_refused": email.content_refused,
        })
    }

    /// A reply or reminder on a ticket still alive: one event (and, from the requester, a
    /// reopening if it was resolved).
    async fn add_to_ticket(
        &self,
        settings: &EmailSettings,
        email: &InboundEmail,
        decision: &VerdictDecision,
        key: &str,
        ticket: Ticket,
        party: Party,
    ) -> Result<EmailOutcome, EngineError> {
        let machine = crate::email::is_machine_generated(email);
        let from_requester = party == Party::Requester;
        let reminder = from_requester && ticket.state.is_open() && looks_like_reminder(email);
        let (from, actor) = match &party {
            Party::Requester => ("requester", requester_actor(self.rules.channels.key(settings.channel).as_str())),
            Party::Target(id) => ("target", Actor { id: id.clone(), role: ActorRole::Target }),
        };
        let action = if reminder { EmailAction::Reminder } else { EmailAction::Threaded };
        let mut outcome = EmailOutcome::new(action, email, decision).on(&ticket);
        let body = truncate(&email.body, MAX_MESSAGE_BYTES).to_string();
        let effect = || async {
            let mut attempts = Attempts::new(format!("adding a mail to ticket {}", ticket.reference));
            loop {
                let mut current = self.ports.tickets.get(&ticket.id).await?;
                let now = self.now();
                let mut detail = Self::envelope(email, decision);
                detail["from"] = json!(from);
                if let Party::Target(id) = &party {
                    detail["target"] = json!(id);
                }
                detail["sender"] = json!(sender_of(email));
                detail["body"] = json!(body);
                let ticket_id = current.id.clone();
                let event =
                    |kind, detail| Event { ticket_id: ticket_id.clone(), at: now, actor: actor.clone(), kind, detail };
                let mut events = vec![event(if reminder { EventKind::Reminder } else { EventKind::Message }, detail)];
                if decision.action == VerdictAction::Quarantine {
                    events.push(event(EventKind::Note, json!({"quarantine": true, "verdicts": decision.reasons})));
                }
                // An autoresponder answering our mail must not reopen anything; nor a target,
                // whose message the operator reads on the resolved ticket.
                if current.state != TicketState::Resolved || machine || !from_requester {
                    self.ports.events.append(&events).await?;
                    return Ok::<bool, EngineError>(false);
                }
                current.move_to(TicketState::InProgress, now)?;
                events.push(event(EventKind::Reopened, json!({"reason": "the requester wrote again"})));
                match self.ports.tickets.update(&current, &events).await {
                    Ok(_) => return Ok(true),
                    Err(StoreError::Conflict { .. }) => attempts.conflict().await?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        match run_once(self.ports.idempotency.as_ref(), key, LEASE, REMEMBER, effect)
            .await
            .map_err(EngineError::from)?
        {
            RunOnce::Ran(reopened) => {
                outcome.reopened = reopened;
                tracing::info!(ticket = %ticket.id, reference = %ticket.reference, ?action, reopened, "inbound mail added to its ticket");
            }
            RunOnce::AlreadyDone => outcome.replayed = true,
            RunOnce::InProgress => return Err(busy()),
        }
        Ok(outcome)
    }

    async fn open_from_email(
        &self,
        settings: &EmailSettings,
        email: &InboundEmail,
        decision: &VerdictDecision,
        key: &str,
        category: Option<&str>,
        related: Option<TicketReference>,
    ) -> Result<EmailOutcome, EngineError> {
        let from = email.from.as_ref();
        let address = email.reply_to.first().or(from).map(|m| m.address.trim().to_string()).filter(|a| !a.is_empty());
        let requester = Requester {
            name: from.and_then(|m| m.name.clone()).or_else(|| email.reply_to.first().and_then(|m| m.name.clone())),
            email: address,
            ..Requester::default()
        };
        let subject = email.subject.as_deref().map(|s| truncate(s, MAX_SUBJECT_BYTES).to_string());
        let body = truncate(&email.body, MAX_MESSAGE_BYTES);
        let channel = self.rules.channels.key(settings.channel).to_string();
        let contact = NewContact {
            channel: channel.clone(),
            idempotency_key: key.to_string(),
            subject,
            message: (!body.trim().is_empty()).then(|| body.to_string()),
            requester,
            related: related.clone(),
            actor: Some(requester_actor(&channel)),
            category: category.map(str::to_string),
            sender: sender_of(email).map(str::to_string),
            ..NewContact::default()
        };
        // The envelope (attachments, verdicts, quarantine flag) as a note, stored with the ticket.
        let envelope = Self::envelope(email, decision);
        let now = self.now();
        let note = |t: &Ticket| {
            vec![Event {
                ticket_id: t.id.clone(),
                at: now,
                actor: Actor::system(),
                kind: EventKind::Note,
                detail: json!({"email": envelope}),
            }]
        };
        let suppressed = if decision.action == VerdictAction::Quarantine {
            Some("quarantined by the SES verdicts".to_string())
        } else {
            let ours: Vec<&str> = settings.our_domains.iter().map(String::as_str).collect();
            match auto_reply_policy(email, &ours) {
                AutoReply::Suppressed(reason) => Some(reason.to_string()),
                AutoReply::Allowed => None,
            }
        };
        // The acknowledgement's claim is taken with the ticket: the first intake sends it, a
        // replay finds it held or done.
        let claims = |t: &Ticket| match suppressed {
            None => vec![Lease::new(acknowledgement_key(t), LEASE)],
            Some(_) => Vec::new(),
        };
        let created = self.open_claiming(contact, note, claims).await?;
        let ticket = created.ticket;
        let mut outcome = EmailOutcome::new(EmailAction::Opened, email, decision).on(&ticket);
        outcome.replayed = created.replayed;
        outcome.related = ticket.related.clone();

        outcome.acknowledgement = match suppressed {
            Some(reason) => Acknowledgement::Suppressed { reason },
            None => self.acknowledge(settings, email, &ticket, !created.replayed).await?,
        };
        Ok(outcome)
    }

    /// Sends the rulebook's acknowledgement, once per ticket, threaded on the inbound message.
    /// `claimed`: this intake created the ticket, and with it the claim on the acknowledgement.
    async fn acknowledge(
        &self,
        settings: &EmailSettings,
        email: &InboundEmail,
        ticket: &Ticket,
        claimed: bool,
    ) -> Result<Acknowledgement, EngineError> {
        let key = acknowledgement_key(ticket);
        let mail = match self.acknowledgement_mail(settings, email, ticket) {
            Ok(mail) => mail,
            Err(reason) => {
                tracing::info!(ticket = %ticket.id, reason, "no acknowledgement");
                if claimed && let Err(e) = self.ports.idempotency.release(&key).await {
                    tracing::warn!(ticket = %ticket.id, error = %e, "could not release the acknowledgement's claim");
                }
                return Ok(Acknowledgement::Suppressed { reason });
            }
        };
        if !claimed {
            match self.ports.idempotency.claim(&key, LEASE).await? {
                Claim::Completed => return Ok(Acknowledgement::AlreadySent),
                Claim::InProgress => return Err(busy()),
                Claim::Acquired => {}
            }
            // Sent and recorded by an intake that died before completing its claim: the record
            // says what was done (a replay is rare; the first intake never reads).
            if let Some(message_id) = recorded_acknowledgement(&self.ports.events.list(&ticket.id).await?) {
                self.ports.idempotency.complete(&key, REMEMBER).await?;
                tracing::info!(ticket = %ticket.id, message_id, "acknowledgement found sent");
                return Ok(Acknowledgement::AlreadySent);
            }
        }
        let completion = Completion { key: &key, keep_for: REMEMBER, outbox_done: &[] };
        let message_id =
            run_claimed(self.ports.idempotency.as_ref(), self.ports.events.as_ref(), completion, || async {
                let sent = self.ports.mailer.send(&mail).await?;
                let event = Event {
                    ticket_id: ticket.id.clone(),
                    at: self.now(),
                    actor: Actor::system(),
                    kind: EventKind::Message,
                    detail: json!({
                        "from": "sportello",
                        "auto": "acknowledgement",
                        "message_id": sent.message_id,
                        "transport_id": sent.transport_id,
                        "in_reply_to": mail.in_reply_to,
                        "subject": mail.subject,
                        "body": mail.text,
                    }),
                };
                // Recorded with the claim's completion, which never sends it twice.
                Ok::<_, EngineError>((sent.message_id, vec![event]))
            })
            .await
            .map_err(EngineError::from)?;
        tracing::info!(ticket = %ticket.id, reference = %ticket.reference, message_id, "acknowledgement sent");
        Ok(Acknowledgement::Sent { message_id })
    }

    /// The acknowledgement in the requester's language, or why there is none.
    fn acknowledgement_mail(
        &self,
        settings: &EmailSettings,
        email: &InboundEmail,
        ticket: &Ticket,
    ) -> Result<OutgoingMail, String> {
        let to = ticket.requester.email.clone().ok_or("the message has no sender address to answer")?;
        let rules = &self.rules;
        let sample = format!("{}\n{}", email.subject.as_deref().unwrap_or_default(), email.body);
        let detected = crate::knowledge::search::detect_language(&sample);
        let channel_name = rules.text(&rules.channels[settings.channel].name, detected);
        let fill = |t: &str| {
            t.replace("{reference}", ticket.reference.as_str())
                .replace("{channel}", channel_name)
                .replace("{alternative_channels}", "")
                .replace("{next_opening}", "")
        };
        let text_in = |id| {
            let key = rules.messages.key(id).as_str();
            rules.message(key, detected).ok_or_else(|| format!("the rulebook has no `{key}` message"))
        };
        let text = fill(text_in(settings.acknowledgement)?);
        let heading = fill(text_in(settings.acknowledgement_subject)?);
        let original = crate::email::normalize_subject(email.subject.as_deref().unwrap_or_default());
        let mut subject = format!("[{}] {heading}", ticket.reference);
        if !original.is_empty() {
            subject = format!("{subject}: {original}");
        }
        let subject: String = truncate(&subject, 250).chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        // Ids a header cannot carry as received are left out: the reply threads on the others
        // and on its subject tag rather than not going at all.
        let in_reply_to = email.message_id.as_deref().and_then(usable_message_id);
        let mut references: Vec<String> = email.references.iter().filter_map(|id| usable_message_id(id)).collect();
        references.extend(in_reply_to.clone());
        // Long threads: the first message and the latest ones are what clients thread by.
        if references.len() > 20 {
            references.drain(1..references.len() - 19);
        }
        let mail = OutgoingMail {
            auto_submitted: Some("auto-replied".into()),
            ..requester_mail(ticket, &settings.from, to, subject, text, in_reply_to, references)
        };
        // An address that would break the headers: no acknowledgement, but the ticket stands.
        mail.validate().map_err(|e| format!("the acknowledgement cannot be sent: {e}"))?;
        Ok(mail)
    }

    /// A delivery status notification: never a ticket. When it is about our mail, the ticket the
    /// mail was about gets a `DeliveryFailed` event (once), so an operator can try another way.
    async fn record_bounce(
        &self,
        settings: &EmailSettings,
        email: &InboundEmail,
        decision: &VerdictDecision,
        key: &str,
        bounce: crate::email::Bounce,
    ) -> Result<EmailOutcome, EngineError> {
        let mut outcome = EmailOutcome::new(EmailAction::IgnoredBounce, email, decision);
        outcome.quarantined = false;
        let reference =
            bounce.original_message_id.as_deref().and_then(|id| reference_in_message_id(id, &settings.our_domains));
        let Some(reference) = reference else {
            tracing::info!(mail = %log_id(email), "a bounce about mail that is not ours; ignored");
            return Ok(outcome);
        };
        let Some(ticket) = self.find_ticket(&reference).await? else {
            tracing::info!(reference = %reference, "a bounce about a ticket that no longer exists; ignored");
            return Ok(outcome);
        };
        outcome = outcome.on(&ticket);
        if matches!(bounce.kind, BounceKind::Delivered | BounceKind::Delayed) {
            // Not a failure (yet): SES or the remote server is still trying.
            return Ok(outcome);
        }
        let event = Event {
            ticket_id: ticket.id.clone(),
            at: self.now(),
            actor: Actor::system(),
            kind: EventKind::DeliveryFailed,
            detail: json!({
                "message_id": bounce.original_message_id,
                "kind": bounce.kind,
                "status": bounce.status,
                "report_message_id": email.message_id,
            }),
        };
        let ran = run_once(self.ports.idempotency.as_ref(), key, LEASE, REMEMBER, || async {
            self.ports.events.append(std::slice::from_ref(&event)).await.map_err(EngineError::from)
        })
        .await
        .map_err(EngineError::from)?;
        match ran {
            RunOnce::Ran(()) => {
                tracing::info!(ticket = %ticket.id, reference = %ticket.reference, status = ?bounce.status, "our mail bounced")
            }
            RunOnce::AlreadyDone => outcome.replayed = true,
            RunOnce::InProgress => return Err(busy()),
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_message_ids_carry_the_reference() {
        let ours = vec!["sportello.pagopa.it".to_string()];
        let r = TicketReference("SP-7K3Q9XWD".into());
        let id = outgoing_message_id(&r, "sportello.pagopa.it");
        assert_eq!(reference_in_message_id(&id, &ours), Some(r.clone()));
        assert_eq!(reference_in_message_id(&format!("<{}>", id.to_lowercase()), &ours), Some(r));
        assert_eq!(reference_in_message_id("SP-7K3Q9XWD.abc@evil.example", &ours), None, "not our domain");
        assert_eq!(reference_in_message_id("x.SP-7K3Q9XWD.abc@sportello.pagopa.it", &ours), None, "not at the start");
        assert_eq!(reference_in_message_id("SP-7K3Q9XWDX.abc@sportello.pagopa.it", &ours), None);
        assert_eq!(reference_in_message_id("0102019a-000000@sportello.pagopa.it", &ours), None);
        assert_eq!(reference_in_message_id("no-at-sign", &ours), None);
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncate("perché", 5), "perch");
        assert_eq!(truncate("perché", 6), "perch");
        assert_eq!(truncate("perché", 7), "perché");
    }
}
