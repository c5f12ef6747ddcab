//! Bounces: delivery status notifications about mail we sent. They must never open a ticket;
//! the caller flags the ticket whose outgoing message bounced instead.

use super::auto_reply::is_system_sender;
use super::parse::normalize_message_id;
use super::{InboundEmail, RecipientStatus};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bounce {
    pub kind: BounceKind,
    /// The Message-ID of our message that bounced, without `<>`, when the bounce quotes it.
    pub original_message_id: Option<String>,
    /// The first enhanced status code reported, e.g. `5.1.1` (mailbox does not exist).
    pub status: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    /// Delivery failed for good (DSN `Action: failed`, or a 5.x.x status).
    Failed,
    /// Still being retried (DSN `Action: delayed`): worth a note, not a failure yet.
    Delayed,
    /// A positive DSN (`delivered`, `relayed`, `expanded`).
    Delivered,
    /// From the mail system but with no machine-readable status (old-style bounces).
    Unknown,
}

/// A delivery status notification: `multipart/report; report-type=delivery-status`, or mail from
/// `MAILER-DAEMON`/`postmaster` (which also covers non-standard bounces).
pub fn bounce(email: &InboundEmail) -> Option<Bounce> {
    let report = email.report.as_ref().filter(|r| r.report_type == "delivery-status");
    let from_mail_system = email.from.as_ref().is_some_and(is_system_sender);
    if report.is_none() && !from_mail_system {
        return None;
    }
    let recipients: &[RecipientStatus] = report.map_or(&[], |r| &r.recipients);
    let status = recipients.iter().find_map(|r| r.status.clone());
    let has_action = |a: &str| recipients.iter().any(|r| r.action.as_deref() == Some(a));
    let kind = if has_action("failed") || status.as_deref().is_some_and(|s| s.starts_with('5')) {
        BounceKind::Failed
    } else if has_action("delayed") || status.as_deref().is_some_and(|s| s.starts_with('4')) {
        BounceKind::Delayed
    } else if ["delivered", "relayed", "expanded"].iter().any(|&a| has_action(a)) {
        BounceKind::Delivered
    } else {
        BounceKind::Unknown
    };
    let original_message_id =
        report.and_then(|r| r.original_message_id.clone()).or_else(|| message_id_in_text(&email.body));
    Some(Bounce { kind, original_message_id, status })
}

pub fn is_bounce(email: &InboundEmail) -> bool {
    bounce(email).is_some()
}

/// Old-style bounces paste the original headers into the text: take the first `Message-ID:`
/// line found there.
fn message_id_in_text(body: &str) -> Option<String> {
    body.lines().find_map(|line| {
        let line = line.trim_start_matches(['>', ' ', '\t']);
        let (name, value) = line.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("message-id") {
            return None;
        }
        let value = value.trim();
        let id = value.strip_prefix('<').and_then(|v| v.split_once('>')).map_or(value, |(id, _)| id);
        normalize_message_id(id).filter(|id| id.contains('@'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_is_found_in_pasted_headers() {
        let body = "I'm sorry...\n\n--- Below this line is a copy of the message.\n\n\
                    Subject: x\nMessage-ID: <abc.123@sportello.example>\n";
        assert_eq!(message_id_in_text(body).as_deref(), Some("abc.123@sportello.example"));
        assert_eq!(message_id_in_text("Message-ID: nothing here"), None);
    }
}
