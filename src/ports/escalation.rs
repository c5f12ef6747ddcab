//! Escalations to PagoPA teams and third parties, by queue or by e-mail.
//!
//! The queue message is a public contract: its JSON Schema is checked in at
//! `docs/escalation-message.schema.json`, and a test keeps it and [`EscalationMessage`] in step.

use super::{OutgoingMail, StoreError, StoreResult};
use crate::domain::{TicketId, TicketReference, TicketType};
use async_trait::async_trait;
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The value of `schema` in every message of this version.
pub const ESCALATION_SCHEMA: &str = "sportello.escalation/v1";

/// What a target receives. Carries what the target needs to work the case and answer; requester
/// contact data stays with the operator service, which answers the requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Sportello escalation message")]
pub struct EscalationMessage {
    /// Always `sportello.escalation/v1` for this shape.
    #[schemars(extend("const" = "sportello.escalation/v1"))]
    pub schema: String,
    /// Unique per escalation; a target may receive a message twice and should dedupe on this.
    pub escalation_id: String,
    /// Sportello's internal ticket id.
    #[schemars(with = "String")]
    pub ticket_id: TicketId,
    /// The reference to quote in the resolution notice, e.g. `SP-7K3Q9XWD`.
    #[schemars(with = "String", regex(pattern = r"^SP-[0-9A-HJKMNP-TV-Z]{8}$"))]
    pub reference: TicketReference,
    /// The rulebook's escalation target id (`pagopa_specialists`, `third_parties`...).
    pub target: String,
    pub ticket_type: Option<TicketType>,
    pub category: Option<String>,
    /// The channel the contact came from (`voice`, `chat`, `email`, `api`...), when the target
    /// may see it.
    pub channel: Option<String>,
    /// RFC 3339 instant of the escalation.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub escalated_at: Timestamp,
    /// RFC 3339 instant by which an answer is due, when the rulebook sets one.
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub due: Option<Timestamp>,
    /// The operator's description of what is needed.
    pub summary: String,
    /// The ticket fields the target may see, named as in the rulebook's target `fields` list:
    /// `subject`, `description`, `created_at`, `requester.*`, `custom.notice_code`...
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Where to send the resolution notice (a queue URL or an e-mail address).
    pub reply_to: Option<String>,
    /// `escalation` (the first message; the field is then left out) or `reminder` (the
    /// resolution notice is overdue: the same case, sent again once).
    #[serde(default, skip_serializing_if = "MessageKind::is_escalation")]
    pub kind: MessageKind,
    /// For a reminder: the `escalation_id` of the escalation it reminds of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminds: Option<String>,
    /// E-mail targets: the token a reply must carry (in the address, subject or body) to be
    /// taken as this escalation's resolution notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_token: Option<String>,
}

/// What a message is: a new escalation, or a reminder of one still waiting for its notice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    #[default]
    Escalation,
    Reminder,
}

impl MessageKind {
    pub fn is_escalation(&self) -> bool {
        *self == Self::Escalation
    }
}

/// Where an escalation goes, from the rulebook's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalationRoute {
    /// A queue: an SQS queue URL on AWS, a queue name in the embedded store.
    Queue { queue: String },
    /// E-mail to the target's mailbox.
    Email { from: String, to: Vec<String> },
}

#[async_trait]
pub trait EscalationDelivery: Send + Sync {
    /// Sends `message` along `route`; returns the transport's id for the audit event.
    async fn deliver(&self, route: &EscalationRoute, message: &EscalationMessage) -> StoreResult<String>;
}

impl EscalationMessage {
    pub fn validate(&self) -> StoreResult<()> {
        if self.schema != ESCALATION_SCHEMA {
            return Err(StoreError::Invalid(format!(
                "escalation schema `{}` is not `{ESCALATION_SCHEMA}`",
                self.schema
            )));
        }
        if self.escalation_id.is_empty() || self.target.is_empty() {
            return Err(StoreError::Invalid("an escalation needs an id and a target".into()));
        }
        if (self.kind == MessageKind::Reminder) != self.reminds.is_some() {
            return Err(StoreError::Invalid(
                "a reminder, and only a reminder, names the escalation it reminds of".into(),
            ));
        }
        Ok(())
    }

    pub fn to_json(&self) -> StoreResult<String> {
        self.validate()?;
        serde_json::to_string(self).map_err(|e| StoreError::Invalid(e.to_string()))
    }

    /// The e-mail form: a readable summary, then the same JSON as the queue message so a
    /// target's automation can read either.
    pub fn to_mail(&self, from: &str, to: &[String]) -> StoreResult<OutgoingMail> {
        let json = serde_json::to_string_pretty(self).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.validate()?;
        let domain = from.split_once('@').map_or("sportello.invalid", |(_, d)| d);
        let kind = self.ticket_type.map(|t| format!("{} ({})", t.code(), t.name())).unwrap_or_else(|| "-".into());
        let opening = match self.kind {
            MessageKind::Escalation => format!("Ticket {} is escalated to {}.", self.reference, self.target),
            MessageKind::Reminder => format!(
                "Reminder: ticket {} was escalated to {} and its resolution notice is overdue.",
                self.reference, self.target
            ),
        };
        let mut text = format!(
            "{opening}\n\nType: {kind}\nCategory: {category}\nChannel: {channel}\nEscalated at: {at}\n",
            category = self.category.as_deref().unwrap_or("-"),
            channel = self.channel.as_deref().unwrap_or("-"),
            at = self.escalated_at,
        );
        if let Some(due) = self.due {
            text.push_str(&format!("Answer due by: {due}\n"));
        }
        text.push_str(&format!("\n{}\n\nPlease quote {} in your resolution notice.\n", self.summary, self.reference));
        if let Some(token) = &self.reply_token {
            text.push_str(&format!(
                "Reply to this message with your resolution notice, above the quoted text; keep the reply token {token} in the subject.\n"
            ));
        }
        text.push_str(&format!("\n-- message ({ESCALATION_SCHEMA}) --\n{json}\n"));
        let mail = OutgoingMail {
            from: from.to_string(),
            to: to.to_vec(),
            subject: {
                let what = match self.kind {
                    MessageKind::Escalation => "Escalation",
                    MessageKind::Reminder => "Reminder: escalation",
                };
                match &self.reply_token {
                    Some(token) => format!("[{}] {what} to {} [{token}]", self.reference, self.target),
                    None => format!("[{}] {what} to {}", self.reference, self.target),
                }
            },
            text,
            html: None,
            message_id: format!("escalation-{}@{domain}", sanitize_id(&self.escalation_id)),
            in_reply_to: None,
            references: Vec::new(),
            ticket: Some(self.reference.clone()),
            // A reminder is the clock's doing: the target's autoresponder should not answer it.
            auto_submitted: (self.kind == MessageKind::Reminder).then(|| "auto-generated".to_string()),
            // A reply goes to the reply mailbox when the message names one.
            reply_to: self.reply_to.clone().filter(|a| a.contains('@') && !a.contains("://")),
        };
        mail.validate()?;
        Ok(mail)
    }
}

fn sanitize_id(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' }).collect()
}

/// The JSON Schema of [`EscalationMessage`], as checked in under `docs/`.
pub fn escalation_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(EscalationMessage)).unwrap_or_default()
}
