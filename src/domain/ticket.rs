//! The ticket: one per contact, never lost, never duplicated.

use super::{ChannelKind, LifecycleError, TicketState, TicketType};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Internal, opaque and time-ordered id (UUIDv7 text).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub String);

impl TicketId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

impl Default for TicketId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The short reference printed to requesters and quoted in reminders, e.g. `SP-7K3Q9XWD`.
/// Crockford base32 without I, L, O, U, so it survives being read over the phone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketReference(pub String);

const REFERENCE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const REFERENCE_PREFIX: &str = "SP-";
const REFERENCE_LEN: usize = 8;

impl TicketReference {
    /// A fresh random reference (40 bits); stores reject the rare collision and the caller retries.
    pub fn generate() -> Self {
        let bits = uuid::Uuid::new_v4().as_u128();
        let code: String =
            (0..REFERENCE_LEN).map(|i| REFERENCE_ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect();
        Self(format!("{REFERENCE_PREFIX}{code}"))
    }

    /// Finds a reference in free text (a subject line, a chat message), tolerating lower case.
    pub fn find_in(text: &str) -> Option<Self> {
        let upper = text.to_ascii_uppercase();
        upper.match_indices(REFERENCE_PREFIX).find_map(|(at, _)| {
            let code = upper.get(at + REFERENCE_PREFIX.len()..at + REFERENCE_PREFIX.len() + REFERENCE_LEN)?;
            let boundary_after = upper[at + REFERENCE_PREFIX.len() + REFERENCE_LEN..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            let valid = code.bytes().all(|b| REFERENCE_ALPHABET.contains(&b));
            (valid && boundary_after).then(|| Self(format!("{REFERENCE_PREFIX}{code}")))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TicketReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who asked. Personal data: never logged, erasable on request (GDPR art. 17).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_code: Option<String>,
}

impl Requester {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// A clock running on a ticket: an SLA target or a GDPR deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// `first_response`, `resolution`, `gdpr_data_subject_request`, `gdpr_breach_notification`...
    pub kind: String,
    pub due: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warned_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breached_at: Option<Timestamp>,
}

impl Deadline {
    /// Met by the ticket's state alone. First response: once an operator took the ticket in
    /// charge (the state left `new`). Resolution and the GDPR clocks: once the ticket is no longer
    /// open. (The clock also counts a reopened ticket's first resolution, which needs its events.)
    pub fn met_by_state(kind: &str, state: TicketState) -> bool {
        match kind {
            "first_response" => state != TicketState::New,
            _ => !state.is_open(),
        }
    }
}

/// A satisfaction survey (CSAT): sent once after the resolution, on the requester's channel,
/// answered once with a rating from 1 to 5 and an optional comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    /// The channel it was sent on (the ticket's).
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// The requester's words: personal data, erased with the requester.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A comment was given (kept after an erasure, for the count).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub commented: bool,
}

/// An escalation to a PagoPA team or third party, and its resolution notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// The id of the escalation message; a resolution notice quotes it. Empty on escalations
    /// recorded before it was kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub escalation_id: String,
    pub target: String,
    pub sent_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_at: Option<Timestamp>,
    /// The notice's text as readers show it, taken from its event ([`with_notice_bodies`]);
    /// not stored with the ticket (tickets stored before hold notices of up to 1 KB here).
    ///
    /// [`with_notice_bodies`]: crate::domain::notice::with_notice_bodies
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// When the target is reminded if no notice came: `sent_at` plus the target's
    /// `remind_after` in business time. Records from before it was kept have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// When the clock sent the reminder (once per escalation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub reference: TicketReference,
    /// The channel id of the rulebook (`voice`, `chat`, `email`, `api`, or one an admin added).
    pub channel: String,
    pub channel_kind: ChannelKind,
    /// The rulebook category, suggested at triage and confirmed by the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<TicketType>,
    pub state: TicketState,
    pub team: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Requester::is_empty")]
    pub requester: Requester,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Client-specific fields: payment notice code, creditor fiscal code, app version...
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<Deadline>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<Escalation>,
    /// For a reminder: the ticket it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<TicketReference>,
    pub created_at: Timestamp,
    /// When the rulebook was applied (category, team, deadlines); triage runs once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triaged_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// The satisfaction survey sent after the resolution, and the requester's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<Survey>,
    /// Optimistic-concurrency version; stores refuse an update made from a stale one.
    pub version: u64,
}

impl Ticket {
    pub fn new(channel: impl Into<String>, channel_kind: ChannelKind, team: impl Into<String>, now: Timestamp) -> Self {
        Self {
            id: TicketId::new(),
            reference: TicketReference::generate(),
            channel: channel.into(),
            channel_kind,
            category: None,
            ticket_type: None,
            state: TicketState::New,
            team: team.into(),
            assignee: None,
            requester: Requester::default(),
            subject: None,
            fields: BTreeMap::new(),
            deadlines: Vec::new(),
            escalations: Vec::new(),
            related: None,
            created_at: now,
            triaged_at: None,
            updated_at: now,
            closed_at: None,
            survey: None,
            version: 0,
        }
    }

    /// The earliest due time among the deadlines its state has not met: what a work queue sorts
    /// by, nearest first.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.deadlines.iter().filter(|d| !Deadline::met_by_state(&d.kind, self.state)).map(|d| d.due).min()
    }

    /// Moves the ticket along its lifecycle, or says why it cannot.
    pub fn move_to(&mut self, to: TicketState, now: Timestamp) -> Result<(), LifecycleError> {
        self.state = self.state.transition(to)?;
        self.updated_at = now;
        if to.is_final() {
            self.closed_at = Some(now);
        }
        Ok(())
    }
}

/// When a ticket's clocks started. Triage evaluates the rulebook at `created_at` (the contact's
/// arrival: a triage that waits in the queue must not eat into the SLA), except for a chat, whose
/// clocks start at the bot's handoff to an operator; triage follows the handoff within a step, so
/// `triaged_at` is that moment (a little later, never earlier).
pub fn deadline_start(ticket: &Ticket) -> jiff::Timestamp {
    match (ticket.channel_kind, ticket.triaged_at) {
        (crate::domain::ChannelKind::Chat, Some(at)) => at,
        _ => ticket.created_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_short_and_found_in_text() {
        let r = TicketReference::generate();
        assert_eq!(r.as_str().len(), 11);
        let subject = format!("Re: la tua richiesta [{}] - sollecito", r.as_str().to_lowercase());
        assert_eq!(TicketReference::find_in(&subject), Some(r));
        assert_eq!(TicketReference::find_in("SP-12345"), None);
        assert_eq!(TicketReference::find_in("SP-ABCDEFGHX"), None, "too long");
        assert_eq!(TicketReference::find_in("SP-ABCDEFGI"), None, "I is not in the alphabet");
    }

    #[test]
    fn final_states_stamp_closed_at() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut t = Ticket::new("chat", ChannelKind::Chat, "first_level", now);
        t.move_to(TicketState::AutoClosed, now).unwrap();
        assert_eq!(t.closed_at, Some(now));
        assert!(t.move_to(TicketState::TakenInCharge, now).is_err());
    }
}
