//! Threading: which existing ticket an inbound message belongs to.

use super::InboundEmail;
use crate::domain::TicketReference;
use serde::Serialize;
use std::collections::HashSet;

/// How many Message-IDs [`ThreadKeys`] carries: enough for any real thread (a long one has a few
/// dozen), and a bound on the lookups a crafted `References` header can cause.
pub const MAX_THREAD_IDS: usize = 32;

/// What the caller looks an existing ticket up by, strongest first: the Message-IDs of mail we
/// sent (quoted back in `In-Reply-To`/`References`), then the reference token in the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadKeys {
    /// `In-Reply-To` first, then `References` newest first; without `<>`, no duplicates, at most
    /// [`MAX_THREAD_IDS`].
    pub message_ids: Vec<String>,
    /// `SP-XXXXXXXX` found in the subject (any case, as clients and people retype it).
    pub reference_in_subject: Option<TicketReference>,
    /// The subject without reply/forward prefixes nor the `[SP-…]` tag.
    pub normalized_subject: String,
}

pub fn thread_keys(email: &InboundEmail) -> ThreadKeys {
    let mut seen = HashSet::new();
    // References lists the thread oldest first; the newest is the likeliest to be ours.
    let message_ids = email
        .in_reply_to
        .iter()
        .chain(email.references.iter().rev())
        .filter(|id| seen.insert(id.as_str()))
        .take(MAX_THREAD_IDS)
        .cloned()
        .collect();
    let subject = email.subject.as_deref().unwrap_or_default();
    ThreadKeys {
        message_ids,
        reference_in_subject: TicketReference::find_in(subject),
        normalized_subject: normalize_subject(subject),
    }
}

/// Reply/forward prefixes, lower-case, without the colon: English, Italian (Outlook's `R:` and
/// `I:`, `Rif:`, `Inoltra:`), German (`AW:`, `WG:`) and the usual short forms.
const PREFIXES: [&str; 12] = ["re", "r", "rif", "ris", "fwd", "fw", "i", "inoltra", "inoltro", "aw", "wg", "tr"];

/// Strips leading reply/forward prefixes (`Re:`, `R:`, `RE[2]:`, `Fwd:`, `I:`, `Inoltra:`, `AW:`,
/// `Rif:`...) and `[SP-XXXXXXXX]` tags, repeatedly, and collapses whitespace.
pub fn normalize_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let before = rest;
        rest = strip_prefix(rest).unwrap_or(rest).trim_start();
        rest = strip_reference_tag(rest).unwrap_or(rest).trim_start();
        if rest == before {
            break;
        }
    }
    rest.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `word:` or `word[n]:` / `word(n):` where word is a known prefix.
fn strip_prefix(s: &str) -> Option<&str> {
    let word_len = s.find(|c: char| !c.is_ascii_alphabetic())?;
    let word = s[..word_len].to_ascii_lowercase();
    if !PREFIXES.contains(&word.as_str()) {
        return None;
    }
    let mut rest = s[word_len..].trim_start();
    // Counters some clients add: `Re[2]:`, `Re(3):`.
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(inner) = rest.strip_prefix(open)
            && let Some(end) = inner.find(close)
            && inner[..end].chars().all(|c| c.is_ascii_digit())
        {
            rest = inner[end + 1..].trim_start();
        }
    }
    rest.strip_prefix(':')
}

fn strip_reference_tag(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let end = inner.find(']')?;
    let tag = inner[..end].trim();
    (TicketReference::find_in(tag).is_some_and(|r| r.as_str().eq_ignore_ascii_case(tag))).then(|| &inner[end + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_in_many_languages_are_stripped() {
        for (subject, expected) in [
            ("Re: Pagamento", "Pagamento"),
            ("R: I: Pagamento", "Pagamento"),
            ("RE: Fwd: Rif: pagamento  doppio", "pagamento doppio"),
            ("AW: WG: Zahlung", "Zahlung"),
            ("Re[2]: Re(3): avviso", "avviso"),
            ("Inoltra: R: [SP-7K3Q9XWD] Avviso pagoPA", "Avviso pagoPA"),
            ("Re: [sp-7k3q9xwd] Re: avviso", "avviso"),
            ("Regione Lazio: tassa auto", "Regione Lazio: tassa auto"),
            ("Info: orari", "Info: orari"),
            ("[EXTERNAL] Re: x", "[EXTERNAL] Re: x"),
            ("Re:", ""),
            ("", ""),
        ] {
            assert_eq!(normalize_subject(subject), expected, "{subject:?}");
        }
    }
}
