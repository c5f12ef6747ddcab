//! Is this message a reminder ("sollecito") about a request already made?
//!
//! A deliberately simple heuristic that triage uses to *suggest* the `reminder` category; the
//! operator confirms it. It looks at the subject and at the sender's own first lines (quoted
//! history is skipped, since our earlier answers would otherwise match):
//!
//! 1. a **strong cue** (`sollecito`, `nessun riscontro`, `ancora nessuna risposta`, `reminder`,
//!    `still waiting`...) is enough on its own, even in a first message: people often write a
//!    new email to chase a request made by phone or chat;
//! 2. a **weak cue** (`aggiornamenti`, `novità`, `any update`...) counts only when the message
//!    also belongs to an existing thread (`In-Reply-To`/`References`, or a ticket reference in the
//!    subject), since in a first message it usually means something else;
//! 3. phrases that only look like cues are ignored: a "sollecito di pagamento" is the creditor's
//!    dunning letter the citizen writes about;
//! 4. machine-generated mail (`Auto-Submitted` other than `no`, `Precedence: bulk`, autoresponder
//!    headers, delivery reports, the null sender) is never a reminder, whatever it says ("I will
//!    follow up on my return").

use super::auto_reply::is_machine_generated;
use super::{InboundEmail, thread_keys};

/// Phrases that mark a reminder by themselves. Lower-case; matched on whitespace-collapsed text.
const STRONG_CUES: &[&str] = &[
    // Italian
    "sollecit", // sollecito, sollecitare, sollecitiamo, sollecitato
    "ancora nessuna risposta",
    "nessuna risposta da parte vostra",
    "nessuna vostra risposta",
    "nessun riscontro",
    "non ho ricevuto risposta",
    "non ho ancora ricevuto risposta",
    "non ho ricevuto alcuna risposta",
    "sono ancora in attesa",
    "siamo ancora in attesa",
    "attendo ancora",
    "ancora in attesa di",
    "ho già scritto",
    "ho gia' scritto",
    "vi ho già scritto",
    "ennesima richiesta",
    "seconda richiesta",
    // English
    "reminder",
    "follow-up",
    "follow up",
    "following up",
    "still waiting",
    "still no response",
    "still no reply",
    "still haven't received",
    "no response yet",
    "no reply yet",
    "second request",
    "chasing",
];

/// Phrases removed before matching because they contain a cue but are about something else: in
/// pagoPA's domain a "sollecito di pagamento" is the creditor's dunning letter the citizen is
/// writing about, not a reminder to us.
const FALSE_FRIENDS: &[&str] = &[
    "sollecito di pagamento",
    "sollecito del pagamento",
    "sollecito al pagamento",
    "sollecito per il pagamento",
    "sollecito pagamento",
    "solleciti di pagamento",
    "payment reminder",
];

/// Phrases that mean a reminder only inside an existing thread.
const WEAK_CUES: &[&str] =
    &["aggiornamenti", "novità", "notizie", "a che punto", "any update", "any news", "status of my"];

/// How many of the sender's own (non-quoted) lines are read.
const BODY_LINES: usize = 15;

pub fn looks_like_reminder(email: &InboundEmail) -> bool {
    if is_machine_generated(email) {
        return false;
    }
    let text = format!("{}\n{}", email.subject.as_deref().unwrap_or_default(), opening_lines(&email.body));
    let mut text = text.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ");
    for phrase in FALSE_FRIENDS {
        text = text.replace(phrase, " ");
    }
    if STRONG_CUES.iter().any(|cue| text.contains(cue)) {
        return true;
    }
    let keys = thread_keys(email);
    let in_thread = !keys.message_ids.is_empty() || keys.reference_in_subject.is_some();
    in_thread && WEAK_CUES.iter().any(|cue| text.contains(cue))
}

/// The sender's own first lines: stops at the quoted history of a reply or forward.
fn opening_lines(body: &str) -> String {
    body.lines()
        .map(str::trim)
        .take_while(|line| !starts_quoted_history(line))
        .filter(|line| !line.is_empty() && !line.starts_with('>'))
        .take(BODY_LINES)
        .collect::<Vec<_>>()
        .join("\n")
}

fn starts_quoted_history(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.starts_with("-----original message")
        || lower.starts_with("-----messaggio originale")
        || lower.starts_with("---------- forwarded message")
        || lower.starts_with("-------- messaggio inoltrato")
        || lower.starts_with("-------- original message")
        || (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("il ") && lower.ends_with("ha scritto:"))
        || lower.starts_with("da: ")
        || lower.starts_with("from: ")
}
