//! Outgoing mail, threaded so replies find their ticket.

use super::{StoreError, StoreResult};
use crate::domain::TicketReference;
use async_trait::async_trait;
use jiff::Timestamp;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::text::Text;

/// The header that carries the ticket reference, so a reply's thread can be matched even when a
/// mail client drops `In-Reply-To`.
pub const REFERENCE_HEADER: &str = "X-Sportello-Reference";

/// A message to send. Ids are given without angle brackets (`abc@sportello.example`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OutgoingMail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    /// The thread so far, oldest first.
    pub references: Vec<String>,
    pub ticket: Option<TicketReference>,
    /// RFC 3834 `Auto-Submitted` value (`auto-replied` for acknowledgements), so the
    /// requester's own autoresponder does not answer us back.
    pub auto_submitted: Option<String>,
    /// Where replies should go when not to `from` (an escalation's reply-token address).
    pub reply_to: Option<String>,
}

// Addresses and bodies are personal data: keep them out of logs and panic messages.
impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("message_id", &self.message_id)
            .field("ticket", &self.ticket)
            .field("recipients", &self.to.len())
            .finish_non_exhaustive()
    }
}

/// What a mailer answers once the message is accepted for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub message_id: String,
    /// The transport's own id (SES message id, outbox row id).
    pub transport_id: String,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutgoingMail) -> StoreResult<SentMail>;
}

/// A Message-ID (with or without its angle brackets) as a header of ours can carry it: in
/// `In-Reply-To`/`References` of a reply, or as our own `Message-ID`. `None` when it cannot be
/// written there as received: non-ASCII (RFC 6532 allows UTF-8 ids, but SES and most servers take
/// only ASCII headers, and a msg-id has no encoded form), a line break inside (a folded or
/// injected id: what it was meant to be is unknowable), whitespace outside a quoted local part,
/// or no `@`. A reply then threads on the other ids and on the `[SP-…]` subject tag instead.
///
/// A quoted local part is kept as it is, spaces included (`"giulia bianchi"@mail.example.com`),
/// as RFC 5322 allows it and mail clients match ids byte for byte.
pub fn usable_message_id(id: &str) -> Option<String> {
    let id = id.trim();
    let id = id.strip_prefix('<').and_then(|i| i.strip_suffix('>')).unwrap_or(id).trim();
    if id.is_empty() || id.len() > 250 || !id.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    let (local, domain) = id.rsplit_once('@')?;
    let plain = |s: &str| !s.is_empty() && !s.contains(|c: char| c.is_ascii_whitespace() || "<>\"\\".contains(c));
    let quoted = |s: &str| {
        s.len() >= 2
            && s.starts_with('"')
            && s.ends_with('"')
            && !s[1..s.len() - 1].replace("\\\\", "").replace("\\\"", "").contains(['"', '<', '>'])
    };
    ((plain(local) || quoted(local)) && plain(domain)).then(|| id.to_string())
}

impl OutgoingMail {
    /// Checks what would otherwise break the headers or be refused by SES.
    pub fn validate(&self) -> StoreResult<()> {
        let header_safe = |s: &str| !s.chars().any(|c| c == '\r' || c == '\n');
        let address_ok = |a: &str| {
            let a = a.trim();
            a.len() <= 320
                && a.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
                && !a.chars().any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        };
        let id_ok = |id: &str| usable_message_id(id).as_deref() == Some(id);
        if !address_ok(&self.from) {
            return Err(StoreError::Invalid("sender address is not valid".into()));
        }
        if self.reply_to.as_deref().is_some_and(|a| !address_ok(a)) {
            return Err(StoreError::Invalid("reply-to address is not valid".into()));
        }
        if self.to.is_empty() || self.to.len() > 50 || !self.to.iter().all(|a| address_ok(a)) {
            return Err(StoreError::Invalid("1 to 50 valid recipient addresses are needed".into()));
        }
        if !header_safe(&self.subject) || self.auto_submitted.as_deref().is_some_and(|v| !header_safe(v)) {
            return Err(StoreError::Invalid("the subject has a line break".into()));
        }
        let ids = std::iter::once(&self.message_id).chain(self.in_reply_to.iter()).chain(self.references.iter());
        for id in ids {
            if !id_ok(id) {
                return Err(StoreError::Invalid(format!("`{id}` is not a message id")));
            }
        }
        Ok(())
    }

    /// The message as raw MIME (RFC 5322), ready for SES `SendRawEmail` or an outbox.
    pub fn to_mime(&self, date: Timestamp) -> StoreResult<Vec<u8>> {
        self.validate()?;
        let to: Vec<Address<'_>> = self.to.iter().map(|a| Address::new_address(None::<&str>, a.trim())).collect();
        let mut builder = MessageBuilder::new()
            .from(Address::new_address(None::<&str>, self.from.trim()))
            .to(Address::new_list(to))
            .subject(Text::new(self.subject.as_str()))
            .date(date.as_second())
            .message_id(MessageId::new(self.message_id.as_str()))
            .text_body(self.text.as_str());
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(Address::new_address(None::<&str>, reply_to.trim()));
        }
        if let Some(parent) = &self.in_reply_to {
            builder = builder.in_reply_to(MessageId::new(parent.as_str()));
        }
        if !self.references.is_empty() {
            builder = builder.references(MessageId::new_list(self.references.iter().map(String::as_str)));
        }
        if let Some(html) = &self.html {
            builder = builder.html_body(html.as_str());
        }
        if let Some(reference) = &self.ticket {
            builder = builder.header(REFERENCE_HEADER, Text::new(reference.as_str()));
        }
        if let Some(value) = &self.auto_submitted {
            builder = builder.header("Auto-Submitted", Text::new(value.as_str()));
        }
        builder.write_to_vec().map_err(|e| StoreError::Invalid(format!("cannot build the message: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> OutgoingMail {
        OutgoingMail {
            from: "assistenza@sportello.example".into(),
            to: vec!["cittadino@example.it".into()],
            subject: "Re: [SP-7K3Q9XWD] la tua richiesta".into(),
            text: "Gentile utente, ecco la risposta.".into(),
            html: None,
            message_id: "reply-1@sportello.example".into(),
            in_reply_to: Some("orig-1@mail.example.it".into()),
            references: vec!["orig-0@mail.example.it".into(), "orig-1@mail.example.it".into()],
            ticket: Some(TicketReference("SP-7K3Q9XWD".into())),
            auto_submitted: Some("auto-replied".into()),
            reply_to: None,
        }
    }

    #[test]
    fn mime_carries_threading_headers() {
        let raw = mail().to_mime(Timestamp::from_second(1_800_000_000).unwrap()).unwrap();
        let text = String::from_utf8(raw).unwrap();
        assert!(text.contains("Message-ID: <reply-1@sportello.example>"), "{text}");
        assert!(text.contains("In-Reply-To: <orig-1@mail.example.it>"), "{text}");
        assert!(text.contains("References: <orig-0@mail.example.it> <orig-1@mail.example.it>"), "{text}");
        assert!(text.contains("X-Sportello-Reference: SP-7K3Q9XWD"), "{text}");
        assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");
        assert!(text.contains("ecco la risposta"), "{text}");
    }

    #[test]
    fn header_injection_is_refused() {
        let mut m = mail();
        m.subject = "hi\r\nBcc: victim@example.it".into();
        assert!(matches!(m.validate(), Err(StoreError::Invalid(_))));
        let mut m = mail();
        m.to = vec!["a@b.it>, evil@x.it".into()];
        assert!(m.validate().is_err());
        let mut m = mail();
        m.in_reply_to = Some("no-at-sign".into());
        assert!(m.validate().is_err());
    }

    #[test]
    fn message_ids_are_kept_when_a_header_can_carry_them() {
        for (raw, usable) in [
            ("<orig-1@mail.example.it>", Some("orig-1@mail.example.it")),
            ("orig-1@mail.example.it", Some("orig-1@mail.example.it")),
            ("<\"giulia bianchi\"@mail.example.com>", Some("\"giulia bianchi\"@mail.example.com")),
            ("<\"a\\\"b\"@example.com>", Some("\"a\\\"b\"@example.com")),
            ("<=?utf-8?q?a=0D=0Ab?=@example.it>", Some("=?utf-8?q?a=0D=0Ab?=@example.it")),
            ("<città.1@posta.example.it>", None),
            ("<abc\r\n def@example.it>", None),
            ("<abc\r\nBcc: x@example.it>", None),
            ("<a b@example.it>", None),
            ("<\"a\"b\"@example.it>", None),
            ("<a@b c>", None),
            ("<no-at-sign>", None),
            ("<@example.it>", None),
            ("<>", None),
        ] {
            assert_eq!(usable_message_id(raw).as_deref(), usable, "{raw:?}");
        }
        let mut m = mail();
        m.references = vec!["\"giulia bianchi\"@mail.example.com".into()];
        let raw = String::from_utf8(m.to_mime(Timestamp::from_second(1_800_000_000).unwrap()).unwrap()).unwrap();
        assert!(raw.contains("References: <\"giulia bianchi\"@mail.example.com>"), "{raw}");
    }

    #[test]
    fn debug_shows_no_addresses() {
        let d = format!("{:?}", mail());
        assert!(!d.contains("cittadino"), "{d}");
        assert!(d.contains("reply-1@sportello.example"));
    }
}
