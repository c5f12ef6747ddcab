//! Reply tokens: how an e-mail target's answer is known to be the resolution notice of one
//! escalation, and not a requester's mail.
//!
//! A token is `SP-7K3Q9XWD.` followed by 24 hex digits: the ticket reference, then the first 96
//! bits of HMAC-SHA256(key, `sportello.reply-token/v1`, reference, escalation id, target). It
//! travels in the escalation mail's Reply-To as a plus tag (`notices+SP-7K3Q9XWD.3fa0…@domain`),
//! in the subject and in the body, so a reply carries it back whichever the mail client keeps.
//! The reference finds the ticket; the MAC finds the escalation among its escalations, which
//! names the target. Without the key nobody can mint one.
//!
//! The key is `SPORTELLO_REPLY_TOKEN_KEY` (at least 32 bytes); the local server generates one
//! into its data folder when the variable is not set.

use crate::domain::TicketReference;
use hmac::{KeyInit, Mac};

/// The environment variable holding the key.
pub const REPLY_TOKEN_KEY_ENV: &str = "SPORTELLO_REPLY_TOKEN_KEY";
/// Shortest key accepted (bytes).
pub const MIN_KEY_BYTES: usize = 32;
/// Bytes of MAC a token carries (24 hex digits).
const MAC_BYTES: usize = 12;
const DOMAIN_SEPARATOR: &str = "sportello.reply-token/v1";
/// What a survey link's token signs in place of an escalation id.
const SURVEY: &str = "survey";

/// Whether `found` is the whole of `token` (a link carries the token and nothing else).
fn found_len(token: &str, found: &FoundToken) -> bool {
    token.trim().len() == found.reference.to_string().len() + 1 + 2 * MAC_BYTES
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The key, and the mailbox targets reply to (`SPORTELLO_REPLY_EMAIL`). After a rotation the
/// keys it replaced still check the tokens already sent, until their grace period ends; new
/// tokens use the current key.
#[derive(Clone)]
pub struct ReplyTokens {
    key: Vec<u8>,
    previous: Vec<(Vec<u8>, jiff::Timestamp)>,
    mailbox: Option<String>,
}

// The key is a secret.
impl std::fmt::Debug for ReplyTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyTokens").field("mailbox", &self.mailbox.is_some()).finish_non_exhaustive()
    }
}

/// A token as found in a mail: it still has to be checked against the ticket's escalations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundToken {
    pub reference: TicketReference,
    mac: [u8; MAC_BYTES],
}

impl ReplyTokens {
    pub fn new(key: impl AsRef<[u8]>, mailbox: Option<String>) -> Result<Self, String> {
        let key = key.as_ref();
        if key.len() < MIN_KEY_BYTES {
            return Err(format!("the reply token key needs at least {MIN_KEY_BYTES} bytes"));
        }
        let mailbox = mailbox.map(|m| m.trim().to_string()).filter(|m| m.contains('@'));
        Ok(Self { key: key.to_vec(), previous: Vec::new(), mailbox })
    }

    /// The current key of a rotated secret, and those still in their grace period.
    pub fn rotating(key: &crate::secrets::Rotating, mailbox: Option<String>) -> Result<Self, String> {
        let mut tokens = Self::new(&key.current, mailbox)?;
        for (old, until) in &key.previous {
            if old.len() < MIN_KEY_BYTES {
                return Err(format!("a retired reply token key needs at least {MIN_KEY_BYTES} bytes too"));
            }
            tokens.previous.push((old.as_bytes().to_vec(), *until));
        }
        Ok(tokens)
    }

    /// From `SPORTELLO_REPLY_TOKEN_KEY` (the key, or the rotated form of [`crate::secrets`]:
    /// the key, then `<retired key> until <time>` lines) and `SPORTELLO_REPLY_EMAIL`; `None`
    /// without a key.
    pub fn from_env() -> Result<Option<Self>, String> {
        Self::from_vars(&crate::settings::environment().lookup())
    }

    /// [`Self::from_env`] from another source of settings (a Lambda function's).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let Some(value) = var(REPLY_TOKEN_KEY_ENV) else {
            return Ok(None);
        };
        let key = crate::secrets::Rotating::parse(&value)
            .map_err(|e| format!("{REPLY_TOKEN_KEY_ENV}: {e}"))?
            .ok_or_else(|| format!("{REPLY_TOKEN_KEY_ENV} is empty"))?;
        Self::rotating(&key, var("SPORTELLO_REPLY_EMAIL")).map(Some)
    }

    pub fn mailbox(&self) -> Option<&str> {
        self.mailbox.as_deref()
    }

    fn mac(&self, reference: &TicketReference, escalation_id: &str, target: &str) -> HmacSha256 {
        Self::mac_with(&self.key, reference, escalation_id, target)
    }

    fn mac_with(key: &[u8], reference: &TicketReference, escalation_id: &str, target: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
        for part in [DOMAIN_SEPARATOR, reference.as_str(), escalation_id, target] {
            // Length-prefixed, so no two different tuples give the same input.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The token of one escalation.
    pub fn token(&self, reference: &TicketReference, escalation_id: &str, target: &str) -> String {
        let tag = self.mac(reference, escalation_id, target).finalize().into_bytes();
        let hex: String = tag[..MAC_BYTES].iter().map(|b| format!("{b:02x}")).collect();
        format!("{reference}.{hex}")
    }

    /// Whether `found` is the token of this escalation (compared in constant time), by the
    /// current key or one still in its grace period.
    pub fn matches(&self, found: &FoundToken, escalation_id: &str, target: &str) -> bool {
        if escalation_id.is_empty() {
            return false;
        }
        let now = jiff::Timestamp::now();
        std::iter::once(self.key.as_slice())
            .chain(self.previous.iter().filter(|(_, until)| *until > now).map(|(k, _)| k.as_slice()))
            .any(|key| {
                Self::mac_with(key, &found.reference, escalation_id, target).verify_truncated_left(&found.mac).is_ok()
            })
    }

    /// The token of a ticket's satisfaction survey link: the same form and key as an
    /// escalation's, over a name no escalation id takes (those are UUIDs).
    pub fn survey_token(&self, reference: &TicketReference) -> String {
        self.token(reference, SURVEY, "")
    }

    /// The reference a survey link's token was minted for, if it was minted with our key.
    pub fn survey_reference(&self, token: &str) -> Option<TicketReference> {
        let found = find_tokens(token).into_iter().next()?;
        (found_len(token, &found) && self.matches(&found, SURVEY, "")).then(|| found.reference.clone())
    }

    /// The reply mailbox with the token as a plus tag: `notices+SP-…@domain`.
    pub fn reply_address(&self, token: &str) -> Option<String> {
        let (local, domain) = self.mailbox.as_deref()?.rsplit_once('@')?;
        let local = local.split_once('+').map_or(local, |(l, _)| l);
        Some(format!("{local}+{token}@{domain}"))
    }

    /// Whether `address` is the reply mailbox, with or without a plus tag.
    pub fn is_reply_mailbox(&self, address: &str) -> bool {
        let Some((local, domain)) = self.mailbox.as_deref().and_then(|m| m.rsplit_once('@')) else {
            return false;
        };
        let Some((their_local, their_domain)) = address.trim().rsplit_once('@') else {
            return false;
        };
        let base = their_local.split_once('+').map_or(their_local, |(l, _)| l);
        their_domain.eq_ignore_ascii_case(domain) && base.eq_ignore_ascii_case(local)
    }
}

/// Every token-shaped string in `text`, first first (case-insensitive: some mail systems fold
/// the local part of an address).
pub fn find_tokens(text: &str) -> Vec<FoundToken> {
    const PREFIX: &str = "SP-";
    let upper = text.to_ascii_uppercase();
    let mut found = Vec::new();
    for (at, _) in upper.match_indices(PREFIX) {
        let Some(candidate) = upper.get(at..at + PREFIX.len() + 8 + 1 + 2 * MAC_BYTES) else {
            continue;
        };
        let (reference, rest) = candidate.split_at(PREFIX.len() + 8);
        let Some(hex) = rest.strip_prefix('.') else { continue };
        let Some(reference) = TicketReference::find_in(reference).filter(|r| r.as_str() == reference) else {
            continue;
        };
        let after = upper[at + candidate.len()..].chars().next();
        if after.is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let mut mac = [0u8; MAC_BYTES];
        let parsed = mac.iter_mut().enumerate().all(|(i, b)| {
            hex.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).map(|v| *b = v).is_some()
        });
        if parsed && !found.iter().any(|f: &FoundToken| f.reference == reference && f.mac == mac) {
            found.push(FoundToken { reference, mac });
        }
    }
    found
}

/// The new part of a reply: quoted lines (`> …`) and everything from the quoted original's
/// attribution line (`On … wrote:`, `Il … ha scritto:`, `-----Original Message-----`, our own
/// escalation text) on are dropped.
pub fn strip_quoted(body: &str) -> String {
    let mut kept = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        let lower = t.to_lowercase();
        let attribution = (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || (lower.starts_with("il ") && lower.ends_with("ha scritto:"))
            || (lower.starts_with("-----") && (lower.contains("original") || lower.contains("originale")))
            || lower.starts_with("-- message (sportello.escalation/")
            // Outlook: a rule of underscores, or the quoted header block.
            || (t.len() >= 10 && t.chars().all(|c| c == '_'))
            || ((lower.starts_with("from:") || lower.starts_with("da:")) && lower.contains('@'))
            || (lower.starts_with("ticket sp-") && lower.contains(" is escalated to "));
        if attribution {
            break;
        }
        if t.starts_with('>') {
            continue;
        }
        kept.push(line.trim_end());
    }
    kept.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> ReplyTokens {
        ReplyTokens::new([7u8; 32], Some("notices@sportello.example.org".into())).unwrap()
    }

    fn reference() -> TicketReference {
        TicketReference("SP-7K3Q9XWD".into())
    }

    #[test]
    fn a_token_names_its_escalation_and_target_only() {
        let t = tokens();
        let token = t.token(&reference(), "esc-1", "third_parties");
        assert_eq!(token.len(), "SP-7K3Q9XWD.".len() + 24);
        let found = find_tokens(&format!("Re: [SP-7K3Q9XWD] something ({token})"));
        assert_eq!(found.len(), 1);
        assert!(t.matches(&found[0], "esc-1", "third_parties"));
        assert!(!t.matches(&found[0], "esc-2", "third_parties"));
        assert!(!t.matches(&found[0], "esc-1", "pagopa_specialists"));
        let other = ReplyTokens::new([8u8; 32], None).unwrap();
        assert!(!other.matches(&found[0], "esc-1", "third_parties"), "another key");
        // Rotated: the old key still checks tokens already sent, for its grace period only.
        let now = jiff::Timestamp::now();
        let key = |b: u8| String::from_utf8(vec![b; 32]).unwrap();
        let mut rotating = crate::secrets::Rotating { current: key(b'a'), previous: Vec::new() };
        let before = ReplyTokens::rotating(&rotating, None).unwrap();
        let sent = find_tokens(&before.token(&reference(), "esc-1", "third_parties"));
        rotating.rotate(key(b'b'), jiff::SignedDuration::from_hours(1), now);
        let after = ReplyTokens::rotating(&rotating, None).unwrap();
        assert!(after.matches(&sent[0], "esc-1", "third_parties"), "in the grace period");
        assert_ne!(
            after.token(&reference(), "esc-1", "third_parties"),
            before.token(&reference(), "esc-1", "third_parties")
        );
        rotating.previous[0].1 = now - jiff::SignedDuration::from_hours(1);
        let expired = ReplyTokens::rotating(&rotating, None).unwrap();
        assert!(!expired.matches(&sent[0], "esc-1", "third_parties"), "after it");
        // Folded to lower case by a mail system, it still reads.
        let lower = find_tokens(&token.to_lowercase());
        assert!(t.matches(&lower[0], "esc-1", "third_parties"));
    }

    #[test]
    fn the_reply_address_carries_the_token() {
        let t = tokens();
        let address = t.reply_address("SP-7K3Q9XWD.00").unwrap();
        assert_eq!(address, "notices+SP-7K3Q9XWD.00@sportello.example.org");
        assert!(t.is_reply_mailbox(&address));
        assert!(t.is_reply_mailbox("NOTICES@sportello.example.org"));
        assert!(!t.is_reply_mailbox("assistenza@sportello.example.org"));
        assert!(!t.is_reply_mailbox("notices@evil.example"));
        assert!(ReplyTokens::new([1u8; 31], None).is_err(), "short keys are refused");
    }

    #[test]
    fn look_alikes_are_not_tokens() {
        assert!(find_tokens("SP-7K3Q9XWD").is_empty());
        assert!(find_tokens("SP-7K3Q9XWD.0123").is_empty());
        assert!(find_tokens("SP-7K3Q9XWD.0123456789abcdef01234567ff").is_empty(), "too long");
        assert!(find_tokens("SP-7K3Q9XWD.0123456789abcdef0123456g").is_empty(), "not hex");
        assert_eq!(find_tokens("SP-7K3Q9XWD.0123456789abcdef01234567").len(), 1);
    }

    #[test]
    fn quoted_text_is_dropped() {
        let body = "Fixed: the payment was reconciled.\nRegards\n\nOn Mon, 2 Dec 2026, Sportello wrote:\n> Ticket SP-7K3Q9XWD is escalated\n> more";
        assert_eq!(strip_quoted(body), "Fixed: the payment was reconciled.\nRegards");
        let inline = "> question?\nanswer\n> another?\nsecond answer";
        assert_eq!(strip_quoted(inline), "answer\nsecond answer");
        assert_eq!(strip_quoted("Il giorno lun 2 dic, Sportello ha scritto:\n> x"), "");
        let outlook =
            "Verificato.\n\n________________________________\nDa: escalations@sportello.pagopa.it\nInviato: lunedì";
        assert_eq!(strip_quoted(outlook), "Verificato.");
        assert_eq!(
            strip_quoted("Verificato.\nFrom: Sportello <escalations@sportello.pagopa.it>\nSent: x"),
            "Verificato."
        );
    }
}
