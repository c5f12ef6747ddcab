//! May we send an automatic acknowledgement to this message? RFC 3834 and loop protection.
//!
//! Suppressing is cheap (the ticket is still opened, only the automatic "we received your
//! request" mail is not sent); a missed loop or an answer to a mailing list is not. So every
//! signal of machine-generated or bulk mail suppresses.

use super::{InboundEmail, Mailbox};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "decision", content = "reason")]
pub enum AutoReply {
    Allowed,
    Suppressed(SuppressReason),
}

impl AutoReply {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed)
    }
}

/// Why no automatic reply is sent. Carries header values, never addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum SuppressReason {
    /// A `multipart/report`: bounce, delay notice, read receipt (the report type).
    DeliveryReport(String),
    /// `Auto-Submitted` other than `no` (RFC 3834 §5): `auto-replied`, `auto-generated`...
    AutoSubmitted(String),
    /// `Precedence: bulk | list | junk | auto_reply`.
    Precedence(String),
    /// `List-Id` or `List-Unsubscribe` (RFC 2919, RFC 2369).
    MailingList,
    /// Microsoft's `X-Auto-Response-Suppress` asking for no automatic replies.
    AutoResponseSuppress(String),
    /// `X-Autoreply`, `X-Autorespond` and similar autoresponder marks (the header name).
    AutoreplyHeader(String),
    /// `Return-Path: <>`: the null envelope sender of bounces and notifications.
    NullSender,
    /// No usable From address.
    NoSender,
    /// `MAILER-DAEMON`, `postmaster`.
    SystemSender,
    /// `noreply@`, `no-reply@`, `donotreply@`...: a reply would bounce.
    NoReplySender,
    /// From one of our own domains: answering could ping-pong with our own mail.
    OwnDomain,
    /// The Message-ID was minted by our own domains: our own mail came back.
    OwnMessageId,
    /// An `X-Loop` header naming one of our domains.
    Loop,
}

impl fmt::Display for SuppressReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DeliveryReport(t) => write!(f, "delivery report ({t})"),
            Self::AutoSubmitted(v) => write!(f, "Auto-Submitted: {v}"),
            Self::Precedence(v) => write!(f, "Precedence: {v}"),
            Self::MailingList => f.write_str("mailing list"),
            Self::AutoResponseSuppress(v) => write!(f, "X-Auto-Response-Suppress: {v}"),
            Self::AutoreplyHeader(h) => write!(f, "{h} header"),
            Self::NullSender => f.write_str("null envelope sender"),
            Self::NoSender => f.write_str("no sender address"),
            Self::SystemSender => f.write_str("mail system sender"),
            Self::NoReplySender => f.write_str("no-reply sender"),
            Self::OwnDomain => f.write_str("sent from our own domain"),
            Self::OwnMessageId => f.write_str("our own Message-ID"),
            Self::Loop => f.write_str("X-Loop names our domain"),
        }
    }
}

/// Decides whether an automatic reply may go to the sender of `email`. `our_domains` are the
/// domains we send from (subdomains included), e.g. `["pagopa.it"]`.
pub fn auto_reply_policy(email: &InboundEmail, our_domains: &[&str]) -> AutoReply {
    match suppress_reason(email, our_domains) {
        Some(reason) => AutoReply::Suppressed(reason),
        None => AutoReply::Allowed,
    }
}

/// Written by a program rather than a person: auto-replies, bounces, vacation notices. Mailing
/// lists carry people's messages, so `Precedence: list` and `List-Id` do not count.
pub(crate) fn is_machine_generated(email: &InboundEmail) -> bool {
    match suppress_reason(email, &[]) {
        Some(
            SuppressReason::DeliveryReport(_)
            | SuppressReason::AutoSubmitted(_)
            | SuppressReason::AutoreplyHeader(_)
            | SuppressReason::NullSender
            | SuppressReason::SystemSender,
        ) => true,
        Some(SuppressReason::Precedence(v)) => first_token(&v) != "list",
        _ => false,
    }
}

fn suppress_reason(email: &InboundEmail, our_domains: &[&str]) -> Option<SuppressReason> {
    let c = &email.control;
    if let Some(report) = &email.report {
        return Some(SuppressReason::DeliveryReport(report.report_type.clone()));
    }
    if let Some(v) = &c.auto_submitted
        && first_token(v) != "no"
    {
        return Some(SuppressReason::AutoSubmitted(v.clone()));
    }
    if let Some(v) = &c.precedence
        && matches!(first_token(v).as_str(), "bulk" | "list" | "junk" | "auto_reply")
    {
        return Some(SuppressReason::Precedence(v.clone()));
    }
    if c.list_id.is_some() || c.list_unsubscribe.is_some() {
        return Some(SuppressReason::MailingList);
    }
    // Values are a comma list of DR, NDR, RN, NRN, OOF, AutoReply, All, None; only these three
    // concern automatic replies (the others ask not to send delivery or read receipts).
    if let Some(v) = &c.auto_response_suppress
        && v.split([',', ' ']).any(|t| ["all", "oof", "autoreply"].contains(&t.trim().to_ascii_lowercase().as_str()))
    {
        return Some(SuppressReason::AutoResponseSuppress(v.clone()));
    }
    if let Some((name, value)) = &c.autoreply
        && !matches!(first_token(value).as_str(), "no" | "false" | "0")
    {
        return Some(SuppressReason::AutoreplyHeader(name.clone()));
    }
    if c.return_path.as_deref() == Some("") {
        return Some(SuppressReason::NullSender);
    }
    let Some(from) = &email.from else {
        return Some(SuppressReason::NoSender);
    };
    if is_system_sender(from) {
        return Some(SuppressReason::SystemSender);
    }
    if from.domain().is_some_and(|d| is_ours(&d, our_domains)) {
        return Some(SuppressReason::OwnDomain);
    }
    if email.message_id.as_deref().and_then(|id| id.rsplit_once('@')).is_some_and(|(_, d)| is_ours(d, our_domains)) {
        return Some(SuppressReason::OwnMessageId);
    }
    if c.x_loop.iter().any(|v| {
        let v = v.to_ascii_lowercase();
        our_domains
            .iter()
            .map(|d| d.trim_start_matches(['@', '.']).to_ascii_lowercase())
            .any(|d| !d.is_empty() && v.contains(&d))
    }) {
        return Some(SuppressReason::Loop);
    }
    if is_no_reply(from) {
        return Some(SuppressReason::NoReplySender);
    }
    None
}

/// The value up to the first `;`, space or comment, lower-case: `auto-replied; x=y` → `auto-replied`.
fn first_token(value: &str) -> String {
    value.split([';', ' ', '\t', '(']).next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Also matches "MAILER-DAEMON" written without a domain.
pub(crate) fn is_system_sender(from: &Mailbox) -> bool {
    matches!(from.local_part().as_str(), "mailer-daemon" | "mailerdaemon" | "postmaster")
}

fn is_no_reply(from: &Mailbox) -> bool {
    let local: String = from.local_part().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    local.starts_with("noreply") || local.starts_with("donotreply")
}

fn is_ours(domain: &str, our_domains: &[&str]) -> bool {
    let domain = domain.trim().trim_end_matches('>').to_ascii_lowercase();
    our_domains.iter().any(|ours| {
        let ours = ours.trim().trim_start_matches(['@', '.']).to_ascii_lowercase();
        !ours.is_empty() && (domain == ours || domain.strip_suffix(&ours).is_some_and(|head| head.ends_with('.')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_are_ours_lookalikes_are_not() {
        assert!(is_ours("pagopa.it", &["pagopa.it"]));
        assert!(is_ours("Mail.PagoPA.it", &["@pagopa.it"]));
        assert!(!is_ours("notpagopa.it", &["pagopa.it"]));
        assert!(!is_ours("pagopa.it.evil.example", &["pagopa.it"]));
        assert!(!is_ours("pagopa.it", &[""]));
    }

    #[test]
    fn tokens_ignore_parameters_and_case() {
        assert_eq!(first_token("Auto-Replied; owner=x"), "auto-replied");
        assert_eq!(first_token("no (a human)"), "no");
    }
}
